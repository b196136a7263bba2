"""Rolling statistics the engine keeps for the status line, the GUI and ``camfx bench``."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

MAX_WINDOW = 10_000
"""The most samples one measure keeps. ``camfx bench`` asks for a window as long as its run,
so a 20,000-frame soak grew every measure by a Python float per frame (8.5 MB per 10,000
frames with Studio's stages); now a bench summary covers the last 10,000 frames at most."""


class Rolling:
    """The last ``size`` samples of one measure (ms), in a ring allocated once: memory does
    not grow with the number of frames, however long the run."""

    def __init__(self, size: int = 600) -> None:
        size = max(1, min(int(size), MAX_WINDOW))
        # Filled now (np.full, not np.empty) so every page is resident from the start and a
        # long run's resident memory does not creep up as the ring fills.
        self._ring = np.full(size, np.nan, dtype=np.float64)
        self._added = 0

    def add(self, value: float) -> None:
        # One writer per measure; a reader racing with it sees the sample or not, never a
        # torn array (each slot is written before the count moves on).
        self._ring[self._added % len(self._ring)] = value
        self._added += 1

    @property
    def added(self) -> int:
        """Samples added since the start (the ring keeps the last ``size`` of them)."""
        return self._added

    @property
    def capacity(self) -> int:
        return len(self._ring)

    @property
    def samples(self) -> np.ndarray:
        """The kept samples, oldest first (a copy)."""
        return self.since(0)

    def since(self, first: int) -> np.ndarray:
        """Kept samples whose running number is ``first`` or later, oldest first: ``since(10)``
        leaves out the first 10 samples of the run (those of them the ring still holds)."""
        added, size = self._added, len(self._ring)
        start = max(first, added - size, 0)
        if start >= added:
            return np.zeros(0, np.float64)
        idx = np.arange(start, added) % size
        return self._ring[idx].copy()

    def last(self, n: int) -> np.ndarray:
        return self.since(self._added - n)

    def percentile(self, q: float) -> float:
        """NaN when there is no sample yet."""
        values = self.samples
        if not len(values):
            return float("nan")
        return float(np.percentile(values, q))

    @property
    def median(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    def __len__(self) -> int:
        return min(self._added, len(self._ring))


@dataclass
class StatsSnapshot:
    fps: float
    latency_ms: float
    latency_p95_ms: float
    frames_captured: int
    frames_processed: int
    frames_output: int
    dropped_before_processing: int
    dropped_before_output: int
    stage_ms: dict[str, tuple[float, float]]
    """Per stage: (median, p95) ms."""
    process_ms: tuple[float, float]
    errors: dict[str, int]

    @property
    def dropped(self) -> int:
        return self.dropped_before_processing + self.dropped_before_output

    def status_line(self) -> str:
        latency = "  -- " if math.isnan(self.latency_ms) else f"{self.latency_ms:5.1f}"
        return (
            f"{self.fps:5.1f} fps | latency {latency} ms | "
            f"processed {self.frames_processed} | dropped {self.dropped}"
            + (f" | errors {sum(self.errors.values())}" if self.errors else "")
        )


FPS_WINDOW = 120
"""Output timestamps the live fps figure looks at (about 4 s at 30 fps)."""


@dataclass
class EngineStats:
    window: int = 600
    """Samples kept per measure (the last ``window`` frames)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    stage: dict[str, Rolling] = field(default_factory=dict)
    process: Rolling = field(init=False)
    latency: Rolling = field(init=False)
    output_times: Rolling = field(init=False)
    """Monotonic times of output frames (seconds), for the fps figures."""
    frames_captured: int = 0
    frames_processed: int = 0
    frames_output: int = 0
    dropped_before_processing: int = 0
    dropped_before_output: int = 0
    capture_cpu_s: float = 0.0
    """CPU time (s) the capture thread has spent so far: reading the source (a camera's decode,
    the demo's warp) and handing frames on. Written by that thread alone, once a frame."""
    errors: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.window = max(2, min(int(self.window), MAX_WINDOW))
        self.process = Rolling(self.window)
        self.latency = Rolling(self.window)
        self.output_times = Rolling(self.window)

    def add_stage(self, name: str, ms: float) -> None:
        with self.lock:
            ring = self.stage.get(name)
            if ring is None:
                # Made once per name: ``setdefault(name, Rolling(...))`` built (and filled) a
                # ring of ``window`` samples on every call, 8 a Studio frame.
                ring = self.stage[name] = Rolling(self.window)
            ring.add(ms)

    def add_process(self, ms: float) -> None:
        with self.lock:
            self.process.add(ms)

    def add_output(self, capture_ts: float | None, now: float | None = None) -> None:
        """Count a frame output at ``now``; ``capture_ts`` None: it has no capture time (a
        media-time stamp), and no latency is counted for it."""
        now = time.monotonic() if now is None else now
        with self.lock:
            if capture_ts is not None:
                self.latency.add((now - capture_ts) * 1000.0)
            self.output_times.add(now)
            self.frames_output += 1

    def add_error(self, name: str) -> int:
        """Count one failure of ``name``; returns its count so far."""
        with self.lock:
            count = self.errors[name] = self.errors.get(name, 0) + 1
            return count

    def fps(self, last: int = FPS_WINDOW) -> float:
        """Output frames per second over the last ``last`` output frames."""
        with self.lock:
            times = self.output_times.last(last)
        return _rate(times)

    def throughput(self, skip: int = 0) -> float:
        """Output frames per second over every kept output frame but the first ``skip`` of
        the run."""
        with self.lock:
            times = self.output_times.since(skip)
        return _rate(times)

    def snapshot(self) -> StatsSnapshot:
        fps = self.fps()
        with self.lock:
            return StatsSnapshot(
                fps=fps,
                latency_ms=self.latency.median,
                latency_p95_ms=self.latency.p95,
                frames_captured=self.frames_captured,
                frames_processed=self.frames_processed,
                frames_output=self.frames_output,
                dropped_before_processing=self.dropped_before_processing,
                dropped_before_output=self.dropped_before_output,
                stage_ms={k: (v.median, v.p95) for k, v in self.stage.items()},
                process_ms=(self.process.median, self.process.p95),
                errors=dict(self.errors),
            )


def _rate(times: np.ndarray) -> float:
    if len(times) < 2:
        return 0.0
    span = times[-1] - times[0]
    return (len(times) - 1) / span if span > 0 else 0.0
