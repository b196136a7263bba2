"""The window quits cleanly on SIGTERM (a session logout, ``kill``) at any moment: exit 0, the
settings saved, no abort.

It aborted (exit 134, "terminate called without an active exception") when SIGTERM came while
the Studio preset's effects were still opening: ``Engine.stop`` gave up after 5 s and the
interpreter finalised with the processing thread inside OpenCV (``tests/test_engine_shutdown``
makes that moment on purpose; ``tests/test_privacy`` sends SIGTERM after 24 s). Here the real
window (Studio, the demo source) gets SIGTERM at three moments:

* *starting*: as soon as it handles SIGTERM, before Qt and the window are up (before, a signal
  that early killed it: exit 143, nothing saved);
* *loading*: as soon as ONNX Runtime is loaded (the effects' models are being read);
* *running*: ``RUNNING_S`` later, frames flowing through the effects.

``CAMFX_NO_JIT=1``: no Numba compile, whose end the exit waits for (about 12 s of CPU in a
cold process), so each run takes seconds; the compile's own shutdown is covered by
``tests/test_privacy`` and ``tests/test_fused_prepare``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads /proc/PID/status (Linux)"
)

RUNNING_S = 6.0
"""After ONNX Runtime was loaded: the effects are open and frames flow (on a loaded 2-core
machine they open within a few seconds of it)."""
STEP_TIMEOUT_S = 60.0
"""The most any moment, or the exit after it, may take (loaded CI machine)."""
EXIT_S = 20.0
"""A logout does not wait: the window is gone this soon after SIGTERM (about 1-2 s here; it
took 30 s when the device probe waited for start-up work that the quit had cancelled)."""
ONNX_RUNTIME = "onnxruntime_pybind11_state"
"""ONNX Runtime's library, in /proc/PID/maps once it is imported (for the effects' models)."""


def handles_sigterm(pid: int) -> bool:
    """Whether ``pid`` has a SIGTERM handler installed (``SigCgt`` in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def loaded_onnx_runtime(pid: int) -> bool:
    try:
        return ONNX_RUNTIME in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


class Window:
    """``camfx gui`` (Studio, the demo) in a throw-away home; its output read as it comes."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = tmp_path / "config"
        self.config.mkdir()
        (self.config / "settings.json").write_text(
            json.dumps({"preset": "studio", "source": "demo"})
        )
        home = tmp_path / "home"
        home.mkdir()
        env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "CAMFX_CONFIG_DIR": str(self.config),
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": str(ROOT),
            "PYTHONFAULTHANDLER": "1",
            "CAMFX_NO_JIT": "1",
        }
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "-v", "gui", "--no-tray", "--no-hotkeys"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, moment: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        ready = handles_sigterm if moment == "starting" else loaded_onnx_runtime
        while not ready(self.proc.pid):
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"not {moment} after 60 s:\n{self.output}"
            time.sleep(0.01)
        if moment == "running":
            time.sleep(RUNNING_S)

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds until the process was gone)."""
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STEP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"still running {STEP_TIMEOUT_S:.0f} s after SIGTERM:\n{self.output}")
        took = time.monotonic() - sent
        self._reader.join(5.0)
        return code, took


@pytest.mark.timeout(3 * STEP_TIMEOUT_S)
@pytest.mark.parametrize("moment", ["starting", "loading", "running"])
def test_sigterm_quits_the_window_cleanly(tmp_path: Path, moment: str) -> None:
    window = Window(tmp_path)
    try:
        window.wait_for(moment)
    except BaseException:
        window.proc.kill()
        window.proc.wait()
        raise
    sent_at = time.monotonic() - window.started
    code, took = window.terminate()
    output = window.output
    assert code == 0, f"exit {code} after SIGTERM at {sent_at:.1f} s ({moment}):\n{output}"
    assert took < EXIT_S, f"the exit took {took:.1f} s after SIGTERM at {sent_at:.1f} s ({moment})"
    assert "terminate called" not in output and "Fatal Python error" not in output, output
    # Quitting saved the settings: the file is now in the current format, preset kept.
    saved = json.loads((window.config / "settings.json").read_text())
    assert "schema" in saved and saved["preset"] in ("studio", "builtin:studio"), saved
