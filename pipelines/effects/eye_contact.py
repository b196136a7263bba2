"""The ``eye_contact`` stage: while you read the screen, your eyes look into the camera.

Per frame, for the primary face:

1. Where the irises are: each iris centre in its eye's own frame (from the outer to the inner
   corner, in eye widths), averaged over both eyes (eyes move together; the average is also
   steadier than either).
2. Where they would be looking into the lens: straight ahead for a face that faces the camera,
   turned by the head's angle to the camera otherwise (from the head pose). An eyeball of
   :data:`EYEBALL_RADIUS_CM` in an eye :data:`EYE_WIDTH_CM` wide turns the iris by
   ``radius/width · sin(angle)`` eye widths: that converts between offsets and angles.
3. How much to move them (sideways; up and down only as far as ``vertical`` says, see
   there): all of the way while the gaze is within ``fade_start`` degrees of
   the camera, fading to nothing over ``fade_width`` more degrees (a deliberate look away stays
   a look away), and likewise as the head turns past ``head_limit``. The weight follows over
   ``adapt_s`` seconds, so it never snaps. A closing eye (blink, closed eyes) fades the move
   out at once: a shut lid is never pulled.
4. Moving them: a backward warp inside each eye opening only (the lid outline), a bump that is
   flat over the iris and falls to zero at the lids, so the iris and pupil slide as they are
   and the white of the eye is stretched on one side and gathered on the other: nothing is
   copied, so no second iris is left behind. Lids, lashes, brows and glasses frames lie
   outside the opening and do not move.

The iris ends where the eye corners and the head pose say (steady points), not where the iris
landmarks jitter to, so the moved iris is no less still than the tracker's corners.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Annotated, Any

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import FrameContext
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking import regions

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
MAX_SLOPE = 0.8
"""The warp's bump rises at most this many pixels of shift per pixel, so it never folds."""
LID_REACH = 0.3
"""How far past the lid (eye widths, mid-lid) a vertical move reaches: the lid and its crease
move with the iris; the brow, further up, does not."""
RESET_GAP_S = 1.0
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
    vertical: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    """Share of the up/down correction applied. Off by default: the tracker's iris points
    hardly move when the gaze goes down (0.005 eye widths at 10°, against 0.12 for a real
    iris), and where they sit against the eye corners differs between people by as much, so
    the up/down offset it reports is mostly that person's eye shape, not their gaze."""


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


def _polygon_mask(poly: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    region = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.round((poly - [x0, y0]) * 16).astype(np.int32)
    cv2.fillPoly(region, [pts], 255, lineType=cv2.LINE_AA, shift=4)
    return region.astype(np.float32) * np.float32(1.0 / 255.0)


def _ramp(distance: np.ndarray, length: float) -> np.ndarray:
    """0 at distance 0, rising smoothly to 1 at ``length``."""
    x = np.clip(distance / np.float32(max(length, 1e-6)), 0.0, 1.0)
    out: np.ndarray = x * x * (3.0 - 2.0 * x)
    return out


def warp_eye(
    image: np.ndarray, out: np.ndarray, lm: np.ndarray, eye: tuple[Any, ...], shift: np.ndarray
) -> None:
    """Move one eye's iris by ``shift`` pixels (read from ``image``, written into ``out``).

    Along the eye, everything inside the opening slides: the lids are occluders and stay, so
    the iris passes under them as a real one does; toward the corners the move fades, and the
    white of the eye is gathered on one side and stretched on the other. Across the eye, the
    upper lid goes along, as it does when we look up or down (the iris fills the opening from
    lid to lid, and can only rise if the upper lid rises with it): that region reaches
    :data:`LID_REACH` eye widths above the lid; the move fades from the iris to nothing at the
    lower lid and at the region's upper edge. Every fade rises at most :data:`MAX_SLOPE`
    pixels of shift per pixel, so nothing folds."""
    h, w = image.shape[:2]
    outer, inner, _upper, _lower, iris, ring = eye
    f = eye_frame(lm, outer, inner)
    poly = lm[list(ring), :2].astype(np.float64)
    across = float(shift @ f.down)
    along = float(shift @ f.right)
    if max(abs(across), abs(along)) < 0.05:
        return
    # Ring order: outer corner, the upper lid, inner corner (index 8), the lower lid. The
    # upper lid follows the iris up and down (the lower one hardly moves when we look up or
    # down): the region of the move across the eye reaches past it.
    upper_lid, lower_lid = slice(1, 8), slice(9, 16)
    grown = poly.copy()
    t = np.sin(np.linspace(0.0, np.pi, 9)[1:8])  # 0 at the corners, 1 mid-lid
    grown[upper_lid] -= LID_REACH * f.width * t[:, None] * f.down
    pad = math.ceil(max(abs(across), abs(along))) + 3
    x0 = max(0, math.floor(grown[:, 0].min()) - pad)
    y0 = max(0, math.floor(grown[:, 1].min()) - pad)
    x1 = min(w, math.ceil(grown[:, 0].max()) + pad + 1)
    y1 = min(h, math.ceil(grown[:, 1].max()) + pad + 1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    box = (x0, y0, x1, y1)
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    # Eye coordinates of every pixel (pixels, from the corners' middle).
    rel_x, rel_y = gx - np.float32(f.centre[0]), gy - np.float32(f.centre[1])
    u = rel_x * np.float32(f.right[0]) + rel_y * np.float32(f.right[1])
    v = rel_x * np.float32(f.down[0]) + rel_y * np.float32(f.down[1])
    half = f.width / 2.0
    iris_px = lm[iris, :2].astype(np.float64) - f.centre
    iris_u = float(iris_px @ f.right)
    iris_r = float(np.mean(np.linalg.norm(lm[iris + 1 : iris + 5, :2] - lm[iris, :2], axis=1)))
    # Along the eye: full over the iris, fading to the corners.
    room = max(half - abs(iris_u) - iris_r, 1.0)
    along_len = max(abs(along) / MAX_SLOPE, min(room, 0.5 * half))
    to_corner = half - np.abs(u)
    r_u = _ramp(to_corner, along_len)
    map_x, map_y = gx.copy(), gy.copy()
    touched = np.zeros(gx.shape, bool)
    if abs(along) >= 0.05:
        b = _polygon_mask(poly, box) * r_u
        map_x -= np.float32(along * f.right[0]) * b
        map_y -= np.float32(along * f.right[1]) * b
        touched |= b > 0.0
    if abs(across) >= 0.05:
        # Across: from the lower lid (at each point along the eye) up to the iris's centre,
        # and in from the region's upper edge, above the lid's crease.
        lid_pts = lm[list(ring), :2].astype(np.float64)[lower_lid] - f.centre
        lid_u, lid_v = lid_pts @ f.right, lid_pts @ f.down
        order = np.argsort(lid_u)
        lower_v = np.interp(u, lid_u[order], lid_v[order]).astype(np.float32)
        iris_v = float(iris_px @ f.down)
        lower_at_iris = float(np.interp(iris_u, lid_u[order], lid_v[order]))
        across_len = max(abs(across) / MAX_SLOPE, lower_at_iris - iris_v)
        region = _polygon_mask(grown, box)
        inside = cv2.distanceTransform((region > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
        top_len = max(abs(across) / MAX_SLOPE, LID_REACH * f.width * 0.5)
        # Along the eye the lid bends smoothly from corner to corner (a lid is a curve: a
        # flat-topped move would notch it).
        arch = np.sin(np.clip((u + half) / (2.0 * half), 0.0, 1.0) * np.float32(np.pi))
        b = region * arch * _ramp(lower_v - v, across_len) * _ramp(inside, top_len)
        map_x -= np.float32(across * f.down[0]) * b
        map_y -= np.float32(across * f.down[1]) * b
        touched |= b > 0.0
    moved = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out[y0:y1, x0:x1][touched] = moved[touched]


@register_stage
class EyeContact(Stage[EyeContactSettings]):
    name = "eye_contact"
    settings_type = EyeContactSettings

    def __init__(self, settings: EyeContactSettings | None = None) -> None:
        super().__init__(settings)
        self._weight: float | None = None
        self._last_t: float | None = None
        self._face_id: int | None = None

    def open(self) -> None:
        self._weight, self._last_t, self._face_id = None, None, None
        super().open()

    def close(self) -> None:
        self._weight, self._last_t, self._face_id = None, None, None
        super().close()

    def _follow(self, wanted: float, t: float, tau: float, face_id: int) -> float:
        prev, last = self._weight, self._last_t
        self._last_t = t
        if (
            prev is None
            or last is None
            or face_id != self._face_id
            or not (0.0 <= t - last <= RESET_GAP_S)
        ):
            self._face_id = face_id
            self._weight = wanted
            return wanted
        alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-(t - last) / tau)
        self._weight = prev + alpha * (wanted - prev)
        return self._weight

    def plan(self, face: Any, t: float) -> dict[str, Any] | None:
        """What this frame does to ``face``'s eyes: per eye the shift in pixels, with the
        gaze angle, the weight and why (for tests and overlays); None if nothing."""
        s = self.settings
        lm = np.asarray(face.landmarks, np.float64)
        if lm.shape[0] < regions.NUM_LANDMARKS:
            return None  # no irises without the refined mesh
        pose = getattr(face, "pose", None)
        target = camera_offset(getattr(pose, "transform", None))
        current = np.mean([iris_offset(lm, eye) for eye in EYES], axis=0)
        needed = target[:2] - current
        gaze_angle = offset_angle(needed)
        gaze_w = 1.0 - _smoothstep((gaze_angle - s.fade_start) / s.fade_width)
        head_w = 1.0 - _smoothstep((float(target[2]) - s.head_limit) / s.fade_width)
        visibility = float(getattr(face, "visibility", 1.0))
        weight = self._follow(gaze_w * head_w, t, s.adapt_s, int(getattr(face, "id", 0)))
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
                "shifts": shifts}  # fmt: skip

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        face = ctx.primary_face
        if not s.enabled or s.strength <= 0.0 or face is None:
            return image
        plan = self.plan(face, ctx.timestamp)
        if plan is None:
            return image
        ctx.extras[self.name] = {k: plan[k] for k in ("gaze_angle", "head_angle", "weight")}
        lm = np.asarray(face.landmarks, np.float64)
        moves = [(eye, px) for eye, px, _ in plan["shifts"] if float(np.abs(px).max()) >= 0.05]
        if not moves:
            return image
        out = image.copy()
        for eye, px in moves:
            warp_eye(image, out, lm, eye, px)
        return out
