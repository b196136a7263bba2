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
- :class:`StageVoiceFile`: the voice file an ``audio_mouth`` stage plays, read where the stage
  reads it for each frame (a window's recording starts at any frame), on the *frames* clock.

:class:`AacTrack` places each block of samples on the recording's timeline by its time, fills
gaps with silence, drops what overlaps, converts it to 48 kHz with PyAV's ``AudioResampler``
(swresample) and encodes AAC, which every browser and player reads in MP4.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from pipelines.audio.inputs import decoded_audio

log = logging.getLogger(__name__)

TRACK_RATE = 48000
"""The AAC track's rate: a rate every AAC decoder takes, and the common rate of sound cards."""
AAC_BITRATE = 96000
JITTER_S = 0.004
"""A block that starts within this of where the track is continues it as is: rounding of
float times must not insert or drop single samples (clicks)."""


class AudioReader(Protocol):
    @property
    def clock(self) -> str:
        """ "frames" (times are frame index / fps) or "capture" (``time.monotonic()``)."""
        ...

    def read(self, until: float | None) -> tuple[np.ndarray, int, float]:
        """New samples (mono float32), their rate, and the time of the first one. ``until``:
        samples after this time are not wanted yet (None: whatever is there)."""
        ...


class AudioTrackSource(Protocol):
    @property
    def clock(self) -> str: ...

    def reader(self) -> AudioReader:
        """A reader with its own position (each recording gets one)."""
        ...


# --------------------------------------------------------------------------- sources
class FileAudio:
    """A sound file that starts with frame 0 (``--audio FILE``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.clock = "frames"
        self.path = str(path)

    def reader(self) -> AudioReader:
        return _FileReader(self.path)

    @property
    def description(self) -> str:
        return f"sound from {self.path}"


class _FileReader:
    def __init__(self, path: str) -> None:
        self.clock = "frames"
        self.samples, self.rate = decoded_audio(path)
        self.position = 0

    def read(self, until: float | None) -> tuple[np.ndarray, int, float]:
        end = len(self.samples) if until is None else min(len(self.samples), int(until * self.rate))
        start = self.position
        self.position = max(start, end)
        return self.samples[start : self.position], self.rate, start / self.rate


class MicAudio:
    """The live microphone of an ``audio_mouth`` stage (opened by the stage when the engine
    opens it, after the outputs are open: readers attach when it appears).

    ``stage`` is the stage, or a function that returns the one in use now (the window swaps
    stages while it records); a stage whose input is not a microphone gives silence."""

    def __init__(self, stage: Any) -> None:
        self.clock = "capture"
        self.stage = stage

    def reader(self) -> AudioReader:
        return _MicReader(self.stage)

    @property
    def description(self) -> str:
        return "sound from the microphone"


class _MicReader:
    def __init__(self, stage: Any) -> None:
        self.clock = "capture"
        self.stage = stage
        self.ring: Any = None
        self.rate = TRACK_RATE
        self.position = 0
        self.anchor = 0.0
        """Capture time of ring sample 0. Each write stamp says: the newest sample arrived at
        this time (a callback can run late, never early), minus the device's input latency;
        the earliest such estimate is the best, so it is kept. Samples are placed by count
        from there, so the track is continuous; a sound card whose clock runs slower than the
        system's (by well under 0.01 %, under 0.4 s an hour) is not followed."""

    def _attach(self) -> bool:
        stage = self.stage() if callable(self.stage) else self.stage
        mic: Any = getattr(stage, "input", None)
        ring = getattr(mic, "ring", None)
        if ring is None or not getattr(mic, "live", False):
            self.ring = None
            return False
        stamp = ring.stamp
        if stamp is None:
            return False  # the device has not delivered anything yet
        written, at = stamp
        latency = float(getattr(mic.stream, "latency", 0.0) or 0.0)
        if ring is not self.ring:
            self.ring = ring
            self.rate = int(mic.device_rate)
            self.anchor = float("inf")
            self.position = max(0, ring.written - ring.capacity)
        self.anchor = min(self.anchor, at - latency - written / self.rate)
        return True

    def read(self, until: float | None) -> tuple[np.ndarray, int, float]:
        if not self._attach():
            return np.zeros(0, np.float32), self.rate, 0.0
        samples, lost = self.ring.read(self.position)
        start = self.position + lost  # lost samples leave a gap, filled with silence
        self.position = start + len(samples)
        return samples, self.rate, self.anchor + start / self.rate


class StageVoiceFile:
    """The voice file that an ``audio_mouth`` stage plays by frame number (the window's talking
    head, whose recording starts at any frame), on the *frames* clock.

    The stage mouths the file at ``index / stage fps`` in frame ``index`` (looped like the
    stage), so the recording's sound at that frame is read from the same place: the voice and
    the mouth stay in step however fast the camera delivers. ``fps`` is the recording's frame
    rate (its time is ``index / fps``). ``stage``: as for :class:`MicAudio`; a stage with no
    voice file, or one that plays it by the wall clock, gives silence."""

    def __init__(self, stage: Any, fps: float) -> None:
        self.clock = "frames"
        self.stage = stage
        self.fps = float(fps)

    def reader(self) -> AudioReader:
        return _StageVoiceReader(self.stage, self.fps)

    @property
    def description(self) -> str:
        return "sound from the talking head's voice file"


class _StageVoiceReader:
    def __init__(self, stage: Any, fps: float) -> None:
        self.clock = "frames"
        self.stage = stage
        self.fps = fps
        self.position: int | None = None
        """Reader-time position (samples at the last rate) up to which samples were given."""
        self.rate = 0

    def _voice(self) -> tuple[np.ndarray, int, bool] | None:
        """The stage's decoded voice, its samples per second of recording time, and whether
        it loops; None without a voice file read by frame number."""
        stage = self.stage() if callable(self.stage) else self.stage
        settings = getattr(stage, "settings", None)
        voice: Any = getattr(stage, "input", None)
        samples = getattr(voice, "samples", None)
        if settings is None or samples is None or not len(samples) or getattr(voice, "live", True):
            return None
        if stage.clock_for(settings) != "frames":
            return None
        # Frame `index` is recording time index / fps and voice time index / stage fps.
        rate = round(int(voice.sample_rate) * float(settings.fps) / self.fps)
        return np.asarray(samples, np.float32), max(1, rate), bool(getattr(voice, "loop", False))

    def read(self, until: float | None) -> tuple[np.ndarray, int, float]:
        voice = self._voice()
        if voice is None or until is None:
            return np.zeros(0, np.float32), self.rate or TRACK_RATE, 0.0
        samples, rate, loop = voice
        end = int(until * rate)
        if rate != self.rate or self.position is None:
            # The track drops what lies before the recording's first frame: a second back
            # covers it (the first read asks up to one frame past that frame).
            self.rate, self.position = rate, max(0, end - rate)
        start = min(self.position, end)
        self.position = end
        index = np.arange(start, end)
        if loop:
            out = samples[index % len(samples)]
        else:
            out = np.zeros(len(index), np.float32)  # silence after the end, as the stage hears
            inside = index < len(samples)
            out[inside] = samples[index[inside]]
        return out, rate, start / rate


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

    def pump(self, until: float | None, *, end: float | None = None) -> None:
        """Encode the reader's sound up to recording time ``until`` (None: all there is);
        later samples wait for the video to get there. ``end``: the recording ends there
        (recording time): cut, or pad with silence, and flush."""
        limit = end if end is not None else until
        reader_until = None if limit is None else self.origin + limit
        samples, rate, t_first = self.reader.read(reader_until)
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
        else:
            self._feed_pending(None if until is None else round(until * self._rate))

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
        pending = np.concatenate(self._pending)
        n = len(pending) if upto is None else max(0, min(len(pending), upto - self._fed))
        self._pending = [pending[n:]] if n < len(pending) else []
        if n == 0:
            return
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
