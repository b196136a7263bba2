"""Start the desktop app: the Qt application, the window, the tray; then stop it cleanly."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.gui.single_instance import RunningCamfx

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="camfx-gui", description="The camfx window.")
    parser.add_argument(
        "--minimized",
        action="store_true",
        help="start in the tray (when there is one), e.g. at login",
    )
    parser.add_argument("--source", default=None, help="use this source instead of the last one")
    parser.add_argument("--no-tray", action="store_true", help="no tray icon")
    parser.add_argument("--no-hotkeys", action="store_true", help="no global hotkeys")
    return parser


def _unreachable_x_display() -> str | None:
    """``DISPLAY`` where Qt would use X11 (Linux, no Wayland, no other platform asked for) and
    no X server answers there; None otherwise. Qt's xcb plugin aborts the process on such a
    display (exit 134), blaming a missing libxcb-cursor0. Asked through libxcb, which that
    plugin needs anyway: where it cannot be loaded, Qt says so itself."""
    import ctypes
    import ctypes.util

    display = os.environ.get("DISPLAY")
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if (
        not sys.platform.startswith("linux")
        or not display
        or platform not in ("", "xcb")
        or (not platform and os.environ.get("WAYLAND_DISPLAY"))
    ):
        return None
    library = ctypes.util.find_library("xcb")
    if library is None:
        return None
    try:
        xcb = ctypes.CDLL(library)
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return display if xcb.xcb_connection_has_error(connection) else None
    finally:
        xcb.xcb_disconnect(connection)


def already_running_line(
    running: RunningCamfx, config: Path, args: argparse.Namespace
) -> tuple[str, int]:
    """The one line, and the exit code, of a start that found ``running`` on ``config``."""
    if not running.answered:
        # A stopped (kill -STOP) or hung camfx: its window cannot come up, and while it holds
        # the socket no camfx starts on this config.
        who = f"camfx (pid {running.pid})" if running.pid else "the camfx"
        end = f"kill {running.pid}" if running.pid else "kill it"
        return (
            f"camfx: {who} running with the settings in {config} does not answer, so its "
            f"window cannot come up; end it ({end}, then kill -CONT {running.pid} if it was "
            "stopped) or start camfx with another config folder (CAMFX_CONFIG_DIR=FOLDER camfx)",
            1,
        )
    done = "nothing else was started" if args.minimized else "its window was brought up"
    if args.source:
        # The running window is not switched under its user: the source is one pick away.
        done += f"; it keeps its source ({args.source} was not used: pick it in that window)"
    return f"camfx: camfx is already running (settings in {config}); {done}", 0


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else [])
    if (
        not os.environ.get("QT_QPA_PLATFORM")
        and sys.platform.startswith("linux")
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    ):
        print(
            "camfx: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set); "
            "use the command line instead, e.g. camfx run --source demo --output virtualcam",
            file=sys.stderr,
        )
        return 2
    unreachable = _unreachable_x_display()
    if unreachable is not None:
        print(
            f"camfx: cannot open the display {unreachable!r} (no X server answers there); "
            "check DISPLAY, or use the command line instead, e.g. camfx run --source demo "
            "--output virtualcam",
            file=sys.stderr,
        )
        return 2

    # Ctrl+C in a terminal, or a session logout's SIGTERM: quit cleanly (settings saved, the
    # virtual camera closed, every engine thread ended). Until the window exists (imports, Qt's
    # start-up: seconds on a loaded machine) a signal is only noted, and the window then quits
    # as soon as its event loop runs; the default action would have killed it (exit 143).
    requested: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _: requested.append(signum))

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.gui import single_instance
    from app.gui.controller import EngineController
    from app.gui.icons import app_icon
    from app.gui.window import MainWindow
    from pipelines.userdata import PresetStore, SettingsStore, config_dir

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "camfx"])
    assert isinstance(app, QApplication)
    # Before the window's seconds of start-up: a second start meanwhile finds this one.
    config = config_dir()
    instance = single_instance.claim(config, show=not args.minimized)
    if isinstance(instance, single_instance.RunningCamfx):
        line, code = already_running_line(instance, config, args)
        print(line, file=sys.stderr)
        return code
    app.setApplicationName("camfx")
    app.setApplicationDisplayName("camfx")
    app.setDesktopFileName("camfx")
    app.setWindowIcon(app_icon("live"))
    # The tray keeps the app alive when the window is closed to it.
    app.setQuitOnLastWindowClosed(False)

    controller = EngineController()
    window = MainWindow(
        controller,
        SettingsStore(),
        PresetStore(),
        use_tray=not args.no_tray,
        use_hotkeys=not args.no_hotkeys,
    )
    instance.showRequested.connect(window.show_window)
    window.start(source=args.source)
    tray_ok = window.tray is not None and window.tray.available
    if not (args.minimized and tray_ok):
        window.show()
    if not tray_ok:
        app.setQuitOnLastWindowClosed(True)
    # Python runs signal handlers only between Qt events, hence the idle timer that hands
    # control back regularly.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, window.quit))
    if requested:
        log.info("quitting: signal %d came while the window started", requested[0])
        QTimer.singleShot(0, window.quit)
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    try:
        code = app.exec()
    finally:
        instance.close()
        window.shutdown()
        # The process ends next: a compile of the kernels still under way (a first start on
        # a cold cache) stops after its current kernel instead of holding the exit for all of
        # them (35-150 s under load), the device probe waiting on it included.
        from pipelines.segmentation import fused

        fused.stop_compile()
    return int(code)
