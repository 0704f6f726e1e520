"""The contrastive attention network (Ma et al. 2020): stage 1's learning check, Table II's
ablation, Fig. 6 and Fig. 7, and the claims, on the experiment layer.

No training logic lives here: stage-1 cells train ``daf_moco``, stage-2 cells train ``daf``
(initialised from the same seed's stage-1 run for the contrastive rows) through
:meth:`Cell.train`, and score it with :func:`ci_inpaint.methods.daf.evaluate_run`.

Layout under ``out``: ``stage1/moco-s<seed>`` (one per seed, shared by both DAF settings) and
``table2/<variant>-s<seed>``. Stage 1 runs as its own grid first, so two stage-2 cells never
train the same stage-1 run at once. Variants are named ``c<contrastive>d<daf>``, in Table II's
column order: c0d0, c1d0, c0d1, c1d1 (the full model).

Scales: L1 is the mean absolute error on [0, 1] over the whole composite (the paper's scale is
unstated; 0.0178 with free-form masks fits this one). FID: the paper's count is unstated
(:data:`ci_inpaint.metrics.PAPER_FID_SAMPLES`); without the Inception weights ours is a
classifier-feature FID, named as such, with its sample count in its label.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..methods.daf import SHARED  # the knobs stage 1 must share with stage 2
from .claims import Claim, Reference, Spec, decide
from .grid import Cell, run_grid
from .runs import load_run

ORDER = ("c0d0", "c1d0", "c0d1", "c1d1")  # Table II's columns
FULL = "c1d1"
CONTRASTIVE = {v: v[1] == "1" for v in ORDER}
VARIANTS = {v: {"daf": v[3] == "1"} for v in ORDER}
NAMES = {"c0d0": "no CL, no DAF", "c1d0": "CL only", "c0d1": "DAF only", "c1d1": "full (CL + DAF)"}
METRICS = ("l1", "psnr", "ssim")  # plus the FID under its own name
RING = ("ring_l1", "ring_grad")
HOLE = ("hole_l1", "hole_psnr")  # inside the hole only ([0, 1] scale)
LOWER = {"l1": True, "psnr": False, "ssim": False, "fid": True, "ring_l1": True, "ring_grad": True,
         "hole_l1": True, "hole_psnr": False}
EVAL_N = {"smoke": 16, "quick": 376, "study": 376, "full": 2000}  # test pairs (= FID n); photos: 376

T2_SOURCE = "Table II (ablation study), Places2 validation images, free-form masks"
T2 = {"l1": (0.0192, 0.0190, 0.0186, 0.0178), "psnr": (26.98, 27.13, 27.21, 27.54),
      "ssim": (0.9282, 0.9302, 0.9315, 0.9351), "fid": (12.62, 12.56, 11.14, 9.15)}
FIG7 = "Sec. IV-D and Fig. 7 (qualitative: no number)"
S1_SOURCE = "Sec. III-A (the inference network learns from two masked views; no number)"
WHY = ("32 px photo patches, a 16-wide encoder, stage 1 on a thousand patches instead of "
       "ImageNet, a few hundred stage-2 steps at 5x the paper's lr and 3 seeds, no VGG16 terms, "
       "against 256 px Places2 trained to convergence")


# ----------------------------------------------------------------------------- cells
def stage1_cell(cell: Cell) -> dict[str, Any]:
    """Train (or load) one ``daf_moco`` run: its last retrieval scores and their history."""
    res = cell.train("daf_moco")
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 2), **res.metrics,
            "history": list(res.method.history)}


def stage1_dir(out: str | Path, seed: int) -> Path:
    return Path(out) / "stage1" / f"moco-s{seed}"


def table2_cell(cell: Cell) -> dict[str, Any]:
    """Train (or load) one ``daf`` run, from the seed's stage-1 E_q for the contrastive
    variants, and score it (``options``: ``stage1`` folder, ``n``, ``fid``, ``feature_net``)."""
    from ..methods.daf import evaluate_run

    o = cell.options
    init = str(Path(o["stage1"]) / f"moco-s{cell.seed}") if CONTRASTIVE[cell.variant] else ""
    res = cell.train("daf", init=init)
    t0 = time.perf_counter()
    ev = evaluate_run(res.method, o["n"], o.get("fid", True), o.get("feature_net", "auto"))
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 2),
            "eval_s": round(time.perf_counter() - t0, 2), **ev}


def run_stage1(seeds, out: str | Path, profile: str = "quick", workers: int = 1,
               threads: int = 1, stage1: dict[str, Any] | None = None,
               **knobs: Any) -> list[dict[str, Any]]:
    """Stage 1 per seed into ``out/stage1/moco-s<seed>``; ``knobs`` of :data:`SHARED` (those
    stage 2 gets too) and ``stage1`` (stage-1-only knobs) configure it. A stage-2 run records
    the digest of the stage-1 checkpoint it started from (``sources.json``), so a retrained
    stage 1 retrains the stage-2 runs built on it."""
    k = {**{a: b for a, b in knobs.items() if a in SHARED or a in ("device", "progress")},
         **(stage1 or {})}
    return run_grid(stage1_cell, ["moco"], seeds, Path(out) / "stage1", profile=profile, knobs=k,
                    workers=workers, threads=threads, desc="DAF stage 1")


def run_table2(seeds, out: str | Path, profile: str = "quick", workers: int = 1,
               threads: int = 1, n: int | None = None, fid: bool = True,
               feature_net: str = "auto", stage1: dict[str, Any] | None = None,
               variants: tuple[str, ...] = ORDER, **knobs: Any) -> list[dict[str, Any]]:
    """Table II: each variant x seed into ``out/table2/<variant>-s<seed>``, after stage 1
    (:func:`run_stage1`, loaded when finished). Returns the stage-2 rows."""
    from ..methods import file_digest

    seeds = list(seeds)
    run_stage1(seeds, out, profile, workers, threads, stage1, **knobs)
    # the stage-1 checkpoints in the cells' key: a retrained stage 1 is never a reused row
    digests = {str(s): file_digest(stage1_dir(out, s)) for s in seeds}
    options = {"stage1": str(Path(out) / "stage1"), "n": n or EVAL_N[profile], "fid": fid,
               "feature_net": feature_net, "stage1_knobs": stage1 or {},
               "stage1_digests": digests}
    return run_grid(table2_cell, {v: VARIANTS[v] for v in variants}, seeds, Path(out) / "table2",
                    profile=profile, knobs=knobs, options=options, workers=workers,
                    threads=threads, desc="DAF Table II")


def references(profile: str = "quick", n: int | None = None, fid: bool = True,
               feature_net: str = "auto", **knobs: Any) -> dict[str, dict[str, Any]]:
    """The trivial references (mean fill, biharmonic fill, ground truth) on Table II's test
    pairs, scored as the runs are (:func:`ci_inpaint.evaluation.daf.references`)."""
    from ..config import resolve_config
    from ..evaluation.daf import references as score
    from ..methods.daf import DAFConfig

    knobs = {k: v for k, v in knobs.items() if k in ("dataset", "data_root", "resolution")}
    cfg = resolve_config(DAFConfig, profile, knobs)
    return score(cfg, n or EVAL_N[profile], fid, feature_net)


def load_methods(rows: list[dict[str, Any]], out: str | Path, seed: int) -> dict[str, Any]:
    """``{variant: trained DAFInpaint}`` of the Table II runs of ``seed``, in Table II's order."""
    runs = {r["variant"]: r["run"] for r in rows if r["seed"] == seed}
    return {v: load_run(Path(out) / "table2" / runs[v]).method for v in ORDER if v in runs}


def retrieval_curves(s1_rows: list[dict[str, Any]]) -> dict[str, dict[int, list[float]]]:
    """``{"top1": {step: [per seed]}, "top1_random": ..., "chance": ...}`` from stage 1's rows."""
    out: dict[str, dict[int, list[float]]] = {"top1": {}, "top1_random": {}, "chance": {}}
    for r in s1_rows:
        for h in r["history"]:
            for k in out:
                out[k].setdefault(int(h["step"]), []).append(float(h[k]))
    return out


# ----------------------------------------------------------------------------- the paper's numbers
def _key(m: str, fid_key: str) -> str:
    return fid_key if m == "fid" else m


def paper_metrics(fid_key: str) -> dict[str, dict[str, Any]]:
    """Table II keyed like our summary metrics: ``<variant>_<metric>``."""
    return {f"{v}_{_key(m, fid_key)}": Reference(vals[i], T2_SOURCE).to_dict()
            for m, vals in T2.items() for i, v in enumerate(ORDER)}


def paper_rows() -> list[dict[str, Any]]:
    """Table II as printed: one row per variant."""
    return [{"variant": NAMES[v], **{m: T2[m][i] for m in T2}} for i, v in enumerate(ORDER)]


# ----------------------------------------------------------------------------- claims
STAGE1 = Spec("stage 1: the trained E_q beats a random encoder at top-1 retrieval of an image's "
              "other masked view", "top1", "moco", "moco", ">", ("trained", "random"),
              Reference("the premise of the inference network", S1_SOURCE), metric_b="top1_random")


def stage1_claims(s1_rows: list[dict[str, Any]]) -> list[Claim]:
    """Stage 1 learns: the trained E_q retrieves an image's other masked view more often than a
    random encoder (last evaluation; Welch over seeds and, as both encoders are scored on the
    same held-out views of a seed, the paired test, which decides)."""
    return decide([STAGE1], s1_rows, why=WHY)


GATE = "issue 21's 'does it learn' gate for the quick profile (not a paper number)"
CLASSICAL = "classical fill (biharmonic)"  # its name in the references (metrics.references)


def gate_specs(refs: dict[str, dict[str, Any]], fid_key: str, variant: str = "c0d0") -> list[Spec]:
    """Does the generator learn to fill: the plain network (no CL, no DAF: the CAN's decoder
    without DAF) beats the classical fill on hole L1 and on the FID (``refs``:
    :func:`references`)."""
    out = []
    for m, k in (("hole L1", "hole_l1"), (fid_key, fid_key)):
        if k in refs[CLASSICAL]:
            v = refs[CLASSICAL][k]
            out.append(Spec(f"{NAMES[variant]} beats the biharmonic fill on {m} (< {v:.4g})", k,
                            variant, v, "<", (NAMES[variant],),
                            Reference("< the classical fill", GATE)))
    return out


def table2_specs(fid_key: str) -> list[Spec]:
    """Table II's claims per metric: the full model is best of the four, and contrastive
    pre-training alone and DAF alone each improve on the plain network (the paper's reading:
    both "play important roles")."""
    specs, i = [], ORDER.index
    for m in ("l1", "psnr", "ssim", "fid"):
        k, lower = _key(m, fid_key), LOWER[m]
        op = "<" if lower else ">"
        specs.append(Spec(f"Table II: the full model has the {'lowest' if lower else 'highest'} "
                          f"{k}", k, FULL, ORDER, op,
                          paper=Reference(", ".join(f"{NAMES[v]} {T2[m][i(v)]:g}" for v in ORDER),
                                          T2_SOURCE)))
        for v, what in (("c1d0", "contrastive pre-training"), ("c0d1", "DAF")):
            specs.append(Spec(f"Table II: {what} alone improves {k} ({op})", k, v, "c0d0", op,
                              (v, "c0d0"), Reference(f"{NAMES[v]} {T2[m][i(v)]:g} vs "
                                                     f"{NAMES['c0d0']} {T2[m][0]:g}", T2_SOURCE)))
    return specs


def boundary_specs() -> list[Spec]:
    """Fig. 7's claim, measured: the full model has the smallest boundary error and gradient
    mismatch of the four."""
    text = {"ring_l1": "error", "ring_grad": "gradient mismatch"}
    return [Spec(f"Fig. 7: the full model suppresses boundary artefacts (lowest ring {text[k]}, "
                 f"{k})", k, FULL, ORDER, "<",
                 paper=Reference("the full model suppresses colour discrepancy and artefacts in "
                                 "boundaries", FIG7)) for k in RING]


def claims(rows: list[dict[str, Any]], fid_key: str,
           refs: dict[str, dict[str, Any]] | None = None) -> list[Claim]:
    """The gate (when ``refs`` are given: :func:`gate_specs`), Table II's and Fig. 7's claims
    once each, with the Welch and the paired test."""
    gate = gate_specs(refs, fid_key) if refs is not None else []
    return decide(gate + table2_specs(fid_key) + boundary_specs(), rows, why=WHY)


# ----------------------------------------------------------------------------- figures
def _img(x):
    return ((x.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


def plot_retrieval(s1_rows: list[dict[str, Any]]):
    """Top-1 retrieval over stage-1 training: the trained E_q per seed and its mean, the random
    encoder's mean, chance."""
    import matplotlib.pyplot as plt
    import numpy as np

    curves = retrieval_curves(s1_rows)
    steps = sorted(curves["top1"])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for r in s1_rows:
        ax.plot([h["step"] for h in r["history"]], [h["top1"] for h in r["history"]], color="C0",
                alpha=0.3, lw=0.8)
    for k, label, c in (("top1", "trained E_q (mean)", "C0"), ("top1_random", "random encoder", "C1"),
                        ("chance", "chance", "gray")):
        ax.plot(steps, [np.mean(curves[k][s]) for s in steps], "o-" if k != "chance" else "--",
                color=c, label=label, ms=3)
    ax.set(xlabel="stage-1 step", ylabel="top-1 retrieval", ylim=(0, 1.02),
           title="other masked view among held-out images")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def multiscale_outputs(method, image, hole):
    """Fig. 6's panels for one image: ``[(title, (3, h, w)), ...]`` = input, the composite, then
    the decoder's outputs Y_hat^1 (full size, outermost) .. Y_hat^P (innermost); and DAF's
    alpha maps per scale (None without DAF)."""
    import torch

    dev = next(method.G.parameters()).device
    x, m = image[None].to(dev), hole[None].to(dev)
    with torch.no_grad():
        ys, alphas = method.G(x, m, with_alpha=True)
    comp = method.inpaint(image[None], hole[None])[0]
    panels = [("input", (image * (1 - hole)).cpu()), ("composite", comp)]
    panels += [(f"Y^{k + 1} ({y.shape[-1]} px)", y[0].clamp(-1, 1).float().cpu())
               for k, y in enumerate(ys)]
    return panels, [None if a is None else a[0].float().cpu() for a in alphas]


def plot_multiscale(method, image, hole, title: str = ""):
    """Fig. 6: input, composite, the multi-scale outputs outermost to innermost (top row, each
    at its own resolution, shown at one size) and DAF's mean alpha (weight of the decoder's
    features against the masked input, Eq. 8) per scale (bottom row)."""
    import matplotlib.pyplot as plt

    panels, alphas = multiscale_outputs(method, image, hole)
    rows = 2 if any(a is not None for a in alphas) else 1
    fig, axes = plt.subplots(rows, len(panels), figsize=(1.6 * len(panels), 1.8 * rows),
                             squeeze=False)
    for j, (t, im) in enumerate(panels):
        axes[0, j].imshow(_img(im), interpolation="nearest")
        axes[0, j].set_title(t, fontsize=8)
    if rows == 2:
        axes[1, 0].imshow(hole[0].cpu().numpy(), cmap="gray_r", vmin=0, vmax=1)
        axes[1, 0].set_title("hole (black)", fontsize=8)
        for j, a in enumerate(alphas, 2):
            if a is not None:
                im = axes[1, j].imshow(a.mean(0).numpy(), cmap="viridis", vmin=0, vmax=1,
                                       interpolation="nearest")
                axes[1, j].set_title(f"alpha, scale {j - 1}", fontsize=8)
        fig.colorbar(im, ax=axes[1, -1], fraction=0.046)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_variants(methods: dict[str, Any], images, masks, n: int = 4, width: int = 2):
    """Fig. 7: per input row, (a) input, the classical (biharmonic) fill, (b)-(e) the four
    variants in Table II's order, (f) the ground truth; the boundary ring's two edges drawn in cyan, each composite titled with its
    own ``ring_l1`` (x 100)."""
    import matplotlib.pyplot as plt

    from ..metrics.inpaint import boundary_ring, boundary_scores

    ims, mks = images[:n], masks[:n]
    from ..metrics.references import classical_fill

    cols = [("input", ims * (1 - mks), False), ("biharmonic", classical_fill(ims, mks), True)]
    cols += [(NAMES[v], m.inpaint(ims, mks), True) for v, m in methods.items()]
    cols.append(("ground truth", ims, False))
    ring = boundary_ring(mks.double(), width)
    fig, axes = plt.subplots(len(ims), len(cols), figsize=(1.55 * len(cols), 1.6 * len(ims)),
                             squeeze=False)
    for j, (title, col, scored) in enumerate(cols):
        for i in range(len(ims)):
            ax = axes[i, j]
            ax.imshow(_img(col[i]), interpolation="nearest")
            ax.contour(ring[i, 0].numpy(), levels=[0.5], colors="cyan", linewidths=0.6)
            lines = [title] if i == 0 else []
            if scored:
                s = boundary_scores(col[i:i + 1], ims[i:i + 1], mks[i:i + 1], width)["ring_l1"]
                lines.append(f"ring {100 * s:.1f}")
            ax.set_title("\n".join(lines), fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    return fig


__all__ = ["CLASSICAL", "CONTRASTIVE", "EVAL_N", "FULL", "GATE", "HOLE", "LOWER", "METRICS", "NAMES", "ORDER", "RING", "SHARED",
           "T2", "T2_SOURCE", "VARIANTS", "boundary_specs", "claims", "gate_specs", "load_methods",
           "references",
           "multiscale_outputs", "paper_metrics", "paper_rows", "plot_multiscale", "plot_retrieval",
           "plot_variants",
           "retrieval_curves", "run_stage1", "run_table2", "stage1_cell", "stage1_claims",
           "stage1_dir", "table2_cell", "table2_specs"]
