"""Issue 13's "a blink closes the eye whatever the pose" on the two real portraits that were
held out until 2026-12-06 and are now tuned on (tools/avatar_real_tuning.py's REAL_TUNING):
einstein_midword (a small, soft, grey photo of an old man's turned and tilted head, pale
lashes) and riga_turned (a head turned ~40 degrees, narrow hooded wrinkled eyes).

Figures as the judge reads them: posed blinks (:func:`~pipelines.avatar.measure.
blink_ratios_under_poses`, the shut eye over the open eye's median, seen under 0.5) and the
scheduled blinks of a tuning voice's clip (the espeak-ng clip of pipelines/assets, as
:func:`~pipelines.avatar.measure.measure` counts them). Built once (tests/avatar_builds.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from avatar_builds import built

from pipelines.avatar.lids import SHORT_LASH_SHAPE
from pipelines.avatar.measure import blink_ratios_under_poses

pytestmark = pytest.mark.clock_free

SPEECH = Path(__file__).resolve().parent.parent / "pipelines" / "assets" / "talking_head_speech.wav"
"""espeak-ng speaking (pipelines/assets/README.md): a tuning voice, never a held-out one."""
POSED_WORST_MAX = 0.45
"""The worst posed blink's shut eye over the open one: a blink is seen under 0.5, the margin is
for the poses between (the build checks three)."""
PALE = "einstein_midword"
TURNED_HOODED = "riga_turned"


def test_posed_blinks_of_a_small_grey_photo_with_pale_lashes_are_seen_with_a_margin() -> None:
    """einstein_midword's shut line and its hanging lashes were a grey band as thick as the
    open eye's slit, read as a narrow open eye (worst posed blink 0.56, 6 of 8 seen): the build
    now keeps the lids with short hanging lashes closing further past the outer corner
    (lids.SHORT_LASH_SHAPE), worst 0.38."""
    avatar = built(PALE)
    assert avatar.rig.lid_shape == SHORT_LASH_SHAPE
    ratios = blink_ratios_under_poses(avatar)
    assert max(ratios) <= POSED_WORST_MAX, [round(r, 2) for r in ratios]


def test_blinks_of_a_small_grey_photo_with_pale_lashes_are_seen_while_talking() -> None:
    """Every scheduled blink of the tuning voice's clip seen, the head nodding down as it
    talks (where the far eye's shut line read 0.3 of its width, 0.54 open). Before: 0 of 4
    seen."""
    from pipelines.audio.inputs import read_audio_file
    from pipelines.audio.vad import StreamingVad
    from pipelines.avatar.measure import measure

    figs = measure(built(PALE), PALE, *read_audio_file(SPEECH), vad=StreamingVad(), seed=1)
    assert figs.blinks >= 3
    assert figs.blinks_seen == figs.blinks, [round(r, 2) for r in figs.blink_ratios]


@pytest.mark.xfail(
    strict=True,
    reason="riga_turned's worst posed blink reads its near eye alone (the eyes' tracked widths "
    "1.28 apart or more): 0.56 with the far eye's dark crescent, 0.48 (0.50 with seed 11) under "
    "every lid tried with the far eye's default lids, the shut near eye's lid landmarks "
    "2.7-3.9 px apart sideways (docs/talking-head-log.md, rigeyes)",
)
def test_posed_blinks_of_a_turned_head_with_hooded_eyes_are_seen_with_a_margin() -> None:
    ratios = blink_ratios_under_poses(built(TURNED_HOODED))
    assert max(ratios) <= POSED_WORST_MAX, [round(r, 2) for r in ratios]
