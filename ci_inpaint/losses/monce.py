"""MoNCE (Zhan et al., CVPR 2022, "Modulated Contrast for Versatile Image Synthesis"): PatchNCE
whose negatives are re-weighted by an entropic optimal-transport plan between the output's and
the input's patches.

Per image and layer, with S = q k^T (P x P cosines; keys detached) and the positive (diagonal)
excluded:

* cost kernel (main paper, Sec. 3.2): ``hard`` K_ij = exp(S_ij / eps) (similar = hard negatives
  get more mass) or ``easy`` K_ij = exp((1 - S_ij) / eps); K_ii = 0;
* plan pi = diag(u) K diag(v) from Sinkhorn with unit row and column marginals (``iters`` = 50
  alternating scalings u = 1 / (K v), v = 1 / (K^T u), starting from u = v = 1, as the authors'
  code; the last update is v's, so columns sum to 1 exactly and rows approximately);
* weights w_ij = pi_ij (P - 1) Q + 1e-8 (Q = ``neg_weight``; with Q = 1 the mean negative weight
  is ~1, and a uniform plan pi_ij = 1/(P - 1) gives back PatchNCE);
* loss per anchor: -log e^{S_ii/tau} / (e^{S_ii/tau} + sum_{j != i} w_ij e^{S_ij/tau}), i.e.
  log w added to the negative logits S/tau (tau log w in similarity units, the code's
  ``l_neg + log(w) * nce_T``); the positive is not weighted.

Choices (stated in the notebook):

* the diagonal is excluded exactly (K_ii = 0); the authors' code sets the cosine to -10 before
  the exponential, i.e. K_ii = e^{-10/eps}: a difference below 1e-4 of a row's mass for eps <= 1;
* the code transposes the plan twice (``OT`` returns pi^T and the loss permutes it back), so w_ij
  weighs key j for query i: the same as here;
* ``plan_grad=True`` (the code): gradients flow through the 50 iterations into q;
  ``plan_grad=False`` treats the weights as constants;
* ``log_domain=False`` (the code) runs the scalings on K itself, which overflows float32 once
  1/eps > ~88 (hard) or 2/eps > ~88 (easy); ``log_domain=True`` runs the same iterations on
  log u, log v with logsumexp and stays finite at any eps > 0.

Everything is batched: q, k (..., P, D) with any leading dims (images, or layers x images), one
set of tensor ops per Sinkhorn iteration for all of them; in float32 (float64 for float64
inputs) with autocast off.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ci_inpaint.errors import ConfigError
from ci_inpaint.losses.nce import autocast_off, info_nce
from ci_inpaint.losses.patchnce import diagonal, patch_similarity

COSTS = ("hard", "easy")
WEIGHT_FLOOR = 1e-8  # added to every weight, as the authors' code (keeps log w finite)


def _check(eps: float, cost: str, neg_weight: float, iters: int) -> None:
    if cost not in COSTS:
        raise ConfigError(f"MoNCE cost must be one of {', '.join(COSTS)}, not {cost!r}")
    if not (eps > 0 and math.isfinite(eps)):
        raise ConfigError(f"MoNCE eps must be a finite number > 0, got {eps!r} (paper: 1.0)")
    if not neg_weight >= 0:
        raise ConfigError(f"MoNCE neg_weight Q must be >= 0, got {neg_weight!r} (paper: 1.0)")
    if iters < 1:
        raise ConfigError(f"MoNCE needs iters >= 1 Sinkhorn iterations, got {iters} (paper: 50)")


def log_kernel(s: Tensor, eps: float, cost: str = "hard") -> Tensor:
    """log K (..., P, P): S/eps (hard) or (1 - S)/eps (easy), -inf on the diagonal."""
    c = s if cost == "hard" else 1 - s
    return (c / eps).masked_fill(diagonal(s.shape[-1], s.device), float("-inf"))


def sinkhorn(kernel: Tensor, iters: int = 50) -> Tensor:
    """The plan pi = diag(u) K diag(v) with unit row and column marginals, batched over the
    leading dims of ``kernel`` (..., P, P), as the authors' code: u = 1 / (K v), v = 1 / (K^T u)
    from u = v = 1, ``iters`` times."""
    v = torch.ones_like(kernel[..., 0, :])
    for _ in range(iters):
        u = 1 / (kernel @ v[..., None])[..., 0]
        v = 1 / (u[..., None, :] @ kernel)[..., 0, :]
    return u[..., :, None] * kernel * v[..., None, :]


def log_sinkhorn(log_k: Tensor, iters: int = 50) -> Tensor:
    """log pi for log K (..., P, P): the same iterates as :func:`sinkhorn` in log space,
    log u = -logsumexp(log K + log v), log v = -logsumexp(log K^T + log u); finite at any eps."""
    log_v = torch.zeros_like(log_k[..., 0, :])
    for _ in range(iters):
        log_u = -torch.logsumexp(log_k + log_v[..., None, :], -1)
        log_v = -torch.logsumexp(log_k + log_u[..., :, None], -2)
    return log_u[..., :, None] + log_k + log_v[..., None, :]


def monce_log_weights(s: Tensor, eps: float = 1.0, cost: str = "hard", neg_weight: float = 1.0,
                      iters: int = 50, log_domain: bool = False, plan_grad: bool = True) -> Tensor:
    """log w (..., P, P) for similarities ``s``: w = pi (P - 1) Q + 1e-8 (diagonal: log 1e-8,
    unused since the positive is never weighted)."""
    _check(eps, cost, neg_weight, iters)
    with autocast_off(s.device):
        log_k = log_kernel(s if plan_grad else s.detach(), eps, cost)
        scale = (s.shape[-1] - 1) * neg_weight
        if not log_domain:  # pi_ii = 0 gives w_ii = 1e-8: log and its gradient stay finite
            return (sinkhorn(log_k.exp(), iters) * scale + WEIGHT_FLOOR).log()
        log_pi = log_sinkhorn(log_k, iters) + (math.log(scale) if scale > 0 else float("-inf"))
        # log(pi (P-1) Q + 1e-8) without leaving log space
        return torch.logaddexp(log_pi, torch.full_like(log_pi, math.log(WEIGHT_FLOOR)))


def monce_loss(q: Tensor, k: Tensor, tau: float = 0.07, eps: float = 1.0, cost: str = "hard",
               neg_weight: float = 1.0, iters: int = 50, reduction: str = "mean", *,
               log_domain: bool = False, plan_grad: bool = True) -> Tensor:
    """MoNCE of output-patch features ``q`` against input-patch features ``k`` (see the module).

    q, k: (B, P, D) L2-normalised (or (layers, B, P, D): every layer's Sinkhorn in one batch);
    ``k`` is detached. ``neg_weight`` is the paper's Q; ``eps`` the entropic regulariser
    (paper default 1.0, horse->zebra script 0.1); ``cost`` hard | easy; ``iters`` Sinkhorn
    iterations (50). ``reduction``: ``"mean"`` over patches, ``"sum"``, or ``"none"`` (B, P).
    """
    s = patch_similarity(q, k)
    eye = diagonal(s.shape[-1], s.device)
    log_w = monce_log_weights(s, eps, cost, neg_weight, iters, log_domain, plan_grad)
    return info_nce(s, eye, ~eye, tau=tau, log_weights=log_w, reduction=reduction)


def transport_plan(q: Tensor, k: Tensor, eps: float = 1.0, cost: str = "hard", iters: int = 50,
                   log_domain: bool = True) -> Tensor:
    """The plan pi (..., P, P) between the patches of q and k (no gradient; for pictures)."""
    _check(eps, cost, 1.0, iters)
    with torch.no_grad(), autocast_off(q.device):
        log_k = log_kernel(patch_similarity(q, k), eps, cost)
        return log_sinkhorn(log_k, iters).exp() if log_domain else sinkhorn(log_k.exp(), iters)


__all__ = ["COSTS", "WEIGHT_FLOOR", "log_kernel", "log_sinkhorn", "monce_log_weights", "monce_loss",
           "sinkhorn", "transport_plan"]
