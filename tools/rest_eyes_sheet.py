"""Squinting and laughing portraits opened at rest, as a contact sheet (issue 13, resteyes).

Each row is a tuning portrait made to squint or laugh by its own avatar (its lids ``CLOSURE``
shut and smiling; ``laugh``: the jaw open too, a laugh with teeth), built as the stage builds
a photo (pipelines/avatar/rest_eyes.py opens the eyes, pipelines/avatar/rest.py closes the
mouth), then: the photo so made, the avatar at rest, mid-word, mid-blink, and shut under a
turned, nodding head. Held-out portraits are refused.

    PYTHONPATH=$PWD .venv/bin/python tools/rest_eyes_sheet.py OUT.png [NAME:CLOSURE[:laugh] ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tools")]
from avatar_builds import built  # noqa: E402
from avatar_real_tuning import HELD_OUT  # noqa: E402

from pipelines.avatar.portrait import find_landmarks, make_portrait  # noqa: E402
from pipelines.avatar.stage import Avatar  # noqa: E402

CASES = (
    "astronaut:0.75",
    "brothers_sepia:0.75",
    "riga_turned:0.6",
    "photographer_turned:0.7:laugh",
    "canonman_glasses:0.75",
)
CELLS: tuple[tuple[str, dict[str, float]], ...] = (
    ("at rest", {}),
    ("mid-word", {"jaw": 0.5}),
    ("mid-blink", {"blink_left": 0.5, "blink_right": 0.5}),
    ("shut, turned", {"blink_left": 1.0, "blink_right": 1.0, "yaw_right": 0.5, "pitch_down": 0.5}),
)
CELL = 300
"""Each cell's side (pixels): the face from brows to chin."""


def made(case: str) -> tuple[np.ndarray, Avatar]:
    name, closure, *rest = case.split(":")
    weights = {"blink_left": float(closure), "blink_right": float(closure), "smile": 1.0}
    if rest == ["laugh"]:
        weights["jaw"] = 0.45
    image = built(name).renderer.render(weights).copy()
    found = find_landmarks(image, search=True)
    portrait = make_portrait(image, found, source=case)
    return portrait.image, Avatar.build(portrait)


def cut(frame: np.ndarray, lm: np.ndarray) -> np.ndarray:
    pts = lm[:468, :2]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    top = y0 + 0.22 * (y1 - y0)
    side = max(x1 - x0, y1 - top) * 1.02
    cx, cy = 0.5 * (x0 + x1), 0.5 * (top + y1)
    m = np.array(
        [
            [CELL / side, 0, CELL / 2 - cx * CELL / side],
            [0, CELL / side, CELL / 2 - cy * CELL / side],
        ]
    )
    return cv2.warpAffine(
        frame, m, (CELL, CELL), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def label(cell: np.ndarray, text: str) -> np.ndarray:
    cell = cell.copy()
    cv2.rectangle(cell, (0, 0), (CELL, 18), (0, 0, 0), -1)
    cv2.putText(
        cell, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA
    )
    return cell


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: rest_eyes_sheet.py OUT.png [NAME:CLOSURE[:laugh] ...]", file=sys.stderr)
        sys.exit(2)
    out, cases = sys.argv[1], sys.argv[2:] or list(CASES)
    refused = [c for c in cases if c.split(":")[0] in HELD_OUT]
    if refused:
        print(
            f"rest_eyes_sheet: {', '.join(refused)} held out; name tuning portraits",
            file=sys.stderr,
        )
        sys.exit(2)
    rows = []
    for case in cases:
        photo, avatar = made(case)
        lm = np.asarray(avatar.portrait.landmarks, np.float64)
        cells = [label(cut(photo, lm), f"{case.split(':')[0]} made to squint")]
        for text, weights in CELLS:
            cells.append(label(cut(avatar.renderer.render(weights).copy(), lm), text))
        rows.append(np.hstack(cells))
        print(case, flush=True)
    cv2.imwrite(out, np.vstack(rows))


if __name__ == "__main__":
    main()
