"""SCAT's one U-Net discriminator: the global D and the segmentation network S in one net.

A U-Net discriminator as described by Schonfeld et al. (CVPR 2020, U-Net GAN), reimplemented
from that paper (its code is AGPL: nothing is copied). Every conv and linear layer carries
spectral norm (SCAT: "spectral normalization on all S and D's layers").

* Encoder: ``n`` residual down blocks (BigGAN-style: ReLU, 3x3, ReLU, 3x3, 2x2 average pool;
  shortcut 1x1 + pool; no pre-activation on the first block, which sees the image), channels
  ``width * (1, 2, 4, 8, 8, 16)[:n]`` (the U-Net GAN 256 px table). ``n = log2(size) - 2``
  so the bottleneck is 4x4, at least 4 blocks (so 32 px ends at 2x2): any power-of-two side
  from 32 to 256 (the authors' table covers only 256, ``n = 6``).
* Global head (D): ReLU, sum over the bottleneck's pixels -> a C-vector (the "global
  features" the semantic loss projects), spectral-norm linear -> one logit.
* Decoder: ``n`` residual up blocks (x2 nearest upsample), each taking the concatenation of
  the previous output and the encoder feature of the same resolution (skip connection), back
  to the input size with ``width`` channels; per-pixel head (S): ReLU + 1x1 conv -> a logit
  map (B, 1, H, W).
* Shallow features: the outputs of the first four encoder blocks (the textural loss's levels).

Input: the RGB image only (S must find the hole from the pixels; it never sees the mask).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

MULTS = (1, 2, 4, 8, 8, 16)
SIZES = (32, 64, 128, 256)
N_SHALLOW = 4


def sn_conv(cin: int, cout: int, k: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(cin, cout, k, padding=k // 2))


def n_blocks(size: int) -> int:
    """Down (= up) blocks for a side of ``size``: the bottleneck is 4x4, at least 4 blocks."""
    if size not in SIZES:
        raise ValueError(f"the U-Net discriminator works at {SIZES} pixels, not {size}")
    return max(N_SHALLOW, int(math.log2(size)) - 2)


class ResBlock(nn.Module):
    """Residual block: [ReLU] 3x3 ReLU 3x3, then down (avg pool) or up (nearest, before)."""

    def __init__(self, cin: int, cout: int, resample: str, preact: bool = True):
        super().__init__()
        self.resample, self.preact = resample, preact
        self.c1, self.c2 = sn_conv(cin, cout, 3), sn_conv(cout, cout, 3)
        self.skip = sn_conv(cin, cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        if self.resample == "up":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.c2(F.relu(self.c1(F.relu(x) if self.preact else x)))
        s = self.skip(x)
        if self.resample == "down":
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


@dataclass
class DOutput:
    logit: Tensor | None  # (B,) global real/fake logit
    pixel: Tensor | None  # (B, 1, H, W) per-pixel logit map (S), None if not decoded
    shallow: list[Tensor]  # the first four encoder features
    global_feat: Tensor  # (B, C) sum-pooled ReLU bottleneck


class UNetDiscriminator(nn.Module):
    def __init__(self, size: int = 256, width: int = 64):
        super().__init__()
        n = n_blocks(size)
        chans = [width * m for m in MULTS[:n]]
        self.size, self.n = size, n
        self.down = nn.ModuleList(
            ResBlock(3 if i == 0 else chans[i - 1], chans[i], "down", preact=i > 0)
            for i in range(n))
        # up block i goes from level n-1-i to n-2-i; its input joins the skip of that level
        ups, cin = [], chans[-1]
        for i in range(n):
            level = n - 2 - i  # encoder level whose resolution this block outputs (-1: input)
            cout = chans[level] if level >= 0 else width
            ups.append(ResBlock(cin, cout, "up"))
            cin = 2 * cout if level >= 0 else cout
        self.up = nn.ModuleList(ups)
        self.linear = spectral_norm(nn.Linear(chans[-1], 1))
        self.pixel_head = sn_conv(width, 1, 1)
        self.feat_dim = chans[-1]

    def encode(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        """All encoder features (first = highest resolution) and the global features."""
        feats, h = [], x
        for block in self.down:
            h = block(h)
            feats.append(h)
        return feats, F.relu(h).sum((2, 3))

    def decode(self, feats: list[Tensor]) -> Tensor:
        h = feats[-1]
        for i, block in enumerate(self.up):
            h = block(h)
            level = self.n - 2 - i
            if level >= 0:
                h = torch.cat([h, feats[level]], 1)
        return self.pixel_head(F.relu(h))

    def forward(self, x: Tensor, pixel: bool = True, logit: bool = True) -> DOutput:
        """``pixel=False`` skips the decoder (only the encoder's outputs are needed)."""
        feats, g = self.encode(x)
        return DOutput(self.linear(g).squeeze(1) if logit else None,
                       self.decode(feats) if pixel else None, feats[:N_SHALLOW], g)


class ProjectionMLP(nn.Module):
    """The semantic loss's projection of D's global features: C -> 256 -> ReLU -> 256."""

    def __init__(self, cin: int, dim: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(cin, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


__all__ = ["DOutput", "MULTS", "N_SHALLOW", "ProjectionMLP", "ResBlock", "SIZES",
           "UNetDiscriminator", "n_blocks"]
