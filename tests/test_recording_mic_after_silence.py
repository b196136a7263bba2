"""A window's recording whose first frames carry no voice while its talking head's microphone
already hears: Record pressed on the "Starting..." card, or while a talking-head preset opens
beside the running one. The microphone opens with its stage, but frames show its mouth only
once the whole new list is swapped in (seconds later on a busy machine); what the user said
meanwhile was recorded as silence (qa9: the first 0.5-3.3 s of speech after Record, beside six
CPU hogs on 2 cores). Here it is kept where it was said, and sound a late read cannot get back
(the ring overwrote it) is said in a log line, not left as a silent gap.

Load-free: the frames and the microphone's delivery are given by hand on a made-up clock; the
recorder, the window's sound (:class:`~pipelines.audio.mux.TalkingHeadVoice`), the real
:class:`~pipelines.audio.inputs.MicInput` ring and PyAV's encoders are the real ones."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from pipelines.audio.inputs import MicInput, read_audio_file
from pipelines.audio.mux import MicAudio, TalkingHeadVoice
from pipelines.audio.resample import resample
from pipelines.audio.ring import AudioRing
from pipelines.audio.stage import FrameVoice
from pipelines.frame import Frame
from pipelines.outputs.recorder import VideoFileOutput

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO / "pipelines/assets/talking_head_speech.wav"
MIC_RATE = 16000
"""The virtual PulseAudio microphone's rate."""
TRACK_RATE = 48000
FPS = 30.0
T0 = 1000.0
"""The made-up capture clock's time at the recording's first frame."""
MOUTH_LAG_S = 0.04
"""The frames' settled mouth lag: the recording places the microphone this much later."""
SETTLE_S = 1.0
"""Frames with the microphone's mouth say its lag is settled after this long (as the stage's
``MOUTH_LAG_WINDOW_S``); the recording reads nothing of it before."""
SPEECH_FROM = 0.4
"""Recording time at which the user starts to speak: 0.4 s after Record."""
SWAP_AT = 3.0
"""Recording time of the first frame that shows the talking head (its mouth on the
microphone), 2.6 s into the speech: QA's longest loss was 3.3 s."""
SILENT_RMS = 1e-3
EDGE_S = 0.03
"""Left out beside a step in loudness: AAC spreads it over its 21 ms frames."""


def said() -> np.ndarray:
    """4 s of the shipped speech clip from its first word, at :data:`MIC_RATE`."""
    samples, rate = read_audio_file(SPEECH)
    x = resample(samples.reshape(-1), rate, MIC_RATE)
    start = int(np.argmax(np.abs(x) > 0.02))
    return x[start : start + 4 * MIC_RATE].astype(np.float32)


class HeardMicrophone:
    """The real :class:`MicInput` with its ring (of its own default length, or
    ``ring_seconds``), written as a sound card's callback writes it: up to each moment, each
    write stamped with the time its newest sample was heard (no device latency)."""

    def __init__(self, sound: np.ndarray, ring_seconds: float | None = None) -> None:
        self.mic = MicInput() if ring_seconds is None else MicInput(ring_seconds=ring_seconds)
        self.mic.ring = AudioRing(int(MIC_RATE * self.mic.ring_seconds))
        self.mic.device_rate = MIC_RATE
        self.sound = sound
        """What it hears from recording time 0 on (it opened then)."""

    def hear_until(self, t: float) -> None:
        ring = self.mic.ring
        assert ring is not None
        end = round(t * MIC_RATE)
        if end > ring.written:
            block = np.zeros(end - ring.written, np.float32)
            part = self.sound[ring.written : end]
            block[: len(part)] = part
            ring.write(block)
            ring.stamp = (ring.written, T0 + ring.written / MIC_RATE)


def mouthed(mic: MicInput, t: float, since: float, settle_s: float) -> SimpleNamespace:
    """A frame's ``ctx.audio`` whose mouth was read from ``mic``, its lag measured from
    ``since`` and settled ``settle_s`` later."""
    settled = t - since >= settle_s
    voice = FrameVoice(mic, "wall", FPS, MOUTH_LAG_S, settled, MOUTH_LAG_S)
    return SimpleNamespace(voice=voice)


def record(
    path: Path,
    heard: HeardMicrophone,
    source: object,
    voice_from: float,
    end: float,
    settle_s: float = SETTLE_S,
    hidden: tuple[float, float] = (0.0, 0.0),
) -> None:
    """Frames at :data:`FPS` from recording time 0 to ``end``, the microphone hearing up to
    each one's capture; from ``voice_from`` on they carry its mouth (before: no voice, as the
    "Starting..." card's frames or those of a preset without a talking head), except from
    ``hidden[0]`` to ``hidden[1]`` (the privacy card held over the same talking head)."""
    out = VideoFileOutput(str(path), audio=source)
    out.open(64, 48, FPS)
    try:
        for i in range(round(end * FPS)):
            t = i / FPS
            heard.hear_until(t)
            frame = Frame.new(np.zeros((48, 64, 3), np.uint8), T0 + t, i)
            if t >= voice_from and not hidden[0] <= t < hidden[1]:
                frame.ctx.audio = mouthed(heard.mic, t, voice_from, settle_s)
            out.write(frame)
    finally:
        out.close()


def sound_of(path: Path) -> np.ndarray:
    """The recording's sound at :data:`MIC_RATE`, from time 0."""
    import av

    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    assert frames and abs(float(frames[0].time)) < 1e-3, "the sound does not start at 0"
    sound = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return resample(sound, TRACK_RATE, MIC_RATE)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def span(x: np.ndarray, start: float, end: float) -> np.ndarray:
    return x[round(start * MIC_RATE) : round(end * MIC_RATE)]


def test_speech_heard_before_the_talking_head_shows_is_recorded_where_it_was_said(
    tmp_path: Path,
) -> None:
    """The user speaks from 0.4 s, the talking head's first frame comes at 3.0 s and its
    mouth's lag settles a second later. On the code before, the recording was silent up to
    3.0 s: the microphone's sound began at its first frame, and its ring (2 s) no longer held
    the speech's start when it was first read."""
    voice = said()
    sound = np.concatenate([np.zeros(round(SPEECH_FROM * MIC_RATE), np.float32), voice])
    heard = HeardMicrophone(sound)
    path = tmp_path / "window.mp4"
    record(path, heard, TalkingHeadVoice(FPS), SWAP_AT, SWAP_AT + SETTLE_S + 0.8)
    got = sound_of(path)
    start = SPEECH_FROM + MOUTH_LAG_S  # placed where the mouth shows it, as from the swap on
    assert rms(span(got, 0.0, start - EDGE_S)) < SILENT_RMS  # nothing before the speech
    before_swap = span(got, start + EDGE_S, SWAP_AT - EDGE_S)
    wanted = span(sound, SPEECH_FROM + EDGE_S, SWAP_AT - MOUTH_LAG_S - EDGE_S)
    assert rms(before_swap) > 0.5 * rms(wanted), (
        f"the speech before the talking head's first frame is lost: rms {rms(before_swap):.3f}"
        f" where {rms(wanted):.3f} was said"
    )
    # Whole and in its place, through the swap: the recorded speech is what was said, moved
    # by the mouth's lag to the sample (AAC's own error aside).
    whole = span(got, start, start + 3.5)
    piece = voice[: len(whole)]
    assert len(whole) == len(piece) == round(3.5 * MIC_RATE)
    found = int(np.argmax(np.correlate(span(got, start - 0.05, start + 3.55), piece, "valid")))
    assert abs(found / MIC_RATE - 0.05) < 0.001, (
        f"the speech is {found / MIC_RATE - 0.05:+.4f} s off"
    )
    alike = float(np.dot(whole, piece) / (np.linalg.norm(whole) * np.linalg.norm(piece)))
    assert alike > 0.95, f"the recorded speech is not what was said (r {alike:.2f})"


def test_the_same_microphone_after_a_held_card_keeps_the_card_silent(tmp_path: Path) -> None:
    """Only a microphone new to the recording reaches back over silence: the same talking
    head's microphone, heard while a card hid the picture (the privacy card held over the
    preset, its stages and microphone still open), stays silent there as before."""
    heard = HeardMicrophone(np.full(5 * MIC_RATE, 0.1, np.float32))
    path = tmp_path / "card.mp4"
    record(path, heard, TalkingHeadVoice(FPS), 0.0, 4.0, settle_s=0.0, hidden=(1.5, 3.0))
    got = sound_of(path)
    assert rms(span(got, 0.2, 1.5 - EDGE_S)) > 0.05  # heard before the card
    assert rms(span(got, 1.5 + MOUTH_LAG_S + EDGE_S, 3.0 - EDGE_S)) < SILENT_RMS
    assert rms(span(got, 3.0 + MOUTH_LAG_S + EDGE_S, 3.9)) > 0.05  # and after it


def test_microphone_sound_a_late_read_cannot_get_back_is_said_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A recorder that reads the microphone later than its ring keeps (here the mouth's lag
    settles after 2.5 s, against a 1-s ring) has a gap of silence where the ring overwrote the
    sound: one log line says how much was lost and why. On the code before, nothing did."""
    heard = HeardMicrophone(np.full(5 * MIC_RATE, 0.1, np.float32), ring_seconds=1.0)
    caplog.set_level(logging.WARNING, logger="pipelines.audio.mux")
    # The command line's sound (MicAudio): every frame carries the microphone's mouth.
    source = MicAudio(SimpleNamespace(input=heard.mic))
    record(tmp_path / "late.mp4", heard, source, 0.0, 3.0, settle_s=2.5)
    lines = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert len(lines) == 1, lines
    lost = float(lines[0].split("lost ")[1].split(" s")[0])
    assert 1.4 < lost < 1.6, lines[0]  # 2.5 s of waiting, less the 1 s the ring keeps
    assert "ring keeps 1 s" in lines[0], lines[0]


class BusySoundCard:
    """What :class:`MicInput` uses of ``sounddevice``: one input, whose blocks the test
    delivers by hand (:meth:`deliver`), stamped as heard from ``heard_from`` on."""

    default = SimpleNamespace(device=(0, 0))

    def __init__(self) -> None:
        self.callback: Any = None

    def query_devices(self) -> list[dict[str, Any]]:
        return [{"name": "busy mic", "max_input_channels": 1, "default_samplerate": MIC_RATE}]

    def InputStream(self, *, samplerate: float, callback: Any, **kw: Any) -> SimpleNamespace:
        if int(samplerate) != MIC_RATE:
            raise ValueError(f"{samplerate} Hz: this card records at {MIC_RATE} Hz")
        self.callback = callback
        return SimpleNamespace(start=lambda: None, stop=lambda: None, close=lambda: None)

    def deliver(self, mic: MicInput, seconds: float, heard_from: float) -> None:
        """``seconds`` of 10 ms blocks, the first heard at ``heard_from``; the stage pulls
        after each."""
        ring = mic.ring
        assert ring is not None
        for _ in range(round(seconds * 100)):
            self.callback(np.zeros((MIC_RATE // 100, 1), np.float32), MIC_RATE // 100, None, None)
            ring.stamp = (ring.written, heard_from + ring.written / MIC_RATE)
            mic.pull()


@pytest.mark.parametrize("first_heard_after_s", [0.05, 1.0])
def test_a_microphone_that_delivers_nothing_at_first_says_so(
    first_heard_after_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside six CPU hogs the virtual microphone's first sound came 0.12-1.85 s after it
    opened, the sound in between never delivered (0.04 s in a quiet window): what was said
    then is in no recording, and the voice stage says so once (a log line, and a bar in the
    window: a stage report). A prompt start says nothing."""
    from pipelines.audio import inputs
    from pipelines.audio.stage import AudioMouth, AudioMouthSettings
    from pipelines.frame import FrameContext

    card = BusySoundCard()
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    mic = MicInput()
    stage = AudioMouth(AudioMouthSettings(input="none", vad=False), audio=mic)
    stage.open()  # opens the microphone (then the analyser: tens of milliseconds)
    opened = mic._opened_at
    assert opened is not None
    card.deliver(mic, 1.2, opened + first_heard_after_s)
    reports = []
    for i in range(3):
        stage.process(np.zeros((4, 4, 3), np.uint8), FrameContext(time.monotonic(), i))
        reports += stage.take_reports()
    stage.close()
    lines = [r for r in reports if "delivered no sound" in r]
    assert mic.start_gap_s is not None
    assert first_heard_after_s - 0.01 < mic.start_gap_s < first_heard_after_s + 0.05
    if first_heard_after_s < inputs.START_GAP_SAID_S:
        assert not lines, lines
    else:
        assert len(lines) == 1 and "busy mic" in lines[0] and "first 1.0 s" in lines[0], lines
