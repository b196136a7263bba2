"""Regenerates ``pipelines/assets/talking_head_speech.wav``, the talking-head demo's voice.

``python -m pipelines.audio.demo_clip`` (needs libespeak-ng). 16 kHz mono 16-bit PCM: speech,
a pause long enough for the listening behaviour, more speech.
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

from pipelines.audio.espeak import synthesize
from pipelines.audio.resample import ANALYSIS_RATE, resample

LINES = (
    "Hello! I am your talking head.",
    "My lips move when you speak, and I listen when you are quiet.",
)
PAUSE_S = 1.4
VOICE = "en-us"


def write_wav(path: str | Path, samples: np.ndarray, rate: int = ANALYSIS_RATE) -> None:
    pcm = np.clip(np.round(np.asarray(samples) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(pcm.tobytes())


def build() -> np.ndarray:
    parts: list[np.ndarray] = [np.zeros(int(0.3 * ANALYSIS_RATE), np.float32)]
    for i, line in enumerate(LINES):
        u = synthesize(line, VOICE, rate_wpm=165)
        speech = resample(u.samples, u.sample_rate, ANALYSIS_RATE)
        parts.append(0.9 * speech / max(1e-6, float(np.abs(speech).max())))
        if i + 1 < len(LINES):
            parts.append(np.zeros(int(PAUSE_S * ANALYSIS_RATE), np.float32))
    parts.append(np.zeros(int(0.8 * ANALYSIS_RATE), np.float32))
    return np.concatenate(parts)


def main() -> int:
    out = Path(__file__).resolve().parents[1] / "assets" / "talking_head_speech.wav"
    write_wav(out, build())
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
