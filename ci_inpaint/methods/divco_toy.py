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
  one G step, the lr constant for half of the steps and then linear to 1 % (sharper modes).
  The design aim is a plain GAN whose samples sit on modes (>= 90 % within 3 std), where a
  vanilla GAN shows mode dropping; measured: ~0.63 after 2,000 steps (quick: 1,500), 0.78 within
  0.3 after 12,000 (the generated modes stay smeared along the ring), so ``full`` trains 40,000;
  ``study`` reaches the aim in 8,000 (0.925) with 128 units, Adam 3e-3, batch 128 and the decay
  from 30 % of the steps.
* ``members`` (e.g. ``"none@0,divco@10,divco@10"``): one run trains several independent toy
  GANs at once, each with its own regulariser and weight (batched weights, one matmul per
  layer for all of them; see :class:`MLinear`). Fig. 1's whole grid (4 regularisers x lambdas
  x 5 seeds = 50 GANs) then costs about a minute on 2 cores instead of half an hour.
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

from ..config import TrainConfig, knob
from ..errors import ConfigError
from ..losses.divco import (
    divco_loss,
    latent_regression_loss,
    mode_seeking_loss,
    sample_latents,
)
from ..metrics.toy import toy_mode_metrics
from . import Method, register
from .common import frozen

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


def parse_members(spec: str) -> list[tuple[str, float]]:
    """``"none@0,divco@1,divco@1"`` -> [(regulariser, lambda), ...]; repeats are independent
    replicas (different initial weights and data draws)."""
    out = []
    for item in (x.strip() for x in spec.split(",") if x.strip()):
        reg, _, lam = item.partition("@")
        if reg not in REGULARIZERS:
            raise ConfigError(f"members: {item!r} names no regulariser (one of "
                              f"{', '.join(REGULARIZERS)}); write e.g. members=none@0,divco@1")
        try:
            value = float(lam) if lam else 1.0
        except ValueError:
            raise ConfigError(f"members: {item!r} has no number after '@' (e.g. divco@1)") from None
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"members: the weight in {item!r} must be a finite number >= 0")
        out.append((reg, value))
    return out


def parse_seeds(spec: str) -> list[int]:
    """``"0,0,1"`` -> [0, 0, 1] (``member_seeds``)."""
    try:
        return [int(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"member_seeds={spec!r}: write whole numbers, e.g. 0,1,2") from None


@dataclass
class DivCoToyConfig(TrainConfig):
    regularizer: str = knob("divco", choices=REGULARIZERS)  # none | regression | mode_seeking | divco
    lambda_reg: float = knob(1.0, range=">= 0")  # weight of the regulariser (lambda_contra for divco; paper: 1)
    members: str = ""  # several independent toy GANs in one run, e.g. "none@0,divco@1,divco@10"
    member_seeds: str = ""  # one init seed per member, e.g. "0,0,1" ("": the run's own draw)
    tau: float = knob(1.0, range="> 0")  # temperature of Eq. 2 (paper: 1)
    radius: float = knob(0.05, range=">= 0")  # R of the latent cube (ours for z = 2; paper: 0.01 for z = 8)
    num_neg: int = knob(10, range=">= 1")  # N negatives per query (paper: 10)
    reg_batch: int = knob(32, range=">= 0")  # queries per step that carry the regulariser (0 = the whole batch)
    normalize: bool = True  # cosine similarity (Eq. 2); False = the official code's default
    encoder_head: str = knob("none", choices=ENCODER_HEADS)  # none (paper: D's layers, no head) | fixed (official code) | trained
    z_dim: int = knob(2, range=">= 1")  # latent size: a code the 2-D output can encode
    hidden: int = knob(64, range=">= 1")  # width of every hidden layer of G, D and the encoders
    feat_dim: int = knob(32, range=">= 1")  # output size of the contrastive head (encoder_head fixed | trained)
    lr: float = knob(1e-3, range="> 0")  # Adam learning rate (G, D, E)
    r1: float = knob(0.0, range=">= 0")  # R1 penalty weight gamma on D (0 = off)
    decay_from: float = knob(0.5, range="[0, 1]")  # lr constant for this fraction of the steps, then linear to lr/100
    eval_n: int = knob(2000, range=">= 1")  # generated points per class in evaluate()

    PROFILES: ClassVar = {
        "smoke": {"steps": 30, "batch_size": 32, "reg_batch": 8, "hidden": 32, "eval_n": 500,
                  "log_every": 10, "ckpt_every": 30},
        # quick: sized for Fig. 1's 50 toy GANs (two batched runs) in about a minute on 2 cores
        "quick": {"steps": 1500, "batch_size": 64, "reg_batch": 16, "log_every": 250,
                  "ckpt_every": 1000},
        # study: the length where the design aim holds (plain GAN >= 90 % on mode; measured
        # 0.925 over 4 seeds, against 0.876 at 6000 steps or decay from half, 0.863 at batch 64)
        "study": {"steps": 8000, "batch_size": 128, "reg_batch": 32, "hidden": 128, "lr": 3e-3,
                  "decay_from": 0.3, "log_every": 1000, "ckpt_every": 2000},
        "full": {"steps": 40_000, "batch_size": 256, "reg_batch": 0, "hidden": 128,
                 "log_every": 500, "ckpt_every": 5000},
    }


# ----------------------------------------------------------------------------- batched networks
# A run trains M independent toy GANs at once (``members``): every layer holds M weight sets and
# maps (M, B, d_in) -> (M, B, d_out) with one batched matmul. Each member's loss depends on its
# own weights only and the optimiser's loss is the sum over members, so its gradients are each
# member's own; Adam is element-wise, so one Adam over the stacked weights is M independent
# Adams. M = 1 is the plain single run. Tiny MLPs are all overhead on a CPU: 40 members cost
# about 3 single runs.
class MLinear(nn.Module):
    """M independent ``nn.Linear(d_in, d_out)`` (same init law: U(+-1/sqrt(d_in)))."""

    def __init__(self, m: int, d_in: int, d_out: int):
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(m, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(m, 1, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        w, b = (self.weight, self.bias) if idx is None else (self.weight[idx], self.bias[idx])
        return torch.baddbmm(b, x, w)


class MEmbedding(nn.Module):
    """M independent class embeddings (N(0, 1) init, as ``nn.Embedding``)."""

    def __init__(self, m: int, n_classes: int, dim: int = 8):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(m, n_classes, dim))

    def forward(self, c: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        w = self.weight if idx is None else self.weight[idx]
        return w.gather(1, c[..., None].expand(*c.shape, w.shape[-1]))  # (M, B, dim)


class MMLP(nn.Module):
    """``layers`` hidden MLinear + LeakyReLU(0.2), then a linear output."""

    def __init__(self, m: int, d_in: int, hidden: int, d_out: int, layers: int = 3):
        super().__init__()
        dims = [d_in] + [hidden] * layers
        self.hidden = nn.ModuleList(MLinear(m, a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = MLinear(m, hidden, d_out)

    def forward(self, x: torch.Tensor, idx: torch.Tensor | None = None, top: bool = True):
        for lin in self.hidden:
            x = F.leaky_relu(lin(x, idx), 0.2)
        return self.out(x, idx) if top else x


def member_init(make, m: int, seeds: list[int] | None = None) -> nn.Module:
    """``make(m)``: an M-member module (every parameter has the member dim first). With
    ``seeds``, member i gets the weights ``make(1)`` draws under ``seeds[i]``, whatever its
    position or run: one replica seed = one initial network for every regulariser (Fig. 1's
    comparison is paired by seed) and replicas of one setting never share an init. The global
    RNG is left as if only ``make(m)`` had drawn."""
    full = make(m)
    if seeds is None:
        return full
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        for i, s in enumerate(seeds):  # once at construction, never per step
            torch.manual_seed(s)
            for p, q in zip(full.parameters(), make(1).parameters(), strict=True):
                p[i].copy_(q[0])
    return full


class ToyG(nn.Module):
    """G(z, c) per member: MLP on [z, emb(c)] -> 2 (the paper's argument order G(z, y))."""

    def __init__(self, m: int, z_dim: int, hidden: int, n_classes: int = 2):
        super().__init__()
        self.emb = MEmbedding(m, n_classes)
        self.net = MMLP(m, z_dim + 8, hidden, 2)

    def forward(self, z, c, idx=None):
        return self.net(torch.cat([z, self.emb(c, idx)], -1), idx)


class ToyD(nn.Module):
    """D(x, c) = top(features(x, c)) per member; ``features`` (the two hidden layers below the
    linear top) are DivCo's E."""

    def __init__(self, m: int, hidden: int, n_classes: int = 2):
        super().__init__()
        self.emb = MEmbedding(m, n_classes)
        self.net = MMLP(m, 2 + 8, hidden, 1, layers=2)

    def features(self, x, c, idx=None):
        return self.net(torch.cat([x, self.emb(c, idx)], -1), idx, top=False)

    def forward(self, x, c, idx=None):
        return self.net.out(self.features(x, c, idx), idx)[..., 0]


class ToyE(nn.Module):
    """Latent-regression encoder E(x, c) -> z per member (BicycleGAN / DRIT)."""

    def __init__(self, m: int, z_dim: int, hidden: int, n_classes: int = 2):
        super().__init__()
        self.emb = MEmbedding(m, n_classes)
        self.net = MMLP(m, 2 + 8, hidden, z_dim, layers=2)

    def forward(self, x, c, idx=None):
        return self.net(torch.cat([x, self.emb(c, idx)], -1), idx)


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Non-saturating GAN cross-entropy per member: mean over the batch (last dim), (M,)."""
    return F.binary_cross_entropy_with_logits(
        logits, torch.full_like(logits, target), reduction="none").mean(-1)


@register
class DivCoToy(Method):
    name = "divco_toy"
    Config = DivCoToyConfig
    summary = "DivCo Fig. 1: 2D conditional GAN, regularizer none|regression|mode_seeking|divco"

    reads_data_root = False  # the mixture is generated

    @classmethod
    def check_config(cls, cfg: DivCoToyConfig) -> None:
        if cfg.members:
            parse_members(cfg.members)
            if (cfg.regularizer, cfg.lambda_reg) != ("divco", 1.0):
                raise ConfigError("members=... sets every member's regulariser and weight: drop "
                                  "regularizer / lambda_reg, or drop members for a single run")
        if cfg.member_seeds:
            n = len(parse_members(cfg.members)) if cfg.members else 1
            seeds = parse_seeds(cfg.member_seeds)
            if len(seeds) != n:
                raise ConfigError(f"member_seeds has {len(seeds)} seeds for {n} member(s): give "
                                  "one per member, e.g. member_seeds=0,1,2")

    def __init__(self, cfg: DivCoToyConfig, device: torch.device):
        super().__init__(cfg, device)
        self.members = (parse_members(cfg.members) if cfg.members
                        else [(cfg.regularizer, cfg.lambda_reg)])
        m = len(self.members)
        # member indices of each regulariser, and the weight of each member's regulariser
        self.idx = {r: torch.tensor([i for i, (reg, _) in enumerate(self.members) if reg == r],
                                    dtype=torch.long, device=device) for r in REGULARIZERS}
        self.lam = torch.tensor([lam for _, lam in self.members], device=device)
        seeds = parse_seeds(cfg.member_seeds) if cfg.member_seeds else None
        self.G = member_init(lambda k: ToyG(k, cfg.z_dim, cfg.hidden), m, seeds).to(device)
        self.D = member_init(lambda k: ToyD(k, cfg.hidden), m, seeds).to(device)
        betas = (0.5, 0.999)
        g_params = list(self.G.parameters())
        # E of the latent regression (own optimiser) and DivCo's head on D's features
        self.E: nn.Module | None = None
        self.head: MLinear | None = None
        self.opt_E: torch.optim.Optimizer | None = None
        if len(self.idx["regression"]):
            self.E = member_init(lambda k: ToyE(k, cfg.z_dim, cfg.hidden), m, seeds).to(device)
            self.opt_E = torch.optim.Adam(self.E.parameters(), lr=cfg.lr, betas=betas)
        if len(self.idx["divco"]) and cfg.encoder_head != "none":
            self.head = member_init(lambda k: MLinear(k, cfg.hidden, cfg.feat_dim), m,
                                    seeds).to(device)
            if cfg.encoder_head == "fixed":  # a random projection no loss trains
                self.head.requires_grad_(False)
            else:
                g_params += list(self.head.parameters())
        self.opt_G = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    @property
    def aux(self) -> nn.Module | None:
        """The regression encoder E or DivCo's head (None when neither exists)."""
        return self.E if self.E is not None else self.head

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

    def _encode(self, x: torch.Tensor, c: torch.Tensor, idx: torch.Tensor | None = None):
        """DivCo's E: D's hidden features (current weights), through the head if any."""
        h = self.D.features(x, c, idx)
        return h if self.head is None else self.head(h, idx)

    def _set_lr(self, step: int) -> None:
        """Constant, then linear to lr/100 from ``decay_from`` of the steps: sharp modes."""
        cfg = self.cfg
        start = cfg.decay_from * cfg.steps
        frac = 0.0 if step < start else (step - start) / max(cfg.steps - start, 1)
        for opt in self.optimizers().values():
            for group in opt.param_groups:
                group["lr"] = cfg.lr * (1 - 0.99 * min(frac, 1.0))

    def _divco(self, idx, c, z):
        """Per-member L_contra (Eq. 2) of members ``idx`` on queries z (m, k, d), classes c."""
        cfg, (m, k, d) = self.cfg, z.shape
        n = cfg.num_neg
        z_pos, z_neg = sample_latents(z.reshape(m * k, d), n, cfg.radius)
        z_all = torch.cat([z, z_pos.view(m, k, d), z_neg.view(m, k * n, d)], 1)
        c_all = torch.cat([c, c, c.repeat_interleave(n, 1)], 1)
        f = self._encode(self.G(z_all, c_all, idx), c_all, idx)  # (m, k (2 + n), D)
        f_q, f_pos, f_neg = f[:, :k], f[:, k:2 * k], f[:, 2 * k:].reshape(m, k, n, -1)
        loss = divco_loss(f_q.flatten(0, 1), f_pos.flatten(0, 1), f_neg.flatten(0, 1),
                          tau=cfg.tau, normalize=cfg.normalize, reduction="none")
        return loss.view(m, k).mean(1)

    def train_step(self, batch: Any, ctx: Any) -> dict[str, torch.Tensor]:
        cfg, dev, b, mm = self.cfg, self.device, self.cfg.batch_size, len(self.members)
        self._set_lr(ctx.step)
        c = torch.randint(0, len(LAYOUTS), (mm, b), device=dev)
        real = sample_real(c.flatten()).view(mm, b, 2)
        z = torch.randn(mm, b, cfg.z_dim, device=dev)

        with ctx.autocast():  # D step: real vs G(z, c), Eq. 1; sum over members
            fake = self.G(z, c).detach()
            real.requires_grad_(cfg.r1 > 0)
            d_real = self.D(real, c)
            loss_d = (_bce(d_real, 1.0) + _bce(self.D(fake, c), 0.0)).sum()
            d_terms = {"adv": loss_d}
            if cfg.r1 > 0:  # R1 (Mescheder et al. 2018): gamma/2 E||grad_x D(x)||^2 on real x
                (g,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
                d_terms["r1"] = cfg.r1 / 2 * g.pow(2).sum(-1).mean(-1).sum()
        ctx.optimize("D", d_terms)

        k = min(cfg.reg_batch or b, b)  # the first k queries carry the regulariser
        per: dict[str, torch.Tensor] = {}  # regulariser -> per-member loss of its members
        # G step: gradients reach G through D, D's stay clean; the regression term updates G only
        with frozen(self.D, self.E):
            with ctx.autocast():  # G step: non-saturating loss + each member's regulariser
                z = torch.randn(mm, b, cfg.z_dim, device=dev)
                fake = self.G(z, c)
                adv = _bce(self.D(fake, c), 1.0)
                if len(i := self.idx["divco"]):
                    per["divco"] = self._divco(i, c[i, :k], z[i, :k])
                if len(i := self.idx["mode_seeking"]):  # MSGAN per member, means over elements
                    z2 = torch.randn(len(i), k, cfg.z_dim, device=dev)
                    x2 = self.G(z2, c[i, :k], i)
                    per["mode_seeking"] = mode_seeking_loss(fake[i, :k], x2, z[i, :k], z2,
                                                            dim=(1, 2))
                if len(i := self.idx["regression"]):
                    per["regression"] = latent_regression_loss(
                        self.E(fake[i, :k], c[i, :k], i), z[i, :k], dim=(1, 2))
                terms = {"adv": adv.sum(),
                         **{r: (self.lam[self.idx[r]] * v).sum() for r, v in per.items()}}
            ratios = {}
            if per and ctx.step % cfg.log_every == 0:
                ratios = self._grad_ratios(adv, per)
            ctx.optimize("G", terms)
        out = {"loss_D": loss_d.detach() / mm, "G_adv": adv.detach().mean(),
               **{f"G_{r}": (self.lam[self.idx[r]] * v).detach().mean() for r, v in per.items()},
               **ratios}
        if self.E is not None:  # E's own loss: regress z from G's (fixed) output
            i = self.idx["regression"]
            with ctx.autocast():
                loss_e = latent_regression_loss(self.E(fake[i, :k].detach(), c[i, :k], i),
                                                z[i, :k], dim=(1, 2))
            ctx.optimize("E", {"regression": loss_e.sum()})
            out["E_regression"] = loss_e.detach().mean()
        return out

    def _grad_ratios(self, adv: torch.Tensor, per: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``gratio_<reg>``: the mean over that regulariser's members of
        ||grad_G(lambda L_reg)|| / ||grad_G L_adv|| (each member's own G weights; on the device)."""
        params = list(self.G.parameters())

        def member_norms(t: torch.Tensor) -> torch.Tensor:  # (M,) L2 norm per member
            gs = torch.autograd.grad(t, params, retain_graph=True, allow_unused=True)
            return torch.stack([g.float().pow(2).flatten(1).sum(1) for g in gs
                                if g is not None]).sum(0).sqrt()

        base = member_norms(adv.sum()).clamp_min(1e-12)
        out = {}
        for r, v in per.items():
            i = self.idx[r]
            out[f"gratio_{r}"] = (member_norms((self.lam[i] * v).sum())[i] / base[i]).mean().detach()
        return out

    @torch.no_grad()
    def sample(self, label: int, n: int, seed: int = 0, z: torch.Tensor | None = None,
               member: int = 0) -> torch.Tensor:
        """``n`` generated points of class ``label`` from member ``member`` with a private RNG
        (leaves the global one), or G(z, label) for given codes ``z`` (n, z_dim)."""
        if z is None:
            g = torch.Generator(device=self.device).manual_seed(seed)
            z = torch.randn(n, self.cfg.z_dim, generator=g, device=self.device)
        idx = torch.tensor([member], device=self.device)
        c = torch.full((1, len(z)), label, dtype=torch.long, device=self.device)
        return self.G(z.to(self.device)[None], c, idx)[0].float().cpu()

    def member(self, i: int) -> Member:
        """A view of member ``i`` with the single-run interface (``cfg``, ``sample``)."""
        return Member(self, i)

    def evaluate(self, ctx: Any = None) -> dict[str, float]:
        """:func:`toy_metrics` of each member; keys ``m<i>_<metric>`` with several members."""
        out: dict[str, float] = {}
        for i in range(len(self.members)):
            res = toy_metrics({c: self.sample(c, self.cfg.eval_n, seed=self.cfg.seed + 10_000 + c,
                                              member=i) for c in range(len(LAYOUTS))})
            if len(self.members) == 1:
                return res
            out.update({f"m{i}_{k}": v for k, v in res.items()})
        return out


@dataclass
class Member:
    """One member of a :class:`DivCoToy` run, used like a single-run method for plots."""

    method: DivCoToy
    index: int

    @property
    def cfg(self) -> DivCoToyConfig:
        return self.method.cfg

    def sample(self, label: int, n: int, seed: int = 0, z: torch.Tensor | None = None):
        return self.method.sample(label, n, seed, z, member=self.index)


def _near(x: torch.Tensor, centres: torch.Tensor, r: float) -> torch.Tensor:
    return torch.cdist(x.double(), centres.double()).min(1).values <= r


def toy_metrics(samples: dict[int, torch.Tensor], std: float = STD,
                threshold: float = THRESHOLD) -> dict[str, float]:
    """Per class c and pooled: modes covered, high-quality share, on-mode share, wrong mass.

    ``samples[c]`` (n, 2) generated for class c. Within ``threshold * std`` of a centre:
    ``high_quality_c`` of one of class c's own centres (= ``cond_dep_c``), ``on_mode_c`` of any
    position, ``wrong_mass_c`` of a position only the other class owns (0 = the class is
    respected, about 1/3 for a generator that spreads over all 12 positions regardless of the
    class); ``cond_purity_c`` = own / on-mode; ``mode_width_c`` the covered modes' spread over
    the real one's (1 = real width; < 1 shrunk modes, > 1 smeared ones); pooled ``width_error``
    = |mode_width - 1|.
    """
    out: dict[str, float] = {}
    for c, x in samples.items():
        m = toy_mode_metrics(x, LAYOUTS[c], std, threshold=threshold)
        own, anyc, wrong = (_near(x, ctr, threshold * std)
                            for ctr in (LAYOUTS[c], POSITIONS, PRIVATE[1 - c]))
        out[f"modes_covered_{c}"] = float(m["modes_covered"])
        out[f"n_modes_{c}"] = float(m["n_modes"])
        out[f"high_quality_{c}"] = m["high_quality"]
        out[f"mode_width_{c}"] = m["mode_width"]
        out[f"cond_dep_{c}"] = float(own.double().mean())
        out[f"on_mode_{c}"] = float(anyc.double().mean())
        out[f"wrong_mass_{c}"] = float(wrong.double().mean())
        out[f"cond_purity_{c}"] = float(own.sum() / anyc.sum().clamp(min=1))
    classes = list(samples)
    out["modes_covered"] = sum(out[f"modes_covered_{c}"] for c in classes)
    out["n_modes"] = sum(out[f"n_modes_{c}"] for c in classes)
    for k in ("high_quality", "mode_width", "cond_dep", "on_mode", "wrong_mass", "cond_purity"):
        out[k] = sum(out[f"{k}_{c}"] for c in classes) / len(classes)
    out["width_error"] = abs(out["mode_width"] - 1)  # 0 = the real width (shrunk or smeared)
    return out


__all__ = ["ENCODER_HEADS", "LAYOUTS", "OWNED", "POSITIONS", "PRIVATE", "REGULARIZERS", "STD",
           "DivCoToy", "DivCoToyConfig", "MLinear", "Member", "member_init", "parse_members",
           "parse_seeds", "sample_real", "toy_metrics"]
