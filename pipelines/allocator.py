"""Frame-size arrays reused by the C allocator instead of mapped afresh every frame.

glibc serves a large ``malloc`` (numpy's and OpenCV's frame-size arrays) from a fresh memory
mapping, returns it to the system when freed, and trims the heap's free top back to the system
too; both thresholds move with what the program did last. Depending on the order in which a
frame's arrays of 0.9-3.7 MB are made and freed, every frame can then fault all their pages in
again (each one zeroed by the kernel) and unmap them on whichever thread drops the frame: in
Studio at 720p, once the segmentation stopped making a full-size mask, 510 page faults a frame
against 60 before, and 1.4 ms more CPU on the rendering thread. Fixed thresholds well above a
4K frame's arrays keep them in the allocator's free lists: 4 faults a frame, and the process
used 1.1-3.7 ms less CPU per frame (2026-12-02, two alternated pairs, load 0.6-1.3).

Only glibc (Linux) has these knobs; elsewhere, or when the user set glibc's own
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``, nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import threading

log = logging.getLogger(__name__)

MMAP_THRESHOLD = 32 << 20
"""Blocks this large or larger still get their own mapping (a 4K BGR frame is 24 MiB)."""
TRIM_THRESHOLD = 128 << 20
"""Free memory at the heap's top beyond this goes back to the system."""
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
ENV_OVERRIDES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

_lock = threading.Lock()
_done: bool | None = None


def keep_large_blocks() -> bool:
    """Set glibc's thresholds once per process (later calls return the first answer).
    Returns whether they were set."""
    global _done
    with _lock:
        if _done is None:
            _done = _set_thresholds()
        return _done


def _set_thresholds() -> bool:
    if any(os.environ.get(name) for name in ENV_OVERRIDES):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    ok = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and ok
    if not ok:
        log.debug("mallopt refused the allocator thresholds")
    return ok
