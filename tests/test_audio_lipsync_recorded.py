"""Real recorded speech for VALIDATION: the mouth's post-network constants are chosen on it.

tests/data/speech_validation (its NOTICE gives sources, licences and sha256): five speakers,
48 s in all, none of them the held-out LibriVox reader of tests/data/speech. Issue 13's
figure (the opening the animator asks for per video frame against each frame's loudness, on
continuous speech, :func:`pipelines.avatar.judge.commanded`) was chosen on these clips and
tools/train_mouth.py's TTS validation voices together, so a figure here is a tuning figure,
not a held-out one: the test holds what was reached.

The clips have no phone alignment: a speech span is where the recording is loud
(:func:`speech_spans`), which is all the figures read (the span that r is taken over, the
silent frames between clips).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from audio_support import vad_model

from pipelines.audio.mouth import HOP
from pipelines.audio.resample import ANALYSIS_RATE, resample

pytestmark = pytest.mark.clock_free

VALIDATION_DIR = Path(__file__).resolve().parent / "data" / "speech_validation"


@dataclass(frozen=True)
class RecordedVoice:
    """One speaker's clips in VALIDATION_DIR, read as one continuous stretch of speech."""

    name: str
    files: tuple[str, ...]


RECORDED_VOICES = (
    RecordedVoice("jfk_1961", ("jfk.flac",)),
    RecordedVoice("allison_en_us", ("allison_en_us_demo-nogo.flac",)),
    RecordedVoice("june_fr_ca", ("june_fr_ca_demo-nogo.flac",)),
    RecordedVoice("carlo_it", ("carlo_it_demo-nogo.flac",)),
    RecordedVoice("cmu_pocketsphinx", ("cmu_goforward.flac", "cmu_numbers.flac")),
)

SPEECH_BELOW_PEAK_DB = 30.0
"""A 10 ms block is speech when it is within this of the clip's loud blocks (99th
percentile)…"""
SPEECH_OVER_FLOOR_DB = 8.0
"""…and this far over its quiet ones (5th percentile): the JFK recording's crowd and hiss sit
only 32-35 dB under his voice, the studio prompts' silence 57-70 dB."""
SPAN_BRIDGE_S = 0.2
"""Quieter stretches shorter than this inside speech (a stop's silence, a quiet fricative)
stay in the span."""
SPEECH = "speech"
"""The name of a loud span in the clips' phone lists (no pause, :func:`mouth_fit.is_pause`)."""


def speech_spans(x: np.ndarray) -> list[tuple[str, float, float]]:
    """(SPEECH, start s, end s) of each loud stretch of 16 kHz ``x``."""
    n = len(x) // HOP
    blocks = np.asarray(x[: n * HOP], np.float64).reshape(n, HOP)
    db = 10.0 * np.log10(np.mean(blocks**2, axis=1) + 1e-12)
    threshold = max(
        float(np.percentile(db, 99)) - SPEECH_BELOW_PEAK_DB,
        float(np.percentile(db, 5)) + SPEECH_OVER_FLOOR_DB,
    )
    loud = np.flatnonzero(db > threshold)
    block_s = HOP / ANALYSIS_RATE
    spans: list[tuple[str, float, float]] = []
    for k in loud:
        start, end = k * block_s, (k + 1) * block_s
        if spans and start - spans[-1][2] < SPAN_BRIDGE_S:
            spans[-1] = (SPEECH, spans[-1][1], end)
        else:
            spans.append((SPEECH, start, end))
    return spans


def recorded_validation() -> dict[str, list[tuple[np.ndarray, list[tuple[str, float, float]]]]]:
    """Per voice of RECORDED_VOICES, its clips at 16 kHz with their speech spans."""
    from pipelines.audio.inputs import read_audio_file

    out = {}
    for voice in RECORDED_VOICES:
        parts = []
        for name in voice.files:
            data, rate = read_audio_file(VALIDATION_DIR / name)
            x = resample(np.asarray(data, np.float32).reshape(-1), rate, ANALYSIS_RATE)
            parts.append((x, speech_spans(x)))
        out[voice.name] = parts
    return out


def asked_figures(
    parts: list[tuple[np.ndarray, list[tuple[str, float, float]]]], name: str, vad: object
) -> tuple[float, float, float]:
    """(r, best lag ms) of the asked opening against loudness on the clips joined without a
    pause, and the share of silent frames asked shut with the clips apart over pink noise at
    20 dB (pipelines/avatar/judge.py's clips and figures)."""
    from pipelines.audio.vad import StreamingVad
    from pipelines.avatar.judge import (
        asked_shut_share,
        commanded,
        continuous,
        figures_from,
        with_pauses,
    )

    clip = continuous(name, parts)
    r, lag_ms, *_ = figures_from(clip, commanded(clip, StreamingVad(vad)))
    pauses = with_pauses(name, parts)
    return r, lag_ms, asked_shut_share(pauses, commanded(pauses, StreamingVad(vad)))


@pytest.fixture(scope="module")
def vad(tmp_path_factory: pytest.TempPathFactory) -> object:
    return vad_model(tmp_path_factory)


def test_every_clip_is_16k_mono_and_mostly_speech() -> None:
    from pipelines.audio.inputs import read_audio_file

    for voice in RECORDED_VOICES:
        for name in voice.files:
            data, rate = read_audio_file(VALIDATION_DIR / name)
            assert rate == ANALYSIS_RATE and np.asarray(data).ndim == 1, name
    for name, parts in recorded_validation().items():
        for x, spans in parts:
            spoken = sum(b - a for _, a, b in spans)
            assert 0.5 < spoken / (len(x) / ANALYSIS_RATE) < 0.98, (name, spoken)


R_ASKED_RECORDED = {
    "jfk_1961": 0.960,
    "allison_en_us": 0.883,
    "june_fr_ca": 0.904,
    "carlo_it": 0.813,
    "cmu_pocketsphinx": 0.905,
}
"""Issue 13's figure per recorded voice (r of the asked opening against loudness on
continuous speech), reached 2026-12-06 with the network's closure read only under the speech
peak (pipelines/audio/mouth.NETWORK_CLOSURE_UNDER_PEAK_DB); before it 0.960 / 0.851 / 0.861 /
0.795 / 0.902 (mean 0.874 against 0.893)."""
R_ASKED_RECORDED_TOL = 0.005
"""The figure is deterministic up to ONNX Runtime's rounding (< 0.001 between runs here); a
changed constant moves a voice by more (the closure gate 1 dB either way moves allison_en_us,
june_fr_ca and carlo_it by 0.005-0.007)."""
LAG_MAX_MS = 40.0
SILENT_SHUT_MIN = 0.98
"""Silent frames (pink noise at 20 dB between the clips) asked shut: 100 % for every voice."""


def test_asked_opening_follows_loudness_on_recorded_speech(vad: object) -> None:
    figures = {
        name: asked_figures(parts, name, vad) for name, parts in recorded_validation().items()
    }
    print({name: tuple(round(v, 3) for v in f) for name, f in figures.items()})
    for name, (r, lag_ms, shut) in figures.items():
        assert r >= R_ASKED_RECORDED[name] - R_ASKED_RECORDED_TOL, (name, r)
        assert abs(lag_ms) <= LAG_MAX_MS, (name, lag_ms)
        assert shut >= SILENT_SHUT_MIN, (name, shut)
