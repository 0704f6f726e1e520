"""CUT networks and the cut method: layer taps, patch sampling, the shape domains' exact content
rule, which terms reach which optimiser, presets, MoNCE -> PatchNCE inside the model, bad configs."""

import math

import pytest
import torch
import torch.nn.functional as F

from ci_inpaint.config import resolve_config
from ci_inpaint.errors import ConfigError
from ci_inpaint.methods import get_method
from ci_inpaint.methods.cut import (
    CUTConfig,
    ShapeDomains,
    mask_iou,
    object_mask_b,
    preset,
)
from ci_inpaint.nn.cut import PatchDiscriminator, PatchSampleMLP, ResnetGenerator, parse_layers
from ci_inpaint.testing import FakeContext

LAYERS = ("rgb", "down1", "down2", "block1", "block5")


def small(**kw):
    return resolve_config(CUTConfig, "smoke", kw)


def make(**kw):
    torch.manual_seed(0)
    return get_method("cut")(small(**kw), torch.device("cpu"))


def batch_of(m, n=2):
    ds = m.train_set()
    return {k: torch.stack([ds[i][k] for i in range(n)]) for k in ("A", "B")}


def test_generator_layers_and_shapes():
    G = ResnetGenerator(ngf=4, n_blocks=5)
    x = torch.randn(2, 3, 32, 32)
    assert G(x).shape == (2, 3, 32, 32) and G(x).abs().max() <= 1
    feats = G.encode(x, LAYERS)
    assert [tuple(f.shape) for f in feats] == [(2, 3, 38, 38), (2, 8, 16, 16), (2, 16, 8, 8),
                                               (2, 16, 8, 8), (2, 16, 8, 8)]
    assert torch.equal(feats[0], F.pad(x, (3, 3, 3, 3), mode="reflect"))  # CUT's layer 0
    assert [G.channels(n) for n in LAYERS] == [3, 8, 16, 16, 16]
    # block 1 is one residual block after down2 + norm + relu
    h = G.act2(feats[2])
    assert torch.allclose(feats[3], G.blocks[0](h))
    D = PatchDiscriminator(ndf=4, n_layers=3)
    assert D(x).shape == (2, 1, 2, 2)


def test_parse_layers():
    assert parse_layers("rgb, down1,block5", 5) == ("rgb", "down1", "block5")
    with pytest.raises(ConfigError, match="block7"):
        parse_layers("rgb,block7", 6)
    with pytest.raises(ConfigError, match="distinct"):
        parse_layers("rgb,rgb", 6)


def test_patch_sampler_shares_positions():
    torch.manual_seed(1)
    feats = [torch.randn(2, 3, 10, 10), torch.randn(2, 5, 4, 4)]
    mlp = PatchSampleMLP([3, 5], nc=8)
    ids = mlp.sample_ids(feats, 32)
    assert [len(i) for i in ids] == [32, 16]  # all 16 positions of the 4x4 map
    assert len(set(ids[0].tolist())) == 32
    out = mlp(feats, ids)
    assert [tuple(o.shape) for o in out] == [(2, 32, 8), (2, 16, 8)]
    assert torch.allclose(out[0].norm(dim=-1), torch.ones(2, 32))
    # the patch at flat position p of image b is the MLP of feats[:, :, row, col]
    p = int(ids[0][5])
    want = F.normalize(mlp.mlps[0](feats[0][1, :, p // 10, p % 10]), dim=-1)
    assert torch.allclose(out[0][1, 5], want, atol=1e-6)


def test_shape_domains_share_content_and_the_colour_rule_is_exact():
    ds = ShapeDomains(n=24, size=32, seed=3)
    # the B colour rule recovers B's own object mask (the rule content_scores applies to G(x_A))
    assert mask_iou(object_mask_b(ds.b["image"]), ds.b["mask"]).min() > 0.97
    # and does not fire on A's textured images as B objects
    assert mask_iou(object_mask_b(ds.a["image"]), ds.a["mask"]).mean() < 0.5
    item = ds[0]
    assert item["A"].shape == item["B"].shape == (3, 32, 32)
    assert torch.equal(item["factors_A"], torch.stack([ds.a[f"f_{k}"][0]
                                                       for k in ("label", "scale", "x", "y")]))
    # epoch-aware: the partner changes with the epoch, the item is a pure function of the key
    partners = {int((ds[(e, 0)]["B"] - ds.b["image"]).flatten(1).abs().sum(1).argmin())
                for e in range(6)}
    assert len(partners) > 1
    assert torch.equal(ds[(2, 5)]["B"], ds[(2, 5)]["B"])


@pytest.mark.parametrize("contrast", ["patchnce", "monce", "none"])
def test_train_step_terms(contrast):
    m = make(contrast=contrast)
    d_before = [p.clone() for p in m.D.parameters()]
    seen = {}

    def hook(name, terms):
        if name == "G":  # D is frozen during G's step
            seen["d_frozen"] = not any(p.requires_grad for p in m.D.parameters())

    ctx = FakeContext(m, before_step=hook)
    out = m.train_step(batch_of(m), ctx)
    assert ctx.calls == ["D", "G"]
    assert set(ctx.terms["D"]) == {"d_lsgan"}
    assert set(ctx.terms["G"]) == ({"g_lsgan"} if contrast == "none" else {"g_lsgan", "nce"})
    assert seen["d_frozen"] and all(p.requires_grad for p in m.D.parameters())
    assert all(torch.isfinite(v) for v in out.values())
    assert any(not torch.equal(a, b) for a, b in zip(d_before, m.D.parameters()))
    if contrast != "none":  # the MLP heads train with G
        assert all(p.grad is not None for p in m.F.parameters())


def test_presets():
    assert preset(small()) == (1.0, True, False)
    assert preset(small(cut_mode="fastcut")) == (10.0, False, True)
    assert preset(small(cut_mode="fastcut", lambda_nce=2.0, nce_idt="on")) == (2.0, True, True)
    m = make(cut_mode="fastcut")
    m.train_step(batch_of(m), FakeContext(m))  # flip path runs


def test_nce_rewards_preserved_content():
    m = make(num_patches=16)
    x = batch_of(m, 2)["A"]
    torch.manual_seed(0)
    same = m.nce(x, x)
    torch.manual_seed(0)
    shuffled = m.nce(x, x.flip(2).flip(3))
    assert same < shuffled


def test_monce_with_uniform_plan_equals_patchnce_in_the_model():
    m = make(contrast="monce", monce_eps=1e7, num_patches=16)
    x = batch_of(m, 2)
    y = m.G(x["A"]).detach()
    torch.manual_seed(5)
    mo = m.nce(x["A"], y)
    m.cfg.contrast = "patchnce"
    torch.manual_seed(5)
    assert torch.allclose(mo, m.nce(x["A"], y), rtol=1e-5)


def test_lr_schedule():
    m = make(steps=10, decay_from=0.5, lr=1e-3)
    lrs = []
    for s in range(10):
        m._set_lr(s)
        lrs.append(m.opt_G.param_groups[0]["lr"])
    assert lrs[:5] == [1e-3] * 5 and lrs[5] == pytest.approx(1e-3)
    assert lrs[9] == pytest.approx(2e-4) and m.opt_D.param_groups[0]["lr"] == lrs[9]


@pytest.mark.parametrize("kw, match", [({"nce_layers": "rgb,block9"}, "block9"),
                                       ({"dataset": "unpaired_folder"}, "data_root"),
                                       ({"data_root": "/x"}, "data_root"),
                                       ({"lambda_nce": -2.0}, "lambda_nce")])
def test_bad_configs(kw, match):
    with pytest.raises(ConfigError, match=match):
        get_method("cut").validate(small(**kw))
    with pytest.raises(ConfigError, match="contrast"):
        small(contrast="infonce")


@pytest.mark.filterwarnings("ignore:Fréchet distance of 3")  # 3 images, 4 features: biased, fine
def test_cityscapes_trains_labels_to_photos(tmp_path):
    """``dataset=cityscapes`` reads pix2pix's photo|label files unpaired (A = labels) and steps."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for k in range(4):
        d = tmp_path / "cityscapes" / "train"
        d.mkdir(parents=True, exist_ok=True)
        photo = rng.integers(0, 256, (32, 32, 3))
        label = np.full((32, 32, 3), 40 * k)
        Image.fromarray(np.concatenate([photo, label], 1).astype(np.uint8)).save(d / f"{k}.png")
    m = make(dataset="cityscapes", data_root=str(tmp_path))
    ds = m.train_set()
    assert len(ds) == 4
    assert ds[1]["A"].std() < 1e-6 and ds[1]["B"].std() > 0.1  # flat labels in A, photos in B
    out = m.train_step(batch_of(m), FakeContext(m))
    assert all(torch.isfinite(v) for v in out.values())
    assert m.evaluate(FakeContext(m)) == {}  # no exact content score off the shape domains
    # the stated FID protocol: every val label map translated, against every val photo
    for k in range(3):
        d = tmp_path / "cityscapes" / "val"
        d.mkdir(parents=True, exist_ok=True)
        photo = np.full((32, 32, 3), 200)
        Image.fromarray(np.concatenate([photo, np.full((32, 32, 3), 30 * k)], 1)
                        .astype(np.uint8)).save(d / f"{k}.png")
    from ci_inpaint.methods.cut import evaluate_folder, test_domains
    from ci_inpaint.metrics.features import FeatureNet

    a, b = test_domains(m.cfg)
    assert a.shape == b.shape == (3, 3, 32, 32)
    assert [round((float(x[0, 0, 0]) + 1) * 127.5) for x in a] == [0, 30, 60]
    assert torch.allclose(b, torch.full_like(b, 200 / 127.5 - 1), atol=1e-6)
    net = FeatureNet(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 4)),
                     "tiny")
    row = evaluate_folder(m.G, m.cfg, feature_net=net)
    assert row["fid_n_real"] == row["fid_n_generated"] == 3 and row["fid_feature_net"] == "tiny"
    assert math.isfinite(row[row["fid_name"]])


def test_monce_is_a_method_name(capsys):
    """``ci-inpaint train monce`` = ``cut --set contrast=monce``, listed in ``train --help``."""
    from ci_inpaint.cli import main

    m = get_method("monce")
    assert issubclass(m, get_method("cut"))
    assert vars(resolve_config(m.Config, "smoke", {})) == vars(small(contrast="monce"))
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert any(line.split()[:1] == ["monce"] for line in capsys.readouterr().out.splitlines())


def test_resolve_presets_writes_the_values_used():
    cfg = CUTConfig(cut_mode="fastcut")
    cfg.resolve_presets()
    assert (cfg.lambda_nce, cfg.nce_idt, cfg.flip_equivariance) == (10.0, "off", "on")
    assert preset(cfg) == (10.0, False, True)  # resolving twice changes nothing
    cfg = CUTConfig(lambda_nce=2.0, nce_idt="off")
    cfg.resolve_presets()
    assert (cfg.lambda_nce, cfg.nce_idt, cfg.flip_equivariance) == (2.0, "off", "off")
    bad = CUTConfig(lambda_nce=-2.0)
    bad.resolve_presets()
    assert bad.lambda_nce == -2.0  # left for check_config's error


@pytest.mark.skipif(not hasattr(__import__("ci_inpaint.config").config.TrainConfig,
                                "resolve_presets"), reason="resolve_config has no preset hook yet")
def test_resolve_config_records_the_preset():
    cfg = small(cut_mode="fastcut")
    assert (cfg.lambda_nce, cfg.nce_idt, cfg.flip_equivariance) == (10.0, "off", "on")


def test_one_down_sampling_keeps_a_finer_grid():
    g = ResnetGenerator(3, 3, ngf=4, n_blocks=2, n_down=1)
    x = torch.randn(2, 3, 32, 32)
    assert g(x).shape == x.shape
    rgb, d1, b1 = g.encode(x, ("rgb", "down1", "block1"))
    assert d1.shape == (2, 8, 16, 16) and b1.shape == (2, 8, 16, 16)  # blocks at 16 x 16
    assert g.channels("block1") == 8 and g.channels("down1") == 8
    with pytest.raises(ConfigError, match="down2"):
        parse_layers("rgb,down2", 2, n_down=1)
    with pytest.raises(ConfigError, match="0, 1 or 2 times"):
        ResnetGenerator(3, 3, ngf=4, n_blocks=2, n_down=3)
    # the method builds its generator and heads from the knob
    m = make(n_down=1, nce_layers="rgb,down1,block1")
    assert m.G.n_down == 1 and m.F.mlps[2][0].in_features == 2 * m.cfg.ngf


def test_no_down_sampling_keeps_the_image_grid():
    g = ResnetGenerator(3, 3, ngf=4, n_blocks=2, n_down=0)
    x = torch.randn(2, 3, 32, 32)
    assert g(x).shape == x.shape
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules())
    d1, b2 = g.encode(x, ("down1", "block2"))
    assert d1.shape == (2, 8, 32, 32) and b2.shape == (2, 8, 32, 32)  # 2 ngf on the full grid
    assert g.channels("down1") == g.channels("block2") == 8
    assert parse_layers("rgb,down1,block2", 2, n_down=0) == ("rgb", "down1", "block2")
    with pytest.raises(ConfigError, match="down2"):
        parse_layers("down2", 2, n_down=0)
    m = make(n_down=0, nce_layers="rgb,down1,block1")
    assert m.G.n_down == 0 and m.F.mlps[2][0].in_features == 2 * m.cfg.ngf
    out = m.train_step(batch_of(m), FakeContext(m))
    assert all(torch.isfinite(v) for v in out.values())


def test_domain_styles_are_exact():
    from ci_inpaint.data.cut import B_OBJECT
    from ci_inpaint.data.synthetic import PALETTE, FactorShapes

    ds = ShapeDomains(n=12, size=32, seed=5)
    src = FactorShapes(12, size=32, seed=5, num_classes=4)
    for i in range(12):
        m = ds.a["mask"][i]
        colour = PALETTE[int(src[i]["factors"][0])] * 2 - 1
        assert torch.allclose(ds.a["image"][i][:, m], colour[:, None].expand(3, int(m.sum())))
        mb = ds.b["mask"][i]
        want = torch.tensor(B_OBJECT) * 2 - 1
        assert torch.allclose(ds.b["image"][i][:, mb], want[:, None].expand(3, int(mb.sum())))


def test_ot_weight_maps_read_the_trained_heads():
    from ci_inpaint.experiments.monce import ot_weight_maps

    m = make(contrast="monce", n_down=1, nce_layers="rgb,down1,block1")
    img = m.train_set()[0]["A"]
    maps, (r, c) = ot_weight_maps(m, img, "block1", query=(3, 4))
    assert (r, c) == (3, 4)
    for wm in maps.values():
        assert wm.shape == (16, 16) and math.isnan(wm[3, 4])
        # a plan row sums to 1, so the weights of the P - 1 negatives average exactly 1
        assert abs(float(wm.nan_to_num(0).sum()) / 255 - 1) < 1e-4
    with pytest.raises(ConfigError, match="not an NCE layer"):
        ot_weight_maps(m, img, "block2")
