"""Audio plumbing: ring buffer, resampler, file/array/mic inputs, VAD model, the stage."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from audio_support import vad_model

from pipelines.audio.inputs import (
    AUDIO_INPUTS,
    ArrayInput,
    AudioError,
    FileInput,
    MicInput,
    NoAudio,
    make_audio_input,
    parse_audio_spec,
    read_audio_file,
)
from pipelines.audio.mouth import HOP, MouthAnalyzer
from pipelines.audio.resample import ANALYSIS_RATE, StreamResampler, resample
from pipelines.audio.ring import AudioRing
from pipelines.audio.stage import AudioMouth, AudioMouthSettings, AudioState
from pipelines.errors import ModelError, SettingsError
from pipelines.frame import FrameContext

RESAMPLE_TOL = 1e-3
"""Max error of a 440 Hz tone after conversion (the filter's passband ripple)."""


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def voiced(seconds: float, rate: int = ANALYSIS_RATE, f0: float = 140.0) -> np.ndarray:
    """A vowel-like buzz (harmonics with a formant-ish envelope), loud enough to open the jaw."""
    t = np.arange(int(seconds * rate)) / rate
    sig = sum(
        np.sin(2 * np.pi * f0 * k * t) * np.exp(-((((f0 * k) - 750) / 500) ** 2))
        for k in range(1, 30)
    )
    return (0.3 * sig / np.abs(sig).max()).astype(np.float32)


# --------------------------------------------------------------------------- ring
def test_ring_keeps_order_across_the_wrap() -> None:
    ring = AudioRing(10)
    ring.write(np.arange(7, dtype=np.float32))
    ring.write(np.arange(7, 12, dtype=np.float32))
    got, lost = ring.read(5)
    assert lost == 0 and got.tolist() == list(range(5, 12))


def test_ring_reports_lost_samples_instead_of_stale_ones() -> None:
    ring = AudioRing(8)
    ring.write(np.arange(20, dtype=np.float32))  # bigger than the ring
    got, lost = ring.read(0)
    assert lost == 12 and got.tolist() == list(range(12, 20))
    assert ring.overruns == 1 and ring.written == 20


def test_ring_takes_the_first_channel_of_a_block() -> None:
    ring = AudioRing(16)
    block = np.stack([np.ones(4), np.zeros(4)], axis=1).astype(np.float32)
    ring.write(block)
    assert ring.read(0)[0].tolist() == [1.0] * 4


# --------------------------------------------------------------------------- resampler
@pytest.mark.parametrize("rate_in", [8000, 22050, 44100, 48000])
def test_resampler_keeps_a_tone(rate_in: int) -> None:
    y = resample(tone(440, 1.0, rate_in), rate_in)
    ref = tone(440, 1.0, ANALYSIS_RATE)
    assert len(y) == len(ref)
    assert np.abs(y - ref)[200:-200].max() < RESAMPLE_TOL


def test_resampler_in_pieces_equals_whole() -> None:
    x = tone(300, 0.5, 44100) + tone(3000, 0.5, 44100, 0.1)
    whole = resample(x, 44100)
    rs = StreamResampler(44100)
    parts = [rs.process(x[i : i + 777]) for i in range(0, len(x), 777)] + [rs.flush()]
    pieces = np.concatenate(parts)[: len(whole)]
    np.testing.assert_allclose(pieces, whole, atol=1e-6)


def test_resampler_removes_what_cannot_be_represented() -> None:
    y = resample(tone(9000, 0.5, 48000), 48000)  # above 8 kHz Nyquist
    assert np.abs(y[300:-300]).max() < 0.02


# --------------------------------------------------------------------------- files
def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2):
    data = np.repeat(samples[:, None], channels, axis=1)
    if width == 2:
        raw = (np.clip(data, -1, 1) * 32767).astype("<i2").tobytes()
    else:
        raw = (np.clip(data, -1, 1) * 2147483647).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(width)
        wf.setframerate(rate)
        wf.writeframes(raw)


@pytest.mark.parametrize("channels,width,rate", [(1, 2, 16000), (2, 2, 44100), (1, 4, 48000)])
def test_wav_files_of_any_layout(tmp_path: Path, channels: int, width: int, rate: int) -> None:
    path = tmp_path / "x.wav"
    write_wav(path, tone(440, 0.5, rate), rate, channels, width)
    data, got_rate = read_audio_file(path)
    assert got_rate == rate and len(data) == rate // 2
    np.testing.assert_allclose(data, tone(440, 0.5, rate), atol=2e-4)


def test_flac_file(tmp_path: Path) -> None:
    av = pytest.importorskip("av", reason="FLAC is read through PyAV")
    path = tmp_path / "x.flac"
    x = tone(440, 0.5, 22050)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=22050)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            (x * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = 22050
        for p in stream.encode(frame):
            out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    data, rate = read_audio_file(path)
    assert rate == 22050
    np.testing.assert_allclose(data[: len(x)], x, atol=1e-4)


def test_missing_file_says_so() -> None:
    with pytest.raises(AudioError, match="does not exist"):
        read_audio_file("/nonexistent/speech.wav")


def test_a_folder_and_too_many_channels_say_what_they_are(tmp_path: Path) -> None:
    """Each says what is wrong and what to do (a QA pass: a folder read "does not exist", a
    good 9-channel WAV "the file is damaged", an unreadable file "could not be decoded
    (Permission denied)": the next test)."""
    folder = tmp_path / "voice.wav"
    folder.mkdir()
    with pytest.raises(AudioError, match="is a folder; give the path of a sound file"):
        read_audio_file(folder)
    many = tmp_path / "many.wav"
    write_wav(many, tone(440, 0.2, 16000), 16000, channels=9)
    with pytest.raises(AudioError, match="has 9 channels, more than the 8 camfx reads"):
        read_audio_file(many)


def test_an_unreadable_voice_file_says_so(tmp_path: Path) -> None:
    import os

    locked = tmp_path / "locked.wav"
    write_wav(locked, tone(440, 0.2, 16000), 16000)
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads it anyway
        pytest.skip("running as root: a file without read permission is still readable")
    with pytest.raises(AudioError, match="is not readable; check its permissions"):
        read_audio_file(locked)


def test_file_input_is_clocked_by_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    write_wav(path, tone(440, 1.0, 8000), 8000)
    inp = FileInput(str(path), loop=False)
    inp.open()
    assert len(inp.pull(until=1600)) == 1600
    assert len(inp.pull(until=1600)) == 0
    tail = inp.pull(until=20000)  # past the end: silence, and the input says it ended
    assert len(tail) == 18400 and np.all(tail[-1000:] == 0)
    assert inp.ended


def test_looping_array_input_wraps() -> None:
    inp = ArrayInput(samples=np.arange(10, dtype=np.float32), loop=True)
    inp.open()
    assert inp.pull(until=25).tolist() == [*range(10), *range(10), *range(5)]


def test_audio_specs_resolve_through_the_registry() -> None:
    assert parse_audio_spec("mic") == ("mic", "")
    assert parse_audio_spec("mic:USB") == ("mic", "USB")
    assert parse_audio_spec("speech.flac") == ("file", "speech.flac")
    assert parse_audio_spec("") == ("none", "")
    assert {"mic", "file", "none", "asset"} <= set(AUDIO_INPUTS.names())
    with pytest.raises(AudioError, match="unknown audio input"):
        parse_audio_spec("speakers")


def test_shipped_demo_clip_loads() -> None:
    inp = make_audio_input("asset:talking_head_speech.wav")
    inp.open()
    assert 3.0 < inp.duration < 10.0  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- microphone
def test_no_portaudio_means_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.audio.inputs as inputs

    def broken() -> None:
        raise AudioError(inputs.PORTAUDIO_MISSING.format(exc="libportaudio.so.2: not found"))

    monkeypatch.setattr(inputs, "_sounddevice", broken)
    with pytest.raises(AudioError, match="libportaudio2"):
        MicInput().open()


def test_without_a_microphone_the_stage_idles_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pipelines.audio.inputs as inputs

    monkeypatch.setattr(inputs, "_sounddevice", lambda: object())  # PortAudio or not
    monkeypatch.setattr(inputs, "list_input_devices", lambda: [])
    stage = AudioMouth(AudioMouthSettings(input="mic", vad=False))
    stage.open()
    ctx = FrameContext(timestamp=0.0, index=0)
    stage.process(np.zeros((4, 4, 3), np.uint8), ctx)
    assert isinstance(ctx.audio, AudioState)
    assert not ctx.audio.active and ctx.audio.params.jaw == 0.0
    assert "no audio input device" in ctx.audio.status
    stage.close()


def test_mic_backlog_is_bounded() -> None:
    mic = MicInput(max_backlog_s=0.1)
    mic.ring = AudioRing(16000)
    mic._resampler = StreamResampler(16000)
    mic.ring.write(np.zeros(8000, np.float32))  # the app stalled for half a second
    assert len(mic.pull()) == 1600
    assert mic.lost_samples == 6400


def test_mic_callback_only_copies_into_the_ring() -> None:
    mic = MicInput()
    ring = AudioRing(100)
    callback = mic._make_callback(ring)
    block = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    callback(block, 32, None, None)
    assert ring.written == 32 and np.array_equal(ring.read(0)[0], block[:, 0])


# --------------------------------------------------------------------------- VAD
def test_vad_hears_voice_not_noise(tmp_path_factory: pytest.TempPathFactory) -> None:
    from pipelines.audio.vad import StreamingVad

    model = vad_model(tmp_path_factory)
    from audio_support import require_espeak, speech

    require_espeak()
    x, _ = speech("Hello, this is a test of the voice detector.")
    v = StreamingVad(model)  # type: ignore[arg-type]
    probs = v.push(x)
    assert len(probs) == len(x) // 512
    assert max(probs) > 0.9
    v.reset()
    noise = np.random.default_rng(0).normal(0, 0.1, 16000 * 2).astype(np.float32)
    assert max(v.push(noise)) < 0.3


def test_vad_manifest_entry_and_changed_file_is_refused(tmp_path: Path) -> None:
    from pipelines.audio.vad import SileroVad
    from pipelines.inference.model import load_manifest

    root = Path(__file__).resolve().parent.parent / "onnx_models"
    entry = load_manifest()["silero_vad"]
    fragment = {"models": [entry]}
    assert entry["licence"] == "MIT" and entry["source"]["wheel"].startswith("silero-vad==")
    (tmp_path / "manifest.json").write_text(json.dumps(fragment))
    shutil.copy(root / entry["file"], tmp_path / entry["file"])
    with open(tmp_path / entry["file"], "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="was changed"):
        SileroVad(directory=str(tmp_path))


# --------------------------------------------------------------------------- stage
def run_frames(
    stage: AudioMouth, n: int, fps: float = 30.0, t0: float = 0.0, first_index: int = 0
) -> list[AudioState]:
    states = []
    for i in range(n):
        ctx = FrameContext(timestamp=t0 + i / fps, index=first_index + i)
        stage.process(np.zeros((4, 4, 3), np.uint8), ctx)
        states.append(ctx.audio)
    return states


def test_frames_clock_puts_the_voice_on_the_right_frame() -> None:
    # 1 s silence, 1 s voice, 1 s silence: the mouth opens within a frame or two of frame 30.
    sig = np.concatenate([np.zeros(16000), voiced(1.0), np.zeros(16000)]).astype(np.float32)
    stage = AudioMouth(
        AudioMouthSettings(input="none", vad=False, fps=30.0), audio=ArrayInput(samples=sig)
    )
    stage.open()
    jaws = [s.params.jaw for s in run_frames(stage, 90)]
    first_open = next(i for i, j in enumerate(jaws) if j > 0.2)
    assert 29 <= first_open <= 32, first_open
    assert max(jaws[:28]) < 0.05
    assert max(jaws[35:58]) > 0.3
    assert max(jaws[70:]) < 0.05


def test_a_voice_file_picked_while_a_camera_runs_skips_what_it_missed() -> None:
    """The talking head picked after 30 s of camera frames (frame 900): its first frame
    analyses the last quarter second of the looping file, not the 30 s the camera ran (the
    first frame after a switch to the talking head took 0.73 s of CPU after a minute of
    video, 8.9 s after ten), and the voice is on the frames of its audio time, as before."""
    sig = np.concatenate([np.zeros(16000), voiced(1.0), np.zeros(16000)]).astype(np.float32)
    stage = AudioMouth(
        AudioMouthSettings(input="none", vad=False, fps=30.0),
        audio=ArrayInput(samples=sig, loop=True),
    )
    stage.open()
    states = run_frames(stage, 90, t0=30.0, first_index=900)  # audio time 30 s: 0 s looped
    assert len(states[0].history) <= 30  # hops of 10 ms: a quarter second, not 30 s
    jaws = [s.params.jaw for s in states]
    first_open = next((i for i, j in enumerate(jaws) if j > 0.2), None)
    assert first_open is not None and 29 <= first_open <= 32, first_open
    assert max(jaws[:28]) < 0.05


def test_video_delay_returns_older_pictures_with_matching_mouth() -> None:
    stage = AudioMouth(
        AudioMouthSettings(input="none", vad=False, clock="wall", video_delay_ms=100.0)
    )
    stage.open()
    outs = []
    for i in range(10):
        img = np.full((2, 2, 3), i, np.uint8)
        ctx = FrameContext(timestamp=i / 30.0, index=i)
        outs.append(int(stage.process(img, ctx)[0, 0, 0]))
    # 100 ms at 30 fps: three frames back.
    assert outs[-1] == 6 and outs[5] == 2
    stage.close()


def test_settings_are_checked() -> None:
    with pytest.raises(SettingsError):
        AudioMouthSettings(clock="sundial")
    with pytest.raises(SettingsError):
        AudioMouthSettings(video_delay_ms=-5)


def test_analysis_is_frame_size_independent() -> None:
    sig = np.concatenate([np.zeros(8000), voiced(0.6), np.zeros(8000)]).astype(np.float32)
    a = MouthAnalyzer()
    whole = [p.jaw for p in a.push(sig)]
    b = MouthAnalyzer()
    pieces = []
    for i in range(0, len(sig), 533):
        pieces += [p.jaw for p in b.push(sig[i : i + 533])]
    assert len(whole) == len(pieces) == len(sig) // HOP
    np.testing.assert_allclose(whole, pieces, atol=1e-6)


def test_no_audio_input_gives_neutral_mouth() -> None:
    stage = AudioMouth(AudioMouthSettings(input="none", vad=False))
    stage.open()
    states = run_frames(stage, 5)
    assert all(s.params.is_neutral() for s in states)
    assert isinstance(stage.input, NoAudio)


def test_a_voice_file_is_decoded_once_for_length_stage_and_sound_track(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's length, the audio-mouth stage and the recording's sound track share one decode
    (they were three at start); an edited file is decoded again."""
    import av

    from pipelines.audio.inputs import FileInput
    from pipelines.build import RunConfig, TalkingHeadConfig, recording_audio

    opened: list[str] = []
    real_open = av.open

    def counting_open(path: object, *args: object, **kwargs: object) -> object:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    wav = tmp_path / "voice.wav"
    write_wav(wav, voiced(1.0, 22050), 22050)
    head = TalkingHeadConfig(audio=str(wav))
    config = RunConfig(talking_head=head, fps=30.0)
    assert config.seconds_of_audio() == pytest.approx(1.0)
    stage_input = FileInput(str(wav))
    stage_input.open()
    reader = recording_audio(head, []).reader()
    samples, rate, start = reader.read(None)
    assert (rate, start, len(samples)) == (22050, 0.0, 22050)
    assert stage_input.duration == pytest.approx(1.0, abs=1e-3)
    assert len(opened) == 1, opened
    assert not samples.flags.writeable  # shared: nobody may change it for the others

    write_wav(wav, voiced(2.0, 22050), 22050)  # edited (another size): read again
    assert config.seconds_of_audio() == pytest.approx(2.0)
    assert len(opened) == 2


RSS_PER_DECODED = 4.5
"""Peak memory a voice file may take while it is read, in multiples of its decoded samples
(float32 mono at the file's rate): the samples once, the decode's pieces once while they are
joined, the 16 kHz copy and swresample's buffers. A user's pass measured 8.1x (a 29-minute file:
3.2 GB), a copy made twice over and the whole file through swresample at once; 2.9x since."""


def test_a_long_voice_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    rate, seconds = 48000, 300
    path = tmp_path / "five_minutes.wav"
    t = np.arange(rate * seconds, dtype=np.float32) / rate
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((voice * 32767).astype("<i2").tobytes())
    del t, voice
    # The high-water mark of the child's own memory (VmHWM), not getrusage's ru_maxrss: Linux
    # carries that over from the parent across fork and exec, so under pytest it started at the
    # suite's size and hid most of the peak (3.7x read where camfx took 8.8x).
    child = (
        "import re, sys, av, numpy\n"
        "from pipelines.audio.inputs import FileInput\n"
        "def hwm():\n"
        "    text = open('/proc/self/status').read()\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+) kB', text).group(1)) * 1024\n"
        "before = hwm()\n"
        "voice = FileInput(sys.argv[1]); voice.open()\n"
        "print(hwm() - before, len(voice.samples))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    grown, analysed = (int(v) for v in out.stdout.split())
    assert analysed == seconds * ANALYSIS_RATE
    decoded = rate * seconds * 4
    assert grown <= RSS_PER_DECODED * decoded, grown / decoded


def test_portaudio_starts_between_stderr_captures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``import sounddevice`` initialises PortAudio with fd 2 pointed at /dev/null and back,
    as ONNX Runtime's stderr capture (pipelines.inference.session) does on an opener thread:
    run at once, each kept the other's fd 2 as the real one, and a window's log lines went to
    /dev/null for the rest of the run. The import waits for a capture to end."""
    import sys
    import threading
    import time

    from pipelines.audio import inputs
    from pipelines.inference.session import NATIVE_STDERR_LOCK

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)  # imported afresh
    done = threading.Event()

    def start() -> None:
        try:
            inputs._sounddevice()
        except Exception:
            pass  # no PortAudio here: what is tested is when the import ran
        finally:
            done.set()

    with NATIVE_STDERR_LOCK:  # a capture in progress
        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        time.sleep(0.3)
        assert not done.is_set(), "PortAudio started during a stderr capture"
    assert done.wait(10.0)
