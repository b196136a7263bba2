"""The window's status bar and banners, offscreen (pytest-qt, the real engine): the models
line never widens the window and counts only the running stages' models; a voice file is
recorded with the picture; a stage's settings error reaches the banner."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from test_gui_support import open_window, wait_frames

from pipelines.inference import session as inference_session
from pipelines.inference.session import ProviderReport

pytestmark = pytest.mark.timeout(60)

INTENDED_WIDTH = 1180
"""The window's size on a first start (``MainWindow.__init__``): its minimum must fit it."""


def test_models_line_never_widens_the_window_and_counts_running_models(
    qtbot: Any, windows: list, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot, windows, config)
    wait_frames(qtbot, window)
    start_min = window.minimumSizeHint().width()
    assert start_min <= INTENDED_WIDTH
    # Many models loaded earlier in this process (presets that no longer run): they stay in
    # the process-wide provider reports, with long names.
    stale = {
        f"an_earlier_presets_model_with_a_long_name_{i}": ProviderReport(
            f"an_earlier_presets_model_with_a_long_name_{i}", "CPUExecutionProvider"
        )
        for i in range(12)
    }
    monkeypatch.setattr(
        inference_session, "PROCESS_REPORTS", {**inference_session.PROCESS_REPORTS, **stale}
    )
    window.choose_preset("builtin:track")
    qtbot.waitUntil(lambda: "face_tracker" in window.effects.panels, timeout=10000)
    qtbot.waitUntil(
        lambda: (
            "face_detection_short_range"
            in window.provider_label.text() + window.provider_label.toolTip()
        ),
        timeout=10000,
    )
    text, tooltip = window.provider_label.text(), window.provider_label.toolTip()
    assert "an_earlier_presets_model" not in text + tooltip, text
    assert "face_detection_short_range" in tooltip  # the running tracker's detector
    assert window.minimumSizeHint().width() <= start_min, (text, start_min)
    window.resize(1000, 650)
    qtbot.wait(50)
    assert window.width() == 1000

    # Even a models line far longer than the status bar only elides.
    window.provider_label.setText("inference: " + ", ".join(stale))
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= start_min
    assert window.provider_label.shown_text().endswith("…")
