"""Only me in the window: a double click on the preview picks the person to keep."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

from typing import Any

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from test_gui_support import fake_outputs, fake_probes

from app.gui.controller import EngineController
from app.gui.plumbing import PreviewImage, PreviewSink
from app.gui.preview import PreviewWidget
from pipelines.segmentation.stage import Segmentation, SegmentationSettings


def test_a_double_click_on_the_picture_says_where(qtbot: Any) -> None:
    sink = PreviewSink()
    widget = PreviewWidget(sink)
    qtbot.addWidget(widget)
    widget.resize(640, 360)
    frame = np.zeros((360, 640, 3), np.uint8)
    sink.slot.put(PreviewImage(frame, None, 0.0, 0, (1280, 720)))
    widget.poll()
    picked: list[tuple[float, float]] = []
    widget.pointPicked.connect(lambda x, y: picked.append((x, y)))
    rect = widget.image_rect()
    QTest.mouseDClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(
        rect.x() + rect.width() // 4, rect.y() + rect.height() // 2))  # fmt: skip
    assert len(picked) == 1
    assert abs(picked[0][0] - 0.25) < 0.01 and abs(picked[0][1] - 0.5) < 0.01


def test_the_controller_hands_the_pick_to_the_segmentation(qtbot: Any) -> None:
    controller = EngineController(
        camera_lister=list, device_probes=fake_probes, output_factory=fake_outputs
    )
    assert not controller.pick_person(0.5, 0.5)  # no stage to take it
    seg = Segmentation(SegmentationSettings(only_me=True))
    controller.stages = [seg]
    try:
        assert controller.pick_person(0.25, 1.2)
        assert seg.only_me._pick == (0.25, 1.0)  # held in the frame
    finally:
        controller.shutdown()
