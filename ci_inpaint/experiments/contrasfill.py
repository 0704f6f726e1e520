"""ContrasFill (Li et al., ECCV 2022): its tables, figures and claims on the experiment layer.

No training logic: cells train ``contrasfill`` variants through :meth:`Cell.train` and score them
with :func:`ci_inpaint.methods.contrasfill.evaluate_run`. The paper's numbers are on faces,
birds and cars at 256 px with Inception FID, LPIPS-Alex and CurricularFace / VGG KFFA; ours are
on the synthetic factor shapes at low resolution with in-project classifiers, so only the
*orderings* are compared, never the values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .claims import Claim, Reference, Spec, decide
from .grid import Cell, run_grid
from .stats import Stat

NAMES = {"contrasfill": "ContrasFill", "comod": "CoModGAN-like", "contrasfill1": "ContrasFill-1",
         "concat": "concat", "k-u": "k-u", "u-k": "u-k", "repredict": "repredict"}
TABLE1 = ("comod", "contrasfill1", "contrasfill")
TABLE3 = ("concat", "u-k", "k-u", "repredict", "contrasfill")
ALL = tuple(dict.fromkeys(TABLE1 + TABLE3))
# evaluation sizes per profile: inputs, samples per input, FID images
EVAL = {"smoke": (4, 3, 30), "quick": (16, 10, 160), "study": (16, 10, 160),
        "full": (1000, 10, 10_000)}

# Table 1 (Sec. 4.2): FID, LPIPS, KFFA per dataset
T1 = {"comod": {"face": (8.88, 0.045, 52.41), "bird": (11.35, 0.090, 52.45), "car": (6.59, 0.183, 44.34)},
      "contrasfill1": {"face": (8.40, 0.072, 74.71), "bird": (11.29, 0.151, 66.06),
                       "car": (6.24, 0.310, 63.09)},
      "contrasfill": {"face": (8.36, 0.075, 83.66), "bird": (11.97, 0.160, 74.58),
                      "car": (6.46, 0.327, 82.96)}}
# Table 2 (Sec. 4.3): KFFA with the known code varied (u fixed) and fixed (u varied)
T2 = {"contrasfill1": {"face": 67.40, "bird": 61.14, "car": 52.01},
      "comod": {"face": 56.00, "bird": 47.55, "car": 44.25},
      "contrasfill": {"face": 82.03, "bird": 75.20, "car": 83.71},
      "known_fixed": {"face": 26.15, "bird": 21.69, "car": 35.47}}
# Table 3 right (Sec. 4.4), faces: FID, LPIPS, KFFA
T3 = {"concat": (8.64, 0.048, 48.99), "u-k": (8.41, 0.052, 78.19), "k-u": (8.42, 0.056, 77.58),
      "repredict": (14.41, 0.120, 86.87), "contrasfill": (8.41, 0.075, 83.06)}
T1_SOURCE = "Table 1 (Sec. 4.2), face / bird / car, 256 px"
T2_SOURCE = "Table 2 (Sec. 4.3), face / bird / car"
T3_SOURCE = "Table 3 right (Sec. 4.4), faces"
WHY = ("synthetic shapes at 32 px, a few hundred steps, 3 seeds and in-project classifiers for "
       "FID / KFFA: far from the paper's converged 256 px runs")


def variants(names=ALL) -> dict[str, dict[str, str]]:
    return {v: {"variant": v} for v in names}


def cell_fn(cell: Cell) -> dict[str, Any]:
    """Train (or load) one variant x seed and evaluate it (``cell.options``: n_inputs,
    n_samples, fid_n)."""
    import time

    from ..methods.contrasfill import evaluate_run

    res = cell.train("contrasfill")
    method = res.method
    t0, o = time.perf_counter(), cell.options
    ev = evaluate_run(method, o["n_inputs"], o["n_samples"], o["fid_n"], seed=cell.seed)
    return {"steps": res.steps_done, "train_s": round(res.wall_s, 1),
            "eval_s": round(time.perf_counter() - t0, 1), **ev}


def run(seeds, out: str | Path, profile: str = "quick", names=ALL, workers: int = 1,
        threads: int = 1, **knobs: Any) -> list[dict[str, Any]]:
    """Every variant in ``names`` x seed into ``out/<variant>-s<seed>``; rows of metrics."""
    n_inputs, n_samples, fid_n = EVAL[profile]
    return run_grid(cell_fn, variants(names), seeds, out, profile=profile, knobs=knobs,
                    options={"n_inputs": n_inputs, "n_samples": n_samples, "fid_n": fid_n},
                    workers=workers, threads=threads, desc="ContrasFill grid")


def paper_metrics(fid_key: str) -> dict[str, dict[str, Any]]:
    """The paper's values keyed like our summary metrics (``<variant>_<metric>``), car column
    for Table 1 (the dataset whose known factor, shape, is closest to our object class)."""
    out: dict[str, dict[str, Any]] = {}
    for v, ds in T1.items():
        for i, m in enumerate((fid_key, "lpips", "kffa")):
            out[f"{v}_{m}"] = Reference(ds["car"][i], T1_SOURCE + ", car").to_dict()
    out["contrasfill_kffa_known_fixed"] = Reference(T2["known_fixed"]["car"],
                                                    T2_SOURCE + ", car").to_dict()
    return out


# ----------------------------------------------------------------------------- claims
def _ref(vals: dict[str, float], source: str) -> Reference:
    return Reference(", ".join(f"{NAMES.get(k, k)} {v:g}" for k, v in vals.items()), source)


def _spec(text: str, a: tuple[str, str], b: tuple[str, str], op: str, names, paper) -> Spec:
    """A spec from (variant, metric) sides: Table 2 and Fig. 6 compare two metrics of one run."""
    return Spec(text, a[1], a[0], b[0], op, names, paper,
                metric_b=b[1] if b[1] != a[1] else None)


def specs(fid_key: str) -> list[Spec]:
    """Tables 1-3's orderings and the disentanglement the paper's Fig. 6 shows."""
    car = T1_SOURCE + ", car"
    cf = "contrasfill"
    out = [
        _spec("Table 1: ContrasFill has a larger KFFA than CoModGAN", (cf, "kffa"),
              ("comod", "kffa"), ">", ("ContrasFill", "CoMod"),
              _ref({cf: 82.96, "comod": 44.34}, car)),
        _spec("Table 1: ContrasFill has a larger KFFA than ContrasFill-1", (cf, "kffa"),
              ("contrasfill1", "kffa"), ">", ("ContrasFill", "ContrasFill-1"),
              _ref({cf: 82.96, "contrasfill1": 63.09}, car)),
        _spec("Table 1: ContrasFill has a larger LPIPS diversity than CoModGAN", (cf, "lpips"),
              ("comod", "lpips"), ">", ("ContrasFill", "CoMod"),
              _ref({cf: 0.327, "comod": 0.183}, car)),
        _spec("Table 2: varying the known code changes the known factor more than varying the "
              "unknown one (KFFA known varied > known fixed)", (cf, "kffa_known_varied"),
              (cf, "kffa_known_fixed"), ">", ("varied", "fixed"),
              _ref({"varied": 83.71, "fixed": 35.47}, T2_SOURCE + ", car")),
        _spec("Fig. 6: the known code changes the class more often than the unknown code",
              (cf, "dis_known_label"), (cf, "dis_unknown_label"), ">", ("known", "unknown"),
              Reference("columns change the known factor (qualitative)", "Fig. 6")),
        _spec("Fig. 6: the unknown code changes the colour more often than the known code",
              (cf, "dis_unknown_colour"), (cf, "dis_known_colour"), ">", ("unknown", "known"),
              Reference("rows change colour / orientation (qualitative)", "Fig. 6, cars")),
    ]
    for v in ("concat", "u-k", "k-u"):
        out.append(_spec(f"Table 3 right: bi-modulation has a larger LPIPS than {v}",
                         (cf, "lpips"), (v, "lpips"), ">", ("bimod", v),
                         _ref({cf: T3[cf][1], v: T3[v][1]}, T3_SOURCE)))
    out += [
        _spec("Table 3 right: bi-modulation has a larger KFFA than concat", (cf, "kffa"),
              ("concat", "kffa"), ">", ("bimod", "concat"),
              _ref({cf: 83.06, "concat": 48.99}, T3_SOURCE)),
        _spec(f"Table 3 right: reprediction has a worse FID than the contrastive loss "
              f"({fid_key})", ("repredict", fid_key), (cf, fid_key), ">",
              ("repredict", "contrastive"), _ref({"repredict": 14.41, cf: 8.41}, T3_SOURCE)),
    ]
    return out


def claims(rows: list[dict[str, Any]], fid_key: str) -> list[Claim]:
    """Every claim of :func:`specs` once, with the Welch and the paired test (:func:`decide`):
    seed s fixes the data order and the evaluation inputs of every variant, and the two sides of
    a Table 2 or Fig. 6 claim are measured on the same model of a seed. Claims of variants or
    metrics that did not run are left out."""
    return decide(specs(fid_key), rows, why=WHY)


decided_claims = claims  # the name the decide-based claims had first


# ----------------------------------------------------------------------------- figures
def table_rows(t: dict[str, dict[str, Stat]], names, keys, labels, paper: dict | None = None):
    """Markdown rows: one per variant, ``mean ± std [95 % CI]`` per key, the paper's values."""
    rows = []
    for v in names:
        if v not in t:
            continue
        row = {"variant": NAMES[v]}
        for k in keys:
            row[labels.get(k, k)] = t[v][k].format(3) if k in t[v] else "-"
        if paper and v in paper:
            row["paper"] = paper[v]
        rows.append(row)
    return rows


def plot_grid(method, context: dict[str, torch.Tensor], n_known: int = 6, n_unknown: int = 5,
              seed: int = 0, predictor=None, class_names=None):
    """Fig. 6: known code fixed per column, unknown per row, on one context; the factor
    predictor's class and colour under each cell when ``predictor`` is given."""
    import matplotlib.pyplot as plt

    from ..widgets import latent_grid, to_image

    g = torch.Generator().manual_seed(seed)
    cfg = method.cfg
    ids = torch.randperm(cfg.num_classes, generator=g)[:n_known] if cfg.known_code == "onehot" \
        else n_known
    k = method.known_codes(ids, g)
    u = method.unknown_codes(n_unknown, g)
    grid = latent_grid(method, context, k, u)
    fig, ax = plt.subplots(figsize=(1.3 * n_known + 1, 1.3 * n_unknown + 1))
    ax.imshow(to_image(grid))
    ax.set(xticks=[], yticks=[], xlabel="known code (one per column)",
           ylabel="unknown code (one per row)")
    if predictor is not None:
        with torch.no_grad():
            lg = predictor.logits(grid.flatten(0, 1))
        cls, col = lg["label"].argmax(1).view(n_unknown, n_known), lg["colour"].argmax(1)
        h = grid.shape[-1] + 2
        for r in range(n_unknown):
            for c in range(n_known):
                name = class_names[cls[r, c]] if class_names else int(cls[r, c])
                ax.text(c * h + h / 2, r * h + h - 3, f"{name}/{int(col.view(n_unknown, -1)[r, c])}",
                        ha="center", va="bottom", fontsize=6, color="w",
                        bbox={"facecolor": "k", "alpha": 0.5, "pad": 0.5, "lw": 0})
    fig.tight_layout()
    return fig


def plot_pairs(k_ids, u_ids, anchor: int = 0):
    """The code grid with each pair type of one anchor coloured, for both spaces."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from ..losses.contrasfill import PAIR_NAMES, pair_types

    n_k, n_u = int(k_ids.max()) + 1, int(u_ids.max()) + 1
    colours = ["0.9", "k", "tab:green", "tab:red", "tab:orange"]  # none, self, pos, hard, easy
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, space in zip(axes, ("known", "unknown")):
        t = pair_types(k_ids, u_ids, space)[anchor]
        img = torch.full((n_k, n_u), -1)
        img[k_ids, u_ids] = t
        ax.imshow(img + 1, cmap=ListedColormap(colours), vmin=0, vmax=4)
        ax.set(title=f"{space} space, anchor (k{int(k_ids[anchor])}, u{int(u_ids[anchor])})",
               xlabel="unknown code u_j", ylabel="known code k_i",
               xticks=range(n_u), yticks=range(n_k))
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[c + 1]) for c in PAIR_NAMES]
    fig.legend(handles, list(PAIR_NAMES.values()), loc="lower center", ncol=4)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_disentanglement(t: dict[str, dict[str, Stat]], names):
    """Rows = code varied (per variant), columns = factor, cell = change rate (mean over seeds)."""
    import matplotlib.pyplot as plt

    from ..methods.contrasfill import FACTORS

    rows, labels = [], []
    for v in names:
        for code in ("known", "unknown", "z"):
            if v in t and f"dis_{code}_label" in t[v]:
                rows.append([t[v][f"dis_{code}_{f}"].mean for f in FACTORS])
                labels.append(f"{NAMES[v]}: {code}")
    fig, ax = plt.subplots(figsize=(5.5, 0.45 * len(rows) + 1.2))
    im = ax.imshow(rows, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i, r in enumerate(rows):
        for j, val in enumerate(r):
            ax.text(j, i, f"{val:.2f}", ha="center", va="center",
                    color="w" if val < 0.6 else "k", fontsize=8)
    ax.set(xticks=range(len(FACTORS)), xticklabels=FACTORS, yticks=range(len(rows)),
           yticklabels=labels, title="share of sample pairs whose factor changes")
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig, rows, labels


__all__ = ["ALL", "EVAL", "NAMES", "T1", "T2", "T3", "TABLE1", "TABLE3", "cell_fn", "claims", "decided_claims", "specs",
           "paper_metrics", "plot_disentanglement", "plot_grid", "plot_pairs", "run",
           "table_rows", "variants"]
