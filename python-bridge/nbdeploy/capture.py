"""Capture: a deployment keeps a share of the requests it serves — inputs, answers, and its
shadow versions' answers to the same requests — for inspection and replay, and
`nd.captured` reads them back as a DataFrame. Features the model card flags as personal data
are kept only as salted hashes. See docs/protocol.md#capture."""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

import pandas as pd

from ._session import client
from .deploy import Deployment, deployment_of
from .monitoring import parse_span


def capture(name: str, rate: float = 0.1, retention_days: float = 7, show: bool = True) -> Deployment:
    """Keeps `rate` (a share in [0, 1]) of deployment `name`'s served requests for
    `retention_days`; `rate=0` stops keeping them (what is kept stays until its retention ends).
    The change is audited. Draws the deployment (unless `show=False`) and returns it."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate is the share of requests kept, between 0 and 1, not {rate!r}")
    message = {"model": name, "rate": float(rate), "retention_days": float(retention_days)}
    view = client().call("set_capture", **message)["model"]
    version = view["deployment"]["production"] or max(v["version"] for v in view["versions"])
    deployment = deployment_of(view, version)
    if show:
        deployment.show()
    return deployment


def _iso(moment: str | datetime | pd.Timestamp | None) -> str | None:
    if moment is None:
        return None
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.isoformat()


def span_fields(last: str | int | float, start: str | datetime | None, end: str | datetime | None) -> dict[str, Any]:
    """A span as the service's messages take it: `from`/`to` (naive times are UTC) when given,
    the `last` span up to `end` (or now) otherwise."""
    fields: dict[str, Any] = {"from": _iso(start), "to": _iso(end)}
    if start is None:
        fields["last_seconds"] = parse_span(last)
    return fields


def captured(
    name: str,
    last: str | int | float = "1h",
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    version: int | None = None,
    shadow: bool = False,
    limit: int = 10_000,
) -> pd.DataFrame:
    """The requests deployment `name` kept (nd.capture) as a DataFrame, one row per served row,
    oldest first: `at`, `request_id` (`<id>#<row>` within a request of several rows, as
    nd.feedback takes them), `version`, the features, the answers. Over the `last` span, or
    from `start` to `end` (naive times are UTC); `shadow=True` gives the shadow versions'
    answers to the same requests. Columns holding salted hashes of personal data are listed in
    `df.attrs["hashed"]`. Warns when more than `limit` rows were kept in the span."""
    fields: dict[str, Any] = {"model": name, "version": version, "shadow": shadow, "limit": limit}
    fields.update(span_fields(last, start, end))
    reply = client().call("captured", **fields)
    frame = pd.DataFrame(reply["rows"], columns=reply["columns"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame.attrs["hashed"] = list(reply["hashed"])
    frame.attrs["from"], frame.attrs["to"] = reply["from"], reply["to"]
    if reply["truncated"]:
        warnings.warn(f"more than {limit} rows of {name!r} were kept in this span: the first {limit} are shown (raise limit= or narrow the span)", stacklevel=2)
    return frame
