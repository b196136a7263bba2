"""The face tracker's saved state (FaceTracker.saved / restore): a tracker restored after some
frames goes on exactly as one that tracked them, with or without the head pose read, and the
saved state is a copy that later frames leave alone. The talking head's build reads its shut
lids after the same primer frames many times (pipelines.avatar.lids.settle_lids): it tracks
those once and restores."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from golden_data import face_photo

from pipelines.frame import FrameContext
from pipelines.tracking.tracker import _TRACKER_STATE, FaceTracker, FaceTrackerSettings

pytestmark = pytest.mark.clock_free


def frames(n: int = 6) -> Iterator[np.ndarray]:
    """The astronaut photo on a grey frame, moving a few pixels and turning a little a frame."""
    photo = cv2.resize(face_photo("astronaut"), (360, 360), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[60:420, 140:500] = photo
    for i in range(n):
        m = cv2.getRotationMatrix2D((320.0, 240.0), 1.5 * i, 1.0)
        m[:, 2] += (3.0 * i, -2.0 * i)
        yield cv2.warpAffine(frame, m, (640, 480), borderValue=(90, 90, 90))


def tracked(
    tracker: FaceTracker, shown: list[np.ndarray], start: int = 0, pose: bool = False
) -> list[np.ndarray]:
    """The primary face's landmarks (and its pose's angles, ``pose``) on each frame."""
    out = []
    for index, image in enumerate(shown, start):
        ctx = FrameContext(timestamp=index / 30.0, index=index)
        tracker.process(image, ctx)
        face = ctx.primary_face
        assert face is not None, f"no face on frame {index}"
        out.append(np.asarray(face.landmarks, np.float64).copy())
        if pose:
            assert face.pose is not None
            out.append(np.array([face.pose.yaw, face.pose.pitch, face.pose.roll]))
    return out


@pytest.fixture(scope="module")
def tracker() -> Iterator[FaceTracker]:
    t = FaceTracker(FaceTrackerSettings(max_faces=1, primary="largest"))
    t.open()
    yield t
    t.close()


@pytest.mark.parametrize("pose", [False, True], ids=["landmarks", "with-pose"])
def test_a_restored_tracker_goes_on_as_the_one_that_tracked(tracker, pose) -> None:
    shown = list(frames())
    tracker.reset()
    whole = tracked(tracker, shown, pose=pose)
    tracker.reset()
    tracked(tracker, shown[:3], pose=pose)
    state = tracker.saved()
    first = tracked(tracker, shown[3:], 3, pose=pose)
    # Restored twice: the state is not changed by the frames tracked after it.
    for _ in range(2):
        tracker.restore(state)
        again = tracked(tracker, shown[3:], 3, pose=pose)
        assert len(again) == len(first)
        for a, b in zip(again, first, strict=True):
            np.testing.assert_array_equal(a, b)
    tail = whole[len(whole) - len(first) :]
    for a, b in zip(first, tail, strict=True):
        np.testing.assert_array_equal(a, b)
    # (The frames move: a tracker that forgot them would read otherwise.)
    assert np.abs(whole[-1 - pose] - whole[0]).max() > 5.0


def test_a_restored_tracker_differs_from_a_fresh_one(tracker) -> None:
    """Restoring brings back what was learnt: after a reset instead, the same frames are
    tracked from a detection, and read otherwise."""
    shown = list(frames())
    tracker.reset()
    tracked(tracker, shown[:3])
    state = tracker.saved()
    tracker.reset()
    fresh = tracked(tracker, shown[3:], 3)
    tracker.restore(state)
    restored = tracked(tracker, shown[3:], 3)
    assert tracker.detector_runs == 1
    assert any(not np.array_equal(a, b) for a, b in zip(fresh, restored, strict=True))


def test_the_saved_state_is_all_that_reset_starts_afresh() -> None:
    """A state attribute added to ``reset`` but not saved would leak from one restore into
    the next reading."""
    bare = FaceTracker.__new__(FaceTracker)
    bare.reset()
    assert set(vars(bare)) == set(_TRACKER_STATE) | {"_pose_lock"}
