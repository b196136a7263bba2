"""Versioned user files, upgraded step by step by ``@migrator(kind, from, to)`` functions.

Each user file (a preset, ``settings.json``) carries a ``schema`` number. Reading an older one
runs the registered migrators from its number up to the current one, in memory, on a copy: a
step that fails leaves the data as it was (napari's ``settings/_migrations.py`` does the same
rollback) and the caller treats the file as unreadable, which keeps it aside. The file on disk
is rewritten only when the user next saves it.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from pipelines.errors import SettingsError


class FileKind(enum.StrEnum):
    PRESET = "preset"
    SETTINGS = "settings"


Step = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Migrator:
    kind: FileKind
    from_version: int
    to_version: int
    run: Step


MIGRATORS: dict[tuple[FileKind, int], Migrator] = {}
"""(kind, from version) → the step to the next version."""


def migrator(kind: FileKind, from_version: int, to_version: int) -> Callable[[Step], Step]:
    """Register ``step`` as the upgrade of ``kind`` files from ``from_version`` to the next."""
    if to_version != from_version + 1:
        raise ValueError(f"a {kind} migrator goes one version up, not {from_version}→{to_version}")

    def register(step: Step) -> Step:
        key = (kind, from_version)
        if key in MIGRATORS:
            raise ValueError(f"a {kind} migrator from version {from_version} exists already")
        MIGRATORS[key] = Migrator(kind, from_version, to_version, step)
        return step

    return register


def migrate(kind: FileKind, data: dict[str, Any], version: int, current: int) -> dict[str, Any]:
    """``data`` (of schema ``version``) upgraded to ``current``; ``data`` itself is untouched."""
    out = copy.deepcopy(data)
    while version < current:
        step = MIGRATORS.get((kind, version))
        if step is None:
            raise SettingsError(f"no migration of {kind} files from schema {version}")
        try:
            out = step.run(out)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SettingsError(
                f"could not upgrade it from {kind} schema {version} to {step.to_version} "
                f"({type(exc).__name__}: {exc})"
            ) from None
        version = step.to_version
        out["schema"] = version
    return out


# ------------------------------------------------------------------------------ stage ids
def stage_id(name: str, known: Collection[str]) -> str:
    """The one spelling of a stage id: snake_case (``background_blur``). Up to preset and
    settings schema 1, ``talking-head`` and ``audio-mouth`` had hyphens, and a hand-written
    ``background-blur`` (the preset's name) meant the stage: a hyphenated spelling of a
    ``known`` id is that id. Anything else is returned as it is."""
    if name in known:
        return name
    snake = name.replace("-", "_")
    return snake if snake in known else name


def _shipped_stage_id(name: str) -> str:
    from pipelines.presets import known_stage_id  # presets imports this module

    return known_stage_id(name)


# ------------------------------------------------------------------------------ presets
@migrator(FileKind.PRESET, 0, 1)
def _preset_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Before schema 1 (pre-release builds), ``stages`` was a mapping stage → settings and
    the file had no ``schema`` key."""
    stages = data.get("stages", [])
    if isinstance(stages, dict):
        data["stages"] = [{"stage": k, "settings": v} for k, v in stages.items()]
    return data


@migrator(FileKind.PRESET, 1, 2)
def _preset_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """One spelling of stage ids: ``talking-head`` → ``talking_head`` (:func:`stage_id`)."""
    for item in data.get("stages", []):
        if isinstance(item, dict) and isinstance(item.get("stage"), str):
            item["stage"] = _shipped_stage_id(item["stage"])
    return data


# ------------------------------------------------------------------------------ settings
@migrator(FileKind.SETTINGS, 1, 2)
def _settings_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """One spelling of stage ids in the unsaved live edits (``preset_overrides``)."""
    overrides = data.get("preset_overrides")
    if isinstance(overrides, dict):
        for preset, stages in overrides.items():
            if isinstance(stages, dict):
                overrides[preset] = {
                    _shipped_stage_id(s) if isinstance(s, str) else s: v for s, v in stages.items()
                }
    return data
