"""Fitted models to ONNX, without skl2onnx: scikit-learn pipelines and estimators,
LightGBM, PyTorch modules, and ONNX models passed through.

    exported = to_onnx(model, X_sample, y=None)

Every export is opset 17 (+ ai.onnx.ml 3), IR version 8, with plain tensor outputs:
classifiers "label" (the class labels, INT64 or BYTES) and "probabilities" (FP32
[N, n_classes], both columns for binary); regressors "prediction" (FP32 [N], or [N, k]
for k targets). nbdeploy's signature (task, classes, input categories) is also written
to the model's metadata_props as "nbdeploy.*".

Inputs (_tabular): a model fitted on a DataFrame takes one [N, 1] input per column,
string / categorical BYTES, numeric FP64 (float32 columns FP32); one fitted on an array
takes "input" [N, F], FP64 (FP32 for a float32 array); a PyTorch module takes "input"
[N, F] in its parameters' dtype (normally FP32). Missing numbers are NaN; a missing
string is "" (so an empty string and a missing value are the same thing on the wire).

Precision: numeric inputs carry the data's own precision — float64 and integer data
travel as float64, float32 data as float32 — so the graph starts from exactly the values
the native model is given, computes in float64 as scikit-learn does, and rounds to
float32 only where the library does (scikit-learn's trees cast X to float32; float32 data
stays float32 through scikit-learn's scalers; LightGBM reads integer arrays as float32).
Trees therefore route every row as their library does, held-out rows included; what
differs is the rounding of sums (matrix products, leaf sums, the FP32 outputs), far
inside nd.export's parity tolerance.

Refused (UnsupportedModelError, naming the class and listing what is supported): any
class not in the tables below; encoders with infrequent categories; FunctionTransformer
with a function; multi-output classifiers; GradientBoosting with a custom init
estimator; losses / objectives without a known link; LightGBM linear trees; ONNX models
with non-tensor (ZipMap) inputs or outputs. Not raised but documented: an encoder with
handle_unknown="error" gives zeros (one-hot) or NaN (ordinal) for unknown categories,
where scikit-learn would raise.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any, Callable, Optional

from . import onnx_models, sklearn_compose, sklearn_linear, sklearn_preprocessing, sklearn_trees
from ._graph import Graph, Table
from ._tabular import TabularLayout
from ._types import ExportedModel, InputSpec, OutputSpec, UnsupportedModelError

__all__ = ["to_onnx", "supported_models", "UnsupportedModelError", "ExportedModel", "InputSpec", "OutputSpec"]

Converter = Callable[[Graph, Any, Table], Any]


def _sklearn_tables() -> tuple[dict[type, Converter], dict[type, Converter]]:
    from sklearn import compose, ensemble, impute, linear_model, pipeline, preprocessing, tree

    transformers: dict[type, Converter] = {
        pipeline.Pipeline: partial(sklearn_compose.pipeline_transform, transform=_transform),
        compose.ColumnTransformer: partial(sklearn_compose.column_transformer, transform=_transform),
        preprocessing.StandardScaler: sklearn_preprocessing.standard_scaler,
        preprocessing.MinMaxScaler: sklearn_preprocessing.min_max_scaler,
        preprocessing.RobustScaler: sklearn_preprocessing.robust_scaler,
        preprocessing.MaxAbsScaler: sklearn_preprocessing.max_abs_scaler,
        preprocessing.OneHotEncoder: sklearn_preprocessing.one_hot_encoder,
        preprocessing.OrdinalEncoder: sklearn_preprocessing.ordinal_encoder,
        preprocessing.FunctionTransformer: sklearn_preprocessing.function_transformer,
        impute.SimpleImputer: sklearn_preprocessing.simple_imputer,
        impute.MissingIndicator: sklearn_preprocessing.missing_indicator,
    }
    estimators: dict[type, Converter] = {
        pipeline.Pipeline: partial(sklearn_compose.pipeline_estimate, transform=_transform, estimate=_estimate),
        linear_model.LinearRegression: sklearn_linear.linear_regressor,
        linear_model.Ridge: sklearn_linear.linear_regressor,
        linear_model.RidgeCV: sklearn_linear.linear_regressor,
        linear_model.Lasso: sklearn_linear.linear_regressor,
        linear_model.LassoCV: sklearn_linear.linear_regressor,
        linear_model.ElasticNet: sklearn_linear.linear_regressor,
        linear_model.ElasticNetCV: sklearn_linear.linear_regressor,
        linear_model.LogisticRegression: sklearn_linear.logistic_regression,
        tree.DecisionTreeClassifier: sklearn_trees.tree_classifier,
        tree.DecisionTreeRegressor: sklearn_trees.tree_regressor,
        ensemble.RandomForestClassifier: sklearn_trees.tree_classifier,
        ensemble.RandomForestRegressor: sklearn_trees.tree_regressor,
        ensemble.ExtraTreesClassifier: sklearn_trees.tree_classifier,
        ensemble.ExtraTreesRegressor: sklearn_trees.tree_regressor,
        ensemble.GradientBoostingClassifier: sklearn_trees.gradient_boosting_classifier,
        ensemble.GradientBoostingRegressor: sklearn_trees.gradient_boosting_regressor,
        ensemble.HistGradientBoostingClassifier: sklearn_trees.hist_gradient_boosting_classifier,
        ensemble.HistGradientBoostingRegressor: sklearn_trees.hist_gradient_boosting_regressor,
    }
    return transformers, estimators


def _lightgbm_table() -> dict[type, Converter]:
    try:
        import lightgbm
    except ImportError:
        return {}
    from . import lightgbm_models

    return {lightgbm.LGBMClassifier: lightgbm_models.lgbm_classifier, lightgbm.LGBMRegressor: lightgbm_models.lgbm_regressor}


_TABLES: Optional[tuple[dict[type, Converter], dict[type, Converter]]] = None


def _tables() -> tuple[dict[type, Converter], dict[type, Converter]]:
    global _TABLES
    if _TABLES is None:
        transformers, estimators = _sklearn_tables()
        estimators.update(_lightgbm_table())
        _TABLES = (transformers, estimators)
    return _TABLES


def _lookup(table: dict[type, Converter], obj: Any) -> Optional[Converter]:
    # the class or its nearest registered base (a user's subclass converts like its parent)
    return next((table[cls] for cls in type(obj).__mro__ if cls in table), None)


def _qualified(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _unsupported(obj: Any, role: str) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"cannot export {_qualified(obj)} ({role}): no ONNX converter for it. "
        f"Supported: {', '.join(supported_models())}"
    )


def _transform(g: Graph, step: Any, table: Table) -> Table:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return table
    converter = _lookup(_tables()[0], step)
    if converter is None:
        raise _unsupported(step, "a transformer step")
    return converter(g, step, table)


def _estimate(g: Graph, model: Any, table: Table) -> None:
    converter = _lookup(_tables()[1], model)
    if converter is None:
        if _lookup(_tables()[0], model) is not None:
            raise UnsupportedModelError(f"{_qualified(model)} is a transformer; the model (or pipeline) must end with an estimator")
        raise _unsupported(model, "the final estimator")
    converter(g, model, table)


def supported_models() -> list[str]:
    """What to_onnx converts, as a human-readable list."""
    transformers, estimators = _tables()
    return sorted({_public_name(cls) for cls in [*transformers, *estimators]}) + [
        "torch.nn.Module",
        "ONNX model (file path, bytes or onnx.ModelProto)",
    ]


def _public_name(cls: type) -> str:
    """Where users import the class from: lightgbm.LGBMClassifier, sklearn.ensemble.X."""
    parts = cls.__module__.split(".")
    if getattr(sys.modules.get(parts[0]), cls.__name__, None) is cls:
        return f"{parts[0]}.{cls.__name__}"
    public = next((parts[:i] for i, p in enumerate(parts) if p.startswith("_")), parts)
    return ".".join([*public, cls.__name__])


def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def _library(model: Any) -> str:
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return "lightgbm" if type(final).__module__.startswith("lightgbm") else "sklearn"


def to_onnx(model: Any, X_sample: Any, y: Any = None) -> ExportedModel:
    """Converts a fitted model to ONNX. X_sample (a DataFrame, an array, or a list of
    records) is data like the training data: it fixes the inputs; y is needed only for a
    PyTorch classifier (its classes). Raises UnsupportedModelError for what it cannot convert."""
    if onnx_models.is_onnx(model):
        return onnx_models.export(model)
    if _is_torch_module(model):
        from . import torch_models

        return torch_models.export(model, X_sample, y)
    if _lookup(_tables()[1], model) is None:
        raise _unsupported(model, "the model")
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)  # NotFittedError names the model, rather than a missing attribute later
    layout = TabularLayout.of(model, X_sample)
    g = Graph(type(model).__name__)
    _estimate(g, model, layout.declare(g))
    library = _library(model)
    inputs = layout.input_specs(g)
    onnx_model = g.model(
        {
            "task": g.task,
            "classes": g.classes,
            "library": library,
            "categories": {i.name: i.categories for i in inputs if i.categories is not None},
        }
    )
    classifier = g.task == "classification"

    def native_predict(X: Any) -> Any:
        data = layout.native(X)
        if classifier:
            return model.predict(data), model.predict_proba(data)
        return model.predict(data)

    return ExportedModel(
        onnx_bytes=onnx_model.SerializeToString(),
        inputs=inputs,
        outputs=g.output_specs,
        task=g.task,
        classes=g.classes,
        label_output="label" if classifier else None,
        scores_output="probabilities" if classifier else None,
        value_output=None if classifier else "prediction",
        library=library,
        native_predict=native_predict,
        _feeder=layout.feeds,
    )

