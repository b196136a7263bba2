"""The main window: preview, source and output pickers, effect panels, devices, status.

It is a view: it keeps no processing state of its own beyond what to show, sends every
request to :class:`EngineController` (which does the slow parts on its worker thread) and
updates itself from the controller's signals. Settings and presets are read and written
through :mod:`pipelines.userdata`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QStandardPaths, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QGuiApplication,
    QKeySequence,
    QPalette,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.controller import EngineController
from app.gui.hotkeys import DEFAULT_BINDINGS, GlobalHotkeys
from app.gui.icons import app_icon
from app.gui.panels import EffectsPanel
from app.gui.plumbing import STANDARD_MODES, format_mode
from app.gui.presets_dialog import PresetsDialog
from app.gui.preview import PreviewWidget
from app.gui.tray import Tray
from app.gui.vcam_setup import VirtualCameraSetup
from app.gui.widgets import DeviceRow, MessageArea, camera_fix_hint
from pipelines.errors import CamfxError
from pipelines.outputs.virtualcam import V4L2_MODPROBE, setup_hint
from pipelines.presets import PRESETS, Preset, StageSpec
from pipelines.sources.camera import CameraInfo
from pipelines.sources.files import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from pipelines.stage import STAGES, StageSettings
from pipelines.userdata import (
    BUILTIN,
    USER,
    AppSettings,
    PresetStore,
    SettingsStore,
    display_name,
    preset_key,
    resolve_preset,
    split_preset_key,
)

log = logging.getLogger(__name__)

OUTPUT_SIZES = ((640, 360), (960, 540), (1280, 720), (1920, 1080))
OUTPUT_FPS = (15.0, 24.0, 25.0, 30.0, 60.0)
OPEN_IMAGE = "<open-image>"
OPEN_VIDEO = "<open-video>"


def jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def themed_palette(dark: bool) -> QPalette:
    """Fusion's palettes: its standard light one, or the usual dark variant."""
    from PySide6.QtWidgets import QStyleFactory

    fusion = QStyleFactory.create("Fusion")
    if not dark:
        return fusion.standardPalette()
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colors = {
        role.Window: "#2b2b2b",
        role.WindowText: "#ececec",
        role.Base: "#1f1f1f",
        role.AlternateBase: "#333333",
        role.ToolTipBase: "#2b2b2b",
        role.ToolTipText: "#ececec",
        role.PlaceholderText: "#8a8a8a",
        role.Text: "#ececec",
        role.Button: "#353535",
        role.ButtonText: "#ececec",
        role.BrightText: "#ff6b6b",
        role.Link: "#6ea8ff",
        role.Highlight: "#3d7bd9",
        role.HighlightedText: "#ffffff",
        role.Light: "#4a4a4a",
        role.Midlight: "#404040",
        role.Mid: "#2f2f2f",
        role.Dark: "#1a1a1a",
        role.Shadow: "#000000",
    }
    for r, c in colors.items():
        p.setColor(r, QColor(c))
    for r in (role.Text, role.ButtonText, role.WindowText):
        p.setColor(group.Disabled, r, QColor("#7a7a7a"))
    return p


def stage_title(name: str) -> str:
    cls = STAGES.get(name) if name in STAGES else None
    return str(getattr(cls, "title", "") or display_name(name))


def source_label(spec: str, cameras: list[CameraInfo] | None = None) -> str:
    kind, _, arg = spec.partition(":")
    if spec == "demo" or kind == "demo":
        return "Demo (no camera needed)"
    if kind == "camera":
        name = next((c.name for c in cameras or [] if c.device == arg), "")
        return f"Camera {arg or 0}: {name}" if name else f"Camera {arg or 0}"
    if kind in ("image", "video"):
        return f"{kind.title()}: {Path(arg).name}"
    return spec


class MainWindow(QMainWindow):
    def __init__(
        self,
        controller: EngineController,
        settings_store: SettingsStore,
        preset_store: PresetStore,
        *,
        use_tray: bool = True,
        use_hotkeys: bool = True,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.settings_store = settings_store
        self.presets = preset_store
        self.settings: AppSettings = settings_store.load()
        self.first_run = settings_store.first_run
        self.use_hotkeys = use_hotkeys
        self.preset_key = self.settings.preset
        self.preset: Preset = Preset("off")
        self.stage_settings: dict[str, StageSettings] = {}
        self.base_settings: dict[str, dict[str, Any]] = {}
        self.cameras: list[CameraInfo] = []
        self.vcam_state = "off"
        self.vcam_detail = ""
        self.paused = False
        self.recording = False
        self.source_spec = ""
        self.source_info: dict[str, Any] = {}
        self._requested_source = ""
        self.last_error = ""
        self._quitting = False
        self._shut_down = False
        self._system_look: tuple[QPalette, str] | None = None
        self._preset_applied = False
        self._preset_error_key = ""
        self._themed = False
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(800)
        self._save_timer.timeout.connect(self.save_settings)

        self.setWindowTitle("camfx")
        self.setWindowIcon(app_icon("live"))
        self.setObjectName("main-window")
        self._build_ui()
        self._build_menus()
        self.tray = Tray(self) if use_tray else None
        if self.tray is None or not self.tray.available:
            self.tray_action.setEnabled(False)
            self.tray_action.setText("Keep running in the tray when closed (no system tray found)")
        if self.tray is not None:
            self.tray.presetChosen.connect(self.choose_preset)
            self.tray.virtualCameraToggled.connect(self.set_virtual_camera)
            self.tray.pauseToggled.connect(self.set_paused)
            self.tray.openWindow.connect(self.show_window)
            self.tray.quitRequested.connect(self.quit)
        self.hotkeys = GlobalHotkeys(self)
        self.hotkeys.activated.connect(self._on_hotkey)
        self._connect_controller()
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(500)
        self.status_timer.timeout.connect(self.update_status)
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode()))
        else:
            self.resize(1180, 720)

    # ================================================================= UI
    def _build_ui(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 8, 8, 4)

        # Preset bar.
        bar = QHBoxLayout()
        preset_label = QLabel("&Preset:", central)
        self.preset_combo = QComboBox(central)
        self.preset_combo.setObjectName("preset-combo")
        self.preset_combo.setMinimumWidth(200)
        self.preset_combo.activated.connect(self._on_preset_combo)
        preset_label.setBuddy(self.preset_combo)
        self.changed_label = QLabel("", central)
        self.changed_label.setObjectName("changed-label")
        self.reset_button = QPushButton("Rese&t", central)
        self.reset_button.setToolTip("Drop your changes and go back to the preset as saved")
        self.reset_button.clicked.connect(self.reset_changes)
        self.save_button = QPushButton("&Save", central)
        self.save_button.clicked.connect(self.save_preset)
        self.save_as_button = QPushButton("Save &as new…", central)
        self.save_as_button.clicked.connect(self.save_preset_as)
        self.manage_button = QPushButton("&Manage…", central)
        self.manage_button.clicked.connect(self.manage_presets)
        self.pause_button = QPushButton("Pa&use", central)
        self.pause_button.setObjectName("pause-button")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Send a still 'paused' picture instead of the camera (Ctrl+P)")
        self.pause_button.toggled.connect(self.set_paused)
        self.compare_button = QPushButton("&Compare", central)
        self.compare_button.setObjectName("compare-button")
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip("Show the input on the left half, the result on the right")
        self.compare_button.toggled.connect(self.set_compare)
        for w in (
            preset_label,
            self.preset_combo,
            self.changed_label,
            self.reset_button,
            self.save_button,
            self.save_as_button,
            self.manage_button,
        ):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.compare_button)
        bar.addWidget(self.pause_button)
        outer.addLayout(bar)

        splitter = QSplitter(Qt.Orientation.Horizontal, central)
        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.messages = MessageArea(left)
        left_layout.addWidget(self.messages)
        self.preview = PreviewWidget(self.controller.preview, left)
        left_layout.addWidget(self.preview, 1)
        splitter.addWidget(left)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self._build_source_group(side))
        side_layout.addWidget(self._build_output_group(side))
        effects_box = QGroupBox("Effects", side)
        effects_layout = QVBoxLayout(effects_box)
        self.effects = EffectsPanel(effects_box)
        self.effects.settingsChanged.connect(self.on_stage_settings)
        self.effects.problem.connect(
            lambda text: self.messages.show_message("setting", text, "warning")
        )
        effects_layout.addWidget(self.effects)
        side_layout.addWidget(effects_box)
        side_layout.addWidget(self._build_devices_group(side))
        side_layout.addStretch(1)
        scroll = QScrollArea(splitter)
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(360)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([660, 440])
        self.splitter = splitter
        outer.addWidget(splitter, 1)
        self.setCentralWidget(central)

        status = QStatusBar(self)
        self.fps_label = QLabel("— fps", status)
        self.latency_label = QLabel("latency —", status)
        self.drops_label = QLabel("dropped 0", status)
        self.provider_label = QLabel("inference: —", status)
        for w in (self.fps_label, self.latency_label, self.drops_label, self.provider_label):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            status.addPermanentWidget(w)
        self.setStatusBar(status)

    def _build_source_group(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Source", parent)
        form = QFormLayout(box)
        row = QHBoxLayout()
        self.source_combo = QComboBox(box)
        self.source_combo.setObjectName("source-combo")
        self.source_combo.activated.connect(self._on_source_combo)
        refresh = QToolButton(box)
        refresh.setText("↻")
        refresh.setToolTip("Look for cameras again")
        refresh.setAccessibleName("Refresh cameras")
        refresh.clicked.connect(self.controller.list_cameras)
        row.addWidget(self.source_combo, 1)
        row.addWidget(refresh)
        label = QLabel("S&ource:", box)
        label.setBuddy(self.source_combo)
        form.addRow(label, row)
        self.mode_combo = QComboBox(box)
        self.mode_combo.setObjectName("mode-combo")
        self.mode_combo.activated.connect(self._on_mode_combo)
        self.mode_label = QLabel("Mo&de:", box)
        self.mode_label.setBuddy(self.mode_combo)
        form.addRow(self.mode_label, self.mode_combo)
        self.source_state = QLabel("", box)
        self.source_state.setWordWrap(True)
        self.source_state.setObjectName("source-state")
        form.addRow(self.source_state)
        self._set_mode_visible(False)
        return box

    def _build_output_group(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Output", parent)
        form = QFormLayout(box)
        self.vcam_check = QCheckBox("&Virtual camera", box)
        self.vcam_check.setObjectName("vcam-check")
        self.vcam_check.setToolTip("Send the result to a camera that meeting apps can pick")
        self.vcam_check.toggled.connect(self.set_virtual_camera)
        self.vcam_label = QLabel("Off", box)
        self.vcam_label.setWordWrap(True)
        self.vcam_label.setObjectName("vcam-state")
        form.addRow(self.vcam_check, self.vcam_label)
        self.record_button = QPushButton("● &Record", box)
        self.record_button.setObjectName("record-button")
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self.set_recording)
        self.record_label = QLabel("", box)
        self.record_label.setWordWrap(True)
        self.record_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder = QPushButton("&Folder…", box)
        folder.setToolTip("Where recordings are saved")
        folder.clicked.connect(self.choose_record_folder)
        rec_row = QHBoxLayout()
        rec_row.addWidget(self.record_button)
        rec_row.addWidget(folder)
        rec_row.addStretch(1)
        form.addRow("Recording:", rec_row)
        form.addRow(self.record_label)
        self._update_record_label()
        fmt_row = QHBoxLayout()
        self.size_combo = QComboBox(box)
        self.size_combo.setObjectName("size-combo")
        for w, h in OUTPUT_SIZES:
            self.size_combo.addItem(f"{w}×{h}", [w, h])
        self.fps_combo = QComboBox(box)
        for fps in OUTPUT_FPS:
            self.fps_combo.addItem(f"{fps:g} fps", fps)
        self._select_data(self.size_combo, list(self.settings.output_size))
        self._select_data(self.fps_combo, self.settings.fps)
        self.size_combo.activated.connect(self._on_format)
        self.fps_combo.activated.connect(self._on_format)
        fmt_row.addWidget(self.size_combo, 1)
        fmt_row.addWidget(self.fps_combo, 1)
        size_label = QLabel("Si&ze:", box)
        size_label.setBuddy(self.size_combo)
        form.addRow(size_label, fmt_row)
        return box

    def _build_devices_group(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Devices", parent)
        layout = QVBoxLayout(box)
        self.device_rows = {
            "camera": DeviceRow("Camera", box),
            "virtual_camera": DeviceRow("Virtual camera", box),
            "microphone": DeviceRow("Microphone", box),
            "inference": DeviceRow("Inference", box),
        }
        for row in self.device_rows.values():
            layout.addWidget(row)
        self.device_rows["virtual_camera"].retry.connect(self.controller.retry_virtual_camera)
        self.device_rows["camera"].retry.connect(self.controller.list_cameras)
        self.device_rows["microphone"].retry.connect(self.controller.probe_devices)
        refresh = QPushButton("Check &devices again", box)
        refresh.clicked.connect(self.refresh_devices)
        layout.addWidget(refresh, 0, Qt.AlignmentFlag.AlignLeft)
        self.vcam_setup = VirtualCameraSetup(box, done=self.refresh_devices)
        layout.addWidget(self.vcam_setup.button, 0, Qt.AlignmentFlag.AlignLeft)
        self.hotkey_label = QLabel("", box)
        self.hotkey_label.setWordWrap(True)
        self.hotkey_label.setObjectName("hotkey-label")
        layout.addWidget(self.hotkey_label)
        self.device_rows["virtual_camera"].set_state(
            "off", "Off. Turn on “Virtual camera” under Output to send the result to meeting apps."
        )
        return box

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.add_action(file_menu, "&Import preset…", self.import_preset)
        self.add_action(file_menu, "&Export current preset…", self.export_preset)
        file_menu.addSeparator()
        self.add_action(file_menu, "&Quit", self.quit, QKeySequence.StandardKey.Quit)

        presets_menu = menu.addMenu("&Presets")
        self.add_action(presets_menu, "&Next preset", self.next_preset, "Ctrl+Shift+N")
        self.add_action(presets_menu, "&Save", self.save_preset, QKeySequence.StandardKey.Save)
        self.add_action(presets_menu, "Save &as new…", self.save_preset_as, "Ctrl+Shift+S")
        self.add_action(presets_menu, "&Reset changes", self.reset_changes)
        self.add_action(presets_menu, "&Manage…", self.manage_presets)

        video = menu.addMenu("&Video")
        self.pause_action = self.add_action(video, "&Pause", None, "Ctrl+P")
        self.pause_action.setCheckable(True)
        self.pause_action.toggled.connect(self.set_paused)
        self.compare_action = self.add_action(video, "&Compare with input", None, "Ctrl+I")
        self.compare_action.setCheckable(True)
        self.compare_action.toggled.connect(self.set_compare)
        self.vcam_action = self.add_action(video, "&Virtual camera", None, "Ctrl+Shift+V")
        self.vcam_action.setCheckable(True)
        self.vcam_action.toggled.connect(self.set_virtual_camera)
        self.record_action = self.add_action(video, "&Record", None, "Ctrl+R")
        self.record_action.setCheckable(True)
        self.record_action.toggled.connect(self.set_recording)
        video.addSeparator()
        self.add_action(video, "Open &image…", lambda: self.open_file("image"), "Ctrl+O")
        self.add_action(video, "Open vi&deo…", lambda: self.open_file("video"), "Ctrl+Shift+O")

        settings_menu = menu.addMenu("&Settings")
        self.tray_action = self.add_action(
            settings_menu, "Keep running in the &tray when closed", None
        )
        self.tray_action.setCheckable(True)
        self.tray_action.setChecked(self.settings.close_to_tray)
        self.tray_action.toggled.connect(self._set_close_to_tray)
        self.hotkeys_action = self.add_action(settings_menu, "&Global hotkeys", None)
        self.hotkeys_action.setCheckable(True)
        self.hotkeys_action.setChecked(self.settings.hotkeys)
        self.hotkeys_action.toggled.connect(self._set_hotkeys)
        theme_menu = settings_menu.addMenu("T&heme")
        group = QActionGroup(self)
        for value, label in (("system", "&System"), ("light", "&Light"), ("dark", "&Dark")):
            action = theme_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(self.settings.theme == value)
            action.triggered.connect(lambda _c=False, v=value: self.set_theme(v))
            group.addAction(action)

        help_menu = menu.addMenu("&Help")
        self.add_action(help_menu, "&Virtual camera setup…", self.show_vcam_help)
        self.add_action(help_menu, "&About camfx", self.show_about)

    def add_action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # ================================================================= start / stop
    def _connect_controller(self) -> None:
        c = self.controller
        c.sourceChanged.connect(self.on_source_changed)
        c.sourceFailed.connect(self.on_source_failed)
        c.camerasListed.connect(self.on_cameras)
        c.presetApplied.connect(self.on_preset_applied)
        c.presetFailed.connect(self.on_preset_failed)
        c.virtualCameraChanged.connect(self.on_vcam_state)
        c.recordingChanged.connect(self.on_recording_state)
        c.pausedChanged.connect(self.on_paused)
        c.engineProblem.connect(self.on_engine_problem)
        c.devicesProbed.connect(self.on_devices)

    def start(self) -> None:
        """Restore the last session: problems with saved files, output format, source,
        preset (with its unsaved edits), virtual camera; then probe devices."""
        for problem in self.settings_store.problems:
            self.messages.show_message("settings-file", str(problem), "warning")
        self.presets.load()
        if self.presets.problems:
            self.show_preset_problems()
        self.apply_theme()
        size = (int(self.settings.output_size[0]), int(self.settings.output_size[1]))
        self.controller.start(size, self.settings.fps)
        self.controller.list_cameras()
        spec = self.settings.source
        self._requested_source = spec
        mode = self.settings.camera_modes.get(spec)
        self.controller.set_source(spec, tuple(mode) if mode else None)  # type: ignore[arg-type]
        self.refresh_preset_lists()
        self.choose_preset(self.settings.preset, restoring=True)
        if self.settings.virtual_camera:
            self.controller.set_virtual_camera(True, self.settings.virtual_camera_device)
            self._sync_vcam_controls(True)
        self.controller.probe_devices()
        if self.settings.hotkeys and self.use_hotkeys:
            self._start_hotkeys()
        else:
            self.hotkey_label.setText("Global hotkeys are off (Settings menu).")
        self.status_timer.start()
        if self.tray is not None:
            self.tray.show()
            self._update_tray()

    def show_window(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._quitting:
            event.accept()
            return
        if self.settings.close_to_tray and self.tray is not None and self.tray.available:
            event.ignore()
            self.save_settings()
            self.hide()
            if not self.settings.tray_hint_shown:
                self.tray.notify(
                    "camfx is still running",
                    "The virtual camera keeps working. Use the tray icon to open "
                    "the window or to quit.",
                )
                self.settings.tray_hint_shown = True
                self.save_settings()
            return
        event.accept()
        self.quit()

    def quit(self) -> None:
        """Save, stop every thread, and end the app's event loop."""
        self._quitting = True
        self.shutdown()
        self.close()
        app = QApplication.instance()
        if app is not None:
            app.quit()

    def shutdown(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        self.save_settings()
        self.status_timer.stop()
        self._save_timer.stop()
        self.preview.stop()
        self.hotkeys.stop()
        if self.tray is not None:
            self.tray.hide()
        self.controller.shutdown()

    def save_settings(self) -> None:
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode()
        try:
            self.settings_store.save(self.settings)
        except CamfxError as exc:
            self.messages.show_message("save", f"Settings could not be saved: {exc}", "error")

    def _schedule_save(self) -> None:
        self._save_timer.start()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.ThemeChange,
            QEvent.Type.ApplicationPaletteChange,
            QEvent.Type.StyleChange,
        ):
            self.messages.restyle()
        super().changeEvent(event)

    # ================================================================= presets
    def preset_entries(self) -> list[tuple[str, str]]:
        names = PRESETS.names()
        names = (["off"] if "off" in names else []) + [n for n in names if n != "off"]
        entries = [(preset_key(BUILTIN, n), display_name(n)) for n in names]
        entries += [(preset_key(USER, p.name), p.name) for p in self.presets.list()]
        return entries

    def preset_label(self, key: str) -> str:
        kind, name = split_preset_key(key)
        return display_name(name) if kind == BUILTIN else name

    def refresh_preset_lists(self) -> None:
        entries = self.preset_entries()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        last_kind = None
        for key, label in entries:
            kind = key.split(":", 1)[0]
            if last_kind is not None and kind != last_kind:
                self.preset_combo.insertSeparator(self.preset_combo.count())
            last_kind = kind
            self.preset_combo.addItem(label, key)
        self._select_data(self.preset_combo, self.preset_key)
        self.preset_combo.blockSignals(False)
        if self.tray is not None:
            self.tray.set_presets(entries, self.preset_key)

    def show_preset_problems(self) -> None:
        text = "Some of your presets could not be loaded:\n" + "\n".join(
            f"• {p}" for p in self.presets.problems
        )
        self.messages.show_message(
            "preset-files", text, "warning", [("Open folder", self._open_preset_folder)]
        )

    def _open_preset_folder(self) -> None:
        self.presets.folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.presets.folder)))

    def _on_preset_combo(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        if key:
            self.choose_preset(key)

    def choose_preset(self, key: str, restoring: bool = False) -> None:
        """Switch to the preset ``key``; its unsaved edits from earlier come back with it."""
        try:
            preset = resolve_preset(key, self.presets)
        except CamfxError as exc:
            self._preset_error_key = key
            if restoring:
                self.messages.show_message(
                    "preset",
                    f"The last used preset is not available ({exc}); using Off.",
                    "warning",
                )
            else:
                self.messages.show_message("preset", str(exc), "error")
            key, preset = preset_key(BUILTIN, "off"), PRESETS.get("off")
        self.controller.apply_preset(key, preset, self.settings.preset_overrides.get(key, {}))

    def on_preset_applied(
        self, key: str, stages: list[tuple[str, StageSettings]], problems: list[str]
    ) -> None:
        try:
            preset = resolve_preset(key, self.presets)
        except CamfxError:
            preset = Preset(split_preset_key(key)[1])
        self.preset_key = key
        self.preset = preset
        self._preset_applied = True
        self.stage_settings = dict(stages)
        self.base_settings = {}
        for spec in preset.stages:
            try:
                st = STAGES.get(spec.stage).settings_type.from_dict(dict(spec.settings))
                self.base_settings[spec.stage] = jsonable(st.to_dict())
            except (CamfxError, KeyError):
                self.base_settings[spec.stage] = {}
        titles = {name: stage_title(name) for name, _ in stages}
        self.effects.set_stages(stages, titles)
        self._select_data(self.preset_combo, key)
        self.settings.preset = key
        self._store_overrides()
        self._update_preset_buttons()
        if key == self._preset_error_key:
            # The preset that failed before works now: its message is stale.
            self.messages.clear("preset")
            self._preset_error_key = ""
        if problems:
            self.messages.show_message(
                "preset-edits",
                "Some of your unsaved changes to this preset no longer fit and were left out: "
                + "; ".join(problems),
                "warning",
            )
        self._update_tray()
        self._schedule_save()

    def on_preset_failed(self, key: str, message: str) -> None:
        self.messages.show_message(
            "preset", f"The preset “{self.preset_label(key)}” could not be used: {message}", "error"
        )
        self._preset_error_key = key
        if not self._preset_applied and key != preset_key(BUILTIN, "off"):
            # Nothing runs yet (the last session's preset failed at start): use Off.
            self.choose_preset(preset_key(BUILTIN, "off"))
            return
        self._select_data(self.preset_combo, self.preset_key)
        if self.tray is not None:
            self.tray.set_current_preset(self.preset_key)

    def on_stage_settings(self, stage: str, settings: StageSettings) -> None:
        self.controller.update_settings(stage, settings)
        self.stage_settings[stage] = settings
        self._store_overrides()
        self._update_preset_buttons()
        self._schedule_save()

    def overrides(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, settings in self.stage_settings.items():
            base = self.base_settings.get(name, {})
            current = jsonable(settings.to_dict())
            diff = {k: v for k, v in current.items() if base.get(k) != v}
            if diff:
                out[name] = diff
        return out

    def _store_overrides(self) -> None:
        diff = self.overrides()
        if diff:
            self.settings.preset_overrides[self.preset_key] = diff
        else:
            self.settings.preset_overrides.pop(self.preset_key, None)

    @property
    def modified(self) -> bool:
        return bool(self.overrides())

    def current_preset(self) -> Preset:
        """The preset as it is now on screen (with its edits)."""
        stages = tuple(
            StageSpec(name, jsonable(settings.to_dict()))
            for name, settings in self.stage_settings.items()
        )
        return Preset(self.preset.name, stages, self.preset.description)

    def _update_preset_buttons(self) -> None:
        modified = self.modified
        is_user = self.preset_key.startswith(f"{USER}:")
        self.changed_label.setText("• changed" if modified else "")
        self.changed_label.setToolTip(
            "You changed settings of this preset; they are kept until you reset them"
            if modified
            else ""
        )
        self.reset_button.setEnabled(modified)
        self.save_button.setEnabled(modified and is_user)
        self.save_button.setToolTip(
            "Save the changes into this preset"
            if is_user
            else "Built-in presets cannot be changed: use “Save as new…”"
        )

    def reset_changes(self) -> None:
        self.settings.preset_overrides.pop(self.preset_key, None)
        self.choose_preset(self.preset_key)

    def save_preset(self) -> None:
        kind, name = split_preset_key(self.preset_key)
        if kind != USER:
            self.save_preset_as()
            return
        current = self.current_preset()
        try:
            saved = self.presets.save(dataclasses.replace(current, name=name), overwrite=True)
        except CamfxError as exc:
            self.messages.show_message("preset", f"Could not save the preset: {exc}", "error")
            return
        self.settings.preset_overrides.pop(self.preset_key, None)
        self.preset = saved
        self.base_settings = {s.stage: jsonable(dict(s.settings)) for s in saved.stages}
        self._update_preset_buttons()
        self.statusBar().showMessage(f"Saved preset “{name}”", 4000)
        self._schedule_save()

    def save_preset_as(self, name: str | None = None) -> str | None:
        if name is None:
            suggested = self.presets.unique_name(f"{self.preset_label(self.preset_key)} (mine)")
            name, ok = QInputDialog.getText(
                self, "Save as new preset", "Name:", QLineEdit.EchoMode.Normal, suggested
            )
            if not ok or not name.strip():
                return None
        current = self.current_preset()
        try:
            saved = self.presets.save(dataclasses.replace(current, name=name))
        except CamfxError as exc:
            self.messages.show_message("preset", f"Could not save the preset: {exc}", "error")
            return None
        # The edits now live in the new preset; the old one goes back to as it was saved.
        self.settings.preset_overrides.pop(self.preset_key, None)
        key = preset_key(USER, saved.name)
        self.refresh_preset_lists()
        self.choose_preset(key)
        self.statusBar().showMessage(f"Saved new preset “{saved.name}”", 4000)
        return key

    def manage_presets(self) -> PresetsDialog:
        dialog = PresetsDialog(self.presets, self.current_preset, self)
        dialog.changed.connect(self.refresh_preset_lists)
        dialog.renamed.connect(self._on_preset_renamed)
        dialog.deleted.connect(self._on_preset_deleted)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_preset_renamed(self, old: str, new: str) -> None:
        edits = self.settings.preset_overrides.pop(old, None)
        if edits:
            self.settings.preset_overrides[new] = edits
        if self.settings.preset == old:
            self.settings.preset = new
        if self.preset_key == old:
            self.preset_key = new
            self.preset = resolve_preset(new, self.presets)
        self.refresh_preset_lists()
        self._update_tray()
        self._schedule_save()

    def _on_preset_deleted(self, key: str) -> None:
        self.settings.preset_overrides.pop(key, None)
        self.refresh_preset_lists()
        if self.preset_key == key:
            self.choose_preset(preset_key(BUILTIN, "off"))

    def next_preset(self) -> None:
        keys = [k for k, _ in self.preset_entries()]
        if not keys:
            return
        i = keys.index(self.preset_key) if self.preset_key in keys else -1
        self.choose_preset(keys[(i + 1) % len(keys)])

    def import_preset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import preset", str(Path.home()), "camfx presets (*.json);;All files (*)"
        )
        if not path:
            return
        try:
            made = self.presets.import_file(Path(path))
        except CamfxError as exc:
            self.messages.show_message("preset", f"Could not import {path}: {exc}", "error")
            return
        self.refresh_preset_lists()
        self.choose_preset(preset_key(USER, made.name))

    def export_preset(self) -> None:
        preset = self.current_preset()
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export preset",
            str(Path.home() / f"{preset.name}.json"),
            "camfx presets (*.json)",
        )
        if not path:
            return
        try:
            self.presets.export(preset, Path(path))
        except CamfxError as exc:
            self.messages.show_message("preset", f"Could not export: {exc}", "error")

    # ================================================================= source
    def _rebuild_source_combo(self) -> None:
        combo = self.source_combo
        combo.blockSignals(True)
        combo.clear()
        for cam in self.cameras:
            combo.addItem(
                source_label(f"camera:{cam.device}", self.cameras), f"camera:{cam.device}"
            )
        combo.addItem(source_label("demo"), "demo")
        current = self.source_spec
        known = {combo.itemData(i) for i in range(combo.count())}
        if current and current not in known:
            combo.addItem(source_label(current, self.cameras), current)
        for path in self.settings.recent_files:
            kind = "image" if Path(path).suffix.lower() in IMAGE_SUFFIXES else "video"
            spec = f"{kind}:{path}"
            if spec != current and os.path.exists(path):
                combo.addItem(source_label(spec), spec)
        combo.insertSeparator(combo.count())
        combo.addItem("Open image…", OPEN_IMAGE)
        combo.addItem("Open video…", OPEN_VIDEO)
        self._select_data(combo, current)
        combo.blockSignals(False)

    def _on_source_combo(self, index: int) -> None:
        spec = self.source_combo.itemData(index)
        if spec == OPEN_IMAGE:
            self.open_file("image")
        elif spec == OPEN_VIDEO:
            self.open_file("video")
        elif spec and spec != self.source_spec:
            self.set_source(spec)

    def set_source(self, spec: str) -> None:
        self._requested_source = spec
        mode = self.settings.camera_modes.get(spec)
        self.source_state.setText(f"Opening {source_label(spec, self.cameras)}…")
        self.controller.set_source(
            spec,
            tuple(mode) if mode else None,  # type: ignore[arg-type]
            fallback="",
        )

    def open_file(self, kind: str) -> None:
        suffixes = IMAGE_SUFFIXES if kind == "image" else VIDEO_SUFFIXES
        filt = f"{kind.title()}s ({' '.join('*' + s for s in suffixes)});;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self, f"Open {kind}", str(Path.home()), filt)
        if not path:
            self._select_data(self.source_combo, self.source_spec)
            return
        self.open_path(kind, path)

    def open_path(self, kind: str, path: str) -> None:
        recent = [p for p in self.settings.recent_files if p != path]
        self.settings.recent_files = [path, *recent][:10]
        self.set_source(f"{kind}:{path}")

    def _on_mode_combo(self, index: int) -> None:
        mode = self.mode_combo.itemData(index)
        if not mode or not self.source_spec.startswith("camera"):
            return
        self.settings.camera_modes[self.source_spec] = list(mode)
        self._requested_source = self.source_spec
        self.controller.set_source(self.source_spec, tuple(mode), fallback="")
        self._schedule_save()

    def _set_mode_visible(self, on: bool) -> None:
        self.mode_combo.setVisible(on)
        self.mode_label.setVisible(on)

    def on_cameras(self, cameras: list[CameraInfo]) -> None:
        self.cameras = list(cameras)
        self._rebuild_source_combo()
        self._update_camera_row()

    def on_source_changed(self, spec: str, description: str, info: dict[str, Any]) -> None:
        self.source_spec = spec
        self.source_info = info
        if spec == self._requested_source:
            # Only what the user picked is remembered: an automatic choice (first camera, the
            # demo when none, a fallback) is made again at the next start.
            self.settings.source = spec
        self._rebuild_source_combo()
        w, h = info.get("size", (0, 0))
        fps = float(info.get("fps", 0.0))
        if info.get("camera"):
            self._set_mode_visible(True)
            modes = [tuple(m) for m in info.get("modes") or []] or list(STANDARD_MODES)
            self.mode_combo.clear()
            for m in modes:
                self.mode_combo.addItem(format_mode(m), list(m))
            req = info.get("requested")
            chosen = self.settings.camera_modes.get(spec) or (list(req) if req else None)
            if chosen is not None:
                self._select_data(self.mode_combo, [chosen[0], chosen[1], float(chosen[2])])
            asked = tuple(req) if req else None
            text = f"The camera gives {w}×{h} at {fps:g} fps."
            if asked and (asked[0], asked[1]) != (w, h):
                text += f" (asked for {asked[0]}×{asked[1]}; the picture is scaled.)"
            self.source_state.setText(text)
        else:
            self._set_mode_visible(False)
            self.source_state.setText(f"{source_label(spec)}: {w}×{h} at {fps:g} fps.")
            self.source_state.setToolTip(description)
        self.messages.clear("source")
        self.preview.set_placeholder("Waiting for frames…")
        self._update_camera_row()
        self._schedule_save()

    def on_source_failed(self, spec: str, message: str, fallback: str) -> None:
        if not spec and fallback == "demo":
            self.messages.show_message(
                "no-camera",
                "No camera was found, so camfx shows its demo. Plug in a camera and pick it "
                "under Source (↻ looks again), or open a video or an image.",
                "info",
                [("Look again", self.controller.list_cameras)],
            )
            self._update_camera_row()
            return
        what = source_label(spec, self.cameras) if spec else "The source"
        text = f"{what} could not be used: {message}"
        if fallback:
            text += f" Showing {source_label(fallback, self.cameras)} instead."
        self.messages.show_message("source", text, "error")
        self.source_state.setText(text)
        self._rebuild_source_combo()
        self._update_camera_row(error=message if spec.startswith("camera") else "")

    def _update_camera_row(self, error: str = "") -> None:
        row = self.device_rows["camera"]
        if error:
            row.set_state("error", error, camera_fix_hint(), can_retry=True)
            return
        state = self.controller.camera_state()
        if self.source_spec.startswith("camera"):
            if state == "lost":
                row.set_state(
                    "warning",
                    "The camera stopped sending pictures; reconnecting…",
                    camera_fix_hint(),
                    can_retry=True,
                )
            else:
                row.set_state("ok", f"{source_label(self.source_spec, self.cameras)} is in use.")
        elif not self.cameras:
            row.set_state(
                "warning",
                "No camera found. The demo, a video or an image can be used meanwhile.",
                camera_fix_hint(),
                can_retry=True,
            )
        else:
            names = ", ".join(c.name for c in self.cameras)
            row.set_state("off", f"Found: {names}. Pick one under Source to use it.")

    # ================================================================= outputs
    def set_virtual_camera(self, on: bool) -> None:
        self._sync_vcam_controls(on)
        if self.settings.virtual_camera != on:
            self.settings.virtual_camera = on
            self._schedule_save()
        wanted = self.controller.vcam_wanted
        if on != wanted or (on and self.vcam_state in ("off", "unavailable")):
            self.controller.set_virtual_camera(on, self.settings.virtual_camera_device)

    def _sync_vcam_controls(self, on: bool) -> None:
        for w in (self.vcam_check, self.vcam_action):
            w.blockSignals(True)
            w.setChecked(on)
            w.blockSignals(False)

    def on_vcam_state(self, state: str, detail: str) -> None:
        self.vcam_state, self.vcam_detail = state, detail
        row = self.device_rows["virtual_camera"]
        command = V4L2_MODPROBE if sys.platform.startswith("linux") else ""
        if state == "on":
            self.vcam_label.setText(f"On — {detail}")
            row.set_state(
                "ok", f"Sending to {detail}. Pick “camfx” as the camera in your meeting app."
            )
            self.messages.clear("vcam")
        elif state == "starting":
            self.vcam_label.setText("Starting…")
            row.set_state("busy", "Starting…")
        elif state == "unavailable":
            self.vcam_label.setText("Not available — see Devices below (retrying every 5 s)")
            row.set_state("error", detail, setup_hint(), command, can_retry=True)
            self.messages.show_message(
                "vcam",
                f"The virtual camera is not available. To fix: {setup_hint()}. "
                "camfx tries again every 5 seconds.",
                "warning",
                [("Retry now", self.controller.retry_virtual_camera)]
                + ([("Copy command", lambda: self._copy(command))] if command else []),
            )
        else:
            self.vcam_label.setText("Off")
            row.set_state(
                "off",
                "Off. Turn on “Virtual camera” under Output to send the result to meeting apps.",
            )
            self.messages.clear("vcam")
        self._update_tray()

    @staticmethod
    def _copy(text: str) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(text)

    def record_folder(self) -> Path:
        if self.settings.record_folder:
            return Path(self.settings.record_folder)
        movies = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
        return Path(movies) if movies else Path.home()

    def choose_record_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Save recordings in", str(self.record_folder())
        )
        if folder:
            self.settings.record_folder = folder
            self._update_record_label()
            self._schedule_save()

    def _update_record_label(self, text: str = "") -> None:
        self.record_label.setText(text or f"Saves MP4 files in {self.record_folder()}")

    def set_recording(self, on: bool, path: str | None = None) -> None:
        for w in (self.record_button, self.record_action):
            w.blockSignals(True)
            w.setChecked(on)
            w.blockSignals(False)
        if on == self.recording:
            return
        self.recording = on
        if on:
            target = path or str(self.record_folder() / time.strftime("camfx-%Y%m%d-%H%M%S.mp4"))
            self._update_record_label(f"Starting {target}…")
            self.controller.start_recording(target)
        else:
            self.controller.stop_recording()

    def on_recording_state(self, state: str, detail: str) -> None:
        if state == "on":
            self.recording = True
            self._update_record_label(f"Recording to {detail}")
            self.record_button.setText("■ Stop &recording")
        else:
            self.recording = False
            self.set_recording(False)
            self.record_button.setText("● &Record")
            if state == "error":
                self._update_record_label()
                self.messages.show_message("record", f"Recording failed: {detail}", "error")
            elif detail:
                self._update_record_label(f"Saved {detail}")
                self.statusBar().showMessage(f"Recording saved to {detail}", 6000)

    def _on_format(self, _index: int = 0) -> None:
        size = self.size_combo.currentData()
        fps = float(self.fps_combo.currentData())
        self.settings.output_size = [int(size[0]), int(size[1])]
        self.settings.fps = fps
        if self.recording:
            self.messages.show_message(
                "record", "The recording stopped because the output size changed.", "info"
            )
        self.controller.set_output_format((int(size[0]), int(size[1])), fps)
        self._schedule_save()

    # ================================================================= pause / compare
    def set_paused(self, paused: bool) -> None:
        for w in (self.pause_button, self.pause_action):
            w.blockSignals(True)
            w.setChecked(paused)
            w.blockSignals(False)
        self.paused = paused
        self.controller.set_paused(paused)
        self._update_tray()

    def on_paused(self, paused: bool) -> None:
        self.statusBar().showMessage(
            "Video paused: a still picture is sent" if paused else "Video resumed", 3000
        )

    def set_compare(self, on: bool) -> None:
        for w in (self.compare_button, self.compare_action):
            w.blockSignals(True)
            w.setChecked(on)
            w.blockSignals(False)
        self.controller.set_compare(on)
        self.preview.set_compare(on)

    # ================================================================= devices / status
    def refresh_devices(self) -> None:
        self.controller.list_cameras()
        self.controller.probe_devices()
        if self.controller.vcam_wanted and self.vcam_state == "unavailable":
            self.controller.retry_virtual_camera()

    def on_devices(self, info: dict[str, Any]) -> None:
        audio = info.get("audio") or {}
        row = self.device_rows["microphone"]
        if audio.get("works"):
            inputs = audio.get("inputs", [])
            default = next((d["name"] for d in inputs if d.get("default")), inputs[0]["name"])
            row.set_state("ok", f"{len(inputs)} input(s); default: {default}.")
        else:
            row.set_state(
                "warning",
                f"{audio.get('error', 'no microphone')}. Only the talking head needs one.",
                str(audio.get("hint", "")),
                can_retry=True,
            )
        inf = info.get("inference") or {}
        row = self.device_rows["inference"]
        if inf.get("error") and not inf.get("sessions"):
            row.set_state("warning", str(inf["error"]))
        else:
            working = [n for n, s in inf.get("sessions", {}).items() if s.get("works")]
            refused = {
                n: s.get("reason", "")
                for n, s in inf.get("sessions", {}).items()
                if not s.get("works")
            }
            text = f"Models run on {', '.join(working) or 'CPU'}."
            fix = ""
            if refused:
                text += " Not usable here: " + "; ".join(
                    f"{n} ({r or 'fell back'})" for n, r in refused.items()
                )
                if "CUDA" in refused:
                    fix = (
                        "for GPU speed, install the NVIDIA driver and the CUDA and cuDNN "
                        "libraries named above (see `camfx devices`); the CPU works "
                        "meanwhile."
                    )
            compiled = info.get("compiled")
            if compiled is not None and not compiled.get("works"):
                # Not an error (the OpenCV path gives the same picture), but not silent.
                text += (
                    " Background effects run on the slower path: "
                    f"{compiled.get('error', 'compiled kernels unavailable')}."
                )
                fix = " ".join(f for f in (fix, str(compiled.get("hint") or "")) if f)
            row.set_state("ok", text, fix)
        vc = info.get("virtual_camera") or {}
        if self.vcam_state == "off" and not vc.get("backends"):
            self.device_rows["virtual_camera"].set_state(
                "warning", "No virtual camera backend for this system.", setup_hint()
            )
        self.cameras = list(info.get("cameras", self.cameras))
        self._rebuild_source_combo()
        self._update_camera_row()

    def update_status(self) -> None:
        snap = self.controller.snapshot()
        if snap is not None:
            fps = snap.fps
            self.fps_label.setText(f"{fps:.1f} fps")
            lat = snap.latency_ms
            self.latency_label.setText("latency —" if math.isnan(lat) else f"latency {lat:.0f} ms")
            self.drops_label.setText(f"dropped {snap.dropped}")
            self.drops_label.setToolTip(
                f"{snap.dropped_before_processing} before processing (processing slower than "
                f"the source), {snap.dropped_before_output} before outputs"
            )
            errors = sum(snap.errors.values())
            if errors:
                self.drops_label.setText(f"dropped {snap.dropped} · errors {errors}")
        self.provider_label.setText(f"inference: {self.provider_text()}")
        if self.source_spec.startswith("camera"):
            state = self.controller.camera_state()
            shown = self.device_rows["camera"].state
            if (state == "lost") != (shown == "warning"):
                self._update_camera_row()

    def provider_text(self) -> str:
        try:
            from pipelines.inference.session import default_factory, short_name

            reports = list(default_factory().reports.values())
        except Exception:
            return "—"
        if not reports:
            return "— (no model in use)"
        providers = sorted({short_name(r.provider) for r in reports})
        text = ", ".join(providers)
        self.provider_label.setToolTip("\n".join(r.summary() for r in reports))
        if any(r.fell_back for r in reports):
            text += " (fallback)"
        return text

    def on_engine_problem(self, kind: str, name: str, message: str) -> None:
        if kind == "stage-error":
            key = f"stage-{name}"
            if key in self.messages.bars:
                return
            text = f"The effect “{stage_title(name)}” failed and is skipped: {message}"
        elif kind == "stage-open-error":
            key = f"stage-{name}"
            text = f"The effect “{stage_title(name)}” could not start and is left out: {message}"
        else:
            key = kind
            text = f"{name}: {message}"
        self.last_error = text
        self.messages.show_message(key, text, "error")
        self._update_tray()

    # ================================================================= tray / hotkeys / theme
    def _update_tray(self) -> None:
        if self.tray is None:
            return
        self.tray.set_current_preset(self.preset_key)
        self.tray.set_state(
            vcam=self.vcam_state if self.controller.vcam_wanted else "off",
            paused=self.paused,
            preset_label=self.preset_label(self.preset_key),
        )
        self.setWindowIcon(app_icon(self.tray.state))

    def _set_close_to_tray(self, on: bool) -> None:
        self.settings.close_to_tray = on
        self._schedule_save()

    def _set_hotkeys(self, on: bool) -> None:
        self.settings.hotkeys = on
        if on:
            self._start_hotkeys()
        else:
            self.hotkeys.stop()
            self.hotkey_label.setText("Global hotkeys are off (Settings menu).")
        self._schedule_save()

    def _start_hotkeys(self) -> None:
        self.hotkeys.start(DEFAULT_BINDINGS)
        self.hotkey_label.setText(self.hotkeys.message)

    def _on_hotkey(self, action: str) -> None:
        if action == "pause":
            self.set_paused(not self.paused)
        elif action == "next-preset":
            self.next_preset()

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        self.apply_theme()
        self._schedule_save()

    def apply_theme(self) -> None:
        """ "system" follows the desktop (Qt's platform theme does that by itself); "light" and
        "dark" ask Qt for that scheme and, where the platform cannot switch (no desktop
        theme, older Qt), use Qt's Fusion style with a light or dark palette."""
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        if self._system_look is None:
            self._system_look = (QPalette(app.palette()), app.style().name())
        hints = QGuiApplication.styleHints()
        scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(
            self.settings.theme
        )
        try:
            if scheme is None:
                hints.unsetColorScheme()
            else:
                hints.setColorScheme(scheme)
        except AttributeError:  # Qt < 6.8 has no per-app scheme
            pass
        palette, style = self._system_look
        if scheme is not None and hints.colorScheme() != scheme:
            app.setStyle("Fusion")
            app.setPalette(themed_palette(scheme == Qt.ColorScheme.Dark))
        elif scheme is None and self._themed:
            app.setStyle(style)
            app.setPalette(palette)
        self._themed = scheme is not None
        self.messages.restyle()

    # ================================================================= help
    def show_vcam_help(self) -> None:
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
            self,
        )
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About camfx",
            "camfx: real-time webcam effects for video calls, sent to a virtual "
            "camera. Everything runs on this computer; nothing is uploaded.",
        )

    # ================================================================= helpers
    @staticmethod
    def _select_data(combo: QComboBox, data: Any) -> None:
        for i in range(combo.count()):
            if combo.itemData(i) == data:
                combo.blockSignals(True)
                combo.setCurrentIndex(i)
                combo.blockSignals(False)
                return
