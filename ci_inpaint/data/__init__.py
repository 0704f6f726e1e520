"""Datasets for ci_inpaint: bundled real images, synthetic factor sets, user folders, masks.

Conventions (whole repository):
- Images are float32 tensors (C, H, W) in [-1, 1].
- Datasets are map-style ``torch.utils.data.Dataset``s whose ``__getitem__`` is a pure
  function of the index: no global RNG inside (the engine's exact resume relies on it); any
  randomness (a random crop, a random partner image) is derived from the ``seed`` given at
  construction plus the index -- and, for datasets that set ``epoch_aware`` (fresh crops, flips
  and masks every epoch), the epoch: they are indexed with ``EpochKey(epoch, index)``
  (module ``epochs``; ``MaskedDataset`` in module ``inpaint`` adds a fresh mask per epoch).
- Items are dicts: at least ``{"image": Tensor}``, plus ``"label"`` (int64 tensor) where
  there is one, and dataset-specific keys (``"mask"``, ``"factors"``, ``"box"``, ``"A"``...).
- Masks: 1 = hole (missing), 0 = known.

Start with :func:`get_dataset` and :func:`dataset_table` (module ``catalog``).
"""

import importlib

from .bundled import PHOTO_SPLITS, PHOTOS, Digits, LFWFaces, PhotoPatches
from .catalog import DATASETS, dataset_table, format_table, get_dataset
from .epochs import EpochKey, item_generator
from .folders import CIFAR10, ClassFolder, ImageFolder, PairedFolder, UnpairedFolder
from .inpaint import MaskedDataset, folder_masks, generated_masks, object_masks
from .synthetic import PALETTE, SHAPES, FactorShapes

__all__ = [
    "CIFAR10", "DATASETS", "PALETTE", "PHOTOS", "PHOTO_SPLITS", "SHAPES", "ClassFolder",
    "Digits", "EpochKey", "FactorShapes", "ImageFolder", "LFWFaces", "MaskedDataset",
    "PairedFolder", "PhotoPatches", "UnpairedFolder", "dataset_table", "folder_masks",
    "format_table", "generated_masks", "get_dataset", "item_generator", "object_masks",
]


def __getattr__(name: str):
    """Names not defined here are looked up lazily in ``ci_inpaint.data.masks`` (written
    separately; importing this package must not fail while it is absent or broken)."""
    if name.startswith("__") or name == "masks":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        masks = importlib.import_module(f"{__name__}.masks")
    except ImportError as e:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} "
                             f"(ci_inpaint.data.masks is not importable: {e})") from None
    try:
        return getattr(masks, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
