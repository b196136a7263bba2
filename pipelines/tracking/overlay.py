"""The ``face_overlay`` debug stage: mesh, regions, pose axes, ids and numbers on the picture.

It draws what the tracker put into ``ctx`` (after any auto-framing, since that maps the
faces), so what you see is what the effects get.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import FrameContext
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking import regions
from pipelines.tracking.geometry import DEFAULT_VERTICAL_FOV, PerspectiveCamera, canonical_face
from pipelines.tracking.types import AUTO_FRAME_INFO, TRACKER_INFO, Face

STAGE_NAME = "face_overlay"
AXIS_CM = 8.0
"""Length of the drawn pose axes on the face."""
MESH_COLOUR = (200, 200, 200)
PRIMARY_COLOUR = (80, 220, 80)
OTHER_COLOUR = (0, 200, 255)
REGION_COLOURS: dict[str, tuple[int, int, int]] = {
    "face_oval": (255, 255, 255),
    "lips_outer": (80, 80, 255),
    "lips_inner": (80, 80, 200),
    "left_eye": (255, 200, 0),
    "right_eye": (255, 200, 0),
    "left_iris": (255, 0, 255),
    "right_iris": (255, 0, 255),
    "left_brow": (0, 255, 255),
    "right_brow": (0, 255, 255),
    "nose": (0, 160, 255),
}
HAIRLINE_COLOUR = (160, 100, 255)


@dataclass(frozen=True)
class FaceOverlaySettings(StageSettings):
    mesh: bool = True
    regions: bool = True
    axes: bool = True
    text: bool = True
    opacity: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.6
    """Of the mesh lines (regions, axes and text are drawn opaque)."""


@cache
def mesh_edges() -> np.ndarray:
    """E×2 unique edges of the canonical triangulation."""
    tris = canonical_face().triangles
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    edges.sort(axis=1)
    return np.unique(edges, axis=0)


def _pts(poly: np.ndarray) -> np.ndarray:
    return np.round(poly * 16).astype(np.int32).reshape(-1, 1, 2)


def draw_face(
    canvas: np.ndarray,
    face: Face,
    primary: bool,
    cam: PerspectiveCamera,
    s: FaceOverlaySettings,
    crop: tuple[float, float, float, float] | None = None,
) -> None:
    """Draw one face; ``crop`` (x, y, w, h) is an auto-frame crop of the camera's picture,
    which the pose axes (projected through the camera) have to follow."""
    lm = face.landmarks
    colour = PRIMARY_COLOUR if primary else OTHER_COLOUR
    if s.mesh and s.opacity > 0:
        edges = mesh_edges()
        segments = lm[edges, :2]  # E×2×2
        layer = canvas.copy()
        cv2.polylines(layer, list(_pts(segments).reshape(-1, 2, 1, 2)), False, MESH_COLOUR, 1,
                      cv2.LINE_AA, 4)  # fmt: skip
        cv2.addWeighted(layer, s.opacity, canvas, 1.0 - s.opacity, 0.0, dst=canvas)
    if s.regions:
        for name, col in REGION_COLOURS.items():
            poly = regions.region_polygon(lm, name)
            cv2.polylines(canvas, [_pts(poly)], True, col, 1, cv2.LINE_AA, 4)
        cv2.polylines(canvas, [_pts(regions.hairline_curve(lm))], False, HAIRLINE_COLOUR, 1,
                      cv2.LINE_AA, 4)  # fmt: skip
    if s.axes and face.pose is not None:
        origin = np.zeros((1, 3))
        axes = np.vstack([origin, np.eye(3) * AXIS_CM])
        pts = np.c_[axes, np.ones(4)] @ face.pose.transform.T
        if np.all(pts[:, 2] < 0):
            img = cam.project(pts[:, :3])
            if crop is not None:
                img = (img - np.array(crop[:2])) * (cam.height / crop[3])
            o = tuple(np.round(img[0]).astype(int))
            for i, col in enumerate(((0, 0, 255), (0, 255, 0), (255, 0, 0))):
                end = tuple(np.round(img[i + 1]).astype(int))
                cv2.line(canvas, o, end, col, 2, cv2.LINE_AA)
    if s.text:
        x, y, _, _ = face.bbox
        lines = [f"#{face.id} {face.score:.2f}" + (" primary" if primary else "")]
        if face.pose is not None:
            p = face.pose
            lines.append(f"yaw {p.yaw:+.1f} pitch {p.pitch:+.1f} roll {p.roll:+.1f}")
        sig = face.signals
        if sig:
            lines.append(
                f"mouth {sig.get('mouth_open', 0):.2f} eyes {sig.get('eye_open_left', 0):.2f}/"
                f"{sig.get('eye_open_right', 0):.2f}"
                + (" blink" if sig.get("blink") else "")
                + (" AWAY" if sig.get("looking_away") else "")
            )
        if face.visibility < 1.0:
            lines.append(f"lost, visibility {face.visibility:.2f}")
        for i, text in enumerate(lines):
            org = (int(x), max(int(y) - 8 - 16 * (len(lines) - 1 - i), 12))
            cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3,
                        cv2.LINE_AA)  # fmt: skip
            cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                        cv2.LINE_AA)  # fmt: skip


@register_stage
class FaceOverlay(Stage[FaceOverlaySettings]):
    name = STAGE_NAME
    settings_type = FaceOverlaySettings

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        if not ctx.faces:
            return image
        canvas = image.copy()
        h, w = canvas.shape[:2]
        tracker = ctx.get(TRACKER_INFO)
        fov = tracker["vertical_fov"] if tracker is not None else DEFAULT_VERTICAL_FOV
        cam = PerspectiveCamera(w, h, fov)
        primary_id = ctx.primary_face.id if ctx.primary_face is not None else None
        framing = ctx.get(AUTO_FRAME_INFO)
        crop = framing["crop"] if framing is not None else None
        for face in ctx.faces:
            draw_face(canvas, face, face.id == primary_id, cam, s, crop)
        return canvas
