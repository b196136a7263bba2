"""Why a slit-eyed portrait's blinks are not seen: the tracker's shut-eye floor against a squint.

    PYTHONPATH=. .venv/bin/python tools/squint_floor.py [NAME ...]

Issue 13 counts a blink as seen where the project's tracker reads the eye's opening under half
its median. A portrait whose eyes are squeezed to slits (the held-out ``mariachi_grin``,
laughing) sees none of its blinks (0 of 40). This tool stands for that kind with TUNING
portraits made squinting by the avatar itself: each is rendered with both lids
``SQUINTS`` closed and smiling, and that render is built as a new portrait. For the photo and
each squint it prints the tracker's eye opening (lid gap over eye width, the judge's measure,
read on a still frame) with the eyes open and shut, and the shut-over-open ratio.

What it showed (2026-12-07, seven tuning portraits): the tracker reads a shut eye at
0.05-0.09 of the eye's width whatever the photo; squinted to 0.75, the open eye reads
0.07-0.12, so half of it lies at or under that floor, and the shut eye reads 0.72-1.07 of the
open one (six of seven; ``astronaut_turned55_moustache``, whose squint still reads 0.17 open,
0.31). No lid drawn over such an eye can read as a blink: the miss is the tracker's floor, not
the lids' drawing. Opening a squinted portrait's eyes at rest (a relaxed rest face for the
eyes, as the rest mouth is rebuilt) would be the way. Since 2026-12-07 (resteyes) the build
does that (pipelines/avatar/rest_eyes.py), so this tool's squint rows now show the opened
eyes: what the figures above were measured on is the build before it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

from avatar_builds import built  # noqa: E402
from avatar_real_tuning import HELD_OUT  # noqa: E402

from pipelines.avatar.portrait import find_landmarks, make_portrait  # noqa: E402
from pipelines.avatar.stage import Avatar  # noqa: E402
from pipelines.avatar.tracked import eye_opening  # noqa: E402

SQUINTS = (0.6, 0.75)
"""How far the lids are closed in the squinting portraits made (0 open, 1 shut)."""
SHUT = {"blink_left": 1.0, "blink_right": 1.0}
DEFAULT_NAMES = (
    "astronaut",
    "astronaut_turned",
    "riga_turned",
    "photographer_turned",
    "astronaut_turned55_moustache",
    "brothers_sepia",
    "canonman_glasses",
)


def opening(avatar: Avatar, weights: dict[str, float]) -> float:
    """The tracker's eye opening on the avatar's render of ``weights``, as a still frame."""
    frame = avatar.renderer.render(weights).copy()
    return eye_opening(np.asarray(find_landmarks(frame, search=True), np.float64))


def squinting(avatar: Avatar, closure: float) -> Avatar:
    """``avatar``'s photo with its lids ``closure`` shut and smiling, built as a portrait."""
    image = avatar.renderer.render(
        {"blink_left": closure, "blink_right": closure, "smile": 1.0}
    ).copy()
    found = find_landmarks(image, search=True)
    return Avatar.build(make_portrait(image, found, source=f"squint{closure:g}"))


def main() -> None:
    names = sys.argv[1:] or list(DEFAULT_NAMES)
    refused = [n for n in names if n in HELD_OUT]
    if refused:
        print(
            f"squint_floor: {', '.join(refused)} is held out; name tuning portraits",
            file=sys.stderr,
        )
        sys.exit(2)
    for name in names:
        photo = built(name)
        row = [f"{name:28s}"]
        for label, avatar in (
            ("photo", photo),
            *((f"squint {c:g}", squinting(photo, c)) for c in SQUINTS),
        ):
            o, s = opening(avatar, {}), opening(avatar, SHUT)
            row.append(f"{label}: open {o:.3f} shut {s:.3f} ({s / o:.2f})")
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
