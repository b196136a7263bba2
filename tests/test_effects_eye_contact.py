"""Eye contact (issue 17): irises moved to look into the camera while the gaze is near it,
fading out smoothly beyond, blinks and turned heads left alone, no extra jitter.

Test faces are the public-domain astronaut portrait (her head region enlarged 3×, so an eye
is ~56 px wide, as on a 720p webcam) made to look aside or down by known angles with the
test's own rig (:mod:`eye_rig`: for a look down the iris goes under the lower lid and the upper
lid follows it). The gaze is then measured as the trackers see it, before and after the stage:

- sideways with the mesh's iris points, which see about half of an imposed angle;
- up and down with MediaPipe's iris model (the mesh's iris points move 0.02 eye widths at 10°
  down): its iris centres against the eye corners of the unchanged portrait (the head is
  still; the mesh's own corners on a changed eye drift with the eye's content by up to 0.03
  eye widths). It sees 0.057 eye widths of a 10° look down (0.078 imposed) and 0.082 of 15°
  (0.117).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import cv2
import numpy as np
import pytest
from effects_support import compare_golden, context, golden_face
from eye_rig import turn_eyes
from golden_data import face_photo

from pipelines.effects.eye_contact import (
    EYES,
    GAZE_GAIN,
    EyeContact,
    EyeContactSettings,
    eye_frame,
    iris_offset,
)
from pipelines.errors import SettingsError
from pipelines.frame import FrameContext
from pipelines.inference import load_model
from pipelines.tracking.iris import EyeLandmarks, IrisLandmark, track_eye
from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings, tracking_factory
from pipelines.tracking.types import Face

STRAIGHT_AHEAD_MAX = 0.10
"""The issue: after the stage, the tracked iris within 10 % of the eye width of where it is
when looking into the camera."""
SIDEWAYS_REDUCTION_MIN = 0.4
"""Sideways (≥10°), the tracked offset from straight ahead shrinks by at least this share."""
DOWN_REDUCTION_MIN = 0.6
"""Down (≥10°), the iris model's up/down offset from straight ahead shrinks by at least this
share (measured: 0.057 → 0.003 at 10°, 0.081 → 0.021 at 15°)."""
OPENING_MARGIN_PX = 1
"""Changed pixels may lie this far outside a tracked eye opening (its antialiased edge)."""
STILL_JITTER_EXTRA_PX = 0.3
"""The issue: no iris jitter beyond the tracker's own on a still face."""
OUTSIDE_TOLERANCE = 0
RIM_SHARPNESS_MAX = 1.25
"""The moved iris's rim is at most this much sharper than the portrait's own (the steepest
rise of brightness across the rim, over the rise: 1/px). The old redraw cut the iris out with
a 1.5 px edge at the model's radius: 1.53× at 10° down, 1.40× at 15°, a pasted disc. Now 1.05×
and 1.09× (the iris moves with its own limbus)."""
RIM_ARC_DEGREES = 30
"""Rim measured on the iris's sides, this far either way of the eye's line (the top and the
bottom lie under the lids)."""
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
    return turn_eyes(image, face.landmarks, axis, degrees)


@pytest.fixture(scope="module")
def iris_model() -> IrisLandmark:
    return load_model(IrisLandmark, tracking_factory())


def _seen(model: IrisLandmark, image: np.ndarray, face: Face, still: Face) -> np.ndarray:
    """(u, v): the iris model's iris centres in ``image`` (eyes found by ``face``, tracked on
    it) against the eye corners of ``still`` (the unchanged portrait), in eye widths."""
    lm = np.asarray(face.landmarks, np.float64)
    ref = np.asarray(still.landmarks, np.float64)
    out = []
    for eye in EYES:
        f = eye_frame(ref, eye[0], eye[1])
        d = track_eye(model, image, lm[eye[0], :2], lm[eye[1], :2]).centre - f.centre
        out.append(np.array([d @ f.right, d @ f.down]) / f.width)
    return np.mean(out, axis=0)


@pytest.mark.parametrize(
    ("axis", "degrees"),
    [((1, 0), 10.0), ((1, 0), 15.0), ((-1, 0), 10.0), ((0, 1), 10.0), ((0, 1), 15.0)],
)
def test_a_gaze_near_the_camera_is_brought_into_it(
    portrait: np.ndarray,
    tracker: FaceTracker,
    iris_model: IrisLandmark,
    axis: tuple[float, float],
    degrees: float,
) -> None:
    still = _track(tracker, portrait).primary_face
    reference = _gaze(still)
    reference_seen = _seen(iris_model, portrait, still, still)
    looking = look(portrait, still, axis, degrees)
    ctx = _track(tracker, looking)
    before = float(np.linalg.norm(_gaze(ctx.primary_face) - reference))
    seen_before = _seen(iris_model, looking, ctx.primary_face, still) - reference_seen
    stage = EyeContact()
    stage.open()
    out = stage.process(looking, ctx)
    tracked = _track(tracker, out).primary_face
    after = float(np.linalg.norm(_gaze(tracked) - reference))
    seen_after = _seen(iris_model, out, tracked, still) - reference_seen
    assert after <= STRAIGHT_AHEAD_MAX, (before, after)
    assert float(np.linalg.norm(seen_after)) <= STRAIGHT_AHEAD_MAX, (seen_before, seen_after)
    if axis[1] == 0:
        assert after <= (1.0 - SIDEWAYS_REDUCTION_MIN) * before, (before, after)
    else:
        assert abs(seen_after[1]) <= (1.0 - DOWN_REDUCTION_MIN) * seen_before[1], (
            seen_before,
            seen_after,
        )


def _rim_sharpness(model: IrisLandmark, image: np.ndarray, face: Face) -> float:
    """How sharp the irises' rims are: the median over rays across the rim on the irises'
    sides (the iris model's circle) of the steepest rise in brightness over the whole rise."""
    lm = np.asarray(face.landmarks, np.float64)
    lum = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    step = 0.5
    sharpness = []
    for eye in EYES:
        seen = track_eye(model, image, lm[eye[0], :2], lm[eye[1], :2])
        c, r = seen.centre, seen.radius
        along = np.arange(r - 5.0, r + 5.0, step)
        for side in (0.0, 180.0):
            for a in np.linspace(-RIM_ARC_DEGREES, RIM_ARC_DEGREES, 7):
                th = math.radians(side + a)
                pts = (c + along[:, None] * [math.cos(th), math.sin(th)]).astype(np.float32)
                ray = cv2.remap(lum, pts[:, :1], pts[:, 1:], cv2.INTER_LINEAR)[:, 0]
                rise = max(float(ray.max() - ray.min()), 1.0)
                sharpness.append(float(np.diff(ray).max()) / step / rise)
    return float(np.median(sharpness))


@pytest.mark.parametrize("degrees", [10.0, 15.0])
def test_the_moved_iris_keeps_its_own_soft_rim(
    portrait: np.ndarray, tracker: FaceTracker, iris_model: IrisLandmark, degrees: float
) -> None:
    # A pasted disc has a hard edge: the moved iris's rim must be about as soft as the eye's
    # own (it carries its limbus along and passes under the lids with a feathered edge).
    still = _track(tracker, portrait).primary_face
    own = _rim_sharpness(iris_model, portrait, still)
    looking = look(portrait, still, (0, 1), degrees)
    ctx = _track(tracker, looking)
    stage = EyeContact()
    stage.open()
    out = stage.process(looking, ctx)
    assert out is not looking
    moved = _rim_sharpness(iris_model, out, _track(tracker, out).primary_face)
    assert moved <= RIM_SHARPNESS_MAX * own, (own, moved, moved / own)


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
    for degrees in range(0, 46, 2):
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


def test_a_look_down_fades_smoothly_beyond_the_set_angle(iris_model: IrisLandmark) -> None:
    image, face, _ = golden_face("astronaut")
    lm = face.landmarks.astype(np.float64)
    eyes = [track_eye(iris_model, image, lm[e[0], :2], lm[e[1], :2]) for e in EYES]
    s = EyeContactSettings(adapt_s=0.0)
    plans = []
    for lowered in np.arange(0.0, 0.32, 0.01):  # the irises lowered, in eye widths
        moved = []
        for eye, seen in zip(EYES, eyes, strict=True):
            f = eye_frame(lm, eye[0], eye[1])
            moved.append(EyeLandmarks(seen.contour, seen.iris + lowered * f.width * f.down))
        stage = EyeContact(s)
        stage.open()
        plans.append(stage.plan(face, 0.0, moved))
    downs = [p["down"] for p in plans]  # type: ignore[index]
    assert all(b > a for a, b in itertools.pairwise(downs))
    for p in plans:
        assert p is not None
        if p["gaze_angle"] <= s.fade_start:
            assert p["weight"] == pytest.approx(1.0)
        if p["gaze_angle"] >= s.fade_start + s.fade_width:
            assert p["weight"] == pytest.approx(0.0)
    ws = [p["weight"] for p in plans]  # type: ignore[index]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(ws))
    assert max(a - b for a, b in itertools.pairwise(ws)) < 0.5
    assert any(0.05 < w < 0.95 for w in ws)
    assert ws[0] == pytest.approx(1.0) and ws[-1] == pytest.approx(0.0)


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


def _outside_openings(changed: np.ndarray, face: Face) -> int:
    allowed = np.zeros(changed.shape, np.uint8)
    for eye in EYES:
        poly = face.landmarks[list(eye[5]), :2].astype(np.float64)
        cv2.fillPoly(allowed, [np.round(poly).astype(np.int32)], 1)
    k = 2 * OPENING_MARGIN_PX + 1
    allowed = cv2.dilate(allowed, np.ones((k, k), np.uint8))
    return int(changed[allowed == 0].sum())


def test_only_the_eye_openings_change(portrait: np.ndarray, tracker: FaceTracker) -> None:
    # Sideways (landmarks turned, the picture's own up/down measured and moved) ...
    image, face, _ = golden_face("astronaut")
    image = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    face = Face(id=1, score=1.0, bbox=tuple(2 * v for v in face.bbox),
                landmarks=face.landmarks * np.float32(2), pose=face.pose)  # fmt: skip
    stage = EyeContact()
    stage.open()
    out = stage.process(image, context(_face_looking(face, 10.0), None))
    changed = np.abs(out.astype(np.int16) - image.astype(np.int16)).max(axis=2) > 0
    assert changed.any()
    # Glasses frames, brows, lids and cheeks lie outside: nothing there moves.
    assert _outside_openings(changed, face) <= OUTSIDE_TOLERANCE
    # ... and a look down 15°: the lowered upper lid stays over the raised iris's top.
    looking = look(portrait, _track(tracker, portrait).primary_face, (0, 1), 15.0)
    ctx = _track(tracker, looking)
    stage = EyeContact()
    stage.open()
    out = stage.process(looking, ctx)
    changed = np.abs(out.astype(np.int16) - looking.astype(np.int16)).max(axis=2) > 0
    assert int(changed.sum()) > 100
    assert _outside_openings(changed, ctx.primary_face) <= OUTSIDE_TOLERANCE


@pytest.mark.parametrize("axis", [(1, 0), (0, 1)])
def test_a_still_face_keeps_still(
    portrait: np.ndarray, iris_model: IrisLandmark, axis: tuple[float, float]
) -> None:
    tracker = FaceTracker()  # with the tracker's own smoothing, as in the presets
    tracker.open()
    looking = look(portrait, _track(FaceTracker(FaceTrackerSettings(smoothing=0.0)), portrait)
                   .primary_face, axis, 10.0)  # fmt: skip
    stage = EyeContact()
    stage.open()
    check = FaceTracker(FaceTrackerSettings(smoothing=0.0))
    check.open()
    rng = np.random.default_rng(7)
    tracked_in, tracked_out, seen_in, seen_out = [], [], [], []
    for i in range(20):
        noisy = np.clip(looking + rng.normal(0, 2.0, looking.shape), 0, 255).astype(np.uint8)
        ctx = FrameContext(timestamp=i / 30.0, index=i)
        tracker.process(noisy, ctx)
        out = stage.process(noisy, ctx)
        face = ctx.primary_face
        tracked_in.append(face.landmarks[[468, 473], :2].copy())
        c2 = FrameContext(timestamp=i / 30.0, index=i)
        check.process(out, c2)
        tracked_out.append(c2.primary_face.raw_landmarks[[468, 473], :2].copy())
        # The iris model (the up/down tracker), on the same eye crops in and out.
        lm = face.landmarks
        seen_in.append([track_eye(iris_model, noisy, lm[e[0]], lm[e[1]]).centre for e in EYES])
        seen_out.append([track_eye(iris_model, out, lm[e[0]], lm[e[1]]).centre for e in EYES])

    def jitter(points: list[object]) -> float:
        return float(np.std(np.asarray(points, np.float64)[5:], axis=0).mean())

    assert jitter(tracked_out) <= jitter(tracked_in) + STILL_JITTER_EXTRA_PX, (
        jitter(tracked_in),
        jitter(tracked_out),
    )
    assert jitter(seen_out) <= jitter(seen_in) + STILL_JITTER_EXTRA_PX, (
        jitter(seen_in),
        jitter(seen_out),
    )


def test_settings_and_bad_input() -> None:
    with pytest.raises(SettingsError):
        EyeContactSettings(fade_start=90.0)
    image, face, _ = golden_face("astronaut")
    stage = EyeContact()
    stage.open()
    short = Face(id=1, score=1.0, bbox=face.bbox, landmarks=face.landmarks[:468])
    assert stage.process(image, context(short, None)) is image  # no irises: nothing to move
    assert stage.process(image, context(None, None)) is image


def test_golden_picture(portrait: np.ndarray, tracker: FaceTracker) -> None:
    # The eyes 12° down (the rig), tracked and moved as in a live run: the tracker's and the
    # iris model's results depend on this machine's ONNX Runtime, hence the tolerances.
    still = _track(tracker, portrait).primary_face
    looking = look(portrait, still, (0, 1), 12.0)
    ctx = _track(tracker, looking)
    stage = EyeContact()
    stage.open()
    out = stage.process(looking, ctx)
    lm = still.landmarks
    x0, x1 = int(lm[33, 0]) - 20, int(lm[263, 0]) + 20
    y0, y1 = int(lm[159, 1]) - 30, int(lm[145, 1]) + 30
    compare_golden("eye_contact_down_12deg", np.hstack([looking[y0:y1, x0:x1], out[y0:y1, x0:x1]]),
                   GOLDEN_MEAN_MAX, GOLDEN_MAX_ABS)  # fmt: skip


def test_presenter_preset_has_eye_contact_before_the_light() -> None:
    from pipelines.presets import build_stages, get_preset

    names = [s.stage for s in get_preset("presenter").stages]
    assert names.index("eye_contact") < names.index("key_light")
    assert any(isinstance(s, EyeContact) for s in build_stages(get_preset("presenter")))


class _Counted:
    """The stage's iris model, counting its calls."""

    def __init__(self, model: IrisLandmark) -> None:
        self.model, self.calls = model, 0

    def __call__(self, *args: object) -> object:
        self.calls += 1
        return self.model(*args)


def _counted_stage(settings: EyeContactSettings) -> tuple[EyeContact, _Counted]:
    stage = EyeContact(settings)
    stage.open()
    counted = _Counted(stage._iris)  # type: ignore[arg-type]
    stage._iris = counted  # type: ignore[assignment]
    return stage, counted


def test_the_iris_model_runs_on_a_still_face_only_now_and_then(
    portrait: np.ndarray, tracker: FaceTracker
) -> None:
    # A still face looking down (the stage moving its eyes all along), with camera noise and
    # the tracker's own smoothing: each eye is re-measured every `remeasure_frames` frames,
    # not every frame (the model costs as much as the face mesh a call).
    looking = look(portrait, _track(tracker, portrait).primary_face, (0, 1), 10.0)
    live = FaceTracker()
    live.open()
    settings = EyeContactSettings(remeasure_frames=8)
    stage, counted = _counted_stage(settings)
    rng = np.random.default_rng(5)
    frames = 24
    moved = 0
    for i in range(frames):
        noisy = np.clip(looking + rng.normal(0, 2.0, looking.shape), 0, 255).astype(np.uint8)
        ctx = FrameContext(timestamp=i / 30.0, index=i)
        live.process(noisy, ctx)
        moved += stage.process(noisy, ctx) is not noisy
    assert moved == frames  # the eyes were corrected on every frame, measured or not
    # Both eyes on the first frame, then one eye every remeasure_frames / 2 frames.
    assert counted.calls <= 2 + 2 * (frames - 1) // settings.remeasure_frames, counted.calls


def test_an_eye_that_moves_is_measured_again_at_once(
    portrait: np.ndarray, tracker: FaceTracker
) -> None:
    still = _track(tracker, portrait).primary_face
    aside = look(portrait, still, (1, 0), 10.0)
    live = FaceTracker(FaceTrackerSettings(smoothing=0.0))
    live.open()
    stage, counted = _counted_stage(EyeContactSettings(remeasure_frames=30))
    calls = []
    for i, image in enumerate([portrait] * 4 + [aside] * 2):
        ctx = FrameContext(timestamp=i / 30.0, index=i)
        live.process(image, ctx)
        stage.process(image, ctx)
        calls.append(counted.calls)
    assert calls[:4] == [2, 2, 2, 2]  # both eyes at the start, then nothing while still
    assert calls[4:] == [3, 4]  # the look aside: one eye a frame, both re-measured


def test_a_moved_eye_is_redrawn_where_it_now_is(portrait: np.ndarray, tracker: FaceTracker) -> None:
    # The redraw's geometry is kept while the eye stays within HOLD_PX: an eye that moved
    # farther (here the whole picture, 2 px right) is redrawn where it now is, exactly as the
    # first frame moved along.
    looking = look(portrait, _track(tracker, portrait).primary_face, (0, 1), 10.0)
    face = _track(tracker, looking).primary_face
    stage = EyeContact()
    stage.open()
    first = stage.process(looking, FrameContext(timestamp=0.0, index=0, primary_face=face))
    shifted = dataclasses.replace(face, landmarks=face.landmarks + np.float32([2.0, 0.0, 0.0]))
    moved = np.roll(looking, 2, axis=1)
    # 0.9 s on: the iris model's smoothed points have caught up with the move.
    second = stage.process(moved, FrameContext(timestamp=0.9, index=1, primary_face=shifted))
    assert second is not moved
    diff = np.abs(second.astype(np.int16) - np.roll(first, 2, axis=1).astype(np.int16))
    assert int(diff[:, 4:].max()) <= 2, int(diff.max())


def test_a_head_turned_away_costs_no_iris_model() -> None:
    # A three-quarter profile (~50° away, past head_limit + fade_width): no move, whatever
    # the gaze, so the iris model is not run at all.
    cam, cam_face, _ = golden_face("cameraman")
    stage, counted = _counted_stage(EyeContactSettings())
    for i in range(4):
        assert stage.process(cam, context(cam_face, None, i / 30.0)) is cam
    assert counted.calls == 0
