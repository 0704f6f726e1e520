"""Seconds for FID (in-project classifier features + Fréchet distance) and NDB/JSD.

Two sets of N (default 10,000) 32x32 RGB images: random crops of skimage's astronaut and
coffee photos (real image statistics, no download). The classifier is trained for one epoch
on the first set with crop-source labels (its training time is reported too); the FID row is
features of both sets plus the distance. NDB: k = 100, n_init = 3, clustering on 512 of the
3072 dims. Prints a markdown table. Run: ``python benchmarks/bench_metrics.py [--n 10000]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import torch
from skimage import data

from ci_inpaint.metrics import fid, ndb_jsd, train_feature_classifier
from ci_inpaint.metrics.fid import extract_features, frechet_distance


def crops(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    photos = [data.astronaut(), data.coffee()]
    label = rng.integers(0, 2, n)
    out = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for i, src in enumerate(photos):  # vectorised gather of all crops from one photo
        idx = np.flatnonzero(label == i)
        ys = rng.integers(0, src.shape[0] - 32, len(idx))[:, None, None]
        xs = rng.integers(0, src.shape[1] - 32, len(idx))[:, None, None]
        r = np.arange(32)
        out[idx] = src[ys + r[None, :, None], xs + r[None, None, :]]
    x = torch.from_numpy(out).permute(0, 3, 1, 2).float() / 127.5 - 1
    return x, torch.from_numpy(label)


def timed(fn):
    """(wall seconds, CPU seconds of this process, result): CPU time is the fairer number
    on a shared machine."""
    t, c = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - t, time.process_time() - c), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=100)
    args = ap.parse_args()
    os.environ.setdefault("CI_INPAINT_CACHE", tempfile.mkdtemp())
    a, la = crops(args.n, 0)
    b, _ = crops(args.n, 1)
    t_train, net = timed(lambda: train_feature_classifier("bench_crops", a, la, epochs=1,
                                                          cache=False))
    t_feat, (fa, fb) = timed(lambda: (extract_features(net, a), extract_features(net, b)))
    t_dist, _ = timed(lambda: frechet_distance(fa, fb))
    t_fid, res = timed(lambda: fid(a, b, feature_net=net))
    t_ndb, nd = timed(lambda: ndb_jsd(a, b, k=args.k))
    rows = [
        ("train feature classifier (1 epoch)", t_train, f"{args.n} images"),
        (f"features, 2 x {args.n} images", t_feat, f"D = {fa.shape[1]}"),
        ("Fréchet distance", t_dist, "float64, eigh"),
        (f"fid() total ({res['name']})", t_fid, f"value {res['value']:.3f}"),
        (f"ndb_jsd, k = {args.k}", t_ndb, f"NDB {nd['ndb']}, JSD {nd['jsd']:.4f}"),
    ]
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}\n")
    print("| step | wall s | CPU s | note |\n| --- | ---: | ---: | --- |")
    for name, (wall, cpu), note in rows:
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {note} |")


if __name__ == "__main__":
    main()
