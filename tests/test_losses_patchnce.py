"""PatchNCE (CUT Eq. 2): hand values, CUT's own cross-entropy layout as a reference, detached keys,
precision (float64 in / out, fp32 under autocast), shapes."""

import math

import pytest
import torch
import torch.nn.functional as F

from ci_inpaint.losses.patchnce import patchnce_loss


def unit(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)


def cut_reference(q, k, tau):
    """CUT's PatchNCELoss layout: [l_pos, l_neg with its diagonal set to -10] / T, CE to 0."""
    b, p, d = q.shape
    l_pos = (q * k).sum(-1, keepdim=True).reshape(-1, 1)
    l_neg = q @ k.transpose(1, 2)
    l_neg = l_neg.masked_fill(torch.eye(p, dtype=torch.bool), -10.0).reshape(-1, p)
    logits = torch.cat([l_pos, l_neg], 1) / tau
    return F.cross_entropy(logits, torch.zeros(b * p, dtype=torch.long), reduction="none").view(b, p)


def test_two_patches_by_hand():
    # P = 2 in 2-D: q0 = k0 = e1, q1 = k1 = e2 -> each anchor: positive cosine 1, negative 0
    q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    tau = 0.5
    want = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 1.0))
    assert patchnce_loss(q, q.clone(), tau=tau).item() == pytest.approx(want, rel=1e-6)
    # rotate the keys by 90 degrees: positive cosine 0, negative cosine -1 / +1
    k = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]])
    per = patchnce_loss(q, k, tau=tau, reduction="none")
    # anchor 0: s00 = 0, s01 = q0.k1 = -1; anchor 1: s11 = 0, s10 = q1.k0 = 1
    want = [-math.log(1 / (1 + math.exp(-1 / tau))), -math.log(1 / (1 + math.exp(1 / tau)))]
    assert per.flatten().tolist() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("tau", [0.07, 1.0])
def test_matches_cuts_cross_entropy(tau):
    q, k = unit(3, 16, 8, seed=1), unit(3, 16, 8, seed=2)
    ours = patchnce_loss(q, k, tau=tau, reduction="none")
    assert ours.shape == (3, 16)
    # CUT's -10 on the diagonal is e^{-10/T} ~ 0, not exactly 0: agree to that precision
    assert torch.allclose(ours, cut_reference(q, k, tau), rtol=1e-5, atol=1e-6)
    assert patchnce_loss(q, k, tau=tau).item() == pytest.approx(ours.mean().item(), rel=1e-6)
    assert patchnce_loss(q, k, tau=tau, reduction="sum").item() == pytest.approx(
        ours.sum().item(), rel=1e-5)


def test_negatives_only_from_the_same_image():
    q, k = unit(2, 8, 4, seed=3), unit(2, 8, 4, seed=4)
    one = patchnce_loss(q[:1], k[:1], reduction="none")
    k2 = k.clone()
    k2[1] = unit(8, 4, seed=9)  # changing image 1's keys leaves image 0's losses unchanged
    assert torch.equal(patchnce_loss(q, k2, reduction="none")[0], one[0])


def test_keys_detached_queries_get_gradient():
    q = unit(2, 8, 4, seed=5).requires_grad_()
    k = unit(2, 8, 4, seed=6).requires_grad_()
    patchnce_loss(q, k).backward()
    assert k.grad is None
    assert q.grad is not None and torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0


def test_precision():
    q, k = unit(1, 8, 4, seed=7, dtype=torch.float64), unit(1, 8, 4, seed=8, dtype=torch.float64)
    assert patchnce_loss(q, k).dtype == torch.float64
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = patchnce_loss(q.float(), k.float())
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(patchnce_loss(q, k).item(), rel=1e-5)


def test_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        patchnce_loss(unit(1, 8, 4), unit(1, 7, 4))
    with pytest.raises(ValueError, match="P >= 2"):
        patchnce_loss(unit(1, 1, 4), unit(1, 1, 4))
