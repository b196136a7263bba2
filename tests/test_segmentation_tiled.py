"""The Numba-free one-pass composites (pipelines.segmentation.tiled) against their formulas.

They run without Numba (a CPU-only install has none), so these tests need none either; their
agreement with the compiled kernels is in tests/test_segmentation_fused.py.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from segmentation_support import composite_scene

from pipelines.segmentation import composite as C
from pipelines.segmentation import fused, tiled
from pipelines.segmentation.tiles import EMPTY, FULL, MIXED, TileMap, classify

# Rounding only, in grey levels: the blends round to uint8 and the outline's correction is
# added to that (the replacement), or the background is upsampled to uint8 before the blend
# (the blur, as the OpenCV path always did); one rounding more than the formula's. A frame
# that is nearly all outline (100×60) comes to a mean of 0.16.
MAX_LEVELS = 2
MEAN_LEVELS = 0.25


def _up(small: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(np.asarray(small, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


SIZES = [((1280, 720), 2), ((643, 361), 1), ((100, 60), 4)]


@pytest.mark.parametrize(("size", "factor"), SIZES)
@pytest.mark.parametrize("with_tiles", [True, False])
def test_blur_composite_is_its_formula(size, factor, with_tiles) -> None:
    w, h = size
    fg, mask_small, bg_small = composite_scene(w, h, factor, seed=1)
    tiles = classify(mask_small, (w, h), (32, 8)) if with_tiles else None
    out = tiled.composite_over_small(fg, mask_small, bg_small, tiles)
    m = np.clip(_up(mask_small, w, h), 0, 1)[..., None]
    bg = _up(bg_small, w, h)
    ref = np.round(bg + (fg - bg) * m)
    diff = np.abs(out.astype(np.float32) - ref)
    assert out.shape == fg.shape and out.dtype == np.uint8
    assert diff.max() <= MAX_LEVELS and diff.mean() <= MEAN_LEVELS
    if tiles is not None:
        # The person's tiles are the frame exactly; the room's the upsampled background.
        exact_bg = cv2.resize(bg_small, (w, h), interpolation=cv2.INTER_LINEAR)
        th, tw = tiles.tile
        for cls, src in ((FULL, fg), (EMPTY, exact_bg)):
            for r, c in zip(*np.nonzero(tiles.classes == cls), strict=True):
                block = (slice(r * th, (r + 1) * th), slice(c * tw, (c + 1) * tw))
                assert np.array_equal(out[block], src[block])


def _replacement_reference(fg, mask_small, bg, keep, room, soft, ramp=4.0):
    """fused.composite_replacement's formula in NumPy (room and soft rounded to uint8 first,
    as both implementations take them)."""
    h, w = fg.shape[:2]
    m = np.clip(_up(mask_small, w, h), 0, 1)[..., None]
    k = _up(keep, w, h)[..., None] if keep is not None else np.float32(1.0)
    f, n = fg.astype(np.float32), bg.astype(np.float32)
    v = n + (f - n) * m * k
    if room is not None:
        halo = (f - _up(cv2.convertScaleAbs(room), w, h)) * k * (1 - m) * np.minimum(1, ramp * m)
        # The person's colour it implies stays at most 255.
        v += np.minimum(halo, m * k * (255 - f))
    if soft is not None and keep is not None:
        v += (_up(soft, w, h) - n) * m * (1 - k)
    return np.clip(np.round(v), 0, 255)


@pytest.mark.parametrize(("size", "factor"), SIZES)
@pytest.mark.parametrize("parts", ["none", "keep", "room", "all"])
@pytest.mark.parametrize("with_tiles", [True, False])
def test_replacement_is_its_formula(size, factor, parts, with_tiles) -> None:
    w, h = size
    fg, mask_small, _ = composite_scene(w, h, factor, seed=23)
    rng = np.random.default_rng(29)
    bg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    sh, sw = max(1, h // 8), max(1, w // 8)
    # The keep factor as light wrap makes it: 1 deep inside the person, lower near the outline.
    keep = np.float32(1.0) - np.float32(0.4) * (1.0 - cv2.resize(mask_small, (sw, sh)) ** 4)
    room = rng.uniform(0, 255, (sh, sw, 3)).astype(np.float32)
    soft = rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
    use = {
        "none": (None, None, None),
        "keep": (keep, None, None),
        "room": (None, room, None),
        "all": (keep, room, soft),
    }[parts]
    tiles = classify(mask_small, (w, h), (32, 8)) if with_tiles else None
    out = tiled.composite_replacement(fg, mask_small, bg, tiles, *use, 4.0)
    ref = _replacement_reference(fg, mask_small, bg, *use)
    diff = np.abs(out.astype(np.float32) - ref)
    assert out.shape == fg.shape and out.dtype == np.uint8
    assert diff.max() <= MAX_LEVELS and diff.mean() <= MEAN_LEVELS
    if tiles is not None:
        th, tw = tiles.tile
        for r, c in zip(*np.nonzero(tiles.classes == EMPTY), strict=True):
            block = (slice(r * th, (r + 1) * th), slice(c * tw, (c + 1) * tw))
            assert np.array_equal(out[block], bg[block])


def test_packing_round_trips_every_tile_shape() -> None:
    # 50×37 with 8×4 tiles: a short last row and a narrow last column of tiles.
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (37, 50, 3), dtype=np.uint8)
    classes = rng.choice([EMPTY, MIXED], (5, 13)).astype(np.uint8)
    classes[-1, -1] = MIXED
    rows, cols = np.nonzero(classes == MIXED)
    packed = tiled.Packed(rows, cols, (50, 37), (8, 4))
    assert {(g[4], g[5]) for g in packed.groups} == {(8, 4), (8, 2), (5, 4), (5, 2)}
    out = np.zeros_like(image)
    for g in range(len(packed.groups)):
        packed.scatter(packed.gather(image, g), out, g)
    expected = np.zeros_like(image)
    for r, c in zip(rows, cols, strict=True):
        block = (slice(r * 8, (r + 1) * 8), slice(c * 4, (c + 1) * 4))
        expected[block] = image[block]
    assert np.array_equal(out, expected)


def test_without_numba_the_public_composites_run_the_tiled_path(monkeypatch) -> None:
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    assert not fused.ready()
    fg, mask_small, bg_small = composite_scene(320, 240, 1, seed=9)
    out = fused.composite_over_small(fg, mask_small, bg_small)
    assert np.array_equal(out, tiled.composite_over_small(fg, mask_small, bg_small))
    bg = cv2.resize(bg_small, (320, 240))
    out = fused.composite_replacement(fg, mask_small, bg)
    assert np.array_equal(out, tiled.composite_replacement(fg, mask_small, bg, None, None,
                                                           None, None, 4.0))  # fmt: skip
    # And it is the blend, not the frame passed through.
    ref = C.blend(fg, bg, np.clip(_up(mask_small, 320, 240), 0, 1))
    assert np.abs(out.astype(np.int16) - ref).max() <= MAX_LEVELS


def test_no_tile_map_of_another_size_is_trusted() -> None:
    fg, mask_small, bg_small = composite_scene(160, 96, 1, seed=5)
    stale = TileMap(np.full((3, 20), FULL, np.uint8), (32, 8), (160, 95))
    out = tiled.composite_over_small(fg, mask_small, bg_small, stale)
    assert np.array_equal(out, tiled.composite_over_small(fg, mask_small, bg_small, None))
