"""Validation gates: `{"f1": ">= 0.9", "roc_auc": ">= baseline - 0.01", "mae": "<= training * 1.1"}`.

A condition is a comparison (`>=`, `<=`, `>`, `<`, `==`) against a number, or against
`baseline` (the production version's value on the same data) or `training` (the value
at export), optionally shifted (`+ x`, `- x`) or scaled (`* x`)."""

from __future__ import annotations

import operator
import re
from dataclasses import asdict, dataclass
from typing import Any

OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
CONDITION = re.compile(
    r"^\s*(>=|<=|==|>|<)\s*(?:(?P<ref>baseline|training)\s*(?:(?P<arith>[-+*])\s*(?P<k>[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?))?|(?P<num>[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?))\s*$"
)


class GateError(ValueError):
    """A gate that cannot be read."""


@dataclass
class GateResult:
    metric: str
    condition: str
    value: float | None
    threshold: float | None
    #: "pass", "fail", or "n/a" (no baseline to compare with)
    status: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse(condition: str) -> tuple[str, str | None, str | None, float]:
    match = CONDITION.match(condition)
    if not match:
        raise GateError(
            f"cannot read the gate condition {condition!r}; write e.g. '>= 0.9', '>= baseline - 0.01' or '<= training * 1.1'"
        )
    op = match.group(1)
    if match.group("num") is not None:
        return op, None, None, float(match.group("num"))
    return op, match.group("ref"), match.group("arith"), float(match.group("k") or 0.0)


def evaluate(gates: dict[str, str], metrics: dict[str, Any], baseline: dict[str, Any] | None, training: dict[str, Any]) -> list[GateResult]:
    results = []
    for metric, condition in gates.items():
        op, ref, arith, k = parse(condition)
        value = metrics.get(metric)
        if metric not in metrics:
            raise GateError(f"gate on unknown metric {metric!r}; the report has {sorted(metrics)}")
        if ref is None:
            threshold: float | None = k
        else:
            source = baseline if ref == "baseline" else training
            base = (source or {}).get(metric)
            if base is None:
                why = "no production version to compare with" if ref == "baseline" else "no training value of this metric"
                results.append(GateResult(metric, condition, value, None, "n/a", why))
                continue
            threshold = base + k if arith == "+" else base - k if arith == "-" else base * k if arith == "*" else base
        if value is None:
            results.append(GateResult(metric, condition, None, threshold, "fail", f"{metric} could not be computed on this data"))
            continue
        ok = OPS[op](value, threshold)
        results.append(
            GateResult(metric, condition, value, threshold, "pass" if ok else "fail", f"{metric} = {value:.4g} {'meets' if ok else 'misses'} {op} {threshold:.4g}")
        )
    return results
