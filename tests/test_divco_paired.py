"""DivCo's paired setting: the colouring book, its networks, its scores, the method and claims."""

from __future__ import annotations

import pytest
import torch

from ci_inpaint.data.paired import ColouringShapes, colouring_page, recolour
from ci_inpaint.data.synthetic import PALETTE
from ci_inpaint.errors import ConfigError
from ci_inpaint.evaluation import divco_paired as ev
from ci_inpaint.experiments import divco_paired as pexp
from ci_inpaint.nn.paired import PatchD, ZUNet


def test_colouring_page_by_hand():
    img = torch.full((3, 6, 6), 0.25)
    img[0] = -0.5
    mask = torch.zeros(1, 6, 6)
    mask[:, 1:5, 1:5] = 1  # a 4x4 square: its 1-px rim is the outline, the 2x2 inside stays white
    page = colouring_page(img, mask)
    assert page.shape == (3, 6, 6)
    inside = torch.zeros(6, 6, dtype=torch.bool)
    inside[2:4, 2:4] = True
    rim = mask[0].bool() & ~inside
    assert (page[:, inside] == 1).all() and (page[:, rim] == -1).all()
    torch.testing.assert_close(page[:, ~mask[0].bool()], img[:, ~mask[0].bool()])  # background kept


def test_recolour_paints_only_the_object():
    ds = ColouringShapes(3, seed=5)
    out = recolour(ds.images[0], ds.masks[0], [0, 3])
    m = ds.masks[0, 0] > 0.5
    for k, c in enumerate([0, 3]):
        torch.testing.assert_close(out[k][:, m], (PALETTE[c] * 2 - 1)[:, None].expand(-1, int(m.sum())))
        torch.testing.assert_close(out[k][:, ~m], ds.images[0][:, ~m])


def test_dataset_pairs_and_determinism():
    a, b = ColouringShapes(4, seed=1), ColouringShapes(4, seed=1)
    torch.testing.assert_close(a.conds, b.conds)
    it = a[2]
    assert set(it) == {"cond", "image", "mask", "label", "factors"}
    torch.testing.assert_close(it["cond"], colouring_page(it["image"], it["mask"]))
    # the page holds no trace of the object's colour: two recolourings give the same page
    two = recolour(it["image"], it["mask"], [1, 6])
    torch.testing.assert_close(colouring_page(two[0], it["mask"]), colouring_page(two[1], it["mask"]))


def test_networks_shapes_and_encoder():
    G, D = ZUNet(z_dim=8, ngf=8), PatchD(ndf=8)
    a = torch.randn(2, 3, 32, 32)
    z = torch.randn(2, 8)
    y = G(a, z)
    assert y.shape == (2, 3, 32, 32) and y.abs().max() <= 1
    assert D(a, y).shape == (2, 1, 4, 4)
    assert G.encode(y).shape == (2, 4 * 8 * 4 * 4)
    assert G.encode(y, features="pooled").shape == (2, 11 * 8)
    G.encode(torch.randn(2, 3, 32, 32)).sum().backward()  # E is G's own encoder: its weights get gradients
    assert G.enc[0][0].weight.grad is not None and G.enc[0][0].weight.grad.abs().sum() > 0
    assert G.out[0].weight.grad is None  # ... and nothing of the decoder


def test_object_colours_and_distinct():
    ds = ColouringShapes(2, seed=3)
    x = torch.stack([recolour(ds.images[i], ds.masks[i], [2, 2, 5]) for i in range(2)])
    idx = ev.object_colours(x, ds.masks)
    assert idx.tolist() == [[2, 2, 5], [2, 2, 5]]
    assert ev.distinct_per_row(torch.tensor([[1, 1, 1], [0, 4, 2], [3, 3, 0]])).tolist() == [1, 3, 2]


def test_with_ratio_and_gate_claims():
    rows = [{"variant": v, "seed": s, "lpips": lp, "colours": c, "fid": f, "l1": 0.1}
            for s in range(3)
            for v, lp, c, f in (("none", 0.01 + 0.001 * s, 1.0, 50.0 + s),
                                ("divco", 0.2 + 0.01 * s, 3.5, 49.0 + s))]
    ratio = [r for r in pexp.with_ratio(rows) if r["variant"] == "divco/none"]
    assert [round(r["lpips_ratio"], 6) for r in ratio] == [round((0.2 + 0.01 * s) / (0.01 + 0.001 * s), 6)
                                                           for s in range(3)]
    refs = {"recoloured": {"lpips": 0.5}}
    claims = {c.text.split(":")[0]: c for c in pexp.claims(rows, refs)}
    assert claims["the baseline (pix2pix+z) ignores z"].verdict == "holds"  # 0.01-0.012 < 0.05
    assert claims["DivCo uses z"].verdict == "holds"  # ~20x
    assert claims["DivCo stays realistic"].verdict == "holds"
    assert claims["Table 1"].verdict == "holds"  # more diverse, every seed


def test_smoke_training_scores_and_resume(tmp_path):
    from ci_inpaint.engine import train

    a = train("divco_paired", "smoke", tmp_path / "a", progress="off")
    b = train("divco_paired", "smoke", tmp_path / "b", progress="off", steps=2)
    b = train("divco_paired", "smoke", tmp_path / "b", progress="off", resume=True)
    for k, v in a.method.G.state_dict().items():
        torch.testing.assert_close(v, b.method.G.state_dict()[k])  # a resumed run = an uninterrupted one
    assert any("gratio_contra" in h for h in map(dict, pexp.read_ratios(tmp_path / "a")))
    net = ev.FeatureNet(torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()), "pool")  # a cheap stand-in
    s = ev.evaluate(a.method, n=6, s=3, fid_n=12, net=net)
    assert set(s) >= {"lpips", "colours", "fid", "l1", "lpips_net"} and 1 <= s["colours"] <= 3


def test_bad_values_name_the_fix(tmp_path):
    from ci_inpaint.engine import train

    with pytest.raises(ConfigError, match="regularizer"):
        train("divco_paired", "smoke", tmp_path / "x", regularizer="bogus")
    with pytest.raises(ConfigError, match="tau"):
        train("divco_paired", "smoke", tmp_path / "y", tau=0.0)
