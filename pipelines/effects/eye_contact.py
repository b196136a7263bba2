"""The ``eye_contact`` stage: while you read the screen, your eyes look into the camera.

Per frame, for the primary face:

1. Where the irises are, in each eye's own frame (from the outer to the inner corner, in eye
   widths), averaged over both eyes (eyes move together; the average is also steadier).
   Sideways from the mesh's iris points; up and down from MediaPipe's iris model run on the
   two eyes (:mod:`pipelines.tracking.iris`): the mesh's iris points hardly move when the gaze
   goes down. A look down moves the iris and the upper lid together, and either alone
   saturates, so both are read (:func:`down_gaze`). The model runs on an eye only when it
   moved or every ``remeasure_frames`` frames (:meth:`EyeContact.measure_one`): it costs as
   much as the face mesh a call.
2. Where they would be looking into the lens: sideways turned by the head's angle to the
   camera (from the head pose), up and down level with the head (see :meth:`EyeContact.plan`
   for why). An eyeball of :data:`EYEBALL_RADIUS_CM` in an eye :data:`EYE_WIDTH_CM` wide turns
   the iris by ``radius/width · sin(angle)`` eye widths: that converts offsets and angles.
3. How much to move them: all of the way while the gaze is within ``fade_start`` degrees of
   the camera, fading to nothing over ``fade_width`` more degrees (a deliberate look away stays
   a look away), and likewise as the head turns past ``head_limit``. The weight follows over
   ``adapt_s`` seconds, so it never snaps. A closing eye (blink, closed eyes) fades the move
   out at once: a shut lid is never pulled.
4. Moving them, inside each eye opening only (the lid outline): lids, lashes, brows and
   glasses frames lie outside it and do not move. Each eye is redrawn from its parts in a
   small tile around it (:func:`redraw_eye`): the white where the iris was, from the white
   beside it along the lids; the iris with its own limbus, moved by a sub-pixel remap, its
   part hidden under a lid read from its own texture at the same distance from its centre;
   the lids over it with a soft edge; the catchlights put back where the light puts them.
   Nothing is copied where it was, so no second iris is left behind.

The iris ends where the eye corners and the head pose say, the up/down estimate smoothed
over :data:`GAZE_SMOOTH_S`, so the moved iris is about as still as the tracker's corners.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Annotated, Any

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import FrameContext
from pipelines.inference import OnnxModel, load_model
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking import regions
from pipelines.tracking.iris import (
    CONTOUR_POINTS,
    INNER,
    OUTER,
    UPPER_MID,
    EyeLandmarks,
    IrisLandmark,
    track_eye,
)
from pipelines.tracking.tracker import tracking_factory
from pipelines.tracking.types import Face

EYEBALL_RADIUS_CM = 1.2
"""Radius of an adult eyeball (about 24 mm across)."""
EYE_WIDTH_CM = 2.66
"""Corner-to-corner width of the canonical face's eyes (MediaPipe's model, landmarks 33-133)."""
GAZE_GAIN = EYEBALL_RADIUS_CM / EYE_WIDTH_CM
"""Iris offset in eye widths per unit sine of the gaze angle."""
# Per eye (subject's side): outer corner, inner corner, upper lid, lower lid, iris centre, and
# the outline of the opening.
EYES: tuple[tuple[int, int, int, int, int, tuple[int, ...]], ...] = (
    (33, 133, 159, 145, 468, regions.RIGHT_EYE),
    (263, 362, 386, 374, 473, regions.LEFT_EYE),
)
OPEN_FULL = 0.24
OPEN_NONE = 0.14
"""Lid gap / eye width (3-D): at OPEN_FULL and above the eye moves fully, at OPEN_NONE and
below (a blink, a closed or nearly closed eye) not at all."""
DISC_PAD = 0.03
"""The white is redrawn over the iris model's disc this much wider (eye widths): under a
lowered lid the model places the iris a little high (it sees 84 % of a 10° look down, 66 % of
15°), and what it misses of the rim must not stay behind as a ghost."""
WHITE_BLUR_TAPS = 7
"""Length of the blur along the lines the redrawn white is sampled from (:func:`redraw_eye`)."""
RING_ORDER = [0, *range(9, 16), 8, *range(7, 0, -1)]
"""The iris model's contour (outer corner, lower lid, inner corner, upper lid) as the mesh's
eye ring (outer corner, upper lid, inner corner, lower lid)."""
RIM_PX = 2.0
"""The moved iris is cut out this far beyond the iris model's radius, so that it carries its
own limbus with it: the dark ring and its soft blur into the white. Cut at the radius with a
1.5 px edge (the old redraw), the rim's steepest rise (over the whole rise) was 1.53× and 1.40×
the eye's own on the test rig (10° and 15° down) and the iris read as a pasted disc; now 1.05×
and 1.09× (tests/test_effects_eye_contact.py)."""
EDGE_PX = 2.0
"""Width of that cut's blend; it lies in the white on both sides (the white moved with the
iris and the white redrawn), so it does not show."""
MARGIN_PX = 2.5
"""Lid margin width: iris read from closer to a lid than this shows the lid's edge (a light
seam across the moved iris at 1.5 px on the test portrait, none at 2.5)."""
LID_FEATHER_PX = 1.0
"""The moved iris passes under the lids with this much blur (σ, pixels) inside the opening's
edge: the lid's margin and lashes stay drawn over the iris's top, as on a real eye, instead of
a hard cut (at least 1 px)."""
SIDE_BLEND = 0.6
"""Where an iris point's own pixel was under a lid, it is read at the same distance from the
centre, its angle reflected at the lid's edge (an iris is patterned radially, so that still
reads as its own iris): on the right side for points right of the centre, the left side for
points left of it, blended over this share of the radius around the middle so no seam shows."""
GLINT_DELTA = 40.0
GLINT_SIZE = 0.7
"""A catchlight: iris pixels this much brighter (luminance, 0-255) than what is around them
within this share of the iris's radius.
It is a reflection of the light on the cornea, placed by the light, not painted on the iris:
it is taken out of the iris before the iris moves and put back moved by
:data:`GLINT_FOLLOW` of the iris's move."""
GLINT_FOLLOW = 0.5
"""Share of the iris's move that a catchlight makes. A distant light's reflection sits where
the cornea's surface faces it, so it moves with the cornea's centre of curvature, ~5.7 mm in
front of the eye's centre of rotation (7.8 mm radius, 13.5 mm from the apex), against the
iris's :data:`EYEBALL_RADIUS_CM`: 0.47 (what eye trackers measure, the pupil-to-catchlight
vector). The test rig moves its catchlights all the way with its irises, and the iris model
reads the pupil partly by the catchlight: it sees the moved eyes 0.024 eye widths low at 10°
down with the catchlight kept (0), 0.021 at 0.5, 0.013 moved all the way (1, which reads as
painted on)."""
GLINT_CORE = 1.0
"""Catchlights are looked for only this far out from the iris's centre (share of its radius),
and only clear of the lids (the lower lid's wet margin is a bright line too)."""
RING_MIN_PIXELS = 3
NEUTRAL_DOWN = -0.314
"""Iris centre plus upper-lid middle (iris model, :data:`UPPER_MID`) below the line between
the model's eye corners, in eye widths, when looking into the camera: -0.303, -0.317 and
-0.321 on the three frontal test portraits (astronaut, two_faces, astronaut_small)."""
DOWN_GAIN = 1.5
"""A look down by an angle whose iris offset is x eye widths moves that sum by about x / 1.5:
the model's corners follow the eye's content part of the way (measured with the test rig,
tests/eye_rig.py, on the three portraits: 0.55-0.85 of x for 5-20°, 0.66 on average). Either
cue alone saturates: the iris centre once the lower lid hides the iris bottom, the lid on a
hooded eye."""
SIDE_GAIN = 1.6
"""Likewise sideways: the mesh's iris points against its corners see 0.55-0.67 of a sideways
turn of 10-15° on the test rig (0.047 of 0.078 eye widths at 10°). Without it the stage undid
only that share: the iris model still saw 0.048 of 0.074 at 10° after the stage, 0.032 with."""
GAZE_SMOOTH_S = 0.1
"""Time constant of the measured gaze (capture seconds): where the iris is moved to is the
estimate's error, so the estimate's jitter (×DOWN_GAIN, ×SIDE_GAIN) would show in the iris."""
RESET_GAP_S = 1.0
REMEASURE_MOVE = 0.025
"""An eye is given to the iris model again when its outline or the mesh's iris point moved
this much (eye widths, in the eye's own frame, so a head that only moves does not count)
since the model last saw it. Measured on the tests' portrait: a still face under camera noise
(σ 2, the tracker's smoothing) drifts up to 0.019 in 30 frames; looks 10° and 15° down move
the points 0.017-0.030 and 0.030-0.037, 10° aside 0.042-0.052. A smaller look down is caught
by ``remeasure_frames``."""
HOLD_PX = 0.3
"""While no point that places an eye's redraw (its outline, corners and irises, the iris
model's view, the move) has moved more than this many pixels since the redraw's geometry was
worked out, the eye is redrawn with that geometry (only the colours are read anew): it is
most of the redraw's work, and a still face's points wander by tenths of a pixel a frame.
At most the issue's 0.3 px of allowed jitter, and it holds the moved iris stiller. Points that
moved together (a head moving or the camera panning) count by how much they moved apart: the
geometry is then moved along by whole pixels. The iris is still read from exactly where it is
(its source is the pixel the move away, wherever the eye is); only the feathered edges of the
cut-outs, which lie in the white and under the lids, are off by up to half a pixel while the
head moves. Without that, the demo face of ``camfx bench`` (panning, zooming, rolling) had its
geometry worked out for 295 of 300 eyes in 150 frames; with it, 91 (66 with
:data:`OUTLINE_HOLD_PX`). Working it out costs ~4× drawing an eye (0.58 against 0.14 ms)."""
OUTLINE_HOLD_PX = 0.5
"""Likewise for the lids' outlines, which only place the cut-out's feathered edge (1-2 px
wide): the mesh's eye ring wanders by 0.2-0.3 px a frame on the moving demo face, and at
HOLD_PX the geometry was worked out anew for 30 % of the eyes (150 frames), at 0.5 for 22 %."""
MIN_EYE_WIDTH_PX = 8.0
"""Smaller eyes are left alone: a few pixels cannot be moved convincingly."""


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclasses.dataclass(frozen=True)
class EyeContactSettings(StageSettings):
    strength: Annotated[float, Meta(ge=0.0, le=1.0)] = 1.0
    """Share of the way to the camera the eyes are moved."""
    fade_start: Annotated[float, Meta(ge=5.0, le=40.0)] = 20.0
    """Degrees between your gaze and the camera up to which the eyes are moved fully..."""
    fade_width: Annotated[float, Meta(ge=2.0, le=30.0)] = 10.0
    """...fading to no move at all over this many degrees more."""
    head_limit: Annotated[float, Meta(ge=5.0, le=60.0)] = 25.0
    """Degrees the head may turn from the camera before the move fades out (over fade_width)."""
    adapt_s: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.15
    """Time constant of the fade in capture seconds (0: follow each frame)."""
    remeasure_frames: Annotated[int, Meta(ge=2, le=30)] = 16
    """Each eye is given to the iris model at least every this many frames, and sooner when
    it moved (:data:`REMEASURE_MOVE`); never more than one eye a frame. In between, its last
    result is carried along with the eye's corners. The model costs about as much as the face
    mesh a call (an eye a frame made the stage as slow as the whole tracker). At 8, it was
    still 0.99 of the stage's 2.96 ms a frame on average on the moving demo; at 16, 0.55 of
    2.34 (a look up or down moves the eye's points past REMEASURE_MOVE and is measured at
    once either way)."""
    vertical: Annotated[float, Meta(ge=0.0, le=1.0)] = 1.0
    """Share of the up/down correction applied. The mesh's iris points hardly move when the
    gaze goes down (0.023 eye widths of a 10° look down of 0.078 on the test rig), so up/down
    is measured with the iris model
    (:func:`down_gaze`) and, without a frame to run it on (:meth:`EyeContact.plan` on
    landmarks only), not corrected."""


@dataclasses.dataclass(frozen=True)
class EyeFrame:
    centre: np.ndarray
    right: np.ndarray
    """Unit vector along the eye, toward the image's right."""
    down: np.ndarray
    width: float


def eye_frame(lm: np.ndarray, outer: int, inner: int) -> EyeFrame:
    a = lm[outer, :2].astype(np.float64)
    b = lm[inner, :2].astype(np.float64)
    axis = b - a
    width = float(np.linalg.norm(axis))
    ex = axis / max(width, 1e-9)
    if ex[0] < 0:
        ex = -ex
    return EyeFrame((a + b) / 2.0, ex, np.array([-ex[1], ex[0]]), width)


def iris_offset(lm: np.ndarray, eye: tuple[Any, ...]) -> np.ndarray:
    """(u, v): the iris centre from the middle of the eye corners, in eye widths, along the
    eye (toward the image's right) and across it (down)."""
    f = eye_frame(lm, eye[0], eye[1])
    d = lm[eye[4], :2].astype(np.float64) - f.centre
    return np.array([d @ f.right, d @ f.down]) / max(f.width, 1e-9)


def openness(lm: np.ndarray, eye: tuple[Any, ...]) -> float:
    """Lid gap over eye width, in 3-D (a turned head does not make an eye look shut)."""
    p = lm[:, :3].astype(np.float64)
    width = float(np.linalg.norm(p[eye[0]] - p[eye[1]]))
    return float(np.linalg.norm(p[eye[2]] - p[eye[3]])) / max(width, 1e-9)


def camera_offset(transform: np.ndarray | None) -> np.ndarray:
    """(u, v) where the irises sit when looking into the lens, and the head's angle from it:
    ``(u, v, degrees)``. Straight ahead (0, 0) for a face that faces the camera."""
    if transform is None:
        return np.zeros(3)
    rot = np.asarray(transform, np.float64)[:3, :3]
    rot = rot / np.linalg.norm(rot[:, 0])
    to_camera = -np.asarray(transform, np.float64)[:3, 3]
    norm = float(np.linalg.norm(to_camera))
    if norm < 1e-9:
        return np.zeros(3)
    d = rot.T @ (to_camera / norm)  # in the head's frame: x right, y up, z forward
    # The eye turns right by atan2(dx, dz) and up by atan2(dy, dz); in the image, the head's
    # right is the image's right and up is −v.
    u = GAZE_GAIN * math.sin(math.atan2(d[0], d[2]))
    v = -GAZE_GAIN * math.sin(math.atan2(d[1], d[2]))
    head = math.degrees(math.acos(float(np.clip(d[2], -1.0, 1.0))))
    return np.array([u, v, head])


def offset_angle(offset: np.ndarray) -> float:
    """Degrees the eye turns for an iris offset (u, v) in eye widths."""
    s = min(float(np.linalg.norm(offset)) / GAZE_GAIN, 1.0)
    return math.degrees(math.asin(s))


def down_gaze(eyes: list[EyeLandmarks]) -> float:
    """How far the eyes look down (positive) or up, as an iris offset in eye widths (the
    scale of :func:`iris_offset`): where the iris model puts the irises and the upper lids
    against its own eye corners, both eyes averaged (see :data:`DOWN_GAIN`). Its own corners,
    not the mesh's: they come from the same crop, and the tracker's smoothed corners wander by
    ~1.5 px over a second on a still, noisy face (0.045 eye widths of estimate ×DOWN_GAIN)."""
    cues = []
    for seen in eyes:
        a, b = seen.contour[OUTER], seen.contour[INNER]
        axis = b - a
        width = float(np.linalg.norm(axis))
        ex = axis / max(width, 1e-9)
        down = np.array([-ex[1], ex[0]]) * (1.0 if ex[0] >= 0 else -1.0)
        mid = (a + b) / 2.0
        lid = np.mean(seen.contour[UPPER_MID], axis=0)
        cues.append(((seen.centre - mid) @ down + (lid - mid) @ down) / max(width, 1e-9))
    return DOWN_GAIN * (float(np.mean(cues)) - NEUTRAL_DOWN)


def _polygon_mask(poly: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    region = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.round((poly - [x0, y0]) * 16).astype(np.int32)
    cv2.fillPoly(region, [pts], 255, lineType=cv2.LINE_AA, shift=4)
    return region.astype(np.float32) * np.float32(1.0 / 255.0)


Maps = tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True)
class RedrawPlan:
    """The geometry of :func:`redraw_eye` for one eye, iris and move: which pixels change and
    where each layer reads from (all but the colours). Maps and coverages cover the tile's
    :attr:`part` and read from the whole tile :attr:`box`."""

    box: tuple[int, int, int, int]
    """The tile read from (image pixels, x0, y0, x1, y1)."""
    part: tuple[slice, slice]
    """The tile's rows and columns that the opening covers near the old and new iris: only
    they are drawn."""
    touched: np.ndarray
    """The pixels of :attr:`part` that the opening covers."""
    white_maps: Maps
    """Maps to the white just beside the old disc, on each side (left then right, side by
    side)."""
    keep_a: np.ndarray
    left_a: np.ndarray
    right_a: np.ndarray
    """Shares of the pixel itself and of the white left and right of the old disc: the white
    is redrawn where the iris was (the old disc, inside the opening)."""
    iris_a: np.ndarray
    """Coverage of the moved iris: its disc with :data:`RIM_PX` of limbus, under the lids."""
    sources: tuple[Maps, ...]
    """Where each point of the moved iris is read from: its own pixel, and at the same distance
    from the centre, its angle reflected at the lids' edge on the iris's right and left sides
    (:data:`SIDE_BLEND`)."""
    iris_maps: Maps
    """The same, side by side (one remap)."""
    weights: np.ndarray
    """Per pixel, the share of each source (N×3, each seen clear of the lids), the rest is
    :attr:`rings`."""
    rest: np.ndarray
    rings: np.ndarray
    """Per pixel, the whole-pixel distance of its source from the iris centre: where no
    source is seen, the iris's mean colour at that distance."""
    disc: np.ndarray
    """The part's iris pixels seen clear of the lids (where catchlights and the iris's colours
    are read)."""
    disc_rings: np.ndarray
    tile_rings: np.ndarray
    """The whole-pixel distance from the iris centre of the disc's pixels and the part's
    (capped at the radius)."""
    radius: float
    glint_at: Maps
    """Where each pixel's catchlight comes from (:data:`GLINT_FOLLOW`)."""
    glint_core: np.ndarray
    """The part's iris pixels, clear of the lids (whose wet margin is a bright line), near
    enough to the iris centre to hold a catchlight."""
    colours: list[Any] = dataclasses.field(default_factory=list)
    """The iris's colour per distance from its centre, read on the first frame drawn with this
    plan (they barely change while the eye holds still)."""


def _side_by_side(*maps: Maps) -> Maps:
    return np.hstack([m[0] for m in maps]), np.hstack([m[1] for m in maps])


def _smoothstep_array(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    out: np.ndarray = x * x * (3.0 - 2.0 * x)
    return out


def redraw_plan(
    shape: tuple[int, ...],
    lm: np.ndarray,
    eye: tuple[Any, ...],
    iris: EyeLandmarks | None,
    shift: np.ndarray,
) -> RedrawPlan | None:
    """The geometry of :func:`redraw_eye` (None: nothing to move). ``iris`` is the iris
    model's view of the eye (None: the mesh's own iris points and eye ring)."""
    shift = np.asarray(shift, np.float64)
    if float(np.abs(shift).max()) < 0.05:
        return None
    h, w = shape[:2]
    f = eye_frame(lm, eye[0], eye[1])
    mesh_poly = lm[list(eye[5]), :2].astype(np.float64)
    if iris is not None:
        # The opening where both the iris model and the mesh see it: the mesh's upper lid
        # lagged a lowered lid by ~2 px (the white and the iris were painted over the lid's
        # edge), the model's lower lid took in ~2 px of the lid's wet margin.
        polys = [iris.contour[RING_ORDER].astype(np.float64), mesh_poly]
        c = np.asarray(iris.centre, np.float64)
        r = iris.radius
    else:
        polys = [mesh_poly]
        c = lm[eye[4], :2].astype(np.float64)
        r = float(np.mean(np.linalg.norm(lm[eye[4] + 1 : eye[4] + 5, :2] - c, axis=1)))
    pad_r = r + DISC_PAD * f.width + 1.0
    reach = max(pad_r, r + RIM_PX + EDGE_PX) + 3.0
    x0 = max(0, math.floor(min(mesh_poly[:, 0].min(), c[0] - reach)) - 2)
    y0 = max(0, math.floor(min(mesh_poly[:, 1].min(), c[1] - reach)) - 2)
    x1 = min(w, math.ceil(max(mesh_poly[:, 0].max(), c[0] + reach)) + 3)
    y1 = min(h, math.ceil(max(mesh_poly[:, 1].max(), c[1] + reach)) + 3)
    if x1 - x0 < 5 or y1 - y0 < 5:
        return None
    box = (x0, y0, x1, y1)
    opening = _polygon_mask(polys[0], box)
    for p in polys[1:]:
        opening = np.minimum(opening, _polygon_mask(p, box))
    # Drawn: the opening's pixels within reach of the old disc or the new one (the rest of
    # the eye stays as it is; on the demo face that is a third of the opening's columns).
    ends = np.array([c, c + shift[:2]]) - [x0, y0]
    near = max(pad_r, r + RIM_PX + EDGE_PX) + 1.0
    lo = np.maximum(np.floor(ends.min(axis=0) - near), 0).astype(int)
    hi = np.ceil(ends.max(axis=0) + near).astype(int) + 1
    window = opening[lo[1] : hi[1], lo[0] : hi[0]]
    rows, cols = np.flatnonzero(window.any(axis=1)), np.flatnonzero(window.any(axis=0))
    if not len(rows):
        return None
    part = (
        slice(lo[1] + rows[0], lo[1] + rows[-1] + 1),
        slice(lo[0] + cols[0], lo[0] + cols[-1] + 1),
    )
    # The lids cover the moved iris with a soft edge, inside the opening.
    under_lids = opening * cv2.GaussianBlur(opening, (0, 0), LID_FEATHER_PX)
    # What of the eye shows clear of the lid margins (a pixel or two of wet line and lashes
    # at the opening's edge are no iris, no white).
    inside = cv2.distanceTransform((opening > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    core = np.clip(inside - np.float32(MARGIN_PX), 0.0, 1.0)

    ex, ey = f.right.astype(np.float32), f.down.astype(np.float32)
    # Only the part drawn (the opening's rows and columns): from the old iris centre (u, v),
    # from the new one (qu, qv).
    gx, gy = np.meshgrid(
        np.arange(x0 + part[1].start, x0 + part[1].stop, dtype=np.float32),
        np.arange(y0 + part[0].start, y0 + part[0].stop, dtype=np.float32),
    )
    rx, ry = gx - np.float32(c[0]), gy - np.float32(c[1])
    u, v = rx * ex[0] + ry * ex[1], rx * ey[0] + ry * ey[1]
    rho_old = np.sqrt(u * u + v * v)
    disc = (core[part] > 0.5) & (rho_old <= np.float32(r))
    du, dv = float(shift @ f.right), float(shift @ f.down)
    qu, qv = u - np.float32(du), v - np.float32(dv)

    def at(su: np.ndarray, sv: np.ndarray) -> Maps:
        """The tile's map to eye coordinates (su, sv) from the old centre."""
        mx = np.float32(c[0] - x0) + su * ex[0] + sv * ey[0]
        my = np.float32(c[1] - y0) + su * ex[1] + sv * ey[1]
        return mx, my

    # The white where the iris was: each point at its share of the way from the upper lid to
    # the lower one, taken from just beside the disc at the same share (the white's shading
    # follows the lids: a line straight across would run into a curved lid and fetch skin).
    ring = polys[0] - c
    ring_u, ring_v = ring @ f.right, ring @ f.down
    upper, lower = [0, *range(1, 8), 8], [0, *range(15, 8, -1), 8]

    def lid(which: list[int], at_u: np.ndarray) -> np.ndarray:
        order = np.argsort(ring_u[which])
        out_v: np.ndarray = np.interp(at_u, ring_u[which][order], ring_v[which][order])
        return out_v.astype(np.float32)

    chord = np.sqrt(np.maximum(np.float32(pad_r * pad_r) - v * v, 0.0)) + np.float32(1.0)
    lo_u, hi_u = np.float32(ring_u.min() + 1.0), np.float32(ring_u.max() - 1.0)
    up_here, low_here = lid(upper, u), lid(lower, u)
    share = np.clip((v - up_here) / np.maximum(low_here - up_here, 1.0), 0.0, 1.0)

    def beside(su: np.ndarray) -> Maps:
        su = np.clip(su, lo_u, hi_u)
        up_at, low_at = lid(upper, su), lid(lower, su)
        return at(su, up_at + share * (low_at - up_at))

    t = np.clip((u + chord) / (2.0 * chord), 0.0, 1.0)
    here = opening[part]
    white_a = np.clip(np.float32(pad_r + 0.5) - rho_old, 0.0, 1.0) * here
    # The moved iris: each point from where it was, or from its mirror image across the
    # eye's line, or turned a quarter to the iris's side, whichever is first seen clear of the
    # lids; the rest from the iris's colour at that distance.
    rho_new = np.sqrt(qu * qu + qv * qv)
    iris_a = np.clip((np.float32(r + RIM_PX) - rho_new) / np.float32(EDGE_PX) + 0.5, 0.0, 1.0)
    iris_a *= under_lids[part]
    # Where a point's own pixel is under a lid: the iris at the same distance from its
    # centre, its angle reflected at the edge of what shows of the iris at that distance (the
    # lid's line through the iris, left and right of the middle): texture and limbus carry
    # on across that edge with no seam.
    clear_up = float(lid(upper, np.zeros(1, np.float32))[0]) + MARGIN_PX + 1.0
    clear_down = float(lid(lower, np.zeros(1, np.float32))[0]) - MARGIN_PX - 1.0
    rho = np.maximum(rho_new, np.float32(1e-3))
    angle = np.arctan2(qv, np.abs(qu))  # from the eye's line, + down
    down_edge = np.arcsin(np.clip(max(clear_down, 0.0) / rho, 0.0, 1.0))
    up_edge = -np.arcsin(np.clip(max(-clear_up, 0.0) / rho, 0.0, 1.0))
    folded = np.where(angle > down_edge, 2.0 * down_edge - angle, angle)
    folded = np.where(folded < up_edge, 2.0 * up_edge - folded, folded)
    folded = np.clip(folded, up_edge, down_edge)
    fu, fv = rho * np.cos(folded), rho * np.sin(folded)
    sources = (at(qu, qv), at(fu, fv), at(-fu, fv))
    seen = [cv2.remap(core, *m, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) for m in sources]
    to_right = np.clip(0.5 + qu / np.float32(max(SIDE_BLEND * r, 1e-3)), 0.0, 1.0)
    hidden = 1.0 - seen[0]
    weights = np.stack(
        [seen[0], hidden * to_right * seen[1], hidden * (1.0 - to_right) * seen[2]], axis=-1
    )
    rest = np.clip(1.0 - weights.sum(axis=-1), 0.0, 1.0)
    touched = here > 0.0
    return RedrawPlan(
        box=box,
        part=part,
        touched=touched,
        white_maps=_side_by_side(beside(-chord), beside(chord)),
        keep_a=(1.0 - white_a)[..., None],
        left_a=(white_a * (1.0 - t))[..., None],
        right_a=(white_a * t)[..., None],
        iris_maps=_side_by_side(*sources),
        iris_a=iris_a[..., None],
        sources=sources,
        weights=weights[..., None],
        rest=rest[..., None],
        rings=np.minimum(rho_new, np.float32(r)).astype(np.int32),
        disc=disc,
        disc_rings=rho_old[disc].astype(np.int32),
        tile_rings=np.minimum(rho_old, np.float32(r)).astype(np.int32),
        radius=r,
        glint_at=(
            gx - np.float32(x0 + GLINT_FOLLOW * shift[0]),
            gy - np.float32(y0 + GLINT_FOLLOW * shift[1]),
        ),
        glint_core=disc & (rho_old <= np.float32(GLINT_CORE * r)),
    )


def _iris_colours(
    tile: np.ndarray, plan: RedrawPlan
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The iris's catchlights (a mask of the part), its mean colour per whole pixel of
    distance from its centre without them, and that colour's share of the moved iris (where
    no source is seen, :attr:`RedrawPlan.rest`)."""
    if not plan.disc.any():
        return None
    tile = tile[plan.part]
    lum = tile @ np.array([0.114, 0.587, 0.299], np.float32)
    # A catchlight is small and bright: what an opening (a grey erosion then dilation, the
    # size of a third of the iris) takes off.
    k = max(3, int(plan.radius * GLINT_SIZE) | 1)
    bump = lum - cv2.morphologyEx(lum, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    glint = ((bump > np.float32(GLINT_DELTA)) & plan.glint_core).astype(np.uint8)
    glint = cv2.dilate(glint, np.ones((3, 3), np.uint8)) > 0
    ok = plan.disc & ~glint
    bins, colours = plan.disc_rings[ok[plan.disc]], tile[ok]
    n = int(plan.tile_rings.max()) + 1
    counts = np.bincount(bins, minlength=n)[:n].astype(np.float32)
    have = counts >= RING_MIN_PIXELS
    if not have.any():
        return None
    ring = (
        np.stack(
            [np.bincount(bins, colours[:, k], minlength=n)[:n] for k in range(tile.shape[2])],
            axis=1,
        ).astype(np.float32)
        / np.maximum(counts, 1.0)[:, None]
    )
    idx = np.flatnonzero(have)
    nearest = idx[np.abs(np.arange(n)[:, None] - idx[None, :]).argmin(axis=1)]
    ring = ring[nearest]
    return glint, ring, plan.rest * ring[plan.rings]


def _fits(box: tuple[int, int, int, int], at: tuple[int, int], shape: tuple[int, ...]) -> bool:
    """Whether ``box`` moved by ``at`` lies inside an image of ``shape``."""
    x0, y0, x1, y1 = box
    return x0 + at[0] >= 0 and y0 + at[1] >= 0 and x1 + at[0] <= shape[1] and y1 + at[1] <= shape[0]


def redraw_eye(
    image: np.ndarray, out: np.ndarray, plan: RedrawPlan, at: tuple[int, int] = (0, 0)
) -> None:
    """Move one eye's iris as ``plan`` (:func:`redraw_plan`) says, its tile moved by ``at``
    (whole pixels, x and y): read from ``image``, written into ``out``, inside the eye opening
    only (lids, lashes, brows and glasses frames
    stay as they are, and the lids cover what they cover).

    A look down is the iris going down with the upper lid following it and the lower lid
    staying, the iris bottom under it; there is nothing to warp back into view there. So the
    eye is redrawn from its parts:

    - the white: where the iris was (the iris model's disc, :data:`DISC_PAD` wider), each line
      across the eye is the white just left and right of the disc, blended from one to the
      other along the lids, so no ghost iris is left;
    - the iris: the disc with its limbus (:data:`RIM_PX`), moved by a sub-pixel remap; each
      point shows the iris's own pixel from where it came, or where that was under a lid, its
      pixel at the same distance from the centre with its angle reflected at the lid's edge
      (its own texture), and only where that too was hidden, the iris's mean colour at that
      distance from its centre;
    - the lids stay over it (:data:`LID_FEATHER_PX`): the top of a raised iris passes under a
      lowered lid, as a real one would;
    - the catchlights move only :data:`GLINT_FOLLOW` of the way: they reflect the light off
      the cornea, they are not painted on the iris."""
    x0, y0, x1, y1 = plan.box
    if not _fits(plan.box, at, image.shape):
        return
    x0, x1, y0, y1 = x0 + at[0], x1 + at[0], y0 + at[1], y1 + at[1]
    tile = image[y0:y1, x0:x1].astype(np.float32)
    if not plan.colours:
        plan.colours.append(_iris_colours(tile, plan))
    found = plan.colours[0]
    if found is None:
        return
    glint, ring, unseen = found
    clean = tile
    if glint.any():
        # Under a catchlight, the iris's colour at that distance from its centre.
        clean = tile.copy()
        clean[plan.part][glint] = ring[plan.tile_rings[glint]]

    def sample(src: np.ndarray, maps: Maps) -> np.ndarray:
        return cv2.remap(src, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    # From a copy blurred along the image's lines: two pixels a line carry the camera's noise
    # into the whole line, and the tracker then sees a different white (and iris edge) every
    # frame. Not across: in an opening a few pixels high that mixed the lids in (a grey white).
    smooth = cv2.GaussianBlur(clean, (WHITE_BLUR_TAPS, 1), 0)
    # Each layer's samples in one remap (its maps side by side), then weighed.
    w = plan.touched.shape[1]
    sides = sample(smooth, plan.white_maps)
    here = tile[plan.part]
    layer = here * plan.keep_a + plan.left_a * sides[:, :w] + plan.right_a * sides[:, w:]
    found_at = sample(clean, plan.iris_maps)
    moved = unseen.copy()
    for k in range(len(plan.sources)):
        moved += plan.weights[..., k, :] * found_at[:, k * w : (k + 1) * w]
    layer += plan.iris_a * (moved - layer)
    if glint.any():
        # On the cornea only: where the white now lies, the bright white takes it in.
        layer += plan.iris_a * sample(np.maximum(tile - clean, 0.0), plan.glint_at)
    # A blend of pixels, never below 0: rounded and capped at 255 in one call.
    drawn = cv2.convertScaleAbs(layer)
    np.copyto(out[y0:y1, x0:x1][plan.part], drawn, where=plan.touched[..., None])


@dataclasses.dataclass(frozen=True)
class _Held:
    """One eye's redraw geometry and the points it was worked out from (see :data:`HOLD_PX`)."""

    points: np.ndarray
    shift: np.ndarray
    shape: tuple[int, ...]
    plan: RedrawPlan | None


def _to_eye(points: np.ndarray, f: EyeFrame) -> np.ndarray:
    """Image points into the eye's frame: (along, across) from its middle, in eye widths."""
    d = np.asarray(points, np.float64) - f.centre
    return np.stack([d @ f.right, d @ f.down], axis=1) / max(f.width, 1e-9)


def _from_eye(points: np.ndarray, f: EyeFrame) -> np.ndarray:
    out: np.ndarray = f.centre + f.width * (points[:, :1] * f.right + points[:, 1:] * f.down)
    return out


def _follow(prev: float | None, new: float | None, dt: float | None, tau: float) -> float | None:
    """``new`` followed from ``prev`` over ``tau`` seconds (taken as it is after a reset)."""
    if prev is None or new is None or dt is None:
        return new
    alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-dt / tau)
    return prev + alpha * (new - prev)


@register_stage
class EyeContact(Stage[EyeContactSettings]):
    name = "eye_contact"
    settings_type = EyeContactSettings

    def __init__(self, settings: EyeContactSettings | None = None) -> None:
        super().__init__(settings)
        self._weight: float | None = None
        self._down: float | None = None
        self._side: float | None = None
        self._eyes: list[EyeLandmarks] | None = None
        self._rel: list[np.ndarray] | None = None
        self._shape: list[np.ndarray] = []
        """Per eye: its outline and the mesh's iris point when the model last saw it (eye
        frame, eye widths)."""
        self._age: list[int] = []
        """Per eye: frames since the iris model last saw it."""
        self._held: list[_Held | None] = [None] * len(EYES)
        self._last_t: float | None = None
        self._face_id: int | None = None
        self._iris: IrisLandmark | None = None

    def open(self) -> None:
        self._reset()
        # The tracker's one-thread sessions: the model is as small as the mesh (~2 ms a call).
        self._iris = load_model(IrisLandmark, tracking_factory())
        super().open()

    def models(self) -> tuple[OnnxModel, ...]:
        iris = self._iris
        return () if iris is None else (iris,)

    def close(self) -> None:
        self._reset()
        super().close()

    def forget_frames(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._weight, self._down, self._side, self._eyes = None, None, None, None
        self._rel, self._shape, self._age = None, [], []
        self._held = [None] * len(EYES)
        self._last_t, self._face_id = None, None

    def _step(self, t: float, face_id: int) -> float | None:
        """Seconds since the last frame, or None to start over (first frame, a new face, a
        time gap)."""
        last, self._last_t = self._last_t, t
        if last is None or face_id != self._face_id or not (0.0 <= t - last <= RESET_GAP_S):
            self._face_id = face_id
            return None
        return t - last

    def measure(self, image: np.ndarray, face: Face) -> list[EyeLandmarks] | None:
        """The iris model on the tracked face's two eyes (None before :meth:`open`)."""
        if self._iris is None:
            return None
        lm = np.asarray(face.landmarks, np.float64)
        return [track_eye(self._iris, image, lm[e[0], :2], lm[e[1], :2]) for e in EYES]

    def measure_one(self, image: np.ndarray, face: Face, t: float) -> list[EyeLandmarks] | None:
        """Both eyes as the iris model saw them, running it on at most one eye a frame, and
        only on an eye that moved (its lids or the mesh's iris against its corners, more than
        :data:`REMEASURE_MOVE`) or was last seen ``remeasure_frames`` ago, the longest
        unseen first: an eye's last result is carried along with its eye corners (kept in the
        eye's own frame). Both eyes on a first frame, a new face or after a gap."""
        if self._iris is None:
            return None
        lm = np.asarray(face.landmarks, np.float64)
        frames = [eye_frame(lm, e[0], e[1]) for e in EYES]
        shapes = [_to_eye(lm[[*e[5], e[4]], :2], f) for e, f in zip(EYES, frames, strict=True)]
        last, rel = self._last_t, self._rel
        fresh = (
            rel is None
            or last is None
            or face.id != self._face_id
            or not (0.0 <= t - last <= RESET_GAP_S)
        )
        if rel is None or fresh:
            rel = [np.zeros((CONTOUR_POINTS + 5, 2)) for _ in EYES]
            todo: list[int] = list(range(len(EYES)))
        else:
            self._age = [a + 1 for a in self._age]
            due = [
                i
                for i in range(len(EYES))
                if self._age[i] >= self.settings.remeasure_frames
                or float(np.abs(shapes[i] - self._shape[i]).max()) > REMEASURE_MOVE
            ]
            todo = [max(due, key=lambda i: self._age[i])] if due else []
        if fresh:
            self._shape, self._age = list(shapes), [0] * len(EYES)
        for i in todo:
            e = EYES[i]
            seen = track_eye(self._iris, image, lm[e[0], :2], lm[e[1], :2])
            rel[i] = _to_eye(np.concatenate([seen.contour, seen.iris]), frames[i])
            self._shape[i], self._age[i] = shapes[i], 0
        self._rel = rel
        out = []
        for f, pts in zip(frames, rel, strict=True):
            img = _from_eye(pts, f)
            out.append(EyeLandmarks(img[:CONTOUR_POINTS], img[CONTOUR_POINTS:]))
        return out

    def plan(
        self, face: Face, t: float, eyes: list[EyeLandmarks] | None = None
    ) -> dict[str, Any] | None:
        """What this frame does to ``face``'s eyes: per eye the shift in pixels, with the
        gaze angle, the weight and why (for tests and overlays); None if nothing. Up/down is
        measured (and corrected) only with ``eyes``, the iris model's view of them."""
        s = self.settings
        lm = np.asarray(face.landmarks, np.float64)
        if lm.shape[0] < regions.NUM_LANDMARKS:
            return None  # no irises without the refined mesh
        pose = face.pose
        target = camera_offset(pose.transform if pose is not None else None)
        side_now = SIDE_GAIN * float(np.mean([iris_offset(lm, eye)[0] for eye in EYES]))
        dt = self._step(t, face.id)
        if eyes is not None and self._eyes is not None and dt is not None:
            # The iris model's points, followed over GAZE_SMOOTH_S: they place the redrawn
            # iris and its white as well as the estimate (unsmoothed, a still face's irises
            # moved 0.47 px a frame against 0.15 without the up/down move).
            a = 1.0 - math.exp(-dt / GAZE_SMOOTH_S)
            eyes = [
                EyeLandmarks(
                    p.contour + a * (n.contour - p.contour), p.iris + a * (n.iris - p.iris)
                )
                for p, n in zip(self._eyes, eyes, strict=True)
            ]
        self._eyes = eyes
        down = self._down = down_gaze(eyes) if eyes is not None else None
        sideways = self._side = _follow(self._side, side_now, dt, GAZE_SMOOTH_S)
        assert sideways is not None
        # Up/down the eyes are brought level with the head, not turned by the head pose's
        # pitch: the pitch of a mesh fit is off by as much as a reading gaze per person (the
        # portraits, all looking into the lens, read -5.4°, +4.0° and +1.4°), and with it the
        # error left on them grew from 0.02 to 0.04 eye widths.
        wanted = np.array([target[0], 0.0])
        current = np.array([sideways, 0.0 if down is None else down])
        needed = wanted - current
        gaze_angle = offset_angle(needed)
        gaze_w = 1.0 - _smoothstep((gaze_angle - s.fade_start) / s.fade_width)
        head_w = 1.0 - _smoothstep((float(target[2]) - s.head_limit) / s.fade_width)
        visibility = face.visibility
        weight = _follow(self._weight, gaze_w * head_w, dt, s.adapt_s)
        assert weight is not None
        self._weight = weight
        shifts = []
        for eye in EYES:
            f = eye_frame(lm, eye[0], eye[1])
            open_w = _smoothstep((openness(lm, eye) - OPEN_NONE) / (OPEN_FULL - OPEN_NONE))
            if f.width < MIN_EYE_WIDTH_PX:
                open_w = 0.0
            amount = s.strength * weight * open_w * min(visibility, 1.0)
            px = amount * f.width * (needed[0] * f.right + s.vertical * needed[1] * f.down)
            shifts.append((eye, px, open_w))
        return {"gaze_angle": gaze_angle, "head_angle": float(target[2]), "weight": weight,
                "down": down, "eyes": eyes, "shifts": shifts}  # fmt: skip

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        face = ctx.primary_face
        if not s.enabled or s.strength <= 0.0 or face is None:
            return image
        lm = np.asarray(face.landmarks, np.float64)
        if lm.shape[0] < regions.NUM_LANDMARKS:
            return image
        pose = face.pose
        head = float(camera_offset(pose.transform if pose is not None else None)[2])
        if head >= s.head_limit + s.fade_width and (self._weight or 0.0) < 1e-3:
            # Turned away past the fade, and faded out: no move whatever the gaze, so the
            # iris model is not run; its carried results are dropped (both eyes are measured
            # afresh when the head comes back, while the move fades in over adapt_s).
            self._rel = None
            self.plan(face, ctx.timestamp, None)
            return image
        eyes = self.measure_one(image, face, ctx.timestamp) if s.vertical > 0.0 else None
        plan = self.plan(face, ctx.timestamp, eyes)
        if plan is None:
            return image
        eyes = plan["eyes"]
        moves = [(i, eye, px) for i, (eye, px, _) in enumerate(plan["shifts"])
                 if float(np.abs(px).max()) >= 0.05]  # fmt: skip
        if not moves:
            return image
        out = image.copy()
        for i, eye, px in moves:
            held, at = self._hold(i, image.shape, lm, eye, px, None if eyes is None else eyes[i])
            if held.plan is not None:
                redraw_eye(image, out, held.plan, at)
        return out

    def _hold(
        self,
        i: int,
        shape: tuple[int, ...],
        lm: np.ndarray,
        eye: tuple[Any, ...],
        px: np.ndarray,
        seen: EyeLandmarks | None,
    ) -> tuple[_Held, tuple[int, int]]:
        """Eye ``i``'s redraw geometry and where to move it (whole pixels): the last one while
        its points stay within :data:`HOLD_PX` of those it was worked out from, once their
        move together is taken out, else worked out anew."""
        # What places the redraw: the lids' outlines (the mesh's corners and eye ring, the
        # iris model's), then the iris (the model's, else the mesh's iris points).
        outline = [lm[[eye[0], eye[1], *eye[5]], :2]]
        if seen is None:
            iris = lm[eye[4] : eye[4] + 5, :2]
        else:
            outline.append(seen.contour[: INNER + 8])
            iris = seen.iris
        points = np.concatenate([*outline, iris]).astype(np.float64)
        n_iris = len(iris)
        held = self._held[i]
        if held is not None and held.shape == shape and held.points.shape == points.shape:
            moved = np.mean(points - held.points, axis=0)
            apart = np.abs(points - held.points - moved).max(axis=1)
            at = (round(float(moved[0])), round(float(moved[1])))
            if (
                float(apart[-n_iris:].max()) <= HOLD_PX
                and float(apart[:-n_iris].max()) <= OUTLINE_HOLD_PX
                and float(np.abs(px - held.shift).max()) <= HOLD_PX
                and (held.plan is None or _fits(held.plan.box, at, shape))
            ):
                return held, at
        held = _Held(
            points, np.asarray(px, np.float64), shape, redraw_plan(shape, lm, eye, seen, px)
        )
        self._held[i] = held
        return held, (0, 0)
