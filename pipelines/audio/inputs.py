"""Audio inputs: a microphone (sounddevice/PortAudio), a WAV/FLAC file, or nothing.

Every input delivers 16 kHz mono float32 through :meth:`AudioInput.pull`. A microphone's
PortAudio callback only copies each block into an :class:`~pipelines.audio.ring.AudioRing`;
conversion to 16 kHz happens in ``pull`` on the caller's thread. A file can play in real
time (``pull(None)``: as much as the wall clock since ``open`` says) or be driven by a clock the
caller owns (``pull(until=sample)``), which is how a video file gets audio exactly in step with
its frame numbers.

Inputs are chosen by a spec string through :data:`AUDIO_INPUTS`: ``mic``, ``mic:NAME-OR-INDEX``,
``file:PATH`` or a bare path ending in ``.wav``/``.flac``, ``none``.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from pipelines.audio.resample import ANALYSIS_RATE, StreamResampler, resample
from pipelines.audio.ring import AudioRing
from pipelines.errors import CamfxError
from pipelines.registry import Registry

log = logging.getLogger(__name__)

PORTAUDIO_MISSING = (
    "sounddevice cannot load PortAudio ({exc}); install it (Debian/Ubuntu: sudo apt install "
    "libportaudio2) — the talking head idles until then"
)


class AudioError(CamfxError):
    """An audio input could not be opened or read."""


class AudioInput:
    """16 kHz mono samples from somewhere."""

    live: ClassVar[bool] = False
    suffixes: ClassVar[tuple[str, ...]] = ()
    newest_heard: float | None = None
    """A live input's capture-clock time at which the newest sample :meth:`pull` handed out
    was heard; None for an input that is not heard (a file), or before anything was."""
    start_gap_s: float | None = None
    """A live input's wait from its open to the first sound it delivered, once measured; None
    for an input that is not heard."""

    def __init__(self, arg: str = "", **kwargs: Any) -> None:
        self.arg = arg
        self.sample_rate = ANALYSIS_RATE
        self.position = 0
        """Samples handed out so far."""

    def open(self) -> None:
        pass

    def pull(self, until: int | None = None) -> np.ndarray:
        """New samples since the last call; ``until`` caps the stream position (file clock)."""
        raise NotImplementedError

    def skip_to(self, position: int) -> None:
        """Hand out nothing before ``position`` (file clock): what lies between is skipped, not
        pulled. A live input has no such place and ignores it."""

    def close(self) -> None:
        pass

    def reopen_if_stopped(self) -> None:
        """A live input whose device stopped delivering (unplugged, its sound server gone) is
        opened again where it can be, without holding up the caller; others ignore it."""

    @property
    def description(self) -> str:
        return f"{type(self).__name__} {self.arg}".strip()

    @property
    def ended(self) -> bool:
        return False

    @property
    def start_gap_notice(self) -> str | None:
        """What the user is told of :attr:`start_gap_s` (a live input's); None: nothing."""
        return None

    def __enter__(self) -> AudioInput:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


AUDIO_INPUTS: Registry[type[AudioInput]] = Registry("audio input")


@AUDIO_INPUTS.register("none")
class NoAudio(AudioInput):
    """Silence: the avatar idles (and listens)."""

    def pull(self, until: int | None = None) -> np.ndarray:
        return np.zeros(0, np.float32)


@AUDIO_INPUTS.register("array")
class ArrayInput(AudioInput):
    """Samples already in memory (tests, generated speech), played like a file."""

    def __init__(
        self,
        arg: str = "",
        samples: np.ndarray | None = None,
        rate: int = ANALYSIS_RATE,
        loop: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(arg, **kwargs)
        data = np.zeros(0, np.float32) if samples is None else np.asarray(samples, np.float32)
        self.samples = resample(data.reshape(-1), rate, ANALYSIS_RATE)
        self.loop = loop
        self._t0: float | None = None

    def open(self) -> None:
        self._t0 = time.monotonic()
        self.position = 0

    @property
    def duration(self) -> float:
        return len(self.samples) / ANALYSIS_RATE

    @property
    def ended(self) -> bool:
        return not self.loop and self.position >= len(self.samples)

    def skip_to(self, position: int) -> None:
        self.position = max(self.position, position)

    def pull(self, until: int | None = None) -> np.ndarray:
        if until is None:
            if self._t0 is None:
                self.open()
            assert self._t0 is not None
            until = int((time.monotonic() - self._t0) * ANALYSIS_RATE)
        n = max(0, until - self.position)
        if n == 0:
            return np.zeros(0, np.float32)
        total = len(self.samples)
        if total == 0:
            self.position += n
            return np.zeros(n, np.float32)
        if self.loop:
            idx = (self.position + np.arange(n)) % total
            out = self.samples[idx]
        else:
            out = np.zeros(n, np.float32)  # silence after the end
            avail = max(0, min(n, total - self.position))
            if avail:
                out[:avail] = self.samples[self.position : self.position + avail]
        self.position += n
        return out


MAX_AUDIO_SECONDS = 30 * 60
"""Longer voice files are refused: decoded whole into memory, half an hour at the decode rate
below is ~350 MB of float32, and no talking-head clip is that long."""
STATED_LENGTH_SLACK = 1.1
"""A file whose container states a length past :data:`MAX_AUDIO_SECONDS` by more than this
factor is refused before decoding (the stated length of an MP3 is estimated from its bit rate);
one just past the limit is decoded, and refused by its samples."""
MAX_DECODE_RATE = 48_000
"""Files above this rate (88.2/96/192 kHz masters) are decoded at 48 kHz: nothing the 16 kHz
analysis or the muxed AAC track uses is lost, and memory stays bounded."""
SOURCE_RATE_RANGE = (1_000, 768_000)
"""Sample rates a real file has; anything else is a corrupt header (0, 0xFFFFFFFF, ...)."""
MAX_CHANNELS = 8
"""7.1 at most. Past FFmpeg's eight inline plane pointers PyAV 18 reads planar frames through
pointers it should not (a WAV claiming 9 channels crashed the process in ``to_ndarray``)."""


STEREO_CANCEL_CORRELATION = -0.5
"""A stereo file whose two channels correlate below this over the file holds one voice in
opposite phase (a miswired microphone, a phase-inverted export): their mean cancels it (the
same voice at equal levels: silence, which gave a silent recording and a mouth that never
opened), so the quieter channel is flipped before the mean, i.e. ``(L - R) / 2``, which is the
voice at the mean of its two levels, as the mean is for a voice in phase. Unrelated channels
(two voices, a voice and hum or noise) correlate near 0."""
STEREO_NEAR_SILENT = 0.1
"""A channel whose level (RMS over the file) is under this share of the other's (-20 dB) is
taken for empty: the other channel alone is used, at its own level (the mean of a voice on one
channel only is the voice at half its level)."""
STEADY_LEVEL_FRAME_S = 0.02
STEADY_LEVEL_MAX = 0.2
"""A channel whose level, in 20 ms frames, varies less than this (standard deviation over mean
of the frames' RMS) is a steady hum or noise, not a voice: the test speech clips measured 0.74
and 1.23 (words and pauses), 50 Hz hum 0.00, 60 Hz hum 0.05, white noise 0.04. Where one
channel is steady and the other is not, the other alone is the voice: the mean of a voice and a
louder hum is more hum than voice (hum at twice the voice's level: correlation 0.45 with the
voice, 0.90 with the hum), and the louder channel alone, which camfx used before, recorded the
hum only, and the mouth mouthed it. Two voices, or a voice and music, vary both: the mean."""


@dataclass(frozen=True)
class StereoLevels:
    """What :func:`stereo_downmix_rule` knows of a stereo file, measured over all of it."""

    left_energy: float
    """Sum of squares of the left channel."""
    right_energy: float
    cross: float
    """Sum of the products of left and right."""
    left_variation: float
    """Standard deviation over mean of the left channel's RMS in
    :data:`STEADY_LEVEL_FRAME_S` frames (:data:`STEADY_LEVEL_MAX`)."""
    right_variation: float


@enum.unique
class StereoDownmix(enum.Enum):
    """How :func:`downmix_stereo` makes one channel of two."""

    MEAN = "the mean of both channels"
    FLIPPED_MEAN = "the mean with the quieter channel flipped (they are in opposite phase)"
    LEFT_ALONE = "the left channel alone (the right is near silent)"
    RIGHT_ALONE = "the right channel alone (the left is near silent)"
    LEFT_VOICE = "the left channel alone (the right holds a steady hum or noise, no voice)"
    RIGHT_VOICE = "the right channel alone (the left holds a steady hum or noise, no voice)"


def stereo_downmix_rule(levels: StereoLevels) -> StereoDownmix:
    """Which downmix keeps the voice of a stereo file with these ``levels``."""
    left, right = levels.left_energy, levels.right_energy
    if right <= STEREO_NEAR_SILENT**2 * left:
        return StereoDownmix.LEFT_ALONE
    if left <= STEREO_NEAR_SILENT**2 * right:
        return StereoDownmix.RIGHT_ALONE
    if levels.cross / math.sqrt(left * right) < STEREO_CANCEL_CORRELATION:
        return StereoDownmix.FLIPPED_MEAN
    left_steady = levels.left_variation < STEADY_LEVEL_MAX
    right_steady = levels.right_variation < STEADY_LEVEL_MAX
    if right_steady and not left_steady:
        return StereoDownmix.LEFT_VOICE
    if left_steady and not right_steady:
        return StereoDownmix.RIGHT_VOICE
    return StereoDownmix.MEAN


def stereo_levels(parts: list[np.ndarray], rate: int) -> StereoLevels:
    """The :class:`StereoLevels` of ``parts``, ``(n, 2)`` arrays in a row, in one pass."""
    sums = np.zeros(3, np.float64)  # left·left, right·right, left·right
    frame = max(1, round(STEADY_LEVEL_FRAME_S * rate))
    frames: list[np.ndarray] = []
    for part in parts:
        sums[:2] += np.einsum("ij,ij->j", part, part, dtype=np.float64)
        sums[2] += float(np.dot(part[:, 0].astype(np.float64), part[:, 1]))
        # Frames start afresh in each decoded part (a few thousand samples): a part's last
        # partial frame is left out of the variation, not of the sums above.
        whole = len(part) // frame * frame
        if whole:
            blocks = part[:whole].reshape(-1, frame, 2).astype(np.float64)
            frames.append(np.sqrt(np.mean(np.square(blocks), axis=1)))
    left_variation = right_variation = 0.0
    if frames:
        rms = np.concatenate(frames)
        mean = rms.mean(axis=0)
        spread = rms.std(axis=0)
        left_variation, right_variation = (
            float(s / m) if m > 0 else 0.0 for s, m in zip(spread, mean, strict=True)
        )
    return StereoLevels(
        float(sums[0]), float(sums[1]), float(sums[2]), left_variation, right_variation
    )


def downmix_stereo(parts: list[np.ndarray], rate: int) -> list[np.ndarray]:
    """``parts``, each ``(n, 2)`` array at ``rate`` replaced by a mono one in place (so the
    file's stereo and mono copies are not both whole in memory at once), by
    :func:`stereo_downmix_rule`. One choice for the whole file: switching between blocks would
    click."""
    levels = stereo_levels(parts, rate)
    if levels.left_energy == 0.0 and levels.right_energy == 0.0:
        rule = StereoDownmix.MEAN  # silence either way
    else:
        rule = stereo_downmix_rule(levels)
    if rule is not StereoDownmix.MEAN:
        log.info("stereo voice file: %s is used", rule.value)
    # The flipped channel is the quieter one, so the result keeps the louder one's polarity.
    louder, quieter = (0, 1) if levels.left_energy >= levels.right_energy else (1, 0)
    mono: dict[StereoDownmix, Callable[[np.ndarray], np.ndarray]] = {
        StereoDownmix.MEAN: lambda part: part.mean(axis=1),
        StereoDownmix.FLIPPED_MEAN: lambda part: (part[:, louder] - part[:, quieter]) / 2,
        StereoDownmix.LEFT_ALONE: lambda part: np.ascontiguousarray(part[:, 0]),
        StereoDownmix.RIGHT_ALONE: lambda part: np.ascontiguousarray(part[:, 1]),
        StereoDownmix.LEFT_VOICE: lambda part: np.ascontiguousarray(part[:, 0]),
        StereoDownmix.RIGHT_VOICE: lambda part: np.ascontiguousarray(part[:, 1]),
    }
    for i, part in enumerate(parts):
        parts[i] = mono[rule](part)
    return parts


def wav_shortfall(path: str) -> tuple[float, float] | None:
    """(seconds held, seconds its header states) for a WAV file cut short in a copy or a
    download, else None. FFmpeg sizes a WAV by the bytes there are, so a voice cut short
    played, and set the video's length, without a word. A data size of 0, 0x7FFFFFFF or
    0xFFFFFFFF states nothing and is not checked: these are the placeholders of a recorder
    that wrote to a pipe and never went back to fill the size in (0x7FFFFFFF, the largest
    signed 32-bit size, is the one QA qa6 named for arecord and other streaming writers; as a
    stated size it refused a whole 7.1 s voice as cut short of 11184.81 s)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    byte_rate = 0
    pos = 12
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and pos + 16 <= len(head):
            byte_rate = int.from_bytes(head[pos + 16 : pos + 20], "little")
        if chunk == b"data":
            held = size - (pos + 8)
            if byte_rate <= 0 or length in (0, 0x7FFFFFFF, 0xFFFFFFFF) or held >= length:
                return None
            missing = length - held
            if missing < max(length // 100, byte_rate // 10):  # 1 % and 0.1 s of slack
                return None
            return held / byte_rate, length / byte_rate
        pos += 8 + length + (length & 1)
    return None


def read_audio_file(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """(float32 samples mixed to mono, sample rate) from any file FFmpeg reads (WAV in every
    sample format, FLAC, Ogg, MP3, ...), through PyAV, within the limits above.

    PyAV rather than the standard ``wave`` module: ``wave`` believed whatever a header said (a
    rate of 0 or 0xFFFFFFFF raised ZeroDivisionError/OverflowError or asked for 36 GiB), knows
    only integer PCM, and PyAV (FFmpeg's demuxers, fuzzed upstream by OSS-Fuzz) is already a
    dependency for FLAC and muxing. soundfile would add libsndfile for no format we lack.
    Every failure is an :class:`AudioError` naming the file.
    """
    path = str(path)
    if os.path.isdir(path):
        raise AudioError(f"audio file {path!r} is a folder; give the path of a sound file")
    if not os.path.isfile(path):
        raise AudioError(f"audio file {path!r} does not exist; check the path")
    if not os.access(path, os.R_OK):
        raise AudioError(f"audio file {path!r} is not readable; check its permissions")
    try:
        import av
    except ImportError:
        raise AudioError(
            f"audio file {path!r} needs PyAV to be read; pip install av (or reinstall camfx)"
        ) from None
    short = wav_shortfall(path)
    if short is not None:
        raise AudioError(
            f"audio file {path!r} is damaged or cut short: it holds {short[0]:.2f} s of the "
            f"{short[1]:.2f} s its header states; copy or export it again"
        )
    try:
        with av.open(path, mode="r") as container:
            if not container.streams.audio:
                raise AudioError(
                    f"audio file {path!r} has no sound track; give a file with a voice in it"
                )
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            if ctx is None:
                raise AudioError(
                    f"audio file {path!r}: its audio codec is unknown or the header is "
                    "damaged; use a WAV or FLAC file"
                )
            rate = int(ctx.sample_rate or 0)
            channels = int(getattr(ctx, "channels", 0) or ctx.layout.nb_channels or 0)
            lo, hi = SOURCE_RATE_RANGE
            if not lo <= rate <= hi:
                raise AudioError(
                    f"audio file {path!r} says its sample rate is {rate} Hz, which no real "
                    f"recording has ({lo}-{hi} Hz): the file is damaged; export it again"
                )
            if channels > MAX_CHANNELS:
                raise AudioError(
                    f"audio file {path!r} has {channels} channels, more than the "
                    f"{MAX_CHANNELS} camfx reads; export the voice as mono or stereo"
                )
            if channels < 1:
                raise AudioError(
                    f"audio file {path!r} says it has {channels} channels: the file is "
                    "damaged; export it again"
                )
            out_rate = min(rate, MAX_DECODE_RATE)
            limit = MAX_AUDIO_SECONDS * out_rate
            stated = container.duration  # microseconds; an estimate for some formats (MP3)
            if stated is not None and stated / 1e6 > MAX_AUDIO_SECONDS * STATED_LENGTH_SLACK:
                # Said at once: a 2-hour file was refused only after decoding its first 30
                # minutes (3.5 s, 458 MB).
                raise AudioError(
                    f"audio file {path!r} is longer than {MAX_AUDIO_SECONDS // 60} minutes "
                    f"({stated / 60e6:.0f} minutes); use a shorter clip"
                )
            # Packed (interleaved) float in the file's own layout, one buffer per frame; two
            # channels are mixed to mono here (downmix_stereo: their mean, flipped where they
            # cancel, one alone where the other is near silent or a steady hum): FFmpeg's
            # stereo downmix scales by 1/sqrt(2) per channel, which made a centred voice 3 dB
            # louder than its mono original, and cancels channels in opposite phase. Past two
            # channels FFmpeg's downmix (its matrix for the layout): a film's 5.1 track has the
            # voice in the centre channel alone, and the mean of six made it 16 dB quieter than
            # the music and effects around it.
            layout = "mono" if channels > 2 else None
            resampler = av.AudioResampler(format="flt", layout=layout, rate=out_rate)
            parts: list[np.ndarray] = []
            total = 0
            # None at the end flushes the resampler; frames are decoded one at a time, so the
            # limit stops a huge file before its samples are all in memory.
            for frame in itertools.chain(container.decode(stream), [None]):
                for out in resampler.resample(frame):
                    width = out.layout.nb_channels
                    part = out.to_ndarray().reshape(-1, width)
                    if width == 1:
                        part = part[:, 0]
                    total += len(part)
                    if total > limit:
                        raise AudioError(
                            f"audio file {path!r} is longer than {MAX_AUDIO_SECONDS // 60} "
                            "minutes; use a shorter clip"
                        )
                    parts.append(part)
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises its own error types per FFmpeg error
        reason = getattr(exc, "strerror", None) or str(exc)  # FFmpeg's, without the path
        raise AudioError(
            f"audio file {path!r} could not be decoded ({reason}); check it, or export it again as "
            "WAV or FLAC"
        ) from exc
    if not total:
        # A WAV header with no samples after it: it rendered one silent frame and exited 0.
        raise AudioError(
            f"audio file {path!r} holds no sound (0 samples); record or export it again"
        )
    if parts[0].ndim == 2:
        parts = downmix_stereo(parts, out_rate)
    # One copy: the parts and the result are both alive only here (an ``astype`` after it
    # copied the float32 result once more: a 29-minute voice file peaked at 1.1 GB here).
    data = np.concatenate(parts, dtype=np.float32)
    del parts
    # A damaged float WAV decodes to NaN or infinities, which would poison every filter after.
    np.nan_to_num(data, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return data, out_rate


_decoded_lock = threading.Lock()
_decoded: tuple[tuple[str, int, int], np.ndarray, int] | None = None


def decoded_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """:func:`read_audio_file`, decoded once for all its users: the talking head's voice file
    is needed for the run's length (``RunConfig.seconds_of_audio``), by the ``audio-mouth``
    stage and by the recording's sound track, which decoded it three times at start (a
    30-minute file took seconds each). The samples are read-only, shared by every caller.

    The newest file decoded is kept (keyed by path, size and modification time, so an edited
    file is read again); its users hold the same array while they run, so this costs memory
    only after the run, until another file is decoded."""
    global _decoded
    path = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns)
    except OSError:
        key = None  # read_audio_file names the problem
    with _decoded_lock:
        if key is not None and _decoded is not None and _decoded[0] == key:
            return _decoded[1], _decoded[2]
        data, rate = read_audio_file(path)
        data.setflags(write=False)
        if key is not None:
            _decoded = (key, data, rate)
        return data, rate


@AUDIO_INPUTS.register("file")
class FileInput(ArrayInput):
    """A sound file (any rate and channel count), decoded once at ``open``: WAV, FLAC, Ogg,
    MP3, AAC, AIFF, WMA, AMR, or the sound track of a video (a recorded talk, a phone clip)."""

    suffixes = (
        ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac",
        ".aif", ".aiff", ".caf", ".wma", ".amr", ".3gp",  # Mac, Windows and phone recorders
        ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi",
    )  # fmt: skip

    def __init__(self, arg: str = "", loop: bool = False, **kwargs: Any) -> None:
        super().__init__(arg, loop=loop, **kwargs)
        self.source_rate = ANALYSIS_RATE

    def open(self) -> None:
        data, rate = decoded_audio(self.arg)
        self.source_rate = rate
        self.samples = resample(data, rate, ANALYSIS_RATE)
        super().open()


@AUDIO_INPUTS.register("asset")
class AssetInput(FileInput):
    """A clip shipped in ``pipelines/assets`` (the talking-head demo's voice)."""

    def open(self) -> None:
        from importlib import resources

        ref = resources.files("pipelines.assets").joinpath(self.arg)
        if not ref.is_file():
            raise AudioError(f"audio asset {self.arg!r} is missing; reinstall camfx")
        with resources.as_file(ref) as path:
            data, rate = decoded_audio(path)
        self.source_rate = rate
        self.samples = resample(data, rate, ANALYSIS_RATE)
        ArrayInput.open(self)


def voice_clip_file(spec: str) -> str | None:
    """The file that the voice ``spec`` plays: a sound file's path, or the file of a clip
    shipped in ``pipelines/assets`` (``asset:NAME``, the talking-head preset's demo voice);
    None for a microphone or silence. Played as that file, a clip is also recorded with the
    picture and sets the run's length, as ``--audio FILE`` does."""
    kind, arg = parse_audio_spec(spec)
    if kind == "file":
        return arg
    if kind != "asset":
        return None
    from importlib import resources

    ref = resources.files("pipelines.assets").joinpath(arg)
    if not ref.is_file() or not isinstance(ref, os.PathLike):
        raise AudioError(f"audio asset {arg!r} is missing; reinstall camfx")
    return os.fspath(ref)


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: float
    is_default: bool


def _sounddevice() -> Any:
    from pipelines.inference.session import NATIVE_STDERR_LOCK

    # Its import initialises PortAudio with fd 2 pointed at /dev/null, and back; ONNX
    # Runtime's stderr capture on an opener thread does the same. At once, each kept the
    # other's fd 2 as the real one, and the window's log lines went to /dev/null for the rest
    # of the run (2 of 4 window runs beside six CPU hogs, helper winrec, 2026-12-07).
    try:
        with NATIVE_STDERR_LOCK:
            import sounddevice as sd
    except OSError as exc:
        raise AudioError(PORTAUDIO_MISSING.format(exc=exc)) from exc
    return sd


def list_input_devices() -> list[InputDevice]:
    """Capture devices PortAudio sees (raises :class:`AudioError` when PortAudio is missing)."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except Exception as exc:
        raise AudioError(f"audio devices cannot be listed: {exc}") from exc
    return [
        InputDevice(
            i,
            str(d["name"]),
            int(d["max_input_channels"]),
            float(d["default_samplerate"]),
            i == default_in,
        )
        for i, d in enumerate(devices)
        if int(d["max_input_channels"]) > 0
    ]


def pick_input_device(spec: str | int | None) -> InputDevice:
    """The device for ``spec``: None/"" (the default), an index, or part of a name."""
    devices = list_input_devices()
    if not devices:
        asked = "" if spec is None or spec in ("", "default") else f" (asked for {str(spec)!r})"
        raise AudioError(f"no audio input device{asked}; plug in a microphone")
    if spec is None or spec == "" or spec == "default":
        return next((d for d in devices if d.is_default), devices[0])
    if isinstance(spec, int) or str(spec).isdigit():
        for d in devices:
            if d.index == int(spec):
                return d
        raise AudioError(
            f"audio input {spec} does not exist; inputs: "
            + ", ".join(f"{d.index}: {d.name}" for d in devices)
        )
    needle = str(spec).lower()
    matches = [d for d in devices if needle in d.name.lower()]
    if not matches:
        raise AudioError(
            f"no audio input named like {spec!r}; inputs: "
            + ", ".join(f"{d.index}: {d.name}" for d in devices)
        )
    return matches[0]


MIC_RING_S = 10.0
"""How much of a microphone's sound its ring keeps. The mouth's stage reads it at once (at
most ``max_backlog_s`` of it); a window's recording reads it later: from where the silence
before the talking head's first frame began (:data:`~pipelines.audio.mux.SILENCE_HELD_S`,
8 s), once its mouth's lag has settled (a second of frames). With 2 s, the first 1.6 s of
speech begun 2.6 s before that first frame were overwritten before the first read
(tests/test_recording_mic_after_silence.py). 1.9 MB at 48 kHz."""
MIC_REOPEN_S = 2.0
"""How often a microphone whose stream stopped (PortAudio's stream no longer active: the
device unplugged, its sound server killed) is opened again, on a thread of its own. With the
virtual PulseAudio microphone's server killed and started again, the old stream stayed dead and
a new one in the same process delivered (2026-12-08): without this, the talking head stayed
silent for the rest of the run."""
START_GAP_SAID_S = 0.3
"""A microphone whose first sound delivered was heard this long after it opened says so in a
log line: what was said before is in no recording. The virtual PulseAudio microphone's came
0.04 s after its open in a quiet window, 0.12-1.85 s after it beside six CPU hogs on the 2
cores (17 window runs), and 1.3-1.8 s after it in a script that only opened the stream
(2026-12-07): the samples counted fell short of the time since the open by as much, so the
sound in between never arrived (it was not merely late). The sound server's own recorder
(``parec`` on the same monitor, nothing else running, load 1.3) gave its first bytes 1.0-1.9 s
after it started (2026-12-08): the gap is the server's as often as the machine's load, and the
line names both."""


@AUDIO_INPUTS.register("mic")
class MicInput(AudioInput):
    """A capture device. The callback copies into a ring; :meth:`pull` converts to 16 kHz."""

    live = True

    def __init__(
        self,
        arg: str = "",
        ring_seconds: float = MIC_RING_S,
        max_backlog_s: float = 0.25,
        **kwargs: Any,
    ) -> None:
        super().__init__(arg, **kwargs)
        self.ring_seconds = ring_seconds
        self.max_backlog_s = max_backlog_s
        """Bounded latency: after a stall, audio older than this is skipped, not caught up."""
        self.device: InputDevice | None = None
        self.stream: Any = None
        self.ring: AudioRing | None = None
        self.device_rate = ANALYSIS_RATE
        self._resampler: StreamResampler | None = None
        self._read_pos = 0
        self.lost_samples = 0
        self.status_flags = 0
        self._lock = threading.Lock()
        self._heard_origin = math.inf
        """Capture-clock time at which device sample 0 was heard (:meth:`heard_at`)."""
        self._heard_lock = threading.Lock()  # the stage's and the recorder's threads ask
        self._resampled = (0, 0)
        """(device samples fed to the resampler, 16 kHz samples it gave) since :meth:`open`."""
        self.newest_heard: float | None = None
        """Capture-clock time at which the newest sample :meth:`pull` handed out was heard
        (None before the device delivered anything)."""
        self._opened_at: float | None = None
        self.start_gap_s: float | None = None
        """How long after its open the first sound it delivered was heard: measured once a
        second of sound came (:data:`START_GAP_SAID_S`)."""
        self.reopens = 0
        """Times its stream stopped and was opened again (:meth:`reopen_if_stopped`)."""
        self._reopening: threading.Thread | None = None
        self._reopen_tried = -math.inf
        self._closed = False

    def open(self) -> None:
        self.device = pick_input_device(self.arg or None)
        self._closed = False
        started = self._start_stream(self.device)
        with self._lock:
            self._adopt(*started)

    def _start_stream(self, device: InputDevice) -> tuple[AudioRing, Any, int]:
        sd = _sounddevice()
        last_exc: Exception | None = None
        # 16 kHz straight from the device when it (or PulseAudio/ALSA's plug) can; else its own.
        for rate in dict.fromkeys([ANALYSIS_RATE, int(device.default_rate), 48000, 44100]):
            ring = AudioRing(int(rate * self.ring_seconds))
            try:
                stream = sd.InputStream(
                    device=device.index,
                    channels=1,
                    samplerate=rate,
                    dtype="float32",
                    blocksize=0,
                    latency="low",
                    callback=self._make_callback(ring),
                )
                stream.start()
            except Exception as exc:
                last_exc = exc
                continue
            log.info("audio input %s at %d Hz", device.name, rate)
            return ring, stream, int(rate)
        raise AudioError(f"audio input {device.name!r} could not be opened: {last_exc}")

    def _adopt(self, ring: AudioRing, stream: Any, rate: int) -> None:
        """Read from a stream just started (with :attr:`_lock` held: :meth:`pull` reads)."""
        self.ring, self.stream, self.device_rate = ring, stream, rate
        self._resampler = StreamResampler(rate, ANALYSIS_RATE)
        self._read_pos = ring.written
        with self._heard_lock:
            self._heard_origin = math.inf
        self._resampled = (0, 0)
        self.newest_heard = None
        self._opened_at, self.start_gap_s = time.monotonic(), None

    def reopen_if_stopped(self) -> None:
        """Its stream stopped (the device unplugged, its sound server gone): opened again on a
        thread of its own, at most every :data:`MIC_REOPEN_S` (an open can wait on the sound
        server). What it delivers then goes into a new ring: a recording reading it places it
        by the new ring's own clock (:class:`~pipelines.audio.mux._MicReader`)."""
        stream, device = self.stream, self.device
        if self._closed or stream is None or device is None or bool(stream.active):
            return
        busy = self._reopening is not None and self._reopening.is_alive()
        now = time.monotonic()
        if busy or now - self._reopen_tried < MIC_REOPEN_S:
            return
        self._reopen_tried = now
        self._reopening = threading.Thread(
            target=self._reopen, args=(stream, device), name="camfx-mic-reopen", daemon=True
        )
        self._reopening.start()

    def _reopen(self, stopped: Any, device: InputDevice) -> None:
        try:
            started = self._start_stream(device)
        except Exception as exc:  # the server not back yet: tried again later
            log.debug("audio input %s not back yet: %s", device.name, exc)
            return
        with self._lock:
            adopted = not self._closed and self.stream is stopped
            if adopted:
                self._adopt(*started)
                self.reopens += 1
        if not adopted:
            started[1].close()  # closed while this one started
            return
        log.info("audio input %s opened again after its stream stopped", device.name)
        try:
            stopped.close()
        except Exception as exc:
            log.debug("closing the stopped audio input failed: %s", exc)

    def _make_callback(self, ring: AudioRing) -> Any:
        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            # Real-time thread: copy, nothing else.
            ring.write(indata)
            if status:
                self.status_flags += 1

        return callback

    def pull(self, until: int | None = None) -> np.ndarray:
        if self.ring is None or self._resampler is None:
            return np.zeros(0, np.float32)
        with self._lock:
            backlog = self.ring.written - self._read_pos
            limit = int(self.max_backlog_s * self.device_rate)
            if backlog > limit:
                self.lost_samples += backlog - limit
                self._read_pos = self.ring.written - limit
            raw, lost = self.ring.read(self._read_pos)
            self._read_pos += lost + len(raw)
            self.lost_samples += lost
            out = self._resampler.process(raw)
            fed, given = self._resampled[0] + len(raw), self._resampled[1] + len(out)
            self._resampled = (fed, given)
            heard = self.heard_at(self._read_pos)
            if heard is not None:
                # The resampler's filter holds the newest input samples back from its output.
                held_s = fed / self.device_rate - given / ANALYSIS_RATE
                self.newest_heard = heard - held_s
            if self.start_gap_s is None and self.ring.written >= self.device_rate:
                self._measure_start_gap()
        self.position += len(out)
        return out

    def _measure_start_gap(self) -> None:
        # After a second of sound: the first blocks' stamps may come late (a callback that
        # waited for a core), and the earliest estimate of when its first sample was heard
        # is kept (heard_at).
        first = self.heard_at(0)
        if first is None or self._opened_at is None:
            return
        self.start_gap_s = first - self._opened_at

    @property
    def start_gap_notice(self) -> str | None:
        """What the user is told (by the ``audio_mouth`` stage: a log line, the window's bar)
        once :attr:`start_gap_s` is measured past :data:`START_GAP_SAID_S`; else None."""
        gap = self.start_gap_s
        if gap is None or gap <= START_GAP_SAID_S or self.reopens:
            return None  # (opened again: its stage said that it gave no sound, and when back)
        return (
            f"{self.description} delivered no sound for its first {gap:.1f} s after it opened "
            "(its sound server was slow to start it, or the machine was busy): what was said "
            "then is not in the talking head or a recording"
        )

    def heard_at(self, position: int) -> float | None:
        """When device sample ``position`` (counted as the ring counts) was heard, on the
        monotonic clock the frames are stamped with; None before the device delivered
        anything. Each write's stamp says that the newest sample arrived then (a callback can
        run late, never early), less the device's input latency; the earliest such estimate
        is kept. A sound card whose clock runs slower than the system's (by well under
        0.01 %, under 0.4 s an hour) is not followed."""
        ring = self.ring
        stamp = None if ring is None else ring.stamp
        if stamp is None:
            return None
        written, at = stamp
        latency = float(getattr(self.stream, "latency", 0.0) or 0.0)
        with self._heard_lock:
            origin = min(self._heard_origin, at - latency - written / self.device_rate)
            self._heard_origin = origin
        return origin + position / self.device_rate

    def close(self) -> None:
        with self._lock:
            self._closed = True
            stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception as exc:  # closing a vanished device must not take the app down
                log.warning("closing audio input failed: %s", exc)

    @property
    def description(self) -> str:
        name = self.device.name if self.device else (self.arg or "default")
        return f"microphone {name} @ {self.device_rate} Hz"


def parse_audio_spec(spec: str) -> tuple[str, str]:
    """``mic``, ``mic:2``, ``file:x.flac``, ``x.wav``, ``none`` → (registered name, argument)."""
    spec = spec.strip()
    if not spec:
        return "none", ""
    found = AUDIO_INPUTS.split_spec(spec)
    if found is not None:
        return found
    if os.path.isdir(spec):
        raise AudioError(f"audio file {spec!r} is a folder; give a sound file in it")
    suffix = os.path.splitext(spec)[1].lower()
    if suffix and os.path.exists(spec):
        # A file of a type no input claims: say which types are read, not "unknown input".
        raise AudioError(
            f"audio file {spec!r}: camfx does not read {suffix} files; use a sound file "
            f"({', '.join(FileInput.suffixes)})"
        )
    raise AudioError(
        f"unknown audio input {spec!r}; use mic, mic:NAME, none, or a sound file "
        "(.wav, .flac, .mp3, .ogg, .m4a, or a video's sound track)"
    )


def make_audio_input(spec: str, **kwargs: Any) -> AudioInput:
    """Create (not open) the input for ``spec``."""
    name, arg = parse_audio_spec(spec)
    return AUDIO_INPUTS.get(name)(arg, **kwargs)
