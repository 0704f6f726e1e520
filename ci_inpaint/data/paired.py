"""Paired image-to-image data where the condition leaves real freedom: a colouring book.

DivCo's Table 1 is paired translation (Facades, Maps) with BicycleGAN as the baseline: a
condition image A, a target B, and many B that fit one A. Conditional mode collapse means the
generator returns one B for every code z. To make that visible at 32 px in CPU minutes we
build the pair from :class:`~ci_inpaint.data.synthetic.FactorShapes`:

* **B** (target): a FactorShapes image, an object in one of the 8 palette colours on a
  coloured texture;
* **A** (condition, a "colouring-book page"): B itself outside the object, the object's
  inside left white and its outline drawn black (1 px, the mask minus its erosion).

A fixes everything but the object's colour: class, scale, angle, position and the whole
background are in it, and all 8 palette colours are equally likely under every A (the colour
factor is drawn independently of the rest). So a generator that honours its code paints one
page in several colours; one that ignores it paints every sample of a page in one colour (the
L1 term alone pulls it to the per-channel median colour).

:func:`recolour` renders B with the object in other palette colours (the exact alternatives the
data allows), the reference for how diverse a correct model can be.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .synthetic import PALETTE, FactorShapes


def colouring_page(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A from B: (..., 3, H, W) in [-1, 1] and its object mask (..., 1, H, W) -> the page
    (..., 3, H, W): B's background, the object white, its outline black."""
    m = mask.reshape(-1, 1, *mask.shape[-2:])
    eroded = -F.max_pool2d(-m, 3, stride=1, padding=1)  # erosion by a 3x3 square
    outline = (m - eroded).reshape(mask.shape)
    page = torch.where(mask > 0.5, torch.ones_like(image), image)
    return torch.where(outline > 0.5, -torch.ones_like(image), page)


def recolour(image: torch.Tensor, mask: torch.Tensor, colours) -> torch.Tensor:
    """B with its object painted in each palette colour of ``colours``: (len(colours), 3, H, W)."""
    pal = PALETTE[torch.as_tensor(colours, dtype=torch.long)] * 2 - 1  # (k, 3)
    return torch.where(mask[None] > 0.5, pal[:, :, None, None].to(image), image[None])


class ColouringShapes(Dataset):
    """``n`` (A, B) pairs of a colouring book (module docstring). Item: ``cond`` (A, 3, H, W),
    ``image`` (B), ``mask``, ``label`` (the shape class), ``factors`` (colour, scale, angle,
    x, y) of FactorShapes; all precomputed (a few ms per item), a pure function of the index."""

    def __init__(self, n: int, size: int = 32, seed: int = 0, num_classes: int = 4):
        self.shapes = FactorShapes(n, size, seed, num_classes=num_classes)
        self.n, self.size, self.num_classes = n, size, num_classes
        items = [self.shapes[i] for i in range(n)]
        self.images = torch.stack([it["image"] for it in items])
        self.masks = torch.stack([it["mask"] for it in items])
        self.conds = colouring_page(self.images, self.masks)
        self.labels = torch.stack([it["label"] for it in items])
        self.factors = torch.stack([it["factors"] for it in items])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {"cond": self.conds[i], "image": self.images[i], "mask": self.masks[i],
                "label": self.labels[i], "factors": self.factors[i]}


__all__ = ["ColouringShapes", "colouring_page", "recolour"]
