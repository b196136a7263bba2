"""The window's preset file actions: import, export, the Manage dialog, broken files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog

from app.gui.presets_dialog import PresetsDialog
from pipelines.errors import CamfxError
from pipelines.userdata import USER, Problem, export_file_name, preset_key

if TYPE_CHECKING:
    from app.gui.window import MainWindow


def show_problems(w: MainWindow, problems: Sequence[Problem] | None = None) -> None:
    """One bar for the preset files that could not be loaded (``problems``, or all that the
    last read found)."""
    listed = w.presets.problems if problems is None else problems
    text = "Some of your presets could not be loaded:\n" + "\n".join(f"• {p}" for p in listed)
    w.messages.show_message("preset-files", text, "warning", [("Open folder", lambda: _open(w))])


def _open(w: MainWindow) -> None:
    w.presets.folder.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(w.presets.folder)))


def import_preset(w: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(
        w, "Import preset", str(Path.home()), "camfx presets (*.json);;All files (*)"
    )
    if not path:
        return
    try:
        made = w.presets.import_file(Path(path))
    except CamfxError as exc:
        w.messages.show_message("preset", f"Could not import {path}: {exc}", "error")
        return
    w.refresh_preset_lists()
    w.choose_preset(preset_key(USER, made.name))


def export_preset(w: MainWindow) -> None:
    preset = w.state.current_preset()
    path, _ = QFileDialog.getSaveFileName(
        w,
        "Export preset",
        str(Path.home() / export_file_name(preset.name)),
        "camfx presets (*.json)",
    )
    if not path:
        return
    try:
        w.presets.export(preset, Path(path))
    except CamfxError as exc:
        w.messages.show_message("preset", f"Could not export: {exc}", "error")


def manage(w: MainWindow) -> PresetsDialog:
    dialog = PresetsDialog(w.presets, w.state.current_preset, w)
    dialog.changed.connect(w.refresh_preset_lists)
    dialog.renamed.connect(lambda old, new: _renamed(w, old, new))
    dialog.deleted.connect(lambda key: _deleted(w, key))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def _renamed(w: MainWindow, old: str, new: str) -> None:
    w.state.preset_renamed(old, new)
    w._schedule_save()


def _deleted(w: MainWindow, key: str) -> None:
    instead = w.state.preset_deleted(key)
    if instead is not None:
        w.choose_preset(instead)
