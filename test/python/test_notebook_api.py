"""The Python notebook API against a real service: export → validate → deploy → predict →
feedback → rollback, on scikit-learn's bundled datasets."""

from __future__ import annotations

import json
import re
import urllib.request

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def split(loader, frame=True):
    data = loader(as_frame=frame)
    return train_test_split(data.data, data.target, test_size=0.3, random_state=0, stratify=data.target if loader is not load_diabetes else None)


def mixed_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Wine's numeric features plus a string column and missing values in both kinds."""
    data = load_wine(as_frame=True)
    X = data.data.iloc[:, :6].copy()
    X["region"] = np.array(["north", "south", "east", "west"])[np.arange(len(X)) % 4]
    X.loc[X.index % 7 == 0, "alcohol"] = np.nan
    X.loc[X.index % 11 == 0, "region"] = None
    return X, data.target.to_numpy()


def assert_same_predictions(model, X, out) -> None:
    np.testing.assert_array_equal(out.labels, model.predict(X))
    np.testing.assert_allclose(out.scores, model.predict_proba(X), atol=1e-5)


def test_classifier_workflow_end_to_end(nd):
    X_train, X_test, y_train, y_test = split(load_breast_cancer)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    art = nd.export(model, X_train, name="cancer", y=y_train, card={"owner": "ds-team", "intended_use": "triage", "training_data": "UCI"})
    assert art.parity["passed"] and art.parity["rows"] == len(X_train)
    assert art.signature["layout"] == "columns" and len(art.signature["inputs"]) == X_train.shape[1]

    report = nd.validate(art, X_test, y_test, gates={"f1": ">= 0.9", "roc_auc": ">= 0.95"}, slices=["mean radius"])
    assert report.passed
    out = nd.predict("cancer", X_test, version=art.version)
    # The report's metrics are scikit-learn's, on what the deployed artifact answered.
    assert report.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y_test, out.labels), abs=1e-9)
    assert report.metrics["f1"] == pytest.approx(skm.f1_score(y_test, out.labels), abs=1e-9)
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y_test, out.scores[:, 1]), abs=1e-9)
    assert report.metrics["log_loss"] == pytest.approx(skm.log_loss(y_test, out.scores), abs=1e-9)
    # ... and equal to the native model's where they depend on labels only.
    assert report.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y_test, model.predict(X_test)), abs=1e-12)
    low, high = report.intervals["f1"]
    assert low <= report.metrics["f1"] <= high
    assert report.slices and all(s["rows"] > 0 for s in report.slices)
    assert [c["status"] for c in report.checklist][:3] == ["pass", "pass", "pass"]
    bundle = report._repr_mimebundle_()
    assert {"application/vnd.nbdeploy.validation+json", "text/plain", "text/html"} <= set(bundle)

    dep = nd.deploy(art)
    assert dep.stage == "production" and dep.traffic[0]["role"] == "production"
    assert "curl" in dep.snippets and "/v2/models/cancer/infer" in dep.snippets["curl"]
    prediction = nd.predict("cancer", X_test)
    assert_same_predictions(model, X_test, prediction)
    assert len(set(prediction.request_ids)) == len(X_test)
    assert nd.feedback("cancer", prediction.request_ids, y_test) == len(X_test)

    table = nd.models()
    row = table[(table.model == "cancer") & (table.version == art.version)].iloc[0]
    assert row.stage == "production" and row.validated


def test_failing_gate_blocks_deploy_until_overridden(nd):
    X_train, X_test, y_train, y_test = split(load_iris)
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    art = nd.export(model, X_train, name="iris-gated", y=y_train)
    report = nd.validate(art, X_test, y_test, gates={"accuracy": ">= 1.01"})
    assert not report.passed
    assert [g["status"] for g in report.gates] == ["fail"]
    with pytest.raises(nd.DeployRefusedError, match="did not pass its gates"):
        nd.deploy(art)
    dep = nd.deploy(art, override="accepted by the lead for a demo", batching={"instances": 2, "max_queue_size": 64})
    assert dep.stage == "production"
    served = next(v for v in dep.view["versions"] if v["version"] == art.version)["batching"]
    assert served["instances"] == 2 and served["max_queue_size"] == 64
    audit = nd._client().call("audit", model="iris-gated")["entries"]
    assert audit[0]["action"] == "promote" and audit[0]["details"]["override"] == "accepted by the lead for a demo"


def test_staged_version_gets_the_versioned_endpoint_that_reaches_it(nd, service):
    X_train, X_test, y_train, y_test = split(load_iris)
    first = nd.export(LogisticRegression(max_iter=1000).fit(X_train, y_train), X_train, name="iris-staged", y=y_train)
    assert nd.deploy(first, override="not validated in this test").endpoint == f"{service.url}/v2/models/iris-staged/infer"
    second = nd.export(LogisticRegression(C=0.1, max_iter=1000).fit(X_train, y_train), X_train, name="iris-staged", y=y_train)
    staged = nd.deploy(second, stage="staging")
    assert staged.stage == "staging"
    assert staged.endpoint == f"{service.url}/v2/models/iris-staged/versions/{second.version}/infer"
    assert all(staged.endpoint in snippet for snippet in staged.snippets.values())
    # What an integrator copies from the curl snippet reaches the staged version, not production.
    body = re.search(r"-d '(.*)'", staged.snippets["curl"]).group(1)
    answer = urllib.request.urlopen(urllib.request.Request(staged.endpoint, data=body.encode(), headers={"Authorization": f"Bearer {service.token}"}))
    assert json.loads(answer.read())["model_version"] == str(second.version)
    assert nd.deploy(second, canary=10).endpoint == f"{service.url}/v2/models/iris-staged/infer"


def test_dataframe_with_categories_and_missing_values(nd):
    X, y = mixed_frame()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=1, stratify=y)
    numeric = list(X.columns[:6])
    model = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), ["region"]),
                    ]
                ),
            ),
            ("clf", RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0)),
        ]
    ).fit(X_train, y_train)
    art = nd.export(model, X_train, name="wine-mixed", y=y_train)
    region = next(i for i in art.signature["inputs"] if i["name"] == "region")
    assert region["datatype"] == "BYTES"
    assert art.profile["features"]["region"]["kind"] == "categorical"
    assert art.profile["features"]["alcohol"]["null_rate"] > 0
    report = nd.validate(art, X_test, y_test, gates={"accuracy": ">= 0.8"}, slices=["region"])
    assert report.passed, report
    nd.deploy(art)
    assert_same_predictions(model, X_test, nd.predict("wine-mixed", X_test))
    records = X_test.head(3).to_dict(orient="records")
    np.testing.assert_array_equal(nd.predict("wine-mixed", records).labels, model.predict(X_test.head(3)))


def test_regressor_and_rollback(nd):
    X_train, X_test, y_train, y_test = split(load_diabetes, frame=False)
    first = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X_train, y_train)
    second = HistGradientBoostingRegressor(max_iter=60, random_state=0).fit(X_train, y_train)
    versions = []
    for model in (first, second):
        art = nd.export(model, X_train, name="diabetes", y=y_train)
        report = nd.validate(art, X_test, y_test, gates={"r2": ">= 0.2"})
        assert report.passed and set(report.metrics) == {"mae", "rmse", "r2", "mape"}
        assert report.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y_test, nd.predict("diabetes", X_test, version=art.version).values), abs=1e-9)
        nd.deploy(art)
        versions.append(art.version)
    out = nd.predict("diabetes", X_test)
    np.testing.assert_allclose(out.values, second.predict(X_test), rtol=1e-5, atol=1e-4)
    assert set(out.versions) == {versions[1]}
    dep = nd.rollback("diabetes")
    assert dep.version == versions[0]
    np.testing.assert_allclose(nd.predict("diabetes", X_test).values, first.predict(X_test), rtol=1e-5, atol=1e-4)


def test_wrong_feature_type_names_the_feature(nd):
    X, y = mixed_frame()
    model = Pipeline(
        [
            ("prep", ColumnTransformer([("num", SimpleImputer(), list(X.columns[:6])), ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])])),
            ("clf", LogisticRegression(max_iter=3000)),
        ]
    ).fit(X.fillna({"region": "north"}), y)
    art = nd.export(model, X.fillna({"region": "north"}), name="wine-types", y=y)
    nd.deploy(art, override="type test")
    bad = X.head(2).copy()
    bad["alcohol"] = bad["alcohol"].astype(object)
    bad.loc[bad.index[0], "alcohol"] = "13,2"
    with pytest.raises(ValueError, match="feature 'alcohol' must be numeric"):
        nd.predict("wine-types", bad)


def test_unsupported_estimator_names_its_class(nd):
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    with pytest.raises(nd.UnsupportedModelError, match=r"sklearn\.svm\._classes\.SVC.*LogisticRegression"):
        nd.export(SVC().fit(X, y), X, name="svc", y=y)


def test_unreachable_service_says_where_and_how_to_start(monkeypatch):
    import nbdeploy as nd

    with pytest.raises(nd.ServiceUnreachableError, match=r"http://127\.0\.0\.1:9.*nbdeploy serve"):
        nd.connect("http://127.0.0.1:9", token="x" * 20)


def _same(actual: float | None, expected: float, name: str) -> None:
    """scikit-learn's value within a relative 1e-12: the same definition, up to summation order."""
    assert actual is not None, name
    assert abs(actual - expected) <= 1e-12 * max(abs(expected), 1e-300), f"{name}: service {actual!r}, scikit-learn {expected!r}"


def test_the_service_computes_scikit_learns_metrics(nd):
    """The verdict is the service's: its report equals scikit-learn's metrics on the very answers
    the version gave (binary, multiclass, regression), and the notebook computes none."""
    import nbdeploy.validate as validate_module

    assert not hasattr(validate_module, "metrics_mod") and not hasattr(validate_module, "gates_mod")
    X_train, X_test, y_train, y_test = split(load_wine)
    art = nd.export(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train), X_train, name="wine-metrics", y=y_train)
    report = nd.validate(art, X_test, y_test, resamples=0, show=False)
    out = nd.predict("wine-metrics", X_test, version=art.version)
    classes = art.signature["classes"]
    y = np.asarray(y_test)
    _same(report.metrics["accuracy"], skm.accuracy_score(y, out.labels), "accuracy")
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        _same(report.metrics[name], fn(y, out.labels, average="macro", labels=classes, zero_division=0), name)
    _same(report.metrics["roc_auc"], skm.roc_auc_score(y, out.scores, multi_class="ovr", average="macro", labels=classes), "roc_auc")
    _same(report.metrics["log_loss"], skm.log_loss(y, out.scores, labels=classes), "log_loss")
    assert report.details["confusion_matrix"]["matrix"] == skm.confusion_matrix(y, out.labels, labels=classes).tolist()

    Xr_train, Xr_test, yr_train, yr_test = split(load_diabetes, frame=False)
    reg = nd.export(HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(Xr_train, yr_train), Xr_train, name="diabetes-metrics", y=yr_train)
    r = nd.validate(reg, Xr_test, yr_test, resamples=0, show=False)
    values = nd.predict("diabetes-metrics", Xr_test, version=reg.version).values
    _same(r.metrics["mae"], skm.mean_absolute_error(yr_test, values), "mae")
    _same(r.metrics["rmse"], float(np.sqrt(skm.mean_squared_error(yr_test, values))), "rmse")
    _same(r.metrics["r2"], skm.r2_score(yr_test, values), "r2")
    _same(r.metrics["mape"], skm.mean_absolute_percentage_error(yr_test, values), "mape")


def test_bad_validation_input_is_named(nd):
    X_train, X_test, y_train, y_test = split(load_iris)
    art = nd.export(LogisticRegression(max_iter=1000).fit(X_train, y_train), X_train, name="iris-bad-input", y=y_train)
    with pytest.raises(ValueError, match="rows but y has"):
        nd.validate(art, X_test, y_test[:-1], show=False)
    with pytest.raises(nd.ServiceError, match=r"labels\[0\] is \"setosa\""):
        nd.validate(art, X_test, ["setosa"] * len(X_test), show=False)
    with pytest.raises(nd.ServiceError, match='slice column "colour"'):
        nd.validate(art, X_test, y_test, slices=["colour"], show=False)
    with pytest.raises(nd.ServiceError, match='gate condition of "f1"'):
        nd.validate(art, X_test, y_test, gates={"f1": "at least 0.9"}, show=False)
