"""Config resolution (profiles, YAML, --set, types) and the CLI's user-error contract."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

import pytest

from ci_inpaint.cli import build_parser, main
from ci_inpaint.config import TrainConfig, coerce, parse_sets, resolve_config
from ci_inpaint.errors import ConfigError


@dataclass
class _Cfg(TrainConfig):
    lr: float = 1e-3
    layers: tuple[int, ...] = (1, 2)
    name: str = "a"
    PROFILES: ClassVar = {"smoke": {"lr": 0.5}, "full": {"steps": 999}}


def test_profile_layers_merge_along_the_class_hierarchy():
    smoke = resolve_config(_Cfg, "smoke")
    assert smoke.lr == 0.5 and smoke.steps == 6 and smoke.batch_size == 8  # base smoke + own
    full = resolve_config(_Cfg, "full")
    assert full.steps == 999 and full.lr == 1e-3 and full.profile == "full"
    assert resolve_config(_Cfg, "quick").steps == TrainConfig.steps


def test_precedence_profile_then_yaml_then_overrides(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("lr: 0.25\nsteps: 40\nmethod: whatever\n")
    cfg = resolve_config(_Cfg, "smoke", {"steps": "41"}, y)
    assert cfg.lr == 0.25 and cfg.steps == 41


def test_types_are_coerced_or_rejected():
    assert coerce("x", "3", int) == 3 and coerce("x", "1e3", int) == 1000
    assert coerce("x", "true", bool) is True and coerce("x", "off", bool) is False
    assert coerce("x", "0.5", float) == 0.5
    assert coerce("x", "1,2,3", tuple[int, ...]) == (1, 2, 3)
    for value, tp in [("abc", int), ("2.5", int), ("maybe", bool), ("x", float), (True, int)]:
        with pytest.raises(ConfigError, match="expected"):
            coerce("x", value, tp)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"profile": "medium"}, "unknown profile 'medium'"),
        ({"overrides": {"nope": 1}}, "unknown config key 'nope'"),
        ({"overrides": {"steps": 0}}, "steps must be >= 1"),
        ({"overrides": {"amp": "fp8"}}, "amp must be"),
    ],
)
def test_config_errors_name_the_problem(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config(_Cfg, **kwargs)


def test_bad_yaml_and_set_syntax(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        resolve_config(_Cfg, "quick", None, bad)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config(_Cfg, "quick", None, tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="key=value"):
        parse_sets(["steps"])


VERBS = [["train"], ["notebooks"], ["notebooks", "run"], ["notebooks", "sweep"], ["weights"], ["weights", "status"],
         ["weights", "fetch"], ["data"], ["data", "list"], ["bench"]]


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: " ".join(v))
def test_every_verb_has_help(verb, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([*verb, "--help"])
    assert e.value.code == 0
    assert "usage: ci-inpaint" in capsys.readouterr().out


def test_train_help_lists_registered_methods(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    out = capsys.readouterr().out
    for name in ("toy_regression", "divco", "divco_toy"):
        assert name in out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["train", "nope", "--out", "X"], "unknown method 'nope'"),
        (["train", "toy_regression", "--profile", "huge", "--out", "X"], "unknown profile"),
        (["train", "toy_regression", "--set", "steps=ten", "--out", "X"], "steps: expected int"),
        (["train", "toy_regression", "--set", "colour=red", "--out", "X"], "unknown config key"),
        (["train", "toy_regression"], "--out RUN_DIR is required"),
    ],
)
def test_user_errors_are_one_line_exit_2(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err and "Traceback" not in err


def test_missing_data_root_is_a_user_error(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "ci_inpaint.cli", "train", "divco", "--profile", "smoke", "--out",
         str(tmp_path / "r"), "--set", "dataset=cifar10", f"data_root={tmp_path / 'nowhere'}"],
        capture_output=True, text=True,
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "nowhere" in r.stderr


def test_show_config_prints_resolved_yaml(capsys):
    assert main(["train", "toy_regression", "--profile", "smoke", "--set", "lr_body=0.3",
                 "--show-config"]) == 0
    out = capsys.readouterr().out
    assert "method: toy_regression" in out and "lr_body: 0.3" in out and "steps: 20" in out
