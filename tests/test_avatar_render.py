"""The avatar's warp rig and renderer (issue 8): neutral = portrait, mouth moves only the
lower face, an open mouth shows an interior, nothing tears at the mesh border."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
from avatar_builds import built
from golden_data import face_photo, load_golden

from pipelines.avatar.portrait import AVATAR_SIZE, make_portrait
from pipelines.avatar.render import INNER, AvatarRenderer
from pipelines.avatar.render import polygon_area as render_area
from pipelines.avatar.rig import (
    BASES,
    FIELD_BASES,
    HEAD_BASES,
    JAW_WIDE,
    LEVEL_BASES,
    WIDTH_WITH_JAW,
    Rig,
)
from pipelines.tracking import regions

pytestmark = pytest.mark.clock_free

NEUTRAL_TOL = 1
"""Levels: with every weight at zero the avatar equals the portrait."""
CHANGED = 4
"""Levels above which a pixel counts as changed by a motion."""
LOWER_FACE_MARGIN = 0.01
"""Face heights above the nose's base that a mouth motion may still touch."""
NOSE_BASE = (2, 98, 327)
"""Subnasale and the alar bases: the lower face lies below the line through them."""
MAP_JUMP_MAX = 8.5
"""Pixels: outside the mouth and eye openings (which may open and close), neighbouring output
pixels never sample the portrait further apart than this plus their own distance: the map
stretches, it does not tear. (Was 5 when the jaw reached 0.1 face heights and, under a head
turn, the face fields were in some cases not applied at all; with the jaw at 0.2 composed on
a full head turn the lower lip's rim stretches up to ~8 px per pixel.)"""
FACE_MARGIN_PX = 41
"""The background check starts this far (a tenth of the face height) outside the face
outline: the jaw line, which the open jaw shears, lies within it (it was 15)."""
BORDER_JUMP_MAX = 3.5
"""The same between the face outline and the image border (neck, hair, background): the
neck stretches at most 4.5:1 under the chin with the jaw fully open and the head turned (was
1.0: see above), and nothing at all beyond the fixed ring."""
EYEBALL_SHOWN = 0.05
"""Share of a fully closed eye's pixels that may still sample the open eye's inside."""
EYE_CHANGE_MIN = 15.0


@pytest.fixture(scope="module")
def portrait():
    lm = load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0
    return make_portrait(face_photo("astronaut"), lm)


@pytest.fixture(scope="module")
def rig(portrait) -> Rig:
    return Rig(portrait.landmarks, portrait.size, image=portrait.image)


@pytest.fixture(scope="module")
def renderer(portrait, rig) -> AvatarRenderer:
    return AvatarRenderer(portrait.image, rig)


def face_mask(landmarks: np.ndarray, size: int = AVATAR_SIZE) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(regions.FACE_OVAL), :2]).astype(np.int32)], 1)
    return mask.astype(bool)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > CHANGED


def test_portrait_is_cropped_to_the_canvas(portrait) -> None:
    assert portrait.image.shape == (AVATAR_SIZE, AVATAR_SIZE, 3)
    lm = portrait.landmarks
    height = np.linalg.norm(lm[regions.CHIN, :2] - lm[regions.FOREHEAD_TOP, :2])
    assert 0.38 * AVATAR_SIZE < height < 0.46 * AVATAR_SIZE
    assert abs(lm[regions.CHIN, 0] - lm[regions.FOREHEAD_TOP, 0]) < 0.02 * AVATAR_SIZE  # upright


def test_neutral_parameters_give_the_portrait(portrait, renderer) -> None:
    out = renderer.render({})
    inside = face_mask(portrait.landmarks)
    diff = np.abs(out.astype(np.int16) - portrait.image.astype(np.int16)).max(axis=2)
    assert diff[inside].max() <= NEUTRAL_TOL
    # Zero weights on every basis take the same path as no weights at all.
    zeros = {name: 0.0 for name in renderer.rig.bases}
    assert np.array_equal(renderer.render(zeros), out)


def test_every_basis_moves_something(rig) -> None:
    wanted = set(BASES.names()) | set(FIELD_BASES) | set(LEVEL_BASES)
    assert wanted == set(rig.bases), f"left out: {wanted - set(rig.bases)}"
    for name, basis in rig.bases.items():
        assert np.abs(basis.field).max() > 0.5, name


@pytest.mark.parametrize(
    "weights",
    [{"jaw": 1.0}, {"jaw": 0.5, "round": 1.0}, {"closure": 1.0}, {"spread": 1.0}, {"round": 1.0}],
)
def test_mouth_motion_changes_only_the_lower_face(portrait, renderer, weights) -> None:
    out = renderer.render(weights)
    moved = changed(out, portrait.image)
    assert moved.sum() > 30, "the mouth did not move"
    g = renderer.rig.geometry
    ys, xs = np.nonzero(moved)
    along = (np.stack([xs, ys], 1) - g.center) @ g.down
    # The nose's base: subnasale and the two alar bases (subalare).
    nose_base = min(float((portrait.landmarks[i, :2] - g.center) @ g.down) for i in NOSE_BASE)
    assert along.min() >= nose_base - LOWER_FACE_MARGIN * g.face_h, (
        f"changed {nose_base - along.min():.1f} px above the nose's base"
    )


def test_open_mouth_shows_a_dark_interior_with_teeth(portrait, renderer) -> None:
    weights = {"jaw": 1.0}
    out = renderer.render(weights)
    outline = renderer.mouth_outline(weights)
    mask = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
    gray = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    lips = np.zeros_like(mask)
    cv2.fillPoly(
        lips.view(np.uint8),
        [np.round(portrait.landmarks[list(regions.LIPS_OUTER), :2]).astype(np.int32)],
        1,
    )
    lips &= ~mask
    inside = gray[mask]
    assert mask.sum() > 200, "the mouth hardly opened"
    # A cavity darker than the lips (the tongue and teeth take the rest).
    assert np.percentile(inside, 20) < 0.5 * np.median(gray[lips]), "no dark cavity"
    assert np.percentile(inside, 97) > 150, "no teeth hint"


def polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def test_blink_closes_the_eyes_and_changes_nothing_else(portrait, renderer, rig) -> None:
    weights = {"blink_left": 1.0, "blink_right": 1.0}
    out = renderer.render(weights)
    moved = changed(out, portrait.image)
    eyes = np.zeros(moved.shape, np.uint8)
    lm = portrait.landmarks
    x0, y0, x1, y1 = renderer.last_box
    src = np.full((*out.shape[:2], 2), -1.0, np.float32)
    src[y0:y1, x0:x1] = renderer.last_map
    for ring in (regions.LEFT_EYE, regions.RIGHT_EYE):
        pts = lm[list(ring), :2]
        c, w = pts.mean(axis=0), np.ptp(pts[:, 0])
        cv2.ellipse(eyes, (int(c[0]), int(c[1])), (int(0.9 * w), int(0.75 * w)), 0, 0, 360, 1, -1)
        mask = np.zeros(moved.shape, np.uint8)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
        m = mask.astype(bool)
        # The lids meet: no pixel of the picture shows the eyeball any more.
        inner = cv2.erode(mask, np.ones((3, 3), np.uint8))
        ys, xs = np.nonzero(m)
        sx = np.round(src[ys, xs, 0]).astype(int).clip(0, AVATAR_SIZE - 1)
        sy = np.round(src[ys, xs, 1]).astype(int).clip(0, AVATAR_SIZE - 1)
        assert inner[sy, sx].mean() < EYEBALL_SHOWN, "the eyeball still shows"
        # And what was the open eye now shows something else (lid, lashes).
        diff = np.abs(out[m].astype(np.int16) - portrait.image[m].astype(np.int16)).mean()
        assert diff > EYE_CHANGE_MIN, f"the eye hardly changed ({diff:.1f} levels)"
    assert moved.sum() > 50
    assert not (moved & ~eyes.astype(bool)).any()


def test_half_blink_lowers_the_lid_over_an_unchanged_eyeball(portrait, renderer) -> None:
    """A lid slides over the eye: at half closure the lower half of the eye is the photo's
    own eyeball, not a squeezed copy of the whole eye."""
    out = renderer.render({"blink_left": 0.5, "blink_right": 0.5})
    lm = portrait.landmarks
    for ring in (regions.LEFT_EYE, regions.RIGHT_EYE):
        upper, lower = lm[ring[4], :2], lm[ring[12], :2]
        probe = np.round(lower + 0.25 * (upper - lower)).astype(int)
        x, y = probe
        patch_now = out[y - 1 : y + 2, x - 1 : x + 2].astype(np.int16)
        patch_was = portrait.image[y - 1 : y + 2, x - 1 : x + 2].astype(np.int16)
        assert np.abs(patch_now - patch_was).max() <= CHANGED
        top = np.round(upper + 0.2 * (lower - upper)).astype(int)
        assert np.abs(out[top[1], top[0]].astype(int) - portrait.image[top[1], top[0]]).max() > 0


HEAD_TURNS = ("yaw_right", "yaw_left", "pitch_up", "pitch_down", "roll_cw", "roll_ccw")
EYEBALL_PIXELS_TURNED = 0
"""Pixels of a fully closed pair of eyes, on a turned head, that may sample the open eyes'
inside (the eye outlines eroded by a pixel): none (2026-12-03: 0 of 570 at every turn at
half and full strength; 2-43 while the lid field was read blended across the seam where
the lids meet, a dark jagged gap along the lash line)."""


@pytest.mark.parametrize("head", HEAD_TURNS)
def test_closed_eyes_show_no_eyeball_on_a_turned_head(portrait, renderer, head: str) -> None:
    """Under a head turn the lid field is read between its pixels: across the seam where
    the closed lids meet (upper lid's skin above, lower lid's below) a blend of the two
    offsets samples the eye between them."""
    inner = np.zeros(portrait.image.shape[:2], np.uint8)
    for ring in (regions.LEFT_EYE, regions.RIGHT_EYE):
        eye = np.zeros_like(inner)
        cv2.fillPoly(eye, [np.round(portrait.landmarks[list(ring), :2]).astype(np.int32)], 1)
        inner |= cv2.erode(eye, np.ones((3, 3), np.uint8))
    for amount in (0.5, 1.0):
        renderer.render({"blink_left": 1.0, "blink_right": 1.0, head: amount})
        assert renderer.last_map is not None
        src = np.round(renderer.last_map).astype(int).clip(0, AVATAR_SIZE - 1)
        shown = int(inner[src[..., 1], src[..., 0]].sum())
        assert shown <= EYEBALL_PIXELS_TURNED, f"{shown} pixels show the eyeball ({amount})"


MOUTHS = (
    {"jaw": 1.0, "spread": 0.8},
    {"jaw": 0.3, "closure": 0.7, "round": 0.8},
    {"smile": 0.8, "closure": 0.3},
)
HEADS = ("yaw_right", "yaw_left", "pitch_up", "pitch_down", "roll_cw", "roll_ccw")
EXTREMES = [
    {**mouth, head: 1.0, "blink_left": 1.0, "blink_right": 1.0, gaze: 1.0}
    for mouth in MOUTHS
    for head, gaze in zip(
        HEADS,
        ("gaze_right", "gaze_left", "gaze_up", "gaze_down", "gaze_right", "gaze_left"),
        strict=True,
    )
]
"""The strongest combinations the animator produces: a mouth shape, a head turn at its
limit, closed eyes, gaze at its limit."""
FOLD_TOLERANCE_PX2 = 0.5
"""Combined bases may turn over a sliver by less than half a pixel (invisible)."""


def test_no_basis_folds_the_mesh(rig) -> None:
    for name, basis in rig.bases.items():
        assert len(rig.folds(basis.vertex_disp.astype(np.float64))) == 0, name


@pytest.mark.parametrize("index", range(len(EXTREMES)))
def test_no_tearing_at_the_mesh_border(portrait, renderer, rig, index: int) -> None:
    weights = EXTREMES[index]
    out = renderer.render(weights)
    # 1) The image border never moves.
    assert np.array_equal(out[0], portrait.image[0])
    assert np.array_equal(out[-1], portrait.image[-1])
    assert np.array_equal(out[:, 0], portrait.image[:, 0])
    assert np.array_equal(out[:, -1], portrait.image[:, -1])
    # 2) No triangle turns over.
    assert len(rig.folds(rig.vertices(weights) - rig.points, FOLD_TOLERANCE_PX2)) == 0
    # 3) The sampling map is continuous outside the openings, smooth in the background.
    acc = renderer.grid.copy()
    x0, y0, x1, y1 = renderer.last_box
    acc[y0:y1, x0:x1] = renderer.last_map
    openings = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(openings, [np.round(renderer.mouth_outline(weights)).astype(np.int32)], 1)
    rest_mouth = portrait.landmarks[list(regions.LIPS_INNER), :2]
    cv2.fillPoly(openings, [np.round(rest_mouth).astype(np.int32)], 1)
    moved_pts = rig.vertices(weights)
    for ring in (regions.LEFT_EYE, regions.RIGHT_EYE):
        cv2.fillPoly(openings, [np.round(portrait.landmarks[list(ring), :2]).astype(np.int32)], 1)
        cv2.fillPoly(openings, [np.round(moved_pts[list(ring)]).astype(np.int32)], 1)
    openings = cv2.dilate(openings, np.ones((9, 9), np.uint8)).astype(bool)
    face = cv2.dilate(
        face_mask(portrait.landmarks).astype(np.uint8), np.ones((FACE_MARGIN_PX,) * 2, np.uint8)
    ).astype(bool)
    jump_x = np.linalg.norm(np.diff(acc, axis=1) - [1, 0], axis=2)
    jump_y = np.linalg.norm(np.diff(acc, axis=0) - [0, 1], axis=2)
    skip_x, skip_y = openings[:, 1:] | openings[:, :-1], openings[1:] | openings[:-1]
    assert jump_x[~skip_x].max() < MAP_JUMP_MAX and jump_y[~skip_y].max() < MAP_JUMP_MAX
    bg_x, bg_y = ~(face[:, 1:] | face[:, :-1]), ~(face[1:] | face[:-1])
    assert jump_x[bg_x].max() < BORDER_JUMP_MAX and jump_y[bg_y].max() < BORDER_JUMP_MAX
    # 4) It samples inside the picture everywhere.
    assert acc[..., 0].min() > -1 and acc[..., 0].max() < AVATAR_SIZE
    assert acc[..., 1].min() > -1 and acc[..., 1].max() < AVATAR_SIZE


def test_head_turn_moves_the_head_and_leaves_the_background(portrait, renderer) -> None:
    out = renderer.render({"yaw_right": 1.0})
    moved = changed(out, portrait.image)
    inside = face_mask(portrait.landmarks)
    assert moved[inside].mean() > 0.2
    # Far from the head nothing moves.
    g = renderer.rig.geometry
    ys, xs = np.mgrid[0:AVATAR_SIZE, 0:AVATAR_SIZE]
    far = np.hypot(xs - g.center[0], ys - g.center[1]) > 1.1 * g.face_h  # beyond the fixed ring
    assert not moved[far].any()


def test_inner_lip_indices_are_the_ring() -> None:
    assert list(INNER) == list(regions.LIPS_INNER)


RANDOM_COMBINATIONS = 40
MOUTH_BASES = ("jaw", "jaw_wide", "closure", "spread", "round", "smile")
LID_BAND = 0.12
JACOBIAN_MIN = 0.02
"""The backward map's local area ratio (output pixel → portrait) never drops to zero or turns
negative outside the mouth and eye openings: nothing folds or flips."""


def random_weights(rng: np.random.Generator, names: list[str]) -> dict[str, float]:
    """Every motion at zero, a random strength or full strength, combined as the animator
    combines them: of each signed pair (head turns, gaze, lip width) one side only, and jaw
    and lip closure sharing the lips (``Animator.update``)."""
    pairs = [("yaw_right", "yaw_left"), ("pitch_up", "pitch_down"), ("roll_cw", "roll_ccw")]
    pairs += [("gaze_right", "gaze_left"), ("gaze_up", "gaze_down"), ("spread", "round")]
    # (The wide-open jaw is no motion of its own: the rig mixes it into the jaw's weight.)
    paired = {n for p in pairs for n in p} | {"jaw", "closure", JAW_WIDE}

    def strength() -> float:
        return float(rng.choice([0.0, rng.uniform(0, 1), 1.0]))

    out: dict[str, float] = {name: strength() for name in names if name not in paired}
    for pos, neg in pairs:
        out[pos if rng.random() < 0.5 else neg] = strength()
    jaw, closure = strength(), strength()
    out["jaw"] = jaw * (1.0 - closure)
    out["closure"] = closure * (1.0 - 0.5 * jaw)
    for name in ("spread", "round"):
        if name in out:
            out[name] *= 0.8 * (1.0 - WIDTH_WITH_JAW * out["jaw"])
    return out


def test_random_combinations_of_motions_never_fold(portrait, renderer, rig) -> None:
    """Property test: many random combinations of every motion, up to full strength at once,
    turn over no triangle of the composed mesh, and the rendered map keeps its orientation
    everywhere outside the openings."""
    rng = np.random.default_rng(13)
    names = sorted(rig.bases)
    for _ in range(RANDOM_COMBINATIONS):
        weights = random_weights(rng, names)
        folded = rig.folds(rig.vertices(weights) - rig.points, FOLD_TOLERANCE_PX2)
        assert len(folded) == 0, weights
        # The dense map: head, lids and gaze composed (the mouth's fields add rather than
        # compose, and strong mixed mouth shapes can flip it by a pixel or two around the
        # mouth: a known limit, checked at the mesh above).
        face_only = {n: w for n, w in weights.items() if n not in MOUTH_BASES}
        renderer.render(face_only)
        x0, y0, x1, y1 = renderer.last_box
        amap = renderer.last_map.astype(np.float64)
        dxx = np.diff(amap[..., 0], axis=1)[:-1]
        dxy = np.diff(amap[..., 0], axis=0)[:, :-1]
        dyx = np.diff(amap[..., 1], axis=1)[:-1]
        dyy = np.diff(amap[..., 1], axis=0)[:, :-1]
        det = dxx * dyy - dxy * dyx
        openings = np.zeros((y1 - y0, x1 - x0), np.uint8)
        off = np.array([x0, y0])
        # (Where the eyes are at rest and where the head turned them: the closed lids' seam,
        # where the lid field jumps from the upper lid's skin to the lower's, lies there.)
        moved = rig.vertices(face_only)
        for ring in (regions.LEFT_EYE, regions.RIGHT_EYE):
            for pts in (portrait.landmarks[list(ring), :2], moved[list(ring)]):
                cv2.fillPoly(openings, [np.round(pts - off).astype(np.int32)], 1)
        # (The lids' skin band above the lash line, which the closing lid unfolds, is left
        # out with the openings.)
        k = int(LID_BAND * rig.geometry.face_h) | 1
        openings = cv2.dilate(openings, np.ones((k, k), np.uint8)).astype(bool)[:-1, :-1]
        bad = np.argwhere(~openings & (det <= JACOBIAN_MIN))
        assert len(bad) == 0, f"{weights}: flips at {(bad[:5, ::-1] + off).tolist()}"


def test_mouth_outline_reads_a_replaced_basis_anew(portrait, renderer, rig, monkeypatch) -> None:
    """The inner lip's share of each basis is kept between frames (mouth_outline): the outline
    stays the straightforward sum, and a basis replaced later (rig.set_lid_depth makes new
    lid bases) is read anew, as a renderer made after it reads it."""
    w = {"jaw": 0.8, "spread": 0.3, "yaw_left": 0.4, "pitch_down": 0.3}

    def straight() -> np.ndarray:
        pts = rig.points[INNER].copy()
        for name, wt in rig.mix(w).items():
            basis = rig.bases.get(name)
            if basis is not None and wt and name not in HEAD_BASES:
                pts += wt * basis.vertex_disp[INNER]
        return pts + rig.head_displacement(pts, w)

    first = renderer.mouth_outline(w)
    assert np.array_equal(first, straight())
    jaw = rig.bases["jaw"]
    monkeypatch.setitem(
        rig.bases, "jaw", dataclasses.replace(jaw, vertex_disp=jaw.vertex_disp * 1.5)
    )
    again = renderer.mouth_outline(w)
    assert np.array_equal(again, straight()) and not np.array_equal(again, first)
    assert np.array_equal(renderer.render(w), AvatarRenderer(portrait.image, rig).render(w))
    # The mouth's area (whether it is painted open) by concatenation, as by np.roll.
    pts = np.random.default_rng(5).normal(0.0, 30.0, (20, 2))
    assert render_area(pts) == polygon_area(pts)


def test_any_weights_render(portrait, renderer) -> None:
    """Whatever weights come (both sides of a pair at once, anything in 0…1), the renderer
    returns the picture; it never raises (a box grown past the one being rendered did)."""
    rng = np.random.default_rng(0)
    names = sorted(renderer.rig.bases)
    for _ in range(200):
        weights = {n: float(rng.uniform(0, 1)) * (rng.random() < 0.5) for n in names}
        out = renderer.render(weights)
        assert out.shape == portrait.image.shape
        assert np.array_equal(out[0], portrait.image[0])


OVERLAY_SIDES = (230, 160, 600)
"""A 720p frame's default overlay (0.32 of its height), a smaller one and one larger than the
portrait (drawn magnified)."""
AT_SIZE_P99 = 8
"""Levels: away from the mouth's inside, rendering straight at the overlay's size gives the
shrunk full-size render to within this at the 99th percentile (measured 4 at 230 px on the
speech clip's frames and 7 at 160 px on these: one bilinear sampling instead of two; single
pixels on edges that a fully open jaw stretches differ more)."""
AT_SIZE_MEAN = 1.5


@pytest.mark.parametrize("side", OVERLAY_SIDES)
def test_rendering_at_the_overlay_size_is_the_shrunk_render(portrait, renderer, side) -> None:
    from pipelines.avatar.compose import shrink

    rng = np.random.default_rng(side)
    names = sorted(renderer.rig.bases)
    k = AVATAR_SIZE / side
    still = shrink(portrait.image, side)
    assert np.array_equal(renderer.render_at({}, side), still)
    for _ in range(12):
        weights = random_weights(rng, names)
        want = shrink(renderer.render(weights).copy(), side)
        got = renderer.render_at(weights, side)
        assert got.shape == want.shape == (side, side, 3)
        diff = np.abs(got.astype(np.int16) - want.astype(np.int16)).max(axis=2)
        mouth = np.zeros((side, side), np.uint8)
        outline = (renderer.mouth_outline(weights) + 0.5) / k - 0.5
        cv2.fillPoly(mouth, [np.round(outline * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
        away = cv2.dilate(mouth, np.ones((5, 5), np.uint8)) == 0
        assert np.percentile(diff[away], 99) <= AT_SIZE_P99, weights
        assert diff.mean() <= AT_SIZE_MEAN, weights
        # What no motion reached is the still picture, untouched.
        x0, y0, x1, y1 = renderer.last_box
        untouched = np.ones((side, side), bool)
        untouched[y0:y1, x0:x1] = False
        assert np.array_equal(got[untouched], still[untouched])


# Drawn teeth (issue 13, item 3): ivory lit like the face, faint gaps, the upper lip's shadow.
TEETH_JAW = 0.6
"""The jaw at which the drawn teeth are judged: both rows show."""
TEETH_CHANGED = 12
"""Levels by which a pixel that the teeth cover differs from the mouth drawn without them."""
TEETH_CAST_MIN = 0.5
"""The teeth's B/R is at most the skin's B/R to this power: they take at least half the
photo's warm cast (in log ratios). Pure ivory scaled by brightness gave B/R 0.84-0.88 on
skins of 0.45-0.70 (a blue-grey slab next to warm skin); now 0.58-0.73."""
TEETH_LIGHT_MIN = 0.8
"""The upper row's mean grey over the skin's median grey (measured 0.92-0.93; 0.78-0.83
before)."""
GAP_CONTRAST_MIN = 0.75
"""Along a line through the central upper teeth, the darkest pixel (a gap) over the
brightest: gaps are faint lines on a photo (measured 0.78-0.83; 0.52-0.57 with the dark
outlines of before)."""
LIP_SHADOW_MAX = 0.88
"""The upper row's third under the upper lip over its middle third: in the lip's shadow
(measured 0.74-0.82; 0.82-0.96 before)."""
CORNER_DARK_MAX = 0.8
"""The outer quarter of the upper row over its central part: the arch turns away (0.65-0.68)."""
LOWER_HIDDEN_MAX = 0.15
"""At a small opening the lower lip hides the lower row: its pixels over the upper row's."""
FACES = Path(__file__).resolve().parent / "data" / "faces"
TEETH_FACES = ("hopper_glasses", "biden")
"""Colour portraits without teeth of their own, with warm (hopper) and dim, ruddy skin."""


@functools.cache
def drawn_renderer(name: str) -> AvatarRenderer:
    """A renderer of a held-out colour portrait that draws the teeth (it has none of its own
    to show: its mouth is shut)."""

    avatar = built(name)
    assert avatar.renderer.teeth is None
    return AvatarRenderer(avatar.renderer.portrait, avatar.renderer.rig)


@pytest.fixture(params=("astronaut", *TEETH_FACES))
def drawn(request, renderer) -> AvatarRenderer:
    """A renderer that draws the teeth (astronaut: the golden portrait, its grin not kept)."""
    return renderer if request.param == "astronaut" else drawn_renderer(request.param)


def drawn_teeth(
    renderer: AvatarRenderer, weights: dict[str, float], monkeypatch, side: int = AVATAR_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The render at ``side`` pixels, and the pixels the drawn teeth cover above / below the
    mouth's middle: those that change when the teeth are left out of the same render."""
    out = renderer.render_at(weights, side).copy()
    with monkeypatch.context() as m:
        m.setattr(renderer, "_drawn_teeth", lambda canvas, *args: canvas)
        bare = renderer.render_at(weights, side)
    teeth = np.abs(out.astype(np.int16) - bare.astype(np.int16)).max(axis=2) > TEETH_CHANGED
    k = AVATAR_SIZE / side
    at = (renderer.mouth_outline(weights) + 0.5) / k - 0.5
    ring = list(INNER)
    middle = 0.5 * (at[ring.index(13), 1] + at[ring.index(14), 1])
    rows = np.arange(out.shape[0])[:, None]
    return out, teeth & (rows < middle), teeth & (rows >= middle)


def skin_of(renderer: AvatarRenderer) -> np.ndarray:
    mask = face_mask(renderer.rig.points)
    return np.median(renderer.portrait[mask].astype(np.float64), axis=0)


def grey(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64)


def test_drawn_teeth_are_ivory_lit_like_the_face(drawn, monkeypatch) -> None:
    out, upper, lower = drawn_teeth(drawn, {"jaw": TEETH_JAW}, monkeypatch)
    assert upper.sum() > 150, "no upper teeth drawn"
    assert lower.sum() > 20, "no lower teeth drawn"
    b, _, r = out[upper | lower].astype(np.float64).mean(axis=0)
    skin = skin_of(drawn)
    assert r >= b, f"teeth bluer than red: B {b:.0f} R {r:.0f}"
    assert b / r <= (skin[0] / skin[2]) ** TEETH_CAST_MIN, (
        f"teeth B/R {b / r:.2f} against the skin's {skin[0] / skin[2]:.2f}"
    )
    skin_grey = np.median(grey(drawn.portrait)[face_mask(drawn.rig.points)])
    assert grey(out)[upper].mean() >= TEETH_LIGHT_MIN * skin_grey


def gap_line(out: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Grey along the upper row where it is widest, over its central half (incisors)."""
    ys, xs = np.nonzero(upper)
    row = int(np.bincount(ys).argmax())
    cols = xs[ys == row]
    quarter = (cols.max() - cols.min()) // 4
    return grey(out)[row, cols.min() + quarter : cols.max() - quarter + 1]


def test_drawn_teeth_have_faint_gaps_and_the_lips_shadow(drawn, monkeypatch) -> None:
    out, upper, _ = drawn_teeth(drawn, {"jaw": TEETH_JAW}, monkeypatch)
    g = grey(out)
    ys, xs = np.nonzero(upper)
    line = gap_line(out, upper)
    assert len(line) > 12
    assert line.min() >= GAP_CONTRAST_MIN * line.max(), f"gaps {line.astype(int).tolist()}"
    assert line.min() < line.max() - 3, "no gaps at all: one slab"
    # The upper lip's shadow: the row's top third is darker than its middle third.
    top_rows = np.unique(ys)
    third = max(1, len(top_rows) // 3)
    top = np.isin(ys, top_rows[:third])
    mid = np.isin(ys, top_rows[third : 2 * third])
    assert g[ys[top], xs[top]].mean() <= LIP_SHADOW_MAX * g[ys[mid], xs[mid]].mean()
    # Perspective: the arch's last teeth (outer quarter) are darker than the central ones.
    centre_x, half = 0.5 * (xs.min() + xs.max()), 0.5 * (xs.max() - xs.min())
    central = np.abs(xs - centre_x) < 0.4 * half
    outer = np.abs(xs - centre_x) > 0.75 * half
    assert g[ys[outer], xs[outer]].mean() <= CORNER_DARK_MAX * g[ys[central], xs[central]].mean()


@pytest.mark.parametrize("name", TEETH_FACES)
def test_a_small_opening_hides_the_lower_teeth(name, monkeypatch) -> None:
    """(Portraits whose mouth is shut at rest: the golden astronaut's grin is open.)"""
    _, upper, lower = drawn_teeth(drawn_renderer(name), {"jaw": 0.25}, monkeypatch)
    assert upper.sum() > 50, "no upper teeth at a small opening"
    assert lower.sum() <= LOWER_HIDDEN_MAX * upper.sum()


@pytest.mark.parametrize("name", TEETH_FACES)
def test_drawn_teeth_on_the_overlay_are_no_comb(name, monkeypatch) -> None:
    """At the overlay's size a tooth is ~3 px wide: its gaps must not alias into dark columns."""
    out, upper, _ = drawn_teeth(
        drawn_renderer(name), {"jaw": TEETH_JAW}, monkeypatch, side=OVERLAY_SIDES[0]
    )
    assert upper.sum() > 30, "no upper teeth on the overlay"
    line = gap_line(out, upper)
    assert line.min() >= GAP_CONTRAST_MIN * line.max(), f"gaps {line.astype(int).tolist()}"
