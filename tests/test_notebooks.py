"""Notebook toolchain: jupytext pairs in sync, parameters cells, papermill runs and the report.

The notebooks themselves are executed by nbval in `make test` (smoke profile); here we check
the committed pairs and run the runner on tiny notebooks built in tmp_path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from ci_inpaint import notebooks as nbs
from ci_inpaint.errors import ConfigError, UserError
from ci_inpaint.experiments import Reference, fact
from ci_inpaint.toolchain import pairs, runner
from ci_inpaint.toolchain.report import claim_rows, metric_rows, render_html, render_markdown

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))

PARAMS = '''# %% tags=["parameters"]
import os

profile = os.environ.get("CI_INPAINT_PROFILE", "quick")
device = "auto"
seed = 0
out_dir = ""
data_root = ""
'''


CHECK = '# %%\nfrom ci_inpaint.notebooks import check_parameters\ncheck_parameters(globals(), "{name}")\n\n'


def make_pair(directory: Path, name: str, body: str, execute_outputs: bool = True) -> Path:
    """Write NAME.py (py:percent) and its .ipynb; fake an output so 'has outputs' holds."""
    py = directory / f"{name}.py"
    py.write_text("# %% [markdown]\n# # Title\n\n" + PARAMS + "\n" + CHECK.format(name=name) + body)
    nb = pairs.normalise(jupytext.read(py))
    if execute_outputs:
        code = [c for c in nb.cells if c.cell_type == "code"][-1]
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nbformat.write(nb, py.with_suffix(".ipynb"))
    return py


# ---------------------------------------------------------------------- the committed notebooks


def test_there_are_notebooks():
    assert SOURCES, "notebooks/*.py missing"
    assert (ROOT / "notebooks" / "00_start.py") in SOURCES


@pytest.mark.parametrize("py", SOURCES, ids=[p.stem for p in SOURCES])
def test_committed_pair_is_in_sync_with_outputs_and_parameters(py):
    assert pairs.pair_problems(py) == []


def test_every_ipynb_has_a_py_source():
    for ipynb in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        assert ipynb.with_suffix(".py").is_file(), f"{ipynb.name} has no .py source"


def test_nbval_sanitizer_rounds_floats_to_4_decimals_and_masks_addresses():
    import configparser
    import re

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "notebooks" / "nbval_sanitize.cfg")
    text = "loss 0.123456789 vs 0.12345 at <object at 0x7f3a2b> step 3"
    for section in cfg.sections():
        text = re.sub(cfg[section]["regex"], cfg[section]["replace"], text)
    assert text == "loss 0.1234 vs 0.1234 at <object at 0xADDRESS> step 3"


def test_check_output_cells_need_committed_outputs(tmp_path):
    py = make_pair(tmp_path, "01_demo", "# %%\n# NBVAL_CHECK_OUTPUT\nprint(1)\n\n# %%\nx = 2\n")
    assert any("NBVAL_CHECK_OUTPUT cells [3]" in p for p in pairs.pair_problems(py))


def test_jupytext_config_pairs_ipynb_with_percent_and_keeps_tags():
    text = (ROOT / "notebooks" / "jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in text
    assert "tags" in text


# ---------------------------------------------------------------------- pair checks can fail


def test_pair_problems_detects_drift_missing_outputs_and_parameters(tmp_path):
    py = make_pair(tmp_path, "01_demo", "# %%\nprint('hi')\n")
    assert pairs.pair_problems(py) == []

    py.write_text(py.read_text().replace("print('hi')", "print('changed')"))
    assert any("out of sync" in p for p in pairs.pair_problems(py))

    py = make_pair(tmp_path, "02_demo", "# %%\nprint('hi')\n", execute_outputs=False)
    assert any("no outputs" in p for p in pairs.pair_problems(py))

    py = tmp_path / "03_demo.py"
    py.write_text('# %% tags=["parameters"]\nprofile = "quick"\nseed = 0\n\n# %%\nx = 1\n')
    nb = pairs.normalise(jupytext.read(py))
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nbformat.write(nb, py.with_suffix(".ipynb"))
    problems = " ".join(pairs.pair_problems(py))
    assert "lacks data_root, device, out_dir" in problems
    assert "CI_INPAINT_PROFILE" in problems

    py.write_text("# %%\nx = 1\n")
    nb = pairs.normalise(jupytext.read(py))
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nbformat.write(nb, py.with_suffix(".ipynb"))
    assert any("0 cells tagged 'parameters'" in p for p in pairs.pair_problems(py))


def test_pair_problems_rejects_kernel_metadata(tmp_path):
    py = make_pair(tmp_path, "01_demo", "# %%\nprint('hi')\n")
    ipynb = py.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["kernelspec"]["name"] = "my-conda-env"
    nb.metadata["language_info"]["version"] = "3.11.7"
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2024"}
    nbformat.write(nb, ipynb)
    problems = " ".join(pairs.pair_problems(py))
    assert "kernelspec name" in problems and "language_info" in problems
    assert "metadata other than tags" in problems
    # normalise() repairs all three and keeps the parameters tag
    nbformat.write(pairs.normalise(nbformat.read(ipynb, as_version=4)), ipynb)
    assert pairs.pair_problems(py) == []


def test_sync_keeps_outputs_of_unchanged_cells_and_tags(tmp_path):
    py = make_pair(tmp_path, "01_demo", "# %%\nprint('hi')\n\n# %%\ny = 2\n")
    ipynb = py.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nbformat.write(nb, ipynb)
    py.write_text(py.read_text().replace("y = 2", "y = 3"))
    assert pairs.sync(tmp_path) == [ipynb]
    nb = nbformat.read(ipynb, as_version=4)
    assert [c.source for c in nb.cells][-1] == "y = 3"
    assert nb.cells[3].outputs[0]["text"] == "hi\n"  # unchanged cell keeps its output
    assert nb.cells[1].metadata == {"tags": ["parameters"]}
    assert pairs.pair_problems(py) == []
    assert pairs.sync(tmp_path) == []  # second sync: nothing to do


# ---------------------------------------------------------------------- helpers


def test_assigned_names():
    src = "import os\na = 1\nb: int = 2\nc, d = 3, 4\ne += 1\nf = g = 5\n"
    assert pairs.assigned_names(src) == {"a", "b", "e", "f", "g"}


def test_write_summary_schema(tmp_path):
    import numpy as np

    claim = fact("fid < 2", bool(np.bool_(True)), ours="1.5",
                 paper=Reference(2.0, "Table 1", std=0.1), why="")
    path = nbs.write_summary(tmp_path, "01_demo", {"fid": np.float32(1.5), "n": 3},
                             paper={"fid": {"value": 2.0, "source": "Table 1"}},
                             claims=[claim, {"text": "n = 3", "verdict": "inconclusive"}],
                             profile="smoke", notes={"fid": "n = 60 generated"})
    data = json.loads(path.read_text())
    assert data == {"notebook": "01_demo", "profile": "smoke", "metrics": {"fid": 1.5, "n": 3},
                    "notes": {"fid": "n = 60 generated"},
                    "paper": {"fid": {"value": 2.0, "source": "Table 1"}},
                    "claims": [{"text": "fid < 2", "verdict": "holds", "evidence": "deterministic check",
                                "ours": "1.5", "paper": {"value": 2.0, "source": "Table 1", "std": 0.1},
                                "why_differs": ""},
                               {"text": "n = 3", "verdict": "inconclusive", "evidence": "", "ours": "",
                                "paper": None, "why_differs": ""}]}
    with pytest.raises(ValueError, match="verdict"):
        nbs.write_summary(tmp_path, "x", {}, claims=[{"text": "old", "holds": True}])
    with pytest.raises(ValueError, match="paper"):
        nbs.write_summary(tmp_path, "x", {}, paper={"fid": 2.0})
    with pytest.raises(ValueError, match="metrics"):
        nbs.validate_summary({"notebook": "x", "metrics": [1]})


def test_markdown_table():
    table = nbs.markdown_table([{"a": 1, "b": True}, {"a": 0.123456, "c": "x|y"}])
    assert table.splitlines() == ["| a | b | c |", "|---|---|---|", "| 1 | yes |  |",
                                  "| 0.1235 |  | x\\|y |"]


def test_report_puts_metrics_beside_paper_and_shows_failures():
    summary = {"notebook": "01_demo", "metrics": {"fid": 3.0, "ndb": 2},
               "notes": {"fid": "n = 60 generated vs 60 real"},
               "paper": {"fid": {"value": 2.5, "source": "Table 2", "std": 0.1, "n": 10},
                         "lpips": {"value": 0.3, "source": "Table 3"}},
               "claims": [fact("ndb small", True).to_dict(),
                          {"text": "x", "verdict": "does not hold", "evidence": "Welch",
                           "ours": "3", "paper": {"value": 2.5, "source": "Table 2"},
                           "why_differs": "fewer steps"},
                          {"text": "y", "verdict": "inconclusive"}]}
    assert metric_rows(summary) == [
        {"metric": "fid", "this run": "3", "note": "n = 60 generated vs 60 real",
         "paper": "2.5 ± 0.1 (n = 10)", "source": "Table 2"},
        {"metric": "ndb", "this run": "2", "note": "", "paper": "", "source": ""},
        {"metric": "lpips", "this run": "", "note": "", "paper": "0.3", "source": "Table 3"},
    ]
    assert claim_rows(summary)[1] == {"verdict": "❌ does not hold", "claim": "x", "ours": "3",
                                      "paper": "2.5", "source": "Table 2", "test": "Welch",
                                      "detectable effect": "", "paper's gap": "",
                                      "seeds to decide": "", "why ours differs": "fewer steps"}
    results = [
        runner.NotebookResult("01_demo", runtime_s=12.3, peak_rss_mb=456.0, notebook="01_demo.ipynb",
                           figures=["01_demo/grid.png"], summary=summary),
        runner.NotebookResult("02_bad", status="failed", error="ValueError: boom",
                           notebook="02_bad.ipynb"),
    ]
    md = render_markdown(results, "quick")
    assert ("| 01_demo | ok | 12.3 | 456 | 1 hold · 1 inconclusive · 1 do not hold | "
            "[01_demo.ipynb](01_demo.ipynb) |") in md
    assert "| fid | 3 | n = 60 generated vs 60 real | 2.5 ± 0.1 (n = 10) | Table 2 |" in md
    assert "| ❔ inconclusive | y |" in md and "| ❌ does not hold | x | 3 | 2.5 |" in md
    assert "**failed**: `ValueError: boom`" in md
    assert "![grid.png](01_demo/grid.png)" in md
    assert "1 of 2 notebooks ran to the end" in md
    page = render_html(results, "quick")
    assert '<img src="01_demo/grid.png"' in page and "ValueError: boom" in page
    assert "❔ inconclusive" in page and "fewer steps" in page


# ---------------------------------------------------------------------- running with papermill


GOOD = '''# %%
import json, os, struct, zlib
from ci_inpaint.notebooks import resolve_out_dir, write_summary
out = resolve_out_dir("01_good", out_dir, profile)
# a 1x1 PNG written by hand (no matplotlib start-up in the test)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\\x00\\x80")) + chunk(b"IEND", b"")
(out / "fig.png").write_bytes(png)
write_summary(out, "01_good", {"quiet": os.environ.get("CI_INPAINT_QUIET"), "seed": seed},
              paper={"seed": {"value": 7, "source": "Table 0"}},
              claims=[{"text": "profile injected",
                       "verdict": "holds" if profile == "smoke" else "does not hold"}],
              profile=profile)
'''
BAD = "# %%\nraise ValueError('boom at step 3')\n"
SLOW = "# %%\nimport time\ntime.sleep(60)\n"


@pytest.mark.slow
def test_run_notebooks_records_results_and_goes_on_after_a_failure(tmp_path, capfd):
    src = tmp_path / "nb"
    src.mkdir()
    make_pair(src, "01_good", GOOD)
    make_pair(src, "02_bad", BAD)
    run = tmp_path / "run"
    run_dir, results = runner.run_notebooks([], profile="smoke", out=run, directory=src,
                                         parameters={"seed": 7})
    assert run_dir == run
    good, bad = results
    assert (good.name, good.status, bad.status) == ("01_good", "ok", "failed")
    assert bad.error == "ValueError: boom at step 3"
    assert good.summary["metrics"] == {"quiet": "1", "seed": 7}
    assert good.summary["claims"][0]["verdict"] == "holds"
    assert good.figures == ["01_good/fig.png"]
    assert 0 < good.runtime_s < 60
    assert 20 < good.peak_rss_mb < 4000  # an ipykernel process, measured
    executed = nbformat.read(run / "01_good.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    md = (run / "index.md").read_text()
    assert "| seed | 7 |  | 7 | Table 0 |" in md and "ValueError: boom at step 3" in md
    # the kernels ran with CurveZMQ keys: ipykernel's plain-TCP warning never reached the output
    captured = capfd.readouterr()
    assert "without encryption" not in captured.out + captured.err
    assert "[01_good] ok" in captured.out
    assert (run / "index.html").is_file()
    assert [r["name"] for r in json.loads((run / "results.json").read_text())] == [
        "01_good", "02_bad"]


@pytest.mark.slow
def test_run_notebooks_stops_a_notebook_at_its_time_limit(tmp_path):
    make_pair(tmp_path, "01_slow", SLOW)
    _, (res,) = runner.run_notebooks(["slow"], profile="smoke", out=tmp_path / "run",
                                  timeout=4, directory=tmp_path)
    assert res.status == "timeout" and "limit of 4 s" in res.error
    assert res.runtime_s < 30


def test_run_notebooks_user_errors(tmp_path):
    make_pair(tmp_path, "01_demo", "# %%\nx = 1\n")
    with pytest.raises(UserError, match="unknown notebook 'nope'.*01_demo"):
        runner.run_notebooks(["nope"], directory=tmp_path, out=tmp_path / "r")
    with pytest.raises(ConfigError, match="unknown profile"):
        runner.run_notebooks([], profile="fast", directory=tmp_path)
    with pytest.raises(UserError, match="no notebooks"):
        runner.run_notebooks([], directory=tmp_path / "empty")


def test_time_limits_per_profile():
    assert runner.TIME_LIMITS == {"smoke": 120.0, "quick": 900.0, "study": 1800.0, "full": None}


# ---------------------------------------------------------------------- parameters are type-checked


def test_check_parameters_unit():
    src = ('import os\nprofile = os.environ.get("CI_INPAINT_PROFILE", "quick")\nn_seeds = 3\n'
           'tau = 1.0\nnormalize = True\nout_dir = ""\nanything = None\nderived = n_seeds * 2\n')
    defaults = nbs.parameter_defaults(src)
    assert defaults == {"profile": "quick", "n_seeds": 3, "tau": 1.0, "normalize": True,
                        "out_dir": "", "anything": None}  # non-literals are not checked
    ns = {"profile": "smoke", "n_seeds": 2, "tau": 2, "normalize": False, "out_dir": "x",
          "anything": [1], "derived": "?"}
    nbs.check_parameters(ns, "demo", defaults)
    assert ns["tau"] == 2.0 and isinstance(ns["tau"], float)  # -p tau 2 -> 2.0
    for key, bad, want in [("n_seeds", "abc", "int"), ("n_seeds", 1.5, "int"),
                           ("n_seeds", True, "int"), ("tau", "x", "float"),
                           ("normalize", 1, "bool"), ("out_dir", 5, "str")]:
        with pytest.raises(ConfigError) as err:
            nbs.check_parameters({**ns, key: bad}, "demo", defaults)
        msg = str(err.value)
        assert msg.startswith(f"parameter {key}: expected {want} (default ")
        assert f"got {bad!r}" in msg and "\n" not in msg


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["smoke", "quick"])
def test_papermill_rejects_a_badly_typed_parameter_in_01_divco(tmp_path, profile):
    _, (res,) = runner.run_notebooks(["01_divco"], profile=profile, out=tmp_path / profile,
                                     parameters={"n_seeds": "abc"})
    default = re.search(r"^n_seeds = (\d+)", (nbs.notebooks_dir() / "01_divco.py").read_text(),
                        re.M).group(1)  # the notebook's own default, whatever it is
    assert res.status == "failed"
    assert res.error == (f"ConfigError: parameter n_seeds: expected int (default {default}), got "
                         f"'abc' (str): pass e.g. -p n_seeds {default}")
    assert res.runtime_s < 120  # fails in the cell after the parameters, before any training


def test_every_notebook_checks_its_parameters_right_after_them():
    for py in SOURCES:
        nb = jupytext.read(py)
        i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nxt = nb.cells[i + 1].source
        assert ("Notebook.start(globals()" in nxt
                or f'check_parameters(globals(), "{py.stem}")' in nxt), py.name


def test_runtime_comes_from_timing_json_not_summary(tmp_path):
    """write_summary keeps wall_s out of summary.json (same file at every run of a commit);
    the runner reads it back from timing.json and the report shows it."""
    nbs.write_summary(tmp_path, "01_demo", {"fid": 3.0, "wall_s": 41.7}, profile="smoke")
    assert "wall_s" not in json.loads((tmp_path / "summary.json").read_text())["metrics"]
    timing = runner.read_timing(tmp_path)
    assert timing == {"wall_s": 41.7}
    assert runner.read_timing(tmp_path / "missing") is None
    res = runner.NotebookResult("01_demo", notebook="01_demo.ipynb", timing=timing,
                                summary=json.loads((tmp_path / "summary.json").read_text()))
    assert "Runtime: 42 s by the notebook's own clock." in render_markdown([res], "smoke")
    old = runner.NotebookResult("01_demo", notebook="01_demo.ipynb")  # no timing.json: no line
    assert "own clock" not in render_markdown([old], "smoke")


# ---------------------------------------------------------------------- the scaffold: nbs.Notebook


def _namespace(**kw):
    return {"profile": "smoke", "device": "auto", "seed": 0, "out_dir": "", "data_root": "", **kw}


@pytest.mark.parametrize("py", SOURCES, ids=[p.stem for p in SOURCES])
def test_scaffold_infers_the_name_of_every_committed_notebook(py, monkeypatch):
    """The kernel's ``In`` holds the parameters cell (papermill's injected cell after it);
    that cell names the notebook, from notebooks/ (the kernel's cwd) or from anywhere."""
    params = next(c.source for c in jupytext.read(py).cells
                  if "parameters" in c.metadata.get("tags", []))
    ns = {"In": ["", params, 'profile = "smoke"\nout_dir = "x"\n', "nb = ..."]}
    assert nbs.infer_name(ns) == py.stem
    monkeypatch.chdir(py.parent)
    assert nbs.infer_name(ns) == py.stem


def test_scaffold_infers_the_name_without_history_as_under_nbval(monkeypatch):
    """nbval runs cells with store_history=False (``In`` stays empty); IPython still caches
    each cell's source in linecache (no file time), which names the notebook."""
    import linecache

    py = ROOT / "notebooks" / "05_monce.py"
    params = next(c.source for c in jupytext.read(py).cells
                  if "parameters" in c.metadata.get("tags", []))
    monkeypatch.setitem(linecache.cache, "/tmp/ipykernel_1/123.py",
                        (len(params), None, (params + "\n").splitlines(True), "/tmp/ipykernel_1/123.py"))
    assert nbs.infer_name({"In": []}) == "05_monce"


def test_scaffold_name_from_a_path_hint_or_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in ("__session__", "__vsc_ipynb_file__", "__file__"):
        assert nbs.infer_name({key: "/any/where/03_scat.ipynb"}) == "03_scat"
    # an edited parameters cell that matches no saved notebook: the front end's path decides
    assert nbs.infer_name({"In": ["profile = 'edited'"], "__session__": "nb/04_daf.ipynb"}) \
        == "04_daf"
    for ns in ({}, {"In": ["x = 1"]}, {"__session__": "Untitled.ipynb"}):
        with pytest.raises(ConfigError) as err:
            nbs.infer_name(ns)
        msg = str(err.value)
        assert "\n" not in msg and 'name="NN_name"' in msg
    with pytest.raises(ConfigError, match="name="):
        nbs.Notebook.start(_namespace())
    # two saved notebooks with the same parameters cell (a copy): the path hint picks one
    make_pair(tmp_path, "01_demo", "# %%\nx = 1\n")
    make_pair(tmp_path, "02_copy", "# %%\nx = 1\n")
    ns = {"In": [PARAMS.split("\n", 1)[1]]}
    with pytest.raises(ConfigError):
        nbs.infer_name(ns)
    assert nbs.infer_name({**ns, "__session__": str(tmp_path / "02_copy.ipynb")}) == "02_copy"


def test_scaffold_checks_parameters_and_makes_the_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_pair(tmp_path, "01_demo", "# %%\nx = 1\n")
    ns = _namespace(In=[PARAMS.split("\n", 1)[1]], out_dir=str(tmp_path / "o" / "p"))
    nb = nbs.Notebook.start(ns)
    assert (nb.name, nb.profile, nb.out, nb.smoke, nb.study) == (
        "01_demo", "smoke", tmp_path / "o" / "p", True, False)
    assert nb.out.is_dir()
    with pytest.raises(ConfigError, match="parameter seed: expected int"):
        nbs.Notebook.start({**ns, "seed": "zero"})
    nb = nbs.Notebook.start(_namespace(profile="quick", out_dir=str(tmp_path / "q")),
                            name="01_demo")  # explicit name: no In needed
    assert (nb.name, nb.profile, nb.out) == ("01_demo", "quick", tmp_path / "q")


def test_scaffold_seeds_per_profile(tmp_path):
    d = {"profile": "quick", "seed": 0, "out_dir": ""}

    def seeds(profile, *args, **kw):
        ns = {"profile": profile, "seed": 5, "out_dir": str(tmp_path)}
        return nbs.Notebook.start(ns, name="01_demo", defaults=d).seeds(*args, **kw)

    assert seeds("quick", 3, study=8) == [5, 6, 7]
    assert seeds("smoke", 3, study=8) == [5]
    assert seeds("study", 3, study=8) == list(range(5, 13))
    assert seeds("study", 3) == [5, 6, 7]  # no study count given: n
    assert seeds("full", 2, study=8) == [5, 6]
    assert seeds("smoke", 3, smoke=2) == [5, 6]


def _demo_claims():
    from ci_inpaint.experiments import compare, summarize

    return [fact("a deterministic fact", True, ours="1"),
            compare("a < b", summarize([1.0, 1.1, 0.9]), summarize([2.0, 2.2, 1.9]), "<",
                    ("a", "b"), Reference("a 1, b 2", "Table 1"))]


def test_scaffold_summary_equals_write_summary(tmp_path, capsys):
    """finish() writes what write_summary writes for the same inputs, wall_s in timing.json,
    which the runner reads; and prints the tally."""
    import numpy as np

    from ci_inpaint.experiments import summarize

    d = {"profile": "quick", "seed": 0, "out_dir": ""}
    nb = nbs.Notebook.start({"profile": "smoke", "seed": 0, "out_dir": str(tmp_path / "nb")},
                            name="01_demo", defaults=d)
    st = summarize([1.0, 2.0, 3.0])
    assert nb.metric("fid_x", st, "n = 60 generated") == 2.0
    nb.metric("n_runs", 3)
    nb.metric("score", np.float32(0.5))
    nb.metric("label", "text")
    nb.metric("step_ms", 12.5, "per step")  # a clock: timing.json
    claims = _demo_claims()
    assert nb.claims(claims[:1]) == claims[:1]
    nb.claims(claims[1:])
    paper = {"fid_x": {"value": 7.3, "source": "Table 2"}}
    path = nb.finish(paper=paper, notes={"n_runs": "one per seed"})
    assert path == tmp_path / "nb" / "summary.json"
    out = capsys.readouterr().out
    assert "6 metrics; of 2 claims 2 hold, 0 are inconclusive, 0 do not hold" in out

    ref = nbs.write_summary(tmp_path / "ref", "01_demo",
                            {"fid_x": 2.0, "n_runs": 3, "score": np.float32(0.5), "label": "text",
                             "step_ms": 12.5, "wall_s": 0.0},
                            paper=paper, claims=claims, profile="smoke",
                            notes={"fid_x": f"{st.format()}; n = 60 generated",
                                   "step_ms": "per step", "n_runs": "one per seed"})
    assert json.loads(path.read_text()) == json.loads(ref.read_text())
    timing = runner.read_timing(path.parent)
    assert set(timing) == {"step_ms", "wall_s"} and timing["step_ms"] == 12.5
    assert 0 <= timing["wall_s"] < 60
    t = json.loads((path.parent / nbs.TIMING_FILE).read_text())
    assert (t["notebook"], t["profile"], t["notes"]) == ("01_demo", "smoke", {"step_ms": "per step"})


def test_scaffold_raises_one_line_on_a_non_finite_metric(tmp_path, capsys):
    import numpy as np

    d = {"profile": "quick", "seed": 0, "out_dir": ""}
    nb = nbs.Notebook.start({"profile": "smoke", "out_dir": str(tmp_path)}, name="01_demo",
                            defaults=d)
    nb.metric("ok", 1.0)
    nb.metric("fid", float("nan"))
    nb.metric("loss", np.float64("inf"))
    with pytest.raises(nbs.NonFiniteMetricError) as err:
        nb.finish()
    msg = str(err.value)
    assert msg.startswith("01_demo: metrics fid = nan, loss = inf not finite") and "\n" not in msg
    assert isinstance(err.value, ValueError)
    assert json.loads((tmp_path / "summary.json").read_text())["metrics"]["fid"] == "nan"
    assert "4 metrics; of 0 claims" in capsys.readouterr().out  # the tally still printed


def test_scaffold_saves_tables_and_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = {"profile": "quick", "out_dir": ""}
    nb = nbs.Notebook.start({"profile": "smoke", "out_dir": str(tmp_path)}, name="01_demo",
                            defaults=d)
    text = nb.table("results", [{"a": 1, "b": 0.123456}], show=False)
    assert text == nbs.markdown_table([{"a": 1, "b": 0.123456}])
    assert (tmp_path / "results.md").read_text() == text + "\n"
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert nb.figure(fig, "curve", show=False) == tmp_path / "curve.png"
    assert nb.figure(fig, "again.png", dpi=50, show=False) == tmp_path / "again.png"
    plt.close(fig)
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(nb.figures) == ["again", "curve"] and list(nb.tables) == ["results"]


SCAFFOLD = '''# %%
from ci_inpaint.experiments import fact
nb.metric("seed_seen", seed)
nb.claims([fact("profile injected", profile == "smoke")])
nb.finish(paper={"seed_seen": {"value": 7, "source": "Table 0"}})
'''


@pytest.mark.slow
def test_scaffold_under_papermill_infers_its_name_and_the_runner_reads_its_timing(tmp_path):
    src = tmp_path / "nb"
    src.mkdir()
    py = src / "01_scaffold.py"
    py.write_text("# %% [markdown]\n# # Title\n\n" + PARAMS + "\n# %%\n"
                  "from ci_inpaint.notebooks import Notebook\n\nnb = Notebook.start(globals())\n\n"
                  + SCAFFOLD)
    nb = pairs.normalise(jupytext.read(py))
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nbformat.write(nb, py.with_suffix(".ipynb"))
    assert pairs.pair_problems(py) == []  # Notebook.start counts as the parameters check
    _, (res,) = runner.run_notebooks([], profile="smoke", out=tmp_path / "run", directory=src,
                                     parameters={"seed": 7})
    assert res.status == "ok", res.error
    assert res.summary["notebook"] == "01_scaffold"
    assert res.summary["metrics"] == {"seed_seen": 7}
    assert res.summary["claims"][0]["verdict"] == "holds"
    assert set(res.timing) == {"wall_s"}
    assert "Runtime:" in render_markdown([res], "smoke")
