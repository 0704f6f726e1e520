"""The one InfoNCE that all five papers use, computed in full precision.

For an anchor a with candidate similarities s_a1 .. s_aK, positives P(a), negatives N(a),
temperature tau and optional negative weights w, each (anchor, positive) pair contributes

    l_ap = -log  e^{s_ap/tau} / (e^{s_ap/tau} + sum_{n in N(a)} w_an e^{s_an/tau}),   p in P(a)

(an anchor with several positives gets one term per positive, each with ALL of that anchor's
negatives in the denominator, and the other positives in neither place). The five papers differ
only in what the anchor, the positives, the negatives and the weights are:

| paper (equation) | anchor | positives | negatives | w |
| --- | --- | --- | --- | --- |
| DivCo (Eq. 2) | G(z, y) | G(z+, y), z+ in the cube around z | G(z-_i, y), z-_i outside it | 1 |
| ContrasFill (Eq. 3-6) | S_{k,u} in an N x N grid | same k, other u (known space; unknown: same u, other k) | other k (unknown: other u) | 1 |
| SCAT semantic (Eq. 4) | D(completed x) | D(ground truth x) | D(x re-masked with each batch mask) | 1 |
| MoCo / DAF (Eq. 1) | E_q(x_q) | E_k(x_k), the same image under another mask | the key queue (65536) | 1 |
| PatchNCE / MoNCE | output patch i | input patch i (same position) | input patches j != i | 1 / OT plan |

In code (features ``f`` of shape (..., D); ``similarity`` gives cosines, ``info_nce`` the loss)::

    # DivCo, SCAT: one positive in column 0, then the negatives
    info_nce(similarity(f_q, torch.cat([f_pos[:, None], f_neg], 1)), tau=tau)
    # ContrasFill: all images against all; masks from the factor labels (self excluded)
    info_nce(similarity(f, f), *label_masks(k_ids), tau=tau)
    # MoCo: the positive key, then the (shared) queue
    info_nce(torch.cat([similarity(q, k[:, None]), similarity(q, queue)], -1), tau=0.07)
    # PatchNCE (B, P, D): positives on the diagonal; MoNCE adds log w on the negatives
    eye = torch.eye(P, dtype=torch.bool)
    info_nce(similarity(q, k.detach()), eye, ~eye, tau=0.07, log_weights=w.log())

Precision (the one shared place for it): both functions run with autocast disabled and compute in
float32 for fp16 / bf16 / fp32 inputs and in float64 for float64 inputs. Under bf16 autocast a
cosine has ~3 significant digits; divided by tau = 0.07 the logits err by ~0.05, which measured
a 7 % gradient error in DivCo's negatives.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import Tensor

REDUCTIONS = ("mean", "sum", "none")


def precise_dtype(*tensors: Tensor) -> torch.dtype:
    """float64 when any input is float64, else float32 (the dtype the logits are computed in)."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def autocast_off(device: torch.device | str):
    """A context with autocast disabled on ``device``'s backend (a no-op where it has none)."""
    kind = torch.device(device).type
    if torch.amp.is_autocast_available(kind):
        return torch.autocast(kind, enabled=False)
    return contextlib.nullcontext()


def similarity(anchors: Tensor, candidates: Tensor, normalize: bool = True) -> Tensor:
    """Similarities of anchors to candidates in float32 / float64, autocast off.

    * ``candidates.dim() == anchors.dim() + 1``: each anchor has its own candidates,
      (..., D) x (..., K, D) -> (..., K) (DivCo, SCAT).
    * ``candidates.dim() == anchors.dim()``: every anchor against every candidate of the same
      leading (batch) index, (..., A, D) x (..., K, D) -> (..., A, K) (ContrasFill's grid, a MoCo
      queue, PatchNCE's patches of one image).

    ``normalize=True`` L2-normalises both (cosine, as every paper states); ``False`` gives raw
    dot products. The normalisation also runs in full precision.
    """
    if candidates.dim() not in (anchors.dim(), anchors.dim() + 1) or anchors.dim() < 1 \
            or anchors.shape[-1] != candidates.shape[-1]:
        raise ValueError(f"anchors (..., D) need candidates (..., K, D) or (..., D) with the same "
                         f"D; got {tuple(anchors.shape)} and {tuple(candidates.shape)}")
    dtype = precise_dtype(anchors, candidates)
    with autocast_off(anchors.device):
        a, c = anchors.to(dtype), candidates.to(dtype)
        if normalize:
            a, c = F.normalize(a, dim=-1), F.normalize(c, dim=-1)
        if c.dim() == a.dim() + 1:
            return torch.einsum("...d,...kd->...k", a, c)
        return a @ c.transpose(-1, -2)


def label_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """(pos_mask, neg_mask) of shape (M, M) for ``info_nce(similarity(f, f), ...)``.

    Positives share the label and are not the anchor itself; negatives have another label. With
    ContrasFill's grid of (k, u) codes, ``label_masks(k_ids)`` gives the known space's pairs
    (same k, u != u': Eq. 3) and ``label_masks(u_ids)`` the unknown space's (Eq. 5).
    """
    same = labels[:, None] == labels[None, :]
    self_ = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~self_, ~same


def info_nce(sim: Tensor, pos_mask: Tensor | None = None, neg_mask: Tensor | None = None,
             tau: float = 1.0, log_weights: Tensor | None = None,
             reduction: str = "mean") -> Tensor:
    """InfoNCE over the last dimension of ``sim`` (..., K), in float32 / float64, autocast off.

    ``pos_mask`` (bool, broadcastable to ``sim``): the positives of each anchor; None means
    column 0 (DivCo, SCAT, MoCo). ``neg_mask``: its negatives; None means every candidate that is
    not a positive. A candidate in neither mask (e.g. the anchor itself) plays no part.
    ``log_weights`` (broadcastable): added to the *negative* logits s/tau, i.e. each negative
    counts w = exp(log_weights) times (MoNCE: pass log w; in similarity units that is tau·log w).
    The positive is never weighted.

    Reductions: ``"mean"`` over all (anchor, positive) pairs (ContrasFill's 1/|P|, Eq. 4; one
    positive per anchor: the mean over anchors); ``"sum"``; ``"none"``: per anchor, the sum of its
    pairs' terms, shape ``sim.shape[:-1]``. An anchor with no positive contributes 0, and a
    batch with no pair at all gives 0 under "mean", never NaN.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")
    with autocast_off(sim.device):
        logits = sim.to(precise_dtype(sim)) / tau
        if pos_mask is None:
            pos_mask = torch.arange(logits.shape[-1], device=logits.device) == 0
        pos = pos_mask.to(torch.bool).expand(logits.shape)
        neg = ~pos if neg_mask is None else neg_mask.to(torch.bool).expand(logits.shape)
        weighted = logits if log_weights is None else logits + log_weights.to(logits.dtype)
        # log of the summed (weighted) negatives per anchor; -inf for an anchor without any
        lse_neg = torch.logsumexp(weighted.masked_fill(~neg, float("-inf")), -1, keepdim=True)
        # -log(e^l / (e^l + e^lse)) = softplus(lse - l): stable, and 0 when there is no negative
        terms = F.softplus(lse_neg - logits).masked_fill(~pos, 0.0)
        if reduction == "none":
            return terms.sum(-1)
        if reduction == "sum":
            return terms.sum()
        return terms.sum() / pos.sum().clamp(min=1)


__all__ = ["REDUCTIONS", "autocast_off", "info_nce", "label_masks", "precise_dtype", "similarity"]
