"""Every stage names the networks it runs (:meth:`Stage.models`), which the status bar counts
as the models in use: checked against what ``load_model`` gave each built-in preset's stages
while they opened, so a stage that loads a network and does not answer it fails here."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import pipelines.inference.model as inference_model
from app.state.model import running_model_names
from pipelines.frame import FrameContext
from pipelines.inference import OnnxModel
from pipelines.presets import PRESETS, build_stages, ensure_stage_registered, get_preset
from pipelines.stage import Stage

pytestmark = pytest.mark.timeout(120)


class LoadRecorder:
    """Wraps ``load_model`` in every module that imported it: the networks it gives to the
    test's own thread. Those a stage's background work loads once and keeps no hold of (the
    talking head's portrait search, on its avatar-build thread, runs the face tracker on the
    photo) are not run on frames, and are not counted."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.loaded: list[OnnxModel] = []

    def wrap(self, load: Any) -> Any:
        def recording_load(*args: Any, **kwargs: Any) -> OnnxModel:
            model = load(*args, **kwargs)
            if threading.get_ident() == self.thread:
                self.loaded.append(model)
            return model

        return recording_load

    def take(self) -> list[OnnxModel]:
        taken, self.loaded = self.loaded, []
        return taken


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoadRecorder]:
    for name in PRESETS.names():  # their modules import load_model: import them first
        for spec in PRESETS.get(name).stages:
            ensure_stage_registered(spec.stage)
    import pipelines.audio.mouth_net as mouth_net

    # The jaw network is kept in a process-wide slot once loaded (default_mouth_net): emptied,
    # so that the talking head's open asks load_model for it again (its cache answers).
    monkeypatch.setattr(mouth_net, "_default", None)
    monkeypatch.setattr(mouth_net, "_failed", False)
    original = inference_model.load_model
    recording = LoadRecorder()
    wrapped = recording.wrap(original)
    for module in list(sys.modules.values()):
        if getattr(module, "load_model", None) is original:
            monkeypatch.setattr(module, "load_model", wrapped)
    yield recording


def described(models: Sequence[OnnxModel]) -> list[str]:
    return sorted(f"{model.model_name}@{id(model):x}" for model in models)


def open_each_and_compare(stages: list[Stage[Any]], recorder: LoadRecorder) -> dict[str, set[str]]:
    """Open the stages in order (a background effect picks its backend from the segmentation
    opened before it), compare each one's answer with what it loaded, and close them; the
    names each answered, by stage."""
    answers: dict[str, set[str]] = {}
    try:
        for stage in stages:
            recorder.take()
            stage.open()
            loaded, answered = recorder.take(), stage.models()
            assert all(isinstance(model, OnnxModel) for model in answered), stage.name
            assert described(answered) == described(loaded), stage.name
            answers[stage.name] = {model.model_name for model in answered}
    finally:
        for stage in reversed(stages):
            stage.close()
    return answers


@pytest.mark.parametrize("preset", PRESETS.names())
def test_each_builtin_presets_stages_name_the_networks_they_load(
    preset: str, recorder: LoadRecorder
) -> None:
    answers = open_each_and_compare(build_stages(get_preset(preset)), recorder)
    if "segmentation" in answers:  # the premise: networks were loaded and answered
        assert answers["segmentation"]


def test_the_blur_on_a_device_backend_names_its_graphs(
    recorder: LoadRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background blur runs networks only on a device backend (a GPU's, or one asked for
    by name): both graphs of ``onnx-room``."""
    monkeypatch.setenv("CAMFX_BLUR_BACKEND", "onnx-room")
    answers = open_each_and_compare(build_stages(get_preset("background-blur")), recorder)
    assert answers["background_blur"] == {"background_blur_room", "background_blur_composite"}


def test_the_tracker_names_the_mesh_it_swapped_to_while_open(recorder: LoadRecorder) -> None:
    """A mesh graph changed while the tracker runs is loaded on the next frame: from then on
    that mesh is the one in use, not the one it opened with."""
    (tracker,) = build_stages(get_preset("track"))
    tracker.open()
    try:
        opened_with = {model.model_name for model in tracker.models()}
        recorder.take()
        tracker.settings = tracker.settings.replace(mesh_graph="reference")
        tracker.process(np.full((360, 640, 3), 128, np.uint8), FrameContext(timestamp=0.0, index=0))
        (swapped_to,) = recorder.take()
        now = {model.model_name for model in tracker.models()}
        assert swapped_to.model_name in now and swapped_to.model_name not in opened_with
        assert len(now) == 2 and now != opened_with
        assert running_model_names([tracker]) == now
    finally:
        tracker.close()
