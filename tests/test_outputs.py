"""Outputs: video file, null, preview callback, and the virtual camera through pyvirtualcam's
real v4l2loopback backend on the fake v4l2 device (../shared/tools/fake-v4l2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelines.engine import Engine
from pipelines.errors import OutputError
from pipelines.frame import Frame
from pipelines.outputs import OUTPUTS, make_output, parse_output_spec
from pipelines.outputs.basic import NullOutput, PreviewOutput
from pipelines.outputs.recorder import VideoFileOutput
from pipelines.outputs.virtualcam import V4L2_MODPROBE, VirtualCameraOutput, setup_hint
from pipelines.sources import SourceConfig, open_source

# Mean absolute difference (0-255) allowed between what was sent and what decodes back.
# H.264 (libx264 superfast, crf 21) through yuv420p on the demo at 320x240: 3.2-3.6, most of it the
# 2x2 chroma subsampling.
MP4_MAD = 6.0
# BGR → I420 (pyvirtualcam) → BGR (OpenCV): chroma is subsampled 2×2, and the two sides may
# round differently; on the demo portrait this is ~1-2.
I420_MAD = 4.0
# Per Y/U/V plane, comparing pyvirtualcam's I420 with OpenCV's own BGR→I420.
I420_PLANE_MAD = 3.0

SUBPROCESS_TIMEOUT_S = 120
FAKE_DEVICE = "/dev/video7"


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def frame_of(image: np.ndarray, index: int = 0, fps: float = 30.0) -> Frame:
    return Frame.new(image, index / fps, index)  # as if captured at ``fps``


def demo_frames(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    """What the demo source renders for frames 0..n-1 (it is deterministic by index)."""
    cfg = SourceConfig(width=size[0], height=size[1], fps=30.0, paced=False)
    with open_source("demo", cfg) as src:
        return [src.read().image for _ in range(n)]  # type: ignore[union-attr]


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames, fps


# ----------------------------------------------------------------------------- specs
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("virtualcam", ("virtualcam", "")),
        ("virtualcam:/dev/video3", ("virtualcam", "/dev/video3")),
        ("null", ("null", "")),
        ("preview", ("preview", "")),
        ("out.mp4", ("file", "out.mp4")),
        ("/tmp/a b/OUT.MKV", ("file", "/tmp/a b/OUT.MKV")),
        ("file:clip.avi", ("file", "clip.avi")),
        ("C:\\videos\\x.mp4", ("file", "C:\\videos\\x.mp4")),
    ],
)
def test_output_specs(spec: str, expected: tuple[str, str]) -> None:
    assert parse_output_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("screen", "unknown output 'screen'; use one of .*null.*or a .mp4 path"),
        ("out.gif", r"unsupported file type '\.gif'; use a \.mp4 file"),
    ],
)
def test_bad_output_specs(spec: str, match: str) -> None:
    with pytest.raises(OutputError, match=match):
        make_output(spec)


def test_every_output_is_registered() -> None:
    assert {"virtualcam", "file", "null", "preview"} <= set(OUTPUTS.names())


# ----------------------------------------------------------------------------- file
def test_file_output_writes_a_playable_mp4(tmp_path: Path) -> None:
    size, n, fps = (320, 240), 24, 24.0
    sent = demo_frames(n, size)
    path = tmp_path / "out.mp4"
    with VideoFileOutput(str(path)) as out:
        out.open(*size, fps)
        assert out.is_open
        for i, image in enumerate(sent):
            out.write(frame_of(image, i, fps))
    assert not out.is_open
    out.close()  # idempotent
    assert out.frames_written == n
    got, got_fps = read_video(path)
    assert len(got) == n
    assert got[0].shape == (240, 320, 3)
    assert got_fps == pytest.approx(fps, abs=0.01)
    errors = [mad(a, b) for a, b in zip(sent, got, strict=True)]
    assert max(errors) < MP4_MAD, errors
    # Frames are in order: each decoded frame is closest to the one sent at its place.
    assert mad(got[5], sent[5]) < mad(got[5], sent[20])


def test_file_output_scales_frames_of_another_size(tmp_path: Path) -> None:
    path = tmp_path / "scaled.mp4"
    out = VideoFileOutput(str(path))
    out.open(160, 120, 30)
    out.write(frame_of(np.full((240, 320, 3), 200, np.uint8)))
    out.close()
    got, _ = read_video(path)
    assert len(got) == 1 and got[0].shape == (120, 160, 3)
    assert abs(float(got[0].mean()) - 200) < MP4_MAD


def test_file_output_through_the_engine_gets_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "engine.mp4"
    cfg = SourceConfig(width=320, height=240, fps=30.0, paced=False)
    source = open_source("demo", cfg)
    out = make_output(str(path))
    engine = Engine(source, [], [out], lossless=True, max_frames=30)
    with engine:
        assert engine.wait(60)
    source.close()
    got, _ = read_video(path)
    assert len(got) == 30
    assert max(mad(a, b) for a, b in zip(demo_frames(30, (320, 240)), got, strict=True)) < MP4_MAD


@pytest.mark.parametrize(
    ("make_path", "match"),
    [
        (lambda t: t / "missing" / "x.mp4", r"folder '.*missing' does not exist; create it first"),
        (lambda t: t / "afile.txt" / "x.mp4", r"afile\.txt' is a file, not a folder"),
        (lambda t: t, "is a folder; give a file name"),
    ],
)
def test_file_output_bad_paths(tmp_path: Path, make_path, match: str) -> None:
    (tmp_path / "afile.txt").write_text("x")
    out = VideoFileOutput(str(make_path(tmp_path)))
    with pytest.raises(OutputError, match=match):
        out.open(64, 48, 30)
    out.close()


def test_file_output_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        probe = folder / "probe"
        try:
            probe.write_bytes(b"")
        except OSError:
            pass
        else:  # root ignores permissions
            pytest.skip("running as root: a read-only folder is still writable")
        out = VideoFileOutput(str(folder / "x.mp4"))
        with pytest.raises(OutputError, match=r"cannot be written .*choose a folder you can write"):
            out.open(64, 48, 30)
    finally:
        folder.chmod(0o700)


def test_file_output_needs_a_path_and_an_open() -> None:
    with pytest.raises(OutputError, match="needs a path"):
        VideoFileOutput("").open(64, 48, 30)
    with pytest.raises(OutputError, match="before open"):
        VideoFileOutput("x.mp4").write(frame_of(np.zeros((48, 64, 3), np.uint8)))


# ----------------------------------------------------------------------------- null, preview
def test_null_output_counts_and_discards() -> None:
    out = make_output("null")
    assert isinstance(out, NullOutput)
    with out:
        out.open(64, 48, 30)
        for i in range(5):
            out.write(frame_of(np.zeros((48, 64, 3), np.uint8), i))
    assert out.frames_written == 5 and not out.is_open
    assert out.description == "null"


def test_preview_output_hands_frames_to_the_callback() -> None:
    seen: list[int] = []
    out = make_output("preview", callback=lambda f: seen.append(f.index))
    assert isinstance(out, PreviewOutput)
    out.open(64, 48, 30)
    for i in range(3):
        out.write(frame_of(np.zeros((48, 64, 3), np.uint8), i))
    out.close()
    out.close()
    assert seen == [0, 1, 2] and out.frames_written == 3
    # No callback: frames are dropped quietly (a GUI not showing the preview).
    PreviewOutput().write(frame_of(np.zeros((48, 64, 3), np.uint8)))


def test_preview_through_the_engine_sees_processed_frames_in_order() -> None:
    seen: list[Frame] = []
    source = open_source("demo", SourceConfig(width=64, height=48, paced=False))
    engine = Engine(source, [], [PreviewOutput(callback=seen.append)], lossless=True, max_frames=8)
    with engine:
        assert engine.wait(30)
    assert [f.index for f in seen] == list(range(8))


# ----------------------------------------------------------------------------- virtual camera
def test_no_virtual_camera_backend_says_what_to_install() -> None:
    out = VirtualCameraOutput("/dev/video63")
    try:
        with pytest.raises(OutputError) as info:
            out.open(64, 48, 30)
    finally:
        out.close()
    message = str(info.value)
    assert "virtual camera '/dev/video63' is not available" in message
    if sys.platform.startswith("linux"):
        assert V4L2_MODPROBE in message
        assert "v4l2loopback-dkms" in message
    else:
        assert "OBS" in message
    assert "\n" not in message  # one line for the CLI


def test_unknown_virtual_camera_backend_is_named() -> None:
    out = VirtualCameraOutput(backend="nosuch")
    with pytest.raises(OutputError, match="backend 'nosuch' does not exist here; use one of"):
        out.open(64, 48, 30)


def test_setup_hints_per_os() -> None:
    assert V4L2_MODPROBE in setup_hint("linux")
    assert "OBS Virtual Camera" in setup_hint("win32")
    # Windows users can do without OBS: Unity Capture, found by `camfx setup virtual-camera`.
    assert "Unity" in setup_hint("win32") and "Install.bat" in setup_hint("win32")
    assert "camfx setup virtual-camera" in setup_hint("win32")
    assert "OBS Studio" in setup_hint("darwin") and "System Settings" in setup_hint("darwin")


@pytest.fixture(scope="session")
def fake_v4l2(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """Build ../shared/tools/fake-v4l2/shim.c; skip (saying why) where that cannot work."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the fake v4l2 device is an LD_PRELOAD shim for Linux")
    source = repo_root.parent / "shared" / "tools" / "fake-v4l2" / "shim.c"
    if not source.is_file():
        pytest.skip(f"fake v4l2 shim not found at {source} (shared/ must sit beside the repo)")
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        pytest.skip("no C compiler (cc/gcc) to build the fake v4l2 shim: apt install gcc")
    shim = tmp_path_factory.mktemp("fake-v4l2") / "shim.so"
    build = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(shim), str(source), "-ldl"],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    if build.returncode != 0:
        if "videodev2.h" in build.stderr:
            pytest.skip("linux/videodev2.h is missing: apt install linux-libc-dev")
        pytest.fail(f"building the fake v4l2 shim failed:\n{build.stderr}")
    return shim


def fake_env(shim: Path, out: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LD_PRELOAD"] = str(shim)
    env["FAKECAM_OUT"] = str(out)
    return env


def read_i420(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    """Raw I420 frames → (H*3/2)×W uint8 arrays, as cv2.COLOR_YUV2BGR_I420 takes them."""
    w, h = size
    per_frame = w * h * 3 // 2
    data = np.frombuffer(path.read_bytes(), np.uint8)
    assert data.size % per_frame == 0, f"{data.size} bytes is not a whole number of frames"
    return [f.reshape(h * 3 // 2, w) for f in data.reshape(-1, per_frame)]


def compare_i420(sent: list[np.ndarray], got: list[np.ndarray], size: tuple[int, int]) -> None:
    h = size[1]
    assert len(got) == len(sent)
    for i, (bgr, yuv) in enumerate(zip(sent, got, strict=True)):
        decoded = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
        assert mad(decoded, bgr) < I420_MAD, f"frame {i}: {mad(decoded, bgr):.2f}"
        expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        y, uv = slice(0, h), slice(h, h * 3 // 2)
        assert mad(yuv[y], expected[y]) < I420_PLANE_MAD, f"frame {i} Y plane"
        assert mad(yuv[uv], expected[uv]) < I420_PLANE_MAD, f"frame {i} U/V planes"
    # Frames are in order and distinct: each decodes closest to its own sent frame.
    if len(sent) > 2:
        last = cv2.cvtColor(got[-1], cv2.COLOR_YUV2BGR_I420)
        assert mad(last, sent[-1]) < mad(last, sent[0])


def test_camfx_run_to_the_fake_v4l2_device_decodes_to_what_was_sent(
    fake_v4l2: Path, tmp_path: Path, python_exe: str
) -> None:
    size, n = (320, 240), 12
    raw = tmp_path / "frames.i420"
    result = subprocess.run(
        [
            python_exe,
            "-m",
            "app.cli",
            "run",
            "--source",
            "demo",
            "--output",
            f"virtualcam:{FAKE_DEVICE}",
            "--frames",
            str(n),
            "--size",
            f"{size[0]}x{size[1]}",
            "--fps",
            "60",
        ],
        env=fake_env(fake_v4l2, raw),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    assert "[shim] S_FMT 320x240 fourcc YU12" in result.stderr
    assert f"virtual camera {FAKE_DEVICE} (v4l2loopback)" in result.stderr
    got = read_i420(raw, size)
    assert len(got) == n  # a demo source is not live: every frame reaches the device
    cfg = SourceConfig(width=size[0], height=size[1], fps=60.0, paced=False)
    with open_source("demo", cfg) as src:
        sent = [src.read().image for _ in range(n)]  # type: ignore[union-attr]
    compare_i420(sent, got, size)


def test_virtual_camera_output_sends_exact_frames_to_the_fake_device(
    fake_v4l2: Path, tmp_path: Path, python_exe: str
) -> None:
    """Patterned frames (gradients, colour patches, a frame of another size that is scaled)
    through VirtualCameraOutput, decoded back from the device's I420 stream."""
    raw = tmp_path / "frames.i420"
    sent_file = tmp_path / "sent.npy"
    script = textwrap.dedent(
        f"""
        import numpy as np, cv2
        from pipelines.frame import Frame
        from pipelines.outputs import make_output
        w, h = 160, 120
        yy, xx = np.mgrid[0:h, 0:w]
        frames = []
        for i in range(6):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = (xx * 255 // (w - 1) + 40 * i) % 256
            img[..., 1] = yy * 255 // (h - 1)
            img[..., 2] = 128
            img[20:60, 30:90] = (30 * i, 200, 255 - 30 * i)
            frames.append(img)
        big = cv2.resize(frames[-1], (320, 240), interpolation=cv2.INTER_NEAREST)
        with make_output("virtualcam:{FAKE_DEVICE}") as out:
            out.open(w, h, 30)
            assert out.is_open
            for i, img in enumerate(frames):
                out.write(Frame.new(img, float(i), i))
            out.write(Frame.new(big, 6.0, 6))
            assert out.frames_written == 7
        assert not out.is_open
        out.close()
        np.save({str(sent_file)!r}, np.stack(frames + [cv2.resize(big, (w, h))]))
        """
    )
    result = subprocess.run(
        [python_exe, "-c", script],
        env=fake_env(fake_v4l2, raw),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    sent = list(np.load(sent_file))
    compare_i420(sent, read_i420(raw, (160, 120)), (160, 120))


def test_virtual_camera_close_is_idempotent_without_a_device() -> None:
    out = VirtualCameraOutput()
    out.close()
    out.close()
    assert out.description == "virtual camera"
    with pytest.raises(OutputError, match="before open"):
        out.write(frame_of(np.zeros((48, 64, 3), np.uint8)))
