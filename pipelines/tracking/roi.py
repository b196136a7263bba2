"""Rotated face ROIs, MediaPipe's way, and the crop/back-projection between image and tensor.

MediaPipe's face-mesh graph derives the landmark model's input region in two ways, both ending
in a square 1.5× the face box, rotated so the eyes are level:

- from a detection (``FaceDetectionFrontDetectionToRoi``): the detection box's centre, the
  longer side, rotation from the right-eye → left-eye keypoints (detector keypoints 0 → 1);
- from the previous frame's landmarks (``FaceLandmarkLandmarksToRoi``): the axis-aligned
  extent of all landmarks, rotation from landmark 33 → 263.

Everything here is in pixels. MediaPipe computes in normalised coordinates, but with
``square_long`` and no shift the results are the same square in pixels.

The crop reproduces ``ImageToTensorCalculator``'s OpenCV path: the rectangle's corners are
mapped onto the tensor's corners (pixel *edges*, not centres) and the image is sampled
bilinearly without antialiasing. Keeping that exact is what makes the landmarks match
MediaPipe's to a fraction of a pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

ROI_SCALE = 1.5
"""Face ROI side = 1.5 × the face box's longer side (MediaPipe's RectTransformation)."""
RIGHT_EYE_OUTER = 33
LEFT_EYE_OUTER = 263


def normalize_radians(angle: float) -> float:
    """Into [-π, π), as MediaPipe's NormalizeRadians."""
    return angle - 2.0 * math.pi * math.floor((angle + math.pi) / (2.0 * math.pi))


def rotation_from_points(x0: float, y0: float, x1: float, y1: float) -> float:
    """Rotation (radians, clockwise on screen) that makes the vector p0 → p1 horizontal."""
    return normalize_radians(-math.atan2(-(y1 - y0), x1 - x0))


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in image pixels; ``rotation`` in radians, clockwise on screen."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    @property
    def usable(self) -> bool:
        """Whether the rectangle can be cropped: every number finite, both sides positive.

        A NaN in ``cv2.warpAffine``'s matrix is not caught by OpenCV: with the replicated
        border it reads outside the image (a segmentation fault, found 2026-12-06)."""
        numbers = (self.cx, self.cy, self.width, self.height, self.rotation)
        return all(math.isfinite(v) for v in numbers) and self.width > 0 and self.height > 0

    def scaled(self, factor: float) -> Roi:
        return Roi(self.cx, self.cy, self.width * factor, self.height * factor, self.rotation)

    def corners(self) -> np.ndarray:
        """4×2: top-left, top-right, bottom-right, bottom-left of the rectangle's own frame."""
        local = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
        local *= np.array([self.width, self.height])
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        rot = np.array([[c, -s], [s, c]])
        return local @ rot.T + np.array([self.cx, self.cy])

    def image_to_tensor(self, out_w: int, out_h: int) -> np.ndarray:
        """2×3 affine matrix mapping image pixels to tensor pixels (rect edges → tensor edges)."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        sx, sy = out_w / self.width, out_h / self.height
        # u = sx * ( c*(x-cx) + s*(y-cy)) + out_w/2 ; v = sy * (-s*(x-cx) + c*(y-cy)) + out_h/2
        return np.array(
            [
                [sx * c, sx * s, out_w / 2 - sx * (c * self.cx + s * self.cy)],
                [-sy * s, sy * c, out_h / 2 - sy * (-s * self.cx + c * self.cy)],
            ],
            dtype=np.float64,
        )

    def tensor_to_image(self, points: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
        """Map N×2+ tensor-pixel points back to image pixels; a third column (z, in tensor
        pixels) is scaled like x, as MediaPipe's LandmarkProjectionCalculator does."""
        pts = np.asarray(points, dtype=np.float64)
        u = pts[:, 0] / out_w - 0.5
        v = pts[:, 1] / out_h - 0.5
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        out = np.empty_like(pts)
        out[:, 0] = (c * u - s * v) * self.width + self.cx
        out[:, 1] = (s * u + c * v) * self.height + self.cy
        if pts.shape[1] > 2:
            out[:, 2] = pts[:, 2] / out_w * self.width
        return out


def crop(
    image: np.ndarray, roi: Roi, out_w: int, out_h: int, *, border_zero: bool = False
) -> np.ndarray:
    """The ROI resampled to out_w×out_h (uint8, same channels), bilinear, no antialiasing.
    Raises ValueError for a ROI that is not :attr:`Roi.usable` (OpenCV would read out of
    bounds)."""
    if not roi.usable:
        raise ValueError(f"cannot crop the face region {roi}: it is not a finite rectangle")
    matrix = roi.image_to_tensor(out_w, out_h)
    return cv2.warpAffine(
        image,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT if border_zero else cv2.BORDER_REPLICATE,
        borderValue=0,
    )


def roi_from_box(box: tuple[float, float, float, float], p0: np.ndarray, p1: np.ndarray) -> Roi:
    """Square face ROI from a box (x0, y0, x1, y1) and the two points that set the rotation."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * ROI_SCALE
    rotation = rotation_from_points(float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1]))
    return Roi((x0 + x1) / 2.0, (y0 + y1) / 2.0, side, side, rotation)


def roi_from_detection(box: np.ndarray, keypoints: np.ndarray) -> Roi:
    """From a detection's (x0, y0, x1, y1) box and 6 keypoints in pixels (eyes first)."""
    return roi_from_box(
        (float(box[0]), float(box[1]), float(box[2]), float(box[3])), keypoints[0], keypoints[1]
    )


def roi_from_landmarks(landmarks: np.ndarray) -> Roi:
    """From face-mesh landmarks in pixels: their extent, rotation from landmarks 33 → 263."""
    x, y = landmarks[:, 0], landmarks[:, 1]  # per column: a quarter of min/max over N×2
    return roi_from_box(
        (float(x.min()), float(y.min()), float(x.max()), float(y.max())),
        landmarks[RIGHT_EYE_OUTER, :2],
        landmarks[LEFT_EYE_OUTER, :2],
    )


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
