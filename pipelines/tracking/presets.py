"""Tracking stages and presets, declared without importing the tracker (no models at import).

``pipelines/presets.py`` imports this module so the presets are listed by ``camfx --help``;
the stage modules load only when a preset that uses them is built.
"""

from __future__ import annotations

from pipelines.presets import Preset, StageSpec, declare_stage_module, register_preset

declare_stage_module("face_tracker", "pipelines.tracking.tracker")
declare_stage_module("auto_frame", "pipelines.tracking.autoframe")
declare_stage_module("face_overlay", "pipelines.tracking.overlay")

register_preset(
    Preset(
        "track",
        (StageSpec("face_tracker"),),
        "Face tracking only (landmarks, head pose, signals for scripts and later stages).",
    )
)
register_preset(
    Preset(
        "track-debug",
        (StageSpec("face_tracker"), StageSpec("face_overlay")),
        "Face tracking with the debug overlay: mesh, regions, pose axes, ids and numbers.",
    )
)
register_preset(
    Preset(
        "auto-frame",
        (StageSpec("face_tracker", {"max_faces": 1}), StageSpec("auto_frame")),
        "A virtual camera crop that follows your face (Center Stage style).",
    )
)
