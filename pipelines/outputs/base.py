"""Output base: a context manager with an idempotent ``close()``."""

from __future__ import annotations

from typing import Any, ClassVar

from pipelines.frame import Frame
from pipelines.registry import Registry


class Output:
    suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, arg: str = "", **kwargs: Any) -> None:
        self.arg = arg
        self.frames_written = 0
        self.is_open = False

    def open(self, width: int, height: int, fps: float) -> None:
        self.is_open = True

    def write(self, frame: Frame) -> None:
        self.frames_written += 1

    def close(self) -> None:
        self.is_open = False

    @property
    def description(self) -> str:
        return f"{type(self).__name__} {self.arg}".strip()

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


OUTPUTS: Registry[type[Output]] = Registry("output")
