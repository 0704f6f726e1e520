"""ContrasFill (Li et al., ECCV 2022): diverse, disentangled foreground generation.

G(k, u, I) fills the masked object region of I from a known code k (one factor, read by a
pretrained frozen classifier E_k) and an unknown code u ~ N(0, I) (everything else, read by
E_u trained from scratch), injected by bi-modulated convolutions
(:mod:`ci_inpaint.nn.bimod`). Loss (Eq. 7): L_gan + lambda_1 L_known + lambda_2 L_unknown,
the contrastive terms of :mod:`ci_inpaint.losses.contrasfill` over a batch of code
combinations, each on its own context (background) image.

Variants (``variant``; the rows of Tables 1 and 3 right):

* ``contrasfill`` -- the paper: bi-modulation, both contrastive losses;
* ``comod`` -- no contrastive loss, one code z ~ N(0, I) co-modulated with the encoder's global
  code (CoModGAN-like, Table 1's first row);
* ``contrasfill1`` -- ContrasFill-1 (Table 1; the paper defers its definition to the supplement,
  so this is ours): one code z ~ N(0, I) of size k_dim + u_dim in one affine per conv, and one
  contrastive loss in that one space: each z is drawn twice, on two contexts; positives share
  z, negatives have another z; features = [E_k, E_u] (both L2-normalised, concatenated), so it
  sees the same encoders as ContrasFill and only the code spaces are merged;
* ``concat`` / ``k-u`` / ``u-k`` -- Table 3 right's injections (:mod:`ci_inpaint.nn.bimod`);
* ``repredict`` -- Table 3 right: the contrastive losses replaced by reprediction, known:
  cross-entropy of E_k's classifier head against k's class (one-hot k; a sphere k: 1 - cos of
  E_k's feature with k), unknown: L1 of E_u's regression head against u (BicycleGAN-style).

Batches (``pairing``): ``grid`` renders all N_k x N_u combinations; ``pairs`` is the paper's
memory-saving batch (N = 8 -> 16 images): (k_i, u_i) and (k_i, u_pi(i)), pi a derangement,
so every image has one positive and one hard negative per space. The batch of dataset items
gives each combination its own context. One-hot known codes are distinct classes drawn without
replacement (two equal one-hot codes would be a positive counted as a negative).

Other choices (the paper is silent): tau = 0.1, lambda_1 = lambda_2 = 1; GAN as StyleGAN2
(non-saturating logistic, lazy R1 every 16 steps with gamma = 0.0002 res^2 / batch, Adam
(0, 0.99) with the k/(k+1) correction on D, no path-length regulariser); D sees the composite
and the mask; E_u is trained by G's optimiser (one Adam over G and E_u minimising Eq. 7; E_u
gets gradient only from L_unknown); EMA of G for evaluation.

Data: ``factor_shapes`` (:class:`ci_inpaint.data.FactorShapes`, known = object class, unknown
= colour, size, pose, position; the object's box is the hole) or ``celebamask_hq`` (faces at
256, prepared by ``data_scripts/celebamask_hq.py``; known = identity with a user-supplied
TorchScript encoder file ``known_encoder``, sphere codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import TrainConfig, knob
from ..data.contrasfill import FaceBoxes, eval_items  # data: data/contrasfill.py
from ..errors import ConfigError, DataError
from ..evaluation.contrasfill import (  # evaluation: evaluation/contrasfill.py; re-exported
    FACTORS,
    change_rates,
    evaluate_run,
    factor_predictor,
    kffa_net,
    samples,
)
from ..losses.contrasfill import code_contrastive_loss, grid_ids, paired_codes
from ..losses.gan import (
    d_nonsaturating,
    g_nonsaturating,
    lazy_adam,
    lazy_regularization,
    r1_gamma_heuristic,
    r1_penalty,
)
from ..nn.contrasfill import ContrasFillDiscriminator, ContrasFillGenerator, UnknownEncoder
from . import Method, path_digests, register
from .common import eval_mode, frozen

VARIANTS = ("contrasfill", "comod", "contrasfill1", "concat", "k-u", "u-k", "repredict")
SINGLE = ("comod", "contrasfill1")  # one code z, no known/unknown split
DATASETS = ("factor_shapes", "celebamask_hq")


@dataclass
class ContrasFillConfig(TrainConfig):
    variant: str = knob("contrasfill", choices=VARIANTS)  # contrasfill | comod | contrasfill1 | concat | k-u | u-k | repredict
    dataset: str = knob("factor_shapes", choices=DATASETS)  # factor_shapes (synthetic) | celebamask_hq (faces, full)
    resolution: int = knob(32, range=">= 8")  # image side (power of two); full: 256
    num_classes: int = knob(8, range=">= 2")  # factor_shapes classes (= one-hot known codes)
    n_train: int = knob(2000, range=">= 1")  # factor_shapes training images
    known_code: str = knob("onehot", choices=("onehot", "sphere"))  # onehot (classes, cars/birds) | sphere (unit vectors, faces)
    k_dim: int = knob(0, range=">= 0")  # sphere code size (0: the classifier's feature size); onehot: num_classes
    u_dim: int = knob(16, range=">= 1")  # unknown code size
    pairing: str = knob("pairs", choices=("pairs", "grid"))  # pairs (2N images, one hard negative per code) | grid (N_k x N_u)
    n_known: int = knob(8, range=">= 1")  # N known codes per batch
    n_unknown: int = knob(8, range=">= 1")  # N unknown codes per batch (pairs: must equal n_known)
    width: int = knob(16, range=">= 1")  # channels at full resolution (doubling per halving, capped)
    channel_max: int = knob(256, range=">= 1")
    eu_dim: int = knob(128, range=">= 1")  # E_u feature size
    tau: float = knob(0.1, range="> 0")  # temperature of Eq. 2 (paper silent)
    lambda_known: float = knob(1.0, range=">= 0")  # lambda_1 of Eq. 7
    lambda_unknown: float = knob(1.0, range=">= 0")  # lambda_2 of Eq. 7
    lr: float = knob(2e-3, range="> 0")  # Adam, StyleGAN2
    beta1: float = knob(0.0, range="[0, 1)")
    beta2: float = knob(0.99, range="[0, 1)")
    r1_gamma: float = -1.0  # R1 gamma; -1: 0.0002 res^2 / batch (NVlabs heuristic)
    r1_every: int = knob(16, range=">= 1")  # lazy R1 interval
    feat_input: str = knob("composite", choices=("composite", "hole"))  # composite (the whole image to E_k/E_u) | hole (hole pixels only)
    impl: str = knob("scale", choices=("scale", "grouped"))  # scale (activation scaling) | grouped (per-sample kernels)
    known_encoder: str = ""  # celebamask_hq: TorchScript file, images in [-1,1] -> identity features
    background: str = knob("texture", choices=("texture", "plain"))  # factor_shapes: texture (hole fill is not trivial) | plain (its mean colour: the fill is all object)
    object_scale: float = knob(0.14, range="[0.05, 0.33]")  # factor_shapes: smallest object radius / side (4 sizes, +0.04 each)
    ek_n: int = knob(2000, range=">= 10")  # factor_shapes: images the frozen E_k classifier is trained on
    ek_epochs: int = knob(4, range=">= 1")
    ek_batch: int = knob(128, range=">= 1")  # batch size of the classifiers' training
    hole_dilate: int = knob(1, range="[0, 16]")  # the hole = the object's box grown by this many pixels (larger: a flat fill is no shape)
    ek_noise: float = knob(0.0, range="[0, 2]")  # classifiers' training noise / blur (std up to this): smoother input gradients for G

    PROFILES: ClassVar = {
        "smoke": {"steps": 4, "batch_size": 8, "n_known": 4, "n_unknown": 4, "width": 8,
                  "n_train": 64, "ek_n": 600, "ek_epochs": 2, "log_every": 1, "ckpt_every": 4,
                  "channel_max": 64},
        # 2-core CPU minutes: 32 px, narrow nets, 4 classes (our small classifier reaches
        # ~55 % on 8), the full 4 x 4 grid = the paper's batch of 16
        "quick": {"steps": 120, "batch_size": 16, "width": 8, "channel_max": 64,
                  "num_classes": 4, "pairing": "grid", "n_known": 4, "n_unknown": 4,
                  "ek_n": 3000, "ek_epochs": 10, "n_train": 800, "log_every": 20,
                  "ckpt_every": 120, "ema_decay": 0.97},
        # the paper's setting: 256 px, N = 8 -> batch 16; EMA half-life 10k images (StyleGAN2)
        "full": {"dataset": "celebamask_hq", "resolution": 256, "known_code": "sphere",
                 "width": 32, "channel_max": 512, "steps": 200_000, "batch_size": 16,
                 "ema_decay": 0.5 ** (16 / 10_000), "log_every": 100, "ckpt_every": 5000,
                 "tau": 0.1},
    }


def object_scales(cfg: ContrasFillConfig) -> tuple[float, ...]:
    """FactorShapes' four radius fractions: ``object_scale`` and three steps of 0.04."""
    return tuple(round(cfg.object_scale + 0.04 * i, 4) for i in range(4))


def shapes(cfg: ContrasFillConfig, n: int, seed: int, precompute: bool = False):
    """The factor shapes of this config (training: seed 1; evaluation: other seeds)."""
    from ..data import FactorShapes

    return FactorShapes(n, size=cfg.resolution, seed=seed, num_classes=cfg.num_classes,
                        precompute=precompute, scales=object_scales(cfg),
                        background=cfg.background)


def codes_per_batch(cfg: ContrasFillConfig) -> int:
    if cfg.variant in SINGLE:
        return cfg.batch_size  # any even batch: batch / 2 codes, each on two contexts
    return 2 * cfg.n_known if cfg.pairing == "pairs" else cfg.n_known * cfg.n_unknown


# ----------------------------------------------------------------------------- E_k
class KnownEncoder(nn.Module):
    """E_k for a user-supplied TorchScript file (faces: an ArcFace-like identity net):
    ``features(x)`` = the file's output; no classifier head (reprediction needs one-hot)."""

    def __init__(self, path: str):
        super().__init__()
        p = Path(path)
        if not p.is_file():
            raise DataError(f"known_encoder file {p} does not exist: pass a TorchScript file "
                            "(torch.jit.save) mapping images in [-1, 1] to identity features")
        try:
            self.net = torch.jit.load(str(p), map_location="cpu")
        except (RuntimeError, ValueError) as e:
            raise DataError(f"known_encoder {p} is not a TorchScript file ({e.__class__.__name__})"
                            ": save it with torch.jit.save(torch.jit.script(model), path)") from None
        self.net.eval()
        for p_ in self.net.parameters():
            p_.requires_grad_(False)

    def features(self, x: Tensor) -> Tensor:
        return self.net(x).flatten(1)


def known_classifier(cfg: ContrasFillConfig, seed: int = 0, feat_dim: int = 128,
                     factors: tuple[str, ...] = ("label",), device=None):
    """The cached frozen FactorShapes classifier (:mod:`ci_inpaint.metrics.classifier`):
    seed 0 = E_k; another seed / width = KFFA's second classifier or the factor predictor."""
    from ..metrics.classifier import factor_classifier

    return factor_classifier(factors=factors, num_classes=cfg.num_classes, n=cfg.ek_n,
                             size=cfg.resolution, input_size=min(cfg.resolution, 32),
                             epochs=cfg.ek_epochs, lr=3e-3, seed=seed, feat_dim=feat_dim,
                             batch_size=cfg.ek_batch, scales=_scales_key(cfg),
                             background=cfg.background, noise=cfg.ek_noise, device=device)


def _scales_key(cfg: ContrasFillConfig) -> tuple[float, ...] | None:
    """None at FactorShapes' default sizes, so the classifiers cached before the knob stay."""
    from ..data.synthetic import SCALE_FRACS

    scales = object_scales(cfg)
    return None if scales == SCALE_FRACS else scales


# ----------------------------------------------------------------------------- method
@register
class ContrasFill(Method):
    name = "contrasfill"
    Config = ContrasFillConfig
    summary = "ContrasFill (ECCV 2022): known/unknown codes, bi-modulation, grid contrastive loss"
    ema_modules = ("G",)

    @classmethod
    def check_config(cls, cfg: ContrasFillConfig) -> None:
        if cfg.resolution & (cfg.resolution - 1):
            raise ConfigError(f"resolution must be a power of two, got {cfg.resolution}: "
                              "use e.g. --set resolution=32")
        if cfg.variant in SINGLE:
            if cfg.batch_size % 2:
                raise ConfigError(f"variant {cfg.variant} draws each code twice: batch_size must "
                                  f"be even, got {cfg.batch_size}")
        elif cfg.pairing == "pairs" and (cfg.n_known != cfg.n_unknown or cfg.n_known < 2):
            raise ConfigError(f"pairing=pairs needs n_known = n_unknown >= 2, got {cfg.n_known} "
                              f"and {cfg.n_unknown}: set both to N (the paper: 8)")
        n = codes_per_batch(cfg)
        if cfg.batch_size != n:
            raise ConfigError(f"batch_size {cfg.batch_size} must equal the images per code batch "
                              f"({n} for pairing={cfg.pairing}, n_known={cfg.n_known}, "
                              f"n_unknown={cfg.n_unknown}): pass --set batch_size={n}")
        if cfg.known_code == "onehot" and cfg.variant not in SINGLE and cfg.n_known > cfg.num_classes:
            raise ConfigError(f"one-hot known codes must be distinct: n_known {cfg.n_known} > "
                              f"num_classes {cfg.num_classes}: lower n_known")
        if cfg.dataset == "celebamask_hq":
            if not cfg.data_root or not cfg.known_encoder:
                raise ConfigError("dataset=celebamask_hq needs data_root (from "
                                  "data_scripts/celebamask_hq.py) and known_encoder (a TorchScript "
                                  "identity encoder): pass both with --set")
            if cfg.known_code != "sphere" or cfg.variant == "repredict":
                raise ConfigError("faces use known_code=sphere, and reprediction needs one-hot "
                                  "classes: set known_code=sphere and another variant")
        elif cfg.data_root:
            raise ConfigError(f"dataset=factor_shapes is synthetic and reads no data_root "
                              f"(got {cfg.data_root!r}): drop data_root")

    @classmethod
    def sources(cls, cfg: ContrasFillConfig) -> dict[str, str]:
        return path_digests(cfg, "known_encoder")  # the user's E_k file (celebamask_hq)

    def __init__(self, cfg: ContrasFillConfig, device: torch.device):
        super().__init__(cfg, device)
        from ..data.contrasfill import box_holes

        if cfg.dataset == "factor_shapes":
            base = shapes(cfg, cfg.n_train, seed=1, precompute=True)
            self.E_k = known_classifier(cfg, seed=0)
        else:
            base = FaceBoxes(cfg.data_root, "train", cfg.resolution)
            self.E_k = KnownEncoder(cfg.known_encoder)
        self.E_k.to(device)
        self.dataset = box_holes(base, cfg, cfg.seed)
        with torch.no_grad():
            ek_dim = self.E_k.features(torch.zeros(1, 3, cfg.resolution, cfg.resolution,
                                                   device=device)).shape[1]
        self.ek_dim = ek_dim
        self.k_dim = cfg.num_classes if cfg.known_code == "onehot" else (cfg.k_dim or ek_dim)
        single = cfg.variant in SINGLE
        injection = {"comod": "single", "contrasfill1": "single", "repredict": "bimod",
                     "contrasfill": "bimod"}.get(cfg.variant, cfg.variant)
        self.z_dim = self.k_dim + cfg.u_dim  # single-code variants: one code of both sizes
        self.G = ContrasFillGenerator(cfg.resolution, self.k_dim,
                                      self.z_dim if single else cfg.u_dim, cfg.width,
                                      cfg.channel_max, injection, cfg.variant == "comod",
                                      impl=cfg.impl).to(device)
        self.D = ContrasFillDiscriminator(cfg.resolution, cfg.width, cfg.channel_max).to(device)
        self.E_u = UnknownEncoder(cfg.resolution, cfg.width, cfg.eu_dim, cfg.channel_max,
                                  out_dim=cfg.u_dim if cfg.variant == "repredict" else 0).to(device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam([*self.G.parameters(), *self.E_u.parameters()], cfg.lr, betas)
        d_lr, d_betas = lazy_adam(cfg.lr, betas, cfg.r1_every)
        self.opt_D = torch.optim.Adam(self.D.parameters(), d_lr, d_betas)
        self.gamma = cfg.r1_gamma if cfg.r1_gamma >= 0 else r1_gamma_heuristic(cfg.resolution,
                                                                                cfg.batch_size)
        self._ema: dict[str, nn.Module] = {}

    def modules(self):
        return {"G": self.G, "D": self.D, "E_u": self.E_u}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def frozen_modules(self):
        return {"E_k": self.E_k}

    def train_set(self):
        return self.dataset

    @property
    def single(self) -> bool:
        return self.cfg.variant in SINGLE

    @property
    def sampler(self) -> nn.Module:
        """EMA copy of G when there is one (training or loaded by ``load_run``), else G."""
        return (self._ema or getattr(self, "loaded_ema", {})).get("G", self.G)

    # -- codes ----------------------------------------------------------------------------
    def known_codes(self, ids_or_n, generator: torch.Generator | None = None) -> Tensor:
        """One-hot codes of class ids (a list/tensor), or ``n`` random unit vectors (sphere;
        an int)."""
        if self.cfg.known_code == "onehot":
            ids = torch.as_tensor(ids_or_n, dtype=torch.long).flatten()
            return F.one_hot(ids, self.k_dim).float().to(self.device)
        k = torch.randn(int(ids_or_n), self.k_dim, generator=generator)
        return F.normalize(k, dim=1).to(self.device)

    def unknown_codes(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        dim = self.z_dim if self.single else self.cfg.u_dim
        return torch.randn(n, dim, generator=generator).to(self.device)

    def draw_codes(self, b: int) -> tuple[Tensor | None, Tensor, Tensor, Tensor, Tensor | None]:
        """(k, u, k_ids, u_ids, classes) of one batch from the global RNG. Single-code variants:
        k None, u = z, k_ids = which z, u_ids = which of its two contexts."""
        cfg = self.cfg
        if self.single:
            n = b // 2
            z = torch.randn(n, self.z_dim)
            ids = torch.arange(n).repeat_interleave(2)
            return None, z[ids].to(self.device), ids, torch.arange(2).repeat(n), None
        if cfg.pairing == "pairs":
            k_ids, u_ids = paired_codes(cfg.n_known)
        else:
            k_ids, u_ids = grid_ids(cfg.n_known, cfg.n_unknown)
        classes = None
        if cfg.known_code == "onehot":
            classes = torch.randperm(cfg.num_classes)[:cfg.n_known][k_ids]
            k = self.known_codes(classes)
        else:
            k = self.known_codes(cfg.n_known)[k_ids.to(self.device)]
        u = self.unknown_codes(cfg.n_unknown)[u_ids.to(self.device)]
        return k, u, k_ids, u_ids, classes

    # -- training -------------------------------------------------------------------------
    @staticmethod
    def composite(out: Tensor, image: Tensor, mask: Tensor) -> Tensor:
        return out * mask + image * (1 - mask)

    def _features_input(self, fake: Tensor, mask: Tensor) -> Tensor:
        return fake * mask if self.cfg.feat_input == "hole" else fake

    def code_terms(self, fake: Tensor, mask: Tensor, k, u, k_ids, u_ids, classes):
        """The weighted code losses of Eq. 7 (or their variant) on the composites ``fake``."""
        cfg, v = self.cfg, self.cfg.variant
        if v == "comod":
            return {}
        x = self._features_input(fake, mask).float()
        z_k = self.E_k.features(x)
        k_ids, u_ids = k_ids.to(fake.device), u_ids.to(fake.device)
        if v == "contrasfill1":
            z = torch.cat([F.normalize(z_k, dim=1), F.normalize(self.E_u(x), dim=1)], 1)
            return {"contra": cfg.lambda_known * code_contrastive_loss(z, k_ids, u_ids, "known",
                                                                       cfg.tau)}
        if v == "repredict":
            if classes is not None:
                known = F.cross_entropy(self.E_k(x), classes.to(fake.device))
            else:
                known = (1 - F.cosine_similarity(z_k, k, dim=1)).mean()
            unknown = (self.E_u.repredict(x) - u).abs().mean()
            return {"known_repredict": cfg.lambda_known * known,
                    "unknown_repredict": cfg.lambda_unknown * unknown}
        return {"known": cfg.lambda_known * code_contrastive_loss(z_k, k_ids, u_ids, "known",
                                                                  cfg.tau),
                "unknown": cfg.lambda_unknown * code_contrastive_loss(self.E_u(x), k_ids, u_ids,
                                                                      "unknown", cfg.tau)}

    def train_step(self, batch, ctx):
        cfg, G, D = self.cfg, self.G, self.D
        self._ema = ctx.ema
        x, m = batch["image"], batch["mask"]
        k, u, k_ids, u_ids, classes = self.draw_codes(x.shape[0])

        # D step: non-saturating logistic on real vs composite, then lazy R1 on reals
        with torch.no_grad(), ctx.autocast():
            fake = self.composite(G(x, m, k, u), x, m)
        with ctx.autocast():
            d_adv = d_nonsaturating(D(x, m).float(), D(fake, m).float())
        ctx.optimize("D", {"d_adv": d_adv})
        out = {"d_adv": d_adv.detach()}
        if weight := lazy_regularization(ctx.step, cfg.r1_every):
            r1 = weight * r1_penalty(lambda im: D(im, m).float(), x, self.gamma)
            ctx.optimize("D", {"r1": r1})
            out["r1"] = r1.detach()

        # G step (and E_u): Eq. 7; D frozen, gradients still reach G through it
        with frozen(D):
            with ctx.autocast():
                fake = self.composite(G(x, m, k, u), x, m)
                terms = {"g_adv": g_nonsaturating(D(fake, m).float()),
                         **self.code_terms(fake, m, k, u, k_ids, u_ids, classes)}
            ctx.optimize("G", terms)
        return {**out, **{n: t.detach() for n, t in terms.items()}}

    # -- sampling -------------------------------------------------------------------------
    @torch.no_grad()
    def inpaint(self, image: Tensor, mask: Tensor, k: Tensor | None, u: Tensor,
                batch_size: int = 256) -> Tensor:
        """Composites G(k, u, I) for rows of (image, mask, k, u) (same length), in eval mode,
        with the EMA generator when there is one; CPU float output in [-1, 1] (clamped)."""
        G = self.sampler
        outs = []
        with eval_mode(G):
            for i in range(0, len(image), batch_size):
                sl = slice(i, i + batch_size)
                x, m = image[sl].to(self.device), mask[sl].to(self.device)
                kk = None if k is None or self.single else k[sl].to(self.device)
                outs.append(self.composite(G(x, m, kk, u[sl].to(self.device)), x, m).float().cpu())
        return torch.cat(outs).clamp(-1, 1)

    def evaluate(self, ctx):
        """A cheap logged scalar: KFFA under E_k itself over 8 inputs x 8 samples."""
        from ..metrics import kffa

        g = torch.Generator().manual_seed(123)
        items = [self.dataset[i] for i in range(min(8, len(self.dataset)))]
        x = torch.stack([it["image"] for it in items]).repeat_interleave(8, 0)
        m = torch.stack([it["mask"] for it in items]).repeat_interleave(8, 0)
        k, u = self.random_codes(len(x), g)
        feats = self.E_k.features(self.inpaint(x, m, k, u).to(self.device)).cpu()
        return {"kffa_ek": kffa(feats.view(len(items), 8, -1))}

    def random_codes(self, n: int, generator: torch.Generator) -> tuple[Tensor | None, Tensor]:
        """``n`` independent code pairs: random classes (one-hot) or sphere vectors, and u."""
        if self.single:
            return None, self.unknown_codes(n, generator)
        if self.cfg.known_code == "onehot":
            k = self.known_codes(torch.randint(self.cfg.num_classes, (n,), generator=generator))
        else:
            k = self.known_codes(n, generator)
        return k, self.unknown_codes(n, generator)


__all__ = ["DATASETS", "FACTORS", "SINGLE", "VARIANTS", "ContrasFill", "ContrasFillConfig",
           "FaceBoxes", "KnownEncoder", "change_rates", "codes_per_batch", "eval_items",
           "evaluate_run", "factor_predictor", "kffa_net", "known_classifier", "object_scales",
           "samples", "shapes"]
