"""experiments.daf: the Table II grid (stage 1 shared per seed, stage 2 initialised from it),
claims against Table II, Fig. 6 / Fig. 7 helpers. Small: smoke-size runs, one seed."""

from __future__ import annotations

import matplotlib
import pytest
import torch
import yaml

from ci_inpaint.experiments import daf as exp
from ci_inpaint.experiments.claims import FAILS, HOLDS, INCONCLUSIVE, welch_claims
from ci_inpaint.experiments.stats import summarize

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("daf")
    rows = exp.run_table2([3], out, "smoke", fid=False, progress="off")
    return out, rows


def test_grid_rows_order_and_stage1_init(grid):
    out, rows = grid
    assert [r["variant"] for r in rows] == list(exp.ORDER)
    assert all(r["steps"] == 4 and {"l1", "psnr", "ssim", "ring_l1", "ring_grad"} <= set(r)
               for r in rows)
    assert all(r["n"] == exp.EVAL_N["smoke"] for r in rows)
    s1 = exp.stage1_dir(out, 3)
    for r in rows:
        cfg = yaml.safe_load((out / "table2" / r["run"] / "config.yaml").read_text())
        assert cfg["init"] == (str(s1) if exp.CONTRASTIVE[r["variant"]] else "")
        assert cfg["daf"] is (r["variant"][3] == "1") and cfg["seed"] == 3
    # the contrastive rows start from stage 1's E_q encoder; the others do not
    enc = torch.load(s1 / "checkpoints" / "last.pt", weights_only=False)["modules"]["E_q"]
    assert (s1 / "cell.json").is_file() and int(
        torch.load(s1 / "checkpoints" / "last.pt", weights_only=False)["step"]) == 6
    assert any(k.startswith("encoder.") for k in enc)


def test_grid_resumes_without_training(grid, monkeypatch):
    out, rows = grid

    def boom(*a, **k):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(exp, "table2_cell", boom)
    monkeypatch.setattr(exp, "stage1_cell", boom)
    assert exp.run_table2([3], out, "smoke", fid=False, progress="off") == rows


def test_stage1_rows_and_curves(grid):
    out, _ = grid
    s1 = exp.run_stage1([3], out, "smoke", progress="off")
    h = s1[0]["history"]
    assert [x["step"] for x in h] == [3, 6] and s1[0]["chance"] == 1 / 16
    curves = exp.retrieval_curves(s1 + [{**s1[0], "history": [{**x, "top1": 1.0} for x in h]}])
    assert curves["top1"][6] == [h[1]["top1"], 1.0] and curves["chance"][3] == [1 / 16] * 2


def test_figures(grid):
    out, rows = grid
    methods = exp.load_methods(rows, out, 3)
    assert list(methods) == list(exp.ORDER)
    from ci_inpaint.methods.daf import fixed_views

    ims, mks, _ = fixed_views("photos", 32, 3, split="test")
    panels, alphas = exp.multiscale_outputs(methods["c1d1"], ims[0], mks[0])
    p = methods["c1d1"].cfg.p_layers
    assert [t for t, _ in panels][:2] == ["input", "composite"] and len(panels) == 2 + p
    assert [im.shape[-1] for _, im in panels[2:]] == [32 // 2**k for k in range(p)]  # outer first
    assert all(a is not None and 0 <= a.min() and a.max() <= 1 for a in alphas)
    assert all(a is None for a in exp.multiscale_outputs(methods["c0d0"], ims[0], mks[0])[1])
    fig = exp.plot_variants(methods, ims, mks, n=2)
    assert len(fig.axes) == 2 * 7  # input, biharmonic, 4 variants, ground truth
    assert fig.axes[1].get_title().startswith("biharmonic") and "ring" in fig.axes[1].get_title()
    assert fig.axes[2].get_title().startswith(exp.NAMES["c0d0"]) and "ring" in fig.axes[2].get_title()
    assert len(exp.plot_multiscale(methods["c0d1"], ims[0], mks[0]).axes) == 2 * (2 + p) + 1  # + colorbar
    exp.plot_retrieval(exp.run_stage1([3], out, "smoke", progress="off"))
    import matplotlib.pyplot as plt

    plt.close("all")


def _table(shift):
    """Four variants x metrics, 3 seeds each; ``shift[v]`` moves a variant's values."""
    base = {"l1": 0.05, "psnr": 20.0, "ssim": 0.7, "fid_x": 50.0, "ring_l1": 0.1, "ring_grad": 0.05}
    sign = {"l1": -1, "psnr": 1, "ssim": 1, "fid_x": -1, "ring_l1": -1, "ring_grad": -1}
    scale = {"l1": 0.01, "psnr": 1.0, "ssim": 0.01, "fid_x": 5.0, "ring_l1": 0.01, "ring_grad": 0.01}
    return {v: {k: summarize([b + sign[k] * scale[k] * (shift[v] + e) for e in (-0.1, 0, 0.1)])
                for k, b in base.items()} for v in exp.ORDER}


def _welch(t, fid_key="fid_x"):
    """The module's Table II and Fig. 7 specs decided by Welch alone from an aggregate."""
    return welch_claims(exp.table2_specs(fid_key) + exp.boundary_specs(), t, exp.WHY)


def test_claims_verdicts_and_table_ii_references():
    t = _table({"c0d0": 0, "c1d0": 1, "c0d1": 1, "c1d1": 2})  # the paper's ordering
    claims = [c for c in _welch(t) if c.text.startswith("Table II")]
    assert len(claims) == 4 * 3 and all(c.verdict == HOLDS and c.why == "" for c in claims)
    assert all(c.paper.source == exp.T2_SOURCE for c in claims)
    assert "full (CL + DAF) 0.0178" in claims[0].paper.value  # Table II's L1 row, cited
    assert [c.verdict for c in _welch(t) if c.text.startswith("Fig. 7")] == [HOLDS, HOLDS]
    worse = _table({"c0d0": 2, "c1d0": 0, "c0d1": 2.05, "c1d1": 0})
    v = {c.text: c.verdict for c in _welch(worse)}
    assert v["Table II: contrastive pre-training alone improves l1 (<)"] == FAILS
    assert v["Table II: DAF alone improves l1 (<)"] == INCONCLUSIVE
    assert v["Table II: the full model has the lowest l1"] == FAILS
    assert all(c.why for c in _welch(worse) if c.verdict != HOLDS)
    no_fid = {k: {m: s for m, s in d.items() if m != "fid_x"} for k, d in t.items()}
    assert len(_welch(no_fid)) == 3 * 3 + 2  # smoke: no FID, no FID claims


def test_stage1_claim_and_paper_metrics():
    s1 = [{"variant": "moco", "seed": i, "top1": a, "top1_random": b}
          for i, (a, b) in enumerate(((0.7, 0.3), (0.75, 0.31), (0.72, 0.3)))]
    (claim,) = exp.stage1_claims(s1)
    assert claim.verdict == HOLDS and claim.text == exp.STAGE1.text
    assert set(claim.tests) == {"welch", "paired"}  # one encoder pair per seed: paired decides
    pm = exp.paper_metrics("fid_x")
    assert pm["c1d1_l1"]["value"] == 0.0178 and pm["c0d0_fid_x"]["value"] == 12.62
    assert len(pm) == 16 and all(r["source"] == exp.T2_SOURCE for r in pm.values())
    assert [r["variant"] for r in exp.paper_rows()] == [exp.NAMES[v] for v in exp.ORDER]


def test_paired_claims_remove_the_shared_seed_spread():
    """A seed effect shared by the four variants (0, 0.03, 0.06 of L1) hides the ordering from
    Welch's intervals; the matched-seed differences decide it."""
    order = {"c0d0": 0.010, "c1d0": 0.006, "c0d1": 0.007, "c1d1": 0.0}
    jitter = {0: 0.0, 1: 0.0004, 2: -0.0003}
    rows = [{"variant": v, "seed": s, "l1": 0.04 + 0.03 * s + d + jitter[s] * (i + 1),
             "ring_l1": 0.1 + 0.03 * s + d + jitter[s] * (i + 1), "note": "x", "flag": True}
            for i, (v, d) in enumerate(order.items()) for s in range(3)]
    welch = [c for c in _welch(_table_from(rows)) if c.text.startswith("Table II")]
    assert {c.verdict for c in welch if "l1" in c.text} == {INCONCLUSIVE}
    both = {c.text: c for c in exp.claims(rows, "fid_x")}  # Welch and paired; paired decides
    daf = "Table II: DAF alone improves l1 (<)"
    assert set(both) == {"Table II: the full model has the lowest l1",
                         "Table II: contrastive pre-training alone improves l1 (<)", daf,
                         "Fig. 7: the full model suppresses boundary artefacts (lowest ring "
                         "error, ring_l1)"}
    assert all(c.verdict == HOLDS and set(c.tests) == {"welch", "paired"} for c in both.values())
    assert "over 3 matched seeds" in both[daf].evidence
    assert both[daf].paper.source == exp.T2_SOURCE


def _table_from(rows):
    from ci_inpaint.experiments import aggregate

    return aggregate(rows, ["l1", "ring_l1"])


def test_a_retrained_stage1_is_never_a_reused_row(tmp_path):
    """A stage-1-only change (stage 1 retrained in the same folder): the Table II runs of the
    contrastive variants are trained again from the new checkpoint (their config, which names
    the folder only, is unchanged), the others are reloaded."""
    import json

    from ci_inpaint.data.download import hash_file

    variants = ("c0d0", "c1d0")
    rows = exp.run_table2([3], tmp_path, "smoke", fid=False, progress="off", variants=variants)
    s1 = exp.stage1_dir(tmp_path, 3)
    old = hash_file(s1 / "checkpoints" / "last.pt")
    again = exp.run_table2([3], tmp_path, "smoke", fid=False, progress="off", variants=variants,
                           stage1={"lr": 0.1})
    new = hash_file(s1 / "checkpoints" / "last.pt")
    src = json.loads((tmp_path / "table2" / again[1]["run"] / "sources.json").read_text())
    assert new != old and src == {"init": new}
    assert not (tmp_path / "table2" / again[0]["run"] / "sources.json").exists()
    assert again[0]["l1"] == rows[0]["l1"] and again[1]["l1"] != rows[1]["l1"]


def test_daf_references_and_gate():
    """The references are scored like the runs (hole L1 of the mean fill by hand), the ground
    truth is perfect, and the gate compares the plain network with the biharmonic fill."""
    from ci_inpaint.config import resolve_config
    from ci_inpaint.data.daf import fixed_views
    from ci_inpaint.evaluation.daf import REFERENCES, references
    from ci_inpaint.experiments import daf as exp
    from ci_inpaint.methods.daf import DAFConfig
    from ci_inpaint.metrics.references import hole_metrics, mean_fill

    cfg = resolve_config(DAFConfig, "smoke", {})
    refs = references(cfg, 8, fid=False)
    assert list(refs) == list(REFERENCES)
    images, masks, _ = fixed_views(cfg.dataset, cfg.resolution, 8, cfg.data_root, split="test")
    assert refs["mean fill"]["hole_l1"] == hole_metrics(mean_fill(images, masks), images, masks)["hole_l1"]
    assert refs["ground truth"]["hole_l1"] == 0 and refs["ground truth"]["ring_l1"] == 0
    assert refs[exp.CLASSICAL]["hole_l1"] < refs["mean fill"]["hole_l1"]
    rows = [{"variant": "c0d0", "seed": s, "hole_l1": 0.5 + 0.01 * s} for s in range(3)]
    got = exp.claims(rows, "fid_x", refs)
    assert len(got) == 1 and got[0].verdict == "does not hold"  # 0.5 vs the fill's < 0.5
