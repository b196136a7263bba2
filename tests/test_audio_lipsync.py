"""Lip-sync against espeak-ng ground truth (issue 8).

espeak-ng's C API (synchronous mode, phoneme events) gives the exact sample where every
phoneme starts. Each phoneme maps to a target jaw opening (below) and m/b/p to a lip closure.
The analyzer runs as in use (streaming, 10 ms hops, Silero VAD gating) and must:

* correlate with the target opening at r >= R_MIN, pooled and for every voice;
* close the lips (closure >= CLOSED) on CLOSURE_HIT_MIN of all m/b/p, and not during open
  vowels (at most FALSE_CLOSURE_MAX of their frames);
* match best at a time offset within +-OFFSET_MAX_MS;
* keep the mouth shut on background noise.

The analyzer runs with its default read-out, the mouth network (onnx_models/mouth_net.onnx;
tests/test_audio_lipsync_model.py tests it against loudness on other engines' voices). None of
these sentences is among its training sentences (tools/train_mouth.py) or those of the linear
fallback (pipelines/audio/mouth_fit.py), and the voice en-029+f2 was trained on by neither.
"""

from __future__ import annotations

import numpy as np
import pytest
from audio_support import fresh_speech, require_espeak, speech, vad_model

from pipelines.audio import mouth_fit
from pipelines.audio.mouth import HOP, MouthAnalyzer
from pipelines.audio.resample import ANALYSIS_RATE

SENTENCES = (
    "Bob made a map of the moon.",
    "Please pass the butter and the bread, my friend.",
    "The quick brown fox jumps over the lazy dog.",
    "I think we should buy a boat this summer.",
    "Father wants to park the car far from the farm.",
    "She sells sea shells by the sea shore.",
    "How about a cup of coffee before the meeting?",
    "My mother baked apple pie for my brother.",
    "Peter picked a peck of pickled peppers.",
    "Would you like to watch a movie tonight?",
    "A big black bug bit a big black bear.",
    "We hope the weather stays warm and sunny all week.",
    "Maybe Mom put the maps in the blue box.",
    "Open the window, it is too hot in here.",
    "The baby played happily with a bright purple ball.",
    "Call me when you arrive at the airport.",
    "Time flies like an arrow, fruit flies like a banana.",
    "Please bring me a bottle of apple juice.",
    "Many people prefer to ride bikes to work.",
    "The museum opens at nine on Monday morning.",
    "Bubbles popped above the pool all afternoon.",
    "Remember to buy milk, butter and some pumpkin soup.",
)
VOICES = ("en-us", "en+f3", "en-029+f2")

R_MIN = 0.70
CLOSED = 0.5
CLOSURE_HIT_MIN = 0.85
CLOSURE_HIT_MIN_EACH = 0.80
CLOSURE_WINDOW_AFTER_S = 0.03
"""A closure counts if it happens during the phoneme or within 30 ms after its end."""
FALSE_CLOSURE_MAX = 0.08
OFFSET_MAX_MS = 40
TARGET_SMOOTH_MS = 30.0
"""The lips cannot jump between shapes: the target is Gaussian-smoothed (sigma 30 ms)."""
NOISE_JAW_MAX = 0.05
PAD_S = 0.5

# Ground truth: the target jaw opening per espeak-ng phoneme, one table shared with the fit.
OPENNESS = mouth_fit.OPENNESS
BILABIAL = {"m", "b", "p"}
OPEN_VOWELS = {"a", "aa", "A:", "A@", "aI", "aU", "0", "V", "E", "O:"}


def openness(name: str, previous: float) -> float:
    if name.startswith("_"):
        return 0.0  # pause: mouth at rest
    if name == ";":
        return previous  # linking mark between words
    return OPENNESS[name]  # an unknown phoneme fails loudly: extend the table


def target(phonemes: list[tuple[str, float, float]], times: np.ndarray) -> np.ndarray:
    out = np.zeros(len(times))
    prev = 0.0
    for name, start, end in phonemes:
        prev = openness(name, prev)
        out[(times >= start) & (times < end)] = prev
    sigma = TARGET_SMOOTH_MS / 1000.0 / (HOP / ANALYSIS_RATE)
    k = np.arange(-int(3 * sigma) - 1, int(3 * sigma) + 2)
    g = np.exp(-0.5 * (k / sigma) ** 2)
    return np.convolve(np.pad(out, len(k) // 2, mode="edge"), g / g.sum(), mode="valid")


def run_stream(analyzer: MouthAnalyzer, signal: np.ndarray, block: int = 533) -> dict:
    """Feed ``signal`` in video-frame-sized blocks; per-hop arrays of the outputs."""
    out = []
    for i in range(0, len(signal), block):
        out += analyzer.push(signal[i : i + block])
    return {
        "time": np.array([p.time for p in out]),
        "jaw": np.array([p.jaw for p in out]),
        "closure": np.array([p.closure for p in out]),
    }


@pytest.fixture(scope="module")
def vad(tmp_path_factory: pytest.TempPathFactory) -> object:
    return vad_model(tmp_path_factory)


@pytest.fixture(scope="module")
def corpus(vad: object, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    require_espeak()
    from pipelines.audio.vad import StreamingVad

    rng = np.random.default_rng(7)
    results = []
    pad = np.zeros(int(PAD_S * ANALYSIS_RATE), np.float32)
    items = [(text, voice) for voice in VOICES for text in SENTENCES]
    spoken = iter(fresh_speech(items, tmp_path_factory.mktemp("corpus")))
    for voice in VOICES:
        for _text in SENTENCES:
            x, ph = next(spoken)
            signal = np.concatenate([pad, x, pad])
            signal += rng.normal(0, 1e-4, len(signal)).astype(np.float32)  # a quiet room
            res = run_stream(MouthAnalyzer(vad=StreamingVad(vad)), signal)
            res["phonemes"] = [(n, s + PAD_S, e + PAD_S) for n, s, e in ph]
            res["target"] = target(res["phonemes"], res["time"])
            res["voice"] = voice
            results.append(res)
    return results


def pooled_r(results: list[dict], lag_hops: int = 0) -> float:
    preds, tgts = [], []
    for r in results:
        p, t = r["jaw"], r["target"]
        if lag_hops > 0:  # the prediction comes later than the target
            p, t = p[lag_hops:], t[:-lag_hops]
        elif lag_hops < 0:
            p, t = p[:lag_hops], t[-lag_hops:]
        preds.append(p)
        tgts.append(t)
    return float(np.corrcoef(np.concatenate(preds), np.concatenate(tgts))[0, 1])


def test_corpus_is_large_enough() -> None:
    assert len(SENTENCES) >= 20 and len(set(VOICES)) >= 3


def test_openness_correlates_with_phoneme_targets(corpus: list[dict]) -> None:
    r = pooled_r(corpus)
    per_voice = {v: pooled_r([c for c in corpus if c["voice"] == v]) for v in VOICES}
    print(f"jaw vs target: r = {r:.3f} pooled; per voice {per_voice}")
    assert r >= R_MIN
    for voice, rv in per_voice.items():
        assert rv >= R_MIN, f"{voice}: r = {rv:.3f}"


def test_best_time_offset_is_small(corpus: list[dict]) -> None:
    lags = range(-20, 21)  # ±200 ms in 10 ms hops
    scores = [pooled_r(corpus, lag) for lag in lags]
    best_ms = list(lags)[int(np.argmax(scores))] * 1000 * HOP // ANALYSIS_RATE
    print(f"best offset {best_ms} ms (r = {max(scores):.3f})")
    assert abs(best_ms) <= OFFSET_MAX_MS


def test_bilabials_close_the_lips(corpus: list[dict]) -> None:
    hits: dict[str, list[bool]] = {p: [] for p in BILABIAL}
    vowel_frames = []
    for r in corpus:
        times, closure = r["time"], r["closure"]
        for name, start, end in r["phonemes"]:
            if name in BILABIAL:
                sel = (times >= start) & (times < end + CLOSURE_WINDOW_AFTER_S)
                hits[name].append(bool(sel.any() and closure[sel].max() >= CLOSED))
            elif name in OPEN_VOWELS:
                # The vowel's inside: its first 30 ms still carry the previous consonant.
                sel = (times >= start + 0.03) & (times < end)
                vowel_frames.extend((closure[sel] >= CLOSED).tolist())
    total = sum(len(v) for v in hits.values())
    rate = sum(sum(v) for v in hits.values()) / total
    each = {p: float(np.mean(v)) for p, v in hits.items()}
    false_rate = float(np.mean(vowel_frames))
    print(
        f"m/b/p closures hit: {rate:.3f} of {total} ({each}); "
        f"closed during open vowels: {false_rate:.3f}"
    )
    assert rate >= CLOSURE_HIT_MIN
    for p, v in each.items():
        assert v >= CLOSURE_HIT_MIN_EACH, f"{p}: {v:.2f}"
    assert false_rate <= FALSE_CLOSURE_MAX


def _noises(seconds: float = 4.0) -> dict[str, np.ndarray]:
    n = int(seconds * ANALYSIS_RATE)
    rng = np.random.default_rng(3)
    t = np.arange(n) / ANALYSIS_RATE
    white = rng.normal(0, 1, n)
    pink = np.cumsum(white)
    pink = pink - np.convolve(pink, np.ones(400) / 400, mode="same")  # brown → roughly pink
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 8))
    clicks = np.zeros(n)
    clicks[rng.integers(0, n, 40)] = 1.0
    clicks = np.convolve(clicks, np.exp(-np.arange(200) / 20.0) * rng.normal(0, 1, 200), "same")
    fan = np.convolve(white, np.ones(8) / 8, mode="same") * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
    out = {}
    for name, sig, level in (
        ("white -30 dBFS", white, 0.03),
        ("white -12 dBFS", white, 0.25),
        ("pink -20 dBFS", pink, 0.1),
        ("mains hum -20 dBFS", hum, 0.1),
        ("keyboard clicks", clicks, 0.3),
        ("fan", fan, 0.2),
    ):
        sig = np.asarray(sig, np.float64)
        out[name] = (level * sig / (np.sqrt(np.mean(sig**2)) + 1e-12)).astype(np.float32)
    return out


@pytest.mark.parametrize("noise", list(_noises()))
def test_background_noise_keeps_the_mouth_shut(vad: object, noise: str) -> None:
    from pipelines.audio.vad import StreamingVad

    res = run_stream(MouthAnalyzer(vad=StreamingVad(vad)), _noises()[noise])
    assert res["jaw"].max() <= NOISE_JAW_MAX, f"{noise}: jaw up to {res['jaw'].max():.2f}"
    assert res["closure"].max() <= NOISE_JAW_MAX


def _speech_over_pink_noise() -> tuple[np.ndarray, list]:
    """A sentence starting 0.5 s into pink noise 20 dB under it, and its phonemes (times in
    the sentence's own clock)."""
    require_espeak()
    x, ph = speech("Father wants to park the car far from the farm.", "en-us")
    sig = _noises(len(x) / ANALYSIS_RATE + 1.0)["pink -20 dBFS"].copy()
    start = int(0.5 * ANALYSIS_RATE)
    sig[start : start + len(x)] += 0.5 * x / np.abs(x).max()
    return sig, ph


def test_speech_over_noise_still_moves_the_mouth(vad: object) -> None:
    from pipelines.audio.vad import StreamingVad

    sig, ph = _speech_over_pink_noise()
    res = run_stream(MouthAnalyzer(vad=StreamingVad(vad)), sig)
    tgt = target([(n, s + 0.5, e + 0.5) for n, s, e in ph], res["time"])
    r = float(np.corrcoef(res["jaw"], tgt)[0, 1])
    assert res["jaw"].max() > 0.5
    assert r >= 0.6, f"r = {r:.2f} with speech over pink noise"


STEADY_NOISES = [n for n in _noises() if n != "keyboard clicks"]
"""Clicks are loud and a few ms long over silence: the energy gate opens on them (the jaw up
to 0.77 in 30 % of hops, 2026-12-05) where the VAD does not, the trade that
AudioMouthSettings.vad's help states."""


@pytest.mark.parametrize("noise", STEADY_NOISES)
def test_background_noise_keeps_the_mouth_shut_without_the_vad_model(noise: str) -> None:
    """The energy gate (``vad`` off, or its model unavailable) measures the noise floor from
    the stream's first hop: from a fixed -60 dB start the floor took ~10 s to climb to the
    noise, and every noise here opened the mouth until then."""
    res = run_stream(MouthAnalyzer(vad=None), _noises()[noise])
    assert res["jaw"].max() <= NOISE_JAW_MAX, f"{noise}: jaw up to {res['jaw'].max():.2f}"


def test_speech_over_noise_moves_the_mouth_without_the_vad_model() -> None:
    """The floor the noise sets still lets speech over it through the energy gate."""
    sig, _ = _speech_over_pink_noise()
    res = run_stream(MouthAnalyzer(vad=None), sig)
    lead = res["time"] < 0.45
    assert res["jaw"][lead].max() <= NOISE_JAW_MAX, res["jaw"][lead].max()
    assert res["jaw"].max() > 0.5


def test_without_vad_model_the_energy_gate_still_works() -> None:
    require_espeak()
    x, _ = speech("Bob made a map of the moon.")
    sig = np.concatenate([np.zeros(8000, np.float32), x, np.zeros(8000, np.float32)])
    res = run_stream(MouthAnalyzer(vad=None), sig)
    assert res["jaw"].max() > 0.5
    assert res["jaw"][: int(0.4 * ANALYSIS_RATE / HOP)].max() <= NOISE_JAW_MAX


PHRASE_INITIAL_M = (
    "My cousin moved to a quiet village by the lake.",
    "Maria painted a bright yellow sun on the wall.",
    "Math was always my favourite subject at school.",
)
"""Training sentences of the mouth network (tools/train_mouth.py), tuning material: spoken by
its training voice en+f3 they open on an m before the VAD calls speech."""


@pytest.mark.parametrize("text", PHRASE_INITIAL_M)
def test_phrase_initial_m_closes_the_lips(vad: object, text: str) -> None:
    """The network's closure of an m that opens a phrase passes the gate that still waits for
    the VAD (pipelines.audio.mouth.MouthAnalyzer._speech_begins_ahead). 2026-12-05: the
    closure reached 0.00 / 0.09 / 0.00 in the m's window without it, 0.88 / 0.84 / 0.60 with
    it."""
    require_espeak()
    from pipelines.audio.vad import StreamingVad

    x, ph = speech(text, "en+f3")
    pad = np.zeros(int(PAD_S * ANALYSIS_RATE), np.float32)
    signal = np.concatenate([pad, x, pad])
    signal += np.random.default_rng(7).normal(0, 1e-4, len(signal)).astype(np.float32)
    res = run_stream(MouthAnalyzer(vad=StreamingVad(vad)), signal)
    name, start, end = next(p for p in ph if not p[0].startswith("_"))
    assert name == "m"
    sel = (res["time"] >= start + PAD_S) & (res["time"] < end + PAD_S + CLOSURE_WINDOW_AFTER_S)
    assert res["closure"][sel].max() >= CLOSED, res["closure"][sel].round(2)
