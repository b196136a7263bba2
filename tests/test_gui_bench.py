"""``camfx bench --gui``: the window's preview is measured in the window itself."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from app import cli

pytestmark = pytest.mark.timeout(120)


def test_bench_gui_reports_the_preview_rate_and_latency(
    qapp: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(tmp_path / "untouched"))
    code = cli.main(
        ["bench", "--gui", "--json", "--preset", "off", "--size", "320x240", "--fps", "20",
         "--frames", "30"]
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["preset"] == "off" and result["size"] == "320x240"
    assert result["seconds"] == pytest.approx(1.5, abs=0.5)
    # A shared 2-core machine shows fewer frames than the source gives, but some, and never
    # more than the source's rate; each was captured before it was painted.
    assert 0 < result["shown_fps"] <= 20 * 1.2
    assert 0 < result["shown_latency"]["median_ms"] <= result["shown_latency"]["p95_ms"]
    assert result["engine_fps"] > 0
    # The engine's figures cover the same interval: the window cannot show more frames than
    # the engine handed to the preview then (one painted at each edge of the interval, and
    # the rounding to 0.1 fps, aside).
    edges = 2 / result["seconds"] + 0.1
    assert result["shown_fps"] <= result["engine_fps"] + edges
    assert result["engine_latency"]["median_ms"] > 0
    assert result["preview_dropped"] >= 0 and result["engine_dropped"] >= 0
    assert 0 < result["startup_s"] < 60
    # The user's settings were neither read nor written.
    assert not (tmp_path / "untouched").exists()
