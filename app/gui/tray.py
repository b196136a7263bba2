"""The tray icon and its menu: presets, virtual camera, pause, open window, quit."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.gui.icons import app_icon
from app.gui.qtcompat import emit


class Tray(QObject):
    presetChosen = Signal(str)
    virtualCameraToggled = Signal(bool)
    pauseToggled = Signal(bool)
    openWindow = Signal()
    quitRequested = Signal()
    menuOpening = Signal()
    """The menu is about to show: its presets are listed anew from the folder first (a
    preset file added, fixed or removed meanwhile was listed only at the window's next pick)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The actions belong to this object, not to the menu: QMenu.clear() deletes the
        # actions it owns, and the menu is rebuilt whenever the presets change.
        self.menu = QMenu(parent)
        self.menu.setObjectName("tray-menu")
        self.menu.aboutToShow.connect(self.menuOpening)
        self.header = QAction("camfx", self)
        self.header.setEnabled(False)
        self.preset_group = QActionGroup(self)
        self.preset_group.setExclusive(True)
        self.preset_actions: dict[str, QAction] = {}
        self.vcam_action = QAction("&Virtual camera", self)
        self.vcam_action.setCheckable(True)
        self.vcam_action.toggled.connect(self.virtualCameraToggled)
        self.pause_action = QAction("&Pause video", self)
        self.pause_action.setCheckable(True)
        self.pause_action.toggled.connect(self.pauseToggled)
        self.open_action = QAction("&Open camfx", self)
        self.open_action.triggered.connect(self.openWindow)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.triggered.connect(self.quitRequested)
        self.icon: QSystemTrayIcon | None = None
        self.state = "idle"
        self.tooltip = "camfx"
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(app_icon("idle"), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
        self.set_presets([], "")

    @property
    def available(self) -> bool:
        return self.icon is not None

    def show(self) -> None:
        if self.icon is not None:
            self.icon.show()

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            emit(self.openWindow)

    def set_presets(self, presets: list[tuple[str, str]], current: str) -> None:
        """``presets``: (key, label) in menu order; built-ins first, then the user's."""
        self.menu.clear()
        for action in self.preset_actions.values():
            self.preset_group.removeAction(action)
            action.deleteLater()
        self.preset_actions = {}
        self.menu.addAction(self.header)
        self.menu.addSeparator()
        last_kind = None
        for key, label in presets:
            kind = key.split(":", 1)[0]
            if last_kind is not None and kind != last_kind:
                self.menu.addSeparator()
            last_kind = kind
            action = QAction(label.replace("&", "&&"), self)
            action.setCheckable(True)
            action.setChecked(key == current)
            action.setData(key)
            action.triggered.connect(lambda _checked=False, k=key: emit(self.presetChosen, k))
            self.preset_group.addAction(action)
            self.menu.addAction(action)
            self.preset_actions[key] = action
        self.menu.addSeparator()
        self.menu.addAction(self.vcam_action)
        self.menu.addAction(self.pause_action)
        self.menu.addSeparator()
        self.menu.addAction(self.open_action)
        self.menu.addAction(self.quit_action)

    def set_current_preset(self, key: str) -> None:
        for k, action in self.preset_actions.items():
            action.setChecked(k == key)

    def show_state(self, look: str, text: str, *, vcam_on: bool, paused: bool) -> None:
        """Show the app's state (:meth:`app.state.AppState.tray_look`): the icon's ``look``,
        the line that says what camfx does, and the checks."""
        self.vcam_action.blockSignals(True)
        self.vcam_action.setChecked(vcam_on)
        self.vcam_action.blockSignals(False)
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)
        self.header.setText(text)
        self.state = look
        self.tooltip = text
        if self.icon is not None:
            self.icon.setIcon(app_icon(look))
            self.icon.setToolTip(text)

    def notify(self, title: str, message: str) -> None:
        if self.icon is not None and self.icon.supportsMessages():
            self.icon.showMessage(title, message, app_icon(self.state), 5000)
