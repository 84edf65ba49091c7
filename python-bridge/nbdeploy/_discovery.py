"""What the JupyterLab Models sidebar offers to export from a notebook: the fitted models
in the kernel's namespace (scikit-learn estimators, PyTorch modules, LightGBM models), the
data a form may pass as the sample or holdout (DataFrames, Series, arrays), the artifacts
already exported, and the ONNX files in the working folder.

The extension asks the kernel silently (an `execute_request` with a user expression) and
reads the answer as JSON (`_repr_json_`). Only libraries the notebook has already imported
are looked at: asking never imports PyTorch or LightGBM.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any


def _model_kind(value: Any) -> str | None:
    lightgbm = sys.modules.get("lightgbm")
    if lightgbm is not None and isinstance(value, (lightgbm.Booster, lightgbm.LGBMModel)):
        return "lightgbm"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return "pytorch"
    sklearn_base = sys.modules.get("sklearn.base")
    if sklearn_base is not None and isinstance(value, sklearn_base.BaseEstimator):
        return "sklearn"
    return None


def _is_fitted(value: Any, kind: str) -> bool:
    """PyTorch modules and Boosters have no unfitted state; estimators say through scikit-learn."""
    if kind == "pytorch" or type(value).__name__ == "Booster":
        return True
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(value)
        return True
    except (NotFittedError, TypeError):
        return False


def _data_shape(value: Any) -> list[int] | None:
    pandas = sys.modules.get("pandas")
    numpy = sys.modules.get("numpy")
    if pandas is not None and isinstance(value, (pandas.DataFrame, pandas.Series)):
        return [int(n) for n in value.shape]
    if numpy is not None and isinstance(value, numpy.ndarray) and value.ndim >= 1:
        return [int(n) for n in value.shape]
    return None


class ExportableModels(dict):
    """The answer, a dict shown as JSON to the extension and as text to people."""

    def _repr_json_(self) -> dict[str, Any]:
        return dict(self)


def exportable(namespace: dict[str, Any] | None = None, folder: str | Path | None = None) -> ExportableModels:
    """Fitted models, data, artifacts in `namespace` (the notebook's by default) and `*.onnx`
    files in `folder` (the working folder by default), each sorted by name."""
    if namespace is None:
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
    artifact_module = sys.modules.get("nbdeploy.artifact")
    models, data, artifacts = [], [], []
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, (types.ModuleType, type, types.FunctionType)):
            continue
        kind = _model_kind(value)
        if kind is not None:
            if _is_fitted(value, kind):
                models.append({"name": name, "kind": kind, "type": type(value).__name__})
            continue
        if artifact_module is not None and isinstance(value, artifact_module.ModelArtifact):
            artifacts.append({"name": name, "model": value.name})
            continue
        shape = _data_shape(value)
        if shape is not None:
            data.append({"name": name, "type": type(value).__name__, "shape": shape})
    root = Path(folder) if folder is not None else Path.cwd()
    files = sorted(p.name for p in root.glob("*.onnx") if p.is_file())
    by_name = lambda item: item["name"]  # noqa: E731
    return ExportableModels(
        models=sorted(models, key=by_name),
        data=sorted(data, key=by_name),
        artifacts=sorted(artifacts, key=by_name),
        onnx_files=files,
    )
