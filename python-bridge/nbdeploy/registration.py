"""Registering an artifact with the service once: the same bytes give the same version."""

from __future__ import annotations

from typing import Any

from . import lineage
from ._json import jsonable
from .artifact import ModelArtifact
from .client import ServiceClient


def with_context(message: dict[str, Any]) -> dict[str, Any]:
    """The message with the notebook and the cell it comes from (for the audit log), when Jupyter tells them."""
    context = {key: value for key, value in (("notebook", lineage.notebook_path()), ("cell", lineage.cell_id())) if value}
    return {**message, "context": context} if context else message


def ensure_registered(svc: ServiceClient, art: ModelArtifact) -> int:
    if art.version is None:
        message = {"type": "register", "model": art.name, "metadata": jsonable(art.metadata()), "profile": jsonable(art.profile)}
        reply, _ = svc.request(with_context(message), [art.onnx_bytes])
        art.version = int(reply["version"])
    return art.version
