"""The built-in demo: a public-domain portrait, gently panned, zoomed and turned.

It lets the app, the benchmarks and the tests run with no camera. Motion is a function of the
frame index (not wall time), so a given frame number always shows the same picture.

Rendering is one bilinear ``warpAffine`` of the 512×512 portrait per frame, from a 4-channel
copy of it: OpenCV warps 4 channels much faster than 3, so warping BGRA and dropping the alpha
costs 2.3 instead of 5.3 ms of CPU at 1280×720 (measured, one thread) and gives the same
pixels. A frame whose transform equals the previous one's (``demo:0``, a still picture) skips
the warp.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import cv2
import numpy as np

from pipelines.errors import SourceError
from pipelines.sources.base import SOURCES, Source, SourceConfig

# Where the face sits in the 512×512 astronaut portrait (NASA, public domain); motion pivots here.
FACE_CENTER = (222.0, 148.0)


def load_asset_image(name: str) -> np.ndarray:
    """Read an image shipped in ``pipelines/assets`` as BGR uint8."""
    try:
        data = resources.files("pipelines.assets").joinpath(name).read_bytes()
    except OSError as exc:
        raise SourceError(
            f"demo asset {name!r} is missing ({exc.strerror or exc}); reinstall camfx"
        ) from exc
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"demo asset {name!r} is unreadable; reinstall camfx")
    return image


@SOURCES.register("demo")
class DemoSource(Source):
    skips_for_nothing = True

    def __init__(self, arg: str, config: SourceConfig, **kwargs: Any) -> None:
        super().__init__(arg, config, **kwargs)
        self.portrait: np.ndarray | None = None
        self._portrait_bgra: np.ndarray | None = None
        self._warped: np.ndarray | None = None
        """The last BGRA warp; each frame is a fresh BGR conversion of it."""
        self._warped_key: bytes | None = None
        """The transform (the matrix's bytes) that ``_warped`` was rendered with."""
        try:
            self.motion = float(arg) if arg else 1.0
            """Scale of the motion; ``demo:0`` is a still picture."""
        except ValueError:
            self.motion = float("nan")
        if not 0.0 <= self.motion <= 10.0:
            raise SourceError(
                f"source 'demo:{arg}': the motion scale must be a number from 0 to 10, "
                "e.g. demo:0 for a still picture or demo:1 (the default)"
            )

    def open(self) -> None:
        self.portrait = load_asset_image("astronaut.png")
        self._portrait_bgra = cv2.cvtColor(self.portrait, cv2.COLOR_BGR2BGRA)
        self._warped = None
        self._warped_key = None
        self.actual_size = (self.config.width, self.config.height)

    def transform(self, index: int) -> np.ndarray:
        """2×3 affine from portrait to frame for frame ``index``."""
        assert self.portrait is not None
        w, h = self.config.width, self.config.height
        ph, pw = self.portrait.shape[:2]
        t = index / max(self.config.fps, 1.0)
        m = self.motion
        # Slow, incommensurate sines: pan, zoom and a small head roll that never quite repeat.
        zoom = 1.0 + 0.08 * m * math.sin(2 * math.pi * t / 7.0)
        roll = 4.0 * m * math.sin(2 * math.pi * t / 5.3)
        pan_x = 0.06 * m * w * math.sin(2 * math.pi * t / 9.1)
        pan_y = 0.03 * m * h * math.sin(2 * math.pi * t / 6.7)
        # Cover the whole frame with the portrait (8 % spare for the roll and the pan): filling
        # the sides by reflection would show mirrored copies of the person, a second "face".
        scale = zoom * 1.08 * max(w / pw, h / ph)
        fx, fy = FACE_CENTER
        # Put the face a little above the frame centre, as a webcam framing would, but never so
        # far that an edge of the portrait comes into view.
        tx = min(max(w / 2 + pan_x, w - (pw - fx) * scale), fx * scale)
        ty = min(max(h * 0.42 + pan_y, h - (ph - fy) * scale), fy * scale)
        rot = cv2.getRotationMatrix2D(FACE_CENTER, roll, scale)
        rot[0, 2] += tx - fx
        rot[1, 2] += ty - fy
        return rot

    def grab(self) -> np.ndarray | None:
        if self.portrait is None or self._portrait_bgra is None:
            raise SourceError("demo source used before open()")
        matrix = self.transform(self._index)
        key = matrix.tobytes()
        size = (self.config.width, self.config.height)
        if self._warped is None or self._warped.shape[:2] != (size[1], size[0]):
            self._warped = np.empty((size[1], size[0], 4), np.uint8)
            self._warped_key = None
        if key != self._warped_key:  # a still picture (demo:0) is warped once
            cv2.warpAffine(
                self._portrait_bgra,
                matrix,
                size,
                dst=self._warped,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )
            self._warped_key = key
        # A new array every frame, as from a camera: consumers may keep or change it.
        frame: np.ndarray = cv2.cvtColor(self._warped, cv2.COLOR_BGRA2BGR)
        return frame
