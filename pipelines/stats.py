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


LIVE_WINDOW_S = 2.0
"""The live figures (:meth:`EngineStats.snapshot`: the status line, the window's status bar)
cover the frames output in the last this many seconds before the newest. They covered the
last 120 frames (fps) and 600 (latency): 17 s and over a minute at the 7 fps of a machine busy
past its cores, so the window still showed 12 fps while it painted 7 a second, and a run ended
with "30.0 fps, latency 12 ms" after 40 s of 14-18 fps (qa9, 2026-12-07)."""
LATENCY_BIN_MS = 1.0
LATENCY_BINS = 10_000
"""A run's latencies are also counted in 1 ms bins up to 10 s (the last bin holds the rest)
for the run's median in its last line, whatever the number of frames (80 KB)."""


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
    output_latency: Rolling = field(init=False)
    """Each output frame's latency (ms; NaN where it has no capture time), beside
    :attr:`output_times`, for the live latency."""
    latency_counts: np.ndarray = field(init=False)
    """The run's latencies in :data:`LATENCY_BIN_MS` bins."""
    first_output_at: float | None = None
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
        self.output_latency = Rolling(self.window)
        self.latency_counts = np.zeros(LATENCY_BINS, np.int64)

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
            latency = math.nan
            if capture_ts is not None:
                latency = (now - capture_ts) * 1000.0
                self.latency.add(latency)
                self.latency_counts[
                    min(max(0, int(latency / LATENCY_BIN_MS)), LATENCY_BINS - 1)
                ] += 1
            self.output_times.add(now)
            self.output_latency.add(latency)
            if self.first_output_at is None:
                self.first_output_at = now
            self.frames_output += 1

    def add_error(self, name: str) -> int:
        """Count one failure of ``name``; returns its count so far."""
        with self.lock:
            count = self.errors[name] = self.errors.get(name, 0) + 1
            return count

    def _live(self, window_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(Output times, their latencies) of the frames output in the last ``window_s``
        before the newest. Under the lock."""
        times = self.output_times.samples
        latency = self.output_latency.samples
        if not len(times):
            return times, latency
        keep = times >= times[-1] - window_s
        return times[keep], latency[keep]

    def fps(self, window_s: float = LIVE_WINDOW_S) -> float:
        """Output frames per second over the frames output in the last ``window_s`` seconds
        before the newest."""
        with self.lock:
            times, _ = self._live(window_s)
        return _rate(times)

    def run_fps(self) -> float:
        """Output frames per second from the run's first output frame to its newest."""
        with self.lock:
            first, count = self.first_output_at, self.frames_output
            newest = self.output_times.last(1)
        if first is None or count < 2 or not len(newest) or newest[0] <= first:
            return 0.0
        return (count - 1) / float(newest[0] - first)

    def run_latency_ms(self) -> float:
        """The run's median latency (to :data:`LATENCY_BIN_MS`); NaN before any."""
        with self.lock:
            counts = self.latency_counts.copy()
        total = int(counts.sum())
        if not total:
            return math.nan
        middle = int(np.searchsorted(np.cumsum(counts), (total + 1) / 2))
        return (middle + 0.5) * LATENCY_BIN_MS

    def throughput(self, skip: int = 0) -> float:
        """Output frames per second over every kept output frame but the first ``skip`` of
        the run."""
        with self.lock:
            times = self.output_times.since(skip)
        return _rate(times)

    def snapshot(self, whole_run: bool = False) -> StatsSnapshot:
        """The live figures (the last :data:`LIVE_WINDOW_S`); ``whole_run``: the frame rate
        and median latency of the whole run instead (its last line), p95 of the last
        ``window`` frames."""
        if whole_run:
            fps, latency = self.run_fps(), self.run_latency_ms()
        else:
            fps = self.fps()
            with self.lock:
                _, live = self._live(LIVE_WINDOW_S)
            live = live[~np.isnan(live)]
            latency = float(np.median(live)) if len(live) else math.nan
        with self.lock:
            return StatsSnapshot(
                fps=fps,
                latency_ms=latency,
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


KEEP_UP_SHARE = 0.75
"""A run falls behind when its live frame rate stays under this share of its source's rate
for :data:`KEEP_UP_HOLD_S`, and catches up again above :data:`CAUGHT_UP_SHARE` of it for as
long (apart, so that a rate near one line is not said again and again)."""
CAUGHT_UP_SHARE = 0.9
KEEP_UP_HOLD_S = 3.0
KEEP_UP_WARM_S = 5.0
"""Nothing is said for this long after the first frames: a start loads models and compiles
(the first frame came 19 s after the start beside six CPU hogs, 3 s alone)."""


@dataclass
class KeepUpWatch:
    """Says when the frames come out well under the source's rate, and when they are back: a
    machine busy past its cores (a game beside the call) took a Studio run to 4-10 fps of 30,
    latency 440-950 ms, with nothing said but the figures of the last line (qa9)."""

    target_fps: float
    """The source's rate (a camera's asked rate, the demo's, a video's own); 0: none known."""
    behind: bool = False
    _since: float | None = field(default=None, init=False)
    """When the live rate first crossed the line it would have to stay over to change
    :attr:`behind` (None: it is on the side :attr:`behind` says)."""
    _first: float | None = field(default=None, init=False)
    """When frames first came out."""

    def news(self, fps: float, now: float) -> str | None:
        """One line when the run falls behind or catches up (``fps``: the live rate at
        ``now``); None otherwise."""
        if self.target_fps <= 0 or fps <= 0:
            return None
        if self._first is None:
            self._first = now
        if now - self._first < KEEP_UP_WARM_S:
            return None
        crossed = (
            fps >= CAUGHT_UP_SHARE * self.target_fps
            if self.behind
            else (fps < KEEP_UP_SHARE * self.target_fps)
        )
        if not crossed:
            self._since = None
            return None
        if self._since is None:
            self._since = now
        if now - self._since < KEEP_UP_HOLD_S:
            return None
        self.behind, self._since = not self.behind, None
        if self.behind:
            return (
                f"frames come out at {fps:.0f} fps of the source's {self.target_fps:g}: this "
                "machine is too busy for the preset (other programs, or too heavy a preset "
                "for it); a lighter preset, a smaller --size or closing the busy programs helps"
            )
        return f"frames come out at {fps:.0f} fps again (the source's {self.target_fps:g})"
