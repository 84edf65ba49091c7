"""nbdeploy's notebook outputs: each a MIME bundle with the nbdeploy JSON payload (which the
JupyterLab extension renders), a `text/plain` summary, and a static `text/html` fallback
that reads well in any viewer (GitHub, nbviewer, a notebook without the extension).
The HTML uses no colours of its own beyond pass/fail marks, so it suits light and dark themes.
The monitor chart's static fallback is an `image/svg+xml` rendering of the chart instead."""

from __future__ import annotations

import html
import sys
from typing import Any

from ._json import jsonable

VALIDATION_MIME = "application/vnd.nbdeploy.validation+json"
DEPLOYMENT_MIME = "application/vnd.nbdeploy.deployment+json"



def _shell() -> Any:
    """The running IPython (a Jupyter kernel), or None (a script; IPython is not imported for it)."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


class Output:
    """An nbdeploy output (a report, a deployment, a chart): `show()` draws it in the running
    cell when it is made, so that `report = nd.validate(...)` draws the report too. When the
    same object is then a cell's last expression, IPython draws it through `_ipython_display_`
    (not its reprs), which draws it again only from another cell: `nd.validate(...)` alone, or
    `report` on the line after, draws once. Subclasses give `_repr_mimebundle_`."""

    #: the execution count of the cell that drew it
    _shown_in: int | None = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        raise NotImplementedError

    def show(self) -> None:
        """Draws it in the running cell (outside IPython: nothing)."""
        shell = _shell()
        if shell is None:
            return
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)
        self._shown_in = shell.execution_count

    def _ipython_display_(self) -> None:
        shell = _shell()
        if shell is not None and self._shown_in == shell.execution_count:
            return  # drawn when it was made, in this cell
        self.show()


_TABLE = 'style="border-collapse:collapse;margin:4px 0 10px 0;font-size:12px"'
_CELL = 'style="border:1px solid rgba(128,128,128,.35);padding:2px 8px;text-align:{align}"'
_MARK = {"pass": "✅ pass", "fail": "❌ fail", "n/a": "➖ n/a", "missing": "⚠️ missing"}


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(tag: str, value: Any, i: int) -> str:
        return f"<{tag} {_CELL.format(align='left' if i == 0 else 'right')}>{value}</{tag}>"

    head = "".join(cell("th", html.escape(h), i) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", v, i) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table {_TABLE}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def validation_text(report: dict[str, Any]) -> str:
    verdict = "PASSED" if report["passed"] else "FAILED"
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in report["metrics"].items() if v is not None)
    failed = [g["metric"] + " " + g["condition"] for g in report.get("gates", []) if g["status"] == "fail"]
    lines = [f"Validation of {report['model']} v{report['version']} on {report['rows']} rows: {verdict}", f"  {metrics}"]
    if failed:
        lines.append(f"  failed gates: {'; '.join(failed)}")
    drifted = report.get("data_checks", {}).get("drifted_features", [])
    if drifted:
        lines.append(f"  holdout drifted from training on: {', '.join(drifted)}")
    return "\n".join(lines)


def validation_html(report: dict[str, Any]) -> str:
    verdict = "✅ passed" if report["passed"] else "❌ failed"
    parts = [
        f"<div><h4 style='margin:4px 0'>Validation of <code>{html.escape(report['model'])}</code> "
        f"version {report['version']} — {verdict}</h4>"
        f"<div style='opacity:.75;font-size:12px'>{report['rows']} rows · {html.escape(report.get('created_at', ''))}"
        + (f" · compared with production v{report['baseline_version']}" if report.get("baseline_version") else "")
        + "</div>"
    ]
    rows = []
    for name, value in report["metrics"].items():
        interval = report.get("intervals", {}).get(name)
        training = (report.get("training") or {}).get(name)
        base = (report.get("baseline") or {}).get(name)
        rows.append(
            [
                html.escape(name),
                _fmt(value),
                f"{interval[0]:.4f} – {interval[1]:.4f}" if interval else "—",
                _fmt(training),
                _fmt(base),
            ]
        )
    parts.append(table(["metric", "value", "95% interval", "training", "production"], rows))
    if report.get("gates"):
        parts.append("<b>Gates</b>")
        parts.append(table(["metric", "condition", "value", "threshold", "result"], [[html.escape(g["metric"]), html.escape(g["condition"]), _fmt(g["value"]), _fmt(g["threshold"]), _MARK[g["status"]]] for g in report["gates"]]))
    matrix = report.get("details", {}).get("confusion_matrix")
    if matrix:
        parts.append("<b>Confusion matrix</b> (rows: true class, columns: predicted)")
        parts.append(table([""] + [html.escape(c) for c in matrix["labels"]], [[html.escape(c)] + row for c, row in zip(matrix["labels"], matrix["matrix"])]))
    if report.get("slices"):
        keys = list(report["metrics"])[:4]
        parts.append("<b>Slices</b>")
        parts.append(table(["slice", "rows", *keys], [[html.escape(s["slice"]), s["rows"], *[_fmt((s["metrics"] or {}).get(k)) for k in keys]] for s in report["slices"]]))
    checks = report.get("data_checks", {})
    if checks:
        drifted = checks.get("drifted_features", [])
        shared = checks.get("shared_with_training", {})
        parts.append(
            "<b>Data checks</b><ul style='margin:2px 0 8px 0;font-size:12px'>"
            f"<li>holdout drift from training: {html.escape(', '.join(drifted)) if drifted else 'none detected'}"
            f" ({len(checks.get('drift', {}))} features tested)</li>"
            + (f"<li>rows shared with the training sample: {shared['rows']} ({shared['share']:.1%})</li>" if shared.get("checked") else "")
            + "</ul>"
        )
    if report.get("checklist"):
        parts.append("<b>Governance checklist</b>")
        parts.append(table(["item", "status", "detail"], [[html.escape(c["label"]), _MARK[c["status"]], html.escape(c["detail"])] for c in report["checklist"]]))
    parts.append("</div>")
    return "".join(parts)


def validation_bundle(report: dict[str, Any]) -> dict[str, Any]:
    payload = jsonable(report)
    return {VALIDATION_MIME: payload, "text/plain": validation_text(payload), "text/html": validation_html(payload)}


def deployment_text(d: dict[str, Any]) -> str:
    traffic = ", ".join(f"v{t['version']} {t['role']} {t['percent']:g}%" for t in d["traffic"])
    capture = d.get("capture")
    kept = f" — keeps {capture['rate'] * 100:g}% of requests for {capture['retention_days']:g} d" if capture else ""
    return f"{d['model']} v{d['version']} ({d['stage']}) — traffic: {traffic or 'none'} — {d['endpoint']}{kept}"


def deployment_html(d: dict[str, Any]) -> str:
    rows = [[f"v{t['version']}", html.escape(t["role"]), f"{t['percent']:g}%"] for t in d["traffic"]]
    snippets = "".join(
        f"<div style='font-size:12px;margin-top:6px'><b>{html.escape(lang)}</b></div>"
        f"<pre style='margin:2px 0;padding:6px;border:1px solid rgba(128,128,128,.35);overflow:auto'>{html.escape(code)}</pre>"
        for lang, code in d["snippets"].items()
    )
    return (
        f"<div><h4 style='margin:4px 0'>Deployed <code>{html.escape(d['model'])}</code> version {d['version']} — {html.escape(d['stage'])}</h4>"
        f"<div style='font-size:12px'>endpoint <code>{html.escape(d['endpoint'])}</code></div>"
        + (f"<div style='font-size:12px'>capture: keeps {capture['rate'] * 100:g}% of requests for {capture['retention_days']:g} d</div>" if (capture := d.get("capture")) else "")
        + table(["version", "role", "traffic"], rows)
        + snippets
        + "</div>"
    )


def deployment_bundle(d: dict[str, Any]) -> dict[str, Any]:
    payload = jsonable(d)
    return {DEPLOYMENT_MIME: payload, "text/plain": deployment_text(payload), "text/html": deployment_html(payload)}


MONITOR_MIME = "application/vnd.nbdeploy.monitor+json"


def monitor_bundle(payload: dict[str, Any], svg: str | None, text: str) -> dict[str, Any]:
    """The monitor chart: the JSON payload (the extension draws it live), the chart as a static
    SVG for viewers without the extension, and the service's text summary."""
    bundle: dict[str, Any] = {MONITOR_MIME: payload, "text/plain": text}
    if svg:
        bundle["image/svg+xml"] = svg
    return bundle
