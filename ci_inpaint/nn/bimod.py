"""Bi-modulated convolution (ContrasFill, Li et al. 2022, Sec. 3.2 and Fig. 3).

Two codes k (known factor) and u (unknown factors) pass through two affine layers to scaling
vectors s = A_k(k), t = A_u(u), one entry per *input* channel, and modulate the kernel

    w'_ijk = s_i · t_i · w_ijk                    (Sec. 3.2; i input map, j output map, k tap)

followed by StyleGAN2's demodulation (Karras et al. 2020, Eq. 3) of the product,
w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps), and equalised learning rate (weights
drawn from N(0, 1) and scaled by 1/sqrt(fan_in) at run time). The affine biases start at 1, so
s·t ≈ 1 at initialisation (the paper is silent; StyleGAN2's choice for its one scale).

Two exact implementations (the pitfall list: NVlabs uses the grouped conv only at inference
and scales activations in training):

* ``"grouped"``: per-sample kernels, one ``conv2d`` with ``groups = batch``;
* ``"scale"``: scale the input activations by s·t, one shared conv, multiply the output by the
  per-sample demodulation coefficients (cheaper on CPU, same numbers up to rounding).

Injections for Table 3 (right) and the single-code baselines (``injection``):
``"bimod"`` (s·t, the paper), ``"concat"`` (one 2-layer MLP of [k, u] -> one scale; the
paper: "concatenate s with t and pass the result to fully-connected layers"), ``"k"`` / ``"u"``
(one code only: two such convs in a row make the "k-u" / "u-k" ablation), ``"single"`` (one
code z in the ``u`` slot, for CoModGAN-like and ContrasFill-1 generators) and ``"none"`` (a
plain demodulated conv: scale 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError

INJECTIONS = ("bimod", "concat", "k", "u", "single", "none")
IMPLS = ("grouped", "scale")
EPS = 1e-8  # StyleGAN2's demodulation epsilon


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: y = x (w·c)^T + b·lr_mul, c = lr_mul/sqrt(in)."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul = lr_mul / math.sqrt(in_dim), lr_mul

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class Modulation(nn.Module):
    """The per-input-channel scale of one conv from the codes, by ``injection``."""

    def __init__(self, channels: int, k_dim: int, u_dim: int, injection: str = "bimod"):
        super().__init__()
        if injection not in INJECTIONS:
            raise ConfigError(f"unknown injection {injection!r}: use one of {', '.join(INJECTIONS)}")
        self.injection, self.channels = injection, channels
        if injection in ("bimod", "k"):
            self.A_k = EqualLinear(k_dim, channels, bias_init=1.0)
        if injection in ("bimod", "u", "single"):
            self.A_u = EqualLinear(u_dim, channels, bias_init=1.0)
        if injection == "concat":
            self.A_c = nn.Sequential(EqualLinear(k_dim + u_dim, channels), nn.LeakyReLU(0.2),
                                     EqualLinear(channels, channels, bias_init=1.0))

    def forward(self, k: Tensor | None, u: Tensor | None, batch: int) -> Tensor:
        inj = self.injection
        if inj == "bimod":
            return self.A_k(k) * self.A_u(u)  # s_i · t_i
        if inj == "k":
            return self.A_k(k)
        if inj in ("u", "single"):
            return self.A_u(u)
        if inj == "concat":
            return self.A_c(torch.cat([k, u], 1))
        ref = k if k is not None else u
        return torch.ones(batch, self.channels, device=ref.device if ref is not None else None)


def modulated_conv2d(x: Tensor, weight: Tensor, style: Tensor, demodulate: bool = True,
                     padding: int = 0, impl: str = "grouped") -> Tensor:
    """conv2d of x (B, I, H, W) with weight (O, I, kh, kw) modulated per sample by style (B, I).

    ``impl="grouped"``: w' = w·style, demodulated, as B kernels in one grouped conv;
    ``impl="scale"``: conv(x·style, w) times the demodulation coefficients d (B, O),
    d_j = 1/sqrt(sum_i style_i^2 sum_k w_ijk^2 + eps). Both equal the naive per-sample loop.
    """
    b, i = style.shape
    o = weight.shape[0]
    if impl == "grouped":
        w = weight[None] * style[:, None, :, None, None]  # (B, O, I, kh, kw)
        if demodulate:
            w = w * torch.rsqrt(w.pow(2).sum((2, 3, 4), keepdim=True) + EPS)
        out = F.conv2d(x.reshape(1, b * i, *x.shape[2:]), w.reshape(b * o, i, *w.shape[3:]),
                       padding=padding, groups=b)
        return out.reshape(b, o, *out.shape[2:])
    if impl == "scale":
        out = F.conv2d(x * style[:, :, None, None], weight, padding=padding)
        if demodulate:
            d = torch.rsqrt(style.pow(2) @ weight.pow(2).sum((2, 3)).t() + EPS)  # (B, O)
            out = out * d[:, :, None, None]
        return out
    raise ConfigError(f"unknown modulated conv impl {impl!r}: use one of {', '.join(IMPLS)}")


class BiModulatedConv2d(nn.Module):
    """A (bi-)modulated, demodulated 3x3 (or k x k) conv with equalised lr, bias and activation.

    ``forward(x, k, u)``; ``up=True`` doubles the resolution first (bilinear; StyleGAN2 uses a
    transposed conv + FIR blur: we resize, a choice the paper leaves open), ``down=True`` halves
    it after the conv (2x2 average). ``activate``: bias + LeakyReLU(0.2)·sqrt(2) (StyleGAN2's
    gain). ``demodulate=False`` for toRGB layers.
    """

    def __init__(self, in_ch: int, out_ch: int, k_dim: int, u_dim: int, kernel: int = 3,
                 injection: str = "bimod", demodulate: bool = True, up: bool = False,
                 down: bool = False, activate: bool = True, impl: str = "scale"):
        super().__init__()
        if impl not in IMPLS:
            raise ConfigError(f"unknown modulated conv impl {impl!r}: use one of {', '.join(IMPLS)}")
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.scale = 1 / math.sqrt(in_ch * kernel * kernel)
        self.mod = Modulation(in_ch, k_dim, u_dim, injection)
        self.demodulate, self.up, self.down, self.activate = demodulate, up, down, activate
        self.padding, self.impl = kernel // 2, impl

    def forward(self, x: Tensor, k: Tensor | None = None, u: Tensor | None = None) -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        style = self.mod(k, u, x.shape[0])
        out = modulated_conv2d(x, self.weight * self.scale, style, self.demodulate,
                               self.padding, self.impl)
        out = out + self.bias[None, :, None, None]
        if self.activate:
            out = F.leaky_relu(out, 0.2) * math.sqrt(2)
        if self.down:
            out = F.avg_pool2d(out, 2)
        return out


class CodeConv(nn.Module):
    """One generator conv under an injection: a single conv, or for ``"k-u"`` / ``"u-k"`` two
    convs in a row, the first modulated by one code and the second by the other (Table 3
    right: "each code modulates a different set of convolution kernels ... applied
    sequentially"). up/down go to the first / last of the two."""

    def __init__(self, in_ch: int, out_ch: int, k_dim: int, u_dim: int, injection: str = "bimod",
                 up: bool = False, down: bool = False, impl: str = "scale", **kw):
        super().__init__()
        if injection in ("k-u", "u-k"):
            a, b = injection.split("-")
            self.convs = nn.ModuleList([
                BiModulatedConv2d(in_ch, out_ch, k_dim, u_dim, injection=a, up=up, impl=impl, **kw),
                BiModulatedConv2d(out_ch, out_ch, k_dim, u_dim, injection=b, down=down, impl=impl,
                                  **kw)])
        else:
            self.convs = nn.ModuleList([BiModulatedConv2d(in_ch, out_ch, k_dim, u_dim,
                                                          injection=injection, up=up, down=down,
                                                          impl=impl, **kw)])

    def forward(self, x: Tensor, k: Tensor | None, u: Tensor | None) -> Tensor:
        for conv in self.convs:
            x = conv(x, k, u)
        return x


__all__ = ["EPS", "IMPLS", "INJECTIONS", "BiModulatedConv2d", "CodeConv", "EqualLinear",
           "Modulation", "modulated_conv2d"]
