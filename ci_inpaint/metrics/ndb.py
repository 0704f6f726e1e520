"""Number of statistically Different Bins (NDB) and JSD (Richardson & Weiss, NeurIPS 2018).

The training samples are clustered by k-means in pixel space into K bins (when the dimension
d exceeds 1000, on a seeded random subset of d/6 coordinates, as the authors do). Generated
samples go to the nearest centre. For each bin a two-proportion z-test (pooled standard error,
two-tailed) compares the share of training and generated samples; NDB counts bins with
p < alpha. JSD is the Jensen-Shannon divergence (natural log) of the two bin histograms.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import norm
from sklearn.cluster import KMeans

from ci_inpaint.errors import UserError


def _flat(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    return x.reshape(len(x), -1)


def jsd(p, q) -> float:
    """Jensen-Shannon divergence (nats) of two histograms, normalised here; 0 <= JSD <= ln 2."""
    p, q = (np.asarray(v, dtype=np.float64) for v in (p, q))
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a):  # 0·log 0 = 0
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def ndb_jsd(train_samples, generated_samples, k: int = 100, seed: int = 0, alpha: float = 0.05,
            n_init: int = 3, max_dims: int | None = None) -> dict:
    """NDB and JSD of ``generated_samples`` against k-means bins of ``train_samples``.

    Samples are images or vectors, flattened. k-means: ``n_init`` k-means++ restarts (fixed,
    default 3), ``random_state=seed``; the dims subset is drawn with ``seed`` too. Returns ``ndb`` (int), ``jsd`` (nats), ``k``,
    ``ndb_over_k`` and the per-bin proportions.
    """
    train, gen = _flat(train_samples), _flat(generated_samples)
    if train.shape[1] != gen.shape[1]:
        raise UserError(f"NDB: train samples have {train.shape[1]} values each, generated "
                        f"{gen.shape[1]}: pass images of the same shape")
    if len(train) < k or len(gen) < 2:
        raise UserError(f"NDB with k={k} needs >= k training samples and >= 2 generated ones, "
                        f"got {len(train)} and {len(gen)}: lower k or pass more samples")
    d = train.shape[1]
    if max_dims is None and d > 1000:
        max_dims = d // 6
    if max_dims is not None and max_dims < d:
        dims = np.sort(np.random.default_rng(seed).choice(d, max_dims, replace=False))
        train, gen = train[:, dims], gen[:, dims]
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(train)
    n_tr, n_gen = len(train), len(gen)
    p_tr = np.bincount(km.labels_, minlength=k) / n_tr
    p_gen = np.bincount(km.predict(gen), minlength=k) / n_gen
    pooled = (p_tr * n_tr + p_gen * n_gen) / (n_tr + n_gen)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_tr + 1 / n_gen))
    z = np.divide(p_tr - p_gen, se, out=np.zeros(k), where=se > 0)  # se = 0: both shares equal
    p_values = 2 * norm.sf(np.abs(z))
    ndb = int((p_values < alpha).sum())
    return {"ndb": ndb, "jsd": jsd(p_tr, p_gen), "k": k, "ndb_over_k": ndb / k,
            "n_train": n_tr, "n_generated": n_gen, "train_proportions": p_tr,
            "generated_proportions": p_gen}
