"""LightGBM's scikit-learn models (LGBMClassifier, LGBMRegressor), read from
`booster_.dump_model()` into the shared tree-ensemble emitter.

How LightGBM routes a value (Tree::NumericalDecision / CategoricalDecision), and how the
graph reproduces it:
- missing_type "NaN": NaN goes to the default side -> nodes_missing_value_tracks_true =
  default_left;
- missing_type "None": NaN is read as 0.0 -> NaN goes where 0.0 goes (0 <= threshold);
- missing_type "Zero" (zero_as_missing): NaN and |x| <= 1e-35 go to the default side ->
  the split reads a derived column where those values are NaN, with NaN to the default side;
- categorical "==" splits: left iff int(x) is in the set; NaN and negatives go right.
Thresholds: LightGBM compares float64 features with float64 thresholds (dump_model writes
them to full precision), and so does the graph. A DataFrame reaches LightGBM as float64
(or as float32 when every column is exactly representable as float32: the same values);
a non-float array it reads as float32, so for an integer array sample the graph rounds
the features to float32 first.
Pandas categorical columns arrive as strings and become LightGBM's codes (the position
in the training categories, NaN when unknown), as LightGBM's own pandas handling does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._graph import DOUBLE, Graph, Table, numeric_block
from ._trees import Tree, ensemble, float32_features
from ._types import UnsupportedModelError
from .sklearn_preprocessing import remember_levels, text_keys

ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float literal)
IDENTITY_OBJECTIVES = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}
EXP_OBJECTIVES = {"poisson", "gamma", "tweedie"}


def _objective(dump: dict) -> tuple[str, dict[str, str]]:
    name, *rest = str(dump.get("objective", "")).split()
    params = dict(p.split(":", 1) if ":" in p else (p, "") for p in rest)
    return name, params


def _flatten(root: dict, n_features: int, zero_columns: dict[int, int]) -> Tree:
    """One dumped tree (nested dicts) as flat arrays, nodes numbered in preorder."""
    nodes: list[dict] = []
    stack = [root]
    parents: list[tuple[int, str]] = []  # (child's parent id, "left"/"right") in stack order
    left, right = [], []
    while stack:
        node = stack.pop()
        i = len(nodes)
        nodes.append(node)
        left.append(-1)
        right.append(-1)
        if parents:
            parent, side = parents.pop()
            (left if side == "left" else right)[parent] = i
        if "split_index" in node:
            stack.extend([node["right_child"], node["left_child"]])
            parents.extend([(i, "right"), (i, "left")])
    n = len(nodes)
    feature = np.zeros(n, np.int64)
    threshold = np.zeros(n)
    nan_left = np.zeros(n, bool)
    values = np.zeros((n, 1))
    sets = {}
    for i, node in enumerate(nodes):
        if "split_index" not in node:
            if "leaf_coeff" in node or "leaf_features" in node:
                raise UnsupportedModelError("LightGBM linear trees (linear_tree=True) are not supported")
            values[i, 0] = float(node["leaf_value"])
            continue
        f = int(node["split_feature"])
        feature[i] = f
        if node["decision_type"] == "==":
            cats = frozenset(int(c) for c in str(node["threshold"]).split("||"))
            sets[i] = (cats, True)
            continue
        if node["decision_type"] != "<=":
            raise UnsupportedModelError(f"LightGBM split type {node['decision_type']!r} is not supported")
        threshold[i] = float(node["threshold"])
        missing = node.get("missing_type", "None")
        if missing == "NaN":
            nan_left[i] = bool(node["default_left"])
        elif missing == "Zero":
            feature[i] = zero_columns.setdefault(f, n_features + len(zero_columns))
            nan_left[i] = bool(node["default_left"])
        else:
            nan_left[i] = 0.0 <= threshold[i]
    return Tree(np.array(left), np.array(right), feature, threshold, nan_left, values, [0], sets)


def _features(g: Graph, model: Any, table: Table) -> str:
    """The DOUBLE matrix LightGBM sees: pandas categorical columns as their codes."""
    categories = list(getattr(model.booster_, "pandas_categorical", None) or [])
    blocks, c = [], 0
    for column in table.columns(g) if table.has_text else table.blocks:
        if column.text:
            if c >= len(categories):
                raise UnsupportedModelError(f"column {column.sources[0]!r} holds strings but LightGBM saw no pandas categorical column for it")
            levels = categories[c]
            c += 1
            remember_levels(g, column, levels)
            code = g.ml("LabelEncoder", column.name, keys_strings=text_keys(levels), values_floats=[float(i) for i in range(len(levels))], default_float=float("nan"), hint="lgbm_code")
            blocks.append(numeric_block(g, g.cast(code, DOUBLE), 1))
        else:
            blocks.append(column)
    return Table(blocks).matrix(g, model)


def _raw_scores(g: Graph, model: Any, table: Table) -> tuple[str, dict, int]:
    dump = model.booster_.dump_model()
    per_iteration = int(dump.get("num_tree_per_iteration", 1))
    n_features = table.width
    zero_columns: dict[int, int] = {}
    trees = []
    for t, info in enumerate(dump["tree_info"]):
        tree = _flatten(info["tree_structure"], n_features, zero_columns)
        tree.targets = [t % per_iteration]
        trees.append(tree)
    if dump.get("average_output"):  # boosting="rf": the mean of the iterations
        iterations = max(1, len(trees) // per_iteration)
        for tree in trees:
            tree.values = tree.values / iterations
    x = _features(g, model, table)
    if table.integers:  # _np2d_to_np1d: an array that is not float32 / float64 becomes float32
        x = float32_features(g, x)
    if zero_columns:
        x = g.op("Concat", x, *(_zero_as_nan(g, x, f) for f, _ in sorted(zero_columns.items(), key=lambda kv: kv[1])), axis=1)
    raw = ensemble(g, x, n_features + len(zero_columns), trees, per_iteration)
    return g.cast(raw, DOUBLE, "raw"), dump, per_iteration


def _zero_as_nan(g: Graph, x: str, f: int) -> str:
    value = g.op("Gather", x, g.const(np.array([f], np.int64), "zero_feature"), axis=1)
    small = g.op("LessOrEqual", g.op("Abs", value), g.const(np.array([[ZERO_THRESHOLD]]), "zero_threshold"))
    missing = g.op("Or", small, g.op("IsNaN", value))
    return g.op("Where", missing, g.const(np.array([[np.nan]]), "nan"), value, hint="zero_as_missing")


def lgbm_classifier(g: Graph, model: Any, table: Table) -> None:
    raw, dump, _ = _raw_scores(g, model, table)
    name, params = _objective(dump)
    sigmoid = float(params.get("sigmoid", 1.0))
    if name == "binary":
        # predict_proba stacks (1 - p, p); predict is the argmax of that, ties to class 0
        scaled = g.op("Mul", raw, g.const(np.array([[sigmoid]]), "sigmoid"))
        proba = g.binary_probabilities(g.op("Sigmoid", scaled))
    elif name in ("multiclass", "softmax"):
        proba = g.op("Softmax", raw, axis=1)
    elif name in ("multiclassova", "multiclass_ova", "ova", "ovr"):
        proba = g.op("Sigmoid", g.op("Mul", raw, g.const(np.array([[sigmoid]]), "sigmoid")))
    else:
        raise UnsupportedModelError(f"LGBMClassifier with objective {name!r} is not supported (binary, multiclass and multiclassova are)")
    g.classifier(proba, g.argmax(proba), model.classes_)


def lgbm_regressor(g: Graph, model: Any, table: Table) -> None:
    raw, dump, k = _raw_scores(g, model, table)
    name, params = _objective(dump)
    if name in IDENTITY_OBJECTIVES and "sqrt" not in params:
        g.regressor(raw, k)
    elif name in EXP_OBJECTIVES:
        g.regressor(g.op("Exp", raw), k)
    else:
        raise UnsupportedModelError(
            f"LGBMRegressor with objective {dump.get('objective')!r} is not supported "
            f"({', '.join(sorted(IDENTITY_OBJECTIVES | EXP_OBJECTIVES))} are)"
        )
