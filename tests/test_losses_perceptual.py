"""Frozen VGG features (torchvision's layout and files), perceptual and style losses (DAF Eq. 10-11)."""

import dataclasses
import hashlib

import pytest
import torch
import torch.nn.functional as F

from ci_inpaint import weights
from ci_inpaint.errors import WeightsMissingError
from ci_inpaint.losses import perceptual as P


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    monkeypatch.setattr(P, "_noticed", set())
    monkeypatch.setattr(P, "_verified", {})


def test_layer_names_follow_torchvision_features():
    import torchvision

    with torch.device("meta"):
        tv = torchvision.models.vgg19()
        ours = P.VGGFeatures("vgg19", P.SPADE_LAYERS)
    names = P.layer_names("vgg19")
    assert [names.index(n) for n in P.SPADE_LAYERS] == [1, 6, 11, 20, 29]  # SPADE's slices
    assert [P.layer_names("vgg16").index(n) for n in P.DAF_LAYERS] == [4, 9, 16]
    for i, n in enumerate(names):
        kind = {"c": torch.nn.Conv2d, "r": torch.nn.ReLU, "p": torch.nn.MaxPool2d}[n[0]]
        assert isinstance(tv.features[i], kind), (i, n)
    theirs = tv.state_dict()
    for k, v in ours.state_dict().items():  # the same keys and shapes as torchvision's file
        assert theirs[k].shape == v.shape
    with pytest.raises(ValueError, match="unknown vgg16 layers"):
        P.VGGFeatures("vgg16", ("pool9",))


@pytest.fixture()
def vgg16_file(torch_home, monkeypatch):
    """A randomly initialised torchvision-layout vgg16 file (layers up to pool3), registered."""
    torch.manual_seed(1)
    sd = P.VGGFeatures("vgg16", P.DAF_LAYERS).state_dict()
    sd["classifier.0.bias"] = torch.zeros(4)  # torchvision's file also holds the classifier
    path = weights.checkpoints_dir() / "vgg16-397923af.pth"
    path.parent.mkdir(parents=True)
    torch.save(sd, path)
    return path, sd


def register_hash(monkeypatch, path):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = dataclasses.replace(weights.REGISTRY["vgg16"], hash_prefix=digest[:8])
    monkeypatch.setitem(weights.REGISTRY, "vgg16", entry)


def test_loads_the_file_frozen_and_computes_vgg(vgg16_file, monkeypatch):
    path, sd = vgg16_file
    register_hash(monkeypatch, path)
    net = P.vgg_features("vgg16")
    assert net.name == "vgg16" and net.pretrained and net.layers == P.DAF_LAYERS
    assert P.term_name("perceptual", net) == "perceptual_vgg16"
    assert torch.equal(net.features[0].weight, sd["features.0.weight"])
    assert not any(p.requires_grad for p in net.parameters()) and net.frozen
    net.train()
    assert not net.training  # stays in eval mode
    x = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_(True)
    feats = net(x)
    assert [f.shape for f in feats] == [(2, 64, 8, 8), (2, 128, 4, 4), (2, 256, 2, 2)]
    # pool1 by hand: ImageNet normalisation of (x + 1) / 2, conv-relu-conv-relu-pool
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    h = ((x + 1) / 2 - mean[:, None, None]) / std[:, None, None]
    h = F.relu(F.conv2d(h, sd["features.0.weight"], sd["features.0.bias"], padding=1))
    h = F.relu(F.conv2d(h, sd["features.2.weight"], sd["features.2.bias"], padding=1))
    assert torch.allclose(feats[0], F.max_pool2d(h, 2), atol=1e-5)
    # gradients reach the image, never the frozen weights
    P.perceptual_loss(feats, [f.detach() * 0 for f in feats]).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_legacy_format_file_loads(vgg16_file, monkeypatch):
    path, sd = vgg16_file
    torch.save(sd, path, _use_new_zipfile_serialization=False)  # like torchvision's older files
    register_hash(monkeypatch, path)
    assert torch.equal(P.vgg_features("vgg16").features[2].weight, sd["features.2.weight"])


def test_a_file_with_the_wrong_hash_or_layers_is_refused(vgg16_file, monkeypatch):
    path, sd = vgg16_file
    with pytest.raises(WeightsMissingError, match="does not match its sha256 prefix 397923af"):
        P.vgg_features("vgg16")  # the real prefix: a random file is not ImageNet's VGG
    sd["features.2.weight"] = sd["features.2.weight"][:10]
    torch.save(sd, path)
    register_hash(monkeypatch, path)
    with pytest.raises(WeightsMissingError, match="lacks or mis-shapes"):
        P.vgg_features("vgg16")


def test_absent_file_is_off_with_one_notice(torch_home, capsys):
    assert P.vgg_features("vgg16") is None
    assert P.vgg_features("vgg16") is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "vgg16-397923af.pth not found" in out and "off" in out
    assert P.term_name("perceptual", None) == "perceptual_off"
    with pytest.raises(WeightsMissingError, match="ci-inpaint weights fetch vgg19"):
        P.vgg_features("vgg19", missing="error")
    a = P.vgg_features("vgg19", ("relu1_1", "relu2_1"), missing="random")
    b = P.vgg_features("vgg19", ("relu1_1", "relu2_1"), missing="random")
    assert a.name == "vgg19_random" and not a.pretrained
    assert P.term_name("style", a) == "style_vgg19_random"
    assert torch.equal(a.features[0].weight, b.features[0].weight)  # a seeded stand-in
    assert "randomly initialised stand-in named vgg19_random" in capsys.readouterr().out
    with pytest.raises(ValueError, match="missing"):
        P.vgg_features("vgg16", missing="skip")


def test_perceptual_loss_hand_values():
    a = [torch.zeros(1, 2, 2, 2), torch.zeros(1, 1, 1, 1)]
    b = [torch.ones(1, 2, 2, 2), torch.full((1, 1, 1, 1), 3.0)]
    assert P.perceptual_loss(a, b).item() == pytest.approx((1 + 3) / 2)  # Eq. 10's 1/N
    assert P.perceptual_loss(a, b, (1.0, 0.5)).item() == pytest.approx(1 + 1.5)
    with pytest.raises(ValueError, match="layer weights"):
        P.perceptual_loss(a, b, P.SPADE_WEIGHTS)


def test_gram_and_style_hand_values():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # C = 2, H = 1, W = 2
    g = P.gram_matrix(f)
    assert torch.allclose(g, torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4)
    # mean over the C x C entries of |G(a) - G(b)| (Eq. 11's 1/(C C) ||.||_1)
    assert P.style_loss([f], [torch.zeros_like(f)]).item() == pytest.approx((5 + 11 + 11 + 25) / 16)
    # the Gram matrix does not grow with the image: tiling a map keeps it
    assert torch.allclose(P.gram_matrix(f.repeat(1, 1, 3, 4)), g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert P.gram_matrix(f.bfloat16()).dtype == torch.float32
    assert P.gram_matrix(f.double()).dtype == torch.float64
