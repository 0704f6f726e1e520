"""KFFA, LPIPS diversity and the 2D-toy mode metrics on hand-placed inputs."""

import dataclasses
import hashlib
import itertools
import math
import warnings

import pytest
import torch

from ci_inpaint import weights
from ci_inpaint.errors import UserError, WeightsMissingError
from ci_inpaint.metrics import kffa, lpips_div, lpips_diversity, toy_mode_metrics


def test_kffa_identical_orthogonal_and_mixed():
    same = torch.randn(3, 1, 16).expand(3, 5, 16)
    assert kffa(same) == pytest.approx(0.0, abs=1e-4)
    assert kffa(torch.eye(4).expand(2, 4, 4) * 3.0) == pytest.approx(90.0)
    # angles 0°, 90°, 180° ... one input: e1, e2, -e1 → pairs 90, 180, 90 → mean 120
    f = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]]])
    assert kffa(f) == pytest.approx(120.0)
    # averaged over inputs: (0 + 90) / 2
    g = torch.stack([torch.tensor([[1.0, 0.0], [2.0, 0.0]]), torch.eye(2)])
    assert kffa(g) == pytest.approx(45.0)
    with pytest.raises(UserError):
        kffa(torch.randn(3, 1, 4))


def test_toy_mode_metrics_hand_placed():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    # mode 0: 3 samples, mode 1: 2 samples (one of them 3.5 std away: not high quality),
    # mode 2: none, plus one far-away sample
    samples = torch.tensor([[0.1, 0.0], [0.0, -0.2], [0.2, 0.2], [10.0, 0.1], [13.5, 0.0],
                            [30.0, 30.0]])
    out = toy_mode_metrics(samples, centers, std=1.0, min_count=1)
    assert out["n_modes"] == 3 and out["modes_covered"] == 2
    assert out["high_quality"] == pytest.approx(4 / 6)
    assert out["counts"] == [3, 1, 0]
    assert toy_mode_metrics(samples, centers, std=1.0, min_count=2)["modes_covered"] == 1
    assert toy_mode_metrics(samples, centers, std=1.2, min_count=2)["modes_covered"] == 2
    # default rule: 0.8 % of N, i.e. 20 of 2,500
    assert toy_mode_metrics(torch.zeros(2500, 2), centers, 1.0)["min_count"] == 20


def test_mode_width_closed_form_hand_case_and_shrunk_modes():
    """Real modes give width 1 (the truncated-Gaussian closed form, checked by Monte Carlo);
    modes shrunk to half their std about 0.51; the hand case: two covered modes, one with points
    at +-0.3 on x (per-axis RMS sqrt(0.09 / 2)), one single point (0), the far sample ignored."""
    from ci_inpaint.metrics.toy import truncated_rms

    g = torch.Generator().manual_seed(0)
    r = torch.randn(400_000, 2, generator=g, dtype=torch.float64)
    inside = r[r.norm(dim=1) < 3]
    assert truncated_rms(1.0) == pytest.approx(float((inside.pow(2).sum(1).mean() / 2).sqrt()),
                                               rel=2e-3)
    assert truncated_rms(2.0, 3.0) == pytest.approx(2 * truncated_rms(1.0, 3.0))
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    real = torch.cat([c + 0.5 * torch.randn(20_000, 2, generator=g) for c in centers])
    assert toy_mode_metrics(real, centers, 0.5)["mode_width"] == pytest.approx(1.0, abs=0.01)
    shrunk = torch.cat([c + 0.25 * torch.randn(20_000, 2, generator=g) for c in centers])
    # half the std, untruncated at 6 of its own std: 0.25 against the real mode's 0.487
    assert toy_mode_metrics(shrunk, centers, 0.5)["mode_width"] == pytest.approx(
        0.25 / truncated_rms(0.5), abs=0.01)
    hand = torch.tensor([[0.3, 0.0], [-0.3, 0.0], [10.0, 0.0], [50.0, 50.0]])
    out = toy_mode_metrics(hand, centers, 1.0, min_count=1)
    want = (math.sqrt(0.09 / 2) / truncated_rms(1.0) + 0.0) / 2
    assert out["mode_width"] == pytest.approx(want, rel=1e-6)  # float32 input
    assert toy_mode_metrics(hand + 100, centers, 1.0)["mode_width"] == 0.0  # nothing covered


def brute_force(model, samples, pairs):
    """Mean over inputs of the mean LPIPS over pairs, one lpips.LPIPS call per pair."""
    per_input = []
    for x in samples:
        s = len(x)
        ps = itertools.combinations(range(s), 2) if pairs == "all" else zip(range(s - 1),
                                                                          range(1, s))
        per_input.append(torch.stack([model(x[i:i + 1], x[j:j + 1]).flatten()[0]
                                      for i, j in ps]).double().mean())
    return float(torch.stack(per_input).mean())


@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no AlexNet weights
    return tmp_path


def test_lpips_fallback_matches_brute_force_pairs(no_weights):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 4, 3, 32, 32, generator=g) * 2 - 1
    model = lpips_div.resolve_lpips("fallback")[1]
    for pairs in ("all", "consecutive"):
        # batch_size 5: one input per AlexNet pass, pairs split over several steps
        out = lpips_diversity(x, pairs=pairs, batch_size=5)
        assert out["name"] == "lpips_fallback_randalex" and out["pairs"] == pairs
        assert out["value"] == pytest.approx(brute_force(model, x, pairs), rel=1e-5)
    assert lpips_diversity(x)["n_pairs"] == 6 and lpips_diversity(x)["pairs"] == "all"
    assert lpips_diversity(x, pairs="consecutive")["n_pairs"] == 3
    assert lpips_diversity(x, batch_size=64)["value"] == pytest.approx(
        lpips_diversity(x, batch_size=4)["value"], rel=1e-6)  # chunking changes nothing


def test_lpips_learned_layers_match_brute_force(no_weights, monkeypatch):
    import lpips

    # the shipped linear layers on a random trunk: the path lpips_alex takes
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torchvision's legacy `pretrained`
        torch.manual_seed(1)
        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval().requires_grad_(False)
    monkeypatch.setattr(lpips_div, "resolve_lpips", lambda net: ("lpips_alex", model))
    x = torch.rand(2, 3, 1, 24, 24, generator=torch.Generator().manual_seed(2)) * 2 - 1
    up = torch.nn.functional.interpolate(x.expand(-1, -1, 3, -1, -1).flatten(0, 1), size=64,
                                         mode="bilinear", align_corners=False).view(2, 3, 3, 64, 64)
    out = lpips_diversity(x)  # grey and small: repeated to RGB, upsampled to 64
    assert out["resized_to"] == 64
    assert out["value"] == pytest.approx(brute_force(model, up, "all"), rel=1e-5)


def test_lpips_fallback_behaviour(no_weights):
    g = torch.Generator().manual_seed(0)
    base = torch.rand(2, 1, 3, 32, 32, generator=g) * 2 - 1
    same = lpips_diversity(base.expand(2, 4, 3, 32, 32).clone())
    assert same["value"] == pytest.approx(0, abs=1e-6)
    varied = torch.rand(2, 4, 3, 32, 32, generator=g) * 2 - 1
    near = (base + 0.05 * varied).clamp(-1, 1)
    far_v = lpips_diversity(varied)["value"]
    near_v = lpips_diversity(torch.cat([base, near[:, :3]], 1))["value"]
    assert far_v > near_v > 0
    with pytest.raises(UserError, match="pairs"):
        lpips_diversity(varied, pairs="random")
    with pytest.raises(UserError, match="S>=2"):
        lpips_diversity(varied[:, :1])


def test_lpips_alex_only_with_a_matching_hash(no_weights, monkeypatch):
    assert lpips_div.resolve_lpips("auto")[0] == "lpips_fallback_randalex"
    with pytest.raises(WeightsMissingError, match="alexnet-owt-7be5be79.pth"):
        lpips_div.resolve_lpips("alex")
    monkeypatch.setattr(lpips_div, "_build", lambda kind: kind)
    ckpt = no_weights / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    (ckpt / "alexnet-owt-7be5be79.pth").write_bytes(b"not alexnet")
    # present but its sha256 does not start with 7be5be79: never named lpips_alex
    with pytest.warns(UserWarning, match="does not match the sha256 prefix 7be5be79"):
        assert lpips_div.resolve_lpips("auto") == ("lpips_fallback_randalex", "fallback")
    with pytest.raises(WeightsMissingError, match="does not match"):
        lpips_div.resolve_lpips("alex")
    # a registry whose prefix is this file's hash: now it is the real metric
    prefix = hashlib.sha256(b"not alexnet").hexdigest()[:8]
    monkeypatch.setitem(weights.REGISTRY, "alexnet",
                        dataclasses.replace(weights.REGISTRY["alexnet"], hash_prefix=prefix))
    assert lpips_div.resolve_lpips("auto") == ("lpips_alex", "alex")
    assert lpips_div.resolve_lpips("alex") == ("lpips_alex", "alex")
