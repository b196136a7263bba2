"""The jaw of a photographed print whose edge shows: issue 13's ``kwong_bw`` kind, on TUNING photos.

    PYTHONPATH=. .venv/bin/python tools/print_edge_jaw.py [--only NAME ...] [--part K/N]

The held-out ``kwong_bw`` is "a photo of a tilted print (its edge crosses the top corner)",
and its build opens the jaw 0.04-0.05 face heights at the inner lower lip (14) of the 0.2
asked, its face creasing under 355 of 1,404 combinations of motions. tools/weak_jaw_search.py's
prints, halftones, small faces, rolls and landmark noise never showed the print's edge. Here
each frontal tuning photo (:data:`weak_jaw_search.FRONTAL`) is printed
(:data:`weak_jaw_search.PRINT`), turned by each of :data:`ROLLS` and moved down by
:data:`SHIFT` of its height on a ground of each of :data:`GROUNDS` (the print's edge across a
top corner), found as the stage finds it, and built; one line per variant gives the jaw and
the wide jaw at 14 (face heights) and how many combinations still crease (``Rig.creasing``,
what the build warns of).

What it found (2026-12-07): brothers_sepia rolled -6 degrees on a dark ground kept 0.050 at
14 (wide 0.077), creasing under 494 of 1,404 combinations, where its rest mesh differs by
under 0.25 px from the same print on a light ground (0.200, none). The combinations' last
resort had made it worse: it went in with 210 probes folding at the lower lip's side and left
494, the jaw cut around them; its variant that spares the jaw left 86 and 0.12 but was
refused for keeping under 0.9 of the asked jaw. That variant is now kept where it is no worse
on either count (:meth:`pipelines.avatar.rig.Rig._combined_without_folds`): 0.123, wide
0.200, 86 creasing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from avatar_real_tuning import HELD_OUT  # noqa: E402
from avatar_sweep import source_photo  # noqa: E402
from weak_jaw_search import FRONTAL, PRINT, jaw_at_14  # noqa: E402

from pipelines.avatar.portrait import find_landmarks, make_portrait  # noqa: E402
from pipelines.avatar.stage import Avatar  # noqa: E402

ROLLS = (-8.0, -6.0, -4.0, 4.0, 6.0, 8.0)
"""Degrees the print is turned (counter-clockwise positive, as OpenCV turns)."""
GROUNDS = (40, 235)
"""The grey of what lies around the print: a dark table, a white sheet."""
SHIFT = 0.06
"""How far down the print is moved, in shares of the photo's height: its top edge then
crosses the frame near the top corners."""


def on_ground(image: np.ndarray, degrees: float, ground: int) -> np.ndarray:
    """``image`` turned ``degrees`` about its centre and moved down :data:`SHIFT`, on
    ``ground`` (the same size: the print's edge shows across the corners)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    matrix[1, 2] += SHIFT * h
    return cv2.warpAffine(
        image,
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(ground, ground, ground),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None, help="these tuning photos only")
    parser.add_argument("--part", default="0/1", help="K/N: every N-th photo from the K-th")
    args = parser.parse_args()
    try:
        k, n = (int(v) for v in args.part.split("/"))
        if not 0 <= k < n:
            raise ValueError
    except ValueError:
        parser.error(f"--part {args.part!r}: give K/N with 0 <= K < N, e.g. 0/2")
    held = sorted(set(args.only or ()) & set(HELD_OUT))
    if held:
        parser.error(f"held-out portraits are never tuned on: {', '.join(held)}")
    names = list(args.only or FRONTAL)[k::n]
    for name in names:
        photo, found = source_photo(name)
        printed = PRINT(photo, found)
        for degrees in ROLLS:
            for ground in GROUNDS:
                image = on_ground(printed, degrees, ground)
                landmarks = find_landmarks(image, search=True)
                avatar = Avatar.build(make_portrait(image, landmarks, source=name))
                jaw, wide = jaw_at_14(avatar)
                print(
                    f"{name:<26} roll {degrees:+4.0f} ground {ground:3d}  jaw {jaw:.3f}  "
                    f"wide {wide:.3f}  creasing {avatar.rig.creasing}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
