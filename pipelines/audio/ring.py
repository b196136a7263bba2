"""A single-producer ring buffer of float32 samples with absolute sample positions.

The sound-card callback is the producer: :meth:`AudioRing.write` only copies its block into
preallocated memory and advances a counter (no allocation, no Python-level loops, no logging),
so the callback never misses its deadline. The analysis thread reads by absolute sample number;
if it falls more than the capacity behind, the oldest samples are gone and :meth:`read` says how
many were lost instead of returning stale ones.
"""

from __future__ import annotations

import threading
import time

import numpy as np


class AudioRing:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("ring capacity must be at least 1 sample")
        self.capacity = int(capacity)
        self._data = np.zeros(self.capacity, np.float32)
        self._written = 0  # total samples ever written (absolute position of the head)
        self._lock = threading.Lock()
        self.overruns = 0
        """Blocks larger than the whole ring (only their newest part was kept)."""
        self.stamp: tuple[int, float] | None = None
        """(:attr:`written`, ``time.monotonic()``) at the last write: when the newest sample
        arrived, which places samples on the frames' clock (a recording's sound track)."""

    @property
    def written(self) -> int:
        """Absolute index one past the newest sample."""
        return self._written

    def write(self, block: np.ndarray) -> None:
        """Copy ``block`` (1-D, or frames × channels: the first channel is kept) into the ring."""
        if block.ndim > 1:
            block = block[:, 0]
        n = block.shape[0]
        if n == 0:
            return
        if n > self.capacity:
            skipped, n = n - self.capacity, self.capacity
            block = block[skipped:]
            self.overruns += 1
        else:
            skipped = 0
        with self._lock:
            start = (self._written + skipped) % self.capacity
            first = min(n, self.capacity - start)
            self._data[start : start + first] = block[:first]
            if first < n:
                self._data[: n - first] = block[first:]
            self._written += skipped + n
            self.stamp = (self._written, time.monotonic())

    def read(self, start: int, count: int | None = None) -> tuple[np.ndarray, int]:
        """Copy samples from absolute index ``start`` up to the head (or ``count`` of them).

        Returns ``(samples, lost)``: ``lost`` samples at ``start`` were already overwritten and
        are skipped, so the returned block begins at ``start + lost``.
        """
        with self._lock:
            head = self._written
            oldest = max(0, head - self.capacity)
            lost = max(0, oldest - start)
            begin = start + lost
            end = head if count is None else min(head, start + count)
            n = max(0, end - begin)
            out = np.empty(n, np.float32)
            if n:
                i = begin % self.capacity
                first = min(n, self.capacity - i)
                out[:first] = self._data[i : i + first]
                if first < n:
                    out[first:] = self._data[: n - first]
        return out, lost
