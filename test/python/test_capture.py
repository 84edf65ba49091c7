"""Capture from Python against a real service: nd.capture keeps a deployment's served requests,
nd.captured reads them back as a DataFrame that lines up with what nd.predict sent and got."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier


def test_capture_keeps_served_rows_and_reads_them_back(nd):
    data = load_iris(as_frame=True)
    X, y = data.data, data.target
    model = LogisticRegression(max_iter=1000).fit(X, y)
    art = nd.export(model, X, name="iris-capture", y=y)
    nd.validate(art, X.iloc[::5], y.iloc[::5], show=False)
    nd.deploy(art, show=False)

    dep = nd.capture("iris-capture", rate=1, retention_days=2, show=False)
    assert dep.view["deployment"]["capture"] == {"rate": 1, "retention_days": 2}
    sample = X.iloc[:30]
    out = nd.predict("iris-capture", sample)

    kept = nd.captured("iris-capture", last="10m")
    assert len(kept) == 30
    assert list(kept.columns[:3]) == ["at", "request_id", "version"]
    assert list(kept["request_id"]) == list(out.request_ids)
    assert (kept["version"] == art.version).all()
    assert pd.api.types.is_datetime64_any_dtype(kept["at"])
    features = [c for c in X.columns if c in kept.columns]
    assert features == list(X.columns)
    np.testing.assert_array_equal(kept[features].to_numpy(dtype=np.float32), sample.to_numpy(dtype=np.float32))
    label_column = next(c for c in kept.columns if c.startswith("label"))
    np.testing.assert_array_equal(kept[label_column].to_numpy(), out.labels)
    assert kept.attrs["hashed"] == []

    # Nothing was kept before capture began, or outside the span asked for.
    assert len(nd.captured("iris-capture", start="2020-01-01", end="2020-01-02")) == 0
    with pytest.warns(UserWarning, match="more than 10 rows"):
        assert len(nd.captured("iris-capture", limit=10)) == 10

    stopped = nd.capture("iris-capture", rate=0, show=False)
    assert stopped.view["deployment"]["capture"] is None
    nd.predict("iris-capture", sample)
    assert len(nd.captured("iris-capture")) == 30


def test_capture_refuses_a_rate_outside_zero_to_one(nd):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nd.capture("iris-capture", rate=10)


def test_replay_compares_a_challenger_on_captured_traffic(nd):
    """A challenger that answers differently from production on some rows: the replay's
    agreement, changed rows and accuracies equal a comparison made here on the same rows with
    the labels production served and the challenger's own (its ONNX labels are the native ones:
    export's parity check)."""
    data = load_iris(as_frame=True)
    X, y = data.data, data.target
    production = LogisticRegression(max_iter=1000).fit(X, y)
    art = nd.export(production, X, name="iris-replay", y=y)
    nd.validate(art, X.iloc[::5], y.iloc[::5], show=False)
    nd.deploy(art, show=False)
    nd.capture("iris-replay", rate=1, show=False)
    out = nd.predict("iris-replay", X)
    nd.feedback("iris-replay", out.request_ids, y)

    challenger_model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    challenger = nd.export(challenger_model, X, name="iris-replay", y=y)
    nd.deploy(challenger, stage="staging", show=False)
    expected_labels = challenger_model.predict(X)
    changed = int((expected_labels != out.labels).sum())
    assert 0 < changed < len(X)

    result = nd.replay("iris-replay", version=challenger.version, last="1h", show=False)
    assert result.changed == changed
    assert result.agreement == (len(X) - changed) / len(X)
    assert result.report["metrics"]["served"]["accuracy"] == (out.labels == y.to_numpy()).mean()
    assert result.report["metrics"]["candidate"]["accuracy"] == (expected_labels == y.to_numpy()).mean()
    rows = result.rows
    assert len(rows) == len(X) and list(rows["request_id"]) == list(out.request_ids)
    np.testing.assert_array_equal(rows["candidate"].astype(int).to_numpy(), expected_labels)
    assert int(rows["changed"].sum()) == changed
    bundle = result._repr_mimebundle_()
    assert {"application/vnd.nbdeploy.replay+json", "text/plain", "text/html"} <= set(bundle)
    assert f"{changed} changed" in bundle["text/plain"]
    assert len(bundle["application/vnd.nbdeploy.replay+json"]["changed_rows"]["rows"]) == min(changed, 20)

    # The challenger's agreement misses a 0.98 replay gate: its canary is refused.
    with pytest.raises(nd.DeployRefusedError, match="replay_agreement"):
        nd.deploy(challenger, canary=10, gates={"replay_agreement": ">= 0.98"}, show=False)
    dep = nd.deploy(challenger, canary=10, gates={"replay_agreement": f">= {result.agreement}"}, show=False)
    assert dep.view["deployment"]["canary"] == {"version": challenger.version, "percent": 10}
