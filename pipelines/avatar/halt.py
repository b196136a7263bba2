"""Stopping an avatar build that runs on a helper thread when the process exits.

A build spends seconds in the face tracker's networks (native code). A daemon thread still
inside them while the interpreter tears down aborts the process ("terminate called without an
active exception", exit code 134): quitting camfx within seconds of picking a portrait lost the
clean exit. At exit (:func:`pipelines.avatar.stage.stop_builds`) :data:`EXITING` is set, and
each build stops at its next tracker call (:func:`checkpoint`), which is at most one network
run away.
"""

from __future__ import annotations

import threading

EXITING = threading.Event()
"""Set once the process exits: builds stop at their next :func:`checkpoint`."""


class BuildHalted(Exception):
    """A build stopped because the process exits."""


def checkpoint() -> None:
    """Raise :class:`BuildHalted` once the process exits (called before each tracker run of a
    build)."""
    if EXITING.is_set():
        raise BuildHalted("the process exits")
