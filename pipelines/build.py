"""One way to assemble an engine: a typed :class:`RunConfig` in, a started :class:`Run` out.

``camfx run``, ``camfx bench``, ``camfx talking-head render`` and the window all build their
engine here, so a source, its outputs and the preset's stages are put together, opened and
cleaned up after a failure in one place. The window brings its own source and outputs (a
switchable source, a preview sink): ``RunConfig.source`` and ``RunConfig.outputs`` take either
a spec string or a ready object.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pipelines import cvthreads
from pipelines.engine import PROBLEMS, Engine, EngineEvent, EventKind
from pipelines.errors import CamfxError
from pipelines.opener import incomplete_for
from pipelines.outputs.base import Output
from pipelines.outputs.existing import ExistingFile
from pipelines.presets import Preset, StageSpec, build_stages, get_preset, known_stage_id
from pipelines.schema import AvatarMode, VideoDelayMs
from pipelines.sources.base import Source, SourceConfig, Timing
from pipelines.stage import Stage


@dataclass(frozen=True)
class TalkingHeadConfig:
    """The talking head appended to a run: a portrait animated by a voice."""

    portrait: str = ""
    """An image file; "" is the demo portrait."""
    audio: str = "mic"
    """mic, mic:NAME-OR-INDEX, none, or a sound file (which also sets the run's length
    and is added to video-file outputs)."""
    mode: AvatarMode = "auto"
    video_delay_ms: VideoDelayMs = 0.0
    audio_required: bool = False
    """The voice must open (a render, or ``--audio`` given on the command line): a missing
    microphone stops the run with one line instead of idling the talking head."""

    @property
    def audio_file(self) -> str | None:
        from pipelines.audio.inputs import parse_audio_spec

        kind, arg = parse_audio_spec(self.audio)
        return arg if kind == "file" else None


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what an engine does."""

    source: str | Source = "demo"
    """A source spec (demo, camera:N, a path) or an already opened source (the window's)."""
    outputs: Sequence[str | Output] = ("virtualcam",)
    """Output specs (virtualcam[:DEVICE], null, a .mp4 path) or output objects, not opened."""
    preset: str | Preset = "off"
    stages: Sequence[Stage[Any]] | None = None
    """Stages to run instead of the preset's (the window builds and edits its own)."""
    size: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    frames: int | None = None
    """Stop after this many output frames; None runs until stopped or the source ends."""
    seconds: float | None = None
    """Stop after this much of the source's time (a voice file's length: :meth:`run_length`):
    on the frames' own clock (:class:`~pipelines.frame.FrameClock`), a camera's capture time,
    else index / the source's rate; where every frame is taken, as that many frames."""
    loop: bool = True
    """Start a video file again at its end."""
    paced: bool = True
    """Deliver frames at ``fps`` (False: as fast as the engine takes them, for benchmarks)."""
    media_time: bool = False
    """Frames of a source that is not live carry their time in the media, not the time they
    were read (:attr:`SourceConfig.media_time`): an offline render whose frames must not depend
    on the machine's load. A benchmark keeps read times (its latency figure)."""
    timing: Timing | None = None
    """What a video file source does when late (:class:`Timing`); None: it keeps real time
    where an output is watched live (a virtual camera), every frame for recordings only."""
    lossless: bool | None = None
    """Every frame reaches the outputs; None: for sources that are not live (files, the demo)."""
    warm_up: bool = False
    """Run each stage once before the clock starts (benchmarks)."""
    smooth_start: bool = False
    """Finish the stages' one-time work (Numba's load of their compiled kernels) before the
    first frame, but a talking head's build, which shows its placeholder meanwhile: ``camfx
    run``. Left to their background threads, it held the GIL in stretches while the first
    frames ran, and Studio's first second came as frames held 120-530 ms (1.0-1.5 s of stalls
    in the first ten frames; a recording started with that stutter, QA qa9 finding 6); warmed
    first, one 175-210 ms hold at the third frame, the first frame 0.5 s later (quiet 2-core
    machine, 2026-12-07)."""
    idle_after: float | None = None
    """Seconds without a receiver after which the engine idles (see ``Engine.idle_after``).
    Ignored when ``frames`` or ``seconds`` is set: such a run must end, and an idle engine
    counts none."""
    talking_head: TalkingHeadConfig | None = None
    out_size: tuple[int, int] | None = None
    """Size of the output frames; None: the source's."""
    stats_window: int = 600
    stages_required: bool = False
    """A stage that cannot open (a missing or changed model, a bad portrait) stops the run
    before any output opens, instead of leaving that effect out: the user named the preset."""
    cv_threads: int | None = cvthreads.CV_THREADS
    """OpenCV's thread pool while the engine runs (see :mod:`pipelines.cvthreads`)."""
    existing: ExistingFile = ExistingFile.REFUSE
    """What a recording does with a file already at its path (``--overwrite``: replace it,
    once the new one is complete)."""
    lost_card: bool = False
    """An unplugged camera sends the disconnected card while it reconnects
    (:attr:`SourceConfig.lost_card`): ``camfx run``, whose virtual camera would otherwise
    freeze on the last frame."""
    reconnect_limit_s: float | None = None
    """How long an unplugged camera reconnects before the run fails
    (:attr:`SourceConfig.reconnect_limit_s`); None: as long as the run lasts."""

    def preset_object(self) -> Preset:
        return get_preset(self.preset) if isinstance(self.preset, str) else self.preset

    def seconds_of_audio(self) -> float | None:
        """The talking head's audio file's length (None without one)."""
        audio_file = self.talking_head.audio_file if self.talking_head else None
        if not audio_file:
            return None
        from pipelines.audio.inputs import decoded_audio

        data, rate = decoded_audio(audio_file)  # shared with the stage and the sound track
        return len(data) / rate

    def run_length(self) -> RunConfig:
        """This config ending with its voice file where it sets no end of its own: after the
        file's seconds (:attr:`seconds`). Not a frame count at the asked rate: a camera gives
        frames at its own (15 fps in a dim room when 30 were asked) and drops what a busy
        machine does not take, a paced source watched live skips its late frames, and a video
        file has its own rate; by count at 30 fps, a 15 fps camera's run went on silent for as
        long again, a 25 fps video's for a fifth more."""
        seconds = self.seconds_of_audio()  # read (and refused in one line) in any case
        if self.frames is not None or self.seconds is not None or seconds is None:
            return self
        return replace(self, seconds=seconds)


VOICE_STAGE = "audio_mouth"
TALKING_HEAD_STAGE = "talking_head"


def talking_head_stages(
    config: TalkingHeadConfig,
    fps: float,
    *,
    with_tracker: bool = True,
    voice_settings: Mapping[str, Any] | None = None,
    head_settings: Mapping[str, Any] | None = None,
) -> list[Stage[Any]]:
    """Face tracker (unless the preset has one), voice → mouth, and the talking head.
    ``voice_settings`` and ``head_settings``: a preset's settings of those two stages (its
    gain, corner, size...), under what ``config`` sets."""
    from pipelines.audio.stage import AudioMouth, AudioMouthSettings
    from pipelines.avatar.stage import TalkingHead, TalkingHeadSettings

    stages: list[Stage[Any]] = []
    if with_tracker:
        from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

        stages.append(FaceTracker(FaceTrackerSettings(max_faces=1)))
    voice = AudioMouthSettings.from_dict(dict(voice_settings or {})).replace(
        input=config.audio,
        loop=False,
        clock="frames" if config.audio_file else "auto",
        fps=fps,
        video_delay_ms=config.video_delay_ms,
    )
    stages.append(AudioMouth(voice, required=config.audio_required))
    head = TalkingHeadSettings.from_dict(dict(head_settings or {})).replace(
        portrait=config.portrait, mode=config.mode, fps=fps
    )
    stages.append(TalkingHead(head))
    return stages


def _preset_spec(preset: Preset, stage: str) -> StageSpec | None:
    """``preset``'s first stage ``stage`` (in any spelling of its id), or None."""
    return next((s for s in preset.stages if known_stage_id(s.stage) == stage), None)


def preset_talking_head(preset: Preset) -> TalkingHeadConfig | None:
    """The talking head that ``preset``'s own stages carry (their portrait, mode and voice),
    or None when it has none: what ``camfx run --preset P --audio FILE`` drives with FILE."""
    head = _preset_spec(preset, TALKING_HEAD_STAGE)
    if head is None:
        return None
    from pipelines.audio.stage import AudioMouthSettings
    from pipelines.avatar.stage import TalkingHeadSettings

    head_settings = TalkingHeadSettings.from_dict(dict(head.settings))
    voice = _preset_spec(preset, VOICE_STAGE)
    return TalkingHeadConfig(
        portrait=head_settings.portrait,
        audio=AudioMouthSettings.from_dict(dict(voice.settings)).input if voice else "none",
        mode=head_settings.mode,
    )


def preset_stages(
    preset: Preset, talking_head: TalkingHeadConfig | None, fps: float
) -> list[Stage[Any]]:
    """The stages of ``preset`` with ``talking_head``: in place of the preset's own talking
    head (its other settings kept), or after the preset's stages when it has none. Appended to
    a talking-head preset, it made two talking heads, the preset's one on its bundled clip."""
    if talking_head is None:
        return build_stages(preset)
    with_tracker = all(known_stage_id(s.stage) != "face_tracker" for s in preset.stages)
    head = _preset_spec(preset, TALKING_HEAD_STAGE)
    if head is None:
        return build_stages(preset) + talking_head_stages(
            talking_head, fps, with_tracker=with_tracker
        )
    voice = _preset_spec(preset, VOICE_STAGE)
    own = talking_head_stages(
        talking_head,
        fps,
        with_tracker=with_tracker,
        voice_settings=voice.settings if voice is not None else None,
        head_settings=head.settings,
    )
    stages: list[Stage[Any]] = []
    for spec in preset.stages:
        if spec is head:
            stages += own
        elif known_stage_id(spec.stage) != VOICE_STAGE:
            # The preset's voice is replaced: the new one goes right before the head (it only
            # gives the frame its audio), and the other stages keep their order.
            # (Built one by one, as the preset hides the room or not: its settings for that.)
            stages += build_stages(replace(preset, stages=(spec,)))
    return stages


def recording_audio(config: TalkingHeadConfig, stages: Sequence[Stage[Any]]) -> Any:
    """The sound track for video-file outputs: the voice file, or the microphone that the
    ``audio_mouth`` stage opens; None without a voice."""
    from pipelines.audio.inputs import parse_audio_spec
    from pipelines.audio.mux import FileAudio, MicAudio

    if config.audio_file:
        return FileAudio(config.audio_file)
    kind, _arg = parse_audio_spec(config.audio)
    if kind == "mic":
        stage = next((s for s in stages if getattr(s, "name", "") == "audio_mouth"), None)
        return MicAudio(stage) if stage is not None else None
    return None


def source_sound(source: str | Source) -> Any:
    """The sound track of a video file source that has one
    (:class:`~pipelines.audio.mux.VideoSound`), else None (also for a spec the source will
    refuse: it says why, in its own line)."""
    if not isinstance(source, str):
        return None
    from pipelines.audio.mux import VideoSound, has_sound
    from pipelines.sources import parse_source_spec

    try:
        kind, path = parse_source_spec(source)
    except CamfxError:
        return None
    return VideoSound(path) if kind == "video" and path and has_sound(path) else None


@dataclass
class Run:
    """A started engine with the source it reads; :meth:`close` stops both."""

    config: RunConfig
    engine: Engine
    source: Source
    owns_source: bool
    events: list[EngineEvent] = field(default_factory=list)
    """Every problem event so far (stage, source and output errors), in order."""

    def problems(self, *kinds: EventKind) -> list[str]:
        """``name: message`` of each recorded event of these kinds."""
        return [f"{ev.name}: {ev.message}" for ev in self.events if ev.kind in kinds]

    def wait(self, timeout: float | None = None) -> bool:
        return self.engine.wait(timeout)

    def close(self) -> None:
        """Stop the engine; close the source when this run opened it. Idempotent."""
        try:
            self.engine.stop()
        finally:
            if self.owns_source:
                self.source.close()


def build_engine(config: RunConfig, *, start: bool = True) -> Run:
    """Make the stages, outputs and source of ``config``, and the engine over them; start it
    unless ``start`` is False. A source opened here is closed again when anything fails."""
    from pipelines.outputs import make_output
    from pipelines.sources import open_source

    if config.stages is not None:
        stages = list(config.stages)
    else:
        stages = preset_stages(config.preset_object(), config.talking_head, config.fps)
    check_outputs_spare_inputs(config, stages)
    check_output_paths(config)
    if config.stages_required:
        check_stage_files(stages, config)
    if config.warm_up:
        for stage in stages:
            stage.warm_up()
    elif config.smooth_start:
        for stage in stages:
            if not stage.placeholder_until_warm:
                stage.warm_up()
    # Recordings get the voice (file or microphone) in the same pass as the video; without
    # one, a video file source's own sound.
    sound = recording_audio(config.talking_head, stages) if config.talking_head else None
    if sound is None:
        sound = source_sound(config.source)
    options: dict[str, Any] = {"existing": config.existing}
    if sound is not None:
        options["audio"] = sound
    outputs = [make_output(o, **options) if isinstance(o, str) else o for o in config.outputs]
    owns_source = isinstance(config.source, str)
    if isinstance(config.source, str):
        width, height = config.size
        source_config = SourceConfig(
            width=width,
            height=height,
            fps=config.fps,
            loop=config.loop,
            paced=config.paced,
            media_time=config.media_time,
            timing=config.timing or source_timing(outputs),
            lost_card=config.lost_card,
            reconnect_limit_s=config.reconnect_limit_s,
        )
        try:
            source = open_source(config.source, source_config)
        except CamfxError as exc:
            raise _with_output_problems(exc, outputs, config) from exc
    else:
        source = config.source
    engine: Engine | None = None
    try:
        if (not source.live or config.stages_required) and not config.warm_up:
            # Not live: every frame reaches the outputs, and none may show the placeholder of a
            # stage whose one-time work (the talking head's build) still runs. Stages required
            # (the command line): a portrait with no face refuses the run before it starts.
            for stage in stages:
                if stage.placeholder_until_warm:
                    stage.warm_up()
        # Files, images and the demo are not live: no frame of theirs needs dropping, so every
        # one reaches the outputs (a file gets all N frames). A camera is live: latest wins.
        lossless = config.lossless if config.lossless is not None else not source.live
        on_source_clock(stages, source, config.fps)
        max_frames, max_seconds = config.frames, config.seconds
        if max_frames is None and max_seconds is not None and takes_every_frame(source):
            # Exactly the frames of that time, as a recording times them.
            max_frames, max_seconds = max(1, math.ceil(max_seconds * source.media_fps)), None
        engine = Engine(
            source,
            stages,
            outputs,
            lossless=lossless,
            max_frames=max_frames,
            max_seconds=max_seconds,
            out_size=config.out_size,
            stats_window=config.stats_window,
            # A run with an end of its own must get there: an idle engine takes no frames.
            idle_after=config.idle_after
            if config.frames is None and config.seconds is None
            else None,
            stages_required=config.stages_required,
            cv_threads=config.cv_threads,
            # A stage whose open does not return in its stuck limit is left out (reported on
            # stderr) and joins when it opens; a preset that hides the room waits for it.
            incomplete=incomplete_for(config.preset_object().hides_room),
        )
        run = Run(config, engine, source, owns_source)
        engine.add_listener(lambda ev: run.events.append(ev) if ev.kind in PROBLEMS else None)
        if start:
            engine.start()
    except BaseException:
        # Also Ctrl+C or SIGTERM while the stages open: a half-started engine's threads would
        # keep the process alive after the command has given up.
        if engine is not None:
            with contextlib.suppress(Exception):
                engine.stop()
        if owns_source:
            source.close()
        raise
    return run


def takes_every_frame(source: Source) -> bool:
    """Whether the run gets every frame of ``source`` in order, timed by its index (a file,
    the demo or a picture that is not skipping late frames)."""
    return not source.live and not source.skips_late


def on_source_clock(stages: Sequence[Stage[Any]], source: Source, fps: float) -> None:
    """Time the talking head's stages (its voice file, its animation) by ``source``'s own
    rate where its frames' index counts it: a video file's (25 fps), not the asked ``fps``.
    At 30 a 25 fps video mouthed its voice file five sixths as fast as its recording (timed
    at the file's rate) played the sound: r 0.44 (2026-12-07). A live source's frames go by
    capture time (:class:`~pipelines.frame.FrameClock`)."""
    rate = source.media_fps
    if source.live or abs(rate - fps) < 1e-6:
        return
    for stage in stages:
        settings = stage.settings
        clocked = stage.name in (VOICE_STAGE, TALKING_HEAD_STAGE)
        if clocked and getattr(settings, "fps", None) == fps:
            stage.settings = settings.replace(fps=rate)


def check_stage_files(stages: Sequence[Stage[Any]], config: RunConfig) -> None:
    """Refuse, before any output opens, a run whose stages name a file they cannot use (a
    preset's background), in one line that names the preset, the file and what to do."""
    preset = config.preset_object().name if config.stages is None else ""
    for stage in stages:
        try:
            stage.check_files()
        except CamfxError as exc:
            if not preset:
                raise
            raise type(exc)(f"preset {preset!r}: {exc}") from None


def source_timing(outputs: Sequence[Output]) -> Timing:
    """Real time where any output is watched as it is made, else every frame (recordings,
    ``null``: a recording is timed by the frames' index and keeps the file's speed)."""
    return Timing.REAL_TIME if any(o.watched_live for o in outputs) else Timing.EVERY_FRAME


def file_outputs(config: RunConfig) -> list[str]:
    """The paths of ``config``'s recordings (a bad output spec is refused by name when the
    output is made)."""
    from pipelines.outputs import parse_output_spec

    paths = []
    for out in config.outputs:
        if not isinstance(out, str):
            continue
        try:
            kind, path = parse_output_spec(out)
        except CamfxError:
            continue
        if kind == "file" and path:
            paths.append(path)
    return paths


def check_outputs_spare_inputs(config: RunConfig, stages: Sequence[Stage[Any]] = ()) -> None:
    """Refuse a recording onto one of the run's own input files: ``--source talk.mp4 --output
    talk.mp4`` replaced the user's video with the first frames of its own processing (exit
    code 0), and a voice taken from an MP4 was overwritten the same way; so was a preset's
    background video (qa64): every file a stage's settings name is one too."""
    from pipelines.errors import OutputError
    from pipelines.outputs.existing import same_file
    from pipelines.schema import fields_of
    from pipelines.sources import parse_source_spec

    inputs: list[tuple[str, str]] = []
    with contextlib.suppress(CamfxError):  # a bad spec is refused by name later
        if isinstance(config.source, str):
            kind, arg = parse_source_spec(config.source)
            if kind in ("image", "video") and arg:
                inputs.append(("source file", arg))
        if config.talking_head is not None:
            if config.talking_head.portrait:
                inputs.append(("portrait file", config.talking_head.portrait))
            if config.talking_head.audio_file:
                inputs.append(("voice file", config.talking_head.audio_file))
    for stage in stages:
        for spec in fields_of(type(stage.settings)):
            value = getattr(stage.settings, spec.name, None)
            if spec.file is not None and isinstance(value, str) and value:
                where = os.path.expanduser(value)
                inputs.append((f"file {stage.name}'s {spec.name} names", where))
    for path in file_outputs(config):
        for what, used in inputs:
            if os.path.exists(used) and same_file(path, used):
                raise OutputError(
                    f"output file {path!r} is the {what} in this run: recording onto it "
                    "would overwrite it; give the recording another name"
                )


def check_output_paths(config: RunConfig) -> None:
    """Refuse, before anything is built, a recording into a folder that is not there or onto a
    folder, and the same file named twice (``--output a.mp4 --output a.mp4``: two writers on
    one file). A render checked its folder only after the avatar's build (5 s); the recorder
    checks again, and that it can write, when it is made."""
    from pipelines.errors import OutputError
    from pipelines.outputs.existing import refuse_existing
    from pipelines.outputs.recorder import check_file_path

    seen: dict[str, str] = {}
    for path in file_outputs(config):
        try:
            check_file_path(path)
            if config.existing is ExistingFile.REFUSE:
                refuse_existing(path)
        except OutputError as problem:
            # Every problem at once, the source's first (as when the source fails to open).
            source = _file_source_problem(config)
            if source is not None:
                raise type(source)(f"{source}; also: {problem}") from None
            raise
        key = os.path.realpath(path)
        if key in seen:
            raise OutputError(
                f"output file {path!r} is named twice (also as {seen[key]!r}); name each "
                "recording once"
            )
        seen[key] = path


def _file_source_problem(config: RunConfig) -> CamfxError | None:
    """What is wrong with the run's source where it is a picture or video file (that it is
    missing, a folder, unreadable), without opening it; None otherwise."""
    from pipelines.sources import parse_source_spec
    from pipelines.sources.files import check_readable

    if not isinstance(config.source, str):
        return None
    try:
        kind, arg = parse_source_spec(config.source)
        if kind in ("image", "video"):
            check_readable(arg, kind)
    except CamfxError as exc:
        return exc
    return None


def _with_output_problems(
    error: CamfxError, outputs: list[Output], config: RunConfig
) -> CamfxError:
    """``error`` (the source failed) with what is wrong with the outputs too, so that a user
    missing both a camera and a virtual camera hears of both at once, not one per try."""
    problems = [str(error)]
    width, height = config.size
    for out in outputs:
        try:
            out.check(width, height, config.fps)
        except (CamfxError, OSError) as exc:
            problems.append(str(exc))
        finally:
            # A half-opened output: its own error is the one reported.
            with contextlib.suppress(Exception):
                out.close()
    if len(problems) == 1:
        return error
    return type(error)("; also: ".join(problems))
