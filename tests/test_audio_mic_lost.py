"""A talking head's microphone that stops: its sound server killed, the device unplugged, or
one that never delivers at all.

With the virtual PulseAudio microphone's server killed and started again mid-run, PortAudio's
stream stayed dead (``stream.active`` False) and the talking head stayed silent for the rest of
the run, while the window's Microphone row still said "Working". A microphone that delivered
25 ms of sound and then nothing was never said to be gone (the rule waited for a second of
sound), and its recording played at twice the speed (2026-12-08). Here the stopped stream is
opened again, the stage says when it is gone and when it is back, and the window's row follows.

Load-free: the stage runs on a made-up capture clock; the device's blocks are given by hand
through a stand-in for ``sounddevice`` (the real :class:`~pipelines.audio.inputs.MicInput`,
its ring and its reopening thread)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from pipelines.audio import inputs
from pipelines.audio import stage as audio_stage
from pipelines.audio.inputs import MicInput
from pipelines.audio.stage import MIC_SILENT_S, AudioMouth, AudioMouthSettings
from pipelines.frame import FrameContext

MIC_RATE = 16000
FPS = 30.0


class UnpluggedStream:
    """A PortAudio input stream as ``sounddevice`` gives it: ``active`` until its device or
    server goes (:meth:`SoundCard.kill`)."""

    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self.active = False
        self.closed = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active, self.closed = False, True


class SoundCard:
    """What :class:`MicInput` uses of ``sounddevice``: one input; each ``InputStream`` a new
    :class:`UnpluggedStream`, refused while the server is down."""

    default = SimpleNamespace(device=(0, 0))

    def __init__(self) -> None:
        self.streams: list[UnpluggedStream] = []
        self.down = False

    def query_devices(self) -> list[dict[str, Any]]:
        return [{"name": "usb mic", "max_input_channels": 1, "default_samplerate": MIC_RATE}]

    def InputStream(self, *, samplerate: float, callback: Any, **kw: Any) -> UnpluggedStream:
        if int(samplerate) != MIC_RATE or self.down:
            raise OSError("Error querying device -1")
        stream = UnpluggedStream(callback)
        self.streams.append(stream)
        return stream

    def kill(self) -> None:
        self.down = True
        self.streams[-1].active = False

    def deliver(self, seconds: float, level: float = 0.1) -> None:
        """``seconds`` of 10 ms blocks through the newest stream."""
        block = np.full((MIC_RATE // 100, 1), level, np.float32)
        for _ in range(round(seconds * 100)):
            self.streams[-1].callback(block, MIC_RATE // 100, None, None)


class Run:
    """An ``audio_mouth`` stage on the card's microphone, fed frames on a made-up clock."""

    def __init__(self, card: SoundCard) -> None:
        self.mic = MicInput()
        self.stage = AudioMouth(AudioMouthSettings(input="mic", vad=False), audio=self.mic)
        self.stage.open()
        self.t = 1000.0
        self.index = 0
        self.reports: list[str] = []

    def frames(self, seconds: float) -> None:
        for _ in range(round(seconds * FPS)):
            ctx = FrameContext(self.t, self.index)
            self.stage.process(np.zeros((8, 8, 3), np.uint8), ctx)
            self.reports += self.stage.take_reports()
            self.t += 1 / FPS
            self.index += 1

    def settle_reopen(self) -> None:
        """Wait for the reopening thread (a real one) to have tried."""
        thread = self.mic._reopening
        if thread is not None:
            thread.join(timeout=5)


@pytest.fixture
def card(monkeypatch: pytest.MonkeyPatch) -> SoundCard:
    made = SoundCard()
    monkeypatch.setattr(inputs, "_sounddevice", lambda: made)
    monkeypatch.setattr(inputs, "MIC_REOPEN_S", 0.0)  # the made-up clock runs faster
    return made


def said_gone(reports: list[str]) -> list[str]:
    return [r for r in reports if audio_stage.MIC_SILENT_SAID in r]


def test_a_microphone_whose_server_dies_and_comes_back_is_heard_again(
    card: SoundCard, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed: said once after MIC_SILENT_S, the window's row reads it; while the server is
    down the stream is tried again and refused; back: the stream is opened again, what it
    delivers reaches the mouth, and the stage says the microphone is back (a warning line, as
    the loss was). On the code before, the dead stream was never opened again."""
    run = Run(card)
    card.deliver(1.2)
    run.frames(0.5)
    assert run.stage.silent_microphone is None
    card.kill()
    run.frames(MIC_SILENT_S + 0.5)
    gone = said_gone(run.reports)
    assert len(gone) == 1 and "usb mic" in gone[0], run.reports
    assert run.stage.silent_microphone == run.mic.description
    run.settle_reopen()
    assert len(card.streams) == 1 and run.mic.reopens == 0  # the server is down: refused
    card.down = False
    run.frames(0.2)
    run.settle_reopen()
    assert len(card.streams) == 2 and run.mic.reopens == 1
    assert card.streams[0].closed and card.streams[1].active
    assert run.stage.silent_microphone is not None  # nothing delivered yet
    with caplog.at_level(logging.WARNING, logger="pipelines.audio.stage"):
        card.deliver(1.2)
        run.frames(0.3)
    assert run.stage.silent_microphone is None
    back = [r.getMessage() for r in caplog.records if "delivers sound again" in r.getMessage()]
    assert len(back) == 1, back
    assert run.mic.ring is not None and run.mic.ring.written == round(1.2 * MIC_RATE)
    # The reopened stream's own start gap is not said again: its loss and return were.
    assert run.mic.start_gap_notice is None
    assert len(said_gone(run.reports)) == 1
    run.stage.close()
    assert card.streams[1].closed


def test_a_microphone_that_gave_a_moment_of_sound_and_died_is_said_gone(
    card: SoundCard,
) -> None:
    """25 ms of sound, then nothing (the virtual microphone's server killed 5 s into a run
    whose first sound came late): the gone rule waited for a second of sound and said
    nothing, and the frames kept reading an ever older mouth. Now it is said, and the frames
    carry no mouth lag (a recording keeps their capture times)."""
    run = Run(card)
    card.deliver(0.03)
    run.frames(0.2)
    card.kill()
    run.frames(MIC_SILENT_S + 0.5)
    assert len(said_gone(run.reports)) == 1, run.reports
    ctx = FrameContext(run.t, run.index)
    run.stage.process(np.zeros((8, 8, 3), np.uint8), ctx)
    assert ctx.audio is not None and ctx.audio.voice is not None
    assert ctx.audio.voice.mouth_lag_s is None and ctx.audio.voice.frame_lag_s is None
    run.stage.close()


def test_a_microphone_that_never_delivers_is_said_once(card: SoundCard) -> None:
    """Open, and not one sample (muted in the system, a server that is stuck): said once,
    MIC_FIRST_SOUND_S after the first frame, not before (the virtual microphone's first sound
    comes 1-2 s after its open); its first sound later is a return."""
    run = Run(card)
    run.frames(audio_stage.MIC_FIRST_SOUND_S - 0.5)
    assert not said_gone(run.reports) and run.stage.silent_microphone is None
    run.frames(1.0)
    gone = said_gone(run.reports)
    assert len(gone) == 1 and "since it opened" in gone[0], run.reports
    assert run.stage.silent_microphone == run.mic.description
    run.settle_reopen()
    assert len(card.streams) == 1  # its stream is still running: not opened again
    card.deliver(1.2)
    run.frames(0.2)
    assert run.stage.silent_microphone is None
    assert len(said_gone(run.reports)) == 1
    run.stage.close()


def test_a_closed_microphone_is_not_opened_again(card: SoundCard) -> None:
    """A reopen that finishes after the stage closed its microphone closes what it opened
    (a stream left running would keep the device busy)."""
    run = Run(card)
    card.deliver(1.2)
    run.frames(0.2)
    card.kill()
    card.down = False
    run.mic.close()
    run.mic._reopen(card.streams[0], run.mic.device)  # as the thread would, too late
    assert len(card.streams) == 2 and card.streams[1].closed
    assert run.mic.stream is None
