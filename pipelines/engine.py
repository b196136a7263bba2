"""The real-time engine: capture → processing → outputs, each on its own thread.

Threads meet only at one-slot, latest-frame-wins buffers (:class:`LatestSlot`), so a slow
output or a slow GUI drops frames instead of delaying every later one. ``lossless=True`` turns
the slots into hand-shakes (a producer waits until its frame was taken): that is for files and
benchmarks, where every frame must arrive and nothing is live.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.buffers import Closed, LatestSlot
from pipelines.frame import Frame
from pipelines.outputs.base import Output
from pipelines.sources.base import Source
from pipelines.stage import Stage, StageSettings
from pipelines.stats import EngineStats, StatsSnapshot

log = logging.getLogger(__name__)


@dataclass
class EngineEvent:
    kind: str
    """"stage-error", "stage-open-error", "source-error", "output-error", "stopped"."""
    name: str
    message: str
    exception: BaseException | None = None


Listener = Callable[[EngineEvent], None]


class Pipeline:
    """An ordered list of stages, run on one thread, each timed and guarded."""

    def __init__(self, stages: Sequence[Stage[Any]] = ()) -> None:
        self.stages: list[Stage[Any]] = list(stages)

    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def find(self, name: str) -> Stage[Any] | None:
        return next((s for s in self.stages if s.name == name), None)


class Engine:
    def __init__(
        self,
        source: Source,
        stages: Sequence[Stage[Any]] = (),
        outputs: Sequence[Output] = (),
        *,
        lossless: bool = False,
        max_frames: int | None = None,
        out_size: tuple[int, int] | None = None,
    ) -> None:
        self.source = source
        self.pipeline = Pipeline(stages)
        self.outputs = list(outputs)
        self.lossless = lossless
        self.max_frames = max_frames
        self.out_size = out_size
        self.stats = EngineStats()
        self.listeners: list[Listener] = []
        self._in_slot: LatestSlot[Frame] = LatestSlot("capture")
        self._out_slots = [LatestSlot[Frame](f"output:{i}") for i in range(len(self.outputs))]
        self._pending_stages: list[Stage[Any]] | None = None
        self._stage_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._failed_outputs: set[int] = set()
        self.last_frame: Frame | None = None

    # ----------------------------------------------------------------- control
    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def start(self) -> None:
        """Open outputs (errors raise here, before any thread starts) and start the threads."""
        if self._started:
            return
        width, height = self.out_size or self.source.actual_size
        opened: list[Output] = []
        try:
            for out in self.outputs:
                out.open(width, height, self.source.actual_fps or 30.0)
                opened.append(out)
        except Exception:
            for out in opened:
                out.close()
            raise
        self._started = True
        self._threads = [
            threading.Thread(target=self._capture_loop, name="camfx-capture", daemon=True),
            threading.Thread(target=self._process_loop, name="camfx-process", daemon=True),
        ]
        for i in range(len(self.outputs)):
            self._threads.append(
                threading.Thread(
                    target=self._output_loop, args=(i,), name=f"camfx-output-{i}", daemon=True
                )
            )
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop all threads and close stages and outputs. Idempotent; the source stays open
        (its owner closes it)."""
        self._stop.set()
        self._in_slot.close()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)
        for slot in self._out_slots:
            slot.close()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)
        for out in self.outputs:
            try:
                out.close()
            except Exception as exc:  # keep closing the others
                log.warning("closing %s failed: %s", out.description, exc)
        self._threads = []

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the engine stops by itself (max_frames reached, source ended)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in list(self._threads):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            t.join(remaining)
        return not any(t.is_alive() for t in self._threads)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_stages(self, stages: Sequence[Stage[Any]]) -> None:
        """Replace the stage list; takes effect at the next frame boundary on the processing
        thread, which opens the new stages and closes the ones no longer used."""
        with self._stage_lock:
            self._pending_stages = list(stages)
        if not self.running:
            self._apply_pending_stages()

    def update_settings(self, stage_name: str, settings: StageSettings) -> bool:
        """Swap one stage's settings object (atomic; read once per frame by the stage)."""
        for stage in list(self._pending_stages or self.pipeline.stages):
            if stage.name == stage_name:
                stage.settings = settings
                return True
        return False

    def snapshot(self) -> StatsSnapshot:
        self.stats.dropped_before_processing = self._in_slot.dropped
        self.stats.dropped_before_output = sum(s.dropped for s in self._out_slots)
        return self.stats.snapshot()

    # ----------------------------------------------------------------- threads
    def _emit(self, event: EngineEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("engine listener failed")

    def _capture_loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read()
                except EOFError:
                    log.info("source ended")
                    break
                except Exception as exc:
                    log.error("source failed: %s", exc)
                    self._emit(EngineEvent("source-error", "source", str(exc), exc))
                    break
                if frame is None:
                    continue
                self.stats.frames_captured += 1
                if self.lossless:
                    while not self._in_slot.wait_empty(0.1):
                        if self._stop.is_set():
                            return
                self._in_slot.put(frame)
        finally:
            # Let processing finish what it has, then end.
            self._in_slot.close()

    def _apply_pending_stages(self) -> None:
        with self._stage_lock:
            pending, self._pending_stages = self._pending_stages, None
        if pending is None:
            return
        old = self.pipeline.stages
        for stage in pending:
            if not stage.is_open:
                self._open_stage(stage)
        for stage in old:
            if all(stage is not s for s in pending):
                stage.close()
        self.pipeline = Pipeline([s for s in pending if s.is_open])

    def _open_stage(self, stage: Stage[Any]) -> None:
        try:
            stage.open()
        except Exception as exc:
            log.error("stage %s could not start and is left out: %s", stage.name, exc)
            self.stats.add_error(stage.name)
            self._emit(EngineEvent("stage-open-error", stage.name, str(exc), exc))

    def _process_loop(self) -> None:
        stages_opened = [s for s in self.pipeline.stages]
        for stage in stages_opened:
            if not stage.is_open:
                self._open_stage(stage)
        self.pipeline = Pipeline([s for s in stages_opened if s.is_open])
        processed = 0
        try:
            while not self._stop.is_set():
                try:
                    frame = self._in_slot.get(timeout=0.1)
                except Closed:
                    break
                if frame is None:
                    continue
                if self._pending_stages is not None:
                    self._apply_pending_stages()
                frame = self.run_stages(frame)
                processed += 1
                self.stats.frames_processed = processed
                self.last_frame = frame
                for i, slot in enumerate(self._out_slots):
                    if i in self._failed_outputs:
                        continue
                    if self.lossless:
                        while not slot.wait_empty(0.1):
                            if self._stop.is_set():
                                break
                    slot.put(frame)
                if self.max_frames is not None and processed >= self.max_frames:
                    self._stop.set()
                    break
        finally:
            for slot in self._out_slots:
                slot.close()
            for stage in self.pipeline.stages:
                try:
                    stage.close()
                except Exception as exc:
                    log.warning("closing stage %s failed: %s", stage.name, exc)

    def run_stages(self, frame: Frame) -> Frame:
        """Run every stage on ``frame`` (on the calling thread); failures are bypassed."""
        t_start = time.perf_counter()
        image = frame.image
        for stage in self.pipeline.stages:
            if not stage.settings.enabled:
                continue
            t0 = time.perf_counter()
            try:
                result = stage.process(image, frame.ctx)
                if not isinstance(result, np.ndarray) or result.shape[2:] != image.shape[2:]:
                    raise TypeError(f"returned {type(result).__name__}, not a BGR image")
                image = result
            except Exception as exc:
                self.stats.add_error(stage.name)
                frame.ctx.errors.append(stage.name)
                count = self.stats.errors[stage.name]
                # Log the first failure with its traceback, then every 100th: a stage failing
                # on every frame must not flood the log at 30 lines a second.
                if count == 1:
                    log.exception("stage %s failed and is bypassed", stage.name)
                elif count % 100 == 0:
                    log.error("stage %s failed %d times: %s", stage.name, count, exc)
                self._emit(EngineEvent("stage-error", stage.name, str(exc), exc))
            ms = (time.perf_counter() - t0) * 1000.0
            frame.ctx.stage_ms[stage.name] = ms
            self.stats.add_stage(stage.name, ms)
        self.stats.process.add((time.perf_counter() - t_start) * 1000.0)
        frame.image = image
        return frame

    def _output_loop(self, i: int) -> None:
        out = self.outputs[i]
        slot = self._out_slots[i]
        while True:
            try:
                frame = slot.get(timeout=0.1)
            except Closed:
                break
            if frame is None:
                continue
            try:
                out.write(frame)
            except Exception as exc:
                log.error("output %s failed and is stopped: %s", out.description, exc)
                self._failed_outputs.add(i)
                self._emit(EngineEvent("output-error", out.description, str(exc), exc))
                break
            if i == 0:
                self.stats.add_output(frame.timestamp)
