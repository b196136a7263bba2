"""The main window's widgets and menus, built once (the window's layout, like a Designer
``Ui_`` class): every control is set as an attribute of the window and wired to its slots.
The window (:mod:`app.gui.window`) holds the behaviour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui import help as help_dialogs
from app.gui import preset_files
from app.gui.hotkeys import TypingGuard
from app.gui.panels import EffectsPanel
from app.gui.preview import PreviewWidget
from app.gui.vcam_setup import VirtualCameraSetup
from app.gui.widgets import REFRESH, DeviceRow, ElidedLabel, MessageArea, select_data

if TYPE_CHECKING:
    from app.gui.window import MainWindow

OUTPUT_SIZES = ((640, 360), (960, 540), (1280, 720), (1920, 1080))
OUTPUT_FPS = (15.0, 24.0, 25.0, 30.0, 60.0)


class WindowWidgets:
    """The controls :func:`build_ui` and :func:`build_menus` put on the window (a mixin of
    :class:`~app.gui.window.MainWindow`, so they are typed attributes of it)."""

    # Preset bar.
    preset_combo: QComboBox
    changed_label: QLabel
    reset_button: QPushButton
    save_button: QPushButton
    save_as_button: QPushButton
    manage_button: QPushButton
    pause_button: QPushButton
    compare_button: QPushButton
    # Preview, effects, devices.
    messages: MessageArea
    preview: PreviewWidget
    effects: EffectsPanel
    splitter: QSplitter
    device_rows: dict[str, DeviceRow]
    vcam_setup: VirtualCameraSetup
    hotkey_label: QLabel
    # Source.
    source_combo: QComboBox
    mode_combo: QComboBox
    mode_label: QLabel
    source_state: QLabel
    # Output.
    vcam_check: QCheckBox
    vcam_label: QLabel
    record_button: QPushButton
    record_label: QLabel
    size_combo: QComboBox
    fps_combo: QComboBox
    # Status bar.
    fps_label: QLabel
    latency_label: QLabel
    drops_label: QLabel
    provider_label: ElidedLabel
    # Menu entries.
    pause_action: QAction
    compare_action: QAction
    vcam_action: QAction
    record_action: QAction
    tray_action: QAction
    hotkeys_action: QAction
    typing_guard: TypingGuard


def build_ui(w: MainWindow) -> None:
    central = QWidget(w)
    outer = QVBoxLayout(central)
    outer.setContentsMargins(8, 8, 8, 4)

    # Preset bar.
    # Alt letters are one set per window, shared with the menu bar's F, P, V, S and H: a clash
    # went to the menu (Alt+S opened Settings, not Save; qa7). Preset E, Reset T, Save A, Save
    # as new W, Manage N, Compare C, Pause U, Source O, Mode D, Virtual camera I, Record R,
    # Folder L, Size Z, Set up virtual camera M. Refresh has none: each of its letters is
    # taken (tests/test_gui_keys.py checks that no two share one).
    bar = QHBoxLayout()
    preset_label = QLabel("Pr&eset:", central)
    w.preset_combo = QComboBox(central)
    w.preset_combo.setObjectName("preset-combo")
    w.preset_combo.setMinimumWidth(200)
    w.preset_combo.activated.connect(w._on_preset_combo)
    preset_label.setBuddy(w.preset_combo)
    w.changed_label = QLabel("", central)
    w.changed_label.setObjectName("changed-label")
    w.reset_button = QPushButton("Rese&t", central)
    w.reset_button.setToolTip("Drop your changes and go back to the preset as saved")
    w.reset_button.clicked.connect(w.reset_changes)
    w.save_button = QPushButton("S&ave", central)
    w.save_button.clicked.connect(w.save_preset)
    w.save_as_button = QPushButton("Save as ne&w…", central)
    w.save_as_button.clicked.connect(w.save_preset_as)
    w.manage_button = QPushButton("Ma&nage…", central)
    w.manage_button.clicked.connect(w.manage_presets)
    w.pause_button = QPushButton("Pa&use", central)
    w.pause_button.setObjectName("pause-button")
    w.pause_button.setCheckable(True)
    w.pause_button.setToolTip("Send a still 'paused' picture instead of the camera (Ctrl+P)")
    w.pause_button.toggled.connect(w.set_paused)
    w.compare_button = QPushButton("&Compare", central)
    w.compare_button.setObjectName("compare-button")
    w.compare_button.setCheckable(True)
    w.compare_button.setToolTip("Show the input on the left half, the result on the right")
    w.compare_button.toggled.connect(w.set_compare)
    for widget in (
        preset_label,
        w.preset_combo,
        w.changed_label,
        w.reset_button,
        w.save_button,
        w.save_as_button,
        w.manage_button,
    ):
        bar.addWidget(widget)
    bar.addStretch(1)
    bar.addWidget(w.compare_button)
    bar.addWidget(w.pause_button)
    outer.addLayout(bar)

    splitter = QSplitter(Qt.Orientation.Horizontal, central)
    left = QWidget(splitter)
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 0)
    w.messages = MessageArea(left)
    left_layout.addWidget(w.messages)
    w.preview = PreviewWidget(w.controller.preview, left)
    w.preview.setToolTip("Double-click a person to keep only them in a blurred background")
    w.preview.pointPicked.connect(w.controller.pick_person)
    left_layout.addWidget(w.preview, 1)
    splitter.addWidget(left)

    side = QWidget()
    side_layout = QVBoxLayout(side)
    side_layout.addWidget(_source_group(w, side))
    side_layout.addWidget(_output_group(w, side))
    effects_box = QGroupBox("Effects", side)
    effects_layout = QVBoxLayout(effects_box)
    w.effects = EffectsPanel(effects_box)
    w.effects.settingsChanged.connect(w.on_stage_settings)
    w.effects.problem.connect(lambda text: w.messages.show_message("setting", text, "warning"))
    effects_layout.addWidget(w.effects)
    side_layout.addWidget(effects_box)
    side_layout.addWidget(_devices_group(w, side))
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
    w.splitter = splitter
    outer.addWidget(splitter, 1)
    w.setCentralWidget(central)

    status = QStatusBar(w)
    w.fps_label = QLabel("— fps", status)
    w.latency_label = QLabel("latency —", status)
    w.drops_label = QLabel("dropped 0", status)
    # Elided: its text (the models in use) must never set the window's minimum width.
    w.provider_label = ElidedLabel("inference: —", status)
    w.provider_label.setObjectName("provider-label")
    for label in (w.fps_label, w.latency_label, w.drops_label):
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status.addPermanentWidget(label)
    status.addPermanentWidget(w.provider_label)
    w.setStatusBar(status)


def _source_group(w: MainWindow, parent: QWidget) -> QGroupBox:
    box = QGroupBox("Source", parent)
    form = QFormLayout(box)
    row = QHBoxLayout()
    w.source_combo = QComboBox(box)
    w.source_combo.setObjectName("source-combo")
    w.source_combo.activated.connect(w._on_source_combo)
    refresh = QToolButton(box)
    refresh.setText(REFRESH)
    refresh.setToolTip("Look for cameras again")
    refresh.setAccessibleName("Refresh cameras")
    refresh.clicked.connect(w.controller.list_cameras)
    row.addWidget(w.source_combo, 1)
    row.addWidget(refresh)
    label = QLabel("S&ource:", box)
    label.setBuddy(w.source_combo)
    form.addRow(label, row)
    w.mode_combo = QComboBox(box)
    w.mode_combo.setObjectName("mode-combo")
    w.mode_combo.activated.connect(w._on_mode_combo)
    w.mode_label = QLabel("Mo&de:", box)
    w.mode_label.setBuddy(w.mode_combo)
    form.addRow(w.mode_label, w.mode_combo)
    w.source_state = QLabel("", box)
    w.source_state.setWordWrap(True)
    w.source_state.setObjectName("source-state")
    form.addRow(w.source_state)
    w._set_mode_visible(False)
    return box


def _output_group(w: MainWindow, parent: QWidget) -> QGroupBox:
    box = QGroupBox("Output", parent)
    form = QFormLayout(box)
    w.vcam_check = QCheckBox("V&irtual camera", box)
    w.vcam_check.setObjectName("vcam-check")
    w.vcam_check.setToolTip("Send the result to a camera that meeting apps can pick")
    w.vcam_check.toggled.connect(w.outputs.set_virtual_camera)
    w.vcam_label = QLabel("Off", box)
    w.vcam_label.setWordWrap(True)
    w.vcam_label.setObjectName("vcam-state")
    form.addRow(w.vcam_check, w.vcam_label)
    w.record_button = QPushButton("● &Record", box)
    w.record_button.setObjectName("record-button")
    w.record_button.setCheckable(True)
    w.record_button.toggled.connect(w.outputs.set_recording)
    w.record_label = QLabel("", box)
    w.record_label.setWordWrap(True)
    w.record_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    folder = QPushButton("Fo&lder…", box)
    folder.setToolTip("Where recordings are saved")
    folder.clicked.connect(w.outputs.choose_record_folder)
    rec_row = QHBoxLayout()
    rec_row.addWidget(w.record_button)
    rec_row.addWidget(folder)
    rec_row.addStretch(1)
    form.addRow("Recording:", rec_row)
    form.addRow(w.record_label)
    w.outputs.update_record_label()
    fmt_row = QHBoxLayout()
    w.size_combo = QComboBox(box)
    w.size_combo.setObjectName("size-combo")
    for width, height in OUTPUT_SIZES:
        w.size_combo.addItem(f"{width}×{height}", [width, height])
    w.fps_combo = QComboBox(box)
    for fps in OUTPUT_FPS:
        w.fps_combo.addItem(f"{fps:g} fps", fps)
    select_data(w.size_combo, list(w.settings.output_size))
    select_data(w.fps_combo, w.settings.fps)
    w.size_combo.activated.connect(w.outputs.on_format)
    w.fps_combo.activated.connect(w.outputs.on_format)
    fmt_row.addWidget(w.size_combo, 1)
    fmt_row.addWidget(w.fps_combo, 1)
    size_label = QLabel("Si&ze:", box)
    size_label.setBuddy(w.size_combo)
    form.addRow(size_label, fmt_row)
    return box


def _devices_group(w: MainWindow, parent: QWidget) -> QGroupBox:
    box = QGroupBox("Devices", parent)
    layout = QVBoxLayout(box)
    w.device_rows = {
        "camera": DeviceRow("Camera", box),
        "virtual_camera": DeviceRow("Virtual camera", box),
        "microphone": DeviceRow("Microphone", box),
        "inference": DeviceRow("Inference", box),
    }
    for row in w.device_rows.values():
        layout.addWidget(row)
    w.device_rows["virtual_camera"].retry.connect(w.controller.retry_virtual_camera)
    w.device_rows["camera"].retry.connect(w.controller.list_cameras)
    w.device_rows["microphone"].retry.connect(w.controller.probe_devices)
    refresh = QPushButton(REFRESH, box)
    refresh.setToolTip("Look for cameras, the virtual camera, microphones and providers again")
    refresh.clicked.connect(w.refresh_devices)
    layout.addWidget(refresh, 0, Qt.AlignmentFlag.AlignLeft)
    w.vcam_setup = VirtualCameraSetup(box, done=w.refresh_devices)
    layout.addWidget(w.vcam_setup.button, 0, Qt.AlignmentFlag.AlignLeft)
    w.hotkey_label = QLabel("", box)
    w.hotkey_label.setWordWrap(True)
    w.hotkey_label.setObjectName("hotkey-label")
    layout.addWidget(w.hotkey_label)
    w.device_rows["virtual_camera"].set_state(
        "off", "Off. Turn on “Virtual camera” under Output to send the result to meeting apps."
    )
    return box


def build_menus(w: MainWindow) -> None:
    menu = w.menuBar()
    file_menu = menu.addMenu("&File")
    add_action(w, file_menu, "&Import preset…", lambda: preset_files.import_preset(w))
    add_action(w, file_menu, "&Export current preset…", lambda: preset_files.export_preset(w))
    file_menu.addSeparator()
    add_action(w, file_menu, "&Quit", w.quit, QKeySequence.StandardKey.Quit)

    presets_menu = menu.addMenu("&Presets")
    next_action = add_action(w, presets_menu, "&Next preset", w.next_preset, "Ctrl+Shift+N")
    add_action(w, presets_menu, "&Save", w.save_preset, QKeySequence.StandardKey.Save)
    add_action(w, presets_menu, "Save &as new…", w.save_preset_as, "Ctrl+Shift+S")
    add_action(w, presets_menu, "&Reset changes", w.reset_changes)
    add_action(w, presets_menu, "&Manage…", w.manage_presets)

    video = menu.addMenu("&Video")
    w.pause_action = add_action(w, video, "&Pause", None, "Ctrl+P")
    w.pause_action.setCheckable(True)
    w.pause_action.toggled.connect(w.set_paused)
    w.compare_action = add_action(w, video, "&Compare with input", None, "Ctrl+I")
    w.compare_action.setCheckable(True)
    w.compare_action.toggled.connect(w.set_compare)
    w.vcam_action = add_action(w, video, "&Virtual camera", None, "Ctrl+Shift+V")
    w.vcam_action.setCheckable(True)
    w.vcam_action.toggled.connect(w.outputs.set_virtual_camera)
    w.record_action = add_action(w, video, "&Record", None, "Ctrl+R")
    w.record_action.setCheckable(True)
    w.record_action.toggled.connect(w.outputs.set_recording)
    # What changes the stream a meeting sees must not fire from a typo in a text field.
    w.typing_guard = TypingGuard(
        w, [next_action, w.pause_action, w.compare_action, w.vcam_action, w.record_action]
    )
    video.addSeparator()
    add_action(w, video, "Open &image…", lambda: w.open_file("image"), "Ctrl+O")
    add_action(w, video, "Open vi&deo…", lambda: w.open_file("video"), "Ctrl+Shift+O")

    settings_menu = menu.addMenu("&Settings")
    w.tray_action = add_action(w, settings_menu, "Keep running in the &tray when closed", None)
    w.tray_action.setCheckable(True)
    w.tray_action.setChecked(w.settings.close_to_tray)
    w.tray_action.toggled.connect(w._set_close_to_tray)
    w.hotkeys_action = add_action(w, settings_menu, "&Global hotkeys", None)
    w.hotkeys_action.setCheckable(True)
    w.hotkeys_action.setChecked(w.settings.hotkeys)
    w.hotkeys_action.toggled.connect(w._set_hotkeys)
    theme_menu = settings_menu.addMenu("T&heme")
    group = QActionGroup(w)
    for value, label in (("system", "&System"), ("light", "&Light"), ("dark", "&Dark")):
        action = theme_menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(w.settings.theme == value)
        action.triggered.connect(lambda _c=False, v=value: w.set_theme(v))
        group.addAction(action)

    help_menu = menu.addMenu("&Help")
    add_action(w, help_menu, "&Virtual camera setup…", lambda: help_dialogs.show_vcam_help(w))
    add_action(w, help_menu, "&About camfx", lambda: help_dialogs.show_about(w))


def add_action(w: MainWindow, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
    action = QAction(text, w)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if slot is not None:
        action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action
