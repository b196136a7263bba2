"""The opening the animator asks for, per video frame, against each frame's loudness: issue
13's figure before any render, on TUNING voices only.

    nice -n 10 .venv/bin/python tools/mouth_asked.py [--training-voices] [--sentences N]

Drives :func:`pipelines.avatar.judge.commanded` (the analyzer with Silero VAD, live timing,
the animator) with tools/train_mouth.py's validation voices (and with ``--training-voices``
its training voices too), reading the first N of its extra training sentences in continuous
clips of four (no pause inside, :func:`pipelines.avatar.judge.continuous`) and once with
pauses over pink noise; prints per voice the mean r on continuous speech, the lowest clip's,
the best lag, the p95 asked opening and the share of silent frames asked shut, then the mean
over the voices. Never the held-out voices (train_mouth.HELD_OUT_VOICES, the recorded reader)
nor the held-out sentences (pipelines/avatar/judge.SENTENCES, tests' lists).

Why: four sentences on three voices were too few to choose by (mouth14, 2026-12-03): a gap
closure after two quiet hops measured +0.003 there and -0.023 on the held-out voices of
tests/test_audio_lipsync_model. Speech is cached by train_mouth (CAMFX_MOUTH_CACHE).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

from pipelines.avatar.judge import (  # noqa: E402
    asked_shut_share,
    commanded,
    continuous,
    figures_from,
    with_pauses,
)

PER_CLIP = 4
"""Sentences per continuous clip."""


def voice_figures(voice: str, texts: tuple[str, ...], vad_model: object) -> dict[str, float]:
    """Mean and lowest r over the continuous clips, lag, p95 opening, silent frames shut."""
    from train_mouth import utterances

    from pipelines.audio.vad import StreamingVad

    parts = utterances(voice, texts)
    rs, lags, p95s = [], [], []
    for k in range(0, len(parts) - PER_CLIP + 1, PER_CLIP):
        clip = continuous(voice, parts[k : k + PER_CLIP], lead_s=0.3, tail_s=0.3)
        r, lag, p95, _, _ = figures_from(clip, commanded(clip, StreamingVad(vad_model)))
        rs.append(r)
        lags.append(lag)
        p95s.append(p95)
    pauses = with_pauses(voice, parts[:PER_CLIP], gap_s=0.8, lead_s=0.8, tail_s=0.6)
    shut = asked_shut_share(pauses, commanded(pauses, StreamingVad(vad_model)))
    return {
        "r": float(np.mean(rs)),
        "r_min": float(np.min(rs)),
        "lag_ms": float(np.median(lags)),
        "p95": float(np.mean(p95s)),
        "shut": shut,
    }


def main(argv: list[str] | None = None) -> int:
    from audio_support import vad_model
    from train_mouth import MORE_SENTENCES, TRAIN_VOICES, VALIDATION_VOICES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--training-voices", action="store_true")
    parser.add_argument("--sentences", type=int, default=12)
    args = parser.parse_args(argv)
    if args.sentences < PER_CLIP:
        print(f"mouth_asked: --sentences must be at least {PER_CLIP}", file=sys.stderr)
        return 2
    voices = VALIDATION_VOICES + (TRAIN_VOICES if args.training_voices else ())
    texts = tuple(MORE_SENTENCES[: args.sentences])
    vad = vad_model(None)  # type: ignore[arg-type]
    rows = []
    for voice in voices:
        f = voice_figures(voice, texts, vad)
        rows.append(f)
        print(
            f"{voice:32s} r {f['r']:.3f} (min {f['r_min']:.3f})  lag {f['lag_ms']:+4.0f} ms  "
            f"p95 {f['p95']:.3f}  silent shut {f['shut']:.1%}",
            flush=True,
        )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    print(
        f"{'mean':32s} r {mean['r']:.3f} (min {min(r['r_min'] for r in rows):.3f})  "
        f"p95 {mean['p95']:.3f}  silent shut {min(r['shut'] for r in rows):.1%} (lowest)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
