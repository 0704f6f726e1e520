"""DivCo in the paired image-to-image setting (Liu et al., CVPR 2021, Sec. 4.1, Table 1).

A BicycleGAN-style generator G(A, z) (:class:`~ci_inpaint.nn.paired.ZUNet`: U-Net, z = 8 on
every decoder level) and a conditional PatchGAN D(A, B), trained on the colouring book of
:mod:`ci_inpaint.data.paired` (A: a grey page with the object's outline; B: the coloured
image; the object's colour is free). G's loss is GAN + lambda_l1 * |G(A, z) - B| (pix2pix's
objective with a code), plus one ``regularizer``:

* ``none`` -- nothing: pix2pix with noise. The L1 term pulls every sample of one page towards
  the same (median) colour whatever z is: conditional mode collapse, the problem DivCo
  addresses;
* ``mode_seeking`` -- MSGAN's ``lambda_ms / (mean|G(A,z2) - G(A,z1)| / mean|z2 - z1| + eps)``;
* ``divco`` -- ``lambda_contra * L_contra`` (Eq. 2-3): query, positive z + U[-R, R] and N
  negatives (every coordinate farther than R) in one G pass, encoded by E = G's encoding
  layers (``G.encode``, "E shares weights with the encoding layers of G", Fig. 3: the last
  encoder map, flattened), R = 0.01 (the paper's image-to-image value), N = 10, tau = 1
  (``quick``: 0.1, see PROFILES).

Where this differs from Table 1's baseline: BicycleGAN also has a cVAE branch (z = E(B), which
gives its codes meaning) and a latent-regression term; DivCo's paper removes the regression
and keeps the cVAE branch. We remove both, so that the baseline is the collapsed case the
paper's introduction describes (its diversity is near zero, where Table 1's BicycleGAN has
LPIPS 0.24) and the regulariser alone has to make z matter.

Balance: every ``log_every``-th step G also logs ``gratio_<term>`` = ||grad_G term|| /
||grad_G g_adv|| for the L1 term and the regulariser (:func:`grad_norm_ratios`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import TrainConfig, knob
from ..data.paired import ColouringShapes
from ..losses.divco import divco_regularizer, grad_norm_ratios, mode_seeking_loss
from ..nn.paired import PatchD, ZUNet, bce
from . import Method, register
from .common import frozen

REGULARIZERS = ("none", "mode_seeking", "divco")


@dataclass
class DivCoPairedConfig(TrainConfig):
    regularizer: str = knob("divco", choices=REGULARIZERS)  # none (pix2pix + z) | mode_seeking (MSGAN) | divco
    lambda_l1: float = knob(10.0, range=">= 0")  # weight of |G(A, z) - B|; BicycleGAN: 10
    lambda_contra: float = knob(1.0, range=">= 0")  # weight of L_contra (Eq. 3); paper: 1
    lambda_ms: float = knob(1.0, range=">= 0")  # weight of the mode-seeking loss (MSGAN: 1)
    tau: float = knob(1.0, range="> 0")  # temperature of Eq. 2; paper: 1
    radius: float = knob(0.01, range=">= 0")  # R of the positive cube; paper: 0.01 for image-to-image
    num_neg: int = knob(10, range=">= 1")  # N negatives per query; paper: 10
    encoder_features: str = knob("bottleneck", choices=("bottleneck", "pooled"))  # E's output: G's last encoder map flattened | every level pooled (ZUNet.encode)
    contra_queries: int = knob(0, range=">= 0")  # queries per step for L_contra; 0 = the whole batch
    z_dim: int = knob(8, range=">= 1")  # latent size; paper (BicycleGAN): 8
    ngf: int = knob(32, range=">= 1")  # G's base width
    ndf: int = knob(32, range=">= 1")  # D's base width
    lr: float = knob(2e-4, range="> 0")  # Adam lr of G and D; BicycleGAN: 2e-4
    beta1: float = knob(0.5, range="[0, 1)")  # Adam beta1; BicycleGAN: 0.5
    n_train: int = knob(4000, range=">= 8")  # colouring-book pairs to train on (seed 0)
    num_classes: int = knob(4, range="[2, 8]")  # shape classes of the pages
    size: int = knob(32, range=">= 16")  # image side (the nets are built for 32)

    PROFILES: ClassVar = {
        "smoke": {"steps": 4, "batch_size": 4, "ngf": 8, "ndf": 8, "num_neg": 3, "n_train": 16,
                  "log_every": 2, "ckpt_every": 4},
        # quick (CPU minutes, measured): narrow nets, a higher lr, 600 steps, L_contra on
        # 4 queries x 12 images, and tau 0.1: the 12 samples of one page differ only in one
        # small object, so their features' cosines sit near 1 and at tau = 1 Eq. 2 is flat
        # (measured: L_contra stays at ln 11 and its gradient is 0.5 % of the GAN term's);
        # tau 0.1 spreads the logits tenfold (ratio ~0.1-0.7) and DivCo uses z
        "quick": {"steps": 600, "batch_size": 16, "ngf": 16, "ndf": 16, "lr": 1e-3,
                  "contra_queries": 4, "tau": 0.1, "log_every": 50, "ckpt_every": 600},
        "full": {"steps": 100_000, "batch_size": 16, "log_every": 200, "ckpt_every": 5000},
    }


@register
class DivCoPaired(Method):
    name = "divco_paired"
    Config = DivCoPairedConfig
    summary = "DivCo (CVPR 2021) paired image-to-image: pix2pix + z with none | mode_seeking | divco"
    ema_modules = ()

    def __init__(self, cfg: DivCoPairedConfig, device: torch.device):
        super().__init__(cfg, device)
        self.dataset = ColouringShapes(cfg.n_train, cfg.size, 0, cfg.num_classes)
        self.G = ZUNet(cfg.z_dim, cfg.ngf).to(device)
        self.D = PatchD(cfg.ndf).to(device)
        betas = (cfg.beta1, 0.999)
        self.opt_G = torch.optim.Adam(self.G.parameters(), cfg.lr, betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), cfg.lr, betas)

    def modules(self):
        return {"G": self.G, "D": self.D}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def train_set(self):
        return self.dataset

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G

    def train_step(self, batch, ctx):
        cfg, G, D = self.cfg, self.G, self.D
        a, b = batch["cond"], batch["image"]
        # D step: real pairs 1, fake pairs 0 (pix2pix's conditional D)
        with torch.no_grad(), ctx.autocast():
            fake = G(a, torch.randn(len(a), cfg.z_dim, device=a.device))
        with ctx.autocast():
            d_real, d_fake = bce(D(a, b), True), bce(D(a, fake), False)
        ctx.optimize("D", {"d_real": d_real, "d_fake": d_fake})
        # G step: GAN + L1 + regulariser; D frozen (its gradients still reach G)
        with frozen(D):
            with ctx.autocast():
                terms = self._g_terms(a, b)
            ratios = {}
            if ctx.step % cfg.log_every == 0:
                ratios = grad_norm_ratios(terms, list(G.parameters()), "g_adv")
            ctx.optimize("G", terms)
        return {"d_real": d_real.detach(), "d_fake": d_fake.detach(),
                **{k: v.detach() for k, v in terms.items()}, **ratios}

    def _g_terms(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg, G, D = self.cfg, self.G, self.D
        n, dev = len(a), a.device
        z = torch.randn(n, cfg.z_dim, device=dev)
        if cfg.regularizer == "mode_seeking":
            z2 = torch.randn(n, cfg.z_dim, device=dev)
            fakes = G(torch.cat([a, a]), torch.cat([z, z2]))  # one pass, as MSGAN
            ms = mode_seeking_loss(fakes[:n].float(), fakes[n:].float(), z, z2)
            return {"g_adv": bce(D(torch.cat([a, a]), fakes), True),
                    "l1": cfg.lambda_l1 * (fakes.float() - torch.cat([b, b])).abs().mean(),
                    "mode_seeking": cfg.lambda_ms * ms}
        extra = {}
        if cfg.regularizer == "divco":
            q = cfg.contra_queries if 0 < cfg.contra_queries < n else n
            encode = functools.partial(G.encode, features=cfg.encoder_features)
            contra, query = divco_regularizer(lambda zz, aa: G(aa, zz), encode, a[:q], z[:q],
                                              num_neg=cfg.num_neg, radius=cfg.radius, tau=cfg.tau)
            extra["contra"] = cfg.lambda_contra * contra
            fake = query if q == n else G(a, z)  # fewer queries: the GAN and L1 on a batch of their own
        else:
            fake = G(a, z)
        return {"g_adv": bce(D(a, fake), True),
                "l1": cfg.lambda_l1 * (fake.float() - b).abs().mean(), **extra}

    def evaluate(self, ctx):
        return {}


__all__ = ["REGULARIZERS", "DivCoPaired", "DivCoPairedConfig"]
