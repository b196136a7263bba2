"""The ``camfx`` command. Heavy modules are imported inside the commands so ``--help`` is
instant and a missing optional library only affects the command that needs it."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import re
import sys
import time
import typing
from collections.abc import Callable, Sequence
from typing import Any

from pipelines import schema
from pipelines.errors import CamfxError

EXIT_USAGE = 2
EXIT_OUTPUT_FAILED = 1
"""An output (a recording) stopped on a write error; the others went on."""
EXIT_BROKEN_PIPE = 141
"""The reader of the output went away (``camfx devices | head -1``): 128 + SIGPIPE, as a
shell reports a command that signal ended, quietly (no traceback)."""

# Commands that live in their own modules. Each module must import only argparse-level things at
# module scope (``--help`` stays instant) and define ``add_parser(subparsers)``, which sets
# ``func=run`` on its parser, and ``run(args) -> int``.
PLUGIN_COMMANDS: list[str] = [
    "app.analyze",
    "app.talking_head_cmd",
    "app.setup_cmd",
    "app.repair_cmd",
]


class CliError(CamfxError):
    """A one-line message for the user; exit code 2. A :class:`CamfxError`, so that it is
    caught as one also where ``app.cli`` runs as ``__main__`` (``python -m app.cli``) and a
    second copy of this module raised it."""


def parse_size(text: str) -> tuple[int, int]:
    try:
        w_text, h_text = text.lower().split("x")
        w, h = int(w_text), int(h_text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720"
        ) from None
    # The bounds are the settings schema's (the window's output size has the same).
    wide, high = (schema.type_spec(t) for t in typing.get_args(schema.OutputSize))
    ok = (wide.lo or 0) <= w <= (wide.hi or 0) and (high.lo or 0) <= h <= (high.hi or 0)
    if not ok or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(
            f"size {text!r}: width and height must be even and between "
            f"{wide.lo}x{high.lo} and {wide.hi}x{high.hi}"
        )
    return w, h


MAX_FRAMES = 1_000_000_000
"""More frames than anyone runs (over a year at 30 fps). Every count has a finite bound: an
unbounded one reached ``deque(maxlen=...)`` and C sizes as an OverflowError traceback."""
MAX_SECONDS = 1_000_000.0
"""About 11 days; a finite bound that keeps ``inf`` (``1e999``) out of timers."""


class _Unnamed(str):
    """The empty value an option stands for when no value is given to it (``--talking-head``
    alone, ``--portrait`` left out: the demo portrait). argparse passes such a default or
    ``const`` through the option's type too: :func:`given` lets this one through."""


UNNAMED = _Unnamed("")


def given(text: str) -> str:
    """An argparse type for a value that names something (a source, a file, a device, a
    preset): an empty one, as an unset shell variable gives, is refused in one line. It was
    taken as no value: ``--source ""`` recorded the demo, ``--audio ""`` a silent video, exit 0
    (qa64)."""
    if not text.strip() and not isinstance(text, _Unnamed):
        raise argparse.ArgumentTypeError(
            "is empty (an unset shell variable?); give a value, or leave the option out"
        )
    return text


_MAX_NUMBER_CHARS = 40
"""Longer text is no number a user means; refused before ``int()`` parses thousands of digits."""


def _number_parser(kind: type, lo: float, hi: float, what: str = "") -> Callable[[str], Any]:
    """An argparse type: ``kind`` (int or float) within the finite range [lo, hi], with a
    one-line error."""
    noun = "a whole number" if kind is int else "a number"
    label = f"{what} " if what else ""

    def parse(text: str) -> Any:
        shown = text if len(text) <= _MAX_NUMBER_CHARS else text[:_MAX_NUMBER_CHARS] + "…"
        if len(text.strip()) > _MAX_NUMBER_CHARS:
            raise argparse.ArgumentTypeError(
                f"{label}{shown!r} is too long to be {noun} between {_plain(lo)} and {_plain(hi)}"
            )
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{label}{shown!r} is not {noun}") from None
        if lo <= value <= hi:  # False for NaN too
            return value
        if value < lo and hi >= MAX_FRAMES:  # an open-ended option: name the bound that matters
            bound = "0 or more" if lo == 0 else f"at least {_plain(lo)}"
        elif value > hi and hi >= MAX_FRAMES:
            bound = f"at most {_plain(hi)}"
        else:
            bound = f"between {_plain(lo)} and {_plain(hi)}"
        raise argparse.ArgumentTypeError(f"{label}{shown!r} must be {bound}")

    return parse


def schema_number(hint: Any, what: str) -> Callable[[str], Any]:
    """An argparse type for an option that sets a value of the settings schema: its kind
    and bounds are the schema's (:mod:`pipelines.schema`), never written here again."""
    spec = schema.type_spec(hint)
    if not spec.bounded or spec.kind not in (schema.FieldKind.INT, schema.FieldKind.FLOAT):
        raise TypeError(f"{what}: {hint!r} is not a bounded number of the schema")
    assert spec.lo is not None and spec.hi is not None
    return _number_parser(
        int if spec.kind is schema.FieldKind.INT else float, spec.lo, spec.hi, what
    )


def _plain(value: float) -> str:
    """1000000000, not 1e+09: bounds are shown as a user would type them."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


parse_fps = schema_number(schema.Fps, "fps")
parse_video_delay = schema_number(schema.VideoDelayMs, "video delay")
positive_int = _number_parser(int, 1, MAX_FRAMES)
nonnegative_int = _number_parser(int, 0, MAX_FRAMES)
non_negative_float = _number_parser(float, 0, MAX_SECONDS)


AVATAR_MODES: tuple[str, ...] = typing.get_args(schema.AvatarMode)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The talking-head options of ``camfx run`` (and of ``talking-head render``)."""
    group = parser.add_argument_group("talking head")
    group.add_argument(
        "--talking-head",
        type=given,
        metavar="PORTRAIT",
        nargs="?",
        const=UNNAMED,
        default=None,
        help="animate PORTRAIT (an image; no value: the demo portrait) with the voice",
    )
    group.add_argument(
        "--audio",
        type=given,
        default=None,
        help="the voice of --talking-head or of a talking-head preset: mic, mic:NAME-OR-INDEX, "
        "none, or a sound file (.wav, .flac, .mp3, .ogg, .m4a, or a video's sound track) "
        "(default: mic; a talking-head preset on the demo or a file source speaks its own "
        "clip instead, and says so; .mp4 outputs record it, file or microphone)",
    )
    group.add_argument(
        "--avatar-mode",
        choices=AVATAR_MODES,
        default=None,
        help="overlay (corner), stand-in (replaces the video) or auto (default: overlay, "
        "stand-in while no face is seen)",
    )
    group.add_argument(
        "--video-delay-ms",
        type=parse_video_delay,
        default=0.0,
        help="delay the video so lips and voice arrive together at the far end (0)",
    )


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    """``-y``/``--overwrite`` on a command that writes a file (see
    :mod:`pipelines.outputs.existing` for the rule without it)."""
    parser.add_argument(
        "-y",
        "--overwrite",
        action="store_true",
        help="replace a file already at an output path (without it camfx refuses, exit "
        "code 2; a recording replaces the old file only once the new one is complete)",
    )


def existing_file_arg(args: argparse.Namespace) -> Any:
    """The :class:`~pipelines.outputs.existing.ExistingFile` that ``--overwrite`` asks for."""
    from pipelines.outputs.existing import ExistingFile

    return ExistingFile.REPLACE if getattr(args, "overwrite", False) else ExistingFile.REFUSE


NEGATIVE_NUMBER_LIKE = re.compile(r"^-\.?\d")
"""A token that argparse reads as a value, not an option: a dash then a digit (``-5``, ``-1e3``,
``-.5``, ``-1x720``). Python 3.11's own pattern took only plain numbers, so ``--size -1x720``
read ``-1x720`` as an unknown option and said "expected one argument" instead of what the
size may be. No camfx option is a dash and a digit, so nothing is lost; Python 3.13 widened its
pattern the same way."""


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, naming where the options are listed
    (argparse's own printed the whole usage block, 7-10 lines, before the error), and that hands
    a dash-and-digit token to the option before it (:data:`NEGATIVE_NUMBER_LIKE`), whose own
    check then names the value and what is allowed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER_LIKE

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="camfx",
        description="Real-time webcam effects sent to a virtual camera. "
        "With no command, opens the window.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument(
        "--providers",
        default=None,
        help="inference providers: auto (default), or e.g. cuda,cpu or cpu",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # Listing presets loads only their small registration modules (no numpy, no models).
    from pipelines.presets import PRESETS

    common = OneLineErrorParser(add_help=False)
    common.add_argument(
        "--preset",
        type=given,
        default="off",
        metavar="PRESET",
        help=f"one of: {', '.join(PRESETS.names())} (default: off; see below); or one of "
        "your presets saved in the window, by its name (or user:NAME), or a preset .json path",
    )
    presets_epilog = "presets:\n" + "\n".join(
        f"  {name:<17} {PRESETS.get(name).description}" for name in PRESETS.names()
    )
    common.add_argument("--size", type=parse_size, default=(1280, 720), help="WxH (1280x720)")
    common.add_argument(
        "--fps",
        type=parse_fps,
        default=30.0,
        action=RecordGiven,
        help="frames per second of a camera, the demo or a picture (30); a video plays at its own",
    )
    common.add_argument("--frames", type=positive_int, default=None, help="stop after N frames")
    common.add_argument(
        "--cv-threads",
        type=_number_parser(int, 0, 256),
        default=None,
        metavar="N",
        help="OpenCV's threads while running (default 1: each call on the engine's own "
        "threads; 0: OpenCV's default, one per core)",
    )

    run = sub.add_parser(
        "run",
        parents=[common],
        help="stream a source through a preset",
        epilog=presets_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--source",
        type=given,
        default="demo",
        help="demo, camera, camera:N, camera:NAME, or a file path",
    )
    run.add_argument(
        "--output",
        type=given,
        action="append",
        default=None,
        help="virtualcam[:DEVICE], null, or a video file (.mp4; .mov, .m4v, .mkv and .avi too); "
        "repeat for several (default virtualcam)",
    )
    add_overwrite_argument(run)
    run.add_argument("--no-loop", action="store_true", help="stop at the end of a video file")
    run.add_argument(
        "--idle-after",
        type=non_negative_float,
        default=10.0,
        metavar="SECONDS",
        help="when no app has the virtual camera open for this long, release the camera and "
        "stop processing until one does (default 10; 0 never idles)",
    )
    run.add_argument(
        "--reconnect-limit",
        type=non_negative_float,
        default=RECONNECT_LIMIT_S,
        metavar="SECONDS",
        help="how long an unplugged camera is waited for (the outputs show 'Camera "
        f"disconnected') before the run ends with exit code 1 (default {RECONNECT_LIMIT_S:g}; "
        "0 waits for ever)",
    )
    add_run_arguments(run)

    bench = sub.add_parser(
        "bench",
        parents=[common],
        help="measure speed (on the demo source unless --source says otherwise)",
        epilog=presets_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--source",
        type=given,
        default="demo",
        help="what to measure on: demo (default: a face that pans, zooms and rolls), an image "
        "or a video file (e.g. a room with nobody in it), or a camera (camera, camera:N, "
        "camera:NAME: its throughput is then the camera's own frame rate)",
    )
    bench.add_argument("--json", action="store_true", help="print the results as JSON")
    bench.add_argument("--warmup", type=nonnegative_int, default=10, help="frames not counted (10)")
    bench.add_argument(
        "--gui",
        action="store_true",
        help="measure the window instead: the preview's shown fps and capture-to-screen "
        "latency, with the demo paced at --fps for --frames frames (default 300)",
    )
    bench.add_argument(
        "--soak",
        action="store_true",
        help="a long run (--frames, default 20000) that samples resident memory, threads and "
        "open files and prints how much each grows per 10,000 frames",
    )
    bench.set_defaults(frames=None)

    devices = sub.add_parser("devices", help="list cameras, virtual cameras, audio, providers")
    devices.add_argument("--json", action="store_true")

    gui = sub.add_parser(
        "gui",
        help="open the window (same as no command)",
        description="The camfx window; any option below is passed to it.",
    )
    gui.add_argument("--minimized", action="store_true", help="start in the tray, e.g. at login")
    gui.add_argument(
        "--source", type=given, default=None, help="use this source instead of the last one"
    )
    gui.add_argument("--no-tray", action="store_true", help="no tray icon")
    gui.add_argument("--no-hotkeys", action="store_true", help="no global hotkeys")
    for module_name in PLUGIN_COMMANDS:
        module = importlib.import_module(module_name)
        module.add_parser(sub)
    return parser


PATH_OPTIONS = ("source", "output", "audio", "talking_head", "portrait", "image", "mask", "paths")
"""The options (argparse ``dest``) that take a file path, alone or in a spec."""


def expand_home(value: Any) -> Any:
    """``~/clip.mp4`` → the home folder's clip, also after a spec's ``kind:`` prefix
    (``image:~/me.png``). The shell expands ``~`` only outside quotes, and a path with spaces
    is quoted: ``--source "~/My Videos/talk.mp4"`` reached camfx as is ("does not exist")."""
    if isinstance(value, list):
        return [expand_home(v) for v in value]
    if not isinstance(value, str):
        return value
    prefix, sep, rest = value.partition(":")
    if sep and len(prefix) > 1 and rest.startswith("~"):
        return f"{prefix}:{os.path.expanduser(rest)}"
    return os.path.expanduser(value) if value.startswith("~") else value


class RecordGiven(argparse.Action):
    """Stores the value as ``store`` does, and notes that the user gave the option (its
    default is a real value, so the two cannot be told apart afterwards)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, self.given(self.dest), True)

    @staticmethod
    def given(dest: str) -> str:
        """The namespace attribute that is True once the option ``dest`` was given."""
        return f"{dest}_given"


def said_by_the_command(record: logging.LogRecord) -> bool:
    """Whether a log record is printed: not the engine's record of a failed source, which the
    command ends with in its own one line (``camfx: source: ...``, exit 2)."""
    engine = sys.modules.get("pipelines.engine")  # not loaded: no record of its can come
    return (
        engine is None
        or getattr(record, engine.EVENT_LOG_KEY, None) != engine.EventKind.SOURCE_ERROR
    )


LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
USER_LINE_LOGGERS = frozenset({"pipelines.sources.files"})
"""Loggers whose warnings are news for the user of a run, not a fault of camfx's: printed as
``camfx:`` lines like the command's own (qa8 L4: "WARNING pipelines.sources.files: video file
… is still being written" read as an internal error)."""


class CommandLineFormatter(logging.Formatter):
    """The command line's log format; the warnings of :data:`USER_LINE_LOGGERS` as ``camfx:``
    lines."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name in USER_LINE_LOGGERS and record.levelno == logging.WARNING:
            return f"camfx: {record.getMessage()}"
        return super().format(record)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in PATH_OPTIONS:
        if hasattr(args, name):
            setattr(args, name, expand_home(getattr(args, name)))
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format=LOG_FORMAT,
    )
    for log_handler in logging.getLogger().handlers:
        log_handler.addFilter(said_by_the_command)
        if type(log_handler) is logging.StreamHandler:  # basicConfig's, not a test's capture
            log_handler.setFormatter(CommandLineFormatter(LOG_FORMAT))
    command = args.command or "gui"
    handler = getattr(args, "func", None) or COMMANDS[command]
    try:
        from pipelines.cvthreads import check_environment

        check_environment()
        if args.providers is not None or os.environ.get("CAMFX_PROVIDERS"):
            # Made here, so that an unknown provider in either is one line, exit 2, for every
            # command (``devices`` printed it twice, and exit 0: qa64).
            from pipelines.inference.session import SessionFactory, set_default_factory

            set_default_factory(SessionFactory(args.providers))
        code = handler(args)
        # Written out here, so that a reader that went away is met below, not at exit.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise  # another pipe (an encoder's, a device's): not the reader of our output
        # Python would flush stdout again at exit and fail again: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt as exc:
        from app import signals

        return signals.exit_code(exc)
    except CliError as exc:
        print(f"camfx: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        from pipelines.errors import CamfxError

        if isinstance(exc, CamfxError):
            print(f"camfx: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll says POLLERR)."""
    import select

    if not hasattr(select, "poll"):
        return True  # (Windows) a BrokenPipeError here is almost always the console's reader
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(revents & select.POLLERR for _, revents in poller.poll(0))
    except (OSError, ValueError):
        return False


def cmd_gui(args: argparse.Namespace) -> int:
    from app.gui import main as gui_main

    argv: list[str] = []
    for flag in ("minimized", "no_tray", "no_hotkeys"):
        if getattr(args, flag, False):
            argv.append("--" + flag.replace("_", "-"))
    if getattr(args, "source", None):
        argv += ["--source", args.source]
    return int(gui_main(argv))


def cli_preset(args: argparse.Namespace) -> Any:
    """The :class:`~pipelines.presets.Preset` of ``--preset``: built-in, one of the user's
    (by name or ``user:NAME``, as the window keeps them) or a preset file's path. Read once a
    run; a setting it cannot take is said here, once, and runs at its default."""
    cached = getattr(args, "_preset_object", None)
    if cached is not None:
        return cached
    from pipelines.userdata import PresetStore, find_preset

    store = PresetStore()
    try:
        preset, notes = find_preset(args.preset, store)
    finally:
        # A half-written preset file the search moved aside is said, even where the preset
        # named is not found: the user finds it under its new name.
        for moved in (p for p in store.problems if p.moved_to is not None):
            print(f"camfx: warning: {moved}", file=sys.stderr)
    for note in notes:
        print(f"camfx: warning: {note.message}", file=sys.stderr)
    args._preset_object = preset
    return preset


def run_config(args: argparse.Namespace, **changes: Any) -> Any:
    """The :class:`~pipelines.build.RunConfig` of ``run``/``bench``'s common options, with
    ``changes`` on top."""
    from pipelines.build import RunConfig, TalkingHeadConfig

    talking_head = None
    audio = getattr(args, "audio", None)
    if getattr(args, "talking_head", None) is not None:
        talking_head = TalkingHeadConfig(
            portrait=args.talking_head,
            audio=audio if audio is not None else "mic",
            mode=args.avatar_mode or "auto",
            video_delay_ms=args.video_delay_ms,
            # The default microphone too: with none, the run went on with an idle head, a
            # log line and exit 0 (qa64); a microphone missing at the start is not opened
            # later. --audio none asks for the idle head.
            audio_required=True,
        )
    elif _talking_head_options(args):
        talking_head = preset_talking_head_with_audio(args)
    config = RunConfig(
        source=getattr(args, "source", None) or "demo",
        outputs=tuple(getattr(args, "output", None) or ["virtualcam"]),
        preset=cli_preset(args),
        size=args.size,
        fps=args.fps,
        frames=args.frames,
        loop=not getattr(args, "no_loop", False),
        # Only a virtual camera can say whether anyone watches; a file always "watches".
        idle_after=getattr(args, "idle_after", None) or None,
        talking_head=talking_head,
        # The user named the preset: an effect that cannot start is an error, not a silently
        # unfiltered output.
        stages_required=True,
        cv_threads=cv_threads_arg(args),
        existing=existing_file_arg(args),
        reconnect_limit_s=getattr(args, "reconnect_limit", None) or None,
    )
    return dataclasses.replace(config, **changes)


def _talking_head_options(args: argparse.Namespace) -> list[str]:
    """The talking head's options given on the command line (``--audio`` …), as typed."""
    given = []
    if getattr(args, "audio", None) is not None:
        given.append(f"--audio {args.audio}")
    if getattr(args, "avatar_mode", None) is not None:
        given.append(f"--avatar-mode {args.avatar_mode}")
    if getattr(args, "video_delay_ms", 0.0):
        given.append(f"--video-delay-ms {args.video_delay_ms:g}")
    return given


def preset_talking_head_with_audio(args: argparse.Namespace) -> Any:
    """The talking head of ``--preset`` with the talking head's options given (``--audio``,
    ``--avatar-mode``, ``--video-delay-ms``; a :class:`~pipelines.build.TalkingHeadConfig`),
    as with ``--talking-head``: the preset's own bundled clip spoke instead, silently, and
    the recording had no sound. A run with no talking head is refused: the options would
    drive nothing (they were silently ignored)."""
    from pipelines.build import preset_talking_head
    from pipelines.presets import PRESETS

    carried = preset_talking_head(cli_preset(args))
    if carried is None:
        with_heads = [n for n in PRESETS.names() if preset_talking_head(PRESETS.get(n))]
        raise CliError(
            f"{', '.join(_talking_head_options(args))}: preset {args.preset!r} has no talking "
            f"head for that to drive; add --talking-head PORTRAIT, or pick a talking-head "
            f"preset ({', '.join(with_heads)})"
        )
    audio = getattr(args, "audio", None)
    return dataclasses.replace(
        carried,
        audio=audio if audio is not None else carried.audio,
        mode=args.avatar_mode or carried.mode,
        video_delay_ms=args.video_delay_ms,
        audio_required=True if audio is not None else carried.audio_required,
    )


def preset_voice(config: Any) -> tuple[Any, str | None]:
    """``run --preset P`` with no talking-head option, where P's talking head speaks a clip
    of its own (the talking-head preset: the bundled demo clip): on a live source (a camera)
    the microphone speaks instead, as ``--audio``'s default says; on the demo or a file source
    the clip does, played as a voice file (recorded with the picture, the run as long as the
    clip, as ``--audio FILE``), with the line that says so (None where the microphone
    speaks). The clip spoke in both cases before, silently, and the recording had no sound."""
    from pipelines.audio.inputs import voice_clip_file
    from pipelines.build import preset_talking_head

    carried = preset_talking_head(config.preset_object())
    if config.talking_head is not None or carried is None:
        return config, None
    clip = voice_clip_file(carried.audio)
    if clip is None:
        return config, None  # the preset's microphone or silence, as it says
    source = config.source
    live = source.live if not isinstance(source, str) else source_kind(source).live
    if live:
        head = dataclasses.replace(carried, audio="mic", audio_required=True)
        return dataclasses.replace(config, talking_head=head), None
    from pipelines.audio.inputs import decoded_audio

    data, rate = decoded_audio(clip)  # read once: the run's length and the sound track share it
    head = dataclasses.replace(carried, audio=f"file:{clip}", audio_required=True)
    note = (
        f"camfx: the talking head speaks the preset's clip {os.path.basename(clip)} "
        f"({len(data) / rate:.1f} s, recorded with the video), not the microphone; "
        "--audio mic for your microphone, --audio FILE for a voice file"
    )
    return dataclasses.replace(config, talking_head=head), note


def source_kind(spec: str) -> Any:
    """The source class that ``spec`` names (a spec no source takes is refused here, in the
    one line the source's opening would give)."""
    from pipelines.sources import SOURCES, parse_source_spec

    return SOURCES.get(parse_source_spec(spec)[0])


def opencv_threads_used(requested: int | None) -> str:
    """How many threads OpenCV had in the engine, in words (for ``bench``)."""
    import os

    from pipelines.cvthreads import ENV_OVERRIDE

    if os.environ.get(ENV_OVERRIDE):
        return f"{ENV_OVERRIDE}={os.environ[ENV_OVERRIDE]}"
    return str(requested) if requested is not None else "OpenCV's default"


def cv_threads_arg(args: argparse.Namespace) -> int | None:
    """``--cv-threads``: None (OpenCV's default) for 0, the engine's default when not given."""
    from pipelines.cvthreads import CV_THREADS

    value = getattr(args, "cv_threads", None)
    if value is None:
        return CV_THREADS
    return int(value) or None


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.build import build_engine
    from pipelines.engine import EventKind
    from pipelines.input_notes import input_notes
    from pipelines.stats import KeepUpWatch

    # A camera unplugged mid-run sends the disconnected card, as in the window: a meeting
    # watching the virtual camera sees that, not the last frame frozen.
    # The stages' one-time work before the first frame: no stutter in a recording's start.
    config, voice_note = preset_voice(run_config(args, lost_card=True, smooth_start=True))
    if voice_note:
        print(voice_note, file=sys.stderr)
    if config.talking_head is not None:
        # The voice file is read (and refused, in one line) before anything opens, with
        # --frames too: a broken one otherwise ran silent and exited 0, or was reported as
        # the recording's fault. Without --frames it sets the length: the video ends with the
        # speech (a camera's run: by time, its frames come as the camera gives them).
        config = config.run_length()
    from app import signals

    tty = sys.stderr.isatty()
    interrupted: KeyboardInterrupt | None = None
    # SIGTERM (shutdown, kill, a service manager) stops like Ctrl+C: recordings are finished.
    # The engine is built inside, so a signal that arrives while models load or before the loop
    # below still stops every thread the engine started.
    if tty:
        # Models load and a talking head is built before the first line: 3 s on a quiet
        # 2-core machine, 19 s beside six CPU hogs with nothing said (QA qa9). Overwritten by
        # whatever comes next (every camfx line is longer), and only on a terminal: a script
        # still gets one line for bad input.
        print(STARTING_LINE, end="\r", file=sys.stderr, flush=True)
    with signals.sigterm_as_interrupt():
        run = build_engine(config)
        engine, source = run.engine, run.source
        try:
            print(
                f"camfx: {source.description} -> "
                f"{', '.join(o.description for o in engine.outputs)} "
                f"(preset {args.preset}); Ctrl+C to stop",
                file=sys.stderr,
            )
            for note in input_notes(config, source):
                print(note, file=sys.stderr)
            fps_given = getattr(args, RecordGiven.given("fps"), False)
            # A camera (live) takes --fps as its asked rate and paces itself (pace_fps 0).
            if fps_given and not source.live and source.pace_fps != config.fps:
                # A video is paced at its own rate (frames are neither doubled nor dropped):
                # said, not silently ignored.
                print(
                    f"camfx: {source.arg} plays at its own {source.pace_fps:g} fps; --fps "
                    f"{config.fps:g} sets the rate of a camera, the demo or a picture",
                    file=sys.stderr,
                )
            watch = CameraWatch.of(source, config.reconnect_limit_s)
            # A run that only records is not paced: it takes as long as it takes.
            keep_up = KeepUpWatch(source.actual_fps if source.config.paced else 0.0)
            while engine.running:
                engine.wait(0.5)
                behind = None if engine.idle else keep_up.news(engine.stats.fps(), time.monotonic())
                for news in watch.news() + ([f"camfx: {behind}"] if behind else []):
                    # The status line (a terminal's) is overwritten by the news, then redrawn.
                    print(("\r" + " " * 78 + "\r") * tty + news, file=sys.stderr, flush=True)
                if tty:
                    # Padded so a shorter line fully covers the previous one.
                    line = engine.snapshot().status_line()
                    if engine.idle:
                        line += " | idle: no app uses the virtual camera"
                    line = line.ljust(78)
                    print("\r" + line, end="", file=sys.stderr, flush=True)
        except KeyboardInterrupt as exc:
            interrupted = exc
        finally:
            with signals.finishing("the outputs"):
                run.close()
    snap = engine.snapshot(whole_run=True)
    if tty:
        print(file=sys.stderr)
    from pipelines.outputs.recorder import VideoFileOutput

    for out in engine.outputs:
        if out.failure or isinstance(out, VideoFileOutput):
            print(f"camfx: {out.summary()}", file=sys.stderr)
    print(f"camfx: {snap.status_line()}", file=sys.stderr)
    from pipelines.sources.camera import CameraGoneError

    errors = run.problems(EventKind.SOURCE_ERROR)
    gone = [ev for ev in run.events if isinstance(ev.exception, CameraGoneError)]
    if gone:
        # Not the user's input (exit 2): the device went away mid-run; what was recorded is
        # kept, and said above.
        print(f"camfx: {gone[0].message}", file=sys.stderr)
        return EXIT_CAMERA_LOST
    if errors:
        raise CliError(errors[0])
    if any(out.failure for out in engine.outputs):
        return EXIT_OUTPUT_FAILED
    if snap.errors:
        # An effect bypassed on frames did not make what was asked (qa64: privacy-blur's
        # segmentation failing on every frame ended "errors 30", exit 0).
        name, count = max(snap.errors.items(), key=lambda item: item[1])
        first = run.problems(EventKind.STAGE_ERROR)
        said = next((p for p in first if p.startswith(f"{name}: ")), f"{name}: failed")
        print(
            f"camfx: the effect {said} (on {count} of {snap.frames_processed} frames)",
            file=sys.stderr,
        )
        return EXIT_OUTPUT_FAILED
    if interrupted is not None and (
        engine.max_frames is not None or engine.max_seconds is not None
    ):
        # A run with an end of its own (--frames, or a voice file's length) cut short did not
        # make what was asked: a script's `camfx run ... && upload` must not go on, as after
        # a cut-short `talking-head render`. A live stream has no other way to stop: 0.
        kept = [
            out.arg
            for out in engine.outputs
            if isinstance(out, VideoFileOutput) and not out.empty_notice
        ]
        keeps = f"; {', '.join(kept)} keep{'s' * (len(kept) == 1)} what was recorded"
        done = f"{snap.frames_processed} of {engine.max_frames} frames"
        if engine.max_frames is None and engine.max_seconds is not None:
            done = (
                f"{engine.seconds_delivered:.1f} s of the voice's {engine.max_seconds:.1f} s "
                f"({snap.frames_processed} frames)"
            )
        print(f"camfx: interrupted after {done}" + (keeps if kept else ""), file=sys.stderr)
        return signals.exit_code(interrupted)
    if any(isinstance(out, VideoFileOutput) and out.empty_notice for out in engine.outputs):
        # Stopped before its first frame: the file asked for is not there (said above).
        return EXIT_OUTPUT_FAILED
    return 0


STARTING_LINE = "camfx: starting"
"""Said on a terminal while ``camfx run`` opens its source, models and stages."""

RECONNECT_LIMIT_S = 60.0
"""How long ``camfx run`` waits for an unplugged camera (``--reconnect-limit``): a replug or a
USB hub's reset is back within seconds (the camera source retries every second); one not back
after a minute is not coming back by itself, and a headless run (a service) then ends so that
whatever started it can tell, instead of sending the card for ever."""

EXIT_CAMERA_LOST = 1
"""``camfx run`` whose camera went away and did not come back (a device fault, not bad input:
not the usage code 2); as a failed output, the recording is kept."""


@dataclasses.dataclass
class CameraWatch:
    """Says on stderr, one line each, when the run's camera goes and when it is back (the
    camera source counts both, so a loss shorter than the 0.5-s poll is still said)."""

    camera: Any
    """The run's :class:`~pipelines.sources.camera.CameraSource`; None: not a camera."""
    limit_s: float | None
    losses: int = 0
    reconnects: int = 0

    @classmethod
    def of(cls, source: Any, limit_s: float | None) -> CameraWatch:
        from pipelines.sources.camera import CameraSource

        camera = source if isinstance(source, CameraSource) else None
        watch = cls(camera, limit_s)
        if camera is not None:
            watch.losses, watch.reconnects = camera.losses, camera.reconnects
        return watch

    def news(self) -> list[str]:
        camera = self.camera
        if camera is None:
            return []
        lines = []
        name = f"camera {camera.arg or '0'}"
        losses, reconnects = camera.losses, camera.reconnects
        if losses > self.losses:
            self.losses = losses
            waits = f"for {self.limit_s:g} s" if self.limit_s is not None else "until it is back"
            lines.append(
                f"camfx: {name} disconnected; the outputs show 'Camera disconnected' and it "
                f"reconnects {waits}"
            )
        if reconnects > self.reconnects:
            self.reconnects = reconnects
            outage = camera.last_outage_s
            lines.append(f"camfx: {name} is back" + (f" after {outage:.1f} s" if outage else ""))
        return lines


SOAK_FRAMES = 20_000
SOAK_SAMPLE_S = 0.5


def cmd_soak(args: argparse.Namespace) -> int:
    """``bench --soak``: the demo through the preset flat out, sampled every half second."""
    import contextlib

    from pipelines.soak import SoakSampler, format_soak

    args.frames = args.frames or SOAK_FRAMES
    sampler = SoakSampler()
    from pipelines.build import build_engine

    with contextlib.redirect_stdout(sys.stderr):
        run = build_engine(
            run_config(
                args,
                source=bench_source(args),
                outputs=("null",),
                frames=args.frames + args.warmup,
                paced=False,
                lossless=True,
                warm_up=True,
                talking_head=None,
            )
        )
        engine = run.engine
        try:
            # Only while the engine runs (it has started here): once it stops, its threads
            # are gone and a last sample would read as threads given back.
            sampler.sample(engine.stats.frames_output)
            while not engine.wait(SOAK_SAMPLE_S):
                sampler.sample(engine.stats.frames_output)
        finally:
            run.close()
    report = sampler.report()
    report.update(
        preset=args.preset,
        size=f"{args.size[0]}x{args.size[1]}",
        frames=engine.stats.frames_output,
        throughput_fps=round(engine.stats.throughput(skip=args.warmup), 1),
        errors=dict(engine.stats.errors),
    )
    if args.json:
        print(json.dumps(_finite(report), indent=2, allow_nan=False))
    else:
        print(f"camfx bench --soak: preset {args.preset}, {report['size']}")
        print(format_soak(report))
        print(f"throughput: {report['throughput_fps']} fps")
        if report["errors"]:
            print(f"stage errors: {report['errors']}")
    return 0


def bench_source(args: argparse.Namespace) -> str:
    """What ``bench`` measures on: ``--source``, the demo when not given."""
    return str(getattr(args, "source", None) or "demo")


def cmd_bench(args: argparse.Namespace) -> int:
    import contextlib

    from pipelines.build import build_engine
    from pipelines.inference.session import all_reports, short_name

    if getattr(args, "soak", False):
        if getattr(args, "gui", False):
            # The soak ran without the window, silently (qa64).
            raise CliError(
                "--gui and --soak measure different things (the window's preview; the engine's "
                "memory over a long run); give one of them"
            )
        return cmd_soak(args)
    frames = args.frames or 300
    args.frames = frames
    if getattr(args, "gui", False):
        from app.gui.bench import format_gui_bench, run_gui_bench

        if bench_source(args) != "demo":
            raise CliError(
                f"--source {bench_source(args)!r}: `camfx bench --gui` measures the window on "
                "the demo only; leave out --source, or drop --gui"
            )

        gui = run_gui_bench(
            args.preset,
            args.size,
            args.fps,
            seconds=frames / args.fps,
            warmup_frames=args.warmup,
        )
        print(json.dumps(_finite(gui), indent=2) if args.json else format_gui_bench(gui))
        return 0
    began = (time.monotonic(), machine_busy_s(), time.process_time())
    # Model loading may print (ONNX Runtime's "EP Error" banners) to stdout: keep stdout for
    # the results alone, so `--json` output parses.
    with contextlib.redirect_stdout(sys.stderr):
        # 1. Throughput: the demo as fast as the engine takes it, every frame processed.
        total = frames + args.warmup
        throughput = build_engine(
            run_config(
                args,
                source=bench_source(args),
                outputs=("null",),
                frames=total,
                paced=False,
                lossless=True,
                warm_up=True,
                stats_window=max(600, total + 10),
                talking_head=None,
            )
        )
        try:
            throughput.wait()
        finally:
            throughput.close()
        # 2. Latency and CPU as a camera sees them: frames at --fps, the newest wins.
        source_cpu = source_cpu_ms_per_grab(args, max(10, min(SOURCE_CPU_GRABS, frames)))
        paced, cpu = run_paced(args, frames, source_cpu)
        # 3. Modes the demo never brings about (the talking head's stand-in: its face is always
        # in view), each in a short paced pass of its own with the stage's settings changed.
        variants = [
            (variant, bench_variant(args, stage.name, variant, source_cpu))
            for stage in paced.pipeline.stages
            for variant in stage.bench_variants
        ]
    engine, source = throughput.engine, throughput.source
    result = bench_summary(engine, source, args, frames)
    result["latency_unpaced"] = result["latency"]
    figures = paced_figures(paced, args.warmup)
    result["latency"] = figures["latency"]
    result["latency_fps"] = args.fps
    result["latency_dropped"] = figures["latency_dropped"]
    result["cpu"] = cpu
    # Per-stage cost at the camera's pace, each stage with the CPU to itself most of the time;
    # the unpaced figures above include the contention of running flat out on every core.
    result["stages_paced"] = figures["stages"]
    result["pipeline_paced"] = figures["pipeline"]
    budgets = {
        name: {**b, "pass": "stages_paced"}
        for name, b in stage_budgets(paced.pipeline.stages, result["stages_paced"]).items()
    }
    for variant, (variant_engine, report) in variants:
        result[variant.key] = report
        measured = stage_budgets(variant_engine.pipeline.stages, report["stages"])
        timer = report["timer"]
        if timer in measured:  # judged on the pass made for it, whatever the main one saw
            budgets[timer] = {**measured[timer], "pass": variant.key}
    result["variant_passes"] = [variant.key for variant, _ in variants]
    result["budgets"] = budgets
    result["providers"] = {
        name: short_name(rep.provider) + (" graph" if rep.cuda_graph else "")
        for name, rep in all_reports().items()
    }
    # Models asked to run as CUDA graphs ($CAMFX_CUDA_GRAPH) that ONNX Runtime would not make so.
    result["graph_refusals"] = {
        name: rep.graph_refused for name, rep in all_reports().items() if rep.graph_refused
    }
    # Where each stage with a choice of backends did its pixel work (the background blur:
    # "cpu" or "onnx:<provider>", see pipelines.segmentation.device_blur).
    result["backends"] = {
        stage.name: backend
        for stage in engine.pipeline.stages
        if isinstance(backend := getattr(stage, "backend_name", None), str)
    }
    # Whether the compiled kernels ran: without Numba (an install without the `jit` extra, as
    # the README's demo command makes) the background composites, the skin smoothing and the
    # key light take their OpenCV paths, the same picture for more CPU (Studio 15.2 against
    # 18.8 ms a frame, 2026-12-07): a figure read without this line cannot be compared.
    from pipelines.segmentation import fused

    if any(stage.compiled_kernels for stage in engine.pipeline.stages):
        compiled = fused.ready()
        result["compiled_kernels"] = {
            "numba": compiled,
            "unavailable": None if compiled else fused.unavailable_reason(),
        }
    else:
        result["compiled_kernels"] = None  # no stage of the preset has them
    # A refused GPU is the same for every model: report each provider's reason once.
    result["provider_fallbacks"] = {
        short_name(provider): reason
        for rep in all_reports().values()
        for provider, reason in rep.refused.items()
    }
    result["peak_rss_mb"] = peak_rss_mb()
    result["cv_threads"] = opencv_threads_used(cv_threads_arg(args))
    others = others_busy_cores(began)
    result["others_busy_cores"] = None if others is None else round(others, 2)
    if others is not None and others > OTHERS_BUSY_CORES:
        # On stderr too: a `--json` reader's figures are as loaded.
        print(f"camfx: {busy_machine_line(others)}", file=sys.stderr)
    if args.json:
        print(json.dumps(_finite(result), indent=2, allow_nan=False))
    else:
        print(format_bench(result))
    return 0


def run_paced(
    args: argparse.Namespace,
    frames: int,
    source_cpu: float,
    stages: list[Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The demo at ``--fps`` through the preset (or ``stages``) for ``frames`` frames after
    ``--warmup``, the newest frame winning as from a camera: the engine, with its statistics,
    and the CPU per frame (see :func:`measure_cpu`). In an unpaced run every frame waits for
    the one before it, which measures the queue, not the engine; and flat out, CPU per frame
    says how busy the cores were, not what a frame costs."""
    from pipelines.build import build_engine

    total = frames + args.warmup
    config = run_config(
        args,
        source=bench_source(args),
        outputs=("null",),
        frames=total,
        lossless=False,
        stats_window=max(600, total + 10),
        talking_head=None,
        stages=stages,
    )
    run = build_engine(config)
    try:
        cpu = measure_cpu(run, args.warmup, total, source_cpu)
        run.wait()
    finally:
        run.close()
    return run.engine, cpu


def paced_figures(engine: Any, warmup: int) -> dict[str, Any]:
    """Medians and 95th percentiles of a paced run after its warm-up frames: per stage (and
    per stage timer), all stages, end-to-end latency; and the frames it dropped."""
    st = engine.stats
    warm = min(warmup, max(0, len(st.latency.samples) - 5))
    return {
        "stages": {name: _median_p95(r.since(warm)) for name, r in st.stage.items()},
        "pipeline": _median_p95(st.process.since(warm)),
        "latency": _median_p95(st.latency.since(warm)),
        "latency_dropped": engine.snapshot().dropped,
    }


VARIANT_MIN_FRAMES = 60
"""Frames of a variant pass (the talking head's stand-in) when a third of ``--frames`` is fewer:
2 s at 30 fps, enough for a median and a p95 without doubling the bench's time."""


def variant_frames(frames: int) -> int:
    """A third of the bench's frames, at least :data:`VARIANT_MIN_FRAMES`, never more than the
    bench's own (a short test bench stays short)."""
    return max(frames // 3, min(frames, VARIANT_MIN_FRAMES))


def bench_variant(
    args: argparse.Namespace, stage_name: str, variant: Any, source_cpu: float
) -> tuple[Any, dict[str, Any]]:
    """A paced pass of the preset with stage ``stage_name``'s settings changed by ``variant``
    (a :class:`~pipelines.stage.BenchVariant`): the engine, and its figures for the JSON."""
    from pipelines.presets import build_stages

    stages = build_stages(run_config(args).preset_object())
    for stage in stages:
        if stage.name == stage_name:
            stage.settings = stage.settings.replace(**variant.changes)
    frames = variant_frames(args.frames)
    engine, cpu = run_paced(args, frames, source_cpu, stages)
    return engine, {
        "stage": stage_name,
        "settings": dict(variant.changes),
        "timer": f"{stage_name}/{variant.timer}",
        "frames": frames,
        **paced_figures(engine, args.warmup),
        "cpu": cpu,
        "errors": dict(engine.stats.errors),
    }


CPU_POLL_S = 0.01
"""How often ``bench`` looks at the paced run's frame count until its CPU clock starts. Not
while it runs: a wake-up of the main thread measured about 0.13 ms of CPU on the 2-core
machine, 0.4 ms a frame at 100 a second, as much as the whole engine costs with no stage."""
SOURCE_CPU_GRABS = 60
"""Frames of the source-alone measure (2 s at 30 fps; fewer for a shorter bench): with 30, the
`off` preset measured 0.4 to 1.0 ms over five 720p runs (2026-12-02)."""


def source_cpu_ms_per_grab(args: argparse.Namespace, grabs: int = SOURCE_CPU_GRABS) -> float:
    """Process CPU time (ms) that one demo frame of ``args.size`` costs, measured alone at
    the bench's pace (``grabs`` frames at ``--fps``).

    Measured, not taken from the source's grab time: that is wall time, and OpenCV's warp
    spreads over every core. And measured at pace, not flat out: between frames OpenCV's
    pool threads spin down and the caches go cold, which made a 720p frame cost 3.9 ms of
    CPU at 30 fps against 2.5 ms back to back (2026-12-02); the flat-out figure left the
    difference in the `off` preset's CPU per frame."""
    from pipelines.cvthreads import opencv_threads
    from pipelines.sources import open_source
    from pipelines.sources.base import SourceConfig

    width, height = args.size
    source = open_source(bench_source(args), SourceConfig(width=width, height=height, fps=args.fps))
    # OpenCV's threads as the engine sets them: the warp's CPU depends on them (its worker
    # spin-waits between frames).
    try:
        with opencv_threads(cv_threads_arg(args)):
            source.read()  # the first frame allocates
            start = time.process_time()
            for _ in range(grabs):
                source.read()
            return (time.process_time() - start) * 1000.0 / grabs
    finally:
        source.close()


def measure_cpu(run: Any, first: int, total: int, source_ms: float) -> dict[str, Any]:
    """CPU per frame of a paced run: the whole process's CPU time (user + system, every
    thread: stages, ONNX Runtime's pools, capture, outputs) from output frame ``first`` to
    about three frames before ``total`` (so closing the stages is not counted), less the CPU
    of the engine's capture thread over the same time (the demo source's own cost as it was in
    this run), over the frames output. ``source_ms`` (the demo measured alone at the same pace)
    is reported beside it: taken out instead, it moved the figure by 0.8-0.9 ms (Studio, 720p,
    2026-12-03: 4.3-4.8 ms alone against 3.5-3.6 ms on the capture thread).
    """
    stats, source = run.engine.stats, run.source
    while stats.frames_output < first and not run.wait(CPU_POLL_S):
        pass
    cpu0, frames0, grabs0 = time.process_time(), stats.frames_output, source.grab_ms.added
    capture0 = stats.capture_cpu_s
    # Sleeps to about three frames before the end (the source is paced, so the frames come no
    # faster than --fps and a sleep never passes the end), rather than polling: polling costs
    # CPU that would be counted. One sleep was enough on a machine that keeps up; one that
    # falls behind (a loaded machine) had output 9-12 of the 30 frames by then.
    fps = source.pace_fps or 30.0
    last = total - 3
    while stats.frames_output < last and not run.wait((last - stats.frames_output) / fps):
        pass
    cpu1, frames1, grabs1 = time.process_time(), stats.frames_output, source.grab_ms.added
    capture_ms = (stats.capture_cpu_s - capture0) * 1000.0
    frames, grabs = frames1 - frames0, grabs1 - grabs0
    process_ms = (cpu1 - cpu0) * 1000.0
    per_frame = (process_ms - capture_ms) / frames if frames > 0 else float("nan")
    return {
        "ms_per_frame": round(per_frame, 3),
        "ms_per_frame_with_source": round(process_ms / frames, 3) if frames else float("nan"),
        "capture_ms_per_grab": round(capture_ms / grabs, 3) if grabs else float("nan"),
        "source_ms_per_grab": round(source_ms, 3),
        "frames": frames,
        "grabs": grabs,
        "source_excluded": "the CPU of the engine's capture thread (the demo source's reads "
        "and hand-offs) in the same time",
    }


OTHERS_BUSY_CORES = 0.25
"""Other programs' CPU during a bench, in cores, past which its figures are said not to be a
quiet machine's: beside six CPU hogs a Studio bench printed 15.1 fps, 18.0 ms of CPU a frame
and 197 ms latency as plain figures (59.5, 13.3 and 14.3 a minute earlier; qa9)."""


def machine_busy_s() -> float | None:
    """CPU seconds every program on the machine has spent since it started (all cores;
    /proc/stat), None where the OS does not say."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_busy_cores(since: tuple[float, float | None, float]) -> float | None:
    """How many cores other programs kept busy on average since ``since`` (monotonic time,
    :func:`machine_busy_s`, this process's CPU time), None where the OS does not say."""
    start, busy0, own0 = since
    busy1, wall = machine_busy_s(), time.monotonic() - start
    if busy0 is None or busy1 is None or wall <= 0:
        return None
    own = time.process_time() - own0
    return max(0.0, (busy1 - busy0 - own) / wall)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MiB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        try:
            import ctypes
            from ctypes import wintypes

            class Counters(ctypes.Structure):
                _fields_ = [
                    ("cb", wintypes.DWORD),
                    ("PageFaultCount", wintypes.DWORD),
                    ("PeakWorkingSetSize", ctypes.c_size_t),
                    ("WorkingSetSize", ctypes.c_size_t),
                    ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
                    ("QuotaPagedPoolUsage", ctypes.c_size_t),
                    ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
                    ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
                    ("PagefileUsage", ctypes.c_size_t),
                    ("PeakPagefileUsage", ctypes.c_size_t),
                ]

            counters = Counters()
            counters.cb = ctypes.sizeof(Counters)
            windll = ctypes.windll  # type: ignore[attr-defined]
            handle = windll.kernel32.GetCurrentProcess()
            if not windll.psapi.GetProcessMemoryInfo(handle, ctypes.byref(counters), counters.cb):
                return None
            return round(counters.PeakWorkingSetSize / 2**20, 1)
        except Exception:
            return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def _finite(value: Any) -> Any:
    """NaN and infinities (a measure with no sample) become null: JSON has no NaN."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _median_p95(values: Any) -> dict[str, float]:
    import numpy as np

    if not len(values):
        return {"median_ms": float("nan"), "p95_ms": float("nan")}
    arr = np.asarray(values)
    return {
        "median_ms": round(float(np.median(arr)), 3),
        "p95_ms": round(float(np.percentile(arr, 95)), 3),
    }


def compiled_kernels_line(kernels: dict[str, Any] | None) -> str:
    """The bench's line on the compiled kernels (``result["compiled_kernels"]``; None: no
    stage of the preset has any)."""
    if kernels is None:
        return "compiled kernels: not used by this preset"
    if kernels["numba"]:
        return "compiled kernels: Numba (background composites, skin smoothing, key light)"
    from pipelines.segmentation.fused import INSTALL_HINT

    why = kernels.get("unavailable") or "not ready"
    return (
        f"compiled kernels: none ({why}): the slower OpenCV paths ran; {INSTALL_HINT} to get them"
    )


def bench_summary(engine: Any, source: Any, args: argparse.Namespace, frames: int) -> dict:
    stats = _median_p95

    st = engine.stats
    # The first frames warm caches and load models: leave them out, unless that is all there is.
    warm = args.warmup if st.frames_output > args.warmup + 1 else 0
    stages = {name: stats(r.since(warm)) for name, r in st.stage.items()}
    process = st.process.since(warm)
    latency = st.latency.since(warm)
    return {
        "preset": args.preset,
        "source": bench_source(args),
        "size": f"{args.size[0]}x{args.size[1]}",
        "frames": frames,
        "source_ms": stats(source.grab_ms.since(warm)),
        "stages": stages,
        "pipeline": stats(process),
        "latency": stats(latency),
        "throughput_fps": round(st.throughput(skip=warm), 1),
        "frames_output": st.frames_output,
        "errors": dict(st.errors),
    }


def stage_budgets(stages: list[Any], paced: dict[str, dict]) -> dict[str, dict]:
    """Each time budget of the stages that the run measured (``Stage.budget_ms`` for a whole
    stage, ``Stage.timer_budgets_ms`` for one of its timers, set by an issue): its median at
    the camera's pace against it, by the name the time has in the statistics."""
    out: dict[str, dict] = {}
    for stage in stages:
        for name, budget in stage.time_budgets().items():
            measured = paced.get(name)
            if measured is None:
                continue
            median = measured["median_ms"]
            out[name] = {"budget_ms": budget, "median_ms": median, "within": median <= budget}
    return out


def busy_machine_line(others_cores: float) -> str:
    return (
        f"other programs kept {others_cores:.1f} of this machine's {os.cpu_count() or 1} cores "
        "busy during the bench: these figures are not a quiet machine's (run it again when "
        "nothing else runs)"
    )


def format_bench(result: dict) -> str:
    paced = result.get("stages_paced", {})
    fps = result.get("latency_fps", 30)

    def row(name: str, unpaced: dict, at_pace: dict | None) -> str:
        at = f"{at_pace['median_ms']:>10.3f}{at_pace['p95_ms']:>10.3f}" if at_pace else " " * 20
        return f"{name:<28}{at}{unpaced['median_ms']:>12.3f}{unpaced['p95_ms']:>10.3f}"

    lines = [
        f"camfx bench: preset {result['preset']}, {result['size']}, {result['frames']} frames"
        + ("" if result.get("source", "demo") == "demo" else f", source {result['source']}"),
        f"{'':<28}{f'at {fps:g} fps':>20}{'unpaced (max throughput)':>26}",
        f"{'stage (ms)':<28}{'median':>10}{'p95':>10}{'median':>12}{'p95':>10}",
        row(
            "(source: demo render)" if result.get("source", "demo") == "demo" else "(source: read)",
            result["source_ms"],
            None,
        ),
    ]
    for name, st in result["stages"].items():
        lines.append(row(name, st, paced.get(name)))
    lines.append(row("all stages", result["pipeline"], result.get("pipeline_paced")))
    latency_row = row("end-to-end latency", result.get("latency_unpaced", {}), result["latency"])
    if "latency_unpaced" not in result:
        latency_row = latency_row[:48]
    lines.append(latency_row + "  (unpaced: queued behind the frame before)")
    if result.get("latency_dropped"):
        lines.append(f"  {result['latency_dropped']} frames dropped at {fps:g} fps")
    for key in result.get("variant_passes", ()):
        lines.append(format_variant(key, result[key], fps))
    for name, b in result.get("budgets", {}).items():
        verdict = "within" if b["within"] else "OVER"
        where = b.get("pass", "stages_paced")
        in_pass = "" if where == "stages_paced" else f" ({where} pass)"
        lines.append(
            f"budget {name}: {b['median_ms']:.2f} ms median at {fps:g} fps{in_pass} against "
            f"{b['budget_ms']:g} ms: {verdict}"
        )
    cpu = result.get("cpu")
    if cpu and not cpu["frames"]:
        # (No paced frame past the warm-up to divide by: "nan ms" said nothing.)
        lines.append(f"CPU per frame at {fps:g} fps: not measured (no frame after the warm-up)")
    elif cpu:
        busy = cpu["ms_per_frame"] * fps / 1000.0
        lines.append(
            f"CPU per frame at {fps:g} fps: {cpu['ms_per_frame']:.2f} ms ({busy:.2f} cores), "
            f"source excluded ({cpu['ms_per_frame_with_source']:.2f} ms with the source's "
            f"{cpu['capture_ms_per_grab']:.2f} ms on the capture thread; alone at pace "
            f"{cpu['source_ms_per_grab']:.2f} ms); {cpu['frames']} frames"
        )
    rss = result["peak_rss_mb"]
    lines.append(
        f"throughput: {result['throughput_fps']} fps; peak RSS "
        + (f"{rss} MiB" if rss is not None else "unknown")
    )
    providers = ", ".join(f"{k}={v}" for k, v in result["providers"].items()) or "no models"
    lines.append(f"providers: {providers}")
    if result.get("backends"):
        lines.append("backends: " + ", ".join(f"{k}={v}" for k, v in result["backends"].items()))
    if "compiled_kernels" in result:
        lines.append(compiled_kernels_line(result["compiled_kernels"]))
    if "cv_threads" in result:
        lines.append(f"OpenCV threads: {result['cv_threads']}")
    for provider, reason in result.get("provider_fallbacks", {}).items():
        lines.append(f"  {provider} refused: {reason}")
    if result["errors"]:
        lines.append(f"stage errors: {result['errors']}")
    if result.get("others_busy_cores") is not None:
        lines.append(f"other programs: {result['others_busy_cores']:.2f} cores busy on average")
    return "\n".join(lines)


def format_variant(key: str, variant: dict, fps: float) -> str:
    """Two lines for a variant pass: the stage's timer; all stages, latency and CPU."""
    changed = ", ".join(f"{k}={v}" for k, v in variant["settings"].items())
    timer = variant["timer"]
    none = {"median_ms": float("nan"), "p95_ms": float("nan")}
    st = variant["stages"].get(timer, none)
    cpu = variant["cpu"]["ms_per_frame"]
    return (
        f"{key} pass ({variant['stage']} {changed}, {variant['frames']} frames at {fps:g} fps): "
        f"{timer} {st['median_ms']:.2f} ms median, {st['p95_ms']:.2f} p95\n"
        f"  all stages {variant['pipeline']['median_ms']:.2f} ms, latency "
        f"{variant['latency']['median_ms']:.2f} ms, CPU per frame {cpu:.2f} ms (source excluded)"
    )


def cmd_devices(args: argparse.Namespace) -> int:
    import contextlib

    from pipelines.devices import collect_devices, format_devices
    from pipelines.inference.model import restore_hint

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the answer alone
        info = collect_devices()
    print(json.dumps(info, indent=2) if args.json else format_devices(info))
    models = info.get("models") or {}
    if not models.get("works", False):
        # A missing or changed model is camfx's own install, not the machine's: the effects
        # that need it cannot start, so this is a failure (cameras or a microphone are not).
        broken = [m["name"] for m in models.get("models", []) if not m.get("works")]
        print(
            f"camfx devices: model(s) NOT WORKING ({', '.join(broken) or 'the manifest'}); "
            f"{restore_hint()}",
            file=sys.stderr,
        )
        return 1
    return 0


COMMANDS = {"run": cmd_run, "bench": cmd_bench, "devices": cmd_devices, "gui": cmd_gui}


if __name__ == "__main__":
    sys.exit(main())
