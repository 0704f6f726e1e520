"""LPIPS diversity of several samples per input (as in DivCo, MSGAN, DRIT++, ContrasFill).

With the AlexNet ImageNet weights present *and matching their published hash* this is
LPIPS-Alex v0.1 (Zhang et al. 2018, the ``lpips`` package, its shipped linear layers):
``lpips_alex``. Otherwise the fallback is the LPIPS "baseline" distance (channel-normalised
AlexNet activations, squared difference summed over channels, averaged over positions and
summed over the 5 layers, no learned weights) on an AlexNet with fixed-seed random weights:
``lpips_fallback_randalex``. Random deep features still rank perceptual distances far better
than pixels (Zhang et al., Table 3), but the numbers are only comparable with each other,
never with published LPIPS values.

Pairs: DivCo's paper computes "the average feature distance of all pairs of images" and
ContrasFill's KFFA uses all pairs too, so ``pairs="all"`` (every unordered pair of the S
samples of one input) is the default; ``"consecutive"`` ((i, i+1), S-1 pairs) is the option
some evaluation scripts use. Each sample goes through AlexNet once; the pair distances are
computed from the stored features (LPIPS is a function of the two feature stacks), so S
samples cost S forward passes instead of 2·S(S-1)/2.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import torch
import torch.nn.functional as F

from ci_inpaint import weights
from ci_inpaint.errors import UserError, WeightsMissingError

_MODELS: dict[str, torch.nn.Module] = {}
_VERIFIED: dict[tuple, bool | None] = {}  # (path, size, mtime) -> weights.verify result
_MIN_SIZE = 32  # AlexNet's pooling needs >= ~27 px; smaller images are upsampled to 64


def _build(kind: str) -> torch.nn.Module:
    import lpips

    if kind not in _MODELS:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # lpips uses tv's legacy `pretrained`
            if kind == "alex":
                weights.require("alexnet")  # present: torchvision loads it from the hub cache
                model = lpips.LPIPS(net="alex", version="0.1", verbose=False)
            else:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    model = lpips.LPIPS(net="alex", lpips=False, pnet_rand=True, verbose=False)
        _MODELS[kind] = model.eval().requires_grad_(False)
    return _MODELS[kind]


def alexnet_verified() -> bool | None:
    """None: no AlexNet file; else whether its sha256 matches the published prefix (hashed
    once per file version: the result is kept per path, size and mtime)."""
    if not weights.is_present("alexnet"):
        return None
    p = weights.weights_path("alexnet")
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, weights.REGISTRY["alexnet"].hash_prefix)
    if key not in _VERIFIED:
        _VERIFIED[key] = weights.verify("alexnet", p)
    return _VERIFIED[key]


def resolve_lpips(net: str = "auto") -> tuple[str, torch.nn.Module]:
    """(metric name, model) for ``auto`` | ``alex`` | ``fallback``.

    ``auto`` takes AlexNet only when its file is present and its hash matches; a file with a
    wrong hash gives a warning and the fallback. ``alex`` raises WeightsMissingError instead.
    """
    if net not in ("auto", "alex", "fallback"):
        raise UserError(f"lpips net={net!r}: choose auto, alex or fallback")
    if net != "fallback":
        ok = alexnet_verified()
        if ok is False:
            e = weights.REGISTRY["alexnet"]
            msg = (f"{weights.weights_path('alexnet')} does not match the sha256 prefix "
                   f"{e.hash_prefix} of {e.filename}: delete it and run `ci-inpaint weights "
                   "fetch alexnet`")
            if net == "alex":
                raise WeightsMissingError(msg)
            warnings.warn(f"LPIPS falls back to random AlexNet features: {msg}", stacklevel=3)
        if net == "alex" or ok:
            return "lpips_alex", _build("alex")  # _build("alex") raises when it is missing
    return "lpips_fallback_randalex", _build("fallback")


def pair_index(s: int, pairs: str = "all") -> torch.Tensor:
    """(2, P) sample indices of the pairs of S samples: ``all`` unordered (i < j), or
    ``consecutive`` (i, i+1)."""
    if pairs == "consecutive":
        return torch.stack([torch.arange(s - 1), torch.arange(1, s)])
    if pairs == "all":
        return torch.triu_indices(s, s, offset=1)
    raise UserError(f"pairs={pairs!r}: choose all or consecutive")


def _features(model, x: torch.Tensor) -> list[torch.Tensor]:
    """LPIPS's per-layer unit-normalised activations of ``x`` (B, 3, H, W) in [-1, 1]."""
    import lpips

    if model.version == "0.1":
        x = model.scaling_layer(x)
    return [lpips.normalize_tensor(f) for f in model.net(x)]


def _pair_distance(model, feats: list[torch.Tensor], ia: torch.Tensor,
                   ib: torch.Tensor) -> torch.Tensor:
    """LPIPS(x_ia, x_ib) from stored features, as ``lpips.LPIPS.forward`` combines them:
    per layer the squared difference, the learned 1x1 weights (or a plain channel sum for
    the baseline), the spatial mean; summed over layers. (P,) distances."""
    total = 0.0
    for k, f in enumerate(feats):
        d = (f[ia] - f[ib]) ** 2
        d = model.lins[k](d) if model.lpips else d.sum(1, keepdim=True)
        total = total + d.mean(dim=(2, 3)).flatten()
    return total


def _prepare(x: torch.Tensor) -> tuple[torch.Tensor, int | None]:
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if min(x.shape[-2:]) < _MIN_SIZE:
        return F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False), 64
    return x, None


@torch.no_grad()
def lpips_diversity(samples: torch.Tensor, pairs: str = "all", net: str = "auto",
                    batch_size: int = 64, device=None) -> dict:
    """Mean LPIPS over the sample pairs of each input, then over inputs.

    samples: (inputs, S, C, H, W) in [-1, 1], S >= 2, C in {1, 3} (grey is repeated; images
    under 32 px are upsampled to 64). ``pairs``: ``all`` unordered pairs (default, the
    papers') or ``consecutive``. ``batch_size`` bounds the images per AlexNet pass and the
    pairs per distance step. Returns ``{"name", "value", "pairs", "n_pairs", "n_inputs",
    "samples_per_input", "resized_to"}`` (``n_pairs`` per input).
    """
    if samples.ndim != 5 or samples.shape[1] < 2:
        raise UserError(f"lpips_diversity needs samples (inputs, S>=2, C, H, W), got "
                        f"{tuple(samples.shape)}: stack the S samples of each input")
    name, model = resolve_lpips(net)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else samples.device
    device = torch.device(device)
    model = model.to(device)
    n, s = samples.shape[:2]
    idx = pair_index(s, pairs).to(device)
    per_chunk = max(1, batch_size // s)  # inputs whose S samples share one AlexNet pass
    resized, per_input = None, []
    with torch.autocast(device.type, enabled=False):  # LPIPS in fp32
        for i in range(0, n, per_chunk):
            x = samples[i:i + per_chunk].flatten(0, 1).to(device, torch.float32)
            x, resized = _prepare(x)
            feats = _features(model, x)
            m = len(x) // s
            base = torch.arange(m, device=device)[:, None] * s  # first sample of each input
            ia, ib = (base + idx[0]).flatten(), (base + idx[1]).flatten()
            d = torch.cat([_pair_distance(model, feats, ia[j:j + batch_size],
                                          ib[j:j + batch_size])
                           for j in range(0, len(ia), batch_size)])
            per_input.append(d.view(m, -1).double().mean(1).cpu())
    value = float(torch.cat(per_input).mean())
    return {"name": name, "value": value, "pairs": pairs, "n_pairs": idx.shape[1],
            "n_inputs": n, "samples_per_input": s, "resized_to": resized}
