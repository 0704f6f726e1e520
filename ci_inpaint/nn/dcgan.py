"""The class-conditional DCGAN of DivCo Sec. 4.4 (32x32), in the MSGAN setting the paper follows.

What the DivCo paper says: "we take DCGAN [35] as our baseline following [27]" (MSGAN) and
"we take all but the topmost layers of the discriminator as our auxiliary encoder" (Sec. 4.4,
Fig. 3: "the encoder E shares weights with the encoding layers of discriminator D"). The paper
gives no layer table; the MSGAN/DivCo DCGAN code for CIFAR-10 (read, not copied) is the
standard Radford et al. DCGAN at width d = 128, which is what we build:

* G: concat(z, one-hot(y)) as a 1x1 map -> ConvT 4x4 (d*4, 1->4) -> ConvT 4x4/2 (d*2, 4->8)
  -> ConvT 4x4/2 (d, 8->16) -> ConvT 4x4/2 (3, 16->32) -> tanh; BatchNorm + ReLU between.
* D: conditioning by *concatenated label maps* (the one-hot label broadcast to H x W and
  concatenated to the image, i.e. 3 + K input channels), as the MSGAN/DivCo DCGAN does; no
  projection discriminator. Conv 4x4/2 (d, 32->16, no norm) -> conv 4x4/2 (2d, 16->8) ->
  conv 4x4/2 (4d, 8->4), BatchNorm + LeakyReLU(0.2) (the DCGAN convention: BN everywhere but
  the first layer; no spectral norm) -> top: conv 4x4 (1, 4->1) = the real/fake logit.
  (The code ends in a sigmoid + BCE; we return the logit and use BCE-with-logits, the same loss
  computed stably.)
* E = ``D.features(x, y)``: the D trunk (all but the top) followed by a small head, a 4x4 conv
  4d -> ``feat_dim`` (default d). In the DivCo code this head sits in D's optimiser but no loss
  that D minimises reaches it, so it stays at its random initialisation: a fixed random
  projection of the trunk features. We make that explicit: the head weight is a *buffer*
  (checkpointed, never trained). Only G learns from the contrastive loss; the trunk is trained
  by the GAN loss alone, and gradients flow through E into G.

Weights are drawn from N(0, 0.02) (DCGAN). ``width`` (d) is configurable so ``quick`` runs on
a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN init: conv weights N(0, 0.02), zero biases (BatchNorm keeps its defaults)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class CondGenerator(nn.Module):
    """G(z, y): (B, z_dim) codes and (B,) int labels -> (B, out_channels, 32, 32) in [-1, 1]."""

    def __init__(self, z_dim: int = 100, n_classes: int = 10, width: int = 128,
                 out_channels: int = 3):
        super().__init__()
        self.z_dim, self.n_classes, self.width = z_dim, n_classes, width
        d = width

        def up(i, o, first=False):
            conv = nn.ConvTranspose2d(i, o, 4, 1, 0) if first else nn.ConvTranspose2d(i, o, 4, 2, 1)
            return [conv, nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.net = nn.Sequential(
            *up(z_dim + n_classes, 4 * d, first=True),  # 1 -> 4
            *up(4 * d, 2 * d),  # 4 -> 8
            *up(2 * d, d),  # 8 -> 16
            nn.ConvTranspose2d(d, out_channels, 4, 2, 1),  # 16 -> 32
            nn.Tanh(),
        )
        _dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(y.long(), self.n_classes).to(z.dtype)
        return self.net(torch.cat([z, onehot], 1)[:, :, None, None])


class CondDiscriminator(nn.Module):
    """D(x, y) -> (B,) real/fake logits; ``features(x, y)`` -> (B, feat_dim) DivCo encoder E."""

    def __init__(self, n_classes: int = 10, width: int = 128, in_channels: int = 3,
                 feat_dim: int | None = None):
        super().__init__()
        self.n_classes, self.width = n_classes, width
        d = width
        self.feat_dim = feat_dim or d
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels + n_classes, d, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(d, 2 * d, 4, 2, 1), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * d, 4 * d, 4, 2, 1), nn.BatchNorm2d(4 * d), nn.LeakyReLU(0.2, inplace=True),
        )  # 32 -> 16 -> 8 -> 4
        self.top = nn.Conv2d(4 * d, 1, 4, 1, 0)  # 4 -> 1: the logit
        _dcgan_init(self)
        # E's head: a fixed random 4x4 conv 4d -> feat_dim (see the module docstring)
        self.register_buffer("head_weight", torch.randn(self.feat_dim, 4 * d, 4, 4) * 0.02)

    def _trunk(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        maps = F.one_hot(y.long(), self.n_classes).to(x.dtype)[:, :, None, None]
        maps = maps.expand(-1, -1, x.shape[2], x.shape[3])
        return self.trunk(torch.cat([x, maps], 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.top(self._trunk(x, y)).flatten()

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """E(x) of DivCo Fig. 3: the trunk (D minus its top layer) + the fixed head, (B, feat_dim).

        Computed with D's *current* weights; differentiable w.r.t. ``x`` so the contrastive loss
        reaches G (D's own parameters are frozen by the caller during the G step).
        """
        h = self._trunk(x, y)
        return F.conv2d(h, self.head_weight.to(h.dtype)).flatten(1)

    def forward_with_features(self, x: torch.Tensor, y: torch.Tensor):
        """(logits, features) from one trunk pass."""
        h = self._trunk(x, y)
        return self.top(h).flatten(), F.conv2d(h, self.head_weight.to(h.dtype)).flatten(1)


__all__ = ["CondDiscriminator", "CondGenerator"]
