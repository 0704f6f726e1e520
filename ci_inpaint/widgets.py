"""The latent explorers of ContrasFill and DivCo: plain, tested functions, and ipywidgets wiring.

ContrasFill (02_contrasfill):

* :func:`latent_grid` -- G(k_j, u_i, I) for every known code (column) x unknown code (row) on
  one context (the paper's Fig. 6 layout);
* :func:`lerp`, :func:`slerp`, :func:`interpolate` -- paths between two codes (linear for the
  Gaussian u and for one-hot k, spherical for unit-sphere k so every point stays a unit vector);
* :class:`ExplorerState` -- the explorer's logic (context, the two code pairs, the two slider
  positions, resampling, rendering, factor predictions) with no widget in it;
* :func:`explorer` -- the ipywidgets front end (a context picker, two sliders, resample
  buttons, the image and the predictions under it); it only wires ExplorerState.

DivCo (01_divco):

* :func:`class_latent_grid` -- G(z_j, y_i) for every class (row) x code (column), the same code
  down a column (the paper's Fig. 4 layout: a column shows one code under every label);
* :class:`DivCoExplorerState` -- classes, one walk z0_j -> z1_j per column and the walk's
  slider position t (lerp or slerp), resampling, rendering; :func:`divco_explorer` wires it.

Both: :func:`png_bytes` (an image array -> PNG, upscaled with nearest neighbours) and each
state's ``frame()`` = the whole path from slider value to the new image's bytes (what
``benchmarks/bench_explorer.py`` times); :func:`find_run` / :func:`explorer_model` find the
checkpoint a quick notebook run left or train a small model (``notebooks/explorer.py``, the
page ``make explore`` serves with Voila).
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from pathlib import Path

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


def png_bytes(img: np.ndarray, scale: int = 1) -> bytes:
    """An (H, W, 3) or (H, W) array in [0, 1] -> PNG bytes, each pixel a ``scale`` x ``scale``
    block (nearest neighbours: a 32 px sample stays sharp on a projector). Pillow comes with
    matplotlib."""
    from PIL import Image

    if int(scale) != scale or scale < 1:
        raise UserError(f"png_bytes scale {scale!r}: use an integer >= 1")
    a = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    if scale > 1:
        a = a.repeat(int(scale), 0).repeat(int(scale), 1)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


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

    def frame(self, scale: int = 4) -> tuple[bytes, dict[str, str]]:
        """Slider state -> (PNG of the composite, predictions): what the widget shows."""
        img, pred = self.render()
        return png_bytes(to_image(img[None, None], pad=0), scale), pred

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


def _error_html(e: Exception) -> str:
    return f"<span style='color:#b00020'>{html.escape(str(e))}</span>"


def _frame_widgets(prefix: str, **controls):
    """(the image widget, an HTML line under it); each control and the image get the CSS class
    ``<prefix>-<name>`` (what the browser test and a page's own styles select them by)."""
    import ipywidgets as w

    img, info = w.Image(format="png"), w.HTML()
    for name, widget in {**controls, "image": img}.items():
        widget.add_class(f"{prefix}-{name}")
    return img, info


def _show(img, png: bytes) -> None:
    """Put a frame in an Image widget at its own pixel width (the page would stretch it)."""
    img.value, img.width = png, str(int.from_bytes(png[16:20], "big"))  # IHDR width


def explorer(method, contexts: dict[str, Tensor], predictor=None, class_names=None, seed: int = 0,
             scale: int = 5):
    """The ipywidgets ContrasFill explorer (needs a live kernel): returns the widget box."""
    import ipywidgets as w

    st = ExplorerState(method, contexts, predictor, seed, class_names)
    pick = w.IntSlider(0, 0, st.n_contexts - 1, description="context")
    wide = {"description_width": "initial"}  # the labels in full
    tk = w.FloatSlider(0.0, min=0, max=1, step=0.05, description="known k0→k1",
                       disabled=st.single, style=wide)
    tu = w.FloatSlider(0.0, min=0, max=1, step=0.05, description="unknown u0→u1", style=wide)
    bk, bu = w.Button(description="resample known", disabled=st.single), \
        w.Button(description="resample unknown")
    img, info = _frame_widgets("cf", context=pick, known=tk, unknown=tu)

    def draw(*_):
        try:
            st.set_context(pick.value)
            st.t_k, st.t_u = tk.value, tu.value
            png, pred = st.frame(scale)
            _show(img, png)
            info.value = "<br>".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in pred.items())
        except UserError as e:
            info.value = _error_html(e)

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
    return w.VBox([pick, w.HBox([tk, bk]), w.HBox([tu, bu]), w.VBox([img, info])])


# ----------------------------------------------------------------------------- DivCo
def class_latent_grid(model, classes, z: Tensor) -> Tensor:
    """(n_classes, n_z, C, H, W) samples in [-1, 1]: row i is class ``classes[i]``, column j the
    code ``z[j]`` (the same code down a column, as DivCo's Fig. 4). ``model``: a RunResult, a
    DivCo images method (its EMA generator if any) or the generator itself."""
    from .methods.divco_images import generator_of, sample

    G = generator_of(model)
    classes = [int(c) for c in classes]
    if z.dim() != 2 or z.shape[1] != G.z_dim:
        raise UserError(f"codes of shape {tuple(z.shape)}: the generator takes (n, {G.z_dim})")
    imgs = sample(G, classes, len(z), z=z.repeat(len(classes), 1))
    return imgs.view(len(classes), len(z), *imgs.shape[1:])


class DivCoExplorerState:
    """What the DivCo explorer shows: rows = ``classes``, column j = G(z_j(t), y) on the walk
    z_j(t) = path(z0_j, z1_j, t), ``t`` the slider in [0, 1]; ``kind`` = ``slerp`` (default: a
    point between two N(0, I) codes keeps a typical norm, the linear midpoint shrinks by about
    1/sqrt(2)) or ``lerp`` (DivCo's Fig. 5 walk). ``render()`` -> the grid, ``frame()`` -> PNG."""

    MAX_CODES = 16

    def __init__(self, model, n_codes: int = 4, classes=None, seed: int = 0, kind: str = "slerp",
                 class_names=None):
        from .methods.divco_images import generator_of

        self.G = generator_of(model)
        self.n_classes, self.z_dim = int(self.G.n_classes), int(self.G.z_dim)
        self.class_names = ([str(c) for c in class_names] if class_names is not None
                            else [str(c) for c in range(self.n_classes)])
        self.gen = torch.Generator().manual_seed(seed)
        self.t = 0.0
        self.set_kind(kind)
        self.set_classes(range(self.n_classes) if classes is None else classes)
        self.z0 = self.z1 = torch.empty(0, self.z_dim)
        self.set_n_codes(n_codes)

    def set_kind(self, kind: str) -> None:
        if kind not in ("lerp", "slerp"):
            raise UserError(f"walk kind {kind!r}: use lerp or slerp")
        self.kind = kind

    def set_classes(self, classes) -> None:
        classes = [int(c) for c in classes]
        if not classes:
            raise UserError("no class selected: pick at least one class")
        bad = [c for c in classes if not 0 <= c < self.n_classes]
        if bad:
            raise UserError(f"class {bad[0]} out of range: choose 0..{self.n_classes - 1}")
        self.classes = classes

    def set_n_codes(self, n: int) -> None:
        """Keep the first min(n, old) walks, draw new ones for the rest."""
        if not 1 <= n <= self.MAX_CODES:
            raise UserError(f"{n} codes: choose 1..{self.MAX_CODES}")
        have = len(self.z0)
        if n > have:
            extra = torch.randn(2, n - have, self.z_dim, generator=self.gen)
            self.z0, self.z1 = torch.cat([self.z0, extra[0]]), torch.cat([self.z1, extra[1]])
        self.z0, self.z1 = self.z0[:n], self.z1[:n]

    def resample(self) -> None:
        """New endpoints z0, z1 for every column, from N(0, I)."""
        n = len(self.z0)
        self.z0 = self.z1 = torch.empty(0, self.z_dim)
        self.set_n_codes(n)

    def codes(self) -> Tensor:
        return (slerp if self.kind == "slerp" else lerp)(self.z0, self.z1, float(self.t))

    def render(self) -> Tensor:
        return class_latent_grid(self.G, self.classes, self.codes())

    def frame(self, scale: int = 2) -> bytes:
        """Slider state -> PNG bytes of the grid: what the widget shows after a change."""
        return png_bytes(to_image(self.render(), pad=1), scale)


def divco_explorer(model, class_names=None, n_codes: int = 4, seed: int = 0, scale: int = 2):
    """The ipywidgets DivCo explorer (needs a live kernel): class picker, the walk slider, the
    path kind, the number of codes, a resample button and the class x latent grid."""
    import ipywidgets as w

    st = DivCoExplorerState(model, n_codes, None, seed, "slerp", class_names)
    pick = w.SelectMultiple(options=[(n, i) for i, n in enumerate(st.class_names)],
                            value=tuple(st.classes), rows=min(10, st.n_classes),
                            description="classes")
    walk = w.FloatSlider(0.0, min=0, max=1, step=0.05, description="walk z0→z1",
                         style={"description_width": "initial"})
    kind = w.ToggleButtons(options=["slerp", "lerp"], value=st.kind, description="path")
    ncodes = w.IntSlider(n_codes, 1, st.MAX_CODES, description="codes")
    again = w.Button(description="resample z0, z1")
    img, info = _frame_widgets("divco", classes=pick, walk=walk, codes=ncodes)

    def draw(*_):
        try:
            st.set_classes(pick.value)
            st.set_n_codes(ncodes.value)
            st.set_kind(kind.value)
            st.t = walk.value
            _show(img, st.frame(scale))
            info.value = ""
        except UserError as e:
            info.value = _error_html(e)

    def resample(_):
        st.resample()
        draw()

    for c in (pick, walk, kind, ncodes):
        c.observe(draw, names="value")
    again.on_click(resample)
    draw()
    return w.VBox([w.HBox([pick, w.VBox([walk, kind, ncodes, again])]), img, info])


# ----------------------------------------------------------------------------- the models
# where a notebook's quick run leaves the explorer's model: (notebook, sub-folder, variant)
NOTEBOOK_RUNS = {"divco": ("01_divco", "images", "divco"),
                 "contrasfill": ("02_contrasfill", "runs", "contrasfill")}
# the small model trained when no notebook run exists: the quick profile with fewer steps, a
# cheap end-of-run evaluation and (ContrasFill) the smoke profile's small frozen classifiers;
# one thread (fastest for these small nets); tens of seconds each on 2 idle CPU cores
SMALL = {"divco": {"steps": 150, "eval_n_per_class": 10, "eval_k": 2, "log_every": 25,
                   "ckpt_every": 150, "threads": 1},
         "contrasfill": {"steps": 80, "ek_n": 600, "ek_epochs": 2, "log_every": 20,
                         "ckpt_every": 80, "threads": 1}}


def _notebook_runs(method: str, profile: str, root: str | Path | None) -> tuple[str, Path, str]:
    if method not in NOTEBOOK_RUNS:
        raise UserError(f"no explorer for {method!r}: choose one of {', '.join(NOTEBOOK_RUNS)}")
    from .notebooks import repo_root

    nb, sub, variant = NOTEBOOK_RUNS[method]
    base = Path(root) if root else repo_root() / "runs" / "notebooks"
    return nb, base / f"{nb}-{profile}" / sub, variant


def _shown(path: Path) -> str:
    """A path as the page prints it: relative to the checkout when inside it."""
    from .notebooks import repo_root

    try:
        return str(Path(path).resolve().relative_to(repo_root()))
    except ValueError:
        return str(path)


def find_run(method: str, profile: str = "quick", root: str | Path | None = None) -> Path | None:
    """The first finished run (config.yaml, result.json, checkpoints/last.pt) of ``method``'s
    variant that a ``profile`` run of its notebook left under ``root`` (default
    runs/notebooks): ``01_divco-quick/images/divco-s*``, ``02_contrasfill-quick/runs/
    contrasfill-s*``; None when there is none."""
    _, base, variant = _notebook_runs(method, profile, root)
    for d in sorted(base.glob(f"{variant}-s*")):
        if all((d / f).is_file() for f in ("config.yaml", "result.json", "checkpoints/last.pt")):
            return d
    return None


def explorer_model(method: str, profile: str = "quick", root: str | Path | None = None,
                   cache: str | Path | None = None, log: Callable[[str], None] = print,
                   progress: str = "on"):
    """(trained method, its run folder) for an explorer: the checkpoint of a ``profile`` run of
    the notebook (:func:`find_run`), else a small model of our own in ``cache`` (default
    runs/explorer), trained first when absent (``SMALL``; the smoke profile under
    ``profile="smoke"``), with a progress bar and a message that says so."""
    from .config import resolve_config
    from .experiments.runs import is_finished, load_run, train_run
    from .methods import get_method
    from .notebooks import repo_root

    nb, base, _ = _notebook_runs(method, profile, root)
    found = find_run(method, profile, root)
    if found is not None:
        log(f"{method}: the checkpoint of a {profile} run of {nb}, {_shown(found)}")
        return load_run(found).method, found
    d = (Path(cache) if cache else repo_root() / "runs" / "explorer") / f"{method}-{profile}"
    small = "smoke" if profile == "smoke" else "quick"
    knobs = {} if small == "smoke" else SMALL[method]
    cls = get_method(method)
    cfg = resolve_config(cls.Config, small, knobs, method=method)
    if is_finished(d, method, {"method": method, **cfg.to_dict()}, cls.sources(cfg)):
        log(f"{method}: no {profile} run of {nb} under {_shown(base)}; using the small model "
            f"trained earlier in {_shown(d)}")
    else:
        log(f"{method}: no checkpoint of a {profile} run of {nb} under {_shown(base)}. Training a "
            f"small model first ({cfg.steps} steps, tens of seconds on 2 CPU cores) into "
            f"{_shown(d)}; for the notebook's own model run: .venv/bin/ci-inpaint notebooks run "
            f"{nb} --profile quick")
    res = train_run(method, d, small, progress=progress, **knobs)
    return res.method, d


__all__ = ["NOTEBOOK_RUNS", "SMALL", "DivCoExplorerState", "ExplorerState", "class_latent_grid",
           "divco_explorer", "explorer", "explorer_model", "find_run", "interpolate",
           "latent_grid", "lerp", "png_bytes", "slerp", "to_image"]
