"""The preview widget shows each frame the engine hands it at the GUI thread's next pass."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import threading
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication

from app.gui.bench import _preset_running
from app.gui.plumbing import PreviewImage, PreviewSink
from app.gui.preview import PreviewWidget
from pipelines.frame import Frame


def _write_from_another_thread(sink: PreviewSink, index: int) -> None:
    image = np.full((48, 64, 3), index % 256, np.uint8)
    t = threading.Thread(target=sink.write, args=(Frame.new(image, 0.0, index),))
    t.start()
    t.join()


def test_a_frame_from_the_engine_thread_is_taken_at_the_next_event_loop_pass(qtbot: Any) -> None:
    # No timer decides when a frame is looked at: it wakes the GUI thread itself. (A 15 ms
    # poll left it in the slot 7.5 ms on average; here one pass of the event loop, however
    # soon after the write, takes it, 20 times in a row.)
    sink = PreviewSink()
    widget = PreviewWidget(sink)
    qtbot.addWidget(widget)
    for i in range(20):
        _write_from_another_thread(sink, i)
        QCoreApplication.processEvents()
        assert widget.frames_shown == i + 1
        assert widget._current is not None and widget._current.index == i
    assert sink.slot.dropped == 0
    widget.stop()
    assert sink.on_frame is None
    _write_from_another_thread(sink, 20)  # after stop: kept, nobody woken
    QCoreApplication.processEvents()
    assert widget.frames_shown == 20 and sink.slot.has_item


def test_a_frame_already_in_the_sink_is_shown_by_a_new_widget(qtbot: Any) -> None:
    # Frames that replace an untaken one wake nobody: a widget made over a sink that already
    # holds one must take it, or no later frame would ever wake it.
    sink = PreviewSink()
    sink.slot.put(PreviewImage(np.zeros((48, 64, 3), np.uint8), None, 0.0, 7, (64, 48)))
    widget = PreviewWidget(sink)
    qtbot.addWidget(widget)
    assert widget._current is not None and widget._current.index == 7
    _write_from_another_thread(sink, 8)
    QCoreApplication.processEvents()
    assert widget._current.index == 8


class _Stage:
    def __init__(self, is_open: bool) -> None:
        self.is_open = is_open


class _Engine:
    def __init__(self, stages: list[_Stage], pending: bool = False) -> None:
        self.pipeline = type("P", (), {"stages": stages})()
        self.stages_pending = pending


def test_the_gui_bench_counts_only_once_the_engine_runs_the_presets_stages() -> None:
    a, b = _Stage(True), _Stage(True)
    controller = type("C", (), {})()
    controller.stages = [a, b]
    controller.engine = None
    assert not _preset_running(controller)
    controller.engine = _Engine([], pending=True)  # set_stages not applied yet
    assert not _preset_running(controller)
    controller.engine = _Engine([a, b])
    assert _preset_running(controller)
    a.is_open = b.is_open = False
    controller.engine = _Engine([a, b])  # a restarted engine, its stages not opened yet
    assert not _preset_running(controller)
    a.is_open = True
    controller.engine = _Engine([a])  # b could not open and is left out, as in the app
    assert _preset_running(controller)


def test_a_widget_deleted_without_stop_does_not_fail_the_engines_preview_output(
    qtbot: Any,
) -> None:
    import shiboken6

    sink = PreviewSink()
    widget = PreviewWidget(sink)
    shiboken6.delete(widget)
    _write_from_another_thread(sink, 0)  # the wake-up finds no widget: no exception
    assert sink.on_frame is None and sink.frames_written == 1
