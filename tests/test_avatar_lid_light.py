"""A shut lid lit for the photo's own light (issue 13, item 4): never a patch paler than the
skin around the eye where the socket is in shade.

The closed lid's skin was lit to the lower lid's light alone (rig._LidLight, 2026-12-03, so
that the tracker sees the blink); under a top light, the socket shadowed and the cheek bright,
that was a light patch over each shut eye, like white eyeshadow. Tuning portraits only
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
from avatar_builds import built

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
left eye; the right socket is the shadowed one)."""


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


@pytest.mark.xfail(
    strict=True,
    reason="the shut lid takes the lower lid's light (rig._LidLight); lit between the socket's "
    "shade and that light (the lower lid's light less half the socket's shade past 0.15 of it, "
    "one light per eye) the lids read 0.92 and 0.97, but tools/avatar_real_tuning.py lost "
    "tuning blinks: riga_turned's festival clip 6/6 -> 4/6, canonman_bright_rolled's posed 8/8 "
    "-> 7/8 (past 0.25 of it: the same, with the lids 0.90-0.97 of the lower lid's light), "
    "astronaut_rims' festival clip 3/6 -> 2/6 (2026-12-06)",
)
@pytest.mark.parametrize("name", ["brothers_sepia", "brothers_midword"])
def test_a_shut_lid_in_a_shadowed_socket_is_no_paler_than_the_cheek(name: str) -> None:
    got = lid_over_cheek(built(name))
    assert all(r <= LID_OVER_CHEEK_MAX for r in got.values()), {
        k: round(v, 3) for k, v in got.items()
    }
