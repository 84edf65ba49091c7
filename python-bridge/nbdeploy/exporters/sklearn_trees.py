"""scikit-learn trees and tree ensembles: DecisionTree, RandomForest, ExtraTrees,
GradientBoosting and HistGradientBoosting, classifiers and regressors. All become one
TreeEnsembleRegressor of raw scores (see _trees) followed by the estimator's own link.

Inputs: DecisionTree / forests / GradientBoosting compare float32(X) <= threshold in
float64 (they cast X to float32), so the graph rounds the features to float32 and keeps
the thresholds exact: the same comparison. HistGradientBoosting compares float64 X with
its float64 thresholds: the graph compares its DOUBLE features (the FP64 inputs as they
are, FP32 ones cast exactly, as scikit-learn casts float32 data) with the thresholds
as they are.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._graph import DOUBLE, Graph, Table
from ._trees import Tree, ensemble, float32_features
from ._types import UnsupportedModelError
from .sklearn_preprocessing import ordinal_encoder


def _name(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


def _float32_features(g: Graph, model: Any, table: Table) -> str:
    return float32_features(g, table.matrix(g, model))


def _tree(tree_: Any, values: np.ndarray, targets: list[int]) -> Tree:
    return Tree(
        left=np.asarray(tree_.children_left),
        right=np.asarray(tree_.children_right),
        feature=np.asarray(tree_.feature),
        threshold=np.asarray(tree_.threshold, dtype=np.float64),
        # scikit-learn >= 1.3 trees route NaN by missing_go_to_left; older ones saw none
        nan_left=np.asarray(getattr(tree_, "missing_go_to_left", np.zeros(tree_.node_count)), dtype=bool),
        values=values,
        targets=targets,
    )


def _class_probabilities(tree_: Any) -> np.ndarray:
    """Per node, the class probabilities DecisionTreeClassifier.predict_proba returns."""
    proba = np.array(tree_.value[:, 0, :], dtype=np.float64)
    total = proba.sum(axis=1, keepdims=True)
    total[total == 0.0] = 1.0
    return proba / total


def _single_output(model: Any) -> None:
    if getattr(model, "n_outputs_", 1) != 1:
        raise UnsupportedModelError(f"{_name(model)} with {model.n_outputs_} outputs (multi-output classification) is not supported")


# -- decision trees and forests ---------------------------------------------------------


def _members(model: Any) -> list[Any]:
    return list(model.estimators_) if hasattr(model, "estimators_") else [model]


def tree_classifier(g: Graph, model: Any, table: Table) -> None:
    """DecisionTree / RandomForest / ExtraTrees classifiers: the mean of the trees'
    probabilities; the label is their argmax."""
    _single_output(model)
    members = _members(model)
    k = len(model.classes_)
    trees = [_tree(m.tree_, _class_probabilities(m.tree_) / len(members), list(range(k))) for m in members]
    scores = ensemble(g, _float32_features(g, model, table), table.width, trees, k)
    g.classifier(g.cast(scores, DOUBLE), g.argmax(scores), model.classes_)


def tree_regressor(g: Graph, model: Any, table: Table) -> None:
    members = _members(model)
    k = model.n_outputs_
    trees = [_tree(m.tree_, np.asarray(m.tree_.value[:, :, 0], dtype=np.float64) / len(members), list(range(k))) for m in members]
    g.regressor(ensemble(g, _float32_features(g, model, table), table.width, trees, k), k)


# -- gradient boosting ------------------------------------------------------------------


def _gb_trees_and_base(model: Any) -> tuple[list[Tree], np.ndarray]:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = model.init_
    if not (isinstance(init, str) and init == "zero") and not isinstance(init, (DummyClassifier, DummyRegressor)):
        raise UnsupportedModelError(f"{_name(model)} with init={type(init).__name__}: only the default init (or 'zero') is supported")
    stages, k = model.estimators_.shape
    # the initial raw prediction is a constant: ask the model for it on a dummy row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "X does not have valid feature names"
        base = np.asarray(model._raw_predict_init(np.zeros((1, model.n_features_in_), dtype=np.float32)), dtype=np.float64)[0]
    trees = [
        # predict_stages adds learning_rate * value, computed in float64 as here
        _tree(model.estimators_[i, j].tree_, model.learning_rate * np.asarray(model.estimators_[i, j].tree_.value[:, 0, :1], dtype=np.float64), [j])
        for i in range(stages)
        for j in range(k)
    ]
    return trees, base


def _binary_or_multinomial(g: Graph, model: Any, raw: str, loss: str, strict: bool) -> None:
    """Probabilities and labels from raw scores, as the estimator's loss.predict_proba and
    predict compute them."""
    raw = g.cast(raw, DOUBLE, "raw")
    if loss == "HalfMultinomialLoss":
        g.classifier(g.op("Softmax", raw, axis=1), g.argmax(raw), model.classes_)
    elif loss in ("HalfBinomialLoss", "ExponentialLoss"):
        z = raw if loss == "HalfBinomialLoss" else g.op("Mul", raw, g.const(np.array([[2.0]]), "two"))
        g.classifier(g.binary_probabilities(g.op("Sigmoid", z)), g.positive_index(raw, strict=strict), model.classes_)
    else:
        raise UnsupportedModelError(f"{_name(model)} with loss {loss} is not supported")


def gradient_boosting_classifier(g: Graph, model: Any, table: Table) -> None:
    trees, base = _gb_trees_and_base(model)
    raw = ensemble(g, _float32_features(g, model, table), table.width, trees, len(base), base)
    # GradientBoostingClassifier.predict: binary class 1 where raw >= 0
    _binary_or_multinomial(g, model, raw, type(model._loss).__name__, strict=False)


def gradient_boosting_regressor(g: Graph, model: Any, table: Table) -> None:
    trees, base = _gb_trees_and_base(model)
    g.regressor(ensemble(g, _float32_features(g, model, table), table.width, trees, 1, base), 1)


# -- histogram gradient boosting --------------------------------------------------------


def _bitset(words: np.ndarray) -> frozenset:
    return frozenset(int(32 * w + b) for w, word in enumerate(words) for b in range(32) if (int(word) >> b) & 1)


def _hgb_trees(model: Any) -> list[Tree]:
    if model.is_categorical_ is not None and np.any(model.is_categorical_):
        known_bitsets, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
    trees = []
    for iteration in model._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            tree = Tree(
                left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
                right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
                feature=nodes["feature_idx"].astype(np.int64),
                threshold=nodes["num_threshold"].astype(np.float64),
                nan_left=nodes["missing_go_to_left"].astype(bool),
                values=nodes["value"].astype(np.float64).reshape(-1, 1),
                targets=[k],
            )
            for node in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~leaf):
                # _predictor.pyx: in the left bitset -> left; a known category -> right;
                # NaN, negative and unknown categories -> where missing values go.
                left = _bitset(predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]])
                known = _bitset(known_bitsets[f_idx_map[nodes["feature_idx"][node]]])
                if nodes["missing_go_to_left"][node]:
                    tree.sets[int(node)] = (frozenset(known - left), False)  # right iff known and not left
                else:
                    tree.sets[int(node)] = (left, True)
            trees.append(tree)
    return trees


def _hgb_features(g: Graph, model: Any, table: Table) -> Table:
    """The columns HistGradientBoosting's own preprocessor makes when it encodes pandas
    categorical columns itself: the ordinal codes first, then the numeric columns."""
    pre = model._preprocessor
    if pre is None:
        return table
    blocks = []
    for name, step, _ in pre.transformers_:
        indices = list(pre._transformer_to_input_indices.get(name, []))
        if not indices or (isinstance(step, str) and step == "drop"):
            continue
        part = table.select(g, indices)
        blocks.extend((ordinal_encoder(g, step, part) if name == "encoder" else part).blocks)
    return Table(blocks)


def hist_gradient_boosting_classifier(g: Graph, model: Any, table: Table) -> None:
    features = _hgb_features(g, model, table)
    base = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)
    raw = ensemble(g, features.matrix(g, model), features.width, _hgb_trees(model), len(base), base)
    # HistGradientBoostingClassifier.predict: binary class 1 where raw > 0
    _binary_or_multinomial(g, model, raw, type(model._loss).__name__, strict=True)


def hist_gradient_boosting_regressor(g: Graph, model: Any, table: Table) -> None:
    features = _hgb_features(g, model, table)
    base = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)
    raw = ensemble(g, features.matrix(g, model), features.width, _hgb_trees(model), 1, base)
    link = type(model._loss.link).__name__
    if link == "IdentityLink":
        g.regressor(raw, 1)
    elif link == "LogLink":  # poisson, gamma
        g.regressor(g.op("Exp", g.cast(raw, DOUBLE)), 1)
    else:
        raise UnsupportedModelError(f"{_name(model)} with loss {model.loss!r} ({link}) is not supported")
