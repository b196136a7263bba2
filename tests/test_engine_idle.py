"""Idling when nobody watches: the camera is released and processing stops while no app
reads the virtual camera, and both come back when one does."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipelines.engine import Engine, EngineEvent
from pipelines.frame import Frame
from pipelines.outputs import watchers
from pipelines.outputs.base import Output
from pipelines.sources.base import SourceConfig
from pipelines.sources.camera import CameraSource, RecordedBackend

IDLE_AFTER_S = 0.3
# Long enough for the 0.5 s watch interval plus scheduling on a shared 2-core machine.
SETTLE_S = 2.0


class WatchedOutput(Output):
    """An output whose audience the test switches on and off."""

    def __init__(self) -> None:
        super().__init__("watched")
        self.watched = True
        self.frames: list[Frame] = []

    def has_consumers(self) -> bool | None:
        return self.watched

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.frames_written += 1


def wait_for(predicate, timeout: float = SETTLE_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def make_engine(out: WatchedOutput) -> tuple[Engine, CameraSource, list[str]]:
    backend = RecordedBackend([np.full((48, 64, 3), 90, np.uint8)], fps=30.0)
    source = CameraSource("", SourceConfig(width=64, height=48, fps=30), backend=backend)
    source.open()
    engine = Engine(source, [], [out], idle_after=IDLE_AFTER_S)
    events: list[str] = []
    engine.add_listener(lambda ev: events.append(ev.kind) if isinstance(ev, EngineEvent) else None)
    return engine, source, events


def test_unwatched_output_releases_the_camera_and_resumes_when_watched() -> None:
    out = WatchedOutput()
    engine, source, events = make_engine(out)
    engine.start()
    try:
        assert wait_for(lambda: len(out.frames) > 5), "frames flow while watched"
        out.watched = False
        assert wait_for(lambda: engine.idle), "engine idles when nobody watches"
        assert source.handle is None and source.state == "closed", "camera released"
        captured = engine.stats.frames_captured
        time.sleep(1.2)
        assert engine.stats.frames_captured == captured, "no capture while idle"
        resent = [f for f in out.frames if f.ctx.extras.get("resent")]
        assert resent, "the last picture is re-sent while idle"
        out.watched = True
        assert wait_for(lambda: not engine.idle)
        assert wait_for(lambda: engine.stats.frames_captured > captured + 5), "capture resumes"
        assert source.state == "open"
    finally:
        engine.stop()
        source.close()
    assert "idle" in events and "active" in events


def test_outputs_that_cannot_tell_keep_the_engine_running() -> None:
    class Unknown(WatchedOutput):
        def has_consumers(self) -> bool | None:
            return None

    out = Unknown()
    engine, source, _ = make_engine(out)
    engine.start()
    try:
        time.sleep(IDLE_AFTER_S + 1.0)
        assert not engine.idle
        assert len(out.frames) > 5
    finally:
        engine.stop()
        source.close()


@pytest.mark.skipif(not watchers.supported(), reason="reading /proc/PID/fd needs Linux")
def test_readers_of_finds_another_process_holding_the_device(tmp_path: Path) -> None:
    device = tmp_path / "video7"
    device.write_bytes(b"")
    assert watchers.readers_of(str(device)) == []
    # A stand-in for a meeting app: a process that keeps the "device" open.
    holder = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(device)!r}, 'rb'); import time; time.sleep(30)"]
    )
    try:
        assert wait_for(lambda: holder.pid in watchers.readers_of(str(device)), 10.0)
        with open(device, "rb"):
            # Our own handle (the writer's) never counts as a reader.
            assert watchers.readers_of(str(device)) == [holder.pid]
    finally:
        holder.kill()
        holder.wait()
    assert watchers.readers_of(str(device)) == []
