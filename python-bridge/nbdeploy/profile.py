"""The training-data profile an artifact carries: what "normal" looks like for each
feature, the label and the predictions. Monitoring compares live traffic with it (drift,
out-of-range values, new categories, null spikes), and validation compares the holdout.

Per numeric feature: null rate, min/max/mean/std, quantiles, a histogram on fixed bins,
and a bounded reservoir sample (for exact two-sample tests). Per categorical feature: null
rate, categories with their frequencies, and the sample."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
HISTOGRAM_BINS = 20
SAMPLE_SIZE = 1000
MAX_CATEGORIES = 200
#: fixed so that the same data gives the same profile (and the same artifact hash)
SEED = 20240917


def describe(values: Any, categorical: bool | None = None) -> dict:
    """The profile of one column of values."""
    series = pd.Series(np.asarray(values).reshape(-1) if not isinstance(values, pd.Series) else values)
    n = len(series)
    null = series.isna()
    kind_is_categorical = categorical if categorical is not None else not pd.api.types.is_numeric_dtype(series)
    present = series[~null]
    out: dict[str, Any] = {"count": n, "null_rate": float(null.mean()) if n else 0.0}
    rng = np.random.default_rng(SEED)
    take = rng.choice(len(present), size=min(SAMPLE_SIZE, len(present)), replace=False) if len(present) else []
    if kind_is_categorical:
        freq = present.astype(str).value_counts(normalize=True)
        out["kind"] = "categorical"
        out["categories"] = {str(k): float(v) for k, v in freq.head(MAX_CATEGORIES).items()}
        out["other_rate"] = float(freq.iloc[MAX_CATEGORIES:].sum()) if len(freq) > MAX_CATEGORIES else 0.0
        out["sample"] = [str(v) for v in present.astype(str).to_numpy()[np.sort(take)]] if len(present) else []
        return out
    x = present.to_numpy(dtype=float)
    finite = x[np.isfinite(x)]
    out["kind"] = "numeric"
    if len(finite) == 0:
        out.update({"min": None, "max": None, "mean": None, "std": None, "quantiles": {}, "histogram": {"edges": [], "counts": []}, "sample": []})
        return out
    lo, hi = float(finite.min()), float(finite.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(finite, bins=edges)
    out.update(
        {
            "min": lo,
            "max": hi,
            "mean": float(finite.mean()),
            "std": float(finite.std(ddof=1)) if len(finite) > 1 else 0.0,
            "quantiles": {str(q): float(np.quantile(finite, q)) for q in QUANTILES},
            "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
            "sample": [float(v) for v in x[np.sort(take)]],
        }
    )
    return out


def profile_data(frame: pd.DataFrame, categorical: set[str] | None = None) -> dict:
    """The profile of each feature of a DataFrame."""
    categorical = categorical or set()
    return {
        "rows": int(len(frame)),
        "features": {str(c): describe(frame[c], categorical=(c in categorical) or None) for c in frame.columns},
    }
