"""Sound for recordings: where a recording's audio comes from, and its AAC track (PyAV).

A video file output (:mod:`pipelines.outputs.recorder`) writes video and sound in one pass.
Its sound comes from an :class:`AudioTrackSource`, which hands each recording its own
:class:`AudioReader` (two files may record the same microphone):

- :class:`FileAudio`: a WAV/FLAC file, on the *frames* clock. Sample time ``k / rate`` is the
  time of frame ``k / rate * fps``, as ``audio_mouth`` reads it, so the recording stays in step
  however fast frames are rendered.
- :class:`MicAudio`: the microphone that an ``audio_mouth`` stage opened, on the *capture*
  clock (``time.monotonic()``, like the frames' timestamps). It reads the stage's
  :class:`~pipelines.audio.ring.AudioRing` with a cursor of its own.
- :class:`VideoSound`: a video file source's own sound track, on the *frames* clock: each
  pass through the file (it loops) from the recording time of that pass's first frame, as the
  frames themselves say (:data:`~pipelines.sources.base.MEDIA_PLACE`). Recorded where no
  talking head speaks: a talking head stands in for the person, so its voice is the one kept.
- :class:`TalkingHeadVoice`: the window's recordings. Whatever the talking head says in each
  frame, as the frame itself says (``ctx.audio.voice``): its microphone on the *capture* clock,
  its voice file read where the stage read it for that frame on the *frames* clock; where none
  speaks, a video file source's own sound, placed on the *capture* clock where the window's
  source says its frames are (:data:`LIVE_MEDIA_PLACE`), or silence. Its clock changes with
  the voice; the recorder starts a new clock segment there
  (:class:`~pipelines.outputs.recorder.ClockSegment`).

:class:`AacTrack` places each block of samples on the recording's timeline by its time, fills
gaps with silence, drops what overlaps, converts it to 48 kHz with PyAV's ``AudioResampler``
(swresample) and encodes AAC, which every browser and player reads in MP4.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from pipelines.audio.inputs import MicInput, decoded_audio
from pipelines.audio.ring import AudioRing
from pipelines.frame import CtxKey, FrameContext
from pipelines.sources.base import MEDIA_PLACE, MediaPlace

if TYPE_CHECKING:
    from pipelines.audio.stage import FrameVoice

log = logging.getLogger(__name__)

TRACK_RATE = 48000
"""The AAC track's rate: a rate every AAC decoder takes, and the common rate of sound cards."""
AAC_BITRATE = 96000
JITTER_S = 0.004
"""A block that starts within this of where the track is continues it as is: rounding of
float times must not insert or drop single samples (clicks)."""


Clock = Literal["frames", "capture"]
"""A recording's time: "frames" (frame index / fps) or "capture" (``time.monotonic()``)."""
FRAME_MOVE_SLEW = 0.5
"""How much earlier than the one before it a microphone's recorded frame may move, as a share
of the time between their captures (:meth:`_MicReader.frame_offset`)."""
SILENCE_BACK_S = 1.0
"""A voice's reader first gives this much before the time it is asked for: the track drops
what lies before the place it has reached, so the voice starts exactly there (the first read
asks up to one frame past the frame where the voice starts)."""
SILENCE_HELD_S = 8.0
"""How long a window's recording holds its silence back from the encoder, so that a
microphone whose first frame comes after it can still put what it heard meanwhile in its
place (:meth:`AacTrack.switch`). The talking head's stages open beside the running ones and
the microphone hears from its open on, but frames show its mouth only once the whole list is
swapped in: after the other stages' opens, up to :data:`~pipelines.opener.WARM_WAIT_S` (4 s)
of their background work and two rehearsals. Beside six CPU hogs on the 2 cores the first
0.5-3.3 s of speech after Record were recorded as silence (qa9's four runs, 2026-12-07); with
the talking head's stage made to open 3 s slower on a quiet machine, the first 1.2 s (the
speech from 1.27 s, its first frame at 2.46 s). Less than the microphone's ring
(:data:`~pipelines.audio.inputs.MIC_RING_S`), which must also last until the mouth's lag has
settled (a second of its frames) and the recording first reads it."""


class AudioReader(Protocol):
    @property
    def clock(self) -> Clock:
        """The clock of the times :meth:`read` gives (it may change at :meth:`follow`)."""
        ...

    def follow(self, ctx: FrameContext) -> bool:
        """Called with each recorded frame's context before its sound is read: whether the
        voice changed in this frame (then :attr:`clock` may be another one). A reader of one
        fixed sound says False."""
        ...

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        """New samples (mono float32), their rate, and the time of the first one. ``until``:
        samples after this time are not wanted yet (None: whatever is there). ``final``: the
        recording ends; nothing read later is recorded."""
        ...

    def frame_offset(self, ctx: FrameContext) -> float:
        """Seconds a frame (after :meth:`follow`) is recorded later than its capture time so
        that its picture meets the sound as this reader places it; 0 where the frame's own
        time is right (a file's, a video's sound, silence)."""
        ...

    @property
    def lost_s(self) -> float:
        """Seconds of sound this reader came too late for (a microphone's ring had written
        over them): silence in the track there, said when the recording ends."""
        ...


class _FramesKeepTheirTime:
    """A reader whose sound is placed where each frame's own time says (and is read from a
    file or made, so none is ever lost)."""

    lost_s = 0.0

    def frame_offset(self, ctx: FrameContext) -> float:
        return 0.0


class AudioTrackSource(Protocol):
    @property
    def clock(self) -> Clock:
        """The clock a recording starts on."""
        ...

    @property
    def clock_follows_voice(self) -> bool:
        """Whether the readers' clock changes during a recording (:meth:`AudioReader.follow`)."""
        ...

    def reader(self) -> AudioReader:
        """A reader with its own position (each recording gets one)."""
        ...


# --------------------------------------------------------------------------- sources
class FileAudio:
    """A sound file that starts with frame 0 (``--audio FILE``): frame *i* is its time *i* /
    fps, or, under a live source's frames (a camera), it plays from the first frame's capture
    time as ``audio_mouth`` mouthed it (:attr:`~pipelines.audio.stage.FrameVoice.
    played_from`): its reader then turns to the *capture* clock at the first frame."""

    clock_follows_voice = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.clock: Clock = "frames"
        self.path = str(path)

    def reader(self) -> AudioReader:
        return _FileReader(self.path)

    @property
    def description(self) -> str:
        return f"sound from {self.path}"


class _FileReader(_FramesKeepTheirTime):
    def __init__(self, path: str) -> None:
        self.clock: Clock = "frames"
        self.samples, self.rate = decoded_audio(path)
        self.position = 0
        self.played_from: float | None = None
        """On the *capture* clock: the capture time of the file's time 0."""

    def follow(self, ctx: FrameContext) -> bool:
        voice = frame_voice(ctx)
        played = voice.played_from if voice is not None else None
        if played is not None and self.played_from is None:
            # The first frame mouthed in real time: so is every later one (a live source's
            # frames stay live, and the stage's clock keeps its start).
            self.clock, self.played_from = "capture", float(played)
        return False

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        start_s = 0.0 if self.played_from is None else self.played_from
        total = len(self.samples)
        end = total if until is None else min(total, int((until - start_s) * self.rate))
        start = self.position
        self.position = max(start, end)
        return self.samples[start : self.position], self.rate, start_s + start / self.rate


class MicAudio:
    """The live microphone of an ``audio_mouth`` stage (opened by the stage when the engine
    opens it, after the outputs are open: readers attach when it appears).

    ``stage`` is the stage, or a function that returns the one in use now (the window swaps
    stages while it records); a stage whose input is not a microphone gives silence."""

    clock_follows_voice = False

    def __init__(self, stage: Any) -> None:
        self.clock: Clock = "capture"
        self.stage = stage

    def reader(self) -> AudioReader:
        def mic() -> Any:
            return getattr(self.stage() if callable(self.stage) else self.stage, "input", None)

        return _MicReader(mic)

    @property
    def description(self) -> str:
        return "sound from the microphone"


class _MicReader:
    """``mic_of`` gives the microphone input in use now (None, or another input: silence).

    The sound is placed where the talking head's mouth shows it, not where it was heard: in a
    recording the viewer judges the drawn mouth against its voice, and a live mouth can only
    be read from sound already heard (a voice file's mouth looks ahead over the analyser's
    latency; a microphone's cannot). Placed where it was heard, the virtual PulseAudio
    microphone's voice led the recorded mouth by 37-48 ms (the tracked opening against the one
    the analyser asks for the recorded sound, four runs, 2026-12-06; a voice file's: 8 ms);
    placed by the frames' measured mouth lag (:attr:`~pipelines.audio.stage.FrameVoice.
    mouth_lag_s`, 42-44 ms there, fixed once for the whole track so that it stays
    continuous), 3-13 ms. Frames that carry no mouth of this microphone (none drawn) get it
    where it was heard. A frame whose own lag strays from that fixed one by more than half a
    frame moves instead (:meth:`frame_offset`)."""

    def __init__(self, mic_of: Callable[[], Any]) -> None:
        self.clock: Clock = "capture"
        self.mic_of = mic_of
        self.mic: MicInput | None = None
        """The microphone last read."""
        self.ring: AudioRing | None = None
        self.rate = TRACK_RATE
        self.position = 0
        self.mouthed = False
        """A recorded frame's mouth was read from this microphone."""
        self.mouth_lag: float | None = None
        self.mouth_lag_settled = False
        """The latest such frame's :attr:`~pipelines.audio.stage.FrameVoice.mouth_lag_s`,
        and whether it was settled."""
        self.shift: float | None = None
        """How much later than it was heard the sound is placed, fixed at the first read."""
        self._moved: tuple[float, float] | None = None
        """(Capture time, :meth:`frame_offset`) of the latest frame moved."""
        self.lost_s = 0.0

    def follow(self, ctx: FrameContext) -> bool:
        voice = frame_voice(ctx)
        if voice is not None and voice.input is self.mic_of():
            self.mouthed = True
            self.mouth_lag, self.mouth_lag_settled = voice.mouth_lag_s, voice.mouth_lag_settled
        return False

    def _attach(self, final: bool) -> float | None:
        """The capture time at which ring sample 0 is placed; None while there is nothing to
        read yet, or while the mouth's lag is still being measured (the ring keeps
        :data:`~pipelines.audio.inputs.MIC_RING_S`)."""
        mic = self.mic_of()
        if final and not isinstance(mic, MicInput) and self.mic is not None:
            mic = self.mic  # closed by its stage first: what it heard is still in its ring
        ring = mic.ring if isinstance(mic, MicInput) else None
        if ring is None or not isinstance(mic, MicInput):
            self.ring = None
            return None
        self.mic = mic
        heard = mic.heard_at(0)
        if heard is None:
            return None  # the device has not delivered anything yet
        if ring is not self.ring:
            self.ring = ring
            self.rate = int(mic.device_rate)
            self.position = max(0, ring.written - ring.capacity)
            self.shift = None
        if self.shift is None:
            if self.mouthed and not self.mouth_lag_settled and not final:
                return None
            self.shift = self.mouth_lag if self.mouthed and self.mouth_lag is not None else 0.0
        return float(heard) + self.shift

    def frame_offset(self, ctx: FrameContext) -> float:
        """A frame whose mouth shows sound heard later than the track's fixed lag says (it
        waited on a busy machine between its capture and the mouth's stage: 74 ms at the
        median and 300 ms at the 90th percentile beside six CPU hogs on 2 cores, against
        4 and 9 alone) is recorded that much later, less half a frame of slack, so its mouth
        meets its voice; and one that shows older sound, earlier. Where it was shown live is
        much the same time: the picture went out after that wait. The slack keeps an
        unhurried recording's frames on their capture times (its frames' own lags spread 35
        to 48 ms around a median of 44, within it).

        A frame moves earlier than the frame before it by at most :data:`FRAME_MOVE_SLEW` of
        the time between their captures, so it keeps at least half its captured spacing (a
        move later only widens a gap the wait made). Moved all the way, frames whose mouth
        read no newer sound than the one before (the microphone's own delivery starved too)
        all landed on that sound's instant: up to 10 distinct frames on one time stamp beside
        six hogs, never shown, the motion jumping (qa9, 2026-12-07). Through a stand-in
        microphone stalled 0.15 s in every 0.6 s, the mouth against its voice as a player
        shows it (the newest frame at each 1/30 s) read r 0.85-0.88 with 29-38 frames stacked,
        0.90-0.91 with the earlier moves limited, and 0.76-0.84 with every change limited both
        ways (late catching up after the stall)."""
        at = ctx.timestamp
        if self._moved is not None and self._moved[0] == at:
            return self._moved[1]  # the same frame asked again (a recording's first frame)
        wanted = self._mouth_move(ctx)
        if self._moved is not None and at > self._moved[0]:
            wanted = max(wanted, self._moved[1] - FRAME_MOVE_SLEW * (at - self._moved[0]))
        self._moved = (at, wanted)
        return wanted

    def _mouth_move(self, ctx: FrameContext) -> float:
        """Where the frame's mouth would put it, before the slew's limit."""
        voice = frame_voice(ctx)
        if voice is None or voice.input is not self.mic_of() or voice.frame_lag_s is None:
            return 0.0
        shift = self.shift if self.shift is not None else voice.mouth_lag_s
        if shift is None:
            return 0.0
        later = shift - voice.frame_lag_s
        slack = 0.5 / voice.fps
        return max(0.0, later - slack) + min(0.0, later + slack)

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        anchor = self._attach(final)
        ring = self.ring
        if anchor is None or ring is None:  # (_attach sets the ring wherever it places sound)
            return np.zeros(0, np.float32), self.rate, 0.0
        samples, lost = ring.read(self.position)
        if lost:
            # Read too late: the ring has overwritten them. Said, not left as a silent gap:
            # here and when the recording ends (:attr:`lost_s`).
            self.lost_s += lost / self.rate
            log.warning(
                "the recording lost %.2f s of the microphone's sound: it was read %.1f s "
                "late and its ring keeps %.0f s (the machine is too busy)",
                lost / self.rate,
                (ring.written - self.position) / self.rate,
                ring.capacity / self.rate,
            )
        start = self.position + lost  # lost samples leave a gap, filled with silence
        self.position = start + len(samples)
        return samples, self.rate, anchor + start / self.rate


def has_sound(path: str) -> bool:
    """Whether the media file at ``path`` holds a sound track PyAV can open (False when it
    cannot be read: its source says why, in its own line)."""
    try:
        import av

        with av.open(path) as container:
            return bool(container.streams.audio)
    except Exception:  # no PyAV, or FFmpeg cannot read it
        return False


@dataclass(frozen=True)
class LiveMediaPlace:
    """Where a video file's frame lies in the file, as a live wrapper of sources (the window's,
    which swaps them while it records) places it on the *capture* clock: its frames are timed
    by capture, not by their index. :class:`_VideoSoundReader` lays each pass's sound from
    :attr:`starts_at_s` as it does a :class:`~pipelines.sources.base.MediaPlace`'s."""

    path: str
    """The video file."""
    loop: int
    """The pass, counted by the wrapper across its sources: a new one for each pass through a
    file, for each source it is given (the same file opened again starts a new pass) and after
    a pause."""
    starts_at_s: float
    """The capture-clock time (``time.monotonic()``) where the pass's time 0 in the file lies:
    a frame's capture time less its time into the pass. Set again within a pass where the
    source's clock restarted (a pause, a stall of over a second): the sound then goes on from
    where the pictures are."""


LIVE_MEDIA_PLACE: CtxKey[LiveMediaPlace] = CtxKey("live_media_place")
"""Set by the window's source (:class:`~app.gui.plumbing.ControlledSource`) on each frame of a
video file (:class:`LiveMediaPlace`); read by :class:`TalkingHeadVoice`."""


class VideoSound:
    """The sound track of a video file source (``camfx run --source talk.mp4``), laid under
    the recording where the file's frames are: see :class:`_VideoSoundReader`."""

    clock_follows_voice = False

    def __init__(self, path: str) -> None:
        self.clock: Clock = "frames"
        self.path = path

    def reader(self) -> AudioReader:
        return _VideoSoundReader(self.path)

    @property
    def description(self) -> str:
        return f"sound of {self.path}"


class _VideoSoundReader(_FramesKeepTheirTime):
    """Each pass through the file gives its sound from the *frames*-clock time of its first
    frame (:attr:`~pipelines.sources.base.MediaPlace.starts_at_s`) until the next pass starts,
    where it is cut (or, a sound track shorter than the pictures, silence fills the rest): the
    sound loops with the pictures, and ``--no-loop`` ends both at the last frame.

    A live-paced run skips late frames, but their indices are counted and the recording holds
    the frame before over their time (its timeline stays the file's): the sound is kept whole
    there, not cut out with the skipped frames. Cut out, each skip would leave a gap of silence
    (33-100 ms, a hole every few frames under load) while the frames after it stay at the
    file's time; kept, the sound stays where the file has it and only the picture stalls.

    Within a pass the sound is continuous (no sample dropped or repeated), so a variable frame
    rate file, whose recording is timed evenly at its mean rate, may have a frame off its own
    time by that evening; the sound itself is where the file has it."""

    def __init__(
        self, path: str, key: CtxKey[MediaPlace] | CtxKey[LiveMediaPlace] = MEDIA_PLACE
    ) -> None:
        self.key: CtxKey[Any] = key  # either place: both have a path and compare as passes
        self.clock: Clock = "capture" if key is LIVE_MEDIA_PLACE else "frames"
        """A file source's frames are timed by index (*frames*), the window's by capture."""
        self.path = path
        self.rate = TRACK_RATE
        self.position: int | None = 0 if self.clock == "frames" else None
        """Recording sample (at :attr:`rate`) up to which sound was given; on the *capture*
        clock, None until the first read (whose time 0 is the computer's start)."""
        self.passes: list[MediaPlace | LiveMediaPlace] = []
        """The passes seen in the recorded frames, in order (on the capture clock also a pass
        placed again after its source's clock restarted)."""
        self._clip: _ClipDecoder | None = None
        self._clip_loop: int | None = None

    def follow(self, ctx: FrameContext) -> bool:
        place: MediaPlace | LiveMediaPlace | None = ctx.get(self.key)
        if place is None or place.path != self.path:
            return False  # another source's frame (the window switched it)
        if not self.passes or place != self.passes[-1]:
            self.passes.append(place)
        return False

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        if self.position is None:
            if until is None or not self.passes:
                return np.zeros(0, np.float32), self.rate, 0.0
            # From the pass's start, or the second before the time asked (as a voice starts,
            # SILENCE_BACK_S): the track keeps only what lies after the place it has reached.
            back = round((until - SILENCE_BACK_S) * self.rate)
            self.position = max(round(self.passes[0].starts_at_s * self.rate), back)
        start = self.position
        if until is None or not self.passes:
            return np.zeros(0, np.float32), self.rate, start / self.rate
        end = max(start, round(until * self.rate))
        out = np.zeros(end - start, np.float32)
        starts = [round(p.starts_at_s * self.rate) for p in self.passes]
        for k, place in enumerate(self.passes):
            lo = max(start, starts[k])
            hi = min(end, starts[k + 1] if k + 1 < len(starts) else end)
            if hi > lo:
                out[lo - start : hi - start] = self._clip_for(place).take(lo - starts[k], hi - lo)
        self.position = end
        # Passes wholly given are forgotten: a short clip looped for hours made one a loop.
        while len(self.passes) > 1 and round(self.passes[1].starts_at_s * self.rate) <= end:
            del self.passes[0]
        if final:
            self._close_clip()
        return out, self.rate, start / self.rate

    def _clip_for(self, place: MediaPlace | LiveMediaPlace) -> _ClipDecoder:
        """The decoder of ``place``'s pass: a pass after another starts a new one at the
        file's start (a file still being written may have grown)."""
        if self._clip is None or self._clip_loop != place.loop:
            self._close_clip()
            self._clip, self._clip_loop = _ClipDecoder(self.path, self.rate), place.loop
        return self._clip

    def _close_clip(self) -> None:
        if self._clip is not None:
            self._clip.close()
        self._clip = None


class _ClipDecoder:
    """One pass of a video file's sound, decoded as it is asked for: mono (the channels'
    mean) at ``rate``, sample 0 at the video's first frame."""

    def __init__(self, path: str, rate: int) -> None:
        self.path = path
        self.rate = rate
        self._container: Any = None
        self._frames: Any = None
        self._resampler: Any = None
        self._video_start_s = 0.0
        self._buffer = np.zeros(0, np.float32)
        self._buffer_at: int | None = None
        """Clip sample of :attr:`_buffer`'s first sample (None until the first is decoded)."""
        self._ended = False
        try:
            import av

            self._container = av.open(path)
            video = self._container.streams.video
            if video and video[0].start_time is not None and video[0].time_base:
                self._video_start_s = float(video[0].start_time * video[0].time_base)
            self._frames = self._container.decode(audio=0)
            self._resampler = av.AudioResampler(format="fltp", rate=rate)
        except Exception as exc:
            self._end(exc)

    def take(self, start: int, count: int) -> np.ndarray:
        """Clip samples ``start`` to ``start + count``; silence where the file has none."""
        while not self._ended and (
            self._buffer_at is None or self._buffer_at + len(self._buffer) < start + count
        ):
            self._decode_more()
            at = self._buffer_at
            if at is not None and at < start:
                # Decoded on the way to ``start`` (the window's recording of a video from its
                # middle): not kept, or a 10-minute file would hold 115 MB here (mono float32,
                # 48 kHz).
                drop = min(len(self._buffer), start - at)
                self._buffer, self._buffer_at = self._buffer[drop:], at + drop
        out = np.zeros(count, np.float32)
        at = self._buffer_at
        if at is not None:
            lo, hi = max(start, at), min(start + count, at + len(self._buffer))
            if hi > lo:
                out[lo - start : hi - start] = self._buffer[lo - at : hi - at]
            # What lies before ``start`` is not asked again (the reader goes forward only).
            drop = min(len(self._buffer), max(0, start + count - at))
            self._buffer, self._buffer_at = self._buffer[drop:], at + drop
        return out

    def _decode_more(self) -> None:
        try:
            frame = next(self._frames)
        except StopIteration:
            self._flush()
            return
        except Exception as exc:
            self._end(exc)
            return
        if self._buffer_at is None:
            # The first sample's place; the samples after it follow on from there (the
            # frames' own stamps, rounded, would insert or drop single samples: clicks).
            first_s = float(frame.time) if frame.time is not None else self._video_start_s
            self._buffer_at = round((first_s - self._video_start_s) * self.rate)
        for out in self._resampler.resample(frame):
            self._append(out)

    def _append(self, frame: Any) -> None:
        samples = np.asarray(frame.to_ndarray(), np.float32)
        mono = samples.mean(axis=0) if samples.ndim == 2 else samples.reshape(-1)
        self._buffer = np.concatenate([self._buffer, mono.astype(np.float32)])

    def _flush(self) -> None:
        if self._resampler is not None:
            try:
                for out in self._resampler.resample(None):
                    self._append(out)
            except Exception as exc:
                log.debug("flushing the sound of %s: %s", self.path, exc)
        self._end(None)

    def _end(self, exc: BaseException | None) -> None:
        if exc is not None and not self._ended:
            log.warning(
                "the sound of %s could not be decoded past %.1f s (%s): the recording is "
                "silent from there",
                self.path,
                (self._buffer_at or 0) / self.rate,
                exc,
            )
        self._ended = True
        self.close()

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()


class VoiceKind(enum.StrEnum):
    """What a talking head says in a frame, as a recording hears it."""

    SILENT = "silent"
    """No talking head, no input, or a voice file played by the wall clock."""
    MICROPHONE = "microphone"
    FILE = "file"
    """A voice file mouthed by frame number."""
    PLAYED = "played"
    """A voice file mouthed by a live source's frames at their capture time
    (:attr:`~pipelines.audio.stage.FrameVoice.played_from`): it plays in real time."""
    VIDEO = "video"
    """No talking head speaks, and the frame is a video file's with a sound track (the window's
    :data:`LIVE_MEDIA_PLACE`): the file's own sound, as the command line records it."""


def frame_voice(ctx: FrameContext) -> FrameVoice | None:
    """The talking head's voice that ``ctx``'s frame mouths (None without one)."""
    return ctx.audio.voice if ctx.audio is not None else None


def voice_kind(voice: FrameVoice | None) -> VoiceKind:
    """The kind of a frame's :class:`~pipelines.audio.stage.FrameVoice` (None: silent)."""
    if voice is None:
        return VoiceKind.SILENT
    if voice.input.live:
        return VoiceKind.MICROPHONE
    samples = getattr(voice.input, "samples", None)
    if voice.clock == "frames" and samples is not None and len(samples):
        return VoiceKind.FILE if voice.played_from is None else VoiceKind.PLAYED
    return VoiceKind.SILENT


class TalkingHeadVoice:
    """The sound of a window's recording: what the talking head says in each frame, whatever
    is switched on, off or changed while it records; where none speaks, the video file
    source's own sound (:data:`LIVE_MEDIA_PLACE`); silence where there is neither.

    A talking head's voice wins over the video's sound: it speaks for the person, as on the
    command line. A source switched while recording is heard from its first frame: another
    video's sound, or silence for a camera, the demo or a picture; never the old file's sound
    under the new pictures (each frame names its own file and pass).

    Each frame names its voice (``ctx.audio.voice``, set by ``audio_mouth``), so the sound
    changes on the frame whose picture changed, not when the engine's other threads see the
    change. A microphone is placed where its mouth shows it (*capture* clock, as
    :class:`MicAudio`); a voice file where the stage mouthed it for that frame, ``index / stage
    fps`` into it (*frames* clock); silence on the *capture* clock, as a recording without
    sound. ``fps`` is the recording's frame rate (a frame's *frames* time is ``index / fps``)."""

    clock_follows_voice = True

    def __init__(self, fps: float) -> None:
        self.clock: Clock = "capture"
        self.fps = float(fps)

    def reader(self) -> AudioReader:
        return _TalkingHeadReader(self.fps)

    @property
    def description(self) -> str:
        return "sound from the talking head"


class _TalkingHeadReader:
    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.kind: VoiceKind | None = None
        self.follows_silence = False
        """The voice is one that reaches back (:data:`REACHES_BACK`), new to this recording,
        and the one before it was silence: what it heard before its first frame replaces that
        silence (:meth:`AacTrack.switch`)."""
        self._spoken: weakref.WeakSet[Any] = weakref.WeakSet()
        """The inputs this recording's voice came from. One that comes back after silence
        (the privacy card held over the same talking head) keeps that silence: it was not
        heard because the picture was hidden, not because the input was still opening."""
        self.voice: FrameVoice | None = None
        """The latest frame's :class:`~pipelines.audio.stage.FrameVoice` (None: silent)."""
        self.video: str | None = None
        """The video file whose sound the latest frame has (:attr:`VoiceKind.VIDEO`)."""
        self._has_sound: dict[str, bool] = {}
        """Whether each video file seen has a sound track, asked once per recording."""
        self._reader: AudioReader = _SilenceReader()
        self._lost_before = 0.0
        """:attr:`lost_s` of the voices before this one."""

    @property
    def clock(self) -> Clock:
        return self._reader.clock

    @property
    def lost_s(self) -> float:
        return self._lost_before + self._reader.lost_s

    @property
    def silent(self) -> bool:
        """The voice now is silence (held back from the encoder: :data:`SILENCE_HELD_S`)."""
        return self.kind is VoiceKind.SILENT

    def _video_with_sound(self, ctx: FrameContext) -> str | None:
        place: LiveMediaPlace | None = ctx.get(LIVE_MEDIA_PLACE)
        if place is None:
            return None
        if place.path not in self._has_sound:
            self._has_sound[place.path] = has_sound(place.path)
        return place.path if self._has_sound[place.path] else None

    def follow(self, ctx: FrameContext) -> bool:
        voice = frame_voice(ctx)
        kind = voice_kind(voice)
        voice = voice if kind is not VoiceKind.SILENT else None
        video = self._video_with_sound(ctx) if voice is None else None
        if video is not None:
            kind = VoiceKind.VIDEO
        speaker = None if voice is None else voice.input
        same = (
            kind is self.kind
            and speaker is getattr(self.voice, "input", None)
            and video == self.video
        )
        first = self.kind is None
        self.voice, self.video = voice, video
        if same:
            self._reader.follow(ctx)
            return False
        self.follows_silence = (
            kind in REACHES_BACK and self.kind is VoiceKind.SILENT and speaker not in self._spoken
        )
        if speaker is not None:
            self._spoken.add(speaker)
        self.kind = kind
        # A fresh reader for each voice: a microphone's ring or a file's place is its own.
        self._lost_before += self._reader.lost_s
        self._reader = VOICE_READERS[kind](self)
        self._reader.follow(ctx)
        return not first

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        return self._reader.read(until, final)

    def frame_offset(self, ctx: FrameContext) -> float:
        return self._reader.frame_offset(ctx)


class _SilenceReader(_FramesKeepTheirTime):
    """Zeros up to the time asked, on the capture clock."""

    def __init__(self) -> None:
        self.clock: Clock = "capture"
        self.rate = TRACK_RATE
        self.position: int | None = None
        """Capture-clock sample (at :attr:`rate`) up to which zeros were given."""

    def follow(self, ctx: FrameContext) -> bool:
        return False

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        if until is None:
            return np.zeros(0, np.float32), self.rate, 0.0
        end = round(until * self.rate)
        if self.position is None:
            self.position = end - round(SILENCE_BACK_S * self.rate)
        start = min(self.position, end)
        self.position = end
        return np.zeros(end - start, np.float32), self.rate, start / self.rate


def voice_span(samples: np.ndarray, start: int, end: int, loop: bool) -> np.ndarray:
    """A voice file's samples ``start`` to ``end`` as its talking head's stage hears them:
    looped, or silence before its start and after its end."""
    index = np.arange(start, end)
    if loop:
        return samples[index % len(samples)]
    out = np.zeros(len(index), np.float32)
    inside = (index >= 0) & (index < len(samples))
    out[inside] = samples[index[inside]]
    return out


class _FrameVoiceReader(_FramesKeepTheirTime):
    """The voice file a talking head mouths by frame number, read where the stage read it:
    frame ``index`` is recording time ``index / fps`` and voice time ``index / stage fps``
    (looped like the stage). ``voice_of`` gives the latest frame's voice."""

    def __init__(self, voice_of: Callable[[], FrameVoice | None], fps: float) -> None:
        self.clock: Clock = "frames"
        self.voice_of = voice_of
        self.fps = fps
        self.position: int | None = None
        """Reader-time position (samples at the last rate) up to which samples were given."""
        self.rate = 0

    def follow(self, ctx: FrameContext) -> bool:
        return False

    def _voice(self) -> tuple[np.ndarray, int, bool] | None:
        """The decoded voice, its samples per second of recording time, and whether it loops;
        None once the frame's voice is another kind."""
        voice = self.voice_of()
        if voice is None or voice_kind(voice) is not VoiceKind.FILE:
            return None
        heard: Any = voice.input  # a file's input: its decoded samples are all there
        rate = round(int(heard.sample_rate) * float(voice.fps) / self.fps)
        loop = bool(getattr(heard, "loop", False))
        return np.asarray(heard.samples, np.float32), max(1, rate), loop

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        voice = self._voice()
        if voice is None or until is None:
            return np.zeros(0, np.float32), self.rate or TRACK_RATE, 0.0
        samples, rate, loop = voice
        end = int(until * rate)
        if rate != self.rate or self.position is None:
            self.rate, self.position = rate, end - round(SILENCE_BACK_S * rate)
        start = min(self.position, end)
        self.position = end
        return voice_span(samples, start, end, loop), rate, start / rate


class _PlayedVoiceReader(_FramesKeepTheirTime):
    """The voice file a talking head mouths under a live source's frames, read where the stage
    read it: capture time *t* is voice time *t* - ``played_from`` (looped like the stage), on
    the *capture* clock as the frames are. ``voice_of`` gives the latest frame's voice."""

    def __init__(self, voice_of: Callable[[], FrameVoice | None]) -> None:
        self.clock: Clock = "capture"
        self.voice_of = voice_of
        self.position: int | None = None
        """Voice sample (at :attr:`rate`) up to which samples were given."""
        self.rate = TRACK_RATE
        self.played_from = 0.0

    def follow(self, ctx: FrameContext) -> bool:
        return False

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        voice = self.voice_of()
        if voice is None or voice.played_from is None or voice_kind(voice) is not VoiceKind.PLAYED:
            return np.zeros(0, np.float32), self.rate, 0.0
        heard: Any = voice.input  # a file's input: its decoded samples are all there
        samples = np.asarray(heard.samples, np.float32)
        self.rate, self.played_from = int(heard.sample_rate), float(voice.played_from)
        if until is None:
            return np.zeros(0, np.float32), self.rate, 0.0
        end = int((until - self.played_from) * self.rate)
        if self.position is None:
            self.position = end - round(SILENCE_BACK_S * self.rate)
        start = min(self.position, end)
        self.position = end
        out = voice_span(samples, start, end, bool(getattr(heard, "loop", False)))
        return out, self.rate, self.played_from + start / self.rate


VOICE_READERS: dict[VoiceKind, Callable[[_TalkingHeadReader], AudioReader]] = {
    VoiceKind.SILENT: lambda head: _SilenceReader(),
    VoiceKind.MICROPHONE: lambda head: _MicReader(lambda: getattr(head.voice, "input", None)),
    VoiceKind.FILE: lambda head: _FrameVoiceReader(lambda: head.voice, head.fps),
    VoiceKind.PLAYED: lambda head: _PlayedVoiceReader(lambda: head.voice),
    VoiceKind.VIDEO: lambda head: _VideoSoundReader(head.video or "", LIVE_MEDIA_PLACE),
}
"""The reader for each kind of voice (a new kind adds its row here)."""
REACHES_BACK = frozenset({VoiceKind.MICROPHONE})
"""Voices whose sound heard before their first frame is recorded where silence was: a
microphone was opened for the talking head's voice and heard the user from then on, while
frames still came from the stages before (the "Starting..." card, the preset before)."""


# --------------------------------------------------------------------------- AAC track
class AacTrack:
    """One mono AAC stream of an open PyAV container, filled from a reader."""

    def __init__(self, container: Any, reader: AudioReader) -> None:
        import av

        self.av = av
        self.reader = reader
        self.stream = container.add_stream("aac", rate=TRACK_RATE, layout="mono")
        self.stream.bit_rate = AAC_BITRATE
        self.container = container
        self.origin = 0.0
        """Recording time 0 on the reader's clock (the first frame's time)."""
        self._rate: int | None = None
        self._placed = 0
        """Timeline position (samples at the reader's rate) after the last sample placed."""
        self._fed = 0
        """Timeline position up to which samples went to the encoder."""
        self._pending: list[np.ndarray] = []
        """Placed samples the video has not reached yet."""
        self._resampler: Any = None
        self._fifo = av.AudioFifo()
        self._pts = 0
        self.samples_written = 0
        self._silence_from: float | None = None
        """Recording time from which the reader gives silence (it says so: ``silent``),
        held back from the encoder for :data:`SILENCE_HELD_S`; None while it gives sound."""

    def pump(self, until: float | None, *, end: float | None = None) -> None:
        """Encode the reader's sound up to recording time ``until`` (None: all there is);
        later samples wait for the video to get there. ``end``: the recording ends there
        (recording time): cut, or pad with silence, and flush."""
        limit = end if end is not None else until
        reader_until = None if limit is None else self.origin + limit
        samples, rate, t_first = self.reader.read(reader_until, final=end is not None)
        if self._rate is None and (len(samples) or end is not None):
            self._start(int(rate))
        if self._rate is None:
            return
        if rate != self._rate:  # another device or voice: it goes on where the old one ends
            self._feed_pending(None)
            self._start(int(rate), at_s=self._flush_resampler() / TRACK_RATE)
        if len(samples):
            self._place(np.asarray(samples, np.float32), t_first - self.origin)
        if end is not None:
            want = round(end * self._rate)
            if want > self._placed:
                self._place(np.zeros(want - self._placed, np.float32), self._placed / self._rate)
            self._feed_pending(want)
            self._finish()
        elif until is None:
            self._feed_pending(None)
        else:
            if self._silence_from is not None:
                until = min(until, max(self._silence_from, until - SILENCE_HELD_S))
            self._feed_pending(round(until * self._rate))

    def follow(self, ctx: FrameContext) -> bool:
        """:meth:`AudioReader.follow` for the frame about to be recorded."""
        return self.reader.follow(ctx)

    def frame_offset(self, ctx: FrameContext) -> float:
        """:meth:`AudioReader.frame_offset` for the frame about to be recorded."""
        return self.reader.frame_offset(ctx)

    @property
    def lost_s(self) -> float:
        """:attr:`AudioReader.lost_s`: seconds of the sound that are silence in the track."""
        return self.reader.lost_s

    def switch(self, at: float, origin: float) -> None:
        """Another voice from recording time ``at`` on, its reader's time ``origin`` being
        recording time 0: what the old voice gave past ``at`` (a microphone is read up to the
        moment, ahead of the frames) is dropped, so the new one starts there.

        A microphone after silence (the reader's ``follows_silence``) starts where that
        silence did, as far as the encoder has not taken it: the silence is replaced by what
        the microphone heard before its first frame."""
        self.origin = origin
        silence_from, self._silence_from = self._silence_from, None
        if getattr(self.reader, "silent", False):
            self._silence_from = at
        if self._rate is None:
            return
        if getattr(self.reader, "follows_silence", False) and silence_from is not None:
            at = min(at, silence_from)
        keep = max(self._fed, round(at * self._rate))
        if keep < self._placed:
            pending = np.concatenate(self._pending)[: keep - self._fed]
            self._pending = [pending] if len(pending) else []
            self._placed = keep

    def _flush_resampler(self) -> int:
        """Push out what the resampler holds; the track's length in 48 kHz samples then.

        The timeline after a change of rate goes on from there: from the encoded count alone
        (the FIFO's last partial AAC frame, up to 21 ms, and the resampler's filter tail left
        out) a change of rate moved all later sound that much late."""
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                self._push(out)
        return self._pts + self._fifo.samples

    def _start(self, rate: int, at_s: float = 0.0) -> None:
        self._rate = rate
        self._placed = self._fed = round(at_s * rate)
        self._pending = []
        self._resampler = self.av.AudioResampler(format="fltp", layout="mono", rate=TRACK_RATE)

    def _place(self, samples: np.ndarray, start_s: float) -> None:
        """Put ``samples`` on the timeline at ``start_s``: silence fills a gap before them,
        what overlaps the samples already placed (or lies before time 0) is dropped."""
        assert self._rate is not None
        start = round(start_s * self._rate)
        tolerance = round(JITTER_S * self._rate)
        if abs(start - self._placed) > tolerance:
            if start > self._placed:
                self._pending.append(np.zeros(start - self._placed, np.float32))
                self._placed = start
            else:
                samples = samples[self._placed - start :]
        if len(samples):
            self._pending.append(samples)
            self._placed += len(samples)

    def _feed_pending(self, upto: int | None) -> None:
        """Resample and encode the placed samples before timeline sample ``upto``."""
        if not self._pending:
            return
        held = self._placed - self._fed
        n = held if upto is None else max(0, min(held, upto - self._fed))
        if n == 0:
            return
        # Taken from the front: while silence is held back (up to 8 s, 1.5 MB) joining all
        # of it for each frame's 1/30 s copied 0.2 ms of memory a frame.
        taken, need = [], n
        while need:
            head = self._pending[0]
            if len(head) > need:
                taken.append(head[:need])
                self._pending[0] = head[need:]
                break
            taken.append(self._pending.pop(0))
            need -= len(head)
        pending = taken[0] if len(taken) == 1 else np.concatenate(taken)
        assert self._rate is not None
        frame = self.av.AudioFrame.from_ndarray(pending[None, :n], format="flt", layout="mono")
        frame.sample_rate = self._rate
        self._fed += n
        for out in self._resampler.resample(frame):
            self._push(out)

    def _push(self, frame: Any) -> None:
        frame.pts = None
        self._fifo.write(frame)
        size = self.stream.codec_context.frame_size or 1024
        while self._fifo.samples >= size:
            self._encode(self._fifo.read(size))

    def _encode(self, frame: Any) -> None:
        frame.pts = self._pts
        frame.time_base = Fraction(1, TRACK_RATE)
        self._pts += frame.samples
        self.samples_written += frame.samples
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def _finish(self) -> None:
        self._flush_resampler()
        rest = self._fifo.read()
        if rest is not None and rest.samples:
            self._encode(rest)
        for packet in self.stream.encode(None):
            self.container.mux(packet)
