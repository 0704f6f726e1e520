"""environment.yml lists what pyproject.toml lists; the Makefile skips pip when up to date."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pyproject_requirements() -> list[str]:
    """[project] dependencies + the dev extra, read from pyproject.toml."""
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # Python 3.10: the installed metadata carries the same list
        from importlib.metadata import requires

        return [r.split(";")[0].strip() for r in requires("ci_inpaint") or []]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def environment_yml() -> tuple[list[str], list[str]]:
    """(conda specs, pip requirement lines) from environment.yml."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [p for d in env["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    return conda, pip


def by_name(lines: list[str]) -> dict[str, str]:
    reqs = [Requirement(x) for x in lines if not x.startswith("-")]
    return {canonicalize_name(r.name): str(r.specifier) for r in reqs}


def test_environment_yml_has_the_same_dependencies_as_pyproject():
    conda, pip = environment_yml()
    conda_names = {canonicalize_name(re.split(r"[<>=!\s]", c)[0]) for c in conda}
    py = by_name(pyproject_requirements())
    env = by_name(pip)
    # a dependency may come from conda instead of pip, but then only by name
    missing = set(py) - set(env) - conda_names
    extra = set(env) - set(py)
    assert not missing, f"in pyproject.toml but not environment.yml: {sorted(missing)}"
    assert not extra, f"in environment.yml but not pyproject.toml: {sorted(extra)}"
    differ = {n: (py[n], env[n]) for n in set(py) & set(env) if py[n] != env[n]}
    assert not differ, f"version specifiers differ (pyproject, environment.yml): {differ}"
    assert "pip" in conda_names and "python" in conda_names


def test_names_are_normalised():
    assert by_name(["Scikit_Learn>=1", "PyYAML"]) == {"scikit-learn": ">=1", "pyyaml": ""}


def test_python_and_torch_constraints():
    conda, _ = environment_yml()
    assert "python>=3.10" in conda
    torch = Requirement(next(r for r in pyproject_requirements() if r.startswith("torch")))
    # a floor only: no release is excluded
    assert torch.specifier.contains("2.5.1") and torch.specifier.contains("2.14.1")
    assert not torch.specifier.contains("2.3.1")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_skips_pip_when_the_stamp_is_fresh(tmp_path):
    """`make -n` prints what it would run: pip only when pyproject.toml is newer than the stamp."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    stamp = venv / ".stamp"
    stamp.touch()
    t = (tmp_path / "pyproject.toml").stat().st_mtime
    os.utime(stamp, (t + 10, t + 10))

    # a clean environment: under `make test` the parent make's MAKEFLAGS would leak in
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

    def dry(target: str) -> str:
        cmd = ["make", "-n", "--no-print-directory", target, f"PY={sys.executable}"]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                              check=True).stdout

    for target in ("test", "reproduce", "lab"):
        assert "pip install" not in dry(target)
    assert "ruff check" in dry("test") and "--nbval-lax" not in dry("test")  # no notebooks here
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_demo.ipynb").write_text("{}")
    nbval = dry("test").splitlines()[-1]
    assert nbval.startswith("CI_INPAINT_PROFILE=smoke CI_INPAINT_QUIET=1 ")
    assert "--nbval-lax --nbval-current-env" in nbval and nbval.endswith("notebooks/01_demo.ipynb")
    os.utime(stamp, (t - 10, t - 10))  # pyproject.toml edited after the last install
    out = dry("test")
    assert re.search(r'pip install .*-e "\.\[dev\]"', out), out
    assert out.index("pip install") < out.index("ruff check")
