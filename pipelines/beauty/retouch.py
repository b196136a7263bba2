"""Colour and tone effects on one face's region of interest.

Every effect is ``out = I + weight · (effect(I) − I)`` with a soft mask in ``weight``, so where
the mask is 0 the pixel stays exactly what it was. Each effect reads the output ROI's 8-bit
pixels of its own crop (a region's box, the skin mask's support), computes in float32 there and
writes the crop back rounded, which reproduces the original values wherever
``|weight · (effect(I) − I)| < 0.5``; nothing is converted to float beyond those crops. Effects
register themselves in :data:`EFFECTS`, in the order they run; the stage runs the ones whose
strength is non-zero.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from pipelines.beauty import masks
from pipelines.beauty.geometry import (
    LEFT_UNDER_EYE_INNER,
    LEFT_UNDER_EYE_OUTER,
    RIGHT_UNDER_EYE_INNER,
    RIGHT_UNDER_EYE_OUTER,
    Rect,
    gaussian_kernel,
    gaussian_radius,
    mouth_open_ratio,
    smoothstep,
)
from pipelines.registry import Registry
from pipelines.segmentation import fused
from pipelines.tracking import regions

WORK_FACE_SIZE = 64.0
"""Skin masks and the smoothing filter's coefficients are computed with the face scaled down
to about this size (pixels); the result is applied at full resolution."""
MASK_REUSE_PX = 1.0
"""A face's mask geometry is kept from an earlier frame while no landmark has moved this many
pixels (frame resolution) since it was built."""
SUPPORT_THRESHOLD = 1.0 / 512.0
"""Smoothing works on the box where the skin weight exceeds this: below it, no pixel can move
by half a level (weight · |target − I| < 255 / 512), so rounding keeps it as it was."""

# Skin smoothing (sizes are fractions of the face size).
SMOOTH_RADIUS = 0.04
"""Guided-filter window radius: the scale of blemishes and fine wrinkles removed."""
SMOOTH_EPS_MIN = 0.02
SMOOTH_EPS_MAX = 0.10
"""Edge threshold of the guided filter (fraction of full scale) at strength 0 → 1: contrasts
above it (nostrils, eyelids, face outline) are kept."""
PORE_SIGMA = 0.006
"""Fine texture (pores) is what a Gaussian of this sigma removes; it is kept separately."""
PORE_KEEP_AT_FULL = 0.3
"""Fraction of the fine texture kept at strength 1 (all of it is kept near strength 0)."""

# Under-eye lightening.
UNDER_EYE_FEATHER = 0.012
UNDER_EYE_LOCAL = 0.04
UNDER_EYE_REFERENCE_PERCENTILE = 85.0
UNDER_EYE_MAX_LIFT = 0.35
"""At most +35 % brightness where the under-eye is darkest."""

# Eye brightening.
EYE_FEATHER = 0.006
EYE_LIFT = 0.3
"""Screen-like lift of the bright parts (sclera) at strength 1."""
EYE_CLARITY = 0.6
"""Local-contrast boost of the iris at strength 1."""
EYE_CLARITY_SIGMA = 0.012

# Teeth whitening (OpenCV float Lab: L in 0..100, a/b around 0).
TEETH_FEATHER = 0.006
MOUTH_OPEN_MIN = 0.03
MOUTH_OPEN_FULL = 0.08
"""Inner-lip gap / mouth width: teeth whitening fades in between these."""
TEETH_L_MIN = 35.0
TEETH_L_FULL = 55.0
"""Only bright pixels of the mouth interior are teeth (tongue and the dark cavity are not)."""
TEETH_RED_MIN = 12.0
TEETH_RED_DROP = 22.0
"""Clearly red pixels (gums, tongue, lip edge) are left alone."""
TEETH_LIFT = 0.3
TEETH_DEYELLOW = 0.8

# Lip tint.
LIP_FEATHER = 0.008
LIP_TEXTURE_KEEP = 0.5
"""The lips' own colour variation kept around the tint colour."""
LIP_LIGHTNESS_PULL = 0.25


@dataclass
class FaceCache:
    """What one face's effects keep between frames (the stage holds one per face id)."""

    skin: masks.SkinMaskCache = field(default_factory=masks.SkinMaskCache)


class Workspace:
    """Scratch arrays reused from frame to frame.

    Fresh multi-megabyte temporaries cost more than the arithmetic on them: glibc hands
    allocations this large back to the kernel when they are freed, so the next frame's faults
    every page in again (measured: 1.5 ms of smoothing's 4.4 ms at 720p). :meth:`take` returns
    a C-contiguous view into a grow-only buffer per name instead.
    """

    def __init__(self) -> None:
        self._flat: dict[str, np.ndarray] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """An uninitialised array of ``shape``; valid until ``name`` is taken again."""
        dtype = np.dtype(dtype)
        n = math.prod(shape)
        flat = self._flat.get(name)
        if flat is None or flat.dtype != dtype or flat.size < n:
            # A quarter more than asked for, so a face that grows a little fits next time.
            flat = self._flat[name] = np.empty(n + n // 4, dtype)
        view: np.ndarray = flat[:n].reshape(shape)
        return view


@dataclass
class FaceWork:
    """One face's working data for one frame (lives only inside ``process``)."""

    lm: np.ndarray
    """Landmarks in the ROI's pixel coordinates (N×2 float32)."""
    size: float
    """Face size in pixels (:func:`pipelines.beauty.geometry.face_size`)."""
    rect: Rect
    """Where the ROI sits in the frame."""
    original: np.ndarray | None
    """The ROI's pixels before any effect (uint8 view into the input frame), or None where
    the stage retouches the frame in place: no effect reads them then (the smoothing, which
    runs first, scales :attr:`image` itself), and the copy cost 0.005-0.02 ms of CPU a 720p
    Studio frame (in-process A/B, 3x4 rounds of 150 frames, 2026-12-04, load 1.6-2.1)."""
    image: np.ndarray
    """The ROI being retouched: a writable uint8 BGR view into the output frame; each effect
    rewrites its crop of it."""
    cache: FaceCache | None = None
    """This face's state from earlier frames, if the caller keeps one."""
    scratch: Workspace = field(default_factory=Workspace)
    """Scratch arrays (the stage passes one that lives as long as it does)."""

    @property
    def dims(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])

    @property
    def scale(self) -> float:
        return min(1.0, WORK_FACE_SIZE / max(self.size, 1.0))


@dataclass(frozen=True)
class Effect:
    name: str
    setting: str
    """The settings field holding this effect's strength (0 = off)."""
    apply: Callable[[FaceWork, float, Any], None]
    """``apply(work, strength, settings)``; strength already includes the face's fade."""


EFFECTS: Registry[Effect] = Registry("beauty effect")


EffectFn = Callable[[FaceWork, float, Any], None]


def register_effect(name: str, setting: str) -> Callable[[EffectFn], EffectFn]:
    """Register ``fn`` as effect ``name`` whose strength is the settings field ``setting``."""

    def decorator(fn: EffectFn) -> EffectFn:
        EFFECTS.add(name, Effect(name, setting, fn))
        return fn

    return decorator


def _blend(target: np.ndarray, weight: np.ndarray, effect: np.ndarray) -> None:
    """``target += weight · (effect − target)`` in place (weight H×W, images H×W×3)."""
    target += weight[..., None] * (effect - target)


def _store(crop: np.ndarray, value: np.ndarray) -> None:
    """Write float ``value`` into the uint8 ``crop``, rounded and clipped (``value`` is
    clobbered)."""
    np.clip(value, 0.0, 255.0, out=value)
    np.rint(value, out=value)
    crop[...] = value


def _crop(work: FaceWork, rm: regions.RegionMask) -> tuple[np.ndarray, np.ndarray] | None:
    """The uint8 crop of the ROI under ``rm`` and a float32 copy to work on; None when the
    mask is empty."""
    if rm.mask.size == 0 or not rm.mask.any():
        return None
    crop = work.image[rm.slices]
    return crop, crop.astype(np.float32)


def warm_up() -> None:
    """Initialise OpenCV's colour-conversion tables the effects use, and probe its warp
    (:func:`warp_is_exact`)."""
    warp_is_exact()
    px = np.full((2, 2, 3), 0.5, np.float32)
    cv2.cvtColor(cv2.cvtColor(px, cv2.COLOR_BGR2Lab), cv2.COLOR_Lab2BGR)
    cv2.cvtColor(np.zeros((2, 2, 3), np.uint8), cv2.COLOR_BGR2YCrCb)


# ----------------------------------------------------------------------------- skin smoothing
def guided_coefficients(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """He et al.'s guided filter with a grey guide: per-channel ``a``, ``b`` (box-averaged) so
    that the filtered image is ``a · guide + b`` (evaluable at a higher resolution)."""
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)

    # The grey planes are expanded to three channels rather than broadcast: numpy runs a
    # broadcast over a length-3 last axis 3 elements at a time, several times slower.
    def bgr(x: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(x, cv2.COLOR_GRAY2BGR)

    guide3 = bgr(guide)
    mean_i = box(guide)
    mean_i3 = bgr(mean_i)
    mean_p = box(src)
    var_i = box(guide * guide) - mean_i * mean_i
    cov_ip = box(guide3 * src) - mean_i3 * mean_p
    a = cov_ip / bgr(var_i + np.float32(eps))
    b = mean_p - a * mean_i3
    return box(a), box(b)


def _to_work(lm: np.ndarray, scale: float) -> np.ndarray:
    out: np.ndarray = ((lm + 0.5) * np.float32(scale) - 0.5).astype(np.float32)
    return out


def _work_size(work: FaceWork) -> tuple[int, int]:
    w, h = work.dims
    s = work.scale
    return max(round(w * s), 1), max(round(h * s), 1)


def skin_weight(work: FaceWork, small: np.ndarray | None = None) -> np.ndarray:
    """The feathered skin mask of the ROI at the work scale (float32 0..1); ``small`` is the
    ROI (uint8) already scaled to the work size, if the caller has it. With ``work.cache`` the
    mask's geometry is reused while the landmarks move less than :data:`MASK_REUSE_PX`."""
    s = work.scale
    if small is None:
        small = work.original if work.original is not None else work.image
        if s < 1.0:
            small = cv2.resize(small, _work_size(work), interpolation=cv2.INTER_AREA)
    if small.dtype != np.uint8:
        small = np.clip(small, 0, 255).astype(np.uint8)
    cache = work.cache.skin if work.cache is not None else None
    return masks.skin_mask(
        np.ascontiguousarray(small),
        _to_work(work.lm, s),
        work.size * s,
        cache=cache,
        tolerance=MASK_REUSE_PX * s,
    )


def pore_keep(strength: float) -> float:
    """Fraction of the fine texture (pores) kept at a smoothing strength: nearly all of it at
    low strength (no plastic skin), ``PORE_KEEP_AT_FULL`` at 1."""
    return 1.0 - (1.0 - PORE_KEEP_AT_FULL) * strength * strength


def support_box(weight: np.ndarray, threshold: float) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1): the bounding box of ``weight > threshold``, None if it is empty."""
    above = weight > threshold
    cols = np.flatnonzero(above.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(above.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def upscaled_box(
    box: tuple[int, int, int, int], small: tuple[int, int], full: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The pixels of a ``full``-size image that ``cv2.resize`` (bilinear) from ``small`` (both
    (w, h)) computes from at least one pixel of ``box`` (x0, y0, x1, y1): outside it, the
    upscaled values come from pixels outside ``box`` only."""
    out = []
    for lo, hi, n_small, n_full in (
        (box[0], box[2], small[0], full[0]),
        (box[1], box[3], small[1], full[1]),
    ):
        ratio = n_small / n_full
        # Full pixel x samples small x' = (x + 0.5)·ratio − 0.5 from floor(x') and floor(x') + 1.
        a = math.floor((lo - 1.0 + 0.5) / ratio - 0.5) - 1
        b = math.ceil((hi + 0.5) / ratio - 0.5) + 1
        out.append((max(a, 0), min(b, n_full)))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def _work_image(work: FaceWork) -> tuple[np.ndarray, np.ndarray]:
    """The ROI at the work scale as float32 (whole levels) and uint8.

    Area-averaged in float and rounded: the same levels as OpenCV's 8-bit INTER_AREA (checked
    on random sizes, integral ratios included, in tests/test_beauty_crop.py), whose 8-bit path
    at a fractional ratio costs more: 0.41 against 0.30 ms for the conversion and the float
    resize of a 720p demo face's ROI (312×353)."""
    image = work.image
    if work.scale >= 1.0:
        return image.astype(np.float32), image
    ws = work.scratch
    h, w = image.shape[:2]
    sw, sh = _work_size(work)
    roi_f = ws.take("roi_f", (h, w, 3))
    roi_f[...] = image
    small_f = cv2.resize(roi_f, (sw, sh), interpolation=cv2.INTER_AREA)
    np.rint(small_f, out=small_f)
    return small_f, small_f.astype(np.uint8)


@register_effect("skin_smoothing", "smoothing")
def smooth_skin(work: FaceWork, strength: float, settings: Any = None) -> None:
    """Edge-preserving smoothing of mid frequencies (blemishes, uneven tone) inside the skin
    mask, keeping fine texture (pores): less of it only at high strength.

    The guided filter's coefficients and the mask are computed at the work scale (cheap) and
    applied at full resolution with the full-resolution guide ("fast guided filter"), so edges
    stay as sharp as the camera made them. Full-resolution work is limited to the box where
    the mask can change a pixel, uses preallocated scratch arrays, blurs the 8-bit pixels and
    rounds once at the end: within a level or two of an all-float32 computation of the whole
    ROI (mean difference 0.2 levels where anything changes), and ≥ 54 dB PSNR against one of
    the whole frame (tests/test_beauty_crop.py). With Numba that last part is one compiled
    pass over the box (:func:`pipelines.segmentation.fused.smooth_skin_box`); without it,
    OpenCV's passes in bands of the box, in place (:func:`_smooth_box_opencv`).
    """
    image = work.image
    w, h = work.dims
    s = work.scale
    small_f, small = _work_image(work)
    weight = skin_weight(work, small)
    box = support_box(weight, SUPPORT_THRESHOLD)
    if box is None:
        return
    radius = max(1, round(SMOOTH_RADIUS * work.size * s))
    eps = (255.0 * (SMOOTH_EPS_MIN + (SMOOTH_EPS_MAX - SMOOTH_EPS_MIN) * strength)) ** 2
    a, b = guided_coefficients(cv2.cvtColor(small_f, cv2.COLOR_BGR2GRAY), small_f, radius, eps)
    small_dims = (small.shape[1], small.shape[0])
    x0, y0, x1, y1 = upscaled_box(box, small_dims, (w, h))
    ws = work.scratch
    inner = slice(y0, y1), slice(x0, x1)
    bw, bh = x1 - x0, y1 - y0
    # The pore blur reads a margin around the box, so it equals a blur of the whole ROI there.
    sigma = max(PORE_SIGMA * work.size, 0.5)
    pad = gaussian_radius(sigma)
    py0, px0 = max(y0 - pad, 0), max(x0 - pad, 0)
    padded = image[py0 : min(y1 + pad, h), px0 : min(x1 + pad, w)]
    at = slice(y0 - py0, y1 - py0), slice(x0 - px0, x1 - px0)
    compiled = fused.ready()
    if compiled:
        # The compiled pass reads the box's pixels from a copy (the OpenCV pass rewrites the
        # box in place, band by band). Copied before the blur, as it was: after it, the
        # stage measured 0.03-0.05 ms more a frame (in-process A/B, load 2).
        src = ws.take("src", (bh, bw, 3), np.uint8)
        src[...] = padded[at]
    # A separable filter: OpenCV's 8-bit GaussianBlur takes about 1.5× the CPU time (it
    # spreads over two threads, which the engine's analysis thread is using).
    kernel = gaussian_kernel(sigma)
    low_padded = ws.take("low", padded.shape, np.uint8)
    cv2.sepFilter2D(padded, -1, kernel, kernel, dst=low_padded)
    low = low_padded[at]
    # target = smoothed base + kept fine texture = a·grey(low) + b + keep·(I − low), and the
    # blend adds weight · (target − I) = weight · (a·grey(low) + b + (keep − 1)·I − keep·low).
    keep = pore_keep(strength)
    grey = cv2.cvtColor(low, cv2.COLOR_BGR2GRAY, dst=ws.take("grey1", (bh, bw), np.uint8))
    if compiled:
        out = ws.take("out", (bh, bw, 3), np.uint8)
        # One pass, the coefficients and the weight upsampled on the fly: 0.85 → 0.33 ms of
        # the stage for the 720p demo face (a 292×338 box; see fused.smooth_skin_box).
        fused.smooth_skin_box(
            src, low_padded, (y0 - py0, x0 - px0), grey, (a, b), weight, (w, h), (x0, y0),
            keep, min(strength, 1.0), out,
        )  # fmt: skip
        image[inner] = out
        return
    _smooth_box_opencv(
        image[inner], low, grey, (a, b), weight, (w, h), (x0, y0), keep, min(strength, 1.0), ws
    )


def _smooth_box_opencv(
    box: np.ndarray,
    low: np.ndarray,
    grey: np.ndarray,
    coefficients: tuple[np.ndarray, np.ndarray],
    weight: np.ndarray,
    full: tuple[int, int],
    origin: tuple[int, int],
    keep: float,
    strength: float,
    ws: Workspace,
) -> None:
    """:func:`pipelines.segmentation.fused.smooth_skin_box` with OpenCV, in place on ``box``
    (the ROI's pixels there, uint8 bh×bw×3; ``low`` and ``grey`` are its pore blur and that
    blur's grey): ``box += w·strength·(a·grey + b + (keep − 1)·box − keep·low)``, rounded
    and clipped, with ``a``, ``b`` and ``w`` upsampled from the work scale to ``full`` (w, h)
    as ``cv2.resize(INTER_LINEAR)`` does, the box at ``origin`` (x, y) in that size
    (:func:`upsampled_box`: for the box alone).

    The arithmetic runs in bands of rows (:data:`STRIP_BYTES`) and in place on the upsampled
    coefficients: every float image of the box is 1.2 MB at 720p, more than a core's cache
    holds with the others, so pass after pass over whole images streamed them from the shared
    cache; a band's stay in the core's. The box is rewritten band by band, each band reading
    only its own pixels (and the pore blur, made before). Same bytes as the whole-image
    passes; 0.19-0.23 ms less CPU a 720p demo frame for the stage (2.42-2.61 → 2.20-2.42 ms,
    in-process, both on each of 150 Studio frames, 3 rounds, 2026-12-04, load 1.6-2.3).
    The coefficients and the weight are upsampled band by band too (:func:`_upsampled_bands`)."""
    bh, bw = grey.shape
    grey3 = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR, dst=ws.take("grey3", (bh, bw, 3), np.uint8))
    step = min(max(8, STRIP_BYTES // (12 * bw)), bh)
    for r, t, u, wr in _upsampled_bands(coefficients, weight, full, origin, (bw, bh), step, ws):
        px = box[r]
        cv2.multiply(t, grey3[r], dst=t, dtype=cv2.CV_32F)
        cv2.add(t, u, dst=t)
        cv2.addWeighted(px, keep - 1.0, low[r], -keep, 0.0, dst=u, dtype=cv2.CV_32F)
        cv2.add(t, u, dst=t)
        cv2.multiply(t, wr, dst=t, scale=strength)
        # Rounded and saturated to 8 bits, as np.rint(np.clip(·)) would.
        cv2.add(px, t, dst=px, dtype=cv2.CV_8U)


def _upsampled_bands(
    coefficients: tuple[np.ndarray, np.ndarray],
    weight: np.ndarray,
    full: tuple[int, int],
    origin: tuple[int, int],
    dims: tuple[int, int],
    step: int,
    ws: Workspace,
) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
    """For each band of ``step`` rows of the box (``dims`` = (bw, bh) at ``origin`` in a frame
    of ``full`` size): its rows, and ``a``, ``b`` and the weight (three channels) upsampled
    there as :func:`upsampled_box` does, in arrays free to write.

    Where OpenCV's float warp is exact, each band is warped on its own, the weight as three
    channels (a one-channel warp's values, repeated): the band's three arrays are made where
    its passes read them, in the core's cache, where the whole box's (2.8 MB at 720p) went to
    the shared cache and back, and the weight's expansion to three channels (a pass a band) is
    gone. A band's warp starts at its own first row, so its positions are rounded apart from
    the whole box's (float rounding: 18 of 4001 random bands differed, by 3e-5 at most) but
    the picture was the same bytes: 400 random boxes (86 M values) against the whole box's
    warps, the 720p demo's 150 Studio frames and the golden faces
    (tests/test_beauty_crop.py). The stage used 0.24-0.44 ms less CPU a 720p demo Studio frame
    (median 0.25; the two alternated in one process, 8 pairs of 150 frames, 2026-12-07, load
    1.2-2.3)."""
    a, b = coefficients
    w, h = full
    x0, y0 = origin
    bw, bh = dims
    w3 = ws.take("w3", (step, bw, 3))
    if weight.shape != (h, w) and warp_is_exact():
        weight3 = cv2.cvtColor(weight, cv2.COLOR_GRAY2BGR)
        a_band, b_band = ws.take("a", (step, bw, 3)), ws.take("b", (step, bw, 3))
        for r0 in range(0, bh, step):
            n = min(step, bh - r0)
            at = (x0, y0 + r0, bw, n)
            t = _warped_box(a, full, at, a_band[:n])
            u = _warped_box(b, full, at, b_band[:n])
            yield slice(r0, r0 + n), t, u, _warped_box(weight3, full, at, w3[:n])
        return
    if weight.shape != (h, w):
        box_at = (x0, y0, bw, bh)
        a_up = upsampled_box(a, (w, h), box_at, ws, "a")
        b_up = upsampled_box(b, (w, h), box_at, ws, "b")
        w_up = upsampled_box(weight, (w, h), box_at, ws, "weight")
    else:
        # Fresh arrays (the guided filter's): written in place by the caller.
        inner = slice(y0, y0 + bh), slice(x0, x0 + bw)
        a_up, b_up, w_up = a[inner], b[inner], weight[inner]
    for r0 in range(0, bh, step):
        r = slice(r0, min(r0 + step, bh))
        yield r, a_up[r], b_up[r], cv2.cvtColor(w_up[r], cv2.COLOR_GRAY2BGR, dst=w3[: r.stop - r0])


def upsampled_box(
    small: np.ndarray,
    full: tuple[int, int],
    box: tuple[int, int, int, int],
    ws: Workspace,
    name: str,
) -> np.ndarray:
    """``cv2.resize(small, full, INTER_LINEAR)[y0:y0 + bh, x0:x0 + bw]`` for ``box`` (x0, y0,
    bw, bh), made for the box alone where OpenCV's float warp is exact (:func:`warp_is_exact`,
    within float rounding of the resize); elsewhere the whole resize, and its box. Either way
    a scratch array of ``ws`` (``name``), free to write.

    0.05-0.07 ms less CPU a 720p Studio frame than resizing the coefficients and the weight
    to the whole ROI (12 % larger than the box: 3.5 MB of float images where the box's are
    3.1; in-process A/B, 150 frames twice, 16 MB written between frames as other stages do,
    2026-12-04, load 0.6-2); the same bytes on those frames."""
    (w, h), (x0, y0, bw, bh) = full, box
    if warp_is_exact():
        return _warped_box(small, full, box, ws.take(name, (bh, bw, *small.shape[2:])))
    whole = ws.take(name, (h, w, *small.shape[2:]))
    cv2.resize(small, (w, h), dst=whole, interpolation=cv2.INTER_LINEAR)
    part: np.ndarray = whole[y0 : y0 + bh, x0 : x0 + bw]
    return part


def _warped_box(
    small: np.ndarray,
    full: tuple[int, int],
    box: tuple[int, int, int, int],
    dst: np.ndarray | None = None,
) -> np.ndarray:
    """An affine warp of ``small`` to the positions where ``cv2.resize`` to ``full`` samples
    the pixels of ``box`` (half-pixel centres; the edges replicated, as the resize clamps)."""
    (w, h), (x0, y0, bw, bh) = full, box
    sx, sy = small.shape[1] / w, small.shape[0] / h
    m = np.array([[sx, 0.0, (x0 + 0.5) * sx - 0.5], [0.0, sy, (y0 + 0.5) * sy - 0.5]])
    out: np.ndarray = cv2.warpAffine(
        small, m, (bw, bh), dst=dst, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return out


WARP_EXACT_RTOL = 1e-5
""":func:`warp_is_exact`: the warp's values within this of the resize's (relative to the
largest): float rounding (measured with OpenCV 5.1: 1.5e-7 at most, 400 random maps enlarged
up to 12x). OpenCV 4 weighs a warp's samples in steps of 1/32 of a pixel: off by up to 1/64
of a pixel's step, which the picture would show (tests/test_beauty_crop.py)."""


@functools.cache
def warp_is_exact() -> bool:
    """Whether this OpenCV's float ``warpAffine(INTER_LINEAR)`` samples where it is asked to
    (OpenCV 5), not at the nearest 1/32 of a pixel (OpenCV 4): probed once, on a random map
    enlarged by ratios that no 1/32 step holds."""
    small = np.random.default_rng(0).uniform(-1.0, 1.0, (7, 9, 3)).astype(np.float32)
    full, box = (61, 47), (5, 3, 50, 40)
    x0, y0, bw, bh = box
    resized = cv2.resize(small, full, interpolation=cv2.INTER_LINEAR)[y0 : y0 + bh, x0 : x0 + bw]
    error = float(np.abs(_warped_box(small, full, box) - resized).max())
    return error <= WARP_EXACT_RTOL * float(np.abs(small).max())


STRIP_BYTES = 256 * 1024
"""A band of the OpenCV smoothing pass holds about this much of each float image (64 rows of
the 720p demo face's box; 48 to 128 rows measured the same)."""


# ----------------------------------------------------------------------------- under-eye
def under_eye_polygons(lm: np.ndarray) -> list[np.ndarray]:
    out = []
    for inner, outer in (
        (RIGHT_UNDER_EYE_INNER, RIGHT_UNDER_EYE_OUTER),
        (LEFT_UNDER_EYE_INNER, LEFT_UNDER_EYE_OUTER),
    ):
        out.append(np.concatenate([lm[list(inner)], lm[list(outer)][::-1]], axis=0))
    return out


@register_effect("under_eye", "under_eye")
def lighten_under_eyes(work: FaceWork, strength: float, settings: Any = None) -> None:
    """Lift the darker parts of the band under each eye towards its brighter parts
    (multiplicatively, so skin texture stays)."""
    feather = max(UNDER_EYE_FEATHER * work.size, 0.5)
    for poly in under_eye_polygons(work.lm):
        rm = masks.polygon_mask_roi(poly, work.dims, feather, inner=True)
        got = _crop(work, rm)
        if got is None:
            continue
        pixels, crop = got
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        local = cv2.GaussianBlur(grey, (0, 0), max(UNDER_EYE_LOCAL * work.size, 0.5))
        inside = rm.mask > 0.5
        if not inside.any():
            continue
        target = float(np.percentile(local[inside], UNDER_EYE_REFERENCE_PERCENTILE))
        gain = np.clip(target / np.maximum(local, 1.0), 1.0, 1.0 + UNDER_EYE_MAX_LIFT)
        _blend(crop, rm.mask * np.float32(strength), crop * gain[..., None])
        _store(pixels, crop)


# ----------------------------------------------------------------------------- eyes
@register_effect("eye_brightening", "eye_brightening")
def brighten_eyes(work: FaceWork, strength: float, settings: Any = None) -> None:
    """Whiten the bright parts of the eye (sclera) and add local contrast to the iris."""
    feather = max(EYE_FEATHER * work.size, 0.5)
    for side in ("right_eye", "left_eye"):
        rm = masks.inner_feathered(work.lm, side, work.dims, feather)
        got = _crop(work, rm)
        if got is None:
            continue
        pixels, crop = got
        bright = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)[..., None] * np.float32(1.0 / 255.0)
        detail = crop - cv2.GaussianBlur(crop, (0, 0), max(EYE_CLARITY_SIGMA * work.size, 0.7))
        target = crop + EYE_LIFT * (255.0 - crop) * bright + EYE_CLARITY * detail
        _blend(crop, rm.mask * np.float32(strength), target)
        _store(pixels, crop)


# ----------------------------------------------------------------------------- teeth
def mouth_open_weight(lm: np.ndarray) -> float:
    return float(smoothstep(MOUTH_OPEN_MIN, MOUTH_OPEN_FULL, np.array(mouth_open_ratio(lm))))


@register_effect("teeth_whitening", "teeth_whitening")
def whiten_teeth(work: FaceWork, strength: float, settings: Any = None) -> None:
    """Raise lightness and remove yellow from the teeth: bright, not-red pixels of the mouth
    interior, only while the mouth is open."""
    opened = mouth_open_weight(work.lm)
    if opened <= 0.0:
        return
    feather = max(TEETH_FEATHER * work.size, 0.5)
    rm = masks.inner_feathered(work.lm, "mouth_interior", work.dims, feather)
    got = _crop(work, rm)
    if got is None:
        return
    pixels, crop = got
    lab = cv2.cvtColor(crop * np.float32(1.0 / 255.0), cv2.COLOR_BGR2Lab)
    lightness, red, yellow = lab[..., 0], lab[..., 1], lab[..., 2]
    teeth = smoothstep(TEETH_L_MIN, TEETH_L_FULL, lightness) * (
        1.0 - smoothstep(TEETH_RED_MIN, TEETH_RED_DROP, red)
    )
    lab[..., 0] = lightness + TEETH_LIFT * (100.0 - lightness)
    lab[..., 2] = yellow - TEETH_DEYELLOW * np.maximum(yellow, 0.0)
    target = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR) * np.float32(255.0)
    _blend(crop, rm.mask * teeth * np.float32(strength * opened), target)
    _store(pixels, crop)


# ----------------------------------------------------------------------------- lips
def _lab_of_rgb(rgb: tuple[int, int, int]) -> np.ndarray:
    bgr = np.array([[[rgb[2], rgb[1], rgb[0]]]], np.float32) / np.float32(255.0)
    lab: np.ndarray = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)[0, 0]
    return lab


@register_effect("lip_tint", "lip_tint")
def tint_lips(work: FaceWork, strength: float, settings: Any) -> None:
    """Move the lips' colour to ``settings.lip_color`` keeping their shading and texture."""
    feather = max(LIP_FEATHER * work.size, 0.5)
    rm = regions.region_mask_roi(work.lm, "lips_outer", work.dims, feather=feather, as_float=True)
    # Feathered towards the skin, cut sharply at the inner lip line: teeth stay untinted.
    w, h = rm.mask.shape[1], rm.mask.shape[0]
    local = work.lm - np.array([rm.x, rm.y], np.float32)
    interior = regions.region_mask(local, "lips_inner", (w, h))
    rm.mask[interior > 0] = 0.0
    got = _crop(work, rm)
    if got is None:
        return
    pixels, crop = got
    tint = _lab_of_rgb(settings.lip_rgb)
    lab = cv2.cvtColor(crop * np.float32(1.0 / 255.0), cv2.COLOR_BGR2Lab)
    inside = rm.mask > 0.5
    if not inside.any():
        return
    mean = lab[inside].mean(axis=0)
    lab[..., 0] += LIP_LIGHTNESS_PULL * (tint[0] - mean[0])
    lab[..., 1] = tint[1] + LIP_TEXTURE_KEEP * (lab[..., 1] - mean[1])
    lab[..., 2] = tint[2] + LIP_TEXTURE_KEEP * (lab[..., 2] - mean[2])
    target = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR) * np.float32(255.0)
    _blend(crop, rm.mask * np.float32(strength), target)
    _store(pixels, crop)
