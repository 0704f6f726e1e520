"""DAF networks (Eq. 3-8): shapes at several scales, alpha in (0, 1), Eq. 8 by hand with fixed
weights, squeeze-excitation against a manual computation, the encoder without batch coupling."""

from __future__ import annotations

import pytest
import torch

from ci_inpaint.nn.daf import DAF, Critic, DAFGenerator, Encoder, SiameseBranch, masked_input


@pytest.mark.parametrize("size,depth,n_out", [(32, 4, 3), (64, 5, 5), (16, 3, 1)])
def test_generator_multiscale_shapes(size, depth, n_out):
    torch.manual_seed(0)
    G = DAFGenerator(width=4, depth=depth, n_out=n_out)
    x, m = torch.randn(2, 3, size, size), (torch.rand(2, 1, size, size) > 0.5).float()
    ys, alphas = G(x, m, with_alpha=True)
    assert [tuple(y.shape) for y in ys] == [(2, 3, size // 2**k, size // 2**k) for k in range(n_out)]
    for a, y in zip(alphas, ys):
        assert a.shape == y.shape and bool((a > 0).all() and (a < 1).all())
    plain = DAFGenerator(width=4, depth=depth, n_out=n_out, daf=False)(x, m)
    assert [y.shape for y in plain] == [y.shape for y in ys]


def test_daf_output_is_alpha_blend_by_hand():
    torch.manual_seed(0)
    daf = DAF(channels=8, reduction=4, hidden=5)
    with torch.no_grad():  # fixed, simple weights for the 1x1 convs
        daf.to_rgb.weight.zero_()
        daf.to_rgb.weight[:, 0] = 1.0
        daf.to_rgb.bias.zero_()
        daf.w_c.weight.zero_()
        daf.w_c.weight[torch.arange(3), torch.arange(3)] = 2.0
        daf.w_c.bias.fill_(0.5)
    f = torch.randn(2, 8, 4, 4)
    x_q = torch.randn(2, 4, 8, 8)
    y, f_hat, alpha = daf(f, x_q)
    # x'_q: 2 * x + 0.5 on the RGB channels, 2x2 average pooled to 4x4 (Eq. 6)
    xq = (2 * x_q[:, :3] + 0.5).unflatten(2, (4, 2)).unflatten(4, (4, 2)).mean((3, 5))
    wd = f_hat[:, :1].expand(-1, 3, -1, -1)  # W_D F_hat: channel 0 to all three
    a_ref = torch.sigmoid(daf.A(torch.cat([wd, xq], 1)))
    torch.testing.assert_close(alpha, a_ref)
    torch.testing.assert_close(y, a_ref * wd + (1 - a_ref) * xq)
    assert bool((alpha > 0).all() and (alpha < 1).all())


def test_squeeze_excitation_against_manual():
    torch.manual_seed(1)
    daf = DAF(channels=6, reduction=3)
    f = torch.randn(3, 6, 5, 7)
    f_hat, omega = daf.channel_attention(f)
    z = f.sum((2, 3)) / (5 * 7)  # Eq. 3
    Wd, bd = daf.se_down.weight[:, :, 0, 0], daf.se_down.bias
    Wu, bu = daf.se_up.weight[:, :, 0, 0], daf.se_up.bias
    w = torch.sigmoid(torch.relu(z @ Wd.T + bd) @ Wu.T + bu)  # Eq. 4, C/r = 2 channels
    assert Wd.shape == (2, 6)
    torch.testing.assert_close(omega[:, :, 0, 0], w)
    torch.testing.assert_close(f_hat, w[:, :, None, None] * f)  # Eq. 5


def test_encoder_is_per_sample_and_siamese_branch_shape():
    torch.manual_seed(0)
    E = Encoder(width=4, depth=3)
    x = masked_input(torch.randn(4, 3, 16, 16), (torch.rand(4, 1, 16, 16) > 0.5).float())
    feats = E(x)
    assert [f.shape[-1] for f in feats] == [8, 4, 2] and E.channels == [4, 8, 16]
    # no batch statistics: a sample's features do not depend on the rest of the batch,
    # and train / eval modes agree (what E_k, kept in eval mode, relies on)
    torch.testing.assert_close(E(x[:1])[-1], feats[-1][:1])
    E.eval()
    torch.testing.assert_close(E(x)[-1], feats[-1])
    z = SiameseBranch(4, 3, dim=16)(x)
    assert z.shape == (4, 16)


def test_masked_input_zeroes_holes_and_critic_scores_every_scale():
    x, m = torch.ones(1, 3, 4, 4), torch.zeros(1, 1, 4, 4)
    m[..., 0, 0] = 1
    xq = masked_input(x, m)
    assert xq[0, :3, 0, 0].abs().sum() == 0 and xq[0, 3, 0, 0] == 1 and xq[0, :3, 1, 1].sum() == 3
    D = Critic(width=4, n_down=3)
    for s in (32, 16, 8):
        assert D(torch.randn(2, 3, s, s)).shape == (2,)


def test_bottleneck_block_has_no_instance_norm():
    # InstanceNorm there zeroes each channel's spatial mean: GAP(e_depth) would be its bias only
    from torch import nn

    E = Encoder(width=4, depth=3)
    has_in = [any(isinstance(m, nn.InstanceNorm2d) for m in b) for b in E.blocks]
    assert has_in == [True, True, False]


def test_decoder_keeps_each_images_colour():
    # An InstanceNorm in the decoder erased each image's mean colour before the RGB heads:
    # two flat images of opposite colours gave the same output. Without it a short fit
    # reproduces both (no hole, daf=False: the plain 1x1 heads, nothing copies the input).
    from torch import nn

    torch.manual_seed(0)
    G = DAFGenerator(width=8, depth=3, n_out=1, daf=False)
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in G.decoder.modules())
    x = torch.stack([torch.full((3, 16, 16), -0.8), torch.full((3, 16, 16), 0.6)])
    hole = torch.zeros(2, 1, 16, 16)
    opt = torch.optim.Adam(G.parameters(), 3e-3)
    for _ in range(150):
        loss = (G(x, hole)[0] - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.1  # with the norm: >= 0.7 (one output for both images)
