"""tools/avatar_sweep.py (issue 13's sweep of varied tuning photos): one variant, quick, gives
its line with every figure and writes its sheets; held-out portraits are refused unopened."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytestmark = pytest.mark.clock_free

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "avatar_sweep.py"
LINE = re.compile(
    r"^astronaut:roll\+25 +face +(\d+) px +build +\d+ s \(\d+ warn\) +r +(-?[\d.]+) @ +[+-]\d+ ms"
    r" +silent shut +([\d.]+)% +p95 ([\d.]+) +blinks (\d+)/(\d+) +tears (\d+) \(eyes (\d+)\)"
    r" +folds (\d+) +posed blinks (\d+)/(\d+) +wide open torn (\d+)/(\d+) +tracked (\d+)/(\d+)",
    re.M,
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_one_variant_quick_gives_every_figure_and_its_sheets(tmp_path: Path) -> None:
    from pipelines.audio.voices import engine_missing, parse_voice

    why = engine_missing(parse_voice("espeak:en-us").engine)
    if why:
        pytest.skip(f"the tuning voice is unavailable: {why}")
    done = run("--only", "astronaut", "--variants", "roll+25", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    m = LINE.search(done.stdout)
    assert m, done.stdout[-2000:]
    face, r, shut, p95 = int(m[1]), float(m[2]), float(m[3]), float(m[4])
    blinks_seen, blinks, posed, tracked, frames = (
        int(m[5]),
        int(m[6]),
        int(m[11]),
        int(m[14]),
        int(m[15]),
    )
    wide_torn, wide = int(m[12]), int(m[13])
    # The astronaut's face is ~109 px forehead to chin whatever its roll; the clip speaks.
    assert 90 <= face <= 130
    assert frames > 100 and tracked == frames and blinks >= 1 and posed == 8
    assert 0.5 < r <= 1.0 and 0.0 <= shut <= 100.0 and 0.05 < p95 < 0.4
    assert 0 <= blinks_seen <= blinks
    assert wide == 60 and 0 <= wide_torn <= wide
    sheet = cv2.imread(str(tmp_path / "astronaut_roll+25_sheet.png"))
    crops = cv2.imread(str(tmp_path / "astronaut_roll+25_crops.png"))
    assert sheet is not None and sheet.shape[0] == 160 and sheet.shape[1] > 6 * 160
    assert crops is not None and crops.shape[0] > 200


def test_held_out_portraits_are_refused() -> None:
    done = run("--only", "biden", "--no-speech")
    assert done.returncode == 2
    assert "held-out portraits are never tuned on: biden" in done.stderr


def test_jitter_moves_the_landmarks_by_about_its_sigma_and_repeats_by_seed() -> None:
    """``--jitter``: the landmarks found, moved by noise of the given pixels, the same for the
    same seed (a build that breaks can be rebuilt), none for 0."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("avatar_sweep_under_test", TOOL)
    assert spec is not None and spec.loader is not None
    sys.path.insert(0, str(ROOT / "tools"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    lm = np.random.default_rng(0).uniform(0, 500, (478, 3)).astype(np.float32)
    assert module.jittered(lm, 0.0, 5) is lm
    a, b, c = module.jittered(lm, 0.3, 5), module.jittered(lm, 0.3, 5), module.jittered(lm, 0.3, 6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(a[:, 2], lm[:, 2])  # depth untouched
    moved = a[:, :2] - lm[:, :2]
    assert 0.25 < float(moved.std()) < 0.35 and abs(float(moved.mean())) < 0.05
