"""A video that ends early is an error even when its container states no frame count (MKV and
WebM state a duration instead): real small files written by PyAV here, cut short by bytes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_failures_are_errors import cut_short as cut_bytes
from test_failures_are_errors import mux_numbered_frames, read_all

from app import cli
from pipelines.errors import SourceError
from pipelines.sources.files import _stated_length

av = pytest.importorskip("av")

FRAMES = 60
FPS = 25
SIZE = (64, 48)

CONTAINERS = {
    # suffix: (PyAV format, codec, what the container states)
    "mkv": ("matroska", "mpeg4", "seconds"),
    "webm": ("webm", "libvpx", "seconds"),
    "avi": ("avi", "mpeg4", "frames"),
}


def write_video(path: Path, frames: int = FRAMES, audio_s: float = 0.0) -> Path:
    """Frames that show their number; with ``audio_s``, a silent audio track that long (in a
    Matroska file, longer than the video)."""
    fmt, codec, _ = CONTAINERS[path.suffix[1:]]
    w, h = SIZE
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        sound = container.add_stream("aac", rate=48000) if audio_s else None
        mux_numbered_frames(container, stream, frames)
        if sound is not None:
            chunk = 1024
            for start in range(0, int(audio_s * 48000), chunk):
                frame = av.AudioFrame.from_ndarray(
                    np.zeros((1, chunk), np.float32), format="fltp", layout="mono"
                )
                frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def cut_short(good: Path, keep: float) -> Path:
    """The first ``keep`` of ``good``'s bytes as ``cut.<suffix>`` beside it."""
    return cut_bytes(good, good.with_name(f"cut{good.suffix}"), keep)


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_stated_length_of_each_container(tmp_path: Path, suffix: str) -> None:
    frames, seconds = _stated_length(str(write_video(tmp_path / f"good.{suffix}")))
    if CONTAINERS[suffix][2] == "frames":
        assert (frames, seconds) == (FRAMES, None)
    else:
        assert frames is None and seconds == pytest.approx(FRAMES / FPS, abs=1e-6)


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_a_whole_video_ends_and_a_cut_one_is_an_error(tmp_path: Path, suffix: str) -> None:
    good = write_video(tmp_path / f"good.{suffix}")
    assert read_all(good) == FRAMES
    assert read_all(good, loop=True, limit=2 * FRAMES + 5) == 2 * FRAMES + 5
    for keep in (0.6, 0.8):
        cut = cut_short(good, keep)
        with pytest.raises(SourceError, match=rf"cut\.{suffix}' is damaged or cut short"):
            read_all(cut)
        with pytest.raises(SourceError, match="damaged or cut short"):
            read_all(cut, loop=True)


def test_a_longer_audio_track_does_not_make_a_good_mkv_look_cut(tmp_path: Path) -> None:
    good = write_video(tmp_path / "good.mkv", audio_s=FRAMES / FPS + 1.5)
    assert _stated_length(str(good))[1] == pytest.approx(FRAMES / FPS, abs=0.05)
    assert read_all(good) == FRAMES


def test_a_file_that_states_no_length_is_read_to_its_end(tmp_path: Path) -> None:
    """A Matroska file written as a stream (no seeking back) states neither: no check."""
    path = tmp_path / "live.mkv"
    w, h = SIZE
    with av.open(str(path), "w", format="matroska", options={"live": "1"}) as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(FRAMES):
            image = np.full((h, w, 3), i * 4, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert _stated_length(str(path)) == (None, None)
    assert read_all(path) == FRAMES


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("camfx: ")]
    assert lines and "Traceback" not in stderr, stderr
    return lines[-1]  # the run's own lines (what it opened, wrote) come before


@pytest.mark.parametrize("suffix", ["mkv", "webm"])
def test_run_no_loop_exits_2_on_a_cut_file_and_0_on_a_whole_one(
    tmp_path: Path, capsys: Any, suffix: str
) -> None:
    good = write_video(tmp_path / f"good.{suffix}")
    cut = cut_short(good, 0.6)
    out = tmp_path / "out.mp4"
    code = cli.main(["run", "--source", str(cut), "--no-loop", "--output", str(out)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2
    assert f"video file {str(cut)!r} is damaged or cut short" in line
    decoded = int(line.split("after frame ")[1].split()[0])
    assert 0 < decoded < FRAMES

    code = cli.main(["run", "--source", str(good), "--no-loop", "--output", str(out), "-y"])
    assert code == 0, capsys.readouterr().err


def test_a_cut_file_is_told_once_on_the_command_line(tmp_path: Path) -> None:
    """The run ends with one line for a source cut short; the engine's log record of the same
    failure (the window's log keeps it) is not printed too (it was: an ``ERROR
    pipelines.engine: source failed: ...`` line before the run's own)."""
    import subprocess
    import sys

    cut = cut_short(write_video(tmp_path / "good.mkv"), 0.6)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "run", "--source", str(cut), "--no-loop",
         "--preset", "off", "--output", str(tmp_path / "out.mp4")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("is damaged or cut short") == 1, done.stderr
    assert one_error_line(done.stderr).startswith("camfx: source: "), done.stderr


@pytest.mark.parametrize("fps", [None, FPS, 60])
def test_a_videos_own_rate_is_kept_and_said_when_fps_asks_another(
    tmp_path: Path, capsys: Any, fps: int | None
) -> None:
    """A video plays at its own rate; ``--fps`` asking another was ignored without a word (a
    user's ``--fps 60`` on a 24 fps file recorded 24 fps). Now one line says so; without
    ``--fps``, or with the file's own rate, nothing is said."""
    good = write_video(tmp_path / "good.mkv")
    out = tmp_path / "out.mp4"
    rate = [] if fps is None else ["--fps", str(fps)]
    code = cli.main(["run", "--source", str(good), "--frames", "8", *rate, "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    said = [line for line in err.splitlines() if "plays at its own" in line]
    if fps == 60:
        assert said == [f"camfx: {good} plays at its own {FPS} fps; --fps 60 sets the rate of "
                        "a camera, the demo or a picture"], err  # fmt: skip
    else:
        assert said == [], err
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == FPS
