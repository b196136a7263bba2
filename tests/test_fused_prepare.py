"""``fused.prepare()`` never waits for a compile in progress.

Stages call it in ``open()``, on the engine's processing thread. It took the lock that
``available()`` holds for the whole compile, so the second stage to open (the beauty stage
after the background blur, in Studio) waited for all of it: 20-40 s with a cold Numba cache on
a loaded 2-core machine, without a single frame meanwhile (the window's preview froze, a first
run's test timed out waiting for frames, and a quit had to wait for that stage to open).
"""

from __future__ import annotations

import threading

import pytest

from pipelines.segmentation import fused

WAIT_S = 5.0
"""More than prepare() ever takes (it only starts a thread); far less than a compile."""


def test_prepare_returns_while_a_compile_holds_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fused.DISABLE_ENV, raising=False)
    monkeypatch.setattr(fused, "_kernel", None)
    monkeypatch.setattr(fused, "_unavailable", None)
    compiling = threading.Thread(target=lambda: None, name="camfx-jit")  # started earlier
    monkeypatch.setattr(fused, "_preparing", compiling)
    returned = threading.Event()

    def open_a_second_stage() -> None:
        fused.prepare()
        returned.set()

    with fused._lock:  # what available() holds while it compiles
        caller = threading.Thread(target=open_a_second_stage, daemon=True)
        caller.start()
        waited = not returned.wait(WAIT_S)
    caller.join(WAIT_S)
    assert not waited, "prepare() waited for the compile in progress"
    assert fused._preparing is compiling  # no second compile thread
