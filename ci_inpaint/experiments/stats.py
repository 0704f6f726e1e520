"""Mean, sample std and a Student-t 95 % interval over seeds, grouped by variant.

Conventions (stated once, used by every notebook):

* ``std`` is the **sample** standard deviation (ddof = 1); with one value it is undefined (NaN).
* ``lo``/``hi`` bound the two-sided ``level`` (default 95 %) confidence interval of the mean,
  ``mean -+ t_{(1+level)/2, n-1} * std / sqrt(n)`` (Student t, as seeds are few). With n = 1
  the interval is undefined: NaN bounds and ``note = "n = 1: no interval"``.
* A metric missing from a row (or not a finite number) is left out of that row's group.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

LEVEL = 0.95


@dataclass(frozen=True)
class Stat:
    """Summary of n values of one metric: mean, sample std (ddof = 1), Student-t interval."""

    mean: float
    std: float  # sample std, ddof = 1 (NaN for n = 1)
    n: int
    lo: float  # lower bound of the `level` interval of the mean (NaN for n = 1)
    hi: float
    level: float = LEVEL

    @property
    def note(self) -> str:
        return "n = 1: no interval" if self.n < 2 else ""

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and math.isfinite(self.lo) and math.isfinite(self.hi)

    def format(self, digits: int = 3) -> str:
        """``"2 ± 1 [0.516, 3.48] (n = 3)"``: mean ± std, the interval, n."""
        if self.n < 2:
            return f"{self.mean:.{digits}g} (n = 1: no interval)"
        return (f"{self.mean:.{digits}g} ± {self.std:.2g} "
                f"[{self.lo:.{digits}g}, {self.hi:.{digits}g}] (n = {self.n})")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "note": self.note}


def summarize(values: Iterable[float], level: float = LEVEL) -> Stat:
    """:class:`Stat` of ``values`` (finite numbers; at least one)."""
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    if v.size == 0:
        raise ValueError("summarize needs at least one value")
    mean = float(v.mean())
    if v.size < 2:
        return Stat(mean, math.nan, 1, math.nan, math.nan, level)
    std = float(v.std(ddof=1))
    half = float(_st.t.ppf((1 + level) / 2, v.size - 1)) * std / math.sqrt(v.size)
    return Stat(mean, std, int(v.size), mean - half, mean + half, level)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def aggregate(rows: Sequence[dict[str, Any]], keys: Sequence[str] | None = None,
              by: str | Sequence[str] = "variant", level: float = LEVEL) -> dict[Any, dict[str, Stat]]:
    """``{group: {key: Stat}}`` over ``rows`` (one row per run), groups in first-seen order.

    ``by``: the column(s) that name a group (one name -> its value is the group key; several ->
    a tuple). ``keys``: the metrics to summarise; default every numeric column of the first row
    of each group except ``by`` and ``seed``.
    """
    cols = (by,) if isinstance(by, str) else tuple(by)
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        g = r[cols[0]] if len(cols) == 1 else tuple(r[c] for c in cols)
        groups.setdefault(g, []).append(r)
    out: dict[Any, dict[str, Stat]] = {}
    for g, sel in groups.items():
        names = keys if keys is not None else [
            k for k, v in sel[0].items() if k not in cols and k != "seed" and _number(v) is not None]
        out[g] = {}
        for k in names:
            vals = [x for x in (_number(r.get(k)) for r in sel) if x is not None]
            if vals:
                out[g][k] = summarize(vals, level)
    return out


def table_rows(table: dict[Any, dict[str, Stat]], keys: Sequence[str],
               labels: dict[str, str] | None = None, group: str = "variant",
               digits: int = 3) -> list[dict[str, str]]:
    """Rows for a markdown table: one per group, a ``mean ± std [lo, hi]`` cell per key."""
    labels = labels or {}
    return [{group: str(g), **{labels.get(k, k): (d[k].format(digits) if k in d else "-")
                               for k in keys}} for g, d in table.items()]


__all__ = ["LEVEL", "Stat", "aggregate", "summarize", "table_rows"]
