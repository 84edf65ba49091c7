"""Where an artifact came from: the notebook, the kernel, the library versions, and a
fingerprint of the data it was exported with."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import sys
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from .context import notebook_path

LIBRARIES = ("nbdeploy", "numpy", "pandas", "scikit-learn", "torch", "lightgbm", "onnx", "onnxruntime")


def data_fingerprint(X: Any) -> str:
    """sha256 of the data's values and column names (stable across runs and machines)."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    digest = hashlib.sha256()
    digest.update(repr([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def kernel_info() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        execution_count = getattr(shell, "execution_count", None) if shell is not None else None
    except ImportError:
        execution_count = None
    return {"language": "python", "python": sys.version.split()[0], "platform": platform.platform(), "execution_count": execution_count}


def library_versions() -> dict[str, str]:
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def lineage(X: Any) -> dict[str, Any]:
    return {
        "notebook": notebook_path(),
        "kernel": kernel_info(),
        "libraries": library_versions(),
        "data_sha256": data_fingerprint(X),
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or None,
    }
