"""Motion-aware temporal stabilisation of the person mask, at model resolution.

Each pixel's mask moves towards the newest model output by a fraction ``alpha``: small where the
picture did not change (sensor noise makes the model's edge wobble from frame to frame; averaging
over a few frames stills it), 1 where the picture moved (the mask must follow the person at once,
never trail behind). "Moved" is decided from the frame itself, not from the mask, so a mask that
wobbles on a still picture is smoothed however much it wobbles.
"""

from __future__ import annotations

import math

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

# Motion-compensated reuse (:meth:`MaskReuse._warp`), on the guided filter's guide (320×180 at
# 720p: 4 frame px a guide px) or, without one, at model resolution.
WARP_CORNERS_MAX = 40
WARP_CORNERS_MIN = 10
"""Fewer trackable corners inside the key's person (a featureless or tiny person): no warp."""
WARP_CORNER_QUALITY = 0.01
WARP_CORNER_SPACING = 2
"""Found on the picture halved (0.1 instead of 0.36 ms at 320×180), so 4 px apart at full."""
WARP_CLEARANCE_PX = 6
"""Corners lie at least this far inside the person's outline, so that the flow's window
(:data:`WARP_FLOW_WINDOW`) sees the person alone, not the room behind, which may stand
still while the person moves."""
WARP_FLOW_WINDOW = (9, 9)
WARP_FLOW_LEVELS = 0
"""No pyramid: the moves taken are below a pixel (:data:`WARP_MOVE_MAX_PX`), well inside the
window, and each level measured 0.08 ms more per flow at 320×180."""
WARP_FLOW_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03)
WARP_BACK_ERROR_MAX = 0.2
"""Px (of the picture the warp runs on): a corner whose flow, run back, misses its start by
more is dropped."""
WARP_FOLLOWED_MIN = 0.8
"""Share of the key's corners that must follow both ways (something covering the person
breaks this)."""
WARP_RESIDUAL_MAX = 0.15
"""Px, 90th percentile of the corners' distance from the fitted similarity: above it
the person does not move as one (a head turn, an arm, a hand in front)."""
WARP_RESIDUAL_QUANTILE = 90
WARP_MOVE_MAX_PX = 0.6
"""Px of the picture the warp runs on (the guide: 2.4 px at 720p): the most the corners may
have moved on average since the key. With the demo's exact motion as the warp, Studio's
output stayed at 41-60 dB of the network on every frame up to 3 px of mean motion a frame at
720p and fell below 40 dB only beyond 4 (see the class's docstring)."""


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 least-squares similarity (rotation, scale, shift) taking the N×2 points ``src``
    to ``dst``. Plain least squares, not a robust fit (LMEDS cost 0.15 ms a try): a corner
    that moved otherwise shows in the residual, and the warp is then refused."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    den = max(float((a * a).sum()), 1e-12)
    c = float((a * b).sum()) / den
    s = float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()) / den
    rot = np.array([[c, -s], [s, c]])
    return np.hstack([rot, (md - rot @ ms)[:, None]])


class MaskReuse:
    """Decides whether a frame needs the network, and gives a mask without it when not.

    Keeps the last *network* frame (its grey image at model size and its raw mask: the key). A
    later frame reuses the key's mask when the key frame explains it everywhere but
    :data:`REUSE_UNEXPLAINED_MAX` of it (up to sensor noise and a sub-pixel motion), the key is
    recent, and fewer than ``every − 1`` frames have reused it (a *still* reuse). Failing that,
    a frame whose person moved rigidly and a little since the key (you swaying, the camera
    panning) takes the key's mask *warped* by that motion (:meth:`_warp`): corners inside the
    key's person, followed by Lucas-Kanade flow both ways, fitted with one similarity; refused
    when the corners disagree with it, when it moves more than :data:`WARP_MOVE_MAX_PX`, or
    when the key frame so moved (and, outside the person, the key frame unmoved: a still room)
    leaves more than :data:`REUSE_UNEXPLAINED_MAX` of this frame unexplained. Anything else (a
    hand, a turned head, a step aside) runs the network. Flow always starts from the key, so
    errors do not add up. The check that took the last reused frame is tried first (the warp
    while you move, the still check while you sit still), so a moving picture pays for one.

    A warp of the whole frame at model size (phase correlation, then one affine Lucas-Kanade
    step) was measured before and dropped: accepted on 10-25 % of the demo's panned frames. On
    the model's input, a nearest-neighbour shrink, a sub-pixel move changes the aliasing
    unpredictably; on the guide (box-filtered) the warp is accepted on 137 of the 310 frames of
    the 720p demo's bench run at cadence 2 (the network ran on 156, against 295 before). A try
    (the still check, then the warp) costs 0.74-0.76 of a network run (thread CPU, side by side
    in one process, load 10-13). The bound on the move is what fidelity allows: with the demo's
    exact motion as the warp, the network's own mask of a moved picture differs from its old
    mask moved by the network's frame-to-frame wobble, which kept Studio's output at 41-60 dB of
    the network on every frame up to 3 px (720p) of mean motion a frame and fell to 38.4 dB at
    4.2 px (the demo at twice its motion).
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
        self.fine: np.ndarray | None = None
        """The key's grey picture for the warp (:meth:`predict`'s ``fine``), if given."""
        self.corners: np.ndarray | None = None
        """N×1×2 float32: the key's corners for the warp (found at the first warp try)."""
        self.last_warp: np.ndarray | None = None
        """The 2×3 motion of the last warped reuse (px of the picture the warp ran on; for tests
        and the debug view)."""
        self.last_warp_mask: np.ndarray | None = None
        """The same motion in the mask's pixels (what moved the key's mask)."""
        self.warped = 0
        """Frames since :meth:`reset` that took a warped mask (a share of :attr:`reused`'s)."""
        self.still = True
        """Whether the last reuse was a still one (the key's mask as it is); False: warped."""
        self.refusal: str | None = None
        """Why the last warp try was refused (for tests and the debug view)."""

    def reset(self) -> None:
        self.gray = self.raw = self.timestamp = self.last_unexplained = None
        self.fine = self.corners = self.last_warp = self.last_warp_mask = None
        self.reused = self.misses = self.wait = self.warped = 0
        self.still = True

    def key(
        self, gray: np.ndarray, raw: np.ndarray, timestamp: float, fine: np.ndarray | None = None
    ) -> None:
        """The network ran on this frame: it becomes the key for the next ones. ``fine``: the
        frame's grey picture for the warp (see :meth:`predict`)."""
        self.gray = gray
        self.raw = raw
        self.timestamp = timestamp
        self.fine = fine
        self.reused = 0
        self.corners = None

    def predict(
        self, gray: np.ndarray, timestamp: float, every: int, fine: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The mask for this frame without the network (the key's, not to be changed in place,
        or a new one moved from it), or None when the network must run. ``gray``: the frame at
        model size (uint8); ``every``: the network runs at least once in this many frames (1:
        always); ``fine``: the frame's grey picture, box-filtered (the guided filter's guide,
        a few times the model's size): the warp works on it when the key has one too, else
        on ``gray``. The model's input is shrunk with a nearest-neighbour resize whose
        aliasing a sub-pixel move changes unpredictably: on ``gray`` the demo's pan left
        0.3-0.5 % of its pixels unexplained after the warp, on the guide (two halvings) 0-0.01 %."""
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
        # Which check first: the one that took the last reused frame. While you sway or the
        # camera pans nearly every try is warped (29 of 30 on the demo), and the still check
        # before the warp cost 0.8 ms a try for nothing; after a still reuse it comes first
        # again. A still frame that the warp is tried on first is taken warped (a motion of
        # a few hundredths of a pixel), as the still check would have taken it.
        warped = None if self.still else self._warp_key(gray, fine, raw)
        if warped is None:
            unexplained = self._unexplained(cv2.absdiff(gray, key), self._tolerance(gray))
            self.last_unexplained = unexplained
            if unexplained <= REUSE_UNEXPLAINED_MAX:
                self.still = True
                return self._reuse(raw)
            if self.still:
                warped = self._warp_key(gray, fine, raw)
        if warped is not None:
            self.still = False
            self.warped += 1
            return self._reuse(warped)
        self.misses = min(self.misses + 1, 8)
        self.wait = min(2**self.misses - 1, REUSE_BACKOFF_MAX_FRAMES)
        return None

    def _warp_key(
        self, gray: np.ndarray, fine: np.ndarray | None, raw: np.ndarray
    ) -> np.ndarray | None:
        """:meth:`_warp` from the key on the guide's grey picture when this frame and the key
        both have one, else at model size."""
        if fine is not None and self.fine is not None and self.fine.shape == fine.shape:
            return self._warp(fine, self.fine, raw)
        assert self.gray is not None
        return self._warp(gray, self.gray, raw)

    def _reuse(self, mask: np.ndarray) -> np.ndarray:
        self.misses = 0
        self.reused += 1
        return mask

    @staticmethod
    def _tolerance(gray: np.ndarray) -> np.ndarray:
        """What a motion of :data:`REUSE_MOTION_TOLERANCE_PX` explains at each pixel of
        ``gray``, windowed (grey levels)."""
        # Sobel's 3×3 kernels give 8× the per-pixel gradient.
        gx, gy = cv2.spatialGradient(gray)
        grad = np.abs(gx, dtype=np.float32)
        grad += np.abs(gy, dtype=np.float32)
        k = (MOTION_WINDOW, MOTION_WINDOW)
        cv2.boxFilter(grad, cv2.CV_32F, k, dst=grad, borderType=cv2.BORDER_REPLICATE)
        grad *= np.float32(REUSE_MOTION_TOLERANCE_PX / 8.0)
        return grad

    @staticmethod
    def _unexplained(diff: np.ndarray, tolerance: np.ndarray) -> float:
        """Share of the pixels whose windowed ``diff`` (|frame − what explains it|, uint8) is
        above the frame's noise level by more than :data:`REUSE_RESIDUAL` + ``tolerance``."""
        k = (MOTION_WINDOW, MOTION_WINDOW)
        local: np.ndarray = cv2.boxFilter(diff, cv2.CV_32F, k, borderType=cv2.BORDER_REPLICATE)
        noise = min(noise_level(local[::4, ::4]) * NOISE_MARGIN, NOISE_FLOOR_MAX)
        local -= tolerance
        return float(np.count_nonzero(local > noise + REUSE_RESIDUAL)) / local.size

    def _key_corners(self, key: np.ndarray, person: np.ndarray) -> np.ndarray | None:
        """The key's corners inside its person (``person``: uint8 0/1 at the key's size)."""
        if self.corners is None:
            side = 2 * WARP_CLEARANCE_PX + 1
            inside = cv2.erode(person, np.ones((side, side), np.uint8))
            h, w = key.shape
            half = (max(1, w // 2), max(1, h // 2))
            found = cv2.goodFeaturesToTrack(
                cv2.resize(key, half, interpolation=cv2.INTER_AREA), WARP_CORNERS_MAX,
                WARP_CORNER_QUALITY, WARP_CORNER_SPACING,
                mask=cv2.resize(inside, half, interpolation=cv2.INTER_NEAREST), blockSize=3,
            )  # fmt: skip
            if found is None:
                self.corners = np.zeros((0, 1, 2), np.float32)
            else:
                # Pixel centres of the halved picture to the full one's.
                self.corners = (found.astype(np.float32) * np.float32(2.0)) + np.float32(0.5)
        return self.corners if len(self.corners) >= WARP_CORNERS_MIN else None

    def _warp(self, gray: np.ndarray, key: np.ndarray, raw: np.ndarray) -> np.ndarray | None:
        """The key's mask ``raw`` moved by the person's rigid motion from ``key`` to ``gray``
        (grey pictures of the same size, any multiple of the mask's), or None when that motion
        is doubtful (see the class's docstring)."""
        h, w = gray.shape
        mh, mw = raw.shape
        same = (mh, mw) == (h, w)
        person_raw = raw if same else cv2.resize(raw, (w, h), interpolation=cv2.INTER_LINEAR)
        person = np.greater(person_raw, 0.5).view(np.uint8)
        p0 = self._key_corners(key, person)
        if p0 is None:
            self.refusal = "corners"
            return None
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(
            key, gray, p0, None, winSize=WARP_FLOW_WINDOW, maxLevel=WARP_FLOW_LEVELS,
            criteria=WARP_FLOW_CRITERIA,
        )  # fmt: skip
        back, st2, _ = cv2.calcOpticalFlowPyrLK(
            gray, key, p1, None, winSize=WARP_FLOW_WINDOW, maxLevel=WARP_FLOW_LEVELS,
            criteria=WARP_FLOW_CRITERIA,
        )  # fmt: skip
        ok = (st1[:, 0] == 1) & (st2[:, 0] == 1)
        ok &= np.linalg.norm((back - p0)[:, 0], axis=1) <= WARP_BACK_ERROR_MAX
        if ok.sum() < max(WARP_CORNERS_MIN, WARP_FOLLOWED_MIN * len(p0)):
            self.refusal = "followed"
            return None
        src, dst = p0[ok, 0].astype(np.float64), p1[ok, 0].astype(np.float64)
        fit = similarity(src, dst)
        moved = src @ fit[:, :2].T + fit[:, 2]
        residual = np.hypot(*(moved - dst).T)
        rank = round(WARP_RESIDUAL_QUANTILE / 100.0 * (len(residual) - 1))
        if float(np.partition(residual, rank)[rank]) > WARP_RESIDUAL_MAX:
            self.refusal = "residual"
            return None
        if float(np.hypot(*(moved - src).T).mean()) > WARP_MOVE_MAX_PX:
            self.refusal = "move"
            return None
        key_moved = cv2.warpAffine(
            key, fit, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        # Inside the person (and a band around it) the key must explain this frame moved; in
        # the room beyond it may also explain it unmoved (a still room behind a moving person).
        diff: np.ndarray = cv2.absdiff(gray, key_moved)
        # The room: the key's, beyond its person grown by the window and the move (under a
        # pixel), so that it is the room in this frame too.
        side = 2 * (MOTION_WINDOW + 1) + 1
        room = cv2.erode(1 - person, np.ones((side, side), np.uint8))
        np.copyto(diff, np.minimum(diff, cv2.absdiff(gray, key)), where=room > 0)
        # What came into the picture at its edges (a pan) the key never saw is not checked:
        # a ring as wide as the largest move of a corner of the picture.
        corners = np.array([[0.0, 0.0], [w - 1.0, 0.0], [0.0, h - 1.0], [w - 1.0, h - 1.0]])
        ring = math.ceil(float(np.abs(corners @ fit[:, :2].T + fit[:, 2] - corners).max()))
        if ring > 0:
            diff[:ring] = diff[-ring:] = 0
            diff[:, :ring] = diff[:, -ring:] = 0
        self.last_unexplained = self._unexplained(diff, self._tolerance(gray))
        if self.last_unexplained > REUSE_UNEXPLAINED_MAX:
            self.refusal = "unexplained"
            return None
        self.refusal = None
        self.last_warp = fit
        if not same:
            # The same motion in the mask's pixels (centres map to centres).
            sx, sy = w / mw, h / mh
            to_fine = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
            full = np.vstack([fit, [0.0, 0.0, 1.0]])
            fit = (np.linalg.inv(to_fine) @ full @ to_fine)[:2]
        self.last_warp_mask = fit
        moved_mask: np.ndarray = cv2.warpAffine(
            raw, fit, (mw, mh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return moved_mask
