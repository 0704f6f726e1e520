"""DivCo class-conditional image generation (Liu et al., CVPR 2021, Sec. 4.4, Tables 3-4).

The paper's DCGAN baseline (:mod:`ci_inpaint.nn.dcgan`, MSGAN's setting) trained three ways,
``regularizer``:

* ``none`` -- the conditional DCGAN alone: Eq. 1, the non-saturating BCE GAN loss;
* ``mode_seeking`` -- + MSGAN's mode-seeking loss ``lambda_ms / (mean|G(z2)-G(z1)| /
  mean|z2-z1| + eps)`` on two fake batches with the same labels;
* ``divco`` -- + ``lambda_contra * L_contra`` (Eq. 2-3): query, positive (z + U[-R, R]) and
  N negatives (every coordinate farther than R) in one G pass, encoded by E = the
  discriminator's layers below the top (Fig. 3), with D's *current* weights.
  (Latent regression is not applicable here, as the paper notes: D's features do not match z.)

``encoder_head`` (the same knob and default as ``divco_toy``): what sits on D's trunk in E.
``none`` (default, the paper: "all but the topmost layers of the discriminator", no head) uses
the flattened trunk output (4d x 4 x 4); ``fixed`` a random 4x4 conv 4d -> d that is never
trained (``D.features``; what the official code effectively does: its head sits in D's
optimiser but no D loss reaches it); ``trained`` such a conv trained with G on L_contra.

``contra_form`` (:data:`FORMS`): ``paper`` = Eq. 2 as stated (cosine, mean over queries);
``code`` = the official code's form (raw dot products, the cross-entropy *summed* over the
queries, the fixed random head). ``paper`` reads ``normalize`` / ``encoder_head`` from the
config; ``code`` overrides them.

Balance: on every ``log_every``-th step (and the first) the G step also logs
``gratio_<term>`` = ||grad_G (weighted term)|| / ||grad_G g_adv|| (L2 over all of G's
parameters, :func:`ci_inpaint.losses.divco.grad_norm_ratios`), the measure by which a
regulariser is strong (>> 1) or nearly inert (<< 1) against the adversarial term.

One step: a D step (real vs G(z, y) for a fresh z, BCE) then a G step (non-saturating BCE on the
fakes + the regulariser), each through ``ctx.optimize``. All noise comes from the global torch
RNG (exact resume). Data: the bundled ``digits`` (smoke/quick) or CIFAR-10 (full).

``channels``: grey data get a 1-channel G and D (``channels=1``, the default for digits). With
3 channels on grey digits, D learns early that real images have equal channels only as well
as its width lets it, and L_contra (like any diversity term) is cheapest to satisfy by
spreading the samples along the colour axes D judges least: that was the pink cast of
DivCo's samples in earlier runs. One channel leaves no such axis.

Choices and where they differ from the paper/code (all are config knobs):
* The G adversarial term of ``divco`` uses the query images of the contrastive pass (the
  official code adds a second fake batch); ``mode_seeking`` applies it to both of its fake
  batches (as MSGAN); each is a mean over images, not MSGAN's sum of two BCE terms.
* ``contra_queries`` (``full``: 0 = every image of the batch is a query, the paper): ``quick``
  uses 8 queries per step (8 x 12 images through G and E instead of 32 x 12) plus a separate
  full fake batch for the adversarial term. Eq. 2 is an expectation over (y, z), so fewer
  queries give an unbiased, noisier estimate of the same loss at a third of the cost.
* ``quick`` also uses lr 8e-4 (the paper: 2e-4) and width 16 (paper: 128) to train in CPU
  minutes; ``full`` is the paper's setting (width 128, batch 32, Adam 2e-4 (0.5, 0.999),
  R = 0.001, N = 10, lambda = 1, tau = 1) on CIFAR-10.
* Adam weight decay 1e-4 on G and D as in the MSGAN/DivCo DCGAN code (the paper is silent).

Evaluation helpers used by ``notebooks/01_divco`` (in :mod:`ci_inpaint.evaluation.divco`,
re-exported here): :func:`sample`, :func:`per_class_ndb_jsd`
(Table 3), :func:`fid_score` (Table 4, with the fallback feature network named),
:func:`evaluate_run`, :func:`sample_grid` and :func:`latent_walk`. The comparison grid (every
regulariser x seed), its tables and claims are in :mod:`ci_inpaint.experiments.divco`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..config import TrainConfig, knob
from ..data.divco import DATASETS, _labels_of, load_dataset  # data: data/divco.py
from ..errors import ConfigError
from ..evaluation.divco import (  # evaluation: evaluation/divco.py; re-exported here
    evaluate_run,
    fid_score,
    latent_walk,
    per_class_ndb_jsd,
    sample,
    sample_grid,
)
from ..losses.divco import divco_regularizer, grad_norm_ratios, mode_seeking_loss
from ..nn.dcgan import CondDiscriminator, CondGenerator
from . import Method, register
from .common import frozen, generator_of

REGULARIZERS = ("none", "mode_seeking", "divco")
ENCODER_HEADS = ("none", "fixed", "trained")  # shared with divco_toy; default "none" (the paper)
# contra_form presets: the paper's Eq. 2 and the official code's defaults
FORMS = {"paper": {}, "code": {"normalize": False, "reduction": "sum", "encoder_head": "fixed"}}


@dataclass
class DivCoImagesConfig(TrainConfig):
    dataset: str = knob("digits", choices=DATASETS)  # digits (bundled, smoke/quick) | cifar10 (full; needs the batches) | class_folder
    regularizer: str = knob("divco", choices=REGULARIZERS)  # none (DCGAN) | mode_seeking (MSGAN) | divco
    channels: int = knob(1, range="[1, 3]")  # 1 (grey digits) or 3 (CIFAR-10, class folders): the channels G makes and D sees
    lambda_contra: float = knob(1.0, range=">= 0")  # weight of L_contra (Eq. 3); paper: 1
    tau: float = knob(1.0, range="> 0")  # temperature of Eq. 2; paper: 1
    radius: float = knob(0.001, range=">= 0")  # R: positives in z + U[-R, R]; paper: 0.001 for z = 100
    num_neg: int = knob(10, range=">= 1")  # N negatives per query; paper: 10
    normalize: bool = True  # cosine similarity as Eq. 2 states (the official code: off)
    encoder_head: str = knob("none", choices=ENCODER_HEADS)  # none (paper: D's layers, no head) | fixed (official code) | trained
    contra_form: str = knob("paper", choices=tuple(FORMS))  # paper | code (normalize=False, summed, fixed head; see FORMS)
    contra_queries: int = knob(0, range=">= 0")  # queries per step for L_contra; 0 = the whole batch (paper)
    lambda_ms: float = knob(1.0, range=">= 0")  # weight of the mode-seeking loss (MSGAN: 1)
    z_dim: int = knob(100, range=">= 1")  # latent size; paper: 100
    width: int = knob(128, range=">= 1")  # DCGAN base width d (G: 4d-2d-d, D: d-2d-4d); paper: 128
    lr: float = knob(2e-4, range="> 0")  # Adam learning rate of G and D; paper: 2e-4
    beta1: float = knob(0.5, range="[0, 1)")  # Adam beta1; paper: 0.5
    beta2: float = knob(0.999, range="[0, 1)")  # Adam beta2; paper: 0.999
    weight_decay: float = knob(1e-4, range=">= 0")  # Adam L2 weight decay of G and D (MSGAN/DivCo DCGAN code: 1e-4)
    eval_n_per_class: int = knob(100, range=">= 1")  # generated images per class for evaluate()'s NDB/JSD
    eval_k: int = knob(10, range=">= 1")  # NDB bins per class in evaluate() (Table 3 uses 50 on CIFAR-10)

    PROFILES: ClassVar = {
        "smoke": {"steps": 4, "batch_size": 8, "width": 8, "num_neg": 4, "log_every": 2,
                  "ckpt_every": 4, "eval_n_per_class": 12, "eval_k": 3},
        # quick (CPU minutes, measured): a narrow DCGAN, 4x the paper's lr so that digits form
        # in 320 steps, and L_contra on 8 queries x (1 + 1 + 10) images per step
        "quick": {"steps": 320, "batch_size": 32, "width": 16, "lr": 8e-4, "contra_queries": 8,
                  "log_every": 40, "ckpt_every": 320},
        # full: the paper's setting; 200 epochs of CIFAR-10's 50k at batch 32 (the DivCo code's n_ep)
        "full": {"dataset": "cifar10", "channels": 3, "steps": 312_500, "batch_size": 32, "width": 128,
                 "log_every": 100, "ckpt_every": 5000, "eval_every": 25_000,
                 "eval_n_per_class": 1000, "eval_k": 50},
    }

    def contra_settings(self) -> dict[str, Any]:
        """normalize, reduction and encoder_head after the ``contra_form`` preset."""
        return {"normalize": self.normalize, "reduction": "mean", "encoder_head": self.encoder_head,
                **FORMS[self.contra_form]}


@register
class DivCoImages(Method):
    name = "divco"
    Config = DivCoImagesConfig
    summary = "DivCo (CVPR 2021) class-conditional DCGAN: none | mode_seeking | divco regulariser"
    ema_modules = ("G",)

    @classmethod
    def check_config(cls, cfg: DivCoImagesConfig) -> None:
        if cfg.channels not in (1, 3):
            raise ConfigError(f"channels={cfg.channels}: use 1 (grey) or 3 (colour)")
        if cfg.data_root and cfg.dataset == "digits":
            raise ConfigError(f"data_root={cfg.data_root!r} is not read by dataset=digits (bundled): "
                              "drop data_root, or pick dataset=cifar10 or class_folder")

    def __init__(self, cfg: DivCoImagesConfig, device: torch.device):
        super().__init__(cfg, device)
        self.dataset = load_dataset(cfg.dataset, "train", cfg.data_root, cfg.channels)
        self.n_classes = int(_labels_of(self.dataset).max()) + 1
        channels = self.dataset[0]["image"].shape[0]
        self.G = CondGenerator(cfg.z_dim, self.n_classes, cfg.width, channels).to(device)
        self.D = CondDiscriminator(self.n_classes, cfg.width, channels).to(device)
        betas = (cfg.beta1, cfg.beta2)
        self.contra = cfg.contra_settings()
        self.head: nn.Module | None = None  # E's trained head (encoder_head=trained), in G's optimiser
        if self.contra["encoder_head"] == "trained":
            self.head = nn.Conv2d(4 * cfg.width, self.D.feat_dim, 4, bias=False).to(device)
            nn.init.normal_(self.head.weight, 0.0, 0.02)
        g_params = [*self.G.parameters(), *(self.head.parameters() if self.head else [])]
        self.opt_G = torch.optim.Adam(g_params, cfg.lr, betas, weight_decay=cfg.weight_decay)
        self.opt_D = torch.optim.Adam(self.D.parameters(), cfg.lr, betas, weight_decay=cfg.weight_decay)
        self._ema: dict[str, nn.Module] = {}

    def modules(self):
        return {"G": self.G, "D": self.D, **({"head": self.head} if self.head else {})}

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """DivCo's E(x) per ``encoder_head``: D's trunk (current weights), then no / a fixed /
        a trained head, flattened to (B, D)."""
        head = self.contra["encoder_head"]
        if head == "fixed":
            return self.D.features(x, y)
        h = self.D._trunk(x, y)  # D minus its top layer (Fig. 3)
        return (h if head == "none" else self.head(h)).flatten(1)

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def train_set(self):
        return self.dataset

    @property
    def sampler(self) -> nn.Module:
        """The generator to sample from: the EMA copy when ``ema_decay > 0``, else G (a run
        loaded by :func:`ci_inpaint.experiments.load_run` keeps its EMA copy in loaded_ema)."""
        return (self._ema or getattr(self, "loaded_ema", {})).get("G", self.G)

    def train_step(self, batch, ctx):
        cfg, G, D = self.cfg, self.G, self.D
        self._ema = ctx.ema
        x, y = batch["image"], batch["label"]
        b = x.shape[0]
        ones, zeros = torch.ones(b, device=x.device), torch.zeros(b, device=x.device)

        # D step: maximise Eq. 1 (BCE on real = 1, fake = 0)
        with torch.no_grad(), ctx.autocast():
            fake = G(torch.randn(b, cfg.z_dim, device=x.device), y)
        with ctx.autocast():
            d_real = F.binary_cross_entropy_with_logits(D(x, y).float(), ones)
            d_fake = F.binary_cross_entropy_with_logits(D(fake, y).float(), zeros)
        ctx.optimize("D", {"d_real": d_real, "d_fake": d_fake})

        # G step: non-saturating BCE + regulariser; D frozen (gradients still reach G through it)
        with frozen(D):
            with ctx.autocast():
                terms = self._g_terms(x, y)
            ratios = {}  # the regulariser's pull on G against the adversarial term (logged steps)
            if len(terms) > 1 and ctx.step % cfg.log_every == 0:
                ratios = grad_norm_ratios(terms, list(G.parameters()), "g_adv")
            ctx.optimize("G", terms)
        return {"d_real": d_real.detach(), "d_fake": d_fake.detach(),
                **{k: v.detach() for k, v in terms.items()}, **ratios}

    def _g_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg, G, D = self.cfg, self.G, self.D
        b, dev = x.shape[0], x.device
        z = torch.randn(b, cfg.z_dim, device=dev)
        if cfg.regularizer == "none":
            fake = G(z, y)
            return {"g_adv": F.binary_cross_entropy_with_logits(D(fake, y).float(), torch.ones(b, device=dev))}
        if cfg.regularizer == "mode_seeking":
            z2 = torch.randn(b, cfg.z_dim, device=dev)
            fakes = G(torch.cat([z, z2]), torch.cat([y, y]))  # one pass, as MSGAN
            adv = F.binary_cross_entropy_with_logits(D(fakes, torch.cat([y, y])).float(),
                                                     torch.ones(2 * b, device=dev))
            ms = mode_seeking_loss(fakes[:b].float(), fakes[b:].float(), z, z2)
            return {"g_adv": adv, "mode_seeking": cfg.lambda_ms * ms}
        q = cfg.contra_queries if 0 < cfg.contra_queries < b else b
        contra, query = divco_regularizer(G, self.encode, y[:q], z[:q], num_neg=cfg.num_neg,
                                          radius=cfg.radius, tau=cfg.tau,
                                          normalize=self.contra["normalize"],
                                          reduction=self.contra["reduction"])
        if q < b:  # cheaper: L_contra on q queries (an unbiased estimate of Eq. 2's expectation)
            query = G(z, y)  # and the adversarial term on a full batch of its own
        adv = F.binary_cross_entropy_with_logits(D(query, y).float(), torch.ones(b, device=dev))
        return {"g_adv": adv, "contra": cfg.lambda_contra * contra}

    def evaluate(self, ctx):
        """Cheap logged scalars: mean per-class NDB/JSD (``eval_k`` bins, ``eval_n_per_class``)."""
        rows = per_class_ndb_jsd(self.sampler, self.dataset, k=self.cfg.eval_k,
                                 n_per_class=self.cfg.eval_n_per_class, seed=12345)
        mean = rows[-1]
        return {"ndb_mean": mean["ndb"], "jsd_mean": mean["jsd"],
                "ndb_over_k_mean": mean["ndb_over_k"]}


__all__ = [
    "DATASETS", "ENCODER_HEADS", "FORMS", "REGULARIZERS", "DivCoImages", "DivCoImagesConfig", "evaluate_run", "fid_score",
    "generator_of", "latent_walk", "load_dataset", "per_class_ndb_jsd", "sample", "sample_grid",
]
