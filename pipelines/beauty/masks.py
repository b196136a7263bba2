"""Soft masks for the retouching effects, built from landmarks and refined by colour.

The skin mask is the face oval minus eyes, brows, lips and
mouth, feathered, then multiplied by a per-face skin-colour model so beard, stubble, glasses
frames and hair inside that outline are left alone. The colour model is fitted on every frame
to the face's own cheeks and forehead (robust median/MAD statistics in YCrCb, read off 8-bit
histograms), so it follows the person's skin tone and the current light without any training
data.

The geometric part (rasterised and feathered polygons, the colour model's sample area) depends
on the landmarks only: a :class:`SkinMaskCache` keeps it between frames while no landmark has
moved more than a given tolerance, so a still face pays for the colour part alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.beauty.geometry import feathered, smoothstep
from pipelines.segmentation import fused
from pipelines.tracking import regions

# All sizes are fractions of the face size (see geometry.face_size).
SKIN_FEATHER = 0.025
"""Gaussian sigma of the skin mask's edge."""
HOLE_MARGIN = 0.02
"""Eyes, brows and lips are cut out this much larger than their outline…"""
HOLE_FEATHER = 0.012
"""…plus two of these feather sigmas, then feathered with it."""
SAMPLE_ERODE = 0.08
"""The colour model samples the face oval shrunk by this much (away from hair and jaw), above
the nose base (away from beards)."""

NOSE_BASE = 2
SKIN_REGION = "face_oval"
SKIN_HOLES = ("eyes", "brows", "lips_outer")

# Skin-colour model thresholds, in robust standard deviations (1.4826·MAD).
CHROMA_KEEP = 2.5
"""Chroma distance (Cr, Cb) fully accepted as skin…"""
CHROMA_DROP = 4.5
"""…and fully rejected beyond this."""
DARK_KEEP = 2.0
"""How much darker than the median skin a pixel may be and still be skin (beard, brows,
glasses frames and hair are darker)…"""
DARK_DROP = 3.5
CHROMA_SIGMA_FLOOR = 2.5
"""Minimum chroma sigma in 8-bit YCrCb levels (a greyscale camera has none)."""
LUMA_SIGMA_FLOOR = 8.0


_SPREAD_OFFSETS = np.array([[0], [512], [1024]])


def _histogram_median(hist: np.ndarray, n: int) -> np.ndarray:
    """Twice the median of ``n`` integer values per row of ``hist`` (bin = value): the sum of
    the two middle values' bins, as ``np.median`` averages them for an even count."""
    cum = np.cumsum(hist, axis=1)
    lo = (cum >= (n - 1) // 2 + 1).argmax(axis=1)  # 0-based ranks (n − 1) // 2 and n // 2
    hi = (cum >= n // 2 + 1).argmax(axis=1)
    out: np.ndarray = lo + hi
    return out


@dataclass(frozen=True)
class SkinColourModel:
    """Robust skin statistics in 8-bit YCrCb (centre and sigma per channel)."""

    y: float
    cr: float
    cb: float
    sy: float
    scr: float
    scb: float

    @classmethod
    def fit(cls, ycrcb: np.ndarray, sample: np.ndarray) -> SkinColourModel | None:
        """Fit on the pixels of ``ycrcb`` (H×W×3 uint8) where ``sample`` (H×W) is non-zero.

        The medians are exactly ``np.median``'s (the mean of the two middle values for an even
        count), taken from 256-bin histograms instead of sorting the pixels.
        """
        if fused.ready():
            # One compiled pass for the count, the histograms and both medians (integers:
            # the same values as below).
            n, found = fused.skin_statistics(ycrcb, sample)
            if n < 16:
                return None
            twice_med, four_mad = found[:3], found[3:]
        else:
            n = cv2.countNonZero(sample)
            if n < 16:
                return None
            hist = np.stack(
                [cv2.calcHist([ycrcb], [c], sample, [256], [0, 256]).reshape(256) for c in range(3)]
            ).astype(np.int64)
            twice_med = _histogram_median(hist, n)
            # |2·level − 2·median| is an integer: the median of its histogram is twice the MAD
            # (and _histogram_median returns twice that).
            spread = np.abs(2 * np.arange(256) - twice_med[:, None]) + _SPREAD_OFFSETS
            spread_hist = np.bincount(spread.ravel(), weights=hist.ravel(), minlength=3 * 512)
            four_mad = _histogram_median(spread_hist.reshape(3, 512), n)
        med = [float(v) / 2.0 for v in twice_med]
        mad = [float(np.float32(v / 4.0) * np.float32(1.4826)) for v in four_mad]
        return cls(
            y=med[0],
            cr=med[1],
            cb=med[2],
            sy=max(mad[0], LUMA_SIGMA_FLOOR),
            scr=max(mad[1], CHROMA_SIGMA_FLOOR),
            scb=max(mad[2], CHROMA_SIGMA_FLOOR),
        )

    def probability(self, ycrcb: np.ndarray) -> np.ndarray:
        """Soft skin likelihood in [0, 1] per pixel (float32)."""
        if fused.ready():
            # One compiled pass where NumPy makes about twenty: the same float32 operations.
            return fused.skin_probability(
                ycrcb,
                (self.y, self.cr, self.cb, self.sy, self.scr, self.scb,
                 CHROMA_KEEP, CHROMA_DROP - CHROMA_KEEP, DARK_KEEP, DARK_DROP - DARK_KEEP),
            )  # fmt: skip
        f = ycrcb.astype(np.float32)
        dcr = (f[..., 1] - np.float32(self.cr)) / np.float32(self.scr)
        dcb = (f[..., 2] - np.float32(self.cb)) / np.float32(self.scb)
        chroma = np.sqrt(dcr * dcr + dcb * dcb)
        dark = (np.float32(self.y) - f[..., 0]) / np.float32(self.sy)
        p_chroma = 1.0 - smoothstep(CHROMA_KEEP, CHROMA_DROP, chroma)
        p_dark = 1.0 - smoothstep(DARK_KEEP, DARK_DROP, dark)
        out: np.ndarray = p_chroma * p_dark
        return out


def _fill(lm: np.ndarray, names: str | tuple[str, ...], size: tuple[int, int], dilate: float = 0.0):
    return regions.region_mask(lm, names, size, dilate=dilate)


@dataclass(frozen=True)
class SkinGeometry:
    """The landmark-only part of a skin mask, at one image size."""

    mask: np.ndarray
    """Feathered face oval minus feathered holes (float32 0..1)."""
    sample: np.ndarray
    """uint8 mask of the pixels the colour model is fitted on."""
    sigma: float
    """The outline's feather sigma (the colour term is blurred with half of it)."""


def skin_geometry(lm: np.ndarray, dims: tuple[int, int], size: float) -> SkinGeometry:
    """Rasterise the skin outline, its holes and the colour sample for an image of ``dims``."""
    face = _fill(lm, SKIN_REGION, dims)
    # The holes are grown by two of their (narrower) feather sigmas before feathering, so the
    # smoothing fades out before it reaches lashes, brows and the lip line.
    hole_sigma = max(HOLE_FEATHER * size, 0.5)
    holes = _fill(lm, SKIN_HOLES, dims, dilate=HOLE_MARGIN * size + 2.0 * hole_sigma)
    geo = cv2.bitwise_and(face, cv2.bitwise_not(holes))
    sigma = max(SKIN_FEATHER * size, 0.5)
    outline = feathered(face, sigma)
    cut = feathered(holes, hole_sigma)
    mask = outline * (np.float32(255.0) - cut) * np.float32(1.0 / 255.0**2)
    sample = cv2.bitwise_and(_shrunk(face, SAMPLE_ERODE * size), geo)
    sample[~above_nose_base(lm, dims)] = 0  # no beard or moustache in the sample
    return SkinGeometry(mask, sample, sigma)


def _shrunk(face: np.ndarray, by: float) -> np.ndarray:
    """The face oval's mask (:data:`SKIN_REGION`, rasterised) shrunk by ``by`` pixels: the
    pixels of ``_fill(lm, "face_oval", dims, dilate=-by)``, which rasterises the oval again to
    erode it (in a crop with a zero margin round the oval, so the frame's zeros beyond the crop
    change nothing); 0.1-0.2 ms a rebuilt 720p Studio geometry."""
    k = round(by) * 2 + 1
    out: np.ndarray = cv2.erode(face, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return out


class SkinMaskCache:
    """One face's :class:`SkinGeometry`, reused while its landmarks stay put.

    :meth:`geometry` rebuilds it when the image size changes or any landmark is ``tolerance``
    pixels or more from where it was when the geometry was built (so drift cannot add up), and
    returns the kept one otherwise. With tolerance 0 it is always rebuilt unless the landmarks
    are identical.
    """

    def __init__(self) -> None:
        self._lm: np.ndarray | None = None
        self._dims: tuple[int, int] | None = None
        self._geometry: SkinGeometry | None = None
        self.hits = 0
        self.misses = 0

    def geometry(
        self, lm: np.ndarray, dims: tuple[int, int], size: float, tolerance: float = 0.0
    ) -> SkinGeometry:
        kept = self._geometry
        same_shape = self._lm is not None and self._lm.shape == lm.shape
        if kept is not None and self._dims == dims and self._lm is not None and same_shape:
            moved = float(np.abs(lm - self._lm).max())
            if moved == 0.0 or moved < tolerance:
                self.hits += 1
                return kept
        self.misses += 1
        self._geometry = skin_geometry(lm, dims, size)
        self._lm = np.array(lm, np.float32, copy=True)
        self._dims = dims
        return self._geometry


def skin_mask(
    work_bgr: np.ndarray,
    lm: np.ndarray,
    size: float,
    *,
    use_colour: bool = True,
    cache: SkinMaskCache | None = None,
    tolerance: float = 0.0,
) -> np.ndarray:
    """Feathered skin mask (float32 in [0, 1]) for the image ``work_bgr``.

    ``lm`` are the landmarks in ``work_bgr``'s pixel coordinates and ``size`` the face size in
    those pixels. Zero beyond the skin outline plus ``3 · SKIN_FEATHER · size``. With a
    ``cache``, the geometric part is reused while no landmark moved ``tolerance`` pixels (see
    :class:`SkinMaskCache`); the colour model is fitted to this image every time.
    """
    h, w = work_bgr.shape[:2]
    dims = (w, h)
    if cache is None:
        geo = skin_geometry(lm, dims, size)
    else:
        geo = cache.geometry(lm, dims, size, tolerance)
    if not use_colour:
        return geo.mask.copy()
    ycrcb = cv2.cvtColor(work_bgr, cv2.COLOR_BGR2YCrCb)
    model = SkinColourModel.fit(ycrcb, geo.sample)
    if model is None:
        return geo.mask.copy()
    prob = cv2.GaussianBlur(model.probability(ycrcb), (0, 0), max(0.5 * geo.sigma, 0.5))
    out: np.ndarray = geo.mask * prob
    return out


def above_nose_base(lm: np.ndarray, dims: tuple[int, int]) -> np.ndarray:
    """H×W bool: pixels on the forehead side of the line through the nose base (landmark 2)
    across the face, i.e. the part of the face where beards and moustaches don't grow."""
    top, chin, base = lm[regions.FOREHEAD_TOP], lm[regions.CHIN], lm[NOSE_BASE]
    axis = (chin - top).astype(np.float32)
    axis /= max(float(np.linalg.norm(axis)), 1e-6)
    w, h = dims
    xs = np.arange(w, dtype=np.float32) - base[0]
    ys = np.arange(h, dtype=np.float32) - base[1]
    out: np.ndarray = (xs[None, :] * axis[0] + ys[:, None] * axis[1]) < 0
    return out


def inner_feathered(
    lm: np.ndarray,
    region: str | tuple[str, ...],
    dims: tuple[int, int],
    feather: float,
) -> regions.RegionMask:
    """``region`` shrunk by two feather sigmas, then feathered: ~0 on and outside the outline.

    The crop is the region's bounding box (plus margin) inside an image of ``dims`` (w, h).
    """
    return regions.region_mask_roi(
        lm, region, dims, feather=feather, dilate=-2.0 * feather, as_float=True
    )


def polygon_mask_roi(
    poly: np.ndarray, dims: tuple[int, int], feather: float, *, inner: bool = False
) -> regions.RegionMask:
    """Feathered mask of an arbitrary polygon, cropped to its bounding box (plus 3σ).

    ``inner`` first shrinks the polygon by two sigmas so the feather stays inside the outline.
    """
    w, h = dims
    pad = int(np.ceil(3.0 * feather)) + 2
    x0 = max(int(np.floor(poly[:, 0].min())) - pad, 0)
    y0 = max(int(np.floor(poly[:, 1].min())) - pad, 0)
    x1 = min(int(np.ceil(poly[:, 0].max())) + pad + 1, w)
    y1 = min(int(np.ceil(poly[:, 1].max())) + pad + 1, h)
    if x1 <= x0 or y1 <= y0:
        return regions.RegionMask(np.zeros((0, 0), np.float32), 0, 0)
    crop: np.ndarray = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.round((poly - np.array([x0, y0], np.float32)) * 16).astype(np.int32)
    cv2.fillPoly(crop, [pts.reshape(-1, 1, 2)], 255, cv2.LINE_AA, 4)
    if inner and feather > 0:
        k = round(2.0 * feather) * 2 + 1
        crop = cv2.erode(crop, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if feather > 0:
        crop = cv2.GaussianBlur(crop, (0, 0), feather)
    return regions.RegionMask(crop.astype(np.float32) * np.float32(1.0 / 255.0), x0, y0)
