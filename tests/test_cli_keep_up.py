"""``camfx run`` says when its frames come out well under the source's rate, and when they are
back (qa9: beside six CPU hogs Studio ran at 4-10 fps of 30 with nothing said)."""

from __future__ import annotations

import time
from typing import Any

import pytest


def test_a_run_that_cannot_keep_up_says_so_and_says_when_it_is_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's frames made slow to read (0.1 s each: 10 fps of 30) from 5 s to 9.5 s into
    the run, as a machine busy past its cores makes them."""
    from app.cli import main
    from pipelines.sources.base import Source

    read, started = Source.read, []

    def slow_read(self: Source) -> Any:
        now = time.monotonic()
        if not started:
            started.append(now)
        if 5.0 <= now - started[0] < 9.5:
            time.sleep(0.1)
        return read(self)

    monkeypatch.setattr(Source, "read", slow_read)
    frames = 16 * 30 - 90  # 16 s of the run, 4.5 of them at 10 fps
    assert main(["run", "--source", "demo", "--size", "320x180", "--frames", str(frames),
                 "--output", "null"]) == 0  # fmt: skip
    said = [line for line in capsys.readouterr().err.splitlines() if "frames come out" in line]
    assert len(said) == 2, said
    assert "of the source's 30" in said[0] and "too busy" in said[0]
    assert "again" in said[1]
