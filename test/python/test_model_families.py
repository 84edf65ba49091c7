"""Each supported model family through the real service: export (with parity), validate,
deploy, and predictions equal to the native model — classes exactly, scores within 1e-5,
values within 1e-5 relative — with the report's metrics equal to scikit-learn's."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

DATASETS = {"breast_cancer": load_breast_cancer, "wine": load_wine, "iris": load_iris, "diabetes": load_diabetes}


def data(name: str, frame: bool):
    d = DATASETS[name](as_frame=frame)
    stratify = None if name == "diabetes" else d.target
    return train_test_split(d.data, d.target, test_size=0.3, random_state=0, stratify=stratify)


CLASSIFIERS = [
    ("logistic-binary", lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)), "breast_cancer", True),
    ("logistic-multinomial", lambda: make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=3000)), "wine", False),
    ("decision-tree", lambda: DecisionTreeClassifier(max_depth=5, random_state=0), "iris", True),
    ("extra-trees", lambda: ExtraTreesClassifier(n_estimators=30, random_state=0), "wine", True),
    ("gradient-boosting", lambda: GradientBoostingClassifier(n_estimators=30, random_state=0), "breast_cancer", True),
    ("gradient-boosting-multiclass", lambda: GradientBoostingClassifier(n_estimators=20, random_state=0), "iris", False),
    ("hist-gradient-boosting", lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0), "wine", True),
    ("lightgbm", lambda: lgb.LGBMClassifier(n_estimators=30, verbose=-1, random_state=0), "iris", True),
    ("lightgbm-binary", lambda: lgb.LGBMClassifier(n_estimators=30, verbose=-1, random_state=0), "breast_cancer", False),
]

REGRESSORS = [
    ("linear", lambda: LinearRegression(), True),
    ("ridge", lambda: make_pipeline(RobustScaler(), Ridge(alpha=0.5)), True),
    ("lasso", lambda: Lasso(alpha=0.05), False),
    ("elastic-net", lambda: ElasticNet(alpha=0.01), True),
    ("decision-tree", lambda: DecisionTreeRegressor(max_depth=6, random_state=0), True),
    ("random-forest", lambda: RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0), False),
    ("extra-trees", lambda: ExtraTreesRegressor(n_estimators=20, max_depth=6, random_state=0), True),
    ("gradient-boosting", lambda: GradientBoostingRegressor(n_estimators=30, random_state=0), True),
    ("lightgbm", lambda: lgb.LGBMRegressor(n_estimators=30, verbose=-1, random_state=0), True),
]


@pytest.mark.parametrize("label,factory,dataset,frame", CLASSIFIERS, ids=[c[0] for c in CLASSIFIERS])
def test_classifier_family(nd, label, factory, dataset, frame):
    X_train, X_test, y_train, y_test = data(dataset, frame)
    model = factory().fit(X_train, y_train)
    name = f"cls-{label}"
    art = nd.export(model, X_train, name=name, y=y_train)
    report = nd.validate(art, X_test, y_test, resamples=0)
    nd.deploy(art)
    out = nd.predict(name, X_test)
    np.testing.assert_array_equal(out.labels, model.predict(X_test))
    np.testing.assert_allclose(out.scores, model.predict_proba(X_test), atol=1e-5)
    average = "binary" if len(art.signature["classes"]) == 2 else "macro"
    assert report.metrics["f1"] == pytest.approx(skm.f1_score(y_test, out.labels, average=average), abs=1e-9)
    assert report.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y_test, model.predict(X_test)), abs=1e-12)


@pytest.mark.parametrize("label,factory,frame", REGRESSORS, ids=[r[0] for r in REGRESSORS])
def test_regressor_family(nd, label, factory, frame):
    X_train, X_test, y_train, y_test = data("diabetes", frame)
    model = factory().fit(X_train, y_train)
    name = f"reg-{label}"
    art = nd.export(model, X_train, name=name, y=y_train)
    report = nd.validate(art, X_test, y_test, resamples=0)
    nd.deploy(art)
    out = nd.predict(name, X_test)
    np.testing.assert_allclose(out.values, model.predict(X_test), rtol=1e-5, atol=1e-5)
    assert report.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y_test, out.values)), abs=1e-9)


class Net(torch.nn.Module):
    def __init__(self, features: int, outputs: int) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(features, 16), torch.nn.ReLU(), torch.nn.Linear(16, outputs))

    def forward(self, x):
        return self.layers(x)


def test_pytorch_classifier(nd):
    X_train, X_test, y_train, y_test = data("breast_cancer", False)
    scaler = StandardScaler().fit(X_train)
    Xt = scaler.transform(X_train).astype(np.float32)
    Xv = scaler.transform(X_test).astype(np.float32)
    torch.manual_seed(0)
    net = Net(Xt.shape[1], 2)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(200):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(Xt)), torch.from_numpy(y_train).long())
        loss.backward()
        optimizer.step()
    net.eval()
    art = nd.export(net, Xt, name="torch-cancer", y=y_train)
    assert art.task == "classification"
    report = nd.validate(art, Xv, y_test, gates={"accuracy": ">= 0.9"}, resamples=0)
    assert report.passed
    nd.deploy(art)
    out = nd.predict("torch-cancer", Xv)
    with torch.no_grad():
        native = torch.softmax(net(torch.from_numpy(Xv)), dim=1).numpy()
    np.testing.assert_allclose(out.scores, native, atol=1e-5)
    np.testing.assert_array_equal(out.labels, np.array(sorted(set(y_train)))[native.argmax(axis=1)])


def test_onnx_file_as_it_is(nd, tmp_path):
    X_train, X_test, y_train, _ = data("iris", False)
    first = nd.export(LogisticRegression(max_iter=1000).fit(X_train, y_train), X_train, name="iris-file", y=y_train)
    path = tmp_path / "model.onnx"
    path.write_bytes(first.onnx_bytes)
    art = nd.export(str(path), X_train, name="iris-file")
    assert art.sha256 == first.sha256
    nd.deploy(art, override="the same bytes as a validated version")
    np.testing.assert_array_equal(nd.predict("iris-file", X_test).labels, LogisticRegression(max_iter=1000).fit(X_train, y_train).predict(X_test))
