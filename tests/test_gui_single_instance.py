"""One camfx window per config folder (qa7 finding 7): a second start brings the running
window up and exits in one line, where it opened a second window over the same presets."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported in this process

import signal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from app.gui import single_instance

pytestmark = pytest.mark.timeout(60)


def test_a_second_start_asks_the_first_to_show_its_window(qtbot: Any, tmp_path: Path) -> None:
    config = tmp_path / "config"
    first = single_instance.claim(config, show=True)
    assert first is not None
    shown: list[bool] = []
    first.showRequested.connect(lambda: shown.append(True))
    try:
        assert single_instance.claim(tmp_path / "other config", show=True) is not None
        assert single_instance.claim(config, show=False) is None
        qtbot.wait(100)
        assert shown == []  # the login autostart (--minimized) brings nothing up
        assert single_instance.claim(config, show=True) is None
        qtbot.waitUntil(lambda: shown == [True], timeout=5000)
    finally:
        first.close()
    # Gone: the next start is the running one.
    again = single_instance.claim(config, show=True)
    assert again is not None
    again.close()


def test_camfx_started_twice_says_so_in_one_line_and_exits_0(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from app.gui.application import run

    config = tmp_path / "config"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(config))
    first = single_instance.claim(config, show=True)
    assert first is not None
    shown: list[bool] = []
    first.showRequested.connect(lambda: shown.append(True))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert run(["--no-tray", "--no-hotkeys"]) == 0
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        qtbot.waitUntil(lambda: shown == [True], timeout=5000)
        first.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"camfx: camfx is already running (settings in {config}); its window was brought up"
    ]
    assert not config.exists()  # nothing of the second start was written
