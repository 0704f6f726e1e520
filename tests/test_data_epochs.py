"""Data that changes every epoch, resumably: items are pure functions of (seed, epoch, index);
the same key gives the same item, another epoch a different crop / flip / partner / mask, a
plain int is epoch 0; and a run over several epochs resumes bit-exactly."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ci_inpaint import methods
from ci_inpaint.config import TrainConfig
from ci_inpaint.data.bundled import LFWFaces, PhotoPatches
from ci_inpaint.data.epochs import EpochKey, is_epoch_aware
from ci_inpaint.data.folders import CIFAR10, ClassFolder, ImageFolder, PairedFolder, UnpairedFolder
from ci_inpaint.data.inpaint import (
    MaskedDataset,
    folder_masks,
    generated_masks,
    hflip_item,
    object_masks,
)
from ci_inpaint.data.synthetic import FactorShapes
from ci_inpaint.engine import train
from ci_inpaint.errors import DataError
from ci_inpaint.methods import Method, register


def _png(path: Path, w: int, h: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)
    Image.fromarray(arr).save(path)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _epochs_differ(ds, i: int = 0, key: str = "image", n: int = 6) -> bool:
    return len({ds[EpochKey(e, i)][key].sum().item() for e in range(n)}) > 1


def test_image_folder_random_crop_and_flip_per_epoch(tmp_path):
    _png(tmp_path / "a.png", 40, 30, 0)
    _png(tmp_path / "b.png", 30, 30, 1)
    ds = ImageFolder(tmp_path, 16, resize="random-crop", flip=True, seed=3)
    assert is_epoch_aware(ds) and not is_epoch_aware(ImageFolder(tmp_path, 16))
    for i in range(2):
        assert _same(ds[EpochKey(4, i)], ImageFolder(tmp_path, 16, resize="random-crop",
                                                       flip=True, seed=3)[EpochKey(4, i)])
        assert _same(ds[i], ds[EpochKey(0, i)]) and _same(ds[i], ds[(0, i)])
        assert _epochs_differ(ds, i)
    # the flip alone: the centre crop flipped left-right, or not, depending on the epoch
    fl = ImageFolder(tmp_path, 16, flip=True)
    centre = ImageFolder(tmp_path, 16)[1]["image"]
    seen = {torch.equal(fl[EpochKey(e, 1)]["image"], centre.flip(-1)) for e in range(8)}
    assert seen == {True, False}
    assert all(torch.equal(fl[EpochKey(e, 1)]["image"], centre)
               or torch.equal(fl[EpochKey(e, 1)]["image"], centre.flip(-1)) for e in range(8))


def test_paired_folder_crops_and_flips_a_and_b_together(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (24, 24, 3)).astype(np.uint8)
    for d in ("trainA", "trainB"):
        (tmp_path / d).mkdir()
        Image.fromarray(arr).save(tmp_path / d / "x.png")  # A == B: joint ops keep them equal
    ds = PairedFolder(tmp_path, 12, resize="random-crop", flip=True, seed=1)
    assert is_epoch_aware(ds)
    for e in range(6):
        it = ds[EpochKey(e, 0)]
        assert torch.equal(it["A"], it["B"]) and _same(it, ds[EpochKey(e, 0)])
    assert _epochs_differ(ds)


def test_unpaired_partner_changes_per_epoch(tmp_path):
    for k in range(2):
        _png(tmp_path / "trainA" / f"a{k}.png", 12, 12, k)
    for k in range(6):
        _png(tmp_path / "trainB" / f"b{k}.png", 12, 12, 10 + k)
    ds = UnpairedFolder(tmp_path, "train", size=8, seed=0, flip=True)
    assert is_epoch_aware(ds) and ds.b_index(2) == ds.b_index(2, epoch=0)
    partners = [ds.b_index(2, epoch=e) for e in range(8)]
    assert len(set(partners)) > 1
    ref = UnpairedFolder(tmp_path, "train", size=8, seed=0)  # no flip: B is the partner's crop
    for e in range(3):
        b = ds[EpochKey(e, 2)]["B"]
        want = ref[EpochKey(e, 2)]["B"]
        assert torch.equal(b, want) or torch.equal(b, want.flip(-1))
        assert _same(ds[EpochKey(e, 2)], ds[EpochKey(e, 2)])


def test_class_folder_and_cifar_flip(tmp_path):
    _png(tmp_path / "cat" / "1.png", 20, 16, 0)
    _png(tmp_path / "dog" / "2.png", 20, 16, 1)
    cf = ClassFolder(tmp_path, 8, resize="random-crop", seed=2)
    assert is_epoch_aware(cf) and _epochs_differ(cf, 1)
    assert _same(cf[EpochKey(3, 1)], cf[EpochKey(3, 1)]) and int(cf[EpochKey(3, 1)]["label"]) == 1
    d = tmp_path / "cifar"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [0, 1]}
        (d / name).write_bytes(pickle.dumps(batch))
    plain, fl = CIFAR10(d, "test"), CIFAR10(d, "test", flip=True)
    assert not is_epoch_aware(plain) and is_epoch_aware(fl)
    outs = [fl[EpochKey(e, 0)]["image"] for e in range(8)]
    assert {torch.equal(o, plain[0]["image"].flip(-1)) for o in outs} == {True, False}


def test_bundled_jitter_and_flip():
    base = PhotoPatches("val", 32, patches_per_photo=4)
    ds = PhotoPatches("val", 32, patches_per_photo=4, jitter=6, flip=True)
    assert not is_epoch_aware(base) and is_epoch_aware(ds)
    assert torch.equal(base.index, ds.index)  # the same patches, moved per epoch
    assert _same(ds[EpochKey(2, 1)], ds[EpochKey(2, 1)]) and _epochs_differ(ds, 1)
    assert all(ds[EpochKey(e, 1)]["image"].shape == (3, 32, 32) for e in range(6))
    lfw = LFWFaces("test", 32, flip=True)
    ref = LFWFaces("test", 32)[0]["image"]
    assert {torch.equal(lfw[EpochKey(e, 0)]["image"], ref) for e in range(8)} == {True, False}


def test_masked_dataset_fresh_mask_per_epoch_pure_per_key():
    base = PhotoPatches("val", 32, patches_per_photo=4, jitter=4)
    ds = MaskedDataset(base, generated_masks("free_form"), seed=5, flip=True)
    a, b = ds[EpochKey(3, 2)], MaskedDataset(base, generated_masks("free_form"), 5, True)[
        EpochKey(3, 2)]
    assert _same(a, b) and a["mask"].shape == (1, 32, 32) and a["mask"].dtype == torch.float32
    assert set(a["mask"].unique().tolist()) <= {0.0, 1.0} and a["mask"].sum() > 0
    assert _same(ds[2], ds[EpochKey(0, 2)])
    assert _epochs_differ(ds, 2, "mask") and _epochs_differ(ds, 2, "image")
    assert len({bool(ds[EpochKey(e, 2)]["flipped"]) for e in range(8)}) == 2
    other_seed = MaskedDataset(base, generated_masks("free_form"), seed=6)
    assert not torch.equal(other_seed[EpochKey(3, 2)]["mask"], a["mask"])
    # the base's crop follows the epoch (it gets the EpochKey): unflipped items equal the base's
    for e in range(6):
        it = ds[EpochKey(e, 1)]
        want = base[EpochKey(e, 1)]["image"]
        assert torch.equal(it["image"], want.flip(-1) if it["flipped"] else want)
    mixed = MaskedDataset(base, generated_masks("mixed", probs={"rect": 1, "center": 1}))
    assert _epochs_differ(mixed, 0, "mask", 10)
    with pytest.raises(DataError, match=r"shape \(1, 16, 16\) for a 32x32 image"):
        MaskedDataset(base, generated_masks("rect", size=16))[0]


def test_object_masks_follow_the_flip():
    shapes = FactorShapes(3, 32, seed=1)
    ds = MaskedDataset(shapes, object_masks("segment"), flip=True)
    for e in range(6):
        it = ds[EpochKey(e, 0)]
        seg = shapes[0]["mask"]
        assert torch.equal(it["object_mask"], seg.flip(-1) if it["flipped"] else seg)
        assert torch.equal(it["mask"], it["object_mask"])
    item = shapes[0]
    x0, y0, x1, y1 = item["box"].tolist()
    flipped = hflip_item(item)
    assert flipped["box"].tolist() == [32 - x1, y0, 32 - x0, y1]
    box = MaskedDataset(shapes, object_masks("box"))[0]["mask"]
    assert box[0, y0:y1, x0:x1].eq(1).all() and box.sum() == (x1 - x0) * (y1 - y0)


def test_folder_masks_draw_a_new_augmented_mask_per_epoch(tmp_path):
    from ci_inpaint.data.masks import MaskFolder

    for k in range(4):
        m = np.zeros((16, 16), np.uint8)
        m[: 2 * (k + 1), : 3 * (k + 1)] = 255
        Image.fromarray(m).save(tmp_path / f"{k}.png")
    folder = MaskFolder(tmp_path, 16, invert=False)
    ds = MaskedDataset(PhotoPatches("val", 32, patches_per_photo=2), folder_masks(folder))
    with pytest.raises(DataError, match="size="):
        ds[0]
    ds = MaskedDataset(FactorShapes(2, 16), folder_masks(folder), seed=1)
    assert torch.equal(ds[EpochKey(2, 1)]["mask"], ds[EpochKey(2, 1)]["mask"])
    assert _epochs_differ(ds, 1, "mask", 8)


# ----------------------------------------------------------------------------- engine level
@dataclass
class _EpochConfig(TrainConfig):
    width: int = 4  # channels of the tiny inpainting net

    PROFILES: ClassVar = {"smoke": {"steps": 7, "batch_size": 3, "log_every": 1, "ckpt_every": 2}}


class _EpochMasked(Method):
    """A tiny inpainter trained on MaskedDataset(ImageFolder random-crop + flip): 9 images at
    batch 3 are 3 steps per epoch, so 7 steps span 3 epochs."""

    name = "_test_epoch_masked"
    Config = _EpochConfig

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.net = nn.Sequential(nn.Conv2d(4, cfg.width, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(cfg.width, 3, 3, padding=1)).to(device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-2)

    def modules(self):
        return {"net": self.net}

    def optimizers(self):
        return {"net": self.opt}

    def train_set(self):
        base = ImageFolder(self.cfg.data_root, 8, resize="random-crop", flip=True, seed=7)
        return MaskedDataset(base, generated_masks("rect"), seed=7, flip=True)

    def train_step(self, batch, ctx):
        x, m = batch["image"], batch["mask"]
        with ctx.autocast():
            out = self.net(torch.cat([x * (1 - m), m], 1))
            loss = ((out - x) * m).pow(2).mean()
        ctx.optimize("net", loss)
        # logged: what the step saw (mask pixels are integers, so sums are exact)
        return {"loss": loss.detach(), "mask_sum": m.sum(), "image_sum": x.sum()}


def _rows(run: Path) -> list[dict]:
    return [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture
def epoch_method():
    """Registers the test method for one test only (other tests list the registry)."""
    register(_EpochMasked)
    yield _EpochMasked.name
    methods._REGISTRY.pop(_EpochMasked.name, None)
    methods._MODULES.pop(_EpochMasked.name, None)


def test_epoch_aware_run_resumes_bit_exactly_across_epochs(tmp_path, epoch_method):
    root = tmp_path / "imgs"
    for k in range(9):
        _png(root / f"{k}.png", 14 + k % 3, 12, k)
    kw = {"data_root": str(root), "progress": "off", "device": "cpu"}
    train(epoch_method, "smoke", tmp_path / "full", **kw)
    train(epoch_method, "smoke", tmp_path / "part", steps=4, **kw)  # stops in epoch 1
    train(epoch_method, "smoke", tmp_path / "part", resume=True, **kw)
    full, part = _rows(tmp_path / "full"), _rows(tmp_path / "part")
    steps = [r for r in full if "mask_sum" in r]
    assert len(steps) == 7 and full == part
    wa = torch.load(tmp_path / "full" / "checkpoints" / "last.pt", weights_only=False)
    wb = torch.load(tmp_path / "part" / "checkpoints" / "last.pt", weights_only=False)
    for k, v in wa["modules"]["net"].items():
        assert torch.equal(v, wb["modules"]["net"][k]), k
    # the engine really passed epochs: each epoch covers all 9 items, so with masks that
    # ignored the epoch the per-epoch mask totals would be equal
    per_epoch = [sum(r["mask_sum"] for r in steps[3 * e:3 * e + 3]) for e in range(2)]
    assert per_epoch[0] != per_epoch[1]
