"""Feature networks for FID / KFFA: the FID Inception, or an in-project classifier.

Without the Inception weights (no network on these machines) FID is computed on the
penultimate features of a small LeNet-like classifier trained on the dataset's own labelled
training images. Such a number is only comparable with numbers from the same classifier, so it
is named ``fid_<dataset>_classifier`` everywhere, never ``fid``.
"""

from __future__ import annotations

import torch
from torch import nn

from ci_inpaint import weights
from ci_inpaint.metrics.classifier import (
    FactorClassifier,
    cache_dir,
    prepare_images,
    train_factor_classifier,
)

__all__ = ["FeatureNet", "SmallClassifier", "cache_dir", "inception_feature_net",
           "train_feature_classifier"]


class FeatureNet(nn.Module):
    """A feature extractor with a name: ``forward(x in [-1,1]) -> (N, D)``.

    ``name`` names the network (``inception_pool3``, ``digits_classifier``), ``fid_name`` the
    FID computed with it (``fid`` only for the real FID Inception).
    """

    def __init__(self, module: nn.Module, name: str, fid_name: str | None = None,
                 input_size: int | None = None, in_channels: int = 3):
        super().__init__()
        self.module, self.name = module.eval(), name
        self.fid_name = fid_name or f"fid_{name}"
        self.input_size, self.in_channels = input_size, in_channels

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = prepare_images(x, self.in_channels, self.input_size)
        return self.module(x).flatten(1)


class SmallClassifier(FactorClassifier):
    """The one-head :class:`~ci_inpaint.metrics.classifier.FactorClassifier` (LeNet-like,
    128-d features, any input of at least 8x8, no resize)."""

    def __init__(self, n_classes: int, in_channels: int = 3, feat_dim: int = 128):
        super().__init__({"label": n_classes}, in_channels, feat_dim, input_size=None)


def inception_feature_net(device=None) -> FeatureNet:
    """The FID Inception; raises WeightsMissingError naming the file when it is absent."""
    from ci_inpaint.metrics.inception import FIDInceptionV3

    net = FIDInceptionV3().load_fid_weights(weights.require("inception_fid"))
    return FeatureNet(net, "inception_pool3", fid_name="fid").to(device or "cpu")


def train_feature_classifier(dataset_name: str, images: torch.Tensor, labels, epochs: int = 4,
                             batch_size: int = 128, lr: float = 2e-3, input_size: int = 32,
                             seed: int = 0, cache: bool = True, device=None,
                             verbose: bool = False) -> FeatureNet:
    """Train (or load from cache) the classifier whose penultimate features stand in for FID.

    images: (N, C, H, W) in [-1, 1], C in {1, 3}; resized to ``input_size`` (32 or 64).
    The one-head :func:`~ci_inpaint.metrics.classifier.train_factor_classifier`, cached at
    ``cache_dir() / "<dataset>-<hash>.pt"`` (hash of data, labels, settings, architecture).
    The features are the trunk's output before its ReLU (dead units would make the
    covariance singular); ``.classifier`` keeps the whole classifier for accuracy checks.
    """
    model = train_factor_classifier(dataset_name, images, labels, epochs=epochs,
                                    batch_size=batch_size, lr=lr, input_size=input_size,
                                    seed=seed, cache=cache, device=device, verbose=verbose)
    net = FeatureNet(model.trunk, f"{dataset_name}_classifier", input_size=input_size)
    net.classifier = model
    return net.to(device or "cpu")
