"""Two recordings to one file name (qa64, 2026-12-08).

A second ``camfx run -y`` to the output a first one was still writing replaced it with its own
finished file; the first one then found its file gone, and removed what was at its name, the
second one's recording: both were lost, and the second run had said it saved its file. Now a
recording refuses a name another recording is writing (the recorder's lock, which the system
drops when the process dies), and a recording whose file was replaced never removes the file
that took its name. The command line's refusal is checked in another process, as users run
it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.errors import OutputError
from pipelines.frame import Frame
from pipelines.outputs import recorder
from pipelines.outputs.existing import ExistingFile
from pipelines.outputs.recorder import VideoFileOutput, probe_video

pytest.importorskip("av")

REPO = Path(__file__).resolve().parent.parent
W, H, FPS = 64, 48, 30.0


def frames(out: VideoFileOutput, first: int, count: int) -> None:
    for i in range(first, first + count):
        out.write(Frame.new(np.full((H, W, 3), 5 * i % 256, np.uint8), i / FPS, i))


def test_a_name_being_recorded_is_refused_even_with_y(tmp_path: Path) -> None:
    path = tmp_path / "take.mp4"
    first = VideoFileOutput(str(path))
    first.live_source = False
    first.open(W, H, FPS)
    try:
        frames(first, 0, 10)
        second = VideoFileOutput(str(path), existing=ExistingFile.REPLACE)
        with pytest.raises(OutputError, match="is being recorded by another camfx"):
            second.check(W, H, FPS)
        with pytest.raises(OutputError, match="is being recorded by another camfx"):
            second.open(W, H, FPS)
        # As a user runs it: another process, one line, exit 2, nothing written.
        run = ["run", "--source", "demo", "--preset", "off", "--size", f"{W}x{H}"]
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", *run, "--frames", "5", "--output", str(path), "-y"],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "is being recorded by another camfx" in lines[0], lines
        assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mp4"]
        frames(first, 10, 10)
    finally:
        first.close()
    assert first.failure is None and probe_video(str(path))[0] == 20
    assert not recorder.being_recorded(path)


def test_a_recording_whose_file_was_replaced_leaves_the_new_file(tmp_path: Path) -> None:
    path = tmp_path / "take.mp4"
    first = VideoFileOutput(str(path))
    first.live_source = False
    first.open(W, H, FPS)
    frames(first, 0, 5)
    # Another program puts its own file at the name (the lock is advisory).
    other = tmp_path / "other.mp4"
    other.write_bytes(b"somebody else's finished file")
    os.replace(other, path)
    first.close()
    assert first.failure is not None
    assert "another file was put at its name" in first.failure, first.failure
    assert "no file is left" not in first.failure
    assert path.read_bytes() == b"somebody else's finished file"
