"""The tear detector's calibration (issue 13: "a strong edge that is absent in the portrait and
crosses brows, lids, glasses or lips counts as a tear"), on real photographs.

The edge test alone was blind there: a 6 px cut through Hopper's brows or glasses rims left
25-31 candidate pixels and no run long enough (tests/test_avatar_heldout.py). The detector now
also reads the render's own backward map (pipelines/avatar/measure.map_jumps): a cut is a jump
of that map, whatever the picture holds there. Calibrated here with synthetic cuts of 2 and
6 px, both ways, through the brows, lids, rims and lips of real portraits at rest, mid-word
and mid-blink (pipelines/avatar/measure.cut_calibration), and on the untouched frames.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from avatar_builds import blink_sweep_tears, built

from pipelines.avatar.measure import (
    CALIBRATION_POSES,
    JUMP_PX,
    WIDE_JAW_POSES,
    WIDE_OPEN_SEEDS,
    aperture_mask,
    cut_calibration,
    last_backward,
    map_jumps,
    wide_jaw_lip_tears,
)
from pipelines.avatar.portrait import find_landmarks, make_portrait, read_image
from pipelines.avatar.rig import JAW_WIDE
from pipelines.avatar.stage import Avatar
from pipelines.tracking import regions

pytestmark = pytest.mark.clock_free

FACES = Path(__file__).resolve().parent / "data" / "faces"

PORTRAITS = ("hopper_glasses", "einstein_midword", "biden")
"""Glasses on a real face; a low-resolution black-and-white photo with an open mouth; thin
closed lips. The edge test saw 0-2 candidates of a cut on the last two."""
SHIFTS = (2, -2, 6)
"""Pixels: the cuts tested here (all of 2, 4, 6 both ways: 990/990 on the 11 portraits)."""
CUTS_SEEN_MIN = 0.95
"""Share of the synthetic cuts the detector must see on each portrait (the brief's figure).
Measured 1.0 on every portrait in tests/data/faces (2026-12-03, all six shifts); the edge
test alone (the map not read) saw 0 of these 45 cuts on each of the three."""
CLEAN_TEAR_PX = 0
"""Tear pixels allowed on the untouched rest, mid-word and mid-blink frames of these portraits
(0 measured; the grinning astronaut portraits' mid-word frame has 11-17, a real 1.5-2 px
jump of the map at the lower mouth corner, so they are not in this list)."""


@pytest.fixture(scope="module", params=PORTRAITS)
def avatar(request) -> Avatar:
    return built(request.param, retrack=False)


@pytest.fixture(scope="module")
def calibration(avatar):
    return cut_calibration(avatar, shifts=SHIFTS)


def test_cuts_through_brows_lids_rims_and_lips_are_seen(calibration) -> None:
    _, cuts = calibration
    assert len(cuts) == len(CALIBRATION_POSES) * 5 * len(SHIFTS)
    missed = [(c.pose, c.line, c.shift) for c in cuts if not c.seen]
    assert 1 - len(missed) / len(cuts) >= CUTS_SEEN_MIN, missed


def test_untouched_frames_have_no_tears(calibration) -> None:
    clean, _ = calibration
    assert all(px <= CLEAN_TEAR_PX for px in clean.values()), clean


def lids_close_over(avatar: Avatar) -> np.ndarray:
    """The eye and mouth openings (:func:`aperture_mask`) and, past each eye's outer corner,
    the skin the kept lids close over: their ``outer_reach`` of the eye's width
    (``rig.lid_shape``; 0.25 for the short-lashed lids of einstein_midword's build, whose seam
    runs that far past the corner by design, 0.1 for the default), as thick as the eye is open."""
    points = avatar.rig.points[:478]
    mask = aperture_mask(points, avatar.rig.size).astype(np.uint8)
    reach = avatar.rig.lid_shape.outer_reach
    for outer, inner, top, bottom in ((33, 133, 159, 145), (263, 362, 386, 374)):
        o, i = points[outer, :2], points[inner, :2]
        end = o + reach * (o - i)
        thick = max(2, round(float(np.linalg.norm(points[top, :2] - points[bottom, :2]))))
        a, b = np.round(o).astype(int), np.round(end).astype(int)
        cv2.line(mask, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1, thick)
    return mask.astype(bool)


def test_shut_lids_are_a_closure_not_a_tear(avatar) -> None:
    """A full blink's lid seam is a real jump of the map (the upper lid's skin meets the lower
    lid's over the eye): found without the eye openings, and no tear with them and the skin
    past the corners the lids reach over (:func:`lids_close_over`; einstein_midword's
    short-lashed lids: 24 of its 148 seam pixels lay past the outer corners' landmarks)."""
    weights = CALIBRATION_POSES["mid-blink"]
    frame = avatar.renderer.render(weights)
    backward = last_backward(avatar.renderer)
    assert backward is not None
    raw = map_jumps(backward, frame.shape)
    holes = lids_close_over(avatar)
    eyes_y = avatar.rig.points[[159, 145, 386, 374], 1]
    ys = np.nonzero(raw.any(axis=1))[0]
    assert raw.sum() > 50 and eyes_y.min() - 5 <= np.median(ys) <= eyes_y.max() + 5
    assert map_jumps(backward, frame.shape, holes).sum() < 0.1 * raw.sum()


def _grid(h: int, w: int) -> np.ndarray:
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.dstack([gx, gy])


def test_a_jump_is_found_and_a_kink_is_not() -> None:
    """Map level: a jump just over JUMP_PX is found along its whole line; a strong kink (the
    picture stretched twice below a line, as a mesh edge does) and a smooth curve are not."""
    h = w = 40
    box = (0, 0, w, h)
    jump = _grid(h, w)
    jump[20:, :, 1] -= JUMP_PX + 0.3
    found = map_jumps((box, jump), (h, w))
    assert found[19:21, 3:-3].any(axis=0).all() and not found[:17].any() and not found[24:].any()
    small = _grid(h, w)
    small[20:, :, 1] -= JUMP_PX - 0.3
    assert not map_jumps((box, small), (h, w)).any()
    kink = _grid(h, w)
    kink[20:, :, 1] = 20 + 0.5 * (kink[20:, :, 1] - 20)
    assert not map_jumps((box, kink), (h, w)).any()
    curve = _grid(h, w)
    curve[..., 1] += 0.01 * (curve[..., 0] - 20) ** 2
    assert not map_jumps((box, curve), (h, w)).any()


def test_jumps_read_within_a_box_are_the_whole_maps_there() -> None:
    """map_jumps(within=box) cuts the map to the box and its reach: inside the box it finds
    exactly what the whole map gives, with jumps at the box's edges and the map's own, and
    holes on; a box off the map finds nothing."""
    rng = np.random.default_rng(11)
    h, w = 90, 70
    grid = _grid(h, w)
    grid[..., 1] += 0.004 * (grid[..., 0] - 30) ** 2
    for y in (5, 31, 60, 84):
        grid[y:, :, 1] -= JUMP_PX + 0.5
    for x in (4, 40, 66):
        grid[:, x:, 0] += JUMP_PX + 0.8
    grid += rng.normal(0, 0.05, grid.shape).astype(np.float32)
    holes = np.zeros((120, 110), bool)
    holes[40:60, 20:50] = True
    backward = ((12, 7, 12 + w, 7 + h), grid)
    for with_holes in (None, holes):
        whole = map_jumps(backward, (120, 110), with_holes)
        assert whole.sum() > 200
        for y0, y1, x0, x1 in (
            (0, 120, 0, 110),
            (10, 40, 15, 50),
            (36, 39, 44, 47),
            (90, 97, 60, 82),
        ):
            part = map_jumps(backward, (120, 110), with_holes, within=(y0, y1, x0, x1))
            assert np.array_equal(part[y0:y1, x0:x1], whole[y0:y1, x0:x1]), (y0, y1, x0, x1)
    assert not map_jumps(backward, (120, 110), within=(100, 120, 0, 110)).any()


def test_a_tear_is_found_the_same_whatever_else_is_searched(avatar) -> None:
    """tear_edges reads only the box around the searched features: a cut through the brows
    gives the same tear pixels when the search also covers the whole frame's corners (a box
    as big as the frame), and the same with the mouth excluded."""
    from pipelines.avatar.measure import feature_mask, synthetic_cut, tear_edges

    rig = avatar.rig
    weights = CALIBRATION_POSES["mid-word"]
    frame = avatar.renderer.render(weights)
    moved = rig.vertices(weights)
    where = feature_mask(moved[:478], rig.size)
    brow_y = int(np.median(moved[[105, 334], 1]))
    cut, cut_map = synthetic_cut(frame, last_backward(avatar.renderer), brow_y, 4)
    holes = aperture_mask(rig.points[:478], rig.size)
    none = np.zeros(frame.shape[:2], bool)
    face_h = rig.geometry.face_h
    found = tear_edges(cut, avatar.portrait.image, cut_map, where, none, face_h, holes)
    assert found.sum() > 10
    wider = where.copy()
    wider[:3, :3] = wider[-3:, -3:] = True
    also = tear_edges(cut, avatar.portrait.image, cut_map, wider, none, face_h, holes)
    assert np.array_equal(also & where, found)
    mouth = feature_mask(moved[:478], rig.size, eyes=False)
    assert np.array_equal(
        tear_edges(cut, avatar.portrait.image, cut_map, where, mouth, face_h, holes),
        tear_edges(cut, avatar.portrait.image, cut_map, where & ~mouth, mouth, face_h, holes),
    )


def test_the_map_s_spans_are_measured_as_numpy_s_norm_would() -> None:
    """map_jumps measures its spans with measure._lengths, not np.linalg.norm (a third of the
    time): the same float32 and float64 lengths bit for bit, overflow and underflow alike, so
    every figure read from the map is what it was with norm."""
    from pipelines.avatar.measure import _lengths

    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        for scale in (1e-30, 1e-3, 1.0, 1e3, 1e30):
            v = (rng.standard_normal((60, 50, 2)) * scale).astype(dtype)
            v[0, :4] = [[0.0, -0.0], [np.inf, 1.0], [-0.0, -0.0], [3.0, -4.0]]
            with np.errstate(over="ignore", under="ignore"):
                expected, got = np.linalg.norm(v, axis=-1), _lengths(v)
            assert got.dtype == expected.dtype
            assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), (dtype, scale)


TURNED_MOUSTACHE = ("astronaut_turned_moustache", "astronaut_turned55_moustache")
"""Tuning portraits (tools/avatar_portraits.py: turned 40° and 55°, a moustache over the upper
lip) standing for the held-out riga_turned, whose lower lip tore in 94-139 frames a clip."""
WIDE_JAW_TEAR_POSES_MAX = 1
"""Of :data:`~pipelines.avatar.measure.WIDE_JAW_POSES` random wide-open poses, how many may
show a tear across the lips. Measured 0 and 0 (seed 11, this test's; also with seed 5, and
in 90 poses of seeds 1-3); before the jaw's opening was smoothed along a turned head's lower
lip (rig._smooth_lip_opening) and the combined repair's change to it spread
(rig.Rig._smooth_jaw_change), 5 and 14 (seed 5: 5 and 16; astronaut_turned_far 27, now 0),
at the far mouth corner."""


@pytest.mark.parametrize("name", TURNED_MOUSTACHE)
def test_a_turned_head_opens_wide_without_tearing_its_lower_lip(name) -> None:
    """The jaw at full strength under random head poses, lip shapes, smiles, gazes and blinks:
    on a turned head the far half of the lower lip is foreshortened, and the opening falling
    to the corner there sheared neighbouring columns of the lip's mesh 13 px against one
    another (the render's map jumped: a tear)."""
    avatar = built(name)
    posed = wide_jaw_lip_tears(avatar)
    assert len(posed) == WIDE_JAW_POSES
    torn = [(weights, px) for weights, px in posed if px]
    assert len(torn) <= WIDE_JAW_TEAR_POSES_MAX, torn


@pytest.mark.parametrize("seed", WIDE_OPEN_SEEDS)
def test_a_smiling_turned_head_opens_wide_without_tearing_its_lip_corner(seed) -> None:
    """canonman_bright_rolled (turned, rolled, bright), the jaw at full strength under random
    other motions: the skin under its far lower lip corner went down by the face's height
    alone, more than the lip beside it, and with a smile and the head turned the thin
    triangle between them read as a map jump (3 of the 60 poses, 12-16 px, seed 11's 1 and
    seed 5's 2). Now 0 (rig.Rig._smooth_corner_skin)."""
    posed = wide_jaw_lip_tears(built("canonman_bright_rolled"), seed=seed)
    assert len(posed) == WIDE_JAW_POSES
    assert [(weights, px) for weights, px in posed if px] == []


JITTER_PX = 0.3
"""Gaussian noise (px) on the landmarks the tracker found, before the build: the tracker's own
noise from a photo to a near copy of it (tools/avatar_sweep.py --jitter; JPEG 25 moved
canonman_glasses' landmarks by 0.34 px median)."""
JITTER_SEED = 5
"""On photographer_turned this seed's noise crossed the lips' rows at the left mouth corner
(the lower lip's ring corners 62 and 76 turned a slit triangle with the upper lip's 184
0.05 px² over at rest): the slit mesh was refused for the
plain one, whose slivers the jaw's repairs tore the open mouth at (4 of 30 wide-open poses,
17 px; the wide jaw's inner lower lip 14 at 18 of 43 px, the upper lip's 13 pulled 13 px
down). Now 0 poses, 14 at 43 px, 13 still (rig._settle_slit, rig.SLIT_OPENINGS)."""


def _opens_wide_untorn(avatar: Avatar, torn_max: int) -> None:
    """At most ``torn_max`` wide-open poses tear the lips; the wide jaw's inner lower lip
    reaches its opening and the upper lip stays still."""
    torn = [(weights, px) for weights, px in wide_jaw_lip_tears(avatar) if px]
    assert len(torn) <= torn_max, torn
    g, wide = avatar.rig.geometry, avatar.rig.bases[JAW_WIDE].vertex_disp
    asked = g.amplitudes["jaw"] * g.face_h
    assert float(wide[14] @ g.down) >= 0.9 * asked
    assert abs(float(wide[13] @ g.down)) < 0.1 * asked


def test_landmark_noise_does_not_tear_the_open_mouth() -> None:
    """A fraction of a pixel of noise on the landmarks (a user's photo is never the tuned
    one) must not tear the lips wide open, nor weaken the wide jaw at the lower lip."""
    image = read_image(FACES / "photographer_turned.jpg")
    found = np.array(find_landmarks(image, search=True), np.float32, copy=True)
    noise = np.random.default_rng(JITTER_SEED).normal(0.0, JITTER_PX, found[:, :2].shape)
    found[:, :2] += noise.astype(np.float32)
    avatar = Avatar.build(make_portrait(image, found, source="photographer_turned jittered"))
    _opens_wide_untorn(avatar, torn_max=0)


JPEG_QUALITY = 25
"""A web-downloaded photo's quality: canonman_glasses saved so moves its landmarks by 0.34 px
(median), enough to lay the rows of its thin upper lip out of order near the right corner:
the wide jaw turned their triangles over, and their repair tore the lower lip diagonally in
20 of 30 wide-open poses (24 px). Now 1 pose, 13 px (rig._flip_lip_folds)."""
JPEG_TEAR_POSES_MAX = 1
"""Wide-open poses (of 30) allowed to tear the lips of that photo (now 1, 13 px; 20 before)."""


def test_a_jpeg_photo_opens_wide_without_tearing_its_lips() -> None:
    """canonman_glasses as a JPEG of quality 25 opens its mouth wide without tearing the lips
    (one pose aside),
    with the wide jaw's inner lower lip at its opening and the upper lip still."""
    image = read_image(FACES / "canonman_glasses.jpg")
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    found = find_landmarks(image, search=True)
    avatar = Avatar.build(make_portrait(image, found, source="canonman_glasses JPEG 25"))
    _opens_wide_untorn(avatar, torn_max=JPEG_TEAR_POSES_MAX)


CHIN_CUT_FACE = 0.03
"""Face heights below the chin's landmark where tools/avatar_sweep.py's ``cut_chin`` cuts the
photo (no neck, no shoulders)."""


def test_a_turned_head_cut_under_the_chin_opens_wide_without_tearing_its_lower_lip() -> None:
    """astronaut_turned cut just under the chin (found and built as the sweep builds it): its
    lower lip's outer contour near the far corner thinned to half the lip as the jaw opened,
    lagging the skin beside it, and the render's map jumped there (triangle 321-335-405) in
    20 of the 60 wide-open poses (seeds 11 and 5, 10-17 px). Now 0 (rig.LIP_BAND_KEEP_CORNER)."""
    image = read_image(FACES / "astronaut_turned.jpg")
    lm = find_landmarks(image, search=True)
    chin = lm[regions.CHIN, :2]
    face_h = float(np.linalg.norm(chin - lm[regions.FOREHEAD_TOP, :2]))
    cut = np.ascontiguousarray(image[: int(np.ceil(chin[1] + CHIN_CUT_FACE * face_h))])
    found = find_landmarks(cut, search=True)
    avatar = Avatar.build(make_portrait(cut, found, source="astronaut_turned cut under the chin"))
    torn = [
        (seed, weights, px)
        for seed in WIDE_OPEN_SEEDS
        for weights, px in wide_jaw_lip_tears(avatar, seed=seed)
        if px
    ]
    assert torn == []


BLINK_SWEEP = ("astronaut_turned", "canonman_bright_rolled")
"""Tuning portraits whose blinks tore one frame each (2026-12-07, an 18 s espeak clip, two
seeds: 11 and 14 tear frames, none elsewhere): a turned head's larger eye, where the lower
lid's skipped margin passed a pixel at 0.55-0.63 closed (rig.LOWER_EDGE_RAMP), and a bright
rolled one, where two closure levels blended drew a broken lash line at 0.8 and 0.93
(rig._nearest_level)."""
BLINK_SWEEP_POSES: tuple[dict[str, float], ...] = (
    {},
    {"yaw_right": 0.28, "pitch_down": 0.56, "roll_ccw": 0.08},
    {"yaw_left": 0.5, "pitch_up": 0.3, "roll_cw": 0.3},
)
"""Frontal, the pose the speech clip's torn blinks came at (as the talking head sways while
speaking), and turned the other way."""


@pytest.mark.parametrize("name", BLINK_SWEEP)
def test_a_blink_tears_nothing_at_any_closure(name) -> None:
    """Every closure from open to shut, a twentieth apart, under head poses: no tear pixel
    (the closures a 30 fps blink passes fall anywhere between the lids' stored levels)."""
    torn = blink_sweep_tears(built(name), BLINK_SWEEP_POSES)
    assert not torn, torn
