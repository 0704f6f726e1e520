"""ContrasFill building blocks: bi-modulated conv (two exact forms vs a naive loop) and the
grid contrastive loss (the paper's 2x2 Fig. 2 case by hand, a brute-force loop, pair counts)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ci_inpaint.errors import ConfigError
from ci_inpaint.losses import grid_contrastive_loss
from ci_inpaint.losses.contrasfill import (
    code_contrastive_loss,
    derangement,
    grid_ids,
    pair_counts,
    pair_types,
    paired_codes,
)
from ci_inpaint.nn.bimod import BiModulatedConv2d, CodeConv, modulated_conv2d


# ----------------------------------------------------------------------------- bi-modulation
def naive_modconv(x, weight, style, demodulate=True, padding=1):
    """One sample at a time: w' = style_i * w_oi.., demodulated over (i, taps), conv2d."""
    outs = []
    for b in range(x.shape[0]):
        w = weight * style[b][None, :, None, None]
        if demodulate:
            w = w / torch.sqrt((w ** 2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        outs.append(F.conv2d(x[b:b + 1], w, padding=padding))
    return torch.cat(outs)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_forms_equal_naive_loop(demodulate):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 7, 6, generator=g, dtype=torch.float64)
    w = torch.randn(4, 5, 3, 3, generator=g, dtype=torch.float64)
    style = torch.rand(3, 5, generator=g, dtype=torch.float64) * 2 + 0.1
    ref = naive_modconv(x, w, style, demodulate)
    for impl in ("grouped", "scale"):
        out = modulated_conv2d(x, w, style, demodulate, padding=1, impl=impl)
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


def test_bimodulated_conv_grouped_and_scale_agree_with_gradients():
    torch.manual_seed(0)
    conv = BiModulatedConv2d(6, 4, k_dim=3, u_dim=5, impl="grouped").double()
    x = torch.randn(2, 6, 8, 8, dtype=torch.float64, requires_grad=True)
    k, u = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    out_g = conv(x, k, u)
    grads_g = torch.autograd.grad(out_g.square().sum(), [x, conv.weight, conv.mod.A_k.weight])
    conv.impl = "scale"
    out_s = conv(x, k, u)
    grads_s = torch.autograd.grad(out_s.square().sum(), [x, conv.weight, conv.mod.A_k.weight])
    torch.testing.assert_close(out_s, out_g)
    for a, b in zip(grads_s, grads_g):
        torch.testing.assert_close(a, b)
    # and both equal the loop with w' = s_i t_i w (equalised-lr scale applied), plus bias/lrelu
    s, t = conv.mod.A_k(k), conv.mod.A_u(u)
    ref = naive_modconv(x, conv.weight * conv.scale, s * t)
    torch.testing.assert_close(out_g, F.leaky_relu(ref + conv.bias[None, :, None, None], 0.2)
                               * math.sqrt(2))


def test_affine_biases_start_at_one_and_none_is_a_plain_demodulated_conv():
    conv = BiModulatedConv2d(4, 3, 2, 2, activate=False)
    assert torch.equal(conv.mod.A_k.bias, torch.ones(4)) and torch.equal(conv.mod.A_u.bias,
                                                                        torch.ones(4))
    plain = BiModulatedConv2d(4, 3, 2, 2, injection="none", activate=False)
    x = torch.randn(2, 4, 5, 5)
    w = plain.weight * plain.scale
    ref = F.conv2d(x, w / w.square().sum((1, 2, 3), keepdim=True).add(1e-8).sqrt(), padding=1)
    torch.testing.assert_close(plain(x, torch.randn(2, 2), torch.randn(2, 2)), ref)


def test_k_and_u_each_change_the_output_and_sequential_injection_has_two_convs():
    torch.manual_seed(1)
    conv = BiModulatedConv2d(4, 4, 3, 3)
    x, k, u = torch.randn(1, 4, 6, 6), torch.randn(1, 3), torch.randn(1, 3)
    base = conv(x, k, u)
    assert not torch.allclose(base, conv(x, k + 1, u)) and not torch.allclose(base, conv(x, k, u + 1))
    ku = CodeConv(4, 4, 3, 3, injection="k-u", up=True)
    assert [c.mod.injection for c in ku.convs] == ["k", "u"]
    assert ku(x, k, u).shape == (1, 4, 12, 12)
    with pytest.raises(ConfigError, match="injection"):
        BiModulatedConv2d(4, 4, 3, 3, injection="sideways")


# ----------------------------------------------------------------------------- contrastive loss
def square_grid():
    """Fig. 2's 2x2 grid: S(k1,u1) = (1,0), S(k1,u2) = (0,1), S(k2,u1) = (-1,0), S(k2,u2) = (0,-1)."""
    return torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, -1.0]]])


def test_grid_loss_fig2_by_hand():
    f = square_grid()
    # known space, anchor (k1,u1): positive (k1,u2) cos 0; negatives (k2,u1) cos -1 (hard),
    # (k2,u2) cos 0 (easy); by symmetry every anchor has the same term: log(2 + e^{-1/tau})
    for tau in (1.0, 0.5):
        known = math.log(2 + math.exp(-1 / tau))
        # unknown space, anchor (k1,u1): positive (k2,u1) cos -1; negatives (k1,u2), (k2,u2) cos 0
        unknown = -math.log(math.exp(-1 / tau) / (math.exp(-1 / tau) + 2))
        assert grid_contrastive_loss(f, "known", tau).item() == pytest.approx(known, rel=1e-6)
        assert grid_contrastive_loss(f, "unknown", tau).item() == pytest.approx(unknown, rel=1e-6)


def brute_force(feats, space, tau):
    n_k, n_u, _ = feats.shape
    z = F.normalize(feats.double(), dim=-1)
    terms = []
    for k in range(n_k):
        for u in range(n_u):
            for k2 in range(n_k):
                for u2 in range(n_u):
                    positive = (k2 == k and u2 != u) if space == "known" else (u2 == u and k2 != k)
                    if not positive:
                        continue
                    fp = math.exp(float(z[k, u] @ z[k2, u2]) / tau)
                    fn = sum(math.exp(float(z[k, u] @ z[a, b]) / tau)
                             for a in range(n_k) for b in range(n_u)
                             if (a != k if space == "known" else b != u))
                    terms.append(-math.log(fp / (fp + fn)))
    return sum(terms) / len(terms)


@pytest.mark.parametrize("space", ["known", "unknown"])
def test_grid_loss_equals_brute_force_loop(space):
    feats = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(2))
    for tau in (0.1, 1.0):
        ours = grid_contrastive_loss(feats, space, tau).item()
        assert ours == pytest.approx(brute_force(feats, space, tau), rel=1e-5)


def test_grid_loss_gradients_and_errors():
    feats = torch.randn(2, 3, 4, requires_grad=True)
    grid_contrastive_loss(feats, "unknown", 0.5).backward()
    assert feats.grad is not None and torch.isfinite(feats.grad).all() and feats.grad.abs().sum() > 0
    # a 1 x N grid has no known-space negative and no unknown-space positive: 0, never NaN
    one = torch.randn(1, 2, 4)
    assert grid_contrastive_loss(one, "known", 1.0).item() == 0.0
    assert grid_contrastive_loss(one, "unknown", 1.0).item() == 0.0
    with pytest.raises(ConfigError, match="space"):
        grid_contrastive_loss(feats, "both", 1.0)
    with pytest.raises(ConfigError, match="N_k, N_u, D"):
        grid_contrastive_loss(feats[0], "known", 1.0)


def test_pair_counts_of_a_grid():
    n_k, n_u = 3, 4
    k, u = grid_ids(n_k, n_u)
    m = n_k * n_u
    assert pair_counts(k, u, "known") == {"positive": m * (n_u - 1), "hard negative": m * (n_k - 1),
                                          "easy negative": m * (n_k - 1) * (n_u - 1)}
    assert pair_counts(k, u, "unknown") == {"positive": m * (n_k - 1),
                                            "hard negative": m * (n_u - 1),
                                            "easy negative": m * (n_k - 1) * (n_u - 1)}
    t = pair_types(k, u, "known")
    assert t[0, 1] == 1 and t[0, n_u] == 2 and t[0, n_u + 1] == 3 and t[0, 0] == 0


def test_paired_batch_has_one_positive_and_one_hard_negative_per_image():
    g = torch.Generator().manual_seed(3)
    for n in (2, 3, 8):
        p = derangement(n, g)
        assert sorted(p.tolist()) == list(range(n)) and not (p == torch.arange(n)).any()
        k, u = paired_codes(n, g)
        for space in ("known", "unknown"):
            t = pair_types(k, u, space)
            assert ((t == 1).sum(1) == 1).all() and ((t == 2).sum(1) == 1).all()
            assert ((t == 3).sum(1) == 2 * n - 3).all()
        feats = torch.randn(2 * n, 6, generator=g)
        assert torch.isfinite(code_contrastive_loss(feats, k, u, "known", 0.5))
    with pytest.raises(ConfigError, match="n >= 2"):
        derangement(1)
