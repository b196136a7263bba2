"""``fused.prepare()`` never waits for a compile in progress.

Stages call it in ``open()``, on the engine's processing thread. It took the lock that
``available()`` holds for the whole compile, so the second stage to open (the beauty stage
after the background blur, in Studio) waited for all of it: 20-40 s with a cold Numba cache on
a loaded 2-core machine, without a single frame meanwhile (the window's preview froze, a first
run's test timed out waiting for frames, and a quit had to wait for that stage to open).
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

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


EXIT_S = 60.0
"""Bound on a process's exit with a compile under way: the compile stops after the kernel it is
on (one kernel: ~1-5 s on this machine, more under load), not after all of them (13 s of CPU on
a cold cache, 40-150 s at load 15)."""


def test_exit_during_a_cold_compile_stops_it_cleanly(tmp_path) -> None:
    """A process that exits while the kernels compile on their thread (a cold Numba cache: a
    first start, then a quit or a logout) exits 0, not 134 (std::terminate when Python
    finalised with that thread inside LLVM), and without compiling everything first."""
    import os
    import subprocess
    import sys
    import time

    pytest.importorskip("numba")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONFAULTHANDLER": "1"}
    env.pop(fused.DISABLE_ENV, None)
    code = (
        "import time\n"
        "from pipelines.segmentation import fused\n"
        "fused.prepare()\n"
        "time.sleep(1.0)\n"
        "assert fused._preparing is not None and fused._preparing.is_alive()\n"
        "assert not fused.ready()\n"
        "print('exiting', flush=True)\n"
    )
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    took = time.monotonic() - t0
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exiting" in done.stdout
    assert "terminate called" not in done.stderr
    assert took < EXIT_S, f"exit took {took:.1f} s"
    # It stopped early: the cold cache did not get every kernel. (Counted by kernel, against
    # the kernels the compile makes, not against a second, full cold compile: 10 s of the
    # suite.)
    assert _kernels_cached(tmp_path / "numba") < set(KERNELS), sorted(
        _kernels_cached(tmp_path / "numba")
    )


KERNELS = tuple(field.name for field in dataclasses.fields(fused._Kernels))
"""The kernels a full compile makes and caches, one ``fused._compile.locals.<name>-<line>``
entry or more each (a full cold compile caches all 17, 2026-12-06)."""


def _kernels_cached(cache: Path) -> set[str]:
    """The kernels (:data:`KERNELS`) with an entry in the Numba cache folder ``cache``."""
    names = {
        path.name.split(".")[3].rsplit("-", 1)[0]
        for path in cache.rglob("fused._compile.locals.*.nbc")
    }
    return names & set(KERNELS)
