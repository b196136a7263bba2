"""The 478-point attention face mesh: crop, inference, refinement, back-projection.

Mirrors MediaPipe's ``face_landmark_cpu.pbtxt`` with attention: the ROI cropped to 192×192 RGB
in [0, 1] (replicated border), the 468-point mesh refined by the lips, eyes and irises heads
(``tensors_to_face_landmarks_with_attention.pbtxt``: their x, y replace the mesh's; the iris
points get the mean depth of their eye's contour), and the face-flag logit through a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from pipelines.inference import OnnxModel, register_model
from pipelines.tracking.roi import Roi, crop

INPUT_SIZE = 192
NUM_MESH = 468
NUM_LANDMARKS = 478

LIPS_MAP = np.array([
    # lower outer, upper outer (no corners), lower inner, upper inner (no corners)
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291,
    185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308,
    191, 80, 81, 82, 13, 312, 311, 310, 415,
    # lower/upper semi-outer, lower/upper semi-inner
    76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306,
    184, 74, 73, 72, 11, 302, 303, 304, 408,
    62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292,
    183, 42, 41, 38, 12, 268, 271, 272, 407,
])  # fmt: skip
RIGHT_EYE_MAP = np.array([
    # contour lower, upper; halos ×2, ×3; ×4 upper / brow inner; ×5 lower, upper / brow outer
    33, 7, 163, 144, 145, 153, 154, 155, 133,
    246, 161, 160, 159, 158, 157, 173,
    130, 25, 110, 24, 23, 22, 26, 112, 243,
    247, 30, 29, 27, 28, 56, 190,
    226, 31, 228, 229, 230, 231, 232, 233, 244,
    113, 225, 224, 223, 222, 221, 189,
    35, 124, 46, 53, 52, 65,
    143, 111, 117, 118, 119, 120, 121, 128, 245,
    156, 70, 63, 105, 66, 107, 55, 193,
])  # fmt: skip
LEFT_EYE_MAP = np.array([
    263, 249, 390, 373, 374, 380, 381, 382, 362,
    466, 388, 387, 386, 385, 384, 398,
    359, 255, 339, 254, 253, 252, 256, 341, 463,
    467, 260, 259, 257, 258, 286, 414,
    446, 261, 448, 449, 450, 451, 452, 453, 464,
    342, 445, 444, 443, 442, 441, 413,
    265, 353, 276, 283, 282, 295,
    372, 340, 346, 347, 348, 349, 350, 357, 465,
    383, 300, 293, 334, 296, 336, 285, 417,
])  # fmt: skip
# The model's "left" heads are the image-left eye, i.e. the subject's right one.
RIGHT_IRIS_MAP = np.arange(468, 473)
LEFT_IRIS_MAP = np.arange(473, 478)
RIGHT_EYE_CONTOUR = RIGHT_EYE_MAP[:16]
LEFT_EYE_CONTOUR = LEFT_EYE_MAP[:16]


@dataclass
class MeshResult:
    landmarks: np.ndarray
    """478×3 float32 in image pixels (z scaled like x)."""
    score: float
    """Face presence probability."""
    roi: Roi


def assemble(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """Model outputs → (478×3 landmarks in tensor pixels, face probability)."""
    lm = np.empty((NUM_LANDMARKS, 3), np.float32)
    lm[:NUM_MESH] = outputs["output_mesh_identity"].reshape(NUM_MESH, 3)
    lm[LIPS_MAP, :2] = outputs["output_lips"].reshape(-1, 2)
    lm[RIGHT_EYE_MAP, :2] = outputs["output_left_eye"].reshape(-1, 2)
    lm[LEFT_EYE_MAP, :2] = outputs["output_right_eye"].reshape(-1, 2)
    lm[RIGHT_IRIS_MAP, :2] = outputs["output_left_iris"].reshape(-1, 2)
    lm[LEFT_IRIS_MAP, :2] = outputs["output_right_iris"].reshape(-1, 2)
    lm[RIGHT_IRIS_MAP, 2] = lm[RIGHT_EYE_CONTOUR, 2].mean()
    lm[LEFT_IRIS_MAP, 2] = lm[LEFT_EYE_CONTOUR, 2].mean()
    logit = float(np.clip(outputs["conv_faceflag"].reshape(-1)[0], -80.0, 80.0))
    return lm, 1.0 / (1.0 + float(np.exp(-logit)))


def mesh_input(image_bgr: np.ndarray, roi: Roi) -> np.ndarray:
    """1×192×192×3 float32 RGB tensor in [0, 1] of ``roi``."""
    patch = crop(image_bgr, roi, INPUT_SIZE, INPUT_SIZE)
    patch = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB)
    return (patch.astype(np.float32) * np.float32(1.0 / 255.0))[None]


@register_model
class FaceMesh(OnnxModel):
    """Call with a BGR uint8 frame and a :class:`Roi`; returns a :class:`MeshResult`."""

    model_name = "face_landmark_with_attention"

    def preprocess(  # type: ignore[override]
        self, image_bgr: np.ndarray, roi: Roi
    ) -> tuple[dict[str, np.ndarray], Any]:
        return {self.input_names[0]: mesh_input(image_bgr, roi)}, roi

    def postprocess(  # type: ignore[override]
        self, outputs: dict[str, np.ndarray], meta: Any
    ) -> MeshResult:
        roi: Roi = meta
        lm, score = assemble(outputs)
        pts = roi.tensor_to_image(lm, INPUT_SIZE, INPUT_SIZE).astype(np.float32)
        return MeshResult(pts, score, roi)


@register_model
class BlockedFaceMesh(FaceMesh):
    """The same network converted in the blocked layout (``onnx_models.convert``,
    ``blocked_layout``): ONNX Runtime's CPU provider keeps its NCHWc layout through the whole
    network instead of reordering around every PReLU and widened residual. 2.8 → 2.0 ms a run
    at one thread (the bare session on the demo's crops); outputs within 6.1e-5 of
    :class:`FaceMesh`'s (pixels of the 192-px input).
    """

    model_name = "face_landmark_with_attention_blocked"


MeshGraph = Literal["blocked", "reference"]
"""Which conversion of the face mesh a tracker runs (the keys of :data:`MESH_GRAPHS`)."""
MESH_GRAPHS: dict[MeshGraph, type[FaceMesh]] = {
    "blocked": BlockedFaceMesh,
    "reference": FaceMesh,
}
