"""Issue 13's figures on portraits and voices never tuned on (pipelines/avatar/judge.py).

Portraits: ``einstein_midword`` (photographed mid-word, mouth open under a moustache, head
turned and tilted, a low-resolution black-and-white photo), ``hopper_glasses`` (glasses) and
``riga_turned`` (a head turned strongly, about 40 degrees, closed lips under a grey moustache,
framed tight) were added for this and never looked at while tuning; ``biden`` (closed thin
lips) is held out too (tests/data/faces/README.md). Voices: Flite's ``slt`` and Festival's
HTS ``slt``, in tools/train_mouth.py's untouched held-out set, and the recorded LibriVox
reader of tests/data/speech, none of them trained on, in sentences no list of the project
had.

Every figure is measured by the project's tracker on the rendered frames. Where a portrait
misses the issue's figure, the test is a strict xfail carrying the measured value and the
cause found (tools/avatar_heldout.py prints the same figures on longer clips).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from avatar_builds import built
from host_cpu import AVX512

from pipelines.avatar.judge import SENTENCES, Clip, ClipFigures, continuous, judge, with_pauses
from pipelines.avatar.measure import blinks_under_poses, wide_open_figures
from pipelines.avatar.stage import Avatar

FACES = Path(__file__).resolve().parent / "data" / "faces"
sys.path.insert(0, str(Path(__file__).resolve().parent))

PORTRAITS = ("einstein_midword", "hopper_glasses", "biden", "riga_turned")
WAS_OPEN = {
    "einstein_midword": True,
    "hopper_glasses": False,
    "biden": False,
    "riga_turned": False,
}
"""What the rest-mouth builder must recognise: the mid-word photo's mouth is open."""

R_MIN = 0.8
"""The issue's Pearson r between the tracked opening and the loudness, continuous speech."""
LAG_MAX_MS = 40.0
"""The issue's bound on the best lag (measured at frame resolution, 33 ms)."""
OPENING_MIN = 0.10
"""The issue's opening at the 95th percentile of speech, in face heights."""
SILENT_CLOSED_MIN = 0.95
"""The issue's share of silent frames with the mouth shut (pauses and noise alone)."""
SILENT_FRAMES_MIN = 40
"""The pause clip has this many silent frames at least (the share means something)."""
POSED_BLINKS = 8
JAW_UPPER_STILL_PX = 1.0
"""How far the full jaw may move the upper inner lip's centre (landmark 13), pixels: the jaw
opens the mouth below a still upper lip (as tests/test_avatar_quality.py asks of the
others)."""
GREY_MOUTH_MAX_SAT = 0.08
"""Largest colour spread (max − min channel over mean) of the painted mouth inside on a
black-and-white portrait: above it the cavity and tongue are visibly tinted."""

CONTINUOUS = ("flite:slt continuous", "LibriVox continuous")
PAUSES = "Festival HTS + LibriVox, pauses over noise"


def _tts_parts(spec: str, texts: list[str]) -> list:
    from pipelines.audio.voices import at_16k, engine_missing, parse_voice, speak

    voice = parse_voice(spec)
    why = engine_missing(voice.engine)
    if why:
        pytest.skip(f"held-out voice {spec} unavailable: {why}")
    return [at_16k(u) for u in speak(voice, texts)]


@pytest.fixture(scope="module")
def clips() -> dict[str, Clip]:
    from audio_support import recorded_speech

    recorded = recorded_speech()  # clips 0870, 0880, 0890, 0920, 0930
    slt = _tts_parts("flite:slt", list(SENTENCES[:2]))
    hts = _tts_parts("festival:cmu_us_slt_arctic_hts", [SENTENCES[2]])
    out = [
        continuous(CONTINUOUS[0], slt, lead_s=0.3, tail_s=0.3),
        continuous(CONTINUOUS[1], [recorded[1], recorded[4]], lead_s=0.3, tail_s=0.3),
        with_pauses(PAUSES, [hts[0], recorded[1]], gap_s=0.8, lead_s=0.8, tail_s=0.6),
    ]
    return {c.name: c for c in out}


@pytest.fixture(scope="module", params=PORTRAITS)
def heldout(request, clips) -> tuple[str, Avatar, dict[str, ClipFigures]]:
    from pipelines.audio.vad import StreamingVad

    name = request.param
    avatar = built(name)
    figs = {c: judge(avatar, name, clip, StreamingVad) for c, clip in clips.items()}
    for f in figs.values():
        print(f.line())
    return name, avatar, figs


ONLY_MEASURED_ON_AVX512 = frozenset({"riga_turned"})
"""Portraits whose expected failures were last measured on an AVX-512 host only
(tests/host_cpu.py): riga_turned's r and blinks after 2026-12-05's late changes (domed lids on
dim eyes, no drawn lower teeth on a turned face), which moved its figures to the issue's edge
there (flite:slt r 0.797 on this test's clip, posed blinks 7 of 8). Elsewhere its build's
choices and the tracker's reading may differ, so the failure is expected but not required."""


def _xfail(request, reasons: dict[str, str], name: str, strict: bool = True) -> None:
    if name in reasons:
        strict = strict and (AVX512 or name not in ONLY_MEASURED_ON_AVX512)
        request.applymarker(pytest.mark.xfail(strict=strict, reason=reasons[name]))


def test_clips_are_what_they_claim(clips) -> None:
    """Continuous clips have no pause inside the speech; the pause clip has noise alone in
    its pauses (not silence) and enough silent frames."""
    for name in CONTINUOUS:
        c = clips[name]
        starts = np.array([a for a, _ in c.speech])
        ends = np.array([b for _, b in c.speech])
        gaps = starts[1:] - np.maximum.accumulate(ends)[:-1]
        # Recorded speech keeps its own short silences between words ('sil' under 0.3 s).
        assert gaps.max() < 0.3, (name, gaps.max())
    c = clips[PAUSES]
    lead = c.samples[: int(0.8 * 16000)]
    assert float(np.sqrt(np.mean(lead**2))) > 1e-3, "the pauses carry no noise"


def test_rest_mouth_is_recognised(heldout) -> None:
    """The mid-word photo is recognised as open at load (and the others as closed)."""
    name, avatar, _ = heldout
    assert avatar.rest is not None and avatar.rest.was_open == WAS_OPEN[name]


_REAL19 = (
    "measured once 2026-12-04 03:16-03:18 UTC (load 1.5-2.7) at real19 98a7d47, the lids "
    "meeting on the lower lid's line (rig.BLINK_LOWER_SHARE 0.0, tuned on the real "
    "canonman_glasses)"
)
_FILL = (
    "re-measured 2026-12-03 17:15 UTC with the soft fill past the photo's edge "
    "(portrait.fill_past_the_photo), the lit cavity and the turned jaw merged"
)
_LIDS21 = (
    "measured once 2026-12-04 12:12-12:17 UTC (load ~3) at blink21, the build checking its "
    "shut lids with the tracker and bringing them past the lower lid's line where it reads "
    "them open (pipelines/avatar/lids.py, tuned on the real canonman_glasses)"
)
SHUT_FAILS: dict[str, str] = {}
"""(einstein_midword was one until blink21: 87.5 % of the 48 silent frames shut at real19, 91.7 %
at the soft fill, 100 % with the old mirrored crop; 100 % (48) since, measured once
2026-12-04 12:12-12:17 UTC with the shut-lid check of pipelines/avatar/lids.py, which changes
nothing at the mouth (so its lids must have been taken deeper: its renders are otherwise the
same): the tracker reads the whole face at once, so this re-tracked, open-mouthed rest face's
silent frames move with the lids (which frames was not looked at: held out); likely as fragile
as before.) The held-out figures of an open-mouthed photo move with anything that moves its
re-tracked rest mesh (here r 0.77/0.61 -> 0.74/0.65 too); the fill stays because a tight
headshot grew a second chin without it (tests/test_avatar_portrait.py). (Fragile indeed:
measured once 2026-12-04 17:00-17:02 UTC with the deeper lids past the outer corner
(lids.DEEPER_SHAPE) kept wherever deeper lids were, 87.5 % again, the lids alone changed;
they are tried only where no plain deeper lid will do since, and this portrait renders as
before.)"""
SHUT_FAILS_ON_SOME_HOSTS: dict[str, str] = {}
"""Missed on some hosts and met on others: expected to fail, not strictly. (einstein_midword
was one: 85.4 % of the 48 silent frames shut, measured once 2026-12-04 22:55 UTC on an AVX2,
no-AVX-512 host where the earlier sessions' CI hosts read 100 %; 100 % (48) on that host again,
measured once 2026-12-05 01:33 UTC, after the rest face is also checked pitched down as the idle
sway pitches the head (rest.settle_pitched, tuned on the tuning portrait astronaut@1.0 only):
this portrait's rest face was the only held-out one that check closed again.)"""


def test_silent_frames_are_shut(heldout, request) -> None:
    """In the pauses and over the noise alone the tracker sees the mouth shut."""
    name, _, figs = heldout
    _xfail(request, SHUT_FAILS, name)
    _xfail(request, SHUT_FAILS_ON_SOME_HOSTS, name, strict=False)
    f = figs[PAUSES]
    assert f.tracked == f.frames
    assert f.silent_frames >= SILENT_FRAMES_MIN
    assert f.silent_closed >= SILENT_CLOSED_MIN, f.line()


_RIGA = "measured once, 2026-12-03 16:05 UTC, when the portrait was added (load 4.4)"
_RIGA2 = "re-measured once, 2026-12-03 16:50 UTC, after jaw16's pinned jaw repair (load ~5)"
_RIGA3 = (
    "measured once, 2026-12-03 23:08-23:11 UTC (load ~5), after lip18 smoothed the opening "
    "along a turned head's lower lip (rig._smooth_lip_opening, Rig._smooth_jaw_change)"
)
OPENING_FAILS: dict[str, str] = {}
"""(riga_turned was one until jaw16 (2026-12-03): p95 opening 0.026 (flite:slt), 0.028
(LibriVox), 0.027 (pauses) face heights, the jaw moving the inner lower lip 0.036 face
heights where it asks 0.20, weakened by the per-motion fold repair. Since the jaw's repair
holds the lips (rig._unfold_along): 0.110, 0.112 and 0.109, the jaw 0.143 at landmark 14;
one again from lip18 (2026-12-03), 0.086, 0.089 and 0.088, the combined motions' last resort
weakening the jaw at its held lips (its rig 0.123 face heights at landmark 14), until jawfold
spared the jaw there (Rig._spare_the_jaw, developed on the canonical face turned 35-40 deg):
p95 0.139-0.150 over tools/avatar_heldout.py's eight clips, its rig 0.200, measured once
2026-12-04 14:43-14:54 UTC (load ~1-2).)"""


def test_opening_is_wide_enough_in_speech(heldout, request) -> None:
    name, _, figs = heldout
    _xfail(request, OPENING_FAILS, name)
    for f in figs.values():
        assert f.speech_p95_opening >= OPENING_MIN, f.line()


def test_mouth_trails_the_voice_by_little(heldout) -> None:
    """Best lag of the tracked opening behind the loudness, every clip. (Live-microphone
    timing, as ``measure`` drives the mouth: the analyzer's 36.5 ms look-ahead is not
    compensated, so one frame, +33 ms, is the expected figure.)"""
    _, _, figs = heldout
    for f in figs.values():
        assert abs(f.best_lag_ms) <= LAG_MAX_MS, f.line()


_ASKED = (
    "the animator asks for an opening (the jaw basis's weight) with r 0.82 (flite:slt) and "
    "0.84 (LibriVox) against the loudness over these clips (0.81-0.86 on the longer ones of "
    "tools/avatar_heldout.py), so the render and the tracker lose the rest"
)
R_FAILS = {
    "einstein_midword": "on an AVX-512 host (2026-12-05 evening) this test's two clips pass "
    "with the lower lip's inner face shaded (render.LOWER_LIP_SHADE) and the rest face checked "
    "as drawn (rest.settle_pitched); tools/avatar_heldout.py's longer continuous clips there, "
    "measured once with the shade alone: r 0.84 / 0.80 / 0.87 / 0.79 (0.80 / 0.72 / 0.82 / "
    "0.70 before it on that host); on an AVX2 host, on tools/avatar_heldout.py's longer "
    "continuous clips, measured "
    "once 2026-12-05 17:10-17:24 UTC (load 1.4-4) with the shut line blurred to a soft "
    "photo's softness (rig.LID_LASH_EDGE_MAX): r 0.82 / 0.74 / 0.83 / 0.73, tracked against "
    "asked 0.91 / 0.88 / 0.94 / 0.91; measured "
    "once 2026-12-05 12:00-12:07 UTC (load 0.2-1.8) on the merged code (the opening's "
    "corners rounded, the drawn inside as soft as the photo, 'ah' photos closed with the "
    "wide shape): r 0.81 / 0.75 / 0.84 / 0.73, tracked against asked 0.91 / 0.89 / 0.94 / "
    "0.91, silent frames shut 100 % on all eight clips (95.0 % on LibriVox continuous "
    "before); measured "
    "once 2026-12-05 08:59-09:08 UTC (load 1.2-2.8) on the merged code (drawn teeth, the shut "
    "line kept dark, the wide-open jaw's own shape rig.JAW_WIDE): r 0.82 / 0.76 / 0.84 / 0.75, "
    "tracked against asked 0.92 / 0.91 / 0.95 / 0.93 (with the wide-open shape alone, before "
    "the other two: 0.80 / 0.70 / 0.84 / 0.66); measured "
    "once 2026-12-05 08:15-08:21 UTC with its lower lip no longer kept as its own teeth (drawn "
    "teeth: rest.TEETH_CONTRAST, rest.TEETH_MIN_GAP): r 0.79 / 0.75 / 0.83 / 0.73, tracked "
    "against asked 0.92 / 0.91 / 0.95 / 0.92; measured "
    "once 2026-12-05 06:23-06:29 UTC after the open mouth's rounded lower lip (rig.LIP_ROUND): "
    "r 0.78 / 0.64 / 0.82 / 0.65 (flite slt, flite rms, Festival HTS slt, LibriVox; 0.74 / "
    "0.63 / 0.81 / 0.61 before it, 04:22 UTC), tracked against asked 0.87 / 0.78 / 0.88 / "
    "0.84; "
    "r 0.76 (flite:slt) and 0.72 (LibriVox continuous) measured "
    "2026-12-05 03:53-03:56 UTC (load 1.1-1.4) with the network's closure of a phrase-initial "
    "m passing the gate before the VAD calls speech (bclosure: "
    "pipelines/audio/mouth.MouthAnalyzer._speech_begins_ahead; asked 0.82 and 0.85, tracked "
    "against asked 0.86 and 0.83); r 0.77 and 0.72 measured once 2026-12-05 03:26-03:27 UTC "
    "(load 1.4-2.8) with the network's jaw unsmoothed (loudr: "
    "pipelines/audio/mouth.AnalyzerSettings.jaw_attack_ms; asked 0.82 and 0.85, tracked "
    "against asked 0.87 and 0.83); r 0.73 and 0.65 "
    + _LIDS21
    + "; 0.74 and 0.66 "
    + _REAL19
    + "; 0.74 and 0.65 "
    + _FILL
    + "; 0.77 and 0.61 measured once 2026-12-03 16:45 UTC "
    "after cavity16 (the wide cavity lit red-brown with a dark crease "
    "inside the lips, the tongue's top at 0.3 of the opening, tuned on the tuning portraits "
    "only); 0.79 and 0.75 before it (13:35, after the lid merges); 0.73 and 0.64 before the "
    "mouth's inside was redrawn (mouth13); a higher tongue in the near-black cavity (mouth14) "
    "gave 0.76 and 0.64. The tuning portraits' figures went the other way (tracked against "
    "asked opening r up or equal on the seven with their own teeth, the grey moustached one "
    "0.954/0.961 -> 0.971/0.977, tools/mouth_tracked.py), so they do not stand for this "
    "portrait's mouth: "
    + _ASKED
    + "; the tracker still reads this grey moustached mouth less well than the others "
    "(before cavity16: tracked against asked opening r 0.85 on four flite:rms sentences, 0.99 "
    "on hopper_glasses and biden): over a jaw sweep it overreads mid openings (0.14-0.16 "
    "face heights tracked at jaw weights 0.3-0.5, then 0.12 at 0.6)",
    "riga_turned": "r 0.797 (flite:slt) on this test's clip on an AVX-512 host, 2026-12-06 "
    "00:25 UTC, with a turned face's drawn lower teeth left out (render.LOWER_TEETH_TURNED; "
    "tools/avatar_heldout.py's longer clips, measured once 23:43-23:48: 0.80/0.81/0.84/0.82, "
    "flite:slt 0.78 before); "
    "r 0.78 (flite:slt) and 0.85 (LibriVox continuous) measured "
    "2026-12-05 03:53-03:56 UTC (load 1.1-1.4) with the network's closure of a phrase-initial "
    "m passing the gate (bclosure; asked 0.82 and 0.85, tracked against asked 0.98 and 0.98), "
    "as measured once 2026-12-05 03:26-03:27 UTC (load 1.4-2.8) with the network's jaw "
    "unsmoothed (loudr); r 0.77 and 0.81 "
    + _REAL19
    + ", as "
    + _RIGA3
    + "; 0.75 and 0.82 "
    + _FILL
    + " (0.77 and 0.83 "
    + _RIGA2
    + "); 0.64 and 0.65 before it, when the jaw opened the mouth a fifth as far as on the "
    "others; asked 0.82 and 0.84: the flite clip's tracked opening follows less",
}
"""(biden was one, at r 0.79 (flite:slt) and 0.83, until the drawn teeth were redrawn lit like
the face with soft gaps (2026-12-03): the tracker reads that mouth better. hopper_glasses was
one, at r 0.77 and 0.79, asked 0.79 and 0.81: with the lip closure let go in 5 ms once the
voice is back (pipelines/audio/mouth.AnalyzerSettings) it is at 0.801 and 0.82, asked 0.82 and
0.84.)"""


def test_opening_follows_loudness_in_continuous_speech(heldout, request) -> None:
    name, _, figs = heldout
    # Strict only off AVX-512 hosts: on one (tests/host_cpu.py) this test's two clips pass.
    _xfail(request, R_FAILS, name, strict=not AVX512)
    for clip in CONTINUOUS:
        assert figs[clip].loudness_r >= R_MIN, figs[clip].line()


BLINK_FAILS = {
    "einstein_midword": "tools/avatar_heldout.py's eight longer clips, measured once "
    "2026-12-05 17:01-17:08 UTC (load ~3) with the shut line blurred to a soft photo's softness "
    "(rig.LID_LASH_EDGE_MAX; one eye's line here by 0.3-0.4 px): speech 10 of 40 blinks seen, "
    "posed 6 of 8, no tear frame; measured once "
    "2026-12-05 12:00-12:07 UTC (load 0.2-1.8) on the merged code (the opening's corners "
    "rounded, the drawn inside as soft as the photo): speech 12 of 40 blinks seen, posed 6 of "
    "8, no tear frame; measured once "
    "2026-12-05 08:59-09:08 UTC (load 1.2-2.8) on the merged code (drawn teeth, the shut line "
    "kept dark and the wide-open jaw's own shape, rig.JAW_WIDE): speech 13 of 40 blinks seen, "
    "posed 6 of 8, no tear frame; with the wide-open shape alone, before the other two, 12 of "
    "40, posed 5 of 8, 6 tear frames; measured once "
    "2026-12-05 08:33-08:41 UTC (load ~2-3) with the shut line kept no paler than 0.65 of "
    "the lid skin's light (rig.LID_LASH_PALEST, tuned on the stand-in astronaut_pale_lashes) "
    "alone: speech 21 of 40 blinks seen, posed 6 of 8, no tear frame (6 before), silent frames "
    "98.4-100 % shut; its build keeps the deeper lids of lids.DEEPER_SHAPE 0.15 under the "
    "lower lid's line, its check reading them at 0.45 of the open eye, the default at 0.45 "
    "(0.54 before); measured once "
    "2026-12-05 08:15-08:21 UTC with its lower lip no longer kept as its own teeth alone (drawn "
    "teeth: rest.TEETH_CONTRAST, rest.TEETH_MIN_GAP): speech 23 of 40 blinks seen, posed 5 of "
    "8; before both, measured once "
    "2026-12-05 06:23-06:29 UTC (load ~1) after the lids past the outer corner, the open "
    "mouth's rounded lower lip (rig.LIP_ROUND) and the build's lid check on a fresh tracker: "
    "speech 16 of 40 blinks seen, posed 5 of 8; run again on the code of each merge: 24 of 40 "
    "and posed 6 of 8 before them, 16 of 40 and 6 of 8 with the lids past the outer corner "
    "alone (its build then keeps the deeper lids 0.45 under the lower lid's line, where it "
    "kept 0.3); "
    "still failing once every lid closes a little past the outer corner "
    "(rig.LID_OUTER_REACH), measured once 2026-12-05 05:44-05:46 UTC (load ~2; which figure "
    "fails, the speech runs' or the posed blinks', the test does not print); before: "
    "speech runs 8 of 8 blinks seen (3 of 3, 2 of 2, 3 of 3), "
    + _LIDS21
    + "; posed blinks fewer than 8 (how many the test does not print: not measured apart, "
    "held out); speech runs 1 of 8 (flite:slt 0 of 3, LibriVox 1 of 2, pauses 0 of 3), "
    + _REAL19
    + ", posed blinks not reached: unchanged by it; 1 of 8 with the same split "
    "measured once 2026-12-03 22:46 UTC with rest18's settle_rest, its r and "
    "silent figures the same as at 17:15, so its rest face likely unchanged; posed blinks not "
    "reached, the speech runs fail first); 5 of 8, posed 4 of 8 at blink14 (2026-12-03: "
    "the shut lash line two rows of lashes dark and thinner; the code before it re-measured "
    "the same minutes: speech 3 of 8, posed 4 of 8): the tracker reads the shut eye at "
    "0.36-0.70 of the open one (before 0.40-0.74) on this low-resolution grey photo with the "
    "head turned and tilted. On the tuning portraits that stand for it the tracker's reading "
    "hardly depends on what the lid looks like (tests/test_avatar_blinks.py: cameraman's near "
    "eye, erased by inpainting, reads 0.8-1.3 of the open eye)",
    "riga_turned": "on an AVX-512 host, posed 7 of 8 (this test, 2026-12-06 00:25 UTC) and "
    "tools/avatar_heldout.py's eight longer clips 38 of 40, posed 7 of 8, measured once "
    "2026-12-05 23:43-23:48 UTC with domed lids on dim eyes (lids.DIM_SHAPE; 0 of 40 and 0 of "
    "8 there before); "
    "tools/avatar_heldout.py's eight longer clips, measured once 2026-12-05 "
    "18:19-18:26 UTC with a turned face's lower lip kept fuller at its corners "
    "(rig.LIP_BAND_KEEP_CORNER): speech 39 of 40 blinks seen, posed 6 of 8, no tear frame; "
    "measured once 2026-12-05 "
    "12:00-12:07 UTC (load 0.2-1.8) on the merged code (the opening's corners rounded, the "
    "drawn inside as soft as the photo): speech 37 of 40 blinks seen (LibriVox continuous 9 "
    "of 10, LibriVox with pauses 2 of 4), posed 6 of 8, no tear frame (39 of 40 and 6 of 8 "
    "before, 08:59-09:08; the corners' rounding alone 37 of 40: the mouth's picture moves "
    "the tracker's whole mesh); "
    "still failing once every lid closes a little past the outer corner "
    "(rig.LID_OUTER_REACH), measured once 2026-12-05 05:44-05:46 UTC (load ~2; which figure "
    "fails the test does not print); before: posed 7 of 8 (shut over open 0.36-0.49, one at "
    "0.56), speech runs 8 of 8 "
    "(3 of 3, 2 of 2, 3 of 3), measured once 2026-12-04 20:09-20:11 UTC (load ~1) after the "
    "build's third lid shape (lids.HOODED_SHAPE, tuned on the stand-in canonman_hooded), which "
    "its build now keeps (its check reads the shut lids at 0.42); before it: "
    "speech runs 0 of 8 blinks seen (0 of 3, 0 of 2, 0 of 3), "
    + _REAL19
    + ", posed not reached: unchanged by it; before: speech runs 0 of 8 (re-measured 0 of 8, "
    + _RIGA2
    + "), posed 0 of 8 (shut eye over open 0.89-1.61), "
    + _RIGA
    + ": the lids do close over both eyes in the render, turned or not (a lash line where "
    "the eye was, a glint of the near iris left in its corner), yet the tracker reads the "
    "wider, near eye's lid gap at 0.24-0.25 of its width shut against 0.18-0.21 open: on "
    "these narrow, hooded, wrinkled eyes it does not follow the lid; the same speech runs "
    "again, " + _LIDS21 + "; and again with the lids past the outer corner tried "
    "(lids.DEEPER_SHAPE, tuned on canonman_turned, 2026-12-04): its renders byte for byte as "
    "before (its build keeps the default lids), tools/avatar_heldout.py's eight clips 0 of 40 "
    "blinks seen, posed 0 of 8, measured once 16:43-16:59 UTC (load 1.2-3.2)",
}
"""(hopper_glasses was one until blink21: speech runs 7 of 8 (flite:slt 3 of 3, LibriVox 2 of 2,
pauses 2 of 3) at real19, 4 of 8 and posed 7 of 8 at blink14, 1 of 8 and 6 of 8 before: behind
the rims the tracker read the shut eye at 0.36-0.58 of the open one, around the issue's half.
All 8 and 8 posed since, measured once 2026-12-04 12:12-12:17 UTC with the build's shut-lid
check (pipelines/avatar/lids.py).)"""


def test_every_blink_is_seen(heldout, request) -> None:
    """The speech runs' scheduled blinks and eight under random head poses, each seen by the
    tracker as an eye opening under half its median."""
    name, avatar, figs = heldout
    _xfail(request, BLINK_FAILS, name)
    seen = sum(f.blinks_seen for f in figs.values())
    count = sum(f.blinks for f in figs.values())
    assert count >= 1
    assert (seen, count) == (count, count)
    assert blinks_under_poses(avatar, count=POSED_BLINKS) == (POSED_BLINKS, POSED_BLINKS)


TEAR_FAILS: dict[str, str] = {}
"""(riga_turned was one from jaw16's pinned jaw repair (2026-12-03) until jawfold spared its jaw
in the combined motions' last resort (Rig._spare_the_jaw): tears in 93 of 239 frames
(flite:slt), 63 of 178 (LibriVox), 59 of 225 (pauses) at blink21 (2026-12-04), 139, 99 and
94 after jaw16, 49-195 a clip over tools/avatar_heldout.py's eight clips; none in any of them
since, measured once 2026-12-04 14:43-14:54 UTC (load ~1-2); where the tear detector saw
them was never looked at (held out).)"""


def test_no_folds_and_no_tears(heldout, request) -> None:
    name, _, figs = heldout
    _xfail(request, TEAR_FAILS, name)
    for f in figs.values():
        assert f.folded_triangles == 0, f.line()
        assert f.tear_frames == 0, f.line()


def test_the_wide_open_mouth_does_not_tear(heldout) -> None:
    """The jaw fully open under 60 random mixes of the other motions (speech reaches it only
    now and then, so the clips' tear frames can miss a torn wide mouth): measured on all
    four when this was added (2026-12-05), none torn."""
    name, avatar, _ = heldout
    wide = wide_open_figures(avatar)
    assert wide.poses == 60
    assert wide.torn == 0, f"{name}: {wide.line()}"


JAW_FAILS: dict[str, str] = {}
"""(None from lip13's slit (2026-12-03) until riga_turned: hopper_glasses' landmark 13 moved
11.3 px and biden's 15.9 px (0.052 and 0.074 face heights) at jaw 1.0 before it. riga_turned
was one (landmark 14 moved 7.7 px, 0.036 face heights) until jaw16's pinned jaw repair: 30.8
px, 0.143, the upper lip's centre still.)"""


def test_the_jaw_leaves_the_upper_lip_where_it_is(heldout, request) -> None:
    name, avatar, _ = heldout
    _xfail(request, JAW_FAILS, name)
    g = avatar.rig.geometry
    jaw = avatar.rig.bases["jaw"].vertex_disp
    assert float(jaw[14] @ g.down) > 0.05 * g.face_h
    assert float(np.linalg.norm(jaw[13])) <= JAW_UPPER_STILL_PX


def test_a_black_and_white_photo_gets_a_grey_mouth() -> None:
    """The open mouth's cavity and tongue on a black-and-white photo carry no colour (median
    colour spread 0.41 before 2026-12-03: only the teeth were greyed)."""
    import cv2

    avatar = built("einstein_midword")
    photo = avatar.portrait.image.astype(np.float32)
    spread = np.ptp(photo, axis=2) / np.maximum(photo.mean(axis=2), 1.0)
    assert np.percentile(spread, 99) < 0.05, "the photo itself is not grey"
    frame = avatar.renderer.render({"jaw": 0.8})
    inside = np.zeros(frame.shape[:2], np.uint8)
    outline = avatar.renderer.mouth_outline({"jaw": 0.8})
    cv2.fillPoly(inside, [np.round(outline).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)
    px = frame[inside].astype(np.float32)
    assert len(px) > 100
    sat = np.ptp(px, axis=1) / np.maximum(px.mean(axis=1), 1.0)
    assert float(np.median(sat)) < GREY_MOUTH_MAX_SAT


TEST_CUT_PX = 6
"""The synthetic tear: rows below a line shifted down by this much (as the old blink field's
edge did; tests/test_avatar_quality.py finds it on astronaut_glasses)."""


@pytest.fixture(scope="module")
def glasses_rest() -> Avatar:
    return built("hopper_glasses", retrack=False)


@pytest.mark.parametrize("landmarks", [(105, 334), (159, 386)], ids=["brows", "rims"])
def test_tear_detector_sees_a_cut_on_real_glasses(glasses_rest, landmarks) -> None:
    """The detector is not blind on a real pair of glasses: a horizontal cut through the
    brows, or through the upper rims and lids, is found; the clean frame has no tear. (Until
    2026-12-03 it read the picture alone and left 31 and 25 candidate pixels here, no run long
    enough to count: a real brow or rim is no drawn black line. It now reads the render's
    backward map too, as measure() does, and a cut is a jump of that map.)"""
    from pipelines.avatar.measure import feature_mask, last_backward, synthetic_cut, tear_edges

    avatar = glasses_rest
    frame = avatar.renderer.render({}).copy()
    backward = last_backward(avatar.renderer)
    lm = avatar.rig.points[:478]
    where = feature_mask(lm, avatar.rig.size)
    face_h = avatar.rig.geometry.face_h
    none = np.zeros(frame.shape[:2], bool)
    portrait = avatar.portrait.image
    assert not tear_edges(frame, portrait, backward, where, none, face_h).any()
    y = int(lm[list(landmarks), 1].mean())
    cut, cut_map = synthetic_cut(frame, backward, y, TEST_CUT_PX)
    found = tear_edges(cut, portrait, cut_map, where, none, face_h)
    assert found.any() and abs(np.nonzero(found)[0].mean() - y) < 0.1 * face_h
