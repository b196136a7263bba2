"""face_overlay draws the tracked face (and nothing without one)."""

from __future__ import annotations

import numpy as np
from golden_data import face_photo

from pipelines.frame import FrameContext
from pipelines.tracking.analysis import analyze_image
from pipelines.tracking.overlay import FaceOverlay, FaceOverlaySettings, mesh_edges

MIN_CHANGED_FRACTION_OF_FACE = 0.05


def test_overlay_draws_on_a_copy_inside_the_face() -> None:
    image = face_photo("astronaut")
    faces = analyze_image(image)
    ctx = FrameContext(timestamp=0.0, index=0, faces=faces, primary_face=faces[0])
    out = FaceOverlay().process(image, ctx)
    assert out is not image and np.array_equal(image, face_photo("astronaut"))
    changed = np.any(out != image, axis=2)
    x, y, w, h = (int(v) for v in faces[0].bbox)
    inside = changed[y : y + h, x : x + w].mean()
    assert inside > MIN_CHANGED_FRACTION_OF_FACE
    bare = FaceOverlay(FaceOverlaySettings(mesh=False, regions=False, axes=False, text=False))
    assert np.array_equal(bare.process(image, ctx), image)
    assert mesh_edges().shape[1] == 2 and len(mesh_edges()) > 1300


def test_no_faces_no_drawing() -> None:
    image = face_photo("no_face")
    ctx = FrameContext(timestamp=0.0, index=0)
    assert FaceOverlay().process(image, ctx) is image
