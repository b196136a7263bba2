"""``camfx analyze``: JSON and text output, the mask option and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from golden_data import face_photo_path

from app.cli import main

EXIT_ERROR = 2
TRANSFORM_ORTHOGONALITY = 1e-4


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, str(face_photo_path("two_faces")), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["width"], data["height"]) == (640, 480)
    assert len(data["faces"]) == 2
    for face in data["faces"]:
        lm = np.array(face["landmarks"])
        assert lm.shape == (478, 3)
        x, y, _w, h = face["bbox"]
        assert lm[:, 0].min() == pytest.approx(x, abs=0.01)
        assert lm[:, 1].max() == pytest.approx(y + h, abs=0.01)
        t = np.array(face["pose"]["transform"])
        rot = t[:3, :3] / np.linalg.norm(t[:3, 0])
        assert np.abs(rot @ rot.T - np.eye(3)).max() < TRANSFORM_ORTHOGONALITY
        assert {"yaw", "pitch", "roll"} <= set(face["pose"])
        assert 0.5 <= face["score"] <= 1.0


def test_text_output_and_no_face(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, str(face_photo_path("astronaut")))
    assert code == 0
    assert "1 face" in out and "face 1: score" in out and "yaw" in out
    assert sum(1 for line in out.splitlines() if line.strip().startswith("477:")) == 1
    code, out, _ = run_cli(capsys, str(face_photo_path("no_face")), "--json")
    assert code == 0 and json.loads(out)["faces"] == []


def test_a_phone_photo_with_a_small_face_is_analysed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A 3024x4032 photo whose face is an eighth of its width: no face whole or in its square
    tiles; the search at smaller scales finds it."""
    photo = cv2.imread(str(face_photo_path("astronaut")))
    canvas = np.full((4032, 3024, 3), 110, np.uint8)
    big = cv2.resize(photo, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    canvas[900 : 900 + 1024, 1400 : 1400 + 1024] = big
    path = tmp_path / "phone.png"
    cv2.imwrite(str(path), canvas)
    code, out, _ = run_cli(capsys, str(path), "--json")
    assert code == 0
    (face,) = json.loads(out)["faces"]
    x, y, w, _h = face["bbox"]
    assert 1400 < x < x + w < 1400 + 1024 and y > 900


def test_bad_files_give_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    for path in (junk, tmp_path / "missing.png", tmp_path):
        code, out, err = run_cli(capsys, str(path))
        assert code == EXIT_ERROR and out == ""
        assert len(err.strip().splitlines()) == 1 and str(path) in err
    # A video is not broken for being one: said so, with how to take a photo from it (qa64).
    from test_failures_are_errors import write_video

    video = write_video(tmp_path / "clip.mp4")
    code, out, err = run_cli(capsys, str(video))
    assert code == EXIT_ERROR and out == ""
    assert err.strip() == (
        f"camfx analyze: image {video} is a video; analyze takes a photo: save one frame of it "
        "as a PNG or JPEG (a player's snapshot, or ffmpeg -i VIDEO -frames:v 1 frame.png)"
    )


def test_mask_option_writes_the_segmentation_mask(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def person_mask(image_bgr: np.ndarray) -> np.ndarray:
        calls.append(image_bgr.shape)
        mask = np.zeros(image_bgr.shape[:2], np.float32)
        mask[:, : image_bgr.shape[1] // 2] = 1.0
        return mask

    fake = types.ModuleType("pipelines.segmentation")
    fake.person_mask = person_mask  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pipelines.segmentation", fake)
    out_png = tmp_path / "mask.png"
    code, out, _ = run_cli(capsys, str(face_photo_path("astronaut")), "--mask", str(out_png))
    assert code == 0 and calls == [(512, 512, 3)] and str(out_png) in out
    written = cv2.imread(str(out_png), cv2.IMREAD_UNCHANGED)
    assert written is not None
    assert (
        written.shape == (512, 512)
        and written[:, :256].min() == 255
        and written[:, 256:].max() == 0
    )
    code, _, err = run_cli(
        capsys, str(face_photo_path("astronaut")), "--mask", str(tmp_path / "no" / "m.png")
    )
    assert code == EXIT_ERROR and "mask" in err


def test_a_mask_onto_the_picture_itself_is_refused_even_with_y(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """qa64: ``camfx analyze me.jpg --mask me.jpg -y`` replaced the photo with its own mask,
    exit 0 (capture and run refuse their own inputs). A hard link is the same file too."""
    import os
    import shutil

    photo = tmp_path / "me.jpg"
    shutil.copy(face_photo_path("astronaut"), photo)
    os.link(photo, tmp_path / "linked.jpg")
    before = photo.read_bytes()
    for mask in (photo, tmp_path / "." / "me.jpg", tmp_path / "linked.jpg"):
        code, out, err = run_cli(capsys, str(photo), "--mask", str(mask), "-y")
        assert code == EXIT_ERROR and not out, (code, out)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "is the picture analysed itself" in lines[0], err
        assert "_mask.png" in lines[0]
    assert photo.read_bytes() == before


def test_mask_without_segmentation_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pipelines.segmentation", None)
    code, out, err = run_cli(
        capsys, str(face_photo_path("astronaut")), "--mask", str(tmp_path / "m.png")
    )
    assert code == EXIT_ERROR and out == ""
    assert "segmentation" in err and len(err.strip().splitlines()) == 1


def test_presets_are_declared_without_loading_models() -> None:
    code = (
        "import sys, pipelines.tracking.presets as p\n"
        "from pipelines.presets import get_preset, build_stages\n"
        "assert 'pipelines.tracking.tracker' not in sys.modules\n"
        "assert 'onnxruntime' not in sys.modules\n"
        "names = {n: [s.name for s in build_stages(get_preset(n))]"
        " for n in ('track', 'track-debug', 'auto-frame')}\n"
        "assert names == {'track': ['face_tracker'],"
        " 'track-debug': ['face_tracker', 'face_overlay'],"
        " 'auto-frame': ['face_tracker', 'auto_frame']}, names\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_search_goes_on_past_a_level_whose_detection_is_no_face(monkeypatch) -> None:
    """A big picture that shows no face whole is searched level by level; a level whose only
    detection the mesh does not confirm (a 12-megapixel photo's first, at score 0.51) no
    longer ends the search with 0 faces, where a portrait's search found the face (QA pass,
    2026-12-06)."""
    from pipelines.tracking import analysis
    from pipelines.tracking.detector import Detection, FaceDetector

    face = cv2.imread(str(face_photo_path("astronaut")))
    canvas = np.full((3000, 4000, 3), 128, np.uint8)
    canvas[1200:1712, 3400:3912] = face
    real_search = FaceDetector.search

    def search_with_a_false_first_level(self, image, min_score=0.5):
        # On the plain grey: no face there, as the photo's first level found none.
        box = np.array([200.0, 200.0, 700.0, 700.0], np.float32)
        keypoints = np.tile(np.array([[450.0, 450.0]], np.float32), (6, 1))
        yield [Detection(0.51, box, keypoints)]
        yield from real_search(self, image, min_score)

    monkeypatch.setattr(FaceDetector, "detect", lambda self, *a, **k: [])
    monkeypatch.setattr(FaceDetector, "search", search_with_a_false_first_level)
    faces = analysis.analyze_image(canvas)
    assert len(faces) == 1
    x, y, w, h = faces[0].bbox
    assert x >= 3400 and x + w <= 3912 and y >= 1200 and y + h <= 1712
