"""Every scikit-learn estimator family on the bundled datasets (numeric DataFrames and
arrays): binary (breast_cancer), multiclass (wine, iris), regression (diabetes)."""

import numpy as np
import pytest
from exporter_checks import assert_parity, check_format
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from nbdeploy.exporters import to_onnx

CLASSIFIERS = {
    "LogisticRegression": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    "DecisionTreeClassifier": lambda: DecisionTreeClassifier(random_state=0),
    "RandomForestClassifier": lambda: RandomForestClassifier(n_estimators=30, random_state=0),
    "ExtraTreesClassifier": lambda: ExtraTreesClassifier(n_estimators=30, random_state=0),
    "GradientBoostingClassifier": lambda: GradientBoostingClassifier(n_estimators=30, random_state=0),
    "HistGradientBoostingClassifier": lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
}
REGRESSORS = {
    "LinearRegression": LinearRegression,
    "Ridge": lambda: Ridge(alpha=0.5),
    "Lasso": lambda: Lasso(alpha=0.05),
    "ElasticNet": lambda: ElasticNet(alpha=0.01, l1_ratio=0.3),
    "DecisionTreeRegressor": lambda: DecisionTreeRegressor(random_state=0),
    "RandomForestRegressor": lambda: RandomForestRegressor(n_estimators=30, random_state=0),
    "ExtraTreesRegressor": lambda: ExtraTreesRegressor(n_estimators=30, random_state=0),
    "GradientBoostingRegressor": lambda: GradientBoostingRegressor(n_estimators=50, random_state=0),
    "HistGradientBoostingRegressor": lambda: HistGradientBoostingRegressor(max_iter=50, random_state=0),
}


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine", "iris"])
@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_classifier_parity(name, dataset, request):
    X, y = request.getfixturevalue(dataset)
    model = CLASSIFIERS[name]().fit(X, y)
    exported = to_onnx(model, X)
    check_format(exported)
    assert exported.task == "classification" and exported.library == "sklearn"
    assert exported.classes == sorted(set(y.tolist()))
    assert [i.name for i in exported.inputs] == list(X.columns)  # fitted on a DataFrame: one input per column
    assert all(i.datatype == "FP64" and i.shape == (-1, 1) for i in exported.inputs)  # float64 data
    assert_parity(exported, X, name)


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_regressor_parity(name, diabetes):
    X, y = diabetes
    model = REGRESSORS[name]().fit(X, y)
    exported = to_onnx(model, X)
    check_format(exported)
    assert exported.task == "regression" and exported.value_output == "prediction"
    assert exported.label_output is None and exported.scores_output is None
    assert_parity(exported, X, name)


@pytest.mark.parametrize("name", ["LogisticRegression", "RandomForestClassifier", "HistGradientBoostingClassifier"])
def test_fitted_on_array_takes_one_matrix_input(name, breast_cancer):
    X, y = breast_cancer
    X = X.to_numpy()
    exported = to_onnx(CLASSIFIERS[name]().fit(X, y), X)
    assert [(i.name, i.datatype, i.shape) for i in exported.inputs] == [("input", "FP64", (-1, 30))]
    assert exported.feeds(X)["input"].dtype == np.float64
    assert_parity(exported, X, name)


@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler, RobustScaler])
@pytest.mark.parametrize("estimator", [LogisticRegression, lambda: RandomForestClassifier(n_estimators=20, random_state=0)])
def test_scalers_before_linear_and_tree_models(scaler, estimator, wine):
    X, y = wine
    model = make_pipeline(scaler(), estimator()).fit(X, y)
    assert_parity(to_onnx(model, X), X, f"{scaler.__name__} pipeline")


def test_min_max_scaler_clips(wine):
    X, y = wine
    model = make_pipeline(MinMaxScaler(clip=True), Ridge()).fit(X, y)
    wider = X * 1.5  # outside the fitted range
    assert_parity(to_onnx(model, X), wider, "MinMaxScaler pipeline")


def test_string_class_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    for model in (LogisticRegression(max_iter=1000), GradientBoostingClassifier(n_estimators=10, random_state=0)):
        exported = to_onnx(model.fit(X, names), X)
        assert exported.classes == ["setosa", "versicolor", "virginica"]
        assert next(o for o in exported.outputs if o.name == "label").datatype == "BYTES"
        assert_parity(exported, X, "string labels")


def test_binary_outputs_both_probability_columns(breast_cancer):
    X, y = breast_cancer
    exported = to_onnx(GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y), X)
    outputs = {o.name: o for o in exported.outputs}
    assert outputs["probabilities"].shape == (-1, 2) and outputs["probabilities"].datatype == "FP32"
    assert outputs["label"].datatype == "INT64" and outputs["label"].shape == (-1,)


def test_multi_target_regression(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.log(y)])
    for model in (LinearRegression(), RandomForestRegressor(n_estimators=10, random_state=0)):
        exported = to_onnx(model.fit(X, Y), X)
        assert next(o for o in exported.outputs if o.name == "prediction").shape == (-1, 2)
        assert_parity(exported, X, "multi-target regression")


def test_hist_gradient_boosting_poisson(diabetes):
    X, y = diabetes
    exported = to_onnx(HistGradientBoostingRegressor(loss="poisson", max_iter=30).fit(X, y), X)
    assert_parity(exported, X, "HistGradientBoostingRegressor")


def test_gradient_boosting_exponential_loss(breast_cancer):
    X, y = breast_cancer
    exported = to_onnx(GradientBoostingClassifier(loss="exponential", n_estimators=20, random_state=0).fit(X, y), X)
    assert_parity(exported, X, "GradientBoostingClassifier")
