"""scikit-learn linear models: LinearRegression, Ridge, Lasso, ElasticNet (and their CV
variants), LogisticRegression (binary and multinomial).

Computed in DOUBLE, like scikit-learn: the decision X @ coef.T + intercept is a sum of
products of very different sizes on unscaled data (breast_cancer: areas in the
thousands next to ratios near 0.01), and float32 there puts the labels of rows near the
decision boundary at risk. Probabilities are rounded to float32 once, at the output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._graph import Graph, Table


def _decision(g: Graph, model: Any, table: Table) -> tuple[str, int]:
    """X @ coef_.T + intercept_ -> DOUBLE [N, k]."""
    x = table.matrix(g, model)
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(model.intercept_, dtype=np.float64), (coef.shape[0],))
    scores = g.op("MatMul", x, g.const(coef.T.copy(), "coef"))
    return g.op("Add", scores, g.const(intercept.reshape(1, -1), "intercept"), hint="decision"), coef.shape[0]


def linear_regressor(g: Graph, model: Any, table: Table) -> None:
    values, k = _decision(g, model, table)
    g.regressor(values, 1 if np.ndim(model.coef_) == 1 else k)


def logistic_regression(g: Graph, model: Any, table: Table) -> None:
    decision, k = _decision(g, model, table)
    if len(model.classes_) == 2:
        # predict_proba: expit(d) as [1 - p, p]; predict: d > 0
        proba = g.binary_probabilities(g.op("Sigmoid", decision))
        g.classifier(proba, g.positive_index(decision, strict=True), model.classes_)
    else:
        # multinomial: softmax(d); predict: argmax(d)
        g.classifier(g.op("Softmax", decision, axis=1), g.argmax(decision), model.classes_)
