"""One Euro filter: still input stays put, noise is reduced, motion passes, time is respected."""

from __future__ import annotations

import numpy as np

from pipelines.tracking.filters import OneEuroFilter

FPS = 30.0
NOISE_PX = 0.3  # the mesh's raw frame-to-frame jitter on a still face is about this
STILL_NOISE_REDUCTION = 3.0  # RMS of a still, noisy point shrinks at least this much
RAMP_LAG_FRAMES = 1.0


def test_constant_input_is_returned_exactly() -> None:
    f = OneEuroFilter(1.0, 0.1)
    x = np.array([[3.0, 4.0], [5.0, 6.0]])
    for i in range(10):
        out = f(x, i / FPS)
    assert np.allclose(out, x)


def test_still_noise_is_smoothed_and_a_ramp_is_followed() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter(0.6, 12.0)
    noisy = rng.normal(0, NOISE_PX, (300, 1, 2))
    out = np.array([f(p, i / FPS, scale=200.0).copy() for i, p in enumerate(noisy)])
    assert out[30:].std() * STILL_NOISE_REDUCTION < noisy[30:].std()

    g = OneEuroFilter(0.6, 12.0)
    speed = 300.0  # px/s, a brisk head move at 720p
    t = np.arange(60) / FPS
    ramp = np.stack([speed * t, np.zeros_like(t)], axis=1)[:, None, :]
    follow = np.array([g(p, ti, scale=200.0).copy() for p, ti in zip(ramp, t, strict=True)])
    lag_frames = (ramp[-1, 0, 0] - follow[-1, 0, 0]) / (speed / FPS)
    assert lag_frames <= RAMP_LAG_FRAMES


def test_time_gaps_and_repeats() -> None:
    f = OneEuroFilter(1.0, 0.0)
    f(np.array([0.0]), 0.0)
    f(np.array([0.0]), 1 / FPS)
    # A dropped frame is a longer step, smoothed by the same time constant.
    a = f(np.array([1.0]), 3 / FPS).copy()
    g = OneEuroFilter(1.0, 0.0)
    g(np.array([0.0]), 0.0)
    g(np.array([0.0]), 1 / FPS)
    b = g(np.array([1.0]), 2 / FPS).copy()
    assert a[0] > b[0]
    # The same timestamp again changes nothing; a long gap restarts.
    assert np.array_equal(f(np.array([5.0]), 3 / FPS), a)
    assert f(np.array([7.0]), 10.0)[0] == 7.0
    # Time running backwards (a new source) restarts too.
    assert f(np.array([2.0]), 1.0)[0] == 2.0


def test_the_shared_median_is_numpys() -> None:
    from pipelines.tracking.filters import _median

    rng = np.random.default_rng(2)
    for n in (1, 2, 7, 478):
        values = rng.random((n, 1))
        assert _median(values) == np.median(values)
