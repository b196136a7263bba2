"""Long runs stay flat (issue 12 §5): bounded statistics buffers and ``camfx bench --soak``."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from pipelines.soak import PER_FRAMES, ProcessSample, format_soak, slopes_per_10k, soak_report
from pipelines.stats import MAX_WINDOW, EngineStats, Rolling

SOAK_FRAMES = 20_000
SOAK_ARGS = ("--preset", "off", "--size", "320x240", "--json")
STATS_GROWTH_MAX_KB = 64
"""Python allocations while 20,000 frames' figures are added, once every measure exists.
Before the ring buffers: ~32 bytes per sample and measure, over 3 MB here."""


def test_rolling_keeps_the_last_samples_in_order() -> None:
    r = Rolling(5)
    assert len(r) == 0 and np.isnan(r.median) and len(r.samples) == 0
    for v in range(1, 4):
        r.add(float(v))
    assert list(r.samples) == [1.0, 2.0, 3.0] and r.median == 2.0
    for v in range(4, 13):
        r.add(float(v))
    assert r.added == 12 and len(r) == 5 and r.capacity == 5
    assert list(r.samples) == [8.0, 9.0, 10.0, 11.0, 12.0]
    assert list(r.last(2)) == [11.0, 12.0]
    # since(): running numbers, not positions in the ring.
    assert list(r.since(10)) == [11.0, 12.0]
    assert list(r.since(3)) == list(r.samples)  # 3..6 are gone already
    assert len(r.since(12)) == 0
    assert r.p95 == pytest.approx(float(np.percentile([8, 9, 10, 11, 12], 95)))


def test_windows_are_capped() -> None:
    assert Rolling(10**9).capacity == MAX_WINDOW
    assert Rolling(0).capacity == 1
    stats = EngineStats(window=SOAK_FRAMES + 10)
    assert stats.window == MAX_WINDOW
    assert stats.latency.capacity == stats.output_times.capacity == MAX_WINDOW


def test_a_stages_ring_is_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stage timer's ring is made on its first sample only (a ring of ``window`` samples
    made and dropped on every call cost 3-4 µs, 8 times a Studio frame), and keeps them all."""
    import pipelines.stats as stats_module

    made: list[int] = []

    class Counted(Rolling):
        def __init__(self, size: int = 600) -> None:
            made.append(size)
            super().__init__(size)

    monkeypatch.setattr(stats_module, "Rolling", Counted)
    stats = stats_module.EngineStats(window=50)
    made.clear()
    for i in range(10):
        stats.add_stage("face_tracker", float(i))
        stats.add_stage("face_tracker/mesh", 2.0 * i)
    assert made == [50, 50]
    assert list(stats.stage["face_tracker"].samples) == [float(i) for i in range(10)]
    assert list(stats.stage["face_tracker/mesh"].samples) == [2.0 * i for i in range(10)]


def test_stats_memory_does_not_grow_with_frames() -> None:
    stats = EngineStats(window=SOAK_FRAMES + 10)  # what `bench --frames 20000` asks for
    names = ["face-tracker", "background-blur", "light", "retouch"]

    def frame(i: int) -> None:
        for name in names:
            stats.add_stage(name, 1.0 + i % 7)
        stats.add_process(5.0 + i % 3)
        stats.add_output(capture_ts=i / 30.0, now=i / 30.0 + 0.02)

    frame(0)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for i in range(1, SOAK_FRAMES):
            frame(i)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (after - before) / 1024 < STATS_GROWTH_MAX_KB
    # The summaries still see the last MAX_WINDOW frames.
    assert len(stats.process) == MAX_WINDOW and stats.frames_output == SOAK_FRAMES
    assert stats.throughput(skip=10) == pytest.approx(30.0)
    assert stats.fps() == pytest.approx(30.0)
    snap = stats.snapshot()
    assert snap.stage_ms["light"][0] == pytest.approx(4.0)


def _samples(rss_per_frame: float, threads_at: int | None = None) -> list[ProcessSample]:
    out = []
    for frames in range(0, 20_001, 500):
        threads = 12 if threads_at is None or frames < threads_at else 13
        rss = 300.0 + rss_per_frame * frames + (50.0 if frames < 1000 else 0.0)  # warm-up
        out.append(ProcessSample(frames, frames / 60.0, rss, threads, 8))
    return out


def test_slopes_leave_out_the_warm_up() -> None:
    slopes = slopes_per_10k(_samples(8.5 / PER_FRAMES))
    assert slopes["rss_mb"] == pytest.approx(8.5)
    assert slopes["threads"] == pytest.approx(0.0) and slopes["handles"] == pytest.approx(0.0)
    flat = slopes_per_10k(_samples(0.0, threads_at=10_000))
    assert flat["rss_mb"] == pytest.approx(0.0, abs=1e-9)
    assert flat["threads"] > 0.5  # a thread that appears and stays shows up
    assert all(np.isnan(v) for v in slopes_per_10k(_samples(0.0)[:2]).values())
    report = soak_report(_samples(1.0 / PER_FRAMES))
    assert report["frames"] == 20_000 and report["per_10k_frames"]["rss_mb"] == 1.0
    text = format_soak(report)
    assert "resident memory (MB)" in text and "+1.000" in text and "-0.000" not in text


@pytest.mark.timeout(300)
def test_bench_soak_reports_slopes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--soak", "--frames", "1200", *SOAK_ARGS],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["frames"] == 1210  # --frames and the 10 warm-up frames
    assert report["samples"] >= 1 and report["throughput_fps"] > 0
    assert set(report["per_10k_frames"]) == {"rss_mb", "threads", "handles"}
    assert report["end"]["threads"] >= 3  # capture, process and output threads were running
    assert report["end"]["handles"] > 0 and report["end"]["rss_mb"] > 20
    text = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--help"], capture_output=True, text=True
    ).stdout
    assert "--soak" in text and "per 10,000 frames" in " ".join(text.split())
