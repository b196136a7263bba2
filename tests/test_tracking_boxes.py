"""The face_boxes stage (issue 17, only-me's cost): where the faces are, from the detector
alone at a low rate, with stable ids; and the background presets run it instead of a tracker."""

from __future__ import annotations

import numpy as np
from golden_data import face_photo

from pipelines.frame import FrameContext
from pipelines.presets import get_preset
from pipelines.tracking.boxes import FACE_BOXES, BoxTracks, FaceBoxes, FaceBoxesSettings


def test_boxes_keep_their_ids_and_go_when_not_found() -> None:
    tracks = BoxTracks()
    tracks.update([(0.9, (100.0, 100.0, 50.0, 50.0)), (0.8, (400.0, 90.0, 40.0, 40.0))], 4, 1, 0.0)
    first = {round(b.bbox[0]): b.id for b in tracks.faces()}
    assert sorted(first.values()) == [-2, -1]  # negative: never one of the tracker's ids
    # Both moved a little (one walks: 60 px, more than its overlap, within 1.5 face sizes).
    tracks.update(
        [(0.9, (160.0, 100.0, 50.0, 50.0)), (0.85, (405.0, 92.0, 40.0, 40.0))], 4, 1, 0.25
    )
    ids = {round(b.bbox[0]): b.id for b in tracks.faces()}
    assert ids == {160: first[100], 405: first[400]}
    assert tracks.moving  # the walking one: the next run comes sooner
    # One is not found: gone at once (misses=1); a newcomer far away gets a new id.
    tracks.update([(0.9, (162.0, 100.0, 50.0, 50.0)), (0.7, (800.0, 90.0, 40.0, 40.0))], 4, 1, 0.5)
    ids = {round(b.bbox[0]): b.id for b in tracks.faces()}
    assert ids[162] == first[100] and ids[800] not in first.values() and 405 not in ids
    # With misses=2 a box outlives one missed run.
    tracks.update([(0.9, (162.0, 100.0, 50.0, 50.0))], 4, 2, 0.75)
    assert len(tracks.faces()) == 2
    tracks.update([(0.9, (162.0, 100.0, 50.0, 50.0))], 4, 2, 1.0)
    assert len(tracks.faces()) == 1 and not tracks.moving


def test_a_box_the_mesh_rejected_is_hidden_and_asked_again_only_when_it_moves() -> None:
    # The face mesh's verdict is asked once per new box (the stage asks it on the run that
    # finds the box), not on every run: a rejected box is followed, hidden, and asked again
    # only once it moved half a face size or after RECHECK_S.
    from pipelines.tracking.boxes import RECHECK_S

    tracks = BoxTracks()
    face, decoy = (100.0, 100.0, 50.0, 50.0), (400.0, 90.0, 200.0, 200.0)
    tracks.update([(0.9, face), (0.7, decoy)], 4, 1, 0.0)
    assert len(tracks.to_check(0.0)) == 2
    for box in tracks.boxes:
        box.face, box.checked = box.bbox == face, (0.0, box.bbox)
    assert [b.bbox for b in tracks.faces()] == [face]
    tracks.update([(0.9, face), (0.7, (410.0, 90.0, 200.0, 200.0))], 4, 1, 0.25)
    assert tracks.to_check(0.25) == []  # a few pixels: the same decoy, not asked again
    assert [b.bbox for b in tracks.faces()] == [face]
    tracks.update([(0.9, face), (0.7, (520.0, 90.0, 200.0, 200.0))], 4, 1, 0.5)
    assert [b.bbox[0] for b in tracks.to_check(0.5)] == [520.0]  # moved: asked again
    tracks.update([(0.9, face), (0.7, decoy)], 4, 1, RECHECK_S)
    assert [b.bbox for b in tracks.to_check(RECHECK_S)] == [decoy]  # and now and then


def test_the_detector_runs_at_the_interval_and_finds_both_people() -> None:
    image = face_photo("two_faces")
    stage = FaceBoxes(FaceBoxesSettings(interval_s=0.25))
    stage.open()
    counts = []
    for i in range(16):  # 0.5 s at 30 fps
        ctx = FrameContext(timestamp=i / 30, index=i)
        stage.process(image, ctx)
        boxes = ctx.get(FACE_BOXES)
        assert boxes is not None
        counts.append(len(boxes))
    assert set(counts) == {2}
    # First frame, the second (both boxes new: the run after comes sooner), then every 0.25 s.
    assert stage.detector_runs <= 5
    xs = sorted(b.bbox[0] for b in boxes)
    assert xs[0] < image.shape[1] / 2 < xs[1]  # the astronaut and the cameraman
    assert all(np.isfinite(b.bbox).all() for b in boxes)


def test_background_presets_find_faces_with_boxes_not_a_tracker() -> None:
    # Only-me needs where the faces are, not their meshes (a tracker following two faces
    # halved background-blur's frame rate).
    import pipelines.segmentation.presets  # noqa: F401

    for name in ("background-blur", "privacy-blur", "background-color"):
        stages = [s.stage for s in get_preset(name).stages]
        assert stages[:2] == ["face_boxes", "segmentation"], name
        assert "face_tracker" not in stages
        assert get_preset(name).stages[1].settings.get("only_me") is True
