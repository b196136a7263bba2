"""Beauty presets: "natural", "studio" and "off" exist, store every retouching setting, survive
a round trip through preset files, and build into working stages."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from typing import Any

import numpy as np
import pytest

import pipelines.beauty.presets  # noqa: F401  (registers the presets)
from pipelines.beauty.light import LightColorSettings, LightColorStage
from pipelines.beauty.stage import BeautySettings, BeautyStage
from pipelines.errors import SettingsError
from pipelines.frame import FrameContext
from pipelines.presets import PRESETS, Preset, build_stages, get_preset
from pipelines.stage import make_stage

BEAUTY_FIELDS = {f.name for f in dataclasses.fields(BeautySettings)} - {"enabled"}
LIGHT_FIELDS = {f.name for f in dataclasses.fields(LightColorSettings)} - {"enabled"}


def _spec(preset: Preset, stage: str) -> dict[str, Any]:
    return next(s.settings for s in preset.stages if s.stage == stage)


def test_natural_studio_and_off_exist() -> None:
    for name in ("natural", "studio", "off"):
        assert name in PRESETS
    assert get_preset("off").stages == ()
    assert [s.stage for s in get_preset("natural").stages] == ["face_tracker", "beauty"]
    assert [s.stage for s in get_preset("studio").stages] == [
        "face_tracker",
        "segmentation",
        "background_blur",
        "light_color",
        "beauty",
    ]


def test_presets_store_every_retouching_setting() -> None:
    natural = _spec(get_preset("natural"), "beauty")
    assert set(natural) == BEAUTY_FIELDS
    assert BeautySettings.from_dict(natural) == BeautySettings(**natural)
    studio = get_preset("studio")
    assert set(_spec(studio, "beauty")) == BEAUTY_FIELDS
    assert set(_spec(studio, "light_color")) == LIGHT_FIELDS
    assert _spec(studio, "beauty")["smoothing"] > 0
    assert _spec(studio, "light_color")["exposure"] > 0


def test_natural_is_subtle() -> None:
    natural = BeautySettings.from_dict(_spec(get_preset("natural"), "beauty"))
    assert 0 < natural.smoothing <= 0.5
    assert natural.eye_enlarge == 0 and natural.face_slim == 0 and natural.lip_tint == 0
    assert natural == BeautySettings()  # the stage's defaults are the natural look


@pytest.mark.parametrize("name", ["natural", "studio"])
def test_preset_round_trip_through_a_file(name: str) -> None:
    preset = get_preset(name)
    again = Preset.from_dict(json.loads(json.dumps(preset.to_dict())))
    assert again == preset
    for spec in again.stages:
        if spec.stage in ("beauty", "light_color"):
            stage = make_stage(spec.stage, spec.settings)
            assert stage.settings.to_dict() == {"enabled": True, **spec.settings}


def test_presets_build_into_stages() -> None:
    pytest.importorskip("pipelines.tracking.tracker")
    pytest.importorskip("pipelines.segmentation.stage")
    pytest.importorskip("pipelines.segmentation.background")
    names = [type(s).name for s in build_stages(get_preset("studio"))]
    assert names == [s.stage for s in get_preset("studio").stages]
    natural = build_stages(get_preset("natural"))
    assert isinstance(natural[1], BeautyStage)


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError):
        BeautySettings.from_dict({"smoothing": 1.5})
    with pytest.raises(SettingsError):
        BeautySettings.from_dict({"lip_color": "red"})
    with pytest.raises(SettingsError):
        BeautySettings.from_dict({"sparkle": 1.0})
    with pytest.raises(SettingsError):
        LightColorSettings.from_dict({"warmth": 2.0})
    assert BeautySettings.from_dict({"lip_color": "#A02040"}).lip_rgb == (0xA0, 0x20, 0x40)


def test_off_settings_pass_everything_through() -> None:
    image = np.full((48, 64, 3), 90, np.uint8)
    zero: dict[str, Any] = {
        k: 0.0 for k in BEAUTY_FIELDS if isinstance(getattr(BeautySettings(), k), float)
    }
    assert BeautyStage(BeautySettings(**zero)).process(image, FrameContext(0.0, 0)) is image
    light = LightColorStage(LightColorSettings(exposure=0.0, white_balance=0.0, warmth=0.0))
    assert light.process(image, FrameContext(0.0, 0)) is image


def test_presets_module_is_light(python_exe: str) -> None:
    """Importing the presets loads neither OpenCV nor ONNX Runtime nor the stage modules."""
    code = (
        "import sys, pipelines.beauty.presets; "
        "print(sorted(m for m in ('cv2', 'onnxruntime', 'pipelines.beauty.stage', "
        "'pipelines.beauty.light') if m in sys.modules))"
    )
    out = subprocess.run([python_exe, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
