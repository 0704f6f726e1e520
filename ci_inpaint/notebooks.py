"""What a notebook imports: its output folder, parameter checks, tables, and ``summary.json``.

Conventions every ``notebooks/NN_name.py`` (jupytext py:percent, the source) follows:

* exactly one cell tagged ``parameters`` assigning at least ``profile``, ``device``, ``seed``,
  ``out_dir`` and ``data_root``; ``profile`` defaults to ``os.environ.get("CI_INPAINT_PROFILE",
  "quick")`` so that nbval (which cannot inject parameters) runs the smoke profile when
  ``make test`` sets ``CI_INPAINT_PROFILE=smoke``; papermill overrides it with an injected cell;
* the next cell starts with ``check_parameters(globals(), "NN_name")``: every parameter must have
  its default's type (a one-line error names the parameter and the type);
* it writes its figures (``*.png``) and one ``summary.json`` into ``out_dir`` (see
  :func:`write_summary`); ``out_dir = ""`` means ``runs/notebooks/<name>-<profile>``.

``summary.json`` schema (read by :mod:`ci_inpaint.toolchain.report`; docs/notebooks.md)::

    {"notebook": "03_scat", "profile": "quick",
     "metrics": {"fid_digits_classifier": 41.2},          # name -> number (or short string)
     "notes":   {"fid_digits_classifier": "n = 1000 generated vs 1000 real"},   # optional
     "paper":   {"fid": {"value": 7.34, "source": "Table 1, CelebA-HQ"}},     # + std, n
     "claims":  [{"text": "...", "verdict": "holds" | "inconclusive" | "does not hold",
                  "evidence": "Welch 95 % CI ...", "ours": "...", "paper": {...} | null,
                  "why_differs": "..."}]}

The toolchain (papermill runner, jupytext sync, CLI) is :mod:`ci_inpaint.toolchain`;
``python -m ci_inpaint.notebooks run|sync|execute|check`` still works.
"""

from __future__ import annotations

import ast
import json
import math
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .experiments.claims import Claim
from .experiments.grid import quiet
from .toolchain.layout import (
    list_notebooks,
    notebooks_dir,
    repo_root,
    resolve_out_dir,
    validate_summary,
)

__all__ = ["TIMING_FILE", "check_parameters", "is_timing", "list_notebooks", "markdown_table", "notebooks_dir",
           "parameter_defaults", "quiet", "repo_root", "resolve_out_dir", "validate_summary",
           "write_summary"]






# --------------------------------------------------------------------------------------------
# parameters


def _default_of(node: ast.expr) -> Any:
    """A parameter's default: a literal, or ``os.environ.get(KEY, "literal")`` (-> the literal)."""
    if isinstance(node, ast.Call) and node.args[1:] and isinstance(node.args[1], ast.Constant):
        return node.args[1].value
    return ast.literal_eval(node)


def parameter_defaults(source: str) -> dict[str, Any]:
    """``{name: default}`` of the top-level assignments of a parameters cell's source."""
    out: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = _default_of(node.value)
            except (ValueError, TypeError, SyntaxError):
                pass  # not a literal: not checked
    return out


def _parameters_source(name: str) -> str:
    """The parameters cell of notebook ``name``: in the kernel's working directory (papermill,
    nbval and Jupyter start kernels in the notebook's folder), else in notebooks/."""
    directory = Path.cwd() if any((Path.cwd() / f"{name}{e}").is_file()
                                  for e in (".py", ".ipynb")) else notebooks_dir()
    py, ipynb = directory / f"{name}.py", directory / f"{name}.ipynb"
    if py.is_file():
        import jupytext

        nb = jupytext.read(py)
    else:
        import nbformat

        nb = nbformat.read(ipynb, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(f"{name} has {len(cells)} cells tagged 'parameters': keep exactly one")
    return cells[0].source


def _type_ok(value: Any, default: Any) -> tuple[bool, Any]:
    """Whether ``value`` has the type of ``default``, and the value to use (int -> float)."""
    if default is None:
        return True, value
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool), value
    if isinstance(default, float) and isinstance(value, int):
        return True, float(value)
    return isinstance(value, type(default)), value


def check_parameters(namespace: dict[str, Any], name: str,
                     defaults: dict[str, Any] | None = None) -> None:
    """Check every parameter in ``namespace`` (the notebook's ``globals()``) against its
    default's type, read from notebook ``name``'s parameters cell (or given as ``defaults``).

    An int passed for a float parameter becomes a float; anything else of another type raises a
    one-line ConfigError naming the parameter, the expected type and the default, e.g.
    ``parameter n_seeds: expected int (default 3), got 'abc' (str): pass -p n_seeds 3``.
    """
    defaults = parameter_defaults(_parameters_source(name)) if defaults is None else defaults
    for key, default in defaults.items():
        if key not in namespace:
            continue
        ok, value = _type_ok(namespace[key], default)
        if not ok:
            v = namespace[key]
            raise ConfigError(f"parameter {key}: expected {type(default).__name__} (default "
                              f"{default!r}), got {v!r} ({type(v).__name__}): pass e.g. "
                              f"-p {key} {default!r}") from None
        namespace[key] = value


# --------------------------------------------------------------------------------------------
# tables and summary.json


def markdown_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """A GitHub-markdown table of ``rows`` (dicts); ``columns`` default to the union of keys."""
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _claim_dict(c: Claim | dict[str, Any]) -> dict[str, Any]:
    if isinstance(c, Claim):
        return c.to_dict()
    return {"text": str(c["text"]), "verdict": c.get("verdict"), "evidence": str(c.get("evidence", "")),
            "ours": str(c.get("ours", "")), "paper": c.get("paper"),
            "why_differs": str(c.get("why_differs", ""))}


def write_summary(
    out_dir: str | os.PathLike,
    notebook: str,
    metrics: dict[str, Any],
    paper: dict[str, dict[str, Any]] | None = None,
    claims: list[Claim | dict[str, Any]] | None = None,
    profile: str = "",
    notes: dict[str, str] | None = None,
) -> Path:
    """Write ``out_dir/summary.json`` in the schema above; returns its path. Timing metrics
    (:func:`is_timing`) and their notes go to ``out_dir/timing.json`` instead.

    ``claims``: :class:`ci_inpaint.experiments.Claim` objects (or dicts of the same fields);
    ``paper`` maps a metric name to ``{"value", "source"[, "std", "n"]}``; ``notes`` maps a
    metric name to a short remark shown beside it (an interval, a sample count).
    """
    notes = dict(notes or {})
    timing = {k: _jsonable(v) for k, v in metrics.items() if is_timing(k)}
    summary = {
        "notebook": notebook,
        "profile": profile,
        "metrics": {k: _jsonable(v) for k, v in metrics.items() if not is_timing(k)},
        "notes": {k: str(v) for k, v in notes.items() if not is_timing(k)},
        "paper": paper or {},
        "claims": [_claim_dict(c) for c in claims or []],
    }
    validate_summary(summary)
    path = Path(out_dir) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    tmp.replace(path)
    if timing:  # beside summary.json, never in it: a clock is not a result of the commit
        t = {"notebook": notebook, "profile": profile, "timing": timing,
             "notes": {k: str(v) for k, v in notes.items() if is_timing(k)}}
        ttmp = path.with_name(TIMING_FILE + ".tmp")
        ttmp.write_text(json.dumps(t, indent=2) + "\n")
        ttmp.replace(path.with_name(TIMING_FILE))
    return path


TIMING_FILE = "timing.json"


def is_timing(name: str) -> bool:
    """Whether a metric measures the clock (``wall_s``, ``*_s``, ``*_ms``, ``*step_time``):
    :func:`write_summary` puts those in ``timing.json`` beside ``summary.json``, so two runs of
    one commit write the same summary.json (issue "Teaching scale that learns", item 4)."""
    return name.endswith(("_s", "_ms", "step_time"))



if __name__ == "__main__":  # python -m ci_inpaint.notebooks run|sync|execute|check
    import sys

    from .toolchain.cli import main

    sys.exit(main())
