"""Sources: demo, still image, video file and camera (through the recorded backend)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelines.errors import SourceError
from pipelines.frame import Frame
from pipelines.sources import SOURCES, Source, SourceConfig, open_source, parse_source_spec
from pipelines.sources.camera import CameraSource, RecordedBackend
from pipelines.sources.demo import DemoSource
from pipelines.sources.files import VideoSource, fit_to, to_bgr

SMALL = SourceConfig(width=160, height=120, fps=30.0, paced=False)
# Mean absolute difference (0-255) above which two frames count as "different pictures".
MOTION_MAD = 1.0
# Re-encoding through MPEG-4 blurs flat colours a little.
CODEC_MAD = 6.0


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def read_n(source: Source, n: int) -> list[Frame]:
    frames: list[Frame] = []
    while len(frames) < n:
        frame = source.read()
        if frame is not None:
            frames.append(frame)
    return frames


def assert_bgr(frame: Frame, size: tuple[int, int]) -> None:
    w, h = size
    assert frame.image.shape == (h, w, 3)
    assert frame.image.dtype == np.uint8
    assert frame.image.flags["C_CONTIGUOUS"]
    assert frame.size == size


def assert_monotonic(frames: list[Frame]) -> None:
    ts = [f.timestamp for f in frames]
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert [f.index for f in frames] == list(range(frames[0].index, frames[0].index + len(frames)))


# ----------------------------------------------------------------------------- specs
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("demo", ("demo", "")),
        ("demo:0", ("demo", "0")),
        ("camera", ("camera", "")),
        ("camera:2", ("camera", "2")),
        ("camera:Logitech C920", ("camera", "Logitech C920")),
        ("clip.MP4", ("video", "clip.MP4")),
        ("animated.gif", ("video", "animated.gif")),
        ("video:/x/y.bin", ("video", "/x/y.bin")),
        ("face.jpg", ("image", "face.jpg")),
        ("image:/a/b.png", ("image", "/a/b.png")),
    ],
)
def test_source_specs(spec: str, expected: tuple[str, str]) -> None:
    assert parse_source_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("webcam", "unknown source 'webcam'; use one of"),
        ("movie.xcf", "unsupported file type '.xcf'"),
    ],
)
def test_bad_source_specs(spec: str, match: str) -> None:
    with pytest.raises(SourceError, match=match):
        parse_source_spec(spec)


def test_a_folder_or_a_file_without_a_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a folder"):
        parse_source_spec(str(tmp_path))
    odd = tmp_path / "README"
    odd.write_text("hi")
    with pytest.raises(SourceError, match="unsupported file type"):
        parse_source_spec(str(odd))


def test_every_source_is_registered() -> None:
    assert {"demo", "image", "video", "camera"} <= set(SOURCES.names())


# ----------------------------------------------------------------------------- demo
def test_demo_has_the_requested_size_and_moves() -> None:
    with open_source("demo", SMALL) as src:
        assert src.actual_size == (160, 120)
        frames = read_n(src, 31)
    for f in frames:
        assert_bgr(f, (160, 120))
    assert_monotonic(frames)
    # It moves: a second apart the picture differs, yet it is a picture (not noise or black).
    assert mad(frames[0].image, frames[30].image) > MOTION_MAD
    assert frames[0].image.std() > 20


def test_demo_is_deterministic_by_frame_index() -> None:
    a = open_source("demo", SMALL)
    b = open_source("demo", SMALL)
    fa = read_n(a, 12)
    fb = read_n(b, 12)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(fa, fb, strict=True))
    # The picture depends on the index alone: a transform for index 11 matches frame 11.
    assert isinstance(a, DemoSource) and isinstance(b, DemoSource)
    assert np.allclose(a.transform(11), b.transform(11))


def test_demo_zero_motion_is_still() -> None:
    src = open_source("demo:0", SMALL)
    frames = read_n(src, 20)
    assert np.array_equal(frames[0].image, frames[-1].image)


@pytest.mark.parametrize("arg", ["abc", "-1", "nan"])
def test_demo_bad_argument_is_a_clear_error(arg: str) -> None:
    with pytest.raises(SourceError, match=f"source 'demo:{arg}': the motion scale"):
        open_source(f"demo:{arg}", SMALL)


def test_demo_is_paced_at_the_requested_fps() -> None:
    fps = 50.0
    src = open_source("demo", SourceConfig(width=64, height=48, fps=fps, paced=True))
    n = 16
    read_n(src, 1)  # the clock starts at the first frame
    t0 = time.monotonic()
    read_n(src, n)
    elapsed = time.monotonic() - t0
    expected = n / fps
    # Never early; late only by scheduling noise on a busy machine.
    assert expected * 0.9 <= elapsed <= expected + 0.25, elapsed


def test_demo_renders_at_hd_size() -> None:
    src = open_source("demo", SourceConfig(width=1280, height=720, paced=False))
    (frame,) = read_n(src, 1)
    assert_bgr(frame, (1280, 720))


# ----------------------------------------------------------------------------- images
def test_to_bgr_handles_gray_alpha_16_bit_and_float() -> None:
    gray = np.full((4, 6), 77, np.uint8)
    assert to_bgr(gray).shape == (4, 6, 3) and (to_bgr(gray) == 77).all()
    assert to_bgr(gray[:, :, None]).shape == (4, 6, 3)
    bgra = np.zeros((4, 6, 4), np.uint8)
    bgra[..., 0], bgra[..., 3] = 200, 255
    assert to_bgr(bgra).shape == (4, 6, 3) and (to_bgr(bgra)[..., 0] == 200).all()
    deep = np.full((4, 6, 3), 0xABCD, np.uint16)
    assert to_bgr(deep).dtype == np.uint8 and (to_bgr(deep) == 0xAB).all()
    flt = np.full((4, 6, 3), 0.5, np.float32)
    assert (to_bgr(flt) == 128).all()
    with pytest.raises(ValueError, match="unsupported"):
        to_bgr(np.zeros((4, 6, 2), np.uint8))


def test_fit_to_fills_and_centre_crops() -> None:
    wide = np.zeros((100, 400, 3), np.uint8)
    wide[:, 150:250] = 255  # a white band in the middle
    out = fit_to(wide, 100, 100)
    assert out.shape == (100, 100, 3) and out.flags["C_CONTIGUOUS"]
    assert out.mean() > 250  # the centre is what is kept
    same = np.zeros((10, 20, 3), np.uint8)
    assert fit_to(same, 20, 10) is same


@pytest.mark.parametrize(
    ("name", "image"),
    [
        ("gray.png", np.full((60, 80), 90, np.uint8)),
        (
            "alpha.png",
            np.dstack([np.full((60, 80, 3), 90, np.uint8), np.full((60, 80), 255, np.uint8)]),
        ),
        ("deep.png", np.full((60, 80, 3), 90 * 257, np.uint16)),
        ("plain.jpg", np.full((60, 80, 3), 90, np.uint8)),
    ],
)
def test_image_source_reads_any_common_image(tmp_path: Path, name: str, image: np.ndarray) -> None:
    path = tmp_path / name
    assert cv2.imwrite(str(path), image)
    with open_source(str(path), SMALL) as src:
        frames = read_n(src, 3)
    for f in frames:
        assert_bgr(f, (160, 120))
        assert abs(float(f.image.mean()) - 90) < 3
    assert_monotonic(frames)
    # Each frame is its own copy: a stage drawing into one does not change the next.
    frames[0].image[:] = 0
    assert frames[1].image.mean() > 80


def test_image_source_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(
        SourceError, match=r"image file '.*nope\.png' does not exist; check the path"
    ):
        open_source(str(missing), SMALL)


def test_image_source_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(
        SourceError,
        match=r"image file '.*bad\.png' cannot be used: it is a damaged or incomplete PNG file",
    ):
        open_source(str(bad), SMALL)


def test_image_spec_without_a_path() -> None:
    with pytest.raises(SourceError, match="needs a file path"):
        open_source("image:", SMALL)


# ----------------------------------------------------------------------------- video
def write_video(path: Path, n: int, size=(96, 64), fps: float = 25.0) -> list[np.ndarray]:
    """Frames of flat grey levels 20, 40, ... so each decodes to a known value."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    frames = [np.full((h, w, 3), 20 * (i + 1), np.uint8) for i in range(n)]
    for f in frames:
        writer.write(f)
    writer.release()
    return frames


@pytest.fixture
def clip(tmp_path: Path) -> tuple[Path, list[np.ndarray]]:
    path = tmp_path / "clip.mp4"
    return path, write_video(path, 5)


def test_video_plays_every_frame_then_ends_without_loop(clip) -> None:
    path, sent = clip
    cfg = SourceConfig(width=96, height=64, paced=False, loop=False)
    src = open_source(str(path), cfg)
    assert isinstance(src, VideoSource)
    assert src.actual_fps == 25.0  # the file's rate, not the config's
    assert src.native_size == (96, 64)
    frames = read_n(src, 5)
    with pytest.raises(EOFError):
        src.read()
    for f, expected in zip(frames, sent, strict=True):
        assert_bgr(f, (96, 64))
        assert mad(f.image, expected) < CODEC_MAD
    assert_monotonic(frames)
    src.close()
    src.close()  # idempotent


def test_video_loops_and_is_scaled_to_the_requested_size(clip) -> None:
    path, _ = clip
    cfg = SourceConfig(width=48, height=32, paced=False, loop=True)
    with open_source(f"video:{path}", cfg) as src:
        frames = read_n(src, 12)
        assert isinstance(src, VideoSource) and src.loops == 2
    for f in frames:
        assert_bgr(f, (48, 32))
    levels = [round(float(f.image.mean()) / 20) for f in frames]
    assert levels == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]
    assert_monotonic(frames)


def test_video_is_paced_at_its_own_rate(tmp_path: Path) -> None:
    path = tmp_path / "fast.mp4"
    write_video(path, 10, fps=50.0)
    src = open_source(str(path), SourceConfig(width=96, height=64, fps=10.0, paced=True))
    read_n(src, 1)
    t0 = time.monotonic()
    read_n(src, 8)
    elapsed = time.monotonic() - t0
    assert 8 / 50.0 * 0.9 <= elapsed < 8 / 10.0 * 0.9  # 50 fps, not the config's 10


def test_video_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(SourceError, match=r"video file '.*broken\.mp4' could not be decoded"):
        open_source(str(bad), SMALL)


def test_video_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_source(str(tmp_path / "gone.mkv"), SMALL)


# ----------------------------------------------------------------------------- camera
def recorded_frames(n: int = 4, size=(64, 48)) -> list[np.ndarray]:
    w, h = size
    return [np.full((h, w, 3), 30 * (i + 1), np.uint8) for i in range(n)]


def camera(backend: RecordedBackend, arg: str = "", size=(160, 120)) -> CameraSource:
    cfg = SourceConfig(width=size[0], height=size[1], fps=30.0)
    src = CameraSource(arg, cfg, backend=backend)
    src.reconnect_interval = 0.02
    src.open()
    return src


def test_camera_reports_what_the_device_really_gave() -> None:
    backend = RecordedBackend(recorded_frames(), fps=0, native_size=(64, 48))
    src = camera(backend)
    try:
        assert src.state == "open"
        assert src.device_size == (64, 48)  # asked 160x120, the device has 64x48 only
        assert src.actual_size == (160, 120)  # frames are scaled to what was asked
        assert "device gives 64x48" in src.description
        frames = read_n(src, 4)
        for f, expected in zip(frames, [30, 60, 90, 120], strict=True):
            assert_bgr(f, (160, 120))
            assert int(f.image.mean()) == expected
        assert_monotonic(frames)
    finally:
        src.close()
        src.close()  # idempotent
    assert src.state == "closed"


def test_camera_frames_are_new_arrays_even_at_the_recorded_size() -> None:
    # Stages may write into the frames they get: a frame must never be the recording itself.
    recorded = recorded_frames(2, size=(160, 120))
    src = camera(RecordedBackend(recorded, fps=0))
    try:
        frames = read_n(src, 4)
        for f in frames:
            f.image[:] = 0
        assert [int(r.mean()) for r in recorded] == [30, 60]
    finally:
        src.close()


def test_camera_fps_is_the_device_rate() -> None:
    backend = RecordedBackend(recorded_frames(), fps=50.0)
    src = camera(backend)
    assert src.actual_fps == 50.0 and src.device_fps == 50.0
    read_n(src, 1)
    t0 = time.monotonic()
    read_n(src, 8)
    elapsed = time.monotonic() - t0
    assert 8 / 50.0 * 0.9 <= elapsed <= 8 / 50.0 + 0.25
    src.close()


def test_camera_unplug_loses_it_and_replug_reconnects() -> None:
    backend = RecordedBackend(recorded_frames(), fps=0)
    src = camera(backend)
    read_n(src, 3)
    backend.unplugged = True
    # A few failed reads, then "lost"; no frames meanwhile.
    got = [src.read() for _ in range(10)]
    assert got == [None] * 10
    assert src.state == "lost"
    reads_while_lost = backend.reads
    time.sleep(0.05)
    assert src.read() is None and backend.reads == reads_while_lost
    assert src.reconnects == 0
    backend.unplugged = False
    deadline = time.monotonic() + 5
    frame = None
    while frame is None and time.monotonic() < deadline:
        frame = src.read()
    assert frame is not None and src.state == "open"
    assert src.reconnects == 1
    assert backend.opens == 2
    assert_bgr(frame, (160, 120))
    src.close()


def test_camera_unplug_through_the_engine_keeps_the_stream_alive() -> None:
    from pipelines.engine import Engine
    from pipelines.outputs.basic import PreviewOutput

    backend = RecordedBackend(recorded_frames(), fps=100.0)
    src = camera(backend)
    got: list[Frame] = []
    engine = Engine(src, [], [PreviewOutput(callback=got.append)], lossless=False)
    with engine:
        time.sleep(0.2)
        backend.unplugged = True
        time.sleep(0.15)
        n_lost = len(got)
        assert src.state == "lost"
        time.sleep(0.1)
        assert len(got) <= n_lost + 1  # frames stopped
        backend.unplugged = False
        deadline = time.monotonic() + 5
        while len(got) < n_lost + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    src.close()
    assert len(got) >= n_lost + 5
    assert src.reconnects == 1
    assert engine.stop_reason == "stopped"
    timestamps = [f.timestamp for f in got]
    assert all(b > a for a, b in itertools.pairwise(timestamps))


def test_camera_unplugged_at_start_is_a_clear_error() -> None:
    backend = RecordedBackend(recorded_frames())
    backend.unplugged = True
    with pytest.raises(SourceError, match="camera '0' is not connected; plug it in"):
        camera(backend)


def test_camera_by_name() -> None:
    backend = RecordedBackend(recorded_frames(), fps=0, name="Integrated Webcam")
    src = camera(backend, arg="integrated")
    assert src.state == "open"
    src.close()
    with pytest.raises(
        SourceError, match=r"no camera named 'Logitech' \(cameras found: Integrated"
    ):
        camera(backend, arg="Logitech")


def test_camera_unknown_name_with_the_opencv_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.sources import camera as camera_module

    monkeypatch.setattr(
        camera_module,
        "list_cameras",
        lambda: [camera_module.CameraInfo("0", "HD Webcam", "/dev/video0")],
    )
    with pytest.raises(
        SourceError, match=r"no camera named 'Logitech' \(cameras found: HD Webcam\)"
    ):
        open_source("camera:Logitech", SMALL)
    monkeypatch.setattr(camera_module, "list_cameras", lambda: [])
    with pytest.raises(SourceError, match="no camera is connected"):
        open_source("camera:Logitech", SMALL)


def test_missing_camera_index_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.sources import camera as camera_module

    monkeypatch.setattr(camera_module, "list_cameras", lambda: [])
    with pytest.raises(SourceError, match=r"camera '57'.*(no camera found|could not be opened)"):
        open_source("camera:57", SMALL)


def test_recorded_backend_replays_a_file(clip) -> None:
    path, _ = clip
    backend = RecordedBackend(path=str(path), fps=0)
    assert len(backend.frames) == 5
    src = camera(backend, size=(96, 64))
    levels = [round(float(f.image.mean()) / 20) for f in read_n(src, 6)]
    assert levels == [1, 2, 3, 4, 5, 1]
    src.close()


def test_closed_camera_refuses_to_read() -> None:
    src = camera(RecordedBackend(recorded_frames(), fps=0))
    src.close()
    with pytest.raises(SourceError, match="closed"):
        src.read()


def test_demo_source_class_is_the_registered_one() -> None:
    assert SOURCES.get("demo") is DemoSource
