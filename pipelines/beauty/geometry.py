"""Face size, regions of interest and small numeric helpers shared by the beauty effects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pipelines.tracking import regions

# Landmarks (MediaPipe face mesh) the effects anchor on, besides the rings in ``regions``.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
MOUTH_CORNERS = (78, 308)
INNER_LIP_MID = (13, 14)
NOSE_TIP = 1

# Rings under each eye (MediaPipe "eyeLower1" just under the lid, "eyeLower3" over the upper
# cheek); the band between them is where dark circles sit.
RIGHT_UNDER_EYE_INNER = (130, 25, 110, 24, 23, 22, 26, 112, 243)
RIGHT_UNDER_EYE_OUTER = (143, 111, 117, 118, 119, 120, 121, 128, 245)
LEFT_UNDER_EYE_INNER = (359, 255, 339, 254, 253, 252, 256, 341, 463)
LEFT_UNDER_EYE_OUTER = (372, 340, 346, 347, 348, 349, 350, 357, 465)

MIN_FACE_SIZE = 24.0
"""Faces smaller than this (pixels, see :func:`face_size`) are too small to retouch."""


def smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, a C¹ ramp between (float32)."""
    t = np.clip((np.asarray(x, np.float32) - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)
    return t * t * (np.float32(3.0) - np.float32(2.0) * t)


def gaussian_radius(sigma: float) -> int:
    """Half the kernel size OpenCV's ``GaussianBlur`` picks for 8-bit images at ``sigma``."""
    return (round(sigma * 6 + 1) | 1) // 2


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The 1-D kernel ``GaussianBlur`` uses on 8-bit images at ``sigma`` (float32 column), for
    ``cv2.sepFilter2D``: the same filter at about half the CPU time of 8-bit ``GaussianBlur``
    (whose bit-exact fixed-point path is slow on small images), and with a float result."""
    kernel: np.ndarray = cv2.getGaussianKernel(2 * gaussian_radius(sigma) + 1, sigma, cv2.CV_32F)
    return kernel


def feathered(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A uint8 0/255 mask blurred with a Gaussian of ``sigma``: float32 in 0..255."""
    kernel = gaussian_kernel(sigma)
    out: np.ndarray = cv2.sepFilter2D(mask, cv2.CV_32F, kernel, kernel)
    return out


def landmarks_xy(face_or_landmarks: Any) -> np.ndarray:
    """N×2 float32 pixel landmarks of a ``Face`` (or a landmark array)."""
    return regions.as_landmarks(face_or_landmarks)[:, :2].astype(np.float32)


def face_size(lm: np.ndarray) -> float:
    """A rotation-invariant face scale in pixels: the square root of the face oval's area.

    For a frontal face it is close to the cheek-to-cheek width.
    """
    oval = lm[_OVAL, :2].astype(np.float64)
    x, y = oval[:, 0], oval[:, 1]
    # Shoelace formula; the oval's next points are x[_NEXT] (np.roll costs 10× more).
    area = 0.5 * abs(float(np.dot(x, y[_NEXT]) - np.dot(y, x[_NEXT])))
    return float(np.sqrt(area))


_OVAL = np.array(regions.FACE_OVAL)
_NEXT = np.roll(np.arange(len(regions.FACE_OVAL)), -1)


def mouth_open_ratio(lm: np.ndarray) -> float:
    """Inner-lip gap over mouth width (0 closed, ~0.3 wide open)."""
    gap = float(np.linalg.norm(lm[INNER_LIP_MID[0]] - lm[INNER_LIP_MID[1]]))
    width = float(np.linalg.norm(lm[MOUTH_CORNERS[0]] - lm[MOUTH_CORNERS[1]]))
    return gap / max(width, 1e-6)


@dataclass(frozen=True)
class Rect:
    """Pixel rectangle ``[x0, x1) × [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def offset(self) -> np.ndarray:
        return np.array([self.x0, self.y0], np.float32)

    @classmethod
    def around(cls, points: np.ndarray, margin: float, size: tuple[int, int]) -> Rect:
        """Bounding box of ``points`` grown by ``margin`` pixels, clipped to ``size`` (w, h)."""
        w, h = size
        x0 = int(np.floor(points[:, 0].min() - margin))
        y0 = int(np.floor(points[:, 1].min() - margin))
        x1 = int(np.ceil(points[:, 0].max() + margin)) + 1
        y1 = int(np.ceil(points[:, 1].max() + margin)) + 1
        return cls(max(x0, 0), max(y0, 0), min(max(x1, 0), w), min(max(y1, 0), h))


def points_of(lm: np.ndarray, names: Iterable[str]) -> np.ndarray:
    """All polygon points of the named regions, stacked."""
    return np.concatenate([regions.region_polygon(lm, n) for n in names], axis=0)
