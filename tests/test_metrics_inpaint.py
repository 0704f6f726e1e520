"""L1/PSNR/SSIM against skimage.metrics, the hole-ratio buckets, the boundary-ring score."""

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
from ci_inpaint.metrics.inpaint import boundary_ring, boundary_scores

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


def test_ssim_non_square_against_skimage():
    g = torch.Generator().manual_seed(1)
    t = torch.rand(2, 3, 14, 23, generator=g, dtype=torch.float64)
    p = (t + 0.2 * torch.randn(t.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    ref = np.mean([structural_similarity(a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(),
                                         gaussian_weights=True, sigma=1.5, data_range=1,
                                         use_sample_covariance=False, channel_axis=-1)
                   for a, b in zip(t, p)])
    assert inpaint_metrics(p * 2 - 1, t * 2 - 1)["ssim"] == pytest.approx(ref, abs=SSIM_TOL)


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


def _square_hole(size=8, lo=2, hi=6):
    hole = torch.zeros(1, 1, size, size, dtype=torch.float64)
    hole[..., lo:hi, lo:hi] = 1
    return hole


def test_boundary_ring_by_hand():
    hole = _square_hole()
    r1 = boundary_ring(hole, 1)[0, 0]
    assert r1.sum() == 6 * 6 - 2 * 2  # one pixel out (6x6 box) minus the inner 2x2
    assert r1[1, 1] == 1 and r1[3, 3] == 0 and r1[0, 0] == 0 and r1[2, 2] == 1
    assert boundary_ring(hole, 2).sum() == 8 * 8  # 2 out: the whole 8x8, 2 in: nothing left
    edge = torch.zeros(1, 1, 6, 6, dtype=torch.float64)
    edge[..., :, :3] = 1  # a hole on the left border: ring = columns 2 and 3 only
    assert boundary_ring(edge, 1)[0, 0].sum(0).tolist() == [0, 0, 6, 6, 0, 0]


def test_boundary_scores_by_hand():
    hole = _square_hole()
    ring = boundary_ring(hole, 1)
    gt = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    assert boundary_scores(gt, gt, hole, 1) == {"ring_l1": 0.0, "ring_grad": 0.0}
    comp = gt + 0.4 * hole  # a colour seam: +0.2 on the [0, 1] scale inside the hole
    s = boundary_scores(comp, gt, hole, 1)
    assert s["ring_l1"] == pytest.approx(0.2 * 12 / 32, abs=1e-12)  # 12 of 32 ring pixels inside
    # neighbour pairs inside the ring, and those that cross the hole's edge, by brute force
    r = ring[0, 0]
    pairs = [(i, j, i + di, j + dj) for i in range(8) for j in range(8) for di, dj in ((0, 1), (1, 0))
             if i + di < 8 and j + dj < 8 and r[i, j] and r[i + di, j + dj]]
    cross = sum(bool(hole[0, 0, a, b] != hole[0, 0, c, d]) for a, b, c, d in pairs)
    assert cross == 16 and len(pairs) == 48  # counted on paper: 4 sides x 4; 2 x 4 x 6 pairs
    assert s["ring_grad"] == pytest.approx(0.2 * cross / len(pairs), abs=1e-12)
    # a smooth offset over the whole image: ring error but no gradient mismatch
    s = boundary_scores(gt + 0.4, gt, hole, 1)
    assert s["ring_l1"] == pytest.approx(0.2) and s["ring_grad"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(UserError, match="one shape"):
        boundary_scores(gt, gt[..., :7], hole, 1)
