"""The window finds recordings torn by a hard stop in its record folder and repairs them on
request, into copies beside them, the originals left as they were."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

import recording_support as recording
from test_gui_support import open_window

from app.gui.outputs import TORN
from pipelines.outputs import recorder

av = pytest.importorskip("av")
pytestmark = pytest.mark.timeout(60)

NAME = "camfx-20261204-101500.mp4"
AN_HOUR_AGO = time.time() - 3600


def record(path: Path) -> Path:
    """A recording without sound, last written an hour ago (not one being written now)."""
    recording.record(path, voice=False)
    os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    return path


def tear(path: Path) -> Path:
    """Cut inside the last fragment's mdat, as a kill -9 while it was written does."""
    layout = recorder.mp4_layout(path)
    assert layout.fragmented and layout.torn_bytes == 0 and layout.fragments == 4
    stat = path.stat()
    os.truncate(path, last_box(path, b"mdat") + 20)
    os.utime(path, (stat.st_atime, stat.st_mtime))
    torn = recorder.mp4_layout(path)
    assert torn.fragments == 3 and torn.torn_bytes > 0
    return path


def last_box(path: Path, kind: bytes) -> int:
    """The offset of the last top-level box of type ``kind``."""
    return [b.offset for b in recording.boxes(path) if b.kind == kind][-1]


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_window(qtbot: Any, windows: list[Any], config: Path, folder: Path) -> Any:
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(
        json.dumps({"schema": 1, "preset": "builtin:off", "record_folder": str(folder)})
    )
    return open_window(qtbot, windows, config)


def looked(qtbot: Any, window: Any) -> list[tuple[str, list[Path]]]:
    """What the window's look through its record folder found, once it has handled it: this
    slot is connected after the window's, so the window's has run when this one has."""
    found: list[tuple[str, list[Path]]] = []
    window.controller.tornRecordingsFound.connect(lambda f, paths: found.append((f, paths)))
    qtbot.waitUntil(lambda: bool(found), timeout=10000)
    return found


def folder_with_a_torn_recording(tmp_path: Path) -> tuple[Path, Path]:
    """A record folder holding one recording torn inside its last fragment: (folder, it)."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    return folder, tear(record(folder / NAME))


def test_a_torn_recording_is_offered_and_repaired_into_a_copy(
    qtbot: Any, windows: list[Any], config: Path, tmp_path: Path
) -> None:
    folder, torn = folder_with_a_torn_recording(tmp_path)
    record(folder / "camfx-20261204-090000.mp4")  # complete: not named
    before = digest(torn)
    window = start_window(qtbot, windows, config, folder)

    qtbot.waitUntil(lambda: TORN in window.messages.bars, timeout=10000)
    bar = window.messages.bars[TORN]
    assert bar.text.startswith(f"{NAME} ends in a torn fragment (camfx was stopped"), bar.text
    assert "090000" not in bar.text
    assert set(bar.buttons) == {"Repair", "Not now"}

    bar.buttons["Repair"].click()
    qtbot.waitUntil(
        lambda: window.messages.texts().get(TORN, "").startswith("Saved"), timeout=20000
    )

    repaired = folder / "camfx-20261204-101500.repaired.mp4"
    assert window.messages.texts()[TORN] == f"Saved {repaired.name} (6 s kept)"
    assert window.messages.bars[TORN].level == "info"
    assert decoded_frames(repaired) == 30
    assert digest(torn) == before
    assert sorted(p.name for p in folder.iterdir()) == [
        "camfx-20261204-090000.mp4",
        "camfx-20261204-101500.mp4",
        repaired.name,
    ]


def test_not_now_dismisses_the_offer(
    qtbot: Any, windows: list[Any], config: Path, tmp_path: Path
) -> None:
    folder, torn = folder_with_a_torn_recording(tmp_path)
    window = start_window(qtbot, windows, config, folder)
    qtbot.waitUntil(lambda: TORN in window.messages.bars, timeout=10000)
    window.messages.bars[TORN].buttons["Not now"].click()
    assert TORN not in window.messages.bars
    window.controller.wait_idle()
    assert list(folder.iterdir()) == [torn]


def test_complete_and_still_written_recordings_are_not_offered(
    qtbot: Any, windows: list[Any], config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    record(folder / "complete.mp4")
    live = tear(record(folder / NAME))
    os.utime(live, None)  # written into just now: maybe another camfx recording into it
    window = start_window(qtbot, windows, config, folder)

    assert looked(qtbot, window) == [(str(folder), [])]
    assert TORN not in window.messages.bars

    # Choosing another folder looks there.
    other = tmp_path / "older"
    other.mkdir()
    tear(record(other / NAME))
    monkeypatch.setattr(
        "app.gui.outputs.QFileDialog.getExistingDirectory", lambda *a, **kw: str(other)
    )
    window.outputs.choose_record_folder()
    qtbot.waitUntil(lambda: TORN in window.messages.bars, timeout=10000)
    assert window.messages.texts()[TORN].startswith(f"{NAME} ends in a torn fragment")

    # Back to a folder with nothing torn: the offer for the folder left behind goes.
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(
        "app.gui.outputs.QFileDialog.getExistingDirectory", lambda *a, **kw: str(empty)
    )
    window.outputs.choose_record_folder()
    qtbot.waitUntil(lambda: TORN not in window.messages.bars, timeout=10000)
