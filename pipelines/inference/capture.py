"""Keeps a CUDA graph's capture alone on the GPU.

ONNX Runtime captures a CUDA graph in its session's second run, in CUDA's global capture mode:
while one stream is capturing, a synchronising call from any other thread of the process (a
copy, an allocation, another session's run) invalidates the capture. Studio runs the tracker and
the segmentation on two threads, and on an H200 (2026-12-04 16:29 UTC) their first frames did
exactly that: ``cudaErrorStreamCaptureInvalidated`` in one, ``operation not permitted when stream
is capturing`` in the other, and both stages bypassed for that frame.

So device work registers here. While no graph is waiting to be captured it runs side by side as
before, at the cost of a counter. From the moment a graph session exists until its capture is
done, device work runs one call at a time, and a capturing call starts only once every call
already in flight has ended.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

CAPTURE_RUNS = 3
"""A graph session's first runs held alone: ONNX Runtime runs it once plainly (to allocate), then
captures; the third is the first replay, kept alone too in case its version captures later."""


class CaptureGuard:
    def __init__(self) -> None:
        self._state = threading.Condition()
        self._pending = 0
        """Graph sessions made whose capture runs are not all done."""
        self._in_flight = 0
        """Device calls running side by side (started while nothing was pending)."""
        self._alone = threading.RLock()

    @property
    def pending(self) -> int:
        with self._state:
            return self._pending

    def expect_capture(self) -> None:
        """A graph session was made: hold device work alone until :meth:`captured`."""
        with self._state:
            self._pending += 1

    def captured(self) -> None:
        with self._state:
            self._pending = max(0, self._pending - 1)
            self._state.notify_all()

    @contextlib.contextmanager
    def device_work(self) -> Iterator[None]:
        """Around any call that touches the GPU (a run, a session being made)."""
        with self._state:
            alone = self._pending > 0
            if not alone:
                self._in_flight += 1
        if not alone:
            try:
                yield
            finally:
                with self._state:
                    self._in_flight -= 1
                    self._state.notify_all()
            return
        with self._alone:
            with self._state:
                # Calls that began before the graph session was made finish first.
                self._state.wait_for(lambda: self._in_flight == 0)
            yield


CAPTURE_GUARD = CaptureGuard()
"""The process's guard: CUDA's capture mode is process-wide too."""
