"""Video and picture files as users bring them (QA qa6): a phone's portrait video keeps the
face as the same frame as a photo does, a video still being written plays what is there, a
file source keeps real time for a live output, one list of file types for every reader, and
a variable frame rate keeps its timestamps."""

from __future__ import annotations

import io
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipelines.sources import SourceConfig, Timing, open_source
from pipelines.sources.files import ImageSource, VideoSource

FACES = Path(__file__).parent / "data" / "faces"


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 30,
    pts_ms: list[int] | None = None,
) -> Path:
    """H.264 in yuv420p through PyAV (``pts_ms``: each frame's time, for a variable rate)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def phone_portrait(width: int = 360, height: int = 640) -> np.ndarray:
    """The astronaut across a phone's portrait frame, high in it as a selfie holds a face
    (QA's recipe at a third of the size: hair at 8 %, eyes at 17 %, chin at 33 %)."""
    face = cv2.imread(str(FACES / "astronaut.jpg"))
    scaled = cv2.resize(face, (width, round(face.shape[0] * width / face.shape[1])))
    frame = np.full((height, width, 3), (60, 90, 120), np.uint8)
    top = round(height * 100 / 1920)
    frame[top : top + scaled.shape[0]] = scaled[: height - top]
    return frame


# --------------------------------------------------------------------- F2 portrait crop
def test_a_portrait_video_is_cropped_to_its_face_as_the_same_frame_as_a_photo(
    tmp_path: Path,
) -> None:
    portrait = phone_portrait()
    video = write_video(tmp_path / "phone.mp4", [portrait] * 6)
    still = tmp_path / "phone_frame0.png"
    cv2.imwrite(str(still), portrait)
    config = SourceConfig(width=320, height=180, paced=False, loop=False)
    with open_source(str(still), config) as picture, open_source(str(video), config) as clip:
        assert isinstance(picture, ImageSource) and isinstance(clip, VideoSource)
        wanted = picture.read()
        frames = [clip.read() for _ in range(6)]
    assert wanted is not None and all(f is not None for f in frames)
    # The photo's crop keeps the face from the hair down; the old fixed crop (rows 17-49 %)
    # cut it at the eyes: 75 grey levels apart from the photo's (mean), this 2-3 (the codec).
    for frame in frames:
        assert frame is not None
        assert float(np.abs(frame.image.astype(int) - wanted.image.astype(int)).mean()) < 6.0


def test_the_face_crop_is_found_once_and_held(tmp_path: Path, monkeypatch) -> None:
    from pipelines.sources import files

    calls: list[tuple[int, int]] = []
    found = files.face_keep_spans

    def counting(scaled: np.ndarray):
        calls.append(scaled.shape[:2])
        return found(scaled)

    monkeypatch.setattr(files, "face_keep_spans", counting)
    video = write_video(tmp_path / "phone.mp4", [phone_portrait()] * 4)
    config = SourceConfig(width=320, height=180, paced=False, loop=True)
    with open_source(str(video), config) as clip:
        assert isinstance(clip, VideoSource)
        frames = [clip.read() for _ in range(10)]  # plays twice through: reopened once
        assert clip.loops == 2 and clip.crop_keep is not None
    assert len(calls) == 1
    first = frames[0]
    assert first is not None
    for frame in frames[1:]:
        assert frame is not None
        assert float(np.abs(frame.image.astype(int) - first.image.astype(int)).mean()) < 3.0


# --------------------------------------------------------------------- F3 still written
def fragmented_mp4(frames: int = 90) -> tuple[bytes, list[int]]:
    """A recording as camfx writes it (fragmented MP4, a fragment a second here) and the byte
    offsets where each fragment (moof) starts."""
    from pipelines.outputs.recorder import MP4_FLAGS

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4", options={"movflags": MP4_FLAGS}) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "30"}
        for i in range(frames):
            image = np.full((48, 64, 3), 2 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode(None))
    data = buffer.getvalue()
    starts, at = [], 0
    while at < len(data):
        if data[at + 4 : at + 8] == b"moof":
            starts.append(at)
        at += int.from_bytes(data[at : at + 4], "big")
    return data, starts


@pytest.fixture
def growing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recording with one fragment written as OpenCV opens it, three when PyAV reads its
    stated length a moment later (QA's recipe: OpenCV opened at 4 s, PyAV read 6 s)."""
    from pipelines.sources import files

    data, starts = fragmented_mp4()
    path = tmp_path / "growing.mp4"
    path.write_bytes(data[: starts[1]])
    stated = files._stated_length

    def written_on(name: str):
        path.write_bytes(data)  # the writer's next fragments land between the two opens
        return stated(name)

    monkeypatch.setattr(files, "_stated_length", written_on)
    return path


@pytest.mark.parametrize("loop", [False, True])
def test_a_video_still_being_written_plays_what_is_there(
    growing: Path, loop: bool, caplog: pytest.LogCaptureFixture
) -> None:
    config = SourceConfig(width=64, height=48, paced=False, loop=loop)
    frames = 0
    with open_source(str(growing), config) as clip:
        assert isinstance(clip, VideoSource)
        while frames < 100:
            try:
                clip.read()  # main: SourceError "is damaged or cut short" at the end
            except EOFError:
                break
            frames += 1
        assert clip.written_while_read
        assert clip.loops == (1 if loop else 0)
    assert 28 <= frames <= 31 if not loop else frames == 100  # the first fragment, then all
    said = [r.getMessage() for r in caplog.records if "still being written" in r.getMessage()]
    assert len(said) == 1 and "growing.mp4" in said[0] and "damaged" not in said[0]


def test_a_cut_short_file_that_does_not_grow_is_still_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.errors import SourceError
    from pipelines.sources import files

    data, starts = fragmented_mp4()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: starts[1]])
    monkeypatch.setattr(files, "_stated_length", lambda name: (None, 3.0))
    config = SourceConfig(width=64, height=48, paced=False, loop=False)
    clip = open_source(str(path), config)
    with clip, pytest.raises(SourceError, match="damaged or cut short"):
        for _ in range(100):
            clip.read()


# --------------------------------------------------------------------- F12 real time
def numbered_clip(path: Path, frames: int, fps: int) -> Path:
    """Frames whose grey level is 8 × their number, to tell which ones were played."""
    images = [np.full((48, 64, 3), 8 * i, np.uint8) for i in range(frames)]
    return write_video(path, images, fps=fps)


def play_slowly(source, frames: int, work_s: float) -> list[int]:
    """Read ``frames`` frames taking ``work_s`` over each (a preset slower than the file):
    the number each frame shows."""
    shown = []
    for _ in range(frames):
        frame = source.read()
        shown.append(round(float(frame.image.mean()) / 8))
        time.sleep(work_s)
    return shown


def test_a_file_keeps_real_time_for_a_live_output_by_skipping_late_frames(
    tmp_path: Path,
) -> None:
    clip = numbered_clip(tmp_path / "fps25.mp4", 30, fps=25)
    config = SourceConfig(width=64, height=48, loop=False, timing=Timing.REAL_TIME)
    with open_source(str(clip), config) as source:
        t0 = time.monotonic()
        shown = play_slowly(source, 10, work_s=0.08)  # 12.5 fps of work on a 25 fps file
        elapsed = time.monotonic() - t0
        # main: frames 0-9 in 0.8 s, the file at 0.5x and "dropped 0".
        assert shown[-1] / 25 >= 0.8 * elapsed, (shown, elapsed)
        assert source.dropped == shown[-1] - 9 > 0
        assert shown == sorted(shown)
        assert len(set(np.diff(shown))) <= 3  # steps of 2-3 frames, no jump of a second


def test_a_recording_only_run_keeps_every_frame(tmp_path: Path) -> None:
    clip = numbered_clip(tmp_path / "fps25.mp4", 30, fps=25)
    config = SourceConfig(width=64, height=48, loop=False, timing=Timing.EVERY_FRAME)
    with open_source(str(clip), config) as source:
        assert play_slowly(source, 10, work_s=0.08) == list(range(10))
        assert source.dropped == 0


def test_skipped_frames_count_as_dropped_and_only_live_outputs_skip(tmp_path: Path) -> None:
    from pipelines.build import RunConfig, build_engine, source_timing
    from pipelines.outputs import make_output
    from pipelines.outputs.basic import PreviewOutput

    assert source_timing([PreviewOutput()]) is Timing.REAL_TIME
    assert source_timing([make_output("virtualcam")]) is Timing.REAL_TIME
    assert source_timing([make_output("null"), make_output(str(tmp_path / "o.mp4"))]) is (
        Timing.EVERY_FRAME
    )
    clip = numbered_clip(tmp_path / "fps25.mp4", 30, fps=25)
    slow = PreviewOutput(callback=lambda frame: time.sleep(0.08))
    run = build_engine(
        RunConfig(source=str(clip), outputs=(slow,), size=(64, 48), frames=8, loop=False)
    )
    try:
        run.wait(10)
    finally:
        run.close()
    snap = run.engine.snapshot()
    assert run.source.config.timing is Timing.REAL_TIME
    assert run.source.dropped > 0 and snap.dropped >= run.source.dropped


# --------------------------------------------------------------------- F7/F8 file types
def test_what_a_file_holds_picks_its_reader_whatever_its_name(tmp_path: Path) -> None:
    from pipelines.sources import parse_source_spec

    photo = cv2.imread(str(FACES / "astronaut.jpg"))
    jpeg_named_mp4 = tmp_path / "photo.mp4"
    jpeg_named_mp4.write_bytes(cv2.imencode(".jpg", photo)[1].tobytes())
    mp4_named_jpg = write_video(tmp_path / "clip.mp4", [photo] * 3).rename(tmp_path / "clip.jpg")
    # main: ("video", ...) for the JPEG, which got the video's crop; ("image", ...) for the
    # MP4, refused as "could not be decoded" though its header says ftyp.
    assert parse_source_spec(str(jpeg_named_mp4)) == ("image", str(jpeg_named_mp4))
    assert parse_source_spec(str(mp4_named_jpg)) == ("video", str(mp4_named_jpg))
    config = SourceConfig(width=160, height=90, paced=False, loop=False)
    with open_source(str(mp4_named_jpg), config) as clip:
        assert isinstance(clip, VideoSource) and clip.read() is not None
    # An explicit image:/video: is taken as given.
    assert parse_source_spec(f"video:{jpeg_named_mp4}") == ("video", str(jpeg_named_mp4))


def test_an_animated_gif_plays_as_a_video(tmp_path: Path) -> None:
    gif = tmp_path / "wave.gif"
    with av.open(str(gif), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb8"
        for level in (0, 120, 240):
            image = np.full((48, 64, 3), level, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    config = SourceConfig(width=64, height=48, paced=False, loop=False)
    with open_source(str(gif), config) as clip:  # main: "unsupported file type '.gif'"
        assert isinstance(clip, VideoSource)
        levels = [float(clip.read().image.mean()) for _ in range(3)]
    assert levels[0] < 60 < levels[1] < 180 < levels[2]


@pytest.mark.parametrize("name", ["IMG_0002.HEIC", "IMG_0002.jpg"])
def test_every_picture_reader_names_the_iphone_setting_for_a_heic(
    tmp_path: Path, name: str
) -> None:
    from pipelines.avatar.portrait import AvatarError
    from pipelines.avatar.portrait import read_image as read_portrait
    from pipelines.errors import SourceError
    from pipelines.tracking.analysis import ImageError
    from pipelines.tracking.analysis import read_image as read_for_analysis

    heic = tmp_path / name
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200))
    setting = "Settings > Camera > Formats > Most Compatible"
    # main: the portrait and analyze said only "could not be decoded"; a .jpg one also --source.
    for reader, error in (
        (lambda p: open_source(p, SourceConfig(width=64, height=48)), SourceError),
        (read_portrait, AvatarError),
        (read_for_analysis, ImageError),
    ):
        with pytest.raises(error) as caught:
            reader(str(heic))
        line = str(caught.value)
        assert "\n" not in line and name in line and setting in line, line


def test_a_video_named_as_a_picture_is_said_to_be_one(tmp_path: Path) -> None:
    from pipelines.tracking.analysis import ImageError
    from pipelines.tracking.analysis import read_image as read_for_analysis

    clip = write_video(tmp_path / "x.mp4", [phone_portrait(64, 96)] * 2).rename(tmp_path / "x.jpg")
    with pytest.raises(
        ImageError, match=r"x\.jpg cannot be analysed: it is a video \(MP4 or MOV\)"
    ):
        read_for_analysis(clip)


# --------------------------------------------------------------------- F11 variable rate
VFR_MS = [0, 17, 50, 100, 166, 183, 216, 266]
"""QA's vfr.mp4 gaps: 17, 33, 50 and 66 ms."""


@pytest.fixture
def vfr_clip(tmp_path: Path) -> Path:
    images = [np.full((48, 64, 3), 30 * i, np.uint8) for i in range(len(VFR_MS))]
    return write_video(tmp_path / "vfr.mp4", images, pts_ms=VFR_MS)


def test_a_variable_frame_rate_keeps_each_frames_time_on_the_media_clock(vfr_clip: Path) -> None:
    config = SourceConfig(width=64, height=48, paced=False, loop=True, media_time=True)
    with open_source(str(vfr_clip), config) as clip:
        stamps = [clip.read().timestamp for _ in range(len(VFR_MS) + 2)]
        fps = clip.pace_fps
    # main: index / fps, evenly spaced at the mean rate.
    assert np.allclose(np.array(stamps[: len(VFR_MS)]) * 1000, VFR_MS, atol=1.0), stamps
    # The second pass starts a frame (at the file's rate) after the first's last frame.
    second = (VFR_MS[-1] / 1000 + 1 / fps, VFR_MS[-1] / 1000 + 1 / fps + 0.017)
    assert np.allclose(stamps[len(VFR_MS) :], second, atol=1e-3), stamps


def test_a_variable_frame_rate_is_paced_by_each_frames_time(vfr_clip: Path) -> None:
    config = SourceConfig(width=64, height=48, paced=True, loop=False)
    with open_source(str(vfr_clip), config) as clip:
        stamps = [clip.read().timestamp for _ in range(len(VFR_MS))]
    gaps_ms = np.diff(stamps) * 1000
    # main: every gap the mean period (38 ms: the fifth frame 152 ms in, not 166). Each frame
    # is due at its own time after the first, never earlier; a loaded machine may delay one,
    # and the next, due on time, then follows it by less than its gap (CI 2026-12-06: 22.6
    # ms for 17, then 27.8 for 33), so the schedule is checked, not each gap.
    elapsed_ms = (np.array(stamps) - stamps[0]) * 1000
    assert np.all(elapsed_ms > np.array(VFR_MS) - 5), (elapsed_ms, VFR_MS)
    assert gaps_ms[0] < 30 and gaps_ms[3] > 55, gaps_ms  # 17 ms and 66 ms apart
