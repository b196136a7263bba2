"""The window's handle on the engine: every slow call runs off the GUI thread.

Opening a camera or the virtual camera, building a preset's stages (which may import modules),
stopping the engine (which joins threads): each can take from milliseconds to seconds, so the
controller queues them, in order, on one *action* worker thread and reports the outcome through
Qt signals, which Qt delivers on the GUI thread. The GUI thread only ever queues work, swaps a
settings object or reads a statistic: it never waits.

Device probes (cameras, virtual camera backends, microphone, inference providers) run on a
second, *probe* thread. Probing the inference providers creates ONNX Runtime sessions and can
take half a minute on a machine with a GPU driver; on the action thread a Record click queued
behind it waited that long. A probe never changes the engine, so it needs no ordering with the
actions; its result is a typed :class:`~app.state.devices.DeviceReport` for the app state.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.gui.plumbing import (
    ControlledSource,
    PreviewSink,
    SwitchableOutput,
    camera_modes,
    message_card,
)
from app.gui.qtcompat import emit
from app.state.devices import DeviceReport
from app.state.labels import source_kind
from app.state.model import apply_edits
from app.state.source import switch_source
from pipelines.build import RunConfig, build_engine
from pipelines.engine import PROBLEMS, Engine, EngineEvent, EventKind
from pipelines.errors import CamfxError
from pipelines.opener import Incomplete, incomplete_for
from pipelines.outputs import make_output
from pipelines.outputs.base import Output
from pipelines.outputs.recorder import VideoFileOutput
from pipelines.outputs.repair import RepairReport, repair, torn_recordings
from pipelines.presets import Preset, build_stages
from pipelines.sources import SourceConfig, open_source
from pipelines.sources.base import Source
from pipelines.sources.camera import CameraInfo, list_cameras
from pipelines.stage import Stage, StageSettings

if TYPE_CHECKING:
    from pipelines.audio.mux import AudioTrackSource

log = logging.getLogger(__name__)

SourceOpener = Callable[[str, SourceConfig], Source]
OutputFactory = Callable[[str], Output]
CameraLister = Callable[[], list[CameraInfo]]

VCAM_RETRY_MS = 5000
PROBE_AFTER_S = 30.0
"""A probe first lets the actions queued before it finish (start-up: engine, source, preset),
so the first picture is not slowed by ONNX Runtime sessions the probe creates beside it; it
waits at most this long for them."""
PRIVACY_CARD = "Privacy blur on..."
"""The card's line meanwhile (OpenCV draws no "…")."""
IDLE_AFTER_S = 10.0
"""With the window hidden, the virtual camera unused and nothing recording, the engine idles
after this long and releases the camera (see Engine.idle_after)."""


def _default_probes() -> dict[str, Any]:
    from pipelines.devices import probe_audio, probe_compiled, probe_providers

    result: dict[str, Any] = {}
    try:
        result["audio"] = probe_audio()
    except Exception as exc:  # a probe must never take the window down
        result["audio"] = {"works": False, "inputs": [], "error": str(exc)}
    try:
        result["inference"] = probe_providers()
    except Exception as exc:
        result["inference"] = {"error": str(exc), "listed": [], "sessions": {}}
    try:
        result["compiled"] = probe_compiled()
    except Exception as exc:
        result["compiled"] = {"works": False, "error": str(exc)}
    return result


def _wait_settled(futures: list[Future[Any]], timeout: float) -> bool:
    """Wait until each future has finished or was cancelled (True), at most ``timeout`` s.

    Not ``concurrent.futures.wait``: a future that ``executor.shutdown(cancel_futures=True)``
    cancels never wakes it (``cancel()`` only runs the done callbacks), so a probe waiting for
    start-up actions that a quit cancelled held the exit for all of PROBE_AFTER_S (a SIGTERM
    4 s after start: the window took 35 s to exit)."""
    settled = threading.Event()

    def check(_: object = None) -> None:
        if all(f.done() for f in futures):
            settled.set()

    for future in futures:
        future.add_done_callback(check)
    check()
    return settled.wait(timeout)


IMPORTED_BEFORE_THREADS = (
    "pipelines.inference.model",
    "pipelines.inference.session",
    "pipelines.audio",
)
"""Imported on the GUI thread before the worker, the device probe and the engine's opener
threads start, which otherwise import them first, at once (the probe and the stages' open()
import them inside functions). A package whose ``__init__`` imports its own submodules
(``pipelines.audio`` does; ``pipelines.inference`` did until its import cycle was broken) can
hand one of two threads importing it first a half-loaded module (tests/test_import_cycles.py).
About 25 ms, once."""


class EngineController(QObject):
    """Owns the engine, its source and outputs; see the module docstring for the threading."""

    sourceChanged = Signal(str, str, object)
    """spec, description, info dict (``size``, ``fps``, ``modes``, ``camera``)."""
    sourceFailed = Signal(str, str, str)
    """spec that failed, message, spec used instead ("" when none)."""
    camerasListed = Signal(object)
    presetApplied = Signal(str, object, object)
    """preset key, [(stage name, settings)], [problems with the saved edits]."""
    presetFailed = Signal(str, str)
    virtualCameraChanged = Signal(str, str)
    """state ("off", "starting", "on", "unavailable"), detail (device or how to fix)."""
    recordingChanged = Signal(str, str)
    """state ("off", "on", "error", "empty": stopped before its first frame, its file
    removed), the path (the message for "error")."""
    recordingSoundLost = Signal(str, float)
    """A saved recording's path and the seconds of its microphone's sound that were lost
    (read too late on a busy machine: silence there), before its "off"."""
    pausedChanged = Signal(bool)
    engineProblem = Signal(str, str, str)
    """event kind, stage/source/output name, message."""
    stageJoined = Signal(str)
    """A stage reported stuck opening has opened and runs (its name): the warning is over."""
    devicesProbed = Signal(object)
    """A :class:`~app.state.devices.DeviceReport`, built on the probe thread."""
    idleChanged = Signal(bool)
    """True when nobody receives the outputs and the engine rests (Engine.idle_after)."""
    engineRestarted = Signal()
    tornRecordingsFound = Signal(str, object)
    """folder, the recordings there that a hard stop tore (``[Path]``, maybe empty)."""
    recordingsRepaired = Signal(object)
    """``[RepairReport]``, one per recording :meth:`repair_recordings` was given."""

    def __init__(
        self,
        *,
        source_opener: SourceOpener | None = None,
        output_factory: OutputFactory | None = None,
        camera_lister: CameraLister | None = None,
        device_probes: Callable[[], dict[str, Any]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        for module in IMPORTED_BEFORE_THREADS:
            importlib.import_module(module)
        self.source_opener: SourceOpener = source_opener or (lambda s, c: open_source(s, c))
        self.output_factory: OutputFactory = output_factory or (lambda spec: make_output(spec))
        self.camera_lister: CameraLister = camera_lister or list_cameras
        self.device_probes = device_probes or _default_probes
        self.preview = PreviewSink()
        self.vcam = SwitchableOutput("virtual camera", on_error=self._on_output_error)
        self.record = SwitchableOutput("recording", on_error=self._on_output_error)
        self.engine: Engine | None = None
        self.source: ControlledSource | None = None
        self.size = (1280, 720)
        self.fps = 30.0
        self.source_spec = ""
        self.source_mode: tuple[int, int, float] | None = None
        self.stages: list[Stage[Any]] = []
        self.preset_key: str | None = None
        """The preset whose stages :attr:`stages` are; None before the first is applied."""
        self.hides_room = False
        """Whether that preset hides the room (:attr:`Preset.hides_room`)."""
        self.paused = False
        self.compare = False
        self.vcam_wanted = False
        self.vcam_device = ""
        self.vcam_state = "off"
        self.recording_path: str | None = None
        self.recording_notes: list[str] = []
        """What the recording started last will not hold (:mod:`pipelines.input_notes`)."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camfx-gui-worker")
        self._prober = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camfx-gui-probe")
        # Recordings get a thread of their own: a repair decodes a whole recording (seconds),
        # and must neither wait behind a device probe nor hold up the engine's actions.
        self._recordings = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="camfx-gui-recordings"
        )
        self._closed = False
        self._pending: list[Future[Any]] = []
        """Queued work on both threads (wait_idle, shutdown)."""
        self._actions: list[Future[Any]] = []
        """Queued work on the action thread (a probe starts after what was queued before)."""
        self._lock = threading.Lock()
        self._vcam_retry = QTimer(self)
        self._vcam_retry.setInterval(VCAM_RETRY_MS)
        self._vcam_retry.timeout.connect(self._retry_vcam)
        self.virtualCameraChanged.connect(self._on_vcam_state)

    # ----------------------------------------------------------------- plumbing
    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Queue an action (engine, source, stages, outputs) on the action thread, in order."""
        return self._queue(self._worker, fn, *args)

    def _submit_probe(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Queue a device probe on the probe thread, where it never delays an action."""
        return self._queue(self._prober, fn, *args)

    def _queue(
        self, executor: ThreadPoolExecutor, fn: Callable[..., Any], *args: Any
    ) -> Future[Any] | None:
        if self._closed:
            return None

        def run() -> Any:
            try:
                return fn(*args)
            except Exception:
                log.exception("background task %s failed", getattr(fn, "__name__", fn))
                raise

        future = executor.submit(run)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()] + [future]
            if executor is self._worker:
                self._actions = [f for f in self._actions if not f.done()] + [future]
        return future

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until queued work is done (tests and shutdown only; never the GUI path)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            with contextlib.suppress(Exception):
                future.result(timeout)
        return all(f.done() for f in pending)

    # ----------------------------------------------------------------- engine
    def start(self, size: tuple[int, int], fps: float) -> None:
        """Start the engine at ``size`` and ``fps``. Until the stages of the first
        :meth:`apply_preset` run, the outputs get the "Starting..." card (see
        :meth:`_restart_engine`)."""
        self.size, self.fps = size, fps
        self._submit(self._restart_engine)

    def set_output_format(self, size: tuple[int, int], fps: float) -> None:
        """Restart the engine at the new format; the source is opened again at it (a camera
        with a mode of its own keeps that mode), so its frames come at the new rate."""
        if (size, fps) == (self.size, self.fps):
            return
        self.size, self.fps = size, fps
        self._submit(self._restart_engine)

    def _restart_engine(self) -> None:
        """Stop the engine (if any) and start one at :attr:`size` and :attr:`fps`.

        The new engine starts with no stage and is asked for :attr:`stages` as a running
        engine is (opened, warmed and rehearsed on the opener thread), and *holds*
        (:meth:`Engine.hold`) until they run: the virtual camera, the recording and the preview
        get the source's "Starting..." card meanwhile, never an unprocessed frame (the engine
        ran its first seconds with no stage before, the room sharp under privacy-blur). At the
        first start the stages are not built yet: the hold lasts until :meth:`apply_preset`'s
        run. While paused the source sends its paused card, so nothing is held."""
        old_engine, old_source = self.engine, self.source
        inner = None
        if old_engine is not None:
            old_engine.stop()
        if old_source is not None:
            inner = old_source.set_inner(None)
        source = ControlledSource(self.size, self.fps, on_error=self._on_source_error)
        source.tap_input = self.compare
        # A source opened at the old format is opened again at the new one (after the engine
        # starts, below); handed over, it kept its old rate and size (a 15 fps pick recorded
        # at 30 until the window was restarted).
        reopen = inner is not None and self._follows_output_format()
        if reopen:
            self._close_source(inner)
        elif inner is not None:
            source.set_inner(inner)
        if self.paused:
            last = old_engine.last_frame.image if old_engine and old_engine.last_frame else None
            source.pause(last)
        run = build_engine(
            RunConfig(
                source=source,
                outputs=(self.preview, self.vcam, self.record),
                stages=[],
                size=self.size,
                fps=self.fps,
                out_size=self.size,
                lossless=False,  # live: the preview and the virtual camera want the newest
                idle_after=IDLE_AFTER_S,
            ),
            start=False,
        )
        engine = run.engine
        engine.add_listener(self._on_engine_event)
        if not self.paused and (self.preset_key is None or self.stages):
            engine.hold(source.still_image)
        engine.start()
        if not self.paused and self.preset_key is not None:
            engine.set_stages(self.stages, self._incomplete())
        self.source, self.engine = source, engine
        if reopen:
            self._set_source(self.source_spec, self.source_mode, "")
        # Targets opened at the old size are reopened at the new one.
        if self.vcam.target is not None and self.vcam.target_format != (*self.size, self.fps):
            self._close(self.vcam.detach())
            self._open_vcam()
        if self.record.target is not None and old_engine is not None:
            self._end_recording()
        if old_engine is not None:
            emit(self.engineRestarted)

    def _on_engine_event(self, event: EngineEvent) -> None:
        if event.kind in PROBLEMS:
            emit(self.engineProblem, event.kind, event.name, event.message)
        elif event.kind in (EventKind.IDLE, EventKind.ACTIVE):
            emit(self.idleChanged, event.kind == EventKind.IDLE)
        elif event.kind == EventKind.STAGE_JOINED:
            emit(self.stageJoined, event.name)

    def snapshot(self) -> Any:
        engine = self.engine
        return engine.snapshot() if engine is not None else None

    @property
    def running(self) -> bool:
        engine = self.engine
        return engine is not None and engine.running

    # ----------------------------------------------------------------- source
    def list_cameras(self) -> None:
        self._submit_probe(self._list_cameras)

    def _list_cameras(self) -> list[CameraInfo]:
        try:
            cameras = self.camera_lister()
        except Exception as exc:
            log.warning("listing cameras failed: %s", exc)
            cameras = []
        if not self._closed:
            emit(self.camerasListed, cameras)
        return cameras

    def set_source(
        self, spec: str, mode: tuple[int, int, float] | None = None, fallback: str = "demo"
    ) -> None:
        """Switch to ``spec`` ("" picks the first camera, or the demo when there is none).
        When it cannot be opened, ``fallback`` is used and :attr:`sourceFailed` says why."""
        self._submit(self._set_source, spec, mode, fallback)

    def _set_source(self, spec: str, mode: tuple[int, int, float] | None, fallback: str) -> None:
        failure = switch_source(
            spec,
            mode,
            fallback,
            previous=self.source_spec,
            previous_mode=self.source_mode,
            first_camera=self._first_camera,
            open_source=self._open,
            still_running=lambda: self.source is not None and self.source.inner is not None,
        )
        if failure is None:
            return
        if failure.nothing_runs:
            if self.source is not None:
                self.source.set_card_text("No signal")
            self.source_spec = ""
        emit(self.sourceFailed, failure.wanted, failure.error, failure.now)

    def _follows_output_format(self) -> bool:
        """Whether the running source was opened at the output's size and rate (all but a
        camera with a mode picked for it)."""
        if not self.source_spec:
            return False
        return not (source_kind(self.source_spec)[0] == "camera" and self.source_mode is not None)

    def _first_camera(self) -> str | None:
        cameras = self._list_cameras()
        return f"camera:{cameras[0].device}" if cameras else None

    def _open(self, spec: str, mode: tuple[int, int, float] | None) -> None:
        w, h = self.size
        fps = self.fps
        kind, arg = source_kind(spec)
        is_camera = kind == "camera"
        if is_camera and mode is not None:
            w, h, fps = int(mode[0]), int(mode[1]), float(mode[2])
        # An unplugged camera sends the disconnected card (the virtual camera never freezes on
        # the last frame) and reconnects for as long as the window runs.
        config = SourceConfig(width=w, height=h, fps=fps, loop=True, paced=True, lost_card=True)
        # Release the old camera first: the same device cannot be opened twice.
        source = self.source
        if source is not None and source.inner is not None and is_camera:
            self._close_source(source.set_inner(None))
        new = self.source_opener(spec, config)
        source = self.source
        if source is None:  # pragma: no cover - start() always runs first
            new.close()
            raise CamfxError("the engine is not running")
        self._close_source(source.set_inner(new))
        self.source_spec = spec
        self.source_mode = mode if is_camera else None
        info: dict[str, Any] = {
            # Cameras say what the device really gave beside the (scaled) frame size.
            "size": tuple(getattr(new, "device_size", new.actual_size)),
            "fps": float(getattr(new, "device_fps", new.actual_fps)),
            "camera": is_camera,
            "requested": (w, h, fps),
            "modes": [],
        }
        if is_camera:
            device = arg or "0"
            path = next((c.path for c in self._safe_cameras() if c.device == device), None) or (
                f"/dev/video{device}" if device.isdigit() else None
            )
            info["modes"] = camera_modes(path)
        emit(self.sourceChanged, spec, new.description, info)

    def _safe_cameras(self) -> list[CameraInfo]:
        try:
            return self.camera_lister()
        except Exception:
            return []

    @staticmethod
    def _close_source(source: Source | None) -> None:
        if source is None:
            return
        try:
            source.close()
        except Exception as exc:
            log.warning("closing %s failed: %s", source.description, exc)

    def _on_source_error(self, source: Source, exc: BaseException) -> None:
        emit(self.sourceFailed, self.source_spec, str(exc), "")

    def camera_state(self) -> str:
        """ "open", "lost" (reconnecting), or "" when the source is not a camera."""
        source = self.source
        inner = source.inner if source is not None else None
        return str(getattr(inner, "state", "")) if inner is not None else ""

    # ----------------------------------------------------------------- stages
    def apply_preset(
        self, key: str, preset: Preset, overrides: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self._submit(self._apply_preset, key, preset, dict(overrides or {}))

    def _apply_preset(self, key: str, preset: Preset, overrides: dict[str, dict[str, Any]]) -> None:
        engine = self.engine
        running = engine is not None and not self.paused
        # (Not at start: the engine holds its "Starting..." card until the first preset runs.)
        panic = (
            running and preset.hides_room and self.preset_key is not None and not self.hides_room
        )
        if engine is not None and panic:
            # Picked to hide the room (the tray's or a hotkey's panic button): a card at once,
            # before the stages are even built, not the look before until they open (~2 s).
            engine.hold(message_card(PRIVACY_CARD, self.size))
        try:
            stages = build_stages(preset)
        except (CamfxError, ImportError, KeyError) as exc:
            if engine is not None and panic:
                # The running list, asked again: ends the hold.
                engine.set_stages(self.stages, self._incomplete())
            emit(self.presetFailed, key, str(exc))
            return
        problems = apply_edits(stages, overrides, preset)
        self.stages, self.preset_key, self.hides_room = stages, key, preset.hides_room
        if engine is not None and running:
            engine.set_stages(stages, self._incomplete())
        emit(self.presetApplied, key, [(s.name, s.settings) for s in stages], problems)

    def _incomplete(self) -> Incomplete:
        """What :attr:`stages` do while one of them has not opened in its stuck limit (a GPU
        provider's first session): the rest runs and ends the card, but a preset that hides
        the room never runs without one of its stages (the card, or the preset before, stays;
        the engine's report reaches the banner)."""
        return incomplete_for(self.hides_room)

    def update_settings(self, stage_name: str, settings: StageSettings) -> bool:
        """Swap one stage's settings now (GUI thread; atomic, read once per frame)."""
        for stage in self.stages:
            if stage.name == stage_name:
                stage.settings = settings
                return True
        return False

    def settings_in_use(self, stage_name: str) -> StageSettings | None:
        """What the running stage ``stage_name`` uses (:meth:`Stage.settings_in_use`)."""
        for stage in self.stages:
            if stage.name == stage_name:
                return stage.settings_in_use()
        return None

    def pick_person(self, x: float, y: float) -> bool:
        """Only me: lock on to the person at (x, y), fractions of the frame (a double click on
        the preview). True when a stage of the preset took it."""
        picked = False
        for stage in self.stages:
            pick = getattr(stage, "pick_person", None)
            if callable(pick):
                pick(min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0))
                picked = True
        return picked

    def stage_settings(self, stage_name: str) -> StageSettings | None:
        stage = next((s for s in self.stages if s.name == stage_name), None)
        return stage.settings if stage is not None else None

    # ----------------------------------------------------------------- pause / compare
    def set_paused(self, paused: bool) -> None:
        if paused == self.paused:
            return
        self.paused = paused
        self._submit(self._apply_pause, paused)

    def _apply_pause(self, paused: bool) -> None:
        engine, source = self.engine, self.source
        if engine is None or source is None:
            return
        if paused:
            last = engine.last_frame
            source.pause(last.image if last is not None else None)
            # The paused still goes out from here on, frames captured before the source's
            # pause took hold included: through the empty list they were the room, unblurred
            # (a user's pass: 1-4 frames after a pause soon after a resume, privacy-blur).
            engine.set_stages([], held=source.still_image)
        else:
            if self.stages:
                # The stages were closed by the pause: the paused card stays out until they
                # run again, instead of the camera's picture untouched while they open.
                engine.hold(source.still_image)
            source.resume()
            engine.set_stages(self.stages, self._incomplete())
        emit(self.pausedChanged, paused)

    def set_compare(self, on: bool) -> None:
        self.compare = on
        if self.source is not None:
            self.source.tap_input = on

    # ----------------------------------------------------------------- virtual camera
    def set_virtual_camera(self, on: bool, device: str | None = None) -> None:
        self.vcam_wanted = on
        if device is not None:
            self.vcam_device = device
        self._submit(self._set_vcam, on)

    def _set_vcam(self, on: bool) -> None:
        if not on:
            self._close(self.vcam.detach())
            emit(self.virtualCameraChanged, "off", "")
            return
        if self.vcam.target is not None:
            emit(self.virtualCameraChanged, "on", self.vcam.target.description)
            return
        emit(self.virtualCameraChanged, "starting", "")
        self._open_vcam()

    def _open_vcam(self) -> None:
        spec = f"virtualcam:{self.vcam_device}" if self.vcam_device else "virtualcam"
        try:
            output = self.output_factory(spec)
            self.vcam.attach(output, self.size, self.fps)
        except (CamfxError, OSError) as exc:
            emit(self.virtualCameraChanged, "unavailable", str(exc))
            return
        emit(self.virtualCameraChanged, "on", output.description)

    def _retry_vcam(self) -> None:
        if self.vcam_wanted and self.vcam.target is None and not self._closed:
            self._submit(self._set_vcam, True)

    def retry_virtual_camera(self) -> None:
        self.vcam_wanted = True
        self._retry_vcam()

    def _on_vcam_state(self, state: str, detail: str) -> None:
        self.vcam_state = state
        if state == "unavailable" and self.vcam_wanted and not self._closed:
            self._vcam_retry.start()
        else:
            self._vcam_retry.stop()

    # ----------------------------------------------------------------- recording
    def start_recording(self, path: str) -> None:
        self._submit(self._start_recording, path)

    def _start_recording(self, path: str) -> None:
        try:
            output = self.output_factory(path)
            if hasattr(output, "audio_source"):
                # One sound track from the start, whatever the talking head says in each
                # frame: switched on, off or to another voice while recording.
                output.audio_source = output.audio_source or self._recording_voice()
            self.record.attach(output, self.size, self.fps)
        except (CamfxError, OSError) as exc:
            emit(self.recordingChanged, "error", str(exc))
            return
        self.recording_path = path
        # Read here, off the window's thread (it opens the source file), before the "on" that
        # shows them.
        self.recording_notes = self._recording_notes(path)
        emit(self.recordingChanged, "on", path)

    def _recording_notes(self, path: str) -> list[str]:
        """What the recording at ``path`` will not hold that the user may expect (the video
        source's own sound, where a talking head's voice replaces it), said as the command
        line says it at a run's start (qa8 M1)."""
        from app.state.recording import recording_inputs, talking_head_speaks
        from pipelines.input_notes import recording_notes

        speaks = talking_head_speaks(self.stages)
        return recording_notes(recording_inputs(self.source_spec, path, self.size, speaks=speaks))

    def _recording_voice(self) -> AudioTrackSource:
        """A new recording's sound: the talking head's voice in each frame (its microphone,
        heard in real time, or its voice file, read where the stage read it for that frame);
        where none speaks, the video file source's own sound; else silence."""
        from pipelines.audio.mux import TalkingHeadVoice

        return TalkingHeadVoice(self.fps)

    def stop_recording(self) -> None:
        self._submit(self._stop_recording)

    def _stop_recording(self) -> None:
        self._end_recording()

    def _end_recording(self) -> None:
        output = self.record.detach()
        self._close(output)
        path, self.recording_path = self.recording_path, None
        # Stopped before its first frame (a double click): its file is removed, not "saved".
        empty = getattr(output, "empty_notice", None)
        lost = output.sound_lost_s if isinstance(output, VideoFileOutput) else 0.0
        if lost > 0.0 and not empty:
            emit(self.recordingSoundLost, path or "", lost)
        emit(self.recordingChanged, "empty" if empty else "off", path or "")

    def _on_output_error(
        self, switch: SwitchableOutput, output: Output, exc: BaseException
    ) -> None:
        if switch is self.vcam:
            emit(self.virtualCameraChanged, "unavailable", f"{output.description} stopped: {exc}")
        else:
            self.recording_path = None
            # The recorder's own line names the file, the reason and what is kept.
            emit(self.recordingChanged, "error", output.failure or f"recording stopped: {exc}")

    @staticmethod
    def _close(output: Output | None) -> None:
        if output is None:
            return
        try:
            output.close()
        except Exception as exc:
            log.warning("closing %s failed: %s", output.description, exc)

    # ----------------------------------------------------------------- devices
    def probe_devices(self) -> None:
        with self._lock:
            queued = [f for f in self._actions if not f.done()]
        self._submit_probe(self._probe_devices, queued)

    def _probe_devices(self, after: list[Future[Any]] | None = None) -> DeviceReport:
        from pipelines.outputs.virtualcam import available_backends, setup_hint

        _wait_settled(after or [], PROBE_AFTER_S)  # start-up first (see PROBE_AFTER_S)
        if self._closed:
            return DeviceReport()
        info = dict(self.device_probes())
        info["cameras"] = self._safe_cameras()
        info["virtual_camera"] = {"backends": available_backends(), "hint": setup_hint()}
        report = DeviceReport.from_probes(info)
        if not self._closed:  # a window that closed meanwhile has nobody to tell
            emit(self.devicesProbed, report)
        return report

    # ----------------------------------------------------------------- torn recordings
    def find_torn_recordings(self, folder: str) -> None:
        """Look in ``folder`` for recordings a hard stop tore; :attr:`tornRecordingsFound`."""
        self._queue(self._recordings, self._find_torn_recordings, folder)

    def _find_torn_recordings(self, folder: str) -> list[Path]:
        found = torn_recordings(folder)
        if not self._closed:
            emit(self.tornRecordingsFound, folder, found)
        return found

    def repair_recordings(self, paths: list[Path]) -> None:
        """Mend each into a copy beside it (never in place); :attr:`recordingsRepaired`."""
        self._queue(self._recordings, self._repair_recordings, list(paths))

    def _repair_recordings(self, paths: list[Path]) -> list[RepairReport]:
        reports = [repair(path) for path in paths]
        if not self._closed:
            emit(self.recordingsRepaired, reports)
        return reports

    # ----------------------------------------------------------------- shutdown
    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop everything and join every thread this controller started (idempotent).

        A probe inside a driver call cannot be interrupted: it gets ``timeout`` seconds (after
        the engine, camera and recording are closed, so nothing the user made waits on it) and
        is then left to end by itself; its result is dropped (see :meth:`_probe_devices`)."""
        if self._closed:
            return
        self._closed = True
        self._vcam_retry.stop()
        self._prober.shutdown(wait=False, cancel_futures=True)
        # A repair under way finishes its copy (the interpreter joins the thread at exit).
        self._recordings.shutdown(wait=False, cancel_futures=True)
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self.engine is not None:
            self.engine.stop(timeout)
        if self.source is not None:
            self.source.close()
        self._close(self.vcam.detach())
        self._close(self.record.detach())
        self.engine = None
        with self._lock:
            probing = [f for f in self._pending if not f.done()]
        futures_wait(probing, timeout)
