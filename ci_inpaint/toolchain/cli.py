"""The command line of the notebook toolchain: run | sync | execute | check.

``python -m ci_inpaint.notebooks sync`` rewrites each ``.ipynb`` from its ``.py``;
``... execute NAME`` re-runs a notebook (quick profile) and stores its outputs in the paired
``.ipynb`` (how committed outputs are made); ``... run`` is ``ci-inpaint notebooks run``;
``... check`` lists pairs that are out of sync, lack outputs or a checked parameters cell.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from .layout import list_notebooks, notebooks_dir
from .pairs import execute_inplace, pair_problems, sync
from .runner import TIME_LIMITS, cli_run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ci_inpaint.notebooks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run notebooks through papermill and write a report")
    r.add_argument("names", nargs="*")
    r.add_argument("--profile", default="quick", choices=list(TIME_LIMITS))
    r.add_argument("--out", default=None)
    r.add_argument("--timeout", type=float, default=None, help="seconds per notebook (0 = none)")
    sub.add_parser("sync", help="rewrite each .ipynb from its .py, keeping outputs")
    e = sub.add_parser("execute", help="re-run notebooks and store outputs in the .ipynb files")
    e.add_argument("names", nargs="*")
    e.add_argument("--profile", default="quick", choices=list(TIME_LIMITS))
    sub.add_parser("check", help="report pairs that are out of sync or lack outputs")
    args = p.parse_args(argv)
    try:
        if args.cmd == "run":
            return cli_run(args)
        if args.cmd == "sync":
            for path in sync():
                print(f"updated {path}")
            return 0
        if args.cmd == "execute":
            for name in args.names or list_notebooks():
                res = execute_inplace(Path(name).stem, args.profile)
                print(f"[{res.name}] executed in {res.runtime_s:.1f} s")
            return 0
        problems = [m for py in sorted(notebooks_dir().glob("[0-9][0-9]_*.py"))
                    for m in pair_problems(py)]
        print("\n".join(problems) or "all notebook pairs in sync")
        return 1 if problems else 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


