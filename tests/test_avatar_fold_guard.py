"""The rig's guard against folds (rig.Rig.mix, FOLD_GUARD_PX2) and the slit's flat triangles
(rig.SLIT_FLAT_SHARE): whatever the build made of the tracker's last digits, no composed pose
turns a triangle over, and the guard takes away only what folds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from avatar_builds import build_anew
from golden_data import face_photo, load_golden
from test_avatar_render import random_weights

from pipelines.avatar.portrait import make_portrait
from pipelines.avatar.rig import HEAD_BASES, Rig
from pipelines.tracking import mesh

pytestmark = pytest.mark.clock_free

FOLD_TOLERANCE_PX2 = 0.5
"""As in test_avatar_render: a sliver may turn over by less than half a pixel (invisible)."""
COMBINATIONS = 300
EXAGGERATION = 3.0
"""The mouth's vertex motions multiplied by this after the build, past what its repairs made
fold-free: a rig whose motions fold together in many combinations, on any CPU (the landmarks
are the golden file's, not the tracker's)."""
EXAGGERATED_FOLDING_MIN = 0.2
"""Share of the random combinations that fold that rig unguarded (measured 0.84)."""
GUARDED_STEP_RATIO = 1.5
"""Along a smooth path of weights, a guarded vertex moves between two frames at most this
many times the unguarded path's largest step (plus a tenth of a pixel): the guard holds the
face where it would fold, it does not make it jump."""


@pytest.fixture(scope="module")
def exaggerated() -> Rig:
    lm = load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0
    portrait = make_portrait(face_photo("astronaut"), lm)
    rig = Rig(portrait.landmarks, portrait.size, image=portrait.image)
    for name, basis in list(rig.bases.items()):
        if name not in HEAD_BASES and np.abs(basis.vertex_disp).max() > 0.0:
            rig.bases[name] = dataclasses.replace(
                basis, vertex_disp=basis.vertex_disp * EXAGGERATION
            )
    return rig


def folded(rig: Rig, weights: dict[str, float], guarded: bool) -> int:
    moved = rig.vertices(weights, guarded=guarded)
    return len(rig.folds(moved - rig.points, FOLD_TOLERANCE_PX2))


def test_no_guarded_pose_folds_a_rig_whose_motions_fold(exaggerated) -> None:
    """Random combinations of every motion at up to full strength: unguarded, a fifth or more
    fold the exaggerated rig; as rendered (guarded), none, and where nothing folds the weights
    are the asked ones."""
    rng = np.random.default_rng(3)
    names = sorted(exaggerated.bases)
    unguarded = guarded = kept_whole = 0
    for _ in range(COMBINATIONS):
        weights = random_weights(rng, names)
        raw = folded(exaggerated, weights, guarded=False)
        unguarded += raw > 0
        guarded += folded(exaggerated, weights, guarded=True) > 0
        share = exaggerated.unfolded_share(weights)
        if raw == 0:
            kept_whole += share == 1.0
        else:
            assert 0.0 <= share < 1.0
    print(f"unguarded {unguarded}, guarded {guarded} of {COMBINATIONS}")
    assert unguarded >= EXAGGERATED_FOLDING_MIN * COMBINATIONS
    assert guarded == 0
    assert kept_whole == COMBINATIONS - unguarded


def test_the_guard_leaves_the_lids_and_the_gaze_whole(exaggerated) -> None:
    weights = {"jaw": 1.0, "spread": 0.8, "smile": 1.0, "yaw_right": 1.0, "pitch_down": 1.0}
    weights |= {"blink_left": 1.0, "blink_right": 0.7, "gaze_left": 0.6}
    assert folded(exaggerated, weights, guarded=False) > 0
    mixed = exaggerated.mix(weights)
    assert exaggerated.unfolded_share(weights) < 1.0
    for name in ("blink_left", "blink_right", "gaze_left", "yaw_right", "pitch_down"):
        assert mixed[name] == weights[name], name
    assert folded(exaggerated, weights, guarded=True) == 0


def test_a_guarded_pose_moves_on_without_jumps(exaggerated) -> None:
    """The mouth opening, spreading and smiling from rest to full strength under a turned,
    nodded head: the guard engages part of the way, and no vertex jumps."""

    def pose(t: float) -> dict[str, float]:
        return {"jaw": t, "spread": 0.8 * t, "smile": t, "yaw_left": 1.0, "pitch_up": 0.6}

    steps = [float(t) for t in np.linspace(0.0, 1.0, 61)]
    paths = {
        guarded: np.stack([exaggerated.vertices(pose(t), guarded=guarded) for t in steps])
        for guarded in (False, True)
    }
    engaged = sum(exaggerated.unfolded_share(pose(t)) < 1.0 for t in steps)
    step = {g: float(np.linalg.norm(np.diff(p, axis=0), axis=2).max()) for g, p in paths.items()}
    print(f"engaged {engaged} of {len(steps)}; largest step {step}")
    assert 0 < engaged < len(steps)
    assert step[True] <= GUARDED_STEP_RATIO * step[False] + 0.1


@pytest.fixture(scope="module")
def built_as_on_another_cpu():
    """Portraits built with the tracker's blocked conversion of the face mesh for its
    reference one (the same network, its outputs 1-4 float32 ulps apart: another CPU's last
    digits, tools/build_choices.py ``blocked``)."""
    saved = mesh.MESH_GRAPHS["reference"]
    mesh.MESH_GRAPHS["reference"] = mesh.BlockedFaceMesh
    try:
        yield {name: build_anew(name) for name in ("cameraman", "astronaut_midword")}
    finally:
        mesh.MESH_GRAPHS["reference"] = saved


GUARD_SHARE_MIN = 0.5
"""Where the guard engages on a real portrait built as on another CPU, it keeps at least this
share of the mouth's motions (cameraman: least 0.64, median 0.94, in 21 of 1,500)."""
GUARD_ENGAGED_MAX = 0.03
"""...and engages in at most this share of random combinations (cameraman: 21 of 1,500; 2 of
this test's 300)."""


@pytest.mark.parametrize("name", ["cameraman", "astronaut_midword"])
def test_no_combination_folds_a_portrait_built_as_on_another_cpu(
    built_as_on_another_cpu, name
) -> None:
    """The profile (cameraman) and the mid-word portrait built as on another CPU: on this
    host's build neither folds in 1,500 random combinations; so built, 21 and 428 of 1,500
    folded (the mid-word's slit kept a flat triangle, SLIT_FLAT_SHARE; the profile's
    outline at its silhouette). Now no combination folds as rendered, and the guard takes
    little."""
    rig = built_as_on_another_cpu[name].rig
    rng = np.random.default_rng(158)
    names = sorted(rig.bases)
    shares = []
    for _ in range(COMBINATIONS):
        weights = random_weights(rng, names)
        assert folded(rig, weights, guarded=True) == 0, weights
        shares.append(rig.unfolded_share(weights))
    engaged = [s for s in shares if s < 1.0]
    print(f"{name}: engaged {len(engaged)} of {COMBINATIONS}, least {min(shares):.3f}")
    assert len(engaged) <= GUARD_ENGAGED_MAX * COMBINATIONS
    assert min(shares) >= GUARD_SHARE_MIN
