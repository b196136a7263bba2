"""Face regions: polygons and masks on the canonical face laid out as 478 pixel landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.tracking import regions
from pipelines.tracking.geometry import canonical_face

FRAME = (640, 480)
SCALE_PX_PER_CM = 15.0
FEATHER_SIGMA = 3.0
SHARED_EDGE_FRACTION = 0.08  # regions sharing a boundary overlap by its anti-aliased pixels


@pytest.fixture(scope="module")
def landmarks() -> np.ndarray:
    v = canonical_face().vertices
    x = FRAME[0] / 2 + v[:, 0] * SCALE_PX_PER_CM
    y = FRAME[1] / 2 - v[:, 1] * SCALE_PX_PER_CM
    return np.stack([x, y, -v[:, 2] * SCALE_PX_PER_CM], axis=1).astype(np.float32)


def test_every_region_has_a_nonempty_mask(landmarks: np.ndarray) -> None:
    for name in regions.REGION_NAMES:
        mask = regions.region_mask(landmarks, name, FRAME)
        assert mask.shape == (FRAME[1], FRAME[0]) and mask.dtype == np.uint8
        assert (mask > 127).sum() > 50, name


def test_index_sets_are_valid_and_subject_sided(landmarks: np.ndarray) -> None:
    for name, ids in regions.RING_REGIONS.items():
        assert len(set(ids)) == len(ids), name
        assert all(0 <= i < regions.NUM_MESH_LANDMARKS for i in ids), name
    # On an unmirrored face the subject's right eye and iris are on the image's left.
    right_eye = regions.region_polygon(landmarks, "right_eye")[:, 0].mean()
    left_eye = regions.region_polygon(landmarks, "left_eye")[:, 0].mean()
    right_iris = regions.region_polygon(landmarks, "right_iris")[:, 0].mean()
    assert right_eye < FRAME[0] / 2 < left_eye
    assert abs(right_iris - right_eye) < abs(right_iris - left_eye)


def test_regions_nest_as_on_a_face(landmarks: np.ndarray) -> None:
    oval = regions.region_mask(landmarks, "face_oval", FRAME) > 127
    for inner in ("lips_outer", "left_eye", "right_eye", "nose", "left_brow"):
        m = regions.region_mask(landmarks, inner, FRAME) > 127
        assert (m & ~oval).sum() == 0, inner
    outer = regions.region_mask(landmarks, "lips_outer", FRAME) > 127
    mouth = regions.region_mask(landmarks, "mouth_interior", FRAME) > 127
    lips = regions.region_mask(landmarks, "lips", FRAME) > 127
    assert (mouth & ~outer).sum() == 0
    assert (lips & mouth).sum() == 0
    assert abs(int(lips.sum()) - int(outer.sum() - mouth.sum())) < outer.sum() * 0.05
    skin = regions.region_mask(landmarks, "skin", FRAME) > 127
    eyes = regions.region_mask(landmarks, "eyes", FRAME) > 127
    assert (skin & eyes).sum() == 0


def test_hairline_lies_above_the_mesh_top(landmarks: np.ndarray) -> None:
    hair = regions.hairline_curve(landmarks)
    top = landmarks[regions.FOREHEAD_TOP, 1]
    face_height = landmarks[regions.CHIN, 1] - top
    centre = hair[len(hair) // 2]
    assert centre[1] == pytest.approx(top - regions.HAIRLINE_LIFT * face_height, abs=1.0)
    forehead = regions.region_mask(landmarks, "forehead", FRAME) > 127
    oval = regions.region_mask(landmarks, "face_oval", FRAME) > 127
    assert (forehead & oval).sum() < forehead.sum() * SHARED_EDGE_FRACTION


def test_roi_mask_equals_full_frame_mask(landmarks: np.ndarray) -> None:
    full = regions.region_mask(landmarks, "lips", FRAME, feather=FEATHER_SIGMA)
    roi = regions.region_mask_roi(landmarks, "lips", FRAME, feather=FEATHER_SIGMA)
    h, w = roi.mask.shape
    assert h < 120 and w < 200  # only the lips' box was rasterised
    assert np.array_equal(roi.full(FRAME), full)
    outside = full.copy()
    outside[roi.slices] = 0
    assert outside.max() == 0


def test_feathered_float_mask_is_soft_and_bounded(landmarks: np.ndarray) -> None:
    hard = regions.region_mask(landmarks, "face_oval", FRAME, as_float=True)
    soft = regions.region_mask(landmarks, "face_oval", FRAME, feather=FEATHER_SIGMA, as_float=True)
    assert soft.dtype == np.float32 and soft.min() >= 0.0 and soft.max() <= 1.0
    partial = ((soft > 0.02) & (soft < 0.98)).sum()
    assert partial > 3 * ((hard > 0.02) & (hard < 0.98)).sum()
    assert abs(float(soft.sum() - hard.sum())) < hard.sum() * 0.02  # blur keeps the area


def test_dilate_and_exclude(landmarks: np.ndarray) -> None:
    base = (regions.region_mask(landmarks, "lips_outer", FRAME) > 127).sum()
    grown = (regions.region_mask(landmarks, "lips_outer", FRAME, dilate=4) > 127).sum()
    shrunk = (regions.region_mask(landmarks, "lips_outer", FRAME, dilate=-2) > 127).sum()
    assert shrunk < base < grown
    no_mouth = regions.region_mask(landmarks, "lips_outer", FRAME, exclude=["mouth_interior"])
    assert (no_mouth > 127).sum() < base


def test_face_objects_and_edges_of_the_frame(landmarks: np.ndarray) -> None:
    from pipelines.tracking.types import Face

    face = Face(id=1, score=1.0, bbox=(0, 0, 1, 1), landmarks=landmarks)
    assert np.array_equal(
        regions.region_mask(face, "nose", FRAME), regions.region_mask(landmarks, "nose", FRAME)
    )
    off = landmarks.copy()
    off[:, 0] -= 400  # mostly left of the frame
    mask = regions.region_mask(off, "face_oval", FRAME, feather=2.0)
    assert mask.shape == (FRAME[1], FRAME[0])
    gone = landmarks.copy()
    gone[:, 0] += 5000
    assert regions.region_mask(gone, "face_oval", FRAME).max() == 0


def test_bad_input_is_refused(landmarks: np.ndarray) -> None:
    with pytest.raises(KeyError, match="unknown face region"):
        regions.region_polygon(landmarks, "ears")
    with pytest.raises(ValueError):
        regions.region_polygon(landmarks[:100], "nose")
    with pytest.raises(ValueError, match="478"):
        regions.iris_polygon(landmarks[:468], "left")
