"""ContrasFill's evaluation (:mod:`ci_inpaint.methods.contrasfill`; the paper's Tables 1-2):
FID on a classifier's features, LPIPS diversity, KFFA with the known code varied or fixed, and
the disentanglement matrix of which code changes which factor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..data.contrasfill import eval_items

if TYPE_CHECKING:
    from ..methods.contrasfill import ContrasFill, ContrasFillConfig

FACTORS = ("label", "colour", "scale", "angle")  # what the factor predictor reads


def kffa_net(cfg: ContrasFillConfig):
    """KFFA's classifier: a *different* network from E_k (other seed and width, Sec. 4)."""
    from ..methods.contrasfill import known_classifier

    return known_classifier(cfg, seed=1, feat_dim=96)


def factor_predictor(cfg: ContrasFillConfig):
    """Predicts class, colour, scale and angle of a generated image (trained on real data)."""
    from ..methods.contrasfill import known_classifier

    return known_classifier(cfg, seed=2, feat_dim=128, factors=FACTORS)


def _vary(method: ContrasFill, n_inputs: int, s: int, vary: str, g: torch.Generator):
    """Codes for ``n_inputs`` x ``s`` samples: ``random`` (both codes drawn per sample),
    ``known`` (u fixed per input, s distinct classes / sphere vectors), ``unknown`` (k fixed per
    input, s values of u). Single-code variants have only ``random`` (= z varied)."""
    if method.single or vary == "random":
        return method.random_codes(n_inputs * s, g)
    cfg = method.cfg
    k0, u0 = method.random_codes(n_inputs, g)
    if vary == "unknown":
        return k0.repeat_interleave(s, 0), method.unknown_codes(n_inputs * s, g)
    if cfg.known_code == "onehot":
        ids = torch.stack([torch.randperm(cfg.num_classes, generator=g)[:s] for _ in range(n_inputs)])
        k = method.known_codes(ids.flatten())
    else:
        k = method.known_codes(n_inputs * s, g)
    return k, u0.repeat_interleave(s, 0)


def samples(method: ContrasFill, items: dict[str, Tensor], s: int, vary: str = "random",
            seed: int = 0) -> Tensor:
    """(inputs, s, 3, H, W) composites of every context in ``items`` under ``vary``."""
    g = torch.Generator().manual_seed(seed)
    n = len(items["image"])
    k, u = _vary(method, n, s, vary, g)
    x, m = items["image"].repeat_interleave(s, 0), items["mask"].repeat_interleave(s, 0)
    return method.inpaint(x, m, k, u).view(n, s, *x.shape[1:])


@torch.no_grad()
def change_rates(predictor, imgs: Tensor) -> dict[str, float]:
    """Per factor: the share of sample pairs of one input whose predicted value differs
    (0 = the code never changes this factor, 1 = always); ``imgs`` (inputs, S, C, H, W)."""
    n, s = imgs.shape[:2]
    logits = predictor.logits(imgs.flatten(0, 1))
    iu = torch.triu_indices(s, s, offset=1)
    out = {}
    for f in FACTORS:
        p = logits[f].argmax(1).view(n, s)
        out[f] = float((p[:, iu[0]] != p[:, iu[1]]).float().mean())
    return out


@torch.no_grad()
def known_fidelity(method: ContrasFill, items: dict[str, Tensor], classifier, s: int = 2,
                   seed: int = 0) -> dict[str, Any]:
    """KFFA in the known space as the issue reads it: how often the fill is recognised by
    ``classifier`` (E_k) as the class that k asks for.

    A contrastive loss ties each one-hot code to *a* class, not to the class of the same index
    (Eq. 4 only says that equal codes agree and distinct codes differ), so the class that k asks
    for is the one-to-one assignment of codes to classes that agrees with most predictions (the
    Hungarian assignment on the code x predicted-class counts). Every input is filled ``s``
    times with every class code, each with its own u. Returns ``known_match`` (the matched
    share), ``known_match_identity`` (code index = class index, what reprediction aims at) and
    ``assignment`` (the class matched to each code)."""
    from scipy.optimize import linear_sum_assignment

    c = method.cfg.num_classes
    n = len(items["image"])
    g = torch.Generator().manual_seed(seed)
    ids = torch.arange(c).repeat(n * s)  # per input: s rounds of every code
    k = method.known_codes(ids)
    u = method.unknown_codes(len(ids), g)
    reps = c * s
    x, m = items["image"].repeat_interleave(reps, 0), items["mask"].repeat_interleave(reps, 0)
    pred = classifier(method.inpaint(x, m, k, u).to(method.device)).argmax(1).cpu()
    counts = torch.zeros(c, c, dtype=torch.long)
    counts.index_put_((ids, pred), torch.ones_like(ids), accumulate=True)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    total = float(len(ids))
    return {"known_match": float(counts[rows, cols].sum()) / total,
            "known_match_identity": float(counts.diagonal().sum()) / total,
            "assignment": [int(j) for j in cols]}


def evaluate_run(method: ContrasFill, n_inputs: int = 40, n_samples: int = 10, fid_n: int = 500,
                 seed: int = 0, lpips_net: str = "auto") -> dict[str, Any]:
    """Everything the notebook tabulates for one trained run (factor_shapes data):

    * ``fid_factorshapes_classifier`` (the FID of ``fid_n`` composites with random codes vs
      ``fid_n`` real held-out images, on the KFFA classifier's features: no Inception weights
      here, so named after its network), ``fid_n``;
    * ``lpips`` value (its name in ``lpips_name``: the fallback unless AlexNet is present), all
      pairs of ``n_samples`` per input, random codes (Table 1);
    * ``kffa`` (random codes, Table 1), ``kffa_known_varied`` (u fixed, ``min(n_samples,
      classes)`` distinct known codes; Table 2), ``kffa_known_fixed`` (k fixed, u varied; Table 2
      last row) -- single-code variants have one code: their varied value is the random one and
      no fixed value;
    * ``known_match`` / ``known_match_identity`` (:func:`known_fidelity` under E_k; two-code
      variants with one-hot codes only);
    * ``dis_<code>_<factor>`` the disentanglement matrix (:func:`change_rates`) for code
      ``known``/``unknown`` (or ``z``), and the predictor's held-out accuracy ``acc_<factor>``.
    """
    cfg = method.cfg
    net, pred = kffa_net(cfg), factor_predictor(cfg)  # trained (once, cached) with gradients on
    with torch.no_grad():
        return _evaluate(method, net, pred, n_inputs, n_samples, fid_n, seed, lpips_net)


def _evaluate(method, net, pred, n_inputs, n_samples, fid_n, seed, lpips_net) -> dict[str, Any]:
    from ..metrics import kffa, lpips_diversity
    from ..metrics.features import FeatureNet
    from ..metrics.fid import fid

    cfg = method.cfg
    items = eval_items(method, n_inputs, seed=7 + 1000 * seed)
    out: dict[str, Any] = {}
    rand = samples(method, items, n_samples, "random", seed)
    lp = lpips_diversity(rand, net=lpips_net)
    out["lpips"], out["lpips_name"] = lp["value"], lp["name"]
    out["kffa"] = kffa(net.features(rand.flatten(0, 1)).view(n_inputs, n_samples, -1))
    s_k = min(n_samples, cfg.num_classes) if cfg.known_code == "onehot" else n_samples
    if method.single:
        out["kffa_known_varied"] = out["kffa"]
        out.update({f"dis_z_{f}": v for f, v in change_rates(pred, rand).items()})
    else:
        for vary, s in (("known", s_k), ("unknown", n_samples)):
            imgs = samples(method, items, s, vary, seed + 1)
            key = "kffa_known_varied" if vary == "known" else "kffa_known_fixed"
            out[key] = kffa(net.features(imgs.flatten(0, 1)).view(n_inputs, s, -1))
            out.update({f"dis_{vary}_{f}": v for f, v in change_rates(pred, imgs).items()})
    if not method.single and cfg.known_code == "onehot":
        fd = known_fidelity(method, items, method.E_k, seed=seed + 3)
        out["known_match"], out["known_match_identity"] = fd["known_match"], fd["known_match_identity"]
    out.update({f"acc_{f}": a for f, a in pred.accuracy.items()})
    fid_items = eval_items(method, fid_n, seed=11 + 1000 * seed)
    real = eval_items(method, fid_n, seed=13 + 1000 * seed)["image"]
    k, u = method.random_codes(fid_n, torch.Generator().manual_seed(seed + 2))
    fake = method.inpaint(fid_items["image"], fid_items["mask"], k, u)
    fnet = FeatureNet(net.trunk, "factorshapes_classifier", input_size=net.input_size)
    f = fid(real, fake, feature_net=fnet)
    out[f["name"]], out["fid_name"], out["fid_n"] = f["value"], f["name"], f["n_a"]
    return out


__all__ = ["FACTORS", "change_rates", "evaluate_run", "known_fidelity", "factor_predictor", "kffa_net", "samples"]
