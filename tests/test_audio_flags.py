"""The talking head's ``--audio`` where it was ignored (issue 13).

- ``camfx run --preset talking-head --audio FILE``: the preset's talking head spoke its bundled
  clip and the recording had no sound; a broken FILE ran anyway (exit 0).
- ``--audio`` on a run without a talking head was silently dropped.
- ``camfx talking-head render --audio mic`` read frames as fast as they rendered: 240 frames
  (8 s at 30 fps) took 4 s of the voice, and the file lasted as long as the render.

Real engine, real encoder (PyAV), real microphone (PulseAudio's null sink, as in
``test_audio_mic``), files read back with PyAV.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from test_audio_mic import virtual_mic  # noqa: F401  (a fixture)
from test_recording import DURATION_MATCH_S, camfx, finish, sound_of, streams_of

from app import cli
from pipelines.audio.demo_clip import write_wav
from pipelines.build import build_engine

av = pytest.importorskip("av")

pytestmark = pytest.mark.timeout(60)

VOICE_RATE = 16000
ENVELOPE_S = 0.01
"""Loudness is compared in 10 ms windows: the AAC encoder and the resampler keep it."""
SHIFT_MAX_S = 0.1
"""The encoder's priming and the sync tolerance move the track a little (sync has its own
tests): the best match within this shift counts."""
ENVELOPE_CORRELATION_MIN = 0.9
"""The recorded track against the user's file (about 0.99 measured); the bundled clip, which
the preset's own talking head speaks, correlates with it far less."""


def bursts(path: Path, seconds: float = 2.0) -> np.ndarray:
    """A tone switched on and off in an uneven rhythm (nothing like speech, nor like the
    bundled clip); the samples written to ``path`` are returned."""
    t = np.arange(int(seconds * VOICE_RATE)) / VOICE_RATE
    on = np.zeros_like(t, dtype=bool)
    for start, length in ((0.1, 0.15), (0.4, 0.4), (1.0, 0.1), (1.3, 0.25), (1.7, 0.2)):
        on |= (t >= start) & (t < start + length)
    samples = (0.5 * np.sin(2 * np.pi * 440.0 * t) * on).astype(np.float32)
    write_wav(path, samples, VOICE_RATE)
    return samples


def envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    window = round(ENVELOPE_S * rate)
    n = len(samples) // window
    blocks = samples[: n * window].reshape(n, window).astype(np.float64)
    return np.sqrt((blocks**2).mean(axis=1))


def shifted_correlation(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Correlation of ``a`` late by ``lag`` windows with ``b``."""
    a, b = a[max(lag, 0) :], b[max(-lag, 0) :]
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("camfx: "), err
    return lines[0]


def test_a_talking_head_presets_recording_has_the_users_voice(tmp_path: Path) -> None:
    voice, out = tmp_path / "bursts.wav", tmp_path / "pth.mp4"
    samples = bursts(voice)
    proc = camfx(
        "run", "--source", "demo", "--preset", "talking-head", "--audio", str(voice),
        "--output", str(out), "--frames", "60", "--size", "256x256",
    )  # fmt: skip
    err = finish(proc)
    assert proc.returncode == 0, err
    info = streams_of(out)
    assert info.get("audio") == "aac", f"no sound track: {info}"
    assert abs(info["audio_s"] - info["video_s"]) < DURATION_MATCH_S, info
    with av.open(str(out)) as c:
        rate = c.streams.audio[0].sample_rate
    recorded, expected = envelope(sound_of(out), rate), envelope(samples, VOICE_RATE)
    lags = round(SHIFT_MAX_S / ENVELOPE_S)
    correlation = max(shifted_correlation(recorded, expected, k) for k in range(-lags, lags + 1))
    assert correlation > ENVELOPE_CORRELATION_MIN, f"not the user's voice: r = {correlation:.2f}"


def test_a_talking_head_preset_has_one_talking_head_on_the_users_voice(tmp_path: Path) -> None:
    """The mouth moves to the user's file: the preset's own voice stage (its bundled clip) is
    replaced, not joined by a second talking head."""
    voice = tmp_path / "bursts.wav"
    bursts(voice)
    for extra in ([], ["--talking-head"]):
        args = cli.build_parser().parse_args(
            ["run", "--source", "demo", "--preset", "talking-head", "--audio", str(voice),
             "--output", "null", "--size", "64x48", *extra]
        )  # fmt: skip
        run = build_engine(cli.run_config(args), start=False)
        try:
            stages = run.engine.pipeline.stages
            assert [s.name for s in stages] == ["face_tracker", "audio_mouth", "talking_head"]
            assert stages[1].settings.input == str(voice)
            assert stages[1].required  # a voice the user named must open
        finally:
            run.close()


def test_the_voice_replaces_a_presets_own_and_keeps_its_other_settings(tmp_path: Path) -> None:
    """A preset's talking head keeps its look (corner, gain) and its place among the stages;
    only its voice changes (and its voice stage goes right before it)."""
    from pipelines.build import TalkingHeadConfig, preset_stages, preset_talking_head
    from pipelines.presets import Preset, StageSpec

    preset = Preset(
        "mine",
        (
            StageSpec("audio_mouth", {"input": "mic", "gain": 2.0}),
            StageSpec("face_tracker", {"max_faces": 1}),
            StageSpec("talking-head", {"corner": "top-left", "mode": "overlay"}),
            StageSpec("eye_contact", {}),
        ),
    )
    carried = preset_talking_head(preset)
    assert carried == TalkingHeadConfig(portrait="", audio="mic", mode="overlay")
    voice = tmp_path / "bursts.wav"
    bursts(voice)
    head = dataclasses.replace(carried, audio=str(voice))
    stages = preset_stages(preset, head, 15.0)
    names = [s.name for s in stages]
    assert names == ["face_tracker", "audio_mouth", "talking_head", "eye_contact"]
    assert stages[1].settings.input == str(voice) and stages[1].settings.gain == 2.0
    assert stages[2].settings.corner == "top-left" and stages[2].settings.fps == 15.0
    assert preset_talking_head(Preset("none", (StageSpec("face_tracker", {}),))) is None


@pytest.mark.parametrize("preset", ["off", "track"])
def test_audio_without_a_talking_head_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], preset: str
) -> None:
    out = tmp_path / "x.mp4"
    code = cli.main(
        ["run", "--source", "demo", "--preset", preset, "--audio", "nothere.wav",
         "--output", str(out), "--frames", "10", "--size", "64x48"]
    )  # fmt: skip
    line = one_error_line(capsys.readouterr().err)
    assert code == 2
    assert "--audio" in line and "--talking-head PORTRAIT" in line and "talking-head" in line
    assert not out.exists()


@pytest.mark.parametrize(
    "option", [["--avatar-mode", "stand-in"], ["--video-delay-ms", "120"]], ids=["mode", "delay"]
)
def test_the_talking_heads_other_options_need_one_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    """``--avatar-mode`` and ``--video-delay-ms`` with no talking head were silently ignored
    (a QA pass): refused in one line; with a talking-head preset they set its talking head."""
    out = tmp_path / "x.mp4"
    code = cli.main(
        ["run", "--source", "demo", "--preset", "off", *option, "--output", str(out),
         "--frames", "10", "--size", "64x48"]
    )  # fmt: skip
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and option[0] in line and "--talking-head PORTRAIT" in line
    assert not out.exists()
    args = cli.build_parser().parse_args(["run", "--preset", "talking-head", *option])
    head = cli.run_config(args).talking_head
    assert head is not None
    if option[0] == "--avatar-mode":
        assert head.mode == "stand-in"
    else:
        assert head.video_delay_ms == 120.0


def test_a_broken_voice_file_with_a_talking_head_preset_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice, out = tmp_path / "corrupt.wav", tmp_path / "x.mp4"
    voice.write_bytes(b"RIFF\0\0garbage" * 10)
    code = cli.main(
        ["run", "--source", "demo", "--preset", "talking-head", "--audio", str(voice),
         "--output", str(out), "--frames", "10", "--size", "64x48"]
    )  # fmt: skip
    line = one_error_line(capsys.readouterr().err)
    assert code == 2
    assert "corrupt.wav" in line and "could not be decoded" in line
    assert not out.exists()


RENDER_FRAMES, RENDER_FPS = 30, 15.0


def read_until(proc: subprocess.Popen[str], start: str) -> float:
    """Read the command's stderr up to a line that begins with ``start``; when it came."""
    assert proc.stderr is not None
    seen = []
    while not (line := proc.stderr.readline()).startswith(start):
        seen.append(line)
        assert line, "".join(seen)
    return time.monotonic()


def test_a_render_with_the_microphone_is_live(
    virtual_mic: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    """Frames at --fps: --frames N is N/fps seconds of the voice, and of the file."""
    out = tmp_path / "mic.mp4"
    proc = camfx(
        "talking-head", "render", "--audio", "mic", "--frames", str(RENDER_FRAMES),
        "--fps", f"{RENDER_FPS:g}", "--size", "256x256", "--output", str(out), env=virtual_mic,
    )  # fmt: skip
    try:
        # From "rendering" (the models loaded, the engine started) to the file's summary: the
        # render itself.
        started = read_until(proc, "camfx: rendering")
        took = read_until(proc, f"camfx: {out}: ") - started
    finally:
        err = finish(proc)
    assert proc.returncode == 0, err
    seconds = RENDER_FRAMES / RENDER_FPS
    frame_s = 1.0 / RENDER_FPS
    assert took >= seconds - 3 * frame_s, f"{RENDER_FRAMES} frames took {took:.2f} s"
    info = streams_of(out)
    assert info["frames"] == RENDER_FRAMES, info
    assert abs(info["video_s"] - seconds) <= frame_s, info
    assert info.get("audio") == "aac" and abs(info["audio_s"] - info["video_s"]) < DURATION_MATCH_S
