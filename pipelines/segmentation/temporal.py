"""Motion-aware temporal stabilisation of the person mask, at model resolution.

Each pixel's mask moves towards the newest model output by a fraction ``alpha``: small where the
picture did not change (sensor noise makes the model's edge wobble from frame to frame; averaging
over a few frames stills it), 1 where the picture moved (the mask must follow the person at once,
never trail behind). "Moved" is decided from the frame itself, not from the mask, so a mask that
wobbles on a still picture is smoothed however much it wobbles.
"""

from __future__ import annotations

import cv2
import numpy as np

# Mean absolute grey-level change (0..255) in a 5×5 window, measured at model resolution,
# above the frame's noise level: below LO the pixel is still, above HI it is moving.
MOTION_LO = 3.0
MOTION_HI = 10.0
MOTION_WINDOW = 5
# Sensor noise raises the frame difference everywhere. Its level is taken as this percentile
# of the windowed difference (most of a webcam frame is still), times NOISE_MARGIN, and is
# added to the thresholds; capped so a camera pan cannot disable motion detection.
NOISE_PERCENTILE = 25
NOISE_MARGIN = 1.5
NOISE_FLOOR_MAX = 12.0
# Frames further apart than this (a pause, a dropped stretch) share nothing: start over.
MAX_GAP_S = 0.5
# ``smoothing`` is the weight kept by the old mask per frame at this rate; other rates get the
# same time constant.
REFERENCE_FPS = 30.0


_GROW = np.ones((3, 3), np.uint8)


def noise_level(sample: np.ndarray) -> float:
    """``np.percentile(sample, NOISE_PERCENTILE)`` (linear interpolation), by partial sort."""
    flat = sample.ravel()
    n = flat.size
    pos = NOISE_PERCENTILE / 100.0 * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    part = np.partition(flat, (lo, hi))
    low, high = float(part[lo]), float(part[hi])
    return low + (high - low) * (pos - lo)


class MaskStabilizer:
    """Keeps the previous mask and frame; call :meth:`update` once per frame, in order."""

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None
        self.gray: np.ndarray | None = None
        self.timestamp: float | None = None
        self.last_alpha: np.ndarray | None = None
        """The blend weights of the last update (for tests and the debug view)."""

    def reset(self) -> None:
        self.mask = self.gray = self.timestamp = self.last_alpha = None

    def motion(self, gray: np.ndarray) -> np.ndarray:
        """Windowed mean |frame change| minus the frame's noise level (grey levels)."""
        assert self.gray is not None
        diff = cv2.absdiff(gray, self.gray)
        k = (MOTION_WINDOW, MOTION_WINDOW)
        local: np.ndarray = cv2.boxFilter(diff, cv2.CV_32F, k, borderType=cv2.BORDER_REPLICATE)
        # Grow moving areas by a pixel so the whole edge band of a moving outline follows.
        cv2.dilate(local, _GROW, dst=local)
        noise = noise_level(local[::4, ::4]) * NOISE_MARGIN
        local -= np.float32(min(noise, NOISE_FLOOR_MAX))
        return local

    def weights(self, gray: np.ndarray, timestamp: float, smoothing: float) -> np.ndarray | None:
        """This frame's per-pixel share of the new mask (it depends on the frames alone, so it
        can be computed before the network's mask is there), or None when the running mask
        starts over. ``gray``: the frame at model resolution (uint8); ``smoothing`` in
        [0, 1): how much of the old mask a still pixel keeps per frame at 30 fps."""
        if (
            self.mask is None
            or self.gray is None
            or self.timestamp is None
            or self.gray.shape != gray.shape
            or not (0.0 <= timestamp - self.timestamp <= MAX_GAP_S)
            or smoothing <= 0.0
        ):
            return None
        dt = max(timestamp - self.timestamp, 1e-3)
        keep = float(smoothing) ** (dt * REFERENCE_FPS)
        still_alpha = np.float32(1.0 - keep)
        ramp = self.motion(gray)
        ramp -= np.float32(MOTION_LO)
        ramp *= np.float32(1.0 / (MOTION_HI - MOTION_LO))
        return np.clip(ramp, still_alpha, 1.0, out=ramp)

    def apply(
        self, mask: np.ndarray, gray: np.ndarray, timestamp: float, alpha: np.ndarray | None
    ) -> np.ndarray:
        """Blend ``mask`` (float32, model resolution) into the running mask with this frame's
        :meth:`weights` ``alpha`` and return the running mask."""
        if alpha is None or self.mask is None or self.mask.shape != mask.shape:
            self.mask = mask.copy()
            self.gray = gray.copy()
            self.timestamp = timestamp
            self.last_alpha = np.ones_like(mask)
            return self.mask
        step = np.subtract(mask, self.mask, dtype=np.float32)
        step *= alpha
        self.mask += step
        self.gray = gray.copy()
        self.timestamp = timestamp
        self.last_alpha = alpha
        return self.mask

    def update(
        self, mask: np.ndarray, gray: np.ndarray, timestamp: float, smoothing: float
    ) -> np.ndarray:
        """Blend ``mask`` (float32, model resolution) into the running mask and return it
        (:meth:`weights`, then :meth:`apply`).

        ``gray`` is the frame at the same resolution (uint8); ``smoothing`` in [0, 1): how much
        of the old mask a still pixel keeps per frame at 30 fps.
        """
        return self.apply(mask, gray, timestamp, self.weights(gray, timestamp, smoothing))
