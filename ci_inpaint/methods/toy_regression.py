"""A tiny regression problem that exercises the engine (tests, benchmarks, DDP check).

A small convolutional net learns y = A·x on fixed synthetic 8x8 "images" x; two optimisers
(body and head, different learning rates) stand in for a GAN's G and D steps. Noise injected
into the input comes from the torch RNG, so exact resume must restore RNG state too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..config import TrainConfig, knob
from . import Method, register


@dataclass
class ToyRegressionConfig(TrainConfig):
    n_items: int = knob(256, range=">= 1")  # size of the synthetic dataset
    width: int = knob(16, range=">= 1")  # channels of the conv body
    lr_body: float = knob(1e-2, range="> 0")  # Adam learning rate of the body
    lr_head: float = knob(5e-3, range="> 0")  # Adam learning rate of the head
    noise: float = knob(0.05, range=">= 0")  # std of input noise drawn each step from the torch RNG
    inject_nan_step: int = -1  # >=0: make the loss NaN at this step (tests the NaN guard)
    step_sleep: float = knob(0.0, range=">= 0")  # seconds to sleep per step: a slow model, so a test can kill mid-run
    batchnorm: bool = False  # a BatchNorm in the body (its buffers must agree across ranks)
    unused_param: bool = False  # a head parameter no loss uses (must stay untouched, no Adam state)
    weight_decay: float = knob(0.0, range=">= 0")  # Adam weight decay of the head (touches params that get a grad)

    PROFILES: ClassVar = {
        "smoke": {"steps": 20, "batch_size": 16, "ckpt_every": 5, "log_every": 1},
        "quick": {"steps": 300, "batch_size": 32},
        "full": {"steps": 3000, "batch_size": 64},
    }


class Regression(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 3, 8, 8, generator=g)
        a = torch.randn(4, 3 * 8 * 8, generator=g) / 14
        self.y = self.x.flatten(1) @ a.T

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


@register
class ToyRegression(Method):
    name = "toy_regression"
    Config = ToyRegressionConfig
    summary = "engine self-test: a small CNN regression with two optimisers"
    ema_modules = ("body",)

    def __init__(self, cfg: ToyRegressionConfig, device: torch.device):
        super().__init__(cfg, device)
        w = cfg.width
        norm = [nn.BatchNorm2d(w)] if cfg.batchnorm else []
        self.body = nn.Sequential(nn.Conv2d(3, w, 3, padding=1), *norm, nn.ReLU(),
                                  nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(2), nn.Flatten()).to(device)
        self.head = nn.Linear(4 * w, 4).to(device)
        if cfg.unused_param:
            self.head.unused = nn.Parameter(torch.ones(3, device=device))
        self.opt_body = torch.optim.Adam(self.body.parameters(), lr=cfg.lr_body)
        self.opt_head = torch.optim.Adam(self.head.parameters(), lr=cfg.lr_head,
                                         weight_decay=cfg.weight_decay)

    def modules(self):
        return {"body": self.body, "head": self.head}

    def optimizers(self):
        return {"body": self.opt_body, "head": self.opt_head}

    def train_set(self):
        return Regression(self.cfg.n_items, seed=1234)

    def _loss(self, batch):
        x = batch["x"] + self.cfg.noise * torch.randn_like(batch["x"])
        return (self.head(self.body(x)) - batch["y"]).pow(2).mean()

    def train_step(self, batch, ctx):
        if self.cfg.step_sleep:
            time.sleep(self.cfg.step_sleep)
        with ctx.autocast():
            loss_head = self._loss(batch)
        if ctx.step == self.cfg.inject_nan_step:
            loss_head = loss_head * float("nan")
        ctx.optimize("head", {"mse": loss_head})
        with ctx.autocast():
            loss_body = self._loss(batch)
        ctx.optimize("body", loss_body)
        return {"mse": loss_head.detach(), "mse_body": loss_body.detach()}

    @torch.no_grad()
    def evaluate(self, ctx):
        ds = self.train_set()
        x, y = ds.x.to(self.device), ds.y.to(self.device)
        out = {"mse": float((self.head(self.body(x)) - y).pow(2).mean())}
        if torch.distributed.is_initialized():  # are the ranks' weights and buffers identical?
            flat = torch.cat([t.detach().float().reshape(-1) for m in (self.body, self.head)
                              for t in [*m.parameters(), *m.buffers()]])
            lo, hi = flat.clone(), flat.clone()
            torch.distributed.all_reduce(lo, torch.distributed.ReduceOp.MIN)
            torch.distributed.all_reduce(hi, torch.distributed.ReduceOp.MAX)
            out["rank_spread"] = float((hi - lo).abs().max())
        return out
