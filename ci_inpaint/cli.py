"""The ``ci-inpaint`` command: train | notebooks | weights | data | bench.

User errors (unknown method, bad config value, missing data, corrupt checkpoint, ...) print one
line naming the problem and the fix, and exit with status 2 -- never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from .errors import NonFiniteLossError, UserError

EXIT_USER, EXIT_NONFINITE, EXIT_INTERRUPT = 2, 3, 130


def _method_lines() -> str:
    from .methods import _MODULES, get_method, method_names

    rows = []
    for name in method_names():
        try:
            summary = get_method(name).summary
        except Exception as e:  # a broken method must not break --help
            summary = f"(cannot load {_MODULES.get(name)}: {type(e).__name__})"
        rows.append(f"  {name:<16} {summary}")
    return "methods:\n" + "\n".join(rows)


def _lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), func)(args) or 0

    return run


def cmd_train(args: argparse.Namespace) -> int:
    from .config import parse_sets, resolve_config
    from .engine import train
    from .methods import get_method

    overrides = parse_sets(args.set)
    if args.show_config:
        import yaml

        cfg = resolve_config(get_method(args.method).Config, args.profile, overrides, args.config,
                             method=args.method)
        print(yaml.safe_dump({"method": args.method, **cfg.to_dict()}, sort_keys=False), end="")
        return 0
    if args.out is None:
        raise UserError("--out RUN_DIR is required: the directory for logs and checkpoints")
    res = train(args.method, args.profile, args.out, overrides=overrides, config_file=args.config,
                resume=args.resume, overwrite=args.overwrite)
    if res.run_dir and int(os.environ.get("RANK", "0")) == 0:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in res.metrics.items())
        print(f"done: {res.steps_done} steps in {res.wall_s:.1f}s -> {res.run_dir}"
              + (f" ({metrics})" if metrics else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ci-inpaint",
        description="Contrastive learning for image synthesis and inpainting: train the five "
        "methods, run the notebooks, manage datasets and pretrained weights.",
    )
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    t = sub.add_parser(
        "train", help="train a method into a run directory",
        description="Train METHOD with a profile and overrides. Resolution order: dataclass "
        "defaults < profile < --config YAML < --set key=value.",
        epilog=_method_lines(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("method", help="method name (listed below)")
    t.add_argument("--profile", default="quick", help="smoke (seconds) | quick (minutes, default) | study (all variants, 8 seeds) | full (paper scale)")
    t.add_argument("--out", help="run directory (logs, config.yaml, env.json, checkpoints/)")
    t.add_argument("--set", nargs="+", action="extend", metavar="KEY=VALUE", help="override config fields")
    t.add_argument("--config", help="YAML file of config overrides (e.g. a saved config.yaml)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoints/last.pt")
    g.add_argument("--overwrite", action="store_true", help="delete --out first and start over")
    t.add_argument("--show-config", action="store_true", help="print the resolved config and exit")
    t.set_defaults(func=cmd_train)

    nb = sub.add_parser("notebooks", help="run the notebooks with papermill",
                        description="Execute notebooks with papermill and write a report.")
    nbs = nb.add_subparsers(dest="nb_verb", metavar="ACTION", required=True)
    r = nbs.add_parser("run", help="execute notebooks (all by default) with a profile",
                       description="Execute notebooks through papermill with a profile; writes "
                       "executed notebooks, figures and index.md into --out.")
    r.add_argument("names", nargs="*", help="notebook names, e.g. 01_divco (default: all)")
    r.add_argument("--profile", default="quick", help="smoke | quick (default) | study | full")
    r.add_argument("--out", help="output folder (default runs/notebooks-<timestamp>)")
    r.add_argument("--timeout", type=float, default=None, help="seconds per notebook (default: per profile)")
    r.set_defaults(func=_lazy("ci_inpaint.toolchain.runner", "cli_run"))
    sw = nbs.add_parser("sweep", help="run one notebook over a parameter grid and plot it",
                        description="Run NOTEBOOK once per point of the Cartesian grid (papermill), "
                        "collect each run's summary.json and plot a metric against the first key. "
                        "Example: ci-inpaint notebooks sweep 01_divco --grid lambda_contra=0.5,1,2 "
                        "tau=0.5,1 --profile quick --out runs/divco_sweep")
    sw.add_argument("notebook", help="notebook name or path, e.g. 01_divco")
    sw.add_argument("--grid", nargs="+", action="extend", required=True, metavar="KEY=V1,V2",
                    help="parameter values to sweep")
    sw.add_argument("--profile", default="smoke", help="smoke (default) | quick | full")
    sw.add_argument("--out", help="output folder (default runs/sweep)")
    sw.add_argument("--plot-y", dest="plot_y", help="summary metric on the plot's y axis")
    sw.set_defaults(func=_lazy("ci_inpaint.toolchain.sweep", "cli_sweep"))

    w = sub.add_parser("weights", help="pretrained weights: status | fetch",
                       description="Pretrained files the metrics and methods use, and where they must lie.")
    ws = w.add_subparsers(dest="w_verb", metavar="ACTION", required=True)
    st = ws.add_parser("status", help="table of pretrained files: present or missing, path, URL",
                       description="Show each registered pretrained file, where it must lie and whether it is there.")
    st.set_defaults(func=_lazy("ci_inpaint.weights", "cli_status"))
    f = ws.add_parser("fetch", help="download pretrained files (needs internet)",
                      description="Download registered pretrained files into $TORCH_HOME/hub/checkpoints.")
    f.add_argument("names", nargs="*", help="file names (default: all missing)")
    f.add_argument("--force", action="store_true", help="download again even if present")
    f.set_defaults(func=_lazy("ci_inpaint.weights", "cli_fetch"))

    d = sub.add_parser("data", help="datasets: list what is present and how to get the rest",
                       description="List bundled, synthetic and paper datasets and whether they are present.")
    ds = d.add_subparsers(dest="d_verb", metavar="ACTION", required=True)
    dl = ds.add_parser("list", help="table of datasets", description="Table of datasets and how to get each.")
    dl.set_defaults(func=cmd_data_list)

    b = sub.add_parser("bench", help="benchmarks: engine overhead vs a bare loop",
                       description="Measure the engine's per-step overhead against a bare PyTorch loop.")
    b.add_argument("--steps", type=int, default=300, help="timed steps per loop")
    b.add_argument("--device", default="auto", help="auto | cpu | cuda")
    b.add_argument("--repeats", type=int, default=5, help="interleaved repeats (minimum is kept)")
    b.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall time, or this process's CPU time (steadier on a busy machine)")
    b.set_defaults(func=_lazy("ci_inpaint.bench", "cli_bench"))
    return p


def cmd_data_list(args: argparse.Namespace) -> int:
    from .data.catalog import dataset_table

    rows = dataset_table()
    cols = list(rows[0]) if rows else []
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"ci-inpaint: error: {e}", file=sys.stderr)
        return EXIT_USER
    except NonFiniteLossError as e:
        print(f"ci-inpaint: training stopped: {e}", file=sys.stderr)
        return EXIT_NONFINITE
    except KeyboardInterrupt:
        print("ci-inpaint: interrupted; finished checkpoints are kept: continue with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPT


if __name__ == "__main__":
    sys.exit(main())
