"""How long the video stands still when a preset is picked for the first time.

The window's tray switches presets with ``Engine.set_stages``; a preset used for the first time
in the process opens its models (ONNX sessions, the face tracker, warm-ups). This tool runs an
engine made by :func:`~pipelines.build.build_engine` on a live 30 fps source (the demo's moving
portrait, marked live so that the latest frame wins, as a camera's), lets it settle on a light
preset, picks another one as the tray does, and prints the longest gap between two delivered
frames from the pick until two seconds after the new stages run, and how many of those gaps
exceed :data:`HITCH_S` (a hitch a meeting sees).

Each preset is measured in a fresh process, so that no model is cached yet (the first pick of
the session). ``--tries`` repeats that and prints the median.

    .venv/bin/python tools/preset_switch_gap.py studio talking-head --tries 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SETTLE_S = 2.0
"""Frames on the light preset before the pick (the engine's averages settle)."""
AFTER_S = 2.0
"""Frames kept after the new stages run: their first frames are in the figure too (one second
until 2026-12-06: the kernels' load, which came after the swap then, lasted longer)."""
HITCH_S = 0.1
"""A gap between delivered frames longer than this is counted as a hitch (three frames of a
30 fps camera)."""
SWITCH_WAIT_S = 120.0
"""Time given the new stages to open on a loaded 2-core machine before giving up."""


def measure_once(preset: str, start: str, size: tuple[int, int], fps: float) -> dict[str, Any]:
    """One pick of ``preset`` in this process, from ``start``; the figures as a dict."""
    from pipelines.build import RunConfig, build_engine
    from pipelines.frame import Frame
    from pipelines.outputs.base import Output
    from pipelines.presets import build_stages, get_preset
    from pipelines.sources.base import SourceConfig
    from pipelines.sources.demo import DemoSource

    class LiveDemo(DemoSource):
        """The demo's moving portrait at a camera's pace, live: frames not taken are gone."""

        live = True

    class Arrivals(Output):
        """When each frame reached the output."""

        def __init__(self) -> None:
            super().__init__("arrivals")
            self.times: list[float] = []

        def write(self, frame: Frame) -> None:
            self.times.append(time.monotonic())

    source = LiveDemo("", SourceConfig(width=size[0], height=size[1], fps=fps, paced=True))
    source.open()
    out = Arrivals()
    run = build_engine(RunConfig(source=source, outputs=(out,), preset=start, lossless=False))
    engine = run.engine
    try:
        time.sleep(SETTLE_S)
        stages = build_stages(get_preset(preset))
        picked = time.monotonic()
        engine.set_stages(stages)
        deadline = picked + SWITCH_WAIT_S
        # Switched once a stage of the new list runs (one that cannot open is left out).
        while time.monotonic() < deadline and (
            engine.stages_pending or not any(s in stages for s in engine.pipeline.stages)
        ):
            time.sleep(0.005)
        switched = time.monotonic()
        time.sleep(AFTER_S)
        end = time.monotonic()
    finally:
        run.close()
        source.close()
    times = [t for t in out.times if picked - 0.1 <= t <= end]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Up to the first frame through the new stages (the opens, the swap, that frame), and the
    # frames after it, which may be slow too (a compile still running beside them): apart.
    first_new = next((i for i, t in enumerate(times) if t >= switched), len(times))
    at_switch = gaps[:first_new]
    after = gaps[first_new:]
    return {
        "preset": preset,
        "from": start,
        "longest_gap_s": round(max(gaps), 3) if gaps else None,
        "gap_to_first_new_frame_s": round(max(at_switch), 3) if at_switch else None,
        "longest_gap_after_s": round(max(after), 3) if after else None,
        "hitches": sum(g > HITCH_S for g in gaps),
        "hitches_after": sum(g > HITCH_S for g in after),
        "switch_s": round(switched - picked, 3),
        "frames": len(times),
        "running": engine.pipeline.names(),
        "problems": run.problems(*{e.kind for e in run.events}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="+", help="presets to pick, each in a fresh process")
    parser.add_argument("--from", dest="start", default="off", help="the light preset first")
    parser.add_argument("--tries", type=int, default=1)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    if args.once:
        print(json.dumps(measure_once(args.presets[0], args.start, (width, height), args.fps)))
        return 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    figures_of: dict[str, list[dict[str, Any]]] = {p: [] for p in args.presets}
    for _ in range(args.tries):
        for preset in args.presets:
            done = subprocess.run(
                [sys.executable, __file__, preset, "--once", "--from", args.start,
                 "--size", args.size, "--fps", str(args.fps)],
                cwd=ROOT, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines:
                print(f"{preset}: failed (exit {done.returncode}): {done.stderr[-500:]}")
                continue
            figures = json.loads(lines[-1])
            print(json.dumps(figures), flush=True)
            figures_of[preset].append(figures)
    load = os.getloadavg()
    for preset, tries in figures_of.items():
        medians = []
        for key in ("longest_gap_s", "gap_to_first_new_frame_s", "longest_gap_after_s"):
            values = [f[key] for f in tries if f[key] is not None]
            if values:
                medians.append(f"{key} {statistics.median(values):.3f}")
        for key in ("hitches", "hitches_after"):
            counts = [f[key] for f in tries if f.get(key) is not None]
            if counts:
                medians.append(f"{key} {statistics.median(counts):g}")
        print(f"{preset} (median of {len(tries)}): {', '.join(medians)}; load {load[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
