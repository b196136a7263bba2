"""The ``key_light`` stage: a virtual soft key light, a fill, and a face evened out.

Per frame, on a grid an eighth of the frame's size:

1. Normals. The face's come from the canonical face mesh (its vertex normals turned by the
   tracked head pose) splatted at the tracked landmarks and spread by normalised convolution;
   the rest of the person's (hair, neck, shoulders, the outline) from the person mask, inflated
   like a cushion: flat facing the camera inside, turning outwards at the edge. The two blend
   smoothly where the face ends.
2. The light on the face now. The log luminance at the skin landmarks is fitted as
   ``a + g · n`` over their normals: ``g`` is how much brighter the face is on one side than
   the other (a window beside you). It is smoothed over time.
3. The gain. ``exp(-balance · g · n)`` takes that side light out again; a soft key (wrapped
   Lambert, ``direction``, ``strength``, tinted by ``temperature``) and a fill from the other
   side add light the way a softbox would.
4. The gain is sampled up to the person's box and weighed by the frame-size person mask, so the
   background is never lit and there is no halo beyond the mask's own soft edge.

Speed (the issue's budget is 3 ms per 720p frame): everything per cell is worked out on the
person's box only; the normals and face coordinates are kept from frame to frame while the
face and the mask stand still (:data:`REUSE_MOVE_CELLS`, :data:`REUSE_MASK_CHANGE`), and with
them the key's and fill's share of the gain; the upsampled gain is reused while the 8-bit grid
stays within :data:`REUSE_GAIN_LEVELS` of the one upsampled; the grid is made in 8-bit fixed
point by OpenCV. With Numba (the ``jit`` extra) the gain is applied in one compiled pass
(:func:`pipelines.segmentation.fused.apply_gain`: the frame copied, the gain upsampled along
y inline, the person's tiles lit, the outline's blended) where the OpenCV path made a copy, a
frame-size gain, ~70 multiplies and ~40 blends of 4 calls each, every call a dispatch and a
pass over memory; without it that OpenCV path runs (within 3 levels, PSNR ≥ 40 dB). That
took the stage from 5.6-7.1 to 2.6-2.8 ms replayed at a camera's pace (load 8-11), but
`camfx bench --preset presenter` on the quiet machine still gave 3.5-3.7 ms (2026-12-03).

Since (2026-12-03), with Numba: the outline is lit by the refined mask's detail level (half
size at 720p) and its tile map, sampled as the full-size mask would be (:func:`_person_mask`,
:func:`grid_mask`): the background blur never makes the full-size mask, and making it for this
stage alone was a 3.7 MB resize and ~900 page faults a frame; the side light's fit is one
compiled call (:func:`pipelines.segmentation.fused.skin_fit`) where it was about twenty NumPy
calls; and when the shape is worked out afresh, the face normals only around the landmarks,
the cells' face coordinates as row and column terms. The same picture (replayed: PSNR ≥ 93
dB against the stage before, at most 2 levels on a few pixels). Measured on the moving 720p
presenter demo, 90 frames captured from the chain before the stage and replayed alternately
against the stage before (1f63b92), OpenCV on one thread as in the engine, at a camera's
pace (33 ms sleeps), medians of 5 alternated rounds on the shared 2-core machine (load
1.3-1.9): wall 6.1 → 2.9 ms a frame (0.47×), thread CPU 5.8 → 2.8 ms (0.49×). `camfx bench
--preset presenter --frames 300` (the stage's median at 30 fps), alternated in two sessions
of 4 rounds each: 5.2 → 3.4 ms (load 2.0-3.5) and 4.2 → 2.8 ms (load 1.2-2.5), 0.66-0.67×
(pairs 0.49-1.07: the shared machine's noise); the quiet machine's 3.5-3.7 ms would be
about 2.4 ms.
What is left: the compiled pass (1.3-1.4 ms at pace, ~300k lit and ~125k blended pixels with
the frame's copy; 0.56 ms with warm caches) and, on the 45 % of the demo's frames where the
face has moved a quarter cell, the shape (~1.4 ms at pace: the cushion's blur, the normals).

Without a tracked face the frame passes through; without a segmentation stage the light
reaches only the face and a soft margin around it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from functools import cache
from typing import Annotated, Literal

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import FrameContext
from pipelines.segmentation import fused
from pipelines.segmentation.refine import RefinedMask
from pipelines.segmentation.tiles import TileMap, tiles_for
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking import regions
from pipelines.tracking.types import Face

GRID_DIVISOR = 8
"""The gain is worked out on a grid this many times smaller than the frame."""
FACE_SPREAD = 1.6
"""Sigma (grid cells) of the normalised convolution that spreads the landmark normals."""
CUSHION_SIGMA = 0.06
"""Sigma, as a fraction of the grid's width, of the blur that inflates the person mask..."""
CUSHION_SLOPE = 6.0
"""...and how steeply its normals turn outwards at the edge."""
WRAP = 0.6
"""Wrapped Lambert: light reaches this far past the terminator, as a large soft source does."""
KEY_ELEVATION_DEG = 25.0
KEY_AZIMUTH_DEG = 50.0
"""The key light stands this far to the side of the camera axis (left/right) and this high."""
FILL_SHARE = 0.5
"""The fill comes from the mirrored side, at most this share of the key."""
GRADIENT_LIMIT = 1.5
"""The fitted side light is clamped (log units per face width): a face half in deep shadow is
lifted, not turned into a flat mask."""
COORDINATE_LIMIT = 0.8
"""Beyond this many face widths from the face's centre the evening holds its value: a side
light's gradient is measured on the face, and the shoulders only share it nearby."""
GAIN_ONE = 128
"""Fixed-point scale of the 8-bit gain: 128 is a gain of 1, 255 the largest (1.99)."""
GAIN_RANGE = (0.5, 255 / GAIN_ONE)
GAIN_LOW_FIXED = round(GAIN_RANGE[0] * GAIN_ONE)
REUSE_GAIN_LEVELS = 1
"""The frame-size gain is upsampled afresh only when a cell of the 8-bit grid has moved more
than this many levels (1/GAIN_ONE each, 0.8 %) from the grid it was upsampled from: on a still
face the fitted side light's noise moves cells by one level from frame to frame (measured on
the demo portrait: the largest change 1 level on 59 of 59 frames), which no one can see, and
the upsampling was 0.3-0.5 ms of the stage's 3.5-3.8 ms at 720p."""
ADAPT_S = 0.3
"""Time constant of the fitted side light's smoothing (capture seconds)."""
RESET_GAP_S = 1.0
MIN_SKIN_POINTS = 40
LUMA_BGR = np.array([0.114, 0.587, 0.299])
FACE_MARGIN = 0.35
"""Without a person mask the light reaches this fraction of the face size past the face."""

# Skin landmarks for the fit: the mesh without the eyes, brows, lips and nostrils, whose
# brightness is not the skin's.
_NOT_SKIN = (
    regions.LEFT_EYE + regions.RIGHT_EYE + regions.LEFT_BROW + regions.RIGHT_BROW
    + regions.LIPS_OUTER + regions.LIPS_INNER
)  # fmt: skip


@cache
def canonical_normals() -> np.ndarray:
    """468×3 unit vertex normals of the canonical face (x right, y up, z toward the camera)."""
    from pipelines.tracking.geometry import canonical_face

    face = canonical_face()
    v = face.vertices[: regions.NUM_MESH_LANDMARKS]
    tris = face.triangles[(face.triangles < regions.NUM_MESH_LANDMARKS).all(axis=1)]
    n = np.cross(v[tris[:, 1]] - v[tris[:, 0]], v[tris[:, 2]] - v[tris[:, 0]])
    acc = np.zeros_like(v)
    for k in range(3):
        np.add.at(acc, tris[:, k], n)
    # Orient outwards: the nose tip (landmark 1) faces the camera.
    if acc[1, 2] < 0:
        acc = -acc
    out: np.ndarray = acc / np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-9)
    out.flags.writeable = False
    return out


@cache
def skin_points() -> np.ndarray:
    not_skin = set(_NOT_SKIN)
    # Also leave out a ring around each region: lashes and lip edges darken their neighbours.
    ids = [i for i in range(regions.NUM_MESH_LANDMARKS) if i not in not_skin]
    return np.asarray(ids, np.int64)


def kelvin_tint(kelvin: float) -> np.ndarray:
    """B, G, R multipliers (green = 1) of a light of colour temperature ``kelvin`` against a
    5500 K white; Tanner Helland's fit of the blackbody locus, good to a few percent."""

    def rgb(k: float) -> np.ndarray:
        t = k / 100.0
        r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
        g = (
            99.4708025861 * math.log(t) - 161.1195681661
            if t <= 66
            else (288.1221695283 * (t - 60) ** -0.0755148492)
        )
        b = (
            255.0
            if t >= 66
            else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
        )
        return np.clip(np.array([b, g, r]), 1.0, 255.0)

    c = rgb(kelvin) / rgb(5500.0)
    out: np.ndarray = c / c[1]
    return out


Direction = Literal["auto", "left", "right", "front", "above"]


@dataclasses.dataclass(frozen=True)
class KeyLightSettings(StageSettings):
    strength: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.35
    """How much light the key adds on the side it comes from (0 = no key, only evening)."""
    direction: Direction = "auto"
    """Where the key stands, seen from the camera; "auto": on the darker side of your face."""
    balance: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.8
    """Share of the light difference across your face (a window to one side) taken out."""
    fill: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.4
    """Soft light from the other side, as a share of the key's (lifts the shadows)."""
    temperature: Annotated[float, Meta(ge=2700.0, le=6500.0)] = 5000.0
    """The key's colour in kelvin: 2700 warm as a bulb, 5500 white, 6500 cool daylight."""


@dataclasses.dataclass
class LightFit:
    gradient: np.ndarray
    """(gu, gv): log luminance per face width along the face's right (as the image shows it)
    and down axes."""
    level: float
    """Mean log luminance of the skin."""


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The face's own axes in the image: centre, unit "right" (from the subject's right eye
    corner to the left's, as the image shows them), unit "down", and the face's width."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    right = lm[263] - lm[33]
    right /= max(float(np.linalg.norm(right)), 1e-6)
    down = np.array([-right[1], right[0]])
    centre = lm[: regions.NUM_MESH_LANDMARKS].mean(axis=0)
    width = max(float(np.linalg.norm(lm[454] - lm[234])), 1.0)
    return centre, right, down, width


def face_coordinates(
    points: np.ndarray, frame: tuple[np.ndarray, np.ndarray, np.ndarray, float]
) -> np.ndarray:
    """(u, v) of image ``points`` in face widths from the face's centre, along its axes,
    held at ±:data:`COORDINATE_LIMIT` beyond the face."""
    centre, right, down, width = frame
    rel = points - centre
    uv = np.stack([rel @ right, rel @ down], axis=-1) / width
    out: np.ndarray = np.clip(uv, -COORDINATE_LIMIT, COORDINATE_LIMIT)
    return out


_QUAD_DY = np.array([0, 0, 1, 1])
_QUAD_DX = np.array([0, 1, 0, 1])
_QUAD_LUMA = np.tile(LUMA_BGR / (4.0 * 255.0), 4).astype(np.float32)
"""Weights of the 2×2 pixels' 12 B, G, R values in their mean luminance."""


def skin_luma(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luminance (0..1) of ``image`` (BGR uint8) at ``points`` (N×2 pixels), each the mean of
    the 2×2 pixels around it, and which points lie inside the frame."""
    h, w = image.shape[:2]
    inside = (
        (points[:, 0] >= 0) & (points[:, 0] < w - 1) & (points[:, 1] >= 0) & (points[:, 1] < h - 1)
    )
    x = np.clip(points[:, 0].astype(np.int64), 0, w - 2)
    y = np.clip(points[:, 1].astype(np.int64), 0, h - 2)
    # One gather of the 2×2 pixels (four separate ones and their sums took twice as long).
    quad = image[y[:, None] + _QUAD_DY, x[:, None] + _QUAD_DX]
    luma: np.ndarray = quad.reshape(len(points), 12) @ _QUAD_LUMA
    return luma, inside


def fit_side_light(luma: np.ndarray, uv: np.ndarray) -> LightFit | None:
    """Least-squares ``log Y = a + gu·u + gv·v`` over skin points (their luminance in 0..1 and
    their face coordinates). Skin has one colour: what changes across it smoothly is the
    light."""
    if len(luma) < MIN_SKIN_POINTS:
        return None
    values = np.log(np.maximum(luma, 1.0 / 255.0)).astype(np.float64)
    design = np.column_stack([np.ones(len(luma)), uv[:, 0], uv[:, 1]])

    def solve(rows: np.ndarray) -> np.ndarray | None:
        d = design[rows]
        try:
            out: np.ndarray = np.linalg.solve(d.T @ d, d.T @ values[rows])
        except np.linalg.LinAlgError:
            return None
        return out

    coef = solve(np.ones(len(luma), bool))
    if coef is None:
        return None
    # One robust round: points far off the plane (a highlight, a strand of hair) are dropped.
    resid = values - design @ coef
    spread = 2.5 * float(np.median(np.abs(resid))) + 1e-3
    good = np.abs(resid) <= spread
    if int(good.sum()) >= MIN_SKIN_POINTS:
        refined = solve(good)
        coef = refined if refined is not None else coef
    g = np.clip(coef[1:], -GRADIENT_LIMIT, GRADIENT_LIMIT)
    return LightFit(g.astype(np.float64), float(coef[0]))


def _fit_skin(
    image: np.ndarray, skin: np.ndarray, frame: tuple[np.ndarray, np.ndarray, np.ndarray, float]
) -> LightFit | None:
    """:func:`fit_side_light` on the luminance and face coordinates of the ``skin`` points
    inside ``image``: compiled in one call where it can be (:func:`fused.skin_fit`, the same
    fit to float rounding), else by NumPy."""
    if fused.ready() and image.flags.c_contiguous:
        centre, right, down, width = frame
        coef = fused.skin_fit(image, skin, _QUAD_LUMA,
                              np.array([*centre, *right, *down, width], np.float64),
                              COORDINATE_LIMIT, MIN_SKIN_POINTS)  # fmt: skip
        if coef is None:
            return None
        g = np.clip(coef[1:], -GRADIENT_LIMIT, GRADIENT_LIMIT)
        return LightFit(g, float(coef[0]))
    luma, inside = skin_luma(image, skin)
    return fit_side_light(luma[inside], face_coordinates(skin[inside], frame))


def face_normals_camera(face: Face) -> np.ndarray:
    """468×3 normals of ``face``'s mesh in camera space (x right, y up, z toward the camera)."""
    pose = face.pose
    n = canonical_normals()
    if pose is None:
        return n.copy()
    rot = np.asarray(pose.transform, np.float64)[:3, :3]
    rot = rot / np.linalg.norm(rot[:, 0])
    out: np.ndarray = n @ rot.T
    return out


def light_vector(direction: str, brighter_right: float) -> np.ndarray:
    """Unit vector toward the key (camera space, x toward the image's right).
    ``brighter_right`` > 0 when the face is brighter on the image's right: "auto" then puts the
    key on the left, the darker side."""
    el = math.radians(KEY_ELEVATION_DEG)
    az = math.radians(KEY_AZIMUTH_DEG)
    if direction == "front":
        az = 0.0
    elif direction == "above":
        el, az = math.radians(55.0), 0.0
    elif direction == "left":
        az = -az
    elif direction == "auto":
        az = -az if brighter_right > 0 else az
    v = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    out: np.ndarray = v / np.linalg.norm(v)
    return out


def _wrapped(cos: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip((cos + WRAP) / (1.0 + WRAP), 0.0, 1.0)
    return out


def sample_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)``: where the frame is a whole
    number of cells (720p, 1080p) that is every :data:`GRID_DIVISOR`-th pixel from the first,
    which a strided copy takes in a tenth of the time (OpenCV's resize spread the 160×90
    samples over its worker threads: 0.13 ms, load 10)."""
    gw, gh = size
    h, w = mask.shape[:2]
    if (w, h) == (gw * GRID_DIVISOR, gh * GRID_DIVISOR):
        return np.ascontiguousarray(mask[::GRID_DIVISOR, ::GRID_DIVISOR])
    out: np.ndarray = cv2.resize(mask, (gw, gh), interpolation=cv2.INTER_NEAREST)
    return out


@functools.lru_cache(maxsize=4)
def _grid_taps(
    grid: tuple[int, int], frame: tuple[int, int], small: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Where in a ``small`` mask (x and y maps for ``cv2.remap``) each grid cell's pixel lies,
    the one :func:`sample_nearest` takes from the frame-size mask, as ``cv2.resize`` would
    map it (read-only; one pair per size)."""
    (gw, gh), (w, h), (mw, mh) = grid, frame, small
    # cv2.resize(INTER_NEAREST)'s picks: floor(i · w / gw) (every 8th pixel at 720p)...
    xs = np.minimum(np.floor(np.arange(gw) * (w / gw)), w - 1)
    ys = np.minimum(np.floor(np.arange(gh) * (h / gh)), h - 1)
    # ...and where cv2.resize(INTER_LINEAR) samples the small mask for them (half-pixel
    # centres, held at the edges).
    sx = np.clip((xs + 0.5) * (mw / w) - 0.5, 0.0, mw - 1).astype(np.float32)
    sy = np.clip((ys + 0.5) * (mh / h) - 0.5, 0.0, mh - 1).astype(np.float32)
    map_x, map_y = (np.ascontiguousarray(a) for a in np.meshgrid(sx, sy))
    for arr in (map_x, map_y):
        arr.flags.writeable = False
    return map_x, map_y


def grid_mask(mask: np.ndarray, grid: tuple[int, int], frame: tuple[int, int]) -> np.ndarray:
    """The person mask on the grid: :func:`sample_nearest` of the frame-size mask, taken
    from ``mask`` itself when it is that, else from a smaller copy (the refined mask's
    detail level) as the frame-size one would have it: making the frame-size mask only to
    read every 64th pixel and the outline's was 0.55-0.7 ms of the stage's 4 (720p, CPU
    time, moving demo replayed, load 5). One ``cv2.remap`` (0.03 ms; gathering the taps in
    NumPy took 0.14): its weights are in 1/32 steps, exact for the half-size detail level
    at 720p and 1080p (a quarter and three quarters), within 1/64 of the neighbours'
    difference elsewhere."""
    w, h = frame
    if mask.shape == (h, w):
        return sample_nearest(mask, grid)
    map_x, map_y = _grid_taps(grid, frame, mask.shape[::-1])
    out: np.ndarray = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out


def _reach_box(
    reach: np.ndarray, px: np.ndarray, py: np.ndarray, size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) grid box around the ``reach`` cells and the face's cells (``px``,
    ``py``), with room for the face normals' spread; empty when there is no person."""
    gw, gh = size
    ys, xs = np.nonzero(reach)
    if len(xs) == 0:
        return 0, 0, 0, 0
    pad = math.ceil(4 * FACE_SPREAD)
    x0 = max(0, min(int(xs.min()), int(px.min()) - pad))
    y0 = max(0, min(int(ys.min()), int(py.min()) - pad))
    x1 = min(gw, max(int(xs.max()) + 1, int(px.max()) + 1 + pad))
    y1 = min(gh, max(int(ys.max()) + 1, int(py.max()) + 1 + pad))
    return x0, y0, x1, y1


def _face_normals(
    normals: np.ndarray, px: np.ndarray, py: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The face's share of each cell (0..1) and its normals there: the landmark normals
    splatted at their cells (``px``, ``py``) of a grid of ``size`` and spread by normalised
    convolution.

    Worked out around the splats only (under half of the person's box on the demo: 0.36 →
    0.18-0.23 ms with the two changes below; 2026-12-03, load 1-2): past :data:`_FACE_PAD`
    cells from them the blur has nothing to spread, and its reflection at the cut edge
    reaches no splat, so the result is the same as over the whole grid."""
    gw, gh = size
    face_w = np.zeros((gh, gw), np.float32)
    face_n = np.zeros((gh, gw, 3), np.float32)
    inside = (px >= 0) & (px < gw) & (py >= 0) & (py < gh)
    if not inside.any():
        return face_w, face_n
    px, py = px[inside], py[inside]
    cx0, cy0 = max(0, int(px.min()) - _FACE_PAD), max(0, int(py.min()) - _FACE_PAD)
    cx1, cy1 = min(gw, int(px.max()) + 1 + _FACE_PAD), min(gh, int(py.max()) + 1 + _FACE_PAD)
    cw, ch = cx1 - cx0, cy1 - cy0
    # One bincount per channel: np.add.at took twice as long.
    cells = (py - cy0) * cw + (px - cx0)
    values = normals[inside]
    splats = np.empty((ch, cw, 4), np.float32)
    for c in range(3):
        splats[..., c] = np.bincount(cells, values[:, c], ch * cw).reshape(ch, cw)
    splats[..., 3] = np.bincount(cells, None, ch * cw).reshape(ch, cw)
    acc = cv2.GaussianBlur(splats, (0, 0), FACE_SPREAD)
    weight = acc[..., 3]
    region = (slice(cy0, cy1), slice(cx0, cx1))
    np.divide(acc[..., :3], np.maximum(weight, 1e-6)[..., None], out=face_n[region])
    # Where the splats are dense (the face) the blur's weight is near its peak; it falls
    # to zero a few cells outside: that is the face's share of the blend.
    positive = weight[weight > 0]
    peak = _upper_quartile(positive) if len(positive) else 1.0
    np.clip(weight / max(peak, 1e-6), 0.0, 1.0, out=face_w[region])
    return face_w, face_n


_FACE_PAD = 2 * (math.ceil(4 * FACE_SPREAD) + 1)
"""Twice the reach of the face normals' blur (cv2.GaussianBlur's float kernel reaches
round(4σ) cells), in cells."""


def _upper_quartile(values: np.ndarray) -> float:
    """``np.percentile(values, 75)`` (linear, as NumPy interpolates) by a partial sort: on a
    face's ~2400 cells 6 µs against 35 (to float32 rounding)."""
    k = 0.75 * (len(values) - 1)
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    part = np.partition(values, (lo, hi))
    a, b, t = float(part[lo]), float(part[hi]), k - lo
    return b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t


REUSE_MOVE_CELLS = 0.25
"""The face's shape on the grid (normals, face coordinates) is kept from an earlier frame while
no landmark has moved more than this many grid cells since (2 px at 720p: the tracker's jitter
on a still face)..."""
REUSE_MASK_CHANGE = 0.01
"""...and the person mask on the grid has changed by at most this much on average."""


def _surface_normals(
    face_w: np.ndarray, face_n: np.ndarray, cushion: np.ndarray, gw: int
) -> np.ndarray:
    """Unit normals per cell: the face's where ``face_w`` says, the cushion's elsewhere."""
    gy_img, gx_img = np.gradient(cushion)
    slope = np.float32(CUSHION_SLOPE * gw / 32.0)
    body_n = np.dstack([-slope * gx_img, slope * gy_img, np.ones_like(cushion)])
    fw = face_w[..., None]
    n = fw * face_n + (1.0 - fw) * body_n
    n /= np.maximum(np.sqrt(np.einsum("ijk,ijk->ij", n, n)), 1e-6)[..., None]
    out: np.ndarray = n.astype(np.float32, copy=False)
    return out


def _cell_coordinates(
    box: tuple[int, int, int, int],
    grid: tuple[int, int],
    size: tuple[int, int],
    frame: tuple[np.ndarray, np.ndarray, np.ndarray, float],
) -> np.ndarray:
    """float32 :func:`face_coordinates` of the centres of the grid cells in ``box`` (x0, y0,
    x1, y1): the sum of a term per column and one per row (0.16 → 0.04-0.05 ms for a
    person's box at 720p)."""
    x0, y0, x1, y1 = box
    (gw, gh), (w, h) = grid, size
    centre, right, down, width = frame
    xs = (np.arange(x0, x1) + 0.5) * (w / gw) - centre[0]
    ys = (np.arange(y0, y1) + 0.5) * (h / gh) - centre[1]
    uv = np.empty((y1 - y0, x1 - x0, 2), np.float64)
    for k, axis in enumerate((right, down)):
        np.add.outer(ys * (axis[1] / width), xs * (axis[0] / width), out=uv[..., k])
    out: np.ndarray = np.clip(uv, -COORDINATE_LIMIT, COORDINATE_LIMIT).astype(np.float32)
    return out


@dataclasses.dataclass
class _ShapeCache:
    """What the gain needs from the face's shape and the person's outline on the grid: the
    slow part of the stage, and nearly the same from one frame to the next while you sit
    still."""

    landmarks: np.ndarray
    person: np.ndarray
    """The grid-size person mask it was made from."""
    box: tuple[int, int, int, int]
    """Grid cells (x0, y0, x1, y1) the normals cover."""
    normals: np.ndarray
    uv: np.ndarray
    lit: dict[tuple[float, ...], np.ndarray] = dataclasses.field(default_factory=dict)
    """The key and fill's gain term (1 + added light × tint, cells × 3) for the settings and
    key direction it was made with: it depends on the normals alone, not on the side light
    measured each frame."""

    def still(self, landmarks: np.ndarray, person: np.ndarray, grid: tuple[int, int],
              width: int) -> bool:  # fmt: skip
        if self.person.shape != person.shape or person.shape[::-1] != grid:
            return False
        moved = float(np.abs(landmarks[:, :2] - self.landmarks[:, :2]).max())
        if moved > REUSE_MOVE_CELLS * width / grid[0]:
            return False
        change = cv2.norm(person, self.person, cv2.NORM_L1) / person.size
        if change > REUSE_MASK_CHANGE:
            return False
        # Nothing new outside the box the normals cover (a raised hand is lit at once).
        bx, by, bw, bh = cv2.boundingRect(np.greater(person, 0.02).view(np.uint8))
        x0, y0, x1, y1 = self.box
        return bx >= x0 and by >= y0 and bx + bw <= x1 and by + bh <= y1


def _shape_from_mask(
    person: np.ndarray,
    normals: np.ndarray,
    lm: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    frame: tuple[np.ndarray, np.ndarray, np.ndarray, float],
    size: tuple[int, int],
) -> _ShapeCache | None:
    w, h = size
    gh, gw = person.shape
    cushion = cv2.GaussianBlur(person, (0, 0), max(1.0, CUSHION_SIGMA * gw))
    # Everything per cell from here on is worked out on the person's box only (with the face
    # inside it): half the grid or less on a webcam frame.
    x0, y0, x1, y1 = _reach_box(person > 0.02, px, py, (gw, gh))
    if x1 <= x0:
        return None
    face_w, face_n = _face_normals(normals, px - x0, py - y0, (x1 - x0, y1 - y0))
    n = _surface_normals(face_w, face_n, cushion[y0:y1, x0:x1], gw)
    uv = _cell_coordinates((x0, y0, x1, y1), (gw, gh), (w, h), frame)
    return _ShapeCache(lm.copy(), person.copy(), (x0, y0, x1, y1), n, uv)


def _key_and_fill(n: np.ndarray, key_dir: np.ndarray, s: KeyLightSettings) -> np.ndarray:
    """1 + the key's and the fill's light on normals ``n``, the key tinted (cells × 3), times
    :data:`GAIN_ONE`."""
    fill_dir = key_dir * np.array([-1.0, 1.0, 1.0])
    key = _wrapped(n @ key_dir.astype(np.float32))
    fill = _wrapped(n @ fill_dir.astype(np.float32))
    added = s.strength * (key + np.float32(s.fill * FILL_SHARE) * fill)
    tint = kelvin_tint(s.temperature).astype(np.float32)
    out: np.ndarray = (GAIN_ONE * (1.0 + added[..., None] * tint[None, None, :])).astype(np.float32)
    return out


_Upsampled = tuple[np.ndarray, tuple[int, int, int, int], np.ndarray | None]
"""The grid the gain was last upsampled from, its frame box, and (compiled path) the grid
upsampled along x."""


@register_stage
class KeyLight(Stage[KeyLightSettings]):
    compiled_kernels = True
    name = "key_light"
    settings_type = KeyLightSettings
    budget_ms = 3.0
    """Issue 17: within 3 ms per 720p frame on 2 cores."""

    def __init__(self, settings: KeyLightSettings | None = None) -> None:
        super().__init__(settings)
        self._gradient: np.ndarray | None = None
        self._last_t: float | None = None
        self._shape: _ShapeCache | None = None
        self._upsampled: _Upsampled | None = None
        self._gain_full: np.ndarray | None = None

    def open(self) -> None:
        self._gradient, self._last_t, self._shape = None, None, None
        self._upsampled = None
        self._gain_full = None
        canonical_normals()
        # Compile (or load from Numba's cache) the one-pass apply in the background; until it
        # is there, and for good without Numba, the OpenCV path runs.
        fused.prepare()
        super().open()

    def warm_up(self) -> None:
        fused.available()

    def wait_warm(self, timeout: float) -> bool:
        return fused.wait_ready(timeout)

    def close(self) -> None:
        self.forget_frames()
        super().close()

    def forget_frames(self) -> None:
        # The eased light of the last scene, and its cached shape and gains.
        self._gradient, self._last_t, self._shape = None, None, None
        self._upsampled = None
        self._gain_full = None

    def _smoothed(self, fitted: np.ndarray, t: float) -> np.ndarray:
        prev, last = self._gradient, self._last_t
        self._last_t = t
        if prev is None or last is None or not (0.0 <= t - last <= RESET_GAP_S):
            self._gradient = fitted
        else:
            alpha = 1.0 - math.exp(-(t - last) / ADAPT_S)
            self._gradient = prev + alpha * (fitted - prev)
        return self._gradient

    def gain_grid(
        self, image: np.ndarray, face: Face, mask: np.ndarray | None, t: float
    ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        """The B, G, R gain on the coarse grid in 8-bit fixed point (:data:`GAIN_ONE` is 1),
        and the frame box (x0, y0, x1, y1) it covers where it differs from 1; None when there
        is nothing to light."""
        s = self.settings
        h, w = image.shape[:2]
        gw, gh = max(8, -(-w // GRID_DIVISOR)), max(8, -(-h // GRID_DIVISOR))
        sx, sy = gw / w, gh / h
        lm = np.asarray(face.landmarks, np.float64)[: regions.NUM_MESH_LANDMARKS]

        # The side light on the face now, from the skin's brightness.
        skin = lm[skin_points(), :2]
        frame = face_frame(lm)
        fit = _fit_skin(image, skin, frame)
        gradient = self._smoothed(fit.gradient if fit is not None else np.zeros(2), t)

        def cells() -> tuple[np.ndarray, np.ndarray]:
            """The landmarks' grid cells (only wanted when the shape is worked out)."""
            px = np.clip(np.rint(lm[:, 0] * sx - 0.5).astype(np.int64), 0, gw - 1)
            py = np.clip(np.rint(lm[:, 1] * sy - 0.5).astype(np.int64), 0, gh - 1)
            return px, py

        if mask is not None:
            # Every eighth pixel is enough: the cushion below blurs it over many cells.
            person_full = grid_mask(mask, (gw, gh), (w, h))
            shape = self._shape
            if shape is None or not shape.still(lm, person_full, (gw, gh), w):
                shape = self._shape = _shape_from_mask(
                    person_full, face_normals_camera(face), lm, *cells(), frame, (w, h)
                )
                if shape is None:
                    return None
            x0, y0, x1, y1 = shape.box
            person = person_full[y0:y1, x0:x1]
            n, uv = shape.normals, shape.uv
        else:
            # Without a mask the light reaches about a face size past the face: the whole grid.
            self._shape = None
            x0, y0, x1, y1 = 0, 0, gw, gh
            face_size = float(np.ptp(lm[:, 1])) * sy
            face_w, face_n = _face_normals(face_normals_camera(face), *cells(), (gw, gh))
            person = cv2.GaussianBlur(face_w, (0, 0), max(1.0, FACE_MARGIN * face_size))
            # Cut the blur's tail: the light ends within about a face size of the face.
            person = np.clip(person / max(float(person.max()), 1e-6) * 2.5 - 0.25, 0.0, 1.0)
            cushion = cv2.GaussianBlur(person, (0, 0), max(1.0, CUSHION_SIGMA * gw))
            n = _surface_normals(face_w, face_n, cushion, gw)
            uv = _cell_coordinates((0, 0, gw, gh), (gw, gh), (w, h), frame)

        # Outside the person nothing is lit (the frame-size mask cuts it sharply later; here
        # it only bounds the box that needs work).
        rx0, ry0, rw, rh = cv2.boundingRect(np.greater(person, 0.02).view(np.uint8))
        if rw == 0 or rh == 0:
            return None
        rx1, ry1 = rx0 + rw, ry0 + rh
        box = (
            max(0, int((x0 + rx0) / sx)),
            max(0, int((y0 + ry0) / sy)),
            min(w, math.ceil((x0 + rx1) / sx)),
            min(h, math.ceil((y0 + ry1) / sy)),
        )
        uv = uv[ry0:ry1, rx0:rx1]
        # Take the side light out, then add the key and the fill.
        log_gain = -s.balance * (uv[..., 0] * np.float32(gradient[0])
                                 + uv[..., 1] * np.float32(gradient[1]))  # fmt: skip
        key_dir = light_vector(s.direction, float(gradient[0]))
        lit_key = (s.strength, s.fill, s.temperature, *key_dir.tolist())
        shape_cache = self._shape
        lit = shape_cache.lit.get(lit_key) if shape_cache is not None else None
        if lit is None:
            lit = _key_and_fill(n, key_dir, s)
            if shape_cache is not None:
                shape_cache.lit.clear()
                shape_cache.lit[lit_key] = lit
        # Only the key is tinted; the evening keeps the light the face already has. In 8-bit
        # fixed point straight away: OpenCV rounds and saturates (at 255, a gain of 1.99) in
        # the same call, three times faster than NumPy's product, clip and rint.
        base = cv2.exp(log_gain.astype(np.float32))
        fixed = cv2.multiply(lit[ry0:ry1, rx0:rx1], cv2.merge((base, base, base)),
                             dtype=cv2.CV_8U)  # fmt: skip
        np.maximum(fixed, np.uint8(GAIN_LOW_FIXED), out=fixed)
        if mask is None:
            weight = person[ry0:ry1, rx0:rx1, None]
            faded = GAIN_ONE + (fixed.astype(np.float32) - GAIN_ONE) * weight
            fixed = np.rint(faded).astype(np.uint8)
        return fixed, box

    def _gain_rows(self, fixed: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The compiled path's gain: the grid ``fixed`` upsampled along x to ``box``'s width,
        or the one made before while the grid is within :data:`REUSE_GAIN_LEVELS` of it."""
        last = self._upsampled
        if last is not None and last[1] == box:
            grid, _, kept = last
            if kept is not None and cv2.norm(grid, fixed, cv2.NORM_INF) <= REUSE_GAIN_LEVELS:
                return kept
        x0, _, x1, _ = box
        rows: np.ndarray = cv2.resize(fixed, (x1 - x0, fixed.shape[0]),
                                      interpolation=cv2.INTER_LINEAR)  # fmt: skip
        self._upsampled = (fixed, box, rows)
        return rows

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        face = ctx.primary_face
        if not s.enabled or face is None or face.visibility <= 0.0:
            return image
        if np.asarray(face.landmarks).shape[0] < regions.NUM_MESH_LANDMARKS:
            return image
        compiled = fused.ready()  # once: it turns true when the background compile ends
        mask, tiles = _person_mask(image, ctx, compiled)
        made = self.gain_grid(image, face, mask, ctx.timestamp)
        if made is None:
            return image
        fixed, (x0, y0, x1, y1) = made
        if x1 <= x0 or y1 <= y0:
            return image
        visibility = face.visibility
        # The gain travels as 8-bit fixed point (1/GAIN_ONE steps of 0.8 %, below what a
        # smooth light shows): resizing and multiplying 8-bit images is several times faster
        # than float ones, which is most of this stage's time at 720p.
        box = (x0, y0, x1, y1)
        last = self._upsampled
        if compiled:
            # One compiled pass: the frame copied, the gain upsampled along y row by row and
            # applied, the outline blended (see fused.apply_gain). Along x by OpenCV first,
            # only when the grid has changed (see REUSE_GAIN_LEVELS).
            rows = self._gain_rows(fixed, box)
            return fused.apply_gain(image, mask, rows, GAIN_ONE, box, tiles, visibility)
        # The frame-size gain is upsampled into a buffer the stage keeps (a fresh 2 MB array
        # each frame paid its page faults each frame); only its ``box`` is ever read.
        gain_full = self._gain_full
        if gain_full is None or gain_full.shape != image.shape:
            gain_full = self._gain_full = np.full(image.shape, GAIN_ONE, np.uint8)
            self._upsampled = None
        up = gain_full[y0:y1, x0:x1]
        if (
            last is None
            or last[1] != box
            or last[2] is not None  # upsampled by the compiled path, not into this buffer
            or cv2.norm(last[0], fixed, cv2.NORM_INF) > REUSE_GAIN_LEVELS
        ):
            # Else nearly the same grid as the one upsampled (not the last frame's: the light
            # cannot creep away one level a frame): the same frame-size gain.
            cv2.resize(fixed, (x1 - x0, y1 - y0), dst=up, interpolation=cv2.INTER_LINEAR)
            self._upsampled = (fixed, box, None)
        roi = image[y0:y1, x0:x1]
        out = image.copy()  # the source's frame may be shown or recorded elsewhere: not in place
        scale = 1.0 / GAIN_ONE
        if visibility < 1.0:
            tiles = None
        if mask is not None and tiles is not None:
            # Only the outline's tiles need a per-pixel blend; the person's are lit as they
            # are and the room's left alone: the same picture as blending every pixel, in a
            # fraction of the time. (The background composite asked for these same runs.)
            full_runs, mixed_runs = tiles.blend_rects()
            for ry0, ry1, rx0, rx1 in _clipped(full_runs, (x0, y0, x1, y1)):
                gain_part = up[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0]
                cv2.multiply(image[ry0:ry1, rx0:rx1], gain_part, dst=out[ry0:ry1, rx0:rx1],
                             scale=scale)  # fmt: skip
            for ry0, ry1, rx0, rx1 in _clipped(mixed_runs, (x0, y0, x1, y1)):
                plain = image[ry0:ry1, rx0:rx1]
                gain_part = up[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0]
                lit_part = cv2.multiply(plain, gain_part, scale=scale)
                _blend(lit_part, plain, mask[ry0:ry1, rx0:rx1], dst=out[ry0:ry1, rx0:rx1])
            return out
        lit = out[y0:y1, x0:x1]
        cv2.multiply(roi, up, dst=lit, scale=scale)  # written into ``out`` itself
        if mask is not None or visibility < 1.0:
            # Lit where the person is, as the frame-size mask says: no light on the background
            # and no halo past the mask's own soft edge. (A view of the mask: OpenCV takes
            # strided rows as they are.)
            edge = mask[y0:y1, x0:x1] if mask is not None else np.ones(up.shape[:2], np.float32)
            lit[:] = _blend(lit, roi, edge, visibility)
        return out


def _person_mask(
    image: np.ndarray, ctx: FrameContext, compiled: bool
) -> tuple[np.ndarray | None, TileMap | None]:
    """The person mask to light by and its tile map. With the compiled apply, while nobody
    has made the refined mask full size (the background blur's composite samples its detail
    level), the detail level: the apply samples it as the full-size mask would be, and the
    gain grid takes its cells from it (:func:`grid_mask`). Else ``ctx.mask``."""
    source = ctx.mask_source
    h, w = image.shape[:2]
    if compiled and isinstance(source, RefinedMask) and source.size == (w, h):
        sampled = source.sampled()  # the full-size mask once it is made (maybe changed since)
        if sampled.shape != (h, w):
            return sampled, source.tiles
    mask = ctx.mask
    return mask, tiles_for(mask, ctx.extras)


def _clipped(
    rects: list[tuple[int, int, int, int]], box: tuple[int, int, int, int]
) -> list[tuple[int, int, int, int]]:
    """The (y0, y1, x0, x1) ``rects`` cut to the (x0, y0, x1, y1) ``box``, empty ones left
    out (vectorised: a frame has about a hundred runs)."""
    if not rects:
        return []
    r = np.asarray(rects)
    x0, y0, x1, y1 = box
    cut = np.column_stack([np.maximum(r[:, 0], y0), np.minimum(r[:, 1], y1),
                           np.maximum(r[:, 2], x0), np.minimum(r[:, 3], x1)])  # fmt: skip
    keep = (cut[:, 1] > cut[:, 0]) & (cut[:, 3] > cut[:, 2])
    return [tuple(row) for row in cut[keep].tolist()]  # type: ignore[misc]


def _blend(
    lit: np.ndarray,
    plain: np.ndarray,
    mask: np.ndarray,
    scale: float = 1.0,
    dst: np.ndarray | None = None,
) -> np.ndarray:
    """``lit`` where ``mask`` is 1, ``plain`` where it is 0. Squared: a pixel that is half
    background (hair strands, the soft outline) gets a quarter of the light, so the outline
    does not glow against the room.

    In 8-bit fixed point (the weight in 1/255 steps; at most one level from a float blend,
    exactly ``plain`` where the weight is 0 and ``lit`` where it is 1): about twice as fast as
    ``cv2.blendLinear``'s float weights, and the outline's blend is most of this stage's
    time on a frame."""
    w8 = cv2.multiply(mask, mask, scale=255.0 * scale, dtype=cv2.CV_8U)
    w3 = cv2.cvtColor(w8, cv2.COLOR_GRAY2BGR)  # the same as merging it thrice, and faster
    lit_part = cv2.multiply(lit, w3, scale=1.0 / 255.0)
    plain_part = cv2.multiply(plain, cv2.bitwise_not(w3, dst=w3), scale=1.0 / 255.0)
    out: np.ndarray = cv2.add(lit_part, plain_part, dst=dst)
    return out
