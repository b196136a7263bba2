"""A lossless engine starts a ``prepare_ahead`` stage's prepare of the next frame beside its
process of the frame before (files and benchmarks: throughput).

Checked here: it does overlap, only when lossless; every frame is prepared once, in order,
and each process finds its own frame's prepare; and Studio's output is the same bytes as a
serial engine's on the same frames.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from pipelines.engine import Engine
from pipelines.frame import Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.presets import build_stages, get_preset
from pipelines.sources import open_source
from pipelines.sources.base import Source, SourceConfig
from pipelines.stage import Stage

FRAMES = 30
JOIN_S = 60.0


class FramesSource(Source):
    """Given frames, unpaced, each a fresh copy, timed by their index at 30 fps (as a file):
    the mask's temporal smoothing depends on the timestamps, so two runs see the same ones."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        h, w = frames[0].shape[:2]
        super().__init__("", SourceConfig(width=w, height=h, fps=30, paced=False, loop=False))
        self.frames = frames

    def read(self) -> Frame | None:
        i = self._index
        if i >= len(self.frames):
            raise EOFError  # the end (a live engine drops frames: max_frames is not reached)
        self._index += 1
        return Frame.new(self.frames[i].copy(), i / 30.0, i)


class Collect(Output):
    def __init__(self) -> None:
        super().__init__("collect")
        self.frames: list[Frame] = []

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.frames_written += 1


class Tracker(Stage[Any]):
    """An analysis stage ahead of the prepared one, as the face tracker is."""

    name = "first"
    analysis_only = True

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        time.sleep(0.002)
        return image


class Ahead(Stage[Any]):
    """Its prepare records whether its process of the frame before was running meanwhile."""

    name = "ahead"
    analysis_only = True
    prepare_ahead = True

    def __init__(self) -> None:
        super().__init__()
        self.processing = threading.Event()
        self.overlapped: list[bool] = []
        self.prepared: list[int] = []
        self.mismatched = 0

    def prepare(self, image: np.ndarray, ctx: FrameContext) -> None:
        # A process that starts right after this prepare is handed out is seen by the wait.
        self.overlapped.append(self.processing.wait(0.05))
        self.prepared.append(int(image[0, 0, 0]))
        ctx.extras["prepared"] = int(image[0, 0, 0])

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.processing.set()
        try:
            if ctx.extras.get("prepared") != int(image[0, 0, 0]):
                self.mismatched += 1
            time.sleep(0.01)
        finally:
            self.processing.clear()
        return image


class Render(Stage[Any]):
    name = "render"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        out = image.copy()
        out[0, 0, 1] = 255
        return out


def index_frames(count: int) -> list[np.ndarray]:
    return [np.full((24, 32, 3), i, np.uint8) for i in range(count)]


def run(stages: list[Stage[Any]], frames: list[np.ndarray], **kwargs: Any) -> list[Frame]:
    out = Collect()
    engine = Engine(FramesSource(frames), stages, [out], max_frames=len(frames), **kwargs)
    engine.start()
    assert engine.wait(JOIN_S)
    engine.stop()
    assert not engine.stats.errors
    return out.frames


def test_a_lossless_engine_prepares_the_next_frame_beside_process() -> None:
    ahead = Ahead()
    out = run([Tracker(), ahead, Render()], index_frames(FRAMES), lossless=True)
    assert [int(f.image[0, 0, 0]) for f in out] == list(range(FRAMES))
    assert all(f.image[0, 0, 1] == 255 for f in out)
    assert ahead.prepared == list(range(FRAMES))  # each frame once, in order
    assert ahead.mismatched == 0
    # The source always has the next frame ready: most prepares ran beside process.
    assert sum(ahead.overlapped) >= FRAMES // 2


def test_a_live_engine_never_prepares_ahead() -> None:
    ahead = Ahead()
    run([Tracker(), ahead, Render()], index_frames(FRAMES), lossless=False, serial_share=None)
    assert not any(ahead.overlapped)
    assert ahead.mismatched == 0


def studio() -> list[Stage[Any]]:
    stages: list[Stage[Any]] = build_stages(get_preset("studio"))
    for stage in stages:
        # Compiled kernels (with Numba) ready before the first frame, as in `camfx bench`:
        # until then a stage takes its OpenCV path, whenever the compile ends.
        stage.warm_up()
    return stages


def test_studio_output_is_the_same_as_a_serial_engine() -> None:
    """Segmentation prepares ahead: the mask's temporal weights, which compare a frame with
    the one before, are made in process, so the picture is the serial engine's, bit for
    bit (face tracker, only-me segmentation, blur, light, retouch)."""
    demo = open_source("demo", SourceConfig(width=640, height=360, fps=30, paced=False))
    try:
        frames = []
        for _ in range(FRAMES):
            frame = demo.read()
            assert frame is not None
            frames.append(frame.image)
    finally:
        demo.close()
    ahead = run(studio(), frames, lossless=True)
    serial = run(studio(), frames, lossless=True, pipelined=False)
    assert len(ahead) == len(serial) == FRAMES
    for a, s in zip(ahead, serial, strict=True):
        assert a.index == s.index
        assert np.array_equal(a.image, s.image), f"frame {a.index} differs"
