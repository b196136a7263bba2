"""Which stage call each engine thread is in, and since when: what the engine's watchdog reads
to find a stage that never returns.

A stage's ``process`` or ``open`` cannot be interrupted from Python. One that stalled (the face
mesh stuck inside a call) held the processing thread for good: nothing was reported, the video
stopped, and quitting waited a minute for the thread at exit. The engine marks each stage call
here (a dict assignment: well under a microsecond, against 15-30 ms a frame), and its watchdog
thread looks at the marks four times a second (:mod:`pipelines.engine`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.stage import Stage


class Doing(StrEnum):
    """What a stage was asked to do: the limits differ, and the report names it."""

    OPEN = "open"
    PREPARE = "prepare"
    PROCESS = "process"
    REHEARSAL = "rehearsal"


PROCESS_STUCK_S = 5.0
"""A frame call (``prepare``, ``process``, a rehearsal) that has not returned after this long is
stuck. A Studio frame takes 15-30 ms on the 2-core machine at load 4, the slowest first frames
of a new list (ONNX sessions' first runs, Numba loading its kernels) 0.1-0.33 s, and no frame
of any preset took a second (2026-12-06): 5 s is no frame, and the video has been frozen long
enough that the user needs to be told."""
OPEN_STUCK_S = 20.0
"""An ``open()`` that has not returned after this long is stuck. Opens load models, make ONNX
sessions and warm caches: 0.5-1.4 s for a preset used for the first time in the process, over
5 s on a loaded 2-core machine with a cold Numba cache (whose 40-150 s compile runs on a
background thread, not in ``open``). 20 s is four times the slowest seen. Whoever waits for
an open (:mod:`pipelines.opener`) stops waiting then and reports it: the list goes on without
the stage, or (a preset that hides the room) as it was, until it opens."""


def stuck_after(doing: Doing) -> float:
    """How long a call of ``doing`` runs before it counts as stuck (s)."""
    return OPEN_STUCK_S if doing == Doing.OPEN else PROCESS_STUCK_S


@dataclass
class StageCall:
    """One stage call in progress on one thread."""

    stage: Stage[Any]
    """The stage (compared by identity)."""
    name: str
    doing: Doing
    thread: threading.Thread
    since: float = field(default_factory=time.monotonic)
    reported: bool = False
    """Set by the watchdog once it has reported the call stuck."""
    outer: StageCall | None = None
    """The call this one is made from, on the same thread (a ``prepare`` inside the engine's
    call of the stage): it is the thread's call again once this one ends."""

    def overdue(self, now: float) -> bool:
        return now - self.since >= stuck_after(self.doing)

    def describe(self, now: float) -> str:
        """What the user reads: what the stage has been doing, and for how long."""
        what = {
            Doing.OPEN: "has not finished starting",
            Doing.PREPARE: "has not finished a frame",
            Doing.PROCESS: "has not finished a frame",
            Doing.REHEARSAL: "has not finished its trial frame",
        }[self.doing]
        return f"{what} in {now - self.since:.0f} s ({self.doing} never returned)"


class StageCalls:
    """The innermost stage call each thread is in."""

    def __init__(self) -> None:
        self._calls: dict[int, StageCall] = {}

    def begin(self, stage: Stage[Any], name: str, doing: Doing) -> StageCall:
        ident = threading.get_ident()
        call = StageCall(stage, name, doing, threading.current_thread())
        call.outer = self._calls.get(ident)
        self._calls[ident] = call  # one assignment: atomic under the GIL
        return call

    def end(self, call: StageCall) -> None:
        ident = threading.get_ident()
        if self._calls.get(ident) is call:
            if call.outer is not None:
                self._calls[ident] = call.outer
            else:
                del self._calls[ident]

    def current(self) -> list[StageCall]:
        """The calls in progress (a copy)."""
        return list(self._calls.copy().values())

    def of(self, thread: threading.Thread) -> StageCall | None:
        """The call ``thread`` is in, if any."""
        ident = thread.ident
        return None if ident is None else self._calls.get(ident)
