"""Images per second of every bundled and synthetic dataset at 64x64 through a DataLoader.

Batch 64, num_workers 0 and 2; the first batch (worker start-up, caches) is not timed.
Prints a markdown table. Run: ``python benchmarks/bench_data.py [--images 2048]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from torch.utils.data import DataLoader

from ci_inpaint.data import get_dataset

DATASETS = {  # name -> keyword arguments for get_dataset (train split, 64x64)
    "photo_patches": {},
    "digits": {},
    "lfw_faces": {"faces_only": False},
    "factor_shapes": {"n": 4096},
    "factor_digits": {"n": 4096},
}


def images_per_second(ds, workers: int, n_images: int, batch: int = 64) -> float:
    loader = DataLoader(ds, batch_size=batch, shuffle=False, num_workers=workers,
                        persistent_workers=workers > 0)
    seen, start = 0, None
    while start is None or seen < n_images:  # small sets are run for several epochs
        for b in loader:
            if start is None:  # first batch: untimed warm-up
                start = time.perf_counter()
                continue
            seen += len(b["image"])
            if seen >= n_images:
                break
    return seen / (time.perf_counter() - start)


def main(argv=None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2048, help="timed images per cell")
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args(argv)
    rows = ["| dataset | items | build s | img/s, 0 workers | img/s, 2 workers |",
            "|---|---|---|---|---|"]
    for name, kw in DATASETS.items():
        t = time.perf_counter()
        ds = get_dataset(name, "train", args.size, **kw)
        build = time.perf_counter() - t
        rates = [images_per_second(ds, w, args.images) for w in (0, 2)]
        rows.append(f"| {name} | {len(ds)} | {build:.2f} | {rates[0]:,.0f} | {rates[1]:,.0f} |")
    table = "\n".join(rows)
    print(f"{args.size}x{args.size}, batch 64, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}\n")
    print(table)
    return table


if __name__ == "__main__":
    main()
