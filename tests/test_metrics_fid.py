"""Fréchet distance against closed forms; classifier-feature FID names and behaviour."""

import importlib
import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from ci_inpaint.errors import UserError, WeightsMissingError
from ci_inpaint.metrics import (
    PAPER_FID_SAMPLES,
    FeatureNet,
    extract_features,
    fid,
    fid_label,
    frechet_distance,
    frechet_from_moments,
    paper_fid_samples,
    quantize_uint8,
    train_feature_classifier,
)
from ci_inpaint.metrics.features import cache_dir
from ci_inpaint.metrics.fid import resolve_feature_net

fid_mod = importlib.import_module("ci_inpaint.metrics.fid")  # the name `fid` is the function


def closed_form(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def moment_matched(rng, n, mu, cov):
    """n samples whose sample mean and unbiased covariance are exactly mu and cov."""
    z = rng.standard_normal((n, len(mu)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z @ np.linalg.cholesky(cov).T + mu


def random_spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_diagonal_hand_computed():
    # commuting covariances: |mu|^2 + sum (sqrt(a) - sqrt(b))^2 = 1 + 4 + (2-1)^2 + (3-1)^2 = 10
    rng = np.random.default_rng(0)
    a = moment_matched(rng, 50, np.array([1.0, 2.0]), np.diag([4.0, 9.0]))
    b = moment_matched(rng, 70, np.zeros(2), np.eye(2))
    assert frechet_distance(a, b) == pytest.approx(10.0, abs=1e-9)


def test_moment_matched_equals_closed_form():
    rng = np.random.default_rng(1)
    d = 6
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    a, b = moment_matched(rng, 100, mu1, s1), moment_matched(rng, 300, mu2, s2)
    expected = closed_form(mu1, s1, mu2, s2)
    assert frechet_distance(torch.tensor(a), torch.tensor(b)) == pytest.approx(expected, rel=1e-8)


def test_large_sample_matches_true_parameters():
    rng = np.random.default_rng(2)
    d = 4
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    a = rng.multivariate_normal(mu1, s1, size=200_000)
    b = rng.multivariate_normal(mu2, s2, size=200_000)
    expected = closed_form(mu1, s1, mu2, s2)
    assert expected > 0.5
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


def test_self_is_zero_and_symmetric():
    x = np.random.default_rng(3).standard_normal((500, 8))
    y = np.random.default_rng(4).standard_normal((400, 8)) + 1
    assert abs(frechet_distance(x, x)) < 1e-9
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)


def test_singular_covariance_warns_and_is_exact():
    x = np.random.default_rng(5).standard_normal((5, 10))
    with pytest.warns(UserWarning, match="singular"):
        v = frechet_distance(x, x + 1)
    # no eps·I offset (it moved the value by ~1e-3): same covariances, |mu|^2 = 10; the zero
    # eigenvalues come back as ~1e-16, whose square roots leave ~1e-7
    assert v == pytest.approx(10.0, abs=1e-6)


def rotation(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def test_ill_conditioned_full_rank_matches_scipy_sqrtm():
    # condition number 1e8 each, product eigenvalues down to ~1e-15 of the largest: the former
    # "eigenvalue ratio <= 1e-12 -> add eps·I" rule was off by 5e-5 relative here
    rng = np.random.default_rng(6)
    d = 64
    q1, q2 = rotation(rng, d), rotation(rng, d)
    s1 = q1 @ np.diag(np.logspace(0, -8, d)) @ q1.T
    s2 = q2 @ np.diag(np.logspace(0.5, -8, d)) @ q2.T
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    mu1, mu2 = 0.01 * rng.standard_normal(d), 0.01 * rng.standard_normal(d)
    w = np.linalg.eigvals(s1 @ s2).real
    assert w.min() < 1e-12 * w.max() and np.linalg.eigvalsh(s1).min() > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no offset, no warning
        got = frechet_from_moments(mu1, s1, mu2, s2)
    assert got == pytest.approx(closed_form(mu1, s1, mu2, s2), rel=1e-8)


def test_closed_forms_from_moments():
    rng = np.random.default_rng(7)
    d = 32
    q = rotation(rng, d)
    a, b = np.logspace(1, -10, d), rng.uniform(1e-6, 3, d)  # commuting, one ill-conditioned
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_from_moments(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_from_moments(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected,
                                                                                   rel=1e-12)
    # identical: 0 up to the square roots of rounding-level eigenvalues (tr S = 18)
    assert frechet_from_moments(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6)


def test_offset_only_when_the_square_root_fails(monkeypatch):
    s = np.diag([4.0, 0.0])  # singular but finite: exact, no offset, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fid_mod.frechet_from_moments(np.zeros(2), s, np.zeros(2), s) == pytest.approx(0.0)
    calls = []
    real = fid_mod._product_eigvals

    def failing_once(a, b):
        calls.append(b.copy())
        return np.full(len(a), np.nan) if len(calls) == 1 else real(a, b)

    monkeypatch.setattr(fid_mod, "_product_eigvals", failing_once)
    eps = 1e-3
    with pytest.warns(UserWarning, match="non-finite"):
        v = fid_mod.frechet_from_moments(np.zeros(2), np.eye(2), np.zeros(2), s, eps=eps)
    assert np.allclose(calls[1], s + eps * np.eye(2))  # retried with eps·I on both
    # as pytorch-fid: the offset enters the square root only, the traces are the raw ones
    expected = 2 + 4 - 2 * (np.sqrt((1 + eps) * (4 + eps)) + np.sqrt((1 + eps) * eps))
    assert v == pytest.approx(expected, rel=1e-9)


def test_input_errors():
    with pytest.raises(UserError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(UserError, match="same D"):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32).view(-1, 1, 8, 8) / 16 * 2 - 1
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return x[perm], torch.tensor(d.target)[perm]


@pytest.fixture(scope="module")
def one_thread():
    # 2 threads on 2 busy cores are >10x slower than 1 for these small convs
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def digits_net(digits, tmp_path_factory, one_thread):
    mp = pytest.MonkeyPatch()
    mp.setenv("CI_INPAINT_CACHE", str(tmp_path_factory.mktemp("cache")))
    x, y = digits
    net = train_feature_classifier("digits", x[:1200], y[:1200], epochs=3, input_size=16, batch_size=32)
    yield net
    mp.undo()


def test_classifier_learns_and_is_cached(digits, digits_net, monkeypatch, tmp_path):
    x, y = digits
    acc = (digits_net.classifier(x[1200:].expand(-1, 3, -1, -1)).argmax(1) == y[1200:]).float().mean()
    assert acc > 0.8  # 0.91 here; chance is 0.1
    assert digits_net.name == "digits_classifier"
    assert digits_net.fid_name == "fid_digits_classifier"
    # the module fixture's cache is gone now; train a tiny one into a fresh cache twice
    monkeypatch.setenv("CI_INPAINT_CACHE", str(tmp_path))
    a = train_feature_classifier("tiny", x[:64], y[:64], epochs=1, input_size=16)
    files = list(cache_dir().glob("tiny-*.pt"))
    assert len(files) == 1 and not list(cache_dir().glob("*.tmp"))
    b = train_feature_classifier("tiny", x[:64], y[:64], epochs=1, input_size=16)  # cached
    assert torch.equal(a(x[:8]), b(x[:8]))
    files[0].write_bytes(b"corrupt")
    with pytest.warns(UserWarning, match="retraining"):
        c = train_feature_classifier("tiny", x[:64], y[:64], epochs=1, input_size=16)
    assert torch.equal(a(x[:8]), c(x[:8]))  # seeded: the same net again


def test_fid_falls_back_with_a_marked_name(digits, digits_net, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no inception weights there
    x, y = digits
    test = x[1200:]
    with pytest.raises(WeightsMissingError, match="pt_inception-2015-12-05-6726825d.pth"):
        fid(x[:600], test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = fid(x[:1200], test, fallback=digits_net, batch_size=100)
        biased = fid(x[:1200], test[y[1200:] < 5], fallback=digits_net)
        explicit = fid(x[:1200], test, feature_net=digits_net)
    assert real["name"] == biased["name"] == "fid_digits_classifier"
    assert real["n_a"] == 1200 and real["n_b"] == len(test)
    assert explicit["value"] == pytest.approx(real["value"], rel=1e-6)
    assert biased["value"] > 3 * real["value"]


@pytest.mark.parametrize("size", [32, 64])
def test_classifier_shapes(size):
    from ci_inpaint.metrics import SmallClassifier

    m = SmallClassifier(7)
    assert m(torch.zeros(2, 3, size, size)).shape == (2, 7)
    assert m.features(torch.zeros(2, 3, size, size)).shape == (2, 128)


def test_plain_module_never_named_fid():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    x = torch.rand(10, 3, 8, 8) * 2 - 1
    out = fid(x, x.flip(0), feature_net=net)
    assert out["name"] != "fid" and out["name"].startswith("fid_")
    assert abs(out["value"]) < 1e-6
    assert isinstance(FeatureNet(net, "toy").fid_name, str)


def test_auto_uses_the_fid_inception_when_its_file_is_present(monkeypatch, tmp_path, one_thread):
    from ci_inpaint.metrics.inception import FIDInceptionV3

    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.manual_seed(0)
    net = FIDInceptionV3()  # pytorch-fid's layout: the file must load strictly
    torch.save(net.net.state_dict(), ckpt / "pt_inception-2015-12-05-6726825d.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    fallback = FeatureNet(torch.nn.Flatten(), "x")
    net = resolve_feature_net("auto", fallback=fallback)
    assert net.name == "inception_pool3" and net.fid_name == "fid"
    feats = net(torch.rand(2, 3, 32, 32) * 2 - 1)  # resized to 299 inside
    assert feats.shape == (2, 2048) and (feats >= 0).all()  # pool3 of ReLU maps
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    assert resolve_feature_net("auto", fallback=fallback) is fallback


def test_images_are_quantised_to_uint8_levels():
    q = quantize_uint8(torch.tensor([-1.0, 1.0, 0.0, -1 + 0.49 / 127.5, -1 + 0.51 / 127.5, 2.0]))
    assert q.tolist() == pytest.approx([-1.0, 1.0, 128 / 127.5 - 1, -1.0, 1 / 127.5 - 1, 1.0],
                                       abs=1e-6)
    rng = torch.Generator().manual_seed(0)
    levels = torch.randint(0, 256, (6, 3, 8, 8), generator=rng).float() / 127.5 - 1
    nudge = (torch.rand(levels.shape, generator=rng) - 0.5) * 0.9 / 127.5  # < half a level
    a, b = levels, (levels + nudge).clamp(-1, 1)
    net = FeatureNet(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 5)), "lin")
    assert torch.equal(extract_features(net, a, quantize=True), extract_features(net, b,
                                                                                 quantize=True))
    assert not torch.equal(extract_features(net, a), extract_features(net, b))
    # fid() quantises by default: a set and its sub-level nudge are the same set
    x = quantize_uint8(torch.cat([a, -a, a.flip(-1), a * 0.5]))
    y = (x + (torch.rand(x.shape, generator=rng) - 0.5) * 0.9 / 127.5).clamp(-1, 1)
    assert fid(x, y, feature_net=net)["value"] == pytest.approx(0.0, abs=1e-9)
    assert fid(x, y, feature_net=net, quantize=False)["value"] > 1e-9


def test_fid_result_carries_its_counts():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    x = torch.rand(12, 3, 8, 8) * 2 - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fid(x, x[:7], feature_net=net)
    assert (out["n_a"], out["n_b"], out["quantized"]) == (12, 7, True)
    assert out["label"] == fid_label(out) == f"{out['name']} (n=12 vs 7)"
    assert fid_label({"name": "fid", "n_a": 10000, "n_b": 10000}) == "fid (n=10000)"


def test_paper_fid_counts():
    assert paper_fid_samples("divco") == 50_000 and paper_fid_samples("scat") == 5_000
    assert PAPER_FID_SAMPLES["divco"].source and "test.py" in PAPER_FID_SAMPLES["divco"].source
    with pytest.raises(UserError, match="states no FID sample count"):
        paper_fid_samples("contrasfill")
    with pytest.raises(UserError, match="no FID sample count recorded"):
        paper_fid_samples("stylegan")
