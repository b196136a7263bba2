"""Single-image face analysis (``camfx analyze``): every face, landmarks, pose, signals.

Faces are found as MediaPipe's face-mesh solution finds them on a still image (the letterboxed
frame, the same ROI logic); faces that only the square tiles of a wide picture reveal are added
after those. With ``passes=1`` the landmarks are MediaPipe's still-image result; the default
second pass (the mesh again on the ROI from the first landmarks, as tracking does) fixes the
detector's rough rotation on small rolled faces (a 30° roll read as 20° in one photo).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import CamfxError
from pipelines.inference import SessionFactory, load_model
from pipelines.tracking.detector import MIN_SCORE, Detection, FaceDetector
from pipelines.tracking.geometry import DEFAULT_VERTICAL_FOV, PerspectiveCamera, head_pose
from pipelines.tracking.mesh import FaceMesh
from pipelines.tracking.roi import box_iou, roi_from_detection, roi_from_landmarks
from pipelines.tracking.signals import AttentionState, face_signals
from pipelines.tracking.tracker import as_bgr, tracking_factory
from pipelines.tracking.types import Face

MIN_PRESENCE = 0.5
"""Mesh face-presence score below which a detection is dropped (MediaPipe's tracking
confidence default)."""
SAME_FACE_IOU = 0.3
AWAY_ANGLE = 30.0


class ImageError(CamfxError):
    """An image file that cannot be read."""


def read_image(path: str | Path) -> np.ndarray:
    """BGR uint8 from an image file, or :class:`ImageError` naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ImageError(f"image {p} does not exist or is not a file; give the path of a photo")
    from pipelines.sources.files import read_picture

    image, problem = read_picture(str(p))
    if problem:
        raise ImageError(f"image {p} cannot be analysed: {problem}")
    if image is None:
        raise ImageError(f"image {p} could not be decoded; use a PNG, JPEG, BMP, TIFF or WebP file")
    return image


def analyze_image(
    image: np.ndarray,
    *,
    max_faces: int = 8,
    vertical_fov: float = DEFAULT_VERTICAL_FOV,
    min_detection_score: float = MIN_SCORE,
    tiles: bool = True,
    passes: int = 2,
    factory: SessionFactory | None = None,
) -> list[Face]:
    """Faces in a still image, best detection first, ids 1, 2, ....

    ``passes=1`` is MediaPipe's still-image result (the mesh on the detection's ROI); each
    further pass reruns the mesh on the ROI from the previous landmarks, as tracking does on
    the next frame, which levels a rolled face better than the detector's eye keypoints.
    """
    bgr = as_bgr(image)
    h, w = bgr.shape[:2]
    factory = factory or tracking_factory()
    detector = load_model(FaceDetector, factory)
    mesh = load_model(FaceMesh, factory)
    detections: list[Detection] = detector.detect(bgr, min_detection_score)
    if tiles:
        for extra in detector.detect(bgr, min_detection_score, tiles=True, antialias=True):
            if all(box_iou(_box(extra), _box(d)) < SAME_FACE_IOU for d in detections):
                detections.append(extra)
    cam = PerspectiveCamera(w, h, vertical_fov)
    faces = _meshed_faces(bgr, detections, mesh, cam, max_faces, passes)
    if not faces and tiles:
        # A phone photo of a person (the face a fifth of its width) shows no face whole:
        # search it at smaller scales, largest first, down to the first level whose
        # detections the mesh confirms (as a portrait is searched: a level's only detection
        # may be no face, a 12-megapixel photo's first one at score 0.51, and the next
        # levels found the face).
        for found in detector.search(bgr, min_detection_score):
            faces = _meshed_faces(bgr, found, mesh, cam, max_faces, passes)
            if faces:
                break
    return faces


def _meshed_faces(
    bgr: np.ndarray,
    detections: list[Detection],
    mesh: FaceMesh,
    cam: PerspectiveCamera,
    max_faces: int,
    passes: int,
) -> list[Face]:
    """The faces the mesh confirms among ``detections``, best first, one per face."""
    faces: list[Face] = []
    for det in detections:
        if len(faces) >= max_faces:
            break
        result = mesh(bgr, roi_from_detection(det.box, det.keypoints))
        if result.score < MIN_PRESENCE:
            continue
        for _ in range(passes - 1):
            again = mesh(bgr, roi_from_landmarks(result.landmarks))
            if again.score < MIN_PRESENCE:
                break
            result = again
        lm = result.landmarks
        lo, hi = lm[:, :2].min(axis=0), lm[:, :2].max(axis=0)
        box = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        if any(box_iou(_xyxy(box), _xyxy(f.bbox)) > SAME_FACE_IOU for f in faces):
            continue
        pose = head_pose(lm, cam)
        signals = face_signals(
            lm, pose.transform, AttentionState(), 0.0, away_angle=AWAY_ANGLE, hold=0.0
        )
        faces.append(
            Face(
                id=len(faces) + 1,
                score=float(result.score),
                bbox=box,
                landmarks=lm,
                raw_landmarks=lm,
                pose=pose,
                signals=signals,
            )
        )
    return faces


def _box(d: Detection) -> tuple[float, float, float, float]:
    return float(d.box[0]), float(d.box[1]), float(d.box[2]), float(d.box[3])


def _xyxy(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return b[0], b[1], b[0] + b[2], b[1] + b[3]


def face_to_dict(face: Face, decimals: int = 3) -> dict[str, Any]:
    """Plain JSON-ready data of a face."""

    def r(v: float) -> float:
        return round(float(v), decimals)

    out: dict[str, Any] = {
        "id": face.id,
        "score": r(face.score),
        "bbox": [r(v) for v in face.bbox],
        "landmarks": [[r(v) for v in p] for p in np.asarray(face.landmarks).tolist()],
    }
    if face.pose is not None:
        out["pose"] = {
            "yaw": r(face.pose.yaw),
            "pitch": r(face.pose.pitch),
            "roll": r(face.pose.roll),
            "transform": [[round(float(v), 6) for v in row] for row in face.pose.transform],
        }
    signals: dict[str, Any] = {}
    for key, value in face.signals.items():
        if isinstance(value, bool):
            signals[key] = value
        elif isinstance(value, tuple | list):
            signals[key] = [r(v) for v in value]
        else:
            signals[key] = r(value)
    out["signals"] = signals
    return out
