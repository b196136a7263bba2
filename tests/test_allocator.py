"""Frame-size arrays are reused by the C allocator once an engine has started (issue 15)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from pipelines import allocator

# A frame's worth of 0.9-3.7 MB arrays, freed in another order than made, as the stages do.
# Without fixed thresholds glibc maps and faults them in afresh each round (1768 page faults a
# round measured); with them, none.
ROUNDS = """
import resource, sys
import numpy as np
if sys.argv[1] == "engine":
    from pipelines.allocator import keep_large_blocks
    assert keep_large_blocks()
sizes = [2764800, 921600, 3686400, 2764800, 921600]
for i in range(40):
    if i == 10:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrs = [np.ones(s, np.uint8) for s in sizes]
    del arrs[2], arrs[0]
    more = np.ones(2764800, np.uint8)
    arrs.clear()
    del more
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 30)
"""
FAULTS_KEPT_MAX = 50
"""Page faults a round with the thresholds set (0 measured; numpy's own small blocks)."""
FAULTS_MAPPED_MIN = 600
"""... and without (1768 measured: every page of the big arrays), so the test can tell."""

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the thresholds are glibc's",
)


def _faults_per_round(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if k not in allocator.ENV_OVERRIDES}
    out = subprocess.run(
        [sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip())


@glibc
def test_an_engines_process_reuses_frame_size_arrays() -> None:
    assert _faults_per_round("plain") >= FAULTS_MAPPED_MIN
    assert _faults_per_round("engine") <= FAULTS_KEPT_MAX


def test_the_users_glibc_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert allocator._set_thresholds() is False


def test_an_engine_sets_them_when_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from test_cvthreads import StillSource

    from pipelines.engine import Engine
    from pipelines.outputs.base import Output

    calls: list[bool] = []
    monkeypatch.setattr(allocator, "keep_large_blocks", lambda: calls.append(True) or True)
    engine = Engine(StillSource(), [], [Output("null")], lossless=True)
    engine.start()
    engine.stop()
    assert calls == [True]
