"""nbdeploy: deploy, validate and monitor machine-learning models from Jupyter notebooks.

    import nbdeploy as nd
    art = nd.export(model, X_train, name="churn", y=y_train)
    report = nd.validate(art, X_holdout, y_holdout, gates={"f1": ">= 0.90"})
    nd.deploy(art)                       # production needs a passing validation report
    out = nd.predict("churn", X_new)     # .labels, .scores / .values, .request_ids
    nd.feedback("churn", out.request_ids, y_true)
    nd.rollback("churn")
    nd.status("churn", last="15m")      # ops, integrity, drift, performance, concept drift, alerts
    nd.monitor("churn", last="1h")      # the same over time, as a chart (live in JupyterLab)
    nd.alerts("churn", last="1d")        # alerts fired or resolved, newest first
    nd.alert_rules("churn", rules=[...]) # a deployment's alert rules and webhooks
    nd.integrity_policy("churn", out_of_range="refuse")  # refuse or serve each integrity kind
    nd.capture("churn", rate=0.1)        # keep a tenth of the served requests (7 days)
    nd.captured("churn", last="1h")      # what was kept, as a DataFrame
    nd.replay("churn", version=4, last="24h")  # what version 4 would have answered on that traffic
    nd.inspect("churn", feature="age", start="2026-12-03T10:00Z", end="2026-12-03T11:00Z")  # a drifted window, triaged
    nd.models()
    nd.audit("churn")                    # who changed what, when, from which notebook and cell
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from ._session import client as _client
from ._session import connect
from .errors import NbdeployError, ServiceError, ServiceUnreachableError

if TYPE_CHECKING:
    import pandas as pd

    from .artifact import ModelArtifact
    from .capture import capture, captured
    from .replay import Replay, replay
    from .inspect import Inspection, inspect
    from .audit import AuditLog, audit
    from .deploy import Deployment, DeployRefusedError, deploy, rollback
    from .export import ParityError, export
    from .exporters import UnsupportedModelError
    from .monitoring import MonitorChart, alert_rules, alerts, integrity_policy, monitor, status
    from .serving import Prediction
    from .validate import ValidationReport, validate

__version__ = "0.1.0"

#: Loaded on first use, so that `import nbdeploy` (and Jupyter's server, which imports it
#: to find the server extension) does not pay for scikit-learn, scipy and onnxruntime.
_LAZY = {
    "export": "export",
    "ParityError": "export",
    "validate": "validate",
    "ValidationReport": "validate",
    "deploy": "deploy",
    "rollback": "deploy",
    "Deployment": "deploy",
    "DeployRefusedError": "deploy",
    "ModelArtifact": "artifact",
    "Prediction": "serving",
    "UnsupportedModelError": "exporters",
    "status": "monitoring",
    "monitor": "monitoring",
    "MonitorChart": "monitoring",
    "alerts": "monitoring",
    "alert_rules": "monitoring",
    "integrity_policy": "monitoring",
    "capture": "capture",
    "captured": "capture",
    "replay": "replay",
    "Replay": "replay",
    "inspect": "inspect",
    "Inspection": "inspect",
    "audit": "audit",
    "AuditLog": "audit",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nbdeploy' has no attribute {name!r}")


class _Package(types.ModuleType):
    """Importing a submodule sets an attribute of its name on the package: `nbdeploy.deploy`
    would become the module `deploy.py` instead of the function `nd.deploy` (the same for
    `export` and `validate`) as soon as anything imported it. The functions keep their names."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "connect",
    "export",
    "validate",
    "deploy",
    "predict",
    "feedback",
    "rollback",
    "status",
    "monitor",
    "alerts",
    "alert_rules",
    "integrity_policy",
    "capture",
    "captured",
    "replay",
    "inspect",
    "models",
    "audit",
    "ModelArtifact",
    "AuditLog",
    "ValidationReport",
    "Deployment",
    "Prediction",
    "MonitorChart",
    "Replay",
    "Inspection",
    "NbdeployError",
    "ServiceError",
    "ServiceUnreachableError",
    "DeployRefusedError",
    "ParityError",
    "UnsupportedModelError",
]


def predict(name: str, X: Any, version: int | None = None, progress: bool | None = None) -> "Prediction":
    """Predictions from the deployed model (or one version); large inputs go in batches."""
    from .serving import predict_rows

    return predict_rows(_client(), name, X, version=version, progress=progress)


def feedback(name: str, request_ids: list[str], y_true: Any) -> int:
    """Ground truth for earlier predictions, joined by request id (it may come much later)."""
    from ._json import jsonable

    values = jsonable(list(y_true.tolist() if hasattr(y_true, "tolist") else y_true))
    if len(values) != len(request_ids):
        raise ValueError(f"{len(request_ids)} request ids but {len(values)} ground-truth values; give one per id")
    message: dict[str, Any] = {"model": name, "request_ids": list(request_ids), "ground_truth": values}
    return int(_client().call("feedback", **message)["count"])


def models() -> "pd.DataFrame":
    """The registry as a table: one row per version."""
    import pandas as pd

    rows = []
    for m in _client().call("list")["models"]:
        d = m["deployment"]
        for v in m["versions"]:
            validation = v.get("validation") or {}
            role = (
                "production" if d["production"] == v["version"]
                else f"canary {d['canary']['percent']:g}%" if d["canary"] and d["canary"]["version"] == v["version"]
                else "shadow" if v["version"] in d["shadows"]
                else ""
            )
            rows.append(
                {
                    "model": m["name"],
                    "version": v["version"],
                    "stage": v["stage"],
                    "traffic": role if d["serving"] else "unloaded",
                    "validated": None if not validation else bool(validation.get("passed")),
                    "review": (validation.get("review") or {}).get("decision"),
                    "created_at": v["created_at"],
                    "created_by": v["created_by"],
                    "sha256": v["sha256"][:12],
                }
            )
    return pd.DataFrame(rows, columns=["model", "version", "stage", "traffic", "validated", "review", "created_at", "created_by", "sha256"])


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """`jupyter server extension enable nbdeploy` (the extension module imports Jupyter's server; this file does not)."""
    return [{"module": "nbdeploy.server_extension"}]
