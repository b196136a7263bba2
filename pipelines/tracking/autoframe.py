"""The ``auto_frame`` stage: a virtual camera crop that follows the primary face.

Center-Stage style: the crop keeps the face at a set size and a little above the middle,
holds still while the face moves inside a dead zone, and glides (a critically damped spring,
timestamp-driven) when it has to move; with no face it eases back to the full frame. The
output has the input's size. Face results and the mask in ``ctx`` are mapped into the
cropped picture so later stages stay aligned with it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Annotated

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import FrameContext
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking.types import AUTO_FRAME_INFO, AutoFrameInfo, Face

STAGE_NAME = "auto_frame"
HEADROOM = 0.42
"""Face centre at this fraction of the crop's height from its top (portrait convention)."""
MAX_DT = 0.25
"""Seconds; a longer gap between frames is treated as this (no overshoot after a stall)."""


@dataclass(frozen=True)
class AutoFrameSettings(StageSettings):
    face_size: Annotated[float, Meta(ge=0.05, le=1.0)] = 0.30
    """Face height as a fraction of the output height."""
    max_zoom: Annotated[float, Meta(ge=1.0, le=6.0)] = 2.5
    dead_zone: Annotated[float, Meta(ge=0.0, le=0.5)] = 0.08
    """The crop holds still while the face stays within this fraction of the crop size from
    where the crop wants it (and the wanted zoom changes by less than this fraction)."""
    smoothing: Annotated[float, Meta(ge=0.0, le=5.0)] = 0.6
    """Seconds the crop takes to settle (0 = jump)."""
    return_seconds: Annotated[float, Meta(ge=0.0, le=30.0)] = 1.0
    """With no face for this long, the crop eases back to the full frame."""


@dataclass
class _Spring:
    """Critically damped spring per coordinate (x, y, height)."""

    pos: np.ndarray
    vel: np.ndarray

    def step(self, target: np.ndarray, dt: float, settle: float) -> None:
        if settle <= 0 or dt <= 0:
            if settle <= 0:
                self.pos = target.copy()
                self.vel[:] = 0.0
            return
        omega = 4.0 / settle  # ~98 % settled after `settle` seconds
        x = omega * dt
        decay = math.exp(-x)
        delta = self.pos - target
        temp = (self.vel + omega * delta) * dt
        self.vel = (self.vel - omega * temp) * decay
        self.pos = target + (delta + temp) * decay


def crop_matrix(cx: float, cy: float, crop_h: float, out_w: int, out_h: int) -> np.ndarray:
    """2×3 affine: frame pixels → output pixels for a crop centred at (cx, cy)."""
    s = out_h / crop_h
    return np.array([[s, 0.0, out_w / 2.0 - s * cx], [0.0, s, out_h / 2.0 - s * cy]])


def clamp_crop(cx: float, cy: float, crop_h: float, w: int, h: int) -> tuple[float, float, float]:
    crop_h = float(np.clip(crop_h, 1.0, h))
    crop_w = crop_h * w / h
    cx = float(np.clip(cx, crop_w / 2.0, w - crop_w / 2.0))
    cy = float(np.clip(cy, crop_h / 2.0, h - crop_h / 2.0))
    return cx, cy, crop_h


def map_face(face: Face, matrix: np.ndarray) -> Face:
    """The face with landmarks and box in the cropped picture's pixels."""
    s = matrix[0, 0]

    def move(lm: np.ndarray) -> np.ndarray:
        out = lm.copy()
        out[:, 0] = lm[:, 0] * s + matrix[0, 2]
        out[:, 1] = lm[:, 1] * s + matrix[1, 2]
        out[:, 2] = lm[:, 2] * s
        return out

    x, y, bw, bh = face.bbox
    return dataclasses.replace(
        face,
        landmarks=move(face.landmarks),
        raw_landmarks=None if face.raw_landmarks is None else move(face.raw_landmarks),
        bbox=(x * s + matrix[0, 2], y * s + matrix[1, 2], bw * s, bh * s),
    )


@register_stage
class AutoFrame(Stage[AutoFrameSettings]):
    name = STAGE_NAME
    settings_type = AutoFrameSettings

    def __init__(self, settings: AutoFrameSettings | None = None) -> None:
        super().__init__(settings)
        self._spring: _Spring | None = None
        self._target: np.ndarray | None = None
        self._t: float | None = None
        self._last_face_t: float | None = None

    def close(self) -> None:
        self.forget_frames()
        super().close()

    def forget_frames(self) -> None:
        # The crop eased toward the last face: a new scene's face is framed at once.
        self._spring = None
        self._target = None
        self._t = None

    def _wanted(self, face: Face | None, w: int, h: int, s: AutoFrameSettings) -> np.ndarray:
        if face is None:
            return np.array([w / 2.0, h / 2.0, float(h)])
        x, y, bw, bh = face.bbox
        crop_h = max(bh / s.face_size, h / s.max_zoom)
        cx = x + bw / 2.0
        cy = y + bh / 2.0 + (0.5 - HEADROOM) * crop_h
        return np.array(clamp_crop(cx, cy, crop_h, w, h))

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        h, w = image.shape[:2]
        t = ctx.timestamp
        face = ctx.primary_face
        if face is not None and getattr(face, "visibility", 1.0) > 0:
            self._last_face_t = t
            wanted = self._wanted(face, w, h, s)
        elif (
            self._target is not None
            and self._last_face_t is not None
            and 0 <= t - self._last_face_t < s.return_seconds
        ):
            wanted = self._target  # the face may be back in a moment: hold the framing
        else:
            wanted = self._wanted(None, w, h, s)
        if self._target is None or self._spring is None or self._spring.pos.shape != (3,):
            self._target = wanted
            self._spring = _Spring(wanted.copy(), np.zeros(3))
        else:
            # Dead zone: move the target only when the wanted framing left it.
            crop_h = self._target[2]
            off = np.abs(wanted[:2] - self._target[:2]) / crop_h
            zoom_change = abs(wanted[2] - self._target[2]) / self._target[2]
            if off.max() > s.dead_zone or zoom_change > s.dead_zone:
                self._target = wanted
        dt = 0.0 if self._t is None else min(max(t - self._t, 0.0), MAX_DT)
        self._t = t
        self._spring.step(self._target, dt, s.smoothing)
        pos = self._spring.pos
        cx, cy, crop_h = clamp_crop(float(pos[0]), float(pos[1]), float(pos[2]), w, h)
        matrix = crop_matrix(cx, cy, crop_h, w, h)
        info: AutoFrameInfo = {
            "crop": (cx - crop_h * w / h / 2.0, cy - crop_h / 2.0, crop_h * w / h, crop_h),
            "zoom": h / crop_h,
        }
        ctx.put(AUTO_FRAME_INFO, info)
        if abs(crop_h - h) < 0.5 and abs(cx - w / 2.0) < 0.5 and abs(cy - h / 2.0) < 0.5:
            return image  # full frame: nothing to resample
        out = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        ctx.faces = [map_face(f, matrix) for f in ctx.faces]
        if ctx.primary_face is not None:
            ctx.primary_face = next(
                (f for f in ctx.faces if f.id == ctx.primary_face.id), ctx.primary_face
            )
        if ctx.mask is not None:
            ctx.mask = cv2.warpAffine(ctx.mask, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        return out
