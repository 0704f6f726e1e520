"""Declarative claims (Spec + decide) and the power of every claim row, against hand values."""

import math

import pytest
from scipy import stats

from ci_inpaint.experiments.claims import (
    HOLDS,
    INCONCLUSIVE,
    Spec,
    best,
    bound,
    claim_rows,
    compare,
    compare_paired,
    decide,
    mean_power,
    seeds_to_decide,
)
from ci_inpaint.experiments.stats import summarize


def _rows(values):
    return [{"variant": v, "seed": s, "m": x} for v, xs in values.items() for s, x in enumerate(xs)]


def test_paired_power_by_hand():
    diffs = [1.0, 2.0, 3.0]  # mean 2, sd 1
    p = mean_power(diffs, INCONCLUSIVE)
    t2 = stats.t.ppf(0.975, 2)
    assert p.n == 3 and p.detectable == pytest.approx(t2 / math.sqrt(3))
    # 2 > t_{n-1} / sqrt(n) first at n = 4? t_{0.975,2}/sqrt(3) = 2.48; n=4: 3.18/2 = 1.59 < 2
    assert p.seeds_needed == 4
    assert t2 / math.sqrt(3) >= 2 > stats.t.ppf(0.975, 3) / 2


def test_seeds_to_decide_is_the_smallest_such_n():
    half = lambda n: stats.t.ppf(0.975, n - 1) * 3.0 / math.sqrt(n)  # noqa: E731
    n = seeds_to_decide(1.0, half, INCONCLUSIVE)
    assert half(n) < 1.0 <= half(n - 1)
    assert seeds_to_decide(1.0, half, HOLDS) is None  # decided: nothing to settle
    assert seeds_to_decide(0.0, half, INCONCLUSIVE) is None  # no effect: no n settles it


def test_welch_power_half_width_equals_the_interval():
    a, b = summarize([1.0, 2.0, 4.0, 3.5]), summarize([2.0, 3.5, 4.5, 3.0])
    c = compare("a < b", a, b, "<")
    assert c.verdict == INCONCLUSIVE
    va, vb = a.std ** 2 / 4, b.std ** 2 / 4
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 3)
    assert c.power.detectable == pytest.approx(stats.t.ppf(0.975, df) * math.sqrt(va + vb))
    assert c.power.seeds_needed > 4 and c.to_dict()["power"]["n"] == 4
    assert c.to_dict()["tests"]["welch"] == c.evidence


def test_bound_power_and_row_columns():
    c = bound("mean >= 0", summarize([0.9, 1.1, 1.0]), ">=", 0.0)
    assert c.verdict == HOLDS and c.power.seeds_needed is None
    row = claim_rows([c])[0]
    assert row["detectable"].endswith("(n = 3)") and row["seeds to decide"] == "-"


def test_decide_gives_one_row_per_spec_with_both_tests_and_the_old_verdicts():
    # a shared seed effect: Welch cannot see a < b, the paired test can
    vals = {"a": [1.0, 5.0, 9.0, 3.0], "b": [1.2, 5.3, 9.1, 3.4], "c": [10.0, 11.0, 12.0, 13.0]}
    rows = _rows(vals)
    specs = [Spec("a below b", "m", "a", "b", "<", paper_gap=0.5),
             Spec("a lowest", "m", "a", ("b", "c"), "<"),
             Spec("a at most 20", "m", "a", 20.0, "<="),
             Spec("missing", "m", "a", "zzz", "<")]
    out = decide(specs, rows, why="teaching scale")
    assert [c.text for c in out] == ["a below b", "a lowest", "a at most 20"]
    first = out[0]
    assert set(first.tests) == {"welch", "paired"} and first.verdict == HOLDS
    assert first.evidence.startswith("paired") and first.power.paper_gap == 0.5
    welch_old = compare("", summarize(vals["a"]), summarize(vals["b"]), "<")
    paired_old = compare_paired("", dict(enumerate(vals["a"])), dict(enumerate(vals["b"])), "<")
    assert welch_old.verdict == INCONCLUSIVE and paired_old.verdict == HOLDS
    assert first.tests["welch"] == welch_old.evidence
    assert first.tests["paired"] == paired_old.evidence
    assert first.why == ""
    old_best = best("", {k: summarize(v) for k, v in vals.items()}, "a")
    assert old_best.verdict == INCONCLUSIVE and out[1].verdict == HOLDS  # paired decides
    assert out[2].verdict == HOLDS


def test_decide_without_matched_seeds_falls_back_to_welch_and_says_why():
    rows = [{"variant": "a", "seed": 0, "m": 1.0}, {"variant": "a", "seed": 1, "m": 2.0},
            {"variant": "b", "seed": 5, "m": 1.5}, {"variant": "b", "seed": 6, "m": 2.5}]
    (c,) = decide([Spec("a < b", "m", "a", "b", "<", why="own reason")], rows, why="general")
    assert set(c.tests) == {"welch"} and c.verdict == INCONCLUSIVE and c.why == "own reason"


def test_best_spec_may_list_the_winner_in_table_order():
    """``b`` listing ``a`` itself keeps the table's order in the evidence; the rivals (and so the
    verdict and the tests) are the same as without it."""
    from ci_inpaint.experiments.claims import Spec, decide, paired_claims, welch_claims
    from ci_inpaint.experiments.stats import aggregate

    rows = [{"variant": v, "seed": s, "m": base + 0.01 * s}
            for v, base in (("x", 3.0), ("a", 1.0), ("y", 2.0)) for s in range(3)]
    listed = Spec("a is lowest", "m", "a", ("x", "a", "y"), "<")
    plain = Spec("a is lowest", "m", "a", ("x", "y"), "<")
    t = aggregate(rows, ["m"])
    w1, w2 = welch_claims([listed], t)[0], welch_claims([plain], t)[0]
    assert w1.ours.startswith("x ") and w2.ours.startswith("a ")
    assert w1.verdict == w2.verdict == "holds" and w1.evidence == w2.evidence
    p1, p2 = paired_claims([listed], rows)[0], paired_claims([plain], rows)[0]
    assert p1.verdict == p2.verdict and p1.evidence == p2.evidence
    assert decide([listed], rows)[0].__dict__ == decide([plain], rows)[0].__dict__
