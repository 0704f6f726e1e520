"""GAN losses and penalties against closed forms (softplus identities, hand values, linear D)."""

import math

import pytest
import torch
import torch.nn.functional as F

from ci_inpaint.losses import gan


def test_nonsaturating_is_bce_with_logits_and_stable():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 3.0])
    d = (math.log(1 + math.exp(-0.0)) + math.log(1 + math.exp(-2.0))) / 2 \
        + (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(3.0))) / 2
    assert gan.d_nonsaturating(real, fake).item() == pytest.approx(d, rel=1e-6)
    bce = F.binary_cross_entropy_with_logits
    assert gan.d_nonsaturating(real, fake).item() == pytest.approx(
        (bce(real, torch.ones(2)) + bce(fake, torch.zeros(2))).item(), rel=1e-6)
    g = -(math.log(1 / (1 + math.exp(1.0))) + math.log(1 / (1 + math.exp(-3.0)))) / 2
    assert gan.g_nonsaturating(fake).item() == pytest.approx(g, rel=1e-6)
    # -log sigmoid(-100) = 100 exactly in float32, no overflow
    assert gan.d_nonsaturating(torch.tensor([-100.0]), torch.tensor([100.0])).item() == 200.0


def test_bce_map_weighted():
    logits = torch.tensor([[[[0.0, 1.0], [-2.0, 3.0]]]])
    target = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])
    per = [math.log(2), math.log(1 + math.e), math.log(1 + math.exp(2)), math.log(1 + math.exp(-3))]
    assert gan.bce_map(logits, target).item() == pytest.approx(sum(per) / 4, rel=1e-6)
    w = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert gan.bce_map(logits, target, w).item() == pytest.approx((per[1] + per[2]) / 2, rel=1e-6)


def test_hinge_hand_values():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.5])
    # relu(1 - real) = 0, .5, 2; relu(1 + fake) = 0, 1, 2.5
    assert gan.d_hinge(real, fake).item() == pytest.approx(2.5 / 3 + 3.5 / 3)
    assert gan.g_hinge(fake).item() == pytest.approx(1 / 6)
    assert gan.g_wgan(fake).item() == pytest.approx(1 / 6)
    assert gan.d_wgan(real, fake).item() == pytest.approx(-1 / 6 - 0.5)


def test_hinge_maps_hand_values():
    logits = torch.tensor([[[[2.0, -0.5], [0.3, -3.0]]]])
    target = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])  # 1 = valid
    # relu(1 - 2) = 0, relu(1 - 0.5) = 0.5, relu(1 - 0.3) = 0.7, relu(1 - 3) = 0
    assert gan.d_hinge_map(logits, target).item() == pytest.approx(1.2 / 4)
    w = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert gan.d_hinge_map(logits, target, w).item() == pytest.approx(1.2 / 2)
    # a (1, 1, H, W) target broadcasts over a batch
    assert gan.d_hinge_map(logits.repeat(3, 1, 1, 1), target).item() == pytest.approx(0.3)
    hole = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    assert gan.g_hinge_map(logits, hole).item() == pytest.approx(3.5 / 2)  # holes only (code)
    assert gan.g_hinge_map(logits).item() == pytest.approx(1.2 / 4)  # every pixel (Eq. 2)
    assert gan.g_hinge_map(logits, torch.zeros_like(hole)).item() == 0.0  # no hole: no term


def test_lsgan_hand_values():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert gan.d_lsgan(real, fake).item() == pytest.approx(0.5 * (0.5 + 0.5))
    assert gan.g_lsgan(fake).item() == pytest.approx(0.5)
    assert gan.d_lsgan(torch.ones(3), torch.zeros(3)).item() == 0.0


def linear_d(shape, norm, seed=0):
    """D(x) = <w, x> + b with ||w|| = norm: grad_x D = w everywhere."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    w = (w * norm / w.norm()).requires_grad_(True)
    return w, (lambda x: (x * w).flatten(1).sum(1) + 0.3)


def test_gradient_penalty_linear_d_closed_form():
    w, D = linear_d((3, 4, 4), 3.0)
    real, fake = torch.randn(5, 3, 4, 4, dtype=torch.float64), torch.randn(5, 3, 4, 4, dtype=torch.float64)
    gp = gan.gradient_penalty(D, real, fake)  # lambda = 10 default
    assert gp.item() == pytest.approx(10 * (3 - 1) ** 2, rel=1e-12)
    gp.backward()  # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(w.grad, 20 * 2 * w.detach() / 3, rtol=1e-10)
    # a flat D: gradient 0, penalty lambda, and finite gradients (no sqrt(0) blow-up)
    c = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    gp0 = gan.gradient_penalty(lambda x: c * 0 * x.sum((1, 2, 3)), real, fake, lam=2.0)
    gp0.backward()
    assert gp0.item() == 2.0 and torch.isfinite(c.grad)


def test_gradient_penalty_on_the_interpolates():
    # D(x) = 0.5 ||x||^2: grad = x_hat; with real = fake the interpolate is the image itself
    x = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    gp = gan.gradient_penalty(lambda v: 0.5 * v.pow(2).flatten(1).sum(1), x, x, lam=1.0)
    assert gp.item() == pytest.approx(((x.flatten(1).norm(dim=1) - 1) ** 2).mean().item(), rel=1e-10)
    # real = 0, fake = 1: x_hat = 1 - eps with eps ~ U(0, 1) from the generator
    g = torch.Generator().manual_seed(7)
    eps = torch.rand((4, 1, 1, 1), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    z, o = torch.zeros(4, 1, 1, 1, dtype=torch.float64), torch.ones(4, 1, 1, 1, dtype=torch.float64)
    gp = gan.gradient_penalty(lambda v: 0.5 * v.pow(2).flatten(1).sum(1), z, o, 1.0, g)
    assert gp.item() == pytest.approx((((1 - eps).abs() - 1) ** 2).mean().item(), rel=1e-10)


def test_r1_closed_forms():
    w, D = linear_d((2, 3, 3), 2.5)
    x = torch.randn(6, 2, 3, 3, dtype=torch.float64)
    assert gan.r1_penalty(D, x, gamma=4.0).item() == pytest.approx(4.0 / 2 * 2.5**2, rel=1e-12)
    # D(x) = a/2 ||x||^2: grad = a x, R1 = gamma/2 a^2 E||x||^2, dR1/da = gamma a E||x||^2
    a = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    r1 = gan.r1_penalty(lambda v: a / 2 * v.pow(2).flatten(1).sum(1), x, gamma=10.0)
    sq = x.flatten(1).pow(2).sum(1).mean().item()
    assert r1.item() == pytest.approx(5.0 * 1.5**2 * sq, rel=1e-12)
    r1.backward()
    assert a.grad.item() == pytest.approx(10.0 * 1.5 * sq, rel=1e-12)
    assert not x.requires_grad  # the caller's tensor is untouched


def test_penalties_are_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))
    x = torch.randn(4, 3, 2, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        r1 = gan.r1_penalty(D, x)
        gp = gan.gradient_penalty(D, x, torch.randn(4, 3, 2, 2))
    assert r1.dtype == gp.dtype == torch.float32
    wsq = D[1].weight.detach().pow(2).sum().item()
    assert r1.item() == pytest.approx(5.0 * wsq, rel=2e-2)  # bf16 weights inside the Linear


def test_lazy_regularization_schedule_and_adam_correction():
    assert [gan.lazy_regularization(s, 4) for s in range(9)] == [4, 0, 0, 0, 4, 0, 0, 0, 4]
    assert all(gan.lazy_regularization(s, 1) == 1 for s in range(3))
    assert gan.lazy_correction(16) == pytest.approx(16 / 17)
    lr, (b1, b2) = gan.lazy_adam(0.002, (0.0, 0.99), 16)
    assert lr == pytest.approx(0.002 * 16 / 17) and b1 == 0.0 and b2 == pytest.approx(0.99 ** (16 / 17))
    with pytest.raises(ValueError, match="interval"):
        gan.lazy_regularization(3, 0)
    assert gan.r1_gamma_heuristic(256, 16) == pytest.approx(0.8192)
