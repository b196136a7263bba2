"""The Devices panel's "Set up virtual camera…" button: runs ``camfx setup virtual-camera
--graphical`` (which asks for the password once, through pkexec) and shows what it said.

The set-up itself is app/vcam_setup.py; this only starts it in a separate process, so the
window stays responsive while a package installs, and reports the result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QProcess, Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

BUTTON_TEXT = "Set up virtual ca&mera…"


def setup_command() -> list[str]:
    """The command line of ``camfx setup virtual-camera --graphical`` for this install (the
    bundled executable, or this Python with the app package)."""
    args = ["setup", "virtual-camera", "--graphical"]
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "app.cli", *args]


class VirtualCameraSetup:
    """Owns the button and the running set-up; ``done`` is called once it has finished."""

    def __init__(self, parent: QWidget, done: Callable[[], None]) -> None:
        self.parent = parent
        self.done = done
        self.button = QPushButton(BUTTON_TEXT, parent)
        self.button.setToolTip(
            "Install and load the virtual camera driver (v4l2loopback on Linux; asks for "
            "your password once), or say what to click on Windows and macOS"
        )
        self.button.clicked.connect(self.start)
        self.process: QProcess | None = None
        self.output = ""
        self.message: QMessageBox | None = None

    def start(self) -> None:
        if self.process is not None:
            return
        program, *args = setup_command()
        self.output = ""
        process = QProcess(self.parent)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._failed)
        self.process = process
        self.button.setEnabled(False)
        self.button.setText("Setting up the virtual camera…")
        process.start(program, args)

    def _read(self) -> None:
        if self.process is not None:
            self.output += bytes(self.process.readAllStandardOutput().data()).decode(
                "utf-8", "replace"
            )

    def _failed(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._show(False, f"camfx could not start its set-up ({setup_command()[0]}).")

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        self._show(code == 0, self.output.strip() or f"The set-up ended with code {code}.")

    def _show(self, ok: bool, text: str) -> None:
        if self.process is not None:
            self.process.deleteLater()
        self.process = None
        self.button.setEnabled(True)
        self.button.setText(BUTTON_TEXT)
        lines = [line.removeprefix("camfx setup: ") for line in text.splitlines()]
        lines = [line[:1].upper() + line[1:] for line in lines]
        box = QMessageBox(
            QMessageBox.Icon.Information if ok else QMessageBox.Icon.Warning,
            "Virtual camera set-up",
            ("The virtual camera is ready." if ok else "The virtual camera is not ready yet.")
            + "\n\n"
            + "\n".join(lines),
            QMessageBox.StandardButton.Ok,
            self.parent,
        )
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.message = box
        box.open()
        self.done()
