"""Errors the notebook API raises. Service errors keep the service's code
(see docs/errors.md), so a notebook can tell a wrong input from a missing model."""

from __future__ import annotations


class NbdeployError(Exception):
    """Base class of nbdeploy's errors."""


class ServiceError(NbdeployError):
    """The service refused or failed a request; `code` is its NBD_ERR_* code."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message
        self.status = status


class ServiceUnreachableError(NbdeployError, ConnectionError):
    """No service answers at the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the nbdeploy service at {url}: {reason}. "
            "Start it with `nbdeploy serve` (or `make start` in the nbdeploy repository), "
            "or point nd.connect(url=..., token=...) / NBDEPLOY_URL at a running one."
        )
        self.url = url
