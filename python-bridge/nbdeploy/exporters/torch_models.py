"""PyTorch nn.Module: exported with torch.onnx.export (the TorchScript exporter,
dynamo=False: the torch.export-based one needs onnxscript, which is not installed), with
a dynamic batch axis, then given nbdeploy's output heads.

The module takes the sample's columns as one tensor [N, F] named "input", in the dtype of
the module's floating-point parameters: FP32 normally, FP64 for a module made double
(`module.double()`), FP16 for a half one (float32 when it has no parameters).
With y it is a classifier over the sorted unique values of y when its output has one
column per class ([N, 1] for two classes: the second class's score) — a numeric y that
does not fit the output is taken as a regression target instead. The output is read as
class scores:
- if on X_sample the outputs are already probabilities (non-negative rows summing to 1;
  for one column: values in [0, 1]) they are used as they are,
- otherwise the graph applies softmax (sigmoid for one column);
the label is the class at the argmax of the module's output (one column: the second
class where p > 0.5). Without y it is a regressor: its output is the prediction ([N, 1] becomes [N]).
Export and native predictions run the module in eval mode (dropout off, batch-norm
running statistics), restoring its mode afterwards.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any, Iterator

import numpy as np
import onnx
import pandas as pd

from ._graph import DOUBLE, Graph
from ._types import ExportedModel, InputSpec, UnsupportedModelError

INPUT, RAW = "input", "module_output"


DATATYPES = {np.dtype(np.float16): "FP16", np.dtype(np.float32): "FP32", np.dtype(np.float64): "FP64"}


def _input_dtype(module: Any) -> np.dtype:
    """The dtype the module computes in: that of its first floating-point parameter (or
    buffer); float32 for a module without any."""
    import torch

    numpy_of = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}
    for tensor in [*module.parameters(), *module.buffers()]:
        if tensor.is_floating_point():
            if tensor.dtype not in numpy_of:
                raise UnsupportedModelError(f"{type(module).__qualname__} has {tensor.dtype} parameters; nbdeploy exports float16, float32 and float64 modules")
            return np.dtype(numpy_of[tensor.dtype])
    return np.dtype(np.float32)


def _matrix(X: Any, dtype: np.dtype) -> np.ndarray:
    if isinstance(X, list) and X and isinstance(X[0], dict):
        X = pd.DataFrame.from_records(X)
    if isinstance(X, pd.DataFrame):
        return X.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=dtype, na_value=np.nan)
    array = np.asarray(X, dtype=dtype)
    return array.reshape(1, -1) if array.ndim == 1 else array


@contextlib.contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(training)


def _run(module: Any, X: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad(), _eval_mode(module):
        out = module(torch.from_numpy(np.ascontiguousarray(X)))
    if not isinstance(out, torch.Tensor):
        raise UnsupportedModelError(f"{type(module).__qualname__} returns {type(out).__name__}; nbdeploy exports modules that return one tensor")
    return out.detach().cpu().numpy()


def _torch_onnx(module: Any, X: np.ndarray) -> onnx.ModelProto:
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings(), _eval_mode(module):
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            (torch.from_numpy(np.ascontiguousarray(X[: max(1, min(len(X), 2))])),),
            buffer,
            input_names=[INPUT],
            output_names=[RAW],
            dynamic_axes={INPUT: {0: "N"}, RAW: {0: "N"}},
            opset_version=17,
            dynamo=False,
        )
    return onnx.load_from_string(buffer.getvalue())


def _graph_from(model: onnx.ModelProto) -> Graph:
    """A Graph holding the exported nodes, so the heads can be appended."""
    g = Graph("torch")
    g.nodes = list(model.graph.node)
    g.initializers = list(model.graph.initializer)
    g.inputs = [i for i in model.graph.input if i.name == INPUT]
    g.take([i.name for i in g.initializers] + [o for n in g.nodes for o in n.output] + [INPUT])
    return g


def export(module: Any, X_sample: Any, y: Any = None) -> ExportedModel:
    dtype = _input_dtype(module)
    X = _matrix(X_sample, dtype)
    if X.ndim != 2:
        raise ValueError(f"X_sample must be 2-dimensional (rows x features); got shape {X.shape}")
    sample_out = _run(module, X)
    g = _graph_from(_torch_onnx(module, X))
    width = 1 if sample_out.ndim == 1 else sample_out.shape[1]
    raw = g.cast(RAW, DOUBLE, "raw")

    if not _is_classifier(sample_out, y):
        if sample_out.ndim > 2:
            raise UnsupportedModelError(f"the module's output has shape {sample_out.shape}; a regressor returns [N] or [N, k]")
        g.regressor(raw, width)

        def native_predict(X: Any) -> np.ndarray:
            out = _run(module, _matrix(X, dtype))
            return out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out

    else:
        classes = np.unique(np.asarray(y).reshape(-1))
        one_column = sample_out.shape[1] == 1
        if one_column:
            is_probability = bool(np.all((sample_out >= 0) & (sample_out <= 1)))
        else:
            is_probability = bool(np.all(sample_out >= 0) and np.allclose(sample_out.sum(axis=1), 1.0, atol=1e-4))
        if one_column:
            p1 = raw if is_probability else g.op("Sigmoid", raw)
            proba = g.binary_probabilities(p1)
            label_index = g.argmax(proba)
        else:
            proba = raw if is_probability else g.op("Softmax", raw, axis=1)
            label_index = g.argmax(raw)
        g.classifier(proba, label_index, classes)

        def native_predict(X: Any) -> tuple[np.ndarray, np.ndarray]:
            out = _run(module, _matrix(X, dtype)).astype(np.float64)
            if one_column:
                p1 = out if is_probability else 1.0 / (1.0 + np.exp(-out))
                proba = np.hstack([1.0 - p1, p1])
                return classes[np.argmax(proba, axis=1)], proba
            proba = out if is_probability else _softmax(out)
            return classes[np.argmax(out, axis=1)], proba

    model = g.model({"task": g.task, "classes": g.classes, "library": "torch"})
    return ExportedModel(
        onnx_bytes=model.SerializeToString(),
        inputs=[InputSpec(INPUT, DATATYPES[dtype], (-1, X.shape[1]))],
        outputs=g.output_specs,
        task=g.task,
        classes=g.classes,
        label_output="label" if g.task == "classification" else None,
        scores_output="probabilities" if g.task == "classification" else None,
        value_output="prediction" if g.task == "regression" else None,
        library="torch",
        native_predict=native_predict,
        _feeder=lambda X: {INPUT: _matrix(X, dtype)},
    )


def _is_classifier(sample_out: np.ndarray, y: Any) -> bool:
    """With y, a classifier when the output has a column per class of y (or one column for
    two classes). A numeric y that does not fit the output is a regression target (nd.export
    passes y for the training metrics of regressors too)."""
    if y is None:
        return False
    y = np.asarray(y).reshape(-1)
    k = len(np.unique(y))
    width = sample_out.shape[1] if sample_out.ndim == 2 else None
    if width is not None and (width == k or (width == 1 and k == 2)):
        return True
    if y.dtype.kind in "fiu":
        return False
    raise UnsupportedModelError(f"y has {k} classes but the module's output has shape {list(sample_out.shape)}; a classifier returns [N, {k}] scores")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
