"""The input side of a tabular model (scikit-learn, LightGBM): which ONNX inputs it takes,
how notebook data becomes feeds, and what the native model is given for the parity check.

Like skl2onnx: a model fitted on a DataFrame (it has `feature_names_in_`) takes one input
per column, named after it, shape [N, 1]; string / categorical / object columns are
BYTES (missing values as ""). A model fitted on an array takes one input "input" of shape
[N, n_features].

Numeric inputs carry the data's own precision, so the graph starts from exactly the values
the native model is given: a column (or the matrix) that is float32 in the sample is FP32;
float64, integer and bool data are FP64 (DOUBLE), which holds every float64 and every
integer up to 2^53 exactly. Inside the graph both become DOUBLE (FP32 exactly); where the
library itself rounds to float32 (scikit-learn's trees, float32 data through a scaler,
LightGBM reading an integer array) the converters round as it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from ._graph import DOUBLE, FLOAT, STRING, Block, Graph, Table, text
from ._types import InputSpec, UnsupportedModelError

MATRIX_INPUT = "input"
ELEMENT_TYPE = {"FP64": DOUBLE, "FP32": FLOAT, "BYTES": STRING}
NUMPY_TYPE = {"FP64": np.float64, "FP32": np.float32}


def as_data(X: Any) -> Any:
    """A DataFrame for records and dicts of columns; DataFrames and arrays as they are."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, dict) or (isinstance(X, list) and X and isinstance(X[0], dict)):
        return pd.DataFrame(X) if isinstance(X, dict) else pd.DataFrame.from_records(X)
    if isinstance(X, pd.Series):
        return X.to_frame()
    return np.asarray(X)


def is_text_column(values: Any) -> bool:
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            return True
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            return False
        return True
    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return False
    return any(isinstance(v, (str, bytes)) for v in array.ravel())


def numeric_datatype(dtype: Any) -> str:
    """FP32 for float32 data (numpy's or pandas' nullable Float32), FP64 for the rest:
    float64, integers, booleans (and anything else numeric the native model reads as
    float64)."""
    return "FP32" if getattr(dtype, "kind", None) == "f" and getattr(dtype, "itemsize", 0) == 4 else "FP64"


def is_small(dtype: Any) -> bool:
    """Numbers float32 holds exactly and numpy keeps as float32 next to float32 (bool, 8-
    and 16-bit integers, float16): a frame of them and float32 columns is a float32 array."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf" and dtype != np.float32 and np.result_type(dtype, np.float32) == np.float32


def feature_names(model: Any) -> Optional[list[str]]:
    try:
        names = model.feature_names_in_
    except AttributeError:  # LightGBM raises when it was fitted on an array
        return None
    return [str(n) for n in names] if names is not None else None


@dataclass
class TabularLayout:
    columns: Optional[list[str]]  # one input per column, or None: one "input" matrix
    datatypes: list[str]  # per column: "FP64", "FP32" (float32 in the sample) or "BYTES"
    sample_levels: dict[str, list[str]] = field(default_factory=dict)
    integers: bool = False  # the matrix sample is an integer / bool array (LightGBM reads it as float32)
    small: list[bool] = field(default_factory=list)  # per column: see is_small

    @property
    def n_features(self) -> int:
        return len(self.datatypes)

    @property
    def matrix_datatype(self) -> str:
        """The datatype of the "input" matrix (one for all its columns)."""
        return self.datatypes[0] if self.datatypes else "FP64"

    @classmethod
    def of(cls, model: Any, X_sample: Any) -> "TabularLayout":
        X = as_data(X_sample)
        names = feature_names(model)
        if names is None:
            if isinstance(X, pd.DataFrame):
                text_cols = [c for c in X.columns if is_text_column(X[c])]
                if text_cols:
                    raise UnsupportedModelError(
                        f"{type(model).__qualname__} was fitted without column names but the sample has "
                        f"string columns {text_cols[:5]}; fit it on a DataFrame so that each column becomes an input"
                    )
            array = np.asarray(X)  # what native() gives the model
            if array.ndim != 2:
                raise ValueError(f"X_sample must be 2-dimensional (rows x features); got shape {array.shape}")
            if array.dtype.kind not in "biuf" and is_text_column(array):
                raise UnsupportedModelError(
                    f"{type(model).__qualname__} was fitted on an array holding strings; fit it on a DataFrame "
                    "so that each column becomes an input (numeric FP64 or FP32, strings BYTES)"
                )
            return cls(None, [numeric_datatype(array.dtype)] * array.shape[1], integers=array.dtype.kind in "biu")
        if isinstance(X, pd.DataFrame):
            missing = [n for n in names if n not in X.columns]
            if missing and len(X.columns) == len(names):
                # LightGBM reports its own spelling of the names ("mean radius" ->
                # "mean_radius") and reads columns by position: keep the DataFrame's names
                names = [str(c) for c in X.columns]
            elif missing:
                raise ValueError(f"X_sample has no column {missing[:5]}; the model was fitted on {names}")
            frame = X[names]
        else:
            array = np.asarray(X)
            if array.ndim != 2 or array.shape[1] != len(names):
                raise ValueError(f"X_sample must have the {len(names)} columns the model was fitted on: {names}")
            frame = pd.DataFrame(array, columns=names)
        texts = [is_text_column(frame[n]) for n in names]
        levels = {n: sample_levels(frame[n]) for n, t in zip(names, texts) if t}
        datatypes = ["BYTES" if t else numeric_datatype(frame[n].dtype) for n, t in zip(names, texts)]
        small = [not t and is_small(frame[n].dtype) for n, t in zip(names, texts)]
        return cls(names, datatypes, levels, small=small)

    def declare(self, g: Graph) -> Table:
        """The graph inputs, and the table they start: numeric columns as DOUBLE (FP32
        inputs cast, exactly), string columns as they are."""
        if self.columns is None:
            name = g.input(MATRIX_INPUT, ELEMENT_TYPE[self.matrix_datatype], [None, self.n_features])
            single = self.matrix_datatype == "FP32"
            x = g.cast(name, DOUBLE, "x") if single else name
            return Table([Block(x, self.n_features, False, (None,) * self.n_features, single=single, integers=self.integers)])
        # every input first: a tensor made below must not take a column's name
        for column, datatype in zip(self.columns, self.datatypes):
            g.input(column, ELEMENT_TYPE[datatype], [None, 1])
        blocks = []
        for column, datatype, small in zip(self.columns, self.datatypes, self.small or [False] * self.n_features):
            if datatype == "BYTES":
                blocks.append(Block(column, 1, True, (column,)))
            elif datatype == "FP32":
                blocks.append(Block(g.cast(column, DOUBLE, "x"), 1, False, (column,), single=True))
            else:
                blocks.append(Block(column, 1, False, (column,), small=small))
        return Table(blocks)

    def input_specs(self, g: Graph) -> list[InputSpec]:
        if self.columns is None:
            return [InputSpec(MATRIX_INPUT, self.matrix_datatype, (-1, self.n_features))]
        return [
            InputSpec(c, "BYTES", (-1, 1), g.levels.get(c, self.sample_levels.get(c)))
            if datatype == "BYTES"
            else InputSpec(c, datatype, (-1, 1))
            for c, datatype in zip(self.columns, self.datatypes)
        ]

    def feeds(self, X: Any) -> dict[str, np.ndarray]:
        """onnxruntime feeds: numbers as each input's datatype (NaN for missing values),
        strings as object arrays of str ("" for missing values)."""
        X = as_data(X)
        if self.columns is None:
            dtype = NUMPY_TYPE[self.matrix_datatype]
            if isinstance(X, pd.DataFrame):
                return {MATRIX_INPUT: X.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=dtype, na_value=np.nan)}
            return {MATRIX_INPUT: np.asarray(X, dtype=dtype).reshape(-1, self.n_features)}
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X), columns=self.columns)
        out = {}
        for column, datatype in zip(self.columns, self.datatypes):
            values = frame[column]
            if datatype == "BYTES":
                out[column] = np.array([text(v) for v in values.astype(object)], dtype=object).reshape(-1, 1)
            else:
                numeric = pd.to_numeric(values, errors="coerce")
                out[column] = numeric.to_numpy(dtype=NUMPY_TYPE[datatype], na_value=np.nan).reshape(-1, 1)
        return out

    def native(self, X: Any) -> Any:
        """X as the fitted model expects it (a DataFrame of its columns, or an array)."""
        X = as_data(X)
        if self.columns is None:
            return X.to_numpy() if isinstance(X, pd.DataFrame) else X
        return X[self.columns] if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.columns)


def sample_levels(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [text(c) for c in values.dtype.categories]
    return sorted({text(v) for v in values.astype(object)} - {""})
