"""Stages run over a list of frames without an engine, as the engine runs them: the picture
tests that compare one Studio run with another (the light folded or not, the segmentation's
cadence) need every frame's output and context, in order, with nothing dropped or paced."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from pipelines.engine import Pipeline
from pipelines.frame import FRESH_IMAGE, WRITABLE_IMAGE, Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.presets import StageSpec, build_stages, get_preset
from pipelines.stage import Stage

FPS = 30.0


def studio_stages(
    *, chained: bool, settings: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Stage[Any]]:
    """The Studio preset's stages, not opened, through the preset builder. ``settings`` adds
    to (or replaces) the named stages' settings. ``chained``: each stage is told which stages
    follow it, as the engine's :class:`Pipeline` does (what lets the blur fold the light into
    its composite); unchained they run as they did before they were told."""
    preset = get_preset("studio")
    if settings:
        specs = tuple(
            StageSpec(s.stage, {**s.settings, **settings[s.stage]}) if s.stage in settings else s
            for s in preset.stages
        )
        preset = replace(preset, stages=specs)
    stages = build_stages(preset)
    if chained:
        Pipeline(stages)
    return stages


def run_stages(
    stages: Sequence[Stage[Any]],
    frames: Sequence[np.ndarray],
    *,
    warm_up: bool = False,
    hand_on_fresh: bool = False,
) -> list[tuple[np.ndarray, FrameContext]]:
    """Open ``stages``, run each of ``frames`` (a copy) through them in order, and close them
    (also after a failure): each frame's output picture (a copy) and its context. Frame ``i``
    is captured at ``i / FPS`` s (the light's smoothing and the cadence follow capture time);
    a switched-off stage is skipped as the engine skips it.

    ``warm_up``: each stage's warm-up once all are open, as benchmarks do.
    ``hand_on_fresh``: mark the picture fresh and let only the stage right after the one that
    made it write into it (:data:`FRESH_IMAGE`, :data:`WRITABLE_IMAGE`), as the engine does;
    without it no stage is offered a picture to write into."""
    for s in stages:
        s.open()
    if warm_up:
        for s in stages:
            s.warm_up()
    out = []
    try:
        for i, frame in enumerate(frames):
            ctx = FrameContext(timestamp=i / FPS, index=i)
            image = frame.copy()
            if hand_on_fresh:
                ctx.put(FRESH_IMAGE, image)
            for s in stages:
                if not s.settings.enabled:
                    continue
                if hand_on_fresh:
                    if ctx.pop(FRESH_IMAGE) is image:
                        ctx.put(WRITABLE_IMAGE, image)
                    else:
                        ctx.pop(WRITABLE_IMAGE)
                image = s.process(image, ctx)
            out.append((image.copy(), ctx))
    finally:
        for s in stages:
            s.close()
    return out


class Arrivals(Output):
    """Each delivered frame with the time it arrived (a running engine's gaps)."""

    def __init__(self) -> None:
        super().__init__("arrivals")
        self.frames: list[tuple[float, Frame]] = []

    def write(self, frame: Frame) -> None:
        self.frames.append((time.monotonic(), frame))
        super().write(frame)

    def gaps_since(self, t: float) -> np.ndarray:
        """Seconds between the frames that arrived from ``t`` on."""
        times = [a for a, _ in self.frames if a >= t]
        return np.diff(times) if len(times) > 1 else np.zeros(0)
