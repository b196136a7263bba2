"""The ``"light_color"`` stage: low-light lift and colour correction for the whole frame.

* Auto exposure as a gamma lift: the frame's brightness (centre-weighted, and weighted towards
  the primary face when there is one) is metered on a small thumbnail and a gamma < 1 brings it
  towards ``target``. A gamma curve keeps black at black and white at white, so highlights are
  compressed, never clipped; a small toe keeps sensor noise in the blacks from being amplified.
* White balance: grey-world on the mid-tone, low-saturation pixels, blended by strength.
* Warmth: a red/blue balance shift on top.
* Temporal smoothing: gamma and gains follow their measured values with a time constant
  (seconds of capture time), so brightness doesn't pump from frame to frame.

Everything folds into one 256-entry curve per channel (one shared curve when there is no
colour correction), 0.5–1.5 ms at 1280×720: the per-channel lookup runs as a compiled kernel
once Numba's kernels are ready (:func:`pipelines.segmentation.fused.lut_bgr`, half the CPU of
``cv2.LUT``'s per-channel lookup, the same bytes), with ``cv2.LUT`` until then. The per-frame
decision (metering, grey world, curves) is compiled too once the kernels are ready: 0.3-0.37 ms
of CPU a frame less than NumPy's many small calls on the thumbnail (tests/test_light_compiled.py).
The smoothed state lives on the stage (temporal state); per-frame values go to
:data:`LIGHT_COLOR_INFO`.

Right after the background blur (Studio) the stage makes no pass of its own: it is a
:class:`pipelines.segmentation.fused.TableStage`, so the blur works out its composite's
thumbnail (the same bytes as ``thumbnail`` of the composite), asks :meth:`table_for` for the
curves and writes its composite through them; :meth:`process` then finds its picture in
``fused.TABLE_FOLDED`` and returns it. Studio's output stays within 62-67 dB of the two passes
(tests/test_fused_light.py). Without Numba the blur's OpenCV composite does the same
(:class:`pipelines.segmentation.tiled.SmallComposite`: 59.5-59.9 dB from the two passes,
tests/test_fold_without_numba.py), which saves the per-channel ``cv2.LUT`` pass (1.2-1.8 ms of
CPU at 720p).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Annotated, TypedDict

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import FRESH_IMAGE, WRITABLE_IMAGE, CtxKey, FrameContext
from pipelines.segmentation import fused
from pipelines.stage import Stage, StageSettings, register_stage

THUMB_WIDTH = 160
"""Metering runs on a subsample about this wide."""
CENTRE_SIGMA = 0.35
"""Centre weighting (fraction of width/height)."""
FACE_WEIGHT = 0.6
"""Share of the metered brightness that comes from the primary face, when there is one."""
MIN_GAMMA = 0.5
"""Strongest lift (for a very dark frame at exposure 1)."""
TOE = 0.02
"""Gamma toe offset: limits the slope at black (noise amplification) to about 1/TOE^(1−g)."""
WB_MIN_LUMA, WB_MAX_LUMA = 0.12, 0.92
WB_MAX_SATURATION = 0.35
"""Grey-world statistics use only pixels with (max − min)/max below this."""
WB_ROUNDS = 3
WB_MIN_PIXELS = 32
WB_GAIN_LIMIT = 1.33
"""Per-channel white-balance gains stay within [1/limit, limit]."""
WARMTH_SCALE = 0.08
"""Warmth ±1 scales red by ±8 % and blue by ∓8 %."""
LUMA = np.array([0.114, 0.587, 0.299])  # B, G, R
SHOULDER_END_SLOPE = 0.5
"""Relative slope of the highlight shoulder at white (0 would flatten the last levels)."""
RESET_GAP_S = 2.0
"""A capture-time gap longer than this restarts the smoothing (new scene, new source)."""


class LightColorInfo(TypedDict):
    """The light and colour correction applied to a frame (:data:`LIGHT_COLOR_INFO`)."""

    gamma: float
    gains: tuple[float, float, float]
    """Blue, green, red."""


LIGHT_COLOR_INFO: CtxKey[LightColorInfo] = CtxKey("light_color")


@dataclasses.dataclass(frozen=True)
class LightColorSettings(StageSettings):
    exposure: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.5
    """Strength of the automatic brightness lift (0 = off)."""
    target: Annotated[float, Meta(ge=0.25, le=0.65)] = 0.45
    """Brightness (0..1, gamma-encoded) the metered frame is lifted towards."""
    white_balance: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.5
    """Strength of the grey-world white balance (0 = off)."""
    warmth: Annotated[float, Meta(ge=-1.0, le=1.0)] = 0.0
    """Negative cooler, positive warmer."""
    adapt_s: Annotated[float, Meta(ge=0.0, le=5.0)] = 0.5
    """Time constant of the temporal smoothing in seconds (0 = follow each frame)."""

    @property
    def any_active(self) -> bool:
        return self.exposure > 0 or self.white_balance > 0 or self.warmth != 0


@dataclasses.dataclass
class Correction:
    gamma: float = 1.0
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """B, G, R."""


@functools.lru_cache(maxsize=4)
def centre_weight(h: int, w: int) -> tuple[np.ndarray, float]:
    """The centre weighting of an h×w thumbnail and its sum (read-only; one per size)."""
    yy = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / (CENTRE_SIGMA * h)
    xx = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / (CENTRE_SIGMA * w)
    weight = np.exp(-0.5 * (yy[:, None] ** 2 + xx[None, :] ** 2))
    weight.flags.writeable = False
    return weight, float(weight.sum())


def thumbnail(image: np.ndarray, step: int) -> np.ndarray:
    """Every ``step``-th pixel of every ``step``-th row (``image[::step, ::step]``, contiguous);
    by a nearest-neighbour resize, which picks the same pixels 4× faster, where the frame
    divides evenly."""
    h, w = image.shape[:2]
    if step > 1 and w % step == 0 and h % step == 0:
        small: np.ndarray = cv2.resize(
            image, (w // step, h // step), interpolation=cv2.INTER_NEAREST
        )
        return small
    return np.ascontiguousarray(image[::step, ::step])


def metered_brightness(
    thumb: np.ndarray, face_box: tuple[float, ...] | None, scale: float
) -> float:
    """Weighted mean luma (0..1) of a BGR uint8 thumbnail; ``face_box`` in frame pixels.

    Once Numba's kernels are ready, in one compiled pass (:func:`fused.light_stats`, float64
    sums, within 1e-6 of NumPy's float32 ones)."""
    h, w = thumb.shape[:2]
    if fused.ready():
        return _metered_compiled(thumb, face_box, scale)
    luma = thumb.astype(np.float32) @ (LUMA / 255.0).astype(np.float32)
    weight, total = centre_weight(h, w)
    frame_mean = float((luma * weight).sum() / total)
    if face_box is None:
        return frame_mean
    x, y, bw, bh = (float(v) * scale for v in face_box[:4])
    x0, y0 = max(int(x), 0), max(int(y), 0)
    x1, y1 = min(math.ceil(x + bw), w), min(math.ceil(y + bh), h)
    if x1 <= x0 or y1 <= y0:
        return frame_mean
    face_mean = float(luma[y0:y1, x0:x1].mean())
    return FACE_WEIGHT * face_mean + (1.0 - FACE_WEIGHT) * frame_mean


def _face_span(
    face_box: tuple[float, ...], scale: float, w: int, h: int
) -> tuple[int, int, int, int] | None:
    x, y, bw, bh = (float(v) * scale for v in face_box[:4])
    x0, y0 = max(int(x), 0), max(int(y), 0)
    x1, y1 = min(math.ceil(x + bw), w), min(math.ceil(y + bh), h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _metered_compiled(thumb: np.ndarray, face_box: tuple[float, ...] | None, scale: float) -> float:
    h, w = thumb.shape[:2]
    weight, total = centre_weight(h, w)
    span = None if face_box is None else _face_span(face_box, scale, w, h)
    weighted, face = fused.light_stats(thumb, weight, span or (0, 0, 0, 0))
    frame_mean = weighted / total
    if span is None:
        return frame_mean
    x0, y0, x1, y1 = span
    face_mean = face / ((x1 - x0) * (y1 - y0))
    return FACE_WEIGHT * face_mean + (1.0 - FACE_WEIGHT) * frame_mean


def grey_world_gains(thumb: np.ndarray) -> np.ndarray:
    """B, G, R gains that make the neutral-ish pixels grey, luma-preserving, clamped.

    "Neutral-ish" is judged after the current estimate's correction (two rounds), so a strong
    cast doesn't push the grey pixels out of the selection it is estimated from. Once Numba's
    kernels are ready, compiled (:func:`fused.grey_world_gains`: 0.33 ms of CPU a 720p frame at
    a camera's pace in NumPy's thirty-odd calls; float64 sums, within 1e-6 of NumPy's).
    """
    if fused.ready():
        found = fused.grey_world_gains(
            thumb, (WB_MIN_LUMA, WB_MAX_LUMA), WB_MAX_SATURATION, WB_ROUNDS, WB_MIN_PIXELS,
            WB_GAIN_LIMIT,
        )  # fmt: skip
        normalised: np.ndarray = found / float(found @ LUMA)
        return normalised
    px = thumb.reshape(-1, 3).astype(np.float32) * np.float32(1.0 / 255.0)
    luma = px @ LUMA.astype(np.float32)
    mid = (luma > WB_MIN_LUMA) & (luma < WB_MAX_LUMA)
    # The channels as contiguous planes for the per-round work (the same float32 products as
    # ``px * gains``): NumPy runs a broadcast over a length-3 last axis and strided columns
    # several times slower. 0.36 -> 0.17 ms for a cast 160×90 thumbnail (three rounds);
    # 0.20 -> 0.17 ms a frame in Studio on the 720p demo (2026-12-07, load 0.7-1).
    planes = np.ascontiguousarray(px.T)
    fixed = np.empty_like(planes)
    gains = np.ones(3)
    keep = mid
    for _ in range(WB_ROUNDS):
        sel = keep.astype(np.float32)
        count = float(sel.sum())
        if count < WB_MIN_PIXELS:
            break
        means = (sel @ px).astype(np.float64) / count
        gains = np.clip(means.mean() / np.maximum(means, 1e-6), 1.0 / WB_GAIN_LIMIT, WB_GAIN_LIMIT)
        b, g, r = np.multiply(planes, gains.astype(np.float32)[:, None], out=fixed)
        hi = np.maximum(np.maximum(b, g), r)
        lo = np.minimum(np.minimum(b, g), r)
        keep = mid & ((hi - lo) < WB_MAX_SATURATION * np.maximum(hi, 1e-6))
    out: np.ndarray = gains / float(gains @ LUMA)
    return out


def _shoulder(u: np.ndarray, gain: float) -> np.ndarray:
    """Map ``u`` in [0, gain] onto [0, 1]: identity up to a knee, then a monotone cubic
    (Hermite, slopes within the Fritsch–Carlson bound) reaching 1 at ``u = gain`` with a small
    slope left, so highlights roll off instead of clipping and stay distinct."""
    if gain <= 1.0:
        return u
    knee = min(0.85, (2.8 - gain) / 1.8)
    m0 = (gain - knee) / (1.0 - knee)  # ≤ 2.8: slope 1 at the knee
    m1 = SHOULDER_END_SLOPE
    t = np.clip((u - knee) / (gain - knee), 0.0, 1.0)
    t2, t3 = t * t, t * t * t
    h = m0 * (t - 2 * t2 + t3) + (3 * t2 - 2 * t3) + m1 * (t3 - t2)
    out: np.ndarray = np.where(u <= knee, u, knee + (1.0 - knee) * h)
    return out


def _gamma_with_toe(y: np.ndarray, gamma: float) -> np.ndarray:
    if gamma == 1.0:
        return y
    lo = TOE**gamma
    out: np.ndarray = ((y + TOE) ** gamma - lo) / ((1.0 + TOE) ** gamma - lo)
    return out


def channel_curve(gain: float, gamma: float) -> np.ndarray:
    """256 uint8 values: ``gain`` with the highlight shoulder, then the gamma with its toe."""
    x = np.arange(256, dtype=np.float64) / 255.0
    y = _gamma_with_toe(_shoulder(x * gain, gain), gamma)
    out: np.ndarray = np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)
    return out


def build_lut(correction: Correction) -> np.ndarray:
    """1×256×3 uint8 lookup table (B, G, R) for ``cv2.LUT``; compiled once Numba's kernels
    are ready (:func:`fused.light_curves`, the same float64 operations per level)."""
    if fused.ready():
        return fused.light_curves(correction.gains, correction.gamma, TOE, SHOULDER_END_SLOPE)
    lut = np.empty((1, 256, 3), np.uint8)
    for c, gain in enumerate(correction.gains):
        lut[0, :, c] = channel_curve(gain, correction.gamma)
    return lut


IDENTITY = np.arange(256, dtype=np.uint8)


def correction_table(correction: Correction) -> np.ndarray | None:
    """:func:`build_lut`, or None when the correction leaves every level as it is."""
    lut = build_lut(correction)
    return None if np.array_equal(lut[0], IDENTITY3) else lut


IDENTITY3 = np.repeat(IDENTITY[:, None], 3, axis=1)


def apply_correction(
    image: np.ndarray, correction: Correction, in_place: bool = False
) -> np.ndarray:
    """``cv2.LUT(image, build_lut(correction))``, faster when the channels share one curve
    (a single-channel table is 2–4× faster than a per-channel one), and ``image`` itself when
    the correction is the identity. ``in_place``: the lookup writes into ``image`` (nobody
    else holds it) rather than into a new array."""
    curves = [channel_curve(g, correction.gamma) for g in correction.gains]
    dst = image if in_place else None
    if all(np.array_equal(c, curves[0]) for c in curves[1:]):
        if np.array_equal(curves[0], IDENTITY):
            return image
        shared: np.ndarray = cv2.LUT(image, curves[0].reshape(1, 256), dst=dst)
        return shared
    table = np.stack(curves, axis=1).reshape(1, 256, 3)
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and fused.ready():
        # OpenCV's per-channel lookup costs twice its one-curve lookup (1.7-1.9 against
        # 0.8-1.2 ms of CPU at 720p, load 6); the compiled one costs 0.9 ms, same bytes.
        return fused.lut_bgr(image, table, out=dst)
    out: np.ndarray = cv2.LUT(image, table, dst=dst)
    return out


@register_stage
class LightColorStage(Stage[LightColorSettings]):
    compiled_kernels = True
    name = "light_color"
    settings_type = LightColorSettings
    rehearsed = True
    """Its first lookup and metering are OpenCV's and NumPy's first calls: run before the
    swap; the smoothed correction is then forgotten."""

    def __init__(self, settings: LightColorSettings | None = None) -> None:
        super().__init__(settings)
        self._state: Correction | None = None
        self._last_time: float | None = None

    def open(self) -> None:
        self.forget_frames()
        # The compiled per-channel lookup (on a background thread; cv2.LUT until it is ready).
        fused.prepare()
        super().open()

    def wait_warm(self, timeout: float) -> bool:
        return fused.wait_ready(timeout)

    def forget_frames(self) -> None:
        # The correction smoothed over time (adapt_s), and when it was last updated.
        self._state = None
        self._last_time = None

    def thumb_step(self, width: int) -> int:
        """Metering reads every ``step``-th pixel of every ``step``-th row: a strided
        subsample about :data:`THUMB_WIDTH` wide (means over ~15k pixels need no
        anti-aliasing)."""
        return max(1, -(-width // THUMB_WIDTH))

    def measure(self, image: np.ndarray, ctx: FrameContext, s: LightColorSettings) -> Correction:
        """The correction this frame asks for, before temporal smoothing."""
        step = self.thumb_step(image.shape[1])
        return self.measure_thumb(thumbnail(image, step), step, ctx, s)

    def measure_thumb(
        self, thumb: np.ndarray, step: int, ctx: FrameContext, s: LightColorSettings
    ) -> Correction:
        """:meth:`measure` from the picture's thumbnail (``image[::step, ::step]``)."""
        gamma = 1.0
        if s.exposure > 0:
            face = ctx.primary_face
            # A face fading out after the tracker lost it no longer says where the face is.
            box = face.bbox if face is not None and face.visibility >= 0.5 else None
            level = min(max(metered_brightness(thumb, box, 1.0 / step), 1e-3), 0.999)
            wanted = min(max(math.log(s.target) / math.log(level), MIN_GAMMA), 1.0)
            gamma = 1.0 - s.exposure * (1.0 - wanted)
        gains = np.ones(3)
        if s.white_balance > 0:
            gains = grey_world_gains(thumb[::2, ::2]) ** s.white_balance
        if s.warmth != 0:
            shift = WARMTH_SCALE * s.warmth
            gains = gains * np.array([1.0 - shift, 1.0, 1.0 + shift])
        return Correction(gamma, (float(gains[0]), float(gains[1]), float(gains[2])))

    def _smooth(self, wanted: Correction, t: float, tau: float) -> Correction:
        prev, last = self._state, self._last_time
        self._last_time = t
        if prev is None or last is None or tau <= 0 or not (0 <= t - last <= RESET_GAP_S):
            return wanted
        alpha = 1.0 - math.exp(-(t - last) / tau)
        gamma = prev.gamma + alpha * (wanted.gamma - prev.gamma)
        # Gains move in the log domain (a 10 % change is the same step up or down).
        gains = tuple(
            float(math.exp(math.log(p) + alpha * (math.log(q) - math.log(p))))
            for p, q in zip(prev.gains, wanted.gains, strict=True)
        )
        return Correction(gamma, (gains[0], gains[1], gains[2]))

    def _update(
        self, thumb: np.ndarray, step: int, ctx: FrameContext, s: LightColorSettings
    ) -> Correction:
        state = self._smooth(self.measure_thumb(thumb, step, ctx, s), ctx.timestamp, s.adapt_s)
        self._state = state
        ctx.put(LIGHT_COLOR_INFO, LightColorInfo(gamma=state.gamma, gains=state.gains))
        return state

    def table_for(self, thumb: np.ndarray, step: int, ctx: FrameContext) -> np.ndarray | None:
        """This frame's curves for the picture whose thumbnail is ``thumb`` (see
        :class:`pipelines.segmentation.fused.TableStage`: the background blur folds them into
        its composite), None for the identity; the temporal state moves on as in
        :meth:`process`."""
        s = self.settings
        if not s.enabled or not s.any_active:
            self._state, self._last_time = None, None
            return None
        return correction_table(self._update(thumb, step, ctx, s))

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        if ctx.get(fused.TABLE_FOLDED) is image:
            # The stage before this one put its pass through this frame's curves already; the
            # picture is still nobody else's, so the next stage may write into it in turn.
            if ctx.get(WRITABLE_IMAGE) is image:
                ctx.put(FRESH_IMAGE, image)
            return image
        s = self.settings
        if not s.enabled or not s.any_active:
            self._state, self._last_time = None, None
            return image
        step = self.thumb_step(image.shape[1])
        state = self._update(thumbnail(image, step), step, ctx, s)
        # Into the frame itself when the stage before made it for us (the blur's composite):
        # no new frame-size array to fill.
        writable = ctx.get(WRITABLE_IMAGE) is image
        out = apply_correction(image, state, in_place=writable)
        if out is not image or writable:  # the next stage may write into it in turn
            ctx.put(FRESH_IMAGE, out)
        return out
