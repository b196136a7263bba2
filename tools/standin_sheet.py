"""The README's stand-in contact sheets: each portrait, then its stand-in at rest on a
1280×720 and a 720×1280 frame.

    PYTHONPATH=. .venv/bin/python tools/standin_sheet.py docs/talking-head-standin.jpg
    PYTHONPATH=. .venv/bin/python tools/standin_sheet.py --held-out docs/standin-heldout.jpg

The first sheet is of tuning portraits (tests/data/faces/README.md), QA's crops of the
project's astronaut (``CROPS``) and a bystander proxy composed from two_faces (``PROXIES``);
``--held-out`` draws the portraits never tuned on, as a check only
(tests/test_avatar_heldout.py's and the real ones of the face_recognition sdist). Each avatar is
built as the stage builds it
(:meth:`~pipelines.avatar.stage.Avatar.build`, which closes a mid-word mouth), and its rest
face is composed as the stage composes a stand-in frame.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from pipelines.avatar.compose import compose_standin, make_standin, person_mask
from pipelines.avatar.portrait import load_portrait, portrait_from
from pipelines.avatar.stage import Avatar

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "tests" / "data" / "faces"
TUNING = ("astronaut", "astronaut_tight", "canonman_hooded", "photographer_turned", "cameraman")
HELD_OUT = ("obama_midword", "hopper_glasses", "biden", "einstein_midword", "riga_turned")
ASTRONAUT = ROOT / "pipelines" / "assets" / "astronaut.png"
CROPS = {
    "astronaut tight crop": (0.3, 0.08, 0.65, 0.45),
    "astronaut left half": (0.0, 0.0, 0.5, 1.0),
}
"""QA qa4's crops of the project's astronaut (x0, y0, x1, y1, fractions of its width and
height), on the tuning sheet: a tight head crop framing the face in its middle, and a photo
cut through the face (tests/test_avatar_standin_fill.py's TIGHT_CROP and EDGE_CROP)."""


def bystander() -> np.ndarray:
    """two_faces.jpg's astronaut half up to column 270, then the first 120 columns of its grey
    cameraman half: a bystander cut by the photo's edge beside the person, whom the
    segmentation network half calls person (tests/test_avatar_standin_fill.py's
    TWO_FACES_BYSTANDER)."""
    two = cv2.imread(str(FACES / "two_faces.jpg"), cv2.IMREAD_COLOR)
    if two is None:
        raise SystemExit(f"standin_sheet: cannot read {FACES / 'two_faces.jpg'}")
    return np.ascontiguousarray(np.hstack([two[:, :270], two[:, 320:440]]))


PROXIES = {"two_faces bystander": bystander}
"""Tuning proxies composed from the tuning photos, on the tuning sheet."""
FRAMES = ((1280, 720), (720, 1280))
ROW = 300
"""Each tile's height on the sheet, in pixels."""


def tile(image: np.ndarray, label: str = "") -> np.ndarray:
    h, w = image.shape[:2]
    out = cv2.resize(image, (round(w * ROW / h), ROW), interpolation=cv2.INTER_AREA)
    if label:
        cv2.putText(out, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3)
        cv2.putText(out, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1)
    return out


def row(name: str) -> np.ndarray:
    crop = CROPS.get(name)
    source = ASTRONAUT if crop else FACES / f"{name}.jpg"
    proxy = PROXIES.get(name)
    photo = proxy() if proxy else cv2.imread(str(source), cv2.IMREAD_COLOR)
    if photo is None:
        raise SystemExit(f"standin_sheet: cannot read {source}")
    if proxy:
        avatar = Avatar.build(portrait_from(photo, name))
    elif crop:
        ph, pw = photo.shape[:2]
        x0, y0, x1, y1 = crop
        photo = np.ascontiguousarray(
            photo[int(y0 * ph) : int(y1 * ph), int(x0 * pw) : int(x1 * pw)]
        )
        avatar = Avatar.build(portrait_from(photo, name))
    else:
        avatar = Avatar.build(load_portrait(source))
    portrait = avatar.portrait
    mask = person_mask(portrait.image)
    tiles = [tile(photo, name)]
    for w, h in FRAMES:
        standin = make_standin(portrait.image, mask, (w, h), portrait.coverage)
        frame = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
        tiles.append(tile(frame, f"{w}x{h}"))
    gap = np.full((ROW, 6, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for t in tiles:
        parts += [t, gap]
    return np.hstack(parts[:-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--held-out", action="store_true", help="the held-out portraits")
    args = parser.parse_args()
    rows = [row(name) for name in (HELD_OUT if args.held_out else (*TUNING, *CROPS, *PROXIES))]
    width = max(r.shape[1] for r in rows)
    padded = [
        cv2.copyMakeBorder(r, 0, 6, 0, width - r.shape[1], cv2.BORDER_CONSTANT, value=(255,) * 3)
        for r in rows
    ]
    if not cv2.imwrite(str(args.output), np.vstack(padded), [cv2.IMWRITE_JPEG_QUALITY, 85]):
        raise SystemExit(f"standin_sheet: cannot write {args.output}")
    print(args.output)


if __name__ == "__main__":
    main()
