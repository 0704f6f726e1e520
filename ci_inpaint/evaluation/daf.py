"""The contrastive attention network's evaluation (Ma et al. 2020): stage 1's retrieval check and
Table II's metrics for stage 2.

Stage 1: :func:`top1_retrieval` (does E_q match an image's two masked views?), logged by
``DAFMoCo.evaluate``. Stage 2: :func:`composite_scores` (L1, PSNR, SSIM and the boundary ring
of the composites), logged by ``DAFInpaint.evaluate`` and, with the FID, by
:func:`evaluate_run`; :func:`train_variant` trains one Table II cell (stage 1, then stage 2
from it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ..data.daf import fixed_views
from ..losses.nce import similarity
from ..metrics.references import REFERENCES  # noqa: F401 (the gate's references, table order)
from ..nn.daf import SiameseBranch, masked_input

if TYPE_CHECKING:
    from ..methods.daf import DAFInpaint


def top1_retrieval(branch: SiameseBranch, images: Tensor, mask_a: Tensor, mask_b: Tensor) -> float:
    """Fraction of images whose view under ``mask_a`` has its own ``mask_b`` view as the
    nearest (cosine of z) among all ``mask_b`` views (chance: 1 / n)."""
    dev = next(branch.parameters()).device
    with torch.no_grad():
        za = branch(masked_input(images, mask_a).to(dev))
        zb = branch(masked_input(images, mask_b).to(dev))
        hit = similarity(za, zb).argmax(1) == torch.arange(len(za), device=dev)
    return float(hit.float().mean())


def composite_scores(method: DAFInpaint, images: Tensor, masks: Tensor,
                     width: int = 2) -> tuple[dict, Tensor]:
    """L1 ([0, 1] scale, whole image), PSNR and SSIM of the composites of (images, masks) and
    the boundary ring scores (``ring_l1``, ``ring_grad``, ring ``width``), and the composites."""
    comp = method.inpaint(images, masks)
    return score_composites(comp, images, masks, width), comp


def score_composites(comp: Tensor, images: Tensor, masks: Tensor, width: int = 2) -> dict:
    """Whole-image L1 ([0, 1]), PSNR, SSIM, inside the hole ``hole_l1`` / ``hole_psnr``, and
    the boundary ring (``ring_l1``, ``ring_grad``) of composites ``comp``."""
    from ..metrics.inpaint import boundary_scores, inpaint_metrics
    from ..metrics.references import hole_metrics

    h = hole_metrics(comp, images, masks)
    return {**inpaint_metrics(comp, images, masks), "hole_l1": h["hole_l1"],
            "hole_psnr": h["hole_psnr"], **boundary_scores(comp, images, masks, width)}


def fid_fallback(dataset: str, resolution: int):
    """DAF's FID stand-in: :func:`ci_inpaint.evaluation.fid_fallback` (``photos``, ``lfw``)."""
    from . import fid_fallback as shared

    return shared(dataset, resolution)


def evaluate_run(method: DAFInpaint, n: int, fid: bool = True, feature_net="auto",
                 width: int = 2) -> dict:
    """Table II's metrics on ``n`` fixed test-split (image, mask) pairs (free-form and
    rectangular masks, seed 4321): :func:`composite_scores` and, with ``fid``, the FID of the
    n composites vs their n ground truths under its own name (``fid`` only with the
    Inception; else :func:`fid_fallback`'s; ``fid_name``, ``fid_n``, ``fid_label``)."""
    from ..metrics import fid as fid_of
    from ..metrics.fid import feature_net_or

    c = method.cfg
    images, masks, _ = fixed_views(c.dataset, c.resolution, n, c.data_root, split="test")
    out, comp = composite_scores(method, images, masks, width)
    if fid:
        net = feature_net_or(feature_net, lambda: fid_fallback(c.dataset, c.resolution))
        f = fid_of(images, comp, feature_net=net)
        out.update({f["name"]: f["value"], "fid_name": f["name"], "fid_n": f["n_a"],
                    "fid_label": f["label"], "fid_feature_net": f["feature_net"]})
    return out


def references(cfg, n: int, fid: bool = True, feature_net="auto", width: int = 2) -> dict:
    """The trivial references on :func:`evaluate_run`'s test pairs, scored alike
    (:func:`score_composites` and the same FID): the known pixels' mean colour in the hole, the
    biharmonic fill and the ground truth (the ceiling; its FID against itself is 0, the floor
    of this paired FID)."""
    from ..metrics import fid as fid_of
    from ..metrics.fid import feature_net_or
    from ..metrics.references import reference_fills

    images, masks, _ = fixed_views(cfg.dataset, cfg.resolution, n, cfg.data_root, split="test")
    fills = reference_fills(images, masks)
    net = feature_net_or(feature_net, lambda: fid_fallback(cfg.dataset, cfg.resolution)) if fid else None
    out = {}
    for name, comp in fills.items():
        out[name] = score_composites(comp, images, masks, width)
        if net is not None:
            f = fid_of(images, comp, feature_net=net)
            out[name].update({f["name"]: f["value"], "fid_name": f["name"]})
    return out


def train_variant(root, profile: str = "quick", contrastive: bool = True, daf: bool = True,
                  seed: int = 0, stage1: dict | None = None, **knobs):
    """One cell of Table II (contrastive pre-training x DAF): stage 1 (``daf_moco``, only when
    ``contrastive``; shared by both DAF settings of a seed) then stage 2 (``daf``) initialised
    from it, each trained, resumed or loaded by :func:`ci_inpaint.experiments.runs.train_run`
    under ``root``. ``knobs`` go to stage 2, and those of
    :data:`ci_inpaint.methods.daf.SHARED` to stage 1 as well; ``stage1`` adds stage-1-only
    knobs. Returns the stage-2 RunResult."""
    from ..experiments.runs import train_run
    from ..methods.daf import SHARED

    root = Path(root)
    init = ""
    if contrastive:
        s1_knobs = {**{k: v for k, v in knobs.items() if k in SHARED}, **(stage1 or {})}
        init = str(train_run("daf_moco", root / f"moco-s{seed}", profile, seed=seed,
                             **s1_knobs).run_dir)
    name = f"daf-c{int(contrastive)}-d{int(daf)}-s{seed}"
    return train_run("daf", root / name, profile, seed=seed, daf=daf, init=init, **knobs)
