"""Presets: named, ordered lists of stages with their settings.

Built-in presets are registered here as plain data; the stage modules they name are imported
lazily by :func:`build_stages`, so ``camfx --help`` never loads a model. User presets (files
in the config folder) use the same shape: ``{"schema": 1, "stages": [{"stage": NAME,
"settings": {...}}, ...]}``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from pipelines import schema
from pipelines.errors import SettingsError
from pipelines.migrations import stage_id
from pipelines.registry import Registry
from pipelines.stage import STAGES, Stage, StageSettings, make_stage, stage_settings_type

PRESET_SCHEMA_VERSION = 2
"""2: stage ids in one spelling (``talking_head``); see :mod:`pipelines.migrations`."""

# Stage name → module that registers it. Importing on demand keeps start-up instant.
STAGE_MODULES: dict[str, str] = {}


def declare_stage_module(stage_name: str, module: str) -> None:
    STAGE_MODULES[stage_name] = module


@dataclass(frozen=True)
class StageSpec:
    stage: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    name: str
    stages: tuple[StageSpec, ...] = ()
    description: str = ""
    hides_room: bool = False
    """Picked to hide the room (privacy-blur, and a user preset copied from it): switched to
    from a preset that does not, the window's outputs show a card at once until its stages
    run (~2 s to open them) instead of the room as the preset before showed it."""
    unknown_keys: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """Keys of its file this camfx does not know (a newer one may have written them): ignored,
    and written back when the preset is saved, as ``settings.json`` keeps its unknown keys."""
    unknown_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    """Per stage, the settings of its file that stage does not know: ignored, written back."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self.unknown_keys,
            "schema": PRESET_SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
        }
        if self.hides_room:  # written only where set: other presets' files stay as they were
            data["hides_room"] = True
        data["stages"] = [
            {"stage": s.stage, "settings": {**self.unknown_settings.get(s.stage, {}), **s.settings}}
            for s in self.stages
        ]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preset:
        """Parse preset data (of the current schema) checked against :class:`PresetFile`; each
        stage's settings are checked by that stage's own schema when it is built."""
        checked = schema.check_value(PresetFile, data, "preset")
        specs = tuple(StageSpec(s.stage, s.settings) for s in checked.stages)
        return cls(checked.name, specs, checked.description, checked.hides_room)


class StageEntry(msgspec.Struct):
    stage: str
    settings: dict[str, Any] = {}


class PresetFile(msgspec.Struct, kw_only=True):
    """The shape of a preset file; unknown keys are ignored (a newer camfx may add some), and
    a missing one takes its default (files written before it was added), but for ``stages``,
    which every preset file has had: a file without it (``"stage"`` misspelled) ran with no
    effects at all, silently, a copy of privacy-blur showing the room."""

    schema: int = PRESET_SCHEMA_VERSION
    name: str = ""
    description: str = ""
    hides_room: bool = False
    stages: list[StageEntry]


PRESETS: Registry[Preset] = Registry("preset")


def register_preset(preset: Preset) -> Preset:
    PRESETS.add(preset.name, preset)
    return preset


register_preset(Preset("off", (), "No effects: the camera as it is."))


def known_stage_id(name: str) -> str:
    """``name`` in the one spelling of stage ids (``talking-head`` → ``talking_head``)."""
    return stage_id(name, {*STAGE_MODULES, *STAGES.names()})


def ensure_stage_registered(name: str) -> None:
    name = known_stage_id(name)
    if name not in STAGES and name in STAGE_MODULES:
        importlib.import_module(STAGE_MODULES[name])
    if name not in STAGES:
        raise SettingsError(f"unknown stage {name!r} in preset")


def hiding_the_room(preset: Preset, settings_type: type[StageSettings]) -> Mapping[str, Any]:
    """The settings a stage of ``settings_type`` always runs with in ``preset``: its
    :attr:`StageSettings.HIDING_THE_ROOM` where the preset hides the room, else none. The one
    rule for a preset's file (:func:`build_stages`) and the window's edits
    (:func:`held_for_hiding`)."""
    return settings_type.HIDING_THE_ROOM if preset.hides_room else {}


def held_for_hiding(preset: Preset, settings: StageSettings) -> StageSettings:
    """``settings`` with what its stage always runs with in ``preset`` (:func:`hiding_the_room`),
    whoever asked otherwise: an edit in the window (unticking privacy-blur's blur or
    segmentation sent the room sharp, and the edit was kept for the next start: qa62)."""
    held = hiding_the_room(preset, type(settings))
    changed = {k: v for k, v in held.items() if getattr(settings, k) != v}
    return settings.replace(**changed) if changed else settings


def build_stages(preset: Preset) -> list[Stage[Any]]:
    """Instantiate (not open) the stages of ``preset``, validating every setting."""
    stages = []
    for spec in preset.stages:
        ensure_stage_registered(spec.stage)
        settings = {**spec.settings, **hiding_the_room(preset, stage_settings_type(spec.stage))}
        stages.append(make_stage(spec.stage, settings))
    return stages


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        known = ", ".join(PRESETS.names())
        raise SettingsError(f"unknown preset {name!r}; built-in presets: {known}")
    return PRESETS.get(name)


# Each feature area registers its built-in presets in a small module that imports nothing heavy
# (only this module), so listing presets never loads OpenCV or ONNX Runtime. They import this
# module, which is fully defined by now, so importing them here is not circular.
# Importing any one of them imports this module, and so all of them, in this order: a later
# one's presets use the stages an earlier one declares (face_tracker, segmentation, ...).
PRESET_MODULES = (
    "pipelines.tracking.presets",
    "pipelines.segmentation.presets",
    "pipelines.beauty.presets",
    "pipelines.avatar.presets",
    "pipelines.effects.presets",
)
for _module in PRESET_MODULES:
    importlib.import_module(_module)
