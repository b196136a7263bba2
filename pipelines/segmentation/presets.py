"""Built-in presets for background effects. Imports nothing heavy: stage modules are declared,
not imported, so listing presets never loads OpenCV or ONNX Runtime."""

from __future__ import annotations

from pipelines.presets import (
    Preset,
    StageSpec,
    declare_stage_module,
    register_preset,
)

declare_stage_module("segmentation", "pipelines.segmentation.stage")
declare_stage_module("background_blur", "pipelines.segmentation.background")
declare_stage_module("background_replace", "pipelines.segmentation.background")
declare_stage_module("face_boxes", "pipelines.tracking.boxes")

ONLY_ME_BOXES: dict[str, object] = {}
"""Where the background is blurred or replaced, the mask keeps only you (issue 17). Only-me
needs where the faces are, not their meshes: the face_boxes stage finds them with the detector
every 0.25 s, at about a fifth of the CPU of the two-face tracker these presets ran before
(1.5 against 7.2-8.0 ms a frame at 720p; with it background-blur fell from ~165 to ~65 fps).
The studio and presenter presets keep their tracker: their effects need your mesh."""
ONLY_ME: dict[str, object] = {"only_me": True}


FAIL_CLOSED: dict[str, object] = {"require_face": True}
"""privacy-blur keeps a person only where a face found them: with nobody in view the network
took a cup and saucer for a person and kept 60 % of the room sharp and in colour."""


def tracked_segmentation(**segmentation: object) -> tuple[StageSpec, StageSpec]:
    """The face boxes and the segmentation with only-me, as every background preset uses
    (``segmentation``: more of that stage's settings)."""
    return (
        StageSpec("face_boxes", dict(ONLY_ME_BOXES)),
        StageSpec("segmentation", {**ONLY_ME, **segmentation}),
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
            *tracked_segmentation(**FAIL_CLOSED),
            StageSpec("background_blur", {"strength": 1.0, "desaturate": 1.0}),
        ),
        "Heavy, colourless blur: nothing behind you can be recognised.",
        hides_room=True,
    )
)
register_preset(
    Preset(
        "background-color",
        (*tracked_segmentation(), StageSpec("background_replace", {"mode": "color"})),
        "A solid colour behind you.",
    )
)
