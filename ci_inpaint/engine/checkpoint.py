"""The run directory on disk: checkpoints, the run's files, and what a resume may change.

Checkpoints are written atomically (temp file + fsync + rename, :func:`ci_inpaint.fileio.atomic_save`)
to ``checkpoints/last.pt`` and, when a ``best_metric`` is set, ``checkpoints/best.pt``; they
keep every rank's RNG state, so ``resume=True`` continues bit-exactly on CPU.
:func:`read_checkpoint` is the one reader of checkpoints: the engine's resume and
:func:`ci_inpaint.experiments.load_run` both use it.

A resume is refused when the config changed in a field that may not change
(:data:`RESUMABLE_CHANGES`, learning rates excepted), when a file the config names changed
(``sources.json``) or when a frozen module differs from the one the run was trained with.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from ..config import TrainConfig, resumable_fields
from ..errors import CheckpointError
from ..fileio import atomic_save, atomic_write_text, remove_stale_temps, storage_errors

CKPT_FORMAT = 1
# config keys that may change between a run and its resume (everything else must match)
# (learning rates -- keys lr, lr_*, *_lr -- may change too: the advice after a NaN/Inf)
# (the fields marked knob(resumable=True) in config.py)
RESUMABLE_CHANGES = set(resumable_fields(TrainConfig))
RUN_FILES = {"config.yaml", "env.json", "metrics.jsonl", "tb", "checkpoints", "result.json",
             "resumes.jsonl", "sources.json"}  # what a run directory holds; anything else means "not ours"


def is_lr_key(k: str) -> bool:
    return k == "lr" or k.startswith("lr_") or k.endswith("_lr")


def read_sources(run_dir: str | Path) -> dict[str, str]:
    """The ``sources.json`` of a run directory (see :meth:`Method.sources`); {} when absent."""
    try:
        return json.loads((Path(run_dir) / "sources.json").read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {"?": "unreadable sources.json"}  # never equal to a real digest: not reused


def read_checkpoint(path: str | Path, method: str | None = None,
                    run_dir: str | Path | None = None) -> dict[str, Any]:
    """A checkpoint's contents, read to the CPU (RNG states must stay CPU byte tensors;
    ``load_state_dict`` moves the rest), checked to be a ci_inpaint checkpoint (and of
    ``method``, when given); every failure is a :class:`CheckpointError` naming the fix. The one
    reader of checkpoints: the engine's resume and :func:`ci_inpaint.experiments.load_run`."""
    path = Path(path)
    try:
        st = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or unreadable ({type(e).__name__}): delete it to "
            "resume from an earlier copy, or start over with --overwrite"
        ) from None
    if not isinstance(st, dict) or st.get("format") != CKPT_FORMAT:
        raise CheckpointError(f"{path} is not a ci_inpaint checkpoint (format {CKPT_FORMAT}): "
                              "point --out at a run directory made by `ci-inpaint train`")
    if method is not None and st.get("method") != method:
        raise CheckpointError(
            f"{run_dir or path.parent.parent} holds a {st.get('method')!r} run, not {method!r}: "
            "resume it with the method it was started with, or pick another --out")
    return st


def write_checkpoint(state: dict[str, Any], path: Path) -> None:
    """``state`` (with ``format: CKPT_FORMAT``) to ``path``: a kill leaves the old file or the new."""
    atomic_save(state, path)


# ----------------------------------------------------------------------------- start or resume
def prepare_run_dir(d: Path, resume: bool, overwrite: bool, is_main: bool,
                    barrier: Callable[[], None]) -> bool:
    """Decide start vs resume; returns whether a checkpoint will be loaded.

    A directory without ``checkpoints/last.pt`` is not a run yet (e.g. one that failed
    before its first checkpoint): it starts, with or without --resume. Nothing is written
    here except removing what a new start replaces; config.yaml is written only once the
    run (or the resume) has been accepted.
    """
    ckpt_dir = d / "checkpoints"
    last = ckpt_dir / "last.pt"
    with storage_errors(d):
        if is_main:
            remove_stale_temps(ckpt_dir)  # left by writes that a kill interrupted
        has_ckpt = last.is_file()
        if overwrite:
            if is_main and d.exists():
                shutil.rmtree(d)
        elif has_ckpt and not resume:
            raise CheckpointError(
                f"run directory {d} already holds a run (checkpoints/last.pt): pass --resume "
                "to continue it or --overwrite to start over (this deletes it)")
        elif not has_ckpt:
            foreign = sorted(p.name for p in d.iterdir() if p.name not in RUN_FILES) \
                if d.is_dir() else []
            if d.exists() and not d.is_dir() or foreign:
                raise CheckpointError(
                    f"run directory {d} is not empty ({', '.join(foreign[:3]) or 'a file'}) and "
                    "holds no run: pass --overwrite to start over there (this deletes it), "
                    "or pick another --out")
            if resume and is_main:
                print(f"ci-inpaint: nothing to resume in {d} (no checkpoints/last.pt yet): "
                      "starting the run from step 0", file=sys.stderr)
            if is_main:  # logs of an attempt that never reached a checkpoint
                for name in ("metrics.jsonl", "result.json", "resumes.jsonl"):
                    with contextlib.suppress(FileNotFoundError):
                        (d / name).unlink()
                if (d / "tb").is_dir():
                    shutil.rmtree(d / "tb")
            resume = False
        barrier()
        if is_main:
            d.mkdir(parents=True, exist_ok=True)
            probe = d / ".write-test.tmp"
            probe.write_bytes(b"")
            probe.unlink()
    barrier()
    return resume and has_ckpt


def check_sources(run_dir: Path, sources: dict[str, str], cfg: TrainConfig) -> None:
    """Refuse to resume on top of another stage-1 checkpoint (or other named file)."""
    saved = read_sources(run_dir)
    bad = sorted(k for k in {*saved, *sources} if saved.get(k) != sources.get(k))
    if bad:
        names = ", ".join(f"{k}={getattr(cfg, k, '?')!r}" for k in bad)
        raise CheckpointError(
            f"{names}: the file changed since {run_dir} started (another digest than "
            "its sources.json): restore that file, or start over with --overwrite")


def check_compatible(saved: dict[str, Any], now: dict[str, Any], run_dir: Path,
                     is_main: bool) -> dict[str, tuple[Any, Any]]:
    """Refuse a resume whose config changed a field that may not change; returns the
    changes to record in resumes.jsonl ``{key: (saved, now)}``. ``saved`` holds the
    checkpoint's config and its ``_step``."""
    changed = {k: (v, now[k]) for k, v in saved.items() if k in now
               and now[k] != v and not (isinstance(v, list) and tuple(v) == now[k])}
    refused = [k for k in changed if k not in RESUMABLE_CHANGES and not is_lr_key(k)]
    if refused:
        parts = ", ".join(f"{k}: {changed[k][0]!r} -> {changed[k][1]!r}" for k in refused)
        raise CheckpointError(
            f"cannot resume {run_dir} with a different config ({parts}): use the "
            "original settings (only steps, the logging/checkpoint intervals, device, "
            "threads, amp, grad_clip and learning rates may change), or --overwrite")
    resumed = {k: v for k, v in changed.items()
               if k not in ("steps", "progress", "device", "num_workers")}
    if resumed and is_main:
        parts = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in resumed.items())
        print(f"ci-inpaint: resuming {run_dir} at step {saved.get('_step')} with {parts} "
              "(recorded in resumes.jsonl)", file=sys.stderr)
    return resumed


def check_world(st: dict[str, Any], path: Path, world: int, batch_size: int) -> None:
    """Refuse a checkpoint written by another number of processes (another global batch)."""
    saved = int(st.get("world", len(st.get("rng", [None]))))
    if saved != world:
        raise CheckpointError(
            f"{path} was written by {saved} process(es) (global batch "
            f"{saved * batch_size}); this run has {world} (global batch "
            f"{world * batch_size}): resume with torchrun --nproc_per_node="
            f"{saved}{' (or without torchrun)' if saved == 1 else ''}, or --overwrite")


def load_states(st: dict[str, Any], path: Path, method: str, nets: dict[str, nn.Module],
                opts: dict[str, torch.optim.Optimizer], scalers: dict[str, Any],
                ema: dict[str, nn.Module]) -> None:
    """Modules, optimisers, GradScalers and EMA copies from checkpoint ``st`` (read from
    ``path``); a mismatch is a CheckpointError naming the fix."""
    try:
        for k, m in nets.items():
            m.load_state_dict(st["modules"][k])
        for k, o in opts.items():
            o.load_state_dict(st["optimizers"][k])
        for k, s in scalers.items():
            if st["scalers"].get(k) and s.is_enabled():  # empty when saved without fp16
                s.load_state_dict(st["scalers"][k])
        for k, m in ema.items():
            m.load_state_dict(st["ema"][k])
    except (KeyError, RuntimeError, ValueError) as e:
        msg = str(e).splitlines()[0][:200]
        raise CheckpointError(
            f"checkpoint {path} does not fit this {method} model ({msg}): it was "
            "made with other settings; resume with those, or --overwrite"
        ) from None


def frozen_fingerprints(frozen: dict[str, nn.Module], nets: dict[str, nn.Module]) -> dict[str, str]:
    """A digest of each frozen module's state that is not checkpointed with ``nets``."""
    saved = {id(m) for m in nets.values()}
    out = {}
    for k, m in frozen.items():
        if id(m) in saved:
            continue
        h = hashlib.sha1()
        for name, t in m.state_dict().items():
            h.update(name.encode())
            # reshape(-1): a 0-dim buffer (BatchNorm's num_batches_tracked) cannot be viewed
            h.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
        out[k] = h.hexdigest()[:16]
    return out


def check_frozen(saved: dict[str, str], now: dict[str, str], path: Path) -> None:
    """Refuse a resume whose frozen modules differ from the ones the checkpoint was made with."""
    bad = [k for k in saved if now.get(k) != saved[k]]
    if bad:
        raise CheckpointError(
            f"frozen module(s) {', '.join(bad)} differ from the ones {path} was trained with "
            "(another pretrained file or cache?): restore those files, or --overwrite")


# ----------------------------------------------------------------------------- the run's files
def write_run_files(run_dir: Path, config: dict[str, Any], sources: dict[str, str],
                    env: dict[str, Any], step: int,
                    resumed_changes: dict[str, tuple[Any, Any]]) -> None:
    """config.yaml (``config``: the method and the resolved config), sources.json, env.json,
    and a resumes.jsonl line when a resume changed settings."""
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    src = run_dir / "sources.json"
    if sources:
        atomic_write_text(src, json.dumps(sources, indent=2, sort_keys=True))
    else:
        with contextlib.suppress(FileNotFoundError):
            src.unlink()
    atomic_write_text(run_dir / "env.json", json.dumps(env, indent=2))
    if resumed_changes:
        row = {"step": step, "changed": {k: list(v) for k, v in resumed_changes.items()}}
        with storage_errors(run_dir), (run_dir / "resumes.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


__all__ = ["CKPT_FORMAT", "RESUMABLE_CHANGES", "RUN_FILES", "atomic_save", "check_compatible",
           "check_frozen", "check_sources", "check_world", "frozen_fingerprints", "is_lr_key",
           "load_states", "prepare_run_dir", "read_checkpoint", "read_sources", "write_checkpoint",
           "write_run_files"]
