"""Inpainting masks: one convention, seeded generators, and the NVIDIA irregular-mask folder.

Convention (whole repository): a mask is a float32 tensor of shape (1, H, W), batched
(B, 1, H, W), with **1 = hole (missing pixel), 0 = known**. The corrupted input is
``image * (1 - mask)``. Papers that write the mask the other way round (partial convolutions,
Liu et al. 2018; SCAT writes ``x~ = x ⊙ m`` with m = 1 on valid pixels) convert at the edges
with :func:`to_known` / :func:`from_known`, never inside the data pipeline.

Every generator is a pure function of its seed (and of the item index for the datasets): the
same seed gives the same mask, in any process, so runs resume exactly. Randomness comes from
``numpy.random.Generator`` seeded through ``SeedSequence([seed, index])``.

Hole-ratio buckets (the one rule of the repository; metrics use it too) follow SCAT's
evaluation (Table 2): 0-20 %, 20-40 %, 40-60 % (plus 60-100 % for completeness). SCAT does not
say which side a boundary belongs to; the mask set it evaluates on (Liu et al. 2018, partial
convolutions) groups its masks by hole-to-image area ratio in right-closed intervals
(0.01, 0.1], (0.1, 0.2], ..., so ours are right-closed too: (0, 0.2], (0.2, 0.4], (0.4, 0.6],
(0.6, 1], with a ratio of exactly 0 put in "0-20". ``bucket_of(0.2) == "0-20"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError

HOLE_BUCKETS: dict[str, tuple[float, float]] = {
    "0-20": (0.0, 0.2),
    "20-40": (0.2, 0.4),
    "40-60": (0.4, 0.6),
    "60-100": (0.6, 1.0),
}
MASK_KINDS = ("free_form", "rect", "center")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")

SeedLike = int | np.random.Generator | torch.Generator


# ----------------------------------------------------------------------------- conventions
def to_known(mask: torch.Tensor) -> torch.Tensor:
    """Repository mask (1 = hole) -> "known" mask (1 = valid pixel), as in partial conv / SCAT."""
    return 1.0 - mask


def from_known(known: torch.Tensor) -> torch.Tensor:
    """"Known" mask (1 = valid pixel) -> repository mask (1 = hole)."""
    return 1.0 - known


def as_mask(x, *, threshold: float = 0.5) -> torch.Tensor:
    """Convert a bool / uint8 / float array or tensor (H, W), (1, H, W) or (B, 1, H, W) to the
    repository convention (float32, values {0, 1}, 1 = hole) without changing its polarity.

    uint8 with values above 1 is read as 0..255 (hole = value >= 128); floats are thresholded
    at ``threshold`` (e.g. masks resized with bilinear interpolation).
    """
    if isinstance(x, Image.Image):
        x = np.asarray(x.convert("L"))
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x))
    if t.dtype == torch.bool:
        t = t.float()
    elif t.dtype == torch.uint8:
        t = (t >= 128).float() if int(t.max()) > 1 else (t > 0).float()
    elif t.is_floating_point():
        t = (t > threshold).float()
    else:
        t = (t > 0).float()
    if t.ndim == 2:
        t = t[None]
    return t.to(torch.float32)


def validate_mask(mask, size=None, *, allow_full: bool = False, allow_empty: bool = False,
                  name: str = "mask") -> torch.Tensor:
    """Check ``mask`` follows the convention; return it unchanged or raise :class:`DataError`.

    Rejects: a non-tensor, a non-floating dtype, a shape other than (1, H, W) / (B, 1, H, W),
    a spatial size other than ``size``, values other than {0, 1}, a mask without any hole
    (all zeros, unless ``allow_empty``) and one without any known pixel (all ones, unless
    ``allow_full``: foreground generation may mask a whole crop on purpose).
    """
    fix = "convert it with ci_inpaint.data.masks.as_mask(...)"
    if not isinstance(mask, torch.Tensor):
        raise DataError(f"{name} is a {type(mask).__name__}, not a torch.Tensor: {fix}")
    if not mask.is_floating_point():
        raise DataError(f"{name} has dtype {mask.dtype}, expected float32 with 1 = hole: {fix}")
    if mask.ndim not in (3, 4) or mask.shape[-3] != 1:
        raise DataError(f"{name} has shape {tuple(mask.shape)}, expected (1, H, W) or "
                        f"(B, 1, H, W): add/remove the channel dim (mask[None] or mask[:, :1])")
    if size is not None and tuple(mask.shape[-2:]) != _size(size):
        raise DataError(f"{name} is {tuple(mask.shape[-2:])} but the images are {_size(size)}: "
                        "resize it with nearest interpolation (MaskFolder(size=...) does)")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise DataError(f"{name} has values other than 0 and 1 (min {float(mask.min()):.3g}, "
                        f"max {float(mask.max()):.3g}): binarise it with as_mask(mask)")
    flat = mask.reshape(-1, mask.shape[-2] * mask.shape[-1])
    if not allow_empty and bool((flat.amax(1) == 0).any()):
        i = int((flat.amax(1) == 0).nonzero()[0])
        raise DataError(f"{name} (sample {i}) has no hole (all zeros): use a mask with 1 = hole, "
                        "or from_known(mask) if yours marks known pixels with 1")
    if not allow_full and bool((flat.amin(1) == 1).any()):
        i = int((flat.amin(1) == 1).nonzero()[0])
        raise DataError(f"{name} (sample {i}) has no known pixel (all ones): invert it with "
                        "from_known(mask) if 1 marks known pixels, or pass allow_full=True")
    return mask


def hole_ratio(mask: torch.Tensor) -> torch.Tensor | float:
    """Fraction of hole pixels (mask > 0.5): a float for (1, H, W), a (B,) float64 tensor for
    (B, 1, H, W).

    Computed in float64 as count / pixels, so a ratio of exactly 1/5 is the double nearest
    0.2 and lands in "0-20" (in float32 it would round up to 0.2000000030 and move over).
    """
    r = (mask > 0.5).flatten(-3).to(torch.float64).mean(-1)
    return float(r) if mask.ndim == 3 else r


_EDGES = tuple(hi for _, hi in HOLE_BUCKETS.values())  # right edges, ascending


def bucket_index(ratio) -> torch.Tensor:
    """Index into :data:`HOLE_BUCKETS` of each ratio (any shape), vectorised.

    Right-closed intervals (see the module docstring): ``lo < r <= hi``, and 0 goes to the
    first bucket. The edges are compared in the ratio's own precision (a float32 ratio of
    exactly 20 % stays in "0-20"); python floats are compared as float64.
    """
    r = torch.as_tensor(ratio)
    if not r.is_floating_point():
        r = r.to(torch.float64)
    bad = ~((r >= 0) & (r <= 1))
    if bool(bad.any()):
        raise DataError(f"hole ratio {float(r[bad].flatten()[0])} is outside [0, 1]: the mask "
                        "is not binary (1 = hole, 0 = known); binarise it with as_mask(mask)")
    # bucketize(right=False) returns i with edges[i-1] < r <= edges[i]: right-closed
    return torch.bucketize(r, torch.tensor(_EDGES, dtype=r.dtype, device=r.device))


def bucket_of(ratio: float) -> str:
    """Name of the hole-ratio bucket of one ratio (right-closed; 0 belongs to "0-20")."""
    return list(HOLE_BUCKETS)[int(bucket_index(ratio))]


# ----------------------------------------------------------------------------- helpers
def _size(size) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    h, w = (int(s) for s in size)
    return (h, w)


def make_rng(seed: SeedLike, *keys: int) -> np.random.Generator:
    """A numpy Generator that is a pure function of ``(seed, *keys)``.

    A ``numpy.random.Generator`` is used as is (keys ignored); a ``torch.Generator`` gives one
    63-bit draw that seeds a fresh stream, so it advances exactly once per call.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, torch.Generator):
        seed = int(torch.randint(0, 2**63 - 1, (1,), generator=seed))
    return np.random.default_rng(np.random.SeedSequence([int(seed) % 2**64, *keys]))


def _render_segments(h: int, w: int, p0: np.ndarray, p1: np.ndarray,
                     radius: np.ndarray) -> np.ndarray:
    """Boolean (h, w) union of thick segments with round caps ("capsules").

    A pixel centre c is covered by segment (p0, p1) of half-width r when its distance to the
    segment, |c - (p0 + t (p1 - p0))| with t = clip(<c - p0, d> / |d|^2, 0, 1), is <= r. The
    round caps give DeepFill-v2's round joints between consecutive segments for free. Each
    segment is evaluated on its bounding-box window only (vectorised over those pixels).
    """
    out = np.zeros((h, w), dtype=bool)
    lo = np.floor(np.minimum(p0, p1) - radius[:, None]).astype(int).clip(0, [w, h])
    hi = np.ceil(np.maximum(p0, p1) + radius[:, None]).astype(int).clip(0, [w - 1, h - 1]) + 1
    for a, b, r, (x0, y0), (x1, y1) in zip(p0, p1, radius, lo, hi):
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        d = b - a
        t = ((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / max(float(d @ d), 1e-12)
        t = t.clip(0.0, 1.0)
        dist2 = (xs - a[0] - t * d[0]) ** 2 + (ys - a[1] - t * d[1]) ** 2
        out[y0:y1, x0:x1] |= dist2 <= r * r
    return out


# ----------------------------------------------------------------------------- generators
def free_form_mask(size, seed: SeedLike = 0, *, max_vertex: int = 12,
                   max_length: float | None = None, max_brush_width: float | None = None,
                   min_brush_width: float | None = None, max_angle: float = 8 * math.pi / 15,
                   num_strokes: tuple[int, int] = (1, 4)) -> torch.Tensor:
    """Free-form brush-stroke mask, DeepFill-v2 style (Yu et al. 2019, Algorithm 1).

    Per stroke: a uniform random start point, ``n ~ U{1..max_vertex}`` vertices; at vertex i an
    angle ``a ~ U(0, max_angle)``, reversed (``2π - a``) at even i so strokes zig-zag, a length
    ``~ U(0, max_length)`` and a brush width ``~ U(min_brush_width, max_brush_width)``; a thick
    line to the next vertex (clipped to the image) with round joints. ``num_strokes`` strokes
    (inclusive range) are drawn, then the whole mask is flipped left-right and top-bottom, each
    with probability 1/2. Algorithm 1 draws widths from ``U(0, max)``; the lower bound avoids
    invisible hair-lines.

    Defaults scale with the shorter side ``s`` (values at 256 px in brackets):
    ``max_length = 0.35 s`` (90 px), ``max_brush_width = 0.156 s`` (40 px),
    ``min_brush_width = 0.047 s`` (12 px), ``max_angle = 8π/15``, 1-4 strokes, 12 vertices.

    Hole ratio at 256x256 over seeds 0..199 with the defaults: mean 0.17, median 0.16,
    5th-95th percentile 0.04-0.30, min 0.008, max 0.43; buckets 0-20 / 20-40 / 40-60 %:
    130 / 69 / 1 masks.
    """
    h, w = _size(size)
    s = min(h, w)
    max_length = 0.35 * s if max_length is None else max_length
    max_brush_width = 0.156 * s if max_brush_width is None else max_brush_width
    min_brush_width = min(0.047 * s, max_brush_width) if min_brush_width is None else min_brush_width
    if max_vertex < 1 or num_strokes[0] < 1 or num_strokes[1] < num_strokes[0]:
        raise ConfigError(f"free_form_mask: max_vertex={max_vertex}, num_strokes={num_strokes}:"
                          " need max_vertex >= 1 and 1 <= num_strokes[0] <= num_strokes[1]")
    rng = make_rng(seed)
    p0s, p1s, radii = [], [], []
    for _ in range(int(rng.integers(num_strokes[0], num_strokes[1] + 1))):
        n = int(rng.integers(1, max_vertex + 1))
        angle = rng.uniform(0.0, max_angle, n)
        angle = np.where(np.arange(n) % 2 == 0, 2 * math.pi - angle, angle)
        length = rng.uniform(0.0, max_length, n)
        width = rng.uniform(min_brush_width, max_brush_width, n)
        start = rng.uniform(0.0, [w, h])
        steps = np.stack([length * np.cos(angle), length * np.sin(angle)], 1)
        # Vertices: cumulative steps clipped to the image, as the strokes are drawn on it.
        verts = np.vstack([start, start + np.cumsum(steps, 0)])
        verts = np.minimum(np.maximum(verts, 0.0), [w - 1, h - 1])
        p0s.append(verts[:-1])
        p1s.append(verts[1:])
        radii.append(width / 2)
    m = _render_segments(h, w, np.concatenate(p0s), np.concatenate(p1s), np.concatenate(radii))
    if rng.random() < 0.5:
        m = m[:, ::-1]
    if rng.random() < 0.5:
        m = m[::-1, :]
    return torch.from_numpy(np.ascontiguousarray(m)).to(torch.float32)[None]


def rect_mask(size, seed: SeedLike = 0, min_frac: float = 0.25,
              max_frac: float = 0.5) -> torch.Tensor:
    """One random axis-aligned rectangular hole.

    Its height and width are ``round(U(min_frac, max_frac) * H)`` and ``... * W`` (drawn
    independently), its position uniform over the places where it fits, so the hole ratio lies
    in [min_frac², max_frac²] up to rounding.
    """
    h, w = _size(size)
    if not 0.0 < min_frac <= max_frac <= 1.0:
        raise ConfigError(f"rect_mask: need 0 < min_frac <= max_frac <= 1, got {min_frac}, "
                          f"{max_frac}")
    rng = make_rng(seed)
    fh, fw = rng.uniform(min_frac, max_frac, 2)
    rh, rw = max(1, round(fh * h)), max(1, round(fw * w))
    y0, x0 = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
    m = torch.zeros(1, h, w)
    m[:, y0:y0 + rh, x0:x0 + rw] = 1.0
    return m


def center_mask(size, frac: float = 0.5) -> torch.Tensor:
    """Centred rectangle of ``frac`` times each side (Context Encoders' central hole)."""
    h, w = _size(size)
    rh, rw = max(1, round(frac * h)), max(1, round(frac * w))
    y0, x0 = (h - rh) // 2, (w - rw) // 2
    m = torch.zeros(1, h, w)
    m[:, y0:y0 + rh, x0:x0 + rw] = 1.0
    return m


def _dilate(m: torch.Tensor, px: int) -> torch.Tensor:
    return F.max_pool2d(m[None], 2 * px + 1, stride=1, padding=px)[0] if px > 0 else m


def object_mask(item: Mapping, kind: str = "box", dilate: int = 0) -> torch.Tensor:
    """Foreground-generation mask from a dataset item (ContrasFill: the object box or shape).

    ``item["box"]`` is (x0, y0, x1, y1) in pixels, half-open (columns x0..x1-1; fractional
    values are widened to whole pixels); ``item["mask"]`` is the object's (1, H, W) segment
    (1 = object). ``kind="box"`` masks the box, ``kind="segment"`` the segment; ``dilate``
    grows the hole by that many pixels (square structuring element) so no object boundary
    stays visible.
    """
    ref = item.get("mask", item.get("image"))
    if ref is None:
        raise DataError("object_mask: the item has neither 'mask' nor 'image': use a dataset "
                        "whose items carry the object 'box' and 'mask' fields")
    h, w = ref.shape[-2:]
    if kind == "box":
        if "box" not in item:
            raise DataError("object_mask(kind='box'): the item has no 'box' field: use "
                            "kind='segment' or a dataset that provides boxes")
        x0, y0, x1, y1 = (float(v) for v in torch.as_tensor(item["box"]).flatten()[:4])
        x0, y0 = max(0, math.floor(x0) - dilate), max(0, math.floor(y0) - dilate)
        x1, y1 = min(w, math.ceil(x1) + dilate), min(h, math.ceil(y1) + dilate)
        m = torch.zeros(1, h, w)
        m[:, y0:y1, x0:x1] = 1.0
        return m
    if kind == "segment":
        if "mask" not in item:
            raise DataError("object_mask(kind='segment'): the item has no 'mask' field: use "
                            "kind='box' or a dataset that provides object segments")
        return _dilate(as_mask(item["mask"]).reshape(1, h, w), dilate)
    raise ConfigError(f"object_mask: unknown kind {kind!r}: use 'box' or 'segment'")


def _generate(kind: str, size, seed: SeedLike, kwargs: Mapping) -> torch.Tensor:
    if kind == "free_form":
        return free_form_mask(size, seed, **kwargs)
    if kind == "rect":
        return rect_mask(size, seed, **kwargs)
    if kind == "center":
        return center_mask(size, **kwargs)
    raise ConfigError(f"unknown mask kind {kind!r}: use one of {', '.join(MASK_KINDS)}")


class MixedMaskGenerator:
    """Draws a mask kind with probabilities ``probs`` then a mask of that kind.

    ``gen(index)`` is a pure function of ``(seed, index)``. ``kwargs`` maps a kind to extra
    keyword arguments of its generator (e.g. ``{"rect": {"max_frac": 0.6}}``).
    """

    def __init__(self, size, probs: Mapping[str, float] | None = None, seed: int = 0,
                 kwargs: Mapping[str, Mapping] | None = None):
        probs = dict(probs or {"free_form": 0.5, "rect": 0.5})
        bad = [k for k in probs if k not in MASK_KINDS]
        if bad or any(p < 0 for p in probs.values()) or sum(probs.values()) <= 0:
            raise ConfigError(f"MixedMaskGenerator: probs {probs} must map kinds from "
                              f"{MASK_KINDS} to non-negative weights with a positive sum")
        self.size, self.seed = _size(size), int(seed)
        self.kinds = list(probs)
        p = np.array([probs[k] for k in self.kinds], dtype=np.float64)
        self.p = p / p.sum()
        self.kwargs = {k: dict(v) for k, v in (kwargs or {}).items()}

    def kind_of(self, index: int) -> str:
        return self.kinds[int(make_rng(self.seed, int(index), 0).choice(len(self.kinds), p=self.p))]

    def __call__(self, index: int) -> torch.Tensor:
        kind = self.kind_of(index)
        return _generate(kind, self.size, make_rng(self.seed, int(index), 1),
                         self.kwargs.get(kind, {}))


class MaskDataset(Dataset):
    """``n`` generated masks; item i is a pure function of ``(seed, i)``.

    ``kind`` is one of ``free_form``, ``rect``, ``center`` (``**kwargs`` go to its generator)
    or ``mixed`` (``probs`` and ``kwargs={kind: {...}}`` as in :class:`MixedMaskGenerator`).
    """

    def __init__(self, size, kind: str = "free_form", n: int = 1000, seed: int = 0,
                 probs: Mapping[str, float] | None = None, **kwargs):
        if kind != "mixed" and kind not in MASK_KINDS:
            raise ConfigError(f"MaskDataset: unknown kind {kind!r}: use one of "
                              f"{', '.join(MASK_KINDS + ('mixed',))}")
        self.size, self.kind, self.n, self.seed = _size(size), kind, int(n), int(seed)
        self.kwargs = kwargs
        self._mixed = (MixedMaskGenerator(size, probs, seed, kwargs.get("kwargs"))
                       if kind == "mixed" else None)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        if not 0 <= i < self.n:
            raise IndexError(f"mask index {i} out of range for {self.n} masks")
        if self._mixed is not None:
            return self._mixed(i)
        return _generate(self.kind, self.size, make_rng(self.seed, int(i)), self.kwargs)


# ----------------------------------------------------------------------------- mask folders
def _load_binary(path: Path) -> np.ndarray:
    """Decode a mask image to a bool array, True where the pixel is white (>= 128)."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L")) >= 128
    except OSError as e:
        raise DataError(f"cannot read mask image {path} ({e}): delete or replace the file") from e


def _resize_nearest(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if m.shape == size:
        return m
    im = Image.fromarray(m.astype(np.uint8) * 255).resize((size[1], size[0]), Image.NEAREST)
    return np.asarray(im) >= 128


class MaskFolder(Dataset):
    """A folder (searched recursively) of mask images, e.g. the NVIDIA irregular mask test set.

    The NVIDIA test set (Liu et al. 2018; ``test_mask.zip`` → ``mask/testing_mask_dataset/``,
    12,000 PNGs of 512x512 in six hole-ratio bins of 10 %, 2,000 each, half of them with
    holes touching the border) draws holes in **white** on black, which is what
    ``invert=False`` reads. Its separate *training* set stores the opposite polarity.
    ``invert="auto"`` (default) decides once per folder: if the median white fraction of up to
    64 evenly spaced files exceeds 1/2, white is taken as *known* and the masks are inverted
    (hole ratios above 1/2 are rare in such sets). Pass ``True``/``False`` to decide yourself.

    Each mask is binarised (white = value >= 128), inverted if needed, augmented, resized to
    ``size`` with nearest-neighbour interpolation and returned as (1, H, W) float32, 1 = hole.
    Augmentation is a pure function of ``(seed, epoch, index)`` (set the epoch with
    :meth:`set_epoch`): ``flip`` = random left-right and top-bottom flips, ``rotate`` = a
    random multiple of 90° (both keep the hole ratio exactly on square masks), and
    ``max_angle > 0`` adds a rotation by U(-max_angle, max_angle) degrees (nearest; corners
    that rotate in are known pixels, so this one changes the ratio slightly).

    ``buckets`` keeps only masks whose hole ratio (computed at ``size`` before augmentation,
    see :func:`bucket_of`) falls in the named bucket(s) of :data:`HOLE_BUCKETS`. Ratios are
    cached in ``<root>/.hole_ratios_<H>x<W>_<polarity>.json`` when the folder is writable.
    """

    def __init__(self, root, size=256, buckets: str | Sequence[str] | None = None,
                 flip: bool = True, rotate: bool = True, invert: bool | str = "auto",
                 seed: int = 0, max_angle: float = 0.0):
        self.root = Path(root).expanduser()
        self.size = _size(size)
        self.flip, self.rotate, self.max_angle = flip, rotate, float(max_angle)
        self.seed, self.epoch = int(seed), 0
        if not self.root.is_dir():
            raise DataError(f"mask folder {self.root} does not exist: run "
                            ".venv/bin/python data_scripts/nvidia_masks.py or pass the folder "
                            "holding the mask PNGs")
        files = sorted(p for p in self.root.rglob("*")
                       if p.suffix.lower() in IMAGE_EXTS and p.is_file())
        if not files:
            raise DataError(f"mask folder {self.root} holds no {'/'.join(IMAGE_EXTS)} files: "
                            "run .venv/bin/python data_scripts/nvidia_masks.py or point root at "
                            "the mask images")
        if invert == "auto":
            pick = files[:: max(1, len(files) // 64)][:64]
            invert = bool(np.median([_load_binary(p).mean() for p in pick]) > 0.5)
        elif not isinstance(invert, bool):
            raise ConfigError(f"MaskFolder: invert must be True, False or 'auto', got {invert!r}")
        self.invert = invert
        self.all_files = files
        if buckets is None:
            self.files = files
        else:
            names = [buckets] if isinstance(buckets, str) else list(buckets)
            bad = [b for b in names if b not in HOLE_BUCKETS]
            if bad:
                raise ConfigError(f"MaskFolder: unknown bucket(s) {bad}: use "
                                  f"{', '.join(HOLE_BUCKETS)}")
            ratios = self.ratios()
            self.files = [p for p in files if bucket_of(ratios[p]) in names]
            if not self.files:
                raise DataError(f"mask folder {self.root} has no mask in bucket(s) {names}: "
                                "choose another bucket or add masks with such hole ratios")

    def _base(self, path: Path) -> np.ndarray:
        m = _load_binary(path)
        return ~m if self.invert else m

    def ratios(self) -> dict[Path, float]:
        """Hole ratio of every file at ``size`` (no augmentation), cached on disk if possible."""
        tag = f"{self.size[0]}x{self.size[1]}_{'black' if self.invert else 'white'}"
        cache = self.root / f".hole_ratios_{tag}.json"
        known: dict = {}
        if cache.is_file():
            try:
                known = json.loads(cache.read_text())
            except (OSError, ValueError):
                known = {}
        out, changed = {}, False
        for p in self.all_files:
            key = f"{p.relative_to(self.root).as_posix()}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
            if key not in known:
                known[key] = float(_resize_nearest(self._base(p), self.size).mean())
                changed = True
            out[p] = known[key]
        if changed:
            try:
                cache.write_text(json.dumps(known))
            except OSError:
                pass  # read-only dataset folder: recompute next time
        return out

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation stream (item i stays pure in (seed, epoch, i))."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        m = self._base(self.files[i])
        rng = make_rng(self.seed, self.epoch, int(i))
        flips, k, angle = rng.random(2) < 0.5, int(rng.integers(4)), rng.uniform(-1.0, 1.0)
        if self.flip and flips[0]:
            m = m[:, ::-1]
        if self.flip and flips[1]:
            m = m[::-1, :]
        if self.rotate and k:
            m = np.rot90(m, k)
        if self.max_angle > 0:
            im = Image.fromarray(np.ascontiguousarray(m).astype(np.uint8) * 255)
            m = np.asarray(im.rotate(angle * self.max_angle, Image.NEAREST, fillcolor=0)) >= 128
        m = _resize_nearest(np.ascontiguousarray(m), self.size)
        return torch.from_numpy(m.astype(np.float32))[None]

    def bucket(self, i: int) -> str:
        """Bucket of item i (from its un-augmented hole ratio)."""
        return bucket_of(float(_resize_nearest(self._base(self.files[i]), self.size).mean()))
