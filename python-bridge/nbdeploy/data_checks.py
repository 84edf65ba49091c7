"""Checks of the validation data itself: does the holdout look like the training data
(drift per feature against the training profile), and does it share rows with it (a
holdout that overlaps training flatters the metrics)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

P_VALUE = 0.05
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


def feature_drift(frame: pd.DataFrame, profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per feature: Kolmogorov–Smirnov (numeric) or chi-square (categorical) against the
    training sample, drifted when p < 0.05."""
    out: dict[str, dict[str, Any]] = {}
    for name, ref in profile.get("features", {}).items():
        if name not in frame.columns or not ref.get("sample"):
            continue
        current = frame[name].dropna()
        if len(current) == 0:
            continue
        if ref["kind"] == "numeric":
            values = pd.to_numeric(current, errors="coerce").dropna().to_numpy(dtype=float)
            if len(values) == 0:
                continue
            result = stats.ks_2samp(values, np.asarray(ref["sample"], dtype=float))
            statistic, p = float(result.statistic), float(result.pvalue)
            method = "ks"
        else:
            levels = list(ref["categories"])
            counts = current.astype(str).value_counts()
            observed = np.array([counts.get(c, 0) for c in levels] + [counts[~counts.index.isin(levels)].sum()], dtype=float)
            expected_share = np.array([ref["categories"][c] for c in levels] + [ref.get("other_rate", 0.0)], dtype=float)
            # categories never seen in training get a small expected share rather than zero
            expected_share = np.where(expected_share > 0, expected_share, 0.5 / max(ref["count"], 1))
            expected = expected_share / expected_share.sum() * observed.sum()
            result = stats.chisquare(observed, expected)
            statistic, p = float(result.statistic), float(result.pvalue)
            method = "chi_square"
        out[name] = {"method": method, "statistic": statistic, "p_value": p, "threshold": P_VALUE, "drifted": p < P_VALUE}
    return out
