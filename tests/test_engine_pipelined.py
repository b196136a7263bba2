"""Pipelined processing: analysis stages of frame N+1 beside the image stages of frame N.

Checked here: each frame still passes every stage in order with its own results, frames leave
in order, the two groups run on different threads, a stage list swap while running never
closes a stage that the other thread is using, and max_frames is exact.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from pipelines.engine import Engine
from pipelines.frame import Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.sources.base import Source, SourceConfig
from pipelines.stage import Stage

FRAMES = 40
JOIN_S = 20.0


class IndexSource(Source):
    """Unpaced 32×24 frames whose pixels hold the frame index."""

    def __init__(self) -> None:
        super().__init__("", SourceConfig(width=32, height=24, fps=30, paced=False))

    def grab(self) -> np.ndarray:
        return np.full((24, 32, 3), self._index % 256, np.uint8)


class Analyse(Stage[Any]):
    """Writes the frame's pixel value into the context, like a tracker writes landmarks."""

    name = "analyse"
    analysis_only = True

    def __init__(self, delay_s: float = 0.002) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.threads: set[str] = set()
        self.in_use = threading.Event()
        self.closed_while_in_use = False

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        ctx.extras["seen"] = int(image[0, 0, 0])
        return image


class Render(Stage[Any]):
    """Uses the analysis result of the same frame; fails loudly on a mismatch."""

    name = "render"

    def __init__(self, delay_s: float = 0.004) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.threads: set[str] = set()
        self.busy = False
        self.closed_while_busy = False

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.busy = True
        try:
            self.threads.add(threading.current_thread().name)
            seen = ctx.extras.get("seen", ctx.extras.get("prepared"))
            assert seen == int(image[0, 0, 0]), "analysis of another frame"
            time.sleep(self.delay_s)
            out = image.copy()
            out[0, 0, 1] = 255
            return out
        finally:
            self.busy = False

    def close(self) -> None:
        if self.busy:
            self.closed_while_busy = True
        super().close()


class Collect(Output):
    def __init__(self) -> None:
        super().__init__("collect")
        self.frames: list[Frame] = []

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.frames_written += 1


def run_engine(stages: list[Stage[Any]], pipelined: bool = True) -> tuple[Engine, Collect]:
    out = Collect()
    engine = Engine(
        IndexSource(), stages, [out], lossless=True, max_frames=FRAMES, pipelined=pipelined
    )
    engine.start()
    assert engine.wait(JOIN_S)
    engine.stop()
    return engine, out


def test_every_frame_passes_both_groups_in_order() -> None:
    analyse, render = Analyse(), Render()
    engine, out = run_engine([analyse, render])
    assert len(out.frames) == FRAMES  # exact, although analysis runs one frame ahead
    indices = [f.index for f in out.frames]
    assert indices == sorted(indices) == list(range(FRAMES))
    for frame in out.frames:
        assert frame.image[0, 0, 1] == 255  # the render stage ran
        assert frame.ctx.extras["seen"] == frame.index % 256  # with its own analysis
        assert set(frame.ctx.stage_ms) == {"analyse", "render"}
    assert not engine.stats.errors


def test_groups_run_on_two_threads_only_when_pipelined() -> None:
    analyse, render = Analyse(), Render()
    run_engine([analyse, render], pipelined=True)
    assert analyse.threads == {"camfx-process"}
    assert render.threads == {"camfx-render"}

    analyse, render = Analyse(), Render()
    run_engine([analyse, render], pipelined=False)
    assert analyse.threads == render.threads == {"camfx-process"}


def test_only_a_leading_run_of_analysis_stages_is_split_off() -> None:
    render, late = Render(), Analyse()
    _engine, out = run_engine([Analyse(), render, late])
    assert len(out.frames) == FRAMES
    # An analysis stage after an image stage must see the rendered image: same thread as it.
    assert late.threads == render.threads == {"camfx-render"}


def test_stage_swap_while_pipelined_never_closes_a_stage_in_use() -> None:
    analyse, render = Analyse(delay_s=0.001), Render(delay_s=0.003)
    out = Collect()
    source = IndexSource()
    engine = Engine(source, [analyse, render], [out], lossless=False, pipelined=True)
    engine.start()
    renders = [render]
    try:
        for _ in range(15):
            time.sleep(0.01)
            new_render = Render(delay_s=0.003)
            renders.append(new_render)
            engine.set_stages([analyse, new_render])
        time.sleep(0.1)
    finally:
        engine.stop()
    assert not any(r.closed_while_busy for r in renders)
    assert not engine.stats.errors
    assert out.frames and all(f.image[0, 0, 1] == 255 for f in out.frames)
    assert [f.index for f in out.frames] == sorted(f.index for f in out.frames)


class First(Stage[Any]):
    """An analysis stage that lets the next stage's prepare know it is running."""

    name = "first"
    analysis_only = True

    def __init__(self) -> None:
        super().__init__()
        self.running = threading.Event()

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.running.set()
        time.sleep(0.02)
        self.running.clear()
        return image


class PreparedSecond(Stage[Any]):
    """Its prepare records whether the first stage was running on the same frame meanwhile."""

    name = "second"
    analysis_only = True

    def __init__(self, first: First, wait_s: float = 2.0) -> None:
        super().__init__()
        self.first = first
        self.wait_s = wait_s
        self.overlapped: list[bool] = []
        self.prepared_before_process: list[bool] = []

    def prepare(self, image: np.ndarray, ctx: FrameContext) -> None:
        self.overlapped.append(self.first.running.wait(self.wait_s))
        ctx.extras["prepared"] = int(image[0, 0, 0])

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.prepared_before_process.append(ctx.extras.get("prepared") == int(image[0, 0, 0]))
        return image


def test_prepare_of_a_later_analysis_stage_runs_beside_the_earlier_one() -> None:
    first = First()
    second = PreparedSecond(first)
    engine, out = run_engine([first, second, Render()])
    assert len(out.frames) == FRAMES
    # (Analysis runs one frame ahead, so it may have seen one frame more than was delivered.)
    assert all(second.prepared_before_process) and len(second.prepared_before_process) >= FRAMES
    # The first stage's process signals while it runs: prepare saw it on (almost) every frame.
    assert sum(second.overlapped) >= FRAMES - 2
    assert not engine.stats.errors
    assert "second/prepare" in engine.stats.stage


def test_prepare_runs_inline_when_not_pipelined_and_failures_bypass_the_stage() -> None:
    class Failing(PreparedSecond):
        def prepare(self, image: np.ndarray, ctx: FrameContext) -> None:
            raise RuntimeError("model crashed")

    first = First()
    second = PreparedSecond(first, wait_s=0.01)
    run_engine([first, second], pipelined=False)
    assert all(second.prepared_before_process)
    assert not any(second.overlapped[:5])  # sequential: the first stage was never running

    failing = Failing(First())
    engine, out = run_engine([First(), failing, Render()])
    assert len(out.frames) == FRAMES
    assert engine.stats.errors.get("second", 0) >= FRAMES
    assert failing.prepared_before_process == []  # process is skipped when prepare failed
