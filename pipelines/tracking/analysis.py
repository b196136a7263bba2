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
from pipelines.tracking.picture import SAME_FACE_IOU, PictureFace, confirmed_faces, faces_in_picture
from pipelines.tracking.roi import box_iou
from pipelines.tracking.signals import AttentionState, face_signals
from pipelines.tracking.tracker import as_bgr, tracking_factory
from pipelines.tracking.types import Face

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
        from pipelines.sources.files import VIDEO_SUFFIXES

        if p.suffix.lower() in VIDEO_SUFFIXES:
            # As a portrait says it (it read "could not be decoded": qa64).
            raise ImageError(
                f"image {p} is a video; analyze takes a photo: save one frame of it as a PNG or "
                "JPEG (a player's snapshot, or ffmpeg -i VIDEO -frames:v 1 frame.png)"
            )
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
    found = confirmed_faces(bgr, detections, mesh, passes=passes, max_faces=max_faces)
    if not found and tiles:
        # A phone photo of a person (the face a fifth of its width) shows no face whole:
        # search it at smaller scales, largest first, down to the first level whose
        # detections the mesh confirms (the one search the image source's crop and the
        # portrait take), its faces best detection first as above.
        searched = faces_in_picture(
            bgr, min_score=min_detection_score, passes=passes, max_faces=max_faces, factory=factory
        )
        found = sorted(searched, key=lambda face: face.detection.score, reverse=True)
    return [_described(i, face, cam) for i, face in enumerate(found, start=1)]


def _described(face_id: int, found: PictureFace, cam: PerspectiveCamera) -> Face:
    """A confirmed face with its head pose and signals, as ``camfx analyze`` reports it."""
    lm = found.landmarks
    pose = head_pose(lm, cam)
    signals = face_signals(
        lm, pose.transform, AttentionState(), 0.0, away_angle=AWAY_ANGLE, hold=0.0
    )
    return Face(
        id=face_id,
        score=float(found.mesh.score),
        bbox=found.bbox,
        landmarks=lm,
        raw_landmarks=lm,
        pose=pose,
        signals=signals,
    )


def _box(d: Detection) -> tuple[float, float, float, float]:
    return float(d.box[0]), float(d.box[1]), float(d.box[2]), float(d.box[3])


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
