"""The Qt-free pieces between the window and the engine.

The window keeps *one* engine running for as long as the output size stays the same, and
changes everything else live, without stopping it:

* :class:`ControlledSource` is the engine's source. It wraps the real one (camera, file, demo),
  which the window swaps on its worker thread; it sends a still "paused" card while paused, a
  "no signal" card while there is no source and a "camera disconnected" card while its camera
  is unplugged, so the virtual camera never freezes on a stale frame; and, when asked, it
  attaches a copy of the input to each frame for the compare view. A video file's frames keep
  their place in the file, timed as the window times them (by capture), so a recording holds
  the video's own sound in step (:class:`~app.state.recording.LivePlaces`).
* :class:`SwitchableOutput` is an engine output whose target (the virtual camera, a recording)
  the window opens and closes while frames flow. A target that fails is detached and reported;
  the engine's output thread carries on.
* :class:`PreviewSink` receives processed frames on the engine's preview thread, scales them to
  the widget's size there, leaves only the newest in a one-slot buffer and wakes the GUI thread
  (:attr:`PreviewSink.on_frame`) when that buffer was empty. The GUI thread never waits for the
  engine, nor the engine for the GUI.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from app.state.recording import LivePlaces
from pipelines.audio.mux import LIVE_MEDIA_PLACE
from pipelines.buffers import Closed, LatestSlot
from pipelines.frame import HELD, NEW_SCENE, SOURCE_CARD, CtxKey, Frame
from pipelines.outputs.base import Output
from pipelines.sources.base import MEDIA_PLACE, Source, SourceConfig
from pipelines.sources.camera import CameraState
from pipelines.sources.cards import message_card
from pipelines.sources.cards import put_centered as _put_centered
from pipelines.sources.files import fit_to

log = logging.getLogger(__name__)

INPUT_KEY: CtxKey[np.ndarray] = CtxKey("camfx.gui.input")
"""``ctx.extras`` key of the unprocessed copy of a frame (compare view only)."""

CAMERA_LOST = CameraState.LOST
"""A camera source's ``state`` while it is unplugged or stalled and reconnecting."""


# ------------------------------------------------------------------------------ cards
def paused_card(last: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    """The still frame sent while paused: the last picture, blurred and dimmed, with a pause
    sign and "Video paused" (blurred, so a paused call never shows a sharp frozen face)."""
    w, h = size
    card: np.ndarray
    if last is None:
        card = np.full((h, w, 3), 48, np.uint8)
    else:
        small = cv2.resize(
            fit_to(last, w, h), (max(1, w // 16), max(1, h // 16)), interpolation=cv2.INTER_AREA
        )
        card = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        card = cv2.GaussianBlur(card, (0, 0), max(1.0, w / 200))
        card = (card.astype(np.float32) * 0.45).astype(np.uint8)
    unit = max(2, min(w, h) // 24)
    cx, cy = w // 2, int(h * 0.42)
    for dx in (-2 * unit, unit):
        cv2.rectangle(
            card,
            (cx + dx, cy - 3 * unit),
            (cx + dx + unit, cy + 3 * unit),
            (255, 255, 255),
            -1,
            cv2.LINE_AA,
        )
    _put_centered(card, "Video paused", int(h * 0.42) + 6 * unit, min(w, h) / 500, max(1, h // 240))
    return card


# ------------------------------------------------------------------------------ source
class ControlledSource(Source):
    """The engine's source: a swappable real source, pause, and the compare tap."""

    live = True

    def __init__(
        self,
        size: tuple[int, int],
        fps: float,
        on_error: Callable[[Source, BaseException], None] | None = None,
    ) -> None:
        super().__init__("", SourceConfig(width=size[0], height=size[1], fps=fps))
        self.on_error = on_error
        self._lock = threading.Lock()
        self._inner: Source | None = None
        self._paused_image: np.ndarray | None = None
        self._card: np.ndarray = message_card("Starting...", size)
        self.tap_input = False
        self.frames_from_inner = 0
        self._places = LivePlaces()
        """Capture thread only (:meth:`_read`)."""
        self._scene_of: Source | None = None
        """The source whose picture the last frame sent was (capture thread only): a frame of
        another is marked :data:`~pipelines.frame.NEW_SCENE`."""

    # ------------------------------------------------ control (any thread)
    @property
    def inner(self) -> Source | None:
        return self._inner

    def set_inner(self, source: Source | None) -> Source | None:
        """Use ``source`` from the next frame on; returns the previous one (not closed).
        Waits at most one frame read of the old source."""
        with self._lock:
            old, self._inner = self._inner, source
        return old

    @property
    def still_image(self) -> np.ndarray:
        """What goes out when no picture of the source does: the paused card while paused,
        else the card ("Starting...", "No signal")."""
        paused = self._paused_image
        return paused if paused is not None else self._card

    def set_card_text(self, text: str) -> None:
        self._card = message_card(text, self.actual_size)

    def pause(self, last_image: np.ndarray | None) -> None:
        self._paused_image = paused_card(last_image, self.actual_size)

    def resume(self) -> None:
        self._paused_image = None

    @property
    def paused(self) -> bool:
        return self._paused_image is not None

    # ------------------------------------------------ the engine's capture thread
    def read(self) -> Frame | None:
        """Never raises: a failing source is dropped (and reported), and the engine goes on
        with a card, so the virtual camera and the preview keep running."""
        try:
            return self._read()
        except Exception as exc:  # pragma: no cover - defensive: keep the engine alive
            log.exception("the preview source failed")
            if self.on_error is not None:
                self.on_error(self, exc)
            time.sleep(0.05)
            return None

    def _read(self) -> Frame | None:
        # Read once, first: a frame gets the input tap that was on when its picture was chosen.
        # Read after _still's pacing sleep, a "Starting..." card chosen before the compare
        # click (and before the camera opened) came out as a compare frame with the card as
        # its input (test_compare_shows_input_left_and_output_right, now and then).
        tap = self.tap_input
        paused = self._paused_image
        if paused is not None:
            self._places.forget()
            return self._still(paused, tap)
        ended: Source | None = None
        frame: Frame | None = None
        with self._lock:
            inner = self._inner
            if inner is not None:
                try:
                    frame = inner.read()
                except EOFError:
                    ended, inner, self._inner = inner, None, None
                    self._card = message_card("End of video", self.actual_size)
                except Exception as exc:  # a source failure must not end the engine
                    log.error("source %s failed: %s", inner.description, exc)
                    ended, inner, self._inner = inner, None, None
                    self._card = message_card("Source failed", self.actual_size)
                    if self.on_error is not None:
                        self.on_error(ended, exc)
        if ended is not None:
            try:
                ended.close()
            except Exception as exc:
                log.warning("closing %s failed: %s", ended.description, exc)
        if inner is None:
            return self._still(self._card, tap)
        if frame is None:
            return None
        image = frame.image
        w, h = self.actual_size
        if image.shape[1] != w or image.shape[0] != h:
            image = fit_to(image, w, h)
        out = Frame.new(image, frame.timestamp, self._index)
        self._index += 1
        if inner is not self._scene_of:
            self._scene_of = inner
            out.ctx.put(NEW_SCENE, True)
        if frame.ctx.get(SOURCE_CARD):
            # The camera's "disconnected" card (its config asks for one): not a picture of
            # the room, so the engine sends it unprocessed and it is no frame from the camera.
            out.ctx.put(SOURCE_CARD, True)
        else:
            self.frames_from_inner += 1
        # The new frame's index and time are the window's: its place in a video file is put
        # on the capture clock, by the file's own index, rate and stamps, for the recording's
        # sound.
        media = frame.ctx.get(MEDIA_PLACE)
        place = self._places.place(
            inner,
            media,
            frame.ctx.index,
            inner.actual_fps,
            frame.timestamp,
            inner.media_time_s() if media is not None else None,
        )
        if place is not None:
            out.ctx.put(LIVE_MEDIA_PLACE, place)
        if tap:
            out.ctx.put(INPUT_KEY, image.copy())
        return out

    def _still(self, image: np.ndarray, tap: bool) -> Frame:
        self._pace()
        frame = Frame.new(image.copy(), time.monotonic(), self._index)
        self._index += 1
        if tap:
            frame.ctx.put(INPUT_KEY, frame.image.copy())
        return frame

    def close(self) -> None:
        old = self.set_inner(None)
        if old is not None:
            old.close()

    @property
    def description(self) -> str:
        inner = self._inner
        return inner.description if inner is not None else "no source"


# ------------------------------------------------------------------------------ outputs
class SwitchableOutput(Output):
    """An engine output whose target is attached and detached while the engine runs.

    The engine opens and closes *this* object; the target's life belongs to whoever attached
    it (the window keeps the virtual camera open while the source or the preset changes)."""

    def __init__(
        self,
        name: str,
        on_error: Callable[[SwitchableOutput, Output, BaseException], None] | None = None,
    ) -> None:
        super().__init__(name)
        self.name = name
        self.on_error = on_error
        self._lock = threading.Lock()
        self._target: Output | None = None
        self.size: tuple[int, int] | None = None
        self.fps = 30.0
        self.target_format: tuple[int, int, float] | None = None
        """(width, height, fps) the current target was opened with."""

    def open(self, width: int, height: int, fps: float) -> None:
        self.size = (width, height)
        self.fps = fps
        self.is_open = True

    @property
    def target(self) -> Output | None:
        return self._target

    def attach(
        self, output: Output, size: tuple[int, int] | None = None, fps: float | None = None
    ) -> None:
        """Open ``output`` (on the calling thread; errors propagate) and send frames to it.
        A previous target is closed."""
        w, h = size or self.size or (1280, 720)
        output.open(w, h, fps or self.fps)
        with self._lock:
            old, self._target = self._target, output
            self.target_format = (w, h, fps or self.fps)
        if old is not None:
            _close_quietly(old)

    def detach(self) -> Output | None:
        """Stop sending frames; returns the target, which the caller closes."""
        with self._lock:
            old, self._target = self._target, None
        return old

    def write(self, frame: Frame) -> None:
        failed: tuple[Output, BaseException] | None = None
        with self._lock:
            target = self._target
            if target is None:
                return
            try:
                target.write(frame)
                self.frames_written += 1
            except Exception as exc:
                self._target = None
                failed = (target, exc)
        if failed is not None:
            log.error("%s failed and is stopped: %s", failed[0].description, failed[1])
            _close_quietly(failed[0])
            if self.on_error is not None:
                self.on_error(self, *failed)

    def close(self) -> None:
        self.is_open = False

    def has_consumers(self) -> bool | None:
        """Switched off: nobody. Otherwise whatever the target says (a virtual camera knows
        whether an app has it open; a recording cannot tell, which counts as watched)."""
        target = self._target
        return False if target is None else target.has_consumers()

    @property
    def description(self) -> str:
        target = self._target
        return target.description if target is not None else f"{self.name} (off)"


def _close_quietly(output: Output) -> None:
    try:
        output.close()
    except Exception as exc:
        log.warning("closing %s failed: %s", output.description, exc)


@dataclass
class PreviewImage:
    """What the preview paints: display-sized BGR images and where they came from."""

    output: np.ndarray
    input: np.ndarray | None
    timestamp: float
    index: int
    source_size: tuple[int, int]


class PreviewSink(Output):
    """The preview output. Runs on the engine's preview thread: scales to the display size
    (set by the widget, in device pixels), leaves the newest image in :attr:`slot` and calls
    :attr:`on_frame` when the slot was empty."""

    def __init__(self) -> None:
        super().__init__("preview")
        self.slot: LatestSlot[PreviewImage] = LatestSlot("preview")
        self.display_size: tuple[int, int] | None = None
        self.last_frame_time = 0.0
        self.visible = True
        """Set by the preview widget: False while the window is hidden (in the tray)."""
        self.on_frame: Callable[[], None] | None = None
        """The consumer's wake-up, called on the engine's thread when an image lands in an
        empty slot; it must not block (the widget posts an event to the GUI thread). An image
        that replaces an untaken one calls nothing: the wake-up for the slot is still pending,
        and it takes the newest. So one wake-up per image shown, never a backlog of them, and
        no polling: the 15 ms timer that read the slot before added 7.5 ms on average between
        the engine and the screen."""

    def has_consumers(self) -> bool | None:
        return self.visible

    def write(self, frame: Frame) -> None:
        image = frame.image
        src_size = (int(image.shape[1]), int(image.shape[0]))
        raw = frame.ctx.get(INPUT_KEY)
        if raw is not None and frame.ctx.get(HELD):
            # The engine sent its hold card ("Starting...", the privacy card) in place of this
            # frame's picture; the tap still holds the capture the card hides. The compare
            # view's "before" half is the card too: a shared screen never shows the room.
            raw = frame.image
        target = self.display_size
        if target is not None:
            image = _fit_inside(image, target)
            if isinstance(raw, np.ndarray):
                raw = _fit_inside(raw, target)
        elif image is frame.image:
            image = image.copy()
        replaced = self.slot.put(
            PreviewImage(
                np.ascontiguousarray(image),
                np.ascontiguousarray(raw) if isinstance(raw, np.ndarray) else None,
                frame.timestamp,
                frame.index,
                src_size,
            )
        )
        self.frames_written += 1
        self.last_frame_time = time.monotonic()
        wake = self.on_frame
        if wake is not None and not replaced:
            wake()

    def take(self) -> PreviewImage | None:
        """The newest image not yet taken, without waiting (GUI thread)."""
        try:
            return self.slot.get(timeout=0)
        except Closed:
            return None


def _fit_inside(image: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """Scale to fit inside ``box`` keeping the aspect ratio (a copy in every case, since the
    engine may reuse its frame)."""
    h, w = image.shape[:2]
    bw, bh = max(1, box[0]), max(1, box[1])
    scale = min(bw / w, bh / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) == (w, h):
        return image.copy()
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (nw, nh), interpolation=interp)


# ------------------------------------------------------------------------------ cameras
STANDARD_MODES: tuple[tuple[int, int, float], ...] = (
    (1920, 1080, 30.0),
    (1280, 720, 30.0),
    (1280, 720, 60.0),
    (960, 540, 30.0),
    (640, 480, 30.0),
)


def camera_modes(
    path: str | None, ioctl: Callable[..., Any] | None = None
) -> list[tuple[int, int, float]]:
    """The modes a V4L2 camera reports (width, height, fps), largest first. Empty where the
    OS or the device does not say (the caller offers :data:`STANDARD_MODES` and shows what the
    camera really gave once opened)."""
    if not path or not path.startswith("/dev/"):
        return []
    try:
        return _v4l2_modes(path, ioctl)
    except OSError as exc:
        log.info("could not list the modes of %s: %s", path, exc)
        return []


def _v4l2_modes(path: str, ioctl: Callable[..., Any] | None) -> list[tuple[int, int, float]]:
    import os
    import struct

    if ioctl is None:
        import fcntl

        ioctl = fcntl.ioctl

    def iowr(nr: int, size: int) -> int:
        return (3 << 30) | (size << 16) | (ord("V") << 8) | nr

    fmt_size, fsz_size, fiv_size = 64, 44, 52
    enum_fmt, enum_sizes, enum_ivals = iowr(2, fmt_size), iowr(74, fsz_size), iowr(75, fiv_size)
    capture = 1  # V4L2_BUF_TYPE_VIDEO_CAPTURE
    modes: set[tuple[int, int, float]] = set()
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        for fi in range(32):
            buf = bytearray(struct.pack("<II", fi, capture) + bytes(fmt_size - 8))
            try:
                ioctl(fd, enum_fmt, buf)
            except OSError:
                break
            pixfmt = struct.unpack_from("<I", buf, 44)[0]
            for si in range(64):
                sbuf = bytearray(struct.pack("<II", si, pixfmt) + bytes(fsz_size - 8))
                try:
                    ioctl(fd, enum_sizes, sbuf)
                except OSError:
                    break
                kind = struct.unpack_from("<I", sbuf, 8)[0]
                if kind != 1:  # stepwise/continuous: not a list of modes
                    break
                w, h = struct.unpack_from("<II", sbuf, 12)
                for ii in range(32):
                    ibuf = bytearray(struct.pack("<IIII", ii, pixfmt, w, h) + bytes(fiv_size - 16))
                    try:
                        ioctl(fd, enum_ivals, ibuf)
                    except OSError:
                        break
                    if struct.unpack_from("<I", ibuf, 16)[0] != 1:
                        break
                    num, den = struct.unpack_from("<II", ibuf, 20)
                    if num:
                        modes.add((int(w), int(h), round(den / num, 2)))
    finally:
        os.close(fd)
    return sorted(modes, key=lambda m: (-m[0] * m[1], -m[2]))


def format_mode(mode: tuple[int, int, float]) -> str:
    w, h, fps = mode
    return f"{w}×{h} @ {fps:g} fps"
