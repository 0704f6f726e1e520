"""Wall time and peak memory of notebooks/01_divco under the smoke and quick profiles.

Runs the notebook through papermill (kernel python3, CI_INPAINT_QUIET=1) with
:func:`ci_inpaint.toolchain.runner.run_one`, which polls the summed RSS of the kernel's process tree,
and prints a markdown table against the budgets (smoke < 30 s, quick < 5 min on 2 CPU cores).

    .venv/bin/python benchmarks/bench_divco_notebook.py [--profiles smoke quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from ci_inpaint.notebooks import markdown_table, notebooks_dir
from ci_inpaint.toolchain.runner import run_one

BUDGET_S = {"smoke": 30.0, "quick": 300.0}


def bench(profiles: list[str], out: Path) -> list[dict]:
    rows = []
    for profile in profiles:
        t0 = time.perf_counter()
        res = run_one(notebooks_dir() / "01_divco.ipynb", out / profile, profile, timeout=900)
        wall = time.perf_counter() - t0
        summary = res.summary or {}
        claims = summary.get("claims", [])
        rows.append({
            "profile": profile, "status": res.status,
            "wall s (papermill)": round(wall, 1),
            "notebook s (kernel)": res.runtime_s,
            "inside s (summary)": summary.get("metrics", {}).get("wall_s", "-"),
            "peak RSS MB": res.peak_rss_mb,
            "budget s": BUDGET_S.get(profile, "-"),
            "within budget": wall <= BUDGET_S.get(profile, float("inf")),
            "claims held": f"{sum(c['verdict'] == 'holds' for c in claims)}/{len(claims)}",
            "1-min load average": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else "-",
            "error": res.error or "",
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", nargs="+", default=["smoke", "quick"])
    ap.add_argument("--out", default="", help="where executed notebooks go (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench(args.profiles, Path(args.out or tmp))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"01_divco on {platform.machine()} with {os.cpu_count()} CPUs "
          f"(1-min load average at the end: {load:.1f})\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
