"""Typed run configuration: one dataclass per method, three profiles, overrides from CLI/YAML/papermill.

Every method declares ``Config``, a subclass of :class:`TrainConfig`, whose fields carry a type and
a comment. A *profile* is a dict of overrides applied on top of the dataclass defaults:

* ``smoke`` -- seconds, for CI and nbval;
* ``quick`` -- minutes on a laptop CPU (the default, and what the committed notebooks show);
* ``full``  -- the paper's scale (GPU).

Resolution order (later wins): dataclass defaults -> profile -> YAML file -> ``key=value`` pairs.
The same function serves the CLI (``--set``/``--config``), notebooks (papermill parameters) and
tests, so a notebook run and a CLI run with the same values are the same run.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .errors import ConfigError

PROFILES = ("smoke", "quick", "full")


@dataclass
class TrainConfig:
    """Fields every method shares. Methods subclass this and add their own knobs."""

    profile: str = "quick"  # smoke | quick | full: which PROFILES entry was applied
    seed: int = 0  # seeds python, numpy and torch; same seed -> same losses on CPU
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    amp: str = "auto"  # auto (bf16 on CUDA if supported, else fp16) | bf16 | fp16 | off
    channels_last: bool = True  # NHWC memory format on CUDA (ignored on CPU)
    steps: int = 1000  # optimisation steps (one step = one train_step call)
    batch_size: int = 32  # per process; under torchrun the global batch is world_size x this
    num_workers: int = 0  # DataLoader workers (0 = load in the main process)
    data_root: str = ""  # root of a real dataset; empty = use the bundled/synthetic data
    log_every: int = 10  # metrics.jsonl gets every step; TensorBoard, the bar and history N-step means
    ckpt_every: int = 200  # write checkpoints/last.pt every N steps (and at the end)
    eval_every: int = 0  # run Method.evaluate every N steps (0 = only at the end)
    best_metric: str = ""  # a key of evaluate()'s dict that picks best.pt ("" = no best.pt)
    best_mode: str = "min"  # min | max: whether a smaller or larger best_metric is better
    ema_decay: float = 0.0  # >0 keeps an EMA copy of the modules named in Method.ema_modules
    grad_clip: float = 0.0  # >0 clips each optimiser's gradient norm to this value
    progress: str = "auto"  # auto | on | off: tqdm bar (auto = only in an interactive terminal)

    # per-profile overrides; subclasses extend these dicts (see profile_overrides)
    PROFILES: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"steps": 6, "batch_size": 8, "log_every": 1, "ckpt_every": 3},
        "quick": {},
        "full": {},
    }

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def profile_overrides(cls: type[TrainConfig], profile: str) -> dict[str, Any]:
    """Merge PROFILES[profile] along the class hierarchy (base first, subclass wins)."""
    if profile not in PROFILES:
        raise ConfigError(
            f"unknown profile {profile!r}: use one of {', '.join(PROFILES)} (e.g. --profile quick)"
        )
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        table = klass.__dict__.get("PROFILES")
        if table and profile in table:
            out.update(table[profile])
    return out


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def coerce(name: str, value: Any, tp: Any) -> Any:
    """Convert ``value`` (possibly a string from the command line) to the field's type, or raise."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return coerce(name, value, args[0])
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (str,)
        if isinstance(value, str):
            value = [v for v in value.strip("[]() ").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {value!r}: write {name}=a,b,c")
        items = [coerce(name, v.strip() if isinstance(v, str) else v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    bad = ConfigError(
        f"{name}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__}): "
        f"pass a valid {_type_name(tp)}, e.g. --set {name}=..."
    )
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
            return False
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise bad
    if tp is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                try:
                    f = float(value)
                except ValueError:
                    raise bad from None
                if f.is_integer():
                    return int(f)
        raise bad
    if tp is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        raise bad
    if tp is str:
        if isinstance(value, (str, Path)):
            return str(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    return value


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """``["lr=1e-4", "steps=10"]`` -> dict; a pair without '=' is a user error."""
    out: dict[str, str] = {}
    for p in pairs or []:
        if "=" not in p:
            raise ConfigError(f"--set {p!r}: expected key=value, e.g. --set steps=100")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist: pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {p} is not valid YAML ({e.__class__.__name__}): fix its syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping of key: value, not {type(data).__name__}")
    data.pop("method", None)  # a saved config.yaml names its method; resolve_config checks it
    return data


def resolve_config(
    cls: type[TrainConfig],
    profile: str = "quick",
    overrides: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
) -> TrainConfig:
    """Defaults -> profile -> YAML -> overrides, each value type-checked against its field."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    layers = [("profile " + profile, profile_overrides(cls, profile))]
    if config_file:
        layers.append((f"config {config_file}", load_yaml(config_file)))
    layers.append(("overrides", dict(overrides or {})))
    for where, layer in layers:
        for k, v in layer.items():
            if k not in fields:
                known = ", ".join(sorted(fields))
                raise ConfigError(f"unknown config key {k!r} (from {where}): known keys are {known}")
            values[k] = coerce(k, v, hints[k])
    values["profile"] = profile
    cfg = cls(**values)
    check_common(cfg)
    return cfg


def check_common(cfg: TrainConfig) -> None:
    if cfg.steps < 1:
        raise ConfigError(f"steps must be >= 1, got {cfg.steps}: pass --set steps=N")
    if cfg.batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {cfg.batch_size}")
    if cfg.amp not in ("auto", "bf16", "fp16", "off"):
        raise ConfigError(f"amp must be auto, bf16, fp16 or off, not {cfg.amp!r}")
    if cfg.best_mode not in ("min", "max"):
        raise ConfigError(f"best_mode must be min or max, not {cfg.best_mode!r}")
    if cfg.progress not in ("auto", "on", "off"):
        raise ConfigError(f"progress must be auto, on or off, not {cfg.progress!r}")
    if not (0.0 <= cfg.ema_decay < 1.0):
        raise ConfigError(f"ema_decay must be in [0, 1), got {cfg.ema_decay}")


def describe(cls: type[TrainConfig]) -> list[tuple[str, str, Any]]:
    """(name, type, default) rows, e.g. for --help."""
    hints = typing.get_type_hints(cls)
    return [
        (f.name, _type_name(hints[f.name]), f.default if f.default is not dataclasses.MISSING else None)
        for f in dataclasses.fields(cls)
    ]


__all__ = [
    "PROFILES",
    "TrainConfig",
    "coerce",
    "describe",
    "field",
    "load_yaml",
    "parse_sets",
    "profile_overrides",
    "resolve_config",
]
