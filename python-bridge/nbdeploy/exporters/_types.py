"""What an export produces, and the error for models it cannot convert."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class UnsupportedModelError(TypeError):
    """The model (or one of its steps) has no ONNX converter, or uses an option the
    converter refuses. The message names the class and says what is supported."""


@dataclass(frozen=True)
class InputSpec:
    """One model input. `datatype` is the Open Inference Protocol name ("FP64", "FP32",
    "BYTES", ...): numeric inputs of tabular models are FP64, or FP32 where the sample's
    data was float32; `shape` has -1 for the batch dimension; `categories` lists the
    levels of a categorical input (None for numeric inputs)."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    categories: Optional[list[Any]] = None


@dataclass(frozen=True)
class OutputSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass
class ExportedModel:
    """An ONNX model plus what is needed to feed it and to compare it with the native model.

    `native_predict(X)` returns `(labels, scores)` for classifiers and `values` for
    regressors, from the fitted model itself; it is None for an ONNX model passed in.
    """

    onnx_bytes: bytes
    inputs: list[InputSpec]
    outputs: list[OutputSpec]
    task: str
    classes: Optional[list[Any]]
    label_output: Optional[str]
    scores_output: Optional[str]
    value_output: Optional[str]
    library: str
    native_predict: Optional[Callable[[Any], Any]] = None
    _feeder: Optional[Callable[[Any], dict]] = field(default=None, repr=False)

    def feeds(self, X: Any) -> dict:
        """onnxruntime feeds for X (data of the same kind as the export's sample): numeric
        inputs in their declared datatype (FP64 -> float64, FP32 -> float32) with NaN for
        missing values, BYTES inputs numpy object arrays of str with "" for missing values."""
        assert self._feeder is not None
        return self._feeder(X)
