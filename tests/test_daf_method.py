"""DAF methods: stage 1 (daf_moco) step order, queue, retrieval metric, exact resume with the
queue; stage 2 (daf) losses, terms, encoder initialisation from stage 1, Table II evaluation."""

from __future__ import annotations

import pytest
import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.engine import train
from ci_inpaint.errors import CheckpointError, ConfigError
from ci_inpaint.methods import get_method
from ci_inpaint.testing import FakeContext


def _method(name, **kw):
    cls = get_method(name)
    cfg = resolve_config(cls.Config, "smoke", kw, None, method=name)
    cls.validate(cfg)
    torch.manual_seed(0)
    return cls(cfg, torch.device("cpu"))


def _batch(n=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = lambda: (torch.rand(n, 1, size, size, generator=g) > 0.6).float()  # noqa: E731
    return {"image": torch.rand(n, 3, size, size, generator=g) * 2 - 1, "mask_q": m(),
            "mask_k": m(), "mask": m()}


def test_two_masks_dataset_gives_one_image_two_masks():
    ds = _method("daf_moco").train_set()
    a, b = ds[(0, 3)], ds[(1, 3)]
    assert not torch.equal(a["mask_q"], a["mask_k"])
    assert not torch.equal(a["mask_q"], b["mask_q"])  # fresh masks every epoch
    assert torch.equal(ds[(0, 3)]["mask_k"], a["mask_k"])  # pure function of (epoch, i)


def test_stage1_step_momentum_before_keys_and_queue_enqueue():
    M = _method("daf_moco", momentum=0.5)
    ctx = FakeContext(M)
    assert "E_k" in M.modules() and "E_k" in ctx.frozen and "E_k" not in M.optimizers()
    q0 = [p.clone() for p in M.E_q.parameters()]
    k0 = [p.clone() for p in M.E_k.parameters()]
    for a, b in zip(q0, k0):
        assert torch.equal(a, b)  # E_k starts as a copy of E_q
    # perturb E_q so the update is visible, and record it as the step sees it
    with torch.no_grad():
        for p in M.E_q.parameters():
            p.add_(0.1)
    q_before = [p.clone() for p in M.E_q.parameters()]
    batch = _batch()
    out = M.train_step(batch, ctx)
    assert set(ctx.terms["E_q"]) == {"nce"} and torch.isfinite(out["nce"])
    for pk, k_, q_ in zip(M.E_k.parameters(), k0, q_before):  # Eq. 2 with the pre-step E_q
        torch.testing.assert_close(pk, 0.5 * k_ + 0.5 * q_)
    with torch.no_grad():  # the enqueued keys are E_k(x_k) after the update
        k = torch.nn.functional.normalize(
            M.E_k(torch.cat([batch["image"] * (1 - batch["mask_k"]), batch["mask_k"]], 1)), dim=1)
    torch.testing.assert_close(M.queue.keys[:4], k)
    assert int(M.queue.ptr) == 4
    assert any(not torch.equal(a, b) for a, b in zip(q_before, M.E_q.parameters()))


def test_retrieval_metric_finds_identical_views_and_chance():
    from ci_inpaint.methods.daf import top1_retrieval

    M = _method("daf_moco")
    images, ma, _ = M.views()
    assert top1_retrieval(M.E_q, images, ma, ma) == 1.0  # same view: every image finds itself
    row = M.evaluate(FakeContext(M))
    assert set(row) == {"top1", "top1_random", "chance"} and row["chance"] == 1 / len(images)
    assert M.history[-1]["top1"] == row["top1"]


def test_stage1_exact_resume_includes_queue(tmp_path):
    full = train("daf_moco", "smoke", tmp_path / "full", progress="off")
    train("daf_moco", "smoke", tmp_path / "part", steps=3, progress="off")
    part = train("daf_moco", "smoke", tmp_path / "part", resume=True, progress="off")
    assert full.steps_done == 6
    for name in ("E_q", "E_k"):
        for (ka, a), (_, b) in zip(full.method.modules()[name].state_dict().items(),
                                   part.method.modules()[name].state_dict().items()):
            assert torch.equal(a, b), (name, ka)
    assert torch.equal(full.method.queue.keys, part.method.queue.keys)
    assert torch.equal(full.method.queue.ptr, part.method.queue.ptr)


def test_config_errors():
    with pytest.raises(ConfigError, match="divisible"):
        _method("daf_moco", depth=6)
    with pytest.raises(ConfigError, match="data_root"):
        _method("daf_moco", dataset="folder")


# ----------------------------------------------------------------------------- stage 2
@pytest.mark.parametrize("vgg,extra", [("off", set()),
                                       ("random", {"perceptual_vgg16_random", "style_vgg16_random"})])
def test_stage2_step_terms_weights_and_critic_fixed(vgg, extra):
    from ci_inpaint.losses.daf import pyramid

    M = _method("daf", vgg=vgg)
    batch = _batch(seed=1)
    seen = {}

    def hook(name, terms):
        if name == "G":  # G has not moved yet: recompute Eq. 14/16 by hand
            with torch.no_grad():
                ys = M.G(batch["image"], batch["mask"])
                t = pyramid(batch["image"], M.cfg.p_layers)
                seen["rec"] = sum(6.0 * (y - tt).abs().mean() for y, tt in zip(ys, t)) / len(ys)
            seen["D"] = [p.clone() for p in M.D.parameters()]
            assert all(not p.requires_grad for p in M.D.parameters())

    ctx = FakeContext(M, before_step=hook)
    out = M.train_step(batch, ctx)
    assert ctx.calls == ["D", "G"]
    assert set(ctx.terms["D"]) == {"d_adv", "gp"}
    assert set(ctx.terms["G"]) == {"rec", "tv", "g_adv"} | extra
    torch.testing.assert_close(ctx.terms["G"]["rec"].detach(), seen["rec"])
    assert M.cfg.lambda_rec == 6 and M.cfg.lambda_style == 240 and M.cfg.lambda_adv == 0.001
    assert all(torch.equal(a, b) for a, b in zip(seen["D"], M.D.parameters()))  # G step: D fixed
    assert all(p.requires_grad for p in M.D.parameters())
    assert all(torch.isfinite(v) for v in out.values())


def test_stage2_encoder_from_stage1_and_bad_init(tmp_path):
    s1 = train("daf_moco", "smoke", tmp_path / "s1", steps=2, progress="off")
    M = _method("daf", init=str(tmp_path / "s1"))
    ref = s1.method.E_q.encoder.state_dict()
    for k, v in M.G.encoder.state_dict().items():
        assert torch.equal(v, ref[k]), k
    with pytest.raises(CheckpointError, match="fit width"):
        _method("daf", init=str(tmp_path / "s1"), width=8)
    with pytest.raises(CheckpointError, match="no stage-1 checkpoint"):
        _method("daf", init=str(tmp_path / "nothing"))


def test_stage2_config_errors_and_no_daf_variant():
    with pytest.raises(ConfigError, match="q_layers <= p_layers"):
        _method("daf", q_layers=3, p_layers=2)
    M = _method("daf", daf=False)
    ctx = FakeContext(M)
    M.train_step(_batch(), ctx)
    assert set(ctx.terms["G"]) == {"rec", "tv", "g_adv"}


def test_train_variant_chains_the_stages(tmp_path):
    from ci_inpaint.methods.daf import train_variant

    r = train_variant(tmp_path, "smoke", contrastive=True, daf=False, seed=1, steps=2)
    assert r.cfg.init == str(tmp_path / "moco-s1") and r.cfg.daf is False and r.cfg.seed == 1
    s1 = torch.load(tmp_path / "moco-s1" / "checkpoints" / "last.pt", weights_only=False)
    assert s1["config"]["seed"] == 1 and s1["config"]["steps"] == 6  # stage-1 smoke length
    assert (tmp_path / "daf-c1-d0-s1" / "result.json").is_file()


def test_evaluate_run_metrics_and_named_fid(tmp_path):
    from ci_inpaint.methods.daf import evaluate_run
    from ci_inpaint.metrics.features import FeatureNet

    M = _method("daf")
    net = FeatureNet(torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()), "pool2")
    out = evaluate_run(M, 20, feature_net=net)
    assert out["n"] == 20 and out["fid_n"] == 20 and out["fid_name"] == "fid_pool2"
    assert out["fid_label"] == "fid_pool2 (n=20)" and out["fid_pool2"] >= 0
    assert {"l1", "psnr", "ssim", "ring_l1", "ring_grad"} <= set(out)
    assert "fid_pool2" not in evaluate_run(M, 20, fid=False)


def test_retrained_stage1_retrains_stage2_and_refuses_a_resume(tmp_path):
    """A stage-2 run names its stage 1 by folder; the digest in sources.json ties it to the
    checkpoint: after stage 1 is trained again (other knobs, same folder) train_run trains
    stage 2 again instead of loading the run made from the old encoder, and the engine refuses to
    resume on top of the new one."""
    import json

    from ci_inpaint.data.download import hash_file
    from ci_inpaint.experiments.runs import train_run

    s1 = tmp_path / "moco-s0"
    train_run("daf_moco", s1, "smoke", steps=2, progress="off")
    first = train_run("daf", tmp_path / "d", "smoke", init=str(s1), steps=2, progress="off")
    saved = json.loads((tmp_path / "d" / "sources.json").read_text())
    assert saved == {"init": hash_file(s1 / "checkpoints" / "last.pt")}
    again = train_run("daf", tmp_path / "d", "smoke", init=str(s1), steps=2, progress="off")
    assert again.history == [] and again.steps_done == 2  # unchanged stage 1: loaded
    train_run("daf_moco", s1, "smoke", steps=2, lr=0.1, progress="off")  # stage 1 again
    assert hash_file(s1 / "checkpoints" / "last.pt") != saved["init"]
    third = train_run("daf", tmp_path / "d", "smoke", init=str(s1), steps=2, progress="off")
    assert third.history != []  # trained, not loaded
    ref = torch.load(s1 / "checkpoints" / "last.pt", weights_only=False)["modules"]["E_q"]
    old = first.method.G.encoder.state_dict()
    assert any(not torch.equal(v, ref[f"encoder.{k}"]) for k, v in old.items())
    # a checkpoint made from the old stage 1 cannot be resumed on top of the new one
    (tmp_path / "d" / "sources.json").write_text(json.dumps(saved))
    with pytest.raises(CheckpointError, match="init=.*changed since"):
        train("daf", "smoke", tmp_path / "d", resume=True, init=str(s1), steps=4, progress="off")


def test_run_without_named_files_writes_no_sources(tmp_path):
    train("daf", "smoke", tmp_path / "r", steps=1, progress="off")
    assert not (tmp_path / "r" / "sources.json").exists()
