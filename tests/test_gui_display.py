"""The window on a display it cannot open: one line and exit 2, not Qt's abort.

With ``DISPLAY`` naming no X server, Qt's xcb plugin aborted the process (exit 134) and blamed a
missing ``libxcb-cursor0`` (found by a QA pass, 2026-12-06). The window now asks libxcb first
(:func:`app.gui.application._unreachable_x_display`).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.gui.application import _unreachable_x_display
from app.gui.headless import missing_tools, virtual_display

NO_SERVER = ":4093"
"""A display number no test starts an X server on."""


def _without_platform(display: str) -> dict[str, str]:
    env = {**os.environ, "DISPLAY": display}
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


def test_a_display_no_x_server_answers_on_is_one_line_and_exit_2(tmp_path) -> None:
    env = {**_without_platform(NO_SERVER), "CAMFX_CONFIG_DIR": str(tmp_path / "config")}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"cannot open the display '{NO_SERVER}'" in lines[0], lines


def test_a_display_an_x_server_answers_on_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    if missing_tools():
        pytest.skip(f"needs {' and '.join(missing_tools())} to start an X server")
    with virtual_display() as display:
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        assert _unreachable_x_display() is None
    monkeypatch.setenv("DISPLAY", NO_SERVER)
    assert _unreachable_x_display() == NO_SERVER
    # Another platform asked for (offscreen, as the GUI tests run): not Qt's xcb, not asked.
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert _unreachable_x_display() is None
