"""The window's controls and banners, offscreen (pytest-qt): sliders over wide ranges and back
to a default, unit labels, the dark theme's check boxes, the no-camera banner."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QCheckBox, QStyle, QStyleOptionButton
from test_gui_support import open_window, wait_frames

from app.gui.panels import NumberEditor, humanize
from app.gui.theme import Themer
from pipelines import schema
from pipelines.tracking.tracker import FaceTrackerSettings

pytestmark = pytest.mark.timeout(60)

VISIBLE_CONTRAST = 50
"""Grey levels between an unchecked box's outline and the window around it: the light
theme's box has 51."""


def tracker_field(name: str) -> schema.FieldSpec:
    return next(f for f in schema.fields_of(FaceTrackerSettings) if f.name == name)


def test_a_wide_range_slider_is_logarithmic(qtbot: Any) -> None:
    field = tracker_field("scan_interval")  # 1-100000, default 40
    editor = NumberEditor(field, field.default)
    qtbot.addWidget(editor)
    assert editor.slider is not None
    pos = editor.slider.value()
    assert 0.2 * editor.slider.maximum() < pos < 0.5 * editor.slider.maximum(), pos
    editor.slider.setValue(pos + 1)
    assert 40 < editor.value() < 50  # one step from the default is near it, not 500 away
    editor.slider.setValue(pos)
    assert editor.value() == 40
    editor.slider.setValue(editor.slider.maximum())
    assert editor.value() == 100000


def test_a_slider_dragged_back_to_the_default_leaves_the_preset_unchanged(
    qtbot: Any, windows: list, config: Path
) -> None:
    window = open_window(qtbot, windows, config)
    window.choose_preset("builtin:track")
    qtbot.waitUntil(lambda: "face_tracker" in window.effects.panels, timeout=15000)
    editor = window.effects.editor("face_tracker", "min_detection_score")
    default = editor.value()
    pos = editor.slider.value()
    editor.slider.setValue(pos + 1)
    assert round(editor.value(), 6) == editor.value()  # a value on the field's step
    qtbot.waitUntil(lambda: window.changed_label.text() != "", timeout=3000)
    editor.slider.setValue(pos)
    assert editor.value() == default
    qtbot.waitUntil(lambda: window.changed_label.text() == "", timeout=3000)
    assert not window.modified


def test_labels_put_units_in_brackets(qtbot: Any, windows: list, config: Path) -> None:
    assert humanize("interval_s") == "Interval (s)"
    assert humanize("video_delay_ms") == "Video delay (ms)"
    assert humanize("vertical_fov") == "Vertical FOV"
    window = open_window(qtbot, windows, config)
    window.choose_preset("builtin:privacy-blur")
    qtbot.waitUntil(lambda: "face_boxes" in window.effects.panels, timeout=15000)
    panel = window.effects.panels["face_boxes"]
    labels = [label.text() for label in panel.body.findChildren(type(window.fps_label))]
    assert "Interval (s)" in labels, labels


def test_an_unchecked_box_shows_in_the_dark_theme(qtbot: Any) -> None:
    themer = Themer()
    themer.apply("dark")
    try:
        box = QCheckBox("Virtual camera")
        qtbot.addWidget(box)
        box.resize(200, 30)
        box.show()
        QApplication.processEvents()
        image = box.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        h, w = image.height(), image.width()
        rows = np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * h)
        pixels = rows.reshape(h, -1)[:, : w * 4].reshape(h, w, 4)[:, :, :3].astype(int)
        option = QStyleOptionButton()
        box.initStyleOption(option)
        r = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
        indicator = pixels[r.top() : r.bottom() + 1, r.left() : r.right() + 1]
        background = pixels[1, w - 2]
        assert np.abs(indicator - background).max() >= VISIBLE_CONTRAST
    finally:
        themer.apply("system")


def test_the_no_camera_banner_goes_when_the_user_opens_a_picture(
    qtbot: Any, windows: list, config: Path, tmp_path: Path
) -> None:
    window = open_window(qtbot, windows, config)  # no camera: the demo, and a banner
    qtbot.waitUntil(lambda: "no-camera" in window.messages.bars, timeout=5000)
    wait_frames(qtbot, window)
    picture = tmp_path / "pic.png"
    cv2.imwrite(str(picture), np.full((120, 160, 3), 200, np.uint8))
    window.open_path("image", str(picture))
    qtbot.waitUntil(lambda: window.source_spec.startswith("image:"), timeout=5000)
    qtbot.waitUntil(lambda: "no-camera" not in window.messages.bars, timeout=3000)
