"""The process never exits with an engine thread inside native code.

``Engine.stop(timeout)`` cannot interrupt a stage's ``open()`` (a model load, a compile, a
warm-up). When it gave up waiting and the process exited, the processing thread came back from
an OpenCV call into a finalising interpreter, which ended it with ``pthread_exit``; the forced
unwind through OpenCV's C++ frame called ``std::terminate`` and the process aborted (exit 134,
"terminate called without an active exception"): the window did that on SIGTERM while the
Studio preset was still opening. The script below makes that moment on purpose, in a child
process: a stage whose ``open()`` runs OpenCV calls for a few seconds, and a ``stop()`` that
gives up after 0.2 s. Before the fix it aborted in 10 of 10 runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

OPEN_S = 1.0
"""How long the stage's ``open()`` keeps calling OpenCV: well past ``stop``'s 0.2 s (2.0 s
until 2026-12-06; stop returned and the exit began 0.3 s into the open in 3 runs at load 5, so
the thread is still inside OpenCV there either way)."""

SCRIPT = textwrap.dedent(
    f"""
    import logging, sys, threading, time

    import cv2
    import numpy as np

    from pipelines.engine import Engine
    from pipelines.sources.base import Source, SourceConfig
    from pipelines.stage import Stage, StageSettings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


    class Grey(Source):
        def __init__(self):
            super().__init__("", SourceConfig(width=64, height=48, fps=30.0, paced=True))

        def grab(self):
            return np.full((48, 64, 3), 128, np.uint8)


    class SlowOpen(Stage[StageSettings]):
        name = "slow-open"
        opening = threading.Event()

        def open(self):
            self.opening.set()
            big = np.zeros((1500, 1500, 3), np.uint8)
            end = time.monotonic() + {OPEN_S}
            # The thread spends nearly all its time inside OpenCV with the GIL released.
            while time.monotonic() < end:
                cv2.GaussianBlur(big, (41, 41), 0)
            super().open()

        def process(self, image, ctx):
            return image

        def close(self):
            print("stage closed", flush=True)
            super().close()


    stage = SlowOpen()
    if sys.argv[1] == "start":
        engine = Engine(Grey(), [stage])
        engine.start()
    else:  # picked while the engine runs: opened on the opener thread
        engine = Engine(Grey(), [])
        engine.start()
        engine.set_stages([stage])
    assert stage.opening.wait(30), "the stage never started opening"
    t0 = time.monotonic()
    engine.stop(timeout=0.2)
    print(f"stop returned after {{time.monotonic() - t0:.1f}} s", flush=True)
    sys.exit(0)
    """
)


@pytest.mark.parametrize("when", ["start", "switch"])
def test_exit_waits_for_a_stage_still_opening_when_stop_gave_up(tmp_path: Path, when: str) -> None:
    """``start``: the engine's first stages. ``switch``: a stage list set while the engine
    runs. Either way the open runs on a thread of its own (the processing thread, or the
    opener thread, waits for it within the stuck limit)."""
    thread = "camfx-open-slow-open"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, when],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, f"exit {out.returncode} (134: aborted in native code):\n{log}"
    assert "stop returned after" in out.stdout, log
    # stop() said it left the thread, the exit waited for it, and the thread closed its stage.
    assert f"{thread} still running" in log, log
    assert re.search(rf"waiting for .*{thread}.* to end", log), log
    assert out.stdout.rstrip().endswith("stage closed"), log
