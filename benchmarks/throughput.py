"""Training throughput of every method at its quick config: steps/s and images/s.

Issue "Teaching scale that learns", item 2: the budget should go to learning, not overhead.
After a one-step warm-up (which trains and caches the frozen classifiers some methods
use), each method trains twice from scratch, ``--short`` and ``--long`` steps, with evaluation off
(``eval_every=0`` still evaluates once at the end, the same in both runs); the difference of the
two wall times cancels start-up and that final evaluation, so

    steps/s = (long - short) / (t_long - t_short),  images/s = steps/s x batch_size.

Usage: ``python benchmarks/throughput.py [--methods cut,scat] [--threads 1,2]`` (a few minutes
on a 2-core CPU). Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.engine import train
from ci_inpaint.methods import get_method, method_names


def _timed(method: str, steps: int, threads: int, out: str) -> float:
    t0 = time.perf_counter()
    train(method, "quick", out, overwrite=True, steps=steps, threads=threads, progress="off",
          ckpt_every=10**6)
    return time.perf_counter() - t0


def measure(method: str, threads: int, short: int, long: int) -> dict:
    cfg = resolve_config(get_method(method).Config, "quick", {}, method=method)
    with tempfile.TemporaryDirectory() as d:
        _timed(method, 1, threads, os.path.join(d, "w"))  # warm-up: builds cached frozen nets
        t_s = _timed(method, short, threads, os.path.join(d, "s"))
        t_l = _timed(method, long, threads, os.path.join(d, "l"))
    sps = (long - short) / max(t_l - t_s, 1e-9)
    return {"method": method, "threads": threads, "batch": cfg.batch_size,
            "quick steps": cfg.steps, "steps/s": sps, "images/s": sps * cfg.batch_size,
            "quick train s (est.)": cfg.steps / sps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="", help="comma-separated (default: all registered)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--short", type=int, default=3)
    ap.add_argument("--long", type=int, default=23)
    a = ap.parse_args()
    names = [m for m in (a.methods.split(",") if a.methods else method_names()) if m]
    cpu = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs ({cpu}), {time.strftime('%Y-%m-%d')}")
    print("| method | threads | batch | quick steps | steps/s | images/s | quick training (est.) |")
    print("|---|---|---|---|---|---|---|")
    for m in names:
        for th in (int(t) for t in a.threads.split(",")):
            try:
                r = measure(m, th, a.short, a.long)
            except Exception as e:  # a method that cannot train alone (needs a stage-1 run) says so
                print(f"| {m} | {th} | | | failed: {type(e).__name__}: {str(e)[:80]} | | |")
                continue
            print(f"| {m} | {th} | {r['batch']} | {r['quick steps']} | {r['steps/s']:.2f} | "
                  f"{r['images/s']:.0f} | {r['quick train s (est.)']:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
