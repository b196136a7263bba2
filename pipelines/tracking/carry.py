"""Carrying a face's landmarks between face-mesh runs by the face's measured motion.

At 30 fps a face barely moves between frames, and the mesh (most of the tracker's cost) need
not run on every one. On a frame in between, the last mesh frame (the *key* frame) and this
frame are cropped with the same rotated ROI to small gray patches; corners found once on the
key patch, inside the face oval, are followed by pyramidal Lucas-Kanade flow (checked forward
and back), and a similarity (shift, rotation, scale) fitted to them moves the key frame's
landmarks. Flow always starts from the key frame, so errors do not add up over a carry.

The carry refuses (returns ``None``, and the mesh runs) whenever its estimate is doubtful:
too few corners follow both ways (something covers the face), the corners disagree with one
rigid motion (a head turn, a mouth opening, a hand passing), or the face moved or turned more
than a small amount since the key frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.tracking import regions
from pipelines.tracking.roi import Roi

PATCH_SIZE = 128
"""Side of the gray patches the flow runs on. The ROI is 1.5× the face, so a 720p webcam
face (130-300 px) is sampled at 0.6-1.4 patch px per image px."""
MAX_CORNERS = 32
MIN_CORNERS = 12
"""Fewer corners found on the key patch (a featureless or tiny face): no carry."""
CORNER_QUALITY = 0.01
CORNER_SPACING = 6
FLOW_WINDOW = (11, 11)
FLOW_LEVELS = 2
FLOW_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03)
# Both ways with 32 corners: 0.18 ms; 48 corners, a 15-px window and 20 iterations to
# 0.01 px cost 0.6-1.4 ms (a fifth of a mesh run) for no better carry on the test sequences.
BACK_ERROR_MAX = 0.3
"""Patch px: a corner whose flow, run back, misses its start by more is dropped."""
FOLLOWED_MIN = 0.8
"""Share of the key corners that must follow both ways (an occluder breaks this)."""
RESIDUAL_MAX = 0.35
"""Patch px, 90th percentile of the corners' distance from the fitted similarity: above it
the face does not move rigidly (a head turn, a mouth opening, a hand in front)."""
RESIDUAL_QUANTILE = 90
MOVE_MAX = 1.0
"""Patch px (0.8 % of the ROI side): the most the face's corners may have moved, on average,
since the key frame. The full-rate mesh's own output changes with its crop's placement, by
more as the face moves faster, and a carry cannot follow that: on the demo at 3× its motion
the carried frames' p95 gap to full-rate landmarks was 0.29 px up to 1.28 patch px per
frame and 0.57 px with the fastest frames (1.5 patch px) carried too. At 2× (75 frames,
tests/test_tracking_carry.py) 1.25 gave a median gap of 0.255 px (p95 0.452), 1.0 0.232
(p95 0.391) for 5 more mesh runs; at 1× it costs 2 mesh runs in 300 (107 -> 109)."""
CHECK_MARGIN = 1.5
"""The photometric check covers the face oval scaled by this about its centre."""
BLOCK = 4
"""Patch px per cell of the photometric check (a 4×4 mean cuts sensor noise by 4)."""
CHANGE_MAX = 12.0
"""8-bit levels: a face cell whose mean differs more from the key frame moved by the fitted
motion has changed otherwise (a blink, the mouth, a hand, a light): no carry. Sensor noise
of σ = 4 levels gives cell differences of σ ≈ 1.4."""


@dataclass
class KeyFrame:
    """What a carry starts from: one mesh frame's patch, corners and landmarks."""

    roi: Roi
    to_patch: np.ndarray
    """3×3 image → patch affine of ``roi``."""
    from_patch: np.ndarray
    """Its inverse (patch → image)."""
    patch: np.ndarray
    corners: np.ndarray
    """N×1×2 float32 patch coordinates."""
    mask: np.ndarray
    """PATCH_SIZE/BLOCK square bool: the cells the photometric check compares (the face oval
    scaled by CHECK_MARGIN)."""
    landmarks: np.ndarray
    """478×3 image pixels, as the mesh gave them."""


def _gray_patch(bgr: np.ndarray, to_patch: np.ndarray) -> np.ndarray:
    """The gray patch through the 3×3 image → patch affine ``to_patch``, sampled as
    :func:`pipelines.tracking.roi.crop` samples (the key frame's matrix, made once)."""
    patch = cv2.warpAffine(
        bgr, to_patch[:2], (PATCH_SIZE, PATCH_SIZE), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear, its rounding) of a short 1-D array by one sort:
    2 µs where NumPy's general path took 30-70."""
    s = np.sort(values).tolist()
    index = (len(s) - 1) * (q / 100.0)
    lo = math.floor(index)
    hi = min(lo + 1, len(s) - 1)
    t = index - lo
    a, b = s[lo], s[hi]
    # NumPy's _lerp: from the nearer end, so that t = 1 gives b exactly.
    return b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t


def _row_norms(d: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", d, d))


def make_key(bgr: np.ndarray, roi: Roi, landmarks: np.ndarray) -> KeyFrame | None:
    """The key frame for carries after a mesh run on ``bgr`` (``None`` when the face has too
    few trackable corners, or ``roi`` or ``landmarks`` are not finite: OpenCV reads outside
    the image through a NaN matrix)."""
    if not roi.usable or not np.isfinite(landmarks).all():
        return None
    to_patch = np.vstack([roi.image_to_tensor(PATCH_SIZE, PATCH_SIZE), [0.0, 0.0, 1.0]])
    patch = _gray_patch(bgr, to_patch)
    oval = landmarks[list(regions.FACE_OVAL), :2].astype(np.float64)
    oval_patch = oval @ to_patch[:2, :2].T + to_patch[:2, 2]
    mask = np.zeros((PATCH_SIZE, PATCH_SIZE), np.uint8)
    cv2.fillPoly(mask, [np.round(oval_patch).astype(np.int32)], 255)
    corners = cv2.goodFeaturesToTrack(
        patch, MAX_CORNERS, CORNER_QUALITY, CORNER_SPACING, mask=mask, blockSize=5
    )
    # The photometric check watches a margin around the face too: the mesh sees its whole
    # crop, and a hand entering it moved the full-rate landmarks by 0.5-0.8 px before it
    # reached the oval.
    centre = oval_patch.mean(axis=0)
    wide = (oval_patch - centre) * CHECK_MARGIN + centre
    cv2.fillPoly(mask, [np.round(wide).astype(np.int32)], 255)
    if corners is None or len(corners) < MIN_CORNERS:
        return None
    cells = PATCH_SIZE // BLOCK
    inside = cv2.resize(mask, (cells, cells), interpolation=cv2.INTER_AREA) > 0
    from_patch = np.linalg.inv(to_patch)
    return KeyFrame(roi, to_patch, from_patch, patch, corners.astype(np.float32), inside, landmarks)


def _cells(patch: np.ndarray) -> np.ndarray:
    cells = PATCH_SIZE // BLOCK
    return cv2.resize(patch, (cells, cells), interpolation=cv2.INTER_AREA)


def carry(key: KeyFrame, bgr: np.ndarray) -> np.ndarray | None:
    """The key frame's landmarks moved to ``bgr`` by the face's rigid motion, or ``None``
    when that motion is doubtful (see the module's docstring)."""
    patch = _gray_patch(bgr, key.to_patch)
    p0 = key.corners
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(
        key.patch, patch, p0, None, winSize=FLOW_WINDOW, maxLevel=FLOW_LEVELS,
        criteria=FLOW_CRITERIA,
    )  # fmt: skip
    back, st2, _ = cv2.calcOpticalFlowPyrLK(
        patch, key.patch, p1, None, winSize=FLOW_WINDOW, maxLevel=FLOW_LEVELS,
        criteria=FLOW_CRITERIA,
    )  # fmt: skip
    # OpenCV's statuses are 0 or 1: their AND, viewed as bool, is "followed both ways".
    ok = np.bitwise_and(st1, st2)[:, 0].view(np.bool_)
    ok &= _row_norms((back - p0)[:, 0]) <= BACK_ERROR_MAX
    if np.count_nonzero(ok) < max(MIN_CORNERS, FOLLOWED_MIN * len(p0)):
        return None
    src, dst = p0[ok, 0].astype(np.float64), p1[ok, 0].astype(np.float64)
    fit, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if fit is None:
        return None
    moved_src = src @ fit[:, :2].T + fit[:, 2]
    if _percentile(_row_norms(moved_src - dst), RESIDUAL_QUANTILE) > RESIDUAL_MAX:
        return None
    if _row_norms(moved_src - src).mean() > MOVE_MAX:
        return None
    moved = cv2.warpAffine(key.patch, fit, (PATCH_SIZE, PATCH_SIZE), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    # |a - b| of the uint8 cells, exactly (no int16 copies; a uint8 subtraction would wrap).
    change = cv2.absdiff(_cells(moved), _cells(patch))[key.mask]
    if change.size == 0 or change.max() > CHANGE_MAX:
        return None
    # Patch motion → image motion: back to the image after the patch's similarity.
    patch_move = np.empty((3, 3))
    patch_move[:2] = fit
    patch_move[2] = (0.0, 0.0, 1.0)
    move = key.from_patch @ patch_move @ key.to_patch
    lm = key.landmarks
    out = np.empty_like(lm)
    out[:, :2] = lm[:, :2] @ move[:2, :2].T.astype(np.float32) + move[:2, 2].astype(np.float32)
    out[:, 2] = lm[:, 2] * np.float32(math.hypot(fit[0, 0], fit[1, 0]))
    return out
