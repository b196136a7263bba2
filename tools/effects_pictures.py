#!/usr/bin/env python3
"""Make the README's before/after pictures of the issue-17 stages from the test photos.

    .venv/bin/python tools/effects_pictures.py          # → docs/only-me.png, docs/key-light.png,
                                                        #   docs/eye-contact.png
    .venv/bin/python tools/effects_pictures.py eye-contact   # → docs/eye-contact.png only

Each picture is the real stage chain (face tracker, segmentation, the stage) on the project's
public-domain test photos (``tests/data/faces``): before on the left, after on the right.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))

from eye_rig import turn_eyes  # noqa: E402

from pipelines.effects.eye_contact import EyeContact  # noqa: E402
from pipelines.effects.key_light import KeyLight  # noqa: E402
from pipelines.frame import FrameContext  # noqa: E402
from pipelines.segmentation.background import BackgroundBlur  # noqa: E402
from pipelines.segmentation.stage import Segmentation, SegmentationSettings  # noqa: E402
from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings  # noqa: E402

PHOTOS = ROOT / "tests" / "data" / "faces"
SEPARATOR_PX = 4


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(PHOTOS / f"{name}.jpg"), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"camfx: cannot read {PHOTOS / name}.jpg; run from a full checkout")
    return image


def side_by_side(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    gap = np.full((before.shape[0], SEPARATOR_PX, 3), 255, np.uint8)
    return np.hstack([before, gap, after])


def analyse(image: np.ndarray, only_me: bool, max_faces: int = 2) -> FrameContext:
    tracker = FaceTracker(FaceTrackerSettings(max_faces=max_faces))
    tracker.open()
    seg = Segmentation(SegmentationSettings(only_me=only_me))
    seg.open()
    ctx = FrameContext(timestamp=0.0, index=0)
    tracker.process(image, ctx)
    seg.process(image, ctx)
    return ctx


def only_me() -> np.ndarray:
    image = photo("two_faces")
    out = []
    for on in (False, True):
        ctx = analyse(image, on)
        blur = BackgroundBlur()
        blur.open()
        blur.warm_up()
        out.append(blur.process(image, ctx))
    return side_by_side(*out)


def key_light() -> np.ndarray:
    image = photo("astronaut")
    face = analyse(image, True).primary_face
    assert face is not None
    lm = face.landmarks
    d = abs(float(lm[425, 0] - lm[205, 0]))
    xx = np.arange(image.shape[1], dtype=np.float32)
    ramp = np.exp(np.log(2.0) * np.minimum(0.0, (xx - float(lm[:, 0].max())) / d))
    lit = np.clip(image * ramp[None, :, None], 0, 255).astype(np.uint8)
    ctx = analyse(lit, True)
    stage = KeyLight()
    stage.open()
    return side_by_side(lit, stage.process(lit, ctx))


def eye_contact() -> np.ndarray:
    head = cv2.resize(photo("astronaut")[0:256, 90:346], None, fx=3, fy=3,
                      interpolation=cv2.INTER_CUBIC)  # fmt: skip
    face = analyse(head, False).primary_face
    assert face is not None
    lm = np.asarray(face.landmarks, np.float64)
    # The eyes turned 12° down with the tests' rig (iris under the lower lid, the upper lid
    # following), as when reading a screen below the camera.
    down = turn_eyes(head, lm, (0.0, 1.0), 12.0)
    ctx = analyse(down, False)
    stage = EyeContact()
    stage.open()
    out = stage.process(down, ctx)
    x0, x1 = int(lm[33, 0]) - 40, int(lm[263, 0]) + 40
    y0, y1 = int(lm[159, 1]) - 60, int(lm[145, 1]) + 50
    return side_by_side(down[y0:y1, x0:x1], out[y0:y1, x0:x1])


PICTURES = {"only-me": only_me, "key-light": key_light, "eye-contact": eye_contact}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder (docs/)")
    parser.add_argument("names", nargs="*", help=f"pictures: {', '.join(PICTURES)} (all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in PICTURES]
    if unknown:
        parser.error(f"no picture {unknown[0]!r}; have {', '.join(PICTURES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or PICTURES:
        path = args.out / f"{name}.png"
        cv2.imwrite(str(path), PICTURES[name](), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
