"""The window with user files that used to lock it out (issue 12 §4): it opens, says what was
wrong in its message bar, and the files are kept aside, not lost."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported in this process

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from test_gui_support import TINT, TINT_PRESET, make_window

pytestmark = pytest.mark.timeout(60)

DEEP = "[" * 200_000 + "]" * 200_000
HUGE = "9" * 400


def test_window_opens_over_files_that_cannot_be_parsed(qtbot: Any, tmp_path: Path) -> None:
    config = tmp_path / "config"
    presets = config / "presets"
    presets.mkdir(parents=True)
    settings_text = '{"schema": 1, "recent_files": ' + DEEP + "}"
    (config / "settings.json").write_text(settings_text)
    (presets / "deep.json").write_text('{"name": "Deep", "stages": ' + DEEP + "}")
    huge = json.dumps(TINT_PRESET.to_dict()).replace("0.7", HUGE)
    assert HUGE in huge
    (presets / "huge.json").write_text(huge)
    window = make_window(config)
    qtbot.addWidget(window)
    try:
        window.show()
        assert "defaults are used" in window.messages.bars["settings-file"].text
        text = window.messages.bars["preset-files"].text
        assert "deep.json" in text and "huge.json" in text and "moved aside" in text
        assert HUGE not in text
        assert [p.read_text() for p in config.glob("settings.json.broken-*")] == [settings_text]
        assert len(list(presets.glob("*.broken-*"))) == 2
    finally:
        window.quit()
    qtbot.wait(10)


def test_a_huge_override_is_left_out_and_the_preset_still_applies(
    qtbot: Any, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    (config / "presets").mkdir(parents=True)
    (config / "presets" / "tint.json").write_text(json.dumps(TINT_PRESET.to_dict()))
    overrides = '{"user:Tint": {"' + TINT + '": {"strength": ' + HUGE + "}}}"
    text = '{"schema": 1, "preset": "user:Tint", "source": "demo", "preset_overrides": '
    (config / "settings.json").write_text(text + overrides + "}")
    window = make_window(config)
    qtbot.addWidget(window)
    try:
        window.show()
        assert "user:Tint / gui-tint / strength is a 400-digit number" in (
            window.messages.bars["settings-file"].text
        )
        qtbot.waitUntil(lambda: window.controller.stage_settings(TINT) is not None, timeout=10_000)
        assert window.controller.stage_settings(TINT).strength == pytest.approx(0.7)
    finally:
        window.quit()
    qtbot.wait(10)
