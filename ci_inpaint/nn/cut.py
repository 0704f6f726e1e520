"""CUT's networks (Park et al., ECCV 2020, Sec. 3 and Appendix C.1): the ResNet generator, the
PatchGAN discriminator, the per-layer MLP projection heads and the shared patch sampler.

* :class:`ResnetGenerator` -- reflect-pad 7x7 conv (ngf), two stride-2 3x3 convs (2ngf, 4ngf),
  ``n_blocks`` residual blocks (9 at 256 px), two transposed convs, 7x7 conv, tanh; instance
  norm. ``encode(x, layers)`` returns the features of the NCE layers, named as the paper:
  ``rgb`` (the reflect-padded input pixels: CUT's layer 0), ``down1`` / ``down2`` (the outputs
  of the two down-sampling convs), ``block<i>`` (the output of residual block i, from 1).
  CUT's default ``0,4,8,12,16`` = ``rgb, down1, down2, block1, block5``.
  Choice: plain stride-2 convs (CUT's ``--no_antialias``); CUT's default blurs after a
  stride-1 conv (anti-aliased down-sampling), which changes its layer indices, not the layers.
* :class:`PatchDiscriminator` -- the 70x70 PatchGAN (``n_layers`` = 3): 4x4 convs 64-128-256
  stride 2, 512 stride 1, 1-channel map; LeakyReLU 0.2, instance norm (CUT's ``normD``).
* :class:`PatchSampleMLP` -- per layer, ``num_patches`` positions drawn by ``randperm`` of the
  H x W grid (all positions when fewer), the same positions for every image of the batch and for
  q and k (CUT's ``PatchSampleF``); an MLP C -> nc -> nc (ReLU) and L2 norm per layer. Built
  eagerly from the known channel counts (CUT builds it lazily on the first forward, so its
  optimiser is created late: a pitfall we avoid).

Init: xavier-normal with gain 0.02, biases 0 (CUT's ``--init_type xavier --init_gain 0.02``).
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError

CUT_LAYERS = ("rgb", "down1", "down2", "block1", "block5")


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def _norm(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=False)


class ResnetBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c))

    def forward(self, x):
        return x + self.body(x)


def parse_layers(layers, n_blocks: int, n_down: int = 2) -> tuple[str, ...]:
    """Layer names from ``"rgb,down1,down2,block1,block5"`` (or a sequence); checked against
    the generator's depth (``down2`` exists only with two down-samplings)."""
    names = tuple(s.strip() for s in (layers.split(",") if isinstance(layers, str) else layers)
                  if s.strip())
    for n in names:
        m = re.fullmatch(r"block(\d+)", n)
        downs = ("rgb", "down1", "down2")[:1 + max(n_down, 1)]
        if n not in downs and not (m and 1 <= int(m.group(1)) <= n_blocks):
            raise ConfigError(f"NCE layer {n!r} does not exist in a generator with {n_down} "
                              f"down-sampling(s) and {n_blocks} residual blocks: use "
                              f"{', '.join(downs)} or block1..block{n_blocks}")
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"nce_layers {layers!r}: give distinct layer names, e.g. "
                          f"{','.join(CUT_LAYERS)}")
    return names


class ResnetGenerator(nn.Module):
    """``n_down`` stride-2 convs (CUT: 2); the blocks work at 1 / 2**n_down of the image side.
    One down-sampling is our choice for 32 px images: after two, a 9 px object covers about two
    cells of the 8 x 8 grid and the decoder, which has no skip connections, cannot redraw its
    silhouette. ``n_down=0`` (also ours) keeps the full grid: ``down1`` is then a stride-1 conv
    (same name, so the NCE layers stay valid), the blocks work at 2 ngf channels on the image
    grid and no transposed conv blurs the 1-2 px edges of a small object."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, n_blocks: int = 9,
                 n_down: int = 2):
        super().__init__()
        if n_down not in (0, 1, 2):
            raise ConfigError(f"n_down={n_down}: the generator down-samples 0, 1 or 2 times")
        self.ngf, self.n_blocks, self.n_down = ngf, n_blocks, n_down
        c_mid = ngf * 2 ** max(n_down, 1)
        self.pad = nn.ReflectionPad2d(3)
        self.stem = nn.Sequential(nn.Conv2d(in_ch, ngf, 7), _norm(ngf), nn.ReLU(True))
        self.down1 = nn.Conv2d(ngf, 2 * ngf, 3, stride=2 if n_down else 1, padding=1)
        self.act1 = nn.Sequential(_norm(2 * ngf), nn.ReLU(True))
        if n_down == 2:
            self.down2 = nn.Conv2d(2 * ngf, 4 * ngf, 3, stride=2, padding=1)
            self.act2 = nn.Sequential(_norm(4 * ngf), nn.ReLU(True))
        self.blocks = nn.ModuleList(ResnetBlock(c_mid) for _ in range(n_blocks))
        up = []
        for c in (4 * ngf, 2 * ngf)[2 - n_down:]:  # none at n_down=0
            up += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                   _norm(c // 2), nn.ReLU(True)]
        c_out = ngf if n_down else 2 * ngf
        self.up = nn.Sequential(*up, nn.ReflectionPad2d(3), nn.Conv2d(c_out, out_ch, 7), nn.Tanh())
        init_weights(self)

    def channels(self, name: str) -> int:
        return {"rgb": self.stem[0].in_channels, "down1": 2 * self.ngf,
                "down2": 4 * self.ngf}.get(name, self.ngf * 2 ** max(self.n_down, 1))

    def _run(self, x, layers: tuple[str, ...] = ()):
        """The output (or, with ``layers``, only the features up to the deepest one needed)."""
        feats = {}
        h = self.pad(x)
        feats["rgb"] = h
        h = self.down1(self.stem(h))
        feats["down1"] = h
        h = self.act1(h)
        if self.n_down == 2:
            h = self.down2(h)
            feats["down2"] = h
            h = self.act2(h)
        deepest = max([int(n[5:]) for n in layers if n.startswith("block")], default=0)
        for i, block in enumerate(self.blocks, 1):
            if layers and i > deepest:
                break
            h = block(h)
            feats[f"block{i}"] = h
        return [feats[n] for n in layers] if layers else self.up(h)

    def forward(self, x):
        return self._run(x)

    def encode(self, x, layers) -> list[torch.Tensor]:
        """Features of ``layers`` (names, see the module) for input x; stops at the deepest."""
        return self._run(x, tuple(layers))


class PatchDiscriminator(nn.Module):
    def __init__(self, in_ch: int = 3, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        seq = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for n in range(1, n_layers + 1):
            c_next = ndf * min(2 ** n, 8)
            seq += [nn.Conv2d(c, c_next, 4, 2 if n < n_layers else 1, 1), _norm(c_next),
                    nn.LeakyReLU(0.2, True)]
            c = c_next
        seq.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)
        init_weights(self)

    def forward(self, x):
        return self.net(x)


class PatchSampleMLP(nn.Module):
    """CUT's PatchSampleF: sample positions, project with one MLP per layer, L2-normalise."""

    def __init__(self, channels: list[int], nc: int = 256):
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(c, nc), nn.ReLU(True), nn.Linear(nc, nc))
                                  for c in channels)
        init_weights(self)

    @staticmethod
    def sample_ids(feats: list[torch.Tensor], num_patches: int) -> list[torch.Tensor]:
        """Per layer, min(num_patches, H W) distinct flat positions (torch RNG, on device)."""
        return [torch.randperm(f.shape[2] * f.shape[3], device=f.device)[:num_patches]
                for f in feats]

    def forward(self, feats: list[torch.Tensor], ids: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per layer (B, P, nc) unit vectors at positions ``ids``."""
        out = []
        for f, idx, mlp in zip(feats, ids, self.mlps):
            x = f.flatten(2).transpose(1, 2)[:, idx]  # (B, P, C)
            out.append(F.normalize(mlp(x), dim=-1))
        return out


__all__ = ["CUT_LAYERS", "PatchDiscriminator", "PatchSampleMLP", "ResnetBlock", "ResnetGenerator",
           "init_weights", "parse_layers"]
