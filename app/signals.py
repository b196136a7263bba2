"""SIGTERM stops a command like Ctrl+C does, and neither cuts a recording's ending short.

A system shutdown, ``kill`` or a service manager sends SIGTERM, whose default action ends the
process at once: every open MP4 then lacked its index ("moov atom not found"). Inside
:func:`sigterm_as_interrupt`, SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in
the main thread instead, so the same ``finally`` that handles Ctrl+C closes the engine and its
files. Inside :func:`finishing`, further SIGINT/SIGTERM only log: a second Ctrl+C while the
files are being closed must not tear them.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def exit_code(exc: KeyboardInterrupt) -> int:
    return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    if not _main_thread():  # signal handlers can only be set from the main thread
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def finishing(what: str = "the recording") -> Iterator[None]:
    if not _main_thread():
        yield
        return

    def wait(signum: int, frame: Any) -> None:
        log.warning("finishing %s first; it takes a moment", what)

    previous = {sig: signal.signal(sig, wait) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
