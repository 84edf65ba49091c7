"""Model quality metrics, by scikit-learn's definitions (scikit-learn computes them), with
bootstrap confidence intervals. Classification: the positive class of a binary model is
its second class (`classes[1]`, as scikit-learn's `predict_proba` orders them);
multiclass precision, recall and F1 are macro averages, ROC AUC is one-vs-rest macro."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np
from sklearn import metrics as skm

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION = ("mae", "rmse", "r2", "mape")
#: metrics where lower is better (gates and comparisons read this)
LOWER_IS_BETTER = {"log_loss", "mae", "rmse", "mape"}
BOOTSTRAP_SEED = 7


def _safe(fn: Callable[[], float]) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(fn())
        except ValueError:
            # e.g. ROC AUC when the data holds a single class
            return None
    return None if math.isnan(value) else value


def classification_scores(y_true: np.ndarray, labels: np.ndarray, scores: np.ndarray | None, classes: list) -> dict[str, float | None]:
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    kw: dict[str, Any] = {"pos_label": classes[1]} if binary else {"labels": classes}
    out: dict[str, float | None] = {
        "accuracy": _safe(lambda: skm.accuracy_score(y_true, labels)),
        "precision": _safe(lambda: skm.precision_score(y_true, labels, average=average, zero_division=0, **kw)),
        "recall": _safe(lambda: skm.recall_score(y_true, labels, average=average, zero_division=0, **kw)),
        "f1": _safe(lambda: skm.f1_score(y_true, labels, average=average, zero_division=0, **kw)),
        "roc_auc": None,
        "log_loss": None,
    }
    if scores is not None:
        if binary:
            out["roc_auc"] = _safe(lambda: skm.roc_auc_score(y_true == classes[1], scores[:, 1]))
        else:
            out["roc_auc"] = _safe(lambda: skm.roc_auc_score(y_true, scores, multi_class="ovr", average="macro", labels=classes))
        out["log_loss"] = _safe(lambda: skm.log_loss(y_true, scores, labels=classes))
    return out


def regression_scores(y_true: np.ndarray, values: np.ndarray) -> dict[str, float | None]:
    return {
        "mae": _safe(lambda: skm.mean_absolute_error(y_true, values)),
        "rmse": _safe(lambda: math.sqrt(skm.mean_squared_error(y_true, values))),
        "r2": _safe(lambda: skm.r2_score(y_true, values)),
        "mape": _safe(lambda: skm.mean_absolute_percentage_error(y_true, values)),
    }


def classification_details(y_true: np.ndarray, labels: np.ndarray, classes: list) -> dict[str, Any]:
    """Confusion matrix (rows: true class, columns: predicted) and per-class metrics."""
    matrix = skm.confusion_matrix(y_true, labels, labels=classes)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, labels, labels=classes, zero_division=0)
    return {
        "confusion_matrix": {"labels": [str(c) for c in classes], "matrix": matrix.tolist()},
        "per_class": {
            str(c): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, c in enumerate(classes)
        },
    }


def curves(y_true: np.ndarray, scores: np.ndarray, classes: list, points: int = 50) -> dict[str, Any]:
    """ROC and calibration curves of the positive class (binary models), thinned for charts."""
    if len(classes) != 2 or scores is None:
        return {}
    positive = y_true == classes[1]
    if positive.all() or (~positive).all():
        return {}
    fpr, tpr, _ = skm.roc_curve(positive, scores[:, 1])
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(points, len(fpr))).astype(int))
    edges = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(scores[:, 1], edges[1:-1]), 0, 9)
    calibration = [
        {"predicted": float(scores[which == b, 1].mean()), "observed": float(positive[which == b].mean()), "count": int((which == b).sum())}
        for b in range(10)
        if (which == b).any()
    ]
    return {"roc": {"fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist()}, "calibration": calibration}


def bootstrap_intervals(
    compute: Callable[[np.ndarray], dict[str, float | None]], n: int, resamples: int = 200, level: float = 0.95
) -> dict[str, list[float] | None]:
    """Percentile bootstrap intervals: `compute(indices)` gives the metrics on a resample."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        for name, value in compute(rng.integers(0, n, size=n)).items():
            if value is not None:
                draws.setdefault(name, []).append(value)
    tail = (1 - level) / 2 * 100
    return {
        name: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] if len(v) >= resamples // 2 else None
        for name, v in draws.items()
    }
