"""Speech with phoneme timing from three TTS engines: espeak-ng, Flite and Festival.

The lip-sync model is trained on some of these voices and judged on others it never saw
(``tools/train_mouth.py``, ``tests/test_audio_lipsync_model.py``). espeak-ng goes through its
C API (:mod:`pipelines.audio.espeak`); Flite and Festival through their command-line programs
(Debian: ``flite``, ``festival`` and the voices ``festvox-kallpc16k``, ``festvox-kdlpc16k``,
``festvox-us-slt-hts``; for training also the female voices of other languages
``festvox-ca-ona-hts``, ``festvox-italp16k``, ``festvox-czech-dita`` and, for validation,
``festvox-suopuhe-lj``), which report each phoneme's end time. Flite and Festival's English
voices name phonemes in lowercase ARPAbet (``aa``, ``m``, ``pau``), its other voices in
SAMPA-like names (``a``, ``O1``, ``#`` for a pause; see
:data:`pipelines.audio.mouth_fit.SAMPA_OPENNESS`); espeak-ng uses its own mnemonics. None of
this is needed at run time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.audio.espeak import EspeakError, Phoneme, Utterance, synthesize

ENGINES = ("espeak", "flite", "festival")


class VoiceError(EspeakError):
    """A TTS engine or voice is missing or failed."""


@dataclass(frozen=True)
class Voice:
    engine: str
    name: str
    rate: float = 1.0
    """Speaking rate factor (1 = the voice's own; >1 faster)."""

    def __str__(self) -> str:
        rate = "" if self.rate == 1.0 else f"@{self.rate:g}"
        return f"{self.engine}:{self.name}{rate}"


def parse_voice(spec: str) -> Voice:
    """``engine:name[@rate]``, e.g. ``flite:awb`` or ``espeak:en+f3@1.2``."""
    engine, _, rest = spec.partition(":")
    name, _, rate = rest.partition("@")
    if engine not in ENGINES or not name:
        raise VoiceError(f"voice {spec!r}: use ENGINE:NAME with ENGINE one of {ENGINES}")
    return Voice(engine, name, float(rate) if rate else 1.0)


def engine_missing(engine: str) -> str | None:
    """None when ``engine`` can speak here, else why not (for a test's skip reason)."""
    if engine == "espeak":
        from pipelines.audio import espeak

        return espeak.available()
    if shutil.which(engine) is None:
        return f"{engine} is not installed (Debian: apt install {engine})"
    return None


def speak(voice: Voice, texts: list[str]) -> list[Utterance]:
    """One utterance per text (batched: Festival's start-up costs a second)."""
    if voice.engine == "espeak":
        return [synthesize(t, voice.name, rate_wpm=round(160 * voice.rate)) for t in texts]
    why = engine_missing(voice.engine)
    if why:
        raise VoiceError(why)
    with tempfile.TemporaryDirectory(prefix="camfx-tts-") as tmp:
        if voice.engine == "flite":
            return [_flite(voice, t, Path(tmp) / "out.wav") for t in texts]
        return _festival(voice, texts, Path(tmp))


def at_16k(u: Utterance) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The utterance at the analyzer's rate, and its phonemes as (name, start s, end s)."""
    from pipelines.audio.resample import ANALYSIS_RATE, resample

    x = resample(u.samples, u.sample_rate, ANALYSIS_RATE).astype(np.float32)
    rate = u.sample_rate
    return x, [(p.name, p.start / rate, p.end / rate) for p in u.phonemes]


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wf:
        rate, n, width = wf.getframerate(), wf.getnframes(), wf.getsampwidth()
        data = wf.readframes(n)
    if width != 2:
        raise VoiceError(f"{path}: expected 16-bit PCM, got {8 * width}-bit")
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, rate


def _segments(ends: list[tuple[str, float]], rate: int, n: int) -> list[Phoneme]:
    out, start = [], 0
    for name, end_s in ends:
        end = min(n, max(start, round(end_s * rate)))
        out.append(Phoneme(name, start, end))
        start = end
    return out


def _flite(voice: Voice, text: str, path: Path) -> Utterance:
    cmd = ["flite", "-voice", voice.name, "-psdur"]
    if voice.rate != 1.0:
        cmd += ["--setf", f"duration_stretch={1.0 / voice.rate:.3f}"]
    cmd += ["-t", text, "-o", str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if res.returncode != 0 or not path.exists():
        raise VoiceError(f"flite voice {voice.name!r} failed: {res.stderr.strip()[:200]}")
    samples, rate = _read_wav(path)
    ends = [(m[1], float(m[2])) for m in re.finditer(r"(\S+):([0-9.]+)", res.stdout)]
    return Utterance(samples, rate, _segments(ends, rate, len(samples)), str(voice), text)


def _festival(voice: Voice, texts: list[str], tmp: Path) -> list[Utterance]:
    lines = [f"(voice_{voice.name})"]
    if voice.rate != 1.0:
        lines.append(f"(Parameter.set 'Duration_Stretch {1.0 / voice.rate:.3f})")
    for i, text in enumerate(texts):
        quoted = text.replace("\\", " ").replace('"', " ")
        lines += [
            f'(set! u (Utterance Text "{quoted}"))',
            "(utt.synth u)",
            f'(utt.save.wave u "{tmp / f"{i}.wav"}" \'riff)',
            f'(format t "@@{i} ")',
            '(mapcar (lambda (s) (format t "%s:%f " (item.name s) (item.feat s "end")))'
            " (utt.relation.items u 'Segment))",
            '(format t "\\n")',
        ]
    script = tmp / "speak.scm"
    script.write_text("\n".join(lines) + "\n")
    res = subprocess.run(
        ["festival", "-b", str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    out = []
    by_index = {
        int(m[1]): m[2] for m in re.finditer(r"@@(\d+) ([^\n]*)", res.stdout, flags=re.MULTILINE)
    }
    for i, text in enumerate(texts):
        path = tmp / f"{i}.wav"
        if i not in by_index or not path.exists():
            raise VoiceError(
                f"festival voice {voice.name!r} failed (install festvox voices?): "
                f"{res.stderr.strip()[:200]}"
            )
        samples, rate = _read_wav(path)
        ends = [(m[1], float(m[2])) for m in re.finditer(r"(\S+):([0-9.]+)", by_index[i])]
        out.append(Utterance(samples, rate, _segments(ends, rate, len(samples)), str(voice), text))
    return out
