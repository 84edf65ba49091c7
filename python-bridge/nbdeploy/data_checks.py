"""What only the notebook can check about validation data: does the holdout share rows with
the training data (a holdout that overlaps training flatters the metrics)? By row hash,
against the hashes the artifact's profile keeps. Sent with `validate` as evidence: the
service shows it in the report and never lets it decide `passed`. (Drift of the holdout
from the training profile is the service's: it keeps the profile.)"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd

MAX_ROW_HASHES = 50_000


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy(dtype=np.uint64)


def pack_row_hashes(frame: pd.DataFrame) -> str:
    """The training rows' hashes, sorted and packed (kept in the profile)."""
    hashes = np.unique(row_hashes(frame))[:MAX_ROW_HASHES]
    return base64.b64encode(hashes.astype("<u8").tobytes()).decode("ascii")


def shared_rows(frame: pd.DataFrame, packed: str | None) -> dict[str, Any]:
    if not packed:
        return {"checked": False, "detail": "the artifact has no training row hashes"}
    training = np.frombuffer(base64.b64decode(packed), dtype="<u8")
    shared = np.isin(row_hashes(frame), training)
    return {"checked": True, "rows": int(shared.sum()), "share": float(shared.mean()) if len(shared) else 0.0}
