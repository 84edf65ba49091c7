"""`nd.validate`: fresh labelled data through the exact artifact that will ship (the version
registered in the service), measured, compared with training and with production, gated,
checked for governance, and stored with the version for reviewers and for deploy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import data_checks, display, gates as gates_mod
from .errors import NbdeployError
from . import metrics as metrics_mod
from ._inputs import as_frame
from ._json import jsonable
from ._session import client
from .artifact import ModelArtifact
from .registration import ensure_registered
from .serving import predict_rows

#: model-card fields the governance checklist asks for
CARD_FIELDS = {
    "owner": "Owner",
    "intended_use": "Intended use",
    "training_data": "Training-data source",
}
SLICE_MIN_ROWS = 10


@dataclass
class ValidationReport(display.Output):
    model: str
    version: int
    task: str
    rows: int
    metrics: dict[str, float | None]
    passed: bool
    intervals: dict[str, list[float] | None] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    baseline_version: int | None = None
    gates: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    slices: list[dict[str, Any]] = field(default_factory=list)
    data_checks: dict[str, Any] = field(default_factory=dict)
    checklist: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = ""
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "task": self.task,
            "rows": self.rows,
            "passed": self.passed,
            "metrics": self.metrics,
            "intervals": self.intervals,
            "training": self.training,
            "baseline": self.baseline,
            "baseline_version": self.baseline_version,
            "gates": self.gates,
            "details": self.details,
            "slices": self.slices,
            "data_checks": self.data_checks,
            "checklist": self.checklist,
            "created_at": self.created_at,
            "id": self.id,
        }

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.validation_bundle(self.to_dict())

    def save_html(self, path: str | Path) -> Path:
        """Writes the report as a standalone HTML page at `path`: the validation panel's content
        and charts in one file that opens offline in any browser, for reviewers outside Jupyter
        (as Evidently's `save_html`). The service builds the page from the report it stored,
        with the reviews recorded since, as it does for TypeScript's `nd.saveHtml`. Returns the
        absolute path."""
        if self.id is None:
            raise NbdeployError(
                f"this report of {self.model!r} version {self.version} is not stored in the service (it has no id), "
                "so there is no page to write: save the report that nd.validate() returned"
            )
        file = Path(path).expanduser().resolve()
        if not file.parent.is_dir():
            raise FileNotFoundError(f"cannot write {path}: the folder {file.parent} does not exist")
        if file.is_dir():
            raise IsADirectoryError(f"cannot write {path}: it is a folder")
        reply = client().call("validation_page", model=self.model, version=self.version, validation_id=self.id)
        file.write_text(reply["html"], encoding="utf-8")
        return file

    def __repr__(self) -> str:
        return display.validation_text(self.to_dict())


def _scores(task: str, classes: list | None, y: np.ndarray, pred: Any, idx: np.ndarray | None = None) -> dict[str, float | None]:
    take = (lambda a: a if idx is None or a is None else a[idx])
    if task == "classification":
        return metrics_mod.classification_scores(take(y), take(pred.labels), take(pred.scores), classes)
    return metrics_mod.regression_scores(take(y), take(pred.values))


def _labels_like(y: Any, classes: list | None) -> np.ndarray:
    """y with the classes' type (labels from the service come back as int64 or str)."""
    arr = np.asarray(y).reshape(-1)
    if classes and isinstance(classes[0], str):
        return arr.astype(str)
    return arr


def _slices(frame: pd.DataFrame, slices: Any) -> list[tuple[str, np.ndarray]]:
    """Named row masks: a dict {name: mask}, or column names (categories, or quartiles of numbers)."""
    if slices is None:
        return []
    if isinstance(slices, dict):
        return [(str(k), np.asarray(v, dtype=bool)) for k, v in slices.items()]
    out = []
    for column in slices:
        if column not in frame.columns:
            raise KeyError(f"slice column {column!r} is not in the validation data")
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 10:
            bins = pd.qcut(values, 4, duplicates="drop")
            for interval in bins.cat.categories:
                label = f"{column} in ({interval.left:.4g}, {interval.right:.4g}]"
                out.append((label, (bins == interval).to_numpy()))
        else:
            for level in values.dropna().unique():
                out.append((f"{column} = {level}", (values == level).to_numpy()))
    return out


def _checklist(art_card: dict[str, Any], card: dict[str, Any] | None, inputs: list[str]) -> list[dict[str, Any]]:
    merged = {**art_card, **(card or {})}
    items = []
    for key, label in CARD_FIELDS.items():
        value = merged.get(key)
        items.append({"id": key, "label": label, "status": "pass" if value else "missing", "detail": str(value) if value else "not given in the model card"})
    personal = [str(p) for p in merged.get("personal_data", [])]
    used = sorted(set(personal) & set(inputs))
    items.append(
        {
            "id": "personal_data",
            "label": "Personal-data features kept out of the model",
            "status": "fail" if used else ("pass" if "personal_data" in merged else "missing"),
            "detail": f"the model takes {', '.join(used)}, flagged as personal data" if used else (f"flagged: {', '.join(personal) or 'none'}" if "personal_data" in merged else "no features flagged (card field personal_data)"),
        }
    )
    return items


def validate(
    art: ModelArtifact,
    X: Any,
    y: Any,
    gates: dict[str, str] | None = None,
    baseline: str | None = "production",
    slices: Any = None,
    card: dict[str, Any] | None = None,
    resamples: int = 200,
    show: bool = True,
) -> ValidationReport:
    """Validates an artifact on labelled data through the service; stores the report and
    draws it in the running cell (unless `show=False`)."""
    svc = client()
    version = ensure_registered(svc, art)
    signature = art.signature
    task, classes = signature["task"], signature.get("classes")
    y_arr = _labels_like(y, classes) if task == "classification" else np.asarray(y, dtype=float).reshape(-1)
    # evaluation traffic: the service answers it but keeps it out of monitoring
    pred = predict_rows(svc, art.name, X, version=version, monitor=False)
    if len(pred) != len(y_arr):
        raise ValueError(f"X has {len(pred)} rows but y has {len(y_arr)}")
    metrics = _scores(task, classes, y_arr, pred)
    details: dict[str, Any] = {}
    if task == "classification":
        details = metrics_mod.classification_details(y_arr, pred.labels, classes) | metrics_mod.curves(y_arr, pred.scores, classes)
    intervals = metrics_mod.bootstrap_intervals(lambda idx: _scores(task, classes, y_arr, pred, idx), len(y_arr), resamples) if resamples else {}

    baseline_metrics, baseline_version = None, None
    if baseline == "production":
        production = svc.call("get_model", model=art.name)["model"]["deployment"]["production"]
        if production is not None and production != version:
            baseline_version = production
            baseline_metrics = _scores(task, classes, y_arr, predict_rows(svc, art.name, X, version=production, monitor=False))

    gate_results = [g.to_dict() for g in gates_mod.evaluate(gates or {}, metrics, baseline_metrics, art.training_metrics)]
    frame = as_frame(X, signature.get("feature_names"))
    slice_rows_ = []
    for name, mask in _slices(frame, slices):
        idx = np.flatnonzero(mask)
        row = {"slice": name, "rows": int(len(idx))}
        row["metrics"] = _scores(task, classes, y_arr, pred, idx) if len(idx) >= SLICE_MIN_ROWS else None
        slice_rows_.append(row)
    drift = data_checks.feature_drift(frame, art.profile)
    checks = {
        "drift": drift,
        "drifted_features": sorted(k for k, v in drift.items() if v["drifted"]),
        "shared_with_training": data_checks.shared_rows(frame, art.profile.get("row_hashes")),
    }
    checklist = _checklist(art.card, card, [i["name"] for i in signature["inputs"]] + list(signature.get("feature_names") or []))
    passed = all(g["status"] != "fail" for g in gate_results) and all(c["status"] != "fail" for c in checklist) and art.parity.get("passed", True)
    report = ValidationReport(
        model=art.name,
        version=version,
        task=task,
        rows=len(y_arr),
        metrics=metrics,
        passed=bool(passed),
        intervals=intervals,
        training=art.training_metrics,
        baseline=baseline_metrics,
        baseline_version=baseline_version,
        gates=gate_results,
        details=details,
        slices=slice_rows_,
        data_checks=checks,
        checklist=checklist,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    message = {"model": art.name, "version": version, "passed": report.passed, "report": jsonable(report.to_dict())}
    stored = svc.call("attach_validation", **message)
    report.id = stored["validation"]["id"]
    if show:
        report.show()
    return report

