"""SCAT losses (Eq. 1-4) against hand values, brute-force loops and gradient checks."""

import math

import pytest
import torch

from ci_inpaint.losses.scat import (
    recorrupt,
    scat_d_loss,
    scat_g_loss,
    semantic_contrastive_loss,
    textural_contrastive_loss,
)


def test_scat_d_loss_hand_values():
    # one image 1x2: S(x) = [0.5, 2] (both valid: relu(1 - l) = 0.5, 0);
    # S(x_bar) = [3, 0.5] with the second pixel a hole: relu(1 - 3) = 0, relu(1 + 0.5) = 1.5
    s_real = torch.tensor([[[[0.5, 2.0]]]])
    s_comp = torch.tensor([[[[3.0, 0.5]]]])
    hole = torch.tensor([[[[0.0, 1.0]]]])
    assert scat_d_loss(s_real, s_comp, hole).item() == pytest.approx(0.5 / 2 + 1.5 / 2)


def test_scat_g_loss_regions():
    s = torch.tensor([[[[1.0, -2.0], [4.0, 0.0]]]])
    hole = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    assert scat_g_loss(s).item() == pytest.approx(-3.0 / 4)  # Eq. 2: every pixel
    assert scat_g_loss(s, hole, "hole").item() == pytest.approx(2.0 / 2)  # code: holes only
    with pytest.raises(ValueError):
        scat_g_loss(s, None, "hole")
    with pytest.raises(ValueError):
        scat_g_loss(s, hole, "edges")


def test_textural_hand_value_and_sum_over_levels():
    comp = [torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0]])]
    gt = [torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0]])]
    corrupt = [torch.tensor([[-1.0, 2.0]]), torch.tensor([[-3.0]])]
    # level 1: mean|c-g| = 1, mean|c-x| = 1 -> 1/(1+1e-7); level 2: 1 / 3
    want = 1 / (1 + 1e-7) + 1 / (3 + 1e-7)
    got = textural_contrastive_loss(comp, gt, corrupt)
    assert got.item() == pytest.approx(want, rel=1e-6)
    assert got.dtype == torch.float32


def test_textural_brute_force_and_nothing_detached():
    g = torch.Generator().manual_seed(0)
    shapes = [(2, 3, 8, 8), (2, 5, 4, 4), (2, 7, 2, 2), (2, 4, 1, 1)]
    comp = [torch.randn(s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]
    gt = [torch.randn(s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]
    cor = [torch.randn(s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]
    want = 0.0
    for c, t, x in zip(comp, gt, cor):
        num = sum(abs(a - b) for a, b in zip(c.detach().flatten().tolist(),
                                             t.detach().flatten().tolist())) / c.numel()
        den = sum(abs(a - b) for a, b in zip(c.detach().flatten().tolist(),
                                             x.detach().flatten().tolist())) / c.numel()
        want += num / (den + 1e-7)
    got = textural_contrastive_loss(comp, gt, cor)
    assert got.dtype == torch.float64
    assert got.item() == pytest.approx(want, rel=1e-10)
    got.backward()
    for t in comp + gt + cor:  # gradient reaches every input: nothing detached
        assert t.grad is not None and t.grad.abs().sum() > 0
    flat = [t.detach().requires_grad_() for t in comp[:2] + gt[:2] + cor[:2]]
    assert torch.autograd.gradcheck(
        lambda c1, c2, g1, g2, x1, x2: textural_contrastive_loss([c1, c2], [g1, g2], [x1, x2]),
        tuple(flat))


def test_textural_pulls_toward_gt_and_pushes_from_corrupt():
    gt, cor = [torch.zeros(1, 4)], [torch.full((1, 4), 4.0)]
    near_gt = textural_contrastive_loss([torch.full((1, 4), 0.5)], gt, cor)
    near_cor = textural_contrastive_loss([torch.full((1, 4), 3.5)], gt, cor)
    assert near_gt < near_cor


def test_textural_rejects_mismatch():
    with pytest.raises(ValueError):
        textural_contrastive_loss([torch.zeros(1, 2)], [torch.zeros(1, 2)], [])
    with pytest.raises(ValueError):
        textural_contrastive_loss([torch.zeros(1, 2)], [torch.zeros(1, 3)], [torch.zeros(1, 2)])


def test_semantic_hand_value_and_temperature():
    a = torch.tensor([[2.0, 0.0]])
    p = torch.tensor([[3.0, 4.0]])  # cosine 0.6
    n = torch.tensor([[[0.0, 5.0], [-1.0, 0.0]]])  # cosines 0, -1
    for tau, t in ((None, 1.0), (0.5, 0.5)):
        want = -math.log(math.exp(0.6 / t) / (math.exp(0.6 / t) + math.exp(0) + math.exp(-1 / t)))
        assert semantic_contrastive_loss(a, p, n, tau).item() == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError):
        semantic_contrastive_loss(a, p, n, 0.0)
    with pytest.raises(ValueError):
        semantic_contrastive_loss(a, p, n[0], None)


def test_semantic_brute_force_gradcheck_and_fp32_under_low_precision():
    g = torch.Generator().manual_seed(1)
    B, M, D = 3, 4, 5
    a = torch.randn(B, D, generator=g, dtype=torch.float64, requires_grad=True)
    p = torch.randn(B, D, generator=g, dtype=torch.float64, requires_grad=True)
    n = torch.randn(B, M, D, generator=g, dtype=torch.float64, requires_grad=True)
    tau = 0.07
    want = 0.0
    for i in range(B):
        def cos(u, v):
            return float(u @ v / (u.norm() * v.norm()))
        pos = math.exp(cos(a[i].detach(), p[i].detach()) / tau)
        neg = sum(math.exp(cos(a[i].detach(), n[i, j].detach()) / tau) for j in range(M))
        want += -math.log(pos / (pos + neg)) / B
    assert semantic_contrastive_loss(a, p, n, tau).item() == pytest.approx(want, rel=1e-9)
    assert torch.autograd.gradcheck(lambda *t: semantic_contrastive_loss(*t, tau), (a, p, n))
    low = semantic_contrastive_loss(a.detach().bfloat16(), p.detach().bfloat16(),
                                    n.detach().bfloat16(), tau)
    assert low.dtype == torch.float32


def test_recorrupt_every_image_under_every_mask():
    x = torch.arange(2 * 1 * 1 * 2, dtype=torch.float32).view(2, 1, 1, 2) + 1  # [[1, 2]], [[3, 4]]
    hole = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])
    neg = recorrupt(x, hole)
    assert neg.shape == (2, 2, 1, 1, 2)
    assert neg[0, 0].flatten().tolist() == [0.0, 2.0]
    assert neg[0, 1].flatten().tolist() == [1.0, 0.0]
    assert neg[1, 0].flatten().tolist() == [0.0, 4.0]
    assert torch.equal(neg[1, 1], x[1] * (1 - hole[1]))  # j = i: its own corrupted input
