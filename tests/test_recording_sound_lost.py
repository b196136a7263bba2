"""A recording whose microphone's sound came too late to be read says so when it ends (QA
leftover: the lost seconds were a log line only).

The recorder reads the microphone from its ring, which keeps the last seconds heard; a machine
too busy to read it in time loses what the ring wrote over, and the track has silence there.
The recording's summary (the line `camfx run` prints) and the window's message bar now say
how much; a recording that lost nothing says nothing more.
"""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from test_recording import DURATION_MATCH_S, streams_of

from pipelines.audio.inputs import MicInput
from pipelines.audio.mux import MicAudio
from pipelines.audio.ring import AudioRing
from pipelines.frame import Frame
from pipelines.outputs.recorder import VideoFileOutput

pytest.importorskip("av")

FPS = 30.0
RATE = 48000
BLOCK = 480
"""A sound card's 10 ms blocks."""
RING_S = 0.5
STALL_S = 1.5
"""How long the recorder is not given a frame (a busy machine) while the microphone goes on."""
LOST_TOLERANCE_S = 0.02


def _record(path: Path, stall_s: float) -> VideoFileOutput:
    """One frame, ``stall_s`` of microphone blocks with no frame recorded, then 15 frames: the
    ring (:data:`RING_S`) keeps only its last half second of what was heard meanwhile."""
    ring = AudioRing(int(RING_S * RATE))
    mic = MicInput()  # its ring, without PortAudio
    mic.ring, mic.device_rate = ring, RATE
    out = VideoFileOutput(str(path), audio=MicAudio(SimpleNamespace(input=mic)))
    out.open(64, 64, FPS)
    t0 = time.monotonic()
    image = np.zeros((64, 64, 3), np.uint8)
    heard = 0

    def hear(seconds: float) -> None:
        nonlocal heard
        for _ in range(round(seconds * RATE / BLOCK)):
            ring.write(np.full(BLOCK, 0.1, np.float32))
            heard += BLOCK

    try:
        hear(0.1)
        out.write(Frame.new(image, t0, 0))
        hear(stall_s)
        for i in range(1, 16):
            hear(1.0 / FPS)
            out.write(Frame.new(image, t0 + stall_s + i / FPS, i))
    finally:
        out.close()
    return out


def test_sound_the_ring_wrote_over_is_said_in_the_recordings_summary(tmp_path: Path) -> None:
    path = tmp_path / "busy.mp4"
    out = _record(path, STALL_S)
    # Read at the first frame: 0.1 s; at the next, the ring held its last 0.5 s of the stall
    # and that frame's 1/30 s.
    expected = STALL_S + 1.0 / FPS - RING_S
    assert out.sound_lost_s == pytest.approx(expected, abs=LOST_TOLERANCE_S)
    assert (
        f"; {out.sound_lost_s:.2f} s of the microphone's sound was lost (the machine was too "
        "busy to read it in time): silence there"
    ) in out.summary()
    # The gap is silence in the track, not a track cut short against the picture.
    info = streams_of(path)
    assert info["audio"] == "aac" and abs(info["audio_s"] - info["video_s"]) < DURATION_MATCH_S


def test_a_recording_read_in_time_says_nothing_was_lost(tmp_path: Path) -> None:
    out = _record(tmp_path / "calm.mp4", RING_S / 2)
    assert out.sound_lost_s == 0.0
    assert "lost" not in out.summary()


def test_the_window_says_a_saved_recording_lost_sound(
    qtbot: Any, windows: list[Any], config: Path, tmp_path: Path, monkeypatch
) -> None:
    """The window's controller reads the stopped recording's :attr:`sound_lost_s` and its
    message bar says it (the loss itself is made for real above; here the recorder is a real
    one whose count is set, as a talking head's microphone is not in this window)."""
    pytest.importorskip("pytestqt")
    from test_gui_support import recording_window

    from app.gui.outputs import RECORDING_SOUND_LOST

    monkeypatch.setattr(VideoFileOutput, "sound_lost_s", property(lambda self: 0.75))
    window = recording_window(qtbot, windows, config, tmp_path / "recordings")
    controller = window.controller
    window.record_button.click()
    qtbot.waitUntil(lambda: controller.recording_path is not None, timeout=5000)
    path = Path(controller.recording_path or "")
    qtbot.waitUntil(lambda: controller.record.frames_written >= 3, timeout=10000)
    window.record_button.click()
    # The bar and the "off" (the status line) are two queued signals: both delivered.
    qtbot.waitUntil(
        lambda: RECORDING_SOUND_LOST in window.messages.texts() and not window.recording,
        timeout=10000,
    )
    text = window.messages.texts()[RECORDING_SOUND_LOST]
    assert path.name in text and "0.75 s of the microphone's sound was lost" in text
    assert window.messages.bars[RECORDING_SOUND_LOST].level == "warning"
    assert "Recording saved to" in window.statusBar().currentMessage()
