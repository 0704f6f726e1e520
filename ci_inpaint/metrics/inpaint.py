"""Inpainting quality: mean L1, PSNR and SSIM, overall and by hole-ratio bucket; a boundary score.

Settings (pinned, as the SCAT / DAF tables report them): images in [-1, 1] are mapped to
[0, 1] (and clamped) before measuring; L1 is the mean absolute error on that scale over the
whole image; PSNR uses data_range 1; SSIM (Wang et al. 2004) uses an 11x11 Gaussian window,
sigma 1.5, k1 0.01, k2 0.03, data_range 1, averaged over channels and the valid (un-padded)
region, which matches ``skimage.metrics.structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=1)``. Both are computed per image, then
averaged over images. Pass the composite (known pixels pasted back) as ``pred``.

The boundary score (:func:`boundary_scores`, ours: none of the papers reports one) measures what
the contrastive attention network claims to fix, colour seams and artefacts at the hole's edge,
on the ring of pixels just inside and just outside it (:func:`boundary_ring`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import peak_signal_noise_ratio

from ci_inpaint.data.masks import HOLE_BUCKETS, bucket_index, hole_ratio
from ci_inpaint.errors import UserError

SETTINGS = {"range": "[0,1]", "psnr_data_range": 1.0, "ssim_kernel": 11, "ssim_sigma": 1.5,
            "ssim_k1": 0.01, "ssim_k2": 0.03}


def _gaussian_valid(x: torch.Tensor, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Gaussian filter of the last two dims, valid region only (no padding), as two band-matrix
    products: exact, and fast in float64 where a float64 conv2d is not (no oneDNN path)."""
    r = torch.arange(size, dtype=x.dtype, device=x.device) - (size - 1) / 2
    g = torch.exp(-r**2 / (2 * sigma**2))
    g = g / g.sum()

    def band(n: int) -> torch.Tensor:
        idx = torch.arange(n - size + 1, device=x.device)[:, None] + torch.arange(size, device=x.device)
        return torch.zeros(n - size + 1, n, dtype=x.dtype, device=x.device).scatter_(
            1, idx, g.expand(n - size + 1, size))

    return band(x.shape[-2]) @ x @ band(x.shape[-1]).T


def _ssim(p: torch.Tensor, t: torch.Tensor, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004) on [0, 1] images, averaged over channels and the valid
    region (the settings of the module docstring; population covariances)."""
    c1, c2 = k1**2, k2**2
    mu_p, mu_t = _gaussian_valid(p), _gaussian_valid(t)
    s_pp = _gaussian_valid(p * p) - mu_p**2
    s_tt = _gaussian_valid(t * t) - mu_t**2
    s_pt = _gaussian_valid(p * t) - mu_p * mu_t
    num = (2 * mu_p * mu_t + c1) * (2 * s_pt + c2)
    den = (mu_p**2 + mu_t**2 + c1) * (s_pp + s_tt + c2)
    return (num / den).mean(dim=(1, 2, 3))


def _per_image(pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    if pred.shape != target.shape or pred.ndim != 4:
        raise UserError(f"inpaint metrics need pred and target of one shape (N,C,H,W), got "
                        f"{tuple(pred.shape)} and {tuple(target.shape)}")
    if min(pred.shape[-2:]) < 11:
        raise UserError(f"SSIM needs images of at least 11x11 pixels, got "
                        f"{tuple(pred.shape[-2:])}: upsample before measuring")
    p = ((pred.detach().double() + 1) / 2).clamp(0, 1)
    t = ((target.detach().double() + 1) / 2).clamp(0, 1)
    l1 = (p - t).abs().mean(dim=(1, 2, 3))
    psnr = peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3))
    # SSIM over the valid region only (as skimage and Wang et al.'s code; torchmetrics would
    # average over its reflect-padded border too, which biases small images)
    return {"l1": l1.cpu(), "psnr": psnr.cpu(), "ssim": _ssim(p, t).cpu()}


def _summary(per: dict[str, torch.Tensor], sel: torch.Tensor) -> dict:
    n = int(sel.sum())
    out = {"n": n}
    for k, v in per.items():
        out[k] = float(v[sel].mean()) if n else math.nan
    return out


def inpaint_metrics(pred: torch.Tensor, target: torch.Tensor, mask=None) -> dict:
    """Mean L1, PSNR (dB) and SSIM over images; ``mask`` (N,1,H,W, 1 = hole) adds the mean
    hole ratio."""
    out = _summary(_per_image(pred, target), torch.ones(len(pred), dtype=torch.bool))
    if mask is not None:
        out["hole_ratio"] = float(torch.as_tensor(hole_ratio(mask)).mean())
    return out


def by_bucket(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
              buckets=None) -> dict[str, dict]:
    """Metrics per hole-ratio bucket, keyed by the bucket names of
    :data:`ci_inpaint.data.masks.HOLE_BUCKETS` (``"0-20"``, ``"20-40"``, ``"40-60"``,
    ``"60-100"``; ``buckets`` picks some of them, in that order).

    The bucket rule is :func:`ci_inpaint.data.masks.bucket_index` (right-closed: 20 % exactly
    is in ``"0-20"``); empty buckets report n=0 and NaN values.
    """
    names = list(HOLE_BUCKETS)
    chosen = names if buckets is None else [buckets] if isinstance(buckets, str) else list(buckets)
    unknown = [b for b in chosen if b not in HOLE_BUCKETS]
    if unknown:
        raise UserError(f"by_bucket: unknown bucket(s) {unknown}: choose from {', '.join(names)}")
    per = _per_image(pred, target)
    idx = bucket_index(hole_ratio(mask)).cpu()
    return {b: _summary(per, idx == names.index(b)) for b in names if b in chosen}


def boundary_ring(hole: torch.Tensor, width: int = 2) -> torch.Tensor:
    """The ``width`` pixels just inside and just outside the hole's edge (1 = ring): the hole
    dilated by ``width`` minus the hole eroded by ``width`` (square (2w+1)^2 structuring
    element; beyond the image border counts as neither hole nor known, so a hole touching the
    border has no ring there)."""
    k = 2 * width + 1
    grown = F.max_pool2d(hole, k, 1, width)
    shrunk = 1 - F.max_pool2d(1 - hole, k, 1, width)
    return grown - shrunk


def boundary_scores(comp: torch.Tensor, target: torch.Tensor, hole: torch.Tensor,
                    width: int = 2) -> dict[str, float]:
    """Error and gradient mismatch on the boundary ring, on the [0, 1] scale (images in [-1, 1]):

    * ``ring_l1`` = mean |comp - target| over the ring's pixels and channels (all images pooled);
    * ``ring_grad`` = mean |d comp - d target| over horizontal and vertical neighbour pairs with
      both pixels in the ring (d = the forward difference): the gradient a colour seam or an
      edge artefact adds, which ``ring_l1`` alone cannot tell from a smooth offset.
    """
    if comp.shape != target.shape or comp.ndim != 4 or hole.shape[-2:] != comp.shape[-2:]:
        raise UserError(f"boundary_scores needs comp and target (N,C,H,W) of one shape and a hole "
                        f"(N,1,H,W), got {tuple(comp.shape)}, {tuple(target.shape)}, "
                        f"{tuple(hole.shape)}")
    d = (comp.detach().double() - target.detach().double()) / 2  # [0, 1] scale
    ring = boundary_ring(hole.detach().double(), width)
    ch = d.shape[1]
    ring_l1 = (d.abs() * ring).sum() / (ring.sum() * ch).clamp(min=1)
    px = ring[..., :, 1:] * ring[..., :, :-1]
    py = ring[..., 1:, :] * ring[..., :-1, :]
    gx = ((d[..., :, 1:] - d[..., :, :-1]).abs() * px).sum()
    gy = ((d[..., 1:, :] - d[..., :-1, :]).abs() * py).sum()
    pairs = ((px.sum() + py.sum()) * ch).clamp(min=1)
    return {"ring_l1": float(ring_l1), "ring_grad": float((gx + gy) / pairs)}
