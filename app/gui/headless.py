"""A virtual X display with a system tray, for GUI tests and the README screenshots.

``Xvfb`` gives a screen without hardware; ``trayer`` (a small panel) owns the
``_NET_SYSTEM_TRAY_S0`` selection, so :meth:`QSystemTrayIcon.isSystemTrayAvailable` is true and
tray icons really embed. Qt's xcb plugin also needs some libraries; on Debian/Ubuntu::

    apt-get install -y xvfb xauth trayer libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 \\
        libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 \\
        libxkbcommon-x11-0 libxcb-cursor0 libegl1 libgl1 libfontconfig1 libdbus-1-3 \
        libx11-6 libxtst6

This module never imports Qt (the caller points Qt at the display before importing it).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator

APT_PACKAGES = (
    "xvfb xauth trayer libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 "
    "libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 "
    "libxcb-cursor0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libx11-6 libxtst6"
)
APT_LINE = f"apt-get install -y {APT_PACKAGES}"


class DisplayUnavailable(RuntimeError):
    """Xvfb or the tray host is missing or did not start."""


def missing_tools(tray: bool = True) -> list[str]:
    tools = ["Xvfb"] + (["trayer"] if tray else [])
    return [t for t in tools if shutil.which(t) is None]


def _tray_owned(display: str) -> bool:
    """Whether a tray host owns ``_NET_SYSTEM_TRAY_S0`` on ``display`` (asked through Xlib)."""
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        x = ctypes.CDLL(name)
    except OSError:
        return False
    x.XOpenDisplay.argtypes, x.XOpenDisplay.restype = [ctypes.c_char_p], ctypes.c_void_p
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XInternAtom.restype = ctypes.c_ulong
    x.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x.XGetSelectionOwner.restype = ctypes.c_ulong
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    d = x.XOpenDisplay(display.encode())
    if not d:
        return False
    try:
        atom = x.XInternAtom(d, b"_NET_SYSTEM_TRAY_S0", 0)
        return bool(x.XGetSelectionOwner(d, atom))
    finally:
        x.XCloseDisplay(d)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def virtual_display(
    size: tuple[int, int] = (1280, 800), tray: bool = True, timeout: float = 15.0
) -> Iterator[str]:
    """Start Xvfb (and trayer); yields the ``DISPLAY`` value; stops both on exit."""
    missing = missing_tools(tray)
    if missing:
        raise DisplayUnavailable(
            f"{' and '.join(missing)} not installed (Debian/Ubuntu: {APT_LINE})"
        )
    read_fd, write_fd = os.pipe()
    xvfb: subprocess.Popen[bytes] | None = None
    trayer: subprocess.Popen[bytes] | None = None
    try:
        xvfb = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{size[0]}x{size[1]}x24",
                "-nolisten",
                "tcp",
                "-noreset",
                "+extension",
                "XTEST",
            ],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(write_fd)
        write_fd = -1
        ready, _, _ = select.select([read_fd], [], [], timeout)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number.isdigit():
            err = b""
            if xvfb.poll() is not None and xvfb.stderr is not None:
                err = xvfb.stderr.read()[-500:]
            raise DisplayUnavailable(f"Xvfb did not start: {err.decode(errors='replace')}")
        display = f":{number}"
        if tray:
            env = {**os.environ, "DISPLAY": display}
            trayer = subprocess.Popen(
                [
                    "trayer",
                    "--edge",
                    "top",
                    "--align",
                    "right",
                    "--widthtype",
                    "request",
                    "--height",
                    "32",
                    "--expand",
                    "true",
                    "--transparent",
                    "false",
                    "--tint",
                    "0x2b2b2b",
                    "--SetDockType",
                    "true",
                    "--padding",
                    "6",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while not _tray_owned(display):
                if trayer.poll() is not None or time.monotonic() > deadline:
                    raise DisplayUnavailable("trayer did not start a system tray")
                time.sleep(0.05)
        yield display
    finally:
        _stop(trayer)
        _stop(xvfb)
        if xvfb is not None and xvfb.stderr is not None:
            xvfb.stderr.close()
        for fd in (read_fd, write_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


def fake_key(display: str, keys: list[str]) -> None:
    """Press and release ``keys`` (X keysym names, e.g. ``["Control_L", "p"]``) through the
    XTest extension, as a keyboard would (tests of global hotkeys)."""
    x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    xt = ctypes.CDLL(ctypes.util.find_library("Xtst") or "libXtst.so.6")
    x.XOpenDisplay.argtypes, x.XOpenDisplay.restype = [ctypes.c_char_p], ctypes.c_void_p
    x.XStringToKeysym.argtypes, x.XStringToKeysym.restype = [ctypes.c_char_p], ctypes.c_ulong
    x.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x.XKeysymToKeycode.restype = ctypes.c_ubyte
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xt.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
    d = x.XOpenDisplay(display.encode())
    if not d:
        raise DisplayUnavailable(f"cannot open display {display}")
    try:
        codes = [x.XKeysymToKeycode(d, x.XStringToKeysym(k.encode())) for k in keys]
        for code in codes:
            xt.XTestFakeKeyEvent(d, code, 1, 0)
        for code in reversed(codes):
            xt.XTestFakeKeyEvent(d, code, 0, 0)
        x.XSync(d, 0)
    finally:
        x.XCloseDisplay(d)


def fake_click(display: str, x_pos: int, y_pos: int, button: int = 1) -> None:
    """Move the pointer to (x, y) on the root window and click ``button`` (XTest)."""
    x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    xt = ctypes.CDLL(ctypes.util.find_library("Xtst") or "libXtst.so.6")
    x.XOpenDisplay.argtypes, x.XOpenDisplay.restype = [ctypes.c_char_p], ctypes.c_void_p
    x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xt.XTestFakeMotionEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_ulong,
    ]
    xt.XTestFakeButtonEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_ulong,
    ]
    d = x.XOpenDisplay(display.encode())
    if not d:
        raise DisplayUnavailable(f"cannot open display {display}")
    try:
        xt.XTestFakeMotionEvent(d, -1, x_pos, y_pos, 0)
        x.XSync(d, 0)
        xt.XTestFakeButtonEvent(d, button, 1, 10)
        xt.XTestFakeButtonEvent(d, button, 0, 50)
        x.XSync(d, 0)
    finally:
        x.XCloseDisplay(d)
