"""Webcam source over a registry of camera backends.

``opencv`` is the real backend. ``recorded`` replays frames from a file or an array and can
simulate an unplug; tests and machines without a webcam use it to exercise the same code path
(size negotiation, reconnects) that a real camera takes.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from pipelines.errors import SourceError
from pipelines.registry import Registry
from pipelines.sources.base import SOURCES, Source, SourceConfig
from pipelines.sources.files import fit_to, to_bgr

log = logging.getLogger(__name__)


class CameraHandle(Protocol):
    def read(self) -> np.ndarray | None: ...
    def actual(self) -> tuple[int, int, float]: ...
    def release(self) -> None: ...


class CameraBackend(Protocol):
    def open(self, device: str, width: int, height: int, fps: float) -> CameraHandle: ...


CAMERA_BACKENDS: Registry[CameraBackend] = Registry("camera backend")


@dataclass
class CameraInfo:
    device: str
    name: str
    path: str | None = None


def list_cameras() -> list[CameraInfo]:
    """Cameras the OS exposes, without opening them (opening can take seconds on some)."""
    cameras: list[CameraInfo] = []
    for path in sorted(glob.glob("/dev/video*")):
        num = path.removeprefix("/dev/video")
        if not num.isdigit():
            continue
        name_file = f"/sys/class/video4linux/video{num}/name"
        try:
            with open(name_file) as fh:
                name = fh.read().strip()
        except OSError:
            name = f"video{num}"
        cameras.append(CameraInfo(device=num, name=name, path=path))
    return cameras


class _OpenCVHandle:
    def __init__(self, cap: cv2.VideoCapture) -> None:
        self.cap = cap

    def read(self) -> np.ndarray | None:
        ok, image = self.cap.read()
        return image if ok else None

    def actual(self) -> tuple[int, int, float]:
        return (
            int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            float(self.cap.get(cv2.CAP_PROP_FPS)),
        )

    def release(self) -> None:
        self.cap.release()


@CAMERA_BACKENDS.register("opencv")
class OpenCVBackend:
    def open(self, device: str, width: int, height: int, fps: float) -> CameraHandle:
        index = _resolve_device(device)
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"camera {device or 0!r} could not be opened; check that it is plugged in and "
                "not used by another app (run `camfx devices` to list cameras)"
            )
        # MJPG lets USB cameras deliver 720p/1080p at full rate over USB 2.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of stale ones
        return _OpenCVHandle(cap)


def _resolve_device(device: str) -> int | str:
    if device == "":
        return 0
    if device.isdigit():
        return int(device)
    if device.startswith("/dev/"):
        return device
    for cam in list_cameras():
        if device.lower() in cam.name.lower():
            return cam.path or int(cam.device)
    raise SourceError(
        f"no camera named {device!r}; run `camfx devices` to see the cameras and their numbers"
    )


class _RecordedHandle:
    def __init__(self, backend: RecordedBackend, width: int, height: int) -> None:
        self.backend = backend
        self.size = (width, height)
        self.released = False

    def read(self) -> np.ndarray | None:
        b = self.backend
        if self.released or b.unplugged:
            return None
        frame = b.frames[b.position % len(b.frames)]
        b.position += 1
        b.reads += 1
        return fit_to(frame, *self.size)

    def actual(self) -> tuple[int, int, float]:
        return self.size[0], self.size[1], self.backend.fps

    def release(self) -> None:
        self.released = True


class RecordedBackend:
    """Replays recorded frames as if a camera delivered them. ``unplugged`` simulates a lost
    device: reads fail and opens raise until it is set back to False."""

    def __init__(
        self,
        frames: list[np.ndarray] | None = None,
        *,
        path: str | None = None,
        fps: float = 30.0,
        native_size: tuple[int, int] | None = None,
    ) -> None:
        if path is not None:
            frames = _read_all_frames(path)
        if not frames:
            frames = [np.full((480, 640, 3), 128, np.uint8)]
        self.frames = frames
        self.fps = fps
        self.native_size = native_size
        self.unplugged = False
        self.position = 0
        self.reads = 0
        self.opens = 0

    def open(self, device: str, width: int, height: int, fps: float) -> CameraHandle:
        if self.unplugged:
            raise SourceError(f"camera {device or 0!r} is not connected")
        self.opens += 1
        # A real camera answers with the nearest mode it has, which may not be the one asked.
        w, h = self.native_size or (width, height)
        return _RecordedHandle(self, w, h)


def _read_all_frames(path: str, limit: int = 300) -> list[np.ndarray]:
    cap = cv2.VideoCapture(path)
    frames: list[np.ndarray] = []
    while len(frames) < limit:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(to_bgr(image))
    cap.release()
    if not frames and os.path.isfile(path):
        image = cv2.imread(path)
        if image is not None:
            frames.append(image)
    return frames


@SOURCES.register("camera")
class CameraSource(Source):
    """A webcam. Reports the size/fps the device really gave; reopens after an unplug."""

    reconnect_interval = 1.0
    live = True

    def __init__(
        self, arg: str, config: SourceConfig, backend: str | CameraBackend = "opencv", **kw: Any
    ) -> None:
        super().__init__(arg, config, **kw)
        self.backend: CameraBackend = (
            CAMERA_BACKENDS.get(backend) if isinstance(backend, str) else backend
        )
        if isinstance(self.backend, type):
            self.backend = self.backend()
        self.handle: CameraHandle | None = None
        self.state = "closed"
        self.reconnects = 0
        self._failures = 0
        self._last_attempt = 0.0

    def open(self) -> None:
        self._connect()

    def _connect(self) -> None:
        c = self.config
        self.handle = self.backend.open(self.arg, c.width, c.height, c.fps)
        w, h, fps = self.handle.actual()
        self.actual_size = (w or c.width, h or c.height)
        self.actual_fps = fps if fps and fps > 0 else c.fps
        if self.actual_size != (c.width, c.height):
            log.info(
                "camera %s gave %dx%d, not the %dx%d asked for; frames are scaled",
                self.arg or 0,
                *self.actual_size,
                c.width,
                c.height,
            )
        self.state = "open"
        self._failures = 0

    @property
    def pace_fps(self) -> float:
        return 0.0  # a camera paces itself: read() blocks until the next frame

    def grab(self) -> np.ndarray | None:
        if self.state == "open" and self.handle is not None:
            image = self.handle.read()
            if image is not None:
                return fit_to(to_bgr(image), self.config.width, self.config.height)
            self._failures += 1
            if self._failures >= 3:
                log.warning("camera %s stopped delivering frames; reconnecting", self.arg or 0)
                self.handle.release()
                self.handle = None
                self.state = "lost"
            return None
        now = time.monotonic()
        if now - self._last_attempt >= self.reconnect_interval:
            self._last_attempt = now
            try:
                self._connect()
                self.reconnects += 1
                log.info("camera %s is back", self.arg or 0)
            except SourceError:
                self.state = "lost"
        # Don't spin while the device is gone.
        time.sleep(0.005)
        return None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.release()
            self.handle = None
        self.state = "closed"
