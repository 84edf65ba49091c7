"""`nd.deploy` and `nd.rollback`: deployment changes, shown as a deployment panel with the
traffic split and the snippets integrators need (curl, Python, TypeScript)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from . import display
from ._session import client
from .artifact import ModelArtifact
from .errors import ServiceError
from .registration import ensure_registered


class DeployRefusedError(ServiceError):
    """Production needs a passing validation report (or an override reason)."""


@dataclass
class Deployment(display.Output):
    model: str
    version: int
    stage: str
    traffic: list[dict[str, Any]]
    endpoint: str
    snippets: dict[str, str]
    view: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "traffic": self.traffic,
            "endpoint": self.endpoint,
            "snippets": self.snippets,
            "capture": self.view.get("deployment", {}).get("capture"),
        }

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.deployment_bundle(self.to_dict())

    def __repr__(self) -> str:
        return display.deployment_text(self.to_dict())


def _endpoint(url: str, model: str, version: int, traffic: list[dict[str, Any]]) -> str:
    """The model's route when the version takes part in the model's traffic (production,
    canary, shadow); otherwise (a staged version) its own versioned route, the only one that
    reaches it."""
    base = f"{url.rstrip('/')}/v2/models/{model}"
    return f"{base}/infer" if any(t["version"] == version for t in traffic) else f"{base}/versions/{version}/infer"


def _snippets(endpoint: str, signature: dict[str, Any] | None) -> dict[str, str]:
    example = []
    # every input, or the copied request would be refused for the ones left out
    for i in (signature or {}).get("inputs") or []:
        # one row of placeholder values in the input's shape
        row_shape = [max(d, 1) for d in i["shape"][1:]]
        filler = "a" if i["datatype"] == "BYTES" else 0
        example.append({"name": i["name"], "shape": [1, *row_shape], "datatype": i["datatype"], "data": [filler] * math.prod(row_shape)})
    body = json.dumps({"inputs": example})
    return {
        "curl": f"curl -X POST {endpoint} \\\n  -H \"Authorization: Bearer $NBDEPLOY_TOKEN\" \\\n  -d '{body}'",
        "python": (
            "import os, requests\n"
            f"r = requests.post({endpoint!r},\n"
            "                  headers={'Authorization': f\"Bearer {os.environ['NBDEPLOY_TOKEN']}\"},\n"
            f"                  json={body})\n"
            "print(r.json()['outputs'])"
        ),
        "typescript": (
            f"const res = await fetch('{endpoint}', {{\n"
            "  method: 'POST',\n"
            "  headers: { Authorization: `Bearer ${process.env.NBDEPLOY_TOKEN}` },\n"
            f"  body: JSON.stringify({body})\n"
            "});\n"
            "console.log((await res.json()).outputs);"
        ),
    }


def deployment_of(view: dict[str, Any], version: int) -> Deployment:
    svc = client()
    d = view["deployment"]
    traffic = []
    if d["production"] is not None:
        canary = d["canary"]
        traffic.append({"version": d["production"], "role": "production", "percent": 100 - (canary["percent"] if canary else 0)})
        if canary:
            traffic.append({"version": canary["version"], "role": "canary", "percent": canary["percent"]})
    for s in d["shadows"]:
        traffic.append({"version": s, "role": "shadow", "percent": 100})
    record = next(v for v in view["versions"] if v["version"] == version)
    signature = record.get("metadata", {}).get("nbdeploy", {}).get("signature")
    endpoint = _endpoint(svc.info.url, view["name"], version, traffic)
    return Deployment(
        model=view["name"],
        version=version,
        stage=record["stage"],
        traffic=traffic,
        endpoint=endpoint,
        snippets=_snippets(endpoint, signature),
        view=view,
    )


def deploy(
    art: ModelArtifact | int,
    stage: str = "production",
    canary: float | None = None,
    shadow: bool = False,
    override: str | None = None,
    name: str | None = None,
    batching: dict[str, int] | None = None,
    gates: dict[str, str] | None = None,
    show: bool = True,
) -> Deployment:
    """Deploys an artifact (registering it first) or a registered version (`name=` then);
    draws the deployment in the running cell (unless `show=False`).

    `batching` sets how the version is served: `instances` (worker threads, each with its own
    session), `max_batch_size`, `max_queue_delay_us`, `max_queue_size` (docs/protocol.md).
    `gates` are read against the version's latest replay (nd.replay): e.g.
    `{"replay_agreement": ">= 0.98", "accuracy_delta": ">= 0"}`; one that fails refuses the deploy.
    """
    svc = client()
    if isinstance(art, ModelArtifact):
        model, version = art.name, ensure_registered(svc, art)
    else:
        if name is None:
            raise TypeError("deploying a version number needs the model's name: nd.deploy(3, name='churn')")
        model, version = name, int(art)
    message: dict[str, Any] = {"model": model, "version": version}
    if canary is not None:
        message["canary_percent"] = float(canary)
    elif shadow:
        message["shadow"] = True
    elif stage == "staging":
        message["stage"] = "staging"
    elif stage != "production":
        raise ValueError(f"stage must be 'production' or 'staging', got {stage!r}")
    if override is not None:
        message["override"] = override
    if batching is not None:
        message["batching"] = dict(batching)
    if gates:
        message["gates"] = dict(gates)
    try:
        reply = svc.call("deploy", **message)
    except ServiceError as error:
        if error.code == "NBD_ERR_VALIDATION_REQUIRED":
            raise DeployRefusedError(error.code, f"{error.message} — run nd.validate(art, X, y, gates=...) first, or pass override='reason'", error.status) from None
        if error.code == "NBD_ERR_REPLAY_GATE":
            raise DeployRefusedError(error.code, f"{error.message} — see nd.replay({model!r}, version={version})", error.status) from None
        raise
    return _shown(deployment_of(reply["model"], version), show)


def rollback(name: str, show: bool = True) -> Deployment:
    """Back to the previous production version; draws the deployment (unless `show=False`)."""
    svc = client()
    message: dict[str, Any] = {"model": name}
    view = svc.call("rollback", **message)["model"]
    return _shown(deployment_of(view, view["deployment"]["production"]), show)


def _shown(deployment: Deployment, show: bool) -> Deployment:
    if show:
        deployment.show()
    return deployment
