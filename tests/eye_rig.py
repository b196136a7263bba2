"""The measuring stick of eye contact: a portrait's eyes turned by known angles.

It is the test's own, not the stage's warp (a stage measured with its own inverse proves
nothing). An eyeball of :data:`EYEBALL_RADIUS_CM` in an eye :data:`EYE_WIDTH_CM` wide moves
the iris ``radius/width · sin(angle)`` eye widths: 0.078 at 10°, 0.117 at 15°.

A real look down is the iris going down *and* the upper lid following it (lid-eye
coordination: the lid margin keeps about the same cover of the iris top), while the lower lid
stays: the iris bottom slides *under* it. So, per eye, everything between the upper lid's
crease and the lower lid slides down by the iris's move (fading to nothing toward the corners
and above the crease), and the lower lid occludes what passes it (a hard edge there, one pixel
of antialiasing). Sideways, the opening's content slides and is gathered toward the far corner.

The old stick (the stage's own ``warp_eye``) squeezed the iris bottom between its centre and the
lower lid instead: the iris's top moved, its bottom did not, and a tracker saw half the move.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipelines.effects.eye_contact import EYE_WIDTH_CM, EYEBALL_RADIUS_CM, EYES, eye_frame

LID_REACH = 0.3
"""How far above the upper lid (eye widths, mid-lid) the skin goes along with a look down."""
FLAT = 0.45
"""Share of the half-width around the eye's middle that moves fully (the iris is ~0.44)."""


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    out: np.ndarray = x * x * (3.0 - 2.0 * x)
    return out


def iris_shift(degrees: float, width: float) -> float:
    """Pixels an iris moves in an eye ``width`` pixels wide for a gaze of ``degrees``."""
    return EYEBALL_RADIUS_CM / EYE_WIDTH_CM * math.sin(math.radians(degrees)) * width


def turn_eyes(
    image: np.ndarray, landmarks: np.ndarray, axis: tuple[float, float], degrees: float
) -> np.ndarray:
    """``image`` with both eyes turned ``degrees`` along ``axis`` (image x right, y down), the
    eyes placed by ``landmarks`` (the face mesh of ``image``, pixels)."""
    lm = np.asarray(landmarks, np.float64)
    out = image.astype(np.float32)
    src = image.astype(np.float32)
    h, w = image.shape[:2]
    for eye in EYES:
        f = eye_frame(lm, eye[0], eye[1])
        shift = iris_shift(degrees, f.width) * np.asarray(axis, np.float64)
        along, across = float(shift @ f.right), float(shift @ f.down)
        ring = lm[list(eye[5]), :2]
        half = f.width / 2.0
        grown = ring.copy()
        t = np.sin(np.linspace(0.0, np.pi, 9)[1:8])
        grown[1:8] -= LID_REACH * f.width * t[:, None] * f.down
        pad = math.ceil(abs(along) + abs(across)) + 4
        x0 = max(0, math.floor(grown[:, 0].min()) - pad)
        y0 = max(0, math.floor(grown[:, 1].min()) - pad)
        x1 = min(w, math.ceil(grown[:, 0].max()) + pad + 1)
        y1 = min(h, math.ceil(grown[:, 1].max()) + pad + 1)
        gx, gy = np.meshgrid(
            np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64)
        )
        rx, ry = gx - f.centre[0], gy - f.centre[1]
        u = rx * f.right[0] + ry * f.right[1]
        v = rx * f.down[0] + ry * f.down[1]
        # Full over the middle, fading to the corners.
        fade_len = max(half * (1.0 - FLAT), abs(along) / 0.8, abs(across) / 0.8)
        flat = _smooth((half - np.abs(u)) / fade_len)
        # The upper lid's margin at each u, and the skin above it to the crease.
        up = ring[1:8] - f.centre
        up_u, up_v = up @ f.right, up @ f.down
        order = np.argsort(up_u)
        upper_v = np.interp(u, up_u[order], up_v[order])
        reach = LID_REACH * f.width * np.sin(np.clip((u + half) / f.width, 0, 1) * np.pi)
        above = _smooth((v - (upper_v - reach)) / np.maximum(reach, 1e-6))
        b_across = flat * above
        opening = np.zeros(gx.shape, np.uint8)
        pts = np.round((ring - [x0, y0]) * 16).astype(np.int32)
        cv2.fillPoly(opening, [pts], 255, lineType=cv2.LINE_AA, shift=4)
        b_along = flat * (opening.astype(np.float64) / 255.0)  # the lids stay: they occlude
        map_x = gx - across * f.down[0] * b_across - along * f.right[0] * b_along
        map_y = gy - across * f.down[1] * b_across - along * f.right[1] * b_along
        moved = cv2.remap(src, map_x.astype(np.float32), map_y.astype(np.float32),
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        region = np.zeros(gx.shape, np.uint8)
        pts = np.round((grown - [x0, y0]) * 16).astype(np.int32)
        cv2.fillPoly(region, [pts], 255, lineType=cv2.LINE_AA, shift=4)
        alpha = (region.astype(np.float32) / 255.0)[..., None]
        tile = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = alpha * moved + (1.0 - alpha) * tile
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
