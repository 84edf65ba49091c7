"""`nd.monitor` against a real service: the chart's MIME bundle (payload, SVG, text) after traffic."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

SVG = "{http://www.w3.org/2000/svg}"


def test_monitor_bundle_after_traffic(nd):
    data = load_iris(as_frame=True)
    X, y = data.data, data.target
    model = LogisticRegression(max_iter=1000).fit(X, y)
    art = nd.export(model, X, name="monitor-iris", y=y)
    nd.deploy(art, override="test: no validation needed to chart traffic")
    out = nd.predict("monitor-iris", X.iloc[:100])
    nd.feedback("monitor-iris", out.request_ids, y.iloc[:100].to_numpy())

    chart = nd.monitor("monitor-iris", last="15m")
    bundle = chart._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.nbdeploy.monitor+json", "image/svg+xml", "text/plain"}

    payload = bundle["application/vnd.nbdeploy.monitor+json"]
    assert payload["model"] == "monitor-iris" and payload["version"] == art.version and payload["last_seconds"] == 900
    assert {"generated_at", "window_seconds", "bucket_seconds", "series", "spec", "panels"} <= set(payload)
    assert sum(p["rows"] for p in payload["series"]["ops"]) == 100
    # The status summary comes with the reply; the notebook output does not carry it.
    assert "status" not in payload
    assert chart.status["ops"]["rows"] == 100 and chart.status["model"] == "monitor-iris" and "drift" in chart.status
    # Drift: a row per bucket, a cell per feature of "features"; performance: a column per metric.
    assert {f["feature"] for f in chart.series["features"]} == set(X.columns)
    assert all(len(d["drifted"]) == len(X.columns) for d in chart.series["drift"])
    assert any("accuracy" in m for m in chart.series["performance"])
    assert "performance" in payload["panels"]

    root = ET.fromstring(bundle["image/svg+xml"])
    assert root.tag == SVG + "svg"
    marks = [g for g in root.iter(SVG + "g") if "role-mark" in (g.get("class") or "")]
    assert any("mark-line" in g.get("class") and list(g.iter(SVG + "path")) for g in marks)
    assert any("mark-rect" in g.get("class") and list(g.iter(SVG + "path")) for g in marks)

    text = bundle["text/plain"]
    assert text.startswith(f"Monitoring of monitor-iris v{art.version} over the last 15m")
    assert "100 rows" in text and "accuracy" in text
    # The handle's repr is the same summary (so a cell showing it prints it once).
    assert repr(chart) == text


def test_monitor_refuses_unknown_models_and_bad_spans(nd):
    with pytest.raises(nd.ServiceError) as error:
        nd.monitor("no-such-model")
    assert error.value.code == "NBD_ERR_MODEL_NOT_FOUND"
    with pytest.raises(ValueError):
        nd.monitor("monitor-iris", last="soon")
