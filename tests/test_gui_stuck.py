"""In the window, an effect that never returns from a frame is a visible message, and the video
goes on without it (the engine's side: ``test_engine_stuck.py``).

A helper forced the face mesh to stall inside a call: nothing was reported and the picture froze
for good."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import test_gui_support
from test_gui_support import TINT, wait_frames

from pipelines import watchdog
from pipelines.frame import FrameContext
from pipelines.presets import Preset, StageSpec
from pipelines.stage import STAGES, Stage, StageSettings, register_stage
from pipelines.userdata import PresetStore

pytestmark = pytest.mark.timeout(60)

STALLS = "gui-stalls"
STALL_AT = 5
"""The frame in which the stage blocks."""


class StallingStage(Stage[StageSettings]):
    """Blocks inside ``process`` on its :data:`STALL_AT` th frame until :attr:`release` is set
    (class-wide: the window makes the stage from the preset)."""

    name = STALLS
    release = threading.Event()
    stalled = threading.Event()

    def __init__(self, settings: StageSettings | None = None) -> None:
        super().__init__(settings)
        self.calls = 0

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.calls += 1
        if self.calls == STALL_AT:
            self.stalled.set()
            self.release.wait()
        return image


if STALLS not in STAGES:
    register_stage(StallingStage)


PROCESS_LIMIT_S = 1.5
"""The stuck limit of a frame call here (:data:`~pipelines.watchdog.PROCESS_STUCK_S` is 5 s)."""


def test_a_stuck_effect_is_a_message_and_the_video_goes_on(
    qtbot: Any, windows: list[Any], config: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(watchdog, "PROCESS_STUCK_S", PROCESS_LIMIT_S)
    StallingStage.release.clear()
    StallingStage.stalled.clear()
    PresetStore(config / "presets").save(
        Preset("Stuck", (StageSpec(STALLS, {}), StageSpec(TINT, {})))
    )
    (config).mkdir(exist_ok=True)
    (config / "settings.json").write_text(
        json.dumps({"schema": 1, "preset": "user:Stuck", "source": "demo:0"})
    )
    window = test_gui_support.open_window(qtbot, windows, config)
    try:
        qtbot.waitUntil(StallingStage.stalled.is_set, timeout=10000)
        key = f"stage-{STALLS}"
        timeout_ms = int((PROCESS_LIMIT_S + 2.0) * 1000)
        qtbot.waitUntil(lambda: key in window.messages.bars, timeout=timeout_ms)
        text = window.messages.bars[key].text
        assert "failed and is skipped" in text and "has not finished a frame in" in text, text
        wait_frames(qtbot, window, 5, timeout=5000)  # the picture no longer frozen
    finally:
        StallingStage.release.set()
