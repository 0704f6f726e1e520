"""ci_inpaint.sweep: grid parsing, a tiny papermill sweep over a test notebook, collect and plot."""

import json

import nbformat
import pytest

from ci_inpaint.errors import ConfigError
from ci_inpaint.toolchain.sweep import collect, param_string, parse_grid, plot_sweep, run_sweep


def test_parse_grid_types():
    g = parse_grid(["lambda_contra=0.3,1,3", "num_neg=5,10", "part=toy", "normalize=true,false"])
    assert g == {"lambda_contra": [0.3, 1, 3], "num_neg": [5, 10], "part": ["toy"],
                 "normalize": [True, False]}
    assert isinstance(g["lambda_contra"][1], int) and isinstance(g["lambda_contra"][0], float)
    assert parse_grid(["radius=1e-3"])["radius"] == [0.001]
    with pytest.raises(ConfigError):
        parse_grid(["tau"])
    with pytest.raises(ConfigError):
        parse_grid([])


def test_param_string_is_a_safe_folder_name():
    assert param_string({"tau": 0.1, "part": "a/b"}) == "tau=0.1_part=a-b"


def _tiny_notebook(path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'smoke'\nout_dir = ''\na = 1\nb = 0.5\n")
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "import json, pathlib\n"
        "p = pathlib.Path(out_dir); p.mkdir(parents=True, exist_ok=True)\n"
        "summary = {'notebook': 'tiny', 'profile': profile, 'metrics': {'y': a * 10 + b},\n"
        "           'paper': {}, 'claims': [{'text': 'a is positive',\n"
        "                                    'verdict': 'holds' if a > 0 else 'does not hold'}]}\n"
        "(p / 'summary.json').write_text(json.dumps(summary))\n")
    nb.cells = [params, body]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_tiny_sweep_runs_collects_and_plots(tmp_path):
    nb = _tiny_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "sweep"
    rows = run_sweep(nb, {"a": [1, 2]}, profile="smoke", out=out, base_params={"b": 0.25})
    assert sorted(r["run"] for r in rows) == ["a=1", "a=2"]
    by_a = {r["a"]: r for r in rows}
    assert by_a[1]["y"] == pytest.approx(10.25) and by_a[2]["y"] == pytest.approx(20.25)
    assert all(r["claims_held"] == 1 and r["claims_inconclusive"] == 0 and r["status"] == "ok"
               for r in rows)
    rec = json.loads((out / "a=2" / "params.json").read_text())
    assert rec["params"]["profile"] == "smoke" and rec["params"]["b"] == 0.25
    assert (out / "a=1" / "tiny.ipynb").is_file()
    assert collect(out) == rows
    fig = plot_sweep(rows, "a", "y", out=out)
    assert (out / "sweep.png").stat().st_size > 0
    assert [tuple(line.get_xdata()) for line in fig.axes[0].lines] == [(1, 2)]
    with pytest.raises(ConfigError):
        plot_sweep(rows, "a", "missing_metric")
