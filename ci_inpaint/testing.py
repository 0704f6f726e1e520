"""The one test double of the step context (:class:`ci_inpaint.context.StepContext`).

``FakeContext(method)`` runs one ``train_step`` outside the engine: plain backward + step per
optimiser, no autocast, and it records what each optimiser was given, so a test can check which
terms reach which network::

    ctx = FakeContext(method)
    method.train_step(batch, ctx)
    assert set(ctx.terms["G"]) == {"adv", "divco"}
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class FakeContext:
    def __init__(self, method: Any, step: int = 0, epoch: int = 0,
                 before_step: Callable[[str, dict[str, torch.Tensor]], None] | None = None):
        self.method, self.step, self.epoch = method, step, epoch
        self.device = getattr(method, "device", torch.device("cpu"))
        self.opts = method.optimizers()
        frozen = getattr(method, "frozen_modules", None)
        self.frozen: dict[str, nn.Module] = dict(frozen() if frozen else {})
        self.ema: dict[str, nn.Module] = {}
        self.terms: dict[str, dict[str, torch.Tensor]] = {}  # optimiser -> its last loss terms
        self.calls: list[str] = []  # optimiser names in call order
        self.before_step = before_step  # hook(name, terms) called before the backward

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def optimize(self, name: str, loss: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        terms = loss if isinstance(loss, dict) else {name: loss}
        self.terms[name], _ = terms, self.calls.append(name)
        if self.before_step is not None:
            self.before_step(name, terms)
        total = sum(terms.values())
        opt = self.opts[name]
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return total.detach()
