"""A preset picked while the camera runs: its stages are rehearsed on the latest frame before
the swap (pipelines.opener.rehearse) and forget it, so the first live frame through them is
what freshly opened stages make of it. A tracked face, a smoothed mask or a light correction
left over from the rehearsal would show in that frame."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from engine_support import Arrivals, run_stages, studio_stages

from pipelines.engine import Engine
from pipelines.frame import FrameContext
from pipelines.sources.base import SourceConfig
from pipelines.sources.demo import DemoSource
from pipelines.stage import Stage
from pipelines.tracking.tracker import FaceTracker

SIZE = (640, 360)
FPS = 30.0
WAIT_S = 15.0


class LiveDemo(DemoSource):
    """The demo's moving portrait at a camera's pace, live; each frame differs from the last,
    so a rehearsal's state would not match the next frame."""

    live = True


class WatchedTracker(FaceTracker):
    """The face tracker, saying on which threads it processed."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.threads: list[str] = []

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        return super().process(image, ctx)


def _wait(condition: Any, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_studios_first_live_frame_is_what_fresh_stages_make_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The OpenCV paths: the same in every run (the compiled ones are ready or not by then).
    monkeypatch.setenv("CAMFX_NO_JIT", "1")
    source = LiveDemo("", SourceConfig(width=SIZE[0], height=SIZE[1], fps=FPS, paced=True))
    source.open()
    out = Arrivals()
    engine = Engine(source, [], [out], lossless=False)
    stages: list[Stage[Any]] = studio_stages(chained=False)
    tracker = WatchedTracker(stages[0].settings)
    stages[0] = tracker
    engine.start()
    try:
        assert _wait(lambda: len(out.frames) >= 10), "no frames before the switch"
        engine.set_stages(stages)
        assert _wait(lambda: any("beauty" in f.ctx.stage_ms for _, f in out.frames))
    finally:
        engine.stop()
        source.close()
    assert tracker.threads[:2] == ["camfx-open", "camfx-open"], tracker.threads[:3]
    first = next(f for _, f in out.frames if "face_tracker" in f.ctx.stage_ms)
    assert first.ctx.faces, "no face in the first frame: nothing is compared"

    # The same frame, through the same stages freshly opened.
    replay = DemoSource("", SourceConfig(width=SIZE[0], height=SIZE[1], fps=FPS))
    replay.open()
    replay._index = first.index
    captured = replay.grab()
    assert captured is not None
    [(expected, ctx)] = run_stages(studio_stages(chained=True), [captured], hand_on_fresh=True)
    np.testing.assert_array_equal(first.ctx.faces[0].landmarks, ctx.faces[0].landmarks)
    differing = int(np.count_nonzero(first.image != expected))
    assert differing == 0, f"{differing} values differ from a fresh run"
