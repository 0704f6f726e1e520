"""LPIPS diversity of several samples per input (as in DivCo, MSGAN, DRIT++).

With the AlexNet ImageNet weights present this is LPIPS-Alex v0.1 (Zhang et al. 2018, the
``lpips`` package, its shipped linear layers): ``lpips_alex``. Offline, the fallback is the
LPIPS "baseline" distance (channel-normalised AlexNet activations, squared difference summed
over channels, averaged over positions and summed over the 5 layers, no learned weights) on
an AlexNet with fixed-seed random weights: ``lpips_fallback_randalex``. Random deep features
still rank perceptual distances far better than pixels (Zhang et al., Table 3), but the
numbers are only comparable with each other, never with published LPIPS values.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import torch
import torch.nn.functional as F

from ci_inpaint import weights
from ci_inpaint.errors import UserError

_MODELS: dict[str, torch.nn.Module] = {}
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


def resolve_lpips(net: str = "auto") -> tuple[str, torch.nn.Module]:
    """(metric name, model) for ``auto`` | ``alex`` | ``fallback``."""
    if net == "auto":
        net = "alex" if weights.is_present("alexnet") else "fallback"
    if net not in ("alex", "fallback"):
        raise UserError(f"lpips net={net!r}: choose auto, alex or fallback")
    return ("lpips_alex" if net == "alex" else "lpips_fallback_randalex"), _build(net)


def _pair_index(s: int, pairs: str) -> torch.Tensor:
    if pairs == "consecutive":
        return torch.stack([torch.arange(s - 1), torch.arange(1, s)])
    if pairs == "all":
        return torch.triu_indices(s, s, offset=1)
    raise UserError(f"pairs={pairs!r}: choose consecutive or all")


@torch.no_grad()
def lpips_diversity(samples: torch.Tensor, pairs: str = "consecutive", net: str = "auto",
                    batch_size: int = 64, device=None) -> dict:
    """Mean LPIPS over sample pairs of each input, then over inputs.

    samples: (inputs, S, C, H, W) in [-1, 1], S >= 2. ``pairs``: ``consecutive`` (i, i+1) as
    the DivCo evaluation, or ``all`` unordered pairs.
    """
    if samples.ndim != 5 or samples.shape[1] < 2:
        raise UserError(f"lpips_diversity needs samples (inputs, S>=2, C, H, W), got "
                        f"{tuple(samples.shape)}")
    name, model = resolve_lpips(net)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else samples.device
    model = model.to(device)
    n, s = samples.shape[:2]
    idx = _pair_index(s, pairs)
    a = samples[:, idx[0]].flatten(0, 1)  # (n * P, C, H, W)
    b = samples[:, idx[1]].flatten(0, 1)
    resized = None
    dists = []
    for i in range(0, len(a), batch_size):
        x, y = (t[i:i + batch_size].to(device, torch.float32) for t in (a, b))
        if x.shape[1] == 1:
            x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
        if min(x.shape[-2:]) < _MIN_SIZE:
            resized = 64
            x, y = (F.interpolate(t, size=(64, 64), mode="bilinear", align_corners=False)
                    for t in (x, y))
        dists.append(model(x, y).flatten().cpu())
    d = torch.cat(dists).view(n, idx.shape[1]).double()
    return {"name": name, "value": float(d.mean(1).mean()), "pairs": pairs,
            "n_inputs": n, "samples_per_input": s, "resized_to": resized}
