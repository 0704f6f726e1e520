"""Shared pytest fixtures (keep this small: module-specific fixtures live in their test file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# No progress bars in test logs (the engine and notebooks read this).
os.environ.setdefault("CI_INPAINT_QUIET", "1")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout (holds pyproject.toml, notebooks/, ci_inpaint/)."""
    return ROOT


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $TORCH_HOME so weight look-ups never see the user's cache."""
    home = tmp_path / "torch_home"
    home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home
