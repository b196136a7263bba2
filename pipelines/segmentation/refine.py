"""Edge-aware upsampling of the low-resolution person mask: a fast guided filter.

The guided filter (He, Sun & Tang) fits, in every window, the mask as a linear function of the
frame's brightness, ``q = a·I + b``; where the frame has an edge the mask gets one too, where it
is flat the mask stays smooth. The fast variant (He & Sun, 2015) fits ``a`` and ``b`` on a
downscaled guide (here about 1/4 of a 720p frame) and only evaluates ``a·I + b`` at full size,
so the cost at full size is two bilinear resizes and one multiply-add.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# Guide resolution: the frame is halved until its long side is at most this. 320 keeps the
# fitted a/b fine enough for hair strands' clumps while the fit costs ~0.3 ms.
GUIDE_LONG_SIDE = 320
PYRAMID_KEY = "frame_pyramid"
MASK_PYRAMID_KEY = "mask_pyramid"
# Mask swing (max - min in the filter window) below LO: unsure area, keep the plain upsampled
# mask; above HI: a clear outline, follow the frame's edges fully.
CONFIDENT_SWING_LO = 0.25
CONFIDENT_SWING_HI = 0.55


class Scratch:
    """Reusable work arrays, by name. Full-size temporaries allocated afresh on every frame
    cost page faults and evict the cache (each is 3.7 MB at 720p); only a stage's per-frame
    *results* need new arrays (later stages and other threads may keep them)."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        arr = self._arrays.get(name)
        if arr is None or arr.shape != shape or arr.dtype != np.dtype(dtype):
            arr = self._arrays[name] = np.empty(shape, dtype)
        return arr

    def clear(self) -> None:
        self._arrays.clear()


class FramePyramid:
    """The frame and its successive halvings, each computed once, on demand.

    A bilinear resize to exactly half size averages each 2×2 block, so level ``f`` is a box
    filter of the frame (no aliasing) at a fraction of the cost of one INTER_AREA resize.
    The segmentation stage leaves its pyramid in ``ctx.extras["frame_pyramid"]`` so the
    background stages reuse the reduced frames; ``source`` lets them check that the frame they
    got is still the one the pyramid was built from (a stage in between may have changed it).
    """

    def __init__(self, image: np.ndarray) -> None:
        self.source = image
        self._levels: dict[int, np.ndarray] = {1: image}

    def level(self, factor: int) -> np.ndarray:
        """The frame reduced by ``factor`` (a power of two; sizes are floored at each halving)."""
        if factor in self._levels:
            return self._levels[factor]
        if factor < 1 or factor & (factor - 1):
            raise ValueError(f"pyramid factor must be a power of two, not {factor}")
        parent = self.level(factor // 2)
        h, w = parent.shape[:2]
        out = cv2.resize(parent, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_LINEAR)
        self._levels[factor] = out
        return out

    def seed(self, factor: int, reduced: np.ndarray) -> None:
        """Provide level ``factor`` from elsewhere (it must be the source at that size)."""
        self._levels[factor] = reduced

    def factor_for(self, max_long_side: int) -> int:
        """The smallest reduction whose long side is ≤ ``max_long_side``."""
        factor = 1
        long_side = max(self.source.shape[:2])
        while long_side // factor > max_long_side:
            factor *= 2
        return factor

    @classmethod
    def of(cls, image: np.ndarray, extras: dict[str, Any]) -> FramePyramid:
        """The pyramid in ``extras`` if it was built from ``image`` itself, else a new one."""
        pyramid = extras.get(PYRAMID_KEY)
        if isinstance(pyramid, FramePyramid) and pyramid.source is image:
            return pyramid
        return cls(image)


def box_downscale(image: np.ndarray, max_long_side: int) -> tuple[np.ndarray, int]:
    """Halve ``image`` until its long side is ≤ ``max_long_side``; returns it and the factor."""
    pyramid = FramePyramid(image)
    factor = pyramid.factor_for(max_long_side)
    return pyramid.level(factor), factor


def guided_filter_coefficients(
    guide: np.ndarray, mask: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Box-averaged ``a`` and ``b`` of the grey-guide guided filter (same size as ``guide``).

    ``guide`` and ``mask`` are float32 H×W; ``guide`` in [0, 1]. ``eps`` is the variance of the
    guide below which a window counts as flat (the mask is smoothed there instead of following
    the frame's texture).
    """
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    mean_p = box(mask)
    corr_ip = box(guide * mask)
    corr_ii = box(guide * guide)
    var_i = corr_ii - mean_i * mean_i
    cov_ip = corr_ip - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return box(a), box(b)


def transition_confidence(mask: np.ndarray, radius: int) -> np.ndarray:
    """How sure the mask is that a person/background transition lies nearby, in [0, 1].

    Near a real outline the low-resolution mask swings from ~0 to ~1 within a few pixels; where
    the model is unsure it hovers around 0.5 over a wide area. Snapping to the frame's edges
    only helps in the first case; in the second it would trace clothing texture, so the
    refinement is faded out there (range of the mask in the window below CONFIDENT_SWING_LO).
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * radius + 1, 2 * radius + 1))
    swing = cv2.dilate(mask, kernel) - cv2.erode(mask, kernel)
    conf = (swing - np.float32(CONFIDENT_SWING_LO)) * np.float32(
        1.0 / (CONFIDENT_SWING_HI - CONFIDENT_SWING_LO)
    )
    return np.clip(conf, 0.0, 1.0, out=conf)


class GuidedUpsampler:
    """Turns a low-resolution mask into a full-resolution one that follows the frame's edges."""

    def __init__(self, radius: int = 4, eps: float = 2e-3, detail_factor: int = 1) -> None:
        self.radius = radius
        self.eps = eps
        self.scratch = Scratch()
        self.last_guide_mask: np.ndarray | None = None
        """The refined mask evaluated at the guide's size (a·I + b there), for callers that
        want a small copy of the result without shrinking the full one."""
        self.detail_factor = detail_factor
        """Pyramid level at which ``a·I + b`` is evaluated: 1 = full size; 2 = half size, then
        resized (about 1 ms less at 720p on two cores; the outline is then 2 px wide, not 1)."""

    def __call__(
        self, frame: np.ndarray | FramePyramid, mask: np.ndarray, guide_factor: int | None = None
    ) -> np.ndarray:
        """``mask``: float32 at any small size; returns float32 H×W in [0, 1] at the frame's size.

        ``frame`` is the BGR uint8 frame or its :class:`FramePyramid`; the coefficients are fitted
        at ``guide_factor`` (default: long side ≤ :data:`GUIDE_LONG_SIDE`).
        """
        pyramid = frame if isinstance(frame, FramePyramid) else FramePyramid(frame)
        h, w = pyramid.source.shape[:2]
        if guide_factor is None:
            guide_factor = pyramid.factor_for(GUIDE_LONG_SIDE)
        guide_small = pyramid.level(guide_factor)
        gh, gw = guide_small.shape[:2]
        guide = cv2.cvtColor(guide_small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        guide *= np.float32(1.0 / 255.0)
        if mask.shape != (gh, gw):
            mask = cv2.resize(mask, (gw, gh), interpolation=cv2.INTER_LINEAR)
        a, b = guided_filter_coefficients(guide, mask, self.radius, self.eps)
        conf = transition_confidence(mask, 2 * self.radius)
        # q = conf·(a·I + b) + (1 - conf)·mask, folded into a and b so full size costs nothing.
        a *= conf
        b = conf * b + (1.0 - conf) * mask
        # The full-size guide stays uint8 (0..255): fold its scale into a at the small size.
        a *= np.float32(1.0 / 255.0)
        small_q = a * (guide * np.float32(255.0)) + b
        self.last_guide_mask = np.clip(small_q, 0.0, 1.0, out=small_q)
        detail = pyramid.level(min(self.detail_factor, guide_factor))
        out_h, out_w = detail.shape[:2]
        sc = self.scratch
        gray = cv2.cvtColor(
            detail, cv2.COLOR_BGR2GRAY, dst=sc.get("gray", (out_h, out_w), np.uint8)
        )
        a_up = cv2.resize(a, (out_w, out_h), dst=sc.get("a", (out_h, out_w)))
        b_up = cv2.resize(b, (out_w, out_h), dst=sc.get("b", (out_h, out_w)))
        full = (out_w, out_h) == (w, h)
        # The result is a new array (ctx keeps it); the temporaries are reused.
        q = np.empty((out_h, out_w), np.float32) if full else sc.get("q", (out_h, out_w))
        cv2.multiply(a_up, gray, dst=q, dtype=cv2.CV_32F)
        cv2.add(q, b_up, dst=q)
        np.clip(q, 0.0, 1.0, out=q)
        if not full:
            q = cv2.resize(q, (w, h), interpolation=cv2.INTER_LINEAR)
        return q
