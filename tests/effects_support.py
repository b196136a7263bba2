"""Shared by the key-light and eye-contact tests: faces from MediaPipe's own golden results
(so the stages' inputs do not depend on this machine's ONNX Runtime), pictures lit from one
side with a known gradient, and the measures the issue asks for."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from golden_data import face_photo, load_golden

from pipelines.frame import FrameContext
from pipelines.tracking.geometry import PerspectiveCamera, head_pose
from pipelines.tracking.types import Face

GOLDEN_DIR = Path(__file__).parent / "golden" / "effects"
WRITE_GOLDEN = os.environ.get("CAMFX_WRITE_GOLDEN") == "1"
"""Set to 1 to (re)write the golden pictures instead of comparing with them."""
RIGHT_CHEEK, LEFT_CHEEK = 205, 425
"""The subject's cheek landmarks (right cheek on the image's left)."""
CHEEK_RADIUS = 0.07
"""Cheek patch radius, as a fraction of the face width."""


def golden_face(name: str) -> tuple[np.ndarray, Face, np.ndarray]:
    """(photo BGR, its face as MediaPipe found it, its person mask as MediaPipe made it)."""
    image = face_photo(name)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    lm = load_golden("solution_face_mesh")[f"{name}/landmarks"][0].astype(np.float64).copy()
    lm[:, 0] *= w
    lm[:, 1] *= h
    lm[:, 2] *= w
    lm32 = lm.astype(np.float32)
    pose = head_pose(lm, PerspectiveCamera(w, h))
    x, y = lm32[:, 0], lm32[:, 1]
    bbox = (float(x.min()), float(y.min()), float(np.ptp(x)), float(np.ptp(y)))
    face = Face(id=1, score=1.0, bbox=bbox, landmarks=lm32, raw_landmarks=lm32, pose=pose)
    mask = load_golden("solution_selfie_segmentation")[f"{name}/model0"].astype(np.float32)
    return image, face, mask


def context(face: Face | None, mask: np.ndarray | None, t: float = 0.0) -> FrameContext:
    ctx = FrameContext(timestamp=t, index=0)
    if face is not None:
        ctx.faces = [face]
        ctx.primary_face = face
    if mask is not None:
        ctx.mask = mask
    return ctx


def side_lit(image: np.ndarray, face: Face, halving: float, dark_left: bool = True) -> np.ndarray:
    """``image`` lit from one side: the light halves every ``halving`` cheek-to-cheek distances
    towards the dark side (a straight log-luminance ramp across the picture, darkening only,
    so nothing clips)."""
    lm = face.landmarks
    d = abs(float(lm[LEFT_CHEEK, 0] - lm[RIGHT_CHEEK, 0]))
    xx = np.arange(image.shape[1], dtype=np.float32)
    if dark_left:
        ramp = np.minimum(0.0, (xx - float(lm[:, 0].max())) / d)
    else:
        ramp = np.minimum(0.0, (float(lm[:, 0].min()) - xx) / d)
    factor = np.exp(np.log(2.0) / halving * ramp)[None, :, None]
    return np.clip(image * factor, 0, 255).astype(np.uint8)


def _cheek(face: Face, index: int, shape: tuple[int, ...]) -> np.ndarray:
    lm = face.landmarks
    width = float(np.ptp(lm[:, 0]))
    mask = np.zeros(shape[:2], np.uint8)
    centre = (round(float(lm[index, 0])), round(float(lm[index, 1])))
    cv2.circle(mask, centre, max(2, round(CHEEK_RADIUS * width)), 1, -1)
    return mask > 0


def cheek_ratio(image: np.ndarray, face: Face) -> float:
    """Mean luminance of the cheek on the image's left over the one on its right."""
    y = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)
    left = float(y[_cheek(face, RIGHT_CHEEK, y.shape)].mean())
    right = float(y[_cheek(face, LEFT_CHEEK, y.shape)].mean())
    return left / right


def skin_hue_delta_e(before: np.ndarray, after: np.ndarray, face: Face) -> float:
    """Mean CIE ΔH*ab of the skin: the hue part of ΔE76 (ΔE² = ΔL² + ΔC² + ΔH²). The stage is
    meant to change how bright the skin is (L*, and with it the chroma C*), not its hue."""
    from pipelines.tracking.regions import region_mask

    h, w = before.shape[:2]
    skin = region_mask(face.landmarks, "skin", (w, h), dilate=-2) > 127
    lab_b = cv2.cvtColor(before.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)[skin]
    lab_a = cv2.cvtColor(after.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)[skin]
    dab2 = ((lab_a[:, 1:] - lab_b[:, 1:]) ** 2).sum(axis=1)
    dc = np.hypot(lab_a[:, 1], lab_a[:, 2]) - np.hypot(lab_b[:, 1], lab_b[:, 2])
    return float(np.sqrt(np.maximum(dab2 - dc**2, 0.0)).mean())


def compare_golden(name: str, image: np.ndarray, mean_max: float, max_abs: int) -> None:
    """Compare ``image`` with ``tests/golden/effects/<name>.png`` (or write it, see
    :data:`WRITE_GOLDEN`)."""
    path = GOLDEN_DIR / f"{name}.png"
    if WRITE_GOLDEN:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        return
    golden = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert golden is not None, f"no golden picture {path}; run with CAMFX_WRITE_GOLDEN=1"
    assert golden.shape == image.shape
    diff = np.abs(golden.astype(np.int16) - image.astype(np.int16))
    assert float(diff.mean()) <= mean_max, f"{name}: mean difference {diff.mean():.3f}"
    assert int(diff.max()) <= max_abs, f"{name}: largest difference {diff.max()}"
