"""MoNCE (Zhan et al., CVPR 2022) on CUT: its comparisons, the Q sweep, the OT-weight picture.

No training logic lives here: the cells train method ``cut`` (:mod:`ci_inpaint.methods.cut`)
through :meth:`Cell.train` and score it with :func:`ci_inpaint.methods.cut.evaluate_shapes`
(content: factor accuracy of a B classifier on G(x_A) and mask IoU; realism: FID, named
``fid_<...>_classifier`` when the Inception weights are absent).

The paper's numbers: our copy of MoNCE is only its supplement, whose one quantitative
statement is Fig. 1 (larger Q: lower FID, worse content; plotted, no table). MoNCE's main-paper
tables are not in this repository, so its claims are stated qualitatively with that source; the
CUT numbers quoted are from the CUT paper (Table 1) as recorded in ``shared/papers/README.md``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .claims import Claim, Reference, Spec, decide
from .grid import Cell, run_grid
from .stats import Stat

VARIANTS = {
    "none": {"contrast": "none"},
    "patchnce": {"contrast": "patchnce"},
    "monce_hard": {"contrast": "monce", "monce_cost": "hard"},
    "monce_easy": {"contrast": "monce", "monce_cost": "easy"},
    "fastcut": {"contrast": "patchnce", "cut_mode": "fastcut"},
}
NAMES = {"none": "GAN only", "patchnce": "PatchNCE (CUT)", "monce_hard": "MoNCE hard",
         "monce_easy": "MoNCE easy", "fastcut": "FastCUT (PatchNCE)",
         "identity": "reference: identity (output = x_A)", "real_b": "reference: real B"}
#: the headline comparison of the quick profile (MoNCE on one seed there)
QUICK = ("none", "patchnce", "monce_hard")
#: the study's grid: the losses compared (the GAN alone is the quick profile's premise)
STUDY = ("patchnce", "monce_hard", "monce_easy", "fastcut")
CONTENT_KEYS = ("domain_b", "content_acc", "mask_iou")
# (test images, real B images for the FID, real A and B images the judge learns from)
EVAL = {"smoke": (32, 64, 256), "quick": (300, 500, 2000), "study": (300, 500, 2000),
        "full": (500, 1000, 2000)}
GATE = "issue 20's 'does it learn' gate for the quick profile (not a paper number)"

MAIN = "MoNCE main paper, Sec. 4 (unpaired translation; its tables are not in our copy)"
FIG1 = "MoNCE supplement, Sec. 3 and Fig. 1 (Horse->Zebra, Q swept; plotted, no table)"
CUT_T1 = "CUT paper, Table 1 (horse2zebra FID; quoted in shared/papers/README.md)"
WHY = ("synthetic 32 px shape domains, networks 1/4 of CUT's width trained for a minute or two "
       "and a classifier-feature FID: far from horse2zebra at 256 px and 400 epochs")


def q_variants(qs) -> dict[str, dict[str, Any]]:
    """MoNCE hard with Q = each of ``qs`` (Q = 1 is ``monce_hard`` itself: not repeated)."""
    return {f"q{q:g}": {"contrast": "monce", "monce_cost": "hard", "neg_weight": float(q)}
            for q in qs if float(q) != 1.0}


def translation_cell(cell: Cell) -> dict[str, Any]:
    """Train (or load) one ``cut`` run and score content and realism on the shapes' test split.

    ``cell.options``: ``n`` test images, ``fid_n`` real B images, ``feature_net``."""
    import time

    from ..methods.cut import evaluate_shapes

    res = cell.train("cut")
    o, t0 = cell.options, time.perf_counter()
    ev = evaluate_shapes(res.method.G, res.cfg, n=o["n"], fid_n=o["fid_n"],
                         feature_net=o.get("feature_net", "auto"), clf_n=o["clf_n"])
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 2),
            "step_ms": round(1000 * res.wall_s / max(res.steps_done, 1), 1),
            "eval_s": round(time.perf_counter() - t0, 2), **ev}


def references(profile: str = "quick", n: int | None = None, fid_n: int | None = None,
               feature_net: str = "auto") -> dict[str, dict[str, Any]]:
    """The trivial references on the cells' evaluation set, scored as the runs are
    (:func:`ci_inpaint.evaluation.cut.translation_references`): identity and real B."""
    from ..config import resolve_config
    from ..evaluation.cut import translation_references
    from ..methods.cut import CUTConfig

    o = _options(profile, n, fid_n, feature_net)
    cfg = resolve_config(CUTConfig, "smoke" if profile == "smoke" else "quick", {})
    return translation_references(cfg, o["n"], o["fid_n"], feature_net, o["clf_n"])


def _options(profile: str, n: int | None, fid_n: int | None, feature_net: str) -> dict[str, Any]:
    dn, df, dc = EVAL[profile]
    return {"n": n or dn, "fid_n": fid_n or df, "clf_n": dc, "feature_net": feature_net}


#: a variant's training time relative to PatchNCE's (the quick run at 525d019, two workers on a
#: 2-core CPU: GAN only 43 ms a step, PatchNCE 109, MoNCE 163; FastCUT has no identity pass):
#: the grid starts the longest first
COST = {"none": 0.4, "patchnce": 1.0, "monce_hard": 1.5, "monce_easy": 1.5, "fastcut": 0.8}


def judge(profile: str = "quick", **knobs: Any):
    """The frozen judge the cells score with (trained once, cached): a grid's ``prepare``."""
    from ..config import resolve_config
    from ..evaluation.cut import content_classifier
    from ..methods.cut import CUTConfig

    cfg = resolve_config(CUTConfig, "smoke" if profile == "smoke" else "quick", {})
    return content_classifier(int(knobs.get("size", cfg.size)),
                              int(knobs.get("num_classes", cfg.num_classes)), EVAL[profile][2])


def run_compare(seeds, out: str | Path, profile: str = "quick", workers: int = 1, threads: int = 1,
                variants: tuple[str, ...] = tuple(VARIANTS), n: int | None = None,
                fid_n: int | None = None, feature_net: str = "auto",
                variant_seeds: dict[str, Any] | None = None,
                **knobs: Any) -> list[dict[str, Any]]:
    """GAN only / PatchNCE / MoNCE hard / MoNCE easy x seed into ``out/<variant>-s<seed>``
    (``variant_seeds``: a variant's own seeds). The judge trains in the pool beside the first
    (longest) runs when it is not cached yet."""
    return run_grid(translation_cell, {v: VARIANTS[v] for v in variants}, seeds, out,
                    profile=profile, knobs=knobs, options=_options(profile, n, fid_n, feature_net),
                    workers=workers, threads=threads, desc="PatchNCE vs MoNCE",
                    variant_seeds=variant_seeds, cost=COST,
                    prepare=functools.partial(judge, profile, **knobs))


def run_q_sweep(qs, seeds, out: str | Path, profile: str = "quick", workers: int = 1,
                threads: int = 1, n: int | None = None, fid_n: int | None = None,
                feature_net: str = "auto", **knobs: Any) -> list[dict[str, Any]]:
    """Supplement Fig. 1: MoNCE hard at each Q != 1 x seed (Q = 1 comes from run_compare)."""
    return run_grid(translation_cell, q_variants(qs), seeds, out, profile=profile, knobs=knobs,
                    options=_options(profile, n, fid_n, feature_net), workers=workers,
                    threads=threads, desc="Q sweep", prepare=functools.partial(judge, profile, **knobs))


def q_table(table: dict[str, dict[str, Stat]], qs) -> dict[float, dict[str, Stat]]:
    """{Q: stats} from the sweep's aggregate plus Q = 1 from the comparison's ``monce_hard``."""
    return {float(q): table["monce_hard" if float(q) == 1.0 else f"q{float(q):g}"]
            for q in sorted(float(x) for x in qs)}


# ----------------------------------------------------------------------------- the papers' numbers
def paper_metrics(fid_key: str) -> dict[str, dict[str, Any]]:
    """The papers' values keyed like our summary metrics (``<variant>_<metric>``)."""
    return {
        f"patchnce_{fid_key}": Reference(45.5, CUT_T1 + "; users of the code report 61-68 (final "
                                         "epoch, other FID settings)").to_dict(),
        f"monce_hard_{fid_key}": Reference("lower than PatchNCE", MAIN).to_dict(),
        "monce_hard_mask_iou": Reference("at least PatchNCE's (mAP on Cityscapes)",
                                            MAIN).to_dict(),
    }


# ----------------------------------------------------------------------------- claims
def gate_specs(fid_key: str, identity_fid: float, variant: str = "patchnce") -> list[Spec]:
    """Does CUT learn its task (the quick targets): translated, content kept, FID at most half
    the identity mapping's (``identity_fid``: :func:`references`)."""
    ref = Reference
    name = (NAMES[variant],)
    return [
        Spec(f"{NAMES[variant]} translates: the judge calls >= 90 % of G(x_A) domain B",
             "domain_b", variant, 0.9, ">=", name, ref(">= 0.9", GATE)),
        Spec(f"{NAMES[variant]} keeps the class: judge accuracy on G(x_A) >= 90 %",
             "content_acc", variant, 0.9, ">=", name, ref(">= 0.9", GATE)),
        Spec(f"{NAMES[variant]} keeps the silhouette: mask IoU >= 0.8", "mask_iou", variant,
             0.8, ">=", name, ref(">= 0.8", GATE)),
        Spec(f"{NAMES[variant]} looks like B: {fid_key} <= half the identity mapping's "
             f"({identity_fid / 2:.4g})", fid_key, variant, identity_fid / 2, "<=", name,
             ref("<= identity / 2", GATE)),
    ]


def premise_specs() -> list[Spec]:
    """CUT's premise (its Table 3 ablation "no NCE"): PatchNCE keeps content that the GAN alone
    loses, by the judge's class accuracy and by the silhouette."""
    ref = Reference("PatchNCE >> no NCE (Table 3 ablation)", "CUT paper, Sec. 4.4")
    names = ("PatchNCE", "GAN only")
    return [Spec("CUT's premise: PatchNCE keeps the class better than the GAN alone",
                 "content_acc", "patchnce", "none", ">", names, ref),
            Spec("CUT's premise: PatchNCE keeps the silhouette better than the GAN alone "
                 "(mask IoU)", "mask_iou", "patchnce", "none", ">", names, ref)]


def compare_specs(fid_key: str) -> list[Spec]:
    """MoNCE vs PatchNCE vs the GAN alone: the claims this notebook tests."""
    return [
        Spec(f"MoNCE (hard) is more realistic than PatchNCE ({fid_key} lower)", fid_key,
             "monce_hard", "patchnce", "<", ("MoNCE", "PatchNCE"),
             Reference("lower FID on Horse->Zebra, Cityscapes, Winter->Summer", MAIN)),
        Spec("MoNCE (hard) preserves content better than PatchNCE (mask IoU)",
             "mask_iou", "monce_hard", "patchnce", ">", ("MoNCE", "PatchNCE"),
             Reference("higher mAP / pixAcc on Cityscapes", MAIN)),
        Spec(f"the hard cost (the code's default for CUT) beats easy on {fid_key}", fid_key,
             "monce_hard", "monce_easy", "<", ("hard", "easy"),
             Reference("hard is the default for unpaired translation", "MoNCE code defaults")),
    ]


def claims(rows: list[dict[str, Any]], fid_key: str, identity_fid: float | None = None,
           premise: bool = True, compare: bool = True) -> list[Claim]:
    """The gate (when ``identity_fid`` is given), (``premise``) CUT's premise and
    (``compare``) the MoNCE comparisons, one row each with the Welch and the paired test (seed
    s of every variant starts from the same weights and data order, so the paired test
    decides). The quick profile shows MoNCE on one seed and leaves the comparisons to the
    study, which leaves the premise to the quick profile."""
    specs = gate_specs(fid_key, identity_fid) if identity_fid is not None else []
    return decide([*specs, *(premise_specs() if premise else []),
                   *(compare_specs(fid_key) if compare else [])], rows, why=WHY)


def q_specs(qs, fid_key: str) -> list[Spec]:
    """Supplement Fig. 1 between the smallest and the largest Q (the sides are the Q values
    written with ``:g``, as :func:`q_rows` keys them)."""
    lo, hi = min(qs), max(qs)
    names = (f"Q = {hi:g}", f"Q = {lo:g}")
    return [Spec(f"Fig. 1: a larger Q lowers the FID ({fid_key}, Q = {hi:g} vs {lo:g})", fid_key,
                 f"{hi:g}", f"{lo:g}", "<", names, Reference("FID falls as Q grows", FIG1)),
            Spec(f"Fig. 1: a larger Q hurts content preservation (mask IoU, Q = {hi:g} vs {lo:g})",
                 "mask_iou", f"{hi:g}", f"{lo:g}", "<", names,
                 Reference("content preservation worsens as Q grows", FIG1))]


def q_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sweep's and the comparison's ``monce_hard`` rows re-keyed by Q (``variant`` = the
    Q written with ``:g``), for :func:`decide` on :func:`q_specs`."""
    out = []
    for r in rows:
        v = r["variant"]
        if v == "monce_hard" or (v.startswith("q") and v[1:].replace(".", "", 1).isdigit()):
            out.append({**r, "variant": "1" if v == "monce_hard" else f"{float(v[1:]):g}"})
    return out


# ----------------------------------------------------------------------------- figures
def plot_q_sweep(qt: dict[float, dict[str, Stat]], fid_key: str,
                 rows: list[dict[str, Any]] | None = None):
    """Fig. 1's layout: FID and content (mask IoU) against Q: the mean and its 95 % interval,
    and each seed's value (``rows``: :func:`q_rows`), since with 2-3 seeds the points say more
    than the interval. The interval is clipped to the axis the seeds span."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    qs = sorted(qt)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, key, label in ((axes[0], fid_key, f"{fid_key}\n(lower: more like B)"),
                           (axes[1], "mask_iou", "mask IoU (content kept)")):
        m = [qt[q][key].mean for q in qs]
        lo = [qt[q][key].lo if qt[q][key].has_interval else qt[q][key].mean for q in qs]
        hi = [qt[q][key].hi if qt[q][key].has_interval else qt[q][key].mean for q in qs]
        ax.fill_between(qs, lo, hi, alpha=0.2, label="95 % interval of the mean")
        ax.plot(qs, m, "o-", label="mean")
        pts = [(float(r["variant"]), r[key]) for r in rows or [] if float(r["variant"]) in qt]
        if pts:
            ax.plot(*zip(*pts), "k.", alpha=0.6, label="one seed")
            v = [p[1] for p in pts] + m
            pad = 0.15 * (max(v) - min(v) or 1.0)
            ax.set_ylim(min(v) - pad, max(v) + pad)
        ax.set(xscale="log", xlabel="negative weight Q", ylabel=label)
        ax.set_xticks(qs, [f"{q:g}" for q in qs])
        ax.xaxis.set_minor_formatter(NullFormatter())
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_translations(generators: dict[str, Any], images, n: int = 8):
    """Row 0: the inputs x_A; one row per method with G(x_A) (``generators``: name -> G)."""
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    from ..methods.cut import translate

    x = images[:n]
    rows = [("input x_A", x)] + [(NAMES.get(k, k), translate(g, x)) for k, g in generators.items()]
    fig, axes = plt.subplots(len(rows), 1, figsize=(1.3 * n, 1.45 * len(rows)))
    for ax, (title, imgs) in zip(axes, rows):
        grid = make_grid((imgs + 1) / 2, nrow=n, padding=1, pad_value=1).clamp(0, 1)
        ax.imshow(grid.permute(1, 2, 0).numpy())
        ax.set_title(title, fontsize=9, loc="left")
        ax.axis("off")
    fig.tight_layout()
    return fig


def ot_weight_maps(method, image, layer: str = "down2", query: tuple[int, int] | None = None,
                   settings=((1.0, "hard"), (0.1, "hard"), (1.0, "easy"), (0.1, "easy")),
                   iters: int = 50):
    """For one query patch of G(x)'s ``layer`` features, the MoNCE weight w_j = pi_qj (P - 1) of
    every input patch j (all H x W positions), per (eps, cost). Returns ({(eps, cost): (h, w)
    weights}, (row, col) of the query); the positive (the query's own position) is NaN."""
    import torch

    from ..errors import ConfigError
    from ..losses.monce import transport_plan

    m = method
    if layer not in m.layers:
        raise ConfigError(f"layer {layer!r} is not an NCE layer of this run: use one of "
                          f"{', '.join(m.layers)}")
    li = m.layers.index(layer)
    x = image[None].to(next(m.G.parameters()).device)
    with torch.no_grad():  # the features and the MLP heads of the NCE term, at every position
        fk = m.G.encode(x, m.layers)
        fq = m.G.encode(m.G(x), m.layers)
        ids = [torch.arange(f.shape[2] * f.shape[3], device=f.device) for f in fk]
        k, q = m.F(fk, ids)[li], m.F(fq, ids)[li]
    h, w = fk[li].shape[2:]
    r, c = query if query is not None else (h // 2, w // 2)
    i = r * w + c
    maps = {}
    for eps, cost in settings:
        plan = transport_plan(q, k, eps=eps, cost=cost, iters=iters, log_domain=True)[0]
        wts = (plan[i] * (h * w - 1)).float().cpu()
        wts[i] = float("nan")
        maps[(eps, cost)] = wts.view(h, w)
    return maps, (r, c)


def plot_ot_weights(image, maps: dict, query: tuple[int, int]):
    """The image, then each weight map drawn over it (the query patch marked)."""
    import matplotlib.pyplot as plt
    import torch.nn.functional as F

    img = ((image + 1) / 2).clamp(0, 1).permute(1, 2, 0).numpy()
    size = image.shape[-1]
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.6 * (len(maps) + 1), 2.8))
    axes[0].imshow(img)
    axes[0].set_title("input x_A", fontsize=9)
    for ax, ((eps, cost), wm) in zip(axes[1:], maps.items()):
        up = F.interpolate(wm[None, None].nan_to_num(0), size=(size, size), mode="nearest")[0, 0]
        ax.imshow(img)
        im = ax.imshow(up.numpy(), cmap="magma", alpha=0.75)
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_title(f"{cost}, eps = {eps:g}", fontsize=9)
    h, w = next(iter(maps.values())).shape
    for ax in axes:
        ax.add_patch(plt.Rectangle(((query[1]) * size / w - 0.5, query[0] * size / h - 0.5),
                                   size / w, size / h, fill=False, color="cyan", lw=1.5))
        ax.axis("off")
    fig.tight_layout()
    return fig


__all__ = ["CONTENT_KEYS", "COST", "EVAL", "GATE", "NAMES", "QUICK", "STUDY", "VARIANTS", "claims",
           "compare_specs", "gate_specs", "judge",
           "premise_specs", "q_rows", "q_specs", "references",
           "ot_weight_maps",
           "paper_metrics", "plot_ot_weights", "plot_q_sweep", "plot_translations",
           "q_table", "q_variants", "run_compare", "run_q_sweep", "translation_cell"]
