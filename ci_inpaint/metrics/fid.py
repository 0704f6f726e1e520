"""Fréchet Inception Distance (Heusel et al. 2017) and its in-project-feature variant.

FID = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}), the Fréchet (2-Wasserstein)
distance between Gaussians fitted to two feature sets. The trace of the matrix square root is
computed from the symmetric form Tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}), which has the same
eigenvalues as S_a S_b but is symmetric PSD, so an eigendecomposition is exact and stable.
"""

from __future__ import annotations

import warnings

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


def _product_eigvals(w_a, v_a, cov_b) -> np.ndarray:
    """Eigenvalues of S_a^{1/2} S_b S_a^{1/2} (= those of S_a S_b), a symmetric PSD matrix."""
    root_a = _sqrt_from_eigh(w_a, v_a)
    return np.linalg.eigvalsh(root_a @ cov_b @ root_a)


def frechet_from_moments(mu_a, cov_a, mu_b, cov_b, eps: float = 1e-6) -> float:
    """Fréchet distance of N(mu_a, cov_a) and N(mu_b, cov_b), in float64."""
    mu_a, mu_b, cov_a, cov_b = map(_as64, (mu_a, mu_b, cov_a, cov_b))
    traces = np.trace(cov_a) + np.trace(cov_b)
    w_a, v_a = np.linalg.eigh((cov_a + cov_a.T) / 2)
    w = _product_eigvals(w_a, v_a, cov_b)
    if not np.isfinite(w).all() or w.min() <= 1e-12 * max(abs(w).max(), 1e-300):
        # as pytorch-fid: singular covariances (e.g. N <= D) get eps·I inside the square root
        # only (adding eps·I shifts S_a's eigenvalues and keeps its eigenvectors)
        warnings.warn(f"Fréchet distance: singular covariance (constant features or fewer samples"
                      f" than dimensions); adding {eps}·I inside the square root", stacklevel=3)
        w = _product_eigvals(w_a + eps, v_a, cov_b + eps * np.eye(len(cov_b)))
    tr_covmean = np.sqrt(np.clip(w, 0, None)).sum()  # clip rounding negatives
    diff = mu_a - mu_b
    return float(diff @ diff + traces - 2 * tr_covmean)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted (unbiased covariance) to (N, D) features."""
    a, b = _as64(feats_a), _as64(feats_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise UserError(f"frechet_distance needs two (N, D) arrays with the same D, got "
                        f"{a.shape} and {b.shape}: pass features, not images")
    if len(a) < 2 or len(b) < 2:
        raise UserError(f"frechet_distance needs at least 2 samples per set, got {len(a)} and "
                        f"{len(b)}: pass more images (FID is biased below ~2048)")
    return frechet_from_moments(a.mean(0), np.cov(a, rowvar=False).reshape(a.shape[1], -1),
                                b.mean(0), np.cov(b, rowvar=False).reshape(b.shape[1], -1))


@torch.no_grad()
def extract_features(net: nn.Module, images: torch.Tensor, batch_size: int = 256,
                     device=None) -> torch.Tensor:
    """Run ``net`` over ``images`` (N,C,H,W in [-1,1]) in batches; (N, D) on the CPU."""
    device = torch.device(device) if device is not None else images.device
    net = net.to(device).eval()
    out = [net(images[i:i + batch_size].to(device, torch.float32)).flatten(1).cpu()
           for i in range(0, len(images), batch_size)]
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


def fid(images_a: torch.Tensor, images_b: torch.Tensor, feature_net="auto",
        batch_size: int = 256, device=None, fallback: FeatureNet | None = None) -> dict:
    """FID between two image sets (N,C,H,W in [-1,1]); states its feature net and sample counts.

    ``name`` is ``fid`` only for the FID Inception pool3; an in-project classifier gives
    ``fid_<dataset>_classifier``.
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else images_a.device
    net = resolve_feature_net(feature_net, fallback, device)
    fa = extract_features(net, images_a, batch_size, device)
    fb = extract_features(net, images_b, batch_size, device)
    return {"name": net.fid_name, "value": frechet_distance(fa, fb), "n_a": len(fa),
            "n_b": len(fb), "feature_net": net.name}
