"""The experiment layer: aggregate and verdicts against hand-computed values, the resumable grid
(a second call trains nothing), and parallel workers giving the serial rows."""

from __future__ import annotations

import math

import pytest
from scipy import stats as st

from ci_inpaint.experiments import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    Cell,
    Reference,
    aggregate,
    best,
    bound,
    compare,
    fact,
    load_run,
    run_grid,
    summarize,
    tally,
    train_run,
    welch,
)

# ---------------------------------------------------------------------- statistics


def test_summarize_by_hand():
    s = summarize([1.0, 2.0, 4.0])
    assert s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(math.sqrt(7 / 3))  # ddof = 1: (16 + 1 + 25) / 9 / 2
    t = 4.302652729911275  # t_{0.975, 2}
    assert st.t.ppf(0.975, 2) == pytest.approx(t)
    half = t * math.sqrt(7 / 3) / math.sqrt(3)
    assert (s.lo, s.hi) == (pytest.approx(7 / 3 - half), pytest.approx(7 / 3 + half))
    assert s.n == 3 and s.note == "" and s.has_interval
    one = summarize([5.0])
    assert one.mean == 5.0 and one.n == 1 and math.isnan(one.std) and math.isnan(one.lo)
    assert one.note == "n = 1: no interval" and "no interval" in one.format()


def test_aggregate_groups_keys_and_skips_missing():
    rows = [{"variant": "a", "seed": s, "x": v, "name": "fid", "flag": True}
            for s, v in enumerate([1.0, 2.0, 4.0])]
    rows += [{"variant": "b", "seed": 0, "x": 3.0}, {"variant": "b", "seed": 1, "x": float("nan")}]
    out = aggregate(rows)
    assert list(out) == ["a", "b"] and set(out["a"]) == {"x"}  # no seed, strings or bools
    assert out["a"]["x"] == summarize([1.0, 2.0, 4.0])
    assert out["b"]["x"].n == 1  # the NaN row is left out
    two = aggregate(rows, ["x"], by=("variant", "seed"))
    assert two[("a", 2)]["x"].mean == 4.0


# ---------------------------------------------------------------------- verdicts


def test_welch_by_hand_and_against_scipy():
    a, b = summarize([1, 2, 3]), summarize([5, 6, 7])  # var 1 each, n 3: se^2 = 2/3, df = 4
    w = welch(a, b)
    half = st.t.ppf(0.975, 4) * math.sqrt(2 / 3)
    assert w.df == pytest.approx(4.0) and (w.lo, w.hi) == (pytest.approx(-4 - half),
                                                          pytest.approx(-4 + half))
    assert w.p == pytest.approx(st.ttest_ind([1, 2, 3], [5, 6, 7], equal_var=False).pvalue)
    c = summarize([4, 6, 8])  # var 4: df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = 50/17
    assert welch(a, c).df == pytest.approx(50 / 17)


def test_compare_three_ways():
    a, b, wide = summarize([1, 2, 3]), summarize([5, 6, 7]), summarize([4, 6, 8])
    assert compare("a < b", a, b, "<").verdict == HOLDS
    assert compare("a > b", a, b, ">").verdict == FAILS
    # means differ by 4, but the interval [-8.2, 0.2] contains 0: two means alone would say holds
    assert compare("a < wide", a, wide, "<").verdict == INCONCLUSIVE
    one = compare("a < b", summarize([1.0]), b, "<")
    assert one.verdict == INCONCLUSIVE and "n = 1" in one.evidence
    same = summarize([2, 2]), summarize([3, 3])  # no spread: the difference is exact
    assert compare("x", *same, "<").verdict == HOLDS
    assert compare("x", same[0], same[0], "<").verdict == FAILS


def test_paired_compare_by_hand_and_against_scipy():
    from scipy import stats as st

    from ci_inpaint.experiments import compare_paired

    # a shared seed effect (10, 20, 30) that Welch cannot remove; the differences are 1, 2, 3
    a, b = {0: 11.0, 1: 22.0, 2: 33.0}, {0: 10.0, 1: 20.0, 2: 30.0, 3: 99.0}
    assert compare(">", summarize(a.values()), summarize(list(b.values())[:3]), ">").verdict \
        == INCONCLUSIVE
    c = compare_paired("a > b", a, b, ">", ("a", "b"))
    # mean 2, sd 1, n 3: 2 -+ t(0.975, 2) / sqrt(3) = 2 -+ 2.484 -> [-0.484, 4.484]
    assert c.verdict == INCONCLUSIVE and "[-0.484, 4.48]" in c.evidence and "3 matched" in c.evidence
    p = st.ttest_rel([11, 22, 33], [10, 20, 30]).pvalue
    assert f"p = {p:.2g}" in c.evidence
    tight = compare_paired("a > b", {0: 11.0, 1: 21.1, 2: 31.0}, {0: 10, 1: 20, 2: 30}, ">")
    assert tight.verdict == HOLDS
    assert compare_paired("a < b", {0: 11.0, 1: 21.1, 2: 31.0}, {0: 10, 1: 20, 2: 30},
                          "<").verdict == FAILS
    assert compare_paired("x", {0: 1.0}, {0: 2.0}).verdict == INCONCLUSIVE  # one pair
    assert compare_paired("x", {0: 1.0, 1: 2.0}, {0: 2.0, 1: 3.0}).verdict == HOLDS  # exact -1


def test_bound_best_fact_and_tally():
    s = summarize([17, 17, 17])
    assert bound("all modes", s, ">=", 17).verdict == HOLDS
    assert bound("all modes", summarize([17, 17, 16]), ">=", 17).verdict == INCONCLUSIVE
    assert bound("all modes", summarize([10, 11, 12]), ">=", 17).verdict == FAILS
    stats = {"x": summarize([1, 2, 3]), "y": summarize([5, 6, 7]), "z": summarize([4, 6, 8])}
    assert best("x lowest", stats, "x").verdict == INCONCLUSIVE  # x < y holds, x < z does not know
    assert best("y lowest", stats, "y").verdict == FAILS  # y < x is ruled out
    assert best("y highest", {"x": stats["x"], "y": stats["y"]}, "y", lower=False).verdict == HOLDS
    ref = Reference(25.21, "Table 4 (Sec. 4.4)", std=0.2, n=10)
    c = best("y highest", stats, "y", lower=False, paper=ref, why="smaller nets")
    d = c.to_dict()
    assert d["paper"] == {"value": 25.21, "source": "Table 4 (Sec. 4.4)", "std": 0.2, "n": 10}
    assert d["why_differs"] == "smaller nets" and "25.21 ± 0.2 (n = 10)" == ref.format()
    claims = [fact("ok", True), fact("no", False), c]
    assert tally(claims) == {HOLDS: 1, INCONCLUSIVE: 1, FAILS: 1}
    assert tally([x.to_dict() for x in claims]) == tally(claims)


# ---------------------------------------------------------------------- the grid


def _train_cell(cell: Cell) -> dict:
    """Module level so spawned workers can import it."""
    res = cell.train("toy_regression")
    return {"loss": res.metrics["mse"], "steps": res.steps_done}


def test_grid_is_resumable_and_counts_calls(tmp_path):
    calls = []

    def fn(cell):
        calls.append((cell.variant, cell.seed))
        return {"y": cell.knobs["width"] * 10 + cell.seed + cell.options["offset"]}

    variants = {"narrow": {"width": 1}, "wide": {"width": 2}}
    rows = run_grid(fn, variants, [0, 1], tmp_path, options={"offset": 0.5})
    assert [(r["variant"], r["seed"], r["y"]) for r in rows] == [
        ("narrow", 0, 10.5), ("narrow", 1, 11.5), ("wide", 0, 20.5), ("wide", 1, 21.5)]
    assert rows[0]["run"] == "narrow-s0" and (tmp_path / "narrow-s0" / "cell.json").is_file()
    assert len(calls) == 4
    assert run_grid(fn, variants, [0, 1], tmp_path, options={"offset": 0.5}) == rows
    assert len(calls) == 4  # second call: nothing recomputed
    run_grid(fn, variants, [0, 1, 2], tmp_path, options={"offset": 0.5})
    assert calls[4:] == [("narrow", 2), ("wide", 2)]  # only the new seed
    run_grid(fn, {"wide": {"width": 3}}, [0], tmp_path, options={"offset": 0.5})
    assert calls[-1] == ("wide", 0)  # a changed knob changes the key: recomputed


def test_grid_variant_seeds_cost_order_and_prepare(tmp_path):
    calls = []

    def fn(cell):
        calls.append((cell.variant, cell.seed))
        return {"y": cell.seed}

    rows = run_grid(fn, ["cheap", "dear", "once"], [0, 1], tmp_path,
                    variant_seeds={"once": [0]}, cost={"dear": 3, "once": 2, "cheap": 0.5},
                    prepare=lambda: calls.append("prepare"))
    # rows in grid order, the "once" variant on its own seed; computed costliest first, after prepare
    assert [(r["variant"], r["seed"]) for r in rows] == [
        ("cheap", 0), ("cheap", 1), ("dear", 0), ("dear", 1), ("once", 0)]
    assert calls == ["prepare", ("dear", 0), ("dear", 1), ("once", 0), ("cheap", 0), ("cheap", 1)]
    run_grid(fn, ["cheap"], [0, 1], tmp_path, prepare=lambda: calls.append("again"))
    assert calls[-1] == ("cheap", 1)  # nothing to compute: prepare is not called


def test_train_run_loads_a_finished_run_instead_of_training(tmp_path, monkeypatch):
    from ci_inpaint.experiments import runs

    first = train_run("toy_regression", tmp_path / "r", "smoke", steps=4, threads=1)
    assert first.steps_done == 4
    calls = []
    monkeypatch.setattr(runs, "train", lambda *a, **k: calls.append(a) or first)
    again = train_run("toy_regression", tmp_path / "r", "smoke", steps=4, threads=2)
    assert calls == [] and again.steps_done == 4 and again.metrics == first.metrics
    loaded = load_run(tmp_path / "r")
    for (k, p), q in zip(first.method.modules()["body"].state_dict().items(),
                         loaded.method.modules()["body"].state_dict().values()):
        assert (p.cpu() == q).all(), k
    train_run("toy_regression", tmp_path / "r", "smoke", steps=5)  # another config: trains
    assert len(calls) == 1


@pytest.mark.slow
def test_parallel_rows_equal_serial_rows(tmp_path):
    kw = {"profile": "smoke", "knobs": {"steps": 4}}
    variants = {"a": {"width": 4}, "b": {"width": 6}}
    serial = run_grid(_train_cell, variants, [0, 1], tmp_path / "serial", **kw)
    parallel = run_grid(_train_cell, variants, [0, 1], tmp_path / "par", workers=2, **kw)
    assert serial == parallel
    assert len({r["loss"] for r in serial}) == 4  # four different runs


def test_monce_claims_decide_by_matched_seeds():
    """Seed-to-seed spread hides every difference from Welch; the differences within a seed are
    consistent, so the paired test decides each claim (one row with both tests)."""
    from ci_inpaint.experiments import aggregate
    from ci_inpaint.experiments import monce as exp
    from ci_inpaint.experiments.claims import paired_claims, welch_claims

    off = {"none": (0.0, 0.0), "patchnce": (0.1, 0.0), "monce_hard": (0.12, -1.0),
           "monce_easy": (0.12, 1.0)}
    rows = [{"variant": v, "seed": s, "content_acc": 0.3 + 0.2 * s + a + 0.001 * s * (v == "none"),
             "mask_iou": 0.2 + 0.2 * s + a + 0.001 * s * (v == "none"), "domain_b": 0.95 + 0.01 * s,
             "fid_x": 50 + 20 * s + f + 0.01 * s * (v == "monce_easy")}
            for v, (a, f) in off.items() for s in range(3)]
    welch = welch_claims(exp.compare_specs("fid_x"), aggregate(rows))  # each test alone
    paired = paired_claims(exp.compare_specs("fid_x"), rows)
    both = exp.claims(rows, "fid_x")
    specs = [*exp.premise_specs(), *exp.compare_specs("fid_x")]
    assert [c.text for c in both] == [sp.text for sp in specs]
    assert [c.text for c in paired] == [f"(paired) {c.text}" for c in welch]
    assert {c.verdict for c in welch} == {INCONCLUSIVE}
    assert {c.verdict for c in paired} == {HOLDS}
    assert {c.verdict for c in both} == {HOLDS}
    # the gate: bounds on PatchNCE's own numbers. Class 0.4 / 0.6 / 0.8: the interval
    # 0.6 +- 4.30 * 0.2 / sqrt(3) reaches 0.9, so undecided; FID 50-90 <= 200 / 2 holds
    gate = exp.claims(rows, "fid_x", identity_fid=200.0)[:4]
    assert [c.verdict for c in gate] == [HOLDS, INCONCLUSIVE, INCONCLUSIVE, INCONCLUSIVE]
    assert gate[1].power.detectable == pytest.approx(4.302653 * 0.2 / 3 ** 0.5, rel=1e-5)
    rows_far = [{**r, "fid_x": 60.0 + 0.1 * r["seed"]} for r in rows]
    assert exp.claims(rows_far, "fid_x", identity_fid=200.0)[3].verdict == HOLDS
    # quick leaves the comparisons to the study, the study the premise to quick
    quick = exp.claims(rows, "fid_x", compare=False)
    assert [c.text for c in quick] == [sp.text for sp in exp.premise_specs()]
    study = exp.claims(rows, "fid_x", premise=False)
    assert [c.text for c in study] == [sp.text for sp in exp.compare_specs("fid_x")]


def test_path_digests_of_files_runs_and_missing(tmp_path):
    from types import SimpleNamespace

    from ci_inpaint.data.download import hash_file
    from ci_inpaint.methods import path_digests

    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.pt").write_bytes(b"weights")
    (tmp_path / "enc.pt").write_bytes(b"encoder")
    cfg = SimpleNamespace(init=str(tmp_path / "run"), known_encoder=str(tmp_path / "enc.pt"),
                          other="", gone=str(tmp_path / "missing.pt"))
    got = path_digests(cfg, "init", "known_encoder", "other", "gone")
    assert got == {"init": hash_file(tmp_path / "run" / "checkpoints" / "last.pt"),
                   "known_encoder": hash_file(tmp_path / "enc.pt")}
    assert got["init"].startswith("sha256:") and got["init"] != got["known_encoder"]
