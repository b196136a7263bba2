"""In the window, an effect whose start never ends no longer holds the "Starting..." card for
good: the rest of the preset runs, and the banner says which effect is left out for now; but a
preset that hides the room keeps its card until the effect has started (the engine's side:
``test_engine_stuck_open.py``).

Real window offscreen, real engine, the demo, the presets' real stages, the segmentation's
``open`` blocked on an event (a GPU provider's first session, a model on a stalled network
file system); the virtual camera is ``test_gui_start_hold``'s capturing stand-in."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

import test_gui_start_hold as hold

from pipelines import watchdog

pytestmark = pytest.mark.timeout(60)

camera = hold.camera
"""The virtual camera every window of the test opens (a fixture)."""

OPEN_LIMIT_S = 1.0
"""The stuck limit of an open here (:data:`~pipelines.watchdog.OPEN_STUCK_S` is 20 s; 2.0 s
until 2026-12-06, as the engine's tests, tests/test_engine_stuck_open.py)."""
BANNER_MS = int((OPEN_LIMIT_S + 8.0) * 1000)
"""The window's start (models, the demo) and the limit, on a loaded 2-core machine."""
KEY = "stage-segmentation"


@pytest.fixture
def segmentation_hangs(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The segmentation's ``open`` blocks until the event it returns is set."""
    from pipelines.segmentation.stage import Segmentation

    monkeypatch.setattr(watchdog, "OPEN_STUCK_S", OPEN_LIMIT_S)
    release = threading.Event()
    opened = Segmentation.open

    def hanging_open(self: Segmentation) -> None:
        release.wait()
        opened(self)

    monkeypatch.setattr(Segmentation, "open", hanging_open)
    yield release
    release.set()


def test_the_rest_of_a_preset_runs_and_the_banner_names_the_effect_left_out(
    qtbot: Any,
    windows: list,
    config: Path,
    camera: hold.CapturingCamera,
    segmentation_hangs: threading.Event,
) -> None:
    """It held the "Starting..." card for good (the banner said "the video goes on")."""
    w = hold.start_window(qtbot, windows, config, "builtin:background-blur")

    def live() -> list[hold.Sent]:
        return [f for f in camera.frames() if "background_blur" in f.stages]

    qtbot.waitUntil(lambda: len(live()) >= 5, timeout=BANNER_MS)  # the card has ended
    assert all(f.digest not in hold.CARDS and "segmentation" not in f.stages for f in live())
    text = w.messages.bars[KEY].text
    said = f"has not finished starting in {OPEN_LIMIT_S:.0f} s; running without it until it does"
    assert said in text, text
    since = len(camera.frames())
    segmentation_hangs.set()  # the segmentation has started: it joins
    hold.wait_processed(qtbot, w, camera, since, 5)
    qtbot.waitUntil(lambda: KEY not in w.messages.bars, timeout=2000)  # the warning is over


def test_a_preset_that_hides_the_room_keeps_its_card_while_its_effect_starts(
    qtbot: Any,
    windows: list,
    config: Path,
    camera: hold.CapturingCamera,
    segmentation_hangs: threading.Event,
) -> None:
    """Privacy-blur without its segmentation is the room, sharp (the blur passes a frame
    with no mask through): the card stays, and the banner says why."""
    w = hold.start_window(qtbot, windows, config, hold.PRIVACY)
    qtbot.waitUntil(lambda: KEY in w.messages.bars, timeout=BANNER_MS)
    text = w.messages.bars[KEY].text
    assert "hides the room" in text and "until it does" in text, text
    qtbot.wait(1000)  # past the time the rest of a preset goes live in
    frames = camera.frames()
    assert len(frames) >= 20, len(frames)
    assert all(f.digest in hold.CARDS for f in frames), "the room went out"
    segmentation_hangs.set()
    hold.wait_processed(qtbot, w, camera, 0, 5)
    assert hold.unprocessed(w, camera.frames()) == []
    qtbot.waitUntil(lambda: KEY not in w.messages.bars, timeout=2000)
