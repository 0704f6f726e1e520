"""jupytext pairs: ``notebooks/NN_name.py`` (the source) and ``NN_name.ipynb`` (with outputs).

:func:`sync` rewrites each ``.ipynb`` from its ``.py`` (keeping the outputs of unchanged cells)
with normalised metadata; :func:`pair_problems` lists what is wrong with a pair (the checks of
``tests/test_notebooks.py`` and ``python -m ci_inpaint.notebooks check``); :func:`execute_inplace`
re-runs a notebook (quick profile) and stores its outputs in the committed ``.ipynb``.
"""

from __future__ import annotations

import ast
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import UserError
from .layout import notebooks_dir, resolve_out_dir
from .runner import KERNEL_NAME, TIME_LIMITS, NotebookResult, run_one

REQUIRED_PARAMETERS = ("profile", "device", "seed", "out_dir", "data_root")
JUPYTEXT_FORMATS = "ipynb,py:percent"


def normalise(nb: Any) -> Any:
    """Strip kernel- and run-specific metadata; keep cell ``tags`` and the jupytext pairing."""
    nb.metadata = {
        "jupytext": {"formats": JUPYTEXT_FORMATS},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": KERNEL_NAME},
        "language_info": {"name": "python"},
    }
    for cell in nb.cells:
        tags = [t for t in cell.metadata.get("tags", []) if t != "injected-parameters"]
        cell.metadata = {"tags": tags} if tags else {}
    return nb


def pair_problems(py: Path) -> list[str]:
    """What is wrong with the pair ``py`` / ``py.with_suffix('.ipynb')`` (empty = fine)."""
    import jupytext
    import nbformat

    ipynb = py.with_suffix(".ipynb")
    if not ipynb.is_file():
        return [f"{ipynb.name} is missing: run `python -m ci_inpaint.notebooks sync`"]
    src, nb = jupytext.read(py), nbformat.read(ipynb, as_version=4)
    problems = []

    def key(n: Any) -> list[tuple[str, str, list[str]]]:
        return [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in n.cells]

    if key(src) != key(nb):
        problems.append(f"{ipynb.name} is out of sync with {py.name}: run "
                        "`python -m ci_inpaint.notebooks sync` (then `make notebooks` for outputs)")
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        problems.append(f"{ipynb.name} has no outputs: run `make notebooks`")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(params) != 1:
        problems.append(f"{ipynb.name} has {len(params)} cells tagged 'parameters' (need 1)")
    else:
        missing = set(REQUIRED_PARAMETERS) - assigned_names(params[0].source)
        if missing:
            problems.append(f"{ipynb.name}: parameters cell lacks {', '.join(sorted(missing))}")
        if "CI_INPAINT_PROFILE" not in params[0].source:
            problems.append(f"{ipynb.name}: the parameters cell must default profile to "
                            'os.environ.get("CI_INPAINT_PROFILE", "quick") (nbval runs smoke)')
        after = nb.cells.index(params[0]) + 1
        nxt = nb.cells[after].source if after < len(nb.cells) else ""
        if "Notebook.start(" not in nxt and "check_parameters(" not in nxt:
            problems.append(f"{ipynb.name}: the cell after the parameters cell must call "
                            "ci_inpaint.notebooks.Notebook.start(globals()) (or "
                            "check_parameters(globals(), NAME))")
    unchecked = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                 and c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT") and not c.get("outputs")]
    if unchecked:
        problems.append(f"{ipynb.name}: NBVAL_CHECK_OUTPUT cells {unchecked} have no committed "
                        "output to compare with: run `make notebooks`")
    extra = set(nb.metadata) - {"jupytext", "kernelspec", "language_info"}
    if extra:
        problems.append(f"{ipynb.name}: notebook metadata {sorted(extra)} is not allowed")
    if nb.metadata.get("kernelspec", {}).get("name", KERNEL_NAME) != KERNEL_NAME:
        problems.append(f"{ipynb.name}: kernelspec name must be {KERNEL_NAME!r}")
    if set(nb.metadata.get("language_info", {})) - {"name"}:
        problems.append(f"{ipynb.name}: language_info carries kernel-specific fields")
    bad = [i for i, c in enumerate(nb.cells) if set(c.metadata) - {"tags"}]
    if bad:
        problems.append(f"{ipynb.name}: cells {bad} carry metadata other than tags")
    return problems


def assigned_names(source: str) -> set[str]:
    """Names assigned at top level of a cell's source."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def sync(directory: str | os.PathLike | None = None) -> list[Path]:
    """Rewrite every ``.ipynb`` from its ``.py`` source, keeping outputs of unchanged cells."""
    import jupytext
    import nbformat
    from jupytext.combine import combine_inputs_with_outputs

    written = []
    for py in sorted(Path(directory or notebooks_dir()).glob("[0-9][0-9]_*.py")):
        ipynb = py.with_suffix(".ipynb")
        nb = jupytext.read(py)
        if ipynb.is_file():
            old = nbformat.read(ipynb, as_version=4)
            nb = combine_inputs_with_outputs(nb, old, fmt="py:percent")
        nb = normalise(nb)
        before = ipynb.read_text() if ipynb.is_file() else None
        jupytext.write(nb, ipynb, fmt="ipynb")
        if ipynb.read_text() != before:
            written.append(ipynb)
    return written


def execute_inplace(name: str, profile: str = "quick", directory: str | os.PathLike | None = None,
                    timeout: float | None = None) -> NotebookResult:
    """Execute notebook ``name`` with papermill and store the outputs in its committed .ipynb.

    The injected-parameters cell is dropped again, so the pair stays in sync; figures and
    summary are copied to ``runs/notebooks/<name>-<profile>``.
    """
    import nbformat

    directory = Path(directory or notebooks_dir())
    sync(directory)
    ipynb = directory / f"{name}.ipynb"
    limit = TIME_LIMITS[profile] if timeout is None else timeout
    with tempfile.TemporaryDirectory() as tmp:
        res = run_one(ipynb, Path(tmp), profile, limit)
        if res.status != "ok":
            raise UserError(f"{name} failed ({res.error}): fix it, then run `make notebooks` again")
        nb = nbformat.read(Path(tmp) / f"{name}.ipynb", as_version=4)
        shutil.copytree(Path(tmp) / name, resolve_out_dir(name, "", profile), dirs_exist_ok=True)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    count = 0
    for cell in nb.cells:  # renumber 1, 2, 3, ... now that the injected cell is gone
        if cell.cell_type == "code" and cell.get("execution_count"):
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count
    nbformat.write(normalise(nb), ipynb)
    sync(directory)
    return res


__all__ = ["JUPYTEXT_FORMATS", "REQUIRED_PARAMETERS", "assigned_names", "execute_inplace",
           "normalise", "pair_problems", "sync"]
