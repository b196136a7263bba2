"""The talking-head stage: life (blinks, listening, mirroring), overlay and stand-in modes,
"use my face", and audio driving the mouth through ctx.audio."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from avatar_builds import BUILD_LOGGER, build_said
from golden_data import face_photo, load_golden

from pipelines.audio.mouth import MouthParams
from pipelines.audio.stage import AudioState
from pipelines.avatar import compose
from pipelines.avatar.compose import compose_overlay, overlay_masks, overlay_place, shrink
from pipelines.avatar.motion import BLINK_MIN_S, JAW_CURVE, Animator, MotionSettings
from pipelines.avatar.portrait import Portrait, make_portrait
from pipelines.avatar.stage import (
    TALKING_HEAD_INFO,
    Avatar,
    TalkingHead,
    TalkingHeadInfo,
    TalkingHeadSettings,
)
from pipelines.errors import SettingsError
from pipelines.frame import FrameContext
from pipelines.tracking.types import Face, HeadPose

pytestmark = pytest.mark.clock_free

BLINKS_PER_MINUTE = (8, 30)
"""People blink 15-20 times a minute at rest; allow a wide band for one seeded minute."""
FPS = 30.0


@pytest.fixture(scope="module")
def golden_landmarks() -> np.ndarray:
    return load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0


@pytest.fixture(scope="module")
def avatar(golden_landmarks) -> Avatar:
    return Avatar.build(make_portrait(face_photo("astronaut"), golden_landmarks))


def info(ctx: FrameContext) -> TalkingHeadInfo:
    got = ctx.get(TALKING_HEAD_INFO)
    assert got is not None, "the stage wrote no TALKING_HEAD_INFO"
    return got


def fake_face(landmarks: np.ndarray, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0):
    lm = np.asarray(landmarks, np.float32)
    x0, y0 = lm[:, :2].min(axis=0)
    x1, y1 = lm[:, :2].max(axis=0)
    return Face(
        id=1,
        score=0.99,
        bbox=(x0, y0, x1 - x0, y1 - y0),
        landmarks=lm,
        pose=HeadPose(yaw, pitch, roll, np.eye(4)),
    )


# --------------------------------------------------------------------------- motion
def test_blinks_come_at_natural_intervals() -> None:
    anim = Animator(MotionSettings(seed=3))
    closed = []
    for i in range(int(60 * FPS)):
        closed.append(anim.update(i / FPS)["blink_left"] > 0.5)
    starts = [i for i in range(1, len(closed)) if closed[i] and not closed[i - 1]]
    assert BLINKS_PER_MINUTE[0] <= len(starts) <= BLINKS_PER_MINUTE[1], len(starts)
    gaps = np.diff(starts) / FPS
    singles = gaps[gaps > 0.5]  # double blinks come 0.28 s apart
    assert singles.min() >= BLINK_MIN_S - 1 / FPS
    durations = []
    run = 0
    for c in closed:
        if c:
            run += 1
        elif run:
            durations.append(run / FPS)
            run = 0
    assert max(durations) <= 0.2  # a blink is quick


def test_listening_moves_the_head_and_eyes_speaking_moves_the_mouth() -> None:
    anim = Animator(MotionSettings(seed=5))
    silent = [anim.update(i / FPS) for i in range(int(20 * FPS))]
    pitch = [w["pitch_down"] - w["pitch_up"] for w in silent]
    gaze = [w["gaze_right"] - w["gaze_left"] for w in silent]
    assert max(pitch) - min(pitch) > 0.2, "no nods while listening"
    assert max(gaze) - min(gaze) > 0.3, "no gaze shifts while listening"
    assert max(w.get("smile", 0.0) for w in silent) > 0.3, "never smiled in 20 s"
    assert max(w["jaw"] for w in silent) == 0.0
    talk = MouthParams(jaw=0.8, closure=0.0, width=0.5, level=0.9, speaking=True)
    w = anim.update(20.0 + 1 / FPS, talk)
    assert w["jaw"] == pytest.approx(0.8**JAW_CURVE) and w["spread"] > 0


def test_closure_wins_over_jaw() -> None:
    w = Animator(MotionSettings(idle=False, blinks=False)).update(
        0.0, MouthParams(jaw=0.6, closure=1.0, speaking=True)
    )
    assert w["jaw"] == 0.0 and w["closure"] > 0.6


def test_head_pose_mirrors_the_user() -> None:
    """The user's turns are followed in full; a pose held for long (the camera's angle) only
    in part; off, the user's pose is ignored."""
    anim = Animator(MotionSettings(seed=1, idle=False))
    for i in range(30):
        anim.update(i / FPS, user_pose=(0.0, 0.0, 0.0))
    for i in range(30, 60):
        w = anim.update(i / FPS, user_pose=(6.0, -4.0, 3.0))
    assert w["yaw_right"] > 0.5 and w["yaw_left"] == 0.0
    assert w["pitch_down"] > 0.3 and w["roll_cw"] > 0.3
    still = Animator(MotionSettings(seed=1, mirror_head=False))
    for i in range(60):
        w2 = still.update(i / FPS, user_pose=(6.0, -4.0, 3.0))
    assert w2["yaw_right"] < 0.4


def test_mirrored_head_is_never_pinned_at_a_limit() -> None:
    """A user whose head sits 11° down (a camera above the screen) and nods by ±4° around it:
    the avatar's pitch never rests at its limit, and the nods show."""
    anim = Animator(MotionSettings(seed=2, idle=False))
    pitch = []
    for i in range(int(20 * FPS)):
        t = i / FPS
        nod = 4.0 * np.sin(2 * np.pi * 0.5 * t)
        w = anim.update(t, user_pose=(1.0, -11.0 + nod, 0.0))
        pitch.append(w["pitch_up"] - w["pitch_down"])
    late = np.asarray(pitch[int(8 * FPS) :])
    assert np.abs(late).max() < 0.95, "held at the limit"
    assert np.ptp(late) > 0.6, "nods do not show"


def test_same_seed_same_motion() -> None:
    a, b = Animator(MotionSettings(seed=9)), Animator(MotionSettings(seed=9))
    for i in range(300):
        assert a.update(i / FPS) == b.update(i / FPS)


# --------------------------------------------------------------------------- compose
@pytest.mark.parametrize("corner", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_overlay_goes_in_its_corner(corner: str) -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    avatar = np.full((512, 512, 3), 200, np.uint8)
    compose_overlay(
        frame,
        avatar,
        size=0.3,
        corner=corner,
        shape="round",
        radius=0.1,
        border=0,
        border_bgr=(0, 0, 255),
    )
    ys, xs = np.nonzero(frame[..., 0] > 100)
    cx, cy = xs.mean(), ys.mean()
    assert (cx < 320) == ("left" in corner) and (cy < 180) == ("top" in corner)
    side = round(0.3 * 360)
    assert abs(np.ptp(xs) + 1 - side) <= 3
    # Round: the box's corners stay as they were.
    x0, y0 = xs.min(), ys.min()
    assert frame[y0 + 1, x0 + 1].max() == 0


def test_overlay_border_and_rounded_rect() -> None:
    inner, ring = overlay_masks(100, "rounded-rect", 0.2, 4)
    assert inner[50, 50, 0] == 1.0 and inner[0, 0, 0] == 0.0
    assert ring[50, 1, 0] > 0.9 and ring[50, 50, 0] == 0.0
    frame = np.zeros((200, 200, 3), np.uint8)
    compose_overlay(
        frame,
        np.zeros((512, 512, 3), np.uint8),
        size=0.5,
        corner="top-left",
        shape="rounded-rect",
        radius=0.2,
        border=4,
        border_bgr=(0, 0, 255),
        margin=0,
    )
    assert frame[50, 1, 2] > 200 and frame[50, 50].max() == 0


def blended_whole(frame: np.ndarray, avatar: np.ndarray, **kw) -> np.ndarray:
    """The overlay as one blend of the whole box, then the border's over it: what
    compose_overlay gives by blending only its edges."""
    h, w = frame.shape[:2]
    x, y, side = overlay_place((w, h), kw["size"], kw["corner"], kw.get("margin", 0.03))
    inner, ring = overlay_masks(side, kw["shape"], kw["radius"], kw["border"])
    opacity = kw.get("opacity", 1.0)
    a, rb = inner[..., 0] * opacity, ring[..., 0] * opacity
    roi = np.ascontiguousarray(frame[y : y + side, x : x + side])
    out = cv2.blendLinear(shrink(avatar, side), roi, a, 1.0 - a)
    if kw["border"] > 0:
        colour = np.empty_like(out)
        colour[:] = np.asarray(kw["border_bgr"], np.uint8)
        out = cv2.blendLinear(colour, out, rb, 1.0 - rb)
    frame[y : y + side, x : x + side] = out
    return frame


@pytest.mark.parametrize("shape", ["round", "rounded-rect", "square"])
@pytest.mark.parametrize(("border", "opacity"), [(0, 1.0), (3, 1.0), (12, 0.6)])
@pytest.mark.parametrize(("frame_hw", "size"), [((720, 1280), 0.32), ((100, 90), 0.33)])
def test_overlay_blended_at_its_edges_is_the_whole_blend(shape, border, opacity, frame_hw, size):
    rng = np.random.default_rng(border + len(shape))
    frame = rng.integers(0, 256, (*frame_hw, 3), np.uint8)
    avatar = rng.integers(0, 256, (512, 512, 3), np.uint8)
    kw = dict(
        size=size,
        corner="bottom-right",
        shape=shape,
        radius=0.14,
        border=border,
        border_bgr=(245, 20, 130),
        opacity=opacity,
    )
    expected = blended_whole(frame.copy(), avatar, **kw)
    assert np.array_equal(compose_overlay(frame, avatar, **kw), expected)


def test_overlay_blends_only_its_edges(monkeypatch) -> None:
    """The talking head's overlay (720p, its default corner picture): the avatar's pixels
    inside the rounded rectangle are copied, only the edges blended (the whole box's two
    blends took ~1 ms of the overlay's 4 ms budget a frame, issue 13)."""
    blended = []
    whole = cv2.blendLinear

    def counted(a, b, wa, wb):
        blended.append(wa.size)
        return whole(a, b, wa, wb)

    monkeypatch.setattr(compose.cv2, "blendLinear", counted)
    frame = np.zeros((720, 1280, 3), np.uint8)
    compose_overlay(
        frame,
        np.full((230, 230, 3), 200, np.uint8),
        size=0.32,
        corner="bottom-right",
        shape="rounded-rect",
        radius=0.14,
        border=3,
        border_bgr=(245, 245, 245),
    )
    assert frame[720 - 22 - 115, 1280 - 22 - 115].tolist() == [200, 200, 200]
    assert 0 < sum(blended) < 0.5 * 230 * 230


# --------------------------------------------------------------------------- stage
def run(stage: TalkingHead, n: int, *, face=None, audio=None, size=(360, 640)) -> list:
    outs = []
    for i in range(n):
        ctx = FrameContext(timestamp=i / FPS, index=i)
        ctx.primary_face = face
        ctx.faces = [face] if face is not None else []
        ctx.audio = audio
        img = np.full((*size, 3), 60, np.uint8)
        outs.append((stage.process(img, ctx), ctx))
    return outs


def test_auto_mode_stands_in_when_no_face_is_seen(avatar, golden_landmarks) -> None:
    stage = TalkingHead(TalkingHeadSettings(mode="auto", standin_after_s=1.0), avatar=avatar)
    stage.open()
    face = fake_face(golden_landmarks)
    with_face = run(stage, 10, face=face)
    assert all(info(ctx).mode == "overlay" for _, ctx in with_face)
    # The user leaves: overlay for a second more, then the avatar takes the whole picture.
    frames = run(stage, 60)
    modes = [info(ctx).mode for _, ctx in frames]
    assert modes[10] == "overlay" and modes[-1] == "stand-in"
    img = frames[-1][0]
    assert img.shape == (360, 640, 3) and np.abs(img.astype(int) - 60).max() > 50
    stage.settings = TalkingHeadSettings(mode="auto", paused=True)
    assert info(run(stage, 1, face=face)[0][1]).mode == "stand-in"


def test_audio_opens_the_avatars_mouth(avatar) -> None:
    s = TalkingHeadSettings(mode="stand-in", idle=False, blinks=False)
    stage = TalkingHead(s, avatar=avatar)
    stage.open()
    quiet = run(stage, 1, audio=AudioState())[0][0]
    talk = AudioState(params=MouthParams(jaw=0.9, speaking=True), active=True)
    loud = run(stage, 1, audio=talk)[0][0]
    diff = np.abs(quiet.astype(int) - loud.astype(int)).max(axis=2) > 10
    ys = np.nonzero(diff)[0]
    # Stand-in: the 512 avatar fills the 360-high frame; the mouth is in its lower half.
    assert diff.sum() > 100 and ys.min() > 360 * 0.45


def test_neutral_stage_output_is_the_portrait(avatar) -> None:
    """Stand-in at the portrait's own size: the person is the portrait, pixel for pixel; the
    background behind is the portrait's, out of focus."""
    stage = TalkingHead(
        TalkingHeadSettings(mode="stand-in", idle=False, blinks=False), avatar=avatar
    )
    stage.open()
    out, ctx = run(stage, 1, size=(512, 512))[0]
    assert avatar.person is not None
    person = cv2.erode((avatar.person > 0.9).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert person.mean() > 0.2
    diff = np.abs(out.astype(int) - avatar.portrait.image).max(axis=2)
    assert diff[person].max() <= 2
    far = cv2.dilate(avatar.person, np.ones((41, 41), np.uint8)) < 0.02
    # The background is softened: far less fine detail than in the photo.
    detail_out = np.abs(cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.CV_32F))
    detail_in = np.abs(
        cv2.Laplacian(cv2.cvtColor(avatar.portrait.image, cv2.COLOR_BGR2GRAY), cv2.CV_32F)
    )
    assert far.mean() > 0.1 and detail_out[far].mean() < 0.5 * detail_in[far].mean()
    assert info(ctx).render_ms >= 0


SEAM_STEP_MAX = 4.0
"""Grey levels: the mean step between neighbouring columns at the avatar's square edge."""


def test_standin_has_no_seam_at_the_portraits_edges(avatar) -> None:
    """On a wide frame the portrait's square does not show: the step across its left and
    right edges is no larger than the backdrop's own texture."""
    stage = TalkingHead(
        TalkingHeadSettings(mode="stand-in", idle=False, blinks=False), avatar=avatar
    )
    stage.open()
    out, _ = run(stage, 1, size=(360, 640))[0]
    gray = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float32)
    steps = np.abs(np.diff(gray, axis=1)).mean(axis=0)
    x0 = (640 - 360) // 2
    for edge in (x0, x0 + 360):
        assert steps[edge - 2 : edge + 1].max() < SEAM_STEP_MAX, f"seam at x={edge}"


def test_use_my_face_captures_the_avatar(avatar, golden_landmarks, tmp_path: Path) -> None:
    stage = TalkingHead(TalkingHeadSettings(mode="overlay"), avatar=avatar)
    stage.open()
    camera = cv2.resize(face_photo("astronaut"), (512, 512))[:, ::-1].copy()  # "another" face
    lm = golden_landmarks.copy()
    lm[:, 0] = 511 - lm[:, 0]
    target = tmp_path / "me.png"
    stage.request_capture(str(target))
    ctx = FrameContext(timestamp=0.0, index=0)
    ctx.primary_face = fake_face(lm)
    stage.process(camera.copy(), ctx)
    assert stage.captured is not None and target.is_file()
    # The captured face is built on a helper thread; the avatar shown so far goes on meanwhile.
    assert stage.wait_ready(120.0)
    assert stage.avatar is not None and stage.avatar is not avatar
    assert stage.avatar.portrait.source == "camera"
    # The photo is kept as taken (smiling, teeth showing); the avatar rests with it closed.
    saved = cv2.imread(str(target))
    assert saved.shape == (512, 512, 3)
    assert np.abs(saved.astype(int) - stage.captured.image).max() <= 1
    assert stage.avatar.rest is not None and stage.avatar.rest.was_open


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError):
        TalkingHeadSettings(mode="hologram")
    with pytest.raises(SettingsError):
        TalkingHeadSettings(corner="middle")
    with pytest.raises(SettingsError):
        TalkingHeadSettings(shape="star")
    with pytest.raises(SettingsError):
        TalkingHeadSettings(border_color=(0, 0, 300))
    ok = TalkingHeadSettings.from_dict({"mode": "auto", "border_color": [10, 20, 30]})
    assert ok.border_color == (10, 20, 30)


def test_portrait_landmarks_come_from_the_tracker(golden_landmarks) -> None:
    from pipelines.avatar.portrait import find_landmarks

    lm = find_landmarks(face_photo("astronaut"))
    err = np.linalg.norm(lm[:, :2] - golden_landmarks[:, :2], axis=1)
    assert np.median(err) < 3.0  # pixels, against MediaPipe's own face mesh


def test_preset_is_registered() -> None:
    import pipelines.avatar.presets  # noqa: F401  (the lead lists it in PRESET_MODULES)
    from pipelines.presets import build_stages, get_preset

    stages = build_stages(get_preset("talking-head"))
    assert [s.name for s in stages] == ["face_tracker", "audio_mouth", "talking_head"]


def test_head_moves_with_the_voice() -> None:
    """Speaking: nods on loudness rises (beats) and a lift with loud phrases; the head's pitch
    follows the voice's loudness envelope more than chance."""
    anim = Animator(MotionSettings(seed=4))
    pitch, level = [], []
    for i in range(int(12 * FPS)):
        t = i / FPS
        # Syllables at 4 Hz, phrases louder and softer every 3 s.
        lv = (0.5 + 0.4 * np.sin(2 * np.pi * t / 3.0)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
        w = anim.update(t, MouthParams(jaw=lv, level=lv, speech=1.0, speaking=True))
        pitch.append(w["pitch_up"] - w["pitch_down"])
        level.append(lv)
    p = np.asarray(pitch)
    assert np.ptp(p) > 0.4, "the head hardly moves while speaking"
    # The phrase envelope (3 s) shows in the slow part of the pitch.
    k = int(FPS)
    slow_p = np.convolve(p, np.ones(k) / k, mode="valid")
    slow_l = np.convolve(level, np.ones(k) / k, mode="valid")
    assert abs(np.corrcoef(slow_p, slow_l)[0, 1]) > 0.3


PROFILE_FURTHER_DEG = 10.0
"""The cameraman's profile (MediaPipe's reference landmarks) turned this much further about
the vertical axis: its outline turns triangles over at 25 of the 125 extreme head turns. As
photographed it sits at the edge: the live tracker's landmarks creased at 1-2 of 125 on one
host (AVX2) and at none on another (AVX-512), and the reference landmarks at none."""


def turned_profile() -> Portrait:
    photo = face_photo("cameraman")
    h, w = photo.shape[:2]
    lm = load_golden("solution_face_mesh")["cameraman/landmarks"][0] * np.array([w, h, w])
    centre = lm.mean(axis=0)
    t = np.radians(PROFILE_FURTHER_DEG)
    dx, dz = lm[:, 0] - centre[0], lm[:, 2] - centre[2]
    turned = lm.copy()
    turned[:, 0] = centre[0] + dx * np.cos(t) + dz * np.sin(t)
    turned[:, 2] = centre[2] - dx * np.sin(t) + dz * np.cos(t)
    return make_portrait(photo, turned.astype(np.float32))


@pytest.mark.parametrize(
    ("name", "creases"),
    [("cameraman_further", True), ("astronaut_turned55_moustache", False)],
)
def test_a_build_warns_in_a_users_words_only_of_what_shows(name: str, creases, caplog) -> None:
    """The build's warnings reach a user's terminal (the CLI logs warnings): they say what
    the user would see, in the user's words. A profile's outline turns triangles over at some
    extreme head turns: a crease, said so. A turned head whose edge triangles are only
    squeezed (under a quarter of their area at some poses, none turned over) warns of nothing;
    the squeeze is a diagnostic (it warned "3 head poses still fold 1 triangles" before)."""
    import logging

    if name == "cameraman_further":
        with caplog.at_level(logging.INFO, logger=BUILD_LOGGER):
            Avatar.build(turned_profile())
        said: tuple[logging.LogRecord, ...] = tuple(caplog.records)
    else:  # the shared build of the photo (the blink tests build it too), with what it said
        said = build_said(name)
    warned = [r.getMessage() for r in said if r.levelno >= logging.WARNING]
    assert all(m.startswith("talking head: ") for m in warned), warned
    assert any("creases" in m for m in warned) == creases, warned
    squeezed = [r.getMessage() for r in said if "squeeze" in r.getMessage()]
    assert squeezed, "the squeeze is still reported, as a diagnostic"
