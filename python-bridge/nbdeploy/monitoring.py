"""`nd.status`: the service's monitoring of a model, now, as data — operations, data
integrity, data drift per feature, prediction drift, performance from delayed ground truth,
concept drift, alerts. `nd.monitor`: the same over time, as a chart that the JupyterLab
extension keeps live. `nd.alerts` lists alerts; `nd.alert_rules` reads or sets a
deployment's rules and webhooks."""

from __future__ import annotations

import re
from typing import Any

from . import display
from ._session import client

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_span(last: str | int | float) -> float:
    """Seconds in a span: "30s", "15m", "1h", "2d", or a number of seconds."""
    if isinstance(last, bool):
        raise ValueError(f"a span is like '15m', '1h', '30s' or a number of seconds, not {last!r}")
    if isinstance(last, (int, float)):
        seconds = float(last)
    else:
        match = _SPAN.match(str(last))
        if not match:
            raise ValueError(f"a span is like '15m', '1h', '30s', '2d' or a number of seconds, not {last!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not seconds > 0:
        raise ValueError(f"the span must be above 0 seconds, got {last!r}")
    return seconds


def status(
    name: str,
    last: str | int | float = "15m",
    version: int | None = None,
    drift_method: str | None = None,
    drift_thresholds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Monitoring of `name` over the `last` span ("15m", "1h", "30s"): a dict with "ops",
    "integrity" ({kind: count}), "integrity_features", "drift", "drift_share",
    "prediction_drift", "performance", "concept_drift", "versions", for `version`
    (default: the production version), and "alerts" (firing now, or fired or resolved
    within the span). `drift_method` ("ks", "chisquare", "wasserstein", "jensenshannon",
    "psi") tests every feature it applies to that way instead of the default choice;
    `drift_thresholds` ({"psi": 0.2}) replaces the default thresholds."""
    reply = client().call(
        "status",
        model=name,
        last_seconds=parse_span(last),
        version=version,
        drift_method=drift_method,
        drift_thresholds=drift_thresholds,
    )
    return {k: v for k, v in reply.items() if k not in ("type", "id")}


class MonitorChart(display.Output):
    """What `nd.monitor` returns: shown as the monitor chart (live in JupyterLab with the
    extension, a static SVG elsewhere); `.status` is the `nd.status` summary of the span (from
    the reply: the notebook output does not carry it), `.series` the data over time as the
    chart draws them (numbers as the chart shows them; drift a row per bucket with a cell per
    feature of `series["features"]`, performance a row per bucket with a column per metric:
    see docs/monitoring.md), `.payload` the whole snapshot, `.svg` the static chart, `.text`
    the summary (also its repr)."""

    def __init__(self, payload: dict[str, Any], svg: str | None, text: str, status: dict[str, Any] | None = None) -> None:
        self.payload = payload
        self.svg = svg
        self.text = text
        # Payloads from services before the status moved into the reply carry it themselves.
        self._status = status if status is not None else payload.get("status", {})

    @property
    def status(self) -> dict[str, Any]:
        return self._status

    @property
    def series(self) -> dict[str, Any]:
        return self.payload["series"]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.monitor_bundle(self.payload, self.svg, self.text)

    def __repr__(self) -> str:
        return self.text


def monitor(name: str, last: str | int | float = "15m", version: int | None = None, show: bool = True) -> MonitorChart:
    """The monitoring chart of `name` over the `last` span ("15m", "1h", "30s"): throughput and
    errors, latency percentiles, drift per feature, integrity violations, performance from
    delayed labels and alerts, for `version` (default: the production version). Drawn in the
    running cell (unless `show=False`); in JupyterLab with the extension it updates live while
    traffic flows."""
    reply = client().call("monitor", model=name, last_seconds=parse_span(last), version=version, svg=True)
    chart = MonitorChart(reply["payload"], reply.get("svg"), reply["text"], reply["status"])
    if show:
        chart.show()
    return chart


def alerts(name: str | None = None, last: str | int | float | None = None, state: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Alerts, newest first: of model `name` (all models when None), firing now or fired or
    resolved within `last` ("1h", "7d"; all kept when None), only those in `state`
    ("firing" or "resolved") if given."""
    reply = client().call(
        "list_alerts", model=name, state=state, limit=limit, last_seconds=None if last is None else parse_span(last)
    )
    return reply["alerts"]


_UNSET: Any = object()


def alert_rules(name: str, rules: list[dict[str, Any]] | None = _UNSET, webhooks: list[str] | None = _UNSET) -> dict[str, Any]:
    """The alert rules and webhooks of deployment `name`. With `rules`, replaces its rules
    (`None` goes back to the defaults); with `webhooks`, replaces its own webhooks (the
    service-wide `--alert-webhook` ones apply as well). A rule is a dict like
    `{"name": "errors", "metric": "error_rate", "condition": ">", "threshold": 0.02,
    "window_seconds": 600, "severity": "critical", "cooldown_seconds": 900}`; see
    docs/monitoring.md for the metrics and defaults."""
    c = client()
    reply = None
    if rules is not _UNSET:
        # The service takes `rules: null` to mean the defaults, so it is sent explicitly.
        reply, _ = c.request({"type": "set_alert_rules", "model": name, "rules": rules})
    if webhooks is not _UNSET:
        reply = c.call("set_alert_webhooks", model=name, webhooks=list(webhooks or []))
    if reply is None:
        reply = c.call("get_alert_rules", model=name)
    return {k: v for k, v in reply.items() if k not in ("type", "id")}


def integrity_policy(name: str, **kinds: str) -> dict[str, str]:
    """The data-integrity policy of deployment `name`: for each kind ("missing_feature",
    "unexpected_feature", "type_mismatch", "new_category", "out_of_range", "null_spike"),
    "refuse" (a 400 naming the field) or "serve" (served, and counted either way). Given
    kinds are changed (audited), e.g. `nd.integrity_policy("churn", out_of_range="refuse")`;
    the others keep theirs. See docs/monitoring.md#integrity."""
    c = client()
    reply = c.call("set_integrity_policy", model=name, policy=kinds) if kinds else c.call("get_model", model=name)
    return dict(reply["model"]["deployment"]["integrity_policy"])
