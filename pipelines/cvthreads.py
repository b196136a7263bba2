"""OpenCV's own thread pool while an engine runs.

OpenCV splits many calls (resizes, colour conversions, warps, filters) over a pool of its own,
one thread per core, whose workers and caller spin-wait between jobs before they sleep. The
engine already keeps the cores busy with threads of its own (capture, analysis, the helper
that runs segmentation beside the tracker, rendering, the stages' overlap workers), and its
calls are small (a 720p frame's ops take tenths of a millisecond): the pool's spinning costs
more CPU than splitting saves. So while an engine runs, OpenCV runs each call on the calling
thread (:data:`CV_THREADS`), and the previous pool size comes back when the last engine stops.

``OPENCV_FOR_THREADS_NUM`` (OpenCV's own variable) set in the environment is the user's
choice and is left alone; so is ``cv_threads=None``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

CV_THREADS: int | None = 1
"""OpenCV threads while an engine runs (1: every call on its calling thread; None: OpenCV's
default, one per core). Studio on the quiet 2-core machine (the README's Speed section has
the figures): the pool's worker thread alone used 7.5 ms of CPU per 720p frame at 30 fps and
9.8 ms at 1080p, and without it the process used 22 % less at 720p and 18 % less at 1080p, with
as many frames a second flat out and 1.7-2 ms more latency (alternated runs, load 1.7-2.5)."""

ENV_OVERRIDE = "OPENCV_FOR_THREADS_NUM"
"""OpenCV reads this once, when it loads; when it is set the pool is left as the user asked."""

_lock = threading.Lock()
_users = 0
_saved: int | None = None


def check_environment() -> None:
    """Refuse an :data:`ENV_OVERRIDE` OpenCV cannot read, in one line: OpenCV parses it only
    at its first split call, mid-run, and raised ``cv2.error: stoull`` out of a stage
    (``OPENCV_FOR_THREADS_NUM=abc``: a traceback, qa64)."""
    from pipelines.errors import CamfxError

    text = os.environ.get(ENV_OVERRIDE)
    if text is not None and text.strip() and not text.strip().isdigit():
        raise CamfxError(
            f"{ENV_OVERRIDE}={text!r} is not a number of threads OpenCV can read; give a whole "
            "number (0: its default), or unset it"
        )


def acquire(threads: int | None) -> bool:
    """Run OpenCV with ``threads`` threads until the matching :func:`release`. Returns whether
    this call took part (and so must be released): False for None or when the environment
    sets the pool. The first of several overlapping users sets the count; the last one to
    release restores what was there before."""
    global _users, _saved
    if threads is None or os.environ.get(ENV_OVERRIDE):
        return False
    import cv2

    with _lock:
        if _users == 0:
            _saved = cv2.getNumThreads()
            cv2.setNumThreads(int(threads))
        _users += 1
    return True


def release() -> None:
    """End one :func:`acquire` that returned True."""
    global _users, _saved
    import cv2

    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0 and _saved is not None:
            cv2.setNumThreads(_saved)
            _saved = None


@contextlib.contextmanager
def opencv_threads(threads: int | None = CV_THREADS) -> Iterator[None]:
    """OpenCV with ``threads`` threads inside the block (see :func:`acquire`)."""
    taken = acquire(threads)
    try:
        yield
    finally:
        if taken:
            release()
