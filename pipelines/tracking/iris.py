"""MediaPipe's iris model on one eye: 71 eye-contour points and 5 iris points from a 64×64 crop.

The face mesh's own iris head (``face_landmark_with_attention``) sees a whole face in 192×192
pixels: an iris there is ~10 px across, and its points hardly move up or down when the gaze
does (measured: 0.005 eye widths at 10° down against ~0.08 for the eye). The iris model sees
one eye in 64×64 (its iris ~25 px across) and follows the iris down as far as it goes.

The crop is MediaPipe's (``iris_landmark_left_and_right``): a square 2.3× the corner distance,
centred between the corners and turned so they are level; the subject's left eye is mirrored,
as the model was trained on right eyes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pipelines.inference import OnnxModel, register_model
from pipelines.tracking.roi import Roi, crop, rotation_from_points

INPUT_SIZE = 64
CROP_SCALE = 2.3
"""Crop side over the eye-corner distance (MediaPipe's iris graph)."""
CONTOUR_POINTS = 71
OUTER, INNER = 0, 8
"""The contour's first 16 points are the eye opening, as the mesh's ring: the outer corner,
the lower lid (1-7), the inner corner (8), the upper lid (9-15)."""
LOWER_LID, UPPER_LID = slice(1, 8), slice(9, 16)
UPPER_MID = slice(11, 14)
"""The upper lid's middle three points (mesh 160, 159, 158 on the subject's right eye)."""


@dataclass(frozen=True)
class EyeLandmarks:
    """One eye as the iris model sees it, in image pixels."""

    contour: np.ndarray
    """71×2: the opening (16 points, see :data:`OUTER`), then the halos and brow."""
    iris: np.ndarray
    """5×2: the centre, then four points on the limbus."""

    @property
    def centre(self) -> np.ndarray:
        return self.iris[0]

    @property
    def radius(self) -> float:
        return float(np.mean(np.linalg.norm(self.iris[1:] - self.iris[0], axis=1)))


def eye_roi(outer: np.ndarray, inner: np.ndarray) -> Roi:
    """The model's square crop around an eye from its two corners (pixels)."""
    a = np.asarray(outer, np.float64)[:2]
    b = np.asarray(inner, np.float64)[:2]
    left, right = (a, b) if a[0] <= b[0] else (b, a)
    side = CROP_SCALE * float(np.hypot(*(b - a)))
    c = (a + b) / 2.0
    rotation = rotation_from_points(
        float(left[0]), float(left[1]), float(right[0]), float(right[1])
    )
    return Roi(float(c[0]), float(c[1]), side, side, rotation)


@register_model
class IrisLandmark(OnnxModel):
    """Call with a BGR uint8 frame, an eye's :class:`Roi` and whether to mirror it (the
    subject's left eye); returns :class:`EyeLandmarks` in image pixels."""

    model_name = "iris_landmark"

    def preprocess(  # type: ignore[override]
        self, image_bgr: np.ndarray, roi: Roi, mirrored: bool = False
    ) -> tuple[dict[str, np.ndarray], Any]:
        patch = crop(image_bgr, roi, INPUT_SIZE, INPUT_SIZE)
        if mirrored:
            patch = patch[:, ::-1]
        patch = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_BGR2RGB)
        tensor = (patch.astype(np.float32) * np.float32(1.0 / 255.0))[None]
        return {self.input_names[0]: tensor}, (roi, mirrored)

    def postprocess(  # type: ignore[override]
        self, outputs: dict[str, np.ndarray], meta: Any
    ) -> EyeLandmarks:
        roi, mirrored = meta
        contour = outputs["output_eyes_contours_and_brows"].reshape(CONTOUR_POINTS, 3)[:, :2]
        iris = outputs["output_iris"].reshape(5, 3)[:, :2]
        pts = np.concatenate([contour, iris]).astype(np.float64)
        if mirrored:
            pts[:, 0] = INPUT_SIZE - pts[:, 0]
        img = roi.tensor_to_image(pts, INPUT_SIZE, INPUT_SIZE)
        return EyeLandmarks(img[:CONTOUR_POINTS], img[CONTOUR_POINTS:])


def track_eye(
    model: IrisLandmark, image_bgr: np.ndarray, outer: np.ndarray, inner: np.ndarray
) -> EyeLandmarks:
    """The iris model on the eye whose corners are ``outer`` and ``inner`` (pixels): mirrored
    when the outer corner is on the image's right (the subject's left eye)."""
    mirrored = float(outer[0]) > float(inner[0])
    result: EyeLandmarks = model(image_bgr, eye_roi(outer, inner), mirrored)
    return result


__all__ = ["EyeLandmarks", "IrisLandmark", "eye_roi", "track_eye"]
