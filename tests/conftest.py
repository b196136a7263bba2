"""Shared fixtures: small and generic (each test file keeps its own helpers)."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
from collections.abc import Iterator
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


HANG_MARGIN_S = 120.0
"""A test still running this long after its pytest-timeout is hung where Python cannot end it.

pytest-timeout's signal method (the default here) raises in the main thread only when that
thread runs Python code; one that waits in Qt's event loop or in a native lock never does (a
CI run hung with every thread in a futex wait until CI's own limit). faulthandler's watchdog is
a C thread that needs no GIL: it prints every thread's Python stack to the terminal and ends
the run (exit 1)."""

_stderr_copy: int | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _stderr_copy
    # Before any test captures fd 2: the dump must reach the terminal, not a capture file.
    _stderr_copy = os.dup(sys.__stderr__.fileno()) if sys.__stderr__ is not None else None
    # The tests that press Ctrl+C on a camfx child need its SIGINT to raise KeyboardInterrupt.
    # A run started in the background of a script (`pytest ... &` without job control) inherits
    # SIGINT ignored, and so would every child: Python keeps an ignored SIGINT ignored, so the
    # child ran on (test_cli's Ctrl+C test hung 120 s, a render ran to its end; 2026-12-05). A
    # handled signal is reset to its default across exec, so handling it here gives each child
    # the usual Ctrl+C.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    marker = item.get_closest_marker("timeout")
    limit = (
        float(marker.args[0])
        if marker and marker.args
        else float(item.config.getini("timeout") or 300)
    )
    if _stderr_copy is not None:
        faulthandler.dump_traceback_later(limit + HANG_MARGIN_S, exit=True, file=_stderr_copy)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
