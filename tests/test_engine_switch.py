"""Picking a preset while the camera runs keeps the video moving.

``Engine.set_stages`` (the tray's and the window's preset switch) opened the new stages on the
processing thread until 2026-12-06: no frame was processed for the opens' time, so the meeting
saw a frozen picture for 0.5-1.4 s the first time each preset was used (Studio 0.99 s, the
talking head 1.37 s at load 4). The new stages now open on the engine's opener thread while the
frames go on through the running ones, and the lists are swapped between two frames.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
import pytest
from engine_support import Arrivals

from pipelines.engine import Engine, EngineEvent, EventKind, join_lingering_threads
from pipelines.errors import ModelError
from pipelines.frame import Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.sources.base import Source, SourceConfig
from pipelines.stage import Stage

FPS = 30.0
OPEN_S = 1.5
"""How long the slow stage's ``open()`` takes: a first Studio on a loaded 2-core machine."""
GAP_MAX_S = 0.3
"""The longest two delivered frames may be apart around a switch: a 30 fps camera delivers
one every 33 ms; the rest is slack for a shared 2-core machine."""
WAIT_S = 10.0
STOP_TIMEOUT_S = 5.0
"""``Engine.stop``'s own default: the limit it waits for a thread, before and after."""


class LiveCounter(Source):
    """Small frames at a camera's pace, live (frames not taken are gone)."""

    live = True

    def __init__(self) -> None:
        super().__init__("", SourceConfig(width=64, height=48, fps=FPS, paced=True))

    def grab(self) -> np.ndarray:
        return np.zeros((48, 64, 3), np.uint8)


class Marked(Stage[Any]):
    """Writes its ``mark`` into the frame's first pixel, so a delivered frame says which stage
    list it went through; its ``open()`` may take ``open_s`` and then fail with ``error``."""

    def __init__(self, name: str, mark: int, open_s: float = 0.0, error: Exception | None = None):
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.mark = mark
        self.open_s = open_s
        self.error = error
        self.opening = threading.Event()
        self.opened_on = ""
        self.opened_at: float | None = None
        self.opens = self.closes = 0
        self.processed: list[float] = []
        self.unopened_frames = 0

    def open(self) -> None:
        self.opening.set()
        self.opened_on = threading.current_thread().name
        self.opens += 1
        time.sleep(self.open_s)
        if self.error is not None:
            raise self.error
        self.opened_at = time.monotonic()
        super().open()

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.unopened_frames += not self.is_open
        self.processed.append(time.monotonic())
        out = image.copy()
        out[0, 0, 0] = self.mark
        return out

    def close(self) -> None:
        self.closes += 1
        super().close()


def _wait(condition: Any, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _started(stages: list[Stage[Any]]) -> tuple[Engine, Arrivals, list[EngineEvent]]:
    out = Arrivals()
    engine = Engine(LiveCounter(), stages, [out], lossless=False)
    events: list[EngineEvent] = []
    engine.add_listener(events.append)
    engine.start()
    assert _wait(lambda: len(out.frames) >= 10), "no frames before the switch"
    return engine, out, events


def _marks(out: Arrivals, since: float, until: float) -> list[int]:
    return [int(f.image[0, 0, 0]) for t, f in out.frames if since <= t <= until]


def test_frames_keep_coming_while_a_new_stage_opens() -> None:
    old, new = Marked("old", 1), Marked("new", 2, open_s=OPEN_S)
    engine, out, events = _started([old])
    try:
        switched = time.monotonic()
        engine.set_stages([new])
        assert engine.stages_pending
        assert _wait(lambda: len(new.processed) >= 10), "the new stage never ran"
    finally:
        engine.stop()
    gaps = out.gaps_since(switched - 0.05)
    assert gaps.max() < GAP_MAX_S, f"the video stood still {gaps.max():.2f} s"
    # The old look stayed while the new stage opened, then the new one, at a frame boundary.
    assert new.opened_at is not None
    during = _marks(out, switched, new.opened_at)
    assert len(during) >= OPEN_S * FPS / 2 and set(during) == {1}
    assert set(_marks(out, new.processed[0], time.monotonic())) == {2}
    assert new.processed[0] >= new.opened_at and new.unopened_frames == 0
    assert new.opened_on == "camfx-open-new" and new.opens == 1  # its own thread
    assert old.closes == 1 and new.closes == 1
    assert not engine.stages_pending
    assert [e.kind for e in events] == [EventKind.STOPPED]


def test_of_two_quick_switches_only_the_last_runs_and_the_superseded_stage_is_closed() -> None:
    """The user clicks one preset and, while it opens, another: the first one's stage that the
    second does not have is closed without running a frame; one they share opens once."""
    old, shared = Marked("old", 1), Marked("shared", 3)
    superseded, last = Marked("superseded", 4, open_s=OPEN_S / 2), Marked("last", 5)
    engine, out, _events = _started([old])
    try:
        switched = time.monotonic()
        engine.set_stages([shared, superseded])
        assert superseded.opening.wait(WAIT_S)
        engine.set_stages([shared, last])
        assert _wait(lambda: len(last.processed) >= 10), "the last list never ran"
        running = engine.pipeline.names()
    finally:
        engine.stop()
    assert running == ["shared", "last"]
    assert superseded.opens == 1 and superseded.closes == 1 and not superseded.processed
    assert shared.opens == 1 and shared.closes == 1 and shared.processed
    assert old.closes == 1
    gaps = out.gaps_since(switched - 0.05)
    assert gaps.max() < GAP_MAX_S, f"the video stood still {gaps.max():.2f} s"
    assert 4 not in _marks(out, switched, time.monotonic())


def test_a_stage_that_cannot_open_is_reported_and_left_out_and_frames_keep_coming() -> None:
    old, good = Marked("old", 1), Marked("good", 2)
    broken = Marked("broken", 6, open_s=OPEN_S / 2, error=ModelError("model x.onnx is missing"))
    engine, out, events = _started([old])
    try:
        switched = time.monotonic()
        engine.set_stages([good, broken])
        assert _wait(lambda: len(good.processed) >= 10), "the list never ran"
        running = engine.pipeline.names()
    finally:
        engine.stop()
    assert running == ["good"]
    problems = [e for e in events if e.kind != EventKind.STOPPED]
    assert [(e.kind, e.name, e.message) for e in problems] == [
        (EventKind.STAGE_OPEN_ERROR, "broken", "model x.onnx is missing")
    ]
    assert broken.closes == 1 and not broken.processed  # what its open() got is released
    assert engine.stats.errors == {"broken": 1}
    gaps = out.gaps_since(switched - 0.05)
    assert gaps.max() < GAP_MAX_S, f"the video stood still {gaps.max():.2f} s"


def _a_third_into_a_slow_open() -> tuple[Marked, Engine, Arrivals]:
    """A running engine a third of the way into opening a slow stage picked while it ran."""
    new = Marked("new", 2, open_s=OPEN_S)
    engine, out, _events = _started([Marked("old", 1)])
    engine.set_stages([new])
    assert new.opening.wait(WAIT_S)
    time.sleep(OPEN_S / 3)
    return new, engine, out


def test_stop_during_a_slow_open_returns_when_the_open_ends_and_closes_the_stage() -> None:
    """Quitting (or restarting the engine for another camera) right after picking a preset:
    the video went on until the stop, which returns once the open ends, within its limit; the
    stage opened for nothing is closed, never run."""
    new, engine, out = _a_third_into_a_slow_open()
    t0 = time.monotonic()
    engine.stop(timeout=STOP_TIMEOUT_S)
    took = time.monotonic() - t0
    assert took < OPEN_S + 1.0 < STOP_TIMEOUT_S, f"stop took {took:.2f} s"
    assert not engine.running
    assert new.opens == 1 and new.closes == 1 and not new.processed
    last_frame = max(t for t, _ in out.frames)
    assert t0 - last_frame < GAP_MAX_S, f"no frame for {t0 - last_frame:.2f} s before the stop"


def test_stop_that_gives_up_on_a_slow_open_leaves_it_to_the_exit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``stop(timeout)`` shorter than the open: it returns in time and says so; the opener
    thread ends, the open's own thread closes the stage when the open ends, and the process's
    exit waits for it
    (``join_lingering_threads``: an interpreter ending while a thread is inside native code
    aborted the process)."""
    new, engine, out = _a_third_into_a_slow_open()
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="pipelines.engine"):
        engine.stop(timeout=0.2)
    took = time.monotonic() - t0
    assert took < 0.2 + 1.0, f"stop took {took:.2f} s"
    last_frame = max(t for t, _ in out.frames)
    assert t0 - last_frame < GAP_MAX_S, f"no frame for {t0 - last_frame:.2f} s before the stop"
    assert "camfx-open-new still running" in caplog.text
    assert join_lingering_threads(WAIT_S)
    assert new.closes == 1 and not new.processed


def test_a_lossless_engine_runs_the_new_list_from_the_next_frame() -> None:
    """Kept as it was (this passes before the change too): a file or the demo gives every
    frame to the outputs and nothing is live, so the frame after ``set_stages`` waits for the
    opens and goes through the new list."""

    class Counted(Source):
        def __init__(self) -> None:
            super().__init__("", SourceConfig(width=64, height=48, fps=FPS, paced=False))
            self.reads = 0

        def grab(self) -> np.ndarray:
            self.reads += 1
            if self.reads > 60:
                raise EOFError("done")
            return np.zeros((48, 64, 3), np.uint8)

    class SwitchAt(Output):
        """Sets the new list as frame 10 arrives, from an output's thread (a GUI's moment)."""

        def __init__(self, stages: list[Stage[Any]]) -> None:
            super().__init__("switch")
            self.stages = stages
            self.engine: Engine | None = None

        def write(self, frame: Frame) -> None:
            if frame.index == 10 and self.engine is not None:
                self.engine.set_stages(self.stages)

    old, new = Marked("old", 1), Marked("new", 2, open_s=0.3)
    out, switch_at = Arrivals(), SwitchAt([new])
    engine = Engine(Counted(), [old], [out, switch_at], lossless=True, pipelined=False)
    switch_at.engine = engine
    engine.start()
    try:
        assert engine.wait(WAIT_S)
    finally:
        engine.stop()
    marks = [int(f.image[0, 0, 0]) for _, f in out.frames]
    assert len(marks) == 60
    switch = marks.index(2)
    assert set(marks[:switch]) == {1} and set(marks[switch:]) == {2}
    assert switch <= 13  # the frames in flight as the list was set, then the new list


def test_a_model_being_made_holds_up_neither_a_made_one_nor_a_second_make(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The opener thread makes a new stage's sessions (0.1-1 s each) while the processing
    thread may ask ``load_model`` for one it has: that look-up waited for the whole make while
    one lock guarded the cache. Two threads asking for the same new model still make it once."""
    from pipelines.inference import model as model_module
    from pipelines.registry import Registry

    made: list[str] = []
    making = threading.Event()

    class Slow:
        def __init__(self, factory: Any) -> None:
            making.set()
            time.sleep(OPEN_S / 2)
            made.append("slow")

    class Quick:
        def __init__(self, factory: Any) -> None:
            made.append("quick")

    registry: Registry[Any] = Registry("model")
    registry.add("slow", Slow)
    registry.add("quick", Quick)
    monkeypatch.setattr(model_module, "MODELS", registry)
    monkeypatch.setattr(model_module, "_cache", {})
    factory = object()
    quick = model_module.load_model("quick", factory)  # type: ignore[arg-type]
    got: list[Any] = []
    makers = [
        threading.Thread(target=lambda: got.append(model_module.load_model("slow", factory)))  # type: ignore[arg-type]
        for _ in range(2)
    ]
    for t in makers:
        t.start()
    assert making.wait(WAIT_S)
    t0 = time.monotonic()
    assert model_module.load_model("quick", factory) is quick  # type: ignore[arg-type]
    waited = time.monotonic() - t0
    for t in makers:
        t.join(WAIT_S)
    assert waited < 0.1, f"a made model's look-up waited {waited:.2f} s"
    assert made == ["quick", "slow"] and len(got) == 2 and got[0] is got[1]


# --------------------------------------------------------------------------- first frames
FIRST_S = 0.6
"""How long the first frame of a stage that was just opened takes (its sessions' first runs,
OpenCV's first calls): Studio's first frame after a switch held the video 0.13-0.57 s at load
2.5 (2026-12-06)."""
LOAD_S = 0.6
"""How long a stage's background work (Numba loading its cached kernels) holds what its frames
need (the GIL): 0.8-2.2 s of it slowed Studio's first frames to 0.1-0.33 s a frame."""


class SlowFirst(Marked):
    """A rehearsed stage whose first frame takes :data:`FIRST_S` (one-time work, kept) and
    later ones nothing; its per-frame state is a count that :meth:`forget_frames` clears."""

    rehearsed = True

    def __init__(self, name: str, mark: int) -> None:
        super().__init__(name, mark)
        self.warm = False
        self.first_on = ""
        self.since_forgotten = 0
        self.forgotten = 0

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        if not self.warm:
            self.first_on = threading.current_thread().name
            time.sleep(FIRST_S)
            self.warm = True
        self.since_forgotten += 1
        return super().process(image, ctx)

    def forget_frames(self) -> None:
        self.forgotten += 1
        self.since_forgotten = 0


def _switched_without_a_stall(old: Marked, new: Marked) -> tuple[Any, float]:
    """Run ``old``, switch to ``new`` until it has processed 10 frames, and check the video
    never stood still meanwhile: the frame arrivals, and when the switch was asked for."""
    engine, out, _events = _started([old])
    try:
        switched = time.monotonic()
        engine.set_stages([new])
        assert _wait(lambda: len(new.processed) >= 10), "the new stage never ran"
    finally:
        engine.stop()
    gaps = out.gaps_since(switched - 0.05)
    assert gaps.max() < GAP_MAX_S, f"the video stood still {gaps.max():.2f} s"
    return out, switched


def test_a_stage_slow_on_its_first_frame_has_it_before_the_swap() -> None:
    new = SlowFirst("new", 2)
    out, _switched = _switched_without_a_stall(Marked("old", 1), new)
    assert new.first_on == "camfx-open" and new.unopened_frames == 0
    # Rehearsed on two frames, forgotten once, before its first live frame.
    assert new.forgotten == 1 and new.since_forgotten == len(new.processed) - 2
    assert set(_marks(out, new.processed[2], time.monotonic())) == {2}


class LoadsInBackground(Marked):
    """Its ``open()`` starts a load that holds ``held`` (as Numba's kernel load holds the GIL)
    for ``load_s``; each frame takes ``held`` for a moment (as any Python code takes the GIL)."""

    def __init__(self, name: str, mark: int, load_s: float = LOAD_S) -> None:
        super().__init__(name, mark)
        self.load_s = load_s
        self.held = threading.Lock()
        self.loader: threading.Thread | None = None
        self.slowest_s = 0.0

    def open(self) -> None:
        holding = threading.Event()

        def load() -> None:
            with self.held:
                holding.set()
                time.sleep(self.load_s)

        self.loader = threading.Thread(target=load, name="test-load", daemon=True)
        self.loader.start()
        holding.wait()
        super().open()

    def wait_warm(self, timeout: float) -> bool:
        assert self.loader is not None
        self.loader.join(timeout)
        return not self.loader.is_alive()

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        t0 = time.monotonic()
        with self.held:
            pass
        self.slowest_s = max(self.slowest_s, time.monotonic() - t0)
        return super().process(image, ctx)


def test_the_swap_waits_for_a_new_stages_background_load() -> None:
    """The load runs while the old list's frames go on; the new stage's first frames do not
    wait for it."""
    new = LoadsInBackground("new", 2)
    out, switched = _switched_without_a_stall(Marked("old", 1), new)
    assert new.slowest_s < 0.1, f"a frame waited {new.slowest_s:.2f} s for the load"
    assert new.processed[0] - switched >= LOAD_S * 0.9
    assert set(_marks(out, switched, new.processed[0] - 0.01)) == {1}


def test_a_load_longer_than_the_wait_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold Numba cache compiles for minutes: the swap waits ``WARM_WAIT_S``, not for it."""
    from pipelines import opener

    monkeypatch.setattr(opener, "WARM_WAIT_S", 0.3)
    # 2 s: past the 1.5 s bound below, as a swap that waited for it would be; the stop waits
    # for it (each frame takes its lock), so 3 s only made the test a second longer.
    old, new = Marked("old", 1), LoadsInBackground("new", 2, load_s=2.0)
    engine, _out, _events = _started([old])
    try:
        switched = time.monotonic()
        engine.set_stages([new])
        assert _wait(lambda: not engine.stages_pending), "the list was never swapped in"
        waited = time.monotonic() - switched
    finally:
        engine.stop()
    assert 0.3 <= waited < 1.5, f"swapped in after {waited:.2f} s"
