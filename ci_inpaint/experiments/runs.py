"""Resumable training of one run: train it, continue it, or load it when it is finished.

A run directory is *finished* when it holds ``result.json`` and ``checkpoints/last.pt`` (the
engine writes result.json last) and its ``config.yaml`` equals the config asked for, apart from
knobs that do not change the result (:data:`NOT_RESULT`), and the files its config names by
path have the digests of its ``sources.json`` (:meth:`ci_inpaint.methods.Method.sources`: a
stage-2 run is trained again after its stage-1 checkpoint changed). Such a run is loaded, not
retrained. A run with a checkpoint but no result.json (killed) under the same config and
sources is resumed; anything else starts over in that directory.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
import yaml

from ..config import TrainConfig, not_result_fields, resolve_config
from ..engine import RunResult, read_checkpoint, read_sources, seed_everything, train
from ..errors import CheckpointError
from ..methods import get_method

# knobs that change speed or logging, never the numbers a run produces: the fields marked
# knob(result=False) in config.py ("threads" changes only the order of CPU sums, ~1e-4 relative:
# docs/benchmarks.md "Determinism"; a grid cell keys on it all the same)
NOT_RESULT = not_result_fields(TrainConfig)


def read_ratios(run_dir: str | Path) -> list[dict[str, float]]:
    """The steps of ``metrics.jsonl`` that logged a gradient-norm ratio (``gratio_<term>``,
    :func:`ci_inpaint.losses.gan.grad_norm_ratios`)."""
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [h for h in map(json.loads, filter(str.strip, lines))
            if any(k.startswith("gratio_") for k in h)]


def ratio_medians(history: list[dict[str, float]]) -> dict[str, float]:
    """Median over the second half of training of each logged ``gratio_<term>``: the balance
    of each G term against the adversarial term once the first transient is over."""
    import numpy as np

    keys = sorted({k for h in history for k in h if k.startswith("gratio_")})
    half = history[len(history) // 2:]
    return {k: float(np.median([h[k] for h in half if k in h])) for k in keys}


def _comparable(d: dict[str, Any]) -> dict[str, Any]:
    d = yaml.safe_load(yaml.safe_dump(d, sort_keys=True))  # tuples -> lists, as config.yaml has them
    return {k: v for k, v in d.items() if k not in NOT_RESULT and k != "method"}


def saved_config(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / "config.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def is_finished(run_dir: str | Path, method: str, cfg_dict: dict[str, Any],
                sources: dict[str, str] | None = None) -> bool:
    d = Path(run_dir)
    saved = saved_config(d)
    return (saved is not None and saved.get("method") == method and (d / "result.json").is_file()
            and (d / "checkpoints" / "last.pt").is_file()
            and _comparable(saved) == _comparable(cfg_dict)
            and (sources is None or read_sources(d) == sources))


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> RunResult:
    """The finished run in ``run_dir``: its method rebuilt from config.yaml with the trained
    weights of checkpoints/last.pt (EMA copies in ``result.method.loaded_ema``), its metrics
    from result.json."""
    d = Path(run_dir)
    saved = saved_config(d)
    if saved is None or not (d / "checkpoints" / "last.pt").is_file():
        raise CheckpointError(f"{d} holds no finished run (config.yaml and checkpoints/last.pt): "
                              "train it first")
    cls = get_method(saved["method"])
    cfg = resolve_config(cls.Config, saved.get("profile", "quick"), config_file=d / "config.yaml",
                         method=saved["method"])
    st = read_checkpoint(d / "checkpoints" / "last.pt", saved["method"], d)
    seed_everything(cfg.seed)
    method = cls(cfg, torch.device(device))
    mods = method.modules()
    for k, m in mods.items():
        m.load_state_dict(st["modules"][k])
        m.eval()
    method.load_extra_state(st.get("extra", {}))
    ema = {}
    for k, sd in st.get("ema", {}).items():
        ema[k] = copy.deepcopy(mods[k]).requires_grad_(False)
        ema[k].load_state_dict(sd)
        ema[k].eval()
    method.loaded_ema = ema
    res_path = d / "result.json"
    res = json.loads(res_path.read_text()) if res_path.is_file() else {}
    return RunResult(d, method, cfg, [], res.get("metrics", {}), int(st.get("step", 0)),
                     float(res.get("wall_s", 0.0)))


def train_run(method: str, run_dir: str | Path, profile: str = "quick", **knobs: Any) -> RunResult:
    """Train ``method`` into ``run_dir`` unless that run is finished (then load it), resuming a
    killed run of the same config. ``knobs``: config overrides (``threads=1`` for small nets)."""
    d = Path(run_dir)
    cls = get_method(method)
    cfg = resolve_config(cls.Config, profile, knobs, method=method)
    sources = cls.sources(cfg)
    if is_finished(d, method, {"method": method, **cfg.to_dict()}, sources):
        return load_run(d)
    saved = saved_config(d)
    resume = ((d / "checkpoints" / "last.pt").is_file() and saved is not None
              and saved.get("method") == method
              and _comparable(saved) == _comparable(cfg.to_dict())
              and read_sources(d) == sources)
    if resume:
        try:
            return train(method, profile, d, resume=True, **knobs)
        except CheckpointError:
            pass  # unreadable or incompatible checkpoint: start over below
    return train(method, profile, d, overwrite=True, **knobs)


__all__ = ["NOT_RESULT", "is_finished", "load_run", "ratio_medians", "read_ratios", "saved_config",
           "train_run"]
