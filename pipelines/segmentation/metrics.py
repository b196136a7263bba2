"""Measures of mask quality used by the tests and by ``camfx analyze``.

Boundary edge error: how far, in pixels, the mask's outline lies from the nearest edge of the
frame. A mask that follows the person's real outline puts its 0.5 contour on the strong
brightness edges between person and background; a mask that was merely resized from 256×144
wanders a few pixels off them. Distances are capped (``cap``) so that parts of the outline
where the frame has no edge at all (a dark sleeve on a dark sofa) count the same for every
mask instead of dominating the mean.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

EDGE_CANNY_LOW = 40
EDGE_CANNY_HIGH = 120
EDGE_PRE_BLUR_SIGMA = 1.0
BOUNDARY_DISTANCE_CAP_PX = 10.0


def iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of ``a > threshold`` and ``b > threshold`` (1.0 if both empty)."""
    fa, fb = a > threshold, b > threshold
    union = int(np.count_nonzero(fa | fb))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(fa & fb)) / union


def frame_edges(image_bgr: np.ndarray) -> np.ndarray:
    """Binary (bool) edge map of the frame: Canny on slightly blurred grey."""
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    gray = cv2.GaussianBlur(gray, (0, 0), EDGE_PRE_BLUR_SIGMA)
    return cv2.Canny(gray, EDGE_CANNY_LOW, EDGE_CANNY_HIGH) > 0


def mask_outline(mask: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Bool map of the pixels on either side of the ``threshold`` contour."""
    binary = (mask > threshold).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    return cv2.morphologyEx(binary, cv2.MORPH_GRADIENT, kernel) > 0


def boundary_edge_error(
    mask: np.ndarray,
    image_bgr: np.ndarray,
    *,
    cap: float = BOUNDARY_DISTANCE_CAP_PX,
    edges: np.ndarray | None = None,
) -> float:
    """Mean distance (px, capped at ``cap``) from the mask's outline to the nearest frame edge.

    NaN when the mask has no outline (all person or all background).
    """
    if edges is None:
        edges = frame_edges(image_bgr)
    outline = mask_outline(mask)
    if not outline.any():
        return float("nan")
    # distanceTransform measures to the nearest zero pixel: make edges the zeros.
    dist = cv2.distanceTransform((~edges).astype(np.uint8), cv2.DIST_L2, 5)
    return float(np.minimum(dist[outline], cap).mean())


def mean_abs_change(masks: list[np.ndarray]) -> float:
    """Mean per-pixel |mask[t] - mask[t-1]| over a sequence (flicker)."""
    if len(masks) < 2:
        return 0.0
    diffs = [float(np.mean(np.abs(b - a))) for a, b in itertools.pairwise(masks)]
    return float(np.mean(diffs))
