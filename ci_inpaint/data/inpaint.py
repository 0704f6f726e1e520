"""Inpainting-ready data: any image dataset plus a fresh hole mask (and flip) every epoch.

:class:`MaskedDataset` wraps a base dataset (items with ``"image"``) and adds ``"mask"``
(float32 (1, H, W), 1 = hole) from ``mask_fn``; ContrasFill, SCAT and DAF train on it. It is
epoch-aware (``ci_inpaint.data.epochs``): the engine indexes it with ``EpochKey(epoch, i)``,
so every epoch sees new masks and flips, and item ``(epoch, i)`` is a pure function of
``(seed, epoch, i)`` (exact resume holds in any epoch). An epoch-aware base gets the same key
(its own crops change too); any other base is indexed by ``i``.

``mask_fn(gen, item) -> (1, H, W)`` draws only from the ``torch.Generator`` it is given (the
item's stream) and may read the (flipped) base item. Ready-made ones:
:func:`generated_masks` (DeepFill-v2 free-form strokes, rectangles, centre holes, or a mix;
``ci_inpaint.data.masks``), :func:`folder_masks` (a random, augmented mask of a
``MaskFolder`` such as the NVIDIA irregular masks, SCAT's evaluation set) and
:func:`object_masks` (the object's box or segment, ContrasFill's foreground holes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError
from . import masks
from .epochs import EpochKey, is_epoch_aware, item_generator, split_key
from .folders import coin

MaskFn = Callable[[torch.Generator, Mapping[str, Any]], torch.Tensor]
# Salt of the wrapper's stream, so MaskedDataset(base, seed=s) and a base seeded with the same
# s draw unrelated numbers (item_seed is bijective in its seed argument).
_MASK_STREAM = 0x4D41534B << 32


def _draw(gen: torch.Generator) -> int:
    """One 63-bit integer from ``gen``."""
    return int(torch.randint(0, 2**63 - 1, (), generator=gen))


def _hw(item: Mapping[str, Any]) -> tuple[int, int]:
    h, w = item["image"].shape[-2:]
    return int(h), int(w)


def _as_hw(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)


def hflip_item(item: dict) -> dict:
    """Mirror an item left-right: every tensor with the image's (H, W) as its last two dims,
    and ``"box"`` (x0, y0, x1, y1; x1 exclusive) -> (W - x1, y0, W - x0, y1). Other fields
    (labels, factor values) are kept as they are: they describe the unflipped item."""
    h, w = _hw(item)
    out = {}
    for k, v in item.items():
        if isinstance(v, torch.Tensor) and v.ndim >= 2 and tuple(v.shape[-2:]) == (h, w):
            v = v.flip(-1)
        elif k == "box" and isinstance(v, torch.Tensor) and v.shape[-1:] == (4,):
            v = torch.stack([w - v[..., 2], v[..., 1], w - v[..., 0], v[..., 3]], -1)
        out[k] = v
    return out


class MaskedDataset(Dataset):
    """``base`` items with a fresh inpainting mask, and optionally a flip, every epoch.

    Per item ``(epoch, i)``: the base item (key ``EpochKey(epoch, i)`` if the base is
    epoch-aware, else ``i``); with ``flip=True`` a left-right flip with probability 1/2
    (:func:`hflip_item`); then ``mask_fn(gen, item)``. ``gen`` is
    ``item_generator(seed ^ salt, epoch, i)``: flip first, then the mask's draws. A base's own
    ``"mask"`` (FactorShapes: the object segment) moves to ``"object_mask"``.

    Item: the base's fields plus ``"mask"`` (1, H, W) float32 (1 = hole) and ``"flipped"``
    (bool tensor).
    """

    epoch_aware = True

    def __init__(self, base: Dataset, mask_fn: MaskFn, seed: int = 0, flip: bool = False):
        if not callable(mask_fn):
            raise ConfigError(f"MaskedDataset: mask_fn must be callable (gen, item) -> mask, got "
                              f"{type(mask_fn).__name__}: use generated_masks('free_form')")
        self.base, self.mask_fn, self.seed, self.flip = base, mask_fn, int(seed), flip

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key) -> dict:
        epoch, i = split_key(key)
        item = dict(self.base[EpochKey(epoch, i) if is_epoch_aware(self.base) else i])
        gen = item_generator(self.seed ^ _MASK_STREAM, epoch, i)
        flipped = self.flip and coin(gen)
        if flipped:
            item = hflip_item(item)
        mask = torch.as_tensor(self.mask_fn(gen, item), dtype=torch.float32)
        h, w = _hw(item)
        if tuple(mask.shape) != (1, h, w):
            raise DataError(f"MaskedDataset: mask_fn gave a mask of shape {tuple(mask.shape)} "
                            f"for a {h}x{w} image: make it (1, {h}, {w}) (e.g. the mask "
                            "folder's size= must equal the image size)")
        if "mask" in item:
            item["object_mask"] = item.pop("mask")
        item["mask"] = mask
        item["flipped"] = torch.tensor(flipped)
        return item


def generated_masks(kind: str = "free_form", size=None, probs: Mapping[str, float] | None = None,
                    **kwargs) -> MaskFn:
    """Masks drawn by ``ci_inpaint.data.masks``: ``free_form`` (DeepFill-v2 Algorithm 1),
    ``rect``, ``center`` (``**kwargs`` go to its generator) or ``mixed`` (``probs`` and
    ``kwargs={kind: {...}}`` as in ``MixedMaskGenerator``). ``size`` defaults to the image's."""
    if kind not in masks.MASK_KINDS + ("mixed",):
        raise ConfigError(f"unknown mask kind {kind!r}: use one of "
                          f"{', '.join(masks.MASK_KINDS + ('mixed',))}")
    mixers: dict[tuple[int, int], masks.MixedMaskGenerator] = {}
    if kind == "mixed":  # check probs now, not at the first item
        masks.MixedMaskGenerator(size or 8, probs, 0, kwargs.get("kwargs"))

    def mask_fn(gen: torch.Generator, item: Mapping[str, Any]) -> torch.Tensor:
        hw = _as_hw(size) if size is not None else _hw(item)
        if kind == "free_form":
            return masks.free_form_mask(hw, gen, **kwargs)
        if kind == "rect":
            return masks.rect_mask(hw, gen, **kwargs)
        if kind == "center":
            return masks.center_mask(hw, **kwargs)
        if hw not in mixers:
            mixers[hw] = masks.MixedMaskGenerator(hw, probs, 0, kwargs.get("kwargs"))
        return mixers[hw](_draw(gen))  # a pure function of its index: one fresh index per item

    return mask_fn


def folder_masks(folder: masks.MaskFolder) -> MaskFn:
    """A uniformly drawn mask of ``folder`` with its own augmentation (flips, rotations) drawn
    afresh per item: ``folder.set_epoch`` gets a seed from the item's stream just before the
    read, so the result is a pure function of that stream (single-threaded access per
    process, as in a DataLoader worker)."""
    if len(folder) == 0:
        raise DataError(f"mask folder {folder.root} selects no mask: choose other buckets")

    def mask_fn(gen: torch.Generator, item: Mapping[str, Any]) -> torch.Tensor:
        j = int(torch.randint(len(folder), (), generator=gen))
        folder.set_epoch(_draw(gen))
        return folder[j]

    return mask_fn


def object_masks(kind: str = "box", dilate: int = 0) -> MaskFn:
    """The item's object as the hole (``masks.object_mask``): its ``"box"`` or its segment
    ``"mask"``, grown by ``dilate`` pixels; no randomness (a flip moves it with the image)."""
    if kind not in ("box", "segment"):
        raise ConfigError(f"object_masks: unknown kind {kind!r}: use 'box' or 'segment'")

    def mask_fn(gen: torch.Generator, item: Mapping[str, Any]) -> torch.Tensor:
        return masks.object_mask(item, kind, dilate)

    return mask_fn
