"""An ONNX model given as a file path, bytes or an onnx.ModelProto: passed through as it
is. Its inputs come from the graph; its meaning from nbdeploy's own metadata when
nbdeploy exported it, else from the outputs:
- an output named "label" / "probabilities" (or an INT64 / STRING output) makes it a
  classifier; "probabilities" (or the first other float output of rank 2) is the scores;
- otherwise it is a regressor whose value is "prediction", "variable" or the first output.
There is no native model to compare with, so native_predict is None.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import numpy as np
import onnx
import pandas as pd

from ._graph import OIP_DATATYPE, text
from ._types import ExportedModel, InputSpec, OutputSpec, UnsupportedModelError

NUMPY_OF = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "BYTES": object,
}


def is_onnx(model: Any) -> bool:
    if isinstance(model, onnx.ModelProto):
        return True
    if isinstance(model, (bytes, bytearray, memoryview)):
        return True
    return isinstance(model, (str, os.PathLike)) and str(model).lower().endswith(".onnx")


def _load(model: Any) -> tuple[onnx.ModelProto, bytes]:
    if isinstance(model, onnx.ModelProto):
        return model, model.SerializeToString()
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        return onnx.load_from_string(data), data
    path = os.fspath(model)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no ONNX file at {path}")
    # External data stays where it is: the bytes are the model file itself, passed through.
    proto = onnx.load(path, load_external_data=False)
    with open(path, "rb") as f:
        return proto, f.read()


def _spec(value: onnx.ValueInfoProto, role: str) -> tuple[str, str, tuple[int, ...]]:
    t = value.type
    if not t.HasField("tensor_type"):
        raise UnsupportedModelError(
            f"the ONNX model's {role} {value.name!r} is not a tensor (a sequence or a map, e.g. from ZipMap); "
            "nbdeploy serves tensors: re-export it without ZipMap (skl2onnx: options={'zipmap': False})"
        )
    datatype = OIP_DATATYPE.get(t.tensor_type.elem_type)
    if datatype is None:
        raise UnsupportedModelError(f"the ONNX model's {role} {value.name!r} has element type {t.tensor_type.elem_type}, not an Open Inference Protocol datatype")
    shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.tensor_type.shape.dim)
    return value.name, datatype, shape


def export(model: Any) -> ExportedModel:
    proto, data = _load(model)
    initializers = {i.name for i in proto.graph.initializer}
    meta = {p.key[len("nbdeploy."):]: json.loads(p.value) for p in proto.metadata_props if p.key.startswith("nbdeploy.")}
    levels = meta.get("categories") or {}
    inputs = [
        InputSpec(name, datatype, shape, levels.get(name))
        for name, datatype, shape in (_spec(v, "input") for v in proto.graph.input if v.name not in initializers)
    ]
    outputs = [OutputSpec(*_spec(v, "output")) for v in proto.graph.output]
    names = {o.name: o for o in outputs}

    label = _first(outputs, lambda o: o.name == "label") or _first(outputs, lambda o: o.datatype in ("INT64", "BYTES"))
    scores = _first(outputs, lambda o: o.name == "probabilities") or (
        _first(outputs, lambda o: o is not label and o.datatype.startswith("FP") and len(o.shape) == 2) if label else None
    )
    task = meta.get("task") or ("classification" if label or "probabilities" in names else "regression")
    value = None
    if task == "regression":
        value = _first(outputs, lambda o: o.name in ("prediction", "variable")) or (outputs[0] if outputs else None)
    classes = meta.get("classes")
    return ExportedModel(
        onnx_bytes=data,
        inputs=inputs,
        outputs=outputs,
        task=task,
        classes=classes,
        label_output=label.name if task == "classification" and label else None,
        scores_output=scores.name if task == "classification" and scores else None,
        value_output=value.name if value else None,
        library="onnx",
        native_predict=None,
        _feeder=lambda X: feeds(inputs, X),
    )


def _first(items: list[OutputSpec], test: Any) -> Optional[OutputSpec]:
    return next((o for o in items if test(o)), None)


def feeds(inputs: list[InputSpec], X: Any) -> dict[str, np.ndarray]:
    """A dict of arrays by input name; a DataFrame / records by column when every input is a
    column; otherwise one array for a model with one input."""
    if isinstance(X, dict) and all(i.name in X for i in inputs) and not isinstance(X, pd.DataFrame):
        return {i.name: _as(np.asarray(X[i.name]), i) for i in inputs}
    if isinstance(X, list) and X and isinstance(X[0], dict):
        X = pd.DataFrame.from_records(X)
    if isinstance(X, pd.DataFrame) and all(i.name in X.columns for i in inputs):
        return {i.name: _as(_column(X[i.name], i), i) for i in inputs}
    if len(inputs) != 1:
        raise ValueError(f"the ONNX model takes {len(inputs)} inputs {[i.name for i in inputs]}: pass a dict of arrays or a DataFrame with those columns")
    spec = inputs[0]
    array = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
    return {spec.name: _as(array, spec)}


def _column(values: pd.Series, spec: InputSpec) -> np.ndarray:
    array = np.array([text(v) for v in values.astype(object)], dtype=object) if spec.datatype == "BYTES" else pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return array.reshape(-1, 1) if len(spec.shape) == 2 else array


def _as(array: np.ndarray, spec: InputSpec) -> np.ndarray:
    if spec.datatype == "BYTES":
        return np.array([text(v) for v in array.reshape(-1)], dtype=object).reshape(array.shape)
    return array.astype(NUMPY_OF[spec.datatype])
