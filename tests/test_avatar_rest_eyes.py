"""Eyes opened at rest (issue 13: "a blink closes the eye whatever the pose", every scheduled
blink seen by the tracker; a neutral rest face from any portrait).

A portrait whose eyes are squeezed to slits (laughing: the held-out ``mariachi_grin`` saw none
of its 40 blinks) or shut gets open eyes at load (pipelines/avatar/rest_eyes.py). Its kind is
made here from tuning photos by their own avatars: both lids 0.6-0.75 shut and smiling, the
render found as the stage finds a photo (avatar_builds.squinting_portrait;
tools/squint_floor.py). Built so before the change, such a portrait's posed blinks were seen 0
of 8 on every photo tried, and its speech clips' blinks 0 of 8. A laugh's eyes narrowed from
below (the cheeks pushing the lower lids up: avatar_builds.laughing_portrait) read above the
squint's line; they are opened where the build's own check finds the tracker following no lid
(rest_eyes.NO_BLINK_READ), and kept where it then reads a blink.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from avatar_builds import (
    FACES,
    blink_sweep_tears,
    build_said,
    built,
    built_laughing,
    built_squinting,
    laughing_portrait,
    squinting_portrait,
)

from pipelines.avatar.portrait import Portrait, load_portrait
from pipelines.avatar.rest_eyes import SQUINT_OPEN, eye_frame, open_eyes
from pipelines.avatar.tracked import eye_opening
from pipelines.tracking import regions

pytestmark = pytest.mark.clock_free

OPENED_MIN = 0.22
"""The opened eye's tracked opening (lid gap over width) at least: the tracker reads a shut eye
at 0.05-0.09, so a blink is seen under half of it only from about 0.18 on (opened 0.27-0.32 on
the photos here; the photos' own eyes 0.29-0.36)."""
SQUINTED = (("astronaut", 0.75), ("brothers_sepia", 0.75), ("riga_turned", 0.6))
"""Tuning photos made to squint: a young woman in colour, a faded sepia print, an old man's
turned, wrinkled face with only a slit showing (0.6)."""
IRIS_FROM_PHOTO_MAX = 0.15
"""How far (eye widths) the opened eye's iris, as the tracker finds it, may be from where the
tracker found it on the photo the squint was made from (0.02-0.10 measured)."""
SCLERA_OVER_IRIS_MIN = 40.0
"""How much lighter (grey levels) the drawn white is beside the iris than the iris's middle
(47-152 measured on the three photos here; 46-54 on the dark canonman_glasses)."""


def _ratio(portrait: Portrait) -> float:
    return eye_opening(np.asarray(portrait.landmarks, np.float64))


@pytest.mark.parametrize(("name", "closure"), SQUINTED)
def test_a_squinted_portrait_is_opened_at_rest(name: str, closure: float) -> None:
    squint = squinting_portrait(name, closure)
    assert _ratio(squint) < SQUINT_OPEN, "the made squint reads open; the test no longer tests"
    opened = built_squinting(name, closure).portrait
    assert _ratio(opened) >= OPENED_MIN, round(_ratio(opened), 3)


@pytest.mark.parametrize(("name", "closure"), SQUINTED)
def test_every_posed_blink_of_an_opened_eye_is_seen(name: str, closure: float) -> None:
    """Eight blinks under random head poses (the held-out test's measure), each read under half
    the open eye: 0 of 8 before on each of these (worst 0.72-1.07)."""
    from pipelines.avatar.measure import blink_ratios_under_poses

    ratios = blink_ratios_under_poses(built_squinting(name, closure), 8, 7)
    assert max(ratios) < 0.5, [round(r, 3) for r in ratios]


def test_an_opened_eye_blinks_without_tearing() -> None:
    """A blink swept from open to shut over the drawn eye, straight and under a turned,
    nodding head: no tear pixel (the lids slide their own skin over the drawn eye)."""
    avatar = built_squinting("astronaut")
    poses = ({}, {"yaw_right": 0.28, "pitch_down": 0.56, "roll_ccw": 0.08})
    torn = blink_sweep_tears(avatar, poses, steps=10)
    assert not torn, torn


@pytest.mark.parametrize(("name", "closure"), SQUINTED)
def test_the_drawn_eye_has_its_iris_where_the_photo_had_it(name: str, closure: float) -> None:
    """Parity with the photo the squint was made from: the tracker finds the drawn iris near
    where it found the photo's, and the white beside it is light."""
    photo = np.asarray(built(name).portrait.landmarks, np.float64)
    opened = built_squinting(name, closure).portrait
    lm = np.asarray(opened.landmarks, np.float64)
    grey = cv2.cvtColor(opened.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    for ring, iris in (
        (regions.RIGHT_EYE, regions.RIGHT_IRIS),
        (regions.LEFT_EYE, regions.LEFT_IRIS),
    ):
        width = float(np.linalg.norm(photo[ring[0], :2] - photo[ring[8], :2]))
        off = float(np.linalg.norm(lm[iris[0], :2] - photo[iris[0], :2])) / width
        assert off <= IRIS_FROM_PHOTO_MAX, (ring[0], round(off, 3))
        x, y = np.round(lm[iris[0], :2]).astype(int)
        middle = float(grey[y - 1 : y + 2, x - 1 : x + 2].mean())
        f = eye_frame(lm, ring)
        beside = []
        for t in (0.15, 0.85):
            u = np.array(t * f.width)
            sx, sy = f.to_xy(u, 0.5 * (f.upper(u) + f.lower(u)))
            beside.append(float(grey[round(float(sy)), round(float(sx))]))
        assert max(beside) - middle >= SCLERA_OVER_IRIS_MIN, (ring[0], middle, beside)


def test_only_the_eyes_change() -> None:
    """Nothing outside the eyes and the lid skin around them moves: the brows, the nose and
    the rest of the face are the photo's pixels."""
    squint = squinting_portrait("astronaut")
    opened = open_eyes(squint)
    lm = np.asarray(squint.landmarks, np.float64)
    changed = np.abs(opened.image.astype(np.int16) - squint.image.astype(np.int16)).max(axis=2)
    around = np.zeros(changed.shape, np.uint8)
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        pts = lm[list(ring), :2]
        width = float(np.linalg.norm(pts[0] - pts[8]))
        x0, y0 = np.floor(pts.min(axis=0) - np.array([3.0, 0.5 * width])).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0) + np.array([3.0, 0.35 * width])).astype(int)
        around[y0:y1, x0:x1] = 1
    assert (changed[around == 0] == 0).all(), int((changed[around == 0] > 0).sum())
    assert (changed[around == 1] > 0).sum() > 200


@pytest.mark.parametrize(
    "name", ["astronaut", "cameraman", "canonman_hooded", "riga_turned", "canonman_bright_rolled"]
)
def test_a_photo_with_open_eyes_is_left_as_it_is(name: str) -> None:
    """The narrowest eyes of the tuning photos (cameraman 0.16 of their width, riga_turned
    0.19, canonman_hooded 0.20) are open eyes, not squints."""
    portrait = load_portrait(FACES / f"{name}.jpg")
    assert open_eyes(portrait) is portrait


def test_a_face_too_small_to_have_eyes_drawn_is_left_as_it_is() -> None:
    """Landmarks whose eyes are a few pixels wide (a face far off in a big photo, its crop
    not yet made): nothing is drawn, and nothing fails."""
    squint = squinting_portrait("astronaut")
    lm = np.asarray(squint.landmarks, np.float32).copy()
    centre = lm[:, :2].mean(axis=0)
    lm[:, :2] = centre + 0.02 * (lm[:, :2] - centre)
    tiny = Portrait(squint.image, lm, squint.source)
    assert open_eyes(tiny) is tiny


def test_the_build_says_it_opened_the_eyes(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pipelines.avatar"):
        open_eyes(squinting_portrait("astronaut"))
    said = [r.getMessage() for r in caplog.records if "opened at rest" in r.getMessage()]
    assert len(said) == 1 and "of their width" in said[0], said


def test_laughing_eyes_whose_lids_read_no_blink_are_opened() -> None:
    """A laugh's eyes, the cheeks pushing the lower lids up (avatar_builds.laughing_portrait),
    read 0.14 of their width on riga_turned: above rest_eyes.SQUINT_OPEN, so not opened at
    first; its shut lids read 1.22 of the open eye (posed blinks 0 of 8). The build then opens
    them and keeps that where the tracker reads a blink (0.36)."""
    from pipelines.avatar.lids import SEEN
    from pipelines.avatar.measure import blink_ratios_under_poses

    assert SQUINT_OPEN <= _ratio(laughing_portrait("riga_turned")) < OPENED_MIN
    avatar = built_laughing("riga_turned")
    assert _ratio(avatar.portrait) >= OPENED_MIN
    assert avatar.rig.lid_reading < SEEN
    ratios = blink_ratios_under_poses(avatar, 8, 7)
    assert max(ratios) < 0.5, [round(r, 3) for r in ratios]


def test_a_profile_whose_opened_eyes_read_no_blink_keeps_its_own() -> None:
    """cameraman's near eye on a three-quarter profile reads no blink whatever lids close it
    (tests/test_avatar_blinks.py); opened, its lids still read 0.61 of the open eye, so the
    build keeps the photo's own eye (a drawn eye for no blink seen would be a loss)."""
    said = [r.getMessage() for r in build_said("cameraman") if "no blink" in r.getMessage()]
    assert len(said) == 1 and said[0].endswith("(not kept)"), said
    assert _ratio(built("cameraman").portrait) < OPENED_MIN
