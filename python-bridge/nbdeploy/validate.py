"""`nd.validate`: fresh labelled data sent to the service, which runs it through the exact
version that will ship and computes the whole report there — metrics by scikit-learn's
definitions, bootstrap intervals, the production version on the same rows, gates, slices,
drift against the stored training profile, the governance checklist — and stores it with
the version for reviewers and for deploy. The notebook shows the report the service stored:
the verdict is the service's (docs/protocol.md, Validation). What only the notebook knows (rows shared
with the training data, by row hash) goes along as evidence, shown and never deciding."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import data_checks, display, tensors
from .errors import NbdeployError
from ._inputs import as_frame, build_inputs
from ._json import jsonable
from ._session import client
from .artifact import ModelArtifact
from .registration import ensure_registered


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
    #: how the service drew the intervals (resamples, seed, level, generator)
    bootstrap: dict[str, Any] = field(default_factory=dict)
    #: what the notebook sent as evidence (shown, never deciding `passed`)
    evidence: dict[str, Any] = field(default_factory=dict)
    #: who asked the service for this validation
    validated_by: str = ""
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
            "bootstrap": self.bootstrap,
            "evidence": self.evidence,
            "validated_by": self.validated_by,
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


def _labels(y: Any) -> list[Any]:
    """The labels as JSON values, one per row (the service checks them against the model)."""
    return jsonable(np.asarray(y).reshape(-1))


def _slices(slices: Any) -> Any:
    """Column names, or {name: boolean mask} as lists."""
    if slices is None:
        return None
    if isinstance(slices, dict):
        return {str(k): [bool(v) for v in np.asarray(mask, dtype=bool).reshape(-1)] for k, mask in slices.items()}
    if isinstance(slices, str):
        return [slices]
    return [str(c) for c in slices]


def _report(validation: dict[str, Any]) -> ValidationReport:
    """The stored validation as the report object."""
    report = dict(validation.get("report") or {})
    known = {f for f in ValidationReport.__dataclass_fields__}
    fields = {k: v for k, v in report.items() if k in known}
    fields.update(passed=bool(validation["passed"]), id=validation["id"])
    return ValidationReport(**fields)


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
    """Validates an artifact on labelled data: the service runs the rows through the registered
    version, computes and stores the report; it is drawn in the running cell (unless `show=False`)."""
    svc = client()
    version = ensure_registered(svc, art)
    labels = _labels(y)
    inputs = build_inputs(art.signature, X)
    rows = len(next(iter(inputs.values()))[0]) if inputs else 0
    if len(labels) != rows:
        raise ValueError(f"X has {rows} rows but y has {len(labels)}")
    headers, payloads = [], []
    for name, (array, datatype) in inputs.items():
        header, data = tensors.encode(array, datatype)
        headers.append({"name": name, **header})
        payloads.append(data)
    frame = as_frame(X, art.signature.get("feature_names"))
    message: dict[str, Any] = {
        "type": "validate",
        "model": art.name,
        "version": version,
        "inputs": headers,
        "labels": labels,
        "baseline": baseline == "production",
        "resamples": int(resamples),
        # only the notebook has the rows as the training profile hashed them: evidence, never the verdict
        "evidence": {"shared_with_training": data_checks.shared_rows(frame, art.profile.get("row_hashes"))},
    }
    if gates:
        message["gates"] = dict(gates)
    if slices is not None:
        message["slices"] = _slices(slices)
    if card:
        message["card"] = jsonable(card)
    reply, _ = svc.request(message, payloads)
    report = _report(reply["validation"])
    if show:
        report.show()
    return report
