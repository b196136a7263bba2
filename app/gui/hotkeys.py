"""System-wide hotkeys (next preset, pause) where the platform lets an app have them.

* X11: ``XGrabKey`` on the root window through libX11 (ctypes), on a display connection of
  its own, read by a small thread that wakes on the connection's socket.
* Windows: ``RegisterHotKey`` for the GUI thread, read by a native event filter.
* Wayland: an app cannot grab keys; that needs the desktop's GlobalShortcuts portal, which
  camfx does not use yet. macOS needs an accessibility grant camfx does not ask for. In both
  cases (and on a headless display) :attr:`GlobalHotkeys.message` says so, and the tray menu
  and the window's own shortcuts remain.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import select
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractNativeEventFilter, QCoreApplication, QEvent, QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.gui.qtcompat import emit

log = logging.getLogger(__name__)

DEFAULT_BINDINGS = {"pause": "Ctrl+Alt+Shift+P", "next-preset": "Ctrl+Alt+Shift+N"}

MODIFIERS = ("ctrl", "alt", "shift", "meta")


def parse_binding(text: str) -> tuple[frozenset[str], str]:
    """``"Ctrl+Alt+P"`` → ({"ctrl", "alt"}, "p")."""
    parts = [p.strip().lower() for p in text.split("+") if p.strip()]
    if not parts:
        raise ValueError(f"empty hotkey {text!r}")
    mods = {"control": "ctrl", "super": "meta", "win": "meta", "cmd": "meta"}
    found = frozenset(mods.get(p, p) for p in parts[:-1])
    unknown = found - set(MODIFIERS)
    if unknown:
        raise ValueError(f"hotkey {text!r}: unknown modifier {', '.join(sorted(unknown))}")
    key = parts[-1]
    if not (len(key) == 1 and key.isalnum()) and not (key[0] == "f" and key[1:].isdigit()):
        raise ValueError(f"hotkey {text!r}: use a letter, a digit or F1-F24 as the key")
    return found, key


# ------------------------------------------------------------------------------ X11
class _XKeyEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("root", ctypes.c_ulong),
        ("subwindow", ctypes.c_ulong),
        ("time", ctypes.c_ulong),
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("x_root", ctypes.c_int),
        ("y_root", ctypes.c_int),
        ("state", ctypes.c_uint),
        ("keycode", ctypes.c_uint),
        ("same_screen", ctypes.c_int),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("xkey", _XKeyEvent), ("pad", ctypes.c_long * 24)]


class _XErrorEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("resourceid", ctypes.c_ulong),
        ("serial", ctypes.c_ulong),
        ("error_code", ctypes.c_ubyte),
        ("request_code", ctypes.c_ubyte),
        ("minor_code", ctypes.c_ubyte),
    ]


_X_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_XErrorEvent))
_X_MODS = {"shift": 1, "ctrl": 4, "alt": 8, "meta": 64}
_X_LOCK, _X_NUMLOCK = 2, 16
_X_KEYPRESS = 2


def load_xlib() -> Any:
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    x = ctypes.CDLL(name)
    vp, ul, ci, cu = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_uint
    x.XOpenDisplay.argtypes, x.XOpenDisplay.restype = [ctypes.c_char_p], vp
    x.XDefaultRootWindow.argtypes, x.XDefaultRootWindow.restype = [vp], ul
    x.XStringToKeysym.argtypes, x.XStringToKeysym.restype = [ctypes.c_char_p], ul
    x.XKeysymToKeycode.argtypes, x.XKeysymToKeycode.restype = [vp, ul], ctypes.c_ubyte
    x.XGrabKey.argtypes = [vp, ci, cu, ul, ci, ci, ci]
    x.XUngrabKey.argtypes = [vp, ci, cu, ul]
    x.XSync.argtypes = [vp, ci]
    x.XFlush.argtypes = [vp]
    x.XPending.argtypes, x.XPending.restype = [vp], ci
    x.XNextEvent.argtypes = [vp, ctypes.POINTER(_XEvent)]
    x.XConnectionNumber.argtypes, x.XConnectionNumber.restype = [vp], ci
    x.XCloseDisplay.argtypes = [vp]
    x.XSetErrorHandler.argtypes, x.XSetErrorHandler.restype = [vp], vp
    return x


class X11Hotkeys:
    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback
        self.x = load_xlib()
        self.display = self.x.XOpenDisplay(None)
        if not self.display:
            raise OSError("cannot open the X display")
        self.root = self.x.XDefaultRootWindow(self.display)
        self.grabs: dict[tuple[int, int], str] = {}
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    def register(self, bindings: dict[str, str]) -> list[str]:
        failures: list[str] = []
        errors: list[int] = []

        def on_error(_display: Any, event: Any) -> int:
            errors.append(int(event.contents.error_code))
            return 0

        handler = _X_ERROR_HANDLER(on_error)
        previous = self.x.XSetErrorHandler(ctypes.cast(handler, ctypes.c_void_p))
        try:
            for action, text in bindings.items():
                try:
                    mods, key = parse_binding(text)
                except ValueError as exc:
                    failures.append(str(exc))
                    continue
                keysym = self.x.XStringToKeysym(
                    key.upper().encode() if len(key) > 1 else key.encode()
                )
                keycode = self.x.XKeysymToKeycode(self.display, keysym) if keysym else 0
                if not keycode:
                    failures.append(f"{text}: this keyboard has no such key")
                    continue
                mask = sum(_X_MODS[m] for m in mods)
                errors.clear()
                for extra in (0, _X_LOCK, _X_NUMLOCK, _X_LOCK | _X_NUMLOCK):
                    self.x.XGrabKey(self.display, keycode, mask | extra, self.root, 0, 1, 1)
                self.x.XSync(self.display, 0)
                if errors:
                    failures.append(f"{text} is already taken by another app")
                    for extra in (0, _X_LOCK, _X_NUMLOCK, _X_LOCK | _X_NUMLOCK):
                        self.x.XUngrabKey(self.display, keycode, mask | extra, self.root)
                    continue
                self.grabs[(int(keycode), mask)] = action
            self.x.XSync(self.display, 0)
        finally:
            self.x.XSetErrorHandler(previous)
        if self.grabs:
            self._thread = threading.Thread(target=self._loop, name="camfx-hotkeys", daemon=True)
            self._thread.start()
        return failures

    def _loop(self) -> None:
        fd = self.x.XConnectionNumber(self.display)
        event = _XEvent()
        ignore = ~(_X_LOCK | _X_NUMLOCK)
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd, self._wake_r], [], [], 1.0)
            except OSError:
                break
            if self._wake_r in ready:
                break
            while self.x.XPending(self.display):
                self.x.XNextEvent(self.display, ctypes.byref(event))
                if event.type != _X_KEYPRESS:
                    continue
                key = (int(event.xkey.keycode), int(event.xkey.state) & ignore & 0xFF)
                action = self.grabs.get(key)
                if action is not None:
                    try:
                        self.callback(action)
                    except Exception:
                        log.exception("hotkey handler failed")

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(3.0)
        for keycode, mask in self.grabs:
            for extra in (0, _X_LOCK, _X_NUMLOCK, _X_LOCK | _X_NUMLOCK):
                self.x.XUngrabKey(self.display, keycode, mask | extra, self.root)
        self.grabs = {}
        if self.display:
            self.x.XCloseDisplay(self.display)
            self.display = None
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


# ------------------------------------------------------------------------------ Windows
class WindowsHotkeys(QAbstractNativeEventFilter):
    WM_HOTKEY = 0x0312
    MODS: ClassVar[dict[str, int]] = {"alt": 0x1, "ctrl": 0x2, "shift": 0x4, "meta": 0x8}
    NOREPEAT = 0x4000

    def __init__(self, callback: Callable[[str], None]) -> None:
        super().__init__()
        self.callback = callback
        self.user32: Any = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
        self.ids: dict[int, str] = {}

    def register(self, bindings: dict[str, str]) -> list[str]:
        failures = []
        for n, (action, text) in enumerate(bindings.items(), start=1):
            try:
                mods, key = parse_binding(text)
            except ValueError as exc:
                failures.append(str(exc))
                continue
            vk = ord(key.upper()) if len(key) == 1 else 0x70 + int(key[1:]) - 1
            mask = sum(self.MODS[m] for m in mods) | self.NOREPEAT
            if self.user32.RegisterHotKey(None, n, mask, vk):
                self.ids[n] = action
            else:
                failures.append(f"{text} is already taken by another app")
        app = QCoreApplication.instance()
        if self.ids and app is not None:
            app.installNativeEventFilter(self)
        return failures

    def nativeEventFilter(self, eventType: Any, message: Any) -> Any:
        try:
            if bytes(eventType) == b"windows_generic_MSG":
                from ctypes import wintypes

                msg = wintypes.MSG.from_address(int(message))
                if msg.message == self.WM_HOTKEY and int(msg.wParam) in self.ids:
                    self.callback(self.ids[int(msg.wParam)])
        except Exception:  # never let a filter error escape into Qt's event loop
            log.exception("hotkey filter failed")
        return False, 0

    def close(self) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            app.removeNativeEventFilter(self)
        for n in self.ids:
            self.user32.UnregisterHotKey(None, n)
        self.ids = {}


# ------------------------------------------------------------------------------ front
def unavailable_reason(platform_name: str, env: dict[str, str] | None = None) -> str | None:
    """Why global hotkeys cannot work here, or None when a backend may work."""
    env = dict(os.environ) if env is None else env
    if platform_name == "xcb":
        return None
    if platform_name == "windows":
        return None
    if platform_name.startswith("wayland"):
        return (
            "Global hotkeys are not available on Wayland: they need the desktop's "
            "GlobalShortcuts portal, which camfx does not use yet. Use the tray menu, or the "
            "window's shortcuts (Ctrl+P pause, Ctrl+Shift+N next preset) while it has focus."
        )
    if platform_name == "cocoa":
        return (
            "Global hotkeys are not available on macOS yet. Use the menu bar icon, or the "
            "window's shortcuts (Cmd+P pause, Cmd+Shift+N next preset) while it has focus."
        )
    return f"Global hotkeys are not available on this display ({platform_name or 'none'})."


class GlobalHotkeys(QObject):
    """Registers the bindings where possible; :attr:`message` says what happened."""

    activated = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend: Any = None
        self.active: dict[str, str] = {}
        self.message = ""

    def start(self, bindings: dict[str, str] | None = None) -> bool:
        self.stop()
        bindings = dict(bindings or DEFAULT_BINDINGS)
        platform_name = QGuiApplication.platformName()
        reason = unavailable_reason(platform_name)
        if reason is not None:
            self.message = reason
            return False
        try:
            if platform_name == "windows" and sys.platform == "win32":
                self.backend = WindowsHotkeys(lambda a: emit(self.activated, a))
            else:
                self.backend = X11Hotkeys(lambda a: emit(self.activated, a))
            failures = self.backend.register(bindings)
        except (OSError, AttributeError) as exc:
            self.backend = None
            self.message = f"Global hotkeys are not available: {exc}"
            return False
        self.active = {
            a: t for a, t in bindings.items() if not any(f.startswith(t) for f in failures)
        }
        note = ""
        if platform_name == "xcb" and os.environ.get("WAYLAND_DISPLAY"):
            note = " (on Wayland they work only while an X11 app has focus)"
        if self.active:
            keys = ", ".join(f"{t} {a.replace('-', ' ')}" for a, t in self.active.items())
            self.message = f"Global hotkeys: {keys}{note}."
        else:
            self.message = "No global hotkey could be registered."
        if failures:
            self.message += " Not registered: " + "; ".join(failures) + "."
        return bool(self.active)

    def stop(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        self.active = {}


TEXT_FIELDS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)
"""Widgets the user types into: a Ctrl+letter there is a typo, not a command to the video."""


class TypingGuard(QObject):
    """Keeps the window's video shortcuts (Ctrl+P pause, Ctrl+I compare, Ctrl+R record, …)
    from firing while the cursor is in one of the window's text fields: a user typing a
    background's path paused the stream mid-call with Ctrl+P (qa7). The key goes to the field
    instead, which ignores it. Save (Ctrl+S), Open and Quit still work there, as in an editor.

    The filter sits only on text fields of ``window`` that get the focus (the effects panel
    makes its fields as presets change), not on the whole application, where every paint and
    timer event of the 30 fps preview would pass through Python."""

    def __init__(self, window: QWidget, actions: list[QAction]) -> None:
        super().__init__(window)
        self._window = window
        self._actions = actions
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus)

    def _on_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        if isinstance(new, TEXT_FIELDS) and new.window() is self._window:
            # Installing it again only moves it to the front of the field's filters (Qt keeps
            # one of each), so there is nothing to track.
            new.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            typed = QKeySequence(event.keyCombination())
            exact = QKeySequence.SequenceMatch.ExactMatch
            if any(a.shortcut().matches(typed) == exact for a in self._actions):
                # Accepted: the field takes the key as typing, so no shortcut fires.
                event.accept()
                return True
        return False
