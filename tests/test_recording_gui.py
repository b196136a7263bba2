"""The window says so when it loses its recording folder, and keeps running (issue 12 §2)."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from test_gui_support import make_window

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cfg = tmp_path / "config"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture
def window(qtbot: Any, config: Path) -> Iterator[Any]:
    win = make_window(config)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.quit()
    qtbot.wait(10)


def test_window_says_when_its_recording_folder_is_removed(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    window.settings.record_folder = str(folder)
    window.record_button.click()
    qtbot.waitUntil(lambda: window.controller.recording_path is not None, timeout=5000)
    path = Path(window.controller.recording_path or "")
    qtbot.waitUntil(lambda: window.controller.record.frames_written >= 5, timeout=5000)
    shutil.rmtree(folder)
    qtbot.waitUntil(lambda: "record" in window.messages.bars, timeout=10000)
    text = window.messages.bars["record"].text
    assert str(path) in text and "deleted" in text, text
    assert not window.recording
    assert window.record_button.text() == "● &Record"
    # The app goes on: the engine still runs and the preview still gets frames.
    engine = window.controller.engine
    assert engine is not None and engine.running
    shown = engine.stats.frames_output
    qtbot.waitUntil(lambda: engine.stats.frames_output > shown + 5, timeout=5000)
