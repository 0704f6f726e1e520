"""Masks: the 1 = hole convention, seeded generators, validation, and the mask-folder loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ci_inpaint.data.masks import (
    HOLE_BUCKETS,
    MaskDataset,
    MaskFolder,
    MixedMaskGenerator,
    as_mask,
    bucket_index,
    bucket_of,
    center_mask,
    free_form_mask,
    from_known,
    hole_ratio,
    object_mask,
    rect_mask,
    to_known,
    validate_mask,
)
from ci_inpaint.errors import ConfigError, DataError


def _is_binary_f32(m: torch.Tensor, shape) -> bool:
    return (m.dtype == torch.float32 and tuple(m.shape) == tuple(shape)
            and bool(((m == 0) | (m == 1)).all()))


# ----------------------------------------------------------------------------- convention
@pytest.mark.parametrize("make", [
    lambda s: free_form_mask((48, 64), s),
    lambda s: rect_mask((48, 64), s),
    lambda s: MixedMaskGenerator((48, 64), seed=s)(3),
    lambda s: MaskDataset((48, 64), "free_form", n=5, seed=s)[2],
])
def test_generators_follow_convention_and_are_seeded(make):
    a, b = make(7), make(7)
    assert _is_binary_f32(a, (1, 48, 64)) and torch.equal(a, b)
    validate_mask(a, (48, 64))
    assert any(not torch.equal(a, make(s)) for s in range(8, 12))


def test_center_mask_hand_computed():
    m = center_mask(8, frac=0.5)
    expect = torch.zeros(1, 8, 8)
    expect[:, 2:6, 2:6] = 1
    assert torch.equal(m, expect) and hole_ratio(m) == 0.25


def test_known_converters_and_hole_ratio():
    m = center_mask((4, 6), 0.5)
    k = to_known(m)
    assert torch.equal(k, 1 - m) and torch.equal(from_known(k), m)
    assert torch.equal(to_known(torch.stack([m, m])), torch.stack([k, k]))
    ratios = hole_ratio(torch.stack([m, torch.zeros_like(m)]))
    assert ratios.dtype == torch.float64 and ratios.tolist() == [6 / 24, 0.0]


def test_bucket_edges():
    assert list(HOLE_BUCKETS) == ["0-20", "20-40", "40-60", "60-100"]
    cases = {0.0: "0-20", 0.2: "0-20", 0.2001: "20-40", 0.4: "20-40", 0.5: "40-60",
             0.6: "40-60", 0.61: "60-100", 1.0: "60-100"}
    assert {r: bucket_of(r) for r in cases} == cases
    # vectorised, same rule; a float32 20 % (0.2000000030 as a double) stays in 0-20
    assert bucket_index(torch.tensor(list(cases))).tolist() == [
        list(HOLE_BUCKETS).index(b) for b in cases.values()]
    assert bucket_index(torch.tensor([0.2, 0.4, 0.6], dtype=torch.float32)).tolist() == [0, 1, 2]
    assert bucket_index(torch.tensor([0.2, 0.4, 0.6]).nextafter(torch.tensor(1.0))).tolist() \
        == [1, 2, 3]
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(DataError, match="outside"):
            bucket_of(bad)


def test_hole_ratio_of_exact_fifths_is_on_the_edge():
    # 80 / 400 pixels: exactly 20 %, in float64 the same double as 0.2, so bucket "0-20"
    m = torch.zeros(3, 1, 20, 20)
    m[0, :, :4], m[1, :, :8], m[2, :, :12] = 1, 1, 1
    r = hole_ratio(m)
    assert r.tolist() == [0.2, 0.4, 0.6] and [bucket_of(float(x)) for x in r] == [
        "0-20", "20-40", "40-60"]
    assert hole_ratio(m[0]) == 0.2 and bucket_of(hole_ratio(m[0])) == "0-20"


def test_as_mask_converts_bool_uint8_float_and_pil():
    ref = torch.tensor([[0.0, 1.0], [1.0, 0.0]])[None]
    assert torch.equal(as_mask(ref[0].bool()), ref)
    assert torch.equal(as_mask(ref[0].numpy().astype(np.uint8) * 255), ref)
    assert torch.equal(as_mask(ref[0].numpy().astype(np.uint8)), ref)
    assert torch.equal(as_mask(ref * 0.7 + 0.1), ref)  # 0.1 / 0.8 thresholded at 0.5
    assert torch.equal(as_mask(Image.fromarray(ref[0].numpy().astype(np.uint8) * 255)), ref)
    assert as_mask(ref[None].bool()).shape == (1, 1, 2, 2)


# ----------------------------------------------------------------------------- validation
GOOD = center_mask(8)


@pytest.mark.parametrize("bad,kwargs,pattern", [
    (GOOD.numpy(), {}, "not a torch.Tensor"),
    (GOOD.to(torch.uint8), {}, "dtype torch.uint8.*as_mask"),
    (GOOD[0], {}, r"shape \(8, 8\).*channel"),
    (GOOD.expand(3, 8, 8), {}, r"shape \(3, 8, 8\)"),
    (GOOD, {"size": (8, 9)}, r"\(8, 8\) but the images are \(8, 9\)"),
    (GOOD * 0.5, {}, "values other than 0 and 1"),
    (torch.zeros(1, 8, 8), {}, "no hole"),
    (torch.ones(1, 8, 8), {}, "no known pixel.*allow_full"),
    (torch.stack([GOOD, torch.ones(1, 8, 8)]), {}, r"sample 1\) has no known pixel"),
])
def test_validate_mask_errors(bad, kwargs, pattern):
    with pytest.raises(DataError, match=pattern):
        validate_mask(bad, **kwargs)


def test_validate_mask_accepts_and_options():
    assert validate_mask(GOOD, 8) is GOOD
    assert validate_mask(torch.stack([GOOD, GOOD]), (8, 8)).shape == (2, 1, 8, 8)
    validate_mask(torch.ones(1, 8, 8), allow_full=True)
    validate_mask(torch.zeros(1, 8, 8), allow_empty=True)


# ----------------------------------------------------------------------------- generators
def test_free_form_hole_ratio_distribution_over_200_seeds():
    r = np.array([hole_ratio(free_form_mask(256, s)) for s in range(200)])
    # The distribution documented in free_form_mask's docstring.
    assert 0.13 < r.mean() < 0.21 and 0.12 < np.median(r) < 0.20
    assert np.percentile(r, 5) > 0.02 and np.percentile(r, 95) < 0.40 and r.max() < 0.6
    assert r.min() > 0 and len(np.unique(r)) > 190


def test_free_form_strokes_are_connected_thick_and_scaled():
    # One stroke of one vertex (one segment) with a fixed width: a capsule.
    m = free_form_mask(128, 3, max_vertex=1, num_strokes=(1, 1), min_brush_width=20,
                       max_brush_width=20)
    ys, xs = torch.nonzero(m[0], as_tuple=True)
    assert 20 * 20 * 0.6 < len(ys) < 20 * (128 * 0.35 + 20) * 1.1
    # Every row with hole pixels covers a width close to the brush (no hair-lines).
    assert (m[0].sum(1)[m[0].sum(1) > 0].max()) >= 15
    big = np.mean([hole_ratio(free_form_mask(512, s)) for s in range(20)])
    small = np.mean([hole_ratio(free_form_mask(128, s)) for s in range(20)])
    assert abs(big - small) < 0.06  # defaults scale with the image size


def test_free_form_accepts_numpy_and_torch_generators():
    a = free_form_mask(32, np.random.default_rng(5))
    b = free_form_mask(32, np.random.default_rng(5))
    assert torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(free_form_mask(32, g1), free_form_mask(32, g2))
    with pytest.raises(ConfigError):
        free_form_mask(32, 0, num_strokes=(3, 1))


def test_rect_mask_area_within_bounds():
    h, w, lo, hi = 40, 60, 0.2, 0.5
    for s in range(100):
        m = rect_mask((h, w), s, lo, hi)[0]
        ys, xs = torch.nonzero(m, as_tuple=True)
        rh, rw = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
        assert m.sum() == rh * rw  # exactly one filled rectangle
        assert round(lo * h) <= rh <= round(hi * h) and round(lo * w) <= rw <= round(hi * w)
        assert lo**2 * 0.9 <= hole_ratio(m[None]) <= hi**2 * 1.1
    with pytest.raises(ConfigError):
        rect_mask(8, 0, 0.6, 0.5)


def test_object_masks_from_box_and_segment():
    seg = torch.zeros(1, 10, 12)
    seg[0, 4, 5] = 1
    seg[0, 5, 5:7] = 1
    item = {"image": torch.zeros(3, 10, 12), "mask": seg, "box": torch.tensor([5, 4, 7, 6])}
    box = object_mask(item, "box")
    expect = torch.zeros(1, 10, 12)
    expect[0, 4:6, 5:7] = 1
    assert torch.equal(box, expect)
    grown = object_mask(item, "box", dilate=1)
    expect[0, 3:7, 4:8] = 1
    assert torch.equal(grown, expect)
    assert torch.equal(object_mask(item, "segment"), seg)
    dil = object_mask(item, "segment", dilate=1)
    assert dil[0, 3:7, 4:8].sum() == 15 and dil.sum() == 15 and dil[0, 3, 7] == 0
    item_f = dict(item, box=(4.5, 3.2, 6.5, 5.9))  # fractional: widened to whole pixels
    assert object_mask(item_f, "box")[0, 3:6, 4:7].sum() == 9
    with pytest.raises(ConfigError):
        object_mask(item, "ellipse")
    with pytest.raises(DataError, match="no 'box'"):
        object_mask({"mask": seg}, "box")


def test_mixed_generator_is_pure_and_follows_probs():
    g = MixedMaskGenerator(32, {"free_form": 0.5, "rect": 0.5}, seed=3)
    g2 = MixedMaskGenerator(32, {"free_form": 0.5, "rect": 0.5}, seed=3)
    assert torch.equal(g(17), g2(17)) and torch.equal(g(17), g(17))
    kinds = [g.kind_of(i) for i in range(300)]
    assert 0.38 < kinds.count("rect") / 300 < 0.62
    only = MixedMaskGenerator(32, {"rect": 1.0}, seed=3)
    assert all(only.kind_of(i) == "rect" for i in range(20))
    m = only(4)[0]
    ys, xs = torch.nonzero(m, as_tuple=True)
    assert m.sum() == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    with pytest.raises(ConfigError):
        MixedMaskGenerator(32, {"blob": 1.0})


def test_mask_dataset_items_are_pure_in_seed_and_index():
    d1, d2 = MaskDataset(32, "mixed", n=10, seed=1), MaskDataset(32, "mixed", n=10, seed=1)
    assert len(d1) == 10 and all(torch.equal(d1[i], d2[i]) for i in (0, 5, 9))
    assert not torch.equal(d1[0], d1[1])
    assert torch.equal(MaskDataset(16, "center", n=2, frac=0.25)[1], center_mask(16, 0.25))
    with pytest.raises(IndexError):
        d1[10]
    with pytest.raises(ConfigError):
        MaskDataset(32, "triangle")


# ----------------------------------------------------------------------------- MaskFolder
ROWS = {"a.png": 4, "b.png": 10, "sub/c.png": 16}  # of 32 rows white: 12.5 %, 31 %, 50 %


def _write_masks(root, invert=False, rows=ROWS):
    for name, k in rows.items():
        m = np.zeros((32, 32), np.uint8)
        m[:k, : 24 if k < 16 else 32] = 255  # asymmetric, so flips/rotations change it
        if invert:
            m = 255 - m
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(m).save(root / name)


def test_mask_folder_buckets_by_computed_ratio(tmp_path):
    _write_masks(tmp_path)
    full = MaskFolder(tmp_path, 16, flip=False, rotate=False)
    assert [p.name for p in full.files] == ["a.png", "b.png", "c.png"]
    ratios = [hole_ratio(full[i]) for i in range(3)]
    assert ratios == pytest.approx([4 * 24 / 1024, 10 * 24 / 1024, 0.5], abs=0.02)
    assert [full.bucket(i) for i in range(3)] == ["0-20", "20-40", "40-60"]
    assert [p.name for p in MaskFolder(tmp_path, 16, buckets="20-40").files] == ["b.png"]
    two = MaskFolder(tmp_path, 16, buckets=["0-20", "40-60"])
    assert [p.name for p in two.files] == ["a.png", "c.png"]
    assert list(tmp_path.glob(".hole_ratios_16x16_white.json"))  # cached
    with pytest.raises(DataError, match="no mask in bucket"):
        MaskFolder(tmp_path, 16, buckets="60-100")
    with pytest.raises(ConfigError):
        MaskFolder(tmp_path, 16, buckets="10-30")


def test_mask_folder_augmentation_keeps_ratio_and_is_seeded(tmp_path):
    _write_masks(tmp_path)
    plain = MaskFolder(tmp_path, 32, flip=False, rotate=False)
    aug = MaskFolder(tmp_path, 32, seed=1)
    seen = set()
    for epoch in range(6):
        aug.set_epoch(epoch)
        for i in range(len(aug)):
            m = aug[i]
            assert _is_binary_f32(m, (1, 32, 32))
            assert hole_ratio(m) == hole_ratio(plain[i])
            seen.add(m.numpy().tobytes())
    assert len(seen) > 6  # the transforms vary with the epoch
    aug.set_epoch(2)
    again = MaskFolder(tmp_path, 32, seed=1)
    again.set_epoch(2)
    assert all(torch.equal(aug[i], again[i]) for i in range(3))
    rot = MaskFolder(tmp_path, 32, seed=1, max_angle=30.0)
    assert all(abs(hole_ratio(rot[i]) - hole_ratio(plain[i])) < 0.12 for i in range(3))


def test_mask_folder_invert(tmp_path):
    white, black = tmp_path / "white", tmp_path / "black"
    _write_masks(white)
    _write_masks(black, invert=True)
    ref = MaskFolder(white, 16, flip=False, rotate=False)
    auto = MaskFolder(black, 16, flip=False, rotate=False)  # median white fraction > 1/2
    assert ref.invert is False and auto.invert is True
    assert all(torch.equal(ref[i], auto[i]) for i in range(3))
    raw = MaskFolder(black, 16, flip=False, rotate=False, invert=False)
    assert torch.equal(raw[0], 1 - ref[0])


def test_mask_folder_missing_or_empty(tmp_path):
    with pytest.raises(DataError, match="does not exist.*nvidia_masks.py"):
        MaskFolder(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="holds no .*png"):
        MaskFolder(tmp_path)
