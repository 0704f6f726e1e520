"""DivCo's labelled 32x32 image sets (:mod:`ci_inpaint.methods.divco_images`): the bundled
digits, CIFAR-10 or a class folder, and their labels and images as tensors."""

from __future__ import annotations

import torch

from ..errors import ConfigError

DATASETS = ("digits", "cifar10", "class_folder")


def load_dataset(name: str, split: str = "train", data_root: str = "",
                 channels: int = 3) -> torch.utils.data.Dataset:
    """The labelled 32x32 dataset of ``name``: digits (bundled), cifar10, class_folder, with
    ``channels`` 1 (grey) or 3."""
    from .bundled import Digits
    from .catalog import get_dataset

    if name not in DATASETS:
        raise ConfigError(f"dataset {name!r} is not supported by divco: use one of "
                          f"{', '.join(DATASETS)} (e.g. --set dataset=digits)")
    if name == "digits":
        return Digits(split, size=32, channels=channels)
    # cifar10 without its batches: get_dataset raises a DataError naming data_scripts/cifar10.py
    ds = get_dataset(name, split, 32, data_root=data_root or None)
    if channels != 3:
        raise ConfigError(f"channels={channels}: dataset {name} is colour, pass --set channels=3")
    return ds


def _labels_of(ds) -> torch.Tensor:
    if hasattr(ds, "labels"):
        return torch.as_tensor(ds.labels, dtype=torch.long)
    return torch.stack([torch.as_tensor(ds[i]["label"]) for i in range(len(ds))]).long()


def _images_of(ds, idx: torch.Tensor | None = None) -> torch.Tensor:
    """Images of ``ds`` (at ``idx``) as (n, C, H, W) float in [-1, 1]."""
    idx = torch.arange(len(ds)) if idx is None else idx
    return torch.stack([ds[int(i)]["image"] for i in idx]).float()


__all__ = ["DATASETS", "load_dataset"]
