"""Mending a recording torn by ``kill -9`` or a power cut (``camfx repair``).

camfx records MP4 in fragments (:mod:`pipelines.outputs.recorder`): ``ftyp``, an empty
``moov``, then a ``moof`` + ``mdat`` pair every 2 s. A kill can land while FFmpeg is writing a
fragment, leaving a ``moof`` without its ``mdat`` or an ``mdat`` shorter than its header says;
FFmpeg's decoder then stops with an error there. Everything before that fragment is whole:
cutting the file after its last complete fragment (the box walk of
:func:`~pipelines.outputs.recorder.mp4_layout`) gives a file every player opens.

Nothing the user made is lost by default: the mended file is a new one beside the original
(``NAME.repaired.mp4``, or ``NAME.repaired-2.mp4`` and so on when that name is taken), and the
original is left as it was. ``in_place`` cuts the original itself, and only once the bytes that
stay are known to decode to the end. A file is claimed mended only after every video frame of
the result decoded through PyAV.
"""

from __future__ import annotations

import contextlib
import enum
import io
import os
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.outputs.existing import MAX_NAME_TRIES, numbered_names
from pipelines.outputs.recorder import (
    MP4_FLAGS,
    Mp4Layout,
    being_recorded,
    mp4_layout,
    probe_video,
)

COPY_CHUNK = 1 << 20
SCAN_MAX_FILES = 200
""":func:`torn_recordings` walks at most the newest this many ``.mp4`` files of a folder, so a
folder of thousands cannot hold up the window's start."""


class Outcome(enum.Enum):
    REPAIRED = "repaired"
    """The torn tail is cut (in a copy, or in place) and the result decodes to the end."""
    COMPLETE = "complete"
    """Nothing was torn; nothing was written."""
    NOT_REPAIRABLE = "not repairable"
    """Missing, unreadable, not an MP4, not a camfx recording, or no complete fragment: the
    user gave a file this cannot help with (the CLI's exit code 2)."""
    FAILED = "failed"
    """The cut file did not decode to the end, or could not be written; the original is kept
    (the CLI's exit code 1)."""


@dataclass(frozen=True)
class RepairReport:
    path: Path
    outcome: Outcome
    line: str
    """One line for the user: the file, what was kept or why nothing was done, what to do."""
    output: Path | None = None
    """The mended file (the original itself with ``in_place``); None when nothing was written."""
    fragments: int = 0
    frames: int = 0
    seconds: float = 0.0
    torn_bytes: int = 0
    """Bytes of the torn last fragment that are not in the result."""


@dataclass(frozen=True)
class DecodeCheck:
    frames: int
    """Video frames decoded."""
    packets: int
    """Video packets demuxed: a frame the decoder dropped makes ``frames`` fall short."""
    seconds: float
    """From the first video packet's start to the last one's end (a file's media time may
    start after 0: an edit list for the sound's encoder delay)."""
    error: str = ""
    """Why decoding stopped before the end; empty when it did not."""

    @property
    def whole(self) -> bool:
        return not self.error and self.packets > 0 and self.frames == self.packets


def repair(path: str | os.PathLike[str], *, in_place: bool = False) -> RepairReport:
    """Cut ``path`` after its last complete fragment, into a new file beside it or (with
    ``in_place``) in the file itself. Never raises for a bad file: the report says."""
    path = Path(path)
    try:
        layout = mp4_layout(path)
    except IsADirectoryError:
        return _refuse(path, "is a folder; give the recording's .mp4 file")
    except FileNotFoundError:
        return _refuse(path, "does not exist; check the name and folder")
    except OSError as exc:
        return _refuse(path, f"cannot be read ({exc.strerror or exc}); check its permissions")
    problem = _why_not_repairable(layout)
    if problem:
        return _refuse(path, problem)
    if being_recorded(path):
        # Between its fragments it looks complete or torn; neither is true yet (qa62: a
        # recording being written was called "complete … nothing to do").
        return _refuse(
            path,
            "is still being recorded; stop that recording first (a recording that ends "
            "normally needs no repair)",
        )
    if layout.fragments == 0:
        # No fragment: torn inside the first one, or cut right after its header (ftyp + moov,
        # nothing torn, no frame), which is not a complete recording but one with nothing in it.
        return _salvage_first_fragment(path, layout, in_place)
    if layout.torn_bytes == 0:
        # Every box is whole, so nothing is cut: its packets are counted, not decoded (a long
        # recording would take minutes), as the recorder's own summary does.
        frames, seconds = probe_video(path)
        return RepairReport(
            path,
            Outcome.COMPLETE,
            f"{path}: complete ({_count(layout.fragments, 'fragment')}, {frames} frames, "
            f"{seconds:.1f} s); nothing to do",
            fragments=layout.fragments,
            frames=frames,
            seconds=seconds,
        )
    if in_place:
        return _repair_in_place(path, layout)
    return _repair_to_copy(path, layout)


def torn_recordings(
    folder: str | os.PathLike[str], *, quiet_for_s: float = 10.0, now: float | None = None
) -> list[Path]:
    """The camfx recordings directly in ``folder`` that end in a torn fragment and that
    :func:`repair` can mend, newest first: fragmented, ``torn_bytes > 0``, at least one complete
    fragment, no ``NAME.repaired.mp4`` beside them yet, not a repaired copy themselves.

    A file changed in the last ``quiet_for_s`` seconds is left out: a recording another camfx
    is writing right now looks torn between its 2-second fragments. Only the box walk, no
    decoding, and only the :data:`SCAN_MAX_FILES` newest files. Never raises: a folder that is
    missing or cannot be read has nothing to offer."""
    now = time.time() if now is None else now
    candidates: list[tuple[float, Path]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.lower().endswith(".mp4") or ".repaired" in entry.name:
                    continue
                with contextlib.suppress(OSError):  # gone meanwhile, or not ours to read
                    if entry.is_file():
                        candidates.append((entry.stat().st_mtime, Path(entry.path)))
    except OSError:
        return []
    candidates.sort(reverse=True)
    torn = []
    for mtime, path in candidates[:SCAN_MAX_FILES]:
        if now - mtime < quiet_for_s or _repaired_name(path).exists() or being_recorded(path):
            continue
        try:
            layout = mp4_layout(path)
        except (OSError, struct.error):
            continue
        # At least one complete fragment (the box walk alone tells): one torn inside its first
        # fragment may hold no whole frame, which only decoding would tell (`camfx repair`).
        whole_fragment = layout.fragments > 0
        if (
            layout.fragmented
            and layout.torn_bytes > 0
            and whole_fragment
            and not _why_not_repairable(layout)
        ):
            torn.append(path)
    return torn


def _why_not_repairable(layout: Mp4Layout) -> str:
    if layout.size == 0:
        return "is empty (0 bytes): the recording holds nothing to recover"
    if not layout.starts_with_ftyp:
        return "is not an MP4 file; camfx repair mends .mp4 recordings made by camfx"
    if layout.fragmented is False:
        # A whole-file MP4 (its index at the end, or at the front after a "faststart") has no
        # fragment boundary to cut at: what a kill leaves of one needs its index rebuilt.
        return (
            "is not a fragmented MP4 as camfx records, so camfx repair cannot mend it; "
            "for an MP4 from another program use a tool such as untrunc"
        )
    return ""


def _nothing_to_recover(layout: Mp4Layout) -> str:
    return (
        f"holds no complete fragment and no whole frame ({layout.size} bytes; the recording "
        "stopped before its first frame was on the disk): there is nothing to recover"
    )


def _salvage_first_fragment(path: Path, layout: Mp4Layout, in_place: bool) -> RepairReport:
    """A recording torn inside its first fragment has no fragment boundary to cut at, yet the
    frames written before the tear are whole (a kill 1.5 s into a recording: 40 frames decode).
    Its packets up to the tear are copied, not re-encoded, into a new MP4 (beside it, or, with
    ``in_place``, one that replaces it once it decodes to the end)."""
    first = path.with_name(f".{path.name}.salvage") if in_place else _repaired_name(path)
    try:
        target, out = _create_free(first)
        out.close()
    except OSError as exc:
        return _failed(
            path,
            f"no file could be created beside it ({exc.strerror or exc}); copy the recording "
            "to a folder you can write to and repair it there, or use --in-place",
        )
    try:
        copied = _copy_whole_packets(path, target)
    except Exception as exc:  # PyAV's errors, OSError: the original is left as it was
        target.unlink(missing_ok=True)
        return _failed(path, f"its frames could not be copied ({exc})")
    if copied.video == 0:
        target.unlink(missing_ok=True)
        return _refuse(path, _nothing_to_recover(layout))
    check = decode_check(target)
    if not check.whole:
        target.unlink(missing_ok=True)
        return _failed(path, _not_whole(check))
    if in_place:
        try:
            if os.path.getsize(path) != layout.size:
                target.unlink(missing_ok=True)
                return _failed(path, "it changed while being checked (is it still recording?)")
            shutil.copymode(path, target)
            os.replace(target, path)
        except OSError as exc:
            target.unlink(missing_ok=True)
            return _failed(path, f"it could not be replaced ({exc.strerror or exc})")
        target = path
    where = "replaced in place" if in_place else f"written to {target}"
    # A fragment holds all its video, then all its sound (one run per track): a tear in the
    # video leaves no sound packet whole, and a silent file is not what was recorded.
    silent = (
        "; its sound was after the tear, so the mended file has none"
        if copied.source_has_audio and copied.audio == 0
        else ""
    )
    line = (
        f"{path}: kept {check.frames} frames ({check.seconds:.1f} s) written before the tear in "
        f"its first fragment, dropped the rest{silent}; {where}"
    )
    return RepairReport(
        path,
        Outcome.REPAIRED,
        line,
        output=target,
        fragments=0,
        frames=check.frames,
        seconds=check.seconds,
        torn_bytes=layout.torn_bytes,
    )


@dataclass(frozen=True)
class CopiedPackets:
    """What :func:`_copy_whole_packets` copied."""

    video: int
    audio: int
    source_has_audio: bool


def _copy_whole_packets(path: Path, target: Path) -> CopiedPackets:
    """Copy the video and sound packets of ``path`` that are whole on the disk into ``target``,
    an MP4: each stream up to its first packet the tear cut or left out.

    Each stream is read on its own (:func:`_whole_packets`), then all are muxed in time order:
    a fragment holds all its video, then all its sound, and the demuxer, which reads packets in
    time order, read the first sound packet (after the last video packet on the disk) once it
    was a second ahead in the video; a tear anywhere in the fragment stopped both there."""
    import av

    try:
        src = av.open(str(path), "r")
    except av.error.FFmpegError:
        return CopiedPackets(0, 0, False)  # torn inside its header (ftyp, moov): no stream
    with src:
        kinds = {s.index: s.type for s in src.streams if s.type in ("video", "audio")}
    counts = {kind: 0 for kind in ("video", "audio")}
    # Fragmented as camfx records, so the copy is a camfx recording to every later check.
    options = {"movflags": MP4_FLAGS}
    with contextlib.ExitStack() as stack:
        # One reader a stream, each open until its packets are muxed (a packet refers to its
        # reader's stream).
        readers = {index: stack.enter_context(av.open(str(path), "r")) for index in kinds}
        dst = stack.enter_context(av.open(str(target), "w", format="mp4", options=options))
        ordered: list[tuple[float, int, Any]] = []
        for index, reader in readers.items():
            dst_stream = dst.add_stream_from_template(reader.streams[index])
            for packet in _whole_packets(reader, index):
                ordered.append((float(packet.dts * packet.time_base), index, packet))
                packet.stream = dst_stream
        ordered.sort(key=lambda item: item[:2])
        for _, index, packet in ordered:
            dst.mux(packet)
            counts[kinds[index]] += 1
    return CopiedPackets(counts["video"], counts["audio"], "audio" in kinds.values())


def _whole_packets(src: Any, index: int) -> list[Any]:
    """The packets of stream ``index`` of the open ``src`` before its first corrupt or missing
    one."""
    import av
    from av.stream import Discard

    # Discarded, the other streams' packets are not read at all: asked for only one stream, the
    # demuxer still reads the others' (PyAV drops them after), and stops at the first that the
    # tear cut; so a file cut at 448000 bytes, after its 59th whole frame, kept 31.
    for stream in src.streams:
        if stream.index != index:
            stream.discard = Discard.all
    packets = []
    demuxed = src.demux(src.streams[index])
    while True:
        try:
            packet = next(demuxed)
        except (StopIteration, av.error.FFmpegError):
            break
        if packet.dts is None or packet.size == 0:
            continue  # the demuxer's flush packet
        if packet.is_corrupt:
            break  # the packet the tear cut: it and what follows are not whole
        packets.append(packet)
    return packets


def _refuse(path: Path, why: str) -> RepairReport:
    return RepairReport(path, Outcome.NOT_REPAIRABLE, f"{path} {why}")


def _repair_to_copy(path: Path, layout: Mp4Layout) -> RepairReport:
    try:
        target, out = _create_free(_repaired_name(path))
    except OSError as exc:
        return _failed(
            path,
            f"no file could be created beside it ({exc.strerror or exc}); copy the recording "
            "to a folder you can write to and repair it there, or use --in-place",
        )
    try:
        with out, open(path, "rb") as src:
            left = layout.complete_size
            while left:
                chunk = src.read(min(COPY_CHUNK, left))
                if not chunk:
                    raise OSError(f"{path} became shorter while it was copied")
                out.write(chunk)
                left -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        shutil.copymode(path, target)
    except OSError as exc:
        target.unlink(missing_ok=True)
        return _failed(path, f"{target} could not be written ({exc.strerror or exc})")
    check = decode_check(target)
    if not check.whole:
        # Ours, made a moment ago: a copy that does not play would only mislead.
        target.unlink(missing_ok=True)
        return _failed(path, _not_whole(check))
    return _repaired(path, target, layout, check, f"written to {target}")


def _repair_in_place(path: Path, layout: Mp4Layout) -> RepairReport:
    # Cutting in place drops only the torn last fragment: a moof without its whole mdat, which
    # no player and no camfx command can use (at most KEYFRAME_S of video). The user asked for
    # it by name (the default writes a copy), and the bytes that stay are decoded first, so a
    # file that would not play after the cut is left as it was.
    try:
        with open(path, "rb") as f:
            check = decode_check(_Prefix(f, layout.complete_size))
    except OSError as exc:
        return _failed(path, f"it could not be read again ({exc.strerror or exc})")
    if not check.whole:
        return _failed(path, _not_whole(check))
    try:
        if os.path.getsize(path) != layout.size:
            # A recording still being written grows; cutting it would leave a hole in it.
            return _failed(path, "it changed while being checked (is it still recording?)")
        os.truncate(path, layout.complete_size)
    except OSError as exc:
        return _failed(path, f"it could not be cut ({exc.strerror or exc})")
    return _repaired(path, path, layout, check, "cut in place")


def _repaired(
    path: Path, output: Path, layout: Mp4Layout, check: DecodeCheck, where: str
) -> RepairReport:
    line = (
        f"{path}: kept {_count(layout.fragments, 'complete fragment')} ({check.frames} frames, "
        f"{check.seconds:.1f} s), dropped {layout.torn_bytes} bytes of torn tail; {where}"
    )
    return RepairReport(
        path,
        Outcome.REPAIRED,
        line,
        output=output,
        fragments=layout.fragments,
        frames=check.frames,
        seconds=check.seconds,
        torn_bytes=layout.torn_bytes,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _failed(path: Path, why: str) -> RepairReport:
    return RepairReport(path, Outcome.FAILED, f"{path} was not repaired: {why}; it is unchanged")


def _not_whole(check: DecodeCheck) -> str:
    if check.error:
        return f"the part before the torn tail does not decode ({check.error})"
    return f"only {check.frames} of {check.packets} video frames of the cut file decode"


def _repaired_name(path: Path) -> Path:
    return path.with_name(f"{path.stem}.repaired{path.suffix or '.mp4'}")


def _create_free(first: Path) -> tuple[Path, Any]:
    """Create the first free one of ``first``, ``NAME-2.EXT``, ``NAME-3.EXT`` … and open it
    for writing. ``O_EXCL``: a file that appears meanwhile is never overwritten."""
    for candidate in numbered_names(first):
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return candidate, os.fdopen(fd, "wb")
    raise FileExistsError(f"{first} and {MAX_NAME_TRIES - 1} numbered names after it exist")


class _Prefix(io.RawIOBase):
    """The first ``size`` bytes of an open file, read as a whole file: what PyAV sees of the
    original after an in-place cut, checked before that cut is made."""

    def __init__(self, f: Any, size: int) -> None:
        self._f, self._size, self._pos = f, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        self._f.seek(self._pos)
        data = self._f.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def decode_check(source: str | os.PathLike[str] | io.RawIOBase) -> DecodeCheck:
    """Decode every packet of every stream (every video frame counted), to the end."""
    import av

    frames = packets = 0
    seconds = 0.0
    first: float | None = None
    try:
        opened = source if isinstance(source, io.RawIOBase) else str(source)
        with av.open(opened, "r") as container:
            if not container.streams.video:
                return DecodeCheck(0, 0, 0.0, "it holds no video")
            video = container.streams.video[0]
            for packet in container.demux():
                is_video = packet.stream.index == video.index
                if is_video and packet.pts is not None and packet.time_base is not None:
                    packets += 1
                    start = float(packet.pts * packet.time_base)
                    first = start if first is None else min(first, start)
                    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    seconds = max(seconds, end - first)
                decoded = packet.decode()  # the empty packet at the end flushes the decoder
                if is_video:
                    frames += len(decoded)
    except Exception as exc:  # PyAV's FFmpegError and friends: the reason is its text
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return DecodeCheck(frames, packets, seconds, f"{reason} after {frames} frames")
    return DecodeCheck(frames, packets, seconds)
