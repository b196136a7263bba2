"""A talking head's voice file keeps real time under frames that do not come at the asked rate.

A voice file is mouthed by frame number (frame *i* is voice time *i* / fps), and a talking
head's blinks and sway ran on the same clock. That holds for a file's or the demo's frames,
which are all taken. A camera's index counts only the frames read: a webcam that gave 15 fps
when asked for 30 (a dim room) played the voice's mouth and the blinks at half speed live, its
recording (timed at the camera's 15 fps) read r -0.26 between the mouth and its own voice, and
the run went on silent for as long again as the voice (2026-12-07, main at e703a8e). A demo
sent to a virtual camera beside six CPU hogs came at 10 fps and its voice file played at a
third of its speed (QA qa9). Now a live source's frames go by their capture time
(:class:`~pipelines.frame.FrameClock`), and a generator watched live skips its late frames by
index as a video file does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from test_audio_inputs import voiced
from test_recording_mouth_sync import MIC_RATE, check_in_step, speech

from pipelines.audio.demo_clip import write_wav
from pipelines.audio.inputs import ArrayInput
from pipelines.audio.stage import AudioMouth, AudioMouthSettings
from pipelines.frame import LIVE_CAPTURE, FrameClock, FrameContext
from pipelines.sources import camera as camera_module
from pipelines.sources import open_source
from pipelines.sources.base import SourceConfig, Timing
from pipelines.sources.camera import RecordedBackend

pytestmark = pytest.mark.timeout(120)

ASKED_FPS = 30.0
CAMERA_FPS = 15.0
"""What the stand-in camera gives when 30 fps is asked: a webcam in a dim room."""


def live_ctx(timestamp: float, index: int) -> FrameContext:
    ctx = FrameContext(timestamp=timestamp, index=index)
    ctx.put(LIVE_CAPTURE, True)
    return ctx


def test_the_frame_clock_runs_on_capture_time_for_live_frames_only() -> None:
    clock = FrameClock(30.0)
    # A file's frames: their index, however late they come.
    assert clock.time_of(FrameContext(timestamp=100.0, index=60)) == pytest.approx(2.0)
    assert clock.played_from is None
    # Live frames at 15 fps: the first where its index puts it, then by capture time.
    times = [clock.time_of(live_ctx(100.0 + i / 15.0, 60 + i)) for i in range(16)]
    assert times[0] == pytest.approx(2.0)
    assert times[15] == pytest.approx(3.0), times  # one second later (by index: 2.5 s)
    assert clock.played_from == pytest.approx(98.0)
    # Back to a file's frames: their index again.
    assert clock.time_of(FrameContext(timestamp=200.0, index=90)) == pytest.approx(3.0)
    assert clock.played_from is None


def test_a_voice_file_opens_the_mouth_on_time_under_a_slow_camera() -> None:
    """1 s of silence, then voice: at 15 camera frames a second the mouth opens at frame
    15 (one second), not at frame 30 (by index, two seconds)."""
    sig = np.concatenate([np.zeros(16000), voiced(1.5), np.zeros(16000)]).astype(np.float32)
    stage = AudioMouth(
        AudioMouthSettings(input="none", vad=False, fps=ASKED_FPS), audio=ArrayInput(samples=sig)
    )
    stage.open()
    jaws, voices = [], []
    for i in range(45):
        ctx = live_ctx(50.0 + i / CAMERA_FPS, i)
        stage.process(np.zeros((4, 4, 3), np.uint8), ctx)
        jaws.append(ctx.audio.params.jaw)
        voices.append(ctx.audio.voice)
    stage.close()
    first_open = next(i for i, j in enumerate(jaws) if j > 0.2)
    assert 14 <= first_open <= 17, first_open  # main: 29-32
    assert voices[-1].played_from == pytest.approx(50.0)


def test_a_talking_head_s_animation_runs_on_capture_time_under_a_slow_camera() -> None:
    """The blinks', sway's and listening's clock: a camera at 15 fps gives 1 s in 15 frames."""
    from pipelines.avatar.motion import Animator
    from pipelines.avatar.stage import TalkingHead, TalkingHeadSettings

    seen: list[float] = []

    class SeenAnimator(Animator):
        def update(self, t: float, *args: Any, **kwargs: Any) -> Any:
            seen.append(t)
            return super().update(t, *args, **kwargs)

    stage = TalkingHead(TalkingHeadSettings(portrait="", fps=ASKED_FPS))
    stage.animator = SeenAnimator(stage.animator.settings)
    for i in range(16):
        stage.process(np.zeros((48, 64, 3), np.uint8), live_ctx(10.0 + i / CAMERA_FPS, i))
    assert seen[-1] - seen[0] == pytest.approx(1.0)  # main: 0.5 (15 frames / 30 fps)


@pytest.fixture
def slow_camera(monkeypatch: pytest.MonkeyPatch) -> RecordedBackend:
    """Camera 0 gives :data:`CAMERA_FPS` whatever is asked (grey frames)."""
    frames = [np.full((360, 640, 3), 60 + 4 * i, np.uint8) for i in range(20)]
    recorded = RecordedBackend(frames, fps=CAMERA_FPS)

    def open_recorded(self: Any, device: str, width: int, height: int, fps: float) -> Any:
        return recorded.open(device, width, height, fps)

    monkeypatch.setattr(camera_module.OpenCVBackend, "open", open_recorded)
    return recorded


@pytest.mark.parametrize("command", ["run", "render"])
def test_a_camera_slower_than_asked_records_its_voice_file_in_step(
    command: str, slow_camera: RecordedBackend, tmp_path: Path
) -> None:
    """``camfx run --source camera --talking-head --audio voice.wav --output out.mp4`` (and
    ``camfx talking-head render --source camera``) with a camera at 15 fps when 30 are asked:
    the recording lasts the voice, and its mouth is in step with its voice within a frame. On
    main: 10.0 s for a 5 s voice, r -0.26."""
    from app.cli import main

    said = speech(5.0)
    voice = tmp_path / "voice.wav"
    write_wav(str(voice), said, MIC_RATE)
    out = tmp_path / "camera.mp4"
    args = ["--source", "camera", "--size", "640x360", "--fps", str(ASKED_FPS)]
    if command == "run":
        args = ["run", *args, "--talking-head", "--avatar-mode", "stand-in", "-y"]
    else:
        args = ["talking-head", "render", *args, "--avatar-mode", "stand-in"]
    assert main([*args, "--audio", str(voice), "--output", str(out)]) == 0
    with av.open(str(out)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    seconds = len(said) / MIC_RATE
    assert abs(times[-1] - seconds) < 0.3, (times[-1], seconds)  # main: 10.0
    # The camera's own rate in the file, not the asked one's.
    assert np.median(np.diff(times)) == pytest.approx(1 / CAMERA_FPS, rel=0.15)
    check_in_step(out)


@pytest.mark.parametrize("spec", ["demo", "picture"])
def test_a_generator_watched_live_skips_its_late_frames_by_index(spec: str, tmp_path: Path) -> None:
    """Read at a third of its pace, the demo (or a picture) stands for real time by its index
    (the demo's motion, a talking head's voice file and animation): its index advances by about
    three a read and the skipped frames count as dropped. Recording only: every frame."""
    if spec == "picture":
        import cv2

        spec = str(tmp_path / "still.png")
        cv2.imwrite(spec, np.full((48, 64, 3), 90, np.uint8))
    for timing in (Timing.REAL_TIME, Timing.EVERY_FRAME):
        config = SourceConfig(width=64, height=48, fps=30.0, timing=timing)
        with open_source(spec, config) as source:
            t0 = time.monotonic()
            indices = []
            for _ in range(10):
                indices.append(source.read().index)  # type: ignore[union-attr]
                time.sleep(0.1)
            elapsed = time.monotonic() - t0
        if timing is Timing.EVERY_FRAME:
            assert indices == list(range(10)) and source.dropped == 0
            continue
        # main: 0-9 in 1 s (a 30 fps clock at a third of its speed), "dropped 0".
        assert indices[-1] / 30.0 >= 0.8 * (elapsed - 0.1), (indices, elapsed)
        assert indices == sorted(indices) and source.dropped == indices[-1] - 9 > 0


def test_a_run_that_ends_after_its_seconds_ends_with_nobody_watching() -> None:
    """A voice's run on a camera ends after the voice's seconds (``RunConfig.seconds``): an
    engine idling for want of a receiver takes no frames, so such a run does not idle, as a
    run of N frames does not."""
    from test_engine_idle import WatchedOutput

    from pipelines.build import RunConfig, build_engine

    out = WatchedOutput()
    out.watched = False
    run = build_engine(
        RunConfig(source="demo", outputs=(out,), size=(64, 48), seconds=1.0, idle_after=0.2)
    )
    try:
        assert run.wait(8.0), "the run did not end after its second"
    finally:
        run.close()
    assert not run.engine.idle
    span = out.frames[-1].timestamp - out.frames[0].timestamp
    assert 0.8 <= span < 1.0, span


def test_a_generator_catches_up_a_stall_of_seconds() -> None:
    """After a 2-s stall the demo's index is where real time says (60 frames on), not a
    second's worth of skips behind it for good (QA qa10: the voice's last second then fell
    off a recording ended by time)."""
    config = SourceConfig(width=64, height=48, fps=30.0, timing=Timing.REAL_TIME)
    with open_source("demo", config) as source:
        first = source.read()
        time.sleep(2.0)
        after = source.read()
    assert first is not None and after is not None
    assert after.index - first.index >= 57, after.index  # a second's cap: 31


@pytest.mark.parametrize("fps", [30, 25])
def test_a_run_ended_by_seconds_counts_a_file_s_frames_by_index(fps: int, tmp_path: Path) -> None:
    """A video file watched live skips at most a second of frames after a stall: a run ended
    by the voice's seconds ends on the frames' own clock (index / fps, as the voice is mouthed
    and recorded), not by capture time, or the recording lost the voice's end by the rest of
    the stall (a 2-s stall: 1 s). At the file's own rate: a 25 fps file's 3 s are 75 frames
    (at the asked 30 fps, 90: 0.6 s too long)."""
    from test_file_sources import numbered_clip

    from pipelines.build import RunConfig, build_engine
    from pipelines.outputs.basic import PreviewOutput

    clip = numbered_clip(tmp_path / "clip.mp4", 30, fps=fps)
    indices: list[int] = []

    def watch(frame: Any) -> None:
        indices.append(frame.index)
        if len(indices) == 5:
            time.sleep(2.0)  # a stall: the preset, or the machine

    config = RunConfig(
        source=str(clip), outputs=(PreviewOutput(callback=watch),), size=(64, 48), seconds=3.0
    )
    run = build_engine(config)
    try:
        assert run.wait(15.0)
    finally:
        run.close()
    assert run.source.dropped > 0  # it did skip
    span = indices[-1] - indices[0]
    assert 3 * fps - 4 <= span <= 3 * fps, indices  # by capture time: about 2 * fps


def test_a_video_at_its_own_rate_records_its_voice_file_in_step(tmp_path: Path) -> None:
    """A 25 fps video file (paced at its own rate, whatever --fps says) with a voice file: the
    talking head mouths the voice by the file's own index / 25, as the recording times its
    frames, and the run is the voice's length. On main: 7.2 s for a 6 s voice (180 frames,
    six seconds at 30), r 0.44."""
    from test_file_sources import write_video

    from app.cli import main

    said = speech(6.0)
    voice = tmp_path / "voice.wav"
    write_wav(str(voice), said, MIC_RATE)
    clip = write_video(
        tmp_path / "clip25.mp4",
        [np.full((360, 640, 3), 40 + i, np.uint8) for i in range(50)],
        fps=25,
    )
    out = tmp_path / "video.mp4"
    args = ["run", "--source", str(clip), "--size", "640x360", "--talking-head"]
    args += ["--avatar-mode", "stand-in", "--audio", str(voice), "--output", str(out), "-y"]
    assert main(args) == 0
    with av.open(str(out)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    assert len(times) == 150, len(times)  # main: 180
    assert abs(times[-1] + 1 / 25 - len(said) / MIC_RATE) < 0.05, times[-1]
    check_in_step(out)
