"""CUT's synthetic unpaired domains (:mod:`ci_inpaint.methods.cut`): two renderings of
:class:`ci_inpaint.data.FactorShapes` that share the content factors (class, scale, angle,
position) and differ in style. Domain A is the solid palette-coloured object on a random
soil, domain B the same object bleached white on a mottled green field (a horse -> zebra in
miniature: the object changes its coat, the field its colour; shape and place stay); B's colour rule (:func:`object_mask_b`) recovers the object exactly. Also
:func:`load_domains`, the train / test set of a CUT config (shapes or the folder datasets).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import ConfigError
from .epochs import item_generator, split_key

CONTENT_FACTORS = ("label", "scale", "x", "y")  # read by the content classifier (angle: symmetric)
A_BACKGROUND = (0.55, 0.42, 0.30)  # domain A's brown soil
B_BACKGROUND = (0.33, 0.52, 0.22)  # domain B's mottled green
B_OBJECT = (0.93, 0.93, 0.93)  # domain B's white object
#: object radii as fractions of the side (FactorShapes' default: 0.14..0.26). Larger than
#: FactorShapes' own: at 32 px a 0.14 square is 6 px wide, few of PatchNCE's 64 sampled patches
#: fall on the object, and a 1 px rim error costs a large share of its IoU
SCALES = (0.22, 0.28, 0.34, 0.40)


def _field(colour, h: int, w: int, gen: torch.Generator) -> np.ndarray:
    """A background of one colour with a smooth brightness noise (one map for all channels, so
    the hue stays); (3, H, W) in [0, 1]."""
    noise = F.interpolate(torch.randn(1, 1, 4, 4, generator=gen), size=(h, w), mode="bicubic",
                          align_corners=False)[0].numpy()
    return np.clip(np.asarray(colour, np.float32)[:, None, None] + 0.08 * noise, 0, 1)


def render_a(mask: np.ndarray, colour, gen: torch.Generator) -> torch.Tensor:
    """Domain A's style for an object ``mask`` (H, W) bool: the solid ``colour`` (RGB in
    [0, 1], a :data:`ci_inpaint.data.synthetic.PALETTE` entry) on brown soil; (3, H, W) in
    [-1, 1]."""
    h, w = mask.shape
    fg = np.asarray(colour, np.float32)[:, None, None]
    return torch.from_numpy(np.where(mask[None], fg, _field(A_BACKGROUND, h, w, gen)) * 2 - 1).float()


def render_b(mask: np.ndarray, gen: torch.Generator) -> torch.Tensor:
    """Domain B's style for an object ``mask`` (H, W) bool: the object bleached to
    :data:`B_OBJECT` white, green with a smooth brightness noise outside; (3, H, W) in
    [-1, 1]. (Stripes were tried first: a 32 px CUT trained for minutes draws one striped blob
    wherever the object is and loses its silhouette; a new coat of one colour it learns.)"""
    h, w = mask.shape
    fg = np.asarray(B_OBJECT, np.float32)[:, None, None]
    # the green's saturation (0.30) stays under the noise: the colour rule finds the object
    return torch.from_numpy(np.where(mask[None], fg, _field(B_BACKGROUND, h, w, gen)) * 2 - 1).float()


def object_mask_b(images: torch.Tensor, threshold: float = 0.12) -> torch.Tensor:
    """Domain B's colour rule: a pixel is object when its channels are nearly equal (the
    white object is grey, the background saturated green). (N, 3, H, W) in [-1, 1] -> (N, H, W) bool."""
    x = (images.float() + 1) / 2
    return (x.amax(1) - x.amin(1)) < threshold


@functools.lru_cache(maxsize=8)
def _domain(n: int, size: int, seed: int, num_classes: int, style: str) -> dict[str, torch.Tensor]:
    """n rendered items of one domain (cached per process: renders once per grid worker)."""
    from .synthetic import PALETTE, FactorShapes

    ds = FactorShapes(n, size=size, seed=seed, num_classes=num_classes, scales=SCALES)
    items = [ds[i] for i in range(n)]
    masks = torch.stack([it["mask"][0] > 0.5 for it in items])
    if style == "A":  # the object in its palette colour (the colour factor) on soil
        images = torch.stack([render_a(m.numpy(), PALETTE[int(it["factors"][0])].tolist(),
                                       torch.Generator().manual_seed(seed * 7919 + i))
                              for i, (m, it) in enumerate(zip(masks, items))])
    else:
        images = torch.stack([render_b(m.numpy(), torch.Generator().manual_seed(seed * 7919 + i))
                              for i, m in enumerate(masks)])
    factors = {"label": torch.stack([it["label"] for it in items])}
    for j, name in enumerate(ds.factor_names):
        factors[name] = torch.stack([it["factors"][j] for it in items])
    return {"image": images, "mask": masks, **{f"f_{k}": v for k, v in factors.items()}}


class ShapeDomains(Dataset):
    """Unpaired A -> B shapes (see the module): item i = A[i] with a B partner drawn afresh per
    epoch (epoch-aware), A and B from different FactorShapes seeds (no pairs exist).

    ``split``: train (A seed = seed, B seed = seed + 1) or test (seeds + 100). Item:
    ``{"A", "B"}`` images, ``"factors_A"`` (the content factors of A, in
    :data:`CONTENT_FACTORS` order) and ``"mask_A"``.
    """

    epoch_aware = True

    def __init__(self, n: int = 1000, size: int = 32, seed: int = 0, num_classes: int = 4,
                 split: str = "train"):
        if split not in ("train", "test"):
            raise ConfigError(f"ShapeDomains split must be train or test, got {split!r}")
        off = 0 if split == "train" else 100
        self.n, self.size, self.seed = n, size, seed + off
        self.a = _domain(n, size, seed + off, num_classes, "A")
        self.b = _domain(n, size, seed + off + 1, num_classes, "B")
        self.num_classes = num_classes

    def __len__(self) -> int:
        return self.n

    def factors(self, domain: str = "A") -> dict[str, torch.Tensor]:
        d = self.a if domain == "A" else self.b
        return {k: d[f"f_{k}"] for k in CONTENT_FACTORS}

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        j = int(torch.randint(self.n, (), generator=item_generator(self.seed, epoch, i)))
        return {"A": self.a["image"][i], "B": self.b["image"][j], "mask_A": self.a["mask"][i],
                "factors_A": torch.stack([self.a[f"f_{k}"][i] for k in CONTENT_FACTORS])}


def load_domains(cfg, split: str = "train"):
    if cfg.dataset == "shapes":
        n = cfg.n_train if split == "train" else cfg.eval_n
        return ShapeDomains(n, cfg.size, cfg.seed if split == "train" else 0, cfg.num_classes, split)
    from .catalog import get_dataset

    name = cfg.dataset if cfg.dataset in ("horse2zebra", "cityscapes") else "unpaired"
    return get_dataset(name, split, cfg.size, data_root=cfg.data_root or None)


__all__ = ["A_BACKGROUND", "B_BACKGROUND", "B_OBJECT", "CONTENT_FACTORS", "ShapeDomains", "load_domains",
           "object_mask_b", "render_a", "render_b"]
