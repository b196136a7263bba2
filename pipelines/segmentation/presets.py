"""Built-in presets for background effects. Imports nothing heavy: stage modules are declared,
not imported, so listing presets never loads OpenCV or ONNX Runtime."""

from __future__ import annotations

from pipelines.presets import Preset, StageSpec, declare_stage_module, register_preset

declare_stage_module("segmentation", "pipelines.segmentation.stage")
declare_stage_module("background_blur", "pipelines.segmentation.background")
declare_stage_module("background_replace", "pipelines.segmentation.background")

register_preset(
    Preset(
        "background-blur",
        (StageSpec("segmentation"), StageSpec("background_blur")),
        "Blur the room behind you like a portrait lens.",
    )
)
register_preset(
    Preset(
        "privacy-blur",
        (
            StageSpec("segmentation"),
            StageSpec("background_blur", {"strength": 1.0, "desaturate": 1.0}),
        ),
        "Heavy, colourless blur: nothing behind you can be recognised.",
    )
)
register_preset(
    Preset(
        "background-color",
        (StageSpec("segmentation"), StageSpec("background_replace", {"mode": "color"})),
        "A solid colour behind you.",
    )
)
