"""ContrasFill's networks: generator G(k, u, I), discriminator D and the unknown encoder E_u.

The paper's supplement (architecture) is not available, so every size here is our choice:

* **Generator** (Sec. 3.2, "an encoder-decoder architecture", "bi-modulation ... for all
  convolutions in our model"): input = masked image and mask (4 channels). Encoder: a 1x1
  fromRGB, then one 3x3 conv + 2x2 average pool per level down to 4x4, each output kept as a
  skip. Decoder: per level a 3x3 conv after 2x bilinear upsampling, the encoder's skip of that
  resolution added (a U-Net, as CoModGAN), a second 3x3 conv and a 1x1 toRGB (not
  demodulated) whose outputs are summed over levels after upsampling (StyleGAN2's "skip"
  generator). Every conv, encoder included, is a :class:`~ci_inpaint.nn.bimod.CodeConv`
  under the variant's injection. Channels: ``min(channel_max, width * resolution / r)`` at
  resolution r. No per-pixel noise inputs: all diversity has to come from the codes. The
  output is composited with the known pixels by the caller.
* **CoModGAN-like** (``global_code=True``): the encoder is plain (injection ``none``) and its
  4x4 output gives a global code g (flatten + linear); every decoder conv is modulated by
  [z, g] (CoModGAN's co-modulation, Zhao et al. 2021), one code z ~ N(0, I).
* **Discriminator**: StyleGAN2's residual D on the composite image and the mask (4 channels):
  fromRGB, residual blocks down to 4x4 (two 3x3 convs, 1x1 skip, both halved, sum / sqrt 2),
  minibatch standard deviation (group 4), 3x3 conv, two linear layers; equalised lr.
* **E_u**: a plain conv net trained from scratch (3x3 convs stride 2 with LeakyReLU down to
  4x4, linear to ``feat_dim``); with ``out_dim`` it also regresses the code (reprediction).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .bimod import CodeConv, EqualLinear


def channels(res: int, resolution: int, width: int, channel_max: int) -> int:
    return int(min(channel_max, width * resolution // res))


def levels(resolution: int, bottom: int = 4) -> list[int]:
    """Resolutions from ``resolution`` down to ``bottom`` (powers of two)."""
    if resolution < bottom or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= {bottom}, got {resolution}")
    out, r = [], resolution
    while r >= bottom:
        out.append(r)
        r //= 2
    return out


class EqualConv2d(nn.Module):
    """Plain conv with equalised learning rate (weights N(0, 1) scaled by 1/sqrt(fan_in))."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale, self.padding = 1 / math.sqrt(in_ch * kernel * kernel), kernel // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


class ContrasFillGenerator(nn.Module):
    """``forward(image, mask, k, u) -> (B, 3, H, W)`` raw output (composite it with the known
    pixels). ``image`` in [-1, 1] (hole pixels are zeroed here), ``mask`` 1 = hole.
    ``injection``: bimod | concat | k-u | u-k | single (one code in ``u``, ``k`` ignored);
    ``global_code``: CoModGAN-like co-modulation of the single code with the encoder's g."""

    def __init__(self, resolution: int = 32, k_dim: int = 8, u_dim: int = 16, width: int = 16,
                 channel_max: int = 256, injection: str = "bimod", global_code: bool = False,
                 g_dim: int = 64, impl: str = "scale"):
        super().__init__()
        self.resolution, self.k_dim, self.u_dim = resolution, k_dim, u_dim
        self.injection, self.global_code = injection, global_code
        ch = {r: channels(r, resolution, width, channel_max) for r in levels(resolution)}
        self.res = levels(resolution)
        dec_u = u_dim + (g_dim if global_code else 0)
        enc_inj = "none" if global_code else injection

        def conv(i, o, inj, u_d, **kw):
            return CodeConv(i, o, k_dim, u_d, injection=inj, impl=impl, **kw)

        self.from_rgb = conv(4, ch[resolution], enc_inj, u_dim, kernel=1)
        self.enc = nn.ModuleList([conv(ch[r], ch[r // 2], enc_inj, u_dim, down=True)
                                  for r in self.res[:-1]])
        self.bottom = conv(ch[4], ch[4], enc_inj, u_dim)
        if global_code:
            self.to_global = EqualLinear(ch[4] * 16, g_dim)
        up = list(reversed(self.res))  # 4, 8, ..., resolution
        self.dec_up = nn.ModuleList([conv(ch[r // 2], ch[r], injection, dec_u, up=True)
                                     for r in up[1:]])
        self.dec = nn.ModuleList([conv(ch[r], ch[r], injection, dec_u) for r in up])
        self.to_rgb = nn.ModuleList([conv(ch[r], 3, injection, dec_u, kernel=1, demodulate=False,
                                          activate=False) for r in up])

    def forward(self, image: Tensor, mask: Tensor, k: Tensor | None, u: Tensor) -> Tensor:
        x = torch.cat([image * (1 - mask), mask], 1)
        enc_u = u
        h = self.from_rgb(x, k, enc_u)
        skips = {self.resolution: h}
        for conv in self.enc:
            h = conv(h, k, enc_u)
            skips[h.shape[-1]] = h
        h = self.bottom(h, k, enc_u)
        if self.global_code:
            g = lrelu(self.to_global(h.flatten(1)))
            u = torch.cat([u, g], 1)
        h = self.dec[0](h, k, u)
        rgb = self.to_rgb[0](h, k, u)
        for up, conv, to_rgb in zip(self.dec_up, self.dec[1:], self.to_rgb[1:]):
            h = up(h, k, u) + skips[h.shape[-1] * 2]
            h = conv(h, k, u)
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False)
            rgb = rgb + to_rgb(h, k, u)
        return rgb


class ResBlockD(nn.Module):
    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1, self.conv2 = EqualConv2d(in_ch, in_ch, 3), EqualConv2d(in_ch, out_ch, 3)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        h = F.avg_pool2d(lrelu(self.conv2(lrelu(self.conv1(x)))), 2)
        return (h + F.avg_pool2d(self.skip(x), 2)) / math.sqrt(2)


def minibatch_std(x: Tensor, group: int = 4) -> Tensor:
    """StyleGAN's minibatch standard deviation as one extra feature map (group size <= 4)."""
    b, c, h, w = x.shape
    g = math.gcd(min(group, b), b)
    y = x.reshape(g, -1, c, h, w)
    y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean((1, 2, 3))  # (B / g,)
    y = y.repeat(g).reshape(b, 1, 1, 1).expand(b, 1, h, w)
    return torch.cat([x, y], 1)


class ContrasFillDiscriminator(nn.Module):
    """StyleGAN2 residual D on [composite image, mask]: ``forward(image, mask) -> (B,) logits``."""

    def __init__(self, resolution: int = 32, width: int = 16, channel_max: int = 256):
        super().__init__()
        res = levels(resolution)
        ch = {r: channels(r, resolution, width, channel_max) for r in res}
        self.from_rgb = EqualConv2d(4, ch[resolution], 1)
        self.blocks = nn.Sequential(*[ResBlockD(ch[r], ch[r // 2]) for r in res[:-1]])
        self.conv = EqualConv2d(ch[4] + 1, ch[4], 3)
        self.fc = EqualLinear(ch[4] * 16, ch[4])
        self.out = EqualLinear(ch[4], 1)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        h = self.blocks(lrelu(self.from_rgb(torch.cat([image, mask], 1))))
        h = lrelu(self.conv(minibatch_std(h)))
        return self.out(lrelu(self.fc(h.flatten(1)))).flatten()


class UnknownEncoder(nn.Module):
    """E_u: 3x3 convs with stride 2 (width doubling, capped) down to 4x4, linear to
    ``feat_dim`` (``forward``); ``repredict(x)`` regresses the ``out_dim``-dim code from it."""

    def __init__(self, resolution: int = 32, width: int = 16, feat_dim: int = 128,
                 channel_max: int = 256, out_dim: int = 0):
        super().__init__()
        layers, c, r = [], 3, resolution
        w = width
        while r > 4:
            layers += [nn.Conv2d(c, w, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c, w, r = w, min(channel_max, w * 2), r // 2
        self.trunk = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * 16, feat_dim))
        self.head = nn.Linear(feat_dim, out_dim) if out_dim else None

    def forward(self, x: Tensor) -> Tensor:
        return self.trunk(x)

    def repredict(self, x: Tensor) -> Tensor:
        return self.head(F.leaky_relu(self.trunk(x), 0.2))


__all__ = ["ContrasFillDiscriminator", "ContrasFillGenerator", "EqualConv2d", "UnknownEncoder",
           "channels", "levels", "minibatch_std"]
