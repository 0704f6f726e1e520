"""SCAT (Zuo et al., AAAI 2023): segmentation confusion adversarial training + textural and
semantic contrastive losses, for free-form inpainting.

Networks: the AOT-GAN generator (:mod:`ci_inpaint.nn.aot`) and one U-Net discriminator that is
both the global D and the segmentation network S (:mod:`ci_inpaint.nn.unet_d`), plus the
semantic loss's projection MLP (D's global features -> 256 -> 256).

One step (losses in :mod:`ci_inpaint.losses.scat` and :mod:`ci_inpaint.losses.gan`):

* D step: lambda_adv (global hinge on x vs the composite x_bar + SCAT Eq. 1: S(x) valid
  everywhere, S(x_bar) generated on the hole, valid elsewhere). Composites are detached.
* G step (D fixed: its parameters take no gradient; gradients flow through it into G):
  Eq. 8 = lambda_rec L1(x_hat, x) over the whole output (Eq. 7) + lambda_adv (global hinge +
  SCAT Eq. 2, every pixel or, as the authors' code, holes only) + lambda_text Eq. 3 (D's four
  shallow feature levels of x_bar vs x and x~) + lambda_sem Eq. 4 (anchor x_bar, positive x,
  negatives each x_i re-corrupted by every mask of the batch: M = batch size).
* The projection MLP is trained by G's optimiser (one Adam over G and the MLP, minimising
  Eq. 8, as CUT trains its projection heads); D's own weights never see L_sem or L_text.

Variants (Table 3's rows, cumulative): ``baseline`` (global adversarial + L1), ``scat``
(+ SCAT), ``text`` (+ textural), ``full`` (+ semantic: the paper). ``temperature``: ``paper``
divides the cosines by ``tau`` (the paper's t; its value is not stated, 0.07 is what the
authors' code stores) or ``code`` (the authors' code: no temperature, t = 1).

Mask convention at this edge: batches carry ``mask`` = 1 on holes (the repository's); SCAT's m
is 1 on valid pixels (m = 1 - mask). x~ = x * (1 - mask) + hole_fill * mask (``hole_fill`` 0:
the paper's x ⊙ m; 1: AOT-GAN's trainer, which SCAT's code builds on, paints holes white),
x_bar = mask x_hat + (1 - mask) x. x~ is both G's input and the textural / semantic negatives.

Data: ``photos`` (bundled :class:`~ci_inpaint.data.PhotoPatches`, smoke/quick, with DeepFill-v2
free-form masks) or ``celeba`` / ``places2`` at 256 px with the NVIDIA irregular masks
(random flips and 90-degree rotations; ``mask_root``), the paper's setting (``full``); built
in :mod:`ci_inpaint.data.scat`. Evaluation (Table 1's metrics per hole-ratio bucket, S's map):
:mod:`ci_inpaint.evaluation.scat`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..config import TrainConfig
from ..data.scat import (  # noqa: F401 (re-exported: their home is data.scat)
    EVAL_BUCKETS,
    STROKES,
    _eval_pairs,
    eval_pairs,
    photo_masks,
    probe_item,
    train_dataset,
)
from ..errors import ConfigError
from ..evaluation.scat import contrast_scores, evaluate_run, fid_fallback, s_map_scores  # noqa: F401
from ..losses.gan import d_hinge, g_hinge, grad_norm_ratios
from ..losses.scat import (
    G_REGIONS,
    corrupt,
    recorrupt,
    scat_d_loss,
    scat_g_loss,
    semantic_contrastive_loss,
    textural_contrastive_loss,
)
from ..nn.aot import UPSAMPLE, AOTGenerator
from ..nn.unet_d import SIZES, ProjectionMLP, UNetDiscriminator
from . import Method, register
from .common import frozen, in_batches

VARIANTS = ("baseline", "scat", "text", "full")  # Table 3: Baseline, -1, -2, Proposed
DATASETS = ("photos", "celeba", "places2")


def uses(variant: str) -> dict[str, bool]:
    """Which of SCAT's three additions a variant trains with (Table 3 adds them in order)."""
    k = VARIANTS.index(variant)
    return {"scat": k >= 1, "text": k >= 2, "sem": k >= 3}


@dataclass
class SCATConfig(TrainConfig):
    variant: str = "full"  # baseline | scat | text | full (Table 3 rows, cumulative)
    dataset: str = "photos"  # photos (bundled patches) | celeba | places2 (data_root, full)
    mask_root: str = ""  # celeba/places2: the NVIDIA irregular mask folder (data_scripts/nvidia_masks.py)
    resolution: int = 256  # image side: 32, 64, 128 or 256 (the paper: 256)
    width: int = 64  # G's first conv width (then x2, x4); the paper (AOT-GAN): 64
    blocks: int = 8  # AOT blocks; the paper (AOT-GAN): 8
    rates: str = "1,2,4,8"  # dilation rates of the four AOT branches
    upsample: str = "nearest"  # nearest (SCAT code) | bilinear (AOT-GAN code)
    d_width: int = 64  # U-Net D width (U-Net GAN table: 64 at 256 px)
    proj_dim: int = 256  # semantic MLP: global features -> 256 -> 256
    lambda_rec: float = 10.0  # Eq. 8
    lambda_adv: float = 1.0  # Eq. 8: global hinge + SCAT
    lambda_text: float = 10.0  # Eq. 5
    lambda_sem: float = 1.0  # Eq. 5
    temperature: str = "paper"  # paper (cosine / tau) | code (no temperature, the authors' code)
    tau: float = 0.07  # t of Eq. 4 (unstated in the paper; the code stores 0.07)
    g_region: str = "all"  # SCAT G term: all (Eq. 2, every pixel) | hole (the authors' code)
    hole_fill: float = 0.0  # value of hole pixels in x~: 0 (the paper, x * m) | 1 (white, AOT-GAN's trainer)
    lr: float = 1e-4  # Adam, G and D (paper 1e-4)
    beta1: float = 0.0
    beta2: float = 0.99
    max_strokes: int = 6  # photos: free-form masks of 1..max_strokes strokes
    patches_per_photo: int = 256  # photos: training patches per source photo

    PROFILES: ClassVar = {
        "smoke": {"resolution": 32, "width": 4, "blocks": 1, "rates": "1,2,4,6", "d_width": 4,
                  "proj_dim": 32, "steps": 3, "batch_size": 4, "log_every": 1, "ckpt_every": 3,
                  "eval_every": 2, "patches_per_photo": 16, "lr": 5e-4},
        # 2-core CPU minutes: 32 px patches, G 8-16-32 with 2 AOT blocks (rates 1,2,4,6: at
        # 32 px the blocks see 8x8 maps, where reflect padding 8 does not fit), D width 8,
        # the paper's batch 8 (M = 8 negatives), 5x the paper's lr to move in few steps;
        # 800 steps: about 75 s (Baseline) to 140 s (Proposed) a run on one core
        "quick": {"resolution": 32, "width": 8, "blocks": 2, "rates": "1,2,4,6", "d_width": 8,
                  "proj_dim": 64, "steps": 800, "batch_size": 8, "log_every": 25,
                  "ckpt_every": 200, "eval_every": 100, "lr": 5e-4},
        # the paper: CelebA 300k iterations (Places2: 1M), 256 px, batch 8, Adam 1e-4 (0, 0.99)
        "full": {"dataset": "celeba", "resolution": 256, "steps": 300_000, "batch_size": 8,
                 "log_every": 100, "ckpt_every": 5000, "eval_every": 10_000},
    }
    RANGES: ClassVar = {"width": ">= 4", "blocks": ">= 0", "d_width": ">= 1", "proj_dim": ">= 1",
                        "lambda_rec": ">= 0", "lambda_adv": ">= 0", "lambda_text": ">= 0",
                        "lambda_sem": ">= 0", "tau": "> 0", "hole_fill": "[-1, 1]", "lr": "> 0",
                        "beta1": "[0, 1)", "beta2": "[0, 1)", "max_strokes": ">= 1",
                        "patches_per_photo": ">= 1"}
    CHOICES: ClassVar = {"variant": VARIANTS, "dataset": DATASETS, "upsample": UPSAMPLE,
                         "temperature": ("paper", "code"), "g_region": G_REGIONS}


def parse_rates(text: str) -> tuple[int, ...]:
    try:
        rates = tuple(int(r) for r in text.split(","))
    except ValueError:
        rates = ()
    if len(rates) != 4 or min(rates) < 1:
        raise ConfigError(f"rates must be four positive integers like 1,2,4,8, got {text!r}")
    return rates


# ----------------------------------------------------------------------------- method
@register
class SCAT(Method):
    name = "scat"
    Config = SCATConfig
    summary = "SCAT (AAAI 2023): segmentation confusion adversarial training + contrastive losses"

    @classmethod
    def check_config(cls, cfg: SCATConfig) -> None:
        if cfg.resolution not in SIZES:
            raise ConfigError(f"resolution must be one of {SIZES}, got {cfg.resolution}: "
                              "use e.g. --set resolution=32")
        rates = parse_rates(cfg.rates)
        if max(rates) >= cfg.resolution // 4:
            raise ConfigError(f"AOT rate {max(rates)} needs a reflect padding below the blocks' "
                              f"{cfg.resolution // 4} px side: use smaller rates, e.g. 1,2,4,6")
        if cfg.width % 4 and cfg.blocks:
            raise ConfigError(f"width {cfg.width} must be a multiple of 4 (four AOT branches)")
        if cfg.dataset != "photos" and not (cfg.data_root and cfg.mask_root):
            raise ConfigError(f"dataset={cfg.dataset} needs data_root (the images) and mask_root "
                              "(NVIDIA masks, data_scripts/nvidia_masks.py): pass both with --set")
        if cfg.dataset == "photos" and cfg.data_root:
            raise ConfigError("dataset=photos is bundled and reads no data_root: drop it")
        if cfg.dataset == "photos" and cfg.resolution > 128:
            raise ConfigError(f"dataset=photos has patches of 32, 64 or 128 px, not "
                              f"{cfg.resolution}: lower resolution or use celeba/places2")

    def __init__(self, cfg: SCATConfig, device: torch.device):
        super().__init__(cfg, device)
        self.use = uses(cfg.variant)
        self.G = AOTGenerator(cfg.width, cfg.blocks, cfg.upsample, parse_rates(cfg.rates),
                              cfg.hole_fill).to(device)
        self.D = UNetDiscriminator(cfg.resolution, cfg.d_width).to(device)
        self.P = ProjectionMLP(self.D.feat_dim, cfg.proj_dim).to(device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam([*self.G.parameters(), *self.P.parameters()], cfg.lr, betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), cfg.lr, betas)
        self._dataset = None  # built on first use (a unit test may never need it)
        self.s_history: list[dict[str, Any]] = []  # S's map on a fixed image at each evaluate

    def modules(self):
        return {"G": self.G, "D": self.D, "P": self.P}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    @property
    def dataset(self):
        if self._dataset is None:
            self._dataset = train_dataset(self.cfg)
        return self._dataset

    def train_set(self):
        return self.dataset

    @property
    def tau(self) -> float | None:
        return None if self.cfg.temperature == "code" else self.cfg.tau

    @staticmethod
    def composite(x_hat: Tensor, image: Tensor, hole: Tensor) -> Tensor:
        return hole * x_hat + (1 - hole) * image

    def train_step(self, batch, ctx):
        cfg, G, D, use = self.cfg, self.G, self.D, self.use
        x, hole = batch["image"], batch["mask"]
        B = x.shape[0]

        # D step: global hinge on x vs x_bar (+ SCAT Eq. 1 on S's per-pixel maps)
        with torch.no_grad(), ctx.autocast():
            comp = self.composite(G(x, hole), x, hole)
        with ctx.autocast():
            o = D(torch.cat([x, comp]), pixel=use["scat"])
        real, fake = o.logit.float().chunk(2)
        d_terms = {"d_adv": cfg.lambda_adv * d_hinge(real, fake)}
        if use["scat"]:
            s_real, s_comp = o.pixel.float().chunk(2)
            d_terms["d_scat"] = cfg.lambda_adv * scat_d_loss(s_real, s_comp, hole)
        ctx.optimize("D", d_terms)

        # G step (+ the MLP): Eq. 8 with D fixed; one encoder pass over every image D must see
        with frozen(D):
            with ctx.autocast():
                x_hat = G(x, hole)
                comp = self.composite(x_hat, x, hole)
                parts = [comp]
                if use["text"] or use["sem"]:
                    parts.append(x)
                if use["text"]:
                    parts.append(corrupt(x, hole, cfg.hole_fill))
                if use["sem"]:
                    parts.append(recorrupt(x, hole, cfg.hole_fill).flatten(0, 1))  # (B * B, C, H, W)
                feats, g = D.encode(torch.cat(parts))
                terms = {"rec": cfg.lambda_rec * (x_hat.float() - x.float()).abs().mean(),
                         "g_adv": cfg.lambda_adv * g_hinge(D.linear(g[:B]).float())}
                if use["scat"]:
                    s_comp = D.decode([f[:B] for f in feats]).float()
                    terms["g_scat"] = cfg.lambda_adv * scat_g_loss(s_comp, hole, cfg.g_region)
                if use["text"]:
                    sh = feats[:4]
                    terms["text"] = cfg.lambda_text * textural_contrastive_loss(
                        [f[:B] for f in sh], [f[B:2 * B] for f in sh], [f[2 * B:3 * B] for f in sh])
                if use["sem"]:
                    z = self.P(g.float())
                    terms["sem"] = cfg.lambda_sem * semantic_contrastive_loss(
                        z[:B], z[B:2 * B], z[-B * B:].view(B, B, -1), self.tau)
            ratios = {}  # each term's pull on G against the adversarial term (logged steps)
            if len(terms) > 1 and ctx.step % cfg.log_every == 0:
                ratios = grad_norm_ratios(terms, list(G.parameters()), "g_adv")
            ctx.optimize("G", terms)
        return {**{k: v.detach() for k, v in d_terms.items()},
                **{k: v.detach() for k, v in terms.items()}, **ratios}

    # -- inference ------------------------------------------------------------------------
    @torch.no_grad()
    def inpaint(self, image: Tensor, hole: Tensor, batch_size: int = 64) -> Tensor:
        """Composites x_bar for (image, hole) rows, on CPU, in [-1, 1]."""
        return in_batches(lambda x, m: self.composite(self.G(x, m), x, m).clamp(-1, 1),
                          image, hole, self.device, batch_size)

    @torch.no_grad()
    def segment(self, image: Tensor) -> Tensor:
        """S's per-pixel logit map (B, 1, H, W) of images (> 0: valid, < 0: generated)."""
        return self.D(image.to(self.device), logit=False).pixel.float().cpu()

    def probe(self) -> dict[str, Tensor]:
        """The fixed validation image and hole whose S map is recorded during training."""
        if not hasattr(self, "_probe"):
            self._probe = probe_item(self.cfg)
        return self._probe

    def contrast_probe(self) -> dict[str, Tensor]:
        """Eight fixed held-out images with 20-40 % holes: the contrastive distances' rows."""
        if not hasattr(self, "_contrast_probe"):
            images, masks, _ = eval_pairs(self.cfg, 8, buckets=("20-40",), split="val")
            self._contrast_probe = {"image": images, "mask": masks}
        return self._contrast_probe

    def evaluate(self, ctx):
        """S's map on the probe composite (kept in ``s_history``) and how well it finds the hole
        (:func:`~ci_inpaint.evaluation.scat.s_map_scores`: ``s_gap``, ``s_acc``, ``probe_l1``),
        and what the contrastive losses see on :meth:`contrast_probe`
        (:func:`~ci_inpaint.evaluation.scat.contrast_scores`: ``text_*``, ``sem_*``)."""
        p = self.probe()
        comp = self.inpaint(p["image"], p["mask"])
        s = self.segment(comp)
        self.s_history.append({"step": int(getattr(ctx, "step", 0)), "s": s[0, 0].half(),
                               "comp": comp[0].half()})
        c = self.contrast_probe()
        return {**s_map_scores(s, p["mask"], comp, p["image"]),
                **contrast_scores(self, c["image"], c["mask"])}

    def extra_state(self):
        return {"s_history": self.s_history}

    def load_extra_state(self, state):
        self.s_history = list(state.get("s_history", []))


__all__ = ["DATASETS", "EVAL_BUCKETS", "SCAT", "SCATConfig", "VARIANTS", "eval_pairs",
           "evaluate_run", "fid_fallback", "parse_rates", "probe_item", "train_dataset", "uses"]
