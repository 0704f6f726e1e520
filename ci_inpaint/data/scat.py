"""SCAT's data (Zuo et al., AAAI 2023): its training set and the fixed evaluation pairs.

Training (:func:`train_dataset`): ``photos`` (bundled :class:`~ci_inpaint.data.PhotoPatches`,
smoke/quick, with DeepFill-v2 free-form masks of 1..``max_strokes`` strokes) or ``celeba`` /
``places2`` with the NVIDIA irregular masks (random flips and 90-degree rotations;
``mask_root``), the paper's setting. Evaluation (:func:`eval_pairs`): fixed (image, mask) pairs
per hole-ratio bucket of :data:`EVAL_BUCKETS` (the paper's Table 1 columns), the same pairing
for every run. ``cfg`` is a :class:`~ci_inpaint.methods.scat.SCATConfig`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..methods.scat import SCATConfig

EVAL_BUCKETS = ("0-20", "20-40", "40-60")
STROKES = {"0-20": (1, 4), "20-40": (2, 6), "40-60": (4, 9), "60-100": (6, 12)}


def photo_masks(max_strokes: int):
    from .inpaint import generated_masks

    return generated_masks("free_form", num_strokes=(1, max_strokes))


def train_dataset(cfg: SCATConfig):
    from . import get_dataset
    from .inpaint import MaskedDataset, folder_masks

    if cfg.dataset == "photos":
        base = get_dataset("photo_patches", "train", cfg.resolution, seed=cfg.seed,
                           patches_per_photo=cfg.patches_per_photo, jitter=cfg.resolution // 8,
                           flip=True)
        return MaskedDataset(base, photo_masks(cfg.max_strokes), seed=cfg.seed)
    base = get_dataset(cfg.dataset, "train", cfg.resolution, data_root=cfg.data_root, flip=True)
    folder = get_dataset("nvidia_masks", "train", cfg.resolution, data_root=cfg.mask_root,
                         flip=True, rotate=True, seed=cfg.seed)
    return MaskedDataset(base, folder_masks(folder), seed=cfg.seed)


def probe_item(cfg: SCATConfig) -> dict[str, Tensor]:
    """One held-out image with a 20-40 % hole (seeded): the picture of S's map over training."""
    images, masks, _ = eval_pairs(cfg, 1, buckets=("20-40",), split="val")
    return {"image": images, "mask": masks}


def _eval_masks(dataset: str, resolution: int, mask_root: str, n: int, bucket: str,
                seed: int) -> Tensor:
    """``n`` masks of ``bucket``: NVIDIA masks of that bucket (full data) or, for photos,
    seeded free-form masks (stroke counts per bucket: :data:`STROKES`) kept when their ratio
    lands in the bucket."""
    from . import get_dataset
    from .masks import bucket_of, free_form_mask, hole_ratio

    if dataset != "photos":
        folder = get_dataset("nvidia_masks", "val", resolution, data_root=mask_root,
                             buckets=bucket, flip=True, rotate=True, seed=seed)
        idx = torch.randperm(len(folder), generator=torch.Generator().manual_seed(seed))
        return torch.stack([folder[int(i)] for i in idx[torch.arange(n) % len(folder)]])
    out, k = [], 0
    while len(out) < n:
        m = free_form_mask(resolution, seed * 1_000_003 + k, num_strokes=STROKES[bucket])
        if bucket_of(hole_ratio(m)) == bucket:
            out.append(m)
        k += 1
        if k > 200 * n:
            raise ConfigError(f"could not draw {n} free-form masks in bucket {bucket}")
    return torch.stack(out)


def eval_pairs(cfg: SCATConfig, n_per_bucket: int, buckets=EVAL_BUCKETS, split: str = "test",
               seed: int = 12345) -> tuple[Tensor, Tensor, list[str]]:
    """Fixed (image, mask) pairs: ``n_per_bucket`` per hole-ratio bucket, the images of
    ``split`` in order (cycled), the same pairing for every run (cached per process). Returns
    images, masks and each row's bucket."""
    return _eval_pairs(cfg.dataset, cfg.resolution, cfg.data_root, cfg.mask_root, n_per_bucket,
                       tuple(buckets), split, seed)


@functools.lru_cache(maxsize=8)
def _eval_pairs(dataset: str, resolution: int, data_root: str, mask_root: str, n_per_bucket: int,
                buckets: tuple[str, ...], split: str, seed: int):
    from . import get_dataset

    if dataset == "photos":
        ds = get_dataset("photo_patches", split, resolution, seed=0)
    else:
        ds = get_dataset(dataset, split, resolution, data_root=data_root)
    n = n_per_bucket * len(buckets)
    idx = torch.arange(n) % len(ds)
    images = torch.stack([ds[int(i)]["image"] for i in idx])
    masks = torch.cat([_eval_masks(dataset, resolution, mask_root, n_per_bucket, b, seed + j)
                       for j, b in enumerate(buckets)])
    rows = [b for b in buckets for _ in range(n_per_bucket)]
    return images, masks, rows
