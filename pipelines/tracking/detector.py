"""BlazeFace short-range face detector: anchors, decoding and weighted NMS as MediaPipe does.

Mirrors ``face_detection_short_range.pbtxt``: the whole frame letterboxed (zero border) to
128×128 in [-1, 1], 896 SSD anchors (``SsdAnchorsCalculator``: 4 layers, strides 8/16/16/16,
fixed anchor size), box + 6 keypoint regressors relative to the anchor centres in units of
128 px, sigmoid scores clipped at ±100, and weighted non-maximum suppression (IoU 0.3) whose
boxes and keypoints are the score-weighted mean of each cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from pipelines.inference import OnnxModel, register_model
from pipelines.tracking.roi import Roi, crop

INPUT_SIZE = 128
NUM_KEYPOINTS = 6
SCORE_CLIP = 100.0
MIN_SCORE = 0.5
NMS_IOU = 0.3

# SsdAnchorsCalculator options of face_detection_short_range.pbtxt.
ANCHOR_STRIDES = (8, 16, 16, 16)
ANCHOR_OFFSET = 0.5


@cache
def ssd_anchors(input_size: int = INPUT_SIZE) -> np.ndarray:
    """896×2 anchor centres (x, y) in [0, 1], in the model's output order.

    Consecutive layers with the same stride share one feature map; each layer contributes two
    anchors per cell (its aspect ratio 1.0 and the interpolated one). With a fixed anchor size
    only the centres matter.
    """
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(ANCHOR_STRIDES):
        stride = ANCHOR_STRIDES[layer]
        per_cell = 0
        while layer < len(ANCHOR_STRIDES) and ANCHOR_STRIDES[layer] == stride:
            per_cell += 2
            layer += 1
        size = int(np.ceil(input_size / stride))
        ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        grid = np.stack([(xs + ANCHOR_OFFSET) / size, (ys + ANCHOR_OFFSET) / size], axis=-1)
        centres.append(np.repeat(grid.reshape(-1, 2), per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Detection:
    """A face detection in image pixels."""

    score: float
    box: np.ndarray
    """x0, y0, x1, y1."""
    keypoints: np.ndarray
    """6×2: right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion (the
    subject's sides)."""

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


def decode(
    regressors: np.ndarray, logits: np.ndarray, min_score: float = MIN_SCORE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw outputs → (scores (N,), boxes (N, 4) x0 y0 x1 y1, keypoints (N, 6, 2)) in [0, 1]
    tensor coordinates, keeping only scores ≥ ``min_score``."""
    reg = regressors.reshape(-1, 4 + 2 * NUM_KEYPOINTS)
    raw = np.clip(logits.reshape(-1).astype(np.float64), -SCORE_CLIP, SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-raw))
    keep = np.nonzero(scores >= min_score)[0]
    anchors = ssd_anchors()[keep]
    r = reg[keep] / INPUT_SIZE
    cx = r[:, 0] + anchors[:, 0]
    cy = r[:, 1] + anchors[:, 1]
    half_w = r[:, 2] / 2.0
    half_h = r[:, 3] / 2.0
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    kps = r[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
    return scores[keep].astype(np.float32), boxes, kps


def _iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(
    scores: np.ndarray,
    boxes: np.ndarray,
    keypoints: np.ndarray,
    iou_threshold: float = NMS_IOU,
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Take the best remaining detection; every remaining one overlapping it by more than the
    threshold (itself included) forms its cluster; the output has the best one's score and the
    score-weighted mean box and keypoints of the cluster.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[float, np.ndarray, np.ndarray]] = []
    while order.size:
        best = order[0]
        iou = _iou_one_to_many(boxes[best], boxes[order])
        cluster = order[iou > iou_threshold]
        rest = order[iou <= iou_threshold]
        if cluster.size:
            w = scores[cluster].astype(np.float64)
            total = w.sum()
            box = (boxes[cluster] * w[:, None]).sum(axis=0) / total
            kps = (keypoints[cluster] * w[:, None, None]).sum(axis=0) / total
        else:
            box, kps = boxes[best], keypoints[best]
        out.append((float(scores[best]), box, kps))
        if rest.size == order.size:
            break
        order = rest
    return out


def square_tiles(width: int, height: int) -> list[tuple[int, int, int]]:
    """Squares (x0, y0, side) of the short side that cover a non-square frame, ends included.

    The short-range detector sees faces down to about 1/7 of its input; letterboxing a 16:9
    frame wastes 44 % of the input, so a webcam face at arm's length is often missed. Squares
    of the frame's height, overlapping, find it.
    """
    side = min(width, height)
    long = max(width, height)
    if long - side < side * 0.1:
        return []
    count = int(np.ceil(long / side))
    starts = np.linspace(0, long - side, count).round().astype(int)
    if width >= height:
        return [(int(x), 0, side) for x in starts]
    return [(0, int(y), side) for y in starts]


STILL_LEVELS = 4
"""Sizes of square view a still picture is searched at (:func:`still_views`): the short side,
then a half, a quarter and an eighth of it. A phone's 3024×4032 portrait photo with the face a
fifth of its width (600 px) is missed whole (letterboxed, the face is 19 of the detector's 128
pixels) and found in its quarter views; an eighth still finds a face of the portrait's
smallest size (pipelines/avatar/portrait.py ``MIN_FACE_PX``) in a 12-megapixel group photo."""
STILL_MIN_VIEW = 224
"""The smallest view side searched, in picture pixels: the detector sees faces down to about a
seventh of its view, so a smaller view could only show faces under 32 pixels."""


def still_views(width: int, height: int) -> list[list[tuple[float, float, float]]]:
    """Squares (x0, y0, side) that search a still picture for a face of any size it can hold,
    level by level: :data:`STILL_LEVELS` sides halving from the short side (none under
    :data:`STILL_MIN_VIEW` but the first), each level's squares overlapping by half a side,
    ends included, so a face as large as half a view lies wholly inside one of them."""
    levels: list[list[tuple[float, float, float]]] = []
    side = float(min(width, height))
    for _ in range(STILL_LEVELS):
        if side < STILL_MIN_VIEW and levels:
            break
        xs = np.linspace(0.0, width - side, int(np.ceil((width - side) / (side / 2))) + 1)
        ys = np.linspace(0.0, height - side, int(np.ceil((height - side) / (side / 2))) + 1)
        levels.append([(float(x), float(y), side) for y in ys for x in xs])
        side /= 2.0
    return levels


def _square_tensor(
    image_bgr: np.ndarray, x0: float, y0: float, side: float, antialias: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The square (x0, y0, side) of the image as 128×128 RGB uint8 (zero outside the image)
    and the 2×3 affine from tensor pixels back to image pixels."""
    roi = Roi(x0 + side / 2.0, y0 + side / 2.0, side, side, 0.0)
    if not antialias:
        back = cv2.invertAffineTransform(roi.image_to_tensor(INPUT_SIZE, INPUT_SIZE))
        return crop(image_bgr, roi, INPUT_SIZE, INPUT_SIZE, border_zero=True), back
    # Area averaging: a 720-px square shrunk to 128 px keeps small faces legible, where
    # bilinear sampling (MediaPipe's) aliases them.
    h, w = image_bgr.shape[:2]
    ix0, iy0 = max(round(x0), 0), max(round(y0), 0)
    ix1, iy1 = min(round(x0 + side), w), min(round(y0 + side), h)
    scale = INPUT_SIZE / side
    # A view at a fractional place rounds to a pixel more than its side (x0 = 47.25, side 37:
    # columns 47-84, 38 of them) and to a place before the tensor's start: both held in the
    # tensor. Unheld, a picture with no face at the first level and such views (a 1280×916
    # fill of a 1280×720 frame) raised a broadcast error, a traceback (qa64, 2026-12-08).
    out_w = min(INPUT_SIZE, max(1, round((ix1 - ix0) * scale)))
    out_h = min(INPUT_SIZE, max(1, round((iy1 - iy0) * scale)))
    ox = max(0, min(round((ix0 - x0) * scale), INPUT_SIZE - out_w))
    oy = max(0, min(round((iy0 - y0) * scale), INPUT_SIZE - out_h))
    tensor = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    tensor[oy : oy + out_h, ox : ox + out_w] = cv2.resize(
        image_bgr[iy0:iy1, ix0:ix1], (out_w, out_h), interpolation=cv2.INTER_AREA
    )
    sx, sy = (ix1 - ix0) / out_w, (iy1 - iy0) / out_h
    back = np.array([[sx, 0.0, ix0 - ox * sx], [0.0, sy, iy0 - oy * sy]])
    return tensor, back


def _halved(image_bgr: np.ndarray, side: float) -> tuple[np.ndarray, int]:
    """The image area-halved while the detector's views stay at least twice its input, and
    the factor (1, 2, 4, ...): the views' final area shrink then starts from a smaller image.

    One exact 2:1 area step (OpenCV's fast path, 0.3 ms at 720p) and the final area shrink
    from it cost 1.9 ms for the three views of a 720p frame where the shrink from full size
    cost 9.6 (same minutes, load 4; the non-integer 720 -> 128 area resize is OpenCV's slow
    general path); the tensors differ from the direct shrink by 0.14-0.37 levels on average.
    An odd last row or column is dropped (under half an input pixel at 128 px).
    """
    factor = 1
    while side / (2 * factor) >= 2 * INPUT_SIZE:
        h, w = image_bgr.shape[:2]
        if h < 2 or w < 2:
            break
        even = image_bgr[: h - h % 2, : w - w % 2]
        image_bgr = cv2.resize(even, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        factor *= 2
    return image_bgr, factor


def _to_image(back: np.ndarray, score: float, box: np.ndarray, kps: np.ndarray) -> Detection:
    """Tensor [0, 1] coordinates → image pixels through the 2×3 affine ``back``."""
    pts = np.concatenate([box.reshape(2, 2), kps], axis=0) * INPUT_SIZE
    img = pts @ back[:, :2].T + back[:, 2]
    return Detection(
        score=score,
        box=img[:2].reshape(4).astype(np.float32),
        keypoints=img[2:].astype(np.float32),
    )


def merge(detections: list[Detection], iou_threshold: float = NMS_IOU) -> list[Detection]:
    """Weighted NMS across detections from different views of one frame, best first."""
    if not detections:
        return []
    scores = np.array([d.score for d in detections], np.float32)
    boxes = np.stack([d.box for d in detections]).astype(np.float64)
    kps = np.stack([d.keypoints for d in detections]).astype(np.float64)
    return [
        Detection(sc, b.astype(np.float32), k.astype(np.float32))
        for sc, b, k in weighted_nms(scores, boxes, kps, iou_threshold)
    ]


@register_model
class FaceDetector(OnnxModel):
    """Call with a BGR uint8 frame; returns detections in that frame's pixels, best first.

    By default exactly MediaPipe's detection (the letterboxed frame, bilinear). With
    ``tiles=True`` square tiles of a non-square frame are searched as well and with
    ``antialias=True`` the frame is shrunk by area averaging: both find smaller faces; with
    ``halve=True`` as well, that shrink starts from exact 2:1 area halvings of the frame (see
    :func:`_halved`): 9.2 ms a 720p run instead of 13.0, for detections that moved by 0.23 %
    of the box width (median; 2.0 % at most) and scores by 0.0016 (0.021 at most) on 17 test
    photos at 4 sizes. Video stages, whose searches recur, take it; a still picture's one
    detection keeps the direct shrink.
    """

    model_name = "face_detection_short_range"

    def detect(
        self,
        image_bgr: np.ndarray,
        min_score: float = MIN_SCORE,
        *,
        tiles: bool = False,
        antialias: bool = False,
        halve: bool = False,
    ) -> list[Detection]:
        h, w = image_bgr.shape[:2]
        side = float(max(w, h))
        views = [((w - side) / 2.0, (h - side) / 2.0, side)]
        if tiles:
            views += [(float(x), float(y), float(s)) for x, y, s in square_tiles(w, h)]
        halved = antialias and halve
        source, factor = _halved(image_bgr, min(w, h)) if halved else (image_bgr, 1)
        found: list[Detection] = []
        for x0, y0, s in views:
            found += self._in_view(source, (x0, y0, s), antialias, min_score, factor)
        return found if len(views) == 1 else merge(found)

    def _in_view(
        self,
        image_bgr: np.ndarray,
        view: tuple[float, float, float],
        antialias: bool,
        min_score: float,
        factor: int = 1,
    ) -> list[Detection]:
        """The faces in one square view (x0, y0, side) of the image, in the image's pixels;
        ``image_bgr`` may be the image shrunk by ``factor`` (:func:`_halved`)."""
        x0, y0, side = view
        tensor, back = _square_tensor(image_bgr, x0 / factor, y0 / factor, side / factor, antialias)
        back = back * factor  # tensor pixels -> the halved image's -> the image's
        rgb = cv2.cvtColor(tensor, cv2.COLOR_BGR2RGB)
        x = rgb.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
        out = self.run_raw({self.input_names[0]: x[None]})
        scores, boxes, kps = decode(out["regressors"], out["classificators"], min_score)
        return [_to_image(back, sc, b, k) for sc, b, k in weighted_nms(scores, boxes, kps)]

    def search(
        self, image_bgr: np.ndarray, min_score: float = MIN_SCORE
    ) -> Iterator[list[Detection]]:
        """The faces of a still picture, level by level of :func:`still_views` (largest views
        first; area-shrunk), each level's merged, best first. Slower than :meth:`detect` (a
        12-megapixel photo has 402 views in all), for a picture where that found none: the
        caller stops at the first level that shows the face it wants (a level's detections
        may be no face: :func:`pipelines.tracking.picture.confirmed_levels` confirms them)."""
        h, w = image_bgr.shape[:2]
        for views in still_views(w, h):
            found: list[Detection] = []
            for view in views:
                found += self._in_view(image_bgr, view, True, min_score)
            yield merge(found)

    def __call__(self, image_bgr: np.ndarray, min_score: float = MIN_SCORE) -> list[Detection]:  # type: ignore[override]
        return self.detect(image_bgr, min_score)
