"""The ``face_tracker`` stage: detect when needed, track with the face mesh, pose, smooth.

Per frame, each tracked face's mesh runs on a rotated ROI derived from its previous landmarks
(MediaPipe's scheme); a face whose presence score drops below ``min_tracking_score`` (or that
leaves the frame) is lost. The detector runs only when no face is tracked, or every
``scan_interval`` frames while fewer than ``max_faces`` are. With no face tracked it runs on
every frame for ``search_hold`` seconds after one was lost, then once per ``search_period``
(every 3rd frame at 30 fps): nobody in view cost 13 ms of CPU a frame at 720p, the detector's,
more than tracking a face (see FaceTrackerSettings.search_period). Unlike MediaPipe, which runs the
detector on every frame while fewer than ``max_num_faces`` faces are tracked, a tracked face
costs one mesh inference per frame and nothing else, or less with ``mesh_interval`` above 1:
frames in between then carry the last mesh's landmarks by the face's measured motion when it
is small and rigid (:mod:`pipelines.tracking.carry`). The detector also searches square tiles
of a wide frame, area-averaged: on the 720p demo MediaPipe's letterboxed 128-px input scores
the face 0.31-0.44 (below the 0.5 threshold), a tile 0.91-0.96.

Steadier than MediaPipe's graph:

- the next frame's ROI is low-pass filtered (One Euro) instead of taken raw from the
  landmarks, so landmark noise does not feed back into the next crop (raw landmark jitter on
  a still, noisy 720p face: 0.41 → 0.23 px RMS per frame), and it is moved ahead by the
  face's last step when the face moves fast, so a face moving 50-90 px per frame is kept
  instead of being lost and re-detected every few frames;
- a new face's first head pose, where the pose filters start, is read as the next frames read
  it (the mesh on its own ROI, :data:`FIRST_POSE_RUNS`), not in the detector's crop: a still
  head's pose no longer drifts by 1-4° over its first second;
- One Euro smoothing per landmark group (face, lips, eyes, irises) with the face's rigid
  motion opening every group's cutoff, and separately for the pose (angles, translation),
  driven by the frames' timestamps.

Results go to ``ctx.faces`` (sorted by id), ``ctx.primary_face`` and
``ctx.extras["face_tracker"]``; sub-timings to ``ctx.stage_ms["face_tracker/detect"]``,
``".../mesh"`` (crops and inference of the tracked faces), ``".../post"`` (smoothing, pose,
signals, primary face) and ``".../pose"`` (the pose fits, part of post).

A face's head pose and signals are worked out only once some stage has read one
(:class:`~pipelines.tracking.types.DerivedFace`), then on every frame: Studio reads neither,
and the fit, its filters and the signals cost the tracker 0.34-0.79 ms of CPU a frame on the
720p demo (in-process A/B, alternated, 6 pairs, median 4.62 -> 3.99 ms, load 3). While they are
not wanted, "pose" is 0.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Literal

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import FrameContext
from pipelines.inference import OnnxModel, SessionFactory, default_factory, load_model
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking import regions
from pipelines.tracking.carry import KeyFrame, carry, make_key
from pipelines.tracking.detector import Detection, FaceDetector
from pipelines.tracking.filters import OneEuroFilter
from pipelines.tracking.geometry import (
    DEFAULT_VERTICAL_FOV,
    PerspectiveCamera,
    angles_to_rotation,
    fit_transform,
    rotation_to_angles,
)
from pipelines.tracking.mesh import LIPS_MAP, MESH_GRAPHS, FaceMesh, MeshGraph, MeshResult
from pipelines.tracking.roi import (
    ROI_SCALE,
    Roi,
    box_iou,
    roi_from_detection,
    roi_from_landmarks,
)
from pipelines.tracking.signals import AttentionState, face_signals
from pipelines.tracking.types import TRACKER_INFO, DerivedFace, Face, HeadPose, TrackerInfo

STAGE_NAME = "face_tracker"

OUT_OF_FRAME = 0.6
"""A face whose landmark box lies more than this fraction outside the frame is lost."""
DUPLICATE_IOU = 0.5
"""Two tracks whose landmark boxes overlap this much follow the same face: drop the newer."""
REID_DISTANCE = 1.5
"""A new face within this many face sizes of a recently lost one takes over its id."""
REID_SECONDS = 3.0

# One Euro tuning per landmark group: min_cutoff (Hz), beta (per face size per second).
# Contour points are the steadiest and carry the pose; eyelids blink in ~100 ms and irises
# saccade, so they keep a higher floor.
GROUP_TUNING: dict[str, tuple[float, float]] = {
    "face": (0.6, 12.0),
    "lips": (1.2, 16.0),
    "eyes": (1.6, 20.0),
    "irises": (1.2, 16.0),
}
ROI_TUNING = (2.0, 8.0)
"""min_cutoff Hz; beta per face size per second, for the ROI's centre, size and rotation."""
ROI_PREDICT_MIN = 0.01
"""The ROI is moved ahead by the face's last step when that step exceeds this fraction of
the ROI's side (below it, a step is mostly landmark noise)."""
CARRY_AFTER = 10
"""A new track's first frames always run the mesh: its ROI converges from the detection's over
them, and carries then held the landmarks 0.5 px from full-rate ones."""
CARRY_BACKOFF = 3
"""After a refused carry (the face moves or changes), the mesh runs on this many frames before
the next try: a try on a moving face is mostly refused again and costs its flow and key frame
(~0.6 ms, a tenth of a mesh run) on top of the mesh."""
POSE_ANGLE_TUNING = (0.6, 0.02)
"""min_cutoff Hz; beta per degree/second."""
POSE_TRANSLATION_TUNING = (0.6, 0.2)
"""min_cutoff Hz; beta per cm/second."""
FIRST_POSE_RUNS = 3
"""Mesh runs on the frame a track was found on, each on the ROI the track would take from the
last run's landmarks, whose landmarks the track's first head pose is fitted to (the pose
filters start from it), not the first landmarks. Those come from the mesh in the detector's
crop, framed unlike the mesh's own ROI, and it reads the pose 1-4° differently there (the still
256-px demo: pitch -10.95°, -12.74° from frame 3 on); the pose filters (0.6 Hz) took a second
to leave it, and the stand-in avatar, which copies the pose, nodded by itself at every
session's start (issue 13). The avatar's copied yaw and pitch over the first 1.5 s of 13 still
pictures moved 1.01° (mean; at most 4.01°); after 1, 2, 3, 4 runs 0.41, 0.26, 0.19, 0.17°
(at most 0.63° with 3: the track's ROI settles for a second on some). 3.3 ms a run on the
2-core host under load: the first frame of a track whose pose is read, once."""
FIRST_POSE_STEP_S = 1.0 / 30.0
"""Seconds between those runs for the ROI's filter: a frame at 30 fps, as tracking runs them."""
CONFIRM_SPARE = 2
"""Detections a detector run may try the mesh on (best first) beyond the free track slots
(``max_faces`` less the faces tracked): the best one may be a decoy that the mesh turns down.
Every detection was tried before: at ``min_detection_score`` 0.05 a 720p frame of one face
passes 18-31, mostly no face, and with ``min_tracking_score`` 1.0 (none confirmed, so the
search runs on every frame) the mesh on all of them took 0.45-0.86 s a frame, the video all
but standing still; with this 30-44 ms (``max_faces`` 1; 68-81 with 8; the 2-core machine
under load, 2026-12-06)."""


def _group_indices() -> dict[str, np.ndarray]:
    eyes = np.unique(np.array(regions.LEFT_EYE + regions.RIGHT_EYE))
    irises = np.arange(468, 478)
    lips = np.unique(LIPS_MAP)
    return {"lips": lips, "eyes": eyes, "irises": irises}


@cache
def landmark_tuning() -> tuple[np.ndarray, np.ndarray]:
    """478×1 min_cutoff and beta arrays for the landmark filter."""
    mc = np.full((478, 1), GROUP_TUNING["face"][0])
    beta = np.full((478, 1), GROUP_TUNING["face"][1])
    for name, idx in _group_indices().items():
        mc[idx] = GROUP_TUNING[name][0]
        beta[idx] = GROUP_TUNING[name][1]
    return mc, beta


@cache
def tracking_factory() -> SessionFactory:
    """Sessions with one intra-op thread.

    The mesh is small (~100 ops): on a 2-core machine, two non-spinning threads measured
    4.1 ms against 3.2 ms for one, as every op pays a thread wake-up; the providers requested
    process-wide ($CAMFX_PROVIDERS) still apply.
    """
    return SessionFactory(default_factory().requested, intra_op_threads=1)


Primary = Literal["sticky", "largest", "central"]
"""The keys of :data:`PRIMARY_POLICIES` (a test keeps them equal)."""


@dataclass(frozen=True)
class FaceTrackerSettings(StageSettings):
    max_faces: Annotated[int, Meta(ge=1, le=8)] = 1
    min_detection_score: Annotated[float, Meta(ge=0.05, le=1.0)] = 0.5
    min_tracking_score: Annotated[float, Meta(ge=0.05, le=1.0)] = 0.5
    scan_interval: Annotated[int, Meta(ge=1, le=100000)] = 40
    """Frames between detector runs looking for more faces while fewer than max_faces are
    tracked (no scan while max_faces are)."""
    search_hold: Annotated[float, Meta(ge=0.0, le=60.0)] = 0.5
    """Seconds after the last tracked face is lost (and after the first frame) during which
    the detector runs on every frame while no face is tracked: a face hidden for a moment (a
    hand, a turn away) is found again on its first frame back."""
    search_period: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.1
    """Seconds between detector runs while no face is tracked after ``search_hold``, taken
    from the frames' timestamps (the frame nearest each period): at 30 fps every 3rd frame,
    so a face stepping in is tracked at most 100 ms after its first frame (4th frame). The
    detector costs 10.5-13 ms of CPU per run at 720p, more than the whole tracker with a
    face; 0 runs it on every frame."""
    vertical_fov: Annotated[float, Meta(ge=10.0, le=150.0)] = DEFAULT_VERTICAL_FOV
    """Degrees; the camera's vertical field of view for the head pose."""
    smoothing: Annotated[float, Meta(ge=0.0, le=4.0)] = 1.0
    """0 = raw landmarks; 1 = default; higher = steadier but slower to follow."""
    primary: Primary = "sticky"
    """Which face effects follow: sticky (keep the current one), largest or central."""
    away_angle: Annotated[float, Meta(ge=5.0, le=90.0)] = 30.0
    """Degrees between face direction and the camera beyond which the person looks away."""
    away_hold: Annotated[float, Meta(ge=0.0, le=10.0)] = 1.0
    """Seconds the looking-away state must last before the flag changes."""
    fade_seconds: Annotated[float, Meta(ge=0.0, le=5.0)] = 0.3
    """How long a lost face stays in ctx.faces with a fading visibility."""
    mesh_interval: Annotated[int, Meta(ge=1, le=3)] = 3
    """At most this many frames between face-mesh runs on a tracked face: 1 runs the mesh on
    every frame; above 1, the frames in between carry the last mesh's landmarks by the face's
    measured motion (:mod:`pipelines.tracking.carry`), and the mesh runs at once whenever
    that motion is large or doubtful. 3 (the mesh on 38 % of the demo's frames) cut the
    tracker's CPU by 35-45 %, 2 by 20-30 %, with landmarks within 0.5 px of full-rate ones
    (tests/test_tracking_carry.py); 4 held them 0.57 px (p95) away after a hand had passed."""
    mesh_graph: MeshGraph = "blocked"
    """Which conversion of the face mesh runs (:data:`~pipelines.tracking.mesh.MESH_GRAPHS`):
    "blocked" (live video: 2.8 → 2.0 ms a run on the CPU) or "reference" (the plain conversion,
    within 6.1e-5 px of it at the mesh's input; tracked landmarks within 0.5 px, p95, as any
    rounding-sized change moves them: tests/test_tracking_carry.py). The talking head's
    portrait analysis keeps "reference": its rig is built from one still's landmarks and is
    not smooth in them."""


@dataclass
class _RoiFollower:
    """Where a track's mesh runs next: its landmarks' ROI, low-passed, moved ahead when fast."""

    roi_filter: OneEuroFilter = field(default_factory=lambda: OneEuroFilter(*ROI_TUNING))
    raw_centre: np.ndarray | None = None
    """This frame's unfiltered ROI centre (for the ROI's motion prediction)."""

    def next_roi(self, new: Roi, t: float) -> Roi:
        """The ROI for the next frame from this frame's landmark ROI ``new``."""
        f = self.roi_filter
        vec = np.array([new.cx, new.cy, new.width, math.remainder(new.rotation, 2 * math.pi)])
        prev = f.value
        if prev is not None and abs(vec[3] - prev[3]) > math.pi:
            f.reset()  # the rotation wrapped around ±180°: do not average across the seam
        out = f(vec, t, scale=max(new.width, 1.0) / ROI_SCALE).copy()
        last = self.raw_centre
        self.raw_centre = vec[:2].copy()
        if last is not None and prev is not None:
            step = vec[:2] - last
            if np.linalg.norm(step) > ROI_PREDICT_MIN * new.width:
                out[:2] += step  # constant velocity: where the face will be next frame
        return Roi(float(out[0]), float(out[1]), float(out[2]), float(out[2]), float(out[3]))


@dataclass
class _Track:
    id: int
    roi: Roi
    score: float
    raw: np.ndarray
    smoothed: np.ndarray
    landmark_filter: OneEuroFilter
    angle_filter: OneEuroFilter
    translation_filter: OneEuroFilter
    roi_follower: _RoiFollower = field(default_factory=_RoiFollower)
    attention: AttentionState = field(default_factory=AttentionState)
    pose: HeadPose | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    seen_at: float = 0.0
    """Time of the last frame the face was tracked on; fading counts from here."""
    frames: int = 0
    key: KeyFrame | None = None
    """The last mesh frame, for carrying the landmarks to the frames after it."""
    since_key: int = 0
    """Frames carried since the last mesh run."""
    carry_wait: int = 0
    """Mesh runs left before the next carry is tried (after a refused one)."""
    pending: _PoseJob | None = None
    """The last frame's pose and signals, while nobody has asked for them (see
    :meth:`FaceTracker._derive`)."""
    pose_frame: int = 0
    """:attr:`frames` on the last frame whose pose went through the filters."""
    first_image: np.ndarray | None = None
    """The frame the track was found on, until its first pose job takes it (see
    :data:`FIRST_POSE_RUNS`)."""

    def bbox(self, smoothed: bool = False) -> tuple[float, float, float, float]:
        return _box_of(self.smoothed if smoothed else self.raw)

    def size(self) -> float:
        x0, y0, x1, y1 = self.bbox()
        return max(x1 - x0, y1 - y0, 1.0)


@dataclass
class _Lost:
    id: int
    centre: np.ndarray
    size: float
    at: float


def _new_track(track_id: int, result: MeshResult) -> _Track:
    mc, beta = landmark_tuning()
    return _Track(
        id=track_id,
        roi=result.roi,
        score=result.score,
        raw=result.landmarks,
        smoothed=result.landmarks,
        landmark_filter=OneEuroFilter(mc, beta),
        angle_filter=OneEuroFilter(*POSE_ANGLE_TUNING),
        translation_filter=OneEuroFilter(*POSE_TRANSLATION_TUNING),
    )


def _outside_fraction(box: tuple[float, float, float, float], w: int, h: int) -> float:
    x0, y0, x1, y1 = box
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    ix = max(0.0, min(x1, w) - max(x0, 0.0))
    iy = max(0.0, min(y1, h) - max(y0, 0.0))
    return 1.0 - ix * iy / area


# Primary-face policies: (faces, previous primary id, frame size) → chosen face or None.
PrimaryPolicy = Callable[[list[Face], int | None, tuple[int, int]], Face | None]


def _largest(faces: list[Face], _prev: int | None, _size: tuple[int, int]) -> Face | None:
    return max(faces, key=lambda f: f.bbox[2] * f.bbox[3] * f.visibility, default=None)


def _central(faces: list[Face], _prev: int | None, size: tuple[int, int]) -> Face | None:
    cx, cy = size[0] / 2.0, size[1] / 2.0

    def distance(f: Face) -> float:
        x, y, w, h = f.bbox
        return math.hypot(x + w / 2 - cx, y + h / 2 - cy) / max(f.visibility, 1e-3)

    return min(faces, key=distance, default=None)


def _sticky(faces: list[Face], prev: int | None, size: tuple[int, int]) -> Face | None:
    for f in faces:
        if f.id == prev and f.visibility >= 1.0:
            return f
    tracked = [f for f in faces if f.visibility >= 1.0]
    return _largest(tracked or faces, prev, size)


PRIMARY_POLICIES: dict[str, PrimaryPolicy] = {
    "sticky": _sticky,
    "largest": _largest,
    "central": _central,
}


def as_bgr(image: np.ndarray) -> np.ndarray:
    """The models want 3-channel BGR uint8; accept grayscale and BGRA too."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    return image


_TRACKER_STATE = (
    "_tracks",
    "_fading",
    "_lost",
    "_next_id",
    "_since_scan",
    "_seen_at",
    "_searched_at",
    "_last_t",
    "_primary_id",
    "_pose_ms",
    "pose_wanted",
    "frames",
    "detector_runs",
    "mesh_runs",
)
"""What :meth:`FaceTracker.reset` starts afresh, less its lock: the state that
:meth:`FaceTracker.saved` keeps."""


@dataclass(frozen=True)
class TrackerState:
    """A copy of a face tracker's state after some frames (:meth:`FaceTracker.saved`)."""

    values: dict[str, Any]


@register_stage
class FaceTracker(Stage[FaceTrackerSettings]):
    name = STAGE_NAME
    settings_type = FaceTrackerSettings
    analysis_only = True
    """Only writes ctx; the engine may overlap it with the previous frame's image stages."""
    rehearsed = True
    """The first frame's detection and mesh take 55-75 ms (the sessions' first runs) against
    5-15 ms: run before the swap, and forgotten (:meth:`reset`)."""

    def __init__(
        self,
        settings: FaceTrackerSettings | None = None,
        *,
        factory: SessionFactory | None = None,
    ) -> None:
        super().__init__(settings)
        self._factory = factory
        self.detector: FaceDetector | None = None
        self.mesh: FaceMesh | None = None
        self._unloadable: MeshGraph | None = None
        """A mesh graph asked for while open that could not be loaded (reported once): not
        tried again on every frame until the setting changes."""
        self.reset()

    # Lifecycle -------------------------------------------------------------
    def open(self) -> None:
        factory = self._factory or tracking_factory()
        self.detector = load_model(FaceDetector, factory)
        self.mesh = load_model(MESH_GRAPHS[self.settings.mesh_graph], factory)
        self._unloadable = None
        # Made once per process (cached), here rather than for the first face: its np.unique
        # imports numpy.ma, 65-165 ms of the first frame on the 2-core machine (2026-12-06),
        # and a preset switched to in a running engine opens beside the frames.
        landmark_tuning()
        self.reset()
        super().open()

    def models(self) -> tuple[OnnxModel, ...]:
        # Read once each: the processing thread may swap the mesh (_swap_mesh) meanwhile.
        detector, mesh = self.detector, self.mesh
        return tuple(model for model in (detector, mesh) if model is not None)

    def close(self) -> None:
        self.reset()
        super().close()

    def forget_frames(self) -> None:
        self.reset()

    def saved(self) -> TrackerState:
        """What the tracker knows of the frames so far (its faces, filters and counters), to
        go on from later with :meth:`restore` as if those frames were processed again: a
        build that reads many renders after the same first frames tracks those once."""
        return TrackerState(self._copied({k: getattr(self, k) for k in _TRACKER_STATE}))

    def restore(self, state: TrackerState) -> None:
        """Go on from a state this tracker :meth:`saved` (which stays as it was, to restore
        again; its models are this tracker's own, so another tracker's state is not for it)."""
        for name, value in self._copied(state.values).items():
            setattr(self, name, value)

    def _copied(self, values: dict[str, Any]) -> dict[str, Any]:
        # The models are shared, not copied (a pending pose job holds the mesh).
        memo = {id(m): m for m in (self.detector, self.mesh, self.settings) if m is not None}
        return copy.deepcopy(values, memo)

    def reset(self) -> None:
        """Forget every face (the next frame starts with a detection)."""
        self._tracks: list[_Track] = []
        self._fading: list[_Track] = []
        self._lost: list[_Lost] = []
        self._next_id = 1
        self._since_scan = 0
        self._seen_at: float | None = None
        """Timestamp of the last frame with a tracked face (or of the first frame)."""
        self._searched_at: float | None = None
        """Timestamp of the last detector run while no face was tracked."""
        self._last_t: float | None = None
        self._primary_id: int | None = None
        self._pose_ms = 0.0
        self._pose_lock = threading.Lock()
        self.pose_wanted = False
        """Whether a stage has read a face's pose or signals: from then on they are worked out
        on every frame, as the filters want; until then only when read (Studio never reads
        them)."""
        self.frames = 0
        self.detector_runs = 0
        self.mesh_runs = 0
        """Counters for the speed figures (detection and mesh rates)."""

    # Processing ------------------------------------------------------------
    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        if self.mesh is None or self.detector is None:
            self.open()
        assert self.mesh is not None and self.detector is not None
        if type(self.mesh) is MESH_GRAPHS[s.mesh_graph]:
            self._unloadable = None
        elif s.mesh_graph != self._unloadable:  # settings swapped while open
            self._swap_mesh(s.mesh_graph)
        bgr = as_bgr(image)
        h, w = bgr.shape[:2]
        t = ctx.timestamp
        self.frames += 1

        t0 = time.perf_counter()
        survivors: list[_Track] = []
        for track in self._tracks:
            if not track.roi.usable:  # no numbers left to crop with (OpenCV would read astray)
                self._lose(track, t)
                continue
            if track.key is not None and track.since_key + 1 < s.mesh_interval:
                carried = carry(track.key, bgr)
                if carried is None:
                    track.carry_wait = CARRY_BACKOFF
                else:
                    track.since_key += 1
                    track.raw = carried
                    track.seen_at = t
                    track.roi = track.roi_follower.next_roi(roi_from_landmarks(carried), t)
                    survivors.append(track)
                    continue
            result = self.mesh(bgr, track.roi)
            self.mesh_runs += 1
            if not _confirms(result, s) or (
                _outside_fraction(_box_of(result.landmarks), w, h) > OUT_OF_FRAME
            ):
                self._lose(track, t)
                continue
            track.raw = result.landmarks
            track.score = result.score
            track.seen_at = t
            self._keep_key(track, bgr, result, s)
            track.roi = track.roi_follower.next_roi(roi_from_landmarks(result.landmarks), t)
            survivors.append(track)
        self._tracks = self._dedupe(survivors, t)
        mesh_ms = (time.perf_counter() - t0) * 1000.0

        t1 = time.perf_counter()
        detected = False
        self._since_scan += 1
        if self._tracks:
            want_scan = len(self._tracks) < s.max_faces and self._since_scan >= s.scan_interval
        else:
            want_scan = self._search_due(t, s)
        if want_scan:
            detected = True
            self._since_scan = 0
            if not self._tracks:
                self._searched_at = t
            self.detector_runs += 1
            # The searches that recur (nobody in view, scans for more faces) take the cheaper
            # halved shrink; the first one keeps the direct shrink: it is a still picture's
            # only detection, paid once (the halving moved the profile avatar's rig landmarks,
            # found by this tracker, by 0.30 px mean, 1.2 max, off its measured jaw and
            # fold-free figures: tests/test_avatar_quality.py).
            detections = self.detector.detect(
                bgr, s.min_detection_score, tiles=True, antialias=True,
                halve=self.detector_runs > 1,
            )  # fmt: skip
            self._start_tracks(bgr, detections, t, s)
        if self._tracks:
            self._seen_at = t
        self._last_t = t
        detect_ms = (time.perf_counter() - t1) * 1000.0

        t2 = time.perf_counter()
        self._pose_ms = 0.0
        cam = PerspectiveCamera(w, h, s.vertical_fov)
        faces = [self._update_face(track, cam, t, s) for track in self._tracks]
        faces += self._fading_faces(t, s)
        faces.sort(key=lambda f: f.id)
        policy = PRIMARY_POLICIES.get(s.primary, _sticky)
        primary = policy(faces, self._primary_id, (w, h))
        self._primary_id = primary.id if primary is not None else None
        ctx.faces = faces
        ctx.primary_face = primary
        post_ms = (time.perf_counter() - t2) * 1000.0

        ctx.stage_ms[f"{STAGE_NAME}/mesh"] = mesh_ms
        ctx.stage_ms[f"{STAGE_NAME}/detect"] = detect_ms
        ctx.stage_ms[f"{STAGE_NAME}/post"] = post_ms
        ctx.stage_ms[f"{STAGE_NAME}/pose"] = self._pose_ms
        info: TrackerInfo = {
            "detected": detected,
            "tracked": len(self._tracks),
            "detector_runs": self.detector_runs,
            "frames": self.frames,
            "rois": [track.roi for track in self._tracks],
            "vertical_fov": s.vertical_fov,
        }
        ctx.put(TRACKER_INFO, info)
        return image

    def _swap_mesh(self, graph: MeshGraph) -> None:
        """Run ``graph``'s mesh from this frame on (the setting changed while open). One that
        cannot be loaded is reported once and the current one kept: the frame is tracked, and
        the load (an ONNX session made, 0.2-0.3 s) is not tried again on every frame."""
        try:
            self.mesh = load_model(MESH_GRAPHS[graph], self._factory or tracking_factory())
        except Exception as exc:  # a missing or changed model file, or ONNX Runtime's refusal
            self._unloadable = graph
            current = next(g for g, cls in MESH_GRAPHS.items() if type(self.mesh) is cls)
            self.report(
                f'the "{graph}" mesh graph could not be loaded ({exc}); '
                f'tracking goes on with the "{current}" one'
            )

    def _search_due(self, t: float, s: FaceTrackerSettings) -> bool:
        """Whether the detector runs on this frame while no face is tracked: on every frame
        for ``search_hold`` seconds after a face was last tracked, then once per
        ``search_period``."""
        last_t = self._last_t
        if self._seen_at is None or last_t is None or t < last_t:
            # The first frame, or time went back (a new stream): start over.
            self._seen_at, self._searched_at = t, None
        if t - self._seen_at < s.search_hold or self._searched_at is None:
            return True
        # Within half a frame of the period counts as due: camera timestamps jitter, and
        # 3 frames at 30 fps may add up to a hair under 0.1 s.
        half_frame = 0.5 * max(t - last_t, 0.0) if last_t is not None else 0.0
        return t - self._searched_at >= s.search_period - half_frame

    # Tracks ----------------------------------------------------------------
    def _start_tracks(
        self, bgr: np.ndarray, detections: list[Detection], t: float, s: FaceTrackerSettings
    ) -> None:
        assert self.mesh is not None
        h, w = bgr.shape[:2]
        tries = s.max_faces - len(self._tracks) + CONFIRM_SPARE
        for det in detections:
            if len(self._tracks) >= s.max_faces or tries <= 0:
                break
            centre = (det.box[:2] + det.box[2:]) / 2.0
            if any(_inside(centre, tr.bbox()) for tr in self._tracks):
                continue  # a face we already track
            roi = roi_from_detection(det.box, det.keypoints)
            if not roi.usable:
                continue
            tries -= 1
            result = self.mesh(bgr, roi)
            self.mesh_runs += 1
            if not _confirms(result, s):
                continue
            box = _box_of(result.landmarks)
            if _outside_fraction(box, w, h) > OUT_OF_FRAME:
                continue
            if any(box_iou(box, tr.bbox()) > DUPLICATE_IOU for tr in self._tracks):
                continue
            track = _new_track(self._take_id(box, t, s), result)
            self._keep_key(track, bgr, result, s)
            track.roi = roi_from_landmarks(result.landmarks)
            track.seen_at = t
            track.first_image = bgr
            self._fading = [f for f in self._fading if f.id != track.id]
            self._tracks.append(track)

    @staticmethod
    def _keep_key(
        track: _Track, bgr: np.ndarray, result: MeshResult, s: FaceTrackerSettings
    ) -> None:
        track.since_key = 0
        track.carry_wait = max(track.carry_wait - 1, 0)
        wanted = s.mesh_interval > 1 and track.carry_wait == 0 and track.frames >= CARRY_AFTER
        track.key = make_key(bgr, result.roi, result.landmarks) if wanted else None

    def _take_id(self, box: tuple[float, float, float, float], t: float, s: Any) -> int:
        """Reuse a recently lost face's id (see REID_*), else a new one."""
        self._lost = [g for g in self._lost if t - g.at <= REID_SECONDS]
        active = {tr.id for tr in self._tracks}
        candidates = [g for g in self._lost if g.id not in active]
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        best: _Lost | None = None
        best_d = math.inf
        for g in candidates:
            d = float(np.linalg.norm(centre - g.centre)) / g.size
            if (d < REID_DISTANCE or s.max_faces == 1) and d < best_d:
                best, best_d = g, d
        if best is not None:
            self._lost.remove(best)
            return best.id
        track_id = self._next_id
        self._next_id += 1
        return track_id

    def _lose(self, track: _Track, t: float) -> None:
        if not (np.isfinite(track.raw).all() and np.isfinite(track.smoothed).all()):
            return  # no place to fade at or to hand the id on from: dropped
        x0, y0, x1, y1 = track.bbox(smoothed=True)
        self._lost.append(
            _Lost(track.id, np.array([(x0 + x1) / 2, (y0 + y1) / 2]), track.size(), t)
        )
        self._fading.append(track)

    def _dedupe(self, tracks: list[_Track], t: float) -> list[_Track]:
        kept: list[_Track] = []
        for track in sorted(tracks, key=lambda tr: -tr.frames):
            if any(box_iou(track.bbox(), k.bbox()) > DUPLICATE_IOU for k in kept):
                continue  # the newer of two tracks that converged on one face
            kept.append(track)
        return sorted(kept, key=lambda tr: tr.id)

    def _update_face(
        self, track: _Track, cam: PerspectiveCamera, t: float, s: FaceTrackerSettings
    ) -> Face:
        track.frames += 1
        size = track.size()
        if s.smoothing > 0:
            # Larger "smoothing" lowers every cutoff: steadier, slower to follow.
            mc, beta = landmark_tuning()
            f = track.landmark_filter
            f.min_cutoff, f.beta = mc / s.smoothing, beta / s.smoothing
            track.smoothed = f(track.raw, t, scale=size, share_median=True).astype(np.float32)
        else:
            track.smoothed = track.raw
        job = _PoseJob(track, track.frames, track.raw, track.smoothed, cam, t, s)
        first_image, track.first_image = track.first_image, None
        with self._pose_lock:
            if first_image is not None and s.smoothing > 0:
                # Worked out now, or when a stage reads it, after later stages may have drawn
                # on the frame: the tracker's own copy then (0.6 ms at 720p, once a track).
                job.first_image = first_image if self.pose_wanted else first_image.copy()
                job.mesh = self.mesh
            if self.pose_wanted:
                # In frame order through the filters: a frame before this one whose pose a
                # stage has yet to read (the engine overlaps the tracker with the previous
                # frame's image stages) goes first.
                tp = time.perf_counter()
                if track.pending is not None:
                    self._resolve(track.pending)
                self._resolve(job)
                self._pose_ms += (time.perf_counter() - tp) * 1000.0
                track.pending = None
                return _face_of(track, 1.0)
            track.pending = job
        return _face_of(track, 1.0, self._derive(job))

    def _derive(self, job: _PoseJob) -> Callable[[], tuple[HeadPose | None, dict[str, Any]]]:
        """What a face's pose and signals are worked out with when a stage first reads them."""

        def derive() -> tuple[HeadPose | None, dict[str, Any]]:
            with self._pose_lock:
                self.pose_wanted = True
                pose, signals = self._resolve(job)
            return pose, dict(signals)

        return derive

    @staticmethod
    def _resolve(job: _PoseJob) -> tuple[HeadPose | None, dict[str, Any]]:
        """``job``'s pose and signals (worked out once; the caller holds the pose lock). A
        frame older than one already filtered (read late, out of order) gets its own pose
        unfiltered, and leaves the filters and the attention state as they are."""
        if job.result is None:
            track = job.track
            in_order = job.frame > track.pose_frame
            job.result = _pose_and_signals(job, in_order)
            if in_order:
                track.pose_frame = job.frame
                track.pose, track.signals = job.result
        return job.result

    def _fading_faces(self, t: float, s: FaceTrackerSettings) -> list[Face]:
        faces = []
        keep = []
        for track in self._fading:
            age = t - track.seen_at
            visibility = 1.0 - age / s.fade_seconds if s.fade_seconds > 0 else 0.0
            if visibility <= 0.0 or any(tr.id == track.id for tr in self._tracks):
                continue
            keep.append(track)
            # The pose and signals of its last tracked frame, as when it was tracked.
            pending = track.pending
            derive = None if pending is None else self._derive(pending)
            faces.append(_face_of(track, float(min(visibility, 1.0)), derive))
        self._fading = keep
        return faces


@dataclass
class _PoseJob:
    """One frame's head pose and signals of a track, worked out when first asked for."""

    track: _Track
    frame: int
    """The track's :attr:`_Track.frames` on this frame."""
    raw: np.ndarray
    smoothed: np.ndarray
    cam: PerspectiveCamera
    t: float
    settings: FaceTrackerSettings
    result: tuple[HeadPose | None, dict[str, Any]] | None = None
    first_image: np.ndarray | None = None
    """A new track's first frame, for its first pose (:data:`FIRST_POSE_RUNS`)."""
    mesh: FaceMesh | None = None
    """The mesh that runs on :attr:`first_image`."""


def _pose_and_signals(job: _PoseJob, update: bool) -> tuple[HeadPose, dict[str, Any]]:
    """The head pose (fitted to the raw landmarks, a new track's first to those of
    :func:`_own_roi_landmarks`, then filtered) and the signals of ``job``'s frame; ``update``
    False: unfiltered, the track's filters and attention state untouched."""
    track, s, t = job.track, job.settings, job.t
    landmarks = job.raw
    first_image, job.first_image = job.first_image, None  # let go once worked out
    # A new track's first filtered pose (smoothing 0: each frame's own landmarks' pose).
    starts = update and s.smoothing > 0 and track.angle_filter.value is None
    if first_image is not None and job.mesh is not None and starts:
        landmarks = _own_roi_landmarks(job.mesh, first_image, job.raw, s.min_tracking_score)
    transform = fit_transform(landmarks, job.cam)
    scale = float(np.linalg.norm(transform[:3, 0]))
    angles = np.array(rotation_to_angles(transform[:3, :3]))
    translation = transform[:3, 3]
    if s.smoothing > 0 and update:
        for pf, tuning in (
            (track.angle_filter, POSE_ANGLE_TUNING),
            (track.translation_filter, POSE_TRANSLATION_TUNING),
        ):
            pf.min_cutoff = np.asarray(tuning[0] / s.smoothing)
            pf.beta = np.asarray(tuning[1] / s.smoothing)
        angles = track.angle_filter(angles, t)
        translation = track.translation_filter(translation, t)
    smooth_transform = np.eye(4)
    smooth_transform[:3, :3] = scale * angles_to_rotation(*angles)
    smooth_transform[:3, 3] = translation
    pose = HeadPose(
        yaw=float(angles[0]),
        pitch=float(angles[1]),
        roll=float(angles[2]),
        transform=smooth_transform,
    )
    signals = face_signals(
        job.smoothed,
        smooth_transform,
        track.attention if update else copy.deepcopy(track.attention),
        t,
        away_angle=s.away_angle,
        hold=s.away_hold,
    )
    return pose, signals


def _own_roi_landmarks(
    mesh: FaceMesh, image: np.ndarray, landmarks: np.ndarray, min_score: float
) -> np.ndarray:
    """A new track's first ``landmarks`` (from the detector's crop) as the track finds them
    :data:`FIRST_POSE_RUNS` frames later were ``image`` still: the mesh on its own ROI, which
    follows its landmarks as the track's does (the last landmarks it still finds a face with,
    ``min_score``, as tracking keeps a face)."""
    follower = _RoiFollower()
    roi = roi_from_landmarks(landmarks)
    for run in range(1, FIRST_POSE_RUNS + 1):
        result = mesh(image, roi)
        if not (result.score >= min_score and np.isfinite(result.landmarks).all()):
            break
        landmarks = result.landmarks
        if run < FIRST_POSE_RUNS:
            roi = follower.next_roi(roi_from_landmarks(landmarks), run * FIRST_POSE_STEP_S)
    return landmarks


def _face_of(
    track: _Track,
    visibility: float,
    derive: Callable[[], tuple[HeadPose | None, dict[str, Any]]] | None = None,
) -> Face:
    x0, y0, x1, y1 = track.bbox(smoothed=True)
    common: dict[str, Any] = {
        "id": track.id,
        "score": float(track.score),
        "bbox": (x0, y0, x1 - x0, y1 - y0),
        "landmarks": track.smoothed,
        "raw_landmarks": track.raw,
        "visibility": visibility,
    }
    if derive is not None:
        return DerivedFace(**common, derive=derive)
    return Face(**common, pose=track.pose, signals=dict(track.signals))


def _confirms(result: MeshResult, s: FaceTrackerSettings) -> bool:
    """Whether a mesh run found a face to track: its presence score is at least
    ``min_tracking_score`` and its landmarks are numbers (a NaN score or landmark, were the
    network ever to give one, loses the face instead of cropping the next frame with NaN)."""
    return result.score >= s.min_tracking_score and bool(np.isfinite(result.landmarks).all())


def _box_of(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    # Per column: 10 µs where min/max over the N×2 view (strided rows) took 39.
    x, y = landmarks[:, 0], landmarks[:, 1]
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def _inside(point: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]
