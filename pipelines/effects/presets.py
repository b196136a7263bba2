"""Built-in presets of the face effects. Imports nothing heavy: stage modules are declared, not
imported, so listing presets never loads OpenCV or ONNX Runtime."""

from __future__ import annotations

from pipelines.presets import (
    Preset,
    StageSpec,
    declare_stage_module,
    register_preset,
)

declare_stage_module("key_light", "pipelines.effects.key_light")
declare_stage_module("eye_contact", "pipelines.effects.eye_contact")

register_preset(
    Preset(
        "presenter",
        (
            StageSpec("face_tracker", {"max_faces": 2}),
            StageSpec("segmentation", {"only_me": True}),
            # Eyes first, on the camera's own pixels; the light then falls on the moved irises.
            StageSpec("eye_contact"),
            StageSpec("background_blur"),
            StageSpec("key_light"),
        ),
        "For talks and calls: eye contact while you read, a soft key light, only you in focus.",
    )
)
