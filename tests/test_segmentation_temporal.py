"""Temporal stabilisation: still pictures stop flickering, moving people are followed at once."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation_support import noisy, person_and_room, still_portrait

from pipelines.frame import FrameContext
from pipelines.segmentation.metrics import iou, mean_abs_change
from pipelines.segmentation.stage import Segmentation, SegmentationSettings
from pipelines.segmentation.temporal import MaskStabilizer

FRAME_W, FRAME_H = 640, 360
STILL_FRAMES = 14
SETTLE_FRAMES = 3  # the running mask starts from the first frame's: skip its first steps
FLICKER_MAX = 0.005  # mean per-pixel |mask[t] - mask[t-1]| on the still, noisy sequence
FLICKER_RATIO_MAX = 0.5  # ... and at most half the unstabilised model's
MOVE_PX_PER_FRAME = 12
MOVING_FRAMES = 10
FOLLOW_IOU_MIN = 0.99  # stabilised mask at t vs the model's own mask at t
# A mask one frame late overlaps the current one this much at most on this motion; the
# follow bound must sit well above it or the test could not tell following from trailing.
TRAILING_IOU = 0.9


def _run(frames: list[np.ndarray], smoothing: float) -> list[np.ndarray]:
    # Unstabilised, the network runs on every frame (cadence 1): the reference must be the
    # model's own flicker, not a mask that skipping the network on still frames has stilled.
    cadence = SegmentationSettings().cadence if smoothing > 0.0 else 1
    stage = Segmentation(SegmentationSettings(smoothing=smoothing, cadence=cadence))
    stage.open()
    masks = []
    for i, frame in enumerate(frames):
        ctx = FrameContext(timestamp=i / 30.0, index=i)
        stage.process(frame, ctx)
        assert ctx.mask is not None
        masks.append(ctx.mask)
    stage.close()
    return masks


def test_still_noisy_sequence_flickers_less_than_the_model() -> None:
    still = still_portrait(FRAME_W, FRAME_H)
    rng = np.random.default_rng(0)
    frames = [noisy(still, rng) for _ in range(STILL_FRAMES)]
    stable = mean_abs_change(_run(frames, 0.6)[SETTLE_FRAMES:])
    raw = mean_abs_change(_run(frames, 0.0)[SETTLE_FRAMES:])
    assert stable <= FLICKER_MAX
    assert stable <= FLICKER_RATIO_MAX * raw


@pytest.fixture(scope="module")
def moving_person() -> list[np.ndarray]:
    """The astronaut (cut out with MediaPipe's own mask) walking across a still room."""
    small, a, room, rng = person_and_room(FRAME_W, FRAME_H)
    a = a[..., None]
    frames = []
    for i in range(MOVING_FRAMES):
        x = 100 + MOVE_PX_PER_FRAME * i
        f = room.astype(np.float32)
        region = f[:, x : x + small.shape[1]]
        region[:] = a * small + (1 - a) * region
        frames.append(noisy(f, rng))
    return frames


def test_moving_person_is_followed_within_one_frame(moving_person: list[np.ndarray]) -> None:
    stable = _run(moving_person, 0.6)
    raw = _run(moving_person, 0.0)
    for t in range(2, MOVING_FRAMES):
        assert iou(raw[t], raw[t - 1]) <= TRAILING_IOU  # the motion is large enough to tell
        assert iou(stable[t], raw[t]) >= FOLLOW_IOU_MIN, t


def test_stabilizer_restarts_after_a_gap_and_on_a_new_size() -> None:
    st = MaskStabilizer()
    gray = np.full((8, 8), 100, np.uint8)
    ones, zeros = np.ones((8, 8), np.float32), np.zeros((8, 8), np.float32)
    st.update(ones, gray, 0.0, 0.9)
    still = st.update(zeros, gray, 1 / 30, 0.9).copy()
    assert np.allclose(still, 0.9)  # a still pixel keeps `smoothing` of the old mask
    after_gap = st.update(zeros, gray, 5.0, 0.9)
    assert np.array_equal(after_gap, zeros)
    resized = st.update(np.ones((4, 4), np.float32), gray[:4, :4], 5.0 + 1 / 30, 0.9)
    assert np.array_equal(resized, np.ones((4, 4), np.float32))


def test_smoothing_has_the_same_time_constant_at_any_frame_rate() -> None:
    gray = np.full((8, 8), 100, np.uint8)
    ones, zeros = np.ones((8, 8), np.float32), np.zeros((8, 8), np.float32)
    at30, at60 = MaskStabilizer(), MaskStabilizer()
    at30.update(ones, gray, 0.0, 0.6)
    at60.update(ones, gray, 0.0, 0.6)
    a = at30.update(zeros, gray, 1 / 30, 0.6)
    at60.update(zeros, gray, 1 / 60, 0.6)
    b = at60.update(zeros, gray, 2 / 60, 0.6)
    assert np.allclose(a, b, atol=1e-5)


def test_moving_pixels_take_the_new_mask() -> None:
    st = MaskStabilizer()
    gray = np.full((32, 32), 100, np.uint8)
    ones, zeros = np.ones((32, 32), np.float32), np.zeros((32, 32), np.float32)
    st.update(ones, gray, 0.0, 0.9)
    moved = gray.copy()
    moved[8:24, 8:24] = 180  # something moved into the centre
    out = st.update(zeros, moved, 1 / 30, 0.9)
    assert np.allclose(out[12:20, 12:20], 0.0)  # followed at once
    assert np.allclose(out[0:2, 0:2], 0.9)  # still corners keep most of the old mask
