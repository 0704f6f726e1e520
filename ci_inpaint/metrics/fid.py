"""Fréchet Inception Distance (Heusel et al. 2017) and its in-project-feature variant.

FID = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}), the Fréchet (2-Wasserstein)
distance between Gaussians fitted to two feature sets. The trace of the matrix square root is
computed from the symmetric form Tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}), which has the same
eigenvalues as S_a S_b but is symmetric PSD, so an eigendecomposition is exact and stable.

As pytorch-fid, which reads PNG files: images are quantised to uint8 levels before the feature
net (:func:`quantize_uint8`), and eps·I enters only when the square root fails. FID is biased
by the sample count, so every result carries ``n_a`` / ``n_b`` and :func:`fid_label` writes
``fid (n=10000)``; :data:`PAPER_FID_SAMPLES` holds each paper's count and its source.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ci_inpaint.errors import UserError, WeightsMissingError
from ci_inpaint.metrics.features import FeatureNet, inception_feature_net


def _as64(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _sqrt_from_eigh(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _product_eigvals(cov_a, cov_b) -> np.ndarray:
    """Eigenvalues of S_a^{1/2} S_b S_a^{1/2} (= those of S_a S_b), a symmetric PSD matrix."""
    root_a = _sqrt_from_eigh(*np.linalg.eigh((cov_a + cov_a.T) / 2))
    return np.linalg.eigvalsh(root_a @ cov_b @ root_a)


def frechet_from_moments(mu_a, cov_a, mu_b, cov_b, eps: float = 1e-6) -> float:
    """Fréchet distance of N(mu_a, cov_a) and N(mu_b, cov_b), in float64.

    eps·I is added to both covariances only when the square root fails (a non-finite result),
    pytorch-fid's rule. Singular but finite covariances need no offset here: the symmetric
    form's eigenvalues are >= 0 up to rounding (clipped), so the value stays exact, and an
    offset would shift it on ill-conditioned full-rank covariances too.
    """
    mu_a, mu_b, cov_a, cov_b = map(_as64, (mu_a, mu_b, cov_a, cov_b))
    try:
        w = _product_eigvals(cov_a, cov_b)
    except np.linalg.LinAlgError:  # eigh did not converge
        w = np.full(1, np.nan)
    if not np.isfinite(w).all():
        warnings.warn(f"Fréchet distance: the square root of the covariance product failed "
                      f"(non-finite); adding {eps}·I to both covariances", stacklevel=3)
        offset = eps * np.eye(len(cov_a))
        w = _product_eigvals(cov_a + offset, cov_b + offset)
    tr_covmean = np.sqrt(np.clip(w, 0, None)).sum()  # clip rounding negatives
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_covmean)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted (unbiased covariance) to (N, D) features."""
    a, b = _as64(feats_a), _as64(feats_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise UserError(f"frechet_distance needs two (N, D) arrays with the same D, got "
                        f"{a.shape} and {b.shape}: pass features, not images")
    if len(a) < 2 or len(b) < 2:
        raise UserError(f"frechet_distance needs at least 2 samples per set, got {len(a)} and "
                        f"{len(b)}: pass more images (FID is biased below ~2048)")
    if min(len(a), len(b)) <= a.shape[1]:
        warnings.warn(f"Fréchet distance of {len(a)} and {len(b)} samples of {a.shape[1]} "
                      "features: a covariance is singular (samples <= dimensions), so the value "
                      "is strongly biased; use more samples than feature dimensions", stacklevel=2)
    return frechet_from_moments(a.mean(0), np.cov(a, rowvar=False).reshape(a.shape[1], -1),
                                b.mean(0), np.cov(b, rowvar=False).reshape(b.shape[1], -1))


def quantize_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images rounded to the 256 levels a PNG holds, back in [-1, 1].

    ``q = floor((x + 1) * 127.5 + 0.5)`` clamped to 0..255 (torchvision's ``save_image``
    rounding), then ``q / 255 * 2 - 1``: what pytorch-fid feeds its Inception after reading
    the PNG (``/255``) and rescaling (``2x - 1``).
    """
    q = torch.floor((x.clamp(-1, 1) + 1) * 127.5 + 0.5).clamp_(0, 255)
    return q / 127.5 - 1


@torch.no_grad()
def extract_features(net: nn.Module, images: torch.Tensor, batch_size: int = 256,
                     device=None, quantize: bool = False) -> torch.Tensor:
    """Run ``net`` over ``images`` (N,C,H,W in [-1,1]) in batches; (N, D) on the CPU.

    ``quantize``: round each batch to uint8 levels first (:func:`quantize_uint8`).
    """
    device = torch.device(device) if device is not None else images.device
    net = net.to(device).eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].to(device, torch.float32)
        out.append(net(quantize_uint8(x) if quantize else x).flatten(1).cpu())
    return torch.cat(out)


def resolve_feature_net(feature_net="auto", fallback: FeatureNet | None = None,
                        device=None) -> FeatureNet:
    """``auto``: the FID Inception if its weights are present, else ``fallback``."""
    if isinstance(feature_net, FeatureNet):
        return feature_net
    if isinstance(feature_net, nn.Module):
        return FeatureNet(feature_net, type(feature_net).__name__.lower())
    if feature_net == "inception":
        return inception_feature_net(device)
    if feature_net == "auto":
        try:
            return inception_feature_net(device)
        except WeightsMissingError as err:
            if fallback is None:
                raise WeightsMissingError(
                    f"{err}; or pass fallback=train_feature_classifier(dataset, images, "
                    "labels) to compute a classifier-feature FID") from err
            return fallback
    raise UserError(f"feature_net={feature_net!r} is not 'auto', 'inception' or an nn.Module")


def feature_net_or(feature_net, make_fallback, device=None) -> FeatureNet:
    """The feature net a method's FID uses: ``"classifier"`` -> ``make_fallback()``; ``"auto"``
    -> the FID Inception when its weights are present, else ``make_fallback()`` (built only
    then: it may train a classifier); anything else as :func:`resolve_feature_net`."""
    if feature_net == "classifier":
        return make_fallback()
    try:
        return resolve_feature_net(feature_net, device=device)
    except WeightsMissingError:
        if feature_net != "auto":
            raise
        return make_fallback()


def fid(images_a: torch.Tensor, images_b: torch.Tensor, feature_net="auto",
        batch_size: int = 256, device=None, fallback: FeatureNet | None = None,
        quantize: bool = True) -> dict:
    """FID between two image sets (N,C,H,W in [-1,1]); states its feature net and sample counts.

    ``name`` is ``fid`` only for the FID Inception pool3; an in-project classifier gives
    ``fid_<dataset>_classifier``. Both sets are quantised to uint8 levels first (``quantize``),
    as pytorch-fid sees images read from PNG files. Returns ``{"name", "value", "n_a", "n_b",
    "feature_net", "quantized", "label"}``; ``label`` is :func:`fid_label` of the result.
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else images_a.device
    net = resolve_feature_net(feature_net, fallback, device)
    fa = extract_features(net, images_a, batch_size, device, quantize)
    fb = extract_features(net, images_b, batch_size, device, quantize)
    out = {"name": net.fid_name, "value": frechet_distance(fa, fb), "n_a": len(fa),
           "n_b": len(fb), "feature_net": net.name, "quantized": bool(quantize)}
    out["label"] = fid_label(out)
    return out


def fid_label(result: dict) -> str:
    """``"fid_x (n=1000)"``, or ``"fid_x (n=1000 vs 5000)"`` when the two sets differ in size:
    an FID shown anywhere carries its sample counts (``result``: :func:`fid`'s dict)."""
    n_a, n_b = int(result["n_a"]), int(result["n_b"])
    n = f"{n_a}" if n_a == n_b else f"{n_a} vs {n_b}"
    return f"{result['name']} (n={n})"


# ----------------------------------------------------------------------------- papers' counts
@dataclass(frozen=True)
class PaperFIDCount:
    """How many images a paper's FID uses: ``n`` generated (None: not stated), the real set."""

    n: int | None
    real: str
    source: str


PAPER_FID_SAMPLES: dict[str, PaperFIDCount] = {
    "divco": PaperFIDCount(
        50_000, "CIFAR-10 (which split is not stated; the test split's 10,000 most likely)",
        "the paper (Table 4) states no count; the official DivCo-DCGAN test.py generates 5 "
        "images (--num 5) for each of the 10,000 CIFAR-10 test labels, saves them as PNG and "
        "scores them with the TTUR FID code"),
    "scat": PaperFIDCount(
        5_000, "the same 5,000 validation images (Places2, CelebA)",
        "SCAT paper, Quantitative Evaluations: 5K images randomly selected from each validation set, masked "
        "with the same irregular masks"),
    "contrasfill": PaperFIDCount(
        None, "the test splits (3,497 LSUN birds, 7,784 LSUN cars, CelebAMask-HQ's)",
        "ContrasFill paper, Sec. 4: no FID count stated (KFFA uses 1,000 contexts)"),
    "daf": PaperFIDCount(None, "Places2 validation/test (not stated)",
                         "contrastive attention network paper: no FID count stated"),
    "monce": PaperFIDCount(None, "the test split (CUT's protocol)",
                           "MoNCE supplement: no FID count stated"),
}


def paper_fid_samples(method: str) -> int:
    """The paper's FID sample count for ``method`` (a key of :data:`PAPER_FID_SAMPLES`), e.g.
    for a ``full`` profile; a UserError names the gap when the paper states none."""
    if method not in PAPER_FID_SAMPLES:
        raise UserError(f"no FID sample count recorded for method {method!r}: choose one of "
                        f"{', '.join(PAPER_FID_SAMPLES)} or pass the count yourself")
    entry = PAPER_FID_SAMPLES[method]
    if entry.n is None:
        raise UserError(f"the {method} paper states no FID sample count ({entry.source}): pass "
                        f"the count yourself, e.g. the size of {entry.real}")
    return entry.n
