"""Putting the avatar into the video: a corner overlay, or a stand-in for the whole picture.

Masks and backdrops depend only on sizes and shape settings, so they are built once and
cached; per frame it is one resize of the 512×512 avatar and one blend over the overlay's box.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

from pipelines.registry import Registry

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")

MaskShape = Callable[[int, float], np.ndarray]
SHAPES: Registry[MaskShape] = Registry("overlay shape")
"""Overlay mask shapes: name → (side in pixels, corner radius fraction) → side×side float32."""


def _aa_mask(side: int, draw: Callable[[np.ndarray, int], None]) -> np.ndarray:
    """Draw at 4× and shrink: smooth edges without a blur."""
    big = np.zeros((side * 4, side * 4), np.uint8)
    draw(big, side * 4)
    return cv2.resize(big, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


@SHAPES.register("round")
def _round(side: int, radius: float) -> np.ndarray:
    def draw(m: np.ndarray, s: int) -> None:
        cv2.circle(m, (s // 2, s // 2), s // 2 - 2, 255, -1)

    return _aa_mask(side, draw)


@SHAPES.register("rounded-rect")
def _rounded_rect(side: int, radius: float) -> np.ndarray:
    def draw(m: np.ndarray, s: int) -> None:
        r = int(max(1, min(0.5, radius) * s))
        cv2.rectangle(m, (r, 0), (s - 1 - r, s - 1), 255, -1)
        cv2.rectangle(m, (0, r), (s - 1, s - 1 - r), 255, -1)
        for cx, cy in ((r, r), (s - 1 - r, r), (r, s - 1 - r), (s - 1 - r, s - 1 - r)):
            cv2.circle(m, (cx, cy), r, 255, -1)

    return _aa_mask(side, draw)


@SHAPES.register("square")
def _square(side: int, radius: float) -> np.ndarray:
    return np.ones((side, side), np.float32)


@lru_cache(maxsize=16)
def overlay_masks(side: int, shape: str, radius: float, border: int) -> tuple[np.ndarray, ...]:
    """(inner mask for the avatar, ring mask for the border), side×side×1 float32."""
    outer = SHAPES.get(shape)(side, radius)
    if border > 0:
        inner_side = max(2, side - 2 * border)
        inner = np.zeros_like(outer)
        inner[border : border + inner_side, border : border + inner_side] = SHAPES.get(shape)(
            inner_side, radius * side / inner_side
        )
    else:
        inner = outer
    ring = np.clip(outer - inner, 0.0, 1.0)
    return inner[..., None], ring[..., None]


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Resize a square image to side×side: halvings (pyrDown, cheap and alias-free) while it is
    more than twice too big, then one bilinear step. INTER_AREA at an odd ratio costs ~1 ms."""
    while image.shape[0] >= 2 * side and image.shape[0] > 16:
        image = cv2.pyrDown(image)
    if image.shape[0] == side and image.shape[1] == side:
        return image
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR)


def overlay_box(
    frame_size: tuple[int, int], side: int, corner: str, margin: int
) -> tuple[int, int]:
    """Top-left corner of the overlay in the frame."""
    width, height = frame_size
    x = margin if "left" in corner else width - side - margin
    y = margin if "top" in corner else height - side - margin
    return max(0, x), max(0, y)


def compose_overlay(
    frame: np.ndarray,
    avatar: np.ndarray,
    *,
    size: float,
    corner: str,
    shape: str,
    radius: float,
    border: int,
    border_bgr: tuple[int, int, int],
    margin: float = 0.03,
    opacity: float = 1.0,
) -> np.ndarray:
    """Blend ``avatar`` into ``frame`` (in place) in a corner; ``size`` is a fraction of the
    frame's height."""
    h, w = frame.shape[:2]
    side = round(min(size * h, h, w))
    if side < 8:
        return frame
    m = round(margin * h)
    x, y = overlay_box((w, h), side, corner, m)
    side = min(side, w - x, h - y)
    inner, ring = overlay_masks(side, shape, radius, border)
    small = shrink(avatar, side)
    roi = frame[y : y + side, x : x + side]
    a = inner[..., 0] * opacity if opacity < 1.0 else inner[..., 0]
    # cv2.blendLinear works on the 8-bit pixels directly (float weights): no float images.
    out = cv2.blendLinear(small, np.ascontiguousarray(roi), a, 1.0 - a)
    if border > 0:
        rb = ring[..., 0] * opacity if opacity < 1.0 else ring[..., 0]
        color = np.empty_like(out)
        color[:] = np.asarray(border_bgr, np.uint8)
        out = cv2.blendLinear(color, out, rb, 1.0 - rb)
    frame[y : y + side, x : x + side] = out
    return frame


def make_backdrop(portrait: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """The portrait filling the frame, blurred and dimmed (behind a stand-in)."""
    w, h = frame_size
    ph, pw = portrait.shape[:2]
    scale = max(w / pw, h / ph)
    big = cv2.resize(portrait, (int(np.ceil(pw * scale)), int(np.ceil(ph * scale))))
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    crop = big[y0 : y0 + h, x0 : x0 + w]
    blurred = cv2.GaussianBlur(crop, (0, 0), max(4.0, 0.03 * h))
    return (blurred * 0.6).astype(np.uint8)


def compose_standin(frame: np.ndarray, avatar: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """Replace the picture: the avatar as large as fits, centred, over ``backdrop``
    (:func:`make_backdrop`, built once per frame size)."""
    h, w = frame.shape[:2]
    out = backdrop.copy()
    side = min(h, w)
    small = shrink(avatar, side)
    x, y = (w - side) // 2, (h - side) // 2
    out[y : y + side, x : x + side] = small
    return out
