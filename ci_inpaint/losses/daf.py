"""Losses of the contrastive attention network, Eq. 9-16 (multi-scale structure and texture terms).

* targets at every scale: the ground truth Y resized to Y_hat^k's size by area averaging
  (antialiased, exact 2x2 means for the decoder's halvings) -- :func:`pyramid`;
* the hole at scale k: max pooling (a coarse pixel is a hole if any pixel under it is) --
  :func:`mask_pyramid`;
* Eq. 9 / 14: lambda_rec mean|Y^k - Y_hat^k| over the whole image (the paper's ||.||_1 read as
  the mean over elements, as PConv/DFNet, whose weights 6 / 0.1 / 240 / 0.1 these are);
* Eq. 12 (:func:`tv_loss`): absolute differences of horizontally / vertically adjacent pixel
  pairs with *both* pixels in Omega = the hole dilated by one pixel (3x3 max pool), summed and
  divided by N = the number of elements of Y_hat (PConv's normalisation; the paper's N is
  unstated), on the raw output Y_hat as Eq. 12 writes (not the composite);
* Eq. 10-11 perceptual and style: :mod:`ci_inpaint.losses.perceptual` (VGG16 pool1-3, Gram / CHW);
* Eq. 13 adversarial: WGAN-GP (:mod:`ci_inpaint.losses.gan`), one critic for every scale of Q;
* Eq. 16: the structure terms averaged over P, the texture terms over Q (:func:`scale_mean`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor

from ci_inpaint.losses.nce import autocast_off, precise_dtype


def pyramid(y: Tensor, n: int) -> list[Tensor]:
    """[Y, Y down 2, ..., Y down 2^(n-1)] by area averaging (the targets of Eq. 14-15)."""
    return [y if k == 0 else F.avg_pool2d(y, 2**k) for k in range(n)]


def mask_pyramid(hole: Tensor, n: int) -> list[Tensor]:
    """The hole (1 = hole) at the same scales, by max pooling."""
    return [hole if k == 0 else F.max_pool2d(hole, 2**k) for k in range(n)]


def dilate(hole: Tensor, pixels: int = 1) -> Tensor:
    """The hole grown by ``pixels`` (a (2p+1)^2 max filter): Omega of Eq. 12."""
    return F.max_pool2d(hole, 2 * pixels + 1, 1, pixels)


def tv_loss(y_hat: Tensor, hole: Tensor) -> Tensor:
    """Eq. 12 on Omega = dilate(hole, 1), fp32, autocast off (see the module docstring)."""
    with autocast_off(y_hat.device):
        y = y_hat.to(precise_dtype(y_hat))
        omega = dilate(hole.to(y.dtype))
        dx = (y[..., :, 1:] - y[..., :, :-1]).abs() * (omega[..., :, 1:] * omega[..., :, :-1])
        dy = (y[..., 1:, :] - y[..., :-1, :]).abs() * (omega[..., 1:, :] * omega[..., :-1, :])
        return (dx.sum() + dy.sum()) / y.numel()


def l1(a: Tensor, b: Tensor) -> Tensor:
    """mean |a - b| in fp32 (fp64 for fp64 inputs)."""
    dt = precise_dtype(a, b)
    return (a.to(dt) - b.to(dt)).abs().mean()


def scale_mean(fn: Callable[..., Tensor], *per_scale: Sequence) -> Tensor:
    """1/|S| sum_k fn(args_k) over the scales given (Eq. 16's 1/|P| and 1/|Q|)."""
    terms = [fn(*args) for args in zip(*per_scale)]
    return sum(terms) / len(terms)


def hole_weighted_l1(a: Tensor, b: Tensor, hole: Tensor, hole_weight: float) -> Tensor:
    """mean (1 + (w - 1) M) |a - b| in fp32: PConv's L_valid + w L_hole, both over all N
    elements (w = 1: :func:`l1`)."""
    dt = precise_dtype(a, b)
    return ((1 + (hole_weight - 1) * hole.to(dt)) * (a.to(dt) - b.to(dt)).abs()).mean()


def structure_loss(ys: Sequence[Tensor], targets: Sequence[Tensor], lam: float = 6.0,
                   holes: Sequence[Tensor] | None = None, hole_weight: float = 1.0) -> Tensor:
    """1/|P| sum_{k in P} lambda_rec ||Y^k - Y_hat^k||_1 (Eq. 9, 14, 16's first part); with
    ``holes`` and ``hole_weight`` w != 1 the hole pixels count w times (our option, off by
    default: :func:`hole_weighted_l1`)."""
    if holes is None or hole_weight == 1:
        return lam * scale_mean(l1, ys, targets)
    return lam * scale_mean(lambda y, t, m: hole_weighted_l1(y, t, m, hole_weight),
                            ys, targets, holes)


__all__ = ["dilate", "hole_weighted_l1", "l1", "mask_pyramid", "pyramid", "scale_mean", "structure_loss", "tv_loss"]
