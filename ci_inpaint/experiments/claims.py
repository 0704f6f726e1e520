"""Claims about a paper, each with a three-way verdict decided from intervals, never from means.

Verdicts: ``holds``, ``inconclusive``, ``does not hold``. The rules (level 95 % by default):

* :func:`compare` (``a < b`` or ``a > b``): the Welch confidence interval of the difference of
  means, ``d = mean_a - mean_b``, ``se = sqrt(s_a^2/n_a + s_b^2/n_b)``, Welch-Satterthwaite
  degrees of freedom, ``d -+ t_{(1+level)/2, df} * se``. The claim holds when the whole interval
  lies on the claimed side of 0, does not hold when it lies wholly on the other side, and is
  inconclusive when it contains 0 (the two-sided Welch t-test at 1 - level cannot reject
  "equal"). With zero spread in both groups the interval is the point ``d``: holds iff ``d`` is on
  the claimed side. A group with n = 1 has no interval: inconclusive.
* :func:`compare_paired`: the same claim when the two groups are *matched* (seed s of a and seed s
  of b share data order, masks, initial weights...): the Student-t interval of the per-pair
  differences ``a_s - b_s`` (n - 1 degrees of freedom), which removes the spread the pairs share.
  :func:`best_paired` is :func:`best` with paired comparisons.
* :func:`bound` (``mean >= x`` etc.): the Student-t interval of one mean against a fixed value.
* :func:`best` (``w`` beats every other variant): every pairwise :func:`compare` holds -> holds;
  any does not hold -> does not hold; else inconclusive.
* :func:`fact`: a deterministic check (no noise): holds or does not hold.

Each :class:`Claim` carries our number, the paper's number with its source (:class:`Reference`)
and a sentence slot ``why`` for why ours differs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scipy import stats as _st

from .stats import LEVEL, Stat, summarize

HOLDS, INCONCLUSIVE, FAILS = "holds", "inconclusive", "does not hold"
VERDICTS = (HOLDS, INCONCLUSIVE, FAILS)


@dataclass(frozen=True)
class Reference:
    """The paper's number: ``value`` (± ``std`` over ``n`` runs when stated) and where it stands."""

    value: float | str
    source: str  # e.g. "Table 4 (Sec. 4.4), CIFAR-10"
    std: float | None = None
    n: int | None = None

    def format(self) -> str:
        v = f"{self.value:.4g}" if isinstance(self.value, float) else str(self.value)
        if self.std is not None:
            v += f" ± {self.std:.2g}"
        if self.n is not None:
            v += f" (n = {self.n})"
        return v

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"value": self.value, "source": self.source}
        if self.std is not None:
            d["std"] = self.std
        if self.n is not None:
            d["n"] = self.n
        return d


@dataclass
class Claim:
    text: str
    verdict: str  # holds | inconclusive | does not hold
    evidence: str  # the test and its numbers
    ours: str = ""  # our value(s), formatted
    paper: Reference | None = None
    why: str = ""  # why ours differs from the paper (a sentence; empty when it agrees)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r}: use one of {', '.join(VERDICTS)}")

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "verdict": self.verdict, "evidence": self.evidence,
                "ours": self.ours, "paper": self.paper.to_dict() if self.paper else None,
                "why_differs": self.why}


@dataclass(frozen=True)
class Difference:
    """Welch interval of ``mean_a - mean_b``; NaN bounds when a group has n < 2."""

    d: float
    lo: float
    hi: float
    df: float
    p: float  # two-sided Welch t-test p-value for "equal means"
    level: float = LEVEL


def welch(a: Stat, b: Stat, level: float = LEVEL) -> Difference:
    d = a.mean - b.mean
    if a.n < 2 or b.n < 2:
        return Difference(d, math.nan, math.nan, math.nan, math.nan, level)
    va, vb = a.std ** 2 / a.n, b.std ** 2 / b.n
    se = math.sqrt(va + vb)
    if se == 0.0:  # both without spread: the difference is known exactly
        return Difference(d, d, d, math.inf, 0.0 if d else 1.0, level)
    df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
    half = float(_st.t.ppf((1 + level) / 2, df)) * se
    p = float(2 * _st.t.sf(abs(d) / se, df))
    return Difference(d, d - half, d + half, df, p, level)


def _side(lo: float, hi: float, sign: int) -> str:
    """Verdict for an interval [lo, hi] of a quantity claimed to be > 0 (sign 1) or < 0 (-1)."""
    lo, hi = (lo, hi) if sign > 0 else (-hi, -lo)
    if lo > 0:
        return HOLDS
    if hi < 0 or hi == lo == 0:
        return FAILS
    return INCONCLUSIVE


def compare(text: str, a: Stat, b: Stat, op: str = "<", names: tuple[str, str] = ("a", "b"),
            paper: Reference | None = None, why: str = "", level: float = LEVEL) -> Claim:
    """Claim ``mean_a op mean_b`` (op ``<`` or ``>``) decided by the Welch interval of a - b."""
    if op not in ("<", ">"):
        raise ValueError(f"op {op!r}: use '<' or '>'")
    w = welch(a, b, level)
    ours = f"{names[0]} {a.format()} vs {names[1]} {b.format()}"
    if not math.isfinite(w.lo):
        return Claim(text, INCONCLUSIVE, f"n = 1 in a group: no interval for {names[0]} - "
                     f"{names[1]} = {w.d:.3g}", ours, paper, why)
    verdict = _side(w.lo, w.hi, 1 if op == ">" else -1)
    ev = (f"Welch {level:.0%} CI of {names[0]} - {names[1]}: {w.d:.3g} [{w.lo:.3g}, {w.hi:.3g}]"
          f", p = {w.p:.2g}")
    return Claim(text, verdict, ev, ours, paper, why)


def compare_paired(text: str, a: dict, b: dict, op: str = "<",
                   names: tuple[str, str] = ("a", "b"), paper: Reference | None = None,
                   why: str = "", level: float = LEVEL) -> Claim:
    """Claim ``a op b`` over matched pairs: ``a``, ``b`` map a pair key (the seed) to a value;
    decided by the Student-t interval of the differences over the keys both have."""
    if op not in ("<", ">"):
        raise ValueError(f"op {op!r}: use '<' or '>'")
    keys = [k for k in a if k in b]
    diffs = [float(a[k]) - float(b[k]) for k in keys]
    ours = (f"{names[0]} - {names[1]} per pair: "
            + ", ".join(f"{d:.3g}" for d in diffs) + f" (n = {len(diffs)})")
    if len(diffs) < 2:
        return Claim(text, INCONCLUSIVE, f"{len(diffs)} matched pair(s): no interval", ours,
                     paper, why)
    s = summarize(diffs, level)
    lo, hi = (s.lo, s.hi) if s.std > 0 else (s.mean, s.mean)
    p = (float(2 * _st.t.sf(abs(s.mean) / (s.std / math.sqrt(s.n)), s.n - 1)) if s.std > 0
         else 0.0 if s.mean else 1.0)
    verdict = _side(lo, hi, 1 if op == ">" else -1)
    ev = (f"paired {level:.0%} CI of {names[0]} - {names[1]} over {s.n} matched seeds: "
          f"{s.mean:.3g} [{lo:.3g}, {hi:.3g}], p = {p:.2g}")
    return Claim(text, verdict, ev, ours, paper, why)


def bound(text: str, s: Stat, op: str, value: float, name: str = "",
          paper: Reference | None = None, why: str = "") -> Claim:
    """Claim ``mean op value`` (op ``>=``, ``>``, ``<=``, ``<``) from the Student-t interval."""
    if op not in (">=", ">", "<=", "<"):
        raise ValueError(f"op {op!r}: use >=, >, <= or <")
    ours = f"{name + ' ' if name else ''}{s.format()}"
    if s.n < 2:
        return Claim(text, INCONCLUSIVE, "n = 1: no interval", ours, paper, why)
    lo, hi = (s.lo, s.hi) if s.std > 0 else (s.mean, s.mean)
    x = value
    holds, fails = {">=": (lo >= x, hi < x), ">": (lo > x, hi <= x),
                    "<=": (hi <= x, lo > x), "<": (hi < x, lo >= x)}[op]
    verdict = HOLDS if holds else FAILS if fails else INCONCLUSIVE
    ev = f"{s.level:.0%} CI of the mean [{lo:.3g}, {hi:.3g}] vs {op} {value:g}"
    return Claim(text, verdict, ev, ours, paper, why)


def best(text: str, stats: dict[str, Stat], winner: str, lower: bool = True,
         paper: Reference | None = None, why: str = "", level: float = LEVEL) -> Claim:
    """Claim ``winner`` has the lowest (``lower``) / highest mean of ``stats``: every pairwise
    Welch comparison must hold."""
    op = "<" if lower else ">"
    parts = [compare("", stats[winner], stats[o], op, (winner, o), level=level)
             for o in stats if o != winner]
    ours = "; ".join(f"{k} {v.format()}" for k, v in stats.items())
    return Claim(text, _all_of(parts), "; ".join(c.evidence for c in parts), ours, paper, why)


def _all_of(parts: list[Claim]) -> str:
    """The verdict of "every part holds": any part fails -> fails; all hold -> holds."""
    verdicts = {c.verdict for c in parts}
    return FAILS if FAILS in verdicts else HOLDS if verdicts == {HOLDS} else INCONCLUSIVE


def paired_values(rows: Iterable[dict[str, Any]], key: str,
                  by: str = "variant") -> dict[str, dict[int, float]]:
    """``{variant: {seed: row[key]}}`` from grid rows (rows without a number for ``key`` are
    left out): the input of :func:`compare_paired` / :func:`best_paired`."""
    out: dict[str, dict[int, float]] = {}
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out.setdefault(str(r[by]), {})[int(r["seed"])] = float(v)
    return out


def best_paired(text: str, values: dict[str, dict], winner: str, lower: bool = True,
                paper: Reference | None = None, why: str = "", level: float = LEVEL) -> Claim:
    """:func:`best` over matched pairs: ``values[variant][seed]``; every pairwise
    :func:`compare_paired` of ``winner`` must hold."""
    op = "<" if lower else ">"
    parts = [compare_paired("", values[winner], values[o], op, (winner, o), level=level)
             for o in values if o != winner]
    return Claim(text, _all_of(parts), "; ".join(c.evidence for c in parts),
                 "; ".join(c.ours for c in parts), paper, why)


def fact(text: str, ok: bool, evidence: str = "deterministic check", ours: str = "",
         paper: Reference | None = None, why: str = "") -> Claim:
    return Claim(text, HOLDS if ok else FAILS, evidence, ours, paper, why)


def tally(claims: Iterable[Claim | dict[str, Any]]) -> dict[str, int]:
    """``{"holds": n, "inconclusive": n, "does not hold": n}``."""
    out = dict.fromkeys(VERDICTS, 0)
    for c in claims:
        out[c.verdict if isinstance(c, Claim) else c["verdict"]] += 1
    return out


def claim_rows(claims: Iterable[Claim]) -> list[dict[str, str]]:
    """Rows for a markdown table: verdict, claim, ours, the paper's number and source, test,
    why ours differs."""
    return [{"verdict": c.verdict, "claim": c.text, "ours": c.ours,
             "paper": c.paper.format() if c.paper else "", "source": c.paper.source if c.paper else "",
             "test": c.evidence, "why ours differs": c.why} for c in claims]


__all__ = ["FAILS", "HOLDS", "INCONCLUSIVE", "VERDICTS", "Claim", "Difference", "Reference",
           "best", "best_paired", "bound", "claim_rows", "compare", "compare_paired",
           "paired_values", "fact", "tally", "welch"]
