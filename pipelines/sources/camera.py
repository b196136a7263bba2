"""Webcam source over a registry of camera backends.

``opencv`` is the real backend. ``recorded`` replays frames from a file or an array and can
simulate an unplug; tests and machines without a webcam use it to exercise the same code path
(size negotiation, reconnects) that a real camera takes.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import cv2
import numpy as np

from pipelines.errors import SourceError
from pipelines.frame import SOURCE_CARD, Frame
from pipelines.registry import Registry
from pipelines.sources.base import SOURCES, Source, SourceConfig
from pipelines.sources.cards import DISCONNECTED_CARD_TEXT, message_card
from pipelines.sources.files import fit_to, to_bgr

log = logging.getLogger(__name__)


class CameraGoneError(SourceError):
    """A camera unplugged for longer than :attr:`SourceConfig.reconnect_limit_s`."""


class CameraState(StrEnum):
    """Where a :class:`CameraSource` is. A ``StrEnum``: the window's old string checks hold."""

    CLOSED = "closed"
    OPEN = "open"
    """Delivering frames."""
    LOST = "lost"
    """Unplugged or stalled: no frames; it tries to reopen every ``reconnect_interval``."""


class CameraHandle(Protocol):
    def read(self) -> np.ndarray | None: ...
    def actual(self) -> tuple[int, int, float]: ...
    def release(self) -> None: ...


class CameraBackend(Protocol):
    def open(self, device: str, width: int, height: int, fps: float) -> CameraHandle: ...


CAMERA_BACKENDS: Registry[Callable[[], CameraBackend]] = Registry("camera backend")
"""Backend classes by name; ``CameraSource(..., backend=NAME)`` makes one with no argument."""


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
        return image if ok and image is not None else None

    def actual(self) -> tuple[int, int, float]:
        return (
            int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            float(self.cap.get(cv2.CAP_PROP_FPS)),
        )

    def release(self) -> None:
        self.cap.release()


def _capture_api() -> int:
    """The OpenCV capture API for webcams on this OS (CAP_ANY would also try FFmpeg and depth
    sensors, slowly and with pages of warnings, before failing)."""
    if sys.platform.startswith("linux"):
        return int(cv2.CAP_V4L2)
    if sys.platform == "win32":
        return int(cv2.CAP_MSMF)
    if sys.platform == "darwin":
        return int(cv2.CAP_AVFOUNDATION)
    return int(cv2.CAP_ANY)


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log while probing devices: its warnings are not for the user, the
    SourceError raised instead is."""
    try:
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except (AttributeError, cv2.error):  # pragma: no cover - very old OpenCV builds
        yield
        return
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


def _not_found(device: str) -> SourceError:
    cams = list_cameras()
    if not cams:
        return SourceError(
            f"camera {device or '0'!r}: no camera found; plug one in, or use --source demo "
            "(run `camfx devices` to check)"
        )
    listed = ", ".join(f"camera:{c.device} ({c.name})" for c in cams)
    return SourceError(
        f"camera {device or '0'!r} could not be opened; check that it is plugged in and not "
        f"used by another app. Cameras found: {listed}"
    )


@CAMERA_BACKENDS.register("opencv")
class OpenCVBackend:
    def open(self, device: str, width: int, height: int, fps: float) -> CameraHandle:
        index = _resolve_device(device)
        if (
            sys.platform.startswith("linux")
            and isinstance(index, int)
            and not os.path.exists(f"/dev/video{index}")
        ):
            raise _not_found(device)
        with quiet_opencv():
            cap = cv2.VideoCapture(index, _capture_api())
            if not cap.isOpened():
                cap.release()
                raise _not_found(device)
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
    raise _unknown_name(device, [c.name for c in list_cameras()])


def _unknown_name(device: str, names: list[str]) -> SourceError:
    found = f"cameras found: {', '.join(names)}" if names else "no camera is connected"
    return SourceError(
        f"no camera named {device!r} ({found}); run `camfx devices` to see the cameras "
        "and their numbers"
    )


class _RecordedHandle:
    def __init__(self, backend: RecordedBackend, width: int, height: int) -> None:
        self.backend = backend
        self.size = (width, height)
        self.released = False
        self._next_due: float | None = None

    def read(self) -> np.ndarray | None:
        b = self.backend
        if self.released or b.unplugged:
            return None
        # Like a real camera, read() blocks until the device's next frame is due.
        if b.fps > 0:
            now = time.monotonic()
            if self._next_due is None or now - self._next_due > 1.0 / b.fps:
                self._next_due = now
            if self._next_due > now:
                time.sleep(self._next_due - now)
            self._next_due += 1.0 / b.fps
        frame = b.frames[b.position % len(b.frames)]
        b.position += 1
        b.reads += 1
        fitted = fit_to(frame, *self.size)
        # A new array, as a real camera gives: stages may write into the frame they get.
        return fitted.copy() if fitted is frame else fitted

    def actual(self) -> tuple[int, int, float]:
        return self.size[0], self.size[1], self.backend.fps

    def release(self) -> None:
        self.released = True


@CAMERA_BACKENDS.register("recorded")
class RecordedBackend:
    """Replays recorded frames as if a camera delivered them, paced at ``fps`` (0: as fast as
    read). ``unplugged`` simulates a lost device: reads fail and opens raise until it is set
    back to False. ``native_size`` is the one mode the "device" has, whatever is asked."""

    def __init__(
        self,
        frames: list[np.ndarray] | None = None,
        *,
        path: str | None = None,
        fps: float = 30.0,
        native_size: tuple[int, int] | None = None,
        name: str = "Recorded Camera",
    ) -> None:
        if path is not None:
            frames = _read_all_frames(path)
        if not frames:
            frames = [np.full((480, 640, 3), 128, np.uint8)]
        self.frames = [to_bgr(f) for f in frames]
        self.fps = fps
        self.native_size = native_size
        self.name = name
        self.unplugged = False
        self.position = 0
        self.reads = 0
        self.opens = 0

    def open(self, device: str, width: int, height: int, fps: float) -> CameraHandle:
        if device not in ("", "0") and device.lower() not in self.name.lower():
            raise _unknown_name(device, [self.name])
        if self.unplugged:
            raise SourceError(f"camera {device or '0'!r} is not connected; plug it in")
        self.opens += 1
        # A real camera answers with the nearest mode it has, which may not be the one asked.
        w, h = self.native_size or (width, height)
        return _RecordedHandle(self, w, h)


def _read_all_frames(path: str, limit: int = 300) -> list[np.ndarray]:
    cap = cv2.VideoCapture(path)
    frames: list[np.ndarray] = []
    while len(frames) < limit:
        ok, image = cap.read()
        if not ok or image is None:
            break
        frames.append(to_bgr(image))
    cap.release()
    if not frames and os.path.isfile(path):
        still = cv2.imread(path)
        if still is not None:
            frames.append(still)
    return frames


@SOURCES.register("camera")
class CameraSource(Source):
    """A webcam. Frames always come at the requested size (filled, keeping the aspect
    ratio); ``device_size``/``device_fps`` say what the device really gave. After an unplug
    (``state`` :attr:`CameraState.LOST`: no frames, or the disconnected card where
    :attr:`SourceConfig.lost_card` asks) it tries to reopen every ``reconnect_interval``
    seconds, counts each loss in ``losses`` and each success in ``reconnects``, and fails its
    reads after :attr:`SourceConfig.reconnect_limit_s` where one is set."""

    reconnect_interval = 1.0
    failures_before_lost = 3
    live = True

    def __init__(
        self, arg: str, config: SourceConfig, backend: str | CameraBackend = "opencv", **kw: Any
    ) -> None:
        super().__init__(arg, config, **kw)
        chosen: Any = CAMERA_BACKENDS.get(backend) if isinstance(backend, str) else backend
        self.backend: CameraBackend = chosen() if isinstance(chosen, type) else chosen
        self.handle: CameraHandle | None = None
        self.state = CameraState.CLOSED
        self.reconnects = 0
        self.losses = 0
        self.opened_before = False
        """Whether the camera has opened once (a later open that fails is a loss)."""
        self.lost_since: float | None = None
        """When the camera was last found gone (monotonic); None while it delivers."""
        self.last_outage_s: float | None = None
        """How long the camera was gone before its last reconnect."""
        self._card: np.ndarray | None = None
        self._card_due = float("-inf")
        self.device_size: tuple[int, int] = (config.width, config.height)
        self.device_fps: float = config.fps
        self._failures = 0
        self._last_attempt = float("-inf")

    def open(self) -> None:
        if self.state is CameraState.OPEN:
            return
        try:
            self._connect()
        except Exception:
            if not self.opened_before:
                raise  # the first open: a wrong or missing camera is the user's to fix
            # Reopened after a close while nobody watched (the engine's idle) and unplugged
            # meanwhile: lost, as if unplugged while running. Raising here left it closed, and
            # its next read ended the run with "used while closed".
            log.info("camera %s is gone; reconnecting", self.arg or 0)
            self._lose(time.monotonic())
            self._last_attempt = time.monotonic()

    def _connect(self) -> None:
        c = self.config
        handle = self.backend.open(self.arg, c.width, c.height, c.fps)
        try:
            w, h, fps = handle.actual()
        except Exception:
            handle.release()
            raise
        self.handle = handle
        self.device_size = (w or c.width, h or c.height)
        self.device_fps = fps if fps and fps > 0 else c.fps
        self.actual_size = (c.width, c.height)
        self.actual_fps = self.device_fps
        if self.device_size != (c.width, c.height) or abs(self.device_fps - c.fps) > 0.5:
            log.warning(
                "camera %s gave %dx%d@%g, not the %dx%d@%g asked for; frames are scaled",
                self.arg or 0,
                *self.device_size,
                self.device_fps,
                c.width,
                c.height,
                c.fps,
            )
        self.state = CameraState.OPEN
        self.opened_before = True
        self._failures = 0
        self.lost_since = None

    @property
    def description(self) -> str:
        text = super().description
        if self.device_size != self.actual_size:
            text += f" (device gives {self.device_size[0]}x{self.device_size[1]})"
        return text

    @property
    def pace_fps(self) -> float:
        return 0.0  # a camera paces itself: read() blocks until the next frame

    def read(self) -> Frame | None:
        frame = super().read()
        if frame is None and self.state is CameraState.LOST and self.config.lost_card:
            return self._lost_card_frame()
        return frame

    def _lost_card_frame(self) -> Frame | None:
        """The disconnected card, at most ``fps`` times a second (the reads between come
        every 20 ms while the camera is gone), stamped as a capture would be."""
        now = time.monotonic()
        if now < self._card_due:
            return None
        self._card_due = now + 1.0 / max(self.config.fps, 1.0)
        size = (self.config.width, self.config.height)
        if self._card is None:
            self._card = message_card(DISCONNECTED_CARD_TEXT, size)
        ts = self._last_ts = max(now, self._last_ts + 1e-6)
        frame = Frame.new(self._card.copy(), ts, self._index)
        self._index += 1
        frame.ctx.put(SOURCE_CARD, True)
        return frame

    def grab(self) -> np.ndarray | None:
        if self.state is CameraState.CLOSED:
            raise SourceError(f"camera {self.arg or '0'!r} used while closed")
        if self.state is CameraState.OPEN and self.handle is not None:
            image = self.handle.read()
            if image is not None:
                self._failures = 0
                return fit_to(to_bgr(image), self.config.width, self.config.height)
            self._failures += 1
            if self._failures >= self.failures_before_lost:
                # Info, not a warning: the front ends say it in their own words (the window's
                # bar, the command line's one line), each watching ``state``/``losses``.
                log.info("camera %s stopped delivering frames; reconnecting", self.arg or 0)
                self._release()
                self._lose(time.monotonic())
            else:
                time.sleep(0.005)
            return None
        now = time.monotonic()
        limit = self.config.reconnect_limit_s
        lost_since = self.lost_since
        over = limit is not None and lost_since is not None and now - lost_since > limit
        if over or now - self._last_attempt >= self.reconnect_interval:
            # Past the limit, one last attempt first: a camera back at that moment is kept.
            self._last_attempt = now
            try:
                self._connect()
            except Exception as exc:  # still gone; try again later
                log.debug("camera %s not back yet: %s", self.arg or 0, exc)
                if over:
                    raise CameraGoneError(
                        f"camera {self.arg or '0'!r} was disconnected and did not come back "
                        f"within {limit:g} s; plug it in (`camfx devices` lists the cameras) "
                        "and start again"
                    ) from None
            else:
                if lost_since is not None:
                    self.last_outage_s = now - lost_since
                self.reconnects += 1
                log.info("camera %s is back", self.arg or 0)
                return None
        # Don't spin while the device is gone.
        time.sleep(min(0.02, self.reconnect_interval))
        return None

    def _lose(self, now: float) -> None:
        self.state = CameraState.LOST
        self.losses += 1
        self.lost_since = now

    def _release(self) -> None:
        if self.handle is not None:
            handle, self.handle = self.handle, None
            try:
                handle.release()
            except Exception as exc:  # a vanished device may fail to release; it is gone anyway
                log.debug("releasing camera %s: %s", self.arg or 0, exc)

    def close(self) -> None:
        self._release()
        self.state = CameraState.CLOSED
