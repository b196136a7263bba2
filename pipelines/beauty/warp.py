"""Shape effects as smooth local warps anchored on landmarks: eye enlarge and face slimming.

A warp is a *forward* displacement field ``D`` (content at ``q`` moves to ``q + D(q)``) that is
exactly zero outside a compact support, built from

* eye enlarge: a radial bulge around each eye, ``D = (q − c) · a · (1 − r²/R²)²`` (zero with
  zero slope at ``r = R``);
* face slimming: a Wendland C² radial-basis interpolant that moves the jaw landmarks inward by
  the set amount while holding the eyes, nose, mouth, chin, temples and a ring of points
  outside the jaw still — so the background beyond that ring does not move at all and the
  field's slope (how much a straight edge near the face can bend) stays small.

The image is resampled with the inverse map (``out(p) = in(S(p))`` with ``S(p) + D(S(p)) = p``,
solved by fixed-point iteration), so a landmark at ``q`` really lands on ``q + D(q)``. The field
is evaluated on a coarse grid over the warp's region of interest and interpolated bilinearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.beauty.geometry import (
    LEFT_EYE_CORNERS,
    MOUTH_CORNERS,
    NOSE_TIP,
    RIGHT_EYE_CORNERS,
    Rect,
)
from pipelines.tracking import regions

# Eye enlarge.
EYE_MAX_SCALE = 0.15
"""Magnification at the eye centre at strength 1 (+15 %)."""
EYE_RADIUS = 1.0
"""Bulge radius in eye widths (corner to corner)."""

# Face slimming (fractions of the face size).
SLIM_MAX = 0.045
"""Inward movement of the jaw landmarks with profile weight 1 at strength 1."""
SLIM_SUPPORT = 0.45
"""Radius of each radial basis function."""
SLIM_OUTER_RING = 0.3
"""Still anchors are placed this far outside each jaw landmark (along the face outline's
normal), so nothing beyond them moves."""
SLIM_MAX_SLOPE = 0.2
"""A jaw landmark moves at most this fraction of its distance to the nearest still point
(binds only in turned-away poses; a frontal face's jaw has room for the full amount)."""

# Jaw landmarks (the lower face oval on each side) and how much each moves (1 at the jaw
# angle, tapering towards the ear and the chin).
JAW_RIGHT = (132, 58, 172, 136, 150, 149, 176, 148)
JAW_LEFT = (361, 288, 397, 365, 379, 378, 400, 377)
JAW_PROFILE = (0.45, 0.75, 0.95, 1.0, 0.9, 0.7, 0.45, 0.2)
# Still landmarks: temples/cheekbones, chin, nose tip, mouth corners, eye corners.
SLIM_ANCHORS = (
    234,
    454,
    93,
    323,
    regions.CHIN,
    NOSE_TIP,
    *MOUTH_CORNERS,
    *RIGHT_EYE_CORNERS,
    *LEFT_EYE_CORNERS,
)

GRID_CELLS = 24
"""Grid spacing is the face size divided by this."""
INVERSE_ITERATIONS = 4


@dataclass
class WarpField:
    """The backward displacement ``S(p) − p`` on the pixels of ``rect`` (frame coordinates):
    the output pixel ``p`` shows the input at ``p + (dx, dy)``."""

    rect: Rect
    dx: np.ndarray
    dy: np.ndarray


def wendland(r: np.ndarray) -> np.ndarray:
    """Wendland's compactly supported C² function (1 − r)⁴(4r + 1) for r < 1, else 0."""
    t = np.clip(1.0 - r, 0.0, None)
    return (t**4) * (4.0 * r + 1.0)


def _outer_normal(lm: np.ndarray, idx: int, centre: np.ndarray) -> np.ndarray:
    """Unit normal of the face oval at landmark ``idx``, pointing away from ``centre``."""
    ring = regions.FACE_OVAL
    k = ring.index(idx)
    tangent = lm[ring[(k + 1) % len(ring)]] - lm[ring[k - 1]]
    normal = np.array([-tangent[1], tangent[0]])
    normal /= max(float(np.linalg.norm(normal)), 1e-9)
    if float(np.dot(normal, lm[idx] - centre)) < 0:
        normal = -normal
    return normal


class SlimField:
    """The radial-basis interpolant of the jaw displacements (frame coordinates)."""

    def __init__(self, lm: np.ndarray, size: float, amount: float) -> None:
        lm = lm.astype(np.float64)
        axis = lm[regions.CHIN] - lm[regions.FOREHEAD_TOP]
        axis /= max(float(np.linalg.norm(axis)), 1e-9)
        across = np.array([-axis[1], axis[0]])
        mid = lm[NOSE_TIP]
        moving: list[np.ndarray] = []
        values: list[np.ndarray] = []
        still: list[np.ndarray] = [lm[i] for i in SLIM_ANCHORS]
        for side in (JAW_RIGHT, JAW_LEFT):
            for idx, weight in zip(side, JAW_PROFILE, strict=True):
                p = lm[idx]
                out_dir = across if float(np.dot(p - mid, across)) > 0 else -across
                moving.append(p)
                values.append(-out_dir * amount * SLIM_MAX * size * weight)
                still.append(p + _outer_normal(lm, idx, mid) * SLIM_OUTER_RING * size)
        # Limit each movement to a fraction of the distance to the nearest still point, so the
        # field's slope (the bending of straight edges) stays bounded even when a pose brings
        # the far jaw close to the nose or mouth (profile views).
        still_arr = np.array(still)
        for k, (p, v) in enumerate(zip(moving, values, strict=True)):
            room = float(np.min(np.linalg.norm(still_arr - p, axis=1)))
            length = float(np.linalg.norm(v))
            if length > SLIM_MAX_SLOPE * room:
                values[k] = v * (SLIM_MAX_SLOPE * room / length)
        self.centres = np.array(moving + still)
        self.support = SLIM_SUPPORT * size
        targets = np.concatenate([np.array(values), np.zeros((len(still), 2))], axis=0)
        kernel = wendland(self._dist(self.centres, self.centres))
        self.weights = np.linalg.solve(kernel + 1e-9 * np.eye(len(kernel)), targets)
        self.jaw = np.array(moving)
        self.jaw_displacement = np.array(values)

    def _dist(self, p: np.ndarray, c: np.ndarray) -> np.ndarray:
        dx = np.subtract.outer(p[:, 0], c[:, 0])
        dy = np.subtract.outer(p[:, 1], c[:, 1])
        d: np.ndarray = np.sqrt(dx * dx + dy * dy) * (1.0 / self.support)
        return d

    def __call__(self, points: np.ndarray) -> np.ndarray:
        out: np.ndarray = wendland(self._dist(points, self.centres)) @ self.weights
        return out

    def reach(self) -> np.ndarray:
        """Points whose support discs cover everything the field moves."""
        r = self.support
        offsets = np.array([[-r, -r], [r, r]])
        return (self.centres[:, None, :] + offsets[None]).reshape(-1, 2)


@dataclass(frozen=True)
class EyeBulge:
    centre: np.ndarray
    radius: float
    amount: float

    def __call__(self, points: np.ndarray) -> np.ndarray:
        rel = points - self.centre
        r2 = (rel * rel).sum(axis=1) / (self.radius * self.radius)
        fall = np.clip(1.0 - r2, 0.0, None) ** 2
        out: np.ndarray = rel * (self.amount * fall)[:, None]
        return out

    def reach(self) -> np.ndarray:
        r = self.radius
        return np.array([self.centre - r, self.centre + r])


def eye_bulges(lm: np.ndarray, amount: float) -> list[EyeBulge]:
    out = []
    lm = lm.astype(np.float64)
    for corners, iris in ((RIGHT_EYE_CORNERS, 468), (LEFT_EYE_CORNERS, 473)):
        a, b = lm[corners[0]], lm[corners[1]]
        centre = lm[iris] if lm.shape[0] > iris else 0.5 * (a + b)
        width = float(np.linalg.norm(a - b))
        if width > 1.0:
            out.append(EyeBulge(centre, EYE_RADIUS * width, amount * EYE_MAX_SCALE))
    return out


def forward_parts(
    lm: np.ndarray, size: float, eye_enlarge: float, face_slim: float
) -> list[SlimField | EyeBulge]:
    parts: list[SlimField | EyeBulge] = []
    if eye_enlarge > 0:
        parts += eye_bulges(lm, eye_enlarge)
    if face_slim > 0:
        parts.append(SlimField(lm, size, face_slim))
    return parts


def _grid(rect: Rect, step: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Coarse grid whose bilinear upsampling by ``cv2.resize`` lands on ``rect``'s pixels."""
    nx = max(int(np.ceil(rect.width / step)), 2)
    ny = max(int(np.ceil(rect.height / step)), 2)
    gx = (np.arange(nx) + 0.5) * (rect.width / nx) - 0.5 + rect.x0
    gy = (np.arange(ny) + 0.5) * (rect.height / ny) - 0.5 + rect.y0
    return gx, gy, (nx, ny)


def inverse_field(
    lm: np.ndarray,
    size: float,
    frame_size: tuple[int, int],
    eye_enlarge: float,
    face_slim: float,
) -> WarpField | None:
    """Backward displacement ``S(p) − p`` on the warp's ROI (full resolution), or None."""
    parts = forward_parts(lm, size, eye_enlarge, face_slim)
    if not parts:
        return None
    reach = np.concatenate([p.reach() for p in parts], axis=0)
    rect = Rect.around(reach, 2.0, frame_size)
    if rect.empty:
        return None
    gx, gy, (nx, ny) = _grid(rect, max(size / GRID_CELLS, 1.0))
    px, py = np.meshgrid(gx, gy)
    pts = np.stack([px.ravel(), py.ravel()], axis=1)
    fwd = np.zeros_like(pts)
    for part in parts:
        fwd += part(pts)
    fwd_x = fwd[:, 0].reshape(ny, nx).astype(np.float32)
    fwd_y = fwd[:, 1].reshape(ny, nx).astype(np.float32)
    # Grid index of a frame position, for sampling the forward field between grid points.
    sx, sy = (gx[-1] - gx[0]) / (nx - 1), (gy[-1] - gy[0]) / (ny - 1)
    grid_x, grid_y = px.astype(np.float32), py.astype(np.float32)

    def forward_at(qx: np.ndarray, qy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = ((qx - np.float32(gx[0])) / np.float32(sx)).astype(np.float32)
        v = ((qy - np.float32(gy[0])) / np.float32(sy)).astype(np.float32)
        return (
            cv2.remap(fwd_x, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT),
            cv2.remap(fwd_y, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT),
        )

    # Fixed point S = p − D(S); converges because |∇D| < 1 (it is a fraction of that).
    src_x, src_y = grid_x - fwd_x, grid_y - fwd_y
    for _ in range(INVERSE_ITERATIONS - 1):
        dx, dy = forward_at(src_x, src_y)
        src_x, src_y = grid_x - dx, grid_y - dy
    size_wh = (rect.width, rect.height)
    back_x = cv2.resize(src_x - grid_x, size_wh, interpolation=cv2.INTER_LINEAR)
    back_y = cv2.resize(src_y - grid_y, size_wh, interpolation=cv2.INTER_LINEAR)
    return WarpField(rect, back_x, back_y)


def apply_warp(image: np.ndarray, field: WarpField) -> None:
    """Resample ``image`` (modified in place) inside ``field.rect`` with the backward field."""
    r = field.rect
    h, w = r.height, r.width
    xs = np.arange(w, dtype=np.float32)[None, :] + field.dx
    ys = np.arange(h, dtype=np.float32)[:, None] + field.dy
    roi = image[r.slices]
    warped = cv2.remap(roi, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # Only the moved pixels change (bilinear resampling at an integer position is exact, but
    # writing through the mask also keeps untouched pixels bit-identical by construction).
    moved = (np.abs(field.dx) > 1e-3) | (np.abs(field.dy) > 1e-3)
    roi[moved] = warped[moved]
