"""Derived per-face signals: mouth openness, eye openness and blink, gaze, attention.

All measures are ratios of landmark distances (so they hold at any face size) mapped to
0..1 between a "closed" and an "open" reference taken from the mesh's typical range.
Distances are 3-D (the mesh's z is on the scale of x), so a turned head does not shrink an
eye's width and read as wide open: at 54° yaw the far eye's 2-D ratio is 0.74, its 3-D one
0.29, against 0.35 for both eyes of a frontal face.

Gaze is where the irises sit inside the eye openings, averaged over both eyes: x in −1..1
(positive: towards the image's right), y in −1..1 (positive: up). It is eye-in-head
direction, independent of head pose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.tracking.geometry import facing_angle

UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
# Per eye (subject's side): outer corner, inner corner, upper lid, lower lid, iris centre.
RIGHT_EYE = (33, 133, 159, 145, 468)
LEFT_EYE = (263, 362, 386, 374, 473)

MOUTH_CLOSED_RATIO = 0.02
"""Inner-lip gap / eye-corner distance below which the mouth counts as closed."""
MOUTH_OPEN_RATIO = 0.40
"""... and at which it counts as fully open (a wide yawn)."""
EYE_CLOSED_RATIO = 0.10
"""Lid gap / eye width of a closed eye on this mesh (the lid points never quite meet)."""
EYE_OPEN_RATIO = 0.28
BLINK_THRESHOLD = 0.35
"""Both eyes' openness below this: a blink."""
IRIS_RANGE_X = 0.30
"""Iris offset from the eye centre, in eye widths, that counts as looking fully sideways."""
IRIS_RANGE_Y = 0.12


def _ramp(value: float, lo: float, hi: float) -> float:
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def _dist(lm: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(lm[a, :3].astype(np.float64) - lm[b, :3]))


def mouth_open(lm: np.ndarray) -> float:
    gap = _dist(lm, UPPER_INNER_LIP, LOWER_INNER_LIP)
    ref = _dist(lm, RIGHT_EYE_OUTER, LEFT_EYE_OUTER)
    return _ramp(gap / max(ref, 1e-6), MOUTH_CLOSED_RATIO, MOUTH_OPEN_RATIO)


def eye_open(lm: np.ndarray, eye: tuple[int, ...]) -> float:
    outer, inner, upper, lower, _ = eye
    width = _dist(lm, outer, inner)
    gap = _dist(lm, upper, lower)
    return _ramp(gap / max(width, 1e-6), EYE_CLOSED_RATIO, EYE_OPEN_RATIO)


def _iris_offset(lm: np.ndarray, eye: tuple[int, ...]) -> tuple[float, float]:
    """Iris centre relative to the eye's centre in the eye's own frame, in eye widths."""
    outer, inner, upper, lower, iris = eye
    a, b = lm[outer, :2].astype(np.float64), lm[inner, :2].astype(np.float64)
    axis = b - a
    width = float(np.linalg.norm(axis))
    if width < 1e-6 or lm.shape[0] <= iris:
        return 0.0, 0.0
    ex = axis / width
    if ex[0] < 0:  # point x towards the image's right whichever eye this is
        ex = -ex
    ey = np.array([ex[1], -ex[0]])  # 90° counter-clockwise on screen: "up"
    centre = (a + b) / 2.0
    centre_y = (lm[upper, :2] + lm[lower, :2]) / 2.0
    d = lm[iris, :2] - centre
    dy = lm[iris, :2] - centre_y
    return float(d @ ex) / width, float(dy @ ey) / width


def gaze(lm: np.ndarray) -> tuple[float, float]:
    offsets = [_iris_offset(lm, eye) for eye in (RIGHT_EYE, LEFT_EYE)]
    x = float(np.mean([o[0] for o in offsets]))
    y = float(np.mean([o[1] for o in offsets]))
    return (
        float(np.clip(x / IRIS_RANGE_X, -1.0, 1.0)),
        float(np.clip(y / IRIS_RANGE_Y, -1.0, 1.0)),
    )


@dataclass
class AttentionState:
    """Hysteresis for the looking-away flag: it needs ``hold`` seconds either way."""

    away: bool = False
    since: float | None = None

    def update(self, candidate_away: bool, t: float, hold: float) -> bool:
        if candidate_away == self.away:
            self.since = None
            return self.away
        if self.since is None:
            self.since = t
        if t - self.since >= hold:
            self.away = candidate_away
            self.since = None
        return self.away


def face_signals(
    lm: np.ndarray,
    transform: np.ndarray | None,
    attention: AttentionState,
    t: float,
    *,
    away_angle: float,
    hold: float,
) -> dict[str, Any]:
    left = eye_open(lm, LEFT_EYE)
    right = eye_open(lm, RIGHT_EYE)
    facing = facing_angle(transform) if transform is not None else 0.0
    return {
        "mouth_open": mouth_open(lm),
        "eye_open_left": left,
        "eye_open_right": right,
        "blink": bool(max(left, right) < BLINK_THRESHOLD),
        "gaze": gaze(lm),
        "facing_angle": facing,
        "looking_away": attention.update(facing > away_angle, t, hold),
    }
