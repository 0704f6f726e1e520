"""Notebook toolchain: run every notebook through papermill, keep jupytext pairs in sync.

Conventions every ``notebooks/NN_name.py`` (jupytext py:percent, the source) follows:

* exactly one cell tagged ``parameters`` assigning at least ``profile``, ``device``, ``seed``,
  ``out_dir`` and ``data_root``; ``profile`` defaults to ``os.environ.get("CI_INPAINT_PROFILE",
  "quick")`` so that nbval (which cannot inject parameters) runs the smoke profile when
  ``make test`` sets ``CI_INPAINT_PROFILE=smoke``; papermill overrides it with an injected cell;
* it writes its figures (``*.png``) and one ``summary.json`` into ``out_dir`` (see
  :func:`write_summary`); ``out_dir = ""`` means ``runs/notebooks/<name>-<profile>``.

``summary.json`` schema (read by :mod:`ci_inpaint.report`)::

    {"notebook": "03_scat",                       # notebook name (file stem)
     "profile": "quick",
     "metrics": {"fid_digits_classifier": 41.2},  # name -> number (or short string)
     "paper":   {"fid": {"value": 7.34, "source": "Table 1, CelebA-HQ"}},
     "claims":  [{"text": "SCAT beats the baseline on L1", "holds": true}]}

``paper`` keys that equal a ``metrics`` key are shown on the same row of the report.

:func:`run_notebooks` (``ci-inpaint notebooks run``) executes notebooks with papermill's
Python API and an explicit kernel name, under per-profile time limits (:data:`TIME_LIMITS`),
records each one's runtime and peak memory (RSS of the kernel's process tree, polled) and
its summary, and writes ``index.md``/``index.html`` via :mod:`ci_inpaint.report`. A failing
notebook is reported and the others still run.

``python -m ci_inpaint.notebooks sync`` rewrites each ``.ipynb`` from its ``.py`` (keeping the
outputs of unchanged cells) with normalised metadata; ``... execute NAME`` re-runs a notebook
(quick profile) and stores its outputs in the paired ``.ipynb`` (how committed outputs are made).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, UserError

KERNEL_NAME = "python3"  # the venv's own ipykernel; see kernel_env()
# wall-clock limit per notebook, seconds (None = no limit)
TIME_LIMITS: dict[str, float | None] = {"smoke": 120.0, "quick": 900.0, "full": None}
REQUIRED_PARAMETERS = ("profile", "device", "seed", "out_dir", "data_root")
JUPYTEXT_FORMATS = "ipynb,py:percent"


def repo_root() -> Path:
    """The checkout holding ``ci_inpaint`` (editable install), else the current directory."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def list_notebooks(directory: Path | None = None) -> list[str]:
    """Names (stems) of the paired notebooks, sorted: ``00_start``, ``01_divco``, ..."""
    directory = Path(directory or notebooks_dir())
    return sorted(p.stem for p in directory.glob("[0-9][0-9]_*.ipynb"))


# --------------------------------------------------------------------------------------------
# helpers the notebooks call


def resolve_out_dir(name: str, out_dir: str | os.PathLike = "", profile: str = "quick") -> Path:
    """The notebook's output folder, created: ``out_dir`` or ``runs/notebooks/<name>-<profile>``."""
    path = Path(out_dir) if str(out_dir) else repo_root() / "runs" / "notebooks" / f"{name}-{profile}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def quiet() -> bool:
    """True under papermill/nbval/CI (``CI_INPAINT_QUIET`` or ``CI`` set, as the engine reads
    them): no progress bars."""
    return bool(os.environ.get("CI_INPAINT_QUIET") or os.environ.get("CI"))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_summary(
    out_dir: str | os.PathLike,
    notebook: str,
    metrics: dict[str, Any],
    paper: dict[str, dict[str, Any]] | None = None,
    claims: list[dict[str, Any]] | None = None,
    profile: str = "",
) -> Path:
    """Write ``out_dir/summary.json`` in the schema above; returns its path.

    ``claims`` items are ``{"text": str, "holds": bool}``; ``paper`` maps a metric name to
    ``{"value": number, "source": "Table N ..."}``.
    """
    summary = {
        "notebook": notebook,
        "profile": profile,
        "metrics": {k: _jsonable(v) for k, v in metrics.items()},
        "paper": paper or {},
        "claims": [{"text": str(c["text"]), "holds": bool(c["holds"])} for c in claims or []],
    }
    validate_summary(summary)
    path = Path(out_dir) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    tmp.replace(path)
    return path


def validate_summary(summary: Any) -> None:
    """Raise ValueError naming the first field that breaks the summary.json schema."""
    if not isinstance(summary, dict):
        raise ValueError("summary must be a JSON object")
    if not isinstance(summary.get("notebook"), str):
        raise ValueError("summary.notebook must be a string")
    if not isinstance(summary.get("metrics"), dict):
        raise ValueError("summary.metrics must be an object {name: value}")
    for key, item in summary.get("paper", {}).items():
        if not (isinstance(item, dict) and "value" in item and "source" in item):
            raise ValueError(f"summary.paper[{key!r}] must be {{'value': ..., 'source': ...}}")
    for claim in summary.get("claims", []):
        if not (isinstance(claim, dict) and isinstance(claim.get("text"), str)
                and isinstance(claim.get("holds"), bool)):
            raise ValueError(f"summary.claims item {claim!r} must be {{'text': str, 'holds': bool}}")


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


# --------------------------------------------------------------------------------------------
# running notebooks


@dataclass
class NotebookResult:
    name: str
    status: str = "ok"  # ok | failed | timeout
    error: str = ""
    runtime_s: float = 0.0
    peak_rss_mb: float = 0.0
    notebook: str = ""  # executed .ipynb, relative to the run directory
    out_dir: str = ""  # the notebook's out_dir, relative to the run directory
    figures: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None


class _Watch:
    """Polls the RSS of this process's children (the kernel and its workers); kills them
    when the notebook's time limit passes, which makes papermill raise DeadKernelError."""

    def __init__(self, limit_s: float | None, interval: float = 0.2):
        self.limit_s, self.interval = limit_s, interval
        self.peak = 0
        self.timed_out = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> _Watch:
        self.t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.elapsed = time.perf_counter() - self.t0

    def _loop(self) -> None:
        try:
            import psutil
        except ImportError:  # psutil comes with jupyter; without it, fall back to rusage below
            psutil = None
        me = psutil.Process() if psutil else None
        while not self._stop.wait(self.interval):
            if me is not None:
                rss = 0
                kids = me.children(recursive=True)
                for kid in kids:
                    try:
                        rss += kid.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, rss)
            if self.limit_s is not None and time.perf_counter() - self.t0 > self.limit_s:
                self.timed_out = True
                if me is not None:
                    for kid in me.children(recursive=True):
                        try:
                            kid.kill()
                        except psutil.Error:
                            pass
                return

    def peak_mb(self) -> float:
        if self.peak:
            return self.peak / 2**20
        import resource  # max RSS of any waited-for child so far (KiB on Linux): an upper bound

        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def kernel_env() -> None:
    """Make kernel name ``python3`` mean this interpreter's ipykernel, with quiet progress bars.

    ``JUPYTER_PATH`` first lists this environment's ``share/jupyter`` (so a user-level ``python3``
    kernelspec pointing at another Python does not win); its ``kernel.json`` says ``python``,
    which jupyter_client replaces by ``sys.executable``. Kernels inherit ``os.environ``.
    """
    share = str(Path(sys.prefix) / "share" / "jupyter")
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if share not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([share, *paths])
    os.environ["CI_INPAINT_QUIET"] = "1"


def _error_line(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", ""), getattr(exc, "evalue", "")
    text = f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0][:300] if lines else type(exc).__name__


def run_one(
    source: Path, run_dir: Path, profile: str, timeout: float | None,
    parameters: dict[str, Any] | None = None,
) -> NotebookResult:
    """Execute one notebook into ``run_dir/<name>.ipynb`` with outputs in ``run_dir/<name>/``."""
    import papermill as pm

    name = source.stem
    out = run_dir / name
    out.mkdir(parents=True, exist_ok=True)
    executed = run_dir / f"{name}.ipynb"
    result = NotebookResult(name, notebook=executed.name, out_dir=out.name)
    params = {"profile": profile, "out_dir": str(out.resolve()), **(parameters or {})}
    kernel_env()
    with _Watch(timeout) as watch:
        try:
            pm.execute_notebook(
                str(source), str(executed), parameters=params, kernel_name=KERNEL_NAME,
                cwd=str(source.parent), progress_bar=False, execution_timeout=timeout,
            )
        except Exception as exc:  # noqa: BLE001 - any failure is reported, the run goes on
            result.status, result.error = "failed", _error_line(exc)
    result.runtime_s = round(watch.elapsed, 2)
    result.peak_rss_mb = round(watch.peak_mb(), 1)
    if watch.timed_out:
        result.status = "timeout"
        result.error = f"stopped after the {profile} limit of {timeout:.0f} s per notebook"
    result.figures = sorted(str(p.relative_to(run_dir)) for p in out.rglob("*.png"))
    summary_path = out / "summary.json"
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text())
            validate_summary(summary)
            result.summary = summary
        except ValueError as exc:
            if result.status == "ok":
                result.status, result.error = "failed", f"bad summary.json: {exc}"
    elif result.status == "ok":
        result.status, result.error = "failed", "the notebook wrote no summary.json to out_dir"
    return result


def run_notebooks(
    names: list[str] | None = None,
    profile: str = "quick",
    out: str | os.PathLike | None = None,
    timeout: float | None = None,
    directory: str | os.PathLike | None = None,
    parameters: dict[str, Any] | None = None,
) -> tuple[Path, list[NotebookResult]]:
    """Run notebooks (all when ``names`` is empty), write the report; returns (run_dir, results).

    ``timeout`` (seconds per notebook) defaults to :data:`TIME_LIMITS` of the profile.
    """
    if profile not in TIME_LIMITS:
        raise ConfigError(f"unknown profile {profile!r}: use one of {', '.join(TIME_LIMITS)}")
    directory = Path(directory or notebooks_dir())
    available = list_notebooks(directory)
    if not available:
        raise UserError(f"no notebooks (NN_name.ipynb) in {directory}: run from the repository")
    chosen = []
    for n in names or available:
        stem = Path(n).stem
        matches = [a for a in available if a == stem or a.split("_", 1)[-1] == stem
                   or a.split("_", 1)[0] == stem]
        if len(matches) != 1:
            raise UserError(f"unknown notebook {n!r}: choose from {', '.join(available)}")
        chosen.append(matches[0])
    limit = TIME_LIMITS[profile] if timeout is None else (timeout if timeout > 0 else None)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(out) if out else repo_root() / "runs" / f"notebooks-{profile}-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)

    from .report import write_report

    results = []
    for name in chosen:
        print(f"[{name}] running ({profile} profile)", flush=True)
        res = run_one(directory / f"{name}.ipynb", run_dir, profile, limit, parameters)
        msg = f" - {res.error}" if res.error else ""
        print(f"[{name}] {res.status} in {res.runtime_s:.1f} s, peak {res.peak_rss_mb:.0f} MB{msg}",
              flush=True)
        results.append(res)
        # rewrite after each notebook so a long run can be watched and survives an interrupt
        (run_dir / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
        write_report(run_dir, results, profile=profile)
    return run_dir, results


def cli_run(args: Any) -> int:
    """``ci-inpaint notebooks run``: args has .names, .profile, .out, .timeout; returns exit code."""
    run_dir, results = run_notebooks(
        list(args.names or []), profile=args.profile or "quick", out=args.out,
        timeout=getattr(args, "timeout", None),
    )
    failed = [r.name for r in results if r.status != "ok"]
    print(f"report: {run_dir / 'index.md'}")
    if failed:
        print(f"{len(failed)} of {len(results)} notebooks failed: {', '.join(failed)}",
              file=sys.stderr)
    return 1 if failed else 0


# --------------------------------------------------------------------------------------------
# pairs: sync, metadata, checks


def normalise(nb: Any) -> Any:
    """Strip kernel- and run-specific metadata; keep cell ``tags`` and the jupytext pairing."""
    nb.metadata = {
        "jupytext": {"formats": JUPYTEXT_FORMATS},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": KERNEL_NAME},
        "language_info": {"name": "python"},
    }
    for cell in nb.cells:
        tags = [t for t in cell.metadata.get("tags", []) if t != "injected-parameters"]
        cell.metadata = {"tags": tags} if tags else {}
    return nb


def pair_problems(py: Path) -> list[str]:
    """What is wrong with the pair ``py`` / ``py.with_suffix('.ipynb')`` (empty = fine)."""
    import jupytext
    import nbformat

    ipynb = py.with_suffix(".ipynb")
    if not ipynb.is_file():
        return [f"{ipynb.name} is missing: run `python -m ci_inpaint.notebooks sync`"]
    src, nb = jupytext.read(py), nbformat.read(ipynb, as_version=4)
    problems = []

    def key(n: Any) -> list[tuple[str, str, list[str]]]:
        return [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in n.cells]

    if key(src) != key(nb):
        problems.append(f"{ipynb.name} is out of sync with {py.name}: run "
                        "`python -m ci_inpaint.notebooks sync` (then `make notebooks` for outputs)")
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        problems.append(f"{ipynb.name} has no outputs: run `make notebooks`")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(params) != 1:
        problems.append(f"{ipynb.name} has {len(params)} cells tagged 'parameters' (need 1)")
    else:
        missing = set(REQUIRED_PARAMETERS) - assigned_names(params[0].source)
        if missing:
            problems.append(f"{ipynb.name}: parameters cell lacks {', '.join(sorted(missing))}")
        if "CI_INPAINT_PROFILE" not in params[0].source:
            problems.append(f"{ipynb.name}: the parameters cell must default profile to "
                            'os.environ.get("CI_INPAINT_PROFILE", "quick") (nbval runs smoke)')
    unchecked = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                 and c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT") and not c.get("outputs")]
    if unchecked:
        problems.append(f"{ipynb.name}: NBVAL_CHECK_OUTPUT cells {unchecked} have no committed "
                        "output to compare with: run `make notebooks`")
    extra = set(nb.metadata) - {"jupytext", "kernelspec", "language_info"}
    if extra:
        problems.append(f"{ipynb.name}: notebook metadata {sorted(extra)} is not allowed")
    if nb.metadata.get("kernelspec", {}).get("name", KERNEL_NAME) != KERNEL_NAME:
        problems.append(f"{ipynb.name}: kernelspec name must be {KERNEL_NAME!r}")
    if set(nb.metadata.get("language_info", {})) - {"name"}:
        problems.append(f"{ipynb.name}: language_info carries kernel-specific fields")
    bad = [i for i, c in enumerate(nb.cells) if set(c.metadata) - {"tags"}]
    if bad:
        problems.append(f"{ipynb.name}: cells {bad} carry metadata other than tags")
    return problems


def assigned_names(source: str) -> set[str]:
    """Names assigned at top level of a cell's source."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def sync(directory: str | os.PathLike | None = None) -> list[Path]:
    """Rewrite every ``.ipynb`` from its ``.py`` source, keeping outputs of unchanged cells."""
    import jupytext
    import nbformat
    from jupytext.combine import combine_inputs_with_outputs

    written = []
    for py in sorted(Path(directory or notebooks_dir()).glob("[0-9][0-9]_*.py")):
        ipynb = py.with_suffix(".ipynb")
        nb = jupytext.read(py)
        if ipynb.is_file():
            old = nbformat.read(ipynb, as_version=4)
            nb = combine_inputs_with_outputs(nb, old, fmt="py:percent")
        nb = normalise(nb)
        before = ipynb.read_text() if ipynb.is_file() else None
        jupytext.write(nb, ipynb, fmt="ipynb")
        if ipynb.read_text() != before:
            written.append(ipynb)
    return written


def execute_inplace(name: str, profile: str = "quick", directory: str | os.PathLike | None = None,
                    timeout: float | None = None) -> NotebookResult:
    """Execute notebook ``name`` with papermill and store the outputs in its committed .ipynb.

    The injected-parameters cell is dropped again, so the pair stays in sync; figures and
    summary are copied to ``runs/notebooks/<name>-<profile>``.
    """
    import nbformat

    directory = Path(directory or notebooks_dir())
    sync(directory)
    ipynb = directory / f"{name}.ipynb"
    limit = TIME_LIMITS[profile] if timeout is None else timeout
    with tempfile.TemporaryDirectory() as tmp:
        res = run_one(ipynb, Path(tmp), profile, limit)
        if res.status != "ok":
            raise UserError(f"{name} failed ({res.error}): fix it, then run `make notebooks` again")
        nb = nbformat.read(Path(tmp) / f"{name}.ipynb", as_version=4)
        shutil.copytree(Path(tmp) / name, resolve_out_dir(name, "", profile), dirs_exist_ok=True)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    count = 0
    for cell in nb.cells:  # renumber 1, 2, 3, ... now that the injected cell is gone
        if cell.cell_type == "code" and cell.get("execution_count"):
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count
    nbformat.write(normalise(nb), ipynb)
    sync(directory)
    return res


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


if __name__ == "__main__":
    sys.exit(main())
