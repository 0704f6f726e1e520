"""The one training loop that serves all five methods.

What it does once, for every method (a method only writes ``train_step``):

* picks the device (cuda > mps > cpu), bf16/fp16 autocast and channels_last on CUDA;
  seeds python/numpy/torch so that the same seed gives identical losses on CPU; applies
  ``threads`` only while the run trains (:mod:`.runtime`);
* feeds batches from a *resumable* sampler: the order of samples is a pure function of
  (seed, epoch), so a resumed run sees exactly the batches an uninterrupted run would;
* steps any number of optimisers (``ctx.optimize("D", ...)``, ``ctx.optimize("G", ...)``), with a
  GradScaler per optimiser for fp16, optional gradient clipping, and an EMA copy of chosen modules;
  keeps a method's frozen modules (pretrained nets) in eval mode and restores every module's own
  mode after evaluation (:mod:`.loop`);
* logs every ``log_every`` steps to ``metrics.jsonl`` (and TensorBoard if installed), with a
  tqdm progress bar that stays quiet when not interactive; stops on a NaN/Inf loss with an error
  naming the first bad step and loss term, before any checkpoint of the bad state is written:
  the check is a flag kept on the device and read (with the buffered per-step losses) every
  ``log_every`` steps and before every checkpoint, so a GPU queue is never drained per step
  (:mod:`.logbook`);
* checkpoints atomically (temp file + fsync + rename) to ``checkpoints/last.pt`` and, when a
  ``best_metric`` is set, ``checkpoints/best.pt``; ``resume=True`` continues bit-exactly on CPU;
  :func:`read_checkpoint` is the one reader, shared with :func:`ci_inpaint.experiments.load_run`
  (:mod:`.checkpoint`);
* under ``torchrun``: one process per device, gloo on CPU / nccl on GPU, gradients averaged
  across processes after every backward (a parameter no rank has a gradient for is left
  untouched, as DDP does), BatchNorm buffers broadcast from rank 0 after each step (or
  SyncBatchNorm), data sharded by rank, only rank 0 writes (:mod:`.distributed`, which says why
  gradients are all-reduced explicitly rather than by DDP).

Modules: :mod:`.loop` (:class:`Engine`, :func:`train`) uses :mod:`.logbook`, :mod:`.checkpoint`,
:mod:`.distributed` and :mod:`.runtime`, which import nothing of the loop.
"""

from ..fileio import atomic_save
from .checkpoint import CKPT_FORMAT, RESUMABLE_CHANGES, RUN_FILES, read_checkpoint, read_sources
from .distributed import ResumableBatches
from .loop import Engine, RunResult, train
from .runtime import (
    amp_dtype,
    environment_info,
    progress_enabled,
    rng_state,
    seed_everything,
    select_device,
    set_rng_state,
    to_device,
)

__all__ = ["CKPT_FORMAT", "RESUMABLE_CHANGES", "RUN_FILES", "Engine", "ResumableBatches",
           "RunResult", "amp_dtype", "atomic_save", "environment_info", "progress_enabled",
           "read_checkpoint", "read_sources", "rng_state", "seed_everything", "select_device",
           "set_rng_state", "to_device", "train"]
