"""Trivial references: what a model must beat before any of its paper's claims can be read.

Issue "Teaching scale that learns" (the "does it learn" gate): every quick run reports its task
metric beside references computed on the same evaluation set:

* inpainting -- :func:`mean_fill` (the hole painted with the mean colour of the known pixels,
  per image and channel), :func:`classical_fill` (scikit-image's biharmonic inpainting, or
  OpenCV's Telea where OpenCV is installed) and the ground truth (the ceiling);
* translation -- :func:`identity_mapping` (output = input: perfect content, no translation);
* FID -- real against real (the floor; :mod:`ci_inpaint.metrics.fid`).

Conventions as everywhere in the package: images (N, C, H, W) in [-1, 1]; masks (N, 1, H, W)
with 1 = hole (:mod:`ci_inpaint.data.masks`). :func:`hole_metrics` scores a composite inside
the hole, :func:`reference_scores` gives one row per reference for a results table.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ci_inpaint.errors import UserError

from .inpaint import by_bucket, inpaint_metrics

CLASSICAL = ("biharmonic", "telea")


def _check(images: torch.Tensor, masks: torch.Tensor, name: str) -> torch.Tensor:
    if images.ndim != 4 or masks.ndim != 4 or masks.shape[1] != 1 \
            or masks.shape[0] != images.shape[0] or masks.shape[-2:] != images.shape[-2:]:
        raise UserError(f"{name} needs images (N,C,H,W) and masks (N,1,H,W) of the same N, H, W; "
                        f"got {tuple(images.shape)} and {tuple(masks.shape)}")
    return (masks > 0.5).to(images.dtype)


def mean_fill(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The hole (mask 1) painted with the mean of the known pixels, per image and channel; the
    known pixels are kept. An image with no known pixel is filled with 0 (mid-grey)."""
    hole = _check(images, masks, "mean_fill")
    known = 1 - hole
    count = known.sum(dim=(2, 3), keepdim=True)
    mean = (images * known).sum(dim=(2, 3), keepdim=True) / count.clamp_min(1)
    return images * known + mean * hole


def classical_fill(images: torch.Tensor, masks: torch.Tensor,
                   method: str = "biharmonic") -> torch.Tensor:
    """A classical, learning-free fill of the hole: ``biharmonic`` (scikit-image
    ``inpaint_biharmonic``: the hole solves the biharmonic equation with the known pixels as
    boundary values, so linear ramps are reproduced exactly) or ``telea`` (OpenCV's fast
    marching method, radius 3; needs ``opencv-python-headless``). Per image, on the CPU."""
    if method not in CLASSICAL:
        raise UserError(f"classical_fill: unknown method {method!r}: use one of {', '.join(CLASSICAL)}")
    hole = _check(images, masks, "classical_fill")
    x = ((images.detach().double().cpu() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    m = hole.detach().cpu().numpy()[:, 0] > 0.5
    out = np.empty_like(x)
    if method == "biharmonic":
        from skimage.restoration import inpaint_biharmonic

        for i in range(len(x)):
            out[i] = inpaint_biharmonic(x[i], m[i], channel_axis=-1) if m[i].any() else x[i]
    else:
        try:
            import cv2
        except ImportError:
            raise UserError("classical_fill(method='telea') needs OpenCV: pip install "
                            "opencv-python-headless (or use method='biharmonic')") from None
        for i in range(len(x)):
            u8 = np.round(x[i] * 255).astype(np.uint8)
            filled = cv2.inpaint(u8, m[i].astype(np.uint8), 3, cv2.INPAINT_TELEA)
            out[i] = filled.reshape(x[i].shape).astype(np.float64) / 255
    fill = torch.from_numpy(out).permute(0, 3, 1, 2).to(images) * 2 - 1
    return images * (1 - hole) + fill.clamp(-1, 1) * hole  # known pixels exactly as given


def identity_mapping(x: torch.Tensor) -> torch.Tensor:
    """The translation reference: output = input (content kept perfectly, nothing translated)."""
    return x.clone()


def hole_metrics(pred: torch.Tensor, target: torch.Tensor, masks: torch.Tensor) -> dict:
    """Mean L1 and PSNR (dB, data range 1 on [0, 1]) over the hole pixels only, per image then
    averaged over images (images without a hole are left out)."""
    hole = _check(target, masks, "hole_metrics").double()
    if pred.shape != target.shape:
        raise UserError(f"hole_metrics needs pred and target of one shape, got "
                        f"{tuple(pred.shape)} and {tuple(target.shape)}")
    p = ((pred.detach().double() + 1) / 2).clamp(0, 1)
    t = ((target.detach().double() + 1) / 2).clamp(0, 1)
    n = hole.sum(dim=(1, 2, 3)) * p.shape[1]
    sel = n > 0
    if not bool(sel.any()):
        return {"hole_l1": math.nan, "hole_psnr": math.nan, "n": 0}
    err = (p - t) * hole
    l1 = err.abs().sum(dim=(1, 2, 3))[sel] / n[sel]
    mse = (err ** 2).sum(dim=(1, 2, 3))[sel] / n[sel]
    psnr = 10 * torch.log10(1 / mse.clamp_min(1e-12))  # a perfect fill is capped at 120 dB
    return {"hole_l1": float(l1.mean()), "hole_psnr": float(psnr.mean()), "n": int(sel.sum())}


def score_fill(pred: torch.Tensor, target: torch.Tensor, masks: torch.Tensor,
               buckets: bool = False) -> dict:
    """Hole L1/PSNR (:func:`hole_metrics`) and whole-image L1/PSNR/SSIM
    (:func:`~ci_inpaint.metrics.inpaint.inpaint_metrics`) of a composite; ``buckets`` adds
    the whole-image metrics per hole-ratio bucket under ``"by_bucket"``."""
    out = {**inpaint_metrics(pred, target, masks), **hole_metrics(pred, target, masks)}
    if buckets:
        out["by_bucket"] = by_bucket(pred, target, masks)
    return out


#: the inpainting references of :func:`reference_fills`, in table order (classical: biharmonic)
REFERENCES = ("mean fill", "classical fill (biharmonic)", "ground truth")


def reference_fills(images: torch.Tensor, masks: torch.Tensor,
                    classical: str = "biharmonic") -> dict[str, torch.Tensor]:
    """The inpainting references' composites, by name: mean fill, classical fill, ground truth
    (the names of :data:`REFERENCES` with ``classical`` in the second)."""
    return {"mean fill": mean_fill(images, masks),
            f"classical fill ({classical})": classical_fill(images, masks, classical),
            "ground truth": images}


def reference_scores(images: torch.Tensor, masks: torch.Tensor,
                     classical: str = "biharmonic") -> list[dict]:
    """One row per reference on one evaluation set: mean fill, classical fill, ground truth
    (``{"reference": name, **score_fill(...)}``), the rows a notebook puts above its models."""
    return [{"reference": name, **score_fill(f, images, masks)}
            for name, f in reference_fills(images, masks, classical).items()]


__all__ = ["CLASSICAL", "REFERENCES", "classical_fill", "hole_metrics", "identity_mapping",
           "mean_fill", "reference_fills", "reference_scores", "score_fill"]
