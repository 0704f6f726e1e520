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

from ci_inpaint.errors import UserError

BUCKETS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6))
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


def hole_ratio(mask: torch.Tensor) -> torch.Tensor:
    """Share of hole pixels (mask == 1) per image."""
    return (mask > 0.5).flatten(1).double().mean(1)


def inpaint_metrics(pred: torch.Tensor, target: torch.Tensor, mask=None) -> dict:
    """Mean L1, PSNR (dB) and SSIM over images; ``mask`` (N,1,H,W, 1 = hole) adds the mean
    hole ratio."""
    out = _summary(_per_image(pred, target), torch.ones(len(pred), dtype=torch.bool))
    if mask is not None:
        out["hole_ratio"] = float(hole_ratio(mask).mean())
    return out


def by_bucket(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
              buckets=BUCKETS) -> dict[str, dict]:
    """Metrics per hole-ratio bucket ``"0-20%"``, ``"20-40%"``, ``"40-60%"``.

    Intervals are [lo, hi), the last one closed; empty buckets report n=0 and NaN values.
    Images outside every bucket (hole ratio > 60 %) are counted under ``"other"``.
    """
    per = _per_image(pred, target)
    r = hole_ratio(mask).cpu()
    out, used = {}, torch.zeros(len(r), dtype=torch.bool)
    for i, (lo, hi) in enumerate(buckets):
        sel = (r >= lo) & ((r <= hi) if i == len(buckets) - 1 else (r < hi))
        used |= sel
        out[f"{round(lo * 100)}-{round(hi * 100)}%"] = _summary(per, sel)
    out["other"] = _summary(per, ~used)
    return out
