"""Eye contact (issue 17): irises moved to look into the camera while the gaze is near it,
fading out smoothly beyond, blinks and turned heads left alone, no extra jitter.

Test faces are the public-domain astronaut portrait (her head region enlarged 3×, so an eye
is ~56 px wide, as on a 720p webcam) made to look aside or down by known angles with the
stage's own warp (:func:`warp_eye`, the lid following the iris as in a real look down). The
gaze is then measured as the real face tracker sees it, before and after the stage.

What the tracker sees of a look down is small: the iris landmarks move ~0.005 eye widths at
10° down (the lid moves ~0.03), and the stage's up/down correction is off by default
(``vertical``, see its docstring). The "within 10 % of straight ahead" target therefore holds
for a look down before the stage already: those cases check that the stage does no harm.
Sideways the tracker sees about half of the true offset and the stage brings it back.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest
from effects_support import compare_golden, context, golden_face
from golden_data import face_photo

from pipelines.effects.eye_contact import (
    EYES,
    GAZE_GAIN,
    LID_REACH,
    EyeContact,
    EyeContactSettings,
    eye_frame,
    iris_offset,
    warp_eye,
)
from pipelines.errors import SettingsError
from pipelines.frame import FrameContext
from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings
from pipelines.tracking.types import Face

STRAIGHT_AHEAD_MAX = 0.10
"""The issue: after the stage, the tracked iris within 10 % of the eye width of where it is
when looking into the camera."""
SIDEWAYS_REDUCTION_MIN = 0.4
"""Sideways (≥10°), the tracked offset from straight ahead shrinks by at least this share."""
STILL_JITTER_EXTRA_PX = 0.3
"""The issue: no iris jitter beyond the tracker's own on a still face."""
OUTSIDE_TOLERANCE = 0
GOLDEN_MEAN_MAX = 0.3
GOLDEN_MAX_ABS = 8
ENLARGE = 3


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    head = face_photo("astronaut")[0:256, 90:346]
    return cv2.resize(head, None, fx=ENLARGE, fy=ENLARGE, interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def tracker() -> FaceTracker:
    t = FaceTracker(FaceTrackerSettings(smoothing=0.0))
    t.open()
    return t


def _track(tracker: FaceTracker, image: np.ndarray) -> FrameContext:
    ctx = FrameContext(timestamp=0.0, index=0)
    tracker.reset()
    tracker.process(image, ctx)
    assert ctx.primary_face is not None
    return ctx


def _gaze(face: Face) -> np.ndarray:
    lm = np.asarray(face.landmarks, np.float64)
    return np.mean([iris_offset(lm, eye) for eye in EYES], axis=0)


def look(image: np.ndarray, face: Face, axis: tuple[float, float], degrees: float) -> np.ndarray:
    """``image`` with both eyes turned ``degrees`` along ``axis`` (image x right, y down)."""
    lm = np.asarray(face.landmarks, np.float64)
    out = image.copy()
    for eye in EYES:
        f = eye_frame(lm, eye[0], eye[1])
        shift = GAZE_GAIN * math.sin(math.radians(degrees)) * f.width * np.asarray(axis)
        warp_eye(image, out, lm, eye, shift)
    return out


@pytest.mark.parametrize(
    ("axis", "degrees"),
    [((1, 0), 10.0), ((1, 0), 15.0), ((-1, 0), 10.0), ((0, 1), 10.0), ((0, 1), 15.0)],
)
def test_a_gaze_near_the_camera_is_brought_into_it(
    portrait: np.ndarray, tracker: FaceTracker, axis: tuple[float, float], degrees: float
) -> None:
    reference = _gaze(_track(tracker, portrait).primary_face)
    looking = look(portrait, _track(tracker, portrait).primary_face, axis, degrees)
    ctx = _track(tracker, looking)
    before = float(np.linalg.norm(_gaze(ctx.primary_face) - reference))
    stage = EyeContact()
    stage.open()
    out = stage.process(looking, ctx)
    after = float(np.linalg.norm(_gaze(_track(tracker, out).primary_face) - reference))
    assert after <= STRAIGHT_AHEAD_MAX, (before, after)
    if axis[1] == 0:
        assert after <= (1.0 - SIDEWAYS_REDUCTION_MIN) * before, (before, after)


def _face_looking(face: Face, degrees: float) -> Face:
    """``face`` with its irises moved ``degrees`` toward the image's right (landmarks only)."""
    lm = np.asarray(face.landmarks, np.float64).copy()
    for eye in EYES:
        f = eye_frame(lm, eye[0], eye[1])
        lm[eye[4] : eye[4] + 5, :2] += (
            GAZE_GAIN * math.sin(math.radians(degrees)) * f.width * (f.right)
        )
    return Face(id=face.id, score=1.0, bbox=face.bbox, landmarks=lm.astype(np.float32),
                pose=face.pose)  # fmt: skip


def test_the_move_fades_smoothly_beyond_the_set_angle() -> None:
    _, face, _ = golden_face("astronaut")
    s = EyeContactSettings(adapt_s=0.0)
    weights = []
    for degrees in range(0, 46, 3):
        stage = EyeContact(s)
        stage.open()
        plan = stage.plan(_face_looking(face, degrees), 0.0)
        assert plan is not None
        weights.append((plan["gaze_angle"], plan["weight"]))
    for angle, weight in weights:
        if angle <= s.fade_start:
            assert weight == pytest.approx(1.0)
        if angle >= s.fade_start + s.fade_width:
            assert weight == pytest.approx(0.0)
    # Monotone, and no step larger than the angle step allows (no snap).
    ws = [w for _, w in weights]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(ws))
    assert max(a - b for a, b in itertools.pairwise(ws)) < 0.5
    assert any(0.05 < w < 0.95 for w in ws)  # a fade, not a switch


def test_a_look_away_fades_over_time_not_at_once() -> None:
    _, face, _ = golden_face("astronaut")
    stage = EyeContact()
    stage.open()
    near, away = _face_looking(face, 5.0), _face_looking(face, 60.0)
    assert stage.plan(near, 0.0)["weight"] == pytest.approx(1.0)  # type: ignore[index]
    trail = [stage.plan(away, (i + 1) / 30.0)["weight"] for i in range(30)]  # type: ignore[index]
    steps = np.abs(np.diff([1.0, *trail]))
    assert float(steps.max()) < 0.25  # ≥ 5 frames to fade at 30 fps
    assert trail[-1] < 0.05


def test_blinks_closed_eyes_and_turned_heads_are_left_alone() -> None:
    image, face, _ = golden_face("astronaut")
    looking = _face_looking(face, 8.0)
    lm = looking.landmarks.copy()
    for eye in EYES:  # shut both eyes: the upper lid on the lower one
        ring = list(eye[5])
        lm[ring[1:8], 1] = lm[ring[15:8:-1], 1]
    shut = Face(id=1, score=1.0, bbox=face.bbox, landmarks=lm, pose=face.pose)
    stage = EyeContact()
    stage.open()
    assert stage.process(image, context(shut, None)) is image
    cam, cam_face, _ = golden_face("cameraman")  # three-quarter profile, head ~50° away
    assert stage.process(cam, context(_face_looking(cam_face, 8.0), None)) is cam
    # ... while the open, frontal eyes looking 8° aside are moved.
    assert stage.process(image, context(looking, None)) is not image


def test_only_the_eye_openings_and_upper_lids_change() -> None:
    image, face, _ = golden_face("astronaut")
    image = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    face = Face(id=1, score=1.0, bbox=tuple(2 * v for v in face.bbox),
                landmarks=face.landmarks * np.float32(2), pose=face.pose)  # fmt: skip
    stage = EyeContact()
    stage.open()
    out = stage.process(image, context(_face_looking(face, 10.0), None))
    changed = np.abs(out.astype(np.int16) - image.astype(np.int16)).max(axis=2) > 0
    assert changed.any()
    allowed = np.zeros(changed.shape, np.uint8)
    for eye in EYES:
        f = eye_frame(face.landmarks.astype(np.float64), eye[0], eye[1])
        poly = face.landmarks[list(eye[5]), :2].astype(np.float64)
        poly[1:8] -= LID_REACH * f.width * f.down  # the upper lid goes along up or down
        cv2.fillPoly(allowed, [np.round(poly).astype(np.int32)], 1)
        k = round(0.05 * f.width) * 2 + 1
        allowed = cv2.dilate(allowed, np.ones((k, k), np.uint8))
    # Glasses frames, brows and cheeks lie outside: nothing there moves.
    assert int(changed[allowed == 0].sum()) <= OUTSIDE_TOLERANCE


def test_a_still_face_keeps_still(portrait: np.ndarray) -> None:
    tracker = FaceTracker()  # with the tracker's own smoothing, as in the presets
    tracker.open()
    looking = look(portrait, _track(FaceTracker(FaceTrackerSettings(smoothing=0.0)), portrait)
                   .primary_face, (1, 0), 10.0)  # fmt: skip
    stage = EyeContact()
    stage.open()
    check = FaceTracker(FaceTrackerSettings(smoothing=0.0))
    check.open()
    rng = np.random.default_rng(7)
    tracked_in, tracked_out = [], []
    for i in range(20):
        noisy = np.clip(looking + rng.normal(0, 2.0, looking.shape), 0, 255).astype(np.uint8)
        ctx = FrameContext(timestamp=i / 30.0, index=i)
        tracker.process(noisy, ctx)
        out = stage.process(noisy, ctx)
        tracked_in.append(ctx.primary_face.landmarks[[468, 473], :2].copy())
        c2 = FrameContext(timestamp=i / 30.0, index=i)
        check.process(out, c2)
        tracked_out.append(c2.primary_face.raw_landmarks[[468, 473], :2].copy())
    jitter_in = float(np.std(np.asarray(tracked_in)[5:], axis=0).mean())
    jitter_out = float(np.std(np.asarray(tracked_out)[5:], axis=0).mean())
    assert jitter_out <= jitter_in + STILL_JITTER_EXTRA_PX, (jitter_in, jitter_out)


def test_settings_and_bad_input() -> None:
    with pytest.raises(SettingsError):
        EyeContactSettings(fade_start=90.0)
    image, face, _ = golden_face("astronaut")
    stage = EyeContact()
    stage.open()
    short = Face(id=1, score=1.0, bbox=face.bbox, landmarks=face.landmarks[:468])
    assert stage.process(image, context(short, None)) is image  # no irises: nothing to move
    assert stage.process(image, context(None, None)) is image


def test_golden_picture(portrait: np.ndarray) -> None:
    # Deterministic: MediaPipe's golden landmarks (enlarged as the portrait), irises 12° aside.
    _, face, _ = golden_face("astronaut")
    lm = face.landmarks.copy()
    lm[:, 0] = (lm[:, 0] - 90) * ENLARGE
    lm[:, 1] *= ENLARGE
    lm[:, 2] *= ENLARGE
    big = Face(id=1, score=1.0, bbox=face.bbox, landmarks=lm, pose=face.pose)
    looking = look(portrait, big, (1, 0), 12.0)
    stage = EyeContact()
    stage.open()
    out = stage.process(looking, context(_face_looking(big, 12.0), None))
    x0, x1 = int(lm[33, 0]) - 20, int(lm[263, 0]) + 20
    y0, y1 = int(lm[159, 1]) - 30, int(lm[145, 1]) + 30
    compare_golden("eye_contact_12deg", np.hstack([looking[y0:y1, x0:x1], out[y0:y1, x0:x1]]),
                   GOLDEN_MEAN_MAX, GOLDEN_MAX_ABS)  # fmt: skip


def test_presenter_preset_has_eye_contact_before_the_light() -> None:
    from pipelines.presets import build_stages, get_preset

    names = [s.stage for s in get_preset("presenter").stages]
    assert names.index("eye_contact") < names.index("key_light")
    assert any(isinstance(s, EyeContact) for s in build_stages(get_preset("presenter")))
