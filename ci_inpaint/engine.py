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
* stops on a NaN/Inf loss with an error naming the step and the loss term, before any
  checkpoint of the bad state is written;
* under ``torchrun``: one process per device, gloo on CPU / nccl on GPU, gradients averaged
  across processes after every backward, data sharded by rank, only rank 0 writes.

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
import dataclasses
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

from . import __version__
from .config import TrainConfig, resolve_config
from .data.epochs import EpochKey, is_epoch_aware
from .errors import CheckpointError, ConfigError, NonFiniteLossError
from .fileio import atomic_save
from .methods import Method, get_method

CKPT_FORMAT = 1
# config keys that may change between a run and its resume (everything else must match)
RESUMABLE_CHANGES = {"steps", "progress", "log_every", "ckpt_every", "eval_every", "num_workers",
                     "device", "data_root"}


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
class Engine:
    """Runs ``method_cls`` under ``cfg`` into ``run_dir``. Passed to ``train_step`` as ``ctx``."""

    def __init__(self, method_cls: type[Method], cfg: TrainConfig, run_dir: str | Path,
                 resume: bool = False, overwrite: bool = False):
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite contradict each other: pass only one")
        method_cls.validate(cfg)
        self.method_cls, self.cfg = method_cls, cfg
        self.run_dir = Path(run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self._init_distributed()
        self.device = select_device(cfg.device, self.local_rank)
        self.dtype = amp_dtype(cfg.amp, self.device)
        self.channels_last = cfg.channels_last and self.device.type == "cuda"
        self._prepare_run_dir(resume, overwrite)

        seed_everything(cfg.seed)  # identical initial weights on every rank
        self.method = method_cls(cfg, self.device)
        self.nets = self.method.modules()
        self.opts = self.method.optimizers()
        if self.channels_last:
            for m in self.nets.values():
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
        self.best: float | None = None
        self.history: list[dict[str, float]] = []
        self.metrics: dict[str, float] = {}
        self._tb = None
        if resume:
            self._load(self.ckpt_dir / "last.pt")

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

    def _prepare_run_dir(self, resume: bool, overwrite: bool) -> None:
        d = self.run_dir
        if resume:
            if not (self.ckpt_dir / "last.pt").is_file():
                raise CheckpointError(
                    f"nothing to resume in {d}: it has no checkpoints/last.pt; "
                    "run without --resume to start it"
                )
            saved = d / "config.yaml"
            if saved.is_file():
                self._check_compatible(yaml.safe_load(saved.read_text()) or {})
        elif d.exists() and any(d.iterdir()):
            if not overwrite:
                raise CheckpointError(
                    f"run directory {d} is not empty: pass --resume to continue that run "
                    "or --overwrite to start over (this deletes it)"
                )
            if self.is_main:
                shutil.rmtree(d)
        self._barrier()
        if self.is_main:
            d.mkdir(parents=True, exist_ok=True)
            cfg = {"method": self.method_cls.name, **self.cfg.to_dict()}
            (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
            (d / "env.json").write_text(json.dumps(environment_info(self.device), indent=2))
        self._barrier()

    def _check_compatible(self, saved: dict[str, Any]) -> None:
        if saved.get("method", self.method_cls.name) != self.method_cls.name:
            raise CheckpointError(
                f"{self.run_dir} holds a {saved.get('method')!r} run, not {self.method_cls.name!r}: "
                "resume it with the method it was started with, or pick another --out"
            )
        now = self.cfg.to_dict()
        diff = [k for k, v in saved.items() if k in now and k not in RESUMABLE_CHANGES
                and k != "method" and now[k] != v and not (isinstance(v, list) and tuple(v) == now[k])]
        if diff:
            parts = ", ".join(f"{k}: {saved[k]!r} -> {now[k]!r}" for k in diff)
            raise CheckpointError(
                f"cannot resume {self.run_dir} with a different config ({parts}): "
                "use the original settings, or --overwrite to start a new run"
            )

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

        ``loss`` may be a dict of already-weighted terms; they are summed, and a NaN/Inf term is
        reported by name before any weight changes.
        """
        terms = loss if isinstance(loss, dict) else {name: loss}
        total = sum(terms.values())
        if not torch.isfinite(total.detach()).all():
            bad = [k for k, v in terms.items() if not torch.isfinite(v.detach()).all()]
            raise NonFiniteLossError(
                f"step {self.step}: loss term {bad[0] if bad else name!r} of optimiser {name!r} is "
                f"{float(total.detach())}; the last good checkpoint is {self.ckpt_dir / 'last.pt'}: lower the "
                "learning rate or set amp=off, then resume"
            )
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

    def _allreduce_grads(self, params: list[torch.Tensor]) -> None:
        for p in params:
            if p.grad is None:  # every rank must send the same buffer layout
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat)
        flat /= self.world
        i = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[i : i + n].view_as(p.grad))
            i += n

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
            "config": self.cfg.to_dict(),
            "modules": {k: m.state_dict() for k, m in self.nets.items()},
            "optimizers": {k: o.state_dict() for k, o in self.opts.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "ema": {k: m.state_dict() for k, m in self.ema.items()},
            "extra": self.method.extra_state(),
            "rng": rngs,
            "best": self.best,
        }

    def save(self, name: str = "last.pt") -> None:
        state = self._state()  # every rank joins the RNG gather
        if self.is_main:
            atomic_save(state, self.ckpt_dir / name)
        self._barrier()

    def _load(self, path: Path) -> None:
        try:
            st = torch.load(path, map_location=self.device, weights_only=False)
        except Exception as e:
            raise CheckpointError(
                f"checkpoint {path} is corrupt or unreadable ({type(e).__name__}): delete it to "
                "resume from an earlier copy, or start over with --overwrite"
            ) from None
        if not isinstance(st, dict) or st.get("format") != CKPT_FORMAT:
            raise CheckpointError(f"{path} is not a ci_inpaint checkpoint (format {CKPT_FORMAT}): "
                                  "point --out at a run directory made by `ci-inpaint train`")
        if st.get("method") != self.method_cls.name:
            raise CheckpointError(f"{path} was written by method {st.get('method')!r}, not "
                                  f"{self.method_cls.name!r}: resume with that method")
        try:
            for k, m in self.nets.items():
                m.load_state_dict(st["modules"][k])
            for k, o in self.opts.items():
                o.load_state_dict(st["optimizers"][k])
            for k, s in self.scalers.items():
                s.load_state_dict(st["scalers"][k])
            for k, m in self.ema.items():
                m.load_state_dict(st["ema"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            msg = str(e).splitlines()[0][:200]
            raise CheckpointError(
                f"checkpoint {path} does not fit this {self.method_cls.name} model ({msg}): it was "
                "made with other settings; resume with those, or --overwrite"
            ) from None
        self.method.load_extra_state(st.get("extra", {}))
        rngs = st["rng"]
        set_rng_state(rngs[self.rank] if self.rank < len(rngs) else rngs[0])
        self.step, self.best = int(st["step"]), st.get("best")

    # -- logging ------------------------------------------------------------------------------
    def _open_logs(self) -> None:
        self._jsonl = None
        if not self.is_main:
            return
        log = self.run_dir / "metrics.jsonl"
        if self.step > 0 and log.exists():  # drop lines from after the checkpoint we resumed
            keep = [ln for ln in log.read_text().splitlines()
                    if ln.strip() and json.loads(ln).get("step", 0) <= self.step]
            log.write_text("".join(ln + "\n" for ln in keep))
        self._jsonl = log.open("a")
        with contextlib.suppress(Exception):
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.step or None)

    def log(self, row: dict[str, float], jsonl: bool = True, summary: bool = True) -> None:
        """``jsonl``: append to metrics.jsonl (every step's raw losses, and evaluations).
        ``summary``: append to ``history`` and TensorBoard (means over each ``log_every`` window,
        and evaluations), which keeps both small for long runs."""
        if jsonl and self._jsonl is not None:
            self._jsonl.write(json.dumps(row) + "\n")
            self._jsonl.flush()
        if not summary:
            return
        self.history.append(row)
        if self._tb is not None:
            for k, v in row.items():
                if k != "step":
                    self._tb.add_scalar(k, v, row["step"])

    # -- the loop ------------------------------------------------------------------------------
    def _batches(self) -> Iterator[Any]:
        ds = self.method.train_set()
        if ds is None:
            while True:
                yield None
        sampler = ResumableBatches(len(ds), self.cfg.batch_size, self.cfg.seed, self.step,
                                   self.rank, self.world, epoch_keys=is_epoch_aware(ds))
        loader = torch.utils.data.DataLoader(
            ds, batch_sampler=sampler, num_workers=self.cfg.num_workers,
            pin_memory=self.device.type == "cuda", persistent_workers=False,
            generator=torch.Generator(),  # its seed draw must not consume the global RNG (resume)
        )
        for batch in loader:
            yield to_device(batch, self.device, self.channels_last)

    def _evaluate(self) -> None:
        for m in self.nets.values():
            m.eval()
        with torch.no_grad():
            self.metrics = {k: float(v) for k, v in (self.method.evaluate(self) or {}).items()}
        for m in self.nets.values():
            m.train()
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
        from tqdm.auto import tqdm

        cfg, t0 = self.cfg, time.perf_counter()
        self._open_logs()
        for m in self.nets.values():
            m.train()
        bar = tqdm(total=cfg.steps, initial=self.step, desc=self.method_cls.name, unit="step",
                   disable=not (self.is_main and progress_enabled(cfg.progress)), dynamic_ncols=True)
        batches = self._batches()
        window: dict[str, list[float]] = {}  # losses since the last log_every boundary
        try:
            while self.step < cfg.steps:
                batch = next(batches)
                terms = self.method.train_step(batch, self)
                values = self._check_finite(terms)
                if self.ema:
                    self._update_ema()
                self.step += 1
                bar.update(1)
                self.log({"step": self.step, **values}, summary=False)
                for k, v in values.items():
                    window.setdefault(k, []).append(v)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    row = {"step": self.step, **{k: sum(v) / len(v) for k, v in window.items()}}
                    window.clear()
                    self.log(row, jsonl=False)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in list(row.items())[1:5]}, refresh=False)
                if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.steps:
                    self._evaluate()
                if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                    self.save("last.pt")
            self._evaluate()
            self.save("last.pt")
        finally:
            bar.close()
            if self._jsonl is not None:
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
            (self.run_dir / "result.json").write_text(json.dumps(result, indent=2))
        return RunResult(self.run_dir, self.method, cfg, self.history, self.metrics, self.step, wall)

    def _check_finite(self, terms: dict[str, torch.Tensor]) -> dict[str, float]:
        """The step's loss terms as floats (one device sync), or an error naming the bad term."""
        if not terms:
            return {}
        vals = torch.stack([v.detach().float().reshape(()) for v in terms.values()]).tolist()
        bad = [k for k, v in zip(terms, vals) if not math.isfinite(v)]
        if bad:
            raise NonFiniteLossError(
                f"step {self.step}: loss term {bad[0]!r} is {vals[list(terms).index(bad[0])]}; the "
                f"last good checkpoint is {self.ckpt_dir / 'last.pt'}: lower the learning rate or "
                "set amp=off, then resume"
            )
        return dict(zip(terms, vals))


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


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
