"""The tree-ensemble emitter shared by scikit-learn's trees, forests, gradient boosting,
histogram gradient boosting and LightGBM: library-neutral trees in, one ai.onnx.ml
TreeEnsembleRegressor out (raw scores; converters add the link / probabilities).

Precision: the ensemble takes DOUBLE features with DOUBLE thresholds and leaf weights
(`*_as_tensor` attributes), so a split compares exactly what the library compares:
scikit-learn's trees, forests and GradientBoosting float32(x) <= a float64 threshold (the
converter rounds the features to float32 first, see float32_features);
HistGradientBoosting and LightGBM the float64 x <= a float64 threshold (their inputs
arrive as FP64, or as FP32 that the library casts to float64 exactly; LightGBM reads an integer
array as float32, where its converter rounds too). The leaves add up in float64;
onnxruntime's TreeEnsembleRegressor then rounds the sum to float32 once. (onnxruntime
only accepts double thresholds together with a double input.)

Category-set splits ("x in {1, 4, 7}", HistGradientBoosting and LightGBM) have no
equivalent in TreeEnsembleRegressor (BRANCH_EQ tests a single value), so each distinct
set becomes a 0/1 membership column — one-hot of the category times a 0/1 matrix — and
the split a BRANCH_LEQ on that column at 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from onnx import numpy_helper

from ._graph import DOUBLE, Graph, UnsupportedModelError, round_to_float32

MAX_CATEGORY = 1 << 16  # a one-hot wider than this is not worth it


def float32_features(g: Graph, x: str) -> str:
    """DOUBLE features rounded to float32 (and held as DOUBLE for the ensemble): what a
    library that casts X to float32 compares."""
    return round_to_float32(g, x)


@dataclass
class Tree:
    left: np.ndarray  # child node ids, -1 at leaves
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray  # float64; the split is x <= threshold -> left
    nan_left: np.ndarray  # bool: NaN goes left
    values: np.ndarray  # float64 [n_nodes, len(targets)], read at leaves
    targets: Sequence[int]
    # node -> (categories, True when those categories go left): a category-set split.
    # Values outside the set (NaN included) take the other branch.
    sets: dict[int, tuple[frozenset, bool]] = field(default_factory=dict)

    @property
    def is_leaf(self) -> np.ndarray:
        return self.left < 0


def ensemble(g: Graph, x: str, n_features: int, trees: Sequence[Tree], n_targets: int, base: Optional[np.ndarray] = None) -> str:
    """Sum over trees of their leaf values, plus `base` -> FLOAT [N, n_targets]."""
    base = np.zeros(n_targets) if base is None else np.asarray(base, dtype=np.float64).reshape(n_targets).copy()
    trees = _fold_base(list(trees), base)
    x, membership = _membership_columns(g, x, n_features, trees)

    t_ids, n_ids, feats, modes, thresholds, true_ids, false_ids, nan_true = ([] for _ in range(8))
    w_tree, w_node, w_target, weights = ([] for _ in range(4))
    for t, tree in enumerate(trees):
        n = len(tree.left)
        leaf = tree.is_leaf
        feature = np.where(leaf, 0, tree.feature).astype(np.int64)
        threshold = np.where(leaf, 0.0, tree.threshold).astype(np.float64)
        true_id = np.where(leaf, 0, tree.left).astype(np.int64)
        false_id = np.where(leaf, 0, tree.right).astype(np.int64)
        tracks = np.where(leaf, False, tree.nan_left).astype(np.int64)
        for node, (cats, go_left) in tree.sets.items():
            # member -> the set's branch; the membership column is 0 or 1, never NaN
            feature[node] = membership[(int(tree.feature[node]), cats)]
            threshold[node] = 0.5
            if go_left:
                true_id[node], false_id[node] = tree.right[node], tree.left[node]
            tracks[node] = 0
        t_ids.extend([t] * n)
        n_ids.extend(range(n))
        feats.extend(feature.tolist())
        modes.extend("LEAF" if is_leaf else "BRANCH_LEQ" for is_leaf in leaf)
        thresholds.append(threshold)
        true_ids.extend(true_id.tolist())
        false_ids.extend(false_id.tolist())
        nan_true.extend(tracks.tolist())
        leaves = np.flatnonzero(leaf)
        for j, target in enumerate(tree.targets):
            w_tree.extend([t] * len(leaves))
            w_node.extend(leaves.tolist())
            w_target.extend([int(target)] * len(leaves))
            weights.append(tree.values[leaves, j].astype(np.float64))

    attrs = dict(
        n_targets=n_targets,
        aggregate_function="SUM",
        post_transform="NONE",
        nodes_treeids=t_ids,
        nodes_nodeids=n_ids,
        nodes_featureids=feats,
        nodes_modes=modes,
        nodes_values_as_tensor=numpy_helper.from_array(np.concatenate(thresholds), "nodes_values"),
        nodes_truenodeids=true_ids,
        nodes_falsenodeids=false_ids,
        nodes_missing_value_tracks_true=nan_true,
        target_treeids=w_tree,
        target_nodeids=w_node,
        target_ids=w_target,
        target_weights_as_tensor=numpy_helper.from_array(np.concatenate(weights) if weights else np.zeros(0), "target_weights"),
    )
    if np.any(base != 0):  # only for targets no tree carries (see _fold_base)
        attrs["base_values"] = base.astype(np.float32).tolist()
    return g.ml("TreeEnsembleRegressor", x, hint="raw_scores", **attrs)


def _fold_base(trees: list[Tree], base: np.ndarray) -> list[Tree]:
    """Adds each target's base score to the leaves of the first tree of that target: the
    sum stays in float64 (the base_values attribute is float32). Zeroes `base` where done."""
    out = []
    for tree in trees:
        values = tree.values
        for j, target in enumerate(tree.targets):
            if base[target] != 0:
                values = values.copy() if values is tree.values else values
                values[:, j] = base[target] + values[:, j]
                base[target] = 0.0
        out.append(tree if values is tree.values else Tree(**{**tree.__dict__, "values": values}))
    return out


def _membership_columns(g: Graph, x: str, n_features: int, trees: Sequence[Tree]) -> tuple[str, dict]:
    """Appends a 0/1 column per distinct (feature, category set) to x; returns the new x and
    the column index of each set."""
    by_feature: dict[int, list[frozenset]] = {}
    for tree in trees:
        for node, (cats, _) in tree.sets.items():
            sets = by_feature.setdefault(int(tree.feature[node]), [])
            if cats not in sets:
                sets.append(cats)
    if not by_feature:
        return x, {}
    columns, index = [x], {}
    position = n_features
    for f, sets in sorted(by_feature.items()):
        k = max((max(s) for s in sets if s), default=0) + 1
        if k > MAX_CATEGORY:
            raise UnsupportedModelError(f"a categorical split on feature {f} uses category {k - 1}; at most {MAX_CATEGORY - 1} is supported")
        matrix = np.zeros((k, len(sets)))
        for s, cats in enumerate(sets):
            matrix[sorted(c for c in cats if c >= 0), s] = 1.0
            index[(f, cats)] = position + s
        value = g.op("Gather", x, g.const(np.array([f], np.int64), "cat_feature"), axis=1, hint="category")
        one_hot = g.cast(g.op("Equal", value, g.const(np.arange(k, dtype=np.float64).reshape(1, k), "category_codes")), DOUBLE)
        columns.append(g.op("MatMul", one_hot, g.const(matrix, "category_sets"), hint="membership"))
        position += len(sets)
    return g.op("Concat", *columns, axis=1, hint="features_and_sets"), index
