"""GAN helpers shared by the methods: freeze a net for the other player's step, evaluate in eval
mode, find the generator inside a method or a run, and run inference in batches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def frozen(*nets: nn.Module | None) -> Iterator[None]:
    """``requires_grad_(False)`` on every parameter of ``nets`` (None skipped) for the block;
    each parameter gets its own previous flag back on exit, also after an exception. Gradients
    still flow *through* a frozen D to G; D's own ``.grad`` stays clean."""
    params = [p for net in nets if net is not None for p in net.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


@contextmanager
def eval_mode(*nets: nn.Module | None) -> Iterator[None]:
    """``.eval()`` on ``nets`` (None skipped) for the block; every submodule's ``.training`` is
    restored on exit (a net left half in eval mode stays so), also after an exception."""
    mods = [m for net in nets if net is not None for m in net.modules()]
    modes = [m.training for m in mods]
    for net in nets:
        if net is not None:
            net.eval()
    try:
        yield
    finally:
        for m, mode in zip(mods, modes):
            m.training = mode


def generator_of(obj) -> nn.Module:
    """The generator of a run result (its ``.method``), of a method (its ``sampler`` -- e.g. an
    EMA copy -- when it has one, else its ``G``) or a module itself."""
    obj = getattr(obj, "method", obj)
    if isinstance(obj, nn.Module):
        return obj
    g = getattr(obj, "sampler", None)
    g = getattr(obj, "G", None) if g is None else g
    if isinstance(g, nn.Module):
        return g
    raise TypeError(f"expected a run result, a method with a generator or a module, "
                    f"got {type(obj).__name__}")


def in_batches(fn, image, hole, device, batch_size: int = 64):
    """``fn(x, m)`` over (image, hole) rows in chunks of ``batch_size`` on ``device``; the
    results concatenated on the CPU in fp32 (what the inpainting methods' ``inpaint`` returns)."""
    return torch.cat([fn(image[i:i + batch_size].to(device), hole[i:i + batch_size].to(device)
                         ).float().cpu() for i in range(0, len(image), batch_size)])


__all__ = ["eval_mode", "frozen", "generator_of", "in_batches"]
