"""The Devices panel's "Set up virtual camera…" button (offscreen): it runs the set-up command
in its own process, keeps the window responsive, shows what the command said and checks the
devices again. The command is replaced by a small Python child that prints like the real one
(the real one needs root and changes the system; its logic is tested in test_vcam_setup.py)."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox, QWidget
from test_gui_support import open_window

from app.gui import vcam_setup
from app.gui.window import MainWindow

pytestmark = pytest.mark.timeout(60)


def child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
def parent(qtbot: Any) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def test_command_is_the_setup_subcommand_with_pkexec() -> None:
    assert vcam_setup.setup_command()[-3:] == ["setup", "virtual-camera", "--graphical"]
    assert vcam_setup.setup_command()[:3] == [sys.executable, "-m", "app.cli"]


def test_success_shows_the_output_and_checks_again(
    qtbot: Any, parent: QWidget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        vcam_setup,
        "setup_command",
        lambda: child(
            "import time; print('camfx setup: running 3 step(s) as root (pkexec)', flush=True);"
            "time.sleep(0.3);"
            "print('camfx setup: ready: /dev/video10 \"camfx\" (exclusive_caps=1)')"
        ),
    )
    checked: list[bool] = []
    setup = vcam_setup.VirtualCameraSetup(parent, done=lambda: checked.append(True))
    setup.button.click()
    assert not setup.button.isEnabled()  # running: a second click does nothing
    qtbot.waitUntil(lambda: setup.message is not None, timeout=10000)
    assert checked == [True]
    assert setup.button.isEnabled() and setup.button.text() == vcam_setup.BUTTON_TEXT
    box = setup.message
    assert box is not None and box.icon() == QMessageBox.Icon.Information
    assert box.text().startswith("The virtual camera is ready.")
    assert 'Ready: /dev/video10 "camfx"' in box.text()
    assert "camfx setup:" not in box.text()


def test_failure_says_not_ready_with_the_steps(
    qtbot: Any, parent: QWidget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        vcam_setup,
        "setup_command",
        lambda: child(
            "import sys; print('camfx setup: the camfx camera is not there yet.');"
            "print('1. In a terminal: sudo mokutil --import /var/lib/dkms/mok.pub');"
            "sys.exit(1)"
        ),
    )
    setup = vcam_setup.VirtualCameraSetup(parent, done=lambda: None)
    setup.start()
    qtbot.waitUntil(lambda: setup.message is not None, timeout=10000)
    box = setup.message
    assert box is not None and box.icon() == QMessageBox.Icon.Warning
    assert box.text().startswith("The virtual camera is not ready yet.")
    assert "sudo mokutil --import /var/lib/dkms/mok.pub" in box.text()


def test_missing_program_is_reported(
    qtbot: Any, parent: QWidget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-camfx")
    monkeypatch.setattr(vcam_setup, "setup_command", lambda: [missing, "setup"])
    setup = vcam_setup.VirtualCameraSetup(parent, done=lambda: None)
    setup.start()
    qtbot.waitUntil(lambda: setup.message is not None, timeout=10000)
    assert setup.message is not None and missing in setup.message.text()
    assert setup.button.isEnabled()


def test_window_devices_panel_has_the_button(
    qtbot: Any, windows: list[MainWindow], config: Path
) -> None:
    window = open_window(qtbot, windows, config)
    button = window.vcam_setup.button
    assert button.text() == vcam_setup.BUTTON_TEXT
    assert button.isVisibleTo(window)
    assert button.parent() is window.device_rows["camera"].parent()
