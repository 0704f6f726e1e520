"""SCAT's evaluation (Zuo et al., AAAI 2023): Table 1's metrics per hole-ratio bucket and the
segmentation network's view of a composite during training.

:func:`evaluate_run` scores a trained :class:`~ci_inpaint.methods.scat.SCAT` on the fixed
pairs of :func:`ci_inpaint.data.scat.eval_pairs`; :func:`s_map_scores` is what
``SCAT.evaluate`` logs from S's map of the probe composite, :func:`contrast_scores` what it logs
of the contrastive losses' distances on eight fixed held-out images.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..data.scat import EVAL_BUCKETS, eval_pairs
from ..metrics.references import REFERENCES  # noqa: F401 (the gate's references, table order)

if TYPE_CHECKING:
    from ..methods.scat import SCAT


def s_map_scores(s: Tensor, hole: Tensor, comp: Tensor, image: Tensor) -> dict[str, float]:
    """How well S's logit map ``s`` of the composite ``comp`` finds the hole: ``s_gap`` = mean
    logit on known pixels - on hole pixels, ``s_acc`` = pixel accuracy of its sign, ``s_iou``
    = IoU of the pixels S calls generated (logit < 0) with the true hole (0 when it calls none);
    ``probe_l1`` = L1 of the composite vs ``image`` ([0, 1] scale)."""
    gap = s[hole < 0.5].mean() - s[hole > 0.5].mean()
    acc = ((s > 0).float() == (1 - hole)).float().mean()
    gen, true = s < 0, hole > 0.5
    iou = (gen & true).sum() / (gen | true).sum().clamp_min(1)
    return {"s_gap": float(gap), "s_acc": float(acc), "s_iou": float(iou),
            "probe_l1": float(((comp - image).abs() / 2).mean())}


@torch.no_grad()
def contrast_scores(method: SCAT, image: Tensor, hole: Tensor) -> dict[str, float]:
    """What the two contrastive losses see, on fixed held-out ``image`` / ``hole`` rows, in the
    current D's feature space (so the values move with D; compare the variants at a step):

    * ``text_pos`` / ``text_neg``: Eq. 3's distances summed over the four shallow levels, mean
      L1 of D_i(x_bar) to D_i(x) (the positive) and to D_i(x~) (the negative, the corrupted
      input); ``text_ratio`` is Eq. 3's value, sum_i pos_i / neg_i (lower: the fill's texture
      is nearer the real image than the hole it came from);
    * ``sem_pos`` / ``sem_neg``: cosines of the projected global features (Eq. 4) of x_bar to x
      and, averaged, to every x_i re-corrupted by each mask of the rows; ``sem_gap`` their
      difference. In the variants that do not train L_sem the projection MLP is its random
      initialisation: their ``sem_*`` is a random view of D's global features.
    """
    from ..losses.nce import similarity
    from ..losses.scat import corrupt, recorrupt
    from ..nn.unet_d import N_SHALLOW

    dev, fill, B = method.device, method.cfg.hole_fill, image.shape[0]
    x, m = image.to(dev), hole.to(dev)
    comp = method.composite(method.G(x, m), x, m).clamp(-1, 1)
    feats, g = method.D.encode(torch.cat([comp, x, corrupt(x, m, fill),
                                          recorrupt(x, m, fill).flatten(0, 1)]))
    pos = [(f[:B] - f[B:2 * B]).abs().mean().float() for f in feats[:N_SHALLOW]]
    neg = [(f[:B] - f[2 * B:3 * B]).abs().mean().float() for f in feats[:N_SHALLOW]]
    z = method.P(g.float())
    sim = similarity(z[:B], torch.cat([z[B:2 * B, None], z[3 * B:].view(B, B, -1)], 1))
    sp, sn = sim[:, 0].mean(), sim[:, 1:].mean()
    return {"text_pos": float(sum(pos)), "text_neg": float(sum(neg)),
            "text_ratio": float(sum(a / (b + 1e-7) for a, b in zip(pos, neg))),
            "sem_pos": float(sp), "sem_neg": float(sn), "sem_gap": float(sp - sn)}


@functools.lru_cache(maxsize=2)
def fid_fallback(resolution: int):
    """SCAT's FID stand-in: :func:`ci_inpaint.evaluation.fid_fallback` on ``photos``."""
    from . import fid_fallback as shared

    return shared("photos", resolution)


def _feature_net(cfg, feature_net):
    """The FID's feature net: the Inception where its weights are, else (``auto`` on photos)
    :func:`fid_fallback`'s in-project photo classifier, named as such in the results."""
    from ..errors import WeightsMissingError
    from ..metrics.fid import resolve_feature_net

    try:
        return resolve_feature_net(feature_net)
    except WeightsMissingError:
        if feature_net != "auto" or cfg.dataset != "photos":
            raise
        return fid_fallback(cfg.resolution)


def score_composites(comp: Tensor, images: Tensor, masks: Tensor, rows: list[str],
                     net=None) -> dict[str, Any]:
    """Composites scored per bucket of ``rows``: whole-image ``l1_<b>`` on [0, 1] and
    ``l1pm_<b>`` on [-1, 1] (the authors' scale, twice the first), ``psnr_<b>``, ``ssim_<b>``;
    inside the hole ``hole_l1_<b>`` ([0, 1]) and ``hole_psnr_<b>``; with a feature ``net`` the
    FID of each bucket's composites vs the same ground truths (``<fid name>_<b>``;
    ``fid_name``, ``fid_n``, ``fid_feature_net``)."""
    from ..metrics import by_bucket
    from ..metrics import fid as fid_of
    from ..metrics.references import hole_metrics

    out: dict[str, Any] = {}
    for b, r in by_bucket(comp, images, masks, EVAL_BUCKETS).items():
        out[f"l1_{b}"], out[f"l1pm_{b}"] = r["l1"], 2 * r["l1"]
        out[f"psnr_{b}"], out[f"ssim_{b}"], out[f"n_{b}"] = r["psnr"], r["ssim"], r["n"]
    for b in EVAL_BUCKETS:
        keep = torch.tensor([r == b for r in rows])
        h = hole_metrics(comp[keep], images[keep], masks[keep])
        out[f"hole_l1_{b}"], out[f"hole_psnr_{b}"] = h["hole_l1"], h["hole_psnr"]
        if net is not None:
            f = fid_of(images[keep], comp[keep], feature_net=net)
            out[f"{f['name']}_{b}"] = f["value"]
            out["fid_name"], out["fid_n"], out["fid_feature_net"] = f["name"], f["n_a"], f["feature_net"]
    return out


def evaluate_run(method: SCAT, n_per_bucket: int, fid: bool = True,
                 feature_net="auto") -> dict[str, Any]:
    """A trained run's composites on the fixed pairs of :func:`eval_pairs`, scored by
    :func:`score_composites` (with the FID when ``fid``)."""
    images, masks, rows = eval_pairs(method.cfg, n_per_bucket)
    net = _feature_net(method.cfg, feature_net) if fid else None
    return score_composites(method.inpaint(images, masks), images, masks, rows, net)


def references(cfg, n_per_bucket: int, fid: bool = True, feature_net="auto") -> dict[str, dict]:
    """The trivial references on the runs' evaluation pairs, scored as the runs are
    (:func:`score_composites`): the hole painted with the known pixels' mean colour
    (:func:`~ci_inpaint.metrics.references.mean_fill`), scikit-image's biharmonic fill
    (:func:`~ci_inpaint.metrics.references.classical_fill`) and the ground truth itself (the
    ceiling; its FID against itself is 0, the floor of this paired FID)."""
    from ..metrics.references import reference_fills

    images, masks, rows = eval_pairs(cfg, n_per_bucket)
    net = _feature_net(cfg, feature_net) if fid else None
    fills = reference_fills(images, masks)
    return {k: score_composites(f, images, masks, rows, net) for k, f in fills.items()}
