"""Talking-head figures on portraits and voices never tuned on (issue 13's judge).

    PYTHONPATH=. .venv/bin/python tools/avatar_heldout.py [--sheet docs/talking-head-heldout.png]

For each held-out portrait (:data:`pipelines.avatar.judge.HELD_OUT_PORTRAITS`: never looked
at while tuning) and each clip, prints
:class:`pipelines.avatar.judge.ClipFigures`:

* continuous speech (no pauses) from each voice of :data:`pipelines.avatar.judge.HELD_OUT_TTS`
  (Flite and Festival voices the lip-sync model never trained on) and from the recorded
  LibriVox speech of tests/data/speech (held out as well);
* the same voices with pauses over pink noise (20 dB under the speech), for the silent frames;

then the blinks under random head poses (:func:`pipelines.avatar.measure.blinks_under_poses`)
and the tears of the fully open mouth under random other motions
(:func:`pipelines.avatar.measure.wide_open_figures`).
``--sheet`` writes the contact sheet (photo, rest, mid-word, wide open, mid-blink, blink with
the head turned) as tools/avatar_report.py does. Takes ~7 min on the shared 2-core machine
(load 5-7, 2026-12-03).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # audio_support: the recorded speech and its phones
sys.path.insert(0, str(ROOT / "tools"))

from avatar_figures import judged_portraits, spoken  # noqa: E402
from avatar_report import sheet_row  # noqa: E402

from pipelines.avatar.judge import (  # noqa: E402
    HELD_OUT_PORTRAITS,
    HELD_OUT_TTS,
    SENTENCES,
    continuous,
    with_pauses,
)
from pipelines.avatar.measure import blinks_under_poses, wide_open_figures  # noqa: E402


def clips() -> list:
    from audio_support import recorded_speech

    out = []
    for spec, parts in spoken(HELD_OUT_TTS, SENTENCES):
        out.append(continuous(f"{spec} continuous", parts[:4]))
        out.append(with_pauses(f"{spec} pauses+noise", parts[4:]))
    recorded = recorded_speech()
    out.append(continuous("LibriVox continuous", recorded))
    out.append(with_pauses("LibriVox pauses+noise", recorded[1:3]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sheet", type=Path, default=None, help="write the contact sheet here")
    parser.add_argument("--no-measure", action="store_true")
    parser.add_argument(
        "--only", nargs="*", default=None, help="these portraits (any in tests/data/faces) only"
    )
    args = parser.parse_args()
    todo = list(HELD_OUT_PORTRAITS) if args.only is None else list(args.only)
    speech = [] if args.no_measure else clips()
    for c in speech:
        print(f"clip {c.name}: {c.seconds:.1f} s, {len(c.speech)} speech phonemes")
    rows = []
    for done in judged_portraits(todo, speech):
        if not args.no_measure:
            seen, count = blinks_under_poses(done.avatar)
            print(f"{done.name:<17} posed blinks {seen}/{count} ({done.seconds():.0f} s)")
            print(f"{done.name:<17} {wide_open_figures(done.avatar).line()}", flush=True)
        rows.append(sheet_row(done.name, done.photo, done.avatar))
    if args.sheet:
        cv2.imwrite(str(args.sheet), np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
