"""``camfx talking-head``: render a talking portrait to a video with sound, or capture one.

    camfx talking-head render --source demo --portrait me.png --audio speech.wav --output out.mp4
    camfx talking-head capture --source camera --output me.png

``render`` runs the face tracker, ``audio_mouth`` (the file, read by frame number so lips and
voice stay in step however fast frames render) and ``talking_head`` over the source, and writes
the video with the voice in one pass (H.264 + AAC, :mod:`pipelines.outputs.recorder`).

The same wiring serves ``camfx run --talking-head PORTRAIT --audio FILE``: both commands describe
the talking head with a :class:`~pipelines.build.TalkingHeadConfig` and build their engine with
:func:`pipelines.build.build_engine`. This module imports :mod:`app.cli` (its option parsers);
``app.cli`` loads this one only as a plugin, so the two never import each other.

Only argparse-level imports at module scope: ``camfx --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli import (
    AVATAR_MODES,
    EXIT_OUTPUT_FAILED,
    UNNAMED,
    CliError,
    add_overwrite_argument,
    existing_file_arg,
    given,
    parse_fps,
    parse_size,
    parse_video_delay,
    positive_int,
)

if TYPE_CHECKING:
    from pipelines.tracking.picture import PictureFace
    from pipelines.tracking.types import Face


RENDER_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi")
"""What ``talking-head render`` writes: H.264 with the voice in AAC, in each."""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("talking-head", help="render a talking portrait, or capture one")
    actions = parser.add_subparsers(dest="talking_head_action", metavar="ACTION", required=True)

    render = actions.add_parser("render", help="a video of the portrait speaking, with sound")
    render.add_argument(
        "--source", type=given, default="demo", help="video under the avatar (demo)"
    )
    render.add_argument(
        "--portrait", type=given, default=UNNAMED, help="image of the avatar (demo portrait)"
    )
    render.add_argument(
        "--output",
        type=given,
        required=True,
        help="the video to write: .mp4 (.mov, .m4v, .mkv and .avi too), with the voice",
    )
    add_overwrite_argument(render)
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
        type=given,
        required=True,
        help="the voice: a sound file (.wav, .flac, .mp3, .ogg, .m4a, or a video's sound "
        "track), or mic, mic:NAME, none with --frames",
    )
    render.add_argument("--avatar-mode", choices=AVATAR_MODES, default="overlay")
    render.add_argument(
        "--video-delay-ms", type=parse_video_delay, default=0.0, help=argparse.SUPPRESS
    )
    render.set_defaults(func=run_render)

    capture = actions.add_parser(
        "capture", help='"use my face": save the avatar from a camera, a picture or a video'
    )
    capture.add_argument(
        "--source",
        type=given,
        default="camera",
        help="camera, camera:N, camera:NAME, a picture or a video file",
    )
    capture.add_argument(
        "--output",
        type=given,
        required=True,
        help="image file to write (.png, .jpg, .webp, .bmp, .tif)",
    )
    add_overwrite_argument(capture)
    capture.add_argument(
        "--tries",
        type=positive_int,
        default=60,
        help="frames of a camera or video to look for a face in (60; a picture is searched whole)",
    )
    capture.set_defaults(func=run_capture)


def run_render(args: argparse.Namespace) -> int:
    from pipelines.audio.inputs import parse_audio_spec
    from pipelines.build import RunConfig, TalkingHeadConfig, build_engine
    from pipelines.engine import EventKind
    from pipelines.errors import OutputError
    from pipelines.input_notes import input_notes

    out_path = Path(args.output)
    # The containers `camfx run` records (.mov and .avi were refused here, in a line that
    # named .mp4 alone: qa64).
    if out_path.suffix.lower() not in RENDER_SUFFIXES:
        raise OutputError(
            f"output {args.output!r}: use a .mp4 file (or {', '.join(RENDER_SUFFIXES[1:])})"
        )
    # A microphone makes the render live: the voice comes in real time, so frames must too
    # (at --fps), or --frames 240 took 4 s of the voice, not 8, and the file lasted as long.
    live = parse_audio_spec(args.audio)[0] == "mic"
    config = RunConfig(
        source=args.source,
        outputs=(str(out_path),),
        size=args.size,
        fps=args.fps,
        frames=args.frames,
        loop=True,
        paced=live,
        # Frames read as fast as they render carry their media time: the face tracker's
        # filters (the avatar's head follows its pose) then see the same frame gaps under any
        # load. Not with a microphone: its sound is placed by the frames' capture times.
        media_time=not live,
        lossless=True,
        out_size=args.size,
        # A changed model or a bad portrait refuses before anything is written.
        stages_required=True,
        talking_head=TalkingHeadConfig(
            portrait=args.portrait,
            audio=args.audio,
            mode=args.avatar_mode,
            video_delay_ms=args.video_delay_ms,
            audio_required=True,
        ),
        existing=existing_file_arg(args),
    )
    # A voice file sets the length: its seconds, as that many of the source's frames where
    # every one is taken (a camera gives frames at its own rate, the voice playing over them).
    config = config.run_length()
    if config.frames is None and config.seconds is None:
        # A microphone (or silence) never ends: without a bound the render would run forever.
        raise CliError(
            f"--audio {args.audio or repr('')} has no end of its own: give --frames N "
            f"(e.g. --frames {round(10 * args.fps)} for 10 s at {args.fps:g} fps)"
        )
    run = build_engine(config)
    output = run.engine.outputs[0]
    frames = run.engine.max_frames
    length = f"{frames} frames" if frames is not None else f"{config.seconds:.1f} s"
    print(f"camfx: rendering {length} of the talking head to {out_path}", file=sys.stderr)
    for note in input_notes(config, run.source):
        print(note, file=sys.stderr)
    from app import signals

    interrupted: KeyboardInterrupt | None = None
    # SIGTERM and Ctrl+C stop the render; the file is finished, sound included.
    with signals.sigterm_as_interrupt():
        try:
            run.wait()
        except KeyboardInterrupt as exc:
            interrupted = exc
        finally:
            with signals.finishing(str(out_path)):
                run.close()
    print(f"camfx: {output.summary()}", file=sys.stderr)
    if interrupted is not None:
        print(f"camfx: interrupted; {out_path} keeps what was rendered", file=sys.stderr)
        return signals.exit_code(interrupted)
    if output.failure:
        return EXIT_OUTPUT_FAILED
    errors = run.problems(EventKind.SOURCE_ERROR, EventKind.STAGE_OPEN_ERROR)
    if errors:
        raise CliError(errors[0])
    return 0


CAMERA_SETTLE_FRAMES = 2
"""A camera's first frames are not taken (auto exposure and white balance are still settling);
a video file's first frame is as good as any."""


def run_capture(args: argparse.Namespace) -> int:
    from pipelines.avatar.portrait import AvatarError, check_portrait_path
    from pipelines.outputs.existing import refuse_existing
    from pipelines.sources import SourceConfig, open_source, parse_source_spec
    from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

    check_portrait_path(args.output)
    kind, path = parse_source_spec(args.source)
    if kind in ("image", "video") and path:
        refuse_overwriting_the_source(path, args.output)
    if not args.overwrite:
        refuse_existing(args.output)  # before a camera opens or a face is searched
    if kind == "image" and path:
        return capture_from_picture(path, args.output)
    # A video's frames whole, as a photo is read (not cropped to the 16:9 frame), and not
    # looped: --tries more than its frames looks at each once.
    source = open_source(args.source, SourceConfig(paced=False, loop=False, whole=kind == "video"))
    live = source.live
    settle = CAMERA_SETTLE_FRAMES if live else 0
    tracker = FaceTracker(FaceTrackerSettings(max_faces=1, primary="largest"))
    tracker.open()
    looked_at = 0
    try:
        for _ in range(args.tries):
            try:
                frame = source.read()
            except EOFError:
                break
            if frame is None:
                continue
            looked_at += 1
            tracker.process(frame.image, frame.ctx)
            if frame.ctx.primary_face is None or frame.ctx.index < settle:
                continue
            if live:
                return save_camera_frame(frame.image, frame.ctx.primary_face, args.output)
            # A video's frame is a picture: the same crop, face and messages as a photo's.
            if capture_from_frame(frame.image, path, frame.ctx.index, args.output):
                return 0
    finally:
        tracker.close()
        source.close()
    if not live:  # a video: looking at the camera would not help
        raise AvatarError(
            f"no face found in {args.source!r} ({looked_at} frame{'' if looked_at == 1 else 's'} "
            "looked at); use a picture "
            "or video with one clearly visible, frontal face"
        )
    raise AvatarError(f"no face seen in {args.tries} frames; look at the camera and try again")


def save_camera_frame(image: Any, face: Face | None, output: str) -> int:
    from pipelines.avatar.portrait import capture_portrait, save_portrait

    saved = save_portrait(capture_portrait(image, face), output)
    print(f"camfx: avatar saved to {saved}", file=sys.stderr)
    return 0


def capture_from_frame(image: Any, path: str, index: int, output: str) -> bool:
    """The avatar from one whole frame of a video, read as a photo is (:func:`capture_from_
    picture`: the same search, crop and messages); False when that search finds no face in a
    frame the tracker saw one in (a passing false detection), so the next frame is tried."""
    from pipelines.avatar.portrait import picture_portrait, save_portrait

    made = picture_portrait(image, path, no_face="none")
    if made is None:
        return False
    which = which_face(image, made.face.landmarks, made.face.searched_faces)
    saved = save_portrait(made.portrait, output)
    print(f"camfx: avatar saved to {saved} from frame {index + 1}{which}", file=sys.stderr)
    return True


def refuse_overwriting_the_source(source: str, output: str) -> None:
    """Refuse an ``--output`` that is the source file itself, before anything is written: the
    portrait would replace the user's photo."""
    from pipelines.outputs.existing import same_file

    if same_file(source, output):
        raise CliError(
            f"--output {output!r} is the source picture itself: saving the avatar there would "
            f"overwrite it; give another name, e.g. --output {portrait_name_for(output)!r}"
        )


def portrait_name_for(output: str) -> str:
    """A name next to ``output`` for the avatar (``me.jpg`` -> ``me_avatar.png``)."""
    path = Path(output)
    return str(path.with_name(f"{path.stem}_avatar.png"))


def capture_from_picture(path: str, output: str) -> int:
    """The avatar from a photo, read exactly as ``render --portrait`` reads one: the whole
    picture (not the source's crop to the frame, which cut a square photo's face at the eyes),
    its face searched for, and the same messages for no face or too small a face."""
    from pipelines.avatar.portrait import picture_portrait, read_portrait_image, save_portrait

    image, name = read_portrait_image(path)
    made = picture_portrait(image, name)
    which = which_face(image, made.face.landmarks, made.face.searched_faces)
    saved = save_portrait(made.portrait, output)
    print(f"camfx: avatar saved to {saved}{which}", file=sys.stderr)
    return 0


def which_face(image: Any, landmarks: Any, faces: Sequence[PictureFace] | None = None) -> str:
    """For a photo of several faces, which one the portrait took (the rest of the saved line:
    " (the largest of 2 faces, at 318,140)"); "" for a photo of one face. ``faces``: the
    photo's faces where the portrait's search found them already
    (:attr:`~pipelines.avatar.portrait.FoundFace.searched_faces`); looked for when None."""
    import numpy as np

    if faces is None:
        from pipelines.tracking.picture import faces_in_picture

        faces = faces_in_picture(image)
    if len(faces) < 2:
        return ""
    centre = np.asarray(landmarks, np.float64)[:, :2].mean(axis=0)
    # The detection the portrait's face lies in (the nearest, should none hold its centre).
    boxes = np.stack([face.box for face in faces]).astype(np.float64)
    box_centres = (boxes[:, :2] + boxes[:, 2:]) / 2.0
    used = int(np.argmin(np.linalg.norm(box_centres - centre, axis=1)))
    rank = "the largest" if used == 0 else "not the largest"
    return f" ({rank} of {len(faces)} faces, at {centre[0]:.0f},{centre[1]:.0f})"


def run(args: argparse.Namespace) -> int:
    return int(args.func(args))
