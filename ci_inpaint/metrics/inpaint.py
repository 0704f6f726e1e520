"""Inpainting quality: mean L1, PSNR and SSIM, overall and by hole-ratio bucket.

Settings (pinned, as the SCAT / DAF tables report them): images in [-1, 1] are mapped to
[0, 1] (and clamped) before measuring; L1 is the mean absolute error on that scale over the
whole image; PSNR uses data_range 1; SSIM (Wang et al. 2004) uses an 11x11 Gaussian window,
sigma 1.5, k1 0.01, k2 0.03, data_range 1, averaged over channels and the valid (un-padded)
region, which matches ``skimage.metrics.structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=1)``. Both are computed per image, then
averaged over images. Pass the composite (known pixels pasted back) as ``pred``.
"""

from __future__ import annotations

import math

import torch
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ci_inpaint.data.masks import HOLE_BUCKETS, bucket_index, hole_ratio
from ci_inpaint.errors import UserError

SETTINGS = {"range": "[0,1]", "psnr_data_range": 1.0, "ssim_kernel": 11, "ssim_sigma": 1.5,
            "ssim_k1": 0.01, "ssim_k2": 0.03}


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
    _, ssim_map = structural_similarity_index_measure(
        p, t, gaussian_kernel=True, kernel_size=11, sigma=1.5, k1=0.01, k2=0.03,
        data_range=1.0, reduction="none", return_full_image=True)
    # average over the valid region only (as skimage and Wang et al.'s code): torchmetrics
    # averages over the reflect-padded border too, which biases small images
    ssim = ssim_map[..., 5:-5, 5:-5].mean(dim=(1, 2, 3))
    return {"l1": l1.cpu(), "psnr": psnr.cpu(), "ssim": ssim.cpu()}


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
