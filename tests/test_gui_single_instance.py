"""One camfx window per config folder (qa7 finding 7): a second start brings the running
window up and exits in one line, where it opened a second window over the same presets."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported in this process

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from app.gui import single_instance

pytestmark = pytest.mark.timeout(60)


FIRST_CAMFX = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from app.gui import single_instance
app = QCoreApplication([])
first = single_instance.claim(Path(sys.argv[1]), show=True)
assert isinstance(first, single_instance.InstanceServer), first
first.showRequested.connect(lambda: print("shown", flush=True))
print("listening", flush=True)
app.exec()
"""


@contextlib.contextmanager
def first_camfx(config: Path, **env: str) -> Iterator[subprocess.Popen[str]]:
    """A first camfx's end of the socket, in a process of its own: the second start waits for
    its answer, which a server in the test's own (blocked) thread could not give."""
    process = subprocess.Popen(
        [sys.executable, "-c", FIRST_CAMFX, str(config)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "listening"
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_second_start_asks_the_first_to_show_its_window(qtbot: Any, tmp_path: Path) -> None:
    config = tmp_path / "config"
    with first_camfx(config) as first:
        other = single_instance.claim(tmp_path / "other config", show=True)
        assert isinstance(other, single_instance.InstanceServer)
        other.close()
        answered = single_instance.RunningCamfx(answered=True, pid=first.pid)
        # The login autostart (--minimized) brings nothing up: "shown" is the next line only
        # if the ping was not taken for a show.
        assert single_instance.claim(config, show=False) == answered
        assert single_instance.claim(config, show=True) == answered
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "shown"
    # Gone: the next start is the running one.
    again = single_instance.claim(config, show=True)
    assert isinstance(again, single_instance.InstanceServer)
    again.close()


@pytest.mark.skipif(os.name != "posix", reason="TMPDIR holds the socket on POSIX")
def test_a_second_start_with_another_tmpdir_finds_the_first(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """qa64: the socket lay in $TMPDIR, so a start with another TMPDIR (a terminal's, the
    desktop's) opened a second window on the same settings."""
    config = tmp_path / "config"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with first_camfx(config, TMPDIR=str(tmp_path / "a")) as first:
        monkeypatch.setenv("TMPDIR", str(tmp_path / "b"))
        found = single_instance.claim(config, show=False)
        assert found == single_instance.RunningCamfx(answered=True, pid=first.pid)


def test_camfx_started_twice_says_so_in_one_line_and_exits_0(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from app.gui.application import run

    config = tmp_path / "config"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(config))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with first_camfx(config) as first:
        try:
            assert run(["--no-tray", "--no-hotkeys"]) == 0
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "shown"
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"camfx: camfx is already running (settings in {config}); its window was brought up"
    ]
    assert not config.exists()  # nothing of the second start was written


def fake_frozen_camfx(config: Path) -> Any:
    """A socket at ``config``'s name that takes connections and never answers, as the kernel
    does for a camfx stopped with kill -STOP (qa8 M2)."""
    from PySide6.QtNetwork import QLocalServer

    server = QLocalServer()
    assert server.listen(single_instance.server_name(config))
    return server  # no newConnection handler: nothing reads, nothing answers


def test_a_start_beside_a_frozen_camfx_says_it_does_not_answer_and_exits_1(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from app.gui.application import run

    config = tmp_path / "config"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(config))
    # Nothing ever answers here, so the wait's length decides nothing but the test's: the
    # real 2 s, waited twice, was 4 of its 4.0 s.
    monkeypatch.setattr(single_instance, "REPLY_TIMEOUT_MS", 500)
    frozen = fake_frozen_camfx(config)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    try:
        assert run(["--no-tray", "--no-hotkeys"]) == 1  # main: 0, "its window was brought up"
        found = single_instance.claim(config, show=True)
        assert found == single_instance.RunningCamfx(answered=False, pid=os.getpid())
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        frozen.close()
    took = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"camfx: camfx (pid {os.getpid()}) running with the settings in")
    assert "does not answer" in err[0] and f"kill {os.getpid()}" in err[0]
    assert "CAMFX_CONFIG_DIR" in err[0]
    # Two waits for the answer, nothing more.
    assert took < 2 * single_instance.REPLY_TIMEOUT_MS / 1000 + 3
    assert not config.exists()


def test_a_second_start_with_a_source_says_the_window_keeps_its_own(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from app.gui.application import run

    config = tmp_path / "config"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(config))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with first_camfx(config):
        try:
            assert run(["--no-tray", "--no-hotkeys", "--source", "clip.mp4"]) == 0
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"camfx: camfx is already running (settings in {config}); its window was brought up; "
        "it keeps its source (clip.mp4 was not used: pick it in that window)"
    ]
