"""Where the notebooks and their runs live, and the summary.json schema check: what the
toolchain (runner, pairs, report, sweep, CLI) needs, torch-free and scipy-free, so that listing
notebooks or rendering a report imports no deep-learning stack. Notebook authors import these
names from :mod:`ci_inpaint.notebooks`, which re-exports them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# the three verdicts (equal to ci_inpaint.experiments.claims.VERDICTS; a test checks it)
VERDICTS = ("holds", "inconclusive", "does not hold")


def repo_root() -> Path:
    """The checkout holding ``ci_inpaint`` (editable install), else the current directory."""
    root = Path(__file__).resolve().parents[2]  # ci_inpaint/toolchain/layout.py
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def list_notebooks(directory: Path | None = None) -> list[str]:
    """Names (stems) of the paired notebooks, sorted: ``00_start``, ``01_divco``, ..."""
    directory = Path(directory or notebooks_dir())
    return sorted(p.stem for p in directory.glob("[0-9][0-9]_*.ipynb"))


def resolve_out_dir(name: str, out_dir: str | os.PathLike = "", profile: str = "quick") -> Path:
    """The notebook's output folder, created: ``out_dir`` or ``runs/notebooks/<name>-<profile>``."""
    path = Path(out_dir) if str(out_dir) else repo_root() / "runs" / "notebooks" / f"{name}-{profile}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def validate_summary(summary: Any) -> None:
    """Raise ValueError naming the first field that breaks the summary.json schema."""
    if not isinstance(summary, dict):
        raise ValueError("summary must be a JSON object")
    if not isinstance(summary.get("notebook"), str):
        raise ValueError("summary.notebook must be a string")
    if not isinstance(summary.get("metrics"), dict):
        raise ValueError("summary.metrics must be an object {name: value}")
    if not isinstance(summary.get("notes", {}), dict):
        raise ValueError("summary.notes must be an object {metric: text}")
    for key, item in summary.get("paper", {}).items():
        if not (isinstance(item, dict) and "value" in item and "source" in item):
            raise ValueError(f"summary.paper[{key!r}] must be {{'value': ..., 'source': ...}}")
    for claim in summary.get("claims", []):
        if not (isinstance(claim, dict) and isinstance(claim.get("text"), str)
                and claim.get("verdict") in VERDICTS):
            raise ValueError(f"summary.claims item {claim!r} must be {{'text': str, 'verdict': "
                             f"one of {', '.join(VERDICTS)}, ...}}")


__all__ = ["VERDICTS", "list_notebooks", "notebooks_dir", "repo_root", "resolve_out_dir",
           "validate_summary"]
