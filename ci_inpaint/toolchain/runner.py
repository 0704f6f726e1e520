"""Run notebooks through papermill: time limits, peak memory, the report.

:func:`run_notebooks` (``ci-inpaint notebooks run``, ``make reproduce``) executes notebooks with
papermill's Python API and an explicit kernel name, under per-profile time limits
(:data:`TIME_LIMITS`), records each one's runtime and peak memory (RSS of the kernel's process
tree, polled) and its summary, and writes ``index.md``/``index.html`` via
:mod:`ci_inpaint.toolchain.report`. A failing notebook is reported and the others still run.

The kernel: name ``python3`` resolved to this environment's ipykernel (:func:`kernel_env`),
started with CurveZMQ transport encryption (:func:`kernel_config`): ipykernel warns "Kernel is
running over TCP without encryption" for every kernel a manager starts on TCP without keys, and
its kernelspec declares ``supported_encryption: curve``, so jupyter_client's
``KernelManager.transport_encryption = "auto"`` provisions the keys and the cause of the warning
is gone (not just its message).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UserError
from .layout import list_notebooks, notebooks_dir, repo_root, validate_summary

KERNEL_NAME = "python3"  # the venv's own ipykernel; see kernel_env()
# wall-clock limit per notebook, seconds (None = no limit)
TIME_LIMITS: dict[str, float | None] = {"smoke": 120.0, "quick": 900.0, "study": 1800.0,
                                          "full": None}


def kernel_config() -> Any:
    """traitlets config for papermill's kernel manager: CurveZMQ-encrypted transport when pyzmq
    has curve support (then ipykernel has nothing to warn about), else the defaults."""
    from traitlets.config import Config

    try:
        import zmq

        curve = bool(zmq.has("curve"))
    except ImportError:  # pragma: no cover - pyzmq comes with jupyter_client
        curve = False
    return Config({"KernelManager": {"transport_encryption": "auto"}}) if curve else Config()


def execute(source: Path, target: Path, parameters: dict[str, Any],
            timeout: float | None) -> None:
    """papermill.execute_notebook with this project's kernel, cwd and quiet settings."""
    import papermill as pm

    kernel_env()
    pm.execute_notebook(str(source), str(target), parameters=parameters, kernel_name=KERNEL_NAME,
                        cwd=str(source.parent), progress_bar=False, execution_timeout=timeout,
                        config=kernel_config())


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
    timing: dict[str, Any] | None = None  # out_dir/timing.json: the notebook's own clocks (wall_s)


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
    name = source.stem
    out = run_dir / name
    out.mkdir(parents=True, exist_ok=True)
    executed = run_dir / f"{name}.ipynb"
    result = NotebookResult(name, notebook=executed.name, out_dir=out.name)
    params = {"profile": profile, "out_dir": str(out.resolve()), **(parameters or {})}
    with _Watch(timeout) as watch:
        try:
            execute(source, executed, params, timeout)
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
    result.timing = read_timing(out)
    return result


def read_timing(out_dir: Path) -> dict[str, Any] | None:
    """The clocks a notebook wrote beside its summary (``timing.json``: write_summary keeps them
    out of summary.json so that it is the same at every run of a commit); None if absent/bad."""
    path = Path(out_dir) / "timing.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    timing = data.get("timing") if isinstance(data, dict) else None
    return timing if isinstance(timing, dict) else None


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


__all__ = ["KERNEL_NAME", "TIME_LIMITS", "NotebookResult", "cli_run", "execute",
           "kernel_config", "kernel_env", "run_notebooks", "run_one"]
