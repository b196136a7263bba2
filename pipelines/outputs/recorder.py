"""Recording to a video file: H.264 + AAC in one pass through PyAV (FFmpeg's libraries).

The shape follows aiortc's ``MediaRecorder`` (``src/aiortc/contrib/media.py``): one container,
a libx264 stream in yuv420p and an AAC stream, each frame encoded and muxed as it comes, the
encoders flushed with ``encode(None)`` before the container closes. Frames carry their own time
(``pts`` in a ``time_base``), not a frame count:

- *capture* clock (a camera, or any source recorded with the microphone): the frame's
  monotonic capture time, so a camera that delivers 27 fps instead of 30 still plays at the
  right speed, and the microphone (also stamped on the monotonic clock) lands where it was
  heard. A frame whose talking head was mouthed from sound heard more than half a frame
  later than usual (it waited on a busy machine) is placed where that sound is
  (:meth:`~pipelines.audio.mux.AudioReader.frame_offset`).
- *frames* clock (a video file or the demo, whose frame ``index`` is their media time however
  fast they render; or a voice file, which ``audio_mouth`` reads by frame number): frame
  ``index / fps``. A voice file under a camera's frames is mouthed at their capture time
  (:class:`~pipelines.frame.FrameClock`: a camera's index counts only the frames read), so
  that recording is on the capture clock, the voice laid from where the mouth played it.

The window's recordings follow the talking head's voice (:class:`~pipelines.audio.mux.
TalkingHeadVoice`), whose clock changes with it: each change starts a :class:`ClockSegment`
one frame after the last frame, so the picture goes on without a gap or a jump and the new
voice is placed on its own clock from there.

What the user made is not lost:

- MP4 is written *fragmented* (``movflags=frag_keyframe+delay_moov``): the index is at the
  front (a browser starts playing before the download ends), and every keyframe closes a
  fragment, so a file cut off by a full disk, a pulled cable or a kill keeps all fragments
  before the cut. After a write error the torn last fragment is cut away (:func:`trim_mp4`),
  leaving a file that every player opens. What a ``kill -9`` or a power cut leaves is mended
  the same way by ``camfx repair`` (:mod:`pipelines.outputs.repair`), into a copy.
- A write error (disk full, I/O error) or the file or its folder vanishing stops this output
  with one line naming the file and the reason (:class:`~pipelines.errors.OutputError`); the
  engine keeps the other outputs going. :attr:`Output.failure` keeps that line for the summary.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import struct
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from pipelines.errors import OutputError
from pipelines.frame import RESENT, Frame
from pipelines.outputs.base import OUTPUTS, Output
from pipelines.outputs.existing import ExistingFile, free_name, refuse_existing

if TYPE_CHECKING:
    from pipelines.audio.mux import Clock

log = logging.getLogger(__name__)

VIDEO_ENCODERS = ("libx264", "libopenh264", "mpeg4")
"""Tried in order. libx264 ships in PyAV's wheels; the others are for builds without it.
MPEG-4 Part 2 plays in VLC, mpv and ffplay, not in every browser."""
H264_ENCODERS = ("libx264", "libopenh264")
X264_OPTIONS = {"preset": "superfast", "crf": "21", "tune": "zerolatency"}
"""superfast: 9-11 ms of CPU a 720p demo frame (BGR→YUV included) and 1.8 Mbit/s, against
14-19 ms and 1.5 Mbit/s for veryfast and 6 ms and 2.6 Mbit/s for OpenCV's MPEG-4 Part 2
(measured side by side on the 2-core machine, shared, load average 14-17): the encoder must
leave the effects their CPU. zerolatency: no B-frames and no look-ahead, so every frame is in
the file as soon as its fragment closes."""
KEYFRAME_S = 2.0
"""A keyframe (and so a new MP4 fragment) every 2 s: the most a sudden end can lose."""
MP4_FLAGS = "frag_keyframe+delay_moov+default_base_moof"
"""``delay_moov``, not ``empty_moov``: the index is written with the first fragment, once the
tracks' first times are known, so it carries the edit list that hides the AAC encoder's
priming (1024 samples before time 0). Written before any sample, it could not: the muxer
shifted every later frame by 21 ms and the first frame lasted 55 ms (the file read 29.88 fps).
A recording stopped before its first fragment lost that fragment either way."""
MP4_SUFFIXES = (".mp4", ".m4v", ".mov")
CAPTURE_TIME_BASE = Fraction(1, 90000)
MPEG4_TIME_BASE = Fraction(1, 1000)
"""MPEG-4 Part 2 refuses time bases finer than 1/65535."""
CHECK_FILE_S = 1.0
"""How often the file is checked for having been deleted (Linux keeps writing to a deleted
file without an error: only its link count says so)."""

MIN_FREE_TO_START = 64 * 1024
"""Bytes a disk must have free for a recording to start: less than one 720p keyframe, so a
recording started with less fails within its first fragment. Refused before the file is
opened for writing, which would empty a recording already at that path."""

WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full; free some space or record to another disk",
    errno.EDQUOT: "the disk quota is used up; free some space or record elsewhere",
    errno.EIO: "the disk reported an input/output error; check the disk or cable",
    errno.EFBIG: (
        "the file reached the largest size this disk or account allows (FAT32: 4 GiB); "
        "record to a disk formatted exFAT, NTFS, APFS or ext4"
    ),
    errno.EROFS: "the disk became read-only; record to another disk",
    errno.ENOENT: "its folder was removed",
    errno.ESTALE: "the network folder is gone",
}


def pick_video_encoder(preferred: tuple[str, ...] = VIDEO_ENCODERS) -> str:
    """The first encoder of ``preferred`` that this FFmpeg build has."""
    import av

    for name in preferred:
        try:
            av.codec.Codec(name, "w")
        except Exception:
            continue
        return name
    raise OutputError(
        f"none of the video encoders {', '.join(preferred)} is in this PyAV build; "
        "reinstall it: pip install --force-reinstall av"
    )


@dataclass(frozen=True)
class ClockSegment:
    """A stretch of a recording timed by one clock: a frame's recording time is its time on
    ``clock`` (``index / fps`` or its capture time) minus ``origin``."""

    starts_at: float
    """Recording time (s) of the segment's first frame."""
    clock: Clock
    origin: float


@OUTPUTS.register("file")
class VideoFileOutput(Output):
    """A video file with the processed frames and, when given, their sound."""

    suffixes = (".mp4", ".m4v", ".mov", ".mkv", ".avi")

    def __init__(
        self,
        arg: str = "",
        *,
        audio: Any = None,
        encoders: tuple[str, ...] = VIDEO_ENCODERS,
        existing: ExistingFile = ExistingFile.REFUSE,
        **kw: Any,
    ) -> None:
        super().__init__(arg, **kw)
        self.existing = existing
        """What :meth:`open` does with a file already at ``arg``."""
        self.replaces = arg
        """The file that :attr:`path` replaces when complete (``arg``, or where its link
        points)."""
        self.path = arg
        """Where the frames are written: ``arg``, or beside it (``NAME.partial.mp4``) while a
        file there waits to be replaced at :meth:`close`."""
        self.audio_source = audio
        """An :class:`~pipelines.audio.mux.AudioTrackSource`, or None for no sound track."""
        self.encoders = encoders
        self.codec = ""
        self.notice = ""
        """Said once when H.264 is missing and another encoder is used."""
        self.empty_notice: str | None = None
        """The line for a recording closed before its first frame (its new file removed), or
        None: a file of 0 frames is not a saved recording."""
        self._created = False
        self.size: tuple[int, int] = (0, 0)
        self.fps = 30.0
        self.clock: Clock = "capture"
        """The clock of the frames now being recorded."""
        self.clock_follows_voice = False
        self.segments: list[ClockSegment] = []
        """The recording's clock segments, in order (one unless the voice changes clock)."""
        self._container: Any = None
        self._video: Any = None
        self._audio: Any = None
        self._time_base = CAPTURE_TIME_BASE
        self._origin: float | None = None
        self._last_pts = -1
        self._last_time = 0.0
        self._watch_fd: int | None = None
        self._identity: tuple[int, int] | None = None
        """(Device, inode) of the file this recording writes: what is at its path later may
        be another's (a second ``camfx run -y`` to the same name replaced it)."""
        self._next_check = 0.0
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- open
    def check(self, width: int, height: int, fps: float) -> None:
        """What :meth:`open` would refuse of the path, without creating, emptying or
        replacing the file: a source that cannot open (a typo in its name) replaced an
        earlier recording of the same name with an empty MP4."""
        path = self.arg
        if not path:
            raise OutputError("file output needs a path, e.g. --output out.mp4")
        if self.existing is ExistingFile.REFUSE:
            check_file_path(path)
            refuse_existing(path)
        refuse_being_recorded(path)
        existed = os.path.lexists(path)
        try:
            _check_path(path)
        finally:
            if not existed:
                with contextlib.suppress(OSError):
                    os.remove(path)

    def open(self, width: int, height: int, fps: float) -> None:
        target = self.arg
        if not target:
            raise OutputError("file output needs a path, e.g. --output out.mp4")
        check_file_path(target)
        path = replaces = target
        self._identity = None
        if os.path.lexists(target):
            if self.existing is ExistingFile.REFUSE:
                refuse_existing(target)
            refuse_being_recorded(target)
            # The file there stays whole until the new one is complete: a start that fails,
            # a full disk or a crash leaves it as it was (and what was recorded beside it).
            # Through a link, the file it points to is replaced and the link kept; a device
            # or a pipe (nothing kept in it to lose) is written to as it is.
            real = Path(os.path.realpath(target))
            if real.is_file():
                _check_path(target)  # opened to append: nothing in it changes
                path = str(free_name(partial_name(real)))
                replaces = str(real)
        self.path = path
        self.replaces = replaces
        # Before the check, which creates the file: a failed start removes only a file it made.
        existed = os.path.exists(path)
        _check_path(path)
        self._created = not existed
        self.empty_notice = None
        try:
            import av
        except ImportError as exc:  # pragma: no cover - a hard dependency
            raise OutputError(f"recording needs PyAV ({exc}); pip install av") from exc
        self.codec = pick_video_encoder(self.encoders)
        if self.codec not in H264_ENCODERS:
            self.notice = (
                f"this PyAV build has no H.264 encoder; {path} is recorded as "
                f"{self.codec} (plays in VLC and mpv, not in every browser); for H.264: "
                "pip install --force-reinstall av"
            )
            log.warning("%s", self.notice)
        audio_clock = getattr(self.audio_source, "clock", None)
        # The sound's clock wins: a microphone is heard in real time, a voice file is read by
        # frame number (``audio_mouth``); without sound, a camera's frames are timed by capture.
        frames_clock = audio_clock == "frames" or (audio_clock is None and not self.live_source)
        self.clock = "frames" if frames_clock else "capture"
        self.clock_follows_voice = bool(getattr(self.audio_source, "clock_follows_voice", False))
        self.segments = []
        self.fps = float(fps)
        rate = Fraction(self.fps).limit_denominator(1001)
        # A voice file under a live source's frames turns to the capture clock with its first
        # frame (:class:`~pipelines.audio.mux.FileAudio`); a file's or the demo's stays on
        # the frames clock: each frame lasts exactly one frame.
        if frames_clock and not (self.clock_follows_voice and self.live_source):
            self._time_base = 1 / rate
        else:
            # A voice that may change clock: 1/90000 s times both (3000 a frame at 30 fps,
            # 3003 at 29.97, 1500 at 60), and a capture time to 11 µs.
            self._time_base = MPEG4_TIME_BASE if self.codec == "mpeg4" else CAPTURE_TIME_BASE
        options = {"flush_packets": "1"}  # to the disk as muxed: a crash loses no buffer
        if Path(path).suffix.lower() in MP4_SUFFIXES:
            options["movflags"] = MP4_FLAGS
        container = None
        try:
            container = av.open(path, "w", options=options)
            video: Any = container.add_stream(self.codec, rate=rate)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.time_base = self._time_base
            video.codec_context.gop_size = max(1, round(self.fps * KEYFRAME_S))
            if self.codec == "libx264":
                video.codec_context.options = dict(X264_OPTIONS)
            elif self.codec == "mpeg4":
                # About what x264 at crf 21 spends, for a codec three times less efficient.
                video.codec_context.bit_rate = int(width * height * self.fps * 0.2)
            audio = None
            if self.audio_source is not None:
                from pipelines.audio.mux import AacTrack

                audio = AacTrack(container, self.audio_source.reader())
            container.start_encoding()
        except OutputError:
            _close_quietly(container)
            raise
        except Exception as exc:
            _close_quietly(container)
            if not existed:
                with contextlib.suppress(OSError):
                    os.remove(path)
            reason = WRITE_ERRORS.get(_errno_of(exc) or 0)
            if reason:  # the disk, not the path: "use a .mp4 path" would mislead
                if path != target:
                    kept = f"nothing was recorded; the {target} already there is kept as it was"
                else:
                    kept = "nothing was recorded" + ("" if existed else f" and no {path} is left")
                raise OutputError(f"recording {target} could not start: {reason}; {kept}") from exc
            raise OutputError(
                f"output file {target!r} could not be opened for writing at {width}x{height} "
                f"({exc}); use a .mp4 path"
            ) from exc
        self._container, self._video, self._audio = container, video, audio
        self.size = (width, height)
        self._origin = None
        self._last_pts = -1
        try:
            self._watch_fd = os.open(path, os.O_RDONLY)
            hold_recording_lock(self._watch_fd)
            st = os.fstat(self._watch_fd)
            self._identity = (st.st_dev, st.st_ino)
        except OSError:
            self._watch_fd = None
        self.is_open = True
        self.failure = None

    # ----------------------------------------------------------------- write
    def write(self, frame: Frame) -> None:
        with self._lock:
            if self._container is None:
                if self.failure:
                    raise OutputError(self.failure)
                raise OutputError("file output written before open()")
            if frame.ctx.get(RESENT):
                return  # an idle engine's repeat of the last picture: not new video
            try:
                self._write(frame)
            except Exception as exc:
                raise OutputError(self._fail(exc)) from exc
            self.frames_written += 1

    def _write(self, frame: Frame) -> None:
        import av

        now = time.monotonic()
        if self._watch_fd is not None and now >= self._next_check:
            self._next_check = now + CHECK_FILE_S
            self._check_still_there()
        t = self._frame_time(frame)
        pts = max(self._last_pts + 1, round(t / self._time_base))
        self._last_pts = pts
        self._last_time = float(pts * self._time_base)
        image = frame.image
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        vf = av.VideoFrame.from_ndarray(image, format="bgr24")
        vf.pts = pts
        vf.time_base = self._time_base
        for packet in self._video.encode(vf):
            self._container.mux(packet)
        if self._audio is not None:
            self._audio.pump(self._last_time + 1.0 / self.fps)

    def _frame_time(self, frame: Frame) -> float:
        """Seconds since the recording's start, on the clock of its segment."""
        audio = self._audio
        voice_changed = audio is not None and audio.follow(frame.ctx)
        clock = audio.reader.clock if audio is not None and self.clock_follows_voice else self.clock
        if self._origin is None:
            # A file's or the demo's frame 0 is time 0 (a sound file's start). A live source's
            # frames count from its engine's start (the window records a talking head's voice
            # file from any frame): its recording starts at its first frame.
            from_zero = clock == "frames" and not self.live_source
            self._start_segment(0.0, clock, 0.0 if from_zero else self._time_on(clock, frame))
        elif clock != self.clock:
            # The voice changed clock: the picture goes on one frame after the last one.
            at = self._last_time + 1.0 / self.fps
            self._start_segment(at, clock, self._time_on(clock, frame) - at)
            return at
        elif voice_changed and audio is not None:
            audio.switch(self._time_on(clock, frame) - self._origin, self._origin)
        assert self._origin is not None
        return self._time_on(clock, frame) - self._origin

    def _time_on(self, clock: Clock, frame: Frame) -> float:
        if clock == "frames":
            return frame.ctx.index / self.fps
        # A microphone's frame that waited on a busy machine is placed where its mouth's
        # voice is (:meth:`~pipelines.audio.mux.AudioReader.frame_offset`).
        audio = self._audio
        return frame.timestamp + (audio.frame_offset(frame.ctx) if audio is not None else 0.0)

    def _start_segment(self, at: float, clock: Clock, origin: float) -> None:
        self.clock, self._origin = clock, origin
        self.segments.append(ClockSegment(at, clock, origin))
        if self._audio is not None:
            self._audio.switch(at, origin)

    def _check_still_there(self) -> None:
        assert self._watch_fd is not None
        if os.fstat(self._watch_fd).st_nlink == 0:
            raise FileNotFoundError(errno.ENOENT, "deleted")

    # ----------------------------------------------------------------- end
    def close(self) -> None:
        with self._lock:
            container, self._container = self._container, None
            if container is not None:
                try:
                    if self._watch_fd is not None:
                        self._check_still_there()
                    for packet in self._video.encode(None):
                        container.mux(packet)
                    if self._audio is not None:
                        end = self._last_time + 1.0 / self.fps if self.frames_written else 0.0
                        self._audio.pump(end, end=end)
                    container.close()
                    if not self.frames_written:
                        self._discard_empty()
                    # FFmpeg does not report a failed write of the last fragment: check the
                    # file's boxes instead.
                    elif Path(self.path).suffix.lower() in MP4_SUFFIXES and mp4_is_torn(self.path):
                        raise OSError(_likely_errno(self.path), "the end could not be written")
                    elif self.path != self.arg:
                        os.replace(self.path, self.replaces)  # complete: now it replaces the old
                        self.path = self.arg
                except Exception as exc:
                    self._container = container
                    # Kept in self.failure for the caller's summary (said once, there).
                    log.info("%s", self._fail(exc))
            self._release_watch()
            self.is_open = False

    def _discard_empty(self) -> None:
        """A recording stopped before its first frame (two clicks on Record) left a stub of
        about 1.3 kB that no player shows: remove it where this recording created it (a
        new file or the .partial beside an earlier one; never a device or a file it found)."""
        path = self.path
        self._remove_created(path)
        self.path = self.arg
        line = f"recording {self.arg}: nothing was recorded (stopped before its first frame)"
        if path != self.arg:
            line += f"; the earlier {self.arg} is kept as it was"
        elif self._created:
            line += "; no file is left"
        self.empty_notice = line

    def _remove_created(self, path: str) -> bool:
        """Remove ``path`` where this recording created it (a new file, or the .partial beside
        an earlier one; never a device, nor a file it found there); whether it did."""
        if not (self._created and os.path.isfile(path)) or self._replaced(path):
            return False
        with contextlib.suppress(OSError):
            os.remove(path)
        return not os.path.exists(path)

    def _replaced(self, path: str) -> bool:
        """Whether the file at ``path`` now is another than the one this recording wrote (a
        second recording to the same name replaced it: removing it lost that one too)."""
        if self._identity is None:
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) != self._identity

    def _fail(self, exc: BaseException) -> str:
        """Stop recording after ``exc``; keep what is playable; return the line for the user."""
        container, self._container = self._container, None
        _close_quietly(container)
        self._release_watch()
        self.is_open = False
        path = self.path
        sent = self.frames_written
        gone = isinstance(exc, FileNotFoundError) or not os.path.exists(path)
        code = getattr(exc, "errno", None)
        kept_frames, kept_s = 0, 0.0
        if gone and os.path.exists(path) and self._replaced(path):
            reason = (
                "another file was put at its name while recording (another recording with "
                "that name?); that file is left as it is"
            )
        elif gone:
            reason = "the file or its folder was deleted while recording"
        else:
            reason = WRITE_ERRORS.get(code or 0, f"write error ({exc})")
            if Path(path).suffix.lower() in MP4_SUFFIXES:
                with contextlib.suppress(OSError):
                    trim_mp4(path)
            kept_frames, kept_s = probe_video(path)
        # What the file holds now, not what was handed to the encoder.
        self.frames_written = kept_frames
        kept = (
            f"{kept_frames} of {sent} frames ({kept_s:.1f} s) are kept"
            if kept_frames
            else f"none of {sent} frames is kept"
        )
        # A file this recording made that no player opens (a stub of a few hundred bytes)
        # misleads: removed.
        removed = not kept_frames and self._remove_created(path)
        if path == self.arg:
            if removed:
                kept += " and no file is left"
            self.failure = f"recording {path} failed: {reason}; {kept}"
        else:
            where = f" in {path}" if kept_frames else ""
            self.failure = (
                f"recording {self.arg} failed: {reason}; {kept}{where}; the earlier "
                f"{self.arg} is kept as it was"
            )
        return self.failure

    def _release_watch(self) -> None:
        fd, self._watch_fd = self._watch_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    @property
    def description(self) -> str:
        return f"file {self.arg}"

    def summary(self) -> str:
        if self.failure:
            return self.failure
        if self.empty_notice:
            return self.empty_notice
        sound = " + AAC" if self._audio is not None else ""
        codec = "H.264" if self.codec in H264_ENCODERS else self.codec
        seconds = self._last_time + (1.0 / self.fps if self.frames_written else 0.0)
        line = f"{self.arg}: {self.frames_written} frames, {seconds:.1f} s ({codec}{sound})"
        lost = self.sound_lost_s
        if lost > 0.0:
            line += (
                f"; {lost:.2f} s of the microphone's sound was lost (the machine was too busy "
                "to read it in time): silence there"
            )
        return line

    @property
    def sound_lost_s(self) -> float:
        """Seconds of the sound track that are silence because the sound came too late to
        be read (:attr:`~pipelines.audio.mux.AudioReader.lost_s`); 0 without sound."""
        return float(self._audio.lost_s) if self._audio is not None else 0.0


def _check_path(path: str) -> None:
    check_file_path(path)
    existed = os.path.exists(path)
    # Try the file itself: os.access() says yes to root even on a read-only disk.
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # no room for even an empty file
            raise OutputError(_no_room_line(path, exc.errno, existed)) from exc
        raise OutputError(
            f"output file {path!r} cannot be written ({exc.strerror or exc}); "
            "choose a folder you can write to"
        ) from exc
    # A full disk is found before the file is opened for writing, which would empty a
    # recording already there (nothing the user made is lost to a recording that cannot run).
    try:
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
    except OSError:
        return
    if free < MIN_FREE_TO_START and os.path.isfile(path):
        if not existed:
            with contextlib.suppress(OSError):
                os.remove(path)
        raise OutputError(_no_room_line(path, errno.ENOSPC, existed))


def _no_room_line(path: str, code: int, existed: bool) -> str:
    """The line for a recording refused at its start for want of room, saying what is kept."""
    kept = f"the {path} already there is kept as it was" if existed else "no file was made"
    return f"recording {path} cannot start: {WRITE_ERRORS[code]}; {kept}"


def _errno_of(exc: BaseException | None) -> int | None:
    """The OS error number of ``exc`` or of an exception it was raised from (PyAV's errors
    carry FFmpeg's, which are the OS's for a failed write)."""
    while exc is not None:
        code = getattr(exc, "errno", None)
        if isinstance(code, int):
            return code
        exc = exc.__cause__ or exc.__context__
    return None


def check_file_path(path: str) -> None:
    """Refuse a recording's path whose folder is missing or a file, or that is a folder,
    touching nothing (the run checks this before it builds anything)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputError(
            f"output file {path!r}: {folder!r} is a file, not a folder; choose another path"
        )
    if not os.path.isdir(folder):
        raise OutputError(
            f"output file {path!r}: folder {folder!r} does not exist; create it first"
        )
    if os.path.isdir(path):
        raise OutputError(f"output file {path!r} is a folder; give a file name ending .mp4")


def _close_quietly(container: Any) -> None:
    if container is None:
        return
    try:
        container.close()
    except Exception as exc:  # the disk that failed the write fails the trailer too
        log.debug("closing the container after an error: %s", exc)


def _likely_errno(path: str) -> int:
    try:
        full = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free < 1 << 20
    except OSError:
        return errno.EIO
    return errno.ENOSPC if full else errno.EIO


def partial_name(real: Path) -> Path:
    """Where a recording that replaces ``real`` is written until complete: ``NAME.partial.EXT``
    beside it, its name cut to what the folder's file system takes (a 255-byte name replaced
    under ``-y`` failed, naming a ``….partial.mp4`` the user never gave: qa64), with room for
    :func:`~pipelines.outputs.existing.free_name`'s ``-2``."""
    tail = f".partial{real.suffix}"
    try:
        limit = int(os.pathconf(real.parent, "PC_NAME_MAX"))
    except (OSError, ValueError):
        limit = 255
    room = limit - len(tail.encode()) - 4
    stem = real.stem.encode()[: max(room, 1)].decode(errors="ignore") or "camfx"
    return real.with_name(f"{stem}{tail}")


def hold_recording_lock(fd: int) -> None:
    """Mark the file open on ``fd`` as being recorded, until ``fd`` is closed (by the recorder
    at its end, or by the system when the process dies, ``kill -9`` included): an advisory lock
    that :func:`being_recorded` tests, so that ``camfx repair`` does not call a recording
    still being written complete, or cut a copy of it. Not on Windows (no ``fcntl``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    with contextlib.suppress(OSError):  # a file system without locks: nothing is marked
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def being_recorded(path: str | os.PathLike[str]) -> bool:
    """Whether a camfx recorder, in this process or another, is writing ``path`` now
    (:func:`hold_recording_lock`). False where it cannot tell (Windows, no such file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # (closing it drops the shared lock taken)
    return False


def refuse_being_recorded(path: str) -> None:
    """The one line for a file another recording is writing now (:func:`being_recorded`):
    replacing it under ``-y`` lost both recordings (the first one's end removed the second
    one's file, which had taken its name; qa64)."""
    if being_recorded(path):
        raise OutputError(
            f"output file {path!r} is being recorded by another camfx right now; choose "
            "another name, or stop that recording first"
        )


def mp4_is_torn(path: str | os.PathLike[str]) -> bool:
    """Whether the file ends inside a box or with a fragment's header without its data."""
    return _complete_mp4_size(path) < os.path.getsize(path)


def trim_mp4(path: str | os.PathLike[str]) -> int:
    """Cut a fragmented MP4 after its last complete fragment (``moof`` + ``mdat``), so a file
    torn by a failed write opens in every player. Returns the new size."""
    good = _complete_mp4_size(path)
    if good < os.path.getsize(path):
        os.truncate(path, good)
    return good


@dataclass(frozen=True)
class Mp4Layout:
    """What the top-level boxes of an MP4 say about how much of it is whole."""

    size: int
    """The file's size in bytes when it was walked."""
    complete_size: int
    """Bytes up to the end of the last complete box that is not a ``moof`` waiting for its
    ``mdat``: what :func:`trim_mp4` keeps."""
    fragments: int
    """Complete fragments (a ``moof`` followed by its whole ``mdat``) in those bytes."""
    starts_with_ftyp: bool
    """The first box's type is ``ftyp``, as every MP4 written by FFmpeg begins (a file cut
    inside that box's 8-byte header counts as one when its bytes match)."""
    fragmented: bool | None
    """The ``moov`` announces fragments (has an ``mvex``); False also when an ``mdat`` comes
    before any ``moov`` (a whole-file MP4, its index last); None when the walk ended first."""

    @property
    def torn_bytes(self) -> int:
        return self.size - self.complete_size


MOOV_READ_MAX = 64 << 20
"""A fragmented file's ``moov`` holds no sample tables (a few KiB); a bigger one is not read."""


def mp4_layout(path: str | os.PathLike[str]) -> Mp4Layout:
    """Walk the top-level boxes of ``path`` (raises OSError when it cannot be read)."""
    size = os.path.getsize(path)
    good = 0
    fragments = 0
    pending_moof = False
    fragmented: bool | None = None
    with open(path, "rb") as f:
        head = f.read(8)
        starts_with_ftyp = head[4:8] == b"ftyp"[: max(0, len(head) - 4)] and len(head) > 4
        pos = 0
        while pos + 8 <= size:
            f.seek(pos)
            box_size, kind = struct.unpack(">I4s", f.read(8))
            header = 8
            if box_size == 1:
                large = f.read(8)
                if len(large) < 8:
                    break
                box_size = struct.unpack(">Q", large)[0]
                header = 16
            elif box_size == 0:
                box_size = size - pos  # "to the end of the file": only a last box may say so
            if box_size < header or pos + box_size > size:
                break
            if kind == b"moov" and fragmented is None:
                fragmented = box_size <= MOOV_READ_MAX and _has_child(
                    f.read(box_size - header), b"mvex"
                )
            elif kind == b"mdat" and fragmented is None:
                fragmented = False  # media before any moov: a whole file with its index last
            pos += box_size
            if kind == b"moof":
                pending_moof = True
                continue
            if kind == b"mdat" and pending_moof:
                fragments += 1
                pending_moof = False
            if not pending_moof:
                good = pos
    return Mp4Layout(size, good, fragments, starts_with_ftyp, fragmented)


def _has_child(payload: bytes, kind: bytes) -> bool:
    """Whether a container box's payload holds a direct child box of type ``kind``."""
    pos = 0
    while pos + 8 <= len(payload):
        box_size, child = struct.unpack_from(">I4s", payload, pos)
        if child == kind:
            return True
        if box_size == 1 and pos + 16 <= len(payload):
            box_size = struct.unpack_from(">Q", payload, pos + 8)[0]
        if box_size < 8:
            return False
        pos += box_size
    return False


def _complete_mp4_size(path: str | os.PathLike[str]) -> int:
    return mp4_layout(path).complete_size


def probe_video(path: str | os.PathLike[str]) -> tuple[int, float]:
    """(frames, seconds) of video a file holds; (0, 0.0) when it does not open."""
    try:
        import av

        with av.open(str(path)) as container:
            if not container.streams.video:
                return 0, 0.0
            stream = container.streams.video[0]
            frames, last = 0, 0.0
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue  # the demuxer's empty packet at the end
                frames += 1
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                last = max(last, end)
            return frames, last
    except Exception:
        return 0, 0.0
