"""A small ONNX graph builder, the table of columns that flows between pipeline steps,
and the output heads every converter ends with.

Numeric columns travel through the graph as DOUBLE: scikit-learn transforms in float64,
so doing the same keeps a scaler or an encoder bit-for-bit equal to scikit-learn, and a
tree after them sees the same float32 values scikit-learn's tree sees. Inputs carry the
data's own precision (_tabular: FP64, or FP32 for float32 data, which is cast to DOUBLE
exactly), so the graph starts from the very values the native model is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper

from ._types import OutputSpec, UnsupportedModelError

OPSET = 17
ML_OPSET = 3
IR_VERSION = 8  # what onnxruntime(-node) 1.30 loads for sure; onnx 1.23 would write a newer IR

OUTPUT_NAMES = ("label", "probabilities", "prediction")
DOUBLE, FLOAT, INT64, STRING, BOOL = TensorProto.DOUBLE, TensorProto.FLOAT, TensorProto.INT64, TensorProto.STRING, TensorProto.BOOL
OIP_DATATYPE = {
    TensorProto.BOOL: "BOOL",
    TensorProto.UINT8: "UINT8",
    TensorProto.UINT16: "UINT16",
    TensorProto.UINT32: "UINT32",
    TensorProto.UINT64: "UINT64",
    TensorProto.INT8: "INT8",
    TensorProto.INT16: "INT16",
    TensorProto.INT32: "INT32",
    TensorProto.INT64: "INT64",
    TensorProto.FLOAT16: "FP16",
    TensorProto.FLOAT: "FP32",
    TensorProto.DOUBLE: "FP64",
    TensorProto.STRING: "BYTES",
}


def text(value: Any) -> str:
    """How a categorical value travels in a BYTES tensor: as str, with "" for missing."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


class Graph:
    """Nodes, constants, inputs and outputs of one ONNX graph, with unique names."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.output_specs: list[OutputSpec] = []
        self.levels: dict[str, list[Any]] = {}  # input name -> categories an encoder knows
        self.task: Optional[str] = None
        self.classes: Optional[list[Any]] = None
        self._used: dict[str, int] = {}  # hint -> next suffix
        self._taken: set[str] = set(OUTPUT_NAMES)  # every tensor name in use (or reserved)

    def unique(self, hint: str) -> str:
        n = self._used.get(hint, 0)
        name = hint if n == 0 else f"{hint}_{n}"
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._used[hint] = n + 1
        self._taken.add(name)
        return name

    def take(self, names: Sequence[str]) -> None:
        """Marks names as used (tensors that came from elsewhere, e.g. torch's export)."""
        self._taken.update(names)

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        array = np.asarray(value, dtype=dtype)
        if array.dtype.kind in "OUS":
            array = np.array([text(v) for v in array.reshape(-1)], dtype=object).reshape(array.shape)
        name = self.unique(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, hint: Optional[str] = None, outputs: int = 1, domain: str = "", **attrs: Any):
        names = [self.unique(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, domain=domain or None, **attrs))
        return names[0] if outputs == 1 else names

    def ml(self, op_type: str, *inputs: str, hint: Optional[str] = None, **attrs: Any) -> str:
        return self.op(op_type, *inputs, hint=hint, domain="ai.onnx.ml", **attrs)

    def cast(self, x: str, to: int, hint: Optional[str] = None) -> str:
        return self.op("Cast", x, to=to, hint=hint or "cast")

    def input(self, name: str, elem_type: int, shape: Sequence[Optional[int]]) -> str:
        if name in self._taken:
            raise ValueError(f"an input cannot be named {name!r}: {', '.join(OUTPUT_NAMES)} are the model's outputs; rename the column")
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        self._taken.add(name)
        return name

    def output(self, name: str, tensor: str, elem_type: int, shape: Sequence[Optional[int]]) -> None:
        self.nodes.append(helper.make_node("Identity", [tensor], [name]))
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        self.output_specs.append(OutputSpec(name, OIP_DATATYPE[elem_type], tuple(-1 if d is None or isinstance(d, str) else d for d in shape)))

    def model(self, metadata: dict[str, Any]) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        opsets = [helper.make_opsetid("", OPSET)]
        if any(n.domain == "ai.onnx.ml" for n in self.nodes):
            opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
        model = helper.make_model(graph, opset_imports=opsets, producer_name="nbdeploy")
        model.ir_version = IR_VERSION
        # The signature travels inside the file, so an exported ONNX file passed back in
        # (onnx_models) keeps its task, classes and categories.
        helper.set_model_props(model, {f"nbdeploy.{k}": json.dumps(v) for k, v in metadata.items()})
        onnx.checker.check_model(model, full_check=True)
        return model

    # -- output heads: every converter ends with one of these ---------------------------

    def classifier(self, probabilities: str, label_index: str, classes: Sequence[Any]) -> None:
        """`probabilities` DOUBLE [N, K] -> FP32 output; `label_index` INT64 [N] -> the class
        label itself (INT64 or STRING), picked from the classes by a Gather."""
        labels, elem_type = class_labels(classes)
        k = len(labels)
        self.output("probabilities", self.cast(probabilities, FLOAT), FLOAT, [None, k])
        table = self.const(np.array(labels, dtype=object if elem_type == STRING else np.int64), "classes")
        self.output("label", self.op("Gather", table, label_index, axis=0), elem_type, [None])
        self.task, self.classes = "classification", labels

    def regressor(self, values: str, n_targets: int) -> None:
        """`values` [N, k] (DOUBLE or FLOAT) -> FP32 "prediction", [N] for one target."""
        out = self.cast(values, FLOAT)
        if n_targets == 1:
            out = self.op("Reshape", out, self.const(np.array([-1], np.int64), "shape_n"))
            self.output("prediction", out, FLOAT, [None])
        else:
            self.output("prediction", out, FLOAT, [None, n_targets])
        self.task, self.classes = "regression", None

    # -- small numeric helpers shared by the converters --------------------------------

    def argmax(self, x: str) -> str:
        # ArgMax keeps the first maximum, as numpy.argmax does.
        return self.op("ArgMax", x, axis=1, keepdims=0, select_last_index=0, hint="label_index")

    def binary_probabilities(self, p1: str) -> str:
        """[N, 1] probability of the second class -> [N, 2] (1 - p, p), as scikit-learn."""
        p0 = self.op("Sub", self.const(np.array([[1.0]]), "one"), p1)
        return self.op("Concat", p0, p1, axis=1, hint="proba")

    def positive_index(self, score: str, strict: bool) -> str:
        """[N, 1] score -> INT64 [N]: 1 where score > 0 (strict) or >= 0."""
        zero = self.const(np.array([[0.0]]), "zero")
        flag = self.op("Greater" if strict else "GreaterOrEqual", score, zero)
        flag = self.op("Reshape", self.cast(flag, INT64), self.const(np.array([-1], np.int64), "shape_n"))
        return flag


def class_labels(classes: Sequence[Any]) -> tuple[list[Any], int]:
    """Class labels as python ints (INT64 output) or strs (STRING output)."""
    array = np.asarray(classes)
    if array.dtype.kind in "iub":
        return [int(c) for c in array], INT64
    if array.dtype.kind == "f":
        if np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            return [int(c) for c in array], INT64
        raise UnsupportedModelError(
            f"class labels {list(array)[:5]} are fractional numbers; nbdeploy's label output is "
            "INT64 or BYTES: train on integer or string labels"
        )
    values = [c.item() if isinstance(c, np.generic) else c for c in array.tolist()]
    if all(isinstance(c, (int, bool)) for c in values):
        return [int(c) for c in values], INT64
    return [text(c) for c in values], STRING


@dataclass(frozen=True)
class Block:
    """Some adjacent columns held in one tensor [N, width]: DOUBLE, or STRING when `text`.
    `sources` names, per column, the graph input the column still equals (None once a
    step has changed it): encoders use it to record the levels an input may take.
    `single`: scikit-learn holds these columns as float32 (an FP32 input: the sample was
    float32, and no step has made it float64), so its float arithmetic rounds to float32
    after each step. `small`: values of a dtype float32 holds exactly (bool, 8- and 16-bit
    integers, float16, missing-value indicators), which numpy keeps float32 next to float32
    columns. `integers`: still the integer (or bool) array of the sample, which LightGBM
    reads as float32 (scikit-learn as float64)."""

    name: str
    width: int
    text: bool
    sources: tuple[Optional[str], ...]
    single: bool = False
    integers: bool = False
    small: bool = False


class Table:
    """The data between two pipeline steps: an ordered list of blocks. Steps that work on
    columns select them; estimators take one DOUBLE matrix."""

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = list(blocks)

    @property
    def width(self) -> int:
        return sum(b.width for b in self.blocks)

    @property
    def has_text(self) -> bool:
        return any(b.text for b in self.blocks)

    @property
    def single(self) -> bool:
        """scikit-learn sees this table as a float32 array: numpy's common type of its
        parts is float32 when some are float32 and the others small (see Block)."""
        return any(b.single for b in self.blocks) and all((b.single or b.small) and not b.text for b in self.blocks)

    @property
    def integers(self) -> bool:
        """The data is still the sample's integer (or bool) array, as it came in."""
        return bool(self.blocks) and all(b.integers and not b.text for b in self.blocks)

    def locate(self, j: int) -> tuple[Block, int]:
        for b in self.blocks:
            if j < b.width:
                return b, j
            j -= b.width
        raise IndexError(j)

    def select(self, g: Graph, indices: Sequence[int]) -> "Table":
        """The columns at `indices`, in that order (a run of columns from one block becomes
        one Gather, or the block itself when the run is the whole block)."""
        runs: list[tuple[Block, list[int]]] = []
        for j in indices:
            block, i = self.locate(int(j))
            if runs and runs[-1][0] is block:
                runs[-1][1].append(i)
            else:
                runs.append((block, [i]))
        out = []
        for block, cols in runs:
            if cols == list(range(block.width)):
                out.append(block)
            else:
                name = g.op("Gather", block.name, g.const(np.array(cols, np.int64), "cols"), axis=1, hint="select")
                out.append(replace(block, name=name, width=len(cols), sources=tuple(block.sources[c] for c in cols)))
        return Table(out)

    def columns(self, g: Graph) -> list[Block]:
        """Every column as its own [N, 1] block (for steps that work column by column)."""
        return self.select(g, range(self.width)).split(g)

    def split(self, g: Graph) -> list[Block]:
        out = []
        for b in self.blocks:
            if b.width == 1:
                out.append(b)
            else:
                out.extend(self._one(g, b, i) for i in range(b.width))
        return out

    @staticmethod
    def _one(g: Graph, b: Block, i: int) -> Block:
        name = g.op("Gather", b.name, g.const(np.array([i], np.int64), "col"), axis=1, hint="column")
        return replace(b, name=name, width=1, sources=(b.sources[i],))

    def matrix(self, g: Graph, who: Any) -> str:
        """All columns as one DOUBLE tensor [N, width]."""
        if self.has_text:
            raise UnsupportedModelError(
                f"{type(who).__module__}.{type(who).__qualname__} receives string columns; "
                "encode them first (e.g. OneHotEncoder or OrdinalEncoder in a ColumnTransformer)"
            )
        if len(self.blocks) == 1:
            return self.blocks[0].name
        return g.op("Concat", *[b.name for b in self.blocks], axis=1, hint="features")


def numeric_block(g: Graph, name: str, width: int, single: bool = False, small: bool = False) -> Block:
    return Block(name, width, False, (None,) * width, single, small=small)


def round_to_float32(g: Graph, x: str) -> str:
    """DOUBLE -> DOUBLE holding the nearest float32 (what a float32 array would store)."""
    return g.cast(g.cast(x, FLOAT, "x32"), DOUBLE, "x32_as_double")
