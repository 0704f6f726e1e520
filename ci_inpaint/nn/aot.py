"""The AOT-GAN inpainting generator (Zeng et al., TVCG 2022) that SCAT builds on.

Layout (paper size, ``width=64, blocks=8``): reflect-pad 3 + 7x7 conv (4 -> 64), two strided
4x4 convs (-> 128 -> 256, each halving the side), ``blocks`` AOT blocks at 1/4 resolution,
two (x2 upsample + 3x3 conv) stages back (-> 128 -> 64), a 3x3 conv to RGB and tanh.

AOT block (aggregated contextual transformations): four 3x3 branches with dilation rates
1, 2, 4, 8 (reflect padding = rate), each dim -> dim/4 with ReLU, concatenated and fused by a
3x3 conv; a 3x3 gate conv g(x) is normalised per sample and channel over space,
``5 (2 (g - mean) / std - 1)`` (the gate normalisation of the AOT-GAN / SCAT code; it keeps
the sigmoid out of saturation), and the block returns ``x (1 - sigma) + fused sigma``.

Input: the corrupted image x * (1 - hole) + fill * hole in [-1, 1] (``fill`` 0: the paper's
x ⊙ m; 1: white holes, as AOT-GAN's trainer) and the hole mask (1 = hole, the repository's
convention; SCAT's m is 1 = valid, i.e. ``1 - hole``), concatenated -> 4 channels.
Upsampling: ``nearest`` (SCAT's code, the default) or ``bilinear`` (AOT-GAN's code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

UPSAMPLE = ("nearest", "bilinear")
RATES = (1, 2, 4, 8)


def gate_norm(g: Tensor) -> Tensor:
    """Per-sample, per-channel spatial standardisation of the gate, scaled: 5 (2 z - 1)."""
    mean = g.mean((2, 3), keepdim=True)
    std = g.std((2, 3), keepdim=True) + 1e-9
    return 5 * (2 * (g - mean) / std - 1)


class AOTBlock(nn.Module):
    def __init__(self, dim: int, rates: tuple[int, ...] = RATES):
        super().__init__()
        if dim % len(rates):
            raise ValueError(f"AOT block width {dim} must be divisible by {len(rates)} branches")
        self.branches = nn.ModuleList(
            nn.Sequential(nn.ReflectionPad2d(r), nn.Conv2d(dim, dim // len(rates), 3, dilation=r),
                          nn.ReLU(inplace=True)) for r in rates)
        self.fuse = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3))
        self.gate = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3))

    def forward(self, x: Tensor) -> Tensor:
        out = self.fuse(torch.cat([b(x) for b in self.branches], 1))
        sigma = torch.sigmoid(gate_norm(self.gate(x)))
        return x * (1 - sigma) + out * sigma


class UpConv(nn.Module):
    def __init__(self, cin: int, cout: int, mode: str):
        super().__init__()
        self.mode = mode
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        kw = {"align_corners": True} if self.mode == "bilinear" else {}
        return self.conv(F.interpolate(x, scale_factor=2, mode=self.mode, **kw))


class AOTGenerator(nn.Module):
    """G(x * (1 - hole), hole) -> x_hat in [-1, 1]; side divisible by 4."""

    def __init__(self, width: int = 64, blocks: int = 8, upsample: str = "nearest",
                 rates: tuple[int, ...] = RATES, fill: float = 0.0):
        super().__init__()
        self.fill = float(fill)
        if upsample not in UPSAMPLE:
            raise ValueError(f"upsample must be one of {UPSAMPLE}, not {upsample!r}")
        w = width
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(4, w, 7), nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 4 * w, 4, stride=2, padding=1), nn.ReLU(inplace=True))
        self.middle = nn.Sequential(*[AOTBlock(4 * w, rates) for _ in range(blocks)])
        self.decoder = nn.Sequential(
            UpConv(4 * w, 2 * w, upsample), nn.ReLU(inplace=True),
            UpConv(2 * w, w, upsample), nn.ReLU(inplace=True),
            nn.Conv2d(w, 3, 3, padding=1))

    def forward(self, image: Tensor, hole: Tensor) -> Tensor:
        """``image`` (B, 3, H, W) in [-1, 1] (its hole pixels are replaced by ``fill`` here),
        ``hole`` (B, 1, H, W), 1 = hole."""
        x = torch.cat([image * (1 - hole) + self.fill * hole, hole], 1)
        return torch.tanh(self.decoder(self.middle(self.encoder(x))))


__all__ = ["AOTBlock", "AOTGenerator", "RATES", "UPSAMPLE", "UpConv", "gate_norm"]
