"""Help from the face tracker: the face is always kept, others can be left out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from golden_data import face_photo, load_golden

from pipelines.frame import FrameContext
from pipelines.segmentation import faceassist
from pipelines.segmentation.metrics import iou
from pipelines.segmentation.stage import Segmentation, SegmentationSettings
from pipelines.segmentation.tiles import EMPTY, FULL, MIXED, classify
from pipelines.tracking.regions import region_mask
from pipelines.tracking.types import Face

FRAME_W, FRAME_H = 720, 300
PERSON_SCALE = 0.55
OFFSETS = (10, 430)  # x of each astronaut copy: far enough apart to be two blobs
OTHER_PERSON_MASS_MAX = 0.02  # mean mask over the other person's area once left out
OTHER_PERSON_MASS_MIN = 0.3  # ... and before: the model does see them
PRIMARY_IOU_MIN = 0.99
FACE_KEPT_MIN = 0.95
HAIR_BOOST_MIN = 0.55  # a faint 0.3 in the hair region becomes at least this
FACE_FEATHER_SPILL = 0.01  # the face region's soft edge, just outside it
# The oval is restored with a feathered edge a few pixels wide: check it this far inside.
OVAL_INSET_PX = 8


def _face(landmarks: np.ndarray, face_id: int = 0) -> Face:
    x, y = landmarks[:, 0], landmarks[:, 1]
    bbox = (float(x.min()), float(y.min()), float(np.ptp(x)), float(np.ptp(y)))
    return Face(id=face_id, score=1.0, bbox=bbox, landmarks=landmarks.astype(np.float32))


@pytest.fixture(scope="module")
def two_people() -> tuple[np.ndarray, list[Face], list[tuple[int, int]]]:
    return two_people_scene()


def two_people_scene() -> tuple[np.ndarray, list[Face], list[tuple[int, int]]]:
    """Two astronaut copies, cut out with MediaPipe's mask, side by side on a plain wall; their
    faces from MediaPipe's face mesh; the column span of each."""
    person = face_photo("astronaut")
    alpha = load_golden("solution_selfie_segmentation")["astronaut/model0"].astype(np.float32)
    mesh = load_golden("solution_face_mesh")["astronaut/landmarks"][0].astype(np.float64)
    ph, pw = person.shape[:2]
    small = cv2.resize(person, None, fx=PERSON_SCALE, fy=PERSON_SCALE,
                       interpolation=cv2.INTER_AREA).astype(np.float32)  # fmt: skip
    a = cv2.resize(alpha, (small.shape[1], small.shape[0]))[..., None]
    frame = np.full((FRAME_H, FRAME_W, 3), 200.0, np.float32)
    faces, spans = [], []
    for i, x0 in enumerate(OFFSETS):
        y0 = FRAME_H - small.shape[0]
        region = frame[y0:, x0 : x0 + small.shape[1]]
        region[:] = a * small + (1 - a) * region
        lm = mesh.copy()
        lm[:, 0] = lm[:, 0] * pw * PERSON_SCALE + x0
        lm[:, 1] = lm[:, 1] * ph * PERSON_SCALE + y0
        lm[:, 2] *= pw * PERSON_SCALE
        faces.append(_face(lm, i))
        spans.append((x0, x0 + small.shape[1]))
    return frame.astype(np.uint8), faces, spans


def _mask(image: np.ndarray, face: Face | None, **settings: object) -> np.ndarray:
    stage = Segmentation(SegmentationSettings(smoothing=0.0, **settings))  # type: ignore[arg-type]
    stage.open()
    ctx = FrameContext(timestamp=0.0, index=0)
    ctx.primary_face = face
    stage.process(image, ctx)
    assert ctx.mask is not None
    return ctx.mask


def test_only_the_primary_person_is_kept(two_people) -> None:
    image, faces, spans = two_people
    both = _mask(image, faces[0])
    only = _mask(image, faces[0], primary_only=True)
    (a0, a1), (b0, b1) = spans
    assert float(both[:, b0:b1].mean()) >= OTHER_PERSON_MASS_MIN
    assert float(only[:, b0:b1].mean()) <= OTHER_PERSON_MASS_MAX
    assert iou(only[:, a0:a1], both[:, a0:a1]) >= PRIMARY_IOU_MIN
    # The other face as primary keeps the other person.
    other = _mask(image, faces[1], primary_only=True)
    assert float(other[:, a0:a1].mean()) <= OTHER_PERSON_MASS_MAX


def test_without_a_face_nothing_is_left_out(two_people) -> None:
    image, _, spans = two_people
    plain = _mask(image, None, primary_only=True)
    assert float(plain[:, spans[1][0] : spans[1][1]].mean()) >= OTHER_PERSON_MASS_MIN


def test_face_and_faint_hair_are_kept(two_people) -> None:
    _, faces, _ = two_people
    shape = (144, 256)
    faint = np.full(shape, 0.3, np.float32)
    kept = faceassist.keep_face(faint, faces[0], (FRAME_W, FRAME_H))
    face_area, head_area = faceassist.face_regions(faces[0], (FRAME_W, FRAME_H), shape)
    assert float(kept[face_area > 0.99].min()) >= FACE_KEPT_MIN
    hair = (head_area > 0.99) & (face_area < 0.01)
    assert hair.any() and float(kept[hair].min()) >= HAIR_BOOST_MIN
    far = head_area < 0.01
    assert np.allclose(kept[far], 0.3)
    # Nothing from nothing: an empty mask gets the face, but no hair out of thin air.
    empty = faceassist.keep_face(np.zeros(shape, np.float32), faces[0], (FRAME_W, FRAME_H))
    assert float(empty[hair].max()) <= FACE_FEATHER_SPILL


def test_face_oval_is_person_in_the_stage(two_people) -> None:
    image, faces, _ = two_people
    mask = _mask(image, faces[0], keep_face=True)
    oval = (
        region_mask(faces[0].landmarks, "face_oval", (FRAME_W, FRAME_H), dilate=-OVAL_INSET_PX) > 0
    )
    assert float(mask[oval].min()) >= FACE_KEPT_MIN


def _at_720p(two_people) -> tuple[np.ndarray, Face, float]:
    """The two people's frame at 720p (bars at the top), its first face, and the scale."""
    image, faces, _ = two_people
    scale = 1280 / FRAME_W
    top = 720 - round(FRAME_H * scale)
    frame = cv2.copyMakeBorder(
        cv2.resize(image, (1280, 720 - top)), top, 0, 0, 0, cv2.BORDER_CONSTANT, value=(200,) * 3
    )
    lm = faces[0].landmarks.astype(np.float64) * scale
    lm[:, 1] += top
    return frame, _face(lm), scale


def test_at_720p_the_face_is_kept_on_the_detail_level_without_a_full_size_mask(
    two_people,
) -> None:
    # From 720p up the refined mask is evaluated at half size and made full size only when a
    # stage reads ctx.mask; the face oval is raised there too, so the blur (which samples
    # the detail level with the compiled composite) need not make the full-size mask (issue
    # 15: about 1.3 ms of CPU a frame).
    from pipelines.segmentation.background import BackgroundBlur, BackgroundBlurSettings
    from pipelines.segmentation.refine import RefinedMask

    frame, face, scale = _at_720p(two_people)
    lm = face.landmarks
    seg = Segmentation(SegmentationSettings(smoothing=0.0, keep_face=True))
    blur = BackgroundBlur(BackgroundBlurSettings(strength=0.5))
    seg.open()
    blur.open()
    try:
        ctx = FrameContext(timestamp=0.0, index=0)
        ctx.primary_face = face
        seg.process(frame, ctx)
        refined = ctx.mask_source
        assert isinstance(refined, RefinedMask) and refined.detail_factor == 2
        assert not refined.materialized, "the face fix made the full-size mask"
        blur.process(frame, ctx)  # samples the detail level, the face fix in it
        mask = ctx.mask
        assert mask is not None and mask.shape == (720, 1280)
    finally:
        seg.close()
        blur.close()
    oval = region_mask(lm, "face_oval", (1280, 720), dilate=-OVAL_INSET_PX * scale) > 0
    assert float(mask[oval].min()) >= FACE_KEPT_MIN


def _segmented_720p(two_people) -> tuple[np.ndarray, FrameContext, Face, float]:
    frame, face, scale = _at_720p(two_people)
    seg = Segmentation(SegmentationSettings(smoothing=0.0, keep_face=True))
    seg.open()
    try:
        ctx = FrameContext(timestamp=0.0, index=0)
        ctx.primary_face = face
        seg.process(frame, ctx)
    finally:
        seg.close()
    return frame, ctx, face, scale


def test_the_face_oval_adds_no_outline_tiles_inside_the_face(two_people) -> None:
    """The oval restored after refinement changes the mask only where it raises it: the tile
    map says what the mask is after that, so the person's tiles inside the face stay person.
    (Its whole box was counted as outline to blend: on the moving 720p demo in Studio 23.4 %
    of the tiles were mixed, 14.3 % are; issue 15.)"""
    from pipelines.segmentation.refine import RefinedMask

    _, ctx, face, scale = _segmented_720p(two_people)
    refined = ctx.mask_source
    assert isinstance(refined, RefinedMask)
    tiles = refined.tiles
    # The map of the mask as it is, the oval in it: no person tile counted mixed (room tiles
    # under the oval's box are: RefinedMask.changed says why).
    exact = classify(refined.detail, refined.size, refined.tile)
    assert np.array_equal(tiles.classes == FULL, exact.classes == FULL)
    assert np.all((tiles.classes == exact.classes) | (exact.classes == EMPTY))
    # Tiles wholly inside the face (where the model and the oval both say person) are person.
    th, tw = tiles.tile
    rows, cols = tiles.classes.shape
    inside = np.zeros((rows * th, cols * tw), bool)
    inside[:720, :1280] = region_mask(face.landmarks, "face_oval", (1280, 720),
                                      dilate=-OVAL_INSET_PX * scale) > 0  # fmt: skip
    tile_inside = inside.reshape(rows, th, cols, tw).all(axis=(1, 3))
    assert tile_inside.any()
    assert np.all(tiles.classes[tile_inside] == FULL)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "opencv"])
def test_the_blur_with_the_face_in_the_map_is_the_blend_of_every_pixel(
    two_people, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blur on a 720p frame with a face kept: copying the tiles the map calls person or
    room gives the very bytes of blending every tile (what any map with more tiles mixed,
    such as the face's whole box, gives). With the light's curves folded in, room tiles are
    not (RefinedMask.changed says why)."""
    from pipelines.segmentation import fused
    from pipelines.segmentation.background import BackgroundBlur
    from pipelines.segmentation.refine import RefinedMask
    from pipelines.segmentation.tiles import TileMap

    if compiled and not fused.available():
        pytest.skip(f"numba unavailable: {fused.unavailable_reason()}")
    if not compiled:
        monkeypatch.setenv(fused.DISABLE_ENV, "1")
    frame, ctx, _, _ = _segmented_720p(two_people)
    refined = ctx.mask_source
    assert isinstance(refined, RefinedMask)
    tiles = refined.tiles
    assert 0.0 < tiles.share(MIXED) < 1.0
    every = TileMap(np.full_like(tiles.classes, MIXED), tiles.tile, tiles.size, tiles.source)
    outputs = []
    for tile_map in (tiles, every):
        monkeypatch.setattr(RefinedMask, "tiles", property(lambda self, m=tile_map: m))
        blur = BackgroundBlur()
        blur.open()
        try:
            outputs.append(blur.process(frame, ctx).copy())
        finally:
            blur.close()
    assert np.array_equal(outputs[0], outputs[1])


# The hair region is grown by a distance transform, not an elliptical dilation (a quarter of
# its CPU): the two, feathered alike, differ by at most this at the region's edge...
GROWN_FACE_MAX_DIFF = 0.35
# ... and their areas by at most this share.
GROWN_FACE_AREA_DIFF = 0.02  # 1.6 % measured on a face 13 px high


@pytest.mark.parametrize("scale", [0.25, 0.5, 1.0])
def test_the_hair_region_is_the_face_grown(two_people, scale: float) -> None:
    from pipelines.tracking.regions import CHIN, FOREHEAD_TOP

    _, faces, _ = two_people
    shape = (int(FRAME_H * scale), int(FRAME_W * scale))
    lm = faceassist._scaled_landmarks(faces[0], (FRAME_W, FRAME_H), shape)
    grow = faceassist.HAIR_GROWTH * float(np.linalg.norm(lm[FOREHEAD_TOP] - lm[CHIN]))
    size = (shape[1], shape[0])
    dilated = region_mask(lm, "face_with_forehead", size, dilate=grow, feather=1.0, as_float=True)
    _, grown = faceassist.face_regions(faces[0], (FRAME_W, FRAME_H), shape)
    assert float(np.abs(grown - dilated).max()) <= GROWN_FACE_MAX_DIFF
    assert abs(float(grown.sum()) / float(dilated.sum()) - 1.0) <= GROWN_FACE_AREA_DIFF
    # Grown by the full amount: the region reaches ``grow`` beyond the face, and no further.
    face = region_mask(lm, "face_with_forehead", size)
    beyond = cv2.distanceTransform((face < 128).view(np.uint8), cv2.DIST_L2, 5)
    assert float(grown[(beyond > 0) & (beyond <= grow - 3)].min()) > 0.9
    assert float(grown[beyond >= grow + 4].max()) < 0.01


def test_keep_face_raises_the_mask_by_the_regions(two_people) -> None:
    """Worked out in the regions' boxes only, the same as over the whole mask."""
    _, faces, _ = two_people
    shape = (144, 256)
    rng = np.random.default_rng(0)
    mask = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 3)
    face_area, head_area = faceassist.face_regions(faces[0], (FRAME_W, FRAME_H), shape)
    hair = np.minimum(mask * np.float32(faceassist.HAIR_GAIN), 1.0)
    expected = np.maximum(np.maximum(mask, hair * head_area), face_area)
    kept = faceassist.keep_face(mask, faces[0], (FRAME_W, FRAME_H))
    np.testing.assert_array_equal(kept, expected)
