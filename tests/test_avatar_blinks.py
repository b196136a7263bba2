"""Blinks as a viewer and our tracker see them (issue 13, item 4 "Lids, not cuts").

Tuning portraits only (never the held-out ones): ``astronaut`` and portraits derived from it
by tools/avatar_portraits.py that stand for the held-out conditions without being them
(``astronaut_grey_small``: a low-resolution black-and-white photo; ``astronaut_rims``: thick
dark frames hugging the eyes; ``astronaut_turned``: a head turned ~30°, its far eye
foreshortened), and ``cameraman`` (a three-quarter profile); and, since 2026-12-04, three
REAL tuning photographs (tests/data/faces/README.md, "Real TUNING portraits"):
``canonman_glasses`` (narrow, hooded, wrinkled eyes under thin rims), ``photographer_turned``
(a head turned ~15-20 degrees) and ``brothers_sepia`` (a faded low-resolution print); and
``canonman_turned``, the first of these turned 40 degrees (riga_turned's shut near eye), and
``canonman_hooded``, that made older with a fold hanging over each upper lid (riga_turned's shut
eye read wider than its open one); and ``astronaut_pale_lashes``, a grey, turned, tilted head
with pale lashes (einstein_midword's shut line). The held-out figures are in
tests/test_avatar_heldout.py.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from avatar_builds import built, lids_kept, posed_blink_ratios
from host_cpu import AVX512, allow_off_avx512

from pipelines.avatar.lids import DEEPER_SHAPE, HOODED_SHAPE
from pipelines.avatar.measure import blink_ratios_under_poses
from pipelines.avatar.rig import BLINK_LOWER_SHARE, LidShape
from pipelines.avatar.stage import Avatar
from pipelines.tracking import regions

pytestmark = pytest.mark.clock_free

FACES = Path(__file__).resolve().parent / "data" / "faces"
SPEECH = Path(__file__).resolve().parent.parent / "pipelines" / "assets" / "talking_head_speech.wav"
SHUT = {"blink_left": 1.0, "blink_right": 1.0}

STEP_SHARE_MAX = 0.5
"""The closed lid's lash line, down a pixel column from its darkest pixel to the lower lid's
skin: the largest one-row step over the whole rise (median over the eye's middle columns).
A line cut at pixel centres rises in one step (0.74-0.81 on astronaut, astronaut_turned and
astronaut_grey_small before 2026-12-03, a stair-stepped edge); anti-aliased, with the lashes
hanging below the lid's edge, 0.27-0.31."""
FAR_LID_LIGHT_MIN = 0.92
"""The far eye's closed lid against the near eye's (brightness just above the lash line) on
the turned head: 0.84 while the far eye's lid was left unlit (its shadowed fold stretched
over the eye, no lash line), 1.04 now."""
FAR_LASH_EXTRA_MAX = 0.08
"""...and its lash line (darkest over lid) at most this much fainter than the near eye's
(0.67 against 0.51 unlit; 0.50 against 0.54 now)."""
POSED_BLINKS = 8
GLASSES_WORST_MAX = 0.42
"""astronaut_glasses' worst posed blink, tracked shut opening over open: 0.49 before the
lashes hung below the lid and the line thickened (2026-12-03), 0.42 then, 0.37 since the shut
line is darker where the lids meet and thinner (rig.LID_LASH_ROWS); 0.403 since the lids meet
on the lower lid's line (rig.BLINK_LOWER_SHARE 0.2 -> 0.0, 2026-12-04; 0.40-0.41 with the
lashes hanging 0.35-0.6 openings, or the shut line 1.3-1.7 rows dark), a trade for real hooded
eyes' blinks (canonman_glasses: posed 0 -> 5 of 8 seen; all 8 still seen here). This bound was
0.40 until then."""
SHUT_LASH_MAX = 0.45
"""The shut lash line's darkest over the closed lid's light (each eye): where the lids meet,
two rows of lashes lie over each other. 0.45-0.56 with one row's colour (at least one eye
over this on each portrait), 0.30-0.42 now."""
RIMS_SEEN_MIN = 6
"""astronaut_rims' posed blinks seen (of 8): 2 with one row of lashes in a line 0.25-0.5 of
the opening thick, 6 with the darker, thinner shut line (the other two at 0.58 and 0.64)."""
SMALL_EYE_STEP_MAX = STEP_SHARE_MAX
"""cameraman's near eye is 5.6 px open: its lash line, 0.15 of that, is under a pixel."""


@pytest.fixture(scope="module", params=("astronaut", "astronaut_turned", "astronaut_grey_small"))
def shut(request) -> tuple[str, Avatar, np.ndarray]:
    avatar = built(request.param)
    return request.param, avatar, avatar.renderer.render(SHUT).copy()


def _step_share(avatar: Avatar, ring: tuple[int, ...], frame: np.ndarray) -> float:
    lm = avatar.rig.geometry.landmarks[:, :2]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    pts = lm[list(ring)]
    xs = np.arange(int(np.percentile(pts[:, 0], 35)), int(np.percentile(pts[:, 0], 65)) + 1)
    y0, y1 = int(pts[:, 1].min()) - 3, int(pts[:, 1].max()) + 6
    shares = []
    for x in xs:
        col = gray[y0:y1, x]
        k = int(np.argmin(col))
        below = col[k : k + 6]
        rise = float(below.max() - col[k])
        if rise >= 10.0:
            shares.append(float(np.max(np.diff(below))) / rise)
    assert len(shares) >= 5, "no lash line across the eye"
    return float(np.median(shares))


def test_the_closed_lash_line_is_anti_aliased(shut) -> None:
    """No stair steps: the lash line's lower edge rises over several pixel rows, not one."""
    name, avatar, frame = shut
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        assert _step_share(avatar, ring, frame) < STEP_SHARE_MAX, name


LID_GRAIN_SHARE = 0.3
"""The shut lid's fine grain (the Laplacian's variance, grey levels) at least this share of the
skin's just below the eye, each eye (issue 13: the shut lid read as a flat patch of one colour
at 4-6x). The lid: inside the open eye's ring less 2 px, more than 0.6 of the opening plus 2 px
above the lower lid's landmarks (clear of the lash line and its soft edge); the skin: 0.3-1.0
openings below them, over the eye's middle 70 %. 0.04-0.17 before 2026-12-05 (the lid the
lower lid's median colour with 0.3 of the stretched skin's grain), 0.43-2.32 with the lower
lid's own grain laid on it (rig.LID_GRAIN_GAIN). 0.35 until 2026-12-07, when astronaut and
astronaut_turned came to keep the shaded lids (lids.SHADED_SHAPE; their check's tears had
been the blend of two closure levels, rig._nearest_level): the socket's shade over the lid's
upper part takes 18 % of the Laplacian's energy there (20.0 -> 16.5 on astronaut_turned's far
eye, a lid of 34 pixels), 0.38 -> 0.32 of the skin's; the near eye 0.60 -> 0.55."""
GRAINY_LIDS = (
    "astronaut",
    "astronaut_tight",
    "astronaut_turned",
    "brothers_sepia",
    "photographer_turned",
)
"""Tuning portraits whose shut lids are big enough to measure (a lid of 26-60 pixels an eye);
on the glasses portraits the skin below the eye is the rims' edges."""


def _laplacian_var(gray: np.ndarray, where: np.ndarray) -> float:
    return float(cv2.Laplacian(gray, cv2.CV_32F, ksize=1)[where].var())


@pytest.mark.parametrize("name", GRAINY_LIDS)
def test_a_shut_lid_has_the_skins_grain(name) -> None:
    """The shut lid is skin, its grain as fine as the skin's around the eye: not a flat patch."""
    avatar = built(name)
    frame = avatar.renderer.render(SHUT)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lm = avatar.rig.geometry.landmarks[:, :2]
    h, w = gray.shape
    ys, xs = np.mgrid[0:h, 0:w]
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        upper, lower = lm[list(ring[1:8])], lm[list(ring[9:])]
        opening = abs(float(upper[:, 1].mean() - lower[:, 1].mean()))
        eye = np.zeros((h, w), np.uint8)
        cv2.fillPoly(eye, [np.round(lm[list(ring)]).astype(np.int32)], 1)
        order = np.argsort(lower[:, 0])
        lower_y = np.interp(xs, lower[order, 0], lower[order, 1])
        lid = cv2.erode(eye, np.ones((5, 5), np.uint8)).astype(bool)
        lid &= ys < lower_y - 0.6 * opening - 2
        left, right = sorted((lm[ring[0], 0], lm[ring[8], 0]))
        width, bottom = right - left, lower[:, 1].max()
        skin = (xs > left + 0.15 * width) & (xs < right - 0.15 * width)
        skin &= (ys > bottom + 0.3 * opening) & (ys < bottom + opening)
        assert lid.sum() >= 20 and skin.sum() >= 20, name
        share = _laplacian_var(gray, lid) / _laplacian_var(gray, skin)
        assert share >= LID_GRAIN_SHARE, (name, round(share, 2))


def test_the_shut_lash_line_is_two_rows_of_lashes(shut, request) -> None:
    """Shut, the lower lid's lashes lie under the upper lid's: a line darker than one row."""
    name, avatar, frame = shut
    if name == "astronaut_grey_small":
        allow_off_avx512(request, "astronaut_grey_small's lash line 0.47 (limit 0.45)")
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        _, lash = _lid_and_lash(avatar, ring, frame)
        assert lash <= SHUT_LASH_MAX, (name, round(lash, 2))


def test_a_small_eyes_lash_line_is_anti_aliased_and_tears_nothing() -> None:
    """On cameraman's near eye the line is thinner than a pixel: drawn a pixel and a half thick
    with its colour mixed in by the share it covers, not cut at pixel rows (one-row step
    0.55-0.61 drawn a pixel thick at full colour, 0.41 now) and no tear under head poses
    (5 of 24 frames drawn at its own thickness in the darker colour)."""
    from test_avatar_quality import posed_tear_frames

    avatar = built("cameraman")
    lm = avatar.rig.geometry.landmarks[:, :2]
    near = max(
        (regions.RIGHT_EYE, regions.LEFT_EYE),
        key=lambda ring: float(np.linalg.norm(lm[ring[0]] - lm[ring[8]])),
    )
    frame = avatar.renderer.render(SHUT).copy()
    assert _step_share(avatar, near, frame) < SMALL_EYE_STEP_MAX
    assert posed_tear_frames(avatar) == []


def _eye_frame(
    avatar: Avatar, ring: tuple[int, ...]
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, float]:
    """The eye's own frame in the portrait: (outer corner, width, unit axis toward the inner
    corner, unit up toward the upper lid, opening between the lids along up)."""
    lm = avatar.rig.geometry.landmarks[:, :2]
    c0, c1 = lm[ring[0]], lm[ring[8]]
    width = float(np.linalg.norm(c1 - c0))
    axis = (c1 - c0) / width
    up = np.array([axis[1], -axis[0]])
    upper, lower = lm[list(ring[1:8])], lm[list(ring[9:])]
    if float((upper.mean(axis=0) - lower.mean(axis=0)) @ up) < 0:
        up = -up
    opening = float(((upper - c0) @ up).max() - ((lower - c0) @ up).min())
    return c0, width, axis, up, opening


def _lid_and_lash(avatar: Avatar, ring: tuple[int, ...], frame: np.ndarray) -> tuple[float, float]:
    """(brightness of the closed lid 0.6-1.0 eye openings above the lash line, darkest over
    that), along the eye's middle, in the eye's own frame."""
    _, profile, k, lid, _ = _shut_profile(avatar, ring, frame, (0.3, 0.7), 15)
    return lid, float(profile[k]) / lid


PROFILE_STEP = 0.025
"""Eye openings between the rows of :func:`_shut_profile`."""


def _shut_profile(
    avatar: Avatar,
    ring: tuple[int, ...],
    frame: np.ndarray,
    stretch: tuple[float, float],
    columns: int,
) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """The shut eye's median column profile over ``stretch`` of its width (shares from the
    outer corner), ``columns`` columns, rows :data:`PROFILE_STEP` openings apart from one
    opening below the corner line to one above, in the eye's own frame: (rows' heights in
    pixels, grey profile, the darkest row, the lid's light 0.6-1.0 openings above it, the
    eye's opening in pixels)."""
    c0, width, axis, up, opening = _eye_frame(avatar, ring)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gu, gv = np.meshgrid(np.linspace(*stretch, columns) * width, np.arange(-1, 1, PROFILE_STEP))
    gv = gv * opening
    mx = (c0[0] + gu * axis[0] + gv * up[0]).astype(np.float32)
    my = (c0[1] + gu * axis[1] + gv * up[1]).astype(np.float32)
    profile = np.median(cv2.remap(gray, mx, my, cv2.INTER_LINEAR), axis=1)
    vs = gv[:, 0]
    k = int(np.argmin(profile))
    lid = float(profile[(vs > vs[k] + 0.6 * opening) & (vs < vs[k] + opening)].mean())
    return vs, profile, k, lid, opening


def test_the_far_eye_of_a_turned_head_closes_like_the_near_one() -> None:
    """The far, foreshortened eye (0.71 of the near one's width) closes under a lid lit like
    the near one's, with a lash line as dark."""
    avatar = built("astronaut_turned")
    lm = avatar.rig.geometry.landmarks[:, :2]
    frame = avatar.renderer.render(SHUT)
    eyes = []
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        width = float(np.linalg.norm(lm[ring[0]] - lm[ring[8]]))
        eyes.append((width, *_lid_and_lash(avatar, ring, frame)))
    (near_w, near_lid, near_lash), (far_w, far_lid, far_lash) = sorted(eyes, reverse=True)
    assert far_w < 0.8 * near_w, "the far eye is not foreshortened"
    assert far_lid >= FAR_LID_LIGHT_MIN * near_lid
    assert far_lash <= near_lash + FAR_LASH_EXTRA_MAX


def _line_along(
    avatar: Avatar, ring: tuple[int, ...], frame: np.ndarray, stretch: tuple[float, float]
) -> tuple[float, float]:
    """(darkest of the shut line below the lid's light, 0…1; its thickness in eye openings,
    where it is darker than half way to that) over ``stretch`` of the eye (shares of its width
    from the outer corner), in the eye's own frame: the median column's profile."""
    vs, profile, k, lid, opening = _shut_profile(avatar, ring, frame, stretch, 9)
    dark = 1.0 - float(profile[k]) / lid
    near = np.abs(vs - vs[k]) < 0.5 * opening
    thick = float((profile[near] < lid - 0.5 * (lid - profile[k])).sum() * PROFILE_STEP)
    return dark, thick


def unshaded(shape: LidShape) -> LidShape:
    """``shape`` less its socket's shade: the default lids, shaded or not, are the same lids
    (pipelines/avatar/lids.SHADED_SHAPE, kept where they read clearly shut)."""
    return replace(shape, shade=0.0)


LINE_INNER_THICK_MAX = 0.93
"""The default shut line's thickness 0.65-0.8 of the eye's width in from the outer corner over
that of the same line drawn as one even band (``LidShape(lash_inner=False)``), at most
(rig.LID_LASH_INNER; 2026-12-05: 0.85-0.88 on these and photographer_turned, 1 before); its outer
middle (0.25-0.45) as thick as the even band's, within :data:`LINE_OUTER_THICK_TOLERANCE`."""
LINE_OUTER_THICK_TOLERANCE = 0.05


@pytest.mark.parametrize("name", ["brothers_sepia", "astronaut"])
def test_the_shut_line_thins_and_pales_toward_the_inner_corner(name) -> None:
    """Shut lashes are longest and darkest from the middle outward and short and sparse toward
    the inner corner: the default shut line thins and pales toward it, where the line drawn as
    one even band, as dark out to the inner corner's fade, looked drawn on with a marker
    (issue 13)."""
    avatar = built(name)
    assert unshaded(avatar.rig.lid_shape) == LidShape()
    frame = avatar.renderer.render(SHUT).copy()
    with lids_kept(avatar):
        avatar.rig.set_lid_depth(
            avatar.portrait.image,
            BLINK_LOWER_SHARE,
            replace(avatar.rig.lid_shape, lash_inner=False),
        )
        even = avatar.renderer.render(SHUT).copy()
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        lines = [
            [_line_along(avatar, ring, f, stretch) for stretch in ((0.25, 0.45), (0.65, 0.8))]
            for f in (frame, even)
        ]
        ((_, outer_thick), (inner_dark, inner_thick)) = lines[0]
        ((_, even_outer_thick), (even_inner_dark, even_inner_thick)) = lines[1]
        got = (ring[0], lines)
        assert inner_thick <= LINE_INNER_THICK_MAX * even_inner_thick, got
        assert inner_dark < even_inner_dark, got
        assert abs(outer_thick - even_outer_thick) <= LINE_OUTER_THICK_TOLERANCE, got


TUNING_BLINK_FAILS = {
    "astronaut_rims": "posed 6 of 8 (0.33-0.54 of the open eye; seeds 7-10 28 of 32, worst "
    "0.56) since every lid closes a little past the outer corner (rig.LID_OUTER_REACH, "
    "2026-12-05; 6 of 8, 0.30-0.59, seeds 7-10 26 of 32, worst 0.59, before it, re-measured "
    "then); posed 7 of 8 (0.21-0.54 of the open eye) since the lids meet on the "
    "lower lid's line (2026-12-04; the upper lid 0.15 of the opening past it reads 8 of 8, "
    "0.21-0.45, but its lash line on this smooth lower lid is a tear in 3 and 2 of 48 random "
    "posed frames, 16 and 15 at 0.3 past it, so the build's check of the shut eye keeps the "
    "default, pipelines/avatar/lids.py; posed 7 of 8 since the lids meet on the "
    "lower lid's line (2026-12-04); 6 of 8 (0.35-0.64 of the open eye; 2 of 8, 0.29-0.66, before "
    "the shut line was darker and thinner, 2 of 8, 0.43-0.69, earlier on 2026-12-03): thick "
    "dark frames hug the eyes and the tracker reads even an eye erased by inpainting with a "
    "lash line drawn on at 0.44-0.57 of the open eye",
    "cameraman": "posed 0 of 8 (0.66-0.85 of the open eye since every lid closes a little past "
    "the outer corner, rig.LID_OUTER_REACH, 2026-12-05, 0.69-0.88 re-measured before it; "
    "0.70-1.02 since the lids meet on the lower "
    "lid's line, 2026-12-04; 0.65-0.93 before; 0.68-0.98 before the darker "
    "shut line): its near eye is 5.6 px open, the tracker's open reading 0.13-0.25 of its "
    "width; on this three-quarter profile "
    "the tracker's reading of the near eye hardly depends on what is drawn there: erased by "
    "inpainting, with a lash line drawn on or not, it reads 0.8-1.3 of the open eye",
}


@pytest.mark.parametrize(
    "name", ["astronaut_grey_small", "astronaut_turned", "astronaut_rims", "cameraman"]
)
def test_posed_blinks_are_seen_on_tuning_portraits(name, request) -> None:
    """Eight blinks under random head poses, each seen by the tracker as an eye opening
    under half the open eye's, on the portraits standing for the held-out conditions."""
    if name in TUNING_BLINK_FAILS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=TUNING_BLINK_FAILS[name]))
    ratios = posed_blink_ratios(name, count=POSED_BLINKS)
    assert all(r < 0.5 for r in ratios), [round(r, 2) for r in ratios]


def test_most_blinks_behind_thick_rims_are_seen() -> None:
    ratios = posed_blink_ratios("astronaut_rims", count=POSED_BLINKS)
    assert sum(r < 0.5 for r in ratios) >= RIMS_SEEN_MIN, [round(r, 2) for r in ratios]


def test_blinks_behind_glasses_close_with_a_margin() -> None:
    avatar = built("astronaut_glasses")
    ratios = blink_ratios_under_poses(avatar, count=POSED_BLINKS)
    assert max(ratios) <= GLASSES_WORST_MAX, [round(r, 2) for r in ratios]


# --------------------------------------------------------------------------- real faces
REAL_TUNING_SEEN = ("photographer_turned", "brothers_sepia")
HOODED_POSED_SEEN_MIN = 7
"""canonman_glasses' posed blinks seen (of 8): 0 (0.53-0.65 of the open eye) while the lids met
a fifth of the opening above the lower lid's line; 4 (0.37-0.61) since they meet on it
(rig.BLINK_LOWER_SHARE, 2026-12-04), 5 (0.36-0.62) with the lashes hanging lower; 8
(0.32-0.50) since the avatar checks its shut eye with the tracker at build and, on these eyes,
brings the upper lid 0.45 of the opening past the lower lid's line
(pipelines/avatar/lids.py, 2026-12-04). The unseen were the head turned hard (yaw 0.6-1.0)
with it tilted: the near eye's hooded outer corner keeps its dark fold, a corner of an open eye
to the tracker. (7, not 8: the worst blink reads 0.50, at the issue's threshold. With the
deeper lids past the outer corner, lids.DEEPER_SHAPE, 8 of 8, worst 0.46, which this
portrait's build keeps since each of its check readings is a blink of its own,
lids.READ_PASSES, 2026-12-05: its plain deeper lids read 0.53 at the worst check pose.)"""
HOODED_SPEECH_SEEN_MIN = 0.75
"""Share of canonman_glasses' scheduled blinks the tracker sees over the speech clip
(pipelines/assets/talking_head_speech.wav, animator seeds 1-3, 11 blinks): 0 of 11 before
2026-12-04, 5 of 11 since (rig.BLINK_LOWER_SHARE, rig.LID_LASH_BELOW), 9 of 11 since the build
checks the shut eye with the tracker and brings these hooded eyes' upper lids past the lower
lid's line (pipelines/avatar/lids.py; no tear, silent frames all shut, p95 opening 0.141-0.143,
the same day). The head is near frontal while talking, where the default lids read at ~0.5 of
the open eye on these narrow eyes (the held-out figures: tests/test_avatar_heldout.py)."""
HOODED_SPEECH_SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def hooded() -> Avatar:
    return built("canonman_glasses")


def test_posed_blinks_of_real_hooded_eyes_are_seen(hooded) -> None:
    """Narrow, hooded, wrinkled eyes under thin metal rims, a real photograph: the closed lid
    must read as a closed eye to the tracker under random head poses."""
    ratios = blink_ratios_under_poses(hooded, count=POSED_BLINKS)
    assert sum(r < 0.5 for r in ratios) >= HOODED_POSED_SEEN_MIN, [round(r, 2) for r in ratios]


def _speech_blinks(avatar: Avatar, name: str, seeds: tuple[int, ...]) -> tuple[int, int]:
    """The speech clip's scheduled blinks seen by the tracker, and scheduled, summed over the
    animator's ``seeds`` (its timing and idle head sway)."""
    from pipelines.audio.inputs import read_audio_file
    from pipelines.audio.vad import StreamingVad
    from pipelines.avatar.measure import measure

    speech = read_audio_file(SPEECH)
    seen = count = 0
    for seed in seeds:
        figs = measure(avatar, name, *speech, vad=StreamingVad(), seed=seed)
        seen, count = seen + figs.blinks_seen, count + figs.blinks
    return seen, count


def test_blinks_of_real_hooded_eyes_are_seen_while_talking(hooded) -> None:
    """The speech clip's scheduled blinks (the animator's timing, the idle head sway), seen
    by the tracker as an eye opening under half its median."""
    seen, count = _speech_blinks(hooded, "canonman_glasses", HOODED_SPEECH_SEEDS)
    assert count >= len(HOODED_SPEECH_SEEDS)
    assert seen >= HOODED_SPEECH_SEEN_MIN * count, (seen, count)


TURNED_HOODED = "canonman_turned"
"""canonman_glasses' real hooded eyes on a head turned 40 degrees (tests/data/faces/README.md),
standing for the held-out riga_turned's shut near eye."""


def test_posed_blinks_of_hooded_eyes_on_a_turned_head_are_seen() -> None:
    """Every posed blink seen on the turned head with real hooded eyes: 0 of 8 (0.51-0.74 of
    the open eye; seed 8: 1 of 8, worst 0.81) while the lids closed between the corners'
    landmarks, the near eye's dark outer corner left (no deeper lid read under 0.55 at the
    build's check poses, so none was kept); 8 of 8 (0.29-0.45; seed 8: 8 of 8, worst 0.48)
    since deeper lids close past the outer corner with a thicker shut line (lids.OUTER_REACH,
    lids.DEEPER_LASH_BAND, 2026-12-04), the lids kept 0.45 past the lower lid's line (read
    at 0.50 of the open eye at the build's check poses, just under the issue's half).
    Re-measured at a7770f8, 2026-12-04 22:07 UTC: seeds 7-12 47 of 48 (seed 11 worst 0.51);
    48 of 48 (worst per seed 0.44-0.49) since its hanging lashes come in strands on a shaded
    lid (lids.DEEPER_LOOK)."""
    avatar = built(TURNED_HOODED)
    assert avatar.rig.lid_shape == DEEPER_SHAPE
    ratios = blink_ratios_under_poses(avatar, count=POSED_BLINKS)
    assert all(r < 0.5 for r in ratios), [round(r, 2) for r in ratios]


TURNED_HARD = ("astronaut_turned_far", "astronaut_turned55_moustache")
"""Heads turned about 30 and 55 degrees (tests/data/faces/README.md), turned further by the
posed blinks' random poses, standing for the held-out heads turned hard (riga_turned,
einstein_midword)."""
TURNED_HARD_WORST_MAX = 0.46
"""The worst posed blink's shut eye over the open one asked there: the issue's half, with a
margin for the poses between the ones drawn."""


@pytest.mark.parametrize("name", TURNED_HARD)
def test_posed_blinks_of_a_head_turned_hard_are_seen_with_a_margin(name) -> None:
    """A head turned further than the build's check poses (yaw 0.9-1.0, pitched and rolled):
    the near eye's default lids closed between the corners' landmarks, its dark outer corner
    was left, an open eye's corner to the tracker, which read the shut eye at 0.61 and 0.51
    of the open one (seed 7; 7 of 8 seen on each); with every lid closing a little past the
    outer corner (rig.LID_OUTER_REACH, 2026-12-05), 0.44 and 0.43, 8 of 8."""
    avatar = built(name)
    assert unshaded(avatar.rig.lid_shape) == LidShape()
    ratios = blink_ratios_under_poses(avatar, count=POSED_BLINKS)
    assert max(ratios) <= TURNED_HARD_WORST_MAX, [round(r, 2) for r in ratios]


PALE_LASHES = "astronaut_pale_lashes"
"""A grey, turned head tilted ~21 degrees whose lashes are nearly as light as its skin
(tests/data/faces/README.md), standing for the held-out einstein_midword's."""
PALE_WORST_MAX = 0.4
"""Its worst posed blink (seed 7), the shut eye over the open one: 0.75 (4 of 8 seen) while
the shut line took the pale lashes' colour (0.86 of the lid skin's light), 0.31 since it is
kept no paler than rig.LID_LASH_PALEST of it (2026-12-05); the margin is for the poses between
the ones drawn, as the turned heads' 0.46."""
PALE_SPEECH_SEEDS = (1, 2)
"""Animator seeds of the speech clip: 2 of 7 scheduled blinks seen with the pale shut line,
7 of 7 since (seed 3: 3 of 4 -> 4 of 4)."""


@pytest.fixture(scope="module")
def pale_lashes() -> Avatar:
    return built(PALE_LASHES)


def test_posed_blinks_of_pale_lashes_are_seen_with_a_margin(pale_lashes) -> None:
    """Pale lashes still meet in a dark line where the lids close: the shut line read from
    them was a pale band, a narrow open eye to the tracker, under every lid depth the build
    could try (rig.LID_LASH_PALEST)."""
    assert unshaded(pale_lashes.rig.lid_shape) == LidShape()
    ratios = blink_ratios_under_poses(pale_lashes, count=POSED_BLINKS)
    assert max(ratios) <= PALE_WORST_MAX, [round(r, 2) for r in ratios]


def test_blinks_of_pale_lashes_are_seen_while_talking(pale_lashes) -> None:
    """Every scheduled blink of the speech clip seen on the pale-lashed stand-in, the head
    nodding and swaying as it talks."""
    seen, count = _speech_blinks(pale_lashes, PALE_LASHES, PALE_SPEECH_SEEDS)
    assert count >= len(PALE_SPEECH_SEEDS)
    assert seen == count, (seen, count)


PITCHED_DOWN = "canonman_bright_rolled"
"""canonman_turned brightened, rolled 21 degrees, grey and smaller (tests/data/faces/README.md):
narrow, wrinkled real eyes on a bright grey photo of a turned, tilted head, standing for the
held-out einstein_midword's, whose speech blinks were missed with the head pitched down."""
PITCHED_DOWN_POSES: tuple[dict[str, float], ...] = (
    {"pitch_down": 0.4, "roll_cw": 0.2, "yaw_left": 0.1},
    {"pitch_down": 0.55, "roll_cw": 0.15},
    {"pitch_down": 0.7, "roll_cw": 0.15, "yaw_right": 0.1},
)
"""The head nodding down while talking, as the tuning clips' missed blinks on that portrait
had it (pitch_down 0.4-0.7, roll_cw 0.14-0.22, yaw under 0.15)."""
PITCHED_DOWN_WORST_MAX = 0.46
"""The worst of those blinks, the shut eye over the open eye's median over the frontal head
and those poses (as a clip's judge reads a blink against the clip's median); the margin as the
turned heads' 0.46."""
PITCHED_DOWN_FAILS = (
    "the build keeps lids.DEEPER_SHAPE 0.45 past the lower lid's line here (the deepest it "
    "tries; read 0.48-0.50 of the open eye at its check poses): the pitched-down blinks read "
    "0.51, 0.47, 0.47 of the open eye's median, the speech clip's seeds 1 and 2 4 of 7 blinks "
    "seen (seed 3: 3 of 4), tools/avatar_real_tuning.py's clips 11 of 17 (every miss pitched "
    "down 0.4-0.7), posed blinks of seeds 7-12 33 of 48 (2026-12-05). A pitched-down eye reads "
    "taller to the tracker, open and shut alike (open 0.244 of its width pitched down 0.6 "
    "against 0.228 frontal), and a clip's judge divides by the clip's median open eye, so "
    "lids reading 0.45-0.47 of their own pose's open eye read 0.51-0.57 there. The same lids "
    "0.75 past the line read 0.44 (0.44, 0.40, 0.42), 7 of 7, 17 of 17, 47 of 48, with the "
    "same tear frames, but letting the build go that deep (lids.DEEPER down to 0.75) also "
    "took canonman_turned there, whose hanging lashes then smear "
    "(test_the_hanging_lashes_of_a_deeper_shut_line_come_in_strands: 0.041, 0.054 at 0.6, "
    "against 0.086 at 0.45; posed seeds 7-12 47 of 48 against 48), and the held-out "
    "einstein_midword read 20 of 40 speech blinks, posed 6 of 8 (21 of 40, 6 of 8 before)"
    ". On an AVX-512 host both pass (2026-12-05): the tracker's last digits there "
    "(tests/host_cpu.py) tip the build's lid check, so the test is strict only on other hosts."
)
PITCHED_DOWN_SPEECH_SEEDS = (1, 2)
"""Animator seeds of the speech clip (7 scheduled blinks)."""


def _pitched_down_blinks(avatar: Avatar) -> list[float]:
    """For each of :data:`PITCHED_DOWN_POSES`, a blink as the posed ones are shown (a fresh
    tracker: open, open, 0.6 shut, shut, shut, half, open): its least shut reading over the
    median of every open reading, the frontal head's too."""
    from pipelines.avatar.tracked import eye_opening, measuring_tracker
    from pipelines.frame import FrameContext

    tracker = measuring_tracker()
    tracker.open()
    opens: list[float] = []
    shut: list[float] = []
    try:
        for pose in ({}, *PITCHED_DOWN_POSES):
            tracker.reset()
            least = np.inf
            for index, amount in enumerate((0.0, 0.0, 0.6, 1.0, 1.0, 0.5, 0.0)):
                weights = {**pose, "blink_left": amount, "blink_right": amount}
                ctx = FrameContext(timestamp=index / 30.0, index=index)
                tracker.process(avatar.renderer.render(weights), ctx)
                assert ctx.primary_face is not None, pose
                e = eye_opening(np.asarray(ctx.primary_face.landmarks, np.float64))
                if amount == 0.0:
                    opens.append(e)
                elif amount == 1.0:
                    least = min(least, e)
            if pose:
                shut.append(least)
    finally:
        tracker.close()
    return [s / float(np.median(opens)) for s in shut]


@pytest.fixture(scope="module")
def pitched_down() -> Avatar:
    return built(PITCHED_DOWN)


@pytest.mark.xfail(strict=not AVX512, reason=PITCHED_DOWN_FAILS)
def test_blinks_of_narrow_eyes_on_a_head_pitched_down_are_seen_with_a_margin(
    pitched_down,
) -> None:
    """A pitched-down head's eye reads taller to the tracker, open and shut alike, than the
    open eye's median: narrow eyes whose shut lids read at the tracker's edge at the build's
    check poses (frontal, turned) are missed there."""
    ratios = _pitched_down_blinks(pitched_down)
    assert max(ratios) <= PITCHED_DOWN_WORST_MAX, [round(r, 2) for r in ratios]


@pytest.mark.xfail(strict=not AVX512, reason=PITCHED_DOWN_FAILS)
def test_blinks_of_narrow_eyes_on_a_tilted_head_are_seen_while_talking(pitched_down) -> None:
    """Every scheduled blink of the speech clip seen on that portrait, the head nodding and
    swaying as it talks."""
    seen, count = _speech_blinks(pitched_down, PITCHED_DOWN, PITCHED_DOWN_SPEECH_SEEDS)
    assert count >= len(PITCHED_DOWN_SPEECH_SEEDS)
    assert seen == count, (seen, count)


UNDER_A_FOLD = "canonman_hooded"
"""canonman_turned made older (tests/data/faces/README.md): a fold hanging over each upper lid,
the open eye left a narrow dark slit, and bags under the eyes; standing for the held-out
riga_turned, whose shut eye the tracker read wider than its open one."""
FOLD_LASH_MAX = 0.2
"""The shut line's darkest over the closed lid's light on the eyes under a fold
(:func:`_lid_and_lash`, frontal): 0.57 (the near eye) and 0.26 (the far one) with the lashes'
colour taken from the margin above the landmarks (the fold's skin there), 0.12 and 0.09 since
it may be the open slit's (lids.HOODED_SHAPE, 2026-12-04)."""


FOLD_LINE_ENDS_MAX = 0.8
"""The shut line's dark near its ends (0.08-0.12 and 0.88-0.92 of the eye's width) over its
middle's (0.35-0.6), on the eyes under a fold (:func:`_shut_line`, frontal): 0.86-0.87 while
it was an even band, as thick and dark out to the corners as in the middle (a stroke drawn
with a pen); 0.73-0.74 since it is drawn as lashes (rig.LashLook, 2026-12-04)."""
FOLD_LINE_STEP_MAX = 0.4
"""...and the steepest one-pixel rise from its darkest to the lid's light, over that rise
(median along the eye's middle): 0.48-0.52 as an even band (full colour up to 0.3 of the
opening above the lid's edge, then a ramp of as much: a hard upper edge), 0.28-0.31 as
lashes (full colour only at the roots, a longer falloff)."""


@pytest.fixture(scope="module")
def under_a_fold() -> Avatar:
    return built(UNDER_A_FOLD)


def _shut_line(
    avatar: Avatar, ring: tuple[int, ...], frame: np.ndarray, shares: tuple[float, ...]
) -> np.ndarray:
    """Across the shut line, at each share of the eye's width from its outer corner: (its
    dark, summed over pixels within 0.8 eye openings of its darkest, as shares of the lid's
    light 0.8-1.2 openings above that; the steepest one-pixel rise above its darkest over the
    rise to the lid's light)."""
    c0, width, axis, up, opening = _eye_frame(avatar, ring)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    step = 0.25
    vs = np.arange(-opening, 1.5 * opening, step)
    out = []
    for share in shares:
        u = share * width
        mx = (c0[0] + u * axis[0] + vs * up[0]).astype(np.float32)[None]
        my = (c0[1] + u * axis[1] + vs * up[1]).astype(np.float32)[None]
        col = cv2.remap(gray, mx, my, cv2.INTER_LINEAR)[0]
        k = int(np.argmin(col))
        lid = float(col[(vs > vs[k] + 0.8 * opening) & (vs < vs[k] + 1.2 * opening)].mean())
        near = np.abs(vs - vs[k]) < 0.8 * opening
        dark = float(np.clip(1.0 - col[near] / lid, 0.0, 1.0).sum()) * step
        rising = col[k:][:: int(1 / step)][: int(opening) + 1]
        out.append((dark, float(np.max(np.diff(rising))) / max(1.0, lid - float(col[k]))))
    return np.array(out)


def test_a_shut_eye_under_a_fold_is_lined_by_lashes_not_a_stroke(under_a_fold) -> None:
    """The shut line on the eyes under a fold tapers toward the corners and falls off softly
    into the lid's skin: an even, hard-edged dark band read as drawn on at 100-200 %."""
    frame = under_a_fold.renderer.render(SHUT)
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        middle = _shut_line(under_a_fold, ring, frame, (0.35, 0.4, 0.45, 0.5, 0.55, 0.6))
        ends = _shut_line(under_a_fold, ring, frame, (0.08, 0.12, 0.88, 0.92))
        taper = float(np.median(ends[:, 0]) / np.median(middle[:, 0]))
        assert taper <= FOLD_LINE_ENDS_MAX, (ring[0], round(taper, 2))
        assert np.median(middle[:, 1]) <= FOLD_LINE_STEP_MAX, (ring[0], middle[:, 1].round(2))


STRANDS_MIN = {TURNED_HOODED: 0.065, UNDER_A_FOLD: 0.11}
"""How the shut line's hanging lashes vary along the near eye, 1-2 px below its darkest
(:func:`_strands_below`): as a smooth band 0.044 (canonman_turned) and 0.081 (canonman_hooded,
the photo's own grain under it), 0.086 and 0.145 in strands (rig.LashLook, 2026-12-04)."""


def _strands_below(avatar: Avatar, ring: tuple[int, ...], frame: np.ndarray) -> float:
    """Along the eye's middle half (half-pixel steps), the rows 1, 1.5 and 2 px below each
    column's darkest (the shut line): the spread of their detail finer than 3.5 px, over the
    lid's light (the window's top 2 px, up to 0.8 openings above the corners' axis), mean over
    the three rows."""
    c0, width, axis, up, opening = _eye_frame(avatar, ring)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    us = np.arange(0.25 * width, 0.75 * width, 0.5)
    vs = np.arange(-opening, 0.8 * opening, 0.25)
    gu, gv = np.meshgrid(us, vs)
    mx = (c0[0] + gu * axis[0] + gv * up[0]).astype(np.float32)
    my = (c0[1] + gu * axis[1] + gv * up[1]).astype(np.float32)
    patch = cv2.remap(gray, mx, my, cv2.INTER_LINEAR)
    darkest = np.argmin(patch, axis=0)
    lid = max(1.0, float(np.median(patch[-8:])))
    spreads = []
    for rows_down in (4, 6, 8):
        row = patch[np.clip(darkest - rows_down, 0, len(vs) - 1), np.arange(len(us))]
        smooth = np.convolve(np.pad(row, 3, mode="edge"), np.ones(7) / 7, mode="valid")
        spreads.append(float(np.std(row - smooth)) / lid)
    return float(np.mean(spreads))


@pytest.mark.parametrize("name", [TURNED_HOODED, UNDER_A_FOLD])
def test_the_hanging_lashes_of_a_deeper_shut_line_come_in_strands(name, under_a_fold) -> None:
    """Below the shut line of the deeper lids' shapes (lids.DEEPER_SHAPE, lids.HOODED_SHAPE)
    the lashes hang in strands, not as a smooth smear: the near eye's."""
    avatar = under_a_fold if name == UNDER_A_FOLD else built(name)
    lm = avatar.rig.geometry.landmarks[:, :2]
    near = max(
        (regions.RIGHT_EYE, regions.LEFT_EYE),
        key=lambda ring: float(np.linalg.norm(lm[ring[0]] - lm[ring[8]])),
    )
    frame = avatar.renderer.render(SHUT)
    assert _strands_below(avatar, near, frame) >= STRANDS_MIN[name], name


def test_posed_blinks_of_eyes_under_a_fold_on_a_turned_head_are_seen(under_a_fold) -> None:
    """Every posed blink seen on the turned head whose open eyes are narrow slits under a fold:
    0 of 8 (0.59-0.89 of the open eye; seed 8: 0 of 8, 0.72-1.03, a shut eye read wider than
    the open one) while the shut line took the lashes' colour from the upper lid's margin,
    hidden under the fold (a pale line, no lid of any shape or depth tried reading under 0.85
    at the build's check poses, so the default was kept); 8 of 8 (0.26-0.48; seed 8:
    0.24-0.44) since the build tries lids whose shut line is as dark as the open slit
    (lids.HOODED_SHAPE, 2026-12-04); re-measured at a7770f8 on 2026-12-04 21:45 UTC, 7 of 8
    (worst 0.51; seeds 8-12 8 of 8, worst per seed 0.42-0.49); 8 of 8 (0.24-0.47; seeds 8-12
    worst per seed 0.38-0.45) since that line is drawn as lashes (rig.LashLook) and the build
    keeps it 0.45 past the lower lid's line."""
    ratios = blink_ratios_under_poses(under_a_fold, count=POSED_BLINKS)
    assert all(r < 0.5 for r in ratios), [round(r, 2) for r in ratios]


def test_a_shut_eye_under_a_fold_is_lined_as_dark_as_its_open_slit(under_a_fold) -> None:
    """The build keeps the hooded eyes' lids there (the other shapes read no blink), and
    their shut line is dark: the lashes under the fold show as the open slit does."""
    assert under_a_fold.rig.lid_shape == HOODED_SHAPE
    frame = under_a_fold.renderer.render(SHUT)
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        _, lash = _lid_and_lash(under_a_fold, ring, frame)
        assert lash <= FOLD_LASH_MAX, (ring[0], round(lash, 2))


def test_the_lids_go_deeper_only_where_the_tracker_reads_them_open(hooded) -> None:
    """The build's check of the shut eye (pipelines/avatar/lids.py): the hooded eyes' lids
    come down past the lower lid's line, and read shut there under every check pose; eyes
    the tracker reads shut already (the other real tuning photographs, the glasses drawn on
    the astronaut) keep the default lids; a profile's near eye, which the tracker reads open
    however deep its lid (cameraman), keeps them too, and so do the thick rims' eyes, where
    the deeper lids that read shut tear the smooth lower lid (astronaut_rims)."""
    assert hooded.rig.lid_depth < BLINK_LOWER_SHARE
    # (Each check read on its own (lids.READ_PASSES), its plain deeper lids read 0.53 of the
    # open eye at the worst check pose, not shut: the lids past the corner are kept, read
    # 0.44; posed blinks of seeds 7 and 8 16 of 16, worst 0.46, against 0.49 with the plain
    # deeper lids its build kept while a check's reading carried the ones before it.)
    assert hooded.rig.lid_shape == DEEPER_SHAPE


WARM_CAST = (0.7, 1.0, 1.25)
"""tools/avatar_sweep.py's ``warm_cast`` variant: the photo's blue, green and red times these
(tungsten light, an old print)."""
CAST_POSED_SEEN_MIN = 7
"""canonman_glasses in a warm colour cast, posed blinks of seed 7 seen (of 8): 3 (worst 0.64 of
the open eye) while the build's check kept the default lids, its deeper lids past the corner
reading 0.51 at the worst check pose, a hair over the issue's 0.5; 8 (worst 0.48) since lids
read at the tracker's edge are weighed against each other (lids.EDGE, 2026-12-05)."""


def test_blinks_of_hooded_eyes_survive_a_colour_cast() -> None:
    """A user's photo of the hooded eyes under warm light (built as tools/avatar_sweep.py
    builds its variants): the build's check must not drop the deeper lids the original photo
    keeps because they read a hair over the threshold, so its blinks stay seen."""
    from pipelines.avatar.portrait import find_landmarks, make_portrait, read_image

    image = read_image(FACES / "canonman_glasses.jpg").astype(np.float32)
    cast = np.clip(image * np.array(WARM_CAST, np.float32) + 0.5, 0, 255).astype(np.uint8)
    found = find_landmarks(cast, search=True)
    avatar = Avatar.build(make_portrait(cast, found, source="canonman_glasses:warm_cast"))
    ratios = blink_ratios_under_poses(avatar, count=POSED_BLINKS)
    assert sum(r < 0.5 for r in ratios) >= CAST_POSED_SEEN_MIN, [round(r, 2) for r in ratios]
    assert avatar.rig.lid_depth < BLINK_LOWER_SHARE


DIM_GAMMA = 1.5
"""tools/avatar_sweep.py's ``dim`` variant: the photo's values (0-1) to this power."""
DIM_POSED_SEEN_MIN = 5
"""canonman_hooded dimmed, posed blinks of seed 7 seen (of 8): 0 (0.57-0.97 of the open eye)
while the build's check kept the default lids, no flat lid of any shape or depth reading a
blink there; 7 (worst 0.64) since the hooded eye's lids are tried with their light shaded as
a dome where none does (lids.DIM_SHAPE, 2026-12-05)."""
DIM_LID_MEAN_MAX = 1.02
"""The domed shut lid's mean light over the flat one's at the same depth, where the two
differ: the dome shades the lid, it does not light it (1.00 here; the lit lids that glowed,
branch blinkdim-lit-lids-glow, 1.5 times the flat lid's light)."""
DIM_LID_RELIEF_MIN = 0.08
"""...while the domed lid's light does vary over the lid: the mean absolute difference from
the flat lid there, as a share of its light (0.12 here; 0 for a flat lid)."""


@pytest.fixture(scope="module")
def dim_hooded() -> Avatar:
    """canonman_hooded dimmed as tools/avatar_sweep.py's ``dim`` variant, built."""
    from pipelines.avatar.portrait import find_landmarks, make_portrait, read_image

    image = read_image(FACES / "canonman_hooded.jpg").astype(np.float32)
    dim = np.clip(255.0 * (image / 255.0) ** DIM_GAMMA + 0.5, 0, 255).astype(np.uint8)
    found = find_landmarks(dim, search=True)
    return Avatar.build(make_portrait(dim, found, source="canonman_hooded:dim"))


def test_blinks_of_hooded_eyes_survive_a_dim_photo(dim_hooded) -> None:
    """A user's dim photo of the eyes under a fold: the tracker reads grey levels, and the
    lids drawn flat in the dim photo's light read open under every shape and depth; shaded as
    a rounded lid (lit on its dome, darker toward its lash line, crease and corners), most
    blinks are seen again."""
    ratios = blink_ratios_under_poses(dim_hooded, count=POSED_BLINKS)
    assert sum(r < 0.5 for r in ratios) >= DIM_POSED_SEEN_MIN, [round(r, 2) for r in ratios]
    assert dim_hooded.rig.lid_shape.dome > 0.0


def test_a_dim_photos_domed_lid_is_shaded_not_lit(dim_hooded) -> None:
    """The dim photo's domed shut lids are no lighter on the whole than flat ones at the same
    depth (a lid lit brighter than the photo's skin glowed as a pale patch), but their light
    does vary over the lid."""
    rig, image = dim_hooded.rig, dim_hooded.portrait.image
    shape, depth = rig.lid_shape, rig.lid_depth
    domed = cv2.cvtColor(dim_hooded.renderer.render(SHUT), cv2.COLOR_BGR2GRAY).astype(np.float32)
    try:
        rig.set_lid_depth(image, depth, replace(shape, dome=0.0))
        flat = cv2.cvtColor(dim_hooded.renderer.render(SHUT), cv2.COLOR_BGR2GRAY)
    finally:
        rig.set_lid_depth(image, depth, shape)
    flat = flat.astype(np.float32)
    lid = np.abs(domed - flat) >= 1.0
    assert lid.sum() > 100
    assert float(domed[lid].mean()) <= DIM_LID_MEAN_MAX * float(flat[lid].mean())
    relief = float(np.abs(domed - flat)[lid].mean()) / float(flat[lid].mean())
    assert relief >= DIM_LID_RELIEF_MIN, round(relief, 3)


GREY_SMALL_FACE_PX = 120.0
"""canonman_turned as a small black-and-white print (tools/avatar_sweep.py's ``grey_face120``:
grey, the photo area-resized so the face, as found on the grey photo, is this many pixels from
forehead to chin)."""
GREY_SMALL_WORST_MAX = 0.46
"""Its posed blinks of seed 7, the worst shut eye over the open one: 0.51 (7 of 8 seen;
seeds 7, 11, 23 20 of 24, worst 0.55) while the build kept the lids past the corner 0.45 past
the lower lid's line, read 0.480 at its worst check pose, a hair under the gate that tried
other shapes (``SEEN - TIE``); 0.41 (24 of 24, worst 0.41) since a lid read at the tracker's
edge tries them too (lids.AT_EDGE): the domed lids 0.75 past the line, read 0.32
(2026-12-05)."""


def _grey_small(name: str, face_px: float) -> Avatar:
    """A tuning photo made grey and small as tools/avatar_sweep.py's ``grey_faceN`` variants
    make it (grey, then area-resized so the face found on the grey photo is ``face_px`` from
    forehead to chin), found and built as the stage finds and builds it."""
    from pipelines.avatar.portrait import find_landmarks, make_portrait, read_image

    image = read_image(FACES / f"{name}.jpg")
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    lm = find_landmarks(grey, search=True)
    scale = face_px / float(np.linalg.norm(lm[regions.CHIN, :2] - lm[regions.FOREHEAD_TOP, :2]))
    size = (round(grey.shape[1] * scale), round(grey.shape[0] * scale))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    found = find_landmarks(small, search=True)
    return Avatar.build(make_portrait(small, found, source=f"{name}:grey_face{face_px:g}"))


@pytest.fixture(scope="module")
def grey_small_turned() -> Avatar:
    """canonman_turned made grey and small."""
    return _grey_small("canonman_turned", GREY_SMALL_FACE_PX)


GREY_SMALL_OFF_AVX512 = (
    "measured on an AVX-512 host only (tests/host_cpu.py), 2026-12-05: there the build's lids "
    "past the corner read 0.480 at the worst check pose, 0.01 over lids.AT_EDGE, so the domed "
    "lids are tried and kept; another CPU's last digits may keep the flat ones (posed worst "
    "0.55 with them)"
)


def test_blinks_of_narrow_eyes_in_a_small_grey_photo_close_with_a_margin(
    grey_small_turned, request
) -> None:
    """A small black-and-white photo of narrow, turned eyes: the lids the build's check reads
    at the tracker's edge at its three poses must not be kept without trying the other shapes,
    or the blinks at other poses (the head nodding as it talks) read open."""
    if not AVX512:
        request.applymarker(pytest.mark.xfail(strict=False, reason=GREY_SMALL_OFF_AVX512))
    ratios = blink_ratios_under_poses(grey_small_turned, count=POSED_BLINKS)
    assert all(r < 0.5 for r in ratios), [round(r, 2) for r in ratios]
    assert max(ratios) <= GREY_SMALL_WORST_MAX, [round(r, 2) for r in ratios]


SOFT_PHOTOS = ("blur1.5", "face60")
"""tools/avatar_sweep.py's variants of brothers_sepia that soften it: Gaussian blur of 1.5 px,
and the face shrunk to 60 px forehead to chin (the portrait scaled back up, soft)."""
SOFT_LINE_EDGE_MAX = 2.0
"""The shut line's strongest edge (the shut frame's grey gradient where it differs from the
photo, over each eye and its brow) over the photo's own strongest there (99.9th percentile),
each eye. On main before 2026-12-05: blur1.5 3.13 and 3.48, face60 2.08 and 2.63 (the line
drawn as crisp as on a sharp photo); since the line is blurred to the photo's softness
(rig.LID_LASH_EDGE_MAX): 1.67 and 1.87, 1.52 and 1.81. (Tear frames of the 24 posed frames
6 and 8 on main, none since; posed blinks 8 of 8 before and after, worst 0.29 -> 0.31.)"""


def _soft_variant(variant: str) -> Avatar:
    """brothers_sepia as tools/avatar_sweep.py makes the ``variant`` (found and built as the
    stage finds and builds it)."""
    from pipelines.avatar.portrait import find_landmarks, make_portrait, read_image

    image = read_image(FACES / "brothers_sepia.jpg")
    if variant.startswith("blur"):
        soft = cv2.GaussianBlur(image, (0, 0), float(variant[4:]))
    else:
        lm = find_landmarks(image, search=True)[:, :2]
        scale = 60.0 / float(np.linalg.norm(lm[regions.CHIN] - lm[regions.FOREHEAD_TOP]))
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        soft = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    found = find_landmarks(soft, search=True)
    return Avatar.build(make_portrait(soft, found, source=f"brothers_sepia:{variant}"))


def _edge_ratios(avatar: Avatar, frame: np.ndarray) -> list[float]:
    """Per eye: the shut frame's strongest grey gradient where it differs from the photo by
    over 8 levels (a pixel round), over the photo's own strongest (99.9th percentile), both
    over the eye and its brow."""
    from pipelines.avatar.measure import _gradient

    photo = cv2.cvtColor(avatar.portrait.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    shut = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g_photo, g_shut = _gradient(photo), _gradient(shut)
    changed = cv2.dilate((np.abs(shut - photo) > 8).astype(np.uint8), np.ones((3, 3), np.uint8))
    lm = avatar.rig.geometry.landmarks[:, :2]
    ratios = []
    for ring, brow in (
        (regions.RIGHT_EYE, regions.RIGHT_BROW),
        (regions.LEFT_EYE, regions.LEFT_BROW),
    ):
        hull = cv2.convexHull(lm[list(ring) + list(brow)].astype(np.float32))
        where = np.zeros(photo.shape, np.uint8)
        cv2.fillPoly(where, [np.round(hull).astype(np.int32)], 1)
        line = g_shut[(where > 0) & (changed > 0)]
        ratios.append(float(line.max()) / float(np.percentile(g_photo[where > 0], 99.9)))
    return ratios


@pytest.mark.parametrize("variant", SOFT_PHOTOS)
def test_a_soft_photos_shut_line_is_as_soft_as_the_photo(variant) -> None:
    """On a soft photo the shut lash line is no crisp stroke: its edges no stronger than twice
    the photo's own strongest around the eye, no tear under head poses (the line's edge over
    the lower lid's smooth skin was one to the tear detector: 6 and 8 of 24 posed frames on
    main), and every posed blink still seen."""
    from test_avatar_quality import posed_tear_frames

    avatar = _soft_variant(variant)
    ratios = _edge_ratios(avatar, avatar.renderer.render(SHUT).copy())
    assert max(ratios) <= SOFT_LINE_EDGE_MAX, [round(r, 2) for r in ratios]
    assert posed_tear_frames(avatar) == []
    seen = blink_ratios_under_poses(avatar, count=POSED_BLINKS)
    assert all(r < 0.5 for r in seen), [round(r, 2) for r in seen]


BLURRED_POSED_SEEN_MIN = 7
"""brothers_sepia blurred 3 px (tools/avatar_sweep.py's ``blur3``), posed blinks of seed 7 seen
(of 8): 8 (worst 0.48) on main and since the build keeps the default lids with a crisp line
where only that reads shut (0.35 against 0.52 blurred at the worst check pose,
lids.CRISP_SHAPE); before that, the build kept deeper lids 0.15 past the lower lid's line there,
seeds 7 and 8 13 of 16 seen (worst 0.68) against 15 of 16 (0.51) on main."""


def test_a_blurred_line_the_tracker_reads_open_is_drawn_crisp() -> None:
    """Blurring the shut line to a very soft photo's softness must not cost its blinks: where
    the tracker reads the blurred line open and the crisp one shut, the build keeps the crisp
    one, at the default depth."""
    avatar = _soft_variant("blur3")
    assert avatar.rig.lid_depth == BLINK_LOWER_SHARE
    assert avatar.rig.lid_shape.soften is False
    ratios = blink_ratios_under_poses(avatar, count=POSED_BLINKS)
    assert sum(r < 0.5 for r in ratios) >= BLURRED_POSED_SEEN_MIN, [round(r, 2) for r in ratios]


def test_the_lid_check_reads_each_frame_on_its_own(monkeypatch, caplog) -> None:
    """The build's check of the shut eye reads each lid under each pose on its own
    (lids.READ_PASSES): the same readings, and the same lids kept, whatever the order of the
    check poses, so the choice is the lids' and not the tracker's history (read one after
    another on one tracker, a change to the default lids' look turned canonman_turned's lids
    to lids.HOODED_SHAPE, 21 of 24 posed blinks seen, 2026-12-05)."""
    from pipelines.avatar import lids

    avatar = built("canonman_glasses")
    image = avatar.portrait.image

    def check(poses: tuple[dict[str, float], ...]) -> tuple[float, list[str]]:
        avatar.rig.set_lid_depth(image, BLINK_LOWER_SHARE, LidShape())
        monkeypatch.setattr(lids, "CHECK_POSES", poses)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger=lids.__name__):
            depth = lids.settle_lids(avatar)
        return depth, [r.getMessage() for r in caplog.records]

    with lids_kept(avatar):
        forward = check(lids.CHECK_POSES)
        assert len(forward[1]) >= 2, forward  # deeper lids were tried
        assert check(tuple(reversed(lids.CHECK_POSES))) == forward
    for name in (*REAL_TUNING_SEEN, "astronaut_glasses", "cameraman", "astronaut_rims"):
        avatar = built(name)
        assert avatar.rig.lid_depth == BLINK_LOWER_SHARE, name
        assert unshaded(avatar.rig.lid_shape) == LidShape(), name


@pytest.mark.parametrize("name", REAL_TUNING_SEEN)
def test_posed_blinks_are_seen_on_real_tuning_portraits(name) -> None:
    """The other two real tuning photographs: every posed blink seen (8 of 8 before and after
    2026-12-04: a guard, 0.13-0.35 and 0.08-0.27 of the open eye)."""
    avatar = built(name)
    ratios = blink_ratios_under_poses(avatar, count=POSED_BLINKS)
    assert all(r < 0.5 for r in ratios), [round(r, 2) for r in ratios]


# --------------------------------------------------------------------------- timing
FPS = 30.0
PHRASE_S, PAUSE_S = 3.0, 1.2
"""The simulated talk: phrases of 3 s with pauses of 1.2 s."""
PAUSE_BLINK_WITHIN_S = 0.45
PAUSE_BLINK_SHARE_MIN = 0.3
"""Share of the phrases' ends followed by a blink within PAUSE_BLINK_WITHIN_S: 0.5 x (no
blink in the last 1.2 s) plus chance, 0.38 over these runs; by chance alone (before
2026-12-03) 0.09."""
SPEAKING_RATE_MIN = 1.2
"""Blinks per minute while talking over those of a silent head: 1.55 here (27 against 18 a
minute, the pauses' blinks among them), 0.99 before."""


def _blink_starts(speaking, seed: int, seconds: float = 120.0) -> list[float]:
    from pipelines.audio.mouth import MouthParams
    from pipelines.avatar.motion import Animator, MotionSettings

    anim = Animator(MotionSettings(seed=seed))
    starts, was = [], False
    for i in range(int(seconds * FPS)):
        t = i / FPS
        talk = speaking(t)
        mouth = MouthParams(jaw=0.3 if talk else 0.0, level=0.5 if talk else 0.0, speaking=talk)
        shut = anim.update(t, mouth)["blink_left"] > 0.5
        if shut and not was:
            starts.append(t)
        was = shut
    return starts


def _talking(t: float) -> bool:
    return (t % (PHRASE_S + PAUSE_S)) < PHRASE_S


def test_speakers_blink_more_and_in_their_pauses() -> None:
    from pipelines.avatar.motion import BLINK_CLOSE_S, BLINK_MIN_S

    ends = np.arange(PHRASE_S, 120.0, PHRASE_S + PAUSE_S)
    talk, silent, near = 0, 0, 0
    for seed in range(1, 6):
        starts = np.array(_blink_starts(_talking, seed))
        talk += len(starts)
        silent += len(_blink_starts(lambda t: False, seed))
        after = starts[None, :] - ends[:, None]
        near += int(
            ((after > 0) & (after < PAUSE_BLINK_WITHIN_S + BLINK_CLOSE_S)).any(axis=1).sum()
        )
        gaps = np.diff(starts)
        # Doubles come 0.28 s apart, and the next blink's wait counts from the first.
        assert gaps[gaps > 0.5].min() >= BLINK_MIN_S - 0.28 - 1 / FPS
    assert near / (5 * len(ends)) >= PAUSE_BLINK_SHARE_MIN, near / (5 * len(ends))
    assert talk >= SPEAKING_RATE_MIN * silent, (talk, silent)


SHUT_POSES: tuple[dict[str, float], ...] = (
    {},
    {"yaw_right": 0.6, "pitch_down": 0.4},
    {"yaw_left": 0.6, "pitch_up": 0.4},
    {"yaw_left": 1.0, "pitch_down": 0.8, "roll_cw": 0.9},
    {"yaw_right": 0.9, "pitch_up": 0.7, "roll_ccw": 0.5, "gaze_left": 0.8},
    {"yaw_left": 0.5, "gaze_right": 1.0},
)
"""Head poses (and gazes) the shut eye is looked at under: the build's check poses, turned and
rolled hard, and the gaze moving the irises."""


SHUT_EYE_CORNERS = (
    "astronaut_turned",
    "astronaut_rims",
    "photographer_turned",
    "brothers_sepia",
    "astronaut_turned_far",
    "astronaut_grey_small",
)
"""Tuning portraits whose shut eyes showed 1-5 pixels of the open eye at an inner corner under
SHUT_POSES until 2026-12-05 (astronaut_turned 2, astronaut_rims 2, photographer_turned 5,
brothers_sepia 1, astronaut_turned_far 1, astronaut_grey_small 1): the turned head reads the
lids' field between its pixels, and a read close to the lower lid's pixel, under the upper
lid's, blended their offsets to about none while differing from the nearest by under
render.LID_SEAM_PX. The render now takes the nearest there (render.LID_SEAM_EYE_INSET): 0
pixels on each but astronaut_grey_small."""
SHUT_EYE_SHOWS = {
    "astronaut_grey_small": "1 pixel of the open eye at the left eye's inner corner under "
    "the rolled pose with gaze_left 0.8 (2026-12-05): the blend across the lids' seam lands "
    "on the ring's edge, outside render.LID_SEAM_EYE_INSET, and the gaze field, read after "
    "the lids, carries it a pixel into the eye; with LID_SEAM_EYE_INSET 0, none, but "
    "canonman_turned's build then kept other lids (see that constant)",
}


@pytest.mark.parametrize("name", [TURNED_HOODED, UNDER_A_FOLD, *SHUT_EYE_CORNERS])
def test_a_shut_eye_shows_nothing_of_the_open_eye_under_head_poses(name, request) -> None:
    """No pixel of the fully shut frame samples the portrait inside either open eye's outline
    (the landmarks' ring, less a pixel), whatever the pose or gaze: no iris, no eye white,
    corners included, with the deeper lids past the outer corner too. (0 pixels on
    canonman_turned before and after the lids closed past the outer corner, 2026-12-04; at
    0.8 shut, 23-47 pixels an eye there: the check sees the eye.)"""
    from pipelines.avatar.measure import last_backward

    if name in SHUT_EYE_SHOWS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=SHUT_EYE_SHOWS[name]))

    avatar = built(name)
    lm = avatar.rig.geometry.landmarks[:, :2]
    w, h = avatar.rig.size
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        eye = np.zeros((h, w), np.uint8)
        cv2.fillPoly(eye, [np.round(lm[list(ring)]).astype(np.int32)], 1)
        eye = cv2.erode(eye, np.ones((3, 3), np.uint8))
        for pose in SHUT_POSES:
            avatar.renderer.render({**pose, **SHUT})
            backward = last_backward(avatar.renderer)
            assert backward is not None
            src = np.round(backward[1]).astype(np.int64)
            sx, sy = src[..., 0], src[..., 1]
            inside = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
            seen = eye[sy[inside], sx[inside]] > 0
            assert not seen.any(), (name, ring[0], pose, int(seen.sum()))


GREY_SMALL_ROLLED_FACE_PX = 100.0
"""canonman_bright_rolled as a small black-and-white print (tools/avatar_sweep.py's
``grey_face100``: grey, the photo area-resized so the face, as found on the grey photo, is this
many pixels from forehead to chin; a proxy for a small grey photo of narrow, turned, tilted
eyes)."""
GREY_SMALL_ROLLED_SEED = 11
GREY_SMALL_ROLLED_WORST_MAX = 0.46
"""Its posed blinks of seed 11, the worst shut eye over the open one: 0.54 (6 of 8 seen; seeds
7, 11, 23 21 of 24, worst 0.73; the tuning voices' speech blinks 16 of 17) while the build kept
the hooded eye's flat lids 0.45 past the lower lid's line, read 0.451 at its worst check pose,
under lids.AT_EDGE, so the domed lids were not tried; 0.41 (24 of 24, worst 0.46; speech 17 of
17) since the domed lids are tried wherever a flat deeper lid is kept, and kept where they read
more shut by over lids.TIE: 0.75 past the line, read 0.301 (2026-12-06)."""


@pytest.fixture(scope="module")
def grey_small_rolled() -> Avatar:
    """canonman_bright_rolled made grey and small."""
    return _grey_small("canonman_bright_rolled", GREY_SMALL_ROLLED_FACE_PX)


GREY_SMALL_ROLLED_OFF_AVX512 = (
    "measured on an AVX-512 host only (tests/host_cpu.py), 2026-12-06: there the build's "
    "domed lids read 0.301 against the flat ones' 0.451; another CPU's last digits may move "
    "the posed blinks' readings"
)


def test_blinks_of_a_small_grey_photo_take_the_lids_read_most_shut(
    grey_small_rolled, request
) -> None:
    """A small black-and-white photo of narrow, tilted eyes whose flat deeper lids the build's
    check reads shut, but only just: the domed lids, read far more shut, must be tried and
    kept, or the blinks at other poses read open."""
    if not AVX512:
        request.applymarker(pytest.mark.xfail(strict=False, reason=GREY_SMALL_ROLLED_OFF_AVX512))
    ratios = blink_ratios_under_poses(
        grey_small_rolled, count=POSED_BLINKS, seed=GREY_SMALL_ROLLED_SEED
    )
    assert all(r < 0.5 for r in ratios), [round(r, 2) for r in ratios]
    assert max(ratios) <= GREY_SMALL_ROLLED_WORST_MAX, [round(r, 2) for r in ratios]
