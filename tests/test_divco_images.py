"""DivCo class-conditional DCGAN (method ``divco``): networks, train step, evaluation helpers."""

from __future__ import annotations

import pytest
import torch

from ci_inpaint.data import Digits
from ci_inpaint.engine import train
from ci_inpaint.errors import ConfigError, DataError
from ci_inpaint.losses.divco import divco_regularizer
from ci_inpaint.methods.divco_images import (
    DivCoImages,
    DivCoImagesConfig,
    fid_score,
    latent_walk,
    per_class_ndb_jsd,
    sample,
    sample_grid,
)
from ci_inpaint.nn.dcgan import CondDiscriminator, CondGenerator
from ci_inpaint.testing import FakeContext


@pytest.fixture(scope="module")
def digits_test():
    return Digits("test", size=32)


def _nets(width=8, seed=0):
    torch.manual_seed(seed)
    return CondGenerator(16, 10, width), CondDiscriminator(10, width)


def test_shapes_and_ranges():
    G, D = _nets()
    z, y = torch.randn(5, 16), torch.tensor([0, 1, 2, 3, 9])
    x = G(z, y)
    assert x.shape == (5, 3, 32, 32) and x.abs().max() <= 1
    assert D(x, y).shape == (5,)
    assert D.features(x, y).shape == (5, 8)  # feat_dim defaults to the width
    logits, feats = D.forward_with_features(x, y)
    torch.testing.assert_close(logits, D(x, y))
    torch.testing.assert_close(feats, D.features(x, y))
    # the head is a buffer: checkpointed, never trained
    assert "head_weight" in dict(D.named_buffers())
    assert "head_weight" not in dict(D.named_parameters())


def test_conditioning_changes_outputs():
    G, D = _nets()
    z = torch.randn(4, 16)
    a, b = G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.ones(4, dtype=torch.long))
    assert (a - b).abs().mean() > 0.01 * a.abs().mean()
    assert (D(a, torch.zeros(4, dtype=torch.long)) - D(a, torch.ones(4, dtype=torch.long))).abs().max() > 0


def test_encoder_features_carry_gradient_to_G_only():
    G, D = _nets()
    D.requires_grad_(False)  # as in the G step
    y, z = torch.tensor([1, 2, 3]), torch.randn(3, 16)
    loss, query = divco_regularizer(G, D.features, y, z, num_neg=4, radius=1e-3)
    assert query.shape == (3, 3, 32, 32)
    loss.backward()
    grads = [p.grad for p in G.parameters()]
    assert all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    assert all(p.grad is None for p in D.parameters())


@pytest.mark.parametrize("reg,key", [("none", None), ("mode_seeking", "mode_seeking"),
                                     ("divco", "contra")])
def test_train_step_updates_both_nets(reg, key):
    cfg = DivCoImagesConfig(width=8, num_neg=3, regularizer=reg, z_dim=16)
    torch.manual_seed(0)
    m = DivCoImages(cfg, torch.device("cpu"))
    ds = m.train_set()
    batch = {"image": torch.stack([ds[i]["image"] for i in range(6)]),
             "label": torch.stack([ds[i]["label"] for i in range(6)])}
    g0 = [p.detach().clone() for p in m.G.parameters()]
    d0 = [p.detach().clone() for p in m.D.parameters()]
    head = m.D.head_weight.clone()
    out = m.train_step(batch, FakeContext(m))
    assert {"d_real", "d_fake", "g_adv"} <= set(out) and (key is None or key in out)
    assert all(torch.isfinite(v) for v in out.values())
    assert any((a != b).any() for a, b in zip(g0, m.G.parameters()))
    assert any((a != b).any() for a, b in zip(d0, m.D.parameters()))
    assert torch.equal(head, m.D.head_weight)
    assert all(p.requires_grad for p in m.D.parameters())  # unfrozen after the G step


@pytest.mark.parametrize("reg", ["none", "mode_seeking", "divco"])
def test_smoke_training(tmp_path, reg):
    res = train("divco", profile="smoke", out=tmp_path / reg, regularizer=reg, progress="off")
    assert res.steps_done == res.cfg.steps
    assert {"ndb_mean", "jsd_mean"} <= set(res.metrics)
    assert (res.run_dir / "checkpoints" / "last.pt").is_file()
    logged = set().union(*[set(r) for r in res.history])
    assert {"d_real", "d_fake", "g_adv"} <= logged
    assert ("contra" in logged) == (reg == "divco")
    assert ("mode_seeking" in logged) == (reg == "mode_seeking")


def test_sampling_helpers():
    G, _ = _nets()
    a = sample(G, [0, 3], n_per_class=4, seed=1)
    assert a.shape == (8, 3, 32, 32)
    torch.testing.assert_close(a, sample(G, [0, 3], n_per_class=4, seed=1))
    assert G.training  # mode restored
    walk = latent_walk(G, 3, steps=5)
    assert walk.shape == (5, 3, 32, 32)
    ends = sample(G, [3], 2, z=torch.stack([-torch.ones(16), torch.ones(16)]))
    torch.testing.assert_close(walk[[0, -1]], ends)
    grid = sample_grid(G, n_classes=3, n_per_class=4)
    assert grid.shape == (3, 3 * 33 + 1, 4 * 33 + 1)
    assert 0 <= grid.min() and grid.max() <= 1


def test_per_class_ndb_jsd_rows(digits_test):
    G, _ = _nets()
    rows = per_class_ndb_jsd(G, digits_test, k=3, n_per_class=10, seed=0)
    assert len(rows) == 11 and [r["class"] for r in rows] == [*range(10), "mean"]
    for r in rows:
        assert {"class", "ndb", "jsd", "ndb_over_k", "k", "n_train", "n_generated"} <= set(r)
    assert sum(r["n_train"] for r in rows[:-1]) == len(digits_test)
    assert rows[-1]["ndb"] == pytest.approx(sum(r["ndb"] for r in rows[:-1]) / 10)
    assert all(0 <= r["jsd"] <= 0.6932 and 0 <= r["ndb"] <= 3 for r in rows)


def test_fid_fallback_is_named(digits_test, tmp_path, monkeypatch):
    monkeypatch.setenv("CI_INPAINT_CACHE", str(tmp_path))
    G, _ = _nets()
    r = fid_score(G, digits_test, n=60, seed=0, feature_net="classifier")
    assert r["name"] == "fid_digits_classifier" and r["name"] != "fid"
    assert r["value"] > 0 and r["n_a"] == 60 and r["n_b"] == 60
    auto = fid_score(G, digits_test, n=60, seed=0, feature_net="auto")
    assert auto["name"] != "fid" or auto["feature_net"] == "inception_pool3"


def test_errors_name_the_fix(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="dataset=digits"):
        train("divco", profile="smoke", out=tmp_path / "a", dataset="mnist")
    with pytest.raises(ConfigError, match="regularizer=divco"):
        train("divco", profile="smoke", out=tmp_path / "b", regularizer="bogus")
    monkeypatch.setenv("CI_INPAINT_DATA", str(tmp_path / "nodata"))
    with pytest.raises(DataError, match="data_scripts/cifar10.py"):
        train("divco", profile="smoke", out=tmp_path / "c", dataset="cifar10")
    empty = tmp_path / "cifar"
    empty.mkdir()
    with pytest.raises(DataError, match="data_scripts/cifar10.py"):
        train("divco", profile="smoke", out=tmp_path / "d", dataset="cifar10", data_root=str(empty))


def test_run_images_grid_rows_fid_counts_and_resume(tmp_path, monkeypatch):
    from torch import nn

    from ci_inpaint.evaluation import divco as divco_images  # evaluate_run's module
    from ci_inpaint.experiments import aggregate, divco, load_run

    feats = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten())  # cheap 12-d features
    real_fid = divco_images.fid_score
    monkeypatch.setattr(divco_images, "fid_score",
                        lambda G, ds, n, seed, feature_net: real_fid(G, ds, n=n, seed=seed,
                                                                     feature_net=feats))
    kw = {"profile": "smoke", "regs": ("none", "divco"), "k": 3, "n_per_class": 8, "fid_n": 24,
          "progress": "off"}
    rows = divco.run_images([0], tmp_path, **kw)
    assert [(r["variant"], r["seed"]) for r in rows] == [("none", 0), ("divco", 0)]
    row = rows[0]
    assert {"ndb_c0", "jsd_c9", "ndb_mean", "jsd_mean", "fid_name", row["fid_name"]} <= set(row)
    assert row["fid_name"] == "fid_sequential"
    assert row["fid_n_real"] == 24 and row["fid_n_generated"] == 24  # FID carries its counts
    table = aggregate(rows)
    assert set(table) == {"none", "divco"} and table["divco"]["ndb_mean"].n == 1
    G = divco_images.generator_of(load_run(tmp_path / rows[1]["run"]))
    assert sample(G, [1], 2).shape == (2, 1, 32, 32)  # grey digits: one channel (no colour cast)
    assert (tmp_path / "none-s0" / "checkpoints" / "last.pt").is_file()
    monkeypatch.setattr(divco_images, "evaluate_run", None)  # a second call evaluates nothing
    monkeypatch.setattr("ci_inpaint.methods.divco_images.evaluate_run", None)  # re-export
    assert divco.run_images([0], tmp_path, **kw) == rows


def _batch(m, n=6):
    ds = m.train_set()
    return {"image": torch.stack([ds[i]["image"] for i in range(n)]),
            "label": torch.stack([ds[i]["label"] for i in range(n)])}


@pytest.mark.parametrize("reg,key", [("mode_seeking", "mode_seeking"), ("divco", "contra")])
def test_gradient_ratio_matches_brute_force_and_only_on_logged_steps(reg, key):
    cfg = DivCoImagesConfig(width=8, num_neg=3, regularizer=reg, z_dim=16, log_every=5)
    torch.manual_seed(0)
    m = DivCoImages(cfg, torch.device("cpu"))
    seen = {}

    def brute(name, terms):  # the ratio from two separate backward passes on .grad
        if name != "G":
            return
        norms = {}
        for k in ("g_adv", key):
            m.opt_G.zero_grad()
            terms[k].backward(retain_graph=True)
            norms[k] = torch.sqrt(sum(p.grad.pow(2).sum() for p in m.G.parameters()))
        seen["ratio"] = float(norms[key] / norms["g_adv"])

    out = m.train_step(_batch(m), FakeContext(m, step=0, before_step=brute))
    assert float(out[f"gratio_{key}"]) == pytest.approx(seen["ratio"], rel=1e-4)
    assert f"gratio_{key}" not in m.train_step(_batch(m), FakeContext(m, step=3))


@pytest.mark.parametrize("head", ["none", "fixed", "trained"])
def test_encoder_head_knob(head):
    cfg = DivCoImagesConfig(width=8, num_neg=3, z_dim=16, encoder_head=head)
    torch.manual_seed(0)
    m = DivCoImages(cfg, torch.device("cpu"))
    x, y = _batch(m)["image"], _batch(m)["label"]
    f = m.encode(x, y)
    assert f.shape == (6, 4 * 8 * 16 if head == "none" else 8)
    if head == "fixed":
        torch.testing.assert_close(f, m.D.features(x, y))
    assert ("head" in m.modules()) == (head == "trained")
    if head == "trained":  # trained with G on L_contra only
        w0 = m.head.weight.detach().clone()
        g_ids = {id(p) for g in m.opt_G.param_groups for p in g["params"]}
        assert id(m.head.weight) in g_ids
        m.train_step(_batch(m), FakeContext(m))
        assert not torch.equal(w0, m.head.weight)


def test_code_form_is_raw_dot_products_summed_with_the_fixed_head():
    from ci_inpaint.losses.divco import divco_loss

    cfg = DivCoImagesConfig(contra_form="code", encoder_head="none", normalize=True)
    assert cfg.contra_settings() == {"normalize": False, "reduction": "sum", "encoder_head": "fixed"}
    assert DivCoImagesConfig().contra_settings() == {"normalize": True, "reduction": "mean",
                                                     "encoder_head": "none"}
    g = torch.Generator().manual_seed(0)
    f_q, f_p, f_n = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), torch.randn(4, 2, 3, generator=g)
    torch.testing.assert_close(divco_loss(f_q, f_p, f_n, normalize=False, reduction="sum"),
                               4 * divco_loss(f_q, f_p, f_n, normalize=False))
    with pytest.raises(ConfigError, match="encoder_head"):
        train("divco", profile="smoke", out="/tmp/never", encoder_head="bogus")
