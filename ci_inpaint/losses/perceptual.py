"""Perceptual and style losses on a frozen ImageNet VGG (the DAF paper's Eq. 10-11; SPADE's VGG19).

Perceptual (Eq. 10 of the contrastive attention network / DAF paper, after Johnson et al. 2016):

    L_per = 1/N sum_i || Phi_i(Y) - Phi_i(Y_hat) ||_1

Style (Eq. 11):

    L_style = 1/N sum_i 1/(C_i C_i) || G_i(Y) - G_i(Y_hat) ||_1,   G_i = Phi_i Phi_i^T / (C_i H_i W_i)

with Phi_i the VGG-16 feature maps at pool1, pool2, pool3 (DAF) and N the number of layers.
Choices where the paper is silent, stated: the ||.||_1 of Eq. 10 is the mean over elements (and
over the batch); Eq. 11's 1/(C_i C_i) makes its norm the mean over the Gram entries; the Gram
matrix is divided by C_i·H_i·W_i (the K_p of PConv, ref. [12], which Eq. 11 says it follows), so
the loss does not grow with the image size. Both losses take optional ``layer_weights`` instead of the 1/N (SPADE's
VGG19 loss: 1/32, 1/16, 1/8, 1/4, 1 on relu1_1 .. relu5_1, the layers its code slices at; MoNCE's
supplement names them "relu1.2 .. relu5.2" but says they are SPADE's).

The networks: torchvision's VGG16 / VGG19 convolutional part (its layer configuration), cut after
the deepest requested layer, ImageNet-normalised from [-1, 1] images, frozen (no grad, always in
eval mode), with torchvision's weight files from ``$TORCH_HOME/hub/checkpoints`` (hash-checked).
When the file is absent, ``vgg_features`` returns None after one printed notice (``missing="off"``)
so the loss is off and named so (``term_name``: "perceptual_off"); ``missing="random"`` gives a
stand-in named "vgg16_random"; never silently random weights under the plain name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ci_inpaint import weights
from ci_inpaint.errors import WeightsMissingError
from ci_inpaint.losses.nce import autocast_off, precise_dtype

DAF_LAYERS = ("pool1", "pool2", "pool3")  # DAF Eq. 10-11 on VGG-16
SPADE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # SPADE / MoNCE paired, VGG-19
SPADE_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
DEFAULT_LAYERS = {"vgg16": DAF_LAYERS, "vgg19": SPADE_LAYERS}
MISSING = ("off", "error", "random")
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_CFG = {"vgg16": "D", "vgg19": "E"}  # torchvision.models.vgg.cfgs keys
_verified: dict[tuple, bool] = {}  # (path, size, mtime) -> hash prefix matched, once per process
_noticed: set[str] = set()


def layer_names(arch: str) -> list[str]:
    """Names of torchvision's ``vgg<n>.features`` modules: conv{b}_{i}, relu{b}_{i}, pool{b}."""
    from torchvision.models.vgg import cfgs

    names, block, i = [], 1, 0
    for v in cfgs[_CFG[arch]]:
        if v == "M":
            names.append(f"pool{block}")
            block, i = block + 1, 0
        else:
            i += 1
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
    return names


class VGGFeatures(nn.Module):
    """Frozen VGG feature maps at named layers: ``forward(x in [-1, 1]) -> list of (B, C, H, W)``.

    Parameters never require grad and the module stays in eval mode whatever ``.train()`` is
    called with (``frozen = True`` for the engine); gradients still flow to the input image.
    ``name`` says what runs: "vgg16" (torchvision's ImageNet weights) or "vgg16_random".
    """

    frozen = True

    def __init__(self, arch: str = "vgg16", layers: tuple[str, ...] | None = None,
                 state_dict: dict[str, Tensor] | None = None):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        if arch not in _CFG:
            raise ValueError(f"arch must be one of {tuple(_CFG)}, not {arch!r}")
        names = layer_names(arch)
        self.layers = tuple(layers or DEFAULT_LAYERS[arch])
        unknown = [n for n in self.layers if n not in names]
        if unknown:
            raise ValueError(f"unknown {arch} layers {unknown}: choose from {names}")
        self.arch, self.pretrained = arch, state_dict is not None
        self.name = arch if self.pretrained else f"{arch}_random"
        cut = max(names.index(n) for n in self.layers) + 1
        self.features = make_layers(cfgs[_CFG[arch]])[:cut]
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False  # a returned conv map must not be overwritten by the next ReLU
        self._index = {names.index(n): n for n in self.layers}
        if state_dict is not None:
            self._load(state_dict)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def _load(self, state_dict: dict[str, Tensor]) -> None:
        own = self.features.state_dict()
        sub = {k[len("features."):]: v for k, v in state_dict.items()
               if k.startswith("features.") and k[len("features."):] in own}
        if sub.keys() != own.keys() or any(sub[k].shape != own[k].shape for k in own):
            raise WeightsMissingError(
                f"the {self.arch} weights file lacks or mis-shapes layers of torchvision's "
                f"{self.arch}.features: run `ci-inpaint weights fetch {self.arch}` again")
        self.features.load_state_dict(sub)

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # frozen: eval mode always

    def forward(self, x: Tensor) -> list[Tensor]:
        h = ((x + 1) / 2 - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out = []
        for i, m in enumerate(self.features):
            h = m(h)
            if i in self._index:
                out.append(h)
        return out


def _hash_ok(name: str) -> bool:
    p = weights.weights_path(name)
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        _verified[key] = weights.verify(name, p) is not False
    return _verified[key]


def _load_file(path) -> dict[str, Tensor]:
    try:  # torchvision's files may predate the zip format that mmap needs
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:
        return torch.load(path, map_location="cpu", weights_only=True)


def vgg_features(arch: str = "vgg16", layers: tuple[str, ...] | None = None,
                 missing: str = "off") -> VGGFeatures | None:
    """The frozen VGG for perceptual/style losses, from torchvision's file when it is present.

    ``layers`` default to DAF's pool1-3 for vgg16 and SPADE's relu1_1 .. relu5_1 for vgg19. When
    the file is absent: ``missing="off"`` prints one notice and returns None (the loss is off),
    ``"error"`` raises the registry's WeightsMissingError, ``"random"`` returns a randomly
    initialised stand-in named "<arch>_random" (seeded, for smoke runs). A file that is present
    but fails its sha256 prefix check is an error, not a silent stand-in.
    """
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}, not {missing!r}")
    if weights.is_present(arch):
        path = weights.weights_path(arch)
        if not _hash_ok(arch):
            e = weights.REGISTRY[arch]
            raise WeightsMissingError(
                f"{path} does not match its sha256 prefix {e.hash_prefix} (a different or damaged "
                f"file): delete it and run `ci-inpaint weights fetch {arch}` or download {e.url}")
        return VGGFeatures(arch, layers, _load_file(path))
    if missing == "error":
        weights.require(arch)
    if missing == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = VGGFeatures(arch, layers)
        _notice(arch, f"using a randomly initialised stand-in named {net.name}")
        return net
    _notice(arch, "perceptual/style losses on it are off")
    return None


def _notice(arch: str, what: str) -> None:
    if arch in _noticed:
        return
    _noticed.add(arch)
    e = weights.REGISTRY[arch]
    print(f"note: {e.filename} not found at {weights.weights_path(arch)}: {what} "
          f"(run `ci-inpaint weights fetch {arch}` to use torchvision's ImageNet {arch})")


def term_name(kind: str, net: VGGFeatures | None) -> str:
    """The loss term's name by what ran: "perceptual_vgg16", "style_vgg16_random", "perceptual_off"."""
    return f"{kind}_{net.name}" if net is not None else f"{kind}_off"


def _layer_weights(n: int, layer_weights) -> tuple[float, ...]:
    if layer_weights is None:
        return (1.0 / n,) * n
    if len(layer_weights) != n:
        raise ValueError(f"{len(layer_weights)} layer weights for {n} feature layers")
    return tuple(layer_weights)


def perceptual_loss(feats_a: list[Tensor], feats_b: list[Tensor],
                    layer_weights: tuple[float, ...] | None = None) -> Tensor:
    """Eq. 10: sum_i w_i mean|Phi_i(a) - Phi_i(b)|, w_i = 1/N by default; fp32, autocast off."""
    ws = _layer_weights(len(feats_a), layer_weights)
    with autocast_off(feats_a[0].device):
        return sum(w * F.l1_loss(a.to(precise_dtype(a, b)), b.to(precise_dtype(a, b)))
                   for w, a, b in zip(ws, feats_a, feats_b))


def gram_matrix(f: Tensor) -> Tensor:
    """Phi Phi^T / (C H W) per sample: (B, C, H, W) -> (B, C, C), in fp32 with autocast off."""
    b, c, h, w = f.shape
    with autocast_off(f.device):
        x = f.to(precise_dtype(f)).reshape(b, c, h * w)
        return x @ x.transpose(1, 2) / (c * h * w)


def style_loss(feats_a: list[Tensor], feats_b: list[Tensor],
               layer_weights: tuple[float, ...] | None = None) -> Tensor:
    """Eq. 11: sum_i w_i mean|G_i(a) - G_i(b)| over the C_i x C_i Gram entries, w_i = 1/N."""
    ws = _layer_weights(len(feats_a), layer_weights)
    return sum(w * (gram_matrix(a) - gram_matrix(b)).abs().mean()
               for w, a, b in zip(ws, feats_a, feats_b))


__all__ = ["DAF_LAYERS", "SPADE_LAYERS", "SPADE_WEIGHTS", "VGGFeatures", "gram_matrix",
           "layer_names", "perceptual_loss", "style_loss", "term_name", "vgg_features"]
