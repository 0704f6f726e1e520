"""Training under ``torchrun``: one process per device, gloo on CPU / nccl on GPU.

* the process group is started from torchrun's environment (:func:`init_processes`); the
  initial weights are broadcast from rank 0 (:func:`broadcast_modules`);
* gradients are averaged across processes after every backward (:func:`allreduce_grads`; a
  parameter no rank has a gradient for is left untouched, as DDP does);
* BatchNorm buffers are broadcast from rank 0 after each step (:func:`broadcast_buffers`), or
  SyncBatchNorm (``sync_batchnorm=true``, GPUs only);
* data is sharded by rank (:class:`ResumableBatches`); only rank 0 writes.

Why gradients are averaged explicitly rather than by wrapping modules in
``torch.nn.parallel.DistributedDataParallel``: GAN steps forward the same network several times
per backward (D on real and fake, D inside the G step) and step only some of the networks each
time, which DDP's reducer does not allow without ``static_graph``/``find_unused_parameters``
workarounds that differ per method. An all-reduce of each optimiser's gradients (flattened into
one buffer) is exactly DDP's arithmetic (mean over ranks) and works for every method unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..data.epochs import EpochKey
from ..errors import ConfigError


@dataclass(frozen=True)
class Processes:
    """This process's place among torchrun's: ``world`` processes, this one ``rank``."""
    world: int = 1
    rank: int = 0
    local_rank: int = 0
    own_group: bool = False  # the group was started here (and is destroyed at the end)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        """Destroy the process group if it was started here."""
        if self.own_group:
            dist.destroy_process_group()


def init_processes(device: str) -> Processes:
    """Read torchrun's WORLD_SIZE / RANK / LOCAL_RANK and start the process group if torchrun
    launched several processes and nobody started it yet (nccl on GPUs unless ``device=cpu``)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    own = world > 1 and not dist.is_initialized()
    if own:
        backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank % torch.cuda.device_count())
        dist.init_process_group(backend)
    return Processes(world, rank, local_rank, own)


def broadcast_modules(modules: Iterable[nn.Module]) -> None:
    """Rank 0's parameters and buffers on every rank (identical initial weights)."""
    for m in modules:
        for t in list(m.parameters()) + list(m.buffers()):
            dist.broadcast(t.data, src=0)


def allreduce_grads(params: list[torch.Tensor], world: int, device: torch.device) -> None:
    """DDP's arithmetic: the mean of every rank's gradient, a missing gradient counting as
    zero where another rank has one; a parameter no rank has a gradient for stays untouched
    (grad None: Adam's moments and weight decay skip it, as in a single process)."""
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.int32,
                       device=params[0].device if params else device)
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
    flat /= world
    i = 0
    for p in used:
        n = p.numel()
        p.grad.copy_(flat[i : i + n].view_as(p.grad))
        i += n


def broadcast_buffers(modules: Iterable[nn.Module]) -> None:
    """Rank 0's BatchNorm statistics (and other buffers) on every rank, after each step,
    as DDP's broadcast_buffers does (SyncBatchNorm instead: sync_batchnorm=true)."""
    bufs = [b for m in modules for b in m.buffers() if b.is_floating_point()]
    if bufs:
        flat = torch.cat([b.reshape(-1) for b in bufs])
        dist.broadcast(flat, src=0)
        i = 0
        for b in bufs:
            b.copy_(flat[i : i + b.numel()].view_as(b))
            i += b.numel()


def all_min(t: torch.Tensor, world: int) -> torch.Tensor:
    """The smallest value of ``t`` over all ranks (``t`` itself in a single process)."""
    if world > 1:
        t = t.clone()
        dist.all_reduce(t, dist.ReduceOp.MIN)
    return t


def gather_objects(obj: Any, world: int) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]``; ``[obj]`` in a single process."""
    if world == 1:
        return [obj]
    out = [None] * world
    dist.all_gather_object(out, obj)
    return out


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
