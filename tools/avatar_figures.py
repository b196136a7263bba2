"""What tools/avatar_heldout.py and tools/avatar_real_tuning.py share: voices speaking
sentences into clips, and issue 13's judge (:func:`pipelines.avatar.judge.judge`) over each
portrait's avatar.

The portraits, voices and sentences stay each tool's own: the held-out ones are never tuned on,
so they must never be drawn into the tuning tool's lists (nor its voices into the judge's).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.audio.vad import StreamingVad
from pipelines.audio.voices import at_16k, engine_missing, parse_voice, speak
from pipelines.avatar.judge import Clip, Part, judge
from pipelines.avatar.portrait import Portrait, load_portrait
from pipelines.avatar.stage import Avatar

FACES = Path(__file__).resolve().parent.parent / "tests" / "data" / "faces"


def spoken(voices: Sequence[str], texts: Sequence[str]) -> Iterator[tuple[str, list[Part]]]:
    """Each voice spec with its utterances of ``texts`` at 16 kHz, with their phonemes. A voice
    whose engine is not installed is left out with a line saying why: the figures of the others
    still count."""
    for spec in voices:
        voice = parse_voice(spec)
        why = engine_missing(voice.engine)
        if why:
            print(f"{spec}: left out ({why})")
            continue
        yield spec, [at_16k(u) for u in speak(voice, list(texts))]


@dataclass(frozen=True)
class Judged:
    """A portrait whose avatar has been built and judged on every clip."""

    name: str
    photo: Portrait
    avatar: Avatar
    started: float
    """time.perf_counter() before its photo was loaded: a tool's last line per portrait
    reports the seconds the whole portrait took, its own measures included."""

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def judged_portraits(
    names: Iterable[str], clips: Sequence[Clip], blink_ratios: bool = False
) -> Iterator[Judged]:
    """Per portrait (tests/data/faces/NAME.jpg), in order: its avatar built and the judge's
    figures printed for each clip, one line a clip (``blink_ratios``: and one with each
    scheduled blink's shut eye over the clip's median opening, as the tracker read them)."""
    for name in names:
        started = time.perf_counter()
        photo = load_portrait(FACES / f"{name}.jpg")
        avatar = Avatar.build(photo)
        for c in clips:
            figs = judge(avatar, name, c, StreamingVad)
            print(figs.line(), flush=True)
            if blink_ratios:
                shut = [round(r, 2) for r in figs.blink_ratios]
                print(f"{name:<17} {c.name:<28} blinks shut/open {shut}")
        yield Judged(name, photo, avatar, started)
