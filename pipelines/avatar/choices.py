"""The avatar build's discrete choices made on the face tracker's reading of its own renders
(:mod:`pipelines.avatar.rest`, :mod:`pipelines.avatar.lids`), noted where a caller asks for
them (:func:`recorded`; tools/build_choices.py, tests/test_avatar_hostproof.py).

ONNX Runtime's CPU kernels sum in another order on each instruction set, so the tracker's
landmarks differ in their last digits from CPU to CPU; a choice whose reading sits at its line
can come out the other way on a user's machine. Noting each choice with its reading and its line
lets a tool show which choices sit at an edge. Outside :func:`recorded` noting costs nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    name: str
    """Which choice (``module.what``)."""
    chosen: str
    """What the build chose."""
    reading: float = math.nan
    """The tracker's reading it was chosen on (nan where it is no single reading)."""
    line: float = math.nan
    """The line that reading was held against."""


_noted: ContextVar[list[Choice] | None] = ContextVar("avatar_choices", default=None)


def note(name: str, chosen: object, reading: float = math.nan, line: float = math.nan) -> None:
    """Note a choice where :func:`recorded` is listening (nothing otherwise)."""
    into = _noted.get()
    if into is not None:
        into.append(Choice(name, str(chosen), float(reading), float(line)))


@contextmanager
def recorded() -> Iterator[list[Choice]]:
    """The choices noted inside the ``with`` block, in order."""
    into: list[Choice] = []
    token = _noted.set(into)
    try:
        yield into
    finally:
        _noted.reset(token)
