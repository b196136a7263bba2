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
