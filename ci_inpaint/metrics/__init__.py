"""The papers' evaluation metrics: FID, NDB/JSD, KFFA, LPIPS diversity, L1/PSNR/SSIM, toys.

Images are (N, C, H, W) float tensors in [-1, 1]; masks (N, 1, H, W) with 1 = hole. A metric
computed with an offline stand-in network carries that in its name (``fid_digits_classifier``,
``lpips_fallback_randalex``); the plain names ``fid`` / ``lpips_alex`` mean the real networks
(``lpips_alex`` only with a hash-checked AlexNet file). The frozen factor classifier
(:mod:`ci_inpaint.metrics.classifier`) serves ContrasFill's E_k, KFFA and content scores.
"""

from ci_inpaint.metrics.classifier import (
    FactorClassifier,
    FactorClassifierConfig,
    factor_classifier,
    train_factor_classifier,
)
from ci_inpaint.metrics.features import FeatureNet, SmallClassifier, train_feature_classifier
from ci_inpaint.metrics.fid import (
    PAPER_FID_SAMPLES,
    PaperFIDCount,
    extract_features,
    fid,
    fid_label,
    frechet_distance,
    frechet_from_moments,
    paper_fid_samples,
    quantize_uint8,
)
from ci_inpaint.metrics.inpaint import by_bucket, hole_ratio, inpaint_metrics
from ci_inpaint.metrics.kffa import kffa
from ci_inpaint.metrics.lpips_div import lpips_diversity, pair_index
from ci_inpaint.metrics.ndb import jsd, ndb_jsd
from ci_inpaint.metrics.toy import toy_mode_metrics

__all__ = [
    "PAPER_FID_SAMPLES", "FactorClassifier", "FactorClassifierConfig", "FeatureNet",
    "PaperFIDCount", "SmallClassifier", "by_bucket", "extract_features", "factor_classifier",
    "fid", "fid_label", "frechet_distance", "frechet_from_moments", "hole_ratio",
    "inpaint_metrics", "jsd", "kffa", "lpips_diversity", "ndb_jsd", "pair_index",
    "paper_fid_samples", "quantize_uint8", "toy_mode_metrics", "train_factor_classifier",
    "train_feature_classifier",
]
