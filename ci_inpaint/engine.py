"""The one training loop that serves all five methods.

What it does once, for every method (a method only writes ``train_step``):

* picks the device (cuda > mps > cpu), bf16/fp16 autocast and channels_last on CUDA;
* seeds python/numpy/torch so that the same seed gives identical losses on CPU;
* feeds batches from a *resumable* sampler: the order of samples is a pure function of
  (seed, epoch), so a resumed run sees exactly the batches an uninterrupted run would;
* steps any number of optimisers (``ctx.optimize("D", ...)``, ``ctx.optimize("G", ...)``), with a
  GradScaler per optimiser for fp16, optional gradient clipping, and an EMA copy of chosen modules;
* logs every ``log_every`` steps to ``metrics.jsonl`` (and TensorBoard if installed), with a
  tqdm progress bar that stays quiet when not interactive;
* checkpoints atomically (temp file + fsync + rename) to ``checkpoints/last.pt`` and, when a
  ``best_metric`` is set, ``checkpoints/best.pt``; ``resume=True`` continues bit-exactly on CPU;
* stops on a NaN/Inf loss with an error naming the first bad step and loss term, before any
  checkpoint of the bad state is written: the check is a flag kept on the device and read (with
  the buffered per-step losses) every ``log_every`` steps and before every checkpoint, so a GPU
  queue is never drained per step;
* keeps a method's frozen modules (pretrained nets) in eval mode, restores every module's own
  mode after evaluation, and applies ``threads`` only while the run trains;
* under ``torchrun``: one process per device, gloo on CPU / nccl on GPU, gradients averaged
  across processes after every backward (a parameter no rank has a gradient for is left
  untouched, as DDP does), BatchNorm buffers broadcast from rank 0 after each step (or
  SyncBatchNorm), data sharded by rank, only rank 0 writes.

Why gradients are averaged explicitly rather than by wrapping modules in
``torch.nn.parallel.DistributedDataParallel``: GAN steps forward the same network several times
per backward (D on real and fake, D inside the G step) and step only some of the networks each
time, which DDP's reducer does not allow without ``static_graph``/``find_unused_parameters``
workarounds that differ per method. An all-reduce of each optimiser's gradients (flattened into
one buffer) is exactly DDP's arithmetic (mean over ranks) and works for every method unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import platform
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn

from . import __version__
from .config import TrainConfig, resolve_config, resumable_fields
from .data.epochs import EpochKey, is_epoch_aware
from .errors import CheckpointError, ConfigError, NonFiniteLossError
from .fileio import atomic_save, atomic_write_text, remove_stale_temps, storage_errors
from .methods import Method, get_method

CKPT_FORMAT = 1
# config keys that may change between a run and its resume (everything else must match)
# (learning rates -- keys lr, lr_*, *_lr -- may change too: the advice after a NaN/Inf)
# (the fields marked knob(resumable=True) in config.py)
RESUMABLE_CHANGES = set(resumable_fields(TrainConfig))


# ----------------------------------------------------------------------------- small utilities
def select_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but CUDA is not available: use device=auto or cpu")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' asked for but MPS is not available: use device=auto or cpu")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank % torch.cuda.device_count())
    return dev


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """None = no autocast. 'auto' means bf16 (or fp16) on CUDA and full precision elsewhere."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    st = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def to_device(batch: Any, device: torch.device, channels_last: bool) -> Any:
    if isinstance(batch, torch.Tensor):
        t = batch.to(device, non_blocking=True)
        if channels_last and t.dim() == 4 and t.is_floating_point():
            t = t.contiguous(memory_format=torch.channels_last)
        return t
    if isinstance(batch, dict):
        return {k: to_device(v, device, channels_last) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, channels_last) for v in batch)
    return batch


def environment_info(device: torch.device) -> dict[str, Any]:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ci_inpaint": __version__,
        "platform": platform.platform(),
        "device": str(device),
        "cuda": torch.version.cuda,
        "world_size": dist.get_world_size() if dist.is_initialized() else 1,
    }
    with contextlib.suppress(Exception):
        import torchvision

        info["torchvision"] = torchvision.__version__
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
    with contextlib.suppress(Exception):
        import subprocess

        root = Path(__file__).resolve().parents[1]
        info["git_commit"] = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip() or None
    return info


def progress_enabled(setting: str) -> bool:
    """auto: a bar in a terminal or an interactive Jupyter kernel; none under CI or papermill
    (``ci-inpaint notebooks run`` sets CI_INPAINT_QUIET=1 for its kernels)."""
    if setting != "auto":
        return setting == "on"
    if os.environ.get("CI_INPAINT_QUIET") or os.environ.get("CI"):
        return False
    return sys.stderr.isatty() or "ipykernel" in sys.modules


class ResumableBatches:
    """Infinite batches of indices; batch ``s`` depends only on (seed, s) -- not on history.

    Each epoch is a fresh permutation drawn from ``seed + epoch``; under torchrun each rank takes
    its stride of it. Incomplete batches are dropped (fixed batch shape for every step).
    """

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0,
                 rank: int = 0, world: int = 1, epoch_keys: bool = False):
        self.n, self.bs, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch_keys = epoch_keys  # yield EpochKey(epoch, i) for epoch-aware datasets
        self.per_epoch = (n // world) // batch_size
        if self.per_epoch < 1:
            raise ConfigError(
                f"the dataset has {n} items, fewer than batch_size={batch_size} x processes={world}: "
                "lower batch_size (--set batch_size=N) or use more data"
            )
        self.start = start_step

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start
        while True:
            epoch, pos = divmod(step, self.per_epoch)
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.n, generator=g)[self.rank :: self.world]
            for b in range(pos, self.per_epoch):
                idx = perm[b * self.bs : (b + 1) * self.bs].tolist()
                yield [EpochKey(epoch, i) for i in idx] if self.epoch_keys else idx
                step += 1


# ----------------------------------------------------------------------------- results
@dataclass
class RunResult:
    run_dir: Path
    method: Method
    cfg: TrainConfig
    history: list[dict[str, float]] = field(default_factory=list)  # logged lines of this process
    metrics: dict[str, float] = field(default_factory=dict)  # last evaluate()
    steps_done: int = 0
    wall_s: float = 0.0


# ----------------------------------------------------------------------------- the engine
RUN_FILES = {"config.yaml", "env.json", "metrics.jsonl", "tb", "checkpoints", "result.json",
             "resumes.jsonl", "sources.json"}  # what a run directory holds; anything else means "not ours"
_NO_BAD = 1 << 62  # "no non-finite value yet" in the device-side flag
_TERMS = 1 << 16  # the flag encodes step * _TERMS + term index


def read_sources(run_dir: str | Path) -> dict[str, str]:
    """The ``sources.json`` of a run directory (see :meth:`Method.sources`); {} when absent."""
    try:
        return json.loads((Path(run_dir) / "sources.json").read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {"?": "unreadable sources.json"}  # never equal to a real digest: not reused


def _is_lr_key(k: str) -> bool:
    return k == "lr" or k.startswith("lr_") or k.endswith("_lr")


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


class Engine:
    """Runs ``method_cls`` under ``cfg`` into ``run_dir``. Passed to ``train_step`` as ``ctx``
    (it implements :class:`ci_inpaint.context.StepContext`)."""

    def __init__(self, method_cls: type[Method], cfg: TrainConfig, run_dir: str | Path,
                 resume: bool = False, overwrite: bool = False):
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite contradict each other: pass only one")
        method_cls.validate(cfg)
        self.method_cls, self.cfg = method_cls, cfg
        self.sources = method_cls.sources(cfg)  # digests of the files cfg names by path
        self.run_dir = Path(run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self._init_distributed()
        self.device = select_device(cfg.device, self.local_rank)
        self.dtype = amp_dtype(cfg.amp, self.device)
        self.channels_last = cfg.channels_last and self.device.type == "cuda"
        if cfg.sync_batchnorm and self.world > 1 and self.device.type not in ("cuda", "xpu"):
            raise ConfigError(  # torch's SyncBatchNorm refuses CPU tensors at the first forward
                f"sync_batchnorm=true needs GPUs (torch's SyncBatchNorm has no {self.device.type} "
                "kernel): drop it on CPU, where BatchNorm buffers are broadcast from rank 0")
        resume = self._prepare_run_dir(resume, overwrite)

        with self._threads():
            seed_everything(cfg.seed)  # identical initial weights on every rank
            self.method = method_cls(cfg, self.device)
        self.nets = self.method.modules()
        self.opts = self.method.optimizers()
        self.frozen = self._freeze(self.method.frozen_modules())
        if cfg.sync_batchnorm and self.world > 1:
            for m in self.nets.values():  # children swapped in place; Parameters are kept
                torch.nn.SyncBatchNorm.convert_sync_batchnorm(m)
        if self.channels_last:
            for m in [*self.nets.values(), *self.frozen.values()]:
                m.to(memory_format=torch.channels_last)
        if self.world > 1:
            for m in self.nets.values():
                for t in list(m.parameters()) + list(m.buffers()):
                    dist.broadcast(t.data, src=0)
        self.scalers = {k: torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
                        for k in self.opts}
        self.ema = {k: copy.deepcopy(self.nets[k]).eval().requires_grad_(False)
                    for k in (method_cls.ema_modules if cfg.ema_decay > 0 else ())}
        seed_everything(cfg.seed + 7919 * self.rank)  # per-rank noise from here on

        self.step = 0  # index of the step being run (== steps done before it)
        self.epoch = 0  # epoch of the current batch
        self.best: float | None = None
        self.history: list[dict[str, float]] = []
        self.metrics: dict[str, float] = {}
        self._tb = None
        self._jsonl = None
        self._pending: list[tuple[int, tuple[str, ...], torch.Tensor]] = []  # unsynced step rows
        self._terms: dict[tuple[str | None, str], int] = {}  # (optimiser, term) -> flag index
        self._first_bad = torch.full((), _NO_BAD, dtype=torch.long, device=self.device)
        self._last_ckpt_step: int | None = None
        self._resumed_changes: dict[str, tuple[Any, Any]] = {}
        if resume:
            self._check_sources()
            self._load(self.ckpt_dir / "last.pt")
        self._write_run_files()

    # -- setup ------------------------------------------------------------------------------
    def _init_distributed(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self._own_pg = self.world > 1 and not dist.is_initialized()
        if self._own_pg:
            backend = "nccl" if torch.cuda.is_available() and self.cfg.device != "cpu" else "gloo"
            if backend == "nccl":
                torch.cuda.set_device(self.local_rank % torch.cuda.device_count())
            dist.init_process_group(backend)
        self.is_main = self.rank == 0

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        """cfg.threads torch intra-op threads for this run only (0 = leave the process's)."""
        n, old = self.cfg.threads, torch.get_num_threads()
        if n:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if n:
                torch.set_num_threads(old)

    def _prepare_run_dir(self, resume: bool, overwrite: bool) -> bool:
        """Decide start vs resume; returns whether a checkpoint will be loaded.

        A directory without ``checkpoints/last.pt`` is not a run yet (e.g. one that failed
        before its first checkpoint): it starts, with or without --resume. Nothing is written
        here except removing what a new start replaces; config.yaml is written only once the
        run (or the resume) has been accepted.
        """
        d, last = self.run_dir, self.ckpt_dir / "last.pt"
        with storage_errors(d):
            if self.is_main:
                remove_stale_temps(self.ckpt_dir)  # left by writes that a kill interrupted
            has_ckpt = last.is_file()
            if overwrite:
                if self.is_main and d.exists():
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
                if resume and self.is_main:
                    print(f"ci-inpaint: nothing to resume in {d} (no checkpoints/last.pt yet): "
                          "starting the run from step 0", file=sys.stderr)
                if self.is_main:  # logs of an attempt that never reached a checkpoint
                    for name in ("metrics.jsonl", "result.json", "resumes.jsonl"):
                        with contextlib.suppress(FileNotFoundError):
                            (d / name).unlink()
                    if (d / "tb").is_dir():
                        shutil.rmtree(d / "tb")
                resume = False
            self._barrier()
            if self.is_main:
                d.mkdir(parents=True, exist_ok=True)
                probe = d / ".write-test.tmp"
                probe.write_bytes(b"")
                probe.unlink()
        self._barrier()
        return resume and has_ckpt

    def _check_sources(self) -> None:
        """Refuse to resume on top of another stage-1 checkpoint (or other named file)."""
        saved = read_sources(self.run_dir)
        bad = sorted(k for k in {*saved, *self.sources} if saved.get(k) != self.sources.get(k))
        if bad:
            names = ", ".join(f"{k}={getattr(self.cfg, k, '?')!r}" for k in bad)
            raise CheckpointError(
                f"{names}: the file changed since {self.run_dir} started (another digest than "
                "its sources.json): restore that file, or start over with --overwrite")

    def _write_run_files(self) -> None:
        if self.is_main:
            cfg = {"method": self.method_cls.name, **self.cfg.to_dict()}
            atomic_write_text(self.run_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
            src = self.run_dir / "sources.json"
            if self.sources:
                atomic_write_text(src, json.dumps(self.sources, indent=2, sort_keys=True))
            else:
                with contextlib.suppress(FileNotFoundError):
                    src.unlink()
            atomic_write_text(self.run_dir / "env.json",
                              json.dumps(environment_info(self.device), indent=2))
            if self._resumed_changes:
                row = {"step": self.step, "changed": {k: list(v) for k, v in
                                                      self._resumed_changes.items()}}
                with storage_errors(self.run_dir), (self.run_dir / "resumes.jsonl").open("a") as f:
                    f.write(json.dumps(row) + "\n")
        self._barrier()

    def _freeze(self, frozen: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """Frozen modules: eval mode, no grad, in no optimiser. Those not among modules() are
        not checkpointed (the method re-creates them, e.g. from a weights file); a fingerprint
        in the checkpoint makes a resume refuse a different one."""
        trained = {id(p) for o in self.opts.values() for g in o.param_groups for p in g["params"]}
        for k, m in frozen.items():
            if any(id(p) in trained for p in m.parameters()):
                raise ValueError(f"{self.method_cls.name}: frozen module {k!r} has parameters in an "
                                 "optimiser; remove them from optimizers() or from frozen_modules()")
            m.eval().requires_grad_(False)
        return dict(frozen)

    def _frozen_fingerprints(self) -> dict[str, str]:
        import hashlib

        saved = {id(m) for m in self.nets.values()}
        out = {}
        for k, m in self.frozen.items():
            if id(m) in saved:
                continue
            h = hashlib.sha1()
            for name, t in m.state_dict().items():
                h.update(name.encode())
                # reshape(-1): a 0-dim buffer (BatchNorm's num_batches_tracked) cannot be viewed
                h.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
            out[k] = h.hexdigest()[:16]
        return out

    def _barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    # -- what train_step uses ----------------------------------------------------------------
    def autocast(self):
        """Context for forward passes: autocast in bf16/fp16 on CUDA, a no-op otherwise."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def optimize(self, name: str, loss: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """zero_grad -> backward -> (all-reduce) -> (clip) -> step for optimiser ``name``.

        ``loss`` may be a dict of already-weighted terms; they are summed. A NaN/Inf term is
        recorded on the device (no host sync) and reported by name at the next check (every
        ``log_every`` steps and before every checkpoint), so no bad state is ever saved.
        """
        terms = loss if isinstance(loss, dict) else {name: loss}
        total = sum(terms.values())
        self._watch(terms, name)
        opt, scaler = self.opts[name], self.scalers[name]
        opt.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        params = [p for g in opt.param_groups for p in g["params"]]
        if self.world > 1:
            self._allreduce_grads(params)
        if self.cfg.grad_clip > 0:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        return total.detach()

    def _watch(self, terms: dict[str, torch.Tensor], opt: str | None) -> None:
        """Fold "is any term non-finite" into one device scalar: the smallest
        step * _TERMS + term index seen so far. Pure device arithmetic: no sync."""
        for k, v in terms.items():
            idx = self._terms.setdefault((opt, k), len(self._terms))
            bad = (~torch.isfinite(v.detach())).any().long()
            code = self.step * _TERMS + idx
            self._first_bad = torch.minimum(self._first_bad, bad * (code - _NO_BAD) + _NO_BAD)

    def _allreduce_grads(self, params: list[torch.Tensor]) -> None:
        """DDP's arithmetic: the mean of every rank's gradient, a missing gradient counting as
        zero where another rank has one; a parameter no rank has a gradient for stays untouched
        (grad None: Adam's moments and weight decay skip it, as in a single process)."""
        has = torch.tensor([p.grad is not None for p in params], dtype=torch.int32,
                           device=params[0].device if params else self.device)
        dist.all_reduce(has)
        counts = has.tolist()  # one small sync, world > 1 only
        used = [p for p, n in zip(params, counts) if n > 0]
        for p, n in zip(params, counts):
            if n == 0:
                p.grad = None
            elif p.grad is None:
                p.grad = torch.zeros_like(p)
        if not used:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in used])
        dist.all_reduce(flat)
        flat /= self.world
        i = 0
        for p in used:
            n = p.numel()
            p.grad.copy_(flat[i : i + n].view_as(p.grad))
            i += n

    def _broadcast_buffers(self) -> None:
        """Rank 0's BatchNorm statistics (and other buffers) on every rank, after each step,
        as DDP's broadcast_buffers does (SyncBatchNorm instead: sync_batchnorm=true)."""
        bufs = [b for m in self.nets.values() for b in m.buffers() if b.is_floating_point()]
        if bufs:
            flat = torch.cat([b.reshape(-1) for b in bufs])
            dist.broadcast(flat, src=0)
            i = 0
            for b in bufs:
                b.copy_(flat[i : i + b.numel()].view_as(b))
                i += b.numel()

    # -- checkpoints -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        rngs = [rng_state()]
        if self.world > 1:
            rngs = [None] * self.world
            dist.all_gather_object(rngs, rng_state())
        return {
            "format": CKPT_FORMAT,
            "method": self.method_cls.name,
            "step": self.step,
            "world": self.world,
            "config": self.cfg.to_dict(),
            "modules": {k: m.state_dict() for k, m in self.nets.items()},
            "optimizers": {k: o.state_dict() for k, o in self.opts.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "ema": {k: m.state_dict() for k, m in self.ema.items()},
            "frozen": self._frozen_fingerprints(),
            "extra": self.method.extra_state(),
            "rng": rngs,
            "best": self.best,
        }

    def save(self, name: str = "last.pt") -> None:
        self._flush()  # raises on a non-finite value first: a bad state is never written
        state = self._state()  # every rank joins the RNG gather
        if self.is_main:
            atomic_save(state, self.ckpt_dir / name)
        if name == "last.pt":
            self._last_ckpt_step = self.step
        self._barrier()

    def _check_compatible(self, saved: dict[str, Any], path: Path) -> None:
        now = self.cfg.to_dict()
        changed = {k: (v, now[k]) for k, v in saved.items() if k in now
                   and now[k] != v and not (isinstance(v, list) and tuple(v) == now[k])}
        refused = [k for k in changed if k not in RESUMABLE_CHANGES and not _is_lr_key(k)]
        if refused:
            parts = ", ".join(f"{k}: {changed[k][0]!r} -> {changed[k][1]!r}" for k in refused)
            raise CheckpointError(
                f"cannot resume {self.run_dir} with a different config ({parts}): use the "
                "original settings (only steps, the logging/checkpoint intervals, device, "
                "threads, amp, grad_clip and learning rates may change), or --overwrite")
        self._resumed_changes = {k: v for k, v in changed.items()
                                 if k not in ("steps", "progress", "device", "num_workers")}
        if self._resumed_changes and self.is_main:
            parts = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in self._resumed_changes.items())
            print(f"ci-inpaint: resuming {self.run_dir} at step {saved.get('_step')} with {parts} "
                  "(recorded in resumes.jsonl)", file=sys.stderr)

    def _load(self, path: Path) -> None:
        st = read_checkpoint(path, self.method_cls.name, self.run_dir)
        world = int(st.get("world", len(st.get("rng", [None]))))
        if world != self.world:
            raise CheckpointError(
                f"{path} was written by {world} process(es) (global batch "
                f"{world * self.cfg.batch_size}); this run has {self.world} (global batch "
                f"{self.world * self.cfg.batch_size}): resume with torchrun --nproc_per_node="
                f"{world}{' (or without torchrun)' if world == 1 else ''}, or --overwrite")
        self._check_compatible({**st.get("config", {}), "_step": st.get("step")}, path)
        fresh_groups = {k: [dict(g) for g in o.param_groups] for k, o in self.opts.items()}
        try:
            for k, m in self.nets.items():
                m.load_state_dict(st["modules"][k])
            for k, o in self.opts.items():
                o.load_state_dict(st["optimizers"][k])
            for k, s in self.scalers.items():
                if st["scalers"].get(k) and s.is_enabled():  # empty when saved without fp16
                    s.load_state_dict(st["scalers"][k])
            for k, m in self.ema.items():
                m.load_state_dict(st["ema"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            msg = str(e).splitlines()[0][:200]
            raise CheckpointError(
                f"checkpoint {path} does not fit this {self.method_cls.name} model ({msg}): it was "
                "made with other settings; resume with those, or --overwrite"
            ) from None
        if any(_is_lr_key(k) for k in self._resumed_changes):
            for k, o in self.opts.items():  # the new learning rates, not the checkpoint's
                for g, fresh in zip(o.param_groups, fresh_groups[k]):
                    g["lr"] = fresh["lr"]
        saved_fp, now_fp = st.get("frozen", {}), self._frozen_fingerprints()
        bad = [k for k in saved_fp if now_fp.get(k) != saved_fp[k]]
        if bad:
            raise CheckpointError(
                f"frozen module(s) {', '.join(bad)} differ from the ones {path} was trained with "
                "(another pretrained file or cache?): restore those files, or --overwrite")
        self.method.load_extra_state(st.get("extra", {}))
        rngs = st["rng"]
        set_rng_state(rngs[self.rank] if self.rank < len(rngs) else rngs[0])
        self.step, self.best = int(st["step"]), st.get("best")
        self._last_ckpt_step = self.step

    # -- logging ------------------------------------------------------------------------------
    def _open_logs(self) -> None:
        self._jsonl = None
        if not self.is_main:
            return
        log = self.run_dir / "metrics.jsonl"
        if self.step > 0 and log.exists():  # drop lines from after the checkpoint we resumed
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
                if row.get("step", 0) <= self.step:
                    keep.append(ln)
            atomic_write_text(log, "".join(ln + "\n" for ln in keep))
        with storage_errors(log):
            self._jsonl = log.open("a")
        with contextlib.suppress(Exception):
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.step or None)

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
        with storage_errors(self.run_dir / "metrics.jsonl"):
            self._jsonl.write("".join(ln + "\n" for ln in lines))
            self._jsonl.flush()

    def _flush(self) -> list[dict[str, float]]:
        """The one host sync of the loop: check the non-finite flag, turn the buffered step
        losses into floats, append them to metrics.jsonl. Returns the new rows."""
        first = self._first_bad
        if self.world > 1:
            first = first.clone()
            dist.all_reduce(first, dist.ReduceOp.MIN)  # every rank stops at the same check
        first = int(first)
        pend, self._pending = self._pending, []
        flat = torch.cat([v for _, _, v in pend]).tolist() if pend else []
        rows, i = [], 0
        for step, names, _ in pend:
            rows.append({"step": step, **dict(zip(names, flat[i : i + len(names)]))})
            i += len(names)
        if first != _NO_BAD:
            bad_step, idx = divmod(first, _TERMS)
            opt, term = next(key for key, j in self._terms.items() if j == idx)
            good = [r for r in rows if r["step"] <= bad_step]
            if good and self._jsonl is not None:
                self._write_lines([json.dumps(r) for r in good])
            raise NonFiniteLossError(self._nonfinite_message(bad_step, opt, term))
        if rows and self._jsonl is not None:
            self._write_lines([json.dumps(r) for r in rows])
        return rows

    def _nonfinite_message(self, step: int, opt: str | None, term: str) -> str:
        where = f"loss term {term!r}" + (f" of optimiser {opt!r}" if opt else "")
        fix = "lower the learning rate (--set lr=...), or set amp=off or grad_clip=1"
        last = self.ckpt_dir / "last.pt"
        if self._last_ckpt_step is not None and last.is_file():
            return (f"step {step}: {where} became NaN/Inf; the last good checkpoint is {last} "
                    f"(step {self._last_ckpt_step}): {fix}, then run again with --resume "
                    "(learning rates, amp and grad_clip may change on resume)")
        return (f"step {step}: {where} became NaN/Inf before the first checkpoint (none was "
                f"written): {fix}, then run the same command again (it starts over)")

    # -- the loop ------------------------------------------------------------------------------
    def _batches(self) -> Iterator[Any]:
        ds = self.method.train_set()
        if ds is None:
            while True:
                yield None
        sampler = ResumableBatches(len(ds), self.cfg.batch_size, self.cfg.seed, self.step,
                                   self.rank, self.world, epoch_keys=is_epoch_aware(ds))
        self._per_epoch = sampler.per_epoch
        loader = torch.utils.data.DataLoader(
            ds, batch_sampler=sampler, num_workers=self.cfg.num_workers,
            pin_memory=self.device.type == "cuda", persistent_workers=False,
            generator=torch.Generator(),  # its seed draw must not consume the global RNG (resume)
        )
        for batch in loader:
            yield to_device(batch, self.device, self.channels_last)

    def _set_modes(self) -> None:
        """No blanket train(): modules start in training mode (PyTorch's default) and keep any
        submodule the method put in eval mode; frozen ones are forced to eval, also where a
        frozen net sits inside a trained one."""
        for m in self.frozen.values():
            m.eval()

    def _evaluate(self) -> None:
        self._flush()
        mods = [*self.nets.values(), *self.frozen.values()]
        modes = [(sub, sub.training) for m in mods for sub in m.modules()]
        for m in mods:
            m.eval()
        try:
            with torch.no_grad():
                self.metrics = {k: float(v) for k, v in (self.method.evaluate(self) or {}).items()}
        finally:
            for sub, training in modes:  # each module's own mode, not a blanket train()
                sub.train(training)
        if self.metrics:
            self.log({"step": self.step, **{f"eval/{k}": v for k, v in self.metrics.items()}})
        key = self.cfg.best_metric
        if key:
            if key not in self.metrics:
                raise ConfigError(f"best_metric {key!r} is not among the metrics evaluate() returns "
                                  f"({', '.join(self.metrics) or 'none'}): pick one of those")
            v = self.metrics[key]
            better = self.best is None or (v < self.best if self.cfg.best_mode == "min" else v > self.best)
            if better and math.isfinite(v):
                self.best = v
                self.save("best.pt")

    @torch.no_grad()
    def _update_ema(self) -> None:
        d = self.cfg.ema_decay
        for k, ema in self.ema.items():
            src = self.nets[k]
            e_p = [p for p in ema.parameters() if p.is_floating_point()]
            s_p = [p.detach() for p in src.parameters() if p.is_floating_point()]
            torch._foreach_lerp_(e_p, s_p, 1.0 - d)
            for eb, sb in zip(ema.buffers(), src.buffers()):
                eb.copy_(sb)

    def run(self) -> RunResult:
        with self._threads():
            return self._run()

    def _run(self) -> RunResult:
        from tqdm.auto import tqdm

        cfg, t0 = self.cfg, time.perf_counter()
        self._open_logs()
        self._set_modes()
        bar = tqdm(total=cfg.steps, initial=self.step, desc=self.method_cls.name, unit="step",
                   disable=not (self.is_main and progress_enabled(cfg.progress)), dynamic_ncols=True)
        self._per_epoch = 0
        batches = self._batches()
        window: dict[str, list[float]] = {}  # losses since the last log_every boundary
        try:
            while self.step < cfg.steps:
                batch = next(batches)
                self.epoch = self.step // self._per_epoch if self._per_epoch else 0
                terms = self.method.train_step(batch, self)
                self._watch(terms, None)
                if self.ema:
                    self._update_ema()
                if self.world > 1:
                    self._broadcast_buffers()
                self.step += 1
                bar.update(1)
                if terms:
                    self._pending.append((self.step, tuple(terms), torch.stack(
                        [v.detach().float().reshape(()) for v in terms.values()])))
                boundary = self.step % cfg.log_every == 0 or self.step == cfg.steps
                evaluate = cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.steps
                ckpt = self.step % cfg.ckpt_every == 0 or self.step == cfg.steps
                if boundary or evaluate or ckpt:
                    for r in self._flush():
                        for k, v in r.items():
                            if k != "step":
                                window.setdefault(k, []).append(v)
                if boundary:
                    row = {"step": self.step, **{k: sum(v) / len(v) for k, v in window.items()}}
                    window.clear()
                    self.log(row, jsonl=False)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in list(row.items())[1:5]}, refresh=False)
                if evaluate:
                    self._evaluate()
                if ckpt:
                    self.save("last.pt")
            self._evaluate()
            self.save("last.pt")
        finally:
            bar.close()
            if self._jsonl is not None:
                with contextlib.suppress(OSError):
                    self._jsonl.close()
            if self._tb is not None:
                self._tb.close()
        wall = time.perf_counter() - t0
        if self._own_pg:
            dist.destroy_process_group()
        if self.is_main:
            result = {"method": self.method_cls.name, "steps": self.step, "wall_s": wall,
                      "metrics": self.metrics,
                      "final_losses": next((r for r in reversed(self.history)
                                            if not any(k.startswith("eval/") for k in r)), {})}
            atomic_write_text(self.run_dir / "result.json", json.dumps(result, indent=2))
        return RunResult(self.run_dir, self.method, cfg, self.history, self.metrics, self.step, wall)


# ----------------------------------------------------------------------------- public entry
def train(method: str, profile: str = "quick", out: str | Path | None = None, *,
          overrides: dict[str, Any] | None = None, config_file: str | Path | None = None,
          resume: bool = False, overwrite: bool = False, **knobs: Any) -> RunResult:
    """Train ``method`` and return the trained model with its logs.

    ``knobs`` are config overrides given as keyword arguments (what notebooks pass), merged with
    ``overrides`` (what the CLI's ``--set`` passes). Example::

        res = train("divco_toy", profile="smoke", out="runs/toy", seed=1, regularizer="divco")
    """
    cls = get_method(method)
    cfg = resolve_config(cls.Config, profile, {**(overrides or {}), **knobs}, config_file,
                         method=method)
    if out is None:
        out = Path("runs") / f"{method}-{time.strftime('%Y%m%d-%H%M%S')}"
    return Engine(cls, cfg, out, resume=resume, overwrite=overwrite).run()
