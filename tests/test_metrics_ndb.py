"""NDB/JSD (Richardson & Weiss 2018) on real sklearn digits, and JSD closed forms."""

import math

import numpy as np
import pytest
from sklearn.datasets import load_digits

from ci_inpaint.errors import UserError
from ci_inpaint.metrics import jsd, ndb_jsd


def test_jsd_closed_forms():
    assert jsd([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-12)  # normalised first
    assert jsd([1, 1, 0, 0], [0, 0, 3, 1]) == pytest.approx(math.log(2))
    # hand computed: p=(1/2,1/2), q=(1,0), m=(3/4,1/4)
    expected = 0.5 * (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)) \
        + 0.5 * math.log(1 / 0.75)
    assert jsd([1, 1], [1, 0]) == pytest.approx(expected)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    perm = np.random.default_rng(0).permutation(len(d.data))
    x, y = d.data[perm] / 16 * 2 - 1, d.target[perm]
    return x[:1200], x[1200:], y[1200:]


def test_held_out_real_digits_are_close_and_biased_subset_is_not(digits):
    train, test, y_test = digits
    real = ndb_jsd(train, test, k=20)
    biased = ndb_jsd(train, test[y_test < 5], k=20)
    assert real["k"] == 20 and real["ndb_over_k"] == real["ndb"] / 20
    assert real["ndb"] <= 3 and real["jsd"] < 0.02
    assert biased["ndb"] >= 10 and biased["jsd"] > 0.1
    assert real["train_proportions"].sum() == pytest.approx(1.0)


def test_identical_sets_have_no_different_bins(digits):
    train, _, _ = digits
    out = ndb_jsd(train, train, k=10)
    assert out["ndb"] == 0 and out["jsd"] == pytest.approx(0.0, abs=1e-12)


def test_deterministic_and_high_dim_subset():
    rng = np.random.default_rng(1)
    train = rng.standard_normal((300, 3, 24, 24)).astype(np.float32)  # d = 1728 > 1000
    gen = rng.standard_normal((200, 3, 24, 24)).astype(np.float32) + 0.5
    a, b = ndb_jsd(train, gen, k=5, seed=3), ndb_jsd(train, gen, k=5, seed=3)
    assert a["ndb"] == b["ndb"] and a["jsd"] == b["jsd"]


def test_errors():
    with pytest.raises(UserError, match="same shape"):
        ndb_jsd(np.zeros((50, 4)), np.zeros((50, 5)), k=5)
    with pytest.raises(UserError, match="lower k"):
        ndb_jsd(np.zeros((3, 4)), np.zeros((50, 4)), k=5)
