"""KFFA, LPIPS diversity and the 2D-toy mode metrics on hand-placed inputs."""

import math

import pytest
import torch

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


def test_lpips_fallback_name_and_behaviour(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no AlexNet weights
    g = torch.Generator().manual_seed(0)
    base = torch.rand(2, 1, 3, 32, 32, generator=g) * 2 - 1
    same = lpips_diversity(base.expand(2, 4, 3, 32, 32).clone())
    assert same["name"] == "lpips_fallback_randalex" and same["value"] == pytest.approx(0, abs=1e-6)
    varied = torch.rand(2, 4, 3, 32, 32, generator=g) * 2 - 1
    near = (base + 0.05 * varied).clamp(-1, 1)
    far_v = lpips_diversity(varied)["value"]
    near_v = lpips_diversity(torch.cat([base, near[:, :3]], 1))["value"]
    assert far_v > near_v > 0
    # all pairs vs consecutive: for 3 samples a, b, c the sets differ by the pair (a, c)
    three = varied[:, :3]
    d = lpips_div.resolve_lpips("fallback")[1]
    ab, bc, ac = (d(three[:, i], three[:, j]).flatten() for i, j in [(0, 1), (1, 2), (0, 2)])
    cons = lpips_diversity(three, pairs="consecutive")["value"]
    allp = lpips_diversity(three, pairs="all")["value"]
    assert cons == pytest.approx(float(((ab + bc) / 2).mean()), rel=1e-5)
    assert allp == pytest.approx(float(((ab + bc + ac) / 3).mean()), rel=1e-5)
    small = lpips_diversity(torch.rand(1, 2, 1, 16, 16) * 2 - 1)  # grey, small: upsampled
    assert small["resized_to"] == 64 and math.isfinite(small["value"])


def test_lpips_auto_uses_alex_only_when_present(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert lpips_div.resolve_lpips("auto")[0] == "lpips_fallback_randalex"

    with pytest.raises(WeightsMissingError, match="alexnet-owt-7be5be79.pth"):
        lpips_div.resolve_lpips("alex")
    monkeypatch.setattr(lpips_div, "_build", lambda kind: kind)
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    (ckpt / "alexnet-owt-7be5be79.pth").write_bytes(b"x")
    assert lpips_div.resolve_lpips("auto") == ("lpips_alex", "alex")
