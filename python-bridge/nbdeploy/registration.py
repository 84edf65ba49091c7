"""Registering an artifact with the service once: the same bytes give the same version."""

from __future__ import annotations

from typing import Any

from . import lineage
from ._json import jsonable
from .artifact import ModelArtifact
from .client import ServiceClient


def with_context(message: dict[str, Any]) -> dict[str, Any]:
    """The message with the notebook it comes from (for the audit log), when Jupyter tells it."""
    notebook = lineage.notebook_path()
    return {**message, "context": {"notebook": notebook}} if notebook else message


def ensure_registered(svc: ServiceClient, art: ModelArtifact) -> int:
    if art.version is None:
        message = {"type": "register", "model": art.name, "metadata": jsonable(art.metadata()), "profile": jsonable(art.profile)}
        reply, _ = svc.request(with_context(message), [art.onnx_bytes])
        art.version = int(reply["version"])
    return art.version
