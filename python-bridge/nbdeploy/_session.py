"""The notebook's current connection (one per kernel), opened on first use; its requests say
which notebook and cell they come from."""

from __future__ import annotations

from ._connection import resolve
from .client import ServiceClient
from .context import change_context

_client: ServiceClient | None = None


def connect(url: str | None = None, token: str | None = None) -> ServiceClient:
    """Connects to the service (default: NBDEPLOY_URL / NBDEPLOY_TOKEN, then .nbdeploy/token)."""
    global _client
    if _client is not None:
        _client.close()
    _client = ServiceClient(resolve(url, token), context=change_context)
    _client.call("list")  # fail now, with a clear error, rather than at the first real call
    return _client


def client() -> ServiceClient:
    global _client
    if _client is None:
        _client = ServiceClient(resolve(), context=change_context)
    return _client
