"""Per-face results the tracker writes into ``FrameContext.faces`` (and ``primary_face``).

Every effect that follows a face (beautification, auto-framing, the talking head, overlays)
reads these and nothing else, so this file is the contract between the tracker and them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from pipelines.frame import CtxKey


@dataclass
class HeadPose:
    yaw: float
    """Degrees; positive when the person turns to their left (the image's right)."""
    pitch: float
    """Degrees; positive when the person looks up."""
    roll: float
    """Degrees; positive when the head tilts clockwise in the image."""
    transform: np.ndarray
    """4×4 float64: canonical face (cm, x right, y up, z toward the camera) → camera space."""


@dataclass
class Face:
    id: int
    """Stable across frames while the face is tracked."""
    score: float
    """Face presence confidence in [0, 1] from the mesh model."""
    bbox: tuple[float, float, float, float]
    """x, y, width, height in pixels of the landmarks' extent."""
    landmarks: np.ndarray
    """478×3 float32, MediaPipe face-mesh topology: x, y in pixels, z in pixels-scale depth
    (same scale as x, smaller = closer to the camera), after smoothing."""
    raw_landmarks: np.ndarray | None = None
    """The same before smoothing (for analysis and tests)."""
    pose: HeadPose | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    """Derived values: "mouth_open" (0..1), "eye_open_left"/"eye_open_right" (0..1),
    "blink" (bool), "gaze" ((x, y) in -1..1), "looking_away" (bool)."""
    visibility: float = 1.0
    """1 while tracked; fades towards 0 for a few frames after tracking is lost so effects can
    fade out instead of popping."""


Derive = Callable[[], tuple[HeadPose | None, dict[str, Any]]]
"""Works out a face's pose and signals (:class:`DerivedFace`)."""


class DerivedFace(Face):
    """A :class:`Face` whose ``pose`` and ``signals`` are worked out when first read.

    The tracker gives these while no stage has read a pose or signals yet: Studio reads
    neither, and they cost 0.3-0.8 ms of CPU a face a frame at 720p (the pose fit, its
    filters, the signals). Reading either (or comparing, copying, ``repr``) works them out;
    setting one works out the other first, so the two stay of the same frame.
    """

    def __init__(self, *args: Any, derive: Derive | None = None, **kwargs: Any) -> None:
        self._derive: Derive | None = None
        super().__init__(*args, **kwargs)
        self._derive = derive

    def _resolve(self) -> None:
        derive = self._derive
        if derive is not None:
            # Cleared only once the values are in: another thread reading meanwhile calls it
            # too (it works them out once and gives both the same).
            self._pose, self._signals = derive()
            self._derive = None

    @property  # type: ignore[override]
    def pose(self) -> HeadPose | None:
        self._resolve()
        return self._pose

    @pose.setter
    def pose(self, value: HeadPose | None) -> None:
        self._resolve()
        self._pose = value

    @property  # type: ignore[override]
    def signals(self) -> dict[str, Any]:
        self._resolve()
        return self._signals

    @signals.setter
    def signals(self, value: dict[str, Any]) -> None:
        self._resolve()
        self._signals = value


class TrackerInfo(TypedDict):
    """What the face tracker did on a frame (:data:`TRACKER_INFO`)."""

    detected: int
    tracked: int
    detector_runs: int
    frames: int
    rois: list[Any]
    vertical_fov: float


class AutoFrameInfo(TypedDict):
    """Where auto-framing cropped a frame (:data:`AUTO_FRAME_INFO`)."""

    crop: tuple[float, float, float, float]
    """x, y, width, height of the crop in the captured frame's pixels."""
    zoom: float


TRACKER_INFO: CtxKey[TrackerInfo] = CtxKey("face_tracker")
AUTO_FRAME_INFO: CtxKey[AutoFrameInfo] = CtxKey("auto_frame")
