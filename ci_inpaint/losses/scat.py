"""SCAT (Zuo et al., AAAI 2023): segmentation confusion adversarial training and the textural and
semantic contrastive losses, all on the discriminator's feature space.

Mask convention at this edge: the repository's ``hole`` is 1 on missing pixels; the paper's m is
1 on *valid* pixels (m = 1 - hole). The corrupted input is x~ = x * (1 - hole) (the paper's
x ⊙ m), the composite x_bar = hole * x_hat + (1 - hole) * x.

* :func:`scat_d_loss` / :func:`scat_g_loss` -- Eq. 1-2 in the hinge form the paper uses
  ("we adopt hinge loss for both global adversarial training and SCAT"): S labels every pixel of
  the ground truth and the composite's known pixels "valid" (+1) and the composite's generated
  pixels "generated" (-1); G pushes S's logits on the composite toward "valid".
* :func:`textural_contrastive_loss` -- Eq. 3 on D's shallow feature maps.
* :func:`semantic_contrastive_loss` -- Eq. 4 on projected global D features, on the shared
  InfoNCE core (:mod:`ci_inpaint.losses.nce`).
* :func:`recorrupt` -- Eq. 4's negatives: each ground truth under every mask of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ci_inpaint.losses.gan import d_hinge_map, g_hinge_map
from ci_inpaint.losses.nce import autocast_off, info_nce, precise_dtype, similarity

G_REGIONS = ("all", "hole")  # Eq. 2 (every pixel) | the official code (generated pixels only)
EPS_TEXT = 1e-7  # the denominator's offset in Eq. 3 (the authors' value)


def scat_d_loss(s_real: Tensor, s_comp: Tensor, hole: Tensor) -> Tensor:
    """Eq. 1 (hinge form), what S minimises: every pixel of S(x) is valid; S(x_bar) is valid on
    known pixels and generated on holes. Each term is a mean over all H x W pixels (Eq. 1's
    1/HW; the official code averages the same way).

    ``s_real``, ``s_comp``: (B, 1, H, W) logit maps; ``hole``: (B, 1, H, W), 1 = hole.
    """
    return d_hinge_map(s_real, torch.ones_like(s_real)) + d_hinge_map(s_comp, 1 - hole)


def scat_g_loss(s_comp: Tensor, hole: Tensor | None = None, region: str = "all") -> Tensor:
    """Eq. 2 (hinge form), what G minimises: -mean S(x_bar), every pixel called valid.

    ``region="all"`` averages over all H x W pixels as Eq. 2 writes it (known pixels count too:
    their logits see the generated ones through S's receptive field); ``"hole"`` averages over
    the hole only, as the official code does (``hole`` required).
    """
    if region not in G_REGIONS:
        raise ValueError(f"region must be one of {G_REGIONS}, not {region!r}")
    if region == "hole":
        if hole is None:
            raise ValueError("region='hole' needs the hole mask")
        return g_hinge_map(s_comp, hole)
    return g_hinge_map(s_comp)


def textural_contrastive_loss(feats_comp: Sequence[Tensor], feats_gt: Sequence[Tensor],
                              feats_corrupt: Sequence[Tensor]) -> Tensor:
    """Eq. 3: sum_i d(D_i(x_bar), D_i(x)) / (d(D_i(x_bar), D_i(x~)) + 1e-7), d = mean L1.

    Lists of D's shallow feature maps (the paper uses N = 4 levels) of the composite, the ground
    truth and the corrupted input. d is the mean absolute difference over the whole batch tensor
    (the authors' L1 loss), so the ratio is of batch means: Eq. 3's expectation is taken inside
    each distance. Nothing is detached: gradient reaches all three inputs (in SCAT's G step D is
    fixed, so only the composite's branch moves anything). Computed in float32, autocast off.
    """
    if not (len(feats_comp) == len(feats_gt) == len(feats_corrupt)) or not feats_comp:
        raise ValueError(f"textural_contrastive_loss needs three equally long, non-empty lists of "
                         f"feature maps, got {len(feats_comp)}, {len(feats_gt)}, "
                         f"{len(feats_corrupt)}")
    total = None
    with autocast_off(feats_comp[0].device):
        for fc, fg, fx in zip(feats_comp, feats_gt, feats_corrupt):
            if not (fc.shape == fg.shape == fx.shape):
                raise ValueError(f"feature maps of one level differ in shape: {tuple(fc.shape)}, "
                                 f"{tuple(fg.shape)}, {tuple(fx.shape)}")
            dt = precise_dtype(fc, fg, fx)
            fc, fg, fx = fc.to(dt), fg.to(dt), fx.to(dt)
            term = (fc - fg).abs().mean() / ((fc - fx).abs().mean() + EPS_TEXT)
            total = term if total is None else total + term
    return total


def semantic_contrastive_loss(anchor: Tensor, positive: Tensor, negatives: Tensor,
                              tau: float | None) -> Tensor:
    """Eq. 4: -log e^{a·p/t} / (e^{a·p/t} + sum_j e^{a·n_j/t}), mean over the batch.

    ``anchor`` (B, D): projected features of the composites; ``positive`` (B, D): of the ground
    truths; ``negatives`` (B, M, D): of M corrupted versions of each ground truth. All are
    L2-normalised here (cosines). ``tau=None`` is the authors' code, which stores t = 0.07 but
    never divides by it (t = 1); a float is the paper's temperature t.
    """
    if anchor.dim() != 2 or positive.shape != anchor.shape or negatives.dim() != 3 \
            or negatives.shape[0] != anchor.shape[0] or negatives.shape[2] != anchor.shape[1]:
        raise ValueError(f"semantic_contrastive_loss needs anchor (B, D), positive (B, D), "
                         f"negatives (B, M, D); got {tuple(anchor.shape)}, "
                         f"{tuple(positive.shape)}, {tuple(negatives.shape)}")
    if tau is not None and not tau > 0:
        raise ValueError(f"tau must be None (no temperature, the authors' code) or > 0, got {tau}")
    sim = similarity(anchor, torch.cat([positive[:, None], negatives], 1))  # (B, 1 + M)
    return info_nce(sim, tau=1.0 if tau is None else tau)


def corrupt(image: Tensor, hole: Tensor, fill: float = 0.0) -> Tensor:
    """x~ = x * (1 - hole) + fill * hole: the paper's x ⊙ m for ``fill=0``; AOT-GAN's trainer
    paints holes white (``fill=1`` on [-1, 1])."""
    return image * (1 - hole) + fill * hole


def recorrupt(image: Tensor, hole: Tensor, fill: float = 0.0) -> Tensor:
    """Eq. 4's negatives: every ground truth x_i under every mask m_j of the batch,
    corrupt(x_i, hole_j), shape (B, B, C, H, W) with [i, j] = image i, mask j (M = B; j = i
    is x_i's own corrupted input)."""
    return corrupt(image[:, None], hole[None], fill)


__all__ = ["EPS_TEXT", "G_REGIONS", "corrupt", "recorrupt", "scat_d_loss", "scat_g_loss",
           "semantic_contrastive_loss", "textural_contrastive_loss"]
