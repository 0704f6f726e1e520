"""A small frozen factor classifier, trained once and cached: ContrasFill's known-factor
encoder E_k (penultimate features of "a pretrained fixed classifier", Sec. 3.1), KFFA's
second classifier (Sec. 4, "feature extractors different from the one used in the
training"), content scores, and the offline FID stand-in (:mod:`ci_inpaint.metrics.features`).

Network: a LeNet-like trunk (3 conv blocks 16-32-64 with BN and 2x2 max pools, adaptive 4x4
average pool, linear to ``feat_dim`` = 128); ``features(x)`` is that linear output *before*
its ReLU (dead ReLU units would make a feature covariance singular and clip angles to
<= 90°); one linear head per factor reads the ReLU of it. Inputs are (N, 1|3, H, W) in
[-1, 1]; grey is repeated to RGB and everything is resized (bilinear) to ``input_size``.

Training: Adam, cross-entropy averaged over the heads, random shifts of up to 2 px (less
brittle to generator artefacts; off for FactorShapes' x / y factors, whose positions are
~2 px apart at 32 px), seeded init and batches; the result is frozen (eval mode,
no parameter gradients, ``train()`` keeps it in eval mode) while gradients still flow to
its input, as E_k needs.

Cache: ``$CI_INPAINT_CACHE`` (default ``~/.cache/ci_inpaint``) ``/feature_nets/<name>-<key>.pt``
written with :func:`ci_inpaint.fileio.atomic_save`. :func:`factor_classifier` keys by a hash
of its :class:`FactorClassifierConfig` (which fixes the data it renders);
:func:`train_factor_classifier` by a hash of the given data and settings. Both include the
architecture version, so a changed network never loads an old file. Loading or training holds
an advisory lock on ``<file>.lock``, so processes that need the same classifier at once train
it once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ci_inpaint.errors import ConfigError, DataError
from ci_inpaint.fileio import atomic_save

ARCH_VERSION = "factor-lenet-v1"  # part of every cache key: bump when the network changes


def cache_dir() -> Path:
    root = os.environ.get("CI_INPAINT_CACHE", str(Path.home() / ".cache" / "ci_inpaint"))
    return Path(root) / "feature_nets"


def prepare_images(x: torch.Tensor, channels: int = 3, size: int | None = None) -> torch.Tensor:
    """Grey -> RGB by repetition and bilinear resize to ``size`` (the size trained on)."""
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


def conv_trunk(in_channels: int = 3, feat_dim: int = 128) -> nn.Sequential:
    """3 conv blocks (16-32-64) -> adaptive 4x4 pool -> linear ``feat_dim`` (no final ReLU)."""

    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*block(in_channels, 16), *block(16, 32), *block(32, 64),
                         nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(64 * 16, feat_dim))


class FactorClassifier(nn.Module):
    """Trunk + one head per factor. ``features(x)``: (N, feat_dim) penultimate features;
    ``forward(x, factor=None)``: logits of ``factor`` (default: the first one);
    ``logits(x)``: ``{factor: logits}`` for every head.

    ``heads`` maps factor name -> number of classes (in the order the heads are built).
    ``accuracy`` holds the held-out accuracy per head measured after training (if any).
    """

    def __init__(self, heads: Mapping[str, int], in_channels: int = 3, feat_dim: int = 128,
                 input_size: int | None = 32):
        super().__init__()
        if not heads:
            raise ConfigError("FactorClassifier needs at least one head: pass {factor: classes}")
        self.trunk = conv_trunk(in_channels, feat_dim)
        self.heads = nn.ModuleDict({k: nn.Linear(feat_dim, int(n)) for k, n in heads.items()})
        self.factors = tuple(heads)
        self.in_channels, self.feat_dim, self.input_size = in_channels, feat_dim, input_size
        self.accuracy: dict[str, float] = {}
        self.frozen = False

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return prepare_images(x, self.in_channels, self.input_size)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.prepare(x))

    def logits(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = F.relu(self.features(x))
        return {k: head(h) for k, head in self.heads.items()}

    def forward(self, x: torch.Tensor, factor: str | None = None) -> torch.Tensor:
        factor = self.factors[0] if factor is None else factor
        if factor not in self.heads:
            raise ConfigError(f"no head for factor {factor!r}: choose one of "
                              f"{', '.join(self.factors)}")
        return self.heads[factor](F.relu(self.features(x)))

    def freeze(self) -> FactorClassifier:
        """Eval mode for good, no parameter gradients (inputs still get gradients)."""
        self.frozen = True
        self.requires_grad_(False)
        return super().train(False)

    def train(self, mode: bool = True) -> FactorClassifier:
        # a parent's .train() must not switch a frozen classifier's BatchNorm to batch stats
        return super().train(False if self.frozen else mode)


# ----------------------------------------------------------------------------- training
def _fit(model: FactorClassifier, images: torch.Tensor, targets: Mapping[str, torch.Tensor],
         epochs: int, batch_size: int, lr: float, seed: int, device=None,
         tag: str = "classifier", verbose: bool = False, max_shift: int = 2,
         noise: float = 0.0) -> FactorClassifier:
    """Adam on the mean cross-entropy of the heads, seeded batches and random circular
    shifts of up to ``max_shift`` px (0: none); in place. ``noise > 0`` also corrupts each
    image with Gaussian noise of a std drawn in [0, noise] and, in half of the batches, a 3 x 3
    blur, so that a judge of *generated* images reads their content through a generator's
    artefacts instead of collapsing to one class on them."""
    dev = torch.device(device or "cpu")
    model.to(dev).train()
    x = model.prepare(images)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # one CPU thread: the cached weights must not depend on which process trained them first
    # (CPU sums change order with the thread count; docs/benchmarks.md "Determinism")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for epoch in range(epochs):
            perm, total = torch.randperm(len(x), generator=g), torch.zeros((), device=dev)
            for idx in perm.split(batch_size):
                xb = x[idx].to(dev)
                if max_shift > 0:
                    shift = torch.randint(-max_shift, max_shift + 1, (2,), generator=g).tolist()
                    xb = torch.roll(xb, shifts=shift, dims=(2, 3))
                if noise > 0:
                    if float(torch.rand((), generator=g)) < 0.5:
                        xb = F.avg_pool2d(xb, 3, 1, 1, count_include_pad=False)
                    std = noise * torch.rand(len(xb), 1, 1, 1, generator=g).to(dev)
                    xb = xb + std * torch.randn(xb.shape, generator=g).to(dev)
                out = model.logits(xb)
                loss = sum(F.cross_entropy(out[k], targets[k][idx].to(dev)) for k in out) / len(out)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.detach() * len(idx)
            if verbose:  # the only host sync, once per epoch
                print(f"[{tag}] epoch {epoch + 1}/{epochs} loss {float(total) / len(x):.4f}")
    finally:
        torch.set_num_threads(threads)
    opt.zero_grad(set_to_none=True)  # no stale gradients ride along with a frozen model
    return model.cpu()


@torch.no_grad()
def held_out_accuracy(model: FactorClassifier, images: torch.Tensor,
                      targets: Mapping[str, torch.Tensor], batch_size: int = 512) -> dict:
    """Accuracy per head on (images, targets), in eval mode."""
    was = model.training
    model.eval()
    hits = {k: torch.zeros((), dtype=torch.long) for k in model.factors}
    for i in range(0, len(images), batch_size):
        out = model.logits(images[i:i + batch_size])
        for k in hits:
            hits[k] += (out[k].argmax(1) == targets[k][i:i + batch_size]).sum()
    model.train(was)
    return {k: float(v) / max(len(images), 1) for k, v in hits.items()}


def _new_model(heads: Mapping[str, int], seed: int, **kw) -> FactorClassifier:
    with torch.random.fork_rng(devices=[]):  # seeded init, the global RNG left untouched
        torch.manual_seed(seed)
        return FactorClassifier(heads, **kw)


def _load(path: Path) -> FactorClassifier | None:
    """The cached classifier, or None (absent; unreadable: warn and retrain)."""
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        meta = blob["meta"]
        model = FactorClassifier(dict(zip(meta["factors"], meta["classes"])),
                                 meta["in_channels"], meta["feat_dim"], meta["input_size"])
        model.load_state_dict(blob["state"])
        model.accuracy = dict(meta["accuracy"])
        return model
    except (RuntimeError, OSError, EOFError, KeyError, TypeError,
            pickle.UnpicklingError) as err:
        warnings.warn(f"retraining: unreadable cached classifier {path}: {err}", stacklevel=3)
        return None


@contextlib.contextmanager
def _training_lock(path: Path, cache: bool) -> Iterator[None]:
    """Held while one process loads or trains the classifier cached at ``path``: a second
    process (a grid worker scoring its run while the notebook trains the judge beside it) waits
    and then loads the file instead of training the same network again. An advisory
    ``flock`` on ``<path>.lock``; none without ``cache`` or where ``fcntl`` is absent (Windows)."""
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if not cache or fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _save(model: FactorClassifier, path: Path) -> None:
    meta = {"factors": list(model.factors), "classes": [h.out_features for h in model.heads.values()],
            "in_channels": model.in_channels, "feat_dim": model.feat_dim,
            "input_size": model.input_size, "accuracy": dict(model.accuracy),
            "arch": ARCH_VERSION}
    atomic_save({"state": model.state_dict(), "meta": meta}, path)


def _as_targets(targets, n: int) -> dict[str, torch.Tensor]:
    if not isinstance(targets, Mapping):
        targets = {"label": targets}
    out = {str(k): torch.as_tensor(np.asarray(v), dtype=torch.long) for k, v in targets.items()}
    bad = {k: tuple(v.shape) for k, v in out.items() if v.shape != (n,) or (len(v) and v.min() < 0)}
    if not out or bad:
        raise DataError(f"classifier targets must be one (N,) array of class indices >= 0 per "
                        f"factor for N={n} images, got {bad or 'none'}: pass {{factor: labels}}")
    return out


def train_factor_classifier(name: str, images, targets, *, epochs: int = 4,
                            batch_size: int = 128, lr: float = 2e-3,
                            input_size: int | None = 32, seed: int = 0, feat_dim: int = 128,
                            val: tuple | None = None, cache: bool = True, device=None,
                            verbose: bool = False, noise: float = 0.0) -> FactorClassifier:
    """Train (or load from cache) a frozen classifier on given data; the cache key hashes the
    images, targets, settings and architecture version.

    images: (N, 1|3, H, W) in [-1, 1]; targets: an (N,) label array or ``{factor: (N,)}``.
    ``val = (images, targets)`` measures ``accuracy`` after training (stored in the cache).
    ``noise``: the corruption augmentation of :func:`_fit` (0: none).
    File: ``cache_dir() / f"{name}-{key}.pt"``.
    """
    images = torch.as_tensor(images, dtype=torch.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise DataError(f"classifier training needs images (N,1|3,H,W), got "
                        f"{tuple(images.shape)}: pass the dataset's labelled training split")
    t = _as_targets(targets, len(images))
    key = hashlib.sha256()
    key.update(images.contiguous().numpy().tobytes())
    for k, v in t.items():
        key.update(k.encode() + v.numpy().tobytes())
    settings = (ARCH_VERSION, epochs, batch_size, lr, input_size, seed, feat_dim)
    key.update(repr(settings + ((noise,) if noise else ())).encode())  # old keys stay valid
    path = cache_dir() / f"{name}-{key.hexdigest()[:16]}.pt"
    with _training_lock(path, cache):
        model = _load(path) if cache else None
        if model is None:
            heads = {k: int(v.max()) + 1 for k, v in t.items()}
            model = _new_model(heads, seed, feat_dim=feat_dim, input_size=input_size)
            _fit(model, images, t, epochs, batch_size, lr, seed, device, name, verbose, noise=noise)
            if val is not None:
                model.accuracy = held_out_accuracy(
                    model, torch.as_tensor(val[0], dtype=torch.float32),
                    _as_targets(val[1], len(val[0])))
            if cache:
                _save(model, path)
    return model.freeze().to(device or "cpu")


# ----------------------------------------------------------------------------- by config
@dataclass(frozen=True)
class FactorClassifierConfig:
    """Everything that fixes a :func:`factor_classifier`: its data and its training.

    data: ``factor_shapes`` (:class:`ci_inpaint.data.FactorShapes`, ``n`` + ``n_val`` items
    rendered at ``size`` with ``data_seed``, ``kind``, ``num_classes``; factors ``label``
    and any of ``colour scale angle x y``) or ``digits`` (:class:`ci_inpaint.data.Digits`
    train split for training, val split for ``accuracy``; factor ``label``; ``n``, ``n_val``,
    ``kind`` and ``num_classes`` unused).
    """

    data: str = "factor_shapes"
    factors: tuple[str, ...] = ("label",)
    kind: str = "shapes"
    num_classes: int | None = None
    n: int = 2000
    n_val: int = 400
    size: int = 32
    data_seed: int = 0
    input_size: int = 32
    epochs: int = 4
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0
    feat_dim: int = 128
    max_shift: int | None = None  # None: 2 px, or 0 when a position factor (x, y) is learnt
    scales: tuple[float, ...] | None = None  # FactorShapes radius fractions (None: its default)
    background: str = "texture"  # FactorShapes background: texture | plain
    # training-time Gaussian noise (std up to this) and blur (see _fit): a judge or a loss
    # network whose input gradients a smooth generator can follow
    noise: float = 0.0

    def shift(self) -> int:
        if self.max_shift is not None:
            return self.max_shift
        return 0 if {"x", "y"} & set(self.factors) else 2

    def key(self) -> str:
        """Hash of every field and the architecture version (16 hex digits)."""
        # fields added later are left out at their defaults, so the keys of the classifiers
        # cached before them stay
        fields = {k: v for k, v in asdict(self).items() if LATER_FIELDS.get(k, ...) != v}
        return hashlib.sha256(repr((ARCH_VERSION, sorted(fields.items()))).encode()
                              ).hexdigest()[:16]

    def path(self) -> Path:
        return cache_dir() / f"factors-{self.data}-{self.key()}.pt"


LATER_FIELDS = {"scales": None, "background": "texture", "noise": 0.0}  # field -> default left out of key()


def _config_data(cfg: FactorClassifierConfig):
    """(images, targets, heads) of the training part and (images, targets) of the val part."""
    if cfg.data == "digits":
        from ci_inpaint.data import Digits

        if tuple(cfg.factors) != ("label",):
            raise ConfigError(f"digits have one factor, 'label'; got factors={cfg.factors}")
        tr, va = (Digits(s, size=cfg.size, seed=cfg.data_seed, channels=1) for s in ("train", "val"))
        return (tr.images, {"label": tr.labels}, {"label": 10}), (va.images, {"label": va.labels})
    if cfg.data != "factor_shapes":
        raise ConfigError(f"factor classifier data={cfg.data!r}: choose factor_shapes or digits")
    from ci_inpaint.data import FactorShapes

    ds = FactorShapes(cfg.n + cfg.n_val, size=cfg.size, seed=cfg.data_seed,
                      num_classes=cfg.num_classes, kind=cfg.kind, scales=cfg.scales,
                      background=cfg.background)
    names = ("label", *ds.factor_names)
    unknown = [f for f in cfg.factors if f not in names]
    if unknown or not cfg.factors:
        raise ConfigError(f"FactorShapes factors {unknown or '()'} unknown: choose from "
                          f"{', '.join(names)}")
    items = [ds[i] for i in range(len(ds))]
    images = torch.stack([it["image"] for it in items])
    table = torch.stack([torch.cat([it["label"].view(1), it["factors"]]) for it in items])
    sizes = (ds.num_classes, *ds.factor_sizes)
    targets = {f: table[:, names.index(f)] for f in cfg.factors}
    heads = {f: sizes[names.index(f)] for f in cfg.factors}
    n = cfg.n
    return ((images[:n], {f: t[:n] for f, t in targets.items()}, heads),
            (images[n:], {f: t[n:] for f, t in targets.items()}))


def factor_classifier(config: FactorClassifierConfig | None = None, *, cache: bool = True,
                      device=None, verbose: bool = False, **overrides) -> FactorClassifier:
    """The frozen classifier of ``config`` (fields overridable by keyword): loaded from
    ``config.path()`` when cached, else trained on the config's data, its held-out accuracy
    stored in ``.accuracy``, and cached."""
    cfg = replace(config or FactorClassifierConfig(), **overrides)
    cfg = replace(cfg, factors=tuple(cfg.factors),
                  scales=tuple(map(float, cfg.scales)) if cfg.scales else None)
    with _training_lock(cfg.path(), cache):
        model = _load(cfg.path()) if cache else None
        if model is None:
            (x, t, heads), (xv, tv) = _config_data(cfg)
            model = _new_model(heads, cfg.seed, in_channels=3, feat_dim=cfg.feat_dim,
                               input_size=cfg.input_size)
            _fit(model, x, t, cfg.epochs, cfg.batch_size, cfg.lr, cfg.seed, device,
                 f"factor classifier {cfg.data}", verbose, cfg.shift(), cfg.noise)
            model.accuracy = held_out_accuracy(model, xv, tv) if len(xv) else {}
            if cache:
                _save(model, cfg.path())
    return model.freeze().to(device or "cpu")
