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

Without a tracked face the frame passes through; without a segmentation stage the light
reaches only the face and a soft margin around it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from functools import cache
from typing import Any

import cv2
import numpy as np

from pipelines.frame import FrameContext
from pipelines.segmentation.tiles import tiles_for
from pipelines.stage import Stage, StageSettings, bounded, choice, register_stage
from pipelines.tracking import regions

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


@dataclasses.dataclass(frozen=True)
class KeyLightSettings(StageSettings):
    strength: float = bounded(0.35, 0.0, 1.0)
    """How much light the key adds on the side it comes from (0 = no key, only evening)."""
    direction: str = choice("auto", "left", "right", "front", "above")
    """Where the key stands, seen from the camera; "auto": on the darker side of your face."""
    balance: float = bounded(0.8, 0.0, 1.0)
    """Share of the light difference across your face (a window to one side) taken out."""
    fill: float = bounded(0.4, 0.0, 1.0)
    """Soft light from the other side, as a share of the key's (lifts the shadows)."""
    temperature: float = bounded(5000.0, 2700.0, 6500.0)
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


def skin_luma(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luminance (0..1) of ``image`` (BGR uint8) at ``points`` (N×2 pixels), each the mean of
    the 2×2 pixels around it, and which points lie inside the frame."""
    h, w = image.shape[:2]
    inside = (
        (points[:, 0] >= 0) & (points[:, 0] < w - 1) & (points[:, 1] >= 0) & (points[:, 1] < h - 1)
    )
    x = np.clip(points[:, 0].astype(np.int64), 0, w - 2)
    y = np.clip(points[:, 1].astype(np.int64), 0, h - 2)
    px = image[y, x].astype(np.float32) + image[y, x + 1] + image[y + 1, x] + image[y + 1, x + 1]
    luma: np.ndarray = px @ (LUMA_BGR / (4.0 * 255.0)).astype(np.float32)
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


def face_normals_camera(face: Any) -> np.ndarray:
    """468×3 normals of ``face``'s mesh in camera space (x right, y up, z toward the camera)."""
    pose = getattr(face, "pose", None)
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


@functools.lru_cache(maxsize=4)
def _cell_centres(gw: int, gh: int, w: int, h: int) -> np.ndarray:
    """gh×gw×2 frame coordinates of the grid cells' centres (read-only; one per size)."""
    xs = (np.arange(gw) + 0.5) * (w / gw)
    ys = (np.arange(gh) + 0.5) * (h / gh)
    out = np.dstack(np.meshgrid(xs, ys))
    out.flags.writeable = False
    return out


@register_stage
class KeyLight(Stage[KeyLightSettings]):
    name = "key_light"
    settings_type = KeyLightSettings

    def __init__(self, settings: KeyLightSettings | None = None) -> None:
        super().__init__(settings)
        self._gradient: np.ndarray | None = None
        self._last_t: float | None = None

    def open(self) -> None:
        self._gradient, self._last_t = None, None
        canonical_normals()
        super().open()

    def close(self) -> None:
        self._gradient, self._last_t = None, None
        super().close()

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
        self, image: np.ndarray, face: Any, mask: np.ndarray | None, t: float
    ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        """The B, G, R gain on the coarse grid, and the frame box (x0, y0, x1, y1) it covers
        where it differs from 1; None when there is nothing to light."""
        s = self.settings
        h, w = image.shape[:2]
        gw, gh = max(8, -(-w // GRID_DIVISOR)), max(8, -(-h // GRID_DIVISOR))
        sx, sy = gw / w, gh / h
        lm = np.asarray(face.landmarks, np.float64)[: regions.NUM_MESH_LANDMARKS]
        normals = face_normals_camera(face)

        # The side light on the face now, from the skin's brightness.
        skin = lm[skin_points(), :2]
        luma, inside = skin_luma(image, skin)
        frame = face_frame(lm)
        fit = fit_side_light(luma[inside], face_coordinates(skin[inside], frame))
        gradient = self._smoothed(fit.gradient if fit is not None else np.zeros(2), t)

        # Face normals on the grid: splat, then normalised convolution.
        px = np.clip(np.rint(lm[:, 0] * sx - 0.5).astype(np.int64), 0, gw - 1)
        py = np.clip(np.rint(lm[:, 1] * sy - 0.5).astype(np.int64), 0, gh - 1)
        acc = np.zeros((gh, gw, 4), np.float32)
        np.add.at(acc, (py, px), np.column_stack([normals, np.ones(len(px))]).astype(np.float32))
        acc = cv2.GaussianBlur(acc, (0, 0), FACE_SPREAD)
        weight = acc[..., 3]
        face_n = acc[..., :3] / np.maximum(weight, 1e-6)[..., None]
        # Where the splats are dense (the face) the blur's weight is near its peak; it falls
        # to zero a few cells outside: that is the face's share of the blend.
        peak = float(np.percentile(weight[weight > 0], 75)) if (weight > 0).any() else 1.0
        face_w = np.clip(weight / max(peak, 1e-6), 0.0, 1.0)

        face_size = float(np.ptp(lm[:, 1])) * sy
        if mask is not None:
            # Every eighth pixel is enough: the cushion below blurs it over many cells.
            person = cv2.resize(mask, (gw, gh), interpolation=cv2.INTER_NEAREST)
        else:
            person = cv2.GaussianBlur(face_w, (0, 0), max(1.0, FACE_MARGIN * face_size))
            # Cut the blur's tail: the light ends within about a face size of the face.
            person = np.clip(person / max(float(person.max()), 1e-6) * 2.5 - 0.25, 0.0, 1.0)
        # The rest of the person: a cushion inflated from the mask.
        cushion = cv2.GaussianBlur(person, (0, 0), max(1.0, CUSHION_SIGMA * gw))
        gy_img, gx_img = np.gradient(cushion)
        body_n = np.dstack([-CUSHION_SLOPE * gx_img * gw / 32.0,
                            CUSHION_SLOPE * gy_img * gw / 32.0,
                            np.ones_like(cushion)])  # fmt: skip
        n = face_w[..., None] * face_n + (1.0 - face_w[..., None]) * body_n
        n /= np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-6)

        # Take the side light out, then add the key and the fill.
        uv = face_coordinates(_cell_centres(gw, gh, w, h), frame)
        log_gain = (-s.balance * (uv[..., 0] * gradient[0] + uv[..., 1] * gradient[1])).astype(
            np.float32
        )
        key_dir = light_vector(s.direction, float(gradient[0]))
        fill_dir = key_dir * np.array([-1.0, 1.0, 1.0])
        key = _wrapped(n @ key_dir.astype(np.float32))
        fill = _wrapped(n @ fill_dir.astype(np.float32))
        added = s.strength * (key + s.fill * FILL_SHARE * fill)
        # Only the key is tinted; the evening keeps the light the face already has.
        tint = kelvin_tint(s.temperature).astype(np.float32)
        base = np.exp(log_gain).astype(np.float32)
        gain = base[..., None] * (1.0 + added[..., None] * tint[None, None, :])
        gain = np.clip(gain, *GAIN_RANGE).astype(np.float32)
        # Outside the person nothing is lit (the frame-size mask cuts it sharply later; here
        # it only bounds the box that needs work).
        reach = person > 0.02
        if not reach.any():
            return None
        ys, xs = np.nonzero(reach)
        x0, x1 = int(xs.min()), int(xs.max()) + 1
        y0, y1 = int(ys.min()), int(ys.max()) + 1
        box = (
            max(0, int(x0 / sx)),
            max(0, int(y0 / sy)),
            min(w, math.ceil(x1 / sx)),
            min(h, math.ceil(y1 / sy)),
        )
        if mask is None:
            gain = 1.0 + (gain - 1.0) * person[..., None]
        return np.ascontiguousarray(gain[y0:y1, x0:x1]), box

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        face = ctx.primary_face
        if not s.enabled or face is None or float(getattr(face, "visibility", 1.0)) <= 0.0:
            return image
        if np.asarray(face.landmarks).shape[0] < regions.NUM_MESH_LANDMARKS:
            return image
        mask = ctx.mask
        made = self.gain_grid(image, face, mask, ctx.timestamp)
        if made is None:
            return image
        gain, (x0, y0, x1, y1) = made
        if x1 <= x0 or y1 <= y0:
            return image
        visibility = float(getattr(face, "visibility", 1.0))
        # The gain travels as 8-bit fixed point (1/GAIN_ONE steps of 0.8 %, below what a
        # smooth light shows): resizing and multiplying 8-bit images is several times faster
        # than float ones, which is most of this stage's time at 720p.
        fixed = np.clip(np.rint(gain * GAIN_ONE), 0, 255).astype(np.uint8)
        up = cv2.resize(fixed, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        roi = image[y0:y1, x0:x1]
        out = image.copy()  # the source's frame may be shown or recorded elsewhere: not in place
        scale = 1.0 / GAIN_ONE
        tiles = tiles_for(mask, ctx.extras) if visibility >= 1.0 else None
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
                out[ry0:ry1, rx0:rx1] = _blend(lit_part, plain, mask[ry0:ry1, rx0:rx1])
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


def _blend(lit: np.ndarray, plain: np.ndarray, mask: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``lit`` where ``mask`` is 1, ``plain`` where it is 0. Squared: a pixel that is half
    background (hair strands, the soft outline) gets a quarter of the light, so the outline
    does not glow against the room."""
    weight = cv2.multiply(mask, mask, scale=scale)
    out: np.ndarray = cv2.blendLinear(lit, plain, weight, 1.0 - weight)
    return out
