"""The window's Microphone row while the talking head's microphone is gone, offscreen (pytest-qt,
the real engine and :class:`~pipelines.audio.inputs.MicInput` over a stand-in sound card).

QA killed the virtual microphone's sound server mid-run: a bar said it gave no sound, but the
Devices tab's Microphone row still said "Working" (the device list still named it), and after
the server came back the talking head stayed deaf and the bar stayed. Now the row says it
gives no sound while it does, and once it is opened again and heard, the row is the device
list's again and the bar goes."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

import test_gui_support
from test_audio_mic_lost import SoundCard

from pipelines.audio import inputs
from pipelines.audio.stage import MIC_SILENT_SAID, STAGE_NAME
from pipelines.presets import Preset, StageSpec
from pipelines.userdata import PresetStore

pytestmark = pytest.mark.timeout(120)


def listed_microphone() -> dict[str, Any]:
    probes = test_gui_support.fake_probes()
    probes["audio"] = {"works": True, "inputs": [{"index": 0, "name": "usb mic", "default": 1}]}
    return probes


def test_the_microphone_row_says_while_the_microphone_gives_no_sound(
    qtbot: Any, windows: list, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = SoundCard()
    monkeypatch.setattr(inputs, "_sounddevice", lambda: card)
    monkeypatch.setattr(inputs, "MIC_REOPEN_S", 0.2)
    stop = threading.Event()

    def speak() -> None:
        # The device's real-time delivery: 10 ms blocks while its server runs.
        while not stop.wait(0.01):
            if card.streams and card.streams[-1].active:
                card.deliver(0.01)

    preset = Preset("Mic", (StageSpec(STAGE_NAME, {"input": "mic", "vad": False}),))
    PresetStore(config / "presets").save(preset)
    (config / "settings.json").write_text(
        json.dumps({"schema": 1, "preset": "user:Mic", "source": "demo:0"})
    )
    speaker = threading.Thread(target=speak, daemon=True)
    speaker.start()
    try:
        window = test_gui_support.open_window(
            qtbot, windows, config, device_probes=listed_microphone
        )
        row = window.device_rows["microphone"]
        qtbot.waitUntil(lambda: row.state == "ok" and "usb mic" in row.text(), timeout=20000)
        qtbot.waitUntil(lambda: bool(card.streams), timeout=15000)
        test_gui_support.wait_frames(qtbot, window, 10, timeout=15000)
        key = f"stage-{STAGE_NAME}"
        assert key not in window.messages.bars

        card.kill()
        qtbot.waitUntil(lambda: row.state == "warning", timeout=10000)
        assert "gives no sound" in row.text() and "usb mic" in row.text(), row.text()
        assert row.retry_button.isVisibleTo(window)
        assert MIC_SILENT_SAID in window.messages.bars[key].text
        # A refresh of the device list (it still names the microphone) keeps saying so.
        window.on_devices()
        assert row.state == "warning"

        time.sleep(0.5)
        card.down = False
        qtbot.waitUntil(lambda: len(card.streams) == 2, timeout=10000)
        qtbot.waitUntil(lambda: row.state == "ok", timeout=10000)
        assert "gives no sound" not in row.text() and "usb mic" in row.text()
        assert key not in window.messages.bars
    finally:
        stop.set()
        speaker.join(timeout=2)
