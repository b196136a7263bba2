"""Manage presets: new from the current settings, rename, duplicate, delete, import, export.

Built-in presets are listed too (read-only: they can be duplicated and exported). Every action
goes through :class:`pipelines.userdata.PresetStore`, so the files stay valid and atomic; the
prompts are methods of their own so tests (and keyboard users) can drive the same paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.qtcompat import emit
from pipelines.errors import CamfxError
from pipelines.presets import PRESETS, Preset
from pipelines.userdata import (
    BUILTIN,
    USER,
    PresetStore,
    display_name,
    preset_key,
    split_preset_key,
)


class PresetsDialog(QDialog):
    changed = Signal()
    """The user's presets changed (the window refreshes its lists)."""
    renamed = Signal(str, str)
    """old key, new key."""
    deleted = Signal(str)

    def __init__(
        self,
        store: PresetStore,
        current: Callable[[], Preset],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.current = current
        self.setWindowTitle("Presets — camfx")
        self.setObjectName("presets-dialog")
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"Your presets are files in {store.folder}. Built-in presets cannot be changed; "
            "duplicate one to make it yours.",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.list = QListWidget(self)
        self.list.setAccessibleName("Presets")
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        row.addWidget(self.list, 1)
        buttons = QVBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for name, label, slot in (
            ("new", "&New from current…", self.on_new),
            ("duplicate", "&Duplicate…", self.on_duplicate),
            ("rename", "&Rename…", self.on_rename),
            ("delete", "De&lete…", self.on_delete),
            ("import", "&Import…", self.on_import),
            ("export", "&Export…", self.on_export),
            ("folder", "Open &folder", self.on_open_folder),
        ):
            button = QPushButton(label, self)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[name] = button
        buttons.addStretch(1)
        row.addLayout(buttons)
        layout.addLayout(row)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.resize(560, 380)
        self.refresh()

    # ----------------------------------------------------------------- list
    def refresh(self, select: str | None = None) -> None:
        selected = select or self.selected_key()
        self.list.clear()
        for name in PRESETS.names():
            item = QListWidgetItem(f"{display_name(name)}  (built-in)")
            item.setData(Qt.ItemDataRole.UserRole, preset_key(BUILTIN, name))
            item.setToolTip(PRESETS.get(name).description)
            self.list.addItem(item)
        for entry in self.store.list():
            item = QListWidgetItem(entry.name)
            item.setData(Qt.ItemDataRole.UserRole, preset_key(USER, entry.name))
            item.setToolTip(str(entry.path))
            self.list.addItem(item)
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == selected:
                self.list.setCurrentRow(i)
                break
        else:
            self.list.setCurrentRow(0)
        self._update_buttons()

    def selected_key(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def selected_preset(self) -> Preset | None:
        key = self.selected_key()
        if key is None:
            return None
        kind, name = split_preset_key(key)
        try:
            return self.store.get(name) if kind == USER else PRESETS.get(name)
        except (CamfxError, KeyError):
            return None

    def _update_buttons(self) -> None:
        key = self.selected_key() or ""
        is_user = key.startswith(f"{USER}:")
        self.buttons["rename"].setEnabled(is_user)
        self.buttons["delete"].setEnabled(is_user)
        self.buttons["duplicate"].setEnabled(bool(key))
        self.buttons["export"].setEnabled(bool(key))

    # ----------------------------------------------------------------- prompts (overridable)
    def ask_name(self, title: str, label: str, text: str) -> str | None:
        name, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, text)
        return name if ok else None

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import preset", _documents(), "camfx presets (*.json);;All files (*)"
        )
        return path or None

    def ask_save_path(self, suggested: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export preset", str(Path(_documents()) / suggested), "camfx presets (*.json)"
        )
        return path or None

    def show_error(self, text: str) -> None:
        QMessageBox.warning(self, "camfx", text)

    # ----------------------------------------------------------------- actions
    def _guard(self, action: Callable[[], object]) -> object | None:
        try:
            return action()
        except CamfxError as exc:
            self.show_error(str(exc))
            return None

    def on_new(self) -> None:
        base = self.current()
        name = self.ask_name(
            "New preset", "Name of the new preset:", self.store.unique_name("My preset")
        )
        if not name:
            return
        made = self._guard(lambda: self.store.save(dataclasses.replace(base, name=name)))
        if isinstance(made, Preset):
            emit(self.changed)
            self.refresh(preset_key(USER, made.name))

    def on_duplicate(self) -> None:
        preset = self.selected_preset()
        if preset is None:
            return
        suggested = self.store.unique_name(f"{display_name(preset.name)} copy")
        name = self.ask_name("Duplicate preset", "Name of the copy:", suggested)
        if not name:
            return
        made = self._guard(lambda: self.store.duplicate(preset, name))
        if isinstance(made, Preset):
            emit(self.changed)
            self.refresh(preset_key(USER, made.name))

    def on_rename(self) -> None:
        key = self.selected_key() or ""
        kind, old = split_preset_key(key)
        if kind != USER:
            return
        name = self.ask_name("Rename preset", "New name:", old)
        if not name or name == old:
            return
        made = self._guard(lambda: self.store.rename(old, name))
        if isinstance(made, Preset):
            emit(self.renamed, key, preset_key(USER, made.name))
            emit(self.changed)
            self.refresh(preset_key(USER, made.name))

    def on_delete(self) -> None:
        key = self.selected_key() or ""
        kind, name = split_preset_key(key)
        if kind != USER:
            return
        if not self.confirm("Delete preset", f"Delete the preset “{name}”? This cannot be undone."):
            return
        if self._guard(lambda: self.store.delete(name)) is None and name not in self.store:
            emit(self.deleted, key)
            emit(self.changed)
            self.refresh()

    def on_import(self) -> None:
        path = self.ask_open_path()
        if not path:
            return
        made = self._guard(lambda: self.store.import_file(Path(path)))
        if isinstance(made, Preset):
            emit(self.changed)
            self.refresh(preset_key(USER, made.name))

    def on_export(self) -> None:
        preset = self.selected_preset()
        if preset is None:
            return
        path = self.ask_save_path(f"{preset.name}.json")
        if not path:
            return
        if not path.lower().endswith(".json"):
            path += ".json"
        self._guard(lambda: self.store.export(preset, Path(path)))

    def on_open_folder(self) -> None:
        self.store.folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.folder)))


def _documents() -> str:
    return QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation
    ) or str(Path.home())
