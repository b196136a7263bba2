"""A shut lid lit for the photo's own light (issue 13, item 4): never a patch paler than the
skin around the eye where the socket is in shade.

The closed lid's skin was lit to the lower lid's light alone (rig._LidLight, 2026-12-03, so
that the tracker sees the blink); under a top light, the socket shadowed and the cheek bright,
that was a light patch over each shut eye, like white eyeshadow. Where the tracker reads the
blink clearly shut, the build now keeps lids whose upper part takes half the socket's shade
(pipelines/avatar/lids.SHADED_SHAPE, rig.LID_SOCKET_RAMP). Tuning portraits only
(brothers_sepia, a real faded print lit from above, and brothers_midword, its grey mid-word
stand-in); built once (tests/avatar_builds.py).

The measure, per eye, in the shut frame: the shut lid's mean grey (between the open eye's
upper lid, raised 0.4 of the opening, and its lower lid, raised 0.5 of it, over the eye's
middle three fifths; the lash line where the lids meet lies below) over the median grey of the
skin below the eye, 1-2 openings out from the open eye's outline (the cheek under the lower
lid: the light the lid took before).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from avatar_builds import DEEP_BRIM, blink_sweep_tears, built, built_under_brim, lids_kept
from host_cpu import allow_off_avx512

from pipelines.avatar.lids import SHADED_SHAPE
from pipelines.avatar.rig import BLINK_LOWER_SHARE, LidShape
from pipelines.avatar.stage import Avatar

pytestmark = pytest.mark.clock_free

SHUT = {"blink_left": 1.0, "blink_right": 1.0}
EYES = {
    "right": (
        (33, 246, 161, 160, 159, 158, 157, 173, 133),
        (33, 7, 163, 144, 145, 153, 154, 155, 133),
    ),
    "left": (
        (263, 466, 388, 387, 386, 385, 384, 398, 362),
        (263, 249, 390, 373, 374, 380, 381, 382, 362),
    ),
}
"""Each eye's upper and lower outline (the tracker's mesh), corner to corner."""
LID_OVER_CHEEK_MAX = 1.0
"""The shut lid's light over the skin below the eye's, at most. With the lid at the lower lid's
light (rig._LidLight): brothers_sepia 1.04 and 0.83, brothers_midword 1.05 and 0.87 (right,
left eye; the right socket is the shadowed one); with the shaded lids (lids.SHADED_SHAPE,
2026-12-06) 0.91 and 0.71, 0.97 and 0.76."""


def lid_over_cheek(avatar: Avatar) -> dict[str, float]:
    """Per eye, the shut lid's mean grey over the skin's below the eye (the module's measure)."""
    frame = avatar.renderer.render(SHUT)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    points = avatar.rig.points[:478, :2]
    rows = np.arange(grey.shape[0])[:, None]
    out = {}
    for eye, (upper_idx, lower_idx) in EYES.items():
        upper, lower = points[list(upper_idx)], points[list(lower_idx)]
        opening = float(np.max(np.linalg.norm(upper[2:7] - lower[2:7], axis=1)))
        lid_top = upper[2:7] - [0.0, 0.4 * opening]
        lid_bottom = lower[2:7] - [0.0, 0.5 * opening]
        lid = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(lid, [np.concatenate([lid_top, lid_bottom[::-1]]).astype(np.int32)], 1)
        outline = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(outline, [np.concatenate([upper, lower[::-1]]).astype(np.int32)], 1)
        away = cv2.distanceTransform(1 - outline, cv2.DIST_L2, 5)
        cheek = (away > opening) & (away < 2.0 * opening) & (rows > lower[:, 1].max())
        assert lid.sum() > 20 and cheek.sum() > 100, (eye, int(lid.sum()), int(cheek.sum()))
        out[eye] = float(grey[lid > 0].mean()) / float(np.median(grey[cheek]))
    return out


@pytest.mark.parametrize("name", ["brothers_sepia", "brothers_midword"])
def test_a_shut_lid_in_a_shadowed_socket_is_no_paler_than_the_cheek(name: str) -> None:
    got = lid_over_cheek(built(name))
    assert all(r <= LID_OVER_CHEEK_MAX for r in got.values()), {
        k: round(v, 3) for k, v in got.items()
    }


def lid_band_greys(avatar: Avatar, eye: str) -> tuple[float, float]:
    """The shut frame's mean grey over the eye's middle three fifths in two bands: just over the
    lids' meeting (0.2-0.35 of the opening above the open eye's lower lid, where the tracker
    reads the lid) and the lid's upper part (0.7-1.1 of it)."""
    frame = avatar.renderer.render(SHUT)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    upper_idx, lower_idx = EYES[eye]
    points = avatar.rig.points[:478, :2]
    upper, lower = points[list(upper_idx)], points[list(lower_idx)]
    opening = float(np.max(np.linalg.norm(upper[2:7] - lower[2:7], axis=1)))
    means = []
    for lo, hi in ((0.2, 0.35), (0.7, 1.1)):
        band = np.zeros(grey.shape, np.uint8)
        outline = np.concatenate(
            [lower[2:7] - [0.0, hi * opening], (lower[2:7] - [0.0, lo * opening])[::-1]]
        )
        cv2.fillPoly(band, [outline.astype(np.int32)], 1)
        means.append(float(grey[band > 0].mean()))
    return means[0], means[1]


def test_the_shaded_lid_keeps_the_lower_lids_light_along_the_shut_line() -> None:
    """brothers_sepia keeps the shaded lids (read clearly shut); against the lids lit like the
    lower lid all over, its shadowed eye's lid is darker only in its upper part: along the shut
    line, where the tracker reads the lid (a darker lid there read as a narrow open eye), the
    light is the same within a grey level (2026-12-06: 85.9 against 86.2; the upper part 103.6
    against 121.1)."""
    avatar = built("brothers_sepia")
    assert avatar.rig.lid_shape == SHADED_SHAPE
    shaded = lid_band_greys(avatar, "right")
    with lids_kept(avatar):
        avatar.rig.set_lid_depth(avatar.portrait.image, BLINK_LOWER_SHARE, LidShape())
        flat = lid_band_greys(avatar, "right")
    assert abs(shaded[0] - flat[0]) <= 1.0, (shaded, flat)
    assert shaded[1] <= flat[1] - 5.0, (shaded, flat)


@pytest.mark.parametrize("name", ["riga_turned", "canonman_bright_rolled", "astronaut_rims"])
def test_lids_read_nearer_a_blink_are_not_shaded(name: str) -> None:
    """Where the tracker reads the default lids near a blink (deeper lids kept, or the shaded
    ones read over lids.SHADED_READ_SHUT), no shade is kept: the whole lid lit toward the
    socket's shade lost these portraits' tuning blinks (riga_turned's festival clip 6 -> 4 of
    6, canonman_bright_rolled's posed 8 -> 7 of 8, astronaut_rims' festival clip 3 -> 2 of 6)."""
    assert built(name).rig.lid_shape.shade == 0.0


UNDER_BRIM = ("astronaut", "brothers_sepia")
"""Tuning photos made grey under a hat brim's soft shade (tests/avatar_builds.built_under_brim):
the socket and upper lid in shadow, the lower lid and cheek lit."""
LID_OVER_FOLD_MAX = 1.25
"""The shut lid's light over the photo's own light where the lid comes from (the fold's skin,
0.3-1.0 openings above the open eye's upper outline, over its middle three fifths), at most.
Under the brim: the default lids 1.72-2.07 (a pale patch), the socket-lit lids 0.98-1.12; the
unshadowed photos' own lids 0.96-1.18 (astronaut, brothers_sepia, 2026-12-07); with the shaded
photo rounded to the nearest level (avatar_builds.built_under_brim, 2026-12-07 16:10) 1.70-2.02
and 0.94-1.12."""


def lid_over_fold(avatar: Avatar) -> dict[str, float]:
    """Per eye, the shut lid's mean grey (the module's lid band) over the median grey of the
    open photo's fold above the eye (:data:`LID_OVER_FOLD_MAX`)."""
    shut = cv2.cvtColor(avatar.renderer.render(SHUT), cv2.COLOR_BGR2GRAY).astype(np.float32)
    photo = cv2.cvtColor(avatar.portrait.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    points = avatar.rig.points[:478, :2]
    out = {}
    for eye, (upper_idx, lower_idx) in EYES.items():
        upper, lower = points[list(upper_idx)], points[list(lower_idx)]
        opening = float(np.max(np.linalg.norm(upper[2:7] - lower[2:7], axis=1)))
        lid = np.zeros(shut.shape, np.uint8)
        band = [upper[2:7] - [0.0, 0.4 * opening], (lower[2:7] - [0.0, 0.5 * opening])[::-1]]
        cv2.fillPoly(lid, [np.concatenate(band).astype(np.int32)], 1)
        fold = np.zeros(shut.shape, np.uint8)
        above = [upper[2:7] - [0.0, 0.3 * opening], (upper[2:7] - [0.0, opening])[::-1]]
        cv2.fillPoly(fold, [np.concatenate(above).astype(np.int32)], 1)
        assert lid.sum() > 20 and fold.sum() > 20, (eye, int(lid.sum()), int(fold.sum()))
        out[eye] = float(shut[lid > 0].mean()) / float(np.median(photo[fold > 0]))
    return out


@pytest.mark.parametrize("name", UNDER_BRIM)
def test_a_shut_lid_under_a_hat_brim_is_lit_as_its_socket_and_tears_nothing(name: str) -> None:
    """Lit like the lower lid, the shut lid under a brim's shade was a pale patch and its lash
    line a new edge on it: tear pixels at 0.85-1.0 closed on every photo made so. The build
    now keeps lids lit as the socket where the default tears (lids.SOCKET_LIT_SHAPE)."""
    from pipelines.avatar.lids import SOCKET_LIT_SHAPE

    avatar = built_under_brim(name)
    assert avatar.rig.lid_shape == SOCKET_LIT_SHAPE and avatar.rig.lid_depth == BLINK_LOWER_SHARE
    got = lid_over_fold(avatar)
    assert all(r <= LID_OVER_FOLD_MAX for r in got.values()), {
        k: round(v, 3) for k, v in got.items()
    }
    poses = ({}, {"yaw_right": 0.28, "pitch_down": 0.56, "roll_ccw": 0.08})
    torn = blink_sweep_tears(avatar, poses)
    assert not torn, torn


def test_a_shut_lid_under_a_lower_brim_is_lit_as_its_socket_though_read_less_shut() -> None:
    """astronaut_turned55_moustache under a brim pulled lower (its shade's middle on the eyes'
    line: avatar_builds.DEEP_BRIM): the default lids read clearly shut but tear (a pale patch
    in the shadowed socket, 31-71 pixels from 0.57 closed on), and the socket-lit ones, which
    tear nothing, read 0.418 of the open eye (0.413 under a simulated other CPU), over the 0.4
    that leaves the default lids be. A torn lid shows on every blink: the socket-lit lids are
    kept where the tracker still reads them as a blink by its margin
    (lids.SOCKET_LIT_READ_SHUT, 0.45)."""
    from pipelines.avatar.lids import SOCKET_LIT_SHAPE

    avatar = built_under_brim("astronaut_turned55_moustache", *DEEP_BRIM)
    assert avatar.rig.lid_shape == SOCKET_LIT_SHAPE and avatar.rig.lid_depth == BLINK_LOWER_SHARE
    poses = ({}, {"yaw_left": 1.0}, {"jaw": 0.5, "smile": 0.5})
    torn = blink_sweep_tears(avatar, poses)
    assert not torn, torn


def test_the_socket_lit_lids_under_a_lower_brim_are_seen_blinking(
    request: pytest.FixtureRequest,
) -> None:
    """...and every posed blink is seen with them (with the torn default lids 5 of 8, worst
    0.80 of the open eye; 8 of 8 now, worst 0.43). Their reading sits near the tracker's edge:
    under a simulated other CPU (tools/build_choices.py ``blocked``) they are kept as here, but
    the posed blinks read 5 of 8 (worst 0.75) and the default lids' 6 of 8."""
    from pipelines.avatar.measure import blink_ratios_under_poses

    allow_off_avx512(request, "posed blinks 8 of 8 with the socket-lit lids under DEEP_BRIM")
    ratios = blink_ratios_under_poses(
        built_under_brim("astronaut_turned55_moustache", *DEEP_BRIM), 8, 7
    )
    assert max(ratios) < 0.5, [round(r, 3) for r in ratios]
