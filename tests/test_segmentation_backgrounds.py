"""Replacement backgrounds: images and videos, fit/fill, and every way a file can be bad."""

from __future__ import annotations

import logging
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelines.errors import CamfxError
from pipelines.frame import FrameContext
from pipelines.segmentation import backgrounds as B
from pipelines.segmentation.background import (
    CROSSFADE_S,
    BackgroundReplace,
    BackgroundReplaceSettings,
    parse_color,
)

W, H = 160, 120
LOAD_TIMEOUT_S = 10.0
VIDEO_FRAMES = 4
VIDEO_FPS = 20.0


def _png(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


def _picture(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (W, H),
                      interpolation=cv2.INTER_NEAREST)  # fmt: skip


def _huge_png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width``×``height`` (never decoded: refused from the header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64)
    return path


def _video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), VIDEO_FPS, (64, 48))
    assert writer.isOpened()
    for i in range(VIDEO_FRAMES):
        writer.write(np.full((48, 64, 3), 40 + 50 * i, np.uint8))
    writer.release()
    return path


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Bad background files and a word their error message must contain."""
    good = cv2.imencode(".png", _picture())[1].tobytes()
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(good[:60] + b"\x00" * 200)
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    gif = tmp_path / "anim.gif"
    gif.write_bytes(b"GIF89a" + b"\x00" * 100)
    folder = tmp_path / "folder.png"
    folder.mkdir()
    return {
        "missing": (tmp_path / "nowhere.png", "does not exist"),
        "corrupt": (corrupt, "corrupt"),
        "text": (text, "not a picture camfx reads (PNG, JPEG, WebP, BMP, TIFF or GIF)"),
        "gif": (gif, "damaged or incomplete GIF file"),
        "huge": (_huge_png_header(tmp_path / "huge.png", 20000, 20000), "at most 120 megapixels"),
        "folder": (folder, "not a file"),
    }


def test_bad_image_files_give_clear_errors(bad_files: dict[str, tuple[Path, str]]) -> None:
    for name, (path, words) in bad_files.items():
        with pytest.raises(B.BackgroundError) as info:
            B.load_image(path)
        message = str(info.value)
        assert str(path) in message and words in message, name
        assert isinstance(info.value, CamfxError)


def test_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = _png(tmp_path / "big.png", _picture())
    monkeypatch.setattr(B, "MAX_IMAGE_FILE_BYTES", 100)
    with pytest.raises(B.BackgroundError, match="limit"):
        B.load_image(path)


def test_a_background_takes_pictures_up_to_the_readers_limit(tmp_path: Path) -> None:
    """The README says pictures are taken up to 120 megapixels: a background too (it refused
    anything over 50 MP, a 126 MP photo with "over the 50 MP limit")."""
    from pipelines.sources.files import MAX_PICTURE_PIXELS

    # 60 MP, a real JPEG (one colour, so quick to write): decoded whole.
    width, height = 10_000, 6_000
    path = tmp_path / "phone.jpg"
    assert cv2.imwrite(str(path), np.full((height, width, 3), (30, 90, 200), np.uint8))
    image = B.load_image(path)
    assert image.shape == (height, width, 3)
    assert np.abs(image[height // 2, width // 2].astype(int) - (30, 90, 200)).max() <= 3
    del image
    # Just under the limit passes the header check (this one has no pixels: "corrupt").
    side = int(MAX_PICTURE_PIXELS**0.5)
    with pytest.raises(B.BackgroundError, match="corrupt"):
        B.load_image(_huge_png_header(tmp_path / "under.png", side, side))
    # Just over it is refused from the header, naming the file and the reader's limit.
    over = _huge_png_header(tmp_path / "over.png", side + 1, side + 1)
    with pytest.raises(B.BackgroundError) as info:
        B.load_image(over)
    message = str(info.value)
    assert str(over) in message and f"{MAX_PICTURE_PIXELS // 1_000_000} megapixel" in message


def test_image_headers_are_read_without_decoding(tmp_path: Path) -> None:
    image = np.zeros((37, 53, 3), np.uint8)
    for ext, fmt in ((".png", "PNG"), (".jpg", "JPEG"), (".bmp", "BMP"), (".webp", "WebP")):
        data = cv2.imencode(ext, image)[1].tobytes()
        assert B.image_dimensions(data) == (fmt, 53, 37), ext
    assert B.image_dimensions(b"GIF89a") is None


def test_fit_and_fill(tmp_path: Path) -> None:
    wide = np.zeros((100, 200, 3), np.uint8)
    wide[:, :100] = 255  # left half white
    fill = B.fit_to_frame(wide, (100, 100), "fill", (0, 0, 255))
    assert fill.shape == (100, 100, 3)
    assert fill[:, :45].min() == 255 and fill[:, 55:].max() == 0  # centre crop of the middle
    fit = B.fit_to_frame(wide, (100, 100), "fit", (0, 0, 255))
    assert fit.shape == (100, 100, 3)
    assert (fit[:20] == (0, 0, 255)).all() and (fit[-20:] == (0, 0, 255)).all()  # bars
    assert fit[50, 10].min() == 255 and fit[50, 90].max() == 0


def _process(stage: BackgroundReplace, t: float, mask_value: float = 0.0) -> np.ndarray:
    ctx = FrameContext(timestamp=t, index=int(t * 30))
    ctx.mask = np.full((H, W), mask_value, np.float32)
    image = np.full((H, W, 3), 128, np.uint8)
    out = stage.process(image, ctx)
    stage.last_ctx = ctx  # type: ignore[attr-defined]
    return out


def test_image_background_and_bad_file_keeps_the_last_good_one(
    tmp_path: Path, bad_files: dict[str, tuple[Path, str]], caplog: pytest.LogCaptureFixture
) -> None:
    picture = _picture()
    good = _png(tmp_path / "room.png", picture)
    stage = BackgroundReplace(BackgroundReplaceSettings(mode="image", path=str(good),
                                                        light_wrap=0.0))  # fmt: skip
    first = _process(stage, 0.0)
    # While the file loads, the colour shows (or the picture, if it was that quick), never
    # the camera's own room.
    colour = np.empty_like(picture)
    colour[:] = parse_color(stage.settings.color)
    assert np.array_equal(first, colour) or np.array_equal(first, picture)
    stage.wait_for_background(LOAD_TIMEOUT_S)
    t = 1.0
    _process(stage, t)
    shown = _process(stage, t + 2 * CROSSFADE_S)  # after the cross-fade
    assert np.array_equal(shown, picture)

    for name, (path, words) in bad_files.items():
        t += 1.0
        stage.settings = stage.settings.replace(path=str(path))  # type: ignore[assignment]
        with caplog.at_level(logging.ERROR, logger="pipelines.segmentation.background"):
            _process(stage, t)
            stage.wait_for_background(LOAD_TIMEOUT_S)
            out = _process(stage, t + 0.5)
        assert np.array_equal(out, picture), name
        error = stage.last_ctx.extras.get("background_error")  # type: ignore[attr-defined]
        assert error and str(path) in error and words in error, name
        assert stage.last_error == error
        assert any(str(path) in r.getMessage() for r in caplog.records), name
        # What runs is the picture kept, and that is what the window shows and saves (the
        # refused path was saved, and the next start lost the background: qa64).
        assert stage.settings_in_use() == stage.settings.replace(path=str(good)), name
    stage.settings = stage.settings.replace(path=str(good))  # type: ignore[assignment]
    assert stage.settings_in_use() is stage.settings
    stage.close()


def test_first_bad_file_shows_the_colour(tmp_path: Path) -> None:
    settings = BackgroundReplaceSettings(
        mode="image", color="#102030", path=str(tmp_path / "none.jpg")
    )
    stage = BackgroundReplace(settings)
    _process(stage, 0.0)
    stage.wait_for_background(LOAD_TIMEOUT_S)
    out = _process(stage, 0.1)
    assert np.all(out == parse_color("#102030"))
    assert "does not exist" in stage.last_ctx.extras["background_error"]  # type: ignore[attr-defined]
    assert stage.settings_in_use() == settings.replace(mode="color")  # what shows
    stage.close()


def test_check_background_refuses_up_front(bad_files: dict[str, tuple[Path, str]]) -> None:
    path, _ = bad_files["text"]
    with pytest.raises(B.BackgroundError):
        B.check_background("image", str(path))
    with pytest.raises(B.BackgroundError, match="video"):
        B.check_background("video", str(path))


def test_looping_video_plays_and_starts_over(tmp_path: Path) -> None:
    video = B.LoopingVideo(_video(tmp_path / "loop.avi"))
    try:
        assert video.fps == pytest.approx(VIDEO_FPS)
        seen: list[int] = []
        last_serial = -1
        deadline = 3 * VIDEO_FRAMES / VIDEO_FPS + 2.0
        start = time.monotonic()
        while len(seen) < 2 * VIDEO_FRAMES + 1 and time.monotonic() - start < deadline:
            serial, frame = video.latest()
            if serial != last_serial:
                seen.append(round(float(frame.mean()) / 50))
                last_serial = serial
            time.sleep(0.005)
        assert video.error is None
        # Every frame of the clip in order, then again from the start.
        assert len(seen) >= VIDEO_FRAMES + 2
        period = seen[:VIDEO_FRAMES]
        assert sorted(set(period)) == period
        assert seen[VIDEO_FRAMES] == seen[0]
    finally:
        video.close()


def test_video_background_in_the_stage(tmp_path: Path) -> None:
    path = _video(tmp_path / "loop.avi")
    stage = BackgroundReplace(BackgroundReplaceSettings(mode="video", path=str(path),
                                                        light_wrap=0.0))  # fmt: skip
    _process(stage, 0.0)
    stage.wait_for_background(LOAD_TIMEOUT_S)
    _process(stage, 1.0)  # the new background starts fading in
    out = _process(stage, 1.0 + 2 * CROSSFADE_S)
    assert out.shape == (H, W, 3)
    assert float(out.std(axis=(0, 1)).max()) < 2.0  # one flat grey video frame, scaled
    assert float(out.std(axis=2).max()) < 2.0  # grey, so not the green colour
    assert abs(float(out.mean()) - 128) > 5  # not the camera image
    stage.close()


def test_bad_video_files(tmp_path: Path, bad_files: dict[str, tuple[Path, str]]) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 100)
    refused = r"damaged or cut short|cannot be opened|no readable frames"
    with pytest.raises(B.BackgroundError, match=refused):
        B.LoopingVideo(broken)
    with pytest.raises(B.BackgroundError, match="does not exist"):
        B.LoopingVideo(bad_files["missing"][0])


def test_a_background_reads_what_every_picture_reader_reads(tmp_path: Path) -> None:
    """A user's pass (qa8): a TIFF background was refused as "not a PNG, JPEG, WebP or BMP
    image" though the same file plays as a source; a HEIC or a video named .jpg got that line
    alone, not the advice every other picture reader gives."""
    picture = _picture()
    tiff = tmp_path / "room.tiff"
    assert cv2.imwrite(str(tiff), picture)
    np.testing.assert_array_equal(B.load_image(tiff), picture)  # TIFF is lossless
    heic = tmp_path / "IMG_0001.jpg"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 200)
    with pytest.raises(B.BackgroundError, match=r"HEIC photos .* Most Compatible"):
        B.load_image(heic)
    video = tmp_path / "beach.jpg"
    video.write_bytes(_video(tmp_path / "beach.mp4").read_bytes())
    with pytest.raises(B.BackgroundError, match=r"beach\.jpg cannot be used: it is a video"):
        B.load_image(video)


@pytest.mark.parametrize(
    ("width", "height", "why"),
    [(10, 10, "at least 16 pixels on each side"), (4000, 20, "crop it to at most 8:1")],
    ids=["tiny", "a-strip"],
)
def test_a_background_picture_has_the_bounds_of_every_picture(
    tmp_path: Path, width: int, height: int, why: str
) -> None:
    """A PNG, JPEG, WebP or BMP background is sized from its header, where only the pixel
    limit was checked: a 10×10 picture ran scaled up 32×, a 4000×20 strip stretched, while the
    same files as a source are refused (qa62). Refused with the source's words, by name."""
    from pipelines.sources.files import picture_size_problem

    path = _png(tmp_path / "small.png", np.full((height, width, 3), 128, np.uint8))
    with pytest.raises(B.BackgroundError) as info:
        B.load_image(path)
    problem = picture_size_problem(width, height)
    assert problem is not None and why in problem
    assert str(info.value) == f"background image {path} cannot be used: {problem}"


@pytest.mark.parametrize("mode", ["image", "video"])
def test_a_recordings_first_frame_already_shows_the_background(tmp_path: Path, mode: str) -> None:
    """qa64: every recording with a background picture or video began with 2-4 frames of the
    plain colour, then faded the picture in over 0.3 s, though a file source waits for its
    list's opens. The background is loaded while the list opens (``wait_warm``): from the
    first frame on, the room is the picture."""
    from test_failures_are_errors import write_video

    from pipelines.engine import Engine
    from pipelines.outputs.base import Output
    from pipelines.presets import Preset, StageSpec, build_stages
    from pipelines.sources.base import SourceConfig
    from pipelines.sources.files import ImageSource

    faces = Path(__file__).parent / "data" / "faces"
    size = (320, 180)
    if mode == "image":
        background = faces / "no_face.jpg"
        picture = cv2.imread(str(background))
    else:
        background = write_video(tmp_path / "room.mp4")
        cap = cv2.VideoCapture(str(background))
        ok, picture = cap.read()
        cap.release()
        assert ok
    expected = B.fit_to_frame(picture, size, "fill", (0, 0, 0))
    settings = {"mode": mode, "path": str(background), "light_wrap": 0.0}
    preset = Preset("room", (StageSpec("segmentation"), StageSpec("background_replace", settings)))

    class Keep(Output):
        def __init__(self) -> None:
            super().__init__("keep")
            self.frames: list[np.ndarray] = []

        def open(self, width: int, height: int, fps: float) -> None:
            self.is_open = True

        def write(self, frame: object) -> None:
            self.frames.append(frame.image.copy())  # type: ignore[attr-defined]

    source = ImageSource(str(faces / "astronaut.jpg"), SourceConfig(*size, paced=False))
    source.open()
    out = Keep()
    with Engine(source, build_stages(preset), [out], lossless=True, max_frames=3) as engine:
        assert engine.wait(60)
    source.close()
    corner = (slice(0, 30), slice(0, 30))  # the room, far from the astronaut
    colour = np.array(parse_color(BackgroundReplaceSettings().color), int)
    assert len(out.frames) == 3
    for image in out.frames:
        room = image[corner].astype(int)
        assert np.abs(room - colour).mean() > 40.0  # not the plain colour
        if mode == "image":  # (a video moves on meanwhile)
            assert np.abs(room - expected[corner].astype(int)).mean() < 6.0
