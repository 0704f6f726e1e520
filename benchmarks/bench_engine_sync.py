"""Steps/s of the engine before and after the per-step-sync change (issue 7), side by side.

Runs the same ``toy_regression`` training (``ci_inpaint.bench``'s model and data) with the engine
of this checkout and with the engine of another git revision (default: 86a0e46, the last commit
before the change), interleaved, minimum of repeats, on this process's CPU clock so that a busy
machine disturbs it less. ``log_every=1`` is the worst case for the old engine (a host sync,
a JSON line written and flushed per step); ``log_every=10`` the default.

    .venv/bin/python benchmarks/bench_engine_sync.py [--rev 86a0e46] [--steps 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import sys, tempfile, time
from pathlib import Path
src, steps, log_every, repeats, clock = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if src != "-":  # import ci_inpaint from that tree, not from the editable install
    sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()
                     and "editable" not in (getattr(f, "__module__", "") or "").lower()]
    sys.path.insert(0, src)
import torch
torch.set_num_threads(1)
from ci_inpaint.engine import train
tick = time.process_time if clock == "cpu" else time.perf_counter
def once(n):
    with tempfile.TemporaryDirectory() as d:
        t0 = tick()
        train("toy_regression", "quick", Path(d) / "r", steps=n, width=48, batch_size=64,
              n_items=4096, log_every=log_every, ckpt_every=10**9, progress="off", device="cpu",
              amp="off")
        return tick() - t0
once(5)
t1 = min(once(steps) for _ in range(repeats))
t2 = min(once(2 * steps) for _ in range(repeats))
print((t2 - t1) / steps)
"""


def measure(src: str, steps: int, log_every: int, repeats: int, clock: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, src, str(steps), str(log_every),
                          str(repeats), clock], capture_output=True, text=True, check=True,
                         cwd=REPO)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rev", default="86a0e46")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2, help="old/new alternations (minimum kept)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), a.rev],
                       check=True, capture_output=True)
        try:
            print(f"clock: {a.clock}; toy_regression width 48, batch 64, 1 torch thread, CPU")
            print("| log_every | engine | ms/step | steps/s |")
            print("| ---: | --- | ---: | ---: |")
            for log_every in (1, 10):
                best = {"before": float("inf"), "after": float("inf")}
                for _ in range(a.rounds):
                    best["before"] = min(best["before"], measure(str(old), a.steps, log_every,
                                                                 a.repeats, a.clock))
                    best["after"] = min(best["after"], measure("-", a.steps, log_every,
                                                               a.repeats, a.clock))
                for k in ("before", "after"):
                    ms = best[k] * 1e3
                    print(f"| {log_every} | {k} ({a.rev if k == 'before' else 'this tree'}) "
                          f"| {ms:.2f} | {1e3 / ms:.1f} |")
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)],
                           capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
