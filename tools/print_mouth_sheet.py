"""The mouth of printed and halftone tuning proxies, enlarged (issue 13, printmouth).

Each case is built as tests/avatar_builds builds it (tuning portraits only; the held-out ones
are refused) and its mouth rendered at rest, half open, open with a smile, wide open, and wide
open smiling and turned; each render is cut to the mouth and chin and enlarged (nearest, so a
portrait pixel stays a block). One row a case.

    PYTHONPATH=$PWD:$PWD/tests:$PWD/tools .venv/bin/python tools/print_mouth_sheet.py \
        OUT.png [--scale 3] [CASE ...]

A case is ``name:roll:sigma:seed`` (tests/avatar_builds.built_printed: the ``print`` variant
rolled, its landmarks jittered) or ``name:variant:sigma:seed`` (built_search_variant: any of
tools/weak_jaw_search.py's VARIANTS). Without cases it draws :data:`CASES`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tools")]
from avatar_builds import built_printed, built_search_variant  # noqa: E402
from avatar_real_tuning import HELD_OUT  # noqa: E402

from pipelines.avatar.judge import HELD_OUT_PORTRAITS  # noqa: E402
from pipelines.avatar.stage import Avatar  # noqa: E402
from pipelines.tracking import regions  # noqa: E402

PROXY = "brothers_sepia:0:0.6:3"
"""Issue 13's printed proxy (/work/notes/printmouth/start_sheet.png)."""
CASES = (
    PROXY,
    "brothers_sepia:print:0.8:3",
    "astronaut_grey_small:halftone3:0:0",
    "astronaut_grey_moustache:print_face90:0.8:3",
    "einstein_midword:print:0.6:3",
    "canonman_glasses:print_flat:0.6:3",
)
POSES: tuple[dict[str, float], ...] = (
    {},
    {"jaw": 0.4},
    {"jaw": 0.7, "smile": 0.3},
    {"jaw": 1.0},
    {"jaw": 1.0, "smile": 0.66, "yaw_left": 0.5},
)


def build(case: str) -> Avatar:
    """A case's avatar (see the module's docstring)."""
    name, kind, sigma, seed = case.split(":")
    if name in set(HELD_OUT) | set(HELD_OUT_PORTRAITS):
        raise SystemExit(f"print_mouth_sheet: {name} is held out, never built here")
    try:
        roll = float(kind)
    except ValueError:
        return built_search_variant(name, kind, float(sigma), int(seed))
    return built_printed(name, roll, float(sigma), int(seed))


def mouth_box(avatar: Avatar) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the lips with half their width either side, from the nose's foot to
    below the chin."""
    lm = avatar.rig.points[: regions.NUM_LANDMARKS, :2]
    lips = lm[list(regions.LIPS_OUTER)]
    w = float(np.ptp(lips[:, 0]))
    cx = float(lips[:, 0].mean())
    y0 = float(lm[2, 1])
    y1 = float(lm[regions.CHIN, 1]) + 0.15 * w
    h, wd = avatar.portrait.image.shape[:2]
    return (
        max(0, int(cx - w)),
        max(0, int(y0)),
        min(wd, int(cx + w)),
        min(h, int(y1)),
    )


def row(avatar: Avatar, case: str, scale: int) -> np.ndarray:
    x0, y0, x1, y1 = mouth_box(avatar)
    cells = []
    for pose in POSES:
        frame = avatar.renderer.render(pose)[y0:y1, x0:x1]
        cell = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        label = f"{case} {pose}" if not cells else str(pose)
        cv2.putText(cell, label, (4, 14), cv2.FONT_HERSHEY_PLAIN, 1.0, (0, 255, 255), 1)
        cells.append(cell)
    return np.hstack(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--scale", type=int, default=3)
    args = parser.parse_args()
    rows = [row(build(case), case, args.scale) for case in args.cases]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows]
    if not cv2.imwrite(str(args.out), np.vstack(rows)):
        print(f"print_mouth_sheet: cannot write {args.out}", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
