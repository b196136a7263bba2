"""Who is reading a virtual camera: other processes that hold its device node open.

A v4l2loopback device does not tell its writer whether anyone watches, but Linux does: every
open file of a process is a link under ``/proc/PID/fd``. When no other process holds the
device, no meeting app shows camfx, and the engine can release the real camera and idle
instead of burning a core on frames nobody sees (users' "camfx eats my CPU while I game").
"""

from __future__ import annotations

import os
import sys


def supported() -> bool:
    return sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd")


def readers_of(device: str, *, exclude_self: bool = True) -> list[int]:
    """PIDs (other than ours) that have ``device`` open. Processes of other users whose fds we
    may not read are not seen: a meeting app runs as the same user as camfx."""
    if not supported():
        return []
    target = os.path.realpath(device)
    me = os.getpid()
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if exclude_self and pid == me:
            continue
        fd_dir = f"/proc/{entry}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # gone, or not ours to read
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    found.append(pid)
                    break
            except OSError:
                continue
    return found
