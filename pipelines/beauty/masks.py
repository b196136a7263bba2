"""Soft masks for the retouching effects, built from landmarks and refined by colour.

The skin mask is the face oval minus eyes, brows, lips and
mouth, feathered, then multiplied by a per-face skin-colour model so beard, stubble, glasses
frames and hair inside that outline are left alone. The colour model is fitted on every frame
to the face's own cheeks and forehead (robust median/MAD statistics in YCrCb), so it follows
the person's skin tone and the current light without any training data.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.beauty.geometry import smoothstep
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
        """Fit on the pixels of ``ycrcb`` (H×W×3 uint8) where ``sample`` (H×W) is non-zero."""
        px = ycrcb[sample > 0].astype(np.float32)
        if px.shape[0] < 16:
            return None
        med = np.median(px, axis=0)
        mad = np.median(np.abs(px - med), axis=0) * np.float32(1.4826)
        return cls(
            y=float(med[0]),
            cr=float(med[1]),
            cb=float(med[2]),
            sy=max(float(mad[0]), LUMA_SIGMA_FLOOR),
            scr=max(float(mad[1]), CHROMA_SIGMA_FLOOR),
            scb=max(float(mad[2]), CHROMA_SIGMA_FLOOR),
        )

    def probability(self, ycrcb: np.ndarray) -> np.ndarray:
        """Soft skin likelihood in [0, 1] per pixel (float32)."""
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


def skin_mask(
    work_bgr: np.ndarray, lm: np.ndarray, size: float, *, use_colour: bool = True
) -> np.ndarray:
    """Feathered skin mask (float32 in [0, 1]) for the image ``work_bgr``.

    ``lm`` are the landmarks in ``work_bgr``'s pixel coordinates and ``size`` the face size in
    those pixels. Zero beyond the skin outline plus ``3 · SKIN_FEATHER · size``.
    """
    h, w = work_bgr.shape[:2]
    dims = (w, h)
    face = _fill(lm, SKIN_REGION, dims)
    # The holes are grown by two of their (narrower) feather sigmas before feathering, so the
    # smoothing fades out before it reaches lashes, brows and the lip line.
    hole_sigma = max(HOLE_FEATHER * size, 0.5)
    holes = _fill(lm, SKIN_HOLES, dims, dilate=HOLE_MARGIN * size + 2.0 * hole_sigma)
    geo = cv2.bitwise_and(face, cv2.bitwise_not(holes))
    sigma = max(SKIN_FEATHER * size, 0.5)
    outline = cv2.GaussianBlur(face, (0, 0), sigma).astype(np.float32)
    cut = cv2.GaussianBlur(holes, (0, 0), hole_sigma).astype(np.float32)
    mask = outline * (np.float32(255.0) - cut) * np.float32(1.0 / 255.0**2)
    if not use_colour:
        return mask
    ycrcb = cv2.cvtColor(work_bgr, cv2.COLOR_BGR2YCrCb)
    sample = cv2.bitwise_and(_fill(lm, "face_oval", dims, dilate=-SAMPLE_ERODE * size), geo)
    sample[~above_nose_base(lm, dims)] = 0  # no beard or moustache in the sample
    model = SkinColourModel.fit(ycrcb, sample)
    if model is None:
        return mask
    prob = cv2.GaussianBlur(model.probability(ycrcb), (0, 0), max(0.5 * sigma, 0.5))
    out: np.ndarray = mask * prob
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
