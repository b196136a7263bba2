"""Eyes opened at rest: a portrait whose eyes are squeezed to slits (laughing, squinting into
the sun) or shut gets relaxed, open eyes at load, as a photo taken mid-word gets a closed
mouth (:mod:`pipelines.avatar.rest`).

Over such an eye no blink can be seen: the project's tracker reads a shut eye at 0.05-0.09 of
the eye's width whatever is drawn there, and a squinted open eye at 0.07-0.12, so a blink's
shut eye reads no less than half the open one (tools/squint_floor.py). The eye is opened once,
before the rig is built: per column across the eye (u along the corners' axis, v up) the upper
lid's margin rises to an eye's relaxed opening (:data:`OPEN_TARGET` of the wider eye's width,
the opening's profile :func:`eye_profile`), the lower lid's falls a little
(:data:`LOWER_SHARE`); the lid skin above and below is pushed along with a zero slope at its
far end (no line where it ends), and the lashes ride on the margin. What the lids uncover is
drawn: the photo showed little or none of it. The eye's white is about as light as the
photo's eyes are beside its cheeks (:data:`SCLERA_OVER_SKIN`) and greyer than the skin, mixed
with the slit's lightest where the slit is wide enough to show some; the iris sits across the
eye where the tracker put it (its own landmarks), its top under the upper lid, its colour from
the slit's darker pixels (else the skin's, darkened), with a darker rim, a pupil and a
catchlight; the upper lid shades the top of the eye and its lash line is drawn along the new
margin. Everything is anti-aliased, and blurred to the photo's own softness (:func:`_softness`).

The opened portrait is found again by the tracker and kept where it reads the eyes wider by
:data:`WIDER_BY`; the rest of the build (the rest mouth, the rig, the lids) runs on it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.avatar.portrait import AvatarError, Portrait, find_landmarks
from pipelines.avatar.rig import _eye_parts, lid_curve
from pipelines.tracking import regions

log = logging.getLogger(__name__)

SQUINT_OPEN = 0.13
"""Lid gap over eye width (the tracker's landmarks 159-145 and 386-374 over the corners, of the
eye the camera sees better, :func:`~pipelines.avatar.tracked.eye_opening`) under which a
portrait's eyes count as squeezed shut. The tuning photos' open eyes read 0.16-0.41; squinted by
the avatar's own lids 0.6-0.75 shut, 0.07-0.12 (the shut eye's floor 0.05-0.09)."""
OPEN_TARGET = 0.27
"""The opened eye's lid gap at its middle, in shares of the wider eye's width (corner to corner:
a head turn foreshortens the width, not the opening). A relaxed adult eye opens 0.25-0.35."""
NO_BLINK_READ = 0.75
"""A build whose kept shut lids the tracker reads at this share of the open eye or more follows
no lid there (as :data:`~pipelines.avatar.lids.DIM_FOLLOWED`): its eyes are opened and the
build made again (:meth:`~pipelines.avatar.stage.Avatar.build`). Tuning photos made to laugh
read 1.13-1.22, cameraman's profile 1.09, a dark photo's 0.90; a dim photo of hooded eyes,
whose domed lids read 0.60 and see most blinks, keeps its own eyes (opened, 0.42: a drawn eye
for a hooded one, the person's look changed, for blinks mostly seen already)."""
FAR_EYE = 0.5
"""An eye narrower than this share of the other is left as it is (a turned head's far eye on
the silhouette: cameraman's 0.33, astronaut_turned55_moustache's 0.32; a turned face's far
eye in full view 0.6-0.75)."""
WIDER_BY = 0.05
"""The opened eyes are kept where the tracker reads them at least this much wider (over their
width) than the photo's; else the photo is kept as it was."""
LOWER_SHARE = 0.2
"""Share of the opening the lower lid's margin falls (the rest: the upper lid rises)."""
SKIN_REACH = 1.1
"""How far above the upper margin (below the lower one: half as far) the lid skin is pushed
along, in shares of the target opening."""
IRIS_SHARE = 0.2
"""The iris's radius in shares of the eye's width where its landmarks give no usable one (an
adult iris ~11.7 mm across an eye ~30 mm wide)."""
IRIS_RADIUS_RANGE = (0.17, 0.22)
PUPIL_SHARE = 0.38
"""The pupil's radius in shares of the iris's."""
SLIT_SHOWS_PX = 3.0
"""A slit at least this many pixels wide shows some of the eye (its colours are read there)."""
DARK_LINE = 0.6
"""Pixels under this share of the skin's brightness right under the lower margin are the slit's
dark line (lashes, the shut line), left in the opening rather than carried down as a lining."""
DARK_REACH = 0.45
"""How far under the lower margin that line is looked for, in shares of the target opening."""
SCLERA_OVER_SKIN = 0.95
"""The drawn white's lightest over the cheek's light: the lightest sixth of the eyes of the
tuning photos read 0.57-1.26 of it (median 0.92; measured 2026-12-07), the darker in shaded
sockets and dim photos."""
SCLERA_CHROMA = 0.7
"""The drawn white's colour as a share of the skin's (the same photos' 0-1.5, mostly 0.6-0.9)."""
SOFTNESS_UNREAD = 0.8
"""The photo's blur (px) where its eyes show no edge to read it from."""
DRAWN_SOFTNESS = 0.5
"""The drawn eye's own blur (px): anti-aliased edges; blurred further to the photo's."""
LASH_PX = 1.6
"""The drawn lash line's thickness at the middle of the eye (pixels of a 512 px portrait)."""


@dataclass(frozen=True)
class EyeFrame:
    """An eye's own coordinates: the outer corner ``c0``, ``axis`` towards the inner corner,
    ``up`` towards the brow, and its lid margins (landmarks) as curves over u."""

    c0: np.ndarray
    axis: np.ndarray
    up: np.ndarray
    width: float
    upper_u: np.ndarray
    upper_v: np.ndarray
    lower_u: np.ndarray
    lower_v: np.ndarray

    def to_uv(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = x - self.c0[0], y - self.c0[1]
        return dx * self.axis[0] + dy * self.axis[1], dx * self.up[0] + dy * self.up[1]

    def to_xy(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            self.c0[0] + u * self.axis[0] + v * self.up[0],
            self.c0[1] + u * self.axis[1] + v * self.up[1],
        )

    def upper(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.upper_u, self.upper_v)

    def lower(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.lower_u, self.lower_v)


def eye_frame(lm: np.ndarray, ring: tuple[int, ...]) -> EyeFrame:
    """The :class:`EyeFrame` of the eye of ``ring`` (regions.RIGHT_EYE or LEFT_EYE)."""
    pts = lm[:, :2]
    c0, c1 = pts[ring[0]], pts[ring[8]]
    width = float(np.linalg.norm(c1 - c0))
    axis = (c1 - c0) / max(width, 1e-6)
    up = np.array([axis[1], -axis[0]])
    upper, lower = _eye_parts(ring)
    # Up is towards the brow: a squint's lid landmarks lie on one line, even crossed (the rig's
    # blink fields take it from the lids).
    brow = regions.RIGHT_BROW if ring == regions.RIGHT_EYE else regions.LEFT_BROW
    if float((pts[list(brow)].mean(axis=0) - 0.5 * (c0 + c1)) @ up) < 0:
        up = -up
    uu, uv = lid_curve(pts[upper], c0, c1, c0, axis, up)
    lu, lv = lid_curve(pts[lower], c0, c1, c0, axis, up)
    return EyeFrame(c0, axis, up, width, uu, uv, lu, lv)


def middle_gap(f: EyeFrame) -> float:
    """The eye's widest lid gap (pixels) over its middle two fifths."""
    u = np.linspace(0.3, 0.7, 9) * f.width
    return float(np.max(f.upper(u) - f.lower(u)))


def eye_profile(t: np.ndarray) -> np.ndarray:
    """An open eye's lid gap along the eye, ``t`` from the outer corner (0) to the inner (1):
    0 at the corners, 1 at its widest."""
    t = np.clip(t, 0.0, 1.0)
    # The widest point at t ~ 0.47 (an eye's is nearer the inner corner: a small skew the
    # wrong way, left as measured), the ends rounded like the canthi.
    s = np.sin(np.pi * t**0.92)
    return np.power(np.clip(s, 0.0, 1.0), 0.8)


def _smooth_fall(x: np.ndarray) -> np.ndarray:
    """1 at 0, 0 at 1 and beyond, with a zero slope at 1."""
    x = np.clip(x, 0.0, 1.0)
    return (1.0 - x) ** 2


@dataclass(frozen=True)
class _Opened:
    frame: EyeFrame
    rise: np.ndarray
    """Per sample of ``us``: how far the upper margin rises (pixels)."""
    fall: np.ndarray
    us: np.ndarray
    reach_up: float
    reach_down: float
    dark_below: np.ndarray
    """Per sample of ``us``: how far under the lower margin's landmarks the slit's dark line
    reaches (pixels): taken into the opening, not carried down as a lining."""

    def rise_at(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.us, self.rise, left=0.0, right=0.0)

    def fall_at(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.us, self.fall, left=0.0, right=0.0)

    def dark_at(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.us, self.dark_below, left=0.0, right=0.0)


def _dark_below(
    gray: np.ndarray, f: EyeFrame, us: np.ndarray, skin_l: float, reach: float
) -> np.ndarray:
    """How far under the lower margin the slit's dark line goes, per column."""
    steps = np.arange(0.0, reach + 1e-6, 0.5)
    uu, vv = np.meshgrid(us, steps)
    x, y = f.to_xy(uu, f.lower(uu) - vv)
    vals = cv2.remap(gray, x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR)
    dark = vals < DARK_LINE * skin_l
    # The run of dark from the margin down, column by column.
    run = np.cumprod(dark, axis=0).sum(axis=0)
    out = np.where(run > 0, steps[np.clip(run - 1, 0, len(steps) - 1)] + 0.5, 0.0)
    out = out * eye_profile(us / f.width) ** 0.25
    return np.asarray(out, np.float64)


def _plan(f: EyeFrame, target_px: float, gray: np.ndarray, skin_l: float) -> _Opened | None:
    if f.width < 4.0:
        return None
    us = np.linspace(0.0, f.width, 64)
    gap = f.upper(us) - f.lower(us)
    want = target_px * eye_profile(us / f.width)
    more = np.clip(want - gap, 0.0, None)
    if float(more.max()) < 1.0:
        return None
    # Smoothed along the eye: a wobbly margin reads as a torn one.
    k = np.ones(7) / 7.0
    more = np.convolve(np.pad(more, 3, mode="edge"), k, mode="valid")
    more *= eye_profile(us / f.width) ** 0.25
    fall = LOWER_SHARE * more
    reach_down = 0.7 * SKIN_REACH * target_px
    dark = np.minimum(_dark_below(gray, f, us, skin_l, DARK_REACH * target_px), 0.45 * reach_down)
    return _Opened(
        f, (1.0 - LOWER_SHARE) * more, fall, us, SKIN_REACH * target_px, reach_down, dark
    )


def _backward(op: _Opened, gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Source coordinates for each destination pixel: the lid skin pushed away from the eye."""
    f = op.frame
    u, v = f.to_uv(gx, gy)
    a = op.rise_at(u)
    b = op.fall_at(u)
    top = f.upper(u)
    bot = f.lower(u)
    src_v = v.copy()
    # Above the new upper margin (top + a): source v = v - a * fall((v - top - a) / (R - a)).
    above = v >= top + a
    span_up = np.maximum(op.reach_up - a, 1.0)
    x = (v - top - a) / span_up
    src_v = np.where(above, v - a * _smooth_fall(x), src_v)
    # Below the new lower margin (bot - b): its source margin is under the slit's dark line.
    below = v <= bot - b
    e = op.dark_at(u)
    span_down = np.maximum(op.reach_down - b, 1.0)
    x = (bot - b - v) / span_down
    src_v = np.where(below, v + (b - e) * _smooth_fall(x), src_v)
    # Inside the new opening: the eyeball is drawn over it; the old slit stretched fills it.
    inside = ~above & ~below
    t = np.clip((v - (bot - b)) / np.maximum(top + a - (bot - b), 1e-3), 0.0, 1.0)
    src_v = np.where(inside, bot + t * (top - bot), src_v)
    sx, sy = f.to_xy(u, src_v)
    return sx.astype(np.float32), sy.astype(np.float32)


def _aperture(
    op: _Opened, gx: np.ndarray, gy: np.ndarray, grow: float = 0.0
) -> tuple[np.ndarray, ...]:
    """(coverage of the opened eye grown by ``grow`` px, depth below the upper margin in px,
    u, v)."""
    f = op.frame
    u, v = f.to_uv(gx, gy)
    top = f.upper(u) + op.rise_at(u)
    bot = f.lower(u) - op.fall_at(u)
    e = 0.5 + grow
    inside_u = np.clip(np.minimum(u, f.width - u) + e, 0.0, 1.0)
    cov = np.clip(top - v + e, 0.0, 1.0) * np.clip(v - bot + e, 0.0, 1.0) * inside_u
    return cov, top - v, u, v


def _skin_colour(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    cheeks = lm[[50, 280, 205, 425, 101, 330], :2]
    vals = []
    h, w = image.shape[:2]
    for x, y in cheeks:
        xi, yi = round(float(x)), round(float(y))
        patch = image[max(yi - 3, 0) : min(yi + 4, h), max(xi - 3, 0) : min(xi + 4, w)]
        if patch.size:
            vals.append(patch.reshape(-1, 3))
    return np.median(np.concatenate(vals), axis=0).astype(np.float32)


def _colours(
    image: np.ndarray, slit: np.ndarray, skin: np.ndarray, gap_px: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sclera, iris, lash) BGR colours from the pixels the photo's slit shows (``gap_px``
    wide at most: under :data:`SLIT_SHOWS_PX` it shows lashes only, and the iris is the face's
    own colour darkened)."""
    skin_l = float(skin.mean())
    # A photo's eye white at its lightest is about as light as the cheek, and greyer.
    sclera = SCLERA_OVER_SKIN * (skin_l + SCLERA_CHROMA * (skin - skin_l))
    iris = 0.32 * skin
    lash = 0.18 * skin
    px = image[slit].astype(np.float32)
    if len(px) >= 6:
        lum = px.mean(axis=1)
        order = np.argsort(lum)
        dark = px[order[: max(2, len(px) // 6)]]
        lash = np.minimum(lash, dark.mean(axis=0))
        mid = px[order[len(px) // 6 : len(px) // 2]]
        if len(mid) and gap_px >= SLIT_SHOWS_PX:
            iris = np.clip(mid.mean(axis=0), 0.22 * skin, 0.55 * skin)
        bright = px[order[-max(2, len(px) // 10) :]]
        if gap_px >= SLIT_SHOWS_PX and float(bright.mean()) > 0.85 * skin_l:
            sclera = 0.5 * sclera + 0.5 * bright.mean(axis=0)
    return sclera, iris, lash


def _iris(lm: np.ndarray, iris_ids: tuple[int, ...], width: float) -> tuple[np.ndarray, float]:
    pts = lm[list(iris_ids), :2]
    centre = pts[0]
    r = float(np.mean(np.linalg.norm(pts[1:] - centre, axis=1)))
    lo, hi = IRIS_RADIUS_RANGE
    if not lo * width <= r <= hi * width:
        r = IRIS_SHARE * width
    return centre, r


def _draw_eye(
    image: np.ndarray,
    op: _Opened,
    lm: np.ndarray,
    iris_ids: tuple[int, ...],
    colours: tuple[np.ndarray, np.ndarray, np.ndarray],
    softness: float,
) -> None:
    f = op.frame
    sclera, iris_c, lash = colours
    h, w = image.shape[:2]
    corners = np.array([f.to_xy(np.array(uu), np.array(vv)) for uu, vv in (
        (-4.0, -op.reach_down - 4), (f.width + 4, -op.reach_down - 4),
        (-4.0, op.reach_up + 4), (f.width + 4, op.reach_up + 4))])  # fmt: skip
    x0 = int(max(0, math.floor(corners[:, 0].min())))
    x1 = int(min(w, math.ceil(corners[:, 0].max()) + 1))
    y0 = int(max(0, math.floor(corners[:, 1].min())))
    y1 = int(min(h, math.ceil(corners[:, 1].max()) + 1))
    if x1 <= x0 or y1 <= y0:
        return
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    cov, depth, u, _ = _aperture(op, gx, gy)
    if not (cov > 0).any():
        return
    opening = float((op.frame.upper(op.us) + op.rise - op.frame.lower(op.us) + op.fall).max())
    t = np.clip(u / f.width, 0.0, 1.0)
    # The white: shaded towards the corners (the ball turns away) and under the upper lid.
    corner_shade = 0.72 + 0.28 * np.sin(np.pi * t) ** 0.6
    lid_shade = 1.0 - 0.35 * np.exp(-np.clip(depth, 0, None) / max(0.18 * opening, 0.8))
    ball = sclera[None, None, :] * (corner_shade * lid_shade)[..., None]
    # The iris: its centre across the eye from the tracker, its height a relaxed gaze's (its
    # top under the upper lid).
    centre, r = _iris(lm, iris_ids, f.width)
    iris_u, _ = f.to_uv(np.array(centre[0]), np.array(centre[1]))
    cu = float(np.clip(iris_u, r, f.width - r))
    top_c = float(f.upper(np.array(cu)) + op.rise_at(np.array(cu)))
    cv_ = top_c - 0.8 * r
    ix, iy = f.to_xy(np.array(cu), np.array(cv_))
    dist = np.hypot(gx - float(ix), gy - float(iy))
    rr = dist / r
    ring = np.clip((rr - 0.72) / 0.28, 0.0, 1.0)
    fibres = 1.0 + 0.08 * np.cos(np.arctan2(gy - float(iy), gx - float(ix)) * 23.0) * (rr < 1.0)
    iris_px = iris_c[None, None, :] * ((1.0 - 0.4 * ring) * fibres * (1.05 - 0.1 * rr))[..., None]
    pupil = np.clip((PUPIL_SHARE * r - dist) + 0.5, 0.0, 1.0)
    iris_px = iris_px * (1.0 - pupil[..., None]) + (0.25 * lash)[None, None, :] * pupil[..., None]
    iris_cov = np.clip(r - dist + 0.5, 0.0, 1.0)
    iris_px = iris_px * lid_shade[..., None]
    eye = ball * (1.0 - iris_cov[..., None]) + iris_px * iris_cov[..., None]
    # A catchlight, up and to the side of the pupil.
    hx, hy = f.to_xy(np.array(cu - 0.3 * r), np.array(cv_ + 0.3 * r))
    glint = np.clip(0.14 * r - np.hypot(gx - float(hx), gy - float(hy)) + 0.5, 0.0, 1.0)
    glint *= (depth > 0.15 * opening).astype(np.float64)
    eye = eye * (1.0 - 0.8 * glint[..., None]) + 0.8 * glint[..., None] * min(
        250.0, float(sclera.max()) + 25.0
    )
    # The lash line along the new margin, thickest at the middle.
    lash_w = LASH_PX * (0.4 + 0.6 * np.sin(np.pi * t) ** 0.5)
    lash_a = np.clip(1.0 - np.abs(depth - 0.2 * lash_w) / lash_w, 0.0, 1.0) * (
        np.minimum(u, f.width - u) > -1.0
    )
    eye = eye * (1.0 - 0.9 * lash_a[..., None]) + 0.9 * lash_a[..., None] * lash[None, None, :]
    blur = math.sqrt(max(softness**2 - DRAWN_SOFTNESS**2, 0.0))
    if blur > 0.05:
        eye = cv2.GaussianBlur(eye.astype(np.float32), (0, 0), blur)
    cov_l = np.clip(cov + lash_a * (depth > -LASH_PX), 0.0, 1.0)
    if blur > 0.05:
        # Blurred from a coverage grown by the blur's reach: inside the margin only the drawn
        # eye shows, not the stretched slit under it (a dark lining otherwise).
        grown, _, _, _ = _aperture(op, gx, gy, grow=blur)
        grown = np.clip(grown + lash_a * (depth > -LASH_PX), 0.0, 1.0)
        cov_l = np.maximum(cov_l, cv2.GaussianBlur(grown.astype(np.float32), (0, 0), 0.5 * blur))
    region = image[y0:y1, x0:x1].astype(np.float32)
    out = region * (1.0 - cov_l[..., None]) + eye * cov_l[..., None]
    image[y0:y1, x0:x1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _softness(image: np.ndarray, lm: np.ndarray) -> float:
    """The photo's blur around the eyes as a Gaussian sigma (px), from its strongest edges: a
    step blurred by sigma has its steepest gradient fall to sigma / sqrt(sigma^2 + 1) when
    blurred by 1 px more."""
    pts = lm[list(regions.RIGHT_EYE) + list(regions.LEFT_EYE), :2]
    x0, y0 = np.floor(pts.min(axis=0) - 8).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + 8).astype(int)
    h, w = image.shape[:2]
    crop = image[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return SOFTNESS_UNREAD
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)

    def steepest(a: np.ndarray) -> float:
        gx, gy = cv2.Sobel(a, cv2.CV_32F, 1, 0), cv2.Sobel(a, cv2.CV_32F, 0, 1)
        return float(np.percentile(np.hypot(gx, gy)[2:-2, 2:-2], 99.5))

    sharp = steepest(g)
    if sharp < 8.0:
        return SOFTNESS_UNREAD
    r = min(steepest(cv2.GaussianBlur(g, (0, 0), 1.0)) / sharp, 0.95)
    return float(np.clip(r / math.sqrt(1.0 - r * r), 0.3, 2.5))


def open_eyes(portrait: Portrait, squint_open: float = SQUINT_OPEN) -> Portrait:
    """The portrait with its eyes opened where they read squeezed shut (under ``squint_open``
    of their width); else, or where the opened face is not read better, the portrait itself."""
    from pipelines.avatar.tracked import eye_opening

    lm = np.asarray(portrait.landmarks, np.float64)
    before = eye_opening(lm)
    if before >= squint_open:
        return portrait
    eyes = ((regions.RIGHT_EYE, regions.RIGHT_IRIS), (regions.LEFT_EYE, regions.LEFT_IRIS))
    frames = {ring: eye_frame(lm, ring) for ring, _ in eyes}
    widest = max(f.width for f in frames.values())
    target = OPEN_TARGET * widest
    skin = _skin_colour(portrait.image, lm)
    gray = cv2.cvtColor(portrait.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    # An eye much narrower than the other is on the silhouette of a turned head, or hidden
    # (its landmarks guessed): left as it is.
    opened = [
        (op, ring, iris)
        for ring, iris in eyes
        if frames[ring].width >= FAR_EYE * widest
        and (op := _plan(frames[ring], target, gray, float(skin.mean()))) is not None
    ]
    if not opened:
        return portrait
    h, w = portrait.image.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    mx, my = gx.astype(np.float32), gy.astype(np.float32)
    for op, _, _ in opened:
        sx, sy = _backward(op, gx, gy)
        moved = (np.abs(sx - gx) > 1e-3) | (np.abs(sy - gy) > 1e-3)
        mx = np.where(moved, sx, mx)
        my = np.where(moved, sy, my)
    image = cv2.remap(portrait.image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    softness = _softness(portrait.image, lm)
    read = []
    for op, ring, _ in opened:
        slit = np.zeros((h, w), np.uint8)
        cv2.fillPoly(slit, [np.round(lm[list(ring), :2]).astype(np.int32)], 255)
        gap_px = middle_gap(op.frame)
        read.append((gap_px, _colours(portrait.image, slit > 0, skin, gap_px)))
    # One white and one iris for both eyes, read where the slit showed most: each eye's own
    # reading gave astronaut_rims made to squint a grey iris beside a brown one.
    _, (sclera, iris_colour, _) = max(read, key=lambda r: r[0])
    for (op, _, iris), (_, (_, _, lash)) in zip(opened, read, strict=True):
        _draw_eye(image, op, lm, iris, (sclera, iris_colour, lash), softness)
    try:
        found = np.asarray(find_landmarks(image), np.float32)
    except AvatarError:
        found = None
    after = eye_opening(found.astype(np.float64)) if found is not None else 0.0
    if found is None or after < before + WIDER_BY:
        # Kept as it was: its blinks go unseen, but no face is better than the photo's.
        log.info(
            "talking head: the portrait's eyes read %.2f of their width and were left so: "
            "opened, the face tracker read them at %.2f",
            before,
            after,
        )
        return portrait
    log.info(
        "talking head: the portrait's eyes read %.2f of their width, opened at rest to %.2f",
        before,
        after,
    )
    return Portrait(image, found, portrait.source, portrait.coverage)
