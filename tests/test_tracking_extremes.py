"""The face tracker at the ends of its settings and when its numbers or models fail: it stays
quick with a detection threshold at its lowest, a mesh graph that cannot be loaded is a
warning (the frames are tracked with the mesh it has), and a face region that is no longer
numbers loses that face instead of crashing the process in OpenCV."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_tracking_tracker import still_720p, tracker  # noqa: F401  (a fixture)

from pipelines.errors import ModelError
from pipelines.frame import FrameContext
from pipelines.tracking import tracker as tracker_module
from pipelines.tracking.mesh import FaceMesh
from pipelines.tracking.tracker import FaceTracker

FPS = 30.0
FRAMES = 4
LOWEST_SCORE = 0.05
"""FaceTrackerSettings' bound for both scores."""
SPARE_TRIES = 2
"""Detections a search may try the mesh on beyond the free track slots (the tracker's
``CONFIRM_SPARE``)."""


def step(stage: FaceTracker, image: np.ndarray, i: int) -> FrameContext:
    ctx = FrameContext(timestamp=i / FPS, index=i)
    stage.process(image, ctx)
    return ctx


@pytest.mark.parametrize("max_faces", [1, 8])
def test_the_lowest_detection_score_tries_the_mesh_on_a_few_detections_a_frame(
    still_720p: np.ndarray,  # noqa: F811
    max_faces: int,
) -> None:
    """At ``min_detection_score`` 0.05 the detector passes some 30 detections a frame, mostly
    no face; with ``min_tracking_score`` 1.0 none is confirmed, so the search runs on every
    frame. The mesh ran on every detection (0.45-0.86 s a frame): now on the free slots'
    worth and :data:`SPARE_TRIES` more, best first."""
    stage = tracker(max_faces=max_faces, min_detection_score=LOWEST_SCORE, min_tracking_score=1.0)
    assert stage.detector is not None
    passed = stage.detector.detect(still_720p, LOWEST_SCORE, tiles=True, antialias=True)
    limit = max_faces + SPARE_TRIES
    assert len(passed) > limit  # the mesh ran on every one of them before, on every frame
    for i in range(FRAMES):
        ctx = step(stage, still_720p, i)
        assert ctx.faces == []  # nothing reaches a presence score of 1.0
    assert stage.detector_runs == FRAMES
    assert stage.mesh_runs <= FRAMES * limit


def test_the_lowest_scores_still_track_the_face(
    still_720p: np.ndarray,  # noqa: F811
) -> None:
    """The best detection is tried first: the face is tracked from the first frame."""
    stage = tracker(min_detection_score=LOWEST_SCORE, min_tracking_score=LOWEST_SCORE)
    for i in range(FRAMES):
        ctx = step(stage, still_720p, i)
        assert ctx.primary_face is not None
        x, y, w, h = ctx.primary_face.bbox
        assert 280 < x + w / 2 < 1000 and 0 < y + h / 2 < 720


def test_a_mesh_graph_that_cannot_load_is_reported_once_and_tracking_goes_on(
    still_720p: np.ndarray,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The setting changed while the stage runs (the window's Mesh graph): the new mesh's
    session could not be made. The frame is tracked with the mesh it has and the stage says
    so once; the load is not tried again on every frame (an ONNX session, 0.2-0.3 s each)."""
    stage = tracker()
    step(stage, still_720p, 0)
    real_load = tracker_module.load_model
    tries: list[type] = []

    def refuse_reference(model: type, factory: object = None) -> object:
        if model is FaceMesh:
            tries.append(model)
            raise ModelError("model face_landmark_with_attention could not be loaded: FAIL")
        return real_load(model, factory)  # type: ignore[call-overload]

    monkeypatch.setattr(tracker_module, "load_model", refuse_reference)
    stage.settings = stage.settings.replace(mesh_graph="reference")
    for i in range(1, 1 + FRAMES):
        ctx = step(stage, still_720p, i)
        assert ctx.primary_face is not None
    assert len(tries) == 1
    (message,) = stage.take_reports()
    assert message.startswith('the "reference" mesh graph could not be loaded (model ')
    assert message.endswith('; tracking goes on with the "blocked" one')
    # Asked for again after another choice: tried again (the file may be back).
    stage.settings = stage.settings.replace(mesh_graph="blocked")
    step(stage, still_720p, 1 + FRAMES)
    monkeypatch.setattr(tracker_module, "load_model", real_load)
    stage.settings = stage.settings.replace(mesh_graph="reference")
    step(stage, still_720p, 2 + FRAMES)
    assert type(stage.mesh) is FaceMesh
    assert stage.take_reports() == []


NOT_FINITE_SCRIPT = """
import math, sys
import cv2, numpy as np
from golden_data import face_photo
from pipelines.frame import FrameContext
from pipelines.tracking.roi import Roi, crop
from pipelines.tracking.tracker import FaceTracker

frame = np.full((720, 1280, 3), 110, np.uint8)
frame[:, 280:1000] = cv2.resize(face_photo("astronaut"), (720, 720))
nan = math.nan
try:
    crop(frame, Roi(nan, 360.0, 200.0, 200.0), 192, 192)
except ValueError as exc:
    print("crop:", exc)
stage = FaceTracker()
stage.open()
for i, roi in enumerate([None, Roi(nan, 360.0, 200.0, 200.0), None, Roi(640, 360, 0.0, 0.0)]):
    if roi is not None:
        stage._tracks[0].roi = roi  # numbers gone bad between two frames
    ctx = FrameContext(timestamp=i / 30, index=i)
    stage.process(frame, ctx)
    info = ctx.extras["face_tracker"]
    print("frame", i, "tracked", info["tracked"], "detected", info["detected"], flush=True)
"""


def test_a_face_region_that_is_not_numbers_loses_the_face_instead_of_crashing(
    repo_root: Path,
) -> None:
    """A NaN in the crop's matrix made OpenCV's warpAffine read outside the image: the
    process died (SIGSEGV). The crop refuses such a region, and the tracker loses the face
    whose region it is, which the detector finds again on the same frame."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root), str(repo_root / "tests")])}
    proc = subprocess.run(
        [sys.executable, "-c", NOT_FINITE_SCRIPT],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("crop: cannot crop the face region Roi(cx=nan")
    assert lines[0].endswith("it is not a finite rectangle")
    # Lost on the frames its region went bad, and found again by a detection there.
    assert lines[1:] == [
        "frame 0 tracked 1 detected True",
        "frame 1 tracked 1 detected True",
        "frame 2 tracked 1 detected False",
        "frame 3 tracked 1 detected True",
    ]
