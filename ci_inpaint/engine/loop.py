"""The engine and its training loop: :class:`Engine` runs a method, :func:`train` is the entry.

A method only writes ``train_step(batch, ctx)``; the engine is its ``ctx``
(:class:`ci_inpaint.context.StepContext`) and does the rest:

* feeds batches from a *resumable* sampler (:class:`~.distributed.ResumableBatches`): the order
  of samples is a pure function of (seed, epoch), so a resumed run sees exactly the batches an
  uninterrupted run would;
* steps any number of optimisers (``ctx.optimize("D", ...)``, ``ctx.optimize("G", ...)``), with a
  GradScaler per optimiser for fp16, optional gradient clipping, and an EMA copy of chosen modules;
* logs every ``log_every`` steps (:mod:`.logbook`), with a tqdm progress bar that stays quiet
  when not interactive, evaluates every ``eval_every`` steps and at the end, and checkpoints
  every ``ckpt_every`` steps and at the end (:mod:`.checkpoint`);
* keeps a method's frozen modules (pretrained nets) in eval mode, restores every module's own
  mode after evaluation, and applies ``threads`` only while the run trains.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import TrainConfig, resolve_config
from ..data.epochs import is_epoch_aware
from ..errors import ConfigError
from ..fileio import atomic_write_text
from ..methods import Method, get_method
from . import checkpoint as ckpt
from . import distributed, runtime
from .distributed import ResumableBatches
from .logbook import Logbook, nonfinite_message


@dataclass
class RunResult:
    run_dir: Path
    method: Method
    cfg: TrainConfig
    history: list[dict[str, float]] = field(default_factory=list)  # logged lines of this process
    metrics: dict[str, float] = field(default_factory=dict)  # last evaluate()
    steps_done: int = 0
    wall_s: float = 0.0


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
        self.procs = distributed.init_processes(cfg.device)
        self.world, self.rank, self.local_rank = self.procs.world, self.procs.rank, self.procs.local_rank
        self.is_main = self.procs.is_main
        self.device = runtime.select_device(cfg.device, self.local_rank)
        self.dtype = runtime.amp_dtype(cfg.amp, self.device)
        self.channels_last = cfg.channels_last and self.device.type == "cuda"
        if cfg.sync_batchnorm and self.world > 1 and self.device.type not in ("cuda", "xpu"):
            raise ConfigError(  # torch's SyncBatchNorm refuses CPU tensors at the first forward
                f"sync_batchnorm=true needs GPUs (torch's SyncBatchNorm has no {self.device.type} "
                "kernel): drop it on CPU, where BatchNorm buffers are broadcast from rank 0")
        resume = ckpt.prepare_run_dir(self.run_dir, resume, overwrite, self.is_main,
                                      self.procs.barrier)

        with runtime.num_threads(cfg.threads):
            runtime.seed_everything(cfg.seed)  # identical initial weights on every rank
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
            distributed.broadcast_modules(self.nets.values())
        self.scalers = {k: torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
                        for k in self.opts}
        self.ema = {k: copy.deepcopy(self.nets[k]).eval().requires_grad_(False)
                    for k in (method_cls.ema_modules if cfg.ema_decay > 0 else ())}
        runtime.seed_everything(cfg.seed + 7919 * self.rank)  # per-rank noise from here on

        self.step = 0  # index of the step being run (== steps done before it)
        self.epoch = 0  # epoch of the current batch
        self.best: float | None = None
        self.metrics: dict[str, float] = {}
        self.logbook = Logbook(self.run_dir, self.device, self.world, self.is_main)
        self._last_ckpt_step: int | None = None
        self._resumed_changes: dict[str, tuple[Any, Any]] = {}
        if resume:
            ckpt.check_sources(self.run_dir, self.sources, cfg)
            self._load(self.ckpt_dir / "last.pt")
        if self.is_main:
            ckpt.write_run_files(self.run_dir, {"method": method_cls.name, **cfg.to_dict()},
                                 self.sources, runtime.environment_info(self.device), self.step,
                                 self._resumed_changes)
        self.procs.barrier()

    @property
    def history(self) -> list[dict[str, float]]:
        """The logged summary rows of this process (window means and evaluations)."""
        return self.logbook.history

    # -- setup ------------------------------------------------------------------------------
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

    # -- what train_step uses ----------------------------------------------------------------
    def autocast(self):
        """Context for forward passes: autocast in bf16/fp16 on CUDA, a no-op otherwise."""
        return runtime.autocast(self.device, self.dtype)

    def optimize(self, name: str, loss: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """zero_grad -> backward -> (all-reduce) -> (clip) -> step for optimiser ``name``.

        ``loss`` may be a dict of already-weighted terms; they are summed. A NaN/Inf term is
        recorded on the device (no host sync) and reported by name at the next check (every
        ``log_every`` steps and before every checkpoint), so no bad state is ever saved.
        """
        terms = loss if isinstance(loss, dict) else {name: loss}
        total = sum(terms.values())
        self.logbook.watch(terms, name, self.step)
        opt, scaler = self.opts[name], self.scalers[name]
        opt.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        params = [p for g in opt.param_groups for p in g["params"]]
        if self.world > 1:
            distributed.allreduce_grads(params, self.world, self.device)
        if self.cfg.grad_clip > 0:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        return total.detach()

    def log(self, row: dict[str, float], jsonl: bool = True, summary: bool = True) -> None:
        """See :meth:`Logbook.log`."""
        self.logbook.log(row, jsonl, summary)

    def _flush(self) -> list[dict[str, float]]:
        """The one host sync of the loop (:meth:`Logbook.flush`)."""
        return self.logbook.flush(lambda step, opt, term: nonfinite_message(
            step, opt, term, self.ckpt_dir / "last.pt", self._last_ckpt_step))

    # -- checkpoints -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "format": ckpt.CKPT_FORMAT,
            "method": self.method_cls.name,
            "step": self.step,
            "world": self.world,
            "config": self.cfg.to_dict(),
            "modules": {k: m.state_dict() for k, m in self.nets.items()},
            "optimizers": {k: o.state_dict() for k, o in self.opts.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "ema": {k: m.state_dict() for k, m in self.ema.items()},
            "frozen": ckpt.frozen_fingerprints(self.frozen, self.nets),
            "extra": self.method.extra_state(),
            "rng": distributed.gather_objects(runtime.rng_state(), self.world),
            "best": self.best,
        }

    def save(self, name: str = "last.pt") -> None:
        self._flush()  # raises on a non-finite value first: a bad state is never written
        state = self._state()  # every rank joins the RNG gather
        if self.is_main:
            ckpt.write_checkpoint(state, self.ckpt_dir / name)
        if name == "last.pt":
            self._last_ckpt_step = self.step
        self.procs.barrier()

    def _load(self, path: Path) -> None:
        st = ckpt.read_checkpoint(path, self.method_cls.name, self.run_dir)
        ckpt.check_world(st, path, self.world, self.cfg.batch_size)
        self._resumed_changes = ckpt.check_compatible(
            {**st.get("config", {}), "_step": st.get("step")}, self.cfg.to_dict(), self.run_dir,
            self.is_main)
        fresh_groups = {k: [dict(g) for g in o.param_groups] for k, o in self.opts.items()}
        ckpt.load_states(st, path, self.method_cls.name, self.nets, self.opts, self.scalers,
                         self.ema)
        if any(ckpt.is_lr_key(k) for k in self._resumed_changes):
            for k, o in self.opts.items():  # the new learning rates, not the checkpoint's
                for g, fresh in zip(o.param_groups, fresh_groups[k]):
                    g["lr"] = fresh["lr"]
        ckpt.check_frozen(st.get("frozen", {}), ckpt.frozen_fingerprints(self.frozen, self.nets),
                          path)
        self.method.load_extra_state(st.get("extra", {}))
        rngs = st["rng"]
        runtime.set_rng_state(rngs[self.rank] if self.rank < len(rngs) else rngs[0])
        self.step, self.best = int(st["step"]), st.get("best")
        self._last_ckpt_step = self.step

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
            yield runtime.to_device(batch, self.device, self.channels_last)

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
        with runtime.num_threads(self.cfg.threads):
            return self._run()

    def _run(self) -> RunResult:
        from tqdm.auto import tqdm

        cfg, t0 = self.cfg, time.perf_counter()
        self.logbook.open(self.step)
        self._set_modes()
        quiet = not (self.is_main and runtime.progress_enabled(cfg.progress))
        bar = tqdm(total=cfg.steps, initial=self.step, desc=self.method_cls.name, unit="step",
                   disable=quiet, dynamic_ncols=True)
        self._per_epoch = 0
        batches = self._batches()
        window: dict[str, list[float]] = {}  # losses since the last log_every boundary
        try:
            while self.step < cfg.steps:
                batch = next(batches)
                self.epoch = self.step // self._per_epoch if self._per_epoch else 0
                terms = self.method.train_step(batch, self)
                self.logbook.watch(terms, None, self.step)
                if self.ema:
                    self._update_ema()
                if self.world > 1:
                    distributed.broadcast_buffers(self.nets.values())
                self.step += 1
                bar.update(1)
                if terms:
                    self.logbook.record(self.step, terms)
                boundary = self.step % cfg.log_every == 0 or self.step == cfg.steps
                evaluate = cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.steps
                save = self.step % cfg.ckpt_every == 0 or self.step == cfg.steps
                if boundary or evaluate or save:
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
                if save:
                    self.save("last.pt")
            self._evaluate()
            self.save("last.pt")
        finally:
            bar.close()
            self.logbook.close()
        wall = time.perf_counter() - t0
        self.procs.close()
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
