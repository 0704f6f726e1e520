"""BicycleGAN-style networks at 32 px for DivCo's paired setting (Table 1, Sec. 4.1).

* :class:`ZUNet`, G(A, z): a U-Net encoder-decoder (as pix2pix / BicycleGAN). The encoder sees
  the condition A only; z (``z_dim``, paper 8) is broadcast to every decoder level and
  concatenated there (BicycleGAN's ``add_all`` idea, put on the decoder so that the encoder stays
  a function of an image alone). ``G.encode(x)`` is that encoder applied to any 3-channel
  image, pooled to a vector: DivCo's auxiliary encoder E, which for image-to-image tasks
  "shares weights with the encoding layers of the generator" (Sec. 4.1, Fig. 3), with G's
  current weights.
* :class:`PatchD`, D(A, B): a conditional PatchGAN on concat(A, B) (pix2pix), 32 -> 4x4 logits.

Encoder: conv 3x3 (ngf, 32) -> conv 4x4/2 (2 ngf, 16) -> (4 ngf, 8) -> (4 ngf, 4); decoder:
[h, z] -> convT 4x4/2 -> [., skip, z] ... -> conv 3x3 -> tanh. InstanceNorm + (Leaky)ReLU
(pix2pix). Weights N(0, 0.02).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dcgan import _dcgan_init as _init  # conv weights N(0, 0.02), zero biases (pix2pix too)


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout, affine=True),
                         nn.LeakyReLU(0.2))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1),
                         nn.InstanceNorm2d(cout, affine=True), nn.ReLU())


def _with_z(h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return torch.cat([h, z[:, :, None, None].expand(-1, -1, *h.shape[-2:])], 1)


class ZUNet(nn.Module):
    """G(A, z) -> B, (B, 3, 32, 32) in [-1, 1]; ``encode(x)`` is DivCo's E (G's encoder)."""

    def __init__(self, z_dim: int = 8, ngf: int = 32, channels: int = 3):
        super().__init__()
        self.z_dim = z_dim
        c1, c2, c3 = ngf, 2 * ngf, 4 * ngf
        self.enc = nn.ModuleList([
            nn.Sequential(nn.Conv2d(channels, c1, 3, 1, 1), nn.LeakyReLU(0.2)),  # 32
            _down(c1, c2), _down(c2, c3), _down(c3, c3)])  # 16, 8, 4
        self.dec = nn.ModuleList([
            _up(c3 + z_dim, c3),  # 4 -> 8
            _up(2 * c3 + z_dim, c2),  # 8 -> 16
            _up(2 * c2 + z_dim, c1)])  # 16 -> 32
        self.out = nn.Sequential(nn.Conv2d(2 * c1 + z_dim, c1, 3, 1, 1), nn.ReLU(),
                                 nn.Conv2d(c1, channels, 3, 1, 1), nn.Tanh())
        self.feat_dim = c3
        _init(self)

    def _encoder(self, x: torch.Tensor) -> list[torch.Tensor]:
        hs = []
        for layer in self.enc:
            x = layer(x)
            hs.append(x)
        return hs

    def forward(self, a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        hs = self._encoder(a)
        h = hs[-1]
        for layer, skip in zip(self.dec, (None, hs[2], hs[1])):
            h = layer(_with_z(h if skip is None else torch.cat([h, skip], 1), z))
        return self.out(_with_z(torch.cat([h, hs[0]], 1), z))

    def encode(self, x: torch.Tensor, cond=None, features: str = "bottleneck") -> torch.Tensor:
        """DivCo's E: G's encoding layers on an image. ``features="bottleneck"``: the last
        encoder map flattened, (B, 4 ngf * 4 * 4), which keeps where things are, so a
        recoloured object moves the feature; ``"pooled"``: every level global-average-pooled
        and concatenated, (B, 11 ngf), whose cosines between samples of one page stay near 1
        (a small object barely moves a spatial mean) and give L_contra almost no gradient.
        ``cond`` is ignored (the ``divco_regularizer`` interface)."""
        hs = self._encoder(x)
        if features == "pooled":
            return torch.cat([h.mean((2, 3)) for h in hs], 1)
        return hs[-1].flatten(1)


class PatchD(nn.Module):
    """D(A, B): 4x4 patch logits of concat(A, B) (pix2pix's conditional PatchGAN at 32 px)."""

    def __init__(self, ndf: int = 32, channels: int = 3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(2 * channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2),  # 16
            _down(ndf, 2 * ndf),  # 8
            nn.Conv2d(2 * ndf, 4 * ndf, 3, 1, 1), nn.InstanceNorm2d(4 * ndf, affine=True),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * ndf, 1, 4, 2, 1))  # 4x4
        _init(self)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([a, b], 1))


def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Non-saturating BCE over patch logits (fp32)."""
    t = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), t.float())


__all__ = ["PatchD", "ZUNet", "bce"]
