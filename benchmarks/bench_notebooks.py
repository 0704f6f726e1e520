"""Wall time and peak memory of the notebooks under the smoke and quick profiles, with budgets.

Runs each notebook through papermill (kernel python3, CI_INPAINT_QUIET=1) with
:func:`ci_inpaint.toolchain.runner.run_one` into a fresh folder (nothing cached is reused),
polling the summed RSS of the kernel's process tree, and prints a markdown table against the
issues' budgets on a 2-core CPU, with the load average (the machine may be shared).

    .venv/bin/python benchmarks/bench_notebooks.py [--names 02_contrasfill 03_scat]
        [--profiles smoke quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from ci_inpaint.notebooks import list_notebooks, markdown_table, notebooks_dir
from ci_inpaint.toolchain.runner import run_one

# seconds on a 2-core CPU: smoke everywhere 30; quick 5 min for 01_divco, 6 min for the others
BUDGET_S = {"smoke": 30.0, "quick": 360.0}
QUICK_BUDGET_S = {"01_divco": 300.0}


def budget(name: str, profile: str) -> float:
    if profile == "quick":
        return QUICK_BUDGET_S.get(name, BUDGET_S["quick"])
    return BUDGET_S.get(profile, float("inf"))


def bench(names: list[str], profiles: list[str], out: Path, timeout: float = 3600) -> list[dict]:
    rows = []
    for name in names:
        for profile in profiles:
            t0 = time.perf_counter()
            res = run_one(notebooks_dir() / f"{name}.ipynb", out / name / profile, profile,
                          timeout=timeout)
            wall = time.perf_counter() - t0
            summary = res.summary or {}
            claims = summary.get("claims", [])
            limit = budget(name, profile)
            rows.append({
                "notebook": name, "profile": profile, "status": res.status,
                "wall s (papermill)": round(wall, 1),
                "notebook s (kernel)": res.runtime_s,
                "peak RSS MB": res.peak_rss_mb,
                "budget s": limit,
                "within budget": wall <= limit,
                "claims held": f"{sum(c['verdict'] == 'holds' for c in claims)}/{len(claims)}",
                "1-min load average": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else "-",
                "error": res.error or "",
            })
    return rows


def main(argv: list[str] | None = None, default_names: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", nargs="+", default=default_names or None,
                    help="notebooks (default: all numbered ones)")
    ap.add_argument("--profiles", nargs="+", default=["smoke", "quick"])
    ap.add_argument("--out", default="", help="where executed notebooks go (default: a temp dir)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per notebook run")
    args = ap.parse_args(argv)
    names = args.names or [n for n in list_notebooks() if n[:2].isdigit() and n[:2] != "00"]
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench(names, args.profiles, Path(args.out or tmp), args.timeout)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.machine()} with {os.cpu_count()} CPUs "
          f"(1-min load average at the end: {load:.1f})\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
