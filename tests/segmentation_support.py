"""Test pictures shared by the segmentation and composite tests: a webcam's noise, the
astronaut cut out over a room, the astronaut still in frame, and a random composite scene."""

from __future__ import annotations

import cv2
import numpy as np
from golden_data import face_photo, load_golden

from pipelines.frame import FrameContext
from pipelines.segmentation.refine import RefinedMask
from pipelines.segmentation.stage import Segmentation, SegmentationSettings
from pipelines.sources.base import SourceConfig
from pipelines.sources.demo import DemoSource, load_asset_image

SENSOR_NOISE_SIGMA = 4.0  # grey levels, a typical webcam indoors


def noisy(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``frame`` with a webcam's per-pixel noise, as uint8."""
    noise = rng.normal(0.0, SENSOR_NOISE_SIGMA, frame.shape)
    return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def still_portrait(width: int, height: int) -> np.ndarray:
    """The astronaut filling a ``width``×``height`` frame, head and shoulders."""
    portrait = face_photo("astronaut")
    scale = height / portrait.shape[0] * 1.2
    m = np.array([[scale, 0, width / 2 - 256 * scale], [0, scale, -20]], np.float32)
    return cv2.warpAffine(portrait, m, (width, height), borderMode=cv2.BORDER_REFLECT_101)


def person_and_room(
    width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator]:
    """The astronaut cut out with MediaPipe's own mask, scaled to the frame's height (float32
    BGR and its alpha), a still room of the frame's size, and the generator that drew the room
    (seeded: the sequences built from it draw their noise from it next)."""
    person = face_photo("astronaut")
    alpha = load_golden("solution_selfie_segmentation")["astronaut/model0"].astype(np.float32)
    rng = np.random.default_rng(7)
    coarse = rng.integers(60, 200, (9, 16, 3)).astype(np.uint8)
    room = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    s = height / person.shape[0]
    small = cv2.resize(person, None, fx=s, fy=s, interpolation=cv2.INTER_AREA).astype(np.float32)
    a = cv2.resize(alpha, (small.shape[1], small.shape[0]))
    return small, a, room, rng


def composite_scene(
    w: int, h: int, factor: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame, soft elliptical mask at 1/``factor`` size, background at 1/8 size), random."""
    rng = np.random.default_rng(seed)
    fg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    hard = np.zeros((h // factor, w // factor), np.float32)
    cv2.ellipse(hard, (w // factor // 2, h // factor // 2), (w // factor // 4, h // factor // 3),
                15, 0, 360, 1.0, -1)  # fmt: skip
    mask_small = np.clip(cv2.GaussianBlur(hard, (0, 0), 2.0) * 1.2 - 0.1, 0, 1)
    bg_small = rng.integers(0, 256, (max(1, h // 8), max(1, w // 8), 3), dtype=np.uint8)
    return fg, mask_small.astype(np.float32), bg_small


def demo_frames(
    count: int, step: int, size: tuple[int, int] = (640, 360), motion: str = "1"
) -> list[np.ndarray]:
    """The demo source's frames 0, ``step``, 2 ``step``, ... at 30 fps (it renders each from
    its index alone): a few frames apart, more motion between them than at 30 fps.
    ``motion``: the demo's argument ("0": a still picture)."""
    src = DemoSource(motion, SourceConfig(width=size[0], height=size[1], fps=30.0))
    src.open()
    frames = []
    for i in range(count):
        src._index = step * i
        frame = src.grab()
        assert frame is not None
        frames.append(frame)
    src.close()
    return frames


def demo_frame_720p() -> np.ndarray:
    """The demo's astronaut at 720p (the portrait, widened with its own mirror image)."""
    portrait = cv2.resize(load_asset_image("astronaut.png"), (720, 720))
    return cv2.copyMakeBorder(portrait, 0, 0, 280, 280, cv2.BORDER_REFLECT)


def segmented_once(image: np.ndarray) -> FrameContext:
    """The frame context after one unsmoothed segmentation of ``image``; its mask source is a
    :class:`RefinedMask`."""
    seg = Segmentation(SegmentationSettings(smoothing=0.0))
    seg.open()
    try:
        ctx = FrameContext(0.0, 0)
        seg.process(image, ctx)
    finally:
        seg.close()
    assert isinstance(ctx.mask_source, RefinedMask)
    return ctx


def context_like(segmented: FrameContext) -> FrameContext:
    """A new frame context carrying ``segmented``'s slots and refined mask: one background
    stage's run on the same segmentation, without running the network again."""
    ctx = FrameContext(0.0, 0)
    ctx.extras.update(segmented.extras)
    ctx.set_lazy_mask(segmented.mask_source)
    return ctx
