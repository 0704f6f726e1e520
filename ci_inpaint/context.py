"""What a method's ``train_step(batch, ctx)`` may use of the engine: the step context.

The engine (:class:`ci_inpaint.engine.Engine`) implements it for real runs;
:class:`ci_inpaint.testing.FakeContext` implements it for unit tests of one ``train_step``.
Nothing else of the engine is part of the contract, so a method written against this protocol
runs under both.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class StepContext(Protocol):
    step: int  # index of the step being run (= steps finished before it), from 0
    epoch: int  # epoch of the current batch (step // batches per epoch; 0 without a dataset)
    device: torch.device
    frozen: Mapping[str, nn.Module]  # Method.frozen_modules(): eval mode, no grad, no optimiser
    ema: Mapping[str, nn.Module]  # EMA copies of Method.ema_modules (empty when ema_decay = 0)

    def autocast(self) -> AbstractContextManager:
        """Wrap forward passes: bf16/fp16 autocast on CUDA, a no-op elsewhere."""
        ...

    def optimize(self, name: str, loss: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """zero_grad -> backward -> step of optimiser ``name``; ``loss`` may be a dict of
        weighted terms (summed; a NaN/Inf term is reported by name). Returns the detached total."""
        ...
