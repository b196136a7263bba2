"""Helpers shared by tests/test_audio_*.py and tests/test_avatar_*.py (not a test module)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.audio.resample import ANALYSIS_RATE, resample

MODELS_DIR = Path(__file__).resolve().parent.parent / "onnx_models"


def vad_model(tmp_path_factory: pytest.TempPathFactory) -> object:
    from pipelines.audio.vad import SileroVad
    from pipelines.inference.session import SessionFactory

    return SileroVad(SessionFactory("cpu", intra_op_threads=1))


def require_espeak() -> None:
    from pipelines.audio import espeak

    why = espeak.available()
    if why:
        pytest.skip(f"espeak-ng ground truth unavailable: {why}")


def speech(text: str, voice: str = "en-us") -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """16 kHz speech and its phonemes as (name, start s, end s)."""
    from pipelines.audio import espeak

    u = espeak.synthesize(text, voice)
    x = resample(u.samples, u.sample_rate, ANALYSIS_RATE)
    ph = [(p.name, p.start / u.sample_rate, p.end / u.sample_rate) for p in u.phonemes]
    return x, ph


SPEECH_DIR = Path(__file__).resolve().parent / "data" / "speech"


def recorded_speech() -> list[tuple[np.ndarray, list[tuple[str, float, float]]]]:
    """Real recorded speech: five LibriVox clips (one reader, 24.7 s; tests/data/speech/NOTICE)
    at 16 kHz, each with its phones (lowercase ARPAbet, ``sil`` for silence) as aligned by
    pocketsphinx."""
    from pipelines.audio.inputs import read_audio_file

    phones: dict[str, list[tuple[str, float, float]]] = {}
    for line in (SPEECH_DIR / "librivox_phones.tsv").read_text().splitlines():
        if line.startswith("#"):
            continue
        clip, start, end, phone = line.split("\t")
        phones.setdefault(clip, []).append((phone.lower(), float(start), float(end)))
    out = []
    for clip, ph in phones.items():
        data, rate = read_audio_file(SPEECH_DIR / f"{clip}.flac")
        out.append((resample(data, rate, ANALYSIS_RATE), ph))
    return out


_FRESH_SPEECH = """
import json, sys
import numpy as np
from pipelines.audio import espeak
items = json.loads(sys.argv[1])
arrays, phonemes = {}, []
for i, (text, voice) in enumerate(items):
    u = espeak.synthesize(text, voice)
    arrays[f"u{i}"] = u.samples
    phonemes.append([[p.name, p.start / u.sample_rate, p.end / u.sample_rate] for p in u.phonemes])
    rate = u.sample_rate
np.savez(sys.argv[2], rate=np.array(rate), **arrays)
with open(sys.argv[3], "w") as fh:
    json.dump(phonemes, fh)
"""


def fresh_speech(
    items: list[tuple[str, str]], folder: Path
) -> list[tuple[np.ndarray, list[tuple[str, float, float]]]]:
    """:func:`speech` for several (text, voice) pairs, spoken by a fresh espeak-ng process.

    espeak-ng keeps state between utterances in one process (every utterance's samples differ
    when another one was spoken first, measured on this corpus), so a corpus spoken in the test
    process depended on which tests ran before it: the b-closure rate read 0.815 alone and 0.796
    after the voice-detector test. A fresh process speaks the same corpus every time."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    samples, phones = folder / "speech.npz", folder / "phonemes.json"
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run(
        [sys.executable, "-c", _FRESH_SPEECH, json.dumps(items), str(samples), str(phones)],
        check=True,
        env=env,
        timeout=300,
    )
    with np.load(samples, allow_pickle=False) as data:
        rate = int(data["rate"])
        waves = [data[f"u{i}"] for i in range(len(items))]
    out = []
    for wave, ph in zip(waves, json.loads(phones.read_text()), strict=True):
        out.append((resample(wave, rate, ANALYSIS_RATE), [(n, s, e) for n, s, e in ph]))
    return out
