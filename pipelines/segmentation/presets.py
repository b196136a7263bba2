"""Built-in presets for background effects. Imports nothing heavy: stage modules are declared,
not imported, so listing presets never loads OpenCV or ONNX Runtime."""

from __future__ import annotations

from pipelines.presets import (
    STAGE_MODULES,
    Preset,
    StageSpec,
    declare_stage_module,
    register_preset,
)

declare_stage_module("segmentation", "pipelines.segmentation.stage")
declare_stage_module("background_blur", "pipelines.segmentation.background")
declare_stage_module("background_replace", "pipelines.segmentation.background")
if "face_tracker" not in STAGE_MODULES:  # the tracking presets' module declares it too
    declare_stage_module("face_tracker", "pipelines.tracking.tracker")

ONLY_ME_TRACKER: dict[str, object] = {"max_faces": 2}
"""Where the background is blurred or replaced, the mask keeps only you (issue 17): the tracker
follows a second face so that a person beside you can be told apart and removed, and so that
the detector keeps scanning for you while somebody else is in the picture."""
ONLY_ME: dict[str, object] = {"only_me": True}


def tracked_segmentation() -> tuple[StageSpec, StageSpec]:
    """The face tracker and the segmentation with only-me, as every background preset uses."""
    return (
        StageSpec("face_tracker", dict(ONLY_ME_TRACKER)),
        StageSpec("segmentation", dict(ONLY_ME)),
    )


register_preset(
    Preset(
        "background-blur",
        (*tracked_segmentation(), StageSpec("background_blur")),
        "Blur the room behind you like a portrait lens.",
    )
)
register_preset(
    Preset(
        "privacy-blur",
        (
            *tracked_segmentation(),
            StageSpec("background_blur", {"strength": 1.0, "desaturate": 1.0}),
        ),
        "Heavy, colourless blur: nothing behind you can be recognised.",
    )
)
register_preset(
    Preset(
        "background-color",
        (*tracked_segmentation(), StageSpec("background_replace", {"mode": "color"})),
        "A solid colour behind you.",
    )
)
