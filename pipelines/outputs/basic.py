"""Null and preview-callback outputs (video files: :mod:`pipelines.outputs.recorder`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

    watched_live = True

    def __init__(self, arg: str = "", callback: Callable[[Frame], None] | None = None, **kw: Any):
        super().__init__(arg, **kw)
        self.callback = callback

    def write(self, frame: Frame) -> None:
        if self.callback is not None:
            self.callback(frame)
        self.frames_written += 1
