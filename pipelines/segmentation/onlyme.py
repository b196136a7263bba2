"""Only me: keep in the person mask the one person the camera is for, and nobody else.

Every portrait network marks everyone it sees as "person": people walking behind you stay
sharp, and a colleague beside you shares your mask. :class:`OnlyMe` chooses *you* (the largest,
most central face at start, or the face the user picks), locks on to you, and at the model's
resolution, before refinement, keeps only your part of the mask:

- person blobs that touch your face (or, while your face is not seen, the place it was) stay;
- blobs of other tracked faces go, and a blob you share with another tracked face (someone
  right beside you) is split between you along the picture's edges (a watershed from each
  face and the column below it, or without the picture the line halfway between them); a
  person who comes up to you from apart is seeded further with both your blobs as they were
  when you stood apart, moved as your faces moved since (the nearer, larger face hides the
  other where they overlap), and his side of the seam is cut hard;
- bodies whose faces are not seen go unless they touch you; a small blob just beside you (a
  raised hand, a held mug) stays.

Lock on: while your face is not seen (you turn away, bend down, step out), the mask keeps the
blob where you were and another face never becomes you; a face that comes back near where you
were is you again. Only after ``hold_s`` without you does the lock let go and choose afresh.

The faces are faces: the tracker's have a mesh, and the ``face_boxes`` stage shows every new
box to the mesh once and drops those it rejects (a detector "face" on a sleeve, larger than
yours, was locked on and kept the sleeve's body instead of you).

Without a face tracker in the preset the same runs on blobs alone: the largest central blob at
start, then the blob that overlaps the one kept before.

Cost at 256×144: one connected-components pass and a few small masks, 0.1-0.3 ms; with a
blob shared with someone beside you (the watershed) about 2 ms (median, 2-core machine under
load 3.4); the seeds carried from apart added nothing (new/old medians 0.96, alternated runs
over the touching bystander's frames).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from pipelines.tracking.boxes import FaceBox
    from pipelines.tracking.types import Face

    SeenFace = Face | FaceBox
    """A face the tracker follows, or a face the detector only found (its box)."""

PERSON_THRESHOLD = 0.5
"""Model pixels above this count as person when finding connected people."""
REACQUIRE_FACE_SIZES = 1.0
"""A face whose centre comes back within this many face sizes of where yours was last seen is
you again (the tracker's own re-identification uses 1.5 within 3 s)."""
BODY_LENGTH_FACE_SIZES = 4.0
"""A body is taken as the column from the face's centre down this many face sizes: the split
between two touching people is halfway between these columns."""
SPLIT_SOFTNESS = 0.12
"""Width, in face sizes, of the soft seam between two touching people."""
NEAR_BLOB_FACE_SIZES = 0.35
"""A blob whose face is not seen stays if it comes this close to you (in your face sizes)..."""
NEAR_BLOB_MAX_SHARE = 0.15
"""...and is smaller than this share of your own blob: a hand or a held object, not a body."""
SEED_HALF_WIDTH = 0.25
"""Half width, in face sizes, of the body column below each face that seeds the watershed
(wider seeds measured worse: they reach across the seam when one person stands behind the
other)."""
HEAD_SEED_HALF_WIDTH = 0.4
"""Half width, in face sizes, of the seed over each head..."""
HEAD_SEED_UP = 0.9
"""...which reaches this many face sizes above the face's centre (the hair)."""
KEEP_GROW_PX = 2
"""The kept blobs are grown by this many model pixels so their faint outline stays (on the
touching bystander: 1 px took your IoU to 0.975 and his share to 5 % at the worst, 0 px 0.956
and 3 %; 2 px 0.981 and 7.8 %)."""
SEAM_KEEP_PX = 0
"""Across the seam with another person, your grown, feathered outline reaches this many model
pixels into his side and no further. On the touching bystander (his mass left while he walks
in / stands beside you, your IoU at the worst; a replay of the test's sequence at 256×144,
upsampled bilinearly): 0 px 1.0 % / 0.4 %, 0.984; 1 px 2.5 % / 1.5 %, 0.989; 2 px 4.0 % /
2.5 %, 0.991. Without the seeds carried from apart (:meth:`OnlyMe._carry`) 0 px cost your IoU
(0.975)."""
CARRY_SHRINK_PX = 0
"""Model pixels each person's area carried from when you stood apart is shrunk by before it
seeds the split (on the touching bystander, through the whole stage: 0 px 1.5 % of him left
while he walks in, your IoU 0.982; 1 px 2.2 %, 0.983; 3 px 5.3 % in the replay)."""
CARRY_MATCH = 1.0
"""A face is the same person as on the last frame within this many face sizes..."""
CARRY_SIZE_RATIO = 1.25
"""...and at most this much larger or smaller."""
KEEP_FEATHER = 1.5
"""Gaussian sigma (model pixels) of the edge where another person is faded out."""
CENTRAL_WEIGHT = 1.5
"""Start: a face's claim is area / (1 + CENTRAL_WEIGHT × distance from the centre in frame
widths)², so a face at the edge must be much larger than a central one to win."""


@dataclass
class _Apart:
    """Another person as last seen apart from you (model resolution)."""

    centre: tuple[float, float]
    """His face's centre then."""
    size: float
    """His face's size then."""
    area: np.ndarray
    """His blob then (bool)."""
    last: tuple[float, float]
    """His face's centre on the last frame."""
    you: tuple[float, float, np.ndarray]
    """Your face's centre then, and your blobs then (bool)."""


@dataclass
class Anchor:
    """Where you were last seen."""

    centre: tuple[float, float]
    """Face centre, frame pixels."""
    size: float
    """Face size (larger side of the landmark box), frame pixels."""
    face_id: int | None
    """The tracker's id of your face; None when locked on a blob (no tracker)."""
    seen_at: float
    """Capture time you were last seen."""


def _moved(area: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """``area`` (bool) moved by ``shift`` model pixels, as uint8 0/1."""
    h, w = area.shape
    matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
    return cv2.warpAffine(area.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST)


def _member(labels: np.ndarray, ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """uint8 0/1: the pixels whose label is one of ``ids`` (a few)."""
    out = np.zeros(labels.shape, np.uint8)
    for label in ids:
        out |= np.equal(labels, label).view(np.uint8)
    return out


def _face_centre_size(face: SeenFace) -> tuple[tuple[float, float], float]:
    x, y, w, h = (float(v) for v in face.bbox[:4])
    return (x + w / 2.0, y + h / 2.0), max(w, h, 1.0)


def _claim(face: SeenFace, frame_size: tuple[int, int]) -> float:
    (cx, cy), size = _face_centre_size(face)
    w, h = frame_size
    off = math.hypot(cx - w / 2.0, cy - h / 2.0) / max(w, 1)
    return size * size * face.visibility / (1.0 + CENTRAL_WEIGHT * off) ** 2


def only_me_faces(faces: Sequence[Face], boxes: Sequence[FaceBox] | None) -> list[SeenFace]:
    """The tracker's faces and the detector's boxes (the ``face_boxes`` stage) that are not
    one of them: a box whose centre lies inside a tracked face is that face."""
    out: list[SeenFace] = list(faces)
    for box in boxes or ():
        (cx, cy), _ = _face_centre_size(box)
        if not any(
            f.bbox[0] <= cx <= f.bbox[0] + f.bbox[2] and f.bbox[1] <= cy <= f.bbox[1] + f.bbox[3]
            for f in faces
        ):
            out.append(box)
    return out


class OnlyMe:
    """The lock on the user and the mask filter (state lives here, one per segmentation
    stage). :meth:`pick` may be called from any thread: it leaves one request that the next
    frame reads."""

    def __init__(self) -> None:
        self.anchor: Anchor | None = None
        self._pick: tuple[float, float] | None = None
        self._kept: np.ndarray | None = None
        """Blob mode: the area kept when you were last seen (bool, model resolution)..."""
        self._kept_at = 0.0
        """...and when."""
        self._apart: list[_Apart] = []
        """The other people as last seen apart from you, while you were there (their areas
        seed the split when they come up beside you)."""

    def reset(self) -> None:
        self.anchor = None
        self._kept = None
        self._apart = []

    def pick(self, x: float, y: float) -> None:
        """Lock on to the person at (``x``, ``y``), fractions of the frame's width and height
        (the window's "this is me" click); takes effect on the next frame."""
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"pick point ({x}, {y}) must lie in the frame (0..1)")
        self._pick = (x, y)

    # Who is me ----------------------------------------------------------------------------
    def choose(
        self, faces: Sequence[SeenFace], frame_size: tuple[int, int], t: float, hold_s: float
    ) -> SeenFace | None:
        """Your face on this frame, or None when it is not seen (the lock then keeps your
        place for ``hold_s`` seconds). Updates the lock."""
        visible = [f for f in faces if f.visibility > 0.0]
        pick, self._pick = self._pick, None
        if pick is not None:
            point = (pick[0] * frame_size[0], pick[1] * frame_size[1])
            self._kept = None
            face = self._face_at(visible, point)
            if face is None:
                # No face there: lock on to whatever body is at that point (blob mode).
                self.anchor = Anchor(point, 0.1 * frame_size[0], None, t)
                return None
            return self._lock(face, t)

        anchor = self.anchor
        if anchor is not None and anchor.face_id is not None:
            for f in visible:
                if f.id == anchor.face_id:
                    return self._lock(f, t)
            for f in visible:
                if f.visibility < 1.0:
                    continue  # a fading face is somebody the tracker just lost, not a return
                centre, _ = _face_centre_size(f)
                gap = math.hypot(centre[0] - anchor.centre[0], centre[1] - anchor.centre[1])
                if gap <= REACQUIRE_FACE_SIZES * anchor.size:
                    return self._lock(f, t)
            if t - anchor.seen_at <= hold_s:
                return None  # locked: your place is kept, nobody else becomes you
            self.anchor = None
        elif anchor is not None and visible:
            # Locked on a blob (picked, or no face before): a face inside it becomes you.
            face = self._face_at(visible, anchor.centre, within=anchor.size)
            if face is not None:
                return self._lock(face, t)
            return None
        elif anchor is not None:
            return None

        tracked = [f for f in visible if f.visibility >= 1.0]
        if not tracked:
            return None
        return self._lock(max(tracked, key=lambda f: _claim(f, frame_size)), t)

    def _lock(self, face: SeenFace, t: float) -> SeenFace:
        centre, size = _face_centre_size(face)
        self.anchor = Anchor(centre, size, int(face.id), t)
        self._kept = None
        return face

    @staticmethod
    def _face_at(
        faces: Sequence[SeenFace], point: tuple[float, float], within: float = math.inf
    ) -> SeenFace | None:
        best, best_d = None, math.inf
        for f in faces:
            (cx, cy), _size = _face_centre_size(f)
            x, y, w, h = (float(v) for v in f.bbox[:4])
            inside = x <= point[0] <= x + w and y <= point[1] <= y + h
            d = 0.0 if inside else math.hypot(point[0] - cx, point[1] - cy)
            if d < best_d and d <= within:
                best, best_d = f, d
        return best

    # The mask -----------------------------------------------------------------------------
    def apply(
        self,
        mask: np.ndarray,
        faces: Sequence[SeenFace],
        me: SeenFace | None,
        frame_size: tuple[int, int],
        small: np.ndarray | None = None,
        *,
        t: float = 0.0,
        hold_s: float = math.inf,
        require_face: bool = False,
    ) -> np.ndarray:
        """``mask`` (model resolution, float32 in [0, 1]) with everyone but you removed (a new
        array, or ``mask`` itself when there is nothing to remove). ``small``: the frame at
        the mask's size (BGR uint8); with it, a blob shared with another person is split
        along the picture's edges, without it along the line halfway between the bodies.
        ``require_face``: with no face locked on (none seen yet, or only a picked place or a
        blob), nothing is kept instead of the blob mode's largest central blob."""
        if require_face and me is None and (self.anchor is None or self.anchor.face_id is None):
            # Fail closed: no face has said where a person is, so the network's "person" may
            # be anything (a cup and saucer filling the frame kept 60 % of it sharp).
            self._kept = None
            return np.zeros_like(mask)
        mh, mw = mask.shape
        sx, sy = mw / frame_size[0], mh / frame_size[1]
        binary = (mask > PERSON_THRESHOLD).astype(np.uint8)
        # The labels alone, and the blobs' areas by one count: with its statistics (box and
        # area of every blob) the labelling cost 0.27 ms at 256×144, without 0.05 (one
        # thread); only the blob mode, which wants the boxes, asks for them.
        count, labels = cv2.connectedComponents(binary, connectivity=8)
        if count <= 1:
            return mask  # nobody: nothing to remove (blob mode keeps its place meanwhile)

        others = [f for f in faces if f is not me and f.visibility > 0]
        anchor = self.anchor
        if me is not None:
            (cx, cy), size = _face_centre_size(me)
        elif anchor is not None:
            (cx, cy), size = anchor.centre, anchor.size
        else:
            return self._blob_mode(mask, binary, frame_size, t, hold_s)

        me_px = (cx * sx, cy * sy)
        me_size = size * sx
        mine = self._labels_near(labels, me_px, max(1.0, 0.25 * me_size))
        if mine.size == 0:
            if anchor is not None and anchor.face_id is None:
                return self._blob_mode(mask, binary, frame_size, t, hold_s)
            # Nothing of you where your face is (a face with no body under it, or you left
            # your seat): keep nothing rather than guess someone else.
            return self._fade_outside(mask, np.zeros_like(binary))

        other_people = [
            (c[0] * sx, c[1] * sy, size * sx) for c, size in map(_face_centre_size, others)
        ]
        # Blobs that are somebody else's: they hold another face's centre and not yours.
        theirs: set[int] = set()
        shared: list[tuple[float, float, float]] = []
        apart: list[tuple[tuple[float, float], float, np.ndarray]] = []
        for ox, oy, osize in other_people:
            in_my_place = me is None and math.hypot(ox - me_px[0], oy - me_px[1]) <= (
                REACQUIRE_FACE_SIZES * me_size
            )
            own: list[int] = []
            for label in self._labels_near(labels, (ox, oy), max(1.0, 0.25 * osize)):
                if label in mine and not in_my_place:
                    if (ox, oy, osize) not in shared:
                        shared.append((ox, oy, osize))
                else:
                    theirs.add(int(label))
                    own.append(int(label))
            if own and (ox, oy, osize) not in shared:
                apart.append(((ox, oy), osize, np.isin(labels, own)))
        carried, self._apart = self._carry(self._apart, (*me_px, me_size), shared, mask)
        mine = np.array([label for label in mine if label not in theirs], np.int32)
        if mine.size == 0:
            return self._fade_outside(mask, np.zeros_like(binary))
        if me is not None and apart:
            you = (*me_px, np.isin(labels, mine))
            self._apart += [_Apart(c, size, area, c, you) for c, size, area in apart]

        # Which blobs are kept, by label; the pixels of a few labels by comparisons (np.isin
        # over the labels cost 0.2 ms at 256×144, a lookup 0.06, a comparison 0.003).
        kept = np.zeros(count, np.uint8)
        kept[mine] = 1
        members = [np.empty(0, np.uint8)] + [_member(labels, [label]) for label in range(1, count)]
        areas = [0] + [cv2.countNonZero(members[label]) for label in range(1, count)]
        mine_area = float(sum(areas[label] for label in mine))
        # Blobs whose face is not seen and are small (the model's specks beside you are most
        # frames' other blobs: 1-6 of them on the demo) stay when near you: a hand or
        # something you hold. Not a body whose face is not seen, not connected to you.
        small_blobs = [
            label
            for label in range(1, count)
            if not kept[label]
            and label not in theirs
            and areas[label] <= NEAR_BLOB_MAX_SHARE * mine_area
        ]
        if small_blobs:
            reach = 2 * max(1, round(NEAR_BLOB_FACE_SIZES * me_size)) + 1
            near = cv2.dilate(_member(labels, mine), np.ones((reach, reach), np.uint8))
            # Whether any of a blob's pixels lie within reach of yours, blob by blob on its
            # pixels picked above: 3 µs a blob at 256×144, where one count of all the blobs'
            # pixels in reach (np.bincount over labels[near > 0]) took 57 µs.
            for label in small_blobs:
                if cv2.countNonZero(cv2.bitwise_and(members[label], near)):
                    kept[label] = 1
        if not shared and bool(kept[1:].all()):
            return mask  # every blob is yours: nothing to remove, the mask is left as it is
        keep = _member(labels, np.flatnonzero(kept))
        weight = keep.astype(np.float32)
        theirs_core: np.ndarray | None = None
        if shared:
            split = self._split_weight(mask.shape, (*me_px, me_size), shared)
            if small is not None and small.shape[:2] == mask.shape:
                split, theirs_core = self._split_on_edges(
                    small, mask, split, (*me_px, me_size), shared, carried
                )
            weight *= split
        out = self._fade_outside(mask, weight)
        if theirs_core is not None:
            # Your outline is grown and feathered so its faint edge stays against the room;
            # across the seam that band lay on the other person (most of what was left of
            # him while he stood beside you). His side of the seam, but for the pixels next
            # to it, is cut hard.
            out *= 1.0 - theirs_core
        return out

    @staticmethod
    def _labels_near(labels: np.ndarray, point: tuple[float, float], radius: float) -> np.ndarray:
        """Labels (> 0) of the blobs within ``radius`` model pixels of ``point``."""
        h, w = labels.shape
        x, y = point
        r = math.ceil(radius)
        x0, x1 = max(0, int(x) - r), min(w, int(x) + r + 1)
        y0, y1 = max(0, int(y) - r), min(h, int(y) + r + 1)
        if x1 <= x0 or y1 <= y0:
            return np.zeros(0, np.int32)
        found = np.unique(labels[y0:y1, x0:x1])
        return found[found > 0]

    @staticmethod
    def _split_weight(
        shape: tuple[int, int],
        me: tuple[float, float, float],
        others: list[tuple[float, float, float]],
    ) -> np.ndarray:
        """1 where a pixel is nearer your body than any other touching person's, 0 where it
        is nearer theirs, with a soft seam; distances are in each person's face sizes."""
        h, w = shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

        def body_distance(px: float, py: float, size: float) -> np.ndarray:
            dy = np.clip(yy - py, 0.0, BODY_LENGTH_FACE_SIZES * size)
            return np.hypot(xx - px, yy - py - dy) / np.float32(max(size, 1.0))

        d_me = body_distance(*me)
        out = np.ones((h, w), np.float32)
        for other in others:
            margin = (body_distance(*other) - d_me) / np.float32(SPLIT_SOFTNESS)
            out = np.minimum(out, np.clip(0.5 + margin, 0.0, 1.0))
        return out

    @staticmethod
    def _carry(
        known: list[_Apart],
        me: tuple[float, float, float],
        shared: list[tuple[float, float, float]],
        mask: np.ndarray,
    ) -> tuple[np.ndarray | None, list[_Apart]]:
        """Seeds for the people who share your blob, from when they stood apart: each one's
        blob then, moved as his face moved since, less your blobs then, moved as your face
        moved (where he walked up behind you, you hide him), shrunk by
        ``CARRY_SHRINK_PX`` and where the mask is person now. Returns the seeds (0: none,
        3 + i: ``shared[i]``; None when there are none) and those still followed."""
        followed: list[_Apart] = []
        if not known or not shared:
            return None, followed
        h, w = mask.shape
        seeds = np.zeros((h, w), np.int32)
        shrink = np.ones((2 * CARRY_SHRINK_PX + 1,) * 2, np.uint8)
        person = mask > PERSON_THRESHOLD
        mine: np.ndarray | None = None
        for i, (ox, oy, osize) in enumerate(shared):
            best = min(known, key=lambda k: math.hypot(k.last[0] - ox, k.last[1] - oy))
            ratio = max(osize, 1.0) / max(best.size, 1.0)
            if (
                best.area.shape != (h, w)
                or math.hypot(best.last[0] - ox, best.last[1] - oy) > CARRY_MATCH * osize
                or not 1.0 / CARRY_SIZE_RATIO <= ratio <= CARRY_SIZE_RATIO
            ):
                continue
            known = [k for k in known if k is not best]
            followed.append(replace(best, last=(ox, oy)))
            his = _moved(best.area, (ox - best.centre[0], oy - best.centre[1])) > 0
            yours = _moved(best.you[2], (me[0] - best.you[0], me[1] - best.you[1])) > 0
            # Where both moved areas fall, the nearer one (the larger face) hides the other.
            if osize > me[2]:
                yours &= ~his
            else:
                his &= ~yours
            seeds[(cv2.erode(his.astype(np.uint8), shrink) > 0) & person] = 3 + i
            mine = yours if mine is None else mine & yours
        if mine is not None:
            seeds[(cv2.erode(mine.astype(np.uint8), shrink) > 0) & person & (seeds == 0)] = 2
        return (seeds if seeds.any() else None), followed

    @staticmethod
    def _split_on_edges(
        small: np.ndarray,
        mask: np.ndarray,
        halfway: np.ndarray,
        me: tuple[float, float, float],
        others: list[tuple[float, float, float]],
        carried: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The split between touching people moved onto the picture's edges: a watershed
        from each face and the part of its body column that is surely its own (well inside
        its side of the halfway line), with the background as a third basin; ``carried``
        (see :meth:`_carry`) seeds the others further. Also the others' basins less
        ``SEAM_KEEP_PX`` next to the seam (float 0/1), or None."""
        markers = np.zeros(mask.shape, np.int32)
        markers[mask < 0.2] = 1  # background
        if carried is not None:
            markers[carried > 0] = carried[carried > 0]

        def fill(label: int, own: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> None:
            h, w = mask.shape
            c0, c1 = max(0, int(x0)), min(w, math.ceil(x1) + 1)
            r0, r1 = max(0, int(y0)), min(h, math.ceil(y1) + 1)
            if c1 <= c0 or r1 <= r0:
                return
            region = markers[r0:r1, c0:c1]
            sure = own[r0:r1, c0:c1] & (mask[r0:r1, c0:c1] > PERSON_THRESHOLD)
            region[sure] = label

        def seed(
            label: int, px: float, py: float, size: float, own: np.ndarray, width: float
        ) -> None:
            half = max(1.0, width * size)
            fill(label, own, px - half, px + half, py - half, py + BODY_LENGTH_FACE_SIZES * size)
            # The head (the hair above the face too): its outline against the room is a
            # strong edge, which the room's basin would otherwise flood over.
            head = max(1.0, HEAD_SEED_HALF_WIDTH * size)
            fill(label, own, px - head, px + head, py - HEAD_SEED_UP * size, py + head)

        seed(2, *me, halfway > 0.95, SEED_HALF_WIDTH)
        for i, other in enumerate(others):
            seed(3 + i, *other, halfway < 0.05, SEED_HALF_WIDTH)
        if not ((markers == 2).any() and (markers >= 3).any()):
            return halfway, None
        flooded = cv2.watershed(np.ascontiguousarray(small), markers)
        # The room's basin and the watershed lines (-1) go to the nearer person: the soft
        # outline beyond the threshold is yours where it borders you, not cut off with the
        # room (it was most of what only-me took from you: IoU 0.90 → 0.96 with face boxes).
        mine = np.where(flooded == 2, np.uint8(0), np.uint8(1))
        theirs = np.where(flooded >= 3, np.uint8(0), np.uint8(1))
        d_me = cv2.distanceTransform(mine, cv2.DIST_L2, 3)
        d_them = cv2.distanceTransform(theirs, cv2.DIST_L2, 3)
        core = cv2.erode(
            (flooded >= 3).astype(np.uint8), np.ones((2 * SEAM_KEEP_PX + 1,) * 2, np.uint8)
        )
        return (d_me < d_them).astype(np.float32), core.astype(np.float32)

    @staticmethod
    def _fade_outside(mask: np.ndarray, keep: np.ndarray) -> np.ndarray:
        grown = cv2.dilate(keep.astype(np.float32), np.ones((2 * KEEP_GROW_PX + 1,) * 2, np.uint8))
        soft = cv2.GaussianBlur(grown, (0, 0), KEEP_FEATHER)
        return mask * np.minimum(soft, 1.0).astype(np.float32)

    def _blob_mode(
        self,
        mask: np.ndarray,
        binary: np.ndarray,
        frame_size: tuple[int, int],
        t: float,
        hold_s: float,
    ) -> np.ndarray:
        """No face to go by: keep the blob that overlaps the one kept before, else the picked
        one, else the largest central one. Locked on like a face: while no blob overlaps your
        place (you stepped out), nothing is kept for ``hold_s`` seconds, not somebody else."""
        h, w = mask.shape
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        chosen: int | None = None
        if self._kept is not None and self._kept.shape == labels.shape:
            overlap = np.bincount(labels[self._kept].ravel(), minlength=count)
            overlap[0] = 0
            if overlap.max() > 0:
                chosen = int(overlap.argmax())
            elif t - self._kept_at <= hold_s:
                return self._fade_outside(mask, np.zeros(labels.shape, np.uint8))
        if chosen is None and self.anchor is not None:
            ax = self.anchor.centre[0] * w / frame_size[0]
            ay = self.anchor.centre[1] * h / frame_size[1]
            near = self._labels_near(labels, (ax, ay), max(1.0, 0.02 * w))
            if near.size:
                chosen = int(near[np.argmax(stats[near, cv2.CC_STAT_AREA])])
        if chosen is None:
            cx = stats[1:, cv2.CC_STAT_LEFT] + stats[1:, cv2.CC_STAT_WIDTH] / 2.0
            off = np.abs(cx - w / 2.0) / w
            claim = stats[1:, cv2.CC_STAT_AREA] / (1.0 + CENTRAL_WEIGHT * off) ** 2
            chosen = 1 + int(np.argmax(claim))
        keep = labels == chosen
        self._kept, self._kept_at = keep, t
        return self._fade_outside(mask, keep.astype(np.uint8))
