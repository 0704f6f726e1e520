"""Parameter sweeps over a notebook with papermill (DivCo Fig. 7: lambda_contra, tau, R).

``run_sweep`` executes the notebook once per point of the Cartesian grid, each run into
``out/<param-string>/`` (the executed notebook, its figures, ``summary.json`` and the
``params.json`` it ran with); ``collect`` reads the runs back as flat rows (parameters +
summary metrics) and ``plot_sweep`` draws a metric against a parameter. From the shell::

    ci-inpaint notebooks sweep 01_divco --grid lambda_contra=0.3,1,3 tau=0.1,1 \\
        --profile smoke --out runs/sweep_divco

Kernel ``python3`` (this environment's, see :func:`ci_inpaint.toolchain.runner.kernel_env`)
with ``CI_INPAINT_QUIET=1``. A failed run is recorded in its ``params.json`` and the sweep goes on.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UserError


def parse_value(text: str) -> int | float | bool | str:
    """``"3"`` -> 3, ``"1e-3"`` -> 0.001, ``"true"`` -> True, anything else stays a string."""
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    for cast in (int, float):
        try:
            return cast(t)
        except ValueError:
            pass
    return t


def parse_grid(items: list[str]) -> dict[str, list]:
    """``["tau=0.1,1", "radius=0.001"]`` -> ``{"tau": [0.1, 1], "radius": [0.001]}``."""
    grid: dict[str, list] = {}
    for item in items or []:
        key, sep, values = item.partition("=")
        vals = [parse_value(v) for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not vals:
            raise ConfigError(f"--grid {item!r}: expected KEY=v1,v2,..., e.g. --grid tau=0.1,1")
        grid[key.strip()] = vals
    if not grid:
        raise ConfigError("an empty grid: pass at least one --grid KEY=v1,v2")
    return grid


def param_string(params: dict[str, Any]) -> str:
    """A folder name for a grid point, e.g. ``lambda_contra=1_tau=0.1`` (filesystem-safe)."""
    parts = [f"{k}={v}" for k, v in params.items()]
    return re.sub(r"[^A-Za-z0-9_.=+-]", "-", "_".join(parts)) or "default"


def grid_points(grid: dict[str, list]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def _resolve_notebook(notebook: str | Path) -> Path:
    p = Path(notebook)
    if p.suffix == ".ipynb" and p.is_file():
        return p
    from .layout import list_notebooks, notebooks_dir

    if p.suffix == ".py" and p.with_suffix(".ipynb").is_file():
        return p.with_suffix(".ipynb")
    available = list_notebooks()
    stem = p.stem
    matches = [a for a in available if stem in (a, a.split("_", 1)[-1], a.split("_", 1)[0])]
    if len(matches) != 1:
        raise UserError(f"unknown notebook {notebook!r}: pass a .ipynb path or one of "
                        f"{', '.join(available)}")
    return notebooks_dir() / f"{matches[0]}.ipynb"


def run_sweep(notebook: str | Path, grid: dict[str, list], profile: str = "smoke",
              out: str | Path = "runs/sweep", base_params: dict[str, Any] | None = None,
              timeout: float | None = None) -> list[dict[str, Any]]:
    """Run ``notebook`` for every grid point; returns :func:`collect` of ``out``.

    Parameters passed to papermill: ``profile``, ``out_dir`` (the point's folder), then
    ``base_params``, then the point's values (which win).
    """
    from .runner import execute

    source = _resolve_notebook(notebook)
    out = Path(out)
    for point in grid_points(grid):
        run_dir = out / param_string(point)
        run_dir.mkdir(parents=True, exist_ok=True)
        params = {"profile": profile, "out_dir": str(run_dir.resolve()),
                  **(base_params or {}), **point}
        record: dict[str, Any] = {"point": point, "params": params, "status": "ok"}
        print(f"[sweep] {run_dir.name}", flush=True)
        try:
            execute(source, run_dir / source.name, params, timeout)
        except Exception as exc:  # noqa: BLE001 - a failed point is recorded, the sweep goes on
            record["status"] = "failed"
            record["error"] = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() \
                else type(exc).__name__
            print(f"[sweep] {run_dir.name} failed: {record['error']}", flush=True)
        (run_dir / "params.json").write_text(json.dumps(record, indent=2) + "\n")
    return collect(out)


def collect(out: str | Path) -> list[dict[str, Any]]:
    """One row per run folder of ``out`` with a summary.json: grid values + metrics + the number
    of claims per verdict (``claims_held``, ``claims_inconclusive``, ``claims_total``)."""
    rows = []
    for summ in sorted(Path(out).glob("*/summary.json")):
        run_dir = summ.parent
        summary = json.loads(summ.read_text())
        rec_path = run_dir / "params.json"
        rec = json.loads(rec_path.read_text()) if rec_path.is_file() else {}
        row: dict[str, Any] = {"run": run_dir.name, **rec.get("point", {}),
                               "status": rec.get("status", "ok")}
        row.update(summary.get("metrics", {}))
        claims = summary.get("claims", [])
        row["claims_held"] = sum(c.get("verdict") == "holds" for c in claims)
        row["claims_inconclusive"] = sum(c.get("verdict") == "inconclusive" for c in claims)
        row["claims_total"] = len(claims)
        rows.append(row)
    return rows


def plot_sweep(rows: list[dict[str, Any]], x: str, y: str, hue: str | None = None,
               out: str | Path | None = None, logx: bool | None = None):
    """``y`` against ``x`` (one line per value of ``hue``, or per combination of the other grid
    keys when ``hue`` is None). Saved as ``out/sweep.png`` when ``out`` is given."""
    import matplotlib.pyplot as plt

    usable = [r for r in rows if isinstance(r.get(x), (int, float)) and _is_num(r.get(y))]
    if not usable:
        raise ConfigError(f"no run has numeric {x!r} and {y!r}: check the grid keys and the "
                          "metric names in the runs' summary.json")
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in usable:
        groups.setdefault(r.get(hue) if hue else None, []).append(r)
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for key, sel in groups.items():
        sel = sorted(sel, key=lambda r: r[x])
        ax.plot([r[x] for r in sel], [float(r[y]) for r in sel], "o-",
                label=f"{hue}={key}" if hue else None)
    xs = [r[x] for r in usable]
    if logx if logx is not None else (min(xs) > 0 and max(xs) / min(xs) >= 100):
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if out is not None:
        fig.savefig(Path(out) / "sweep.png", dpi=120)
    return fig


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def cli_sweep(args: Any) -> int:
    """``ci-inpaint notebooks sweep NOTEBOOK --grid K=v1,v2 ... --profile P --out DIR``.

    Plots ``args.plot_y`` (optional) against the first grid key; without it, a DivCo FID,
    else a DivCo high-quality share, else the first numeric metric."""
    grid = parse_grid(args.grid)
    out = Path(args.out or "runs/sweep")
    rows = run_sweep(args.notebook, grid, profile=args.profile or "smoke", out=out)
    failed = [r for r in rows if r.get("status") != "ok"]
    x = next(iter(grid))
    numeric = [k for r in rows[:1] for k, v in r.items()
               if _is_num(v) and k not in grid and not k.startswith("claims_")]
    # prefer a DivCo FID (Fig. 7's metric), then a DivCo quality share, then anything numeric
    y = getattr(args, "plot_y", None) or next(
        (k for want in ("divco_fid", "divco_high_quality", "fid", "")
         for k in numeric if want in k), None)
    if y is not None:
        hue = next((k for k in grid if k != x), None)
        plot_sweep(rows, x, y, hue=hue, out=out)
        print(f"[sweep] {len(rows)} runs in {out}; plot of {y} vs {x}: {out / 'sweep.png'}")
    n_points = len(grid_points(grid))
    return 1 if failed or len(rows) < n_points else 0


__all__ = ["cli_sweep", "collect", "grid_points", "param_string", "parse_grid", "parse_value",
           "plot_sweep", "run_sweep"]
