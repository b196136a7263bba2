"""What a run's input files will not give, said in one line each at the start of a run from the
command line: none of these is an error (the run goes on, exit code 0), but each made a result
the user did not expect without a word (QA qa6): a video's own sound left out of a recording
for a talking head's voice, a still mouth for a silent voice file, a blurred picture from a
tiny source.

Each note is a function of the run's :class:`RunInputs` and its opened source in
:data:`INPUT_NOTES`; :func:`input_notes` asks every one. The window, whose run has no
:class:`~pipelines.build.RunConfig`, asks :data:`RECORDING_NOTES` with inputs of its own when a
recording starts (qa8 M1: its recordings of a video with sound were silent without a word).
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.build import RunConfig
    from pipelines.sources.base import Source


class RecordedSound(StrEnum):
    """What a run's recordings hold for sound; the value finishes "will hold ..."."""

    PICTURE_ONLY = "the picture only"
    VIDEO_SOUND = "the video's own sound"
    """No talking head speaks: a video file source's own sound is recorded, where it has one
    (:class:`~pipelines.audio.mux.VideoSound`); other sources record the picture only."""
    VOICE = "the talking head's voice"
    """A talking head speaks (a voice file or the microphone) throughout."""
    VOICE_WHERE_SPOKEN = "the talking head's voice where it speaks"
    """The window's: a talking head may be switched on, off or changed while it records."""


MIX_FILTER = "[0:a][1:a]amix=inputs=2:duration=first:normalize=0[a]"
"""The ffmpeg filter the note gives to lay a video's sound under a recording that has a voice of
its own: both kept (``normalize=0``: amix otherwise halves each), as long as the recording."""


@dataclass(frozen=True)
class RunInputs:
    """What the notes read of a run: its source spec, its recordings, their sound, its size."""

    source: str | None
    """The source spec (a path, demo, camera:N); None for an already opened source."""
    recordings: tuple[str, ...] = ()
    sound: RecordedSound = RecordedSound.PICTURE_ONLY
    voice_file: str | None = None
    size: tuple[int, int] = (1280, 720)

    @classmethod
    def of(cls, config: RunConfig) -> RunInputs:
        from pipelines.audio.inputs import parse_audio_spec
        from pipelines.build import file_outputs

        head = config.talking_head
        speaks = head is not None and parse_audio_spec(head.audio)[0] != "none"
        return cls(
            source=config.source if isinstance(config.source, str) else None,
            recordings=tuple(file_outputs(config)),
            sound=RecordedSound.VOICE if speaks else RecordedSound.VIDEO_SOUND,
            voice_file=head.audio_file if head is not None else None,
            size=config.size,
        )


SILENT_PEAK_DBFS = -60.0
"""A voice file whose loudest sample is under this is silent. The voices camfx is tested with
peak at -10.5 to -0.9 dBFS (the five LibriVox clips in tests/data/speech, the bundled clip,
QA's 8 kHz voice): 50 dB above it. A file of digital zeros (QA's silence.wav) gave 5 s of a
still mouth."""

MAX_UPSCALE = 4.0
"""A source scaled up more than this to fill the frame is said: 4× is a 320×180 picture
filling 1280×720, already soft; QA's 64×64 picture was blown up 20× into a blur."""


def _file_source(inputs: RunInputs) -> tuple[str, str] | None:
    """(kind, path) of the run's source where it is a picture or video file, else None."""
    from pipelines.errors import CamfxError
    from pipelines.sources import parse_source_spec

    if inputs.source is None:
        return None
    try:
        kind, path = parse_source_spec(inputs.source)
    except CamfxError:
        return None
    return (kind, path) if kind in ("image", "video") and path else None


def video_sound_note(inputs: RunInputs, source: Source | None) -> str | None:
    """A video source with a sound track, recorded with another sound (the talking head's
    voice: it speaks for the person, so its voice is the one kept) or none: the recording
    will not hold the video's own sound."""
    found = _file_source(inputs)
    recordings = inputs.recordings
    if inputs.sound is RecordedSound.VIDEO_SOUND:
        return None  # recorded, in step with its frames
    if found is None or found[0] != "video" or not recordings:
        return None
    path = found[1]
    if inputs.sound is RecordedSound.VOICE and inputs.voice_file:
        from pipelines.outputs.existing import same_file

        if same_file(inputs.voice_file, path):
            return None  # the video's own sound is the voice: it is recorded (qa64)
    try:
        import av

        with av.open(path) as container:
            if not container.streams.audio:
                return None
    except Exception:  # no PyAV, or FFmpeg cannot read it: nothing to say about its sound
        return None
    recording, video = shlex.quote(recordings[0]), shlex.quote(path)
    if inputs.sound is RecordedSound.PICTURE_ONLY:
        add = "-map 0:v -map 1:a -c copy -shortest"
    else:
        # Mapping the video's sound alone would throw the talking head's voice away (qa8 L0).
        add = f"-filter_complex {shlex.quote(MIX_FILTER)} -map 0:v -map '[a]' -c:v copy"
    # The frames keep the video's own timing (paced at its rate, every frame recorded), so
    # its sound laid back under a recording of one pass fits it.
    return (
        f"camfx: the video's sound is not recorded; {', '.join(recordings)} will hold "
        f"{inputs.sound}, not the sound of {path} (to add it afterwards: ffmpeg -i "
        f"{recording} -i {video} {add} WITH_SOUND.mp4)"
    )


def silent_voice_note(inputs: RunInputs, source: Source | None) -> str | None:
    """A voice file with no sound in it: the talking head's mouth stays still throughout."""
    audio_file = inputs.voice_file
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


def _native_size(kind: str, path: str, source: Source | None) -> tuple[int, int] | None:
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


def small_source_note(inputs: RunInputs, source: Source | None) -> str | None:
    """A picture or video far smaller than the frame it fills: it comes out blurred."""
    found = _file_source(inputs)
    if found is None:
        return None
    kind, path = found
    size = _native_size(kind, path, source)
    if not size or min(size) <= 0:
        return None
    width, height = inputs.size
    scale = max(width / size[0], height / size[1])  # filled: the larger of the two
    if scale <= MAX_UPSCALE:
        return None
    return (
        f"camfx: the {'picture' if kind == 'image' else 'video'} {os.path.basename(path)} is "
        f"{size[0]}×{size[1]}, scaled up {scale:.0f}× to fill {width}×{height}: it will look "
        f"blurred; use one at least {math.ceil(width / MAX_UPSCALE)}×"
        f"{math.ceil(height / MAX_UPSCALE)}, or a smaller --size"
    )


Note = Callable[[RunInputs, "Source | None"], "str | None"]

INPUT_NOTES: tuple[Note, ...] = (video_sound_note, silent_voice_note, small_source_note)

RECORDING_NOTES: tuple[Note, ...] = (video_sound_note,)
"""The notes the window shows when a recording starts: the others name command-line options
(``--size``) or its voice file, which the window's talking head picks itself."""


def input_notes(config: RunConfig, source: Source) -> list[str]:
    """Every note of :data:`INPUT_NOTES` that applies to ``config`` run from ``source``."""
    inputs = RunInputs.of(config)
    return [note for ask in INPUT_NOTES if (note := ask(inputs, source))]


def recording_notes(inputs: RunInputs, source: Source | None = None) -> list[str]:
    """The notes of :data:`RECORDING_NOTES` for a window's recording, without the command
    line's ``camfx:``."""
    return [
        note.removeprefix("camfx: ") for ask in RECORDING_NOTES if (note := ask(inputs, source))
    ]
