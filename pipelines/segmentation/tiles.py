"""Where a full-size person mask is exactly 0, exactly 1, or in between, by tiles.

Most of a webcam frame is plainly room or plainly person; only a band a few dozen pixels wide
along the outline needs per-pixel blending. The segmentation stage classifies the tiles of its
refined mask (:func:`classify`) and leaves the map in ``ctx.extras["mask_tiles"]``; the
background stages then blend the "mixed" tiles only, copy the person's ("full") tiles and
leave the room's ("empty") tiles to the background, with exactly the result of blending every
pixel.

Tiles are tall and narrow (32 × 8 px at 720p): a person's outline is mostly upright, so narrow
tiles hug it closely, while the number of runs of tiles along a row of tiles (one call each)
depends only on how many rows of tiles there are.

The map is keyed on the mask array itself (:attr:`TileMap.source`): a stage that replaces
``ctx.mask`` makes the map stale, and :func:`tiles_for` then returns None (callers fall back to
whole-frame work).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from pipelines.frame import CtxKey

EMPTY, FULL, MIXED = 0, 1, 2
MASK_TILES_KEY: CtxKey[TileMap | Callable[[], TileMap]] = CtxKey("mask_tiles")
# Tile (height, width) in guide pixels (the guided filter's coefficient grid, 1/4 size at
# 720p): 32 × 8 frame pixels at 720p.
TILE_GUIDE = (8, 2)
# Runs of mixed tiles in a row of tiles this few tiles apart are blended in one call (a call
# costs about as much as blending 1500 pixels; 4 tiles are 1024 at 720p).
JOIN_GAP = 4

Rect = tuple[int, int, int, int]
"""(y0, y1, x0, x1) in frame pixels."""


@dataclasses.dataclass
class TileMap:
    """Per-tile class of a full-size mask: :data:`EMPTY` (all 0), :data:`FULL` (all 1) or
    :data:`MIXED` (anything in [0, 1]); tiles are ``tile`` = (height, width) pixels, the last
    row and column cut to the frame."""

    classes: np.ndarray
    """uint8, (rows, cols)."""
    tile: tuple[int, int]
    size: tuple[int, int]
    """The frame's (width, height)."""
    source: np.ndarray | None = None
    """The mask this map describes."""
    _rects: dict[tuple[int, int], list[Rect]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    memo: dict[str, Any] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """What callers derive from the classes (the compiled kernels' runs), kept with the map:
    two stages of one frame read the same map. Cleared when the classes change."""

    def rects(self, cls: int, max_gap: int = 0) -> list[Rect]:
        """Runs of ``cls`` tiles along each row of tiles, as frame rectangles; runs of one row
        that are at most ``max_gap`` tiles apart are joined (fewer, larger calls: for work
        whose per-call cost outweighs a few tiles' worth of pixels). Remembered: the caller
        must not change the list."""
        key = (cls, max_gap)
        found = self._rects.get(key)
        if found is None:
            found = self._rects[key] = self._find_rects(cls, max_gap)
        return found

    def blend_rects(self) -> tuple[list[Rect], list[Rect]]:
        """(the :data:`FULL` runs, the :data:`MIXED` runs joined across :data:`JOIN_GAP`):
        what a blend by this map copies and blends."""
        return self.rects(FULL), self.rects(MIXED, JOIN_GAP)

    def _find_rects(self, cls: int, max_gap: int) -> list[Rect]:
        hit = self.classes == cls
        rows, cols = hit.shape
        edges = np.zeros((rows, cols + 2), np.int8)
        edges[:, 1:-1] = hit
        step = np.diff(edges, axis=1)
        start_r, start_c = np.nonzero(step == 1)
        _, end_c = np.nonzero(step == -1)
        w, h = self.size
        th, tw = self.tile
        out: list[Rect] = []
        last_row, last_end = -1, 0
        for r, c0, c1 in zip(start_r.tolist(), start_c.tolist(), end_c.tolist(), strict=True):
            if r == last_row and c0 - last_end <= max_gap:
                y0, y1, x0, _ = out[-1]
                out[-1] = (y0, y1, x0, min(w, c1 * tw))
            else:
                out.append((r * th, min(h, (r + 1) * th), c0 * tw, min(w, c1 * tw)))
            last_row, last_end = r, c1
        return out

    def share(self, cls: int) -> float:
        """Fraction of the tiles that are ``cls``."""
        return float(np.count_nonzero(self.classes == cls)) / max(1, self.classes.size)

    def mark_mixed(self, rect: Rect, only: int | None = None) -> None:
        """Every tile that overlaps ``rect`` (of class ``only``, if given) may now hold any
        value (the mask was changed there after the map was made)."""
        y0, y1, x0, x1 = rect
        if y1 <= y0 or x1 <= x0:
            return
        th, tw = self.tile
        block = self.classes[y0 // th : -(-y1 // th), x0 // tw : -(-x1 // tw)]
        if only is None:
            block[...] = MIXED
        else:
            block[block == only] = MIXED
        self._rects.clear()
        self.memo.clear()

    def without(self, cls: int) -> TileMap:
        """A copy with the ``cls`` tiles counted as mixed."""
        classes = np.where(self.classes == cls, np.uint8(MIXED), self.classes)
        return TileMap(classes, self.tile, self.size, self.source)


def tile_support(length: int, small_length: int, tile: int) -> tuple[np.ndarray, np.ndarray]:
    """For each tile along one axis of a frame ``length`` pixels long: the first and last
    index of the samples of a ``small_length`` grid that ``cv2.resize(INTER_LINEAR)`` reads for
    the tile's pixels (the grid itself when the lengths are equal)."""
    first = np.arange(0, length, tile)
    last = np.minimum(first + tile, length) - 1
    if small_length == length:
        return first, last
    ratio = length / small_length
    scale = small_length / length
    lo = np.floor((first + 0.5) * scale - 0.5).astype(np.intp)
    hi = np.floor((last + 0.5) * scale - 0.5).astype(np.intp) + 1
    if not (ratio.is_integer() and int(ratio) & (int(ratio) - 1) == 0):
        # Not a power-of-two ratio: the resize's own rounding of the positions may differ.
        lo -= 1
        hi += 1
    return np.clip(lo, 0, small_length - 1), np.clip(hi, 0, small_length - 1)


@functools.lru_cache(maxsize=16)
def _windows(
    size: tuple[int, int], shape: tuple[int, int], tile: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(first rows, first columns, vertical kernel, horizontal kernel) of :func:`tile_max`:
    the kernels span the longest tile's samples of a ``shape`` grid."""
    (w, h), (sh, sw), (th, tw) = size, shape, tile
    y_lo, y_hi = tile_support(h, sh, th)
    x_lo, x_hi = tile_support(w, sw, tw)
    span_y = int((y_hi - y_lo).max()) + 1
    span_x = int((x_hi - x_lo).max()) + 1
    return y_lo, x_lo, np.ones((span_y, 1), np.uint8), np.ones((1, span_x), np.uint8)


@functools.lru_cache(maxsize=16)
def tile_windows(
    size: tuple[int, int], shape: tuple[int, int], tile: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(first rows, last rows, first columns, last columns) of a ``shape`` = (height, width)
    grid that :func:`tile_max` takes each tile's largest value over, per tile row and per tile
    column of a frame of ``size`` = (width, height) (int64, read-only): from the first sample
    that the tile's pixels read to as far as the longest tile's samples reach (one max filter
    serves every tile), cut at the grid's edge."""
    y_lo, x_lo, down, across = _windows(size, shape, tile)
    sh, sw = shape
    out = (
        y_lo.astype(np.int64),
        np.minimum(y_lo + down.shape[0] - 1, sh - 1).astype(np.int64),
        x_lo.astype(np.int64),
        np.minimum(x_lo + across.shape[1] - 1, sw - 1).astype(np.int64),
    )
    for arr in out:
        arr.flags.writeable = False
    return out


def tile_max(values: np.ndarray, size: tuple[int, int], tile: tuple[int, int]) -> np.ndarray:
    """Per tile of a frame of ``size`` = (width, height), the largest of ``values`` (uint8:
    the frame's grid, or a reduced copy of it) that the tile's pixels read from when
    ``values`` is resized bilinearly to ``size`` (over :func:`tile_windows`)."""
    rows, cols, down, across = _windows(size, values.shape[:2], tile)
    # A max filter over the longest tile's span, anchored at its first sample, read at each
    # tile's first sample: separable, and the horizontal pass on the tiles' rows only.
    tall = cv2.dilate(values, down, anchor=(0, 0))[rows]
    return cv2.dilate(tall, across, anchor=(0, 0))[:, cols]


def classify(mask: np.ndarray, size: tuple[int, int], tile: tuple[int, int]) -> TileMap:
    """The tile map of ``mask`` (float32 in [0, 1]) once resized bilinearly to ``size`` =
    (width, height), or of ``mask`` itself when that is its size."""
    some_person = tile_max(np.greater(mask, 0.0).view(np.uint8), size, tile)
    some_room = tile_max(np.less(mask, 1.0).view(np.uint8), size, tile)
    classes = np.full(some_person.shape, MIXED, np.uint8)
    classes[some_person == 0] = EMPTY
    classes[some_room == 0] = FULL
    return TileMap(classes, tile, size)


def tiles_for(mask: np.ndarray | None, extras: dict[str, Any]) -> TileMap | None:
    """The tile map in ``extras`` if it describes ``mask`` itself, else None. The entry may be
    a function that makes the map (a stage that leaves it to be made on first use)."""
    tiles = extras.get(MASK_TILES_KEY)
    if callable(tiles):
        tiles = extras[MASK_TILES_KEY] = tiles()
    if mask is not None and isinstance(tiles, TileMap) and tiles.source is mask:
        return tiles
    return None


__all__ = [
    "EMPTY",
    "FULL",
    "JOIN_GAP",
    "MASK_TILES_KEY",
    "MIXED",
    "TILE_GUIDE",
    "TileMap",
    "classify",
    "tile_max",
    "tile_support",
    "tile_windows",
    "tiles_for",
]
