"""Folder datasets on tiny images written to tmp_path: layouts, resize policies, each error."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ci_inpaint.data import catalog
from ci_inpaint.data.folders import (
    CIFAR10,
    ClassFolder,
    ImageFolder,
    PairedFolder,
    UnpairedFolder,
    UnpairedView,
)
from ci_inpaint.errors import DataError


def _write(path, w, h, value=None, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = (rng.integers(0, 256, (h, w, 3)) if value is None else np.full((h, w, 3), value))
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return arr.astype(np.uint8)


def test_image_folder_nested_png_jpg_and_center_crop(tmp_path):
    ref = _write(tmp_path / "a.png", 24, 16)
    _write(tmp_path / "sub" / "deeper" / "b.JPG", 20, 20, value=200)
    (tmp_path / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path, size=16)
    assert [p.name for p in ds.files] == ["a.png", "b.JPG"] and len(ds) == 2
    x = ds[0]["image"]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32
    # shorter side already 16: the centre crop is columns 4..19, bit-exact from the PNG
    expected = torch.from_numpy(ref[:, 4:20]).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.allclose(x, expected, atol=1e-6)
    y = ds[1]["image"]
    assert (y - (200 / 127.5 - 1)).abs().max() < 0.05  # jpeg of a flat image, resized
    assert len(ImageFolder(tmp_path, 16, recursive=False)) == 1


def test_resize_policies(tmp_path):
    _write(tmp_path / "wide.png", 40, 20, seed=1)
    squash = ImageFolder(tmp_path, 8, resize="resize")[0]["image"]
    assert squash.shape == (3, 8, 8)
    a = ImageFolder(tmp_path, 8, resize="random-crop", seed=0)
    b = ImageFolder(tmp_path, 8, resize="random-crop", seed=0)
    assert torch.equal(a[0]["image"], b[0]["image"])  # pure function of (seed, index)
    crops = {ImageFolder(tmp_path, 8, resize="random-crop", seed=s)[0]["image"].sum().item()
             for s in range(6)}
    assert len(crops) > 1  # different seeds, different crops at native resolution
    with pytest.raises(DataError, match="resize policy"):
        ImageFolder(tmp_path, 8, resize="stretch")


def test_missing_root_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match=r"does not exist.*data_root"):
        ImageFolder(tmp_path / "nope", 16)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"no images found.*\.png.*\.webp"):
        ImageFolder(tmp_path / "empty", 16)


def test_corrupt_file_raises_with_path_or_is_skipped(tmp_path):
    _write(tmp_path / "0_good.png", 16, 16)
    bad = tmp_path / "1_bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    _write(tmp_path / "2_good.png", 16, 16, seed=2)
    ds = ImageFolder(tmp_path, 16)  # lazy: construction does not decode
    with pytest.raises(DataError, match="1_bad.jpg"):
        ds[1]
    with pytest.raises(DataError, match="1_bad.jpg"):
        ds.verify()
    sk = ImageFolder(tmp_path, 16, skip_corrupt=True)
    with pytest.warns(UserWarning, match="1_bad.jpg"):
        item = sk[1]
    assert item["index"] == 2 and sk.skipped == 1  # next readable file, deterministic
    assert torch.equal(item["image"], sk[2]["image"])
    v = ImageFolder(tmp_path, 16, skip_corrupt=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = v.verify()
    assert report["ok"] == 2 and len(report["bad"]) == 1 and v.skipped == 1 and len(v) == 2


def test_too_small_image(tmp_path):
    _write(tmp_path / "big.png", 32, 32)
    _write(tmp_path / "tiny.png", 12, 10)
    ds = ImageFolder(tmp_path, 16, min_size=16)
    with pytest.raises(DataError, match=r"tiny.png is 12x10, smaller than min_size=16"):
        ds[1]
    sk = ImageFolder(tmp_path, 16, min_size=16, skip_corrupt=True)
    with pytest.warns(UserWarning):
        assert sk[1]["index"] == 0
    assert sk.skipped == 1


def test_paired_side_by_side_and_ab_folders(tmp_path):
    left = np.zeros((16, 16, 3), np.uint8)
    right = np.full((16, 16, 3), 255, np.uint8)
    (tmp_path / "sbs" / "train").mkdir(parents=True)
    Image.fromarray(np.concatenate([left, right], 1)).save(tmp_path / "sbs" / "train" / "1.png")
    ab = PairedFolder(tmp_path / "sbs", 8, split="train")[0]
    assert ab["A"].eq(-1).all() and ab["B"].eq(1).all()
    assert torch.equal(ab["cond"], ab["A"]) and torch.equal(ab["image"], ab["B"])
    ba = PairedFolder(tmp_path / "sbs", 8, direction="BtoA")[0]
    assert torch.equal(ba["cond"], ab["B"])
    _write(tmp_path / "ab" / "trainA" / "x.png", 16, 16, value=0)
    _write(tmp_path / "ab" / "trainB" / "x.jpg", 16, 16, value=255)
    pf = PairedFolder(tmp_path / "ab", 8)
    assert pf.layout == "A/B folders" and pf[0]["A"].eq(-1).all()
    _write(tmp_path / "ab" / "trainB" / "y.png", 16, 16)
    with pytest.raises(DataError, match=r"same file names.*'y'"):
        PairedFolder(tmp_path / "ab", 8)
    with pytest.raises(DataError, match=r"expected val/ .*valA/ \+ valB/"):
        PairedFolder(tmp_path / "sbs", 8, split="val")


def test_unpaired_layout_and_seeded_partner(tmp_path):
    for k in range(3):
        _write(tmp_path / "trainA" / f"a{k}.png", 12, 12, value=10 * k)
    for k in range(5):
        _write(tmp_path / "trainB" / f"b{k}.png", 12, 12, value=100 + 10 * k)
    ds = UnpairedFolder(tmp_path, "train", size=8, seed=0)
    assert len(ds) == 5
    assert torch.allclose(ds[4]["A"], torch.full((3, 8, 8), 10 / 127.5 - 1))  # A[4 % 3]
    b_vals = [round((ds[i]["B"][0, 0, 0].item() + 1) * 127.5) for i in range(5)]
    assert b_vals == [100 + 10 * ds.b_index(i) for i in range(5)]
    assert ds.b_index(3) == UnpairedFolder(tmp_path, "train", 8, seed=0).b_index(3)
    assert [ds.b_index(i) for i in range(5)] != [
        UnpairedFolder(tmp_path, "train", 8, seed=1).b_index(i) for i in range(5)]
    with pytest.raises(DataError, match="testA, testB"):
        UnpairedFolder(tmp_path, "test", 8)


def _side_by_side(path, left, right, w=8):
    """A pix2pix file: flat ``left`` | flat ``right`` halves, each w x w."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.concatenate([np.full((w, w, 3), left), np.full((w, w, 3), right)], 1)
    Image.fromarray(arr.astype(np.uint8)).save(path)


def _value(t):
    return round((t[0, 0, 0].item() + 1) * 127.5)


def test_cityscapes_reads_pix2pix_pairs_unpaired(tmp_path, monkeypatch):
    # pix2pix's cityscapes files are photo | label colours; CUT translates labels -> photos
    for split, n in (("train", 6), ("val", 2)):
        for k in range(n):
            _side_by_side(tmp_path / "cityscapes" / split / f"{k}.png", 10 * k, 100 + 10 * k)
    monkeypatch.setenv("CI_INPAINT_DATA", str(tmp_path / "home"))
    ds = catalog.get_dataset("cityscapes", "train", 8, data_root=tmp_path)
    assert isinstance(ds, UnpairedView) and len(ds) == 6 and ds.epoch_aware
    for i in range(6):
        item = ds[i]
        assert _value(item["A"]) == 100 + 10 * i  # the label half of pair i
        assert _value(item["B"]) == 10 * ds.b_index(i)  # the photo half of another draw
        assert torch.equal(item["image"], item["A"])
    # the partner is drawn afresh per epoch and is not the pair's own photo every time
    assert [ds.b_index(i, 0) for i in range(6)] != [ds.b_index(i, 1) for i in range(6)]
    assert [ds.b_index(i) for i in range(6)] != list(range(6))
    assert _value(ds[(1, 2)]["B"]) == 10 * ds.b_index(2, 1)
    assert len(catalog.get_dataset("cityscapes", "test", 8, data_root=tmp_path)) == 2  # -> val
    with pytest.raises(DataError, match=r"pix2pix.py --name cityscapes"):
        catalog.get_dataset("cityscapes", "train", 8)


def test_class_folder(tmp_path):
    _write(tmp_path / "dog" / "1.png", 10, 10)
    _write(tmp_path / "cat" / "x" / "2.png", 10, 10)
    _write(tmp_path / "cat" / "3.png", 10, 10)
    ds = ClassFolder(tmp_path, 8)
    assert ds.classes == ["cat", "dog"] and len(ds) == 3
    assert [int(ds[i]["label"]) for i in range(3)] == [0, 0, 1]
    assert ds[0]["label"].dtype == torch.int64
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DataError, match="empty_class"):
        ClassFolder(tmp_path, 8)
    _write(tmp_path.parent / "flat" / "1.png", 10, 10)
    with pytest.raises(DataError, match="one sub-folder per class"):
        ClassFolder(tmp_path.parent / "flat", 8)


def _fake_cifar(d, n=4):
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, n))}
        (d / name).write_bytes(pickle.dumps(batch))
    meta = {b"label_names": [f"c{k}".encode() for k in range(10)]}
    (d / "batches.meta").write_bytes(pickle.dumps(meta))


def test_cifar10_from_pickle_batches(tmp_path):
    _fake_cifar(tmp_path / "cifar-10-batches-py")
    tr, te = CIFAR10(tmp_path, "train"), CIFAR10(tmp_path / "cifar-10-batches-py", "test")
    assert len(tr) == 20 and len(te) == 4 and tr.classes[3] == "c3"
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes())
    x = te[1]["image"]
    assert x.shape == (3, 32, 32)
    assert torch.allclose(x, torch.from_numpy(raw[b"data"][1].reshape(3, 32, 32)).float() / 127.5 - 1)
    assert te[1]["label"] == raw[b"labels"][1] and te[1]["label"].dtype == torch.int64
    assert CIFAR10(tmp_path, "val", size=16)[0]["image"].shape == (3, 16, 16)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3.*cifar10.py"):
        CIFAR10(tmp_path, "train")


def test_catalog_reads_paper_layouts(tmp_path, monkeypatch):
    monkeypatch.setenv("CI_INPAINT_DATA", str(tmp_path))
    _fake_cifar(tmp_path / "cifar10" / "cifar-10-batches-py")
    assert len(catalog.get_dataset("cifar10", "train", 32)) == 20
    # places2 as data_scripts/places2.py prepares it: $CI_INPAINT_DATA/places2_val/val_256/
    _write(tmp_path / "places2_val" / "val_256" / "a.jpg", 20, 20)
    _write(tmp_path / "places2_val" / "val_256" / "b.jpg", 20, 20)
    assert catalog.get_dataset("places2", "val", 16)[0]["image"].shape == (3, 16, 16)
    (tmp_path / "list.txt").write_text("val_256/b.jpg\n")
    sub = catalog.get_dataset("places2", "test", 16, file_list=tmp_path / "list.txt")
    assert [p.name for p in sub.files] == ["b.jpg"]
    with pytest.raises(DataError, match=r"places2_train.*places2.py --split train"):
        catalog.get_dataset("places2", "train", 16)
    # facades: the archive's top folder inside the script's default root; maps: test -> val
    left_right = np.concatenate([np.zeros((8, 8, 3)), np.full((8, 8, 3), 255)], 1)
    for split in ("train", "val"):
        d = tmp_path / "pix2pix_maps" / "maps" / split
        d.mkdir(parents=True)
        Image.fromarray(left_right.astype(np.uint8)).save(d / "1.jpg")
    maps = catalog.get_dataset("maps", "test", 8)
    assert maps.split == "val" and maps[0]["A"].mean() < -0.9 and maps[0]["B"].mean() > 0.9
    for d in ("trainA", "trainB", "testA", "testB"):
        _write(tmp_path / "cyclegan_horse2zebra" / "horse2zebra" / d / "1.jpg", 12, 12)
    assert catalog.get_dataset("horse2zebra", "val", 8).split == "test"
    # celeba_hq: split by the CelebA source index of each image
    base = tmp_path / "celeba_hq" / "CelebAMask-HQ"
    for i in range(3):
        _write(base / "CelebA-HQ-img" / f"{i}.jpg", 16, 16)
    (base / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
        "idx orig_idx orig_file\n0 119613 119614.jpg\n1 170000 170001.jpg\n2 190000 x.jpg\n")
    assert [p.name for p in catalog.get_dataset("celeba_hq", "val", 16).files] == ["1.jpg"]
    assert [p.name for p in catalog.get_dataset("celeba_hq", "train", 16).files] == ["0.jpg"]
    # celeba: official partition file
    cel = tmp_path / "celeba"
    for n in ("000001.jpg", "000002.jpg"):
        _write(cel / "img_align_celeba" / n, 18, 22)
    (cel / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 2\n")
    assert [p.name for p in catalog.get_dataset("celeba", "test", 16).files] == ["000002.jpg"]
    rows = {r["name"]: r for r in catalog.dataset_table()}
    assert rows["maps"]["present"] and rows["celeba"]["present"]
    assert rows["paris_streetview"]["present"] is False
    _write(tmp_path / "mine" / "a.png", 20, 20)
    assert len(catalog.get_dataset("image_folder", "train", 16, data_root=tmp_path / "mine")) == 1


def test_catalog_nvidia_masks_through_mask_folder(tmp_path, monkeypatch):
    pytest.importorskip("ci_inpaint.data.masks")
    monkeypatch.setenv("CI_INPAINT_DATA", str(tmp_path))
    d = tmp_path / "nvidia_masks" / "mask" / "testing_mask_dataset"
    d.mkdir(parents=True)
    for k in range(2):
        m = np.zeros((32, 32), np.uint8)
        m[: 8 * (k + 1)] = 255  # white = hole in the NVIDIA test set
        Image.fromarray(m).save(d / f"{k:05d}.png")
    ds = catalog.get_dataset("nvidia_masks", "train", 16, invert=False)
    assert len(ds) == 2
