"""A stage call that never returns: reported, bypassed, and no reason for a slow quit.

A helper forced the face mesh to stall inside a call: the processing thread stayed in it, nothing
was reported, the video stopped, and after the window closed (5.5 s) the process waited the
engine's whole 60 s at exit for the thread. Here stages stall on purpose (blocked on an event):
the engine's watchdog reports the stuck call within its limit (and one look more; the limits,
:data:`~pipelines.watchdog.PROCESS_STUCK_S` and ``OPEN_STUCK_S``, are lowered here), naming the
stage; frames go on without it on a fresh thread; and a quit with the stage still
stuck ends within seconds with its recording finished.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from engine_support import Arrivals
from test_engine_switch import LiveCounter, _wait

from pipelines import watchdog
from pipelines.engine import STUCK_LINGER_S, Engine, EngineEvent, EventKind
from pipelines.frame import FrameContext
from pipelines.outputs.recorder import probe_video
from pipelines.stage import Stage, StageSettings

ROOT = Path(__file__).resolve().parents[1]

REPORT_SLACK_S = 1.0
"""How much later than the stuck limit the report may come (the watchdog looks every 0.25 s;
the rest is a shared 2-core machine)."""
STALL_AT = 10
"""The frame in which the stalling stage blocks."""
PROCESS_LIMIT_S = 1.0
"""The stuck limit of a frame call in these tests (:data:`~pipelines.watchdog.PROCESS_STUCK_S`,
5 s, made each of these tests wait it: 47 s of the suite; 1.5 s until 2026-12-06). The stages
here stall on purpose, and their other frames take under a millisecond (64x48 grey), so a
shorter limit tells a stall from a frame as well; each bound below is this limit plus the same
slack as before."""
OPEN_LIMIT_S = 1.0
"""The stuck limit of an open in these tests (:data:`~pipelines.watchdog.OPEN_STUCK_S`, 20 s,
is too long for a test; 2.0 s until 2026-12-06: the opens here either hang for good or return
at once)."""
EXIT_S = 2.0
"""What an interpreter with PyAV and OpenCV loaded takes to exit on a loaded 2-core machine,
with nothing to wait for (1.1 s seen)."""


class Stalls(Stage[StageSettings]):
    """Writes 1 into the first pixel; blocks inside ``process`` on frame :data:`STALL_AT` until
    :attr:`release` is set."""

    name = "stalls"

    def __init__(self, analysis_only: bool) -> None:
        super().__init__()
        self.analysis_only = analysis_only  # type: ignore[misc]
        self.release = threading.Event()
        self.stalled = threading.Event()
        self.stalled_at = 0.0
        self.calls = 0
        self.calls_after_release = 0

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        if self.release.is_set():
            self.calls_after_release += 1
        self.calls += 1
        if self.calls == STALL_AT:
            self.stalled_at = time.monotonic()
            self.stalled.set()
            self.release.wait()
        if self.analysis_only:
            return image
        out = image.copy()
        out[0, 0, 0] = 1
        return out


class Marks(Stage[StageSettings]):
    """An image stage after the stalling one: writes 2 into the second pixel."""

    name = "marks"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        out = image.copy()
        out[0, 1, 0] = 2
        return out


@pytest.mark.parametrize(
    ("analysis_only", "serial_share"),
    [(True, None), (False, None)],
    ids=["processing-thread", "render-thread"],
)
def test_a_stuck_process_is_reported_and_the_video_goes_on_without_it(
    analysis_only: bool, serial_share: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watchdog, "PROCESS_STUCK_S", PROCESS_LIMIT_S)
    stalls, marks = Stalls(analysis_only), Marks()
    out = Arrivals()
    engine = Engine(LiveCounter(), [stalls, marks], [out], serial_share=serial_share)
    events: list[tuple[float, EngineEvent]] = []
    engine.add_listener(lambda ev: events.append((time.monotonic(), ev)))
    engine.start()
    try:
        assert stalls.stalled.wait(10), "the stage never stalled"
        assert _wait(lambda: any(e.kind == EventKind.STAGE_ERROR for _, e in events), 10)
        reported_at, report = next((t, e) for t, e in events if e.kind == EventKind.STAGE_ERROR)
        assert report.name == "stalls", report
        assert "process never returned" in report.message, report.message
        delay = reported_at - stalls.stalled_at
        assert PROCESS_LIMIT_S <= delay <= PROCESS_LIMIT_S + REPORT_SLACK_S, delay
        # Frames go on through the other stage, on a fresh thread.
        resumed = len(out.frames)
        assert _wait(lambda: len(out.frames) >= resumed + 10, 3), "the video did not go on"
        fresh = [f for t, f in out.frames if t > reported_at]
        assert all(int(f.image[0, 1, 0]) == 2 for f in fresh[1:])
        stalls.release.set()  # the stuck call returns: its thread ends, the stage stays out
        time.sleep(0.3)
        count = len(out.frames)
        assert _wait(lambda: len(out.frames) >= count + 5, 3)
    finally:
        stalls.release.set()
        engine.stop()
    assert stalls.calls_after_release == 0, "a bypassed stage was called again"
    assert [e.kind for _, e in events].count(EventKind.STAGE_ERROR) == 1  # once
    assert not engine.running


class HangsOpening(Stage[StageSettings]):
    """Its ``open()`` blocks until :attr:`release` is set."""

    name = "hangs"

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.opening = threading.Event()

    def open(self) -> None:
        self.opening.set()
        self.release.wait()
        super().open()


def test_a_stuck_open_is_reported_and_the_running_list_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watchdog, "OPEN_STUCK_S", OPEN_LIMIT_S)
    marks, hangs = Marks(), HangsOpening()
    out = Arrivals()
    engine = Engine(LiveCounter(), [marks], [out])
    events: list[tuple[float, EngineEvent]] = []
    engine.add_listener(lambda ev: events.append((time.monotonic(), ev)))
    engine.start()
    try:
        assert _wait(lambda: len(out.frames) >= 5), "no frames before the switch"
        engine.set_stages([hangs, marks])
        assert hangs.opening.wait(5)
        opening_at = time.monotonic()
        assert _wait(lambda: any(e.kind == EventKind.STAGE_WARNING for _, e in events), 10)
        reported_at, report = next((t, e) for t, e in events if e.kind == EventKind.STAGE_WARNING)
        assert report.name == "hangs", report
        assert "has not finished starting" in report.message, report.message
        assert "running without it until it does" in report.message, report.message
        assert reported_at - opening_at <= OPEN_LIMIT_S + REPORT_SLACK_S
        count = len(out.frames)
        assert _wait(lambda: len(out.frames) >= count + 10, 3), "the running list stopped"
        assert all(int(f.image[0, 1, 0]) == 2 for _, f in out.frames[count:])
    finally:
        hangs.release.set()
        engine.stop()
    assert [e.kind for _, e in events].count(EventKind.STAGE_WARNING) == 1  # once


QUIT_SCRIPT = textwrap.dedent(
    f"""
    import logging, sys, threading, time

    import numpy as np

    from pipelines import watchdog
    from pipelines.engine import Engine
    from pipelines.outputs.recorder import VideoFileOutput
    from pipelines.sources.base import Source, SourceConfig
    from pipelines.stage import Stage, StageSettings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    watchdog.PROCESS_STUCK_S = {PROCESS_LIMIT_S}  # the real 5 s: a test's whole budget


    class Grey(Source):
        live = True

        def __init__(self):
            super().__init__("", SourceConfig(width=64, height=48, fps=30.0, paced=True))

        def grab(self):
            return np.full((48, 64, 3), 128, np.uint8)


    class Stalls(Stage[StageSettings]):
        name = "stalls"
        stalled = threading.Event()
        calls = 0

        def process(self, image, ctx):
            self.calls += 1
            if self.calls == 30:
                self.stalled.set()
                threading.Event().wait()  # never returns
            return image


    class First(Stage[StageSettings]):
        name = "first"
        analysis_only = True


    class PrepareStalls(Stalls):
        analysis_only = True  # the second analysis stage: its prepare runs on the pool

        def prepare(self, image, ctx):
            self.calls += 1
            if self.calls == 30:
                self.stalled.set()
                threading.Event().wait()  # never returns

        def process(self, image, ctx):
            return image


    class HangsOpening(Stage[StageSettings]):
        name = "hangs"
        stalled = threading.Event()

        def open(self):
            self.stalled.set()
            threading.Event().wait()  # never returns


    video, quit_after, what = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    if what == "process":
        stage = Stalls()
        engine = Engine(Grey(), [stage], [VideoFileOutput(video)])
        engine.start()
    elif what == "prepare":  # on the prepare pool, beside the first analysis stage
        stage = PrepareStalls()
        engine = Engine(Grey(), [First(), stage], [VideoFileOutput(video)], serial_share=None)
        engine.start()
    else:  # an open on the opener thread (a preset picked while the video runs)
        watchdog.OPEN_STUCK_S = {OPEN_LIMIT_S}  # the real 20 s is too long for a test
        stage = HangsOpening()
        engine = Engine(Grey(), [], [VideoFileOutput(video)])
        engine.start()
        time.sleep(1.0)
        engine.set_stages([stage])
    assert stage.stalled.wait(30), "the stage never stalled"
    time.sleep(quit_after)  # the user quits this long after the stage stalled
    t0 = time.monotonic()
    engine.stop()
    print(f"stop returned after {{time.monotonic() - t0:.1f}} s", flush=True)
    sys.exit(0)
    """
)


@pytest.mark.parametrize(
    ("what", "quit_after_s"),
    [
        ("process", 0.0),
        ("process", PROCESS_LIMIT_S + 1.0),
        ("prepare", PROCESS_LIMIT_S + 1.0),
        ("open", 0.0),
        ("open", OPEN_LIMIT_S + 1.0),
    ],
    ids=[
        "process-at-once",
        "process-reported",
        "prepare-reported",
        "open-at-once",
        "open-reported",
    ],
)
def test_a_quit_with_a_stuck_stage_ends_soon_with_its_recording_finished(
    tmp_path: Path, what: str, quit_after_s: float
) -> None:
    """At once: ``stop`` waits for the call until it counts as stuck, the exit
    :data:`STUCK_LINGER_S` more. After the report: neither waits. Before, both waited: ``stop``
    5 s, the exit 60 s; a stuck ``prepare`` (on the prepare pool) held the exit for good."""
    limit_s = PROCESS_LIMIT_S if what == "process" else OPEN_LIMIT_S
    video = tmp_path / "rec.mp4"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", QUIT_SCRIPT, str(video), str(quit_after_s), what],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:  # the quit starts once the stage is stuck (and reported)
        lines.append(line)
        if "stop returned" in line:
            break
    quit_at = time.monotonic()
    try:
        rest, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, _ = proc.communicate()
    exit_s = time.monotonic() - quit_at
    log = "".join(lines) + rest
    assert proc.returncode == 0, f"exit {proc.returncode} (134: aborted in native code):\n{log}"
    stop_s = float(log.split("stop returned after ")[1].split(" s")[0])
    if quit_after_s:
        reported = {
            "open": "stage hangs has not finished starting",
            "process": "stage stalls has not finished a frame",
            "prepare": "stage stalls has not finished a frame",
        }[what]
        assert reported in log, log  # the report, in the log
        assert stop_s < 1.0 and exit_s < EXIT_S, (stop_s, exit_s, log)
    else:
        assert stop_s < limit_s + 0.5, log
        assert exit_s < STUCK_LINGER_S + EXIT_S, (exit_s, log)
    frames, seconds = probe_video(video)
    assert frames >= 20 and seconds > 0.5, (frames, seconds, log)
