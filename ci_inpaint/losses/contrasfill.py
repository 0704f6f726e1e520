"""ContrasFill's contrastive losses in the known and unknown code spaces (Li et al. 2022, Sec. 3.1).

Images S_{k,u} of N_k known codes x N_u unknown codes. A pair (Eq. 1) joins two images that
differ in at least one code. In the **known** space (Eq. 3-4), for the anchor S_{k,u}:

* positive: same k, other u (P_{k,u});
* negatives N_{k,u}: other k -- *hard* when u is the same (a column of Fig. 2), *easy* else;

and the **unknown** space (Eq. 5-6) is the mirror image (positive: same u, other k; negatives:
other u, hard when k is the same). With f = exp(cos(z, z')/tau) (Eq. 2),

    l_{(k,u),(k,u')} = -log f_pos / (f_pos + FN_{k,u}),      FN = sum of f over ALL negatives

and L_known = 1/|P_K| sum over the positive pairs. Our choice where Eq. 4 is silent: P_K holds
*ordered* (anchor, positive) pairs, so each unordered pair is counted from both ends (its two
images are each the anchor once, with their own negatives). The features z are E_k's in the
known space (a pretrained, frozen classifier) and E_u's in the unknown space (trained from
scratch).

Both spaces are one call of the shared InfoNCE core (:mod:`ci_inpaint.losses.nce`): one
similarity matrix and boolean masks, no loop over pairs.

The paper's memory-saving batch (Sec. 4, "we subsample one hard negative pair for each code,
resulting in a batch size of 16" for N = 8) is :func:`paired_codes`: our interpretation is the
N diagonal combinations (k_i, u_i) plus (k_i, u_pi(i)) for a random derangement pi, so each
image has exactly one positive and one hard negative in each space.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ConfigError
from .nce import info_nce, similarity

SPACES = ("known", "unknown")
# pair types of pair_types(): 0 = the anchor itself, 1 = positive, 2 = hard negative,
# 3 = easy negative, -1 = no pair of this space
PAIR_NAMES = {0: "self", 1: "positive", 2: "hard negative", 3: "easy negative"}


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ConfigError(f"space must be 'known' or 'unknown', got {space!r}")


def code_masks(k_ids: Tensor, u_ids: Tensor, space: str) -> tuple[Tensor, Tensor]:
    """(pos, neg) boolean (M, M) masks of images with code ids ``k_ids``, ``u_ids`` (M,).

    known: pos = same k & other u, neg = other k; unknown: pos = same u & other k, neg = other u.
    A pair with the same k and u (a duplicate image, or the anchor) is in neither (Eq. 1).
    """
    _check_space(space)
    same_k = k_ids[:, None] == k_ids[None, :]
    same_u = u_ids[:, None] == u_ids[None, :]
    if space == "known":
        return same_k & ~same_u, ~same_k
    return same_u & ~same_k, ~same_u


def code_contrastive_loss(feats: Tensor, k_ids: Tensor, u_ids: Tensor, space: str,
                          tau: float) -> Tensor:
    """Eq. 3-4 (known) / Eq. 5-6 (unknown) for any set of images: ``feats`` (M, D) with code
    ids ``k_ids``, ``u_ids`` (M,); mean over ordered (anchor, positive) pairs (0 with none)."""
    pos, neg = code_masks(k_ids, u_ids, space)
    return info_nce(similarity(feats, feats), pos, neg, tau=tau)


def grid_ids(n_k: int, n_u: int, device=None) -> tuple[Tensor, Tensor]:
    """Code ids of the flattened (N_k, N_u) grid: image i*N_u + j has (k_i, u_j)."""
    k = torch.arange(n_k, device=device).repeat_interleave(n_u)
    u = torch.arange(n_u, device=device).repeat(n_k)
    return k, u


def grid_contrastive_loss(feats: Tensor, space: str, tau: float) -> Tensor:
    """L_known (Eq. 4) or L_unknown (Eq. 6) of a full grid: ``feats`` (N_k, N_u, D),
    ``feats[i, j] = E(S(k_i, u_j))``; ``space`` ``"known"`` | ``"unknown"``; ``tau`` (Eq. 2)."""
    _check_space(space)
    if feats.dim() != 3:
        raise ConfigError(f"grid_contrastive_loss needs feats (N_k, N_u, D), got "
                          f"{tuple(feats.shape)}: stack E(S(k_i, u_j)) as feats[i, j]")
    n_k, n_u, d = feats.shape
    k_ids, u_ids = grid_ids(n_k, n_u, feats.device)
    return code_contrastive_loss(feats.reshape(n_k * n_u, d), k_ids, u_ids, space, tau)


def pair_types(k_ids: Tensor, u_ids: Tensor, space: str) -> Tensor:
    """(M, M) int matrix of :data:`PAIR_NAMES` codes (self / positive / hard / easy negative)."""
    pos, neg = code_masks(k_ids, u_ids, space)
    same_k = k_ids[:, None] == k_ids[None, :]
    same_u = u_ids[:, None] == u_ids[None, :]
    hard = neg & (same_u if space == "known" else same_k)
    out = torch.full(pos.shape, -1, dtype=torch.long, device=pos.device)
    out[same_k & same_u] = 0
    out[pos] = 1
    out[hard] = 2
    out[neg & ~hard] = 3
    return out


def pair_counts(k_ids: Tensor, u_ids: Tensor, space: str) -> dict[str, int]:
    """Ordered pairs per type over all anchors (the anchor itself excluded)."""
    t = pair_types(k_ids, u_ids, space)
    eye = torch.eye(len(k_ids), dtype=torch.bool, device=t.device)
    return {name: int(((t == code) & ~eye).sum()) for code, name in PAIR_NAMES.items()
            if code != 0}


def derangement(n: int, generator: torch.Generator | None = None) -> Tensor:
    """A uniformly random permutation of range(n) without fixed points (n >= 2), by rejection
    (the chance of a derangement is ~1/e, so ~2.7 draws on average)."""
    if n < 2:
        raise ConfigError(f"a derangement needs n >= 2 codes, got {n}: use n_codes >= 2")
    idx = torch.arange(n)
    while True:
        p = torch.randperm(n, generator=generator)
        if not bool((p == idx).any()):
            return p


def paired_codes(n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """The memory-saving batch of 2N images: (k_i, u_i) then (k_i, u_pi(i)), pi a derangement.

    Returns (k_ids, u_ids) of length 2N. In each space every image has one positive, one hard
    negative and 2N - 3 easy negatives (:func:`pair_counts`)."""
    pi = derangement(n, generator)
    k = torch.cat([torch.arange(n), torch.arange(n)])
    return k, torch.cat([torch.arange(n), pi])


__all__ = ["PAIR_NAMES", "SPACES", "code_contrastive_loss", "code_masks", "derangement",
           "grid_contrastive_loss", "grid_ids", "pair_counts", "pair_types", "paired_codes"]
