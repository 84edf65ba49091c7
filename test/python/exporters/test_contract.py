"""The interface the rest of nbdeploy relies on: what is refused and how, the inputs and
feeds, and the float32 edge cases of tree thresholds."""

import numpy as np
import pandas as pd
import pytest
from exporter_checks import assert_parity, run_onnx
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from nbdeploy.exporters import ExportedModel, InputSpec, UnsupportedModelError, supported_models, to_onnx


def test_unsupported_model_names_its_class_and_what_is_supported(iris):
    X, y = iris
    with pytest.raises(UnsupportedModelError) as error:
        to_onnx(SVC().fit(X, y), X)
    assert isinstance(error.value, TypeError)
    message = str(error.value)
    assert "sklearn.svm._classes.SVC" in message
    assert "sklearn.ensemble.RandomForestClassifier" in message and "lightgbm.LGBMClassifier" in message and "torch.nn.Module" in message


def test_supported_models_is_a_readable_list():
    names = supported_models()
    for expected in ("sklearn.pipeline.Pipeline", "sklearn.compose.ColumnTransformer", "sklearn.ensemble.HistGradientBoostingRegressor", "lightgbm.LGBMRegressor", "torch.nn.Module"):
        assert expected in names
    assert any("ONNX" in n for n in names)


def test_unsupported_step_inside_a_pipeline(iris):
    X, y = iris
    with pytest.raises(UnsupportedModelError, match="PolynomialFeatures"):
        to_onnx(make_pipeline(PolynomialFeatures(), LogisticRegression(max_iter=500)).fit(X, y), X)


def test_refusals_say_why(wine_mixed, iris):
    X, y = wine_mixed
    infrequent = ColumnTransformer([("cat", OneHotEncoder(min_frequency=30, handle_unknown="infrequent_if_exist"), ["grade", "region"])])
    with pytest.raises(UnsupportedModelError, match="infrequent"):
        to_onnx(make_pipeline(infrequent, LogisticRegression()).fit(X, y), X)
    X, y = iris
    with pytest.raises(UnsupportedModelError, match="FunctionTransformer"):
        to_onnx(make_pipeline(FunctionTransformer(np.log1p), LogisticRegression(max_iter=500)).fit(X, y), X)
    with pytest.raises(UnsupportedModelError, match="must end with an estimator"):
        to_onnx(make_pipeline(StandardScaler()).fit(X), X)
    Y = np.column_stack([y, y % 2])
    with pytest.raises(UnsupportedModelError, match="multi-output"):
        to_onnx(DecisionTreeClassifier().fit(X, Y), X)


def test_identity_function_transformer_is_fine(iris):
    X, y = iris
    model = make_pipeline(FunctionTransformer(), StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    assert_parity(to_onnx(model, X), X, "LogisticRegression")


def test_inputs_and_feeds_of_a_mixed_frame(wine_mixed):
    X, y = wine_mixed
    prep = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["region", "grade"])],
        remainder=make_pipeline(FunctionTransformer(), StandardScaler()),
    )
    model = make_pipeline(prep, HistGradientBoostingClassifier(max_iter=5)).fit(X, y)
    exported = to_onnx(model, X)
    assert isinstance(exported, ExportedModel)
    specs = {i.name: i for i in exported.inputs}
    assert all(isinstance(i, InputSpec) for i in exported.inputs)
    assert specs["grade"] == InputSpec("grade", "BYTES", (-1, 1), ["a", "b", "c"])
    assert specs["hue"] == InputSpec("hue", "FP64", (-1, 1), None)
    feeds = exported.feeds(X.head(14))
    assert set(feeds) == set(X.columns)
    assert feeds["region"].dtype == object and feeds["region"].shape == (14, 1)
    assert feeds["region"][0, 0] == "" and isinstance(feeds["region"][1, 0], str)  # row 0 is missing
    assert feeds["hue"].dtype == np.float64 and feeds["hue"].shape == (14, 1)
    assert np.isnan(feeds["malic_acid"][0, 0])  # a missing number stays NaN
    assert_parity(exported, X, "ColumnTransformer remainder=passthrough")


def test_categories_of_an_input_come_from_the_encoder(wine_mixed):
    X, y = wine_mixed
    prep = ColumnTransformer([("cat", OneHotEncoder(categories=[["a", "b", "c", "d"]], handle_unknown="ignore"), ["grade"])])
    exported = to_onnx(make_pipeline(prep, LogisticRegression()).fit(X, y), X)
    assert {i.name: i.categories for i in exported.inputs}["grade"] == ["a", "b", "c", "d"]
    assert {i.name: i.categories for i in exported.inputs}["region"] == ["east", "north", "south", "west"]  # from the sample


def test_tree_thresholds_between_adjacent_float32_values():
    """A threshold halfway between two adjacent float32 values cannot be stored as a
    float32; the graph keeps it exact and routes both values as scikit-learn does."""
    a = np.float32(1000.0)  # adjacent float32 values 6e-5 apart (scikit-learn ignores gaps below 1e-7)
    b = np.nextafter(a, np.float32(2000.0))
    X = np.array([[a], [b], [a], [b]], dtype=np.float64)
    y = np.array([0, 1, 0, 1])
    for model in (DecisionTreeClassifier().fit(X, y), RandomForestClassifier(n_estimators=3, bootstrap=False, random_state=0).fit(X, y)):
        assert np.float32(model.estimators_[0].tree_.threshold[0] if hasattr(model, "estimators_") else model.tree_.threshold[0]) in (a, b)
        exported = to_onnx(model, X)
        np.testing.assert_array_equal(run_onnx(exported, X)["label"], [0, 1, 0, 1])
    regressor = DecisionTreeRegressor().fit(X, y.astype(float))
    assert_parity(to_onnx(regressor, X), X, "DecisionTreeRegressor")


def test_tree_routes_nan_as_fitted(wine):
    X, y = wine
    X = X.copy()
    X.iloc[::4, 0] = np.nan
    X.iloc[1::6, 6] = np.nan
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    rows = X.copy()
    rows.iloc[:, 9] = np.nan  # NaN in a column that had none at fit
    assert_parity(to_onnx(model, X), pd.concat([X, rows]), "RandomForestClassifier")


def test_records_and_arrays_as_samples(iris):
    X, y = iris
    records = X.to_dict("records")
    model = LogisticRegression(max_iter=500).fit(X, y)
    exported = to_onnx(model, records)
    assert exported.feeds(records)["sepal length (cm)"].shape == (150, 1)
    np.testing.assert_array_equal(run_onnx(exported, records)["label"], model.predict(X))


def test_float32_data_stays_float32(wine):
    """A column that is float32 in the sample is an FP32 input fed float32 (the native model
    sees exactly that value); the float64 columns next to it are FP64."""
    X, y = wine
    X32 = X.astype(np.float32)
    mixed = X.astype({"alcohol": np.float32, "hue": np.float32})
    for data in (X32, mixed, X32.to_numpy()):
        model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=30, random_state=0)).fit(data, y)
        exported = to_onnx(model, data)
        feeds = exported.feeds(data)
        if isinstance(data, np.ndarray):
            assert [(i.name, i.datatype) for i in exported.inputs] == [("input", "FP32")]
            assert feeds["input"].dtype == np.float32
        else:
            expected = {c: "FP32" if data[c].dtype == np.float32 else "FP64" for c in data.columns}
            assert {i.name: i.datatype for i in exported.inputs} == expected
            assert {c: str(a.dtype) for c, a in feeds.items()} == {c: {"FP32": "float32", "FP64": "float64"}[d] for c, d in expected.items()}
        assert_parity(exported, data, "StandardScaler pipeline")


def test_an_unfitted_model_is_refused(iris):
    from sklearn.exceptions import NotFittedError

    X, _ = iris
    with pytest.raises(NotFittedError):
        to_onnx(make_pipeline(StandardScaler(), LogisticRegression()), X)


def test_an_input_cannot_take_an_output_name(iris):
    X, y = iris
    X = X.rename(columns={"sepal length (cm)": "label"})
    with pytest.raises(ValueError, match="label"):
        to_onnx(LogisticRegression(max_iter=500).fit(X, y), X)


def test_histogram_models_on_float32_data(breast_cancer, diabetes):
    import lightgbm as lgb

    X, y = breast_cancer
    X32 = X.astype(np.float32)
    for model in (HistGradientBoostingClassifier(max_iter=30, random_state=0), lgb.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1)):
        assert_parity(to_onnx(model.fit(X32, y), X32), X32, f"float32 data: {type(model).__name__}")
    X, y = diabetes
    X32 = X.to_numpy(dtype=np.float32)
    model = lgb.LGBMRegressor(n_estimators=30, verbose=-1, n_jobs=1).fit(X32, y)
    assert_parity(to_onnx(model, X32), X32, "float32 data: LGBMRegressor")
