"""DivCo image evaluation (Liu et al., CVPR 2021, Tables 3-4) used by ``notebooks/01_divco``:
:func:`sample`, :func:`per_class_ndb_jsd` (Table 3), :func:`fid_score` (Table 4, with the
fallback feature network named), :func:`evaluate_run`, :func:`sample_grid` and
:func:`latent_walk`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..data.divco import _images_of, _labels_of
from ..methods.common import eval_mode, generator_of


# ----------------------------------------------------------------------------- sampling
@torch.no_grad()
def sample(method_or_G, labels, n_per_class: int = 1, z: torch.Tensor | None = None,
           seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """Generate ``n_per_class`` images for each class in ``labels`` (class-major order).

    labels: an int, a list or a 1-D tensor of class ids. z: optional (len(labels) * n_per_class,
    z_dim) codes; else drawn from N(0, I) with a private generator seeded by ``seed`` (the
    global RNG is untouched). G runs in eval mode (BatchNorm running statistics) and is put
    back in its previous mode. Returns (n, C, 32, 32) in [-1, 1] on the CPU.
    """
    G = generator_of(method_or_G)
    dev = next(G.parameters()).device
    labels = torch.as_tensor([labels] if isinstance(labels, int) else labels, dtype=torch.long)
    y = labels.repeat_interleave(n_per_class)
    if z is None:
        z = torch.randn(len(y), G.z_dim, generator=torch.Generator().manual_seed(seed))
    if len(z) != len(y):
        raise ValueError(f"z has {len(z)} rows but labels x n_per_class = {len(y)}")
    with eval_mode(G):
        out = [G(z[i:i + batch_size].to(dev), y[i:i + batch_size].to(dev)).float().cpu()
               for i in range(0, len(y), batch_size)]
    return torch.cat(out)


def sample_grid(G, n_classes: int = 10, n_per_class: int = 8, seed: int = 0) -> torch.Tensor:
    """A (C, H', W') image in [0, 1] for ``plt.imshow(grid.permute(1, 2, 0))``: one row per
    class, ``n_per_class`` samples per row (same z column-wise across rows, so a column shows
    one code under every label)."""
    from torchvision.utils import make_grid

    g = generator_of(G)
    z = torch.randn(n_per_class, g.z_dim, generator=torch.Generator().manual_seed(seed))
    imgs = sample(g, list(range(n_classes)), n_per_class, z=z.repeat(n_classes, 1))
    return make_grid((imgs + 1) / 2, nrow=n_per_class, padding=1, pad_value=1.0).clamp(0, 1)


def latent_walk(G, label: int, z0: torch.Tensor | None = None, z1: torch.Tensor | None = None,
                steps: int = 8) -> torch.Tensor:
    """Images along z_t = (1 - t) z0 + t z1, t in [0, 1] (``steps`` points), for one label.

    Defaults as DivCo Fig. 5: z0 = all -1, z1 = all +1. Returns (steps, C, 32, 32) in [-1, 1].
    """
    g = generator_of(G)
    z0 = -torch.ones(g.z_dim) if z0 is None else torch.as_tensor(z0, dtype=torch.float32).flatten()
    z1 = torch.ones(g.z_dim) if z1 is None else torch.as_tensor(z1, dtype=torch.float32).flatten()
    t = torch.linspace(0, 1, steps)[:, None]
    return sample(g, [label], steps, z=(1 - t) * z0 + t * z1)


# ----------------------------------------------------------------------------- metrics
def per_class_ndb_jsd(G, dataset_train, k: int = 10, n_per_class: int = 200, seed: int = 0,
                      classes: list[int] | None = None) -> list[dict[str, Any]]:
    """Table 3: NDB and JSD computed on each class separately, plus their mean.

    For class c: k-means of the training images of class c into ``k`` bins (the paper: 50 on
    CIFAR-10's 5000 per class; the digits have ~126 per class, so use ~10), ``n_per_class``
    generated images of class c assigned to the nearest bin, two-proportion test per bin
    (:func:`ci_inpaint.metrics.ndb_jsd`). Returns one row per class ``{"class", "ndb", "jsd",
    "ndb_over_k", "k", "n_train", "n_generated"}`` and a last row with ``class = "mean"``
    (means over the classes). Lower is better for both.
    """
    from ..metrics import ndb_jsd

    labels = _labels_of(dataset_train)
    classes = list(range(int(labels.max()) + 1)) if classes is None else list(classes)
    fake = sample(G, classes, n_per_class, seed=seed)
    rows = []
    for i, c in enumerate(classes):
        real = _images_of(dataset_train, torch.nonzero(labels == c).flatten())
        r = ndb_jsd(real, fake[i * n_per_class:(i + 1) * n_per_class], k=k, seed=seed)
        rows.append({"class": c, "ndb": r["ndb"], "jsd": r["jsd"], "ndb_over_k": r["ndb_over_k"],
                     "k": k, "n_train": r["n_train"], "n_generated": r["n_generated"]})
    keys = ("ndb", "jsd", "ndb_over_k")
    rows.append({"class": "mean", **{key: float(np.mean([r[key] for r in rows])) for key in keys},
                 "k": k, "n_train": sum(r["n_train"] for r in rows), "n_generated": len(fake)})
    return rows


def _dataset_name(ds) -> str:
    return type(ds).__name__.lower()


def fid_score(G, dataset, n: int = 1000, seed: int = 0, feature_net="auto",
              feature_train=None, dataset_name: str | None = None) -> dict[str, Any]:
    """Table 4: FID between ``n`` generated images (labels in the dataset's class proportions)
    and the real images of ``dataset`` (all of them, or ``n`` drawn with ``seed`` if more).

    feature_net: ``"auto"`` (the FID Inception when its weights are present, else the fallback),
    ``"inception"``, ``"classifier"`` (always the fallback) or an nn.Module. The fallback is the
    in-project classifier :func:`ci_inpaint.metrics.train_feature_classifier` trained (and
    cached) on ``feature_train`` (default: ``dataset``) labels; its result is named
    ``fid_<dataset>_classifier`` (e.g. ``fid_digits_classifier``), never ``fid``. Returns
    ``{"name", "value", "n_a", "n_b", "feature_net"}`` (a = real, b = generated).
    """
    from ..metrics import fid, train_feature_classifier
    from ..metrics.fid import feature_net_or

    name = dataset_name or _dataset_name(dataset)
    labels = _labels_of(dataset)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=g)[:n] if len(dataset) > n else None
    real = _images_of(dataset, idx)
    fake_labels = labels[torch.randint(len(labels), (n,), generator=g)]
    counts = torch.bincount(fake_labels, minlength=int(labels.max()) + 1)
    fake = torch.cat([sample(G, [c], int(m), seed=seed + 1 + c) for c, m in enumerate(counts.tolist()) if m])
    src = dataset if feature_train is None else feature_train
    net = feature_net_or(feature_net,
                         lambda: train_feature_classifier(name, _images_of(src), _labels_of(src)))
    return fid(real, fake, feature_net=net)


# ----------------------------------------------------------------------------- comparison
def evaluate_run(G, dataset_train, k: int, n_per_class: int, fid_n: int, seed: int,
                 feature_net="auto") -> dict[str, Any]:
    """Per-class NDB/JSD columns (``ndb_c<c>``, ``jsd_c<c>``, ``ndb_mean``, ``jsd_mean``) and
    the FID under its own name (``fid_digits_classifier`` ...) plus ``fid_name``, its sample
    counts ``fid_n_real`` / ``fid_n_generated`` and ``fid_feature_net``."""
    rows = per_class_ndb_jsd(G, dataset_train, k=k, n_per_class=n_per_class, seed=seed)
    out: dict[str, Any] = {}
    for r in rows[:-1]:
        out[f"ndb_c{r['class']}"], out[f"jsd_c{r['class']}"] = r["ndb"], r["jsd"]
    out["ndb_mean"], out["jsd_mean"] = rows[-1]["ndb"], rows[-1]["jsd"]
    f = fid_score(G, dataset_train, n=fid_n, seed=seed, feature_net=feature_net)
    out["fid_name"], out[f["name"]] = f["name"], f["value"]
    out["fid_n_real"], out["fid_n_generated"] = f["n_a"], f["n_b"]
    out["fid_feature_net"] = f["feature_net"]
    return out


__all__ = ["evaluate_run", "fid_score", "latent_walk", "per_class_ndb_jsd", "sample", "sample_grid"]
