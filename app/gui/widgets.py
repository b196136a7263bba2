"""Small widgets: the message bars above the preview and the device status rows."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.icons import status_dot
from app.gui.qtcompat import emit

ELIDED_MIN_CHARS = 12
"""An :class:`ElidedLabel` asks for room for this many average characters at least, and
shows the rest of its text as "…" when it gets less."""

REFRESH = "Refresh"
"""The one name of every "look again" action (buttons, how-to-fix texts)."""

LEVEL_COLORS = {
    "info": ("#dbeafe", "#1e3a8a", "#1e3a8a"),
    "warning": ("#fef3c7", "#78350f", "#92400e"),
    "error": ("#fee2e2", "#7f1d1d", "#991b1b"),
}
DARK_LEVEL_COLORS = {
    "info": ("#1e3a5f", "#dbeafe", "#93c5fd"),
    "warning": ("#4a3410", "#fef3c7", "#fcd34d"),
    "error": ("#4c1d1d", "#fee2e2", "#fca5a5"),
}


def is_dark(widget: QWidget | None = None) -> bool:
    palette = widget.palette() if widget is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class ElidedLabel(QLabel):
    """A one-line label that never makes its window wider than the window's other contents
    need: with less room than its text wants, it ends the text with "…" (its tooltip, set by
    the caller, has the whole text)."""

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        room = self.fontMetrics().averageCharWidth() * ELIDED_MIN_CHARS
        return QSize(min(hint.width(), room), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        metrics = self.fontMetrics()
        if metrics.horizontalAdvance(self.text()) <= rect.width():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        shown = metrics.elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(self.alignment()), shown)

    def shown_text(self) -> str:
        """What the label shows at its present width (tests, accessibility checks)."""
        metrics = self.fontMetrics()
        width = self.contentsRect().width()
        return metrics.elidedText(self.text(), Qt.TextElideMode.ElideRight, width)


class MessageBar(QFrame):
    """A dismissible message with optional action buttons (keyboard reachable)."""

    closed = Signal(str)

    def __init__(
        self,
        key: str,
        text: str,
        level: str = "info",
        actions: Sequence[tuple[str, Callable[[], None]]] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.key = key
        self.level = level
        self.setObjectName(f"message-{key}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"{level}: {text}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(text, self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.label, 1)
        self.buttons: dict[str, QPushButton] = {}
        for label, callback in actions:
            button = QPushButton(label, self)
            button.clicked.connect(callback)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            self.buttons[label.replace("&", "")] = button
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss message")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.restyle()

    @property
    def text(self) -> str:
        return self.label.text()

    def restyle(self) -> None:
        colors = DARK_LEVEL_COLORS if is_dark(self) else LEVEL_COLORS
        bg, fg, border = colors.get(self.level, colors["info"])
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background: {bg}; border: 1px solid {border};"
            f" border-radius: 6px; }} QFrame#{self.objectName()} > QLabel {{ color: {fg}; }}"
        )

    def dismiss(self) -> None:
        self.hide()
        emit(self.closed, self.key)
        self.deleteLater()


class MessageArea(QWidget):
    """A stack of :class:`MessageBar`; showing a key again replaces its message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.bars: dict[str, MessageBar] = {}

    def show_message(
        self,
        key: str,
        text: str,
        level: str = "info",
        actions: Sequence[tuple[str, Callable[[], None]]] = (),
    ) -> MessageBar:
        self.clear(key)
        bar = MessageBar(key, text, level, actions, self)
        bar.closed.connect(lambda k: self.bars.pop(k, None))
        self._layout.addWidget(bar)
        self.bars[key] = bar
        return bar

    def clear(self, key: str) -> None:
        old = self.bars.pop(key, None)
        if old is not None:
            self._layout.removeWidget(old)
            old.hide()
            old.deleteLater()

    def texts(self) -> dict[str, str]:
        return {k: b.text for k, b in self.bars.items()}

    def restyle(self) -> None:
        for bar in self.bars.values():
            bar.restyle()


STATE_LOOK = {
    "ok": ("#16a34a", "Working"),
    "off": ("#9ca3af", "Off"),
    "busy": ("#2563eb", "Starting"),
    "warning": ("#d97706", "Needs attention"),
    "error": ("#dc2626", "Not working"),
}


class DeviceRow(QWidget):
    """One device: a coloured dot *and* a word for its state, a message, and, when something
    is missing, how to fix it (selectable text, a copyable command, a Refresh button)."""

    retry = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.state = "off"
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setHorizontalSpacing(6)
        self.dot = QLabel(self)
        self.heading = QLabel(f"<b>{title}</b>", self)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix = QLabel(self)
        self.fix.setWordWrap(True)
        self.fix.setTextFormat(Qt.TextFormat.PlainText)
        self.fix.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.fix.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.command = QLabel(self)
        self.command.setTextFormat(Qt.TextFormat.PlainText)
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.command.setStyleSheet("font-family: monospace;")
        self.copy_button = QPushButton("Copy command", self)
        self.copy_button.clicked.connect(self._copy)
        self.retry_button = QPushButton(REFRESH, self)
        self.retry_button.clicked.connect(self.retry)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.retry_button)
        buttons.addStretch(1)
        grid.addWidget(self.dot, 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.heading, 0, 1)
        grid.addWidget(self.message, 1, 1)
        grid.addWidget(self.fix, 2, 1)
        grid.addWidget(self.command, 3, 1)
        grid.addLayout(buttons, 4, 1)
        grid.setColumnStretch(1, 1)
        self.set_state("off", "")

    def set_state(
        self,
        state: str,
        message: str,
        fix: str = "",
        command: str = "",
        can_retry: bool = False,
    ) -> None:
        self.state = state
        color, word = STATE_LOOK.get(state, STATE_LOOK["off"])
        self.dot.setPixmap(status_dot(color, 12, self.devicePixelRatioF()))
        self.heading.setText(f"<b>{self.title}</b> — {word}")
        self.message.setText(message)
        self.message.setVisible(bool(message))
        self.fix.setText(f"How to fix: {fix}" if fix else "")
        self.fix.setVisible(bool(fix))
        self.command.setText(command)
        self.command.setVisible(bool(command))
        self.copy_button.setVisible(bool(command))
        self.retry_button.setVisible(can_retry)
        self.setAccessibleName(f"{self.title}: {word}. {message} {self.fix.text()}".strip())

    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.command.text())

    def text(self) -> str:
        parts = [self.heading.text(), self.message.text(), self.fix.text(), self.command.text()]
        return " ".join(p for p in parts if p)


def camera_fix_hint(platform: str | None = None) -> str:
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return (
            f"plug in a camera and press {REFRESH}. If it is plugged in, check that your user may "
            "use it (sudo usermod -aG video $USER, then log out and in) and that no other app "
            "holds it."
        )
    if platform == "darwin":
        return (
            "plug in a camera, then allow camfx (or your terminal) in System Settings > Privacy "
            f"& Security > Camera, and press {REFRESH}."
        )
    return (
        "plug in a camera, then turn on 'Let desktop apps access your camera' in Settings > "
        f"Privacy & security > Camera, and press {REFRESH}."
    )


def select_data(combo: QComboBox, data: Any) -> None:
    """Select the entry whose data is ``data`` without emitting the user's signals."""
    for i in range(combo.count()):
        if combo.itemData(i) == data:
            combo.blockSignals(True)
            combo.setCurrentIndex(i)
            combo.blockSignals(False)
            return


def set_checked_quietly(widgets: Sequence[Any], on: bool) -> None:
    """Check or uncheck the button and the menu entry of one action, quietly."""
    for widget in widgets:
        widget.blockSignals(True)
        widget.setChecked(on)
        widget.blockSignals(False)
