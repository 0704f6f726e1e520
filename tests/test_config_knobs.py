"""Config facts beside each field (knob), the study profile, and the presets hook."""

from dataclasses import dataclass
from typing import ClassVar

import pytest

from ci_inpaint.config import (
    PROFILES,
    TrainConfig,
    knob,
    merged_table,
    not_result_fields,
    profile_overrides,
    resolve_config,
    resumable_fields,
)
from ci_inpaint.engine import RESUMABLE_CHANGES
from ci_inpaint.errors import ConfigError
from ci_inpaint.experiments.runs import NOT_RESULT


def test_derived_tables_equal_the_hand_written_ones_they_replace():
    assert RESUMABLE_CHANGES == {"steps", "progress", "log_every", "ckpt_every", "eval_every",
                                 "num_workers", "device", "data_root", "threads", "amp",
                                 "grad_clip"}
    assert NOT_RESULT == {"threads", "progress", "num_workers", "log_every", "device"}
    assert merged_table(TrainConfig, "RANGES") == {
        "steps": ">= 1", "batch_size": ">= 1", "num_workers": ">= 0", "log_every": ">= 1",
        "ckpt_every": ">= 1", "eval_every": ">= 0", "ema_decay": "[0, 1)", "grad_clip": ">= 0",
        "threads": ">= 0"}
    assert merged_table(TrainConfig, "CHOICES") == {
        "profile": PROFILES, "amp": ("auto", "bf16", "fp16", "off"), "best_mode": ("min", "max"),
        "progress": ("auto", "on", "off")}


@dataclass
class _Cfg(TrainConfig):
    width: int = knob(8, range=">= 2")
    mode: str = knob("a", choices=("a", "b"), resumable=True)
    depth: int = knob(1, choices=(0, 1, 2))  # integer choices get the same one-line error
    layers: list = knob([1, 2])
    old: float = 0.5  # a not yet converted field, ruled by the class dict below
    lam: float = -1.0  # -1: the preset's value, resolved by resolve_presets
    RANGES: ClassVar[dict[str, str]] = {"old": "(0, 1)"}
    PROFILES: ClassVar[dict] = {"quick": {"width": 16, "steps": 50},
                                "study": {"steps": 500}}

    def resolve_presets(self) -> None:
        if self.lam == -1.0:
            self.lam = 10.0 if self.mode == "b" else 1.0


def test_knob_facts_are_checked_and_derived():
    assert merged_table(_Cfg, "RANGES")["width"] == ">= 2"
    assert merged_table(_Cfg, "RANGES")["old"] == "(0, 1)"
    assert "mode" in resumable_fields(_Cfg) and "width" not in resumable_fields(_Cfg)
    assert not_result_fields(_Cfg) == NOT_RESULT
    with pytest.raises(ConfigError, match="width must be >= 2"):
        resolve_config(_Cfg, "quick", {"width": 1})
    with pytest.raises(ConfigError, match="mode must be one of a, b"):
        resolve_config(_Cfg, "quick", {"mode": "c"})
    with pytest.raises(ConfigError, match="depth must be one of 0, 1, 2, not 5: pass e.g. --set depth=1"):
        resolve_config(_Cfg, "quick", {"depth": 5})
    with pytest.raises(ConfigError, match=r"old must be \(0, 1\)"):
        resolve_config(_Cfg, "quick", {"old": 2})
    a, b = _Cfg(), _Cfg()
    a.layers.append(3)
    assert b.layers == [1, 2]  # a mutable default is not shared


def test_study_is_quick_then_its_own_overrides():
    q, s = profile_overrides(_Cfg, "quick"), profile_overrides(_Cfg, "study")
    assert q == {"width": 16, "steps": 50}
    assert s == {"width": 16, "steps": 500}
    assert profile_overrides(TrainConfig, "study") == profile_overrides(TrainConfig, "quick")
    cfg = resolve_config(_Cfg, "study")
    assert (cfg.profile, cfg.steps, cfg.width) == ("study", 500, 16)


def test_presets_are_resolved_before_the_config_is_used():
    assert resolve_config(_Cfg, "quick").lam == 1.0
    assert resolve_config(_Cfg, "quick", {"mode": "b"}).lam == 10.0
    assert resolve_config(_Cfg, "quick", {"lam": 3}).lam == 3.0


def test_a_fastcut_run_records_its_preset_values_and_resumes(tmp_path):
    """config.yaml and the checkpoint hold the values a fastcut run used (not -1 / "auto"), and
    a resume (same knobs, or from config.yaml) is accepted against them."""
    import torch
    import yaml

    from ci_inpaint.engine import train

    d = tmp_path / "fast"
    train("cut", "smoke", d, steps=2, cut_mode="fastcut", progress="off")
    saved = yaml.safe_load((d / "config.yaml").read_text())
    assert (saved["lambda_nce"], saved["nce_idt"], saved["flip_equivariance"]) == (10.0, "off", "on")
    ckpt = torch.load(d / "checkpoints" / "last.pt", weights_only=False)
    assert {k: ckpt["config"][k] for k in ("lambda_nce", "nce_idt", "flip_equivariance")} == \
        {"lambda_nce": 10.0, "nce_idt": "off", "flip_equivariance": "on"}
    res = train("cut", "smoke", d, steps=3, cut_mode="fastcut", progress="off", resume=True)
    assert res.steps_done == 3 and not (d / "resumes.jsonl").exists()
    assert yaml.safe_load((d / "config.yaml").read_text()) == {**saved, "steps": 3}
    res = train("cut", "smoke", d, steps=4, config_file=d / "config.yaml", resume=True,
                progress="off")
    assert res.steps_done == 4 and res.cfg.lambda_nce == 10.0
