"""The window says so when it loses its recording folder, and keeps running (issue 12 §2)."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from test_gui_support import make_window, open_window

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(qtbot: Any, windows: list[Any], config: Path) -> Any:
    return open_window(qtbot, windows, config)


def test_window_says_when_its_recording_folder_is_removed(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    window.settings.record_folder = str(folder)
    window.record_button.click()
    qtbot.waitUntil(lambda: window.controller.recording_path is not None, timeout=5000)
    path = Path(window.controller.recording_path or "")
    qtbot.waitUntil(lambda: window.controller.record.frames_written >= 5, timeout=5000)
    shutil.rmtree(folder)
    qtbot.waitUntil(lambda: "record" in window.messages.bars, timeout=10000)
    text = window.messages.bars["record"].text
    assert str(path) in text and "deleted" in text, text
    assert not window.recording
    assert window.record_button.text() == "● &Record"
    # The app goes on: the engine still runs and the preview still gets frames.
    engine = window.controller.engine
    assert engine is not None and engine.running
    shown = engine.stats.frames_output
    qtbot.waitUntil(lambda: engine.stats.frames_output > shown + 5, timeout=5000)


def test_the_default_recording_folder_is_made_and_a_chosen_one_is_not(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """qa64: a new user with no ~/Videos could not record ("folder … does not exist; create
    it first"), though camfx chose that folder itself. The default folder is made at the first
    Record; a folder the user chose that is gone (a drive not plugged in) is not."""
    from PySide6.QtCore import QStandardPaths

    videos = tmp_path / "home" / "Videos"
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda _where: str(videos))
    window.settings.record_folder = ""
    window.record_button.click()
    qtbot.waitUntil(lambda: window.controller.recording_path is not None, timeout=5000)
    assert Path(window.controller.recording_path or "").parent == videos
    qtbot.waitUntil(lambda: window.controller.record.frames_written >= 3, timeout=5000)
    window.record_button.click()
    qtbot.waitUntil(lambda: not window.recording, timeout=10000)
    assert "record" not in window.messages.bars
    assert [p.suffix for p in videos.iterdir()] == [".mp4"]

    chosen = tmp_path / "usb-drive" / "takes"
    window.settings.record_folder = str(chosen)
    window.record_button.click()
    qtbot.waitUntil(lambda: "record" in window.messages.bars, timeout=10000)
    assert "does not exist" in window.messages.bars["record"].text
    assert not chosen.exists() and not window.recording


def test_a_frame_rate_change_stops_the_recording_by_its_name_and_the_next_one_clears_it(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    """A frame rate changed while recording said "the output size changed", and that bar
    stayed beside the next two recordings' "Recording to …" (qa62)."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    window.settings.record_folder = str(folder)
    window.record_button.click()
    qtbot.waitUntil(lambda: window.controller.recording_path is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.controller.record.frames_written >= 3, timeout=5000)
    combo = window.fps_combo
    other = next(i for i in range(combo.count()) if i != combo.currentIndex())
    combo.setCurrentIndex(other)
    combo.activated.emit(other)  # (as a pick by the user)
    qtbot.waitUntil(lambda: not window.recording, timeout=10000)
    text = window.messages.bars["record"].text
    assert text == "The recording stopped because the frame rate changed.", text
    window.record_button.click()
    qtbot.waitUntil(lambda: "Recording to" in window.record_label.text(), timeout=10000)
    assert "record" not in window.messages.bars
    window.record_button.click()
    qtbot.waitUntil(lambda: not window.recording, timeout=10000)


def test_window_records_the_microphone_of_a_talking_head(
    qtbot: Any, config: Path, tmp_path: Path
) -> None:
    """With ``audio_mouth`` on the microphone, a recording gets an AAC track beside the H.264
    video, as long as the video. (No sound card here: the track is silence; the CLI test with
    the virtual microphone records real speech through the same reader.)"""
    import av

    from pipelines.presets import Preset, StageSpec
    from pipelines.userdata import PresetStore

    PresetStore(config / "presets").save(
        Preset("Voice", (StageSpec("audio_mouth", {"input": "mic", "vad": False}),))
    )
    (config / "settings.json").write_text(
        json.dumps({"schema": 1, "preset": "user:Voice", "source": "demo:0"})
    )
    win = make_window(config)
    qtbot.addWidget(win)
    win.show()
    try:
        controller = win.controller
        qtbot.waitUntil(
            lambda: (
                controller.engine is not None
                and controller.engine.pipeline.find("audio_mouth") is not None
            ),
            timeout=10000,
        )
        win.settings.record_folder = str(tmp_path)
        win.record_button.click()
        qtbot.waitUntil(lambda: controller.recording_path is not None, timeout=5000)
        path = Path(controller.recording_path or "")
        qtbot.waitUntil(lambda: controller.record.frames_written >= 30, timeout=10000)
        win.record_action.trigger()
        qtbot.waitUntil(lambda: not win.recording, timeout=5000)
    finally:
        win.quit()
        qtbot.wait(10)
    with av.open(str(path)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        v_s = float(video.duration * video.time_base)
        a_s = float(audio.duration * audio.time_base)
    assert v_s > 0.5 and abs(a_s - v_s) < 0.1, (v_s, a_s)


GUI_CHILD = """
import sys
sys.path.insert(0, sys.argv[2])
from PySide6.QtCore import QTimer
from test_gui_support import fake_probes
from app.gui import controller as controller_module, window as window_module
from app.gui.application import run

# The real app, without its device probes (tens of seconds on a loaded machine, and they hold
# the worker thread that starts a recording).
controller_module._default_probes = fake_probes
controller_module.list_cameras = lambda: []
folder = sys.argv[1]
start = window_module.MainWindow.start

def start_and_record(self, **kw):
    start(self, **kw)
    self.settings.record_folder = folder
    QTimer.singleShot(500, self.record_button.click)

window_module.MainWindow.start = start_and_record
sys.exit(run(["--no-tray", "--no-hotkeys", "--source", "demo:0"]))
"""


def test_sigterm_to_the_window_finishes_its_recording(tmp_path: Path) -> None:
    """A session logout sends SIGTERM: the window quits cleanly and the recording is a whole
    file (application.py turns SIGTERM into quit; closing the recorder finishes the MP4)."""
    import signal
    import subprocess
    import sys
    import time

    import av

    from pipelines.outputs.recorder import mp4_is_torn

    repo = Path(__file__).resolve().parent.parent
    folder = tmp_path / "recordings"
    folder.mkdir()
    # Preset Off, as make_window does: a first start loads Studio (models, compiled kernels),
    # which on a loaded machine holds back the first frames this test counts.
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text('{"schema": 1, "preset": "builtin:off"}')
    env = dict(
        os.environ,
        PYTHONPATH=str(repo),
        QT_QPA_PLATFORM="offscreen",
        CAMFX_CONFIG_DIR=str(config),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", GUI_CHILD, str(folder), str(repo / "tests")],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 40
        while not list(folder.glob("*.mp4")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3.0)  # past the first 2 s fragment
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    (path,) = list(folder.glob("*.mp4"))
    assert not mp4_is_torn(path)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        seconds = float(stream.duration * stream.time_base)
    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    # Past the last fragment boundary (2 s): the end was written at quit, not lost.
    assert seconds > 2.5 and frames > 2.5 * 20, (seconds, frames)


@pytest.mark.parametrize("with_sound", [True, False])
def test_a_recording_of_a_video_with_sound_under_a_voice_says_the_sound_is_not_recorded(
    qtbot: Any, config: Path, tmp_path: Path, with_sound: bool
) -> None:
    """qa8 M1: the window recorded a video file with sound into a silent track without a word
    (the command line says it in one line). Now, where a talking head's voice takes the
    video's sound's place (its microphone here), a bar says it, with the ffmpeg command that
    mixes the video's sound under the recording's own track; a video without sound gets none.
    (With no talking head speaking the video's sound is recorded: test_window_video_sound.)"""
    from test_brought_inputs import write_video

    from pipelines.presets import Preset, StageSpec
    from pipelines.userdata import PresetStore

    video = tmp_path / "talk.mp4"
    write_video(video, with_sound=with_sound)
    folder = tmp_path / "recordings"
    folder.mkdir()
    config.mkdir(exist_ok=True)
    PresetStore(config / "presets").save(
        Preset("Voice", (StageSpec("audio_mouth", {"input": "mic", "vad": False}),))
    )
    (config / "settings.json").write_text(
        json.dumps(
            {"schema": 1, "preset": "user:Voice", "source": str(video),
             "record_folder": str(folder)}
        )
    )  # fmt: skip
    win = make_window(config)
    qtbot.addWidget(win)
    win.show()
    try:
        controller = win.controller
        qtbot.waitUntil(lambda: controller.source_spec == str(video), timeout=10000)
        qtbot.waitUntil(lambda: bool(controller.stages), timeout=10000)  # the voice's stage
        win.record_button.click()
        qtbot.waitUntil(lambda: controller.recording_path is not None, timeout=10000)
        path = controller.recording_path
        # The "on" that shows the bar, queued to this thread, also sets the button.
        qtbot.waitUntil(lambda: win.record_button.text().startswith("■"), timeout=5000)
        if with_sound:
            text = win.messages.bars["recording-note"].text
            assert text.startswith("the video's sound is not recorded; "), text
            assert f"{path} will hold the talking head's voice where it speaks" in text
            from pipelines.input_notes import MIX_FILTER  # new: the bar is missed on main

            assert f"not the sound of {video}" in text and MIX_FILTER in text, text
        else:
            assert "recording-note" not in win.messages.bars
        win.record_button.click()
        qtbot.waitUntil(lambda: not win.recording, timeout=10000)
    finally:
        win.shutdown()
