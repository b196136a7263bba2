"""The open mouth's lower lip is a rounded curve, not a bucket (issue 13): a flat bottom and
straight sides from corner to corner, the lip thinned to a sliver near the corners. Measured
on the rig's vertices as the avatar renders them (its fold repairs done), on tuning portraits
only (tests/data/faces/README.md)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from pipelines.avatar.portrait import load_portrait
from pipelines.avatar.rig import LOWER_LIP_RINGS, Rig
from pipelines.avatar.stage import Avatar

FACES = Path(__file__).resolve().parent / "data" / "faces"
TUNING = ("astronaut", "canonman_glasses", "astronaut_grey_moustache", "photographer_turned")
JAWS = (0.55, 1.0)
"""Mid-word and wide open (tools/avatar_report.py's sheet)."""
TURN_SHARE_MAX = 0.25
"""Share of the inner lower lip's whole turn, corner to corner, that one landmark may carry
at most: a rounded lip bends all along (0.16-0.20 on these portraits); the trapezoid turned
0.29-0.34 of it at each of its bottom corners (178, 402)."""
THICKNESS_KEPT = 0.9
"""Share of its rest thickness (inner lip to outer contour, along the face's down) each
column of the lower lip keeps wide open (the trapezoid's thinned to 0.5 near the corners)."""


@functools.cache
def tuning_rig(name: str) -> Rig:
    return Avatar.build(load_portrait(FACES / f"{name}.jpg")).rig


def inner_lower_lip(rig: Rig, jaw: float) -> np.ndarray:
    """The inner lower lip, corner (78) to corner (308), opened by ``jaw``: (x, y) along the
    face's right and down."""
    idx = [78, *LOWER_LIP_RINGS[0], 308]
    g = rig.geometry
    at = rig.points[idx] + jaw * rig.bases["jaw"].vertex_disp[idx]
    return np.stack([at @ g.right, at @ g.down], axis=1)


@pytest.mark.parametrize("jaw", JAWS)
@pytest.mark.parametrize("name", TUNING)
def test_the_open_lower_lip_bends_all_along(name: str, jaw: float) -> None:
    """The inner lower lip's direction turns along it, no landmark carrying a large share of
    the turn: a rounded curve, not straight sides and a flat bottom joined at corners."""
    lip = inner_lower_lip(tuning_rig(name), jaw)
    step = np.diff(lip, axis=0)
    turn = -np.diff(np.degrees(np.arctan2(step[:, 1], step[:, 0])))
    share = turn / turn.sum()
    assert share.max() <= TURN_SHARE_MAX, f"a corner in the lip: shares {np.round(share, 2)}"


@pytest.mark.parametrize("name", TUNING)
def test_the_open_lower_lip_keeps_its_thickness(name: str) -> None:
    """Wide open, each column of the lower lip (inner lip to outer contour) keeps most of its
    rest thickness: the lip goes down whole, it does not thin to a sliver at the corners."""
    rig = tuning_rig(name)
    g = rig.geometry
    inner, outer = list(LOWER_LIP_RINGS[0]), list(LOWER_LIP_RINGS[-1])
    rest = (rig.points[outer] - rig.points[inner]) @ g.down
    disp = rig.bases["jaw"].vertex_disp
    wide = (rig.points[outer] + disp[outer] - rig.points[inner] - disp[inner]) @ g.down
    kept = wide / np.maximum(rest, 1e-6)
    assert kept.min() >= THICKNESS_KEPT, f"the lip thins: kept {np.round(kept, 2)}"
