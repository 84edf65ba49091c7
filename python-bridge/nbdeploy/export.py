"""`nd.export`: a fitted model to an artifact — ONNX conversion, then a parity check of the
native model against the ONNX model on sample rows (fed exactly as `predict` will feed
the service), the training profile, training metrics and lineage."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

from . import lineage as lineage_mod
from ._inputs import as_frame, build_inputs, slice_rows
from ._outputs import read_outputs
from ._training_metrics import training_scores
from .artifact import ModelArtifact
from .data_checks import pack_row_hashes
from .errors import NbdeployError
from .exporters import ExportedModel, to_onnx
from .profile import describe, profile_data

PARITY_ROWS = 1000
SCORE_TOLERANCE = 1e-5


class ParityError(NbdeployError):
    """The ONNX model does not reproduce the native model on the sample rows."""


def signature_of(exported: ExportedModel, X_sample: Any) -> dict[str, Any]:
    model = onnx.load_from_string(exported.onnx_bytes)
    inputs = [
        {"name": i.name, "datatype": i.datatype, "shape": list(i.shape), "categories": list(i.categories) if i.categories is not None else None}
        for i in exported.inputs
    ]
    columns = list(X_sample.columns) if isinstance(X_sample, pd.DataFrame) else None
    by_column = columns is not None and all(i["name"] in columns and i["shape"][1:] == [1] for i in inputs)
    feature_names = [str(c) for c in columns] if columns is not None else [f"x{i}" for i in range(np.asarray(X_sample).shape[1])] if np.asarray(X_sample).ndim == 2 else None
    return {
        "layout": "columns" if by_column else "matrix",
        "inputs": inputs,
        "outputs": [o.name for o in model.graph.output],
        "feature_names": feature_names,
        "task": exported.task,
        "classes": [c.item() if hasattr(c, "item") else c for c in exported.classes] if exported.classes is not None else None,
        "label_output": exported.label_output,
        "scores_output": exported.scores_output,
        "value_output": exported.value_output,
        "library": exported.library,
    }




def run_locally(onnx_bytes: bytes, signature: dict[str, Any], X: Any) -> dict[str, np.ndarray | None]:
    """The ONNX model in this process's onnxruntime, fed as the service would be fed."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    feeds = {name: array for name, (array, _) in build_inputs(signature, X).items()}
    names = [o.name for o in session.get_outputs()]
    return read_outputs(signature, dict(zip(names, session.run(names, feeds))))


def same_labels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise equality of class labels: numbers (and booleans, which ONNX carries as 0/1)
    compare as numbers, anything else as text."""
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return a == b
    return a.astype(str) == b.astype(str)


def check_parity(exported: ExportedModel, signature: dict[str, Any], X_sample: Any, model_name: str, rows: int = PARITY_ROWS) -> dict[str, Any]:
    X = slice_rows(X_sample, 0, rows)
    n = len(as_frame(X, signature.get("feature_names")))
    report: dict[str, Any] = {"rows": n, "tolerance": SCORE_TOLERANCE, "checked": exported.native_predict is not None}
    if exported.native_predict is None:
        return report
    onnx_out = run_locally(exported.onnx_bytes, signature, X)
    bad: np.ndarray
    if signature["task"] == "classification":
        native_labels, native_scores = exported.native_predict(X)
        labels_equal = same_labels(np.asarray(onnx_out["labels"]), np.asarray(native_labels).reshape(-1))
        diff = np.abs(np.asarray(onnx_out["scores"]) - np.asarray(native_scores, dtype=float)).max(axis=1) if native_scores is not None else np.zeros(n)
        bad = np.flatnonzero(~labels_equal | (diff > SCORE_TOLERANCE))
        report.update({"labels_equal": bool(labels_equal.all()), "max_score_diff": float(diff.max()) if n else 0.0})
        detail = "labels differ or scores differ by more than 1e-5"
    else:
        native = np.asarray(exported.native_predict(X), dtype=float).reshape(np.asarray(onnx_out["values"]).shape)
        diff = np.abs(np.asarray(onnx_out["values"]) - native)
        allowed = SCORE_TOLERANCE * np.maximum(1.0, np.abs(native))
        over = diff > allowed
        bad = np.flatnonzero(over if over.ndim == 1 else over.any(axis=1))
        report.update({"max_abs_diff": float(diff.max()) if n else 0.0})
        detail = "predictions differ by more than 1e-5 (relative to values above 1)"
    report["passed"] = len(bad) == 0
    if len(bad):
        shown = ", ".join(str(i) for i in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise ParityError(
            f"the ONNX export of {model_name} does not match the native model "
            f"on {len(bad)} of {n} sample rows ({detail}): rows {shown}"
        )
    return report


def export(
    model: Any,
    X_sample: Any,
    name: str,
    y: Any = None,
    *,
    card: dict[str, Any] | None = None,
    categorical: list[str] | None = None,
) -> ModelArtifact:
    """Exports a fitted model (scikit-learn, PyTorch, LightGBM, or an ONNX file / bytes) to an artifact."""
    if isinstance(X_sample, list) and X_sample and isinstance(X_sample[0], dict):
        X_sample = pd.DataFrame.from_records(X_sample)
    exported = to_onnx(model, X_sample, y)
    signature = signature_of(exported, X_sample)
    parity = check_parity(exported, signature, X_sample, type(model).__name__)
    frame = as_frame(X_sample, signature["feature_names"])
    categorical_inputs = {i["name"] for i in signature["inputs"] if i["datatype"] == "BYTES"} | set(categorical or [])
    profile = profile_data(frame, categorical_inputs)
    profile["row_hashes"] = pack_row_hashes(frame)
    training_metrics: dict[str, Any] = {}
    predictions = run_locally(exported.onnx_bytes, signature, slice_rows(X_sample, 0, 10_000))
    if signature["task"] == "classification" and predictions["labels"] is not None:
        profile["prediction"] = describe(pd.Series(predictions["labels"]).astype(str), categorical=True)
    elif predictions["values"] is not None:
        profile["prediction"] = describe(np.asarray(predictions["values"]).reshape(-1), categorical=False)
    if y is not None:
        y_arr = np.asarray(y).reshape(-1)
        profile["label"] = describe(pd.Series(y_arr).astype(str) if signature["task"] == "classification" else y_arr, categorical=signature["task"] == "classification")
        full = run_locally(exported.onnx_bytes, signature, X_sample)
        training_metrics = training_scores(signature, y_arr, full)
    return ModelArtifact(
        name=name,
        onnx_bytes=exported.onnx_bytes,
        signature=signature,
        profile=profile,
        training_metrics=training_metrics,
        parity=parity,
        lineage=lineage_mod.lineage(X_sample),
        card=dict(card or {}),
    )
