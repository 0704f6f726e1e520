"""CUT / MoNCE evaluation (:mod:`ci_inpaint.methods.cut`): content preserved and realism of
G(x_A) on the synthetic shapes (a factor classifier trained on real B reads x_A's factors from
G(x_A); B's colour rule mask against x_A's true mask; FID to real B) and the FID protocol of the
folder datasets (horse2zebra, Cityscapes).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..data.cut import CONTENT_FACTORS, ShapeDomains, _domain, load_domains, object_mask_b
from ..errors import ConfigError
from ..methods.common import eval_mode, generator_of

if TYPE_CHECKING:
    from ..methods.cut import CUTConfig


@torch.no_grad()
def translate(G, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """G(x) for (N, 3, H, W) in [-1, 1], in eval mode (instance norm has no running stats, so
    train and eval agree), on G's device; returned on the CPU."""
    g = generator_of(G)
    dev = next(g.parameters()).device
    with eval_mode(g):
        return torch.cat([g(images[i:i + batch_size].to(dev)).float().cpu()
                          for i in range(0, len(images), batch_size)])


def mask_iou(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Per-image IoU of two (N, H, W) bool masks (1 where both are empty)."""
    inter = (pred & true).flatten(1).sum(1).float()
    union = (pred | true).flatten(1).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


@functools.lru_cache(maxsize=4)
def content_classifier(size: int = 32, num_classes: int = 4, n: int = 2000, epochs: int = 6):
    """The frozen factor classifier trained on real domain-B renderings (``n`` train + 400 val
    from seeds 500 / 501, unseen by any run), heads :data:`CONTENT_FACTORS`; cached on disk by
    :func:`ci_inpaint.metrics.classifier.train_factor_classifier`. ``.accuracy``: held-out."""
    from ..metrics.classifier import train_factor_classifier

    tr, va = _domain(n, size, 500, num_classes, "B"), _domain(400, size, 501, num_classes, "B")
    return train_factor_classifier(
        f"cut_shapes_b{size}", tr["image"], {k: tr[f"f_{k}"] for k in CONTENT_FACTORS},
        epochs=epochs, input_size=size,
        val=(va["image"], {k: va[f"f_{k}"] for k in CONTENT_FACTORS}))


@torch.no_grad()
def content_scores(images: torch.Tensor, factors: dict[str, torch.Tensor], masks: torch.Tensor,
                   classifier) -> dict[str, float]:
    """Content preserved in translated ``images`` of x_A: the B classifier's accuracy on each of
    x_A's true factors (``acc_<factor>``, their mean ``content_acc``) and the IoU of B's colour
    rule mask with x_A's true mask (``mask_iou``)."""
    logits = classifier.logits(images.float())
    out = {f"acc_{k}": float((logits[k].argmax(1) == factors[k]).float().mean())
           for k in CONTENT_FACTORS}
    out["content_acc"] = float(np.mean([out[f"acc_{k}"] for k in CONTENT_FACTORS]))
    out["mask_iou"] = float(mask_iou(object_mask_b(images), masks).mean())
    return out


def fid_shapes(images: torch.Tensor, size: int, num_classes: int, feature_net="auto",
               n_real: int = 1000, clf_n: int = 2000) -> dict[str, Any]:
    """FID of translated images to ``n_real`` real B renderings (seed 600, unseen elsewhere).
    Without the Inception weights (``auto``) the features are the penultimate layer of
    :func:`content_classifier` (trained on real B), and the result is named
    ``fid_cut_shapes_b<size>_classifier`` -- never ``fid``."""
    from ..metrics import fid
    from ..metrics.features import FeatureNet
    from ..metrics.fid import feature_net_or

    def classifier_features() -> FeatureNet:
        clf = content_classifier(size, num_classes, clf_n)
        return FeatureNet(clf.trunk, f"cut_shapes_b{size}_classifier", input_size=clf.input_size)

    real = _domain(n_real, size, 600, num_classes, "B")
    return fid(real["image"], images, feature_net=feature_net_or(feature_net, classifier_features))


def evaluate_shapes(G, cfg: CUTConfig, n: int = 500, fid_n: int = 1000,
                    feature_net="auto", clf_n: int = 2000) -> dict[str, Any]:
    """Content (:func:`content_scores`) and realism (:func:`fid_shapes`) of G on ``n`` test
    images of domain A (the test split, seed 100: never trained on); the classifier is
    trained on ``clf_n`` real B images (cached)."""
    test = ShapeDomains(n, cfg.size, 0, cfg.num_classes, "test")
    out_imgs = translate(G, test.a["image"])
    clf = content_classifier(cfg.size, cfg.num_classes, clf_n)
    row = content_scores(out_imgs, test.factors("A"), test.a["mask"], clf)
    f = fid_shapes(out_imgs, cfg.size, cfg.num_classes, feature_net, n_real=fid_n, clf_n=clf_n)
    row.update({"clf_val_acc": float(np.mean(list(clf.accuracy.values()) or [float("nan")])),
                "fid_name": f["name"], f["name"]: f["value"], "fid_n_real": f["n_a"],
                "fid_n_generated": f["n_b"], "fid_feature_net": f["feature_net"]})
    return row


def test_domains(cfg: CUTConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Every test image of domain A and of domain B of a folder dataset, each once and
    deterministically resized (no random crop or flip): horse2zebra's testA (120) / testB (140),
    Cityscapes' 500 val label maps / photos."""
    from ..data.folders import UnpairedFolder, UnpairedView, fit_image, open_image

    ds = load_domains(cfg, "test")
    if isinstance(ds, UnpairedView):
        items = [ds.paired[i] for i in range(len(ds.paired))]
        return (torch.stack([it[ds.a_key] for it in items]),
                torch.stack([it[ds.b_key] for it in items]))
    if isinstance(ds, UnpairedFolder):
        def load(files):
            return torch.stack([fit_image(open_image(f), cfg.size) for f in files])
        return load(ds.files_a), load(ds.files_b)
    raise ConfigError(f"dataset={cfg.dataset} has no test folders: evaluate_shapes scores it")


def evaluate_folder(G, cfg: CUTConfig, feature_net="inception") -> dict[str, Any]:
    """The FID protocol we state for horse2zebra and Cityscapes: every test image of domain A
    translated at ``cfg.size``, against every real test image of domain B, Inception pool3
    (pytorch-fid's weights; a missing file is an error naming how to get it, since no in-project
    network stands in for natural images), on the checkpoint it is given -- report the *final*
    one: CUT's and MoNCE's published numbers pick the best epoch on the test set. Cityscapes'
    content score (DRN-D-105 mAP) is not computed: we do not ship those weights."""
    from ..metrics import fid

    a, b = test_domains(cfg)
    f = fid(b, translate(G, a), feature_net=feature_net)
    return {"fid_name": f["name"], f["name"]: f["value"], "fid_n_real": f["n_a"],
            "fid_n_generated": f["n_b"], "fid_feature_net": f["feature_net"],
            "fid_label": f["label"]}


__all__ = ["content_classifier", "content_scores", "evaluate_folder", "evaluate_shapes",
           "fid_shapes", "mask_iou", "test_domains", "translate"]
