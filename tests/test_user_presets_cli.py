"""``camfx run --preset`` takes the user's presets as the window keeps them (by name, by
``user:NAME``, or a preset file's path), and one odd key or value in a preset file no longer
moves the whole preset aside (QA pass 3, item 6)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from app import cli
from pipelines.userdata import PresetStore

LIGHT = {"stage": "light_color", "settings": {"warmth": -0.25, "adapt_s": 1.0}}


def write_preset(folder: Path, name: str, stages: list[dict[str, Any]], **extra: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.lower().replace(' ', '-')}.json"
    data = {"schema": 2, "name": name, "description": "", "stages": stages, **extra}
    path.write_text(json.dumps(data, indent=1))
    return path


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def preset_of(*argv: str) -> Any:
    args = cli.build_parser().parse_args(["run", "--output", "null", *argv])
    return cli.run_config(args).preset_object()


def test_run_takes_a_user_preset_by_name_key_and_path(config: Path) -> None:
    path = write_preset(config / "presets", "My light", [LIGHT])
    for spelling in ("My light", "my LIGHT", "user:My light", str(path)):
        preset = preset_of("--preset", spelling)
        assert preset.name == "My light", spelling
        assert [(s.stage, s.settings) for s in preset.stages] == [
            ("light_color", {"warmth": -0.25, "adapt_s": 1.0})
        ], spelling
    # The built-in of a name wins; user: picks the user's own of the same name.
    write_preset(config / "presets", "studio", [LIGHT])
    assert len(preset_of("--preset", "studio").stages) > 1
    assert len(preset_of("--preset", "user:studio").stages) == 1


def test_a_run_through_a_user_preset_runs_its_stage(config: Path, capsys: Any) -> None:
    write_preset(config / "presets", "My light", [LIGHT])
    code = cli.main(["bench", "--preset", "My light", "--frames", "3", "--size", "64x48", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "light_color" in json.loads(out.out)["stages"]


def test_an_unknown_preset_lists_the_users_presets_and_where_they_live(
    config: Path, capsys: Any
) -> None:
    write_preset(config / "presets", "My light", [LIGHT])
    code = cli.main(["run", "--preset", "Nope", "--output", "null", "--frames", "1"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, lines
    assert "unknown preset 'Nope'" in lines[0] and "studio" in lines[0]
    assert f"your presets (in {config / 'presets'}): 'My light'" in lines[0], lines[0]
    missing = str(config / "gone.json")
    assert cli.main(["run", "--preset", missing, "--output", "null", "--frames", "1"]) == 2
    assert f"preset file {missing!r} does not exist" in capsys.readouterr().err


def test_an_unknown_key_is_kept_and_ignored(config: Path) -> None:
    settings = {**LIGHT["settings"], "sparkle": 1}
    path = write_preset(
        config / "presets", "Sparkle", [{"stage": "light_color", "settings": settings}], colour="b"
    )
    before = path.read_bytes()
    store = PresetStore()
    store.load()
    assert store.problems == []
    preset = store.get("Sparkle")
    assert preset.stages[0].settings == {"warmth": -0.25, "adapt_s": 1.0}
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing moved aside
    # Saved again (the window's Save), the keys this camfx does not know are written back.
    store.save(preset, overwrite=True)
    saved = json.loads(path.read_text())
    assert saved["colour"] == "b"
    assert saved["stages"][0]["settings"]["sparkle"] == 1


def test_a_value_out_of_range_gets_the_default_with_one_warning(config: Path, capsys: Any) -> None:
    settings = {"warmth": 7.5, "adapt_s": 1.0}
    path = write_preset(
        config / "presets", "Too warm", [{"stage": "light_color", "settings": settings}]
    )
    store = PresetStore()
    store.load()
    assert store.get("Too warm").stages[0].settings == {"adapt_s": 1.0}  # warmth: its default
    assert len(store.problems) == 1
    line = str(store.problems[0])
    for part in ("too-warm.json", "'light_color'", "'warmth'", "7.5", "[-1.0, 1.0]", "0.0"):
        assert part in line, line
    assert path.exists() and not list(path.parent.glob("*.broken-*"))
    # The command line says it once and runs.
    code = cli.main(["run", "--preset", str(path), "--output", "null", "--frames", "1"])
    warnings = [x for x in capsys.readouterr().err.splitlines() if "warning" in x]
    assert code == 0 and len(warnings) == 1 and "'warmth'" in warnings[0], warnings


# ----------------------------------------------------------------------- QA qa4 (s2, s12)
def run_preset(preset: str, capsys: Any) -> tuple[int, list[str]]:
    """``camfx run --preset PRESET`` (an error is found before anything runs), its lines."""
    code = cli.main(["run", "--preset", preset, "--output", "null", "--frames", "1"])
    return code, [x for x in capsys.readouterr().err.splitlines() if x.strip()]


def test_a_preset_path_in_quotes_may_start_with_the_home_folder(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write_preset(home / "shared", "Shared light", [LIGHT])
    monkeypatch.setenv("HOME", str(home))
    # As the shell passes "~/shared/shared-light.json": unexpanded.
    assert preset_of("--preset", "~/shared/shared-light.json").name == "Shared light"


def test_a_user_preset_this_camfx_cannot_run_gives_its_reason_by_name(
    config: Path, capsys: Any
) -> None:
    path = write_preset(config / "presets", "Future", [{"stage": "hologram", "settings": {}}])
    code, lines = run_preset("Future", capsys)
    assert code == 2 and len(lines) == 1, lines
    assert "unknown preset" not in lines[0]
    assert f"your preset 'Future' ({path}) cannot be used" in lines[0], lines[0]
    assert "needs the stage 'hologram'" in lines[0], lines[0]
    assert path.exists()  # left in place for a camfx that has the stage


def test_a_preset_file_moved_aside_is_said_as_a_camfx_warning(
    config: Path, capsys: Any, caplog: Any
) -> None:
    caplog.set_level(logging.WARNING)
    write_preset(config / "presets", "My light", [LIGHT])
    half = config / "presets" / "half.json"
    half.write_text('{"schema": 2, "name": "Half", "sta')  # a save cut short
    code, lines = run_preset("My light", capsys)
    moved = list(half.parent.glob("half.json.broken-*"))
    assert code == 0 and len(moved) == 1 and not half.exists(), lines
    said = [x for x in lines if "half.json" in x]
    assert len(said) == 1, lines
    assert said[0].startswith("camfx: warning: Preset file half.json"), said
    assert moved[0].name in said[0], said
    # Not also as a raw log line ("WARNING pipelines.userdata: moved unreadable …").
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_nan_in_a_preset_file_names_its_full_path(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "pf" / "nan.json"
    path.parent.mkdir()
    path.write_text('{"schema": 2, "name": "N", "stages": [], "x": NaN}')
    code, lines = run_preset(str(path), capsys)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"camfx: preset file {path}: holds NaN"), lines[0]


def test_a_user_preset_named_like_a_built_in_is_said_to_be_unused(
    config: Path, capsys: Any
) -> None:
    write_preset(config / "presets", "studio", [LIGHT])
    args = cli.build_parser().parse_args(["run", "--output", "null", "--preset", "studio"])
    assert len(cli.cli_preset(args).stages) > 1  # the built-in still wins
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert lines == [
        "camfx: warning: your preset 'studio' is not used: the built-in of that name is; "
        "--preset user:studio picks yours"
    ]
    args = cli.build_parser().parse_args(["run", "--output", "null", "--preset", "user:studio"])
    assert len(cli.cli_preset(args).stages) == 1
    assert capsys.readouterr().err == ""


def test_a_user_preset_with_a_built_ins_label_is_said_to_be_unused_as_a_name_is(
    config: Path, capsys: Any
) -> None:
    """An older user preset "Background blur" (the built-in's label) ran instead of the
    built-in without a word, while one named "studio" was said to be unused (qa8 L3): the
    label and the name follow one rule, said the same way."""
    write_preset(config / "presets", "Background blur", [LIGHT])
    args = cli.build_parser().parse_args(["run", "--output", "null", "--preset", "Background blur"])
    preset = cli.cli_preset(args)
    assert preset.name == "background-blur" and len(preset.stages) > 1  # the built-in wins
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert lines == [
        "camfx: warning: your preset 'Background blur' is not used: the built-in of that name "
        "is; --preset 'user:Background blur' picks yours"
    ]
    args = cli.build_parser().parse_args(
        ["run", "--output", "null", "--preset", "user:Background blur"]
    )
    assert [s.stage for s in cli.cli_preset(args).stages] == ["light_color"]
    assert capsys.readouterr().err == ""


def test_a_preset_file_without_a_stages_list_is_refused(tmp_path: Path, capsys: Any) -> None:
    """A file whose ``stages`` was misspelled (``stage``) ran with no effects at all, exit 0, a
    copy of privacy-blur sending the room as it is (qa62): one line naming the file, exit 2."""
    path = tmp_path / "private.json"
    data = {"schema": 2, "name": "Private", "hides_room": True, "stage": [SEGMENTATION, BLUR]}
    path.write_text(json.dumps(data))
    code, lines = run_preset(str(path), capsys)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"camfx: preset file {path}: it has no 'stages' list"), lines[0]


SEGMENTATION = {"stage": "segmentation", "settings": {}}
BLUR = {"stage": "background_blur", "settings": {"strength": 1.0}}


@pytest.mark.parametrize(
    "stages",
    [[], [{"stage": "face_tracker"}], [BLUR, SEGMENTATION]],
    ids=["no-stage", "only-the-tracker", "the-blur-before-the-mask"],
)
def test_a_preset_marked_to_hide_the_room_that_hides_nothing_is_refused(
    tmp_path: Path, capsys: Any, stages: list[dict[str, Any]]
) -> None:
    """``"hides_room": true`` promises the room is never shown; with no stage hiding it (or the
    blur before the segmentation whose mask it needs: it passes the frame through) the room ran
    in plain view, exit 0 (qa62). Refused by name, with what it needs."""
    path = write_preset(tmp_path / "pf", "Private", stages, hides_room=True)
    code, lines = run_preset(str(path), capsys)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"camfx: preset file {path}: it is marked to hide the room"), lines
    assert "needs background_blur or background_replace after segmentation" in lines[0], lines[0]
    # The same stages, not marked: a preset of one's own, run as it says.
    plain = write_preset(tmp_path / "pf", "Plain", stages)
    assert preset_of("--preset", str(plain)).name == "Plain"
