"""The Help menu's dialogs."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from pipelines.outputs.virtualcam import V4L2_MODPROBE, setup_hint


def show_vcam_help(parent: QWidget) -> None:
    text = f"To use the virtual camera: {setup_hint()}."
    if sys.platform.startswith("linux"):
        text += (
            f"\n\nThe command:\n{V4L2_MODPROBE}\n\nTo load it at every start, put "
            "“v4l2loopback” in /etc/modules-load.d/v4l2loopback.conf and the options "
            "“options v4l2loopback devices=1 video_nr=10 card_label=camfx "
            "exclusive_caps=1” in /etc/modprobe.d/v4l2loopback.conf."
        )
    box = QMessageBox(
        QMessageBox.Icon.Information,
        "Virtual camera setup",
        text,
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


def show_about(parent: QWidget) -> None:
    QMessageBox.about(
        parent,
        "About camfx",
        "camfx: real-time webcam effects for video calls, sent to a virtual "
        "camera. Everything runs on this computer; nothing is uploaded.",
    )
