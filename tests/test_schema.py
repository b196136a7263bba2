"""The one settings schema (issue 14 §4): stage settings, the settings file and the command
line check values against it with one message naming the field and its bound; the window's
editors and the command line's options take their bounds and choices from it."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    # Before Qt is imported anywhere in this process.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import argparse
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QComboBox

from app import cli
from pipelines import schema
from pipelines.audio.stage import AudioMouthSettings
from pipelines.avatar.compose import SHAPES, Shape
from pipelines.avatar.stage import TalkingHeadSettings
from pipelines.effects.key_light import KeyLightSettings
from pipelines.errors import SettingsError
from pipelines.presets import STAGE_MODULES, ensure_stage_registered
from pipelines.schema import FieldKind
from pipelines.stage import STAGES
from pipelines.tracking.tracker import PRIMARY_POLICIES, Primary
from pipelines.userdata import AppSettings, SettingsStore

CHOICE_NAMES = re.compile(
    r"(^|_)(mode|shape|kind|corner|direction|clock|fit|model|resample|primary)$"
)
"""Text fields with these names pick one of a few values: each must declare its choices."""


def shipped_settings() -> list[type]:
    for name in STAGE_MODULES:
        ensure_stage_registered(name)
    return [STAGES.get(name).settings_type for name in STAGE_MODULES]


# ------------------------------------------------------------------------------ one message
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"size": 5}, "TalkingHeadSettings.size = 5 is out of range [0.08, 1.0]"),
        ({"corner": "middle"}, "TalkingHeadSettings.corner = 'middle' is not one of 'top-left'"),
        (
            {"border_color": [0, 0, 300]},
            "TalkingHeadSettings.border_color[2]: expected `int` <= 255",
        ),
        ({"seed": 2.5}, "TalkingHeadSettings.seed must be a whole number, not 2.5"),
        ({"blinks": 1}, "TalkingHeadSettings.blinks must be true or false, not 1"),
        ({"fps": "fast"}, "TalkingHeadSettings.fps must be a number, not 'fast'"),
        ({"fps": 10**400}, "TalkingHeadSettings.fps is out of range (a huge or non-finite number)"),
    ],
)
def test_stage_settings_name_the_field_and_its_bound(data: dict, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        TalkingHeadSettings.from_dict(data)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_built_settings_are_checked_too() -> None:
    with pytest.raises(SettingsError, match=r"^AudioMouthSettings.clock = 'sundial' is not one"):
        AudioMouthSettings(clock="sundial")  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match=r"KeyLightSettings.temperature = 100 is out of range"):
        KeyLightSettings().replace(temperature=100)
    # An integral float in an integer field was accepted before the schema: still is.
    assert TalkingHeadSettings.from_dict({"border": 4.0}).border == 4


def test_the_settings_file_names_the_field_and_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema": 2, "fps": 1000, "theme": "pink", "source": "demo"}))
    store = SettingsStore(path)
    settings = store.load()
    assert settings.source == "demo" and settings.fps == 30.0 and settings.theme == "system"
    [problem] = store.problems
    assert "AppSettings.fps = 1000 is out of range [1.0, 240.0]" in problem.message
    assert "AppSettings.theme = 'pink' is not one of 'system', 'light', 'dark'" in problem.message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fps", "500"], "fps '500' must be between 1 and 240"),
        (["--video-delay-ms", "900"], "video delay '900' must be between 0 and 500"),
        (["--avatar-mode", "corner"], "invalid choice: 'corner'"),
        (["--size", "8000x720"], "between 16x16 and 7680x4320"),
    ],
)
def test_the_command_line_names_the_option_and_its_bound(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args(["run", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------------------ one source
def test_the_command_line_takes_its_bounds_and_choices_from_the_schema() -> None:
    fps = schema.field_spec(AppSettings, "fps")
    assert (fps.lo, fps.hi) == (1.0, 240.0)
    for owner in (AudioMouthSettings, TalkingHeadSettings):
        spec = schema.field_spec(owner, "fps")
        assert (spec.lo, spec.hi) == (fps.lo, fps.hi)
    assert cli.parse_fps("240") == 240.0
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_fps("240.5")
    delay = schema.field_spec(AudioMouthSettings, "video_delay_ms")
    assert cli.parse_video_delay(str(delay.hi)) == delay.hi
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_video_delay(str((delay.hi or 0) + 1))
    assert schema.field_spec(TalkingHeadSettings, "mode").choices == cli.AVATAR_MODES
    run = next(
        a
        for a in cli.build_parser()._subparsers._group_actions[0].choices["run"]._actions  # type: ignore[union-attr]
        if "--avatar-mode" in a.option_strings
    )
    assert tuple(run.choices) == cli.AVATAR_MODES
    wide, high = typing.get_args(schema.OutputSize)
    assert cli.parse_size(f"{schema.type_spec(wide).hi}x{schema.type_spec(high).hi}") == (
        7680,
        4320,
    )


def test_registries_and_their_literals_agree() -> None:
    assert typing.get_args(Shape) == tuple(SHAPES.names())
    assert typing.get_args(Primary) == tuple(PRIMARY_POLICIES)


def test_every_shipped_setting_has_a_kind_and_choice_fields_declare_choices() -> None:
    for owner in shipped_settings():
        for spec in schema.fields_of(owner):
            assert spec.kind is not FieldKind.OTHER, (owner.__name__, spec.name)
            if CHOICE_NAMES.search(spec.name):
                assert spec.kind is FieldKind.CHOICE, (owner.__name__, spec.name)
                assert spec.default in spec.choices


def test_choices_are_drop_downs_with_the_schemas_bounds_in_the_window(qtbot: Any) -> None:
    from app.gui.panels import ChoiceEditor, EffectsPanel, NumberEditor

    panel = EffectsPanel()
    qtbot.addWidget(panel)
    stages = [
        ("talking_head", TalkingHeadSettings()),
        ("audio_mouth", AudioMouthSettings()),
        ("key_light", KeyLightSettings()),
    ]
    panel.set_stages(stages, {name: name for name, _ in stages})
    for stage, settings in stages:
        for spec in schema.fields_of(type(settings)):
            if spec.kind is not FieldKind.CHOICE:
                continue
            editor = panel.editor(stage, spec.name)
            assert isinstance(editor, ChoiceEditor), (stage, spec.name)
            combo = editor.combo
            assert isinstance(combo, QComboBox)
            assert tuple(combo.itemData(i) for i in range(combo.count())) == spec.choices
            assert combo.currentData() == getattr(settings, spec.name)
    assert {"mode", "corner", "shape"} <= {
        name
        for name, e in panel.panels["talking_head"].editors.items()
        if isinstance(e, ChoiceEditor)
    }
    size = panel.editor("talking_head", "size")
    spec = schema.field_spec(TalkingHeadSettings, "size")
    assert isinstance(size, NumberEditor) and size.slider is not None
    assert (size.spin.minimum(), size.spin.maximum()) == (spec.lo, spec.hi)
    # Picking a corner gives new, checked settings.
    corner = panel.editor("talking_head", "corner")
    assert isinstance(corner, ChoiceEditor)
    with qtbot.waitSignal(panel.panels["talking_head"].settingsChanged) as blocker:
        corner.combo.setCurrentIndex(corner.combo.findData("top-left"))
    assert blocker.args[1].corner == "top-left"


def test_the_windows_output_formats_are_within_the_schema() -> None:
    from app.gui.window_ui import OUTPUT_FPS, OUTPUT_SIZES

    for fps in OUTPUT_FPS:
        assert schema.check_field(AppSettings, "fps", fps) == fps
    for size in OUTPUT_SIZES:
        assert schema.check_field(AppSettings, "output_size", list(size)) == size
    with pytest.raises(
        SettingsError, match=r"AppSettings.output_size\[1\]: expected `int` <= 4320"
    ):
        schema.check_field(AppSettings, "output_size", [1280, 5000])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stages": 3}, "preset.stages: expected `array`, got `int`"),
        ({"stages": [{"stage": 5}]}, "preset.stages[0].stage: expected `str`, got `int`"),
        ({"stages": [{"stage": "beauty", "settings": []}]}, "preset.stages[0].settings: expected"),
        ({"name": ["x"]}, "preset.name: expected `str`, got `array`"),
    ],
)
def test_a_preset_files_shape_is_checked_by_the_schema(data: dict, message: str) -> None:
    from pipelines.presets import Preset

    with pytest.raises(SettingsError) as info:
        Preset.from_dict(data)
    assert str(info.value).startswith(message)


def test_a_files_path_from_a_preset_may_start_with_the_home_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """qa64: ``"path": "~/bg.bmp"`` in a preset file "did not exist", though the README says a
    path may start with ``~/`` (as it may on the command line). A file's path in any stage's
    settings is the home folder's; other text is left as it is."""
    from pipelines.segmentation.background import BackgroundReplaceSettings

    monkeypatch.setenv("HOME", str(tmp_path))
    background = BackgroundReplaceSettings.from_dict({"mode": "image", "path": "~/bg.bmp"})
    assert background.path == str(tmp_path / "bg.bmp")
    assert background.replace(path="~/beach.mp4").path == str(tmp_path / "beach.mp4")
    assert AudioMouthSettings(input="~/talk.wav").input == str(tmp_path / "talk.wav")
    assert AudioMouthSettings(input="mic").input == "mic"
    assert BackgroundReplaceSettings(color="#112233").color == "#112233"


@pytest.mark.parametrize(
    ("value", "on"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("false", False),
        ("No", False),
        ("OFF", False),
        ("1", True),
        ("yes", True),
        ("true", True),
    ],
)
def test_camfx_switches_read_the_same_words(
    value: str | None, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """qa64: CAMFX_NO_JIT=false (or no, off) switched the compiled kernels off, where only ""
    and "0" read as off, and CAMFX_CUDA_GRAPH read false, no, off as off. One rule."""
    from pipelines import env_flag
    from pipelines.inference.session import CUDA_GRAPH_ENV, SessionFactory
    from pipelines.segmentation import fused

    for name in (fused.DISABLE_ENV, CUDA_GRAPH_ENV):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert env_flag(fused.DISABLE_ENV) is on and fused._disabled() is on
    assert SessionFactory("cpu").cuda_graph is (on or value is None)
