"""The latent-grid explorer's logic: grid layout (rows = unknown, columns = known), the
interpolation helpers, and the explorer state (context, sliders, resampling, predictions); the
DivCo explorer (class x latent grid, the latent walk), the PNG frames both widgets show, and
how the explorer page finds or trains its models."""

from __future__ import annotations

import io
import math
import shutil

import numpy as np
import pytest
import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.errors import UserError
from ci_inpaint.methods import get_method
from ci_inpaint.widgets import ExplorerState, interpolate, latent_grid, lerp, slerp, to_image

torch.set_num_threads(1)


def smoke_method(name):
    cls = get_method(name)
    cfg = resolve_config(cls.Config, "smoke", {}, method=name)
    torch.manual_seed(0)
    return cls(cfg, torch.device("cpu"))


@pytest.fixture(scope="module")
def method():
    return smoke_method("contrasfill")


def context(method, i=0):
    it = method.dataset[i]
    return {"image": it["image"], "mask": it["mask"]}


def test_latent_grid_rows_are_unknown_codes_and_columns_known_codes(method):
    ctx = context(method)
    k = method.known_codes([0, 3, 5])
    u = method.unknown_codes(2, torch.Generator().manual_seed(1))
    grid = latent_grid(method, ctx, k, u)
    assert grid.shape == (2, 3, 3, 32, 32)
    for i in range(2):
        for j in range(3):
            one = method.inpaint(ctx["image"][None], ctx["mask"][None], k[j:j + 1], u[i:i + 1])
            torch.testing.assert_close(grid[i, j], one[0], rtol=1e-4, atol=1e-5)
    # known pixels are the context's own
    keep = ctx["mask"][0] == 0
    torch.testing.assert_close(grid[1, 2][:, keep], ctx["image"][:, keep])
    img = to_image(grid, pad=2)
    assert img.shape == (2 * 34 + 2, 3 * 34 + 2, 3) and 0 <= img.min() and img.max() <= 1
    with pytest.raises(UserError, match="one context"):
        latent_grid(method, {"image": torch.zeros(2, 3, 32, 32), "mask": torch.zeros(2, 1, 32, 32)},
                    k, u)


def test_interpolation_helpers():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    torch.testing.assert_close(lerp(a, b, 0.25), torch.tensor([0.75, 0.25]))
    mid = slerp(a, b, 0.5)
    torch.testing.assert_close(mid, torch.tensor([math.sqrt(0.5)] * 2))  # stays on the circle
    torch.testing.assert_close(slerp(2 * a, 2 * a, 0.3), 2 * a)  # parallel: no NaN
    path = interpolate(a, b, 5, "slerp")
    assert path.shape == (5, 2)
    torch.testing.assert_close(path.norm(dim=1), torch.ones(5))
    torch.testing.assert_close(path[0], a) and torch.testing.assert_close(path[-1], b)
    with pytest.raises(UserError, match="steps"):
        interpolate(a, b, 1)
    with pytest.raises(UserError, match="kind"):
        interpolate(a, b, 3, "cubic")


class FakePredictor:
    def logits(self, x):
        return {"label": torch.tensor([[0.0, 2.0, 0.0]]).expand(len(x), -1)}


def test_explorer_state_sliders_resampling_and_predictions(method):
    items = {key: torch.stack([method.dataset[i][key] for i in range(3)]) for key in ("image", "mask")}
    st = ExplorerState(method, items, FakePredictor(), seed=0, class_names=["a", "b", "c"])
    assert st.n_contexts == 3
    k0, u0 = st.codes()
    torch.testing.assert_close(k0[0], st.k_pair[0])
    st.t_k, st.t_u = 1.0, 0.5
    k1, u1 = st.codes()
    torch.testing.assert_close(k1[0], st.k_pair[1])
    torch.testing.assert_close(u1[0], (st.u_pair[0] + st.u_pair[1]) / 2)
    img, pred = st.render()
    assert img.shape == (3, 32, 32) and pred["label"].startswith("b (")
    before = st.u_pair.clone()
    st.resample_unknown()
    assert not torch.equal(before, st.u_pair)
    st.set_context(2)
    img2, _ = st.render()
    assert not torch.equal(img, img2)
    with pytest.raises(UserError, match="out of range"):
        st.set_context(3)


def test_explorer_widget_builds(method):
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from ci_inpaint.widgets import explorer

    items = {key: torch.stack([method.dataset[i][key] for i in range(2)]) for key in ("image", "mask")}
    box = explorer(method, items)
    assert len(box.children) == 4


def test_contrasfill_widget_slider_changes_the_image(method):
    pytest.importorskip("ipywidgets")
    from ci_inpaint.widgets import explorer

    items = {key: torch.stack([method.dataset[i][key] for i in range(2)]) for key in ("image", "mask")}
    box = explorer(method, items, FakePredictor(), class_names=["a", "b", "c"])
    img, info = box.children[3].children
    before = img.value
    assert before[:8] == b"\x89PNG\r\n\x1a\n" and info.value.startswith("label: b (")
    box.children[2].children[0].value = 1.0  # the unknown-code slider
    assert img.value != before


# ----------------------------------------------------------------------------- DivCo explorer
@pytest.fixture(scope="module")
def divco():
    return smoke_method("divco")


def test_png_bytes_upscales_with_nearest_neighbours():
    from PIL import Image

    from ci_inpaint.widgets import png_bytes

    a = np.zeros((2, 2, 3))
    a[0, 1] = 1.0
    a[1, 0] = [0.5, 2.0, -1.0]  # clipped to [0, 1]
    im = np.asarray(Image.open(io.BytesIO(png_bytes(a, 3))))
    assert im.shape == (6, 6, 3)
    assert (im[:3, 3:] == 255).all() and (im[:3, :3] == 0).all()
    assert (im[3:, :3] == [128, 255, 0]).all()
    with pytest.raises(UserError, match="scale"):
        png_bytes(a, 0)


def test_class_latent_grid_rows_are_classes_and_columns_codes(divco):
    from ci_inpaint.methods.divco_images import sample
    from ci_inpaint.widgets import class_latent_grid

    z = torch.randn(3, divco.cfg.z_dim, generator=torch.Generator().manual_seed(0))
    grid = class_latent_grid(divco, [7, 2], z)
    assert grid.shape == (2, 3, 1, 32, 32)  # grey digits: one channel
    for i, c in enumerate([7, 2]):
        for j in range(3):
            one = sample(divco, [c], 1, z=z[j:j + 1])
            torch.testing.assert_close(grid[i, j], one[0], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(grid[0, 0], grid[1, 0])  # the class changes the image
    with pytest.raises(UserError, match="generator takes"):
        class_latent_grid(divco, [0], torch.zeros(2, 5))


def test_divco_state_walk_codes_and_controls(divco):
    from PIL import Image

    from ci_inpaint.widgets import DivCoExplorerState

    st = DivCoExplorerState(divco, n_codes=3, seed=1, kind="lerp")
    assert st.classes == list(range(10)) and st.z0.shape == (3, divco.cfg.z_dim)
    torch.testing.assert_close(st.codes(), st.z0)
    st.t = 1.0
    torch.testing.assert_close(st.codes(), st.z1)
    st.t = 0.5
    torch.testing.assert_close(st.codes(), (st.z0 + st.z1) / 2)
    st.set_kind("slerp")  # the midpoint keeps the mean of the endpoints' norms
    torch.testing.assert_close(st.codes().norm(dim=1), (st.z0.norm(dim=1) + st.z1.norm(dim=1)) / 2)
    g_half = st.render()
    st.t = 0.0
    g_0 = st.render()
    assert g_half.shape == (10, 3, 1, 32, 32) and not torch.allclose(g_half, g_0)
    torch.testing.assert_close(g_0[:, 1], st.render()[:, 1])  # deterministic
    first = st.z0[:2].clone()
    st.set_n_codes(5)
    assert len(st.z0) == 5 and torch.equal(st.z0[:2], first)  # the old walks stay
    st.set_n_codes(2)
    assert torch.equal(st.z0, first)
    st.resample()
    assert len(st.z0) == 2 and not torch.equal(st.z0, first)
    st.set_classes([3, 1])
    im = Image.open(io.BytesIO(st.frame(scale=2)))
    assert im.size == ((2 * 33 + 1) * 2, (2 * 33 + 1) * 2)
    for bad, match in (([], "no class"), ([10], "out of range")):
        with pytest.raises(UserError, match=match):
            st.set_classes(bad)
    with pytest.raises(UserError, match="codes"):
        st.set_n_codes(0)
    with pytest.raises(UserError, match="kind"):
        st.set_kind("cubic")


def test_divco_widget_slider_changes_the_image_and_bad_input_is_one_line(divco):
    pytest.importorskip("ipywidgets")
    from ci_inpaint.widgets import divco_explorer

    box = divco_explorer(divco, n_codes=2)
    pick, controls = box.children[0].children
    walk = controls.children[0]
    img, info = box.children[1], box.children[2]
    before = img.value
    walk.value = 0.7
    assert img.value != before and info.value == ""
    pick.value = ()
    assert "no class selected" in info.value


def test_find_run_and_explorer_model_train_then_load(tmp_path):
    from ci_inpaint.widgets import explorer_model, find_run

    assert find_run("divco", "smoke", tmp_path) is None
    with pytest.raises(UserError, match="no explorer"):
        find_run("scat", "smoke", tmp_path)
    logs = []
    m, d = explorer_model("divco", "smoke", root=tmp_path, cache=tmp_path / "cache",
                          log=logs.append, progress="off")
    assert "Training a small model" in logs[-1] and d == tmp_path / "cache" / "divco-smoke"
    assert (d / "checkpoints" / "last.pt").is_file()
    m2, _ = explorer_model("divco", "smoke", root=tmp_path, cache=tmp_path / "cache",
                           log=logs.append, progress="off")
    assert "trained earlier" in logs[-1]
    sd, sd2 = m.sampler.state_dict(), m2.sampler.state_dict()
    assert all(torch.equal(sd[k], sd2[k]) for k in sd)
    # the run a notebook left: an unfinished one (no result.json) is skipped
    runs = tmp_path / "01_divco-smoke" / "images"
    shutil.copytree(d, runs / "divco-s1")
    shutil.copytree(d, runs / "divco-s0")
    (runs / "divco-s0" / "result.json").unlink()
    assert find_run("divco", "smoke", tmp_path) == runs / "divco-s1"
    _, d3 = explorer_model("divco", "smoke", root=tmp_path, log=logs.append)
    assert d3 == runs / "divco-s1" and "checkpoint of a smoke run of 01_divco" in logs[-1]
