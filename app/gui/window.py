"""The main window: a view over :class:`~app.state.AppState`.

It forwards what the user does to the state and to :class:`EngineController` (which does the
slow parts on its worker thread), and redraws from the state's events and the controller's
signals. Decisions (which preset runs, what counts as an edit, which source is remembered,
what a device row says) live in :mod:`app.state`; the widgets are built in
:mod:`app.gui.window_ui`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMainWindow,
)

from app.gui import preset_files, status
from app.gui.controller import EngineController
from app.gui.hotkeys import DEFAULT_BINDINGS, GlobalHotkeys
from app.gui.icons import app_icon
from app.gui.outputs import OutputsView
from app.gui.plumbing import CAMERA_LOST, STANDARD_MODES, format_mode
from app.gui.presets_dialog import PresetsDialog
from app.gui.theme import Themer
from app.gui.tray import Tray
from app.gui.widgets import REFRESH, camera_fix_hint, select_data, set_checked_quietly
from app.gui.window_ui import WindowWidgets, build_menus, build_ui
from app.state import AppState, Change, RowView, StateEvent, VirtualCamera
from app.state.devices import (
    AudioReport,
    camera_lost_message,
    camera_row,
    inference_row,
    microphone_row,
)
from app.state.labels import (
    describe_source,
    is_camera,
    offered_modes,
    source_failure,
    source_label,
    stage_title,
)
from pipelines.engine import EventKind
from pipelines.errors import CamfxError
from pipelines.outputs.virtualcam import setup_hint
from pipelines.sources.files import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from pipelines.stage import StageSettings
from pipelines.stats import KeepUpWatch
from pipelines.userdata import PresetChangedOnDisk, PresetStore, SettingsStore

log = logging.getLogger(__name__)

OPEN_IMAGE = "<open-image>"
OPEN_VIDEO = "<open-video>"


class MainWindow(QMainWindow, WindowWidgets):
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
        self.state = AppState(settings_store, preset_store)
        self.use_hotkeys = use_hotkeys
        self._quitting = False
        self._shut_down = False
        self.themer = Themer()
        self._save_failure = ""
        """The last save's failure, said once on the terminal until a save succeeds."""
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(800)
        self._save_timer.timeout.connect(self.save_settings)

        self.setWindowTitle("camfx")
        self.setWindowIcon(app_icon("live"))
        self.setObjectName("main-window")
        self.outputs = OutputsView(self)
        build_ui(self)
        build_menus(self)
        self.tray = Tray(self) if use_tray else None
        if self.tray is None or not self.tray.available:
            self.tray_action.setEnabled(False)
            self.tray_action.setText("Keep running in the tray when closed (no system tray found)")
        if self.tray is not None:
            self.tray.presetChosen.connect(self.choose_preset)
            self.tray.virtualCameraToggled.connect(self.outputs.set_virtual_camera)
            self.tray.pauseToggled.connect(self.set_paused)
            self.tray.openWindow.connect(self.show_window)
            self.tray.quitRequested.connect(self.quit)
            self.tray.menuOpening.connect(self.refresh_preset_lists)
        self.hotkeys = GlobalHotkeys(self)
        self.hotkeys.activated.connect(self._on_hotkey)
        self._connect_controller()
        self.state.subscribe(self._on_state)
        self.camera_lost = False
        """Whether the camera in use is unplugged and reconnecting (:meth:`show_camera_lost`)."""
        self.silent_microphone: str | None = None
        """The talking head's microphone while it gives no sound (:mod:`app.gui.status`)."""
        self._source_text = ""
        """The Source box's line about the source that opened, shown again when it is back."""
        self.keep_up = KeepUpWatch(0.0)
        """Whether the frames keep up with the source (:func:`status.update_status`)."""
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(500)
        self.status_timer.timeout.connect(self.update_status)
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode()))
        else:
            self.resize(1180, 720)
        if self.settings.splitter_state:
            self.splitter.restoreState(QByteArray.fromBase64(self.settings.splitter_state.encode()))
        self.effects.expanded = dict(self.settings.panels_open)

    # The state, as the window's tests and callers know it.
    settings = property(lambda self: self.state.settings)
    presets = property(lambda self: self.state.presets)
    settings_store = property(lambda self: self.state.settings_store)
    preset_key = property(lambda self: self.state.preset_key)
    source_spec = property(lambda self: self.state.source_spec)
    vcam_state = property(lambda self: str(self.state.vcam))
    paused = property(lambda self: self.state.paused)
    recording = property(lambda self: self.state.recording)
    modified = property(lambda self: self.state.modified)

    def _on_state(self, event: StateEvent) -> None:
        if event.change in (Change.PRESET, Change.PRESET_LIST):
            self._update_preset_buttons()
        if event.change == Change.PRESET_LIST:
            self.refresh_preset_lists()
            if self.state.unusable_pick_listed():
                self.messages.clear("preset")  # "fix it and move it back": it is back
        if event.change in (Change.CAMERAS, Change.DEVICES):
            self._rebuild_source_combo()
            self._update_camera_row()
        if event.change == Change.IDLE:
            self.outputs.update_vcam_label()
        self._update_tray()

    # ================================================================= start / stop
    def _connect_controller(self) -> None:
        c = self.controller
        c.sourceChanged.connect(self.on_source_changed)
        c.sourceFailed.connect(self.on_source_failed)
        c.camerasListed.connect(self.state.set_cameras)
        c.presetApplied.connect(self.on_preset_applied)
        c.presetFailed.connect(self.on_preset_failed)
        c.virtualCameraChanged.connect(self.outputs.on_vcam_state)
        c.recordingChanged.connect(self.outputs.on_recording_state)
        c.recordingSoundLost.connect(self.outputs.on_recording_sound_lost)
        c.tornRecordingsFound.connect(self.outputs.on_torn_recordings)
        c.recordingsRepaired.connect(self.outputs.on_recordings_repaired)
        c.pausedChanged.connect(self.on_paused)
        c.engineProblem.connect(self.on_engine_problem)
        c.stageJoined.connect(lambda name: self.messages.clear(f"stage-{name}"))
        c.devicesProbed.connect(self.state.set_devices)
        c.idleChanged.connect(self.state.set_idle)
        self.state.subscribe(lambda ev: self.on_devices() if ev.change == Change.DEVICES else None)

    def start(self, source: str | None = None) -> None:
        """Restore the last session: problems with saved files, output format, source,
        preset (with its unsaved edits), virtual camera; then probe devices and look for
        recordings a hard stop tore. ``source``: this start's instead of the last one (not
        remembered)."""
        for problem in self.settings_store.problems:
            self.messages.show_message("settings-file", str(problem), "warning")
        self.presets.load()
        if self.presets.problems:
            preset_files.show_problems(self)
        self.apply_theme()
        size = (int(self.settings.output_size[0]), int(self.settings.output_size[1]))
        self.controller.start(size, self.settings.fps)
        self.controller.list_cameras()
        spec = source or self.settings.source
        # A source given for this start (``camfx gui --source``) is not remembered: it took
        # the last one's place for good, even one that did not exist (qa64).
        self.state.requested_source = "" if source else spec
        self.controller.set_source(spec, self.state.camera_mode(spec))
        self.refresh_preset_lists()
        self.choose_preset(self.state.start_preset(), restoring=True)
        if self.settings.virtual_camera:
            self.state.vcam_wanted = True
            self.controller.set_virtual_camera(True, self.settings.virtual_camera_device)
            set_checked_quietly((self.vcam_check, self.vcam_action), True)
        self.controller.probe_devices()
        # Once the event loop runs, so after the window is shown.
        QTimer.singleShot(0, self.outputs.look_for_torn_recordings)
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
        # Gone from the screen first: the engine's stop waits up to 5 s for an effect still
        # starting (a model load), and the window sat frozen on screen meanwhile (QA qa5: 5.2 s
        # after Quit with an open hanging).
        self.hide()
        if self.tray is not None:
            self.tray.hide()
        QApplication.processEvents()
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
        self.settings.splitter_state = bytes(self.splitter.saveState().toBase64().data()).decode()
        self.settings.panels_open = self.effects.panels_open()
        try:
            self.settings_store.save(self.settings)
        except CamfxError as exc:
            message = f"Settings could not be saved: {exc}"
            self.messages.show_message("save", message, "error")
            if message != self._save_failure:
                # Also on the terminal: a save at quit fails after the window is gone.
                log.warning("%s", message)
                self._save_failure = message
        else:
            self._save_failure = ""

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
    def refresh_preset_lists(self) -> None:
        """List the presets as the folder holds them now (a fixed file put back is listed
        again here, at a pick or at Manage's changes, without a restart)."""
        if self.presets.refresh() and self.presets.problems:
            preset_files.show_problems(self)
        entries = self.state.preset_entries()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        last_kind = None
        for key, label in entries:
            kind = key.split(":", 1)[0]
            if last_kind is not None and kind != last_kind:
                self.preset_combo.insertSeparator(self.preset_combo.count())
            last_kind = kind
            self.preset_combo.addItem(label, key)
        select_data(self.preset_combo, self.preset_key)
        self.preset_combo.blockSignals(False)
        if self.tray is not None:
            self.tray.set_presets(entries, self.preset_key)

    def _on_preset_combo(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        if key:
            self.choose_preset(key)

    def choose_preset(self, key: str, restoring: bool = False) -> None:
        """Switch to the preset ``key``; its unsaved edits from earlier come back with it. A
        pick that cannot be used (its file broken or gone) keeps what runs, with one bar."""
        pick = self.state.pick_preset(key, restoring=restoring)
        if pick.other_problems:
            preset_files.show_problems(self, pick.other_problems)
        if pick.message:
            self.messages.show_message("preset", pick.message, "warning" if restoring else "error")
        if pick.preset is None:
            select_data(self.preset_combo, self.preset_key)
            if self.tray is not None:
                self.tray.set_current_preset(self.preset_key)
            return
        self.state.preset_picked(pick.key, pick.preset)
        self.controller.apply_preset(pick.key, pick.preset, self.state.overrides_for(pick.key))

    def on_preset_applied(
        self, key: str, stages: list[tuple[str, StageSettings]], problems: list[str]
    ) -> None:
        stale = self.state.preset_running(key, stages)
        self.effects.set_stages(stages, {name: stage_title(name) for name, _ in stages})
        # Listed anew: the preset that ran before may have been listed only because it ran
        # (its file gone, AppState.preset_entries).
        self.refresh_preset_lists()
        if stale:
            self.messages.clear("preset")  # the preset that failed before works now
        if problems:
            self.messages.show_message(
                "preset-edits",
                "Some of your unsaved changes to this preset no longer fit and were left out: "
                + "; ".join(problems),
                "warning",
            )
        self._schedule_save()

    def on_preset_failed(self, key: str, message: str) -> None:
        self.messages.show_message(
            "preset",
            f"The preset “{self.state.preset_label(key)}” could not be used: {message}",
            "error",
        )
        if self.state.preset_failed(key):
            # Nothing runs yet (the last session's preset failed at start): Off, or the
            # built-in privacy preset where the last one hid the room.
            self.choose_preset(self.state.start_fallback(key))
            return
        select_data(self.preset_combo, self.preset_key)
        if self.tray is not None:
            self.tray.set_current_preset(self.preset_key)

    def on_stage_settings(self, stage: str, settings: StageSettings) -> None:
        # What the stage said of its old settings is moot; new settings bring their own.
        self.messages.clear(f"stage-{stage}")
        if self._keep_stage_settings(stage, settings) != settings:
            # A preset that hides the room keeps what hides it (the panel shows it back).
            self.messages.show_message(
                f"stage-{stage}",
                f"“{self.state.preset_label(self.state.preset_key)}” hides the room: its "
                f"{stage_title(stage)} stays on; pick another preset to show the room",
                "warning",
            )

    def _follow_settings_in_use(self, stage: str) -> None:
        """After a stage declined a setting (a portrait it could not use), show and keep what
        it runs with instead, so that the next start does not ask for the refused one."""
        running = self.controller.settings_in_use(stage)
        if running is not None and running != self.state.stage_settings.get(stage):
            self._keep_stage_settings(stage, running)

    def _keep_stage_settings(self, stage: str, settings: StageSettings) -> StageSettings:
        """``settings`` for ``stage`` as the state keeps them (:meth:`AppState.update_stage`),
        on the running stage and its panel, saved; returns what was kept."""
        kept = self.state.update_stage(stage, settings)
        self.controller.update_settings(stage, kept)
        panel = self.effects.panels.get(stage)
        if panel is not None and panel.settings != kept:
            panel.set_settings(kept)
        self._schedule_save()
        return kept

    def _update_preset_buttons(self) -> None:
        modified, is_user = self.modified, self.state.is_user_preset
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
        self.state.drop_edits()
        self.choose_preset(self.preset_key)

    def save_preset(self) -> None:
        if not self.state.is_user_preset:
            self.save_preset_as()
            return
        try:
            saved = self.state.save_preset()
        except PresetChangedOnDisk as changed:
            self._save_beside(changed)
            return
        except CamfxError as exc:
            self.messages.show_message("preset", f"Could not save the preset: {exc}", "error")
            return
        self.statusBar().showMessage(f"Saved preset “{saved.name}”", 4000)
        self._schedule_save()

    def _save_beside(self, changed: PresetChangedOnDisk) -> None:
        """Save found the preset's file changed on disk: the window's version goes to a new
        preset and the file stays as it is, so neither is lost; the bar says where each is."""
        try:
            key = self.state.save_preset_beside()
        except CamfxError as exc:
            self.messages.show_message(
                "preset",
                f"Could not save the preset: {changed}, and saving your changes as a new "
                f"preset failed too ({exc}); the file was left as it is.",
                "error",
            )
            return
        self.choose_preset(key)
        self.messages.show_message(
            "preset",
            f"The file of the preset “{changed.name}” ({changed.path}) was changed on disk since "
            f"camfx read it, so it was left as it is and your changes were saved as a new preset "
            f"“{self.state.preset_label(key)}”.",
            "warning",
        )

    def save_preset_as(self, name: str | None = None) -> str | None:
        if name is None:
            suggested = self.presets.unique_name(
                f"{self.state.preset_label(self.preset_key)} (mine)"
            )
            name, ok = QInputDialog.getText(
                self, "Save as new preset", "Name:", QLineEdit.EchoMode.Normal, suggested
            )
            if not ok or not name.strip():
                return None
        try:
            key = self.state.save_preset_as(name)
        except CamfxError as exc:
            self.messages.show_message("preset", f"Could not save the preset: {exc}", "error")
            return None
        self.choose_preset(key)
        self.statusBar().showMessage(f"Saved new preset “{self.state.preset_label(key)}”", 4000)
        return key

    def manage_presets(self) -> PresetsDialog:
        return preset_files.manage(self)

    def next_preset(self) -> None:
        key = self.state.next_preset()
        if key is not None:
            self.choose_preset(key)

    # ================================================================= source
    def _rebuild_source_combo(self) -> None:
        combo = self.source_combo
        combo.blockSignals(True)
        combo.clear()
        for label, spec in self.state.source_entries():
            combo.addItem(label, spec)
        combo.insertSeparator(combo.count())
        combo.addItem("Open image…", OPEN_IMAGE)
        combo.addItem("Open video…", OPEN_VIDEO)
        select_data(combo, self.source_spec)
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
        self.state.requested_source = spec
        self.source_state.setText(f"Opening {source_label(spec, self.state.cameras)}…")
        self.controller.set_source(spec, self.state.camera_mode(spec), fallback="")

    def open_file(self, kind: str) -> None:
        suffixes = IMAGE_SUFFIXES if kind == "image" else VIDEO_SUFFIXES
        filt = f"{kind.title()}s ({' '.join('*' + s for s in suffixes)});;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self, f"Open {kind}", str(Path.home()), filt)
        if not path:
            select_data(self.source_combo, self.source_spec)
            return
        self.open_path(kind, path)

    def open_path(self, kind: str, path: str) -> None:
        self.state.add_recent_file(path)
        self.set_source(f"{kind}:{path}")

    def _on_mode_combo(self, index: int) -> None:
        mode = self.mode_combo.itemData(index)
        if not mode or not self.state.source_is_camera:
            return
        self.state.choose_camera_mode(self.source_spec, mode)
        self.controller.set_source(self.source_spec, tuple(mode), fallback="")
        self._schedule_save()

    def _set_mode_visible(self, on: bool) -> None:
        self.mode_combo.setVisible(on)
        self.mode_label.setVisible(on)

    def on_source_changed(self, spec: str, description: str, info: dict[str, Any]) -> None:
        self.state.source_opened(spec, info)
        self._rebuild_source_combo()
        text, modes, selected = describe_source(spec, info, self.settings.camera_modes.get(spec))
        camera = bool(info.get("camera"))
        self._set_mode_visible(camera)
        if camera:
            self.mode_combo.clear()
            for m in offered_modes(modes or STANDARD_MODES, selected):
                self.mode_combo.addItem(format_mode(m), list(m))
            if selected is not None:
                select_data(self.mode_combo, selected)
        else:
            self.source_state.setToolTip(description)
        self.source_state.setText(text)
        self._source_text = text
        self.messages.clear("source")
        if spec.split(":", 1)[0] != "demo":
            # A camera, image or video opened: "no camera, so the demo" is over.
            self.messages.clear("no-camera")
        self.preview.set_placeholder("Waiting for frames…")
        self._update_camera_row()
        self._schedule_save()

    def on_source_failed(self, spec: str, message: str, fallback: str) -> None:
        cameras = self.state.cameras
        if not spec and fallback == "demo":
            self.messages.show_message(
                "no-camera",
                "No camera was found, so camfx shows its demo. Plug in a camera and pick it "
                f"under Source ({REFRESH} looks again), or open a video or an image.",
                "info",
                [(REFRESH, self.controller.list_cameras)],
            )
            self._update_camera_row()
            return
        text = source_failure(spec, message, fallback, cameras)
        self.messages.show_message("source", text, "error")
        self.source_state.setText(text)
        self._rebuild_source_combo()
        self._update_camera_row(error=message if is_camera(spec) else "")

    def show_camera_lost(self, lost: bool) -> None:
        """While the camera in use is unplugged: a bar, the Source box and the Devices row say
        so (the preview and the virtual camera show a card: plumbing.ControlledSource); all
        back as they were when its frames come back."""
        self.camera_lost = lost
        if lost:
            label = source_label(self.source_spec, self.state.cameras)
            self.messages.show_message(
                "camera-lost",
                camera_lost_message(label),
                "warning",
                [(REFRESH, self.controller.list_cameras)],
            )
            self.source_state.setText(f"{label} is disconnected; reconnecting…")
        else:
            self.messages.clear("camera-lost")
            if self.state.source_is_camera:
                self.source_state.setText(self._source_text)
        self._update_camera_row()

    def _update_camera_row(self, error: str = "") -> None:
        view = camera_row(
            source_label=source_label(self.source_spec, self.state.cameras),
            using_camera=self.state.source_is_camera,
            lost=self.controller.camera_state() == CAMERA_LOST,
            cameras=self.state.cameras,
            fix=camera_fix_hint(),
            error=error,
        )
        self._show_row("camera", view)

    # ================================================================= pause / compare
    def set_paused(self, paused: bool) -> None:
        set_checked_quietly((self.pause_button, self.pause_action), paused)
        self.state.set_paused(paused)
        self.controller.set_paused(paused)

    def on_paused(self, paused: bool) -> None:
        self.statusBar().showMessage(
            "Video paused: a still picture is sent" if paused else "Video resumed", 3000
        )

    def set_compare(self, on: bool) -> None:
        set_checked_quietly((self.compare_button, self.compare_action), on)
        self.controller.set_compare(on)
        self.preview.set_compare(on)

    # ================================================================= devices / status
    def refresh_devices(self) -> None:
        self.controller.list_cameras()
        self.controller.probe_devices()
        if self.controller.vcam_wanted and self.state.vcam == VirtualCamera.UNAVAILABLE:
            self.controller.retry_virtual_camera()

    def on_devices(self) -> None:
        report = self.state.devices
        if report is None:
            return
        self.show_microphone_row()
        self._show_row("inference", inference_row(report.inference, report.compiled))
        if self.state.vcam == VirtualCamera.OFF and not report.virtual_camera.backends:
            self.device_rows["virtual_camera"].set_state(
                "warning", "No virtual camera backend for this system.", setup_hint()
            )

    def show_microphone_row(self) -> None:
        """The device list's microphones, or the talking head's that gives no sound."""
        report = self.state.devices
        if report is None and self.silent_microphone is None:
            return  # not listed yet
        audio = report.audio if report is not None else AudioReport(False)
        self._show_row("microphone", microphone_row(audio, self.silent_microphone))

    def _show_row(self, name: str, view: RowView) -> None:
        self.device_rows[name].set_state(
            str(view.state), view.text, view.fix, view.command, view.can_retry
        )

    def update_status(self) -> None:
        status.update_status(self)

    def on_engine_problem(self, kind: str, name: str, message: str) -> None:
        if kind == EventKind.STAGE_ERROR:
            key = f"stage-{name}"
            if key in self.messages.bars:
                return
            text = f"The effect “{stage_title(name)}” failed and is skipped: {message}"
        elif kind == EventKind.STAGE_OPEN_ERROR:
            key = f"stage-{name}"
            text = f"The effect “{stage_title(name)}” could not start and is left out: {message}"
        elif kind == EventKind.STAGE_WARNING:
            # The effect goes on as it was: a warning, not a problem of the whole stream.
            message = message[:1].upper() + message[1:]
            text = f"{stage_title(name)}: {message}."
            self.messages.show_message(f"stage-{name}", text, "warning")
            self._follow_settings_in_use(name)
            return
        else:
            key = kind
            text = f"{name}: {message}"
        self.messages.show_message(key, text, "error")
        self.state.set_problem(text)

    # ================================================================= tray / hotkeys / theme
    def _update_tray(self) -> None:
        if self.tray is None:
            return
        look, text = self.state.tray_look()
        vcam = self.state.vcam if self.state.vcam_wanted else VirtualCamera.OFF
        self.tray.set_current_preset(self.preset_key)
        self.tray.show_state(str(look), text, vcam_on=vcam != "off", paused=self.paused)
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
        self.themer.apply(self.settings.theme)
        self.messages.restyle()
