"""L1/PSNR/SSIM against skimage.metrics, and the hole-ratio buckets."""

import math

import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.transform import resize

from ci_inpaint.data.masks import bucket_of
from ci_inpaint.errors import UserError
from ci_inpaint.metrics import by_bucket, hole_ratio, inpaint_metrics

SSIM_TOL = 1e-6  # same window, constants and valid region: agreement is ~1e-9


@pytest.fixture(scope="module")
def pair():
    img = resize(data.astronaut(), (48, 48), anti_aliasing=True)  # float in [0, 1]
    rng = np.random.default_rng(0)
    t = torch.tensor(img, dtype=torch.float32).permute(2, 0, 1)[None] * 2 - 1
    noisy = (t + 0.15 * torch.tensor(rng.standard_normal(t.shape), dtype=torch.float32))
    pred = torch.cat([noisy.clamp(-1, 1), t.flip(-1)])
    return pred, torch.cat([t, t])


def test_against_skimage(pair):
    pred, target = pair
    p01 = ((pred + 1) / 2).permute(0, 2, 3, 1).double().numpy()
    t01 = ((target + 1) / 2).permute(0, 2, 3, 1).double().numpy()
    psnr = np.mean([peak_signal_noise_ratio(t, p, data_range=1) for t, p in zip(t01, p01)])
    ssim = np.mean([structural_similarity(t, p, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False, data_range=1,
                                          channel_axis=-1) for t, p in zip(t01, p01)])
    out = inpaint_metrics(pred, target)
    assert out["n"] == 2
    assert out["psnr"] == pytest.approx(psnr, abs=1e-4)
    assert out["ssim"] == pytest.approx(ssim, abs=SSIM_TOL)
    assert out["l1"] == pytest.approx(np.abs(p01 - t01).mean(), rel=1e-6)


def test_perfect_prediction(pair):
    _, target = pair
    out = inpaint_metrics(target, target, torch.zeros(2, 1, 48, 48))
    assert out["l1"] == 0 and out["ssim"] == pytest.approx(1.0) and math.isinf(out["psnr"])
    assert out["hole_ratio"] == 0


def test_by_bucket_assigns_by_hole_ratio():
    n, h = 6, 20
    target = torch.zeros(n, 3, h, h)
    pred = target + torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1) * 0.1
    mask = torch.zeros(n, 1, h, h)
    # hole ratios: 0.10, 0.20 (right edge -> 0-20), 0.35, 0.40 (-> 20-40), 0.60, 0.80
    for i, rows in enumerate([2, 4, 7, 8, 12, 16]):
        mask[i, :, :rows] = 1
    assert hole_ratio(mask).tolist() == [0.1, 0.2, 0.35, 0.4, 0.6, 0.8]  # exact in float64
    out = by_bucket(pred, target, mask)
    assert list(out) == ["0-20", "20-40", "40-60", "60-100"]
    assert [out[k]["n"] for k in out] == [2, 2, 1, 1]
    # the same rule as the mask module, image by image
    assert [bucket_of(float(r)) for r in hole_ratio(mask)] == [
        "0-20", "0-20", "20-40", "20-40", "40-60", "60-100"]
    assert out["0-20"]["l1"] == pytest.approx((0.0 + 0.05) / 2)  # [0,1] scale: 0.1/2 each
    assert out["20-40"]["l1"] == pytest.approx((0.10 + 0.15) / 2)
    assert out["40-60"]["l1"] == pytest.approx(0.20)
    empty = by_bucket(pred[:1], target[:1], mask[:1], buckets=["0-20", "40-60"])
    assert list(empty) == ["0-20", "40-60"]
    assert empty["40-60"]["n"] == 0 and math.isnan(empty["40-60"]["ssim"])
    with pytest.raises(UserError, match="unknown bucket"):
        by_bucket(pred, target, mask, buckets="10-30")


def test_errors():
    with pytest.raises(UserError, match="one shape"):
        inpaint_metrics(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 15))
    with pytest.raises(UserError, match="11x11"):
        inpaint_metrics(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
