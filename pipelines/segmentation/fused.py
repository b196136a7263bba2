"""Compiled (Numba) kernels for the background blur: one pass where OpenCV takes several.

The OpenCV path (:func:`pipelines.segmentation.composite.composite` after
:func:`~pipelines.segmentation.composite.masked_background_blur`) makes the composite in
several full-size passes: upsample the blurred background to full size, upsample the mask to
full size, copy the person's tiles, blend the outline's tiles. Each pass streams megabytes, and
each of the ~100 OpenCV calls on the outline's tiles costs more in dispatch than in pixels. At a
camera's pace (the caches cold after every 33 ms sleep) that came to about 3 ms at 720p.

:func:`composite_over_small` walks the frame row by row and writes every output pixel once:

- room tiles get the background, upsampled on the fly from its small copy;
- person tiles get the frame's pixels;
- outline tiles get ``background + (frame − background)·m``, with the mask value ``m`` taken
  bilinearly from the refined mask at whatever size it was made (half size at 720p), so the
  full-size mask never has to exist.

Two smaller kernels do the same for work that was a chain of small OpenCV calls:
:func:`refined_detail` (the guided filter's output at the detail level: two resizes, a
multiply, an add and a clip) and :func:`fill_level` (a level of the room's hole filling).
:func:`lut_bgr` is ``cv2.LUT`` with one curve per channel (the light stage's colour
correction) at half OpenCV's CPU (a quarter where the CPU permutes bytes:
:func:`_byte_permutes`), :func:`apply_gain` the key light's smooth per-pixel gain
with its outline blend in one pass (the mask sampled at the refined one's detail level, as the
composite does), and :func:`skin_fit` the key light's side-light fit on ~400 skin landmarks in
one call where NumPy took about twenty.
:func:`smooth_skin_box` is the beauty stage's skin smoothing at full resolution: one pass over
the face's box, where the OpenCV path (``pipelines.beauty.retouch._smooth_box_opencv``)
makes about ten passes over float copies of it, band by band. :func:`skin_statistics` and
:func:`skin_probability` are the beauty's skin colour model (its fit and its likelihood per
pixel), one call each where NumPy and OpenCV took about ten and twenty, with the same values.
:class:`SmallComposite` is the composite made in two steps: its thumbnail first, then the
frame through a per-channel table decided from the thumbnail (light_color's curves, folded
into the blur's pass by a :class:`TableStage`: the lookup's own pass over the frame (1.2 ms at
720p at a camera's pace) is saved for 0.5-0.7 ms more in the composite (the person's and the
outline's pixels still go through the table one by one) and 0.2 ms for the thumbnail: net
0.3-0.5 ms of CPU per Studio frame (blur and light, old and new alternated frame by frame in
one process, 150 frames twice, load 7-9). Re-done on top of the in-place frames
(FRESH_IMAGE: the light hands the lit composite on, so beauty still retouches in place):
blur, light and beauty 0.32-0.53 ms less CPU per 720p Studio frame (paired medians, three
in-process runs of 150 frames alternated frame by frame, 30 ms apart, load 2.9-3.5); in the
paced engine (Studio, 720p demo at 30 fps, pipelined, the fold on every other frame, even or
odd) the render thread's CPU 0.34-0.54 ms less a frame (adjacent pairs' medians, median 0.37;
six runs of 300 frames, load 3-4); the picture 67.5 dB from the two passes.

The upsampling reproduces ``cv2.resize(INTER_LINEAR)``'s sampling positions, so results equal
the OpenCV path's to within float rounding (the composite: one grey level). Numba is optional
(the ``jit`` extra: 208 MiB, which a CPU-only venv of ~650 MiB does without): until
:func:`ready` (it compiles in the background, :func:`prepare`) and for good without it,
:func:`composite_over_small` and :func:`composite_replacement` run their OpenCV versions on
the outline's tiles (:mod:`pipelines.segmentation.tiled`, within two grey levels), and
:func:`refined_detail` and :func:`fill_level` callers use their OpenCV arithmetic.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import threading
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pipelines import env_flag
from pipelines.frame import CtxKey, FrameContext
from pipelines.segmentation.tiles import EMPTY, FULL, MIXED, TileMap, tile_windows

log = logging.getLogger(__name__)

# Set CAMFX_NO_JIT=1 to force the OpenCV path (for comparing, or where Numba misbehaves).
DISABLE_ENV = "CAMFX_NO_JIT"
ROOM_LIT = True
"""The folded colour table (:meth:`SmallComposite.render`) is applied to the room's rows
(upsampled along x) before their upsampling along y, not to each of the room's pixels after
it: 0.5-0.6 ms less for the 720p demo's composite (2.5-3.3 against 1.8-2.1 ms, cold caches,
load 6), and the smooth blurred room's levels within one (Studio 67 dB against the exact
lookup, which False gives)."""
# Numba is the optional `jit` extra (pyproject.toml): how to add it to a venv.
INSTALL_HINT = "pip install numba (or installer/bootstrap.sh --jit)"


@runtime_checkable
class TableStage(Protocol):
    """A stage whose whole change to the picture is one 256-entry curve per channel, decided
    from a thumbnail of the picture it is given (``light_color``): the stage before it may
    work the thumbnail out, ask for the curves and put its own last pass over the frame
    through them (the background blur's composite, :meth:`SmallComposite.render`), which
    saves the stage's own pass over every pixel. The stage then finds its picture in
    :data:`TABLE_FOLDED` and returns it as it is."""

    @property
    def is_open(self) -> bool: ...

    def thumb_step(self, width: int) -> int:
        """The thumbnail's step (every ``step``-th pixel of every ``step``-th row) for a frame
        ``width`` pixels wide."""
        ...

    def table_for(self, thumb: np.ndarray, step: int, ctx: FrameContext) -> np.ndarray | None:
        """This frame's curves (uint8 1×256×3), or None to leave the picture as it is, for the
        picture whose thumbnail is ``thumb``; done for the frame as the stage's own
        ``process`` would do it (its temporal state and ``ctx`` entries)."""
        ...


TABLE_FOLDED: CtxKey[np.ndarray] = CtxKey("table_folded")
"""The picture a :class:`TableStage`'s curves were folded into on this frame (by the stage
before it, which returned this array)."""

_lock = threading.Lock()
_kernel: Any = None
_unavailable: str | None = None
_preparing: threading.Thread | None = None
_cancel = threading.Event()
"""Set at interpreter exit: a compile in progress stops after the kernel it is on."""


class _Cancelled(Exception):
    """The compile was stopped at exit (:func:`_stop_compile_at_exit`)."""


_prepare_lock = threading.Lock()


# The kernels' shared pieces, bound by :func:`_compile`. Module globals, not names local to
# it: a kernel that reads a helper from its closure gets a Numba cache key with that helper's
# pickle in it, which carries a per-process id, so the on-disk cache never matched and every
# start compiled the kernels again (13 s of CPU, 47 s on the loaded 2-core machine, while the
# stages ran their slower OpenCV paths) and wrote another ~1 MB of cache files. A global is
# read at compile time and is not part of the key.
copy_run: Any = None
lerp_rows: Any = None
spread_mask: Any = None
spread_clip: Any = None
spread_pixels: Any = None
solve3: Any = None
lut_span: Any = None
byte_permute: Any = None
permuted_lookups = False
"""Whether the compiled table lookups (:func:`lut_bgr`, the composite through a table) go 64
bytes a step by byte permutes (:func:`_byte_permutes`); set by the compile."""
room_run: Any = None
outline_run: Any = None
window_rows_u8: Any = None
window_rows_f32: Any = None
window_cols: Any = None


def _byte_permutes() -> bool:
    """Whether the kernels may look bytes up 64 at a time with AVX-512 VBMI's two-table byte
    permute (``vpermi2b``): Numba compiles for this CPU (``NUMBA_CPU_NAME`` unset) and it has
    the instruction (Intel since Ice Lake, AMD since Zen 4). Elsewhere a byte at a time."""
    from numba.core import config

    if getattr(config, "CPU_NAME", None) not in (None, "", "host") or getattr(
        config, "CPU_FEATURES", None
    ):
        return False  # compiled for another CPU than this one (a portable cache)
    try:
        from llvmlite import binding

        features = binding.get_host_cpu_features()
    except Exception:  # a platform llvmlite cannot ask
        return False
    return bool(features.get("avx512vbmi")) and bool(features.get("avx512bw"))


def _byte_permute_intrinsic() -> Any:
    """``byte_permute(src, dst, j, n, tables)``: bytes ``j`` to ``min(j + 64, n) - 1`` of
    ``src`` through ``tables`` (blue's, green's and red's 256 entries; byte ``k`` is channel
    ``k % 3``) into the same bytes of ``dst``, by masked loads and stores (no byte outside
    them is read or written). Each channel's table is four 64-byte registers: two permutes
    look a byte up in its low and high halves, its top bit picks one, and the bytes' channels
    pick among the three lookups. Only for a CPU with AVX-512 VBMI (:func:`_byte_permutes`)."""
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.core.extending import intrinsic

    vector = ir.VectorType(ir.IntType(8), 64)
    flags = ir.VectorType(ir.IntType(1), 64)

    @intrinsic  # type: ignore[misc]
    def byte_permute(typingctx: Any, src: Any, dst: Any, j: Any, n: Any, tables: Any) -> Any:
        if not all(
            isinstance(a, types.Array) and a.dtype == types.uint8 and a.layout == "C"
            for a in (src, dst, tables)
        ):
            return None
        sig = types.void(src, dst, types.intp, types.intp, tables)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            src_v, dst_v, j_v, n_v, tables_v = args
            src_a = context.make_array(signature.args[0])(context, builder, src_v)
            dst_a = context.make_array(signature.args[1])(context, builder, dst_v)
            tab_a = context.make_array(signature.args[4])(context, builder, tables_v)
            permute = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(vector, [vector, vector, vector]),
                "llvm.x86.avx512.vpermi2var.qi.512",
            )
            to_vector = vector.as_pointer()
            masked_load = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(vector, [to_vector, ir.IntType(32), flags, vector]),
                "llvm.masked.load.v64i8.p0",
            )
            masked_store = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [vector, to_vector, ir.IntType(32), flags]),
                "llvm.masked.store.v64i8.p0",
            )
            # The step's bytes: lane k is in while j + k < n.
            wide = ir.VectorType(j_v.type, 64)
            left = builder.insert_element(
                ir.Constant(wide, ir.Undefined),
                builder.sub(n_v, j_v),
                ir.Constant(ir.IntType(32), 0),
            )
            left = builder.shuffle_vector(
                left,
                ir.Constant(wide, ir.Undefined),
                ir.Constant(ir.VectorType(ir.IntType(32), 64), [0] * 64),
            )
            inside = builder.icmp_signed("<", ir.Constant(wide, list(range(64))), left)
            one = ir.Constant(ir.IntType(32), 1)

            def quarter(i: int) -> Any:  # bytes 64·i to 64·i + 63 of the tables
                at = builder.gep(tab_a.data, [ir.Constant(ir.IntType(64), 64 * i)])
                return builder.load(builder.bitcast(at, to_vector), align=1)

            at = builder.bitcast(builder.gep(src_a.data, [j_v]), to_vector)
            index = builder.call(masked_load, [at, one, inside, ir.Constant(vector, [0] * 64)])
            high = builder.icmp_signed("<", index, ir.Constant(vector, [0] * 64))
            looked = []
            for c in range(3):
                low_half = builder.call(permute, [quarter(4 * c), index, quarter(4 * c + 1)])
                high_half = builder.call(permute, [quarter(4 * c + 2), index, quarter(4 * c + 3)])
                looked.append(builder.select(high, high_half, low_half))
            # Byte k of the step is channel (j + k) % 3: one of three patterns, by j % 3.
            phase = builder.urem(j_v, ir.Constant(j_v.type, 3))
            out = None
            for p in range(3):
                channel = [(p + k) % 3 for k in range(64)]
                pick = builder.select(
                    ir.Constant(flags, [int(c == 1) for c in channel]), looked[1], looked[2]
                )
                pick = builder.select(
                    ir.Constant(flags, [int(c == 0) for c in channel]), looked[0], pick
                )
                is_p = builder.icmp_unsigned("==", phase, ir.Constant(j_v.type, p))
                out = pick if out is None else builder.select(is_p, pick, out)
            at = builder.bitcast(builder.gep(dst_a.data, [j_v]), to_vector)
            builder.call(masked_store, [out, at, one, inside])
            return context.get_dummy_value()

        return sig, codegen

    return byte_permute


def _compile() -> Any:
    global copy_run, lerp_rows, spread_mask, spread_clip, spread_pixels, solve3, lut_span
    global byte_permute
    global room_run, outline_run, window_rows_u8, window_rows_f32, window_cols
    global half_median
    import numba

    jit = numba.njit(nogil=True, cache=True, boundscheck=False, error_model="numpy")
    # Without Numba's reference counting (NRT), for kernels that allocate nothing: every
    # slice a kernel takes (a run of a row, handed to a helper) otherwise costs an atomic
    # increment and decrement of its parent's count. The composite takes a few per run of
    # every row (~4,300 run-rows at 720p): 0.29 ms of its 1.1 ms went to that alone.
    # (A private option of njit's, which Numba's type stubs leave out.)
    nonrt_options: dict[str, Any] = {"_nrt": False}
    nonrt = numba.njit(
        nogil=True, cache=True, boundscheck=False, error_model="numpy", **nonrt_options
    )

    # Shared pieces of the kernels (Numba inlines them). Slices, and loops from 0: Numba then
    # knows no index is negative (no wraparound checks), which lets LLVM vectorise the loops.

    @jit
    def copy_run(dst: np.ndarray, src: np.ndarray) -> None:  # pragma: no cover - compiled
        for k in range(dst.shape[0]):
            dst[k] = src[k]

    @jit
    def lerp_rows(
        a: np.ndarray, b: np.ndarray, t: Any, dst: np.ndarray
    ) -> None:  # pragma: no cover
        for i in range(dst.shape[0]):
            dst[i] = a[i] + (b[i] - a[i]) * t

    @jit
    def spread_mask(  # pragma: no cover - compiled
        mask_row: np.ndarray,
        i0s: np.ndarray,
        i1s: np.ndarray,
        txs: np.ndarray,
        spread: np.ndarray,
    ) -> None:
        """The mask along x (from its row already sampled along y), clipped to [0, 1], once
        per channel: the blends that use it are then one vectorised loop."""
        zero = np.float32(0.0)
        one = np.float32(1.0)
        for j in range(i0s.shape[0]):
            a = mask_row[i0s[j]]
            m = min(max(a + (mask_row[i1s[j]] - a) * txs[j], zero), one)
            spread[3 * j] = m
            spread[3 * j + 1] = m
            spread[3 * j + 2] = m

    @jit
    def spread_clip(row: np.ndarray, spread: np.ndarray) -> None:  # pragma: no cover
        """:func:`spread_mask` for a mask already at the frame's width (no sampling)."""
        zero = np.float32(0.0)
        one = np.float32(1.0)
        for j in range(row.shape[0]):
            m = min(max(row[j], zero), one)
            spread[3 * j] = m
            spread[3 * j + 1] = m
            spread[3 * j + 2] = m

    @jit
    def room_run(
        o: np.ndarray, lo: np.ndarray, hi: np.ndarray, bt_lo: Any, bt_hi: Any
    ) -> None:  # pragma: no cover - compiled
        """A room run: rows ``lo`` and ``hi`` mixed by ``bt_hi``/256 (``bt_lo`` = 256 − it).
        In 8.8 fixed point (16 lanes where float has 8): 0.70 → 0.38 ms for a frame of room
        tiles. Exact where the weights are multiples of 1/256 (as for the power-of-two
        reductions the blur uses), else within a level.

        Each step is cast back to uint16 (no sum exceeds 255·256 + 128 < 2¹⁶): Numba widens
        integer arithmetic to 64 bits, which LLVM had kept, 8 lanes a vector; in uint16,
        32. The same bytes, 0.56 → 0.14 ms for 720 rows of 1280 room pixels (2-core AVX-512
        Xeon, load 3)."""
        u128 = np.uint16(128)
        u8 = np.uint16(8)
        for k in range(o.shape[0]):
            mixed = np.uint16(np.uint16(lo[k]) * bt_lo) + np.uint16(np.uint16(hi[k]) * bt_hi)
            o[k] = np.uint8(np.uint16(mixed + u128) >> u8)

    @jit
    def outline_run(
        o: np.ndarray, lo: np.ndarray, hi: np.ndarray, bt: Any, f: np.ndarray, m3: np.ndarray
    ) -> None:  # pragma: no cover - compiled
        """An outline run: the room (rows ``lo`` and ``hi`` mixed by ``bt``) and the person
        ``f`` blended by the spread mask ``m3``, in float, rounded."""
        half = np.float32(0.5)
        for k in range(o.shape[0]):
            a = np.float32(lo[k])
            bv = a + (np.float32(hi[k]) - a) * bt
            o[k] = np.uint8(np.int32(bv + (np.float32(f[k]) - bv) * m3[k] + half))

    @nonrt
    def composite_rows(  # pragma: no cover - compiled; covered through the wrapper
        fg: np.ndarray,
        mask: np.ndarray,
        bg_rows: np.ndarray,
        out: np.ndarray,
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
        same_width: bool,
        mask_row: np.ndarray,
        spread: np.ndarray,
    ) -> None:
        # (Float to uint8 through int32: a direct conversion does not vectorise.) The scratch
        # rows come from the caller, as composite_lut_rows's.
        half = np.float32(0.5)
        mask_row_y = -1
        for y in range(fg.shape[0]):
            tr = y // tile_h
            ma = mask[my0[y]]
            mb = mask[my1[y]]
            mt = mwy[y]
            ba = bg_rows[by0[y]]
            bb = bg_rows[by1[y]]
            bt = bwy[y]
            bt_hi = np.uint16(np.int32(bt * np.float32(256.0) + half))
            bt_lo = np.uint16(256) - bt_hi
            frow = fg[y]
            orow = out[y]
            for r in range(run_start[tr], run_start[tr + 1]):
                x0 = runs[r, 0]
                x1 = runs[r, 1]
                cls = runs[r, 2]
                o = orow[3 * x0 : 3 * x1]
                f = frow[3 * x0 : 3 * x1]
                if cls == 1:  # FULL: the person, as captured
                    copy_run(o, f)
                    continue
                lo = ba[3 * x0 : 3 * x1]
                hi = bb[3 * x0 : 3 * x1]
                if cls == 0:  # EMPTY: the background
                    room_run(o, lo, hi, bt_lo, bt_hi)
                    continue
                # MIXED: blend by the mask, sampled as cv2.resize would: first along y (once
                # per row), then along x, spread over the three channels so that the blend
                # itself is one vectorised loop.
                if mask_row_y != y:
                    lerp_rows(ma, mb, mt, mask_row)
                    mask_row_y = y
                m3 = spread[: o.shape[0]]
                if same_width:
                    # A full-size mask (the refined one at 720p): no gathers, 2.4 → 1.3 ms
                    # for a frame of outline tiles.
                    spread_clip(mask_row[x0:x1], m3)
                else:
                    spread_mask(mask_row, mx0[x0:x1], mx1[x0:x1], mwx[x0:x1], m3)
                outline_run(o, lo, hi, bt, f, m3)

    global permuted_lookups
    permuted_lookups = False
    if _byte_permutes():
        byte_permute = _byte_permute_intrinsic()

        @jit
        def lut_span(
            src: np.ndarray, dst: np.ndarray, tables: np.ndarray
        ) -> None:  # pragma: no cover - compiled
            """``src`` (BGR bytes, whole pixels) through one 256-entry table per channel
            (``tables``: blue's, green's, red's, 768 bytes) into ``dst`` (``src`` itself is
            fine), 64 bytes a step by byte permutes (the last step masked): 0.66 → 0.31 ms of
            CPU for a 720p frame's bytes in one span (a 2-core AVX-512 Xeon, load 2.5), where
            a byte a step is bound by its two loads. The same table entries, so the same
            bytes."""
            n = dst.shape[0]
            for j in range(0, n, 64):
                byte_permute(src, dst, j, n, tables)

        try:  # an LLVM that no longer takes the intrinsics as written: a byte at a time
            lut_span(np.zeros(3, np.uint8), np.zeros(3, np.uint8), np.zeros(768, np.uint8))
            permuted_lookups = True
        except Exception as exc:
            log.info("the table lookups go a byte at a time: %s", exc)

    if not permuted_lookups:

        @jit
        def lut_span(
            src: np.ndarray, dst: np.ndarray, tables: np.ndarray
        ) -> None:  # pragma: no cover - compiled
            """``src`` (BGR bytes, whole pixels) through one 256-entry table per channel
            (``tables``: blue's, green's, red's, 768 bytes) into ``dst`` (``src`` itself is
            fine), a byte at a time."""
            for j in range(dst.shape[0] // 3):
                k = 3 * j
                dst[k] = tables[src[k]]
                dst[k + 1] = tables[256 + src[k + 1]]
                dst[k + 2] = tables[512 + src[k + 2]]

    @nonrt
    def composite_lut_rows(  # pragma: no cover - compiled; covered through the wrapper
        fg: np.ndarray,
        mask: np.ndarray,
        bg_rows: np.ndarray,
        out: np.ndarray,
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
        same_width: bool,
        room_rows: np.ndarray,
        room_lit: bool,
        tables: np.ndarray,
        mask_row: np.ndarray,
        spread: np.ndarray,
    ) -> None:
        # composite_rows, then each written run through the tables while it is in the cache.
        # ``room_rows``: ``bg_rows`` through the tables already when ``room_lit`` (see
        # composite_over_small), else ``bg_rows`` itself. ``mask_row`` and ``spread``: float32
        # scratch of the mask's and the frame's row lengths (w·3), from the caller: this
        # kernel allocates nothing, so it runs without Numba's reference counting (see
        # ``nonrt`` in _compile).
        half = np.float32(0.5)
        mask_row_y = -1
        for y in range(fg.shape[0]):
            tr = y // tile_h
            ma = mask[my0[y]]
            mb = mask[my1[y]]
            mt = mwy[y]
            ba = bg_rows[by0[y]]
            bb = bg_rows[by1[y]]
            bt = bwy[y]
            bt_hi = np.uint16(np.int32(bt * np.float32(256.0) + half))
            bt_lo = np.uint16(256) - bt_hi
            frow = fg[y]
            orow = out[y]
            for r in range(run_start[tr], run_start[tr + 1]):
                x0 = runs[r, 0]
                x1 = runs[r, 1]
                cls = runs[r, 2]
                o = orow[3 * x0 : 3 * x1]
                f = frow[3 * x0 : 3 * x1]
                if cls == 1:  # FULL: the person, through the tables
                    lut_span(f, o, tables)
                    continue
                lo = ba[3 * x0 : 3 * x1]
                hi = bb[3 * x0 : 3 * x1]
                if cls == 0:  # EMPTY: the room
                    ra = room_rows[by0[y], 3 * x0 : 3 * x1]
                    rb = room_rows[by1[y], 3 * x0 : 3 * x1]
                    room_run(o, ra, rb, bt_lo, bt_hi)
                    if not room_lit:
                        lut_span(o, o, tables)
                    continue
                if mask_row_y != y:
                    lerp_rows(ma, mb, mt, mask_row)
                    mask_row_y = y
                m3 = spread[: o.shape[0]]
                if same_width:
                    spread_clip(mask_row[x0:x1], m3)
                else:
                    spread_mask(mask_row, mx0[x0:x1], mx1[x0:x1], mwx[x0:x1], m3)
                outline_run(o, lo, hi, bt, f, m3)
                lut_span(o, o, tables)

    @nonrt
    def composite_points(  # pragma: no cover - compiled; covered through the wrapper
        fg: np.ndarray,
        mask: np.ndarray,
        bg_rows: np.ndarray,
        thumb: np.ndarray,
        step: int,
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
        same_width: bool,
    ) -> None:
        # composite_rows's pixels at every ``step``-th pixel of every ``step``-th row only,
        # with the same float32 arithmetic in the same order: the same bytes.
        half = np.float32(0.5)
        zero = np.float32(0.0)
        one = np.float32(1.0)
        u128 = np.uint16(128)
        for i in range(thumb.shape[0]):
            y = i * step
            tr = y // tile_h
            ma = mask[my0[y]]
            mb = mask[my1[y]]
            mt = mwy[y]
            ba = bg_rows[by0[y]]
            bb = bg_rows[by1[y]]
            bt = bwy[y]
            bt_hi = np.uint16(np.int32(bt * np.float32(256.0) + half))
            bt_lo = np.uint16(256) - bt_hi
            frow = fg[y]
            trow = thumb[i]
            for r in range(run_start[tr], run_start[tr + 1]):
                x0 = runs[r, 0]
                x1 = runs[r, 1]
                cls = runs[r, 2]
                first = -(-x0 // step) * step
                # Thumbnail pixel of x counted along, not x // step (a division a pixel):
                # the thumbnail 0.108-0.117 -> 0.090-0.094 ms a 720p Studio frame.
                j0 = 3 * (first // step)
                if cls == 1:
                    for n, x in enumerate(range(first, x1, step)):
                        j = j0 + 3 * n
                        trow[j] = frow[3 * x]
                        trow[j + 1] = frow[3 * x + 1]
                        trow[j + 2] = frow[3 * x + 2]
                    continue
                if cls == 0:
                    for n, x in enumerate(range(first, x1, step)):
                        j = j0 + 3 * n
                        for c in range(3):
                            k = 3 * x + c
                            trow[j + c] = np.uint8(
                                (np.uint16(ba[k]) * bt_lo + np.uint16(bb[k]) * bt_hi + u128) >> 8
                            )
                    continue
                for n, x in enumerate(range(first, x1, step)):
                    j = j0 + 3 * n
                    if same_width:
                        mv = ma[x] + (mb[x] - ma[x]) * mt
                    else:
                        p0 = ma[mx0[x]] + (mb[mx0[x]] - ma[mx0[x]]) * mt
                        p1 = ma[mx1[x]] + (mb[mx1[x]] - ma[mx1[x]]) * mt
                        mv = p0 + (p1 - p0) * mwx[x]
                    m = min(max(mv, zero), one)
                    for c in range(3):
                        k = 3 * x + c
                        a = np.float32(ba[k])
                        bv = a + (np.float32(bb[k]) - a) * bt
                        trow[j + c] = np.uint8(np.int32(bv + (np.float32(frow[k]) - bv) * m + half))

    # The guided filter's window sums (OpenCV's BORDER_REFLECT: the edge pixel repeated),
    # a row at a time: ``out`` holds the row's column sums with ``r`` reflected columns on
    # each side, then :func:`window_cols` sums 2r + 1 of them.
    @nonrt
    def reflected(i: int, n: int) -> int:  # pragma: no cover - compiled
        """Index ``i`` of ``n`` reflected into range as BORDER_REFLECT does (|i| < n)."""
        if i < 0:
            return -i - 1
        if i >= n:
            return 2 * n - i - 1
        return i

    @nonrt
    def reflect_ends(out: np.ndarray, r: int, w: int) -> None:  # pragma: no cover - compiled
        """Fill the ``r`` reflected columns on each side of the row's ``w`` sums."""
        for j in range(1, r + 1):
            out[r - j] = out[r + j - 1]
            out[r + w - 1 + j] = out[r + w - j]

    @nonrt
    def window_rows_u8(  # pragma: no cover - compiled
        gray: np.ndarray, y: int, r: int, squared: bool, out: np.ndarray
    ) -> None:
        h, w = gray.shape
        o = out[r : r + w]
        for x in range(w):
            o[x] = np.float32(0.0)
        for dy in range(-r, r + 1):
            row = gray[reflected(y + dy, h)]
            if squared:
                for x in range(w):
                    g = np.float32(row[x])
                    o[x] += g * g
            else:
                for x in range(w):
                    o[x] += np.float32(row[x])
        reflect_ends(out, r, w)

    @nonrt
    def window_rows_f32(  # pragma: no cover - compiled
        plane: np.ndarray, gray: np.ndarray, y: int, r: int, weighted: bool, out: np.ndarray
    ) -> None:
        """As :func:`window_rows_u8` for a float plane, times ``gray`` if ``weighted``."""
        h, w = plane.shape
        o = out[r : r + w]
        for x in range(w):
            o[x] = np.float32(0.0)
        for dy in range(-r, r + 1):
            yy = reflected(y + dy, h)
            row = plane[yy]
            if weighted:
                grow = gray[yy]
                for x in range(w):
                    o[x] += np.float32(grow[x]) * row[x]
            else:
                for x in range(w):
                    o[x] += row[x]
        reflect_ends(out, r, w)

    @nonrt
    def window_cols(v: np.ndarray, k: int, out: np.ndarray) -> None:  # pragma: no cover
        w = out.shape[0]
        for x in range(w):
            out[x] = v[x]
        for t in range(1, k):
            vt = v[t : t + w]
            for x in range(w):
                out[x] += vt[x]

    @nonrt
    def guided_fit(  # pragma: no cover - compiled; covered through the wrapper
        gray: np.ndarray,
        p: np.ndarray,
        swing: np.ndarray,
        r: int,
        eps: Any,
        swing_lo: Any,
        swing_gain: Any,
        stretch: Any,
        snap: Any,
        a_out: np.ndarray,
        b_out: np.ndarray,
        v: np.ndarray,
        sums: np.ndarray,
        coef: np.ndarray,
    ) -> None:
        h, w = gray.shape
        k = 2 * r + 1
        inv = np.float32(1.0 / (k * k))
        zero = np.float32(0.0)
        one = np.float32(1.0)
        ca = coef[0]
        cb = coef[1]
        # Per row: the window means of I, I², p and I·p, then a = cov(I, p) / (var(I) + eps)
        # and b = mean(p) − a·mean(I).
        for y in range(h):
            window_rows_u8(gray, y, r, False, v[0])
            window_rows_u8(gray, y, r, True, v[1])
            window_rows_f32(p, gray, y, r, False, v[2])
            window_rows_f32(p, gray, y, r, True, v[3])
            for c in range(4):
                window_cols(v[c], k, sums[c])
            s0 = sums[0]
            s1 = sums[1]
            s2 = sums[2]
            s3 = sums[3]
            ra = ca[y]
            rb = cb[y]
            for x in range(w):
                mi = s0[x] * inv
                var = s1[x] * inv - mi * mi + eps
                mp = s2[x] * inv
                a = (s3[x] * inv - mi * mp) / var
                ra[x] = a
                rb[x] = mp - a * mi
        # Their window means, faded towards the plain mask where it is unsure (the swing's
        # confidence) and stretched by the snap, as GuidedUpsampler.coefficients does.
        for y in range(h):
            window_rows_f32(ca, gray, y, r, False, v[0])
            window_rows_f32(cb, gray, y, r, False, v[1])
            window_cols(v[0], k, sums[0])
            window_cols(v[1], k, sums[1])
            s0 = sums[0]
            s1 = sums[1]
            sw = swing[y]
            m = p[y]
            ao = a_out[y]
            bo = b_out[y]
            for x in range(w):
                c = min(max((sw[x] - swing_lo) * swing_gain, zero), one) * stretch
                ao[x] = s0[x] * inv * c
                bo[x] = (s1[x] * inv - m[x]) * c + (m[x] - snap) * stretch

    @jit
    def detail_rows(  # pragma: no cover - compiled; covered through the wrapper
        a_rows: np.ndarray,
        b_rows: np.ndarray,
        gray: np.ndarray,
        out: np.ndarray,
        gy0: np.ndarray,
        gy1: np.ndarray,
        gwy: np.ndarray,
    ) -> None:
        zero = np.float32(0.0)
        one = np.float32(1.0)
        for y in range(out.shape[0]):
            a0 = a_rows[gy0[y]]
            a1 = a_rows[gy1[y]]
            b0 = b_rows[gy0[y]]
            b1 = b_rows[gy1[y]]
            t = gwy[y]
            g = gray[y]
            o = out[y]
            for x in range(o.shape[0]):
                av = a0[x] + (a1[x] - a0[x]) * t
                bv = b0[x] + (b1[x] - b0[x]) * t
                o[x] = min(max(av * np.float32(g[x]) + bv, zero), one)

    @jit
    def tile_classes(  # pragma: no cover - compiled; covered through the wrapper
        mask: np.ndarray,
        y_first: np.ndarray,
        y_last: np.ndarray,
        x_first: np.ndarray,
        x_last: np.ndarray,
        classes: np.ndarray,
    ) -> None:
        # Per tile row, what its window of mask rows holds in each column (bit 0: a value
        # above 0, some person; bit 1: one below 1, some room), then per tile the columns of
        # its window together. NaN counts as neither, as the comparisons of tiles.classify.
        zero = np.float32(0.0)
        one = np.float32(1.0)
        seen = np.empty(mask.shape[1], np.uint8)
        for r in range(classes.shape[0]):
            seen[:] = 0
            for y in range(y_first[r], y_last[r] + 1):
                row = mask[y]
                for x in range(row.shape[0]):
                    v = row[x]
                    seen[x] |= np.uint8(v > zero) | (np.uint8(v < one) << np.uint8(1))
            out = classes[r]
            for c in range(out.shape[0]):
                both = np.uint8(0)
                for x in range(x_first[c], x_last[c] + 1):
                    both |= seen[x]
                if both & 2 == 0:
                    out[c] = FULL
                elif both & 1 == 0:
                    out[c] = EMPTY
                else:
                    out[c] = MIXED

    @jit
    def fill_level(  # pragma: no cover - compiled; covered through the wrapper
        weighted: np.ndarray, coarse: np.ndarray, trusted: np.float32
    ) -> None:
        zero = np.float32(0.0)
        for i in range(coarse.shape[0]):
            wrow = weighted[i]
            crow = coarse[i]
            for j in range(coarse.shape[1]):
                w = wrow[j, 3]
                fill = max(trusted - w, zero)
                total = w + fill
                for c in range(3):
                    crow[j, c] = (crow[j, c] * fill + wrow[j, c]) / total

    @jit
    def replace_rows(  # pragma: no cover - compiled; covered through the wrapper
        fg: np.ndarray,
        mask: np.ndarray,
        bg: np.ndarray,
        keep_rows: np.ndarray,
        room_rows: np.ndarray,
        soft_rows: np.ndarray,
        out: np.ndarray,
        tile_h: int,
        run_start: np.ndarray,
        runs: np.ndarray,
        my0: np.ndarray,
        my1: np.ndarray,
        mwy: np.ndarray,
        mx0: np.ndarray,
        mx1: np.ndarray,
        mwx: np.ndarray,
        ky0: np.ndarray,
        ky1: np.ndarray,
        kwy: np.ndarray,
        ry0: np.ndarray,
        ry1: np.ndarray,
        rwy: np.ndarray,
        sy0: np.ndarray,
        sy1: np.ndarray,
        swy: np.ndarray,
        has_keep: bool,
        has_room: bool,
        has_soft: bool,
        edge_ramp: np.float32,
    ) -> None:
        # keep_rows (float32, one value per pixel) and room_rows, soft_rows (uint8 BGR) are
        # the small maps upsampled along x already; they are sampled along y here, inline.
        half = np.float32(0.5)
        zero = np.float32(0.0)
        one = np.float32(1.0)
        top = np.float32(255.0)
        # Terms switched off by a 0 factor rather than a branch: one loop, vectorised.
        room_on = one if has_room else zero
        soft_on = one if has_soft else zero
        mask_row = np.empty(mask.shape[1], np.float32)
        mask_row_y = -1
        m3 = np.empty(fg.shape[1], np.float32)
        k3 = np.ones(fg.shape[1], np.float32)
        for y in range(fg.shape[0]):
            tr = y // tile_h
            frow = fg[y]
            brow = bg[y]
            orow = out[y]
            ka = keep_rows[ky0[y]]
            kb = keep_rows[ky1[y]]
            kt = kwy[y]
            ra = room_rows[ry0[y]]
            rb = room_rows[ry1[y]]
            rt = rwy[y]
            sa = soft_rows[sy0[y]]
            sb = soft_rows[sy1[y]]
            st = swy[y]
            for r in range(run_start[tr], run_start[tr + 1]):
                x0 = runs[r, 0]
                x1 = runs[r, 1]
                cls = runs[r, 2]
                o = orow[3 * x0 : 3 * x1]
                n = brow[3 * x0 : 3 * x1]
                f = frow[3 * x0 : 3 * x1]
                if cls == 0:  # EMPTY: the new background, exactly
                    copy_run(o, n)
                    continue
                if cls == 1 and not has_keep:  # FULL without light wrap: the person
                    copy_run(o, f)
                    continue
                if mask_row_y != y:
                    lerp_rows(mask[my0[y]], mask[my1[y]], mwy[y], mask_row)
                    mask_row_y = y
                # Per pixel: the mask and the keep factor, spread over the three channels.
                mm = m3[: o.shape[0]]
                spread_mask(mask_row, mx0[x0:x1], mx1[x0:x1], mwx[x0:x1], mm)
                kk = k3[: o.shape[0]]
                if has_keep:
                    kas = ka[x0:x1]
                    kbs = kb[x0:x1]
                    for j in range(x1 - x0):
                        kv = kas[j] + (kbs[j] - kas[j]) * kt
                        kk[3 * j] = kv
                        kk[3 * j + 1] = kv
                        kk[3 * j + 2] = kv
                r0 = ra[3 * x0 : 3 * x1]
                r1 = rb[3 * x0 : 3 * x1]
                s0 = sa[3 * x0 : 3 * x1]
                s1 = sb[3 * x0 : 3 * x1]
                for k in range(o.shape[0]):
                    m = mm[k]
                    keep = kk[k]
                    fv = np.float32(f[k])
                    nv = np.float32(n[k])
                    lo = np.float32(r0[k])
                    room = lo + (np.float32(r1[k]) - lo) * rt
                    lo = np.float32(s0[k])
                    soft = lo + (np.float32(s1[k]) - lo) * st
                    weight = m * keep
                    v = nv + (fv - nv) * weight
                    # Halo: the old room's share of the outline's pixels, taken out; the
                    # person's colour so found stays a colour (see composite_replacement).
                    halo = room_on * (fv - room) * keep * (one - m) * min(one, edge_ramp * m)
                    v += min(halo, weight * (top - fv))
                    # Light wrap: the new background's blurred light over the outline.
                    v += soft_on * (soft - nv) * m * (one - keep)
                    v = min(max(v, zero), top)
                    o[k] = np.uint8(np.int32(v + half))

    @jit
    def lut_bgr(  # pragma: no cover - compiled; covered through the wrapper
        src: np.ndarray, tables: np.ndarray, dst: np.ndarray
    ) -> None:
        lut_span(src, dst, tables)

    @jit
    def light_weighted_luma(  # pragma: no cover - compiled; covered through the wrapper
        thumb: np.ndarray, weight: np.ndarray, luma_w: np.ndarray, box: np.ndarray
    ) -> tuple[float, float]:
        """light_color's metering on its thumbnail (H×W×3 uint8) in one pass: the weighted
        mean of the luma and the plain mean inside ``box`` (x0, y0, x1, y1; empty: 0)."""
        total = 0.0
        face = 0.0
        for y in range(thumb.shape[0]):
            inside_y = box[1] <= y < box[3]
            for x in range(thumb.shape[1]):
                v = (
                    np.float32(thumb[y, x, 0]) * luma_w[0]
                    + np.float32(thumb[y, x, 1]) * luma_w[1]
                    + np.float32(thumb[y, x, 2]) * luma_w[2]
                )
                total += v * weight[y, x]
                if inside_y and box[0] <= x < box[2]:
                    face += v
        return total, face

    @jit
    def light_curves(  # pragma: no cover - compiled; covered through the wrapper
        gains: np.ndarray, gamma: float, toe: float, end_slope: float, lut: np.ndarray
    ) -> None:
        """light_color's three curves (``pipelines.beauty.light.channel_curve`` of each gain)
        into ``lut`` (256×3 uint8), element for element the same float64 operations."""
        lo = toe**gamma
        span = (1.0 + toe) ** gamma - lo
        for c in range(3):
            gain = gains[c]
            knee = min(0.85, (2.8 - gain) / 1.8)
            m0 = (gain - knee) / (1.0 - knee)
            for i in range(256):
                u = (i / 255.0) * gain
                y = u
                if gain > 1.0 and u > knee:
                    t = min(max((u - knee) / (gain - knee), 0.0), 1.0)
                    t2 = t * t
                    t3 = t * t * t
                    h = m0 * (t - 2 * t2 + t3) + (3 * t2 - 2 * t3) + end_slope * (t3 - t2)
                    y = knee + (1.0 - knee) * h
                if gamma != 1.0:
                    y = ((y + toe) ** gamma - lo) / span
                lut[i, c] = np.uint8(min(max(np.rint(y * 255.0), 0.0), 255.0))

    @jit
    def grey_world(  # pragma: no cover - compiled; covered through the wrapper
        px: np.ndarray,
        luma_w: np.ndarray,
        lo_luma: float,
        hi_luma: float,
        saturation: float,
        rounds: int,
        min_pixels: int,
        limit: float,
        gains: np.ndarray,
    ) -> None:
        """light_color's grey-world gains (``pipelines.beauty.light.grey_world_gains``) for
        ``px`` (N×3 uint8), into ``gains`` (B, G, R; ones when too few pixels are grey)."""
        n = px.shape[0]
        scale = np.float32(1.0 / 255.0)
        mid = np.empty(n, np.bool_)
        for i in range(n):
            v = (
                np.float32(px[i, 0]) * scale * luma_w[0]
                + np.float32(px[i, 1]) * scale * luma_w[1]
                + np.float32(px[i, 2]) * scale * luma_w[2]
            )
            mid[i] = lo_luma < v < hi_luma
        keep = mid.copy()
        gains[:] = 1.0
        sat = np.float32(saturation)
        tiny = np.float32(1e-6)
        for _ in range(rounds):
            count = 0
            sb = 0.0
            sg = 0.0
            sr = 0.0
            for i in range(n):
                if keep[i]:
                    count += 1
                    sb += float(np.float32(px[i, 0]) * scale)
                    sg += float(np.float32(px[i, 1]) * scale)
                    sr += float(np.float32(px[i, 2]) * scale)
            if count < min_pixels:
                break
            means = np.array([sb / count, sg / count, sr / count])
            average = (means[0] + means[1] + means[2]) / 3.0
            for c in range(3):
                gains[c] = min(max(average / max(means[c], 1e-6), 1.0 / limit), limit)
            gb = np.float32(gains[0]) * scale
            gg = np.float32(gains[1]) * scale
            gr = np.float32(gains[2]) * scale
            for i in range(n):
                if not mid[i]:
                    continue
                b = np.float32(px[i, 0]) * gb
                g = np.float32(px[i, 1]) * gg
                r = np.float32(px[i, 2]) * gr
                hi = max(max(b, g), r)
                lo = min(min(b, g), r)
                keep[i] = (hi - lo) < sat * max(hi, tiny)

    @jit
    def spread_pixels(  # pragma: no cover - compiled
        w0: np.ndarray, w1: np.ndarray, t: Any, scale: Any, grey: np.ndarray,
        weight: np.ndarray, grey3: np.ndarray,
    ) -> None:  # fmt: skip
        """A row of the weight (interpolated along y, times ``scale``) and of the grey, once
        per channel, so that the per-channel loop is one vectorised loop."""
        for j in range(grey.shape[0]):
            m = (w0[j] + (w1[j] - w0[j]) * t) * scale
            g = np.float32(grey[j])
            weight[3 * j] = m
            weight[3 * j + 1] = m
            weight[3 * j + 2] = m
            grey3[3 * j] = g
            grey3[3 * j + 1] = g
            grey3[3 * j + 2] = g

    @nonrt
    def smooth_rows(  # pragma: no cover - compiled; covered through the wrapper
        src: np.ndarray,
        low: np.ndarray,
        grey: np.ndarray,
        a_rows: np.ndarray,
        b_rows: np.ndarray,
        w_rows: np.ndarray,
        y0s: np.ndarray,
        y1s: np.ndarray,
        wys: np.ndarray,
        low_y: int,
        low_x: int,
        x0: int,
        keep: Any,
        strength: Any,
        out: np.ndarray,
        weight: np.ndarray,
        grey3: np.ndarray,
    ) -> None:
        # The maps are the ROI's width and ``low`` is larger than the box: each row is sliced
        # here (numpy's copy of a column range of 3-channel pixels costs more than this pass).
        # ``weight`` and ``grey3``: float32 scratch of the out rows' length, from the caller
        # (no allocation here: compiled without reference counting, see ``nonrt``).
        zero = np.float32(0.0)
        top = np.float32(255.0)
        half = np.float32(0.5)
        keep1 = keep - np.float32(1.0)
        n = out.shape[1]
        for y in range(out.shape[0]):
            r0 = y0s[y]
            r1 = y1s[y]
            t = wys[y]
            px = slice(x0, x0 + grey.shape[1])
            spread_pixels(w_rows[r0, px], w_rows[r1, px], t, strength, grey[y], weight, grey3)
            cols = slice(3 * x0, 3 * x0 + n)
            a0 = a_rows[r0, cols]
            a1 = a_rows[r1, cols]
            b0 = b_rows[r0, cols]
            b1 = b_rows[r1, cols]
            s_row = src[y]
            l_row = low[low_y + y, 3 * low_x : 3 * low_x + n]
            o_row = out[y]
            for k in range(n):
                a = a0[k] + (a1[k] - a0[k]) * t
                b = b0[k] + (b1[k] - b0[k]) * t
                s = np.float32(s_row[k])
                v = s + ((a * grey3[k] + b) + (keep1 * s - keep * np.float32(l_row[k]))) * weight[k]
                v = min(max(v, zero), top)
                o_row[k] = np.uint8(np.int32(v + half))

    @jit
    def gain_rows(  # pragma: no cover - compiled; covered through the wrapper
        image: np.ndarray,
        mask: np.ndarray,
        has_mask: bool,
        weight_scale: np.float32,
        gains: np.ndarray,
        unit: np.float32,
        gy0: np.ndarray,
        gy1: np.ndarray,
        gwy: np.ndarray,
        box: np.ndarray,
        out: np.ndarray,
        tile_h: int,
        run_start: np.ndarray,
        runs: np.ndarray,
        my0: np.ndarray,
        my1: np.ndarray,
        mwy: np.ndarray,
        mx0: np.ndarray,
        mx1: np.ndarray,
        mwx: np.ndarray,
        same_size: bool,
    ) -> None:
        # ``gains`` (uint8 BGR, ``unit`` is a gain of 1) is the gain over ``box`` upsampled
        # along x already; it is sampled along y inline, pixel by pixel, only where a pixel is
        # lit (a gain row made first for the box's whole width cost more than the lighting).
        half = np.float32(0.5)
        top = np.float32(255.0)
        one = np.float32(1.0)
        x0 = box[0]
        y0 = box[1]
        x1 = box[2]
        y1 = box[3]
        m3 = np.empty(gains.shape[1], np.float32)
        mask_row = np.empty(mask.shape[1], np.float32)
        for y in range(image.shape[0]):
            frow = image[y]
            orow = out[y]
            if y < y0 or y >= y1:
                copy_run(orow, frow)
                continue
            copy_run(orow[: 3 * x0], frow[: 3 * x0])
            copy_run(orow[3 * x1 :], frow[3 * x1 :])
            ga = gains[gy0[y - y0]]
            gb = gains[gy1[y - y0]]
            # The row's two grid rows' weights, with the fixed point's unit taken out.
            sb = gwy[y - y0] / unit
            sa = (one - gwy[y - y0]) / unit
            mask_row_y = -1
            tr = y // tile_h
            for r in range(run_start[tr], run_start[tr + 1]):
                a0 = max(runs[r, 0], x0)
                a1 = min(runs[r, 1], x1)
                if a1 <= a0:
                    continue
                cls = runs[r, 2]
                o = orow[3 * a0 : 3 * a1]
                f = frow[3 * a0 : 3 * a1]
                if cls == 0:  # EMPTY: the room, untouched
                    copy_run(o, f)
                    continue
                g0 = ga[3 * (a0 - x0) : 3 * (a1 - x0)]
                g1 = gb[3 * (a0 - x0) : 3 * (a1 - x0)]
                if cls == 1 and weight_scale >= one:  # FULL: the person, lit
                    for k in range(o.shape[0]):
                        gv = np.float32(g0[k]) * sa + np.float32(g1[k]) * sb
                        v = min(np.float32(f[k]) * gv, top)
                        o[k] = np.uint8(np.int32(v + half))
                    continue
                # MIXED (or FULL and faded): lit by the squared mask times the weight scale
                # (see pipelines.effects.key_light._blend). A smaller mask (the refined one's
                # detail level) is sampled as cv2.resize would make it full size: along y
                # once per row, then along x, as the composite does.
                ww = m3[: o.shape[0]]
                if not has_mask:
                    for k in range(o.shape[0]):
                        ww[k] = one
                elif same_size:
                    spread_clip(mask[y, a0:a1], ww)
                else:
                    if mask_row_y != y:
                        lerp_rows(mask[my0[y]], mask[my1[y]], mwy[y], mask_row)
                        mask_row_y = y
                    spread_mask(mask_row, mx0[a0:a1], mx1[a0:a1], mwx[a0:a1], ww)
                for k in range(o.shape[0]):
                    gv = np.float32(g0[k]) * sa + np.float32(g1[k]) * sb
                    fv = np.float32(f[k])
                    v = min(fv * gv, top)
                    wv = ww[k] * ww[k] * weight_scale
                    o[k] = np.uint8(np.int32(fv + (v - fv) * wv + half))

    @jit
    def solve3(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:  # pragma: no cover
        """``out`` = a⁻¹·b for a 3×3 ``a`` (Gaussian elimination with partial pivoting, as
        LAPACK's gesv does); False where ``a`` is singular."""
        m = a.copy()
        v = b.copy()
        for col in range(3):
            piv = col
            for r in range(col + 1, 3):
                if abs(m[r, col]) > abs(m[piv, col]):
                    piv = r
            if m[piv, col] == 0.0:
                return False
            if piv != col:
                for k in range(3):
                    m[col, k], m[piv, k] = m[piv, k], m[col, k]
                v[col], v[piv] = v[piv], v[col]
            for r in range(col + 1, 3):
                f = m[r, col] / m[col, col]
                for k in range(col, 3):
                    m[r, k] -= f * m[col, k]
                v[r] -= f * v[col]
        for r in range(2, -1, -1):
            acc = v[r]
            for k in range(r + 1, 3):
                acc -= m[r, k] * out[k]
            out[r] = acc / m[r, r]
        return True

    @jit
    def skin_fit(  # pragma: no cover - compiled; covered through the wrapper
        image: np.ndarray,
        points: np.ndarray,
        weights: np.ndarray,
        frame: np.ndarray,
        limit: float,
        min_points: int,
        out: np.ndarray,
    ) -> bool:
        # ``frame``: centre x, y, right x, y, down x, y, width. ``weights``: the 2×2 pixels'
        # B, G, R weights in the mean luminance (12, float32).
        h = image.shape[0]
        w = image.shape[1]
        n = points.shape[0]
        values = np.empty(n, np.float64)
        design = np.empty((n, 3), np.float64)
        floor = np.float32(1.0 / 255.0)
        count = 0
        for i in range(n):
            x = points[i, 0]
            y = points[i, 1]
            if not (x >= 0 and x < w - 1 and y >= 0 and y < h - 1):
                continue
            xi = int(x)
            yi = int(y)
            luma = np.float32(0.0)
            for q in range(4):
                for c in range(3):
                    luma += np.float32(image[yi + q // 2, xi + q % 2, c]) * weights[3 * q + c]
            values[count] = np.float64(np.log(max(luma, floor)))
            rx = x - frame[0]
            ry = y - frame[1]
            u = (rx * frame[2] + ry * frame[3]) / frame[6]
            v = (rx * frame[4] + ry * frame[5]) / frame[6]
            design[count, 0] = 1.0
            design[count, 1] = min(max(u, -limit), limit)
            design[count, 2] = min(max(v, -limit), limit)
            count += 1
        if count < min_points:
            return False
        keep = np.ones(count, np.bool_)
        normal = np.zeros((3, 3), np.float64)
        rhs = np.zeros(3, np.float64)
        coef = np.zeros(3, np.float64)
        for rounds in range(2):
            normal[:] = 0.0
            rhs[:] = 0.0
            for i in range(count):
                if keep[i]:
                    for r in range(3):
                        rhs[r] += design[i, r] * values[i]
                        for k in range(3):
                            normal[r, k] += design[i, r] * design[i, k]
            solved = np.empty(3, np.float64)
            if solve3(normal, rhs, solved):
                coef[:] = solved
            elif rounds == 0:
                return False
            if rounds == 1:
                break
            # One robust round: points far off the plane (a highlight, a strand of hair)
            # are dropped.
            resid = np.empty(count, np.float64)
            for i in range(count):
                fit = coef[0] + coef[1] * design[i, 1] + coef[2] * design[i, 2]
                resid[i] = abs(values[i] - fit)
            spread = 2.5 * np.median(resid) + 1e-3
            good = 0
            for i in range(count):
                keep[i] = resid[i] <= spread
                good += keep[i]
            if good < min_points:
                break
        out[:] = coef
        return True

    @jit
    def half_median(hist: np.ndarray, n: int) -> int:  # pragma: no cover - compiled
        """Twice the median of the ``n`` values counted in ``hist`` (bin = value): the sum of
        the two middle values' bins, as np.median averages them for an even count."""
        lo_rank = (n - 1) // 2 + 1
        hi_rank = n // 2 + 1
        total = 0
        lo = -1
        for i in range(hist.shape[0]):
            total += hist[i]
            if lo < 0 and total >= lo_rank:
                lo = i
            if total >= hi_rank:
                return lo + i
        return 2 * (hist.shape[0] - 1)

    @nonrt
    def skin_stats(  # pragma: no cover - compiled; covered through the wrapper
        ycrcb: np.ndarray, sample: np.ndarray, hist: np.ndarray, spread: np.ndarray,
        out: np.ndarray,
    ) -> int:  # fmt: skip
        # The skin colour model's robust statistics (pipelines.beauty.masks.SkinColourModel):
        # per channel the histogram of the sampled pixels, twice its median, and twice the
        # median of |2·level − 2·median| (four times the MAD), into ``out``; returns the
        # sample's pixel count (``out`` is left alone below 16). Integers only: the same
        # values as the NumPy path.
        for c in range(3):
            for v in range(256):
                hist[c, v] = 0
        n = 0
        for y in range(sample.shape[0]):
            row = ycrcb[y]
            keep = sample[y]
            for x in range(sample.shape[1]):
                if keep[x] != 0:
                    n += 1
                    hist[0, row[3 * x]] += 1
                    hist[1, row[3 * x + 1]] += 1
                    hist[2, row[3 * x + 2]] += 1
        if n < 16:
            return n
        for c in range(3):
            twice = half_median(hist[c], n)
            for v in range(spread.shape[1]):
                spread[c, v] = 0
            for v in range(256):
                spread[c, abs(2 * v - twice)] += hist[c, v]
            out[c] = twice
            out[3 + c] = half_median(spread[c], n)
        return n

    @jit
    def skin_probability(  # pragma: no cover - compiled; covered through the wrapper
        ycrcb: np.ndarray, model: np.ndarray, out: np.ndarray
    ) -> None:
        # SkinColourModel.probability in one pass: the same float32 operations in the same
        # order as its NumPy expressions (the same values). ``model``: float32 (y, cr, cb,
        # sy, scr, scb, and each smoothstep's start and width: chroma's, darkness's).
        zero = np.float32(0.0)
        one = np.float32(1.0)
        two = np.float32(2.0)
        three = np.float32(3.0)
        keep_c = model[6]
        span_c = model[7]
        keep_d = model[8]
        span_d = model[9]
        for y in range(out.shape[0]):
            row = ycrcb[y]
            o = out[y]
            for x in range(out.shape[1]):
                dcr = (np.float32(row[3 * x + 1]) - model[1]) / model[4]
                dcb = (np.float32(row[3 * x + 2]) - model[2]) / model[5]
                chroma = np.sqrt(dcr * dcr + dcb * dcb)
                dark = (model[0] - np.float32(row[3 * x])) / model[3]
                t = min(max((chroma - keep_c) / span_c, zero), one)
                p_chroma = one - t * t * (three - two * t)
                t = min(max((dark - keep_d) / span_d, zero), one)
                p_dark = one - t * t * (three - two * t)
                o[x] = p_chroma * p_dark

    return _Kernels(
        composite_rows,
        composite_lut_rows,
        composite_points,
        detail_rows,
        guided_fit,
        tile_classes,
        fill_level,
        replace_rows,
        lut_bgr,
        light_weighted_luma,
        grey_world,
        light_curves,
        smooth_rows,
        gain_rows,
        skin_fit,
        skin_stats,
        skin_probability,
    )


@dataclasses.dataclass(frozen=True)
class _Kernels:
    composite_rows: Any
    composite_lut_rows: Any
    composite_points: Any
    detail_rows: Any
    guided_fit: Any
    tile_classes: Any
    fill_level: Any
    replace_rows: Any
    lut_bgr: Any
    light_weighted_luma: Any
    grey_world: Any
    light_curves: Any
    smooth_rows: Any
    gain_rows: Any
    skin_fit: Any
    skin_stats: Any
    skin_probability: Any


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
            except _Cancelled:
                pass  # the process is exiting: nothing to report, nothing to remember
            except Exception as exc:  # ImportError, or a compiler failure on an odd platform
                _unavailable = f"{type(exc).__name__}: {exc}"
                # Numba is an optional extra (`camfx[jit]`, 208 MB): not having it is a choice,
                # said once at info level; a compiler failure is a warning.
                (log.info if isinstance(exc, ImportError) else log.warning)(
                    "the compiled kernels (background composite, skin smoothing, key "
                    "light, colour lookup) are unavailable (%s); using the slower OpenCV "
                    "paths. %s to get them back.",
                    _unavailable,
                    INSTALL_HINT,
                )
    return _kernel is not None


def _disabled() -> bool:
    return env_flag(DISABLE_ENV)


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
    with _prepare_lock:  # not _lock: available() holds that for the whole compile
        if _preparing is None:
            # A daemon, so that a quit does not wait for the whole compile (13 s of CPU on a
            # cold cache, 40-150 s under load), but never left inside LLVM when Python
            # finalises (std::terminate, exit 134): at exit it is told to stop after the
            # kernel it is compiling and joined (_stop_compile_at_exit).
            _preparing = threading.Thread(target=available, name="camfx-jit", daemon=True)
            _preparing.start()


def wait_ready(timeout: float) -> bool:
    """Wait up to ``timeout`` s for the compile (or cache load) that :func:`prepare` started;
    whether the kernels are there. Never compiles on the calling thread."""
    thread = _preparing
    if thread is not None and _kernel is None:
        thread.join(timeout)
    return ready()


def stop_compile() -> None:
    """Tell a compile in progress to stop after the kernel it is on, for good: for a process
    about to exit (the window calls it once its event loop has ended, as a thread that waits in
    :func:`available`, the device probe's, is joined before ``atexit`` runs and would hold the
    exit for the whole compile). Later calls of :func:`available` then say False."""
    _cancel.set()


@atexit.register
def _stop_compile_at_exit(timeout: float = 60.0) -> None:
    """Stop a background compile at its next kernel and wait for it (atexit handlers run
    before the interpreter finalises, while daemon threads still run)."""
    stop_compile()
    thread = _preparing
    if thread is not None and thread.is_alive():
        thread.join(timeout)
        if thread.is_alive():
            log.warning("the kernels' compile did not stop within %.0f s of exit", timeout)


def unavailable_reason() -> str | None:
    """Why :func:`available` is False (None when it is True or was not asked yet)."""
    if _disabled():
        return f"disabled by {DISABLE_ENV}"
    return _unavailable


def _warm_up(kernels: _Kernels) -> None:
    """Compile for the argument types of real calls, on a tiny frame (each call compiles one
    kernel; between them a compile stops when the process exits)."""

    def stop_if_exiting() -> None:
        if _cancel.is_set():
            raise _Cancelled

    fg = np.zeros((4, 8, 3), np.uint8)
    mask = np.zeros((2, 4), np.float32)
    bg = np.zeros((1, 8, 3), np.uint8)
    tiles = TileMap(np.array([[EMPTY, FULL, MIXED, MIXED]], np.uint8), (4, 2), (8, 4))
    stop_if_exiting()
    _run(kernels, fg, mask, bg, tiles)
    stop_if_exiting()
    fused_light = SmallComposite(fg, mask, bg, tiles, kernels)
    fused_light.thumbnail(2)
    fused_light.render(np.zeros((1, 256, 3), np.uint8))
    stop_if_exiting()
    _detail(kernels, mask, mask, np.zeros((4, 8), np.uint8))
    stop_if_exiting()
    _guided_fit(kernels, np.zeros((4, 8), np.uint8), np.zeros((4, 8), np.float32),
                np.zeros((4, 8), np.float32), 1, 1e-3, (0.25, 4.0), 1.0, 0.0)  # fmt: skip
    stop_if_exiting()
    _classify(kernels, mask, (8, 4), (2, 2))
    stop_if_exiting()
    _fill(kernels, np.ones((2, 4, 4), np.float32), np.zeros((2, 4, 3), np.float32), 0.05)
    small = np.zeros((1, 2, 3), np.float32)
    stop_if_exiting()
    _replace(kernels, fg, mask, fg, tiles, mask, small, small, 4.0)
    stop_if_exiting()
    _lut(kernels, fg, np.zeros((1, 256, 3), np.uint8))
    stop_if_exiting()
    _light_stats(kernels, np.zeros((2, 4, 3), np.uint8), np.ones((2, 4), np.float32), (0, 0, 1, 1))
    kernels.light_curves(np.ones(3), 0.8, 0.02, 0.5, np.empty((256, 3), np.uint8))
    stop_if_exiting()
    _smooth(kernels, fg, fg, (0, 0), fg[..., 0].copy(), (small, small), mask[:1, :2], (8, 4),
            (0, 0), 0.5, 0.5, np.empty_like(fg))  # fmt: skip
    gain = np.full((1, 2, 3), 128, np.uint8)
    stop_if_exiting()
    _gain(kernels, fg, np.zeros((4, 8), np.float32), gain, 128, (0, 0, 2, 2), tiles, 1.0)
    stop_if_exiting()
    _gain(kernels, fg, None, gain, 128, (0, 0, 2, 2), None, 0.5)
    stop_if_exiting()
    _skin_fit(kernels, fg, np.zeros((2, 2)), np.zeros(12, np.float32), np.ones(7), 1.0, 1)
    stop_if_exiting()
    _skin_stats(kernels, fg, np.ones((4, 8), np.uint8))
    stop_if_exiting()
    _skin_probability(kernels, fg, (1.0,) * 10)


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
    # Kept with the map: the background's composite and the key light read the same map in
    # a frame, and this took 0.03-0.15 ms (load 6-9).
    found: tuple[int, np.ndarray, np.ndarray] | None = tiles.memo.get("row_runs")
    if found is None:
        found = tiles.memo["row_runs"] = _row_runs(tiles)
    return found


def _row_runs(tiles: TileMap) -> tuple[int, np.ndarray, np.ndarray]:
    w = tiles.size[0]
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
    kernels: _Kernels,
    foreground: np.ndarray,
    mask: np.ndarray,
    background_small: np.ndarray,
    tiles: TileMap | None,
) -> np.ndarray:
    return SmallComposite(foreground, mask, background_small, tiles, kernels).render()


class SmallComposite:
    """:func:`composite_over_small`'s inputs made ready once (the room upsampled along x, the
    tile map's runs, the sampling tables), for a :meth:`thumbnail` of the composite before the
    composite itself is :meth:`render`-ed, through a colour table the thumbnail decided.
    Requires :func:`ready`."""

    def __init__(
        self,
        foreground: np.ndarray,
        mask: np.ndarray,
        background_small: np.ndarray,
        tiles: TileMap | None = None,
        kernels: _Kernels | None = None,
    ) -> None:
        import cv2

        _check_frame_and_mask(foreground, mask)
        self.kernels = kernels if kernels is not None else _kernels()
        h, w = foreground.shape[:2]
        self.size = (w, h)
        self.fg = np.ascontiguousarray(foreground).reshape(h, w * 3)
        self.mask = np.ascontiguousarray(mask, dtype=np.float32)
        mh, mw = self.mask.shape
        # The background upsampled along x only (a few hundred kB); the kernel does y.
        self.small = background_small
        bh = background_small.shape[0]
        bg_rows = cv2.resize(background_small, (w, bh), interpolation=cv2.INTER_LINEAR)
        self.bg_rows = np.ascontiguousarray(bg_rows).reshape(bh, w * 3)
        self.tables = (
            *row_runs(tiles, (w, h)),
            *axis_table(h, mh),
            *axis_table(w, mw),
            *axis_table(h, bh),
        )
        self.same_width = mw == w

    def thumbnail(self, step: int) -> np.ndarray:
        """The composite's every ``step``-th pixel of every ``step``-th row (as
        ``render()[::step, ::step]``, the same bytes), worked out at those pixels only."""
        w, h = self.size
        thumb = np.empty((-(-h // step), -(-w // step), 3), np.uint8)
        self.kernels.composite_points(
            self.fg, self.mask, self.bg_rows, thumb.reshape(thumb.shape[0], -1), step,
            *self.tables, self.same_width,
        )  # fmt: skip
        return thumb

    def render(self, table: np.ndarray | None = None) -> np.ndarray:
        """The composite, or ``cv2.LUT(composite, table)`` for a 1×256×3 uint8 ``table`` (one
        curve per channel) in the same pass: exact on the person and the outline; the room's
        rows (upsampled along x) go through the table before they are upsampled along y
        (:data:`ROOM_LIT`)."""
        w, h = self.size
        out = np.empty((h, w, 3), np.uint8)
        flat = out.reshape(h, w * 3)
        if table is None:
            self.kernels.composite_rows(
                self.fg, self.mask, self.bg_rows, flat, *self.tables, self.same_width,
                *self._scratch_rows(),
            )  # fmt: skip
            return out
        if table.dtype != np.uint8 or table.shape != (1, 256, 3):
            raise ValueError(f"table must be uint8 1×256×3, not {table.dtype} {table.shape}")
        tables = channel_tables(table)
        room = self.bg_rows
        if ROOM_LIT:
            room = np.empty_like(self.bg_rows)
            self.kernels.lut_bgr(self.bg_rows.reshape(-1), tables, room.reshape(-1))
        self.kernels.composite_lut_rows(
            self.fg, self.mask, self.bg_rows, flat, *self.tables, self.same_width,
            room, ROOM_LIT, tables, *self._scratch_rows(),
        )  # fmt: skip
        return out

    def _scratch_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The row kernels' scratch: one mask row, one frame row (w·3) of float32."""
        return np.empty(self.mask.shape[1], np.float32), np.empty(self.fg.shape[1], np.float32)


def _detail(kernels: _Kernels, a: np.ndarray, b: np.ndarray, gray: np.ndarray) -> np.ndarray:
    import cv2

    gh = a.shape[0]
    dh, dw = gray.shape
    # Along x with OpenCV (as cv2.resize does it first too), along y here with the rest.
    a_rows = cv2.resize(a, (dw, gh), interpolation=cv2.INTER_LINEAR)
    b_rows = cv2.resize(b, (dw, gh), interpolation=cv2.INTER_LINEAR)
    out = np.empty((dh, dw), np.float32)
    gy0, gy1, gwy = axis_table(dh, gh)
    kernels.detail_rows(a_rows, b_rows, np.ascontiguousarray(gray), out, gy0, gy1, gwy)
    return out


def _lut(
    kernels: _Kernels, image: np.ndarray, table: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    src = np.ascontiguousarray(image)
    if out is None or out.shape != src.shape or not out.flags.c_contiguous:
        out = np.empty_like(src)
    kernels.lut_bgr(src.reshape(-1), channel_tables(table), out.reshape(-1))
    return out


def channel_tables(table: np.ndarray) -> np.ndarray:
    """A 1×256×3 uint8 table (``cv2.LUT``'s, one curve per channel) as the kernels take it:
    blue's 256 entries, then green's, then red's."""
    return np.ascontiguousarray(table[0].T).reshape(-1)


def lut_bgr(image: np.ndarray, table: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``cv2.LUT(image, table)`` for a BGR uint8 image and a 1×256×3 uint8 table (one curve
    per channel), the same bytes in about half the CPU time: OpenCV's per-channel lookup cost
    1.7-1.9 ms at 1280×720 against 0.9 ms here and 0.8-1.2 ms for its one-curve lookup
    (process CPU time, medians of 40, load 6). ``out``: where to write (``image`` itself is
    fine: each byte is read before it is written), if it is a C-contiguous array of the
    image's shape. Requires :func:`ready`."""
    return _lut(_kernels(), image, table, out)


LIGHT_LUMA = np.array([0.114, 0.587, 0.299])  # B, G, R: pipelines.beauty.light.LUMA
_LUMA32 = LIGHT_LUMA.astype(np.float32)


def _light_stats(
    kernels: _Kernels, thumb: np.ndarray, weight: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[float, float]:
    luma_w = (LIGHT_LUMA / 255.0).astype(np.float32)
    boxes = np.array(box, np.int64)
    total, face = kernels.light_weighted_luma(np.ascontiguousarray(thumb), weight, luma_w, boxes)
    return float(total), float(face)


def light_stats(
    thumb: np.ndarray, weight: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[float, float]:
    """light_color's metering sums on its thumbnail (H×W×3 uint8) in one compiled pass: the
    luma (0..1) weighted by ``weight`` (H×W float32) summed, and the luma summed over ``box``
    (x0, y0, x1, y1). In float64, where NumPy summed float32 (within 1e-6 of it). Requires
    :func:`ready`."""
    return _light_stats(_kernels(), thumb, weight, box)


def light_curves(
    gains: tuple[float, float, float], gamma: float, toe: float, end_slope: float
) -> np.ndarray:
    """:func:`pipelines.beauty.light.build_lut` (1×256×3 uint8) compiled: the same float64
    operations per level. Requires :func:`ready`."""
    lut = np.empty((1, 256, 3), np.uint8)
    _kernels().light_curves(
        np.array(gains, np.float64), float(gamma), float(toe), float(end_slope), lut[0]
    )
    return lut


def grey_world_gains(
    px: np.ndarray,
    luma: tuple[float, float],
    saturation: float,
    rounds: int,
    min_pixels: int,
    limit: float,
) -> np.ndarray:
    """The grey-world gains (B, G, R, float64) of
    :func:`pipelines.beauty.light.grey_world_gains` before their luma normalisation, for
    ``px`` (N×3 uint8), in one compiled pass a round where NumPy made about fifteen: 0.33 ms
    of CPU a 720p Studio frame at a camera's pace. Sums in float64 (NumPy's were float32):
    within 1e-6 of it. Requires :func:`ready`."""
    gains = np.ones(3)
    _kernels().grey_world(
        np.ascontiguousarray(px).reshape(-1, 3), _LUMA32, float(luma[0]), float(luma[1]),
        float(saturation), int(rounds), int(min_pixels), float(limit), gains,
    )  # fmt: skip
    return gains


def _gain(
    kernels: _Kernels,
    image: np.ndarray,
    mask: np.ndarray | None,
    gain_rows: np.ndarray,
    unit: int,
    box: tuple[int, int, int, int],
    tiles: TileMap | None,
    weight_scale: float,
) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    gh = gain_rows.shape[0]
    if mask is None:
        # No outline to blend: the box is one run, plainly lit unless faded.
        cls = FULL if weight_scale >= 1.0 else MIXED
        tile_h, run_start, runs = h, np.array([0, 1], np.int64), np.array([[0, w, cls]], np.int64)
        mask_rows = np.ones((1, 1), np.float32)
    else:
        tile_h, run_start, runs = row_runs(tiles, (w, h))
        mask_rows = np.ascontiguousarray(mask, dtype=np.float32)
    mh, mw = mask_rows.shape
    out = np.empty_like(image)
    kernels.gain_rows(
        np.ascontiguousarray(image).reshape(h, 3 * w),
        mask_rows,
        mask is not None,
        np.float32(weight_scale),
        np.ascontiguousarray(gain_rows).reshape(gh, 3 * (x1 - x0)),
        np.float32(unit),
        *axis_table(y1 - y0, gh),
        np.array(box, np.int64),
        out.reshape(h, 3 * w),
        tile_h,
        run_start,
        runs,
        *axis_table(h, mh),
        *axis_table(w, mw),
        (mw, mh) == (w, h),
    )
    return out


def apply_gain(
    image: np.ndarray,
    mask: np.ndarray | None,
    gain_rows: np.ndarray,
    unit: int,
    box: tuple[int, int, int, int],
    tiles: TileMap | None = None,
    weight_scale: float = 1.0,
) -> np.ndarray:
    """A copy of ``image`` (BGR uint8) lit by a smooth gain over ``box`` = (x0, y0, x1, y1):
    ``gain_rows`` (uint8 gh×(x1 − x0)×3, ``unit`` is a gain of 1) is a coarse grid's gain
    already upsampled along x to the box's width (``cv2.resize``); here it is upsampled along
    y as ``cv2.resize(INTER_LINEAR)`` would, multiplies the pixels, and is blended in by
    ``mask``² · ``weight_scale`` (``mask``: float32 at the frame's size, or at a whole
    fraction of it such as the refined mask's detail level, then sampled as
    ``cv2.resize(INTER_LINEAR)`` would make it the frame's size; None: 1 everywhere).
    ``tiles``: the full-size mask's tile map, if known (its room tiles are copied, its person
    tiles lit without a blend while ``weight_scale`` is 1: the same picture). One pass over
    the frame where the key light's OpenCV path took a copy, an upsampling, a multiply and
    about forty small blends. Requires :func:`ready`."""
    x0, y0, x1, y1 = box
    h, w = image.shape[:2]
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"box {box} is not inside the {w}×{h} frame")
    if gain_rows.dtype != np.uint8 or gain_rows.shape[1:] != (x1 - x0, 3):
        raise ValueError(f"gain_rows must be uint8 h×{x1 - x0}×3, not {gain_rows.shape}")
    if mask is not None:
        factor = w // max(1, mask.shape[1]) if mask.ndim == 2 else 0
        if factor < 1 or mask.shape != (h // factor, w // factor):
            raise ValueError(
                f"mask must be the frame's size {image.shape[:2]} or a whole fraction of it "
                f"(floored), not {mask.shape}"
            )
    return _gain(_kernels(), image, mask, gain_rows, unit, box, tiles, weight_scale)


def _skin_fit(
    kernels: _Kernels,
    image: np.ndarray,
    points: np.ndarray,
    weights: np.ndarray,
    frame: np.ndarray,
    limit: float,
    min_points: int,
) -> np.ndarray | None:
    out = np.zeros(3, np.float64)
    found = kernels.skin_fit(
        image,
        np.ascontiguousarray(points, np.float64),
        np.ascontiguousarray(weights, np.float32),
        np.ascontiguousarray(frame, np.float64),
        float(limit),
        int(min_points),
        out,
    )
    return out if found else None


def skin_fit(
    image: np.ndarray,
    points: np.ndarray,
    weights: np.ndarray,
    frame: np.ndarray,
    limit: float,
    min_points: int,
) -> np.ndarray | None:
    """The key light's side-light fit in one call (see
    :func:`pipelines.effects.key_light.fit_side_light`): ``log Y = a + gu·u + gv·v`` by least
    squares over the ``points`` (N×2 pixels) inside ``image`` (BGR uint8), Y the mean of the
    2×2 pixels at each point weighed by ``weights`` (their 12 B, G, R values), (u, v) the
    point's face coordinates from ``frame`` (centre x, y, unit right x, y, unit down x, y,
    width), held at ±``limit``; then once more without the points more than 2.5 median
    residuals off. (a, gu, gv), or None with fewer than ``min_points`` inside or a singular
    fit. About twenty NumPy calls were 0.5 ms of a frame at a camera's pace (caches cold).
    Requires :func:`ready`."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be BGR uint8, not {image.dtype} {image.shape}")
    return _skin_fit(_kernels(), image, points, weights, frame, limit, min_points)


_scratch = threading.local()


def _work_array(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 work array of this thread's, reused from call to call (the fit's rows and
    its first coefficients: no page faults for a new 0.5 MB a frame)."""
    arrays: dict[str, np.ndarray] | None = getattr(_scratch, "arrays", None)
    if arrays is None:
        arrays = _scratch.arrays = {}
    arr = arrays.get(name)
    if arr is None or arr.shape != shape:
        arr = arrays[name] = np.empty(shape, np.float32)
    return arr


def _guided_fit(
    kernels: _Kernels,
    gray: np.ndarray,
    mask: np.ndarray,
    swing: np.ndarray,
    radius: int,
    eps: float,
    confidence: tuple[float, float],
    stretch: float,
    snap: float,
) -> tuple[np.ndarray, np.ndarray]:
    h, w = gray.shape
    a = np.empty((h, w), np.float32)
    b = np.empty((h, w), np.float32)
    v = _work_array("fit_rows", (4, w + 2 * radius))
    sums = _work_array("fit_sums", (4, w))
    coef = _work_array("fit_coef", (2, h, w))
    f32 = np.float32
    kernels.guided_fit(
        np.ascontiguousarray(gray), np.ascontiguousarray(mask, np.float32),
        np.ascontiguousarray(swing, np.float32), radius, f32(eps * 255.0 * 255.0),
        f32(confidence[0]), f32(confidence[1]), f32(stretch), f32(snap), a, b, v, sums, coef,
    )  # fmt: skip
    return a, b


def guided_fit(
    gray: np.ndarray,
    mask: np.ndarray,
    swing: np.ndarray,
    radius: int,
    eps: float,
    confidence: tuple[float, float],
    stretch: float,
    snap: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter's coefficients (a, b), new arrays, as
    :meth:`pipelines.segmentation.refine.GuidedUpsampler.coefficients` makes them with OpenCV
    (its window statistics, the fit, the fit's window means, the confidence fade and the snap
    stretch) in two passes over the guide instead of about twenty calls: 0.37 against 0.48 ms
    at 320×180 (thread CPU, the demo's frames). ``gray``: the guide (uint8, in 0..255; ``eps``
    on the [0, 1] scale); ``mask``: float32 at its size; ``swing``: the mask's max − min over
    the confidence window; ``confidence``: (swing at no confidence, gain); the window
    (2·``radius`` + 1) must fit in the guide. Equal to the OpenCV path's within float
    rounding. Requires :func:`ready`."""
    h, w = gray.shape
    if gray.dtype != np.uint8 or mask.shape != (h, w) or swing.shape != (h, w):
        raise ValueError(f"guide {gray.dtype} {gray.shape}, mask {mask.shape}, swing {swing.shape}")
    if not 0 <= radius < min(h, w):
        raise ValueError(f"radius {radius} does not fit a {w}×{h} guide")
    return _guided_fit(_kernels(), gray, mask, swing, radius, eps, confidence, stretch, snap)


def refined_detail(a: np.ndarray, b: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """``clip(a↑·gray + b↑, 0, 1)``: the guided filter's output at the size of ``gray``
    (uint8), with its coefficients ``a`` and ``b`` (float32, smaller) resized bilinearly as
    ``cv2.resize`` would; one pass instead of five. Requires :func:`ready`."""
    return _detail(_kernels(), a, b, gray)


def classify(mask: np.ndarray, size: tuple[int, int], tile: tuple[int, int]) -> TileMap:
    """:func:`pipelines.segmentation.tiles.classify` (the same map) in one pass over ``mask``
    where NumPy and OpenCV made two uint8 copies of it and four max filters. Requires
    :func:`ready`."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, not {mask.shape}")
    return _classify(_kernels(), mask, size, tile)


def _classify(
    kernels: _Kernels, mask: np.ndarray, size: tuple[int, int], tile: tuple[int, int]
) -> TileMap:
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    y_first, y_last, x_first, x_last = tile_windows(size, mask.shape, tile)
    classes = np.empty((len(y_first), len(x_first)), np.uint8)
    kernels.tile_classes(mask, y_first, y_last, x_first, x_last, classes)
    return TileMap(classes, tile, size)


def _fill(kernels: _Kernels, weighted: np.ndarray, coarse: np.ndarray, trusted: float) -> None:
    kernels.fill_level(weighted, coarse, np.float32(trusted))


def fill_level(weighted: np.ndarray, coarse: np.ndarray, trusted: float) -> None:
    """One level of the room's hole filling, in place in ``coarse`` (see
    :func:`pipelines.segmentation.composite._fill_from_coarser`): with w the weight in
    ``weighted``'s 4th channel and f = max(trusted − w, 0),
    ``coarse ← (coarse·f + weighted[..., :3]) / (w + f)``. Requires :func:`ready`."""
    _fill(_kernels(), np.ascontiguousarray(weighted), coarse, trusted)


def _x_rows(small: np.ndarray | None, width: int, channels: int) -> np.ndarray:
    """A small map (h×w float32, or h×w×3 BGR) upsampled along x to ``width`` pixels, as rows:
    (h, width) float32 for one channel, (h, 3·width) uint8 for three. A placeholder row for
    None."""
    import cv2

    if small is None:
        shape = (1, width) if channels == 1 else (1, 3 * width)
        return np.zeros(shape, np.float32 if channels == 1 else np.uint8)
    if channels == 1:
        small = np.asarray(small, np.float32)
    else:
        # Colours of blurred pictures: to the nearest level, as the OpenCV path keeps them.
        small = np.asarray(small) if small.dtype == np.uint8 else cv2.convertScaleAbs(small)
    rows = cv2.resize(small, (width, small.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(rows).reshape(small.shape[0], -1)


def composite_replacement(
    foreground: np.ndarray,
    mask: np.ndarray,
    background: np.ndarray,
    tiles: TileMap | None = None,
    *,
    keep: np.ndarray | None = None,
    room: np.ndarray | None = None,
    soft: np.ndarray | None = None,
    edge_ramp: float = 4.0,
) -> np.ndarray:
    """The person over a new full-size ``background`` N (uint8, the frame's size) in one pass,
    with the replacement's outline corrections (see
    :func:`pipelines.segmentation.composite.replacement_correction`) at full resolution:

    ``N + (F − N)·m·K + (F − B)·K·(1 − m)·min(1, edge_ramp·m) + (S − N)·m·(1 − K)``

    with F the frame, m the mask (``mask``: float32 at any size, sampled bilinearly as
    ``cv2.resize`` would), K light wrap's keep factor (``keep``, small; 1 without it), B the
    old room's colour (``room``, small float BGR; no halo removal without it) and S the new
    background's blurred light (``soft``, small BGR; no wrap spill without it). The halo term
    is at most ``m·K·(255 − F)``: the person's colour it implies,
    ``F + (F − B)·(1 − m)·min(1, edge_ramp·m)/m``, stays at most 255. Unbounded, white hair
    before a yellow curtain at m = 0.5 came out as (430, 300, 250) BGR, its blue clipped only
    after the blend with N: a sky-blue fringe (biden.jpg). Below 0 it is left alone: it then
    darkens towards black, which at a dark object's edge (a navy cap before a blue sky,
    hopper_glasses.jpg) is that object's own edge; bounded there, the cap's outline faded
    into the new colour. ``tiles``: the full-size mask's tile map, if known. Compiled when
    :func:`ready`, else the same with OpenCV on the outline's tiles
    (:mod:`pipelines.segmentation.tiled`)."""
    _check_frame_and_mask(foreground, mask)
    if background.shape != foreground.shape or background.dtype != np.uint8:
        raise ValueError(
            f"background must be uint8 {foreground.shape}, not {background.dtype} "
            f"{background.shape}"
        )
    if not ready():
        from pipelines.segmentation import tiled

        return tiled.composite_replacement(
            foreground, mask, background, tiles, keep, room, soft, edge_ramp
        )
    return _replace(_kernels(), foreground, mask, background, tiles, keep, room, soft, edge_ramp)


def _replace(
    kernels: _Kernels,
    foreground: np.ndarray,
    mask: np.ndarray,
    background: np.ndarray,
    tiles: TileMap | None,
    keep: np.ndarray | None,
    room: np.ndarray | None,
    soft: np.ndarray | None,
    edge_ramp: float,
) -> np.ndarray:
    h, w = foreground.shape[:2]
    tile_h, run_start, runs = row_runs(tiles, (w, h))
    my0, my1, mwy = axis_table(h, mask.shape[0])
    mx0, mx1, mwx = axis_table(w, mask.shape[1])
    keep_rows = _x_rows(keep, w, 1)
    room_rows = _x_rows(room, w, 3)
    soft_rows = _x_rows(soft, w, 3)
    out = np.empty_like(foreground)
    kernels.replace_rows(
        np.ascontiguousarray(foreground).reshape(h, 3 * w),
        np.ascontiguousarray(mask, dtype=np.float32),
        np.ascontiguousarray(background).reshape(h, 3 * w),
        keep_rows,
        room_rows,
        soft_rows,
        out.reshape(h, 3 * w),
        tile_h,
        run_start,
        runs,
        my0,
        my1,
        mwy,
        mx0,
        mx1,
        mwx,
        *axis_table(h, keep_rows.shape[0]),
        *axis_table(h, room_rows.shape[0]),
        *axis_table(h, soft_rows.shape[0]),
        keep is not None,
        room is not None,
        soft is not None,
        np.float32(edge_ramp),
    )
    return out


def composite_over_small(
    foreground: np.ndarray,
    mask: np.ndarray,
    background_small: np.ndarray,
    tiles: TileMap | None = None,
) -> np.ndarray:
    """``foreground·m + background·(1 − m)`` at the foreground's size in one pass, where ``m``
    is ``mask`` (float32 at any size, values in [0, 1]) and the background is
    ``background_small`` (uint8 BGR at any size), both resized bilinearly as
    ``cv2.resize`` would. ``tiles``: the full-size mask's tile map, if known (its person and
    room tiles skip the blend; the result is the same). Compiled when :func:`ready`, else the
    same with OpenCV on the outline's tiles (:mod:`pipelines.segmentation.tiled`)."""
    _check_frame_and_mask(foreground, mask)
    if background_small.dtype != np.uint8 or background_small.shape[2:] != (3,):
        raise ValueError("background_small must be uint8 h×w×3")
    if not ready():
        from pipelines.segmentation import tiled

        return tiled.composite_over_small(foreground, mask, background_small, tiles)
    return _run(_kernels(), foreground, mask, background_small, tiles)


def smooth_skin_box(
    src: np.ndarray,
    low: np.ndarray,
    low_at: tuple[int, int],
    grey: np.ndarray,
    coefficients: tuple[np.ndarray, np.ndarray],
    weight: np.ndarray,
    full: tuple[int, int],
    origin: tuple[int, int],
    keep: float,
    strength: float,
    out: np.ndarray,
) -> np.ndarray:
    """Skin smoothing's full-resolution pass (see
    :func:`pipelines.beauty.retouch.smooth_skin`) in one pass over a box of the face's ROI:

    ``out = src + w·strength·(a·grey + b + (keep − 1)·src − keep·low)``, rounded and clipped

    with ``src`` the box's pixels (uint8 bh×bw×3), ``low`` their pore blur (uint8, a larger
    array holding the box at ``low_at`` (y, x)), ``grey`` its grey (uint8 bh×bw), and the
    guided filter's coefficients (``a``, ``b``: float32 h×w×3) and the skin ``weight`` (float32
    h×w) upsampled bilinearly to ``full`` (w, h) as ``cv2.resize`` would, on the fly, at the
    box's ``origin`` (x, y) in that size. The OpenCV version makes three ROI-size float
    images and ten passes over the box. Writes ``out`` (uint8 bh×bw×3) and returns it.
    Requires :func:`ready`."""
    return _smooth(
        _kernels(), src, low, low_at, grey, coefficients, weight, full, origin, keep, strength, out
    )


def _smooth(
    kernels: _Kernels,
    src: np.ndarray,
    low: np.ndarray,
    low_at: tuple[int, int],
    grey: np.ndarray,
    coefficients: tuple[np.ndarray, np.ndarray],
    weight: np.ndarray,
    full: tuple[int, int],
    origin: tuple[int, int],
    keep: float,
    strength: float,
    out: np.ndarray,
) -> np.ndarray:
    import cv2

    a, b = coefficients
    w, h = full
    sh = weight.shape[0]
    bh, bw = grey.shape
    x0, y0 = origin
    # Along x with OpenCV (as cv2.resize does first), only the box's rows along y, inline.
    a_rows = cv2.resize(a, (w, sh), interpolation=cv2.INTER_LINEAR).reshape(sh, 3 * w)
    b_rows = cv2.resize(b, (w, sh), interpolation=cv2.INTER_LINEAR).reshape(sh, 3 * w)
    w_rows = cv2.resize(weight, (w, sh), interpolation=cv2.INTER_LINEAR)
    y0s, y1s, wys = (t[y0 : y0 + bh] for t in axis_table(h, sh))
    kernels.smooth_rows(
        np.ascontiguousarray(src).reshape(bh, 3 * bw),
        np.ascontiguousarray(low).reshape(low.shape[0], -1),
        np.ascontiguousarray(grey),
        a_rows,
        b_rows,
        w_rows,
        y0s,
        y1s,
        wys,
        low_at[0],
        low_at[1],
        x0,
        np.float32(keep),
        np.float32(strength),
        out.reshape(bh, 3 * bw),
        np.empty(3 * bw, np.float32),
        np.empty(3 * bw, np.float32),
    )
    return out


def skin_statistics(ycrcb: np.ndarray, sample: np.ndarray) -> tuple[int, np.ndarray]:
    """The skin colour model's statistics (see
    :meth:`pipelines.beauty.masks.SkinColourModel.fit`) of the pixels of ``ycrcb`` (uint8
    h×w×3) where ``sample`` (uint8 h×w) is non-zero, in one pass: their count, and int64
    (twice the median of Y, Cr, Cb; twice the median of each channel's |2·level − 2·median|),
    undefined below 16 pixels. Requires :func:`ready`."""
    return _skin_stats(_kernels(), ycrcb, sample)


def _skin_stats(kernels: _Kernels, ycrcb: np.ndarray, sample: np.ndarray) -> tuple[int, np.ndarray]:
    h, w = sample.shape
    out = np.zeros(6, np.int64)
    n = kernels.skin_stats(
        np.ascontiguousarray(ycrcb).reshape(h, 3 * w), np.ascontiguousarray(sample),
        np.empty((3, 256), np.int64), np.empty((3, 512), np.int64), out,
    )  # fmt: skip
    return int(n), out


def skin_probability(ycrcb: np.ndarray, model: tuple[float, ...]) -> np.ndarray:
    """:meth:`pipelines.beauty.masks.SkinColourModel.probability` in one pass, for ``model`` =
    (y, cr, cb, sy, scr, scb, chroma_keep, chroma_drop − chroma_keep, dark_keep, dark_drop −
    dark_keep): float32 h×w, the same values. Requires :func:`ready`."""
    return _skin_probability(_kernels(), ycrcb, model)


def _skin_probability(kernels: _Kernels, ycrcb: np.ndarray, model: tuple[float, ...]) -> np.ndarray:
    h, w = ycrcb.shape[:2]
    out = np.empty((h, w), np.float32)
    kernels.skin_probability(
        np.ascontiguousarray(ycrcb).reshape(h, 3 * w), np.array(model, np.float32), out
    )
    return out


def _kernels() -> _Kernels:
    """The compiled kernels (compiled now if need be), or RuntimeError saying why not.

    Once compiled they are returned without asking :func:`available` again: the wrappers'
    callers chose the compiled path with :func:`ready` or :func:`available`, which read
    :data:`DISABLE_ENV`; that read (``os.environ.get``) came 13.5 times a Studio frame more
    from here (720p demo): 1.23 µs a call, 0.05 µs without it (load 2.8, 2026-12-05)."""
    if _kernel is None and not available():
        raise RuntimeError(
            f"the compiled kernels are unavailable ({unavailable_reason()}); "
            "use the OpenCV path (pipelines.segmentation.composite)"
        )
    assert _kernel is not None
    kernels: _Kernels = _kernel
    return kernels


def _check_frame_and_mask(foreground: np.ndarray, mask: np.ndarray) -> None:
    if foreground.dtype != np.uint8 or foreground.ndim != 3 or foreground.shape[2] != 3:
        raise ValueError(
            f"foreground must be uint8 H×W×3, not {foreground.dtype} {foreground.shape}"
        )
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, not {mask.shape}")


__all__ = [
    "TABLE_FOLDED",
    "SmallComposite",
    "TableStage",
    "apply_gain",
    "available",
    "axis_table",
    "classify",
    "composite_over_small",
    "composite_replacement",
    "fill_level",
    "grey_world_gains",
    "guided_fit",
    "light_curves",
    "light_stats",
    "prepare",
    "ready",
    "refined_detail",
    "row_runs",
    "skin_fit",
    "skin_probability",
    "skin_statistics",
    "smooth_skin_box",
    "unavailable_reason",
]
