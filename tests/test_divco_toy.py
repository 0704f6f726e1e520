"""The 2D toy of DivCo Fig. 1: data, metrics, and each regulariser training under the engine."""

import pytest
import torch

from ci_inpaint.engine import train
from ci_inpaint.errors import ConfigError
from ci_inpaint.methods.divco_toy import (
    LAYOUTS,
    POSITIONS,
    PRIVATE,
    REGULARIZERS,
    STD,
    DivCoToy,
    DivCoToyConfig,
    MLinear,
    parse_members,
    sample_real,
    toy_metrics,
)
from ci_inpaint.testing import FakeContext

KEYS = ("modes_covered", "n_modes", "high_quality", "cond_dep", "on_mode", "wrong_mass",
        "cond_purity")


def test_layouts_share_positions_and_modes_are_separated():
    shared = torch.cdist(LAYOUTS[0], LAYOUTS[1]).min(1).values < 1e-6
    assert int(shared.sum()) == 4 and len(LAYOUTS[0]) == len(LAYOUTS[1]) == 8
    for c in range(2):  # private = own positions the other class lacks
        assert len(PRIVATE[c]) == 4
        assert torch.cdist(PRIVATE[c], LAYOUTS[1 - c]).min() > 6 * STD
    d = torch.cdist(POSITIONS, POSITIONS) + 10 * torch.eye(12)
    assert d.min() > 6 * STD  # 3-std discs never overlap


def test_real_samples_score_perfectly_and_ignoring_the_class_is_measured():
    g = torch.Generator().manual_seed(0)
    real = {c: sample_real(torch.full((3000,), c), generator=g) for c in range(2)}
    m = toy_metrics(real)
    assert m["modes_covered_0"] == 8 and m["modes_covered_1"] == 8 and m["n_modes"] == 16
    # P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.989 of a 2-D Gaussian lies within 3 std
    assert m["high_quality"] == pytest.approx(0.989, abs=0.01)
    assert m["on_mode"] == pytest.approx(0.989, abs=0.01)
    assert m["wrong_mass"] == 0.0 and m["cond_purity"] == 1.0
    swapped = toy_metrics({0: real[1], 1: real[0]})  # shared modes still count as own
    assert swapped["modes_covered"] == 8 and swapped["wrong_mass"] == pytest.approx(0.5, abs=0.03)
    # ignoring the class: both classes draw from all 12 positions -> 4/12 on the other's private
    both = sample_real(torch.zeros(6000, dtype=torch.long), generator=g)
    both = torch.cat([both, sample_real(torch.ones(6000, dtype=torch.long), generator=g)])
    u = both[torch.randperm(len(both), generator=g)[:4000]]
    ign = toy_metrics({0: u, 1: u})
    # the union of the two mixtures weights shared positions twice: 4 private of 16 "slots"
    assert ign["wrong_mass"] == pytest.approx(0.25 * 0.989, abs=0.03)
    assert ign["cond_purity"] == pytest.approx(0.75, abs=0.03)


@pytest.mark.parametrize("reg", REGULARIZERS)
def test_each_regularizer_trains_under_the_engine(reg, tmp_path):
    res = train("divco_toy", profile="smoke", out=tmp_path / reg, regularizer=reg, steps=6,
                log_every=2, eval_n=200)
    assert res.steps_done == 6
    for k in KEYS:
        assert k in res.metrics
    assert 0 <= res.metrics["high_quality"] <= 1 and res.metrics["n_modes"] == 16
    logged = set().union(*res.history)
    assert "G_adv" in logged and "loss_D" in logged
    if reg != "none":
        assert f"G_{reg}" in logged and f"gratio_{reg}" in logged
    assert ("E_regression" in logged) == (reg == "regression")


def test_bad_regularizer_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="regularizer"):
        train("divco_toy", profile="smoke", out=tmp_path, regularizer="bogus")


def test_divco_term_is_logged_and_its_gradient_reaches_g():
    torch.manual_seed(0)
    cfg = DivCoToyConfig(regularizer="divco", batch_size=16, reg_batch=4, hidden=16,
                         encoder_head="trained")
    m = DivCoToy(cfg, torch.device("cpu"))
    grads = []

    def divco_grads(name, terms):  # gradient of the contrastive term alone, before the step
        if name == "G":
            m.opt_G.zero_grad()
            terms["divco"].backward(retain_graph=True)
            grads.extend(p.grad.clone() for p in m.G.parameters())

    ctx = FakeContext(m, before_step=divco_grads)
    out = m.train_step(None, ctx)
    assert set(ctx.terms["G"]) == {"adv", "divco"} and set(ctx.terms["D"]) == {"adv"}
    assert ctx.calls == ["D", "G"] and out["G_divco"] > 0
    assert grads and all(g.abs().sum() > 0 for g in grads)  # every G parameter gets L_contra
    # E = D's layers + a head trained with G; D's optimiser steps only on the D loss
    d_ids = {id(p) for g in m.opt_D.param_groups for p in g["params"]}
    g_ids = {id(p) for g in m.opt_G.param_groups for p in g["params"]}
    assert all(id(p) in g_ids and id(p) not in d_ids for p in m.aux.parameters())


def test_regression_term_updates_g_only_and_e_learns_on_its_own_loss():
    torch.manual_seed(0)
    cfg = DivCoToyConfig(regularizer="regression", batch_size=16, reg_batch=8, hidden=16)
    m = DivCoToy(cfg, torch.device("cpu"))
    seen = {}

    def hook(name, terms):
        if name == "G":  # E is frozen in G's step: the regression term reaches G only
            terms["regression"].backward(retain_graph=True)
            seen["E_grad"] = [p.grad for p in m.aux.parameters()]
            seen["G_grad"] = sum(float(p.grad.abs().sum()) for p in m.G.parameters())
        if name == "E":
            seen["E_terms"] = set(terms)

    e0 = [p.detach().clone() for p in m.aux.parameters()]
    ctx = FakeContext(m, before_step=hook)
    m.train_step(None, ctx)
    assert ctx.calls == ["D", "G", "E"] and seen["E_terms"] == {"regression"}
    assert all(g is None for g in seen["E_grad"]) and seen["G_grad"] > 0
    assert all(p.requires_grad for p in m.aux.parameters())  # unfrozen after
    assert any(not torch.equal(a, b) for a, b in zip(e0, m.aux.parameters()))
    e_ids = {id(p) for p in m.aux.parameters()}
    assert not e_ids & {id(p) for g in m.opt_G.param_groups for p in g["params"]}


def test_best_lambdas_picks_the_highest_mean_score():
    from ci_inpaint.experiments.divco import best_lambdas

    def row(reg, lam, modes, hq):
        return {"reg": reg, "lambda": lam, "modes_covered": modes, "n_modes": 16, "high_quality": hq}

    rows = [row("divco", 1.0, 16, 0.5), row("divco", 1.0, 16, 0.7),  # score 0.6
            row("divco", 10.0, 8, 0.9), row("divco", 10.0, 16, 0.2),  # 0.325
            row("mode_seeking", 0.1, 12, 0.8), row("mode_seeking", 1.0, 16, 0.5)]  # 0.6 vs 0.5
    best, table = best_lambdas(rows)
    assert best == {"divco": 1.0, "mode_seeking": 0.1}
    assert [t["best"] for t in table] == [True, False, True, False]


def test_fig1_claims_from_hand_made_rows():
    from ci_inpaint.experiments import aggregate
    from ci_inpaint.experiments.divco import toy_claims

    def row(reg, seed, modes, hq, wrong, on=0.95):
        return {"variant": reg, "seed": seed, "modes_covered": modes, "high_quality": hq,
                "wrong_mass": wrong, "on_mode": on + 0.01 * seed}

    rows = [row("divco", s, 16, 0.60 + 0.01 * s, 0.01) for s in range(3)]
    rows += [row("regression", s, m, 0.50 + 0.01 * s, 0.0) for s, m in enumerate([14, 15, 16])]
    rows += [row("mode_seeking", s, 16, 0.58 + 0.01 * s, w) for s, w in enumerate([.2, .3, .25])]
    rows += [row("none", s, m, 0.40 + 0.01 * s, 0.0) for s, m in enumerate([12, 13, 14])]
    claims = toy_claims(aggregate(rows), 16)
    verdicts = [c.verdict for c in claims]
    # on_mode 0.96 +- 0.01 >= 0.9; 16 in every seed; 16 vs 13 +- 1: CI [0.5, 5.5];
    # regression 15 +- 1 vs 16 +- 0: CI [-3.5, 1.5] holds 0; wrong 0.25 +- 0.05 vs 0.01 +- 0;
    # hq: divco 0.61 vs ms 0.59 with spread 0.01 (CI [-0.003, 0.043])
    assert verdicts == ["holds", "holds", "holds", "inconclusive", "holds", "inconclusive"]
    assert claims[1].why == "" and "qualitative" in claims[1].paper.value
    assert all(c.why for c in claims if c.verdict != "holds")


@pytest.mark.parametrize("head", ["none", "fixed", "trained"])
def test_toy_encoder_head_knob(head):
    torch.manual_seed(0)
    cfg = DivCoToyConfig(regularizer="divco", batch_size=16, reg_batch=4, hidden=16,
                         encoder_head=head)
    m = DivCoToy(cfg, torch.device("cpu"))
    x, c = torch.randn(1, 5, 2), torch.zeros(1, 5, dtype=torch.long)
    assert m._encode(x, c).shape == (1, 5, 16 if head == "none" else cfg.feat_dim)
    g_ids = {id(p) for g in m.opt_G.param_groups for p in g["params"]}
    if head != "none":
        assert all((id(p) in g_ids) == (head == "trained") for p in m.aux.parameters())


def test_batched_linear_equals_independent_linears_and_gradients_stay_per_member():
    torch.manual_seed(0)
    lin = MLinear(3, 4, 2)
    x = torch.randn(3, 5, 4, dtype=torch.float64)
    lin = lin.double()
    ref = torch.stack([x[i] @ lin.weight[i] + lin.bias[i] for i in range(3)])
    assert torch.allclose(lin(x), ref)
    idx = torch.tensor([2, 0])
    assert torch.allclose(lin(x[[2, 0]], idx), ref[[2, 0]])
    # the init law of nn.Linear: U(-1/sqrt(d_in), 1/sqrt(d_in)) for weight and bias
    assert lin.weight.abs().max() <= 0.5 and lin.bias.abs().max() <= 0.5
    lin(x)[1].sum().backward()  # member 1's output reaches only member 1's weights
    assert lin.weight.grad[[0, 2]].abs().sum() == 0 and lin.weight.grad[1].abs().sum() > 0


def test_members_train_as_independent_gans():
    """A run of members = independent GANs: each member's loss moves only its own weights, so a
    member's step with the others' losses removed is the same step; Adam is element-wise."""
    torch.manual_seed(0)
    cfg = DivCoToyConfig(members="none@0,divco@10,mode_seeking@0.5,regression@2", batch_size=16,
                         reg_batch=4, hidden=16, steps=10)
    m = DivCoToy(cfg, torch.device("cpu"))
    assert [r for r, _ in m.members] == ["none", "divco", "mode_seeking", "regression"]
    grads = {}

    def hook(name, terms):
        if name == "G":  # per term, which members' G weights it reaches
            for k, v in terms.items():
                g = torch.autograd.grad(v, list(m.G.parameters()), retain_graph=True,
                                        allow_unused=True)
                grads[k] = torch.stack([x.abs().flatten(1).sum(1) for x in g if x is not None]).sum(0)

    ctx = FakeContext(m, before_step=hook)
    out = m.train_step(None, ctx)
    assert ctx.calls == ["D", "G", "E"]
    assert (grads["adv"] > 0).all()  # every member has the adversarial term
    for k, i in (("divco", 1), ("mode_seeking", 2), ("regression", 3)):
        assert set(torch.nonzero(grads[k]).flatten().tolist()) == {i}
    assert {"G_divco", "G_mode_seeking", "G_regression", "gratio_divco", "gratio_mode_seeking",
            "gratio_regression", "E_regression"} <= set(out)
    met = m.evaluate()
    assert {f"m{i}_on_mode" for i in range(4)} <= set(met) and "on_mode" not in met
    # a member's samples are those of its own weights
    x0, x1 = m.member(0).sample(0, 50, seed=3), m.member(1).sample(0, 50, seed=3)
    assert x0.shape == (50, 2) and not torch.allclose(x0, x1)


def test_a_single_member_run_scales_its_term_by_lambda():
    torch.manual_seed(0)
    a = DivCoToy(DivCoToyConfig(members="mode_seeking@1", batch_size=8, reg_batch=4, hidden=8),
                 torch.device("cpu"))
    torch.manual_seed(0)
    b = DivCoToy(DivCoToyConfig(members="mode_seeking@3", batch_size=8, reg_batch=4, hidden=8),
                 torch.device("cpu"))
    torch.manual_seed(1)
    oa = a.train_step(None, FakeContext(a))
    torch.manual_seed(1)
    ob = b.train_step(None, FakeContext(b))
    assert torch.allclose(ob["G_mode_seeking"], 3 * oa["G_mode_seeking"])


@pytest.mark.parametrize("spec, match", [("bogus@1", "names no regulariser"),
                                         ("divco@x", "no number"), ("divco@-1", ">= 0")])
def test_bad_members_are_config_errors(spec, match):
    with pytest.raises(ConfigError, match=match):
        parse_members(spec)
    assert parse_members(" none@0, divco ,divco@10") == [("none", 0.0), ("divco", 1.0),
                                                           ("divco", 10.0)]


def test_members_with_a_regularizer_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="drop regularizer"):
        train("divco_toy", profile="smoke", out=tmp_path, members="none@0", regularizer="none")


def test_lr_decays_linearly_to_a_hundredth():
    m = DivCoToy(DivCoToyConfig(steps=100, decay_from=0.5, hidden=8), torch.device("cpu"))
    lrs = []
    for step in (0, 49, 50, 75, 100):
        m._set_lr(step)
        lrs.append(m.opt_G.param_groups[0]["lr"])
    assert lrs[:3] == [1e-3] * 3
    assert lrs[3] == pytest.approx(1e-3 * (1 - 0.99 * 0.5)) and lrs[4] == pytest.approx(1e-5)


def test_r1_penalty_is_a_d_term():
    torch.manual_seed(0)
    m = DivCoToy(DivCoToyConfig(regularizer="none", r1=1.0, batch_size=8, hidden=8),
                 torch.device("cpu"))
    ctx = FakeContext(m)
    m.train_step(None, ctx)
    assert set(ctx.terms["D"]) == {"adv", "r1"} and ctx.terms["D"]["r1"] > 0


def test_fig1_grid_deals_members_to_fixed_parts_and_reuses_them(tmp_path, monkeypatch):
    from ci_inpaint.experiments import divco as exp

    members = exp.fig1_members([0, 1], grid=(0.1, 1.0))
    assert len(members) == 2 + 3 * 2 * 2 and members[0] == ("none", 0.0, 0)
    rows = exp.run_fig1([0, 1], tmp_path, "smoke", grid=(0.1, 1.0), steps=2, eval_n=50,
                        progress="off")
    assert [(r["reg"], r["lambda"], r["seed"]) for r in rows] == members[0::2] + members[1::2]
    assert {r["run"] for r in rows} == {"part-s0", "part-s1"}  # part j runs under seed j
    import yaml

    cfgs = [yaml.safe_load((tmp_path / f"part-s{j}" / "config.yaml").read_text()) for j in (0, 1)]
    assert [c["seed"] for c in cfgs] == [0, 1]
    assert [int(x) for x in cfgs[0]["member_seeds"].split(",")] == [s for *_, s in members[0::2]]
    assert all(0 <= r["on_mode"] <= 1 and r["n_modes"] == 16 for r in rows)
    calls = []
    monkeypatch.setattr(exp, "toy_members_cell", lambda cell: calls.append(cell) or {})
    again = exp.run_fig1([0, 1], tmp_path, "smoke", grid=(0.1, 1.0), steps=2, eval_n=50,
                         progress="off")
    assert again == rows and not calls  # finished parts are read back, not retrained
    best, table = exp.best_lambdas([r for r in rows if r["reg"] != "none"])
    assert set(best) == {"regression", "mode_seeking", "divco"} and len(table) == 6


def test_fig1_tuned_sweeps_the_first_seeds_then_trains_the_rest_at_the_pick(tmp_path,
                                                                            monkeypatch):
    from ci_inpaint.experiments import divco as exp

    kw = dict(grid=(0.1, 1.0), steps=2, eval_n=50, progress="off")
    rows, best, table = exp.run_fig1_tuned([0, 1, 2], 1, tmp_path, "smoke", **kw)
    swept = [r for r in rows if r["seed"] == 0]
    assert len(swept) == 1 + 3 * 2 and len(rows) == len(swept) + 2 * 4
    assert (best, table) == exp.best_lambdas([r for r in swept if r["reg"] != "none"])
    rest = [r for r in rows if r["seed"] != 0]
    assert sorted((r["reg"], r["seed"]) for r in rest) == sorted(
        (g, s) for g in exp.TOY_REGS for s in (1, 2))
    assert all(r["reg"] == "none" or r["lambda"] == best[r["reg"]] for r in rest)
    assert {r["run"] for r in rows} == {f"{st}/part-s{j}" for st in ("sweep", "rest") for j in (0, 1)}
    from ci_inpaint.experiments import load_run

    assert all((tmp_path / r["run"] / "config.yaml").is_file() for r in rows)
    assert load_run(tmp_path / rows[-1]["run"]).method.cfg.steps == 2
    calls = []
    monkeypatch.setattr(exp, "toy_members_cell", lambda cell: calls.append(cell) or {})
    assert exp.run_fig1_tuned([0, 1, 2], 1, tmp_path, "smoke", **kw) == (rows, best, table)
    assert not calls  # both stages are read back


def test_toy_study_profile_is_the_converged_length_over_quick():
    from ci_inpaint.config import profile_overrides
    from ci_inpaint.methods.divco_toy import DivCoToyConfig

    q, st = (profile_overrides(DivCoToyConfig, p) for p in ("quick", "study"))
    assert (q["steps"], st["steps"]) == (1500, 8000)
    assert st["hidden"] == 128 and st["batch_size"] == 128 and st["decay_from"] == 0.3


def test_image_sweep_picks_each_familys_lowest_fid():
    from ci_inpaint.experiments import divco as exp

    t = exp.image_variants((0.1, 1.0), (1.0, 10.0), (1.0,))
    assert list(t) == ["none", "mode_seeking@0.1", "mode_seeking@1", "divco@1", "divco@10",
                       "divco-code@1"]
    assert t["divco-code@1"] == {"regularizer": "divco", "lambda_contra": 1.0,
                                 "contra_form": "code"}
    assert t["mode_seeking@0.1"]["lambda_ms"] == 0.1
    fids = {"none": 30, "mode_seeking@0.1": 20, "mode_seeking@1": 25, "divco@1": 22,
            "divco@10": 24, "divco-code@1": 21}
    rows = [{"variant": v, "f": f + d} for v, f in fids.items() for d in (-1, 1)]
    best, table = exp.best_settings(rows, "f")
    assert best == {"none": "none", "mode_seeking": "mode_seeking@0.1", "divco": "divco-code@1"}
    assert [t["best"] for t in table] == [True, True, False, False, False, True]
    assert exp.family("divco-code@1") == "divco" and exp.family("none") == "none"


def test_image_claims_decided_use_matched_seeds():
    from ci_inpaint.experiments import HOLDS, INCONCLUSIVE, aggregate, paired_values
    from ci_inpaint.experiments import divco as exp

    # a seed effect (0, 10, 20) shared by the three families; DivCo is lower in every seed
    rows = [{"variant": r, "seed": s,
             "ndb_mean": 5 + 10 * s - (r == "divco") + 0.1 * s * (r == "none"),
             "jsd_mean": 0.1 + s - 0.01 * (r == "divco") + 0.001 * s * (r == "none"),
             "fid_x": 20 + 10 * s - 2 * (r == "divco") + 0.2 * s * (r == "mode_seeking")}
            for r in exp.IMG_REGS for s in range(3)]
    assert paired_values(rows, "fid_x")["divco"] == {0: 18.0, 1: 28.0, 2: 38.0}
    # Welch cannot see through the shared seed effect; the matched differences can
    assert {c.verdict for c in exp.image_claims(aggregate(rows), "fid_x")} == {INCONCLUSIVE}
    paired = exp.image_claims_decided(rows, "fid_x")  # one claim each, the paired test decides
    assert [c.verdict for c in paired] == [HOLDS, HOLDS, HOLDS]
    assert "over 3 matched seeds" in paired[0].evidence and paired[2].paper.source == exp.T4_SOURCE
    assert all("Welch" in c.evidence for c in paired)  # ... with Welch beside it
    assert exp.image_claims_decided([r for r in rows if r["variant"] != "none"], "fid_x") == []


def test_member_seeds_give_one_init_per_replica_seed_wherever_the_member_sits():
    """member_seeds: a member's initial G, D and E are those of its seed alone (the same in
    another run, at another index, beside other members); two seeds differ; the global RNG
    after construction does not depend on the seeds."""
    def build(members, seeds, run_seed):
        torch.manual_seed(run_seed)
        m = DivCoToy(DivCoToyConfig(members=members, member_seeds=seeds, hidden=8),
                     torch.device("cpu"))
        return m, torch.rand(1)

    a, ra = build("none@0,regression@1,divco@1", "0,1,2", 5)
    b, rb = build("regression@1,none@0", "2,0", 7)
    c, rc = build("regression@1,none@0", "3,4", 7)
    assert torch.equal(rb, rc)  # the seeds do not shift the run's own random stream
    for (pa, pb) in zip(a.G.parameters(), b.G.parameters()):
        assert torch.equal(pa[0], pb[1]) and torch.equal(pa[2], pb[0])  # seed 0, seed 2
        assert not torch.equal(pa[0], pa[1])
    for (pa, pb) in zip(a.D.parameters(), b.D.parameters()):
        assert torch.equal(pa[0], pb[1])
    assert not any(torch.equal(pb[0], pc[0]) for pb, pc in zip(b.G.parameters(), c.G.parameters()))
    # a member's weights equal a single run's under the same seed
    torch.manual_seed(0)
    single = DivCoToy(DivCoToyConfig(regularizer="none", member_seeds="2", hidden=8),
                      torch.device("cpu"))
    for ps, pa in zip(single.G.parameters(), a.G.parameters()):
        assert torch.equal(ps[0], pa[2])
    with pytest.raises(ConfigError, match="2 seeds for 3 member"):
        DivCoToy.validate(DivCoToyConfig(members="none@0,divco@1,divco@2", member_seeds="0,1"))
    with pytest.raises(ConfigError, match="whole numbers"):
        DivCoToy.validate(DivCoToyConfig(members="none@0", member_seeds="zero"))


def test_toy_claims_decided_pair_the_regularisers_by_seed():
    """Seed s shifts every regulariser's high-quality share alike (one init per seed); DivCo's
    is 0.05 higher in every seed: Welch cannot see it, the paired interval can. Equal mode
    counts in every seed: "DivCo covers more" does not hold (as Welch's rule says)."""
    from ci_inpaint.experiments import aggregate
    from ci_inpaint.experiments import divco as exp

    shift = (0.0, -0.3, 0.2, -0.1, 0.15)
    rows = [{"reg": r, "variant": r, "seed": s, "modes_covered": 16.0, "wrong_mass": 0.0, "on_mode": 0.5,
             "high_quality": 0.5 + shift[s] + (0.05 if r == "divco" else 0.001 * i * (s % 2))}
            for i, r in enumerate(exp.TOY_REGS) for s in range(5)]
    paired = {c.text: c for c in exp.toy_claims_decided(rows, 16)}
    hq = paired["toy: DivCo has the largest share of high-quality samples of the four"]
    assert hq.verdict == "holds" and "matched seeds" in hq.evidence
    welch = exp.toy_claims(aggregate(rows, exp.TOY_KEYS), 16)
    assert [c.verdict for c in welch if "largest share" in c.text] == ["inconclusive"]
    assert paired["DivCo covers more modes than the plain GAN (fixes mode dropping)"].verdict \
        == "does not hold"
    assert not any("plain GAN" in t for t in
                   (c.text for c in exp.toy_claims_decided([r for r in rows if r["reg"] != "none"], 16)))
    assert not any("mode width" in t for t in paired)  # rows without the width: no claim
    for r in rows:  # DivCo's modes 0.1 nearer the real width in every seed, a shared seed effect
        r["width_error"] = 0.5 + shift[r["seed"]] / 2 - (0.1 if r["reg"] == "divco" else 0.0)
    width = [c for c in exp.toy_claims_decided(rows, 16) if "mode width" in c.text]
    assert len(width) == 1 and width[0].verdict == "holds" and "matched seeds" in width[0].evidence
    welch = [c for c in exp.toy_claims(aggregate(rows, exp.TOY_KEYS), 16) if "mode width" in c.text]
    assert len(welch) == 1 and welch[0].verdict == "inconclusive"
