"""Turning notebook data (a DataFrame, a NumPy array, a list of records) into the model's
input tensors, from the signature alone — so that prediction from a fresh kernel, the
parity check at export and validation all feed the artifact the same way.

Two layouts (recorded in the signature as `layout`):
- "columns": one input per column, named after it, shape [N, 1]; numeric columns in the
  datatype the signature declares (FP64, or FP32 for float32 data), string/categorical
  columns BYTES (the layout skl2onnx uses for DataFrames);
- "matrix": one input holding all features, shape [N, F].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .tensors import NUMPY_OF


class InputError(ValueError):
    """The data does not fit the model's signature; the message names the feature."""


def as_frame(X: Any, feature_names: list[str] | None) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame().T if feature_names and X.index.isin(feature_names).all() else X.to_frame()
    if isinstance(X, list) and X and isinstance(X[0], dict):
        return pd.DataFrame.from_records(X)
    if isinstance(X, dict):
        return pd.DataFrame(X)
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    return pd.DataFrame(array, columns=feature_names if feature_names and len(feature_names) == array.shape[1] else None)


def row_count(X: Any) -> int:
    if hasattr(X, "shape"):
        return int(X.shape[0]) if len(X.shape) > 1 or isinstance(X, (pd.DataFrame, pd.Series)) else 1
    return len(X)


def slice_rows(X: Any, start: int, stop: int) -> Any:
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[start:stop]
    if isinstance(X, list):
        return X[start:stop]
    return X[start:stop]


def build_inputs(signature: dict, X: Any) -> dict[str, tuple[np.ndarray, str]]:
    """Tensors for the model, as {input name: (array, datatype)}."""
    inputs = signature["inputs"]
    if signature.get("layout") == "columns":
        frame = as_frame(X, [i["name"] for i in inputs])
        missing = [i["name"] for i in inputs if i["name"] not in frame.columns]
        if missing:
            raise InputError(
                f"the data has no column {', '.join(repr(m) for m in missing)}; the model takes "
                f"{', '.join(repr(i['name']) for i in inputs)}"
            )
        return {i["name"]: (_column(frame[i["name"]], i), i["datatype"]) for i in inputs}
    if len(inputs) != 1:
        if isinstance(X, dict):
            return {i["name"]: (_array(X[i["name"]], i), i["datatype"]) for i in inputs}
        raise InputError(f"the model takes {len(inputs)} inputs; pass a dict of arrays keyed by {[i['name'] for i in inputs]}")
    spec = inputs[0]
    if isinstance(X, (pd.DataFrame, list, dict)):
        frame = as_frame(X, signature.get("feature_names"))
        names = signature.get("feature_names")
        if names and all(n in frame.columns for n in names):
            frame = frame[names]
        X = frame.to_numpy()
    return {spec["name"]: (_array(X, spec), spec["datatype"])}


def _array(X: Any, spec: dict) -> np.ndarray:
    array = np.asarray(X)
    shape = spec["shape"]
    if array.ndim == len(shape) - 1:
        array = array.reshape(1, *array.shape)
    if array.ndim != len(shape) or any(d not in (-1, a) for d, a in zip(shape, array.shape)):
        pretty = "[" + ", ".join("N" if d == -1 else str(d) for d in shape) + "]"
        raise InputError(f"input {spec['name']!r} has shape {list(array.shape)}; the model expects {pretty}")
    if spec["datatype"] == "BYTES":
        return array.astype(object)
    try:
        return array.astype(NUMPY_OF[spec["datatype"]])
    except (TypeError, ValueError) as error:
        raise InputError(f"input {spec['name']!r} must be {spec['datatype']}: {error}") from None


def _column(series: pd.Series, spec: dict) -> np.ndarray:
    name = spec["name"]
    if spec["datatype"] == "BYTES":
        values = series.astype(object).where(series.notna(), None)
        # Missing categories travel as empty strings; the model's imputer decides what they mean.
        return np.array(["" if v is None else str(v) for v in values], dtype=object).reshape(-1, 1)
    numeric = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & numeric.isna()
    if bad.any():
        example = series[bad].iloc[0]
        raise InputError(
            f"feature {name!r} must be numeric ({spec['datatype']}); row {series.index[bad][0]!r} holds {example!r}"
        )
    return numeric.to_numpy(dtype=NUMPY_OF[spec["datatype"]], na_value=np.nan).reshape(-1, 1)
