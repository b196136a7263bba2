"""Built-in retouching presets. Imports nothing heavy: stage modules are declared, not
imported, so listing presets never loads OpenCV or ONNX Runtime."""

from __future__ import annotations

from pipelines.presets import (
    Preset,
    StageSpec,
    declare_stage_module,
    register_preset,
)

declare_stage_module("beauty", "pipelines.beauty.stage")
declare_stage_module("light_color", "pipelines.beauty.light")

NATURAL_BEAUTY: dict[str, object] = {
    "smoothing": 0.4,
    "under_eye": 0.3,
    "eye_brightening": 0.2,
    "teeth_whitening": 0.3,
    "lip_tint": 0.0,
    "lip_color": "#c44860",
    "eye_enlarge": 0.0,
    "face_slim": 0.0,
    "all_faces": False,
}
"""Subtle retouching: what "touch up my appearance" should look like by default."""

STUDIO_BEAUTY: dict[str, object] = {
    **NATURAL_BEAUTY,
    "under_eye": 0.0,
    "eye_brightening": 0.0,
    "teeth_whitening": 0.0,
}
"""Studio: skin smoothing only (its light comes from the light_color stage)."""

STUDIO_LIGHT: dict[str, object] = {
    "exposure": 0.6,
    "target": 0.45,
    "white_balance": 0.5,
    "warmth": 0.1,
    "adapt_s": 0.5,
}

register_preset(
    Preset(
        "natural",
        (StageSpec("face_tracker"), StageSpec("beauty", dict(NATURAL_BEAUTY))),
        "Subtle touch-up: smoother skin, brighter eyes and teeth, lighter under-eyes.",
    )
)
register_preset(
    Preset(
        "studio",
        (
            # Two faces and only-me: the blurred background keeps only you (issue 17).
            StageSpec("face_tracker", {"max_faces": 2}),
            StageSpec("segmentation", {"only_me": True}),
            StageSpec("background_blur"),
            # Light first: retouching then works on (and its skin-colour model sees) the
            # corrected picture, and its edge thresholds are tuned for normal exposure.
            StageSpec("light_color", dict(STUDIO_LIGHT)),
            StageSpec("beauty", dict(STUDIO_BEAUTY)),
        ),
        "Portrait look: blurred background, smoothed skin and a low-light lift.",
    )
)
