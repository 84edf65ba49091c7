"""`nd.audit`: the service's audit log as a table — who, what, when, from which notebook —
with every change a notebook makes recorded with the notebook it came from."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

NOTEBOOK = "work/churn analysis.ipynb"


@pytest.fixture()
def iris_art(nd, monkeypatch):
    monkeypatch.setenv("NBDEPLOY_NOTEBOOK", NOTEBOOK)
    X, y = load_iris(return_X_y=True, as_frame=True)
    return nd.export(LogisticRegression(max_iter=500).fit(X, y), X, name="audited", y=y)


def test_audit_lists_each_change_from_the_notebook_with_who_and_where(nd, iris_art):
    nd.deploy(iris_art, override="first release, reviewed by hand", show=False)
    nd.integrity_policy("audited", out_of_range="refuse")
    rows = nd.audit("audited", show=False)
    assert isinstance(rows, pd.DataFrame)
    assert list(rows.columns) == ["time", "user", "action", "model", "version", "notebook", "cell", "details"]
    user = nd.connect().welcome["user"]
    actions = list(rows["action"])
    # newest first; each change the notebook made, recorded as its user, from its notebook
    assert actions[:3] == ["integrity_policy", "promote", "register"]
    changes = rows.iloc[:3]
    assert set(changes["user"]) == {user}
    assert set(changes["notebook"]) == {NOTEBOOK}
    promote = rows.iloc[1]
    assert promote["version"] == iris_art.version
    assert "first release, reviewed by hand" in str(promote["details"])
    # outside a kernel there is no running cell
    assert changes["cell"].isna().all()


def test_audit_draws_a_table_and_keeps_to_the_limit(nd, iris_art):
    rows = nd.audit(limit=1, show=False)
    assert len(rows) == 1
    bundle = rows._repr_mimebundle_()
    assert bundle["text/plain"].splitlines()[0] == "Audit log"
    assert "<table" in bundle["text/html"] and "notebook" in bundle["text/html"] and "cell" in bundle["text/html"]
    one = nd.audit("audited", show=False)
    assert "Audit log of audited" in one._repr_mimebundle_()["text/html"]
    # a selection is a plain DataFrame again
    assert type(one[one["action"] == "register"]) is pd.DataFrame


def test_audit_names_a_bad_limit(nd):
    with pytest.raises(ValueError, match="limit must be a whole number from 1 to 10000, got 0"):
        nd.audit(limit=0)


def test_audit_of_a_model_with_no_entries_says_so(nd):
    rows = nd.audit("never-registered", show=False)
    assert rows.empty
    assert rows._repr_mimebundle_()["text/plain"] == "Audit log of never-registered: no entries"
