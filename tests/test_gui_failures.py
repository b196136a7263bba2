"""In the window, what could not be had is a visible message and the app keeps running: a
changed model leaves its effect out with a message naming the file; a video that stops
decoding before its end says so (the command line's side: ``test_failures_are_errors.py``)."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

import test_gui_support
from test_failures_are_errors import cut_short, models_copy, use_models_from, write_video
from test_gui_support import wait_frames
from test_video_end import cut_short as cut_mkv
from test_video_end import write_video as write_mkv

from pipelines.avatar.stage import STAGE_NAME as TALKING_HEAD
from pipelines.presets import Preset, StageSpec
from pipelines.tracking.tracker import STAGE_NAME as TRACKER
from pipelines.userdata import PresetStore

pytestmark = pytest.mark.timeout(60)


def open_window(qtbot: Any, windows: list[Any], config: Path, **settings: Any) -> Any:
    """A window started on these saved settings."""
    config.mkdir(exist_ok=True)
    (config / "settings.json").write_text(json.dumps({"schema": 1, **settings}))
    return test_gui_support.open_window(qtbot, windows, config)


def frames_keep_coming(qtbot: Any, window: Any) -> None:
    wait_frames(qtbot, window, 5, timeout=10000)


@pytest.mark.parametrize("kind", ["changed", "missing"])
def test_a_changed_or_missing_model_is_a_message_and_the_window_runs_on(
    qtbot: Any,
    windows: list,
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    folder = models_copy(tmp_path)
    model = folder / "face_detection_short_range.onnx"
    if kind == "changed":
        model.write_bytes(model.read_bytes() + b"x")
    else:
        model.unlink()
    use_models_from(monkeypatch, folder)
    PresetStore(config / "presets").save(Preset("Tracker only", (StageSpec(TRACKER, {}),)))
    window = open_window(qtbot, windows, config, preset="user:Tracker only", source="demo:0")
    key = f"stage-{TRACKER}"
    qtbot.waitUntil(lambda: key in window.messages.bars, timeout=15000)
    text = window.messages.bars[key].text
    assert "could not start and is left out" in text
    if kind == "changed":
        assert f"model file {model} was changed" in text and "install camfx again" in text
    else:
        assert f"model file {model} is missing; install camfx again" in text
    frames_keep_coming(qtbot, window)


@pytest.mark.parametrize("kind", ["not a picture", "missing"])
def test_a_bad_portrait_is_a_message_and_the_window_runs_on(
    qtbot: Any, windows: list, config: Path, tmp_path: Path, kind: str
) -> None:
    portrait = tmp_path / "me.png"
    if kind == "not a picture":
        portrait.write_text("not a picture")
    preset = Preset("Head", (StageSpec(TALKING_HEAD, {"portrait": str(portrait)}),))
    PresetStore(config / "presets").save(preset)
    window = open_window(qtbot, windows, config, preset="user:Head", source="demo:0")
    key = f"stage-{TALKING_HEAD}"
    qtbot.waitUntil(lambda: key in window.messages.bars, timeout=15000)
    text = window.messages.bars[key].text
    assert "could not start and is left out" in text
    reason = "could not be decoded" if kind == "not a picture" else "does not exist"
    assert f"portrait {str(portrait)!r} {reason}" in text
    frames_keep_coming(qtbot, window)


def test_a_portrait_without_a_face_is_a_warning_and_the_window_runs_on(
    qtbot: Any, windows: list, config: Path, tmp_path: Path
) -> None:
    """A picture with no face in it is read at once but its face is looked for beside the
    video (the talking head never stops the picture while it builds): the answer comes as a
    warning naming the file, and the frames keep coming."""
    import cv2
    import numpy as np

    portrait = tmp_path / "cup.png"
    cv2.imwrite(str(portrait), np.random.default_rng(1).integers(0, 255, (300, 400, 3), np.uint8))
    preset = Preset("Head", (StageSpec(TALKING_HEAD, {"portrait": str(portrait)}),))
    PresetStore(config / "presets").save(preset)
    window = open_window(qtbot, windows, config, preset="user:Head", source="demo:0")
    key = f"stage-{TALKING_HEAD}"
    qtbot.waitUntil(lambda: key in window.messages.bars, timeout=30000)
    bar = window.messages.bars[key]
    assert bar.level == "warning"
    assert bar.text.startswith(f"Talking head: Portrait {str(portrait)!r}: no face found")
    assert bar.text.endswith("; the talking head has none until another is picked.")
    frames_keep_coming(qtbot, window)


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_a_damaged_video_is_a_message_and_the_window_runs_on(
    qtbot: Any, windows: list, config: Path, tmp_path: Path, suffix: str
) -> None:
    """MP4 states its frame count; MKV only its duration (see test_video_end.py)."""
    if suffix == "mp4":
        short = cut_short(write_video(tmp_path / "good.mp4"), tmp_path / "short.mp4", keep=0.4)
    else:
        short = cut_mkv(write_mkv(tmp_path / "good.mkv"), keep=0.4)
    window = open_window(qtbot, windows, config, preset="builtin:off", source=str(short))
    qtbot.waitUntil(lambda: "source" in window.messages.bars, timeout=15000)
    text = window.messages.bars["source"].text
    assert f"video file {str(short)!r} is damaged or cut short" in text, text
    assert window.controller.running
    frames_keep_coming(qtbot, window)  # a card says "Source failed"; the app goes on
