"""data_scripts/celebamask_hq.py on a tiny local CelebAMask-HQ fixture, read back by FaceBoxes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "data_scripts" / "celebamask_hq.py"


def load_script():
    spec = importlib.util.spec_from_file_location("celebamask_hq_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fixture(root: Path) -> Path:
    base = root / "CelebAMask-HQ"
    (base / "CelebA-HQ-img").mkdir(parents=True)
    # HQ idx, CelebA idx: 0 and 1 train, 2 test (official bounds), 3 test without any part
    rows = [(0, 10), (1, 20), (2, 190_000), (3, 190_001)]
    (base / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
        "idx orig_idx orig_file\n" + "".join(f"{i} {o} {o:06d}.jpg\n" for i, o in rows))
    for i, _ in rows:
        Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(base / "CelebA-HQ-img" / f"{i}.jpg")
        anno = base / "CelebAMask-HQ-mask-anno" / "0"
        anno.mkdir(parents=True, exist_ok=True)
        if i == 3:
            continue
        skin = np.zeros((16, 16), np.uint8)
        skin[4:10, 3:9] = 255  # rows 4..9, cols 3..8
        Image.fromarray(skin).save(anno / f"{i:05d}_skin.png")
        hair = np.zeros((16, 16), np.uint8)
        hair[0:2, :] = 255  # hair is not part of the face box
        Image.fromarray(hair).save(anno / f"{i:05d}_hair.png")
        nose = np.zeros((16, 16), np.uint8)
        nose[9:12, 5:7] = 255  # extends the box down to row 11
        Image.fromarray(nose).save(anno / f"{i:05d}_nose.png")
    return root


def test_prepare_writes_splits_and_face_boxes(tmp_path):
    mod = load_script()
    counts = mod.prepare(fixture(tmp_path / "raw"), tmp_path / "faces", size=32)
    assert counts == {"train": 2, "val": 0, "test": 1}
    boxes = json.loads((tmp_path / "faces" / "train" / "boxes.json").read_text())
    # mask 16 px -> image 32 px: cols 3..8 -> [6, 18), rows 4..11 -> [8, 24)
    assert boxes == {"00000.png": [6, 8, 18, 24], "00001.png": [6, 8, 18, 24]}
    assert Image.open(tmp_path / "faces" / "test" / "images" / "00002.png").size == (32, 32)

    from ci_inpaint.methods.contrasfill import FaceBoxes

    ds = FaceBoxes(str(tmp_path / "faces"), "train", size=32)
    item = ds[1]
    assert item["image"].shape == (3, 32, 32) and item["box"].tolist() == [6, 8, 18, 24]
    assert item["image"].min() >= -1 and item["image"].max() <= 1


def test_missing_root_is_a_one_line_error(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--root", str(tmp_path), "--out",
                        str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode != 0 and "celeba_hq.py" in r.stderr and "Traceback" not in r.stderr


def test_facebox_without_preparation_names_the_script(tmp_path):
    from ci_inpaint.errors import DataError
    from ci_inpaint.methods.contrasfill import FaceBoxes

    with pytest.raises(DataError, match="celebamask_hq.py"):
        FaceBoxes(str(tmp_path))


def test_hole_dilate_grows_the_box_hole_in_training_and_evaluation():
    """hole_dilate = d: the hole is the object's box grown by d pixels (clipped to the image),
    and the evaluation contexts use the same hole as training."""
    from types import SimpleNamespace

    from ci_inpaint.config import resolve_config
    from ci_inpaint.data.contrasfill import eval_items
    from ci_inpaint.methods.contrasfill import ContrasFillConfig

    def holes(d):
        cfg = resolve_config(ContrasFillConfig, "smoke", {"hole_dilate": d})
        return eval_items(SimpleNamespace(cfg=cfg), 6, seed=3)

    one, four = holes(1), holes(4)
    assert torch.equal(one["image"], four["image"])  # same contexts, other holes
    for m1, m4, box in zip(one["mask"], four["mask"], one["box"]):
        x0, y0, x1, y1 = box.tolist()
        size = m1.shape[-1]
        for m, d in ((m1, 1), (m4, 4)):
            want = torch.zeros_like(m)
            want[:, max(0, y0 - d):min(size, y1 + d), max(0, x0 - d):min(size, x1 + d)] = 1
            assert torch.equal(m, want)
        assert bool((m4 >= m1).all()) and m4.sum() > m1.sum()
