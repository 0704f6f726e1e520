"""CUT (Park et al., ECCV 2020) with PatchNCE or MoNCE (Zhan et al., CVPR 2022): one-sided
unpaired image translation, method ``cut``.

One step (CUT's ``optimize_parameters``): G translates x_A (and, with identity NCE, x_B in the
same pass); a D step on LSGAN (``d_lsgan``: real x_B vs the detached fake); then a G + MLP step on
``lambda_gan * g_lsgan(D(fake)) + lambda_nce * NCE``, NCE = the mean over the NCE layers of the
patch contrast between the output and the input (CUT Eq. 3, 5); with identity NCE it is averaged
with the same term between G(x_B) and x_B (CUT's ``(loss_NCE + loss_NCE_Y) / 2``).

``contrast`` picks the patch contrast: ``patchnce`` (CUT), ``monce`` (MoNCE: the negatives
re-weighted by the OT plan, :func:`ci_inpaint.losses.monce_loss`; ``monce_eps``, ``monce_cost``,
``neg_weight`` = Q, ``ot_iters``, ``log_domain``, ``plan_grad``) or ``none`` (the GAN alone: the
no-content-loss baseline). ``cut_mode``: ``cut`` (lambda_NCE = 1, identity NCE) or ``fastcut``
(lambda_NCE = 10, flip equivariance, no identity NCE), CUT's two presets; ``lambda_nce``,
``nce_idt`` and ``flip_equivariance`` override them ("auto" / -1 = the preset's value).

The NCE layers share their patch positions for q and k (and across the batch); every layer with
the same number of patches is contrasted in one call (one batched Sinkhorn for all of them).
Keys are computed without gradient (CUT detaches them after the MLP: the same values and
gradients, less memory).

Settings and where they differ from the papers:
* Adam 2e-4, betas (0.5, 0.999), batch 1, constant lr for the first half of the steps then linear
  decay to 0 (CUT's 200 + 200 epochs). MoNCE's supplement states batch 12 and lr 0.002 for its
  runs; we keep CUT's defaults (``batch_size``, ``lr`` change them).
* ``quick`` (CPU minutes): the synthetic shape domains at 32 px, ngf 16, **one**
  down-sampling (``n_down``; two leave a 9 px object about two cells of an 8 x 8 grid, and the
  decoder has no skips to redraw its silhouette), 5 residual blocks at 16 x 16, NCE layers
  rgb, down1, block1, block3, block5 with 64 patches, ndf 32 (ndf 8 left tinted rims: the
  colour rule's IoU fell by 0.05-0.11 at seed 0), MLP width 64, batch 4, lr 5e-4 (2.5 x CUT's), 1500
  steps; ``full``: horse2zebra at 256 px with CUT's networks (ngf 64, two
  down-samplings, 9 blocks, ndf 64, 256 patches) and schedule (400 epochs).

Data (``dataset``, in :mod:`ci_inpaint.data.cut`): ``shapes`` -- :class:`ShapeDomains`, two renderings of
:class:`ci_inpaint.data.FactorShapes` that share the content factors (class, scale, angle,
position) and differ in style: domain A is the solid palette-coloured object on brown
soil, domain B the same object bleached white on a mottled green field. Content preservation is then measured exactly (:mod:`ci_inpaint.evaluation.cut`): a frozen
judge trained on real A and B images says whether G(x_A) is B and reads its shape class
(scored against x_A's), and the object mask recovered from G(x_A) by B's colour rule is
compared with x_A's true mask (IoU). ``horse2zebra`` / ``unpaired_folder`` read CycleGAN-layout
folders (:class:`ci_inpaint.data.folders.UnpairedFolder`); ``cityscapes`` reads pix2pix's
2,975 + 500 Cityscapes pairs (``data_scripts/pix2pix.py --name cityscapes``) unpaired, label
colours -> photos (:class:`ci_inpaint.data.folders.UnpairedView`); CUT's Cityscapes run is
400 epochs of 2,975 images, ``--set dataset=cityscapes steps=1190000``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import TrainConfig, knob
from ..data.cut import (  # the data lives in data/cut.py; names re-exported here
    B_BACKGROUND,
    B_OBJECT,
    CONTENT_FACTORS,
    ShapeDomains,
    load_domains,
    object_mask_b,
    render_b,
)
from ..errors import ConfigError
from ..evaluation.cut import (  # the evaluation lives in evaluation/cut.py; re-exported here
    content_classifier,
    content_scores,
    evaluate_folder,
    evaluate_shapes,
    fid_shapes,
    mask_iou,
    test_domains,
    translate,
)
from ..losses.gan import d_lsgan, g_lsgan
from ..losses.monce import COSTS, monce_loss
from ..losses.patchnce import patchnce_loss
from ..nn.cut import PatchDiscriminator, PatchSampleMLP, ResnetGenerator, parse_layers
from . import Method, register
from .common import frozen, generator_of

CONTRASTS = ("patchnce", "monce", "none")
DATASETS = ("shapes", "horse2zebra", "cityscapes", "unpaired_folder")
# ----------------------------------------------------------------------------- config
@dataclass
class CUTConfig(TrainConfig):
    contrast: str = knob("patchnce", choices=CONTRASTS)  # patchnce (CUT) | monce (MoNCE) | none (GAN only, no content loss)
    cut_mode: str = knob("cut", choices=("cut", "fastcut"))  # cut (lambda_nce 1, identity NCE) | fastcut (10, flip equivariance)
    lambda_nce: float = -1.0  # weight of the NCE term; -1 = the preset (CUT 1, FastCUT 10)
    nce_idt: str = knob("auto", choices=("auto", "on", "off"))  # auto | on | off: identity NCE on G(x_B) (auto = CUT on, FastCUT off)
    flip_equivariance: str = knob("auto", choices=("auto", "on", "off"))  # auto | on | off: FastCUT's flip (auto = FastCUT only)
    lambda_gan: float = knob(1.0, range=">= 0")  # weight of the LSGAN generator term (CUT 1)
    nce_layers: str = "rgb,down1,down2,block1,block5"  # CUT's layers 0,4,8,12,16
    num_patches: int = knob(256, range=">= 2")  # patch positions per layer (CUT 256)
    nce_tau: float = knob(0.07, range="> 0")  # temperature (CUT, MoNCE 0.07)
    monce_eps: float = knob(1.0, range="> 0")  # MoNCE's entropic epsilon (code default 1.0; horse2zebra script 0.1)
    monce_cost: str = knob("hard", choices=COSTS)  # hard exp(S/eps) | easy exp((1-S)/eps)
    neg_weight: float = knob(1.0, range=">= 0")  # MoNCE's Q (supplement Fig. 1; default 1)
    ot_iters: int = knob(50, range=">= 1")  # Sinkhorn iterations (MoNCE code 50)
    log_domain: bool = False  # log-domain Sinkhorn (finite at small eps); the code: plain
    plan_grad: bool = True  # gradients through the Sinkhorn iterations (the code: yes)
    dataset: str = knob("shapes", choices=DATASETS)  # shapes (synthetic A -> B) | horse2zebra | cityscapes | unpaired_folder
    size: int = knob(256, range=">= 16")  # image side
    n_train: int = knob(1000, range=">= 2")  # shapes: images per domain in the train split
    num_classes: int = knob(4, range=">= 2")  # shapes: object classes (2..8)
    ngf: int = knob(64, range=">= 1")  # generator width (CUT 64)
    n_blocks: int = knob(9, range=">= 1")  # residual blocks (CUT 9 at 256 px)
    n_down: int = knob(2, choices=(0, 1, 2))  # G's stride-2 convs (CUT 2; 0 or 1 keep a 32 px silhouette)
    ndf: int = knob(64, range=">= 1")  # discriminator width (CUT 64)
    d_layers: int = knob(3, range=">= 1")  # PatchGAN depth (CUT 3: 70 x 70 receptive field)
    mlp_nc: int = knob(256, range=">= 1")  # MLP head width (CUT 256)
    lr: float = knob(2e-4, range="> 0")  # Adam lr of G, D and the MLP heads (CUT 2e-4; MoNCE supplement 0.002)
    beta1: float = knob(0.5, range="[0, 1)")  # Adam beta1 (CUT 0.5)
    beta2: float = knob(0.999, range="[0, 1)")  # Adam beta2 (CUT 0.999)
    decay_from: float = knob(0.5, range="[0, 1]")  # lr constant for this fraction of the steps, then linear to 0 (CUT 0.5)
    eval_n: int = knob(200, range=">= 1")  # shapes: test images for evaluate()'s mask IoU

    PROFILES: ClassVar = {
        "smoke": {"size": 32, "ngf": 8, "n_down": 1, "n_blocks": 5, "ndf": 8, "mlp_nc": 32,
                  "nce_layers": "rgb,down1,block1,block3,block5", "num_patches": 32,
                  "n_train": 64, "steps": 4, "batch_size": 2, "log_every": 1, "ckpt_every": 4,
                  "eval_n": 16, "ot_iters": 10},
        # quick: a 32 px CUT that translates in under three minutes of one core (notebook 05;
        # 1500 steps: PatchNCE's mask IoU 0.827-0.830 over seeds 0-2, 0.77-0.82 at 1000)
        "quick": {"size": 32, "ngf": 16, "n_down": 1, "n_blocks": 5, "ndf": 32, "mlp_nc": 64,
                  "nce_layers": "rgb,down1,block1,block3,block5", "num_patches": 64,
                  "n_train": 1000, "steps": 1500, "batch_size": 4, "lr": 5e-4,
                  "log_every": 50, "ckpt_every": 500, "eval_n": 200},
        # full: CUT's horse2zebra run: 400 epochs (200 + 200 decay) of max(|A|, |B|) = 1334
        "full": {"dataset": "horse2zebra", "size": 256, "steps": 533_600, "batch_size": 1,
                 "log_every": 100, "ckpt_every": 5000, "eval_every": 0},
    }

    def resolve_presets(self) -> None:
        """The cut / fastcut preset written into the sentinels (``lambda_nce=-1``, ``"auto"``)
        so that config.yaml records the values used; other negative weights are left for
        check_config to refuse."""
        getattr(super(), "resolve_presets", lambda: None)()
        lam, idt, flip = preset(self)
        if self.lambda_nce == -1:
            self.lambda_nce = lam
        self.nce_idt = "on" if idt else "off"
        self.flip_equivariance = "on" if flip else "off"


def preset(cfg: CUTConfig) -> tuple[float, bool, bool]:
    """(lambda_nce, identity NCE, flip equivariance) after the cut / fastcut preset."""
    fast = cfg.cut_mode == "fastcut"
    lam = cfg.lambda_nce if cfg.lambda_nce >= 0 else (10.0 if fast else 1.0)
    idt = cfg.nce_idt == "on" or (cfg.nce_idt == "auto" and not fast)
    flip = cfg.flip_equivariance == "on" or (cfg.flip_equivariance == "auto" and fast)
    return lam, idt, flip


# ----------------------------------------------------------------------------- method
@register
class CUT(Method):
    name = "cut"
    Config = CUTConfig
    summary = "CUT (ECCV 2020) / MoNCE (CVPR 2022) unpaired translation: patchnce | monce | none"

    @classmethod
    def check_config(cls, cfg: CUTConfig) -> None:
        if cfg.lambda_nce < 0 and cfg.lambda_nce != -1:
            raise ConfigError(f"lambda_nce={cfg.lambda_nce}: use a weight >= 0, or -1 for the "
                              "preset's value (CUT 1, FastCUT 10)")
        parse_layers(cfg.nce_layers, cfg.n_blocks, cfg.n_down)
        if cfg.dataset == "shapes" and cfg.data_root:
            raise ConfigError(f"dataset=shapes is generated and reads no data_root "
                              f"({cfg.data_root!r}): drop data_root or pick dataset=horse2zebra")
        if cfg.dataset == "unpaired_folder" and not cfg.data_root:
            raise ConfigError("dataset=unpaired_folder needs data_root=DIR with trainA/ and trainB/")
        if cfg.dataset == "shapes" and not 2 <= cfg.num_classes <= 8:
            raise ConfigError(f"num_classes={cfg.num_classes}: the shapes have 2..8 classes")

    def __init__(self, cfg: CUTConfig, device: torch.device):
        super().__init__(cfg, device)
        self.lambda_nce, self.nce_idt, self.flip = preset(cfg)
        self.layers = parse_layers(cfg.nce_layers, cfg.n_blocks, cfg.n_down)
        self.dataset = load_domains(cfg, "train")
        self.G = ResnetGenerator(3, 3, cfg.ngf, cfg.n_blocks, cfg.n_down).to(device)
        self.D = PatchDiscriminator(3, cfg.ndf, cfg.d_layers).to(device)
        self.F = PatchSampleMLP([self.G.channels(n) for n in self.layers], cfg.mlp_nc).to(device)
        betas = (cfg.beta1, cfg.beta2)
        # one Adam over G and the heads = CUT's two Adams with the same settings (per-parameter)
        self.opt_G = torch.optim.Adam([*self.G.parameters(), *self.F.parameters()], cfg.lr, betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), cfg.lr, betas)

    def modules(self):
        return {"G": self.G, "D": self.D, "F": self.F}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def train_set(self):
        return self.dataset

    # -- losses
    def contrast(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Per-anchor patch contrast (..., P) of stacked layers."""
        c = self.cfg
        if c.contrast == "monce":
            return monce_loss(q, k, tau=c.nce_tau, eps=c.monce_eps, cost=c.monce_cost,
                              neg_weight=c.neg_weight, iters=c.ot_iters, reduction="none",
                              log_domain=c.log_domain, plan_grad=c.plan_grad)
        return patchnce_loss(q, k, tau=c.nce_tau, reduction="none")

    def nce(self, src: torch.Tensor, tgt: torch.Tensor, flipped: bool = False) -> torch.Tensor:
        """CUT Eq. 5: the mean over layers of the mean patch contrast of G's features of the
        output ``tgt`` (queries) against those of the input ``src`` (keys, no gradient)."""
        feat_q = self.G.encode(tgt, self.layers)
        if flipped:  # FastCUT: G(flip(x)) should be flip(G(x))
            feat_q = [f.flip(3) for f in feat_q]
        with torch.no_grad():
            feat_k = self.G.encode(src, self.layers)
            ids = self.F.sample_ids(feat_k, self.cfg.num_patches)
            k = self.F(feat_k, ids)
        q = self.F(feat_q, ids)
        groups: dict[int, list[int]] = {}
        for i, f in enumerate(q):  # layers with the same patch count: one call
            groups.setdefault(f.shape[1], []).append(i)
        total = sum(self.contrast(torch.stack([q[i] for i in idx]),
                                  torch.stack([k[i] for i in idx])).mean((1, 2)).sum()
                    for idx in groups.values())
        return total / len(self.layers)

    def _set_lr(self, step: int) -> None:
        c = self.cfg
        start = c.decay_from * c.steps
        frac = 1.0 if step < start else max(0.0, 1 - (step - start) / max(c.steps - start, 1))
        for opt in (self.opt_G, self.opt_D):
            for g in opt.param_groups:
                g["lr"] = c.lr * frac

    def train_step(self, batch, ctx):
        c = self.cfg
        self._set_lr(ctx.step)
        real_a, real_b = batch["A"], batch["B"]
        use_nce = c.contrast != "none" and self.lambda_nce > 0
        idt = use_nce and self.nce_idt
        real = torch.cat([real_a, real_b]) if idt else real_a
        flipped = self.flip and bool(torch.rand(()) < 0.5)  # CPU draw: no device sync
        if flipped:
            real = real.flip(3)
        with ctx.autocast():
            fake = self.G(real)
        fake_b = fake[:len(real_a)]

        with ctx.autocast():  # D: LSGAN on real B vs the detached fake
            d_loss = d_lsgan(self.D(real_b).float(), self.D(fake_b.detach()).float())
        ctx.optimize("D", {"d_lsgan": d_loss})

        with frozen(self.D):  # G + MLP step: gradients reach G through D, D's stay clean
            with ctx.autocast():
                terms = {"g_lsgan": c.lambda_gan * g_lsgan(self.D(fake_b).float())}
                if use_nce:
                    src = torch.cat([real_a, real_b]) if idt else real_a
                    terms["nce"] = self.lambda_nce * self.nce(src, fake, flipped)
            ctx.optimize("G", terms)
        return {"d_lsgan": d_loss.detach(), **{k: v.detach() for k, v in terms.items()}}

    def evaluate(self, ctx):
        """Shapes: mean IoU of the object recovered by domain B's colour rule from G(x_A) with
        x_A's true mask, on ``eval_n`` test images (cheap; the notebook adds the classifier)."""
        if self.cfg.dataset != "shapes":
            return {}
        test = load_domains(self.cfg, "test")
        out = translate(self.G, test.a["image"])
        return {"mask_iou": float(mask_iou(object_mask_b(out), test.a["mask"]).mean())}


@dataclass
class MoNCEConfig(CUTConfig):
    contrast: str = knob("monce", choices=CONTRASTS)  # MoNCE (CVPR 2022): CUT's PatchNCE with OT-reweighted negatives


@register
class MoNCE(CUT):
    """MoNCE (Zhan et al., CVPR 2022): the ``cut`` method with ``contrast=monce`` by default
    (every other knob, and every number, as ``cut --set contrast=monce``)."""

    name = "monce"
    Config = MoNCEConfig
    summary = "MoNCE (CVPR 2022): CUT with the OT-reweighted patch contrast (= cut contrast=monce)"


__all__ = ["B_BACKGROUND", "B_OBJECT", "CONTENT_FACTORS", "CONTRASTS", "CUT", "CUTConfig", "DATASETS", "MoNCE", "MoNCEConfig",
           "ShapeDomains",
           "content_classifier", "content_scores", "evaluate_folder", "evaluate_shapes", "fid_shapes",
           "generator_of", "load_domains", "mask_iou", "object_mask_b", "preset", "render_b",
           "test_domains", "translate"]
