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


# Mask reuse: the network skipped on a frame that the last network frame explains.
# A pixel is "unexplained" where the windowed |frame − key frame| exceeds the frame's noise level
# by more than this (grey levels, as MOTION_LO: below it the stabiliser calls the pixel still) ...
REUSE_RESIDUAL = MOTION_LO
# ... plus what a motion of this much (model pixels) explains at the pixel's gradient,
# |I(x + e) − I(x)| ≤ |∇I|·|e|. A mask edge that moves as little changes by at most a third of
# a model pixel; 0.3 keeps every frame's output within 40 dB PSNR of running the network on
# every frame on the tests' still, panned, walking, turning and hand sequences (0.5 let a
# person walking 0.8 model px a frame across a smooth room through: mask IoU 0.966).
REUSE_MOTION_TOLERANCE_PX = 0.3
# At most this share of the frame may be unexplained (a hand coming in, a turned head): above
# it the network runs. 0.2 % let the first sliver of a hand entering at the frame's edge through
# (39.1 dB); 0.1 % did not.
REUSE_UNEXPLAINED_MAX = 0.001
# After n tries in a row that found the frame changed, the next 2^n − 1 frames (at most this
# many) run the network without trying: a try costs 0.3-0.4 ms of CPU under load (measured, at
# 256×144), and while you move every try fails.
REUSE_BACKOFF_MAX_FRAMES = 7


class MaskReuse:
    """Decides whether a frame needs the network, and gives the last network mask when not.

    Keeps the last *network* frame (its grey image at model size and its raw mask: the key). A
    later frame reuses the key's mask when the key frame explains it everywhere but
    :data:`REUSE_UNEXPLAINED_MAX` of it (up to sensor noise and a sub-pixel motion), the key is
    recent, and fewer than ``every − 1`` frames have reused it. Anything that moves more (a hand,
    a turned head, a step aside, a camera pan) leaves pixels unexplained and the network runs.

    Warping the key mask by the frame's global motion (phase correlation, then one affine
    Lucas-Kanade step) was measured and dropped: it cost 1.0 ms of CPU a try against 1.8 ms for
    the network (under load 13), and under the same fidelity bounds it was accepted on only
    10-25 % of the demo's panned frames (the network's mask of a moved picture is not its old mask
    moved: beyond ~0.5 model px a frame the output fell to 36.6 dB).
    """

    def __init__(self) -> None:
        self.gray: np.ndarray | None = None
        self.raw: np.ndarray | None = None
        self.timestamp: float | None = None
        self.reused = 0
        """Frames that took the current key's mask so far."""
        self.last_unexplained: float | None = None
        """Share of unexplained pixels at the last try (for tests and the debug view)."""
        self.misses = 0
        """Tries in a row that found the frame changed."""
        self.wait = 0
        """Frames still to run the network without trying."""

    def reset(self) -> None:
        self.gray = self.raw = self.timestamp = self.last_unexplained = None
        self.reused = self.misses = self.wait = 0

    def key(self, gray: np.ndarray, raw: np.ndarray, timestamp: float) -> None:
        """The network ran on this frame: it becomes the key for the next ones."""
        self.gray = gray
        self.raw = raw
        self.timestamp = timestamp
        self.reused = 0

    def predict(self, gray: np.ndarray, timestamp: float, every: int) -> np.ndarray | None:
        """The mask for this frame without the network (the key's, not to be changed in place),
        or None when the network must run. ``gray``: the frame at model size (uint8);
        ``every``: the network runs at least once in this many frames (1: always)."""
        key, raw, t0 = self.gray, self.raw, self.timestamp
        if (
            every <= 1
            or key is None
            or raw is None
            or t0 is None
            or self.reused + 1 >= every
            or key.shape != gray.shape
            or not (0.0 <= timestamp - t0 <= MAX_GAP_S)
        ):
            return None
        if self.wait > 0:
            self.wait -= 1
            return None
        k = (MOTION_WINDOW, MOTION_WINDOW)
        local: np.ndarray = cv2.boxFilter(
            cv2.absdiff(gray, key), cv2.CV_32F, k, borderType=cv2.BORDER_REPLICATE
        )
        noise = min(noise_level(local[::4, ::4]) * NOISE_MARGIN, NOISE_FLOOR_MAX)
        # Sobel's 3×3 kernels give 8× the per-pixel gradient.
        gx, gy = cv2.spatialGradient(gray)
        grad = np.abs(gx, dtype=np.float32)
        grad += np.abs(gy, dtype=np.float32)
        cv2.boxFilter(grad, cv2.CV_32F, k, dst=grad, borderType=cv2.BORDER_REPLICATE)
        grad *= np.float32(REUSE_MOTION_TOLERANCE_PX / 8.0)
        local -= grad
        unexplained = float(np.count_nonzero(local > noise + REUSE_RESIDUAL)) / local.size
        self.last_unexplained = unexplained
        if unexplained > REUSE_UNEXPLAINED_MAX:
            self.misses = min(self.misses + 1, 8)
            self.wait = min(2**self.misses - 1, REUSE_BACKOFF_MAX_FRAMES)
            return None
        self.misses = 0
        self.reused += 1
        return raw
