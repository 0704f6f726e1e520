"""DivCo (Liu et al., CVPR 2021): its figures, tables and claims on the experiment layer.

No training logic lives here: the cells train ``divco_toy`` (Fig. 1) and ``divco`` (Tables 3-4)
through :meth:`Cell.train` and evaluate them with the helpers of
:mod:`ci_inpaint.methods.divco_images`. Sources cite the section, table or figure of the paper;
the text copy we work from (``shared/papers/divco_*.txt``) carries no page numbers.

FID sample count: the paper does not state it; Sec. 4.4 says "we also calculate FID for all
generated images", i.e. the images generated for Table 3. Our ``full`` profile generates 1,000
per class for Table 3 (10,000 in all), so its FID uses **10,000** generated images against
10,000 CIFAR-10 training images (:data:`FID_N`). Every FID row records both counts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .claims import (
    Claim,
    Reference,
    Spec,
    decide,
    welch_claims,
)
from .grid import Cell, run_grid
from .runs import load_run
from .stats import Stat

TOY_REGS = ("none", "regression", "mode_seeking", "divco")
IMG_REGS = ("none", "mode_seeking", "divco")
NAMES = {"none": "DCGAN", "mode_seeking": "MSGAN", "divco": "DivCo", "regression": "regression"}
TOY_KEYS = ("modes_covered", "modes_covered_0", "modes_covered_1", "high_quality", "on_mode",
            "mode_width", "width_error", "wrong_mass", "cond_purity")
TOY_LAMBDAS = (0.1, 1.0, 10.0)  # the lambda sweep of each toy regulariser (same grid for all)
FID_N = {"smoke": 200, "quick": 1000, "study": 1000, "full": 10_000}  # generated (= real) images per FID
NDB = {"smoke": (3, 12), "quick": (10, 200), "study": (10, 200), "full": (50, 1000)}  # (bins k, images per class)


def variants(regs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {r: {"regularizer": r} for r in regs}


# ----------------------------------------------------------------------------- cells
def toy_members_cell(cell: Cell) -> dict[str, Any]:
    """One part of Fig. 1's grid: train (or load) a ``divco_toy`` run of several members and
    return each member's toy metrics in a list. ``cell.options["parts"][str(cell.seed)]`` holds
    the part's ``members`` and ``member_seeds`` (else they come from the knobs)."""
    part = cell.options.get("parts", {}).get(str(cell.seed), {})
    res = cell.train("divco_toy", **part)
    n = len(res.method.members)
    members = [dict(res.metrics)] if n == 1 else [
        {k[len(f"m{i}_"):]: v for k, v in res.metrics.items() if k.startswith(f"m{i}_")}
        for i in range(n)]
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 2), "members": members}


def image_cell(cell: Cell) -> dict[str, Any]:
    """One Tables 3-4 run: train (or load) ``divco``, then per-class NDB/JSD and FID.

    ``cell.options``: ``k``, ``n_per_class`` (NDB bins, images per class), ``fid_n``,
    ``feature_net`` (``auto`` | ``inception`` | ``classifier``)."""
    from ..methods.divco_images import evaluate_run, generator_of

    res = cell.train("divco")
    o, t0 = cell.options, time.perf_counter()
    ev = evaluate_run(generator_of(res), res.method.dataset, o["k"], o["n_per_class"], o["fid_n"],
                      cell.seed, o.get("feature_net", "auto"))
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 2),
            "eval_s": round(time.perf_counter() - t0, 2), "ndb_k": o["k"], **ev}


def toy_variant(reg: str, lam: float) -> str:
    return "none" if reg == "none" else f"{reg}@{lam:g}"


def fig1_members(seeds, regs: tuple[str, ...] = TOY_REGS,
                 grid: tuple[float, ...] | dict[str, tuple[float, ...]] = TOY_LAMBDAS
                 ) -> list[tuple[str, float, int]]:
    """Every (regulariser, lambda, seed) of Fig. 1: the plain GAN once per seed, each other
    regulariser at every lambda of ``grid`` per seed (a dict: each regulariser's own lambdas)."""
    def lams(r):
        return (0.0,) if r == "none" else grid[r] if isinstance(grid, dict) else grid

    return [(r, float(lam), int(s)) for r in regs for lam in lams(r) for s in seeds]


def run_fig1(seeds, out: str | Path, profile: str = "quick", workers: int = 1, threads: int = 1,
             regs: tuple[str, ...] = TOY_REGS,
             grid: tuple[float, ...] | dict[str, tuple[float, ...]] = TOY_LAMBDAS,
             parts: int = 2, **knobs: Any) -> list[dict[str, Any]]:
    """Fig. 1's whole grid (:func:`fig1_members`) as ``parts`` runs of the batched toy (each
    trains its share of the members at once; ``workers`` of them in parallel), one row per
    member with ``variant`` (``reg@lambda``), ``seed`` (the replica), ``reg``, ``lambda``,
    ``run`` and ``member`` (its index in that run) and its toy metrics.

    A member's initial weights come from its replica seed alone (``member_seeds``): the four
    regularisers of seed s start from one network, and two replicas never share an init. Part j
    runs under seed j, so its data and noise stream is its own. Members are dealt to the parts
    round-robin, so the split (and every number) does not depend on ``workers``; a finished part
    is reused (the grid's cell cache)."""
    members = fig1_members(seeds, regs, grid)
    parts = max(1, min(parts, len(members)))
    share = [members[j::parts] for j in range(parts)]
    table = {str(j): {"members": ",".join(f"{r}@{lam:g}" for r, lam, _ in sh),
                      "member_seeds": ",".join(str(s) for _, _, s in sh)}
             for j, sh in enumerate(share)}
    cell_rows = run_grid(toy_members_cell, ["part"], range(parts), out, profile=profile,
                         knobs=knobs, options={"parts": table}, workers=workers,
                         threads=threads, desc="Fig. 1 toy")
    rows = []
    for cr, sh in zip(cell_rows, share):
        for i, ((reg, lam, seed), met) in enumerate(zip(sh, cr["members"])):
            rows.append({"variant": toy_variant(reg, lam), "seed": seed, "reg": reg,
                         "lambda": lam, "run": cr["run"], "member": i,
                         "train_s": cr["train_s"], **met})
    return rows


def toy_score(row: dict[str, Any]) -> float:
    """What the sweep maximises: share of modes covered x high-quality share (recall x
    precision). Neither the class-respect (``wrong_mass``) nor any claim's own metric."""
    return row["modes_covered"] / row["n_modes"] * row["high_quality"]


def best_lambdas(rows: list[dict[str, Any]]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """``({reg: best lambda}, table rows)`` from sweep rows: the lambda of the highest mean
    :func:`toy_score` over seeds, per regulariser."""
    scores: dict[tuple[str, float], list[float]] = {}
    for r in rows:
        scores.setdefault((r["reg"], r["lambda"]), []).append(toy_score(r))
    table = [{"regulariser": reg, "lambda": lam, "score": sum(v) / len(v), "n": len(v)}
             for (reg, lam), v in scores.items()]
    best: dict[str, float] = {}
    for t in sorted(table, key=lambda t: -t["score"]):
        best.setdefault(t["regulariser"], t["lambda"])
    for t in table:
        t["best"] = best[t["regulariser"]] == t["lambda"]
    return best, table


def run_fig1_tuned(seeds, sweep_seeds: int, out: str | Path, profile: str = "quick",
                   workers: int = 1, threads: int = 1, regs: tuple[str, ...] = TOY_REGS,
                   grid: tuple[float, ...] = TOY_LAMBDAS, **knobs: Any
                   ) -> tuple[list[dict[str, Any]], dict[str, float], list[dict[str, Any]]]:
    """Fig. 1 at each regulariser's tuned lambda, in two stages: the sweep (every lambda of
    ``grid``) on the first ``sweep_seeds`` seeds (``out/sweep``), the pick by
    :func:`best_lambdas` on them, then the other seeds at the picked lambda only (``out/rest``).
    The selection seeds stay in the tables (a small bias in favour of every regulariser alike);
    no lambda but the picked one trains on the others, which makes a long toy affordable
    (8 seeds: 2 x 10 + 6 x 4 GANs instead of 8 x 10). Returns ``(rows of every trained member,
    {reg: best lambda}, sweep table)``; a member's numbers depend only on its own part's
    members (:func:`run_fig1`), so a rerun reads every finished part back. Each row's ``run``
    is its part's directory relative to ``out`` (``sweep/part-s0``, ...)."""
    seeds = [int(s) for s in seeds]
    n = max(1, min(sweep_seeds, len(seeds)))
    swept = run_fig1(seeds[:n], Path(out) / "sweep", profile, workers, threads, regs, grid,
                     **knobs)
    best, table = best_lambdas([r for r in swept if r["reg"] != "none"])
    rest = []
    if seeds[n:]:
        rest = run_fig1(seeds[n:], Path(out) / "rest", profile, workers, threads, regs,
                        {r: (best[r],) for r in regs if r != "none"}, **knobs)
    for stage, rows in (("sweep", swept), ("rest", rest)):
        for r in rows:  # run dirs relative to ``out``, as run_fig1's are to its own
            r["run"] = f"{stage}/{r['run']}"
    return swept + rest, best, table


def run_images(seeds, out: str | Path, profile: str = "quick", workers: int = 1,
               threads: int = 1, regs: tuple[str, ...] = IMG_REGS, k: int | None = None,
               n_per_class: int | None = None, fid_n: int | None = None,
               feature_net: str = "auto", table: dict | None = None,
               **knobs: Any) -> list[dict[str, Any]]:
    """Tables 3-4: DCGAN / MSGAN / DivCo (or the settings of ``table``) x seed; k, n_per_class
    and fid_n default per profile (:data:`NDB`, :data:`FID_N`)."""
    dk, dn = NDB[profile]
    options = {"k": k or dk, "n_per_class": n_per_class or dn, "fid_n": fid_n or FID_N[profile],
               "feature_net": feature_net}
    return run_grid(image_cell, table or variants(regs), seeds, out, profile=profile, knobs=knobs,
                    options=options, workers=workers, threads=threads, desc="Tables 3-4")


def image_variants(ms_lambdas=(0.1, 1.0), divco_lambdas=(1.0, 10.0),
                   code_lambdas=(1.0,)) -> dict[str, dict[str, Any]]:
    """The image sweep's settings: DCGAN, MSGAN at each ``lambda_ms``, DivCo (the paper's Eq. 2:
    cosine, batch mean) at each ``lambda_contra`` and DivCo in the official code's form
    (``contra_form=code``: raw dot products summed over the queries, a fixed random head)."""
    t: dict[str, dict[str, Any]] = {"none": {"regularizer": "none"}}
    t.update({f"mode_seeking@{v:g}": {"regularizer": "mode_seeking", "lambda_ms": float(v)}
              for v in ms_lambdas})
    t.update({f"divco@{v:g}": {"regularizer": "divco", "lambda_contra": float(v)}
              for v in divco_lambdas})
    t.update({f"divco-code@{v:g}": {"regularizer": "divco", "lambda_contra": float(v),
                                    "contra_form": "code"} for v in code_lambdas})
    return t


def family(variant: str) -> str:
    """``mode_seeking@0.1`` -> ``mode_seeking``; ``divco-code@1`` -> ``divco``."""
    return variant.split("@")[0].split("-")[0]


def best_settings(rows: list[dict[str, Any]], key: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``({family: variant with the lowest mean key}, table rows)`` over the sweep's rows."""
    vals: dict[str, list[float]] = {}
    for r in rows:
        vals.setdefault(r["variant"], []).append(float(r[key]))
    table = [{"setting": v, "family": NAMES[family(v)], key: sum(x) / len(x), "n": len(x)}
             for v, x in vals.items()]
    best: dict[str, str] = {}
    for t in sorted(table, key=lambda t: t[key]):
        best.setdefault(family(t["setting"]), t["setting"])
    for t in table:
        t["best"] = best[family(t["setting"])] == t["setting"]
    return best, table


def run_image_sweep(sweep_seeds, seeds, out: str | Path, profile: str = "quick",
                    workers: int = 1, threads: int = 1, table: dict | None = None,
                    select: str = "fid", **kw: Any):
    """Tables 3-4 with each regulariser at its own best weight: every setting of ``table``
    (default :func:`image_variants`) on ``sweep_seeds``, the best of each family (lowest mean
    FID, the metric of the paper's sensitivity study, Fig. 7; ``select`` names another row key)
    picked there, then those on every seed of ``seeds`` (cells shared with the sweep are
    reused). Returns ``(sweep rows, best rows with variant = family and setting = its name,
    {family: setting}, the sweep's table)``."""
    table = table or image_variants()
    # longest runs first (DivCo's extra passes, then MSGAN's doubled batch): the 2 workers
    # finish together; rows keep the table's order
    cost = {"divco": 0, "mode_seeking": 1, "none": 2}
    by_cost = dict(sorted(table.items(), key=lambda kv: cost.get(family(kv[0]), 3)))
    sweep = run_images(sweep_seeds, out, profile, workers, threads, table=by_cost, **kw)
    sweep.sort(key=lambda r: list(table).index(r["variant"]))
    key = sweep[0]["fid_name"] if select == "fid" else select
    best, sweep_table = best_settings(sweep, key)
    chosen = {v: by_cost[v] for v in by_cost if v in best.values()}
    rows = run_images(seeds, out, profile, workers, threads, table=chosen, **kw)
    return sweep, [{**r, "variant": family(r["variant"]), "setting": r["variant"]}
                   for r in rows], best, sweep_table


def load_methods(rows: list[dict[str, Any]], out: str | Path, seed: int) -> dict[str, Any]:
    """``{variant: trained method}`` of the runs of ``seed`` (loaded from their checkpoints)."""
    return {r["variant"]: load_run(Path(out) / r["run"]).method for r in rows if r["seed"] == seed}


# ----------------------------------------------------------------------------- the paper's numbers
# Table 3 (Sec. 4.4), CIFAR-10, 10 runs, per class: NDB and JSD (mean of the 10 runs). Two DCGAN
# NDB cells (cat, deer) did not survive the text extraction, so its NDB mean is over 8 classes.
T3 = {
    "ndb": {"none": [17.90, 18.40, 13.80, None, None, 14.50, 24.00, 24.60, 18.50, 15.90],
            "mode_seeking": [17.40, 17.10, 14.10, 16.50, 20.70, 11.20, 22.30, 22.90, 16.40, 15.00],
            "divco": [16.30, 16.90, 12.80, 10.70, 14.60, 11.00, 20.20, 20.90, 16.30, 14.60]},
    "jsd": {"none": [.0098, .0125, .0082, .0086, .0069, .0088, .0150, .0171, .0112, .0088],
            "mode_seeking": [.0095, .0121, .0083, .0154, .0072, .0072, .0134, .0154, .0096, .0084],
            "divco": [.0091, .0119, .0076, .0059, .0058, .0058, .0124, .0126, .0085, .0078]},
}
T4_FID = {"none": (28.34, 0.12), "mode_seeking": (27.09, 0.14), "divco": (25.21, 0.20)}
T3_SOURCE = "Table 3 (Sec. 4.4): CIFAR-10, k = 50 bins, 10 runs"
T4_SOURCE = "Table 4 (Sec. 4.4): CIFAR-10, Inception FID, 10 runs (another scale than ours)"
FIG1_SOURCE = "Fig. 1 (Sec. 1): 2-D toy, qualitative (no numbers published)"


def paper_mean(values: list[float | None]) -> float:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals)


def paper_metrics(fid_key: str) -> dict[str, dict[str, Any]]:
    """The paper's values keyed like our summary metrics (``images_<reg>_<metric>``)."""
    out: dict[str, dict[str, Any]] = {}
    for reg in IMG_REGS:
        for m in ("ndb", "jsd"):
            n = sum(v is not None for v in T3[m][reg])
            out[f"images_{reg}_{m}_mean"] = Reference(
                round(paper_mean(T3[m][reg]), 5), f"{T3_SOURCE}; mean of {n} per-class values"
            ).to_dict()
        v, s = T4_FID[reg]
        out[f"images_{reg}_{fid_key}"] = Reference(v, T4_SOURCE, std=s, n=10).to_dict()
    return out


# ----------------------------------------------------------------------------- claims
TOY_WHY = ("our toy's sizes, networks and steps are our own (the paper publishes none) and a "
           "CPU run is short: its modes are not as sharp as a converged GAN's")
IMG_WHY = ("digits instead of CIFAR-10, a width-16 DCGAN for a few hundred steps, few seeds, "
           "10 NDB bins and an FID on a digits classifier: far from the paper's converged runs")


# ours, not the paper's: a covered mode shrunk to a point (collapse *within* a mode) or smeared
# along the ring is what mode coverage and the high-quality share cannot see; the claim is
# that DivCo's modes are nearer the real width (width_error = |mode_width - 1|)
WIDTH_TEXT = ("toy: DivCo's modes are nearer the real modes' width than the plain GAN's "
              "(|mode width - 1|, ours)")
WIDTH_REF = Reference("unbiased distribution (qualitative; no width measured)", FIG1_SOURCE)


def toy_specs(n_modes: int, width: bool = True) -> list[Spec]:
    """Fig. 1's statements about the four regularisers (each at its tuned lambda), variants
    keyed by regulariser; ``width``: with our mode-width claim."""
    fig = FIG1_SOURCE
    specs = [
        Spec("design: the plain GAN's samples sit on modes (>= 90 % within 3 std)", "on_mode",
             "none", 0.9, ">=", ("none",), Reference("sharp modes (qualitative)", fig)),
        Spec("Fig. 1(d): DivCo covers every mode of both classes", "modes_covered", "divco",
             float(n_modes), ">=", ("DivCo modes",), Reference(f"all {n_modes} (qualitative)", fig)),
        Spec("DivCo covers more modes than the plain GAN (fixes mode dropping)", "modes_covered",
             "divco", "none", ">", ("DivCo", "none"),
             Reference("DivCo alleviates mode collapse (Sec. 1)", fig)),
        Spec("Fig. 1(b): latent regression covers fewer modes than DivCo", "modes_covered",
             "regression", "divco", "<", ("regression", "DivCo"),
             Reference("fewer modes (qualitative)", fig)),
        Spec("Fig. 1(c): mode seeking puts more mass on the other class's modes than DivCo",
             "wrong_mass", "mode_seeking", "divco", ">", ("mode seeking", "DivCo"),
             Reference("ignores the class (qualitative)", fig)),
        Spec("toy: DivCo has the largest share of high-quality samples of the four",
             "high_quality", "divco", TOY_REGS, ">",
             paper=Reference("unbiased distribution (qualitative)", fig)),
    ]
    if width:
        specs.append(Spec(WIDTH_TEXT, "width_error", "divco", "none", "<", ("DivCo", "none"),
                          WIDTH_REF))
    return specs


def toy_claims(table: dict[str, dict[str, Stat]], n_modes: int) -> list[Claim]:
    """:func:`toy_specs` from the per-seed toy metrics' aggregate (Welch); ``table`` is keyed
    by regulariser (each at its tuned lambda)."""
    width = all("width_error" in table[r] for r in ("divco", "none"))
    specs = toy_specs(n_modes, width)
    specs[5] = Spec(specs[5].text, specs[5].metric, "divco", tuple(table), ">",
                    paper=specs[5].paper)  # the table's own order in the evidence
    return welch_claims(specs, table, TOY_WHY)


def toy_claims_decided(rows: list[dict[str, Any]], n_modes: int) -> list[Claim]:
    """Fig. 1's statements once each, with the Welch and the paired test (seed s starts all
    four regularisers from the same G and D): :func:`decide` on :func:`toy_specs`."""
    return decide(toy_specs(n_modes), rows, by="reg", why=TOY_WHY)


def image_specs(fid_key: str) -> list[Spec]:
    """Tables 3-4's statements, variants named as the paper (DCGAN = none, MSGAN =
    mode_seeking, DivCo = divco)."""
    ndb = {r: round(paper_mean(T3["ndb"][r]), 2) for r in IMG_REGS}
    jsd = {r: round(paper_mean(T3["jsd"][r]), 4) for r in IMG_REGS}
    fid = {r: T4_FID[r][0] for r in IMG_REGS}
    names = tuple(NAMES[r] for r in IMG_REGS)

    def ref(vals: dict[str, float], source: str) -> Reference:
        return Reference(", ".join(f"{NAMES[r]} {v:g}" for r, v in vals.items()), source)

    return [
        Spec("Table 3: DivCo has a lower mean NDB than DCGAN", "ndb_mean", "DivCo", "DCGAN", "<",
             ("DivCo", "DCGAN"), ref(ndb, T3_SOURCE)),
        Spec("Table 3: DivCo has a lower mean JSD than DCGAN and MSGAN", "jsd_mean", "DivCo",
             names, "<", paper=ref(jsd, T3_SOURCE)),
        Spec(f"Table 4: DivCo has the lowest FID of the three ({fid_key})", fid_key, "DivCo",
             names, "<", paper=ref(fid, T4_SOURCE)),
    ]


def image_claims(table: dict[str, dict[str, Stat]], fid_key: str) -> list[Claim]:
    """:func:`image_specs` from the aggregate over seeds (Welch)."""
    t = {NAMES[r]: v for r, v in table.items()}
    specs = [Spec(sp.text, sp.metric, sp.a, tuple(t), sp.op, paper=sp.paper)
             if isinstance(sp.b, tuple) else sp for sp in image_specs(fid_key)]
    return welch_claims(specs, t, IMG_WHY)  # "best" rows in the table's own order


def image_claims_decided(rows: list[dict[str, Any]], fid_key: str) -> list[Claim]:
    """Tables 3-4's statements once each, with the Welch and the paired test (seed s of DCGAN,
    MSGAN and DivCo starts from the same weights and data order)."""
    named = [{**r, "variant": NAMES.get(r["variant"], r["variant"])} for r in rows]
    return decide(image_specs(fid_key), named, why=IMG_WHY)


# ----------------------------------------------------------------------------- figures
def plot_fig1(methods: dict[str, Any], n: int = 1500):
    """Fig. 1 layout: column 0 the real mixtures, then one column per regulariser (``methods``:
    name -> trained DivCoToy); one row per class. Generated points are coloured by the angle of
    their code z (z in R^2; a 2-D code is a colour wheel), so a reader sees which codes go to
    which mode: a collapsed region is one colour on many modes or many colours on one mode.
    The class's own positions are black crosses, the other class's private ones red."""
    import matplotlib.pyplot as plt
    import torch

    from ..methods.divco_toy import LAYOUTS, PRIVATE, sample_real

    n_cls = len(LAYOUTS)
    fig, axes = plt.subplots(n_cls, len(methods) + 1, figsize=(2.6 * (len(methods) + 1), 2.6 * n_cls),
                             sharex=True, sharey=True, squeeze=False)
    g = torch.Generator().manual_seed(0)
    for c in range(n_cls):
        real = sample_real(torch.full((n,), c), generator=g)
        axes[c, 0].scatter(real[:, 0], real[:, 1], s=2, alpha=0.4, color="0.3")
        axes[c, 0].set_title("real" if c == 0 else "")
        for j, (title, m) in enumerate(methods.items(), 1):
            z = torch.randn(n, m.cfg.z_dim, generator=torch.Generator().manual_seed(123 + c))
            pts, hue = m.sample(c, n, z=z), (torch.atan2(z[:, 1], z[:, 0]) / (2 * torch.pi)) % 1
            axes[c, j].scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.5, c=hue, cmap="hsv", vmin=0, vmax=1)
            if c == 0:
                axes[c, j].set_title(title.replace("_", " "), fontsize=9)
        for ax in axes[c]:
            ax.scatter(LAYOUTS[c][:, 0], LAYOUTS[c][:, 1], marker="x", s=18, color="k", linewidths=1)
            ax.scatter(PRIVATE[1 - c][:, 0], PRIVATE[1 - c][:, 1], marker="x", s=18,
                       color="tab:red", linewidths=1)
            ax.set(xlim=(-2.8, 2.8), ylim=(-2.8, 2.8), aspect="equal", xticks=[], yticks=[])
        axes[c, 0].set_ylabel(f"class {c}")
    fig.tight_layout()
    return fig


__all__ = ["FID_N", "IMG_REGS", "NAMES", "NDB", "T3", "T4_FID", "TOY_KEYS", "TOY_LAMBDAS",
           "TOY_REGS", "best_lambdas", "best_settings", "family", "fig1_members", "image_cell",
           "image_claims_decided", "image_specs", "image_variants", "run_image_sweep", "image_claims", "load_methods",
           "paper_mean", "paper_metrics", "plot_fig1", "run_fig1", "run_fig1_tuned", "run_images", "toy_claims",
           "toy_claims_decided", "toy_specs", "toy_members_cell", "toy_score", "toy_variant", "variants"]
