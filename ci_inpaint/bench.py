"""``ci-inpaint bench``: the engine's per-step overhead against a bare PyTorch loop.

Both loops train the same model (``toy_regression``: conv body + linear head, two Adam
optimisers, the same batches through a DataLoader) on the same device. Fixed costs (start-up,
final checkpoint, evaluation) are removed by timing N and 2N steps and taking the difference,
so what remains is the cost per step: seeding, NaN checks, logging, progress, batching.
Goal: overhead <= 5 %.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from .engine import select_device, train
from .methods.toy_regression import Regression

WIDTH, BATCH, ITEMS = 48, 64, 4096
# wall: time.perf_counter (what a user waits); cpu: time.process_time, this process's CPU seconds,
# which a machine busy with other jobs disturbs far less (torch threads are counted too)
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def _bare(steps: int, device: torch.device) -> float:
    """A plain loop a user would write: DataLoader, forward, two optimiser steps."""
    from torch import nn

    torch.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(3, WIDTH, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(WIDTH, WIDTH, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten()).to(device)
    head = nn.Linear(4 * WIDTH, 4).to(device)
    ob, oh = torch.optim.Adam(body.parameters(), 1e-2), torch.optim.Adam(head.parameters(), 5e-3)
    loader = torch.utils.data.DataLoader(Regression(ITEMS, seed=1234), batch_size=BATCH,
                                         shuffle=True, drop_last=True)
    t0, done = clock(), 0
    while done < steps:
        for b in loader:
            x, y = b["x"].to(device), b["y"].to(device)
            for opt in (oh, ob):
                loss = (head(body(x + 0.05 * torch.randn_like(x))) - y).pow(2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            done += 1
            if done == steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return clock() - t0


def _engine(steps: int, device: torch.device, log_every: int = 10) -> float:
    with tempfile.TemporaryDirectory() as d:
        t0 = clock()
        train("toy_regression", "quick", Path(d) / "run", steps=steps, width=WIDTH,
              batch_size=BATCH, n_items=ITEMS, log_every=log_every, ckpt_every=10**9,
              progress="off", device=str(device), amp="off")
        return clock() - t0


def per_step(fns, steps: int, device: torch.device, repeats: int = 5) -> list[float]:
    """Seconds per step of each loop without fixed costs: (min T(2N) - min T(N)) / N.

    The loops are interleaved (bare, engine, bare, engine, ...) so that a slow phase of a shared
    machine hits both alike, and the minimum over repeats is the least disturbed measurement.
    """
    t1 = [[] for _ in fns]
    t2 = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t1[i].append(fn(steps, device))
            t2[i].append(fn(2 * steps, device))
    return [(min(b) - min(a)) / steps for a, b in zip(t1, t2)]


def run(steps: int = 300, device: str = "auto", repeats: int = 5,
        clock_name: str = "wall") -> dict[str, float]:
    global clock
    clock = CLOCKS[clock_name]
    dev = select_device(device)
    per_step([_bare, _engine], 10, dev, repeats=1)  # warm up kernels and allocator
    bare, eng = per_step([_bare, _engine], steps, dev, repeats)
    return {"device": str(dev), "bare_ms": bare * 1e3, "engine_ms": eng * 1e3,
            "overhead_pct": 100 * (eng - bare) / bare}


def cli_bench(args: argparse.Namespace) -> int:
    r = run(args.steps, args.device, args.repeats, getattr(args, "clock", "wall"))
    name = r["device"]
    if name.startswith("cuda"):
        name += f" ({torch.cuda.get_device_name()})"
    print(f"clock: {getattr(args, 'clock', 'wall')}")
    print("| device | bare loop ms/step | engine ms/step | engine steps/s | overhead |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| {name} | {r['bare_ms']:.2f} | {r['engine_ms']:.2f} | {1e3 / r['engine_ms']:.1f} "
          f"| {r['overhead_pct']:+.1f} % |")
    return 0
