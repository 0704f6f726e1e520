"""Wall time and peak memory of notebooks/01_divco under the smoke and quick profiles.

The same measurement as ``bench_notebooks.py`` (which this runs for 01_divco only): papermill,
a fresh output folder, peak RSS of the kernel's process tree, budgets smoke < 30 s and
quick < 5 min on 2 CPU cores, the load average beside each row.

    .venv/bin/python benchmarks/bench_divco_notebook.py [--profiles smoke quick] [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_notebooks import main  # noqa: E402

if __name__ == "__main__":
    main(default_names=["01_divco"])
