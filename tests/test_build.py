"""The one engine builder (pipelines/build.py): a RunConfig in, a started engine out; the
talking head's stages; a source opened here is closed again on failure; a bounded run ends
even when its only output has nobody watching."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipelines.build import RunConfig, TalkingHeadConfig, build_engine, talking_head_stages
from pipelines.engine import PROBLEMS, EventKind
from pipelines.errors import CamfxError
from pipelines.frame import Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.presets import Preset, StageSpec
from pipelines.sources.base import Source, SourceConfig
from pipelines.sources.camera import CameraSource, RecordedBackend
from pipelines.stage import STAGES, Stage, StageSettings, register_stage

pytestmark = pytest.mark.timeout(60)


class Unwatched(Output):
    """A virtual camera that no app has open."""

    def __init__(self) -> None:
        super().__init__("unwatched")
        self.frames: list[Frame] = []

    def has_consumers(self) -> bool | None:
        return False

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.frames_written += 1


class Broken(Output):
    def open(self, width: int, height: int, fps: float) -> None:
        raise OSError("device busy")


def small(**changes: object) -> RunConfig:
    config = RunConfig(source="demo", outputs=("null",), size=(64, 48), fps=30.0, paced=False)
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


def test_a_config_builds_the_preset_and_runs_its_frames() -> None:
    run = build_engine(small(preset="off", frames=5))
    try:
        assert run.wait(20)
    finally:
        run.close()
    assert run.engine.snapshot().frames_output == 5
    assert run.engine.lossless  # the demo is not live: every frame is kept
    assert run.source.actual_size == (64, 48)
    assert run.events == []


def test_an_unknown_preset_fails_before_any_source_opens() -> None:
    with pytest.raises(CamfxError, match="unknown preset 'nope'"):
        build_engine(small(preset="nope"))


def test_a_source_opened_here_is_closed_when_an_output_cannot_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[str] = []

    class Watching(CameraSource):
        label = ""

        def close(self) -> None:
            closed.append(self.label)
            super().close()

    def open_watching(spec: str, config: SourceConfig | None = None) -> Source:
        backend = RecordedBackend([np.zeros((48, 64, 3), np.uint8)], fps=30.0)
        src = Watching("", config or SourceConfig(), backend=backend)
        src.label = spec
        src.open()
        return src

    # A source given as an object belongs to the caller: it stays open.
    mine = open_watching("mine")
    with pytest.raises(OSError, match="device busy"):
        build_engine(small(source=mine, outputs=(Broken("broken"),)))
    assert closed == []
    mine.close()
    # A source given as a spec is opened by the builder, so the builder closes it.
    monkeypatch.setattr("pipelines.sources.open_source", open_watching)
    with pytest.raises(OSError, match="device busy"):
        build_engine(small(source="spec", outputs=(Broken("broken"),)))
    assert closed == ["mine", "spec"]


def test_a_bounded_run_whose_only_output_is_unwatched_ends() -> None:
    out = Unwatched()
    # 45 frames at 30 fps outlast the watch interval (0.5 s), after which an idling engine
    # would stop counting frames.
    run = build_engine(small(outputs=(out,), frames=45, idle_after=0.01, paced=True))
    try:
        assert run.wait(15), "a --frames run with an idle virtual camera must end"
    finally:
        run.close()
    assert run.engine.idle_after is None
    assert len(out.frames) == 45 and not run.engine.idle
    # Without a frame count the same config does idle.
    unbounded = build_engine(small(outputs=(Unwatched(),), idle_after=0.01, paced=True))
    try:
        assert unbounded.engine.idle_after == 0.01
    finally:
        unbounded.close()


@dataclasses.dataclass(frozen=True)
class FailSettings(StageSettings):
    pass


class AlwaysFails(Stage[FailSettings]):
    name = "test-build-always-fails"
    settings_type = FailSettings

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        raise RuntimeError("boom")


def test_stage_problems_are_recorded_by_kind() -> None:
    if AlwaysFails.name not in STAGES:
        register_stage(AlwaysFails)
    preset = Preset("broken", (StageSpec(AlwaysFails.name, {}),))
    run = build_engine(small(preset=preset, frames=3))
    try:
        assert run.wait(20)
    finally:
        run.close()
    assert run.problems(EventKind.STAGE_ERROR)[0] == f"{AlwaysFails.name}: boom"
    assert run.problems(EventKind.SOURCE_ERROR) == []
    assert all(ev.kind in PROBLEMS for ev in run.events)


def test_talking_head_stages_follow_the_preset() -> None:
    config = TalkingHeadConfig(audio="none", mode="overlay")
    with_tracker = [s.name for s in talking_head_stages(config, 30.0)]
    assert with_tracker == ["face_tracker", "audio_mouth", "talking_head"]
    without = [s.name for s in talking_head_stages(config, 30.0, with_tracker=False)]
    assert without == ["audio_mouth", "talking_head"]
    assert config.audio_file is None
    assert TalkingHeadConfig(audio="speech.wav").audio_file == "speech.wav"


def test_event_kinds_keep_their_spelling() -> None:
    assert EventKind.STAGE_ERROR == "stage-error"
    assert str(EventKind.OUTPUT_ERROR) == "output-error"
    assert EventKind.IDLE not in PROBLEMS


def test_every_missing_device_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.errors import SourceError

    def no_camera(spec: str, config: SourceConfig | None = None) -> Source:
        raise SourceError("camera '0': no camera found")

    monkeypatch.setattr("pipelines.sources.open_source", no_camera)
    with pytest.raises(SourceError) as caught:
        build_engine(small(source="camera", outputs=(Broken("vcam"), "null")))
    assert str(caught.value) == "camera '0': no camera found; also: device busy"
    # With working outputs the source's error alone is raised, as it was.
    with pytest.raises(SourceError, match=r"^camera '0': no camera found$"):
        build_engine(small(source="camera", outputs=("null",)))


def test_an_interrupt_while_starting_stops_the_engines_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl+C or SIGTERM that lands while the engine starts (models loading) must not leave
    its threads running: they would keep `camfx run` alive after it gave up."""
    import threading
    import time

    from pipelines.engine import Engine

    original_start = Engine.start

    def start_then_interrupted(self: Engine) -> None:
        original_start(self)
        raise KeyboardInterrupt

    before = set(threading.enumerate())
    monkeypatch.setattr(Engine, "start", start_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_engine(RunConfig(source="demo", outputs=("null",), size=(64, 48), frames=None))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left:
            break
        time.sleep(0.05)
    assert not left, [t.name for t in left]


def test_a_smooth_start_warms_the_stages_before_the_first_frame() -> None:
    """``camfx run``'s ``smooth_start``: each stage's one-time work (its compiled kernels'
    load) is done before the engine takes a frame, or Studio's first ten frames held 120-530
    ms each while it ran beside them; a stage that shows a placeholder meanwhile (a talking
    head's build) is not waited for on a live source."""
    events: list[str] = []

    class Warmed(Stage[StageSettings]):
        name = "warmed"

        def warm_up(self) -> None:
            events.append(f"{self.name} warmed")

        def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
            events.append(f"{self.name} frame")
            return image

    class Placeholder(Warmed):
        name = "placeholder"
        placeholder_until_warm = True

    camera = CameraSource(
        "",
        SourceConfig(width=64, height=48),
        backend=RecordedBackend([np.zeros((48, 64, 3), np.uint8)]),
    )
    camera.open()
    config = small(source=camera, stages=[Warmed(), Placeholder()], smooth_start=True, frames=2)
    run = build_engine(config)
    try:
        assert run.wait(10.0)
    finally:
        run.close()
        camera.close()
    assert events[0] == "warmed warmed", events
    assert "placeholder warmed" not in events, events
    assert events.count("warmed frame") == 2, events
    # Without it (the window, whose opener waits on its own), nothing is warmed.
    events.clear()
    camera.open()
    run = build_engine(dataclasses.replace(config, smooth_start=False))
    try:
        assert run.wait(10.0)
    finally:
        run.close()
        camera.close()
    assert not [e for e in events if e.endswith("warmed")], events
