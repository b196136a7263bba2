"""A pipelined engine with time to spare runs each frame's image stages on its processing
thread (engine.SERIAL_SHARE): no hand-off to the render thread or a stage's helper thread,
whose wake-ups cost CPU. Checked here: a paced source with quick stages goes serial (the render
stage on the processing thread, the frames marked UNHURRIED, every frame through every stage in
order, a later analysis stage's prepare still beside the first stage); slow stages, a lossless
engine and ``serial_share=None`` stay pipelined; the background blur and the segmentation
without their helper threads give the same bytes as with them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from segmentation_support import context_like, demo_frame_720p, demo_frames, segmented_once

from pipelines.engine import SERIAL_LEAVE, SERIAL_SHARE, Engine
from pipelines.frame import UNHURRIED, FrameContext
from pipelines.outputs.base import Output
from pipelines.segmentation import fused
from pipelines.segmentation.background import BackgroundBlur, BackgroundReplace
from pipelines.segmentation.stage import SEGMENTATION_RAW, Segmentation, SegmentationSettings
from pipelines.sources.base import Source, SourceConfig
from pipelines.stage import Stage
from pipelines.stats import StatsSnapshot

FPS = 50.0
FRAMES = 40
JOIN_S = 20.0
SETTLE = 10
"""Frames before the averages the engine decides on have settled (its first frames are
pipelined: nothing is known yet)."""


class PacedSource(Source):
    """Paced 32×24 frames at ``FPS`` whose pixels hold the frame index."""

    def __init__(self) -> None:
        super().__init__("", SourceConfig(width=32, height=24, fps=FPS, paced=True))

    def grab(self) -> np.ndarray:
        return np.full((24, 32, 3), self._index % 256, np.uint8)


class Recorder(Stage[Any]):
    """An image stage that notes the thread it ran on and whether the frame was marked
    unhurried, and sleeps ``delay_s`` (a stage's work)."""

    def __init__(self, name: str, delay_s: float) -> None:
        super().__init__()
        self.name = name
        self.delay_s = delay_s
        self.runs: list[tuple[int, str, bool]] = []

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.runs.append((ctx.index, threading.current_thread().name, bool(ctx.get(UNHURRIED))))
        ctx.extras[self.name] = int(image[0, 0, 0])
        time.sleep(self.delay_s)
        return image


class Analyser(Recorder):
    analysis_only = True


class PreparedAnalyser(Analyser):
    """An analysis stage with a prepare step (as the segmentation's network)."""

    def __init__(self, name: str, delay_s: float) -> None:
        super().__init__(name, delay_s)
        self.prepared_on: dict[int, str] = {}

    def prepare(self, image: np.ndarray, ctx: FrameContext) -> None:
        self.prepared_on[ctx.index] = threading.current_thread().name


class Collect(Output):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[int, dict[str, Any]]] = []

    @property
    def description(self) -> str:
        return "collect"

    def open(self, width: int, height: int, fps: float) -> None:
        pass

    def write(self, frame: Any) -> None:
        self.frames.append((frame.index, dict(frame.ctx.extras)))

    def close(self) -> None:
        pass


def _run(
    delay_s: float, **engine_args: Any
) -> tuple[tuple[Analyser, PreparedAnalyser, Recorder], Collect, StatsSnapshot]:
    stages = (
        Analyser("track", delay_s),
        PreparedAnalyser("segment", delay_s),
        Recorder("render", delay_s),
    )
    out = Collect()
    engine = Engine(PacedSource(), stages, [out], max_frames=FRAMES, **engine_args)
    engine.start()
    try:
        assert engine.wait(JOIN_S), "engine did not finish"
    finally:
        engine.stop()
    assert engine.stop_reason == "frames"
    return stages, out, engine.snapshot(whole_run=True)


LOST_AT_MOST = FRAMES // 10
"""Frames a latest-frame-wins engine may drop before its output when the machine stalls it
(a CI run beside other work lost 1 of 40: tests/run.py's first pass takes the cores the second
pass leaves)."""


def _check_every_frame_whole(out: Collect, stats: StatsSnapshot, lossless: bool = False) -> None:
    """Every processed frame out once, in order, each through every stage with its own
    pixels, or counted as dropped before the output (a lossless engine drops none)."""
    indices = [i for i, _ in out.frames]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert len(indices) + stats.dropped_before_output == FRAMES, (len(indices), stats)
    assert stats.dropped_before_output <= (0 if lossless else LOST_AT_MOST), stats
    for index, extras in out.frames:
        assert extras["track"] == extras["segment"] == extras["render"] == index % 256


def test_quick_stages_at_a_pace_run_serially_on_the_processing_thread() -> None:
    # 3 ms of stages a frame against 20 ms between frames: far below SERIAL_SHARE.
    (track, segment, render), out, stats = _run(0.001)
    _check_every_frame_whole(out, stats)
    late = [r for r in render.runs if r[0] >= SETTLE]
    assert late, "no frame rendered after the first ones"
    # A marked frame ran wholly on the processing thread, an unmarked one was handed on; the
    # later analysis stage's prepare ran beside the first stage either way (its latency).
    marked = {i for i, _, unhurried in late if unhurried}
    for i, thread, unhurried in late:
        assert thread == ("camfx-process" if unhurried else "camfx-render")
        assert segment.prepared_on[i].startswith("camfx-prepare")
    assert {i for i, _, u in track.runs if u and i >= SETTLE} == marked
    # Nearly all of them (old code: none). A frame may be handed on when the machine stalled
    # the engine long enough for the next one to wait already.
    assert len(marked) >= 0.8 * len(late), f"{len(marked)} of {len(late)} frames serial"


def test_slow_stages_stay_pipelined() -> None:
    # 3 × 7 ms = 21 ms a frame against 20 ms: above SERIAL_LEAVE, so the render thread takes
    # the image stages (which lets the engine keep up at all).
    assert 3 * 0.007 > SERIAL_LEAVE / FPS > SERIAL_SHARE / FPS
    (_, _, render), out, stats = _run(0.007)
    late = [r for r in render.runs if r[0] >= SETTLE]
    assert late and all(thread == "camfx-render" and not u for _, thread, u in late)
    _check_every_frame_whole(out, stats)


@pytest.mark.parametrize("args", [{"lossless": True}, {"serial_share": None}])
def test_lossless_or_no_share_never_goes_serial(args: dict[str, Any]) -> None:
    (_, _, render), out, stats = _run(0.001, **args)
    _check_every_frame_whole(out, stats, lossless=bool(args.get("lossless")))
    assert all(thread == "camfx-render" and not u for _, thread, u in render.runs)


def test_unpipelined_engine_never_marks_frames() -> None:
    (_, _, render), out, stats = _run(0.001, pipelined=False)
    _check_every_frame_whole(out, stats)
    assert not any(u for _, _, u in render.runs)


@pytest.mark.parametrize("kind", ["blur", "replace"])
def test_background_unhurried_is_the_same_picture_without_its_helper_thread(kind: str) -> None:
    compiled = fused.available()  # compiles the composites first, where Numba is there
    image = demo_frame_720p()
    ctx = segmented_once(image)

    def blur(unhurried: bool) -> tuple[np.ndarray, bool]:
        stage = BackgroundBlur() if kind == "blur" else BackgroundReplace()
        stage.open()
        frame_ctx = context_like(ctx)
        if unhurried:
            frame_ctx.put(UNHURRIED, True)
        try:
            out = stage.process(image, frame_ctx)
            return out, stage.overlap._pool is not None
        finally:
            stage.close()

    overlapped, used_helper = blur(False)
    serial, used_helper_serial = blur(True)
    # Without Numba (CAMFX_NO_JIT=1, or a CPU-only install) the blur's OpenCV path runs on one
    # thread whatever the pace: there is no helper to skip, and none may start.
    helps = compiled or kind == "replace"
    assert used_helper == helps and not used_helper_serial
    np.testing.assert_array_equal(serial, overlapped)
    assert np.abs(serial.astype(np.int16) - image).max() > 50  # the room was replaced


def test_segmentation_unhurried_is_the_same_mask_without_its_helper_thread() -> None:
    """The segmentation's network and its frame work (the guide, the motion weights) on the
    stage's own thread when the frame is unhurried: the same raw and refined masks, frame by
    frame (moving demo frames: network frames, reused and warped ones, the stabiliser on)."""
    fused.available()  # the guided filter's compiled fit on both runs, where Numba is there
    frames = demo_frames(8, step=2)

    def segment(unhurried: bool) -> tuple[list[np.ndarray], list[np.ndarray], bool]:
        seg = Segmentation(SegmentationSettings())
        seg.open()
        raws, masks = [], []
        try:
            for i, frame in enumerate(frames):
                ctx = FrameContext(i / 30.0, i)
                if unhurried:
                    ctx.put(UNHURRIED, True)
                seg.prepare(frame, ctx)
                seg.process(frame, ctx)
                raws.append(ctx.get(SEGMENTATION_RAW).copy())
                masks.append(ctx.mask.copy())
            return raws, masks, seg.overlap._pool is not None
        finally:
            seg.close()

    raw_o, mask_o, used_helper = segment(False)
    raw_s, mask_s, used_helper_serial = segment(True)
    assert used_helper and not used_helper_serial
    for a, b in zip(raw_o + mask_o, raw_s + mask_s, strict=True):
        np.testing.assert_array_equal(a, b)
