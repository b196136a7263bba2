"""One-slot, latest-frame-wins hand-off between threads.

A producer never waits: ``put`` replaces whatever the consumer has not taken yet and counts
it as dropped. A consumer waits only for something newer than what it had. So a slow output
costs frames, never latency, and no queue can build up seconds of delay.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The slot was closed and is empty; the consumer should stop."""


class LatestSlot(Generic[T]):
    """Holds at most one item. ``close()`` lets the consumer take what is left, then
    ``get`` raises :class:`Closed`; ``put`` on a closed slot discards the item."""

    def __init__(self, name: str = "slot") -> None:
        self.name = name
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has_item = False
        self._closed = False
        self.put_count = 0
        """Items stored (a put on a closed slot is not counted)."""
        self.taken = 0
        """Items a consumer got."""
        self.dropped = 0
        """Items replaced before a consumer took them."""

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
        """Take the latest item, waiting up to ``timeout`` s (None: until one comes or the slot
        closes); None on timeout. Raises :class:`Closed` once the slot is closed and empty."""
        with self._cond:
            if timeout is None:
                self._cond.wait_for(lambda: self._has_item or self._closed)
            else:
                # wait_for re-checks after spurious wake-ups, keeping to the deadline.
                deadline = time.monotonic() + max(0.0, timeout)
                while not (self._has_item or self._closed):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            if self._has_item:
                item = self._item
                self._item = None
                self._has_item = False
                self.taken += 1
                self._cond.notify_all()
                return item
            if self._closed:
                raise Closed(self.name)
            return None

    def wait_empty(self, timeout: float | None = None) -> bool:
        """Block until the consumer took the item or the slot closed (lossless hand-shakes:
        files and benchmarks). Returns False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._has_item or self._closed, timeout)

    def close(self) -> None:
        """Idempotent. Wakes every waiter."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def has_item(self) -> bool:
        return self._has_item

    def __repr__(self) -> str:
        return (
            f"LatestSlot({self.name!r}, put={self.put_count}, taken={self.taken}, "
            f"dropped={self.dropped}, closed={self._closed})"
        )
