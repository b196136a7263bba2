"""``talking-head capture`` from a picture whose faces only the search finds looks for them
once: the portrait's search hands its faces to the "which face" line, which searched the
picture again (a detector run a view and a mesh run a face) for the same answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from app import cli
from app.talking_head_cmd import which_face
from pipelines.avatar.portrait import find_face
from pipelines.tracking.detector import FaceDetector

FACES = Path(__file__).resolve().parent / "data" / "faces"


def far_pair() -> np.ndarray:
    """two_faces.jpg at 0.6 in a 2400x1800 room: the tracker finds no face in the whole
    picture, the search finds both (as a phone photo of two people across a room)."""
    room = cv2.resize(cv2.imread(str(FACES / "no_face.jpg")), (2400, 1800))
    pair = cv2.resize(cv2.imread(str(FACES / "two_faces.jpg")), None, fx=0.6, fy=0.6)
    room[100 : 100 + pair.shape[0], 200 : 200 + pair.shape[1]] = pair
    return room


def test_the_which_face_line_takes_the_faces_the_search_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = far_pair()
    found = find_face(picture, search=True)
    assert found.searched_faces is not None and len(found.searched_faces) == 2  # the premise
    line_end = which_face(picture, found.landmarks)  # the faces looked for again
    assert "the largest of 2 faces, at " in line_end
    assert which_face(picture, found.landmarks, found.searched_faces) == line_end

    searches: list[int] = []
    search = FaceDetector.search

    def counted(self: FaceDetector, *args: Any, **kwargs: Any) -> Any:
        searches.append(1)
        return search(self, *args, **kwargs)

    monkeypatch.setattr(FaceDetector, "search", counted)
    path, out = tmp_path / "pair.png", tmp_path / "me.png"
    cv2.imwrite(str(path), picture)
    args = ["talking-head", "capture", "--source", str(path), "--output", str(out)]
    assert cli.main(args) == 0
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("camfx")]
    assert line.endswith(line_end), line
    assert len(searches) == 1  # 2 when the line searched the picture again
