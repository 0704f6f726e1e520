"""Real images that ship inside scikit-image and scikit-learn: no download, ever.

Conventions (whole repository): an image is a float32 tensor (C, H, W) in [-1, 1]; a dataset
is a map-style ``torch.utils.data.Dataset`` whose ``__getitem__`` is a pure function of the
index (no global RNG: the engine's exact resume relies on it; any randomness comes from the
``seed`` given at construction); items are dicts with at least ``"image"``, plus ``"label"``
(int64) where there is one. Masks (``ci_inpaint.data.masks``): 1 = hole, 0 = known.
Optional per-epoch augmentation (``PhotoPatches(jitter=, flip=)``, ``LFWFaces(flip=)``) makes
a dataset epoch-aware: items are then pure functions of ``(seed, epoch, index)``, drawn from
``ci_inpaint.data.epochs.item_generator`` (see that module).

Datasets:
- :class:`PhotoPatches`: patches of the colour photographs, split by *source photo*
  (see :data:`PHOTO_SPLITS`), so no test patch comes from a photo seen in training.
- :class:`Digits`: scikit-learn's 1797 8x8 digits with labels, upsampled, stratified split.
- :class:`LFWFaces`: the 100 faces of ``skimage.data.lfw_subset()`` (25x25 grey), resized.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import ConfigError
from .epochs import item_generator, split_key
from .folders import coin, random_hflip

SPLITS = ("train", "val", "test")

COLOUR_PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "retina", "hubble_deep_field",
    "immunohistochemistry", "stereo_motorcycle", "china", "flower",
)
GREY_PHOTOS = ("camera", "brick", "grass", "gravel", "moon", "coins", "text", "page")
PHOTOS = COLOUR_PHOTOS + GREY_PHOTOS  # the "photo" id of an item indexes this tuple

#: Fixed photo -> split assignment. Colour: test = 2 photos, val = 1, train = the other 7.
#: Grey (only with ``include_grey=True``): test = camera, val = coins, train = the other 6.
PHOTO_SPLITS = {
    "test": ("chelsea", "flower", "camera"),
    "val": ("coffee", "coins"),
    "train": ("astronaut", "rocket", "retina", "hubble_deep_field", "immunohistochemistry",
              "stereo_motorcycle", "china", "brick", "grass", "gravel", "moon", "text", "page"),
}
PATCH_SIZES = (32, 64, 128)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")


@functools.cache
def load_photo(name: str) -> np.ndarray:
    """Decoded bundled photo as uint8 (H, W, 3); grey photos are replicated to 3 channels.

    Cached in-process: decoding the 1411x1411 retina JPEG costs ~50 ms.
    """
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        img = load_sample_image(f"{name}.jpg")
    elif name in PHOTOS:
        import skimage.data

        img = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":
            img = img[0]  # (left, right, disparity): take the left view
    else:
        raise ConfigError(f"unknown bundled photo {name!r}: use one of {', '.join(PHOTOS)}")
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.array(img[:, :, :3], dtype=np.uint8, order="C")
    img.flags.writeable = False  # shared by the cache: nobody may modify it in place
    return img


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 (H, W[, C]) array -> float32 (C, H, W) in [-1, 1]."""
    t = torch.from_numpy(np.array(img, copy=True))
    t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    return t.float().div_(127.5).sub_(1.0)


@functools.lru_cache(maxsize=64)
def _resized_photo(name: str, short_side: int) -> torch.Tensor:
    """Photo as float (3, H, W) in [-1, 1], shorter side resized to short_side.

    PIL's antialiased bicubic on uint8: several times faster than torch on the float image.
    """
    from PIL import Image

    img = load_photo(name)
    h, w = img.shape[:2]
    if min(h, w) != short_side:
        s = short_side / min(h, w)
        size = (max(short_side, round(w * s)), max(short_side, round(h * s)))
        img = np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC))
    return to_tensor(img)


def _grid_positions(x: torch.Tensor, size: int, gen: torch.Generator,
                    min_std: float) -> torch.Tensor:
    """Top-left corners (K, 2) of a half-overlapping grid with a seeded origin.

    Flat patches (std over pixels and channels below ``min_std``; the black surround of retina
    and hubble_deep_field) are dropped; their statistics come from two average pools, not loops.
    """
    stride = size // 2
    h, w = x.shape[1:]
    oy, ox = (int(v) for v in torch.randint(0, stride, (2,), generator=gen))
    oy, ox = min(oy, h - size), min(ox, w - size)
    sub = x[:, oy:, ox:]
    mean = F.avg_pool2d(sub[None], size, stride)[0]             # (3, ny, nx)
    sq = F.avg_pool2d(sub[None] ** 2, size, stride)[0]
    var = (sq - mean**2).mean(0) + (mean - mean.mean(0)).pow(2).mean(0)  # pooled over channels
    keep = var.clamp_min(0).sqrt() >= min_std
    iy, ix = torch.nonzero(keep, as_tuple=True)
    return torch.stack([oy + iy * stride, ox + ix * stride], 1)


class PhotoPatches(Dataset):
    """Square patches cut from the bundled photos, split train/val/test by source photo.

    Each photo is resized (antialiased) so its shorter side is ``size * k`` for ``k`` in
    ``scales`` (capped at the native resolution, duplicates dropped); on each scale a
    half-overlapping grid (stride ``size // 2``) with a seeded origin gives candidate patches;
    flat ones are dropped and ``patches_per_photo`` of them are kept per photo (spread evenly
    over scales, seeded choice; ``None`` keeps all). Positions are a pure function of
    ``seed``; items are slices of the cached resized photos.

    Fresh crops every epoch (epoch-aware when either is set): ``jitter=J`` shifts each patch by
    U{-J..J} pixels per axis (clamped inside its resized photo), ``flip=True`` mirrors it
    left-right with probability 1/2, both drawn from ``item_generator(seed, epoch, index)``.

    Item: ``{"image": (3, size, size) float32, "photo": int64 index into PHOTOS}``.
    """

    def __init__(self, split: str = "train", size: int = 64, patches_per_photo: int | None = 256,
                 seed: int = 0, include_grey: bool = False, scales: tuple[float, ...] = (4.0, 8.0),
                 min_std: float = 0.08, jitter: int = 0, flip: bool = False):
        _check_split(split)
        if jitter < 0:
            raise ConfigError(f"PhotoPatches jitter must be >= 0 pixels, got {jitter}")
        if size not in PATCH_SIZES:
            raise ConfigError(f"PhotoPatches size {size} is not supported: use one of "
                              f"{PATCH_SIZES} (or ImageFolder for other sizes)")
        self.split, self.size, self.seed = split, size, seed
        self.jitter, self.flip, self.epoch_aware = int(jitter), flip, jitter > 0 or flip
        allowed = PHOTOS if include_grey else COLOUR_PHOTOS
        self.photos = tuple(p for p in PHOTO_SPLITS[split] if p in allowed)
        rows = []  # (photo id, short side, y, x)
        for name in self.photos:
            pid = PHOTOS.index(name)
            native = min(load_photo(name).shape[:2])
            sides = sorted({min(native, round(size * k)) for k in scales})
            per_scale = []
            for j, side in enumerate(sides):
                gen = torch.Generator().manual_seed(seed * 1_000_003 + pid * 7919 + j)
                pos = _grid_positions(_resized_photo(name, side), size, gen, min_std)
                if patches_per_photo is not None:  # seeded subset, even share per scale
                    share = -(-patches_per_photo // len(sides))
                    pos = pos[torch.randperm(len(pos), generator=gen)[:share]]
                meta = torch.tensor([pid, side]).expand(len(pos), 2)
                per_scale.append(torch.cat([meta, pos], 1))
            photo_rows = torch.cat(per_scale)
            if patches_per_photo is not None:
                photo_rows = photo_rows[:patches_per_photo]
            rows.append(photo_rows)
        self.index = torch.cat(rows).long()  # (N, 4)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        pid, side, y, x = (int(v) for v in self.index[i])
        photo = _resized_photo(PHOTOS[pid], side)
        gen = item_generator(self.seed, epoch, i) if self.epoch_aware else None
        if self.jitter:
            dy, dx = torch.randint(-self.jitter, self.jitter + 1, (2,), generator=gen).tolist()
            y = min(max(y + dy, 0), photo.shape[1] - self.size)
            x = min(max(x + dx, 0), photo.shape[2] - self.size)
        img = photo[:, y:y + self.size, x:x + self.size].clone()
        if self.flip and coin(gen):
            img = img.flip(-1)
        return {"image": img, "photo": torch.tensor(pid, dtype=torch.int64)}


def _resize_stack(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 1, h, w) in [-1, 1] -> (N, 1, size, size); bicubic, clamped back into [-1, 1]."""
    if x.shape[-1] == size:
        return x.contiguous()
    mode = "bicubic" if size > x.shape[-1] else "area"
    kw = {"align_corners": False} if mode == "bicubic" else {}
    return F.interpolate(x, size=(size, size), mode=mode, **kw).clamp_(-1, 1)


def _check_channels(channels: int) -> None:
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels}")


class Digits(Dataset):
    """scikit-learn ``load_digits()``: 1797 8x8 grey digits (0-16 ink) with labels 0-9.

    Upsampled (bicubic) to ``size`` and mapped to [-1, 1] (background -1, ink +1), 1 or 3
    channels. Split: seeded and stratified, per class the first 70 % of a random permutation
    is train, the next 15 % val, the rest test (1258 / 269 / 270 images for seed 0).

    Item: ``{"image": (channels, size, size), "label": int64 digit}``.
    """

    def __init__(self, split: str = "train", size: int = 32, seed: int = 0, channels: int = 3,
                 fractions: tuple[float, float] = (0.70, 0.15)):
        _check_split(split)
        _check_channels(channels)
        from sklearn.datasets import load_digits

        d = load_digits()
        target = torch.as_tensor(d.target, dtype=torch.int64)
        gen = torch.Generator().manual_seed(seed)
        chosen = []
        for c in range(10):  # stratified: split each class with the same fractions
            idx = torch.nonzero(target == c).squeeze(1)
            idx = idx[torch.randperm(len(idx), generator=gen)]
            n_tr, n_va = round(fractions[0] * len(idx)), round(fractions[1] * len(idx))
            part = {"train": idx[:n_tr], "val": idx[n_tr:n_tr + n_va], "test": idx[n_tr + n_va:]}
            chosen.append(part[split])
        self.indices = torch.cat(chosen).sort().values  # rows of load_digits()
        x = torch.as_tensor(d.images, dtype=torch.float32)[self.indices, None] / 8.0 - 1.0
        self.images = _resize_stack(x, size)
        self.labels = target[self.indices]
        self.split, self.size, self.channels = split, size, channels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i].repeat(self.channels, 1, 1), "label": self.labels[i]}


class LFWFaces(Dataset):
    """Faces of ``skimage.data.lfw_subset()``: 200 grey 25x25 crops in [0, 1].

    The first 100 are faces and the last 100 non-faces (skimage's docstring; checked on the
    data: every face correlates with the mean of the first 100 at 0.54 on average, the
    non-faces at -0.08, see tests/test_data_bundled.py). Split by index within each group:
    0-69 train, 70-84 val, 85-99 test. Resized (bicubic) to ``size`` (32 or 64), [-1, 1].

    Item: ``{"image": (channels, size, size), "label": int64 1 = face, 0 = non-face}``;
    ``faces_only=False`` adds the non-faces of the same split. ``flip=True`` mirrors a face
    left-right with probability 1/2, drawn from ``(seed, epoch, index)`` (epoch-aware).
    """

    SIZES = (32, 64)
    _RANGES = {"train": (0, 70), "val": (70, 85), "test": (85, 100)}

    def __init__(self, split: str = "train", size: int = 32, faces_only: bool = True,
                 channels: int = 3, flip: bool = False, seed: int = 0):
        _check_split(split)
        _check_channels(channels)
        if size not in self.SIZES:
            raise ConfigError(f"LFWFaces size {size} is not supported: use 32 or 64")
        import skimage.data

        raw = torch.as_tensor(skimage.data.lfw_subset(), dtype=torch.float32)  # (200, 25, 25)
        lo, hi = self._RANGES[split]
        idx = torch.arange(lo, hi)
        if not faces_only:
            idx = torch.cat([idx, idx + 100])
        self.indices = idx
        self.labels = (idx < 100).long()
        self.images = _resize_stack(raw[idx, None] * 2.0 - 1.0, size)
        self.split, self.size, self.channels = split, size, channels
        self.flip, self.seed, self.epoch_aware = flip, seed, flip

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        img = self.images[i].repeat(self.channels, 1, 1)
        if self.flip:
            img = random_hflip(img, item_generator(self.seed, epoch, i))
        return {"image": img, "label": self.labels[i]}
