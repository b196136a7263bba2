"""What a run's input files will not give, said in one line each at the start of a run from the
command line: none of these is an error (the run goes on, exit code 0), but each made a result
the user did not expect without a word (QA qa6): a video's own sound missing from the
recording, a still mouth for a silent voice file, a blurred picture from a tiny source.

Each note is a function of the run's config and its opened source in :data:`INPUT_NOTES`;
:func:`input_notes` asks every one."""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.build import RunConfig
    from pipelines.sources.base import Source

SILENT_PEAK_DBFS = -60.0
"""A voice file whose loudest sample is under this is silent. The voices camfx is tested with
peak at -10.5 to -0.9 dBFS (the five LibriVox clips in tests/data/speech, the bundled clip,
QA's 8 kHz voice): 50 dB above it. A file of digital zeros (QA's silence.wav) gave 5 s of a
still mouth."""

MAX_UPSCALE = 4.0
"""A source scaled up more than this to fill the frame is said: 4× is a 320×180 picture
filling 1280×720, already soft; QA's 64×64 picture was blown up 20× into a blur."""


def _file_source(config: RunConfig) -> tuple[str, str] | None:
    """(kind, path) of the run's source where it is a picture or video file, else None."""
    from pipelines.errors import CamfxError
    from pipelines.sources import parse_source_spec

    if not isinstance(config.source, str):
        return None
    try:
        kind, path = parse_source_spec(config.source)
    except CamfxError:
        return None
    return (kind, path) if kind in ("image", "video") and path else None


def video_sound_note(config: RunConfig, source: Source) -> str | None:
    """A video source with a sound track, recorded: the recording holds its picture only (or
    the talking head's voice), never the video's own sound."""
    from pipelines.build import file_outputs

    found = _file_source(config)
    recordings = file_outputs(config)
    if found is None or found[0] != "video" or not recordings:
        return None
    path = found[1]
    try:
        import av

        with av.open(path) as container:
            if not container.streams.audio:
                return None
    except Exception:  # no PyAV, or FFmpeg cannot read it: nothing to say about its sound
        return None
    voice = config.talking_head is not None and config.talking_head.audio_file
    instead = "the talking head's voice" if voice else "the picture only"
    # The frames keep the video's own timing (paced at its rate, every frame recorded), so
    # its sound laid back under a recording of one pass fits it.
    return (
        f"camfx: the video's sound is not recorded; {', '.join(recordings)} will hold "
        f"{instead}, not the sound of {path} (to add it afterwards: ffmpeg -i "
        f"{shlex.quote(recordings[0])} -i {shlex.quote(path)} -map 0:v -map 1:a -c copy "
        "-shortest WITH_SOUND.mp4)"
    )


def silent_voice_note(config: RunConfig, source: Source) -> str | None:
    """A voice file with no sound in it: the talking head's mouth stays still throughout."""
    audio_file = config.talking_head.audio_file if config.talking_head else None
    if not audio_file:
        return None
    from pipelines.audio.inputs import decoded_audio

    data, _rate = decoded_audio(audio_file)  # shared: the run has decoded it already
    if not len(data):
        return None
    # max and min rather than abs(): no copy of a 30-minute voice.
    peak = max(float(data.max()), -float(data.min()))
    level = 20.0 * math.log10(peak) if peak > 0 else -math.inf
    if level >= SILENT_PEAK_DBFS:
        return None
    loudest = "holds only zeros" if peak == 0 else f"peaks at {level:.0f} dBFS"
    return (
        f"camfx: the voice file {audio_file} is silent (it {loudest}): the talking head's "
        "mouth stays still; check that it is the recording you meant"
    )


def _native_size(kind: str, path: str, source: Source) -> tuple[int, int] | None:
    """A file source's own size: a video's as decoded, a picture's from its header (not
    decoded again; None for a format whose header is not read)."""
    native = getattr(source, "native_size", None)
    if kind == "video":
        return native if isinstance(native, tuple) else None
    from pipelines.segmentation.backgrounds import image_dimensions

    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    info = image_dimensions(head)
    return (info[1], info[2]) if info else None


def small_source_note(config: RunConfig, source: Source) -> str | None:
    """A picture or video far smaller than the frame it fills: it comes out blurred."""
    found = _file_source(config)
    if found is None:
        return None
    kind, path = found
    size = _native_size(kind, path, source)
    if not size or min(size) <= 0:
        return None
    width, height = config.size
    scale = max(width / size[0], height / size[1])  # filled: the larger of the two
    if scale <= MAX_UPSCALE:
        return None
    return (
        f"camfx: the {'picture' if kind == 'image' else 'video'} {os.path.basename(path)} is "
        f"{size[0]}×{size[1]}, scaled up {scale:.0f}× to fill {width}×{height}: it will look "
        f"blurred; use one at least {math.ceil(width / MAX_UPSCALE)}×"
        f"{math.ceil(height / MAX_UPSCALE)}, or a smaller --size"
    )


INPUT_NOTES: tuple[Callable[[RunConfig, Source], str | None], ...] = (
    video_sound_note,
    silent_voice_note,
    small_source_note,
)


def input_notes(config: RunConfig, source: Source) -> list[str]:
    """Every note of :data:`INPUT_NOTES` that applies to ``config`` run from ``source``."""
    return [note for ask in INPUT_NOTES if (note := ask(config, source))]
