"""``camfx talking-head``: render a talking portrait to a video with sound, or capture one.

    camfx talking-head render --source demo --portrait me.png --audio speech.wav --output out.mp4
    camfx talking-head capture --source camera --output me.png

``render`` runs the face tracker, ``audio-mouth`` (the file, read by frame number so lips and
voice stay in step however fast frames render) and ``talking-head`` over the source, writes the
video, then muxes the audio file into it (PyAV).

The same wiring serves ``camfx run --talking-head PORTRAIT --audio FILE``: :func:`add_run_arguments`
adds the options to ``run``'s parser and :func:`plan_run` returns the stages to append and the
step that adds the sound once the engine has stopped.

Only argparse-level imports at module scope: ``camfx --help`` stays instant.
"""

from __future__ import annotations

import argparse
import math
import os
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
        "(default: mic; a file is also muxed into .mp4 outputs)",
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

    def frames_for_audio(self) -> int | None:
        """Frames that cover the audio file (None for a microphone)."""
        if not self.audio_file:
            return None
        from pipelines.audio.inputs import read_audio_file

        data, rate = read_audio_file(self.audio_file)
        return max(1, math.ceil(len(data) / rate * self.fps))

    def finish(self, outputs: list[str]) -> list[str]:
        """Mux the audio file into every video-file output; returns one line per file."""
        if not self.audio_file:
            return []
        from pipelines.audio.inputs import read_audio_file
        from pipelines.audio.mux import mux_audio
        from pipelines.outputs import parse_output_spec

        data, rate = read_audio_file(self.audio_file)
        done = []
        for spec in outputs:
            name, arg = parse_output_spec(spec)
            if name != "file" or not arg or not os.path.isfile(arg):
                continue
            mux_audio(arg, data, rate, arg)
            done.append(f"{arg}: sound from {self.audio_file}")
        return done


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
    return RunPlan(stages, audio_file, args.fps)


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
        help="frames to write (default: as long as the audio file; required with a live "
        "--audio mic or none, which have no end of their own)",
    )
    render.add_argument(
        "--audio",
        required=True,
        help="the voice: a .wav or .flac file (or mic, mic:NAME, none with --frames)",
    )
    render.add_argument("--avatar-mode", choices=MODES, default="overlay")
    render.add_argument("--video-delay-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    render.set_defaults(func=run_render)

    capture = actions.add_parser("capture", help='"use my face": save the avatar from a camera')
    capture.add_argument("--source", default="camera", help="camera, camera:N, or an image")
    capture.add_argument(
        "--output", required=True, help="image file to write (.png, .jpg, .webp, .bmp, .tif)"
    )
    capture.add_argument(
        "--tries", type=positive_int, default=60, help="frames to look for a face (60)"
    )
    capture.set_defaults(func=run_capture)


def run_render(args: argparse.Namespace) -> int:
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
    if args.frames is None and not plan.audio_file:
        # A microphone (or silence) never ends: without a bound the render would run forever.
        # (A CamfxError, not app.cli's CliError: that class is another one under `python -m`.)
        from pipelines.errors import CamfxError

        raise CamfxError(
            f"--audio {args.audio} has no end of its own: give --frames N "
            f"(e.g. --frames {round(10 * args.fps)} for 10 s at {args.fps:g} fps)"
        )
    frames = args.frames or plan.frames_for_audio()
    width, height = args.size
    config = SourceConfig(width=width, height=height, fps=args.fps, loop=True, paced=False)
    source = open_source(args.source, config)
    try:
        output = make_output(str(out_path))
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
                if ev.kind in ("source-error", "output-error", "stage-open-error")
                else None
            )
        )
        print(
            f"camfx: rendering {frames} frames of the talking head to {out_path}", file=sys.stderr
        )
        engine.start()
        try:
            engine.wait()
        finally:
            engine.stop()
    finally:
        source.close()
    if errors:
        from app.cli import CliError

        raise CliError(errors[0])
    for line in plan.finish([str(out_path)]):
        print(f"camfx: {line}", file=sys.stderr)
    snap = engine.snapshot()
    print(f"camfx: {snap.frames_output} frames written", file=sys.stderr)
    return 0


def check_portrait_output(path: str) -> None:
    """Refuse an output OpenCV cannot write (``x.txt``) or a missing folder before a camera
    opens: found only after the face, it was a ``cv2.error`` traceback."""
    import cv2

    from pipelines.avatar.portrait import AvatarError

    out = Path(path)
    if not cv2.haveImageWriter(str(out)):
        raise AvatarError(
            f"cannot save the portrait as {path!r}: not an image type; use a .png or .jpg name"
        )
    if not out.parent.is_dir():
        raise AvatarError(f"cannot save the portrait: folder {str(out.parent)!r} does not exist")


def run_capture(args: argparse.Namespace) -> int:
    from pipelines.avatar.portrait import AvatarError, capture_portrait, save_portrait
    from pipelines.sources import SourceConfig, open_source
    from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

    check_portrait_output(args.output)
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
