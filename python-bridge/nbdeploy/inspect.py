"""`nd.inspect`: triage of a drifted window. The rows a deployment captured (nd.capture) in a
span, as a DataFrame, and one feature against the version's training profile: its distribution,
the quantiles or categories that moved most, the drift test monitoring runs for it (on these
rows), the integrity events of the span, and the other features ranked by their drift on the
same rows. The service computes all of it, and the text and HTML fallbacks (with the chart as
SVG), so that Python, TypeScript and the extension show the same findings.
See docs/protocol.md#inspect."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import display
from ._json import jsonable
from ._session import client
from .capture import Moment, captured_frame, span_fields

INSPECT_MIME = "application/vnd.nbdeploy.inspect+json"


@dataclass
class Inspection(display.Output):
    """What `nd.inspect` found. `report` is the panel's payload (the service's findings);
    `table` the captured rows; `text` and `html` the fallbacks the service made."""

    report: dict[str, Any]
    table: dict[str, Any]
    text: str
    html: str

    @property
    def feature(self) -> str:
        return self.report["feature"]["name"]

    @property
    def kind(self) -> str:
        """"numeric" or "categorical"."""
        return self.report["feature"]["kind"]

    @property
    def test(self) -> dict[str, Any] | None:
        """The drift test monitoring runs for the feature, on these rows against the profile's
        sample: `method`, `statistic`, `p_value`, `threshold`, `drifted`; None when it cannot run
        (the note says why: e.g. numeric personal data, kept only as hashes)."""
        return self.report["feature"]["test"]

    @property
    def method(self) -> str | None:
        return self.test["method"] if self.test else None

    @property
    def statistic(self) -> float | None:
        """The test's statistic (an infinite chi-square, a category the training never had, is inf)."""
        if not self.test:
            return None
        value = self.test["statistic"]
        return float("inf") if value is None else float(value)

    @property
    def p_value(self) -> float | None:
        return None if not self.test or self.test["p_value"] is None else float(self.test["p_value"])

    @property
    def drifted(self) -> bool | None:
        return bool(self.test["drifted"]) if self.test else None

    @property
    def note(self) -> str | None:
        return self.report["feature"]["note"]

    @property
    def quantiles(self) -> pd.DataFrame | None:
        """Numeric features: training and captured quantiles, the most moved first."""
        rows = self.report["feature"].get("quantiles")
        return None if rows is None else pd.DataFrame(rows, columns=["q", "training", "captured", "shift", "shift_sd"])

    @property
    def categories(self) -> pd.DataFrame | None:
        """Categorical features: training and captured shares, the most moved first."""
        rows = self.report["feature"].get("categories")
        return None if rows is None else pd.DataFrame(rows, columns=["category", "training", "captured", "change"])

    @property
    def moved_together(self) -> pd.DataFrame:
        """The other features, tested on the same rows, the most drifted first."""
        columns = ["feature", "kind", "method", "statistic", "p_value", "threshold", "drifted"]
        return pd.DataFrame(self.report["moved_together"], columns=columns)

    @property
    def integrity(self) -> dict[str, Any]:
        """The span's integrity events: `counts` by kind, `features` (counts and latest detail), `windows`."""
        return self.report["integrity"]

    @property
    def rows(self) -> pd.DataFrame:
        """The captured rows inspected, as nd.captured gives them for the span (served rows of the version)."""
        return captured_frame(self.table, self.report["from"], self.report["to"])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {INSPECT_MIME: jsonable(self.report), "text/plain": self.text, "text/html": self.html}

    def __repr__(self) -> str:
        return self.text


def inspect(
    name: str,
    feature: str | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    last: str | int | float | None = None,
    version: int | None = None,
    limit: int = 10_000,
    show: bool = True,
) -> Inspection:
    """Inspects what deployment `name` captured from `start` to `end` (ISO strings, datetimes,
    pandas Timestamps — naive ones are UTC — or epoch milliseconds; `end` defaults to now), or
    over the `last` span ("15m", "1h"; the default is the last hour): the rows `version`
    (default production) served, `feature` (default: the most drifted) against the training
    profile. Returns an `Inspection` (`.rows`, `.feature`, `.statistic`, `.p_value`,
    `.drifted`, `.moved_together`, …) and draws its panel (unless `show=False`). Warns when
    more than `limit` rows were captured in the span (the oldest are read)."""
    fields: dict[str, Any] = {"model": name, "feature": feature, "version": version, "limit": int(limit), "fallbacks": True}
    fields.update(span_fields(last if last is not None else "1h", start, end))
    reply = client().call("inspect", **fields)
    result = Inspection(reply["report"], reply["table"], reply["text"], reply["html"])
    if reply["table"]["truncated"]:
        warnings.warn(f"more than {limit} rows of {name!r} were captured in this span: the first {limit} were inspected (raise limit= or narrow the span)", stacklevel=2)
    if show:
        result.show()
    return result
