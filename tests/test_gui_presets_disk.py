"""The window over preset files changed on disk while it runs (qa7 findings 6, 9; offscreen):
a re-picked preset runs what its file says now, a Save never writes over a hand edit (the
window's version becomes a new preset, and the bar says so), and a built-in's name is refused
with a bar."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported in this process

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from test_gui_support import TINT, TINT_PRESET, make_window

pytestmark = pytest.mark.timeout(90)


def _hand_edit(path: Path, strength: float) -> None:
    data = json.loads(path.read_text())
    data["stages"][0]["settings"]["strength"] = strength
    path.write_text(json.dumps(data, indent=1))
    stat = path.stat()  # an editor's save, a clock tick after camfx's own
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def _strength_in(path: Path) -> Any:
    return json.loads(path.read_text())["stages"][0]["settings"]["strength"]


def test_a_hand_edited_preset_is_re_read_when_picked_and_never_saved_over(
    qtbot: Any, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    presets = config / "presets"
    presets.mkdir(parents=True)
    path = presets / "tint.json"
    path.write_text(json.dumps(TINT_PRESET.to_dict()))
    (config / "settings.json").write_text(
        json.dumps({"schema": 2, "preset": "user:Tint", "source": "demo"})
    )
    window = make_window(config)
    qtbot.addWidget(window)

    def running_strength() -> Any:
        settings = window.controller.stage_settings(TINT)
        return None if settings is None else settings.strength

    try:
        window.show()
        qtbot.waitUntil(lambda: running_strength() == pytest.approx(0.7), timeout=15_000)
        _hand_edit(path, 0.2)
        window.choose_preset("builtin:off")
        qtbot.waitUntil(lambda: window.preset_key == "builtin:off", timeout=10_000)
        window.choose_preset("user:Tint")
        qtbot.waitUntil(lambda: running_strength() == pytest.approx(0.2), timeout=10_000)

        # An edit in the window, then the file is edited by hand again: Save keeps both.
        edited = dataclasses.replace(window.controller.stage_settings(TINT), strength=0.5)
        window.on_stage_settings(TINT, edited)
        assert window.modified
        _hand_edit(path, 0.3)
        window.save_preset()
        assert _strength_in(path) == 0.3
        copy = presets / "tint-2.json"
        assert json.loads(copy.read_text())["name"] == "Tint (2)" and _strength_in(copy) == 0.5
        bar = window.messages.bars["preset"].text
        assert "“Tint”" in bar and str(path) in bar and "changed on disk" in bar
        assert "saved as a new preset “Tint (2)”" in bar
        qtbot.waitUntil(lambda: window.preset_key == "user:Tint (2)", timeout=10_000)
        assert running_strength() == pytest.approx(0.5) and not window.modified
        assert window.presets.get("Tint").stages[0].settings["strength"] == 0.3

        # A built-in's name, in any case: the bar the other bad names get, and no file.
        assert window.save_preset_as("STUDIO") is None
        assert "is the name of the built-in preset 'Studio'; choose another name" in (
            window.messages.bars["preset"].text
        )
        assert sorted(p.name for p in presets.iterdir()) == ["tint-2.json", "tint.json"]
    finally:
        window.quit()
    qtbot.wait(10)
