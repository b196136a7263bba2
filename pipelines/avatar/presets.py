"""The ``talking-head`` preset: the face tracker (for head-pose mirroring and the stand-in
switch), the audio → mouth stage and the avatar, on the shipped portrait and voice clip."""

from __future__ import annotations

from pipelines.presets import Preset, StageSpec, declare_stage_module, register_preset

DEMO_AUDIO = "asset:talking_head_speech.wav"

declare_stage_module("audio_mouth", "pipelines.audio.stage")
declare_stage_module("talking_head", "pipelines.avatar.stage")

TALKING_HEAD = register_preset(
    Preset(
        "talking-head",
        (
            StageSpec("face_tracker", {"max_faces": 1}),
            StageSpec("audio_mouth", {"input": DEMO_AUDIO, "loop": True}),
            StageSpec("talking_head", {"mode": "auto"}),
        ),
        "A portrait that speaks with the voice (microphone or file), in a corner of the video "
        "or in its place when you are away.",
    )
)
