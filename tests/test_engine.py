"""The threaded engine: no latency build-up, drops counted, stage failures bypassed, settings
and stage lists swapped while running, failing outputs and sources, clean shutdown."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from typing import Annotated, Any

import numpy as np
import pytest
from msgspec import Meta

from pipelines.engine import Engine, EngineEvent
from pipelines.errors import SettingsError
from pipelines.frame import Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.sources.base import Source, SourceConfig
from pipelines.stage import Stage, StageSettings

FPS = 30.0
PERIOD_MS = 1000.0 / FPS
SLOW_WRITE_MS = 100.0
# Scheduling slack on a shared 2-core machine (other test suites run beside this one).
SLACK_MS = 120.0
JOIN_S = 10.0


# ----------------------------------------------------------------------------- helpers
class CounterSource(Source):
    """Small frames whose pixels encode the frame index; optional end after ``limit``."""

    def __init__(
        self, fps: float = FPS, paced: bool = True, limit: int | None = None, size=(64, 48)
    ) -> None:
        super().__init__("", SourceConfig(width=size[0], height=size[1], fps=fps, paced=paced))
        self.limit = limit
        self.closed = 0

    def grab(self) -> np.ndarray:
        if self.limit is not None and self._index >= self.limit:
            raise EOFError("done")
        w, h = self.actual_size
        return np.full((h, w, 3), self._index % 256, np.uint8)

    def close(self) -> None:
        self.closed += 1


class FailingSource(CounterSource):
    def grab(self) -> np.ndarray:
        if self._index >= 3:
            raise OSError("device vanished")
        return super().grab()


class Recorder(Output):
    def __init__(self, delay_s: float = 0.0, fail_at: int | None = None) -> None:
        super().__init__("recorder")
        self.delay_s = delay_s
        self.fail_at = fail_at
        self.frames: list[Frame] = []
        self.write_times: list[float] = []
        self.closes = 0
        self.opened_with: tuple[int, int, float] | None = None

    def open(self, width: int, height: int, fps: float) -> None:
        self.opened_with = (width, height, fps)
        super().open(width, height, fps)

    def write(self, frame: Frame) -> None:
        if self.fail_at is not None and len(self.frames) >= self.fail_at:
            raise OSError("disk full")
        if self.delay_s:
            time.sleep(self.delay_s)
        self.frames.append(frame)
        self.write_times.append(time.monotonic())
        super().write(frame)

    def close(self) -> None:
        self.closes += 1
        super().close()


@dataclasses.dataclass(frozen=True)
class AddSettings(StageSettings):
    amount: Annotated[int, Meta(ge=0, le=100)] = 1


class AddStage(Stage[AddSettings]):
    """Adds ``amount`` to every pixel; remembers the settings object each frame saw."""

    name = "test-add"
    settings_type = AddSettings

    def __init__(self, settings: AddSettings | None = None, name: str = "test-add") -> None:
        super().__init__(settings)
        self.name = name  # type: ignore[misc]
        self.opened_on: str | None = None
        self.closes = 0
        self.seen: list[int] = []
        self.unopened_frames = 0

    def open(self) -> None:
        self.opened_on = threading.current_thread().name
        super().open()

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.unopened_frames += not self.is_open
        amount = self.settings.amount  # read once per frame
        self.seen.append(amount)
        return (image.astype(np.int16) + amount).clip(0, 255).astype(np.uint8)

    def close(self) -> None:
        self.closes += 1
        super().close()


class FlakyStage(Stage[StageSettings]):
    """Raises on frames whose index is a multiple of 3."""

    name = "test-flaky"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        if ctx.index % 3 == 0:
            raise RuntimeError(f"cannot handle frame {ctx.index}")
        ctx.extras["flaky"] = ctx.index
        return 255 - image


class WrongShapeStage(Stage[StageSettings]):
    name = "test-wrong-shape"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        return image[:, :, 0]  # grayscale: breaks the contract


class BrokenOpenStage(Stage[StageSettings]):
    name = "test-broken-open"

    def __init__(self) -> None:
        super().__init__()
        self.closes = 0
        self.processed = 0

    def open(self) -> None:
        raise FileNotFoundError("model.onnx is missing")

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.processed += 1
        return image

    def close(self) -> None:
        self.closes += 1


def run_engine(engine: Engine, timeout: float = JOIN_S) -> None:
    engine.start()
    try:
        assert engine.wait(timeout), "engine did not stop by itself"
    finally:
        engine.stop()


def value_of(frame: Frame) -> int:
    return int(frame.image[0, 0, 0])


# ----------------------------------------------------------------------------- latency
def test_slow_output_drops_frames_instead_of_building_latency() -> None:
    """A 30 fps live source and an output that takes 100 ms per frame: the output gets the
    newest frame each time (latency about one write, not growing), the rest are counted as
    dropped, and capture keeps its own rate."""
    source = CounterSource(fps=FPS, paced=True)
    slow = Recorder(delay_s=SLOW_WRITE_MS / 1000.0)
    engine = Engine(source, [], [slow], lossless=False)
    duration_s = 1.6
    engine.start()
    t0 = time.monotonic()
    time.sleep(duration_s)
    snap = engine.snapshot()
    elapsed = time.monotonic() - t0
    engine.stop()

    capture_fps = snap.frames_captured / elapsed
    assert capture_fps >= 0.8 * FPS, f"capture slowed down to {capture_fps:.1f} fps"

    latencies = list(engine.stats.latency.samples)
    assert len(latencies) >= 8  # ~10 writes per second
    # Each delivered frame waited at most one source period in the slot, then one write.
    bound_ms = SLOW_WRITE_MS + PERIOD_MS + SLACK_MS
    assert max(latencies) < bound_ms, latencies
    assert min(latencies) >= SLOW_WRITE_MS * 0.9
    # Not growing: the later writes are no later than the first ones (a queue would add
    # ~70 ms per write here).
    third = len(latencies) // 3
    early, late = np.median(latencies[:third]), np.median(latencies[-third:])
    assert late <= early + PERIOD_MS + 20, (early, late)

    # Frames are dropped, and counted: what was processed went out or was dropped.
    assert snap.dropped_before_output >= snap.frames_processed // 2
    accounted = snap.frames_output + snap.dropped_before_output
    assert snap.frames_processed - accounted in (0, 1, 2)  # one in the slot, one being written
    assert snap.dropped == snap.dropped_before_processing + snap.dropped_before_output
    # The output saw frames in order, with gaps (drops), never a repeat.
    indices = [f.index for f in slow.frames]
    assert indices == sorted(set(indices))
    assert indices[-1] - indices[0] > len(indices)


def test_slow_output_does_not_slow_a_fast_output() -> None:
    source = CounterSource(fps=FPS, paced=True)
    slow, fast = Recorder(delay_s=0.1), Recorder()
    engine = Engine(source, [], [slow, fast], lossless=False)
    engine.start()
    time.sleep(1.0)
    engine.stop()
    assert len(fast.frames) >= 0.7 * engine.stats.frames_processed
    assert len(fast.frames) > 2 * len(slow.frames)


def test_lossless_delivers_every_frame_in_order() -> None:
    source = CounterSource(paced=False, limit=40)
    out = Recorder(delay_s=0.002)
    engine = Engine(source, [AddStage(AddSettings(amount=1))], [out], lossless=True)
    run_engine(engine)
    assert [f.index for f in out.frames] == list(range(40))
    assert [value_of(f) for f in out.frames] == [i + 1 for i in range(40)]
    snap = engine.snapshot()
    assert snap.dropped == 0
    assert snap.frames_output == 40
    assert engine.stop_reason == "source ended"


def test_max_frames_stops_the_engine_and_outputs_get_the_last_frame() -> None:
    source = CounterSource(paced=False)
    out = Recorder()
    engine = Engine(source, [], [out], lossless=True, max_frames=25)
    run_engine(engine)
    assert len(out.frames) == 25
    assert engine.stop_reason == "frames"
    assert engine.stats.frames_processed == 25


def test_outputs_open_at_the_source_size_and_fps() -> None:
    source = CounterSource(fps=24, paced=False, limit=2, size=(80, 60))
    out = Recorder()
    run_engine(Engine(source, [], [out], lossless=True))
    assert out.opened_with == (80, 60, 24)


def test_timestamps_increase_and_latency_is_positive() -> None:
    source = CounterSource(paced=False, limit=50)
    out = Recorder()
    engine = Engine(source, [], [out], lossless=True)
    run_engine(engine)
    ts = [f.timestamp for f in out.frames]
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert all(v >= 0 for v in engine.stats.latency.samples)


# ----------------------------------------------------------------------------- stage errors
def test_a_failing_stage_is_bypassed_logged_once_counted_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[EngineEvent] = []
    source = CounterSource(paced=False, limit=30)
    out = Recorder()
    before, flaky, after = (
        AddStage(AddSettings(amount=10), "test-before"),
        FlakyStage(),
        AddStage(AddSettings(amount=1), "test-after"),
    )
    engine = Engine(source, [before, flaky, after], [out], lossless=True)
    engine.add_listener(events.append)
    with caplog.at_level(logging.DEBUG, logger="pipelines.engine"):
        run_engine(engine)

    assert len(out.frames) == 30  # the stream went on
    for frame in out.frames:
        i = frame.index
        if i % 3 == 0:
            # Bypassed: the image went on as the previous stage left it; later stages ran.
            assert value_of(frame) == (i + 10) % 256 + 1
            assert frame.ctx.errors == ["test-flaky"]
            assert "flaky" not in frame.ctx.extras
        else:
            assert value_of(frame) == 255 - ((i + 10) % 256) + 1
            assert frame.ctx.errors == []
        assert set(frame.ctx.stage_ms) == {"test-before", "test-flaky", "test-after"}

    failures = 10  # frames 0, 3, ..., 27
    assert engine.snapshot().errors == {"test-flaky": failures}
    assert "errors 10" in engine.snapshot().status_line()
    stage_events = [e for e in events if e.kind == "stage-error"]
    assert len(stage_events) == failures
    assert all(e.name == "test-flaky" for e in stage_events)
    assert isinstance(stage_events[0].exception, RuntimeError)
    assert "cannot handle frame 0" in stage_events[0].message
    # Logged once at error level (with its traceback), the rest only at debug level.
    errors_logged = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "test-flaky" in r.getMessage()
    ]
    assert len(errors_logged) == 1
    assert errors_logged[0].exc_info is not None
    assert events[-1].kind == "stopped"


def test_a_stage_returning_a_wrong_image_is_bypassed() -> None:
    source = CounterSource(paced=False, limit=5)
    out = Recorder()
    engine = Engine(source, [WrongShapeStage()], [out], lossless=True)
    run_engine(engine)
    assert [value_of(f) for f in out.frames] == list(range(5))
    assert all(f.image.shape == (48, 64, 3) for f in out.frames)
    assert engine.stats.errors == {"test-wrong-shape": 5}


def test_a_stage_that_cannot_open_is_left_out() -> None:
    events: list[EngineEvent] = []
    broken, good = BrokenOpenStage(), AddStage(AddSettings(amount=5))
    source = CounterSource(paced=False, limit=4)
    out = Recorder()
    engine = Engine(source, [broken, good], [out], lossless=True)
    engine.add_listener(events.append)
    run_engine(engine)
    assert broken.processed == 0
    assert broken.closes == 1  # what its open() got is released
    assert [value_of(f) for f in out.frames] == [5, 6, 7, 8]
    assert engine.pipeline.names() == ["test-add"]
    assert engine.stats.errors == {"test-broken-open": 1}
    open_errors = [e for e in events if e.kind == "stage-open-error"]
    assert len(open_errors) == 1 and "model.onnx is missing" in open_errors[0].message
    # Stages are opened each on a thread of its own (the processing thread waits for them
    # before the first frame) and closed when the engine ends.
    assert good.opened_on == "camfx-open-test-add"
    assert good.closes == 1


def test_a_failing_listener_does_not_stop_the_stream() -> None:
    def bad_listener(event: EngineEvent) -> None:
        raise ValueError("listener bug")

    source = CounterSource(paced=False, limit=6)
    out = Recorder()
    engine = Engine(source, [FlakyStage()], [out], lossless=True)
    engine.add_listener(bad_listener)
    run_engine(engine)
    assert len(out.frames) == 6


# ----------------------------------------------------------------------------- settings
def test_settings_swap_while_running_is_atomic_and_validated() -> None:
    stage = AddStage(AddSettings(amount=1))
    source = CounterSource(fps=200, paced=True)
    out = Recorder()
    engine = Engine(source, [stage], [out], lossless=False)
    engine.start()
    try:
        deadline = time.monotonic() + JOIN_S
        while len(stage.seen) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        old = stage.settings
        with pytest.raises(dataclasses.FrozenInstanceError):
            old.amount = 2  # type: ignore[misc]
        with pytest.raises(SettingsError, match="amount"):
            old.replace(amount=101)
        with pytest.raises(SettingsError, match="takes AddSettings"):
            engine.update_settings("test-add", StageSettings())
        assert engine.update_settings("no-such-stage", AddSettings()) is False
        assert engine.update_settings("test-add", old.replace(amount=7)) is True
        n = len(stage.seen)
        deadline = time.monotonic() + JOIN_S
        while len(stage.seen) < n + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        engine.stop()
    assert old.amount == 1  # the old object is untouched
    assert stage.seen[-1] == 7
    switch = stage.seen.index(7)
    assert set(stage.seen[:switch]) == {1} and set(stage.seen[switch:]) == {7}
    assert value_of(out.frames[-1]) == (out.frames[-1].index + 7) % 256


def test_set_stages_while_running_opens_new_beside_the_frames_and_closes_removed() -> None:
    """The stage contract: a stage is opened before its first frame and never while it
    processes. The first stages open on the processing thread before its first frame; those of
    a list set while the engine runs on the opener thread, frames going on meanwhile (until
    2026-12-06 on the processing thread too, which stopped the video for the opens)."""
    first, second = (
        AddStage(AddSettings(amount=1), "first"),
        AddStage(AddSettings(amount=2), "second"),
    )
    source = CounterSource(fps=200, paced=True)
    out = Recorder()
    engine = Engine(source, [first], [out], lossless=False)
    engine.start()
    try:
        time.sleep(0.1)
        engine.set_stages([second])
        assert engine.update_settings("second", AddSettings(amount=3))  # pending list counts
        deadline = time.monotonic() + JOIN_S
        while engine.pipeline.names() != ["second"] and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
    finally:
        engine.stop()
    assert first.closes == 1
    assert first.opened_on == "camfx-open-first"
    assert second.opened_on == "camfx-open-second"
    assert second.closes == 1
    assert second.seen and set(second.seen) == {3}
    assert first.unopened_frames == second.unopened_frames == 0


def test_set_stages_on_a_stopped_engine_opens_nothing() -> None:
    stage = AddStage()
    engine = Engine(CounterSource(paced=False, limit=1), [], [Recorder()], lossless=True)
    engine.set_stages([stage])
    assert not stage.is_open and stage.opened_on is None
    run_engine(engine)
    assert stage.opened_on == "camfx-open-test-add" and stage.closes == 1
    engine.set_stages([AddStage()])  # after the run: still nothing opened, nothing leaked
    assert not any(s.is_open for s in engine.pipeline.stages)


# ----------------------------------------------------------------------------- failures, shutdown
def test_a_failing_output_is_stopped_and_reported_while_the_others_go_on() -> None:
    events: list[EngineEvent] = []
    bad, good = Recorder(fail_at=3), Recorder()
    source = CounterSource(paced=False, limit=20)
    # Lossless: the processing thread waits for every output; a dead one must not hang it.
    engine = Engine(source, [], [bad, good], lossless=True)
    engine.add_listener(events.append)
    run_engine(engine)
    assert len(bad.frames) == 3
    assert len(good.frames) == 20
    failures = [e for e in events if e.kind == "output-error"]
    assert len(failures) == 1 and "disk full" in failures[0].message
    # The figures now count the output that still works.
    assert engine.stats.frames_output >= 17


def test_the_engine_stops_when_every_output_failed() -> None:
    source = CounterSource(fps=FPS, paced=True)  # endless
    out = Recorder(fail_at=2)
    engine = Engine(source, [], [out], lossless=False)
    engine.start()
    try:
        assert engine.wait(JOIN_S)
    finally:
        engine.stop()
    assert engine.stop_reason == "outputs failed"


def test_a_failing_source_ends_the_stream_with_an_event() -> None:
    events: list[EngineEvent] = []
    out = Recorder()
    engine = Engine(FailingSource(paced=False), [], [out], lossless=True)
    engine.add_listener(events.append)
    run_engine(engine)
    assert len(out.frames) == 3
    assert [e.kind for e in events] == ["source-error", "stopped"]
    assert "device vanished" in events[0].message
    assert engine.stop_reason == "source failed"


def test_stop_is_idempotent_and_closes_outputs_and_stages_not_the_source() -> None:
    # Only the threads this engine starts count: a stage another test left open (and the
    # garbage collector has not reached yet) keeps its own helper, not this engine's.
    before = {t.ident for t in threading.enumerate()}
    source = CounterSource(fps=FPS, paced=True)
    out = Recorder()
    stage = AddStage()
    with Engine(source, [stage], [out]) as engine:
        time.sleep(0.15)
        assert engine.running
    assert not engine.running
    engine.stop()
    engine.stop()
    assert not out.is_open and out.closes >= 1
    assert stage.closes == 1
    assert source.closed == 0  # the owner closes the source
    assert engine.stop_reason == "stopped"
    threads = [
        t.name
        for t in threading.enumerate()
        if t.name.startswith("camfx-") and t.ident not in before
    ]
    assert threads == []


def test_an_output_that_cannot_open_raises_from_start_and_closes_the_others() -> None:
    class NoOpen(Recorder):
        def open(self, width: int, height: int, fps: float) -> None:
            raise OSError("no device")

    first = Recorder()
    engine = Engine(CounterSource(), [], [first, NoOpen()])
    with pytest.raises(OSError, match="no device"):
        engine.start()
    assert first.closes == 1 and not first.is_open
    assert not engine.running


def test_snapshot_while_running_from_another_thread_is_safe() -> None:
    """The GUI polls the stats while the engine's threads write them."""
    engine = Engine(CounterSource(paced=False), [AddStage()], [Recorder()], lossless=False)
    engine.start()
    try:
        snaps: list[Any] = [engine.snapshot() for _ in range(200)]
        # Keep polling until frames flow: on a loaded machine 200 snapshots can all come
        # before the processing thread's first frame.
        deadline = time.monotonic() + JOIN_S
        while snaps[-1].fps <= 0 and time.monotonic() < deadline:
            snaps.append(engine.snapshot())
            time.sleep(0.001)
    finally:
        engine.stop()
    assert snaps[-1].frames_processed > 0
    assert snaps[-1].fps > 0


def test_typed_context_slots_round_trip_under_their_name() -> None:
    from pipelines.frame import RESENT, CtxKey, FrameContext

    count: CtxKey[int] = CtxKey("test-count")
    ctx = FrameContext(timestamp=0.0, index=0)
    assert ctx.get(count) is None
    ctx.put(count, 3)
    assert ctx.get(count) == 3
    # Stored under the key's name: older readers of ``extras`` see the same entry.
    assert ctx.extras["test-count"] == 3
    assert ctx.pop(count) == 3 and ctx.get(count) is None and ctx.pop(count) is None
    assert RESENT == "resent"


# ----------------------------------------------------------------------------- in-place writes
class MakerStage(Stage[StageSettings]):
    """Returns a new image (its input plus one) and says so (FRESH_IMAGE), or, with
    ``say=False``, does not say so."""

    name = "test-maker"

    def __init__(self, say: bool = True, name: str = "test-maker") -> None:
        super().__init__()
        self.say = say
        self.name = name  # type: ignore[misc]

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        from pipelines.frame import FRESH_IMAGE

        out = image + np.uint8(1)
        if self.say:
            ctx.put(FRESH_IMAGE, out)
        return out


class PassStage(Stage[StageSettings]):
    """Returns its input as it is, keeping a reference (as a stage with a history may)."""

    name = "test-pass"

    def __init__(self, name: str = "test-pass") -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.kept: list[np.ndarray] = []

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.kept.append(image)
        return image


class WritableProbe(Stage[StageSettings]):
    """Records, per frame, whether the engine let it write into its input."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.writable: list[bool] = []

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        from pipelines.frame import WRITABLE_IMAGE

        self.writable.append(ctx.get(WRITABLE_IMAGE) is image)
        return image


class AnalysisProbe(WritableProbe):
    analysis_only = True  # pipelined: runs on the processing thread, the rest on the render one


@pytest.mark.parametrize("pipelined", [True, False])
def test_only_the_stage_right_after_a_fresh_image_may_write_into_it(pipelined: bool) -> None:
    from pipelines.frame import FRESH_IMAGE, WRITABLE_IMAGE

    first = AnalysisProbe("probe-first")  # sees the captured frame: never writable
    after_fresh = WritableProbe("probe-after-fresh")
    after_pass = WritableProbe("probe-after-pass")
    after_unsaid = WritableProbe("probe-after-unsaid")
    holder = PassStage()
    stages = [
        first,
        MakerStage(),
        after_fresh,  # returns it as it is, and is the one allowed to write
        holder,  # returns it as it is and may keep it: the next one may not write
        after_pass,
        MakerStage(say=False, name="test-maker-unsaid"),
        after_unsaid,
    ]
    rec = Recorder()
    engine = Engine(CounterSource(limit=6), stages, [rec], lossless=True, pipelined=pipelined)
    run_engine(engine)
    assert len(rec.frames) == 6
    assert first.writable == [False] * 6
    assert after_fresh.writable == [True] * 6
    assert after_pass.writable == [False] * 6
    assert after_unsaid.writable == [False] * 6
    for frame in rec.frames:  # outputs may not write into the delivered frame
        assert frame.ctx.get(FRESH_IMAGE) is None and frame.ctx.get(WRITABLE_IMAGE) is None
