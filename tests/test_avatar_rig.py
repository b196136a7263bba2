"""The warp rig's mesh and jaw on thin closed lips (issue 13: biden's upper lip was dragged
down by the jaw's fold repair)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.avatar.portrait import load_portrait
from pipelines.avatar.rig import BASES, LIP_CORNERS, LOWER_LIP_RINGS, Rig, _lip_sets

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
