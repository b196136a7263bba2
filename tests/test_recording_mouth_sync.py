"""A recording of a talking head driven by the microphone has its mouth in step with its voice,
within one frame, as a voice file's has (``camfx run --talking-head --audio mic --output``).

What is measured is what a viewer judges: in the recorded frames, the mouth's opening as the
project's own tracker reads it (:func:`pipelines.avatar.tracked.opening`), against the opening
the mouth analyser asks for the recorded sound, read as a voice file is read (looked ahead over
its latency, so a mouth exactly in step reads 0): the lag that correlates them best. A voice
file's recording reads 8 ms (the animator's smoothing); a microphone's read 37-48 ms on the
virtual PulseAudio microphone before the sound was placed by the mouth's lag (2026-12-06).

Twice: through a stand-in for PortAudio whose device hears a speech clip and delivers it
:data:`DEVICE_LATENCY_S` late in 10 ms blocks, reporting that latency as PortAudio does; and,
where PulseAudio is installed, end to end through the virtual microphone
(``../shared/tools/virtual-mic``), in a process of its own."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from test_audio_mic import virtual_mic  # noqa: F401  (a fixture)
from test_recording_voice import MIC_BLOCK, MIC_RATE, FakeStream

from pipelines.audio.inputs import read_audio_file
from pipelines.audio.resample import ANALYSIS_RATE, resample

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO / "pipelines/assets/talking_head_speech.wav"
FPS = 30.0
FRAME_S = 1 / FPS
"""The bound: one frame, as a voice file's recording keeps."""
MAX_LAG_MS = 150
"""The lags searched, each way."""
DEVICE_LATENCY_S = 0.03
"""The stand-in device's input latency: a USB microphone's order (10-40 ms)."""
RUN = ["run", "--source", "demo", "--size", "640x360", "--talking-head", "--avatar-mode"]
RUN += ["stand-in", "--audio", "mic", "-y", "--output"]


def speech(seconds: float) -> np.ndarray:
    """``seconds`` of the shipped speech clip from its first word, at :data:`MIC_RATE`."""
    samples, rate = read_audio_file(SPEECH)
    x = resample(samples.reshape(-1), rate, MIC_RATE)
    start = int(np.argmax(np.abs(x) > 0.02))
    return x[start : start + round(seconds * MIC_RATE)]


# --------------------------------------------------------------------------- the measure
def recorded(path: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, int]:
    """The frames, their times, the sound (mono, from time 0) and its rate."""
    import av

    with av.open(str(path)) as c:
        frames = [(f.to_ndarray(format="bgr24"), float(f.time)) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        decoded = list(c.decode(audio=0))
        rate = decoded[0].sample_rate
        assert abs(float(decoded[0].time)) < 1e-3, decoded[0].time
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in decoded])
    return [f for f, _ in frames], np.array([t for _, t in frames]), sound, rate


def tracked_openings(frames: list[np.ndarray]) -> np.ndarray:
    """The mouth's opening in each frame, as the project's tracker reads it (NaN: no face)."""
    from pipelines.avatar.tracked import measuring_tracker, opening
    from pipelines.frame import FrameContext

    tracker = measuring_tracker()
    tracker.open()
    try:
        out = []
        for i, image in enumerate(frames):
            ctx = FrameContext(timestamp=i * FRAME_S, index=i)
            tracker.process(image, ctx)
            face = ctx.primary_face
            out.append(np.nan if face is None else opening(np.asarray(face.landmarks)))
    finally:
        tracker.close()
    return np.array(out, np.float64)


def mouth_lag_ms(
    path: Path, sound_earlier_s: float = 0.0, seen: np.ndarray | None = None
) -> tuple[int, float]:
    """(ms the recorded mouth trails its recorded voice, Pearson r there): the tracked
    opening against the opening the analyser asks for the sound at each frame's time, looked
    ahead as for a voice file; over the frames from the first to the last spoken one.
    ``sound_earlier_s``: the sound is taken that much earlier than recorded (a check of the
    measure). ``seen``: the recording's :func:`tracked_openings`, where they were read
    already (the frames are the same whatever the sound is taken as)."""
    from pipelines.audio.mouth import MouthAnalyzer
    from pipelines.audio.mouth_eval import run_analyzer
    from pipelines.audio.vad import StreamingVad

    frames, times, sound, rate = recorded(path)
    sound = sound[round(sound_earlier_s * rate) :]
    if seen is None:
        seen = tracked_openings(frames)
    voice = resample(sound.astype(np.float32), rate, ANALYSIS_RATE)
    asked = run_analyzer(MouthAnalyzer(None, StreamingVad()), voice, compensate=True)
    spoken = asked.time[asked.opening > 0.05]
    assert len(spoken), f"{path.name}: no speech in the recorded sound"
    use = ~np.isnan(seen) & (times >= spoken[0] - 0.2) & (times <= spoken[-1] + 0.2)
    assert use.sum() > 2 * FPS, f"{path.name}: {use.sum()} frames with a face in the speech"
    best = (-2.0, 0)
    for lag in range(-MAX_LAG_MS, MAX_LAG_MS + 1):
        wanted = np.interp(times[use] - lag / 1000, asked.time, asked.opening)
        r = float(np.corrcoef(seen[use], wanted)[0, 1])
        if r > best[0]:
            best = (r, lag)
    return best[1], best[0]


def check_continuous(path: Path, said: np.ndarray) -> None:
    """The recording holds ``said`` (at :data:`MIC_RATE`) whole, as one piece: a gap or an
    overlap in it (where the sound's placement was decided) would shift what follows."""
    _, _, sound, rate = recorded(path)
    heard = resample(sound.astype(np.float32), rate, ANALYSIS_RATE)
    want = resample(said, MIC_RATE, ANALYSIS_RATE)
    n = len(heard) + len(want)
    scores = np.fft.irfft(np.fft.rfft(heard, n) * np.conj(np.fft.rfft(want, n)), n)
    found = int(np.argmax(scores[: len(heard) - len(want) + 1]))
    got = heard[found : found + len(want)]
    alike = float(np.dot(got, want) / (np.linalg.norm(got) * np.linalg.norm(want) + 1e-12))
    assert alike > 0.9, f"the voice is not in the recording as one piece ({alike:.2f} alike)"


def check_in_step(path: Path) -> None:
    lag, r = mouth_lag_ms(path)
    print(f"{path.name}: the mouth trails its voice by {lag:+d} ms (r {r:.3f})")  # with -s
    assert r > 0.8, f"the mouth does not follow the recorded voice (r {r:.2f} at {lag:+d} ms)"
    assert abs(lag) <= FRAME_S * 1000, f"the mouth trails its voice by {lag:+d} ms (r {r:.2f})"


# --------------------------------------------------------------------------- a stand-in device
class LateSoundCard:
    """What :class:`~pipelines.audio.inputs.MicInput` uses of ``sounddevice``: one input that
    hears :attr:`voice` from a moment after the stream starts, and delivers each 10 ms block
    :data:`DEVICE_LATENCY_S` after its last sample was heard (``stream.latency`` says so)."""

    default = SimpleNamespace(device=(0, 0))

    def __init__(self, voice: np.ndarray, after_s: float) -> None:
        self.voice = np.concatenate([np.zeros(round(after_s * MIC_RATE), np.float32), voice])
        self.streams: list[LateStream] = []

    def query_devices(self) -> list[dict[str, Any]]:
        return [{"name": "late mic", "max_input_channels": 1, "default_samplerate": MIC_RATE}]

    def InputStream(self, *, samplerate: float, callback: Any, **kw: Any) -> LateStream:
        if int(samplerate) != MIC_RATE:
            raise ValueError(f"{samplerate} Hz: this card records at {MIC_RATE} Hz")
        stream = LateStream(self.voice, callback)
        self.streams.append(stream)
        return stream


class LateStream(FakeStream):
    """A microphone whose blocks come :data:`DEVICE_LATENCY_S` after their sound was heard."""

    latency = DEVICE_LATENCY_S
    pads = True


# --------------------------------------------------------------------------- tests
def record_microphone(card: LateSoundCard, out: Path, seconds: float = 6.0) -> None:
    """``camfx run`` (:data:`RUN`) recording ``seconds`` of frames to ``out`` through ``card``
    (patched in by the caller), its streams closed after."""
    from app.cli import main

    try:
        assert main([*RUN, str(out), "--frames", str(round(seconds * FPS))]) == 0
    finally:
        for stream in card.streams:
            stream.close()


def make_frames_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each frame stamped :func:`waited` before it was read: the voice stage then sees what a
    frame that waited that long after its capture sees."""
    from pipelines.sources.base import Source

    read, first = Source.read, []

    def read_late(self: Source) -> Any:
        frame = read(self)
        if frame is not None:
            if not first:
                first.append(frame.ctx.timestamp)
            frame.ctx.timestamp -= waited(frame.ctx.timestamp - first[0])
        return frame

    monkeypatch.setattr(Source, "read", read_late)


def record_waited(
    card_type: type[LateSoundCard], out: Path, monkeypatch: pytest.MonkeyPatch
) -> np.ndarray:
    """Record 4 s of speech (0.8 s in) through a ``card_type`` patched in, each frame stamped
    as if it had waited (:func:`make_frames_wait`); what was said."""
    from pipelines.audio import inputs

    make_frames_wait(monkeypatch)
    said = speech(4.0)
    card = card_type(said, after_s=0.8)
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    record_microphone(card, out)
    return said


def test_a_microphone_recording_has_the_mouth_in_step_with_the_voice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device 30 ms late: placed where it was heard, the voice led the mouth by 71 ms. The
    speech starts before the recording's sound is placed (its mouth's lag is measured over the
    first second): it is recorded whole all the same."""
    from pipelines.audio import inputs

    said = speech(4.0)
    card = LateSoundCard(said, after_s=0.8)
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    out = tmp_path / "mic.mp4"
    record_microphone(card, out)
    check_continuous(out, said)
    check_in_step(out)


def waited(seconds_in: float) -> float:
    """How long a frame captured ``seconds_in`` into the run waits before the mouth's stage,
    as on a machine busy past its cores (beside six CPU hogs on 2 cores: 74 ms at the median,
    300 ms at the 90th percentile, 2026-12-07): none for the first 1.2 s, while the mouth's
    lag settles; then it grows to 120 ms in 0.4 s and swings 60-180 ms once a second."""
    if seconds_in < 1.2:
        return 0.0
    if seconds_in < 1.6:
        return 0.3 * (seconds_in - 1.2)
    return 0.12 + 0.06 * math.sin(2 * math.pi * (seconds_in - 1.6))


def test_a_microphone_recording_of_frames_that_waited_has_the_mouth_in_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames that wait between their capture and the mouth's stage (a game beside the call)
    have their mouth read from sound heard after their capture: recorded at their capture
    time, the mouth led its voice by 76 ms beside six CPU hogs (the virtual microphone, r
    0.78), and here by ~120 ms. Each such frame is recorded where its mouth's voice is.

    The wait is made by stamping each frame that much before it was read (the stage then
    sees what a frame that waited sees): the picture and the sound are otherwise as in the
    first test, so this is load-free and repeatable."""
    out = tmp_path / "waited.mp4"
    said = record_waited(LateSoundCard, out, monkeypatch)
    check_continuous(out, said)
    check_in_step(out)


class StarvedStream(LateStream):
    """A microphone whose delivery stalls as on a machine busy past its cores (its callback
    thread waits for a core): from 1.5 s, in every 0.6 s, the blocks due in the first
    :attr:`stall_s` come all at once at its end."""

    stall_s = 0.15

    def _due(self, k: int) -> float:
        due = super()._due(k)
        into = due - self.t0 - 1.5
        if into > 0 and into % 0.6 < self.stall_s:
            due += self.stall_s - into % 0.6
        return due


class StarvedSoundCard(LateSoundCard):
    def InputStream(self, *, samplerate: float, callback: Any, **kw: Any) -> LateStream:
        super().InputStream(samplerate=samplerate, callback=callback)  # the card's one rate
        stream = self.streams[-1] = StarvedStream(self.voice, callback)
        return stream


def test_a_starved_microphone_s_recording_keeps_its_frames_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames that wait while the microphone's own delivery stalls read no newer sound than
    the frame before: moved all the way to their mouth's sound, runs of them landed on one
    time stamp (up to 10 beside six CPU hogs, qa9), never shown. Here the frames wait as in
    the test above and the microphone stalls 0.15 s in every 0.6 s: each recorded frame keeps
    at least half its spacing from the frame before as captured (a paced source catching up
    on a busy machine captures frames closer than a frame apart itself), and the mouth stays
    within a frame of its voice."""

    captured = capture_times(monkeypatch)

    out = tmp_path / "starved.mp4"
    said = record_waited(StarvedSoundCard, out, monkeypatch)
    _, times, _, _ = recorded(out)
    assert len(times) == len(captured)
    kept = np.diff(times) / np.maximum(np.diff(captured), 1e-6)
    tick = 1e-3  # the recording's time base rounds each frame's time (90 kHz and finer)
    short = np.diff(times) + tick < 0.5 * np.diff(captured)
    print(f"{out.name}: spacing kept {kept.min():.2f}-{kept.max():.2f} of the captured")  # -s
    assert not short.any(), f"{int(short.sum())} frames closer than half their captured spacing"
    check_continuous(out, said)
    check_in_step(out)


def capture_times(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The capture time of each frame handed to a recording, in order (filled as they are)."""
    from pipelines.outputs.recorder import VideoFileOutput

    write, captured = VideoFileOutput.write, []

    def write_seen(self: VideoFileOutput, frame: Any) -> None:
        captured.append(frame.timestamp)
        write(self, frame)

    monkeypatch.setattr(VideoFileOutput, "write", write_seen)
    return captured


def assert_captured_pace(times: np.ndarray, captured: list[float], since: float) -> None:
    """Every recorded frame captured after ``since`` keeps its captured spacing, and the
    recording ends as late as the run."""
    later = np.flatnonzero(np.asarray(captured[1:]) > since) + 1
    assert len(later) > 30
    spacing = np.diff(times)[later - 1] / np.maximum(np.diff(captured)[later - 1], 1e-6)
    assert spacing.min() > 0.9 and spacing.max() < 1.1, (spacing.min(), spacing.max())
    span, run = times[-1] - times[0], captured[-1] - captured[0]
    assert abs(span - run) < 0.1, (span, run)


class DeadStream(LateStream):
    """A microphone whose sound server dies :attr:`dies_s` into the stream: nothing after."""

    dies_s = 3.0

    @property
    def active(self) -> bool:
        """PortAudio's stream stops when its server dies."""
        return super().active and time.monotonic() - self.t0 < self.dies_s

    def _run(self) -> None:
        k = 0
        while not self._stop.is_set():
            due = self._due(k)
            if due - self.t0 > self.dies_s:
                self._stop.wait()  # no more blocks, ever
                return
            time.sleep(max(0.0, due - time.monotonic()))
            block = self.noise[k : k + MIC_BLOCK]
            if len(block) < MIC_BLOCK:
                block = np.pad(block, (0, MIC_BLOCK - len(block)))
            self.callback(block[:, None], MIC_BLOCK, None, None)
            k += MIC_BLOCK


class DeadSoundCard(LateSoundCard):
    """Its server dies with the first stream's :attr:`DeadStream.dies_s`; with ``returns``,
    a stream opened again after :attr:`back_s` into the run delivers the voice from its start
    (else it is refused: the server stays down)."""

    back_s = 5.0

    def __init__(self, voice: np.ndarray, after_s: float, returns: bool = False) -> None:
        super().__init__(voice, after_s)
        self.returns = returns

    def InputStream(self, *, samplerate: float, callback: Any, **kw: Any) -> LateStream:
        if self.streams:
            first = self.streams[0]
            if not self.returns or time.monotonic() - first.t0 < self.back_s:
                raise OSError("Error querying device -1")
            super().InputStream(samplerate=samplerate, callback=callback)
            return self.streams[-1]
        super().InputStream(samplerate=samplerate, callback=callback)
        stream = self.streams[-1] = DeadStream(self.voice, callback)
        return stream


def test_a_microphone_that_dies_is_said_and_the_recording_keeps_real_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The virtual microphone's sound server killed mid-run: every later frame's mouth read
    ever older sound, each was moved earlier by as much as it may, and the rest of the
    recording played at twice the speed (9.0 s for 12 s), with nothing said (qa62). Now the
    stage says once that the microphone gives no sound (after audio.stage.MIC_SILENT_S) and
    its later frames keep their captured spacing: the recording lasts as long as the run."""
    from pipelines.audio import inputs
    from pipelines.audio.stage import MIC_SILENT_S

    captured = capture_times(monkeypatch)
    card = DeadSoundCard(speech(4.0), after_s=0.8)
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    out = tmp_path / "dead.mp4"
    with caplog.at_level("WARNING"):
        record_microphone(card, out, seconds=7.0)
    said = [r.getMessage() for r in caplog.records if "has given no sound" in r.getMessage()]
    assert len(said) == 1, said
    _, times, _, _ = recorded(out)
    assert len(times) == len(captured)
    # From a second past the silence's start (the detection, and the jump back) on, every
    # frame keeps its captured spacing, and the recording ends as late as the run.
    assert_captured_pace(times, captured, captured[0] + DeadStream.dies_s + MIC_SILENT_S + 0.5)


def _mouthed(voice_of: object, frame_lag: float, at: float = 0.0) -> SimpleNamespace:
    """A recorded frame's context whose talking head was mouthed by ``voice_of``'s sound
    with its own lag ``frame_lag`` (the track's median 44 ms), captured at ``at``."""
    from pipelines.audio.stage import FrameVoice

    voice = FrameVoice(voice_of, "wall", FPS, 0.044, True, frame_lag)  # type: ignore[arg-type]
    return SimpleNamespace(audio=SimpleNamespace(voice=voice), timestamp=at)


def test_only_frames_that_waited_past_half_a_frame_are_moved() -> None:
    """The slack of :meth:`pipelines.audio.mux._MicReader.frame_offset`: an unhurried
    frame's own lag (35-48 ms around a median of 44 on the virtual microphone) keeps its
    capture time; past half a frame, the frame moves by the rest, later or earlier (each
    frame here the first its reader sees: no slew)."""
    from pipelines.audio.mux import _MicReader

    mic = object()
    half = 0.5 / FPS

    def offset(frame_lag: float, speaker: object = mic, shift: float | None = None) -> float:
        reader = _MicReader(lambda: mic)
        reader.shift = shift
        return reader.frame_offset(_mouthed(speaker, frame_lag))

    assert offset(0.044) == 0.0
    assert offset(0.035) == 0.0 and offset(0.048) == 0.0
    assert offset(0.044 - half) == 0.0
    assert offset(0.044 - 0.120) == pytest.approx(0.120 - half)
    assert offset(0.044 + 0.100) == pytest.approx(-(0.100 - half))
    assert offset(-0.076, speaker=object()) == 0.0  # another voice's frame: its own time
    # Fixed when the track's sound was placed: the frames follow it.
    assert offset(0.030 - 0.120, shift=0.030) == pytest.approx(0.120 - half)


def test_moved_frames_keep_their_order_and_spacing() -> None:
    """Frames whose mouth read no newer sound than the one before (the microphone's delivery
    starved beside the frames' wait: each frame's own lag grows by its capture interval) were
    all moved onto that sound's instant: up to 10 distinct frames on one time stamp beside six
    CPU hogs (qa9). A frame moves earlier than the one before by at most half the capture
    interval (:data:`pipelines.audio.mux.FRAME_MOVE_SLEW`): the recorded spacing stays at
    least half the captured, and the move reaches a steady wait's at once."""
    from pipelines.audio.mux import _MicReader

    mic = object()
    reader = _MicReader(lambda: mic)
    reader.shift = 0.044
    captured = np.arange(60) / FPS
    # 20 frames at the usual lag, 10 that read one stuck sound, then a steady 150 ms wait.
    lags = np.concatenate(
        [np.full(20, 0.044), 0.044 + np.arange(1, 11) / FPS, np.full(30, 0.044 - 0.150)]
    )
    pairs = zip(captured, lags, strict=True)
    placed = np.array([t + reader.frame_offset(_mouthed(mic, lag, t)) for t, lag in pairs])
    spacing = np.diff(placed) * FPS
    assert spacing.min() >= 0.5 - 1e-9, spacing.min()
    assert placed[31] - captured[31] == pytest.approx(0.150 - 0.5 / FPS)
    assert placed[-1] - captured[-1] == pytest.approx(0.150 - 0.5 / FPS)
    # Asked again for the same frame (a recording's first frame is), the same answer.
    again = _mouthed(mic, 0.044 - 0.150, captured[-1])
    assert reader.frame_offset(again) == pytest.approx(placed[-1] - captured[-1])


VIRTUAL_MIC_CHILD = """
import os, subprocess, sys, threading, time
from app.cli import main
out, clip = sys.argv[1], sys.argv[2]
def play():
    while not os.path.exists(out):  # the recording starts with the engine
        time.sleep(0.05)
    time.sleep(2.0)  # PulseAudio's stream delivers from 1.6 s after it opens
    subprocess.run(["paplay", "--device=vsink", clip], timeout=20, check=True)
threading.Thread(target=play, daemon=True).start()
sys.exit(main(sys.argv[3:] + [out]))
"""


VIRTUAL_MIC_RECORD_S = 6.5
"""The virtual microphone's recording, seconds. Its speech is heard in it from 2.0-2.1 s to
4.0-4.1 s (the player's 2 s wait for PulseAudio, then the clip's words; 4 runs at load 1.1,
2026-12-06), and the measure reads only the frames from the first spoken to the last, 0.2 s
either side: 8 s were recorded before, the last 4 unread. 2.4 s are left after the speech for
a loaded machine's late player (lag -3 to +4 ms, r 0.98-0.99 with 6.5 s or 8 s)."""


def test_the_virtual_microphone_recording_has_the_mouth_in_step_with_the_voice(
    virtual_mic: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    """End to end through PortAudio and PulseAudio: speech played into the virtual microphone
    while ``camfx run`` records it (in a process of its own, so PortAudio lists the daemon's
    devices)."""
    from pipelines.audio.demo_clip import write_wav

    clip = tmp_path / "speech.wav"
    write_wav(clip, speech(3.0), MIC_RATE)
    out = tmp_path / "mic.mp4"
    env = dict(virtual_mic, PYTHONPATH=str(REPO))
    child = subprocess.run(
        [sys.executable, "-c", VIRTUAL_MIC_CHILD, str(out), str(clip), *RUN[:1],
         "--frames", str(round(VIRTUAL_MIC_RECORD_S * FPS)), *RUN[1:]],
        env=env, capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    check_in_step(out)


def test_the_measure_reads_a_voice_file_in_step_and_a_late_voice_late(tmp_path: Path) -> None:
    """The measure itself: a voice file's recording reads within a frame, and the same
    recording with its sound moved 100 ms earlier reads the mouth ~100 ms behind it."""
    from app.cli import main
    from pipelines.audio.demo_clip import write_wav

    wav = tmp_path / "voice.wav"
    write_wav(wav, np.concatenate([np.zeros(MIC_RATE // 2), speech(3.0)]), MIC_RATE)
    out = tmp_path / "file.mp4"
    run = [*RUN[:-3], str(wav), "-y", "--output", str(out)]
    assert main(run) == 0
    seen = tracked_openings(recorded(out)[0])  # read once: 1 s of the test's 4.6
    lag, r = mouth_lag_ms(out, seen=seen)
    assert abs(lag) <= FRAME_S * 1000 and r > 0.8, (lag, r)
    moved, _ = mouth_lag_ms(out, sound_earlier_s=0.1, seen=seen)
    print(f"voice file: {lag:+d} ms (r {r:.3f}), its sound 100 ms earlier: {moved:+d} ms")
    assert 100 - FRAME_S * 1000 / 2 <= moved - lag <= 100 + FRAME_S * 1000 / 2, (lag, moved)


def test_a_microphone_recording_shorter_than_the_lag_s_measure_keeps_its_sound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a second, ended before the mouth's lag was measured over its second (and the stage
    closes the microphone before the recording ends): the sound is there all the same, from
    the first frame to the last (a guard: it was silent in the first version of the change)."""
    from app.cli import main
    from pipelines.audio import inputs

    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * MIC_RATE) / MIC_RATE)
    card = LateSoundCard(tone.astype(np.float32), after_s=0.0)
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    out = tmp_path / "short.mp4"
    try:
        assert main([*RUN, str(out), "--frames", "15"]) == 0
    finally:
        for stream in card.streams:
            stream.close()
    frames, _, sound, rate = recorded(out)
    assert len(frames) == 15
    tenths = sound[: len(sound) // (rate // 10) * (rate // 10)].reshape(-1, rate // 10)
    levels = np.sqrt(np.mean(np.square(tenths), axis=1))
    assert len(levels) >= 4 and levels.min() > 0.1, levels


def test_a_microphone_whose_server_comes_back_is_heard_again_in_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The server killed 3 s in and back 2 s later: the stream is opened again (it stayed
    dead before, the rest of the run silent), the stage says the microphone is back, and the
    voice it hears then is in the recording, the frames at their captured pace."""
    from pipelines.audio import inputs
    from pipelines.audio import stage as audio_stage

    captured = capture_times(monkeypatch)
    card = DeadSoundCard(speech(4.0), after_s=0.8, returns=True)
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    out = tmp_path / "back.mp4"
    with caplog.at_level("WARNING"):
        record_microphone(card, out, seconds=11.0)
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "has given no sound" in m]) == 1, messages
    assert len([m for m in messages if "delivers sound again" in m]) == 1, messages
    assert len(card.streams) == 2
    _, times, sound, rate = recorded(out)
    assert len(times) == len(captured)
    first, back = card.streams[0].t0, card.streams[1].t0

    def loudness(start: float, end: float) -> float:
        """RMS of the recording's sound from ``start`` to ``end`` (capture clock)."""
        part = sound[round((start - captured[0]) * rate) : round((end - captured[0]) * rate)]
        return float(np.sqrt(np.mean(part**2)))

    # Silent between the loss (its last block, and AAC's spread) and the return ...
    assert loudness(first + DeadStream.dies_s + 0.2, back - 0.1) < 1e-3
    # ... and the voice the stream opened again hears (0.8 s in: speech) is recorded.
    assert loudness(back + 1.0, back + 3.0) > 0.05
    # Once its mouth lag is measured again, the frames keep their captured spacing, and the
    # recording ends as late as the run.
    assert_captured_pace(times, captured, back + audio_stage.MOUTH_LAG_WINDOW_S + 0.5)
