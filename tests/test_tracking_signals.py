"""Derived signals on the canonical face with eyes closed, mouth opened and irises moved."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.tracking import signals as sig
from pipelines.tracking.geometry import canonical_face

PX_PER_CM = 15.0


@pytest.fixture()
def face() -> np.ndarray:
    v = canonical_face().vertices
    return np.stack([320 + v[:, 0] * PX_PER_CM, 240 - v[:, 1] * PX_PER_CM, -v[:, 2] * PX_PER_CM], 1)


def test_open_eyes_and_a_blink(face: np.ndarray) -> None:
    assert sig.eye_open(face, sig.LEFT_EYE) > 0.8 and sig.eye_open(face, sig.RIGHT_EYE) > 0.8
    closed = face.copy()
    for eye in (sig.LEFT_EYE, sig.RIGHT_EYE):
        _, _, upper, lower, _ = eye
        closed[upper] = closed[lower] + (closed[upper] - closed[lower]) * 0.2
    out = sig.face_signals(closed, None, sig.AttentionState(), 0.0, away_angle=30, hold=0)
    assert out["eye_open_left"] < 0.1 and out["eye_open_right"] < 0.1
    assert out["blink"] is True


def test_mouth_opening_is_monotonic(face: np.ndarray) -> None:
    values = []
    for drop_cm in (0.0, 0.5, 1.5, 4.0):
        opened = face.copy()
        opened[sig.LOWER_INNER_LIP, 1] += drop_cm * PX_PER_CM
        values.append(sig.mouth_open(opened))
    assert values == sorted(values) and values[-1] == 1.0 and values[0] < 0.2


def test_gaze_follows_the_irises(face: np.ndarray) -> None:
    x0, y0 = sig.gaze(face)
    assert abs(x0) < 0.05 and abs(y0) < 0.1
    right = face.copy()
    right[468:478, 0] += 0.4 * PX_PER_CM  # both irises towards the image's right
    up = face.copy()
    up[468:478, 1] -= 0.2 * PX_PER_CM
    assert sig.gaze(right)[0] > 0.5 and sig.gaze(up)[1] > 0.5


def test_looking_away_needs_the_hold_time() -> None:
    state = sig.AttentionState()
    assert state.update(True, 0.0, hold=1.0) is False
    assert state.update(True, 0.5, hold=1.0) is False
    assert state.update(True, 1.0, hold=1.0) is True
    assert state.update(False, 1.2, hold=1.0) is True  # back needs the hold too
    assert state.update(True, 1.3, hold=1.0) is True  # a glance back resets the timer
    assert state.update(False, 1.4, hold=1.0) is True
    assert state.update(False, 2.4, hold=1.0) is False


SIGNALS_ATOL = 1e-5
"""Plain-float signals against NumPy's on float32 landmarks: float32 rounding of the NumPy
version's intermediate points (measured 1.4e-6 on the demo)."""


def numpy_signals(lm: np.ndarray) -> dict[str, float]:
    """The signals as NumPy formulas over the landmark arrays (the reference)."""

    def dist(a: int, b: int) -> float:
        return float(np.linalg.norm(lm[a, :3].astype(np.float64) - lm[b, :3]))

    def ramp(v: float, lo: float, hi: float) -> float:
        return float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))

    def eye(e: tuple[int, ...]) -> float:
        return ramp(dist(e[2], e[3]) / dist(e[0], e[1]), sig.EYE_CLOSED_RATIO, sig.EYE_OPEN_RATIO)

    def iris(e: tuple[int, ...]) -> np.ndarray:
        a, b = lm[e[0], :2].astype(np.float64), lm[e[1], :2].astype(np.float64)
        ex = (b - a) / np.linalg.norm(b - a)
        ex = -ex if ex[0] < 0 else ex
        ey = np.array([ex[1], -ex[0]])
        d, dy = lm[e[4], :2] - (a + b) / 2, lm[e[4], :2] - (lm[e[2], :2] + lm[e[3], :2]) / 2
        return np.array([d @ ex, dy @ ey]) / np.linalg.norm(b - a)

    g = (iris(sig.RIGHT_EYE) + iris(sig.LEFT_EYE)) / 2 / [sig.IRIS_RANGE_X, sig.IRIS_RANGE_Y]
    mouth = dist(sig.UPPER_INNER_LIP, sig.LOWER_INNER_LIP) / dist(33, 263)
    return {
        "mouth_open": ramp(mouth, sig.MOUTH_CLOSED_RATIO, sig.MOUTH_OPEN_RATIO),
        "eye_open_left": eye(sig.LEFT_EYE),
        "eye_open_right": eye(sig.RIGHT_EYE),
        "gaze_x": float(np.clip(g[0], -1, 1)),
        "gaze_y": float(np.clip(g[1], -1, 1)),
    }


def test_signals_equal_the_numpy_formulas(face: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        lm = (face + rng.normal(0.0, 6.0, face.shape)).astype(np.float32)
        out = sig.face_signals(lm, None, sig.AttentionState(), 0.0, away_angle=30, hold=0)
        got = {k: out[k] for k in ("mouth_open", "eye_open_left", "eye_open_right")}
        got["gaze_x"], got["gaze_y"] = out["gaze"]
        want = numpy_signals(lm)
        assert got == pytest.approx(want, abs=SIGNALS_ATOL)
