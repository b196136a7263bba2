"""The window on a real X server (Xvfb) with a real system tray (trayer).

``test_under_xvfb`` starts the display and runs this same file again in a child pytest whose
Qt uses the xcb platform there (a process can have only one Qt platform, and the other GUI
tests use "offscreen"). The child tests: the tray menu, opened by a right-click on the tray
icon, switches the preset; a screen grab of the main window shows the processed demo frame
(its pixels are compared with the expected picture; the PNGs are kept under
``artifacts/gui/``); a global hotkey typed on the X keyboard pauses the video.

Skipped, with the reason and the apt-get line, where Xvfb or trayer is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.gui.headless import APT_LINE, DisplayUnavailable, missing_tools, virtual_display

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("CAMFX_ARTIFACTS", ROOT / "artifacts")) / "gui"
CHILD = os.environ.get("CAMFX_XVFB_CHILD") == "1"


@pytest.mark.timeout(240)
def test_under_xvfb(tmp_path: Path) -> None:
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} for the X11 tray tests: {APT_LINE}")
    try:
        with virtual_display() as display:
            env = {
                **os.environ,
                "DISPLAY": display,
                "QT_QPA_PLATFORM": "xcb",
                "CAMFX_XVFB_CHILD": "1",
                "CAMFX_CONFIG_DIR": str(tmp_path / "config"),
            }
            env.pop("WAYLAND_DISPLAY", None)
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    __file__,
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-k",
                    "child",
                    "-rs",
                ],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=220,
            )
    except DisplayUnavailable as exc:
        pytest.skip(f"no virtual display: {exc}")
    output = proc.stdout + proc.stderr
    if "could not load the Qt platform plugin" in output or "xcb-cursor" in output:
        pytest.fail(f"Qt's xcb plugin cannot load; install: {APT_LINE}\n{output[-3000:]}")
    assert proc.returncode == 0, output[-6000:]
    assert "3 passed" in output, output[-3000:]


if CHILD:
    # The child run must not start another display.
    test_under_xvfb = pytest.mark.skip(reason="this is the child run")(test_under_xvfb)


# ------------------------------------------------------------------------------ child run
# Defined only in the child run, so a normal run lists no skipped placeholders.
if CHILD:

    @pytest.fixture
    def xwindow(qtbot: Any, tmp_path: Path) -> Any:
        from test_gui_support import make_window

        made: list[Any] = []

        def make(**kw: Any) -> Any:
            window = make_window(tmp_path / "config", **kw)
            qtbot.addWidget(window)
            window.show()
            made.append(window)
            return window

        yield make
        for w in made:
            w.quit()

    def _save_tint(config: Path, strength: float) -> None:
        import json

        from test_gui_support import TINT

        from pipelines.presets import Preset, StageSpec
        from pipelines.userdata import PresetStore

        PresetStore(config / "presets").save(
            Preset("Tint", (StageSpec(TINT, {"strength": strength, "color": [255, 0, 0]}),))
        )
        config.mkdir(parents=True, exist_ok=True)
        (config / "settings.json").write_text(
            json.dumps({"preset": "user:Tint", "source": "demo:0", "close_to_tray": True})
        )

    def _grab(window: Any) -> Any:
        """A real screen grab (what the X server shows) of the window's area."""
        from PySide6.QtGui import QGuiApplication

        screen = window.screen() or QGuiApplication.primaryScreen()
        geo = window.frameGeometry()
        return screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())

    def _to_bgr(image: Any) -> Any:
        import numpy as np
        from PySide6.QtGui import QImage

        image = image.convertToFormat(QImage.Format.Format_RGB888)
        w, h, stride = image.width(), image.height(), image.bytesPerLine()
        arr = np.frombuffer(image.constBits(), np.uint8, stride * h).reshape(h, stride)
        return arr[:, : w * 3].reshape(h, w, 3)[:, :, ::-1].copy()

    def test_child_tray_menu_switches_preset(qtbot: Any, xwindow: Any, tmp_path: Path) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QSystemTrayIcon
        from test_gui_support import TINT

        from app.gui.headless import fake_click
        from pipelines.presets import PRESETS

        assert QSystemTrayIcon.isSystemTrayAvailable()
        _save_tint(tmp_path / "config", 0.5)
        window = xwindow()
        tray = window.tray
        assert tray is not None and tray.available
        qtbot.waitUntil(
            lambda: tray.icon.isVisible() and tray.icon.geometry().width() > 0, timeout=5000
        )
        qtbot.waitUntil(lambda: window.preset_key == "user:Tint", timeout=5000)
        labels = [a.text() for a in tray.preset_actions.values()]
        assert labels[0] == "Off" and "Tint" in labels
        for name in ("natural", "studio", "privacy-blur"):
            if name in PRESETS:
                assert f"builtin:{name}" in tray.preset_actions

        def open_menu() -> None:
            # Right-click the icon in the tray, as a user would (the tray may take a moment to
            # embed a new icon, so a click that opens nothing is tried again).
            for _ in range(10):
                center = tray.icon.geometry().center()
                fake_click(os.environ["DISPLAY"], center.x(), center.y(), button=3)
                try:
                    qtbot.waitUntil(tray.menu.isVisible, timeout=1000)
                    return
                except qtbot.TimeoutError:
                    continue
            raise AssertionError("the tray menu did not open on a right-click")

        def choose(key: str) -> None:
            open_menu()
            rect = tray.menu.actionGeometry(tray.preset_actions[key])
            QTest.mouseClick(tray.menu, Qt.MouseButton.LeftButton, pos=rect.center())
            qtbot.waitUntil(lambda: not tray.menu.isVisible(), timeout=5000)

        # Keep a picture of the open menu for the record.
        open_menu()
        qtbot.wait(200)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        window.screen().grabWindow(0).save(str(ARTIFACTS / "tray-menu.png"))
        tray.menu.hide()

        choose("builtin:off")
        qtbot.waitUntil(lambda: window.preset_key == "builtin:off", timeout=5000)
        assert window.controller.stages == []
        assert window.preset_combo.currentText() == "Off"
        assert tray.preset_actions["builtin:off"].isChecked()
        choose("user:Tint")
        qtbot.waitUntil(lambda: window.preset_key == "user:Tint", timeout=5000)
        assert [s.name for s in window.controller.stages] == [TINT]
        # The icon shows the state: grey (idle) now, amber once paused from the menu.
        assert tray.state == "idle"
        tray.pause_action.trigger()
        assert tray.state == "paused" and window.pause_button.isChecked()

    def test_child_screenshot_shows_the_processed_demo_frame(
        qtbot: Any, xwindow: Any, tmp_path: Path
    ) -> None:
        import cv2
        import numpy as np
        from test_gui_support import TintSettings, TintStage

        from pipelines.frame import FrameContext
        from pipelines.sources import SourceConfig, open_source

        _save_tint(tmp_path / "config", 0.5)
        window = xwindow()
        window.resize(1100, 700)
        window.move(0, 40)
        qtbot.waitUntil(lambda: window.preset_key == "user:Tint", timeout=5000)
        qtbot.waitUntil(lambda: window.preview.frames_shown > 5, timeout=8000)
        qtbot.wait(300)
        shot = _grab(window)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot.save(str(ARTIFACTS / "main-window.png"))
        pixels = _to_bgr(shot.toImage())
        # Where the preview draws the frame, in screen pixels.
        rect = window.preview.image_rect()
        top_left = window.preview.mapTo(window, rect.topLeft())
        offset = window.mapToGlobal(window.rect().topLeft()) - window.frameGeometry().topLeft()
        ratio = window.devicePixelRatioF()
        x0 = round((top_left.x() + offset.x()) * ratio)
        y0 = round((top_left.y() + offset.y()) * ratio)
        w, h = round(rect.width() * ratio), round(rect.height() * ratio)
        shown = pixels[y0 + 2 : y0 + h - 2, x0 + 2 : x0 + w - 2].astype(np.float32)
        # What it should be: the still demo frame through the same effect.
        source = open_source("demo:0", SourceConfig(width=1280, height=720))
        raw = source.read()
        assert raw is not None
        source.close()
        expected = TintStage(TintSettings(strength=0.5, color=(255, 0, 0))).process(
            raw.image, FrameContext(0.0, 0)
        )
        expected = cv2.resize(expected, (w, h), interpolation=cv2.INTER_AREA)[2:-2, 2:-2]
        untouched = cv2.resize(raw.image, (w, h), interpolation=cv2.INTER_AREA)[2:-2, 2:-2]
        error = np.abs(shown - expected.astype(np.float32)).mean()
        versus_input = np.abs(shown - untouched.astype(np.float32)).mean()
        assert error < 6.0, error
        assert versus_input > 25.0, versus_input
        # Blue tint: blue well above red across the picture.
        b, _g, r = shown.reshape(-1, 3).mean(axis=0)
        assert b > r + 40

    def test_child_global_hotkey_pauses(qtbot: Any, xwindow: Any) -> None:
        from app.gui.headless import fake_key

        window = xwindow()
        window._start_hotkeys()
        assert window.hotkeys.active, window.hotkeys.message
        assert "Ctrl+Alt+Shift+P" in window.hotkey_label.text()
        fake_key(os.environ["DISPLAY"], ["Control_L", "Alt_L", "Shift_L", "p"])
        qtbot.waitUntil(lambda: window.paused, timeout=5000)
        assert window.pause_button.isChecked()
        fake_key(os.environ["DISPLAY"], ["Control_L", "Alt_L", "Shift_L", "p"])
        qtbot.waitUntil(lambda: not window.paused, timeout=5000)
        window.hotkeys.stop()
        assert not any(t.name == "camfx-hotkeys" for t in __import__("threading").enumerate())
