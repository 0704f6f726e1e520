"""Methods register by name; the one training engine (``ci_inpaint.engine``) runs any of them.

The contract a method implements (see :class:`Method`):

* ``Config``: a :class:`~ci_inpaint.config.TrainConfig` subclass with the method's knobs and
  its per-profile overrides;
* ``__init__(cfg, device)``: build networks (on ``device``) and optimisers;
* ``modules()`` / ``optimizers()``: dicts of everything that is checkpointed;
* ``frozen_modules()`` (optional): pretrained nets kept in eval mode without gradients;
* ``train_set()``: a map-style Dataset whose items are pure functions of their index (or of
  ``(epoch, index)`` when it sets ``epoch_aware``, see ``ci_inpaint.data.epochs``), or
  ``None`` when the method samples its own data (e.g. a 2D toy) from the torch RNG;
* ``train_step(batch, ctx) -> dict[str, Tensor]``: one optimisation step (``ctx`` is a
  :class:`ci_inpaint.context.StepContext`), using
  ``ctx.autocast()`` for forward passes and ``ctx.optimize(name, loss)`` for each optimiser
  (GAN D step, G step, ...); returns the loss terms to log (they are checked for NaN/Inf);
* ``evaluate(ctx) -> dict[str, float]`` (optional): metrics at the end / every eval_every;
* ``ema_modules`` (optional): names of modules of which the engine keeps an EMA copy.

Method modules are imported lazily by name, so ``ci-inpaint train --help`` is fast.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import TrainConfig
from ..errors import ConfigError

# name -> module that registers it (imported on first use)
_MODULES: dict[str, str] = {
    "divco_toy": "ci_inpaint.methods.divco_toy",
    "divco": "ci_inpaint.methods.divco_images",
    "divco_paired": "ci_inpaint.methods.divco_paired",
    "toy_regression": "ci_inpaint.methods.toy_regression",
    "cut": "ci_inpaint.methods.cut",
    "monce": "ci_inpaint.methods.cut",  # CUT with contrast=monce by default
    "contrasfill": "ci_inpaint.methods.contrasfill",
    "scat": "ci_inpaint.methods.scat",
    "daf_moco": "ci_inpaint.methods.daf",
    "daf": "ci_inpaint.methods.daf",
}
_REGISTRY: dict[str, type[Method]] = {}


class Method:
    """Base class: the pieces of a method that the engine needs."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[TrainConfig]] = TrainConfig
    summary: ClassVar[str] = ""  # one line for `ci-inpaint train --help`
    ema_modules: ClassVar[tuple[str, ...]] = ()
    # False: the method makes its own data, so a data_root would be silently ignored: refused
    reads_data_root: ClassVar[bool] = True

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        """Refuse settings that are valid one by one but not for this method (one-line
        ConfigError naming the fix). Ranges and choices of single fields are in Config.RANGES /
        Config.CHOICES; override this for combinations."""

    @classmethod
    def validate(cls, cfg: TrainConfig) -> None:
        if cfg.data_root and not cls.reads_data_root:
            raise ConfigError(f"{cls.name} generates its own data and reads no data_root "
                              f"(got {cfg.data_root!r}): drop data_root")
        cls.check_config(cfg)

    @classmethod
    def sources(cls, cfg: TrainConfig) -> dict[str, str]:
        """Digests of files this run reads that its config names only by path (a stage-1
        checkpoint, a user's encoder file): ``{knob: digest}``. The engine writes them to
        ``sources.json`` and refuses a resume after one changed; a finished run whose sources
        changed is trained again by :func:`ci_inpaint.experiments.runs.train_run`. A missing file
        is left out (the method's own error names it)."""
        return {}

    def __init__(self, cfg: TrainConfig, device: torch.device):
        self.cfg = cfg
        self.device = device

    def modules(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def frozen_modules(self) -> dict[str, nn.Module]:
        """Pretrained nets used but not trained (a feature classifier, VGG, a momentum key
        encoder): the engine keeps them in eval mode with requires_grad off, refuses them in an
        optimiser, and restores modes after evaluation. Those also listed in modules() are
        checkpointed (e.g. a momentum encoder); the others are re-created by __init__ and
        checked by fingerprint on resume."""
        return {}

    def train_set(self) -> torch.utils.data.Dataset | None:
        return None

    def train_step(self, batch: Any, ctx: Any) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def evaluate(self, ctx: Any) -> dict[str, float]:
        return {}

    def extra_state(self) -> dict[str, Any]:
        """Anything else to checkpoint (not modules/optimisers); restored by load_extra_state."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass


def file_digest(path: str | os.PathLike) -> str | None:
    """``"sha256:<hex>"`` of a file, or of a run directory's ``checkpoints/last.pt``; None when
    there is no such file."""
    from ..data.download import hash_file

    p = Path(path).expanduser()
    f = p / "checkpoints" / "last.pt" if p.is_dir() else p
    return hash_file(f) if f.is_file() else None


def path_digests(cfg: TrainConfig, *knobs: str) -> dict[str, str]:
    """``{knob: digest}`` (:func:`file_digest`) of the files that path knobs of ``cfg`` name, for
    :meth:`Method.sources`; empty knobs and missing files are left out."""
    digests = {k: file_digest(v) for k in knobs if (v := getattr(cfg, k))}
    return {k: d for k, d in digests.items() if d is not None}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: ``@register`` on a Method subclass with a ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a class attribute `name`")
    _REGISTRY[cls.name] = cls
    _MODULES.setdefault(cls.name, cls.__module__)
    return cls


def method_names() -> list[str]:
    return sorted(set(_MODULES) | set(_REGISTRY))


def get_method(name: str) -> type[Method]:
    if name not in _REGISTRY:
        if name not in _MODULES:
            raise ConfigError(
                f"unknown method {name!r}: choose one of {', '.join(method_names())} "
                "(see `ci-inpaint train --help`)"
            )
        importlib.import_module(_MODULES[name])
    if name not in _REGISTRY:
        raise ConfigError(f"method {name!r} did not register itself: check {_MODULES[name]}")
    return _REGISTRY[name]
