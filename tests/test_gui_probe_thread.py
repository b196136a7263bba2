"""Device probes run on their own thread: a slow probe (a GPU driver that takes half a minute
to answer) never delays what the user clicks, and its result still reaches the Devices panel."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from test_gui_support import TINT, TINT_PRESET, fake_probes, make_window

from app.gui.window import MainWindow
from pipelines.userdata import PresetStore

pytestmark = pytest.mark.timeout(60)

PROBE_S = 10.0
"""How long the slow fake probe takes unless the test lets it finish earlier."""
ACTION_S = 2.0
"""The longest a click may take to reach the engine while the probe runs (a real click takes
milliseconds; the margin is for a shared, loaded test machine)."""


class SlowProbes:
    """The window's device probes, taking ``PROBE_S`` seconds (or until released)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.finished = threading.Event()
        self.started_at = 0.0

    def __call__(self) -> dict[str, Any]:
        self.started_at = time.perf_counter()
        self.started.set()
        self.release.wait(PROBE_S)
        self.finished.set()
        return fake_probes()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cfg = tmp_path / "config"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(cfg))
    cfg.mkdir(parents=True)
    PresetStore(cfg / "presets").save(TINT_PRESET)
    (cfg / "settings.json").write_text(
        json.dumps({"schema": 1, "preset": "user:Tint", "source": "demo:0"})
    )
    return cfg


@pytest.fixture
def probes() -> Iterator[SlowProbes]:
    slow = SlowProbes()
    yield slow
    slow.release.set()


def timed(qtbot: Any, action: Any, done: Any) -> float:
    """Seconds from ``action()`` until ``done()`` holds (fails after 3 × ACTION_S)."""
    start = time.perf_counter()
    action()
    qtbot.waitUntil(done, timeout=int(3000 * ACTION_S))
    return time.perf_counter() - start


def test_clicks_do_not_wait_behind_a_slow_device_probe(
    qtbot: Any, config: Path, tmp_path: Path, probes: SlowProbes
) -> None:
    window: MainWindow = make_window(config, device_probes=probes)
    qtbot.addWidget(window)
    try:
        window.show()
        assert probes.started.wait(5.0), "the window did not start its device probe"
        qtbot.waitUntil(lambda: TINT in window.effects.panels, timeout=5000)

        window.settings.record_folder = str(tmp_path)
        record_s = timed(
            qtbot, window.record_button.click, lambda: window.controller.recording_path is not None
        )
        vcam_s = timed(
            qtbot, window.vcam_check.click, lambda: window.controller.vcam.target is not None
        )
        preset_s = timed(
            qtbot,
            lambda: window.choose_preset("builtin:off"),
            lambda: window.controller.stages == [],
        )
        picture = tmp_path / "pic.png"
        cv2.imwrite(str(picture), np.full((120, 160, 3), (0, 0, 255), np.uint8))
        source_s = timed(
            qtbot,
            lambda: window.set_source(f"image:{picture}"),
            lambda: window.controller.source_spec == f"image:{picture}",
        )
        # All of it happened while the probe was still busy.
        assert not probes.finished.is_set()
        for what, seconds in (
            ("record", record_s),
            ("virtual camera", vcam_s),
            ("preset", preset_s),
            ("source", source_s),
        ):
            assert seconds < ACTION_S, f"{what} took {seconds:.2f} s behind the probe"
        assert window.state.devices is None

        # Once the probe ends, its typed report reaches the app state and the Devices panel.
        probes.release.set()
        qtbot.waitUntil(lambda: window.state.devices is not None, timeout=5000)
        report = window.state.devices
        assert report is not None and not report.audio.works
        assert "PortAudio" in window.device_rows["microphone"].message.text()
        window.record_action.trigger()
        qtbot.waitUntil(lambda: not window.recording, timeout=5000)
    finally:
        window.quit()


def test_quitting_does_not_wait_for_a_stuck_probe(qtbot: Any, config: Path) -> None:
    """A probe stuck in a driver call holds the quit for at most the shutdown timeout."""
    stuck = SlowProbes()
    window: MainWindow = make_window(config, device_probes=stuck)
    qtbot.addWidget(window)
    try:
        assert stuck.started.wait(5.0)
        start = time.perf_counter()
        window.controller.shutdown(timeout=0.5)
        assert time.perf_counter() - start < 0.5 + ACTION_S
        assert not stuck.finished.is_set()
    finally:
        stuck.release.set()
        window.quit()
    # The probe's late result is dropped, not sent to a closed window.
    assert stuck.finished.wait(5.0)
    qtbot.wait(50)
    assert window.state.devices is None


def test_a_probe_starts_after_the_start_up_queued_before_it(qtbot: Any) -> None:
    """Start-up is not slowed by a probe beside it: the engine, source and preset queued
    before the probe are done when it starts (and the clicks after it do not wait, above)."""
    from app.gui.controller import EngineController
    from pipelines.sources import open_source

    opened_at: list[float] = []

    def slow_opener(spec: str, config: Any) -> Any:
        time.sleep(0.5)  # a camera that takes its time to open
        source = open_source(spec, config)
        opened_at.append(time.perf_counter())
        return source

    probes = SlowProbes()
    probes.release.set()
    controller = EngineController(
        source_opener=slow_opener, camera_lister=list, device_probes=probes
    )
    try:
        controller.start((320, 240), 15.0)
        controller.set_source("demo:0")
        controller.probe_devices()
        assert controller.wait_idle(10.0)
        assert opened_at and probes.finished.is_set()
        assert probes.started_at >= opened_at[0]
    finally:
        controller.shutdown()


def test_quitting_during_start_up_ends_the_probes_wait_at_once(qtbot: Any) -> None:
    """A quit cancels the start-up actions still queued; the probe waiting for them to finish
    (PROBE_AFTER_S) ends then too. ``futures.wait`` is not woken by a cancel: a SIGTERM 4 s
    after start kept the window 35 s (the probe's 30 s wait, joined at exit)."""
    from app.gui.controller import EngineController
    from pipelines.sources import open_source

    opening, release = threading.Event(), threading.Event()

    def stuck_opener(spec: str, config: Any) -> Any:
        opening.set()
        release.wait(10.0)  # a camera that is slow to open while the user quits
        return open_source(spec, config)

    probes = SlowProbes()
    probes.release.set()
    controller = EngineController(
        source_opener=stuck_opener, camera_lister=list, device_probes=probes
    )
    try:
        controller.start((320, 240), 15.0)
        controller.set_source("demo:0")
        controller.set_source("demo:1")  # still queued at the quit: cancelled
        controller.probe_devices()
        assert opening.wait(10.0)
        threading.Timer(0.5, release.set).start()
        start = time.perf_counter()
        controller.shutdown(timeout=8.0)
        took = time.perf_counter() - start
        assert controller.wait_idle(0.1), "the probe still waits for the cancelled start-up"
        assert took < 0.5 + ACTION_S, took
        assert not probes.started.is_set()  # a closed controller probes nothing
    finally:
        release.set()
        controller.shutdown()
