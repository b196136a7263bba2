"""Issue 13's figures on portraits and voices never tuned on (pipelines/avatar/judge.py).

Portraits (tests/data/faces/README.md): ``hopper_glasses`` (real glasses) and ``biden``
(closed thin lips), held out from the start, and five real photographs added on 2026-12-06 and
never looked at while tuning: ``smith_turned_small`` (a low-resolution sepia oval, the head
turned ~25-30 degrees), ``king_sepia`` (an older woman, sepia, turned ~25 degrees),
``macbeth_hat`` (an older woman in black and white, a hat's brim over her brows), ``kwong_bw``
(a young East Asian man in black and white) and ``mariachi_grin`` (laughing with his teeth
showing, eyes narrowed, head pitched down and turned). ``einstein_midword`` and
``riga_turned``, held out until then, had been measured after so many changes that they joined
the tuning set (tools/avatar_real_tuning.py). Voices: Flite's ``slt`` and Festival's
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
from avatar_builds import built, posed_blinks_seen
from host_cpu import AVX512, allow_off_avx512

from pipelines.avatar.judge import (
    HELD_OUT_PORTRAITS,
    SENTENCES,
    Clip,
    ClipFigures,
    continuous,
    judge,
    with_pauses,
)
from pipelines.avatar.measure import wide_open_figures
from pipelines.avatar.stage import Avatar

pytestmark = pytest.mark.clock_free

FACES = Path(__file__).resolve().parent / "data" / "faces"
sys.path.insert(0, str(Path(__file__).resolve().parent))

PORTRAITS = HELD_OUT_PORTRAITS
WAS_OPEN = {
    "hopper_glasses": False,
    "biden": False,
    "smith_turned_small": False,
    "king_sepia": False,
    "macbeth_hat": False,
    "kwong_bw": False,
    "mariachi_grin": True,
}
"""What the rest-mouth builder must recognise: the laughing photo's mouth is open (its lips
0.131 face heights apart by the tracker)."""

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


NEW_2026_12_06 = ("smith_turned_small", "king_sepia", "macbeth_hat", "kwong_bw", "mariachi_grin")
ONLY_MEASURED_ON_AVX512 = frozenset(NEW_2026_12_06)
"""Portraits whose expected failures were measured on an AVX-512 host only (tests/host_cpu.py):
the five held out from 2026-12-06, measured once there on the day they were added. The
avatar's build reads its own renders with the tracker, whose last digits differ between
instruction sets, so elsewhere a failure is expected but not required."""

MEASURED = "this test's clips, AVX-512 host, 2026-12-06, before any change after they were added"
AFTER = (
    "this test's clips, AVX-512 host, 2026-12-06 19:10 UTC, after that day's lip-sync and lid "
    "changes"
)
RESTEYES = (
    "this test's clips, AVX-512 host, 2026-12-07 18:30 UTC, the laughing eyes opened at rest "
    "(pipelines/avatar/rest_eyes.py)"
)
NEAREST_LEVEL = (
    "this test's clips, AVX-512 host, 2026-12-07 09:28 UTC, the lids drawn at their nearest "
    "stored closure and the lower lid's margin pressed, not skipped (rig._nearest_level, "
    "rig.LOWER_EDGE_RAMP)"
)


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


SHUT_FAILS: dict[str, str] = {}
"""Portraits expected to miss this (none since 2026-12-04; the history: docs/heldout-history.md)."""
SHUT_FAILS_ON_SOME_HOSTS: dict[str, str] = {}
"""Missed on some hosts and met on others: expected to fail, not strictly (none since
2026-12-05; the history: docs/heldout-history.md)."""


def test_silent_frames_are_shut(heldout, request) -> None:
    """In the pauses and over the noise alone the tracker sees the mouth shut."""
    name, _, figs = heldout
    _xfail(request, SHUT_FAILS, name)
    _xfail(request, SHUT_FAILS_ON_SOME_HOSTS, name, strict=False)
    f = figs[PAUSES]
    assert f.tracked == f.frames
    assert f.silent_frames >= SILENT_FRAMES_MIN
    assert f.silent_closed >= SILENT_CLOSED_MIN, f.line()


OPENING_FAILS: dict[str, str] = {}
"""Portraits expected to open too little (none since 2026-12-07; the history:
docs/heldout-history.md)."""


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


R_FAILS: dict[str, str] = {}
R_OFF_AVX512 = {
    "mariachi_grin": "r 0.92 / 0.86 since its laughing eyes are opened at rest (2026-12-07 "
    "18:30); under a simulated other CPU 0.82 / 0.71 (and 0.91 / 0.84 before that change)",
}
"""Met on an AVX-512 host only (host_cpu.allow_off_avx512)."""
"""Portraits expected to read r under 0.8 (the history, and biden's: docs/heldout-history.md)."""


def test_opening_follows_loudness_in_continuous_speech(heldout, request) -> None:
    name, _, figs = heldout
    _xfail(request, R_FAILS, name)
    if name in R_OFF_AVX512:
        allow_off_avx512(request, R_OFF_AVX512[name])
    for clip in CONTINUOUS:
        assert figs[clip].loudness_r >= R_MIN, figs[clip].line()


BLINK_FAILS: dict[str, str] = {}
BLINK_OFF_AVX512 = {
    "mariachi_grin": "every blink seen, posed 8 of 8, since its laughing eyes are opened at "
    "rest (2026-12-07 18:30; none before); under a simulated other CPU posed 7 of 8",
}
"""Met on an AVX-512 host only (host_cpu.allow_off_avx512)."""
"""Portraits expected to miss blinks (the history, and hopper_glasses': docs/heldout-history.md)."""


def test_every_blink_is_seen(heldout, request) -> None:
    """The speech runs' scheduled blinks and eight under random head poses, each seen by the
    tracker as an eye opening under half its median."""
    name, _, figs = heldout
    _xfail(request, BLINK_FAILS, name)
    if name in BLINK_OFF_AVX512:
        allow_off_avx512(request, BLINK_OFF_AVX512[name])
    seen = sum(f.blinks_seen for f in figs.values())
    count = sum(f.blinks for f in figs.values())
    assert count >= 1
    assert (seen, count) == (count, count)
    assert posed_blinks_seen(name, count=POSED_BLINKS) == (POSED_BLINKS, POSED_BLINKS)


TEAR_FAILS = {
    "macbeth_hat": f"tear frames at the lids, 2 / 2 / 3 over the three clips ({NEAREST_LEVEL}; "
    f"3 / 2 / 5 {AFTER}; 3 / 2 / 4 {MEASURED}; longer clips 0-6 a clip, 23 in all, 38 before): "
    "at the eyes, 0.90-0.93 closed (its frames not looked at: held out); its build's socket-lit "
    "lids, which mend tuning photos made grey under a hat brim's shade, tear there too",
    "mariachi_grin": f"tear frames 0 / 1 / 2 over the three clips ({RESTEYES}; 2 / 6 / 0 "
    f"{NEAREST_LEVEL}; 1 / 3 / 0 {AFTER}; none before them; longer clips 0-4 a clip, 9 in all, "
    "54 before the eyes were opened)",
}
"""Portraits expected to tear (the history: docs/heldout-history.md)."""


def test_no_folds_and_no_tears(heldout, request) -> None:
    name, _, figs = heldout
    _xfail(request, TEAR_FAILS, name)
    for f in figs.values():
        assert f.folded_triangles == 0, f.line()
        assert f.tear_frames == 0, f.line()


WIDE_TEAR_FAILS = {
    "mariachi_grin": f"20 of 60 wide-open poses torn, worst 34 px ({RESTEYES}; 23 of 60, worst "
    f"33 px, {MEASURED}): a laughing photo pitched down and turned, the far eye on the "
    "silhouette",
}
"""Portraits whose fully open jaw is expected to tear."""


def test_the_wide_open_mouth_does_not_tear(heldout, request) -> None:
    """The jaw fully open under 60 random mixes of the other motions (speech reaches it only
    now and then, so the clips' tear frames can miss a torn wide mouth): none torn on the
    four held out before 2026-12-06 when this was added (2026-12-05)."""
    name, avatar, _ = heldout
    _xfail(request, WIDE_TEAR_FAILS, name)
    wide = wide_open_figures(avatar)
    assert wide.poses == 60
    assert wide.torn == 0, f"{name}: {wide.line()}"


JAW_FAILS: dict[str, str] = {}
"""Portraits whose jaw opens too little or moves the upper lip (none since 2026-12-07; the
history: docs/heldout-history.md)."""


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
