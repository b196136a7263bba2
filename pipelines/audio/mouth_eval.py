"""How well a mouth track follows a voice: the figures issue 13 judges lip-sync by.

* ``loudness``: log10 of the RMS over one video frame period (33 ms) centred on each instant,
  as the rendered-video test measures it from the file's own sound track;
* ``opening``: what the renderer opens the lips by, ``jaw × (1 − closure)``
  (pipelines/avatar/motion.py), which the tracker's inner-lip distance follows monotonically;
* Pearson r between the two, the best time offset, and how often the mouth is closed in
  silence.

Used by ``tools/train_mouth.py`` (model selection, held-out report) and the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from pipelines.audio.mouth import HOP, MouthAnalyzer, MouthParams
from pipelines.audio.mouth_fit import is_pause
from pipelines.audio.resample import ANALYSIS_RATE

FRAME_S = 1.0 / 30.0
LOUDNESS_FLOOR = 1e-4
"""Added to the RMS before the log, as the rendered-video test does (−80 dBFS)."""
CLOSED_OPENING = 0.05
"""An opening below this counts as a closed mouth."""
SILENCE_MARGIN_S = 0.15
"""Silent frames are those at least this far from any speech (the lips take time to close)."""


@dataclass
class Track:
    time: np.ndarray
    """Seconds: the instant each estimate describes (after the analyzer's delay is removed)."""
    opening: np.ndarray
    jaw: np.ndarray
    closure: np.ndarray


def run_analyzer(
    analyzer: MouthAnalyzer, signal: np.ndarray, block: int = 533, compensate: bool = True
) -> Track:
    """Stream ``signal`` (16 kHz) through ``analyzer`` in video-frame-sized blocks.

    With ``compensate`` the times are shifted back by the analyzer's latency, as the stage does
    for files (it looks ahead by that much); without, they are the newest sample's time, as for
    a live microphone."""
    out: list[MouthParams] = []
    for i in range(0, len(signal), block):
        out += analyzer.push(signal[i : i + block])
    shift = analyzer.latency_s if compensate else 0.0
    jaw = np.array([p.jaw for p in out])
    closure = np.array([p.closure for p in out])
    return Track(np.array([p.time for p in out]) - shift, jaw * (1.0 - closure), jaw, closure)


def loudness(signal: np.ndarray, times: np.ndarray, window_s: float = FRAME_S) -> np.ndarray:
    """log10 RMS of ``signal`` over ``window_s`` centred on each of ``times``."""
    sq = np.concatenate([[0.0], np.cumsum(np.asarray(signal, np.float64) ** 2)])
    half = window_s / 2 * ANALYSIS_RATE
    lo = np.clip(np.round(times * ANALYSIS_RATE - half).astype(int), 0, len(signal))
    hi = np.clip(np.round(times * ANALYSIS_RATE + half).astype(int), 0, len(signal))
    n = np.maximum(hi - lo, 1)
    return np.log10(np.sqrt((sq[hi] - sq[lo]) / n) + LOUDNESS_FLOOR)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _lagged(
    opening: np.ndarray, loud: np.ndarray, mask: np.ndarray, lag: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The triple aligned with the opening ``lag`` hops later than the loudness (negative:
    earlier)."""
    if lag > 0:
        return opening[lag:], loud[:-lag], mask[:-lag]
    if lag < 0:
        return opening[:lag], loud[-lag:], mask[-lag:]
    return opening, loud, mask


def best_lag_ms(
    pairs: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], max_ms: float = 200.0
) -> tuple[float, float]:
    """(best lag in ms, r there) over pooled (opening, loudness, mask) triples."""
    pairs = list(pairs)
    hop_ms = 1000.0 * HOP / ANALYSIS_RATE
    lags = range(-int(max_ms / hop_ms), int(max_ms / hop_ms) + 1)
    scores = []
    for lag in lags:
        os_, ls_ = [], []
        for triple in pairs:
            o, lo, m = _lagged(*triple, lag)
            os_.append(o[m])
            ls_.append(lo[m])
        scores.append(pearson(np.concatenate(os_), np.concatenate(ls_)))
    k = int(np.argmax(scores))
    return list(lags)[k] * hop_ms, scores[k]


def speech_mask(
    times: np.ndarray, phonemes: list[tuple[str, float, float]], is_pause: Callable[[str], bool]
) -> np.ndarray:
    """True at times inside a non-pause phoneme."""
    mask = np.zeros(len(times), bool)
    for name, start, end in phonemes:
        if not is_pause(name):
            mask |= (times >= start) & (times < end)
    return mask


def silent_mask(times: np.ndarray, speech: np.ndarray, margin_s: float = SILENCE_MARGIN_S):
    """True at times farther than ``margin_s`` from any speech time."""
    if not speech.any():
        return np.ones(len(times), bool)
    t_speech = times[speech]
    idx = np.searchsorted(t_speech, times)
    before = np.abs(times - t_speech[np.clip(idx - 1, 0, len(t_speech) - 1)])
    after = np.abs(t_speech[np.clip(idx, 0, len(t_speech) - 1)] - times)
    return np.minimum(before, after) > margin_s


@dataclass
class Stream:
    clean: np.ndarray
    """16 kHz speech at its final gain, without noise or echo."""
    phonemes: list[tuple[str, float, float]]
    """(name, start s, end s) in stream time."""


def join(
    parts: list[tuple[np.ndarray, list[tuple[str, float, float]]]],
    gaps: list[float],
    peak: float,
    lead_s: float = 0.4,
    tail_s: float = 0.5,
) -> Stream:
    """Utterances (16 kHz audio, phonemes) one after another, each followed by its gap of
    silence and scaled to ``peak``; 0 s gaps make continuous speech."""
    chunks: list[np.ndarray] = [np.zeros(int(lead_s * ANALYSIS_RATE), np.float32)]
    phonemes, t = [], lead_s
    for (x, ph), gap in zip(parts, gaps, strict=True):
        chunks.append(x / max(1e-6, float(np.abs(x).max())))
        phonemes += [(n, a + t, b + t) for n, a, b in ph]
        t += len(x) / ANALYSIS_RATE
        chunks.append(np.zeros(int(gap * ANALYSIS_RATE), np.float32))
        t += int(gap * ANALYSIS_RATE) / ANALYSIS_RATE
    chunks.append(np.zeros(int(tail_s * ANALYSIS_RATE), np.float32))
    return Stream((peak * np.concatenate(chunks)).astype(np.float32), phonemes)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS background noise: white, pink, hum (50 Hz and harmonics) or fan."""
    t = np.arange(n) / ANALYSIS_RATE
    white = rng.normal(0, 1, n)
    sig: np.ndarray
    if kind == "white":
        sig = white
    elif kind == "pink":
        sig = np.cumsum(white)
        sig = sig - np.convolve(sig, np.ones(400) / 400, mode="same")
    elif kind == "hum":
        sig = np.sum(
            [np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 6)) / k for k in range(1, 8)], axis=0
        )
    else:  # fan
        sig = np.convolve(white, np.ones(8) / 8, mode="same") * (1 + 0.3 * np.sin(np.pi * t))
    sig = np.asarray(sig, np.float64)
    return sig / (np.sqrt(np.mean(sig**2)) + 1e-12)


def speech_rms(clean: np.ndarray) -> float:
    return float(np.sqrt(np.mean(clean[np.abs(clean) > 1e-3] ** 2)))


@dataclass
class VoiceFigures:
    r_continuous: float
    """Mean over streams of r(opening, loudness) on speech frames of continuous speech."""
    r_continuous_min: float
    r_pauses_noise: float
    """Mean r over the whole span of speech with 0.7 s pauses and pink noise at 20 dB SNR."""
    lag_ms: float
    """Best offset of the opening behind the loudness (continuous speech, pooled)."""
    closed_silence: float
    """Fraction of silent frames (in the pauses, over the noise) with the mouth closed."""
    r_phoneme: float
    """r between the jaw and the phoneme jaw table (pipelines/audio/mouth_fit.py), continuous
    speech: how much of the articulation is left beside the loudness."""


def voice_figures(
    utts: list[tuple[np.ndarray, list[tuple[str, float, float]]]],
    make_analyzer: Callable[[], MouthAnalyzer],
    per_stream: int = 4,
    seed: int = 5,
) -> VoiceFigures:
    """The issue's figures for one voice, from its utterances strung into streams."""
    rng = np.random.default_rng(seed)
    from pipelines.audio.mouth_fit import target_track

    r_cont, pairs, closed, r_noisy, r_ph = [], [], [], [], []
    for i in range(0, len(utts), per_stream):
        parts = utts[i : i + per_stream]
        for gap, noisy in ((0.0, False), (0.7, True)):
            s = join(parts, [gap] * len(parts), 0.5)
            sig = s.clean + rng.normal(0, 1e-4, len(s.clean)).astype(np.float32)
            if noisy:
                level = speech_rms(s.clean) * 10 ** (-20 / 20)
                sig = sig + (level * noise("pink", len(sig), rng)).astype(np.float32)
            tr = run_analyzer(make_analyzer(), sig)
            sp = speech_mask(tr.time, s.phonemes, is_pause)
            loud = loudness(sig, tr.time)
            if not noisy:
                r_cont.append(pearson(tr.opening[sp], loud[sp]))
                pairs.append((tr.opening, loud, sp))
                r_ph.append(pearson(tr.jaw, target_track(s.phonemes, tr.time)))
            else:
                span = (tr.time > s.phonemes[0][1]) & (tr.time < s.phonemes[-1][2])
                r_noisy.append(pearson(tr.opening[span], loud[span]))
                closed += (tr.opening[silent_mask(tr.time, sp)] < CLOSED_OPENING).tolist()
    lag, _ = best_lag_ms(pairs)
    return VoiceFigures(
        float(np.mean(r_cont)),
        float(np.min(r_cont)),
        float(np.mean(r_noisy)),
        lag,
        float(np.mean(closed)),
        float(np.mean(r_ph)),
    )
