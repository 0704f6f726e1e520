"""The training engine: seeding, exact resume after SIGKILL, NaN guard, checkpoints, DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ci_inpaint.engine import ResumableBatches, atomic_save, train
from ci_inpaint.errors import CheckpointError, ConfigError, NonFiniteLossError

PY = sys.executable
CLI = [PY, "-m", "ci_inpaint.cli"]


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    st = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)
    out = {}
    for mod, sd in st["modules"].items():
        out.update({f"{mod}.{k}": v for k, v in sd.items()})
    out.update({f"ema.{m}.{k}": v for m, sd in st["ema"].items() for k, v in sd.items()})
    return out


def _losses(run_dir: Path, evals: bool = False) -> list[dict]:
    rows = [json.loads(ln) for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if evals or not any(k.startswith("eval/") for k in r)]


def test_same_seed_same_losses_and_different_seed_differs(tmp_path):
    a = train("toy_regression", "smoke", tmp_path / "a", seed=3, progress="off")
    b = train("toy_regression", "smoke", tmp_path / "b", seed=3, progress="off")
    c = train("toy_regression", "smoke", tmp_path / "c", seed=4, progress="off")
    la = [r["mse"] for r in a.history if "mse" in r]
    assert la == [r["mse"] for r in b.history if "mse" in r]
    assert la != [r["mse"] for r in c.history if "mse" in r]
    assert len(la) == 20


def test_run_dir_records_config_and_versions(tmp_path):
    train("toy_regression", "smoke", tmp_path / "r", lr_body=0.02, progress="off")
    import yaml

    cfg = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert cfg["method"] == "toy_regression" and cfg["lr_body"] == 0.02 and cfg["profile"] == "smoke"
    env = json.loads((tmp_path / "r" / "env.json").read_text())
    assert env["torch"] == torch.__version__ and env["python"] and env["ci_inpaint"]


def test_refuses_non_empty_run_dir_unless_resume_or_overwrite(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    (d / "something.txt").write_text("x")
    with pytest.raises(CheckpointError, match="not empty.*--overwrite"):
        train("toy_regression", "smoke", d, progress="off")
    with pytest.raises(CheckpointError, match="not empty.*--overwrite"):
        train("toy_regression", "smoke", d, resume=True, progress="off")
    res = train("toy_regression", "smoke", d, overwrite=True, progress="off")
    assert res.steps_done == 20 and not (d / "something.txt").exists()
    with pytest.raises(CheckpointError, match="already holds a run.*--resume.*--overwrite"):
        train("toy_regression", "smoke", d, progress="off")


def test_in_process_resume_equals_uninterrupted(tmp_path):
    full = train("toy_regression", "smoke", tmp_path / "full", ema_decay=0.9, progress="off")
    train("toy_regression", "smoke", tmp_path / "part", ema_decay=0.9, steps=10, progress="off")
    train("toy_regression", "smoke", tmp_path / "part", ema_decay=0.9, resume=True, progress="off")
    wa, wb = _weights(tmp_path / "full"), _weights(tmp_path / "part")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert [r for r in _losses(tmp_path / "full")] == [r for r in _losses(tmp_path / "part")]
    assert full.steps_done == 20


def test_resume_with_changed_config_is_refused_but_lr_amp_clip_may_change(tmp_path):
    d = tmp_path / "r"
    train("toy_regression", "smoke", d, steps=5, progress="off")
    saved = (d / "config.yaml").read_text()
    with pytest.raises(CheckpointError, match="noise: 0.05 -> 0.5"):
        train("toy_regression", "smoke", d, noise=0.5, steps=8, resume=True, progress="off")
    assert (d / "config.yaml").read_text() == saved  # a refused resume rewrites nothing
    res = train("toy_regression", "smoke", d, lr_body=0.5, grad_clip=1.0, amp="off", steps=8,
                resume=True, progress="off")
    assert res.method.opt_body.param_groups[0]["lr"] == 0.5  # the new rate, not the checkpoint's
    assert res.method.opt_head.param_groups[0]["lr"] == 5e-3
    row = json.loads((d / "resumes.jsonl").read_text())
    assert row["step"] == 5 and row["changed"]["lr_body"] == [0.01, 0.5]
    assert "grad_clip" in row["changed"] and "amp" in row["changed"]


@pytest.mark.timeout(180)
def test_sigkill_at_arbitrary_step_then_resume_equals_uninterrupted(tmp_path):
    """A real child process is killed with SIGKILL mid-run; the resumed run ends bit-identical."""
    common = ["train", "toy_regression", "--profile", "smoke", "--set", "steps=60",
              "ckpt_every=7", "ema_decay=0.5", "progress=off", "step_sleep=0.02"]
    ref = tmp_path / "ref"
    subprocess.run(CLI + common + ["--out", str(ref)], check=True, capture_output=True)

    run = tmp_path / "killed"
    proc = subprocess.Popen(CLI + common + ["--out", str(run)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    log = run / "metrics.jsonl"
    deadline = time.time() + 120
    kill_after = 23  # not a checkpoint multiple: work after the last checkpoint is lost and redone
    while time.time() < deadline and proc.poll() is None:
        if log.exists():
            steps = [json.loads(ln)["step"] for ln in log.read_text().splitlines() if ln.strip()]
            if steps and steps[-1] >= kill_after:
                break
        time.sleep(0.002)
    assert proc.poll() is None, "the child finished before it could be killed: make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = torch.load(run / "checkpoints" / "last.pt", weights_only=False)["step"]
    assert 0 < killed_at < 60

    r = subprocess.run(CLI + common + ["--out", str(run), "--resume"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wa, wb = _weights(ref), _weights(run)
    for k in wa:
        assert torch.equal(wa[k], wb[k]), f"{k} differs after resume from step {killed_at}"
    assert _losses(ref) == _losses(run)  # the log was trimmed back to the checkpoint and redone


def test_nan_loss_names_step_and_term_and_keeps_last_good_checkpoint(tmp_path):
    d = tmp_path / "r"
    with pytest.raises(NonFiniteLossError, match=r"step 12: loss term 'mse'"):
        train("toy_regression", "smoke", d, inject_nan_step=12, progress="off")
    st = torch.load(d / "checkpoints" / "last.pt", weights_only=False)
    assert st["step"] == 10  # ckpt_every=5 in smoke: the last good one, untouched
    for sd in st["modules"].values():
        assert all(torch.isfinite(v).all() for v in sd.values())


def test_nan_via_cli_is_one_line_without_traceback(tmp_path):
    r = subprocess.run(CLI + ["train", "toy_regression", "--profile", "smoke", "--out",
                              str(tmp_path / "r"), "--set", "inject_nan_step=3"],
                       capture_output=True, text=True)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr and "step 3: loss term 'mse'" in r.stderr


def test_corrupt_and_incompatible_checkpoints_give_clear_errors(tmp_path):
    d = tmp_path / "r"
    train("toy_regression", "smoke", d, steps=5, progress="off")
    (d / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        train("toy_regression", "smoke", d, resume=True, progress="off")
    d2 = tmp_path / "r2"
    train("toy_regression", "smoke", d2, steps=5, progress="off")
    st = torch.load(d2 / "checkpoints" / "last.pt", weights_only=False)
    st["modules"]["head"] = {"weight": torch.zeros(4, 3)}  # the weights themselves don't fit
    torch.save(st, d2 / "checkpoints" / "last.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        train("toy_regression", "smoke", d2, resume=True, progress="off")


def test_best_checkpoint_and_eval(tmp_path):
    res = train("toy_regression", "smoke", tmp_path / "r", eval_every=5, best_metric="mse",
                progress="off")
    assert (tmp_path / "r" / "checkpoints" / "best.pt").is_file()
    best = torch.load(tmp_path / "r" / "checkpoints" / "best.pt", weights_only=False)["best"]
    evals = [r["eval/mse"] for r in res.history if "eval/mse" in r]
    assert len(evals) == 4 and best == pytest.approx(min(evals))
    with pytest.raises(ConfigError, match="best_metric 'nope'"):
        train("toy_regression", "smoke", tmp_path / "r2", best_metric="nope", progress="off")


def test_atomic_save_leaves_old_file_when_write_fails(tmp_path):
    p = tmp_path / "ck.pt"
    atomic_save({"a": 1}, p)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_save({"a": Boom()}, p)
    assert torch.load(p) == {"a": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["ck.pt"]  # no temp file left behind


def test_resumable_batches_continue_the_same_stream():
    whole = ResumableBatches(10, 3, seed=1)
    it = iter(whole)
    first = [next(it) for _ in range(8)]
    later = iter(ResumableBatches(10, 3, seed=1, start_step=5))
    assert [next(later) for _ in range(3)] == first[5:]
    epoch0 = sum(first[:3], [])
    assert len(set(epoch0)) == 9  # within an epoch no index repeats


@pytest.mark.timeout(240)
def test_torchrun_two_cpu_processes(tmp_path):
    """DDP under torchrun with gloo: ranks stay in sync, only rank 0 writes, loss decreases."""
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "ci_inpaint.cli", "train", "toy_regression", "--profile", "smoke", "--out", str(out),
         "--set", "device=cpu", "steps=30", "progress=off", "batchnorm=true"],
        capture_output=True, text=True, env=env, timeout=220,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "checkpoints" / "last.pt").is_file()
    env_info = json.loads((out / "env.json").read_text())
    assert env_info["world_size"] == 2
    rows = [x for x in _losses(out) if "mse" in x]
    assert len(rows) == 30  # one writer: no duplicated lines from rank 1
    st = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
    assert len(st["rng"]) == 2  # both ranks' RNG states are kept for resume
    assert rows[-1]["mse"] < rows[0]["mse"]
    spread = [x["eval/rank_spread"] for x in _losses(out, evals=True) if "eval/rank_spread" in x]
    assert spread == [0.0]  # grads averaged, BN buffers broadcast: identical weights and buffers


@pytest.mark.timeout(240)
def test_two_process_steps_equal_one_process_steps_on_the_same_global_batch(tmp_path):
    """Without noise, 2 ranks x batch 8 take the same steps as 1 process x batch 16 (the union of
    the ranks' shards is the single process's batch); a parameter that gets no gradient on any
    rank is untouched and has no Adam state, as in one process (it used to get zero grads)."""
    knobs = ["noise=0", "unused_param=true", "weight_decay=0.1", "steps=4", "progress=off",
             "device=cpu", "ckpt_every=4"]
    one = tmp_path / "one"
    subprocess.run(CLI + ["train", "toy_regression", "--profile", "smoke", "--out", str(one),
                          "--set", "batch_size=16", *knobs], check=True, capture_output=True)
    two = tmp_path / "two"
    r = subprocess.run(
        [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "ci_inpaint.cli", "train", "toy_regression", "--profile", "smoke", "--out", str(two),
         "--set", "batch_size=8", *knobs],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=220)
    assert r.returncode == 0, r.stderr[-3000:]
    wa, wb = _weights(one), _weights(two)
    for k in wa:
        assert torch.allclose(wa[k], wb[k], rtol=1e-5, atol=1e-6), k
    assert torch.equal(wb["head.unused"], torch.ones(3))
    st = torch.load(two / "checkpoints" / "last.pt", weights_only=False)
    n_head = len(st["optimizers"]["head"]["param_groups"][0]["params"])
    assert len(st["optimizers"]["head"]["state"]) == n_head - 1  # no Adam state for `unused`


def test_jsonl_has_every_step_and_history_the_window_means(tmp_path):
    res = train("toy_regression", "smoke", tmp_path / "r", log_every=5, progress="off")
    per_step = _losses(tmp_path / "r")
    assert [r["step"] for r in per_step] == list(range(1, 21))
    windows = [r for r in res.history if "mse" in r]
    assert [r["step"] for r in windows] == [5, 10, 15, 20]
    first = sum(r["mse"] for r in per_step[:5]) / 5
    assert windows[0]["mse"] == pytest.approx(first, rel=1e-12)


@pytest.mark.timeout(240)
def test_sync_batchnorm_on_cpu_ranks_is_refused_before_anything_is_written(tmp_path):
    """torch's SyncBatchNorm has no CPU kernel: two gloo ranks get one line naming the fix at
    start-up, not a traceback from the first forward pass after the run directory was made."""
    out = tmp_path / "sbn"
    r = subprocess.run(
        [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "ci_inpaint.cli", "train", "toy_regression", "--profile", "smoke", "--out", str(out),
         "--set", "device=cpu", "steps=4", "progress=off", "batchnorm=true", "sync_batchnorm=true"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=220)
    assert r.returncode != 0
    assert "sync_batchnorm=true needs GPUs" in r.stderr and "drop it on CPU" in r.stderr
    assert "[rank0]: Traceback" not in r.stderr and not out.exists()  # (torchrun's own remains)
