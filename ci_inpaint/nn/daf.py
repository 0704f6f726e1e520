"""Networks of the contrastive attention network (Ma et al. 2020): encoder, DAF, multi-scale decoder.

The paper gives no layer table (and no code exists); the choices, stated:

* Input x_q = [x * (1 - mask), mask] (4 channels, holes zero, 1 = hole): the "input image
  with a mask" of Eq. 6 and of both encoders.
* :class:`Encoder` (E_q / E_k, Sec. III-A): ``depth`` stride-2 blocks (4x4 conv, InstanceNorm,
  LeakyReLU 0.2), widths ``width * 2^i`` capped at ``8 * width`` (DFNet-like, the closest public
  fusion network). At 256 px the paper-size default is width 64, depth 7 (bottleneck 2x2).
  **BatchNorm**: none. MoCo's shuffle-BN exists to stop batch statistics leaking between a
  query and its key; it needs several processes. We use per-sample InstanceNorm instead, which
  leaks nothing across samples, has no running buffers (so E_k in eval mode, as the engine keeps
  frozen modules, computes exactly what it would in train mode) and needs one process only.
  The bottleneck block has no normalisation: InstanceNorm there would zero each channel's
  spatial mean, so the global average pool of the head would see only its affine bias (the
  same z for every image).
* :class:`ProjectionHead` (stage 1 only): global average pool of the bottleneck, then one linear
  layer to ``dim`` = 128 (MoCo v1's fc); dropped in stage 2, where only the conv encoder moves on.
* :class:`DAF` (Sec. III-B, Eq. 3-8), see its docstring.
* :class:`MultiScaleDecoder`: ``depth`` blocks (nearest x2 upsampling, concat with the encoder
  feature of that scale -- U-Net skips as in DFNet -- 3x3 conv, LeakyReLU; **no normalisation**:
  an InstanceNorm there sets every channel's per-image mean and spread to learned constants,
  so the 1x1 RGB heads could not give each image its own colour and contrast -- the no-DAF
  fills came out 3x worse than painting the hole with the mean colour; stage 2 has no MoCo
  key to leak to, and BatchNorm, DFNet's choice, would couple the samples of a batch); the
  ``n_out`` outermost blocks each give an image (Fig. 6). Layer k = 1 is the outermost (full
  resolution, Eq. 14), layer k at H / 2^(k-1). With ``daf=True`` each of them ends in a DAF and
  outputs Y_hat^k of Eq. 8; ``daf=False`` (Table II's "no DAF" rows) outputs W_D F (a 1x1 conv to
  RGB) instead. The feature path continues with F_hat (the channel-attended feature); Y_hat^k
  is a side output. No tanh: Eq. 8 is a convex blend, used as is (clamped only for display).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def masked_input(x: Tensor, mask: Tensor) -> Tensor:
    """x_q = [x * (1 - mask), mask] (B, 4, H, W); mask 1 = hole."""
    return torch.cat([x * (1 - mask), mask], 1)


def _widths(width: int, depth: int) -> list[int]:
    return [min(width * 2**i, 8 * width) for i in range(depth)]


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class Encoder(nn.Module):
    """E_q / E_k: ``forward(x_q) -> [e_1 .. e_depth]``, e_i at H / 2^i (the last: the bottleneck)."""

    def __init__(self, width: int = 64, depth: int = 7, in_ch: int = 4):
        super().__init__()
        chans = [in_ch] + _widths(width, depth)
        last = len(chans) - 2
        self.blocks = nn.ModuleList(  # the bottleneck block: no norm (see the module docstring)
            nn.Sequential(nn.Conv2d(a, b, 4, 2, 1),
                          nn.InstanceNorm2d(b, affine=True) if i < last else nn.Identity(), _act())
            for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])))
        self.channels = chans[1:]

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class ProjectionHead(nn.Module):
    """Stage 1: z = W · GAP(e_depth) (MoCo v1's fc after the pool), not normalised here
    (the InfoNCE core L2-normalises)."""

    def __init__(self, channels: int, dim: int = 128):
        super().__init__()
        self.fc = nn.Linear(channels, dim)

    def forward(self, bottleneck: Tensor) -> Tensor:
        return self.fc(bottleneck.mean((2, 3)))


class SiameseBranch(nn.Module):
    """One branch of the Siamese inference network: z = head(E(x_q)) (E_q or E_k of Fig. 2)."""

    def __init__(self, width: int, depth: int, dim: int = 128):
        super().__init__()
        self.encoder = Encoder(width, depth)
        self.head = ProjectionHead(self.encoder.channels[-1], dim)

    def forward(self, x_q: Tensor) -> Tensor:
        return self.head(self.encoder(x_q)[-1])


class DAF(nn.Module):
    """Dual attention fusion (Eq. 3-8): ``forward(F, x_q) -> (Y_hat, F_hat, alpha)``.

    * channel attention (Eq. 3-5): z = GAP(F); omega = sigmoid(W_U relu(W_D z)) with 1x1 convs
      C -> C/r -> C (``se_down``, ``se_up``; r = ``reduction``, 16 as SE-Net / RCAN [35, 43],
      at least one channel); F_hat = omega * F.
    * x'_q = (W_C x_q) down (Eq. 6): a 1x1 conv 4 -> 3 on the masked input, then area
      (average) down-sampling to F's size (both linear, so the order does not matter).
    * alpha = sigmoid(A([W_D F_hat, x'_q])) (Eq. 7): ``to_rgb`` = the 1x1 W_D of Eq. 7 (C -> 3,
      the channels of x'_q); A = three 3x3 convs 6 -> ``hidden`` -> ``hidden`` -> 3 with ReLU
      between (the paper names only "three 3x3 convolutional layers"; ``hidden`` = 16).
    * Y_hat = alpha * W_D F_hat + (1 - alpha) * x'_q (Eq. 8).
    """

    def __init__(self, channels: int, in_ch: int = 4, out_ch: int = 3, reduction: int = 16,
                 hidden: int = 16):
        super().__init__()
        mid = max(1, channels // reduction)
        self.se_down = nn.Conv2d(channels, mid, 1)
        self.se_up = nn.Conv2d(mid, channels, 1)
        self.w_c = nn.Conv2d(in_ch, out_ch, 1)
        self.to_rgb = nn.Conv2d(channels, out_ch, 1)
        self.A = nn.Sequential(nn.Conv2d(2 * out_ch, hidden, 3, 1, 1), nn.ReLU(),
                               nn.Conv2d(hidden, hidden, 3, 1, 1), nn.ReLU(),
                               nn.Conv2d(hidden, out_ch, 3, 1, 1))

    def channel_attention(self, f: Tensor) -> tuple[Tensor, Tensor]:
        """(F_hat, omega): Eq. 3-5."""
        omega = torch.sigmoid(self.se_up(F.relu(self.se_down(f.mean((2, 3), keepdim=True)))))
        return omega * f, omega

    def forward(self, f: Tensor, x_q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f_hat, _ = self.channel_attention(f)
        xq = F.adaptive_avg_pool2d(self.w_c(x_q), f.shape[-2:])
        y = self.to_rgb(f_hat)
        alpha = torch.sigmoid(self.A(torch.cat([y, xq], 1)))
        return alpha * y + (1 - alpha) * xq, f_hat, alpha


class MultiScaleDecoder(nn.Module):
    """``forward(feats, x_q) -> [Y_hat^1 (H), Y_hat^2 (H/2), ..., Y_hat^n_out]`` (outermost first)."""

    def __init__(self, enc_channels: list[int], n_out: int = 6, daf: bool = True, in_ch: int = 4,
                 reduction: int = 16):
        super().__init__()
        depth = len(enc_channels)
        if not 1 <= n_out <= depth:
            raise ValueError(f"n_out must be in [1, depth = {depth}], got {n_out}")
        self.depth, self.n_out, self.use_daf = depth, n_out, daf
        # decoder layer k (k = depth .. 1, innermost first) maps to H / 2^(k-1); its skip is
        # e_{k-1} (e_0 = the input x_q), its input the previous layer (or the bottleneck e_depth)
        skips = [in_ch] + enc_channels[:-1]  # channels of e_0 .. e_{depth-1}
        outs = [max(enc_channels[0] // 2, 8)] + enc_channels[:-1]  # out width of layer k = 1..depth
        blocks, heads = {}, {}
        prev = enc_channels[-1]
        for k in range(depth, 0, -1):
            c = outs[k - 1]
            # no normalisation: see the module docstring (InstanceNorm here erased each
            # image's colour and contrast before the RGB heads)
            blocks[str(k)] = nn.Sequential(nn.Conv2d(prev + skips[k - 1], c, 3, 1, 1), _act())
            if k <= n_out:
                heads[str(k)] = (DAF(c, in_ch, reduction=reduction) if daf
                                 else nn.Conv2d(c, 3, 1))
            prev = c
        self.blocks, self.heads = nn.ModuleDict(blocks), nn.ModuleDict(heads)

    def forward(self, feats: list[Tensor], x_q: Tensor, with_alpha: bool = False):
        skips = [x_q] + feats[:-1]
        h, outs, alphas = feats[-1], {}, {}
        for k in range(self.depth, 0, -1):
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = self.blocks[str(k)](torch.cat([h, skips[k - 1]], 1))
            if str(k) in self.heads:
                if self.use_daf:
                    outs[k], h, alphas[k] = self.heads[str(k)](h, x_q)
                else:
                    outs[k] = self.heads[str(k)](h)
        ys = [outs[k] for k in range(1, self.n_out + 1)]
        return (ys, [alphas.get(k) for k in range(1, self.n_out + 1)]) if with_alpha else ys


class DAFGenerator(nn.Module):
    """Encoder (E_q, initialised from stage 1) + multi-scale decoder:
    ``forward(x, mask) -> [Y_hat^1 .. Y_hat^n_out]`` (outermost first, Y_hat^1 full size)."""

    def __init__(self, width: int = 64, depth: int = 7, n_out: int = 6, daf: bool = True,
                 reduction: int = 16):
        super().__init__()
        self.encoder = Encoder(width, depth)
        self.decoder = MultiScaleDecoder(self.encoder.channels, n_out, daf, reduction=reduction)

    def forward(self, x: Tensor, mask: Tensor, with_alpha: bool = False):
        x_q = masked_input(x, mask)
        return self.decoder(self.encoder(x_q), x_q, with_alpha)


class Critic(nn.Module):
    """WGAN-GP critic (Eq. 13), fully convolutional so one critic scores every scale of Q:
    ``n_down`` stride-2 4x4 convs (no normalisation: the gradient penalty forbids batch
    statistics; LeakyReLU 0.2), a 3x3 conv to one channel, mean over positions -> (B,)."""

    def __init__(self, width: int = 64, n_down: int = 3):
        super().__init__()
        layers, c_in = [], 3
        for c in _widths(width, n_down):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), _act()]
            c_in = c
        self.net = nn.Sequential(*layers, nn.Conv2d(c_in, 1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).mean((1, 2, 3))


__all__ = ["DAF", "Critic", "DAFGenerator", "Encoder", "MultiScaleDecoder", "ProjectionHead",
           "SiameseBranch", "masked_input"]
