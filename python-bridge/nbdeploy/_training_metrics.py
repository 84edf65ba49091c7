"""The metrics on the training sample that `nd.export` records with an artifact (gates may
compare new data with them: `"<= training * 1.1"`). Computed at export, before any service is
involved, with scikit-learn's own functions and the averaging the service's validation uses
(a binary model's positive class is `classes[1]`; multiclass scores are macro averages, ROC
AUC one-vs-rest). Every verdict on new data is the service's (docs/protocol.md, Validation)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn import metrics as skm


def _safe(fn: Any) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(fn())
        except ValueError:  # e.g. ROC AUC when the sample holds a single class
            return None
    return None if math.isnan(value) else value


def training_scores(signature: dict[str, Any], y: np.ndarray, outputs: dict[str, Any]) -> dict[str, float | None]:
    """The metrics on the training sample, recorded with the artifact (gates may compare with
    them: `"<= training * 1.1"`): scikit-learn's own functions, with the averaging the
    service's validation uses (docs/protocol.md, Validation); the verdict on new data is the service's."""
    if signature["task"] != "classification":
        values = outputs["values"]
        return {
            "mae": _safe(lambda: skm.mean_absolute_error(y, values)),
            "rmse": _safe(lambda: math.sqrt(skm.mean_squared_error(y, values))),
            "r2": _safe(lambda: skm.r2_score(y, values)),
            "mape": _safe(lambda: skm.mean_absolute_percentage_error(y, values)),
        }
    classes, labels, scores = signature["classes"], outputs["labels"], outputs["scores"]
    binary = len(classes) == 2
    kw: dict[str, Any] = {"average": "binary", "pos_label": classes[1]} if binary else {"average": "macro", "labels": classes}
    out: dict[str, float | None] = {
        "accuracy": _safe(lambda: skm.accuracy_score(y, labels)),
        "precision": _safe(lambda: skm.precision_score(y, labels, zero_division=0, **kw)),
        "recall": _safe(lambda: skm.recall_score(y, labels, zero_division=0, **kw)),
        "f1": _safe(lambda: skm.f1_score(y, labels, zero_division=0, **kw)),
        "roc_auc": None,
        "log_loss": None,
    }
    if scores is not None:
        if binary:
            out["roc_auc"] = _safe(lambda: skm.roc_auc_score(y == classes[1], scores[:, 1]))
        else:
            out["roc_auc"] = _safe(lambda: skm.roc_auc_score(y, scores, multi_class="ovr", average="macro", labels=classes))
        out["log_loss"] = _safe(lambda: skm.log_loss(y, scores, labels=classes))
    return out
