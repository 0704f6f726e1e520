"""Datasets whose items change every epoch (fresh crops, flips, mask rotations), resumably.

A dataset that sets ``epoch_aware = True`` is indexed by the engine with an :class:`EpochKey`
``(epoch, index)`` instead of a plain int, and must make its item a *pure function* of
``(seed, epoch, index)``: all its randomness comes from ``item_generator(seed, epoch, index)``,
never from a global RNG. A resumed run then sees exactly the items an uninterrupted run would,
whatever the epoch it resumes in. Plain ints still work (epoch 0), so such a dataset can be
used by hand as ``ds[i]``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class EpochKey(NamedTuple):
    epoch: int
    index: int


def split_key(key: int | EpochKey | tuple[int, int]) -> tuple[int, int]:
    """``(epoch, index)`` of a dataset key; a plain int is epoch 0."""
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return 0, int(key)


def item_seed(seed: int, epoch: int, index: int) -> int:
    """One 63-bit seed per (seed, epoch, index); distinct triples give unrelated streams."""
    x = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB)
    x &= (1 << 64) - 1
    x ^= x >> 31  # splitmix64-style finaliser
    x = (x * 0xD6E8FEB86659FD93) & ((1 << 64) - 1)
    x ^= x >> 32
    return x & ((1 << 63) - 1)


def item_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A CPU generator seeded by :func:`item_seed`: the only RNG an epoch-aware item may use."""
    return torch.Generator().manual_seed(item_seed(seed, epoch, index))


def is_epoch_aware(dataset: object) -> bool:
    return bool(getattr(dataset, "epoch_aware", False))
