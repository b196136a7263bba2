"""Effect panels generated from each stage's settings schema.

No stage has hand-written GUI code: every field of its frozen settings dataclass gets a
control chosen from what the settings schema (:mod:`pipelines.schema`) says of it, so a new
stage gets controls for free, with the same bounds and choices that validation uses:

=======================================  ===============================================
field                                    control
=======================================  ===============================================
``enabled: bool``                        the panel's own check box (its title)
``bool``                                 check box
number with ``Meta(ge=, le=)`` bounds    slider and spin box
number without bounds                    spin box
``Literal[...]``                         drop-down
``"#rrggbb"`` str, or a tuple of 3-4 ints, named ``*colo(u)r*``
                                         colour button (tuples are B, G, R[, A])
``Annotated[str, FileField(kinds)]``,    text field and "Browse…" (its dialog lists
or a ``str`` named ``*path``/``*file``   ``kinds``' files first, else all files)
other ``str``                            text field
other tuples                             text field of comma-separated numbers
=======================================  ===============================================

A row is labelled with the field's name in words, or with the
:class:`~pipelines.schema.Label` in its annotation (its text; its help as the tooltip).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.qtcompat import emit
from pipelines import schema
from pipelines.audio.inputs import FileInput
from pipelines.errors import CamfxError
from pipelines.schema import FieldKind, FieldSpec, FileKind
from pipelines.sources.files import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from pipelines.stage import StageSettings
from pipelines.userdata import display_name

SLIDER_STEPS = 200
LOG_SCALE_RATIO = 1000.0
"""A range whose top is this many times its (positive) bottom gets a logarithmic slider: on a
linear one, 1-100000 put the default 40 at the far left and every step was 500."""
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")

FILE_FILTERS: dict[FileKind, tuple[str, tuple[str, ...]]] = {
    FileKind.IMAGE: ("Images", IMAGE_SUFFIXES),
    FileKind.SOUND: ("Sound files and videos", FileInput.suffixes),
    FileKind.VIDEO: ("Videos", VIDEO_SUFFIXES),
}
"""The file dialog's filter per :class:`~pipelines.schema.FileKind`: the suffixes that the
code reading the file takes (a portrait's photo, a voice file)."""


def file_filter(kinds: tuple[FileKind, ...]) -> str:
    """A Qt file dialog's filter: each kind's files, then all files (a file named oddly)."""
    parts = []
    for kind in kinds:
        title, suffixes = FILE_FILTERS[kind]
        parts.append(f"{title} ({' '.join('*' + s for s in suffixes)})")
    return ";;".join([*parts, "All files (*)"])


ACRONYMS = {
    "fov": "FOV",
    "fps": "fps",
    "id": "ID",
    "ids": "IDs",
    "rgb": "RGB",
    "hdr": "HDR",
    "snr": "SNR",
}
UNITS = {"s": "s", "ms": "ms", "px": "px", "db": "dB", "mb": "MB", "hz": "Hz"}
"""A field name's last word that is its unit, as a label shows it: ``hold_s`` → "Hold (s)"."""


def humanize(name: str) -> str:
    words = display_name(name).split(" ")
    unit = UNITS.get(words[-1].lower()) if len(words) > 1 else None
    text = " ".join(ACRONYMS.get(w.lower(), w) for w in (words[:-1] if unit else words))
    return f"{text} ({unit})" if unit else text


def slider_step(span: float) -> float:
    """The 1-2-5 step (…, 0.01, 0.02, 0.05, 0.1, …) that a slider of :data:`SLIDER_STEPS`
    positions over ``span`` rounds its values to: the largest not above one position, so
    each position keeps a value of its own and a value reads 0.5, not 0.501."""
    if span <= 0:
        return 1.0
    per = span / SLIDER_STEPS
    step = 10.0 ** math.floor(math.log10(per))
    for factor in (5.0, 2.0):
        if step * factor <= per:
            return step * factor
    return step


def field_kind(f: FieldSpec, default: Any) -> str:
    if f.kind is FieldKind.BOOL:
        return "bool"
    if f.kind in (FieldKind.INT, FieldKind.FLOAT):
        return "bounded" if f.bounded else "number"
    if f.kind is FieldKind.CHOICE:
        return "choice"
    if f.kind is FieldKind.TEXT and isinstance(default, str):
        if "colo" in f.name and HEX_COLOR.fullmatch(default):
            return "color"
        if f.file is not None or f.name.endswith(("path", "file")):
            return "path"
        return "text"
    if f.kind is FieldKind.TUPLE and isinstance(default, tuple):
        colorish = "colo" in f.name
        if colorish and len(default) in (3, 4) and all(isinstance(v, int) for v in default):
            return "color"
        return "tuple"
    return "unsupported"


class InvalidEntry(ValueError):
    """Emitted instead of a value when the text typed cannot be read as one."""


class FieldEditor(QWidget):
    """A control for one setting; emits :attr:`valueChanged` with the new value."""

    valueChanged = Signal(object)

    def __init__(self, f: FieldSpec, value: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = f
        self.name = f.name
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.build(layout, value)

    def build(self, layout: QHBoxLayout, value: Any) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def focus_widget(self) -> QWidget:
        return self


class BoolEditor(FieldEditor):
    def build(self, layout: QHBoxLayout, value: Any) -> None:
        self.box = QCheckBox(self)
        self.box.setChecked(bool(value))
        self.box.toggled.connect(lambda on: emit(self.valueChanged, bool(on)))
        layout.addWidget(self.box)
        layout.addStretch(1)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)

    def focus_widget(self) -> QWidget:
        return self.box


class NumberEditor(FieldEditor):
    """Slider + spin box for bounded numbers; a spin box alone otherwise."""

    def build(self, layout: QHBoxLayout, value: Any) -> None:
        f = self.field
        self.is_int = f.kind is FieldKind.INT
        bounded = f.lo is not None and f.hi is not None
        lo = f.lo if f.lo is not None else -1e9
        hi = f.hi if f.hi is not None else 1e9
        self.lo, self.hi = float(lo), float(hi)
        self.spin: QSpinBox | QDoubleSpinBox
        if self.is_int:
            spin_i = QSpinBox(self)
            spin_i.setRange(int(max(lo, -(2**31) + 1)), int(min(hi, 2**31 - 1)))
            spin_i.setValue(int(value))
            spin_i.valueChanged.connect(self._spin_changed)
            self.spin = spin_i
        else:
            spin_d = QDoubleSpinBox(self)
            span = self.hi - self.lo
            decimals = 3 if span <= 1.0 else 2 if span <= 20 else 1
            spin_d.setDecimals(decimals)
            spin_d.setRange(self.lo, self.hi)
            spin_d.setSingleStep(span / 100 if bounded else 0.1)
            spin_d.setValue(float(value))
            spin_d.valueChanged.connect(self._spin_changed)
            self.spin = spin_d
        self.default = f.default
        self.direct = self.is_int and self.hi - self.lo <= 1000
        """One slider position per integer."""
        self.log_scale = not self.direct and self.lo > 0 and self.hi >= self.lo * LOG_SCALE_RATIO
        self.step = slider_step(self.hi - self.lo)
        self.slider: QSlider | None = None
        if bounded:
            slider = QSlider(Qt.Orientation.Horizontal, self)
            if self.direct:
                slider.setRange(int(lo), int(hi))
            else:
                slider.setRange(0, SLIDER_STEPS)
            slider.setPageStep(max(1, (slider.maximum() - slider.minimum()) // 10))
            slider.setValue(self._to_slider(value))
            slider.valueChanged.connect(self._slider_changed)
            slider.setMinimumWidth(120)
            layout.addWidget(slider, 1)
            self.slider = slider
        self.spin.setMinimumWidth(80)
        layout.addWidget(self.spin, 0 if self.slider is not None else 1)

    def _to_slider(self, value: Any) -> int:
        if self.direct:
            return int(value)
        span = self.hi - self.lo
        if span <= 0:
            return 0
        if self.log_scale:
            ratio = max(float(value), self.lo) / self.lo
            return round(math.log(ratio) / math.log(self.hi / self.lo) * SLIDER_STEPS)
        return round((float(value) - self.lo) / span * SLIDER_STEPS)

    def _from_slider(self, pos: int) -> Any:
        if self.direct:
            return int(pos)
        if pos <= 0 or pos >= SLIDER_STEPS:
            value = self.lo if pos <= 0 else self.hi
        elif isinstance(self.default, int | float) and pos == self._to_slider(self.default):
            # Dragged back to where the default sits: the default itself, so that the
            # preset reads as unchanged (not 0.501 for 0.5).
            value = float(self.default)
        elif self.log_scale:
            value = self.lo * (self.hi / self.lo) ** (pos / SLIDER_STEPS)
        else:
            value = self.lo + (self.hi - self.lo) * pos / SLIDER_STEPS
            value = min(self.hi, max(self.lo, round(round(value / self.step) * self.step, 10)))
        return round(value) if self.is_int else value

    def _slider_changed(self, pos: int) -> None:
        value = self._from_slider(pos)
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        emit(self.valueChanged, self.value())

    def _spin_changed(self, value: float) -> None:
        if self.slider is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(self._to_slider(value))
            self.slider.blockSignals(False)
        emit(self.valueChanged, self.value())

    def value(self) -> Any:
        v = self.spin.value()
        return int(v) if self.is_int else float(v)

    def set_value(self, value: Any) -> None:
        for w in (self.spin, self.slider):
            if w is not None:
                w.blockSignals(True)
        self.spin.setValue(value)
        if self.slider is not None:
            self.slider.setValue(self._to_slider(value))
        for w in (self.spin, self.slider):
            if w is not None:
                w.blockSignals(False)

    def focus_widget(self) -> QWidget:
        return self.slider if self.slider is not None else self.spin


class ColorEditor(FieldEditor):
    """A swatch button; the dialog previews live and restores the old colour on Cancel."""

    def build(self, layout: QHBoxLayout, value: Any) -> None:
        self.hex = isinstance(value, str)
        self._value: Any = value if self.hex else tuple(int(v) for v in value)
        self.button = QPushButton(self)
        self.button.clicked.connect(self.choose)
        layout.addWidget(self.button)
        layout.addStretch(1)
        self._paint()

    def _qcolor(self, value: Any) -> QColor:
        if self.hex:
            return QColor(str(value))
        a, b, c = value[:3]
        color = QColor(c, b, a)  # tuples are B, G, R as OpenCV has them
        if len(value) == 4:
            color.setAlpha(value[3])
        return color

    def _from_qcolor(self, color: QColor) -> Any:
        if self.hex:
            return color.name()
        rgb = (color.red(), color.green(), color.blue())
        out = rgb[::-1]
        return (*out, color.alpha()) if len(self._value) == 4 else out

    def _paint(self) -> None:
        color = self._qcolor(self._value)
        self.button.setText(color.name())
        text = "black" if color.lightnessF() > 0.55 else "white"
        self.button.setStyleSheet(
            f"QPushButton {{ background: {color.name()}; color: {text}; padding: 3px 12px; }}"
        )
        self.button.setAccessibleName(f"{humanize(self.name)}: {color.name()}")

    def choose(self) -> None:
        old = self._value
        dialog = QColorDialog(self._qcolor(old), self)
        if not self.hex and len(old) == 4:
            dialog.setOption(QColorDialog.ColorDialogOption.ShowAlphaChannel)
        dialog.setWindowTitle(humanize(self.name))
        dialog.currentColorChanged.connect(lambda c: self._set_and_emit(self._from_qcolor(c)))

        def done(result: int) -> None:
            if result != QColorDialog.DialogCode.Accepted:
                self._set_and_emit(old)
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()

    def _set_and_emit(self, value: Any) -> None:
        if value != self._value:
            self._value = value
            self._paint()
            emit(self.valueChanged, value)

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = value if self.hex else tuple(int(v) for v in value)
        self._paint()

    def focus_widget(self) -> QWidget:
        return self.button


class TextEditor(FieldEditor):
    def build(self, layout: QHBoxLayout, value: Any) -> None:
        self.edit = QLineEdit(str(value), self)
        self.edit.editingFinished.connect(self._finished)
        layout.addWidget(self.edit, 1)
        self._last = str(value)

    def _finished(self) -> None:
        if self.edit.text() != self._last:
            self._last = self.edit.text()
            try:
                value = self.value()
            except ValueError as exc:
                value = InvalidEntry(f"{self.edit.text()!r} is not valid here ({exc})")
            emit(self.valueChanged, value)

    def value(self) -> Any:
        return self.edit.text()

    def set_value(self, value: Any) -> None:
        self._last = str(value)
        self.edit.setText(self._last)

    def focus_widget(self) -> QWidget:
        return self.edit


class PathEditor(TextEditor):
    """A file's path: typed, or picked with "Browse…" (a field that also takes words, as the
    voice's "mic", keeps them typed in its text field)."""

    def build(self, layout: QHBoxLayout, value: Any) -> None:
        super().build(layout, value)
        marker = self.field.file
        self.filter = file_filter(marker.kinds if marker is not None else ())
        words = marker.words if marker is not None else ""
        self.edit.setPlaceholderText(f"{words}, or a file" if words else "(none)")
        if words:
            self.setToolTip(f"{words}, or a file's path")
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.clicked.connect(self.browse)
        layout.addWidget(self.browse_button)

    def browse(self) -> None:
        text = self.edit.text()
        # A word such as "mic" is no place to start the dialog in.
        start = text if os.path.isabs(text) else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, humanize(self.name), start, self.filter)
        if path:
            self.edit.setText(path)
            self._finished()


class TupleEditor(TextEditor):
    def build(self, layout: QHBoxLayout, value: Any) -> None:
        super().build(layout, ", ".join(str(v) for v in value))
        self.edit.setToolTip("Numbers separated by commas")

    def value(self) -> Any:
        parts = [p.strip() for p in self.edit.text().split(",") if p.strip()]
        out: list[float | int] = []
        for part in parts:
            try:
                out.append(int(part))
            except ValueError:
                number = float(part)  # ValueError: reported as an InvalidEntry
                out.append(number if math.isfinite(number) else 0.0)
        return tuple(out)

    def set_value(self, value: Any) -> None:
        super().set_value(", ".join(str(v) for v in value))


class ChoiceEditor(FieldEditor):
    def build(self, layout: QHBoxLayout, value: Any) -> None:
        self.combo = QComboBox(self)
        for choice in self.field.choices:
            self.combo.addItem(humanize(str(choice)), str(choice))
        self.set_value(value)
        self.combo.currentIndexChanged.connect(lambda _i: emit(self.valueChanged, self.value()))
        layout.addWidget(self.combo, 1)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        self.combo.blockSignals(True)
        index = self.combo.findData(str(value))
        self.combo.setCurrentIndex(max(0, index))
        self.combo.blockSignals(False)

    def focus_widget(self) -> QWidget:
        return self.combo


EDITORS: dict[str, type[FieldEditor]] = {
    "bool": BoolEditor,
    "bounded": NumberEditor,
    "number": NumberEditor,
    "color": ColorEditor,
    "text": TextEditor,
    "path": PathEditor,
    "tuple": TupleEditor,
    "choice": ChoiceEditor,
}


class StagePanel(QFrame):
    """The controls of one stage: a header with its on/off check box and a button that shows
    or hides its settings, then one row per setting. Emits :attr:`settingsChanged` with a
    *validated* new settings object; an invalid entry is put back and reported through
    :attr:`problem`."""

    settingsChanged = Signal(str, object)
    problem = Signal(str)

    def __init__(
        self,
        stage_name: str,
        settings: StageSettings,
        title: str = "",
        parent: QWidget | None = None,
        expanded: bool = True,
    ) -> None:
        super().__init__(parent)
        self.stage_name = stage_name
        self.settings = settings
        self._title = title or humanize(stage_name)
        self.editors: dict[str, FieldEditor] = {}
        self.setObjectName(f"stage-{stage_name}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"{self._title} settings")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 4)
        header = QHBoxLayout()
        self.enabled_box = QCheckBox(self._title, self)
        font = self.enabled_box.font()
        font.setBold(True)
        self.enabled_box.setFont(font)
        self.enabled_box.setToolTip("Turn this effect on or off")
        has_enabled = any(f.name == "enabled" for f in dataclasses.fields(settings))
        self.enabled_box.setChecked(bool(getattr(settings, "enabled", True)))
        self.enabled_box.setEnabled(has_enabled)
        self.enabled_box.toggled.connect(lambda on: self._changed("enabled", bool(on)))
        self.expand_button = QToolButton(self)
        self.expand_button.setCheckable(True)
        self.expand_button.setAutoRaise(True)
        self.expand_button.setAccessibleName(f"Show {self._title} settings")
        self.expand_button.toggled.connect(self.set_expanded)
        header.addWidget(self.enabled_box, 1)
        header.addWidget(self.expand_button)
        outer.addLayout(header)
        self.body = QWidget(self)
        form = QFormLayout(self.body)
        form.setContentsMargins(18, 0, 0, 4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for f in schema.fields_of(type(settings)):
            if f.name == "enabled":
                continue
            value = getattr(settings, f.name)
            kind = field_kind(f, value)
            editor_cls = EDITORS.get(kind)
            if editor_cls is None:
                continue
            editor = editor_cls(f, value, self.body)
            editor.setObjectName(f"{stage_name}.{f.name}")
            label_text = f.label.text if f.label is not None else humanize(f.name)
            label = QLabel(label_text, self.body)
            label.setBuddy(editor.focus_widget())
            editor.focus_widget().setAccessibleName(f"{self._title}: {label_text}")
            if f.label is not None and f.label.help:
                editor.setToolTip(f.label.help)
            if editor.toolTip():
                label.setToolTip(editor.toolTip())
            editor.valueChanged.connect(lambda v, name=f.name: self._changed(name, v))
            form.addRow(label, editor)
            self.editors[f.name] = editor
        outer.addWidget(self.body)
        self.expand_button.setVisible(bool(self.editors))
        self.expand_button.setChecked(expanded)
        self.set_expanded(expanded and bool(self.editors))

    def title(self) -> str:
        return self._title

    def isChecked(self) -> bool:
        return self.enabled_box.isChecked()

    def set_expanded(self, on: bool) -> None:
        self.body.setVisible(on)
        self.expand_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.expand_button.setToolTip("Hide the settings" if on else "Show the settings")

    @property
    def expanded(self) -> bool:
        return self.expand_button.isChecked()

    def _changed(self, name: str, value: Any) -> None:
        try:
            if isinstance(value, InvalidEntry):
                raise value
            new = self.settings.replace(**{name: value})
        except (CamfxError, TypeError, ValueError) as exc:
            emit(self.problem, f"{self._title}: {exc}")
            self.set_settings(self.settings)
            return
        self.settings = new
        emit(self.settingsChanged, self.stage_name, new)

    def set_settings(self, settings: StageSettings) -> None:
        """Show ``settings`` without emitting anything."""
        self.settings = settings
        self.enabled_box.blockSignals(True)
        self.enabled_box.setChecked(bool(getattr(settings, "enabled", True)))
        self.enabled_box.blockSignals(False)
        for name, editor in self.editors.items():
            editor.set_value(getattr(settings, name))


class EffectsPanel(QWidget):
    """All stage panels of the current preset, in pipeline order."""

    settingsChanged = Signal(str, object)
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels: dict[str, StagePanel] = {}
        self.expanded: dict[str, bool] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("No effects in this preset: the picture is sent as it is.", self)
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty)

    def set_stages(
        self, stages: list[tuple[str, StageSettings]], titles: dict[str, str] | None = None
    ) -> None:
        """Show the panels of ``stages``. With more than two stages they start folded (a
        preset like Studio has five) unless the user opened one before."""
        for name, panel in self.panels.items():
            self.expanded[name] = panel.expanded
            self._layout.removeWidget(panel)
            panel.deleteLater()
        self.panels = {}
        default = len(stages) <= 2
        for name, settings in stages:
            panel = StagePanel(
                name,
                settings,
                (titles or {}).get(name, ""),
                self,
                expanded=self.expanded.get(name, default),
            )
            panel.settingsChanged.connect(self.settingsChanged)
            panel.problem.connect(self.problem)
            self._layout.addWidget(panel)
            self.panels[name] = panel
        self._empty.setVisible(not stages)

    def panels_open(self) -> dict[str, bool]:
        """Whether each effect's panel is unfolded, the shown ones as they are now."""
        return {**self.expanded, **{name: p.expanded for name, p in self.panels.items()}}

    def editor(self, stage: str, field: str) -> FieldEditor:
        return self.panels[stage].editors[field]
