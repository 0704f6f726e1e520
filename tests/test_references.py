"""Trivial references (metrics/references.py): exact on cases with a known answer."""

import math

import pytest
import torch

from ci_inpaint.errors import UserError
from ci_inpaint.metrics.references import (
    classical_fill,
    hole_metrics,
    identity_mapping,
    mean_fill,
    reference_scores,
    score_fill,
)


def _box(n=2, size=24, lo=8, hi=16):
    m = torch.zeros(n, 1, size, size)
    m[:, :, lo:hi, lo:hi] = 1
    return m


def test_constant_image_is_filled_exactly_by_both():
    x = torch.full((2, 3, 24, 24), 0.3)
    x[1] = -0.5
    m = _box()
    corrupted = x * (1 - m)  # what the hole held before must not matter
    for fill in (mean_fill(corrupted, m), classical_fill(corrupted, m)):
        assert torch.allclose(fill, x, atol=1e-6)


def test_mean_fill_is_the_hand_computed_mean_of_the_known_pixels():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    m = _box(1, 16, 4, 10)
    out = mean_fill(x, m)
    known = m[0, 0] == 0
    for c in range(3):
        expect = x[0, c][known].mean()
        assert torch.allclose(out[0, c][~known], expect.expand(int((~known).sum())))
        assert torch.equal(out[0, c][known], x[0, c][known])


def test_biharmonic_reproduces_a_linear_ramp_inside_the_hole():
    r = torch.linspace(-0.8, 0.8, 24)
    x = (r[None, :] * 0.5 + r[:, None] * 0.3).expand(1, 3, 24, 24).clone()
    m = _box(1)
    out = classical_fill(x * (1 - m), m)
    assert (out - x).abs().max() < 1e-4
    # the mean fill cannot: a ramp is not its mean
    assert (mean_fill(x, m) - x).abs().max() > 0.05


def test_ground_truth_scores_perfectly_and_references_are_ordered():
    g = torch.Generator().manual_seed(1)
    base = torch.rand(2, 3, 6, 6, generator=g) * 2 - 1
    x = torch.nn.functional.interpolate(base, size=24, mode="bilinear", align_corners=False)
    m = _box()
    rows = {r["reference"]: r for r in reference_scores(x, m)}
    gt = rows["ground truth"]
    assert gt["hole_l1"] == 0 and gt["l1"] == 0 and gt["ssim"] == pytest.approx(1.0)
    assert rows["classical fill (biharmonic)"]["hole_l1"] < rows["mean fill"]["hole_l1"]


def test_hole_metrics_by_hand():
    x = torch.zeros(1, 1, 12, 12)
    m = torch.zeros(1, 1, 12, 12)
    m[..., :2, :2] = 1  # 4 hole pixels
    pred = x.clone()
    pred[..., 0, 0] = 1.0  # one hole pixel off by 0.5 on the [0, 1] scale
    h = hole_metrics(pred, x, m)
    assert h["hole_l1"] == pytest.approx(0.5 / 4)
    assert h["hole_psnr"] == pytest.approx(10 * math.log10(1 / (0.25 / 4)))
    assert score_fill(pred, x, m)["n"] == 1


def test_identity_mapping_is_a_copy():
    x = torch.randn(2, 3, 4, 4)
    y = identity_mapping(x)
    assert torch.equal(x, y) and y.data_ptr() != x.data_ptr()


def test_bad_shapes_and_methods_give_one_line_errors():
    x = torch.zeros(2, 3, 16, 16)
    with pytest.raises(UserError, match=r"masks \(N,1,H,W\)"):
        mean_fill(x, torch.zeros(2, 3, 16, 16))
    with pytest.raises(UserError, match="biharmonic"):
        classical_fill(x, _box(2, 16, 2, 6), method="navier")
