"""A file already at an output path is never replaced unless the user says so (``-y`` /
``--overwrite``), on every command that writes one; with it, a recording replaces the old
file only once the new one is complete (QA pass 3, item 1)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_recording import file_size_limit, small_disk  # noqa: F401  (a fixture)

from app import cli

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "tests" / "data" / "faces" / "astronaut.jpg"
USERS_VIDEO = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64
"""A Matroska file's first bytes and then some: what the user had at that name."""
SMALL = ("--size", "64x48")


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


def users_file(path: Path) -> Path:
    path.write_bytes(USERS_VIDEO)
    return path


def frames_in(path: Path) -> int:
    av = pytest.importorskip("av")
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def assert_refused(code: int, err: str, path: Path) -> None:
    line = one_error_line(err)
    assert code == 2, err
    assert repr(str(path)) in line and "already exists" in line, line
    assert "--overwrite (-y)" in line, line
    assert path.read_bytes() == USERS_VIDEO
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "nothing else made"


def test_run_refuses_a_file_already_at_its_output(tmp_path: Path, capsys: Any) -> None:
    """``run --output holiday.mp4`` replaced the user's own video, exit code 0."""
    video = users_file(tmp_path / "holiday.mp4")
    code = cli.main(["run", "--source", "demo", "--output", str(video), "--frames", "3", *SMALL])
    assert_refused(code, capsys.readouterr().err, video)


def test_run_overwrite_replaces_it_once_complete(tmp_path: Path, capsys: Any) -> None:
    video = users_file(tmp_path / "holiday.mp4")
    for flag in ("--overwrite", "-y"):
        args = ["run", "--source", "demo", "--output", str(video), "--frames", "4", *SMALL]
        assert cli.main([*args, flag]) == 0, capsys.readouterr().err
        assert frames_in(video) == 4
        # Written beside it, then moved over it: nothing is left beside it.
        assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday.mp4"]


def test_overwrite_with_a_start_that_fails_leaves_the_old_file_as_it_was(
    tmp_path: Path, capsys: Any
) -> None:
    video = users_file(tmp_path / "holiday.mp4")
    missing = str(tmp_path / "typo.mp4")
    code = cli.main(["run", "--source", missing, "--output", str(video), "-y", *SMALL])
    assert code == 2
    assert "typo.mp4' does not exist" in one_error_line(capsys.readouterr().err)
    assert video.read_bytes() == USERS_VIDEO
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday.mp4"]


def test_a_recorder_that_fails_at_its_start_keeps_the_old_file(tmp_path: Path) -> None:
    """The encoder cannot open (an odd size for yuv420p's H.264 is fine, a 0x0 one is not):
    the file there was opened for writing and emptied by FFmpeg before the error."""
    from pipelines.errors import OutputError
    from pipelines.outputs.existing import ExistingFile
    from pipelines.outputs.recorder import VideoFileOutput

    video = users_file(tmp_path / "take.mp4")
    out = VideoFileOutput(str(video), existing=ExistingFile.REPLACE)
    with pytest.raises(OutputError):
        out.open(0, 0, 30.0)
    out.close()
    assert video.read_bytes() == USERS_VIDEO
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mp4"]
    # Without REPLACE (the window's recordings, any caller that did not ask) it is refused.
    with pytest.raises(OutputError, match="already exists"):
        VideoFileOutput(str(video)).open(64, 48, 30.0)
    assert video.read_bytes() == USERS_VIDEO


def test_talking_head_render_refuses_a_file_already_there(tmp_path: Path, capsys: Any) -> None:
    video = users_file(tmp_path / "x.mp4")
    code = cli.main(
        ["talking-head", "render", "--audio", "none", "--frames", "3", "--output", str(video)]
    )
    assert_refused(code, capsys.readouterr().err, video)


def test_talking_head_capture_refuses_and_overwrite_replaces(tmp_path: Path, capsys: Any) -> None:
    picture = users_file(tmp_path / "mine.png")
    args = ["talking-head", "capture", "--source", str(PHOTO), "--output", str(picture)]
    assert_refused(cli.main(args), capsys.readouterr().err, picture)
    assert cli.main([*args, "-y"]) == 0, capsys.readouterr().err
    import cv2

    saved = cv2.imread(str(picture))
    assert saved is not None and saved.shape[0] >= 64


def test_analyze_refuses_a_mask_file_already_there(tmp_path: Path) -> None:
    """Through a child: analyze prints its own prefix."""
    mask = users_file(tmp_path / "mask.png")
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "analyze", str(PHOTO), "--mask", str(mask)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    line = one_error_line(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert repr(str(mask)) in line and "--overwrite (-y)" in line, line
    assert mask.read_bytes() == USERS_VIDEO


def test_the_windows_recording_name_is_never_one_already_taken(tmp_path: Path) -> None:
    from pipelines.outputs.existing import free_name

    first = tmp_path / "camfx-20261206-130000.mp4"
    assert free_name(first) == first
    first.write_bytes(b"take one")
    assert free_name(first) == tmp_path / "camfx-20261206-130000-2.mp4"
    (tmp_path / "camfx-20261206-130000-2.mp4").write_bytes(b"take two")
    assert free_name(first).name == "camfx-20261206-130000-3.mp4"
    assert first.read_bytes() == b"take one"


def test_overwrite_that_fills_the_disk_keeps_the_old_take_and_the_new_part(
    small_disk: Path | None,  # noqa: F811  (the fixture imported above)
    capsys: Any,
) -> None:
    """The QA's meeting.mp4: the new take filled the disk; the old one was gone and the new
    one cut. Now the old one stays whole and what fitted of the new one is beside it."""
    if small_disk is None:
        pytest.skip("filling a disk needs a tmpfs mount (root)")
    take = users_file(small_disk / "meeting.mp4")
    args = ["run", "--source", "demo", "--output", str(take), "-y", "--frames", "300"]
    code = cli.main([*args, "--size", "320x240"])
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if "failed" in line]
    assert len(failed) == 1 and "Traceback" not in err, err
    line = failed[0]
    assert code == 1
    assert take.read_bytes() == USERS_VIDEO
    partial = small_disk / "meeting.partial.mp4"
    assert f"kept in {partial}; the earlier {take} is kept as it was" in line, line
    assert 0 < frames_in(partial) < 300


def test_overwrite_through_a_link_replaces_the_file_it_points_to(
    tmp_path: Path, capsys: Any
) -> None:
    """The link stays a link (the user made it); the file behind it is replaced whole."""
    (tmp_path / "takes").mkdir()
    real = users_file(tmp_path / "takes" / "real.mp4")
    link = tmp_path / "latest.mp4"
    link.symlink_to(real)
    args = ["run", "--source", "demo", "--output", str(link), "--frames", "3", *SMALL]
    assert cli.main(args) == 2
    assert "already exists" in one_error_line(capsys.readouterr().err)
    assert real.read_bytes() == USERS_VIDEO
    assert cli.main([*args, "-y"]) == 0, capsys.readouterr().err
    assert link.is_symlink() and frames_in(real) == 3
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.mp4"]


PICTURE_LIMIT_BYTES = 2048
"""Writes past 2 KiB fail (EFBIG, as on a full disk): the user's 16 KiB file is already larger,
the astronaut's avatar (328 KB) or person mask (23 KB) is not written whole."""


_picture_size_limit = file_size_limit(PICTURE_LIMIT_BYTES)  # fills during the picture


def _camfx_with_a_full_disk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=_picture_size_limit,
        timeout=180,
    )


@pytest.mark.parametrize("command", ["capture", "analyze"])
def test_a_picture_that_fills_the_disk_leaves_the_old_file_whole(
    tmp_path: Path, command: str
) -> None:
    """``cv2.imwrite`` cut the user's mine.png to what fitted, and the command said "use a .png
    or .jpg name". Now the picture is written beside it and moved over it once complete."""
    picture = users_file(tmp_path / "mine.png")
    if command == "capture":
        args = ["talking-head", "capture", "--source", str(PHOTO), "--output", str(picture)]
    else:
        args = ["analyze", str(PHOTO), "--mask", str(picture)]
    proc = _camfx_with_a_full_disk(*args, "-y")
    assert picture.is_file(), "the user's picture is gone"
    assert picture.read_bytes() == USERS_VIDEO, f"{picture.stat().st_size} bytes left"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.png"], "no temporary file left"
    line = one_error_line(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert repr(str(picture)) in line and "File too large" in line, line
    assert "the file already there is kept as it was" in line, line


def test_a_picture_replaces_the_file_behind_a_link_whole(tmp_path: Path) -> None:
    """The link the user made stays a link; a new picture is readable by others as
    ``cv2.imwrite``'s was (0o666 less the umask, not a settings file's 0o600)."""
    import cv2
    import numpy as np

    from pipelines.outputs.picture import write_picture

    (tmp_path / "pictures").mkdir()
    real = users_file(tmp_path / "pictures" / "real.png")
    link = tmp_path / "latest.png"
    link.symlink_to(real)
    image = np.arange(48 * 64, dtype=np.uint8).reshape(48, 64)
    write_picture(link, image)
    assert link.is_symlink()
    assert np.array_equal(cv2.imread(str(real), cv2.IMREAD_UNCHANGED), image)
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.png"]
    umask = os.umask(0)
    os.umask(umask)
    fresh = write_picture(tmp_path / "fresh.png", image)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    ("name", "said"),
    [("mask.txt", ".txt is not a picture type"), ("nofolder/mask.png", "does not exist")],
)
def test_a_picture_name_that_cannot_be_written_is_one_line(
    tmp_path: Path, name: str, said: str
) -> None:
    import numpy as np

    from pipelines.errors import OutputError
    from pipelines.outputs.picture import write_picture

    with pytest.raises(OutputError, match=re.escape(said)):
        write_picture(tmp_path / name, np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_a_file_with_the_longest_name_can_be_replaced(tmp_path: Path) -> None:
    """qa64: a 255-byte output name worked the first time; replacing it under -y failed,
    naming ``….partial.mp4`` (too long) and advising another folder. The file written beside
    it until complete takes a name its file system takes."""
    import numpy as np

    from pipelines.frame import Frame
    from pipelines.outputs.existing import ExistingFile
    from pipelines.outputs.recorder import VideoFileOutput, probe_video

    video = tmp_path / ("y" * 251 + ".mp4")
    for frames, existing in ((3, ExistingFile.REFUSE), (5, ExistingFile.REPLACE)):
        out = VideoFileOutput(str(video), existing=existing)
        out.open(64, 48, 30.0)
        for i in range(frames):
            out.write(Frame.new(np.full((48, 64, 3), 9 * i, np.uint8), i / 30.0, i))
        out.close()
        assert out.failure is None, out.failure
    assert probe_video(str(video))[0] == 5
    assert [p.name for p in tmp_path.iterdir()] == [video.name]
