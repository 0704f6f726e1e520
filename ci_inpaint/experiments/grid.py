"""The grid runner: every variant x seed, in parallel worker processes, resumable.

``run_grid(fn, variants, seeds, out)`` calls ``fn(cell)`` once per (variant, seed) and returns
one row per cell, in grid order (variants, then seeds), each ``{"variant", "seed", "run", **fn's
row}``. A cell's run directory is ``out/<variant>-s<seed>``; when ``fn`` returns, its row is
written to ``cell.json`` there together with the cell's *key* (variant, seed, profile, knobs,
options, torch threads and a digest of the package's code, :func:`code_digest`). A later call
finds that file and reuses the row without calling ``fn``: a finished cell is never recomputed,
an interrupted grid continues where it stopped. Change anything in the key and the cell is
computed again, its run retrained from scratch (``force=True`` recomputes all). The code is in
the key because a row of older code is not a result of this commit: without it, re-executing a
notebook in place reused the rows of earlier code and the committed outputs differed from a
fresh clone's (issue "Teaching scale that learns", determinism). The thread count is in the key
because CPU reductions sum in another order with another count (a difference of ~1e-4 relative
in FID, docs/benchmarks.md "Determinism"). Not in the key are the files a config names by path (:meth:`ci_inpaint.methods.Method.sources`): ``train_run``
retrains a run whose files changed, but a grid reuses a finished cell's row unless such digests
are in its options, as DAF's Table II puts its stage-1 checkpoints there.

``fn`` gets a :class:`Cell` and returns a JSON-serialisable dict; ``cell.train(method)`` trains
the cell's run through :func:`~ci_inpaint.experiments.runs.train_run` (loads it when finished).
Everything that changes a row must reach ``fn`` through ``knobs`` or ``options``, as they make
the key. With ``workers > 1`` cells run in that many spawned processes; ``fn`` must then be
importable (a module-level function or a functools.partial of one, not a notebook's own
function). Each cell trains with ``threads`` torch intra-op threads (a config knob the engine
applies while the run trains; worker processes also run their evaluation with it). A cell's
result does not depend on ``workers``: its randomness comes from its seed alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..engine import RunResult
from .runs import train_run

CELL_FILE = "cell.json"
# parts of the package that cannot change a row: the notebook toolchain, the CLI, the explorer
_NOT_CODE = ("toolchain/", "cli.py", "widgets.py", "notebooks.py", "report.py", "sweep.py",
             "bench.py")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 (16 hex digits) of the package's Python sources that can change a result: every
    ``ci_inpaint/**/*.py`` but the toolchain, the CLI and the explorer, by relative path and
    content. Part of every cell's key."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        if "__pycache__" in rel or rel.startswith(_NOT_CODE):
            continue
        h.update(rel.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    variant: str
    seed: int
    run_dir: Path
    profile: str = "quick"
    knobs: dict[str, Any] = field(default_factory=dict)  # config overrides: common + variant's
    options: dict[str, Any] = field(default_factory=dict)  # everything else fn reads
    threads: int = 1  # torch intra-op threads for this cell (0 = the process default)

    def key(self) -> dict[str, Any]:
        return json.loads(json.dumps({"variant": self.variant, "seed": self.seed,
                                      "profile": self.profile, "knobs": self.knobs,
                                      "options": self.options, "threads": self.threads,
                                      "code": code_digest()}, sort_keys=True, default=str))

    def train(self, method: str, **extra: Any) -> RunResult:
        """Train (or load, when finished) ``method`` for this cell into ``run_dir``."""
        return train_run(method, self.run_dir, self.profile, seed=self.seed,
                         threads=self.threads, **{**self.knobs, **extra})


def quiet() -> bool:
    """True under papermill, nbval and CI (``CI_INPAINT_QUIET`` or ``CI`` set): no bars."""
    return bool(os.environ.get("CI_INPAINT_QUIET") or os.environ.get("CI"))


def cells(variants: Mapping[str, Mapping[str, Any]] | Iterable[str], seeds: Iterable[int],
          out: str | Path, profile: str = "quick", knobs: Mapping[str, Any] | None = None,
          options: Mapping[str, Any] | None = None, threads: int = 1,
          variant_seeds: Mapping[str, Iterable[int]] | None = None) -> list[Cell]:
    """The grid's cells; ``variants`` maps a name to its config overrides (a plain list of
    names means no overrides). ``variant_seeds`` gives some variants their own seeds (a
    variant shown once beside the compared ones); the others run ``seeds``."""
    table = dict(variants) if isinstance(variants, Mapping) else {v: {} for v in variants}
    seeds, own = list(seeds), dict(variant_seeds or {})
    return [Cell(str(v), int(s), Path(out) / f"{v}-s{s}", profile,
                 {**(knobs or {}), **dict(over)}, dict(options or {}), threads)
            for v, over in table.items() for s in own.get(v, seeds)]


def read_cell(cell: Cell) -> dict[str, Any] | None:
    """The stored row of a finished cell with the same key, else None."""
    path = cell.run_dir / CELL_FILE
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored.get("row") if stored.get("key") == cell.key() else None


def discard_stale(cell: Cell) -> bool:
    """When ``cell.json`` holds another key (other code, knobs or threads), remove that row and
    the run it came from (result.json, checkpoints/), so the cell trains again from scratch
    instead of loading the older run. Returns whether anything was removed."""
    path = cell.run_dir / CELL_FILE
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if stored.get("key") == cell.key():
        return False
    path.unlink(missing_ok=True)
    (cell.run_dir / "result.json").unlink(missing_ok=True)
    shutil.rmtree(cell.run_dir / "checkpoints", ignore_errors=True)
    return True


def _run_cell(fn: Callable[[Cell], dict[str, Any]], cell: Cell) -> dict[str, Any]:
    import torch

    old = torch.get_num_threads()
    if cell.threads:  # evaluation too runs under the cell's count, in-process or in a worker:
        torch.set_num_threads(cell.threads)  # CPU reductions may change with the thread count
    try:
        row = {"variant": cell.variant, "seed": cell.seed, "run": cell.run_dir.name, **fn(cell)}
    finally:
        torch.set_num_threads(old)
    cell.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = cell.run_dir / (CELL_FILE + ".tmp")
    tmp.write_text(json.dumps({"key": cell.key(), "row": row, "threads": cell.threads,
                               "torch": torch.__version__}, indent=2, default=str))
    tmp.replace(cell.run_dir / CELL_FILE)  # atomic: a killed write leaves no half row
    return row


def _worker(fn: Callable[[Cell], dict[str, Any]], cell: Cell) -> dict[str, Any]:
    if cell.threads:  # this process is the cell's own: its evaluation uses the same count
        import torch

        torch.set_num_threads(cell.threads)
    return _run_cell(fn, cell)


def _prepare(prepare: Callable[[], Any], threads: int) -> None:
    """``prepare`` in a worker, under the cells' thread count (its result is its cached files)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    prepare()


def run_grid(fn: Callable[[Cell], dict[str, Any]],
             variants: Mapping[str, Mapping[str, Any]] | Iterable[str], seeds: Iterable[int],
             out: str | Path, *, profile: str = "quick", knobs: Mapping[str, Any] | None = None,
             options: Mapping[str, Any] | None = None, workers: int = 1, threads: int = 1,
             force: bool = False, desc: str = "grid",
             variant_seeds: Mapping[str, Iterable[int]] | None = None,
             cost: Mapping[str, float] | None = None,
             prepare: Callable[[], Any] | None = None) -> list[dict[str, Any]]:
    """Rows of ``fn`` over variants x seeds (see the module docstring).

    ``variant_seeds``: per-variant seeds (:func:`cells`). ``cost``: a variant's relative
    training time; cells to compute start most costly first, so two workers finish together
    instead of one idling while the other trains the last long run (the rows do not depend on
    the order). ``prepare``: a picklable callable run once before the cells need it, when any
    cell is to be computed; with workers it runs in the pool beside the first cells (a frozen
    judge their scoring loads: it trains while they train, and a cell that needs it first
    waits for it, :func:`ci_inpaint.metrics.classifier.train_factor_classifier`)."""
    from tqdm.auto import tqdm

    grid = cells(variants, seeds, out, profile, knobs, options, threads, variant_seeds)
    rows: dict[int, dict[str, Any]] = {}
    if not force:
        rows = {i: r for i, c in enumerate(grid) if (r := read_cell(c)) is not None}
    todo = [i for i in range(len(grid)) if i not in rows]
    for i in todo:
        discard_stale(grid[i])
    if cost:  # stable: equal costs keep grid order
        todo.sort(key=lambda i: -float(cost.get(grid[i].variant, 1.0)))
    bar = tqdm(total=len(grid), initial=len(rows), desc=desc, unit="run", disable=quiet())
    try:
        if workers > 1 and len(todo) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(min(workers, len(todo)),
                                     mp_context=mp.get_context("spawn")) as pool:
                futs = {pool.submit(_worker, fn, grid[i]): i for i in todo[:1]}
                ready = pool.submit(_prepare, prepare, threads) if prepare else None
                futs.update({pool.submit(_worker, fn, grid[i]): i for i in todo[1:]})
                for f in as_completed(futs):
                    rows[futs[f]] = f.result()
                    bar.update(1)
                if ready is not None:
                    ready.result()  # its errors are the grid's
        else:
            if prepare and todo:
                prepare()
            for i in todo:
                rows[i] = _run_cell(fn, grid[i])
                bar.update(1)
    finally:
        bar.close()
    return [rows[i] for i in range(len(grid))]


__all__ = ["CELL_FILE", "Cell", "cells", "code_digest", "discard_stale", "quiet", "read_cell",
           "run_grid"]
