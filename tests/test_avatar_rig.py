"""The warp rig's mesh and jaw on thin closed lips (issue 13: biden's upper lip was dragged
down by the jaw's fold repair) and on a turned head (issue 13: riga_turned opens little)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.avatar.portrait import FACE_CENTER_Y, load_portrait
from pipelines.avatar.rig import (
    BASES,
    LIP_CORNERS,
    LOWER_LIP_RINGS,
    NUM_LANDMARKS,
    FaceGeometry,
    Rig,
    _lip_sets,
)
from pipelines.tracking.geometry import angles_to_rotation, canonical_face

pytestmark = pytest.mark.clock_free

FACES = Path(__file__).resolve().parent / "data" / "faces"


@pytest.fixture(scope="module", params=["biden", "astronaut_midword", "obama_grin"])
def jaw_rig(request) -> Rig:
    """A rig with the jaw only, on the photos as loaded (the open ones before their rest
    mouth is closed: the jaw's own shape is the question here)."""
    photo = load_portrait(FACES / f"{request.param}.jpg")
    return Rig(photo.landmarks, photo.size, bases=["jaw"])


def test_only_the_inner_lips_face_each_other_across_the_mouth() -> None:
    """On biden's thin closed lips no triangle joins the upper lip to the lower lip's outer
    rings (the lower lip beyond its inner ring, the columns next to the corners aside, where
    the lips converge): the plain triangulation joined 12 with 14 and 82 with 86 past the
    inner lips, in slivers that the jaw turned over with the lips' other motions."""
    photo = load_portrait(FACES / "biden.jpg")
    rig = Rig(photo.landmarks, photo.size, bases=["jaw"])
    upper, _, _ = _lip_sets()
    outer_rings = {v for ring in LOWER_LIP_RINGS[1:] for v in ring[1:-1]}
    crossing = [
        tri.tolist()
        for tri in rig.triangles
        if set(tri.tolist()) & set(upper.tolist()) and set(tri.tolist()) & outer_rings
    ]
    assert crossing == []


def test_the_jaw_alone_turns_no_lip_triangle_over(jaw_rig) -> None:
    """The jaw as built (before any fold repair) opens the lower lip as a band: none of the
    lips' triangles turns over. (Each lower-lip point weighted by its own x, the outer
    contour lagged the inner lip and the rings' own corners opened: biden folded 11
    triangles, 8 of them the lips', astronaut_midword 2 at its corners.)"""
    upper, lower, _ = _lip_sets()
    lips = set(upper.tolist()) | set(lower.tolist()) | set(LIP_CORNERS)
    disp = BASES.get("jaw")(jaw_rig.geometry)
    disp[jaw_rig.fixed] = 0.0
    folded = [
        jaw_rig.triangles[k].tolist()
        for k in jaw_rig.folds(disp)
        if all(int(v) in lips for v in jaw_rig.triangles[k])
    ]
    assert folded == []


def turned_canonical_face(yaw: float, pitch: float = -5.0, size: int = 512) -> np.ndarray:
    """478×3 landmarks (pixels; z smaller = closer) of the canonical face turned rigidly by
    ``yaw`` and ``pitch`` degrees and seen orthographically, 215 px from forehead to chin,
    placed as ``portrait.crop_transform`` places a face. Unlike the derived turned tuning
    portraits (a frontal photo bent by a thin-plate spline), the far side crowds as a real
    turn crowds it."""
    can = canonical_face().vertices[:NUM_LANDMARKS]
    turned = can @ angles_to_rotation(yaw, pitch, 0.0).T
    scale = 215.0 / float(np.linalg.norm(can[152, :2] - can[10, :2]))
    lm = np.column_stack([turned[:, 0], -turned[:, 1], -turned[:, 2]]) * scale
    centre = (lm[10, :2] + lm[152, :2]) / 2.0
    lm[:, :2] += np.array([0.5, FACE_CENTER_Y]) * size - centre
    return lm


def jaw_opening(g: FaceGeometry, disp: np.ndarray) -> float:
    """How far a jaw displacement parts the inner lips (14 from 13, along the face's down),
    in face heights: what the tracker's opening reads (``tracked.opening``)."""
    return float((disp[14] - disp[13]) @ g.down) / g.face_h


JAW_YAW_TOLERANCE = 0.015
"""Face heights by which the jaw as built may open a turned head's lips less than the same
face's frontal ones. Measured 0.200 at 0° and 20°, 0.189 at 40° (on a turned face the lower
lip's opening is smoothed along the lip, each ring keeping its deepest point, not 14's own).
An amplitude scaled by a width in the picture would give 0.2·cos 40° = 0.153 there."""


def test_the_jaw_opens_a_turned_face_as_far_as_a_frontal_one() -> None:
    """Issue 13's turned head opened less than the frontal ones; the hypothesis that the
    jaw's amplitude follows a picture-space size that a turn foreshortens is refuted: it is a
    share of the face height (forehead to chin), which a yaw leaves as it is, and the same
    face turned 20° or 40° is asked to open as far as frontal. (What does take the opening
    away is the fold repair: the next test.)"""
    frontal = None
    for yaw in (0.0, 20.0, 40.0):
        lm = turned_canonical_face(yaw)
        rig = Rig(lm, (512, 512), bases=["jaw"], slit=False)
        got = jaw_opening(rig.geometry, BASES.get("jaw")(rig.geometry))
        frontal = got if frontal is None else frontal
        assert got == pytest.approx(frontal, abs=JAW_YAW_TOLERANCE), f"yaw {yaw}"


TURNED_RIG_OPENING = 0.17
"""Face heights the full jaw should part the inner lips of the canonical face turned 35° or
40°, all motions' fold repairs done (0.9 of what the jaw asks there, 0.189-0.192)."""


@pytest.fixture(scope="module", params=[35.0, 40.0], ids=str)
def turned_rig(request) -> Rig:
    """The full rig of the canonical face turned rigidly by the param's degrees."""
    return Rig(turned_canonical_face(request.param), (512, 512))


def test_fold_repairs_keep_the_jaw_of_a_rigidly_turned_head(turned_rig) -> None:
    """Where the face is turned as a head turns (its far side crowded), the jaw is made
    fold-free with the lips held (``Rig._pinned_without_folds``), but the combinations with
    the lips' other motions and the head's turns then fold lip and chin slivers that
    relaxing does not clear. The last resort weakened every motion taking part where it
    folded, the jaw's held lips too: 0.192 -> 0.061 at 35°, 0.189 -> 0.097 at 40° (issue 13).
    Now the other motions give way first and the jaw is unfolded around its held lips
    (``Rig._spare_the_jaw``): 0.192 and 0.189 kept."""
    g = turned_rig.geometry
    assert jaw_opening(g, turned_rig.bases["jaw"].vertex_disp) > TURNED_RIG_OPENING


TURNED_COMBINATIONS = 500
FOLD_TOLERANCE_PX2 = 0.5
"""As in test_avatar_render: a sliver may turn over by less than half a pixel (invisible)."""


def test_no_combination_of_motions_folds_a_rigidly_turned_head(turned_rig) -> None:
    """Keeping the jaw must not cost tears: random combinations of every motion, up to full
    strength at once, turn over no triangle of the turned canonical face. (Before the jaw
    was spared, the 35° face folded 44 of 2,000 such combinations over four seeds, with the
    jaw cut to 0.061; now none of the 2,000, at 35° or 40°.)"""
    from test_avatar_render import random_weights

    rng = np.random.default_rng(13)
    names = sorted(turned_rig.bases)
    folded = []
    for _ in range(TURNED_COMBINATIONS):
        weights = random_weights(rng, names)
        got = turned_rig.folds(turned_rig.vertices(weights) - turned_rig.points, FOLD_TOLERANCE_PX2)
        if len(got):
            folded.append((weights, got.tolist()))
    assert folded == [], folded[:3]
