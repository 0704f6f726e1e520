"""DivCo's paired setting (Table 1, Sec. 4.2) on the experiment layer: the colouring book.

The cells train ``divco_paired`` (:mod:`ci_inpaint.methods.divco_paired`) and score it with
:mod:`ci_inpaint.evaluation.divco_paired` (LPIPS diversity, colours per page, a classifier-
feature FID, L1). The claims: the teaching gate (the baseline collapses, DivCo uses z, realism
kept) and Table 1's order (DivCo more diverse and more realistic than BicycleGAN, MSGAN).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .claims import Claim, Reference, Spec, decide
from .grid import Cell, run_grid
from .runs import ratio_medians, read_ratios  # noqa: F401 (read_ratios: re-exported)
from .stats import summarize

REGS = ("none", "mode_seeking", "divco")
QUICK = ("none", "divco")  # the headline comparison; MSGAN joins at the study profile
NAMES = {"none": "pix2pix+z", "mode_seeking": "MSGAN", "divco": "DivCo"}
KEYS = ("lpips", "colours", "fid", "l1")
# (pages, samples per page, real images for the FID) per profile
EVAL = {"smoke": (16, 3, 64), "quick": (200, 6, 1000), "study": (200, 6, 1000),
        "full": (500, 10, 2000)}
T1_SOURCE = "DivCo Table 1 (Sec. 4.2), Facades"
T1 = {"lpips": {"none": 0.2355, "mode_seeking": 0.2677, "divco": 0.2531},  # BicycleGAN, MSGAN, DivCo
      "fid": {"none": 80.34, "mode_seeking": 78.32, "divco": 75.96}}
GATE = "issue 23's quick targets (not a paper number)"
WHY = ("a 32 px colouring book instead of Facades, narrow nets for 600 steps, a baseline without "
       "BicycleGAN's cVAE branch and an FID on an in-project classifier")


def variants(regs=REGS, **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{variant: knobs}: one per regulariser, plus ``extra`` named settings (the study's
    R and tau sweeps, e.g. ``{"divco_tau1": {"regularizer": "divco", "tau": 1.0}}``)."""
    return {**{r: {"regularizer": r} for r in regs}, **extra}


def sweep_variants(taus=(0.05, 1.0), radii=(0.1,)) -> dict[str, dict[str, Any]]:
    """Fig. 7's sensitivity around the quick setting (tau 0.1, R 0.01): DivCo at other tau and R."""
    out = {f"divco_tau{t:g}": {"regularizer": "divco", "tau": float(t)} for t in taus}
    out.update({f"divco_R{r:g}": {"regularizer": "divco", "radius": float(r)} for r in radii})
    return out


def paired_cell(cell: Cell) -> dict[str, Any]:
    """One Table 1 run: train (or load) ``divco_paired``, then score it on the held-out pages
    (``cell.options``: ``n``, ``s``, ``fid_n``). The codes are drawn from seed 0 for every run,
    so seed s of each variant is scored on the same pages with the same codes."""
    from ..evaluation import divco_paired as ev
    from ..methods.common import generator_of

    res = cell.train("divco_paired")
    o, t0 = cell.options, time.perf_counter()
    scores = ev.evaluate(generator_of(res), res.cfg.num_classes, o["n"], o["s"], o["fid_n"], seed=0)
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 2),
            "eval_s": round(time.perf_counter() - t0, 2), **scores,
            **ratio_medians(read_ratios(res.run_dir))}


def run(seeds, out: str | Path, profile: str = "quick", workers: int = 1, threads: int = 1,
        table: dict | None = None, regs=QUICK, **knobs: Any) -> list[dict[str, Any]]:
    """Table 1's grid: ``table`` (default: :func:`variants` of ``regs``) x seeds."""
    n, s, fid_n = EVAL[profile]
    return run_grid(paired_cell, table or variants(regs), seeds, out, profile=profile,
                    knobs=knobs, options={"n": n, "s": s, "fid_n": fid_n}, workers=workers,
                    threads=threads, desc="Table 1 (paired)")


def references(profile: str = "quick") -> dict[str, dict[str, Any]]:
    """The ideal (recoloured) and trivial (the page itself, real B) answers, same pages."""
    from ..evaluation import divco_paired as ev

    n, s, fid_n = EVAL[profile]
    return ev.references(n=n, s=s, fid_n=fid_n)


def feature_accuracy(num_classes: int = 4) -> dict[str, float]:
    """Held-out accuracy per head of the FID's feature classifier (cached after its training)."""
    from ..evaluation import divco_paired as ev

    return {k: round(v, 3) for k, v in ev.feature_net(num_classes).accuracy.items()}


def paper_metrics() -> dict[str, dict[str, Any]]:
    """Table 1's Facades values keyed like our summary metrics (``paired_<reg>_<metric>``)."""
    return {f"paired_{r}_{m}": Reference(T1[m][r], f"{T1_SOURCE}; BicycleGAN as the baseline"
                                         if r == "none" else T1_SOURCE).to_dict()
            for m in T1 for r in REGS}


def with_ratio(rows: list[dict[str, Any]], a: str = "divco", b: str = "none") -> list[dict[str, Any]]:
    """``rows`` plus one row per seed with both variants: ``variant = "a/b"`` and
    ``lpips_ratio`` = a's LPIPS / b's (seed s of both shares weights, data order and codes)."""
    by = {(r["variant"], r["seed"]): r for r in rows}
    extra = [{"variant": f"{a}/{b}", "seed": sd, "lpips_ratio": by[(a, sd)]["lpips"] /
              max(by[(b, sd)]["lpips"], 1e-12)}
             for (v, sd) in by if v == a and (b, sd) in by]
    return [*rows, *extra]


def gate_specs(refs: dict[str, dict[str, Any]], none_fid_hi: float) -> list[Spec]:
    """The quick targets: the baseline's diversity near zero (below 10 % of the recoloured
    reference's), DivCo's >= 5x the baseline's, and DivCo's FID no higher than the top of the
    baseline's interval (``none_fid_hi``)."""
    near_zero = 0.1 * refs["recoloured"]["lpips"]
    ref = Reference
    return [
        Spec(f"the baseline (pix2pix+z) ignores z: its LPIPS diversity < 10 % of the recoloured "
             f"reference's ({near_zero:.3g})", "lpips", "none", near_zero, "<", ("pix2pix+z",),
             ref("near zero", GATE)),
        Spec("the baseline paints each page in one colour: < 1.5 colours per page",
             "colours", "none", 1.5, "<", ("pix2pix+z",), ref("collapse", GATE)),
        Spec("DivCo uses z: its LPIPS diversity >= 5x the baseline's (per seed)", "lpips_ratio",
             "divco/none", 5.0, ">=", ("DivCo / pix2pix+z",), ref(">= 5", GATE)),
        Spec(f"DivCo stays realistic: its FID <= the top of the baseline's 95 % interval "
             f"({none_fid_hi:.4g})", "fid", "divco", none_fid_hi, "<=", ("DivCo",),
             ref("within the baseline's interval or better", GATE)),
    ]


def table1_specs(regs=REGS) -> list[Spec]:
    """Table 1's order on our task (Facades values as the paper's reference)."""
    def ref(m: str) -> Reference:
        return Reference(", ".join(f"{NAMES[r]} {T1[m][r]:g}" for r in REGS), T1_SOURCE)

    specs = [
        Spec("Table 1: DivCo is more diverse than the baseline (LPIPS)", "lpips", "divco", "none",
             ">", ("DivCo", "pix2pix+z"), ref("lpips"), T1["lpips"]["divco"] - T1["lpips"]["none"]),
        Spec("DivCo gives more colours per page than the baseline", "colours", "divco", "none",
             ">", ("DivCo", "pix2pix+z"), Reference("more diverse (Fig. 4)", T1_SOURCE)),
    ]
    if "mode_seeking" in regs:
        specs += [
            Spec("Table 1: DivCo is more realistic than MSGAN (FID)", "fid", "divco",
                 "mode_seeking", "<", ("DivCo", "MSGAN"), ref("fid"),
                 T1["fid"]["divco"] - T1["fid"]["mode_seeking"]),
            Spec("Table 1: MSGAN is more diverse than the baseline (LPIPS)", "lpips",
                 "mode_seeking", "none", ">", ("MSGAN", "pix2pix+z"), ref("lpips"),
                 T1["lpips"]["mode_seeking"] - T1["lpips"]["none"]),
        ]
    return specs


def sweep_specs(table: dict) -> list[Spec]:
    """Fig. 7's reading on our task: DivCo uses z over the whole sweep (each setting > the
    baseline's LPIPS)."""
    src = Reference("robust over R and tau (Fig. 7)", "DivCo Fig. 7 (Sec. 4.5)")
    return [Spec(f"Fig. 7: DivCo at {v.split('_', 1)[1]} is still more diverse than the baseline",
                 "lpips", v, "none", ">", (v, "pix2pix+z"), src) for v in table]


def claims(rows: list[dict[str, Any]], refs: dict[str, dict[str, Any]],
           sweep: dict | None = None) -> list[Claim]:
    """The gate, Table 1 and (at study) Fig. 7's sweep, each with both tests."""
    fid = [r["fid"] for r in rows if r["variant"] == "none"]
    none_hi = summarize(fid).hi if len(fid) > 1 else float("nan")
    regs = tuple(sorted({r["variant"] for r in rows} & set(REGS)))
    specs = [*gate_specs(refs, none_hi), *table1_specs(regs), *sweep_specs(sweep or {})]
    return decide(specs, with_ratio(rows), why=WHY)


def plot_samples(generators: dict[str, Any], n_pages: int = 6, s: int = 6, seed: int = 0):
    """Per page (one row each): the page A, the truth B, then ``s`` samples (the same codes in
    every row) of each model side by side: a model that ignores z repeats itself along its
    block, one that uses it changes colour."""
    import matplotlib.pyplot as plt

    from ..evaluation import divco_paired as ev

    pages = ev.eval_pages(n_pages, seed=ev.EVAL_SEED)
    outs = {k: ev.samples(G, pages.conds, s, seed) for k, G in generators.items()}
    cols = 2 + len(outs) * s
    fig, axes = plt.subplots(n_pages, cols, figsize=(0.62 * cols + 0.3 * len(outs), 0.66 * n_pages + 0.4),
                             gridspec_kw={"wspace": 0.05, "hspace": 0.05}, squeeze=False)

    def show(ax, x):
        ax.imshow(((x.permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy(), interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])

    for i in range(n_pages):
        show(axes[i, 0], pages.conds[i])
        show(axes[i, 1], pages.images[i])
        for b, (name, o) in enumerate(outs.items()):
            for j in range(s):
                show(axes[i, 2 + b * s + j], o[i, j])
                if i == 0 and j == 0:
                    axes[i, 2 + b * s + j].set_title(f"{name} →", fontsize=8, loc="left")
    axes[0, 0].set_title("page A", fontsize=8)
    axes[0, 1].set_title("truth B", fontsize=8)
    return fig


__all__ = ["EVAL", "KEYS", "NAMES", "QUICK", "REGS", "T1", "claims", "feature_accuracy", "paper_metrics", "gate_specs", "paired_cell",
           "plot_samples", "read_ratios", "references", "run", "sweep_specs", "sweep_variants", "table1_specs",
           "variants", "with_ratio"]
