"""A model's output tensors read by its signature: labels, scores (classifiers) or values
(regressors). Shared by the parity check at export and by predictions from the service."""

from __future__ import annotations

from typing import Any

import numpy as np

def read_outputs(signature: dict[str, Any], outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray | None]:
    """labels / scores / values from the model's output tensors, by the signature."""
    out: dict[str, np.ndarray | None] = {"labels": None, "scores": None, "values": None}
    if signature.get("label_output") in outputs:
        out["labels"] = np.asarray(outputs[signature["label_output"]]).reshape(-1)
    if signature.get("scores_output") in outputs:
        out["scores"] = np.asarray(outputs[signature["scores_output"]], dtype=float)
    if signature.get("value_output") in outputs:
        values = np.asarray(outputs[signature["value_output"]], dtype=float)
        out["values"] = values.reshape(-1) if values.ndim == 2 and values.shape[1] == 1 else values
    return out
