"""The window's keys (qa7 findings 10, 11; offscreen): no two controls or menus share an Alt
letter, and the video shortcuts (Ctrl+P pause, Ctrl+I compare, …) do not fire while the
cursor is in a text field."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported in this process

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QGroupBox, QLabel, QLineEdit, QMenu
from test_gui_support import TINT, TINT_PRESET, make_window

pytestmark = pytest.mark.timeout(90)

_MNEMONIC = re.compile(r"&([^&\s])")


def _letter(text: str) -> str | None:
    found = _MNEMONIC.search(text.replace("&&", ""))
    return found.group(1).casefold() if found else None


def _clashes(named: list[tuple[str, str]]) -> dict[str, list[str]]:
    by_letter: dict[str, list[str]] = {}
    for text, where in named:
        letter = _letter(text)
        if letter is not None:
            by_letter.setdefault(letter, []).append(f"{where} {text!r}")
    return {k: v for k, v in by_letter.items() if len(v) > 1}


@pytest.fixture
def tint_window(qtbot: Any, tmp_path: Path) -> Any:
    config = tmp_path / "config"
    (config / "presets").mkdir(parents=True)
    (config / "presets" / "tint.json").write_text(json.dumps(TINT_PRESET.to_dict()))
    (config / "settings.json").write_text(
        json.dumps({"schema": 2, "preset": "user:Tint", "source": "demo"})
    )
    window = make_window(config)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: TINT in window.effects.panels, timeout=15_000)
    yield window
    window.quit()
    qtbot.wait(10)


def test_no_two_controls_or_menus_share_an_alt_letter(tint_window: Any) -> None:
    w = tint_window
    # The window's own level: the menu bar's titles and every control, shown or not (the
    # camera's Mode row appears later), outside the menus.
    level = [(a.text(), "menu") for a in w.menuBar().actions()]
    for widget in w.centralWidget().findChildren(QAbstractButton):
        level.append((widget.text(), type(widget).__name__))
    for label in w.centralWidget().findChildren(QLabel):
        level.append((label.text(), "label"))
    for box in w.centralWidget().findChildren(QGroupBox):
        level.append((box.title(), "group"))
    assert _letter("&Save") == "s" and _clashes([("&Save", "a"), ("&Settings", "b")])
    assert len([t for t, _ in level if _letter(t)]) >= 15, level
    assert _clashes(level) == {}
    # Each menu, submenus included, is a level of its own.
    for menu in w.findChildren(QMenu):
        entries = [(a.text(), menu.title()) for a in menu.actions() if not a.isSeparator()]
        assert _clashes(entries) == {}, menu.title()


def test_video_shortcuts_do_not_fire_while_typing_in_a_field(qtbot: Any, tint_window: Any) -> None:
    w = tint_window
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    field = w.effects.editor(TINT, "label").findChild(QLineEdit)
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field, timeout=5000)
    QTest.keyClicks(field, "ab")
    for key in (Qt.Key.Key_P, Qt.Key.Key_I, Qt.Key.Key_R):
        QTest.keyClick(field, key, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(field, "c")
    qtbot.wait(50)
    assert (w.paused, w.compare_button.isChecked(), w.recording) == (False, False, False)
    assert field.text() == "abc"
    # Elsewhere in the window the same keys still work.
    w.pause_button.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.pause_button, timeout=5000)
    QTest.keyClick(w.pause_button, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(w.pause_button, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert w.paused and w.compare_button.isChecked()
