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

REPO = Path(__file__).resolve().parents[1]
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


def test_window_recording_of_the_talking_head_has_its_voice(
    qtbot: Any, windows: list, config: Path, tmp_path: Path
) -> None:
    import av
    import numpy as np

    window = open_window(qtbot, windows, config)
    wait_frames(qtbot, window)
    window.choose_preset("builtin:talking-head")
    qtbot.waitUntil(
        lambda: window.controller.engine.pipeline.find("audio_mouth") is not None,
        timeout=15000,
    )
    wait_frames(qtbot, window, 10, timeout=15000)  # frames count well past 0: any start
    window.settings.record_folder = str(tmp_path)
    window.record_button.click()
    qtbot.waitUntil(lambda: window.controller.recording_path is not None, timeout=5000)
    path = Path(window.controller.recording_path or "")
    qtbot.wait(3000)
    recorder = window.controller.record.target
    voice_stage = window.controller.engine.pipeline.find("audio_mouth")
    window.record_action.trigger()
    qtbot.waitUntil(
        lambda: not window.recording and "Saved" in window.record_label.text(), timeout=10000
    )
    with av.open(str(path)) as container:
        assert container.streams.audio, "the recording has no sound track"
        audio = container.streams.audio[0]
        video = container.streams.video[0]
        assert audio.codec_context.name == "aac"
        v_s = float(video.duration * video.time_base)
        a_s = float(audio.duration * audio.time_base)
        assert v_s > 2.0 and abs(a_s - v_s) < 0.1, (v_s, a_s)  # as long as the picture
        first_video = next(iter(container.decode(video)))
        assert first_video.time is not None and first_video.time < 0.2  # starts at its start
    with av.open(str(path)) as container:
        sound = np.concatenate(
            [f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])]
        )
    assert len(sound) > 48000 * 2, len(sound) / 48000  # about the 3 s recorded
    rms = float(np.sqrt(np.mean(np.square(sound, dtype=np.float64))))
    assert rms > 0.01, rms  # the voice, not silence
    # In step: the sound at the recording's start is the voice where the mouth was then (the
    # window's frames are live: their capture time less the voice's start, into the looped
    # file; frames.FrameClock).
    from pipelines.audio.inputs import read_audio_file
    from pipelines.audio.resample import resample

    voice, rate = read_audio_file(REPO / "pipelines/assets/talking_head_speech.wav")
    voice = resample(voice.reshape(-1), rate, 16000)
    heard = resample(sound, 48000, 16000)[1600:17600]  # 0.1-1.1 s into the recording
    looped = np.concatenate([voice, voice])
    scores = np.correlate(looped, heard, mode="valid")[: len(voice)]
    found = int(np.argmax(scores))
    played_from = voice_stage.frame_clock.played_from
    assert played_from is not None  # live frames
    expected = (round((recorder._origin - played_from) * 16000) + 1600) % len(voice)
    assert abs(found - expected) < 16000 * 0.03, (found, expected)


def test_background_image_mode_without_a_picture_says_so_in_the_window(
    qtbot: Any, windows: list, config: Path
) -> None:
    window = open_window(qtbot, windows, config)
    window.choose_preset("builtin:background-color")
    qtbot.waitUntil(lambda: "background_replace" in window.effects.panels, timeout=15000)
    mode = window.effects.editor("background_replace", "mode")
    mode.combo.setCurrentIndex(mode.combo.findData("image"))  # and no picture chosen
    key = "stage-background_replace"
    qtbot.waitUntil(lambda: key in window.messages.texts(), timeout=10000)
    text = window.messages.texts()[key]
    assert "choose a background picture" in text, text
    assert "image . " not in text, text  # the empty path is no folder "."
    # Choosing the colour again: the warning about the picture goes.
    mode.combo.setCurrentIndex(mode.combo.findData("color"))
    qtbot.waitUntil(lambda: key not in window.messages.texts(), timeout=5000)


def test_a_window_that_cannot_keep_up_says_so_in_a_bar_until_it_is_back(
    qtbot: Any, windows: list, config: Path
) -> None:
    """The live rate as a machine busy past its cores makes it (qa9: 7-12 fps of 30 in the
    window, "dropped" climbing, no bar), polled as the status timer polls it."""
    from app.gui.status import KEEP_UP_BAR, show_keep_up
    from pipelines.stats import KeepUpWatch

    window = open_window(qtbot, windows, config)
    wait_frames(qtbot, window)
    window.status_timer.stop()  # only the made-up clock below from here
    window.keep_up = KeepUpWatch(0.0)
    now = 1000.0
    for seconds, fps in ((6, 30.0), (4, 7.0)):
        for _ in range(seconds * 2):
            now += 0.5
            show_keep_up(window, fps, now)
    text = window.messages.texts().get(KEEP_UP_BAR, "")
    assert "7 fps of the source's 30" in text and "too busy" in text, window.messages.texts()
    for _ in range(4 * 2):
        now += 0.5
        show_keep_up(window, 30.0, now)
    assert KEEP_UP_BAR not in window.messages.texts()


def test_the_keep_up_bar_measures_a_video_against_its_own_rate(
    qtbot: Any, windows: list, config: Path, tmp_path: Path
) -> None:
    """A 15 fps clip plays at 15 in the window: not behind (against the window's 30 it would
    read half)."""
    import numpy as np
    from test_file_sources import write_video

    from app.gui.status import KEEP_UP_BAR, show_keep_up, source_fps

    clip = write_video(
        tmp_path / "clip15.mp4", [np.full((64, 96, 3), i, np.uint8) for i in range(30)], fps=15
    )
    window = open_window(qtbot, windows, config)
    wait_frames(qtbot, window)
    window.set_source(f"video:{clip}")
    qtbot.waitUntil(lambda: source_fps(window) == 15.0, timeout=10000)
    window.status_timer.stop()
    now = 1000.0
    for _ in range(20):
        now += 0.5
        show_keep_up(window, 15.0, now)
    assert KEEP_UP_BAR not in window.messages.texts()
