"""A camera unplugged while the window runs is said everywhere, and all clears when it is back.

qa7 found only the Devices row saying "reconnecting…": the Source box went on describing the
camera's mode, the status bar kept its last fps for 20 s with no frame, no bar came, and the
preview and the virtual camera froze on the last frame (a meeting saw a still face)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from test_gui_support import (
    ONE_CAMERA,
    TINT,
    FakeVirtualCamera,
    mean_color,
    open_window,
    recorded_camera,
)

from pipelines.presets import Preset, StageSpec
from pipelines.sources.cards import CARD_GREY
from pipelines.userdata import PresetStore


def is_card(image: np.ndarray) -> bool:
    """A dark grey frame with a line of white text: most of it the card's grey."""
    share_grey = float(np.mean(np.all(np.abs(image.astype(int) - CARD_GREY) <= 2, axis=2)))
    return share_grey > 0.8 and int(image.max()) > 200


def test_unplugged_camera_gives_a_bar_no_fps_and_a_card(
    qtbot: Any, windows: list, config: Path
) -> None:
    # A stage that turns every processed frame blue: the card must go out unprocessed.
    PresetStore(config / "presets").save(
        Preset("Tint", (StageSpec(TINT, {"strength": 1.0, "color": [255, 0, 0]}),))
    )
    (config / "settings.json").write_text(
        json.dumps({"schema": 1, "preset": "user:Tint", "source": "camera:0"})
    )
    backend = recorded_camera()
    FakeVirtualCamera.opened.clear()
    window = open_window(qtbot, windows, config, cameras=ONE_CAMERA, backend=backend)
    qtbot.waitUntil(lambda: window.source_spec == "camera:0", timeout=8000)
    window.vcam_check.setChecked(True)
    qtbot.waitUntil(lambda: window.vcam_state == "on", timeout=5000)
    cam = FakeVirtualCamera.opened[-1]
    qtbot.waitUntil(lambda: bool(cam.frames) and mean_color(cam.frames[-1])[0] > 240, timeout=8000)
    described = window.source_state.text()
    assert "camera gives" in described, described

    backend.unplugged = True
    qtbot.waitUntil(lambda: "camera-lost" in window.messages.bars, timeout=8000)
    bar = window.messages.bars["camera-lost"].text
    assert "Test Cam" in bar and "disconnected" in bar and "pick another source" in bar, bar
    assert "disconnected" in window.source_state.text(), window.source_state.text()
    assert "reconnecting" in window.device_rows["camera"].text()
    qtbot.waitUntil(lambda: window.fps_label.text() == "no frames", timeout=2000)
    # The meeting sees a card, not the last frame frozen, and it keeps coming.
    qtbot.waitUntil(lambda: is_card(cam.frames[-1]), timeout=5000)
    written = cam.frames_written
    qtbot.waitUntil(lambda: cam.frames_written >= written + 5, timeout=5000)
    assert is_card(cam.frames[-1])
    shown = window.preview._current
    assert shown is not None and is_card(shown.output)
    qtbot.wait(1200)  # more status ticks: it stays said
    assert window.fps_label.text() == "no frames" and "camera-lost" in window.messages.bars

    backend.unplugged = False
    qtbot.waitUntil(lambda: "camera-lost" not in window.messages.bars, timeout=8000)
    qtbot.waitUntil(
        lambda: not is_card(cam.frames[-1]) and mean_color(cam.frames[-1])[0] > 240,
        timeout=8000,
    )
    assert window.source_state.text() == described
    qtbot.waitUntil(lambda: window.fps_label.text().endswith(" fps"), timeout=2000)
    assert window.device_rows["camera"].state == "ok"


def test_card_text_outline_stays_around_the_text() -> None:
    """The dark outline hugs the white letters: drawn with a thicker stroke, OpenCV 5.1 laid it
    out 25 px wider, a shifted dark copy of "…reconnecting..." past the white line's end."""
    from pipelines.sources.cards import DISCONNECTED_CARD_TEXT, message_card

    card = message_card(DISCONNECTED_CARD_TEXT, (640, 360)).astype(int)
    white_columns = np.flatnonzero((card.min(axis=2) > 200).any(axis=0))
    dark_columns = np.flatnonzero((card.max(axis=2) < 12).any(axis=0))
    assert white_columns.size and dark_columns.size
    assert dark_columns[0] >= white_columns[0] - 4, (dark_columns[0], white_columns[0])
    assert dark_columns[-1] <= white_columns[-1] + 4, (dark_columns[-1], white_columns[-1])
