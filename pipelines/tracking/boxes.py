"""The ``face_boxes`` stage: where the faces are, from the face detector alone, at a low rate.

Only-me (issue 17) needs to know where each person's face is, not 478 points of it: which blob
is yours, which is somebody else's, and where two touching people's bodies stand. The face
tracker gives that at the price of one mesh inference per face per frame; this stage runs the
detector (the whole frame and its square tiles, as the tracker's scans do) every ``interval``
frames and follows the boxes between runs by overlap, with stable ids. Between runs a box stays
where it was last seen: only-me reads it as a point inside your blob and a body column below
it, which a person does not leave in a third of a second.

The boxes go to their own slot, :data:`FACE_BOXES`, never to ``ctx.faces``: every effect that
reads ``ctx.faces`` or ``ctx.primary_face`` wants the mesh. Their ids are negative so they are
never taken for one of the tracker's.

A face must be a face: the detector takes patterns for faces (beside the astronaut photo, its
orange sleeve enlarged is a 0.71-score "face" four times the width of her own 0.92 one), and
only-me, which locks on to the largest central face, locked on to the sleeve and cut the user
out (the mask over her face 0.0). So each new box is shown to the face mesh once, on the run
that finds it (:func:`~pipelines.tracking.picture.confirmed_faces`, the still picture's check;
presence 0.001 on the sleeve, 1.0 on her face); a box the mesh rejects is followed like any
other (so it is not asked again on every run) but left out of :data:`FACE_BOXES`. It is asked
again only once it has moved or grown (:data:`RECHECK_FACE_SIZES`: a face that came in half
outside the picture) or after :data:`RECHECK_S`. A check costs about 6 ms of CPU on the frame
that finds a new box (the demo portrait: once in 240 frames; the only-me test sequences, a
user who leaves and comes back and a bystander: 3 in 84 frames); the other frames cost what
they did (same demo portrait, 2026-12-06, load 1.5-2.5, six alternated runs: 0.91-1.43 ms a
frame after the first against 0.88-1.30 before).

Cost at 720p (the demo portrait, 240 frames at 30 fps, process CPU time, 2026-12-02, load 21,
side by side): 1.5-1.6 ms a frame against 7.2-8.0 ms for the face tracker following two faces
that only-me used before, about a fifth; a detector run costs about 1.3 mesh inferences and
lands on one frame in eight (every other frame while a face moves fast).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from msgspec import Meta

from pipelines.frame import CtxKey, FrameContext
from pipelines.inference import OnnxModel, SessionFactory, load_model
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking.detector import Detection, FaceDetector
from pipelines.tracking.mesh import FaceMesh

STAGE_NAME = "face_boxes"

MOVING_FACE_SIZES_PER_S = 1.0
"""A box that moved faster than this many face sizes a second between two runs is moving: the
next run comes after a quarter of the interval (a box left behind while a person walks in
puts the seam between two touching people in the wrong place: the walking bystander's mass
kept rose to 40 % with a fixed interval; moving the boxes on by their velocity instead
overshot when he stopped and cut into you, IoU 0.80)..."""
MOVING_MIN_FACE_SIZES = 0.1
"""...and by more than this many face sizes (the detector's own jitter between two runs a
frame apart is a few pixels)."""

MATCH_IOU = 0.2
"""A detection that overlaps a known box this much (intersection over union) is the same face..."""
MATCH_DISTANCE = 1.5
"""...as is one whose centre lies within this many face sizes of a known box's centre (a
face walking across the picture moves about a face size between two runs)."""

RECHECK_FACE_SIZES = 0.5
"""A box the face mesh rejected is shown to it again once its centre has moved, or its size
changed, by this many face sizes since (a face that came in half outside the picture)..."""
RECHECK_S = 2.0
"""...or this many capture seconds after the last check (a decoy that stays where it is costs
one mesh inference in this time, about 0.1 ms a frame at 30 fps)."""


@dataclass(frozen=True)
class FaceBox:
    """A face the detector found: where it is, not its shape."""

    id: int
    """Stable while the face is found; negative (the mesh tracker's ids are positive)."""
    score: float
    bbox: tuple[float, float, float, float]
    """x, y, width, height in frame pixels."""
    visibility: float = 1.0
    """Always 1: a box that is not found any more leaves the list (no fading)."""


FACE_BOXES: CtxKey[list[FaceBox]] = CtxKey("face_boxes")


@dataclass(frozen=True)
class FaceBoxesSettings(StageSettings):
    interval_s: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.25
    """Capture seconds between detector runs (every 8th frame at 30 fps): a newcomer is
    found, and a face that left is gone, within this time."""
    max_faces: Annotated[int, Meta(ge=1, le=16)] = 4
    """At most this many boxes, the highest scores first."""
    min_score: Annotated[float, Meta(ge=0.05, le=1.0)] = 0.5
    misses: Annotated[int, Meta(ge=1, le=100)] = 1
    """A box the detector misses on this many runs in a row is gone. One: a face that left
    must not stay (only-me would keep whoever steps into its place), and only-me's lock
    holds your place while a turned head is not found."""


@dataclass
class _Box:
    id: int
    score: float
    bbox: tuple[float, float, float, float]
    at: float
    """Capture time of the run that found it last..."""
    first_at: float
    """...and first."""
    missed: int = 0
    moving: bool = False
    """It moved faster than :data:`MOVING_FACE_SIZES_PER_S` since the run before."""
    face: bool | None = None
    """The face mesh's verdict (None: not asked; a box it rejected is no face and not shown)..."""
    checked: tuple[float, tuple[float, float, float, float]] | None = None
    """...and the capture time and box it was asked on."""


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _distance(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Centre distance in the known box ``a``'s sizes."""
    return math.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2) / max(
        a[2], a[3], 1.0
    )


class BoxTracks:
    """Boxes followed from one detector run to the next (no models: the stage feeds it)."""

    def __init__(self) -> None:
        self.boxes: list[_Box] = []
        self._next_id = -1

    def update(
        self,
        found: Sequence[tuple[float, tuple[float, float, float, float]]],
        max_faces: int,
        misses: int,
        t: float = 0.0,
    ) -> None:
        """One detector run's (score, box) pairs: each takes over the known box it overlaps
        most (keeping its id), the rest become new boxes; known boxes not found count a miss."""
        ranked = sorted(found, key=lambda d: -d[0])[:max_faces]
        taken: set[int] = set()
        fresh: list[_Box] = []
        for score, bbox in ranked:
            best, best_key = None, (0.0, -math.inf)
            for i, known in enumerate(self.boxes):
                if i in taken:
                    continue
                overlap = _iou(known.bbox, bbox)
                near = _distance(known.bbox, bbox)
                if overlap < MATCH_IOU and near > MATCH_DISTANCE:
                    continue
                key = (overlap, -near)
                if key > best_key:
                    best, best_key = i, key
            if best is None:
                fresh.append(_Box(self._next_id, score, bbox, t, t))
                self._next_id -= 1
                continue
            taken.add(best)
            known = self.boxes[best]
            dt = max(t - known.at, 1e-3)
            known.moving = _distance(known.bbox, bbox) > max(
                MOVING_FACE_SIZES_PER_S * dt, MOVING_MIN_FACE_SIZES
            )
            known.score, known.bbox, known.missed, known.at = score, bbox, 0, t
        for i, known in enumerate(self.boxes):
            if i not in taken:
                known.missed += 1
        kept = [b for b in self.boxes if b.missed < misses] + fresh
        self.boxes = sorted(kept, key=lambda b: -b.score)[:max_faces]

    def faces(self) -> list[FaceBox]:
        """The boxes, less those the face mesh rejected."""
        return [FaceBox(b.id, b.score, b.bbox) for b in self.boxes if b.face is not False]

    def to_check(self, t: float) -> list[_Box]:
        """The boxes found on the run at ``t`` that the face mesh should see: new ones, and
        rejected ones that moved or grown since (:data:`RECHECK_FACE_SIZES`) or were last
        asked :data:`RECHECK_S` ago."""
        out = []
        for b in self.boxes:
            if b.at != t or b.face is True:
                continue
            if b.face is None or b.checked is None:
                out.append(b)
                continue
            at, bbox = b.checked
            size = max(bbox[2], bbox[3], 1.0)
            grown = abs(max(b.bbox[2], b.bbox[3]) - size) / size
            moved = max(_distance(bbox, b.bbox), grown)
            if moved >= RECHECK_FACE_SIZES or t - at >= RECHECK_S:
                out.append(b)
        return out

    @property
    def moving(self) -> bool:
        """Whether a box is moving (or new: it may be walking in)."""
        return any(b.moving or b.at == b.first_at for b in self.boxes)


@register_stage
class FaceBoxes(Stage[FaceBoxesSettings]):
    name = STAGE_NAME
    settings_type = FaceBoxesSettings
    analysis_only = True
    """Only writes ctx; the engine may overlap it with the previous frame's image stages."""

    def __init__(
        self, settings: FaceBoxesSettings | None = None, *, factory: SessionFactory | None = None
    ) -> None:
        super().__init__(settings)
        self._factory = factory
        self.detector: FaceDetector | None = None
        self.mesh: FaceMesh | None = None
        self.reset()

    def open(self) -> None:
        from pipelines.tracking.tracker import tracking_factory

        factory = self._factory or tracking_factory()
        self.detector = load_model(FaceDetector, factory)
        self.mesh = load_model(FaceMesh, factory)
        self.reset()
        super().open()

    def models(self) -> tuple[OnnxModel, ...]:
        detector, mesh = self.detector, self.mesh
        return tuple(model for model in (detector, mesh) if model is not None)

    def close(self) -> None:
        self.reset()
        super().close()

    def forget_frames(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.tracks = BoxTracks()
        self._last_run: float | None = None
        self.frames = 0
        self.detector_runs = 0
        self.mesh_checks = 0

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        from pipelines.tracking.tracker import as_bgr

        s = self.settings
        if self.detector is None:
            self.open()
        assert self.detector is not None and self.mesh is not None
        t0 = time.perf_counter()
        t = ctx.timestamp
        last = self._last_run
        # Within a frame's jitter of the interval counts (1 ms): a 30 fps camera's frames
        # 0.25 s apart may be stamped 0.2499 s apart.
        interval = s.interval_s / 4 if self.tracks.moving else s.interval_s
        if last is None or not 0.0 <= t - last < interval - 1e-3:
            self._last_run = t
            self.detector_runs += 1
            bgr = as_bgr(image)
            detections = self.detector.detect(
                bgr, s.min_score, tiles=True, antialias=True, halve=True
            )
            by_box = {(float(d.box[0]), float(d.box[1]), d.width, d.height): d for d in detections}
            self.tracks.update([(d.score, b) for b, d in by_box.items()], s.max_faces, s.misses, t)
            self._confirm(bgr, by_box, t)
        self.frames += 1
        ctx.put(FACE_BOXES, self.tracks.faces())
        ctx.stage_ms[f"{STAGE_NAME}/detect"] = (time.perf_counter() - t0) * 1000.0
        return image

    def _confirm(
        self,
        image_bgr: np.ndarray,
        detections: dict[tuple[float, float, float, float], Detection],
        t: float,
    ) -> None:
        """The face mesh's verdict on the boxes that want one (:meth:`BoxTracks.to_check`),
        each on the detection the run at ``t`` found it by."""
        from pipelines.tracking.picture import confirmed_faces

        assert self.mesh is not None
        for box in self.tracks.to_check(t):
            detection = detections.get(box.bbox)
            if detection is None:
                continue
            self.mesh_checks += 1
            box.face = bool(confirmed_faces(image_bgr, [detection], self.mesh))
            box.checked = (t, box.bbox)
