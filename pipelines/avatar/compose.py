"""Putting the avatar into the video: a corner overlay, or a stand-in for the whole picture.

Masks and backdrops depend only on sizes and shape settings, so they are built once and
cached; per frame it is one resize of the 512×512 avatar and a blend over the overlay's edges.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

import cv2
import numpy as np

from pipelines.avatar.portrait import FACE_CENTER_Y
from pipelines.registry import Registry

log = logging.getLogger(__name__)

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
CORNERS: tuple[str, ...] = get_args(Corner)

MaskShape = Callable[[int, float], np.ndarray]
SHAPES: Registry[MaskShape] = Registry("overlay shape")
Shape = Literal["round", "rounded-rect", "square"]
"""The names in :data:`SHAPES` (a test keeps them equal)."""
"""Overlay mask shapes: name → (side in pixels, corner radius fraction) → side×side float32."""


def _aa_mask(side: int, draw: Callable[[np.ndarray, int], None]) -> np.ndarray:
    """Draw at 4× and shrink: smooth edges without a blur."""
    big = np.zeros((side * 4, side * 4), np.uint8)
    draw(big, side * 4)
    return cv2.resize(big, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


@SHAPES.register("round")
def _round(side: int, radius: float) -> np.ndarray:
    def draw(m: np.ndarray, s: int) -> None:
        cv2.circle(m, (s // 2, s // 2), s // 2 - 2, 255, -1)

    return _aa_mask(side, draw)


@SHAPES.register("rounded-rect")
def _rounded_rect(side: int, radius: float) -> np.ndarray:
    def draw(m: np.ndarray, s: int) -> None:
        r = int(max(1, min(0.5, radius) * s))
        cv2.rectangle(m, (r, 0), (s - 1 - r, s - 1), 255, -1)
        cv2.rectangle(m, (0, r), (s - 1, s - 1 - r), 255, -1)
        for cx, cy in ((r, r), (s - 1 - r, r), (r, s - 1 - r), (s - 1 - r, s - 1 - r)):
            cv2.circle(m, (cx, cy), r, 255, -1)

    return _aa_mask(side, draw)


@SHAPES.register("square")
def _square(side: int, radius: float) -> np.ndarray:
    return np.ones((side, side), np.float32)


@lru_cache(maxsize=16)
def overlay_masks(side: int, shape: str, radius: float, border: int) -> tuple[np.ndarray, ...]:
    """(inner mask for the avatar, ring mask for the border), side×side×1 float32."""
    outer = SHAPES.get(shape)(side, radius)
    if border > 0:
        inner_side = max(2, side - 2 * border)
        inner = np.zeros_like(outer)
        inner[border : border + inner_side, border : border + inner_side] = SHAPES.get(shape)(
            inner_side, radius * side / inner_side
        )
    else:
        inner = outer
    ring = np.clip(outer - inner, 0.0, 1.0)
    return inner[..., None], ring[..., None]


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Resize a square image to side×side: halvings (pyrDown, cheap and alias-free) while it is
    more than twice too big, then one bilinear step. INTER_AREA at an odd ratio costs ~1 ms."""
    while image.shape[0] >= 2 * side and image.shape[0] > 16:
        image = cv2.pyrDown(image)
    if image.shape[0] == side and image.shape[1] == side:
        return image
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR)


def overlay_box(
    frame_size: tuple[int, int], side: int, corner: str, margin: int
) -> tuple[int, int]:
    """Top-left corner of the overlay in the frame."""
    width, height = frame_size
    x = margin if "left" in corner else width - side - margin
    y = margin if "top" in corner else height - side - margin
    return max(0, x), max(0, y)


def overlay_place(
    frame_size: tuple[int, int], size: float, corner: str, margin: float = 0.03
) -> tuple[int, int, int]:
    """(x, y, side) of the overlay in the frame; ``size`` and ``margin`` are fractions of the
    frame's height. The renderer draws the avatar straight at this side."""
    w, h = frame_size
    side = round(min(size * h, h, w))
    x, y = overlay_box((w, h), side, corner, round(margin * h))
    return x, y, min(side, w - x, h - y)


def compose_overlay(
    frame: np.ndarray,
    avatar: np.ndarray,
    *,
    size: float,
    corner: str,
    shape: str,
    radius: float,
    border: int,
    border_bgr: tuple[int, int, int],
    margin: float = 0.03,
    opacity: float = 1.0,
) -> np.ndarray:
    """Blend ``avatar`` into ``frame`` (in place) in a corner; ``size`` is a fraction of the
    frame's height."""
    h, w = frame.shape[:2]
    x, y, side = overlay_place((w, h), size, corner, margin)
    if side < 8:
        return frame
    small = shrink(avatar, side)
    box = frame[y : y + side, x : x + side]
    # The frame under the edges, copied before the avatar goes over the whole box (a copy:
    # ascontiguousarray hands back a one-row slice itself, which that would overwrite).
    parts = _overlay_edges(side, shape, radius, border, opacity, border_bgr)
    under = [box[y0:y1, x0:x1].copy() for (x0, y0, x1, y1), *_ in parts]
    box[:] = small
    for ((x0, y0, x1, y1), a, not_a, ring), roi in zip(parts, under, strict=True):
        # cv2.blendLinear works on the 8-bit pixels directly (float weights): no float images.
        out = cv2.blendLinear(np.ascontiguousarray(small[y0:y1, x0:x1]), roi, a, not_a)
        if ring is not None:
            colour, on, off = ring
            out = cv2.blendLinear(colour, out, on, off)
        box[y0:y1, x0:x1] = out
    return frame


EdgePart = tuple[
    tuple[int, int, int, int],
    np.ndarray,
    np.ndarray,
    tuple[np.ndarray, np.ndarray, np.ndarray] | None,
]


@lru_cache(maxsize=16)
def _overlay_edges(
    side: int,
    shape: str,
    radius: float,
    border: int,
    opacity: float,
    border_bgr: tuple[int, int, int],
) -> tuple[EdgePart, ...]:
    """Where the overlay's box is not simply the avatar: boxes (x0, y0, x1, y1) over its edges
    holding every pixel whose mask is not 1 or whose border ring is not 0, each with its blend
    weights (mask, 1 - mask) and the border's (its colour, ring, 1 - ring; None: no border).
    Elsewhere ``cv2.blendLinear`` at weights 1 and 0 gives the avatar's own pixels, so they are
    copied: blending the whole box, and filling a colour image over it, took ~1 ms of the
    overlay's ~3.3 ms a frame (230 px at 720p, the rounded rectangle)."""
    inner, ring = overlay_masks(side, shape, radius, border)
    a = np.ascontiguousarray(inner[..., 0] * opacity if opacity < 1.0 else inner[..., 0])
    rb = np.ascontiguousarray(ring[..., 0] * opacity if opacity < 1.0 else ring[..., 0])
    if border <= 0:
        rb = np.zeros_like(rb)
    plain = (a == 1.0) & (rb == 0.0)
    # The largest centred square of plain pixels leaves four bands round it (the top and
    # bottom ones full width: fewer, larger blends cost less); each is blended only over the
    # bounding box of its pixels that are not plain.
    m = 0
    while m < side // 2 and not plain[m : side - m, m : side - m].all():
        m += 1
    cells = (
        (0, m, 0, side),
        (side - m, side, 0, side),
        (m, side - m, 0, m),
        (m, side - m, side - m, side),
        (m, side - m, m, side - m),
    )
    parts: list[EdgePart] = []
    for cy0, cy1, cx0, cx1 in cells:
        if cy1 > cy0 and cx1 > cx0:
            ys, xs = np.nonzero(~plain[cy0:cy1, cx0:cx1])
            if ys.size == 0:
                continue
            y0, y1 = cy0 + int(ys.min()), cy0 + int(ys.max()) + 1
            x0, x1 = cx0 + int(xs.min()), cx0 + int(xs.max()) + 1
            wa = np.ascontiguousarray(a[y0:y1, x0:x1])
            wr = np.ascontiguousarray(rb[y0:y1, x0:x1])
            edge = None
            if border > 0:
                colour = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
                colour[:] = np.asarray(border_bgr, np.uint8)
                edge = (colour, wr, 1.0 - wr)
            parts.append(((x0, y0, x1, y1), wa, 1.0 - wa, edge))
    return tuple(parts)


STANDIN_BLUR = 0.025
"""Backdrop blur (sigma) as a fraction of the frame height: out of focus behind the person."""
PERSON_MARGIN = 0.012
"""The person's mask is widened by this fraction of the avatar's side: the head turns a few
pixels, and hair must not be cut at the mask's edge."""
PERSON_FEATHER = 0.01
EDGE_FADE = 0.04
"""Where the person reaches the avatar's own left or right edge (shoulders), the cut-out
fades over this fraction of its side instead of ending in a straight line."""
PHOTO_FADE = 0.08
"""Where the photo itself ends inside the avatar's square (a tight headshot: the crop reaches
past it and the portrait holds a soft fill there), the person fades out over this fraction of
the side, inside the photo: the segmentation model cuts the fill out as person, and pasted on
the backdrop it was a grey slab with straight edges under the shirt. At 0.05 (36 px at 720p)
the fade still read as a straight line down the cut shoulder of the tuning portrait
``astronaut_tight``; at 0.08 (58 px) it reads as a shoulder turning away."""
LOWEST_FACE = 0.66
"""A person cut by the photo's bottom edge is placed so that the cut sits at the frame's
bottom edge, as a webcam frames a bust, with the face's centre at or above this fraction of
the frame's height: moved down, and zoomed in as far as that needs (:data:`MAX_ZOOM`)."""
MAX_ZOOM = 1.6
"""A bust's square is at most this many times the frame's shorter side (the avatar is drawn
at 512 px, already 1.4× enlarged on a 720p frame). A cut too high for it (just under the
chin), or a frame too tall for it, fades out over :data:`PHOTO_FADE` instead, the square
placed as for a full portrait. At 1.25 (face at most 0.62 down) a head cut at the top of the
shirt floated mid-frame, faded out below the collar (the lead's look at the stand-in of a
tight real headshot, 2026-12-03); at 1.6 it sits on the frame's bottom like a webcam's close
framing, a little softer (2.2× the 512 px render). Per frame a bust costs no more: only the
avatar's rows that show are blended and resized."""


@dataclass
class StandIn:
    """What a stand-in frame is made of, for one frame size (built once)."""

    backdrop: np.ndarray
    """Frame-sized BGR uint8: the portrait's own background, the person removed, extended to
    the frame's aspect and out of focus."""
    alpha: np.ndarray
    """Avatar-sized float32: where the avatar shows (the person, feathered)."""
    behind: np.ndarray
    """Avatar-sized BGR uint8: the backdrop's square, at the avatar's resolution."""
    x: int
    y: int
    side: int
    """The avatar's square in the frame: ``side`` pixels from (x, y)."""
    rows: int = 0
    """How many of the avatar's rows show when the square reaches past the frame's bottom
    (a bust placed at it) or above its top (a head the photo cuts at the top, placed at it),
    from :attr:`first` on; 0: all of them."""
    first: int = 0
    """The avatar's rows above the frame's top (the square placed from a negative ``y``)."""
    clear: np.ndarray | None = None
    """``1 - alpha``, kept: not subtracted again every frame (512×512 floats, ~0.06 ms)."""


def person_mask(portrait: np.ndarray) -> np.ndarray:
    """The person in the portrait (float32 0…1, portrait-sized) from the project's
    segmentation model; a soft ellipse around the face when the model cannot run."""
    h, w = portrait.shape[:2]
    try:
        from pipelines.inference import load_model
        from pipelines.segmentation.models import SelfieSegmentationGeneral

        model = load_model(SelfieSegmentationGeneral.model_name)
        small = np.asarray(model(portrait), np.float32)
        mask = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    except Exception as exc:  # a missing or broken model: still no hard square
        log.warning("stand-in: segmentation unavailable (%s); using a soft oval", exc)
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(
            mask, (w // 2, int(0.55 * h)), (int(0.36 * w), int(0.5 * h)), 0, 0, 360, 1.0, -1
        )
        mask = cv2.GaussianBlur(mask, (0, 0), 0.04 * h)
    return np.clip(mask, 0.0, 1.0)


def bottom_cut(coverage: np.ndarray, mask: np.ndarray) -> int | None:
    """The highest row at which the photo's bottom edge cuts the person (``coverage`` and
    ``mask`` on the avatar's square), or ``None`` when the person is not cut there. Only
    columns the photo covers at mid-height count (past a side cut no row is the photo's), and
    only where the photo's edge runs flatter than 45° (a tilted side edge is no bottom)."""
    size = coverage.shape[0]
    inside = coverage >= 0.5
    columns = np.flatnonzero(inside[size // 2])
    if columns.size == 0:
        return None
    # A column's covered rows are one run (the photo is a rotated rectangle): its last row.
    # Where that row climbs steeply from column to column it is a side edge, not the bottom.
    last = size - 1 - np.argmax(inside[::-1, columns], axis=0)
    flat = np.abs(np.gradient(last.astype(np.float32))) <= 1.0 if last.size > 1 else last >= 0
    cut = flat & (last < size - 1) & (mask[last, columns] > 0.5)
    if not cut.any():
        return None
    return int(last[cut].min()) + 1


def top_cut(coverage: np.ndarray, mask: np.ndarray) -> int | None:
    """The lowest row at which the photo's top edge cuts the person (hair cut by a tight
    crop), as :func:`bottom_cut` upside down: the rows above it are past the photo somewhere
    on the person. ``None`` when the person is not cut there."""
    cut = bottom_cut(coverage[::-1], mask[::-1])
    return None if cut is None else coverage.shape[0] - cut


def bust_place(
    frame_size: tuple[int, int], cut: float | None, top: float | None = None
) -> tuple[int, int, int] | None:
    """(x, y, side) of the avatar's square that puts the photo's bottom cut (``cut``, a
    fraction of the square's height) at the frame's bottom edge with the face high enough
    (:data:`LOWEST_FACE`), and its top cut (``top``) at or above the frame's top edge, or
    ``None`` when that takes more than :data:`MAX_ZOOM`. With a top cut alone, the square's
    own bottom is put at the frame's bottom (the shoulders end there, as in a webcam's
    frame)."""
    w, h = frame_size
    base = min(w, h)
    if cut is None:
        if top is None:
            return None
        cut = 1.0  # the square's own bottom edge
        zoom = 1.0
    else:
        depth = cut - FACE_CENTER_Y
        if depth <= 0.0:
            return None
        zoom = max(1.0, (1.0 - LOWEST_FACE) * h / (depth * base))
    if top is not None:
        if cut - top <= 0.0:
            return None
        # The rows between the cuts must fill the frame's height: the head's flat top
        # then lies above the frame, not in it (a flat-topped head floated under a band of
        # backdrop, faded).
        zoom = max(zoom, h / ((cut - top) * base))
    side = int(np.ceil(zoom * base))
    y = h - int(np.floor(cut * side))
    if zoom > MAX_ZOOM or side > w or (y < 0 and top is None):
        return None
    if top is not None and y + top * side > 1.0:
        return None
    return (w - side) // 2, y, side


def photo_fade(
    coverage: np.ndarray, open_below: int | None = None, open_above: int | None = None
) -> np.ndarray:
    """0 past the photo's edge, rising smoothly to 1 over :data:`PHOTO_FADE` inside it.
    ``open_below``: rows from here on are not shown, so the photo's edge there needs no fade
    (the rows above it are carried down); ``open_above``: the same for the rows above it
    (its row carried up)."""
    past = coverage < 0.5
    if open_below is not None and 0 < open_below < past.shape[0]:
        past = past.copy()
        past[open_below:] = past[open_below - 1]
    if open_above is not None and 0 < open_above < past.shape[0]:
        past = past.copy()
        past[:open_above] = past[open_above]
    fade = max(1.0, PHOTO_FADE * coverage.shape[1])
    dist = cv2.distanceTransform((~past).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    t = np.clip(dist / fade, 0.0, 1.0)
    # Smoothstep: no crease where the fade starts or ends.
    return np.asarray(t * t * (3.0 - 2.0 * t), np.float32)


def make_standin(
    portrait: np.ndarray,
    mask: np.ndarray,
    frame_size: tuple[int, int],
    coverage: np.ndarray | None = None,
) -> StandIn:
    """The stand-in's backdrop and cut-out for a frame size. ``mask``: :func:`person_mask`;
    ``coverage``: :attr:`Portrait.coverage` (``None``: the photo covers the whole square)."""
    w, h = frame_size
    side = min(h, w)
    x, y = (w - side) // 2, (h - side) // 2
    size = mask.shape[1], mask.shape[0]
    cut_at = top_at = None
    if coverage is not None:
        coverage = np.asarray(coverage, np.float32)
        if coverage.shape != mask.shape:
            coverage = cv2.resize(coverage, size, interpolation=cv2.INTER_LINEAR)
        if not (mask[coverage < 0.5] > 0.5).any():
            coverage = None  # the person is not cut by the photo's edge: nothing to fade
    if coverage is not None:
        cut, top = bottom_cut(coverage, mask), top_cut(coverage, mask)
        cut_share = None if cut is None else cut / size[1]
        bust = None if top is None else bust_place((w, h), cut_share, top / size[1])
        if bust is not None:  # the head cut flat at the top: that cut at the frame's top
            cut_at, top_at = (size[1] if cut is None else cut), top
        elif cut_share is not None:
            bust = bust_place((w, h), cut_share)
            cut_at = None if bust is None else cut
        if bust is not None:
            x, y, side = bust
    # 1) The background without the person: filled in from around it, at low resolution
    # (it is blurred afterwards anyway).
    work = 128
    small = cv2.resize(portrait, (work, work), interpolation=cv2.INTER_AREA)
    person = mask > 0.3
    if coverage is not None:
        # Past the photo the portrait holds a mirror of its edge (a shoulder, a collar): not
        # background. Filled in from the photo's own background as the person is (a tight
        # headshot's mirrored collar left a large purple blob in the backdrop).
        person |= coverage < 0.5
    hole = cv2.resize(person.astype(np.uint8) * 255, (work, work))
    hole = cv2.dilate(hole, np.ones((7, 7), np.uint8))
    bg = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    bg = cv2.resize(bg, (side, side), interpolation=cv2.INTER_LINEAR)
    # 2) Extended to the frame's aspect by mirroring, so the picture continues sideways; a
    # square placed past the frame's bottom or above its top keeps its rows until the blur
    # is done (``above``: the square's rows over the frame's top).
    below = max(0, h - side - y)
    above = max(0, -y)
    backdrop = cv2.copyMakeBorder(bg, max(0, y), below, x, w - side - x, cv2.BORDER_REFLECT_101)
    blur = max(2.0, STANDIN_BLUR * h)
    # Not dimmed: the band of the portrait's own background kept around the person (for the
    # head's motion) would show as a bright halo.
    backdrop = cv2.GaussianBlur(backdrop, (0, 0), blur)
    # 3) The cut-out: widened, feathered, faded where it meets the avatar's side edges. At
    # the avatar's resolution: the blend happens there, before the one resize to the frame.
    grow = max(1, round(PERSON_MARGIN * size[0]))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
    widened = cv2.dilate(np.asarray(mask, np.float32), kernel)
    alpha = np.asarray(
        cv2.GaussianBlur(widened, (0, 0), max(0.8, PERSON_FEATHER * size[0])), np.float32
    )
    fade = max(1, round(EDGE_FADE * size[0]))
    ramp_x = np.clip(np.minimum(np.arange(size[0]), np.arange(size[0])[::-1]) / fade, 0.0, 1.0)
    ramp_y = np.clip(np.minimum(np.arange(size[1]), np.arange(size[1])[::-1]) / fade, 0.0, 1.0)
    if w > side:
        alpha *= ramp_x[None, :].astype(np.float32)
    if cut_at is not None:  # a bust: its bottom is past the frame
        if top_at is None:  # its square's top is in the frame
            upper = np.where(np.arange(size[1]) < size[1] // 2, ramp_y, 1.0)
            alpha *= upper[:, None].astype(np.float32)
    elif h > side:
        alpha *= ramp_y[:, None].astype(np.float32)
    rows = first = 0
    if coverage is not None:
        # The person is only what the photo shows: none of the fill past its edge (a bust's
        # rows past the cut are not shown; they are zero all the same).
        alpha *= photo_fade(coverage, cut_at, top_at)
        alpha[coverage < 0.5] = 0.0
    if cut_at is not None:
        first = round(above * size[1] / side)
        rows = min(size[1], round((h - y) * size[1] / side)) - first
    square = backdrop[max(0, y) : max(0, y) + side, x : x + side]
    behind = cv2.resize(square, size, interpolation=cv2.INTER_AREA)
    backdrop = np.ascontiguousarray(backdrop[above : above + h])
    alpha = np.ascontiguousarray(alpha, np.float32)
    clear = np.ascontiguousarray(1.0 - alpha)
    return StandIn(backdrop, alpha, behind, x, y, side, rows, first, clear=clear)


def compose_standin(frame: np.ndarray, avatar: np.ndarray, standin: StandIn) -> np.ndarray:
    """Replace the picture: the avatar's person, as large as fits and centred, over the
    extended, out-of-focus background (:func:`make_standin`, built once per frame size).

    The person is blended over the backdrop at the avatar's resolution, then the square is
    resized once into the frame: its border is pure backdrop, so no edge shows (a float blend
    at the frame's resolution cost ~8× as much)."""
    out = standin.backdrop.copy()
    s, x, y = standin.side, standin.x, standin.y
    a = standin.alpha
    clear = standin.clear if standin.clear is not None else 1.0 - a
    if standin.rows:
        # A bust at the frame's bottom (and a head cut at the top, at its top): only the
        # rows that show are blended and resized.
        n0, n1 = standin.first, standin.first + standin.rows
        blended = cv2.blendLinear(avatar[n0:n1], standin.behind[n0:n1], a[n0:n1], clear[n0:n1])
        top = max(0, y)
        shown = out.shape[0] - top
        out[top:, x : x + s] = cv2.resize(blended, (s, shown), interpolation=cv2.INTER_LINEAR)
        return out
    blended = cv2.blendLinear(avatar, standin.behind, a, clear)
    out[y : y + s, x : x + s] = shrink(blended, s)
    return out
