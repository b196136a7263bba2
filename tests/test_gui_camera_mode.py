"""The Mode box shows the mode the camera was opened with, the same as the line below it.

qa7 saw "1920×1080 @ 30 fps" in the box above "The camera gives 640×360 at 30 fps": with the
output at 640×360 and no mode picked, the camera is asked for 640×360, a mode neither the
camera's list nor the standard modes hold, so the box stayed on its first entry."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest

pytest.importorskip("pytestqt")

from test_gui_support import ONE_CAMERA, open_window, recorded_camera


@pytest.mark.parametrize(
    ("native", "says"),
    [
        (None, "The camera gives 640×360 at 30 fps."),
        ((640, 480), "The camera gives 640×480 at 30 fps. (asked for 640×360"),
    ],
)
def test_mode_box_shows_the_mode_asked_for(
    qtbot: Any, windows: list, config: Path, native: tuple[int, int] | None, says: str
) -> None:
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(
        json.dumps(
            {"schema": 1, "preset": "builtin:off", "source": "camera:0", "output_size": [640, 360]}
        )
    )
    backend = recorded_camera(native=native)
    window = open_window(qtbot, windows, config, cameras=ONE_CAMERA, backend=backend)
    qtbot.waitUntil(lambda: window.source_spec == "camera:0", timeout=8000)
    qtbot.waitUntil(lambda: window.source_state.text().startswith("The camera"), timeout=8000)
    assert window.source_state.text().startswith(says), window.source_state.text()
    assert window.mode_combo.currentData() == [640, 360, 30.0]
    assert window.mode_combo.currentText() == "640×360 @ 30 fps"
    # Listed once, beside the standard modes still offered to pick.
    texts = [window.mode_combo.itemText(i) for i in range(window.mode_combo.count())]
    assert texts.count("640×360 @ 30 fps") == 1 and "1920×1080 @ 30 fps" in texts
