"""The latent-grid explorer's logic: grid layout (rows = unknown, columns = known), the
interpolation helpers, and the explorer state (context, sliders, resampling, predictions)."""

from __future__ import annotations

import math

import pytest
import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.errors import UserError
from ci_inpaint.methods import get_method
from ci_inpaint.widgets import ExplorerState, interpolate, latent_grid, lerp, slerp, to_image

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def method():
    cls = get_method("contrasfill")
    cfg = resolve_config(cls.Config, "smoke", {}, method="contrasfill")
    torch.manual_seed(0)
    return cls(cfg, torch.device("cpu"))


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
