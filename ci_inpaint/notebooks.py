"""What a notebook imports: its output folder, parameter checks, tables, and ``summary.json``.

Conventions every ``notebooks/NN_name.py`` (jupytext py:percent, the source) follows:

* exactly one cell tagged ``parameters`` assigning at least ``profile``, ``device``, ``seed``,
  ``out_dir`` and ``data_root``; ``profile`` defaults to ``os.environ.get("CI_INPAINT_PROFILE",
  "quick")`` so that nbval (which cannot inject parameters) runs the smoke profile when
  ``make test`` sets ``CI_INPAINT_PROFILE=smoke``; papermill overrides it with an injected cell;
* the next cell starts with ``nb = Notebook.start(globals())`` (:class:`Notebook`, the scaffold
  that infers the name, runs ``check_parameters(globals(), "NN_name")``: every parameter must
  have its default's type, a one-line error names the parameter and the type; and ends the
  notebook with ``nb.finish(...)``);
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
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .experiments.claims import Claim, claim_rows, tally
from .experiments.grid import quiet
from .experiments.stats import Stat
from .toolchain.layout import (
    list_notebooks,
    notebooks_dir,
    repo_root,
    resolve_out_dir,
    validate_summary,
)

__all__ = ["TIMING_FILE", "NonFiniteMetricError", "Notebook", "check_parameters", "infer_name", "is_timing", "list_notebooks",
           "markdown_table", "notebooks_dir", "parameter_defaults", "quiet", "repo_root",
           "resolve_out_dir", "validate_summary", "write_summary"]


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
    return _parameters_source_in(directory, name)


def _parameters_source_in(directory: Path, name: str) -> str:
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


def _scalar(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    return value


def _jsonable(value: Any) -> Any:
    value = _scalar(value)
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



# --------------------------------------------------------------------------------------------
# the scaffold: one object from the parameters cell to the summary

_NAME = re.compile(r"^[0-9][0-9]_\w+$")
_PATH_HINTS = ("__session__", "__vsc_ipynb_file__", "__file__")  # Jupyter Server 2, VS Code, script


class NonFiniteMetricError(ValueError):
    """A recorded metric is NaN or infinite; the message names each one."""


def _notebook_stem(path: Any) -> str | None:
    stem = Path(str(path)).name.split(".")[0]  # 05_monce.ipynb, 05_monce.py, 05_monce
    return stem if _NAME.match(stem) else None


def _parameters_cells(directory: Path) -> dict[str, str]:
    """``{name: parameters cell source}`` of the ``NN_*`` notebooks in ``directory`` (the
    ``.py`` where there is one, else the ``.ipynb``); files that cannot be read are skipped."""
    out: dict[str, str] = {}
    names = sorted({p.name.split(".")[0] for e in ("py", "ipynb")
                    for p in directory.glob(f"[0-9][0-9]_*.{e}")})
    for name in names:
        try:
            out[name] = _parameters_source_in(directory, name)
        except Exception:  # a broken or foreign file must not hide the others
            continue
    return out


def _cached_cells() -> set[str]:
    """The sources of the cells this IPython kernel ran, from ``linecache``: IPython caches each
    cell there for its tracebacks (an entry without a file time), also when the front end keeps
    no history (nbval runs every cell with ``store_history=False``, so ``In`` stays empty)."""
    import linecache

    return {"".join(entry[2]).strip() for entry in list(linecache.cache.values())
            if len(entry) == 4 and entry[1] is None and entry[2]}


def infer_name(namespace: dict[str, Any]) -> str:
    """The name (``NN_name``) of the notebook whose ``globals()`` is ``namespace``.

    First the parameters cell: the one saved notebook (in the kernel's working directory, where
    papermill, nbval and Jupyter start it, else in notebooks/) whose parameters cell is among the
    cells this kernel executed (IPython's ``In``, and the cells IPython caches for tracebacks);
    papermill's injected cell comes after it and changes nothing. Then a path the front end gives (``__session__``: Jupyter Server 2,
    ``__vsc_ipynb_file__``: VS Code, ``__file__``: the ``.py`` run as a script). A ConfigError
    naming the fix (``name=``) when neither tells.
    """
    hints = [s for s in (_notebook_stem(namespace[k]) for k in _PATH_HINTS
                         if isinstance(namespace.get(k), str)) if s]
    executed = {str(c).strip() for c in namespace.get("In", []) or [] if str(c).strip()}
    executed |= _cached_cells()
    if executed:
        found: set[str] = set()
        for directory in dict.fromkeys([Path.cwd(), notebooks_dir()]):
            found |= {n for n, src in _parameters_cells(directory).items()
                      if src.strip() in executed}
        if len(found) > 1 and set(hints) & found:
            found &= set(hints)
        if len(found) == 1:
            return found.pop()
    if hints:
        return hints[0]
    raise ConfigError("cannot tell which notebook this is (no NN_*.py or .ipynb in "
                      f"{Path.cwd()} or notebooks/ has the parameters cell this kernel ran): "
                      'pass its name, Notebook.start(globals(), name="NN_name")')


def _show_markdown(text: str) -> None:
    try:
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython ships with the notebook dependencies
        print(text)
        return
    display(Markdown(text))


class Notebook:
    """A paper notebook from its parameters cell to its ``summary.json``.

    ``nb = Notebook.start(globals())`` in the cell after the parameters cell infers the
    notebook's name (:func:`infer_name`; ``name=`` to give it), checks the parameters
    (:func:`check_parameters`), makes the output folder ``nb.out`` (:func:`resolve_out_dir`) and
    starts the clock. Then ``nb.seeds(n)`` gives the seeds, ``nb.metric``, ``nb.table``,
    ``nb.figure`` and ``nb.claims`` record what the notebook finds, and
    ``nb.finish(paper=..., notes=...)`` writes ``summary.json`` through :func:`write_summary`
    (its clocks, ``wall_s``, in ``timing.json`` beside it, which the runner reads), prints the
    tally of the claims and raises :class:`NonFiniteMetricError` on a NaN or infinite metric.
    """

    def __init__(self, namespace: dict[str, Any], name: str,
                 defaults: dict[str, Any] | None = None) -> None:
        check_parameters(namespace, name, defaults)
        self.name = name
        self.profile = str(namespace.get("profile", "quick"))
        self.seed = int(namespace.get("seed", 0))
        self.out = resolve_out_dir(name, namespace.get("out_dir", "") or "", self.profile)
        self.metrics: dict[str, Any] = {}
        self.notes: dict[str, str] = {}
        self.tables: dict[str, Path] = {}
        self.figures: dict[str, Path] = {}
        self.all_claims: list[Claim] = []
        self._t0 = time.perf_counter()

    @classmethod
    def start(cls, namespace: dict[str, Any], name: str | None = None, *,
              defaults: dict[str, Any] | None = None) -> Notebook:
        """The scaffold of the notebook whose ``globals()`` is ``namespace`` (see the class)."""
        return cls(namespace, name or infer_name(namespace), defaults)

    # -- the run
    @property
    def smoke(self) -> bool:
        return self.profile == "smoke"

    @property
    def study(self) -> bool:
        return self.profile == "study"

    def elapsed(self) -> float:
        """Seconds since :meth:`start`."""
        return time.perf_counter() - self._t0

    def seeds(self, n: int, *, study: int | None = None, smoke: int = 1) -> list[int]:
        """``seed, seed + 1, ...``: ``n`` of them, ``smoke`` at the smoke profile and ``study``
        (when given) at the study profile."""
        count = smoke if self.smoke else study if self.study and study is not None else n
        return list(range(self.seed, self.seed + int(count)))

    # -- what it finds
    def metric(self, name: str, value: Any, note: str = "") -> Any:
        """Record metric ``name``; a :class:`~ci_inpaint.experiments.Stat` gives its mean, and
        its ``format()`` (interval over seeds) goes first in the note. Returns the value."""
        if isinstance(value, Stat):
            note = value.format() + (f"; {note}" if note else "")
            value = value.mean
        self.metrics[name] = value
        if note:
            self.notes[name] = str(note)
        return value

    def table(self, name: str, rows: list[dict[str, Any]], columns: list[str] | None = None,
              show: bool = True) -> str:
        """Show ``rows`` as a markdown table and save it as ``out/<name>.md``; returns it."""
        text = markdown_table(rows, columns)
        path = self.out / f"{name}.md"
        path.write_text(text + "\n")
        self.tables[name] = path
        if show:
            _show_markdown(text)
        return text

    def figure(self, fig: Any, name: str, dpi: int = 110, show: bool = True) -> Path:
        """Save ``fig`` as ``out/<name>.png`` (tight bounding box) and show it."""
        path = self.out / (name if name.endswith(".png") else f"{name}.png")
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        self.figures[path.stem] = path
        if show:
            import matplotlib.pyplot as plt

            plt.show()
        return path

    def claims(self, claims: Iterable[Claim], show: bool = False) -> list[Claim]:
        """Record ``claims`` (in order; the summary keeps them all) and return them; ``show``
        displays their table (:func:`ci_inpaint.experiments.claim_rows`)."""
        claims = list(claims)
        self.all_claims += claims
        if show:
            _show_markdown(markdown_table(claim_rows(claims)))
        return claims

    # -- the end
    def finish(self, paper: dict[str, dict[str, Any]] | None = None,
               notes: dict[str, str] | None = None) -> Path:
        """Write ``summary.json`` (:func:`write_summary`, with ``wall_s`` going to
        ``timing.json``), print the tally of the claims, then raise NonFiniteMetricError if a
        metric is NaN or infinite (the summary is written first, to show it). Returns the
        summary's path."""
        metrics = {**self.metrics, "wall_s": round(self.elapsed(), 1)}
        path = write_summary(self.out, self.name, metrics, paper=paper, claims=self.all_claims,
                             profile=self.profile, notes={**self.notes, **(notes or {})})
        n = tally(self.all_claims)
        print(f"{len(metrics)} metrics; of {len(self.all_claims)} claims {n['holds']} hold, "
              f"{n['inconclusive']} are inconclusive, {n['does not hold']} do not hold; "
              f"{path.name} written to out_dir")
        bad = {k: v for k, v in ((k, _scalar(v)) for k, v in metrics.items())
               if isinstance(v, float) and not math.isfinite(v)}
        if bad:
            raise NonFiniteMetricError(
                f"{self.name}: metric{'s' if len(bad) > 1 else ''} "
                + ", ".join(f"{k} = {v}" for k, v in bad.items())
                + f" not finite ({path.name} records them): see the cell that computes "
                + ("them" if len(bad) > 1 else "it"))
        return path



if __name__ == "__main__":  # python -m ci_inpaint.notebooks run|sync|execute|check
    import sys

    from .toolchain.cli import main

    sys.exit(main())
