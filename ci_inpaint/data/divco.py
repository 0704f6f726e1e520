"""DivCo's labelled 32x32 image sets (:mod:`ci_inpaint.methods.divco_images`): the bundled
digits, CIFAR-10 or a class folder, and their labels and images as tensors."""

from __future__ import annotations

import torch

from ..errors import ConfigError

DATASETS = ("digits", "cifar10", "class_folder")


def load_dataset(name: str, split: str = "train", data_root: str = "",
                 channels: int = 3) -> torch.utils.data.Dataset:
    """The labelled 32x32 dataset of ``name``: digits (bundled), cifar10, class_folder, with
    ``channels`` 1 (grey; a colour set is seen through :class:`GreyView`) or 3."""
    from .bundled import Digits
    from .catalog import get_dataset

    if name not in DATASETS:
        raise ConfigError(f"dataset {name!r} is not supported by divco: use one of "
                          f"{', '.join(DATASETS)} (e.g. --set dataset=digits)")
    if name == "digits":
        return Digits(split, size=32, channels=channels)
    # cifar10 without its batches: get_dataset raises a DataError naming data_scripts/cifar10.py
    ds = get_dataset(name, split, 32, data_root=data_root or None)
    return ds if channels == 3 else GreyView(ds)


class GreyView(torch.utils.data.Dataset):
    """A colour dataset seen in grey (``channels=1``): each image's ITU-R BT.601 luma."""

    LUMA = torch.tensor([0.299, 0.587, 0.114])

    def __init__(self, ds):
        self.ds = ds
        if hasattr(ds, "labels"):
            self.labels = ds.labels

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict:
        item = dict(self.ds[i])
        item["image"] = (item["image"] * self.LUMA[:, None, None]).sum(0, keepdim=True)
        return item


def _labels_of(ds) -> torch.Tensor:
    if hasattr(ds, "labels"):
        return torch.as_tensor(ds.labels, dtype=torch.long)
    return torch.stack([torch.as_tensor(ds[i]["label"]) for i in range(len(ds))]).long()


def _images_of(ds, idx: torch.Tensor | None = None) -> torch.Tensor:
    """Images of ``ds`` (at ``idx``) as (n, C, H, W) float in [-1, 1]."""
    idx = torch.arange(len(ds)) if idx is None else idx
    return torch.stack([ds[int(i)]["image"] for i in idx]).float()


__all__ = ["DATASETS", "GreyView", "load_dataset"]
