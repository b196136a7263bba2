"""Loaders for the MediaPipe 0.10.21 reference outputs in tests/golden/ and the test photos
in tests/data/faces/ (see tests/golden/README.md for what each file holds)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

TESTS_DIR = Path(__file__).resolve().parent
GOLDEN_DIR = TESTS_DIR / "golden"
FACES_DIR = TESTS_DIR / "data" / "faces"

# Every photo in tests/data/faces/, as <name>.jpg.
PHOTO_NAMES: tuple[str, ...] = (
    "astronaut",  # frontal, one person
    "cameraman",  # three-quarter profile (genuinely non-frontal), greyscale
    "astronaut_small",  # small face in a 640x480 frame
    "astronaut_rot30",  # rotated 30 degrees
    "two_faces",  # two different people side by side
    "no_face",  # coffee cup, no face at all
)

# Raw-network golden files, by model name (tests/golden/raw_<model>.npz).
RAW_MODELS: tuple[str, ...] = (
    "face_detection_short_range",
    "face_landmark",
    "face_landmark_with_attention",
    "iris_landmark",
    "selfie_segmentation",
    "selfie_segmentation_landscape",
)

# End-to-end golden files (tests/golden/solution_<name>.npz).
SOLUTIONS: tuple[str, ...] = ("face_detection", "face_mesh", "selfie_segmentation")


def load_golden(name: str) -> dict[str, np.ndarray]:
    """All arrays of tests/golden/<name>.npz, e.g. ``raw_face_landmark`` or
    ``solution_face_mesh`` (a trailing ``.npz`` is accepted)."""
    stem = name.removesuffix(".npz")
    path = GOLDEN_DIR / f"{stem}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no golden file {path}")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@cache
def _index() -> dict[str, Any]:
    with (GOLDEN_DIR / "index.json").open(encoding="utf-8") as fh:
        index: dict[str, Any] = json.load(fh)
    return index


def golden_index() -> dict[str, Any]:
    """tests/golden/index.json: versions, settings, cases, shapes, tolerances."""
    copy: dict[str, Any] = json.loads(json.dumps(_index()))  # the caller may change it
    return copy


def model_input(raw: dict[str, np.ndarray]) -> np.ndarray:
    """The exact float32 NHWC tensors that were fed to the TFLite model, from a
    ``load_golden("raw_<model>")`` result: (input_u8 - input_sub) / input_div in float32."""
    u8 = raw["input_u8"]
    sub = np.float32(raw["input_sub"])
    div = np.float32(raw["input_div"])
    out: np.ndarray = (u8.astype(np.float32) - sub) / div
    return out


def face_photo_path(name: str) -> Path:
    if name not in PHOTO_NAMES:
        raise KeyError(f"unknown photo {name!r}; have {', '.join(PHOTO_NAMES)}")
    return FACES_DIR / f"{name}.jpg"


def face_photo(name: str) -> np.ndarray:
    """The photo as BGR uint8 (H, W, 3), read with cv2.imread(IMREAD_COLOR) as the golden
    generator read it."""
    path = face_photo_path(name)
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read {path}")
    return np.ascontiguousarray(img)


def face_photo_matches_golden(name: str) -> bool:
    """Whether this OpenCV decodes the photo to the very pixels the golden outputs came
    from (JPEG decoders may differ between builds; the index stores a checksum)."""
    want: str = _index()["photos"][name]["decoded_bgr_sha256"]
    return hashlib.sha256(face_photo(name).tobytes()).hexdigest() == want
