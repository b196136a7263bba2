"""Source base class: a context manager that yields frames with monotonic timestamps."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Self

import numpy as np

from pipelines.frame import CtxKey, Frame
from pipelines.registry import Registry
from pipelines.stats import Rolling


class Timing(StrEnum):
    """What a paced source that is not live (a video file) does when its reader falls behind."""

    REAL_TIME = "real-time"
    """Frames whose time has passed are skipped (counted in :attr:`Source.dropped`): the file
    plays at its own speed, as a camera would, for an output watched live (a virtual camera,
    the window). Taking every frame, a 720p60 file ran at 0.49x through Studio and a 4K one at
    0.34x, a call seeing slow motion with "dropped 0" (QA qa6). Skipping, that 2-s 720p60 file
    went through Studio to a preview in 2.6 s (85 of its 120 frames dropped), against 8.2 s
    taking every frame (2-core machine under load, 2026-12-06)."""
    EVERY_FRAME = "every-frame"
    """Every frame, as late as it comes: a recording is timed by the frames' index, not by
    when they were read, so it keeps the file's speed and every frame however slowly it is
    made (QA qa6: 150 frames in 4.97 s for a 5 s 4K file made at 10.3 fps)."""


@dataclass(frozen=True)
class MediaPlace:
    """Where a video file's frame lies in the file, for a recording of its own sound
    (:class:`~pipelines.audio.mux.VideoSound`): the sound of a pass through the file is laid
    from the time its first frame has in the recording."""

    path: str
    """The video file."""
    loop: int
    """The pass through the file: 0, then 1 after it started over, and so on."""
    starts_at_s: float
    """The *frames*-clock time (``index / fps``, as a recording times it) of the pass's first
    frame: the frame index it had, over the file's rate."""


MEDIA_PLACE: CtxKey[MediaPlace] = CtxKey("media_place")
"""Set by a video file source on each frame it produces (:class:`MediaPlace`)."""


@dataclass(frozen=True)
class SourceConfig:
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    loop: bool = True
    """Video files start over at the end instead of ending the stream."""
    paced: bool = True
    """Deliver frames at ``fps`` (False: as fast as asked, for benchmarks)."""
    media_time: bool = False
    """Stamp each frame with the time it stands for in the media, ``index / fps`` from 0, not
    with the instant it was read (ignored by live sources, whose frames have a real capture
    time). For an offline render: stages whose filters and fades run on ``ctx.timestamp``
    (the face tracker's One Euro filters, its search cadence) then give the same frames
    however fast or slowly each one is processed. Read as fast as the engine took them, the
    demo's frames were 0.1-86 ms apart (median 11) on an idle machine, unlike in every run,
    and the avatar's head and lips moved differently under load (issue 13)."""
    timing: Timing = Timing.REAL_TIME
    """What a paced video file does when its frames are read late (:class:`Timing`)."""
    whole: bool = False
    """A video file's frames as the file has them, not filled and cropped to width×height:
    ``talking-head capture`` looks for the face in the whole picture, as it does in a photo
    (the crop to 16:9 could cut a portrait video's face at the brow or chin)."""
    lost_card: bool = False
    """A camera that is unplugged sends a "Camera disconnected - reconnecting..." card
    (marked :data:`~pipelines.frame.SOURCE_CARD`, so the engine sends it unprocessed) at ``fps``
    while it reconnects, instead of no frames: a virtual camera's watchers would otherwise see
    the last frame frozen. For outputs watched live (the window, ``camfx run``); a benchmark
    leaves it off, so a card is never counted as a frame."""
    reconnect_limit_s: float | None = None
    """How long an unplugged camera tries to reconnect before its reads fail (a
    :class:`~pipelines.errors.SourceError` that names the camera and what to do); None: for as
    long as it runs (the window, where the user can pick another source)."""


class Source:
    """Produces frames. ``read()`` returns the next frame, None for "nothing yet", or raises
    :class:`EOFError` when the stream has ended for good."""

    suffixes: ClassVar[tuple[str, ...]] = ()
    live: ClassVar[bool] = False
    """A live device (frames that are not taken are gone) rather than a file or a generator."""
    skips_for_nothing: ClassVar[bool] = False
    """A generator drawn by frame index (the demo, a picture): a late frame is passed over by
    its index alone, every one of them (:meth:`skip`, :attr:`max_skip`). To a virtual camera
    beside six CPU hogs the demo came at 10 fps, and a talking head's voice file, mouthed by
    frame index, played at a third of its speed (QA qa9); capped at a second's worth, a stall
    of over a second left the index behind real time by the rest for good (QA qa10: the
    voice's last second off the recording of a run ended by time)."""

    def __init__(self, arg: str, config: SourceConfig, **kwargs: Any) -> None:
        self.arg = arg
        self.config = config
        self._index = 0
        self._next_due: float | None = None
        self._due: float | None = None
        """When the frame being read was due (paced sources)."""
        self._last_ts = float("-inf")
        self.actual_size: tuple[int, int] = (config.width, config.height)
        self.actual_fps: float = config.fps
        self.grab_ms = Rolling()
        """How long producing each frame took (decode, demo rendering), pacing excluded."""
        self.dropped = 0
        """Frames skipped because they were late (:attr:`Timing.REAL_TIME`)."""

    # The engine and the CLI use these three.
    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        self._pace()
        t0 = time.perf_counter()
        image = self.grab()
        if image is None:
            return None
        self.grab_ms.add((time.perf_counter() - t0) * 1000.0)
        span = self.frame_span()
        if self._due is not None and span is not None:
            # The next frame is due when its own timestamp says (a variable frame rate).
            self._next_due = self._due + self._span(span)
        if self.media_clock:
            media = self.media_time_s()
            ts = media if media is not None else self._index / self.media_fps
            ts = self._last_ts = max(ts, self._last_ts + 1e-6)
        else:
            # Strictly increasing even where the monotonic clock is coarse (Windows: ~16 ms).
            ts = self._last_ts = max(time.monotonic(), self._last_ts + 1e-6)
        frame = Frame.new(image, ts, self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        """Release the device or file. Idempotent; subclasses keep it so."""

    # Subclasses implement this: one BGR uint8 image, None when none is available yet. The
    # array must be a new one that the source does not keep: stages may write into it.
    def grab(self) -> np.ndarray | None:
        raise NotImplementedError

    def frame_span(self) -> float | None:
        """Seconds from the frame just produced (or skipped) to the next one, where the source
        knows them (a video file's timestamps, which a variable frame rate spaces unevenly);
        None: one period of :attr:`pace_fps`."""
        return None

    def media_time_s(self) -> float | None:
        """The time in the media of the frame just produced, where the source knows it (a
        video file's timestamp, from its first frame, loops added); None: ``index / fps``."""
        return None

    def _span(self, span: float | None) -> float:
        """``span`` (:meth:`frame_span`) where usable, else one period. A stamp more than
        :data:`MAX_FRAME_SPAN_S` ahead is taken as broken rather than waited for."""
        if span is not None and 0.0 < span <= MAX_FRAME_SPAN_S:
            return span
        return 1.0 / self.pace_fps

    def skip(self) -> bool:
        """Pass over the next frame without producing it (a late one); False when this source
        has nothing to skip (a camera: late frames are not queued) or is at its end. A
        generator (the demo, a picture) skips for nothing: its frame index moves on, and with
        it what the frames' index times (the demo's motion, a talking head's voice file and
        animation), so an output watched live keeps real time on a busy machine."""
        return self.skips_for_nothing

    @property
    def description(self) -> str:
        w, h = self.actual_size
        name = SOURCES.name_of(type(self)) or type(self).__name__
        what = f"{name}:{self.arg}" if self.arg else name
        return f"{what} {w}x{h}@{self.actual_fps:g}"

    @property
    def pace_fps(self) -> float:
        return self.config.fps

    @property
    def media_clock(self) -> bool:
        """Frames carry their media time (:attr:`SourceConfig.media_time`), not a capture time
        on the monotonic clock."""
        return self.config.media_time and not self.live

    @property
    def media_fps(self) -> float:
        """The rate of the media clock: the source's own (a video file's), as it is paced."""
        fps = self.pace_fps
        return fps if fps > 0 else max(self.config.fps, 1.0)

    @property
    def skips_late(self) -> bool:
        """Whether frames read late are skipped (:attr:`Timing.REAL_TIME`); never on the
        media clock, whose frames stand for their place in the media, not for when."""
        return self.config.paced and self.config.timing is Timing.REAL_TIME and not self.media_clock

    @property
    def max_skip(self) -> int:
        """The most frames one late read skips: a second's worth (a video file's frames are
        decoded to be passed over; a stall of minutes is not decoded through); every late
        one where passing over costs nothing (:attr:`skips_for_nothing`)."""
        return 1 << 30 if self.skips_for_nothing else max(1, round(self.pace_fps))

    def _skip_late(self, late: int) -> None:
        """Skip up to ``late`` frames (at most a second's worth: a stall of minutes is not
        decoded through), counted as dropped; the frame index keeps counting them, so a
        recording timed by it keeps the file's time."""
        skipped = 0
        while skipped < min(late, self.max_skip) and self.skip():
            skipped += 1
            if self._next_due is not None:  # the next frame's due time, by its own stamp
                self._next_due += self._span(self.frame_span())
        self.dropped += skipped
        self._index += skipped

    def _pace(self) -> None:
        """Sleep until the next frame is due (sources without their own clock)."""
        fps = self.pace_fps
        if not self.config.paced or fps <= 0:
            return
        now = time.monotonic()
        period = 1.0 / fps
        if self._next_due is not None and now - self._next_due > period and self.skips_late:
            # Frames whose time has passed (the next due one excepted) are skipped.
            self._skip_late(int((now - self._next_due) / period))
            now = time.monotonic()
        if self._next_due is None or now - self._next_due > period:
            # First frame, or we fell behind: restart the clock instead of bursting to catch up.
            self._next_due = now
        delay = self._next_due - now
        if delay > 0:
            time.sleep(delay)
        self._due = self._next_due
        self._next_due += period

    def __enter__(self) -> Self:
        """``with open_source(spec) as src:`` (open_source returns it opened) closes it at the
        end, whatever happens."""
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


MAX_FRAME_SPAN_S = 2.0
"""The longest wait between two frames that a source's own timestamps are followed for: a
screen recording holds a still screen a second or two (its recorder drops the repeats); a
stamp hours ahead in a broken file would freeze the stream."""


SOURCES: Registry[type[Source]] = Registry("source")
