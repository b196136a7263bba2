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

import numpy as np
from test_gui_support import TINT, TINT_PRESET, FakeVirtualCamera, make_window

from pipelines.presets import Preset, StageSpec

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


HIDDEN = (200, 40, 10)
"""B, G, R of the test's room-hiding preset: every pixel of its frames, no room."""
PRIVATE = Preset("Private", (StageSpec(TINT, {"mode": "fill", "color": list(HIDDEN)}),), "", True)


def _all_of(image: np.ndarray, color: tuple[int, int, int]) -> bool:
    return bool((np.abs(image.astype(np.int16) - color) <= 2).all())


def test_a_half_saved_running_privacy_preset_re_picked_keeps_hiding_the_room(
    qtbot: Any, tmp_path: Path
) -> None:
    """qa8 H1: the running room-hiding preset's file cut short by an editor's half save, then
    picked again, fell to Off and sent the room, sharp, to the virtual camera, under two bars.
    It keeps running as read before: no frame of the room, one bar naming the file and what to
    do; once the fixed file is back it is listed again and runs, without a restart."""
    config = tmp_path / "config"
    presets = config / "presets"
    presets.mkdir(parents=True)
    path = presets / "private.json"
    whole = json.dumps(PRIVATE.to_dict(), indent=1)
    path.write_text(whole)
    (config / "settings.json").write_text(
        json.dumps({"schema": 2, "preset": "user:Private", "source": "demo"})
    )
    FakeVirtualCamera.opened.clear()
    window = make_window(config)
    qtbot.addWidget(window)
    try:
        window.show()
        window.vcam_check.setChecked(True)
        qtbot.waitUntil(lambda: bool(FakeVirtualCamera.opened), timeout=10_000)
        cam = FakeVirtualCamera.opened[-1]
        qtbot.waitUntil(
            lambda: bool(cam.frames) and _all_of(cam.frames[-1], HIDDEN), timeout=15_000
        )
        sent: list[bool] = []
        write = cam.write

        def watched(frame: Any) -> None:
            sent.append(_all_of(frame.image, HIDDEN))
            write(frame)

        cam.write = watched  # type: ignore[method-assign]
        path.write_text(whole[:-30])  # the editor's half save
        window.choose_preset("user:Private")
        qtbot.waitUntil(lambda: len(sent) >= 20, timeout=20_000)
        assert all(sent), f"{sent.count(False)} of {len(sent)} frames showed the room"
        assert window.preset_key == "user:Private"
        assert window.preset_combo.currentData() == "user:Private"
        problem_bars = [k for k in window.messages.bars if k.startswith("preset")]
        assert problem_bars == ["preset"], problem_bars
        bar = window.messages.bars["preset"].text
        assert "“Private” could not be used" in bar and "private.json" in bar, bar
        assert "moved aside to private.json.broken-" in bar and "move it back" in bar, bar
        assert "“Private” keeps running" in bar and "no preset named" not in bar, bar

        # The editor saves the fixed file: listed again at the next look, and it runs.
        fixed = PRIVATE.to_dict()
        fixed["stages"][0]["settings"]["color"] = [0, 255, 0]
        path.write_text(json.dumps(fixed, indent=1))
        window.choose_preset("builtin:off")
        qtbot.waitUntil(lambda: window.preset_key == "builtin:off", timeout=10_000)
        listed = [window.preset_combo.itemData(i) for i in range(window.preset_combo.count())]
        assert listed.count("user:Private") == 1
        assert "preset" not in window.messages.bars  # its "fix it and move it back" is done
        window.choose_preset("user:Private")
        qtbot.waitUntil(
            lambda: (
                window.preset_key == "user:Private"
                and bool(cam.frames)
                and _all_of(cam.frames[-1], (0, 255, 0))
            ),
            timeout=10_000,
        )
    finally:
        window.quit()
    qtbot.wait(10)


def test_a_half_saved_privacy_preset_restored_at_start_hides_the_room(
    qtbot: Any, tmp_path: Path
) -> None:
    """The last session's preset hid the room and its file was cut short meanwhile: the start
    fell to Off, the room sharp on the virtual camera. It runs the built-in privacy preset,
    said in the bar, as the settings kept that the last preset hid the room."""
    config = tmp_path / "config"
    presets = config / "presets"
    presets.mkdir(parents=True)
    (presets / "private.json").write_text(json.dumps(PRIVATE.to_dict(), indent=1)[:-30])
    (config / "settings.json").write_text(
        json.dumps(
            {"schema": 2, "preset": "user:Private", "preset_hides_room": True, "source": "demo"}
        )
    )
    window = make_window(config)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: "preset" in window.messages.bars, timeout=10_000)
        bar = window.messages.bars["preset"].text
        assert "“Private” is not available" in bar and "Using Privacy blur" in bar, bar
        qtbot.waitUntil(lambda: window.preset_key == "builtin:privacy-blur", timeout=30_000)
        assert window.controller.hides_room
    finally:
        window.quit()


def test_the_tray_menu_lists_the_presets_the_folder_holds_when_it_opens(
    qtbot: Any, tmp_path: Path
) -> None:
    """A preset file added (or fixed, or removed) while the window runs was listed in the tray
    only at the window's next pick; the tray menu now reads the folder as it opens."""
    config = tmp_path / "config"
    presets = config / "presets"
    presets.mkdir(parents=True)
    (config / "settings.json").write_text(json.dumps({"schema": 2, "source": "demo"}))
    window = make_window(config)
    qtbot.addWidget(window)
    try:
        window.show()
        assert window.tray is not None
        qtbot.waitUntil(lambda: bool(window.tray.preset_actions), timeout=10_000)
        assert "user:Later" not in window.tray.preset_actions
        later = Preset("Later", (StageSpec(TINT, {}),))
        (presets / "later.json").write_text(json.dumps(later.to_dict(), indent=1))
        window.tray.menu.aboutToShow.emit()
        assert "user:Later" in window.tray.preset_actions
        (presets / "later.json").unlink()
        window.tray.menu.aboutToShow.emit()
        assert "user:Later" not in window.tray.preset_actions
    finally:
        window.quit()


def test_the_window_keeps_what_hides_the_room_on_in_a_preset_that_hides_it(
    qtbot: Any, tmp_path: Path
) -> None:
    """Unticking privacy-blur's blur in the window sent the room, sharp, to the virtual camera,
    and the edit came back at the next start (qa62). In a preset that hides the room what hides
    it stays on: the stage runs, the panel shows it ticked again, a bar says why, and nothing
    is kept as an edit."""
    config = tmp_path / "config"
    presets = config / "presets"
    presets.mkdir(parents=True)
    (presets / "private.json").write_text(json.dumps(PRIVATE.to_dict(), indent=1))
    (config / "settings.json").write_text(
        json.dumps({"schema": 2, "preset": "user:Private", "source": "demo"})
    )
    window = make_window(config)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: window.preset_key == "user:Private", timeout=10_000)
        qtbot.waitUntil(lambda: TINT in window.effects.panels, timeout=10_000)
        panel = window.effects.panels[TINT]
        panel.enabled_box.setChecked(False)
        running = next(s for s in window.controller.stages if s.name == TINT)
        assert running.settings.enabled is True
        assert panel.enabled_box.isChecked()
        bar = window.messages.bars[f"stage-{TINT}"].text
        assert "“Private” hides the room" in bar, bar
        assert not window.modified
        window.save_settings()
        saved = json.loads((config / "settings.json").read_text())
        assert "user:Private" not in saved.get("preset_overrides", {}), saved
    finally:
        window.quit()
    qtbot.wait(10)
