"""The one-pass composites of :mod:`pipelines.segmentation.fused` without Numba: OpenCV and NumPy
on the outline's tiles only.

The compiled kernels walk the frame once and do per-pixel work only where the mask is
fractional. Without Numba the OpenCV path before this made the full-size light-wrap weight and
a full-size correction image, blended the outline's runs of tiles one call each and added whole
frames: 5-7x the compiled composite's time for the replacement (91 vs 13 ms at 720p under
load), and its outline corrections were made at half size (up to 42 grey levels from the
compiled picture). Here the kernels' split is made with array operations:

- the person's and the room's tiles are copied with one slice copy per run of tiles in a row;
- the outline's tiles (and, with light wrap, the person's tiles it reaches) are gathered
  through a strided view of the frame (tile row, tile column, rows of the tile, the tile's
  pixels) into packed chunks of :data:`CHUNK_PIXELS`, blended there in a dozen OpenCV/NumPy
  calls per chunk, and scattered back;
- the mask and the small maps (light wrap's keep factor, the room's and the soft background's
  colours) are resized to the frame's size once (one threaded resize each, into reused work
  arrays) and gathered like the frame.

The arithmetic is the kernels' formula, regrouped into two uint8 blends (``cv2.blendLinear``)
and a float correction: within two grey levels of the compiled result
(tests/test_segmentation_tiled.py and tests/test_segmentation_fused.py name the bounds).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from pipelines.segmentation.refine import Scratch
from pipelines.segmentation.tiles import EMPTY, FULL, MIXED, TileMap, tile_max

_ONE = np.float32(1.0)


# The packed pixels are worked on in chunks of at most this many pixels: a chunk's float
# temporaries (~200 kB) stay in the core's cache through the dozen passes of the blend, where
# whole-outline arrays (~4 MB each at 720p) went to memory and back on every pass.
CHUNK_PIXELS = 8192


class Packed:
    """The pixels of some tiles of a frame, packed: one group per tile shape (the last row and
    column of tiles may be cut short), each group an (n, tile pixels) "image" that OpenCV can
    work on in one call."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, size: tuple[int, int],
                 tile: tuple[int, int]) -> None:  # fmt: skip
        w, h = size
        th, tw = tile
        self.size, self.tile = size, tile
        full_r, full_c = h // th, w // tw
        self._views: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._indices: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.groups: list[tuple[np.ndarray, np.ndarray, int, int, int, int]] = []
        """(tile rows, tile cols relative to the group's first, first tile row, first tile
        col, tile height, tile width) per group."""
        for last_r in (False, True):
            for last_c in (False, True):
                sel = ((rows >= full_r) == last_r) & ((cols >= full_c) == last_c)
                if not sel.any():
                    continue
                r0 = full_r if last_r else 0
                c0 = full_c if last_c else 0
                gh = h - full_r * th if last_r else th
                gw = w - full_c * tw if last_c else tw
                self.groups.append((rows[sel] - r0, cols[sel] - c0, r0, c0, gh, gw))

    def chunks(self, group: int) -> list[slice]:
        """The group's packed rows in chunks of at most :data:`CHUNK_PIXELS` pixels."""
        rows, _, _, _, gh, gw = self.groups[group]
        step = max(1, CHUNK_PIXELS // (gh * gw))
        return [slice(i, i + step) for i in range(0, len(rows), step)]

    def _view(self, image: np.ndarray, group: int) -> np.ndarray:
        """``image`` as (rows, tile columns) of one item per tile row: a void item of the
        group's tile width × channels (remembered per image and tile shape while this packing
        lives). Gathering whole tile rows as single items is one memcpy each; fancy indexing
        a strided (row, column, pixel) view copied them element by element, 4x slower."""
        _, _, _, c0, _, gw = self.groups[group]
        key = (id(image), c0, gw)
        found = self._views.get(key)
        if found is not None and found[0] is image:
            return found[1]
        if not image.flags.c_contiguous:
            raise ValueError("packing needs a C-contiguous image")
        h, w = image.shape[:2]
        tw = self.tile[1]
        ch = image.shape[2] if image.ndim == 3 else 1
        pixel = ch * image.itemsize
        nc = (w - c0 * tw - gw) // tw + 1
        view = np.ndarray(
            (h, nc),
            dtype=np.dtype((np.void, gw * pixel)),
            buffer=image,
            offset=c0 * tw * pixel,
            strides=(image.strides[0], tw * pixel),
        )
        self._views[key] = (image, view)
        return view

    def _index(self, group: int) -> tuple[np.ndarray, np.ndarray]:
        """(frame rows, tile columns) of the group's tiles' rows, as (n, tile height) and
        (n, 1) index arrays."""
        found = self._indices.get(group)
        if found is None:
            rows, cols, r0, _, gh, _ = self.groups[group]
            th = self.tile[0]
            found = ((rows + r0) * th)[:, None] + np.arange(gh), cols[:, None]
            self._indices[group] = found
        return found

    def gather(self, image: np.ndarray, group: int) -> np.ndarray:
        """The group's tiles of ``image`` (H×W or H×W×C), as (n, tile pixels[, C])."""
        rows, _, _, _, gh, gw = self.groups[group]
        ys, xs = self._index(group)
        items = self._view(image, group)[ys, xs]
        return items.view(image.dtype).reshape(len(rows), gh * gw, *image.shape[2:])

    def scatter(self, values: np.ndarray, image: np.ndarray, group: int) -> None:
        """Write the group's packed ``values`` back into ``image``."""
        rows, _, _, _, gh, _ = self.groups[group]
        ys, xs = self._index(group)
        view = self._view(image, group)
        flat = np.ascontiguousarray(values, dtype=image.dtype).reshape(len(rows), -1)
        view[ys, xs] = flat.view(view.dtype).reshape(len(rows), gh)


def _classes(tiles: TileMap | None, size: tuple[int, int], tile: tuple[int, int]) -> TileMap:
    if tiles is not None and tiles.size == size:
        return tiles
    w, h = size
    th, tw = tile
    classes = np.full((-(-h // th), -(-w // tw)), MIXED, np.uint8)
    return TileMap(classes, tile, size)


def _copy_runs(tiles: TileMap, cls: int, src: np.ndarray, dst: np.ndarray) -> None:
    for y0, y1, x0, x1 in tiles.rects(cls):
        dst[y0:y1, x0:x1] = src[y0:y1, x0:x1]


def _spread(weight: np.ndarray) -> np.ndarray:
    """A packed one-channel weight (n, p) as three channels (n, p, 3)."""
    return cv2.merge((weight, weight, weight))


# Without a tile map the frame is cut into tiles of this (height, width) to pack it.
DEFAULT_TILE = (32, 8)


def composite_over_small(
    foreground: np.ndarray,
    mask: np.ndarray,
    background_small: np.ndarray,
    tiles: TileMap | None = None,
) -> np.ndarray:
    """:func:`pipelines.segmentation.fused.composite_over_small` with OpenCV."""
    h, w = foreground.shape[:2]
    tiles = _classes(tiles, (w, h), tiles.tile if tiles is not None else DEFAULT_TILE)
    # The room: the background upsampled once over the whole frame (one threaded resize is
    # cheaper than resizing the room's runs one by one).
    out = cv2.resize(background_small, (w, h), interpolation=cv2.INTER_LINEAR)
    _copy_runs(tiles, FULL, foreground, out)
    rows, cols = np.nonzero(tiles.classes == MIXED)
    if len(rows) == 0:
        return out
    packed = Packed(rows, cols, (w, h), tiles.tile)
    m_full = _full(np.asarray(mask, np.float32), (w, h), "mask")
    for g in range(len(packed.groups)):
        m = packed.gather(m_full, g)
        np.clip(m, 0.0, 1.0, out=m)
        f = packed.gather(foreground, g)
        b = packed.gather(out, g)
        for c in packed.chunks(g):
            cv2.blendLinear(f[c], b[c], m[c], _ONE - m[c], dst=b[c])
        packed.scatter(b, out, g)
    return out


_local = threading.local()


def _full(small: np.ndarray, size: tuple[int, int], name: str) -> np.ndarray:
    """``small`` resized bilinearly to ``size`` (one threaded resize of the whole frame costs
    less than sampling the outline's pixels with remap: 0.2 vs 0.4-1.1 ms at 720p), into a
    work array of this thread that is reused from frame to frame (a fresh one is 3.7 MB of
    page faults at 720p)."""
    if small.shape[1::-1] == size:
        return small
    scratch = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = Scratch()
    dst = scratch.get(name, (size[1], size[0], *small.shape[2:]), small.dtype)
    return cv2.resize(small, size, dst=dst, interpolation=cv2.INTER_LINEAR)


def composite_replacement(
    foreground: np.ndarray,
    mask: np.ndarray,
    background: np.ndarray,
    tiles: TileMap | None,
    keep: np.ndarray | None,
    room: np.ndarray | None,
    soft: np.ndarray | None,
    edge_ramp: float,
) -> np.ndarray:
    """:func:`pipelines.segmentation.fused.composite_replacement` with OpenCV (arguments
    checked there)."""
    h, w = foreground.shape[:2]
    size = (w, h)
    tiles = _classes(tiles, size, tiles.tile if tiles is not None else DEFAULT_TILE)
    classes = tiles.classes
    lit = np.zeros(classes.shape, bool)
    if keep is not None:
        keep = np.ascontiguousarray(keep, dtype=np.float32)
        # Light wrap lowers the person's weight near the outline, inside the person's tiles
        # too; where the keep factor is exactly 1 (deep inside) a person tile is the frame.
        reached = tile_max(np.less(keep, 1.0).view(np.uint8), size, tiles.tile)
        lit = (classes == FULL) & (reached > 0)
        tiles = TileMap(np.where(lit, np.uint8(MIXED), classes), tiles.tile, size)
    out = background.copy()
    _copy_runs(tiles, FULL, foreground, out)
    m_full = _full(np.asarray(mask, np.float32), size, "mask")
    k_full = _full(keep, size, "keep") if keep is not None else None
    # The room's and the soft background's colours to the nearest level, as the kernel takes
    # them.
    b_full = s_full = None
    if room is not None:
        b_full = _full(room if room.dtype == np.uint8 else cv2.convertScaleAbs(room), size, "room")
    if soft is not None and keep is not None:
        s_full = _full(soft if soft.dtype == np.uint8 else cv2.convertScaleAbs(soft), size, "soft")
    if k_full is not None and lit.any():
        # The person's tiles that light wrap reaches (m = 1, so no halo): one blend,
        # K·F + (1 − K)·S (N without soft light).
        lit_rows, lit_cols = np.nonzero(lit)
        packed = Packed(lit_rows, lit_cols, size, tiles.tile)
        for g in range(len(packed.groups)):
            k = packed.gather(k_full, g)
            light = packed.gather(background if s_full is None else s_full, g)
            packed.scatter(
                cv2.blendLinear(packed.gather(foreground, g), light, k, _ONE - k), out, g
            )
    rows, cols = np.nonzero(classes == MIXED)
    if len(rows) == 0:
        return out
    packed = Packed(rows, cols, size, tiles.tile)
    for g in range(len(packed.groups)):
        # Gathered once per group; worked on in chunks that stay in the cache.
        m_all = packed.gather(m_full, g)
        np.clip(m_all, 0.0, 1.0, out=m_all)
        f_all = packed.gather(foreground, g)
        n_all = packed.gather(background, g)
        k_all = packed.gather(k_full, g) if k_full is not None else None
        s_all = packed.gather(s_full, g) if s_full is not None else None
        b_all = packed.gather(b_full, g) if b_full is not None else None
        result = np.empty_like(f_all)
        for c in packed.chunks(g):
            result[c] = _replace_chunk(
                f_all[c],
                n_all[c],
                m_all[c],
                None if k_all is None else k_all[c],
                None if s_all is None else s_all[c],
                None if b_all is None else b_all[c],
                edge_ramp,
            )
        packed.scatter(result, out, g)
    return out


def _replace_chunk(
    f: np.ndarray,
    n: np.ndarray,
    m: np.ndarray,
    k: np.ndarray | None,
    soft: np.ndarray | None,
    room: np.ndarray | None,
    edge_ramp: float,
) -> np.ndarray:
    """The replacement's formula on packed pixels (frame, new background, mask, keep factor,
    soft light and room colour at each)::

        v = N + (F − N)·m·K + (F − B)·K·(1 − m)·min(1, ramp·m) + (S − N)·m·(1 − K)
          = m·(K·F + (1 − K)·S) + (1 − m)·N + (F − B)·wr

    two blends in uint8 (each one fused pass; the rounding between them costs at most one
    grey level), then the halo's correction added in float. Without soft light the keep
    factor only lowers the person's weight: m·K·F + (1 − m·K)·N."""
    person, weight = f, m
    if k is not None:
        if soft is not None:
            person = cv2.blendLinear(f, soft, k, _ONE - k)
        else:
            weight = m * k
    v = cv2.blendLinear(person, n, weight, _ONE - weight)
    if room is None:
        return v
    wr = (_ONE - m) * np.minimum(m * np.float32(edge_ramp), _ONE)
    if k is not None:
        wr *= k
    correction = cv2.subtract(f, room, dtype=cv2.CV_32F)
    cv2.multiply(correction, _spread(wr), dst=correction)
    # Saturated and rounded to 0..255 in the addition.
    return cv2.add(v, correction, dtype=cv2.CV_8U)


__all__ = ["EMPTY", "Packed", "composite_over_small", "composite_replacement"]
