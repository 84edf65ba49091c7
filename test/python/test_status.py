"""`nd.status` against a real service: export → deploy → predict → feedback → status."""

from __future__ import annotations

import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def test_status_after_traffic_and_feedback(nd):
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3, random_state=0, stratify=data.target)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    art = nd.export(model, X_train, name="status-cancer", y=y_train)
    # Validation runs through the service too, as evaluation traffic that monitoring leaves out.
    assert nd.validate(art, X_test, y_test, resamples=0).passed
    nd.deploy(art)
    out = nd.predict("status-cancer", X_test)
    # Late ground truth, in another order than the predictions.
    order = list(range(len(X_test)))[::-1]
    assert nd.feedback("status-cancer", [out.request_ids[i] for i in order], y_test.to_numpy()[order]) == len(X_test)

    s = nd.status("status-cancer", last="15m")
    assert {"ops", "drift", "drift_share", "prediction_drift", "performance", "concept_drift", "versions", "alerts"} <= set(s)
    assert s["alerts"] == []  # healthy traffic: no default rule fires
    assert s["model"] == "status-cancer" and s["version"] == art.version
    assert s["ops"]["rows"] == len(X_test) and s["ops"]["errors"] == 0
    assert s["ops"]["latency_ms"]["p50"] is not None
    # Every column of the training profile is monitored, and the holdout does not drift much.
    assert set(s["drift"]) == set(X_train.columns)
    assert all(d is None or d["method"] == "ks" for d in s["drift"].values())
    assert s["drift_share"] is not None and s["drift_share"] <= 0.2
    assert s["prediction_drift"]["method"] == "chisquare"
    # PSI on request, and thresholds of one's own.
    psi = nd.status("status-cancer", last="15m", drift_method="psi")
    assert {d["method"] for d in psi["drift"].values() if d} == {"psi"}
    assert all(d["threshold"] == 0.1 for d in psi["drift"].values() if d)
    strict = nd.status("status-cancer", last="15m", drift_thresholds={"ks": 1.0})
    assert strict["drift_share"] == 1.0  # every p-value is below 1
    with pytest.raises(nd.ServiceError) as error:
        nd.status("status-cancer", drift_method="median")
    assert error.value.code == "NBD_ERR_BAD_FRAME" and "drift_method" in str(error.value)
    perf = s["performance"]
    assert perf["labelled_share"] == pytest.approx(1.0)
    assert perf["accuracy"] == pytest.approx(skm.accuracy_score(y_test, out.labels), abs=1e-12)
    assert perf["precision"] == pytest.approx(skm.precision_score(y_test, out.labels), abs=1e-12)
    assert perf["recall"] == pytest.approx(skm.recall_score(y_test, out.labels), abs=1e-12)
    assert perf["f1"] == pytest.approx(skm.f1_score(y_test, out.labels), abs=1e-12)
    # AUC from 1,000 score bins: within a bin's width of scikit-learn's.
    assert perf["roc_auc"] == pytest.approx(skm.roc_auc_score(y_test, out.scores[:, 1]), abs=1e-3)
    assert s["concept_drift"]["detector"] == "ADWIN"
    assert nd.status("status-cancer", last=3600)["ops"]["rows"] == len(X_test)


def test_status_spans(nd):
    from nbdeploy.monitoring import parse_span

    assert parse_span("30s") == 30 and parse_span("15m") == 900 and parse_span("1h") == 3600 and parse_span("2d") == 172800
    assert parse_span("90") == 90 and parse_span(1.5) == 1.5
    for bad in ("15 minutes", "", "-1m", 0, True):
        with pytest.raises(ValueError):
            parse_span(bad)
    with pytest.raises(nd.ServiceError) as error:
        nd.status("no-such-model")
    assert error.value.code == "NBD_ERR_MODEL_NOT_FOUND"


def test_status_integrity(nd):
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.uniform(20, 70, 300), "plan": rng.choice(["basic", "pro"], 300)})
    y = ((X["age"] > 45) ^ (X["plan"] == "pro")).astype(int)
    prep = ColumnTransformer([("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])
    model = make_pipeline(prep, LogisticRegression()).fit(X, y)
    art = nd.export(model, X, name="status-integrity", y=y)
    nd.deploy(art, override="integrity test")

    # Served by the default policy, and counted: a value far outside training, a new category.
    nd.predict("status-integrity", pd.DataFrame({"age": [30.0, 500.0], "plan": ["basic", "gold"]}))
    s = nd.status("status-integrity", last="15m")
    assert s["integrity"] == {"missing_feature": 0, "unexpected_feature": 0, "type_mismatch": 0, "new_category": 1, "out_of_range": 1, "null_spike": 0}
    assert "gold" in s["integrity_features"]["plan"]["detail"]

    # The deployment's policy refuses out-of-range values from now on: a 400 naming the field, still counted.
    assert nd.integrity_policy("status-integrity")["out_of_range"] == "serve"
    policy = nd.integrity_policy("status-integrity", out_of_range="refuse")
    assert policy["out_of_range"] == "refuse" and policy["new_category"] == "serve"
    with pytest.raises(nd.ServiceError) as bad:
        nd.integrity_policy("status-integrity", out_of_range="ignore")
    assert "out_of_range" in str(bad.value)
    with pytest.raises(nd.ServiceError) as error:
        nd.predict("status-integrity", pd.DataFrame({"age": [500.0], "plan": ["basic"]}))
    assert error.value.code == "NBD_ERR_INTEGRITY_REFUSED" and 'input "age"' in str(error.value)
    assert nd.status("status-integrity")["integrity"]["out_of_range"] == 2


def test_alert_rules_and_alerts(nd):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    art = nd.export(LogisticRegression(max_iter=1000).fit(X, y), X, name="status-alerts", y=y)
    assert nd.validate(art, X, y, resamples=0).passed
    nd.deploy(art)
    defaults = nd.alert_rules("status-alerts")
    assert defaults["custom"] is False
    assert [r["name"] for r in defaults["rules"]] == ["drift", "accuracy", "error_rate", "latency_p99", "integrity"]
    rule = {"name": "errors", "metric": "error_rate", "condition": ">", "threshold": 0.02, "window_seconds": 600, "severity": "critical"}
    own = nd.alert_rules("status-alerts", rules=[rule], webhooks=["https://hooks.example.com/services/x"])
    assert own["custom"] is True and own["rules"][0]["threshold"] == 0.02 and own["rules"][0]["cooldown_seconds"] == 300
    assert own["webhooks"] == ["https://hooks.example.com/services/x"]
    assert nd.alert_rules("status-alerts", rules=None)["custom"] is False
    assert nd.alert_rules("status-alerts", webhooks=[])["webhooks"] == []
    with pytest.raises(nd.ServiceError) as error:
        nd.alert_rules("status-alerts", rules=[{**rule, "threshold": "validated - 0.1"}])
    assert error.value.code == "NBD_ERR_BAD_REQUEST" and "not error_rate" in str(error.value)
    assert nd.alerts("status-alerts", last="1h") == []
    assert nd.status("status-alerts")["alerts"] == []
