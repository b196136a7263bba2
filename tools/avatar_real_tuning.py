"""Issue 13's figures on the REAL tuning portraits, driven by TUNING voices only.

    PYTHONPATH=. .venv/bin/python tools/avatar_real_tuning.py [--only NAME ...] [--stand-ins]
        [--no-speech]

The same judge as tests/test_avatar_heldout.py (:func:`pipelines.avatar.judge.judge`: every
figure read by the project's tracker on the rendered frames) and the same posed blinks
(:func:`pipelines.avatar.measure.blink_ratios_under_poses`) and wide-open tears
(:func:`pipelines.avatar.measure.wide_open_figures`), on the real photographs that
ARE tuned on (tests/data/faces/README.md, "Real tuning portraits"), with voices and sentences
of tools/train_mouth.py's training set (``espeak:en-us`` and ``festival:kal_diphone`` reading
``TRAIN_TEXTS``): never the held-out voices, the judge's held-out sentences or the recorded
LibriVox reader.

``--stand-ins`` adds the derived tuning portraits that stand for the held-out conditions
(:data:`STAND_INS`; tests/data/faces/README.md); ``--only`` takes any tuning portrait and
refuses a held-out one (:data:`HELD_OUT`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from avatar_figures import judged_portraits, spoken  # noqa: E402
from train_mouth import TRAIN_TEXTS  # noqa: E402

from pipelines.avatar.judge import HELD_OUT_PORTRAITS, Clip, continuous, with_pauses  # noqa: E402
from pipelines.avatar.measure import blink_ratios_under_poses, wide_open_figures  # noqa: E402

REAL_TUNING = (
    "canonman_glasses",
    "photographer_turned",
    "brothers_sepia",
    "einstein_midword",
    "riga_turned",
)
STAND_INS = (
    "astronaut",
    "astronaut_grey_moustache",
    "astronaut_grey_small",
    "astronaut_rims",
    "astronaut_turned",
    "astronaut_turned_far",
    "astronaut_turned_moustache",
    "astronaut_turned55_moustache",
    "cameraman",
    "canonman_turned",
    "canonman_hooded",
    "photographer_grey_parted",
    "astronaut_pale_lashes",
    "canonman_bright_rolled",
    "brothers_midword",
)
"""Derived and older tuning portraits standing for the held-out conditions: grey, moustache,
mid-word, low-res (einstein_midword; its lips parted a few pixels over no teeth,
photographer_grey_parted); glasses, hooded eyes (hopper_glasses); turned
(riga_turned; with real hooded eyes, canonman_turned; those eyes narrowed under a fold, whose
shut eye the tracker read as wide as the open one, canonman_hooded); an open mouth
(obama_midword); pale lashes on a grey, turned and tilted head, whose shut line the tracker
read as a narrow open eye (einstein_midword; astronaut_pale_lashes); a real photo taken mid-word,
small and grey, its lips parted a few pixels and its corners lowered as in speech
(einstein_midword; brothers_midword)."""
HELD_OUT = (
    *HELD_OUT_PORTRAITS,
    "astronaut_glasses",
    "astronaut_midword",
    "obama_grin",
    "obama_midword",
)
"""Never tuned on (tests/test_avatar_heldout.py, tools/avatar_heldout.py, and the derived ones
of tools/avatar_report.py): refused here and by tools/avatar_sweep.py."""
TUNING_VOICES = ("espeak:en-us", "festival:kal_diphone")


def tuning_clips() -> list[Clip]:
    """Per tuning voice: four sentences joined without a pause, and two with pauses over
    pink noise (as the held-out test builds its clips)."""
    out = []
    for spec, parts in spoken(TUNING_VOICES, TRAIN_TEXTS[:6]):
        out.append(continuous(f"{spec} continuous", parts[:4], lead_s=0.3, tail_s=0.3))
        out.append(with_pauses(f"{spec} pauses", parts[4:], gap_s=0.8, lead_s=0.8, tail_s=0.6))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None, help="these portraits only")
    parser.add_argument("--stand-ins", action="store_true", help="and the STAND_INS")
    parser.add_argument("--no-speech", action="store_true", help="posed blinks only")
    args = parser.parse_args()
    names = list(args.only or REAL_TUNING) + (list(STAND_INS) if args.stand_ins else [])
    held = sorted(set(names) & set(HELD_OUT))
    if held:
        parser.error(f"held-out portraits are never tuned on: {', '.join(held)}")
    clips = [] if args.no_speech else tuning_clips()
    for c in clips:
        print(f"clip {c.name}: {c.seconds:.1f} s")
    for done in judged_portraits(dict.fromkeys(names), clips, blink_ratios=True):
        ratios = blink_ratios_under_poses(done.avatar)
        seen = sum(r < 0.5 for r in ratios)
        print(
            f"{done.name:<20} posed blinks {seen}/{len(ratios)} "
            f"shut/open {np.round(ratios, 2).tolist()} ({done.seconds():.0f} s)",
            flush=True,
        )
        print(f"{done.name:<20} {wide_open_figures(done.avatar).line()}", flush=True)


if __name__ == "__main__":
    main()
