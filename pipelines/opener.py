"""Opening a new stage list beside the running one, so that a preset switch never stops the
video.

A stage's ``open()`` loads models, makes ONNX sessions and warms caches: 0.5-1.4 s for a preset
used for the first time in the process (Studio 0.99 s, the talking head 1.37 s at load 4,
2026-12-06), and far more with a cold Numba cache. On the processing thread no frame was
processed meanwhile, and the meeting saw a frozen picture. The :class:`StageOpener` opens the
new stages on a thread of its own while the processing thread goes on with the running list;
the processing thread swaps the lists (and closes the stages the new list drops) at a frame
boundary once the opens are done.

One list is opened at a time, and the latest :meth:`StageOpener.ask` wins: a list asked for
while another opens supersedes it. The stages opened for a superseded list are closed (they
never ran), except those the newer list has too, which it keeps.

An open stage's first frames are still slow (the sessions' first runs, OpenCV's first calls,
Numba loading its cached kernels on a thread of its own while holding the GIL): after the swap
they held the new list's first second of video at 0.1-0.33 s a frame (Studio, 720p30, load 2.5,
2026-12-06). So before handing a list over the opener also waits, within
:data:`WARM_WAIT_S`, for the work its stages' opens left to background threads
(:meth:`Stage.wait_warm`), and runs its :attr:`~pipelines.stage.Stage.rehearsed` stages on
copies of the latest captured frame (:func:`rehearse`), which they then forget.

Each ``open()`` runs on a thread of its own (:class:`Opening`), and whoever waits for it stops
waiting once it has run past :data:`~pipelines.watchdog.OPEN_STUCK_S`: a GPU provider's first
session (TensorRT builds its engine for minutes on a first run, a CUDA driver that hangs) or a
model file on a network file system that stalls held the list, and with it the window's
"Starting..." card or a CLI run's first frame, for good. What the list does meanwhile is its
:class:`Incomplete`: the rest goes live, or, for a list that hides the room, nothing changes;
a late open that returns joins the latest list if that list has its stage, and is closed
otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from pipelines.frame import UNHURRIED, FrameContext, hand_over_image
from pipelines.stage import Stage
from pipelines.watchdog import Doing, StageCalls, stuck_after

log = logging.getLogger(__name__)

POLL_S = 0.1
"""How often a waiting thread looks at the engine's stop flag (as the engine's loops do)."""
WARM_WAIT_S = 4.0
"""How long the opener waits for the background work of a list's new stages before handing
it over (:meth:`Stage.wait_warm`). Numba's load of its cached kernels took 0.8 s with Python's
bytecode cached and 1.7-2.2 s without (load 2.5-5 on the 2-core machine); with a cold cache it
compiles for 40-150 s, which no switch waits for: the list is swapped in after this long, and
runs its OpenCV paths until the compile is done, as before."""
REHEARSALS = 2
"""Frames each rehearsed stage is run on (:func:`rehearse`): the tracker's first detects and
meshes the faces found, its second tracks them (the mesh from the last landmarks, the carried
key); the second is :data:`~pipelines.frame.UNHURRIED` (no helper thread), as the frames after
a switch from a light list are, the first not."""


class Incomplete(StrEnum):
    """What a stage list asked for does while one of its stages is not open: its open has run
    past :data:`~pipelines.watchdog.OPEN_STUCK_S` (it goes on, on a thread of its own), or
    failed."""

    RUN = "run"
    """The rest of the list goes live (a hold ends); a late open that returns joins it, in its
    place in the list."""
    WAIT = "wait"
    """The list goes live whole or not at all: what runs (or :meth:`Engine.hold`'s card) stays
    meanwhile. For a preset that hides the room (``Preset.hides_room``): without its
    segmentation the blur passes the frame through (the room sharp), without its face boxes
    only-me is off (everyone behind you kept sharp)."""


def incomplete_for(hides_room: bool) -> Incomplete:
    """The :class:`Incomplete` of a preset's list: a preset that hides the room waits."""
    return Incomplete.WAIT if hides_room else Incomplete.RUN


class Outcome(StrEnum):
    """How :meth:`Opening.wait` ended."""

    OPEN = "open"
    FAILED = "failed"
    """Reported and released by the open function."""
    LATE = "late"
    """Still opening (past the time waited, or the engine stops)."""


Spawn = Callable[[Callable[[], None], str], None]
"""Starts a function on a new thread of the given name (the engine's: waited for at exit)."""


def _plain_thread(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


class Opening:
    """One stage's ``open()`` on a thread of its own, so that whoever waits for it can stop
    waiting while it goes on."""

    def __init__(
        self, stage: Stage[Any], open_stage: Callable[[Stage[Any]], bool], spawn: Spawn
    ) -> None:
        self.stage = stage
        self.began = time.monotonic()
        self._open_stage = open_stage
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._opened = False
        self._then: Callable[[Opening, bool], None] | None = None
        spawn(self._run, f"camfx-open-{stage.name}")

    def _run(self) -> None:
        opened = False
        try:
            opened = self._open_stage(self.stage)
        finally:
            with self._lock:
                self._opened = opened
                self._done.set()
                then = self._then
            if then is not None:
                then(self, opened)

    def wait(self, within: float | None, cancelled: Callable[[], bool]) -> Outcome:
        """Wait until the open returns, at most until ``within`` s after it began (None: no
        limit), looking at ``cancelled`` every :data:`POLL_S`."""
        until = None if within is None else self.began + within
        while True:
            left = POLL_S if until is None else min(POLL_S, max(0.0, until - time.monotonic()))
            if self._done.wait(left):
                return Outcome.OPEN if self._opened else Outcome.FAILED
            if cancelled() or (until is not None and time.monotonic() >= until):
                return Outcome.LATE

    def then(self, callback: Callable[[Opening, bool], None]) -> bool:
        """Have ``callback(self, opened)`` called on the open's thread once it returns. False
        when it has returned already (the caller then takes :meth:`wait`'s answer)."""
        with self._lock:
            if self._done.is_set():
                return False
            self._then = callback
            return True


@dataclass(frozen=True)
class Captured:
    """A captured frame's picture and its place in the stream (what a rehearsal runs on)."""

    image: np.ndarray
    timestamp: float
    index: int


@dataclass(frozen=True)
class OpenedStages:
    """A stage list whose new stages are open: ready to replace the running list."""

    stages: list[Stage[Any]]
    """The list as asked for, in order."""
    opened: list[Stage[Any]]
    """Those of them opened for it; the others already run, or could not open (left out)."""
    number: int
    """Which :meth:`StageOpener.ask` asked for it (1, 2, …)."""

    def runnable(self, running: Sequence[Stage[Any]]) -> list[Stage[Any]]:
        """The stages of the list that are open, in order, given the ``running`` ones."""
        return [s for s in self.stages if _holds(running, s) or _holds(self.opened, s)]


class StageOpener:
    """Opens the stages of each asked-for list on its own thread (:meth:`run`).

    The engine's processing thread looks at :attr:`ready` between frames, swaps the list in
    and calls :meth:`swapped`; only then does the opener take the next list, so what it sees
    running (``running()``) is what the next list will replace. A stage is thus opened before
    it is processed, and never while its own ``process`` or ``close`` runs.

    Each open runs on a thread of its own (:class:`Opening`, started by ``spawn``) and is
    waited for at most :data:`~pipelines.watchdog.OPEN_STUCK_S`: one still running then is
    *late*, reported (``stuck``), and the list goes on as its :class:`Incomplete` says. A late
    open that returns joins the latest list asked for if that list has its stage (identity: a
    list asked again after a pause has the same stages), handed over as a list of its own;
    otherwise it is closed on its thread. Opens are not waited for less because a newer list
    is asked: two opens then ran side by side on the 2 cores in every quick preset switch,
    where now they do only past the stuck limit."""

    def __init__(
        self,
        *,
        open_stage: Callable[[Stage[Any]], bool],
        close_stage: Callable[[Stage[Any]], None],
        running: Callable[[], Sequence[Stage[Any]]],
        stopping: threading.Event,
        captured: Callable[[], Captured | None] = lambda: None,
        frame_s: Callable[[], float] = lambda: 1.0 / 30.0,
        calls: StageCalls | None = None,
        spawn: Spawn = _plain_thread,
        stuck: Callable[[Stage[Any], Incomplete], None] = lambda stage, incomplete: None,
        joined: Callable[[Stage[Any], float], None] = lambda stage, took_s: None,
    ) -> None:
        self._open_stage = open_stage
        """Opens one stage; on failure it reports it, releases it and returns False."""
        self._close_stage = close_stage
        self._running = running
        self._stopping = stopping
        self._captured = captured
        """The latest captured frame, or None before the first (no rehearsal then)."""
        self._frame_s = frame_s
        """The time between captured frames (s)."""
        self._calls = calls if calls is not None else StageCalls()
        """Where the rehearsals' stage calls are marked (the engine's watchdog reads them)."""
        self._spawn = spawn
        self._stuck = stuck
        """Reports a stage whose open has run past the stuck limit (once per open)."""
        self._joined_late = joined
        """Reports a late stage that has opened and joins the latest list (and how long its
        open took, s)."""
        self._cond = threading.Condition()
        self._wanted: list[Stage[Any]] | None = None
        """The latest list asked for that the opener thread has not taken yet."""
        self._latest: list[Stage[Any]] = []
        self._incomplete = Incomplete.RUN
        """The :class:`Incomplete` of :attr:`_latest`."""
        self._asked = 0
        self._swapped = 0
        """The number of the last list swapped in (an older one is never swapped in later)."""
        self._late: list[Opening] = []
        """Opens past their stuck limit, still running."""
        self._joined: list[Stage[Any]] = []
        """Late stages that opened, of the latest list, not handed over yet."""
        self.ready: OpenedStages | None = None
        """The list handed to the processing thread and not swapped in yet. Read without the
        lock between frames: a reference read is atomic."""
        self._ended = False

    # ------------------------------------------------------------------ engine side
    def ask(self, stages: Sequence[Stage[Any]], incomplete: Incomplete = Incomplete.RUN) -> None:
        """Open ``stages`` (those not running yet) and hand the list over; supersedes any
        list asked for before that is not swapped in yet."""
        with self._cond:
            self._asked += 1
            self._wanted = self._latest = list(stages)
            self._incomplete = incomplete
            self._cond.notify_all()

    def starting(self, stages: Sequence[Stage[Any]], incomplete: Incomplete) -> None:
        """The engine's first list, which its processing thread opens (a stage of it that is
        late joins it as one of an asked list does)."""
        with self._cond:
            self._latest = list(stages)
            self._incomplete = incomplete

    def open_within_limit(
        self, opening: Opening, incomplete: Incomplete, *, wait_whole: bool = False
    ) -> Outcome:
        """Wait for ``opening`` up to the stuck limit (the engine's stop ends the wait). A late
        one is reported (not when the engine stops); with ``wait_whole`` and
        :attr:`Incomplete.WAIT` it is then waited for on (the processing thread at the
        engine's start: nothing may run before it); one still late is the opener's
        (:meth:`_adopt`)."""
        outcome = opening.wait(stuck_after(Doing.OPEN), self._done)
        if outcome == Outcome.LATE and not self._done():
            self._stuck(opening.stage, incomplete)
            if incomplete == Incomplete.WAIT and wait_whole:
                outcome = opening.wait(None, self._done)
        if outcome == Outcome.LATE:
            self._adopt(opening)
        return outcome

    @property
    def asked(self) -> int:
        """How many lists :meth:`ask` was given (the number of the latest)."""
        return self._asked

    @property
    def swapped_in(self) -> int:
        """The number of the last list swapped in (0 before the first)."""
        return self._swapped

    @property
    def pending(self) -> bool:
        """Whether a list asked for is not swapped in yet."""
        return self._swapped < self._asked

    def latest(self) -> list[Stage[Any]] | None:
        """The latest list asked for while it is not swapped in yet, else None."""
        with self._cond:
            return self._latest if self._swapped < self._asked else None

    def wait_ready(self, timeout: float) -> OpenedStages | None:
        """The list handed over, waiting up to ``timeout`` s for it (lossless engines, where
        the frame after a switch goes through the new list, as every frame is waited for)."""
        with self._cond:
            self._cond.wait_for(
                lambda: self.ready is not None or self._ended or self._swapped >= self._asked,
                timeout,
            )
            return self.ready

    def swapped(self, opened: OpenedStages) -> None:
        """The processing thread now runs ``opened``'s list (and closed what it dropped)."""
        with self._cond:
            self._swapped = opened.number
            if self.ready is opened:
                self.ready = None
            self._cond.notify_all()

    def end(self) -> list[Stage[Any]]:
        """The processing thread has ended: no list is swapped in any more. Returns the stages
        opened for a list handed over and never swapped in, and the late ones that opened and
        were not handed over, for the caller to close; the opener thread closes what it holds
        itself, and ends (a late open that returns from now on closes its stage)."""
        with self._cond:
            self._ended = True
            ready, self.ready = self.ready, None
            joined, self._joined = self._joined, []
            self._cond.notify_all()
        return (list(ready.opened) if ready is not None else []) + joined

    # ------------------------------------------------------------------ late opens
    def _adopt(self, opening: Opening) -> None:
        """``opening`` is late: its stage joins the latest list or is closed as it returns."""
        with self._cond:
            self._late.append(opening)
        if not opening.then(self._late_returned):
            # Returned meanwhile: its answer is at hand.
            self._late_returned(opening, opening.wait(0.0, lambda: True) == Outcome.OPEN)

    def _late_returned(self, opening: Opening, opened: bool) -> None:
        """On the open's thread, as a late open returns."""
        stage = opening.stage
        with self._cond:
            self._late = [o for o in self._late if o is not opening]
            joins = opened and not self._done() and _holds(self._latest, stage)
            if joins:
                self._joined.append(stage)
            self._cond.notify_all()
        took = time.monotonic() - opening.began
        if joins:
            self._joined_late(stage, took)
        elif opened:
            log.info(
                "stage %s has started after %.0f s, no longer asked for: closed", stage.name, took
            )
            self._close_stage(stage)

    def _in_flight(self, stage: Stage[Any]) -> bool:
        """Whether ``stage``'s late open runs, or it opened and waits to be handed over."""
        with self._cond:
            return _holds(self._joined, stage) or any(o.stage is stage for o in self._late)

    def _take_joined(self) -> list[Stage[Any]]:
        with self._cond:
            joined, self._joined = self._joined, []
            return joined

    # ------------------------------------------------------------------ opener thread
    def run(self, started: threading.Event) -> None:
        """The opener thread: waits until the engine's first stages are open (``started``),
        then opens each list asked for, and hands over the late stages that join the latest,
        until :meth:`end` or the engine's stop."""
        while not started.wait(POLL_S):
            if self._done():
                return
        held: list[Stage[Any]] = []  # opened for the latest list, not handed over yet
        failed: list[Stage[Any]] = []  # of the latest list: not opened again for it
        try:
            while True:
                with self._cond:
                    while self._wanted is None and not self._joined and not self._done():
                        self._cond.wait(POLL_S)
                    if self._done():
                        return
                    if self._wanted is not None:
                        stages, self._wanted = self._wanted, None
                        failed = []
                    else:
                        stages = self._latest  # a late stage of it has opened: it joins
                    number, incomplete = self._asked, self._incomplete
                held = self._open_for(stages, held + self._take_joined(), incomplete, failed)
                held += self._take_joined()  # returned meanwhile (superseded: closed next)
                running = self._running()
                whole = all(_holds(running, s) or _holds(held, s) for s in stages)
                if incomplete == Incomplete.WAIT and not whole:
                    continue  # what runs stays, until the rest joins or a newer list comes
                self._warm(stages, held)
                with self._cond:
                    if self._wanted is not None:
                        continue  # superseded: the newer list keeps what it shares with it
                    if self._done():
                        return
                    opened = self.ready = OpenedStages(stages, held, number)
                    held = []  # the processing thread's now (end() gives back what it drops)
                    self._cond.notify_all()
                    # The next list is opened against the running one: wait for this swap.
                    while self.ready is opened and not self._done():
                        self._cond.wait(POLL_S)
        finally:
            for stage in held:
                self._close_stage(stage)

    def _open_for(
        self,
        stages: list[Stage[Any]],
        held: list[Stage[Any]],
        incomplete: Incomplete,
        failed: list[Stage[Any]],
    ) -> list[Stage[Any]]:
        """Open the stages of ``stages`` that neither run nor are in ``held`` nor failed
        (added to ``failed`` when they do) nor opening late; close those of ``held`` it does
        not have (opened for a superseded list, never run). Stops early when a newer list is
        asked for or the engine ends. Returns the stages opened for it."""
        kept = [s for s in held if _holds(stages, s)]
        for stage in held:
            if not _holds(stages, stage):
                self._close_stage(stage)
        running = self._running()
        for stage in stages:
            if self._wanted is not None or self._done():
                break  # superseded, or the engine ends: each open may take seconds
            if (
                _holds(running, stage)
                or _holds(kept, stage)
                or _holds(failed, stage)
                or self._in_flight(stage)
            ):
                continue
            outcome = self.open_within_limit(
                Opening(stage, self._open_stage, self._spawn), incomplete
            )
            if outcome == Outcome.OPEN:
                kept.append(stage)
            elif outcome == Outcome.FAILED:
                failed.append(stage)
        return kept

    def _warm(self, stages: list[Stage[Any]], opened: list[Stage[Any]]) -> None:
        """Before ``stages`` is handed over: wait (within :data:`WARM_WAIT_S`) for the
        background work of the stages ``opened`` for it, then rehearse them. Stops early when a
        newer list is asked for or the engine ends."""
        deadline = time.monotonic() + WARM_WAIT_S
        for stage in opened:
            # In slices, so that a newer list or the engine's stop is seen within POLL_S.
            while not self._cancelled():
                left = deadline - time.monotonic()
                if left <= 0.0 or stage.wait_warm(min(left, POLL_S)):
                    break
        chosen = [s for s in stages if s.rehearsed and _holds(opened, s)]
        captured = self._captured()
        if chosen and captured is not None and not self._cancelled():
            rehearse(chosen, captured, self._frame_s(), self._cancelled, self._calls)

    def _cancelled(self) -> bool:
        """Whether the list being opened is superseded, or the engine ends."""
        return self._wanted is not None or self._done()

    def _done(self) -> bool:
        return self._ended or self._stopping.is_set()


def rehearse(
    stages: Sequence[Stage[Any]],
    captured: Captured,
    frame_s: float,
    cancelled: Callable[[], bool] = lambda: False,
    calls: StageCalls | None = None,
) -> None:
    """Run ``stages`` (open, processed by nobody else meanwhile) in order on :data:`REHEARSALS`
    copies of ``captured``, as the engine runs a frame, then have each forget those frames
    (:meth:`Stage.forget_frames`): what their first frames do once (sessions' first runs,
    OpenCV's first calls, lazy imports, compiled kernels' first calls) is done here, and the
    first live frame is processed as the first after ``open()``. A stage that fails here is
    left to fail on a live frame, where the engine reports it. Each is told that only the
    others of ``stages`` follow it (a running stage must not be called from this thread: the
    blur folds the light's curves into its composite when the light is among them); the
    engine tells each its real followers when it swaps the list in. Each stage's calls are
    marked in ``calls`` (a stuck one is reported by the engine's watchdog)."""
    calls = calls if calls is not None else StageCalls()
    for i, stage in enumerate(stages):
        stage.set_following(stages[i + 1 :])
    try:
        for n in range(REHEARSALS):
            ctx = FrameContext(timestamp=captured.timestamp + n * frame_s, index=captured.index + n)
            if n > 0:
                ctx.put(UNHURRIED, True)
            image = captured.image.copy()
            for stage in stages:
                if cancelled():
                    return
                if not stage.settings.enabled:
                    continue
                hand_over_image(ctx, image)  # as the engine does
                call = calls.begin(stage, stage.name, Doing.REHEARSAL)
                try:
                    if stage.has_prepare():
                        stage.prepare(image, ctx)
                    result = stage.process(image, ctx)
                except Exception:
                    log.debug("stage %s failed in its rehearsal", stage.name, exc_info=True)
                    continue
                finally:
                    calls.end(call)
                if isinstance(result, np.ndarray) and result.shape == image.shape:
                    image = result
    finally:
        for stage in stages:
            try:
                stage.forget_frames()
            except Exception as exc:
                log.warning("stage %s could not forget its rehearsal: %s", stage.name, exc)


def _holds(stages: Sequence[Stage[Any]], stage: Stage[Any]) -> bool:
    """Whether ``stage`` itself (not an equal one) is in ``stages``."""
    return any(stage is s for s in stages)
