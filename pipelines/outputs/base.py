"""Output base: a context manager with an idempotent ``close()``."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Self

from pipelines.frame import Frame
from pipelines.registry import Registry


class Output:
    suffixes: ClassVar[tuple[str, ...]] = ()
    watched_live: ClassVar[bool] = False
    """Someone watches this output as it is made (a virtual camera, the window's preview): a
    video file source then keeps real time (:class:`~pipelines.sources.base.Timing`)."""

    def __init__(self, arg: str = "", **kwargs: Any) -> None:
        self.arg = arg
        self.frames_written = 0
        self.is_open = False
        self.live_source = True
        """The frames come from a live device (a camera), set by the engine: a recording then
        times them by their capture times. Other sources' frames are timed by their index."""
        self.failure: str | None = None
        """Why this output stopped (one line naming it), set when a write or close failed."""

    def open(self, width: int, height: int, fps: float) -> None:
        self.is_open = True

    def check(self, width: int, height: int, fps: float) -> None:
        """Raise what :meth:`open` would raise, to report it beside another error when the
        run cannot start anyway. This default opens and closes; an output whose ``open``
        leaves something behind (a file) checks without changing anything."""
        try:
            self.open(width, height, fps)
        finally:
            # A half-opened output: the error of its open is the one reported.
            with contextlib.suppress(Exception):
                self.close()

    def write(self, frame: Frame) -> None:
        self.frames_written += 1

    def has_consumers(self) -> bool | None:
        """Whether anyone receives what this output sends: None when it cannot tell (files,
        previews: always treated as watched)."""
        return None

    def close(self) -> None:
        """Flush and release. Idempotent; subclasses keep it so."""
        self.is_open = False

    def summary(self) -> str:
        """One line for the end of a run: what this output got."""
        return self.failure or f"{self.description}: {self.frames_written} frames"

    @property
    def description(self) -> str:
        name = OUTPUTS.name_of(type(self)) or type(self).__name__
        return f"{name}:{self.arg}" if self.arg else name

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


OUTPUTS: Registry[type[Output]] = Registry("output")
