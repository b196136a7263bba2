"""Rolling statistics the engine keeps for the status line, the GUI and ``camfx bench``."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


class Rolling:
    """The last ``size`` samples of one measure (ms)."""

    def __init__(self, size: int = 600) -> None:
        self.samples: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        self.samples.append(value)

    def percentile(self, q: float) -> float:
        """NaN when there is no sample yet."""
        values = list(self.samples)  # a copy: another thread may append meanwhile
        if not values:
            return float("nan")
        return float(np.percentile(np.asarray(values, dtype=float), q))

    @property
    def median(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    def __len__(self) -> int:
        return len(self.samples)


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
    output_times: deque[float] = field(init=False)
    frames_captured: int = 0
    frames_processed: int = 0
    frames_output: int = 0
    dropped_before_processing: int = 0
    dropped_before_output: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.window = max(2, int(self.window))
        self.process = Rolling(self.window)
        self.latency = Rolling(self.window)
        self.output_times = deque(maxlen=self.window)

    def add_stage(self, name: str, ms: float) -> None:
        with self.lock:
            self.stage.setdefault(name, Rolling(self.window)).add(ms)

    def add_process(self, ms: float) -> None:
        with self.lock:
            self.process.add(ms)

    def add_output(self, capture_ts: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            self.latency.add((now - capture_ts) * 1000.0)
            self.output_times.append(now)
            self.frames_output += 1

    def add_error(self, name: str) -> int:
        """Count one failure of ``name``; returns its count so far."""
        with self.lock:
            count = self.errors[name] = self.errors.get(name, 0) + 1
            return count

    def fps(self, last: int = FPS_WINDOW) -> float:
        """Output frames per second over the last ``last`` output frames."""
        with self.lock:
            times = list(self.output_times)[-last:]
        return _rate(times)

    def throughput(self, skip: int = 0) -> float:
        """Output frames per second over every kept output frame but the first ``skip``."""
        with self.lock:
            times = list(self.output_times)[skip:]
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


def _rate(times: list[float]) -> float:
    if len(times) < 2:
        return 0.0
    span = times[-1] - times[0]
    return (len(times) - 1) / span if span > 0 else 0.0
