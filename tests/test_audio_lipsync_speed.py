"""The mouth analysis's cost per video frame (VAD + features + network), apart from
tests/test_audio_lipsync_model.py so that the model's other tests, which read no clock, run
in tests/run.py's parallel pass and this one alone."""

from __future__ import annotations

import time

import numpy as np

# The model tests' own fixtures (the voice detector, the network), shared, not copied.
from test_audio_lipsync_model import demo_clip, net, vad  # noqa: F401

from pipelines.audio.mouth import HOP, MouthAnalyzer
from pipelines.audio.resample import ANALYSIS_RATE

SPEED_BOUND_MS = 3.0
"""Median analysis time per 30 fps frame (VAD + features + network). The target is 1 ms on an
idle 2-core machine; the bound is generous because test machines are shared."""


def test_analysis_time_per_frame(net: object, vad: object) -> None:  # noqa: F811 (fixtures)
    from pipelines.audio.vad import StreamingVad

    signal = demo_clip()
    an = MouthAnalyzer(vad=StreamingVad(vad), jaw_net=net)  # type: ignore[arg-type]
    block = round(ANALYSIS_RATE / 30)
    times = []
    for i in range(0, len(signal) - block, block):
        t0 = time.perf_counter()
        an.push(signal[i : i + block])
        times.append((time.perf_counter() - t0) * 1000.0)
    median = float(np.median(times))
    print(f"analysis: median {median:.3f} ms per frame over {len(times)} frames")
    assert median <= SPEED_BOUND_MS
    assert an.latency_s <= 0.045  # the look-ahead stays within the lag budget
    assert HOP == 160
