"""The live figures (the status line, the window's status bar) say what the engine does now,
and a run's last line what it did over the run (qa9: a busy machine's 7 fps read as 12 in the
window, and a run ended with "30.0 fps, latency 12 ms" after 40 s of 14-18 fps)."""

from __future__ import annotations

import pytest

from pipelines.stats import KEEP_UP_HOLD_S, KEEP_UP_WARM_S, LIVE_WINDOW_S, EngineStats, KeepUpWatch

pytestmark = pytest.mark.clock_free


def _run(spells: list[tuple[float, float, float]]) -> EngineStats:
    """Output frames for each (seconds, fps, latency ms) spell in turn, on a made-up clock."""
    stats = EngineStats()
    now = 100.0
    for seconds, fps, latency_ms in spells:
        for _ in range(round(seconds * fps)):
            now += 1 / fps
            stats.add_output(capture_ts=now - latency_ms / 1000, now=now)
    return stats


def test_the_live_figures_follow_a_slow_spell_at_once() -> None:
    """30 s at 30 fps and 12 ms, then 4 s at 7 fps and 400 ms: the live figures are the slow
    spell's (on main the fps covered 120 frames, 16.8 fps here, and the latency 600, 12 ms)."""
    snap = _run([(30, 30, 12), (4, 7, 400)]).snapshot()
    assert snap.fps == pytest.approx(7, rel=0.01)
    assert snap.latency_ms == pytest.approx(400, abs=1)


def test_the_live_figures_recover_with_the_machine() -> None:
    snap = _run([(30, 7, 400), (LIVE_WINDOW_S + 0.5, 30, 12)]).snapshot()
    assert snap.fps == pytest.approx(30, rel=0.01)
    assert snap.latency_ms == pytest.approx(12, abs=1)


def test_a_run_s_last_line_covers_the_whole_run() -> None:
    """40 s at 30 fps and 12 ms with 40 s at 15 fps and 300 ms between: the run's figures are
    both spells', not the last seconds' (30 fps and 12 ms on main)."""
    stats = _run([(20, 30, 12), (40, 15, 300), (20, 30, 12)])
    whole = stats.snapshot(whole_run=True)
    frames = 20 * 30 + 40 * 15 + 20 * 30
    assert whole.fps == pytest.approx((frames - 1) / 80, rel=0.01)
    assert whole.latency_ms == pytest.approx(12, abs=1)  # 1,200 of 1,800 frames at 12 ms
    slow = _run([(20, 30, 12), (60, 15, 300), (10, 30, 12)]).snapshot(whole_run=True)
    assert slow.latency_ms == pytest.approx(300, abs=1)  # 900 of 1,800 at 12 ms: the middle


def _said(watch: KeepUpWatch, spells: list[tuple[float, float]]) -> list[tuple[float, str]]:
    """What ``watch`` says polled twice a second through (seconds, live fps) spells."""
    said, now = [], 0.0
    for seconds, fps in spells:
        for _ in range(round(seconds * 2)):
            now += 0.5
            news = watch.news(fps, now)
            if news:
                said.append((now, news))
    return said


def test_a_run_that_falls_behind_is_told_once_and_when_it_is_back() -> None:
    said = _said(KeepUpWatch(30.0), [(10, 30), (2, 12), (10, 30), (10, 7), (2, 29), (10, 30)])
    assert [line.split(" fps")[0] for _, line in said] == [
        "frames come out at 7",
        "frames come out at 30",
    ]
    assert "this machine is too busy" in said[0][1] and "again" in said[1][1]
    assert said[0][0] == pytest.approx(22 + KEEP_UP_HOLD_S, abs=0.5)  # the 2 s dip: nothing


def test_nothing_is_said_while_starting_or_without_a_pace() -> None:
    assert _said(KeepUpWatch(30.0), [(KEEP_UP_WARM_S, 3)]) == []
    assert _said(KeepUpWatch(0.0), [(20, 3)]) == []
