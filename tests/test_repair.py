"""``camfx repair``: recordings torn by ``kill -9`` mended without losing anything else.

The recordings are made by the real recorder (PyAV: libx264 + AAC, fragmented MP4), small and
at 5 fps so that a fragment (``KEYFRAME_S`` of video) is 10 frames: 33 frames make three full
fragments and a last one of 3. They are torn the way a kill tears them, by cutting the file
inside a box, and once by a real SIGKILL of ``camfx run``. What comes out is read back with
PyAV, every frame decoded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recording_support import FPS, FRAMES, FRAMES_PER_FRAGMENT, SIZE, Box, boxes, record

from pipelines.outputs import recorder, repair

av = pytest.importorskip("av")

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 120


# ----------------------------------------------------------------------------- helpers
def decoded(path: Path) -> tuple[int, int]:
    """(video frames, audio frames), every one decoded: a torn file raises."""
    with av.open(str(path)) as c:
        video = sum(1 for _ in c.decode(video=0))
    with av.open(str(path)) as c:
        audio = sum(1 for _ in c.decode(audio=0)) if c.streams.audio else 0
    return video, audio


def _decoded_to_the_tear(path: Path) -> int:
    """Video frames decoded from a torn file before its decoder stops."""
    frames = 0
    with av.open(str(path)) as c:
        try:
            for _ in c.decode(video=0):
                frames += 1
        except av.error.FFmpegError:
            pass
    return frames


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def camfx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def one_error_line(result: subprocess.CompletedProcess[str], path: Path) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whole") / "rec.mp4"
    record(path)
    kinds = [b.kind for b in boxes(path)]
    assert kinds[:2] == [b"ftyp", b"moov"] and kinds.count(b"moof") == 4, kinds
    assert decoded(path)[0] == FRAMES
    return path


def torn_copy(whole: Path, folder: Path, cut: int) -> Path:
    path = folder / "torn.mp4"
    path.write_bytes(whole.read_bytes()[:cut])
    return path


def fragment(whole: Path, n: int) -> tuple[Box, Box]:
    """The ``n``-th (from 1) fragment's moof and mdat."""
    found = boxes(whole)
    moofs = [i for i, b in enumerate(found) if b.kind == b"moof"]
    moof, mdat = found[moofs[n - 1]], found[moofs[n - 1] + 1]
    assert mdat.kind == b"mdat"
    return moof, mdat


# ----------------------------------------------------------------------------- mended
# Where a kill can land in the n-th fragment, and so how many fragments stay whole.
CUTS = {
    "inside the 3rd mdat": (3, lambda moof, mdat: mdat.offset + mdat.size // 2),
    "inside the 3rd mdat's header": (3, lambda moof, mdat: mdat.offset + 5),
    "after the 3rd moof, before its mdat": (3, lambda moof, mdat: mdat.offset),
    "inside the 4th moof's header": (4, lambda moof, mdat: moof.offset + 3),
    "inside the 4th moof": (4, lambda moof, mdat: moof.offset + moof.size // 2),
    "inside the 2nd mdat": (2, lambda moof, mdat: mdat.end - 1),
}


@pytest.mark.parametrize("where", CUTS)
def test_a_torn_recording_is_mended_into_a_copy(whole: Path, tmp_path: Path, where: str) -> None:
    torn_fragment, cut_in = CUTS[where]
    moof, mdat = fragment(whole, torn_fragment)
    cut = cut_in(moof, mdat)
    path = torn_copy(whole, tmp_path, cut)
    before = digest(path)

    report = repair.repair(path)

    kept = torn_fragment - 1
    assert report.outcome is repair.Outcome.REPAIRED, report.line
    assert report.output == tmp_path / "torn.repaired.mp4"
    assert digest(path) == before  # the original as it was
    # Exactly the bytes before the torn fragment, and every frame in them decodes.
    assert report.output.read_bytes() == whole.read_bytes()[: moof.offset]
    frames, audio_frames = decoded(report.output)
    assert frames == kept * FRAMES_PER_FRAGMENT
    assert audio_frames > 0
    assert (report.fragments, report.frames) == (kept, frames)
    assert report.seconds == pytest.approx(frames / FPS, abs=0.5 / FPS)
    assert report.torn_bytes == cut - moof.offset
    assert (
        f"kept {kept} complete fragment{'s' if kept > 1 else ''} ({frames} frames, "
        f"{report.seconds:.1f} s), "
        f"dropped {cut - moof.offset} bytes of torn tail; written to {report.output}"
    ) in report.line


def test_a_kill_9_recording_is_mended_by_the_command(tmp_path: Path) -> None:
    """A real SIGKILL of ``camfx run``: torn or not (the kill may fall between fragments), the
    command leaves a file that decodes to its last frame, and the original as it was."""
    path = tmp_path / "killed.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--source", "demo", "--output", str(path),
         "--size", "160x120"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        for _ in range(20):  # model notes may come before the "Ctrl+C to stop" line
            line = proc.stderr.readline()
            assert line, "camfx run ended before it started"
            if "Ctrl+C to stop" in line:
                break
        deadline = time.monotonic() + 60
        while recorder.mp4_layout(path).fragments < 2:  # two fragments on the disk
            assert time.monotonic() < deadline, "no fragment was written"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=TIMEOUT_S)
    before, layout = digest(path), recorder.mp4_layout(path)

    result = camfx("repair", str(path))

    assert result.returncode == 0, result
    assert digest(path) == before
    mended = tmp_path / "killed.repaired.mp4"
    if layout.torn_bytes:
        assert f"written to {mended}" in result.stdout, result.stdout
        assert decoded(mended)[0] >= 2 * 30 * recorder.KEYFRAME_S
    else:
        assert "complete" in result.stdout and not mended.exists()
        assert decoded(path)[0] >= 2 * 30 * recorder.KEYFRAME_S


def test_in_place_cuts_only_the_torn_tail(whole: Path, tmp_path: Path) -> None:
    moof, mdat = fragment(whole, 3)
    cut = mdat.offset + 40
    path = torn_copy(whole, tmp_path, cut)

    result = camfx("repair", "--in-place", str(path))

    assert result.returncode == 0, result
    assert path.read_bytes() == whole.read_bytes()[: moof.offset]
    assert decoded(path)[0] == 2 * FRAMES_PER_FRAGMENT
    assert list(tmp_path.iterdir()) == [path]  # no copy
    line = result.stdout.strip()
    assert line.startswith(f"{path}: kept 2 complete fragments (20 frames, 4.0 s)"), line
    assert f"dropped {cut - moof.offset} bytes of torn tail; cut in place" in line


def test_in_place_leaves_a_file_that_grows_meanwhile(
    whole: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recording still being written looks torn; cutting it would leave a hole in it."""
    mdat = fragment(whole, 3)[1]
    path = torn_copy(whole, tmp_path, mdat.offset + 40)
    real_check = repair.decode_check

    def check_while_the_recorder_writes(source: Any) -> repair.DecodeCheck:
        with open(path, "ab") as f:
            f.write(b"\0" * 100)
        return real_check(source)

    monkeypatch.setattr(repair, "decode_check", check_while_the_recorder_writes)
    before = path.read_bytes()

    report = repair.repair(path, in_place=True)

    assert report.outcome is repair.Outcome.FAILED
    assert "changed while being checked" in report.line
    assert path.read_bytes()[: len(before)] == before and path.stat().st_size == len(before) + 100


def test_a_recording_still_being_written_is_refused_not_called_complete(tmp_path: Path) -> None:
    """qa62: ``camfx repair`` on a recording still being written said "complete … nothing
    to do" (between its fragments), or would cut a copy of it. The recorder holds a lock on
    it while it writes (the system drops it when the process dies, kill -9 included): the
    command, another process as a user runs it, says it is still being recorded, exit 2, and
    the window's scan for torn recordings leaves it out."""
    from pipelines.frame import Frame

    path = tmp_path / "live.mp4"
    out = recorder.VideoFileOutput(str(path))
    out.live_source = False
    out.open(*SIZE, FPS)
    try:
        for i in range(2 * FRAMES_PER_FRAGMENT + 3):  # two whole fragments on the disk
            out.write(Frame.new(np.full((SIZE[1], SIZE[0], 3), 9 * i, np.uint8), i / FPS, i))
        assert recorder.being_recorded(path)
        line = one_error_line(camfx("repair", str(path)), path)
        assert "still being recorded" in line and "stop that recording first" in line, line
        assert list(tmp_path.iterdir()) == [path]  # no copy
        assert repair.torn_recordings(tmp_path, quiet_for_s=0.0) == []
    finally:
        out.close()
    assert out.failure is None and not recorder.being_recorded(path)
    assert repair.repair(path).outcome is repair.Outcome.COMPLETE


def test_a_taken_name_is_never_overwritten(whole: Path, tmp_path: Path) -> None:
    mdat = fragment(whole, 4)[1]
    path = torn_copy(whole, tmp_path, mdat.offset + 10)
    taken = tmp_path / "torn.repaired.mp4"
    taken.write_bytes(b"the user's own file")

    first, second = repair.repair(path), repair.repair(path)

    assert taken.read_bytes() == b"the user's own file"
    assert first.output == tmp_path / "torn.repaired-2.mp4"
    assert second.output == tmp_path / "torn.repaired-3.mp4"
    for report in (first, second):
        assert report.output is not None
        assert decoded(report.output)[0] == 3 * FRAMES_PER_FRAGMENT


def test_a_complete_recording_is_left_alone(whole: Path, tmp_path: Path) -> None:
    path = tmp_path / "done.mp4"
    shutil.copy(whole, path)
    stat = path.stat()

    result = camfx("repair", str(path))

    assert result.returncode == 0, result
    assert result.stdout.strip() == (
        f"{path}: complete (4 fragments, {FRAMES} frames, {FRAMES / FPS:.1f} s); nothing to do"
    )
    assert list(tmp_path.iterdir()) == [path]
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and digest(path) == digest(whole)


def test_a_cut_that_does_not_decode_keeps_the_original_and_exits_1(
    whole: Path, tmp_path: Path
) -> None:
    """The box walk cannot see damage inside a fragment's data: the decode check does."""
    mdat = fragment(whole, 2)[1]
    data = bytearray(whole.read_bytes()[: fragment(whole, 3)[1].offset + 20])
    data[mdat.offset + 8 : mdat.end] = b"\xff" * (mdat.size - 8)
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    for in_place in ("", "--in-place"):
        result = camfx("repair", *filter(None, [in_place]), str(path))
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert f"{path} was not repaired: the part before the torn tail does not decode" in (
            result.stderr
        )
        assert path.read_bytes() == bytes(data)
        assert list(tmp_path.iterdir()) == [path]


# ----------------------------------------------------------------------------- refused
def _not_mp4(folder: Path) -> Path:
    path = folder / "notes.mp4"
    path.write_bytes(b"these are not the frames you are looking for\n" * 100)
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.touch()
    return path


def _missing(folder: Path) -> Path:
    return folder / "missing.mp4"


def _folder(folder: Path) -> Path:
    path = folder / "videos.mp4"
    path.mkdir()
    return path


REFUSED: dict[str, tuple[Any, str]] = {
    "garbage": (_not_mp4, "is not an MP4 file"),
    "empty": (_empty, "is empty (0 bytes)"),
    "missing": (_missing, "does not exist"),
    "a folder": (_folder, "is a folder"),
}


@pytest.mark.parametrize("what", REFUSED)
def test_what_is_no_recording_is_refused_with_one_line(tmp_path: Path, what: str) -> None:
    make, said = REFUSED[what]
    path = make(tmp_path)
    before = sorted(tmp_path.iterdir())

    line = one_error_line(camfx("repair", str(path)), path)

    assert said in line
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "cut", ["inside ftyp", "inside moov", "right after moov", "inside the 1st mdat"]
)
def test_a_recording_without_a_complete_fragment_is_refused(
    whole: Path, tmp_path: Path, cut: str
) -> None:
    # "right after moov": nothing is torn, yet no frame is there; it was said "complete (0
    # fragments, 0 frames, 0.0 s); nothing to do", exit code 0 (QA report 4, item 6).
    ftyp, moov = boxes(whole)[:2]
    offset = {
        "inside ftyp": ftyp.size // 2,
        "inside moov": moov.offset + moov.size // 2,
        "right after moov": moov.end,
        "inside the 1st mdat": fragment(whole, 1)[1].offset + 100,
    }[cut]
    path = torn_copy(whole, tmp_path, offset)

    line = one_error_line(camfx("repair", str(path)), path)

    assert "holds no complete fragment" in line and "nothing to recover" in line
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("in_place", [False, True], ids=["copy", "in-place"])
def test_a_recording_torn_inside_its_first_fragment_keeps_its_whole_frames(
    whole: Path, tmp_path: Path, in_place: bool
) -> None:
    """A kill inside the first 2 s left no fragment boundary to cut at, and repair said
    "nothing to recover" of a file whose first frames decode: they are copied (packets, not
    re-encoded) into a recording that decodes to its end, with its sound."""
    _, mdat = fragment(whole, 1)
    path = torn_copy(whole, tmp_path, mdat.offset + mdat.size // 2)
    before = digest(path)
    whole_frames = _decoded_to_the_tear(path)  # what a player shows of the torn file
    assert 0 < whole_frames <= FRAMES_PER_FRAGMENT

    report = repair.repair(path, in_place=in_place)

    assert report.outcome is repair.Outcome.REPAIRED, report.line
    output = path if in_place else tmp_path / "torn.repaired.mp4"
    assert report.output == output
    if not in_place:
        assert digest(path) == before
    frames, audio_frames = decoded(output)
    assert whole_frames - 1 <= frames <= whole_frames and audio_frames > 0
    assert report.frames == frames and report.fragments == 0
    assert "written before the tear in its first fragment" in report.line
    assert "its sound was after the tear" not in report.line  # cut inside its sound
    # A camfx recording again: a second repair finds it complete.
    assert repair.repair(output).outcome is repair.Outcome.COMPLETE
    assert sorted(tmp_path.iterdir()) == sorted({path, output})


def _video_packet_ends(path: Path) -> list[int]:
    """Where on the disk each video packet of ``path`` ends, in the file's order."""
    with av.open(str(path)) as c:
        return [p.pos + p.size for p in c.demux(video=0) if p.size and p.pos is not None]


def test_a_tear_among_the_first_fragments_frames_keeps_every_frame_on_the_disk(
    whole: Path, tmp_path: Path
) -> None:
    """A fragment holds its video, then its sound. Torn inside its last video frame, every
    frame before it is whole, yet the demuxer, reading both streams in time order, went for the
    sound once the video was a second ahead and stopped at the tear: 6 of the 9 whole frames
    were kept (QA report 4: 31 of 59). The sound, all after the tear, is said to be missing."""
    _, mdat = fragment(whole, 1)
    ends = [end for end in _video_packet_ends(whole) if end <= mdat.end]
    assert len(ends) == FRAMES_PER_FRAGMENT
    last_start = ends[-2]  # packets of one track lie back to back
    path = torn_copy(whole, tmp_path, last_start + (ends[-1] - last_start) // 2)
    on_disk = sum(end <= path.stat().st_size for end in ends)
    assert on_disk == FRAMES_PER_FRAGMENT - 1

    result = camfx("repair", str(path))

    assert result.returncode == 0, result
    output = tmp_path / "torn.repaired.mp4"
    assert decoded(output) == (on_disk, 0)
    assert f"kept {on_disk} frames" in result.stdout
    assert "its sound was after the tear, so the mended file has none" in result.stdout


def test_an_mp4_that_is_not_fragmented_is_not_ours(tmp_path: Path) -> None:
    """An MP4 from elsewhere (one index at the end, no fragments), whole or cut off."""
    path = tmp_path / "other.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=int(FPS))
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), "bgr24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    for size in (path.stat().st_size, path.stat().st_size - 100):
        os.truncate(path, size)
        line = one_error_line(camfx("repair", str(path)), path)
        assert "is not a fragmented MP4 as camfx records" in line
        assert list(tmp_path.iterdir()) == [path]


def test_several_files_are_all_gone_through(whole: Path, tmp_path: Path) -> None:
    mdat = fragment(whole, 3)[1]
    torn = torn_copy(whole, tmp_path, mdat.offset + 30)
    missing = tmp_path / "missing.mp4"
    garbage = _not_mp4(tmp_path)

    result = camfx("repair", str(missing), str(torn), str(garbage))

    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and str(missing) in errors[0] and str(garbage) in errors[1]
    assert f"written to {tmp_path / 'torn.repaired.mp4'}" in result.stdout
    assert decoded(tmp_path / "torn.repaired.mp4")[0] == 2 * FRAMES_PER_FRAGMENT


# ----------------------------------------------------------------------------- found
NOW = 1_800_000_000.0
"""The clock :func:`repair.torn_recordings` is given: files are dated an hour before it."""


def _dated(path: Path, age_s: float = 3600.0) -> Path:
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


def _torn_named(whole: Path, folder: Path, name: str, age_s: float = 3600.0) -> Path:
    path = folder / name
    path.write_bytes(whole.read_bytes()[: fragment(whole, 3)[1].offset + 30])
    return _dated(path, age_s)


def test_torn_recordings_are_found_and_what_is_not_torn_is_not(whole: Path, tmp_path: Path) -> None:
    torn = _torn_named(whole, tmp_path, "camfx-20261204-101500.mp4")
    older = _torn_named(whole, tmp_path, "older.MP4", age_s=7200.0)
    _dated(Path(shutil.copy(whole, tmp_path / "complete.mp4")))
    _dated(_not_mp4(tmp_path))
    no_fragment = tmp_path / "short.mp4"
    no_fragment.write_bytes(whole.read_bytes()[: fragment(whole, 1)[1].offset + 30])
    _dated(no_fragment)
    (tmp_path / "folder.mp4").mkdir()

    assert repair.torn_recordings(tmp_path, now=NOW) == [torn, older]  # newest first


def test_torn_recordings_leaves_out_repaired_recent_and_already_mended_files(
    whole: Path, tmp_path: Path
) -> None:
    _torn_named(whole, tmp_path, "a.repaired.mp4")
    _torn_named(whole, tmp_path, "b.repaired-2.mp4")
    _torn_named(whole, tmp_path, "mended.mp4")
    (tmp_path / "mended.repaired.mp4").write_bytes(b"")
    # Written into seconds ago: another camfx may be recording into it right now.
    recording = _torn_named(whole, tmp_path, "recording.mp4", age_s=3.0)

    assert repair.torn_recordings(tmp_path, now=NOW) == []
    assert repair.torn_recordings(tmp_path, now=NOW, quiet_for_s=2.0) == [recording]


def test_torn_recordings_of_a_missing_folder_or_a_file_is_nothing(
    whole: Path, tmp_path: Path
) -> None:
    assert repair.torn_recordings(tmp_path / "missing", now=NOW) == []
    torn = _torn_named(whole, tmp_path, "torn.mp4")
    assert repair.torn_recordings(torn, now=NOW) == []
    assert repair.torn_recordings(tmp_path, now=NOW) == [torn]


def test_torn_recordings_walks_only_the_newest_files(
    whole: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repair, "SCAN_MAX_FILES", 2)
    old_torn = _torn_named(whole, tmp_path, "old.mp4", age_s=7200.0)
    new_torn = _torn_named(whole, tmp_path, "new.mp4")
    _dated(Path(shutil.copy(whole, tmp_path / "newer.mp4")), age_s=1800.0)

    assert repair.torn_recordings(tmp_path, now=NOW) == [new_torn]
    monkeypatch.setattr(repair, "SCAN_MAX_FILES", 3)
    assert repair.torn_recordings(tmp_path, now=NOW) == [new_torn, old_torn]
