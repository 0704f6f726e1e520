"""MoNCE vs PatchNCE: the cost of the optimal-transport re-weighting (issue 13's goal: a MoNCE
training step <= 1.3x a PatchNCE step on CPU at CUT's configuration).

Two measurements, each for ``contrast=patchnce`` and ``contrast=monce`` (hard cost, eps 1,
50 Sinkhorn iterations, gradients through them: the authors' defaults):

* ``step``: one whole ``cut`` training step (D step + G/MLP step) at CUT's paper size
  (256 px, ngf 64, 9 residual blocks, ndf 64, 256 patches, 5 NCE layers, identity NCE, batch 1),
  i.e. what a user's run pays per iteration;
* ``loss``: the patch contrast alone, forward + backward, on the same shapes (5 layers x 2 images
  (output/input and identity) x 256 patches x 256 dims), which isolates the batched Sinkhorn.

The two contrasts are interleaved and the minimum over ``--repeats`` is kept, on this process's
CPU clock by default (a machine shared with other jobs disturbs it less than the wall clock).

    .venv/bin/python benchmarks/bench_monce.py [--repeats 3] [--device cpu|cuda] [--threads 2]
    .venv/bin/python benchmarks/bench_monce.py --size 128   # a faster, smaller check
"""

from __future__ import annotations

import argparse
import time

import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.losses.monce import monce_loss
from ci_inpaint.losses.patchnce import patchnce_loss
from ci_inpaint.methods import get_method
from ci_inpaint.methods.cut import CUTConfig
from ci_inpaint.testing import FakeContext

GOAL = 1.3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_timer(contrast: str, size: int, device: torch.device, tick):
    """A function that runs one ``cut`` training step at CUT's configuration and returns its
    time; the method is built once (weights and optimiser state carry over between calls)."""
    torch.manual_seed(0)
    cfg = resolve_config(CUTConfig, "full", {"dataset": "shapes", "n_train": 2, "eval_n": 2,
                                             "contrast": contrast, "size": size})
    m = get_method("cut")(cfg, device)
    item = m.train_set()[0]
    batch = {k: item[k][None].to(device) for k in ("A", "B")}
    ctx = FakeContext(m)

    def once() -> float:
        _sync(device)
        t0 = tick()
        m.train_step(batch, ctx)
        _sync(device)
        return tick() - t0
    return once


def loss_timer(contrast: str, device: torch.device, tick, layers: int = 5, images: int = 2,
               patches: int = 256, dim: int = 256):
    """Forward + backward of the patch contrast alone on CUT's shapes."""
    g = torch.Generator().manual_seed(0)
    q0 = torch.nn.functional.normalize(torch.randn(layers, images, patches, dim, generator=g), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(layers, images, patches, dim, generator=g), dim=-1)
    q0, k = q0.to(device), k.to(device)
    fn = patchnce_loss if contrast == "patchnce" else monce_loss

    def once() -> float:
        q = q0.clone().requires_grad_(True)
        _sync(device)
        t0 = tick()
        fn(q, k).backward()
        _sync(device)
        return tick() - t0
    return once


def interleaved(timers: dict, repeats: int, warmup: int = 1) -> dict[str, float]:
    for fn in timers.values():
        for _ in range(warmup):
            fn()
    best = {name: float("inf") for name in timers}
    for _ in range(repeats):
        for name, fn in timers.items():
            best[name] = min(best[name], fn())
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--size", type=int, default=256, help="image size of the step (CUT: 256)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    p.add_argument("--skip-step", action="store_true", help="only the loss measurement")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    # CUDA runs asynchronously: only the wall clock (with synchronisation) measures it
    tick = time.perf_counter if args.clock == "wall" or device.type == "cuda" else time.process_time
    clock = "wall" if tick is time.perf_counter else "cpu"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}, torch threads {torch.get_num_threads()}, clock {clock}, "
          f"minimum of {args.repeats}")
    rows = [("loss (5 layers x 2 images x 256 patches)",
             interleaved({c: loss_timer(c, device, tick) for c in ("patchnce", "monce")},
                         max(args.repeats, 5)))]
    if not args.skip_step:
        rows.append((f"cut step at {args.size} px (ngf 64, 9 blocks, 256 patches)",
                     interleaved({c: step_timer(c, args.size, device, tick)
                                  for c in ("patchnce", "monce")}, args.repeats)))
    print(f"| measurement | PatchNCE (s) | MoNCE (s) | MoNCE / PatchNCE | goal <= {GOAL} |")
    print("|---|---|---|---|---|")
    for label, t in rows:
        ratio = t["monce"] / t["patchnce"]
        verdict = "-" if label.startswith("loss") else ("met" if ratio <= GOAL else "missed")
        print(f"| {label} | {t['patchnce']:.4f} | {t['monce']:.4f} | {ratio:.2f} | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
