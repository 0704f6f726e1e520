"""DivCo Eq. 2, latent augmentation and the MSGAN / latent-regression baselines."""

import math

import pytest
import torch
from torch import nn

from ci_inpaint.losses import (
    divco_loss,
    divco_regularizer,
    latent_regression_loss,
    mode_seeking_loss,
    sample_latents,
)


def test_divco_loss_matches_hand_computed_softmax():
    # one query, one positive, two negatives in 2-D; cosine similarities by hand
    f_q = torch.tensor([[1.0, 0.0]])
    f_pos = torch.tensor([[3.0, 4.0]])  # cos = 0.6
    f_neg = torch.tensor([[[0.0, 2.0], [-1.0, 0.0]]])  # cos = 0, -1
    tau = 0.5
    s = [0.6 / tau, 0.0 / tau, -1.0 / tau]
    expected = -math.log(math.exp(s[0]) / sum(math.exp(v) for v in s))
    got = divco_loss(f_q, f_pos, f_neg, tau=tau, normalize=True)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # raw dot products (official code's default): 3, 0, -1
    s = [3.0, 0.0, -1.0]
    expected_raw = -math.log(math.exp(s[0]) / sum(math.exp(v) for v in s))
    assert divco_loss(f_q, f_pos, f_neg, tau=1.0, normalize=False).item() == pytest.approx(
        expected_raw, rel=1e-6)


def test_divco_loss_averages_over_batch():
    g = torch.Generator().manual_seed(0)
    f_q, f_pos, f_neg = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g), \
        torch.randn(4, 5, 8, generator=g)
    per = torch.stack([divco_loss(f_q[i:i + 1], f_pos[i:i + 1], f_neg[i:i + 1]) for i in range(4)])
    assert divco_loss(f_q, f_pos, f_neg).item() == pytest.approx(per.mean().item(), rel=1e-6)


def test_divco_loss_falls_as_positive_approaches_query():
    g = torch.Generator().manual_seed(1)
    f_q = torch.randn(8, 16, generator=g)
    away = torch.randn(8, 16, generator=g)
    f_neg = torch.randn(8, 10, 16, generator=g)
    losses = [divco_loss(f_q, (1 - a) * away + a * f_q, f_neg).item()
              for a in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def test_tau_and_normalize_behave_as_documented():
    f_q = torch.tensor([[2.0, 0.0]])
    f_pos = torch.tensor([[1.0, 0.0]])
    f_neg = torch.tensor([[[0.0, 1.0], [0.0, -1.0]]])
    # positive is the most similar: a smaller temperature sharpens the softmax -> smaller loss
    assert divco_loss(f_q, f_pos, f_neg, tau=0.1) < divco_loss(f_q, f_pos, f_neg, tau=1.0)
    # cosine is scale-invariant; raw dot products are not
    a = divco_loss(f_q, f_pos, f_neg, normalize=True)
    b = divco_loss(10 * f_q, f_pos, f_neg, normalize=True)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    assert divco_loss(10 * f_q, f_pos, f_neg, normalize=False) < divco_loss(
        f_q, f_pos, f_neg, normalize=False)


@pytest.mark.parametrize("method", ["inverse_cdf", "rejection"])
@pytest.mark.parametrize("radius", [0.001, 0.3])
def test_latent_augmentation_cube(method, radius):
    g = torch.Generator().manual_seed(2)
    z = torch.randn(256, 16, generator=g)
    z[0] = 0.0  # a query at the mode, where the cube holds the most mass
    for _ in range(5):
        z_pos, z_neg = sample_latents(z, num_neg=10, radius=radius, generator=g, method=method)
        assert z_pos.shape == z.shape and z_neg.shape == (256, 10, 16)
        assert ((z_pos - z).abs() <= radius).all()  # positives inside the cube
        assert ((z_neg - z[:, None]).abs() > radius).all()  # every coordinate of every negative out
    # the negatives still follow N(0, 1) away from the (thin) cube
    _, z_neg = sample_latents(torch.zeros(2000, 8), 10, 0.001, generator=g, method=method)
    assert z_neg.mean().abs() < 0.02 and (z_neg.std() - 1).abs() < 0.02


def test_inverse_cdf_and_rejection_agree_in_law():
    g = torch.Generator().manual_seed(3)
    z = torch.full((4000, 1), 0.5)
    a = sample_latents(z, 5, 0.8, generator=g, method="inverse_cdf")[1].flatten()
    b = sample_latents(z, 5, 0.8, generator=g, method="rejection")[1].flatten()
    qs = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9])
    assert torch.allclose(a.quantile(qs), b.quantile(qs), atol=0.06)
    # a known share lands below the cut: Phi(-0.3) / (1 - (Phi(1.3) - Phi(-0.3)))
    phi = torch.special.ndtr
    p_low = phi(torch.tensor(-0.3)) / (1 - (phi(torch.tensor(1.3)) - phi(torch.tensor(-0.3))))
    assert (a < 0.5).float().mean().item() == pytest.approx(p_low.item(), abs=0.02)


class TinyG(nn.Module):
    def __init__(self, d=4, n_cls=3):
        super().__init__()
        self.emb = nn.Embedding(n_cls, d)
        self.net = nn.Sequential(nn.Linear(2 * d, 16), nn.ReLU(), nn.Linear(16, 6))

    def forward(self, z, c):
        return self.net(torch.cat([z, self.emb(c)], 1))


def test_regularizer_one_pass_and_gradients_reach_generator():
    torch.manual_seed(0)
    G, E = TinyG(), nn.Linear(6, 5)
    calls = []

    def generate(z, c):
        calls.append(z.shape[0])
        assert c.shape[0] == z.shape[0]
        return G(z, c)

    z, c = torch.randn(3, 4), torch.tensor([0, 1, 2])
    loss, xq = divco_regularizer(generate, lambda x, c: E(x), c, z, num_neg=4, radius=0.1)
    assert calls == [3 * (2 + 4)]  # one pass over query, positive and 4 negatives
    assert loss.dim() == 0 and xq.shape == (3, 6)
    assert torch.allclose(xq, G(z, c))  # the first B outputs are the query images
    loss.backward()
    for p in G.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_regularizer_repeats_condition_query_major():
    seen = {}

    def generate(z, c):
        seen["z"], seen["c"] = z, c
        return torch.cat([z, c[:, None].float()], 1)

    z, c = torch.randn(2, 3), torch.tensor([5, 7])
    divco_regularizer(generate, lambda x, c: x, c, z, num_neg=3, radius=0.01)
    assert seen["c"].tolist() == [5, 7, 5, 7, 5, 5, 5, 7, 7, 7]
    assert torch.equal(seen["z"][:2], z)
    assert ((seen["z"][2:4] - z).abs() <= 0.01).all()


def test_mode_seeking_loss_hand_computed():
    x1, x2 = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    z1, z2 = torch.zeros(2, 4), torch.full((2, 4), 2.0)
    lz = 0.5 / 2.0
    assert mode_seeking_loss(x1, x2, z1, z2).item() == pytest.approx(1 / (lz + 1e-5), rel=1e-6)
    # more image change per unit code change -> smaller loss
    assert mode_seeking_loss(x1, 2 * x2, z1, z2) < mode_seeking_loss(x1, x2, z1, z2)


def test_latent_regression_loss_hand_computed():
    z_hat = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    z = torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    assert latent_regression_loss(z_hat, z).item() == pytest.approx((1 + 1 + 0.5 + 2) / 4)


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        divco_loss(torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(ValueError):
        sample_latents(torch.randn(3), 2, 0.1)


def test_float64_sampling_never_lands_on_a_device_without_float64(monkeypatch):
    """MPS has no float64: the exact sampler must do its float64 math on the CPU there.

    Without an MPS machine: the device rule is checked directly, and a dispatch mode records
    every float64 tensor the sampler makes to check they all lie on the device that rule picked.
    """
    from torch.overrides import TorchFunctionMode

    from ci_inpaint.losses import divco

    assert divco._float64_device(torch.device("mps")) == torch.device("cpu")
    assert divco._float64_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert divco._float64_device(torch.device("cpu")) == torch.device("cpu")
    asked = []

    def rule(device):
        asked.append(device)
        return torch.device("cpu")

    monkeypatch.setattr(divco, "_float64_device", rule)

    class Record(TorchFunctionMode):
        devices = set()

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor) and out.dtype == torch.float64:
                self.devices.add(out.device)
            return out

    z = torch.randn(4, 3)
    with Record():
        z_pos, z_neg = sample_latents(z, 5, 0.01)
    assert asked == [z.device] and Record.devices == {torch.device("cpu")}
    assert z_pos.dtype == z_neg.dtype == torch.float32
    # a generator on the accelerator cannot drive the CPU draws: a one-line error says what to pass
    fake_mps_generator = type("G", (), {"device": torch.device("mps")})()
    with pytest.raises(ValueError, match="pass a torch.Generator"):
        divco._outside_cube_inverse_cdf(z, 5, 0.01, fake_mps_generator)
