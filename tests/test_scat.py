"""SCAT networks (AOT generator, U-Net D/S) and the method's train_step."""

import pytest
import torch
from torch.utils.data import default_collate

from ci_inpaint.config import resolve_config
from ci_inpaint.data.epochs import EpochKey
from ci_inpaint.errors import ConfigError
from ci_inpaint.methods import get_method
from ci_inpaint.methods.scat import SCAT, SCATConfig, _eval_pairs, eval_pairs, uses
from ci_inpaint.nn.aot import AOTBlock, AOTGenerator, gate_norm
from ci_inpaint.nn.unet_d import UNetDiscriminator
from ci_inpaint.testing import FakeContext


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_unet_d_heads_at_every_power_of_two(size):
    D = UNetDiscriminator(size, 2)
    o = D(torch.randn(2, 3, size, size))
    assert o.logit.shape == (2,) and o.pixel.shape == (2, 1, size, size)
    assert len(o.shallow) == 4 and o.global_feat.shape == (2, D.feat_dim)
    assert [f.shape[-1] for f in o.shallow] == [size // 2, size // 4, size // 8, size // 16]
    # spectral norm on every conv and linear layer
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)


def test_unet_d_refuses_other_sizes():
    with pytest.raises(ValueError):
        UNetDiscriminator(48)
    with pytest.raises(ValueError):
        UNetDiscriminator(16)


def test_unet_d_pixel_map_is_local_per_sample():
    torch.manual_seed(0)
    D = UNetDiscriminator(32, 2).eval()
    x = torch.randn(2, 3, 32, 32)
    alone = D(x[:1]).pixel
    assert torch.allclose(D(x).pixel[:1], alone, atol=1e-5)  # no batch statistics


def test_gate_norm_closed_form():
    g = torch.tensor([[[[1.0, 3.0]]]])  # mean 2, std (unbiased) sqrt(2)
    z = (g - 2) / (2 ** 0.5 + 1e-9)
    assert torch.allclose(gate_norm(g), 5 * (2 * z - 1))


def test_aot_block_gates_between_input_and_fused():
    torch.manual_seed(0)
    blk = AOTBlock(8)
    x = torch.randn(1, 8, 16, 16)
    fused = blk.fuse(torch.cat([b(x) for b in blk.branches], 1))
    sigma = torch.sigmoid(gate_norm(blk.gate(x)))
    assert torch.allclose(blk(x), x * (1 - sigma) + fused * sigma)
    with pytest.raises(ValueError):
        AOTBlock(6)


def test_generator_range_and_hole_only_input():
    torch.manual_seed(0)
    G = AOTGenerator(8, 1, "bilinear", rates=(1, 2, 3, 4))
    x = torch.randn(2, 3, 32, 32)
    hole = torch.zeros(2, 1, 32, 32)
    hole[..., 8:20, 8:20] = 1
    y = G(x, hole)
    assert y.shape == x.shape and y.abs().max() <= 1
    x2 = x.clone()
    x2[..., 8:20, 8:20] = 5.0  # hole pixels are never seen
    assert torch.equal(G(x2, hole), y)


def _method(variant, **over):
    cfg = resolve_config(SCATConfig, "smoke", {"variant": variant, **over}, method="scat")
    torch.manual_seed(0)
    return SCAT(cfg, torch.device("cpu"))


def _batch(m):
    return default_collate([m.dataset[EpochKey(0, i)] for i in range(m.cfg.batch_size)])


@pytest.mark.parametrize("variant,g_terms", [
    ("baseline", {"rec", "g_adv"}), ("scat", {"rec", "g_adv", "g_scat"}),
    ("text", {"rec", "g_adv", "g_scat", "text"}), ("full", {"rec", "g_adv", "g_scat", "text", "sem"})])
def test_variants_send_their_terms(variant, g_terms):
    m = _method(variant)
    ctx = FakeContext(m)
    out = m.train_step(_batch(m), ctx)
    assert ctx.calls == ["D", "G"]
    assert set(ctx.terms["G"]) == g_terms
    assert set(ctx.terms["D"]) == ({"d_adv", "d_scat"} if uses(variant)["scat"] else {"d_adv"})
    assert all(torch.isfinite(v) for v in out.values())


def test_g_step_leaves_d_alone_and_trains_g_and_mlp():
    m = _method("full")
    seen = {}

    def hook(name, terms):
        if name == "G":  # D is fixed during G's step, gradients still flow through it
            seen["d_frozen"] = not any(p.requires_grad for p in m.D.parameters())
            for k in ("g_scat", "text", "sem"):
                grads = torch.autograd.grad(terms[k], [*m.G.parameters()], retain_graph=True,
                                            allow_unused=True)
                seen[k] = sum(float(g.abs().sum()) for g in grads if g is not None)
            gp = torch.autograd.grad(terms["sem"], [*m.P.parameters()], retain_graph=True)
            seen["mlp"] = sum(float(g.abs().sum()) for g in gp)

    ctx = FakeContext(m, before_step=hook)
    d_before = [p.detach().clone() for p in m.D.parameters()]
    batch = _batch(m)
    m.train_step(batch, ctx)
    assert seen["d_frozen"]
    assert seen["g_scat"] > 0 and seen["text"] > 0 and seen["sem"] > 0 and seen["mlp"] > 0
    assert all(p.requires_grad for p in m.D.parameters())  # restored
    assert any(not torch.equal(a, b) for a, b in zip(d_before, m.D.parameters()))  # D step ran


def test_temperature_code_is_tau_one():
    assert _method("full", temperature="code").tau is None
    assert _method("full").tau == pytest.approx(0.07)


def test_config_errors():
    cls = get_method("scat")
    for over in ({"resolution": 48}, {"rates": "1,2"}, {"rates": "1,2,4,8"},
                 {"dataset": "celeba"}, {"resolution": 256}):
        cfg = resolve_config(cls.Config, "smoke", over, method="scat")
        with pytest.raises(ConfigError):
            cls.validate(cfg)


def test_eval_pairs_land_in_their_buckets():
    from ci_inpaint.data.masks import bucket_of, hole_ratio

    cfg = resolve_config(SCATConfig, "smoke", {}, method="scat")
    images, masks, rows = eval_pairs(cfg, 3)
    assert images.shape == (9, 3, 32, 32) and masks.shape == (9, 1, 32, 32)
    assert [bucket_of(float(r)) for r in hole_ratio(masks)] == rows
    _eval_pairs.cache_clear()
    again = eval_pairs(cfg, 3)
    assert torch.equal(again[1], masks)  # the same pairing for every run


def test_evaluate_records_s_map():
    m = _method("scat")
    ctx = FakeContext(m)
    out = m.evaluate(ctx)
    assert set(out) == {"s_gap", "s_acc", "s_iou", "probe_l1", "text_pos", "text_neg",
                        "text_ratio", "sem_pos", "sem_neg", "sem_gap"}
    assert m.s_history[0]["s"].shape == (32, 32)
    state = m.extra_state()
    m2 = _method("scat")
    m2.load_extra_state(state)
    assert len(m2.s_history) == 1


def test_experiment_claims_from_synthetic_rows():
    from ci_inpaint.experiments import aggregate
    from ci_inpaint.experiments import scat as exp
    from ci_inpaint.experiments.claims import welch_claims

    rows = []
    for i, v in enumerate(("baseline", "scat", "text", "full", "full_code")):
        for s in range(3):
            r = {"variant": v, "seed": s}
            for b in exp.BUCKETS:  # each addition lowers L1 clearly; PSNR flat
                r[f"l1pm_{b}"] = 0.1 - 0.01 * min(i, 3) + 0.001 * s
                r[f"psnr_{b}"], r[f"ssim_{b}"], r[f"fid_x_{b}"] = 20.0 + 0.1 * s, 0.5, 10.0
            rows.append(r)
    table = aggregate(rows)
    by = {c.text: c.verdict for c in welch_claims(exp.ablation_specs("fid_x"), table)}
    assert by["Table 3: Baseline-1 (+SCAT) < Baseline on l1pm (40-60 %)"] == "holds"
    assert by["Table 3: Proposed (+sem) > Baseline-2 (+text) on psnr (40-60 %)"] == "inconclusive"
    assert len(welch_claims(exp.bucket_specs("fid_x"), table)) == 12
    assert welch_claims([exp.TEMPERATURE], table)[0].verdict == "inconclusive"  # equal L1
    both = {c.text: c for c in exp.claims(rows, "fid_x")}  # one per spec, both tests
    assert len(both) == 12 + 12 + 1  # Table 3, Table 2 per bucket, the temperature; no fill run
    assert both[exp.TEMPERATURE.text].verdict != "holds"  # equal L1 in every seed
    paper = exp.paper_metrics("fid_x")
    assert paper["baseline_l1pm_40-60"]["value"] == 0.0593
    assert paper["full_fid_x_0-20"]["value"] == 0.71


def test_hole_fill_reaches_g_input_and_negatives():
    from ci_inpaint.losses.scat import corrupt, recorrupt

    x = torch.zeros(2, 3, 4, 4)
    hole = torch.zeros(2, 1, 4, 4)
    hole[0, :, :2] = 1
    assert corrupt(x, hole, 1.0)[0, :, :2].eq(1).all() and corrupt(x, hole, 1.0)[1].eq(0).all()
    neg = recorrupt(x, hole, 1.0)
    assert neg[1, 0, :, :2].eq(1).all() and neg[0, 1].eq(0).all()
    torch.manual_seed(0)
    G0 = AOTGenerator(4, 1, rates=(1, 1, 1, 1))
    torch.manual_seed(0)
    G1 = AOTGenerator(4, 1, rates=(1, 1, 1, 1), fill=1.0)
    x16, h16 = torch.zeros(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    h16[..., 4:9, 4:9] = 1
    assert not torch.equal(G0(x16, h16), G1(x16, h16))  # white holes are a different input
    assert _method("full", hole_fill=1.0).G.fill == 1.0


def test_paired_claims_see_through_a_shared_seed_effect():
    """Seed s shifts every variant's L1 by the same large amount; each addition lowers it by
    0.002 in every seed: Welch's interval cannot separate the rows, the paired one can."""
    from ci_inpaint.experiments import aggregate
    from ci_inpaint.experiments import scat as exp

    rows = []
    for i, v in enumerate(("baseline", "scat", "text", "full", "full_code")):
        for s, shift in enumerate((0.0, 0.05, -0.04, 0.02)):
            r = {"variant": v, "seed": s}
            for b in exp.BUCKETS:
                r[f"l1pm_{b}"] = 0.1 + shift - 0.002 * min(i, 3) + 0.0001 * ((s * 7 + i) % 3)
            rows.append(r)
    from ci_inpaint.experiments.claims import welch_claims

    welch = {c.text: c for c in welch_claims(exp.ablation_specs("fid_x"), aggregate(rows))}
    both = {c.text: c for c in exp.claims(rows, "fid_x")}  # Welch and paired; paired decides
    text = "Table 3: Baseline-1 (+SCAT) < Baseline on l1pm (40-60 %)"
    assert welch[text].verdict == "inconclusive"
    assert both[text].verdict == "holds" and set(both[text].tests) == {"welch", "paired"}
    assert "baseline" in both[text].tests["paired"]  # names of the variants
    # only the L1 rows exist: 3 ablation + 3 bucket + the temperature claim (no white-hole runs)
    assert len(both) == 7
    t = both[exp.TEMPERATURE.text]
    assert t.verdict == "inconclusive" and "t=0.07 - no t" in t.tests["paired"]  # full == full_code


def test_references_score_like_runs_and_order_as_expected():
    """mean fill < biharmonic < ground truth on the smoke pairs; each value is what
    mean_fill / hole_metrics give by hand; the ground truth's paired FID is the floor 0."""
    from ci_inpaint.evaluation.scat import REFERENCES, references, score_composites
    from ci_inpaint.metrics.references import hole_metrics, mean_fill

    cfg = resolve_config(SCATConfig, "smoke", {}, method="scat")
    refs = references(cfg, 4, fid=False)
    assert list(refs) == list(REFERENCES)
    images, masks, rows = eval_pairs(cfg, 4)
    keep = torch.tensor([r == "20-40" for r in rows])
    by_hand = hole_metrics(mean_fill(images, masks)[keep], images[keep], masks[keep])
    assert refs["mean fill"]["hole_l1_20-40"] == pytest.approx(by_hand["hole_l1"])
    mean, bih, gt = (refs[k] for k in REFERENCES)
    for b in ("0-20", "20-40", "40-60"):
        assert gt[f"hole_l1_{b}"] == 0 and gt[f"l1pm_{b}"] == 0
        assert bih[f"hole_l1_{b}"] < mean[f"hole_l1_{b}"]  # photos are smooth at 32 px
        assert bih[f"l1pm_{b}"] == pytest.approx(2 * bih[f"l1_{b}"])
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 2))
    f = score_composites(images, images, masks, rows, net)
    assert f[f"{f['fid_name']}_0-20"] == pytest.approx(0, abs=1e-3)


def test_gate_claims_against_the_classical_fill():
    from ci_inpaint.experiments import scat as exp

    refs = {exp.CLASSICAL: {f"hole_l1_{b}": 0.03 for b in exp.BUCKETS}
            | {f"fid_x_{b}": 1.0 for b in exp.BUCKETS}}
    rows = [{"variant": "baseline", "seed": s, **{f"hole_l1_{b}": 0.02 + 0.001 * s
                                                   for b in exp.BUCKETS},
             **{f"fid_x_{b}": 5.0 + s for b in exp.BUCKETS}} for s in range(3)]
    got = {c.text: c.verdict for c in exp.claims(rows, "fid_x", refs)}
    gate = [t for t in got if "biharmonic" in t]
    assert len(gate) == 6
    assert all(got[t] == "holds" for t in gate if "hole L1" in t)
    assert all(got[t] == "does not hold" for t in gate if "fid_x" in t)


def test_s_map_scores_by_hand():
    from ci_inpaint.evaluation.scat import s_map_scores

    hole = torch.tensor([[[[0.0, 0.0, 1.0, 1.0]]]])
    s = torch.tensor([[[[2.0, -1.0, -3.0, 1.0]]]])  # S calls pixels 2 and 3 generated
    img = torch.zeros(1, 3, 1, 4)
    out = s_map_scores(s, hole, img, img)
    assert out["s_iou"] == pytest.approx(1 / 3)  # {3} of {2, 3, 4}
    assert out["s_gap"] == pytest.approx(0.5 - (-1.0))
    assert out["s_acc"] == pytest.approx(0.5)
    assert s_map_scores(torch.ones_like(s), hole, img, img)["s_iou"] == 0


def test_contrast_scores_are_the_losses_distances():
    """contrast_scores' Eq. 3 value equals textural_contrastive_loss on the same features, and
    its cosines equal a per-row brute-force loop; a perfect fill has pos 0, sem_pos 1."""
    from ci_inpaint.evaluation.scat import contrast_scores
    from ci_inpaint.losses.scat import corrupt, textural_contrastive_loss

    m = _method("full")
    m.D.eval(), m.G.eval()  # as the engine evaluates: no spectral-norm power step per call
    c = m.contrast_probe()
    x, hole = c["image"], c["mask"]
    assert x.shape[0] == 8 and torch.equal(m.contrast_probe()["mask"], hole)  # fixed rows
    with torch.no_grad():
        out = contrast_scores(m, x, hole)
        comp = m.composite(m.G(x, hole), x, hole).clamp(-1, 1)
        fc, fx, fk = (m.D.encode(t)[0][:4] for t in (comp, x, corrupt(x, hole)))
        assert out["text_ratio"] == pytest.approx(float(textural_contrastive_loss(fc, fx, fk)), rel=1e-5)
        assert out["text_pos"] == pytest.approx(sum(float((a - b).abs().mean()) for a, b in zip(fc, fx)), rel=1e-5)
        z = lambda t: torch.nn.functional.normalize(m.P(m.D.encode(t)[1]), dim=1)  # noqa: E731
        za, zp = z(comp), z(x)
        pos = sum(float(za[i] @ zp[i]) for i in range(8)) / 8
        neg = sum(float(za[i] @ z(corrupt(x[i:i + 1], hole[j:j + 1]))[0])
                  for i in range(8) for j in range(8)) / 64
    assert out["sem_pos"] == pytest.approx(pos, abs=1e-5)
    assert out["sem_neg"] == pytest.approx(neg, abs=1e-5)
    assert out["sem_gap"] == pytest.approx(pos - neg, abs=1e-5)

    class Perfect(torch.nn.Module):  # G that returns the ground truth: the fill is x itself
        def forward(self, x_in, hole_in):
            return x
    m.G = Perfect()
    best = contrast_scores(m, x, hole)
    assert best["text_pos"] == 0 and best["text_ratio"] == 0
    assert best["sem_pos"] == pytest.approx(1.0, abs=1e-5)


def test_logged_steps_carry_gradient_norm_ratios():
    """On a logged step each G term's gradient norm over g_adv's: the ratio by hand."""
    m = _method("text")
    seen = {}

    def hook(name, terms):
        if name == "G":
            def norm(t):
                gs = torch.autograd.grad(t, list(m.G.parameters()), retain_graph=True, allow_unused=True)
                return sum(float(g.pow(2).sum()) for g in gs if g is not None) ** 0.5
            seen.update({k: norm(v) / norm(terms["g_adv"]) for k, v in terms.items() if k != "g_adv"})

    out = m.train_step(_batch(m), FakeContext(m, step=0, before_step=hook))
    assert {k for k in out if k.startswith("gratio_")} == {"gratio_rec", "gratio_g_scat", "gratio_text"}
    for k, v in seen.items():
        assert float(out[f"gratio_{k}"]) == pytest.approx(v, rel=1e-4)
    m2 = _method("text", log_every=2)
    assert not any(k.startswith("gratio_") for k in m2.train_step(_batch(m2), FakeContext(m2, step=1)))


def test_run_curves_merge_evaluations_and_ratios(tmp_path):
    import json

    from ci_inpaint.experiments.scat import run_curves

    rows = [{"step": 1, "rec": 0.5, "gratio_rec": 2.0}, {"step": 2, "rec": 0.4},
            {"step": 2, "eval/text_ratio": 0.9, "eval/s_iou": 0.1}, {"step": 3, "gratio_rec": 3.0}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    assert run_curves(tmp_path) == [{"step": 1, "gratio_rec": 2.0},
                                    {"step": 2, "text_ratio": 0.9, "s_iou": 0.1},
                                    {"step": 3, "gratio_rec": 3.0}]
