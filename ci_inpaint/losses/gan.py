"""Adversarial losses and gradient penalties the five methods use (D side and G side).

Logits in, scalar out. ``d_*`` is what the discriminator minimises, ``g_*`` the generator.

* non-saturating / BCE with logits (Goodfellow et al. 2014; SCAT Eq. 6):
  D: -log s(D(x)) - log(1 - s(D(G))) = softplus(-D(x)) + softplus(D(G));  G: softplus(-D(G)).
* hinge (Lim & Ye 2017; SCAT, U-Net D): D: relu(1 - D(x)) + relu(1 + D(G));  G: -D(G).
  Per-pixel maps (SCAT Eq. 1-2 with the hinge its experiments use): ``d_hinge_map`` with a
  target map (1 = valid/real, 0 = generated) and ``g_hinge_map``, each an optionally weighted
  mean over pixels.
* LSGAN (Mao et al. 2017, a = 0, b = c = 1; MoNCE/CUT): D: (MSE(D(x), 1) + MSE(D(G), 0)) / 2,
  G: MSE(D(G), 1). The 1/2 on D but not on G is CUT's code, on which MoNCE's weights were set
  (the LSGAN paper also halves G's term; that only rescales lambda_GAN by 2).
* WGAN-GP (Gulrajani et al. 2017; DAF Eq. 13, lambda = 10): D: D(G) - D(x), G: -D(G), plus
  lambda E(||grad D(x_hat)||_2 - 1)^2 on x_hat = eps x + (1 - eps) G, eps ~ U(0, 1) per sample.
  (DAF's "resized version ... interpolation with a random scale factor" is read as this
  interpolate: it is the standard penalty of the WGAN-GP paper it cites.)
* R1 (Mescheder et al. 2018; StyleGAN2 / ContrasFill): gamma/2 E||grad D(x)||^2 on reals, with
  lazy regularisation (every k steps, scaled by k; Adam's lr and betas corrected by k/(k+1)).

``grad_norm_ratios`` is a diagnostic, not a loss: each G term's gradient norm over the
adversarial term's, the measure by which a loss weight is in or out of balance (01, 03 log it).

Gradient norms are taken in float32 (float64 for float64 inputs) with autocast off.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ci_inpaint.losses.nce import autocast_off, precise_dtype


def _wmean(x: Tensor, weight: Tensor | None) -> Tensor:
    """Mean of ``x``, or its ``weight``-weighted mean (weight broadcast to x; 0 if all weights 0)."""
    if weight is None:
        return x.mean()
    w = weight.to(x.dtype).expand_as(x)
    return (x * w).sum() / w.sum().clamp(min=torch.finfo(x.dtype).tiny)


# non-saturating / binary cross-entropy with logits
def d_nonsaturating(real: Tensor, fake: Tensor) -> Tensor:
    """softplus(-D(x)).mean() + softplus(D(G)).mean() (= BCE-with-logits, targets 1 and 0)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor) -> Tensor:
    """softplus(-D(G)).mean() = -log sigmoid(D(G)): the non-saturating generator loss."""
    return F.softplus(-fake).mean()


def bce_map(logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Per-pixel BCE with logits against a target map (SCAT Eq. 1-2 as written: 1 = valid)."""
    terms = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype).expand_as(logits),
                                               reduction="none")
    return _wmean(terms, weight)


# hinge
def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """relu(1 - D(x)).mean() + relu(1 + D(G)).mean()."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def g_hinge(fake: Tensor) -> Tensor:
    """-D(G).mean() (the hinge GAN's generator loss; also WGAN's)."""
    return -fake.mean()


def d_hinge_map(logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Per-pixel hinge for a segmentation D: relu(1 - l) where target = 1 (valid/real),
    relu(1 + l) where target = 0 (generated); mean over pixels, or ``weight``-weighted mean.

    SCAT's D step: ``d_hinge_map(S(x), 1) + d_hinge_map(S(x_bar), 1 - hole)``: every pixel of
    the ground truth and the known pixels of the composite are valid (our masks: 1 = hole). The
    official code averages over all pixels, which ``weight=None`` does.
    """
    sign = 2 * target.to(logits.dtype).expand_as(logits) - 1
    return _wmean(F.relu(1 - sign * logits), weight)


def g_hinge_map(logits: Tensor, weight: Tensor | None = None) -> Tensor:
    """The generator's per-pixel hinge term pushing pixels toward "valid": -mean(l).

    ``weight=None`` covers every pixel (SCAT Eq. 2); the hole mask as ``weight`` averages over
    generated pixels only (the official code).
    """
    return _wmean(-logits, weight)


# least squares
def d_lsgan(real: Tensor, fake: Tensor) -> Tensor:
    """(mean (D(x) - 1)^2 + mean D(G)^2) / 2."""
    return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())


def g_lsgan(fake: Tensor) -> Tensor:
    """mean (D(G) - 1)^2 (CUT's generator term, no 1/2)."""
    return (fake - 1).pow(2).mean()


# Wasserstein
def d_wgan(real: Tensor, fake: Tensor) -> Tensor:
    """D(G).mean() - D(x).mean() (DAF Eq. 13 without its penalty, as D minimises it)."""
    return fake.mean() - real.mean()


g_wgan = g_hinge  # -D(G).mean()


def _input_grad(outputs: Tensor, inputs: Tensor) -> Tensor:
    """d sum(outputs) / d inputs, flattened per sample to (B, n), float32/64, differentiable.

    Summing the outputs is exact per sample when D treats samples independently (no batch
    statistics); a per-pixel logit map is summed over its pixels too.
    """
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    with autocast_off(grad.device):
        return grad.to(precise_dtype(grad)).flatten(1)


def grad_norm_sq(outputs: Tensor, inputs: Tensor) -> Tensor:
    """Per-sample ||d sum(outputs) / d inputs||^2, shape (B,), differentiable (create_graph)."""
    return _input_grad(outputs, inputs).pow(2).sum(1)


def gradient_penalty(D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, lam: float = 10.0,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP: lam * E_xhat (||grad D(x_hat)||_2 - 1)^2, x_hat = eps x + (1 - eps) G(z).

    ``eps ~ U(0, 1)`` per sample (from ``generator`` or the global RNG); real and fake are
    detached (the penalty trains D only). Gradients flow into D's parameters.
    """
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator,
                     dtype=real.dtype, device=real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    norm = torch.linalg.vector_norm(_input_grad(D(x_hat), x_hat), dim=1)  # finite grad at 0
    return lam * (norm - 1).pow(2).mean()


def r1_penalty(D: Callable[[Tensor], Tensor], real: Tensor, gamma: float = 10.0) -> Tensor:
    """R1: gamma / 2 * E_x ||grad_x D(x)||^2 on real images (Mescheder et al. 2018, Eq. 9)."""
    x = real.detach().requires_grad_(True)
    return gamma / 2 * grad_norm_sq(D(x), x).mean()


def lazy_regularization(step: int, interval: int) -> float:
    """StyleGAN2's lazy R1: the factor to multiply the penalty by at ``step`` (0, 1, ...).

    ``interval`` (k) on every k-th step (0, k, 2k, ...), so that the penalty's expected weight
    per step is unchanged, and 0.0 on the others (skip computing it)::

        if (k := lazy_regularization(step, 16)):
            ctx.optimize("D", {"r1": k * r1_penalty(D, real, gamma)})
    """
    if interval < 1:
        raise ValueError(f"the regularisation interval must be >= 1, got {interval}")
    return float(interval) if step % interval == 0 else 0.0


def lazy_correction(interval: int) -> float:
    """c = k / (k + 1): StyleGAN2's factor for an optimiser that also takes the regulariser's
    separate step every k steps (the ratio of main steps to all steps)."""
    if interval < 1:
        raise ValueError(f"the regularisation interval must be >= 1, got {interval}")
    return interval / (interval + 1)


def lazy_adam(lr: float, betas: tuple[float, float], interval: int) -> tuple[float, tuple[float, float]]:
    """Adam's (lr, betas) corrected for lazy regularisation: (lr·c, (beta1^c, beta2^c)), c = k/(k+1).

    StyleGAN2 (NVlabs) applies this to the optimiser of every network with a lazy regulariser.
    """
    c = lazy_correction(interval)
    return lr * c, (betas[0] ** c, betas[1] ** c)


def r1_gamma_heuristic(resolution: int, batch: int) -> float:
    """NVlabs' StyleGAN2-ADA default gamma = 0.0002 · resolution^2 / batch."""
    return 0.0002 * resolution**2 / batch


def grad_norm_ratios(terms: dict[str, Tensor], params: list[Tensor], ref: str) -> dict[str, Tensor]:
    """``{"gratio_<k>": ||d terms[k] / d params|| / ||d terms[ref] / d params||}`` for k != ref.

    The balance of a regulariser against the adversarial term on G (the L2 norm over all of
    ``params``), computed with ``torch.autograd.grad`` on retained graphs: no parameter's
    ``.grad`` is touched and nothing syncs with the host (the ratios stay on the device). Call
    it only on logged steps: it costs one extra backward pass per term.
    """
    def norm(t: Tensor) -> Tensor:
        gs = torch.autograd.grad(t, params, retain_graph=True, allow_unused=True)
        sq = [g.float().pow(2).sum() for g in gs if g is not None]
        return torch.stack(sq).sum().sqrt() if sq else t.new_zeros((), dtype=torch.float32)

    base = norm(terms[ref]).clamp_min(1e-12)
    return {f"gratio_{k}": (norm(v) / base).detach() for k, v in terms.items() if k != ref}


__all__ = ["bce_map", "d_hinge", "d_hinge_map", "d_lsgan", "d_nonsaturating", "d_wgan",
           "g_hinge", "g_hinge_map", "g_lsgan", "g_nonsaturating", "g_wgan", "grad_norm_ratios",
           "grad_norm_sq", "gradient_penalty", "lazy_adam", "lazy_correction", "lazy_regularization",
           "r1_gamma_heuristic", "r1_penalty"]
