"""User presets and app settings: round-trips, migrations, atomic writes, broken files."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Annotated

import pytest
from msgspec import Meta

from pipelines import userdata
from pipelines.errors import SettingsError
from pipelines.migrations import MIGRATORS, FileKind
from pipelines.presets import PRESET_SCHEMA_VERSION, PRESETS, Preset, StageSpec
from pipelines.stage import STAGES, Stage, StageSettings, register_stage
from pipelines.userdata import (
    AppSettings,
    PresetStore,
    SettingsStore,
    UnavailablePreset,
    UserDataError,
)


@dataclasses.dataclass(frozen=True)
class GainSettings(StageSettings):
    gain: Annotated[float, Meta(ge=0.0, le=4.0)] = 1.0
    passes: Annotated[int, Meta(ge=1, le=5)] = 1
    label: str = "x"


if "ud-gain" not in STAGES:

    @register_stage
    class GainStage(Stage[GainSettings]):
        name = "ud-gain"
        settings_type = GainSettings


def gain(**settings: object) -> StageSpec:
    return StageSpec("ud-gain", dict(settings))


@pytest.fixture
def store(tmp_path: Path) -> PresetStore:
    return PresetStore(tmp_path / "presets")


def test_config_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(tmp_path / "cfg"))
    assert userdata.config_dir() == tmp_path / "cfg"
    monkeypatch.delenv("CAMFX_CONFIG_DIR")
    assert userdata.config_dir().name.lower() == "camfx"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(tmp_path / "cfg"))
    assert PresetStore().folder == tmp_path / "cfg" / "presets"
    assert SettingsStore().path == tmp_path / "cfg" / "settings.json"


def test_preset_round_trip_is_readable_json(store: PresetStore) -> None:
    made = store.create("My look", [gain(gain=2.5, passes=3)], "warm")
    path = store.path_of("My look")
    assert path.name == "my-look.json"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk == {
        "schema": PRESET_SCHEMA_VERSION,
        "name": "My look",
        "description": "warm",
        "stages": [{"stage": "ud-gain", "settings": {"gain": 2.5, "passes": 3}}],
    }
    assert path.read_text(encoding="utf-8").count("\n") > 5  # indented, for people
    again = PresetStore(store.folder)
    assert again.load() == []
    assert again.get("my look") == made  # names are case-insensitive
    assert again.names() == ["My look"]


def test_create_rename_duplicate_delete(store: PresetStore) -> None:
    store.create("A", [gain(gain=0.5)])
    with pytest.raises(SettingsError, match="already exists"):
        store.create("a", [])
    store.rename("A", "Bright")
    assert store.names() == ["Bright"]
    assert not (store.folder / "a.json").exists()
    assert (store.folder / "bright.json").exists()
    copy = store.duplicate(store.get("Bright"))
    assert copy.name == "Bright copy"
    assert copy.stages == store.get("Bright").stages
    assert store.duplicate(store.get("Bright")).name == "Bright copy (2)"
    with pytest.raises(SettingsError, match="already exists"):
        store.duplicate(store.get("Bright"), "bright")
    store.delete("Bright copy")
    assert store.names() == ["Bright", "Bright copy (2)"]
    with pytest.raises(SettingsError):
        store.delete("nope")
    # Renaming only the case keeps the same file.
    store.rename("Bright", "BRIGHT")
    assert store.path_of("BRIGHT").name == "bright.json"
    fresh = PresetStore(store.folder)
    assert fresh.names() == ["BRIGHT", "Bright copy (2)"]


def test_duplicate_of_builtin(store: PresetStore) -> None:
    off = PRESETS.get("off")
    copy = store.duplicate(off)
    assert copy.name == "Off copy" and copy.stages == ()


def test_a_copy_of_privacy_blur_hides_the_room_too(store: PresetStore) -> None:
    """The preset's own attribute (the window's immediate privacy card follows it): kept by a
    copy and on disk, false for a file written before the attribute existed, and a value that
    is no true/false refused by name."""
    assert PRESETS.get("privacy-blur").hides_room and not PRESETS.get("studio").hides_room
    copy = store.duplicate(PRESETS.get("privacy-blur"), "Hide my room")
    assert json.loads(store.path_of("Hide my room").read_text())["hides_room"] is True
    assert PresetStore(store.folder).get("Hide my room").hides_room
    store.create("Plain", [gain(gain=2.0)])
    assert "hides_room" not in json.loads(store.path_of("Plain").read_text())
    old = {"schema": 1, "name": "Old", "stages": [{"stage": "ud-gain", "settings": {}}]}
    (store.folder / "old.json").write_text(json.dumps(old))
    hiding = [{"stage": "segmentation", "settings": {}}, {"stage": "background_blur"}]
    marked = {**old, "name": "Marked", "hides_room": True, "stages": hiding}
    (store.folder / "marked.json").write_text(json.dumps(marked))
    odd = {**old, "name": "Odd", "hides_room": "yes"}
    (store.folder / "odd.json").write_text(json.dumps(odd))
    # Marked, with nothing that hides the room: it ran with the room in view, unsaid.
    bare = {**old, "name": "Bare", "hides_room": True}
    (store.folder / "bare.json").write_text(json.dumps(bare))
    fresh = PresetStore(store.folder)
    problems = {problem.path.name: problem.message for problem in fresh.load()}
    assert set(problems) == {"odd.json", "bare.json"}, problems
    assert "hides_room" in problems["odd.json"], problems
    assert "background_blur or background_replace after segmentation" in problems["bare.json"]
    assert "Bare" not in fresh.names()
    assert not fresh.get("Old").hides_room and not fresh.get("Plain").hides_room
    assert fresh.get("Marked").hides_room and fresh.get("Hide my room") == copy


def test_names_are_checked(store: PresetStore) -> None:
    for bad in ["", "   ", "a\tb\x01", "x" * 81]:
        with pytest.raises(SettingsError):
            store.create(bad)
    assert store.create("  spaced   out ").name == "spaced out"
    # Names that slugify alike get distinct files.
    store.create("spaced-out")
    names = sorted(p.name for p in store.folder.iterdir())
    assert names == ["spaced-out-2.json", "spaced-out.json"]


def test_save_validates_bounds_and_types(store: PresetStore) -> None:
    with pytest.raises(SettingsError, match="out of range"):
        store.create("x", [gain(gain=9.0)])
    with pytest.raises(SettingsError, match="must be a number"):
        store.create("x", [gain(gain="loud")])
    with pytest.raises(SettingsError, match="unknown setting"):
        store.create("x", [gain(volume=1)])
    with pytest.raises(UnavailablePreset, match="does not have"):
        store.create("x", [StageSpec("no-such-stage", {})])
    assert not store.folder.exists() or list(store.folder.iterdir()) == []


def test_import_export(store: PresetStore, tmp_path: Path) -> None:
    made = store.create("Mine", [gain(gain=3.0)])
    out = tmp_path / "exported.json"
    store.export(made, out)
    assert json.loads(out.read_text())["name"] == "Mine"
    # Importing gives a unique name and leaves the source file alone.
    imported = store.import_file(out)
    assert imported.name == "Mine (2)"
    assert imported.stages == made.stages
    assert out.exists()
    # A file with no name takes its file name.
    nameless = tmp_path / "Evening.json"
    nameless.write_text(json.dumps({"schema": 1, "stages": []}))
    assert store.import_file(nameless).name == "Evening"
    # A bad file to import is refused with the reason and never moved (it is not ours).
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(SettingsError, match="not valid JSON"):
        store.import_file(bad)
    assert bad.read_text() == "{nope"


def test_broken_files_are_moved_aside_not_lost(store: PresetStore) -> None:
    store.create("Good", [gain(gain=2.0)])
    store.folder.mkdir(exist_ok=True)
    texts = {
        "notjson.json": "{ this is not json",
        "wrongtype.json": json.dumps({"schema": 1, "name": "W", "stages": "blur"}),
        "array.json": "[1, 2]",
        "binary.json": "",
    }
    for name, text in texts.items():
        (store.folder / name).write_text(text)
    (store.folder / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    # A value out of range is not a broken file: that setting runs at its default, with a
    # warning, and the file stays (tests/test_user_presets_cli.py).
    out_of_range = {
        "schema": 1,
        "name": "R",
        "stages": [{"stage": "ud-gain", "settings": {"gain": 99}}],
    }
    (store.folder / "outofrange.json").write_text(json.dumps(out_of_range))
    fresh = PresetStore(store.folder)
    problems = fresh.load()
    assert fresh.names() == ["Good", "R"]
    kept = [p for p in problems if p.path.name == "outofrange.json"]
    assert len(kept) == 1 and kept[0].moved_to is None and "out of range" in str(kept[0])
    problems = [p for p in problems if p not in kept]
    assert len(problems) == len(texts)
    for problem in problems:
        assert problem.moved_to is not None and problem.moved_to.exists()
        assert ".broken-" in problem.moved_to.name
        assert "moved aside" in str(problem)
        original = texts[problem.path.name]
        if problem.path.name != "binary.json":
            assert problem.moved_to.read_text() == original  # byte for byte
        assert not problem.path.exists()
    messages = " | ".join(str(p) for p in problems)
    assert "not valid JSON (line 1" in messages
    # Loading again finds nothing more to complain about and never touches the kept files.
    assert [p.path.name for p in PresetStore(store.folder).load()] == ["outofrange.json"]
    assert len(list(store.folder.glob("*.broken-*"))) == len(texts)


def test_presets_from_a_newer_camfx_or_missing_stage_are_left_in_place(
    store: PresetStore,
) -> None:
    store.folder.mkdir(parents=True)
    newer = store.folder / "future.json"
    newer.write_text(json.dumps({"schema": PRESET_SCHEMA_VERSION + 1, "name": "F", "stages": []}))
    missing = store.folder / "needs.json"
    missing.write_text(json.dumps({"schema": 1, "name": "N", "stages": [{"stage": "warp-9"}]}))
    problems = store.load()
    assert store.names() == []
    assert {p.path.name for p in problems} == {"future.json", "needs.json"}
    assert all(p.moved_to is None for p in problems)
    assert "newer camfx" in " ".join(str(p) for p in problems)
    assert newer.exists() and missing.exists()


def test_duplicate_names_on_disk_are_reported(store: PresetStore) -> None:
    store.folder.mkdir(parents=True)
    for stem in ("a", "b"):
        (store.folder / f"{stem}.json").write_text(json.dumps({"name": "Same", "stages": []}))
    problems = store.load()
    assert store.names() == ["Same"]
    assert len(problems) == 1 and "same name" in problems[0].message
    assert (store.folder / "b.json").exists()


def test_migration_from_schema_0(store: PresetStore) -> None:
    store.folder.mkdir(parents=True)
    old = store.folder / "old.json"
    old_text = json.dumps({"name": "Old", "stages": {"ud-gain": {"gain": 1.5}}})
    old.write_text(old_text)
    assert store.load() == []
    assert store.get("Old").stages == (gain(gain=1.5),)
    assert old.read_text() == old_text  # upgraded in memory; rewritten only when saved
    store.save(store.get("Old"), overwrite=True)
    assert json.loads(old.read_text())["schema"] == PRESET_SCHEMA_VERSION


def test_migrations_cover_every_older_schema() -> None:
    for version in range(PRESET_SCHEMA_VERSION):
        assert (FileKind.PRESET, version) in MIGRATORS
    for version in range(1, userdata.SETTINGS_SCHEMA_VERSION):
        assert (FileKind.SETTINGS, version) in MIGRATORS
    for bad in ({"schema": "1", "stages": []}, {"schema": -1}, {"schema": True}):
        with pytest.raises(SettingsError):
            userdata.migrate_preset_data(bad)


def test_atomic_write_keeps_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.json"
    userdata.atomic_write_json(path, {"v": 1})

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(UserDataError, match="No space left"):
        userdata.atomic_write_json(path, {"v": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_preset_keys() -> None:
    assert userdata.split_preset_key("user:My: look") == ("user", "My: look")
    assert userdata.split_preset_key("builtin:off") == ("builtin", "off")
    assert userdata.split_preset_key("off") == ("builtin", "off")
    assert userdata.display_name("privacy-blur") == "Privacy blur"
    store = PresetStore(Path("/nonexistent/camfx-test"))
    assert userdata.resolve_preset("builtin:off", store) is PRESETS.get("off")
    with pytest.raises(SettingsError):
        userdata.resolve_preset("builtin:does-not-exist", store)
    with pytest.raises(SettingsError):
        userdata.resolve_preset("user:nobody", store)


def test_settings_round_trip_and_first_run(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    settings = store.load()
    assert store.first_run and settings == AppSettings()
    settings.preset = "user:Mine"
    settings.source = "camera:0"
    settings.camera_modes = {"camera:0": [1920, 1080, 30.0]}
    settings.virtual_camera = True
    settings.preset_overrides = {"user:Mine": {"ud-gain": {"gain": 2.0}}}
    store.save(settings)
    data = json.loads((tmp_path / "settings.json").read_text())
    assert data["schema"] == userdata.SETTINGS_SCHEMA_VERSION
    again = SettingsStore(tmp_path / "settings.json")
    assert again.load() == settings
    assert not again.first_run and again.problems == []


def test_settings_keep_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema": 1, "fps": 25, "future_option": {"a": 1}}))
    store = SettingsStore(path)
    settings = store.load()
    assert settings.fps == 25.0 and store.problems == []
    store.save(settings)
    assert json.loads(path.read_text())["future_option"] == {"a": 1}


def test_broken_settings_are_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{broken")
    store = SettingsStore(path)
    assert store.load() == AppSettings()
    [problem] = store.problems
    assert problem.moved_to is not None and problem.moved_to.read_text() == "{broken"
    assert "not valid JSON" in str(problem)
    assert not path.exists()
    # Bad values: the good ones are used, the file is copied aside, each bad one is named.
    path.write_text(json.dumps({"fps": 1000, "source": "demo", "close_to_tray": "yes"}))
    settings = store.load()
    assert settings.source == "demo" and settings.fps == 30.0 and settings.close_to_tray
    [problem] = store.problems
    assert "fps" in problem.message and "close_to_tray" in problem.message
    # A copy, and said so (it said "moved aside … move it back" of the file in use: qa64).
    assert problem.moved_to is None and problem.copied_to is not None
    assert json.loads(problem.copied_to.read_text())["fps"] == 1000
    assert "moved aside" not in str(problem) and problem.copied_to.name in str(problem)
    assert path.exists()


def test_unreadable_folder_is_reported_not_crashing(tmp_path: Path) -> None:
    # A preset folder that is a file: listing finds nothing, saving says why.
    (tmp_path / "presets").write_text("not a folder")
    store = PresetStore(tmp_path / "presets")
    assert store.load() == [] and store.names() == []
    with pytest.raises(UserDataError, match="could not write"):
        store.save(Preset("x"))


# ------------------------------------------------------------------ files that never lock out
# (issue 12 §4: each of these made the window exit 1 on every start, or lost the user's file.)
DEEP = "[" * 200_000 + "]" * 200_000
HUGE = "9" * 400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"recent_files": ' + DEEP + "}", "nested too deeply"),
        ('{"fps": ' + "9" * 5000 + "}", "thousands of digits"),
        ('{"fps": NaN}', "holds NaN"),
        ('{"window_geometry": Infinity}', "holds Infinity"),
    ],
)
def test_settings_that_cannot_be_parsed_are_moved_aside(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    store = SettingsStore(path)
    assert store.load() == AppSettings()
    [problem] = store.problems
    assert expected in problem.message
    assert problem.moved_to is not None and problem.moved_to.read_text() == text
    assert not path.exists()
    # The next start is a clean one.
    assert SettingsStore(path).load() == AppSettings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"fps": ' + HUGE + ', "source": "demo"}', "fps is a 400-digit number"),
        (
            '{"camera_modes": {"camera:0": [' + HUGE + ', 720, 30]}, "source": "demo"}',
            "camera_modes['camera:0'][0] is a 400-digit number",
        ),
        ('{"output_size": [1e999, 720], "source": "demo"}', "output_size[0] is inf"),
    ],
)
def test_settings_with_huge_numbers_keep_the_rest(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    store = SettingsStore(path)
    settings = store.load()
    assert settings.source == "demo"
    assert settings.fps == 30.0 and settings.camera_modes == {}
    [problem] = store.problems
    assert expected in problem.message and "back to defaults" in problem.message
    assert len(problem.message) < 300  # the number itself is not printed
    assert problem.copied_to is not None and problem.copied_to.read_text() == text


def test_a_huge_override_is_refused_by_name_and_the_rest_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    text = '{"preset_overrides": {"user:Mine": {"ud-gain": {"gain": ' + HUGE + ', "passes": 2}}}}'
    path.write_text(text)
    store = SettingsStore(path)
    with caplog.at_level("WARNING", logger="pipelines.userdata"):
        settings = store.load()
    assert settings.preset_overrides == {"user:Mine": {"ud-gain": {"passes": 2}}}
    [line] = [r for r in caplog.records if "preset_overrides" in r.getMessage()]
    assert "user:Mine / ud-gain / gain is a 400-digit number" in line.getMessage()
    assert line.exc_info is None and HUGE not in line.getMessage()
    [problem] = store.problems
    assert problem.copied_to is not None and problem.copied_to.read_text() == text
    # The stage itself refuses such a value with a SettingsError (the GUI lists it), never
    # an OverflowError.
    with pytest.raises(SettingsError, match=r"gain is out of range"):
        GainSettings.from_dict({"gain": int(HUGE)})


def test_presets_that_cannot_be_parsed_are_moved_aside(store: PresetStore) -> None:
    store.create("Good", [gain(gain=2.0)])
    texts = {
        "deep.json": '{"name": "D", "stages": ' + DEEP + "}",
        "huge.json": json.dumps({"schema": 1, "name": "H", "stages": []})[:-1]
        + ', "x": '
        + HUGE
        + "}",
        "hugesetting.json": '{"schema": 1, "name": "S", "stages": [{"stage": "ud-gain", '
        '"settings": {"gain": ' + HUGE + "}}]}",
        "thousands.json": '{"schema": 1, "name": "T", "stages": [], "x": ' + "1" * 5000 + "}",
        "nan.json": '{"schema": 1, "name": "N", "stages": [{"stage": "ud-gain", '
        '"settings": {"gain": NaN}}]}',
    }
    for name, text in texts.items():
        (store.folder / name).write_text(text)
    fresh = PresetStore(store.folder)
    problems = fresh.load()
    assert fresh.names() == ["Good"]
    assert sorted(p.path.name for p in problems) == sorted(texts)
    for problem in problems:
        assert problem.moved_to is not None
        assert problem.moved_to.read_text() == texts[problem.path.name]
        assert len(problem.message) < 300
    assert PresetStore(store.folder).load() == []


def test_any_other_failure_in_a_preset_moves_it_aside(
    store: PresetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a parser or a stage raises on a hand-made file, the app still starts."""
    store.create("Good", [gain(gain=2.0)])
    (store.folder / "odd.json").write_text(json.dumps({"schema": 1, "name": "O", "stages": []}))
    real = userdata.read_preset

    def picky(data: object) -> tuple[Preset, list[str]]:
        if isinstance(data, dict) and data.get("name") == "O":
            raise TypeError("unexpected shape")
        return real(data)

    monkeypatch.setattr(userdata, "read_preset", picky)
    fresh = PresetStore(store.folder)
    [problem] = fresh.load()
    assert "could not be read (TypeError: unexpected shape)" in problem.message
    assert problem.moved_to is not None and fresh.names() == ["Good"]


def test_settings_from_a_newer_camfx_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    text = json.dumps({"schema": 999, "fps": 25, "source": "demo", "new_thing": [1]})
    path.write_text(text)
    store = SettingsStore(path)
    settings = store.load()
    assert settings.fps == 25.0 and settings.source == "demo"
    [problem] = store.problems
    assert "written by a newer camfx (settings schema 999" in str(problem)
    assert "The file as it was is kept as settings.json.schema-999" in str(problem)
    backup = tmp_path / "settings.json.schema-999"
    assert backup.read_text() == text
    # This camfx saves its own file; the newer one stays as it was.
    store.save(settings)
    assert json.loads(path.read_text())["schema"] == userdata.SETTINGS_SCHEMA_VERSION
    assert json.loads(path.read_text())["new_thing"] == [1]
    assert backup.read_text() == text
    # Back from the newer camfx once more, with other contents: both copies are kept.
    path.write_text(json.dumps({"schema": 999, "fps": 24}))
    SettingsStore(path).load()
    assert backup.read_text() == text
    assert len(list(tmp_path.glob("settings.json.schema-999*"))) == 2


def test_stale_temp_files_of_interrupted_saves_are_cleaned(tmp_path: Path) -> None:
    presets = tmp_path / "presets"
    presets.mkdir()
    old = time.time() - userdata.STALE_TMP_AGE_S - 60
    stale = [tmp_path / ".settings.json.ab12cd_9.tmp", presets / ".my-look.json.zz99xx00.tmp"]
    fresh = tmp_path / ".settings.json.qqqqqqqq.tmp"  # a save in progress elsewhere
    unrelated = [tmp_path / "notes.tmp", tmp_path / ".hidden.tmp", presets / "a.json.tmp"]
    for path in [*stale, fresh, *unrelated]:
        path.write_text("{")
        if path is not fresh:
            os.utime(path, (old, old))
    SettingsStore(tmp_path / "settings.json").load()
    PresetStore(presets).load()
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and all(p.exists() for p in unrelated)


def test_a_save_keeps_the_files_permissions_and_leaves_a_read_only_one(tmp_path: Path) -> None:
    """A settings file keeps its mode when saved (0o640 stays 0o640; the temporary file's 0o600
    replaced it before), and one the user made read-only is left byte for byte with one clear
    error (it was replaced, and made writable, 0o444 -> 0o600; found by a QA pass)."""
    import stat

    store = SettingsStore(tmp_path / "settings.json")
    settings = store.load()
    store.save(settings)
    store.path.chmod(0o640)
    settings.fps = 25.0
    store.save(settings)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o640
    assert json.loads(store.path.read_text())["fps"] == 25.0
    store.path.chmod(0o444)
    before = store.path.read_bytes()
    settings.fps = 15.0
    with pytest.raises(UserDataError, match="read-only, so it was left as it is"):
        store.save(settings)
    assert store.path.read_bytes() == before
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o444
    assert not list(tmp_path.glob(".settings.json.*.tmp"))


def test_names_that_differ_only_in_unicode_composition_are_one_name(store: PresetStore) -> None:
    """qa64: "é" typed and "e" + U+0301 pasted saved as two presets that look the same in the
    list. Names are kept composed (NFC) and told apart as such."""
    composed, decomposed = "Caf\u00e9", "Cafe\u0301"
    store.create(composed, [gain(gain=2.0)])
    assert decomposed in store and store.get(decomposed).name == composed
    with pytest.raises(SettingsError, match="already exists"):
        store.create(decomposed, [gain(gain=3.0)])
    assert store.names() == [composed]
    store.rename(decomposed, "Ba\u0301r")
    assert store.names() == ["B\u00e1r"]
    assert PresetStore(store.folder).names() == ["B\u00e1r"]  # as read back from its file


@pytest.mark.parametrize(
    ("name", "offered"),
    [
        ("Calm", "Calm.json"),
        ("a/b\\c", "a-b-c.json"),
        ("../..", "preset.json"),
        (".hidden: yes?", "hidden- yes.json"),
        ("Caf\u00e9 \u2615", "Caf\u00e9 \u2615.json"),
    ],
)
def test_an_export_is_offered_under_a_name_any_system_takes(name: str, offered: str) -> None:
    """qa64: exporting "a/b\\c" offered ~/a/b\\c.json, and the dialog put b\\c.json in the app's
    working folder. The name is the preset's, less what no file name may hold."""
    from pipelines.userdata import export_file_name

    assert export_file_name(name) == offered
    assert "/" not in offered and "\\" not in offered
