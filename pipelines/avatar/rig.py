"""The warp rig: a triangle mesh over the portrait and one precomputed warp field per motion.

Vertices are the 478 face-mesh landmarks, a ring around the head (hair, ears, neck) that
follows the head partly, a fixed outer ring, and points along the image border, all
triangulated together (Delaunay), so every pixel lies in exactly one triangle and the
background can only stretch, never tear.

Each *basis* (jaw open, lips pressed, lips spread, lips rounded, smile, each eyelid, gaze and
head turns) is a displacement of the vertices at full strength. At set-up it is rasterised once
into a dense *backward* field over its bounding box: for every output pixel inside a displaced
triangle, the portrait position it comes from (barycentric interpolation of the rest positions
over the displaced triangle). Per frame the renderer only adds weighted fields and calls
``cv2.remap``; it never draws triangles.

Vertex weights come from the canonical face (``pipelines.tracking.geometry``) so they do not
depend on the portrait's pose; displacements are scaled by the portrait's face size and turned
into its own face axes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from itertools import product

import cv2
import numpy as np

from pipelines.registry import Registry
from pipelines.tracking import regions
from pipelines.tracking.geometry import canonical_face

log = logging.getLogger(__name__)

NUM_LANDMARKS = 478
HEAD_RING_SCALE = 1.32
"""Head ring: the face oval scaled about the face centre (hair, ears, jaw line)."""
HEAD_RING_TOP_SCALE = 1.55
"""Above the eyes the ring reaches further, over the hair."""
OUTER_RING_SCALE = 1.85
"""Fixed ring: motion fades out between the head ring and this one."""
OUTER_CLEARANCE = 0.15
"""Fixed-ring points closer than this (face heights) to the head (landmarks and head ring)
are left out: the motion fades out over the next fixed points instead. (On the frontal test
portraits the nearest lies 0.19-0.21 away: none is left out.)"""
HEAD_RING_GAP = 0.05
"""Head-ring points closer than this (face heights) to another are left out: a turned head's
far side crowds them into slivers that a head turn folds (frontal test portraits: ~0.1
apart, none left out)."""
HEAD_CLEARANCE = 0.08
"""Head-ring points closer than this (face heights) to the landmarks' hull are left out
(frontal test portraits: 0.12-0.13 away, none left out)."""
BORDER_STEP = 64
FOLD_AREA_PX = 0.5
FOLD_RELAX_STEPS = 240
SLIVER_AREA_PX = 4.0
"""Triangles under this area (px²) are slivers of a crowded silhouette."""
MIN_SEPARATION_PX = 0.75
"""Landmarks closer than this (the inner lips of a closed mouth) are nudged apart before the
triangulation, which would otherwise merge them."""

# Basis amplitudes at weight 1, as fractions of the face height (chin to forehead) or degrees.
DEFAULT_AMPLITUDES: dict[str, float] = {
    "jaw": 0.2,
    "spread": 0.035,
    "round": 0.045,
    "smile": 0.03,
    "gaze": 0.22,
    "yaw": 9.0,
    "pitch": 7.0,
    "roll": 6.0,
}

LIPS_MAX = 0.8
"""Lip spreading and rounding at most this share of their basis (with the jaw shut)."""
WIDTH_WITH_JAW = 0.6
"""Share by which a fully open jaw reduces lip spreading and rounding (an "oo" or an "ee" is
a small opening; at full strength together they would fold the mouth's corners)."""


def mouth_weights(jaw: float, closure: float, width: float, lips: float = 1.0) -> dict[str, float]:
    """The mouth bases' weights for a jaw opening and a lip closure (0…1, sharing the lips)
    and a lip width (-1 round … 1 spread) scaled by ``lips``. The animator drives the rig
    through this, and the rig checks its motions' combinations through it too."""
    scale = lips * LIPS_MAX * (1.0 - WIDTH_WITH_JAW * jaw)
    return {
        "jaw": jaw * (1.0 - closure),
        "closure": closure * (1.0 - 0.5 * jaw),
        "spread": max(0.0, width) * scale,
        "round": max(0.0, -width) * scale,
    }


@dataclass
class FaceGeometry:
    """The portrait's landmarks with what the basis builders need about them."""

    size: tuple[int, int]
    """Portrait width, height."""
    landmarks: np.ndarray
    """478×3 float64 pixels (z: depth, smaller = closer)."""
    canonical: np.ndarray
    """478×3 canonical face (cm; x right, y up, z toward the viewer)."""
    points: np.ndarray
    """All rig vertices N×2 (landmarks, head ring, outer ring, border), rest positions."""
    head_ring: np.ndarray
    """Indices of the head-ring vertices."""
    head_ring_follow: np.ndarray
    """How much each head-ring vertex follows the head (1 = fully)."""
    head_ring_anchor: np.ndarray
    """Face-oval landmark each head-ring vertex was made from."""
    amplitudes: dict[str, float]

    center: np.ndarray = field(init=False)
    right: np.ndarray = field(init=False)
    down: np.ndarray = field(init=False)
    face_h: float = field(init=False)
    face_w: float = field(init=False)
    px_per_cm: float = field(init=False)

    def __post_init__(self) -> None:
        lm = self.landmarks[:, :2]
        top, chin = lm[regions.FOREHEAD_TOP], lm[regions.CHIN]
        self.center = (top + chin) / 2.0
        down = chin - top
        self.face_h = float(np.linalg.norm(down))
        self.down = down / max(self.face_h, 1e-6)
        self.right = np.array([self.down[1], -self.down[0]])  # image x for an upright face
        self.face_w = float(np.linalg.norm(lm[454] - lm[234]))
        can = self.canonical
        self.px_per_cm = self.face_h / float(np.linalg.norm(can[152, :2] - can[10, :2]))

    @property
    def n(self) -> int:
        return len(self.points)

    def zeros(self) -> np.ndarray:
        return np.zeros((self.n, 2), np.float64)


BasisBuilder = Callable[[FaceGeometry], np.ndarray]
BASES: Registry[BasisBuilder] = Registry("avatar basis")
"""Basis name → builder returning the N×2 vertex displacement (pixels) at weight 1."""


# --------------------------------------------------------------------------- lips
@cache
def _lip_sets() -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(upper-lip vertices, lower-lip vertices, inner upper/lower partner pairs)."""
    can = canonical_face().vertices[:NUM_LANDMARKS]
    outer = np.array(regions.LIPS_OUTER)
    inner = list(regions.LIPS_INNER)
    # LIPS_INNER runs 78 (corner) over the top to 308, then back along the bottom.
    i308 = inner.index(308)
    upper_inner = inner[1:i308]
    lower_inner = inner[i308 + 1 :][::-1]  # left to right like upper_inner
    poly = can[outer][:, :2].astype(np.float32)
    inside = np.array(
        [cv2.pointPolygonTest(poly, (float(x), float(y)), False) >= 0 for x, y in can[:, :2]]
    )
    # The slit: midpoints of the inner contour, as a function of x.
    ux = can[upper_inner, 0]
    order = np.argsort(ux)
    lx = can[lower_inner, 0]
    slit_y = (
        np.array(can[upper_inner, 1])[order]
        + np.interp(ux[order], np.sort(lx), can[lower_inner, 1][np.argsort(lx)])
    ) / 2.0
    slit = np.interp(can[:, 0], ux[order], slit_y)
    lip = inside.copy()
    lip[list(regions.LIPS_OUTER) + inner] = True
    lip[468:] = False  # iris points
    upper = np.where(lip & (can[:, 1] > slit))[0]
    lower = np.where(lip & (can[:, 1] <= slit))[0]
    # The outer contour's halves belong to their lip whatever the slit says.
    outer_upper = [185, 40, 39, 37, 0, 267, 269, 270, 409]
    outer_lower = [375, 321, 405, 314, 17, 84, 181, 91, 146]
    upper = np.setdiff1d(np.union1d(upper, [*upper_inner, *outer_upper]), lower_inner)
    lower = np.setdiff1d(np.union1d(lower, [*lower_inner, *outer_lower]), upper_inner)
    corners = [61, 291, 78, 308]
    upper = np.setdiff1d(upper, corners)
    lower = np.setdiff1d(lower, corners)
    # Partners by x: each inner upper point with the inner lower point nearest in x.
    pairs = []
    for u in upper_inner:
        j = int(np.argmin(np.abs(can[lower_inner, 0] - can[u, 0])))
        pairs.append((u, lower_inner[j]))
    return upper, lower, pairs


LOWER_LIP_RINGS: tuple[tuple[int, ...], ...] = (
    (95, 88, 178, 87, 14, 317, 402, 318, 324),
    (96, 89, 179, 86, 15, 316, 403, 319, 325),
    (77, 90, 180, 85, 16, 315, 404, 320, 307),
    (146, 91, 181, 84, 17, 314, 405, 321, 375),
)
"""The lower lip's landmark rings, inner (on the slit) to outer contour, left to right: the
k-th point of each lies on one column across the lip."""
LIP_CORNERS = (78, 308, 61, 291)
LIP_RING_CORNERS = (62, 76, 292, 306)
"""The inner rings' corners, between the inner corners and the outer ones: they stay with the
corners (weighted by their x they opened a little, and the triangle 78-76-62 between them
and the inner corner folded on four of the seven test portraits)."""
LIP_BAND_KEEP = 0.5
"""As the jaw opens, the lower lip of a turned face (:func:`lip_turned`; a frontal one keeps
all of it, LIP_ROUND) may thin to this share of its thickness (inner lip to each of its outer
rings, along the face's down), never less: its outer rings go down at least that much with
its inner lip. Fuller lips (astronaut_midword's, obama_grin's: 10 px at the middle) thin a
little as before; thin ones (biden's: 2-8 px) go down nearly whole. (A rigid band, 1.0,
measured alike at the inner lower lip: 0.200 face heights on biden and obama_midword after
the fold repairs; on the first mesh with a slit, opened with the whole jaw, obama_midword's
fell to 0.163.)"""
LIP_BAND_KEEP_CORNER = 0.8
"""...but outside the lip's middle (:data:`LIP_BAND_CORNER_COLUMNS`) to no less than this
share: there the outer contour thinned to half the lip lagged the skin beside and below it
(astronaut_turned cut under the chin, tools/avatar_sweep.py's ``cut_chin``: 321 went down
0.56 of the jaw, the skin at 335 beside it 0.80, their triangle with 405 stretched 3.6 times,
the lip's own 404-321-405 squeezed to 0.63) and the render's map jumped there: a tear at the
far corner in 20 of 60 wide-open poses (``measure.wide_jaw_lip_tears``, seeds 11 and 5).
Torn poses at 0.5 / 0.6 / 0.65 / 0.7 / 0.8 / 0.9: 20 / 10 / 7 / 3 / 0 / 0 (0.8 on columns
0, 1, 7, 8 alone: 10; on 1 and 7: 10; on 2 and 6: 3; on 1, 2, 6, 7: 0). The other turned tuning
portraits stay at 0 of 60; their renders moved by at most 4 grey levels mid-word and 8-34 at
jaw 1.0, the outer lower lip's sides a pixel fuller (photographer_grey_parted most)."""
LIP_BAND_CORNER_COLUMNS = (0, 1, 2, 6, 7, 8)
"""The lower lip's columns (the k-th point of each of LOWER_LIP_RINGS) held to
:data:`LIP_BAND_KEEP_CORNER`: all but the middle three, which go down nearly whole anyway."""
LIP_ROUND = (5.0, 1.0)
"""(n, k): as the jaw opens, a frontal face's inner lower lip (not :func:`lip_turned`) goes
down ``(1 - |u|**n) ** k`` of its depth at the middle (14), u its canonical x over the inner
corner's (78, 308): a curve from corner to corner that bends all along and opens at the
corners at a finite angle, not a trapezoid. Each column of the lip (the k-th point of every
ring) goes down with its inner point, so the lip keeps its thickness. Before: the smoothstep
of the x over 60 % of the outer corner's (``_smooth``), full over the middle 40 % and flat
at the corners: a flat bottom and straight sides, 29-34 % of the inner lip's turn from
corner to corner at each of 178 and 402 (16-20 % at most at one landmark now), the lip
thinned to half its thickness near the corners (LIP_BAND_KEEP). Tracked against asked r of
tools/mouth_tracked.py's two voices on astronaut, astronaut_grey_moustache,
canonman_glasses, photographer_turned, before: 0.991/0.992, 0.964/0.971, 0.953/0.957,
0.982/0.988; now: 0.989/0.991, 0.973/0.977, 0.950/0.955, 0.983/0.989. Rounder profiles
looked rounder but: k 0.5 (steep corners; the ellipse (2, 0.5) looked best) tore at the
corners ((4, 0.5): lip tear frames over the speech clip, measure.measure, on
astronaut_small 0 -> 10, astronaut_turned55_moustache 4 -> 7); (2, 1), the parabola, and
(3, 1) hid more of the tongue behind the rising sides (0.049-0.058 and 0.065-0.073 of the
mouth with drawn teeth, test_avatar_mouth_inside's TONGUE_SHOWN_MIN 0.07; 0.077-0.085 now),
the parabola's read 0.953/0.966 on the grey moustache, and open photos made with them were
closed worse by the rest mouth (``rest_jaw``, the old profile: test_avatar_rest's
astronaut_grey_moustache opened to 0.8 read shut in 0 % and 94 % of silent frames); (4, 1)
reopened that rest face to a tracked 0.099 (test_avatar_rest's OPENING_MIN 0.10). On turned
faces (5, 1) and (4.5, 1) tore at the far corner (astronaut_turned_far 0 -> 3 tear frames,
astronaut_turned55_moustache 4 -> 9): they open as before."""
LIP_BAND_LEAST_HALVES = 0.25
"""...on a face turned less than this: each mouth half (corner to 14) at least this share of
the other (the frontal photos: 0.81-0.99); the least a turned face's (:func:`lip_turned`,
:data:`JAW_LIP_SMOOTH_HALF`), so that every face the rig takes as turned opens its lower lip
as a band, and a face under it as a profile. On the profile (0.04; cameraman 0.03) the lower
lip forms the silhouette, and a band there folded against it: the repairs left its jaw 0.021
face heights (0.030 without) and one of 200 random combinations folded. At 0.5 every turned
tuning portrait had the band (0.50-0.77), but a head turned further lost it, and without it
the jaw, weighted by each point's own x, drew the inner lower lip down past its outer
contour near the corners (riga_turned at 100 px, halves 0.497: column 7 from 5.4 px thick to
-0.9 at jaw 1.0): the render's map jumped across the squeezed lip, torn wide-open poses
(``measure.wide_jaw_lip_tears``, seeds 11 and 5) 0.5 -> 0.25: photographer_grey_parted turned
60 more (tools/avatar_portraits.turned, halves 0.445) 24 -> 0, canonman_turned turned 20
more (0.375) 50 -> 0, riga_turned at 80/90/100 px (0.49-0.50) 4-5 -> 0; their jaw kept
0.18-0.19 face heights at 14, no pose of 60 folded; the first's tear frames over two
tuning-voice clips (tools/avatar_real_tuning.py's first two) 69 and 26 -> 0, p95 opening
0.179/0.181 -> 0.183/0.187. Where the fold repairs had cut the unbanded jaw (the first
turned 60 and 70 more with 0.5 px of landmark noise, seed 1: 0.045 and 0.034 face heights
at 14, the held-out portraits' symptom) it keeps 0.190 and 0.181. No tuning portrait lies
between 0.25 and 0.5 (astronaut_turned55_moustache 0.501): of the 20 of
tools/avatar_real_tuning.py, only its renders changed (its speech p95 0.166-0.171 ->
0.167-0.171, tears and blinks as before)."""


@BASES.register("jaw")
def _jaw(g: FaceGeometry) -> np.ndarray:
    """The mandible turns about the ears: lower lip and chin go down, the jaw line less; the
    lower lip as one band (see ``_jaw_disp``)."""
    return _jaw_disp(g, band=True)


JAW_WIDE = "jaw_wide"
"""The wide-open jaw's own shape (:func:`_jaw_wide`, frontal faces only): the renderer and
the rig mix it into the jaw's weight (:func:`jaw_split`), more of it the wider the mouth
opens. Wide open, the speech jaw alone was a bucket: the corners at the opening's top and as
wide as at rest, straight steep sides and a flat bottom (the drawn outline's width a tenth of
its height below its top 1.00 of its widest on every frontal tuning portrait). Photos opened
wide by it are closed with its inverse mixed in (``rest._with_wide``)."""
JAW_WIDE_POWER = 2.0
"""A jaw weight j opens the mouth by ``j (1 - j**p)`` of the jaw basis and ``j**p`` of the
wide one (:func:`jaw_split`): both open the inner lower lip (14) as far, so the opening the
tracker reads stays near linear in j, and speech keeps most of its own shape (mid-word,
jaw 0.55 with spread 0.3, 0.30 of the wide one: the corners 0.06-0.12 of the opening below
the upper lip's middle on canonman_glasses and brothers_sepia, -0.09 and 0.00 before)."""
JAW_WIDE_CORNER = 0.4
"""Share of the jaw's drop at the lower lip's middle by which the mouth's corners go down wide
open (:func:`_wide_open`: the upper lip an arch, the lower a U between them): the corners at
the oval's side, 0.40-0.44 of the opening below the upper lip's middle on the frontal tuning
portraits (a real photo mid-word, obama_midword's, has them at 0.40 of its gap). The drawn
outline's width a tenth of its height below its top, over its widest at five heights (an
ellipse's 0.60): 0.74 on canonman_glasses and 0.64 on brothers_sepia at 0.3, 0.70 and 0.61
at 0.4, 0.60 and 0.53 at 0.5 (JAW_WIDE_SMILE 0). The lower lip keeps LIP_ROUND's profile
below its corners: rounder ones pinched its bottom (its width at 0.9 of the height 0.42-0.44
of the widest with (3, 1), 0.38-0.40 with (2, 0.5), 0.52-0.57 with LIP_ROUND's) and looked
no rounder."""
JAW_WIDE_SMILE = 1.0
"""...and this share of how far the inner corners sit above the upper lip's middle at rest (a
grin: astronaut's 0.048 face heights), or they stay at the opening's top: the width at the
top over the widest 0.80 at 0, 0.70 at 0.5, 0.66 at 1 on astronaut (astronaut_grey_moustache
0.73, 0.68, 0.65)."""
JAW_WIDE_NARROW = 0.1
"""Share of the mouth's half width (corner 61/291 to 14, in the picture) by which each
corner comes in wide open: the mouth narrows as the jaw drops (0.900-0.912 of its rest width
on the frontal tuning portraits). The lips and the skin around follow with
``_mouth_falloff`` (linear across the lips)."""
JAW_WIDE_LIFT = 0.012
"""Face heights the upper lip's inner edge rises at its middle wide open (none at the
corners: ``1 - u**2``), its outer contour and the skin up to the nose's base less: the
inner-lip distance the tracker reads 0.204 -> 0.216 face heights at jaw 1.0."""


def jaw_split(weights: dict[str, float], wide: bool) -> dict[str, float]:
    """``weights`` with the jaw's share of the wide-open shape moved to :data:`JAW_WIDE`
    (:data:`JAW_WIDE_POWER`), where the rig has it (``wide``). Weights that name the wide
    shape themselves are taken as they are (``{"jaw": 1.0, JAW_WIDE: 0.0}``: the speech
    shape wide open)."""
    jaw = weights.get("jaw", 0.0)
    if not wide or not jaw or JAW_WIDE in weights:
        return weights
    share = float(np.clip(jaw, 0.0, 1.0)) ** JAW_WIDE_POWER
    out = dict(weights)
    out["jaw"] = jaw * (1.0 - share)
    out[JAW_WIDE] = jaw * share
    return out


@BASES.register(JAW_WIDE)
def _jaw_wide(g: FaceGeometry) -> np.ndarray:
    """The jaw wide open (as in "ah"): the corners down (JAW_WIDE_CORNER, the upper lip an
    arch, the lower a U between them, :func:`_wide_open`) and drawn in (JAW_WIDE_NARROW), the
    upper lip lifted at its middle (JAW_WIDE_LIFT). Only on a frontal face (``_jaw_disp``'s
    rounded lip); elsewhere none (the rig leaves it out)."""
    half = _mouth_halves(g)
    if min(half) < LIP_BAND_LEAST_HALVES * max(half) or lip_turned(g):
        return g.zeros()
    d = _jaw_disp(g, band=True, wide=True)
    can = g.canonical
    h, q = _mouth_falloff(g)
    d[:NUM_LANDMARKS] -= (JAW_WIDE_NARROW * float(np.mean(half)) * h * q)[:, None] * g.right
    u = can[:, 0] / float(can[291, 0])
    y_lip, y_top = float(can[13, 1]), float(can[2, 1]) - 0.4
    up = np.clip((y_top - can[:, 1]) / (y_top - y_lip), 0.0, 1.0)
    upper, _, _ = _lip_sets()
    lift = np.zeros(NUM_LANDMARKS)
    above = can[:, 1] > float(can[61, 1])
    above[upper] = True
    lift[above] = (np.clip(1.0 - u * u, 0.0, 1.0) * up)[above]
    lift[468:] = 0.0
    d[:NUM_LANDMARKS] -= (JAW_WIDE_LIFT * g.face_h * lift)[:, None] * g.down
    return d


def _wide_corner(g: FaceGeometry) -> float:
    """The jaw's share by which the wide-open mouth's corners go down: JAW_WIDE_CORNER, and
    JAW_WIDE_SMILE of how far the inner corners (78, 308) sit above the upper lip's middle
    (13) at rest."""
    lm = g.landmarks[:, :2]
    high = float((lm[13] - (lm[78] + lm[308]) / 2.0) @ g.down)
    amount = g.amplitudes["jaw"] * g.face_h
    return JAW_WIDE_CORNER + JAW_WIDE_SMILE * max(0.0, high) / max(amount, 1e-6)


def _wide_open(can: np.ndarray, w: np.ndarray, c: float) -> None:
    """The wide-open jaw's weights (in place, ``w`` per landmark, the lower lip's rings set
    already): the mouth's corners go down by ``c`` of the jaw, the upper lip with them by
    ``u**2`` of that (u its x over the inner corner's: an arch, still at the middle), the skin
    beside the corners with them, fading out over 1.3 cm, and up to the nose's base; what the
    jaw moved already goes the rest of the way with it (``f + (1 - f) w``, f that drop), so
    the skin below the lower lip's ends keeps below it (the drop alone as a floor left it
    above the lip: astronaut_small tore there in 27 of 30 wide-open poses)."""
    x_in, x_out = float(can[308, 0]), float(can[291, 0])
    ax = np.abs(can[:, 0])
    side = np.where(
        ax <= x_in,
        (ax / x_in) ** 2,
        np.where(ax <= x_out, 1.0, np.exp(-(((ax - x_out) / 1.3) ** 2))),
    )
    # (Nothing above the nose's base moves: none from 0.4 cm under it, as _mouth_falloff.)
    y_corner, y_top = float(can[61, 1]), float(can[2, 1]) - 0.4
    vert = np.clip((y_top - can[:, 1]) / (y_top - y_corner), 0.0, 1.0)
    f = c * side * vert
    inner = list(LOWER_LIP_RINGS[0])
    w[:] = f + (1.0 - f) * w
    # (The lower lip's columns go down whole, with their inner point.)
    for ring in map(list, LOWER_LIP_RINGS[1:]):
        w[ring] = w[inner]


def rest_jaw(g: FaceGeometry) -> np.ndarray:
    """The jaw as the rest mouth closes an open photo's mouth with it (``rest.close_mouth``,
    on the plain triangulation): each lower-lip point weighted by its own x, its outer
    contour lagging its inner lip (the lip thickens as it closes). Kept as the rest faces
    were built and tracked: closed with the band on the slit mesh, the open-mouthed
    portraits' rest faces changed by up to 4-9 px at the lips and their re-tracked
    landmarks with them, and what was measured on them with it (the profile's jaw at 14 fell
    from 0.030 to 0.007 face heights, five random combinations folded; astronaut_glasses
    read one posed blink at 0.56 of the open eye, 0.47 before)."""
    return _jaw_disp(g, band=False)


def _jaw_disp(g: FaceGeometry, band: bool, wide: bool = False) -> np.ndarray:
    can = g.canonical
    upper, lower, _ = _lip_sets()
    y_corner = float(can[61, 1])
    z_pivot, z_lip = float(can[234, 2]), float(can[14, 2])
    below = np.clip((y_corner - can[:, 1]) / 1.2, 0.0, 1.0)
    below[upper] = 0.0
    # The lips stay joined at the corners: the lower lip opens as an arc, fully only in the
    # middle (from 60 % of the way in).
    xc = float(can[291, 0])
    arc = np.clip((xc - np.abs(can[:, 0])) / (0.6 * xc), 0.0, 1.0)
    below[lower] = np.maximum(below[lower], _smooth(arc[lower]))
    depth = np.clip((can[:, 2] - z_pivot) / (z_lip - z_pivot), 0.0, 1.0)
    w = below * depth
    # The lower lip opens as a band: each of its columns (inner lip to outer contour) goes
    # down nearly as its inner point does. Weighted by its own x, the outer contour (wider
    # than the inner) lagged its inner point by up to 0.25 of the jaw: on thin closed lips
    # (biden: 2-8 px from inner lip to outer contour) that turned the lower lip's triangles
    # over (11 folds at jaw 1.0), and the fold repair, relaxing whole neighbourhoods, dragged
    # the upper lip's centre (13) down 18 px with them; the lip it left was lumpy (the inner
    # ring at 12-41 px, lopsided, and below its outer contour near the corners).
    lm = g.landmarks[:, :2]
    half = _mouth_halves(g)
    amount = g.amplitudes["jaw"] * g.face_h
    if band and min(half) >= LIP_BAND_LEAST_HALVES * max(half):
        inner = list(LOWER_LIP_RINGS[0])
        if not lip_turned(g):
            # A frontal face's lower lip opens as a rounded curve, each of its columns going
            # down whole with its inner point (LIP_ROUND).
            u = np.abs(can[inner, 0]) / float(can[308, 0])
            w[inner] = _lip_round(u) * depth[inner]
            for ring in map(list, LOWER_LIP_RINGS[1:]):
                w[ring] = w[inner]
        else:
            # Thinner towards the corners, the lip's outer contour lagged the skin beside it
            # (LIP_BAND_KEEP_CORNER).
            keep = np.full(len(inner), LIP_BAND_KEEP)
            keep[list(LIP_BAND_CORNER_COLUMNS)] = LIP_BAND_KEEP_CORNER
            for ring in map(list, LOWER_LIP_RINGS[1:]):
                thick = np.maximum((lm[ring] - lm[inner]) @ g.down, 0.0)
                least = w[inner] - (1.0 - keep) * thick / max(amount, 1e-6)
                w[ring] = np.maximum(w[ring], least)
    if wide:
        _wide_open(can, w, _wide_corner(g))
    if band:
        w[list(LIP_RING_CORNERS)] = w[list(LIP_CORNERS)].min()
        x = lm @ g.right
        if lip_turned(g) and _lip_steepness(w * amount, x) > JAW_LIP_STEEP:
            _smooth_lip_opening(w, x, JAW_LIP_SMOOTH * g.face_h)
    w[468:] = 0.0
    d = g.zeros()
    d[:NUM_LANDMARKS] = (w[:, None] * amount) * g.down[None, :]
    # The skin under the chin goes along part of the way, so the neck is not squeezed: each
    # head-ring vertex with the landmark nearest to it in the picture (on a turned head that
    # is the lips or chin at the silhouette, not the face-oval point it was made from).
    face = g.landmarks[:468, :2]
    ring = g.points[g.head_ring]
    nearest = np.argmin(((ring[:, None, :] - face[None, :, :]) ** 2).sum(axis=2), axis=1)
    d[g.head_ring] = 0.6 * d[nearest]
    return d


JAW_LIP_STEEP = 5.0
"""Pixels per picture pixel: where the jaw opens the lower lip more steeply than this along
it (between neighbouring points of one of its rings, or its end and the corner), its
opening is smoothed along the lip (:func:`_smooth_lip_opening`). The opening falls from its
full depth at the middle to none at the corners by the canonical face's x; a turned head's
far half is foreshortened in the picture, so there the fall is steeper: 6.8 on
astronaut_turned_moustache (40°), 13 on astronaut_turned55_moustache (55°), where columns
of lip 3 px apart sheared 13 px against one another and the render's map jumped at the
far corner (a tear). The frontal tuning portraits reach 3.0-4.2 (the grey moustache's,
mid-word), astronaut_turned (28°) 3.7: untouched."""
JAW_LIP_SMOOTH = 0.05
"""Face heights: the sigma of the Gaussian along the picture's x that smooths it, each ring
keeping its deepest opening. Wide-open poses with a tear across the lips
(``measure.wide_jaw_lip_tears``, 30 poses, seeds 11 and 5) on astronaut_turned_moustache /
astronaut_turned55_moustache: 5+5 / 14+16 unsmoothed; 0+1 / 3+5 at 0.03, 0+0 / 3+3 at 0.04,
0+0 / 0+0 at 0.05 and 0.06. (Blurred alone, without keeping the deepest opening, 0.04
cleared both too, but took the jaw at 14 from 0.200 to 0.186-0.191 face heights and the
tracked p95 opening over the speech clip from 0.178 to 0.148 on the 40° portrait. Capping
the slope instead, a Lipschitz envelope at 3-4.5 px per px, left kinks that tore as often:
3-9 / 12-22 of 30.)"""
JAW_LIP_TURNED = 0.8
"""...on a turned face only: its far mouth half (corner to 14) under this share of the near
one (astronaut_turned_far 0.56, the 40° and 55° portraits 0.54 and 0.49, astronaut_turned
0.71; the frontal photos 0.81-0.99, LIP_BAND_LEAST_HALVES). A frontal photo taken mid-word
(obama_midword, 0.87, held out) is steeper than JAW_LIP_STEEP at a corner and was smoothed
too: it is left as it was built and measured..."""
JAW_LIP_SMOOTH_HALF = 0.25
"""...and not a profile: at least this share (cameraman 0.04: its lower lip forms the
silhouette; blurred without keeping its deepest opening, the jaw at 14 fell from 0.030 to
0.021 face heights, under test_avatar_quality's 0.027)."""


def _mouth_halves(g: FaceGeometry) -> list[float]:
    """The mouth's two halves in the picture, each corner (61, 291) to the lower lip's
    middle (14) along the face's right, in pixels."""
    lm = g.landmarks[:, :2]
    return [abs(float((lm[c] - lm[14]) @ g.right)) for c in (61, 291)]


def lip_turned(g: FaceGeometry) -> bool:
    """Whether the face is turned, not a profile: its far mouth half (corner to 14) between
    :data:`JAW_LIP_SMOOTH_HALF` and :data:`JAW_LIP_TURNED` of the near one."""
    half = _mouth_halves(g)
    return JAW_LIP_SMOOTH_HALF <= min(half) / max(max(half), 1e-6) < JAW_LIP_TURNED


def _lip_steepness(w: np.ndarray, x: np.ndarray) -> float:
    """The steepest change of ``w`` between neighbours along the lower lip's rings (corner to
    corner, ``x`` the points' positions along the face's right)."""
    worst = 0.0
    for ring in LOWER_LIP_RINGS:
        idx = [61, *ring, 291]
        dx = np.abs(np.diff(x[idx]))
        worst = max(worst, float((np.abs(np.diff(w[idx])) / np.maximum(dx, 0.5)).max()))
    return worst


def _smooth_lip_opening(w: np.ndarray, x: np.ndarray, sigma: float) -> None:
    """Smooth, in place, the jaw's weight along each ring of the lower lip: the ring's
    profile over the picture's x (linear between its points, the corners' weight beyond
    them) blurred by a Gaussian of ``sigma`` pixels, read back at its points and scaled so
    that the ring opens as deep as before. The corners stay where they are."""
    step = 0.25  # pixels between the profile's samples
    half = max(1, round(4 * sigma / step))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / sigma) ** 2)
    kernel /= kernel.sum()
    corner = float(w[list(LIP_CORNERS)].min())
    for ring in LOWER_LIP_RINGS:
        idx = np.array([61, *ring, 291])
        values = w[idx].copy()
        values[[0, -1]] = corner
        order = np.argsort(x[idx])
        grid = x[idx].min() + step * np.arange(-half, round(np.ptp(x[idx]) / step) + half + 1)
        profile = np.interp(grid, x[idx][order], values[order], left=corner, right=corner)
        blurred = np.convolve(profile, kernel, mode="same")
        # The blur takes the middle down too (the jaw at 14 0.200 -> 0.186-0.191 face
        # heights, the tracked p95 opening over the speech clip 0.178 -> 0.148 on the 40°
        # portrait): the ring keeps its deepest opening (0.194-0.199 at 14, 0.163). Keeping
        # 14's own (0.200) steepened the shoulders: 2-3 of 30 wide-open poses tore at 55°.
        got = np.interp(x[list(ring)], grid, blurred)
        w[list(ring)] = got * (values.max() / max(float(got.max()), 1e-9))


def _lip_round(u: np.ndarray) -> np.ndarray:
    """The inner lower lip's opening across the mouth (:data:`LIP_ROUND`): 1 at the middle,
    0 at the inner corners (``u`` ±1)."""
    n, k = LIP_ROUND
    return (1.0 - np.clip(np.abs(u), 0.0, 1.0) ** n) ** k


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@BASES.register("closure")
def _closure(g: FaceGeometry) -> np.ndarray:
    """Lips pressed together: the inner contours meet, the lips thin a little."""
    upper, lower, pairs = _lip_sets()
    lm = g.landmarks[:, :2]
    d = g.zeros()
    for u, low in pairs:
        mid = (lm[u] + lm[low]) / 2.0
        d[u] = mid - lm[u]
        d[low] = mid - lm[low]
    paired = {i for p in pairs for i in p}
    can = g.canonical
    press = 0.12 * g.px_per_cm
    mouth_y = float(can[13, 1] + can[14, 1]) / 2.0
    for i in upper:
        if i not in paired:
            d[i] += press * min(1.0, abs(can[i, 1] - mouth_y)) * g.down
    for i in lower:
        if i not in paired:
            d[i] -= press * min(1.0, abs(can[i, 1] - mouth_y)) * g.down
    return d


def _mouth_falloff(g: FaceGeometry, sigma_y: float = 1.4) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal profile h: ±1 at the corners, linear across the lips, fading beyond;
    vertical weight q) for every landmark, from the canonical face."""
    can = g.canonical
    xc = float(can[291, 0])
    u = can[:, 0] / xc
    au = np.abs(u)
    h = np.where(au <= 1.0, u, np.sign(u) * np.exp(-(((au - 1.0) * xc / 1.3) ** 2)))
    y_m = float(can[61, 1])
    q = np.exp(-(((can[:, 1] - y_m) / sigma_y) ** 2))
    # Nothing above the nose's base moves with the lips.
    q *= np.clip((float(can[2, 1]) - 0.4 - can[:, 1]) / 0.8, 0.0, 1.0)
    h[468:] = 0.0
    return h, q


@BASES.register("spread")
def _spread(g: FaceGeometry) -> np.ndarray:
    """Lips wide (as in "ee"): the corners go outwards."""
    h, q = _mouth_falloff(g)
    d = g.zeros()
    d[:NUM_LANDMARKS] = (g.amplitudes["spread"] * g.face_h * h * q)[:, None] * g.right[None, :]
    return d


@BASES.register("round")
def _round(g: FaceGeometry) -> np.ndarray:
    """Lips rounded (as in "oo"): the corners come in, the lips part in the middle."""
    h, q = _mouth_falloff(g)
    amount = g.amplitudes["round"] * g.face_h
    d = g.zeros()
    d[:NUM_LANDMARKS] = (-amount * h * q)[:, None] * g.right[None, :]
    _, _, pairs = _lip_sets()
    can = g.canonical
    xc = float(can[291, 0])
    for u, low in pairs:
        c = max(0.0, 1.0 - abs(float(can[u, 0])) / xc)
        d[u] -= 0.25 * amount * c * g.down
        d[low] += 0.35 * amount * c * g.down
    return d


@BASES.register("smile")
def _smile(g: FaceGeometry) -> np.ndarray:
    """Corners up and out, cheeks raised a little."""
    h, q = _mouth_falloff(g, sigma_y=2.2)
    amount = g.amplitudes["smile"] * g.face_h
    d = g.zeros()
    d[:NUM_LANDMARKS] = (0.5 * amount * h * q)[:, None] * g.right[None, :]
    d[:NUM_LANDMARKS] -= (amount * np.abs(h) * q)[:, None] * g.down[None, :]
    return d


# --------------------------------------------------------------------------- eyes
def _eye_parts(ring: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """(upper lid, lower lid) of an eye ring that starts at one corner and runs over the top
    to the other corner (index 8), then back along the bottom."""
    return list(ring[1:8]), list(ring[9:])[::-1]


BLINK_LEVELS = 8
"""A blink is stored as fields at this many closures (1/8 … 8/8), and drawn at the nearest
(:func:`_nearest_level`): a lid that slides over the eye is not a linear function of the
closure."""
BLINK_LOWER_SHARE = 0.0
"""Where the lids meet, as a fraction of the opening above the lower lid's landmarks: the
upper lid does all the travel, down to the lower lid's line; the lower lid rises a little, by
:data:`LID_MARGIN`, its own margin (wet line and lashes) up to that line. (0.2 until
2026-12-04, the lids meeting a fifth of the opening up: on the first real hooded eyes tuned
on, canonman_glasses' narrow eyes under thin rims, the tracker read the shut eye at 0.53-0.65
of the open one under head poses, 0 of 8 posed blinks seen, 0 of 11 over the speech clip; at
0.0, 4 of 8 (0.37-0.61), 5 of 8 with :data:`LID_LASH_BELOW` 0.5, and 5 of 11. The tracker puts
the upper lid's landmark on the lash line and the lower lid's below it, so the lower the line
the smaller its reading; it is sensitive to a pixel: 0.05 gave 2 of 8, the lids meeting 1 px
above the lower line 1 of 8. -0.1 and -0.2 (the upper lid past the lower lid's line) gave 4
and 6 of 8, but with the lashes hanging lower astronaut_glasses' worst posed blink went to
0.47, where at most 0.40 is asked. So this is the default, and the build goes deeper per
portrait where the tracker reads the shut eye open: pipelines/avatar/lids.py.)"""
LID_SKIN_REACH = 0.9
"""How far above the lash line the upper lid's skin slides with it, in eye openings (the
skin between the lash line and the crease unfolds; the brow stays)."""
LID_SKIN_MIN = 0.45
"""...never less than this, even under a glasses rim, so the skin is not torn."""
LOWER_SKIN_REACH = 0.5
LID_MARGIN = 0.15
"""Fraction of the opening outside the lid landmarks where the closed lids' edges come from."""
LOWER_EDGE_RAMP = 2.0
"""Above the rising lower lid's edge, the strip it rose over (its margin, :data:`LID_MARGIN`)
is pressed into this many times its height (:func:`blink_fields`), not skipped. Skipped, the
map jumped by the margin under the eye; from about 0.55 to 0.63 closed, before the upper lid's
edge came near, the jump passed a pixel on larger eyes, and the tear detector
(:func:`~pipelines.avatar.measure.map_jumps`, whose eye openings end at the landmark line)
counted one frame of every blink on the tuning portraits astronaut_turned (11 frames over two
seeds of an 18 s espeak clip), astronaut_grey_moustache (15), astronaut_grey_small (9),
astronaut_rot30 and astronaut_small (1 each) (2026-12-07); the shut lids (no strip left
between them) are drawn as before."""


def _darkest_mean(samples: np.ndarray) -> np.ndarray:
    """The mean colour of the darkest :data:`LID_LASH_DARKEST` of ``samples`` (N×channels),
    darkest by their channels' mean."""
    order = np.argsort(samples.mean(axis=1))
    return samples[order[: max(1, int(LID_LASH_DARKEST * len(order)))]].mean(axis=0)


def _smooth_scalar_profile(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _solve_monotone(fn: Callable[[np.ndarray], np.ndarray], target: np.ndarray) -> np.ndarray:
    """t in [0, 1] with fn(t) = target for an increasing fn, elementwise (bisection)."""
    lo = np.zeros_like(target)
    hi = np.ones_like(target)
    for _ in range(24):
        mid = 0.5 * (lo + hi)
        below = fn(mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _edge_above_lid(
    gray: np.ndarray | None,
    origin: np.ndarray,
    axis: np.ndarray,
    up: np.ndarray,
    width: float,
    start: float,
    stop: float,
) -> float | None:
    """Distance above the eye axis of the first strong, eye-wide edge between ``start`` and
    ``stop`` (a glasses rim or the brow), or None. The lid skin stops short of it, so rims
    and brows never move with a blink."""
    if gray is None or stop <= start + 2:
        return None
    us = np.linspace(0.2 * width, 0.8 * width, 24, dtype=np.float32)
    vs = np.arange(start, stop, 0.5, dtype=np.float32)
    grid_u, grid_v = np.meshgrid(us, vs)
    mx = (origin[0] + grid_u * axis[0] + grid_v * up[0]).astype(np.float32)
    my = (origin[1] + grid_u * axis[1] + grid_v * up[1]).astype(np.float32)
    patch = cv2.remap(gray, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rows = np.abs(np.diff(patch.astype(np.float32), axis=0))
    # An edge across the eye's whole width: strong in most columns, not just in a few.
    strength = np.percentile(rows, 30, axis=1)
    hits = np.where(strength > LID_EDGE_LEVELS * 0.5)[0]
    if len(hits) == 0:
        return None
    return float(vs[hits[0]])


LID_EDGE_LEVELS = 18.0
"""Grey levels per pixel (over two half-pixel steps) that count as a rim or brow edge."""


LID_LASH_BAND = (0.15, 0.45)
"""The closed lid's lash line: within the first figure (eye openings) above the lid's lower
edge, in the picture, its skin takes the lashes' colour, blending into the lit skin by the
second; a line as thick wherever the lid's skin is stretched. (Later on 2026-12-03: with the
shut line darker where the lids meet (:data:`LID_LASH_ROWS`), 0.25/0.5 -> 0.15/0.45 took
astronaut_rims' posed blinks from 2 to 6 of 8 seen (one row of lashes at 0.15/0.45: 2 of 8);
two rows at 0.25/0.5 read as a narrow open eye again (astronaut_glasses' worst 0.42 -> 0.49),
at 0.15/0.3 the near-black line's edges were tears there in 5 of 24 posed frames.) (Swept
2026-12-03 on the posed
blinks of the Obama and glasses portraits: at 0.05/0.2 4 of 8 went unseen under the rims; a
band measured on the lid's unstretched skin, as thick as the stretch made it, left 1 of 8;
at 0.2/0.4 the tear detector found the line's edge on the glasses portrait's speech run.
With the lashes hanging below it (:data:`LID_LASH_BELOW`), 0.15/0.35 -> 0.25/0.5 took
astronaut_glasses' worst posed blink from 0.49 to 0.42 of the open eye; 0.35/0.6 and wider
read as a dark slit, an open eye, under head turns on astronaut_rims.)"""
LID_LASH_MIN_PX = 1.5
"""Pixels: the least the lash line and its blend into the lid's skin are thick; a thinner
line is drawn this thick with the lashes' colour mixed into the skin's by the share it
covers. (cameraman's near eye, 5.6 px open, its line 0.84 px: drawn that thin in the darker
colour, its lower edge was a tear in 5 of 24 posed frames; at least 1 px at full colour, its
one-row step (tests/test_avatar_blinks.py) 0.55-0.61 of its rise against 0.25 before; at
1.5 px with the colour mixed, none and 0.41.)"""
LID_LASH_BELOW = 0.5
"""The closed lid's lashes hang below its edge, fading out over this much (eye openings, at
least a pixel; in proportion to the closure squared, so a half-closed lid leaves the eye's
lower half as it was), over the lower lid's skin: the line's lower edge is soft and follows the lid
between pixel rows (it was cut at pixel centres, stair-stepped), as a closed eye's lashes
point down. (astronaut_glasses' worst posed blink 0.49 -> 0.45 of the open eye alone.) 0.35
until 2026-12-04: with the lids meeting on the lower lid's line (:data:`BLINK_LOWER_SHARE`
0.0) the line's lower edge lay over the lower lid's plain skin, and at 0.35 it was a new edge
there to the tear detector in 7 of 24 posed frames on astronaut_glasses; at 0.5, softer,
none (and canonman_glasses' posed blinks 5 of 8 seen against 4 of 8).)"""
LID_DETAIL_KEEP = 0.3
"""Share of the unfolded lid skin's fine texture (finer than :data:`LID_LIGHT_BLUR`) that
stays once the lid has come down a quarter of the opening: that skin is the band just above
the lashes, and stretched over the eye its lashes drew dark vertical streaks."""
LID_GRAIN_GAIN = float(np.sqrt(1.0 - LID_DETAIL_KEEP**2))
"""How much of the lower lid's fine grain takes the place of the lid's own grain that
:data:`LID_DETAIL_KEEP` took away: as much as makes the grain's energy (the two added as
unrelated) the skin's again. (Before 2026-12-05 none: the shut lid was the lower lid's
median colour with 0.3 of the stretched skin's grain, a flat patch at 4-6x, issue 13.)"""
LID_GRAIN_BAND = (0.25, 0.75)
"""Where below the lower lid's margin (eye openings past :data:`LID_MARGIN`) the grain is
read: its plain skin, below the lower lashes, above the cheek's rims and shadows."""
LID_GRAIN_CLIP = 2.5
"""The grain is clipped at this many (robust) standard deviations of the band's grain: a rim,
lash or mole caught in the band would be a new edge on the lid."""
LID_LASH_DARKEST = 0.3
"""The lashes' colour: the mean of this darkest share of the upper lid's margin..."""
LID_LASH_FLOOR = 0.3
"""...but no darker than this share of the skin's: a lash line one or two pixels thick is
lashes and the skin between them (a dark iris under the lid's margin read as black)."""
LID_LASH_PALEST = 0.65
"""...and no paler than this share of it (the colour scaled down as a whole): where the lids
meet, the lashes lie in the fold between them, a dark line whatever their colour. Read from
pale lashes (an old man's white lashes in a grey, bright photo) the shut line came out at 0.86
of the lid skin's light, a pale band that the tracker read as a narrow open eye: on the tuning
stand-in for that (``astronaut_pale_lashes``, tests/data/faces/README.md) the build's check
read the default lids at 0.74 of the open eye and no deeper lid of any shape shut without a
tear, so none was kept; posed blinks of seeds 7 and 8 8 of 16 seen (worst 0.75), the speech
clip's (pipelines/assets/talking_head_speech.wav, seeds 1-3) 5 of 11, tools/avatar_real_tuning.py's
tuning clips 9 of 17. At this share: the default lids kept, 16 of 16 (worst 0.31), 11 of 11
and 17 of 17, the same tear frames (2026-12-05). (0.5, 0.6 and 0.7 read alike, 17 of 17 on
the tuning clips, posed worst 0.28, 0.27, 0.29 on an earlier write of the stand-in; deeper
lids forced on it before, 0.3 and 0.45 past the lower lid's line as :data:`~pipelines.avatar.
lids.DEEPER_SHAPE`, read 7 and 10 of 17: every depth at the tracker's edge.) Every other
tuning portrait's lashes read 0.30-0.60 of the skin (the mean over the channels): their lids
render as before."""
LID_LASH_RAMP = 0.1
"""The lash line is drawn once the lid has come down this far (eye openings; at least a
pixel): out to the corners, where the lids would otherwise meet on a pale line of sclera."""
LID_LASH_FADE = 0.2
"""The lash line fades out over this share of the eye's width at its inner corner. Drawn full
up to where the lids meet (the lid had come down a pixel), it ended in a step of lash colour
on skin that the tear detector found under head poses (astronaut_glasses' inner corner, an
11-14 px edge, in 4 of 24 posed frames; none since, on any test portrait, over 48 frames
each). Faded at the outer corner as well, the tracker read the shut eyes less shut (one
posed blink there from 0.56 to 0.65 of the open eye)."""
LID_LASH_INNER = (0.5, 0.8, 0.85)
"""The even shut line (no :class:`LashLook`) is full from its outer end over this first share
of its length, then thins to the second figure of its thickness (its hanging lashes as much
shorter) and pales to the third of the lashes' colour at the inner corner, before the fade of
:data:`LID_LASH_FADE`: a shut eye's lashes are longest and darkest from the middle outward,
short and sparse toward the inner corner, and as thick and dark out to both corners the line
looked drawn on with a marker at 5x (issue 13). The tracker reads the line's inner half: the
share is what the posed blinks allowed. (2026-12-05, posed blinks of seeds 7 and 8, worst of
16, against 0.537 (14 seen), 0.435, 0.430 and 0.315 with the even line: astronaut_rims,
astronaut_turned_far, astronaut_turned55_moustache, photographer_turned 0.552 (14), 0.444,
0.378, 0.323 here. Swept with the hanging lashes also drawn in strands: ends 0.5 thick and 0.6
of the colour from 0.4 in 0.608 (12, the build then kept deeper lids there), 0.526 (15),
0.362, 0.322; thinning alone to 0.5: 0.566, 0.480; paling alone to 0.6: 0.622, 0.473; from
0.65 in, 0.5 thick and 0.7 dark: 0.548, 0.489; 0.6 thick, as dark: 0.534, 0.434, 0.389, 0.349;
from 0.55 in, 0.6 and 0.85: 0.556, 0.488; from 0.5, 0.55 and 0.85: 0.575, 0.479; the turned
heads' limit is 0.46, tests/test_avatar_blinks.py. The strands, as :class:`LashLook`'s, were
dropped: hanging over the lower lid's skin they were fine grain there, the shut lid's grain
0.05 of that skin's at 0.35 of the colour, 0.25 at 0.15 (tests/test_avatar_blinks.py asks
0.35), and at 0.08, where that passed, invisible. Every tuning portrait keeps the lids its build
chose.)"""
LID_LASH_MEET = (0.7, 1.0)
"""Closures over which the lower lid's lashes join the upper lid's line: where the lids meet,
the two rows of lashes lie over each other, a darker line than the upper lid's alone
(:data:`LID_LASH_ROWS`, :meth:`_LidLight.lash_at`); a lid on its way down keeps one row."""
LID_LASH_ROWS = 1.5
"""How many rows of lashes the shut line is dark as: the colour lets through the share of the
skin's light one row lets through to this power. (Two rows, the physical figure, made the
line near black on the glasses portraits (0.02-0.09 of the lid's light at 0.15/0.3), and its
edges tears on astronaut_glasses in 2 of 24 posed frames; at 1.5 (0.10-0.23) none, and
astronaut_rims' posed blinks 6 of 8 seen against 2 of 8 with one row.)"""
LID_OUTER_REACH = 0.1
"""How far past the outer corner's landmark (shares of the eye's width) every shut lid closes
(:func:`blink_fields`' ``outer_reach``; :data:`~pipelines.avatar.lids.OUTER_REACH` tells why
for hooded eyes). On a head turned hard, the near eye's outer corner is a dark hook up from the
shut lash line's outer end (the open eye's upper margin running on past the landmark), the
corner of an open eye to the tracker: it read the shut eye at 0.5-0.6 of the open one under
turns past those the build checks (pipelines/avatar/lids.py), on lids that do close over the
eye. Posed blinks of seeds 7 and 8 (2026-12-05; worst, then seen of 16), lids closing between
the corners -> 0.1 past the outer one: astronaut_turned_far 0.61 (15) -> 0.44 (16),
astronaut_turned55_moustache 0.51 (15) -> 0.43 (16), astronaut_glasses 0.41 -> 0.38,
astronaut_rims 0.59 (14) -> 0.54 (14). (Until then only the deeper lids of hooded eyes closed
past it, :data:`~pipelines.avatar.lids.DEEPER_SHAPE`.)"""
LID_LIGHT_RAMP = 0.5
"""The lid's skin is fully lit once it has come down this far (eye openings): the skin that
unfolds, not the crease that stays (0.35-1.0 measured alike)."""
LID_SOCKET_ROWS = (0.3, 0.75)
"""Where the socket's light is read for a shaded shut lid (:attr:`LidShape.shade`): this far
above the open upper lid's margin (eye openings past :data:`LID_MARGIN`), the fold's skin that
the blink unfolds over the eye, under the brow..."""
LID_SOCKET_FOLD = 0.8
"""...and no higher than this share of the skin that unfolds (:data:`LID_SKIN_REACH`, less
under a glasses rim, whose dark is the rim's, not the socket's: read higher, astronaut_rims'
posed blinks fell to 5 of 8 with the whole lid so lit; palelids, 2026-12-06)."""
LID_SOCKET_SPAN = (0.15, 0.85)
"""Shares of the eye's width (from the outer corner) over which the socket is read, one light
per eye (read column by column along the eye, a darker outer corner read as the corner of an
open eye: einstein_midword 4 -> 3 of 4 speech blinks, palelids, 2026-12-06)."""
LID_SOCKET_RAMP = (0.35, 1.0)
"""A shaded shut lid keeps the lower lid's light up to the first figure (eye openings above its
lash line), where the tracker reads the lid, and takes its socket's shade (the share
:attr:`LidShape.shade`) from the second up, toward the crease, with a smooth turn between. The
whole lid lit toward the socket's shade lost tuning blinks (riga_turned's festival clip 6 -> 4
of 6, canonman_bright_rolled posed 8 -> 7 of 8, astronaut_rims' festival clip 3 -> 2 of 6;
palelids, 2026-12-06): the tracker reads the lash line. (Not tuned; chosen to darken what
tests/test_avatar_lid_light.py measures as the lid, from half the opening above the open eye's
lower lid up.)"""
LID_LIGHT_MIN_WIDTH = 0.5
"""An eye narrower than this share of the other is the far eye of a profile, on the
silhouette: what lies under it need not be skin (cameraman's far eye, 0.36 of the near one,
sits on the camera it looks through, whose white would have lit its lid), so its lid is not
lit. (At 0.8 the far eye of a head turned ~30° (astronaut_turned, 0.71) closed without
light or lashes: its lid was the stretched shadowed fold, a smear where the eye had been.)"""
LID_LIGHT_BLUR = 0.25
"""Scale (eye openings) of the lid skin's own shading that the light replaces; finer texture
stays."""


class _LidLight:
    """The closed lid's light. The skin that a blink unfolds over the eye sits in the fold,
    in the socket's shadow, while the eye is open; closed, it bulges forward over the eyeball
    and faces the light like the lower lid's skin, and the lashes draw a thin dark line where
    the lids meet. Stretched with its shadow (the field alone) it read as a dark, narrow open
    eye to the face tracker (2026-12-03: a deep-set eye, a squint and glasses rims kept the
    eye opening at 0.53-0.72 of the open eye's).

    As additive colour offsets (8-bit levels) per output pixel of the lid's box, so the
    skin's own texture finer than :data:`LID_LIGHT_BLUR` stays."""

    def __init__(
        self,
        image: np.ndarray,
        c0: np.ndarray,
        axis: np.ndarray,
        up: np.ndarray,
        width: float,
        opening: float,
        upper: tuple[np.ndarray, np.ndarray],
        lower: tuple[np.ndarray, np.ndarray],
        outer: float = 0.0,
        lash_band: tuple[float, float] = LID_LASH_BAND,
        lash_from_opening: bool = False,
        lash_floor: float = LID_LASH_FLOOR,
        look: LashLook | None = None,
        inner: bool = True,
        dome: float = 0.0,
        lash_below: float = LID_LASH_BELOW,
        fold: float = LID_SKIN_REACH,
        shade: float = 0.0,
        shade_whole: bool = False,
    ) -> None:
        """``upper``, ``lower``: the lids' curves (u along the eye, v up, from ``c0``);
        ``outer``: how far (pixels) past the outer corner ``c0`` they run; ``lash_band``: the
        shut line's thickness (:data:`LID_LASH_BAND`); ``lash_from_opening``: the lashes'
        colour may be as dark as the open eye's slit (:class:`LidShape`), and no darker than
        ``lash_floor`` of the skin's light; ``look``: the line drawn as lashes (tapered,
        soft, stranded) on a shaded lid (:class:`LashLook`), None: an even band, thinner and
        paler toward the inner corner where ``inner`` (:data:`LID_LASH_INNER`); ``dome``: the
        shut lid's light shaded as a dome, its mean kept (:attr:`LidShape.dome`);
        ``lash_below``: how far its lashes hang below its edge (:attr:`LidShape.lash_below`);
        ``fold``: how far above the lash line (eye openings) the skin unfolds with the lid
        (:data:`LID_SKIN_REACH`, less under a glasses rim); ``shade``: the share of the
        socket's shade its upper part takes (:attr:`LidShape.shade`), its whole where
        ``shade_whole`` (:attr:`LidShape.shade_whole`)."""
        img = image.astype(np.float32)
        if img.ndim == 2:
            img = img[..., None]
        self.channels = img.shape[2]
        self.c0, self.axis, self.up, self.opening = c0, axis, up, opening
        self.width = width
        self.outer = outer
        self.lash_band = lash_band
        self.look = look
        self.inner = inner
        self.dome = dome
        self.lash_below = lash_below
        # Only around the eye is blurred (and later sampled).
        pad = 3.0 * opening + 4.0
        ends = np.array([c0 - outer * axis, c0 + width * axis])
        h, w = img.shape[:2]
        x0 = max(0, int(np.floor(ends[:, 0].min() - pad)))
        y0 = max(0, int(np.floor(ends[:, 1].min() - pad)))
        x1 = min(w, int(np.ceil(ends[:, 0].max() + pad)) + 1)
        y1 = min(h, int(np.ceil(ends[:, 1].max() + pad)) + 1)
        self.origin = np.array([x0, y0], np.float64)
        blurred = cv2.GaussianBlur(
            np.ascontiguousarray(img[y0:y1, x0:x1]), (0, 0), max(1.0, LID_LIGHT_BLUR * opening)
        )
        self.blurred = blurred.reshape(y1 - y0, x1 - x0, self.channels)
        crop = img[y0:y1, x0:x1].reshape(y1 - y0, x1 - x0, self.channels)
        self.crop = crop
        # The photo's own strongest edges around the eye (:data:`LID_LASH_EDGE_MAX`).
        self.photo_edge = float(np.percentile(_grey_gradient(crop), LID_PHOTO_EDGE))
        self.line = np.zeros((0, 0, self.channels), np.float32)
        us = np.linspace(0.25 * width, 0.75 * width, 16)
        # The lower lid's skin: below its lash line, over the eye's middle.
        lu, lv = lower
        rows = -(LID_MARGIN + np.linspace(0.2, 0.6, 9)) * opening
        gu, gv = np.meshgrid(us, rows)
        below = self._sample(crop, gu, gv + np.interp(us, lu, lv)[None, :])
        self.skin = np.median(below.reshape(-1, self.channels), axis=0).astype(np.float32)
        # The socket's shade: how much darker than the lower lid's skin the fold's skin above
        # the open eye is (:data:`LID_SOCKET_ROWS`), the share ``shade`` of it taken by the
        # shut lid's upper part (:data:`LID_SOCKET_RAMP`); none where the socket is as lit.
        uu, uv = upper
        columns = np.linspace(LID_SOCKET_SPAN[0] * width, LID_SOCKET_SPAN[1] * width, 9)
        top = min(LID_MARGIN + LID_SOCKET_ROWS[1], LID_SOCKET_FOLD * fold)
        rows = np.linspace(min(LID_MARGIN + LID_SOCKET_ROWS[0], top), top, 7) * opening
        gu, gv = np.meshgrid(columns, rows)
        socket = self._sample(crop, gu, gv + np.interp(columns, uu, uv)[None, :])
        socket = np.median(socket.reshape(-1, self.channels), axis=0)
        self.shade = (shade * np.maximum(self.skin - socket, 0.0)).astype(np.float32)
        self.shade_whole = shade_whole
        # The lashes: the darkest of the upper lid's margin just above its landmarks (on
        # them the iris shows between the lashes).
        uu, uv = upper
        rows = np.linspace(LID_MARGIN, LID_LASH_BAND[1], 7) * opening
        gu, gv = np.meshgrid(us, rows)
        margin = self._sample(crop, gu, gv + np.interp(us, uu, uv)[None, :])
        margin = margin.reshape(-1, self.channels)
        darkest = _darkest_mean(margin)
        if lash_from_opening:
            # A hood hides the margin's lashes (the margin above the landmarks is the fold's
            # skin): they show as the dark of the slit between the lids.
            t = np.linspace(0.2, 0.8, 7)
            top, bottom = np.interp(us, uu, uv), np.interp(us, lu, lv)
            gv = bottom[None, :] + t[:, None] * (top - bottom)[None, :]
            gu = np.broadcast_to(us[None, :], gv.shape)
            slit = self._sample(crop, gu, gv).reshape(-1, self.channels)
            darkest = np.minimum(darkest, _darkest_mean(slit))
        lash = np.maximum(darkest, lash_floor * self.skin)
        # Pale lashes still meet in a dark line (:data:`LID_LASH_PALEST`).
        share = float(lash.mean()) / max(float(self.skin.mean()), 1.0)
        if share > LID_LASH_PALEST:
            lash = lash * (LID_LASH_PALEST / share)
        self.lash = lash.astype(np.float32)
        # The skin's grain for the shut lid: the fine detail (finer than the light's blur) of
        # the lower lid's plain skin, below its lashes (:data:`LID_GRAIN_BAND`), clipped so a
        # rim, a lash or a pore's dark never comes along as an edge (:data:`LID_GRAIN_CLIP`).
        self.lower = lower
        fine = crop - self.blurred
        g0, g1 = LID_GRAIN_BAND
        rows = -(LID_MARGIN + np.linspace(g0, g1, 9)) * opening
        gu, gv = np.meshgrid(np.linspace(0.15 * width, 0.85 * width, 24), rows)
        band = self._sample(fine, gu, gv + np.interp(gu[0], lu, lv)[None, :])
        spread = np.median(np.abs(band.reshape(-1, self.channels)), axis=0)
        self.grain_clip = (LID_GRAIN_CLIP * 1.4826 * spread).astype(np.float32)
        self.fine = fine

    def _sample(
        self, img: np.ndarray, u: np.ndarray, v: np.ndarray, how: int = cv2.INTER_LINEAR
    ) -> np.ndarray:
        """``img`` (the crop around the eye) at eye coordinates, shape of ``u`` × channels."""
        shape = u.shape
        u, v = u.reshape(1, -1), v.reshape(1, -1)
        o = self.c0 - self.origin
        mx = (o[0] + u * self.axis[0] + v * self.up[0]).astype(np.float32)
        my = (o[1] + u * self.axis[1] + v * self.up[1]).astype(np.float32)
        got = cv2.remap(img, mx, my, how, borderMode=cv2.BORDER_REPLICATE)
        return got.reshape(*shape, self.channels)

    def offsets(
        self,
        u: np.ndarray,
        v: np.ndarray,
        src_v: np.ndarray,
        zone: np.ndarray,
        edge: np.ndarray,
        drop: np.ndarray,
        closure: float = 1.0,
    ) -> np.ndarray:
        """Colour offsets (h×w×C) for the upper lid at one closure: ``src_v`` where each
        output pixel (``u``, ``v``) of ``zone`` samples the lid, whose lower edge is now at
        ``edge``, ``drop`` below where it was, at ``closure`` (0…1). The lid's skin is lit
        like the lower lid's, the more the further it came down; along its edge it takes the
        lashes' colour."""
        out = np.zeros((*u.shape, self.channels), np.float32)
        self.line = np.zeros_like(out)
        if not zone.any():
            return out
        o = self.opening
        src = self._sample(self.blurred, u[zone], src_v[zone])
        # (In pixels at least LID_LASH_MIN_PX each: on a small eye the band's share of the
        # opening was under a pixel, a line one pixel row thick with a one-row step. A line
        # thinner than that covers only part of its pixel: its colour is mixed with the skin's
        # by that share.)
        band = self.lash_band
        lo = max(band[0] * o, LID_LASH_MIN_PX)
        cover_line = min(1.0, band[0] * o / LID_LASH_MIN_PX)
        ramp = max((band[1] - band[0]) * o, LID_LASH_MIN_PX)
        look = self.look
        above = (v - edge)[zone][:, None]
        came = (src_v - v)[zone][:, None]
        lit = np.clip(came / (LID_LIGHT_RAMP * o), 0.0, 1.0)
        lashed = self._lashed(u[zone], came)
        lash = self.lash_at(closure)
        lashed = lashed * cover_line
        # The lower lid's light over the lid's lower part, turning to the socket's shade
        # toward the crease on a shaded lid (:data:`LID_SOCKET_RAMP`; no shade: flat).
        a0, a1 = LID_SOCKET_RAMP
        toward = _smooth_scalar_profile((above / o - a0) / (a1 - a0))
        if self.shade_whole:
            toward = np.ones_like(toward)
        lid_skin = self.skin[None, :] - toward * self.shade[None, :]
        if look is None:
            # Thinner and paler toward the inner corner, where a shut eye's lashes are short
            # and few (:data:`LID_LASH_INNER`).
            thin, pale = self._toward_inner(u[zone])
            skin = _smooth_scalar_profile((above - lo * thin) / np.maximum(ramp * thin, 1.0))
            lashed = lashed * pale
        else:
            # Full colour at the lash roots, then a longer soft falloff into the lid's skin
            # (the even band's plateau and short ramp read as an inked stroke), the line
            # swelling toward its middle and left as thick at the ends; the lid's margin
            # above the roots is smooth (strands drawn there read as saw teeth, 2026-12-04),
            # the lashes' strands hang below them. (Every change here adds to the line's dark or
            # leaves its mean: a paler or thinner line read as a narrow open eye.)
            along = self._along(u[zone])
            core = lo * along
            falloff = np.maximum((band[1] * (1.0 + look.soft) * o - lo) * along, ramp)
            skin = _smooth_scalar_profile((above - core) / falloff)
            lid_skin = lid_skin * (1.0 - look.shading * self._lid_shade(u[zone], above))
        if self.dome > 0.0:
            # Lit on its dome, turning darker toward the lash line, the crease and the
            # corners, its mean light the lower lid's skin's (:attr:`LidShape.dome`); the
            # same levels in every channel, as a skin's sheen, so the skin's colour is not
            # made stronger where it is lit (times the colour, the lit dome of a warm face
            # was an orange highlight at 4x).
            grey = lid_skin.mean(axis=-1, keepdims=True)
            lid_skin = lid_skin + self.dome * self._domed(u[zone], above, skin * lit) * grey
        line = (1.0 - skin) * lashed * (lash - src)
        out[zone] = skin * lit * (lid_skin - src) + line
        # The shut line's own share of the offsets, kept apart so it can be softened to the
        # photo's own softness (:data:`LID_LASH_EDGE_MAX`).
        self.line = np.zeros_like(out)
        self.line[zone] = line
        if LID_DETAIL_KEEP < 1.0:
            detail = self._sample(self.crop, u[zone], src_v[zone]) - src
            smooth = np.clip(came / (0.25 * o), 0.0, 1.0)  # none while the lid is open
            out[zone] -= skin * smooth * (1.0 - LID_DETAIL_KEEP) * detail
            if look is None:
                # What the lid's own grain lost is the lower lid's grain, so the shut lid is
                # skin, not a flat patch of one colour (issue 13). Not on the lids drawn as
                # lashes (:class:`LashLook`, the deeper shapes the build keeps where the
                # tracker reads the default open): those sit at the tracker's edge, and the
                # grain moved their posed blinks' readings by up to 0.12 (canonman_hooded's
                # worst 0.44 -> 0.50, canonman_turned's 0.46 -> 0.58 clipped at 1.5).
                out[zone] += skin * smooth * LID_GRAIN_GAIN * self._grain(u[zone], above)
        # The lashes below the lid's edge (over the eye, or the lower lid's skin once shut),
        # fading out with the distance: the line's edge lies between pixels and follows the
        # lid, not the pixel rows.
        # (With the closure squared: half closed, the lashes hang an eighth of the opening,
        # and the eye's lower half is the photo's own.)
        hang = max(1.0, self.lash_below * o * closure**2)
        below = (v < edge) & (v >= edge - hang) & ~zone
        if below.any():
            reach: float | np.ndarray = hang
            paler: float | np.ndarray = 1.0
            if look is None:
                # Shorter and paler toward the inner corner, as the line above them.
                shorter, paler = self._toward_inner(u[below])
                reach = np.maximum(hang * shorter[:, 0], 1.0)
            cover = _smooth_scalar_profile(1.0 - (edge - v)[below] / reach)[:, None] * paler
            came_b = drop[below][:, None]
            src_b = self._sample(self.blurred, u[below], src_v[below])
            hanging = cover * cover_line * self._lashed(u[below], came_b)
            if look is not None:
                # The lashes hanging below the roots are strands, not a smear.
                strands = self._strands(u, v, below, edge)
                hanging = np.clip(hanging * (1.0 - look.texture * strands), 0.0, 1.0)
            out[below] = hanging * (lash - src_b)
            self.line[below] = out[below]
        return out

    def _domed(self, u: np.ndarray, above: np.ndarray, shown: np.ndarray) -> np.ndarray:
        """The shut lid's light's rise and fall over the eyeball (N×1, shares of its flat
        light, before :attr:`dome`) at ``u``, ``above`` (N×1) pixels over its edge: a bump
        over the eyeball's middle (:data:`LID_DOME_CENTRE`, :data:`LID_DOME_WIDTH` up the
        lid, a half sine along it) less its mean over the lid as drawn (``shown``: how much
        of the lid's light each pixel takes), so the lid is no lighter on the whole than the
        flat one."""
        up = (above / self.opening - LID_DOME_CENTRE) / LID_DOME_WIDTH
        bump = np.exp(-(up**2)) * np.sin(np.pi * self._line_share(u))[:, None]
        weight = float(shown.sum())
        mean = float((bump * shown).sum()) / weight if weight > 0.0 else 0.0
        return bump - mean

    def _grain(self, u: np.ndarray, above: np.ndarray) -> np.ndarray:
        """The lower lid's fine grain (N×C, :attr:`fine`) for lid pixels at ``u``, ``above``
        (N×1) pixels over the lid's edge: read down the lower lid's plain skin as far as the
        pixel lies up the lid, folded back and forth over :data:`LID_GRAIN_BAND` (a
        mirror keeps the grain whole where it turns), and clipped."""
        g0, g1 = LID_GRAIN_BAND
        span = max(1.0, (g1 - g0) * self.opening)
        d = np.abs(np.mod(np.maximum(above[:, 0], 0.0), 2.0 * span) - span)
        lu, lv = self.lower
        v = np.interp(u, lu, lv) - (LID_MARGIN + g0) * self.opening - (span - d)
        # (The nearest pixel's: read between pixels, the grain lost about half its
        # Laplacian energy.)
        got = self._sample(self.fine, u, v, cv2.INTER_NEAREST).reshape(len(u), self.channels)
        return np.clip(got, -self.grain_clip, self.grain_clip)

    def _along(self, u: np.ndarray) -> np.ndarray:
        """The shut line's thickness along the eye at ``u`` (N, -> N×1), over the band's: 1 -
        taper at its ends, 1 + swell where a lash line is thickest, a third of the way in
        from the outer end."""
        assert self.look is not None
        x = self._line_share(u)
        ends, peak = 1.0 - self.look.taper, 1.0 + self.look.swell
        return (ends + (peak - ends) * np.sin(np.pi * x**LASH_PEAK_POWER))[:, None]

    def _toward_inner(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The even shut line's thickness and share of the lashes' colour along the eye at
        ``u`` (N, -> two N×1): full from its outer end over :data:`LID_LASH_INNER`'s first
        figure of the line, then falling smoothly to its second and third at the inner
        corner."""
        if not self.inner:
            ones = np.ones((len(u), 1))
            return ones, ones
        start, thin, pale = LID_LASH_INNER
        x = self._line_share(u)
        toward = _smooth_scalar_profile((x - start) / (1.0 - start))[:, None]
        return 1.0 - (1.0 - thin) * toward, 1.0 - (1.0 - pale) * toward

    def _line_share(self, u: np.ndarray) -> np.ndarray:
        """How far along the shut line ``u`` lies: 0 at its outer end (past the corner), 1 at
        the inner corner."""
        return np.clip((u + self.outer) / (self.width + self.outer), 0.0, 1.0)

    def _strands(
        self, u: np.ndarray, v: np.ndarray, where: np.ndarray, edge: np.ndarray
    ) -> np.ndarray:
        """The lashes' strands (-1 a gap … 1 a strand, N×1, mean 0) at the pixels ``where``:
        three incommensurate waves across strands that lean toward the outer corner as they
        hang down (smooth, so no pixel-row aliasing; fixed, so a render is repeatable)."""
        strand = u[where] + LASH_LEAN * (edge - v)[where]
        waves = sum(
            np.sin(2.0 * np.pi * strand / spacing + phase)
            for spacing, phase in zip(LASH_SPACING, (0.0, 1.3, 2.9), strict=True)
        )
        return (waves / len(LASH_SPACING))[:, None]

    def _lid_shade(self, u: np.ndarray, above: np.ndarray) -> np.ndarray:
        """How much the shut lid's lit skin is shaded (0…1, N×1): the lid rounds over the
        eyeball, turning from the light down toward its lash line and out toward the
        corners."""
        x = self._line_share(u)[:, None]
        toward_line = 1.0 - _smooth_scalar_profile(above / (LID_SHADE_REACH * self.opening))
        toward_corners = 1.0 - np.sin(np.pi * x)
        return 0.6 * toward_line + 0.4 * toward_corners

    def lash_at(self, closure: float) -> np.ndarray:
        """The lash line's colour at ``closure``: one row of lashes (:attr:`lash`) until the
        lids meet, then the lower lid's row under it (:data:`LID_LASH_MEET`)."""
        lo, hi = LID_LASH_MEET
        meet = float(_smooth_scalar_profile(np.asarray((closure - lo) / (hi - lo))))
        share = np.clip(self.lash / np.maximum(self.skin, 1.0), 0.0, 1.0)
        return (self.skin * share ** (1.0 + (LID_LASH_ROWS - 1.0) * meet)).astype(np.float32)

    def _lashed(self, u: np.ndarray, came: np.ndarray) -> np.ndarray:
        """How much of the lashes' colour the lid's edge takes at ``u`` (N×1), ``came`` how far
        (pixels) the lid has come down there: none before it has come down, faded out at the
        inner corner, and past the outer corner's landmark where the lids run on past it."""
        lashed = np.clip(came / max(1.0, LID_LASH_RAMP * self.opening), 0.0, 1.0)
        corner = (self.width - u)[:, None]
        lashed = lashed * _smooth_scalar_profile(corner / max(1.0, LID_LASH_FADE * self.width))
        if self.outer > 0.0:
            # Over the stretch past the corner, as at the inner corner: drawn full out to the
            # lids' outer end the line would stop in a step of lash colour on skin. (At
            # 0.2 past the corner the tracker's figures were alike either way: canonman_turned's
            # worst posed blink of seed 8 0.49 faded, 0.50 full, 2026-12-04.)
            lashed = lashed * _smooth_scalar_profile((u[:, None] + self.outer) / self.outer)
        return lashed


LASH_PEAK_POWER = 0.76
"""The shut line is thickest where x**this is a half (x: 0 at its outer end, 1 at the inner
corner): a third of the way in from the outer end, as upper lashes are longest there."""
LASH_LEAN = 0.8
"""Shut, the lashes hang down and out: pixels along the eye per pixel down a strand."""
LASH_SPACING = (1.7, 2.9, 4.3)
"""Pixels between the strands' gaps, in three waves that do not line up."""
LID_SHADE_REACH = 0.8
"""Eye openings above the lash line over which the shut lid turns down into it."""
LID_DOME_CENTRE = 0.7
LID_DOME_WIDTH = 0.8
"""The domed lid's light (:attr:`LidShape.dome`) is brightest this far above the lash line
(eye openings, over the eyeball's middle), falling off as a Gaussian of this width: a broad,
soft rise, so the lid reads as a rounded surface. (2026-12-05, tools/avatar_sweep.py's ``dim``
canonman_turned and canonman_hooded, :data:`~pipelines.avatar.lids.HOODED_SHAPE` 0.45 past the
lower lid's line, posed blinks of seeds 7 and 11, seen of 16, the dome times the colour: flat
4 and 3; this, dome 1.0, 10 and 8; a narrower rise (0.4) at 0.8 up 9 and 9, but at 4x a pale
stripe along the top of the lid; at 0.25 up, a light just over the lash line and a darker lid
above it, 0 and 1.)"""


@dataclass(frozen=True)
class LashLook:
    """The shut line drawn as lashes on a rounded lid rather than an even band
    (:class:`LidShape`)."""

    swell: float = 0.3
    """Share of the band (:data:`LID_LASH_BAND`) by which the line is thicker where it is
    thickest..."""
    taper: float = 0.7
    """...and by which it is thinner at its ends."""
    soft: float = 0.3
    """Share of the band's outer figure (:data:`LID_LASH_BAND`) by which its soft falloff
    into the lid's skin reaches further up."""
    texture: float = 0.35
    """How much the lashes' strands and the gaps between them darken and lighten the
    falloff and the hanging lashes."""
    shading: float = 0.12
    """How much darker than the lit lid its skin is where it turns into the lash line and
    at the corners."""


@dataclass(frozen=True)
class LidShape:
    """The shut lids' shape besides their depth (:func:`blink_fields`)."""

    outer_reach: float = LID_OUTER_REACH
    lash_band: tuple[float, float] = LID_LASH_BAND
    lash_from_opening: bool = False
    """The shut line's colour may be as dark as the open eye's slit (the darkest
    :data:`LID_LASH_DARKEST` of the opening's middle rows), not only the upper lid's margin:
    on a hooded eye the margin above the landmarks is the fold's skin."""
    lash_floor: float = LID_LASH_FLOOR
    """The shut line no darker than this share of the lid skin's light."""
    look: LashLook | None = None
    """The shut line drawn as lashes on a shaded lid; None: an even band of the lashes'
    colour on the lid's flat light..."""
    lash_inner: bool = True
    """...thinner and paler toward the inner corner (:data:`LID_LASH_INNER`); False: as thick
    and dark out to the inner corner's fade."""
    soften: bool = True
    """The shut line blurred to the photo's own softness where it is sharper
    (:data:`LID_LASH_EDGE_MAX`); False: drawn as crisp as on a sharp photo (the build's check
    keeps that where only it reads shut, :mod:`pipelines.avatar.lids`)."""
    dome: float = 0.0
    """How much the shut lid's light rises over the eyeball's middle and falls toward its lash
    line, crease and corners, as a share of the flat light's grey level (the same in every
    channel), the lid's mean light kept (:data:`LID_DOME_CENTRE`, :data:`LID_DOME_WIDTH`); 0:
    flat. Only on a dim photo's eyes the tracker reads open under every flat lid
    (:data:`~pipelines.avatar.lids.DIM_SHAPE`)."""
    lash_below: float = LID_LASH_BELOW
    """How far the shut lid's lashes hang below its edge (eye openings, at least a pixel;
    :data:`LID_LASH_BELOW`). Shorter only where the tracker reads no lid of the other shapes
    as a blink (:data:`~pipelines.avatar.lids.SHORT_LASH_SHAPE`)."""
    shade: float = 0.0
    """The share of its socket's shade (how much darker the fold's skin above the open eye is
    than the lower lid's) that the shut lid's upper part takes, toward the crease
    (:data:`LID_SOCKET_RAMP`); 0: lit like the lower lid's skin all over. Only where the
    tracker still reads the blink clearly shut (:data:`~pipelines.avatar.lids.SHADED_SHAPE`)."""
    shade_whole: bool = False
    """The socket's shade over the whole shut lid, its lash line's edge included, not only
    toward the crease: a socket in shadow (a hat's brim) and a lit lower lid, where the lid
    lit like the lower lid is a pale patch whose lash line is a new, strong edge
    (:data:`~pipelines.avatar.lids.SOCKET_LIT_SHAPE`)."""


@dataclass
class LidLevels:
    """A blink's backward fields at each closure level, in one box, with the lid's light."""

    x0: int
    y0: int
    fields: list[np.ndarray]
    """h×w×2 float32 source offsets, one per closure level."""
    shading: list[np.ndarray]
    """h×w×C float32 colour offsets (8-bit levels, added to the picture), one per closure
    level; empty without the portrait's pixels."""


LID_LASH_EDGE_MAX = 1.8
"""The shut line's edges at most this many times as strong as the photo's own strongest edges
around the eye (:data:`LID_PHOTO_EDGE`; grey levels per pixel, as
:func:`~pipelines.avatar.measure.tear_edges` reads them); where the line as drawn is sharper,
the shut lid along it is blurred (a Gaussian, :func:`_line_softness`) until it is not. The
line was drawn as crisp on every photo: on a soft or faded one (issue 13) a near-black stroke
on a hazy face, its edge over the lower lid's smooth skin a tear to the detector. The line's
strongest edge over the photo's, per eye, as drawn before (2026-12-05): the sharp tuning
photos 0.60-1.76 (astronaut 1.54/1.74, astronaut_tight 1.44/1.76, astronaut_small 1.73/1.74,
cameraman 1.70, astronaut_turned_far 1.69/1.35, astronaut_turned 1.52/0.97, astronaut_rims
1.15/1.05, canonman_glasses 0.60/1.08, photographer_turned 0.76/0.90); the soft ones
brothers_sepia 1.86/1.85, brothers_midword 1.77/2.16, astronaut_grey_small 2.25/2.29,
astronaut_grey_moustache 1.91/2.36, astronaut_rot30 1.82/1.93 (resampled),
astronaut_turned_moustache 1.89/0.95; tools/avatar_sweep.py's brothers_sepia blurred 1.5 px
3.39/3.32, 3 px 4.11/4.11, at 60 px a face 2.56/2.66, overexposed 1.68/2.40, dim 1.43/1.56.
Here the sharp photos render byte for byte as before and the six soft ones change (their
posed blinks of seeds 7 and 8 16 of 16 before and after, worst within 0.006). Tear frames
of 24 random posed frames (tests/test_avatar_quality.py's, seed 3): blurred 1.5 px 6 -> 0, at
60 px 8 -> 0, overexposed 10 -> 8 (its one eye at 1.68 keeps its line: see the report of
2026-12-05). At 1.25 the overexposed one's went to 0 too, but every astronaut portrait's line
was blurred (0.8 and 1.2 px on astronaut itself)."""
LID_PHOTO_EDGE = 99.5
"""The photo's strongest edges around the eye: this percentile of its grey gradient over the
light's crop (the eye, its brow and about three openings round it, :class:`_LidLight`); the
line's: the same percentile along it and a pixel round it, on the shut lid at rest."""
LID_LASH_SOFT_MAX = 0.4
"""...blurred at most this much (eye openings, the Gaussian's sigma), a bound only: the blur
came to 0.4 px on brothers_sepia (eyes 10 px open), 0.4-0.5 on astronaut_rot30, 0.8-1.0 on
astronaut_grey_small, and on tools/avatar_sweep.py's brothers_sepia 1.0 px with the face at
60 px, 1.5 px blurred 1.5 px (the photo's own blur found again), 1.8-2.0 px blurred 3 px
(where the build keeps the crisp line, :data:`~pipelines.avatar.lids.CRISP_SHAPE`)."""


def _grey_gradient(img: np.ndarray) -> np.ndarray:
    """The grey gradient's magnitude (grey levels per pixel) of a float32 picture (h×w×C),
    as :func:`pipelines.avatar.measure.tear_edges` reads it."""
    img = np.ascontiguousarray(img)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.shape[2] == 3 else img[..., 0]
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return np.asarray(cv2.magnitude(gx, gy))


def _shut_picture(image: np.ndarray, got: _Levels, level: int) -> np.ndarray:
    """The lids' box at closure level ``level`` as drawn at rest (float32 h×w×C): the photo
    moved by the level's field, its light added."""
    field, shading = got.fields[level], got.shading[level]
    h, w = field.shape[:2]
    ys, xs = np.mgrid[got.y0 : got.y0 + h, got.x0 : got.x0 + w].astype(np.float32)
    img = image.astype(np.float32)
    if img.ndim == 2:
        img = img[..., None]
    moved = cv2.remap(
        img,
        xs + field[..., 0],
        ys + field[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(moved, np.float32).reshape(h, w, -1) + shading


def _softened(picture: np.ndarray, line: np.ndarray, sigma: float) -> np.ndarray:
    """What softening the shut line by ``sigma`` pixels adds to ``picture`` (h×w×C): over the
    line (where ``line``, its share of the light, draws anything) and a blur's reach round it,
    the picture blurred, fading back to the picture beyond. The whole picture there, not the
    line alone: under the line the lids' skins meet in a seam as sharp as the line."""
    drawn = (np.abs(line).max(axis=2) > 1.0).astype(np.float32)
    reach = np.clip(2.0 * cv2.GaussianBlur(drawn, (0, 0), sigma), 0.0, 1.0)[..., None]
    blurred = np.asarray(cv2.GaussianBlur(picture, (0, 0), sigma), np.float32)
    return reach * (blurred.reshape(picture.shape) - picture)


@dataclass
class _Levels(LidLevels):
    """:func:`blink_fields`' levels over its box, with the shut line's share of the light."""

    lines: list[np.ndarray] = field(default_factory=list)


def _line_softness(image: np.ndarray, got: _Levels, photo_edge: float, opening: float) -> float:
    """The least blur (pixels, a Gaussian's sigma; 0: none) that takes the shut eye's line
    (the last level), drawn on the lid, to no more than :data:`LID_LASH_EDGE_MAX` times
    ``photo_edge`` (the photo's own strongest edges around the eye) at its strongest
    (:data:`LID_PHOTO_EDGE`'s percentile along the line and a pixel round it)."""
    line = got.lines[-1]
    picture = _shut_picture(image, got, -1)
    limit = LID_LASH_EDGE_MAX * photo_edge
    near = cv2.dilate((np.abs(line).max(axis=2) > 1.0).astype(np.uint8), np.ones((3, 3))) > 0
    if not near.any():
        return 0.0

    def strongest(sigma: float) -> float:
        drawn = picture + _softened(picture, line, sigma) if sigma > 0.0 else picture
        return float(np.percentile(_grey_gradient(drawn)[near], LID_PHOTO_EDGE))

    sharpest = strongest(0.0)
    log.debug("avatar: shut line's edges %.2f of the photo's", sharpest / max(photo_edge, 1e-6))
    if sharpest <= limit:
        return 0.0
    lo, hi = 0.0, LID_LASH_SOFT_MAX * opening
    if strongest(hi) > limit:
        return hi
    for _ in range(8):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if strongest(mid) > limit else (lo, mid)
    return hi


def lid_curve(
    points: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    c0: np.ndarray,
    axis: np.ndarray,
    up: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A lid's landmarks between ``start`` and ``end`` in an eye's own coordinates (u along
    ``axis`` from ``c0``, v along ``up``), sorted along u."""
    pts = np.concatenate([[start], points, [end]]) - c0
    su, sv = pts @ axis, pts @ up
    order = np.argsort(su)
    return su[order], sv[order]


def blink_fields(
    g: FaceGeometry,
    ring: tuple[int, ...],
    image: np.ndarray | None = None,
    lower_share: float = BLINK_LOWER_SHARE,
    outer_reach: float = LID_OUTER_REACH,
    lash_band: tuple[float, float] = LID_LASH_BAND,
    lash_from_opening: bool = False,
    lash_floor: float = LID_LASH_FLOOR,
    look: LashLook | None = None,
    lash_inner: bool = True,
    soften: bool = True,
    dome: float = 0.0,
    lash_below: float = LID_LASH_BELOW,
    shade: float = 0.0,
    shade_whole: bool = False,
) -> LidLevels | None:
    """Backward fields that slide the upper lid down over the eye (the lower lid rises a
    little), one per closure level. ``lower_share``: where the shut lids meet
    (:data:`BLINK_LOWER_SHARE`; negative: the upper lid comes down past the lower lid's line).
    ``outer_reach``: how far past the outer corner's landmark (shares of the eye's width) the
    lids still close, the lid's edge running from the lids' meeting line up to the corner's
    height there (:data:`~pipelines.avatar.lids.OUTER_REACH`); 0: the lids close between the
    corner landmarks only. ``lash_band``: the shut lash line's thickness
    (:data:`LID_LASH_BAND`); ``lash_from_opening``, ``lash_floor``: its colour; ``look``,
    ``lash_inner``: its drawing; ``soften``: blurred to the photo's softness; ``dome``: the
    lid's light shaded as a dome; ``lash_below``: how far its lashes hang below its edge;
    ``shade``: the share of the socket's shade its upper part takes, ``shade_whole`` the whole
    lid (:class:`LidShape`).

    Per column across the eye (eye-aligned coordinates: u along the corners' axis, v up), the
    eyeball stays where it is and the lids cover it: between the lids the map is the identity;
    above the upper lid's new edge it samples the lid's own skin, unfolding the band between
    the lash line and a little above it (monotone, so nothing folds, and it fades out with a
    zero slope, so no line appears where it ends). The lashes ride on the lid margin.
    """
    lm = g.landmarks[:, :2]
    gray = None
    if image is not None:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    upper, lower = _eye_parts(ring)
    c0, c1 = lm[ring[0]], lm[ring[8]]
    width = float(np.linalg.norm(c1 - c0))
    if width < 2.0:
        return None
    axis = (c1 - c0) / width
    up = np.array([axis[1], -axis[0]])
    if float((lm[upper].mean(axis=0) - lm[lower].mean(axis=0)) @ up) < 0:
        up = -up

    # The ring starts at the outer corner (33, 263): the lids' curves may run past it.
    outer = c0 - outer_reach * width * axis
    su, sv = lid_curve(lm[upper], outer, c1, c0, axis, up)
    lu, lv = lid_curve(lm[lower], outer, c1, c0, axis, up)
    opening = float(np.max(np.interp(su, lu, lv, left=0, right=0) * -1 + sv))
    opening = max(opening, 1.0)
    reach = LID_SKIN_REACH * opening
    rim = _edge_above_lid(
        gray, c0, axis, up, width, float(sv.max()) + 0.35 * opening, float(sv.max()) + 2 * opening
    )
    if rim is not None:
        reach = min(reach, max(LID_SKIN_MIN * opening, 0.8 * (rim - float(sv.max()))))
    reach_low = LOWER_SKIN_REACH * opening
    light: _LidLight | None = None
    other = regions.LEFT_EYE if ring == regions.RIGHT_EYE else regions.RIGHT_EYE
    other_width = float(np.linalg.norm(lm[other[0]] - lm[other[8]]))
    if image is not None and width >= LID_LIGHT_MIN_WIDTH * other_width:
        light = _LidLight(
            image,
            c0,
            axis,
            up,
            width,
            opening,
            (su, sv),
            (lu, lv),
            outer_reach * width,
            lash_band,
            lash_from_opening,
            lash_floor,
            look,
            lash_inner,
            dome,
            lash_below,
            reach / opening,
            shade,
            shade_whole,
        )

    def levels(pad: float) -> _Levels | None:
        """The fields, the light's offsets and the shut line's share of them at every
        closure level, over a box ``pad`` pixels past the lids' reach."""
        corners = np.array(
            [
                c0 + a * axis + b * up
                for a in (-pad - outer_reach * width, width + pad)
                for b in (float(lv.min()) - reach_low - pad, float(sv.max()) + reach + pad)
            ]
        )
        x0 = max(0, int(np.floor(corners[:, 0].min())))
        y0 = max(0, int(np.floor(corners[:, 1].min())))
        x1 = min(g.size[0], int(np.ceil(corners[:, 0].max())) + 1)
        y1 = min(g.size[1], int(np.ceil(corners[:, 1].max())) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        rel = np.stack([xs - c0[0], ys - c0[1]], axis=-1)
        u, v = rel @ axis, rel @ up
        top0 = np.interp(u, su, sv, left=0.0, right=0.0)
        bottom0 = np.interp(u, lu, lv, left=0.0, right=0.0)
        gap = np.maximum(top0 - bottom0, 0.0)
        fields, shading, lines = [], [], []
        for k in range(1, BLINK_LEVELS + 1):
            closure = k / BLINK_LEVELS
            drop = closure * (1.0 - lower_share) * gap
            rise = closure * lower_share * gap
            new_top, new_bottom = top0 - drop, bottom0 + rise
            # The lids' edges are sampled a little outside the landmark line, which lies on the
            # boundary with the eyeball: sampled right on it, closed lids would meet on a pale
            # line of sclera.
            # (Fading to nothing towards the corners, where the lids meet anyway.)
            margin = closure * LID_MARGIN * opening * np.clip(gap / (0.5 * opening), 0.0, 1.0)
            top, bottom = top0 + margin, bottom0 - margin
            drop, rise = drop + margin, rise + margin
            src_v = v.copy()
            # Upper lid: forward v -> v - drop * (1 - s((v - top) / reach)) for v in the skin band.
            upper_zone = (v >= new_top) & (v < top + reach) & (drop > 1e-6)
            if upper_zone.any():
                tz, dz, vz = top[upper_zone], drop[upper_zone], v[upper_zone]

                def fwd_up(t: np.ndarray, tz=tz, dz=dz) -> np.ndarray:
                    return tz + t * reach - dz * (1.0 - _smooth_scalar_profile(t))

                src_v[upper_zone] = tz + _solve_monotone(fwd_up, vz) * reach
            lower_zone = (v <= new_bottom) & (v > bottom - reach_low) & (rise > 1e-6)
            if lower_zone.any():
                bz, rz, vz = bottom[lower_zone], rise[lower_zone], v[lower_zone]

                # Increasing in t where v = bottom - reach_low + t * reach_low.
                def fwd_low(t: np.ndarray, bz=bz, rz=rz) -> np.ndarray:
                    v_src = bz - reach_low + t * reach_low
                    return v_src + rz * (1.0 - _smooth_scalar_profile(1.0 - t))

                src_v[lower_zone] = bz - reach_low + _solve_monotone(fwd_low, vz) * reach_low
                # Just above the lower lid's new edge, between the lids: the strip its margin
                # rose over (the wet line between the edge it samples and the landmark line)
                # pressed into :data:`LOWER_EDGE_RAMP` times its height rather than skipped,
                # so the map does not jump under the eye while the upper lid is still high;
                # the upper lid covers the strip as it comes down (none is left shut).
                jump = np.maximum(rise, 0.0)
                span = LOWER_EDGE_RAMP * jump
                ramp = (v > new_bottom) & (v < new_bottom + span) & (v < new_top) & (jump > 1e-6)
                if ramp.any():
                    at = (v - new_bottom)[ramp] / span[ramp]
                    src_v[ramp] = new_bottom[ramp] - jump[ramp] + at * (span + jump)[ramp]
            off = (src_v - v)[..., None] * up[None, None, :]
            fields.append(off.astype(np.float32))
            if light is not None:
                shading.append(light.offsets(u, v, src_v, upper_zone, new_top, drop, closure))
                lines.append(light.line)
        return _Levels(x0, y0, fields, shading, lines)

    got = levels(2.0)
    if got is None:
        return None
    if soften and light is not None and image is not None:
        # The shut line no sharper than the photo's own sharpest edges around the eye: on
        # a soft photo it is blurred as the photo is (:data:`LID_LASH_EDGE_MAX`), over a
        # box grown to hold the blur.
        sigma = _line_softness(image, got, light.photo_edge, opening)
        log.debug(
            "avatar: shut line softened by %.2f px (photo's edges %.1f)", sigma, light.photo_edge
        )
        if sigma > 0.0:
            got = levels(2.0 + np.ceil(4.0 * sigma))
            assert got is not None
            got.shading = [
                shading + _softened(_shut_picture(image, got, k), line, sigma)
                for k, (shading, line) in enumerate(zip(got.shading, got.lines, strict=True))
            ]
    return LidLevels(got.x0, got.y0, got.fields, got.shading)


def gaze_field(
    landmarks: np.ndarray, size: tuple[int, int], axis: np.ndarray, amount: float
) -> tuple[int, int, np.ndarray] | None:
    """Backward field that slides both irises by ``amount`` × eye width along ``axis``.

    Not a mesh warp: the iris points sit on the eyelids, so moving them would fold the mesh.
    Inside each eye opening, the field is a bump: full shift over the iris, fading to zero at
    the lids, with a slope under 1/2 so it never folds.
    """
    lm = landmarks[:, :2]
    boxes = []
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        poly = lm[list(ring)]
        eye_w = float(np.linalg.norm(lm[ring[0]] - lm[ring[8]]))
        shift = amount * eye_w * axis
        pad = int(np.ceil(eye_w * 0.3 + np.abs(shift).max())) + 2
        x0 = max(0, int(np.floor(poly[:, 0].min())) - pad)
        y0 = max(0, int(np.floor(poly[:, 1].min())) - pad)
        x1 = min(size[0], int(np.ceil(poly[:, 0].max())) + pad)
        y1 = min(size[1], int(np.ceil(poly[:, 1].max())) + pad)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(
            mask,
            [np.round((poly - [x0, y0]) * 16).astype(np.int32)],
            255,
            lineType=cv2.LINE_AA,
            shift=4,
        )
        inside = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
        fade = max(2.0, 2.2 * float(np.abs(shift).max()))
        bump = np.clip(inside / fade, 0.0, 1.0).astype(np.float32)
        bump = cv2.GaussianBlur(bump, (0, 0), max(0.8, fade / 4))
        fld = np.zeros((y1 - y0, x1 - x0, 2), np.float32)
        fld[..., 0] = -shift[0] * bump
        fld[..., 1] = -shift[1] * bump
        boxes.append((x0, y0, fld))
    if not boxes:
        return None
    X0 = min(b[0] for b in boxes)
    Y0 = min(b[1] for b in boxes)
    X1 = max(b[0] + b[2].shape[1] for b in boxes)
    Y1 = max(b[1] + b[2].shape[0] for b in boxes)
    out = np.zeros((Y1 - Y0, X1 - X0, 2), np.float32)
    for x0, y0, fld in boxes:
        h, w = fld.shape[:2]
        out[y0 - Y0 : y0 - Y0 + h, x0 - X0 : x0 - X0 + w] += fld
    return X0, Y0, out


FIELD_BASES: dict[str, Callable[[FaceGeometry], tuple[int, int, np.ndarray] | None]] = {
    "gaze_right": lambda g: gaze_field(g.landmarks, g.size, g.right, g.amplitudes["gaze"]),
    "gaze_left": lambda g: gaze_field(g.landmarks, g.size, -g.right, g.amplitudes["gaze"]),
    "gaze_down": lambda g: gaze_field(g.landmarks, g.size, g.down, 0.5 * g.amplitudes["gaze"]),
    "gaze_up": lambda g: gaze_field(g.landmarks, g.size, -g.down, 0.5 * g.amplitudes["gaze"]),
}
"""Bases given directly as backward fields (no vertex motion)."""

LEVEL_BASES: dict[str, tuple[int, ...]] = {
    "blink_right": regions.RIGHT_EYE,
    "blink_left": regions.LEFT_EYE,
}
"""Bases given as backward fields at several strengths (blended between the nearest two): the
lids (:func:`blink_fields`) of these eyes."""

HEAD_BASES = ("yaw_right", "yaw_left", "pitch_up", "pitch_down", "roll_cw", "roll_ccw")
"""The head turns: applied after (on top of) every other motion, so eye and mouth motions
land on the features wherever the head has turned them."""
LID_BASES = ("blink_right", "blink_left")
"""Applied after the mouth and gaze motions and before the head: the lids cover the eyes."""

COMBINED_FOLD_PX = 0.25
"""At build, no probed combination of motions may turn a triangle over by more than this
(px²): half the checks' tolerance (FOLD_AREA_PX), as margin for the weights between the
probed ones."""
HEAD_POSE_KEEP = 0.25
"""Under every combined head pose, a triangle at the head ring keeps at least this share of
its area: the face's own motions, added on top, must not tip it over (cameraman: a pose that
left the chin's ring triangle a sliver folded with the lips rounded by 0.8)."""
COMBINED_SCALE_STEPS = 48
COMBINED_SCALE = 0.95
"""After relaxing, the face's motions are scaled by this at the vertices of what still folds
(its square root around them), at most ``COMBINED_SCALE_STEPS`` times. Small steps weaken no
more than needed: on the profile the full jaw moves the inner lower lip 0.030 face heights
(0.8 × 12 steps: 0.012; 0.9 × 24: 0.017), with no fold in 2,000 random combinations."""
COMBINED_SPARED_ROUNDS = 4
"""Where the jaw's repairs hold its lips (``Rig._jaw_pinned``), the last resort first unfolds
the jaw around them against what still folds (``Rig._spare_the_jaw``), in at most this many
rounds (each adds the probes the last one folded)..."""
COMBINED_OTHERS_FLOOR = 0.5
"""...after weakening the other face motions taking part, where they fold, down to this share
at most."""
COMBINED_WHOLE = ("jaw", "jaw_wide")
COMBINED_WHOLE_MIN = 0.8
"""Before that, these motions are scaled as a whole (by COMBINED_SCALE a step, down to this
at most) where that clears every fold: the jaw's wide-open lower lip moves as one piece,
with no seam to fold its slivers."""
FOLD_GUARD_PX2 = FOLD_AREA_PX
"""Each frame the motions are composed on the mesh first, and where they would turn a
triangle over by more than this (px², the checks' tolerance: a sliver that turns over by less
is not seen; the build's probed combinations keep half of it as margin), the mouth's motions
are weakened together just so far that none does (:meth:`Rig.mix`). The build checks its
probed combinations only, on the tracker's reading of the photo, whose last digits differ
from one CPU to another (tests/host_cpu.py): built as on another CPU (tools/build_choices.py
``blocked``), cameraman folded in 21 of 1,500 random combinations, on this host in none; the
guard kept 0.64-0.99 of its mouth there (median 0.94). It costs a composition of the mesh a
frame (0.1-0.3 ms), and a few more where it weakens."""
FOLD_GUARD_STEPS = 10
"""Halvings of the weakening's search: the kept share is within 1/1024 of the largest that
does not fold, so the face moves on continuously into and out of a guarded pose."""
COMBINED_RELAX_STEPS = 40
COMBINED_RELAX_PASSES = 3
COMBINED_STALL_STEPS = 5
COMBINED_PROBE_BLOCK = 256
"""Probes evaluated at once (memory: block × vertices × 3 × 2 doubles)."""


def combination_probes(names: list[str]) -> list[dict[str, float]]:
    """Weights at which the rig's motions are checked together: the mouth's shapes as the
    animator mixes them (``mouth_weights``: jaw and closure at 0, half and full; lips round,
    neutral or spread; with and without a full smile), each under every head pose with each
    turn at its limit or zero (27)."""
    mouth = []
    for jaw, closure, width in product((0.0, 0.5, 1.0), (0.0, 0.5, 1.0), (-1.0, 0.0, 1.0)):
        for smile in (0.0, 1.0):
            mouth.append({**mouth_weights(jaw, closure, width), "smile": smile})
    heads = []
    for turns in product((-1.0, 0.0, 1.0), repeat=3):
        pose: dict[str, float] = {}
        for axis, v in zip(("yaw", "pitch", "roll"), turns, strict=True):
            pos, neg = SIGNED_AXES[axis]
            pose[pos if v > 0 else neg] = abs(v)
        heads.append(pose)
    known = set(names)
    mouth = [jaw_split(m, JAW_WIDE in known) for m in mouth]
    return [{n: v for n, v in {**m, **h}.items() if n in known and v} for m in mouth for h in heads]


# --------------------------------------------------------------------------- head
def head_depth(g: FaceGeometry, pts: np.ndarray) -> np.ndarray:
    """A smooth head surface: depth (pixels, negative = towards the camera) at image points.

    A paraboloid over the face ellipse plus a bump for the nose. The landmarks' own depth is
    not used for turning the head: where the face's far side is hidden behind the near side
    it folds, while a smooth surface turned by a few degrees cannot (its slope stays < 2, so
    the warp's Jacobian stays far from singular).
    """
    rel = pts - g.center
    u = (rel @ g.right) / (0.5 * g.face_w)
    v = (rel @ g.down) / (0.5 * g.face_h)
    r2 = np.clip(u * u + v * v, 0.0, 1.0)
    nose = g.landmarks[1, :2]
    dn = np.linalg.norm(pts - nose, axis=1) / (0.12 * g.face_w)
    return -0.45 * g.face_w * (1.0 - r2) - 0.12 * g.face_w * np.exp(-dn * dn)


def _rotate_head(g: FaceGeometry, yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Turn the head surface about a pivot behind the face (degrees; yaw > 0 turns the face
    towards the image's right, pitch > 0 up, roll > 0 clockwise)."""
    pts = g.points
    z = head_depth(g, pts)
    cz = 0.55 * g.face_w  # pivot: the neck, behind the face
    p = np.column_stack([pts - g.center, z - cz])
    a, b, r = np.radians([yaw, pitch, roll])
    # Image axes: x right, y down, z away from the camera.
    ry = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), np.sin(b)], [0, -np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    q = p @ (rz @ rx @ ry).T
    d = (q - p)[:, :2]
    d[g.head_ring] *= g.head_ring_follow[:, None]
    return d


def _head_basis(yaw: float, pitch: float, roll: float) -> BasisBuilder:
    def build(g: FaceGeometry) -> np.ndarray:
        amp = g.amplitudes
        return _rotate_head(g, yaw * amp["yaw"], pitch * amp["pitch"], roll * amp["roll"])

    return build


BASES.add("yaw_right", _head_basis(1.0, 0.0, 0.0))
BASES.add("yaw_left", _head_basis(-1.0, 0.0, 0.0))
BASES.add("pitch_up", _head_basis(0.0, 1.0, 0.0))
BASES.add("pitch_down", _head_basis(0.0, -1.0, 0.0))
BASES.add("roll_cw", _head_basis(0.0, 0.0, 1.0))
BASES.add("roll_ccw", _head_basis(0.0, 0.0, -1.0))

SIGNED_AXES: dict[str, tuple[str, str]] = {
    "gaze_x": ("gaze_right", "gaze_left"),
    "gaze_y": ("gaze_down", "gaze_up"),
    "yaw": ("yaw_right", "yaw_left"),
    "pitch": ("pitch_up", "pitch_down"),
    "roll": ("roll_cw", "roll_ccw"),
}
"""Signed controls and the two bases they drive (positive, negative)."""


# --------------------------------------------------------------------------- rig
@dataclass
class BasisField:
    name: str
    vertex_disp: np.ndarray
    """N×2 pixels at weight 1."""
    x0: int
    y0: int
    field: np.ndarray
    """h×w×2 float32: source offset for each output pixel of the box at weight 1."""
    levels: tuple[np.ndarray, ...] = ()
    """Fields at strengths 1/K … K/K (``field`` is the last) where the motion is not linear
    in its weight (a lid sliding over the eye), the nearest drawn; empty: ``weight × field``."""
    shading: tuple[np.ndarray, ...] = ()
    """Per level, colour offsets over the same box (a closed lid's light, 8-bit levels added
    to the picture where the field puts it); empty: the sampled colours are kept."""

    def at(self, weight: float) -> np.ndarray:
        """The field at ``weight`` (0 … 1 for a levelled basis)."""
        if not self.levels:
            return weight * self.field
        return _nearest_level(self.levels, weight)

    def shading_at(self, weight: float) -> np.ndarray | None:
        """The colour offsets at ``weight`` (None: none)."""
        return _nearest_level(self.shading, weight) if self.shading else None

    @property
    def box(self) -> tuple[int, int, int, int]:
        h, w = self.field.shape[:2]
        return self.x0, self.y0, self.x0 + w, self.y0 + h


def _nearest_level(levels: tuple[np.ndarray, ...], weight: float) -> np.ndarray:
    """Of levels stored at 1/K … K/K, the one nearest ``weight`` (zero below 1/(2K)).

    Not a blend of the two nearest: a lid's field jumps at its edge (the lid covering the
    eye), and two fields blended jump half as far at two places, a ghost of the lid's edge and
    its lash line. Blended, the lash line at 0.8 and 0.93 closed broke into dark and pale
    specks (astronaut_turned, canonman_bright_rolled at 300 %), which the tear detector counted
    once a blink on canonman_bright_rolled (14 frames over two seeds of an 18 s espeak clip)
    and riga_turned (1) (2026-12-07). A blink shuts in 80 ms and opens in 140 ms
    (:data:`~pipelines.avatar.motion.BLINK_CLOSE_S`, ``BLINK_OPEN_S``): at 30 fps the lid moves
    a quarter to a half of its travel a frame, so a closure held to the nearest eighth (at
    most a sixteenth off) shows no step."""
    k = len(levels)
    i = int(np.floor(min(1.0, max(0.0, weight)) * k + 0.5))
    return levels[i - 1] if i > 0 else np.zeros_like(levels[0])


def _ring_points(
    g_center: np.ndarray, oval: np.ndarray, down: np.ndarray, scale: float, top_scale: float
) -> np.ndarray:
    rel = oval - g_center
    up = -(rel @ down)  # > 0 above the centre
    s = np.where(up > 0, scale + (top_scale - scale) * np.clip(up / np.abs(rel).max(), 0, 1), scale)
    return g_center + rel * s[:, None]


def _clear_of(points: np.ndarray, body: np.ndarray, margin: float) -> np.ndarray:
    """Which ``points`` lie outside the convex hull of ``body`` grown by ``margin``."""
    hull = cv2.convexHull(body.astype(np.float32))
    return np.array(
        [cv2.pointPolygonTest(hull, (float(x), float(y)), True) < -margin for x, y in points],
        bool,
    )


def _spaced(points: np.ndarray, gap: float) -> np.ndarray:
    """Which ``points`` to keep so that no two kept ones lie closer than ``gap`` (in order)."""
    keep = np.zeros(len(points), bool)
    for i, p in enumerate(points):
        kept = points[keep]
        keep[i] = len(kept) == 0 or float(np.min(np.linalg.norm(kept - p, axis=1))) >= gap
    return keep


def _separate(points: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Nudge apart landmarks that coincide (closed lips) so the triangulation keeps both."""
    pts = points.copy()
    _, _, pairs = _lip_sets()
    for u, low in pairs:
        gap = float((pts[low] - pts[u]) @ down)
        if gap < MIN_SEPARATION_PX:
            push = (MIN_SEPARATION_PX - gap) / 2.0
            pts[u] -= push * down
            pts[low] += push * down
    return pts


def triangulate(
    points: np.ndarray, bounds: tuple[float, float, float, float], skip: set[int] | None = None
) -> np.ndarray:
    """Delaunay triangles (T×3 vertex indices) of ``points`` (all inside ``bounds``), leaving
    out the vertices in ``skip``."""
    x0, y0, x1, y1 = bounds
    sub = cv2.Subdiv2D(
        (
            int(np.floor(x0)) - 2,
            int(np.floor(y0)) - 2,
            int(np.ceil(x1 - x0)) + 5,
            int(np.ceil(y1 - y0)) + 5,
        )
    )
    lookup: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(points):
        if skip and i in skip:
            continue
        key = (float(np.float32(x)), float(np.float32(y)))
        if key in lookup:
            continue
        lookup[key] = i
        sub.insert(key)
    tris = []
    for t in sub.getTriangleList():
        idx = []
        for k in range(3):
            key = (float(np.float32(t[2 * k])), float(np.float32(t[2 * k + 1])))
            if key not in lookup:
                break
            idx.append(lookup[key])
        if len(idx) == 3:
            tris.append(idx)
    return np.asarray(tris, np.int32)


SLIT_OPENING = 0.03
"""The mesh is triangulated as if the mouth were open by this much (face heights) at the
jaw's own lower-lip motion, then used at the closed rest positions."""


def _slit_triangles(
    g: FaceGeometry, bounds: tuple[float, float, float, float], skip: set[int]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_slit_mesh`, with edges flipped where the jaw turns over a triangle of the lips'
    held vertices (:func:`_flip_lip_folds`)."""
    tris, points = _slit_mesh(g, bounds, skip)
    return _flip_lip_folds(points, tris, [_jaw(g), _jaw_wide(g)], _mouth_moves(g)), points


def _mouth_moves(g: FaceGeometry) -> list[np.ndarray]:
    """The raw vertex displacements of the mouth's shapes with the jaw half or fully open, as
    :func:`combination_probes` mixes them (closure, lip width and smile; head still)."""
    raw: dict[str, np.ndarray] = {}
    out = []
    for jaw, closure, width in product((0.5, 1.0), (0.0, 0.5, 1.0), (-1.0, 0.0, 1.0)):
        for smile in (0.0, 1.0):
            weights = jaw_split({**mouth_weights(jaw, closure, width), "smile": smile}, True)
            disp = np.zeros_like(g.points)
            for name, w in weights.items():
                if not w:
                    continue
                if name not in raw:
                    build = BASES.get(name)
                    raw[name] = build(g) if build is not None else np.zeros_like(g.points)
                disp = disp + w * raw[name]
            out.append(disp)
    return out


LIP_FLIP_ROUNDS = 20
"""At most this many edge flips per build (:func:`_flip_lip_folds`; canonman_glasses, at JPEG 25
or jittered by 0.3 px, takes a few)."""


def _flip_lip_folds(
    points: np.ndarray, tris: np.ndarray, jaws: list[np.ndarray], mixed: list[np.ndarray]
) -> np.ndarray:
    """``tris`` with edges flipped where the lips' rows cross near a corner so that the jaw
    turns over a triangle whose three vertices its repair holds (:meth:`Rig._jaw_pins`: the
    upper lip and the inner lower lip), which nothing can then unfold: each such triangle
    that one of the ``jaws`` motions (displacements of the first vertices of ``points``)
    turns over at full strength is flipped with a neighbour where the two make a convex quad,
    both new triangles are the right way up at rest, and fewer triangles are turned over
    under the ``jaws`` and the ``mixed`` mouth shapes (none more under any one), best first.

    On canonman_glasses saved at JPEG 25 the upper lip is under a pixel thick near its right
    corner and its rows (270, 407, 408, 415) lie out of order, so the wide jaw turned two of
    its triangles over; their repair then dragged the upper lip and tore the lower lip
    diagonally (20 of 30 wide-open poses, 24 px). Flipped: 1 pose (13 px), the wide jaw's 14
    at its full opening and 13 still. Its landmarks jittered by 0.3 px: seed 2 tore 1 pose
    (11 px), now 0; seed 5 left the wide jaw's 14 at 0.63 of its opening with 13 pulled 20
    px down, now 1.00 and still. Of the portraits of tests/data/faces only canonman_glasses'
    own mesh changes (its tuning figures as they were). Flipping also the held triangles
    that the mixed shapes turn over (once the jaw alone turns one) tore no JPEG 25 pose, but
    changed cameraman's mesh too and put a corner in canonman_glasses' open lower lip
    (tests/test_avatar_mouth_round.py: a landmark 0.39 of the turn at jaw 0.55); flipping
    wherever a motion turns over a triangle with any lip vertex changed 24 of 29 meshes."""
    upper, _, _ = _lip_sets()
    held = np.zeros(len(points), bool)
    held[upper] = True
    held[list(LOWER_LIP_RINGS[0])] = True
    full = []
    for disp in jaws + mixed:
        moved = points.copy()
        moved[: len(disp)] += disp
        full.append(moved)
    orient = np.sign(signed_areas(points, tris))
    if not (orient == orient[0]).all():
        return tris
    side = orient[0]

    def turned(t: np.ndarray) -> np.ndarray:
        return np.array([signed_areas(p, t) * side <= 0 for p in full])

    if not (turned(tris)[: len(jaws)].any(axis=0) & held[tris].all(axis=1)).any():
        return tris
    tris = tris.copy()
    for _ in range(LIP_FLIP_ROUNDS):
        bad = turned(tris)[: len(jaws)].any(axis=0) & held[tris].all(axis=1)
        if not bad.any():
            break
        edges: dict[tuple[int, int], int] = {}
        for i, (a, b, c) in enumerate(tris):
            for u, v in ((a, b), (b, c), (c, a)):
                edges[(int(u), int(v))] = i
        best: tuple[int, int, int, np.ndarray] | None = None
        for i in np.where(bad)[0]:
            a, b, c = (int(x) for x in tris[i])
            for u, v, w in ((a, b, c), (b, c, a), (c, a, b)):
                j = edges.get((v, u))
                if j is None:
                    continue
                far = next(int(x) for x in tris[j] if x not in (u, v))
                new = np.array([[w, u, far], [w, far, v]], np.int32)
                if (signed_areas(points, new) * side <= 0).any():
                    continue  # (the quad is not convex)
                before = turned(tris[[i, j]]).sum(axis=1)
                after = turned(new).sum(axis=1)
                if (after > before).any() or after.sum() >= before.sum():
                    continue
                gain = int(before.sum() - after.sum())
                if best is None or gain > best[0]:
                    best = (gain, int(i), j, new)
        if best is None:
            break
        _, i, j, new = best
        tris[i], tris[j] = new[0], new[1]
    return tris


def _slit_mesh(
    g: FaceGeometry, bounds: tuple[float, float, float, float], skip: set[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The rig's triangles, with a slit between the lips: on closed thin lips (biden: upper
    lip 2 px, lower 2-4 px, inner lips 0.75 px apart) the plain Delaunay triangulation joins
    upper-lip points to lower-lip points past the inner lips (12 with 14, 82 with 86), in
    slivers that the jaw with the lips' other motions turns over (424 of the 1,404 probed
    combinations), and their repair dragged the upper lip's centre (13) down 22.7 px with
    the jaw and left the inner lower lip (14) 0.105 face heights of 0.2. Triangulated with
    the lips a little apart, only the inner lips face each other across the mouth: 54 probes
    fold (two triangles of the jaw line), repaired with 13 still and 14 at 0.200. Used only
    where the plain triangulation crosses the lips so (biden; the rest faces of the open
    photos obama_grin and obama_midword) and every triangle keeps its orientation at the
    rest positions once the lips' vertices are settled (:func:`_settle_slit`). Returns the
    triangles and the rest points (``g.points`` itself where none moved)."""
    points = g.points
    plain = triangulate(points, bounds, skip=skip)
    if not _crosses_the_slit(plain):
        return plain, points
    jaw = _jaw(g)
    per = float(jaw[14] @ g.down)
    if per <= 1e-6:
        return plain, points
    # Only the lips move, each by half the opening (the lower lip as the band jaw moves it,
    # the upper lip straight up), so the triangles between the lips and the skin around them
    # change little: opened by the whole jaw, the chin and cheeks' triangles changed too
    # (einstein_midword's cheek below the mouth's corner, whose folds in combination then
    # took 97 checks to repair, not 20); by the lower lip alone, obama_grin's outer lower lip
    # met the skin under its corner (62 checks, not 14; 0.015 face heights left biden's
    # repaired jaw at 0.180).
    upper, lower, _ = _lip_sets()
    lips = np.zeros(len(points), bool)
    lips[np.r_[upper, lower]] = True
    across = np.zeros(len(points), np.int8)
    across[upper], across[lower] = 1, 2
    opened_jaw = [jaw, _jaw_wide(g)]
    half = _mouth_halves(g)
    # Not a profile (its lower lip opens as a band): the first slit may settle longer.
    banded = min(half) >= LIP_BAND_LEAST_HALVES * max(half)
    least: tuple[int, np.ndarray, np.ndarray] | None = None
    for k, opening in enumerate(SLIT_OPENINGS):
        topo = points.copy()
        topo[lower] += jaw[lower] * (0.5 * opening * g.face_h / per)
        topo[upper] -= 0.5 * opening * g.face_h * g.down
        x0, y0, x1, y1 = bounds
        lo, hi = topo.min(axis=0), topo.max(axis=0)
        box = (min(x0, lo[0]), min(y0, lo[1]), max(x1, hi[0]), max(y1, hi[1]))
        tris = triangulate(topo, box, skip)
        opened = signed_areas(topo, tris)
        if len(tris) != len(plain) or (opened == 0).any():
            if k == 0:
                return plain, points
            continue
        rounds = SLIT_SETTLE_ROUNDS if banded and k == 0 else SLIT_SETTLE_STEPS + 1
        settled = _settle_slit(points, topo, tris, lips, rounds)
        if settled is None:
            if k == 0:
                return plain, points
            continue
        settled = _unflattened(points, topo, tris, lips, settled)
        if k == 0 and settled is points:
            return tris, points  # (the lips keep their orientation unsettled: as before)
        # A triangle with both lips' vertices that the jaw turns over: the jaw's repairs
        # hold the lips, so nothing can unfold it (SLIT_OPENINGS).
        crossing = (across[tris] == 1).any(axis=1) & (across[tris] == 2).any(axis=1)
        rest = signed_areas(settled, tris)
        turned = sum(
            int((np.sign(signed_areas(settled + d, tris)) != np.sign(rest))[crossing].sum())
            for d in opened_jaw
        )
        if not turned:
            return tris, settled
        if least is None or turned < least[0]:
            least = (turned, tris, settled)
    if least is not None:
        # Settled, but some triangle across the lips still turns over: that slit, not the
        # plain mesh, whose triangles join the upper lip to the lower lip's outer rings
        # (SLIT_OPENINGS).
        return least[1], least[2]
    return plain, points


SLIT_OPENINGS = (SLIT_OPENING, 2 * SLIT_OPENING, 4 * SLIT_OPENING)
"""Where the slit had to be settled (:data:`SLIT_SETTLE_STEPS`), the openings (face heights)
it is triangulated at: the first whose triangles across the lips (an upper-lip and a
lower-lip vertex) neither jaw motion turns over at full strength; none: the plain mesh, as
before. Their repairs hold the lips, so such a triangle cannot be unfolded around: on
photographer_turned jittered by 0.3 px (seed 5) the settled slit at 0.03 alone still tore 3
of 30 wide-open poses (12-13 px; 72 of 1,404 combinations creased after every repair), at
a wider opening none. Where the slit needs no settling it is kept at 0.03 whatever folds:
a wider one chosen so on canonman_glasses at JPEG 25 tore 29 poses (54 px) against 20 (24
px), the jaw at 14 left 0.27 of its opening. Where every settled slit keeps such a triangle,
the one with the fewest (counted under both jaws) is kept, not the plain mesh: that joined the
upper lip to the lower lip's outer rings, the jaw alone turned those triangles over, and its
repair cut the jaw at 14 to 0.047, 0.104 and 0.113 face heights of 0.2 on brothers_sepia,
canonman_glasses and photographer_turned jittered by 0.5 px (seeds 2, 5, 5); with the
settled slit 0.200 each, the upper lip still, 0 of 60 wide-open poses torn. (Where the first
slit does not settle at all the plain mesh stays: a wider one then, on brothers_sepia seed
3, creased under 29 of 1,404 combinations and tore all 60 poses, against 0.084 and none.)
The tuning portraits' own meshes reach neither case (none changed)."""


SLIT_SETTLE_STEPS = 10
"""Where the lips meet at the corners (their rows a fraction of a pixel apart), the slit
mesh turns a triangle over at the rest positions when the landmarks cross there by noise;
its lip vertices are then moved towards the opened positions it was triangulated at, a
tenth of the way a step, until none is turned over. Falling back to the plain
triangulation instead (as before) joined the upper lip to the lower lip's outer rings in 4
of 10 builds jittered by 0.3 px (photographer_turned seeds 1 and 5, canonman_glasses 1 and
5: a ring corner 62, 76 or 96 0.05-1.4 px² turned over against the upper lip), and the
jaw's repairs of those slivers tore the open mouth (photographer_turned 5: 4 of 30
wide-open poses, 17 px) or weakened it (canonman_glasses 1: the jaw at 14 26 of 43 px, the
upper lip pulled 21 px down with the wide jaw). Unjittered, astronaut_turned_far and
astronaut_turned55_moustache fell back so too: their wide-open poses with a tear (seeds 11
and 5, 30 each) 1+4 and 0+1 so, 0+0 settled."""
SLIT_SETTLE_ROUNDS = 40
"""Rounds of those steps on a face not seen in profile (each mouth half at least
:data:`LIP_BAND_LEAST_HALVES` of the other): a step moves only the vertices of the triangles
still turned over, and moving them turns their neighbours over in turn, so eleven rounds
(one per step) ran out before the lips reached the far ones. The plain mesh then used joined
the upper lip to the lower lip's outer rings, the jaw alone turned those triangles over, and
its repair left the inner lower lip (14) 0.084 face heights of 0.2 on photographer_turned and
brothers_sepia jittered by 0.5 px (seeds 1 and 3); settled in 40 rounds (lip vertices moved
up to 3.2 px at rest, the still picture unchanged) 0.200 each, 0 of 60 wide-open poses torn.
On the profile (cameraman, halves 0.04 of each other) the lips' rows lie across each other:
settled so, its jaw kept 0.049 but creased under 26 of 1,404 combinations and tore 42 of 60
wide-open poses, so it keeps the steps' own eleven rounds (and its plain mesh). So do the
wider slits (:data:`SLIT_OPENINGS`): brothers_sepia seed 2's second, settled in 40 rounds,
tore 1 of 60 poses (15 px), its first none."""


def _settle_slit(
    points: np.ndarray,
    topo: np.ndarray,
    tris: np.ndarray,
    lips: np.ndarray,
    rounds: int = SLIT_SETTLE_STEPS + 1,
) -> np.ndarray | None:
    """``points`` with the ``lips`` vertices of ``tris`` that are turned over (or flat) at
    ``points``, against their orientation at ``topo``, moved towards ``topo`` by
    :data:`SLIT_SETTLE_STEPS` (each only as far as it is needed) in at most ``rounds``
    rounds; None where that leaves a triangle turned over. Unchanged (the same array) where
    none is."""
    sign = np.sign(signed_areas(topo, tris))

    def turned(rest: np.ndarray) -> np.ndarray:
        return (np.sign(rest) != sign) | (rest == 0)

    start = np.zeros(len(points))
    return _lips_moved_on(points, topo, tris, lips, start, points, turned, rounds)


def _lips_moved_on(
    points: np.ndarray,
    topo: np.ndarray,
    tris: np.ndarray,
    lips: np.ndarray,
    share: np.ndarray,
    start: np.ndarray,
    marked: Callable[[np.ndarray], np.ndarray | None],
    rounds: int = SLIT_SETTLE_STEPS + 1,
) -> np.ndarray | None:
    """From ``start`` (``points`` with ``share`` of the way to ``topo``), the ``lips``
    vertices of the triangles ``marked`` (given their signed areas) moved on towards ``topo``
    a tenth of the way a step until none is marked: the points (``start`` itself where none
    was); None where a marked triangle has no lip vertex left to move, the steps run out, or
    ``marked`` gives None (give up), in at most ``rounds`` rounds. ``share`` is updated in
    place."""
    pts = start
    for _ in range(rounds):
        bad = marked(signed_areas(pts, tris))
        if bad is None:
            return None
        if not bad.any():
            return pts
        verts = np.unique(tris[bad])
        verts = verts[lips[verts] & (share[verts] < 1.0)]
        if len(verts) == 0:
            return None
        share[verts] = np.minimum(share[verts] + 1.0 / SLIT_SETTLE_STEPS, 1.0)
        pts = points + share[:, None] * (topo - points)
    return None


SLIT_FLAT_SHARE = 0.005
"""A slit triangle that the rest lips leave with under this share of its area at the opened
positions is as good as flat: its orientation there is the landmarks' last digits, and every
motion of its lip corner turns it over. astronaut_midword built as on another CPU
(tools/build_choices.py ``blocked``) kept one at 0.0009 of its 0.37 px² (0.0003 px²): the
build's repairs of its combinations failed in 669 of 1,404, and 428 of 1,500 random
combinations folded. Its lips' vertices are then moved on towards the opened positions
(:func:`_unflattened`). On this host one portrait's mesh changes, astronaut_turned55_moustache
(its second slit kept one at 0.0011; its lips' vertices moved 0.15 px at most, its tuning
figures the same to 0.01); every other portrait's least share is 0.013 or more
(astronaut_turned_far; most 0.09-0.12), held-out ones included."""


def _unflattened(
    points: np.ndarray, topo: np.ndarray, tris: np.ndarray, lips: np.ndarray, settled: np.ndarray
) -> np.ndarray:
    """``settled`` (the slit's rest points, :func:`_settle_slit`) with the ``lips`` vertices
    of its nearly flat triangles (:data:`SLIT_FLAT_SHARE`) moved on towards ``topo`` a tenth
    of the way a step until none is; ``settled`` itself where that turns a triangle over or
    leaves one flat (a flat triangle with no lip vertex: nothing to move)."""
    opened = signed_areas(topo, tris)
    sign = np.sign(opened)
    span = topo - points
    length = np.maximum(np.einsum("nd,nd->n", span, span), 1e-12)
    share = np.clip(np.einsum("nd,nd->n", settled - points, span) / length, 0.0, 1.0)

    def flat(rest: np.ndarray) -> np.ndarray | None:
        if ((np.sign(rest) != sign) | (rest == 0)).any():
            return None  # (a step turned one over: the settle as it was)
        return np.abs(rest) <= SLIT_FLAT_SHARE * np.abs(opened)

    moved = _lips_moved_on(points, topo, tris, lips, share, settled, flat)
    return settled if moved is None else moved


def _crosses_the_slit(tris: np.ndarray) -> bool:
    """Whether a triangle joins the upper lip to the lower lip's outer rings (past its inner
    lip; the columns next to the corners aside, where the lips converge)."""
    upper, _, _ = _lip_sets()
    outer = [v for ring in LOWER_LIP_RINGS[1:] for v in ring[1:-1]]
    has_upper = np.isin(tris, upper).any(axis=1)
    has_outer = np.isin(tris, outer).any(axis=1)
    return bool((has_upper & has_outer).any())


def signed_areas(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    ab, ac = b - a, c - a
    return 0.5 * (ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])


def rasterize_backward(
    rest: np.ndarray, moved: np.ndarray, tris: np.ndarray, size: tuple[int, int]
) -> tuple[int, int, np.ndarray] | None:
    """The backward offset field of the warp rest → moved over the box it changes.

    Returns (x0, y0, field h×w×2) or None when nothing moves.
    """
    width, height = size
    disp = np.linalg.norm(moved - rest, axis=1)
    touched = tris[(disp[tris] > 1e-4).any(axis=1)]
    if len(touched) == 0:
        return None
    pts = np.concatenate([rest[touched.ravel()], moved[touched.ravel()]])
    x0 = max(0, int(np.floor(pts[:, 0].min())) - 1)
    y0 = max(0, int(np.floor(pts[:, 1].min())) - 1)
    x1 = min(width, int(np.ceil(pts[:, 0].max())) + 2)
    y1 = min(height, int(np.ceil(pts[:, 1].max())) + 2)
    if x1 <= x0 or y1 <= y0:
        return None
    index = np.zeros((y1 - y0, x1 - x0), np.int32)
    shift = 4
    for k, tri in enumerate(touched):
        poly = np.round((moved[tri] - [x0, y0]) * (1 << shift)).astype(np.int32)
        cv2.fillConvexPoly(index, poly, k + 1, lineType=cv2.LINE_8, shift=shift)
    ys, xs = np.nonzero(index)
    t = index[ys, xs] - 1
    tri = touched[t]
    a, b, c = moved[tri[:, 0]], moved[tri[:, 1]], moved[tri[:, 2]]
    px = np.stack([xs + x0, ys + y0], axis=1).astype(np.float64)
    v0, v1, v2 = b - a, c - a, px - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    ok = np.abs(den) > 1e-9
    den = np.where(ok, den, 1.0)
    l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    l0 = 1.0 - l1 - l2
    src = (
        l0[:, None] * rest[tri[:, 0]]
        + l1[:, None] * rest[tri[:, 1]]
        + l2[:, None] * rest[tri[:, 2]]
    )
    offset = np.where(ok[:, None], src - px, 0.0)
    fld = np.zeros((y1 - y0, x1 - x0, 2), np.float32)
    fld[ys, xs] = offset.astype(np.float32)
    # A pixel on an edge claimed by a sliver triangle it lies outside of would extrapolate
    # that sliver's map far off (a speck sampling the wrong place): take its neighbours'.
    outside = np.minimum(np.minimum(l0, l1), l2) < -0.25
    if outside.any():
        bad = np.zeros(fld.shape[:2], bool)
        bad[ys[outside], xs[outside]] = True
        for c in range(2):
            med = cv2.medianBlur(np.ascontiguousarray(fld[..., c]), 5)
            fld[..., c][bad] = med[bad]
    return x0, y0, fld


class _Neighbours:
    """Mean over each vertex's mesh neighbours (sparse: a dense n×n product is slow under a
    busy BLAS)."""

    def __init__(self, n: int, tris: np.ndarray) -> None:
        pairs = np.concatenate([tris[:, [a, b]] for a, b in ((0, 1), (1, 2), (2, 0))])
        pairs = np.unique(np.sort(pairs, axis=1), axis=0)
        self.src = np.concatenate([pairs[:, 0], pairs[:, 1]])
        self.dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
        self.n = n
        self.deg = np.maximum(np.bincount(self.src, minlength=n), 1).astype(np.float64)

    def __matmul__(self, values: np.ndarray) -> np.ndarray:
        out = np.empty((self.n, values.shape[1]), np.float64)
        for k in range(values.shape[1]):
            out[:, k] = np.bincount(self.src, weights=values[self.dst, k], minlength=self.n)
        return out / self.deg[:, None]


JAW_KEEP = 0.05
"""The jaw's pinned fold repair lets a triangle shrink to this share of its area, never flip:
the far side's crowded skin absorbs the opening instead of the lips."""
JAW_PROJECT_STEPS = 500
"""Rounds of projections at most (astronaut_turned_far: 2-3 for the jaw alone)."""
JAW_STALL_STEPS = 50
"""...or until this many rounds bring no fewer squeezed triangles (on the profile, where the
held lips cannot be unfolded around, the 500 rounds cost its build about a second)."""
JAW_CHANGE_REACH = 3
"""Mesh steps around the vertices the combined repair moved the jaw at, over which its
change is spread (``Rig._smooth_jaw_change``)..."""
JAW_CHANGE_STEPS = 10
"""...in this many halfway steps towards the neighbours' mean."""
JAW_LIPS_KEPT = 0.9
"""The jaw's pinned repair is used where the plain one keeps less of the lips' opening."""
JAW_PIN_RELEASED: tuple[tuple[int, ...], ...] = ((), (0, 8), (0, 1, 7, 8))
"""The inner lower lip's columns (k-th points of LOWER_LIP_RINGS[0]; 14 is the middle, 4) that
the jaw's pinned repair lets go, in turn, where holding them all leaves a fold: the first set
whose repair is fold-free is kept. Where the tracker puts the inner lower lip's column 7 (318)
below column 8 (324, 2.9 px) and below the next ring's column 8 (325, 0.6 px), the jaw lowers
column 7 by 32 px and column 8 by 21, and the triangle 402-325-318 (two held vertices) turns
over wherever 325 goes along the jaw's axis without turning 306-325-324 over: the pinned
repair failed, and the plain one left the inner lower lip (14) 0.084 face heights of 0.2, the
combinations' repair then 0.072 (brothers_sepia as a photographed print, tools/weak_jaw_search.py
``print``, jittered by 0.8 px, seed 3; rolled 4 degrees either way the same 0.084), the
held-out print's symptom (0.04). Letting the corners' columns (0 and 8) go: 0.200 each, the
upper lip still (324 then goes down 10 px of 21), no combination creased, 0 of 30 wide-open
poses torn; the tracked speech p95 opening (tools/avatar_sweep.py's quick clip) 0.072 -> 0.168
and 0.080 -> 0.172, r 0.85 -> 0.90 and 0.86 -> 0.91. Where every set leaves a fold (the
profile) the plain repair stays, as before: its two more tries cost cameraman's build nothing
measurable (5.0-5.2 s of CPU either way); the tuning portraits' meshes, bases and renders are
the same bytes (all 20 hashed)."""
JAW_CORNER_SKIN_STEPS = 10
"""Halfway steps towards the neighbours' mean by which a turned face's pinned jaw is smoothed
on the skin around the lower lip's corners (``Rig._smooth_corner_skin``): the mesh neighbours
of the lower lip's two outer rings at their two columns nearest each corner, not the lip
itself. That skin goes down by the canonical face's height alone, the lip's outer contour
beside it by the lip's arc, which falls to none at the corner: on canonman_bright_rolled the
skin under the far corner (335) went down 34.6 px, the lip contour above it (321) 24.8 and the
lip beside it (404) 38.7, and with a smile and the head turned the thin triangle between them
(404-335-405, squeezed to half its area) read as a map jump at the lower lip's corner, 12-16 px
of tear in 3 of the 60 wide-open poses (``measure.wide_open_figures``). Smoothed: 0 of 60
(335 29.0 px, 273 under the corner 20.0 -> 12.1). One step of reach, not two (the same 0 of
60), so the skin a little farther down keeps its shape; smoothing the lip's rings too (the
inner lip held) folded 11 of its triangles. Only where the jaw is no steeper along the lip
than :data:`JAW_LIP_STEEP` (canonman_bright_rolled 4.3, canonman_hooded 4.7: 0 of 60 before
and after): smoothed on the steeper turned faces too, whose lip opening was already smoothed
along the lip (:func:`_smooth_lip_opening`), astronaut_turned55_moustache (14.2) tore in 34 of
the 60 poses and astronaut_turned_far (11.8) in 1, 0 before."""


def _unfold_along(
    points: np.ndarray,
    tris: np.ndarray,
    amount: np.ndarray,
    axis: np.ndarray,
    movable: np.ndarray,
    poses: list[np.ndarray],
    weights: list[float] | None = None,
) -> np.ndarray:
    """Change, at the ``movable`` vertices, the amounts (one per vertex) of a displacement
    along one ``axis`` so that it shrinks no triangle below JAW_KEEP of its rest area, on the
    rest mesh and on the mesh moved by each of ``poses`` (displacements: the head's turns),
    as little as possible (averaged projections onto each squeezed triangle's constraint).
    Along one axis a triangle's area is linear in the amounts, and in the motion's weight
    (what holds at full strength and at none holds at every weight between), so each
    constraint is a half-space. Where a pose alone squeezes a triangle more, that is the
    pose's (only no worse is asked). ``weights``: the motion's weight under each pose (default
    full; the rest mesh is checked at full weight). The lips, not movable, keep their asked
    opening; after JAW_PROJECT_STEPS rounds what is reached is returned (the callers check the
    folds)."""
    rest_a = signed_areas(points, tris)  # (after the rounds, what is left is best effort)
    sign = np.sign(rest_a)
    cabs, cvas, needs, grads = [], [], [], []
    scales = [1.0, *(weights if weights is not None else [1.0] * len(poses))]
    for off, w in zip([np.zeros_like(points), *poses], scales, strict=True):
        q = points + off
        a, b, c = (q[tris[:, k]] for k in range(3))
        ab, ac = b - a, c - a
        base = 0.5 * (ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])
        # area = base + (s_c - s_a) * cab + (s_b - s_a) * cva
        cab = 0.5 * w * (ab[:, 0] * axis[1] - ab[:, 1] * axis[0])
        cva = 0.5 * w * (axis[0] * ac[:, 1] - axis[1] * ac[:, 0])
        need = np.minimum(JAW_KEEP * np.abs(rest_a), base * sign)
        cabs.append(cab)
        cvas.append(cva)
        needs.append(np.where(base * sign > 0, need, -np.inf) - base * sign)
        grads.append(np.stack([-(cab + cva), cva, cab], axis=1) * sign[:, None])
    k = len(cabs)
    t = np.tile(tris, (k, 1))
    sg = np.tile(sign, k)
    cab, cva = np.concatenate(cabs), np.concatenate(cvas)
    need = np.concatenate(needs)  # what the motion's share of the area must reach
    grad = np.concatenate(grads) * movable[t]
    g2 = (grad * grad).sum(axis=1)
    s = amount.astype(np.float64).copy()
    counts: list[int] = []
    for _ in range(JAW_PROJECT_STEPS):
        area = ((s[t[:, 2]] - s[t[:, 0]]) * cab + (s[t[:, 1]] - s[t[:, 0]]) * cva) * sg
        bad = area < need
        counts.append(int(bad.sum()))
        if counts[-1] == 0:
            return s
        if len(counts) > JAW_STALL_STEPS and counts[-1] >= min(counts[:-JAW_STALL_STEPS]):
            break  # no nearer in the last rounds (the profile: never)
        bad &= g2 > 1e-12  # (a triangle of pinned vertices alone: left to the checks)
        # A little past each half-space's border, so the averaged steps get there.
        corr = (1.05 * (need - area)[bad] / g2[bad])[:, None] * grad[bad]
        at = t[bad].ravel()
        delta = np.bincount(at, weights=corr.ravel(), minlength=len(s))
        count = np.bincount(at, weights=(grad[bad] != 0).ravel(), minlength=len(s))
        s += delta / np.maximum(count, 1.0)
    return s


@dataclass
class _Combined:
    """What the combinations' repair gave (``Rig._combined_without_folds``), or one order of
    it carried through the wide jaw's (``Rig._mouth_combined``)."""

    vertex: dict[str, np.ndarray]
    creased: list[int]
    """Probes still folding after each pass that left any (the mouth's, the wide jaw's)."""
    probes: int
    """Of how many combinations."""
    other_order: bool = False
    """Whether the last resort met a fold that its other order (the other motions' steps
    before the jaw's) could answer differently."""


def _mouth_preferred(a: _Combined, b: _Combined, down: np.ndarray) -> bool:
    """Whether ``a`` is the better repair: its weaker jaw (speech or wide) opens the inner
    lower lip (14) more (by over 0.01 px), or as much and fewer probes still fold."""

    def weaker(c: _Combined) -> float:
        return min(float(c.vertex[n][14] @ down) for n in ("jaw", JAW_WIDE) if n in c.vertex)

    if "jaw" not in a.vertex:
        return False
    gain = weaker(a) - weaker(b)
    return gain > 0.01 or (gain >= -0.01 and sum(a.creased) < sum(b.creased))


class Rig:
    """Mesh and basis fields for one portrait (built once; read-only afterwards, but for
    :meth:`mix`'s one-entry cache and :meth:`set_lid_depth`)."""

    def __init__(
        self,
        landmarks: np.ndarray,
        size: tuple[int, int],
        amplitudes: dict[str, float] | None = None,
        bases: list[str] | None = None,
        image: np.ndarray | None = None,
        builders: dict[str, BasisBuilder] | None = None,
        slit: bool = True,
    ) -> None:
        """``image``: the portrait (BGR), to find glasses rims and brows the lids stop under;
        ``builders``: basis builders used instead of the registry's for these names;
        ``slit``: triangulate with a slit between the lips (``_slit_triangles``)."""
        width, height = size
        lm = np.asarray(landmarks, np.float64)
        if lm.shape != (NUM_LANDMARKS, 3):
            raise ValueError(f"the rig needs 478×3 landmarks, not {lm.shape}")
        amps = dict(DEFAULT_AMPLITUDES)
        amps.update(amplitudes or {})
        can = canonical_face().vertices[:NUM_LANDMARKS]

        # Vertices: landmarks, head ring, outer ring, border.
        oval_idx = np.array(regions.FACE_OVAL)
        probe = FaceGeometry(
            size, lm, can, lm[:, :2], np.zeros(0, int), np.zeros(0), np.zeros(0, int), amps
        )
        center, down = probe.center, probe.down
        face_pts = _separate(lm[:, :2], down)
        head = _ring_points(center, lm[oval_idx, :2], down, HEAD_RING_SCALE, HEAD_RING_TOP_SCALE)
        outer = _ring_points(
            center, lm[oval_idx, :2], down, OUTER_RING_SCALE, OUTER_RING_SCALE * 1.1
        )
        xs = np.unique(np.r_[np.arange(0, width - 1, BORDER_STEP), width - 1])
        ys = np.unique(np.r_[np.arange(0, height - 1, BORDER_STEP), height - 1])
        border = np.concatenate(
            [
                np.stack([xs, np.zeros_like(xs)], 1),
                np.stack([xs, np.full_like(xs, height - 1)], 1),
                np.stack([np.zeros_like(ys), ys], 1),
                np.stack([np.full_like(ys, width - 1), ys], 1),
            ]
        ).astype(np.float64)
        # Ring points outside the picture add nothing but long thin triangles.
        inside = (
            (outer[:, 0] > 1)
            & (outer[:, 0] < width - 2)
            & (outer[:, 1] > 1)
            & (outer[:, 1] < height - 2)
        )
        # On a turned head the far side's face-oval points crowd behind the nose, so the
        # fixed ring made from them crosses the face: a fixed vertex next to the nose, lips or
        # chin folds whatever moves past it (cameraman: 232 of 500 random combinations of
        # motions). Fixed points are kept only clear of the moving head.
        body = np.concatenate([lm[:, :2], head])
        inside &= _clear_of(outer, body, OUTER_CLEARANCE * probe.face_h)
        outer = outer[inside]
        head_inside = (
            (head[:, 0] > 1)
            & (head[:, 0] < width - 2)
            & (head[:, 1] > 1)
            & (head[:, 1] < height - 2)
        )
        # (The same on a turned head: the far side's ring points fall on the near side's lips.)
        head_inside &= _clear_of(head, lm[:, :2], HEAD_CLEARANCE * probe.face_h)
        head_inside &= _spaced(head, HEAD_RING_GAP * probe.face_h)
        anchors = oval_idx[head_inside]
        head = head[head_inside]
        points = np.concatenate([face_pts, head, outer, border])
        n_lm, n_head = NUM_LANDMARKS, len(head)
        head_idx = np.arange(n_lm, n_lm + n_head)
        # Below the chin the ring is neck: it follows the head much less.
        below = ((head - center) @ down) / (probe.face_h / 2)
        follow = np.clip(1.0 - 0.8 * np.clip(below - 0.5, 0.0, 1.0), 0.2, 1.0)
        self.geometry = FaceGeometry(size, lm, can, points, head_idx, follow, anchors, amps)
        lo = np.minimum(points.min(axis=0), 0)
        hi = np.maximum(points.max(axis=0), [width, height])
        # The iris points sit on the eyelids: as vertices they would fold under a blink. Gaze
        # moves the irises with its own fields, so they stay out of the mesh.
        iris = set(regions.RIGHT_IRIS) | set(regions.LEFT_IRIS)
        bounds = (lo[0], lo[1], hi[0], hi[1])
        if slit:
            self.triangles, settled = _slit_triangles(self.geometry, bounds, iris)
            if settled is not points:
                # (Its lips' rest vertices moved apart where they crossed: _settle_slit.)
                points = settled
                self.geometry = FaceGeometry(size, lm, can, points, head_idx, follow, anchors, amps)
        else:
            self.triangles = triangulate(points, bounds, skip=iris)
        self.points = points
        self.size = size
        self.fixed = np.arange(n_lm + n_head, len(points))
        """Vertices that never move (outer ring and border)."""

        self._tri_lookup: tuple[np.ndarray, ...] | None = None
        self._jaw_pinned: np.ndarray | None = None
        """The jaw's vertices its repairs keep at their asked motion (None: none)."""
        self._jaw_still: np.ndarray | None = None
        """The vertices the combinations' relaxation leaves where the jaw put them (None:
        none): the held lips where its repairs hold them, else the upper lip where its own
        repair kept the lips (:meth:`_jaw_upper_still`)."""
        self._neighbours = _Neighbours(len(points), self.triangles)
        self._rest_areas = signed_areas(points, self.triangles)
        self._face_moved_at: np.ndarray | None = None
        self._last_mix: tuple[tuple[tuple[str, float], ...], dict[str, float]] | None = None
        """The last weights :meth:`mix` was asked for and what it gave (it is asked again)."""
        self.bases: dict[str, BasisField] = {}
        self.lid_depth = BLINK_LOWER_SHARE
        """Where the shut lids meet (:func:`blink_fields`' ``lower_share``)."""
        self.lid_shape = LidShape()
        """How far past the outer corners they close, and how thick their shut line is."""
        self.lid_reading = math.nan
        """The tracker's reading of the kept shut lids, over the open eye's, at the worst of
        the build's check poses (:func:`~pipelines.avatar.lids.settle_lids`; a blink is seen
        under 0.5); nan where not read."""
        names = (
            bases if bases is not None else BASES.names() + list(FIELD_BASES) + list(LEVEL_BASES)
        )
        built: dict[str, BasisField | np.ndarray] = {}
        raw: dict[str, np.ndarray] = {}
        for name in names:
            if name in LEVEL_BASES:
                lid = self._lid_basis(name, image, BLINK_LOWER_SHARE)
                if lid is not None:
                    built[name] = lid
                continue
            if name in FIELD_BASES:
                got = FIELD_BASES[name](self.geometry)
                if got is not None:
                    zero = np.zeros((len(points), 2), np.float32)
                    built[name] = BasisField(name, zero, got[0], got[1], got[2])
                continue
            build = (builders or {}).get(name) or BASES.get(name)
            disp = build(self.geometry)
            if name == JAW_WIDE and not np.abs(disp).max() > 0.0:
                continue  # (a turned face or a profile: its jaw keeps one shape)
            disp[self.fixed] = 0.0
            raw[name] = disp
            if name == JAW_WIDE and isinstance(built.get("jaw"), np.ndarray):
                # The jaw's repairs (of its folds along the jaw line, away from the lips)
                # kept, with what the wide shape changes at the lips on top: repaired alone
                # the wide jaw lost half its opening on photographer_turned (0.096 face
                # heights at 14 of 0.2; the jaw there keeps 0.2 around its held lips).
                jaw_kept = built["jaw"]
                assert isinstance(jaw_kept, np.ndarray)
                disp = jaw_kept + (disp - raw["jaw"])
            kept = self._without_folds(name, disp)
            if name == "jaw" and "jaw" not in (builders or {}) and self._weakens_lips(disp, kept):
                # Where that keeps the lips (the frontal photos) nothing changes.
                for released in JAW_PIN_RELEASED:
                    pins = self._jaw_pins(released)
                    pinned = self._pinned_without_folds(disp, pins)
                    if pinned is not None:
                        log.info("avatar: the jaw's folds repaired around its held lips")
                        kept = pinned
                        self._jaw_pinned = self._jaw_still = pins
                        break
            elif name == "jaw" and "jaw" not in (builders or {}):
                self._jaw_still = self._jaw_upper_still()
            built[name] = kept
        # Each motion is fold-free alone; now also together (mouth shapes on one another,
        # under the head's turns), the way the animator combines them.
        vertex = {n: d for n, d in built.items() if isinstance(d, np.ndarray)}
        # The wide-open jaw is repaired last, against the others as they are repaired
        # without it: they stay as they were (the speech jaw moved by up to 3 px at the chin
        # when repaired with it, and a test's photo opened by it changed by 12 levels).
        wide = vertex.pop(JAW_WIDE, None)
        vertex.update(self._head_poses_without_folds(vertex))
        combined = self._mouth_combined(vertex, wide, raw, others_first=False)
        if combined.other_order:
            # The combinations' last resort had two orders to choose from (see
            # ``_combined_without_folds``): both are carried through the wide jaw's own
            # repair, which answers to what the first left, and the one whose weaker jaw
            # (speech or wide) opens the inner lower lip more is kept, on a tie the one
            # with fewer folds left.
            other = self._mouth_combined(vertex, wide, raw, others_first=True)
            if _mouth_preferred(other, combined, self.geometry.down):
                combined = other
        vertex = combined.vertex
        self.creasing = max(combined.creased, default=0)
        """How many probed combinations of its motions at full strength still fold a triangle
        of this face (0: none), of :attr:`combinations_probed`: what the build's warning says."""
        self.combinations_probed = combined.probes
        if self.creasing:
            log.warning(
                "talking head: this portrait's face creases under %d of %d combinations of its "
                "motions at full strength",
                self.creasing,
                self.combinations_probed,
            )
        for name, item in built.items():
            if isinstance(item, BasisField):
                self.bases[name] = item
                continue
            disp = vertex[name]
            got = rasterize_backward(points, points + disp, self.triangles, size)
            if got is None:
                continue
            x0, y0, fld = got
            self.bases[name] = BasisField(name, disp.astype(np.float32), x0, y0, fld)

    def _mouth_combined(
        self,
        vertex: dict[str, np.ndarray],
        wide: np.ndarray | None,
        raw: dict[str, np.ndarray],
        others_first: bool,
    ) -> _Combined:
        """The face's motions made fold-free together (``_combined_without_folds``), the
        turned face's jaw smoothed, then the wide jaw against them: ``vertex`` (the motions
        after the head poses' repair) is not changed. ``others_first``: the order of the
        combinations' last resort."""
        out = dict(vertex)
        held = out.get("jaw")
        mouth = self._combined_without_folds(out, others_first=others_first)
        out.update(mouth.vertex)
        counts, probes = list(mouth.creased), mouth.probes
        if held is not None and self._jaw_pinned is not None and lip_turned(self.geometry):
            out["jaw"] = self._smooth_jaw_change(held, out)
            # (Steeper, the skin smoothed tore the lip: JAW_CORNER_SKIN_STEPS.)
            x = self.geometry.landmarks[:, :2] @ self.geometry.right
            if _lip_steepness(raw["jaw"][:NUM_LANDMARKS] @ self.geometry.down, x) <= JAW_LIP_STEEP:
                out["jaw"] = self._smooth_corner_skin(out)
        if wide is not None:
            out[JAW_WIDE] = wide
            wide_jaw = self._combined_without_folds(out, only=JAW_WIDE)
            out.update(wide_jaw.vertex)
            counts += wide_jaw.creased
            probes = wide_jaw.probes
        return _Combined(out, counts, probes, mouth.other_order)

    def _lid_basis(
        self, name: str, image: np.ndarray | None, lower_share: float, shape: LidShape | None = None
    ) -> BasisField | None:
        shape = shape or LidShape()
        lid = blink_fields(
            self.geometry,
            LEVEL_BASES[name],
            image,
            lower_share,
            shape.outer_reach,
            shape.lash_band,
            shape.lash_from_opening,
            shape.lash_floor,
            shape.look,
            shape.lash_inner,
            shape.soften,
            shape.dome,
            shape.lash_below,
            shape.shade,
            shape.shade_whole,
        )
        if lid is None:
            return None
        zero = np.zeros((len(self.points), 2), np.float32)
        return BasisField(
            name, zero, lid.x0, lid.y0, lid.fields[-1], tuple(lid.fields), tuple(lid.shading)
        )

    def set_lid_depth(
        self, image: np.ndarray | None, lower_share: float, shape: LidShape | None = None
    ) -> None:
        """Rebuild the lids (the blink bases) to meet at ``lower_share``, shaped by ``shape``
        (:func:`blink_fields`; None: the default shape); the renderer reads the bases at each
        frame."""
        shape = shape or LidShape()
        for name in LEVEL_BASES:
            if name in self.bases:
                lid = self._lid_basis(name, image, lower_share, shape)
                if lid is not None:
                    self.bases[name] = lid
        self.lid_depth = lower_share
        self.lid_shape = shape
        self._last_mix = None
        self._face_moved_at = None

    def _smooth_jaw_change(self, held: np.ndarray, vertex: dict[str, np.ndarray]) -> np.ndarray:
        """The jaw as the combined repair left it, with the change that repair made to it
        (from ``held``) spread over its neighbours: the repair relaxes only the vertices of
        folding triangles, and on a turned head it lifted the far mouth corner's ring
        point alone (306: 0 -> 7.8 px, the cheek beside it 4.6 -> 11.2), a spike the render
        tore at. Kept only where no combination of motions folds more than before."""
        jaw = vertex["jaw"]
        change = jaw - held
        touched = np.abs(change).max(axis=1) > 1e-9
        if not touched.any():
            return jaw
        movable = np.ones(len(self.points), bool)
        movable[self.fixed] = False
        assert self._jaw_pinned is not None
        movable &= ~self._jaw_pinned
        region = self._grown(touched, JAW_CHANGE_REACH) & movable
        smoothed = held + self._relaxed(change, region, JAW_CHANGE_STEPS)
        return smoothed if self._folds_no_more(vertex, smoothed) else jaw

    def _grown(self, region: np.ndarray, reach: int) -> np.ndarray:
        """``region`` (a vertex mask) with its mesh neighbours added ``reach`` times."""
        grown = region.copy()
        for _ in range(reach):
            near = np.isin(self._neighbours.src, np.where(grown)[0])
            grown[self._neighbours.dst[near]] = True
        return grown

    def _relaxed(self, disp: np.ndarray, region: np.ndarray, steps: int) -> np.ndarray:
        """``disp`` with its ``region`` vertices moved ``steps`` halfway steps towards their
        neighbours' mean."""
        out = disp.copy()
        for _ in range(steps):
            avg = self._neighbours @ out
            out[region] = 0.5 * out[region] + 0.5 * avg[region]
        return out

    def _folds_no_more(self, vertex: dict[str, np.ndarray], jaw: np.ndarray) -> bool:
        """Whether ``jaw`` in place of ``vertex["jaw"]`` folds no triangle that no combination
        of the motions (:func:`combination_probes`) folded before."""
        names = list(vertex)
        probes = np.array([[p.get(n, 0.0) for n in names] for p in combination_probes(names)])
        before = self._composed_folds(probes, names, vertex).any(axis=0)
        after = self._composed_folds(probes, names, {**vertex, "jaw": jaw}).any(axis=0)
        return not (after & ~before).any()

    def _smooth_corner_skin(self, vertex: dict[str, np.ndarray]) -> np.ndarray:
        """The jaw with the skin around the lower lip's corners smoothed towards its
        neighbours (:data:`JAW_CORNER_SKIN_STEPS`), the lips, the corners and the fixed
        vertices held. Kept only where no combination of motions folds more than before."""
        jaw = vertex["jaw"]
        upper, _, _ = _lip_sets()
        seeds = np.zeros(len(self.points), bool)
        for ring in LOWER_LIP_RINGS[2:]:
            seeds[[ring[0], ring[1], ring[-2], ring[-1]]] = True
        region = self._grown(seeds, 1)
        held = np.zeros(len(self.points), bool)
        held[upper] = True
        held[[i for ring in LOWER_LIP_RINGS for i in ring]] = True
        held[list(LIP_CORNERS) + list(LIP_RING_CORNERS)] = True
        held[self.fixed] = True
        region &= ~held
        smoothed = self._relaxed(jaw, region, JAW_CORNER_SKIN_STEPS)
        if not self._folds_no_more(vertex, smoothed):
            log.info("avatar: the skin around the lip corners left as it was (it folded)")
            return jaw
        return smoothed

    def _weakens_lips(self, asked: np.ndarray, kept: np.ndarray) -> bool:
        """Whether a repaired jaw opens the mouth less than asked: the inner lower lip (14)
        below JAW_LIPS_KEPT of its asked motion, or the upper lip moved by a pixel or more
        (astronaut_turned_far: 0.36 of it, the upper lip 5.8 px down)."""
        upper, _, _ = _lip_sets()
        down = self.geometry.down
        lower = float(kept[14] @ down) < JAW_LIPS_KEPT * float(asked[14] @ down)
        return lower or float(np.abs(kept[upper]).max()) >= 1.0

    def _jaw_upper_still(self) -> np.ndarray:
        """The upper lip: where the jaw's own repair kept the lips, the combinations'
        relaxation (``_relax_combinations``) leaves the jaw's upper lip still, as where its
        repairs hold them. Relaxed towards its neighbours, a column of the upper lip took the
        lower lip's motion: on issue 13's printed proxy (brothers_sepia as a photographed
        print, jittered 0.6 px, seed 3) the upper inner lip's 310 went down 10.3 px with the
        jaw's 42.9 at 14 (0.24 of it, measure.jaw_lip_drag), and hung into the opening as a
        dark-edged fang beside the right corner, the upper lip's inner line dipping there;
        now 0.000, 14 the same. The 20 tuning portraits' jaws never moved their upper lip
        there: their meshes, bases and renders are the same bytes. (Holding the lip corners
        too, or the inner lower lip as well, left the lower lip's right half more lopsided
        and cut 14 to 6.3 px: not done.)"""
        upper, _, _ = _lip_sets()
        still = np.zeros(len(self.points), bool)
        still[upper] = True
        return still

    def _jaw_pins(self, released: tuple[int, ...] = ()) -> np.ndarray:
        """The vertices the jaw's fold repair holds at their asked motion: the upper lip
        (still) and the lower lip's inner contour (opening). (Only 14 with the upper lip: the
        profile's lip opened 0.2 face heights alone, but 162 of the motions' combinations
        still folded the lip corner under the head turns with the lips rounded.) ``released``:
        the inner lower lip's columns left free (:data:`JAW_PIN_RELEASED`)."""
        upper, _, _ = _lip_sets()
        pins = np.zeros(len(self.points), bool)
        pins[upper] = True
        inner = LOWER_LIP_RINGS[0]
        pins[[v for k, v in enumerate(inner) if k not in released]] = True
        return pins

    def _composed_folds(
        self,
        probes: np.ndarray,
        names: list[str],
        disps: dict[str, np.ndarray],
        tris: np.ndarray | None = None,
        keep: float = 0.0,
    ) -> np.ndarray:
        """C×T: which triangles (of ``tris``, default all; the others False) each probe (C×B
        weights over ``names``) turns over by more than COMBINED_FOLD_PX (face motions
        first, the head's carried through the rest mesh, as ``vertices`` composes them)."""
        face = [k for k, n in enumerate(names) if n not in HEAD_BASES]
        head = [k for k, n in enumerate(names) if n in HEAD_BASES]
        sel = np.arange(len(self.triangles)) if tris is None else tris
        verts, local = np.unique(self.triangles[sel], return_inverse=True)
        t = local.reshape(-1, 3)
        stack = np.stack([disps[n][verts] for n in names])
        rest = signed_areas(self.points, self.triangles[sel])
        out = np.zeros((len(probes), len(self.triangles)), bool)
        for lo in range(0, len(probes), COMBINED_PROBE_BLOCK):
            w = probes[lo : lo + COMBINED_PROBE_BLOCK]
            # The probes are mouth shapes under every head pose: the face's own motions (and
            # where they put the points in the rest mesh) repeat for each pose, so they are
            # worked out once per distinct mouth (each row is summed alone either way: the
            # same bits; a build's combination checks locate a tenth of the points).
            mouths, mouth_of = np.unique(w[:, face], axis=0, return_inverse=True)
            mouth_of = mouth_of.ravel()
            mouth_pts = self.points[verts] + np.einsum("cb,bnd->cnd", mouths, stack[face])
            pts = mouth_pts[mouth_of]
            if head:
                c, n = pts.shape[:2]
                tri_m, bary_m = self.locate(mouth_pts.reshape(-1, 2))
                tri = tri_m.reshape(len(mouths), n)[mouth_of].reshape(-1)
                bary = bary_m.reshape(len(mouths), n, 3)[mouth_of].reshape(-1, 3)
                full = np.stack([disps[names[k]] for k in head])
                hd = np.einsum("cb,bnd->cnd", w[:, head], full)
                corners = self.triangles[tri].reshape(c, n, 3)
                # hd[probe, corner] through one flat take (the same values, a third the time).
                flat = corners + (np.arange(c) * hd.shape[1])[:, None, None]
                moved_at = hd.reshape(-1, hd.shape[2])[flat]
                pts = pts + np.einsum("cnk,cnkd->cnd", bary.reshape(c, n, 3), moved_at)
            a, b, cc = (np.take(pts, t[:, k], axis=1) for k in range(3))
            ab, ac = b - a, cc - a
            moved = 0.5 * (ab[..., 0] * ac[..., 1] - ab[..., 1] * ac[..., 0])
            if keep > 0.0:
                # Squeezed below ``keep`` of its area counts too (margin for what is added).
                flipped = moved * np.sign(rest) < keep * np.abs(rest)
            else:
                flipped = (np.sign(moved) != np.sign(rest)) & (np.abs(moved) > COMBINED_FOLD_PX)
            out[lo : lo + COMBINED_PROBE_BLOCK, sel] = flipped
        return out

    def _head_poses_without_folds(self, disps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The head turns relaxed at the head ring (as in ``_without_folds``) where a pose
        that combines them (yaw, pitch and roll each at -1, -1/2, 0, 1/2 or 1) turns a
        triangle over. Each turn is fold-free alone, but on a turned head (cameraman) a ring
        point under the chin, which follows the head only partly (the neck), sits next to
        the lips, which follow it fully: a yaw with a roll folded the triangle between them.
        Only ring points give way (relaxing the landmarks' rigid turn folded more)."""
        names = [n for n in disps if n in HEAD_BASES]
        if len(names) < 2:
            return {}
        poses = []
        for turns in product((-1.0, -0.5, 0.0, 0.5, 1.0), repeat=3):
            pose = dict.fromkeys(names, 0.0)
            for axis, v in zip(("yaw", "pitch", "roll"), turns, strict=True):
                pos, neg = SIGNED_AXES[axis]
                key = pos if v > 0 else neg
                if v and key in pose:
                    pose[key] = abs(v)
            poses.append([pose[n] for n in names])
        probes = np.unique(np.array(poses), axis=0)
        out = {n: disps[n].copy() for n in names}
        none = np.zeros((len(probes), len(self.triangles)), bool)
        ring = np.zeros(len(self.points), bool)
        ring[self.geometry.head_ring] = True
        self._relax_combinations(
            probes, none, names, list(range(len(names))), out, ring, HEAD_POSE_KEEP
        )
        left = self._composed_folds(probes, names, out, keep=HEAD_POSE_KEEP)
        if left.any():
            # Most of what is left is squeezed, not turned over (the build's margin): a
            # diagnostic. A user hears only of triangles that turn over, as a crease (each
            # also squeezed, so only those are checked again).
            squeezed = np.flatnonzero(left.any(axis=0))
            flipped = self._composed_folds(probes, names, out, tris=squeezed)
            if flipped.any():
                log.warning(
                    "talking head: this portrait's outline creases at %d of %d extreme head "
                    "turns; a photo facing the camera avoids it",
                    int(flipped.any(axis=1).sum()),
                    len(probes),
                )
            log.info(
                "avatar: %d head poses squeeze %d triangles at the head ring under %.2f of "
                "their area (%d turn over)",
                int(left.any(axis=1).sum()),
                int(left.any(axis=0).sum()),
                HEAD_POSE_KEEP,
                int(flipped.any(axis=0).sum()),
            )
        return out

    def _combined_without_folds(
        self, disps: dict[str, np.ndarray], only: str | None = None, others_first: bool = False
    ) -> _Combined:
        """The face's vertex motions (mouth) relaxed towards their neighbours' (as in
        ``_without_folds``) where a combination of them with one another and with the head's
        turns (``combination_probes``) turns a triangle over: each is fold-free alone, but a
        sliver that one flips by a fraction of a pixel another stretches past it (the
        profile portrait's lip slit: closure 0.8 flipped a 0.1 px² sliver to -0.33 px², with
        the lips spread to -0.51 px²). What the head pose folds by itself (``_without_folds``
        keeps a turned face's far-side slivers) is the head's, not the face's, to answer for.

        The mouth's shapes are checked among themselves first (few probes), then under
        every head pose (these rarely fold once the first are clean). ``only``: that motion
        alone gives way (the others as they are). ``others_first``: where the jaw is spared,
        the other motions' steps of the last resort run before the jaw's (see below).

        Returns the changed motions, how many probes still fold (if any), and of how many."""
        names = list(disps)
        face = [k for k, n in enumerate(names) if n not in HEAD_BASES]
        changed = [k for k in face if only is None or names[k] == only]
        if not changed:
            return _Combined({}, [], 0)
        probes = np.array([[p.get(n, 0.0) for n in names] for p in combination_probes(names)])
        probes = np.unique(probes, axis=0)
        is_head = np.array([n in HEAD_BASES for n in names], bool)
        poses, pose_of = np.unique(probes[:, is_head], axis=0, return_inverse=True)
        pose_probes = np.zeros((len(poses), len(names)))
        pose_probes[:, is_head] = poses
        excused = self._composed_folds(pose_probes, names, disps)[pose_of.ravel()]
        # A triangle with a fixed vertex (a turned face's outer ring can pass right by the
        # near side's nose, lips or chin: the profile portrait) folds when the face moves
        # past it however much the motions are relaxed (40 steps did not): left to the
        # warning below, not fought over at every step.
        pinned = np.asarray(np.isin(self.triangles, self.fixed).any(axis=1), bool)
        unfixable = excused | pinned[None, :]
        out = {n: d.copy() for n, d in disps.items()}
        face_only = np.where(~(probes[:, is_head] > 0).any(axis=1))[0]
        for group in (face_only, np.arange(len(probes))):
            self._relax_combinations(probes[group], unfixable[group], names, changed, out)
        left = self._composed_folds(probes, names, out, self._face_moved(face, names, out))
        left &= ~excused
        # What relaxing could not undo: first the jaw as a whole, a little (obama_midword: two
        # outer lower-lip triangles, with the jaw wide open and the lips spread or rounded by
        # 0.32, in 69 probes; one step, to 0.95, clears them). Weakened only where it folds
        # (the steps below), the jaw's seam folds the lower lip's next slivers in turn (in a
        # trial, 6 folding probes became 162 at the first such step): there the inner lower
        # lip kept 0.084 face heights of 0.2, and the tracked p95 opening fell to 0.082.
        jaw = [k for k in changed if names[k] in COMBINED_WHOLE]
        if left.any() and jaw:
            left = self._scale_whole(probes, excused, names, face, jaw, out, left)

        # Where the jaw's repairs hold its lips, the jaw (speech) is spared: the other motions
        # give way first, then the jaw's skin around its held lips.
        others = [k for k in changed if names[k] not in COMBINED_WHOLE]
        other_order = False

        def spared_then_weakened(
            held: np.ndarray, disps: dict[str, np.ndarray], left: np.ndarray
        ) -> np.ndarray:
            nonlocal other_order
            left = self._spare_the_jaw(probes, excused, names, face, jaw[0], held, disps, left)
            if left.any() and others:
                # What still folds may also be answered by the other motions' steps first,
                # past their floor in the jaw's sparing, and the jaw's only after: a probe
                # that folds may hold the jaw without the jaw being what folds it. The build
                # tries both orders (``_mouth_combined``). canonman_hooded made grey
                # (tools/weak_jaw_search.py): after the sparing 247 of 1,404 probes folded
                # three lower-lip triangles, every one under the lips rounded, with or
                # without the jaw; weakening every motion of those probes cut the jaw to 8 px
                # at 14 of 43 (0.038 face heights of 0.2), 141 probes still folding, 54 of 60
                # wide-open poses torn; the rounding weakened there first clears them all,
                # the jaw whole, 4 of 60 (and the held-out kwong_bw's jaw 0.04 -> 0.2). Not
                # always the better: astronaut_grey_small as a flat print, jittered, kept
                # 488 of 601 probes folding after the others' steps and its jaw then cut to
                # 0.070, where every motion at once cleared them all at 0.200.
                other_order = True
                if others_first:
                    left = self._weakened_where_folds(
                        probes, excused, names, face, others, disps, left
                    )
            return self._weakened_where_folds(probes, excused, names, face, changed, disps, left)

        if left.any() and jaw and self._jaw_pinned is not None and only is None:
            left = spared_then_weakened(self._jaw_pinned, out, left)
        elif left.any() and jaw and only is None and names[jaw[0]] == "jaw":
            asked = float(disps["jaw"][14] @ self.geometry.down)
            spared = {n: d.copy() for n, d in out.items()}
            plain = self._weakened_where_folds(probes, excused, names, face, changed, out, left)
            if float(out["jaw"][14] @ self.geometry.down) < JAW_LIPS_KEPT * asked:
                # The jaw's own repair kept its lips, but the last resort cut it at them: tried
                # again sparing it around its held lips first, as where its repair holds them,
                # and kept where that keeps the lips and leaves no more probes folding. The
                # print proxies (tools/weak_jaw_search.py) astronaut_grey_small ``halftone3``
                # and astronaut_grey_moustache ``print_face90`` (0.8 px, seed 3) kept 0.074
                # and 0.088 face heights of 0.2 at 14, now 0.200, 0 of 30 wide-open poses
                # torn (the second creased under 51 of 1,404 combinations, now none). Of the
                # 20 tuning portraits only the profile changes: cameraman's jaw 0.030 ->
                # 0.031 at 14, wide-open poses torn 3 -> 0 of 60.
                #
                # Kept too where it is no worse on either count: no more folds and the jaw at
                # least as open. A photographed print on a dark ground (brothers_sepia
                # printed, rolled 6 degrees, the ground in its top corner: issue 13's kwong_bw
                # kind) went in with 210 of 1,404 probes folding at the lower lip's side; the
                # plain last resort left 494 folding and the jaw 0.05 face heights at 14 of
                # 0.2, this one 86 and 0.12, and the plain one was kept for missing 0.9 of the
                # asked (tools/print_edge_jaw.py).
                kept = spared_then_weakened(self._jaw_pins(), spared, left)
                opened = float(spared["jaw"][14] @ self.geometry.down)
                plain_opened = float(out["jaw"][14] @ self.geometry.down)
                lips_kept = opened >= JAW_LIPS_KEPT * asked
                if kept.sum() <= plain.sum() and (lips_kept or opened >= plain_opened):
                    out.update(spared)
                    plain = kept
            left = plain
        else:
            left = self._weakened_where_folds(probes, excused, names, face, changed, out, left)
        creased = int(left.any(axis=1).sum())
        return _Combined(
            {names[k]: out[names[k]] for k in changed},
            [creased] if creased else [],
            len(probes),
            other_order,
        )

    def _weakened_where_folds(
        self,
        probes: np.ndarray,
        excused: np.ndarray,
        names: list[str],
        face: list[int],
        changed: list[int],
        out: dict[str, np.ndarray],
        left: np.ndarray,
    ) -> np.ndarray:
        """The last resort (in place): the face's motions weakened where a probe still folds
        (``left``, C×T), and a little around, until none does or the steps run out (the
        profile's lip corners and chin on its silhouette, where a head turn compresses the
        face). Returns what still folds."""
        for _ in range(COMBINED_SCALE_STEPS):
            if not left.any():
                break
            # Only the motions taking part in a probe that still folds, where it folds: a
            # fold of the lips' other motions need not weaken the jaw. (Weakening every face
            # motion wherever some probe folded left the profile's jaw 0.018 face heights at
            # the inner lower lip, 0.030 so; the frontal portraits' the same either way.)
            for k in changed:
                uses = probes[:, k] > 0
                tris = left[uses].any(axis=0)
                if not tris.any():
                    continue
                verts = np.unique(self.triangles[tris])
                near = np.isin(self._neighbours.src, verts)
                around = np.setdiff1d(self._neighbours.dst[near], verts)
                out[names[k]][verts] *= COMBINED_SCALE
                out[names[k]][around] *= np.sqrt(COMBINED_SCALE)
            left = self._composed_folds(probes, names, out, self._face_moved(face, names, out))
            left &= ~excused
        return left

    def _spare_the_jaw(
        self,
        probes: np.ndarray,
        excused: np.ndarray,
        names: list[str],
        face: list[int],
        jaw: int,
        held: np.ndarray,
        disps: dict[str, np.ndarray],
        left: np.ndarray,
    ) -> np.ndarray:
        """The last resort's first part where the jaw's repairs hold its lips (``held``, the
        vertices they hold: :meth:`_jaw_pins`): the jaw carries
        speech, so (in place) the other face motions taking part in a probe that still folds
        (``left``, C×T) are weakened first where it folds (as the last resort does), down to
        COMBINED_OTHERS_FLOOR; then the jaw is unfolded along its axis around its held lips
        against the probes that still fold (``_unfold_along``, each probe's other motions as
        a pose, the head's carried through where the face moved the points). Returns what
        still folds (for the last resort's steps). On the canonical face turned 35° and 40°
        weakening every motion taking part, where it folded, left the jaw 0.061 and 0.097
        face heights of 0.19 at the lips: its seams folded the lower lip's next slivers in
        turn, lip closure and smile on the jaw folded far-side lip and chin slivers."""
        others = [k for k in face if k != jaw]
        kept = {k: np.ones(len(self.points)) for k in others}
        for _ in range(COMBINED_SCALE_STEPS):
            weakened = False
            for k in others:
                uses = probes[:, k] > 0
                tris = left[uses].any(axis=0)
                # (Only where the motion moves the triangle and still holds its share.)
                tris &= (np.abs(disps[names[k]]).max(axis=1) > 0)[self.triangles].any(axis=1)
                tris &= kept[k][self.triangles].min(axis=1) > COMBINED_OTHERS_FLOOR
                if not tris.any():
                    continue
                verts = np.unique(self.triangles[tris])
                near = np.isin(self._neighbours.src, verts)
                around = np.setdiff1d(self._neighbours.dst[near], verts)
                for where, f in ((verts, COMBINED_SCALE), (around, np.sqrt(COMBINED_SCALE))):
                    disps[names[k]][where] *= f
                    kept[k][where] *= f
                weakened = True
            if not weakened:
                break
            left = self._composed_folds(probes, names, disps, self._face_moved(face, names, disps))
            left &= ~excused
            if not left.any():
                return left
        d = disps[names[jaw]]
        norms = np.linalg.norm(d, axis=1)
        if norms.max() <= 0.0:
            return left
        axis = d[int(np.argmax(norms))] / norms.max()
        amount = d @ axis
        if np.abs(d - amount[:, None] * axis[None, :]).max() > 1e-6:
            return left  # (not along one axis: left to the last resort's steps)
        movable = ~held
        movable[self.fixed] = False
        sel = self._face_moved([jaw], names, disps)
        rows = np.zeros(len(probes), bool)
        best = left
        for _ in range(COMBINED_SPARED_ROUNDS):
            rows |= left.any(axis=1) & (probes[:, jaw] > 0)
            if not rows.any():
                break
            idx = np.where(rows)[0]
            poses = self._composed_points(probes[idx], names, disps) - self.points[None]
            w = probes[idx, jaw]
            poses -= w[:, None, None] * d[None]
            got = _unfold_along(
                self.points, self.triangles[sel], amount, axis, movable, list(poses), list(w)
            )
            trial = {**disps, names[jaw]: got[:, None] * axis[None, :]}
            now = self._composed_folds(probes, names, trial, self._face_moved(face, names, trial))
            now &= ~excused
            if now.sum() >= best.sum():
                break
            best = now
            disps[names[jaw]] = trial[names[jaw]]
            d, amount, left = disps[names[jaw]], got, now
            if not left.any():
                break
        return best

    def _composed_points(
        self, probes: np.ndarray, names: list[str], disps: dict[str, np.ndarray]
    ) -> np.ndarray:
        """C×N×2: every vertex under each probe (C×B weights over ``names``), composed as
        ``_composed_folds`` composes them (face motions first, the head's carried through
        the rest mesh)."""
        face = [k for k, n in enumerate(names) if n not in HEAD_BASES]
        head = [k for k, n in enumerate(names) if n in HEAD_BASES]
        stack = np.stack([disps[n] for n in names])
        pts = self.points[None] + np.einsum("cb,bnd->cnd", probes[:, face], stack[face])
        if head:
            c, n = pts.shape[:2]
            tri, bary = self.locate(pts.reshape(-1, 2))
            hd = np.einsum("cb,bnd->cnd", probes[:, head], stack[head])
            corners = self.triangles[tri].reshape(c, n, 3)
            moved_at = hd[np.arange(c)[:, None, None], corners]
            pts = pts + np.einsum("cnk,cnkd->cnd", bary.reshape(c, n, 3), moved_at)
        return pts

    def _scale_whole(
        self,
        probes: np.ndarray,
        excused: np.ndarray,
        names: list[str],
        face: list[int],
        scaled: list[int],
        disps: dict[str, np.ndarray],
        left: np.ndarray,
    ) -> np.ndarray:
        """Scale, in place, the motions of ``scaled`` (column indices) that take part in a
        probe still folding (``left``, C×T) as a whole by COMBINED_SCALE, step by step down to
        COMBINED_WHOLE_MIN, until no probe folds; if that does not clear every fold they are
        left as they were. Returns what still folds. (Only the probes still folding are
        checked between steps, all of them once those are clean: on the profile, where this
        does not help, the build took a median 3.6 s against 3.4 s without it, alternated at
        load 4.3 on 2 cores; obama_midword's 1.2 s against 3.1 s, the 48 steps below saved.)"""
        saved = {k: disps[names[k]].copy() for k in scaled}
        rows = np.where(left.any(axis=1))[0]
        factor = 1.0
        while len(rows) and factor * COMBINED_SCALE >= COMBINED_WHOLE_MIN - 1e-9:
            part = [k for k in scaled if (probes[rows, k] > 0).any()]
            if not part:
                break
            factor *= COMBINED_SCALE
            for k in part:
                disps[names[k]] *= COMBINED_SCALE
            moved = self._face_moved(face, names, disps)
            still = self._composed_folds(probes[rows], names, disps, moved) & ~excused[rows]
            if still.any():
                rows = rows[still.any(axis=1)]
                continue
            now = self._composed_folds(probes, names, disps, moved) & ~excused
            if not now.any():
                return now
            rows = np.where(now.any(axis=1))[0]
        for k, d in saved.items():
            disps[names[k]][:] = d
        return left

    def _face_moved(
        self, relaxed: list[int], names: list[str], disps: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Triangles with a vertex that a face motion moves: elsewhere a combination is the
        head pose alone (the only ones the composed folds can differ at)."""
        moving = np.zeros(len(self.points), bool)
        for k in relaxed:
            moving |= np.abs(disps[names[k]]).max(axis=1) > 0
        return np.where(moving[self.triangles].any(axis=1))[0]

    def _relax_combinations(
        self,
        probes: np.ndarray,
        excused: np.ndarray,
        names: list[str],
        relaxed: list[int],
        disps: dict[str, np.ndarray],
        movable: np.ndarray | None = None,
        keep: float = 0.0,
    ) -> None:
        """Relax, in place, each motion (of ``relaxed``, column indices) that takes part in a
        probe that folds, at the vertices of the triangles it folds (their neighbourhood too
        when that is stubborn; ``movable``: only these vertices). Every probe is checked
        again after each pass."""
        if movable is None:
            movable = np.ones(len(self.points), bool)
        movable = movable.copy()
        movable[self.fixed] = False
        for _ in range(COMBINED_RELAX_PASSES):
            sel = self._face_moved(relaxed, names, disps)
            folded = self._composed_folds(probes, names, disps, sel, keep) & ~excused
            active = np.where(folded.any(axis=1))[0]
            if len(active) == 0:
                return
            counts: list[int] = []
            for step in range(COMBINED_RELAX_STEPS):
                if step:
                    folded_a = self._composed_folds(probes[active], names, disps, sel, keep)
                    folded_a &= ~excused[active]
                else:
                    folded_a = folded[active]
                counts.append(int(folded_a.sum()))
                # Done, or stuck (no fewer folds in the last steps): the next pass looks again.
                if counts[-1] == 0 or (
                    len(counts) > COMBINED_STALL_STEPS
                    and counts[-1] >= counts[-1 - COMBINED_STALL_STEPS]
                ):
                    break
                for col in relaxed:
                    uses = probes[active, col] > 0
                    tris = np.where(folded_a[uses].any(axis=0))[0]
                    if len(tris) == 0:
                        continue
                    verts = np.unique(self.triangles[tris])
                    if step >= COMBINED_RELAX_STEPS // 2:
                        near = np.isin(self._neighbours.src, verts)
                        verts = np.union1d(verts, self._neighbours.dst[near])
                    verts = verts[movable[verts]]
                    if names[col] == "jaw" and self._jaw_still is not None:
                        # The jaw's lips stay; the rest gives way (relaxing them too left
                        # astronaut_turned_far's 14 at 0.14 face heights, 13 dragged 8.5 px;
                        # where only the upper lip stays: _jaw_upper_still).
                        verts = verts[~self._jaw_still[verts]]
                    d = disps[names[col]]
                    avg = self._neighbours @ d
                    d[verts] = 0.5 * d[verts] + 0.5 * avg[verts]

    def folds(
        self, disp: np.ndarray, tolerance: float = 0.0, min_area: float = FOLD_AREA_PX
    ) -> np.ndarray:
        """Indices of triangles that ``disp`` turns over by more than ``tolerance`` px²."""
        rest = self._rest_areas
        moved = signed_areas(self.points + disp, self.triangles)
        # Slivers (coincident silhouette landmarks) may flip within a fraction of a pixel: only
        # folds that cover at least half a pixel count.
        big = np.maximum(np.abs(rest), np.abs(moved)) > min_area
        flipped = (np.sign(moved) != np.sign(rest)) & (np.abs(moved) > tolerance)
        return np.where(big & flipped)[0]

    def _pinned_without_folds(self, disp: np.ndarray, pinned: np.ndarray) -> np.ndarray | None:
        """Remove fold-overs of a motion along one axis (the jaw) keeping the ``pinned``
        vertices at their asked displacement: the skin around them gives way
        (``_unfold_along``). None: not along one axis, or it still folds."""
        norms = np.linalg.norm(disp, axis=1)
        if norms.max() <= 0.0:
            return None
        axis = disp[int(np.argmax(norms))] / norms.max()
        amount = disp @ axis
        if np.abs(disp - amount[:, None] * axis[None, :]).max() > 1e-6:
            return None
        movable = ~pinned
        movable[self.fixed] = False
        # First alone (one mesh, fast): where even that leaves folds (the profile, its lower
        # lip on the silhouette) the 80 posed meshes are not tried (they cost cameraman's
        # build about 2 s).
        alone = _unfold_along(self.points, self.triangles, amount, axis, movable, [])
        if len(self.folds(alone[:, None] * axis[None, :])):
            return None
        # Checked under what the animator adds to the wide-open jaw: each head pose, with the
        # lips rounded or spread as far as ``mouth_weights`` lets them then.
        g = self.geometry
        lips = [np.zeros_like(self.points)]
        for width in (-1.0, 1.0):
            for shape, w in mouth_weights(1.0, 0.0, width).items():
                if shape in ("spread", "round") and w > 0 and shape in BASES.names():
                    lips.append(w * BASES.get(shape)(g))
        poses = []
        amp = g.amplitudes
        for yaw, pitch, roll in product((-1.0, 0.0, 1.0), repeat=3):
            head = _rotate_head(g, yaw * amp["yaw"], pitch * amp["pitch"], roll * amp["roll"])
            head[self.fixed] = 0.0
            poses += [head + lip for lip in lips]
        poses = [q for q in poses if np.abs(q).max() > 0]  # (the rest mesh: checked anyway)
        got = _unfold_along(self.points, self.triangles, amount, axis, movable, poses)
        out = got[:, None] * axis[None, :]
        return out if len(self.folds(out)) == 0 else None

    def _without_folds(self, name: str, disp: np.ndarray) -> np.ndarray:
        """Remove fold-overs (they would tear the picture): relax the displacement of the
        vertices of turned-over triangles towards their neighbours' (where the face's far side
        would be hidden by a turn, the skin is compressed instead), then, as a last resort,
        scale the basis down."""
        disp = disp.copy()
        movable = np.ones(len(disp), bool)
        movable[self.fixed] = False
        for it in range(FOLD_RELAX_STEPS):
            flipped = self.folds(disp)
            if len(flipped) == 0:
                return disp
            verts = np.unique(self.triangles[flipped])
            if it >= FOLD_RELAX_STEPS // 3:
                # Stubborn folds (a turned face's far side, where landmarks crowd): relax
                # their whole neighbourhood too.
                near = np.isin(self._neighbours.src, verts)
                verts = np.union1d(verts, self._neighbours.dst[near])
            verts = verts[movable[verts]]
            avg = self._neighbours @ disp
            disp[verts] = 0.5 * disp[verts] + 0.5 * avg[verts]
        full = disp.copy()
        for _ in range(8):
            if len(self.folds(disp)) == 0:
                return disp
            disp = disp * 0.75
        # A turned face's far side crowds its landmarks into slivers that flip at any scale.
        # Keep the motion as strong as possible where only such slivers (a few pixels each)
        # flip: leaving the jaw out would leave the mouth shut.
        for scale in (0.75, 0.5, 0.35, 0.25):
            if len(self.folds(scale * full, min_area=SLIVER_AREA_PX)) == 0:
                log.info("avatar basis %s turns over slivers here; kept at %.2f", name, scale)
                return scale * full
        log.warning(
            "talking head: this portrait's face creases under its %s motion; that motion is "
            "left out",
            name,
        )
        return np.zeros_like(disp)

    def mix(self, weights: dict[str, float]) -> dict[str, float]:
        """The bases' weights for ``weights``: the jaw's shared with its wide-open shape where
        this rig has one (:func:`jaw_split`), and, where together they would fold the mesh,
        the motions that fold it weakened until none does (:data:`FOLD_GUARD_PX2`). The
        renderer and :meth:`vertices` both take their weights from here."""
        mixed = jaw_split(weights, JAW_WIDE in self.bases)
        key = tuple(mixed.items())
        last = self._last_mix
        if last is not None and last[0] == key:
            return dict(last[1])  # the renderer asks up to three times a frame
        kept = self._unfolded(mixed)
        self._last_mix = (key, kept)
        return dict(kept)

    def vertices(self, weights: dict[str, float], guarded: bool = True) -> np.ndarray:
        """Vertex positions for basis weights (forward): the face's own motions, then the head
        turn carried through the mesh to wherever they moved the vertices. ``guarded``: as
        rendered (:meth:`mix`); False: the motions at the asked weights, even where they fold
        (how the build itself composes)."""
        if guarded:
            return self._composed(self.mix(weights))
        return self._composed(jaw_split(weights, JAW_WIDE in self.bases))

    def unfolded_share(self, weights: dict[str, float]) -> float:
        """How much of the face's motions :meth:`mix` keeps for ``weights`` (1.0: all; less
        where they would fold the mesh): the smallest kept share of any motion."""
        mixed = jaw_split(weights, JAW_WIDE in self.bases)
        kept = self.mix(weights)
        shares = [kept[n] / w for n, w in mixed.items() if w > 0.0 and n in kept]
        return float(min(shares, default=1.0))

    def _composed(self, mixed: dict[str, float]) -> np.ndarray:
        pts = self.points.copy()
        head = np.zeros_like(pts)
        turned = False
        for name, w in mixed.items():
            basis = self.bases.get(name)
            if basis is None or not w:
                continue
            if name in HEAD_BASES:
                head += w * basis.vertex_disp
                turned = True
            else:
                pts += w * basis.vertex_disp
        if not turned:
            return pts
        # A vertex the face's motions leave at rest turns with its own displacement; only the
        # ones they can move are located in the rest mesh (a third of the cost a frame).
        moved = self._face_vertices()
        head[moved] = self.head_displacement(pts[moved], mixed)
        return pts + head

    def _face_vertices(self) -> np.ndarray:
        """Indices of the vertices some face motion (not a head turn) moves."""
        if self._face_moved_at is None:
            any_moved = np.zeros(len(self.points), bool)
            for name, basis in self.bases.items():
                if name not in HEAD_BASES:
                    any_moved |= np.abs(basis.vertex_disp).max(axis=1) > 0.0
            self._face_moved_at = np.flatnonzero(any_moved)
        return self._face_moved_at

    def _folded(self, mixed: dict[str, float]) -> np.ndarray:
        moved = signed_areas(self._composed(mixed), self.triangles)
        rest = self._rest_areas
        big = np.maximum(np.abs(rest), np.abs(moved)) > FOLD_AREA_PX
        return np.flatnonzero(big & (moved * rest < 0.0) & (np.abs(moved) > FOLD_GUARD_PX2))

    def _unfolded(self, mixed: dict[str, float]) -> dict[str, float]:
        """``mixed``, or where it folds the mesh, with a share of the motions that move the
        mesh: the face's own (the mouth's; the lids and the gaze move no vertex and are left
        whole) together, or where the head's pose folds by itself (the profile's outline),
        the head's too. The share is the largest that folds nothing (bisection; the ray from
        none to all may fold and unfold more than once, but the kept share folds nothing),
        and the same one for all of them, so a guarded pose moves on continuously."""
        if not len(self._folded(mixed)):
            return mixed
        moving = {
            n
            for n, w in mixed.items()
            if w and n in self.bases and np.abs(self.bases[n].vertex_disp).max() > 0.0
        }
        face = {n for n in moving if n not in HEAD_BASES}
        for weakened in (face, moving):

            def at(share: float, weakened: set[str] = weakened) -> dict[str, float]:
                return {n: w * share if n in weakened else w for n, w in mixed.items()}

            if not weakened or len(self._folded(at(0.0))):
                continue
            low, high = 0.0, 1.0
            for _ in range(FOLD_GUARD_STEPS):
                mid = 0.5 * (low + high)
                if len(self._folded(at(mid))):
                    high = mid
                else:
                    low = mid
            return at(low)
        return mixed

    def head_displacement(self, pts: np.ndarray, weights: dict[str, float]) -> np.ndarray:
        """Forward displacement of the head turns at arbitrary points (piecewise linear over
        the rest mesh, as the rendered fields are)."""
        head = [
            (self.bases[n], w)
            for n, w in weights.items()
            if n in HEAD_BASES and w and n in self.bases
        ]
        if not head:
            return np.zeros_like(pts)
        tri, bary = self.locate(pts)
        # Only the located triangles' corners are needed, not every vertex's displacement.
        corners = self.triangles[tri]
        disp = head[0][1] * head[0][0].vertex_disp[corners].astype(np.float64)
        for b, w in head[1:]:
            disp += w * b.vertex_disp[corners]
        return np.einsum("nk,nkd->nd", bary, disp)

    def locate(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(triangle index, barycentric weights N×3) of points in the rest mesh (points
        outside the picture are clamped to it)."""
        if self._tri_lookup is None:
            w, h = self.size
            index = np.full((h, w), -1, np.int32)
            for k, tri in enumerate(self.triangles):
                poly = np.round(self.points[tri] * 16).astype(np.int32)
                cv2.fillConvexPoly(index, poly, k, lineType=cv2.LINE_8, shift=4)
            # Each triangle's first corner, its two edges from it and their cross product,
            # once: a point's barycentrics then gather 4 rows, not 6 (the same arithmetic, so
            # the same bits; a build locates ~300,000 points per combination check).
            a, b, c = (self.points[self.triangles[:, k]] for k in range(3))
            v0, v1 = b - a, c - a
            den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
            den = np.where(np.abs(den) > 1e-9, den, 1.0)
            self._tri_lookup = (index, a, v0, v1, den)
        index, corner, edge0, edge1, cross = self._tri_lookup
        h, w = index.shape
        xi = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
        yi = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
        tri = index[yi, xi]
        tri = np.where(tri < 0, 0, tri)
        v0, v1, den = edge0[tri], edge1[tri], cross[tri]
        v2 = pts - corner[tri]
        l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
        l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
        return tri, np.stack([1.0 - l1 - l2, l1, l2], axis=1)
