"""Talking-head figures per portrait, and the README's contact sheet.

    PYTHONPATH=. .venv/bin/python tools/avatar_report.py [--sheet docs/talking-head.png]

Drives each portrait with the shipped espeak-ng speech clip (pauses included) through the
project's audio → mouth analysis and the animator, tracks every rendered frame with the
project's face tracker and prints :class:`pipelines.avatar.measure.HeadFigures` per portrait:
tuned-on portraits first, then the held-out ones (``tools/avatar_portraits.py``: derived
from the astronaut, and real photographs from the face_recognition 1.3.0 sdist), which were
never used for tuning. ``--only NAME...`` limits it to those portraits (the README's second
sheet, docs/talking-head-portraits.png, is ``--only obama_grin obama_midword biden``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipelines.audio.inputs import read_audio_file
from pipelines.avatar.measure import blinks_under_poses, measure
from pipelines.avatar.portrait import load_portrait
from pipelines.avatar.stage import Avatar

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "tests" / "data" / "faces"
SPEECH = ROOT / "pipelines" / "assets" / "talking_head_speech.wav"
TUNED = ("astronaut", "cameraman")
HELD_OUT = (
    "astronaut_glasses",
    "astronaut_midword",
    "obama_grin",
    "obama_midword",
    "biden",
)
SHEET_POSES: tuple[tuple[str, dict[str, float]], ...] = (
    ("photo", {}),
    ("rest", {}),
    ("mid-word", {"jaw": 0.55, "spread": 0.3}),
    ("wide open", {"jaw": 1.0}),
    ("mid-blink", {"blink_left": 1.0, "blink_right": 1.0}),
    (
        "blink, head turned",
        {"blink_left": 1.0, "blink_right": 1.0, "yaw_left": 0.8, "pitch_down": 0.8},
    ),
)
TILE = 160


def tile(image: np.ndarray, landmarks: np.ndarray, label: str) -> np.ndarray:
    """A square around the face (face height ≈ 60 % of the tile), at TILE pixels."""
    lm = landmarks[:, :2]
    c = (lm[10] + lm[152]) / 2.0
    half = 0.85 * float(np.linalg.norm(lm[152] - lm[10]))
    m = np.array(
        [
            [TILE / (2 * half), 0, TILE / 2 - c[0] * TILE / (2 * half)],
            [0, TILE / (2 * half), TILE / 2 - c[1] * TILE / (2 * half)],
        ],
        np.float32,
    )
    out = cv2.warpAffine(
        image, m, (TILE, TILE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT
    )
    cv2.putText(out, label, (5, TILE - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(
        out, label, (5, TILE - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA
    )
    return out


def sheet_row(name: str, photo: Any, avatar: Any) -> np.ndarray:
    """One contact-sheet row: the photo, then the avatar at each of SHEET_POSES after it."""
    tiles = [tile(photo.image, photo.landmarks, f"{name}: photo")]
    for label, weights in SHEET_POSES[1:]:
        frame = avatar.renderer.render(weights).copy()
        tiles.append(tile(frame, avatar.portrait.landmarks, label))
    return np.hstack(tiles)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sheet", type=Path, default=None, help="write the contact sheet here")
    parser.add_argument("--no-measure", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help="these portraits only")
    args = parser.parse_args()
    from pipelines.audio.vad import StreamingVad

    samples, rate = read_audio_file(SPEECH)
    rows = []
    for group, names in (("tuned on", TUNED), ("held out", HELD_OUT)):
        print(f"-- {group}")
        for name in names:
            if args.only is not None and name not in args.only:
                continue
            t0 = time.perf_counter()
            photo = load_portrait(FACES / f"{name}.jpg")
            avatar = Avatar.build(photo)
            if not args.no_measure:
                figs = measure(avatar, name, samples, rate, vad=StreamingVad())
                seen, count = blinks_under_poses(avatar)
                print(
                    figs.line(),
                    f"posed blinks {seen}/{count}",
                    f"({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
            rows.append(sheet_row(name, photo, avatar))
    if args.sheet:
        cv2.imwrite(str(args.sheet), np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
