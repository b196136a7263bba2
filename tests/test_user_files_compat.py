"""Users' files written by camfx before the settings schema load unchanged, or migrated.

``tests/data/userfiles`` holds presets and a ``settings.json`` written by that version's own
stores (see its README), and ``expected.json`` what that version made of them. Stage ids were
then spelled two ways (``talking-head``, ``audio-mouth`` beside ``background_blur``); today
there is one spelling and the old one is migrated.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipelines import migrations
from pipelines.errors import SettingsError
from pipelines.migrations import FileKind, migrate, stage_id
from pipelines.presets import (
    PRESET_SCHEMA_VERSION,
    STAGE_MODULES,
    Preset,
    StageSpec,
    build_stages,
    known_stage_id,
)
from pipelines.stage import STAGES, make_stage
from pipelines.userdata import SETTINGS_SCHEMA_VERSION, PresetStore, SettingsStore

DATA = Path(__file__).parent / "data" / "userfiles"
OLD_SPELLING = {"talking-head": "talking_head", "audio-mouth": "audio_mouth"}
"""Written out here, not taken from the code under test."""
CHANGED_DEFAULTS = {
    ("eye_contact", "vertical"): 1.0,
    ("eye_contact", "remeasure_frames"): 16,
    ("segmentation", "cadence"): 2,
    ("segmentation", "require_face"): False,
    ("face_tracker", "mesh_interval"): 3,
    ("face_tracker", "search_hold"): 0.5,
    ("face_tracker", "search_period"): 0.1,
    ("face_tracker", "mesh_graph"): "blocked",
    ("background_blur", "without_mask"): "pass",
    ("background_replace", "without_mask"): "pass",
}
"""Defaults changed on purpose since these files were written, for settings the files leave out:
eye contact now corrects a look down too (issue 17), so a preset that never set ``vertical``
gets the new default, as a new preset would. Settings newer than the files take their defaults:
``remeasure_frames`` (how often the iris model runs on a still eye, issue 17), segmentation's
``cadence`` (the network skipped on frames the last network frame explains, issue 15), its
``require_face`` (privacy-blur's fail-closed mask), the tracker's ``mesh_interval`` (landmarks
carried between mesh runs, issue 15) and its ``search_hold`` and ``search_period`` (the
detector's rate while nobody is in view, issue 15), its ``mesh_graph`` (the blocked-layout
conversion of the mesh, issue 15), and the background effects' ``without_mask`` (what a frame
with no person mask gets, qa64)."""


def with_changed_defaults(stage: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    settings = dict(stage["settings"])
    for (name, key), value in CHANGED_DEFAULTS.items():
        if stage["stage"] == name and key not in written:
            settings[key] = value
    return {**stage, "settings": settings}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(DATA, tmp_path / "camfx", ignore=shutil.ignore_patterns("*.md", "expected*"))
    return tmp_path / "camfx"


ADDED_SETTINGS: dict[str, Any] = {
    "preset_hides_room": False,
    "splitter_state": "",
    "panels_open": {},
}
"""``AppSettings`` fields added after the files above were written, with their defaults."""


def expected() -> dict[str, Any]:
    return json.loads((DATA / "expected.json").read_text())


def plain(value: Any) -> Any:
    """Tuples as lists, as JSON has them."""
    return json.loads(json.dumps(value))


def test_old_presets_load_with_the_same_settings(folder: Path) -> None:
    before = {p.name: p.read_bytes() for p in (folder / "presets").iterdir()}
    store = PresetStore(folder / "presets")
    assert store.load() == []
    want = expected()["presets"]
    assert sorted(store.names()) == sorted(want)
    for name, stages in want.items():
        preset = store.get(name)
        got = [
            {
                "stage": spec.stage,
                "settings": STAGES.get(spec.stage).settings_type.from_dict(spec.settings).to_dict(),
            }
            for spec in preset.stages
        ]
        renamed = [
            with_changed_defaults(
                {**s, "stage": OLD_SPELLING.get(s["stage"], s["stage"])}, spec.settings
            )
            for s, spec in zip(stages, preset.stages, strict=True)
        ]
        assert plain(got) == renamed, name
    # Migrated in memory only: the user's files are as they were, none moved aside.
    assert {p.name: p.read_bytes() for p in (folder / "presets").iterdir()} == before


def test_a_migrated_preset_is_saved_in_the_new_spelling(folder: Path) -> None:
    store = PresetStore(folder / "presets")
    store.load()
    store.save(store.get("Talking me"), overwrite=True)
    data = json.loads((folder / "presets" / "talking-me.json").read_text())
    assert data["schema"] == PRESET_SCHEMA_VERSION == 2
    assert [s["stage"] for s in data["stages"]] == ["face_tracker", "audio_mouth", "talking_head"]
    again = PresetStore(folder / "presets")
    assert again.load() == [] and again.get("Talking me") == store.get("Talking me")


def test_old_settings_load_the_same_with_the_stage_ids_migrated(folder: Path) -> None:
    path = folder / "settings.json"
    text = path.read_text()
    store = SettingsStore(path)
    settings = store.load()
    assert store.problems == []
    want = expected()["settings"]
    want["preset_overrides"] = {
        preset: {OLD_SPELLING.get(stage, stage): edits for stage, edits in stages.items()}
        for preset, stages in want["preset_overrides"].items()
    }
    # Settings added since that version load at their defaults.
    want |= {name: default for name, default in ADDED_SETTINGS.items() if name not in want}
    assert plain(dataclasses.asdict(settings)) == want
    assert path.read_text() == text  # untouched until saved
    store.save(settings)
    data = json.loads(path.read_text())
    assert data["schema"] == SETTINGS_SCHEMA_VERSION == 2
    assert data["future_key"] == {"kept": True}
    assert set(data["preset_overrides"]["builtin:talking-head"]) == {"talking_head", "audio_mouth"}
    assert SettingsStore(path).load() == settings


def test_the_old_stage_spelling_is_still_accepted_where_a_stage_is_named() -> None:
    assert known_stage_id("talking-head") == "talking_head"
    assert known_stage_id("background-blur") == "background_blur"
    assert known_stage_id("beauty") == known_stage_id("beauty") == "beauty"
    assert stage_id("gui-tint", {"gui-tint"}) == "gui-tint"  # a registered id is kept
    assert stage_id("no-such", {"no_sucho"}) == "no-such"
    stage = make_stage("audio-mouth", {"input": "none"})
    assert stage.name == "audio_mouth"
    old = Preset("x", (StageSpec("talking-head", {"corner": "top-left"}),))
    assert [s.name for s in build_stages(old)] == ["talking_head"]
    # Every shipped stage id is in the one spelling.
    assert len(STAGE_MODULES) >= 12
    assert [n for n in STAGE_MODULES if n != n.lower().replace("-", "_")] == []


def test_a_failing_migration_leaves_the_data_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: dict[str, Any]) -> dict[str, Any]:
        data["stages"] = "half-done"
        raise KeyError("boom")

    step = migrations.MIGRATORS[(FileKind.PRESET, 1)]
    monkeypatch.setitem(
        migrations.MIGRATORS, (FileKind.PRESET, 1), dataclasses.replace(step, run=broken)
    )
    data = {"schema": 1, "stages": [{"stage": "talking-head", "settings": {}}]}
    with pytest.raises(SettingsError, match=r"could not upgrade it from preset schema 1 to 2"):
        migrate(FileKind.PRESET, data, 1, 2)
    assert data == {"schema": 1, "stages": [{"stage": "talking-head", "settings": {}}]}


def test_migrators_go_one_version_up_and_are_registered_once() -> None:
    with pytest.raises(ValueError, match="one version up"):
        migrations.migrator(FileKind.PRESET, 1, 3)
    with pytest.raises(ValueError, match="exists already"):
        migrations.migrator(FileKind.PRESET, 0, 1)(lambda d: d)
