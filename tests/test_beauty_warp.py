"""Shape warps (eye enlarge, face slimming): compact, continuous, fold-free, and moving the jaw
landmarks by the set amount. Driven by MediaPipe's golden landmarks; the last test re-runs the
face tracker on the warped photo."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from beauty_support import OFF
from golden_data import face_photo, load_golden

from pipelines.beauty import warp
from pipelines.beauty.geometry import face_size
from pipelines.beauty.stage import BeautySettings, BeautyStage
from pipelines.frame import FrameContext
from pipelines.tracking import regions
from pipelines.tracking.types import Face

ZERO_TOLERANCE_PX = 1e-3
"""Displacement counted as none."""
MAX_STEP_PX = 0.35
"""Continuity: at strength 1 the displacement changes by at most this between neighbouring
pixels (measured ≤ 0.33: the field's slope is bounded by design, see warp.SLIM_MAX_SLOPE)."""
MIN_JACOBIAN = 0.5
"""det of the backward map's Jacobian stays above this: no folds, no tearing."""
LANDMARK_TOLERANCE_PX = 0.3
"""Content at a jaw landmark lands within this of the landmark plus its set displacement."""
TRACKER_MIN_FRACTION = 0.2
"""Re-tracked, the jaw moves inward by at least this fraction of the set amount: the mesh
model's jaw points follow its shape prior more than the image's contour, so it sees only part
of the movement (measured 0.3–0.6 at the jaw angle)."""


@cache
def _mesh() -> dict[str, np.ndarray]:
    return load_golden("solution_face_mesh")


def golden(photo: str) -> tuple[np.ndarray, np.ndarray, float]:
    image = face_photo(photo)
    h, w = image.shape[:2]
    lm = (_mesh()[f"{photo}/landmarks"][0] * np.array([w, h, w], np.float32)).astype(np.float32)
    return image, lm, face_size(lm[:, :2])


def sample(field: warp.WarpField, points: np.ndarray) -> np.ndarray:
    """Bilinear backward displacement at frame ``points`` (N×2)."""
    r = field.rect
    out = []
    for arr in (field.dx, field.dy):
        x = points[:, 0] - r.x0
        y = points[:, 1] - r.y0
        x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
        fx, fy = x - x0, y - y0
        v = (
            arr[y0, x0] * (1 - fx) * (1 - fy)
            + arr[y0, x0 + 1] * fx * (1 - fy)
            + arr[y0 + 1, x0] * (1 - fx) * fy
            + arr[y0 + 1, x0 + 1] * fx * fy
        )
        out.append(v)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("photo", ["astronaut", "astronaut_rot30", "cameraman"])
def test_displacement_is_zero_at_the_boundary_and_continuous(photo: str) -> None:
    image, lm, size = golden(photo)
    field = warp.inverse_field(lm[:, :2], size, (image.shape[1], image.shape[0]), 1.0, 1.0)
    assert field is not None
    mag = np.hypot(field.dx, field.dy)
    assert mag.max() > 1.0  # it does move things
    border = np.concatenate([mag[0], mag[-1], mag[:, 0], mag[:, -1]])
    # Where the rectangle was clipped by the frame edge the field may go on; elsewhere it ends.
    r = field.rect
    clipped = r.x0 == 0 or r.y0 == 0 or r.x1 == image.shape[1] or r.y1 == image.shape[0]
    if not clipped:
        assert border.max() <= ZERO_TOLERANCE_PX
    # Zero beyond every part's support.
    parts = warp.forward_parts(lm[:, :2], size, 1.0, 1.0)
    ys, xs = np.mgrid[r.y0 : r.y1, r.x0 : r.x1]
    far = np.ones(mag.shape, bool)
    for part in parts:
        if isinstance(part, warp.SlimField):
            for c in part.centres:
                far &= np.hypot(xs - c[0], ys - c[1]) > part.support + 1.5
        else:
            far &= np.hypot(xs - part.centre[0], ys - part.centre[1]) > part.radius + 1.5
    assert far.any() and mag[far].max() <= ZERO_TOLERANCE_PX
    # Continuous and fold-free.
    for arr in (field.dx, field.dy):
        assert np.abs(np.diff(arr, axis=0)).max() <= MAX_STEP_PX
        assert np.abs(np.diff(arr, axis=1)).max() <= MAX_STEP_PX
    jxx = 1 + np.diff(field.dx, axis=1)[:-1, :]
    jxy = np.diff(field.dx, axis=0)[:, :-1]
    jyx = np.diff(field.dy, axis=1)[:-1, :]
    jyy = 1 + np.diff(field.dy, axis=0)[:, :-1]
    assert (jxx * jyy - jxy * jyx).min() > MIN_JACOBIAN


def _inward(lm: np.ndarray, idx: int) -> np.ndarray:
    """Unit vector from jaw landmark ``idx`` towards the face's midline, across the face."""
    axis = lm[regions.CHIN] - lm[regions.FOREHEAD_TOP]
    axis = axis / np.linalg.norm(axis)
    across = np.array([-axis[1], axis[0]])
    side = np.sign(np.dot(lm[idx] - lm[warp.NOSE_TIP], across))
    return np.asarray(-side * across)


@pytest.mark.parametrize("amount", [0.5, 1.0])
@pytest.mark.parametrize("photo", ["astronaut", "astronaut_rot30", "two_faces"])
def test_face_slimming_moves_jaw_landmarks_inward_by_the_set_amount(
    photo: str, amount: float
) -> None:
    image, lm, size = golden(photo)
    xy = lm[:, :2].astype(np.float64)
    field = warp.inverse_field(xy, size, (image.shape[1], image.shape[0]), 0.0, amount)
    assert field is not None
    jaw = list(warp.JAW_RIGHT) + list(warp.JAW_LEFT)
    profile = np.array(warp.JAW_PROFILE * 2)
    # The set amount, from the settings' definition: inward, amount × SLIM_MAX × face size ×
    # the landmark's profile weight.
    want = np.stack([_inward(xy, i) for i in jaw]) * (amount * warp.SLIM_MAX * size)
    want *= profile[:, None]
    landed = xy[jaw] + want
    # out(p) = in(p + d(p)): the pixel at landmark + displacement shows the landmark.
    source = landed + sample(field, landed)
    assert np.abs(source - xy[jaw]).max() <= LANDMARK_TOLERANCE_PX
    # The features that are held still stay put.
    held = np.array(warp.SLIM_ANCHORS)
    assert np.abs(sample(field, xy[held])).max() <= LANDMARK_TOLERANCE_PX


def test_eye_enlarge_magnifies_around_the_eye_centre() -> None:
    image, lm, size = golden("astronaut")
    xy = lm[:, :2].astype(np.float64)
    field = warp.inverse_field(xy, size, (image.shape[1], image.shape[0]), 1.0, 0.0)
    assert field is not None
    for iris in (468, 473):
        c = xy[iris]
        assert np.abs(sample(field, c[None])).max() <= LANDMARK_TOLERANCE_PX
        # Near the centre the backward map shrinks distances by 1 + EYE_MAX_SCALE.
        h = 2.0
        pts = c + np.array([[h, 0.0], [-h, 0.0], [0.0, h], [0.0, -h]])
        src = pts + sample(field, pts)
        gain = 2 * h / np.linalg.norm(src[0] - src[1]), 2 * h / np.linalg.norm(src[2] - src[3])
        assert gain == pytest.approx((1 + warp.EYE_MAX_SCALE,) * 2, rel=0.03)


def test_no_warp_at_zero_strength_and_untouched_outside_the_warp() -> None:
    image, lm, size = golden("astronaut")
    assert warp.inverse_field(lm[:, :2], size, (image.shape[1], image.shape[0]), 0.0, 0.0) is None
    face = Face(0, 1.0, (0, 0, 0, 0), lm)
    stage = BeautyStage(BeautySettings(**{**OFF, "face_slim": 1.0, "eye_enlarge": 1.0}))
    ctx = FrameContext(0.0, 0, faces=[face], primary_face=face)
    out = stage.process(image, ctx)
    assert ctx.extras["beauty"]["warped"]
    field = warp.inverse_field(lm[:, :2], size, (image.shape[1], image.shape[0]), 1.0, 1.0)
    assert field is not None
    outside = np.ones(image.shape[:2], bool)
    outside[field.rect.slices] = False
    assert np.array_equal(out[outside], image[outside])
    assert not np.array_equal(out, image)


def test_retracked_jaw_moves_inward() -> None:
    """Re-run the face tracker on the slimmed photo: the jaw landmarks it finds moved inward,
    more at amount 1 than at 0.5, while the rest of the face stays."""
    tracker_mod = pytest.importorskip("pipelines.tracking.tracker")
    image, lm, size = golden("astronaut")
    face = Face(0, 1.0, (0, 0, 0, 0), lm)

    def track(img: np.ndarray) -> np.ndarray:
        tracker = tracker_mod.FaceTracker(tracker_mod.FaceTrackerSettings(smoothing=0.0))
        tracker.open()
        try:
            ctx = FrameContext(0.0, 0)
            tracker.process(img, ctx)
        finally:
            tracker.close()
        assert ctx.primary_face is not None
        return np.asarray(ctx.primary_face.landmarks[:, :2], np.float64)

    base = track(image)
    strongest = [i for i, p in zip(warp.JAW_RIGHT, warp.JAW_PROFILE, strict=True) if p >= 0.9]
    strongest += [i for i, p in zip(warp.JAW_LEFT, warp.JAW_PROFILE, strict=True) if p >= 0.9]
    moved = {}
    for amount in (0.5, 1.0):
        stage = BeautyStage(BeautySettings(**{**OFF, "face_slim": amount}))
        out = stage.process(image, FrameContext(0.0, 0, faces=[face], primary_face=face))
        after = track(out)
        inward = [float(np.dot(after[i] - base[i], _inward(base, i))) for i in strongest]
        moved[amount] = float(np.mean(inward))
        want = amount * warp.SLIM_MAX * size
        assert moved[amount] > TRACKER_MIN_FRACTION * want
        assert np.median(np.linalg.norm(after - base, axis=1)) < 0.3 * want + 0.5
    assert moved[1.0] > moved[0.5]
