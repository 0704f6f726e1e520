"""FactorShapes: determinism, shapes/dtypes, and that the factors are exact."""

import math

import numpy as np
import pytest
import torch

from ci_inpaint.data.synthetic import PALETTE, SCALE_FRACS, SHAPES, FactorShapes, _shape_inside
from ci_inpaint.errors import ConfigError


def _items(ds, n=None):
    return [ds[i] for i in range(n or len(ds))]


def test_same_seed_same_images_different_seed_different():
    a, b, c = FactorShapes(6, 32, seed=3), FactorShapes(6, 32, seed=3), FactorShapes(6, 32, 4)
    for i in range(6):
        for k in ("image", "mask", "factors", "box", "label"):
            assert torch.equal(a[i][k], b[i][k])
    assert not torch.equal(a[0]["image"], c[0]["image"])
    assert not torch.equal(a[0]["image"], a[1]["image"])
    torch.manual_seed(0)  # the global RNG plays no part
    x = a[2]["image"]
    torch.manual_seed(1)
    assert torch.equal(x, a[2]["image"])
    p = FactorShapes(6, 32, seed=3, precompute=True)
    assert torch.equal(p[4]["image"], a[4]["image"])


@pytest.mark.parametrize("kind", ["shapes", "digits"])
def test_item_shapes_and_ranges(kind):
    ds = FactorShapes(8, 48, seed=0, kind=kind, num_classes=5)
    for it in _items(ds):
        assert it["image"].shape == (3, 48, 48) and it["image"].dtype == torch.float32
        assert it["image"].min() >= -1 and it["image"].max() <= 1
        assert it["mask"].shape == (1, 48, 48) and set(it["mask"].unique().tolist()) <= {0, 1}
        assert it["label"].dtype == torch.int64 and 0 <= it["label"] < 5
        assert it["factors"].shape == (5,) and it["factors"].dtype == torch.int64
        assert (it["factors"] < torch.tensor(FactorShapes.factor_sizes)).all()
        assert it["box"].dtype == torch.int64 and it["mask"].sum() > 10
    assert FactorShapes.factor_names == ("colour", "scale", "angle", "x", "y")


def test_object_pixels_have_the_palette_colour_and_box_encloses_mask():
    for it in _items(FactorShapes(10, 64, seed=1)):
        m = it["mask"][0].bool()
        colour = PALETTE[int(it["factors"][0])] * 2 - 1
        assert torch.allclose(it["image"][:, m], colour[:, None].expand(3, int(m.sum())))
        x0, y0, x1, y1 = it["box"].tolist()
        inside = torch.zeros_like(m)
        inside[y0:y1, x0:x1] = True
        assert m[~inside].sum() == 0  # box encloses the mask ...
        assert m[y0].any() and m[y1 - 1].any() and m[:, x0].any() and m[:, x1 - 1].any()  # tight
        assert x0 > 0 and y0 > 0 and x1 < 64 and y1 < 64  # object fully inside the image


def test_mask_centroid_is_the_position_factor():
    ds = FactorShapes(60, 64, seed=2, num_classes=4)  # circle, square, triangle, cross: centred
    for it in _items(ds):
        m = it["mask"][0]
        ys, xs = torch.nonzero(m, as_tuple=True)
        cx, cy = it["factor_values"][3:5]
        assert abs(xs.float().add(0.5).mean() - cx) < 0.6 and abs(ys.float().add(0.5).mean() - cy) < 0.6
        assert cx == ds.positions[it["factors"][3]] and cy == ds.positions[it["factors"][4]]


def test_mask_area_grows_with_scale_as_radius_squared():
    # fix every factor but scale by searching items of one class/angle: use the inside-test
    # directly through the dataset's renderer for a circle at each scale
    ds = FactorShapes(1, 64)
    xx, yy = ds._grid
    areas = []
    for s in SCALE_FRACS:
        r = s * 64
        m = ds._object_mask(0, (xx - 32) / r, (yy - 32) / r)
        areas.append(float(m.sum()))
    expected = [math.pi * (0.8 * s * 64) ** 2 for s in SCALE_FRACS]
    for a, e in zip(areas, expected):
        assert abs(a - e) / e < 0.05
    # and in sampled items: mean area per scale level strictly increases
    items = _items(FactorShapes(120, 64, seed=5))
    by_scale = [[float(it["mask"].sum()) for it in items if it["factors"][1] == k]
                for k in range(len(SCALE_FRACS))]
    means = [sum(v) / len(v) for v in by_scale]
    assert all(a < b for a, b in zip(means, means[1:]))


def test_rotation_factor_rotates_the_shape():
    ds = FactorShapes(1, 64)
    xx, yy = ds._grid
    r = 0.26 * 64
    dx, dy = (xx - 32) / r, (yy - 32) / r
    sq0 = ds._object_mask(1, dx, dy)
    a = math.pi / 4
    sq45 = ds._object_mask(1, math.cos(a) * dx + math.sin(a) * dy, -math.sin(a) * dx + math.cos(a) * dy)
    assert not np.array_equal(sq0, sq45)
    assert abs(float(sq0.sum()) - float(sq45.sum())) / float(sq0.sum()) < 0.15  # same area (up to pixels)
    k = int(0.9 * r)  # on the x axis: inside the diamond (0.96 r), outside the square (0.68 r)
    assert sq45[32, 32 + k] and not sq0[32, 32 + k]


def test_every_shape_lies_in_the_unit_disk():
    g = np.linspace(-1.5, 1.5, 301)
    v, u = np.meshgrid(g, g, indexing="ij")
    for name in SHAPES:
        m = _shape_inside(name, u, v)
        assert m.sum() > 1000 and np.sqrt(u * u + v * v)[m].max() <= 1.0


def test_factors_roughly_uniform_and_classes_all_appear():
    items = _items(FactorShapes(200, 32, seed=7, kind="digits"))
    labels = torch.stack([it["label"] for it in items])
    assert set(labels.tolist()) == set(range(10))
    f = torch.stack([it["factors"] for it in items])
    for k, n in enumerate(FactorShapes.factor_sizes):
        assert len(f[:, k].unique()) == n


def test_bad_arguments():
    with pytest.raises(ConfigError, match="kind"):
        FactorShapes(4, kind="letters")
    with pytest.raises(ConfigError, match="num_classes"):
        FactorShapes(4, num_classes=9)
    with pytest.raises(IndexError):
        FactorShapes(4)[4]


def test_custom_scales_set_the_radius_and_keep_the_object_inside():
    big = (0.22, 0.26, 0.30, 0.34)
    ds = FactorShapes(80, 32, seed=3, num_classes=4, scales=big)
    assert ds.factor_sizes[1] == 4
    for i in range(len(ds)):
        it = ds[i]
        assert it["factor_values"][1] == pytest.approx(big[int(it["factors"][1])] * 32)
        x0, y0, x1, y1 = it["box"].tolist()
        assert x0 >= 0 and y0 >= 0 and x1 <= 32 and y1 <= 32 and x1 > x0
    # the default is unchanged, and a radius outside the image is a one-line config error
    assert FactorShapes(1, 32).scales == SCALE_FRACS
    with pytest.raises(ConfigError, match="radius fractions"):
        FactorShapes(1, 32, scales=(0.2, 0.6))


def test_plain_background_is_the_textures_mean_with_every_other_draw_the_same():
    tex, plain = (FactorShapes(6, 32, seed=2, num_classes=4, background=b)
                  for b in ("texture", "plain"))
    for i in range(len(tex)):
        a, b = tex[i], plain[i]
        for k in ("label", "factors", "factor_values", "box", "mask"):
            assert torch.equal(a[k], b[k]), k  # the same object, only the background differs
        out = a["mask"][0] == 0
        bg = b["image"][:, out]  # (3, n background pixels): one colour
        assert torch.allclose(bg, bg[:, :1].expand_as(bg))
        assert torch.allclose(bg[:, 0], a["image"][:, out].mean(1), atol=0.02)  # ~ texture mean
        assert torch.equal(a["image"][:, ~out], b["image"][:, ~out])
    with pytest.raises(ConfigError, match="background"):
        FactorShapes(1, 32, background="checks")
