"""Where and how a run computes: the device, autocast and channels_last, seeding, threads.

* the device is picked cuda > mps > cpu (``device=auto``); bf16/fp16 autocast and channels_last
  apply on CUDA only;
* python/numpy/torch are seeded so that the same seed gives identical losses on CPU; their RNG
  states are what a checkpoint keeps (:func:`rng_state`, :func:`set_rng_state`);
* ``threads`` torch intra-op threads apply only while the run trains (:func:`num_threads`);
* the progress bar stays quiet when not interactive (:func:`progress_enabled`).
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .. import __version__
from ..errors import ConfigError


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


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast in ``dtype`` on ``device``; a no-op for ``dtype=None``."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


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


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """``n`` torch intra-op threads inside the block only (0 = leave the process's)."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(old)


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

        root = Path(__file__).resolve().parents[2]  # ci_inpaint/engine/runtime.py
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
