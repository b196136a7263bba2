"""Blinks on dusky and dark photos (issue 13): a blink seen by the tracker at the photo's light.

On tools/avatar_sweep.py's ``dusk`` (gamma 1.8) and ``dark`` (gamma 2.2) variants of the tuning
stand-in ``canonman_turned`` (hooded eyes, the head turned 40 degrees; the face's grey 15 and
8 there, 53 as photographed) no posed blink was seen (0 of 8, seed 7). At that light the
tracker reads every flat lid about as it reads an eye with no shut line drawn at all (dusk:
the flat lids 0.75-0.93 of the open eye at the build's worst check pose, no line 0.90), so the
build never read the domed lids (:data:`~pipelines.avatar.lids.DIM_FOLLOWED`), which read 0.62
there. On a dark photo they are now read (:data:`~pipelines.avatar.lids.DARK_GREY_MAX`).
Tuned on canonman_turned dusk and dark and canonman_hooded dark, never on the held-out
portraits (tests/data/faces/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from avatar_builds import built_darkened
from host_cpu import allow_off_avx512

from pipelines.avatar.lids import DARK_GREY_MAX, photo_grey
from pipelines.avatar.measure import blink_ratios_under_poses
from pipelines.avatar.portrait import find_landmarks, make_portrait, read_image
from pipelines.avatar.stage import Avatar

pytestmark = pytest.mark.clock_free

FACES = Path(__file__).resolve().parent / "data" / "faces"
DUSK_GAMMA = 1.8
"""The sweep's ``dusk`` variant: each channel's light to this power on a 0-1 scale."""
DUSK_POSED_SEEN_MIN = 4
"""Posed blinks (seed 7, of 8) seen on canonman_turned dusk, at least: 0 on main before the
domed lids were read on dark photos (the default lids kept, worst 0.57-0.93 of the open eye),
5 now on this host (the domed lids 0.75 past the lower lid's line)."""


def _darkened(name: str, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    image = read_image(FACES / f"{name}.jpg")
    image = np.clip(255.0 * (image / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return image, find_landmarks(image, search=True)


def test_blinks_on_a_dusky_photo_are_seen(request: pytest.FixtureRequest) -> None:
    allow_off_avx512(request, "canonman_turned dusk's posed blinks")
    image, found = _darkened("canonman_turned", DUSK_GAMMA)
    assert photo_grey(image, found) <= DARK_GREY_MAX
    avatar = Avatar.build(make_portrait(image, found, source="canonman_turned:dusk"))
    ratios = blink_ratios_under_poses(avatar, seed=7)
    print(" ".join(f"{r:.2f}" for r in ratios))
    seen = sum(r < 0.5 for r in ratios)
    assert seen >= DUSK_POSED_SEEN_MIN, f"{seen} of {len(ratios)} seen: {np.round(ratios, 2)}"


@pytest.mark.parametrize("name", ["canonman_turned", "canonman_glasses", "cameraman"])
def test_the_tuning_photos_themselves_are_not_dark(name: str) -> None:
    """The darkest tuning photos as photographed (the canonman ones, the face's grey 53) and
    the profile (its dark variant 39) are not dark: their builds read the domed lids only where
    some flat lid reads under DIM_FOLLOWED, as before."""
    image = read_image(FACES / f"{name}.jpg")
    assert photo_grey(image, find_landmarks(image, search=True)) > DARK_GREY_MAX


DARK_GAMMA = 2.2
"""The sweep's ``dark`` variant (a photo taken in a dark room)."""
DARK_FAILS = (
    "canonman_turned dark (the face's grey 8, the skin round the eye at 8-14 levels): posed "
    "blinks of seed 7 0 of 8 seen, 0.82-1.02 of the open eye (2026-12-06, this host). At that "
    "light the tracker reads no closed eye: an eye with no shut line drawn reads 0.86-1.09, "
    "every lid shape and depth 0.61-1.02, and the undarkened photo's own avatar, all of whose "
    "blinks are seen there (0.31-0.47), darkened afterwards as much reads 0.53-0.90; only lids "
    "lit 3-4 times the skin's light, pale patches over the eyes, read half (lids.DARK_GREY_MAX)"
)


@pytest.mark.xfail(strict=True, reason=DARK_FAILS)
def test_blinks_on_a_dark_photo_are_seen() -> None:
    avatar = built_darkened("canonman_turned", DARK_GAMMA, "dark")  # the mouth tests' too
    ratios = blink_ratios_under_poses(avatar, seed=7)
    print(" ".join(f"{r:.2f}" for r in ratios))
    seen = sum(r < 0.5 for r in ratios)
    assert seen >= DUSK_POSED_SEEN_MIN, f"{seen} of {len(ratios)} seen: {np.round(ratios, 2)}"
