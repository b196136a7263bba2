"""A video file source's own sound in its recording (qa6 F6): ``camfx run --source talk.mp4
--output out.mp4`` records the video's sound in step with its pictures, looped with them, and
kept by a run stopped with SIGTERM. On main the recording had no sound track at all.

Every file is real: a 3-s H.264 video with AAC beeps at known times, written with PyAV here,
recorded by the real recorder (libx264 + AAC), read back with PyAV."""

from __future__ import annotations

import signal
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from test_recording import camfx, finish, streams_of, wait_until_started

from app import cli
from pipelines.build import RunConfig, build_engine
from pipelines.outputs.basic import PreviewOutput
from pipelines.sources import Timing

av = pytest.importorskip("av")

FPS = 30
CLIP_S = 3.0
BEEPS_S = (0.4, 1.3, 2.8)
"""Where the clip's beeps start; the last one ends 0.15 s before the loop seam."""
BEEP_S = 0.05
SOURCE_RATE = 44100
"""Not the track's 48 kHz: the sound is resampled on its way."""
ONE_FRAME_S = 1.0 / FPS
AAC_FRAME_S = 1024 / 48000
LONGER_SOUND_S = 2 * AAC_FRAME_S + 1e-6
"""How much longer a recording's sound track states it is than its picture: the encoder's
last frame, filled up, and its priming, which the file's edit list hides (6.0213 s for 6 s)."""
SIZE = "160x120"


def talk_video(
    path: Path,
    *,
    with_sound: bool = True,
    beeps: tuple[float, ...] = BEEPS_S,
    sound_s: float = CLIP_S,
    tone_hz: float = 1000.0,
    colour: tuple[int, int, int] = (1, 1, 1),
    held: tuple[int, float] = (0, 0.0),
) -> Path:
    """A 3-s 30 fps video (its grey level counts the frames; ``colour``, B, G, R each 0 or 1,
    keeps some channels dark) with ``tone_hz`` beeps at ``beeps`` in a sound track ``sound_s``
    long. ``held``: (frame, seconds) the frame before that one is held for so much longer (a
    variable frame rate, as a screen recording's); the frames after it are stamped later."""
    held_at, held_s = held
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.codec_context.time_base = Fraction(1, 90000)
        audio = container.add_stream("aac", rate=SOURCE_RATE, layout="mono") if with_sound else None
        for i in range(round(CLIP_S * FPS)):
            image = np.full((120, 160, 3), 2 * i, np.uint8) * np.array(colour, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            late = held_s if held_s and i >= held_at else 0.0
            frame.pts, frame.time_base = round((i / FPS + late) * 90000), Fraction(1, 90000)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            t = np.arange(round(sound_s * SOURCE_RATE)) / SOURCE_RATE
            sound = np.zeros(len(t), np.float32)
            for at in beeps:
                beep = (t >= at) & (t < at + BEEP_S)
                sound[beep] = 0.5 * np.sin(2 * np.pi * tone_hz * (t[beep] - at))
            for k in range(0, len(sound), 1024):
                block = av.AudioFrame.from_ndarray(sound[None, k : k + 1024], "flt", "mono")
                block.sample_rate, block.pts = SOURCE_RATE, k
                block.time_base = Fraction(1, SOURCE_RATE)
                container.mux(audio.encode(block))
            container.mux(audio.encode(None))
    return path


def sound_and_start(path: Path) -> tuple[np.ndarray, int, float]:
    """The recording's sound (mono float32), its rate and the time of its first sample."""
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
    samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return samples, frames[0].sample_rate, float(frames[0].time or 0.0)


def beep_onsets(path: Path) -> list[float]:
    """When each beep starts in the recording (its sound first over half the beep's level)."""
    samples, rate, start = sound_and_start(path)
    loud = np.flatnonzero(np.abs(samples) > 0.25)
    if not len(loud):
        return []
    firsts = loud[np.concatenate([[True], np.diff(loud) > 0.2 * rate])]
    return [start + float(i) / rate for i in firsts]


def expected_onsets(seconds: float) -> list[float]:
    """The clip's beeps, looped every CLIP_S, that start in a recording ``seconds`` long."""
    loops = range(int(seconds // CLIP_S) + 1)
    return sorted(k * CLIP_S + at for k in loops for at in BEEPS_S if k * CLIP_S + at < seconds)


def assert_beeps_in_step(out: Path, seconds: float) -> None:
    found, wanted = beep_onsets(out), expected_onsets(seconds)
    assert len(found) == len(wanted), (found, wanted)
    worst = max(abs(a - b) for a, b in zip(found, wanted, strict=True))
    assert worst <= ONE_FRAME_S, (found, wanted)


def seam_peak(out: Path, at: float) -> float:
    """The loudest sample within 0.1 s of ``at`` (the file is silent there)."""
    samples, rate, start = sound_and_start(out)
    lo, hi = round((at - 0.1 - start) * rate), round((at + 0.1 - start) * rate)
    return float(np.abs(samples[max(0, lo) : hi]).max())


def run_lines(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("loop", [True, False])
def test_a_recording_keeps_the_videos_sound_in_step_also_across_the_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], loop: bool
) -> None:
    """A recording-only run (every frame) of 6 s of a 3-s clip: both passes' beeps where the
    frames put them; ``--no-loop`` ends sound and picture together at 3 s. Main: no sound."""
    video, out = talk_video(tmp_path / "talk.mp4"), tmp_path / "out.mp4"
    frames = ["--frames", str(round(2 * CLIP_S * FPS))] if loop else ["--no-loop"]
    err = run_lines(["run", "--source", str(video), "--output", str(out), "--size", SIZE, *frames],
                    capsys)  # fmt: skip
    assert "sound is not recorded" not in err, err
    seconds = 2 * CLIP_S if loop else CLIP_S
    info = streams_of(out)
    assert info.get("audio") == "aac", info
    assert info["frames"] == round(seconds * FPS) and abs(info["video_s"] - seconds) < 1e-3, info
    assert 0 <= info["audio_s"] - seconds <= LONGER_SOUND_S, info
    assert_beeps_in_step(out, seconds)
    if loop:
        # The seam adds no click: the file is silent 0.15 s either side of it.
        assert seam_peak(out, CLIP_S) < 0.02, seam_peak(out, CLIP_S)


def test_sound_past_the_last_frame_is_cut_where_the_pictures_start_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sound track 0.3 s longer than the pictures, with a beep in that tail: the sound loops
    with the pictures, so the tail is cut at the seam and never heard (main: no sound)."""
    video = talk_video(tmp_path / "talk.mp4", beeps=(*BEEPS_S, 3.1), sound_s=CLIP_S + 0.3)
    out = tmp_path / "out.mp4"
    run_lines(["run", "--source", str(video), "--output", str(out), "--size", SIZE,
               "--frames", str(round(2 * CLIP_S * FPS))], capsys)  # fmt: skip
    assert_beeps_in_step(out, 2 * CLIP_S)  # 3.1 s would be one more


def test_a_video_without_sound_records_no_sound_track(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, out = talk_video(tmp_path / "mute.mp4", with_sound=False), tmp_path / "out.mp4"
    err = run_lines(["run", "--source", str(video), "--output", str(out), "--size", SIZE,
                     "--frames", "30"], capsys)  # fmt: skip
    info = streams_of(out)
    assert "audio" not in info and info["frames"] == 30, info
    assert "the video's sound" not in err, err


def test_a_live_paced_run_that_skips_frames_keeps_the_sound_in_step(tmp_path: Path) -> None:
    """A preview watched live: late frames are skipped, the recording holds the frame before
    over their time, and the sound goes on where the file has it (main: no sound)."""
    video, out = talk_video(tmp_path / "talk.mp4"), tmp_path / "out.mp4"
    slow = PreviewOutput(callback=lambda frame: time.sleep(0.06))  # ~16 fps of a 30 fps file
    run = build_engine(
        RunConfig(source=str(video), outputs=(slow, str(out)), size=(160, 120), frames=80)
    )
    try:
        assert run.wait(60)
    finally:
        run.close()
    assert run.source.config.timing is Timing.REAL_TIME
    assert run.source.dropped > 0, run.source.dropped
    info = streams_of(out)
    assert info.get("audio") == "aac" and info["frames"] == 80, info
    seconds = info["video_s"]
    # The skips carried it past the loop seam and the second pass's first beep (measured:
    # 41-42 of 102 frames skipped for 60 of them, 2026-12-06).
    assert seconds > CLIP_S + BEEPS_S[0] + BEEP_S, info
    assert 0 <= info["audio_s"] - seconds <= LONGER_SOUND_S, info
    assert_beeps_in_step(out, seconds)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_recording_keeps_the_sound_recorded_so_far(tmp_path: Path, sig: int) -> None:
    """A looping run with no end of its own, stopped by SIGTERM or Ctrl+C: the file is
    finished, with its sound as long as its picture and the beeps in step."""
    video, out = talk_video(tmp_path / "talk.mp4"), tmp_path / "out.mp4"
    proc = camfx("run", "--source", str(video), "--output", str(out), "--size", SIZE)
    try:
        wait_until_started(proc)
        time.sleep(3.5)
        proc.send_signal(sig)
    finally:
        err = finish(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    info = streams_of(out)
    assert info.get("audio") == "aac" and info["video_s"] > 1.0, info
    assert 0 <= info["audio_s"] - info["video_s"] <= LONGER_SOUND_S, info
    assert_beeps_in_step(out, info["video_s"])


def test_a_talking_heads_voice_is_recorded_in_place_of_the_videos_sound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The talking head stands in for the person: its voice is the recording's one sound (not
    mixed with the video's), and one line at the start says so."""
    from pipelines.audio.demo_clip import write_wav

    video, voice, out = talk_video(tmp_path / "talk.mp4"), tmp_path / "v.wav", tmp_path / "o.mp4"
    rate = 16000
    t = np.arange(2 * rate) / rate
    write_wav(voice, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    err = run_lines(
        ["run", "--source", str(video), "--talking-head", "--audio", str(voice),
         "--avatar-mode", "stand-in", "--output", str(out), "--size", SIZE],
        capsys,
    )  # fmt: skip
    said = [line for line in err.splitlines() if "sound is not recorded" in line]
    assert len(said) == 1 and "will hold the talking head's voice" in said[0], err
    samples, rate_out, _ = sound_and_start(out)
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate_out)
    assert abs(freqs[np.argmax(spectrum)] - 220) < 5  # the voice's tone
    near_beep = spectrum[(freqs > 900) & (freqs < 1100)].max()
    assert near_beep < 0.01 * spectrum.max(), near_beep  # none of the video's 1 kHz beeps


def test_a_voice_that_is_the_videos_own_sound_is_not_said_to_be_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """qa64: a render whose voice is its source video's own sound said the video's sound is not
    recorded, and how to mix it in with ffmpeg: followed, the same sound twice. It is the
    voice, and recorded as such: nothing to say."""
    video, out = talk_video(tmp_path / "talk.mp4"), tmp_path / "out.mp4"
    argv = ["talking-head", "render", "--source", str(video), "--audio", str(video)]
    err = run_lines([*argv, "--output", str(out), "--frames", "10", "--size", SIZE], capsys)
    assert "sound is not recorded" not in err and "amix" not in err, err
    assert streams_of(out).get("audio") == "aac"
