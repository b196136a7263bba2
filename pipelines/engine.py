"""The real-time engine: capture → processing → outputs, each on its own thread.

Threads meet only at one-slot, latest-frame-wins buffers (:class:`LatestSlot`), so a slow
output or a slow GUI drops frames instead of delaying every later one. ``lossless=True`` turns
the slots into hand-shakes (a producer waits until its frame was taken): that is for files and
benchmarks, where every frame must arrive and nothing is live.

A pipelined engine with time to spare (a camera's pace, the stages done in well under a frame's
time: :data:`SERIAL_SHARE`) runs each frame's image stages on its processing thread instead of
handing them to the render thread, and stages keep their helper threads' work on their own
(:data:`~pipelines.frame.UNHURRIED`): every hand-off costs a wake-up, and the frame's pixels
then stay in one core's cache.

A stage list set while the engine runs (:meth:`Engine.set_stages`, a preset picked in the
window) is opened on an opener thread (:mod:`pipelines.opener`) while frames go on through the
running list, and its stages' slow first frames are done there too (a rehearsal on the latest
captured frame, which they then forget); the processing thread swaps the lists between two
frames.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from pipelines import allocator, cvthreads
from pipelines.buffers import Closed, LatestSlot
from pipelines.errors import CamfxError, SettingsError, StageError
from pipelines.frame import (
    FRESH_IMAGE,
    HELD,
    LIVE_CAPTURE,
    NEW_SCENE,
    RESENT,
    SOURCE_CARD,
    UNHURRIED,
    WRITABLE_IMAGE,
    Frame,
    FrameClock,
    FrameContext,
    hand_over_image,
)
from pipelines.opener import (
    Captured,
    Incomplete,
    OpenedStages,
    Opening,
    Outcome,
    StageOpener,
)
from pipelines.outputs.base import Output
from pipelines.sources.base import Source
from pipelines.stage import Stage, StageSettings
from pipelines.stats import EngineStats, StatsSnapshot
from pipelines.watchdog import Doing, StageCall, StageCalls, stuck_after

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    """What an :class:`EngineEvent` reports. A ``StrEnum``: each member equals its old string
    spelling, so logs and JSON read the same."""

    STAGE_ERROR = "stage-error"
    """A stage raised on a frame and was bypassed for that frame."""
    STAGE_WARNING = "stage-warning"
    """A stage could not do what its settings ask and goes on as it was (:meth:`Stage.report`):
    the frame is processed."""
    STAGE_OPEN_ERROR = "stage-open-error"
    """A stage could not open: it is left out, or with ``stages_required`` the engine does not
    start."""
    SOURCE_ERROR = "source-error"
    OUTPUT_ERROR = "output-error"
    """That output is stopped."""
    STOPPED = "stopped"
    """The engine ended; ``message`` says why (see :attr:`Engine.stop_reason`)."""
    IDLE = "idle"
    """Nobody receives the outputs (``idle_after``)."""
    ACTIVE = "active"
    """Somebody receives the outputs again."""
    STAGE_JOINED = "stage-joined"
    """A stage whose open was reported stuck (a ``stage-warning``) has opened and joins the
    list asked for: that warning is over."""


EVENT_LOG_KEY = "camfx_event"
"""The attribute a log record of the engine carries (``extra``) where the same problem is also
an :class:`EngineEvent` of that kind: a front end that tells its user the event itself (the
command line ends a run whose source failed with that one line) leaves the record out of what it
prints, so the user does not read the failure twice."""


PROBLEMS = frozenset(
    {
        EventKind.STAGE_ERROR,
        EventKind.STAGE_WARNING,
        EventKind.STAGE_OPEN_ERROR,
        EventKind.SOURCE_ERROR,
        EventKind.OUTPUT_ERROR,
    }
)
"""The event kinds that report something going wrong."""


@dataclass
class EngineEvent:
    kind: EventKind
    """Listeners are called on the engine's threads and must not block."""
    name: str
    message: str
    exception: BaseException | None = None


Listener = Callable[[EngineEvent], None]

WATCH_INTERVAL_S = 0.5
"""How often the engine asks its outputs whether anyone receives them (idle_after)."""
IDLE_RESEND_S = 1.0
LINGER_S = 60.0
"""How long the process waits at exit for engine threads that :meth:`Engine.stop` left running.

A stage's ``open()`` cannot be interrupted, and on a loaded 2-core machine with a cold Numba
cache the Studio preset's opens took over 5 s (stop's timeout). The window then quit with the
processing thread still inside ``cv2.cvtColor`` (the beauty stage's warm-up): when the call
returned, the finalising interpreter ended the thread with ``pthread_exit``, whose forced unwind
through OpenCV's C++ frame (its GIL guard's noexcept destructor) called ``std::terminate``, and
the process aborted (exit 134; 6 of 6 SIGTERMs 7-10 s after start, core dumps). A thread that
is still running after this long is stuck, and is then left (with a warning). A thread inside a
stage call that counts as stuck (:func:`~pipelines.watchdog.stuck_after`) is waited for only
:data:`STUCK_LINGER_S` more."""
STUCK_LINGER_S = 2.0
"""How long the exit waits for a thread whose stage call has run past its stuck limit (5 s for a
frame, 20 s for an open: :mod:`pipelines.watchdog`), counted from that limit. A stage that
stalled (the face mesh inside a call) held the exit for the whole :data:`LINGER_S` after the
window had closed in 5.5 s; a call that has not returned in that long is not about to, and the
process then exits with the thread still blocked in it (it is only a risk should it return
during the interpreter's last milliseconds)."""
WATCHDOG_INTERVAL_S = 0.25
"""How often the watchdog looks at the stage calls in progress: a stuck call is reported within
this much of its limit."""
STUCK_WAIT_S = 0.05
"""How often :meth:`Engine.stop` and a fresh processing thread look again at the threads they
wait for."""


SERIAL_SHARE = 0.75
"""A pipelined engine runs a frame's image stages on its processing thread, after the analysis
stages, with no hand-off to the render thread, and marks the frame
:data:`~pipelines.frame.UNHURRIED` (stages then keep their helper threads' work on their own),
while processing a frame takes less than this share of the time between captured frames (an
average over recent frames); above :data:`SERIAL_LEAVE` it hands the image stages to the
render thread again, so a busy engine keeps its throughput. A hand-off costs CPU: waking a
waiting thread and waiting for it took 0.15-0.2 ms of process CPU on the 2-core machine,
against none inline, with the threads idle between frames as at a camera's pace (2026-12-03);
two of them a frame (render thread, blur helper) 0.18-0.24 ms in an engine of light stages.
In Studio at 720p30 (demo, in-process A/B, serial and pipelined phases of 90 frames
alternated) 0.5-1.0 ms less CPU a frame at load 3-5 (paired medians -0.95 and -0.52; medians
18.8 against 19.8 and 19.6 against 20.2 ms), latency 23-25 against 28-30 ms: the frame's
pixels stay in one core's cache (at load 6-7 two such runs gave -0.99 and +1.1: phases there
differ by 2-5 ms). The prepare pool (the segmentation's network beside the tracker) is kept:
without it a Studio frame's latency grew by 3-9 ms (17.2 against 14.6 ms at load 4)."""
SERIAL_LEAVE = 0.9
"""Share of the frame time above which an engine that runs frames serially pipelines again
(the gap to :data:`SERIAL_SHARE` keeps it from switching on every frame)."""
SERIAL_SMOOTHING = 0.1
"""Weight of the newest frame in the averages :data:`SERIAL_SHARE` compares."""


def _running_mean(avg: float | None, value: float) -> float:
    """The exponential average of :data:`SERIAL_SMOOTHING` with ``value`` added."""
    return value if avg is None else avg + SERIAL_SMOOTHING * (value - avg)


class _EngineThread(threading.Thread):
    """A daemon thread that says for sure when its loop has returned.

    ``Thread.join`` and ``is_alive`` are not trusted for that: on CPython 3.11 a Ctrl+C that
    lands inside ``join`` can mark a running thread as stopped, so ``stop()`` skipped it and the
    process exited with it still inside OpenCV ("terminate called without an active
    exception"). The event is set by the thread itself, last thing."""

    def __init__(
        self, loop: Callable[..., None], name: str, *args: Any, calls: StageCalls | None = None
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.loop = loop
        self.loop_args = args
        self.finished = threading.Event()
        self.calls = calls
        """The engine's record of stage calls, where this thread's are marked."""
        self.generation: int | None = None
        """A processing or render thread's generation (``Engine._generation``)."""

    def stuck_call(self, now: float, grace: float = 0.0) -> StageCall | None:
        """The stage call this thread is in, when it has run ``grace`` s past its stuck limit."""
        call = self.calls.of(self) if self.calls is not None else None
        if call is not None and now - call.since >= stuck_after(call.doing) + grace:
            return call
        return None

    def run(self) -> None:
        try:
            self.loop(*self.loop_args)
        finally:
            self.finished.set()
            with _lingering_lock:
                _lingering.discard(self)


_lingering: set[_EngineThread] = set()
"""Threads of stopped engines that had not ended when :meth:`Engine.stop` gave up waiting."""
_lingering_lock = threading.Lock()


def join_lingering_threads(timeout: float = LINGER_S) -> bool:
    """Wait until the threads :meth:`Engine.stop` left running have ended (True), at most
    ``timeout`` s. Called at interpreter exit (``atexit`` runs before daemon threads are cut
    off), so no engine thread is inside native code while the process finalises."""
    start = time.monotonic()
    deadline = start + timeout
    with _lingering_lock:
        threads = list(_lingering)
    if threads:
        log.info("waiting for %s to end", ", ".join(sorted(t.name for t in threads)))
    # Polled, not joined one by one: a thread stuck in a stage call is given up on early.
    waiting = threads
    while waiting:
        now = time.monotonic()
        waiting = [t for t in waiting if not t.finished.is_set()]
        if now >= deadline or all(t.stuck_call(now, STUCK_LINGER_S) for t in waiting):
            break
        time.sleep(STUCK_WAIT_S)
    with _lingering_lock:
        _lingering.difference_update(t for t in threads if t.finished.is_set())
        stuck = sorted(t.name for t in _lingering)
    if stuck:
        log.warning(
            "%s still running after %.0f s more; exiting anyway",
            ", ".join(stuck),
            time.monotonic() - start,
        )
    return not stuck


atexit.register(join_lingering_threads)


class Pipeline:
    """An ordered list of stages, run on one thread, each timed and guarded."""

    def __init__(self, stages: Sequence[Stage[Any]] = ()) -> None:
        self.stages: list[Stage[Any]] = list(stages)
        for i, stage in enumerate(self.stages):
            stage.set_following(self.stages[i + 1 :])

    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def analysis_count(self) -> int:
        """How many leading stages only analyse (write the context, return the image as is)."""
        count = 0
        for stage in self.stages:
            if not stage.analysis_only:
                break
            count += 1
        return count

    def find(self, name: str) -> Stage[Any] | None:
        return next((s for s in self.stages if s.name == name), None)


@dataclass(frozen=True)
class _Hold:
    """What :meth:`Engine.hold` sends, and until when."""

    image: np.ndarray
    """Read-only: every held frame shares it."""
    after: int
    """The number of the last list asked for before the hold (:attr:`StageOpener.asked`):
    the hold ends when a later one is swapped in."""


class _PrepareThread:
    """The prepare pool: one daemon thread that runs what it is given, in order (the
    segmentation's network beside the tracker). Not a ``ThreadPoolExecutor``: the interpreter
    joins its workers at exit with no limit, so a ``prepare`` that never returned held the exit
    for good (40 s and on, killed); this thread is an engine thread, waited for at exit as
    the others are (:func:`join_lingering_threads`)."""

    def __init__(self, calls: StageCalls) -> None:
        self._queue: queue.SimpleQueue[
            tuple[Future[None], Callable[..., None], tuple[Any, ...]] | None
        ] = queue.SimpleQueue()
        self.thread = _EngineThread(self._loop, "camfx-prepare", calls=calls)
        self.thread.start()

    def submit(self, fn: Callable[..., None], *args: Any) -> Future[None]:
        future: Future[None] = Future()
        self._queue.put((future, fn, args))
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Run what was given, then end (``wait``: until it has)."""
        self._queue.put(None)
        if wait:
            self.thread.finished.wait()

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)


class _Superseded(Exception):
    """Raised on a processing or render thread that a fresh one has replaced (a stage it was in
    never returned): it ends at once, touching nothing."""


FRAME_CALLS = frozenset({Doing.PREPARE, Doing.PROCESS})
"""The stage calls the processing and render threads make (a stuck one is bypassed)."""
OPENER_THREAD = "camfx-open"
"""The name of the thread that opens the lists of :meth:`Engine.set_stages`."""
STUCK_OPEN_MEANWHILE: dict[Incomplete, str] = {
    Incomplete.RUN: "running without it until it does",
    Incomplete.WAIT: (
        "the preset hides the room and does not run without it: no frame of the room goes out"
        " until it does"
    ),
}
"""What a stuck open's report says goes on meanwhile, by its list's :class:`Incomplete`."""


class Engine:
    def __init__(
        self,
        source: Source,
        stages: Sequence[Stage[Any]] = (),
        outputs: Sequence[Output] = (),
        *,
        lossless: bool = False,
        max_frames: int | None = None,
        max_seconds: float | None = None,
        out_size: tuple[int, int] | None = None,
        stats_window: int = 600,
        pipelined: bool = True,
        idle_after: float | None = None,
        stages_required: bool = False,
        cv_threads: int | None = cvthreads.CV_THREADS,
        serial_share: float | None = SERIAL_SHARE,
        incomplete: Incomplete = Incomplete.RUN,
    ) -> None:
        self.source = source
        self.pipeline = Pipeline(stages)
        self.outputs = list(outputs)
        self.lossless = lossless
        self.max_frames = max_frames
        self.max_seconds = max_seconds
        """Stop at the first frame this long after the first one delivered on the frames' own
        clock (:class:`~pipelines.frame.FrameClock` at the source's own rate: a live
        source's capture time, else index / fps, as a voice file is mouthed and recorded):
        a voice file's length under a camera, whose frame count says nothing of the time, or
        under a source that skips late frames."""
        # The rate its index counts: a video file's own (25 fps), as the talking head's voice
        # and recordings time it (build.on_source_clock).
        self._run_clock = FrameClock(source.media_fps)
        self._first_delivered: float | None = None
        self.seconds_delivered = 0.0
        """How far the frames delivered reached on that clock (what a cut-short run says)."""
        self.out_size = out_size
        self.stats = EngineStats(window=stats_window)
        self.listeners: list[Listener] = []
        self.pipelined = pipelined
        self.idle_after = idle_after
        """Seconds without anyone receiving the outputs (no app has the virtual camera open)
        after which the engine idles: a live camera is released, nothing is processed, and
        the last picture is re-sent once a second so an app that opens the camera sees one at
        once. None: never idle."""
        self.stages_required = stages_required
        """What a stage that cannot open means. False (the window): it is left out, reported as
        a "stage-open-error" event, and the rest runs. True (the command line, where the user
        named what they want and nobody watches a status bar): :meth:`start` raises, before any
        output is opened or frame read, so no file is written without the effect asked for."""
        self.incomplete = incomplete
        """What ``stages`` do while one of them is not open (see :class:`Incomplete`): a stage
        whose open has not returned in its stuck limit is left out and joins when it opens, or
        (:attr:`Incomplete.WAIT`) no frame goes out until it has."""
        self.cv_threads = cv_threads
        """OpenCV's thread pool while this engine runs (:mod:`pipelines.cvthreads`): 1 runs
        each OpenCV call on the thread that makes it; None leaves OpenCV's default."""
        self.serial_share = serial_share
        """See :data:`SERIAL_SHARE`; None: a pipelined engine always hands frames on. Never
        serial when ``lossless`` (files and the throughput benchmark: every frame waits)."""
        self._serial = False
        self._busy_ms: float | None = None
        """Average processing time of a frame (ms, all stages, as delivered)."""
        self._frame_s: float | None = None
        """Average time between captured frames (s), from their timestamps and indices."""
        self._last_capture: tuple[float, int] | None = None
        self._cv_taken = False
        self._stages_opened = threading.Event()
        self._stage_failure: CamfxError | None = None
        self.idle = False
        self._audience = True
        """Latest answer of the watch thread: does anyone receive the outputs?"""
        """Run the leading analysis stages (``Stage.analysis_only``: tracking, segmentation) of
        frame N+1 on one thread while the image stages of frame N run on another. Throughput
        rises towards 1 / max(analysis, rendering) on two cores; each frame's latency is the
        same, since a frame still goes through both in order."""
        self._in_slot: LatestSlot[Frame] = LatestSlot("capture")
        self._mid_slot: LatestSlot[tuple[Frame, Pipeline, float]] = LatestSlot("render")
        # Frames handed to the render thread and not finished yet; 0 means no render stage is
        # in use, so stages may be opened and closed.
        self._render_pending = 0
        self._render_cond = threading.Condition()
        self._render_thread: _EngineThread | None = None
        # Runs Stage.prepare of later analysis stages beside the earlier ones (pipelined only).
        self._prepare_pool: _PrepareThread | None = None
        self._out_slots = [LatestSlot[Frame](f"output:{i}") for i in range(len(self.outputs))]
        self._stage_lock = threading.Lock()
        self._stop = threading.Event()
        self._calls = StageCalls()
        """The stage call each engine thread is in (read by the watchdog, stop and the exit)."""
        self._bypassed: list[Stage[Any]] = []
        """Stages whose frame call never returned: skipped on every later frame (identity)."""
        self._generation = 0
        """Which processing (and render) thread is the live one: a stuck one is replaced by a
        fresh one with the next number, and the old one ends when it sees the change."""
        self._abandoned: list[_EngineThread] = []
        """Processing and render threads replaced while stuck in a stage call."""
        # Opens the lists of set_stages() on a thread of its own, while frames go on through
        # the running list (pipelines.opener).
        self._opener = StageOpener(
            open_stage=self._open_stage,
            close_stage=self._close_stage,
            running=lambda: self.pipeline.stages,
            stopping=self._stop,
            captured=lambda: self._captured,
            frame_s=lambda: self._frame_s or 1.0 / (self.source.actual_fps or 30.0),
            calls=self._calls,
            spawn=self._spawn_open,
            stuck=self._report_stuck_open,
            joined=self._report_late_open,
        )
        self._openings: list[_EngineThread] = []
        """The threads stage opens run on (:class:`~pipelines.opener.Opening`), waited for by
        :meth:`stop` and at exit as the engine's own are; pruned as new ones start."""
        self._openings_lock = threading.Lock()
        self._captured: Captured | None = None
        """The latest frame the processing thread took, as captured: the opener thread
        rehearses a new list's stages on a copy (a reference, swapped whole)."""
        self._hold: _Hold | None = None
        """Set by :meth:`hold`; read once a frame by the processing thread (swapped whole)."""
        self._threads: list[_EngineThread] = []
        self._started = False
        self._failed_outputs: set[int] = set()
        self.last_frame: Frame | None = None
        self._processed = 0
        self.stop_reason = ""
        """Why the engine stopped by itself ("frames", "source ended", "source failed",
        "outputs failed", "stage failed"), or "stopped" when :meth:`stop` was called."""

    # ----------------------------------------------------------------- control
    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def start(self) -> None:
        """Open outputs and start the threads. An output that cannot open raises here, before
        any thread starts; so does a stage that cannot open when ``stages_required``."""
        if self._started:
            return
        width, height = self.out_size or self.source.actual_size
        process = _EngineThread(self._process_loop, "camfx-process", calls=self._calls)
        allocator.keep_large_blocks()  # once per process: frame-size arrays are reused
        if not self._cv_taken:
            self._cv_taken = cvthreads.acquire(self.cv_threads)
        if self.stages_required:
            # The first stages open on the processing thread, before its first frame, so it
            # starts first, alone: it opens them and waits for frames that come only once the
            # outputs are open.
            process.start()
            self._stages_opened.wait()
            if self._stage_failure is not None:
                self._end_early(process)
                self._release_cv()
                raise self._stage_failure
        opened: list[Output] = []
        try:
            for out in self.outputs:
                # A camera's frames are timed by when they were captured; a file's or the
                # demo's by their index, however fast they were rendered (recordings).
                out.live_source = self.source.live
                out.open(width, height, self.source.actual_fps or 30.0)
                opened.append(out)
        except Exception:
            for out in opened:
                out.close()
            if process.is_alive():
                self._end_early(process)
            self._release_cv()
            raise
        self._started = True
        self._threads = [_EngineThread(self._capture_loop, "camfx-capture"), process]
        for i in range(len(self.outputs)):
            self._threads.append(_EngineThread(self._output_loop, f"camfx-output-{i}", i))
        if self.idle_after is not None:
            self._threads.append(_EngineThread(self._watch_loop, "camfx-watch"))
        self._threads.append(
            _EngineThread(self._opener.run, OPENER_THREAD, self._stages_opened, calls=self._calls)
        )
        self._threads.append(_EngineThread(self._watchdog_loop, "camfx-watchdog"))
        for t in self._threads:
            if t.ident is None:  # the processing thread may be running already
                t.start()

    def _end_early(self, process: _EngineThread) -> None:
        """Stop a processing thread started alone by :meth:`start` (it closes its stages)."""
        self._stop.set()
        self._in_slot.close()
        process.finished.wait()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop all threads and close stages and outputs. Idempotent; the source stays open
        (its owner closes it)."""
        if not self.stop_reason:
            self.stop_reason = "stopped"
        self._stop.set()
        self._in_slot.close()
        me = threading.current_thread()
        began = time.monotonic()
        # Capture and processing first: processing closes the output slots when it ends, and the
        # outputs then finish the frame they hold.
        for t in self._threads[:2]:
            if t is not me:
                _wait_unless_stuck(t, timeout)
        for slot in self._out_slots:
            slot.close()
        for t in self._threads[2:]:
            if t is not me:
                _wait_unless_stuck(t, timeout)
        # After the opener thread: it starts no open any more.
        with self._openings_lock:
            openings = list(self._openings)
        for t in openings:
            _wait_unless_stuck(t, timeout)
        threads = self._threads + self._abandoned + openings
        left = [t for t in threads if t is not me and not t.finished.is_set()]
        if left:
            # Busy, not lost: a stage still opening (a model load, a compile). It ends by itself
            # (the loops see _stop), and the process waits for it at exit (LINGER_S; a stage
            # call past its stuck limit only STUCK_LINGER_S).
            log.warning(
                "%s still running after %.1f s; waiting for it at exit",
                ", ".join(t.name for t in left),
                time.monotonic() - began,
            )
            with _lingering_lock:
                _lingering.update(left)
        for out in self.outputs:
            try:
                out.close()
            except Exception as exc:  # keep closing the others
                log.warning("closing %s failed: %s", out.description, exc)
        self._threads = []
        self._abandoned = []
        with self._openings_lock:
            self._openings = [t for t in self._openings if not t.finished.is_set()]
        self._release_cv()

    def _release_cv(self) -> None:
        if self._cv_taken:
            self._cv_taken = False
            cvthreads.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the engine stops by itself (max_frames reached, source ended)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in list(self._threads):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            t.finished.wait(remaining)
        return not self.running

    @property
    def running(self) -> bool:
        return any(not t.finished.is_set() for t in self._threads)

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_stages(
        self,
        stages: Sequence[Stage[Any]],
        incomplete: Incomplete = Incomplete.RUN,
        *,
        held: np.ndarray | None = None,
    ) -> None:
        """Replace the stage list. While the engine runs, the new stages are opened on the
        opener thread, frames going on through the running list meanwhile, and rehearsed
        there (:func:`pipelines.opener.rehearse`); the processing thread swaps the lists at the
        frame boundary after that (at once when the new list opens nothing) and closes the
        stages no longer used. A list asked for before the last
        one was swapped in is superseded: what was opened for it alone is closed. Lossless
        engines (nothing live) wait for the opens instead, so the frame after the call goes
        through the new list. A stage whose open has not returned in its stuck limit
        (:data:`~pipelines.watchdog.OPEN_STUCK_S`) is reported, and ``incomplete`` says what
        the list does meanwhile (:class:`~pipelines.opener.Incomplete`).

        ``held``: from this call on, that image goes out in place of every frame until a list
        asked for after this one runs (:meth:`hold`, with this list asked first, under one lock:
        a pause's empty list ended the resume's card and sent the frames captured before the
        source's pause took hold, the room, through no stage; and a :meth:`hold` made after the
        call could come after the swap)."""
        with self._stage_lock:
            if self.running:
                self._opener.ask(stages, incomplete)
                if held is not None:
                    card = held.copy()
                    card.setflags(write=False)
                    self._hold = _Hold(card, self._opener.asked)
                return
            self.incomplete = incomplete
            # Not running: nothing is open (the processing thread opens stages when it starts,
            # and closes them when it ends), so the list is simply replaced; the first frame
            # goes through it, so a hold ends here.
            self.pipeline = Pipeline(stages)
            self._hold = None

    def hold(self, image: np.ndarray) -> None:
        """Send ``image`` to the outputs in place of every frame until a stage list asked for
        after this call (:meth:`set_stages`) runs; the frames are not processed meanwhile.
        A list runs without a stage whose open is late unless it was asked for with
        :attr:`~pipelines.opener.Incomplete.WAIT`: then the hold lasts until that stage has
        opened too (or a newer list runs).

        For privacy: a list asked for while the engine runs is opened beside the running one
        (seconds), and frames go on through the running list meanwhile, which at the window's
        start, or after a restart, is no list at all: the camera's picture, untouched, went to
        the virtual camera. Frames taken before the call may still reach the outputs; none
        captured after it does. ``image`` has the outputs' size (copied here; read-only)."""
        card = image.copy()
        card.setflags(write=False)
        with self._stage_lock:
            self._hold = _Hold(card, self._opener.asked)

    @property
    def holding(self) -> bool:
        """Whether :meth:`hold`'s image still goes out in place of the frames."""
        return self._hold is not None

    @property
    def stages_pending(self) -> bool:
        """Whether a :meth:`set_stages` list is not swapped in yet (its stages opening)."""
        return self._opener.pending

    def update_settings(self, stage_name: str, settings: StageSettings) -> bool:
        """Swap one stage's settings object (atomic; read once per frame by the stage).
        Returns False when no stage has that name; raises SettingsError for the wrong type."""
        pending = self._opener.latest()
        stages = pending if pending is not None else self.pipeline.stages
        for stage in list(stages):
            if stage.name == stage_name:
                if not isinstance(settings, stage.settings_type):
                    raise SettingsError(
                        f"stage {stage_name!r} takes {stage.settings_type.__name__}, "
                        f"not {type(settings).__name__}"
                    )
                stage.settings = settings
                return True
        return False

    def snapshot(self, whole_run: bool = False) -> StatsSnapshot:
        """The live figures; ``whole_run``: the run's (:meth:`EngineStats.snapshot`)."""
        # A video file that keeps real time skips its late frames itself (Timing.REAL_TIME).
        self.stats.dropped_before_processing = (
            self._in_slot.dropped + self._mid_slot.dropped + self.source.dropped
        )
        self.stats.dropped_before_output = sum(s.dropped for s in self._out_slots)
        return self.stats.snapshot(whole_run)

    # ----------------------------------------------------------------- threads
    def _emit(self, event: EngineEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("engine listener failed")

    def _capture_loop(self) -> None:
        unwatched_since: float | None = None
        next_check = 0.0
        last_resend = 0.0
        # This thread's CPU, so that a benchmark can take the source's own cost out of the
        # process's as it was in this run: the demo measured alone at the same pace cost
        # 4.3-4.8 ms a 720p frame against 3.5-3.6 ms here (2026-12-03, load 2-5), and the
        # difference moved Studio's CPU per frame by 0.8-0.9 ms.
        cpu0 = time.thread_time()
        live = self.source.live
        try:
            while not self._stop.is_set():
                self.stats.capture_cpu_s = time.thread_time() - cpu0
                if self.idle_after is not None:
                    now = time.monotonic()
                    if now >= next_check:
                        next_check = now + WATCH_INTERVAL_S
                        if self._audience:
                            unwatched_since = None
                        elif unwatched_since is None:
                            unwatched_since = now
                        want_idle = (
                            unwatched_since is not None and now - unwatched_since >= self.idle_after
                        )
                        if want_idle != self.idle:
                            self._set_idle(want_idle)
                    if self.idle:
                        if now - last_resend >= IDLE_RESEND_S:
                            last_resend = now
                            self._resend_last_frame()
                        self._stop.wait(min(0.1, WATCH_INTERVAL_S))
                        continue
                try:
                    frame = self.source.read()
                except EOFError:
                    log.info("source ended")
                    self._set_reason("source ended")
                    break
                except Exception as exc:
                    log.error(
                        "source failed: %s", exc, extra={EVENT_LOG_KEY: EventKind.SOURCE_ERROR}
                    )
                    self._set_reason("source failed")
                    self._emit(EngineEvent(EventKind.SOURCE_ERROR, "source", str(exc), exc))
                    break
                if frame is None:
                    continue
                if live:
                    frame.ctx.put(LIVE_CAPTURE, True)
                self.stats.frames_captured += 1
                if self.lossless:
                    while not self._in_slot.wait_empty(0.1):
                        if self._stop.is_set():
                            return
                self._in_slot.put(frame)
        finally:
            # Let processing finish what it has, then end.
            self._in_slot.close()

    def _watch_loop(self) -> None:
        # Asking a virtual camera for its audience scans /proc (milliseconds on a desktop with
        # hundreds of processes): done here, never on the capture thread, where it would delay
        # frames. Ends with the capture thread.
        capture = self._threads[0]
        while not self._stop.is_set() and not capture.finished.is_set():
            self._audience = self._watched()
            self._stop.wait(WATCH_INTERVAL_S)

    def _watched(self) -> bool:
        """Whether any working output has a receiver (or cannot tell, which counts as yes)."""
        for i, out in enumerate(self.outputs):
            if i in self._failed_outputs:
                continue
            try:
                consumers = out.has_consumers()
            except Exception:
                consumers = None
            if consumers is None or consumers:
                return True
        return not self.outputs

    def _set_idle(self, idle: bool) -> None:
        self.idle = idle
        if self.source.live:
            if idle:
                self.source.close()  # the camera's light goes off; other apps may take it
            else:
                try:
                    self.source.open()
                except Exception as exc:  # a camera that is gone now: its reads reconnect
                    log.warning("source could not be reopened: %s", exc)
                    self._emit(EngineEvent(EventKind.SOURCE_ERROR, "source", str(exc), exc))
        log.info("%s", "idle: nobody receives the output" if idle else "active again")
        self._emit(EngineEvent(EventKind.IDLE if idle else EventKind.ACTIVE, "engine", ""))

    def _resend_last_frame(self) -> None:
        frame = self.last_frame
        if frame is None:
            return
        copy = Frame(frame.image, FrameContext(timestamp=frame.timestamp, index=frame.index))
        copy.ctx.put(RESENT, True)
        for i, slot in enumerate(self._out_slots):
            if i not in self._failed_outputs:
                slot.put(copy)

    def _set_reason(self, reason: str) -> None:
        if not self.stop_reason:
            self.stop_reason = reason

    def _swap_opened_stages(self) -> None:
        """Between frames: run the list the opener has opened (a lossless engine first waits
        for it), and close the running stages it drops."""
        opened: OpenedStages | None = self._opener.ready
        while opened is None and self.lossless and self._opener.pending:
            if self._stop.is_set():
                return
            opened = self._opener.wait_ready(0.1)
        if opened is None:
            return
        # Stages are closed here: wait until none is in use on the render thread.
        self._wait_render_idle()
        if self._stop.is_set():
            return  # the opened stages are closed as the loop ends (StageOpener.end)
        old = self.pipeline.stages
        self.pipeline = Pipeline(opened.runnable(old))
        for stage in old:
            if all(stage is not s for s in opened.stages):
                self._close_stage(stage)
        self._opener.swapped(opened)

    def _spawn_open(self, target: Callable[[], None], name: str) -> None:
        """Start a stage's open (:class:`~pipelines.opener.Opening`) on an engine thread: one
        still in a late open is waited for at exit only :data:`STUCK_LINGER_S` past its limit."""
        thread = _EngineThread(target, name, calls=self._calls)
        with self._openings_lock:
            self._openings = [t for t in self._openings if not t.finished.is_set()] + [thread]
        thread.start()

    def _report_stuck_open(self, stage: Stage[Any], incomplete: Incomplete) -> None:
        """A stage's open has run past its stuck limit: once, to the log (the command line's
        stderr) and as a warning (the window's banner), saying what runs meanwhile."""
        what = (
            f"has not finished starting in {stuck_after(Doing.OPEN):.0f} s; "
            f"{STUCK_OPEN_MEANWHILE[incomplete]}"
        )
        log.error("stage %s %s", stage.name, what)
        stuck = StageError(f"{stage.name} {what}")
        self._emit(EngineEvent(EventKind.STAGE_WARNING, stage.name, f"it {what}", stuck))

    def _report_late_open(self, stage: Stage[Any], took_s: float) -> None:
        """A stage reported stuck has opened and joins the list: one info line, and an event
        (the window takes the warning down)."""
        message = f"it has started after {took_s:.0f} s and joins the effects"
        log.info("stage %s has started after %.0f s and joins the effects", stage.name, took_s)
        self._emit(EngineEvent(EventKind.STAGE_JOINED, stage.name, message))

    def _open_first(self, stage: Stage[Any]) -> bool:
        """Open a stage of the first list (:meth:`_process_loop`): required
        (``stages_required``) until the engine has started; one whose late open fails after
        that is left out and reported, as in a list asked for while the engine runs."""
        return self._open_stage(stage, self.stages_required and not self._stages_opened.is_set())

    def _open_stage(self, stage: Stage[Any], required: bool = False) -> bool:
        """Open ``stage``; on failure report it, release it and return False (it is left out,
        or, when ``required``, kept in :attr:`_stage_failure` for :meth:`start` to raise)."""
        call = self._calls.begin(stage, stage.name, Doing.OPEN)
        try:
            stage.open()
            return True
        except Exception as exc:
            if required:
                # One line for the user, raised by start(); the details go to the debug log.
                log.debug("stage %s could not start", stage.name, exc_info=True)
                self._stage_failure = (
                    exc
                    if isinstance(exc, CamfxError)
                    else StageError(f"the effect {stage.name!r} could not start: {exc}")
                )
            else:
                log.error("stage %s could not start and is left out: %s", stage.name, exc)
            self.stats.add_error(stage.name)
            try:
                stage.close()  # release whatever open() got before it failed
            except Exception:
                log.debug("closing stage %s after its failed open", stage.name, exc_info=True)
            self._emit(EngineEvent(EventKind.STAGE_OPEN_ERROR, stage.name, str(exc), exc))
            return False
        finally:
            self._calls.end(call)

    def _close_stage(self, stage: Stage[Any]) -> None:
        if self._is_bypassed(stage):
            # Its call may still be running (never while it runs): left open; it is stuck.
            log.info("stage %s never returned and is left as it is", stage.name)
            return
        try:
            stage.close()
        except Exception as exc:
            log.warning("closing stage %s failed: %s", stage.name, exc)

    def _process_loop(self) -> None:
        requested = self.pipeline.stages
        opened: list[Stage[Any]] = []
        self._opener.starting(requested, self.incomplete)
        try:
            for stage in requested:
                if self._stop.is_set():
                    break  # stopped while opening: the rest need not open (see stop())
                # On a thread of its own: one that never returns (a GPU provider's first
                # session) held start() and the first frame for good. Past its stuck limit it
                # is left out, and joins as it opens (the opener's), or with Incomplete.WAIT
                # is waited for here.
                outcome = self._opener.open_within_limit(
                    Opening(stage, self._open_first, self._spawn_open),
                    self.incomplete,
                    wait_whole=True,
                )
                if outcome == Outcome.OPEN:
                    opened.append(stage)
                elif outcome == Outcome.FAILED and self.stages_required:
                    break  # start() raises; the rest need not open
            self.pipeline = Pipeline(opened)
        finally:
            self._stages_opened.set()  # start() may be waiting for it
        if self._stage_failure is not None:
            self._set_reason("stage failed")
            for stage in opened:
                self._close_stage(stage)
            self.pipeline = Pipeline(requested)  # none of them open, as before start()
            self._opener.end()
            return
        self._frames_loop(0)

    def _resumed_loop(self, generation: int) -> None:
        """A fresh processing thread, started by the watchdog in place of one stuck in a stage
        call: it goes on from the next frame once the replaced threads are in no stage call but
        a stuck one (two threads never run one stage at a time)."""
        me = threading.current_thread()
        while not self._stop.is_set():
            busy = [
                c
                for c in self._calls.current()
                if c.thread is not me and c.doing in FRAME_CALLS and not self._is_bypassed(c.stage)
            ]
            if not busy:
                break
            self._stop.wait(STUCK_WAIT_S)
        log.info("processing goes on without %s", ", ".join(s.name for s in self._bypassed))
        self._frames_loop(generation)

    def _frames_loop(self, generation: int) -> None:
        """The processing thread's loop over captured frames (``generation``: see
        :attr:`_generation`); it ends the engine's threads and stages as it returns, unless a
        fresh thread has replaced it."""
        threading.current_thread().generation = generation  # type: ignore[attr-defined]
        mid_slot = self._mid_slot
        render: _EngineThread | None = None
        pool: _PrepareThread | None = None
        if self.pipelined:
            pool = _PrepareThread(self._calls)
            render = _EngineThread(
                self._render_loop, "camfx-render", generation, mid_slot, calls=self._calls
            )
            render.generation = generation
            self._prepare_pool, self._render_thread = pool, render
            render.start()
        superseded = False
        try:
            while not self._stop.is_set():
                self._check_generation()
                try:
                    frame = self._in_slot.get(timeout=0.1)
                except Closed:
                    break
                if self._opener.ready is not None or (self.lossless and self._opener.pending):
                    self._swap_opened_stages()
                if frame is None:
                    continue
                self._captured = Captured(frame.image, frame.timestamp, frame.index)
                if self._held(frame):
                    continue
                if frame.ctx.get(SOURCE_CARD):
                    # The source's own message ("Camera disconnected"): its stages would take
                    # it for a room with nobody in it (a replaced background covers it, a blur
                    # smears its text), so it goes out as it is.
                    self._wait_render_idle()
                    self._deliver(frame, None)
                    continue
                pipeline = self.pipeline
                if frame.ctx.get(NEW_SCENE):
                    # Between frames, the render thread idle: no stage call is under way.
                    self._wait_render_idle()
                    for stage in pipeline.stages:
                        stage.forget_frames()
                split = pipeline.analysis_count() if render is not None else 0
                unhurried = self._unhurried(frame)
                if unhurried or split == 0 or split == len(pipeline.stages):
                    self._wait_render_idle()
                    t0 = time.perf_counter()
                    if unhurried:
                        frame.ctx.put(UNHURRIED, True)
                    self._run(frame, pipeline.stages, pipeline.analysis_count())
                    self._deliver(frame, (time.perf_counter() - t0) * 1000.0)
                    continue
                t0 = time.perf_counter()
                self._run(frame, pipeline.stages[:split], split)
                analysis_ms = (time.perf_counter() - t0) * 1000.0
                if self.lossless:
                    while not mid_slot.wait_empty(0.1):
                        if self._stop.is_set():
                            break
                        self._check_generation()
                with self._render_cond:
                    if not mid_slot.put((frame, pipeline, analysis_ms)):
                        self._render_pending += 1  # a replaced frame never renders
        except _Superseded:
            superseded = True
        finally:
            mid_slot.close()
            if superseded:
                # A fresh thread runs the frames now, with threads and slots of its own: this
                # one ends without waiting for its render thread (it may be the stuck one).
                if pool is not None:
                    pool.shutdown(wait=False)
            else:
                self._end_frames(render, pool)

    def _end_frames(self, render: _EngineThread | None, pool: _PrepareThread | None) -> None:
        """The engine's processing ends: its helpers, outputs and stages are done with."""
        if render is not None:
            render.join()
        if pool is not None:
            pool.shutdown(wait=True)
        for slot in self._out_slots:
            slot.close()
        for stage in self.pipeline.stages:
            self._close_stage(stage)
        # A list handed over and not swapped in: what was opened for it is closed here; the
        # opener thread closes what it still holds, and ends.
        for stage in self._opener.end():
            self._close_stage(stage)
        with self._stage_lock:
            # A set_stages() list not swapped in as the loop ended: kept (closed).
            pending = self._opener.latest()
            if pending is not None:
                self.pipeline = Pipeline(pending)
        self._set_reason("source ended")
        self._emit(EngineEvent(EventKind.STOPPED, "engine", self.stop_reason))

    def _check_generation(self) -> None:
        """Raise :class:`_Superseded` on a processing or render thread that a fresh one has
        replaced."""
        generation = getattr(threading.current_thread(), "generation", None)
        if generation is not None and generation != self._generation:
            raise _Superseded

    def _is_bypassed(self, stage: object) -> bool:
        return any(stage is s for s in self._bypassed)

    # ----------------------------------------------------------------- watchdog
    def _watchdog_loop(self) -> None:
        """Reports each stage call that has not returned in its limit
        (:mod:`pipelines.watchdog`), once. A stuck frame call's stage is bypassed from then on,
        and a fresh processing thread (with a fresh render thread) goes on with the frames."""
        while not self._stop.wait(WATCHDOG_INTERVAL_S):
            threads = self._threads
            if len(threads) < 2 or threads[1].finished.is_set():
                return  # the engine ended by itself (frames, source ended)
            self._check_calls(time.monotonic())

    def _check_calls(self, now: float) -> None:
        restart = False
        for call in self._calls.current():
            if call.reported or not call.overdue(now):
                continue
            if call.doing == Doing.OPEN:
                # Reported by whoever waits for it (StageOpener.open_within_limit), which
                # knows what the list does meanwhile.
                continue
            call.reported = True
            stuck = StageError(f"{call.name} {call.describe(now)}")
            if call.doing not in FRAME_CALLS:
                log.error("stage %s %s", call.name, call.describe(now))
                # A rehearsal, on the opener thread: the running list goes on.
                message = f"it {call.describe(now)}; the video goes on without it meanwhile"
                self._emit(EngineEvent(EventKind.STAGE_WARNING, call.name, message, stuck))
                continue
            generation = getattr(call.thread, "generation", None)
            # A thread replaced already ends by itself.
            restart = restart or generation in (None, self._generation)
            if self._is_bypassed(call.stage):
                continue  # reported already (its prepare, then its process)
            log.error("stage %s %s", call.name, call.describe(now))
            self._bypassed.append(call.stage)
            self.stats.add_error(call.name)
            # The window reads: 'The effect "…" failed and is skipped: it has not finished…'.
            message = f"it {call.describe(now)}"
            self._emit(EngineEvent(EventKind.STAGE_ERROR, call.name, message, stuck))
        if restart:
            self._restart_processing()

    def _restart_processing(self) -> None:
        """Replace the processing thread (and with it the render thread) by a fresh one that
        skips the bypassed stages; the old ones end when their stuck calls return."""
        with self._stage_lock:
            if self._stop.is_set() or len(self._threads) < 2:
                return
            old = self._threads[1]
            self._generation += 1
            # The old render thread ends after its frame (its processing thread, stuck, would
            # have closed the slot as it ended).
            self._mid_slot.close()
            self._mid_slot = LatestSlot("render")
            with self._render_cond:
                self._render_pending = 0
                self._render_cond.notify_all()
            self._abandoned.append(old)
            if self._render_thread is not None:
                self._abandoned.append(self._render_thread)
            if self._prepare_pool is not None:
                # Ends once what it holds is done (nothing more runs: the generation changed).
                self._prepare_pool.shutdown(wait=False)
                self._abandoned.append(self._prepare_pool.thread)
            self._render_thread = None
            self._prepare_pool = None
            fresh = _EngineThread(
                self._resumed_loop,
                f"camfx-process-{self._generation}",
                self._generation,
                calls=self._calls,
            )
            self._threads[1] = fresh
            fresh.start()

    def _held(self, frame: Frame) -> bool:
        """Whether :meth:`hold` holds: then ``frame`` goes out with the hold image, unprocessed
        (its capture is kept for the opener's rehearsal)."""
        hold = self._hold
        if hold is None:
            return False
        if self._opener.swapped_in > hold.after:
            self._hold = None
            return False
        self._wait_render_idle()  # the frames handed on before it go out first
        frame.image = hold.image
        frame.ctx.put(HELD, True)
        self._deliver(frame, None)
        return True

    def _unhurried(self, frame: Frame) -> bool:
        """Whether ``frame`` is to run serially on this thread (:data:`SERIAL_SHARE`)."""
        last, self._last_capture = self._last_capture, (frame.timestamp, frame.index)
        if last is not None and frame.index > last[1] and frame.timestamp > last[0]:
            gap = (frame.timestamp - last[0]) / (frame.index - last[1])
            self._frame_s = _running_mean(self._frame_s, gap)
        share = self.serial_share
        busy, period = self._busy_ms, self._frame_s
        if (
            share is None
            or self.lossless
            or self._render_thread is None
            or busy is None
            or period is None
            or self._in_slot.has_item  # the next frame is waiting already: no time to spare
        ):
            self._serial = False
            return False
        limit = max(share, SERIAL_LEAVE) if self._serial else share
        self._serial = busy < limit * period * 1000.0
        return self._serial

    def _wait_render_idle(self) -> None:
        with self._render_cond:
            while self._render_pending and self._render_thread is not None:
                if self._render_cond.wait(0.1) is False and self._stop.is_set():
                    return
                self._check_generation()
        self._check_generation()

    def _render_loop(
        self, generation: int, mid_slot: LatestSlot[tuple[Frame, Pipeline, float]]
    ) -> None:
        while True:
            try:
                item = mid_slot.get(timeout=0.1)
            except Closed:
                break
            if item is None:
                continue
            frame, pipeline, analysis_ms = item
            try:
                t0 = time.perf_counter()
                self._run(frame, pipeline.stages[pipeline.analysis_count() :])
                self._deliver(frame, analysis_ms + (time.perf_counter() - t0) * 1000.0)
            except _Superseded:
                return  # a fresh render thread goes on (the count is its own now)
            finally:
                with self._render_cond:
                    if generation == self._generation:
                        self._render_pending -= 1
                        self._render_cond.notify_all()
        with self._render_cond:
            if generation == self._generation:
                self._render_pending = 0
                self._render_cond.notify_all()

    def _deliver(self, frame: Frame, process_ms: float | None) -> None:
        """Count a finished frame and hand it to every output (``process_ms`` None: a held
        frame, which is not timed)."""
        if self.max_frames is not None and self._processed >= self.max_frames:
            return  # analysed ahead while the last frame rendered: not wanted any more
        if self.max_seconds is not None:
            # A video file that skipped a stall of over a second stays behind capture time
            # by the rest: ended by capture time, its recording lost the voice's end (QA qa10).
            at = self._run_clock.time_of(frame.ctx)
            if self._first_delivered is None:
                self._first_delivered = at
            elif at - self._first_delivered >= self.max_seconds:
                self._set_reason("frames")
                self._stop.set()
                self._in_slot.close()
                return
            self.seconds_delivered = at - self._first_delivered
        if process_ms is not None:
            self.stats.add_process(process_ms)
            self._busy_ms = _running_mean(self._busy_ms, process_ms)
        self._processed += 1
        self.stats.frames_processed = self._processed
        self.last_frame = frame
        for i, slot in enumerate(self._out_slots):
            if i in self._failed_outputs:
                continue
            if self.lossless:
                while not slot.wait_empty(0.1):
                    if self._stop.is_set():
                        break
            slot.put(frame)
        if self.max_frames is not None and self._processed >= self.max_frames:
            self._set_reason("frames")
            self._stop.set()
            self._in_slot.close()

    def _run(self, frame: Frame, stages: Sequence[Stage[Any]], prepare_ahead: int = 0) -> Frame:
        """Run ``stages`` on ``frame``. The ``prepare`` of stages 2..``prepare_ahead`` (analysis
        stages, which all see the captured image) may start at once on the helper thread."""
        image = frame.image
        early: dict[int, Future[None]] = {}
        pool = self._prepare_pool
        generation = self._generation
        if pool is not None and prepare_ahead > 1:
            for stage in stages[1:prepare_ahead]:
                if stage.settings.enabled and stage.has_prepare() and not self._is_bypassed(stage):
                    early[id(stage)] = pool.submit(
                        self._timed_prepare, stage, image, frame.ctx, generation
                    )
        ctx = frame.ctx
        for stage in stages:
            if not stage.settings.enabled or self._is_bypassed(stage):
                continue
            # Marked before the generation is checked: a fresh thread, which waits until the
            # replaced ones are in no stage call, then never runs a stage beside this one.
            call = self._calls.begin(stage, stage.name, Doing.PROCESS)
            try:
                self._check_generation()
                hand_over_image(ctx, image)
                t0 = time.perf_counter()
                try:
                    ahead = early.pop(id(stage), None)
                    if ahead is not None:
                        ahead.result()
                    elif stage.has_prepare():
                        self._timed_prepare(stage, image, frame.ctx, generation)
                    result = stage.process(image, frame.ctx)
                    _check_image(result, image)
                    image = result
                except _Superseded:
                    raise
                except Exception as exc:
                    count = self.stats.add_error(stage.name)
                    frame.ctx.errors.append(stage.name)
                    # Log the first failure with its traceback, later ones at debug level only: a
                    # stage failing on every frame must not flood the log at 30 lines a second.
                    # The count is in the stats (status line, GUI) and every failure is an event.
                    if count == 1:
                        log.exception("stage %s failed and is bypassed", stage.name)
                    else:
                        log.debug("stage %s failed (%d times): %s", stage.name, count, exc)
                    self._emit(EngineEvent(EventKind.STAGE_ERROR, stage.name, str(exc), exc))
                self._check_generation()  # it came back from a stuck call: nothing more
                for message in stage.take_reports():
                    log.warning("%s: %s", stage.name, message)
                    self._emit(EngineEvent(EventKind.STAGE_WARNING, stage.name, message))
                ms = (time.perf_counter() - t0) * 1000.0
                stage_ms = frame.ctx.stage_ms
                # A stage may time its own steps as "name/step" (the tracker: detect, mesh, pose).
                prefix = stage.name + "/"
                # (A copy: a helper thread may be adding a later stage's "name/prepare" meanwhile.)
                for key, part_ms in stage_ms.copy().items():
                    if key.startswith(prefix):
                        self.stats.add_stage(key, part_ms)
                stage_ms[stage.name] = ms
                self.stats.add_stage(stage.name, ms)
            finally:
                self._calls.end(call)
        # Outputs and the GUI read the delivered frame: nobody may write into it any more.
        ctx.pop(FRESH_IMAGE)
        ctx.pop(WRITABLE_IMAGE)
        frame.image = image
        return frame

    def _timed_prepare(
        self, stage: Stage[Any], image: np.ndarray, ctx: FrameContext, generation: int
    ) -> None:
        """``stage.prepare``, timed and marked (on the prepare pool, or the calling thread)."""
        call = self._calls.begin(stage, stage.name, Doing.PREPARE)
        try:
            if generation != self._generation:
                raise _Superseded  # queued before a fresh thread took over: not run
            t0 = time.perf_counter()
            stage.prepare(image, ctx)
            ctx.stage_ms[f"{stage.name}/prepare"] = (time.perf_counter() - t0) * 1000.0
        finally:
            self._calls.end(call)

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
                # Info, not error: the "output-error" event and ``out.failure`` carry the line
                # that callers show (the CLI's summary, the window's message), once.
                log.info("output %s failed and is stopped: %s", out.description, exc)
                if not out.failure:
                    out.failure = f"{out.description} stopped: {exc}"
                self._failed_outputs.add(i)
                # Closing the slot releases a lossless producer waiting for this output.
                slot.close()
                self._emit(EngineEvent(EventKind.OUTPUT_ERROR, out.description, str(exc), exc))
                if len(self._failed_outputs) == len(self.outputs):
                    # Nothing is left to send frames to: stop instead of spinning idle.
                    self._set_reason("outputs failed")
                    self._stop.set()
                    self._in_slot.close()
                break
            if i == self._stats_output() and not frame.ctx.get(RESENT):
                # A media-time stamp is no capture time: no latency for it.
                self.stats.add_output(None if self.source.media_clock else frame.timestamp)

    def _stats_output(self) -> int:
        """The output whose deliveries the fps and latency figures count: the first one that
        has not failed."""
        return next((i for i in range(len(self.outputs)) if i not in self._failed_outputs), -1)


def _wait_unless_stuck(thread: _EngineThread, timeout: float) -> None:
    """Wait up to ``timeout`` s for ``thread`` to end, but not while it is inside a stage call
    past its stuck limit (:mod:`pipelines.watchdog`): that call is not about to return."""
    deadline = time.monotonic() + timeout
    while not thread.finished.wait(min(STUCK_WAIT_S, max(0.0, deadline - time.monotonic()))):
        now = time.monotonic()
        if now >= deadline or thread.stuck_call(now) is not None:
            return


def _check_image(result: object, image: np.ndarray) -> None:
    """A stage must return a BGR uint8 image of the size it was given."""
    if not isinstance(result, np.ndarray):
        raise TypeError(f"returned {type(result).__name__}, not an image")
    if result.shape != image.shape or result.dtype != np.uint8:
        raise TypeError(
            f"returned a {result.dtype} image of shape {result.shape}; expected uint8 {image.shape}"
        )
