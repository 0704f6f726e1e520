"""The latent-grid explorer of ContrasFill: plain, tested functions, and ipywidgets wiring them.

* :func:`latent_grid` -- G(k_j, u_i, I) for every known code (column) x unknown code (row) on
  one context (the paper's Fig. 6 layout);
* :func:`lerp`, :func:`slerp`, :func:`interpolate` -- paths between two codes (linear for the
  Gaussian u and for one-hot k, spherical for unit-sphere k so every point stays a unit vector);
* :class:`ExplorerState` -- the explorer's logic (context, the two code pairs, the two slider
  positions, resampling, rendering, factor predictions) with no widget in it;
* :func:`explorer` -- the ipywidgets front end (a context picker, two sliders, resample
  buttons, the image and the predictions under it); it only wires ExplorerState.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import UserError


def _context(context: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    x, m = context["image"], context["mask"]
    if x.dim() == 3:
        x, m = x[None], m[None]
    if x.shape[0] != 1:
        raise UserError(f"latent_grid takes one context, got a batch of {x.shape[0]}: pass "
                        "{'image': items['image'][i], 'mask': items['mask'][i]}")
    return x, m


def latent_grid(model, context: dict[str, Tensor], known_codes: Tensor | None,
                unknown_codes: Tensor) -> Tensor:
    """(n_u, n_k, 3, H, W) composites: row i uses unknown_codes[i], column j known_codes[j].

    ``model``: a ContrasFill method (its EMA generator samples); ``context``: ``image`` (3, H, W)
    and ``mask`` (1, H, W) of one input. A single-code model takes ``known_codes=None`` and
    returns one column."""
    x, m = _context(context)
    n_u = len(unknown_codes)
    n_k = 1 if known_codes is None else len(known_codes)
    k = None if known_codes is None else known_codes.repeat(n_u, 1)
    u = unknown_codes.repeat_interleave(n_k, 0)
    out = model.inpaint(x.expand(n_u * n_k, -1, -1, -1), m.expand(n_u * n_k, -1, -1, -1), k, u)
    return out.view(n_u, n_k, *out.shape[1:])


def to_image(grid: Tensor, pad: int = 2) -> np.ndarray:
    """(n_u, n_k, 3, H, W) in [-1, 1] -> an (H', W', 3) array in [0, 1] for ``imshow``."""
    from torchvision.utils import make_grid

    n_u, n_k = grid.shape[:2]
    img = make_grid((grid.flatten(0, 1) + 1) / 2, nrow=n_k, padding=pad, pad_value=1.0)
    return img.clamp(0, 1).permute(1, 2, 0).numpy()


def lerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    return (1 - t) * a + t * b


def slerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """Spherical interpolation along the great circle from a to b (norms interpolated
    linearly); the linear path where a and b are (anti)parallel."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(1e-12), b / nb.clamp_min(1e-12)
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1, 1)
    omega = torch.acos(cos)
    so = torch.sin(omega)
    safe = so.abs() > 1e-6
    dir_ = torch.where(safe, (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub)
                       / so.where(safe, torch.ones_like(so)), lerp(ua, ub, t))
    return dir_ * lerp(na, nb, t)


def interpolate(a: Tensor, b: Tensor, steps: int, kind: str = "lerp") -> Tensor:
    """(steps, D) codes from a to b (both ends included) by ``lerp`` or ``slerp``."""
    if steps < 2:
        raise UserError(f"interpolate needs steps >= 2, got {steps}")
    if kind not in ("lerp", "slerp"):
        raise UserError(f"interpolation kind {kind!r}: use lerp or slerp")
    f = lerp if kind == "lerp" else slerp
    return torch.stack([f(a, b, float(t)) for t in torch.linspace(0, 1, steps)])


class ExplorerState:
    """What the explorer shows: one context, known codes k0 -> k1 at slider ``t_k``, unknown
    codes u0 -> u1 at ``t_u``. One-hot k is interpolated linearly (a blend of two classes),
    sphere k spherically. ``render()`` returns (image (3, H, W) in [-1, 1], predictions)."""

    def __init__(self, method, contexts: dict[str, Tensor], predictor=None, seed: int = 0,
                 class_names=None):
        self.method, self.contexts, self.predictor = method, contexts, predictor
        self.class_names = class_names
        self.gen = torch.Generator().manual_seed(seed)
        self.index, self.t_k, self.t_u = 0, 0.0, 0.0
        self.single = getattr(method, "single", False)
        self.k_pair = None if self.single else self._draw_known()
        self.u_pair = method.unknown_codes(2, self.gen)

    @property
    def n_contexts(self) -> int:
        return len(self.contexts["image"])

    def _draw_known(self) -> Tensor:
        cfg = self.method.cfg
        if cfg.known_code == "onehot":
            return self.method.known_codes(torch.randperm(cfg.num_classes, generator=self.gen)[:2])
        return self.method.known_codes(2, self.gen)

    def set_context(self, i: int) -> None:
        if not 0 <= i < self.n_contexts:
            raise UserError(f"context {i} out of range: choose 0..{self.n_contexts - 1}")
        self.index = int(i)

    def resample_known(self) -> None:
        if not self.single:
            self.k_pair = self._draw_known()

    def resample_unknown(self) -> None:
        self.u_pair = self.method.unknown_codes(2, self.gen)

    def codes(self) -> tuple[Tensor | None, Tensor]:
        u = lerp(self.u_pair[0], self.u_pair[1], self.t_u)[None]
        if self.single:
            return None, u
        kind = "slerp" if self.method.cfg.known_code == "sphere" else "lerp"
        f = slerp if kind == "slerp" else lerp
        return f(self.k_pair[0], self.k_pair[1], self.t_k)[None], u

    def render(self) -> tuple[Tensor, dict[str, str]]:
        k, u = self.codes()
        ctx = {"image": self.contexts["image"][self.index], "mask": self.contexts["mask"][self.index]}
        img = latent_grid(self.method, ctx, k, u)[0, 0]
        return img, self.predict(img)

    @torch.no_grad()
    def predict(self, img: Tensor) -> dict[str, str]:
        """The factor predictor's most likely value (and its probability) per factor."""
        if self.predictor is None:
            return {}
        out = {}
        for f, lg in self.predictor.logits(img[None]).items():
            p = F.softmax(lg[0], 0)
            i = int(p.argmax())
            name = self.class_names[i] if f == "label" and self.class_names else str(i)
            out[f] = f"{name} ({float(p[i]):.0%})"
        return out


def explorer(method, contexts: dict[str, Tensor], predictor=None, class_names=None, seed: int = 0):
    """The ipywidgets explorer (needs a live kernel): returns the widget box."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    st = ExplorerState(method, contexts, predictor, seed, class_names)
    pick = w.IntSlider(0, 0, st.n_contexts - 1, description="context")
    tk = w.FloatSlider(0.0, min=0, max=1, step=0.05, description="known k0→k1",
                       disabled=st.single)
    tu = w.FloatSlider(0.0, min=0, max=1, step=0.05, description="unknown u0→u1")
    bk, bu = w.Button(description="resample known", disabled=st.single), \
        w.Button(description="resample unknown")
    out = w.Output()

    def draw(*_):
        st.set_context(pick.value)
        st.t_k, st.t_u = tk.value, tu.value
        img, pred = st.render()
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(3, 3.4))
            ax.imshow(((img + 1) / 2).clamp(0, 1).permute(1, 2, 0).numpy())
            ax.set(xticks=[], yticks=[])
            ax.set_xlabel("\n".join(f"{k}: {v}" for k, v in pred.items()), fontsize=8)
            plt.show()

    def resample(which):
        def go(_):
            st.resample_known() if which == "k" else st.resample_unknown()
            draw()
        return go

    for s in (pick, tk, tu):
        s.observe(draw, names="value")
    bk.on_click(resample("k"))
    bu.on_click(resample("u"))
    draw()
    return w.VBox([pick, w.HBox([tk, bk]), w.HBox([tu, bu]), out])


__all__ = ["ExplorerState", "explorer", "interpolate", "latent_grid", "lerp", "slerp", "to_image"]
