"""Compositing a person over a background: mask-weighted (halo-free) blur, blending, light wrap.

Everything that is blurred anyway is computed at reduced resolution (a 1/4 to 1/16 size copy of
the frame) and upsampled once; only the final blend runs at full resolution.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import cv2
import numpy as np

from pipelines.segmentation import fused
from pipelines.segmentation.refine import FramePyramid, Scratch
from pipelines.segmentation.tiles import FULL, Rect, TileMap

# The blur runs on a copy halved until the kernel radius there is at most this many pixels
# (a lens blur with a larger radius is invisible at full resolution anyway).
MAX_WORK_RADIUS = 3.0
MIN_WORK_FACTOR = 2
# A low-resolution pixel counts as background for the blur with weight (1 - min(1, 5m))²:
# pixels that are even partly person (m ≥ 0.2; a soft outline's pixels mix the person's
# colour in) are left out, so the person never glows into the blurred room around them.
BACKGROUND_WEIGHT_GAIN = 5.0
# A blurred background pixel whose kernel held less than this much background weight takes
# (part of) its colour from coarser averages of the background instead, each this many times
# smaller than the one before.
TRUSTED_WEIGHT = 0.05
FILL_STEP = 4
# Halo removal: the room behind the person is estimated with a blur of this fraction of the
# frame's short side; the correction fades in over mask values 0..1/EDGE_RAMP.
DECONTAMINATE_RADIUS_FRACTION = 0.02
EDGE_RAMP = 4.0
# The outline corrections are smooth: they are computed with the frame's long side at most
# this (half size at 720p, a quarter at 1080p) and resized once.
CORRECTION_LONG_SIDE = 640
# Light wrap: how far (fraction of the frame's short side) background light reaches over the
# person's outline.
LIGHT_WRAP_REACH = 0.015


@dataclasses.dataclass
class BlendPlan:
    """A blend's work that needs only the mask (:func:`plan_blend`): which parts to copy from
    the foreground, which to blend, and the blend's second weights (1 − mask) there."""

    weight: np.ndarray
    copy: list[Rect]
    mixed: list[tuple[Rect, np.ndarray]]
    """Each rectangle to blend with its (1 − weight)."""

    def apply(
        self, foreground: np.ndarray, background: np.ndarray, *, into_background: bool = False
    ) -> np.ndarray:
        """``foreground·weight + background·(1 − weight)`` (see :func:`blend`)."""
        out = background if into_background else background.copy()
        for y0, y1, x0, x1 in self.copy:
            out[y0:y1, x0:x1] = foreground[y0:y1, x0:x1]
        weight = self.weight
        for (y0, y1, x0, x1), inverse in self.mixed:
            region = out[y0:y1, x0:x1]
            cv2.blendLinear(foreground[y0:y1, x0:x1], region, weight[y0:y1, x0:x1], inverse,
                            dst=region)  # fmt: skip
        return out


def plan_blend(
    mask: np.ndarray, scratch: Scratch | None = None, tiles: TileMap | None = None
) -> BlendPlan:
    """The mask's share of :func:`blend`. With ``tiles`` (the mask's
    :class:`~pipelines.segmentation.tiles.TileMap`) only the outline's tiles are blended and the
    person's copied; the room's are left to the background. The second weights live in
    ``scratch`` (a new array without one) until the next plan made with it."""
    h, w = mask.shape[:2]
    sc = scratch if scratch is not None else Scratch()
    if tiles is None or tiles.size != (w, h):
        inverse = cv2.addWeighted(mask, -1.0, mask, 0.0, 1.0, dst=sc.get("inverse", (h, w)))
        return BlendPlan(mask, [], [((0, h, 0, w), inverse)])
    copy, mixed = tiles.blend_rects()
    area = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in mixed)
    store = sc.flat("inverse", (area,))
    planned = []
    at = 0
    for rect in mixed:
        y0, y1, x0, x1 = rect
        n = (y1 - y0) * (x1 - x0)
        inverse = store[at : at + n].reshape(y1 - y0, x1 - x0)
        weight = mask[y0:y1, x0:x1]
        cv2.addWeighted(weight, -1.0, weight, 0.0, 1.0, dst=inverse)
        planned.append((rect, inverse))
        at += n
    return BlendPlan(mask, copy, planned)


def blend(
    foreground: np.ndarray,
    background: np.ndarray,
    mask: np.ndarray,
    scratch: Scratch | None = None,
    *,
    into_background: bool = False,
    tiles: TileMap | None = None,
) -> np.ndarray:
    """``foreground·mask + background·(1 − mask)`` on uint8 BGR images, mask float32 H×W.

    Exact at the ends: mask 1 gives the foreground's pixels, 0 the background's. With
    ``into_background`` the result overwrites ``background`` (saves a full-size allocation
    when the background was made for this frame only). With ``tiles`` (the mask's
    :class:`~pipelines.segmentation.tiles.TileMap`) only the outline's tiles are blended, the
    person's are copied and the room's left as they are: the same result, for a fraction of
    the work.
    """
    plan = plan_blend(mask, scratch, tiles)
    return plan.apply(foreground, background, into_background=into_background)


@lru_cache(maxsize=32)
def disk_kernel(radius: float) -> np.ndarray:
    """Normalised anti-aliased disk (a lens's out-of-focus spot) of ``radius`` pixels."""
    r = max(radius, 0.5)
    half = int(np.ceil(r))
    oversample = 4
    n = (2 * half + 1) * oversample
    coords = (np.arange(n, dtype=np.float32) + 0.5) / oversample - (half + 0.5)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    inside = (xx * xx + yy * yy <= r * r).astype(np.float32)
    kernel = inside.reshape(2 * half + 1, oversample, 2 * half + 1, oversample).mean(axis=(1, 3))
    kernel /= kernel.sum()
    kernel.setflags(write=False)
    return kernel


def _blur(image: np.ndarray, radius: float, lens: bool) -> np.ndarray:
    if radius < 0.5:
        return image
    if lens:
        return cv2.filter2D(image, -1, disk_kernel(radius), borderType=cv2.BORDER_REFLECT)
    # A Gaussian whose sigma spreads about as far as the disk (disk's rms radius is r/√2).
    k = 2 * int(np.ceil(radius)) + 1
    return cv2.GaussianBlur(image, (k, k), radius / 1.414, borderType=cv2.BORDER_REFLECT)


def work_factor(radius_px: float) -> int:
    """Power-of-two reduction at which a blur of ``radius_px`` is computed."""
    factor = MIN_WORK_FACTOR
    while radius_px / factor > MAX_WORK_RADIUS:
        factor *= 2
    return factor


def _pyramid(image: np.ndarray | FramePyramid) -> FramePyramid:
    return image if isinstance(image, FramePyramid) else FramePyramid(image)


def background_estimate(
    frames: FramePyramid, masks: FramePyramid, radius_px: float, *, lens: bool = True
) -> tuple[np.ndarray, int]:
    """The frame's background blurred as if the person were not there, at reduced size.

    A plain blur smears the person into the background around them (a glow, or a dark ring
    behind a dark shirt); blurring with the person zeroed out darkens the background near
    them. Here the blur is a mean over background pixels only: blur(I·w) / blur(w), with w the
    background weight, so the background next to the person keeps its own brightness.
    Returns (float32 BGR at the reduced size, the reduction factor).
    """
    factor = work_factor(radius_px)
    small = frames.level(factor)
    sh, sw = small.shape[:2]
    m_small = masks.level(factor)
    if m_small.shape != (sh, sw):
        m_small = cv2.resize(m_small, (sw, sh), interpolation=cv2.INTER_AREA)
    # w = (1 − min(1, gain·m))²; the stack is (I·w, w) = (I, 1)·(w, w, w, w).
    weight = cv2.addWeighted(m_small, -BACKGROUND_WEIGHT_GAIN, m_small, 0.0, 1.0)
    cv2.threshold(weight, 0.0, 0.0, cv2.THRESH_TOZERO, dst=weight)
    cv2.multiply(weight, weight, dst=weight)
    colour_one = cv2.cvtColor(small, cv2.COLOR_BGR2BGRA)
    colour_one[..., 3] = 1
    stack = cv2.multiply(colour_one, cv2.merge((weight,) * 4), dtype=cv2.CV_32F)
    blurred = _blur(stack, radius_px / factor, lens)
    return _fill_from_coarser(blurred, small), factor


def _fill_from_coarser(weighted: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Normalise a (colour·w, w) stack to colour; where w is too small to trust (inside the
    person, out of the blur's reach of any background), take the colour from successively
    coarser averages instead ("push-pull" hole filling), so the background there is the
    nearest room colour, never the person's. Only a frame with no background at all falls
    back on ``fallback`` (where the mask is 1 and it is never seen).

    With T = :data:`TRUSTED_WEIGHT`, each level's colour is (colour·w)/w where w ≥ T, and
    below it the share w/T of that mixed with the coarser colour:
    ``(colour·w + coarser·max(T − w, 0)) / max(w, T)``.
    """
    levels = [(weighted, cv2.extractChannel(weighted, 3))]
    while cv2.minMaxLoc(levels[-1][1])[0] < TRUSTED_WEIGHT and min(levels[-1][1].shape) >= 2:
        h, w = levels[-1][1].shape
        size = (max(1, w // FILL_STEP), max(1, h // FILL_STEP))
        coarser = cv2.resize(levels[-1][0], size, interpolation=cv2.INTER_AREA)
        levels.append((coarser, cv2.extractChannel(coarser, 3)))
    colour: np.ndarray | None = None
    for level, weight in reversed(levels):
        h, w = weight.shape
        coarse: np.ndarray
        if colour is None:
            coarse = cv2.resize(fallback, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        else:
            coarse = cv2.resize(colour, (w, h))
        if fused.ready():
            # The same arithmetic in one compiled pass (one call instead of seven).
            fused.fill_level(level, coarse, TRUSTED_WEIGHT)
            colour = coarse
            continue
        # fill = max(T − w, 0), and max(w, T) = w + fill.
        fill = cv2.addWeighted(weight, -1.0, weight, 0.0, TRUSTED_WEIGHT)
        cv2.threshold(fill, 0.0, 0.0, cv2.THRESH_TOZERO, dst=fill)
        weight += fill
        # The same operations per channel with OpenCV: NumPy broadcasting the one-channel
        # weights over three channels works three values per inner loop (0.26 against 0.16
        # ms for the fill at 160x90, 2026-12-04, load 1.4).
        cv2.multiply(coarse, cv2.merge((fill, fill, fill)), dst=coarse)
        cv2.add(coarse, cv2.cvtColor(level, cv2.COLOR_BGRA2BGR), dst=coarse)
        cv2.divide(coarse, cv2.merge((weight, weight, weight)), dst=coarse)
        colour = coarse
    assert colour is not None
    return colour


def masked_background_blur(
    image: np.ndarray | FramePyramid,
    mask: np.ndarray | FramePyramid,
    radius_px: float,
    *,
    lens: bool = True,
    desaturate: float = 0.0,
) -> np.ndarray:
    """The background blurred without the person (uint8, full size): see
    :func:`background_estimate`; ``desaturate`` takes its colour out (1 = grey)."""
    frames = _pyramid(image)
    h, w = frames.source.shape[:2]
    small = blurred_background_small(frames, mask, radius_px, lens=lens, desaturate=desaturate)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def blurred_background_small(
    image: np.ndarray | FramePyramid,
    mask: np.ndarray | FramePyramid,
    radius_px: float,
    *,
    lens: bool = True,
    desaturate: float = 0.0,
) -> np.ndarray:
    """:func:`masked_background_blur` before its final upsampling: uint8 BGR at the reduced
    size the blur was computed at (:func:`work_factor`)."""
    frames, masks = _pyramid(image), _pyramid(mask)
    bg, _ = background_estimate(frames, masks, radius_px, lens=lens)
    if desaturate > 0.0:
        gray = cv2.cvtColor(bg, cv2.COLOR_BGR2GRAY)[..., None]
        bg += np.float32(desaturate) * (gray - bg)
    # Colours are averages of pixels (0..255): rounding is all the conversion needs.
    return cv2.convertScaleAbs(bg)


def wrap_keep(masks: FramePyramid, amount: float, factor: int = 8) -> np.ndarray:
    """Light wrap's factor on the foreground weight, ``1 − amount·cover``, at reduction
    ``factor``; ``cover`` is the share of background around each pixel (≈ 0 inside the
    person, ≈ 0.5 on the outline)."""
    w, h = masks.size
    small = masks.level(factor)
    reach = max(1.0, LIGHT_WRAP_REACH * min(h, w) / factor)
    k = 2 * int(np.ceil(2 * reach)) + 1
    cover = cv2.GaussianBlur(1.0 - small, (k, k), reach, borderType=cv2.BORDER_REPLICATE)
    return np.subtract(np.float32(1.0), cover * np.float32(amount), dtype=np.float32)


def light_wrap_masks(mask: np.ndarray | FramePyramid, amount: float) -> np.ndarray:
    """The foreground weight after light wrap, ``mask·(1 − amount·cover)``: near the outline
    the person lets some of the background's light through, as a real backlit edge does."""
    masks = _pyramid(mask)
    h, w = masks.source.shape[:2]
    keep_up = cv2.resize(wrap_keep(masks, amount), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.multiply(masks.source, keep_up, dtype=np.float32)


def plan_composite(
    mask: np.ndarray | FramePyramid,
    *,
    light_wrap: float = 0.0,
    scratch: Scratch | None = None,
    tiles: TileMap | None = None,
) -> BlendPlan:
    """The mask's share of :func:`composite` (it needs no background: see :class:`BlendPlan`)."""
    masks = _pyramid(mask)
    if light_wrap <= 0.0:
        weight = masks.source
    else:
        weight = light_wrap_masks(masks, light_wrap)
        # Light wrap lowers the weight inside the outline too: only the room stays exact.
        tiles = tiles.without(FULL) if tiles is not None else None
    return plan_blend(weight, scratch, tiles)


def composite(
    foreground: np.ndarray,
    background: np.ndarray,
    mask: np.ndarray | FramePyramid,
    *,
    light_wrap: float = 0.0,
    scratch: Scratch | None = None,
    into_background: bool = False,
    tiles: TileMap | None = None,
) -> np.ndarray:
    """Person over ``background``; with ``light_wrap`` > 0 the outline lets the background's
    light through (see :func:`light_wrap_masks`). ``tiles``: the mask's tile map, if known
    (see :func:`blend`)."""
    plan = plan_composite(mask, light_wrap=light_wrap, scratch=scratch, tiles=tiles)
    return plan.apply(foreground, background, into_background=into_background)


def replacement_correction(
    image: np.ndarray | FramePyramid,
    mask: np.ndarray | FramePyramid,
    background_small: np.ndarray,
    soft_small: np.ndarray | None,
    *,
    light_wrap: float,
    remove_halo: bool,
) -> np.ndarray | None:
    """What to add to ``composite(image, N, mask, light_wrap=...)`` for a new background N so
    that the outline is right; int16 H×W×3 to add with saturation, or None for nothing.

    Halo: along a soft outline a frame pixel is a mix, I = m·F + (1 − m)·B, of the person F
    and the room B. Blending it over N keeps a share of the room: a bright fringe around hair
    in front of a white wall. The exact composite differs from the blend by
    keep·(1 − m)·(I − B) (keep: light wrap's factor, 1 without it); B is estimated by
    :func:`background_estimate`, and the term is applied only where the person is (weight
    min(1, EDGE_RAMP·m), so the room's texture never leaks beyond the outline).

    Wrap: light wrap should spill the background's *blurred* light (``soft_small``, S) over the
    outline, not its sharp texture: + m·(1 − keep)·(S − N).

    Both terms are smooth, so they are computed small (:func:`correction_factor`;
    ``background_small`` and ``soft_small`` are N and S at that size, float32) and resized once.
    """
    wrap = light_wrap > 0.0 and soft_small is not None
    if not (wrap or remove_halo):
        return None
    frames, masks = _pyramid(image), _pyramid(mask)
    h, w = frames.source.shape[:2]
    level = correction_factor(w, h)
    small, m_small = frames.level(level), masks.level(level)
    sh, sw = small.shape[:2]
    if m_small.shape != (sh, sw):
        m_small = cv2.resize(m_small, (sw, sh), interpolation=cv2.INTER_AREA)
    keep = (
        cv2.resize(wrap_keep(masks, light_wrap), (sw, sh), interpolation=cv2.INTER_LINEAR)
        if light_wrap > 0.0
        else None
    )
    correction = np.zeros((sh, sw, 3), np.float32)
    if remove_halo:
        radius = DECONTAMINATE_RADIUS_FRACTION * min(h, w)
        room, _ = background_estimate(frames, masks, radius, lens=False)
        room_small = cv2.resize(room, (sw, sh), interpolation=cv2.INTER_LINEAR)
        weight = np.minimum(m_small * np.float32(EDGE_RAMP), np.float32(1.0))
        weight *= np.float32(1.0) - m_small
        if keep is not None:
            weight *= keep
        np.subtract(small, room_small, out=room_small, dtype=np.float32)
        room_small *= weight[..., None]
        correction += room_small
    if wrap and keep is not None:
        assert soft_small is not None
        spill = m_small * (np.float32(1.0) - keep)
        diff = np.subtract(soft_small, background_small, dtype=np.float32)
        diff *= spill[..., None]
        correction += diff
    return cv2.resize(correction.astype(np.int16), (w, h), interpolation=cv2.INTER_LINEAR)


def correction_factor(width: int, height: int) -> int:
    """Pyramid level at which :func:`replacement_correction` works: long side ≤ 640 px."""
    factor = 1
    while max(width, height) // factor > CORRECTION_LONG_SIDE:
        factor *= 2
    return factor


def add_correction(composited: np.ndarray, correction: np.ndarray | None) -> np.ndarray:
    """``composited`` + ``correction`` (see :func:`replacement_correction`), saturated, in
    place."""
    if correction is None:
        return composited
    return cv2.add(composited, correction, dst=composited, dtype=cv2.CV_8U)


def soft_background(
    background: np.ndarray | FramePyramid, radius_px: float, size: tuple[int, int]
) -> np.ndarray:
    """A blurred copy of ``background`` for light wrap, computed small, returned at ``size``
    (width, height)."""
    blurred = soft_background_small(background, radius_px)
    return cv2.resize(blurred, size, interpolation=cv2.INTER_LINEAR)


def soft_background_small(background: np.ndarray | FramePyramid, radius_px: float) -> np.ndarray:
    """:func:`soft_background` at the reduced size the blur is computed at
    (:func:`work_factor`)."""
    factor = work_factor(radius_px)
    small = _pyramid(background).level(factor)
    return _blur(small, radius_px / factor, lens=False)


__all__ = [
    "BlendPlan",
    "add_correction",
    "background_estimate",
    "blend",
    "blurred_background_small",
    "composite",
    "disk_kernel",
    "light_wrap_masks",
    "masked_background_blur",
    "plan_blend",
    "plan_composite",
    "replacement_correction",
    "soft_background",
    "soft_background_small",
    "work_factor",
    "wrap_keep",
]
