"""CUT / MoNCE evaluation (:mod:`ci_inpaint.methods.cut`): on the synthetic shapes, whether
G(x_A) is translated (a frozen A-vs-B judge calls it B), keeps its content (the judge's shape
class against x_A's; B's colour-rule mask against x_A's true mask) and looks real (FID to real
B), beside the trivial references (identity, real B); and the FID protocol of the folder
datasets (horse2zebra, Cityscapes).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import torch

from ..data.cut import ShapeDomains, _domain, load_domains, object_mask_b
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


def _ab_data(n: int, size: int, seed: int, num_classes: int) -> tuple[torch.Tensor, dict]:
    """n real A and n real B renderings (seeds ``seed`` and ``seed + 1``) with their targets:
    ``domain`` (0 = A, 1 = B) and ``label`` (the shape class)."""
    a, b = _domain(n, size, seed, num_classes, "A"), _domain(n, size, seed + 1, num_classes, "B")
    return (torch.cat([a["image"], b["image"]]),
            {"domain": torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)]),
             "label": torch.cat([a["f_label"], b["f_label"]])})


#: the judge trains on corrupted copies too (Gaussian noise of std up to this, half the batches
#: blurred): trained on clean renderings only, it called every slightly noisy image one class
JUDGE_NOISE = 0.25


@functools.lru_cache(maxsize=4)
def content_classifier(size: int = 32, num_classes: int = 4, n: int = 2000, epochs: int = 30):
    """The frozen judge of a translation, trained on ``n`` real A and ``n`` real B renderings
    (seeds 500 / 501; held out: 400 + 400 from seeds 502 / 503; unseen by any run) with two
    heads: ``domain`` (A or B: is the output translated?) and ``label`` (the shape class: is
    the content kept?). Its penultimate features are the FID's when the Inception weights are
    absent. It learns through :data:`JUDGE_NOISE` corruptions. Cached on disk by :func:`ci_inpaint.metrics.classifier.train_factor_classifier`
    (the key hashes the data and settings, so a change retrains). ``.accuracy``: held-out."""
    from ..metrics.classifier import train_factor_classifier

    images, targets = _ab_data(n, size, 500, num_classes)
    val = _ab_data(400, size, 502, num_classes)
    return train_factor_classifier(f"cut_shapes_ab{size}", images, targets, epochs=epochs,
                                   input_size=size, val=val, noise=JUDGE_NOISE)


@torch.no_grad()
def content_scores(images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor,
                   classifier) -> dict[str, float]:
    """What a translation of x_A kept and changed, scored by the frozen judge
    (:func:`content_classifier`): ``domain_b`` the share of images it calls B (translated),
    ``content_acc`` its shape-class accuracy against x_A's true class ``labels`` (N,), and
    ``mask_iou`` the IoU of B's colour-rule mask of the images with x_A's true mask."""
    logits = classifier.logits(images.float())
    return {"domain_b": float((logits["domain"].argmax(1) == 1).float().mean()),
            "content_acc": float((logits["label"].argmax(1) == labels).float().mean()),
            "mask_iou": float(mask_iou(object_mask_b(images), masks).mean())}


def fid_shapes(images: torch.Tensor, size: int, num_classes: int, feature_net="auto",
               n_real: int = 1000, clf_n: int = 2000) -> dict[str, Any]:
    """FID of translated images to ``n_real`` real B renderings (seed 600, unseen elsewhere).
    Without the Inception weights (``auto``) the features are the penultimate layer of
    :func:`content_classifier` (trained on real A and B), and the result is named
    ``fid_cut_shapes_ab<size>_classifier`` -- never ``fid``."""
    from ..metrics import fid
    from ..metrics.features import FeatureNet
    from ..metrics.fid import feature_net_or

    def classifier_features() -> FeatureNet:
        clf = content_classifier(size, num_classes, clf_n)
        return FeatureNet(clf.trunk, f"cut_shapes_ab{size}_classifier", input_size=clf.input_size)

    real = _domain(n_real, size, 600, num_classes, "B")
    return fid(real["image"], images, feature_net=feature_net_or(feature_net, classifier_features))


def score_translation(images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor,
                      cfg: CUTConfig, fid_n: int = 1000, feature_net="auto",
                      clf_n: int = 2000) -> dict[str, Any]:
    """:func:`content_scores` and :func:`fid_shapes` of ``images`` (translations, or a
    reference standing in for them) with the judge's held-out accuracy."""
    clf = content_classifier(cfg.size, cfg.num_classes, clf_n)
    row = content_scores(images, labels, masks, clf)
    f = fid_shapes(images, cfg.size, cfg.num_classes, feature_net, n_real=fid_n, clf_n=clf_n)
    row.update({**{f"clf_acc_{k}": v for k, v in clf.accuracy.items()},
                "fid_name": f["name"], f["name"]: f["value"], "fid_n_real": f["n_a"],
                "fid_n_generated": f["n_b"], "fid_feature_net": f["feature_net"]})
    return row


def evaluate_shapes(G, cfg: CUTConfig, n: int = 500, fid_n: int = 1000,
                    feature_net="auto", clf_n: int = 2000) -> dict[str, Any]:
    """:func:`score_translation` of G on ``n`` test images of domain A (the test split, seed
    100: never trained on); the judge is trained on ``clf_n`` real A and B images (cached)."""
    test = ShapeDomains(n, cfg.size, 0, cfg.num_classes, "test")
    return score_translation(translate(G, test.a["image"]), test.a["f_label"], test.a["mask"],
                             cfg, fid_n, feature_net, clf_n)


def translation_references(cfg: CUTConfig, n: int = 500, fid_n: int = 1000,
                           feature_net="auto", clf_n: int = 2000) -> dict[str, dict[str, Any]]:
    """The trivial references on the evaluation set of :func:`evaluate_shapes`, scored alike:
    ``identity`` (output = x_A: content kept, nothing translated; the FID's ceiling) and
    ``real_b`` (real B test images scored against their own class and mask: the floor a
    perfect translation reaches)."""
    from ..metrics.references import identity_mapping

    test = ShapeDomains(n, cfg.size, 0, cfg.num_classes, "test")
    return {"identity": score_translation(identity_mapping(test.a["image"]), test.a["f_label"],
                                          test.a["mask"], cfg, fid_n, feature_net, clf_n),
            "real_b": score_translation(test.b["image"], test.b["f_label"], test.b["mask"], cfg,
                                        fid_n, feature_net, clf_n)}


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
           "fid_shapes", "mask_iou", "score_translation", "test_domains", "translate",
           "translation_references"]
