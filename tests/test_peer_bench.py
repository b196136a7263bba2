"""tools/peer_bench.py without the MediaPipe venv: its failures (one line, exit 2), the frames
it gives both sides, and camfx's side of the measurement. The peer's own side needs the
MediaPipe 0.10.21 venv, which the suite never builds (run the tool by hand for it)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.sources import open_source
from pipelines.sources.base import SourceConfig

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "peer_bench.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("peer_bench", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=60,
        check=False,
    )


def test_no_python311_and_no_venv_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run_tool(
        "--frames",
        "2",
        CAMFX_MP_VENV=str(tmp_path / "venv"),
        PYTHON=str(tmp_path / "python3.11"),
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("peer_bench: no ") and "python3.11" in lines[0]
    assert not (tmp_path / "venv").exists()


def test_a_venv_that_cannot_be_built_is_one_line_exit_2(tmp_path: Path) -> None:
    # make_golden.sh --venv-only runs "$PYTHON -m venv", which fails here.
    done = run_tool("--frames", "2", CAMFX_MP_VENV=str(tmp_path / "venv"), PYTHON="false")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("peer_bench: cannot build the MediaPipe 0.10.21 venv")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["--frames", "0"], ["--size", "12x7"], ["--rounds", "x"]])
def test_bad_arguments_exit_2(args: list[str]) -> None:
    done = run_tool(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("peer_bench: error: argument")


def test_both_sides_get_the_demo_sources_frames() -> None:
    tool = load_tool()
    frames = tool.render_demo(4, (160, 96))
    assert frames.shape == (4, 96, 160, 3) and frames.dtype == np.uint8
    source = open_source("demo", SourceConfig(width=160, height=96, fps=30.0, paced=False))
    try:
        for want in frames:
            frame = source.read()
            assert frame is not None
            np.testing.assert_array_equal(frame.image, want)
    finally:
        source.close()
    # The demo moves: the frames differ (a source stuck on one frame would be cheaper).
    assert np.abs(frames[3].astype(int) - frames[0]).mean() > 0.5


def test_camfx_side_runs_studio_over_the_saved_frames(tmp_path: Path) -> None:
    tool = load_tool()
    path = tmp_path / "frames.npy"
    np.save(path, tool.render_demo(8, (256, 144)))
    done = run_tool("--warmup", "2", "--camfx-side", str(path))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Every frame after the warm-up counted, through Studio's stages.
    assert result["frames"] == 6
    assert {"face_tracker", "segmentation", "background_blur", "light_color", "beauty"} <= set(
        result["stages"]
    )
    assert result["fps"] > 0 and result["cpu_ms_per_frame"] > 0


def test_a_side_with_a_bad_frame_file_fails_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "frames.npy"
    np.save(path, np.zeros((3, 4), np.float32))
    done = run_tool("--camfx-side", str(path))
    assert done.returncode == 1
    want = f"peer_bench: {path}: not (N, H, W, 3) uint8 frames"
    assert done.stderr.strip().splitlines() == [want]
