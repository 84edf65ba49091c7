"""LightGBM's LGBMClassifier / LGBMRegressor from booster.dump_model(): binary,
multiclass, regression, missing values (NaN, zero_as_missing, use_missing=False),
default_left, pandas categorical columns, and the objectives with a link."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from exporter_checks import assert_parity, check_format

from nbdeploy.exporters import UnsupportedModelError, to_onnx

COMMON = dict(verbose=-1, random_state=0, n_jobs=1)


def with_nans(X: pd.DataFrame, every: int = 9) -> pd.DataFrame:
    """NaNs at deterministic places in every column (so splits learn a default side)."""
    X = X.copy()
    for j, column in enumerate(X.columns):
        X.loc[X.index[j % every :: every], column] = np.nan
    return X


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine", "iris"])
def test_classifier(dataset, request):
    X, y = request.getfixturevalue(dataset)
    model = lgb.LGBMClassifier(n_estimators=40, min_child_samples=5, **COMMON).fit(X, y)
    exported = to_onnx(model, X)
    check_format(exported)
    assert exported.library == "lightgbm" and exported.classes == sorted(set(y.tolist()))
    assert [i.name for i in exported.inputs] == list(X.columns)
    assert_parity(exported, X, "LGBMClassifier")


def test_regressor(diabetes):
    X, y = diabetes
    exported = to_onnx(lgb.LGBMRegressor(n_estimators=60, **COMMON).fit(X, y), X)
    assert exported.task == "regression" and exported.library == "lightgbm"
    assert_parity(exported, X, "LGBMRegressor")


def test_fitted_on_array(breast_cancer):
    X, y = breast_cancer
    X = X.to_numpy()
    exported = to_onnx(lgb.LGBMClassifier(n_estimators=20, **COMMON).fit(X, y), X)
    assert [(i.name, i.shape) for i in exported.inputs] == [("input", (-1, 30))]
    assert_parity(exported, X, "LGBMClassifier")


@pytest.mark.parametrize("options", [{}, {"zero_as_missing": True}, {"use_missing": False}])
def test_missing_values(options, breast_cancer, diabetes):
    X, y = breast_cancer
    Xn = with_nans(X)
    Xn.iloc[::5, 3] = 0.0  # zeros too, for zero_as_missing
    model = lgb.LGBMClassifier(n_estimators=40, **options, **COMMON).fit(Xn, y)
    rows = pd.concat([Xn, with_nans(X, 4)])  # NaNs where training had none
    assert_parity(to_onnx(model, Xn), rows, "LGBM missing values")
    X, y = diabetes
    Xn = with_nans(X, 7)
    Xn.iloc[::6, 2] = 0.0
    model = lgb.LGBMRegressor(n_estimators=40, **options, **COMMON).fit(Xn, y)
    assert_parity(to_onnx(model, Xn), pd.concat([Xn, with_nans(X, 3)]), "LGBM missing values")


def test_default_left_both_ways_are_exercised(breast_cancer):
    X, y = breast_cancer
    model = lgb.LGBMClassifier(n_estimators=40, **COMMON).fit(with_nans(X), y)
    sides = set()

    def walk(node):
        if "split_index" in node:
            sides.add((node["missing_type"], node["default_left"]))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in model.booster_.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    assert ("NaN", True) in sides and ("NaN", False) in sides


def test_pandas_categorical(wine_mixed):
    X, y = wine_mixed
    X = X.astype({"region": "category", "grade": "category"})
    model = lgb.LGBMClassifier(n_estimators=40, min_child_samples=5, min_data_per_group=5, cat_smooth=1, **COMMON).fit(X, y)
    uses_categorical = any("==" in str(t) for t in model.booster_.dump_model()["tree_info"])
    exported = to_onnx(model, X)
    specs = {i.name: i for i in exported.inputs}
    assert specs["region"].datatype == "BYTES" and specs["region"].categories == ["east", "north", "south", "west"]
    rows = X.iloc[:6].astype({"region": object})
    rows["region"] = ["atlantis", None, "north", None, "south", "mars"]
    both = pd.concat([X.astype({"region": object}), rows])
    # unseen levels are kept as categories; LightGBM maps them to NaN itself
    both["region"] = pd.Categorical(both["region"], categories=[*X["region"].cat.categories, "atlantis", "mars"])
    assert_parity(exported, both, "LGBM categorical")
    assert uses_categorical


def test_categorical_codes_in_an_array(wine):
    X, y = wine
    X = X.to_numpy().copy()
    X[:, 0] = np.floor(X[:, 0] - 11)
    model = lgb.LGBMRegressor(n_estimators=40, min_child_samples=5, min_data_per_group=5, **COMMON)
    model.fit(X, y.astype(float), categorical_feature=[0])
    rows = np.vstack([X, [[9.0, *X[0, 1:]], [np.nan, *X[1, 1:]], [-1.0, *X[2, 1:]]]])
    assert_parity(to_onnx(model, X), rows, "LGBM categorical")


@pytest.mark.parametrize("objective", ["multiclassova"])
def test_multiclass_ova(objective, iris):
    X, y = iris
    model = lgb.LGBMClassifier(n_estimators=20, objective=objective, **COMMON).fit(X, y)
    assert_parity(to_onnx(model, X), X, "LGBMClassifier")


@pytest.mark.parametrize("objective", ["poisson", "gamma", "huber", "quantile"])
def test_regression_objectives(objective, diabetes):
    X, y = diabetes
    model = lgb.LGBMRegressor(n_estimators=30, objective=objective, **COMMON).fit(X, y)
    assert_parity(to_onnx(model, X), X, "LGBMRegressor objectives")


def test_random_forest_mode(breast_cancer):
    X, y = breast_cancer
    model = lgb.LGBMClassifier(boosting_type="rf", n_estimators=20, bagging_freq=1, bagging_fraction=0.7, **COMMON).fit(X, y)
    assert_parity(to_onnx(model, X), X, "LGBMClassifier")


def test_linear_trees_are_refused(diabetes):
    X, y = diabetes
    model = lgb.LGBMRegressor(n_estimators=5, linear_tree=True, **COMMON).fit(X, y)
    with pytest.raises(UnsupportedModelError, match="linear"):
        to_onnx(model, X)
