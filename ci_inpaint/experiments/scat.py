"""SCAT (Zuo et al., AAAI 2023): its tables, figures and claims on the experiment layer.

No training logic lives here: cells train ``scat`` through :meth:`Cell.train` and evaluate it
with :func:`ci_inpaint.methods.scat.evaluate_run`. Sources cite the paper's tables (the text
copy we work from, ``shared/papers/scat_*.txt``, has no page numbers).

Scales: the paper's mean L1 is on [-1, 1] (twice the [0, 1] value); ours are compared on that
scale (``l1pm_<bucket>``). FID: the paper uses 5,000 validation images per dataset
(:func:`ci_inpaint.metrics.paper_fid_samples`); without the Inception weights ours is a
photo-classifier FID on a few hundred composites per bucket, named as such, on another scale.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

from .claims import Claim, Reference, Spec, decide
from .grid import Cell, run_grid
from .runs import load_run, ratio_medians, read_ratios

ABLATION = ("baseline", "scat", "text", "full")
NAMES = {"baseline": "Baseline", "scat": "Baseline-1 (+SCAT)", "text": "Baseline-2 (+text)",
         "full": "Proposed (+sem)", "full_code": "Proposed, no temperature (code)",
         "full_white": "Proposed, white holes (AOT-GAN trainer)"}
BUCKETS = ("0-20", "20-40", "40-60")
METRICS = ("l1pm", "psnr", "ssim")  # plus the FID under its own name
HOLE = ("hole_l1", "hole_psnr")  # inside the hole only ([0, 1] scale)
LOWER = {"l1pm": True, "psnr": False, "ssim": False, "fid": True, "hole_l1": True,
         "hole_psnr": False}
N_PER_BUCKET = {"smoke": 12, "quick": 160, "study": 160, "full": 5000}  # eval pairs per bucket (= FID n)


def variants(temperature: bool = True, white: bool = False) -> dict[str, dict[str, Any]]:
    """Table 3's four rows, plus the full model without temperature (the authors' code) and
    with white holes in x~ (``hole_fill=1``, AOT-GAN's trainer; the paper's x~ = x ⊙ m)."""
    out: dict[str, dict[str, Any]] = {v: {"variant": v} for v in ABLATION}
    if temperature:
        out["full_code"] = {"variant": "full", "temperature": "code"}
    if white:
        out["full_white"] = {"variant": "full", "hole_fill": 1.0}
    return out


# ----------------------------------------------------------------------------- cells
def scat_cell(cell: Cell) -> dict[str, Any]:
    """Train (or load) one run, then the composite metrics per bucket (``options``:
    ``n_per_bucket``, ``fid``, ``feature_net``)."""
    from ..methods.scat import evaluate_run

    res = cell.train("scat")
    o, t0 = cell.options, time.perf_counter()
    ev = evaluate_run(res.method, o["n_per_bucket"], o.get("fid", True), o.get("feature_net", "auto"))
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 2),
            "eval_s": round(time.perf_counter() - t0, 2), **res.metrics, **ev,
            **ratio_medians(read_ratios(res.run_dir))}


#: a variant's training time relative to the Baseline's (2-core CPU, quick): the B x B
#: re-corrupted negatives of the semantic loss make the Proposed rows about twice as slow
COST = {"baseline": 1.0, "scat": 1.2, "text": 1.4, "full": 1.9, "full_code": 1.9,
        "full_white": 1.9}

#: the quick profile's headline comparison (issue "Teaching scale that learns"): the paper's
#: model against its baseline; the study trains every row of :func:`variants`
HEADLINE = ("baseline", "full")


def run_ablation(seeds, out: str | Path, profile: str = "quick", workers: int = 1,
                 threads: int = 1, temperature: bool = True, white: bool = False,
                 n_per_bucket: int | None = None, only: tuple[str, ...] | None = None,
                 fid: bool = True, feature_net: str = "auto", **knobs: Any) -> list[dict[str, Any]]:
    """Table 3 (+ the temperature comparison): every variant x seed into ``out/<variant>-s<seed>``
    (``only``: those variants of :func:`variants`, e.g. :data:`HEADLINE`)."""
    options = {"n_per_bucket": n_per_bucket or N_PER_BUCKET[profile], "fid": fid,
               "feature_net": feature_net}
    grid = variants(temperature, white)
    if only is not None:
        grid = {k: v for k, v in grid.items() if k in only}
    # Proposed costs about twice the Baseline (the B x B re-corrupted negatives): start it first
    return run_grid(scat_cell, grid, seeds, out, profile=profile, knobs=knobs, cost=COST,
                    options=options, workers=workers, threads=threads, desc="SCAT ablation")


def references(profile: str = "quick", n_per_bucket: int | None = None, fid: bool = True,
               feature_net: str = "auto", **knobs: Any) -> dict[str, dict[str, Any]]:
    """The trivial references (mean fill, biharmonic fill, ground truth) on the runs' evaluation
    pairs, scored as the runs are (:func:`ci_inpaint.evaluation.scat.references`)."""
    from ..config import resolve_config
    from ..evaluation.scat import references as score
    from ..methods.scat import SCATConfig

    knobs = {k: v for k, v in knobs.items() if k in ("dataset", "data_root", "mask_root",
                                                     "resolution")}
    cfg = resolve_config(SCATConfig, profile, knobs)
    return score(cfg, n_per_bucket or N_PER_BUCKET[profile], fid, feature_net)


def load_methods(rows: list[dict[str, Any]], out: str | Path, seed: int) -> dict[str, Any]:
    """``{variant: trained SCAT}`` of the runs of ``seed``."""
    return {r["variant"]: load_run(Path(out) / r["run"]).method for r in rows if r["seed"] == seed}


# ----------------------------------------------------------------------------- the paper's numbers
T2_SOURCE = "Table 2 (Quantitative Evaluations), {}, NVIDIA irregular masks, 5K validation images"
T3_SOURCE = "Table 3 (Ablation Studies), CelebA, masks 40-60 %"
# Table 2, the Proposed row: (Places2, CelebA) per bucket; L1 on [-1, 1]
T2 = {
    "Places2": {"l1pm": (0.010, 0.038, 0.087), "psnr": (33.52, 25.50, 20.85),
                "ssim": (0.964, 0.870, 0.732), "fid": (1.68, 5.71, 13.83)},
    "CelebA": {"l1pm": (0.0057, 0.0217, 0.0548), "psnr": (38.87, 30.14, 24.49),
               "ssim": (0.981, 0.928, 0.836), "fid": (0.71, 2.40, 6.15)},
}
T3 = {"l1pm": (0.0593, 0.0576, 0.0561, 0.0548), "psnr": (23.86, 24.11, 24.27, 24.49),
      "ssim": (0.822, 0.825, 0.832, 0.836), "fid": (7.84, 7.20, 6.52, 6.15)}


def paper_metrics(fid_key: str) -> dict[str, dict[str, Any]]:
    """The paper's values keyed like our summary metrics: ``<variant>_<metric>_<bucket>``
    (Table 3 at 40-60 for the ablation rows; Table 2's CelebA row for the full model's other
    buckets)."""
    out: dict[str, dict[str, Any]] = {}
    for m, vals in T3.items():
        key = fid_key if m == "fid" else m
        for v, val in zip(ABLATION, vals):
            out[f"{v}_{key}_40-60"] = Reference(val, T3_SOURCE).to_dict()
    for m, vals in T2["CelebA"].items():
        key = fid_key if m == "fid" else m
        for b, val in zip(BUCKETS[:2], vals[:2]):
            out[f"full_{key}_{b}"] = Reference(val, T2_SOURCE.format("CelebA")).to_dict()
    return out


# ----------------------------------------------------------------------------- claims
WHY = ("32 px photo patches, a narrow AOT G and U-Net D, 800 steps at 5x the paper's lr, "
       "against 300k iterations at 256 px on CelebA: far from the paper's converged runs")


def _metric_key(m: str, fid_key: str) -> str:
    return fid_key if m == "fid" else m


GATE = "issue 21's 'does it learn' gate for the quick profile (not a paper number)"
CLASSICAL = "classical fill (biharmonic)"  # its name in the references (metrics.references)


def gate_specs(refs: dict[str, dict[str, Any]], fid_key: str, variant: str = "baseline") -> list[Spec]:
    """Does the generator learn to fill (the quick targets): the Baseline (AOT-GAN) beats the
    classical fill on hole L1 and on the FID in every bucket (``refs``: :func:`references`)."""
    out = []
    for b in BUCKETS:
        for m, k in (("hole L1", f"hole_l1_{b}"), (fid_key, f"{fid_key}_{b}")):
            if k in refs[CLASSICAL]:
                v = refs[CLASSICAL][k]
                out.append(Spec(f"{NAMES[variant]} beats the biharmonic fill on {m} ({b} %: "
                                f"< {v:.4g})", k, variant, v, "<", (NAMES[variant],),
                                Reference("< the classical fill", GATE)))
    return out


def ablation_specs(fid_key: str) -> list[Spec]:
    """Table 3: each addition improves each metric over the previous row (40-60 % masks)."""
    specs = []
    for m in ("l1pm", "psnr", "ssim", "fid"):
        k, op = f"{_metric_key(m, fid_key)}_40-60", "<" if LOWER[m] else ">"
        for i in range(1, len(ABLATION)):
            a, b = ABLATION[i], ABLATION[i - 1]
            specs.append(Spec(f"Table 3: {NAMES[a]} {op} {NAMES[b]} on {m} (40-60 %)", k, a, b,
                              op, (a, b), Reference(f"{NAMES[a]} {T3[m][i]:g} vs {NAMES[b]} "
                                                    f"{T3[m][i - 1]:g}", T3_SOURCE)))
    return specs


def bucket_specs(fid_key: str) -> list[Spec]:
    """Table 2 read as the full model vs Baseline in each bucket (the paper gives the full
    model's CelebA numbers per bucket; Baseline only at 40-60 %, Table 3)."""
    specs = []
    for m in ("l1pm", "psnr", "ssim", "fid"):
        op = "<" if LOWER[m] else ">"
        for j, b in enumerate(BUCKETS):
            paper = f"Proposed {T2['CelebA'][m][j]:g}"
            if b == "40-60":
                paper += f", Baseline {T3[m][0]:g} (Table 3)"
            specs.append(Spec(f"Table 2: the full model {op} Baseline on {m} ({b} %)",
                              f"{_metric_key(m, fid_key)}_{b}", "full", "baseline", op,
                              ("full", "baseline"), Reference(paper, T2_SOURCE.format("CelebA"))))
    return specs


# the paper's temperature vs the code's none (no number is published, so the claim is the one
# its Eq. 4 implies), and our diagnostic: white holes in x~ vs the paper's zero holes
TEMPERATURE = Spec("Eq. 4 with t = 0.07 (paper) gives a lower L1 than no temperature (code), "
                   "40-60 %", "l1pm_40-60", "full", "full_code", "<", ("t=0.07", "no t"),
                   Reference("no number published (the code stores t = 0.07 but never applies "
                             "it)", "Eq. 4; README pitfalls"))
FILL = Spec("x~ with white holes (AOT-GAN trainer) gives the full model a lower L1 than x ⊙ m "
            "(paper), 40-60 %", "l1pm_40-60", "full_white", "full", "<", ("white", "zero"),
            Reference("no number published", "Notations (x~ = x ⊙ m)"))


def all_specs(fid_key: str) -> list[Spec]:
    """Every claim of this notebook: Table 3, Table 2 per bucket, the temperature, the fill."""
    return [*ablation_specs(fid_key), *bucket_specs(fid_key), TEMPERATURE, FILL]


def claims(rows: list[dict[str, Any]], fid_key: str,
           refs: dict[str, dict[str, Any]] | None = None) -> list[Claim]:
    """Every claim once, with the Welch and the paired test (the paired one decides where the
    variants share >= 2 seeds): :func:`ci_inpaint.experiments.decide` on the gate (when
    ``refs`` are given: :func:`gate_specs`) and :func:`all_specs`."""
    gate = gate_specs(refs, fid_key) if refs is not None else []
    return decide([*gate, *all_specs(fid_key)], rows, why=WHY)


# ----------------------------------------------------------------------------- figures
def _img(x):
    return ((x.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


def plot_s_history(method, title: str = ""):
    """S's per-pixel map on the fixed probe composite at each evaluation during training: top
    row the composite, bottom row sigmoid(S) (white = valid, black = generated), the hole
    outlined."""
    import matplotlib.pyplot as plt
    import torch

    hist = method.s_history
    hole = method.probe()["mask"][0, 0]
    fig, axes = plt.subplots(2, len(hist) + 1, figsize=(1.6 * (len(hist) + 1), 3.4), squeeze=False)
    axes[0, 0].imshow(_img(method.probe()["image"][0]))
    axes[0, 0].set_title("ground truth", fontsize=8)
    axes[1, 0].imshow(hole, cmap="gray_r", vmin=0, vmax=1)
    axes[1, 0].set_title("hole", fontsize=8)
    for j, h in enumerate(hist, 1):
        axes[0, j].imshow(_img(h["comp"]))
        axes[0, j].set_title(f"step {h['step']}", fontsize=8)
        axes[1, j].imshow(torch.sigmoid(h["s"].float()), cmap="gray", vmin=0, vmax=1)
        axes[1, j].contour(hole, levels=[0.5], colors="tab:red", linewidths=0.6)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def s_curves(method) -> list[dict[str, Any]]:
    """S on the probe composite at each evaluation: ``s_gap`` and ``s_iou``
    (:func:`ci_inpaint.evaluation.scat.s_map_scores` of the stored maps)."""
    from ..evaluation.scat import s_map_scores

    p = method.probe()
    out = []
    for h in method.s_history:
        sc = s_map_scores(h["s"].float()[None, None], p["mask"], h["comp"].float()[None], p["image"])
        out.append({"step": h["step"], **{k: round(sc[k], 3) for k in ("s_gap", "s_iou", "probe_l1")}})
    return out


def plot_s_curves(curves: dict[str, list[dict[str, Any]]]):
    """The game over training, one line per variant: S's IoU with the true hole (does S find
    it?), its logit gap, and the probe fill's L1 (is G's fill improving?)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8))
    for name, rows in curves.items():
        steps = [r["step"] for r in rows]
        for ax, k in zip(axes, ("s_iou", "s_gap", "probe_l1")):
            ax.plot(steps, [r[k] for r in rows], marker="o", ms=3, label=name)
    for ax, t in zip(axes, ("S: IoU of 'generated' with the hole", "S: logit gap known - hole",
                            "probe composite L1 [0, 1]")):
        ax.set(xlabel="step", title=t)
        ax.title.set_fontsize(9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def run_curves(run_dir: str | Path) -> list[dict[str, float]]:
    """A run's evaluations (``eval/<key>`` rows of ``metrics.jsonl``, the prefix dropped) with
    its logged gradient-norm ratios (``gratio_<term>``), by step."""
    import json

    by: dict[int, dict[str, float]] = {}
    for ln in (Path(run_dir) / "metrics.jsonl").read_text().splitlines():
        if not ln.strip():
            continue
        h = json.loads(ln)
        keep = {k.removeprefix("eval/"): v for k, v in h.items()
                if k.startswith(("eval/", "gratio_"))}
        if keep:
            by.setdefault(int(h["step"]), {"step": int(h["step"])}).update(keep)
    return [by[s] for s in sorted(by)]


#: what the contrastive losses see (:func:`ci_inpaint.evaluation.scat.contrast_scores`)
CONTRAST = {"text_ratio": "textural: Eq. 3, d(fill, real) / d(fill, corrupted)",
            "text_pos": "textural: d(fill, real), D's shallow features",
            "sem_gap": "semantic: cos(fill, real) - cos(fill, corrupted)"}


def plot_lines(curves: dict[str, list[dict[str, float]]], keys: dict[str, str],
               log: bool = False):
    """One panel per ``keys`` entry (key: title), one line per run of ``curves`` over steps."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 2.8), squeeze=False)
    for ax, (k, title) in zip(axes[0], keys.items()):
        for name, rows in curves.items():
            pts = [(r["step"], r[k]) for r in rows if k in r]
            if pts:
                ax.plot(*zip(*pts), marker="o", ms=2.5, label=name)
        ax.set(xlabel="step", title=textwrap.fill(title, 40), yscale="log" if log else "linear")
        ax.title.set_fontsize(8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def plot_samples(methods: dict[str, Any], images, masks, n: int = 6):
    """Inpainted samples side by side: rows = inputs; columns = the corrupted input, the
    classical (biharmonic) fill, each variant's composite, the ground truth."""
    import matplotlib.pyplot as plt

    from ..metrics.references import classical_fill

    cols = [("input", images[:n] * (1 - masks[:n])),
            ("classical fill (biharmonic)", classical_fill(images[:n], masks[:n]))]
    cols += [(NAMES.get(v, v), m.inpaint(images[:n], masks[:n])) for v, m in methods.items()]
    cols.append(("ground truth", images[:n]))
    fig, axes = plt.subplots(n, len(cols), figsize=(1.5 * len(cols), 1.5 * n), squeeze=False)
    for j, (title, ims) in enumerate(cols):
        for i in range(n):
            axes[i, j].imshow(_img(ims[i]))
            axes[i, j].axis("off")
        axes[0, j].set_title(textwrap.fill(title, 16), fontsize=7)
    fig.tight_layout()
    return fig


__all__ = ["ABLATION", "BUCKETS", "CLASSICAL", "COST", "GATE", "HEADLINE", "HOLE", "METRICS",
           "CONTRAST", "NAMES", "N_PER_BUCKET", "T2", "T3",
           "ablation_specs", "all_specs", "bucket_specs", "claims", "gate_specs", "references",
           "FILL", "TEMPERATURE", "load_methods", "paper_metrics", "plot_s_history",
           "plot_lines", "plot_s_curves", "plot_samples", "run_ablation", "run_curves", "s_curves",
           "scat_cell", "variants"]
