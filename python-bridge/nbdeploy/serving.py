"""Running data through a model version in the service, in batches (binary tensors on
/ws), and reading the answers by the version's signature."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._inputs import build_inputs, row_count, slice_rows
from .client import ServiceClient
from ._outputs import read_outputs

BATCH_ROWS = 10_000
PROGRESS_ROWS = 50_000


@dataclass
class Prediction:
    """What the service answered: `labels` and `scores` (n × classes) for classifiers,
    `values` for regressors, and one request id per row for `nd.feedback`."""

    model: str
    labels: np.ndarray | None = None
    scores: np.ndarray | None = None
    values: np.ndarray | None = None
    request_ids: list[str] = field(default_factory=list)
    #: the version that answered each row (a canary split answers from two)
    versions: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.request_ids)

    def __repr__(self) -> str:
        what = "labels" if self.labels is not None else "values"
        head = (self.labels if self.labels is not None else self.values)
        shown = ", ".join(str(v) for v in np.asarray(head).reshape(-1)[:5]) if head is not None else ""
        more = ", …" if len(self) > 5 else ""
        versions = sorted({int(v) for v in self.versions}) if self.versions is not None else []
        return f"Prediction({self.model!r}, {len(self)} rows from version {'/'.join(map(str, versions))}, {what}: [{shown}{more}])"


def signatures(client: ServiceClient, model: str) -> tuple[dict[int, dict], dict]:
    """Each version's signature (nbdeploy's, or one read from the ONNX model), and the model view."""
    view = client.call("get_model", model=model)["model"]
    by_version = {}
    for v in view["versions"]:
        meta = v.get("metadata", {}).get("nbdeploy", {})
        by_version[v["version"]] = meta.get("signature") or signature_from_service(v["signature"])
    return by_version, view


def signature_from_service(service_signature: dict) -> dict:
    """A signature for a model registered without nbdeploy's metadata (e.g. a plain ONNX file)."""
    return {
        "layout": "matrix",
        "inputs": [{"name": i["name"], "datatype": i["datatype"], "shape": i["shape"], "categories": None} for i in service_signature["inputs"]],
        "outputs": [o["name"] for o in service_signature["outputs"]],
        "feature_names": None,
        "task": None,
        "classes": None,
        "label_output": None,
        "scores_output": None,
        "value_output": None,
    }


def predict_rows(
    client: ServiceClient,
    model: str,
    X: Any,
    version: int | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: bool | None = None,
    monitor: bool = True,
) -> Prediction:
    """Sends X in batches; request ids are `<request>#<row>` so that feedback can name rows."""
    by_version, view = signatures(client, model)
    if version is not None and version not in by_version:
        raise ValueError(f"model {model!r} has no version {version}; it has {sorted(by_version)}")
    live = [v["version"] for v in view["versions"] if v["stage"] != "archived"]
    # Inputs follow the signature of the version that answers (versions of one model share inputs).
    input_version = version or view["deployment"]["production"] or (live[-1] if live else max(by_version))
    n = row_count(X)
    parts: list[dict[str, Any]] = []
    request_ids: list[str] = []
    versions: list[np.ndarray] = []
    bar = None
    if progress or (progress is None and n > PROGRESS_ROWS):
        from tqdm.auto import tqdm

        bar = tqdm(total=n, unit="rows", desc=f"predict {model}")
    for start in range(0, n, batch_rows):
        chunk = slice_rows(X, start, min(start + batch_rows, n))
        request = uuid.uuid4().hex
        reply, outputs = client.infer(model, build_inputs(by_version[input_version], chunk), version=version, request_id=request, monitor=monitor)
        answered = int(reply["model_version"])
        rows = row_count(chunk)
        parts.append(read_outputs(by_version[answered], outputs))
        request_ids.extend(f"{request}#{i}" for i in range(rows))
        versions.append(np.full(rows, answered))
        if bar is not None:
            bar.update(rows)
    if bar is not None:
        bar.close()

    def join(key: str) -> np.ndarray | None:
        arrays = [p[key] for p in parts if p[key] is not None]
        return np.concatenate(arrays) if arrays else None

    return Prediction(
        model,
        labels=join("labels"),
        scores=join("scores"),
        values=join("values"),
        request_ids=request_ids,
        versions=np.concatenate(versions) if versions else None,
    )
