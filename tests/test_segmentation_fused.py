"""The compiled one-pass composite and the lazily made full-size mask.

Parity: the compiled composite against the OpenCV path it replaces (same sampling positions as
``cv2.resize``, so only rounding differs); exactness where the mask is 0 or 1; the full-size
mask is never made when only the blur reads the mask; without Numba the OpenCV path runs.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from segmentation_support import composite_scene, context_like, demo_frame_720p, segmented_once

from pipelines.frame import FrameContext
from pipelines.segmentation import composite as C
from pipelines.segmentation import fused
from pipelines.segmentation.background import BackgroundBlur, BackgroundBlurSettings
from pipelines.segmentation.refine import RefinedMask
from pipelines.segmentation.stage import Segmentation, SegmentationSettings
from pipelines.segmentation.tiles import EMPTY, FULL, MIXED, TileMap, classify

pytestmark = [
    pytest.mark.skipif(
        not fused.available(), reason=f"numba unavailable: {fused.unavailable_reason()}"
    ),
    pytest.mark.clock_free,
]

# Rounding only: the OpenCV path rounds the upsampled background to uint8 before blending;
# the compiled one rounds the x-upsampled rows, then the blend. Named bounds for both.
MAX_LEVELS = 2
MEAN_LEVELS = 0.25


def _opencv_composite(fg: np.ndarray, mask_small: np.ndarray, bg_small: np.ndarray) -> np.ndarray:
    h, w = fg.shape[:2]
    mask = np.clip(cv2.resize(mask_small, (w, h), interpolation=cv2.INTER_LINEAR), 0, 1)
    bg = cv2.resize(bg_small, (w, h), interpolation=cv2.INTER_LINEAR)
    return C.blend(fg, bg, mask)


@pytest.mark.parametrize(
    ("size", "factor"),
    [((1280, 720), 2), ((640, 360), 1), ((643, 361), 1), ((1920, 1080), 2), ((100, 60), 4)],
)
@pytest.mark.parametrize("with_tiles", [True, False])
def test_matches_the_opencv_composite(size, factor, with_tiles) -> None:
    w, h = size
    fg, mask_small, bg_small = composite_scene(w, h, factor)
    tiles = classify(mask_small, (w, h), (16, 8)) if with_tiles else None
    ref = _opencv_composite(fg, mask_small, bg_small)
    out = fused.composite_over_small(fg, mask_small, bg_small, tiles)
    assert out.shape == fg.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - ref)
    assert diff.max() <= MAX_LEVELS
    assert diff.mean() <= MEAN_LEVELS
    if with_tiles:
        assert tiles is not None
        # Person tiles are the frame's pixels exactly. (Frames of some size have tiles of
        # each kind; a tiny one may have no tile that is all person.)
        if w >= 320:
            assert {EMPTY, FULL, MIXED} <= set(np.unique(tiles.classes).tolist())
        th, tw = tiles.tile
        for r, c in zip(*np.nonzero(tiles.classes == FULL), strict=True):
            block = (slice(r * th, (r + 1) * th), slice(c * tw, (c + 1) * tw))
            assert np.array_equal(out[block], fg[block])


def test_exact_at_the_ends() -> None:
    fg, _, bg_small = composite_scene(320, 240, 1, seed=3)
    ones, zeros = np.ones((120, 160), np.float32), np.zeros((120, 160), np.float32)
    assert np.array_equal(fused.composite_over_small(fg, ones, bg_small), fg)
    room = fused.composite_over_small(fg, zeros, bg_small)
    upsampled = cv2.resize(bg_small, (320, 240), interpolation=cv2.INTER_LINEAR)
    assert np.abs(room.astype(np.int16) - upsampled).max() <= 1


@pytest.mark.parametrize("factor", [2, 4, 8, 16])
def test_room_tiles_at_the_blurs_reductions_are_the_float_lerp_exactly(factor: int) -> None:
    """Room tiles are blended in 8-bit fixed point; at the blur's power-of-two reductions the
    row weights are multiples of 1/256, so the picture is the float lerp's to the bit."""
    w, h = 1280, 720
    fg, _, _ = composite_scene(w, h, 1, seed=5)
    bg_small = np.random.default_rng(factor).integers(0, 256, (h // factor, w // factor, 3),
                                                      dtype=np.uint8)  # fmt: skip
    room = fused.composite_over_small(fg, np.zeros((h // 2, w // 2), np.float32), bg_small)
    rows = cv2.resize(bg_small, (w, h // factor), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    y0, y1, t = fused.axis_table(h, h // factor)
    lerp = rows[y0] + (rows[y1] - rows[y0]) * t[:, None, None]
    assert np.array_equal(room, np.floor(lerp + np.float32(0.5)).astype(np.uint8))


def test_axis_table_is_cv2_resize_sampling() -> None:
    # Resizing a ramp with the tables must give cv2.resize's own result.
    for dst, src in ((720, 360), (720, 90), (1080, 135), (361, 120), (60, 15), (8, 8)):
        ramp = np.arange(src, dtype=np.float32) ** 1.5
        i0, i1, t = fused.axis_table(dst, src)
        mine = ramp[i0] + (ramp[i1] - ramp[i0]) * t
        ref = cv2.resize(ramp[None, :], (dst, 1), interpolation=cv2.INTER_LINEAR)[0]
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-4)


def test_row_runs_cover_every_row_of_tiles() -> None:
    classes = np.array([[0, 0, 2, 1, 1, 2, 0], [1, 1, 1, 1, 1, 1, 1], [2, 0, 2, 0, 2, 0, 2]],
                       np.uint8)  # fmt: skip
    tiles = TileMap(classes, (4, 8), (52, 12))
    tile_h, run_start, runs = fused.row_runs(tiles, (52, 12))
    assert tile_h == 4
    assert run_start.tolist() == [0, 5, 6, 13]
    for r in range(3):
        row = runs[run_start[r] : run_start[r + 1]]
        assert row[0, 0] == 0 and row[-1, 1] == 52  # the last tile is cut to the frame
        assert np.all(row[1:, 0] == row[:-1, 1])  # contiguous
        for x0, x1, cls in row:
            assert np.all(classes[r, x0 // 8 : -(-x1 // 8)] == cls)


def test_bad_input_is_refused_by_name() -> None:
    fg, mask_small, bg_small = composite_scene(64, 48, 1)
    with pytest.raises(ValueError, match="foreground"):
        fused.composite_over_small(fg.astype(np.float32), mask_small, bg_small)
    with pytest.raises(ValueError, match="background_small"):
        fused.composite_over_small(fg, mask_small, bg_small[..., :2])
    with pytest.raises(ValueError, match="mask"):
        fused.composite_over_small(fg, mask_small[..., None], bg_small)


def test_segmentation_leaves_a_lazy_mask_that_the_blur_never_enlarges(monkeypatch) -> None:
    image = demo_frame_720p()
    seg = Segmentation(SegmentationSettings(smoothing=0.0))
    blur = BackgroundBlur(BackgroundBlurSettings(strength=0.5))
    seg.open()
    blur.open()
    try:
        ctx = FrameContext(0.0, 0)
        seg.process(image, ctx)
        refined = ctx.mask_source
        assert isinstance(refined, RefinedMask)
        assert refined.detail_factor == 2 and refined.detail.shape == (360, 640)
        out = blur.process(image, ctx)
        assert not refined.materialized, "the blur made the full-size mask after all"
        # Reading ctx.mask makes it, once, and it is the detail level resized.
        full = ctx.mask
        assert full is not None and full.shape == (720, 1280) and ctx.mask is full
        assert refined.materialized and refined.tiles.source is full
        np.testing.assert_array_equal(full, cv2.resize(refined.detail, (1280, 720)))
        # The compiled composite equals the OpenCV path's on this real frame (given the same
        # mask and the same reduced copies of it).
        ctx_ref = FrameContext(0.0, 0)
        ctx_ref.set_lazy_mask(refined)
        monkeypatch.setenv(fused.DISABLE_ENV, "1")
        ref = BackgroundBlur(BackgroundBlurSettings(strength=0.5)).process(image, ctx_ref)
        diff = np.abs(out.astype(np.int16) - ref)
        assert diff.max() <= MAX_LEVELS and diff.mean() <= MEAN_LEVELS
    finally:
        seg.close()
        blur.close()


def _refined(detail: np.ndarray, size: tuple[int, int], tile: tuple[int, int]) -> RefinedMask:
    """A RefinedMask whose detail level is ``detail`` (a = 0, b = detail)."""
    return RefinedMask(np.zeros_like(detail), detail, np.zeros(detail.shape, np.uint8), size, tile)


def test_frame_context_mask_setter_replaces_the_lazy_one() -> None:
    refined = _refined(np.full((4, 6), 0.5, np.float32), (12, 8), (4, 4))
    ctx = FrameContext(0.0, 0)
    assert ctx.mask is None and ctx.mask_source is None
    ctx.set_lazy_mask(refined)
    assert ctx.mask_source is refined and not refined.materialized
    replaced = np.zeros((8, 12), np.float32)
    ctx.mask = replaced
    assert ctx.mask is replaced and ctx.mask_source is None
    assert not refined.materialized


def test_face_fix_in_the_full_mask_reaches_the_composite() -> None:
    # Once the full mask exists (and a stage changed it in place, as the face assist does),
    # the composite must sample it, not the stale detail level.
    fg, mask_small, bg_small = composite_scene(64, 48, 2, seed=5)
    refined = _refined(mask_small, (64, 48), (16, 8))
    full = refined.full()
    full[10:20, 10:30] = 1.0
    tiles = refined.tiles
    tiles.mark_mixed((10, 20, 10, 30))
    out = fused.composite_over_small(fg, refined.sampled(), bg_small, tiles)
    assert np.array_equal(out[10:20, 10:30], fg[10:20, 10:30])


def test_compiled_wrappers_do_not_read_the_environment(monkeypatch) -> None:
    """Once compiled, a wrapper (here the colour table) takes the kernels without reading
    CAMFX_NO_JIT again: its callers read it (ready(), available()), and the wrappers are
    called 13.5 times a Studio frame. The same bytes as cv2.LUT."""

    def read_environment() -> bool:
        raise AssertionError("a compiled wrapper read the environment")

    image = np.random.default_rng(3).integers(0, 256, (24, 40, 3), np.uint8)
    table = np.random.default_rng(4).integers(0, 256, (1, 256, 3), np.uint8)
    monkeypatch.setattr(fused, "_disabled", read_environment)
    out = fused.lut_bgr(image, table)
    np.testing.assert_array_equal(out, cv2.LUT(image, table))


def test_without_numba_the_opencv_path_runs(monkeypatch) -> None:
    monkeypatch.setattr(fused, "_kernel", None)
    monkeypatch.setattr(fused, "_unavailable", None)

    def no_numba():
        raise ImportError("No module named 'numba'")

    monkeypatch.setattr(fused, "_compile", no_numba)
    assert not fused.available()
    assert "numba" in (fused.unavailable_reason() or "")
    fg, mask_small, bg_small = composite_scene(320, 240, 1, seed=9)
    with pytest.raises(RuntimeError, match="unavailable"):
        fused.refined_detail(mask_small, mask_small, np.zeros((240, 320), np.uint8))
    # The composites have an OpenCV version (pipelines.segmentation.tiled): same picture.
    out = fused.composite_over_small(fg, mask_small, bg_small)
    diff = np.abs(out.astype(np.int16) - _opencv_composite(fg, mask_small, bg_small))
    assert diff.max() <= MAX_LEVELS and diff.mean() <= MEAN_LEVELS
    ctx = FrameContext(0.0, 0)
    ctx.mask = cv2.resize(mask_small, (320, 240))
    out = BackgroundBlur(BackgroundBlurSettings(strength=0.5)).process(fg, ctx)
    assert out.shape == fg.shape and not np.array_equal(out, fg)


def test_prepare_compiles_in_the_background_and_the_stage_waits_for_nothing(monkeypatch) -> None:
    monkeypatch.setattr(fused, "_kernel", None)
    monkeypatch.setattr(fused, "_preparing", None)
    assert not fused.ready()
    # Until the compiled composite is there, the blur runs the OpenCV path: same picture.
    fg, mask_small, _ = composite_scene(320, 240, 1, seed=21)
    ctx = FrameContext(0.0, 0)
    ctx.mask = cv2.resize(mask_small, (320, 240))
    opencv_out = BackgroundBlur(BackgroundBlurSettings(strength=0.5)).process(fg, ctx)
    fused.prepare()
    thread = fused._preparing
    assert thread is not None
    thread.join(60.0)
    assert fused.ready()
    ctx = FrameContext(0.0, 0)
    ctx.mask = cv2.resize(mask_small, (320, 240))
    compiled_out = BackgroundBlur(BackgroundBlurSettings(strength=0.5)).process(fg, ctx)
    diff = np.abs(compiled_out.astype(np.int16) - opencv_out)
    assert diff.max() <= MAX_LEVELS and diff.mean() <= MEAN_LEVELS


_CACHE_KEYS = """
import dataclasses, hashlib
from numba.core.serialize import dumps
from pipelines.segmentation import fused
kernels = fused._compile()  # decorates (compiles only the lookup's probe: lut_span)
for field in dataclasses.fields(kernels):
    func = getattr(kernels, field.name).py_func
    cells = tuple(cell.cell_contents for cell in func.__closure__ or ())
    print(field.name, hashlib.sha256(dumps(cells)).hexdigest())
"""


def test_the_kernels_numba_cache_keys_are_the_same_in_every_process() -> None:
    # Numba's on-disk cache is keyed by (signature, CPU, code, pickle of the closure). A kernel
    # that read a helper kernel from its closure had that helper's per-process id in the key:
    # the cache never matched, and every start compiled for 13 s of CPU (2026-12-03).
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    keys = [
        subprocess.run(
            [sys.executable, "-c", _CACHE_KEYS], capture_output=True, text=True, env=env, check=True
        ).stdout
        for _ in range(2)
    ]
    # Every kernel: the folded composite's two, the light's three, the tile map's, the
    # guided filter's fit and the skin colour model's two included.
    assert len(keys[0].splitlines()) == 17
    assert keys[0] == keys[1]


@pytest.mark.parametrize(("guide", "detail"), [((320, 180), (640, 360)), ((240, 135), (960, 540)),
                                               ((161, 91), (643, 361))])  # fmt: skip
def test_refined_detail_matches_the_opencv_arithmetic(guide, detail) -> None:
    rng = np.random.default_rng(17)
    (gw, gh), (dw, dh) = guide, detail
    a = (rng.standard_normal((gh, gw)) * 0.01).astype(np.float32)
    b = rng.uniform(-0.5, 1.5, (gh, gw)).astype(np.float32)
    gray = rng.integers(0, 256, (dh, dw), dtype=np.uint8)
    mine = fused.refined_detail(a, b, gray)
    a_up = cv2.resize(a, (dw, dh), interpolation=cv2.INTER_LINEAR)
    b_up = cv2.resize(b, (dw, dh), interpolation=cv2.INTER_LINEAR)
    ref = np.clip(a_up * gray.astype(np.float32) + b_up, 0, 1)
    assert mine.shape == (dh, dw) and mine.dtype == np.float32
    np.testing.assert_allclose(mine, ref, atol=2e-5)
    assert mine.min() == 0.0 and mine.max() == 1.0  # clipped at both ends, exactly


# The compiled guided-filter fit sums in another order than OpenCV's box filters: the refined
# mask a·I + b the two fits give may differ by float rounding only (1.2e-6 measured on the
# demo's frames), far below a grey level (1/255).
GUIDED_FIT_MASK_ATOL = 1e-5


def _guide_and_mask(size: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The demo's frame as a guide (grey, at ``size``) and a soft model-like person mask."""
    w, h = size
    image = cv2.resize(demo_frame_720p(), (w, h), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(seed)
    disk = np.zeros((h, w), np.float32)
    cv2.ellipse(disk, (w // 2, h // 2), (w // 4, h // 3), 0, 0, 360, 1.0, -1)
    small = cv2.resize(disk, (max(2, w // 5), max(2, h // 5)), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    mask += rng.normal(0.0, 0.05, (h, w)).astype(np.float32)  # an unsure model's wobble
    return gray, np.clip(mask, 0.0, 1.0)


@pytest.mark.parametrize(("size", "radius"), [((320, 180), 2), ((320, 180), 3), ((161, 91), 1),
                                              ((40, 23), 4)])  # fmt: skip
def test_the_compiled_guided_fit_is_the_opencv_fit(size, radius, monkeypatch) -> None:
    """GuidedUpsampler.coefficients with the kernel and with OpenCV (CAMFX_NO_JIT) give the
    same refined mask up to float rounding; the guide's statistics, which the kernel works
    out itself, are not made beforehand when it is there."""
    from pipelines.segmentation.refine import Guide, GuidedUpsampler

    gray, mask = _guide_and_mask(size, radius)
    up = GuidedUpsampler(radius=radius, eps=1e-3)

    def fit() -> tuple[np.ndarray, np.ndarray, Guide]:
        guide = up.prepare(np.zeros((8, 8, 3), np.uint8), 1, gray)
        return (*up.coefficients(guide, mask), guide)

    assert fused.ready()
    a, b, guide = fit()
    assert guide._statistics is None  # the kernel made its own
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    ref_a, ref_b, ref_guide = fit()
    assert ref_guide._statistics is not None
    i = gray.astype(np.float32)
    refined, expected = a * i + b, ref_a * i + ref_b
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape == gray.shape
    np.testing.assert_allclose(refined, expected, rtol=0, atol=GUIDED_FIT_MASK_ATOL)
    # Not a flat answer: the fit follows edges (a ≠ 0) and fades out where the mask is unsure.
    assert float(np.abs(ref_a).max()) > 1e-3
    assert np.count_nonzero(ref_a == 0) > 0 and np.count_nonzero(a == 0) > 0


def test_the_guided_fit_refuses_what_it_cannot_fit() -> None:
    gray = np.zeros((6, 8), np.uint8)
    mask = np.zeros((6, 8), np.float32)
    with pytest.raises(ValueError, match="radius 6"):
        fused.guided_fit(gray, mask, mask, 6, 1e-3, (0.25, 4.0), 1.0, 0.0)
    with pytest.raises(ValueError, match="mask"):
        fused.guided_fit(gray, mask[:3], mask, 1, 1e-3, (0.25, 4.0), 1.0, 0.0)


def test_fill_level_matches_the_opencv_arithmetic() -> None:
    rng = np.random.default_rng(19)
    weighted = rng.uniform(0, 1, (45, 80, 4)).astype(np.float32)
    weighted[..., 3] = rng.choice([0.0, 0.01, 0.2, 1.0], (45, 80)).astype(np.float32)
    coarse = rng.uniform(0, 255, (45, 80, 3)).astype(np.float32)
    trusted = 0.05
    w = weighted[..., 3]
    fill = np.maximum(trusted - w, 0)
    ref = (coarse * fill[..., None] + weighted[..., :3]) / (w + fill)[..., None]
    fused.fill_level(weighted, coarse, trusted)
    np.testing.assert_allclose(coarse, ref, rtol=1e-5)


def test_warm_up_blocks_until_the_kernels_are_ready(monkeypatch) -> None:
    monkeypatch.setattr(fused, "_kernel", None)
    monkeypatch.setattr(fused, "_preparing", None)
    stage = BackgroundBlur()
    assert not fused.ready()
    stage.warm_up()  # what `camfx bench` does before timing anything
    assert fused.ready()


def _replacement_reference(fg, mask_small, bg, keep, room, soft, ramp=4.0):
    """The replacement's formula (fused.composite_replacement's docstring) in numpy."""
    h, w = fg.shape[:2]

    def up(small):
        return cv2.resize(np.asarray(small, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)

    m = np.clip(up(mask_small), 0, 1)[..., None]
    k = up(keep)[..., None] if keep is not None else np.float32(1.0)
    f, n = fg.astype(np.float32), bg.astype(np.float32)
    v = n + (f - n) * m * k
    if room is not None:
        halo = (f - up(room)) * k * (1 - m) * np.minimum(1, ramp * m)
        # The person's colour it implies stays at most 255.
        v += np.minimum(halo, m * k * (255 - f))
    if soft is not None:
        v += (up(soft) - n) * m * (1 - k)
    return np.clip(np.round(v), 0, 255)


@pytest.mark.parametrize("parts", ["none", "keep", "room", "all"])
@pytest.mark.parametrize("with_tiles", [True, False])
def test_replacement_matches_its_formula(parts, with_tiles) -> None:
    w, h = 640, 360
    fg, mask_small, _ = composite_scene(w, h, 2, seed=23)
    rng = np.random.default_rng(29)
    bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    keep = rng.uniform(0.6, 1.0, (h // 8, w // 8)).astype(np.float32)
    room = rng.integers(0, 256, (h // 8, w // 8, 3)).astype(np.float32)
    soft = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    use = {
        "none": (None, None, None),
        "keep": (keep, None, None),
        "room": (None, room, None),
        "all": (keep, room, soft),
    }[parts]
    tiles = classify(mask_small, (w, h), (16, 8)) if with_tiles else None
    out = fused.composite_replacement(
        fg, mask_small, bg, tiles, keep=use[0], room=use[1], soft=use[2]
    )
    ref = _replacement_reference(fg, mask_small, bg, *use)
    diff = np.abs(out.astype(np.float32) - ref)
    # Rounding only: of the result, and of the room and soft colours, which the kernel takes
    # as uint8 upsampled along x (as cv2.resize rounds them).
    assert diff.max() <= 1.0
    assert diff.mean() <= 0.05
    # Room tiles are the new background exactly.
    if tiles is not None:
        th, tw = tiles.tile
        for r, c in zip(*np.nonzero(tiles.classes == EMPTY), strict=True):
            block = (slice(r * th, (r + 1) * th), slice(c * tw, (c + 1) * tw))
            assert np.array_equal(out[block], bg[block])


def test_replacement_refuses_a_background_of_another_size() -> None:
    fg, mask_small, _ = composite_scene(64, 48, 1)
    with pytest.raises(ValueError, match="background must be"):
        fused.composite_replacement(fg, mask_small, fg[:32])


@pytest.mark.parametrize("stage_type", ["blur", "replace"])
def test_light_wrap_looks_the_same_on_both_paths(stage_type, monkeypatch) -> None:
    from pipelines.segmentation.background import BackgroundReplace, BackgroundReplaceSettings

    fg, mask_small, _ = composite_scene(640, 360, 2, seed=31)
    full = cv2.resize(mask_small, (640, 360), interpolation=cv2.INTER_LINEAR)

    def run() -> np.ndarray:
        stage = (
            BackgroundBlur(BackgroundBlurSettings(strength=0.6, light_wrap=0.7))
            if stage_type == "blur"
            else BackgroundReplace(
                BackgroundReplaceSettings(mode="color", light_wrap=0.7, remove_halo=False)
            )
        )
        ctx = FrameContext(0.0, 0)
        ctx.mask = full.copy()
        return stage.process(fg, ctx)

    compiled = run()
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    reference = run()
    diff = np.abs(compiled.astype(np.int16) - reference)
    assert diff.max() <= MAX_LEVELS and diff.mean() <= MEAN_LEVELS
    # And light wrap did something: the outline differs from the plain composite.
    monkeypatch.delenv(fused.DISABLE_ENV)
    ctx = FrameContext(0.0, 0)
    ctx.mask = full.copy()
    plain = (
        BackgroundBlur(BackgroundBlurSettings(strength=0.6))
        if stage_type == "blur"
        else BackgroundReplace(
            BackgroundReplaceSettings(mode="color", light_wrap=0.0, remove_halo=False)
        )
    ).process(fg, ctx)
    assert np.abs(plain.astype(np.int16) - compiled).max() > 10


@pytest.mark.parametrize("stage_type", ["blur", "replace"])
def test_the_stages_look_the_same_without_numba(stage_type, monkeypatch) -> None:
    """The default settings on the demo's frame, compiled and not (CAMFX_NO_JIT): the
    Numba-free composite (pipelines.segmentation.tiled) makes the outline's corrections at
    full resolution as the kernel does. (The OpenCV path before it made the replacement's at
    half size: 42 grey levels apart on this frame.)"""
    from pipelines.segmentation.background import BackgroundReplace

    image = demo_frame_720p()
    ctx = segmented_once(image)

    def run() -> np.ndarray:
        stage = BackgroundBlur() if stage_type == "blur" else BackgroundReplace()
        frame_ctx = context_like(ctx)
        try:
            return stage.process(image, frame_ctx)
        finally:
            stage.close()

    assert fused.ready()
    compiled = run()
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    plain = run()
    diff = np.abs(compiled.astype(np.int16) - plain)
    assert diff.max() <= MAX_LEVELS and diff.mean() <= MEAN_LEVELS
    assert np.abs(compiled.astype(np.int16) - image).max() > 50  # the room did change


# The compiled per-channel lookup is cv2.LUT's arithmetic exactly: not one byte may differ.
LUT_MAX_LEVELS = 0


@pytest.mark.parametrize("view", ["whole", "cropped"])
def test_lut_bgr_is_cv2_lut_byte_for_byte(view: str) -> None:
    from golden_data import face_photo

    image = face_photo("astronaut")
    if view == "cropped":  # a non-contiguous view, as a face crop of a frame would be
        image = image[37:301, 11:250]
        assert not image.flags.c_contiguous
    table = np.random.default_rng(23).integers(0, 256, (1, 256, 3), dtype=np.uint8)
    mine = fused.lut_bgr(image, table)
    assert mine.shape == image.shape and mine.dtype == np.uint8
    diff = np.abs(mine.astype(np.int16) - cv2.LUT(image, table))
    assert int(diff.max()) <= LUT_MAX_LEVELS


@pytest.mark.parametrize("pixels", [1, 2, 21, 22, 43, 64, 65, 427, 1280 * 3 + 7])
def test_lut_bgr_every_length_and_in_place(pixels: int) -> None:
    """Lengths around the permuted lookup's 64-byte steps (its last step masked: 3, 6, 63,
    66, 129 bytes...), into a new array and in place: cv2.LUT's bytes, and nothing written
    past the end (a view of a longer row)."""
    rng = np.random.default_rng(pixels)
    row = rng.integers(0, 256, (1, pixels + 30, 3), dtype=np.uint8)
    image = row[:, :pixels]
    table = rng.integers(0, 256, (1, 256, 3), dtype=np.uint8)
    expected = cv2.LUT(image, table)
    assert np.array_equal(fused.lut_bgr(image, table), expected)
    after = row[:, pixels:].copy()
    flat = row.reshape(-1)[: 3 * pixels]  # the image's bytes, written in place
    fused._kernels().lut_bgr(flat, fused.channel_tables(table), flat)
    assert np.array_equal(row[:, :pixels], expected)
    assert np.array_equal(row[:, pixels:], after)


def test_lookups_permute_bytes_where_the_cpu_can() -> None:
    """On a CPU with AVX-512 VBMI the compiled lookups go 64 bytes a step (0.66 -> 0.31 ms for
    a 720p frame's bytes on the 2-core Xeon); elsewhere a byte at a time, as before."""
    fused._kernels()
    assert fused.permuted_lookups == fused._byte_permutes()


_ROOM_LANES = """
import numba
import numpy as np
from pipelines.segmentation import fused
fused._compile()


@numba.njit
def row_of_room(o, lo, hi, bt):  # the weights as composite_rows makes them
    bt_hi = np.uint16(np.int32(bt * np.float32(256.0) + np.float32(0.5)))
    bt_lo = np.uint16(256) - bt_hi
    fused.room_run(o, lo, hi, bt_lo, bt_hi)


row = np.zeros(96, np.uint8)
row_of_room(row.copy(), row, row, np.float32(0.25))
print("pmullw" in row_of_room.inspect_asm(row_of_room.signatures[0]))
"""


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 assembly only"
)
def test_room_runs_multiply_in_16_bit_lanes(tmp_path: Path) -> None:
    """The room's mix is uint16 arithmetic in uint16 lanes (``pmullw``): Numba widens integer
    arithmetic to 64 bits unless each step is cast back, and the room (half a frame) then
    took four times the CPU (0.56 against 0.14 ms for 720 rows of 1280 pixels)."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        "NUMBA_CACHE_DIR": str(tmp_path),  # compiled here, so its assembly can be read
    }
    done = subprocess.run(
        [sys.executable, "-c", _ROOM_LANES], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split() == ["True"]


@pytest.mark.parametrize("size", [(1280, 720), (643, 361)])
def test_room_is_the_fixed_point_mix_of_its_rows(size: tuple[int, int]) -> None:
    """A frame of room tiles: each pixel ``(lo·(256 − t) + hi·t + 128) >> 8`` of the room's
    two rows (upsampled along x), ``t`` the row's weight in 256ths, in int32 here: no step of
    the kernel's uint16 arithmetic may wrap (the brightest room, 255, included)."""
    w, h = size
    rng = np.random.default_rng(w)
    bg_small = rng.choice(np.array([0, 1, 254, 255], np.uint8), (h // 8, w // 8, 3))
    fg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h // 2, w // 2), np.float32)
    tiles = classify(mask, (w, h), (16, 8))
    out = fused.SmallComposite(fg, mask, bg_small, tiles).render()
    rows = cv2.resize(bg_small, (w, bg_small.shape[0]), interpolation=cv2.INTER_LINEAR)
    y0, y1, wy = fused.axis_table(h, bg_small.shape[0])
    t = (wy * np.float32(256.0) + np.float32(0.5)).astype(np.int32)[:, None, None]
    lo, hi = rows[y0].astype(np.int32), rows[y1].astype(np.int32)
    assert np.array_equal(out, ((lo * (256 - t) + hi * t + 128) >> 8).astype(np.uint8))


_BYTE_AT_A_TIME = """
import cv2, numpy as np
from pipelines.segmentation import fused
kernels = fused._compile()
rng = np.random.default_rng(3)
ok = True
for pixels in (1, 22, 427):
    image = rng.integers(0, 256, (2, pixels, 3), dtype=np.uint8)
    table = rng.integers(0, 256, (1, 256, 3), dtype=np.uint8)
    out = np.empty_like(image)
    kernels.lut_bgr(image.reshape(-1), fused.channel_tables(table), out.reshape(-1))
    ok &= bool(np.array_equal(out, cv2.LUT(image, table)))
print(fused.permuted_lookups, ok)
"""


def test_lookups_a_byte_at_a_time_for_another_cpu(tmp_path: Path) -> None:
    """Kernels compiled for another CPU than this one (``NUMBA_CPU_NAME``, a portable cache)
    look a byte up at a time, with the same bytes (in a fresh process and cache folder)."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        "NUMBA_CPU_NAME": "generic",
        "NUMBA_CACHE_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", _BYTE_AT_A_TIME], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split() == ["False", "True"]


def test_light_stage_uses_the_compiled_lookup_with_the_same_picture(monkeypatch) -> None:
    """A colour correction (per-channel curves) goes through :func:`fused.lut_bgr` once the
    kernels are ready, and the frames come out as with ``cv2.LUT`` (CAMFX_NO_JIT)."""
    from golden_data import face_photo

    from pipelines.beauty.light import LightColorSettings, LightColorStage

    frames = [face_photo("astronaut"), face_photo("astronaut")[:, ::-1].copy()]
    # Warm and a blue cast: the white balance and warmth make the three curves differ.
    cast = np.array([25, 0, -20], np.int16)
    frames = [np.clip(f.astype(np.int16) + cast, 0, 255).astype(np.uint8) for f in frames]
    settings = LightColorSettings(white_balance=1.0, warmth=0.5)

    def run() -> list[np.ndarray]:
        stage = LightColorStage(settings)
        stage.open()
        out = [stage.process(f, FrameContext(i / 30.0, i)).copy() for i, f in enumerate(frames)]
        stage.close()
        return out

    calls: list[int] = []
    real = fused.lut_bgr
    monkeypatch.setattr(fused, "lut_bgr", lambda im, t, **kw: calls.append(1) or real(im, t, **kw))
    compiled = run()
    assert len(calls) == len(frames)
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    opencv = run()
    assert len(calls) == len(frames)  # the OpenCV path, not the kernel
    for a, b, frame in zip(compiled, opencv, frames, strict=True):
        assert not np.array_equal(a, frame)  # a real correction, not a pass-through
        assert int(np.abs(a.astype(np.int16) - b).max()) <= LUT_MAX_LEVELS


GAIN_ROUNDING_LEVELS = 1
"""``apply_gain`` against its formula in float64: the output's rounding (and float32's) only."""


def _gain_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """A noisy 128×96 frame, a soft disc of a person (0, 1 and the outline between), a smooth
    gain grid over a box around it, upsampled along x as the key light does."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    hard = np.zeros((96, 128), np.float32)
    cv2.circle(hard, (60, 50), 26, 1.0, -1)
    mask = np.clip(cv2.GaussianBlur(hard, (0, 0), 3.0) * 1.2 - 0.1, 0.0, 1.0)
    box = (24, 12, 100, 90)
    grid = rng.integers(70, 250, (10, 10, 3), dtype=np.uint8)
    rows = cv2.resize(grid, (box[2] - box[0], 10), interpolation=cv2.INTER_LINEAR)
    return image, mask, rows, box


def _gain_formula(image, mask, rows, unit, box, weight_scale) -> np.ndarray:
    x0, y0, x1, y1 = box
    i0, i1, t = fused.axis_table(y1 - y0, rows.shape[0])
    r = rows.astype(np.float64)
    gain = (r[i0] * (1.0 - t[:, None, None]) + r[i1] * t[:, None, None]) / unit
    out = image.astype(np.float64)
    roi = out[y0:y1, x0:x1]
    m = mask[y0:y1, x0:x1].astype(np.float64) if mask is not None else np.ones(roi.shape[:2])
    weight = (m * m * weight_scale)[..., None]
    out[y0:y1, x0:x1] = roi + (np.minimum(roi * gain, 255.0) - roi) * weight
    return out


@pytest.mark.parametrize("with_mask", [True, False])
@pytest.mark.parametrize("with_tiles", [True, False])
@pytest.mark.parametrize("weight_scale", [1.0, 0.5])
def test_apply_gain_matches_its_formula(with_mask, with_tiles, weight_scale) -> None:
    image, mask, rows, box = _gain_scene()
    tiles = classify(mask, (128, 96), (8, 4)) if with_tiles and with_mask else None
    assert tiles is None or {EMPTY, FULL, MIXED} <= set(np.unique(tiles.classes).tolist())
    m = mask if with_mask else None
    out = fused.apply_gain(image, m, rows, 128, box, tiles, weight_scale)
    reference = _gain_formula(image, m, rows, 128, box, weight_scale)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.abs(out - reference).max() <= GAIN_ROUNDING_LEVELS
    # Exactly the frame outside the box, and where the mask is 0 (no light on the room).
    x0, y0, x1, y1 = box
    outside = np.ones(mask.shape, bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(out[outside], image[outside])
    if with_mask:
        np.testing.assert_array_equal(out[mask == 0.0], image[mask == 0.0])
    assert np.abs(out.astype(np.int16) - image).max() > 20  # and it does light the person


def test_apply_gain_refuses_bad_input_by_name() -> None:
    image, mask, rows, box = _gain_scene()
    with pytest.raises(ValueError, match="box"):
        fused.apply_gain(image, mask, rows, 128, (0, 0, 200, 50))
    with pytest.raises(ValueError, match="gain_rows"):
        fused.apply_gain(image, mask, rows[:, :-1], 128, box)
    with pytest.raises(ValueError, match="mask"):
        fused.apply_gain(image, mask[:-1], rows, 128, box)


def test_row_runs_are_kept_with_the_map_until_it_changes() -> None:
    tiles = TileMap(np.array([[EMPTY, FULL], [FULL, FULL]], np.uint8), (4, 4), (8, 8))
    first = fused.row_runs(tiles, (8, 8))
    assert fused.row_runs(tiles, (8, 8)) is first  # the background and the key light share it
    assert first[2][:2].tolist() == [[0, 4, EMPTY], [4, 8, FULL]]
    tiles.mark_mixed((0, 4, 0, 4))
    _, _, runs = fused.row_runs(tiles, (8, 8))
    assert runs[:2].tolist() == [[0, 4, MIXED], [4, 8, FULL]]


def test_apply_gain_samples_a_smaller_mask_as_its_full_size() -> None:
    """The key light passes the refined mask's detail level (half size at 720p) and the full
    size's tile map: the same picture as the full-size mask made by cv2.resize."""
    image, mask, rows, box = _gain_scene()
    for small_size in ((64, 48), (42, 32)):  # a half and a third
        small = cv2.resize(mask, small_size, interpolation=cv2.INTER_AREA)
        full = cv2.resize(small, (128, 96), interpolation=cv2.INTER_LINEAR)
        tiles = classify(full, (128, 96), (8, 4))
        for weight_scale in (1.0, 0.5):
            out = fused.apply_gain(image, small, rows, 128, box, tiles, weight_scale)
            reference = fused.apply_gain(image, full, rows, 128, box, tiles, weight_scale)
            assert np.abs(out.astype(np.int16) - reference).max() <= GAIN_ROUNDING_LEVELS
            assert np.array_equal(out[full == 0.0], image[full == 0.0])
            assert np.abs(out.astype(np.int16) - image).max() > 20
    with pytest.raises(ValueError, match="mask"):
        fused.apply_gain(image, mask[:, :-1], rows, 128, box)


@pytest.mark.parametrize("lit", [False, True])
def test_the_composites_scratch_rows_are_written_before_they_are_read(lit, monkeypatch) -> None:
    # The row kernels take their scratch rows from the caller (so that they allocate nothing
    # and run without Numba's reference counting): what the rows held before must not show.
    w, h = 1280, 720
    fg, mask_small, bg_small = composite_scene(w, h, 2)
    tiles = classify(mask_small, (w, h), (16, 8))
    assert {EMPTY, FULL, MIXED} <= set(np.unique(tiles.classes).tolist())
    gains = np.array([1.1, 1.0, 0.9])[None, None, :]
    table = np.clip(np.arange(256)[None, :, None] * gains, 0, 255).astype(np.uint8) if lit else None
    pending = fused.SmallComposite(fg, mask_small, bg_small, tiles)
    clean = pending.render(table)

    def stale(self: fused.SmallComposite) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.full(self.mask.shape[1], np.nan, np.float32),
            np.full(self.fg.shape[1], 7.0, np.float32),
        )

    monkeypatch.setattr(fused.SmallComposite, "_scratch_rows", stale)
    assert np.array_equal(pending.render(table), clean)


def test_the_row_kernels_run_without_reference_counting() -> None:
    # Each slice of a run would otherwise cost an atomic increment and decrement: 0.29 of the
    # composite's 1.1 ms at 720p (see ``nonrt`` in fused._compile).
    kernels = fused._kernels()
    for name in ("composite_rows", "composite_lut_rows", "composite_points", "smooth_rows"):
        assert getattr(kernels, name).targetoptions.get("_nrt") is False, name
