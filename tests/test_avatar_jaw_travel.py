"""The jaw opens the mouth fully where the face can take it (issue 13: the speech p95 opening
at least 0.10 face heights): the build must not weaken the jaw at the lips for a fold its
mesh need not have."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from avatar_builds import built_jittered, built_printed, built_search_variant
from host_cpu import allow_off_avx512

from pipelines.avatar.measure import wide_jaw_lip_tears, wide_open_figures
from pipelines.avatar.rig import JAW_WIDE
from pipelines.avatar.stage import Avatar

pytestmark = pytest.mark.clock_free

JITTER_PX = 0.5
"""Gaussian noise (px) on the landmarks found, before the build: the tracker's own noise from
a photo to a near copy of it is of this order (tools/avatar_sweep.py ``--jitter``)."""
JITTERED = {
    "brothers_sepia:2": "its lips read as parted with the noise and held shut at rest "
    "(rest.settle_rest), their rows then crossing near a mouth corner: the first slit mesh "
    "settled but kept a triangle across the lips (408-306-407) that the wide jaw turns over, the "
    "wider ones did not settle, and the plain mesh the build fell back to joined the upper lip's "
    "12 to the lower lip's 15; the jaw alone turned that over, and its repair left the inner "
    "lower lip (14) 0.047 face heights of 0.2 (rig.SLIT_OPENINGS: the settled slit kept)",
    "brothers_sepia:3": "the first slit did not settle in eleven rounds, and the plain mesh's "
    "triangles across the lips left 14 at 0.084 (rig.SLIT_SETTLE_ROUNDS)",
}
"""A tuning portrait (sepia: black and white to the tracker) jittered (``name:seed``), and why
its jaw was weakened on main, the held-out portrait's symptom (tests/test_avatar_heldout.py:
0.04 face heights). Now 0.200 each."""
PRINT_JITTER_PX = 0.8
"""The printed proxies' landmark noise (px): the tracker's on a grainy, low-contrast print."""
PRINTED = {
    "brothers_sepia:-4:3": "the tracker put the inner lower lip's column 7 (318) below its "
    "column 8 (324) and the next ring's (325) near the right corner; the jaw lowers column 7 "
    "more, so 402-325-318 turned over wherever the pinned repair moved 325, that repair failed "
    "and the plain one left 14 0.084 face heights of 0.2 (rig.JAW_PIN_RELEASED)",
    "brothers_sepia:4:3": "the same fold, rolled the other way: 0.084 at 14, the wide jaw "
    "0.084 (rig.JAW_PIN_RELEASED)",
}
"""A tuning portrait as a photographed black-and-white print (tests/avatar_builds.built_printed),
rolled by a few degrees and jittered (``name:roll:seed``), and why its jaw was weakened on
main: the held-out print's symptom. Now 0.200 each, the wide jaw too."""
SEARCHED = {
    "astronaut_grey_small:halftone3:0:0": "a grey print as halftone dots, not jittered: the "
    "jaw's own repair kept its lips, but the combinations' last resort cut 14 to 0.074 face "
    "heights of 0.2 (rig.Rig._combined_without_folds: now spared around its held lips first)",
    "astronaut_grey_moustache:print_face90:0.8:3": "a photographed print, the face 90 px "
    "high: the same last resort left 0.088, and 51 of 1,404 combinations still creased",
}
"""tools/weak_jaw_search.py's variants (``name:variant:sigma_px:seed``) whose jaw was cut on
main, and why. Now 0.200 each."""
ON_AVX512_ONLY = {
    "astronaut_grey_moustache:print_face90:0.8:3": "astronaut_grey_moustache print_face90's "
    "wide jaw (0.047 face heights at 14 under the simulated 'blocked' and 'ulp1' CPUs, its "
    "speech jaw 0.200 there too; 2026-12-07)",
}
"""Cases whose figure turns on the CPU's last digits (tests/host_cpu.py): strict on an AVX-512
host (where they were measured), allowed to fail elsewhere."""
JAW_KEPT = 0.9
"""Share of the jaw's asked opening the built jaw keeps at the inner lower lip (as
tests/test_avatar_tears.py asks of the wide jaw)."""
UPPER_STILL_PX = 1.0


def _jittered(case: str) -> Avatar:
    name, seed = case.split(":")
    return built_jittered(name, JITTER_PX, int(seed))


def _printed(case: str) -> Avatar:
    name, roll, seed = case.split(":")
    return built_printed(name, float(roll), PRINT_JITTER_PX, int(seed))


def _searched(case: str) -> Avatar:
    name, variant, sigma_px, seed = case.split(":")
    return built_search_variant(name, variant, float(sigma_px), int(seed))


BUILT_BY: dict[str, Callable[[str], Avatar]] = {
    **dict.fromkeys(JITTERED, _jittered),
    **dict.fromkeys(PRINTED, _printed),
    **dict.fromkeys(SEARCHED, _searched),
}
"""Each case's build, by the table it is in."""
CASES = sorted(JITTERED) + sorted(PRINTED) + sorted(SEARCHED)


def _built(case: str) -> Avatar:
    return BUILT_BY[case](case)


@pytest.mark.parametrize("jittered", CASES)
def test_landmark_noise_leaves_the_jaw_its_opening(
    jittered: str, request: pytest.FixtureRequest
) -> None:
    """The speech jaw and the wide-open jaw keep their opening at the inner lower lip; the
    speech jaw leaves the upper lip where it is (the wide one lifts it a little by design,
    rig.JAW_WIDE_LIFT: at most a tenth of the opening, as tests/test_avatar_tears.py asks)."""
    if jittered in ON_AVX512_ONLY:
        allow_off_avx512(request, ON_AVX512_ONLY[jittered])
    avatar = _built(jittered)
    g = avatar.rig.geometry
    asked = g.amplitudes["jaw"] * g.face_h
    jaw, wide = (avatar.rig.bases[b].vertex_disp for b in ("jaw", JAW_WIDE))
    assert float(jaw[14] @ g.down) >= JAW_KEPT * asked, float(jaw[14] @ g.down) / g.face_h
    assert float(np.linalg.norm(jaw[13])) < UPPER_STILL_PX
    assert float(wide[14] @ g.down) >= JAW_KEPT * asked, float(wide[14] @ g.down) / g.face_h
    assert abs(float(wide[13] @ g.down)) < 0.1 * asked


@pytest.mark.parametrize("jittered", CASES)
def test_landmark_noise_opens_wide_without_tearing(jittered: str) -> None:
    torn = [(weights, px) for weights, px in wide_jaw_lip_tears(_built(jittered)) if px]
    assert torn == []


HOODED_GREY = "canonman_hooded:grey:0:0"
"""canonman_hooded (eyes narrowed under a fold, the head a little turned: one jaw shape, no
wide one) made grey by tools/weak_jaw_search.py. After the jaw's sparing, 247 of 1,404
combinations still folded three lower-lip triangles, every one under the lips rounded; the
combinations' last resort weakened every motion of those probes, the jaw with them: 14 at 0.038
face heights of 0.2, 141 combinations still creasing, 54 of 60 wide-open poses torn (worst 52
px), the lower lip folded over the chin. The rounding now gives way there first."""
HOODED_GREY_TORN_MAX = 4
"""Wide-open poses of the 60 (measure.wide_open_figures) with tear pixels across the lips: 4,
at most 12 px each, at the left corner under the head turned left and up (clean to the eye at
300 %); the colour photo 0."""
HOODED_GREY_TORN_PX = 20


def test_a_fold_of_the_rounded_lips_leaves_the_jaw_whole() -> None:
    avatar = _searched(HOODED_GREY)
    g = avatar.rig.geometry
    asked = g.amplitudes["jaw"] * g.face_h
    jaw = avatar.rig.bases["jaw"].vertex_disp
    assert float(jaw[14] @ g.down) >= JAW_KEPT * asked, float(jaw[14] @ g.down) / g.face_h
    assert float(np.linalg.norm(jaw[13])) < UPPER_STILL_PX
    wide_open = wide_open_figures(avatar)
    assert wide_open.torn <= HOODED_GREY_TORN_MAX, wide_open.line()
    assert wide_open.worst_px < HOODED_GREY_TORN_PX, wide_open.line()
