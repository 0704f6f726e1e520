"""Bundled datasets: split disjointness, shapes/ranges/dtypes, determinism, the catalog."""

import numpy as np
import pytest
import torch

from ci_inpaint.data import bundled, catalog
from ci_inpaint.data.bundled import PHOTO_SPLITS, PHOTOS, Digits, LFWFaces, PhotoPatches
from ci_inpaint.errors import ConfigError, DataError


def _check_image(x, c, size):
    assert x.shape == (c, size, size) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1


def test_photo_splits_are_disjoint_and_cover_all_photos():
    sets = [set(PHOTO_SPLITS[s]) for s in ("train", "val", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert set().union(*sets) == set(PHOTOS)
    colour_test = [p for p in PHOTO_SPLITS["test"] if p in bundled.COLOUR_PHOTOS]
    assert len(colour_test) == 2


def test_photo_patches_split_by_source_photo():
    ds = {s: PhotoPatches(s, size=32, patches_per_photo=40) for s in ("train", "val", "test")}
    photos = {s: set(d.index[:, 0].tolist()) for s, d in ds.items()}
    assert photos["train"].isdisjoint(photos["test"]) and photos["val"].isdisjoint(photos["test"])
    assert photos["train"].isdisjoint(photos["val"])
    assert {PHOTOS[p] for p in photos["test"]} == {"chelsea", "flower"}
    assert len(photos["train"]) == 7 and len(ds["train"]) == 7 * 40
    # no test patch equals any training patch (pixels, not just ids)
    tr = torch.stack([ds["train"][i]["image"] for i in range(len(ds["train"]))]).flatten(1)
    te = torch.stack([ds["test"][i]["image"] for i in range(len(ds["test"]))]).flatten(1)
    assert torch.cdist(te, tr).min() > 1.0


def test_photo_patch_content_matches_source_photo():
    d = PhotoPatches("val", size=32, patches_per_photo=10, scales=(100.0,))  # native resolution
    pid, side, y, x = d.index[3].tolist()
    ref = bundled.load_photo(PHOTOS[pid])[y:y + 32, x:x + 32]
    img = d[3]["image"]
    _check_image(img, 3, 32)
    assert side == 400 and d[3]["photo"].dtype == torch.int64
    np.testing.assert_allclose(((img + 1) * 127.5).permute(1, 2, 0).numpy(), ref, atol=1e-3)
    assert img.std() >= 0.08  # flat patches were dropped


def test_photo_patches_deterministic_in_seed_and_grey_flag():
    a, b = PhotoPatches("val", 64, 16, seed=1), PhotoPatches("val", 64, 16, seed=1)
    c = PhotoPatches("val", 64, 16, seed=2)
    assert torch.equal(a.index, b.index) and torch.equal(a[5]["image"], b[5]["image"])
    assert not torch.equal(a.index, c.index)
    g = PhotoPatches("test", 64, 8, include_grey=True)
    assert PHOTOS.index("camera") in set(g.index[:, 0].tolist())
    _check_image(g[len(g) - 1]["image"], 3, 64)
    assert (g[len(g) - 1]["image"][0] == g[len(g) - 1]["image"][2]).all()  # grey replicated


def test_photo_patches_size_128_and_rejected_size():
    d = PhotoPatches("test", 128, patches_per_photo=4)
    _check_image(d[0]["image"], 3, 128)
    with pytest.raises(ConfigError, match="32, 64, 128"):
        PhotoPatches("train", 48)
    with pytest.raises(ConfigError, match="split"):
        PhotoPatches("training", 64)


def test_digits_stratified_split_shapes_and_values():
    ds = {s: Digits(s, size=32, seed=0) for s in ("train", "val", "test")}
    idx = [set(d.indices.tolist()) for d in ds.values()]
    assert sum(map(len, idx)) == 1797 and len(set().union(*idx)) == 1797
    counts = np.bincount(ds["test"].labels.numpy(), minlength=10)
    assert counts.min() >= 25 and counts.max() <= 29  # 15 % of ~180 per class
    item = ds["train"][0]
    _check_image(item["image"], 3, 32)
    assert item["label"].dtype == torch.int64 and item["image"].min() == -1
    one = Digits("train", size=32, channels=1)
    assert one[0]["image"].shape == (1, 32, 32)
    assert not torch.equal(Digits("train", seed=1).indices, ds["train"].indices)
    # the 32x32 rendering is the 8x8 digit upsampled: area-pooling recovers it
    from sklearn.datasets import load_digits

    raw = torch.as_tensor(load_digits().images[int(ds["train"].indices[0])]) / 8 - 1
    pooled = torch.nn.functional.avg_pool2d(one[0]["image"][None], 4)[0, 0]
    err = (pooled - raw.float()).abs()
    assert err.mean() < 0.1 and err.max() < 0.4  # bicubic blurs the 8x8 edges a little


def test_lfw_first_hundred_are_faces_and_split():
    import skimage.data

    raw = skimage.data.lfw_subset().reshape(200, -1)
    z = (raw - raw.mean(1, keepdims=True)) / raw.std(1, keepdims=True)
    mean_face = z[:100].mean(0)
    corr = z @ mean_face / np.linalg.norm(mean_face) / np.sqrt(z.shape[1])
    assert corr[:100].mean() > 0.4 and corr[100:].mean() < 0.1
    tr, te = LFWFaces("train", 32), LFWFaces("test", 64, faces_only=False)
    assert len(tr) == 70 and len(LFWFaces("val")) == 15 and len(te) == 30
    assert set(tr.indices.tolist()).isdisjoint(te.indices.tolist())
    assert tr.labels.eq(1).all() and te.labels.sum() == 15
    _check_image(te[0]["image"], 3, 64)
    with pytest.raises(ConfigError, match="32 or 64"):
        LFWFaces("train", 128)


def test_catalog_get_dataset_and_table(tmp_path, monkeypatch):
    monkeypatch.setenv("CI_INPAINT_DATA", str(tmp_path))
    d = catalog.get_dataset("digits", "val", 32)
    assert isinstance(d, Digits)
    s = catalog.get_dataset("factor_shapes", "test", 32, n=5)
    assert len(s) == 5 and s[0]["image"].shape == (3, 32, 32)
    with pytest.raises(ConfigError, match="known datasets are .*photo_patches"):
        catalog.get_dataset("imagenet", "train", 64)
    with pytest.raises(ConfigError, match="data_root"):
        catalog.get_dataset("image_folder", "train", 64)
    with pytest.raises(DataError, match="celeba_hq.py"):
        catalog.get_dataset("celeba_hq", "train", 64)
    rows = {r["name"]: r for r in catalog.dataset_table()}
    for name in ("celeba_hq", "celeba", "places2", "cifar10", "facades", "maps", "horse2zebra",
                 "paris_streetview", "nvidia_masks", "photo_patches", "factor_digits"):
        assert name in rows
    assert rows["celeba_hq"]["present"] is False and rows["digits"]["present"] is True
    assert "data_scripts/pix2pix.py" in rows["facades"]["how_to_get"]
    (tmp_path / "places2" / "train").mkdir(parents=True)  # not the layout the loader reads
    assert catalog.presence("places2").startswith("incomplete: missing data_256/ with images")
    (tmp_path / "places2" / "data_256" / "a").mkdir(parents=True)
    (tmp_path / "places2" / "data_256" / "a" / "x.jpg").write_bytes(b"jpeg")
    assert catalog.dataset_table()[[r["name"] for r in catalog.dataset_table()].index(
        "places2")]["present"] is True
    assert catalog.format_table(catalog.dataset_table()).count("\n") == len(rows) + 1
