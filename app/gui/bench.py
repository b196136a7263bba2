"""``camfx bench --gui``: what the window's preview shows, measured in the window itself.

The real window (its controller, engine and preview) runs a preset on the demo source, paced
like a camera at the asked rate. After a warm-up, every repaint that shows a new frame is
counted and timed from the frame's capture (``Frame.timestamp``) to the end of that paint:
the preview's frame rate and latency as a user sees them. The engine's own figures of the
same minutes are reported beside them. Settings and presets go to a temporary folder: the
user's are neither read nor changed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def run_gui_bench(
    preset: str, size: tuple[int, int], fps: float, seconds: float, warmup_s: float = 3.0
) -> dict[str, Any]:
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no display: Qt paints into memory
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.gui.controller import EngineController
    from app.gui.window import MainWindow
    from pipelines.userdata import PresetStore, SettingsStore

    app = QApplication.instance() or QApplication(["camfx-bench"])
    with tempfile.TemporaryDirectory(prefix="camfx-bench-") as folder:
        config = Path(folder)
        key = preset if ":" in preset else f"builtin:{preset}"
        (config / "settings.json").write_text(
            json.dumps(
                {
                    "schema": 1,
                    "preset": key,
                    "source": "demo",
                    "output_size": list(size),
                    "fps": fps,
                    "hotkeys": False,
                }
            )
        )
        window = MainWindow(
            # No device probes: they load a model per provider, which would compete with the
            # frames being measured.
            EngineController(device_probes=dict),
            SettingsStore(config / "settings.json"),
            PresetStore(config / "presets"),
            use_tray=False,
            use_hotkeys=False,
        )
        shown: list[tuple[float, float]] = []  # (paint end, capture-to-screen ms)
        preview = window.preview
        paint = preview.paintEvent
        last_index = [-1]

        def timed_paint(event: Any) -> None:
            paint(event)
            current = preview._current
            if current is not None and current.index != last_index[0]:
                last_index[0] = current.index
                now = time.monotonic()
                shown.append((now, (now - current.timestamp) * 1000.0))

        preview.paintEvent = timed_paint  # type: ignore[method-assign]
        window.resize(1180, 720)
        window.start()
        window.show()
        try:
            deadline = time.monotonic() + 60.0
            while window.preset_key != key or not shown:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the window did not show {preset!r} within a minute")
                app.processEvents()
                time.sleep(0.005)
            _pump(app, warmup_s)
            start = time.monotonic()
            first = len(shown)
            _pump(app, seconds)
            elapsed = time.monotonic() - start
            window_shown = shown[first:]
            snap = window.controller.snapshot()
        finally:
            window.quit()
    latencies = np.asarray([ms for _, ms in window_shown]) if window_shown else np.zeros(0)
    return {
        "preset": preset,
        "size": f"{size[0]}x{size[1]}",
        "source_fps": fps,
        "seconds": round(elapsed, 2),
        "platform": QGuiApplication.platformName(),
        "shown_fps": round(len(window_shown) / elapsed, 1) if elapsed > 0 else None,
        "shown_latency": {
            "median_ms": round(float(np.median(latencies)), 1) if latencies.size else None,
            "p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies.size else None,
        },
        "engine_fps": round(snap.fps, 1) if snap is not None else None,
        "engine_latency_ms": round(snap.latency_ms, 1) if snap is not None else None,
        "engine_dropped": snap.dropped if snap is not None else None,
    }


def _pump(app: Any, seconds: float) -> None:
    """Run Qt's event loop, as the app does, for ``seconds`` (the preview's timer, paints)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def format_gui_bench(result: dict[str, Any]) -> str:
    lat = result["shown_latency"]
    return "\n".join(
        [
            f"camfx bench --gui: preset {result['preset']}, {result['size']} at "
            f"{result['source_fps']:g} fps, {result['seconds']} s on Qt's "
            f"{result['platform']} platform",
            f"window shows:  {result['shown_fps']} fps, capture-to-screen latency median "
            f"{lat['median_ms']} ms, p95 {lat['p95_ms']} ms",
            f"engine:        {result['engine_fps']} fps, latency {result['engine_latency_ms']} "
            f"ms, {result['engine_dropped']} frames dropped",
        ]
    )
