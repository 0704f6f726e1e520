"""The toolchain's imports run one way: layout, report, runner, pairs and the notebooks CLI
import neither torch nor scipy (listing notebooks or rendering a report stays light)."""

import subprocess
import sys

from ci_inpaint.experiments.claims import VERDICTS
from ci_inpaint.toolchain import layout


def test_layout_verdicts_are_the_claims_verdicts():
    assert layout.VERDICTS == VERDICTS


def test_toolchain_imports_no_torch_or_scipy():
    code = ("import sys\n"
            "from ci_inpaint.toolchain import layout, report, runner, pairs, cli\n"
            "assert layout.list_notebooks(), 'no notebooks listed'\n"
            "heavy = sorted(m for m in ('torch', 'scipy') if m in sys.modules)\n"
            "print(','.join(heavy))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"the toolchain imported {r.stdout.strip()}"
