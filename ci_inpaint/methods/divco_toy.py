"""The 2D toy of DivCo's Fig. 1: a conditional GAN on two Gaussian mixtures, four regularisers.

The paper shows (Fig. 1) that with a latent-regression loss the generator misses modes, with
the mode-seeking loss it ignores the condition, and with the latent-augmented contrastive loss
it covers each class's own modes. Sizes, steps and networks of that toy are not published
anywhere (nor in the official code), so every choice below is ours, made so that each claimed
failure *can* show:

* data (:data:`LAYOUTS`): 12 positions on a ring of radius 2 (neighbours 1.04 = 10 std
  apart); class 0 owns positions 0-7, class 1 positions 4-11: they **share** positions 4-7,
  and each has 4 private ones, so a generator that ignores the class puts mass on the other
  class's private modes (``wrong_mass``). Every mode is an isotropic Gaussian, std 0.1.
  Real points are drawn afresh every step from the torch RNG (``train_set()`` is None).
* G(z, c): MLP on [z, emb(c)] -> 2 with **z in R^2**, a code the 2-D output can encode (so
  latent regression is not ruled out by construction); D(x, c): MLP on [x, emb(c)] with a
  linear top. Non-saturating BCE GAN loss (Eq. 1), Adam 1e-3, betas (0.5, 0.999), one D and
  one G step, trained long enough that the plain GAN's samples sit on modes (quick: >= 90 %
  within 3 std), which is where a vanilla GAN shows mode dropping.
* ``regularizer`` (weight ``lambda_reg``) on the G step:
  ``none``; ``regression`` = BicycleGAN / DRIT's latent regression: an encoder E(x, c) -> z
  regresses z from G(z, c); the term L1(E(G(z, c), c), z) updates **G only** (E frozen in it)
  and E is trained on its own loss L1(E(sg[G(z, c)], c), z) with its own optimiser;
  ``mode_seeking`` = MSGAN's 1 / (mean|G(z2,c)-G(z1,c)| / mean|z2-z1| + eps);
  ``divco`` = Eq. 2 with E = D's hidden features (current weights, Fig. 3), head per
  ``encoder_head`` (``none``, the default and the paper: no head; ``fixed``: a random linear
  map no loss trains, what the official code effectively does; ``trained``: trained with G).
  R = 0.05: with z in R^2 the paper's 0.01 (for z in R^8) makes positives indistinguishable
  from the query (our choice; a knob).
* evaluation (:func:`toy_metrics`): per class, 2000 samples -> modes covered and high-quality
  share (own modes, :func:`ci_inpaint.metrics.toy_mode_metrics`, 3 std), ``on_mode`` (within
  3 std of any position), ``wrong_mass`` (share on the other class's private modes) and
  ``cond_purity`` (own-mode share of the on-mode samples).

The Fig. 1 grid (the lambda sweep, every regulariser at its best lambda x seed), its table,
claims and plots are in :mod:`ci_inpaint.experiments.divco`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..config import TrainConfig
from ..losses.divco import (
    divco_regularizer,
    grad_norm_ratios,
    latent_regression_loss,
    mode_seeking_loss,
)
from ..metrics.toy import toy_mode_metrics
from . import Method, register

REGULARIZERS = ("none", "regression", "mode_seeking", "divco")
ENCODER_HEADS = ("none", "fixed", "trained")  # as divco_images: default none (the paper)
STD = 0.1  # std of every mixture component
THRESHOLD = 3.0  # a sample is high quality within THRESHOLD * STD of a centre


def _ring(n: int, r: float, phase: float = 0.0) -> torch.Tensor:
    a = torch.arange(n, dtype=torch.float32) * (2 * math.pi / n) + phase
    return torch.stack([r * a.cos(), r * a.sin()], 1)


POSITIONS = _ring(12, 2.0)  # every mode position of either class
OWNED = (tuple(range(0, 8)), tuple(range(4, 12)))  # class c -> its positions (4-7 shared)
LAYOUTS: tuple[torch.Tensor, ...] = tuple(POSITIONS[list(o)] for o in OWNED)  # class c -> (M_c, 2)
PRIVATE: tuple[torch.Tensor, ...] = tuple(  # class c -> the positions only class c owns
    POSITIONS[sorted(set(o) - set(OWNED[1 - i]))] for i, o in enumerate(OWNED))


def sample_real(labels: torch.Tensor, std: float = STD,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Points of the mixtures for ``labels`` (B,): a uniform mode of each label's layout + noise."""
    centres = torch.cat(LAYOUTS).to(labels.device)
    sizes = torch.tensor([len(c) for c in LAYOUTS], device=labels.device)
    offsets = torch.cumsum(sizes, 0) - sizes
    u = torch.rand(labels.shape, generator=generator, device=labels.device)
    idx = offsets[labels] + (u * sizes[labels]).long().clamp(max=sizes[labels] - 1)
    noise = torch.randn((len(labels), 2), generator=generator, device=labels.device)
    return centres[idx] + std * noise


@dataclass
class DivCoToyConfig(TrainConfig):
    regularizer: str = "divco"  # none | regression | mode_seeking | divco
    lambda_reg: float = 1.0  # weight of the regulariser (lambda_contra for divco; paper: 1)
    tau: float = 1.0  # temperature of Eq. 2 (paper: 1)
    radius: float = 0.05  # R of the latent cube (ours for z = 2; paper: 0.01 for z = 8)
    num_neg: int = 10  # N negatives per query (paper: 10)
    reg_batch: int = 32  # queries per step that carry the regulariser (0 = the whole batch)
    normalize: bool = True  # cosine similarity (Eq. 2); False = the official code's default
    encoder_head: str = "none"  # none (paper: D's layers, no head) | fixed (official code) | trained
    z_dim: int = 2  # latent size: a code the 2-D output can encode
    hidden: int = 64  # width of every hidden layer of G, D and the encoders
    feat_dim: int = 32  # output size of the contrastive head (encoder_head fixed | trained)
    lr: float = 1e-3  # Adam learning rate (G, D, E)
    eval_n: int = 2000  # generated points per class in evaluate()

    PROFILES: ClassVar = {
        "smoke": {"steps": 30, "batch_size": 32, "reg_batch": 8, "hidden": 32, "eval_n": 500,
                  "log_every": 10, "ckpt_every": 30},
        "quick": {"steps": 2500, "batch_size": 128, "log_every": 250, "ckpt_every": 2500},
        "full": {"steps": 20_000, "batch_size": 256, "reg_batch": 0, "hidden": 128,
                 "log_every": 500, "ckpt_every": 5000},
    }
    RANGES: ClassVar = {"lambda_reg": ">= 0", "tau": "> 0", "radius": ">= 0", "num_neg": ">= 1",
                        "reg_batch": ">= 0", "z_dim": ">= 1", "hidden": ">= 1", "feat_dim": ">= 1",
                        "lr": "> 0", "eval_n": ">= 1"}
    CHOICES: ClassVar = {"regularizer": REGULARIZERS, "encoder_head": ENCODER_HEADS}


def _mlp(d_in: int, hidden: int, d_out: int, layers: int = 3) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [nn.Linear(d_in if i == 0 else hidden, hidden), nn.LeakyReLU(0.2)]
    return nn.Sequential(*mods, nn.Linear(hidden, d_out))


class ToyG(nn.Module):
    """G(z, c): the paper's argument order G(z, y)."""

    def __init__(self, z_dim: int, hidden: int, n_classes: int = 2):
        super().__init__()
        self.emb = nn.Embedding(n_classes, 8)
        self.net = _mlp(z_dim + 8, hidden, 2)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.emb(c)], 1))


class ToyD(nn.Module):
    """D(x, c) = top(features(x, c)); ``features`` are the layers below the top (DivCo's E)."""

    def __init__(self, hidden: int, n_classes: int = 2):
        super().__init__()
        self.emb = nn.Embedding(n_classes, 8)
        self.body = nn.Sequential(nn.Linear(2 + 8, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))
        self.top = nn.Linear(hidden, 1)

    def features(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([x, self.emb(c)], 1))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.top(self.features(x, c)).squeeze(1)


class ToyE(nn.Module):
    """Latent-regression encoder E(x, c) -> z (BicycleGAN / DRIT)."""

    def __init__(self, z_dim: int, hidden: int, n_classes: int = 2):
        super().__init__()
        self.emb = nn.Embedding(n_classes, 8)
        self.net = _mlp(2 + 8, hidden, z_dim, layers=2)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, self.emb(c)], 1))


@register
class DivCoToy(Method):
    name = "divco_toy"
    Config = DivCoToyConfig
    summary = "DivCo Fig. 1: 2D conditional GAN, regularizer none|regression|mode_seeking|divco"

    reads_data_root = False  # the mixture is generated

    def __init__(self, cfg: DivCoToyConfig, device: torch.device):
        super().__init__(cfg, device)
        self.G = ToyG(cfg.z_dim, cfg.hidden).to(device)
        self.D = ToyD(cfg.hidden).to(device)
        betas = (0.5, 0.999)
        g_params = list(self.G.parameters())
        # aux: E of the latent regression (own optimiser) or DivCo's head on D's features
        self.aux: nn.Module | None = None
        self.opt_E: torch.optim.Optimizer | None = None
        if cfg.regularizer == "regression":
            self.aux = ToyE(cfg.z_dim, cfg.hidden).to(device)
            self.opt_E = torch.optim.Adam(self.aux.parameters(), lr=cfg.lr, betas=betas)
        elif cfg.regularizer == "divco" and cfg.encoder_head != "none":
            self.aux = nn.Linear(cfg.hidden, cfg.feat_dim).to(device)
            if cfg.encoder_head == "fixed":  # a random projection no loss trains
                self.aux.requires_grad_(False)
            else:
                g_params += list(self.aux.parameters())
        self.opt_G = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    def modules(self) -> dict[str, nn.Module]:
        mods = {"G": self.G, "D": self.D}
        if self.aux is not None:
            mods["aux"] = self.aux
        return mods

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = {"G": self.opt_G, "D": self.opt_D}
        if self.opt_E is not None:
            opts["E"] = self.opt_E
        return opts

    def train_set(self) -> None:
        return None  # real points are drawn from the torch RNG in train_step

    def _encode(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.D.features(x, c)
        return h if self.aux is None else self.aux(h)

    def train_step(self, batch: Any, ctx: Any) -> dict[str, torch.Tensor]:
        cfg, dev, b = self.cfg, self.device, self.cfg.batch_size
        c = torch.randint(0, len(LAYOUTS), (b,), device=dev)
        real = sample_real(c)
        z = torch.randn(b, cfg.z_dim, device=dev)

        with ctx.autocast():  # D step: real vs G(z, c), Eq. 1
            fake = self.G(z, c).detach()
            d_real, d_fake = self.D(real, c), self.D(fake, c)
            loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        ctx.optimize("D", {"adv": loss_d})

        terms: dict[str, torch.Tensor] = {}
        k = min(cfg.reg_batch or b, b)  # the first k queries carry the regulariser
        self.D.requires_grad_(False)  # G step: gradients reach G through D, D's stay clean
        if self.opt_E is not None:
            self.aux.requires_grad_(False)  # the regression term updates G only
        try:
            with ctx.autocast():  # G step: non-saturating loss + regulariser
                z = torch.randn(b, cfg.z_dim, device=dev)
                if cfg.regularizer == "divco":
                    contra, fake_q = divco_regularizer(
                        self.G, self._encode, c[:k], z[:k], num_neg=cfg.num_neg,
                        radius=cfg.radius, tau=cfg.tau, normalize=cfg.normalize)
                    fake = torch.cat([fake_q, self.G(z[k:], c[k:])]) if k < b else fake_q
                    terms["divco"] = cfg.lambda_reg * contra
                elif cfg.regularizer == "mode_seeking":
                    z2 = torch.randn(k, cfg.z_dim, device=dev)
                    both = self.G(torch.cat([z, z2]), torch.cat([c, c[:k]]))
                    fake = both[:b]
                    terms["mode_seeking"] = cfg.lambda_reg * mode_seeking_loss(
                        fake[:k], both[b:], z[:k], z2)
                else:
                    fake = self.G(z, c)
                    if cfg.regularizer == "regression":
                        terms["regression"] = cfg.lambda_reg * latent_regression_loss(
                            self.aux(fake[:k], c[:k]), z[:k])
                d_gen = self.D(fake, c)
                terms = {"adv": F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen)),
                         **terms}
            ratios = {}
            if len(terms) > 1 and ctx.step % cfg.log_every == 0:
                ratios = grad_norm_ratios(terms, list(self.G.parameters()), "adv")
            ctx.optimize("G", terms)
        finally:
            self.D.requires_grad_(True)
            if self.opt_E is not None:
                self.aux.requires_grad_(True)
        out = {"loss_D": loss_d.detach(), **{f"G_{n}": v.detach() for n, v in terms.items()},
               **ratios}
        if self.opt_E is not None:  # E's own loss: regress z from G's (fixed) output
            with ctx.autocast():
                loss_e = latent_regression_loss(self.aux(fake[:k].detach(), c[:k]), z[:k])
            ctx.optimize("E", {"regression": loss_e})
            out["E_regression"] = loss_e.detach()
        return out

    @torch.no_grad()
    def sample(self, label: int, n: int, seed: int = 0, z: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` generated points of class ``label`` from a private RNG (leaves the global one),
        or G(z, label) for given codes ``z`` (n, z_dim)."""
        if z is None:
            g = torch.Generator(device=self.device).manual_seed(seed)
            z = torch.randn(n, self.cfg.z_dim, generator=g, device=self.device)
        c = torch.full((len(z),), label, dtype=torch.long, device=self.device)
        return self.G(z.to(self.device), c).float().cpu()

    def evaluate(self, ctx: Any = None) -> dict[str, float]:
        return toy_metrics({c: self.sample(c, self.cfg.eval_n, seed=self.cfg.seed + 10_000 + c)
                            for c in range(len(LAYOUTS))})


def _near(x: torch.Tensor, centres: torch.Tensor, r: float) -> torch.Tensor:
    return torch.cdist(x.double(), centres.double()).min(1).values <= r


def toy_metrics(samples: dict[int, torch.Tensor], std: float = STD,
                threshold: float = THRESHOLD) -> dict[str, float]:
    """Per class c and pooled: modes covered, high-quality share, on-mode share, wrong mass.

    ``samples[c]`` (n, 2) generated for class c. Within ``threshold * std`` of a centre:
    ``high_quality_c`` of one of class c's own centres (= ``cond_dep_c``), ``on_mode_c`` of any
    position, ``wrong_mass_c`` of a position only the other class owns (0 = the class is
    respected, about 1/3 for a generator that spreads over all 12 positions regardless of the
    class); ``cond_purity_c`` = own / on-mode.
    """
    out: dict[str, float] = {}
    for c, x in samples.items():
        m = toy_mode_metrics(x, LAYOUTS[c], std, threshold=threshold)
        own, anyc, wrong = (_near(x, ctr, threshold * std)
                            for ctr in (LAYOUTS[c], POSITIONS, PRIVATE[1 - c]))
        out[f"modes_covered_{c}"] = float(m["modes_covered"])
        out[f"n_modes_{c}"] = float(m["n_modes"])
        out[f"high_quality_{c}"] = m["high_quality"]
        out[f"cond_dep_{c}"] = float(own.double().mean())
        out[f"on_mode_{c}"] = float(anyc.double().mean())
        out[f"wrong_mass_{c}"] = float(wrong.double().mean())
        out[f"cond_purity_{c}"] = float(own.sum() / anyc.sum().clamp(min=1))
    classes = list(samples)
    out["modes_covered"] = sum(out[f"modes_covered_{c}"] for c in classes)
    out["n_modes"] = sum(out[f"n_modes_{c}"] for c in classes)
    for k in ("high_quality", "cond_dep", "on_mode", "wrong_mass", "cond_purity"):
        out[k] = sum(out[f"{k}_{c}"] for c in classes) / len(classes)
    return out


__all__ = ["ENCODER_HEADS", "LAYOUTS", "OWNED", "POSITIONS", "PRIVATE", "REGULARIZERS", "STD",
           "DivCoToy", "DivCoToyConfig", "sample_real", "toy_metrics"]
