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

:class:`SmallComposite` is :class:`pipelines.segmentation.fused.SmallComposite` the same way (the
background blur's composite with the light's curves in it): the room upsampled once through
the curves, the person's runs looked up from the frame, the outline's runs packed side by side
into one strip, blended and looked up there in a few calls, the mask sampled at its own size
for those runs only.

The arithmetic is the kernels' formula, regrouped into two uint8 blends (``cv2.blendLinear``)
and a float correction: within two grey levels of the compiled result
(tests/test_segmentation_tiled.py and tests/test_segmentation_fused.py name the bounds).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from pipelines.segmentation.refine import Scratch
from pipelines.segmentation.tiles import EMPTY, FULL, MIXED, Rect, TileMap, tile_max

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
    dst = _scratch().get(name, (size[1], size[0], *small.shape[2:]), small.dtype)
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
    # The person's colour the correction implies stays at most 255 (see
    # fused.composite_replacement): correction ≤ w·(255 − F), w = m·K the person's weight.
    w3 = _spread(m * k if k is not None else m)
    cv2.min(correction, w3 * np.float32(255.0) - cv2.multiply(f, w3, dtype=cv2.CV_32F),
            dst=correction)  # fmt: skip
    # Saturated and rounded to 0..255 in the addition.
    return cv2.add(v, correction, dtype=cv2.CV_8U)


def _power_of_two_ratio(size: tuple[int, int], shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(x, y) factors by which an array of ``shape`` is smaller than a frame of ``size`` when
    both are powers of two (the pyramid's levels at 720p), else None."""
    w, h = size
    sh, sw = shape[:2]
    if w % sw or h % sh:
        return None
    fx, fy = w // sw, h // sh
    if fx & (fx - 1) or fy & (fy - 1):
        return None
    return fx, fy


def _upsampled_part(small: np.ndarray, factors: tuple[int, int], rect: Rect) -> np.ndarray:
    """``cv2.resize(small, frame size, INTER_LINEAR)[y0:y1, x0:x1]`` made for the rectangle
    alone: an affine warp to the resize's sample positions (half-pixel centres; the edges
    replicated as the resize clamps them). The warp weighs in steps of 1/32, which the
    positions of a power-of-two enlargement up to 16x are multiples of, and rounds in fixed
    point: within a grey level (uint8) or float rounding (float32) of the resize's."""
    y0, y1, x0, x1 = rect
    fx, fy = factors
    m = np.array(
        [[1.0 / fx, 0.0, (x0 + 0.5) / fx - 0.5], [0.0, 1.0 / fy, (y0 + 0.5) / fy - 0.5]],
        np.float64,
    )
    part: np.ndarray = cv2.warpAffine(
        small,
        m,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return part


def _thumb_sampler(size: tuple[int, int], shape: tuple[int, ...], step: int) -> np.ndarray:
    """The affine map (dst → src) that samples a ``shape`` grid where
    ``cv2.resize(INTER_LINEAR)`` to ``size`` puts every ``step``-th pixel of every ``step``-th
    row: for :func:`cv2.warpAffine` with ``WARP_INVERSE_MAP`` (cheaper than remap's per-point
    maps: 0.04 against 0.12 ms for the room at 720p)."""
    (w, h), (sh, sw) = size, shape[:2]
    sx, sy = sw / w, sh / h
    return np.array([[step * sx, 0.0, 0.5 * sx - 0.5], [0.0, step * sy, 0.5 * sy - 0.5]])


class SmallComposite:
    """:class:`pipelines.segmentation.fused.SmallComposite` with OpenCV: the background blur's
    composite over its small blurred room, with the light's curves (a table) in the same
    work, decided from a :meth:`thumbnail` of the composite made first.

    Without Numba the light otherwise makes its own ``cv2.LUT`` pass over the whole composite
    (per-channel curves: 1.2-1.8 ms of CPU at 720p). Here the room goes through the table at
    its small size before the one upsampling that makes it (as ``fused.ROOM_LIT``, within a
    level of the lookup after it: the room is a blur); the person's tiles are looked up
    straight from the frame into the picture (the copy they needed anyway); the outline's
    runs are blended, then looked up. The full-size mask is never made: the outline's runs
    sample the mask at its own size (as :func:`_upsampled_part` would, all runs in one warp:
    :meth:`_outline`). Needs a tile map, power-of-two ratios of the mask's and the room's
    sizes to the frame's, and tiles whose height is a multiple of both ratios' vertical
    factors (:meth:`usable`; so at the stages' sizes, 320x240 to 4K, and blur strengths)."""

    def __init__(
        self,
        foreground: np.ndarray,
        mask: np.ndarray,
        background_small: np.ndarray,
        tiles: TileMap,
    ) -> None:
        h, w = foreground.shape[:2]
        self.size = (w, h)
        self.fg = foreground
        self.mask = mask
        self.small = background_small
        self.tiles = tiles
        if not self.usable(foreground, mask, background_small, tiles):
            raise ValueError("SmallComposite needs SmallComposite.usable() inputs")
        mask_factors = _power_of_two_ratio(self.size, mask.shape)
        small_factors = _power_of_two_ratio(self.size, background_small.shape)
        assert mask_factors is not None and small_factors is not None  # usable() checked
        self.mask_factors, self.small_factors = mask_factors, small_factors

    @staticmethod
    def usable(
        foreground: np.ndarray, mask: np.ndarray, background_small: np.ndarray, tiles: TileMap
    ) -> bool:
        size = foreground.shape[1::-1]
        small_factors = _power_of_two_ratio(size, background_small.shape)
        mask_factors = _power_of_two_ratio(size, mask.shape)
        return (
            tiles.size == size
            and mask_factors is not None
            and small_factors is not None
            # The warp's 1/32 steps hold a 16x enlargement's positions exactly.
            and max(small_factors) <= 16
            # The outline's runs start on rows of the small grids (one warp samples them all).
            and tiles.tile[0] % mask_factors[1] == 0
            and tiles.tile[0] % small_factors[1] == 0
        )

    def thumbnail(self, step: int) -> np.ndarray:
        """The composite's every ``step``-th pixel of every ``step``-th row (as
        ``render()[::step, ::step]``: the room's and the mask's samples by affine warps to the
        same positions as its own): about 14k pixels at 720p."""
        w, h = self.size
        fg = self.fg
        if w % step == 0 and h % step == 0:
            fg_t = cv2.resize(fg, (w // step, h // step), interpolation=cv2.INTER_NEAREST)
        else:
            fg_t = np.ascontiguousarray(fg[::step, ::step])
        th, tw = fg_t.shape[:2]
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        sample = _thumb_sampler(self.size, self.small.shape, step)
        bg_t = cv2.warpAffine(self.small, sample, (tw, th), flags=flags,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        if self.mask.shape[:2] == (h, w):
            m = np.ascontiguousarray(self.mask[::step, ::step])
        else:
            sample = _thumb_sampler(self.size, self.mask.shape, step)
            m = cv2.warpAffine(self.mask, sample, (tw, th), flags=flags,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        np.clip(m, 0.0, 1.0, out=m)
        thumb: np.ndarray = cv2.blendLinear(fg_t, bg_t, m, _ONE - m)
        return thumb

    def render(self, table: np.ndarray | None = None) -> np.ndarray:
        """The composite, or ``cv2.LUT(composite, table)`` for a 1×256×3 uint8 ``table``
        within a level (the room's levels through the table before their upsampling)."""
        w, h = self.size
        fg = self.fg
        small = self.small if table is None else cv2.LUT(self.small, table)
        # The room by an affine warp to the resize's sample positions (as the outline's
        # room): within a level of cv2.resize's, in less time for a uint8 picture (a 160x90
        # room to 720p, one thread, 2026-12-04: 0.21 against 0.49 ms alone, load 0.5; in
        # `camfx bench` Studio's engine 0.41-0.45 against 0.55 ms, load 0.8-2).
        out = _upsampled_part(small, self.small_factors, (0, h, 0, w))
        copy, mixed = self.tiles.blend_rects()
        if mixed:
            # The room unlit under the outline (the curves go on the blend, as they would on
            # the two passes' composite); without a table the upsampled room itself.
            blended, places = self._outline(mixed, out if table is None else None)
            if table is not None:
                cv2.LUT(blended, table, dst=blended)
            for (y0, y1, x0, x1), x in zip(mixed, places, strict=True):
                out[y0:y1, x0:x1] = blended[: y1 - y0, x : x + x1 - x0]
        if table is None:
            for y0, y1, x0, x1 in copy:
                out[y0:y1, x0:x1] = fg[y0:y1, x0:x1]
        else:
            # Looked up straight from the frame: the lookup is the copy.
            for y0, y1, x0, x1 in copy:
                cv2.LUT(fg[y0:y1, x0:x1], table, dst=out[y0:y1, x0:x1])
        return out

    def _outline(
        self, mixed: list[Rect], plain_room: np.ndarray | None
    ) -> tuple[np.ndarray, list[int]]:
        """The outline's runs blended unlit, side by side in one strip a tile high, and the
        column each run starts at in it.

        A blend and two warps per run cost more in calls than in pixels. Here the runs are
        packed: the frame's pixels, and the small mask's and the small room's samples each
        run reads (one sample more on every side, the edges replicated as the warp's border),
        each into a strip of its own with the same layout, so that one warp per small strip
        samples every run exactly as its own warp did (the same affine positions: the runs
        start on rows that are multiples of the factors, and each run's columns keep their
        phase to the factors). Between runs a gap of two samples of the coarsest factor holds
        the margins; the gaps are blended too and never read. ``plain_room``: the room
        upsampled (not through a table), taken as it is where given."""
        th = self.tiles.tile[0]
        (mfx, mfy), (rfx, rfy) = self.mask_factors, self.small_factors
        step = max(mfx, rfx)
        mper, rper = step // mfx, step // rfx  # samples per block
        layout: list[tuple[int, int, int]] = []  # (block in the strip, block in the frame, blocks)
        block = 1  # a gap block before the first run
        for _, _, x0, x1 in mixed:
            first = x0 // step
            count = -(-x1 // step) - first
            layout.append((block, first, count))
            block += count + 2
        width = block * step
        scratch = _scratch()
        fg_strip = scratch.flat("strip/frame", (th, width, 3), np.uint8)
        room_strip = scratch.flat("strip/room", (th, width, 3), np.uint8)
        mask_small = scratch.flat("strip/mask", (th // mfy + 2, block * mper), np.float32)
        room_small = None
        if plain_room is None:
            room_small = scratch.flat("strip/small", (th // rfy + 2, block * rper, 3), np.uint8)
        fg, mask, small = self.fg, self.mask, self.small
        places = []
        for (y0, y1, x0, x1), (at, first, count) in zip(mixed, layout, strict=True):
            x = at * step + x0 - first * step
            places.append(x)
            fg_strip[: y1 - y0, x : x + x1 - x0] = fg[y0:y1, x0:x1]
            # The small grids' samples with one more on each side (the runs' rows start on
            # theirs: usable()).
            _fill(mask_small, mask, y0 // mfy - 1, at * mper - 1, first * mper - 1,
                  count * mper + 2)  # fmt: skip
            if room_small is not None:
                _fill(room_small, small, y0 // rfy - 1, at * rper - 1, first * rper - 1,
                      count * rper + 2)  # fmt: skip
            else:
                assert plain_room is not None
                room_strip[: y1 - y0, x : x + x1 - x0] = plain_room[y0:y1, x0:x1]
        m = _strip_warp(mask_small, (mfx, mfy), scratch.flat("strip/m", (th, width)))
        if room_small is not None:
            _strip_warp(room_small, (rfx, rfy), room_strip)
        inverse = np.subtract(_ONE, m, out=scratch.flat("strip/inverse", m.shape))
        cv2.blendLinear(fg_strip, room_strip, m, inverse, dst=fg_strip)
        return fg_strip, places


def _scratch() -> Scratch:
    """This thread's work arrays (reused from frame to frame)."""
    scratch: Scratch | None = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = Scratch()
    return scratch


def _fill(strip: np.ndarray, src: np.ndarray, row: int, at: int, col: int, cols: int) -> None:
    """``strip[:, at : at + cols] = src[row : row + rows, col : col + cols]`` (``rows`` the
    strip's height), the rows and columns outside ``src`` replicated from its edges."""
    rows = strip.shape[0]
    sh, sw = src.shape[:2]
    part = strip[:, at : at + cols]
    if row >= 0 and col >= 0 and row + rows <= sh and col + cols <= sw:
        part[...] = src[row : row + rows, col : col + cols]
        return
    r0, r1 = max(row, 0) - row, min(row + rows, sh) - row
    c0, c1 = max(col, 0) - col, min(col + cols, sw) - col
    part[r0:r1, c0:c1] = src[row + r0 : row + r1, col + c0 : col + c1]
    part[:r0, c0:c1] = part[r0, c0:c1]
    part[r1:, c0:c1] = part[r1 - 1, c0:c1]
    part[:, :c0] = part[:, c0 : c0 + 1]
    part[:, c1:] = part[:, c1 - 1 : c1]


def _strip_warp(strip: np.ndarray, factors: tuple[int, int], dst: np.ndarray) -> np.ndarray:
    """A small strip of :meth:`SmallComposite._outline` sampled at ``dst``'s pixels, as
    :func:`_upsampled_part` samples each run (the strip's first row is the margin above the
    runs)."""
    fx, fy = factors
    m = np.array([[1.0 / fx, 0.0, 0.5 / fx - 0.5], [0.0, 1.0 / fy, 0.5 / fy + 0.5]], np.float64)
    out: np.ndarray = cv2.warpAffine(strip, m, (dst.shape[1], dst.shape[0]), dst=dst,
                                     flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out


__all__ = ["EMPTY", "Packed", "SmallComposite", "composite_over_small", "composite_replacement"]
