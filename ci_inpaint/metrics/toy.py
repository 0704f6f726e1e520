"""Mode coverage and sample quality on 2D Gaussian-mixture toys (VEEGAN / PacGAN convention).

A sample is *high quality* when it lies within ``threshold`` standard deviations (default 3)
of its nearest mode centre. A mode is *covered* when at least ``min_count`` high-quality
samples are assigned to it. PacGAN (Lin et al. 2018) counts a mode as lost with fewer than 20
of 2,500 samples within three standard deviations, i.e. a share of 0.8 %; we default to that
share, ``min_count = max(1, ceil(0.008 * N))``, which is 20 for the usual 2,500 samples.
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
    return {"modes_covered": int((counts >= min_count).sum()), "n_modes": len(c),
            "high_quality": float(good.double().mean()), "min_count": min_count,
            "counts": counts.tolist()}
