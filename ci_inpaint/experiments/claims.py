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

Each :class:`Claim` carries our number, the paper's number with its source (:class:`Reference`),
a sentence slot ``why`` for why ours differs and its :class:`Power`.

**Declarative claims.** A paper's claims are a list of :class:`Spec` (text, the two sides, the
direction, the paper's reference and gap); :func:`decide` turns the list and the per-seed grid
rows into one :class:`Claim` per spec, with both tests at once (``Claim.tests``): Welch on the
two groups and, where the rows match seeds (seed s of every variant shares data order, masks,
initial weights...), the paired interval. **Verdict rule:** the paired test decides when the
two sides share at least 2 seeds, since the grids match seeds by design and the paired interval
removes the spread the seeds share; Welch decides otherwise. Both are shown, the deciding test
first in ``evidence``.

**Power** (:class:`Power`, from the deciding test): ``n`` seeds per side, ``detectable`` = the
interval's half-width at the observed spread (the smallest |effect| these seeds can tell from
0), the paper's gap where it has one, and ``seeds_needed`` = the smallest n per side whose
t-interval half-width at the observed std is below the observed |difference| (``None`` when the
claim is decided already, the difference is 0 or a side has one seed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Power:
    """What a claim's seeds can see (module docstring): ``n`` seeds per side, ``detectable`` the
    interval's half-width, ``paper_gap`` the paper's own difference, ``seeds_needed`` the seeds
    per side that would decide it at the observed spread."""

    n: int
    detectable: float | None = None
    paper_gap: float | None = None
    seeds_needed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "detectable": self.detectable, "paper_gap": self.paper_gap,
                "seeds_needed": self.seeds_needed}


@dataclass
class Claim:
    text: str
    verdict: str  # holds | inconclusive | does not hold
    evidence: str  # the test and its numbers (both tests joined with "; ", the deciding first)
    ours: str = ""  # our value(s), formatted
    paper: Reference | None = None
    why: str = ""  # why ours differs from the paper (a sentence; empty when it agrees)
    tests: dict[str, str] = field(default_factory=dict)  # {"welch": ..., "paired": ...}
    power: Power | None = None  # of the deciding test (None for a deterministic fact)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r}: use one of {', '.join(VERDICTS)}")

    def to_dict(self) -> dict[str, Any]:
        d = {"text": self.text, "verdict": self.verdict, "evidence": self.evidence,
             "ours": self.ours, "paper": self.paper.to_dict() if self.paper else None,
             "why_differs": self.why}
        if self.tests:
            d["tests"] = dict(self.tests)
        if self.power is not None:
            d["power"] = self.power.to_dict()
        return d


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


SEEDS_CAP = 10_000  # seeds_needed beyond this is reported as None (far below this scale's reach)


def _tq(level: float, df: float) -> float:
    return float(_st.t.ppf((1 + level) / 2, df))


def seeds_to_decide(d: float, half: Any, verdict: str) -> int | None:
    """The smallest n per side whose interval half-width ``half(n)`` lies below |d| (then the
    interval excludes 0 at the observed spread); None when decided already, d = 0, or beyond
    :data:`SEEDS_CAP`."""
    if verdict != INCONCLUSIVE or not math.isfinite(d) or d == 0:
        return None
    lo, hi = 2, 2
    while half(hi) >= abs(d):  # doubling, then bisection: half(n) falls with n
        if hi >= SEEDS_CAP:
            return None
        lo, hi = hi, min(2 * hi, SEEDS_CAP)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if half(mid) >= abs(d) else (lo, mid)
    return hi


def welch_power(a: Stat, b: Stat, verdict: str, level: float = LEVEL,
                paper_gap: float | None = None) -> Power:
    """:class:`Power` of a Welch comparison: the half-width of its interval and the equal n
    per side that would decide it at the observed standard deviations."""
    n = min(a.n, b.n)
    if a.n < 2 or b.n < 2:
        return Power(n, None, paper_gap, None)
    va, vb = a.std ** 2, b.std ** 2
    se = math.sqrt(va / a.n + vb / b.n)
    if se == 0:
        return Power(n, 0.0, paper_gap, None)
    df = (va / a.n + vb / b.n) ** 2 / ((va / a.n) ** 2 / (a.n - 1) + (vb / b.n) ** 2 / (b.n - 1))

    def half(k: int) -> float:
        v = (va + vb) / k
        dfk = v ** 2 / ((va / k) ** 2 / (k - 1) + (vb / k) ** 2 / (k - 1))
        return _tq(level, dfk) * math.sqrt(v)

    return Power(n, _tq(level, df) * se, paper_gap,
                 seeds_to_decide(a.mean - b.mean, half, verdict))


def mean_power(diffs: list[float], verdict: str, level: float = LEVEL, target: float = 0.0,
               paper_gap: float | None = None) -> Power:
    """:class:`Power` of a one-sample interval (paired differences, or a mean against a bound
    ``target``): half-width t * s / sqrt(n) and the n that would decide it."""
    n = len(diffs)
    if n < 2:
        return Power(n, None, paper_gap, None)
    s = summarize(diffs)
    if s.std == 0:
        return Power(n, 0.0, paper_gap, None)
    return Power(n, _tq(level, n - 1) * s.std / math.sqrt(n), paper_gap,
                 seeds_to_decide(s.mean - target,
                                 lambda k: _tq(level, k - 1) * s.std / math.sqrt(k), verdict))


def compare(text: str, a: Stat, b: Stat, op: str = "<", names: tuple[str, str] = ("a", "b"),
            paper: Reference | None = None, why: str = "", level: float = LEVEL) -> Claim:
    """Claim ``mean_a op mean_b`` (op ``<`` or ``>``) decided by the Welch interval of a - b."""
    if op not in ("<", ">"):
        raise ValueError(f"op {op!r}: use '<' or '>'")
    w = welch(a, b, level)
    ours = f"{names[0]} {a.format()} vs {names[1]} {b.format()}"
    if not math.isfinite(w.lo):
        ev = f"n = 1 in a group: no interval for {names[0]} - {names[1]} = {w.d:.3g}"
        return Claim(text, INCONCLUSIVE, ev, ours, paper, why, {"welch": ev},
                     Power(min(a.n, b.n)))
    verdict = _side(w.lo, w.hi, 1 if op == ">" else -1)
    ev = (f"Welch {level:.0%} CI of {names[0]} - {names[1]}: {w.d:.3g} [{w.lo:.3g}, {w.hi:.3g}]"
          f", p = {w.p:.2g}")
    return Claim(text, verdict, ev, ours, paper, why, {"welch": ev},
                 welch_power(a, b, verdict, level))


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
        ev = f"{len(diffs)} matched pair(s): no interval"
        return Claim(text, INCONCLUSIVE, ev, ours, paper, why, {"paired": ev}, Power(len(diffs)))
    s = summarize(diffs, level)
    lo, hi = (s.lo, s.hi) if s.std > 0 else (s.mean, s.mean)
    p = (float(2 * _st.t.sf(abs(s.mean) / (s.std / math.sqrt(s.n)), s.n - 1)) if s.std > 0
         else 0.0 if s.mean else 1.0)
    verdict = _side(lo, hi, 1 if op == ">" else -1)
    ev = (f"paired {level:.0%} CI of {names[0]} - {names[1]} over {s.n} matched seeds: "
          f"{s.mean:.3g} [{lo:.3g}, {hi:.3g}], p = {p:.2g}")
    return Claim(text, verdict, ev, ours, paper, why, {"paired": ev},
                 mean_power(diffs, verdict, level))


def bound(text: str, s: Stat, op: str, value: float, name: str = "",
          paper: Reference | None = None, why: str = "") -> Claim:
    """Claim ``mean op value`` (op ``>=``, ``>``, ``<=``, ``<``) from the Student-t interval."""
    if op not in (">=", ">", "<=", "<"):
        raise ValueError(f"op {op!r}: use >=, >, <= or <")
    ours = f"{name + ' ' if name else ''}{s.format()}"
    if s.n < 2:
        return Claim(text, INCONCLUSIVE, "n = 1: no interval", ours, paper, why,
                     {"bound": "n = 1: no interval"}, Power(s.n))
    lo, hi = (s.lo, s.hi) if s.std > 0 else (s.mean, s.mean)
    x = value
    holds, fails = {">=": (lo >= x, hi < x), ">": (lo > x, hi <= x),
                    "<=": (hi <= x, lo > x), "<": (hi < x, lo >= x)}[op]
    verdict = HOLDS if holds else FAILS if fails else INCONCLUSIVE
    ev = f"{s.level:.0%} CI of the mean [{lo:.3g}, {hi:.3g}] vs {op} {value:g}"
    if s.std > 0:
        half = _tq(s.level, s.n - 1) * s.std / math.sqrt(s.n)
        need = seeds_to_decide(s.mean - x, lambda k: _tq(s.level, k - 1) * s.std / math.sqrt(k),
                               verdict)
        power = Power(s.n, half, None, need)
    else:
        power = Power(s.n, 0.0)
    return Claim(text, verdict, ev, ours, paper, why, {"bound": ev}, power)


def best(text: str, stats: dict[str, Stat], winner: str, lower: bool = True,
         paper: Reference | None = None, why: str = "", level: float = LEVEL) -> Claim:
    """Claim ``winner`` has the lowest (``lower``) / highest mean of ``stats``: every pairwise
    Welch comparison must hold."""
    op = "<" if lower else ">"
    parts = [compare("", stats[winner], stats[o], op, (winner, o), level=level)
             for o in stats if o != winner]
    ours = "; ".join(f"{k} {v.format()}" for k, v in stats.items())
    return Claim(text, _all_of(parts), "; ".join(c.evidence for c in parts), ours, paper, why,
                 {"welch": "; ".join(c.evidence for c in parts)}, _power_of_all(parts))


def _power_of_all(parts: list[Claim]) -> Power | None:
    """The power of "every part holds": the fewest seeds, the widest detectable effect, and the
    seeds the hardest undecided part would need (None if one is beyond reach)."""
    powers = [c.power for c in parts if c.power is not None]
    if not powers:
        return None
    det = [p.detectable for p in powers if p.detectable is not None]
    open_ = [c for c in parts if c.verdict == INCONCLUSIVE]
    needs = [c.power.seeds_needed if c.power else None for c in open_]
    need = None if not needs or None in needs else max(needs)
    return Power(min(p.n for p in powers), max(det) if det else None, None, need)


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
                 "; ".join(c.ours for c in parts), paper, why,
                 {"paired": "; ".join(c.evidence for c in parts)}, _power_of_all(parts))


@dataclass(frozen=True)
class Spec:
    """One claim of a paper, declared: ``a`` op ``b`` on ``metric``.

    ``b`` is a rival variant (``op`` ``<`` / ``>``), a tuple of rivals (``a`` beats every one;
    the tuple may list ``a`` itself, in the table's order, which is then the evidence's order:
    a "best" claim), or a number (a bound: ``op`` ``>=``, ``>``, ``<=``, ``<``). ``metric_b``
    when b's side reads another metric (e.g. the same variant under two settings). ``names``
    label the two sides in the evidence (default: the variant names); ``paper`` is the paper's
    number and source, ``paper_gap`` its own difference where it states one; ``why`` is said
    when ours does not hold.
    """

    text: str
    metric: str
    a: str
    b: str | float | tuple[str, ...]
    op: str = "<"
    names: tuple[str, str] | None = None
    paper: Reference | None = None
    paper_gap: float | None = None
    metric_b: str | None = None
    why: str = ""


def _rivals(spec: Spec) -> tuple[str, ...]:
    """The variants ``spec.a`` is compared with (``b``, without ``a`` itself)."""
    return tuple(r for r in spec.b if r != spec.a) if isinstance(spec.b, tuple) else (spec.b,)


def _order(spec: Spec) -> tuple[str, ...]:
    """The variants of a "best" claim in the evidence's order: ``b`` when it lists ``a``."""
    return spec.b if spec.a in spec.b else (spec.a, *spec.b)


def _decide_one(spec: Spec, rows: list[dict[str, Any]], by: str, level: float) -> Claim | None:
    a_vals = paired_values(rows, spec.metric, by).get(spec.a)
    if not a_vals:
        return None
    if isinstance(spec.b, (int, float)) and not isinstance(spec.b, bool):
        st = summarize(list(a_vals.values()), level)
        return bound(spec.text, st, spec.op, float(spec.b), (spec.names or (spec.a,))[0],
                     spec.paper)
    vb = paired_values(rows, spec.metric_b or spec.metric, by)
    rivals = _rivals(spec)
    if any(r not in vb for r in rivals):
        return None
    parts = []
    for r in rivals:
        names = spec.names if spec.names and len(rivals) == 1 else (spec.a, r)
        w = compare("", summarize(list(a_vals.values()), level),
                    summarize(list(vb[r].values()), level), spec.op, names, level=level)
        matched = sum(k in vb[r] for k in a_vals)
        pr = (compare_paired("", a_vals, vb[r], spec.op, names, level=level)
              if matched >= 2 else None)
        parts.append((w, pr))
    deciding = [pr if pr is not None else w for w, pr in parts]
    tests = {"welch": "; ".join(w.evidence for w, _ in parts)}
    if all(pr is not None for _, pr in parts):
        tests["paired"] = "; ".join(pr.evidence for _, pr in parts)
    first = "paired" if "paired" in tests else "welch"
    evidence = "; ".join([tests[first]] + [v for k, v in tests.items() if k != first])
    power = _power_of_all(deciding)
    if power is not None and spec.paper_gap is not None:
        power = Power(power.n, power.detectable, spec.paper_gap, power.seeds_needed)
    ours = "; ".join(w.ours for w, _ in parts)
    return Claim(spec.text, _all_of(deciding), evidence, ours, spec.paper, "", tests, power)


def decide(specs: Iterable[Spec], rows: Iterable[dict[str, Any]], *, by: str = "variant",
           level: float = LEVEL, why: str = "") -> list[Claim]:
    """One :class:`Claim` per spec from per-seed grid rows (``{by: variant, "seed": s,
    metric: value, ...}``), Welch and paired at once (module docstring: the paired test decides
    where the sides share >= 2 seeds). A spec whose variants or metric are absent from the rows
    is left out. ``why`` (or the spec's own) is said of every claim that does not hold."""
    rows = list(rows)
    out = []
    for spec in specs:
        c = _decide_one(spec, rows, by, level)
        if c is not None:
            c.why = "" if c.verdict == HOLDS else (spec.why or why)
            out.append(c)
    return out


def with_why(claims: Iterable[Claim], why: str) -> list[Claim]:
    """``claims`` with ``why`` said of each one that does not hold (and cleared where it does)."""
    out = list(claims)
    for c in out:
        c.why = "" if c.verdict == HOLDS else why
    return out


def welch_claims(specs: Iterable[Spec], table: dict[str, dict[str, Stat]],
                 why: str = "") -> list[Claim]:
    """The specs decided by Welch alone from an aggregate ``table[variant][metric]`` (what the
    notebooks' Welch tables show); specs whose variants or metrics are absent are left out."""
    out = []
    for sp in specs:
        rivals = _rivals(sp)
        have = sp.a in table and sp.metric in table[sp.a]
        if not have or (not isinstance(sp.b, (int, float)) and any(
                r not in table or (sp.metric_b or sp.metric) not in table[r] for r in rivals)):
            continue
        a = table[sp.a][sp.metric]
        if isinstance(sp.b, (int, float)) and not isinstance(sp.b, bool):
            c = bound(sp.text, a, sp.op, float(sp.b), (sp.names or (sp.a,))[0], sp.paper)
        elif isinstance(sp.b, tuple):
            field = {sp.a: a, **{r: table[r][sp.metric_b or sp.metric] for r in rivals}}
            c = best(sp.text, {v: field[v] for v in _order(sp)}, sp.a, sp.op == "<", sp.paper)
        else:
            c = compare(sp.text, a, table[sp.b][sp.metric_b or sp.metric], sp.op,
                        sp.names or (sp.a, sp.b), sp.paper)
        c.why = "" if c.verdict == HOLDS else (sp.why or why)
        out.append(c)
    return out


def paired_claims(specs: Iterable[Spec], rows: Iterable[dict[str, Any]], why: str = "",
                  text=lambda t: f"(paired) {t}", by: str = "variant") -> list[Claim]:
    """The specs decided by the paired test alone over matched seeds (``text`` rewrites each
    claim's text, e.g. to mark it paired); comparisons with fewer than two variants present are
    left out."""
    rows = list(rows)
    out = []
    for sp in specs:
        if isinstance(sp.b, (int, float)) and not isinstance(sp.b, bool):
            continue  # a bound has no pairs
        va = paired_values(rows, sp.metric, by)
        vb = paired_values(rows, sp.metric_b or sp.metric, by)
        rivals = _rivals(sp)
        if sp.a not in va or any(r not in vb for r in rivals):
            continue
        if isinstance(sp.b, tuple):
            field = {sp.a: va[sp.a], **{r: vb[r] for r in rivals}}
            c = best_paired(text(sp.text), {v: field[v] for v in _order(sp)}, sp.a,
                            sp.op == "<", sp.paper)
        else:
            c = compare_paired(text(sp.text), va[sp.a], vb[sp.b], sp.op, sp.names or (sp.a, sp.b),
                               sp.paper)
        c.why = "" if c.verdict == HOLDS else (sp.why or why)
        out.append(c)
    return out


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
    """Rows for a markdown table: verdict, claim, ours, the paper's number and source, test, the
    power columns (:func:`power_cells`), why ours differs."""
    return [{"verdict": c.verdict, "claim": c.text, "ours": c.ours,
             "paper": c.paper.format() if c.paper else "", "source": c.paper.source if c.paper else "",
             "test": c.evidence, **power_cells(c.power), "why ours differs": c.why} for c in claims]


def power_cells(p: Power | None) -> dict[str, str]:
    """The power columns of a claim row: detectable effect (with n), the paper's gap, the seeds
    that would decide it ("-" when decided or out of reach)."""
    if p is None:
        return {"detectable": "", "paper gap": "", "seeds to decide": ""}
    return {"detectable": "" if p.detectable is None else f"{p.detectable:.3g} (n = {p.n})",
            "paper gap": "" if p.paper_gap is None else f"{p.paper_gap:.3g}",
            "seeds to decide": "-" if p.seeds_needed is None else str(p.seeds_needed)}


__all__ = ["FAILS", "HOLDS", "INCONCLUSIVE", "SEEDS_CAP", "VERDICTS", "Claim", "Difference",
           "Power", "Reference", "Spec", "best", "best_paired", "bound", "claim_rows", "compare",
           "compare_paired", "decide", "fact", "mean_power", "paired_claims", "paired_values",
           "power_cells",
           "seeds_to_decide", "tally", "welch", "welch_claims", "welch_power", "with_why"]
