"""Scores of DivCo's paired setting (:mod:`ci_inpaint.methods.divco_paired`), Table 1's metrics
at teaching scale, on held-out colouring-book pages (seed :data:`EVAL_SEED`, never trained on).

* ``lpips`` -- LPIPS diversity: the mean LPIPS over all pairs of ``S`` samples of one page
  (random codes), averaged over pages (:func:`ci_inpaint.metrics.lpips_diversity`; its fallback
  network is named in ``lpips_net``). Higher = G uses z.
* ``colours`` -- distinct object colours among the S samples of a page: each sample's mean
  colour inside the true object mask, snapped to the nearest palette colour, counted. 1 means
  G paints every sample of a page alike; the data allow up to min(S, 8) (S = 6 uniform draws
  from 8 colours give 8 (1 - (7/8)^6) = 4.41 on average).
* ``fid`` -- realism: FID between every sample of every page and real B images, on the penultimate
  features of an in-project classifier of the factor shapes (heads: class and colour;
  :func:`feature_net`), named ``fid_colouring_classifier`` -- never the Inception FID.
* ``l1`` -- mean |G(A, z) - B| (the reconstruction term, for reference: a diverse model pays
  for every colour that is not the page's own).

:func:`references` scores the trivial and the ideal answers on the same pages: real B
recoloured in S random palette colours (what a correct, fully diverse model gives), the page A
itself (the object left white; the realism ceiling), and real against real (the FID floor).
"""

from __future__ import annotations

from typing import Any

import torch

from ..data.paired import ColouringShapes
from ..data.synthetic import PALETTE
from ..methods.common import eval_mode, generator_of
from ..metrics import fid
from ..metrics.features import FeatureNet
from ..metrics.lpips_div import lpips_diversity

EVAL_SEED = 7001  # held-out pages (training uses seed 0)
REAL_SEED = 7002  # real B images for the FID (another draw)
FID_NAME = "fid_colouring_classifier"


def eval_pages(n: int, num_classes: int = 4, size: int = 32, seed: int = EVAL_SEED) -> ColouringShapes:
    return ColouringShapes(n, size, seed, num_classes)


@torch.no_grad()
def samples(G, conds: torch.Tensor, s: int, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
    """(n, s, 3, H, W): ``s`` samples per page from fixed codes (``seed``), in eval mode."""
    G = generator_of(G)
    dev = next(G.parameters()).device
    z = torch.randn(len(conds), s, G.z_dim, generator=torch.Generator().manual_seed(seed))
    out = torch.empty(len(conds), s, *conds.shape[1:])
    with eval_mode(G):
        for i in range(0, len(conds), batch_size):
            a = conds[i:i + batch_size].to(dev)
            for j in range(s):
                out[i:i + batch_size, j] = G(a, z[i:i + batch_size, j].to(dev)).float().cpu()
    return out


def object_colours(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Palette index nearest to each image's mean colour inside its mask: images (n, s, 3, H, W),
    masks (n, 1, H, W) -> (n, s)."""
    m = (masks[:, None] > 0.5).to(images)
    mean = (images * m).sum((-1, -2)) / m.sum((-1, -2)).clamp_min(1)
    return torch.cdist(mean.flatten(0, 1), (PALETTE * 2 - 1).to(images)).argmin(1).view(mean.shape[:2])


def distinct_per_row(idx: torch.Tensor) -> torch.Tensor:
    """Number of distinct values in each row of an integer (n, s) tensor -> (n,)."""
    srt = idx.sort(1).values
    return 1 + (srt[:, 1:] != srt[:, :-1]).sum(1)


def feature_net(num_classes: int = 4, size: int = 32) -> FeatureNet:
    """The in-project FID network: a factor classifier of FactorShapes (class and colour
    heads), trained once and cached (:func:`ci_inpaint.metrics.classifier.factor_classifier`)."""
    from ..metrics.classifier import factor_classifier

    clf = factor_classifier(factors=("label", "colour"), num_classes=num_classes, size=size,
                            data_seed=0, epochs=6)
    net = FeatureNet(clf.trunk, "colouring_classifier", input_size=clf.input_size)
    net.accuracy = dict(clf.accuracy)
    return net


def real_images(n: int, num_classes: int = 4, size: int = 32) -> torch.Tensor:
    return ColouringShapes(n, size, REAL_SEED, num_classes).images


def score(outs: torch.Tensor, pages: ColouringShapes, real: torch.Tensor,
          net: FeatureNet) -> dict[str, Any]:
    """The four scores (module docstring) of samples ``outs`` (n, s, 3, H, W) of ``pages``."""
    div = lpips_diversity(outs)
    f = fid(real, outs.flatten(0, 1), feature_net=net)  # every sample of every page
    return {"lpips": div["value"], "lpips_net": div["name"],
            "colours": float(distinct_per_row(object_colours(outs, pages.masks)).float().mean()),
            "fid": f["value"], "fid_name": FID_NAME, "fid_label": f["label"],
            "l1": float((outs - pages.images[:, None]).abs().mean())}


def evaluate(G, num_classes: int = 4, n: int = 200, s: int = 6, fid_n: int = 1000,
             seed: int = 0, net: FeatureNet | None = None) -> dict[str, Any]:
    """:func:`score` of ``s`` samples on ``n`` held-out pages (codes from ``seed``)."""
    pages = eval_pages(n, num_classes)
    net = net or feature_net(num_classes)
    return score(samples(G, pages.conds, s, seed), pages, real_images(fid_n, num_classes), net)


def references(num_classes: int = 4, n: int = 200, s: int = 6, fid_n: int = 1000,
               seed: int = 0, net: FeatureNet | None = None) -> dict[str, dict[str, Any]]:
    """The same scores for the ideal and trivial answers: ``recoloured`` (real B, object in s
    random palette colours), ``page`` (A as the answer, s identical copies) and ``real`` (real
    B: its FID against the other real draw is the floor)."""
    pages = eval_pages(n, num_classes)
    net = net or feature_net(num_classes)
    real = real_images(fid_n, num_classes)
    g = torch.Generator().manual_seed(seed)
    cols = torch.randint(len(PALETTE), (n, s), generator=g)
    pal = PALETTE[cols][..., None, None] * 2 - 1  # (n, s, 3, 1, 1): recolour for every page at once
    recol = torch.where(pages.masks[:, None] > 0.5, pal, pages.images[:, None])
    page = pages.conds[:, None].expand(-1, s, -1, -1, -1).contiguous()
    truth = pages.images[:, None].expand(-1, 2, -1, -1, -1).contiguous()
    return {"recoloured": score(recol, pages, real, net), "page": score(page, pages, real, net),
            "real": score(truth, pages, real, net)}


__all__ = ["EVAL_SEED", "FID_NAME", "distinct_per_row", "eval_pages", "evaluate", "feature_net",
           "object_colours", "real_images", "references", "samples", "score"]
