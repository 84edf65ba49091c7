"""`nd.audit`: the service's audit log — who changed what, when, from which notebook and
cell — as a table, newest first. The rows are a DataFrame that draws itself in the running
cell when made (as nd.validate's report does), once."""

from __future__ import annotations

import html
import json
from typing import Any

import pandas as pd

from . import display
from ._session import client

COLUMNS = ["time", "user", "action", "model", "version", "notebook", "cell", "details"]


def details_text(details: dict[str, Any] | None) -> str:
    """An entry's details on one line (an override's reason, a rollback's versions)."""
    return json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": entry["at"],
        "user": entry["actor"],
        "action": entry["action"],
        "model": entry.get("model"),
        "version": entry.get("version"),
        "notebook": entry.get("notebook"),
        "cell": entry.get("cell"),
        "details": entry.get("details") or {},
    }


def _cells(row: pd.Series) -> list[str]:
    version = row["version"]
    return [
        "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
        for value in (row["time"], row["user"], row["action"], row["model"], None if pd.isna(version) else int(version), row["notebook"], row["cell"])
    ] + [details_text(row["details"])]


def audit_text(rows: pd.DataFrame, title: str) -> str:
    if rows.empty:
        return f"{title}: no entries"
    table = [COLUMNS, *(_cells(row) for _, row in rows.iterrows())]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    return "\n".join([title, *lines])


def audit_html(rows: pd.DataFrame, title: str) -> str:
    body = (
        display.table(COLUMNS, [[html.escape(c) for c in _cells(row)] for _, row in rows.iterrows()])
        if not rows.empty
        else "<div style='font-size:12px;opacity:.75'>no entries</div>"
    )
    return f"<div><h4 style='margin:4px 0'>{html.escape(title)}</h4>{body}</div>"


class AuditLog(display.Output, pd.DataFrame):
    """The audit entries as rows (columns: time, user, action, model, version, notebook, cell,
    details), newest first. Selections and other derived frames are plain DataFrames."""

    _metadata = ["title", "_shown_in"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        title = getattr(self, "title", "Audit log")
        return {"text/plain": audit_text(self, title), "text/html": audit_html(self, title)}


def audit(name: str | None = None, limit: int = 100, show: bool = True) -> AuditLog:
    """The audit log of one model (or every model), newest first, at most `limit` entries;
    drawn in the running cell (unless `show=False`)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise ValueError(f"limit must be a whole number from 1 to 10000, got {limit!r}")
    message: dict[str, Any] = {"limit": limit}
    if name is not None:
        message["model"] = name
    entries = client().call("audit", **message)["entries"]
    rows = AuditLog([_row(e) for e in entries], columns=COLUMNS)
    rows["version"] = rows["version"].astype("Int64")
    rows.title = f"Audit log of {name}" if name is not None else "Audit log"
    if show:
        rows.show()
    return rows
