"""Soak measurements (``camfx bench --soak``): this process's resident memory, threads and open
file descriptors sampled over a long run, and how fast each grows per 10,000 frames.

A leak shows as a slope well above the noise: resident memory that keeps rising after the
warm-up (models loaded, kernels compiled, buffers sized), threads or descriptors that are
never given back. The first :data:`WARMUP_FRACTION` of the run is left out of the fit.

psutil reads the figures on every OS (descriptors on POSIX, handles on Windows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelines.errors import CamfxError

PER_FRAMES = 10_000
"""Slopes are given per this many frames."""
WARMUP_FRACTION = 0.2
"""The first fifth of the run (model loading, JIT, caches filling) is not fitted."""
MIN_FIT_SAMPLES = 3


@dataclass(frozen=True)
class ProcessSample:
    frames: int
    seconds: float
    rss_mb: float
    threads: int
    handles: int
    """Open file descriptors (POSIX) or handles (Windows)."""


MEASURES = ("rss_mb", "threads", "handles")


def _process() -> Any:
    try:
        import psutil
    except ImportError as exc:
        raise CamfxError(
            f"--soak needs psutil to read memory, threads and descriptors ({exc}); "
            "pip install psutil (or reinstall camfx)"
        ) from None
    return psutil.Process()


@dataclass
class SoakSampler:
    """Call :meth:`sample` with the frame count as the run goes on; :meth:`report` fits."""

    samples: list[ProcessSample] = field(default_factory=list)
    _proc: Any = field(init=False, repr=False, default=None)
    _t0: float = field(init=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        self._proc = _process()
        self._t0 = time.monotonic()

    def sample(self, frames: int) -> ProcessSample:
        proc = self._proc
        with proc.oneshot():
            rss = proc.memory_info().rss / 2**20
            threads = proc.num_threads()
            handles = proc.num_fds() if hasattr(proc, "num_fds") else proc.num_handles()
        item = ProcessSample(
            int(frames), time.monotonic() - self._t0, round(rss, 2), int(threads), int(handles)
        )
        self.samples.append(item)
        return item

    def report(self) -> dict[str, Any]:
        return soak_report(self.samples)


def slopes_per_10k(
    samples: list[ProcessSample], warmup_fraction: float = WARMUP_FRACTION
) -> dict[str, float]:
    """Least-squares growth of each measure per :data:`PER_FRAMES` frames, over the samples
    after the warm-up. NaN when too few samples (or frames) remain to fit."""
    if not samples:
        return {m: float("nan") for m in MEASURES}
    last = samples[-1].frames
    fit = [s for s in samples if s.frames >= warmup_fraction * last]
    frames = np.array([s.frames for s in fit], np.float64)
    if len(fit) < MIN_FIT_SAMPLES or np.ptp(frames) <= 0:
        return {m: float("nan") for m in MEASURES}
    out = {}
    for measure in MEASURES:
        values = np.array([getattr(s, measure) for s in fit], np.float64)
        slope = np.polyfit(frames, values, 1)[0]
        out[measure] = float(slope * PER_FRAMES)
    return out


def soak_report(samples: list[ProcessSample]) -> dict[str, Any]:
    first, last = (samples[0], samples[-1]) if samples else (None, None)
    return {
        "samples": len(samples),
        "frames": last.frames if last else 0,
        "seconds": round(last.seconds, 1) if last else 0.0,
        "start": vars(first) if first else {},
        "end": vars(last) if last else {},
        "peak_rss_mb": max((s.rss_mb for s in samples), default=float("nan")),
        "per_10k_frames": {k: round(v, 3) + 0.0 for k, v in slopes_per_10k(samples).items()},
        "fitted_from_frame": int(WARMUP_FRACTION * last.frames) if last else 0,
    }


def format_soak(report: dict[str, Any]) -> str:
    start, end, slope = report["start"], report["end"], report["per_10k_frames"]
    names = {"rss_mb": "resident memory (MB)", "threads": "threads", "handles": "open files"}
    lines = [
        f"soak: {report['frames']} frames in {report['seconds']} s, "
        f"{report['samples']} samples; growth fitted from frame {report['fitted_from_frame']}",
        f"{'':<24}{'start':>10}{'end':>10}{'per 10k frames':>18}",
    ]
    for key, label in names.items():
        value = slope[key]
        shown = f"{value:>+18.3f}" if value == value else f"{'(run longer)':>18}"  # NaN
        lines.append(
            f"{label:<24}{start.get(key, float('nan')):>10}{end.get(key, float('nan')):>10}" + shown
        )
    return "\n".join(lines)
