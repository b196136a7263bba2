"""Stage settings: frozen, validated, built from preset data with clear errors; registries."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import pytest
from msgspec import Meta

from pipelines.errors import SettingsError
from pipelines.registry import Registry
from pipelines.stage import (
    STAGES,
    Stage,
    StageSettings,
    make_stage,
    register_stage,
)


@dataclasses.dataclass(frozen=True)
class BlurSettings(StageSettings):
    radius: Annotated[int, Meta(ge=1, le=50)] = 5
    strength: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.5
    mode: Literal["gaussian", "box"] = "gaussian"
    tint: tuple[int, int, int] = (0, 0, 0)
    label: str = "blur"


@register_stage
class BlurStage(Stage[BlurSettings]):
    name = "test-stage-blur"
    settings_type = BlurSettings


def test_defaults_are_valid_and_frozen() -> None:
    s = BlurSettings()
    assert s.enabled and s.radius == 5 and s.mode == "gaussian"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.radius = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"radius": 0}, r"BlurSettings\.radius = 0 is out of range \[1, 50\]"),
        ({"radius": 51}, "radius"),
        ({"strength": -0.01}, "strength"),
        ({"strength": float("nan")}, "strength"),
        ({"strength": "high"}, "strength must be a number"),
        ({"mode": "median"}, r"mode = 'median' is not one of 'gaussian', 'box'"),
    ],
)
def test_out_of_bounds_values_are_refused_naming_the_field(changes: dict, match: str) -> None:
    with pytest.raises(SettingsError, match=match):
        BlurSettings(**changes)
    with pytest.raises(SettingsError, match=match):
        BlurSettings().replace(**changes)


def test_bounds_are_inclusive_and_replace_keeps_the_type() -> None:
    s = BlurSettings().replace(radius=50, strength=0.0, mode="box")
    assert isinstance(s, BlurSettings)
    assert (s.radius, s.strength, s.mode) == (50, 0.0, "box")
    assert BlurSettings().radius == 5  # the original is untouched


def test_from_dict_round_trips_and_coerces_numbers() -> None:
    s = BlurSettings(radius=7, strength=0.25, mode="box", tint=(1, 2, 3), label="x")
    assert BlurSettings.from_dict(s.to_dict()) == s
    # JSON has no tuples and may write 1 for 1.0 or 3.0 for 3.
    t = BlurSettings.from_dict({"tint": [4, 5, 6], "strength": 1, "radius": 3.0})
    assert t.tint == (4, 5, 6)
    assert t.strength == 1.0 and isinstance(t.strength, float)
    assert t.radius == 3 and isinstance(t.radius, int)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"radius": "5"}, "radius must be a number"),
        ({"radius": 2.5}, "radius must be a whole number"),
        ({"radius": True}, "radius must be a number"),
        ({"enabled": 1}, "enabled must be true or false"),
        ({"enabled": "yes"}, "enabled must be true or false"),
        ({"tint": "red"}, "tint must be a list"),
        ({"label": 3}, "label must be text"),
        ({"radius": 500}, "out of range"),
        ({"radius": 5, "sharpness": 1, "alpha": 2}, r"unknown setting\(s\) alpha, sharpness"),
    ],
)
def test_from_dict_type_errors_name_the_setting(data: dict, match: str) -> None:
    with pytest.raises(SettingsError, match=match):
        BlurSettings.from_dict(data)


def test_from_dict_refuses_non_objects() -> None:
    with pytest.raises(SettingsError, match="must be an object"):
        BlurSettings.from_dict([("radius", 3)])  # type: ignore[arg-type]


def test_make_stage_uses_the_registry() -> None:
    stage = make_stage("test-stage-blur", {"radius": 9})
    assert isinstance(stage, BlurStage)
    assert stage.settings == BlurSettings(radius=9)
    assert "test-stage-blur" in STAGES
    with pytest.raises(KeyError, match=r"unknown stage 'nope'; known: .*test-stage-blur"):
        make_stage("nope")
    with pytest.raises(SettingsError):
        make_stage("test-stage-blur", {"radius": -1})


def test_stage_lifecycle_defaults() -> None:
    stage = BlurStage()
    assert not stage.is_open
    stage.open()
    assert stage.is_open
    stage.close()
    stage.close()  # idempotent
    assert not stage.is_open
    assert "BlurSettings" in repr(stage)


def test_registry_refuses_a_second_item_under_one_name() -> None:
    reg: Registry[object] = Registry("widget")
    a, b = object(), object()
    reg.add("a", a)
    reg.add("a", a)  # the same item again is fine (module reloads)
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        reg.add("a", b)
    assert reg.names() == ["a"] and "a" in reg and reg.name_of(a) == "a"
    assert reg.name_of(b) is None
    with pytest.raises(KeyError, match="unknown widget 'z'; known: a"):
        reg.get("z")


def test_registry_split_spec_names_arguments_suffixes_and_drive_letters() -> None:
    from pipelines.registry import Registry

    class Clip:
        suffixes = (".mp4",)

    class Cam:
        suffixes = ()

    reg: Registry[type] = Registry("thing")
    reg.add("file", Clip)
    reg.add("camera", Cam)
    assert reg.split_spec("camera") == ("camera", "")
    assert reg.split_spec("camera:2") == ("camera", "2")
    assert reg.split_spec("/tmp/a.MP4") == ("file", "/tmp/a.MP4")
    # A one-letter prefix is a Windows drive, so the suffix decides.
    assert reg.split_spec("C:\\clips\\a.mp4") == ("file", "C:\\clips\\a.mp4")
    assert reg.split_spec("nope") is None
    assert reg.split_spec("x.avi") is None
