"""The window never sends an unprocessed frame: from its start, after an engine restart (a new
output format), a source switch, a resume, and a switch to privacy-blur, every frame the
virtual camera receives has been through the asked preset's stages or is a card; and a new
output rate or size applies at once, to the frames and to the Source line.

Real window offscreen, real engine, the demo, the privacy-blur preset's real stages; the
virtual camera is a capturing stand-in that notes, per frame, which stages ran on it."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import test_gui_support
from test_gui_support import ONE_CAMERA, open_window, recorded_camera

from app.gui.controller import PRIVACY_CARD
from app.gui.plumbing import message_card
from pipelines.frame import Frame
from pipelines.outputs.base import Output

PRIVACY = "builtin:privacy-blur"
SIZE = (640, 360)
WAIT_MS = 12000


@dataclass(frozen=True)
class Sent:
    """One frame the virtual camera received."""

    captured: float
    """The frame's capture time (monotonic)."""
    stages: frozenset[str]
    """The stages that ran on it (the engine's per-frame timings)."""
    digest: str
    """Of its picture: a card is recognised by its pixels."""


class CapturingCamera(Output):
    """Stands in for the virtual camera and notes each frame (engine's output thread)."""

    def __init__(self, arg: str = "") -> None:
        super().__init__(arg)
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def open(self, width: int, height: int, fps: float) -> None:
        self.is_open = True

    def write(self, frame: Frame) -> None:
        names = frozenset(k for k in frame.ctx.stage_ms if "/" not in k)
        sent = Sent(frame.timestamp, names, digest(frame.image))
        with self._lock:
            self.sent.append(sent)

    def frames(self) -> list[Sent]:
        with self._lock:
            return list(self.sent)

    @property
    def description(self) -> str:
        return "/dev/video98 (capturing)"


def digest(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


CARDS = {
    digest(message_card(text, size))
    for text in ("Starting...", PRIVACY_CARD)
    for size in (SIZE, (960, 540))
}
"""The cards that may stand in for frames while the stages open."""


@pytest.fixture
def camera(monkeypatch: pytest.MonkeyPatch) -> CapturingCamera:
    """The virtual camera every window of the test opens."""
    cam = CapturingCamera("virtualcam")

    def outputs(spec: str) -> Output:
        from pipelines.outputs import make_output

        return cam if spec.startswith("virtualcam") else make_output(spec)

    monkeypatch.setattr(test_gui_support, "fake_outputs", outputs)
    return cam


def slow_segmentation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The segmentation opens in 1 s more: a first open's models (~2 s); the models opened
    before in this process open fast, and the frames meanwhile would be too few to see."""
    from pipelines.segmentation.stage import Segmentation

    opened = Segmentation.open

    def slow_open(self: Segmentation) -> None:
        time.sleep(1.0)
        opened(self)

    monkeypatch.setattr(Segmentation, "open", slow_open)


def start_window(qtbot: Any, windows: list, config: Path, preset: str, **kw: Any) -> Any:
    config.mkdir(parents=True, exist_ok=True)
    settings = {
        "schema": 1,
        "preset": preset,
        "source": "demo",
        "virtual_camera": True,
        "output_size": list(SIZE),
        "fps": 30.0,
    }
    (config / "settings.json").write_text(json.dumps(settings))
    return open_window(qtbot, windows, config, use_tray=False, **kw)


def processed(window: Any, frames: list[Sent]) -> list[Sent]:
    names = {s.name for s in window.controller.stages}
    return [f for f in frames if names and names <= f.stages]


def unprocessed(
    window: Any, frames: list[Sent], extra_cards: frozenset[str] = frozenset()
) -> list[tuple[int, list[str]]]:
    """The frames that are neither through all the preset's stages nor a card (index, what
    ran on it)."""
    names = {s.name for s in window.controller.stages}
    return [
        (i, sorted(f.stages))
        for i, f in enumerate(frames)
        if not (names <= f.stages) and f.digest not in CARDS | extra_cards
    ]


def wait_processed(qtbot: Any, window: Any, camera: CapturingCamera, since: int, n: int) -> None:
    qtbot.waitUntil(lambda: len(processed(window, camera.frames()[since:])) >= n, timeout=WAIT_MS)


def test_no_unprocessed_frame_reaches_the_virtual_camera_from_the_start(
    qtbot: Any,
    windows: list,
    config: Path,
    camera: CapturingCamera,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA: frames 0-114 the virtual camera got after the window started under privacy-blur
    were the demo's room, sharp (the engine ran with no stage while they opened). Now the
    "Starting..." card goes out until the stages run; then only processed frames; the same
    after a switch to a camera."""
    # Models opened by earlier tests in this process open before the first frame: no card.
    slow_segmentation(monkeypatch)
    w = start_window(qtbot, windows, config, PRIVACY, cameras=ONE_CAMERA, backend=recorded_camera())
    wait_processed(qtbot, w, camera, 0, 10)
    frames = camera.frames()
    assert {s.name for s in w.controller.stages} >= {"segmentation", "background_blur"}
    assert unprocessed(w, frames) == []
    assert frames[0].digest in CARDS  # the meeting app sees a camera meanwhile

    since = len(camera.frames())
    w.set_source("camera:0")
    qtbot.waitUntil(lambda: w.source_spec == "camera:0", timeout=WAIT_MS)
    wait_processed(qtbot, w, camera, since, 10)
    assert unprocessed(w, camera.frames()[since:]) == []


def test_a_restart_and_a_resume_send_no_unprocessed_frame(
    qtbot: Any, windows: list, config: Path, camera: CapturingCamera, monkeypatch: Any
) -> None:
    """A new output size restarts the engine, and a resume reopens the stages the pause
    closed: meanwhile a card (the paused one on a resume) goes out, not the room."""
    slow_segmentation(monkeypatch)
    w = start_window(qtbot, windows, config, PRIVACY)
    wait_processed(qtbot, w, camera, 0, 5)

    since = len(camera.frames())
    w.size_combo.setCurrentIndex(w.size_combo.findData([960, 540]))
    w.size_combo.activated.emit(w.size_combo.currentIndex())
    wait_processed(qtbot, w, camera, since, 5)
    assert unprocessed(w, camera.frames()[since:]) == []

    w.set_paused(True)
    qtbot.waitUntil(lambda: w.controller.source.paused, timeout=WAIT_MS)
    assert w.controller.wait_idle(5.0)
    paused_card = digest(w.controller.source.still_image)
    since = len(camera.frames())
    w.set_paused(False)
    wait_processed(qtbot, w, camera, since, 5)
    assert unprocessed(w, camera.frames()[since:], frozenset({paused_card})) == []


def test_picking_privacy_blur_hides_the_room_at_once(
    qtbot: Any, windows: list, config: Path, camera: CapturingCamera, monkeypatch: Any
) -> None:
    """From Off (a panic button): no frame captured after the pick goes out unblurred, where
    the room went on while the stages opened (~2 s on a first pick; made 1 s here, as the
    models opened earlier in this process open fast)."""
    slow_segmentation(monkeypatch)
    w = start_window(qtbot, windows, config, "builtin:off")
    qtbot.waitUntil(lambda: len(camera.frames()) >= 10, timeout=WAIT_MS)
    w.choose_preset(PRIVACY)
    assert w.controller.wait_idle(10.0)  # the pick has reached the engine
    picked = time.monotonic()
    wait_processed(qtbot, w, camera, 0, 5)
    after = [f for f in camera.frames() if f.captured > picked]
    assert unprocessed(w, after) == []
    assert after[0].digest in CARDS


def test_picking_a_user_copy_of_privacy_blur_hides_the_room_at_once(
    qtbot: Any, windows: list, config: Path, camera: CapturingCamera, monkeypatch: Any
) -> None:
    """The privacy card follows the preset's ``hides_room``, not its name: a user's copy of
    privacy-blur, picked from Off, sends it at once too (it sent the room until its stages
    ran, ~2 s on a first pick)."""
    from pipelines.presets import PRESETS
    from pipelines.userdata import PresetStore

    PresetStore(config / "presets").duplicate(PRESETS.get("privacy-blur"), "Hide my room")
    slow_segmentation(monkeypatch)
    w = start_window(qtbot, windows, config, "builtin:off")
    qtbot.waitUntil(lambda: len(camera.frames()) >= 10, timeout=WAIT_MS)
    w.choose_preset("user:Hide my room")
    assert w.controller.wait_idle(10.0)  # the pick has reached the engine
    picked = time.monotonic()
    wait_processed(qtbot, w, camera, 0, 5)
    assert w.controller.preset_key == "user:Hide my room"
    after = [f for f in camera.frames() if f.captured > picked]
    assert unprocessed(w, after) == []
    assert after[0].digest == digest(message_card(PRIVACY_CARD, SIZE))


def test_a_new_rate_and_size_apply_at_once(
    qtbot: Any, windows: list, config: Path, camera: CapturingCamera
) -> None:
    """QA: "15 fps" picked, the recording stayed at 29.7 fps and the Source line at 30 fps
    until a restart (the source opened at 30 was handed on); a new size left the Source line
    at the old one."""
    w = start_window(qtbot, windows, config, "builtin:off")
    qtbot.waitUntil(lambda: "at 30 fps" in w.source_state.text(), timeout=WAIT_MS)

    w.fps_combo.setCurrentIndex(w.fps_combo.findData(15.0))
    w.fps_combo.activated.emit(w.fps_combo.currentIndex())
    qtbot.waitUntil(lambda: "640×360 at 15 fps" in w.source_state.text(), timeout=WAIT_MS)
    qtbot.wait(500)  # the new source's first frames
    start = time.monotonic()
    qtbot.wait(2000)
    span = [f for f in camera.frames() if start <= f.captured <= start + 2.0]
    assert 15 <= len(span) <= 36, len(span)  # 30 a second before

    w.size_combo.setCurrentIndex(w.size_combo.findData([960, 540]))
    w.size_combo.activated.emit(w.size_combo.currentIndex())
    qtbot.waitUntil(lambda: "960×540 at 15 fps" in w.source_state.text(), timeout=WAIT_MS)


def test_a_pause_soon_after_a_resume_sends_no_unprocessed_frame(
    qtbot: Any, windows: list, config: Path, camera: CapturingCamera, monkeypatch: Any
) -> None:
    """A user's pass (qa5): a pause within ~0.4 s of a resume under privacy-blur sent 1-4
    frames of the sharp room (captured before the pause took hold, then sent through the
    pause's empty stage list, which also ended the resume's card) in 6 of 8 tries. The
    paused still stands in for every frame from the pause on. The segmentation is slowed to
    0.1 s a frame, so that a frame captured before the pause is still waiting when the empty
    list is swapped in (the race QA hit by chance)."""
    from pipelines.segmentation.stage import Segmentation

    segment = Segmentation.process

    def slow_segment(self: Segmentation, image: Any, ctx: Any) -> Any:
        time.sleep(0.1)
        return segment(self, image, ctx)

    monkeypatch.setattr(Segmentation, "process", slow_segment)
    w = start_window(qtbot, windows, config, PRIVACY)
    wait_processed(qtbot, w, camera, 0, 5)
    since = len(camera.frames())
    stills: set[str] = set()
    for pause_after_ms in (300, 400, 300, 400, 300, 400, 300, 400):
        w.set_paused(True)
        qtbot.waitUntil(lambda: w.controller.source.paused, timeout=WAIT_MS)
        assert w.controller.wait_idle(5.0)
        stills.add(digest(w.controller.source.still_image))
        w.set_paused(False)
        qtbot.waitUntil(lambda: not w.controller.source.paused, timeout=WAIT_MS)
        qtbot.wait(pause_after_ms)  # the stages just reopened (models opened earlier: fast)
    w.set_paused(True)
    assert w.controller.wait_idle(5.0)
    stills.add(digest(w.controller.source.still_image))
    qtbot.wait(300)
    assert unprocessed(w, camera.frames()[since:], frozenset(stills)) == []
