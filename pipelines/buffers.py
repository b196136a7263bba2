"""One-slot, latest-frame-wins hand-off between threads.

A producer never waits: ``put`` replaces whatever the consumer has not taken yet and counts
it as dropped. A consumer waits only for something newer than what it had. So a slow output
costs frames, never latency, and no queue can build up seconds of delay.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The slot was closed; the consumer should stop."""


class LatestSlot(Generic[T]):
    def __init__(self, name: str = "slot") -> None:
        self.name = name
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has_item = False
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Store ``item``; returns True when it replaced an untaken one (a drop)."""
        with self._cond:
            if self._closed:
                return False
            replaced = self._has_item
            if replaced:
                self.dropped += 1
            self._item = item
            self._has_item = True
            self.put_count += 1
            self._cond.notify_all()
            return replaced

    def get(self, timeout: float | None = None) -> T | None:
        """Take the latest item, waiting up to ``timeout`` s; None on timeout. Raises Closed."""
        with self._cond:
            if not self._has_item and not self._closed:
                self._cond.wait(timeout)
            if self._has_item:
                item = self._item
                self._item = None
                self._has_item = False
                self._cond.notify_all()
                return item
            if self._closed:
                raise Closed(self.name)
            return None

    def wait_empty(self, timeout: float | None = None) -> bool:
        """Block until the consumer took the item (used for unpaced benchmarking only)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._has_item or self._closed, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
