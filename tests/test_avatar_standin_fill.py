"""The stand-in's fill beyond the portrait (issue 13 item 7; QA pass 3, item 3): the person
stays where the photo framed them, what lies past the avatar's square is the photo's own
background shown once (not its mirror), and a body reaching the square's side goes on past it
instead of ending in a straight soft cut."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelines.avatar.compose import compose_standin, make_standin, person_mask
from pipelines.avatar.portrait import load_portrait
from pipelines.avatar.stage import Avatar

FACES = Path(__file__).resolve().parent / "data" / "faces"
LANDSCAPE = (1280, 720)
CENTRE_MARGIN = 0.1
"""Fraction of the frame's width the face's centre may sit from the frame's centre, for a photo
that framed the face in its middle (obama_midword: 0 on this branch; on main the bystander at
the photo's left edge counted as a cut of the head and put the face at 0.20 of the width,
0.30 off centre)."""
MIRROR_DIFF_MIN = 6.0
"""Grey levels: the backdrop's mean difference between the columns just past the square's
side and the square's own columns reflected about that side (120 of each). A mirrored backdrop
reads ~0 there (0.0 on main for obama_midword: its bystander and the hole the person left came
back as a second, faceless head); the photo's background enlarged reads 32 and 14 there."""
SIDE_STEP_MAX = 12.0
"""Grey levels: the mean colour step across the avatar square's side, 24 px each way, on the
rows where the person reaches that side. A body fading out at the side into the backdrop is a
straight soft cut (astronaut 35, canonman_hooded 24 on main); continued past it, 9 and 10."""


def face_x(standin) -> float:
    """The face's centre across the frame: the avatar's square is centred on the face."""
    return standin.x + standin.side / 2.0


def test_a_bystander_at_the_photos_side_does_not_push_the_person_aside() -> None:
    """obama_midword: a blurred bystander at the photo's left edge, which the segmentation
    half cuts out as person, touches the person's blob at the shoulder. It is no cut of the
    head: the square stays centred and its backdrop past the square is no mirror."""
    avatar = Avatar.build(load_portrait(FACES / "obama_midword.jpg"))
    portrait = avatar.portrait
    mask = person_mask(portrait.image)
    w = LANDSCAPE[0]
    standin = make_standin(portrait.image, mask, LANDSCAPE, portrait.coverage)
    off = abs(face_x(standin) - w / 2.0) / w
    assert off <= CENTRE_MARGIN, f"the face is {off:.2f} of the width off centre (x={standin.x})"
    x, side = standin.x, standin.side
    k = 120
    for edge in (x, x + side):
        if not (k <= edge <= w - k):
            continue
        before = standin.backdrop[:, edge - k : edge].astype(np.float32)
        after = standin.backdrop[:, edge : edge + k].astype(np.float32)
        # Reflected about the side: the same either way round.
        diff = np.abs(after - before[:, ::-1]).mean()
        assert diff >= MIRROR_DIFF_MIN, f"the backdrop mirrors the square at x={edge}: {diff:.1f}"


def side_steps(name: str) -> list[float]:
    portrait = load_portrait(FACES / f"{name}.jpg")
    mask = person_mask(portrait.image)
    w, h = LANDSCAPE
    standin = make_standin(portrait.image, mask, LANDSCAPE, portrait.coverage)
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    out = out.astype(np.float32)
    scale = standin.side / mask.shape[0]
    steps = []
    for column, edge, outward in ((0, standin.x, -1), (-1, standin.x + standin.side, 1)):
        if not 24 < edge < w - 24:
            continue
        rows = np.flatnonzero(mask[:, column] > 0.5)
        frame_rows = (standin.y + (rows + 0.5) * scale).astype(int)
        frame_rows = frame_rows[(frame_rows >= 0) & (frame_rows < h)]
        if frame_rows.size < 20:
            continue
        step = np.abs(out[frame_rows, edge + 24 * outward] - out[frame_rows, edge - 24 * outward])
        steps.append(float(step.mean()))
    return steps


@pytest.mark.parametrize("name", ["astronaut", "canonman_hooded"])
def test_a_body_at_the_squares_side_goes_on_past_it(name: str) -> None:
    """Tuning portraits whose shoulders reach the avatar square's side on a landscape frame:
    no colour step across that side (hopper_glasses' body ended there in a soft vertical cut,
    sky beyond)."""
    steps = side_steps(name)
    assert steps, "the person reaches no side of the square inside the frame"
    assert max(steps) <= SIDE_STEP_MAX, f"a cut at the square's side: {steps}"


HALO_DETAIL_MAX = 0.5
"""The share of the photo's fine detail (mean |Laplacian|) the stand-in keeps in a ring 4-12
px outside the person's matte (its 0.5 line) on the avatar's own 512 px: the photo's sharp
background clinging to the hair over its blurred copy. astronaut: 0.63 on main (the mask
widened by 6 px), 0.38 here; portrait_full (QA's, not in the repository) 0.46 and 0.26."""


def test_no_sharp_background_clings_to_the_hair() -> None:
    portrait = load_portrait(FACES / "astronaut.jpg")
    mask = person_mask(portrait.image)
    size = portrait.image.shape[1], portrait.image.shape[0]
    standin = make_standin(portrait.image, mask, size, portrait.coverage)
    out = compose_standin(np.zeros_like(portrait.image), portrait.image, standin)
    core = (mask > 0.5).astype(np.uint8)
    ring = cv2.dilate(core, np.ones((25, 25), np.uint8)) > 0
    ring &= ~(cv2.dilate(core, np.ones((7, 7), np.uint8)) > 0)
    if portrait.coverage is not None:  # the fill past the photo has no detail to keep
        ring &= cv2.erode((portrait.coverage >= 0.5).astype(np.uint8), np.ones((9, 9))) > 0
    assert ring.sum() > 5000

    def detail(image: np.ndarray) -> float:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F))[ring].mean())

    kept = detail(out) / detail(portrait.image)
    assert kept <= HALO_DETAIL_MAX, f"the photo's sharp background shows round the hair: {kept:.2f}"
