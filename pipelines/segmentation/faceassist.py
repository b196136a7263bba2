"""Help from the face tracker: keep the face and hair, and keep only the primary person.

Works at model resolution on the stabilised mask, before refinement, so the guided filter
still places the final outline on the frame's edges. Everything here is optional: without a
tracked face (``ctx.primary_face`` is None) the mask passes through unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

if TYPE_CHECKING:
    from pipelines.tracking.types import Face

# The head region whose faint mask values are raised: the face (with the estimated forehead)
# grown by this fraction of the chin-to-forehead height, which reaches over most hairstyles.
HAIR_GROWTH = 0.35
# In the hair region a mask value m becomes max(m, min(1, HAIR_GAIN * m)): hair the model saw
# faintly is kept; background, which it does not see at all (m ≈ 0), stays out.
HAIR_GAIN = 2.0
# Soft edge (px at frame size) of the face oval restored after refinement; the oval is shrunk
# by as much so the feather stays inside the face.
FACE_FEATHER_PX = 2.0
# Person blobs: pixels above this count as person when finding connected people.
PERSON_THRESHOLD = 0.5
# Another person's blob is faded out with a soft edge of this many model pixels.
OTHER_PERSON_FEATHER = 1.5


def _scaled_landmarks(face: Face, frame_size: tuple[int, int], mask_shape: tuple[int, ...]):
    lm = np.asarray(face.landmarks, np.float32)[:, :2].copy()
    w, h = frame_size
    lm[:, 0] *= mask_shape[1] / w
    lm[:, 1] *= mask_shape[0] / h
    return lm


def face_regions(
    face: Face, frame_size: tuple[int, int], mask_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(face, head) float32 masks at ``mask_shape``: the face oval with forehead, and the
    larger head region that includes hair."""
    from pipelines.tracking.regions import CHIN, FOREHEAD_TOP, region_mask

    lm = _scaled_landmarks(face, frame_size, mask_shape)
    size = (mask_shape[1], mask_shape[0])
    face_mask = region_mask(lm, "face_with_forehead", size, feather=0.7, as_float=True)
    height = float(np.linalg.norm(lm[FOREHEAD_TOP] - lm[CHIN]))
    head_mask = _grown_face(lm, size, HAIR_GROWTH * height, feather=1.0).full(size)
    return face_mask, head_mask


def keep_face(mask: np.ndarray, face: Face, frame_size: tuple[int, int]) -> np.ndarray:
    """``mask`` with the face always person and faint hair around it raised (new array).

    The same as raising the whole mask by :func:`face_regions`' masks, worked out inside each
    region's bounding box only (the regions are 0 beyond it, and the mask is at least 0)."""
    from pipelines.tracking.regions import CHIN, FOREHEAD_TOP, region_mask_roi

    lm = _scaled_landmarks(face, frame_size, mask.shape)
    size = (mask.shape[1], mask.shape[0])
    weight = np.float32(max(0.0, min(1.0, face.visibility)))
    height = float(np.linalg.norm(lm[FOREHEAD_TOP] - lm[CHIN]))
    out = mask.copy()
    head = _grown_face(lm, size, HAIR_GROWTH * height, feather=1.0)
    if head.mask.size:
        region = out[head.slices]
        hair = np.minimum(region * np.float32(HAIR_GAIN), 1.0)
        np.maximum(region, hair * head.mask * weight, out=region)
    oval = region_mask_roi(lm, "face_with_forehead", size, feather=0.7, as_float=True)
    if oval.mask.size:
        region = out[oval.slices]
        np.maximum(region, oval.mask * weight, out=region)
    return out


def _grown_face(lm: np.ndarray, size: tuple[int, int], grow: float, feather: float) -> Any:
    """The face with forehead grown by ``grow`` px and feathered (a
    :class:`~pipelines.tracking.regions.RegionMask`, float32 in [0, 1]): the region whose faint
    mask is raised as hair.

    ``region_mask_roi(..., dilate=grow)`` grows it with an elliptical structuring element,
    whose cost grows with its area: 0.3-0.6 ms of CPU at 256×144 for a face of 50-60 model px
    (a 720p webcam's), most of the stage's face help. A distance transform of the polygon's
    inside does the same for a fraction of that: pixels up to ``grow`` from the inside are in,
    with a one-pixel ramp beyond, as the polygon's anti-aliased edge is. Against the
    elliptical dilation, feathered alike, on the demo's faces at 72-256 model px high: within
    0.29 at the edge (mean 0.0016), area +0.4 % (1.6 % on a face 13 px high)."""
    from pipelines.tracking.regions import RegionMask, region_polygon

    poly = region_polygon(lm, "face_with_forehead")
    w, h = size
    pad = int(np.ceil(3.0 * feather + grow)) + 2
    x0 = max(int(np.floor(poly[:, 0].min())) - pad, 0)
    y0 = max(int(np.floor(poly[:, 1].min())) - pad, 0)
    x1 = min(int(np.ceil(poly[:, 0].max())) + pad + 1, w)
    y1 = min(int(np.ceil(poly[:, 1].max())) + pad + 1, h)
    if x1 <= x0 or y1 <= y0:
        return RegionMask(np.zeros((0, 0), np.float32), 0, 0)
    crop = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4  # fillPoly's fixed-point bits, as region_mask_roi draws it
    corner = np.array([x0, y0], np.float32)
    pts = np.round((poly - corner) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(crop, [pts.reshape(-1, 1, 2)], 255, cv2.LINE_AA, shift)
    outside = np.less(crop, 128).view(np.uint8)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # 1 up to round(grow) px from the inside, then a one-pixel ramp down to 0.
    grown = np.float32(round(grow) + 1.0) - dist
    np.clip(grown, 0.0, 1.0, out=grown)
    if feather > 0:
        cv2.GaussianBlur(grown, (0, 0), feather, dst=grown)
    return RegionMask(grown, x0, y0)


def keep_face_full(
    mask: np.ndarray, face: Face, scale: float = 1.0
) -> tuple[int, int, int, int] | None:
    """Raise ``mask`` (frame size, or the frame times ``scale``; in place) to 1 over the face
    oval.

    The guided filter works on brightness alone and can dim a cheek that is as bright as the
    wall beside it; the face oval is certain, so it is restored after refinement. Only the
    oval's bounding box is touched (cheap at any frame size); returns that box as
    (y0, y1, x0, x1) in ``mask``'s pixels, or None when nothing was touched.
    """
    from pipelines.tracking.regions import region_mask_roi

    h, w = mask.shape
    weight = np.float32(max(0.0, min(1.0, face.visibility)))
    landmarks = np.asarray(face.landmarks, np.float32)
    if scale != 1.0:
        landmarks = landmarks[:, :2] * np.float32(scale)
    edge = FACE_FEATHER_PX * scale
    roi = region_mask_roi(landmarks, "face_oval", (w, h), feather=edge, dilate=-edge,
                          as_float=True)  # fmt: skip
    if not roi.mask.size:
        return None
    rows, cols = roi.slices
    region = mask[rows, cols]
    np.maximum(region, roi.mask * weight, out=region)
    return rows.start, rows.stop, cols.start, cols.stop


def primary_person_only(mask: np.ndarray, face: Face, frame_size: tuple[int, int]) -> np.ndarray:
    """``mask`` with every person blob that does not touch the primary face removed.

    People who touch (an arm over a shoulder) form one blob and both stay: the model gives no
    way to tell them apart at this resolution.
    """
    binary = (mask > PERSON_THRESHOLD).astype(np.uint8)
    count, labels = cv2.connectedComponents(binary, connectivity=8)
    if count <= 2:  # background and at most one blob: nothing to remove
        return mask
    face_mask, _ = face_regions(face, frame_size, mask.shape)
    touching = np.unique(labels[(face_mask > 0.5) & (binary > 0)])
    if touching.size == 0:
        return mask  # face not on any blob: do not guess
    keep = np.where(np.isin(labels, touching), np.uint8(255), np.uint8(0))
    # Let faint pixels next to the kept blob (its soft outline) stay too.
    grown = cv2.dilate(keep, np.ones((5, 5), np.uint8))
    soft = cv2.GaussianBlur(grown, (0, 0), OTHER_PERSON_FEATHER).astype(np.float32)
    return mask * (soft * np.float32(1.0 / 255.0))
