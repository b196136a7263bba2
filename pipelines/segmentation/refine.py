"""Edge-aware upsampling of the low-resolution person mask: a fast guided filter.

The guided filter (He, Sun & Tang) fits, in every window, the mask as a linear function of the
frame's brightness, ``q = a·I + b``; where the frame has an edge the mask gets one too, where it
is flat the mask stays smooth. The fast variant (He & Sun, 2015) fits ``a`` and ``b`` on a
downscaled guide (here about 1/4 of a 720p frame) and only evaluates ``a·I + b`` at the detail
level (full size below 720p, half size from 720p up), so the cost there is two bilinear
resizes and one multiply-add. The frame's share of the fit (its pyramid, the guide's window
statistics) is separate (:meth:`GuidedUpsampler.prepare`) so the segmentation stage can do it
while the network runs. The result (:class:`RefinedMask`) is made full size only when asked,
and comes with a :class:`~pipelines.segmentation.tiles.TileMap` saying which tiles are exactly
room or exactly person.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import cv2
import numpy as np

from pipelines.frame import CtxKey
from pipelines.segmentation import fused
from pipelines.segmentation.tiles import EMPTY, TILE_GUIDE, Rect, TileMap, classify

# Guide resolution: the frame is halved until its long side is at most this. 320 keeps the
# fitted a/b fine enough for hair strands' clumps while the fit costs ~0.3 ms.
GUIDE_LONG_SIDE = 320
PYRAMID_KEY: CtxKey[FramePyramid] = CtxKey("frame_pyramid")
"""The frame's reduced copies, built once by segmentation and reused by the backgrounds."""
MASK_PYRAMID_KEY: CtxKey[FramePyramid] = CtxKey("mask_pyramid")
"""The person mask's reduced copies (a :class:`RefinedMask` when segmentation refined it)."""
# Mask swing (max - min in the filter window) below LO: unsure area, keep the plain upsampled
# mask; above HI: a clear outline, follow the frame's edges fully.
CONFIDENT_SWING_LO = 0.25
CONFIDENT_SWING_HI = 0.55


# The refined mask is stretched by this much at each end (half a grey level): the model's
# faint background (and near-certain person) values become exactly 0 (1), which lets whole
# tiles skip the per-pixel work here and in the compositing.
SNAP = 0.5 / 255.0


_local = threading.local()


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

    def flat(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """A contiguous ``shape`` view of a reusable buffer that only ever grows (for work
        arrays whose size changes from call to call). Grown zeroed, so that what a caller
        leaves unwritten holds zeros or its own earlier values, never the allocator's garbage:
        NaN and denormal floats there (the blur's outline strip between its runs) cost the
        float warp and blend over them 0.26 -> 0.06 and 0.93 -> 0.54 ms on a 720p frame."""
        size = int(np.prod(shape))
        key = f"{name}/flat"
        arr = self._arrays.get(key)
        if arr is None or arr.size < size or arr.dtype != np.dtype(dtype):
            arr = self._arrays[key] = np.zeros(max(size, 1), dtype)
        return arr[:size].reshape(shape)

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

    @property
    def size(self) -> tuple[int, int]:
        """The source's (width, height)."""
        h, w = self.source.shape[:2]
        return w, h

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


def guide_statistics(guide: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The guide's window mean and window variance + ``eps`` (the part of the guided filter
    that depends on the frame alone). ``guide``: float32 in [0, 1], or uint8 (0..255), for
    which ``eps`` (given on the [0, 1] scale) is scaled to match."""
    ksize = (2 * radius + 1, 2 * radius + 1)
    scale = 255.0 if guide.dtype == np.uint8 else 1.0
    mean_i = cv2.boxFilter(guide, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)
    var_i: np.ndarray = cv2.sqrBoxFilter(guide, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)
    var_i -= cv2.multiply(mean_i, mean_i)
    var_i += np.float32(eps * scale * scale)
    return mean_i, var_i


def fit_coefficients(
    guide: np.ndarray, mean_i: np.ndarray, var_i: np.ndarray, mask: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Box-averaged ``a`` and ``b`` of the guided filter of ``mask`` (float32, the guide's
    size) given :func:`guide_statistics`."""
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, ksize, dst=x, borderType=cv2.BORDER_REFLECT)

    mean_p = cv2.boxFilter(mask, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)
    cov_ip = box(cv2.multiply(guide, mask, dtype=cv2.CV_32F))
    cov_ip -= cv2.multiply(mean_i, mean_p)
    a = cv2.divide(cov_ip, var_i, dst=cov_ip)
    b = cv2.subtract(mean_p, cv2.multiply(a, mean_i), dst=mean_p)
    return box(a), box(b)


def mask_swing(mask: np.ndarray, radius: int) -> np.ndarray:
    """The mask's max − min in the (2·``radius`` + 1)² window around each pixel."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * radius + 1, 2 * radius + 1))
    swing: np.ndarray = cv2.dilate(mask, kernel)
    swing -= cv2.erode(mask, kernel)
    return swing


def transition_confidence(mask: np.ndarray, radius: int, scale: float = 1.0) -> np.ndarray:
    """How sure the mask is that a person/background transition lies nearby, in [0, 1]
    (times ``scale``).

    Near a real outline the low-resolution mask swings from ~0 to ~1 within a few pixels; where
    the model is unsure it hovers around 0.5 over a wide area. Snapping to the frame's edges
    only helps in the first case; in the second it would trace clothing texture, so the
    refinement is faded out there (range of the mask in the window below CONFIDENT_SWING_LO).
    """
    swing = mask_swing(mask, radius)
    gain = 1.0 / (CONFIDENT_SWING_HI - CONFIDENT_SWING_LO)
    conf: np.ndarray = cv2.addWeighted(
        swing, gain, swing, 0.0, -CONFIDENT_SWING_LO * gain, dst=swing
    )
    np.clip(conf, 0.0, 1.0, out=conf)
    if scale != 1.0:
        conf *= np.float32(scale)
    return conf


@dataclasses.dataclass
class Guide:
    """What the guided filter takes from the frame alone (:meth:`GuidedUpsampler.prepare`):
    it can be computed while the network still works on the frame."""

    pyramid: FramePyramid
    factor: int
    """Pyramid level of the guide."""
    radius: int
    eps: float
    gray: np.ndarray
    """The grey guide (uint8)."""
    detail: np.ndarray
    """The grey frame (uint8) at the level where the fine outline is evaluated (this frame's
    own array: a lazily refined mask may read it after the next frame's guide is made)."""
    _statistics: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Window mean and window variance + eps of ``gray`` (float32), made on first use: a
        frame that keeps an earlier fit never needs them."""
        if self._statistics is None:
            self._statistics = guide_statistics(self.gray, self.radius, self.eps)
        return self._statistics


class GuidedUpsampler:
    """Turns a low-resolution mask into a full-resolution one that follows the frame's edges.

    The result is stretched by :data:`SNAP` at both ends (``(q − SNAP) / (1 − 2·SNAP)``, a
    change of at most half a grey level) so that room and person away from the outline are
    exactly 0 and 1; :attr:`RefinedMask.tiles` says which tiles of the result are (see
    :mod:`pipelines.segmentation.tiles`), so later stages work on the outline's tiles only.
    """

    def __init__(self, radius: int = 4, eps: float = 2e-3, detail_factor: int = 1) -> None:
        self.radius = radius
        self.eps = eps
        self.detail_factor = detail_factor
        """Pyramid level at which ``a·I + b`` is evaluated: 1 = full size; 2 = half size, then
        resized (about 1 ms less at 720p on two cores; the outline is then 2 px wide, not 1)."""

    def prepare(
        self,
        frame: np.ndarray | FramePyramid,
        guide_factor: int | None = None,
        gray: np.ndarray | None = None,
        statistics: bool = True,
    ) -> Guide:
        """The frame's part of the work (needs no mask). ``frame``: the BGR uint8 frame or its
        :class:`FramePyramid`; ``guide_factor``: default long side ≤ :data:`GUIDE_LONG_SIDE`;
        ``gray``: the guide level's grey picture, if already made; ``statistics``: work out
        the guide's window statistics now (else on first use)."""
        pyramid = frame if isinstance(frame, FramePyramid) else FramePyramid(frame)
        if guide_factor is None:
            guide_factor = pyramid.factor_for(GUIDE_LONG_SIDE)
        if gray is None:
            gray = cv2.cvtColor(pyramid.level(guide_factor), cv2.COLOR_BGR2GRAY)
        detail = cv2.cvtColor(
            pyramid.level(min(self.detail_factor, guide_factor)), cv2.COLOR_BGR2GRAY
        )
        guide = Guide(pyramid, guide_factor, self.radius, self.eps, gray, detail)
        if statistics and not self.compiled_fit(guide):
            _ = guide.statistics
        return guide

    @staticmethod
    def compiled_fit(guide: Guide) -> bool:
        """Whether :meth:`coefficients` fits on ``guide`` with the compiled kernel
        (:func:`pipelines.segmentation.fused.guided_fit`), which works out the guide's
        statistics itself."""
        gh, gw = guide.gray.shape
        return guide.gray.dtype == np.uint8 and guide.radius < min(gh, gw) and fused.ready()

    def coefficients(self, guide: Guide, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, b): the refined mask is ``clip(a·I + b, 0, 1)`` with ``I`` the grey frame in
        0..255 and a, b (at the guide's size) bilinearly upsampled."""
        gh, gw = guide.gray.shape
        if mask.shape != (gh, gw):
            mask = cv2.resize(mask, (gw, gh), interpolation=cv2.INTER_LINEAR)
        # q = conf·(a·I + b) + (1 − conf)·mask, then the SNAP stretch, folded into a and b so
        # the full size costs one multiply-add: with c = conf·stretch,
        # a ← c·a and b ← c·(b − mask) + stretch·(mask − SNAP).
        stretch = 1.0 / (1.0 - 2.0 * SNAP)
        if self.compiled_fit(guide):
            gain = 1.0 / (CONFIDENT_SWING_HI - CONFIDENT_SWING_LO)
            swing = mask_swing(mask, 2 * guide.radius)
            confidence = (CONFIDENT_SWING_LO, gain)
            return fused.guided_fit(
                guide.gray, mask, swing, guide.radius, guide.eps, confidence, stretch, SNAP
            )
        a, b = fit_coefficients(guide.gray, *guide.statistics, mask, guide.radius)
        conf = transition_confidence(mask, 2 * guide.radius, stretch)
        a = cv2.multiply(a, conf, dst=a)
        b -= mask
        b *= conf
        b += cv2.addWeighted(mask, stretch, mask, 0.0, -SNAP * stretch)
        return a, b

    def __call__(
        self,
        frame: np.ndarray | FramePyramid,
        mask: np.ndarray,
        guide_factor: int | None = None,
        guide: Guide | None = None,
    ) -> np.ndarray:
        """``mask``: float32 at any small size; returns float32 H×W in [0, 1] at the frame's size
        (:meth:`refine`, made full size)."""
        return self.refine(frame, mask, guide_factor, guide).full()

    def refine(
        self,
        frame: np.ndarray | FramePyramid,
        mask: np.ndarray,
        guide_factor: int | None = None,
        guide: Guide | None = None,
    ) -> RefinedMask:
        """The refined mask as a :class:`RefinedMask`: evaluated at the detail level, made full
        size only when asked.

        ``frame`` is the BGR uint8 frame or its :class:`FramePyramid`; the coefficients are fitted
        at ``guide_factor`` (default: long side ≤ :data:`GUIDE_LONG_SIDE`). ``guide``: this
        frame's :meth:`prepare`, if already made (with this radius and eps).
        """
        if guide is None or guide.radius != self.radius or guide.eps != self.eps:
            guide = self.prepare(frame, guide_factor)
        return self.assemble(guide, *self.coefficients(guide, mask))

    @staticmethod
    def assemble(guide: Guide, a: np.ndarray, b: np.ndarray) -> RefinedMask:
        """The refined mask of ``guide``'s frame from fitted :meth:`coefficients` (which it only
        reads: the same a and b may serve a later frame's guide)."""
        h, w = guide.pyramid.source.shape[:2]
        # The mask at the guide's size too (a·I + b there): the reduced copy that the
        # background stages want, without shrinking a larger level.
        small_q = cv2.multiply(a, guide.gray, dtype=cv2.CV_32F)
        small_q += b
        np.clip(small_q, 0.0, 1.0, out=small_q)
        tile = (TILE_GUIDE[0] * guide.factor, TILE_GUIDE[1] * guide.factor)
        refined = RefinedMask(a, b, guide.detail, (w, h), tile)
        refined.seed(guide.factor, small_q)
        return refined


class RefinedMask(FramePyramid):
    """A refined person mask whose larger levels are made only when somebody asks.

    The guided filter's coefficients ``a`` and ``b`` are fitted at the guide's size; the mask
    is ``clip(a·I + b, 0, 1)`` with ``a`` and ``b`` upsampled bilinearly to the detail level
    (full size below 720p, half size from 720p up) and ``I`` the grey frame there
    (:attr:`detail`), and the full-size mask is one bilinear resize of that (:meth:`full`).
    A stage that samples the detail level itself (the compiled background composite) never
    needs the full one; a stage that only needs a reduced copy (the background blur's
    estimate of the room) gets the guide's level, made already, without either. Each level is
    made once, under a lock, so two threads may ask at the same time.
    """

    def __init__(
        self,
        a: np.ndarray,
        b: np.ndarray,
        detail_gray: np.ndarray,
        size: tuple[int, int],
        tile: tuple[int, int],
    ) -> None:
        # No FramePyramid.__init__: ``source`` is made on demand here.
        self._a, self._b, self._gray = a, b, detail_gray
        self._size = size
        dh, dw = detail_gray.shape
        self.detail_factor = 1 if (dw, dh) == size else size[0] // dw
        self.tile = tile
        self._levels: dict[int, np.ndarray] = {}
        self._full: np.ndarray | None = None
        self._tiles: TileMap | None = None
        self._room_blended: list[Rect] = []
        """Full-size boxes whose room tiles the map counts mixed (:meth:`changed`)."""
        self._lock = threading.RLock()

    @property
    def detail(self) -> np.ndarray:
        """float32 in [0, 1] at 1/:attr:`detail_factor` of the frame's size."""
        found = self._levels.get(self.detail_factor)
        if found is not None:
            return found
        with self._lock:
            found = self._levels.get(self.detail_factor)
            if found is None and fused.ready():
                found = fused.refined_detail(self._a, self._b, self._gray)
            if found is None:
                gh, gw = self._gray.shape
                # a·I in a work array of this thread, b upsampled into the result: two
                # full-size arrays a frame where there were three (the level goes back to
                # memory less: 0.40 -> 0.33 ms at 720p with the caches emptied between frames,
                # as the other stages do; 2026-12-04, load 1.5). The same sum, bit for bit.
                scratch = getattr(_local, "scratch", None)
                if scratch is None:
                    scratch = _local.scratch = Scratch()
                a_i = scratch.get("a_i", (gh, gw))
                cv2.resize(self._a, (gw, gh), dst=a_i, interpolation=cv2.INTER_LINEAR)
                cv2.multiply(a_i, self._gray, dst=a_i, dtype=cv2.CV_32F)
                q: np.ndarray = cv2.resize(self._b, (gw, gh), interpolation=cv2.INTER_LINEAR)
                cv2.add(q, a_i, dst=q)
                found = np.clip(q, 0.0, 1.0, out=q)
            self._levels[self.detail_factor] = found
            if self.detail_factor == 1:
                self._full = found
        return found

    @property
    def tiles(self) -> TileMap:
        """Which tiles of the full-size mask are exactly 0, exactly 1 or in between."""
        if self._tiles is None:
            with self._lock:
                if self._tiles is None:
                    detail = self.detail
                    if fused.ready():
                        tiles = fused.classify(detail, self.size, self.tile)
                    else:
                        tiles = classify(detail, self.size, self.tile)
                    tiles.source = self._full
                    for rect in self._room_blended:
                        tiles.mark_mixed(rect, only=EMPTY)
                    self._tiles = tiles
        return self._tiles

    def changed(self, rect: Rect) -> None:
        """Say that :attr:`detail` was changed in place inside ``rect`` = (y0, y1, x0, x1),
        in its pixels (the face oval restored after refinement), before the full-size mask
        was made from it.

        The tile map is classified from the detail level when first asked for, so a map made
        after the change describes it; only its room tiles in ``rect`` are counted mixed. Why
        those: with the light's curves folded into the blur's composite, a room tile's rows go
        through them before their upsampling along y and an outline tile's pixels after it
        (:data:`pipelines.segmentation.fused.ROOM_LIT`), at times a level apart, and these
        tiles were blended before the map said what the oval left of them. They are 0.02 % of
        the tiles; counted as room, 2 of 160 frames of the moving 720p demo in Studio had 32 px
        a level apart from before. A map made before it gets every tile whose
        pixels read from ``rect`` marked mixed. (Marking the whole box mixed in any case, as
        the stage did, counted the face's person tiles as outline to blend: 23.4 % of the
        tiles mixed where 14.3 % are, 160 frames of the moving 720p demo in Studio.)"""
        y0, y1, x0, x1 = rect
        if y1 <= y0 or x1 <= x0:
            return
        f = self.detail_factor
        w, h = self.size
        with self._lock:
            if self._tiles is None:
                self._room_blended.append((y0 * f, y1 * f, x0 * f, x1 * f))
                return
            # A full-size pixel reads the two detail pixels around its centre: the detail
            # pixels of ``rect`` reach less than ``f`` full-size pixels beyond it.
            reach = 0 if f == 1 else f
            self._tiles.mark_mixed((max(0, y0 * f - reach), min(h, y1 * f + reach),
                                    max(0, x0 * f - reach), min(w, x1 * f + reach)))  # fmt: skip

    @property
    def size(self) -> tuple[int, int]:
        """The frame's (width, height) (known without making the full-size mask)."""
        return self._size

    @property
    def materialized(self) -> bool:
        """Whether the full-size mask has been made (it may since have been changed in place,
        so samplers should use :meth:`sampled` rather than :attr:`detail`)."""
        return self._full is not None

    @property
    def source(self) -> np.ndarray:  # type: ignore[override]
        return self.full()

    def full(self) -> np.ndarray:
        """The mask at the frame's size (made once; later calls return the same array)."""
        if self._full is None:
            detail = self.detail
            with self._lock:
                if self._full is None:
                    w, h = self.size
                    self._full = cv2.resize(detail, (w, h), interpolation=cv2.INTER_LINEAR)
                    self._levels[1] = self._full
                    if self._tiles is not None:
                        self._tiles.source = self._full
        return self._full

    def sampled(self) -> np.ndarray:
        """The smallest array that holds the mask exactly as :meth:`full` would give it once
        resized bilinearly: the detail level, or the full mask once it exists."""
        return self._full if self._full is not None else self.detail

    def level(self, factor: int) -> np.ndarray:
        if factor == 1:
            return self.full()
        if factor == self.detail_factor:
            return self.detail
        # No lock: the reduced levels are quick, and a thread that wants one (the room's
        # blur) must not wait for another making the detail level. At worst a level is made
        # twice.
        return super().level(factor)

    def factor_for(self, max_long_side: int) -> int:
        factor = 1
        long_side = max(self.size)
        while long_side // factor > max_long_side:
            factor *= 2
        return factor
