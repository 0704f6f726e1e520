"""PatchNCE (Park et al., ECCV 2020, CUT, Eq. 2-3): contrast each output patch with the input patch
at the same position against the other input patches of the same image.

For one image and one layer, with q_i the (MLP-projected, L2-normalised) feature of output patch
i and k_j that of input patch j at the same P sampled positions,

    l(q_i) = -log  e^{q_i.k_i/tau} / (e^{q_i.k_i/tau} + sum_{j != i} e^{q_i.k_j/tau}),   tau = 0.07

(CUT Eq. 2 with v = q_i, v+ = k_i, v- = {k_j, j != i}; Eq. 3 averages over layers and patches).
The keys are detached (CUT: gradients reach G only through the output image's features), and
negatives come only from the same image (CUT's ``nce_includes_all_negatives_from_minibatch =
False``, the default for translation). Built on the shared core :func:`ci_inpaint.losses.nce.info_nce`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ci_inpaint.losses.nce import info_nce, similarity


def check_patches(q: Tensor, k: Tensor) -> None:
    """q and k must both be (..., P, D) with the same shape and P >= 2 (one positive needs a
    negative)."""
    if q.shape != k.shape or q.dim() < 2 or q.shape[-2] < 2:
        raise ValueError(f"q and k must be (..., P, D) of the same shape with P >= 2 patches; "
                         f"got {tuple(q.shape)} and {tuple(k.shape)}")


def patch_similarity(q: Tensor, k: Tensor) -> Tensor:
    """S = q k^T per image (..., P, P) in float32 / float64 with autocast off; k detached.

    Inputs are re-normalised: a no-op on unit vectors (and on the gradient, since the
    Jacobian of x/|x| is already tangent at |x| = 1), a guard for callers passing raw features.
    """
    check_patches(q, k)
    return similarity(q, k.detach())


def diagonal(p: int, device: torch.device | str) -> Tensor:
    """(P, P) bool identity: the positives of PatchNCE (patch i of the output vs i of the input)."""
    return torch.eye(p, dtype=torch.bool, device=device)


def patchnce_loss(q: Tensor, k: Tensor, tau: float = 0.07, reduction: str = "mean") -> Tensor:
    """PatchNCE (CUT Eq. 2) of output-patch features ``q`` against input-patch features ``k``.

    q, k: (B, P, D) L2-normalised features at the same P positions (any leading dims work, e.g.
    (layers, B, P, D) to do every layer in one call). Positives: the diagonal; negatives: the
    other P - 1 patches of the same image; ``k`` is detached. Computed in float32 (float64 for
    float64 inputs), autocast off. ``reduction``: ``"mean"`` over all patches (CUT), ``"sum"``,
    or ``"none"``: the per-anchor losses, shape (B, P).
    """
    s = patch_similarity(q, k)
    eye = diagonal(s.shape[-1], s.device)
    return info_nce(s, eye, ~eye, tau=tau, reduction=reduction)


__all__ = ["check_patches", "diagonal", "patch_similarity", "patchnce_loss"]
