"""Engine hardening: CUDA-safe resume, deferred NaN checks, frozen modules, faults, bad input.

Each test reproduces one fault from the reliability audit (issue 7) and checks the fix.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from torch import nn

from ci_inpaint import cli
from ci_inpaint.config import TrainConfig
from ci_inpaint.engine import Engine, train
from ci_inpaint.errors import CheckpointError, ConfigError, NonFiniteLossError, StorageError
from ci_inpaint.methods import Method, register

CLI = [sys.executable, "-m", "ci_inpaint.cli"]
SMOKE = dict(progress="off")


def _rows(d: Path) -> list[dict]:
    return [json.loads(ln) for ln in (d / "metrics.jsonl").read_text().splitlines() if ln.strip()]


# ----------------------------------------------------------------------------- resume on GPU runs
def test_checkpoint_is_loaded_to_cpu_and_rng_state_stays_a_cpu_byte_tensor(tmp_path, monkeypatch):
    """A GPU run's checkpoint used to be loaded with map_location=cuda, which moved the RNG byte
    tensors to the GPU and made torch.set_rng_state reject them. Loading must map to the CPU."""
    d = tmp_path / "r"
    train("toy_regression", "smoke", d, steps=5, **SMOKE)
    real_load, seen = torch.load, []

    def spy(*a, **k):
        seen.append(k.get("map_location"))
        return real_load(*a, **k)

    def strict_set_rng_state(t):  # what torch.set_rng_state demands
        assert t.device.type == "cpu" and t.dtype == torch.uint8
        real_set(t)

    real_set = torch.set_rng_state
    monkeypatch.setattr(torch, "load", spy)
    monkeypatch.setattr(torch, "set_rng_state", strict_set_rng_state)
    res = train("toy_regression", "smoke", d, steps=8, resume=True, **SMOKE)
    assert seen == ["cpu"] and res.steps_done == 8


def test_one_checkpoint_reader_for_resume_and_load_run(tmp_path):
    """The engine's resume and load_run read checkpoints through read_checkpoint: the same
    one-line errors for a corrupt file, a foreign file and another method's run."""
    from ci_inpaint.engine import read_checkpoint
    from ci_inpaint.experiments import load_run

    d = tmp_path / "r"
    train("toy_regression", "smoke", d, steps=3, **SMOKE)
    ckpt = d / "checkpoints" / "last.pt"
    assert read_checkpoint(ckpt, "toy_regression")["step"] == 3
    with pytest.raises(CheckpointError, match="holds a 'toy_regression' run, not 'cut'"):
        read_checkpoint(ckpt, "cut")
    assert load_run(d).steps_done == 3
    torch.save({"weights": 1}, ckpt)
    with pytest.raises(CheckpointError, match="not a ci_inpaint checkpoint"):
        load_run(d)
    ckpt.write_bytes(b"not a torch file")
    for call in (lambda: load_run(d),
                 lambda: train("toy_regression", "smoke", d, steps=5, resume=True, **SMOKE)):
        with pytest.raises(CheckpointError, match="corrupt or unreadable"):
            call()


def test_optimizer_state_follows_the_parameters_after_a_cpu_mapped_load(tmp_path):
    d = tmp_path / "r"
    train("toy_regression", "smoke", d, steps=5, **SMOKE)
    st = torch.load(d / "checkpoints" / "last.pt", weights_only=False)
    # a checkpoint saved from another dtype/device layout: optimizer state as float64
    for s in st["optimizers"]["head"]["state"].values():
        s["exp_avg"] = s["exp_avg"].double()
    torch.save(st, d / "checkpoints" / "last.pt")
    res = train("toy_regression", "smoke", d, steps=6, resume=True, **SMOKE)
    for p in res.method.head.parameters():
        assert res.method.opt_head.state[p]["exp_avg"].dtype == p.dtype  # cast to the param


# ----------------------------------------------------------------------------- NaN without syncs
def test_nan_is_found_at_the_next_check_and_names_the_first_bad_step(tmp_path):
    d = tmp_path / "r"
    with pytest.raises(NonFiniteLossError, match=r"step 9: loss term 'mse' of optimiser 'head'") as e:
        train("toy_regression", "smoke", d, inject_nan_step=9, log_every=4, ckpt_every=8, **SMOKE)
    assert "checkpoints/last.pt (step 8)" in str(e.value) and "--resume" in str(e.value)
    st = torch.load(d / "checkpoints" / "last.pt", weights_only=False)
    assert st["step"] == 8
    assert all(torch.isfinite(v).all() for sd in st["modules"].values() for v in sd.values())
    assert [r["step"] for r in _rows(d)] == list(range(1, 10))  # the good steps, no NaN line


def test_nan_before_the_first_checkpoint_says_so_and_a_rerun_starts(tmp_path):
    d = tmp_path / "r"
    with pytest.raises(NonFiniteLossError, match="before the first checkpoint") as e:
        train("toy_regression", "smoke", d, inject_nan_step=2, ckpt_every=10, **SMOKE)
    assert "last.pt" not in str(e.value)
    res = train("toy_regression", "smoke", d, ckpt_every=10, **SMOKE)  # not a run yet: it starts
    assert res.steps_done == 20


def test_flush_is_called_only_at_log_eval_and_checkpoint_boundaries(tmp_path, monkeypatch):
    calls = []
    real = Engine._flush

    def counting(self):
        calls.append(self.step)
        return real(self)

    monkeypatch.setattr(Engine, "_flush", counting)
    train("toy_regression", "smoke", tmp_path / "r", steps=20, log_every=10, ckpt_every=20, **SMOKE)
    assert set(calls) == {10, 20}  # never per step


def test_after_nan_the_advice_works_lower_lr_and_resume(tmp_path):
    d = tmp_path / "r"
    with pytest.raises(NonFiniteLossError):
        train("toy_regression", "smoke", d, inject_nan_step=12, **SMOKE)
    # the injected NaN is tied to a step index, so stand in for "the fix worked" by removing it
    # from the checkpoint's config; the advised changes themselves must be accepted on resume
    st = torch.load(d / "checkpoints" / "last.pt", weights_only=False)
    st["config"]["inject_nan_step"] = -1
    torch.save(st, d / "checkpoints" / "last.pt")
    res = train("toy_regression", "smoke", d, lr_body=5e-3, grad_clip=1.0, amp="off",
                resume=True, **SMOKE)
    assert res.steps_done == 20 and res.method.opt_body.param_groups[0]["lr"] == 5e-3


# ----------------------------------------------------------------------------- frozen modules
@dataclass
class _FrozenCfg(TrainConfig):
    in_optimizer: bool = False
    PROFILES: ClassVar = {"smoke": {"steps": 6, "batch_size": 4, "log_every": 2, "ckpt_every": 3}}


@register
class _WithFrozen(Method):
    name = "_test_with_frozen"
    Config = _FrozenCfg
    reads_data_root = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        torch.manual_seed(123)  # "pretrained": the same weights every time
        self.classifier = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8),  # 0-dim buffer too
                                        nn.Dropout(0.5), nn.Linear(8, 2))
        self.G = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.1))
        self.G[1].eval()  # a submodule the method keeps in eval mode on purpose
        params = list(self.G.parameters())
        if cfg.in_optimizer:
            params += list(self.classifier.parameters())
        self.opt = torch.optim.SGD(params, lr=0.1)
        self.modes: list[tuple[bool, bool]] = []

    def modules(self):
        return {"G": self.G}

    def optimizers(self):
        return {"G": self.opt}

    def frozen_modules(self):
        return {"classifier": self.classifier}

    def train_step(self, batch, ctx):
        self.modes.append((ctx.frozen["classifier"].training, self.G[0].training))
        z = torch.randn(4, 2)
        logits = ctx.frozen["classifier"](self.G(z))
        loss = nn.functional.cross_entropy(logits, torch.zeros(4, dtype=torch.long))
        ctx.optimize("G", loss)
        return {"ce": loss.detach()}

    def evaluate(self, ctx):
        return {"training_during_eval": float(self.G[0].training)}


def test_frozen_modules_stay_in_eval_without_grad_and_modes_are_restored(tmp_path):
    res = train("_test_with_frozen", "smoke", tmp_path / "r", eval_every=2, **SMOKE)
    m = res.method
    assert m.modes and all(m.modes[i] == (False, True) for i in range(len(m.modes)))
    assert all(not p.requires_grad for p in m.classifier.parameters())
    assert all(p.grad is None for p in m.classifier.parameters())
    assert m.G[1].training is False  # its own eval mode survives train() and evaluation
    assert res.metrics["training_during_eval"] == 0.0
    st = torch.load(tmp_path / "r" / "checkpoints" / "last.pt", weights_only=False)
    assert "classifier" not in st["modules"] and set(st["frozen"]) == {"classifier"}


def test_frozen_module_in_an_optimizer_is_refused(tmp_path):
    with pytest.raises(ValueError, match="frozen module 'classifier' has parameters in an optimiser"):
        train("_test_with_frozen", "smoke", tmp_path / "r", in_optimizer=True, **SMOKE)


def test_resume_refuses_a_different_frozen_module(tmp_path):
    d = tmp_path / "r"
    train("_test_with_frozen", "smoke", d, steps=3, **SMOKE)
    st = torch.load(d / "checkpoints" / "last.pt", weights_only=False)
    st["frozen"]["classifier"] = "0" * 16
    torch.save(st, d / "checkpoints" / "last.pt")
    with pytest.raises(CheckpointError, match="frozen module.*classifier"):
        train("_test_with_frozen", "smoke", d, resume=True, **SMOKE)


# ----------------------------------------------------------------------------- threads
def test_threads_apply_during_the_run_only(tmp_path, monkeypatch):
    before = torch.get_num_threads()
    seen = []
    from ci_inpaint.methods.toy_regression import ToyRegression

    real = ToyRegression.train_step

    def spy(self, batch, ctx):
        seen.append(torch.get_num_threads())
        return real(self, batch, ctx)

    monkeypatch.setattr(ToyRegression, "train_step", spy)
    train("toy_regression", "smoke", tmp_path / "r", threads=1, steps=3, **SMOKE)
    assert set(seen) == {1} and torch.get_num_threads() == before


# ----------------------------------------------------------------------------- run directories
def test_a_dir_that_failed_before_its_first_checkpoint_just_starts(tmp_path, capsys):
    d = tmp_path / "r"
    d.mkdir()
    (d / "config.yaml").write_text("method: toy_regression\n")
    (d / "env.json").write_text("{}")
    (d / "metrics.jsonl").write_text('{"step": 1, "mse": 9.0}\n')
    res = train("toy_regression", "smoke", d, **SMOKE)
    assert res.steps_done == 20 and _rows(d)[0]["mse"] != 9.0
    shutil.rmtree(d / "checkpoints")
    res = train("toy_regression", "smoke", d, resume=True, **SMOKE)  # --resume of nothing: starts
    assert res.steps_done == 20 and "nothing to resume" in capsys.readouterr().err


def test_atomic_writes_get_ordinary_file_permissions(tmp_path):
    from ci_inpaint.fileio import atomic_save, atomic_write_text

    mask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        atomic_save({"a": 1}, tmp_path / "b.pt")
    finally:
        os.umask(mask)
    for name in ("a.txt", "b.pt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_stale_temp_files_of_killed_writes_are_removed(tmp_path):
    d = tmp_path / "r"
    train("toy_regression", "smoke", d, steps=5, **SMOKE)
    junk = d / "checkpoints" / "last.pt.k3j4h5.tmp"
    junk.write_bytes(b"\0" * 1000)
    train("toy_regression", "smoke", d, steps=6, resume=True, **SMOKE)
    assert not junk.exists()


def test_resume_tolerates_a_torn_last_log_line_and_trims_atomically(tmp_path, monkeypatch):
    d = tmp_path / "r"
    ref = tmp_path / "ref"
    train("toy_regression", "smoke", ref, steps=10, **SMOKE)
    train("toy_regression", "smoke", d, steps=5, **SMOKE)
    with (d / "metrics.jsonl").open("a") as f:
        f.write('{"step": 6, "mse": 0.1}\n{"step": 7, "ms')  # a kill mid-write
    import ci_inpaint.engine.logbook as logbook

    writes = []
    real = logbook.atomic_write_text
    monkeypatch.setattr(logbook, "atomic_write_text", lambda p, t: (writes.append(p.name), real(p, t)))
    train("toy_regression", "smoke", d, steps=10, resume=True, **SMOKE)
    assert "metrics.jsonl" in writes  # the trim goes through an atomic replace

    def losses(rows):
        return [r for r in rows if "mse" in r]

    assert losses(_rows(d)) == losses(_rows(ref))


def test_world_size_change_on_resume_is_refused(tmp_path):
    d = tmp_path / "r"
    train("toy_regression", "smoke", d, steps=5, **SMOKE)
    st = torch.load(d / "checkpoints" / "last.pt", weights_only=False)
    st["world"], st["rng"] = 2, st["rng"] * 2
    torch.save(st, d / "checkpoints" / "last.pt")
    with pytest.raises(CheckpointError, match=r"written by 2 process.*global batch 32.*nproc_per_node=2"):
        train("toy_regression", "smoke", d, resume=True, **SMOKE)


# ----------------------------------------------------------------------------- storage faults
def test_disk_full_during_a_checkpoint_is_one_clear_error(tmp_path, monkeypatch):
    import ci_inpaint.fileio as fileio

    def full(obj, f):
        f.write(b"x" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.torch, "save", full)
    with pytest.raises(StorageError, match=r"no space left on device at .*last.pt: free space"):
        train("toy_regression", "smoke", tmp_path / "r", **SMOKE)
    assert not list((tmp_path / "r" / "checkpoints").glob("*.tmp"))


@contextlib.contextmanager
def _tiny_filesystem(path: Path, size: str):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {r.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_real_full_disk_via_the_cli_is_one_line_exit_2(tmp_path):
    with _tiny_filesystem(tmp_path / "small", "24k") as small:
        r = subprocess.run(CLI + ["train", "toy_regression", "--profile", "smoke", "--out",
                                  str(small / "run"), "--set", "progress=off", "width=64"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "no space left on device at" in r.stderr and "pick another --out" in r.stderr
        assert not list((small / "run").rglob("*.tmp"))


def test_unwritable_out_is_one_line_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["train", "toy_regression", "--profile", "smoke", "--out",
                     str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "--out" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method,setting,needle", [
    ("toy_regression", "lr_body=nan", "lr_body must be a finite number"),
    ("toy_regression", "ckpt_every=0", "ckpt_every must be >= 1"),
    ("toy_regression", "log_every=0", "log_every must be >= 1"),
    ("toy_regression", "lr_body=0", "lr_body must be > 0"),
    ("toy_regression", "threads=-1", "threads must be >= 0"),
    ("divco_toy", "num_neg=0", "num_neg must be >= 1"),
    ("divco_toy", "radius=-1", "radius must be >= 0"),
    ("divco_toy", "hidden=0", "hidden must be >= 1"),
    ("divco", "beta1=1", "beta1 must be [0, 1)"),
    ("divco", "weight_decay=-0.1", "weight_decay must be >= 0"),
    ("divco", "lr=inf", "lr must be a finite number"),
    ("toy_regression", "profile=full", "pass --profile NAME"),
    ("divco_toy", "data_root=/data/x", "reads no data_root"),
    ("divco", "data_root=/data/x", "not read by dataset=digits"),
])
def test_bad_values_are_one_line_and_exit_2(tmp_path, capsys, method, setting, needle):
    code = cli.main(["train", method, "--profile", "smoke", "--out", str(tmp_path / "r"),
                     "--set", setting])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_yaml_of_another_method_is_refused(tmp_path):
    train("divco_toy", "smoke", tmp_path / "toy", steps=2, **SMOKE)
    with pytest.raises(ConfigError, match="is for method 'divco_toy', not 'toy_regression'"):
        train("toy_regression", "smoke", tmp_path / "r", config_file=tmp_path / "toy" / "config.yaml")


def test_saved_config_yaml_round_trips_through_config(tmp_path):
    train("toy_regression", "smoke", tmp_path / "a", lr_body=0.02, **SMOKE)
    res = train("toy_regression", "smoke", tmp_path / "b", config_file=tmp_path / "a" / "config.yaml")
    assert res.cfg.lr_body == 0.02
    with pytest.raises(ConfigError, match="pass --profile smoke"):
        train("toy_regression", "quick", tmp_path / "c", config_file=tmp_path / "a" / "config.yaml")


def test_cli_resume_refusal_leaves_config_untouched(tmp_path):
    d = tmp_path / "r"
    subprocess.run(CLI + ["train", "toy_regression", "--profile", "smoke", "--out", str(d),
                          "--set", "steps=5", "progress=off"], check=True, capture_output=True)
    before = (d / "config.yaml").read_bytes()
    r = subprocess.run(CLI + ["train", "toy_regression", "--profile", "smoke", "--out", str(d),
                              "--resume", "--set", "width=8", "progress=off"],
                       capture_output=True, text=True, env={**os.environ, "CI_INPAINT_QUIET": "1"})
    assert r.returncode == 2 and "width: 16 -> 8" in r.stderr and "Traceback" not in r.stderr
    assert (d / "config.yaml").read_bytes() == before
