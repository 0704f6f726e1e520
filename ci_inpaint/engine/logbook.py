"""The run's logbook: the NaN/Inf flag, the buffered per-step losses, metrics.jsonl, TensorBoard.

A NaN/Inf loss stops the run with an error naming the first bad step and loss term, before any
checkpoint of the bad state is written: the check is a flag kept on the device
(:meth:`Logbook.watch`, pure device arithmetic) and read, with the buffered per-step losses,
every ``log_every`` steps and before every checkpoint (:meth:`Logbook.flush`, the loop's one
host sync), so a GPU queue is never drained per step. Under torchrun the flag is the minimum
over ranks, so every rank stops at the same check.

Every step's raw losses go to ``metrics.jsonl``; means over each ``log_every`` window (and the
evaluations) go to ``history`` and TensorBoard (if installed). A resumed run first trims
``metrics.jsonl`` back to its checkpoint's step, so its log equals an uninterrupted run's.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import CheckpointError, NonFiniteLossError
from ..fileio import atomic_write_text, storage_errors
from .distributed import all_min

NO_BAD = 1 << 62  # "no non-finite value yet" in the device-side flag
TERMS = 1 << 16  # the flag encodes step * TERMS + term index


def nonfinite_message(step: int, opt: str | None, term: str, last: Path,
                      last_step: int | None) -> str:
    """The error for a NaN/Inf ``term`` at ``step``: the fix, and where to resume from (``last``,
    the checkpoint written at ``last_step``; None when this run wrote none)."""
    where = f"loss term {term!r}" + (f" of optimiser {opt!r}" if opt else "")
    fix = "lower the learning rate (--set lr=...), or set amp=off or grad_clip=1"
    if last_step is not None and last.is_file():
        return (f"step {step}: {where} became NaN/Inf; the last good checkpoint is {last} "
                f"(step {last_step}): {fix}, then run again with --resume "
                "(learning rates, amp and grad_clip may change on resume)")
    return (f"step {step}: {where} became NaN/Inf before the first checkpoint (none was "
            f"written): {fix}, then run the same command again (it starts over)")


class Logbook:
    """What the loop logs into ``run_dir``; only the main process writes files."""

    def __init__(self, run_dir: Path, device: torch.device, world: int = 1, is_main: bool = True):
        self.path = run_dir / "metrics.jsonl"
        self.tb_dir = run_dir / "tb"
        self.world, self.is_main = world, is_main
        self.history: list[dict[str, float]] = []  # summary rows (window means, evaluations)
        self._tb = None
        self._jsonl = None
        self._pending: list[tuple[int, tuple[str, ...], torch.Tensor]] = []  # unsynced step rows
        self._terms: dict[tuple[str | None, str], int] = {}  # (optimiser, term) -> flag index
        self._first_bad = torch.full((), NO_BAD, dtype=torch.long, device=device)

    # -- the device side: no host sync ---------------------------------------------------------
    def watch(self, terms: dict[str, torch.Tensor], opt: str | None, step: int) -> None:
        """Fold "is any term non-finite" into one device scalar: the smallest
        step * TERMS + term index seen so far. Pure device arithmetic: no sync."""
        for k, v in terms.items():
            idx = self._terms.setdefault((opt, k), len(self._terms))
            bad = (~torch.isfinite(v.detach())).any().long()
            code = step * TERMS + idx
            self._first_bad = torch.minimum(self._first_bad, bad * (code - NO_BAD) + NO_BAD)

    def record(self, step: int, terms: dict[str, torch.Tensor]) -> None:
        """Buffer the losses ``train_step`` returned for ``step`` (on the device until flush)."""
        self._pending.append((step, tuple(terms), torch.stack(
            [v.detach().float().reshape(()) for v in terms.values()])))

    # -- files ---------------------------------------------------------------------------------
    def open(self, step: int) -> None:
        """Open metrics.jsonl for appending (trimmed back to ``step`` on a resume) and TensorBoard."""
        self._jsonl = None
        if not self.is_main:
            return
        log = self.path
        if step > 0 and log.exists():  # drop lines from after the checkpoint we resumed
            lines = log.read_text().splitlines()
            keep = []
            for n, ln in enumerate(lines):
                if not ln.strip():
                    continue
                try:
                    row = json.loads(ln)
                except json.JSONDecodeError:
                    if n == len(lines) - 1:  # a write torn by a kill or a full disk
                        print(f"ci-inpaint: dropped a torn last line of {log}", file=sys.stderr)
                        continue
                    raise CheckpointError(f"{log} line {n + 1} is not JSON: fix or delete that "
                                          "line, then resume") from None
                if row.get("step", 0) <= step:
                    keep.append(ln)
            atomic_write_text(log, "".join(ln + "\n" for ln in keep))
        with storage_errors(log):
            self._jsonl = log.open("a")
        with contextlib.suppress(Exception):
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.tb_dir), purge_step=step or None)

    def close(self) -> None:
        if self._jsonl is not None:
            with contextlib.suppress(OSError):
                self._jsonl.close()
        if self._tb is not None:
            self._tb.close()

    def log(self, row: dict[str, float], jsonl: bool = True, summary: bool = True) -> None:
        """``jsonl``: append to metrics.jsonl (every step's raw losses, and evaluations).
        ``summary``: append to ``history`` and TensorBoard (means over each ``log_every`` window,
        and evaluations), which keeps both small for long runs."""
        if jsonl and self._jsonl is not None:
            self._write_lines([json.dumps(row)])
        if not summary:
            return
        self.history.append(row)
        if self._tb is not None:
            for k, v in row.items():
                if k != "step":
                    self._tb.add_scalar(k, v, row["step"])

    def _write_lines(self, lines: list[str]) -> None:
        with storage_errors(self.path):
            self._jsonl.write("".join(ln + "\n" for ln in lines))
            self._jsonl.flush()

    # -- the one host sync ---------------------------------------------------------------------
    def flush(self, message: Callable[[int, str | None, str], str]) -> list[dict[str, float]]:
        """Check the non-finite flag, turn the buffered step losses into floats, append them to
        metrics.jsonl. Returns the new rows; on a NaN/Inf, writes the rows up to the bad step
        and raises :class:`NonFiniteLossError` with ``message(step, optimiser, term)``."""
        first = int(all_min(self._first_bad, self.world))  # every rank stops at the same check
        pend, self._pending = self._pending, []
        flat = torch.cat([v for _, _, v in pend]).tolist() if pend else []
        rows, i = [], 0
        for step, names, _ in pend:
            rows.append({"step": step, **dict(zip(names, flat[i : i + len(names)]))})
            i += len(names)
        if first != NO_BAD:
            bad_step, idx = divmod(first, TERMS)
            opt, term = next(key for key, j in self._terms.items() if j == idx)
            good = [r for r in rows if r["step"] <= bad_step]
            if good and self._jsonl is not None:
                self._write_lines([json.dumps(r) for r in good])
            raise NonFiniteLossError(message(bad_step, opt, term))
        if rows and self._jsonl is not None:
            self._write_lines([json.dumps(r) for r in rows])
        return rows
