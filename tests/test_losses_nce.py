"""The shared InfoNCE core: hand values, a brute-force reference, precision under autocast, grads."""

import math

import pytest
import torch
import torch.nn.functional as F

from ci_inpaint.losses import divco_loss
from ci_inpaint.losses.nce import info_nce, label_masks, similarity


def brute_force(sim, pos, neg, tau, w=None):
    """Loop over every (anchor, positive) pair: -log e^p / (e^p + sum_n w_n e^n)."""
    terms = {}
    for a in range(len(sim)):
        for p in range(len(sim[0])):
            if not pos[a][p]:
                continue
            den = math.exp(sim[a][p] / tau)
            den += sum((1.0 if w is None else w[a][n]) * math.exp(sim[a][n] / tau)
                       for n in range(len(sim[0])) if neg[a][n])
            terms[a, p] = -math.log(math.exp(sim[a][p] / tau) / den)
    return terms


def test_two_anchors_by_hand():
    sim = torch.tensor([[0.6, 0.0, -1.0], [0.2, 0.5, 0.1]])
    tau = 0.5
    row = [-math.log(math.exp(r[0] / tau) / sum(math.exp(v / tau) for v in r))
           for r in sim.tolist()]
    assert info_nce(sim, tau=tau).item() == pytest.approx(sum(row) / 2, rel=1e-6)
    assert info_nce(sim, tau=tau, reduction="sum").item() == pytest.approx(sum(row), rel=1e-6)
    assert info_nce(sim, tau=tau, reduction="none").tolist() == pytest.approx(row, rel=1e-6)
    # the same as cross-entropy with target 0 (what DivCo's official code computes)
    ce = F.cross_entropy(sim / tau, torch.zeros(2, dtype=torch.long))
    assert info_nce(sim, tau=tau).item() == pytest.approx(ce.item(), rel=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_multi_positive_masks_match_a_loop(weighted):
    g = torch.Generator().manual_seed(0)
    sim = torch.rand(5, 7, generator=g, dtype=torch.float64) * 2 - 1
    pos = torch.rand(5, 7, generator=g) < 0.35
    neg = ~pos & (torch.rand(5, 7, generator=g) < 0.7)  # some candidates in neither mask
    pos[0] = False  # an anchor without positives contributes nothing
    pos[1, :3] = True
    neg[1, :3] = False
    w = torch.rand(5, 7, generator=g, dtype=torch.float64) * 2 + 0.1
    tau = 0.3
    ref = brute_force(sim.tolist(), pos.tolist(), neg.tolist(), tau, w.tolist() if weighted else None)
    lw = w.log() if weighted else None
    per_anchor = [sum(v for (a, _), v in ref.items() if a == i) for i in range(5)]
    assert info_nce(sim, pos, neg, tau, lw, "none").tolist() == pytest.approx(per_anchor, rel=1e-12)
    assert info_nce(sim, pos, neg, tau, lw, "sum").item() == pytest.approx(sum(ref.values()), rel=1e-12)
    assert info_nce(sim, pos, neg, tau, lw).item() == pytest.approx(
        sum(ref.values()) / len(ref), rel=1e-12)


def test_contrasfill_grid_masks():
    # Fig. 2 of ContrasFill: a 2 x 2 grid, images (k1,u1), (k1,u2), (k2,u1), (k2,u2)
    k = torch.tensor([0, 0, 1, 1])
    u = torch.tensor([0, 1, 0, 1])
    pos_k, neg_k = label_masks(k)
    # known space: P_{k1,u1} = {(k1,u2)}, N_{k1,u1} = {(k2,u1), (k2,u2)}
    assert pos_k[0].tolist() == [False, True, False, False]
    assert neg_k[0].tolist() == [False, False, True, True]
    # unknown space: positive (k2,u1), negatives N_{k1,u1} = {(k1,u2), (k2,u2)}
    pos_u, neg_u = label_masks(u)
    assert pos_u[0].tolist() == [False, False, True, False]
    assert neg_u[0].tolist() == [False, True, False, True]
    assert not (pos_k & neg_k).any() and not pos_k.diagonal().any() and not neg_k.diagonal().any()


def test_patchnce_diagonal_equals_cross_entropy():
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(2, 6, 8, generator=g), torch.randn(2, 6, 8, generator=g)
    eye = torch.eye(6, dtype=torch.bool)
    sim = similarity(q, k)
    assert sim.shape == (2, 6, 6)
    ce = F.cross_entropy(sim.reshape(12, 6) / 0.07, torch.arange(6).repeat(2))
    assert info_nce(sim, eye, ~eye, tau=0.07).item() == pytest.approx(ce.item(), rel=1e-5)


def test_similarity_shapes_and_errors():
    q, own, shared = torch.randn(3, 4), torch.randn(3, 5, 4), torch.randn(7, 4)
    assert similarity(q, own).shape == (3, 5)
    assert similarity(q, shared).shape == (3, 7)
    assert torch.allclose(similarity(q, shared, normalize=False), q @ shared.T)
    assert torch.allclose(similarity(q, own)[1], F.normalize(own[1], dim=-1) @ F.normalize(q[1], dim=0))
    with pytest.raises(ValueError, match="candidates"):
        similarity(q, torch.randn(3, 5))
    with pytest.raises(ValueError, match="reduction"):
        info_nce(similarity(q, own), reduction="avg")


def test_float64_stays_float64():
    g = torch.Generator().manual_seed(2)
    f_q, f_pos = (torch.randn(4, 8, generator=g, dtype=torch.float64) for _ in range(2))
    f_neg = torch.randn(4, 5, 8, generator=g, dtype=torch.float64)
    sim = similarity(f_q, torch.cat([f_pos[:, None], f_neg], 1))
    assert sim.dtype == torch.float64 and info_nce(sim).dtype == torch.float64
    loss = divco_loss(f_q, f_pos, f_neg, tau=0.1)
    assert loss.dtype == torch.float64
    # float64 keeps digits that float32 loses
    lo = divco_loss(f_q.float(), f_pos.float(), f_neg.float(), tau=0.1).double()
    assert 0 < (loss - lo).abs().item() < 1e-5


def test_bf16_autocast_logits_are_fp32_and_accurate():
    g = torch.Generator().manual_seed(3)
    f_q, f_pos = torch.randn(64, 128, generator=g), torch.randn(64, 128, generator=g)
    f_neg = torch.randn(64, 10, 128, generator=g)
    cand = torch.cat([f_pos[:, None], f_neg], 1)
    tau = 0.07

    def naive(f_q, cand):  # what a loss written without care computes under autocast
        return F.normalize(f_q, dim=-1).unsqueeze(1) @ F.normalize(cand, dim=-1).transpose(1, 2)

    def run(autocast, loss_of_features):
        neg = f_neg.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            per_anchor = loss_of_features(torch.cat([f_pos[:, None], neg], 1))
        per_anchor.sum().backward()
        return per_anchor, neg.grad

    ours_fn = lambda c: info_nce(similarity(f_q, c), tau=tau, reduction="none")  # noqa: E731
    ref, ref_grad = run(False, ours_fn)
    ours, ours_grad = run(True, ours_fn)
    bad, bad_grad = run(True, lambda c: F.cross_entropy(
        naive(f_q, c).squeeze(1).float() / tau, torch.zeros(64, dtype=torch.long), reduction="none"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert similarity(f_q, cand).dtype == torch.float32
        assert naive(f_q, cand).dtype == torch.bfloat16  # the autocast this test relies on is active
    assert ours.dtype == torch.float32

    def rel(a, b):
        return ((a - b).norm() / b.norm()).item()

    assert rel(ours, ref) < 1e-6 and rel(ours_grad, ref_grad) < 1e-5
    # bf16 logits: ~0.1 % loss and ~0.4 % gradient error on random features (7 % measured on
    # DivCo's trained ones); ours is over 100 times closer
    assert rel(bad, ref) > 5e-4 and rel(bad_grad, ref_grad) > 2e-3


def test_zero_log_weights_equal_plain_and_weights_scale_negatives():
    g = torch.Generator().manual_seed(4)
    sim = torch.rand(6, 9, generator=g) * 2 - 1
    plain = info_nce(sim, tau=0.2)
    assert info_nce(sim, tau=0.2, log_weights=torch.zeros(6, 9)).item() == pytest.approx(
        plain.item(), rel=1e-7)
    # a weight on the positive column is ignored; weight 2 on every negative = the loss with
    # each negative duplicated
    lw = torch.full((6, 9), math.log(2.0))
    dup = torch.cat([sim, sim[:, 1:]], 1)
    assert info_nce(sim, tau=0.2, log_weights=lw).item() == pytest.approx(
        info_nce(dup, tau=0.2).item(), rel=1e-6)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(5)
    q = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    lw = torch.randn(3, 6, generator=g, dtype=torch.float64, requires_grad=True)
    pos = torch.tensor([[1, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    neg = ~pos
    neg[0, 5] = False

    def f(q, k, lw):
        return info_nce(similarity(q, k), pos, neg, 0.5, lw)

    assert torch.autograd.gradcheck(f, (q, k, lw))


def test_no_nan_without_negatives_or_positives():
    sim = torch.tensor([[0.3, 0.1], [0.2, -0.4]], requires_grad=True)
    pos = torch.tensor([[True, True], [False, False]])
    out = info_nce(sim, pos, ~pos)  # anchor 0: no negatives (loss 0); anchor 1: no positives
    out.backward()
    assert out.item() == 0.0 and torch.isfinite(sim.grad).all()
    empty = info_nce(sim, torch.zeros(2, 2, dtype=torch.bool))
    assert empty.item() == 0.0
