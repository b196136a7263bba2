"""Tuning photos made to laugh with the head pitched down and turned: wide-open tears and posed
blinks (issue 13; a search for the held-out ``mariachi_grin``'s kind, "a laughing photo pitched
down and turned", on tuning photos only).

    PYTHONPATH=. .venv/bin/python tools/laugh_pose_search.py [NAME ...]

Each photo is made to laugh by its own avatar (tests/avatar_builds.laughing_portrait: smiling,
the jaw 0.3 open, the lids 0.3 shut, the cheeks pushing the lower lids up 0.6 of the eye's
opening) under each head pose of :data:`POSES`, built as the stage builds a portrait, and judged
as the held-out test judges one: the jaw fully open under 60 random mixes of the other motions
(:func:`~pipelines.avatar.measure.wide_open_figures`) and eight blinks under random head poses
(:func:`~pipelines.avatar.measure.blink_ratios_under_poses`, seen under 0.5).

Run 2026-12-07 20:35-20:45 UTC (b0d4d99; 28 builds), as wide-open poses torn and posed blinks
seen for the poses flat / down / down+right / down+left:

- riga_turned: 0 / 0 / 0 / 0 torn; 8 / 8 / 8 / 8 seen.
- photographer_turned: 0 torn throughout; 8 / 7 / 7 / 7 seen (worst 0.51).
- astronaut_turned: 0 / **3** / 0 / 0 torn (worst 17 px: the dark side of the mouth's cavity on
  the skin past the lower lip's corner, which needs the jaw, the rounding, the pitch up and the
  roll together; looked at, 600 %: a smooth edge, no jag); 8 of 8 seen throughout.
- canonman_turned (glasses): 0 torn; **4 / 5 / 3 / 7** seen (worst 0.77). Its laughing eyes
  read 0.15-0.17 of their width; its kept lids (hooded, 0.45 past the line) read 0.42 of the
  open eye at the build's three check poses but 0.41-0.77 under the eight random ones. Opened
  (rest_eyes.open_eyes) they read 0.22-0.24, and with those 8 of 8 are seen under each pose,
  but the build asks 0.05 wider (0.219 against 0.17 flat) and opens only under 0.13 or where
  no lid is followed (0.75), so they stay. Not mended: tuning photos with narrow eyes of their
  own read 0.19-0.22 (riga_turned 0.188, canonman_hooded 0.197, dimmed 0.191), so a line
  between a laugh and such eyes would sit within 0.02 of both, and a person's own narrow eyes
  are not to be drawn over.
- astronaut_turned_far: 0 / **1** / 0 / 0 torn (12 px); 8 / 6 / 7 / 7 seen (worst 0.59).
- astronaut: 0 torn, 8 of 8 seen throughout.
- einstein_midword: 0 torn; **5 / 4 / 4 / 7** seen (worst 0.79); its laughing eyes read
  0.20-0.25, and opened (0.28-0.29) 6 / 4 / 7: not the eyes' width there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))

from avatar_builds import laughing_portrait  # noqa: E402
from avatar_real_tuning import HELD_OUT  # noqa: E402

from pipelines.avatar.measure import blink_ratios_under_poses, wide_open_figures  # noqa: E402
from pipelines.avatar.stage import Avatar  # noqa: E402

NAMES = (
    "riga_turned",
    "photographer_turned",
    "astronaut_turned",
    "canonman_turned",
    "astronaut_turned_far",
    "astronaut",
    "einstein_midword",
)
"""The photos searched by default: the turned tuning photos and two frontal ones."""
POSES: dict[str, tuple[tuple[str, float], ...]] = {
    "flat": (),
    "down": (("pitch_down", 0.6),),
    "down+right": (("pitch_down", 0.6), ("yaw_right", 0.6)),
    "down+left": (("pitch_down", 0.6), ("yaw_left", 0.6)),
}
"""The head poses the laugh is rendered under."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(NAMES), help="tuning photos")
    args = parser.parse_args()
    held = sorted(set(args.names) & set(HELD_OUT))
    if held:
        parser.error(f"held-out portraits are never tuned on: {', '.join(held)}")
    for name in args.names:
        for label, pose in POSES.items():
            started = time.perf_counter()
            avatar = Avatar.build(laughing_portrait(name, pose=pose))
            wide = wide_open_figures(avatar)
            ratios = blink_ratios_under_poses(avatar)
            seen = sum(r < 0.5 for r in ratios)
            print(
                f"{name:<22} {label:<11} {wide.line()}, posed blinks {seen}/{len(ratios)} "
                f"(worst {max(ratios):.2f}) {time.perf_counter() - started:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
