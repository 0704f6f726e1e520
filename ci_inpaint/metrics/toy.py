"""Mode coverage and sample quality on 2D Gaussian-mixture toys (VEEGAN / PacGAN convention).

A sample is *high quality* when it lies within ``threshold`` standard deviations (default 3)
of its nearest mode centre. A mode is *covered* when at least ``min_count`` high-quality
samples are assigned to it. PacGAN (Lin et al. 2018) counts a mode as lost with fewer than 20
of 2,500 samples within three standard deviations, i.e. a share of 0.8 %; we default to that
share, ``min_count = max(1, ceil(0.008 * N))``, which is 20 for the usual 2,500 samples.

*Mode width* (ours; no paper reports it) asks whether a covered mode has the real mode's spread
or has shrunk to a point (collapse *within* a mode, which the high-quality share rewards): the
per-axis RMS spread of a mode's high-quality samples around their own mean, over what an
isotropic Gaussian of the real std gives inside the same radius. 1 = the real width.
"""

from __future__ import annotations

import math

import torch


def toy_mode_metrics(samples, centers, std, threshold: float = 3.0,
                     min_count: int | None = None) -> dict:
    """``modes_covered``, ``n_modes`` and ``high_quality`` (share of high-quality samples).

    samples (N, 2), centers (M, 2), std a scalar or one value per mode.
    """
    x = torch.as_tensor(samples, dtype=torch.float64)
    c = torch.as_tensor(centers, dtype=torch.float64)
    s = torch.as_tensor(std, dtype=torch.float64).expand(len(c))
    dist = torch.cdist(x, c)  # (N, M)
    nearest_d, nearest = dist.min(1)
    good = nearest_d <= threshold * s[nearest]
    counts = torch.bincount(nearest[good], minlength=len(c))
    if min_count is None:
        min_count = max(1, math.ceil(0.008 * len(x)))
    covered = counts >= min_count
    return {"modes_covered": int(covered.sum()), "n_modes": len(c),
            "high_quality": float(good.double().mean()), "min_count": min_count,
            "counts": counts.tolist(),
            "mode_width": _width(x[good], nearest[good], counts, covered, s, threshold)}


def truncated_rms(std: float, threshold: float = 3.0) -> float:
    """Per-axis RMS distance to the centre of an isotropic 2-D Gaussian N(0, std^2 I) inside the
    disc of radius ``threshold * std``: r^2 / std^2 is chi^2 with 2 dof (exponential, mean 2),
    so E[r^2 | r < t std] = 2 std^2 (1 - (1 + t^2/2) e^(-t^2/2)) / (1 - e^(-t^2/2))."""
    h = threshold ** 2 / 2
    return std * math.sqrt((1 - (1 + h) * math.exp(-h)) / (1 - math.exp(-h)))


def _width(x, mode, counts, covered, s, threshold) -> float:
    """Mean over covered modes of (RMS spread around the mode's sample mean) / truncated_rms."""
    if not bool(covered.any()):
        return 0.0
    m = len(counts)
    n = counts.clamp(min=1).double()[:, None]
    mean = torch.zeros(m, 2, dtype=x.dtype).index_add_(0, mode, x) / n
    sq = torch.zeros(m, 2, dtype=x.dtype).index_add_(0, mode, x * x) / n
    rms = ((sq - mean ** 2).clamp(min=0).sum(1) / 2).sqrt()  # (M,) per-axis RMS spread
    ref = torch.tensor([truncated_rms(float(v), threshold) for v in s], dtype=x.dtype)
    return float((rms / ref)[covered].mean())
