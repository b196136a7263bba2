"""Edge-aware refinement of the person mask, and the boundary metric it is judged by.

Boundary edge error (pipelines/segmentation/metrics.py): mean distance in pixels from the
mask's 0.5 outline to the nearest Canny edge of the frame, each distance capped at 10 px. It
is 0 when the outline lies on the frame's edges and grows as the outline wanders off them.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from golden_data import face_photo, load_golden

from pipelines.segmentation import fused, person_mask
from pipelines.segmentation.metrics import boundary_edge_error, iou, mask_outline
from pipelines.segmentation.refine import (
    FramePyramid,
    GuidedUpsampler,
    RefinedMask,
    transition_confidence,
)

REFINED_IOU_MIN = 0.97  # refined mask vs MediaPipe's plain bilinear mask, at 0.5
# Over the golden photos the refined outline must be closer to the frame's edges on average
# by at least this factor, and never farther on any one photo.
MEAN_BOUNDARY_RATIO_MAX = 0.9
EXACT_OUTLINE_ERROR_MAX = 1.0  # px: Canny marks one of the two pixels either side of a step
SHIFTED_OUTLINE_PX = 4
SELECTION = {"model0": "general", "model1": "landscape"}


def _cases() -> list[tuple[str, str]]:
    return [tuple(k.split("/")) for k in load_golden("solution_selfie_segmentation")]  # type: ignore[misc]


@pytest.fixture(scope="module")
def refined_vs_reference() -> list[tuple[str, float, float, float]]:
    golden = load_golden("solution_selfie_segmentation")
    rows = []
    for photo, sel in _cases():
        image = face_photo(photo)
        reference = golden[f"{photo}/{sel}"].astype(np.float32)
        refined = person_mask(image, model=SELECTION[sel])
        assert refined.shape == reference.shape and refined.dtype == np.float32
        assert float(refined.min()) >= 0.0 and float(refined.max()) <= 1.0
        rows.append(
            (
                f"{photo}/{sel}",
                iou(refined, reference),
                boundary_edge_error(reference, image),
                boundary_edge_error(refined, image),
            )
        )
    return rows


def test_refined_mask_keeps_iou_with_reference(refined_vs_reference: list) -> None:
    for name, overlap, _, _ in refined_vs_reference:
        assert overlap >= REFINED_IOU_MIN, name


def test_refined_outline_follows_frame_edges_better(refined_vs_reference: list) -> None:
    ratios = []
    for name, _, before, after in refined_vs_reference:
        assert after < before, name
        ratios.append(after / before)
    assert float(np.mean(ratios)) <= MEAN_BOUNDARY_RATIO_MAX


def _disk_scene(size: int = 256, radius: int = 70) -> tuple[np.ndarray, np.ndarray]:
    """A bright disc on a dark, slightly textured background, and its exact mask."""
    rng = np.random.default_rng(3)
    image = np.full((size, size, 3), 40, np.uint8)
    image += rng.integers(0, 6, image.shape, dtype=np.uint8)
    truth = np.zeros((size, size), np.uint8)
    cv2.circle(truth, (size // 2, size // 2), radius, 1, -1)
    image[truth > 0] = (200, 190, 180)
    return image, truth.astype(np.float32)


def test_boundary_metric_is_zero_on_the_edge_and_grows_off_it() -> None:
    image, truth = _disk_scene()
    assert boundary_edge_error(truth, image) <= EXACT_OUTLINE_ERROR_MAX
    shifted = np.roll(truth, SHIFTED_OUTLINE_PX, axis=1)
    assert boundary_edge_error(shifted, image) > boundary_edge_error(truth, image) + 1.0
    assert np.isnan(boundary_edge_error(np.zeros_like(truth), image))
    assert mask_outline(truth).sum() > 0


def test_guided_upsampling_recovers_a_sharp_outline() -> None:
    image, truth = _disk_scene()
    # What a 1/8-size model sees and returns: a blurry, blocky version of the truth.
    small = cv2.resize(truth, (32, 32), interpolation=cv2.INTER_AREA)
    plain = cv2.resize(small, (256, 256), interpolation=cv2.INTER_LINEAR)
    refined = GuidedUpsampler(radius=4, eps=1e-3)(image, small)
    assert boundary_edge_error(refined, image) < boundary_edge_error(plain, image)
    assert iou(refined, truth) > iou(plain, truth)
    # Near the outline the refined mask is decided (close to 0 or 1), not a soft ramp.
    band = mask_outline(truth, 0.5)
    assert np.mean(np.abs(refined[band] - 0.5)) > np.mean(np.abs(plain[band] - 0.5))


def test_unsure_regions_are_left_alone() -> None:
    flat = np.full((40, 40), 0.5, np.float32)
    assert float(transition_confidence(flat, 3).max()) == 0.0
    step = np.zeros((40, 40), np.float32)
    step[:, 20:] = 1.0
    assert float(transition_confidence(step, 3)[:, 18:22].min()) == 1.0


def test_pyramid_levels_are_box_averages() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    pyramid = FramePyramid(image)
    quarter = pyramid.level(4).astype(np.float64)
    blocks = image.reshape(16, 4, 24, 4, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.abs(quarter - blocks).max() <= 1.0  # two roundings to uint8
    assert pyramid.level(4) is pyramid.level(4)
    assert pyramid.factor_for(24) == 4
    with pytest.raises(ValueError):
        pyramid.level(3)


def test_the_detail_level_without_numba_is_its_formula_in_an_array_of_its_own(
    monkeypatch,
) -> None:
    """clip(a·I + b, 0, 1) with a and b upsampled bilinearly, exactly; each mask's level a
    fresh array (the work array behind it is reused from mask to mask: a later mask must not
    change an earlier one, which later stages and other threads may still read)."""
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    assert not fused.ready()
    rng = np.random.default_rng(29)
    gh, gw, dh, dw = 18, 32, 36, 64

    def coefficients() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = rng.normal(0.0, 0.01, (gh, gw)).astype(np.float32)
        b = rng.normal(0.5, 0.6, (gh, gw)).astype(np.float32)
        return a, b, rng.integers(0, 256, (dh, dw), dtype=np.uint8)

    first, second = coefficients(), coefficients()
    masks = [RefinedMask(*parts, (2 * dw, 2 * dh), (16, 4)) for parts in (first, second)]
    level = masks[0].detail
    kept = level.copy()
    other = masks[1].detail
    assert other is not level and np.array_equal(level, kept)
    for (a, b, gray), found in ((first, level), (second, other)):
        a_up = cv2.resize(a, (dw, dh), interpolation=cv2.INTER_LINEAR)
        b_up = cv2.resize(b, (dw, dh), interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(found, np.clip(a_up * gray.astype(np.float32) + b_up, 0, 1))
        assert found.min() == 0.0 and found.max() == 1.0  # clipped at both ends
