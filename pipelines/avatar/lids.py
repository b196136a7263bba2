"""How deep the shut lids go, chosen per portrait by how the project's tracker reads them.

The lids meet on the lower lid's line (:data:`~pipelines.avatar.rig.BLINK_LOWER_SHARE`), which
the tracker reads as a shut eye on most faces (the shut eye's lid gap 0.1-0.3 of the open
one's). On narrow, hooded eyes it reads the same lids at about half the open eye, the issue's
threshold for a blink seen: it puts the upper lid's landmark on the lash line and the lower
lid's on the lower lid's fold below it (canonman_glasses' posed blinks 0.36-0.62 of the open
eye). There the upper lid coming down past the lower lid's line, its lash line bowing down as
a shut eye's does, reads shut (0.30-0.53 at a third of the opening past it), while on the
faces that already read shut the same depth reads them a little less shut (astronaut_glasses'
worst posed blink 0.40 -> 0.55). No one depth suits both, so the avatar checks its own shut
eye at build, as the figures are measured, and goes deeper only where the tracker needs it.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from pipelines.avatar.render import AvatarRenderer
from pipelines.avatar.rig import BLINK_LOWER_SHARE
from pipelines.avatar.tracked import eye_opening, measuring_tracker

log = logging.getLogger(__name__)

READ_SHUT = 0.4
"""The shut eye's tracked opening over the open eye's under which the lids are left as they
are, at every check pose (a blink is seen under 0.5: the margin is for the poses between)."""
SEEN = 0.5
"""A blink is seen under this (the issue's half of the open eye's opening)."""
DEEPER = (-0.15, -0.3, -0.45)
"""Where the lids may meet instead (shares of the opening below the lower lid's line), when
the default reads wider than :data:`READ_SHUT`: the one read most shut is kept."""
CHECK_POSES: tuple[dict[str, float], ...] = (
    {},
    {"yaw_right": 0.6, "pitch_down": 0.4},
    {"yaw_left": 0.6, "pitch_up": 0.4},
)
"""Head poses the shut eye is checked under: frontal, as while talking, and turned both ways."""
SHUT = {"blink_left": 1.0, "blink_right": 1.0}


def settle_lids(renderer: AvatarRenderer, image: np.ndarray) -> float:
    """Set the depth the rig's lids meet at (the renderer's rig, built on ``image``) to the
    one the tracker reads most shut, when the default reads wider than :data:`READ_SHUT`
    under any of :data:`CHECK_POSES`; the depth chosen."""
    rig = renderer.rig
    tracker = measuring_tracker()
    tracker.open()
    frames = 0

    def read(weights: dict[str, float]) -> float:
        from pipelines.frame import FrameContext

        nonlocal frames
        ctx = FrameContext(timestamp=frames / 30.0, index=frames)
        frames += 1
        tracker.process(renderer.render(weights), ctx)
        face = ctx.primary_face
        if face is None:
            return math.nan
        return eye_opening(np.asarray(face.landmarks, np.float64))

    def worst(opens: list[float]) -> float:
        ratios = [read({**pose, **SHUT}) / o for pose, o in zip(CHECK_POSES, opens, strict=True)]
        # A pose the tracker lost reads as open: that depth is not trusted.
        return max(math.inf if math.isnan(r) else r for r in ratios)

    try:
        opens = [read(pose) for pose in CHECK_POSES]
        if any(math.isnan(o) or o <= 0.0 for o in opens):
            return BLINK_LOWER_SHARE
        best = (worst(opens), BLINK_LOWER_SHARE)
        if best[0] <= READ_SHUT:
            return BLINK_LOWER_SHARE
        default = best
        for share in DEEPER:
            rig.set_lid_depth(image, share)
            best = min(best, (worst(opens), share))
    finally:
        tracker.close()
    if best[0] >= SEEN:
        # No depth reads as a blink: the tracker does not follow these lids (a profile's
        # near eye), and the default is what they look like best.
        best = default
    log.info("avatar: shut lids read at %.2f of the open eye, meeting at %+.2f", *best)
    rig.set_lid_depth(image, best[1])
    return best[1]
