"""Refits :data:`pipelines.audio.mouth.JAW_WEIGHTS` on espeak-ng speech (needs libespeak-ng).

    python -m pipelines.audio.mouth_fit

Training material is generated here: the sentences below (none of them is among the tests'
sentences) spoken by three voices, each phoneme mapped to a target jaw opening. The analyzer
runs exactly as in use (streaming, AGC, VAD off so the fit sees every voiced hop), its jaw
design rows are collected, and the weights are the least-squares fit of the target (smoothed
like the tests' ground truth) at each window's centre. The printed array goes into mouth.py.
"""

from __future__ import annotations

import sys

import numpy as np

from pipelines.audio.espeak import synthesize
from pipelines.audio.mouth import HOP, WINDOW, MouthAnalyzer
from pipelines.audio.resample import ANALYSIS_RATE, resample

TRAINING_SENTENCES = (
    "A warm cup of tea helps me relax after a long day.",
    "The farmer drove his old truck down the dusty road.",
    "Bright stars appeared above the quiet harbour at night.",
    "Please remember to lock the back door before bed.",
    "My neighbour plays the piano every Sunday morning.",
    "We watched the boats pass by from the top of the hill.",
    "An apple a day keeps the doctor away, people say.",
    "Both brothers paid for the big map of Boston.",
    "Father bought a box of pears at the market.",
    "Her umbrella was blue with a pattern of white birds.",
    "Good food and good music make a perfect party.",
    "Open your book at page nine and read aloud.",
)
TRAINING_VOICES = ("en-us", "en+f3", "en-gb-scotland+m3")

# Target jaw opening per espeak-ng English phoneme (0 closed … 1 wide open).
OPENNESS: dict[str, float] = {}
for _names, _value in (
    ("a aa A: A@ aI aI2 aU a# 0", 1.0),
    ("V VR O: O@ O O2 e@ E 3:", 0.75),
    ("eI oU o@ OI @ 3 @L @5 @2 E2 I#", 0.55),
    ("i i: I I2 i@ i@3 u: U U@ u", 0.35),
    ("h k g N j l r r-", 0.3),
    ("t d n s z S Z tS dZ T D t# t[ t2 d#", 0.2),
    ("w w# f v", 0.1),
    ("m b p", 0.0),
):
    for _n in _names.split():
        OPENNESS[_n] = _value


# The same scale for the lowercase ARPAbet of Flite and Festival.
ARPABET_OPENNESS: dict[str, float] = {}
for _names, _value in (
    ("aa ae ay aw", 1.0),
    ("ah ao eh er", 0.75),
    ("ey ow oy ax axr", 0.55),
    ("iy ih uw uh", 0.35),
    ("hh k g ng y l r", 0.3),
    ("t d n s z sh zh ch jh th dh dx", 0.2),
    ("w f v", 0.1),
    ("m b p", 0.0),
):
    for _n in _names.split():
        ARPABET_OPENNESS[_n] = _value


# The SAMPA-like names of Festival's other-language voices (Catalan, Italian, Czech, Finnish:
# training voices in tools/train_mouth.py), stress digits stripped; consonants not listed get
# the espeak-ng table's value or 0.3.
SAMPA_OPENNESS: dict[str, float] = {}
for _names, _value in (
    ("a a:", 1.0),
    ("E E: O O: ax", 0.75),
    ("e e: o o: 2 9 @", 0.55),
    ("i i: u u: y y: j", 0.35),
    ("rr r L J", 0.3),
    ("ts dz tS dZ c", 0.2),
):
    for _n in _names.split():
        SAMPA_OPENNESS[_n] = _value

PAUSES = frozenset({"pau", "h#", "sil", "ssil", "brth", "#"})
"""Pause phonemes besides espeak-ng's ``_…``: ARPAbet's, and ``#`` of Festival's diphone voices
in other languages."""


def is_pause(name: str) -> bool:
    return name.startswith("_") or name in PAUSES


def phoneme_openness(name: str, previous: float) -> float:
    if is_pause(name):
        return 0.0
    if name in ARPABET_OPENNESS:
        return ARPABET_OPENNESS[name]
    if name == ";":  # a linking mark between words: keeps the previous shape
        return previous
    if name in OPENNESS:
        return OPENNESS[name]
    return SAMPA_OPENNESS.get(name.rstrip("0123456789"), 0.3)


def target_track(
    phonemes: list[tuple[str, float, float]], times: np.ndarray, smooth_ms: float = 30.0
) -> np.ndarray:
    """Openness at ``times`` (seconds) from (name, start s, end s), Gaussian-smoothed."""
    out = np.zeros(len(times))
    prev = 0.0
    for name, start, end in phonemes:
        val = phoneme_openness(name, prev)
        out[(times >= start) & (times < end)] = val
        prev = val
    if smooth_ms > 0 and len(times) > 1:
        dt = float(times[1] - times[0])
        sigma = smooth_ms / 1000.0 / dt
        k = np.arange(-int(3 * sigma) - 1, int(3 * sigma) + 2)
        g = np.exp(-0.5 * (k / sigma) ** 2)
        g /= g.sum()
        out = np.convolve(np.pad(out, len(k) // 2, mode="edge"), g, mode="valid")
    return out


def collect() -> tuple[np.ndarray, np.ndarray]:
    rows, targets = [], []
    for voice in TRAINING_VOICES:
        for text in TRAINING_SENTENCES:
            u = synthesize(text, voice)
            x = resample(u.samples, u.sample_rate, ANALYSIS_RATE)
            pad = np.zeros(ANALYSIS_RATE // 2, np.float32)
            signal = np.concatenate([pad, x, pad])
            an = MouthAnalyzer(jaw_net=None)
            an.recorder = []
            an.push(signal)
            centres = ((np.arange(len(an.recorder)) + 1) * HOP - WINDOW / 2) / ANALYSIS_RATE
            ph = [
                (p.name, p.start / u.sample_rate + 0.5, p.end / u.sample_rate + 0.5)
                for p in u.phonemes
            ]
            tgt = target_track(ph, centres)
            for (row, _bands, _speaking, audible), t in zip(an.recorder, tgt, strict=True):
                if audible > 0.5:
                    rows.append(row)
                    targets.append(t)
    return np.asarray(rows), np.asarray(targets)


def fit() -> np.ndarray:
    x, y = collect()
    w, *_ = np.linalg.lstsq(x, y, rcond=None)
    return w


def main() -> int:
    w = fit()
    print("JAW_WEIGHTS =", np.array2string(w.astype(np.float32), precision=3, separator=", "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
