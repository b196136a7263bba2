"""Background sources for ``background_replace``: images and looping videos, read safely.

A background file comes from the user, so every way it can be wrong ends in a
:class:`BackgroundError` that names the file and says what to do: missing, unreadable, not an
image/video, corrupt, or so large that decoding it would stall the call (checked from the
header, before anything is decoded). Loading runs off the processing thread (a large photo takes
a few hundred milliseconds to decode); until a new background is ready, or when it fails, the
stage keeps showing the last good one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Literal, get_args

import cv2
import numpy as np

from pipelines.errors import CamfxError

# The pictures' bounds, where pictures are read (the README's "at least 16 pixels a side, at
# most 8:1 and at most 120 megapixels"): a background had its own 50 MP and refused a 126 MP
# photo the README accepts, and then checked the pixels alone.
from pipelines.sources.files import picture_size_problem

log = logging.getLogger(__name__)

MAX_IMAGE_FILE_BYTES = 100 * 1024 * 1024
MAX_VIDEO_FILE_BYTES = 8 * 1024 * 1024 * 1024
MAX_VIDEO_PIXELS = 3840 * 2160
"""Frames above 4K cannot be decoded in real time next to the call."""
IMAGE_FORMATS = "PNG, JPEG, WebP, BMP, TIFF or GIF"
FitMode = Literal["fill", "fit"]
FIT_MODES: tuple[str, ...] = get_args(FitMode)


class BackgroundError(CamfxError):
    """A background image or video cannot be used."""


def image_dimensions(head: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) from the first bytes of a PNG/JPEG/WebP/BMP file, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return "PNG", w, h
    if head.startswith(b"BM") and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        return "BMP", abs(w), abs(h)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", head[26:30])
            return "WebP", w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return "WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            w = int.from_bytes(head[24:27], "little") + 1
            h = int.from_bytes(head[27:30], "little") + 1
            return "WebP", w, h
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg_dimensions(head)
    return None


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_dimensions(data: bytes) -> tuple[str, int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return "JPEG", w, h
        i += 2 + length
    return None


def _check_file(path: Path, what: str, max_bytes: int) -> int:
    if str(path) in ("", "."):  # Path("") is "."
        noun = "picture" if what.endswith("image") else what.split()[-1]
        raise BackgroundError(f"no {what} chosen; choose a background {noun}")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BackgroundError(f"{what} {path} does not exist; check the path") from None
    except OSError as exc:
        raise BackgroundError(f"{what} {path} cannot be read ({exc.strerror})") from None
    if not path.is_file():
        raise BackgroundError(f"{what} {path} is not a file; choose a file, not a folder")
    if size > max_bytes:
        raise BackgroundError(
            f"{what} {path} is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB "
            "limit; choose a smaller file"
        )
    return size


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a background image as BGR uint8, refusing anything unsafe or unusable."""
    p = Path(path)
    _check_file(p, "background image", MAX_IMAGE_FILE_BYTES)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise BackgroundError(f"background image {p} cannot be read ({exc.strerror})") from None
    info = image_dimensions(data[:65536])
    if info is None:
        # Not one of the four formats sized from their header here: read the one way every
        # picture reader does (its pixel limit holds a decompression bomb), so a TIFF or GIF
        # that plays as a source is a background too, and a HEIC or a video named as a
        # picture gets the same advice as everywhere (a user's pass, qa8: refused here as
        # "not a PNG, JPEG, WebP or BMP image" alone).
        from pipelines.sources.files import read_picture

        image, problem = read_picture(str(p))
        if image is not None:
            return image
        raise BackgroundError(
            f"background image {p} cannot be used: {problem}"
            if problem
            else f"background image {p} is not a picture camfx reads ({IMAGE_FORMATS}); "
            "choose one of those"
        )
    fmt, w, h = info
    if w <= 0 or h <= 0:
        raise BackgroundError(f"background image {p} is a corrupt {fmt} file; choose another")
    # The bounds of every picture (at least 16 pixels a side, at most 8:1 and 120 megapixels):
    # only the last was checked here, so a 10×10 or a 4000×20 strip ran scaled up (qa62).
    problem = picture_size_problem(w, h)
    if problem:
        raise BackgroundError(f"background image {p} cannot be used: {problem}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise BackgroundError(
            f"background image {p} is a corrupt {fmt} file (it cannot be decoded); "
            "re-save it or choose another"
        )
    return image


def fit_to_frame(
    image: np.ndarray, size: tuple[int, int], fit: str, fill_color: tuple[int, int, int]
) -> np.ndarray:
    """``image`` scaled to the frame ``size`` = (width, height).

    "fill": cover the frame, cropping the overflow evenly (no bars); "fit": show all of it,
    with bars of ``fill_color`` (BGR) where the shapes differ.
    """
    w, h = size
    ih, iw = image.shape[:2]
    scale = max(w / iw, h / ih) if fit == "fill" else min(w / iw, h / ih)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    # Rounding must not leave a 1-pixel gap (fill) or overflow (fit).
    nw, nh = (max(nw, w), max(nh, h)) if fit == "fill" else (min(nw, w), min(nh, h))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (nw, nh), interpolation=interp)
    if fit == "fill":
        x0, y0 = (nw - w) // 2, (nh - h) // 2
        return np.ascontiguousarray(scaled[y0 : y0 + h, x0 : x0 + w])
    out = np.empty((h, w, 3), np.uint8)
    out[:] = fill_color
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = scaled
    return out


class LoopingVideo:
    """A video file decoded on its own thread at its own frame rate, starting over at the end.

    :meth:`latest` returns the most recent frame at once (never waits for the decoder), so a
    slow decoder shows up as a video that stutters, not as a call that stutters.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        _check_file(self.path, "background video", MAX_VIDEO_FILE_BYTES)
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            from pipelines.sources.files import why_no_video

            why = why_no_video(str(self.path))  # only sound, empty, cut short
            if why:
                raise BackgroundError(f"background video {self.path} {why}")
            raise BackgroundError(
                f"background video {self.path} cannot be opened: it is not a video or its "
                "format is not supported; use an MP4 (H.264) or WebM file"
            )
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise BackgroundError(
                f"background video {self.path} has no readable frames (corrupt?); "
                "choose another file"
            )
        fh, fw = frame.shape[:2]
        if fw * fh > MAX_VIDEO_PIXELS:
            cap.release()
            raise BackgroundError(
                f"background video {self.path} is {fw}×{fh}, larger than 4K, which cannot be "
                "decoded in real time; re-encode it at 1920×1080"
            )
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1.0 <= fps <= 240.0 else 30.0
        self._cap = cap
        self._pass_frames = 1
        """Frames decoded since the file (re)started."""
        self._one_frame = cap.get(cv2.CAP_PROP_FRAME_COUNT) <= 1
        """The container states one frame (or none): a still exported as a clip."""
        self.still = False
        """Its only frame is shown for good: there is nothing more to decode."""
        self._frame = frame
        self._serial = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"camfx-bgvideo-{self.path.name}", daemon=True
        )
        self._thread.start()

    def latest(self) -> tuple[int, np.ndarray]:
        """(serial number, frame); the serial changes whenever a new frame was decoded."""
        with self._lock:
            return self._serial, self._frame

    def _read_looping(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        if ok and frame is not None:
            self._pass_frames += 1
            return frame
        if self._pass_frames == 1 and self._one_frame:
            # A one-frame video: "stopped decoding" at once before; its frame stays.
            self.still = True
            return None
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, frame = self._cap.read()
        if not ok or frame is None:
            # Seeking back fails in some containers (MPEG-TS, as camcorders write .mts): the
            # background stopped after one pass. Open the file again instead.
            self._cap.release()
            self._cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
            ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        self._pass_frames = 1
        return frame

    def _run(self) -> None:
        period = 1.0 / self.fps
        due = time.monotonic() + period
        while not self._stop.is_set():
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            due = max(due + period, time.monotonic() - period)
            frame = self._read_looping()
            if frame is None and self.still:
                break
            if frame is None:
                self.error = f"background video {self.path} stopped decoding; choose another file"
                log.error("%s", self.error)
                break
            with self._lock:
                self._frame = frame
                self._serial += 1

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._cap.release()


class BackgroundLoader:
    """Loads backgrounds one at a time on a worker thread; results are Futures."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, kind: str, path: str) -> Future[np.ndarray | LoopingVideo]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camfx-bgload")
        return self._pool.submit(_load, kind, path)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def is_still_picture(path: str | os.PathLike[str]) -> bool:
    """Whether FFmpeg reads ``path`` as one still picture (its image demuxers), whatever its
    name says."""
    try:
        import av

        with av.open(str(path)) as container:
            name = str(container.format.name)
    except Exception:  # no PyAV, or not a file FFmpeg reads: not a picture it can tell
        return False
    return name == "image2" or name.endswith("_pipe")


def _load(kind: str, path: str) -> np.ndarray | LoopingVideo:
    """A background file: a picture given as a "video" is read as the picture it is (a phone
    photo turned by its EXIF tag was drawn on its side as a one-frame video: qa64)."""
    if kind == "video":
        if is_still_picture(path):
            with contextlib.suppress(BackgroundError):  # else refused as the video asked for
                return load_image(path)
        return LoopingVideo(path)
    return load_image(path)


def check_background(kind: str, path: str) -> None:
    """Raise :class:`BackgroundError` now if ``path`` cannot serve as a ``kind`` ("image" or
    "video") background: for a settings dialog that wants to refuse a file before using it."""
    if kind == "video":
        if is_still_picture(path):
            with contextlib.suppress(BackgroundError):
                load_image(path)
                return
        _check_file(Path(path), "background video", MAX_VIDEO_FILE_BYTES)
        from pipelines.sources.files import why_no_video

        # Asked of FFmpeg before OpenCV opens it: OpenCV's own warning about a file it cannot
        # open went to stderr beside the one line (an audio-only or index-less MP4).
        why = why_no_video(path)
        if why:
            raise BackgroundError(f"background video {path} {why}")
        LoopingVideo(path).close()
    else:
        load_image(path)
