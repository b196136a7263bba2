"""Face regions of MediaPipe's 478-point face-mesh topology, as polygons and masks.

Index rings follow MediaPipe's ``face_mesh_connections`` (the same sets its drawing utilities
use), ordered as closed outlines so they can be filled directly. "Left" and "right" are the
*subject's*, as in MediaPipe: on an unmirrored camera image the subject's right eye (landmark
33) appears on the image's left.

Polygons are in the landmarks' pixel coordinates. Masks are rasterised only inside the
polygon's bounding box (plus the feather margin), which keeps a small region on a 4K frame
cheap; :func:`region_mask_roi` returns that crop and its offset for callers that blend in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

NUM_LANDMARKS = 478
NUM_MESH_LANDMARKS = 468

FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
LIPS_OUTER: tuple[int, ...] = (
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291,
    375, 321, 405, 314, 17, 84, 181, 91, 146,
)  # fmt: skip
LIPS_INNER: tuple[int, ...] = (
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308,
    324, 318, 402, 317, 14, 87, 178, 88, 95,
)  # fmt: skip
MOUTH_INTERIOR = LIPS_INNER
RIGHT_EYE: tuple[int, ...] = (
    33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7,
)  # fmt: skip
LEFT_EYE: tuple[int, ...] = (
    263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249,
)  # fmt: skip
RIGHT_IRIS: tuple[int, ...] = (468, 469, 470, 471, 472)
"""Centre first, then four points on the iris boundary."""
LEFT_IRIS: tuple[int, ...] = (473, 474, 475, 476, 477)
RIGHT_BROW: tuple[int, ...] = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW: tuple[int, ...] = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
NOSE: tuple[int, ...] = (358, 343, 417, 168, 193, 114, 129, 98, 97, 2, 326, 327)
"""Convex outline of the nose (bridge between the eyes down to the alae), taken as the hull of
MediaPipe's nose landmarks on the canonical face."""

# Upper half of the face oval, from the right temple over the forehead to the left temple:
# the part that the hairline estimate lifts.
FOREHEAD_ARC: tuple[int, ...] = (
    127, 162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389, 356,
)  # fmt: skip
CHIN = 152
FOREHEAD_TOP = 10

# Landmark 10 sits roughly 3 cm under a typical hairline on a 17.7 cm chin-to-10 face (the
# canonical model), hence a lift of about 0.17 of that height at the centre; towards the
# temples the hairline meets the oval, so the lift tapers off.
HAIRLINE_LIFT = 0.17
HAIRLINE_TEMPLE_LIFT = 0.35
"""Fraction of the central lift kept at the temples."""

IRIS_POLYGON_POINTS = 24

# Rings whose polygon is the landmarks in order.
RING_REGIONS: dict[str, tuple[int, ...]] = {
    "face_oval": FACE_OVAL,
    "lips_outer": LIPS_OUTER,
    "lips_inner": LIPS_INNER,
    "mouth_interior": MOUTH_INTERIOR,
    "left_eye": LEFT_EYE,
    "right_eye": RIGHT_EYE,
    "left_brow": LEFT_BROW,
    "right_brow": RIGHT_BROW,
    "nose": NOSE,
}

# Regions that are one region minus others when masked ("lips" is the lip flesh only).
COMPOSITE_REGIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lips": (("lips_outer",), ("lips_inner",)),
    "eyes": (("left_eye", "right_eye"), ()),
    "irises": (("left_iris", "right_iris"), ()),
    "brows": (("left_brow", "right_brow"), ()),
    "skin": (
        ("face_with_forehead",),
        ("left_eye", "right_eye", "left_brow", "right_brow", "lips_outer"),
    ),
}


def as_landmarks(face_or_landmarks: Any) -> np.ndarray:
    """The N×2+ landmark array of a :class:`~pipelines.tracking.types.Face` or an array."""
    lm = getattr(face_or_landmarks, "landmarks", face_or_landmarks)
    arr = np.asarray(lm)
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.shape[0] < NUM_MESH_LANDMARKS:
        raise ValueError(f"expected at least 468×2 landmarks, got shape {arr.shape}")
    return arr


def _ring(indices: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    idx = np.asarray(indices)

    def build(lm: np.ndarray) -> np.ndarray:
        return lm[idx, :2].astype(np.float32)

    return build


def iris_polygon(landmarks: Any, side: str) -> np.ndarray:
    """A circle through the iris boundary points (``side`` "left" or "right", the subject's)."""
    lm = as_landmarks(landmarks)
    if lm.shape[0] < NUM_LANDMARKS:
        raise ValueError("iris regions need the 478-point refined mesh")
    ids = LEFT_IRIS if side == "left" else RIGHT_IRIS
    centre = lm[ids[0], :2].astype(np.float64)
    radius = float(np.mean(np.linalg.norm(lm[list(ids[1:]), :2] - centre, axis=1)))
    t = np.linspace(0.0, 2.0 * np.pi, IRIS_POLYGON_POINTS, endpoint=False)
    return (centre + radius * np.stack([np.cos(t), np.sin(t)], axis=1)).astype(np.float32)


def hairline_curve(landmarks: Any, lift: float = HAIRLINE_LIFT) -> np.ndarray:
    """Estimated hairline: the upper face oval (right temple → left temple) pushed "up" the face.

    The mesh ends at the upper forehead, below where hair starts; the push is ``lift`` times the
    chin-to-forehead distance at the centre, tapering towards the temples. It is an estimate
    from face proportions, not a detection of hair.
    """
    lm = as_landmarks(landmarks)
    arc = lm[list(FOREHEAD_ARC), :2].astype(np.float64)
    up = lm[FOREHEAD_TOP, :2].astype(np.float64) - lm[CHIN, :2].astype(np.float64)
    height = float(np.linalg.norm(up))
    if height < 1e-6:
        return arc.astype(np.float32)
    up /= height
    n = len(FOREHEAD_ARC)
    # cos² profile: 1 at the centre (landmark 10), HAIRLINE_TEMPLE_LIFT at the ends.
    pos = np.linspace(-1.0, 1.0, n)
    profile = HAIRLINE_TEMPLE_LIFT + (1.0 - HAIRLINE_TEMPLE_LIFT) * np.cos(pos * np.pi / 2) ** 2
    return (arc + (lift * height * profile)[:, None] * up[None, :]).astype(np.float32)


def face_with_forehead_polygon(landmarks: Any) -> np.ndarray:
    """The face oval with its upper arc replaced by the hairline estimate."""
    lm = as_landmarks(landmarks)
    hair = hairline_curve(lm)
    # Lower part of the oval from the left temple (356) round the chin to the right temple (127).
    start = FACE_OVAL.index(356)
    end = FACE_OVAL.index(127)
    lower = lm[list(FACE_OVAL[start : end + 1]), :2].astype(np.float32)
    return np.concatenate([hair, lower[1:-1]], axis=0)


def forehead_polygon(landmarks: Any) -> np.ndarray:
    """Between the upper face oval and the hairline estimate."""
    lm = as_landmarks(landmarks)
    arc = lm[list(FOREHEAD_ARC), :2].astype(np.float32)
    return np.concatenate([hairline_curve(lm), arc[::-1]], axis=0)


POLYGON_BUILDERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    **{name: _ring(ids) for name, ids in RING_REGIONS.items()},
    "left_iris": lambda lm: iris_polygon(lm, "left"),
    "right_iris": lambda lm: iris_polygon(lm, "right"),
    "face_with_forehead": face_with_forehead_polygon,
    "forehead": forehead_polygon,
}

REGION_NAMES: tuple[str, ...] = tuple(POLYGON_BUILDERS) + tuple(COMPOSITE_REGIONS)


def region_polygon(landmarks: Any, name: str) -> np.ndarray:
    """K×2 float32 outline of region ``name`` in the landmarks' pixel coordinates."""
    try:
        build = POLYGON_BUILDERS[name]
    except KeyError:
        known = ", ".join(POLYGON_BUILDERS)
        raise KeyError(f"unknown face region {name!r}; polygon regions: {known}") from None
    return build(as_landmarks(landmarks))


def _expand(names: str | Iterable[str]) -> tuple[list[str], list[str]]:
    """Split region names (composites expanded) into (add, subtract) polygon names."""
    add: list[str] = []
    sub: list[str] = []
    for name in [names] if isinstance(names, str) else names:
        if name in COMPOSITE_REGIONS:
            a, s = COMPOSITE_REGIONS[name]
            add += a
            sub += s
        else:
            add.append(name)
    return add, sub


@dataclass
class RegionMask:
    """A mask crop and where it sits in the frame: ``frame[y:y+h, x:x+w]`` ↔ ``mask``."""

    mask: np.ndarray
    x: int
    y: int

    @property
    def slices(self) -> tuple[slice, slice]:
        h, w = self.mask.shape[:2]
        return slice(self.y, self.y + h), slice(self.x, self.x + w)

    def full(self, size: tuple[int, int]) -> np.ndarray:
        """The mask pasted into a zero frame of ``size`` = (width, height)."""
        out = np.zeros((size[1], size[0]), self.mask.dtype)
        out[self.slices] = self.mask
        return out


_SUBPIXEL_SHIFT = 4  # fillPoly fixed-point bits: 1/16 px vertex precision


def region_mask_roi(
    landmarks: Any,
    regions: str | Iterable[str],
    size: tuple[int, int],
    *,
    exclude: Iterable[str] = (),
    feather: float = 0.0,
    dilate: float = 0.0,
    as_float: bool = False,
    margin: int = 2,
) -> RegionMask:
    """Rasterise ``regions`` minus ``exclude`` inside their bounding box only.

    ``size`` is the frame's (width, height). ``feather`` is a Gaussian sigma in pixels applied
    to the edge; ``dilate`` grows (or, negative, shrinks) the region by that many pixels first.
    Returns uint8 0/255 (feathered: 0..255) or, with ``as_float``, float32 in [0, 1].
    """
    lm = as_landmarks(landmarks)
    add, sub = _expand(regions)
    sub += _expand(list(exclude))[0]
    polys_add = [region_polygon(lm, n) for n in add]
    polys_sub = [region_polygon(lm, n) for n in sub]
    w, h = size
    pad = int(np.ceil(3.0 * feather + max(dilate, 0.0))) + margin
    if polys_add:
        pts = np.concatenate(polys_add, axis=0)
        x0 = int(np.floor(pts[:, 0].min())) - pad
        y0 = int(np.floor(pts[:, 1].min())) - pad
        x1 = int(np.ceil(pts[:, 0].max())) + pad + 1
        y1 = int(np.ceil(pts[:, 1].max())) + pad + 1
    else:
        x0 = y0 = x1 = y1 = 0
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        dtype = np.float32 if as_float else np.uint8
        return RegionMask(np.zeros((0, 0), dtype), 0, 0)
    crop: np.ndarray = np.zeros((y1 - y0, x1 - x0), np.uint8)
    scale = float(1 << _SUBPIXEL_SHIFT)
    offset = np.array([x0, y0], np.float32)

    def fixed(poly: np.ndarray) -> np.ndarray:
        return np.round((poly - offset) * scale).astype(np.int32).reshape(-1, 1, 2)

    cv2.fillPoly(crop, [fixed(p) for p in polys_add], 255, cv2.LINE_AA, _SUBPIXEL_SHIFT)
    if dilate:
        k = round(abs(dilate)) * 2 + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        op = cv2.dilate if dilate > 0 else cv2.erode
        crop = op(crop, kernel)
    if polys_sub:
        cv2.fillPoly(crop, [fixed(p) for p in polys_sub], 0, cv2.LINE_AA, _SUBPIXEL_SHIFT)
    if feather > 0:
        crop = cv2.GaussianBlur(crop, (0, 0), feather)
    if as_float:
        return RegionMask(crop.astype(np.float32) * np.float32(1.0 / 255.0), x0, y0)
    return RegionMask(crop, x0, y0)


def region_mask(
    landmarks: Any,
    regions: str | Iterable[str],
    size: tuple[int, int],
    *,
    exclude: Iterable[str] = (),
    feather: float = 0.0,
    dilate: float = 0.0,
    as_float: bool = False,
) -> np.ndarray:
    """Full-frame mask (H×W) of ``regions`` minus ``exclude``; see :func:`region_mask_roi`."""
    roi = region_mask_roi(
        landmarks, regions, size, exclude=exclude, feather=feather, dilate=dilate,
        as_float=as_float,
    )  # fmt: skip
    return roi.full(size)
