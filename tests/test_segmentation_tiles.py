"""The speed paths of segmentation and background effects give the same pictures as the plain
ones: tile maps that say which parts of the mask are exactly 0 or 1, the blend that uses them,
the work shared with a worker thread, the split stabiliser and the model's session."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from golden_data import face_photo, load_golden
from segmentation_support import demo_frames

from pipelines.frame import FrameContext
from pipelines.inference import default_factory
from pipelines.segmentation import composite as C
from pipelines.segmentation import faceassist, fused
from pipelines.segmentation.background import BackgroundBlur, BackgroundBlurSettings
from pipelines.segmentation.overlap import Overlap
from pipelines.segmentation.refine import RefinedMask
from pipelines.segmentation.stage import Segmentation, SegmentationSettings, segmentation_factory
from pipelines.segmentation.temporal import MaskStabilizer, noise_level
from pipelines.segmentation.tiles import (
    EMPTY,
    FULL,
    MASK_TILES_KEY,
    MIXED,
    TileMap,
    classify,
    tile_max,
    tiles_for,
)
from pipelines.tracking.types import Face

# Frame sizes the refinement sees: 720p (half-size detail, power-of-two scales), a laptop
# panel (1366×768: the guide's scale is not a whole number), a size that halves unevenly,
# and a small frame refined at full size.
SIZES = [(1280, 720), (1366, 768), (642, 362), (320, 240)]
# The demo portrait at 720p: at most this share of the tiles needs blending, at least this
# share is plainly room or plainly person.
MIXED_SHARE_MAX = 0.3
PLAIN_SHARE_MIN = 0.6


def _demo_frames(size: tuple[int, int], count: int, step: int = 7) -> list[np.ndarray]:
    return demo_frames(count, step, size)


def _segmented(frames: list[np.ndarray], **settings: object) -> list[FrameContext]:
    stage = Segmentation(SegmentationSettings(**settings))  # type: ignore[arg-type]
    stage.open()
    contexts = []
    try:
        for i, frame in enumerate(frames):
            ctx = FrameContext(timestamp=i / 30.0, index=i)
            stage.process(frame, ctx)
            contexts.append(ctx)
    finally:
        stage.close()
    return contexts


def _assert_map_describes(tiles: TileMap, mask: np.ndarray) -> None:
    """Every empty tile of ``mask`` is exactly 0, every full one exactly 1, and the runs
    cover each class's tiles."""
    h, w = mask.shape
    assert tiles.size == (w, h)
    th, tw = tiles.tile
    for cls, value in ((EMPTY, 0.0), (FULL, 1.0)):
        covered = np.zeros((h, w), bool)
        for y0, y1, x0, x1 in tiles.rects(cls):
            assert np.all(mask[y0:y1, x0:x1] == value), (cls, (y0, y1, x0, x1))
            covered[y0:y1, x0:x1] = True
        expected = np.kron(tiles.classes == cls, np.ones((th, tw), bool))[:h, :w]
        assert np.array_equal(covered, expected)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_tile_map_is_exact_on_refined_masks(size: tuple[int, int]) -> None:
    for ctx in _segmented(_demo_frames(size, 4)):
        tiles = tiles_for(ctx.mask, ctx.extras)
        assert tiles is not None and ctx.mask is not None
        _assert_map_describes(tiles, ctx.mask)
        assert tiles.share(MIXED) < 1.0


def test_most_of_a_portrait_needs_no_blending() -> None:
    (ctx,) = _segmented(_demo_frames((1280, 720), 1))
    tiles = tiles_for(ctx.mask, ctx.extras)
    assert tiles is not None
    assert tiles.share(MIXED) <= MIXED_SHARE_MAX
    assert tiles.share(EMPTY) + tiles.share(FULL) >= PLAIN_SHARE_MIN


def test_tile_max_covers_what_a_bilinear_resize_reads() -> None:
    """A tile whose maximum is 0 stays exactly 0 after any bilinear upsampling to the frame."""
    rng = np.random.default_rng(5)
    for _ in range(60):
        sh, sw = (int(v) for v in rng.integers(4, 40, 2))
        factor = int(rng.integers(1, 9))
        h = sh * factor + int(rng.integers(0, factor))
        w = sw * factor + int(rng.integers(0, factor))
        tile = (int(rng.integers(2, 33)), int(rng.integers(2, 33)))
        small = (rng.random((sh, sw)) > 0.97).astype(np.float32)
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        top = tile_max(small.astype(np.uint8), (w, h), tile)
        th, tw = tile
        assert top.shape == (-(-h // th), -(-w // tw))
        for r, c in zip(*np.nonzero(top == 0), strict=True):
            assert not big[r * th : (r + 1) * th, c * tw : (c + 1) * tw].any()


def test_classify_and_runs() -> None:
    mask = np.zeros((64, 96), np.float32)
    mask[:, 48:] = 1.0
    mask[20:30, 40:56] = 0.5
    tiles = classify(mask, (96, 64), (16, 8))
    _assert_map_describes(tiles, mask)
    assert tiles.classes[0, 0] == EMPTY and tiles.classes[0, -1] == FULL
    assert tiles.classes[1, 5] == MIXED  # rows 16..31, columns 40..47 hold the 0.5
    # Runs of one row a gap of up to max_gap tiles apart are joined.
    gappy = TileMap(np.array([[MIXED, EMPTY, EMPTY, MIXED, EMPTY, MIXED]], np.uint8), (4, 4),
                    (24, 4))  # fmt: skip
    assert gappy.rects(MIXED) == [(0, 4, 0, 4), (0, 4, 12, 16), (0, 4, 20, 24)]
    assert gappy.rects(MIXED, 1) == [(0, 4, 0, 4), (0, 4, 12, 24)]
    assert gappy.rects(MIXED, 2) == [(0, 4, 0, 24)]
    gappy.mark_mixed((0, 4, 5, 9))
    assert gappy.rects(MIXED) == [(0, 4, 0, 16), (0, 4, 20, 24)]
    assert gappy.without(EMPTY).rects(MIXED) == [(0, 4, 0, 24)]


def test_a_stale_map_is_not_used() -> None:
    mask = np.zeros((8, 8), np.float32)
    tiles = classify(mask, (8, 8), (4, 4))
    tiles.source = mask
    extras = {MASK_TILES_KEY: tiles}
    assert tiles_for(mask, extras) is tiles
    assert tiles_for(mask.copy(), extras) is None
    assert tiles_for(None, extras) is None


def test_tiled_blend_equals_the_whole_frame_blend() -> None:
    rng = np.random.default_rng(9)
    frames = _demo_frames((1280, 720), 3)
    for ctx, frame in zip(_segmented(frames), frames, strict=True):
        assert ctx.mask is not None
        tiles = tiles_for(ctx.mask, ctx.extras)
        background = rng.integers(0, 256, frame.shape, dtype=np.uint8)
        plain = C.blend(frame, background, ctx.mask)
        tiled = C.blend(frame, background, ctx.mask, tiles=tiles)
        assert np.array_equal(plain, tiled)
        into = background.copy()
        assert C.blend(frame, into, ctx.mask, tiles=tiles, into_background=True) is into
        assert np.array_equal(into, plain)
        # Light wrap changes the weight inside the outline too; still the same picture.
        wrapped = C.composite(frame, background, ctx.mask, light_wrap=0.5, tiles=tiles)
        assert np.array_equal(wrapped, C.composite(frame, background, ctx.mask, light_wrap=0.5))


def test_blur_stage_with_the_map_equals_without() -> None:
    frames = _demo_frames((1280, 720), 3)
    privacy = BackgroundBlurSettings(strength=1.0, desaturate=1.0)
    for settings in (BackgroundBlurSettings(), privacy):
        with_map, without = BackgroundBlur(settings), BackgroundBlur(settings)
        for ctx, frame in zip(_segmented(frames), frames, strict=True):
            fast = with_map.process(frame, ctx)
            ctx.extras.pop(MASK_TILES_KEY)
            slow = without.process(frame, ctx)
            assert np.array_equal(fast, slow)


def test_face_kept_after_refinement_updates_the_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """A face the model missed (here: a face's landmarks on a plain wall) is raised to 1 after
    refinement: its tiles must no longer count as room, and those inside the oval count as
    person (not as outline to blend)."""
    # Only the full-size restore of the oval, after refinement: the small mask stays empty.
    monkeypatch.setattr(faceassist, "keep_face", lambda mask, face, size: mask)
    wall = np.full((360, 640, 3), 180, np.uint8)
    mesh = load_golden("solution_face_mesh")["astronaut/landmarks"][0].astype(np.float64)
    side = face_photo("astronaut").shape[1] * 0.6
    landmarks = mesh.copy()
    landmarks[:, 0] = landmarks[:, 0] * side + 200
    landmarks[:, 1] = landmarks[:, 1] * side + 20
    landmarks[:, 2] *= side
    x, y = landmarks[:, 0], landmarks[:, 1]
    face = Face(id=0, score=1.0, bbox=(float(x.min()), float(y.min()), float(np.ptp(x)),
                float(np.ptp(y))), landmarks=landmarks.astype(np.float32))  # fmt: skip
    stage = Segmentation(SegmentationSettings(smoothing=0.0, keep_face=True))
    stage.open()
    ctx = FrameContext(timestamp=0.0, index=0)
    ctx.primary_face = face
    stage.process(wall, ctx)
    stage.close()
    assert ctx.mask is not None and float(ctx.mask.max()) == 1.0
    tiles = tiles_for(ctx.mask, ctx.extras)
    assert tiles is not None
    assert 0.0 < tiles.share(MIXED) < 0.2 and tiles.share(FULL) > 0.0
    _assert_map_describes(tiles, ctx.mask)
    # The room in the oval's box is blended still (RefinedMask.changed: the
    # folded light's picture stays the bytes it was when the whole box was).
    box = faceassist.keep_face_full(np.zeros((360, 640), np.float32), face)
    assert box is not None
    y0, y1, x0, x1 = box
    th, tw = tiles.tile
    under = tiles.classes[y0 // th : -(-y1 // th), x0 // tw : -(-x1 // tw)]
    assert np.count_nonzero(under == FULL) > 0 and np.count_nonzero(under == EMPTY) == 0
    background = np.zeros_like(wall)
    assert np.array_equal(
        C.blend(wall, background, ctx.mask, tiles=tiles), C.blend(wall, background, ctx.mask)
    )


def test_a_change_after_the_map_was_made_is_marked() -> None:
    """The detail level changed in place after the tile map was made (RefinedMask.changed):
    the tiles whose pixels read the change, across a tile's edge too, are no longer room."""
    (ctx,) = _segmented(_demo_frames((1280, 720), 1))
    refined = ctx.mask_source
    assert isinstance(refined, RefinedMask) and refined.detail_factor == 2
    tiles = refined.tiles
    # Detail rows 16-19 are full-size rows 31-40 once resized: the first tile row (0-31) too.
    rect = (16, 20, 4, 8)
    y0, y1, x0, x1 = rect
    assert np.all(tiles.classes[:2, :3] == EMPTY)  # room there before
    refined.detail[y0:y1, x0:x1] = 0.5
    refined.changed(rect)
    assert ctx.mask is not None
    _assert_map_describes(tiles, ctx.mask)
    assert tiles.classes[0, 0] == MIXED and tiles.classes[1, 2] == MIXED


@pytest.mark.skipif(
    not fused.available(), reason=f"numba unavailable: {fused.unavailable_reason()}"
)
def test_the_compiled_tile_map_is_the_opencv_one() -> None:
    """fused.classify (one pass) gives the very map of tiles.classify (max filters), on masks
    with values exactly 0 and 1 and in between (NaN too), at any reduction and tile size."""
    rng = np.random.default_rng(11)
    values = np.float32([0.0, 1.0, 0.5, 1e-6, 1.0 - 1e-7, np.nan])
    for _ in range(150):
        sh, sw = (int(v) for v in rng.integers(3, 50, 2))
        factor = int(rng.integers(1, 5))
        size = (
            sw * factor + int(rng.integers(0, factor)),
            sh * factor + int(rng.integers(0, factor)),
        )
        tile = (int(rng.integers(1, 33)), int(rng.integers(1, 33)))
        mask = rng.choice(values, (sh, sw), p=[0.4, 0.4, 0.05, 0.05, 0.05, 0.05])
        if rng.random() < 0.5:  # runs of plain tiles, as a person's mask has
            mask = np.sort(mask, axis=int(rng.integers(0, 2)))
        expected = classify(mask, size, tile)
        found = fused.classify(mask, size, tile)
        assert np.array_equal(found.classes, expected.classes), (mask.shape, size, tile)
        assert found.tile == tile and found.size == size
    for ctx in _segmented(_demo_frames((1280, 720), 2)):
        refined = ctx.mask_source
        assert isinstance(refined, RefinedMask)
        expected = classify(refined.detail, refined.size, refined.tile)
        assert np.array_equal(refined.tiles.classes, expected.classes)


def test_overlap_runs_both_and_reports_errors() -> None:
    overlap = Overlap("test")
    try:
        here, there = overlap.run(threading.get_ident, threading.get_ident)
        assert here == threading.get_ident() and there != here

        def fail() -> int:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            overlap.run(lambda: 1, fail)
        with pytest.raises(ValueError, match="boom"):
            overlap.run(fail, lambda: 2)
    finally:
        overlap.close()
        overlap.close()


def test_split_stabiliser_equals_update() -> None:
    rng = np.random.default_rng(3)
    whole, split = MaskStabilizer(), MaskStabilizer()
    base = rng.integers(40, 200, (36, 64)).astype(np.uint8)
    for t in range(6):
        gray = np.clip(base + rng.normal(0, 3, base.shape) + 30 * (t == 4), 0, 255).astype(np.uint8)
        mask = rng.random((36, 64)).astype(np.float32)
        expected = whole.update(mask, gray, t / 30.0, 0.6).copy()
        alpha = split.weights(gray, t / 30.0, 0.6)
        assert (alpha is None) == (t == 0)
        assert np.array_equal(split.apply(mask, gray, t / 30.0, alpha), expected)


def test_noise_level_is_the_percentile() -> None:
    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 10, 2304):
        sample = (rng.random(n) * 20).astype(np.float32).reshape(-1, 1)
        assert noise_level(sample) == pytest.approx(float(np.percentile(sample, 25)), abs=1e-5)


def test_hole_deep_inside_the_person_takes_the_room_colour() -> None:
    """The blurred background behind a large person comes from the room around them, not from
    the person (push-pull fill from coarser levels)."""
    room, person = (40, 90, 160), (200, 200, 200)
    image = np.empty((240, 320, 3), np.uint8)
    image[:] = room
    mask = np.zeros((240, 320), np.float32)
    mask[20:, 40:280] = 1.0
    image[mask > 0] = person
    bg = C.masked_background_blur(image, mask, 0.3 * 0.08 * 240)
    assert np.abs(bg[200, 160].astype(int) - room).max() <= 2


def test_segmentation_sessions_use_one_thread() -> None:
    factory = segmentation_factory()
    assert factory.intra_op_threads == 1
    assert factory.requested == default_factory().requested
