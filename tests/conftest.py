"""Shared fixtures: small and generic (each test file keeps its own helpers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Before any test module imports onnxruntime: ``import pipelines`` switches ONNX Runtime's
# telemetry off, and the switch is read once, when onnxruntime initialises.
import pipelines  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent

# The window fixtures (config, windows) that the GUI test files share.
pytest_plugins = ("test_gui_support",)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (``shared/`` lives beside it: ``repo_root.parent / "shared"``)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def python_exe() -> str:
    """The interpreter running the tests (its venv has the ``camfx`` package installed)."""
    return sys.executable
