"""The Output group's behaviour: the virtual camera, recordings, the output format."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from app.gui.widgets import REFRESH, set_checked_quietly
from app.state import VirtualCamera
from app.state.devices import virtual_camera_label, virtual_camera_row
from app.state.labels import repair_results, torn_recordings_offer
from pipelines.outputs.existing import free_name, numbered_names
from pipelines.outputs.virtualcam import setup_hint

if TYPE_CHECKING:
    from app.gui.window import MainWindow
    from pipelines.outputs.repair import RepairReport

TORN = "torn-recordings"
"""The message bar that offers to repair recordings a hard stop tore, then says how it went."""
RECORDING_NOTE = "recording-note"
"""The message bar that says what a recording just started will not hold (a video's sound)."""
RECORDING_SOUND_LOST = "recording-sound-lost"
"""The message bar that says a recording just saved lost some of its microphone's sound."""


class OutputsView:
    """Forwards the Output group's controls to the state and the controller, and shows what
    they answer."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.offered_folder: str | None = None
        self.requested_recording: str | None = None
        """The path of the recording the last click on Record started (None once stopped):
        the controller's events about an earlier one, queued behind a double click, must not
        set the buttons (its "on" checked Record for a recording already stopped)."""
        self.given_names: set[str] = set()
        """Every path a recording was started at: a name is never given twice, so an event
        names one recording (a double click's stopped one was still at its name)."""
        """The folder whose torn recordings the bar offers to repair, while it does."""

    def set_virtual_camera(self, on: bool) -> None:
        w = self.window
        set_checked_quietly((w.vcam_check, w.vcam_action), on)
        if w.settings.virtual_camera != on:
            w.settings.virtual_camera = on
            w._schedule_save()
        w.state.vcam_wanted = on
        wanted = w.controller.vcam_wanted
        if on != wanted or (on and w.state.vcam in ("off", "unavailable")):
            w.controller.set_virtual_camera(on, w.settings.virtual_camera_device)

    def on_vcam_state(self, state: str, detail: str) -> None:
        w = self.window
        w.state.set_virtual_camera(state, detail)
        view = virtual_camera_row(state, detail, setup_hint())
        w._show_row("virtual_camera", view)
        if state == VirtualCamera.UNAVAILABLE:
            w.messages.show_message(
                "vcam",
                f"The virtual camera is not available. To fix: {setup_hint()}. "
                "camfx tries again every 5 seconds.",
                "warning",
                [(REFRESH, w.controller.retry_virtual_camera)]
                + ([("Copy command", lambda: self._copy(view.command))] if view.command else []),
            )
        elif state != VirtualCamera.STARTING:
            w.messages.clear("vcam")
        self.update_vcam_label()

    def update_vcam_label(self) -> None:
        w = self.window
        st = w.state
        w.vcam_label.setText(virtual_camera_label(st.vcam, st.vcam_detail, st.idle))

    @staticmethod
    def _copy(text: str) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(text)

    def record_folder(self) -> Path:
        w = self.window
        if w.settings.record_folder:
            return Path(w.settings.record_folder)
        movies = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
        return Path(movies) if movies else Path.home()

    def choose_record_folder(self) -> None:
        w = self.window
        folder = QFileDialog.getExistingDirectory(
            w, "Save recordings in", str(self.record_folder())
        )
        if folder:
            w.settings.record_folder = folder
            self.update_record_label()
            w._schedule_save()
            self.look_for_torn_recordings()

    def look_for_torn_recordings(self) -> None:
        """Ask (off the GUI thread) which recordings in the record folder a hard stop tore."""
        self.window.controller.find_torn_recordings(str(self.record_folder()))

    def on_torn_recordings(self, folder: str, paths: list[Path]) -> None:
        w = self.window
        if folder != str(self.record_folder()):
            return  # the user chose another folder meanwhile
        if not paths:
            if self.offered_folder not in (None, folder):
                # The offer names files of the folder left behind, which nothing records into
                # now: it goes (a repair's result, not an offer, stays).
                self.dismiss_torn_offer()
            return
        self.offered_folder = folder
        w.messages.show_message(
            TORN,
            torn_recordings_offer(paths),
            "warning",
            [
                ("Repair", lambda: self.repair_torn(paths)),
                ("Not now", self.dismiss_torn_offer),
            ],
        )

    def dismiss_torn_offer(self) -> None:
        self.offered_folder = None
        self.window.messages.clear(TORN)

    def repair_torn(self, paths: list[Path]) -> None:
        w = self.window
        what = paths[0].name if len(paths) == 1 else f"{len(paths)} recordings"
        self.offered_folder = None
        w.messages.show_message(TORN, f"Repairing {what}…", "info")
        w.controller.repair_recordings(paths)

    def on_recordings_repaired(self, reports: list[RepairReport]) -> None:
        text, level = repair_results(reports)
        self.window.messages.show_message(TORN, text, level)

    def update_record_label(self, text: str = "") -> None:
        w = self.window
        w.record_label.setText(text or f"Saves MP4 files in {self.record_folder()}")

    def set_recording(self, on: bool, path: str | None = None) -> None:
        w = self.window
        set_checked_quietly((w.record_button, w.record_action), on)
        if on == w.recording:
            return
        w.state.set_recording(on)
        if on:
            folder = self.record_folder()
            if not w.settings.record_folder and not folder.exists():
                # The default folder (~/Videos) is ours to make: a new user without one could
                # not record ("does not exist; create it first", qa64). A folder the user
                # chose is not made again (a drive not plugged in): the recorder says so.
                with contextlib.suppress(OSError):  # else the recorder says why
                    folder.mkdir(parents=True, exist_ok=True)
            # Two recordings started in one second get the same time stamp: the second is
            # "-2", never the first replaced (the recorder refuses a file there anyway).
            stamped = folder / time.strftime("camfx-%Y%m%d-%H%M%S.mp4")
            target = path or self.unused_name(stamped)
            self.given_names.add(target)
            self.requested_recording = target
            self.update_record_label(f"Starting {target}…")
            w.controller.start_recording(target)
        else:
            self.requested_recording = None
            w.controller.stop_recording()

    def unused_name(self, stamped: Path) -> str:
        """``stamped``, or ``-2``, ``-3``…: the first that no file is at and that no
        recording of this window was started at (its file may not be there yet, or be
        removed already as empty)."""
        for candidate in numbered_names(stamped):
            if str(candidate) not in self.given_names and not os.path.lexists(candidate):
                return str(candidate)
        # Every numbered name given this session: the first free on disk (or its error).
        return str(free_name(stamped))

    def on_recording_state(self, state: str, detail: str) -> None:
        w = self.window
        if state == "on":
            if detail != self.requested_recording:
                return  # already stopped by a later click: its "off" or "empty" follows
            w.state.set_recording(True)
            set_checked_quietly((w.record_button, w.record_action), True)
            # What the last recording's end said is over (a "stopped because …" bar stayed up
            # beside the next two recordings' "Recording to …": qa62).
            w.messages.clear("record")
            self.update_record_label(f"Recording to {detail}")
            w.record_button.setText("■ Stop &recording")
            notes = w.controller.recording_notes
            if notes:
                w.messages.show_message(RECORDING_NOTE, "\n".join(notes), "info")
            else:
                w.messages.clear(RECORDING_NOTE)
            return
        # In the status bar also for an earlier recording (its end queued behind a new start).
        if state == "empty":
            w.statusBar().showMessage(
                f"Nothing was recorded in {Path(detail).name} (stopped before its first "
                "frame); no file is left",
                6000,
            )
        elif state == "off" and detail:
            w.statusBar().showMessage(f"Recording saved to {detail}", 6000)
        if state != "error" and self.requested_recording not in (None, detail):
            return  # an earlier recording ended; the one started since goes on
        self.requested_recording = None
        w.state.set_recording(False)
        self.set_recording(False)
        w.record_button.setText("● &Record")
        if state == "error":
            self.update_record_label()
            w.messages.show_message("record", f"Recording failed: {detail}", "error")
        elif state == "empty":
            self.update_record_label("Nothing recorded: stopped before its first frame")
        elif detail:
            self.update_record_label(f"Saved {detail}")

    def on_recording_sound_lost(self, path: str, seconds: float) -> None:
        """A recording saved with a gap in its sound: said in the window, where the user who
        plays it back would otherwise find it (the log line alone went unread)."""
        self.window.messages.show_message(
            RECORDING_SOUND_LOST,
            f"{Path(path).name}: {seconds:.2f} s of the microphone's sound was lost (the "
            "machine was too busy to read it in time) and is silence in the recording. Close "
            "other busy programs or choose a lighter preset before recording again.",
            "warning",
        )

    def on_format(self, _index: int = 0) -> None:
        w = self.window
        size = w.size_combo.currentData()
        fps = float(w.fps_combo.currentData())
        before = (tuple(w.settings.output_size), float(w.settings.fps))
        w.settings.output_size = (int(size[0]), int(size[1]))
        w.settings.fps = fps
        changed = [
            what
            for what, differs in (
                ("output size", before[0] != w.settings.output_size),
                ("frame rate", before[1] != fps),
            )
            if differs
        ]
        if w.recording and changed:
            # Named for what changed (a frame rate change said "the output size"; qa62).
            w.messages.show_message(
                "record",
                f"The recording stopped because the {' and '.join(changed)} changed.",
                "info",
            )
        w.controller.set_output_format((int(size[0]), int(size[1])), fps)
        w._schedule_save()
