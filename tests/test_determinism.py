"""Determinism (issue "Teaching scale that learns", item 4): the same commit, profile and seeds
give the same numbers whatever the worker count and the order in which parallel cells finish,
and a smoke notebook run twice writes the same summary.json, byte for byte."""

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ci_inpaint.experiments import grid
from ci_inpaint.experiments.grid import Cell, code_digest, discard_stale, run_grid

ROOT = Path(__file__).resolve().parents[1]


def _noisy_cell(cell: Cell) -> dict:
    """A cell whose result comes from its seed alone; the first cells sleep longest, so with two
    workers they finish last."""
    import torch

    time.sleep(0.3 * (3 - cell.seed) if cell.options.get("sleep") else 0)
    g = torch.Generator().manual_seed(cell.seed * 101 + len(cell.variant))
    x = torch.randn(64, 64, generator=g)
    return {"value": float((x @ x.T).sum()), "threads": torch.get_num_threads()}


def _touch(path: Path) -> None:
    import torch

    path.write_text(str(torch.get_num_threads()))


def test_rows_do_not_depend_on_workers_or_finish_order(tmp_path):
    one = run_grid(_noisy_cell, ["a", "bb"], [0, 1, 2], tmp_path / "w1", workers=1)
    two = run_grid(_noisy_cell, ["a", "bb"], [0, 1, 2], tmp_path / "w2", workers=2,
                   options={"sleep": True})
    strip = [{k: v for k, v in r.items() if k != "run"} for r in one]
    assert strip == [{k: v for k, v in r.items() if k != "run"} for r in two]
    mark = tmp_path / "prepared"
    three = run_grid(_noisy_cell, ["a", "bb"], [0, 1, 2], tmp_path / "w3", workers=2,
                     cost={"bb": 2.0}, prepare=functools.partial(_touch, mark))
    assert strip == [{k: v for k, v in r.items() if k != "run"} for r in three]
    assert mark.read_text() == "1"  # run once, in a worker, under the cells' thread count
    assert [(r["variant"], r["seed"]) for r in two] == [(v, s) for v in ("a", "bb")
                                                         for s in (0, 1, 2)]  # grid order


def test_threads_and_code_are_in_the_key(tmp_path, monkeypatch):
    c1 = Cell("a", 0, tmp_path / "a-s0", threads=1)
    c2 = Cell("a", 0, tmp_path / "a-s0", threads=2)
    assert c1.key() != c2.key() and c1.key()["code"] == code_digest()
    run_grid(_noisy_cell, ["a"], [0], tmp_path, threads=1)
    run_dir = tmp_path / "a-s0"
    (run_dir / "checkpoints").mkdir()
    (run_dir / "result.json").write_text("{}")
    assert not discard_stale(c1)  # same key: the row and its run are kept
    grid.code_digest.cache_clear()
    monkeypatch.setattr(grid, "code_digest", lambda: "other-code")
    assert discard_stale(c1)  # a row of other code: it and its run go
    assert not (run_dir / "result.json").exists() and not (run_dir / "checkpoints").exists()
    assert not (run_dir / grid.CELL_FILE).exists()


def _run_notebook(out: Path) -> dict:
    env = {**os.environ, "CI_INPAINT_QUIET": "1"}
    r = subprocess.run([sys.executable, "-m", "ci_inpaint.notebooks", "run", "05_monce",
                        "--profile", "smoke", "--out", str(out)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return (out / "05_monce" / "summary.json").read_text()


@pytest.mark.skipif(not (ROOT / "notebooks" / "05_monce.ipynb").is_file(), reason="no notebook")
def test_smoke_notebook_twice_gives_the_same_summary(tmp_path):
    a, b = _run_notebook(tmp_path / "one"), _run_notebook(tmp_path / "two")
    assert json.loads(a)["claims"], "the notebook recorded no claims"
    assert a == b  # the whole file: metrics, notes, paper values and claims


def test_write_summary_keeps_the_clock_out_of_summary_json(tmp_path):
    from ci_inpaint.notebooks import TIMING_FILE, is_timing, write_summary

    assert is_timing("wall_s") and is_timing("patchnce_step_ms") and not is_timing("lpips")
    write_summary(tmp_path, "05_monce", {"fid": 3.5, "wall_s": 12.0, "x_step_ms": 40.1},
                  notes={"fid": "n = 64", "x_step_ms": "ms / step"}, profile="smoke")
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["metrics"] == {"fid": 3.5} and s["notes"] == {"fid": "n = 64"}
    t = json.loads((tmp_path / TIMING_FILE).read_text())
    assert t["timing"] == {"wall_s": 12.0, "x_step_ms": 40.1}
    assert t["notes"] == {"x_step_ms": "ms / step"}
