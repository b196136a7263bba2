"""``camfx talking-head``: render a talking portrait to a video with sound, or capture one.

    camfx talking-head render --source demo --portrait me.png --audio speech.wav --output out.mp4
    camfx talking-head capture --source camera --output me.png

``render`` runs the face tracker, ``audio-mouth`` (the file, read by frame number so lips and
voice stay in step however fast frames render) and ``talking-head`` over the source, and writes
the video with the voice in one pass (H.264 + AAC, :mod:`pipelines.outputs.recorder`).

The same wiring serves ``camfx run --talking-head PORTRAIT --audio FILE``: :func:`add_run_arguments`
adds the options to ``run``'s parser and :func:`plan_run` returns the stages to append and the
sound track for the recordings (the file, or the microphone).

Only argparse-level imports at module scope: ``camfx --help`` stays instant.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("overlay", "stand-in", "auto")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The talking-head options of ``camfx run`` (and of ``talking-head render``)."""
    group = parser.add_argument_group("talking head")
    group.add_argument(
        "--talking-head",
        metavar="PORTRAIT",
        nargs="?",
        const="",
        default=None,
        help="animate PORTRAIT (an image; no value: the demo portrait) with the voice",
    )
    group.add_argument(
        "--audio",
        default=None,
        help="the voice: mic, mic:NAME-OR-INDEX, none, or a .wav/.flac file "
        "(default: mic; .mp4 outputs record it, file or microphone)",
    )
    group.add_argument(
        "--avatar-mode",
        choices=MODES,
        default=None,
        help="overlay (corner), stand-in (replaces the video) or auto (default: overlay, "
        "stand-in while no face is seen)",
    )
    group.add_argument(
        "--video-delay-ms",
        type=float,
        default=0.0,
        help="delay the video so lips and voice arrive together at the far end (0)",
    )


@dataclass
class RunPlan:
    stages: list[Any]
    audio_file: str | None
    fps: float
    messages: list[str] = field(default_factory=list)
    audio_kind: str = "none"
    """The voice's input kind: "file", "mic", "none" (what a recording records)."""

    def frames_for_audio(self) -> int | None:
        """Frames that cover the audio file (None for a microphone)."""
        if not self.audio_file:
            return None
        from pipelines.audio.inputs import read_audio_file

        data, rate = read_audio_file(self.audio_file)
        return max(1, math.ceil(len(data) / rate * self.fps))

    def recording_audio(self) -> Any:
        """The sound track for video-file outputs (written in the same pass as the video): the
        voice file, or the microphone the ``audio-mouth`` stage opens; None without a voice."""
        from pipelines.audio.mux import FileAudio, MicAudio

        if self.audio_file:
            return FileAudio(self.audio_file)
        if self.audio_kind == "mic":
            stage = next((s for s in self.stages if getattr(s, "name", "") == "audio-mouth"), None)
            return MicAudio(stage) if stage is not None else None
        return None


def plan_run(args: argparse.Namespace, *, with_tracker: bool = True) -> RunPlan | None:
    """Stages for ``--talking-head`` (None when the option is absent)."""
    if getattr(args, "talking_head", None) is None:
        return None
    from pipelines.audio.inputs import parse_audio_spec
    from pipelines.audio.stage import AudioMouth, AudioMouthSettings
    from pipelines.avatar.stage import TalkingHead, TalkingHeadSettings

    audio = args.audio if args.audio is not None else "mic"
    kind, arg = parse_audio_spec(audio)
    audio_file = arg if kind == "file" else None
    stages: list[Any] = []
    if with_tracker:
        from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

        stages.append(FaceTracker(FaceTrackerSettings(max_faces=1)))
    stages.append(
        AudioMouth(
            AudioMouthSettings(
                input=audio,
                loop=False,
                clock="frames" if audio_file else "auto",
                fps=args.fps,
                video_delay_ms=args.video_delay_ms,
            )
        )
    )
    mode = args.avatar_mode or "auto"
    stages.append(
        TalkingHead(TalkingHeadSettings(portrait=args.talking_head, mode=mode, fps=args.fps))
    )
    return RunPlan(stages, audio_file, args.fps, audio_kind=kind)


def add_parser(sub: Any) -> None:
    from app.cli import parse_fps, parse_size, positive_int

    parser = sub.add_parser("talking-head", help="render a talking portrait, or capture one")
    actions = parser.add_subparsers(dest="talking_head_action", metavar="ACTION", required=True)

    render = actions.add_parser("render", help="a video of the portrait speaking, with sound")
    render.add_argument("--source", default="demo", help="video under the avatar (demo)")
    render.add_argument("--portrait", default="", help="image of the avatar (demo portrait)")
    render.add_argument("--output", required=True, help="the .mp4 to write")
    render.add_argument("--size", type=parse_size, default=(1280, 720), help="WxH (1280x720)")
    render.add_argument("--fps", type=parse_fps, default=30.0, help="frames per second (30)")
    render.add_argument(
        "--frames",
        type=positive_int,
        default=None,
        help="frames to write (default: as long as the audio)",
    )
    render.add_argument("--audio", required=True, help="the voice: a .wav or .flac file")
    render.add_argument("--avatar-mode", choices=MODES, default="overlay")
    render.add_argument("--video-delay-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    render.set_defaults(func=run_render)

    capture = actions.add_parser("capture", help='"use my face": save the avatar from a camera')
    capture.add_argument("--source", default="camera", help="camera, camera:N, or an image")
    capture.add_argument("--output", required=True, help="image file to write (.png)")
    capture.add_argument(
        "--tries", type=positive_int, default=60, help="frames to look for a face (60)"
    )
    capture.set_defaults(func=run_capture)


def run_render(args: argparse.Namespace) -> int:
    from app import signals
    from pipelines.engine import Engine
    from pipelines.errors import OutputError
    from pipelines.outputs import make_output
    from pipelines.sources import SourceConfig, open_source

    out_path = Path(args.output)
    if out_path.suffix.lower() not in (".mp4", ".m4v", ".mkv"):
        raise OutputError(f"output {args.output!r}: use a .mp4 file")
    args.talking_head = args.portrait
    plan = plan_run(args)
    assert plan is not None
    frames = args.frames or plan.frames_for_audio()
    width, height = args.size
    config = SourceConfig(width=width, height=height, fps=args.fps, loop=True, paced=False)
    source = open_source(args.source, config)
    interrupted: KeyboardInterrupt | None = None
    try:
        output = make_output(str(out_path), audio=plan.recording_audio())
        engine = Engine(
            source,
            plan.stages,
            [output],
            lossless=True,
            max_frames=frames,
            out_size=(width, height),
        )
        errors: list[str] = []
        engine.add_listener(
            lambda ev: (
                errors.append(f"{ev.name}: {ev.message}")
                if ev.kind in ("source-error", "stage-open-error")
                else None
            )
        )
        print(
            f"camfx: rendering {frames} frames of the talking head to {out_path}", file=sys.stderr
        )
        # SIGTERM and Ctrl+C stop the render; the file is finished, sound included.
        with signals.sigterm_as_interrupt():
            try:
                engine.start()
                engine.wait()
            except KeyboardInterrupt as exc:
                interrupted = exc
            finally:
                with signals.finishing(str(out_path)):
                    engine.stop()
    finally:
        source.close()
    print(f"camfx: {output.summary()}", file=sys.stderr)
    if interrupted is not None:
        print(f"camfx: interrupted; {out_path} keeps what was rendered", file=sys.stderr)
        return signals.exit_code(interrupted)
    if output.failure:
        from app.cli import EXIT_OUTPUT_FAILED

        return EXIT_OUTPUT_FAILED
    if errors:
        from app.cli import CliError

        raise CliError(errors[0])
    return 0


def run_capture(args: argparse.Namespace) -> int:
    from pipelines.avatar.portrait import AvatarError, capture_portrait, save_portrait
    from pipelines.sources import SourceConfig, open_source
    from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

    source = open_source(args.source, SourceConfig(paced=False))
    tracker = FaceTracker(FaceTrackerSettings(max_faces=1, primary="largest"))
    tracker.open()
    try:
        for _ in range(args.tries):
            frame = source.read()
            if frame is None:
                continue
            tracker.process(frame.image, frame.ctx)
            if frame.ctx.primary_face is not None and frame.ctx.index >= 2:
                portrait = capture_portrait(frame.image, frame.ctx.primary_face)
                path = save_portrait(portrait, args.output)
                print(f"camfx: avatar saved to {path}", file=sys.stderr)
                return 0
    finally:
        tracker.close()
        source.close()
    raise AvatarError(f"no face seen in {args.tries} frames; look at the camera and try again")


def run(args: argparse.Namespace) -> int:
    return int(args.func(args))
