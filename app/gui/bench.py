"""``camfx bench --gui``: what the window's preview shows, measured in the window itself.

The real window (its controller, engine and preview) runs a preset on the demo source, paced
like a camera at the asked rate. Once the engine runs the preset's stages and has processed
the warm-up frames with them, every repaint that shows a new frame is counted and timed from
the frame's capture (``Frame.timestamp``) to the end of that paint: the preview's frame rate
and latency as a user sees them. The engine's figures are taken over the same interval (the
frames it handed to the preview and their latency), so the two compare frame for frame, and
how long the preset took to start is reported apart. Settings and presets go to a temporary
folder: the user's are neither read nor changed.

Until 2026-12-02 the count started 0.33 s after the first paint, which came before the
preset's stages had opened (the processing thread then spent 0.44 s opening Studio's, with no
frame, and ran OpenCV's composite until Numba's was loaded), while the engine's figure beside
it covered only its last 120 frames. Counted per hand-off in one such run (Studio, 1-minute
load 4): 24 fps shown against 30 from the engine; the engine delivered 14-24 frames a second
for the first 6 s and 30 after, 68 frames were dropped before processing, 2 by the preview's
slot, and every frame the window took was painted.
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
    preset: str, size: tuple[int, int], fps: float, seconds: float, warmup_frames: int = 10
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
    from pipelines.segmentation import fused
    from pipelines.userdata import PresetStore, SettingsStore

    app = QApplication.instance() or QApplication(["camfx-bench"])
    # The one-time compile (or cache load) of the background composite, as `camfx bench` does
    # before its clock: the window starts it in the background and runs OpenCV's path until
    # it is there. Its start-up is reported apart (``startup_s``).
    fused.available()
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
        controller = EngineController(device_probes=dict)
        applied: list[str] = []
        controller.presetApplied.connect(lambda k, *_: applied.append(k))
        window = MainWindow(
            # No device probes: they load a model per provider, which would compete with the
            # frames being measured.
            controller,
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
        started = time.monotonic()
        window.start()
        window.show()
        try:
            deadline = started + 60.0
            while key not in applied or not _preset_running(controller) or not shown:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the window did not run {preset!r} within a minute")
                _pump(app, 0.02)
            engine = controller.engine
            assert engine is not None  # _preset_running saw it
            startup_s = time.monotonic() - started
            first_processed = engine.stats.frames_processed
            while engine.stats.frames_processed < first_processed + warmup_frames:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the window did not warm {preset!r} up within a minute")
                _pump(app, 0.02)
            before = _counts(controller)
            start = time.monotonic()
            first = len(shown)
            _pump(app, seconds)
            elapsed = time.monotonic() - start
            window_shown = shown[first:]
            after = _counts(controller)
            delivered = after["output"] - before["output"]
            engine_latency = engine.stats.latency.last(delivered) if delivered else np.zeros(0)
        finally:
            window.quit()
    latencies = np.asarray([ms for _, ms in window_shown]) if window_shown else np.zeros(0)
    return {
        "preset": preset,
        "size": f"{size[0]}x{size[1]}",
        "source_fps": fps,
        "seconds": round(elapsed, 2),
        "platform": QGuiApplication.platformName(),
        "startup_s": round(startup_s, 2),
        "shown_fps": round(len(window_shown) / elapsed, 1) if elapsed > 0 else None,
        "shown_latency": _median_p95(latencies),
        "engine_fps": round(delivered / elapsed, 1) if elapsed > 0 else None,
        "engine_latency": _median_p95(engine_latency),
        "engine_dropped": after["dropped"] - before["dropped"],
        "preview_dropped": after["preview_dropped"] - before["preview_dropped"],
    }


def _preset_running(controller: Any) -> bool:
    """Whether the engine runs the controller's stages, each opened (a stage that could not
    open is left out, as in the app)."""
    engine = controller.engine
    if engine is None or engine.stages_pending:
        return False
    running = engine.pipeline.stages
    wanted = [s for s in controller.stages if s.is_open]
    return all(s.is_open for s in running) and [id(s) for s in running] == [id(s) for s in wanted]


def _counts(controller: Any) -> dict[str, int]:
    """Frames the engine handed to the preview, frames it dropped, and frames the preview's
    slot dropped (replaced before the window took them)."""
    snap = controller.snapshot()
    return {
        "output": snap.frames_output,
        "dropped": snap.dropped,
        "preview_dropped": controller.preview.slot.dropped,
    }


def _median_p95(values: np.ndarray) -> dict[str, float | None]:
    if not values.size:
        return {"median_ms": None, "p95_ms": None}
    return {
        "median_ms": round(float(np.median(values)), 1),
        "p95_ms": round(float(np.percentile(values, 95)), 1),
    }


def _pump(app: Any, seconds: float) -> None:
    """Run Qt's event loop, as the app does, for ``seconds`` (the preview's timer, paints)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def format_gui_bench(result: dict[str, Any]) -> str:
    lat, eng = result["shown_latency"], result["engine_latency"]
    return "\n".join(
        [
            f"camfx bench --gui: preset {result['preset']}, {result['size']} at "
            f"{result['source_fps']:g} fps, {result['seconds']} s on Qt's "
            f"{result['platform']} platform (the preset ran {result['startup_s']} s after "
            "the window started)",
            f"window shows:  {result['shown_fps']} fps, capture-to-screen latency median "
            f"{lat['median_ms']} ms, p95 {lat['p95_ms']} ms, "
            f"{result['preview_dropped']} frames dropped by the preview",
            f"engine:        {result['engine_fps']} fps to the preview, latency median "
            f"{eng['median_ms']} ms, p95 {eng['p95_ms']} ms, "
            f"{result['engine_dropped']} frames dropped",
        ]
    )
