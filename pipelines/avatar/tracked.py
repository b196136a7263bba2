"""How the project's face tracker reads a rendered face: the mouth's and the eyes' openings
from its landmarks, and the tracker that reads them (the one issue 13's figures are measured
with, :mod:`pipelines.avatar.measure`; the avatar checks its own shut lids with it at build,
:mod:`pipelines.avatar.lids`)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.avatar.halt import checkpoint
from pipelines.tracking import regions

if TYPE_CHECKING:
    from pipelines.frame import FrameContext
    from pipelines.tracking.tracker import FaceTracker


def opening(lm: np.ndarray) -> float:
    """Inner-lip gap (landmarks 13-14) over the face height (10-152)."""
    face_h = float(np.linalg.norm(lm[regions.CHIN, :2] - lm[regions.FOREHEAD_TOP, :2]))
    return float(np.linalg.norm(lm[13, :2] - lm[14, :2])) / max(face_h, 1e-6)


def eye_opening(lm: np.ndarray) -> float:
    """Lid gap over eye width of the eye the camera sees better (the wider one: on a turned
    head the far eye is foreshortened and half hidden, its landmarks guessed)."""

    def one(up: int, low: int, a: int, b: int) -> tuple[float, float]:
        width = float(np.linalg.norm(lm[a, :2] - lm[b, :2]))
        return width, float(np.linalg.norm(lm[up, :2] - lm[low, :2])) / max(width, 1e-6)

    right, left = one(159, 145, 33, 133), one(386, 374, 263, 362)
    if max(right[0], left[0]) > 1.25 * min(right[0], left[0]):
        return right[1] if right[0] > left[0] else left[1]
    return 0.5 * (right[1] + left[1])


def measuring_tracker() -> FaceTracker:
    """The tracker that measures rendered frames: the mesh on every frame (no carry between
    mesh runs: a measurement, not a live feed), and the reference mesh, the one the figures'
    thresholds were set with: the live tracker's blocked one moves raw landmarks by < 0.01 px,
    and tracked ones by up to ~0.4 px (p95) through the tracker's thresholds."""
    from pipelines.tracking.tracker import FaceTrackerSettings

    return _measuring_tracker_type()(
        FaceTrackerSettings(
            max_faces=1,
            smoothing=0.0,
            primary="largest",
            mesh_interval=1,
            mesh_graph="reference",
        )
    )


@cache
def _measuring_tracker_type() -> type[FaceTracker]:
    from pipelines.tracking.tracker import FaceTracker

    class MeasuringTracker(FaceTracker):
        """The face tracker, stopping a build when the process exits (:mod:`.halt`)."""

        def process(self, image: np.ndarray, ctx: FrameContext) -> Any:
            checkpoint()
            return super().process(image, ctx)

    return MeasuringTracker
