"""Feature networks for FID / KFFA: the FID Inception, or an in-project classifier.

Without the Inception weights (no network on these machines) FID is computed on the
penultimate features of a small LeNet-like classifier trained on the dataset's own labelled
training images. Such a number is only comparable with numbers from the same classifier, so it
is named ``fid_<dataset>_classifier`` everywhere, never ``fid``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ci_inpaint import weights
from ci_inpaint.errors import DataError
from ci_inpaint.fileio import atomic_save

_ARCH_VERSION = "lenet-v2"  # part of the cache key: bump when SmallClassifier changes


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
        x = _prepare(x, self.in_channels, self.input_size)
        return self.module(x).flatten(1)


def _prepare(x: torch.Tensor, channels: int, size: int | None) -> torch.Tensor:
    """Grey→RGB by repetition and bilinear resize to the size the net was trained on."""
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


class SmallClassifier(nn.Module):
    """LeNet-like CNN: 3 conv blocks (16-32-64) → adaptive 4x4 pool → 128-d ReLU features.

    Any input of at least 8x8 works (32x32 and 64x64 in practice); kept small to train in
    about a minute on a laptop CPU.
    """

    def __init__(self, n_classes: int, in_channels: int = 3, feat_dim: int = 128):
        super().__init__()

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

        self.features = nn.Sequential(
            *block(in_channels, 16), *block(16, 32), *block(32, 64),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(64 * 16, feat_dim), nn.ReLU())
        self.head = nn.Linear(feat_dim, n_classes)

    def forward(self, x):
        return self.head(self.features(x))


def inception_feature_net(device=None) -> FeatureNet:
    """The FID Inception; raises WeightsMissingError naming the file when it is absent."""
    from ci_inpaint.metrics.inception import FIDInceptionV3

    net = FIDInceptionV3().load_fid_weights(weights.require("inception_fid"))
    return FeatureNet(net, "inception_pool3", fid_name="fid").to(device or "cpu")


def cache_dir() -> Path:
    root = os.environ.get("CI_INPAINT_CACHE", str(Path.home() / ".cache" / "ci_inpaint"))
    return Path(root) / "feature_nets"


def train_feature_classifier(dataset_name: str, images: torch.Tensor, labels, epochs: int = 4,
                             batch_size: int = 128, lr: float = 2e-3, input_size: int = 32,
                             seed: int = 0, cache: bool = True, device=None,
                             verbose: bool = False) -> FeatureNet:
    """Train (or load from cache) the classifier whose penultimate features stand in for FID.

    images: (N, C, H, W) in [-1, 1], C in {1, 3}; resized to ``input_size`` (32 or 64).
    Cached at ``~/.cache/ci_inpaint/feature_nets/<dataset>-<hash>.pt`` (``$CI_INPAINT_CACHE``
    overrides the root); the hash covers the data, labels, settings and architecture version.
    """
    images = torch.as_tensor(images, dtype=torch.float32)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) != len(labels):
        raise DataError(f"classifier training needs images (N,1|3,H,W) with N labels, got "
                        f"{tuple(images.shape)} and {len(labels)} labels: pass the dataset's "
                        "labelled training split")
    n_classes = int(labels.max()) + 1
    key = hashlib.sha256()
    key.update(images.contiguous().numpy().tobytes())
    key.update(labels.numpy().tobytes())
    key.update(repr((_ARCH_VERSION, epochs, batch_size, lr, input_size, seed)).encode())
    path = cache_dir() / f"{dataset_name}-{key.hexdigest()[:16]}.pt"
    with torch.random.fork_rng(devices=[]):  # seeded init, global RNG left untouched
        torch.manual_seed(seed)
        model = SmallClassifier(n_classes)
    if cache and path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            return _wrap(model, dataset_name, input_size, device)
        except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as err:
            warnings.warn(f"retraining: unreadable cached feature net {path}: {err}", stacklevel=2)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = SmallClassifier(n_classes)
    dev = torch.device(device or "cpu")
    model.to(dev).train()
    x = _prepare(images, 3, input_size)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        perm, total = torch.randperm(len(x), generator=g), 0.0
        for idx in perm.split(batch_size):
            xb = x[idx].to(dev)
            # small random shifts make the features less brittle to generator artefacts
            shift = torch.randint(-2, 3, (2,), generator=g).tolist()
            xb = torch.roll(xb, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(model(xb), labels[idx].to(dev))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if verbose:
            print(f"[feature net {dataset_name}] epoch {epoch + 1}/{epochs} loss {total / len(x):.4f}")
    model.cpu()
    if cache:
        atomic_save(model.state_dict(), path)
    return _wrap(model, dataset_name, input_size, device)


def _wrap(model: SmallClassifier, dataset_name: str, input_size: int, device) -> FeatureNet:
    model.eval()
    # penultimate layer before its ReLU: dead units would make the covariance singular
    net = FeatureNet(model.features[:-1], f"{dataset_name}_classifier", input_size=input_size)
    net.classifier = model  # keep the head for accuracy checks
    return net.to(device or "cpu")
