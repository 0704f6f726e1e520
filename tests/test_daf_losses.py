"""DAF losses (Eq. 9-16): TV on the dilated hole by a brute-force loop, target / hole pyramids,
the structure term's 1/|P| average with lambda_rec."""

from __future__ import annotations

import pytest
import torch

from ci_inpaint.losses.daf import dilate, mask_pyramid, pyramid, structure_loss, tv_loss


def test_tv_on_one_pixel_dilated_hole_brute_force():
    torch.manual_seed(0)
    y = torch.randn(2, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    hole = torch.zeros(2, 1, 6, 7, dtype=torch.float64)
    hole[0, 0, 2, 3] = 1
    hole[1, 0, 0, 0] = 1
    hole[1, 0, 5, 4:6] = 1
    omega = dilate(hole)
    assert omega[0, 0].sum() == 9 and omega[1, 0, :2, :2].sum() == 4  # 3x3 around, clipped
    ref, yd = 0.0, y.detach()
    for b in range(2):
        for i in range(6):
            for j in range(7):
                if j + 1 < 7 and omega[b, 0, i, j] and omega[b, 0, i, j + 1]:
                    ref += float((yd[b, :, i, j + 1] - yd[b, :, i, j]).abs().sum())
                if i + 1 < 6 and omega[b, 0, i, j] and omega[b, 0, i + 1, j]:
                    ref += float((yd[b, :, i + 1, j] - yd[b, :, i, j]).abs().sum())
    loss = tv_loss(y, hole)
    assert abs(loss.item() - ref / y.numel()) < 1e-12
    loss.backward()
    assert y.grad[0, :, 0, 0].abs().sum() == 0 and y.grad[0, :, 2, 3].abs().sum() > 0
    assert tv_loss(y, torch.zeros_like(hole)).item() == 0.0


def test_pyramids_area_means_and_hole_max():
    y = torch.arange(16.0).view(1, 1, 4, 4)
    p = pyramid(y, 3)
    assert [t.shape[-1] for t in p] == [4, 2, 1] and p[0] is y
    assert p[1][0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4 and p[2].item() == y.mean()
    hole = torch.zeros(1, 1, 4, 4)
    hole[0, 0, 3, 0] = 1
    assert mask_pyramid(hole, 3)[1][0, 0].tolist() == [[0.0, 0.0], [1.0, 0.0]]


def test_structure_loss_is_weighted_mean_over_scales():
    ys = [torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 2, 2)]
    ts = [torch.ones(1, 3, 4, 4), torch.full((1, 3, 2, 2), 3.0)]
    assert structure_loss(ys, ts, 6.0).item() == 6.0 * (1 + 3) / 2


def test_hole_weighted_l1_by_hand():
    from ci_inpaint.losses.daf import hole_weighted_l1, l1

    a, b = torch.zeros(1, 1, 1, 2), torch.tensor([[[[1.0, 2.0]]]])
    hole = torch.tensor([[[[0.0, 1.0]]]])
    assert float(hole_weighted_l1(a, b, hole, 6.0)) == pytest.approx((1 + 6 * 2) / 2)
    assert float(hole_weighted_l1(a, b, hole, 1.0)) == pytest.approx(float(l1(a, b)))
    ys, ts = [a, a[..., :1]], [b, b[..., :1]]
    holes = [hole, hole[..., :1]]
    # lambda * mean over the scales: (6.5 + 1) / 2 with w = 6, the plain L1 with w = 1
    assert float(structure_loss(ys, ts, 2.0, holes, 6.0)) == pytest.approx(2 * (6.5 + 1) / 2)
    assert float(structure_loss(ys, ts, 2.0, holes, 1.0)) == pytest.approx(float(structure_loss(ys, ts, 2.0)))
