"""The status bar: frame rate, latency, drops, and which models run where."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from app.gui.plumbing import CAMERA_LOST
from app.state.model import models_summary, running_model_names
from pipelines.stats import KeepUpWatch

if TYPE_CHECKING:
    from app.gui.window import MainWindow


def update_status(w: MainWindow) -> None:
    snap = w.controller.snapshot()
    if snap is not None:
        w.fps_label.setText(f"{snap.fps:.1f} fps")
        lat = snap.latency_ms
        w.latency_label.setText("latency —" if math.isnan(lat) else f"latency {lat:.0f} ms")
        w.drops_label.setText(f"dropped {snap.dropped}")
        w.drops_label.setToolTip(
            f"{snap.dropped_before_processing} before processing (processing slower than "
            f"the source), {snap.dropped_before_output} before outputs"
        )
        errors = sum(snap.errors.values())
        if errors:
            w.drops_label.setText(f"dropped {snap.dropped} · errors {errors}")
    text, tooltip = provider_text(w)
    w.provider_label.setText(f"inference: {text}")
    w.provider_label.setToolTip(tooltip)
    lost = w.state.source_is_camera and w.controller.camera_state() == CAMERA_LOST
    if lost:
        # The engine's rate counts the "Camera disconnected" cards, not the camera's frames
        # (counted, so the figure is right again at once when the camera comes back).
        w.fps_label.setText("no frames")
    if lost != w.camera_lost:
        w.show_camera_lost(lost)
    if snap is not None and not lost:
        show_keep_up(w, snap.fps)
    show_microphone(w)


def show_microphone(w: MainWindow) -> None:
    """The Microphone row says while the talking head's microphone gives no sound (the device
    list may still name it), and when it is back, the row is the list's again and the bar
    that said it was gone goes."""
    from pipelines.audio.stage import MIC_SILENT_SAID, STAGE_NAME, AudioMouth

    engine = w.controller.engine
    stages = engine.pipeline.stages if engine is not None else []
    silent = next((s.silent_microphone for s in stages if isinstance(s, AudioMouth)), None)
    if silent == w.silent_microphone:
        return
    w.silent_microphone = silent
    w.show_microphone_row()
    bar = w.messages.bars.get(f"stage-{STAGE_NAME}")
    if silent is None and bar is not None and MIC_SILENT_SAID in bar.text:
        w.messages.clear(f"stage-{STAGE_NAME}")


KEEP_UP_BAR = "keep-up"


def source_fps(w: MainWindow) -> float:
    """The rate the window's source delivers at: a video file its own (a 15 fps clip is not
    behind at 15), a camera the rate it gave, the demo and a picture the window's."""
    source = w.controller.source
    inner = source.inner if source is not None else None
    return float(inner.actual_fps) if inner is not None else float(w.controller.fps)


def show_keep_up(w: MainWindow, fps: float, now: float | None = None) -> None:
    """A bar while the frames come out well under the source's rate (the CLI's line,
    :class:`~pipelines.stats.KeepUpWatch`); gone when they are back."""
    target = source_fps(w)
    if w.keep_up.target_fps != target:
        w.keep_up = KeepUpWatch(target)
        w.messages.clear(KEEP_UP_BAR)
    if w.keep_up.news(fps, time.monotonic() if now is None else now) is None:
        return
    if w.keep_up.behind:
        w.messages.show_message(
            KEEP_UP_BAR,
            f"Frames come out at {fps:.0f} fps of the source's {target:g}: this computer is "
            "too busy for the preset (other programs, or too heavy a preset for it). A "
            "lighter preset, a smaller size or closing the busy programs helps.",
            "warning",
        )
    else:
        w.messages.clear(KEEP_UP_BAR)


def provider_text(w: MainWindow) -> tuple[str, str]:
    """How many models the running stages use on which provider, and the details (the
    models of presets that ran before stay loaded, and are not counted)."""
    try:
        from pipelines.inference.session import all_reports

        engine = w.controller.engine
        in_use = running_model_names(engine.pipeline.stages) if engine is not None else set()
        reports = [r for name, r in all_reports().items() if name in in_use]
    except Exception:
        return "—", ""
    return models_summary(reports, running=bool(w.state.stage_settings))
