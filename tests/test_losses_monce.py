"""MoNCE: uniform plan -> PatchNCE (with Q), the 3x3 plan in closed form, a brute-force Sinkhorn,
plain vs log domain, gradients (gradcheck, eps = 0.05, plan_grad), precision, bad options."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ci_inpaint.errors import ConfigError
from ci_inpaint.losses.monce import (
    log_kernel,
    log_sinkhorn,
    monce_log_weights,
    monce_loss,
    sinkhorn,
    transport_plan,
)
from ci_inpaint.losses.nce import info_nce
from ci_inpaint.losses.patchnce import patchnce_loss


def unit(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)


def brute_sinkhorn(kernel: np.ndarray, iters: int) -> np.ndarray:
    """One matrix, scalar loops, float64: u_i = 1 / sum_j K_ij v_j, v_j = 1 / sum_i u_i K_ij."""
    p = kernel.shape[0]
    u, v = [1.0] * p, [1.0] * p
    for _ in range(iters):
        u = [1.0 / sum(kernel[i][j] * v[j] for j in range(p)) for i in range(p)]
        v = [1.0 / sum(u[i] * kernel[i][j] for i in range(p)) for j in range(p)]
    return np.array([[u[i] * kernel[i][j] * v[j] for j in range(p)] for i in range(p)])


@pytest.mark.parametrize("q_weight", [1.0, 2.5])
def test_uniform_plan_gives_patchnce_times_q(q_weight):
    # eps -> infinity: K = 1 off the diagonal, pi = 1/(P-1), w = Q (+1e-8)
    q, k = unit(2, 16, 8, seed=1), unit(2, 16, 8, seed=2)
    mo = monce_loss(q, k, eps=1e7, neg_weight=q_weight, reduction="none")
    if q_weight == 1.0:
        assert torch.allclose(mo, patchnce_loss(q, k, reduction="none"), rtol=1e-5, atol=1e-6)
    s = (q @ k.transpose(1, 2)).double()
    eye = torch.eye(16, dtype=torch.bool)
    want = info_nce(s, eye, ~eye, tau=0.07, log_weights=torch.tensor(math.log(q_weight)),
                    reduction="none")
    assert torch.allclose(mo.double(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cost", ["hard", "easy"])
@pytest.mark.parametrize("log_domain", [False, True])
def test_three_patches_by_hand(cost, log_domain):
    # P = 3: a doubly stochastic matrix with a zero diagonal is [[0, t, 1-t], [1-t, 0, t],
    # [t, 1-t, 0]], and Sinkhorn keeps the cycle ratio K01 K12 K20 / (K02 K21 K10) = (t/(1-t))^3
    q = torch.tensor([[[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]]], dtype=torch.float64)
    k = torch.tensor([[[0.8, 0.6], [-0.6, 0.8], [1.0, 0.0]]], dtype=torch.float64)
    s = (q @ k.transpose(1, 2))[0].tolist()
    eps, tau, qw = 0.5, 0.07, 1.5
    c = s if cost == "hard" else [[1 - x for x in row] for row in s]
    log_r = (c[0][1] + c[1][2] + c[2][0] - c[0][2] - c[2][1] - c[1][0]) / eps
    t = 1 / (1 + math.exp(-log_r / 3))
    plan = [[0, t, 1 - t], [1 - t, 0, t], [t, 1 - t, 0]]
    got = transport_plan(q, k, eps=eps, cost=cost, iters=200, log_domain=log_domain)[0]
    assert np.allclose(got.numpy(), plan, atol=1e-9)
    want = []
    for i in range(3):
        pos = math.exp(s[i][i] / tau)
        neg = sum((plan[i][j] * 2 * qw + 1e-8) * math.exp(s[i][j] / tau) for j in range(3) if j != i)
        want.append(-math.log(pos / (pos + neg)))
    loss = monce_loss(q, k, tau=tau, eps=eps, cost=cost, neg_weight=qw, iters=200,
                      reduction="none", log_domain=log_domain)
    assert loss.dtype == torch.float64
    assert loss[0].tolist() == pytest.approx(want, rel=1e-9)


def test_batched_sinkhorn_matches_brute_force():
    q, k = unit(2, 3, 7, 5, seed=3, dtype=torch.float64), unit(2, 3, 7, 5, seed=4, dtype=torch.float64)
    s = q @ k.transpose(-1, -2)  # (layers, images, P, P)
    for cost in ("hard", "easy"):
        lk = log_kernel(s, 0.3, cost)
        plan = sinkhorn(lk.exp(), 50)
        log_plan = log_sinkhorn(lk, 50).exp()
        for a in range(2):
            for b in range(3):
                ref = brute_sinkhorn(lk[a, b].exp().numpy(), 50)
                assert np.allclose(plan[a, b].numpy(), ref, rtol=1e-10, atol=1e-13)
                assert np.allclose(log_plan[a, b].numpy(), ref, rtol=1e-9, atol=1e-12)
        assert torch.allclose(plan.sum(-2), torch.ones(2, 3, 7, dtype=torch.float64), atol=1e-12)  # v updated last
        assert torch.allclose(plan.sum(-1), torch.ones(2, 3, 7, dtype=torch.float64), atol=1e-4)
        assert (plan.diagonal(dim1=-2, dim2=-1) == 0).all()


def test_layers_in_one_call_equal_separate_calls():
    q, k = unit(3, 2, 16, 8, seed=5), unit(3, 2, 16, 8, seed=6)
    both = monce_loss(q, k, reduction="none")
    for layer in range(3):
        assert torch.allclose(both[layer], monce_loss(q[layer], k[layer], reduction="none"),
                              rtol=1e-5, atol=1e-6)


def test_mean_weight_is_q_and_hard_vs_easy_order():
    q, k = unit(1, 32, 8, seed=7), unit(1, 32, 8, seed=8)
    s = q @ k.transpose(1, 2)
    off = ~torch.eye(32, dtype=torch.bool)
    for cost in ("hard", "easy"):
        w = monce_log_weights(s, eps=0.5, cost=cost, neg_weight=3.0).exp()[0]
        assert w[off].view(32, 31).mean(1).tolist() == pytest.approx([3.0] * 32, rel=1e-3)
    # hard puts more weight on the more similar negatives than easy does, on average
    wh = monce_log_weights(s, eps=0.2, cost="hard").exp()[0][off]
    we = monce_log_weights(s, eps=0.2, cost="easy").exp()[0][off]
    sim = s[0][off]
    assert torch.corrcoef(torch.stack([wh, sim]))[0, 1] > 0.5
    assert torch.corrcoef(torch.stack([we, sim]))[0, 1] < -0.5


@pytest.mark.parametrize("log_domain", [False, True])
@pytest.mark.parametrize("cost", ["hard", "easy"])
def test_gradcheck_through_the_iterations(log_domain, cost):
    q = unit(2, 4, 3, seed=9, dtype=torch.float64).requires_grad_()
    k = unit(2, 4, 3, seed=10, dtype=torch.float64)
    torch.autograd.gradcheck(lambda x: monce_loss(x, k, tau=0.5, eps=0.7, cost=cost, iters=20,
                                                  log_domain=log_domain), (q,))


@pytest.mark.parametrize("log_domain", [False, True])
@pytest.mark.parametrize("cost", ["hard", "easy"])
def test_finite_gradients_at_small_eps(log_domain, cost):
    q = unit(2, 64, 16, seed=11).requires_grad_()
    k = unit(2, 64, 16, seed=12)
    loss = monce_loss(q, k, eps=0.05, cost=cost, log_domain=log_domain)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0


def test_log_domain_stays_finite_where_plain_overflows():
    q = unit(1, 16, 8, seed=13).requires_grad_()
    k = q.detach().clone()
    with torch.no_grad():  # 1/eps = 200: e^200 overflows float32 in the plain domain
        assert not torch.isfinite(monce_loss(q, k, eps=0.005, cost="hard"))
    loss = monce_loss(q, k, eps=0.005, cost="hard", log_domain=True)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(q.grad).all()


def test_plan_grad_off_treats_weights_as_constants():
    q = unit(1, 8, 4, seed=14, dtype=torch.float64).requires_grad_()
    k = unit(1, 8, 4, seed=15, dtype=torch.float64)
    g_on = torch.autograd.grad(monce_loss(q, k, eps=0.3), q)[0]
    g_off = torch.autograd.grad(monce_loss(q, k, eps=0.3, plan_grad=False), q)[0]
    s = F.normalize(q, dim=-1) @ k.transpose(1, 2)  # the loss re-normalises its inputs
    log_w = monce_log_weights(s.detach(), eps=0.3)
    eye = torch.eye(8, dtype=torch.bool)
    g_const = torch.autograd.grad(info_nce(s, eye, ~eye, tau=0.07, log_weights=log_w), q)[0]
    assert torch.allclose(g_off, g_const, atol=1e-12)
    assert not torch.allclose(g_on, g_off, atol=1e-6)


def test_precision_and_keys():
    q = unit(1, 8, 4, seed=16, dtype=torch.float64)
    k = unit(1, 8, 4, seed=17, dtype=torch.float64).requires_grad_()
    out = monce_loss(q.requires_grad_(), k)
    assert out.dtype == torch.float64
    out.backward()
    assert k.grad is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = monce_loss(q.detach().float(), k.detach().float())
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(monce_loss(q.detach(), k.detach()).item(), rel=1e-5)


@pytest.mark.parametrize("kw, match", [({"cost": "medium"}, "cost"), ({"eps": 0.0}, "eps"),
                                       ({"neg_weight": -1.0}, "neg_weight"), ({"iters": 0}, "iters")])
def test_bad_options(kw, match):
    with pytest.raises(ConfigError, match=match):
        monce_loss(unit(1, 4, 3), unit(1, 4, 3), **kw)
