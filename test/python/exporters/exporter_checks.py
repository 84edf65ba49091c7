"""Helpers for the exporter tests: the parity check nd.export applies, the data
builders, and the format contract. (A module of its own rather than conftest, so that
`import` finds it whatever other conftest.py files the test tree holds.)

Parity is what nd.export checks: on up to 1,000 rows, labels equal exactly, scores
within 1e-5 absolute, regression values within 1e-5 relative (absolute below 1). Every
check records its worst differences; conftest's terminal summary prints them per family.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

TOLERANCE = 1e-5
PARITY_ROWS = 1000
WORST: dict[str, dict[str, float]] = {}


def run_onnx(exported, X) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(exported.onnx_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, exported.feeds(X))))


def assert_parity(exported, X, family: str) -> dict[str, float]:
    """Native vs ONNX on up to 1,000 rows of X, with nd.export's tolerances."""
    X = X.iloc[:PARITY_ROWS] if isinstance(X, pd.DataFrame) else X[:PARITY_ROWS]
    out = run_onnx(exported, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        native = exported.native_predict(X)
    worst = WORST.setdefault(family, {"rows": 0, "score_abs": 0.0, "value_rel": 0.0, "label_mismatches": 0})
    worst["rows"] += len(X)
    if exported.task == "classification":
        labels, scores = native
        onnx_labels = out[exported.label_output]
        onnx_scores = out[exported.scores_output]
        assert onnx_scores.dtype == np.float32 and onnx_scores.shape == (len(X), len(exported.classes))
        mismatches = int(np.sum(onnx_labels.astype(str) != np.asarray(labels).astype(str)))
        diff = float(np.abs(onnx_scores.astype(np.float64) - np.asarray(scores, dtype=np.float64)).max())
        worst["label_mismatches"] += mismatches
        worst["score_abs"] = max(worst["score_abs"], diff)
        assert list(onnx_labels.tolist()) == [c.item() if hasattr(c, "item") else c for c in np.asarray(labels)], f"{mismatches} labels differ"
        assert diff <= TOLERANCE, f"scores differ by {diff:.3g}"
        return {"score_abs": diff}
    values = np.asarray(native, dtype=np.float64)
    onnx_values = out[exported.value_output].astype(np.float64)
    assert onnx_values.shape == values.shape
    rel = float((np.abs(onnx_values - values) / np.maximum(1.0, np.abs(values))).max())
    worst["value_rel"] = max(worst["value_rel"], rel)
    assert rel <= TOLERANCE, f"values differ by {rel:.3g} (relative, absolute below 1)"
    return {"value_rel": rel}


def with_strings_and_gaps(frame: pd.DataFrame, source: str, seed_column: str) -> pd.DataFrame:
    """frame plus a string column "region" (derived from `source`, some missing) and a
    "grade" string column, with NaNs injected deterministically into two numeric columns."""
    out = frame.copy()
    bins = pd.qcut(out[source], 4, labels=False).to_numpy()
    out["region"] = pd.array(np.array(["north", "south", "east", "west"], dtype=object)[bins], dtype=object)
    out.loc[out.index[::13], "region"] = None
    out["grade"] = np.where(np.arange(len(out)) % 3 == 0, "a", np.where(np.arange(len(out)) % 3 == 1, "b", "c")).astype(object)
    numeric = [c for c in frame.columns if c != source]
    out.loc[out.index[::7], numeric[0]] = np.nan
    out.loc[out.index[3::11], seed_column] = np.nan
    return out


def unseen_rows(X: pd.DataFrame) -> pd.DataFrame:
    """A few rows with unseen categories, missing strings and missing numbers. (No empty
    strings: on the wire "" is how a missing string travels, so the graph reads "" as
    missing where the native model would see a new category.)"""
    rows = X.iloc[:6].copy()
    rows["region"] = ["atlantis", None, "north", np.nan, "south", "mars"]
    first_numeric = rows.select_dtypes("number").columns[0]
    rows.loc[rows.index[::2], first_numeric] = np.nan
    return rows


def check_format(exported) -> onnx.ModelProto:
    """The contract every export keeps: opset 17 (+ ai.onnx.ml 3), IR 8, plain tensors."""
    model = onnx.load_from_string(exported.onnx_bytes)
    assert model.ir_version == 8
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets[""] == 17 and opsets.get("ai.onnx.ml", 3) == 3
    assert all(o.type.HasField("tensor_type") for o in model.graph.output)
    assert not any(n.op_type == "ZipMap" for n in model.graph.node)
    return model
