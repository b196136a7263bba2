"""The light's curves folded into the background blur's composite without Numba (issue 15).

Without the compiled kernels the light made its own per-channel ``cv2.LUT`` pass over the
blur's composite (1.2-1.8 ms of CPU at 720p), and the composite made a full-size mask (a
3.7 MB float resize) to blend the outline. :class:`pipelines.segmentation.tiled.SmallComposite`
does the OpenCV composite on the tiles, with the light's curves in it; these tests name how
far its picture may be from the two passes it replaces and from the compiled one.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from segmentation_support import demo_frame_720p, noisy, segmented_once

from pipelines.beauty.light import Correction, LightColorStage, build_lut
from pipelines.engine import Pipeline
from pipelines.frame import FRESH_IMAGE, WRITABLE_IMAGE, FrameContext
from pipelines.presets import build_stages, get_preset
from pipelines.segmentation import background, fused, tiled
from pipelines.segmentation.composite import blurred_background_small, composite
from pipelines.segmentation.refine import FramePyramid
from pipelines.segmentation.tiles import FULL
from pipelines.sources.base import SourceConfig
from pipelines.sources.demo import DemoSource
from pipelines.stage import Stage

# Without a table the composite is the plain OpenCV blend's: the mask sampled by an affine
# warp of its detail level where the blend made it full size by a resize (float rounding
# apart; measured 0 levels on the 720p demo).
PLAIN_MAX_LEVELS = 1
# The thumbnail's room samples by an affine warp, the composite's by a resize (fixed point
# rounded differently): a level (measured at 3.7k of 43k values on the 720p demo).
THUMB_MAX_LEVELS = 1
# Through a light's curves: the room's small copy goes through them before its upsampling
# (within a few levels of the lookup after it on the blurred room's gradients: 4 measured
# on the 720p demo, mean 0.5), the outline's pixels a level (the warp's room under the blend),
# the person's exact.
ROOM_LIT_MAX_LEVELS = 6
OUTLINE_LIT_MAX_LEVELS = 2
LIT_PSNR_MIN_DB = 50.0  # measured 55.2 dB on the 720p demo
# Studio without Numba, folded against the two passes it replaced (the light's own lookup
# after the plain blend): measured 59.5-59.9 dB on the moving 720p demo, 60 frames.
STUDIO_FOLDED_PSNR_MIN_DB = 50.0
# The bound for the whole Studio picture (without Numba against with it: 56.8-57.0 dB
# measured before and after the fold).
STUDIO_COMPILED_PSNR_MIN_DB = 40.0
# The light decides from the folded composite's thumbnail: the same picture within a level at
# a few pixels, so its gamma the same to well within a level of any curve.
GAMMA_TOLERANCE = 1e-3


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(255.0**2 / mse)


def _levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return out


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, object, np.ndarray]:
    """The 720p demo frame, its refined mask (detail level half size) and its blurred room."""
    image = demo_frame_720p()
    refined = segmented_once(image).mask_source
    small = blurred_background_small(FramePyramid(image), refined, 14.0)
    return image, refined, small


def _two_passes_plain(image: np.ndarray, refined: object, small: np.ndarray) -> np.ndarray:
    """The blur's OpenCV composite before: the room upsampled, the full-size mask blended."""
    h, w = image.shape[:2]
    room = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return composite(image, room, refined, into_background=True, tiles=refined.tiles)  # type: ignore[attr-defined]


def _classes_per_pixel(tiles: object, shape: tuple[int, int]) -> np.ndarray:
    th, tw = tiles.tile  # type: ignore[attr-defined]
    per_pixel: np.ndarray = np.kron(tiles.classes, np.ones((th, tw), np.uint8))  # type: ignore[attr-defined]
    return per_pixel[: shape[0], : shape[1]]


def test_without_a_table_it_is_the_plain_blend(scene) -> None:
    image, refined, small = scene
    assert refined.detail_factor == 2  # the mask sampled at half size, never made full size
    pending = tiled.SmallComposite(image, refined.detail, small, refined.tiles)
    mine = pending.render()
    assert not refined.materialized
    assert int(_levels(mine, _two_passes_plain(image, refined, small)).max()) <= PLAIN_MAX_LEVELS


def test_the_thumbnail_is_the_composites_pixels(scene) -> None:
    image, refined, small = scene
    pending = tiled.SmallComposite(image, refined.detail, small, refined.tiles)
    full = _two_passes_plain(image, refined, small)
    for step in (8, 7):
        thumb = pending.thumbnail(step)
        assert thumb.shape == full[::step, ::step].shape
        assert int(_levels(thumb, full[::step, ::step]).max()) <= THUMB_MAX_LEVELS


def test_through_a_table_as_the_lookup_after(scene) -> None:
    image, refined, small = scene
    table = build_lut(Correction(0.75, (0.95, 1.0, 1.08)))
    lit = tiled.SmallComposite(image, refined.detail, small, refined.tiles).render(table)
    ref = cv2.LUT(_two_passes_plain(image, refined, small), table)
    classes = _classes_per_pixel(refined.tiles, image.shape[:2])
    diff = _levels(lit, ref).max(axis=2)
    assert int(diff[classes == FULL].max()) == 0
    assert int(diff[classes != FULL].max()) <= ROOM_LIT_MAX_LEVELS
    # The outline's pixels: the joined runs the composite blends (their room tiles too).
    _, mixed = refined.tiles.blend_rects()
    outline = max(int(diff[y0:y1, x0:x1].max()) for y0, y1, x0, x1 in mixed)
    assert outline <= OUTLINE_LIT_MAX_LEVELS
    assert _psnr(lit, ref) >= LIT_PSNR_MIN_DB
    assert int(_levels(lit, image).max()) > 50  # the room did change


def test_refuses_sizes_the_warp_cannot_sample_exactly(scene) -> None:
    image, refined, small = scene
    odd = cv2.resize(small, (small.shape[1] - 1, small.shape[0]))
    assert not tiled.SmallComposite.usable(image, refined.detail, odd, refined.tiles)
    with pytest.raises(ValueError, match="usable"):
        tiled.SmallComposite(image, refined.detail, odd, refined.tiles)


def _demo_frames(moving: bool, size: tuple[int, int], count: int) -> list[np.ndarray]:
    w, h = size
    src = DemoSource("1" if moving else "0", SourceConfig(width=w, height=h, fps=30))
    src.open()
    rng = np.random.default_rng(11)
    frames = []
    for i in range(count):
        src._index = 3 * i
        frame = src.grab()
        assert frame is not None
        frames.append(noisy(frame // 2, rng))  # dim: the light lifts it
    return frames


def _studio(frames: list[np.ndarray]) -> list[tuple[np.ndarray, FrameContext]]:
    """Studio frame by frame, handing on fresh pictures as the engine does."""
    stages: list[Stage] = build_stages(get_preset("studio"))
    Pipeline(stages)
    for s in stages:
        s.open()
    out = []
    try:
        for i, frame in enumerate(frames):
            ctx = FrameContext(timestamp=i / 30.0, index=i)
            image = frame.copy()
            ctx.put(FRESH_IMAGE, image)
            for s in stages:
                if not s.settings.enabled:
                    continue
                if ctx.pop(FRESH_IMAGE) is image:
                    ctx.put(WRITABLE_IMAGE, image)
                else:
                    ctx.pop(WRITABLE_IMAGE)
                image = s.process(image, ctx)
            out.append((image.copy(), ctx))
    finally:
        for s in stages:
            s.close()
    return out


@pytest.mark.parametrize("moving", [True, False], ids=["moving", "still"])
def test_studio_without_numba_folds_the_light(moving: bool, monkeypatch) -> None:
    """No light pass of its own, and the picture of the two passes within the named bound
    (and with Numba, of the compiled one within the issue's)."""
    frames = _demo_frames(moving, (1280, 720), 4)
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    with monkeypatch.context() as before:
        before.setattr(background, "FOLD_WITHOUT_NUMBA", False)
        two_passes = _studio(frames)
    assert all(ctx.get(fused.TABLE_FOLDED) is None for _, ctx in two_passes)

    def no_pass(*args: object) -> np.ndarray:
        raise AssertionError("the light made its own pass over the frame")

    with monkeypatch.context() as folded_run:
        folded_run.setattr("pipelines.beauty.light.apply_correction", no_pass)
        folded = _studio(frames)
    for (a, ctx_a), (b, ctx_b) in zip(two_passes, folded, strict=True):
        assert ctx_b.get(fused.TABLE_FOLDED) is not None
        assert ctx_b.extras["beauty"]["faces"] == 1
        lit_a, lit_b = ctx_a.extras["light_color"], ctx_b.extras["light_color"]
        assert lit_b["gamma"] < 1.0  # a lift, not just white balance
        assert abs(lit_b["gamma"] - lit_a["gamma"]) <= GAMMA_TOLERANCE
        assert np.allclose(lit_b["gains"], lit_a["gains"], atol=GAMMA_TOLERANCE)
        assert _psnr(a, b) >= STUDIO_FOLDED_PSNR_MIN_DB
    monkeypatch.delenv(fused.DISABLE_ENV)
    if not fused.available():
        return  # no Numba here: nothing compiled to compare with
    compiled = _studio(frames)
    for (a, _), (b, _) in zip(compiled, folded, strict=True):
        assert _psnr(a, b) >= STUDIO_COMPILED_PSNR_MIN_DB


def test_the_light_alone_still_makes_its_own_pass(monkeypatch) -> None:
    """Nothing to fold into (no blur before it): the light's lookup as before."""
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    frame = _demo_frames(True, (640, 360), 1)[0]
    stage = LightColorStage()
    stage.open()
    try:
        ctx = FrameContext(0.0, 0)
        out = stage.process(frame, ctx)
    finally:
        stage.close()
    assert ctx.get(fused.TABLE_FOLDED) is None
    assert not np.array_equal(out, frame)
