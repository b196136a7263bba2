"""One-pass composite of the person over a blurred background, compiled with Numba.

The OpenCV path (:func:`pipelines.segmentation.composite.composite` after
:func:`~pipelines.segmentation.composite.masked_background_blur`) makes the composite in
several full-size passes: upsample the blurred background to full size, upsample the mask to
full size, copy the person's tiles, blend the outline's tiles. Each pass streams megabytes, and
each of the ~100 OpenCV calls on the outline's tiles costs more in dispatch than in pixels. At a
camera's pace (the caches cold after every 33 ms sleep) that came to about 3 ms at 720p.

Here one compiled loop walks the frame row by row and writes every output pixel once:

- room tiles get the background, upsampled on the fly from its small copy;
- person tiles get the frame's pixels;
- outline tiles get ``background + (frame − background)·m``, with the mask value ``m`` taken
  bilinearly from the refined mask at whatever size it was made (half size at 720p), so the
  full-size mask never has to exist.

The upsampling reproduces ``cv2.resize(INTER_LINEAR)``'s sampling positions, so the result
equals the OpenCV path's to within one grey level (rounding). Numba is optional: without it
(:func:`available` is False) callers use the OpenCV path.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from typing import Any

import numpy as np

from pipelines.segmentation.tiles import EMPTY, FULL, MIXED, TileMap

log = logging.getLogger(__name__)

# Set CAMFX_NO_JIT=1 to force the OpenCV path (for comparing, or where Numba misbehaves).
DISABLE_ENV = "CAMFX_NO_JIT"

_lock = threading.Lock()
_kernel: Any = None
_unavailable: str | None = None
_preparing: threading.Thread | None = None


def _compile() -> Any:
    import numba

    jit = numba.njit(nogil=True, cache=True, boundscheck=False, error_model="numpy")

    @jit
    def composite_rows(  # pragma: no cover - compiled; covered through the wrapper
        fg: np.ndarray,
        mask: np.ndarray,
        bg_rows: np.ndarray,
        out: np.ndarray,
        y_start: int,
        y_stop: int,
        tile_h: int,
        run_start: np.ndarray,
        runs: np.ndarray,
        my0: np.ndarray,
        my1: np.ndarray,
        mwy: np.ndarray,
        mx0: np.ndarray,
        mx1: np.ndarray,
        mwx: np.ndarray,
        by0: np.ndarray,
        by1: np.ndarray,
        bwy: np.ndarray,
    ) -> None:
        # (Float to uint8 through int32: a direct conversion does not vectorise.)
        half = np.float32(0.5)
        zero = np.float32(0.0)
        one = np.float32(1.0)
        mask_row = np.empty(mask.shape[1], np.float32)
        mask_row_y = -1
        spread = np.empty(fg.shape[1], np.float32)
        for y in range(y_start, y_stop):
            tr = y // tile_h
            ma = mask[my0[y]]
            mb = mask[my1[y]]
            mt = mwy[y]
            ba = bg_rows[by0[y]]
            bb = bg_rows[by1[y]]
            bt = bwy[y]
            frow = fg[y]
            orow = out[y]
            for r in range(run_start[tr], run_start[tr + 1]):
                x0 = runs[r, 0]
                x1 = runs[r, 1]
                cls = runs[r, 2]
                # Slices, and loops from 0: Numba then knows no index is negative (no
                # wraparound checks), which is what lets LLVM vectorise the loops.
                o = orow[3 * x0 : 3 * x1]
                f = frow[3 * x0 : 3 * x1]
                if cls == 1:  # FULL: the person, as captured
                    for k in range(o.shape[0]):
                        o[k] = f[k]
                    continue
                lo = ba[3 * x0 : 3 * x1]
                hi = bb[3 * x0 : 3 * x1]
                if cls == 0:  # EMPTY: the background
                    for k in range(o.shape[0]):
                        a = np.float32(lo[k])
                        o[k] = np.uint8(np.int32(a + (np.float32(hi[k]) - a) * bt + half))
                    continue
                # MIXED: blend by the mask, sampled as cv2.resize would: first along y (once
                # per row), then along x, spread over the three channels so that the blend
                # itself is one vectorised loop.
                if mask_row_y != y:
                    for i in range(mask_row.shape[0]):
                        mask_row[i] = ma[i] + (mb[i] - ma[i]) * mt
                    mask_row_y = y
                i0s = mx0[x0:x1]
                i1s = mx1[x0:x1]
                txs = mwx[x0:x1]
                m3 = spread[: o.shape[0]]
                for j in range(x1 - x0):
                    a = mask_row[i0s[j]]
                    m = min(max(a + (mask_row[i1s[j]] - a) * txs[j], zero), one)
                    m3[3 * j] = m
                    m3[3 * j + 1] = m
                    m3[3 * j + 2] = m
                for k in range(o.shape[0]):
                    a = np.float32(lo[k])
                    bv = a + (np.float32(hi[k]) - a) * bt
                    o[k] = np.uint8(np.int32(bv + (np.float32(f[k]) - bv) * m3[k] + half))

    return composite_rows


def available() -> bool:
    """Whether the compiled composite can be used (Numba importable, not disabled); the first
    call compiles it (or loads it from Numba's cache), which takes up to a few seconds."""
    global _kernel, _unavailable
    if _disabled():
        return False
    if _kernel is not None:
        return True
    if _unavailable is not None:
        return False
    with _lock:
        if _kernel is None and _unavailable is None:
            try:
                kernel = _compile()
                _warm_up(kernel)
                _kernel = kernel
            except Exception as exc:  # ImportError, or a compiler failure on an odd platform
                _unavailable = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "the compiled background composite is unavailable (%s); using the slower "
                    "OpenCV path. Install numba to get it back.",
                    _unavailable,
                )
    return _kernel is not None


def _disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip() not in ("", "0")


def ready() -> bool:
    """Whether the compiled composite is there now (never waits: see :func:`prepare`)."""
    return _kernel is not None and not _disabled()


def prepare() -> None:
    """Compile the composite (or load it from Numba's cache) on a background thread, so that a
    stage opened while frames flow never stalls them: until :func:`ready`, callers use the
    OpenCV path."""
    global _preparing
    if _kernel is not None or _unavailable is not None or _disabled():
        return
    with _lock:
        if _preparing is None:
            _preparing = threading.Thread(target=available, name="camfx-jit", daemon=True)
            _preparing.start()


def unavailable_reason() -> str | None:
    """Why :func:`available` is False (None when it is True or was not asked yet)."""
    if _disabled():
        return f"disabled by {DISABLE_ENV}"
    return _unavailable


def _warm_up(kernel: Any) -> None:
    """Compile for the argument types of real calls, on a tiny frame."""
    fg = np.zeros((4, 8, 3), np.uint8)
    mask = np.zeros((2, 4), np.float32)
    bg = np.zeros((1, 8, 3), np.uint8)
    tiles = TileMap(np.array([[EMPTY, FULL, MIXED, MIXED]], np.uint8), (4, 2), (8, 4))
    _run(kernel, fg, mask, bg, np.empty_like(fg), tiles)


@lru_cache(maxsize=32)
def axis_table(dst: int, src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of ``dst`` output positions along an axis, the two source indices and the
    weight of the second that ``cv2.resize(INTER_LINEAR)`` uses to resize ``src`` to ``dst``
    (half-pixel centres, clamped at the edges)."""
    pos = (np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5
    first = np.floor(pos)
    frac = (pos - first).astype(np.float32)
    i0 = first.astype(np.int64)
    frac[i0 < 0] = 0.0
    i0 = np.clip(i0, 0, src - 1)
    i1 = np.minimum(i0 + 1, src - 1)
    frac[i0 == src - 1] = 0.0
    for arr in (i0, i1, frac):
        arr.setflags(write=False)
    return i0, i1, frac


def row_runs(tiles: TileMap | None, size: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray]:
    """(tile height, index of each tile row's first run, runs) for the kernel: each run is
    (x0, x1, class) in frame pixels; a tile row's runs cover the frame's width. Without a tile
    map the whole frame is one outline run."""
    w, h = size
    if tiles is None or tiles.size != (w, h):
        return h, np.array([0, 1], np.int64), np.array([[0, w, MIXED]], np.int64)
    classes = tiles.classes
    rows, cols = classes.shape
    th, tw = tiles.tile
    change = np.ones((rows, cols), bool)
    change[:, 1:] = classes[:, 1:] != classes[:, :-1]
    r_idx, c_idx = np.nonzero(change)
    ends = np.empty_like(c_idx)
    ends[:-1] = c_idx[1:]
    ends[-1] = cols
    # A run ends where the next one starts, or at the end of its tile row.
    row_end = np.append(r_idx[1:] != r_idx[:-1], True)
    ends[row_end] = cols
    runs = np.stack(
        (c_idx * tw, np.minimum(ends * tw, w), classes[r_idx, c_idx].astype(np.int64)), axis=1
    ).astype(np.int64)
    run_start = np.searchsorted(r_idx, np.arange(rows + 1)).astype(np.int64)
    return th, run_start, runs


def _run(
    kernel: Any,
    foreground: np.ndarray,
    mask: np.ndarray,
    background_small: np.ndarray,
    out: np.ndarray,
    tiles: TileMap | None,
) -> np.ndarray:
    import cv2

    h, w = foreground.shape[:2]
    mh, mw = mask.shape
    # The background upsampled along x only (a few hundred kB); the kernel does y.
    bh = background_small.shape[0]
    bg_rows = cv2.resize(background_small, (w, bh), interpolation=cv2.INTER_LINEAR)
    tile_h, run_start, runs = row_runs(tiles, (w, h))
    my0, my1, mwy = axis_table(h, mh)
    mx0, mx1, mwx = axis_table(w, mw)
    by0, by1, bwy = axis_table(h, bh)
    kernel(
        np.ascontiguousarray(foreground).reshape(h, w * 3),
        np.ascontiguousarray(mask, dtype=np.float32),
        np.ascontiguousarray(bg_rows).reshape(bh, w * 3),
        out.reshape(h, w * 3),
        0,
        h,
        tile_h,
        run_start,
        runs,
        my0,
        my1,
        mwy,
        mx0,
        mx1,
        mwx,
        by0,
        by1,
        bwy,
    )
    return out


def composite_over_small(
    foreground: np.ndarray,
    mask: np.ndarray,
    background_small: np.ndarray,
    tiles: TileMap | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``foreground·m + background·(1 − m)`` at the foreground's size in one pass, where ``m``
    is ``mask`` (float32 at any size, values in [0, 1]) and the background is
    ``background_small`` (uint8 BGR at any size), both resized bilinearly as
    ``cv2.resize`` would. ``tiles``: the full-size mask's tile map, if known (its person and
    room tiles skip the blend; the result is the same). Requires :func:`available`."""
    if not available():
        raise RuntimeError(
            f"the compiled composite is unavailable ({unavailable_reason()}); "
            "use pipelines.segmentation.composite instead"
        )
    if foreground.dtype != np.uint8 or foreground.ndim != 3 or foreground.shape[2] != 3:
        raise ValueError(
            f"foreground must be uint8 H×W×3, not {foreground.dtype} {foreground.shape}"
        )
    if background_small.dtype != np.uint8 or background_small.shape[2:] != (3,):
        raise ValueError("background_small must be uint8 h×w×3")
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, not {mask.shape}")
    if out is None:
        out = np.empty_like(foreground)
    return _run(_kernel, foreground, mask, background_small, out, tiles)


__all__ = [
    "available",
    "axis_table",
    "composite_over_small",
    "prepare",
    "ready",
    "row_runs",
    "unavailable_reason",
]
