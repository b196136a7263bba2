"""The speed paths of the "beauty" and "light_color" stages give what the plain computation
gives: histogram medians equal ``np.median``, cached masks equal fresh ones, the smoothing's
support box loses nothing, scratch buffers are reused, and an identity correction skips the
lookup table."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from golden_data import face_photo
from kernel_paths import COMPILED, on_path
from test_beauty_retouch import OFF, golden_faces

from pipelines.beauty import masks, retouch
from pipelines.beauty.geometry import face_size
from pipelines.beauty.light import (
    Correction,
    apply_correction,
    build_lut,
    centre_weight,
    thumbnail,
)
from pipelines.beauty.stage import BeautySettings, BeautyStage
from pipelines.frame import FrameContext
from pipelines.segmentation import fused
from pipelines.tracking.types import Face

MOVED_MASK_MEAN_DIFF = 0.01
"""A mask kept for landmarks that moved 0.3 px (work scale) differs from a fresh one by at
most this on average (weights in 0..1)…"""
MOVED_MASK_MAX_DIFF = 0.5
"""…and nowhere by more than this: the holes round eyes, brows and lips are dilated by whole
pixels and feathered by only 0.77 px at the work scale, so a sub-pixel move can shift their
edge by a pixel (as landmark jitter does from frame to frame anyway)."""


def _median_model(ycrcb: np.ndarray, sample: np.ndarray) -> tuple[float, ...] | None:
    """The colour model as first written: np.median / MAD over the sampled pixels."""
    px = ycrcb[sample > 0].astype(np.float32)
    if px.shape[0] < 16:
        return None
    med = np.median(px, axis=0)
    mad = np.median(np.abs(px - med), axis=0) * np.float32(1.4826)
    return (
        float(med[0]),
        float(med[1]),
        float(med[2]),
        max(float(mad[0]), masks.LUMA_SIGMA_FLOOR),
        max(float(mad[1]), masks.CHROMA_SIGMA_FLOOR),
        max(float(mad[2]), masks.CHROMA_SIGMA_FLOOR),
    )


def _as_tuple(model: masks.SkinColourModel | None) -> tuple[float, ...] | None:
    if model is None:
        return None
    return (model.y, model.cr, model.cb, model.sy, model.scr, model.scb)


@pytest.fixture(params=["numpy", COMPILED])
def colour_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The skin colour model's NumPy path, or its compiled one (skipped without Numba)."""
    return on_path(request.param, monkeypatch)


def _colour_sample(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, w = rng.integers(4, 70, 2)
    if seed % 3 == 0:  # narrow distributions: many ties, even and odd counts
        ycrcb = np.clip(rng.normal(128, rng.uniform(0.3, 6), (h, w, 3)), 0, 255)
    else:
        ycrcb = rng.integers(0, 256, (h, w, 3)).astype(np.float64)
    sample = (rng.random((h, w)) < rng.uniform(0.02, 1.0)).astype(np.uint8) * 255
    return ycrcb.astype(np.uint8), sample


@pytest.mark.parametrize("seed", range(12))
def test_colour_model_from_histograms_equals_np_median(seed: int, colour_path: str) -> None:
    ycrcb, sample = _colour_sample(seed)
    got = _as_tuple(masks.SkinColourModel.fit(ycrcb, sample))
    assert got == _median_model(ycrcb, sample)


def test_colour_model_needs_16_sampled_pixels(colour_path: str) -> None:
    ycrcb = np.full((8, 8, 3), 128, np.uint8)
    sample = np.zeros((8, 8), np.uint8)
    sample.reshape(-1)[:15] = 1
    assert masks.SkinColourModel.fit(ycrcb, sample) is None
    sample[7, 7] = 1
    assert masks.SkinColourModel.fit(ycrcb, sample) is not None


@pytest.mark.parametrize("seed", range(6))
def test_compiled_skin_probability_equals_numpy(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if not fused.available():
        pytest.skip(f"numba unavailable: {fused.unavailable_reason()}")
    rng = np.random.default_rng(seed)
    ycrcb = rng.integers(0, 256, (rng.integers(20, 90), rng.integers(20, 90), 3), np.uint8)
    centre = rng.uniform(60, 200, 3)
    sigma = rng.uniform(2.5, 40, 3)
    model = masks.SkinColourModel(*centre, *sigma)
    compiled = model.probability(ycrcb)
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    plain = model.probability(ycrcb)
    # Spread over the whole ramp of both smoothsteps, ends included.
    assert 0.0 in plain and 1.0 in plain and ((plain > 0) & (plain < 1)).sum() > 20
    assert compiled.dtype == np.float32 and np.array_equal(compiled, plain)


def _work_face() -> tuple[np.ndarray, np.ndarray, float]:
    """The astronaut's face scaled to the work size: (image, landmarks, face size)."""
    image, faces = golden_faces("astronaut")
    lm = faces[0].landmarks[:, :2].astype(np.float32)
    s = retouch.WORK_FACE_SIZE / face_size(lm)
    small = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return small, ((lm + 0.5) * s - 0.5).astype(np.float32), face_size(lm) * s


@pytest.mark.parametrize("seed", range(4))
def test_skin_sample_oval_eroded_equals_the_oval_rasterised_shrunk(seed: int) -> None:
    """The colour sample's oval, the skin oval eroded, is the oval rasterised shrunk (as it was
    made), also against the image's edges and for faces of other sizes."""
    small, lm, size = _work_face()
    h, w = small.shape[:2]
    rng = np.random.default_rng(seed)
    shown = 0
    for _ in range(6):
        moved = lm + rng.normal(0.0, 0.7, lm.shape).astype(np.float32)
        moved += rng.uniform(-0.4, 0.4, 2).astype(np.float32) * np.float32([w, h])
        by = masks.SAMPLE_ERODE * size * rng.uniform(0.5, 2.0)
        face = masks._fill(moved, masks.SKIN_REGION, (w, h))
        rasterised = masks._fill(moved, "face_oval", (w, h), dilate=-by)
        assert np.array_equal(masks._shrunk(face, by), rasterised)
        shown += bool(rasterised.any())
    assert shown >= 3


def test_cached_skin_mask_equals_a_fresh_one() -> None:
    small, lm, size = _work_face()
    fresh = masks.skin_mask(small, lm, size)
    cache = masks.SkinMaskCache()
    first = masks.skin_mask(small, lm, size, cache=cache, tolerance=1.0)
    again = masks.skin_mask(small, lm, size, cache=cache, tolerance=1.0)
    assert np.array_equal(first, fresh) and np.array_equal(again, fresh)
    assert (cache.misses, cache.hits) == (1, 1)

    # Moved less than the tolerance: the kept geometry, close to a fresh one. (The colour
    # model is refitted on its slightly different sample area: a change of the same size as
    # sub-pixel landmark jitter makes on every frame.)
    nudged = lm + np.float32(0.3)
    kept = masks.skin_mask(small, nudged, size, cache=cache, tolerance=1.0, use_colour=False)
    assert cache.hits == 2
    assert np.array_equal(kept, masks.skin_mask(small, lm, size, use_colour=False))
    for colour in (False, True):
        kept = masks.skin_mask(small, nudged, size, cache=cache, tolerance=1.0, use_colour=colour)
        diff = np.abs(kept - masks.skin_mask(small, nudged, size, use_colour=colour))
        assert diff.mean() < MOVED_MASK_MEAN_DIFF and diff.max() < MOVED_MASK_MAX_DIFF
    assert cache.hits == 4

    # Moved further (or another image size): rebuilt, exactly a fresh mask.
    moved = lm + np.float32(1.5)
    assert np.array_equal(
        masks.skin_mask(small, moved, size, cache=cache, tolerance=1.0),
        masks.skin_mask(small, moved, size),
    )
    cropped = np.ascontiguousarray(small[:-3])
    assert np.array_equal(
        masks.skin_mask(cropped, moved, size, cache=cache, tolerance=1.0),
        masks.skin_mask(cropped, moved, size),
    )
    assert cache.misses == 3
    # Tolerance 0 keeps a geometry only for identical landmarks.
    masks.skin_mask(cropped, moved + np.float32(0.01), size, cache=cache)
    assert cache.misses == 4


def _stage(settings: dict[str, Any]) -> BeautyStage:
    stage = BeautyStage(BeautySettings(**settings))
    stage.open()
    stage.warm_up()  # one smoothing path (compiled if Numba is there) for every frame
    return stage


def _process(stage: BeautyStage, image: np.ndarray, faces: list[Face]) -> np.ndarray:
    ctx = FrameContext(0.0, 0, faces=list(faces), primary_face=faces[0])
    out: np.ndarray = stage.process(image, ctx)
    return out


@pytest.mark.parametrize("settings", [{"smoothing": 0.4}, {"smoothing": 1.0, "under_eye": 0.5}])
def test_a_stage_with_caches_retouches_like_a_fresh_one(settings: dict[str, Any]) -> None:
    image, faces = golden_faces("astronaut")
    full = {**OFF, **settings}
    stage = _stage(full)
    first = _process(stage, image, faces)
    second = _process(stage, image, faces)  # masks and ROI from the cache
    assert np.array_equal(first, second)
    assert np.array_equal(second, _process(_stage(full), image, faces))
    # The face moves 3 px: everything is rebuilt, as a fresh stage would.
    moved_image = np.ascontiguousarray(np.roll(image, 3, axis=1))
    lm = faces[0].landmarks.copy()
    lm[:, 0] += 3
    moved = [Face(0, 1.0, faces[0].bbox, lm)]
    assert np.array_equal(
        _process(stage, moved_image, moved), _process(_stage(full), moved_image, moved)
    )


@pytest.mark.parametrize("photo", ["astronaut", "two_faces"])
def test_smoothing_only_in_its_support_box_changes_nothing_else(
    photo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Working on the box where the weight exceeds SUPPORT_THRESHOLD gives the same picture
    as working on the whole face ROI."""
    image, faces = golden_faces(photo)
    settings = {**OFF, "smoothing": 1.0, "all_faces": True}
    boxed = _process(_stage(settings), image, faces)
    monkeypatch.setattr(retouch, "SUPPORT_THRESHOLD", -1.0)  # every pixel of the ROI
    whole = _process(_stage(settings), image, faces)
    assert np.array_equal(boxed, whole)


@pytest.mark.parametrize("seed", range(20))
def test_upscaled_box_holds_everything_the_box_influences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sw, sh = (int(v) for v in rng.integers(3, 40, 2))
    fw, fh = (int(v) for v in rng.integers(max(sw, sh), 300, 2))
    x0, x1 = sorted(int(v) for v in rng.choice(sw + 1, 2, replace=False))
    y0, y1 = sorted(int(v) for v in rng.choice(sh + 1, 2, replace=False))
    small = np.zeros((sh, sw), np.float32)
    small[y0:y1, x0:x1] = rng.uniform(0.5, 1.0, (y1 - y0, x1 - x0))
    big = cv2.resize(small, (fw, fh), interpolation=cv2.INTER_LINEAR)
    bx0, by0, bx1, by1 = retouch.upscaled_box((x0, y0, x1, y1), (sw, sh), (fw, fh))
    outside = np.ones_like(big, bool)
    outside[by0:by1, bx0:bx1] = False
    assert not big[outside].any()


def test_support_box() -> None:
    weight = np.zeros((10, 12), np.float32)
    assert retouch.support_box(weight, 0.0) is None
    weight[2, 3] = weight[6, 8] = 0.5
    assert retouch.support_box(weight, 0.1) == (3, 2, 9, 7)


def test_workspace_reuses_its_buffers() -> None:
    ws = retouch.Workspace()
    a = ws.take("x", (20, 30, 3))
    b = ws.take("x", (19, 31, 3))  # fits in what was allocated: the same memory
    assert np.shares_memory(a, b) and b.flags.c_contiguous and b.shape == (19, 31, 3)
    c = ws.take("x", (200, 300, 3))  # larger: a new buffer
    assert not np.shares_memory(a, c) and c.dtype == np.float32
    d = ws.take("y", (20, 30), np.uint8)
    assert d.dtype == np.uint8 and not np.shares_memory(d, c)


# --------------------------------------------------------------------------- light_color
@pytest.mark.parametrize(
    ("gamma", "gains"), [(1.0, (1.0, 1.0, 1.0)), (0.99999, (0.999, 0.9999, 1.0))]
)
def test_identity_correction_skips_the_table_bit_exactly(
    gamma: float, gains: tuple[float, float, float]
) -> None:
    """Curves that round to the identity return the frame itself, which is exactly what the
    lookup table would have produced."""
    image = face_photo("astronaut")
    correction = Correction(gamma, gains)
    out = apply_correction(image, correction)
    assert out is image
    assert np.array_equal(cv2.LUT(image, build_lut(correction)), image)


@pytest.mark.parametrize("size", [(1280, 720), (1281, 721), (640, 480), (1920, 1080), (100, 60)])
def test_thumbnail_picks_the_strided_pixels(size: tuple[int, int]) -> None:
    w, h = size
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3)).astype(np.uint8)
    step = max(1, -(-w // 160))
    thumb = thumbnail(image, step)
    assert thumb.flags.c_contiguous
    assert np.array_equal(thumb, image[::step, ::step])


def test_centre_weight_is_cached_and_read_only() -> None:
    weight, total = centre_weight(90, 160)
    assert centre_weight(90, 160)[0] is weight
    assert total == pytest.approx(float(weight.sum()))
    assert not weight.flags.writeable
