"""The study pages (report.write_pages) and the power columns of the report."""

import json

from ci_inpaint.toolchain.report import CLAIM_COLS, claim_rows, write_pages


def _summary(power=True):
    c = {"text": "MoNCE beats PatchNCE on FID", "verdict": "inconclusive",
         "evidence": "Welch ...; paired ...", "ours": "3.1 vs 3.3", "paper": None,
         "why_differs": "teaching scale"}
    if power:
        c["tests"] = {"welch": "Welch 95 % CI -0.2 [-1, 0.6]", "paired": "paired -0.2 [-0.5, 0.1]"}
        c["power"] = {"n": 8, "detectable": 0.3, "paper_gap": 1.5, "seeds_needed": 21}
    return {"notebook": "05_monce", "profile": "study", "metrics": {"fid": 3.1},
            "notes": {}, "paper": {}, "claims": [c]}


def test_claim_rows_show_power_and_old_summaries_still_render():
    row = claim_rows(_summary())[0]
    assert set(CLAIM_COLS) <= set(row)
    assert row["detectable effect"] == "0.3 (n = 8)" and row["seeds to decide"] == "21"
    assert row["paper's gap"] == "1.5" and row["test"].startswith("welch: Welch")
    old = claim_rows(_summary(power=False))[0]
    assert old["detectable effect"] == "" and old["test"] == "Welch ...; paired ..."


def test_write_pages_copies_figures_and_links_them_relatively(tmp_path):
    run = tmp_path / "run"
    (run / "05_monce").mkdir(parents=True)
    (run / "05_monce" / "q_sweep.png").write_bytes(b"\x89PNG fake")
    res = [{"name": "05_monce", "status": "ok", "runtime_s": 612.0, "peak_rss_mb": 900.0,
            "figures": ["05_monce/q_sweep.png"], "summary": _summary()}]
    (run / "results.json").write_text(json.dumps(res))
    dest = tmp_path / "docs" / "results"
    (page,) = write_pages(run, res, dest, "study")
    text = page.read_text()
    assert page == dest / "05_monce.md" and "](05_monce/q_sweep.png)" in text
    assert (dest / "05_monce" / "q_sweep.png").read_bytes() == b"\x89PNG fake"
    assert "| ❔ inconclusive | MoNCE beats PatchNCE on FID |" in text and "612 s" in text
    (run / "05_monce" / "q_sweep.png").unlink()  # a rerun without the figure drops the copy
    write_pages(run, [{**res[0], "figures": []}], dest, "study", commit="abc1234")
    assert not (dest / "05_monce" / "q_sweep.png").exists()
    assert "at commit abc1234;" in (dest / "05_monce.md").read_text()  # the run's, not HEAD
