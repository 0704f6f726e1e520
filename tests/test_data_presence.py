"""What the data layer tells the user: `data list` checks the loader's layout (a folder of junk
is "incomplete", not present), hints name the venv's interpreter, a corrupt image's advice is
one that works. The CLI cases run as real child processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ci_inpaint.data import catalog
from ci_inpaint.data.folders import ClassFolder, ImageFolder
from ci_inpaint.errors import DataError

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "ci_inpaint.cli"]


def _png(path: Path, seed: int = 0, size: int = 12) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3)).astype(np.uint8)
    Image.fromarray(arr).save(path)


def _data_list(home: Path) -> dict[str, list[str]]:
    env = {**os.environ, "CI_INPAINT_DATA": str(home)}
    r = subprocess.run(CLI + ["data", "list"], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    cols = lines[0].split(" | ")
    rows = {}
    for ln in lines[1:]:
        cells = ln.split(" | ")
        rows[cells[0]] = dict(zip(cols, cells))
    return rows


def test_data_list_reports_junk_as_incomplete_with_the_fix(tmp_path):
    """Child process: junk in the default folders is reported with what the loader misses."""
    home = tmp_path / "data"
    (home / "cifar10").mkdir(parents=True)
    (home / "cifar10" / "readme.txt").write_text("not cifar")
    (home / "places2_train" / "data_256").mkdir(parents=True)  # the folder, but no image
    (home / "places2_train" / "data_256" / "notes.txt").write_text("x")
    (home / "cyclegan_horse2zebra" / "horse2zebra" / "trainA").mkdir(parents=True)
    _png(home / "cyclegan_horse2zebra" / "horse2zebra" / "trainA" / "1.png")
    for sub in ("trainA", "trainB"):  # a complete (tiny) dataset in the script's layout
        _png(home / "pix2pix_facades" / "facades" / sub / "1.png")
    rows = _data_list(home)
    cifar = rows["cifar10"]
    assert cifar["present"].startswith("incomplete: missing cifar-10-batches-py/data_batch_1")
    assert "cifar-10-batches-py/data_batch_5 in" in cifar["present"]  # the train split
    assert cifar["how_to_get"] == (f".venv/bin/python data_scripts/cifar10.py --root "
                                   f"{home / 'cifar10'}")
    assert rows["places2"]["present"].startswith("incomplete: missing data_256/ with images")
    assert "--split train" in rows["places2"]["how_to_get"]
    h2z = rows["horse2zebra"]["present"]
    assert h2z.startswith("incomplete: missing horse2zebra/trainB/ with images")
    assert "trainA" not in h2z  # only what is missing
    assert rows["facades"]["present"] == "True" and rows["celeba"]["present"] == "False"
    assert rows["digits"]["present"] == "True" and rows["image_folder"]["present"] == "None"
    for r in rows.values():
        if "data_scripts/" in r["how_to_get"]:
            assert r["how_to_get"].startswith(".venv/bin/python data_scripts/"), r


def test_loader_refuses_what_data_list_calls_incomplete(tmp_path, monkeypatch):
    """One check serves both: get_dataset names the same missing parts and the command."""
    monkeypatch.setenv("CI_INPAINT_DATA", str(tmp_path))
    base = tmp_path / "celeba_hq" / "CelebAMask-HQ"
    (base / "CelebA-HQ-img").mkdir(parents=True)
    (base / "CelebA-HQ-to-CelebA-mapping.txt").write_text("idx orig_idx orig_file\n")
    status = catalog.presence("celeba_hq")
    assert status == f"incomplete: missing CelebAMask-HQ/CelebA-HQ-img/ with images in {base.parent}"
    assert catalog.is_present("celeba_hq") is False
    with pytest.raises(DataError, match=r"celeba_hq in .* is incomplete: missing "
                       r"CelebAMask-HQ/CelebA-HQ-img/ with images: run \.venv/bin/python "
                       r"data_scripts/celeba_hq\.py --root"):
        catalog.get_dataset("celeba_hq", "train", 16)
    _png(base / "CelebA-HQ-img" / "0.jpg")
    assert catalog.presence("celeba_hq") is True and catalog.layout_problems(
        "celeba_hq", base.parent) == []
    # a folder that does not exist is "no", one given explicitly is checked the same way
    assert catalog.presence("paris_streetview") is False
    (tmp_path / "mine" / "paris_eval_gt").mkdir(parents=True)
    _png(tmp_path / "mine" / "paris_eval_gt" / "1.png")
    assert catalog.layout_problems("paris_streetview", tmp_path / "mine", "test") == []
    assert catalog.layout_problems("paris_streetview", tmp_path / "mine", "train") == [
        "paris_train_original/ with images"]


def test_no_hint_runs_a_bare_python(repo_root):
    """Every `python data_scripts/...` a user is told to run goes through the venv."""
    bare = re.compile(r"(?<![/\w])python data_scripts/")
    paths = [*(repo_root / "ci_inpaint").rglob("*.py"), *(repo_root / "data_scripts").glob("*.py"),
             repo_root / "README.md", *(repo_root / "docs").glob("*.md")]
    offenders = [f"{p.relative_to(repo_root)}:{n}" for p in paths if p.is_file()
                 for n, line in enumerate(p.read_text().splitlines(), 1) if bare.search(line)]
    assert not offenders, offenders
    with pytest.raises(DataError, match=r"\.venv/bin/python data_scripts/cifar10\.py --root"):
        catalog.get_dataset("cifar10", "train", 32, data_root=repo_root / "tests")


def test_corrupt_image_advice_works_in_a_cli_run(tmp_path):
    """Child process: a corrupt file in a class folder stops `train` with one line that names
    it and advises what works (no `skip_corrupt=True`, which is no config key); following the
    advice (deleting it) makes the folder load."""
    root = tmp_path / "classes"
    for k in range(10):
        _png(root / f"c{k % 2}" / f"{k}.png", seed=k, size=32)
    bad = root / "c1" / "5.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    r = subprocess.run(CLI + ["train", "divco", "--profile", "smoke", "--out",
                              str(tmp_path / "run"), "--set", "dataset=class_folder",
                              f"data_root={root}", "progress=off"],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(bad) in err and "delete or replace the file" in err
    assert "skip_corrupt" not in err
    bad.unlink()
    assert len(ClassFolder(root, 32)) == 9 and ClassFolder(root, 32)[8]["image"].shape == (3, 32, 32)


def test_image_folder_advice_names_a_real_keyword(tmp_path):
    """ImageFolder also says how to skip such files, with a keyword it really has."""
    _png(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"junk")
    with pytest.raises(DataError) as e:
        ImageFolder(tmp_path, 8)[1]
    msg = str(e.value)
    assert "delete or replace the file" in msg and "ImageFolder(..., skip_corrupt=True)" in msg
    with pytest.warns(UserWarning, match="b.png"):
        assert ImageFolder(tmp_path, 8, skip_corrupt=True)[1]["index"] == 0
