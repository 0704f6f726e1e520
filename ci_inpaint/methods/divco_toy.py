"""The 2D toy of DivCo's Fig. 1: a conditional GAN on two Gaussian mixtures, four regularisers.

The paper shows (Fig. 1) that with a latent-regression loss the generator misses modes, with
the mode-seeking loss it ignores the condition, and with the latent-augmented contrastive loss
it covers each class's own modes. Sizes, steps and networks of that toy are not published
anywhere (nor in the official code), so every choice below is ours:

* data (:data:`LAYOUTS`): class 0 = 8 modes on a ring of radius 2 (rotated by pi/8); class 1
  = a 3x3 grid with spacing 1 (inside the ring, at least 0.88 from it, so the layouts are
  disjoint and a generator that ignores the class is detectable); each mode an isotropic
  Gaussian with std 0.1 (a short CPU run cannot sharpen much narrower modes).
  Real points are drawn afresh every step from the torch RNG (``train_set()`` is None).
* G(z, c): MLP on [z, emb(c)] -> 2, z in R^8 (the paper's z size for image-to-image; R = 0.01
  as the paper uses for z = 8); D(x, c): MLP on [x, emb(c)] with a linear top.
  Non-saturating BCE GAN loss (Eq. 1), Adam 2e-3, betas (0.5, 0.999), one D and one G step.
* ``regularizer`` (weight ``lambda_reg``) on the G step:
  ``none``; ``regression`` = L1(E(G(z, c), c), z) with an encoder MLP E trained with G
  (BicycleGAN / DRIT); ``mode_seeking`` = MSGAN's 1 / (mean|G(z2,c)-G(z1,c)| / mean|z2-z1| + eps);
  ``divco`` = Eq. 2 with E = D's hidden features (current weights, Fig. 3) + a small linear
  head; the head is trained with G (it only serves L_contra), D's layers only by the D loss.
* evaluation (:func:`toy_metrics`): per class, 2000 samples -> modes covered and high-quality
  share (:func:`ci_inpaint.metrics.toy_mode_metrics`, 3 std), and *condition dependence* = the
  share of class-c samples within 3 std of one of class c's own centres.

The Fig. 1 grid (every regulariser x seed), its table, claims and plot are in
:mod:`ci_inpaint.experiments.divco`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..config import TrainConfig
from ..losses.divco import divco_regularizer, latent_regression_loss, mode_seeking_loss
from ..metrics.toy import toy_mode_metrics
from . import Method, register

REGULARIZERS = ("none", "regression", "mode_seeking", "divco")
ENCODER_HEADS = ("none", "fixed", "trained")  # as divco_images: default none (the paper)
STD = 0.1  # std of every mixture component
THRESHOLD = 3.0  # a sample is high quality within THRESHOLD * STD of a centre


def _ring(n: int, r: float, phase: float = 0.0) -> torch.Tensor:
    a = torch.arange(n, dtype=torch.float32) * (2 * math.pi / n) + phase
    return torch.stack([r * a.cos(), r * a.sin()], 1)


def _grid(k: int, spacing: float) -> torch.Tensor:
    v = (torch.arange(k, dtype=torch.float32) - (k - 1) / 2) * spacing
    return torch.cartesian_prod(v, v)


# rotated by pi/8 so that no ring mode sits on a grid diagonal (closest pair 0.88 = 8.8 std)
LAYOUTS: tuple[torch.Tensor, ...] = (_ring(8, 2.0, math.pi / 8), _grid(3, 1.0))  # class c -> (M_c, 2) centres


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
    radius: float = 0.01  # R of the latent cube (paper: 0.01 for z = 8)
    num_neg: int = 10  # N negatives per query (paper: 10)
    reg_batch: int = 32  # queries per step that carry the regulariser (0 = the whole batch)
    normalize: bool = True  # cosine similarity (Eq. 2); False = the official code's default
    encoder_head: str = "none"  # none (paper: D's layers, no head) | fixed (official code) | trained
    z_dim: int = 8  # latent size
    hidden: int = 64  # width of every hidden layer of G, D and the encoders
    feat_dim: int = 32  # output size of the contrastive head on D's features
    lr: float = 2e-3  # Adam learning rate (G, D, encoders)
    eval_n: int = 2000  # generated points per class in evaluate()

    PROFILES: ClassVar = {
        "smoke": {"steps": 30, "batch_size": 32, "reg_batch": 8, "hidden": 32, "eval_n": 500,
                  "log_every": 10, "ckpt_every": 30},
        "quick": {"steps": 1500, "batch_size": 128, "log_every": 50, "ckpt_every": 1500},
        "full": {"steps": 20_000, "reg_batch": 0, "hidden": 128, "log_every": 100,
                 "ckpt_every": 2000},
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
        g_params = list(self.G.parameters())
        self.aux: nn.Module | None = None  # the module trained with G for the regulariser
        if cfg.regularizer == "regression":
            self.aux = ToyE(cfg.z_dim, cfg.hidden).to(device)
        elif cfg.regularizer == "divco" and cfg.encoder_head != "none":
            self.aux = nn.Linear(cfg.hidden, cfg.feat_dim).to(device)  # head on D's features
            if cfg.encoder_head == "fixed":  # a random projection no loss trains
                self.aux.requires_grad_(False)
        if self.aux is not None and cfg.encoder_head != "fixed":
            g_params += list(self.aux.parameters())
        betas = (0.5, 0.999)
        self.opt_G = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    def modules(self) -> dict[str, nn.Module]:
        mods = {"G": self.G, "D": self.D}
        if self.aux is not None:
            mods["aux"] = self.aux
        return mods

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_G, "D": self.opt_D}

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
        with ctx.autocast():  # G step: non-saturating loss + regulariser
            z = torch.randn(b, cfg.z_dim, device=dev)
            if cfg.regularizer == "divco":
                contra, fake_q = divco_regularizer(
                    self.G, self._encode, c[:k], z[:k], num_neg=cfg.num_neg, radius=cfg.radius,
                    tau=cfg.tau, normalize=cfg.normalize)
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
        ctx.optimize("G", terms)
        return {"loss_D": loss_d.detach(), **{f"G_{k}": v.detach() for k, v in terms.items()}}

    @torch.no_grad()
    def sample(self, label: int, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` generated points of class ``label`` from a private RNG (leaves the global one)."""
        g = torch.Generator(device=self.device).manual_seed(seed)
        z = torch.randn(n, self.cfg.z_dim, generator=g, device=self.device)
        c = torch.full((n,), label, dtype=torch.long, device=self.device)
        return self.G(z, c).float().cpu()

    def evaluate(self, ctx: Any = None) -> dict[str, float]:
        return toy_metrics({c: self.sample(c, self.cfg.eval_n, seed=self.cfg.seed + 10_000 + c)
                            for c in range(len(LAYOUTS))})


def toy_metrics(samples: dict[int, torch.Tensor], std: float = STD,
                threshold: float = THRESHOLD) -> dict[str, float]:
    """Per class c and pooled: modes covered, high-quality share, condition dependence.

    ``samples[c]`` (n, 2) generated for class c. ``cond_dep_c`` = share of them within
    ``threshold * std`` of one of class c's own centres; ``cond_purity_c`` = the same share
    among the samples near any centre of any class (1.0 = never on the other class's modes).
    """
    out: dict[str, float] = {}
    all_centres = torch.cat(LAYOUTS)
    for c, x in samples.items():
        m = toy_mode_metrics(x, LAYOUTS[c], std, threshold=threshold)
        own = torch.cdist(x.double(), LAYOUTS[c].double()).min(1).values <= threshold * std
        anyc = torch.cdist(x.double(), all_centres.double()).min(1).values <= threshold * std
        out[f"modes_covered_{c}"] = float(m["modes_covered"])
        out[f"n_modes_{c}"] = float(m["n_modes"])
        out[f"high_quality_{c}"] = m["high_quality"]
        out[f"cond_dep_{c}"] = float(own.double().mean())
        out[f"cond_purity_{c}"] = float(own.sum() / anyc.sum().clamp(min=1))
    classes = list(samples)
    out["modes_covered"] = sum(out[f"modes_covered_{c}"] for c in classes)
    out["n_modes"] = sum(out[f"n_modes_{c}"] for c in classes)
    for k in ("high_quality", "cond_dep", "cond_purity"):
        out[k] = sum(out[f"{k}_{c}"] for c in classes) / len(classes)
    return out


__all__ = ["LAYOUTS", "REGULARIZERS", "STD", "DivCoToy", "DivCoToyConfig", "sample_real",
           "toy_metrics"]
