"""The contrastive attention network's data (Ma et al. 2020, "DAF"): images, masks, views.

Both stages draw free-form strokes or rectangles, half and half (:func:`mask_fn`, the paper's
free-form masks) on :func:`base_dataset` (``photos`` / ``lfw`` bundled at 32/64 px, ``folder``
an ImageNet-like user folder for stage 1, ``celeba_hq`` / ``places2`` / ``paris_streetview``
for stage 2; flips as the paper's augmentation). Stage 1 trains on :class:`TwoMasks` (one
image under two masks); both stages evaluate on :func:`fixed_views` (held-out images, two
fixed masks each).
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from .epochs import item_generator


def base_dataset(dataset: str, split: str, size: int, seed: int, data_root: str = "",
                 augment: bool = True):
    """The image dataset (items with "image" in [-1, 1]); flips as the paper's augmentation."""
    from . import get_dataset

    if dataset == "photos":
        return get_dataset("photo_patches", split, size, seed=seed,
                           jitter=size // 8 if augment else 0, flip=augment)
    if dataset == "lfw":
        return get_dataset("lfw_faces", split, size, flip=augment, seed=seed)
    name = "image_folder" if dataset == "folder" else dataset
    return get_dataset(name, split, size, data_root=data_root or None, flip=augment)


def mask_fn():
    """Free-form strokes or rectangles, half and half (the paper's free-form masks)."""
    from .inpaint import generated_masks

    return generated_masks("mixed")


class TwoMasks(Dataset):
    """The same image under two different masks: ``{"image", "mask_q", "mask_k"}`` per
    ``(epoch, i)``; two MaskedDataset streams of one base (seeds ``seed``, ``seed + 1``)."""

    epoch_aware = True

    def __init__(self, base: Dataset, seed: int = 0):
        from .inpaint import MaskedDataset

        self.q = MaskedDataset(base, mask_fn(), seed=seed)
        self.k = MaskedDataset(base, mask_fn(), seed=seed + 1)

    def __len__(self) -> int:
        return len(self.q)

    def __getitem__(self, key) -> dict:
        a, b = self.q[key], self.k[key]
        return {"image": a["image"], "mask_q": a["mask"], "mask_k": b["mask"]}


def fixed_views(dataset: str, size: int, n: int, data_root: str = "", seed: int = 4321,
                split: str = "val"):
    """``n`` held-out images of ``split`` (all of it when smaller) and two fixed masks each:
    (images, mask_a, mask_b)."""
    base = base_dataset(dataset, split, size, 0, data_root, augment=False)
    idx = torch.randperm(len(base), generator=torch.Generator().manual_seed(seed))[:n]
    images = torch.stack([base[int(i)]["image"] for i in idx])
    fn = mask_fn()
    masks = [torch.stack([fn(item_generator(seed + s, 0, j), {"image": images[j]})
                          for j in range(len(idx))]) for s in (0, 1)]
    return images, masks[0], masks[1]
