"""OpenCV's thread pool while an engine runs (issue 15): one thread by default, the previous
pool size back when the last engine stops, the user's OPENCV_FOR_THREADS_NUM left alone."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from app import cli
from pipelines import cvthreads
from pipelines.build import RunConfig, build_engine
from pipelines.engine import Engine
from pipelines.errors import StageError
from pipelines.frame import FrameContext
from pipelines.outputs.base import Output
from pipelines.sources.base import Source, SourceConfig
from pipelines.stage import Stage, StageSettings

POOL = 3
"""A pool size no engine default gives: what each test starts with and must get back."""


@pytest.fixture(autouse=True)
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(cvthreads.ENV_OVERRIDE, raising=False)
    before = cv2.getNumThreads()
    cv2.setNumThreads(POOL)
    yield
    cv2.setNumThreads(before)


class StillSource(Source):
    def __init__(self, limit: int = 5) -> None:
        super().__init__("", SourceConfig(width=32, height=24, fps=200.0, paced=False))
        self.limit = limit

    def grab(self) -> np.ndarray:
        if self._index >= self.limit:
            raise EOFError("done")
        return np.full((24, 32, 3), 7, np.uint8)


class PoolProbe(Stage[StageSettings]):
    """Records OpenCV's thread count as the engine's processing thread sees it."""

    name = "test-pool-probe"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.seen.append(cv2.getNumThreads())
        return cv2.GaussianBlur(image, (3, 3), 0)


class CannotOpen(Stage[StageSettings]):
    name = "test-pool-cannot-open"

    def open(self) -> None:
        raise FileNotFoundError("model.onnx is missing")


def run(engine: Engine) -> None:
    engine.start()
    try:
        assert engine.wait(10.0), "engine did not stop by itself"
    finally:
        engine.stop()


def test_an_engine_runs_opencv_on_its_own_threads_and_gives_the_pool_back() -> None:
    probe = PoolProbe()
    out = Output("null")
    run(Engine(StillSource(), [probe], [out], lossless=True))
    assert probe.seen and set(probe.seen) == {1}
    assert cv2.getNumThreads() == POOL


def test_cv_threads_none_leaves_opencv_as_it_was() -> None:
    probe = PoolProbe()
    run(Engine(StillSource(), [probe], [Output("null")], lossless=True, cv_threads=None))
    assert set(probe.seen) == {POOL}
    assert cv2.getNumThreads() == POOL


def test_the_users_opencv_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cvthreads.ENV_OVERRIDE, "2")
    probe = PoolProbe()
    run(Engine(StillSource(), [probe], [Output("null")], lossless=True))
    assert set(probe.seen) == {POOL}


def test_overlapping_engines_keep_one_thread_until_the_last_stops() -> None:
    first = Engine(StillSource(limit=10**6), [PoolProbe()], [Output("null")])
    second = Engine(StillSource(limit=10**6), [PoolProbe()], [Output("null")])
    first.start()
    second.start()
    try:
        assert cv2.getNumThreads() == 1
        first.stop()
        first.stop()  # idempotent: releases once
        assert cv2.getNumThreads() == 1
    finally:
        first.stop()
        second.stop()
    assert cv2.getNumThreads() == POOL


def test_a_start_that_fails_gives_the_pool_back() -> None:
    engine = Engine(
        StillSource(), [CannotOpen()], [Output("null")], lossless=True, stages_required=True
    )
    with pytest.raises(StageError):
        engine.start()
    assert cv2.getNumThreads() == POOL


def test_run_config_passes_the_setting_to_the_engine() -> None:
    built = build_engine(
        RunConfig(source=StillSource(), outputs=(Output("null"),), cv_threads=2), start=False
    )
    assert built.engine.cv_threads == 2
    assert RunConfig().cv_threads == cvthreads.CV_THREADS == 1


def test_bench_measures_the_demo_alone_with_the_engines_opencv_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The demo's warp costs different CPU with and without OpenCV's pool: the figure taken off
    # the engine's CPU must be measured under the pool size the engine runs with.
    from pipelines.sources.demo import DemoSource

    seen: list[int] = []
    grab = DemoSource.grab

    def spy(self: DemoSource) -> np.ndarray | None:
        seen.append(cv2.getNumThreads())
        return grab(self)

    monkeypatch.setattr(DemoSource, "grab", spy)
    args = argparse.Namespace(size=(64, 48), fps=200.0, cv_threads=None)
    assert cli.source_cpu_ms_per_grab(args, grabs=3) > 0
    assert set(seen) == {1}
    seen.clear()
    cli.source_cpu_ms_per_grab(argparse.Namespace(size=(64, 48), fps=200.0, cv_threads=0), 3)
    assert set(seen) == {POOL}
    assert cv2.getNumThreads() == POOL


def test_bench_says_which_opencv_threads_it_ran_with(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    def bench(*extra: str) -> str:
        argv = ["bench", "--frames", "5", "--warmup", "0", "--size", "64x48", "--json", *extra]
        assert cli.main(argv) == 0
        return str(json.loads(capsys.readouterr().out)["cv_threads"])

    assert bench() == "1"
    assert bench("--cv-threads", "0") == "OpenCV's default"
    assert bench("--cv-threads", "2") == "2"
    monkeypatch.setenv(cvthreads.ENV_OVERRIDE, "2")
    assert bench() == f"{cvthreads.ENV_OVERRIDE}=2"
    assert cv2.getNumThreads() == POOL
