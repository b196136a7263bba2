"""The command line's log lines: a source's news for the user reads as a ``camfx:`` line.

qa8 L4: a video still being written was said as ``WARNING pipelines.sources.files: video file …
is still being written …``, a logger's line beside the command's own ``camfx:`` lines."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

TESTS = Path(__file__).resolve().parent

# The run as a user starts it, in a process of its own (pytest's log capture would take the
# root logger's records here), on a recording that grows between OpenCV's and PyAV's opens.
RUN_ON_A_GROWING_FILE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from test_file_sources import fragmented_mp4
from app import cli
from pipelines.sources import files

path = Path(sys.argv[2])
data, starts = fragmented_mp4()
path.write_bytes(data[: starts[1]])
stated = files._stated_length

def written_on(name):
    path.write_bytes(data)
    return stated(name)

files._stated_length = written_on
sys.exit(cli.main(["run", "--source", str(path), "--output", "null", "--no-loop",
                   "--size", "64x48"]))
"""


def test_a_file_still_being_written_is_said_in_a_camfx_line(tmp_path: Path) -> None:
    growing = tmp_path / "growing.mp4"
    done = subprocess.run(
        [sys.executable, "-c", RUN_ON_A_GROWING_FILE, str(TESTS), str(growing)],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    said = [line for line in lines if "still being written" in line]
    assert len(said) == 1, lines
    # The frames of its first fragment, as many as OpenCV gave (28-31, test_file_sources).
    assert re.fullmatch(
        re.escape(f"camfx: video file {str(growing)!r} is still being written (it grew while ")
        + r"it was read\): played the \d+ frames it had, ending",
        said[0],
    ), said
    assert not any(line.startswith(("WARNING ", "ERROR ")) for line in lines), lines


def terminal_stderr(*args: str) -> tuple[int, str]:
    """``camfx`` run with its stderr on a terminal (a pseudo-terminal): exit code, what it
    wrote there."""
    import os
    import pty

    main_fd, term_fd = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            cwd=TESTS.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=term_fd,
        )
        os.close(term_fd)
        chunks = []
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # the terminal's other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=100)
    finally:
        os.close(main_fd)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_a_run_on_a_terminal_says_it_is_starting_then_writes_over_it() -> None:
    """Models load before the first line: 3 s quiet, 19 s beside six CPU hogs with nothing
    said (QA qa9). On a terminal ``camfx: starting`` comes first, ended by a carriage return
    so the next line writes over it; through a pipe (a script, the other tests) nothing."""
    from app.cli import STARTING_LINE

    run = ["run", "--source", "demo", "--size", "64x48", "--frames", "3", "--output", "null"]
    code, said = terminal_stderr(*run)
    assert code == 0, said
    assert said.startswith(STARTING_LINE + "\r"), said[:200]
    assert said[len(STARTING_LINE) + 1 :].startswith("camfx: demo 64x48"), said[:200]
    piped = subprocess.run(
        [sys.executable, "-m", "app.cli", *run],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert piped.returncode == 0 and STARTING_LINE not in piped.stderr, piped.stderr
