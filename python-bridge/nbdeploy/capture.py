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


#: a moment: an ISO string, a datetime or pandas Timestamp (naive ones are UTC), or epoch milliseconds
Moment = str | datetime | pd.Timestamp | int | float


def _iso(moment: Moment | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, bool):
        raise ValueError(f"a moment is an ISO 8601 string, a datetime, a pandas Timestamp or epoch milliseconds, not {moment!r}")
    # Numbers are epoch milliseconds, as the monitor chart's times are (pandas would read nanoseconds).
    stamp = pd.Timestamp(moment, unit="ms") if isinstance(moment, (int, float)) else pd.Timestamp(moment)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.isoformat()


def span_fields(last: str | int | float, start: Moment | None, end: Moment | None) -> dict[str, Any]:
    """A span as the service's messages take it: `from`/`to` (naive times are UTC; numbers are
    epoch milliseconds) when given, the `last` span up to `end` (or now) otherwise."""
    fields: dict[str, Any] = {"from": _iso(start), "to": _iso(end)}
    if start is None:
        fields["last_seconds"] = parse_span(last)
    return fields


def captured_frame(table: dict[str, Any], start: str, end: str) -> pd.DataFrame:
    """Captured rows as the service sends them (`columns`, `rows`, `hashed`) as a DataFrame:
    `at` as UTC times, the hashed columns and the span in `attrs`."""
    frame = pd.DataFrame(table["rows"], columns=table["columns"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame.attrs["hashed"] = list(table["hashed"])
    frame.attrs["from"], frame.attrs["to"] = start, end
    return frame


def captured(
    name: str,
    last: str | int | float = "1h",
    start: Moment | None = None,
    end: Moment | None = None,
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
    frame = captured_frame(reply, reply["from"], reply["to"])
    if reply["truncated"]:
        warnings.warn(f"more than {limit} rows of {name!r} were kept in this span: the first {limit} are shown (raise limit= or narrow the span)", stacklevel=2)
    return frame
