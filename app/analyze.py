"""``camfx analyze IMAGE [--json] [--mask PATH]``: faces, landmarks and head pose of a photo.

Only argparse at import time (``camfx --help`` stays instant); the models load in ``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli import add_overwrite_argument, given

EXIT_ERROR = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="print faces, 478 landmarks and head pose of an image",
        description="Find every face in IMAGE and print its box, score, 478 landmarks in "
        "pixels (x, y, z), yaw/pitch/roll in degrees and the 4x4 canonical-face-to-camera "
        "transform (cm).",
    )
    parser.add_argument("image", type=given, help="a photo (PNG, JPEG, ...)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--mask",
        type=given,
        metavar="PATH",
        default=None,
        help="also write the person mask as a picture (its suffix picks the format; .png keeps "
        "it exact)",
    )
    add_overwrite_argument(parser)
    parser.add_argument(
        "--max-faces", type=int, default=8, help="report at most this many faces (8)"
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=2,
        help="mesh passes per face: 1 gives MediaPipe's still-image result, 2 (default) "
        "refines the face's rotation from the first landmarks",
    )
    parser.add_argument(
        "--fov",
        type=float,
        default=None,
        help="the camera's vertical field of view in degrees for the pose (63)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.errors import CamfxError

    try:
        return _run(args)
    except CamfxError as exc:
        print(f"camfx analyze: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from pipelines.errors import CamfxError
    from pipelines.tracking.analysis import analyze_image, face_to_dict, read_image
    from pipelines.tracking.geometry import DEFAULT_VERTICAL_FOV

    fov = DEFAULT_VERTICAL_FOV if args.fov is None else args.fov
    if not 10.0 <= fov <= 150.0:
        raise CamfxError(f"--fov {fov} is out of range; give 10 to 150 degrees")
    if args.max_faces < 1:
        raise CamfxError(f"--max-faces {args.max_faces} must be at least 1")
    if not 1 <= args.passes <= 5:
        raise CamfxError(f"--passes {args.passes} must be 1 to 5")
    if args.mask:
        from pipelines.outputs.existing import refuse_existing, same_file

        if same_file(args.image, args.mask):
            # With -y, the photo was replaced by its own mask (qa64).
            name = Path(args.mask)
            raise CamfxError(
                f"--mask {args.mask!r} is the picture analysed itself: writing the mask there "
                f"would overwrite it; give another name, e.g. "
                f"--mask {str(name.with_name(f'{name.stem}_mask.png'))!r}"
            )
        if not args.overwrite:
            refuse_existing(args.mask, "--mask")  # before the models load
    image = read_image(args.image)
    h, w = image.shape[:2]
    if args.mask:
        _write_mask(image, args.mask)
    faces = analyze_image(image, max_faces=args.max_faces, vertical_fov=fov, passes=args.passes)
    data = {
        "image": str(args.image),
        "width": w,
        "height": h,
        "vertical_fov": fov,
        "faces": [face_to_dict(f) for f in faces],
    }
    if args.mask:
        data["mask"] = str(args.mask)
    if args.json:
        print(json.dumps(data))
    else:
        print(format_text(data))
    return 0


def _write_mask(image: Any, path: str) -> None:
    import numpy as np

    from pipelines.errors import CamfxError
    from pipelines.outputs.picture import write_picture

    try:
        from pipelines.segmentation import person_mask
    except ImportError as exc:
        raise CamfxError(
            f"--mask needs the segmentation module, which this install lacks ({exc}); "
            "reinstall camfx or leave out --mask"
        ) from exc
    mask = np.asarray(person_mask(image), np.float32)
    out = np.round(np.clip(mask, 0.0, 1.0) * 255.0).astype(np.uint8)
    write_picture(path, out)  # whole or not at all: -y never leaves a cut mask


def format_text(data: dict[str, Any]) -> str:
    faces = data["faces"]
    lines = [
        f"{data['image']}: {data['width']}x{data['height']}, "
        f"{len(faces)} face{'s' if len(faces) != 1 else ''}"
        + (f"; person mask written to {data['mask']}" if "mask" in data else "")
    ]
    for face in faces:
        x, y, bw, bh = face["bbox"]
        lines.append(
            f"face {face['id']}: score {face['score']:.3f}, "
            f"box x {x:.1f} y {y:.1f} w {bw:.1f} h {bh:.1f}"
        )
        pose = face.get("pose")
        if pose:
            lines.append(
                f"  pose: yaw {pose['yaw']:+.1f}°, pitch {pose['pitch']:+.1f}°, "
                f"roll {pose['roll']:+.1f}°"
            )
            lines.append("  transform (canonical face cm -> camera):")
            lines += ["    " + " ".join(f"{v:11.5f}" for v in row) for row in pose["transform"]]
        sig = face.get("signals", {})
        if sig:
            gaze = sig.get("gaze", [0.0, 0.0])
            lines.append(
                f"  signals: mouth open {sig.get('mouth_open', 0):.2f}, eyes open "
                f"{sig.get('eye_open_left', 0):.2f} (left) {sig.get('eye_open_right', 0):.2f} "
                f"(right), gaze ({gaze[0]:+.2f}, {gaze[1]:+.2f}), "
                f"facing {sig.get('facing_angle', 0):.1f}° off camera"
            )
        lines.append("  landmarks (index: x y z, pixels):")
        lines += [
            f"    {i:3d}: {p[0]:9.2f} {p[1]:9.2f} {p[2]:9.2f}"
            for i, p in enumerate(face["landmarks"])
        ]
    return "\n".join(lines)
