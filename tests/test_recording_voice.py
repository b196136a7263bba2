"""A window's recording has one sound track from its start that follows what the talking head
says in each frame: switched on after the recording started, switched off during it, its
voice changed from a file to the microphone and back (offscreen Qt, the real engine, PyAV's
real H.264 and AAC encoders).

Where each voice belongs is taken from the frames the recorder was given, not from its
clock code: a voice file at ``index / stage fps`` for frame ``index`` (as ``audio_mouth``
mouthed it), the microphone's sound heard at a frame's capture time at that frame's place in
the file. The microphone is the real :class:`~pipelines.audio.inputs.MicInput` over a
stand-in for PortAudio whose callback thread delivers 10 ms blocks of known noise when they
are due, as a sound card does, so its place is checked to the millisecond; once more end to
end through PortAudio and the virtual PulseAudio microphone, in a process of its own, where
only the order and the speech itself are checked (PulseAudio's latency is not known)."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from test_audio_mic import virtual_mic  # noqa: F401  (a fixture)
from test_gui_support import open_window, wait_frames

from pipelines.audio.inputs import read_audio_file
from pipelines.audio.resample import resample

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO / "pipelines/assets/talking_head_speech.wav"
TRACK_RATE = 48000
VOICE_RATE = 16000
OFFSET_MAX_S = 0.03
"""How far a voice may sit from where its frame puts it (the bound of the window's first
voice test, in test_gui_status.py)."""
SILENT_RMS = 1e-3
"""AAC decodes digital silence to (near) zeros; the voices here are 0.05-0.2 RMS."""
EDGE_S = 0.06
"""Left out on each side of a switch: AAC spreads a step over its 21 ms frames and their
overlapping windows."""


# --------------------------------------------------------------------------- what was recorded
@dataclass(frozen=True)
class Written:
    """One frame as the recorder wrote it."""

    index: int
    timestamp: float
    at: float
    """Its time in the recording."""
    voice: str
    """What ``audio_mouth`` said it read in this frame ("" without a talking head)."""
    mouth_lag: float | None = None
    """A microphone's settled mouth lag in this frame (``FrameVoice.mouth_lag_s``): the
    recording places the microphone that much later than it was heard, where the mouth is."""
    voice_at: float | None = None
    """A voice file's time this frame mouthed: the window's frames are live, so their capture
    time less the voice's ``played_from`` (``index / fps`` for frames that are not)."""


def watch_recordings(window: Any) -> list[Written]:
    """Every frame the window's next recordings write, with where it landed."""
    controller = window.controller
    make = controller.output_factory
    log: list[Written] = []

    def watched(spec: str) -> Any:
        out = make(spec)
        write = out.write

        def logging_write(frame: Any) -> None:
            write(frame)
            status = getattr(frame.ctx.audio, "status", "")
            voice = getattr(frame.ctx.audio, "voice", None)
            lag = voice.mouth_lag_s if voice is not None and voice.mouth_lag_settled else None
            at = None
            if voice is not None and voice.clock == "frames":
                played = voice.played_from
                at = frame.ctx.index / voice.fps if played is None else frame.timestamp - played
            # The recorder's own time for the frame: where its picture is in the file.
            log.append(Written(frame.ctx.index, frame.timestamp, out._last_time, status, lag, at))

        out.write = logging_write
        return out

    controller.output_factory = watched
    return log


def record(qtbot: Any, window: Any, tmp_path: Path, steps: list[tuple[Any, float]]) -> Path:
    """Record while doing each step, then waiting its seconds of recording."""
    controller = window.controller
    window.settings.record_folder = str(tmp_path)
    window.record_button.click()
    qtbot.waitUntil(lambda: controller.recording_path is not None, timeout=5000)
    path = Path(controller.recording_path or "")
    qtbot.waitUntil(lambda: controller.record.frames_written >= 3, timeout=5000)
    for step, seconds in steps:
        step()
        qtbot.wait(int(seconds * 1000))
    window.record_action.trigger()
    qtbot.waitUntil(
        lambda: not window.recording and "Saved" in window.record_label.text(), timeout=10000
    )
    return path


def tracks(path: Path) -> tuple[np.ndarray, float, float]:
    """The sound (mono, 48 kHz, from time 0), and the video's and the sound's length (s)."""
    import av

    with av.open(str(path)) as c:
        assert c.streams.audio, f"{path.name} has no sound track"
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        v_s = float(video.duration * video.time_base)
        a_s = float(audio.duration * audio.time_base)
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    assert frames and abs(float(frames[0].time)) < 1e-3, frames[0].time
    sound = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return sound, v_s, a_s


def first_where(log: list[Written], voiced: Any, after: float = -1.0) -> Written:
    return next(w for w in log if w.at > after and voiced(w.voice))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def span(sound: np.ndarray, start: float, end: float) -> np.ndarray:
    return sound[round(start * TRACK_RATE) : round(end * TRACK_RATE)]


def expected_voice(
    voice: np.ndarray, ref: Written, stage_fps: float, start: float, end: float
) -> np.ndarray:
    """The voice file as the talking head mouthed it from recording time ``start`` to ``end``
    (16 kHz, looped): frame ``ref`` mouthed its voice time at its place."""
    assert ref.voice_at is not None, ref
    first = round((ref.voice_at + start - ref.at) * VOICE_RATE)
    return voice[np.arange(first, first + round((end - start) * VOICE_RATE)) % len(voice)]


def envelope(x: np.ndarray, rate: int) -> np.ndarray:
    """RMS in 20 ms steps."""
    step = rate // 50
    n = len(x) // step
    return np.sqrt(np.mean(np.square(x[: n * step].reshape(n, step), dtype=np.float64), axis=1))


def check_voice_file(
    sound: np.ndarray, voice: np.ndarray, ref: Written, stage_fps: float, start: float, end: float
) -> None:
    """Between recording times ``start`` and ``end`` the sound is the voice file where frame
    ``ref`` puts it: its loudest 0.8 s found within :data:`OFFSET_MAX_S` of there (a
    cross-correlation), and the sound's loudness following the voice's throughout."""
    want = expected_voice(voice, ref, stage_fps, start, end)
    heard = resample(span(sound, start, end), TRACK_RATE, VOICE_RATE)[: len(want)]
    assert rms(heard) > 0.01, f"silence from {start:.2f} s to {end:.2f} s, where the voice speaks"
    loud, wanted = envelope(heard, VOICE_RATE), envelope(want, VOICE_RATE)
    follows = float(np.corrcoef(loud, wanted)[0, 1])
    assert follows > 0.9, f"the sound does not follow the voice ({follows:.2f})"
    window = 40  # 0.8 s of 20 ms steps
    best = int(np.argmax(np.convolve(wanted, np.ones(window), mode="valid")))
    piece = heard[best * VOICE_RATE // 50 :][: window * VOICE_RATE // 50]
    looped = np.concatenate([voice, voice])
    scores = np.correlate(looped, piece, mode="valid")[: len(voice)]
    found = int(np.argmax(scores))
    assert ref.voice_at is not None, ref
    expected = round((ref.voice_at + start + best / 50 - ref.at) * VOICE_RATE)
    error = ((found - expected + len(voice) // 2) % len(voice) - len(voice) // 2) / VOICE_RATE
    assert abs(error) < OFFSET_MAX_S, f"the voice is {error * 1000:+.0f} ms off its frames"


def speech() -> np.ndarray:
    samples, rate = read_audio_file(SPEECH)
    return resample(samples.reshape(-1), rate, VOICE_RATE)


def voice_stage(window: Any) -> Any:
    """The running ``audio_mouth`` stage (None before it runs)."""
    engine = window.controller.engine
    return engine.pipeline.find("audio_mouth") if engine is not None else None


def stage_fps(qtbot: Any, window: Any) -> float:
    """The frame rate the talking head mouths its voice file at, once it runs."""
    qtbot.waitUntil(lambda: voice_stage(window) is not None, timeout=15000)
    return float(voice_stage(window).settings.fps)


# --------------------------------------------------------------------------- tests
@pytest.fixture
def window(qtbot: Any, windows: list, config: Path) -> Any:
    window = open_window(qtbot, windows, config)
    wait_frames(qtbot, window)
    return window


def test_a_recording_started_before_the_talking_head_gets_its_voice_from_then_on(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    log = watch_recordings(window)
    fps: list[float] = []

    def talking_head_on() -> None:
        window.choose_preset("builtin:talking-head")
        qtbot.waitUntil(lambda: any(w.voice for w in log), timeout=15000)
        fps.append(stage_fps(qtbot, window))

    path = record(qtbot, window, tmp_path, [(lambda: None, 0.8), (talking_head_on, 2.5)])
    sound, v_s, a_s = tracks(path)
    on = first_where(log, bool)
    assert abs(a_s - v_s) < 0.1, (v_s, a_s)  # one track, from the start to the end
    assert on.at > 0.5 and v_s > on.at + 2.3, (on.at, v_s)  # 0.9 s of the voice at least
    assert rms(span(sound, 0.0, on.at - EDGE_S)) < SILENT_RMS  # silence before it speaks
    check_voice_file(sound, speech(), on, fps[0], on.at + EDGE_S, v_s - EDGE_S)


def test_switching_the_talking_head_off_silences_it_from_that_frame(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    log = watch_recordings(window)
    window.choose_preset("builtin:talking-head")
    fps = stage_fps(qtbot, window)
    wait_frames(qtbot, window, 5)

    def talking_head_off() -> None:
        window.choose_preset("builtin:off")
        qtbot.waitUntil(lambda: bool(log) and not log[-1].voice, timeout=10000)

    path = record(qtbot, window, tmp_path, [(lambda: None, 2.5), (talking_head_off, 1.5)])
    sound, v_s, a_s = tracks(path)
    assert log[0].voice, "the recording started before the talking head was on"
    off = first_where(log, lambda v: not v)
    assert abs(a_s - v_s) < 0.1, (v_s, a_s)  # the file goes on, with its sound
    assert off.at > 2.3 and v_s > off.at + 1.0, (off.at, v_s)  # 0.9 s of the voice at least
    check_voice_file(sound, speech(), log[0], fps, EDGE_S, off.at - EDGE_S)  # up to the frame
    assert rms(span(sound, off.at + EDGE_S, v_s)) < SILENT_RMS  # and silent from it on


# --------------------------------------------------------------------------- the microphone
MIC_RATE = 48000
MIC_BLOCK = 480


class FakeSoundCard:
    """What :class:`~pipelines.audio.inputs.MicInput` uses of ``sounddevice``: one input whose
    stream's callback thread delivers :attr:`noise` in 10 ms blocks when they are due. Sample
    ``n`` of a stream is heard at ``stream.t0 + n / rate``."""

    default = SimpleNamespace(device=(0, 0))

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        white = rng.standard_normal(MIC_RATE * 20).astype(np.float32)
        # Speech's band (300-3400 Hz), which AAC keeps.
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(len(white), 1 / MIC_RATE)
        spectrum[(freqs < 300) | (freqs > 3400)] = 0
        band = np.fft.irfft(spectrum, len(white)).astype(np.float32)
        self.noise = 0.2 * band / np.std(band)
        self.streams: list[FakeStream] = []

    def query_devices(self) -> list[dict[str, Any]]:
        return [{"name": "test mic", "max_input_channels": 1, "default_samplerate": MIC_RATE}]

    def InputStream(self, *, samplerate: float, callback: Any, **kw: Any) -> FakeStream:
        if int(samplerate) != MIC_RATE:
            raise ValueError(f"{samplerate} Hz: this card records at {MIC_RATE} Hz")
        stream = FakeStream(self.noise, callback)
        self.streams.append(stream)
        return stream

    def close(self) -> None:
        for stream in self.streams:
            stream.close()


class FakeStream:
    latency = 0.0
    """Seconds after its last sample is in that a block is delivered."""
    pads = False
    """Whether silence follows the end (a microphone goes on) or the stream ends there."""

    def __init__(self, noise: np.ndarray, callback: Any) -> None:
        self.noise, self.callback = noise, callback
        self.t0 = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        k = 0
        while not self._stop.is_set() and (self.pads or k + MIC_BLOCK <= len(self.noise)):
            time.sleep(max(0.0, self._due(k) - time.monotonic()))
            block = self.noise[k : k + MIC_BLOCK]
            if len(block) < MIC_BLOCK:
                block = np.pad(block, (0, MIC_BLOCK - len(block)))
            self.callback(block[:, None], MIC_BLOCK, None, None)
            k += MIC_BLOCK

    @property
    def active(self) -> bool:
        """As ``sounddevice``'s: started, and neither stopped nor closed."""
        return self._thread.is_alive() and not self._stop.is_set()

    def _due(self, k: int) -> float:
        """When the block from sample ``k`` is delivered: once its last sample is in (and the
        device's latency after)."""
        return self.t0 + (k + MIC_BLOCK) / MIC_RATE + self.latency

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)


def check_microphone(
    sound: np.ndarray,
    card: FakeSoundCard,
    stream: FakeStream,
    ref: Written,
    start: float,
    mouth_lag: float,
) -> None:
    """From ``start`` (0.5 s of it) the sound is what the microphone heard where frame ``ref``
    and the frames' mouth lag put it (what was heard ``mouth_lag`` before the frame's capture
    time, at the frame's place, where its mouth shows it): found by a cross-correlation
    within :data:`OFFSET_MAX_S` of there, and alike (a normalized score)."""
    heard = span(sound, start, start + 0.5)
    expected = round((ref.timestamp + start - ref.at - mouth_lag - stream.t0) * MIC_RATE)
    reach = round(0.25 * MIC_RATE)
    lo = max(0, expected - reach)
    scores = np.correlate(card.noise[lo : expected + reach + len(heard)], heard, mode="valid")
    found = lo + int(np.argmax(scores))
    said = card.noise[found : found + len(heard)]
    alike = float(np.dot(said, heard) / (np.linalg.norm(said) * np.linalg.norm(heard) + 1e-12))
    error = (found - expected) / MIC_RATE
    assert alike > 0.9, f"the sound is not the microphone's ({alike:.2f} alike)"
    assert abs(error) < OFFSET_MAX_S, f"the microphone is {error * 1000:+.0f} ms off its frames"


def speaking_file(path: Path) -> np.ndarray:
    """A voice file with no pause (band noise in syllables of 0.2 s, 6 s, 16 kHz), so every
    stretch of a recording has something to find; returns its samples."""
    from pipelines.audio.demo_clip import write_wav

    rng = np.random.default_rng(11)
    white = rng.standard_normal(VOICE_RATE * 6)
    spectrum = np.fft.rfft(white)
    spectrum[(np.fft.rfftfreq(len(white), 1 / VOICE_RATE) < 200)] = 0
    band = np.fft.irfft(spectrum, len(white))
    t = np.arange(len(white)) / VOICE_RATE
    samples = 0.15 * band / np.std(band) * (0.3 + 0.7 * np.abs(np.sin(np.pi * t / 0.2)))
    write_wav(path, samples.astype(np.float32), VOICE_RATE)
    return resample(read_audio_file(path)[0].reshape(-1), VOICE_RATE, VOICE_RATE)


@pytest.mark.parametrize("first", ["file", "mic"])
def test_switching_the_voice_between_file_and_microphone_records_each(
    first: str,
    qtbot: Any,
    windows: list,
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """file → mic → file, and mic → file → mic: each stretch has its own voice, where its
    frames put it."""
    from pipelines.audio import inputs
    from pipelines.presets import Preset, StageSpec
    from pipelines.userdata import PresetStore

    card = FakeSoundCard()
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    wav = tmp_path / "voice.wav"
    voice = speaking_file(wav)
    spec = {"file": str(wav), "mic": "mic"}
    heard = {"file": "voice.wav", "mic": "microphone"}
    order = [first, "mic" if first == "file" else "file", first]
    settings = {"input": spec[first], "loop": True, "vad": False}
    PresetStore(config / "presets").save(Preset("Voice", (StageSpec("audio_mouth", settings),)))
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(json.dumps({"schema": 1, "preset": "user:Voice"}))
    window = open_window(qtbot, windows, config)
    try:
        fps = stage_fps(qtbot, window)
        qtbot.waitUntil(lambda: "audio_mouth" in window.effects.panels, timeout=10000)
        wait_frames(qtbot, window, 5)
        log = watch_recordings(window)

        def switch_to(kind: str) -> Any:
            def switch() -> None:
                editor = window.effects.editor("audio_mouth", "input")
                editor.edit.setText(spec[kind])
                editor.edit.editingFinished.emit()
                qtbot.waitUntil(lambda: bool(log) and heard[kind] in log[-1].voice, timeout=5000)

            return switch

        path = record(
            qtbot,
            window,
            tmp_path,
            [(lambda: None, 1.5), (switch_to(order[1]), 1.5), (switch_to(order[2]), 1.5)],
        )
    finally:
        card.close()
    sound, v_s, a_s = tracks(path)
    assert abs(a_s - v_s) < 0.1, (v_s, a_s)
    assert heard[first] in log[0].voice, log[0]
    # The first frame of each stretch, and where the next one starts.
    second = first_where(log, lambda v: heard[order[1]] in v)
    third = first_where(log, lambda v: heard[order[2]] in v, after=second.at)
    starts = [log[0], second, third]
    ends = [second.at, third.at, v_s]
    lengths = [b - a for a, b in zip([0.0, second.at, third.at], ends, strict=True)]
    assert min(lengths) > 1.0, lengths
    streams = iter(card.streams)
    for kind, ref, end in zip(order, starts, ends, strict=True):
        begin = 0.0 if ref is log[0] else ref.at
        if kind == "file":
            check_voice_file(sound, voice, ref, fps, begin + EDGE_S, end - EDGE_S)
            continue
        stream = next(streams)  # each switch to the microphone opens it anew
        lags = [w.mouth_lag for w in log if ref.at <= w.at < end and w.mouth_lag is not None]
        assert lags, f"no frame from {ref.at:.2f} s to {end:.2f} s measured its mouth's lag"
        # Its mouth trails what was heard by the analyser's latency and the device's, less the
        # wait from capture to the stage: tens of milliseconds, never a frame ahead.
        assert -1 / fps < lags[0] < 0.1, lags[0]
        # Its first sound, heard once it opened, lands where that time falls (with the lag).
        heard_from = max(begin, stream.t0 + ref.at - ref.timestamp + lags[0])
        assert heard_from < end - 1.0, (heard_from, end)
        if heard_from - begin > 2 * EDGE_S:  # silence until it opened
            assert rms(span(sound, begin + EDGE_S, heard_from - EDGE_S)) < SILENT_RMS
        check_microphone(sound, card, stream, ref, heard_from + EDGE_S, lags[0])
        check_microphone(sound, card, stream, ref, end - EDGE_S - 0.5, lags[0])


# --------------------------------------------------------------------------- the virtual mic
MIC_CHILD = """
import json, subprocess, sys, time
from dataclasses import asdict
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
import test_recording_voice as t
from test_gui_support import make_window

class Bot:  # what the helpers use of pytest-qt's qtbot
    def wait(self, ms):
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
    def waitUntil(self, ready, timeout):
        end = time.monotonic() + timeout / 1000
        while not ready():
            assert time.monotonic() < end, "timed out"
            self.wait(20)

app = QApplication([])
bot, config, folder, speech = Bot(), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
window = make_window(config)
window.show()
fps = t.stage_fps(bot, window)
bot.waitUntil(lambda: "audio_mouth" in window.effects.panels, 10000)
log = t.watch_recordings(window)
played = []

def to_mic():
    editor = window.effects.editor("audio_mouth", "input")
    editor.edit.setText("mic")
    editor.edit.editingFinished.emit()
    bot.waitUntil(lambda: bool(log) and "microphone" in log[-1].voice, 10000)
    bot.wait(500)  # the stream delivers (silence: nothing plays yet)
    played.append(time.monotonic())
    subprocess.run(["paplay", "--device=vsink", speech], timeout=20, check=True)

path = t.record(bot, window, folder, [(lambda: None, 1.5), (to_mic, 0.3)])
window.quit()
print(json.dumps({"path": str(path), "fps": fps, "played": played[0],
                  "log": [asdict(w) for w in log]}))
"""


def test_the_virtual_microphone_is_recorded_after_a_switch_from_the_voice_file(
    virtual_mic: dict[str, str],  # noqa: F811
    config: Path,
    tmp_path: Path,
) -> None:
    """End to end through PortAudio and PulseAudio (in a process of its own, so PortAudio
    lists the daemon's devices): the file's voice, then, from the frame that switched to the
    microphone, what was played into it, heard after it was played (its latency unknown)."""
    import subprocess
    import sys

    from pipelines.presets import Preset, StageSpec
    from pipelines.userdata import PresetStore

    settings = {"input": str(SPEECH), "loop": True, "vad": False}
    PresetStore(config / "presets").save(Preset("Voice", (StageSpec("audio_mouth", settings),)))
    (config / "settings.json").write_text(json.dumps({"schema": 1, "preset": "user:Voice"}))
    clip = tmp_path / "clip.wav"
    from pipelines.audio.demo_clip import write_wav

    said = speech()[round(3.9 * VOICE_RATE) : round(7.0 * VOICE_RATE)]  # 3.1 s without a pause
    write_wav(clip, said, VOICE_RATE)
    env = dict(virtual_mic, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    env["CAMFX_CONFIG_DIR"] = str(config)
    child = subprocess.run(
        [sys.executable, "-c", MIC_CHILD, str(REPO / "tests"), str(config), str(tmp_path),
         str(clip)],
        env=env, capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    out = json.loads(child.stdout.strip().splitlines()[-1])
    log = [Written(**w) for w in out["log"]]
    sound, v_s, a_s = tracks(Path(out["path"]))
    assert abs(a_s - v_s) < 0.1, (v_s, a_s)
    mic = first_where(log, lambda v: "microphone" in v)
    assert mic.at > 1.0 and v_s > mic.at + 3.0, (mic.at, v_s)
    check_voice_file(sound, speech(), log[0], out["fps"], EDGE_S, mic.at - EDGE_S)
    played_at = mic.at + out["played"] - mic.timestamp  # in the recording
    assert rms(span(sound, mic.at + EDGE_S, played_at)) < SILENT_RMS  # the mic, silent
    # What was played, heard after it was played: PulseAudio's null sink hands it to its
    # monitor a second or more after paplay starts (a click recorded straight from sounddevice:
    # 1.0 s; here 1.42-1.49 s in three runs, 2026-12-06), so only the order is checked, and
    # that it is all there.
    heard = resample(span(sound, played_at, v_s), TRACK_RATE, VOICE_RATE)
    assert len(heard) > len(said), (len(heard), len(said))
    assert rms(heard) > 0.01, "silence where the speech played into the microphone should be"
    lag = int(np.argmax(np.correlate(heard, said, mode="valid")))
    loud = envelope(heard[lag : lag + len(said)], VOICE_RATE)
    follows = float(np.corrcoef(loud, envelope(said, VOICE_RATE))[0, 1])
    assert follows > 0.8, f"the played speech is not in the recording ({follows:.2f})"
    assert 0.0 <= lag / VOICE_RATE < 2.5, f"heard {lag / VOICE_RATE:.3f} s after it was played"
