"""A photo given as the source keeps its face: ``talking-head capture`` reads the whole picture
as ``render --portrait`` does, and the image source's crop to the frame moves to keep the
face. Each case failed before (issue 13): a square photo was cut at the eyes, so the captured
avatar's eyes and hair were a smear past the frame's edge and ``camfx run`` showed the face
from the nose down."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import cli
from pipelines.avatar.portrait import load_portrait
from pipelines.sources import SourceConfig, open_source
from pipelines.sources.files import fit_to, read_picture
from pipelines.tracking import regions
from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

FACES = Path(__file__).resolve().parent / "data" / "faces"
EYE_CORNERS = (33, 133, 263, 362)
"""The mesh's eye-corner landmarks (both eyes' inner and outer corners)."""


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("camfx")]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


def capture(source: Path | str, output: Path | str, *extra: str) -> int:
    return cli.main(
        ["talking-head", "capture", "--source", str(source), "--output", str(output), *extra]
    )


def test_capture_from_a_photo_is_the_portrait_render_makes(tmp_path: Path, capsys) -> None:
    """The saved avatar is the whole photo's crop around the face (its eyes where the photo's
    are), pixel for pixel what ``render --portrait`` builds from the same file."""
    photo = FACES / "astronaut.jpg"
    out = tmp_path / "me.png"
    assert capture(photo, out) == 0
    assert "avatar saved" in capsys.readouterr().err
    saved = cv2.imread(str(out))
    expected = load_portrait(photo)
    assert np.array_equal(saved, expected.image)
    # Eyes and forehead are the photo's own pixels, not a fill past its edge.
    coverage = np.ones(saved.shape[:2]) if expected.coverage is None else expected.coverage
    for index in (*EYE_CORNERS, regions.FOREHEAD_TOP):
        x, y = expected.landmarks[index, :2].round().astype(int)
        assert coverage[y, x] == 1.0, index


def test_capture_from_a_photo_needs_one_try(tmp_path: Path) -> None:
    out = tmp_path / "me.png"
    assert capture(FACES / "cameraman.jpg", out, "--tries", "1") == 0
    assert cv2.imread(str(out)) is not None


def test_capture_finds_the_grey_photo_render_finds(tmp_path: Path) -> None:
    """Cropped to the frame, this small grey photo showed no face; whole, it does."""
    photo = FACES / "astronaut_grey_small.jpg"
    out = tmp_path / "me.png"
    assert capture(photo, out) == 0
    assert np.array_equal(cv2.imread(str(out)), load_portrait(photo).image)


def test_capture_refuses_to_overwrite_its_source_photo(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "me.jpg"
    shutil.copyfile(FACES / "astronaut.jpg", photo)
    before = photo.read_bytes()
    # Another spelling of the same path: what is compared is the file.
    assert capture(photo, tmp_path / "." / "me.jpg") == 2
    line = one_error_line(capsys.readouterr().err)
    assert "source picture itself" in line and "me_avatar.png" in line
    assert photo.read_bytes() == before


def test_capture_of_a_tiny_face_says_so_as_render_does(tmp_path: Path, capsys) -> None:
    small = tmp_path / "small.png"
    photo = cv2.imread(str(FACES / "astronaut.jpg"))
    cv2.imwrite(str(small), cv2.resize(photo, (64, 64), interpolation=cv2.INTER_AREA))
    out = tmp_path / "me.png"
    assert capture(small, out) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "too small to animate" in line and "at least 32" in line and str(small) in line
    assert not out.exists()


def test_capture_of_two_faces_names_the_one_render_uses(tmp_path: Path, capsys) -> None:
    photo = FACES / "two_faces.jpg"
    out = tmp_path / "me.png"
    assert capture(photo, out) == 0
    line = one_error_line(capsys.readouterr().err)
    assert "the largest of 2 faces, at " in line
    assert np.array_equal(cv2.imread(str(out)), load_portrait(photo).image)


def write_video(path: Path, image: np.ndarray, frames: int = 3) -> None:
    """A short H.264 video of ``image`` standing still."""
    import av

    height, width = image.shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_capture_from_a_video_reads_its_whole_first_frame(tmp_path: Path, capsys) -> None:
    """A portrait-format video (the face in its top half): its first frame, whole, as a photo
    is read. Before, the first two frames were skipped (as a camera's are while its exposure
    settles; --tries 1 never found a face) and the rest were cropped to 16:9, which cut this
    face off."""
    photo = cv2.imread(str(FACES / "astronaut.jpg"))
    height, width = photo.shape[:2]
    tall = cv2.copyMakeBorder(photo, 0, 2 * width - height, 0, 0, cv2.BORDER_REPLICATE)
    still, video, out = tmp_path / "tall.png", tmp_path / "tall.mp4", tmp_path / "me.png"
    cv2.imwrite(str(still), tall)
    write_video(video, tall)
    assert capture(video, out, "--tries", "1") == 0
    assert one_error_line(capsys.readouterr().err).endswith("from frame 1")
    # The photo's own portrait, up to the video's compression.
    difference = np.abs(cv2.imread(str(out)).astype(int) - load_portrait(still).image)
    assert difference.mean() < 8.0, difference.mean()  # 4.4; a crop of the 16:9 frame: 33


def test_capture_from_a_video_without_a_face_says_how_many_frames(tmp_path: Path, capsys) -> None:
    video, out = tmp_path / "room.mp4", tmp_path / "me.png"
    write_video(video, cv2.imread(str(FACES / "no_face.jpg"))[:480, :640], frames=2)
    assert capture(video, out, "--tries", "5") == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"no face found in {str(video)!r} (2 frames looked at)" in line, line
    assert "camera" not in line and not out.exists()


def first_frame_eyes(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The eye corners the face tracker finds in the image source's first frame (pixels)."""
    config = SourceConfig(width=size[0], height=size[1], paced=False)
    with open_source(str(path), config) as source:
        frame = source.read()
    assert frame is not None
    tracker = FaceTracker(FaceTrackerSettings(max_faces=1, primary="largest"))
    tracker.open()
    try:
        tracker.process(frame.image, frame.ctx)
    finally:
        tracker.close()
    face = frame.ctx.primary_face
    assert face is not None, f"no face in the first frame of {path.name} at {size}"
    return np.asarray(face.landmarks, np.float64)


@pytest.mark.parametrize(
    ("name", "size", "face_left"),
    # two_faces.jpg: the astronaut, the larger face, is its left half; the centre crop cut
    # her eyes off and the tracker found the cameraman instead.
    # brothers_midword.jpg: a close-up, whose chin the crop cut.
    [
        ("astronaut.jpg", (1280, 720), 1.0),
        ("two_faces.jpg", (640, 360), 0.5),
        ("brothers_midword.jpg", (1280, 720), 1.0),
    ],
)
def test_a_photo_source_keeps_its_face_in_frame(
    name: str, size: tuple[int, int], face_left: float
) -> None:
    """The largest face is tracked in the first frame, eyes, forehead and chin inside it."""
    landmarks = first_frame_eyes(FACES / name, size)
    width, height = size
    assert landmarks[:, 0].mean() < face_left * width
    for index in (*EYE_CORNERS, regions.FOREHEAD_TOP, regions.CHIN):
        x, y = landmarks[index, :2]
        assert 0 <= x < width and 0 <= y < height, (name, index, x, y)


def test_a_photo_whose_face_fits_is_cropped_as_before(tmp_path: Path) -> None:
    """The astronaut in the middle of a wide canvas: the centre crop keeps her whole face,
    and the frame is the plain fill to the byte (golden images stay as they were)."""
    photo = cv2.imread(str(FACES / "astronaut.jpg"))
    wide = np.full((600, 1024, 3), 200, np.uint8)
    wide[44:556, 256:768] = photo
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), wide)
    picture, _ = read_picture(str(path))
    assert picture is not None
    config = SourceConfig(width=1280, height=720, paced=False)
    with open_source(str(path), config) as source:
        frame = source.read()
    assert frame is not None
    assert np.array_equal(frame.image, fit_to(picture, 1280, 720))
