"""Synthetic objects on textured backgrounds with exactly known generative factors.

The "known" factor (ContrasFill's known code: what a fixed classifier sees) is the object's
class: a shape, or a digit glyph taken from scikit-learn's digits. The "unknown" factors are
colour (palette index), scale, pose (rotation angle) and position. Every factor is drawn
independently and uniformly from a small discrete set, so disentanglement and diversity can be
measured against ground truth, and ``mask`` gives the exact hole for object inpainting.

Conventions (whole repository): images are float32 (C, H, W) in [-1, 1]; ``__getitem__`` is a
pure function of the index: item i is generated from ``torch.Generator`` seeded with
``seed * 1_000_003 + i`` (no global RNG); masks are 1 = hole (here: the object), 0 = known.
Pixel (row r, column c) has its centre at continuous coordinates (x, y) = (c + 0.5, r + 0.5).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import ConfigError

SHAPES = ("circle", "square", "triangle", "cross", "star", "ellipse", "ring", "heart")
#: RGB in [0, 1]; the colour factor indexes it.
PALETTE = torch.tensor([
    [0.90, 0.10, 0.10], [0.10, 0.75, 0.20], [0.15, 0.30, 0.95], [0.95, 0.85, 0.10],
    [0.85, 0.20, 0.80], [0.10, 0.85, 0.85], [1.00, 0.55, 0.00], [0.95, 0.95, 0.95],
])
SCALE_FRACS = (0.14, 0.18, 0.22, 0.26)  # object radius as a fraction of the image side
N_ANGLES, N_POS = 8, 8


def _shape_inside(name: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test in the object's unit frame (every shape lies within the unit disk).

    numpy, not torch: torch runs sin/sqrt on a 64x64 grid multi-threaded, which costs ~20 ms
    per call on a busy 2-core machine instead of ~20 us.
    """
    rho = np.sqrt(u * u + v * v)
    if name == "circle":
        return rho <= 0.8
    if name == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.68
    if name == "triangle":  # equilateral, vertices at radius 0.95, apex up (y grows down)
        normals = [(math.cos(a), math.sin(a)) for a in (math.pi / 2, 7 * math.pi / 6,
                                                         11 * math.pi / 6)]
        return np.stack([u * nx + v * ny <= 0.475 for nx, ny in normals]).all(0)
    if name == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= 0.25) & (av <= 0.85)) | ((av <= 0.25) & (au <= 0.85))
    if name == "star":  # five-pointed, polar radius 0.6 +- 0.35
        return rho <= 0.6 + 0.35 * np.cos(5 * np.arctan2(v, u) + math.pi / 2)
    if name == "ellipse":
        return (u / 0.92) ** 2 + (v / 0.5) ** 2 <= 1
    if name == "ring":
        return (rho >= 0.5) & (rho <= 0.88)
    if name == "heart":  # (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, scaled into the unit disk
        x, y = u * 1.45, -v * 1.45 + 0.125
        return (x * x + y * y - 1) ** 3 - x * x * y**3 <= 0
    raise ConfigError(f"unknown shape {name!r}: use one of {', '.join(SHAPES)}")


@functools.lru_cache(maxsize=1)
def digit_glyphs() -> np.ndarray:
    """(10, 8, 8) glyphs in [0, 1]: the first example of each class in ``load_digits()``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    first = [int((d.target == c).nonzero()[0][0]) for c in range(10)]
    return (d.images[first] / 16.0).astype(np.float32)


BACKGROUNDS = ("texture", "plain")


def _texture(gen: torch.Generator, size: int, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Seeded background (3, H, W) in [0, 1]: two random colours mixed by smoothed noise plus
    stripes or a checkerboard, with fine grain, so that filling a hole is not trivial."""
    c1, c2 = torch.rand(2, 3, 1, 1, generator=gen).numpy()
    noise = F.interpolate(torch.randn(1, 1, 6, 6, generator=gen), size=(size, size),
                          mode="bicubic", align_corners=False)[0, 0].numpy()
    kind, phi, freq, phase = torch.rand(4, generator=gen).tolist()
    a = (xx * math.cos(phi * math.pi) + yy * math.sin(phi * math.pi)) / size
    b = (-xx * math.sin(phi * math.pi) + yy * math.cos(phi * math.pi)) / size
    f = 2 * math.pi * (2 + 6 * freq)
    if kind < 0.4:
        pattern = np.sin(f * a + 2 * math.pi * phase)
    elif kind < 0.8:
        pattern = np.tanh(3 * np.sin(f * a + 2 * math.pi * phase) * np.sin(f * b))
    else:
        pattern = np.zeros_like(a)
    t = 1 / (1 + np.exp(-(1.2 * noise + 1.5 * pattern)))
    grain = 0.03 * torch.randn(3, size, size, generator=gen).numpy()
    return np.clip(c1 * (1 - t) + c2 * t + grain, 0, 1)


class FactorShapes(Dataset):
    """``n`` images of one object (a shape or a digit glyph) on a seeded texture.

    Factors, each uniform and independent: class (the label, ``num_classes`` values), colour
    (index into :data:`PALETTE`), scale (radius ``scales[s] * size``; ``scales`` defaults to
    :data:`SCALE_FRACS`, larger ones make the class easier to read at 32 px), angle
    (``k * 2 pi / 8``), x and y (object centre on 8 evenly spaced positions that keep the
    whole object inside the image). Rendering: inside-tests (shapes) or bilinear sampling of
    the 8x8 glyph (digits, threshold 0.35) on a rotated meshgrid; no pixel loops.

    ``background``: ``texture`` (seeded stripes / checks / noise, so that filling a hole is not
    trivial) or ``plain`` (that texture's mean colour: every other draw is the same, so the
    objects are too; a hole's fill is then all object, ContrasFill's foreground task).

    Item: ``image`` (3, H, W); ``label`` int64 class; ``factors`` int64 (5,) indices in the
    order of :attr:`factor_names`; ``factor_values`` float32 (5,) = (colour index, radius px,
    angle rad, centre x px, centre y px); ``box`` int64 (x0, y0, x1, y1), the tight box of
    ``mask``, x1 and y1 exclusive; ``mask`` float32 (1, H, W), 1 on the object.
    """

    factor_names = ("colour", "scale", "angle", "x", "y")
    factor_sizes = (len(PALETTE), len(SCALE_FRACS), N_ANGLES, N_POS, N_POS)

    def __init__(self, n: int, size: int = 64, seed: int = 0, num_classes: int | None = None,
                 kind: str = "shapes", precompute: bool = False,
                 scales: tuple[float, ...] | None = None, background: str = "texture"):
        if kind not in ("shapes", "digits"):
            raise ConfigError(f"FactorShapes kind must be 'shapes' or 'digits', got {kind!r}")
        if background not in BACKGROUNDS:
            raise ConfigError(f"FactorShapes background must be one of {', '.join(BACKGROUNDS)}, "
                              f"got {background!r}")
        self.background = background
        most = len(SHAPES) if kind == "shapes" else 10
        num_classes = most if num_classes is None else num_classes
        if not 2 <= num_classes <= most:
            raise ConfigError(f"num_classes={num_classes} for kind={kind!r}: use 2..{most}")
        self.scales = tuple(float(f) for f in (scales or SCALE_FRACS))
        if not all(0.05 <= f <= 0.45 for f in self.scales):
            raise ConfigError(f"FactorShapes scales {self.scales} must be radius fractions in "
                              "[0.05, 0.45] of the image side: e.g. (0.22, 0.26, 0.3, 0.34)")
        self.factor_sizes = (len(PALETTE), len(self.scales), N_ANGLES, N_POS, N_POS)
        if size < 16:
            raise ConfigError(f"FactorShapes size {size} is too small: use 16 or more")
        self.n, self.size, self.seed, self.kind, self.num_classes = n, size, seed, kind, num_classes
        self.class_names = SHAPES[:num_classes] if kind == "shapes" else tuple(
            str(c) for c in range(num_classes))
        margin = max(self.scales) * size + 1
        self.positions = torch.linspace(margin, size - margin, N_POS)
        c = np.arange(size, dtype=np.float32) + 0.5
        self._grid = (c[None, :].repeat(size, 0), c[:, None].repeat(size, 1))  # (x, y)
        self._cache = [self._make(i) for i in range(n)] if precompute else None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for FactorShapes of length {self.n}")
        if self._cache is not None:
            return {k: v.clone() for k, v in self._cache[i].items()}
        return self._make(i)

    def _object_mask(self, cls: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if self.kind == "shapes":
            return _shape_inside(SHAPES[cls], u, v)
        from scipy.ndimage import map_coordinates

        # the 8x8 glyph spans [-0.7, 0.7]^2 of the unit frame; cell k is centred at k + 0.5
        rows, cols = (v / 0.7 + 1) * 4 - 0.5, (u / 0.7 + 1) * 4 - 0.5
        ink = map_coordinates(digit_glyphs()[cls], [rows, cols], order=1, cval=0.0)
        return ink > 0.35

    def _make(self, i: int) -> dict:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        cls = int(torch.randint(self.num_classes, (), generator=gen))
        f = torch.stack([torch.randint(k, (), generator=gen) for k in self.factor_sizes])
        colour, s, a, ix, iy = f.tolist()
        radius = self.scales[s] * self.size
        angle = a * 2 * math.pi / N_ANGLES
        cx, cy = float(self.positions[ix]), float(self.positions[iy])
        xx, yy = self._grid
        dx, dy = (xx - cx) / radius, (yy - cy) / radius
        u = math.cos(angle) * dx + math.sin(angle) * dy  # rotate the frame by -angle
        v = -math.sin(angle) * dx + math.cos(angle) * dy
        mask = self._object_mask(cls, u, v)
        bg = _texture(gen, self.size, xx, yy)
        if self.background == "plain":  # the texture's mean colour: the same draws, flat
            bg = np.broadcast_to(bg.mean((1, 2), keepdims=True), bg.shape)
        img = torch.from_numpy(np.where(mask, PALETTE[colour].numpy()[:, None, None], bg) * 2 - 1)
        rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        box = torch.tensor([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
                           if len(rows) else [0, 0, 0, 0])
        values = torch.tensor([colour, radius, angle, cx, cy], dtype=torch.float32)
        return {"image": img.float(), "label": torch.tensor(cls, dtype=torch.int64),
                "factors": f.long(), "factor_values": values, "box": box.long(),
                "mask": torch.from_numpy(mask[None].astype(np.float32))}
