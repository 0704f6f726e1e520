"""Typed run configuration: one dataclass per method, three profiles, overrides from CLI/YAML/papermill.

Every method declares ``Config``, a subclass of :class:`TrainConfig`, whose fields carry a type and
a comment. A *profile* is a dict of overrides applied on top of the dataclass defaults:

* ``smoke`` -- seconds, for CI and nbval;
* ``quick`` -- minutes on a laptop CPU (the default, and what the committed notebooks show);
* ``study`` -- every variant of the paper's tables over enough seeds (<= 30 min per notebook):
  the ``quick`` overrides with the class's own ``study`` overrides on top, so a method without a
  ``study`` entry trains as at ``quick`` (the notebook adds seeds and variants);
* ``full``  -- the paper's scale (GPU).

Facts about a field sit beside it (:func:`knob`): its allowed range or choices, whether it may
change when a run resumes, and whether it can change a result; :data:`TrainConfig.RANGES`-style
tables, ``RESUMABLE_CHANGES`` and ``NOT_RESULT`` are derived from them (:func:`merged_table`,
:func:`resumable_fields`, :func:`not_result_fields`). Sentinel presets are resolved by
:meth:`TrainConfig.resolve_presets` before the config is checked and written, so a run's
config.yaml records the values used.

Resolution order (later wins): dataclass defaults -> profile -> YAML file -> ``key=value`` pairs.
The same function serves the CLI (``--set``/``--config``), notebooks (papermill parameters) and
tests, so a notebook run and a CLI run with the same values are the same run.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .errors import ConfigError

PROFILES = ("smoke", "quick", "study", "full")


def knob(default: Any, *, range: str | None = None, choices: tuple[str, ...] | None = None,
         resumable: bool = False, result: bool = True) -> Any:
    """A config field with its facts: ``range`` (a :func:`check_values` rule such as ``">= 1"``
    or ``"[0, 1)"``), ``choices`` (the allowed strings), ``resumable`` (may differ between a run
    and its resume) and ``result`` (False: changes speed or logging only, never a number)."""
    meta = {"range": range, "choices": tuple(choices) if choices else None,
            "resumable": resumable, "result": result}
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Fields every method shares. Methods subclass this and add their own knobs."""

    profile: str = knob("quick", choices=PROFILES)  # which PROFILES entry was applied
    seed: int = 0  # seeds python, numpy and torch; same seed -> same losses on CPU
    device: str = knob("auto", resumable=True, result=False)  # auto | cpu | cuda | cuda:N | mps
    amp: str = knob("auto", choices=("auto", "bf16", "fp16", "off"), resumable=True)  # auto: bf16 on CUDA if supported, else fp16
    channels_last: bool = True  # NHWC memory format on CUDA (ignored on CPU)
    steps: int = knob(1000, range=">= 1", resumable=True)  # optimisation steps (one step = one train_step call)
    batch_size: int = knob(32, range=">= 1")  # per process; under torchrun the global batch is world_size x this
    num_workers: int = knob(0, range=">= 0", resumable=True, result=False)  # DataLoader workers (0 = main process)
    data_root: str = knob("", resumable=True)  # root of a real dataset; empty = use the bundled/synthetic data
    log_every: int = knob(10, range=">= 1", resumable=True, result=False)  # metrics.jsonl gets every step; TensorBoard, the bar and history N-step means
    ckpt_every: int = knob(200, range=">= 1", resumable=True)  # write checkpoints/last.pt every N steps (and at the end)
    eval_every: int = knob(0, range=">= 0", resumable=True)  # run Method.evaluate every N steps (0 = only at the end)
    best_metric: str = ""  # a key of evaluate()'s dict that picks best.pt ("" = no best.pt)
    best_mode: str = knob("min", choices=("min", "max"))  # whether a smaller or larger best_metric is better
    ema_decay: float = knob(0.0, range="[0, 1)")  # >0 keeps an EMA copy of the modules named in Method.ema_modules
    grad_clip: float = knob(0.0, range=">= 0", resumable=True)  # >0 clips each optimiser's gradient norm to this value
    progress: str = knob("auto", choices=("auto", "on", "off"), resumable=True, result=False)  # tqdm bar (auto = only in an interactive terminal)
    threads: int = knob(0, range=">= 0", resumable=True, result=False)  # torch intra-op threads while this run trains (0 = the process default)
    sync_batchnorm: bool = False  # torchrun on GPUs: SyncBatchNorm (default: rank 0's BN buffers broadcast)

    # per-profile overrides; subclasses extend these dicts (see profile_overrides)
    PROFILES: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"steps": 6, "batch_size": 8, "log_every": 1, "ckpt_every": 3},
        "quick": {},
        "full": {},
    }
    # allowed values: knob(range=..., choices=...) beside a field; subclasses not yet converted
    # may still extend these dicts like PROFILES (merged_table reads both). RANGES: "> 0",
    # ">= 1", "[0, 1)", "(0, 1]" ...; every float field must also be finite.
    RANGES: ClassVar[dict[str, str]] = {}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}

    def resolve_presets(self) -> None:
        """Replace sentinel values (e.g. ``-1`` = "the preset's value") by the values used;
        called by :func:`resolve_config` before the checks, so config.yaml records them."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def profile_overrides(cls: type[TrainConfig], profile: str) -> dict[str, Any]:
    """Merge PROFILES[profile] along the class hierarchy (base first, subclass wins)."""
    if profile not in PROFILES:
        raise ConfigError(
            f"unknown profile {profile!r}: use one of {', '.join(PROFILES)} (e.g. --profile quick)"
        )
    out: dict[str, Any] = {}
    # study: every class's quick overrides, then every class's study overrides on top
    for name in (("quick", "study") if profile == "study" else (profile,)):
        for klass in reversed(cls.__mro__):
            table = klass.__dict__.get("PROFILES")
            if table and name in table:
                out.update(table[name])
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
    """The mapping in a YAML file (a saved config.yaml keeps its ``method:`` key)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist: pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {p} is not valid YAML ({e.__class__.__name__}): fix its syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping of key: value, not {type(data).__name__}")
    return data


_META = {"RANGES": "range", "CHOICES": "choices"}


def merged_table(cls: type, attr: str) -> dict[str, Any]:
    """RANGES or CHOICES of a config class: its fields' :func:`knob` facts, then the ClassVar
    dicts of classes not yet converted, merged along the class hierarchy (subclass wins)."""
    out: dict[str, Any] = {}
    if attr in _META and dataclasses.is_dataclass(cls):
        out.update({f.name: f.metadata[_META[attr]] for f in dataclasses.fields(cls)
                    if f.metadata.get(_META[attr]) is not None})
    for klass in reversed(cls.__mro__):
        out.update(klass.__dict__.get(attr) or {})
    return out


def resumable_fields(cls: type) -> frozenset[str]:
    """Fields marked ``knob(resumable=True)``: they may differ between a run and its resume."""
    return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("resumable"))


def not_result_fields(cls: type) -> frozenset[str]:
    """Fields marked ``knob(result=False)``: speed or logging only, never a number of a run."""
    return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("result") is False)


def resolve_config(
    cls: type[TrainConfig],
    profile: str = "quick",
    overrides: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
    method: str | None = None,
) -> TrainConfig:
    """Defaults -> profile -> YAML -> overrides, each value type-checked against its field.

    ``method``: the method being configured; a YAML file whose ``method:`` names another one is
    refused. ``profile`` is chosen by the argument only: a ``profile`` key in the YAML (a saved
    config.yaml) must agree with it, and one among the overrides is refused.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    layers = [("profile " + profile, profile_overrides(cls, profile))]
    if config_file:
        data = load_yaml(config_file)
        other = data.pop("method", None)
        if method and other not in (None, method):
            raise ConfigError(f"config file {config_file} is for method {other!r}, not {method!r}: "
                              f"train {other} with it, or drop its 'method:' line")
        saved_profile = data.pop("profile", profile)
        if saved_profile != profile:
            raise ConfigError(f"config file {config_file} was resolved with profile {saved_profile!r}, "
                              f"not {profile!r}: pass --profile {saved_profile}")
        layers.append((f"config {config_file}", data))
    over = dict(overrides or {})
    if "profile" in over:
        raise ConfigError(f"profile cannot be set as a key (got profile={over['profile']!r}): "
                          "pass --profile NAME (papermill: -p profile NAME)")
    layers.append(("overrides", over))
    for where, layer in layers:
        for k, v in layer.items():
            if k not in fields:
                known = ", ".join(sorted(fields))
                raise ConfigError(f"unknown config key {k!r} (from {where}): known keys are {known}")
            values[k] = coerce(k, v, hints[k])
    values["profile"] = profile
    cfg = cls(**values)
    cfg.resolve_presets()
    check_values(cfg)
    return cfg


def _in_range(x: float, rule: str) -> bool:
    rule = rule.strip()
    if rule[0] in "[(":
        lo, hi = (float(t) for t in rule[1:-1].split(","))
        return (lo <= x if rule[0] == "[" else lo < x) and (x <= hi if rule[-1] == "]" else x < hi)
    op, bound = rule.split()
    b = float(bound)
    return {">": x > b, ">=": x >= b, "<": x < b, "<=": x <= b, "!=": x != b}[op]


def check_values(cfg: TrainConfig) -> None:
    """Every float finite, every RANGES / CHOICES rule of the class hierarchy, one error each."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if hints[f.name] is float and not math.isfinite(v):
            raise ConfigError(f"{f.name} must be a finite number, got {v}: pass e.g. --set {f.name}=...")
    for name, rule in merged_table(type(cfg), "RANGES").items():
        v = getattr(cfg, name)
        if not _in_range(v, rule):
            raise ConfigError(f"{name} must be {rule}, got {v}: pass e.g. --set {name}=... in that range")
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)}
    for name, allowed in merged_table(type(cfg), "CHOICES").items():
        v = getattr(cfg, name)
        if v not in allowed:
            hint = defaults.get(name) if defaults.get(name) in allowed else allowed[0]
            raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}, not {v!r}: "
                              f"pass e.g. --set {name}={hint}")


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
    "check_values",
    "knob",
    "not_result_fields",
    "resumable_fields",
    "load_yaml",
    "merged_table",
    "parse_sets",
    "profile_overrides",
    "resolve_config",
]
