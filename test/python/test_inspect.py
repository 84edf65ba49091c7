"""nd.inspect against a real service: a window of traffic in which one feature of the breast
cancer data was shifted is triaged. The oracle is SciPy: the service tests a numeric feature
with the two-sample Kolmogorov–Smirnov test of the captured values against the training
profile's sample (the reference monitoring uses, stored in the artifact's profile), so
`scipy.stats.ks_2samp(profile sample, captured column)` on the rows nd.inspect returns must
give the same statistic and p-value. The rows equal nd.captured's for the span."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

NAME = "cancer-inspect"


@pytest.fixture(scope="module")
def shifted_window(service, tmp_path_factory):
    """The deployment, its artifact, and the span of 120 served rows whose "mean radius" is
    shifted by two training standard deviations (the other features as they were)."""
    import nbdeploy as nd

    nd.connect(service.url, service.token)
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    art = nd.export(model, X, name=NAME, y=y)
    nd.validate(art, X.iloc[::4], y.iloc[::4], show=False)
    nd.deploy(art, show=False)
    nd.capture(NAME, rate=1, show=False)
    window = X.iloc[:120].copy()
    window["mean radius"] += 2 * X["mean radius"].std()
    start = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=1)
    out = nd.predict(NAME, window)
    end = pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=1)
    return art, out, start, end


def test_inspect_finds_the_shifted_feature_with_scipys_statistic(nd, shifted_window):
    art, out, start, end = shifted_window
    found = nd.inspect(NAME, start=start.isoformat(), end=end.isoformat(), show=False)
    assert found.feature == "mean radius" and found.report["picked"]
    assert found.kind == "numeric" and found.method == "ks"
    rows = found.rows
    assert len(rows) == 120 and list(rows["request_id"]) == list(out.request_ids)
    reference = np.asarray(art.profile["features"]["mean radius"]["sample"], dtype=float)
    expected = ks_2samp(reference, rows["mean radius"].to_numpy(dtype=float))
    assert found.statistic == expected.statistic
    assert found.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert found.drifted
    # Every other feature, tested the same way on the same rows: what moved together.
    together = found.moved_together
    assert "mean radius" not in set(together["feature"])
    for feature in ["mean texture", "worst area"]:
        row = together.set_index("feature").loc[feature]
        assert row["statistic"] == ks_2samp(np.asarray(art.profile["features"][feature]["sample"], dtype=float), rows[feature].to_numpy(dtype=float)).statistic
    assert list(together["drifted"]) == sorted(together["drifted"], reverse=True)  # the drifted first
    quantiles = found.quantiles
    assert quantiles is not None and quantiles["shift"].abs().iloc[0] == quantiles["shift"].abs().max()


def test_inspect_rows_are_the_captured_rows_of_the_span(nd, shifted_window):
    _, _, start, end = shifted_window
    # Epoch milliseconds (what the monitor chart's times are) and Timestamps name the same span.
    found = nd.inspect(NAME, feature="mean texture", start=int(start.timestamp() * 1000), end=end, show=False)
    assert found.feature == "mean texture" and not found.report["picked"]
    pd.testing.assert_frame_equal(found.rows, nd.captured(NAME, start=start, end=end))


def test_inspect_shows_the_panel_with_text_and_an_svg_fallback(nd, shifted_window):
    _, _, start, end = shifted_window
    found = nd.inspect(NAME, feature="mean radius", start=start.to_pydatetime(), end=end.to_pydatetime(), show=False)
    bundle = found._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.nbdeploy.inspect+json", "text/plain", "text/html"}
    payload = bundle["application/vnd.nbdeploy.inspect+json"]
    assert payload["feature"]["name"] == "mean radius" and payload["chart"]["spec"]["data"] == {"name": "bins"}
    assert payload["rows"] == 120 and "table" not in payload  # the rows stay in Python (`.rows`), not in the notebook
    assert 'feature "mean radius"' in bundle["text/plain"]
    assert "<svg" in bundle["text/html"] and "mean radius" in bundle["text/html"]
    assert repr(found) == bundle["text/plain"]


def test_inspect_errors_say_what_to_do(nd, shifted_window):
    with pytest.raises(nd.ServiceError, match='its features: "mean radius"'):
        nd.inspect(NAME, feature="radius", show=False)
    with pytest.raises(nd.ServiceError, match="keeps 100% of its requests"):
        nd.inspect(NAME, start="2020-01-01", end="2020-01-02", show=False)
    with pytest.raises(nd.ServiceError, match="not registered"):
        nd.inspect("no-such-model", show=False)
