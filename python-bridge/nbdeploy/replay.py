"""`nd.replay`: before a challenger takes traffic, what would it have answered on real
traffic? The requests a deployment captured (nd.capture) run through a candidate version
inside the service — or, with `source="shadow"`, the answers it already gave as a shadow
are used — and are compared row by row with what was served. See docs/protocol.md#replay."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from . import display
from ._json import jsonable
from ._session import client
from .capture import span_fields

REPLAY_MIME = "application/vnd.nbdeploy.replay+json"
#: changed rows kept in the notebook output (the whole table is `Replay.rows`)
SHOWN_CHANGED_ROWS = 20


@dataclass
class Replay(display.Output):
    report: dict[str, Any]

    @property
    def agreement(self) -> float | None:
        """The share of replayed rows whose label (or, for regressors, value within 1e-6) equals what was served."""
        return self.report["agreement"]

    @property
    def changed(self) -> int:
        return int(self.report["changed"])

    @property
    def rows(self) -> pd.DataFrame:
        """The rows compared: when, which request, the served version, the features, both answers, `changed`, `truth`."""
        table = self.report["table"]
        frame = pd.DataFrame(table["rows"], columns=table["columns"])
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
        return frame

    def payload(self) -> dict[str, Any]:
        """What the notebook keeps: the findings and a few changed rows (not the whole table)."""
        table = self.report["table"]
        changed_at = table["columns"].index("changed")
        changed = [row for row in table["rows"] if row[changed_at]][:SHOWN_CHANGED_ROWS]
        summary = {k: v for k, v in self.report.items() if k not in ("table", "type", "id")}
        return jsonable({**summary, "changed_rows": {"columns": table["columns"], "rows": changed}})

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        payload = self.payload()
        return {REPLAY_MIME: payload, "text/plain": replay_text(payload), "text/html": replay_html(payload)}

    def __repr__(self) -> str:
        return replay_text(self.payload())


def replay(
    name: str,
    version: int,
    last: str | int | float = "24h",
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    source: str = "captured",
    limit: int = 100_000,
    show: bool = True,
) -> Replay:
    """Replays what deployment `name` captured over the `last` span (or `start`–`end`) through
    candidate `version` inside the service (evaluation traffic: not monitored) and compares its
    answers with those served: `.agreement`, `.changed`, `.rows` (a DataFrame), metric deltas
    where ground truth arrived, latency side by side. `source="shadow"` compares the answers
    the version gave as a shadow, running nothing. Draws the replay panel (unless `show=False`)."""
    if source not in ("captured", "shadow"):
        raise ValueError(f"source is 'captured' (run the captured requests again) or 'shadow' (the shadow's own answers), not {source!r}")
    fields: dict[str, Any] = {"model": name, "version": int(version), "source": source, "limit": limit, "table_rows": limit}
    fields.update(span_fields(last, start, end))
    result = Replay(client().call("replay", **fields))
    if show:
        result.show()
    return result


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.4g}%"


def _metrics_line(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return "no ground truth yet"
    parts = [f"{k} {metrics['served'][k]:.4g} → {metrics['candidate'][k]:.4g} ({metrics['delta'][k]:+.4g})" for k in metrics["served"]]
    return f"{', '.join(parts)} on {metrics['rows']} labelled rows"


def _latency_line(latency: dict[str, Any]) -> str:
    served, candidate = latency.get("served"), latency.get("candidate")
    if not served or not candidate:
        return "n/a"
    return f"p50 {served['p50']:.3g} → {candidate['p50']:.3g} ms, p99 {served['p99']:.3g} → {candidate['p99']:.3g} ms"


def replay_text(r: dict[str, Any]) -> str:
    return (
        f"replay of {r['model']} v{r['version']} ({r['source']}) on {r['rows']} rows from {r['from']} to {r['to']}: "
        f"agreement {_pct(r['agreement'])} ({r['changed']} changed); {_metrics_line(r['metrics'])}; latency {_latency_line(r['latency_ms'])}"
    )


def replay_html(r: dict[str, Any]) -> str:
    skipped = r["skipped"]
    notes = []
    if skipped["personal_data"]:
        notes.append(f"{skipped['personal_data']} request(s) not replayed: their personal data was kept only as hashes")
    if skipped["failed"]:
        notes.append(f"{skipped['failed']} request(s) failed on the candidate (first: {skipped['first_error']})")
    if skipped["no_answer"]:
        notes.append(f"{skipped['no_answer']} request(s) without a shadow answer")
    if r.get("truncated"):
        notes.append("more rows were captured in the span than the limit: the oldest were replayed")
    features = "".join(
        f"<div style='font-size:12px;margin-top:4px'><b>{html.escape(f['feature'])}</b></div>"
        + display.table(["range" if f["kind"] == "numeric" else "category", "rows", "changed", "share"], [[html.escape(b["bin"]), b["rows"], b["changed"], _pct(b["changed_share"])] for b in f["bins"]])
        for f in r["by_feature"][:3]
    )
    changed = r["changed_rows"]
    sample = display.table(changed["columns"], [[html.escape("" if v is None else str(v)) for v in row] for row in changed["rows"]]) if changed["rows"] else ""
    return (
        f"<div><h4 style='margin:4px 0'>Replay of <code>{html.escape(r['model'])}</code> version {r['version']} on captured traffic ({html.escape(r['source'])})</h4>"
        + display.table(
            ["", ""],
            [
                ["rows replayed", f"{r['rows']} ({r['requests']} requests, served by v{', v'.join(map(str, r['served_versions'])) or '—'})"],
                ["agreement", f"{_pct(r['agreement'])} — {r['changed']} changed"],
                ["metrics", html.escape(_metrics_line(r["metrics"]))],
                ["latency", html.escape(_latency_line(r["latency_ms"]))],
                ["span", f"{html.escape(r['from'])} – {html.escape(r['to'])}"],
            ],
        )
        + "".join(f"<div style='font-size:12px'>⚠️ {html.escape(n)}</div>" for n in notes)
        + (f"<b>Where the answers changed</b>{features}" if r["changed"] else "")
        + (f"<b>Changed rows</b> (first {len(changed['rows'])}){sample}" if sample else "")
        + "</div>"
    )
