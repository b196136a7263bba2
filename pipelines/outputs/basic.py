"""Null, preview-callback and video-file outputs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

import cv2

from pipelines.errors import OutputError
from pipelines.frame import Frame
from pipelines.outputs.base import OUTPUTS, Output


@OUTPUTS.register("null")
class NullOutput(Output):
    """Discards frames (benchmarks, headless tests)."""

    def write(self, frame: Frame) -> None:
        self.frames_written += 1


@OUTPUTS.register("preview")
class PreviewOutput(Output):
    """Hands each frame to a callback (the GUI's preview). The callback must not block: the GUI
    side keeps only the latest frame and paints it on its own thread."""

    def __init__(self, arg: str = "", callback: Callable[[Frame], None] | None = None, **kw: Any):
        super().__init__(arg, **kw)
        self.callback = callback

    def write(self, frame: Frame) -> None:
        if self.callback is not None:
            self.callback(frame)
        self.frames_written += 1


@OUTPUTS.register("file")
class VideoFileOutput(Output):
    """An MP4 file (MPEG-4 Part 2 through OpenCV's bundled FFmpeg: plays in VLC, mpv, ffplay and
    browsers' fallback paths; no GPL encoder is needed)."""

    suffixes = (".mp4", ".m4v", ".avi", ".mkv")
    fourcc = "mp4v"

    def __init__(self, arg: str = "", **kw: Any) -> None:
        super().__init__(arg, **kw)
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] = (0, 0)

    def open(self, width: int, height: int, fps: float) -> None:
        path = self.arg
        if not path:
            raise OutputError("file output needs a path, e.g. --output out.mp4")
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise OutputError(
                f"output file {path!r}: {folder!r} is a file, not a folder; choose another path"
            )
        if not os.path.isdir(folder):
            raise OutputError(
                f"output file {path!r}: folder {folder!r} does not exist; create it first"
            )
        if os.path.isdir(path):
            raise OutputError(f"output file {path!r} is a folder; give a file name ending .mp4")
        # Try the file itself: os.access() says yes to root even on a read-only disk.
        existed = os.path.exists(path)
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise OutputError(
                f"output file {path!r} cannot be written ({exc.strerror or exc}); "
                "choose a folder you can write to"
            ) from exc
        fourcc = cv2.VideoWriter.fourcc(*self.fourcc)
        writer = cv2.VideoWriter(path, fourcc, float(fps), (width, height))
        if not writer.isOpened():
            writer.release()
            if not existed:
                with contextlib.suppress(OSError):
                    os.remove(path)
            raise OutputError(
                f"output file {path!r} could not be opened for writing at {width}x{height}; "
                "use a .mp4 path"
            )
        self.writer = writer
        self.size = (width, height)
        self.is_open = True

    def write(self, frame: Frame) -> None:
        if self.writer is None:
            raise OutputError("file output written before open()")
        image = frame.image
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.frames_written += 1

    @property
    def description(self) -> str:
        return f"file {self.arg}"

    def close(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.release()
        self.is_open = False
