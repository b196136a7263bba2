"""One search for a still picture's faces, each detection confirmed by the face mesh.

A still picture (a photo standing in for the camera, a portrait whose whole picture shows no
face, ``camfx analyze``'s phone photo) is searched level by level (:meth:`FaceDetector.search`:
the largest views first). A detection counts as a face only where the face mesh, run on the
detection's region, says one is there (:data:`MIN_PRESENCE`, :func:`confirmed_faces`): the
detector takes patterns for faces (a 12-megapixel photo's first level found one at score 0.51
on no face; a face seen through blinds, every other row black, is a face at score 0.94 shrunk
to the detector's view and none, presence 0.0, at the mesh's), and a search that stopped at
the first level with any detection steered the image source's crop to it and hid the real
face, found at a later level. A level with no confirmed face does not end the search.

The image source's crop, the portrait's face search, the capture's "which face" line and
``camfx analyze``'s search all take :func:`faces_in_picture`, so they name the same faces.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from pipelines.inference import SessionFactory, load_model
from pipelines.tracking.detector import MIN_SCORE, Detection, FaceDetector
from pipelines.tracking.mesh import FaceMesh, MeshResult
from pipelines.tracking.roi import box_iou, roi_from_detection, roi_from_landmarks
from pipelines.tracking.tracker import as_bgr, tracking_factory

MIN_PRESENCE = 0.5
"""Mesh face-presence score below which a detection is no face (MediaPipe's tracking
confidence default)."""
SAME_FACE_IOU = 0.3
"""Two faces whose boxes overlap more than this are one: the later (lower-scored) of two
confirmed detections whose landmark boxes do is dropped (``camfx analyze`` merges its tiles'
detections by it too)."""


@dataclass(frozen=True)
class PictureFace:
    """A detection the face mesh confirmed, with the mesh's landmarks on it."""

    detection: Detection
    mesh: MeshResult
    """The mesh's last pass on the face (its landmarks, presence score and region)."""

    @property
    def box(self) -> np.ndarray:
        """The detection's box, x0, y0, x1, y1 in the picture's pixels."""
        return self.detection.box

    @property
    def landmarks(self) -> np.ndarray:
        """478×3 float32 in the picture's pixels."""
        return self.mesh.landmarks

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """x, y, width, height of the landmarks' extent."""
        lm = self.mesh.landmarks
        lo, hi = lm[:, :2].min(axis=0), lm[:, :2].max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])


def confirmed_faces(
    image_bgr: np.ndarray,
    detections: list[Detection],
    mesh: FaceMesh,
    *,
    passes: int = 1,
    max_faces: int | None = None,
) -> list[PictureFace]:
    """The detections the mesh confirms as faces, in their given order (best first), one per
    face, at most ``max_faces``.

    The mesh runs on each detection's region; ``passes`` above 1 run it again on the region
    from the previous landmarks, as tracking does on the next frame (it levels a rolled face
    better than the detector's eye keypoints), keeping the last pass the mesh still confirms.
    """
    faces: list[PictureFace] = []
    for det in detections:
        if max_faces is not None and len(faces) >= max_faces:
            break
        result = mesh(image_bgr, roi_from_detection(det.box, det.keypoints))
        if result.score < MIN_PRESENCE:
            continue
        for _ in range(passes - 1):
            again = mesh(image_bgr, roi_from_landmarks(result.landmarks))
            if again.score < MIN_PRESENCE:
                break
            result = again
        face = PictureFace(det, result)
        if any(box_iou(_xyxy(face.bbox), _xyxy(other.bbox)) > SAME_FACE_IOU for other in faces):
            continue
        faces.append(face)
    return faces


def faces_in_picture(
    image: np.ndarray,
    *,
    min_score: float = MIN_SCORE,
    passes: int = 1,
    max_faces: int | None = None,
    factory: SessionFactory | None = None,
) -> list[PictureFace]:
    """The faces of a still picture, largest detection first: those of the first level of
    :meth:`FaceDetector.search` (largest views first) where the mesh confirms any, else none
    (the first of :func:`confirmed_levels`; the arguments as there)."""
    levels = confirmed_levels(
        image, min_score=min_score, passes=passes, max_faces=max_faces, factory=factory
    )
    return next(levels, [])


def confirmed_levels(
    image: np.ndarray,
    *,
    min_score: float = MIN_SCORE,
    passes: int = 1,
    max_faces: int | None = None,
    factory: SessionFactory | None = None,
) -> Iterator[list[PictureFace]]:
    """The confirmed faces (:func:`confirmed_faces`; ``passes`` and ``max_faces`` as there,
    counted in a level's best-first order) of each level of :meth:`FaceDetector.search`
    (largest views first) that has any, each level's largest detection first; levels with
    none are passed over. A caller that cannot use a level's faces reads on (the portrait,
    whose tracker must take the face in its crop: the mesh confirms a head-and-shoulders
    photo pasted small in a big picture as one face the photo's size, presence 0.82, at the
    first level).

    Confirming costs a mesh run (~5 ms on the CPU) a detection of each level searched, on
    top of the search (one 128-px detector run a view)."""
    bgr = as_bgr(image)
    factory = factory or tracking_factory()
    detector = load_model(FaceDetector, factory)
    mesh = load_model(FaceMesh, factory)
    for found in detector.search(bgr, min_score):
        faces = confirmed_faces(bgr, found, mesh, passes=passes, max_faces=max_faces)
        if faces:
            yield sorted(faces, key=lambda face: face.detection.width, reverse=True)


def _xyxy(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return b[0], b[1], b[0] + b[2], b[1] + b[3]
