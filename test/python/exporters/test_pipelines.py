"""Pipelines over a DataFrame with numeric, string and missing values (wine / diabetes
plus string columns and NaNs injected deterministically): ColumnTransformer, imputers,
encoders, then every estimator family. Parity is checked on the training frame and on
rows with unseen categories and missing values."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from exporter_checks import assert_parity, check_format, unseen_rows
from sklearn.compose import ColumnTransformer
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
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from nbdeploy.exporters import to_onnx

CATEGORICAL = ["region", "grade"]

CLASSIFIERS = {
    "LogisticRegression": lambda: LogisticRegression(max_iter=3000),
    "DecisionTreeClassifier": lambda: DecisionTreeClassifier(random_state=0),
    "RandomForestClassifier": lambda: RandomForestClassifier(n_estimators=30, random_state=0),
    "ExtraTreesClassifier": lambda: ExtraTreesClassifier(n_estimators=30, random_state=0),
    "GradientBoostingClassifier": lambda: GradientBoostingClassifier(n_estimators=30, random_state=0),
    "HistGradientBoostingClassifier": lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
    "LGBMClassifier": lambda: lgb.LGBMClassifier(n_estimators=30, min_child_samples=5, verbose=-1, random_state=0, n_jobs=1),
}
REGRESSORS = {
    "LinearRegression": LinearRegression,
    "Ridge": Ridge,
    "Lasso": lambda: Lasso(alpha=0.05),
    "ElasticNet": lambda: ElasticNet(alpha=0.01),
    "DecisionTreeRegressor": lambda: DecisionTreeRegressor(random_state=0),
    "RandomForestRegressor": lambda: RandomForestRegressor(n_estimators=30, random_state=0),
    "ExtraTreesRegressor": lambda: ExtraTreesRegressor(n_estimators=30, random_state=0),
    "GradientBoostingRegressor": lambda: GradientBoostingRegressor(n_estimators=30, random_state=0),
    "HistGradientBoostingRegressor": lambda: HistGradientBoostingRegressor(max_iter=30, random_state=0),
    "LGBMRegressor": lambda: lgb.LGBMRegressor(n_estimators=30, verbose=-1, random_state=0, n_jobs=1),
}


def preprocessor(numeric, scaler=StandardScaler, remainder="drop"):
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), scaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
        ],
        remainder=remainder,
    )


def numeric_columns(X):
    return [c for c in X.columns if c not in CATEGORICAL]


def both(X):
    return pd.concat([X, unseen_rows(X)])


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_classifier_pipeline_on_mixed_frame(name, wine_mixed):
    X, y = wine_mixed
    model = Pipeline([("prep", preprocessor(numeric_columns(X))), ("model", CLASSIFIERS[name]())]).fit(X, y)
    exported = to_onnx(model, X)
    check_format(exported)
    specs = {i.name: i for i in exported.inputs}
    assert list(specs) == list(X.columns)
    assert specs["region"].datatype == "BYTES" and specs["region"].categories == ["east", "north", "south", "west"]
    assert specs["alcohol"].datatype == "FP64" and specs["alcohol"].categories is None
    assert_parity(exported, both(X), f"mixed frame: {name}")


@pytest.mark.parametrize("name", ["LogisticRegression", "RandomForestClassifier", "GradientBoostingClassifier", "HistGradientBoostingClassifier", "LGBMClassifier"])
def test_binary_classifier_pipeline_on_mixed_frame(name, wine_mixed):
    X, y = wine_mixed
    y = np.where(y == 1, "yes", "no")  # binary, string labels
    model = Pipeline([("prep", preprocessor(numeric_columns(X), RobustScaler)), ("model", CLASSIFIERS[name]())]).fit(X, y)
    exported = to_onnx(model, X)
    assert exported.classes == ["no", "yes"]
    assert_parity(exported, both(X), f"mixed frame: {name}")


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_regressor_pipeline_on_mixed_frame(name, diabetes_mixed):
    X, y = diabetes_mixed
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="mean"), MinMaxScaler()), [c for c in numeric_columns(X) if c != "sex"]),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="unknown"), OneHotEncoder(handle_unknown="ignore")), CATEGORICAL + ["sex"]),
        ]
    )
    model = Pipeline([("prep", prep), ("model", REGRESSORS[name]())]).fit(X, y)
    exported = to_onnx(model, X)
    assert exported.task == "regression"
    assert_parity(exported, both(X), f"mixed frame: {name}")


@pytest.mark.parametrize("remainder", ["drop", "passthrough"])
def test_column_transformer_remainder(remainder, wine_mixed):
    X, y = wine_mixed
    numeric = numeric_columns(X)
    prep = ColumnTransformer(
        [
            ("scaled", make_pipeline(SimpleImputer(), StandardScaler()), numeric[:5]),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), ["region"]),
        ],
        remainder=remainder,
    )
    data = X.drop(columns=["grade"]).fillna({c: 0.0 for c in numeric})  # the remainder has no imputer
    data["region"] = X["region"]
    model = make_pipeline(prep, HistGradientBoostingClassifier(max_iter=20, random_state=0)).fit(data, y)
    assert_parity(to_onnx(model, data), data, f"ColumnTransformer remainder={remainder}")


@pytest.mark.parametrize("handle_unknown", ["ignore", "error"])
@pytest.mark.parametrize("drop", [None, "first", "if_binary"])
def test_one_hot_encoder_options(handle_unknown, drop, wine_mixed):
    X, y = wine_mixed
    X = X.assign(region=X["region"].fillna("none"))
    prep = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown=handle_unknown, drop=drop), CATEGORICAL)],
        remainder=make_pipeline(SimpleImputer(), StandardScaler()),
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=3000)).fit(X, y)
    exported = to_onnx(model, X)
    rows = X if handle_unknown == "error" else both(X).assign(region=lambda f: f["region"].fillna("none"))
    assert_parity(exported, rows, "OneHotEncoder options")


def test_one_hot_encoder_on_numeric_categories(wine):
    X, y = wine
    X = X.assign(bucket=(X["alcohol"] * 2).round() / 2)  # a numeric categorical column
    prep = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["bucket"])], remainder=StandardScaler())
    model = make_pipeline(prep, LogisticRegression(max_iter=3000)).fit(X, y)
    rows = pd.concat([X, X.iloc[:3].assign(bucket=[99.0, np.nan, 13.0])])
    assert_parity(to_onnx(model, X), rows, "OneHotEncoder options")


@pytest.mark.parametrize("unknown", ["error", "use_encoded_value"])
def test_ordinal_encoder(unknown, wine_mixed):
    X, y = wine_mixed
    kwargs = {"handle_unknown": "use_encoded_value", "unknown_value": -1} if unknown == "use_encoded_value" else {}
    prep = ColumnTransformer(
        [("cat", OrdinalEncoder(**kwargs), CATEGORICAL), ("num", "passthrough", numeric_columns(X))]
    )
    # HistGradientBoosting takes the NaNs (missing numbers and the missing-category code) itself
    model = make_pipeline(prep, HistGradientBoostingClassifier(max_iter=20, random_state=0)).fit(X, y)
    exported = to_onnx(model, X)
    assert_parity(exported, both(X) if unknown == "use_encoded_value" else X, "OrdinalEncoder")


def test_ordinal_encoder_encoded_missing_value(wine_mixed):
    X, y = wine_mixed
    prep = ColumnTransformer(
        [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2), CATEGORICAL)],
        remainder=SimpleImputer(),
    )
    model = make_pipeline(prep, RandomForestClassifier(n_estimators=20, random_state=0)).fit(X, y)
    assert_parity(to_onnx(model, X), both(X), "OrdinalEncoder")


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_simple_imputer_numeric(strategy, wine_mixed):
    X, y = wine_mixed
    numeric = numeric_columns(X)
    model = make_pipeline(
        ColumnTransformer([("num", SimpleImputer(strategy=strategy, add_indicator=True), numeric)]),
        GradientBoostingClassifier(n_estimators=20, random_state=0),
    ).fit(X, y)
    assert_parity(to_onnx(model, X), both(X), "SimpleImputer")


@pytest.mark.parametrize("strategy", ["most_frequent", "constant"])
def test_simple_imputer_strings(strategy, wine_mixed):
    X, y = wine_mixed
    model = make_pipeline(
        ColumnTransformer(
            [
                ("cat", make_pipeline(SimpleImputer(strategy=strategy, fill_value="missing"), OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
                ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric_columns(X)),
            ]
        ),
        LogisticRegression(max_iter=3000),
    ).fit(X, y)
    assert_parity(to_onnx(model, X), both(X), "SimpleImputer")


def test_hist_gradient_boosting_takes_nan_natively(wine_mixed):
    X, y = wine_mixed
    numeric = numeric_columns(X)
    for model in (HistGradientBoostingClassifier(max_iter=30, random_state=0), lgb.LGBMClassifier(n_estimators=30, verbose=-1, min_child_samples=5, n_jobs=1)):
        model.fit(X[numeric], y)
        exported = to_onnx(model, X[numeric])
        assert_parity(exported, X[numeric], f"NaN natively: {type(model).__name__}")


def test_hist_gradient_boosting_categorical_from_dtype(wine_mixed):
    X, y = wine_mixed
    X = X.astype({"region": "category", "grade": "category"})
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    assert model.is_categorical_.any()
    exported = to_onnx(model, X)
    assert {i.name: i.datatype for i in exported.inputs}["region"] == "BYTES"
    rows = pd.concat([X, unseen_rows(X.astype({"region": object})).astype({"region": "category"})])
    assert_parity(exported, rows, "HistGradientBoosting categorical")


def test_hist_gradient_boosting_categorical_codes(wine):
    X, y = wine
    X = X.to_numpy().copy()
    X[:, 0] = np.floor(X[:, 0] - 11)  # integer codes 0..3 in column 0
    model = HistGradientBoostingRegressor(max_iter=30, categorical_features=[0], random_state=0).fit(X, y)
    rows = np.vstack([X, [[7.0, *X[0, 1:]], [np.nan, *X[1, 1:]]]])  # unknown and missing codes
    assert_parity(to_onnx(model, X), rows, "HistGradientBoosting categorical")


def test_list_of_records_sample(wine_mixed):
    X, y = wine_mixed
    model = Pipeline([("prep", preprocessor(numeric_columns(X))), ("model", LogisticRegression(max_iter=3000))]).fit(X, y)
    records = X.head(20).to_dict("records")
    exported = to_onnx(model, records)
    feeds = exported.feeds(records)
    assert feeds["region"].dtype == object and feeds["alcohol"].dtype == np.float64
    assert feeds["region"][0, 0] in ("east", "north", "south", "west", "")
    assert_parity(exported, pd.DataFrame.from_records(records), "records")
