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
from app.talking_head_cmd import which_face
from pipelines.avatar.portrait import find_landmarks, load_portrait, picture_portrait
from pipelines.inference import load_model
from pipelines.sources import SourceConfig, open_source
from pipelines.sources.files import face_keep_spans, fit_to, read_picture
from pipelines.tracking import regions
from pipelines.tracking.analysis import analyze_image
from pipelines.tracking.detector import FaceDetector
from pipelines.tracking.mesh import FaceMesh
from pipelines.tracking.picture import MIN_PRESENCE, faces_in_picture
from pipelines.tracking.roi import roi_from_detection
from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings, tracking_factory

FACES = Path(__file__).resolve().parent / "data" / "faces"
EYE_CORNERS = (33, 133, 263, 362)
"""The mesh's eye-corner landmarks (both eyes' inner and outer corners)."""
DECOY_HEAD = (slice(20, 240), slice(120, 330))
"""Rows and columns of astronaut.jpg around her head, enlarged into the decoy."""
DECOY_SCALE = 2.5
"""The decoy's enlargement: its face ~250 pixels wide, which the detector finds in the
1280-pixel picture's first search level (the real, 100-pixel face only in the second)."""
REAL_FACE_AT = 768
"""Where the real astronaut photo (512x512) lies in the decoy picture: its top-left corner."""


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


def decoy_picture() -> np.ndarray:
    """1280x1280: a face seen through blinds (the astronaut's head enlarged, every other row
    black) at the top left, the astronaut photo at the bottom right. Shrunk to the detector's
    view, the blinds are a face (score 0.94 at the first level, the only detection there); at
    the mesh's resolution they are none (presence 0.0). The real face is found at the second."""
    astronaut = cv2.imread(str(FACES / "astronaut.jpg"))
    blinds = cv2.resize(
        astronaut[DECOY_HEAD], None, fx=DECOY_SCALE, fy=DECOY_SCALE, interpolation=cv2.INTER_CUBIC
    )
    blinds[::2] = 0
    picture = np.full((1280, 1280, 3), 128, np.uint8)
    picture[: blinds.shape[0], : blinds.shape[1]] = blinds
    picture[REAL_FACE_AT:, REAL_FACE_AT:] = astronaut
    return picture


def is_the_real_face(landmarks: np.ndarray) -> bool:
    return bool(landmarks[:, :2].min() >= REAL_FACE_AT)


def test_the_decoy_fools_the_detector_not_the_mesh() -> None:
    """The premise of the decoy tests below: the first search level's only detection is the
    decoy, which the mesh rejects."""
    picture = decoy_picture()
    factory = tracking_factory()
    first = next(load_model(FaceDetector, factory).search(picture))
    assert len(first) == 1 and first[0].box[2] < REAL_FACE_AT
    mesh = load_model(FaceMesh, factory)
    assert mesh(picture, roi_from_detection(first[0].box, first[0].keypoints)).score < MIN_PRESENCE


def test_a_decoy_at_the_first_level_does_not_hide_the_real_face(tmp_path: Path) -> None:
    """The search goes on past a level whose only detection the mesh rejects: the picture's
    crop keeps the real face (it kept the decoy, and the frame showed no face), and the
    portrait and ``camfx analyze`` take it too."""
    picture = decoy_picture()
    faces = faces_in_picture(picture)
    assert len(faces) == 1 and faces[0].box[0] >= REAL_FACE_AT
    assert is_the_real_face(faces[0].landmarks)
    path = tmp_path / "decoy.png"  # lossless: a JPEG would blur the blinds
    cv2.imwrite(str(path), picture)
    landmarks = first_frame_eyes(path, (1280, 720))
    assert landmarks[:, 0].min() >= REAL_FACE_AT  # the crop cuts no column of this picture
    for index in (*EYE_CORNERS, regions.FOREHEAD_TOP, regions.CHIN):
        assert 0 <= landmarks[index, 1] < 720, index
    assert is_the_real_face(find_landmarks(picture, search=True))
    analysed = analyze_image(picture)
    assert len(analysed) == 1 and is_the_real_face(analysed[0].landmarks)


def test_the_picture_searches_name_the_same_face() -> None:
    """two_faces.jpg: the portrait (and so ``talking-head capture``), the capture's "which
    face" line, the image source's crop and ``camfx analyze`` all take the astronaut, the
    larger face."""
    picture = cv2.imread(str(FACES / "two_faces.jpg"))
    landmarks = picture_portrait(picture, "two_faces.jpg").face.landmarks
    centre = landmarks[:, :2].mean(axis=0)
    faces = faces_in_picture(picture)
    assert len(faces) == 2
    x0, y0, x1, y1 = faces[0].box
    assert x0 <= centre[0] <= x1 and y0 <= centre[1] <= y1
    assert "the largest of 2 faces" in which_face(picture, landmarks)
    spans = face_keep_spans(picture)
    assert spans is not None
    (left, right), (top, bottom) = spans[0][-1], spans[1][-1]
    assert left <= centre[0] <= right and top <= centre[1] <= bottom
    analysed = analyze_image(picture)
    largest = max(analysed, key=lambda face: face.bbox[2] * face.bbox[3])
    x, y, w, h = largest.bbox
    assert x <= centre[0] <= x + w and y <= centre[1] <= y + h


def test_the_portrait_reads_on_past_a_level_its_tracker_cannot_take() -> None:
    """A head-and-shoulders photo pasted small into a 12-megapixel room picture: at the first
    level that has any, the mesh confirms the whole photo as one face (presence 0.83, 1074
    pixels wide), which the portrait's tracker does not find in its crop; the portrait reads
    on to the next level and takes the real face, as the search before the mesh did."""
    room = cv2.resize(
        cv2.imread(str(FACES / "no_face.jpg")), (3024, 4032), interpolation=cv2.INTER_CUBIC
    )
    room = cv2.GaussianBlur(room, (0, 0), 6)
    photo = cv2.imread(str(FACES / "brothers_midword.jpg"))
    scale, (x0, y0) = 1.6, (1400, 900)
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    room[y0 : y0 + big.shape[0], x0 : x0 + big.shape[1]] = big
    own = find_landmarks(photo)[:, :2] * scale + (x0, y0)
    first = faces_in_picture(room)
    assert len(first) == 1 and first[0].detection.width > 3 * np.ptp(own[:, 0])
    found = find_landmarks(room, search=True)
    assert np.abs(found[:, :2] - own).mean() / scale < 1.0


@pytest.mark.parametrize("size", [(1280, 916), (100, 37), (37, 100)])
def test_a_picture_without_a_face_is_searched_at_any_size(size: tuple[int, int]) -> None:
    """qa64: a picture with no face, filled to a size whose search views lie at fractional
    places (a 1400×1002 landscape as the source of a 1280×720 frame: filled to 1280×916),
    raised a broadcast error in the detector's view crop, a traceback out of ``camfx run``.
    Every view of every level is now searched, and nothing is found."""
    from pipelines.tracking.detector import still_views

    picture = cv2.resize(cv2.imread(str(FACES / "no_face.jpg")), size)
    detector = load_model(FaceDetector, tracking_factory())
    levels = list(detector.search(picture))
    assert len(levels) == len(still_views(*size))
    assert faces_in_picture(picture) == []
