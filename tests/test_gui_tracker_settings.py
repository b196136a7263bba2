"""The Track preset's controls in the window: a face-tracker setting that cannot be honoured
(its mesh graph's model will not load) is a warning, the video goes on tracked, and the
window quits at once; a control pushed to its end keeps the video moving."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

import test_gui_support
from test_gui_support import wait_frames

from pipelines.errors import ModelError
from pipelines.tracking import tracker as tracker_module
from pipelines.tracking.mesh import FaceMesh
from pipelines.tracking.tracker import STAGE_NAME as TRACKER

pytestmark = pytest.mark.timeout(60)

QUIT_MAX_S = 3.0
"""The window's quit with the tracker running: the engine's threads end within a frame or
two (5 s is where the engine gives up waiting and the process lingers at exit)."""
ORT_FAILURE = (
    "model face_landmark_with_attention could not be loaded: [ONNXRuntimeError] : 1 : FAIL : "
    "GetElementType is not implemented; reinstall camfx or rebuild the models"
)
"""What a session that ONNX Runtime refuses says (the QA pass's words)."""


def open_track_window(qtbot: Any, windows: list[Any], config: Path) -> Any:
    """A window on the built-in Track preset, the QA pass's photo as its source, running."""
    config.mkdir(exist_ok=True)
    photo = Path(__file__).parent / "data" / "faces" / "astronaut.jpg"
    settings = {"schema": 1, "preset": "builtin:track", "source": f"image:{photo}"}
    (config / "settings.json").write_text(json.dumps(settings))
    window = test_gui_support.open_window(qtbot, windows, config)
    qtbot.waitUntil(lambda: list(window.effects.panels) == [TRACKER], timeout=15000)
    assert window.preset_key == "builtin:track"
    # The tracker opens beside the running (empty) list: edits before its swap would reach
    # its open(), not the running stage these tests are about.
    qtbot.waitUntil(lambda: tracking(window), timeout=15000)
    wait_frames(qtbot, window, 3, timeout=15000)
    return window


def tracking(window: Any) -> bool:
    """Whether the preset's tracker runs in the engine and has processed a live frame."""
    engine, stages = window.controller.engine, window.controller.stages
    if engine is None or not stages:
        return False
    return any(s is stages[0] for s in engine.pipeline.stages) and stages[0].frames > 0


def choose(window: Any, field: str, value: str) -> None:
    editor = window.effects.editor(TRACKER, field)
    editor.combo.setCurrentIndex(editor.combo.findData(value))
    assert editor.value() == value


def test_a_mesh_graph_that_cannot_load_is_a_warning_and_the_video_goes_on(
    qtbot: Any, windows: list, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mesh graph set to Reference while ONNX Runtime refuses that model's session: before,
    the tracker failed on every frame (each one making the session again, 0.2-0.3 s) and the
    window said "failed and is skipped". Now one warning, and the frames are tracked with the
    mesh the tracker has."""
    window = open_track_window(qtbot, windows, config)
    real_load = tracker_module.load_model
    tries: list[type] = []

    def refuse_reference(model: type, factory: object = None) -> object:
        if model is FaceMesh:
            tries.append(model)
            raise ModelError(ORT_FAILURE)
        return real_load(model, factory)  # type: ignore[call-overload]

    monkeypatch.setattr(tracker_module, "load_model", refuse_reference)
    choose(window, "mesh_graph", "reference")
    key = f"stage-{TRACKER}"
    qtbot.waitUntil(lambda: key in window.messages.bars, timeout=10000)
    bar = window.messages.bars[key]
    assert bar.level == "warning"
    assert bar.text == (
        f'Face tracker: The "reference" mesh graph could not be loaded ({ORT_FAILURE}); '
        'tracking goes on with the "blocked" one.'
    )
    wait_frames(qtbot, window, 10, timeout=10000)
    assert len(tries) == 1
    snapshot = window.controller.snapshot()
    assert snapshot.errors == {}
    frame = window.controller.engine.last_frame
    assert frame is not None and frame.ctx.primary_face is not None  # still tracked
    t0 = time.monotonic()
    window.quit()
    assert time.monotonic() - t0 < QUIT_MAX_S
    assert window.controller.engine is None


SPARE_TRIES = 2
"""Detections a search may try the mesh on beyond the free track slots (the tracker's
``CONFIRM_SPARE``)."""
WATCH_MS = 1500
MOVING_FRAMES = 10
"""Frames the preview shows at least within :data:`WATCH_MS` (45 at 30 fps)."""


def test_the_scores_at_their_ends_keep_the_searches_short(
    qtbot: Any, windows: list, config: Path
) -> None:
    """Minimum detection score at its lowest, minimum tracking score at its highest, the search
    on every frame: the detector passes every blur of a face and the mesh confirms none. The
    mesh ran on every detection, 14 a search on this photo (some 30 on others: 0.45-0.86 s a
    frame); now on the best :data:`SPARE_TRIES` + 1, and the video keeps moving."""
    window = open_track_window(qtbot, windows, config)
    changes = (("min_detection_score", 0.05), ("min_tracking_score", 1.0), ("search_period", 0.0))
    for field, value in changes:
        editor = window.effects.editor(TRACKER, field)
        editor.spin.setValue(value)
        assert editor.value() == value
    tracker = window.controller.stages[0]
    qtbot.waitUntil(lambda: tracker.settings.search_period == 0.0, timeout=5000)
    wait_frames(qtbot, window, 2, timeout=10000)  # the frame in flight had the old settings
    searches, meshes, shown = tracker.detector_runs, tracker.mesh_runs, window.preview.frames_shown
    qtbot.wait(WATCH_MS)
    searches, meshes = tracker.detector_runs - searches, tracker.mesh_runs - meshes
    assert searches > 0  # searching, as the settings ask
    # (+ 1: a search under way as the counts were read)
    assert meshes <= (searches + 1) * (1 + SPARE_TRIES)
    assert window.preview.frames_shown - shown >= MOVING_FRAMES
    frame = window.controller.engine.last_frame
    assert frame is not None and frame.ctx.faces == []
