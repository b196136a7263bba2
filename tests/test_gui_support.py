"""Shared pieces for the GUI tests (no tests here): a visible test effect, fake outputs,
a fake camera backend, a window factory with fast fake device probes, and the window
fixtures (``config``, ``windows``; ``tests/conftest.py`` loads them as a plugin)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pytest
from msgspec import Meta

from pipelines.frame import Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.presets import Preset, StageSpec
from pipelines.sources.camera import CameraInfo, RecordedBackend
from pipelines.stage import STAGES, Stage, StageSettings, register_stage

TINT = "gui-tint"


@dataclasses.dataclass(frozen=True)
class TintSettings(StageSettings):
    strength: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.7
    color: tuple[int, int, int] = (255, 0, 0)
    """B, G, R: blue by default."""
    passes: Annotated[int, Meta(ge=1, le=4)] = 1
    delay_ms: float = 0.0
    label: str = ""
    overlay_path: str = ""
    mode: Literal["blend", "fill"] = "blend"
    offset: tuple[float, float] = (0.0, 0.0)
    accent_color: str = "#ff8800"

    HIDES_THE_ROOM: ClassVar[bool] = True
    """(Filled: the tests' room-hiding presets, which hold it on.)"""
    HIDING_THE_ROOM: ClassVar = MappingProxyType({"enabled": True})


class TintStage(Stage[TintSettings]):
    """Blends the picture towards a colour (a cheap, visible stand-in for a real effect)."""

    name = TINT
    settings_type = TintSettings
    title = "Test tint"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        if s.delay_ms:
            time.sleep(s.delay_ms / 1000.0)
        color = np.array(s.color, np.float32)
        if s.mode == "fill":
            return np.broadcast_to(color.astype(np.uint8), image.shape).copy()
        out = image.astype(np.float32) * (1.0 - s.strength) + color * s.strength
        return out.astype(np.uint8)


if TINT not in STAGES:
    register_stage(TintStage)

TINT_PRESET = Preset("Tint", (StageSpec(TINT, {"strength": 0.7}),), "test tint")


class FakeVirtualCamera(Output):
    """Stands in for pyvirtualcam: keeps the last frames it was sent."""

    opened: ClassVar[list[FakeVirtualCamera]] = []

    def __init__(self, arg: str = "", **kw: Any) -> None:
        super().__init__(arg, **kw)
        self.frames: list[np.ndarray] = []
        self.size: tuple[int, int] | None = None
        self.fail_after: int | None = None

    def open(self, width: int, height: int, fps: float) -> None:
        self.size = (width, height)
        self.is_open = True
        FakeVirtualCamera.opened.append(self)

    def write(self, frame: Frame) -> None:
        if self.fail_after is not None and self.frames_written >= self.fail_after:
            raise OSError("device unplugged")
        self.frames.append(frame.image.copy())
        del self.frames[:-5]
        self.frames_written += 1

    @property
    def description(self) -> str:
        return "/dev/video99 (fake)"


def fake_outputs(spec: str) -> Output:
    from pipelines.outputs import make_output

    if spec.startswith("virtualcam"):
        return FakeVirtualCamera(spec)
    return make_output(spec)


def fake_probes() -> dict[str, Any]:
    return {
        "audio": {
            "works": False,
            "inputs": [],
            "error": "sounddevice cannot load PortAudio (libportaudio.so.2: not found)",
            "hint": "install PortAudio: sudo apt install libportaudio2",
        },
        "inference": {
            "listed": ["CPU"],
            "sessions": {"CPU": {"works": True, "got": "CPU", "reason": ""}},
        },
        "compiled": {
            "works": False,
            "numba": None,
            "error": "ImportError: No module named 'numba'",
            "hint": "pip install numba (background effects run slower without it)",
        },
    }


def recorded_camera(fps: float = 30.0, native: tuple[int, int] | None = None) -> RecordedBackend:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :320] = (0, 200, 0)
    frame[:, 320:] = (0, 0, 200)
    return RecordedBackend([frame], fps=fps, native_size=native)


def camera_opener(backend: RecordedBackend):  # type: ignore[no-untyped-def]
    from pipelines.sources import open_source

    def opener(spec: str, config: Any) -> Any:
        if spec.startswith("camera"):
            return open_source(spec, config, backend=backend)
        return open_source(spec, config)

    return opener


ONE_CAMERA = [CameraInfo(device="0", name="Test Cam", path=None)]


def make_window(
    config: Path,
    *,
    cameras: list[CameraInfo] | None = None,
    backend: RecordedBackend | None = None,
    real_vcam: bool = False,
    use_tray: bool = True,
    first_run: bool = False,
    device_probes: Any = None,
    start_source: str | None = None,
) -> Any:
    """A started main window over a controller with test doubles (call ``.shutdown()``).

    Unless ``first_run``, a missing settings file is written first with preset Off: a first
    start runs Studio (models, compiled kernels), which only the first-run tests need."""
    import json

    settings_file = config / "settings.json"
    if not first_run and not settings_file.exists():
        config.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(json.dumps({"schema": 1, "preset": "builtin:off"}))
    from app.gui.controller import EngineController
    from app.gui.window import MainWindow
    from pipelines.userdata import PresetStore, SettingsStore

    kwargs: dict[str, Any] = {
        "camera_lister": lambda: list(cameras or []),
        "device_probes": device_probes or fake_probes,
    }
    if not real_vcam:
        kwargs["output_factory"] = fake_outputs
    if backend is not None:
        kwargs["source_opener"] = camera_opener(backend)
    controller = EngineController(**kwargs)
    window = MainWindow(
        controller,
        SettingsStore(config / "settings.json"),
        PresetStore(config / "presets"),
        use_tray=use_tray,
        use_hotkeys=False,
    )
    window.resize(1100, 700)
    window.start(source=start_source)
    return window


def mean_color(image: np.ndarray) -> np.ndarray:
    return image.reshape(-1, image.shape[-1]).mean(axis=0)


FAILING = "gui-failing"


@dataclasses.dataclass(frozen=True)
class FailingSettings(StageSettings):
    fail_open: bool = False


class FailingStage(Stage[FailingSettings]):
    """Fails to open, or fails on every frame: the window must say so and keep running."""

    name = FAILING
    settings_type = FailingSettings

    def open(self) -> None:
        if self.settings.fail_open:
            raise RuntimeError("model file missing")
        super().open()

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        raise RuntimeError("out of memory")


if FAILING not in STAGES:
    register_stage(FailingStage)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The window's configuration folder (``CAMFX_CONFIG_DIR``), not created yet."""
    cfg = tmp_path / "config"
    monkeypatch.setenv("CAMFX_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture
def windows(qtbot: Any) -> Iterator[list[Any]]:
    """The windows a test opens (:func:`open_window`), quit when it ends."""
    made: list[Any] = []
    yield made
    for w in made:
        w.quit()
    qtbot.wait(10)


def open_window(qtbot: Any, windows: list[Any], config: Path, **kw: Any) -> Any:
    """A shown :func:`make_window` that the ``windows`` fixture quits at the end."""
    window = make_window(config, **kw)
    windows.append(window)
    qtbot.addWidget(window)
    window.show()
    return window


def recording_window(qtbot: Any, windows: list[Any], config: Path, folder: Path) -> Any:
    """An :func:`open_window` whose recordings go into ``folder`` (made here)."""
    window = open_window(qtbot, windows, config)
    folder.mkdir()
    window.settings.record_folder = str(folder)
    return window


def wait_frames(qtbot: Any, window: Any, n: int = 3, timeout: int = 8000) -> None:
    """Until the preview has shown ``n`` more frames."""
    start = window.preview.frames_shown
    qtbot.waitUntil(lambda: window.preview.frames_shown >= start + n, timeout=timeout)
