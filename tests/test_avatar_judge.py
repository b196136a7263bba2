"""Issue 13's judge separates the audio's part of the loudness r from the render's and the
tracker's (pipelines/avatar/judge.py, :func:`tracked_against_asked`).

The loudness r of the tracked opening mixes two causes: what the animator asks for (its own r
against the loudness, ``commanded_r``) and how much of that the render and the tracker pass on.
The second figure reads the tracked opening against the asked one in the same frames, over the
same speech span as the loudness r. Synthetic tracks, no render: these run in milliseconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.avatar.judge import Clip, ClipFigures, tracked_against_asked
from pipelines.avatar.measure import FPS

pytestmark = pytest.mark.clock_free

FRAMES = 150
SPEECH = ((1.0, 1.4), (1.4, 3.5), (3.6, 4.0))
"""Three phonemes from 1.0 s to 4.0 s: the span is frames 30 … 119."""
FACE_HEIGHTS_PER_WEIGHT = 0.15
"""A plausible tracked opening per unit of the jaw basis's weight (the frontal tuning
portraits read 0.15 face heights at weight 1)."""
EXACT = 1e-9
"""A tracked track that is the asked one scaled reads r 1 to rounding."""


def _clip() -> Clip:
    return Clip("synthetic", np.zeros(int(FRAMES / FPS * 16000), np.float32), SPEECH)


def _asked(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.uniform(-0.2, 1.0, FRAMES), 0.0, 1.0)


def test_a_faithful_reading_is_one() -> None:
    asked = _asked()
    tracked = FACE_HEIGHTS_PER_WEIGHT * asked + 0.004
    assert tracked_against_asked(_clip(), tracked, asked) == pytest.approx(1.0, abs=EXACT)


def test_only_the_speech_span_counts_and_lost_frames_are_left_out() -> None:
    """Frames before the first word and after the last (the lead-in and tail silences) and
    frames the tracker lost change nothing: the loudness r is read over the same span."""
    asked = _asked()
    tracked = FACE_HEIGHTS_PER_WEIGHT * asked
    t = np.arange(FRAMES) / FPS
    outside = (t < SPEECH[0][0]) | (t >= SPEECH[-1][1])
    tracked[outside] = np.random.default_rng(1).uniform(0.0, 0.2, int(outside.sum()))
    tracked[[40, 41, 90]] = np.nan
    assert tracked_against_asked(_clip(), tracked, asked) == pytest.approx(1.0, abs=EXACT)


def test_a_noisy_reading_is_the_share_kept() -> None:
    """Tracker noise as large as the asked motion's own spread keeps r near 1/√2."""
    asked = _asked()
    span = slice(30, 120)
    noise = np.random.default_rng(2).normal(0.0, 1.0, FRAMES)
    noise *= np.std(asked[span]) / np.std(noise[span])
    tracked = asked + noise
    r = tracked_against_asked(_clip(), tracked, asked)
    assert 0.55 <= r <= 0.85, r


def test_nothing_to_read_is_nan() -> None:
    asked = _asked()
    assert np.isnan(tracked_against_asked(_clip(), np.full(FRAMES, np.nan), asked))
    assert np.isnan(tracked_against_asked(_clip(), np.full(FRAMES, 0.01), asked))
    silent = Clip("silent", np.zeros(16000, np.float32), ())
    assert np.isnan(tracked_against_asked(silent, asked, asked))


def test_the_judges_line_carries_it() -> None:
    figs = ClipFigures("portrait", "clip", tracked_asked_r=0.918, commanded_r=0.829)
    assert "tracked~asked r 0.92" in figs.line()
    assert "asked: r 0.83" in figs.line()
