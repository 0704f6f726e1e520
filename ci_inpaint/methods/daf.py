"""The contrastive attention network (Ma et al. 2020, "Free-form image inpainting via contrastive
attention network"): stage 1 ``daf_moco`` and stage 2 ``daf``.

Stage 1 (Sec. III-A), :class:`DAFMoCo`: E_q and E_k (:class:`~ci_inpaint.nn.daf.SiameseBranch`:
the inpainting encoder + MoCo's pooled linear head) see the same image under two different masks
(x_q, x_k). One step, in MoCo's order: q = E_q(x_q); Eq. 2 momentum update of E_k (parameters
only) *before* the keys are encoded; k = E_k(x_k) (no grad); Eq. 1 (:func:`moco_loss`) against
the queue; SGD step on E_q; enqueue k. E_k starts as a copy of E_q. The paper's m = 0.9,
tau = 0.07, queue 65 536, SGD lr 0.015; unstated, chosen: SGD momentum 0.9 and weight decay
1e-4 (MoCo's), head dim 128 (MoCo v1). BatchNorm: the encoder has none (InstanceNorm, see
:mod:`ci_inpaint.nn.daf`), so shuffle-BN, which needs several processes, is not needed and no
batch statistic couples a query to its key. The two masks: two :class:`MaskedDataset` streams
of one base (seeds ``seed`` and ``seed + 1``), free-form + rectangular ("mixed", the paper's
free-form masks). Evaluation: top-1 retrieval of each held-out image's other masked view
among all held-out second views (cosine of E_q's z), for the trained E_q and for a randomly
initialised one (fixed seed), kept in ``history`` over training.

Stage 2 (Sec. III-B, III-C), :class:`DAFInpaint`: encoder (initialised from a stage-1 run's
E_q encoder via ``init``: a run directory or a ``.pt`` checkpoint; "" = random init, the
"no contrastive learning" rows of Table II) + multi-scale decoder with DAF (``daf=False``: the
"no DAF" rows), and one WGAN-GP critic. Loss Eq. 16 with the paper's weights: structure
(lambda_rec 6) on P = {1..p_layers} (6), texture (perceptual 0.1, style 240, TV 0.1,
adversarial 0.001) on Q = {1..q_layers} (3), targets the ground truth resized
(:mod:`ci_inpaint.losses.daf`). Critic step: 1/|Q| sum_k (D(Y_hat^k) - D(Y^k) + GP_k), lambda = 10,
one critic step per generator step (unstated; DFNet-style), the critic scoring every scale
(fully convolutional). Adam lr 1e-4 as the paper; betas (0.5, 0.9) chosen (WGAN-GP's). VGG16
(perceptual/style): ``vgg`` = off (the shared rule: the terms are off, with a notice, when the
weights file is absent) | random (a named stand-in) | error.

Data: ``photos`` (bundled patches, 32/64 px) or ``lfw`` (bundled LFW faces, 32/64 px) for
smoke/quick; stage 1 ``folder`` (a user ImageNet folder, ``data_root``); stage 2 ``celeba_hq``,
``places2``, ``paris_streetview`` at 256 (full); built in :mod:`ci_inpaint.data.daf`.
Evaluation (retrieval, Table II's metrics and cells): :mod:`ci_inpaint.evaluation.daf`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from ..config import TrainConfig
from ..data.daf import TwoMasks, base_dataset, fixed_views, mask_fn
from ..errors import CheckpointError, ConfigError
from ..evaluation.daf import (  # noqa: F401 (re-exported: their home is evaluation.daf)
    composite_scores,
    evaluate_run,
    fid_fallback,
    top1_retrieval,
    train_variant,
)
from ..losses.daf import mask_pyramid, pyramid, scale_mean, structure_loss, tv_loss
from ..losses.gan import d_wgan, g_wgan, gradient_penalty
from ..losses.moco import KeyQueue, moco_loss, momentum_update
from ..losses.perceptual import perceptual_loss, style_loss, term_name, vgg_features
from ..nn.daf import Critic, DAFGenerator, SiameseBranch, masked_input
from . import Method, path_digests, register
from .common import frozen, in_batches

BUNDLED = ("photos", "lfw")
STAGE1_DATA = BUNDLED + ("folder",)
STAGE2_DATA = BUNDLED + ("celeba_hq", "places2", "paris_streetview")


# ----------------------------------------------------------------------------- stage 1
@dataclass
class DAFMoCoConfig(TrainConfig):
    dataset: str = "photos"  # photos | lfw (bundled) | folder (ImageNet in data_root, full)
    resolution: int = 32  # image side (the paper: 256)
    width: int = 16  # encoder's first width (then x2, capped at x8); the paper-size: 64
    depth: int = 4  # stride-2 encoder blocks; at 256 px: 7
    dim: int = 128  # z = fc(GAP(bottleneck)), MoCo v1
    queue_size: int = 4096  # keys in the dictionary (the paper: 65536)
    momentum: float = 0.9  # m of Eq. 2 (the paper: 0.9; MoCo: 0.999)
    tau: float = 0.07  # Eq. 1
    lr: float = 0.015  # SGD, the paper
    sgd_momentum: float = 0.9  # unstated: MoCo's
    weight_decay: float = 1e-4  # unstated: MoCo's
    eval_images: int = 64  # held-out images for the top-1 retrieval

    PROFILES: ClassVar = {
        "smoke": {"width": 4, "depth": 3, "dim": 16, "queue_size": 32, "steps": 6,
                  "batch_size": 8, "log_every": 1, "ckpt_every": 3, "eval_every": 3,
                  "eval_images": 16},
        # 2-core CPU: 32 px patches, a queue smaller than the ~1.5k training patches so its
        # keys are not many epochs stale
        # ~20 s a run: 150 steps reach top-1 ~0.75 vs 0.31 for a random encoder (64 val images)
        "quick": {"steps": 150, "batch_size": 32, "queue_size": 1024, "log_every": 25,
                  "ckpt_every": 150, "eval_every": 25},
        "full": {"dataset": "folder", "resolution": 256, "width": 64, "depth": 7,
                 "queue_size": 65536, "batch_size": 256, "steps": 200_000, "log_every": 100,
                 "ckpt_every": 5000, "eval_every": 5000},
    }
    RANGES: ClassVar = {"resolution": ">= 8", "width": ">= 1", "depth": ">= 1", "dim": ">= 1",
                        "queue_size": ">= 1", "momentum": "[0, 1)", "tau": "> 0", "lr": "> 0",
                        "sgd_momentum": "[0, 1)", "weight_decay": ">= 0", "eval_images": ">= 2"}
    CHOICES: ClassVar = {"dataset": STAGE1_DATA}


class _DAFMethod(Method):
    """What both stages share: the resolution / data checks."""

    @classmethod
    def check_config(cls, cfg) -> None:
        _check_common(cfg)


def _check_common(cfg) -> None:
    if cfg.resolution % 2**cfg.depth:
        raise ConfigError(f"resolution {cfg.resolution} must be divisible by 2^depth = "
                          f"{2**cfg.depth}: lower depth or change resolution")
    if cfg.dataset in BUNDLED and cfg.data_root:
        raise ConfigError(f"dataset={cfg.dataset} is bundled and reads no data_root: drop it")
    if cfg.dataset in BUNDLED and cfg.resolution not in (32, 64):
        raise ConfigError(f"dataset={cfg.dataset} comes at 32 or 64 px, not {cfg.resolution}")
    if cfg.dataset not in BUNDLED and not cfg.data_root:
        raise ConfigError(f"dataset={cfg.dataset} needs data_root=DIR (its image folder)")


@register
class DAFMoCo(_DAFMethod):
    name = "daf_moco"
    Config = DAFMoCoConfig
    summary = "contrastive attention network, stage 1: MoCo Siamese inference network (Ma et al. 2020)"

    def __init__(self, cfg: DAFMoCoConfig, device: torch.device):
        super().__init__(cfg, device)
        self.E_q = SiameseBranch(cfg.width, cfg.depth, cfg.dim).to(device)
        self.E_k = copy.deepcopy(self.E_q)  # theta_k = theta_q at the start (MoCo)
        self.opt = torch.optim.SGD(self.E_q.parameters(), cfg.lr, momentum=cfg.sgd_momentum,
                                   weight_decay=cfg.weight_decay)
        self.queue = KeyQueue(cfg.queue_size, cfg.dim, device, seed=cfg.seed)
        self.history: list[dict[str, float]] = []
        self._views = None

    def modules(self):
        return {"E_q": self.E_q, "E_k": self.E_k}

    def frozen_modules(self):
        return {"E_k": self.E_k}  # momentum-updated, never by an optimiser

    def optimizers(self):
        return {"E_q": self.opt}

    def train_set(self):
        c = self.cfg
        return TwoMasks(base_dataset(c.dataset, "train", c.resolution, c.seed, c.data_root), c.seed)

    def train_step(self, batch, ctx):
        x = batch["image"]
        with ctx.autocast():
            q = self.E_q(masked_input(x, batch["mask_q"]))
        momentum_update(self.E_k, self.E_q, self.cfg.momentum)  # before the keys (MoCo)
        with torch.no_grad(), ctx.autocast():
            k = self.E_k(masked_input(x, batch["mask_k"]))
        loss = moco_loss(q, k, self.queue.keys, self.cfg.tau)
        ctx.optimize("E_q", {"nce": loss})
        self.queue.enqueue(k)
        return {"nce": loss.detach()}

    def views(self):
        if self._views is None:
            c = self.cfg
            self._views = fixed_views(c.dataset, c.resolution, c.eval_images, c.data_root)
        return self._views

    def random_top1(self) -> float:
        """Top-1 of a randomly initialised encoder (seed 0 + cfg.seed), cached."""
        if not hasattr(self, "_random_top1"):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(10_007 + self.cfg.seed)
                rnd = SiameseBranch(self.cfg.width, self.cfg.depth, self.cfg.dim).to(self.device)
            self._random_top1 = top1_retrieval(rnd, *self.views())
        return self._random_top1

    def evaluate(self, ctx):
        images = self.views()[0]
        row = {"top1": top1_retrieval(self.E_q, *self.views()), "top1_random": self.random_top1(),
               "chance": 1.0 / len(images)}
        self.history.append({"step": int(getattr(ctx, "step", 0)), **row})
        return row

    def extra_state(self):
        return {"queue": self.queue.state_dict(), "history": list(self.history)}

    def load_extra_state(self, state):
        if "queue" in state:
            self.queue.load_state_dict(state["queue"])
        self.history = list(state.get("history", []))


# ----------------------------------------------------------------------------- stage 2
@dataclass
class DAFConfig(TrainConfig):
    dataset: str = "photos"  # photos | lfw (bundled) | celeba_hq | places2 | paris_streetview
    resolution: int = 32  # image side (the paper: 256)
    width: int = 16  # encoder's first width; paper-size 64 (must match the stage-1 run)
    depth: int = 4  # encoder / decoder blocks; at 256 px: 7
    daf: bool = True  # DAF in the output layers (False: a 1x1 conv to RGB, Table II's no-DAF)
    reduction: int = 16  # r of Eq. 4
    p_layers: int = 4  # P = {1..p_layers} (the paper: 6); outputs at H .. H / 2^(p-1)
    q_layers: int = 3  # Q = {1..q_layers} (the paper: 3)
    init: str = ""  # stage-1 run dir or .pt: its E_q encoder initialises ours ("": random init)
    lambda_rec: float = 6.0  # Eq. 14
    hole_weight: float = 1.0  # hole pixels' weight in Eq. 9's L1 (1: the paper's; PConv: 6)
    lambda_per: float = 0.1  # Eq. 15
    lambda_style: float = 240.0
    lambda_tv: float = 0.1
    lambda_adv: float = 0.001
    gp: float = 10.0  # lambda of Eq. 13
    vgg: str = "off"  # VGG16 absent: off (terms off, notice) | random (named stand-in) | error
    d_width: int = 16  # critic width
    d_down: int = 3  # critic stride-2 convs (the smallest scale of Q must be >= 2^d_down)
    lr: float = 1e-4  # Adam, the paper
    beta1: float = 0.5  # unstated: WGAN-GP's
    beta2: float = 0.9

    PROFILES: ClassVar = {
        "smoke": {"width": 4, "depth": 3, "p_layers": 3, "q_layers": 2, "d_width": 4, "d_down": 2,
                  "steps": 4, "batch_size": 4, "log_every": 1, "ckpt_every": 4, "lr": 5e-4},
        # ~0.3 s a step on one core: Table II's 12 runs and 3 stage-1 runs on 2 cores fit
        # the 6 min with the notebook's evaluation and figures
        "quick": {"steps": 120, "batch_size": 16, "log_every": 20, "ckpt_every": 120,
                  "eval_every": 120, "lr": 5e-4},
        "full": {"dataset": "places2", "resolution": 256, "width": 64, "depth": 7, "p_layers": 6,
                 "d_width": 64, "steps": 500_000, "batch_size": 8, "log_every": 100,
                 "ckpt_every": 5000, "eval_every": 10_000},
    }
    RANGES: ClassVar = {"resolution": ">= 8", "width": ">= 1", "depth": ">= 1", "reduction": ">= 1",
                        "p_layers": ">= 1", "q_layers": ">= 1", "lambda_rec": ">= 0",
                        "hole_weight": ">= 0", "lambda_per": ">= 0", "lambda_style": ">= 0",
                        "lambda_tv": ">= 0",
                        "lambda_adv": ">= 0", "gp": ">= 0", "d_width": ">= 1", "d_down": ">= 1",
                        "lr": "> 0", "beta1": "[0, 1)", "beta2": "[0, 1)"}
    CHOICES: ClassVar = {"dataset": STAGE2_DATA, "vgg": ("off", "random", "error")}


def stage1_encoder_state(path: str) -> dict[str, Tensor]:
    """E_q's conv encoder weights from a stage-1 run directory or checkpoint file."""
    p = Path(path).expanduser()
    f = p / "checkpoints" / "last.pt" if p.is_dir() else p
    if not f.is_file():
        raise CheckpointError(f"init={path!r}: no stage-1 checkpoint there: pass a daf_moco run "
                              "directory or its checkpoints/last.pt")
    st = torch.load(f, map_location="cpu", weights_only=False)
    if st.get("method") != "daf_moco":
        raise CheckpointError(f"init={path!r} is a {st.get('method')!r} run, not daf_moco: "
                              "pass a stage-1 (daf_moco) run")
    return {k[len("encoder."):]: v for k, v in st["modules"]["E_q"].items()
            if k.startswith("encoder.")}


@register
class DAFInpaint(_DAFMethod):
    name = "daf"
    Config = DAFConfig
    summary = "contrastive attention network, stage 2: multi-scale decoder with DAF (Ma et al. 2020)"

    @classmethod
    def check_config(cls, cfg: DAFConfig) -> None:
        super().check_config(cfg)
        if not cfg.q_layers <= cfg.p_layers <= cfg.depth:
            raise ConfigError(f"need q_layers <= p_layers <= depth, got {cfg.q_layers}, "
                              f"{cfg.p_layers}, {cfg.depth}: lower q_layers / p_layers")
        smallest = cfg.resolution // 2 ** (cfg.q_layers - 1)
        if smallest < 2**cfg.d_down:
            raise ConfigError(f"the critic's {cfg.d_down} stride-2 convs need >= {2**cfg.d_down} "
                              f"px but scale {cfg.q_layers} of Q is {smallest} px: lower d_down")

    @classmethod
    def sources(cls, cfg: DAFConfig) -> dict[str, str]:
        return path_digests(cfg, "init")  # a retrained stage 1 makes this another run

    def __init__(self, cfg: DAFConfig, device: torch.device):
        super().__init__(cfg, device)
        self.G = DAFGenerator(cfg.width, cfg.depth, cfg.p_layers, cfg.daf, cfg.reduction).to(device)
        if cfg.init:
            try:
                self.G.encoder.load_state_dict(stage1_encoder_state(cfg.init))
            except RuntimeError as e:
                raise CheckpointError(f"init={cfg.init!r}: its encoder does not fit width="
                                      f"{cfg.width} depth={cfg.depth}: use the stage-1 sizes "
                                      f"({str(e).splitlines()[0]})") from None
        self.D = Critic(cfg.d_width, cfg.d_down).to(device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), cfg.lr, betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), cfg.lr, betas)
        self.vgg = vgg_features("vgg16", missing=cfg.vgg)
        if self.vgg is not None:
            self.vgg.to(device)

    def modules(self):
        return {"G": self.G, "D": self.D}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def frozen_modules(self):
        return {"vgg": self.vgg} if self.vgg is not None else {}

    def train_set(self):
        from ..data.inpaint import MaskedDataset

        c = self.cfg
        return MaskedDataset(base_dataset(c.dataset, "train", c.resolution, c.seed, c.data_root),
                             mask_fn(), seed=c.seed)

    def texture_terms(self, ys: list[Tensor], targets: list[Tensor], holes: list[Tensor]):
        """Eq. 15 averaged over Q (Eq. 16), each weighted; perceptual / style only with a VGG."""
        c, Q = self.cfg, range(self.cfg.q_layers)
        terms = {"tv": c.lambda_tv * scale_mean(tv_loss, [ys[k] for k in Q], [holes[k] for k in Q]),
                 "g_adv": c.lambda_adv * scale_mean(lambda y: g_wgan(self.D(y).float()),
                                                    [ys[k] for k in Q])}
        if self.vgg is not None:
            feats = [(self.vgg(ys[k]), self.vgg(targets[k])) for k in Q]
            terms[term_name("perceptual", self.vgg)] = c.lambda_per * scale_mean(
                lambda f: perceptual_loss(f[0], f[1]), feats)
            terms[term_name("style", self.vgg)] = c.lambda_style * scale_mean(
                lambda f: style_loss(f[0], f[1]), feats)
        return terms

    def train_step(self, batch, ctx):
        c, x, hole = self.cfg, batch["image"], batch["mask"]
        targets, holes = pyramid(x, c.p_layers), mask_pyramid(hole, c.p_layers)
        Q = range(c.q_layers)

        # critic step on every scale of Q: Eq. 13, outputs detached
        with torch.no_grad(), ctx.autocast():
            ys = self.G(x, hole)
        with ctx.autocast():
            d_adv = scale_mean(lambda y, t: d_wgan(self.D(t).float(), self.D(y).float()),
                               [ys[k] for k in Q], [targets[k] for k in Q])
        d_terms = {"d_adv": d_adv,
                   "gp": scale_mean(lambda y, t: gradient_penalty(self.D, t, y, c.gp),
                                    [ys[k] for k in Q], [targets[k] for k in Q])}
        ctx.optimize("D", d_terms)

        # generator step, critic fixed (its parameters take no gradient)
        with frozen(self.D):
            with ctx.autocast():
                ys = self.G(x, hole)
                terms = {"rec": structure_loss(ys, targets, c.lambda_rec, holes,
                                               c.hole_weight),
                         **self.texture_terms(ys, targets, holes)}
            ctx.optimize("G", terms)
        return {**{k: v.detach() for k, v in d_terms.items()},
                **{k: v.detach() for k, v in terms.items()}}

    @torch.no_grad()
    def inpaint(self, image: Tensor, hole: Tensor, batch_size: int = 64) -> Tensor:
        """Composites hole * Y_hat^1 + (1 - hole) * x, on CPU, clamped to [-1, 1]."""
        def composite(x: Tensor, m: Tensor) -> Tensor:
            return m * self.G(x, m)[0].clamp(-1, 1) + (1 - m) * x

        return in_batches(composite, image, hole, self.device, batch_size)

    def evaluate(self, ctx):
        """L1 ([0, 1] scale), PSNR, SSIM and the boundary ring of composites on 32 fixed
        held-out (image, mask) pairs (:func:`~ci_inpaint.evaluation.daf.composite_scores`)."""
        c = self.cfg
        if not hasattr(self, "_views"):
            self._views = fixed_views(c.dataset, c.resolution, 32, c.data_root)
        images, masks, _ = self._views
        out, _ = composite_scores(self, images, masks)
        return {k: float(v) for k, v in out.items()}


SHARED = ("dataset", "resolution", "width", "depth", "data_root")  # stage 1 must match stage 2

