"""Registering an artifact with the service once: the same bytes give the same version."""

from __future__ import annotations

from ._json import jsonable
from .artifact import ModelArtifact
from .client import ServiceClient


def ensure_registered(svc: ServiceClient, art: ModelArtifact) -> int:
    if art.version is None:
        message = {"type": "register", "model": art.name, "metadata": jsonable(art.metadata()), "profile": jsonable(art.profile)}
        reply, _ = svc.request(message, [art.onnx_bytes])
        art.version = int(reply["version"])
    return art.version
