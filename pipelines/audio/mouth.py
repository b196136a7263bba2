"""Audio → mouth parameters, streaming, every 10 ms.

Features (one 25 ms Hann window per 10 ms hop, 512-point FFT at 16 kHz):

* six band levels (80–300–800–1500–2500–4000–8000 Hz) in dB relative to a running speech peak
  (an AGC, so the microphone's gain does not matter);
* the spectral centroid of 250–1200 Hz (tracks the first formant: high for open vowels) and of
  800–3000 Hz (tracks the second formant: high for spread lips, low for rounded ones);
* the ratio of 800–4000 Hz to 80–300 Hz energy: very low in nasal murmur and voice bars, i.e.
  while the lips are closed for m and b;
* Silero VAD's speech probability, which gates everything: background noise never moves the
  mouth.

Jaw opening is a linear read-out of those features whose weights were fitted by least squares
on espeak-ng speech against phoneme targets (:mod:`pipelines.audio.mouth_fit` reproduces them;
the tests check held-out sentences and voices). The rest are hand-set ramps over the features.
Every output is smoothed with separate attack and release times, and the whole chain looks at
no future samples: its delay is :attr:`MouthAnalyzer.latency_s`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.audio.resample import ANALYSIS_RATE

HOP = 160
"""10 ms at 16 kHz."""
WINDOW = 400
"""25 ms."""
NFFT = 512
BAND_EDGES = (80.0, 300.0, 800.0, 1500.0, 2500.0, 4000.0, 8000.0)
LEVEL_RANGE_DB = 30.0
"""Band levels are mapped from (peak − 30 dB … peak) to 0 … 1."""

# Jaw read-out: weights for [6 band levels, total level, F1-centroid × mid level, 1].
# Fitted by ``python -m pipelines.audio.mouth_fit`` (least squares, espeak-ng training set).
JAW_WEIGHTS = np.array(
    [-0.354, 0.121, -0.131, 0.054, 0.063, -0.167, 0.089, 0.744, 0.325], dtype=np.float32
)


@dataclass(frozen=True)
class MouthParams:
    """Mouth shape for one instant. All 0 (and width 0) is the portrait's own mouth at rest."""

    jaw: float = 0.0
    """Jaw opening, 0 closed … 1 wide open (an open 'a')."""
    width: float = 0.0
    """Lip width: +1 spread (as in 'ee'), −1 rounded and pursed (as in 'oo'), 0 neutral."""
    closure: float = 0.0
    """Lips pressed together (m, b, p), 0 … 1; wins over ``jaw`` at the lips."""
    level: float = 0.0
    """Loudness relative to the speaker's recent peak, 0 … 1 (drives head nods)."""
    speech: float = 0.0
    """Voice activity probability (Silero VAD, or the energy fallback)."""
    speaking: bool = False
    time: float = 0.0
    """Stream time in seconds of the newest sample this estimate has seen."""

    def is_neutral(self, tol: float = 1e-3) -> bool:
        return abs(self.jaw) < tol and abs(self.width) < tol and abs(self.closure) < tol


NEUTRAL = MouthParams()


@dataclass(frozen=True)
class AnalyzerSettings:
    vad_on: float = 0.5
    """VAD probability that starts speech."""
    vad_off: float = 0.3
    """VAD probability below which speech ends (after ``hangover_ms``)."""
    hangover_ms: float = 150.0
    min_snr_db: float = 6.0
    """Frames less than this above the noise floor never open the mouth."""
    energy_on_snr_db: float = 15.0
    """Without a VAD model: the signal-to-noise ratio that counts as speech."""
    attack_ms: float = 15.0
    release_ms: float = 35.0
    gain: float = 1.0
    """Exaggeration of the jaw opening (1 = as measured)."""


def _one_pole(ms: float) -> float:
    """Per-hop smoothing coefficient for time constant ``ms``."""
    if ms <= 0:
        return 1.0
    return 1.0 - math.exp(-HOP / ANALYSIS_RATE * 1000.0 / ms)


class FeatureExtractor:
    """Band levels and centroids for a batch of hops (stateless; vectorised)."""

    def __init__(self) -> None:
        self.window = np.hanning(WINDOW).astype(np.float32)
        freqs = np.fft.rfftfreq(NFFT, 1.0 / ANALYSIS_RATE)
        self.bands = np.zeros((len(freqs), len(BAND_EDGES) - 1), np.float32)
        for j, (lo, hi) in enumerate(itertools.pairwise(BAND_EDGES)):
            self.bands[(freqs >= lo) & (freqs < hi), j] = 1.0
        f1 = (freqs >= 250) & (freqs < 1200)
        f2 = (freqs >= 800) & (freqs < 3000)
        self.f1_w = np.where(f1, freqs, 0).astype(np.float32)
        self.f1_m = f1.astype(np.float32)
        self.f2_w = np.where(f2, freqs, 0).astype(np.float32)
        self.f2_m = f2.astype(np.float32)

    def __call__(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """``frames``: hops × WINDOW samples. Returns per-hop features."""
        spec = np.fft.rfft(frames * self.window, NFFT, axis=1)
        power = (spec.real**2 + spec.imag**2).astype(np.float32) + 1e-12
        bands = power @ self.bands
        band_db = 10.0 * np.log10(bands + 1e-10)
        total_db = 10.0 * np.log10(bands.sum(axis=1) + 1e-10)
        f1c = (power @ self.f1_w) / (power @ self.f1_m)
        f2c = (power @ self.f2_w) / (power @ self.f2_m)
        # Murmur: energy of 300-800 Hz (F1 region) and of 800-2500 Hz (F2) against the voice
        # bar / nasal resonance below 300 Hz; both are low while the lips are closed.
        low = bands[:, 0] + 1e-10
        f1_db = 10.0 * np.log10((bands[:, 1] + 1e-10) / low)
        f2_db = 10.0 * np.log10((bands[:, 2] + bands[:, 3] + 1e-10) / low)
        return {
            "band_db": band_db,
            "total_db": total_db,
            "f1c": f1c,
            "f2c": f2c,
            "murmur_f1_db": f1_db,
            "murmur_f2_db": f2_db,
        }


class MouthAnalyzer:
    """Feed 16 kHz mono samples; get one :class:`MouthParams` per 10 ms hop."""

    def __init__(self, settings: AnalyzerSettings | None = None, vad: object | None = None):
        self.settings = settings or AnalyzerSettings()
        self.vad = vad
        """A :class:`~pipelines.audio.vad.StreamingVad`, or None for the energy fallback."""
        self.features = FeatureExtractor()
        self.recorder: list[tuple[np.ndarray, bool, float]] | None = None
        """When a list: each hop appends (jaw design row, speaking, audible) — for fitting."""
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(WINDOW - HOP, np.float32)  # history before the next hop
        self._samples = 0
        self._hops = 0
        self.noise_db = -60.0
        self.peak_db: float | None = None
        self._vad_prob = 0.0
        self._speaking = False
        self._quiet_ms = 0.0
        self._gate = 0.0
        self._jaw = 0.0
        self._width = 0.0
        self._closure = 0.0
        self._level = 0.0
        self.last = NEUTRAL
        if self.vad is not None:
            self.vad.reset()  # type: ignore[attr-defined]

    @property
    def latency_s(self) -> float:
        """Group delay of the estimate behind the newest sample: half the window plus the
        smoothing (measured on speech; the tests check the best-matching offset)."""
        return (WINDOW / 2) / ANALYSIS_RATE + 0.5 * (self.settings.attack_ms / 1000.0)

    @property
    def time(self) -> float:
        return self._samples / ANALYSIS_RATE

    def push(self, samples: np.ndarray) -> list[MouthParams]:
        samples = np.asarray(samples, np.float32).reshape(-1)
        if samples.size == 0:
            return []
        history = WINDOW - HOP
        buf = np.concatenate([self._buf, samples])
        hops = (len(buf) - history) // HOP
        out: list[MouthParams] = []
        if hops > 0:
            idx = np.arange(hops)[:, None] * HOP + np.arange(WINDOW)[None, :]
            arrays = self.features(buf[idx])
            feats = {name: arr.tolist() for name, arr in arrays.items()}
            self._att = _one_pole(self.settings.attack_ms)
            self._rel = _one_pole(self.settings.release_ms)
            for k in range(hops):
                if self.vad is not None:
                    # The VAD sees exactly the samples up to this hop's end, no later ones.
                    new = buf[history + k * HOP : history + (k + 1) * HOP]
                    probs = self.vad.push(new)  # type: ignore[attr-defined]
                    if probs:
                        self._vad_prob = probs[-1]
                self._hops += 1
                out.append(self._step(feats, k, self._hops * HOP))
            self._buf = buf[hops * HOP :]
        else:
            self._buf = buf
        self._samples += samples.size
        if out:
            self.last = out[-1]
        return out

    def _step(self, f: dict[str, list[Any]], k: int, end_sample: int) -> MouthParams:
        # Plain floats from here on: this runs every 10 ms, numpy scalars would cost more
        # than the FFT.
        s = self.settings
        total = f["total_db"][k]
        # Noise floor: follows drops at once, rises 3 dB/s (minimum tracking).
        if total < self.noise_db:
            self.noise_db = total
        else:
            self.noise_db = min(total, self.noise_db + 3.0 * HOP / ANALYSIS_RATE)
        snr = total - self.noise_db

        if self.vad is not None:
            prob = self._vad_prob
        else:
            prob = _clip((snr - s.energy_on_snr_db + 6.0) / 12.0)
        hop_ms = 1000.0 * HOP / ANALYSIS_RATE
        if prob >= s.vad_on:
            self._speaking = True
            self._quiet_ms = 0.0
        elif prob < s.vad_off and self._speaking:
            self._quiet_ms += hop_ms
            if self._quiet_ms >= s.hangover_ms:
                self._speaking = False

        # Speech peak (AGC): fast up, 2 dB/s down, only while speaking.
        if self._speaking and snr > s.min_snr_db:
            if self.peak_db is None:
                self.peak_db = total + 6.0
            elif total > self.peak_db:
                self.peak_db += 0.5 * (total - self.peak_db)
            else:
                self.peak_db = max(self.noise_db + 20.0, self.peak_db - 2.0 * hop_ms / 1000.0)
        peak = self.peak_db if self.peak_db is not None else self.noise_db + 40.0

        # The jaw read-out: band levels and total level mapped from (peak - 30 dB ... peak) to
        # 0 ... 1, the F1 centroid gated by the 300-1500 Hz level, and a constant.
        bands = [_clip((b - peak + LEVEL_RANGE_DB) / LEVEL_RANGE_DB) for b in f["band_db"][k]]
        x = [
            *bands,
            _clip((total - peak + LEVEL_RANGE_DB) / LEVEL_RANGE_DB),
            _clip((f["f1c"][k] - 250.0) / 700.0) * max(bands[1], bands[2]),
            1.0,
        ]
        jaw_raw = _clip(sum(a * b for a, b in zip(x, _JAW_W, strict=True)))
        # The read-out's intercept opens the mouth a little on any sound: ramp it in with SNR.
        audible = _clip((snr - s.min_snr_db) / 10.0)
        if self.recorder is not None:
            self.recorder.append((np.asarray(x, np.float32), self._speaking, audible))
        jaw_raw *= audible * s.gain

        murmur = min(_clip(-f["murmur_f1_db"][k] / 5.0), _clip((-2.0 - f["murmur_f2_db"][k]) / 5.0))
        rel = total - peak
        # Murmur is voiced but well below the vowels: between peak − 30 and peak − 4 dB.
        murmur *= _clip((rel + 30.0) / 6.0) * _clip((-4.0 - rel) / 4.0)
        gap = _clip((-22.0 - rel) / 6.0)  # the silence of a stop closure, inside speech
        closure_raw = max(murmur, gap)

        width_raw = _clip((f["f2c"][k] - 1500.0) / 600.0, -1.0) if jaw_raw > 0.15 else 0.0

        target_gate = 1.0 if self._speaking else 0.0
        self._gate += (0.5 if target_gate > self._gate else 0.25) * (target_gate - self._gate)
        g = self._gate

        att, rel_k = self._att, self._rel
        jaw_t = jaw_raw * g
        self._jaw += (att if jaw_t > self._jaw else rel_k) * (jaw_t - self._jaw)
        clo_t = closure_raw * g
        self._closure += (att if clo_t > self._closure else rel_k) * (clo_t - self._closure)
        self._width += rel_k * (width_raw * g - self._width)
        lev_t = _clip((rel + 20.0) / 20.0) * g
        self._level += (att if lev_t > self._level else rel_k) * (lev_t - self._level)

        return MouthParams(
            jaw=_clip(self._jaw),
            width=_clip(self._width, -1.0),
            closure=_clip(self._closure),
            level=self._level,
            speech=prob,
            speaking=self._speaking,
            time=end_sample / ANALYSIS_RATE,
        )


def _clip(v: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if v < lo else hi if v > hi else v


_JAW_W = [float(w) for w in JAW_WEIGHTS]
