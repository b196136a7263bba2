"""The source fallback (which source runs when the one asked for cannot be opened), decided
in the Qt-free app state: tested here without Qt or a display."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.state.source import Mode, SourceFailure, switch_source
from pipelines.errors import CamfxError


class Opener:
    """Opens what is not in ``broken``; remembers every attempt, and what runs."""

    def __init__(self, *broken: str, running: str = "") -> None:
        self.broken = set(broken)
        self.tried: list[tuple[str, Mode | None]] = []
        self.running = running

    def __call__(self, spec: str, mode: Mode | None) -> None:
        self.tried.append((spec, mode))
        if spec.startswith("camera"):
            self.running = ""  # a camera releases the old source first
        if spec in self.broken:
            raise CamfxError(f"{spec} cannot be opened")
        self.running = spec


def switch(opener: Opener, spec: str, *, previous: str = "", camera: str | None = None, **kw):
    return switch_source(
        spec,
        kw.get("mode"),
        "demo",
        previous=previous,
        previous_mode=kw.get("previous_mode"),
        first_camera=lambda: camera,
        open_source=opener,
        still_running=lambda: bool(opener.running),
    )


def test_the_source_asked_for_opens() -> None:
    opener = Opener()
    assert switch(opener, "clip.mp4", mode=None) is None
    assert opener.tried == [("clip.mp4", None)]


def test_no_spec_picks_the_first_camera_or_the_demo() -> None:
    opener = Opener()
    assert switch(opener, "", camera="camera:2") is None
    assert opener.tried == [("camera:2", None)]
    opener = Opener()
    assert switch(opener, "", camera=None) == SourceFailure("", "no camera found", "demo")
    assert opener.tried == [("demo", None)]


def test_a_failed_file_keeps_the_source_that_still_runs() -> None:
    opener = Opener("broken.mp4", running="camera:0")
    failure = switch(opener, "broken.mp4", previous="camera:0")
    assert failure == SourceFailure("broken.mp4", "broken.mp4 cannot be opened", "camera:0")
    assert opener.tried == [("broken.mp4", None)] and opener.running == "camera:0"


def test_a_failed_camera_goes_back_to_the_previous_one_with_its_mode() -> None:
    opener = Opener("camera:1", running="camera:0")
    mode = (640, 480, 30.0)
    failure = switch(opener, "camera:1", previous="camera:0", previous_mode=mode)
    assert failure == SourceFailure("camera:1", "camera:1 cannot be opened", "camera:0")
    assert opener.tried == [("camera:1", None), ("camera:0", mode)]


def test_then_the_fallback_then_nothing(caplog: pytest.LogCaptureFixture) -> None:
    opener = Opener("camera:1", "camera:0", running="camera:0")
    failure = switch(opener, "camera:1", previous="camera:0")
    assert failure == SourceFailure("camera:1", "camera:1 cannot be opened", "demo")
    assert [s for s, _ in opener.tried] == ["camera:1", "camera:0", "demo"]
    opener = Opener("camera:1", "camera:0", "demo", running="camera:0")
    failure = switch(opener, "camera:1", previous="camera:0")
    assert failure == SourceFailure("camera:1", "camera:1 cannot be opened", "", nothing_runs=True)
    assert "fallback source demo failed too" in caplog.text


def test_the_decision_needs_no_qt() -> None:
    code = "import sys, app.state.source; print([m for m in sys.modules if 'PySide6' in m])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
