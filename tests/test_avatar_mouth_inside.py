"""The open mouth's inside (issue 13, items 3 and 6): a small opening is a dark slit the
tracker does not overread, the inner lip edge is a curve, the tongue lies low and dark.

Tuned on ``astronaut`` and the derived tuning portrait ``astronaut_grey_moustache``
(tests/data/faces/README.md), never on the held-out ones."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelines.avatar.portrait import load_portrait
from pipelines.avatar.render import INNER, TEETH_SHOW, AvatarRenderer
from pipelines.avatar.stage import Avatar

FACES = Path(__file__).resolve().parent / "data" / "faces"
RING = list(INNER)
CHANGED = 4
"""Levels above which a pixel counts as drawn by a part of the mouth."""
OVERREAD_MAX = 1.5
"""The tracked opening at a small asked one, at most this times the drawn one (the grey
moustached tuning portrait at jaw 0.1: drawn 0.024 face heights, tracked 0.047 with the
teeth showing in the slit, 0.031 with them faded in from TEETH_SHOW)."""
SMALL_JAW = 0.1
OUTLINE_TURN_MAX_DEG = 20.0
"""Largest turn of the drawn inner lip edge between two of its steps, corners excepted (the
landmark polygon's straight spans turned by up to ~45° at a landmark of the open lower lip)."""
TONGUE_TOP_MAX = 0.3
"""The tongue's top above the lower lip's inner edge, as a share of the opening, at most (it
stood at 0.38, where the tracker took its lit top for the lower lip)."""
TONGUE_DARK_MAX = 0.55
"""The tongue's median grey over the lips' median grey, at most (0.6-0.7 before: a light dome
that read as a lip)."""


@pytest.fixture(scope="module")
def grey_avatar() -> Avatar:
    avatar = Avatar.build(load_portrait(FACES / "astronaut_grey_moustache.jpg"))
    assert avatar.rest is not None and avatar.rest.was_open
    assert avatar.renderer.teeth is not None, "its own teeth are kept"
    return avatar


@pytest.fixture(scope="module")
def colour() -> AvatarRenderer:
    return Avatar.build(load_portrait(FACES / "astronaut.jpg")).renderer


def drawn_opening(renderer: AvatarRenderer, jaw: float) -> float:
    at = renderer.mouth_outline({"jaw": jaw})
    return float(np.linalg.norm(at[RING.index(14)] - at[RING.index(13)])) / renderer.face_h


def part_pixels(renderer: AvatarRenderer, weights: dict, part: str, monkeypatch) -> np.ndarray:
    """Pixels that change when ``part`` (a renderer method) is left out of the same render."""
    out = renderer.render(weights).copy()
    with monkeypatch.context() as m:
        m.setattr(renderer, part, lambda canvas, *args, **kw: canvas)
        bare = renderer.render(weights)
    return np.abs(out.astype(np.int16) - bare.astype(np.int16)).max(axis=2) > CHANGED


@pytest.mark.parametrize("which", ["own", "drawn"])
def test_a_small_opening_is_a_dark_slit(grey_avatar, colour, which, monkeypatch) -> None:
    """Below TEETH_SHOW's start no teeth show (the portrait's own or drawn ones): a dark
    slit, not a band of teeth."""
    renderer = grey_avatar.renderer if which == "own" else colour
    if which == "drawn":
        renderer = AvatarRenderer(renderer.portrait, renderer.rig)  # no teeth of its own
    jaw = 0.02
    while drawn_opening(renderer, jaw + 0.01) < TEETH_SHOW[0]:
        jaw += 0.01
    assert 0.004 < drawn_opening(renderer, jaw) < TEETH_SHOW[0]
    part = "_own_teeth" if which == "own" else "_drawn_teeth"
    teeth = part_pixels(renderer, {"jaw": jaw}, part, monkeypatch)
    assert renderer.last_mouth_box is not None, "nothing painted: no slit"
    assert teeth.sum() == 0, f"{teeth.sum()} teeth pixels in a slit"
    # ...and at a wide opening they do show.
    assert part_pixels(renderer, {"jaw": 0.6}, part, monkeypatch).sum() > 50


def test_the_tracker_does_not_overread_a_small_opening(grey_avatar) -> None:
    from pipelines.avatar.measure import opening
    from pipelines.frame import FrameContext
    from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

    tracker = FaceTracker(FaceTrackerSettings(max_faces=1, smoothing=0.0, mesh_interval=1))
    tracker.open()
    try:
        ctx = FrameContext(timestamp=0.0, index=0)
        tracker.process(grey_avatar.renderer.render({"jaw": SMALL_JAW}).copy(), ctx)
    finally:
        tracker.close()
    assert ctx.primary_face is not None
    got = opening(np.asarray(ctx.primary_face.landmarks, np.float64))
    drawn = drawn_opening(grey_avatar.renderer, SMALL_JAW)
    assert got <= OVERREAD_MAX * drawn, f"tracked {got:.3f} for a drawn {drawn:.3f}"


def turns_deg(curve: np.ndarray) -> np.ndarray:
    d = np.diff(np.vstack([curve, curve[:1]]), axis=0)
    a = np.arctan2(d[:, 1], d[:, 0])
    return np.degrees(np.abs((np.diff(np.r_[a, a[:1]]) + np.pi) % (2 * np.pi) - np.pi))


def test_the_inner_lip_edge_is_a_curve(colour, monkeypatch) -> None:
    """The cavity's outline is a smooth curve through the inner-lip landmarks (no kink at
    each), meeting itself in a point at the two corners."""
    at = colour.mouth_outline({"jaw": 1.0})
    curve = colour._smooth_outline(at)
    # The render fills that curve (the cavity's outline as cv2.fillPoly is given it), not the
    # landmarks' polygon: watched on a real render.
    filled: list[np.ndarray] = []
    real_fill = cv2.fillPoly

    def watch(img, pts, *args, **kw):
        filled.extend(np.asarray(p, np.float64).reshape(-1, 2) / 16.0 for p in pts)
        return real_fill(img, pts, *args, **kw)

    with monkeypatch.context() as m:
        m.setattr(cv2, "fillPoly", watch)
        colour.render({"jaw": 1.0})
    assert any(len(f) == len(curve) for f in filled), [len(f) for f in filled]
    for i in RING:
        assert np.min(np.linalg.norm(curve - at[RING.index(i)], axis=1)) < 1e-6
    turn = turns_deg(curve)
    corners = [int(np.argmin(np.linalg.norm(curve - at[RING.index(c)], axis=1))) for c in (78, 308)]
    # The turn at step k is between segments k and k+1, i.e. at point k+1.
    at_corner = np.zeros(len(curve), bool)
    for c in corners:
        at_corner[(c - 1) % len(curve)] = True
    assert turn[~at_corner].max() <= OUTLINE_TURN_MAX_DEG, turn[~at_corner].max()
    # The landmark polygon alone kinks (what the curve replaces).
    assert turns_deg(at)[[RING.index(i) - 1 for i in RING if i not in (78, 308)]].max() > 25


def test_the_tongue_lies_low_and_dark(colour, monkeypatch) -> None:
    weights = {"jaw": 1.0}
    at = colour.mouth_outline(weights)
    down = colour.down
    top, bottom = at[RING.index(13)] @ down, at[RING.index(14)] @ down
    # The teeth left out of both renders: the tongue alone differs.
    monkeypatch.setattr(colour, "_own_teeth", lambda canvas, *args: canvas)
    monkeypatch.setattr(colour, "_drawn_teeth", lambda canvas, *args: canvas)
    out = colour.render(weights).copy()
    with monkeypatch.context() as m:
        m.setattr(colour, "_tongue", np.zeros_like(colour._tongue))
        bare = colour.render(weights)
    tongue = np.abs(out.astype(np.int16) - bare.astype(np.int16)).max(axis=2) > CHANGED
    assert tongue.sum() > 20, "no tongue"
    ys, xs = np.nonzero(tongue)
    rise = (bottom - np.min(np.stack([xs, ys], 1) @ down)) / (bottom - top)
    assert rise <= TONGUE_TOP_MAX, f"tongue top {rise:.2f} of the opening above the lip"
    g = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float64)
    rest = cv2.cvtColor(colour.portrait, cv2.COLOR_BGR2GRAY).astype(np.float64)
    lips = np.median(rest[_lips_mask(colour)])
    assert np.median(g[tongue]) <= TONGUE_DARK_MAX * lips, np.median(g[tongue]) / lips


def _lips_mask(renderer: AvatarRenderer) -> np.ndarray:
    from pipelines.tracking import regions

    lm = renderer.rig.points
    m = np.zeros(renderer.portrait.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(lm[list(regions.LIPS_OUTER)]).astype(np.int32)], 1)
    cv2.fillPoly(m, [np.round(lm[list(regions.LIPS_INNER)]).astype(np.int32)], 0)
    return m.astype(bool)


RIM_SHARE_MAX = 0.4
"""Share of a wide-open cavity (teeth and tongue left out) lighter than halfway between its
darkest and its lightest, at most: a thin lit rim at the lips' edge (0.25 on the astronaut),
not a mid-grey ring whose inner edge the tracker took for the lower lip (0.67 before)."""


def test_the_cavity_is_dark_but_for_a_thin_rim(colour, monkeypatch) -> None:
    weights = {"jaw": 1.0}
    monkeypatch.setattr(colour, "_own_teeth", lambda canvas, *args: canvas)
    monkeypatch.setattr(colour, "_drawn_teeth", lambda canvas, *args: canvas)
    monkeypatch.setattr(colour, "_tongue", np.zeros_like(colour._tongue))
    out = colour.render(weights).copy()
    at = colour.mouth_outline(weights)
    mask = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(at).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
    g = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float64)[mask]
    assert len(g) > 500
    half = g.min() + 0.5 * (np.percentile(g, 99) - g.min())
    assert float((g > half).mean()) <= RIM_SHARE_MAX, float((g > half).mean())


SWEEP_JAWS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
SWEEP_DROP_MAX = 0.004
"""Largest fall of the tracked opening (face heights) from one jaw step of the sweep to the
next (0.003 measured; the tracker reads one frame after another, each from the last)."""
SWEEP_R_MIN = 0.93
"""Pearson r of the tracked opening against the jaw weight over the sweep: 0.907 with the
tongue's top at 0.22 of the opening (render.TONGUE_TOP; 0.095 at jaw 0.7 after 0.097 at 0.5,
then 0.117 and 0.119 at 0.9 and 1.0), 0.920 at 0.30, 0.935 at 0.35, 0.938 at 0.40."""


def tracked_sweep(renderer: AvatarRenderer) -> np.ndarray:
    """The tracker's opening (face heights) on each jaw step's render, one tracker in order."""
    from pipelines.avatar.measure import opening
    from pipelines.frame import FrameContext
    from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

    tracker = FaceTracker(FaceTrackerSettings(max_faces=1, smoothing=0.0, mesh_interval=1))
    tracker.open()
    got = []
    try:
        for i, jaw in enumerate(SWEEP_JAWS):
            ctx = FrameContext(timestamp=i / 30.0, index=i)
            tracker.process(renderer.render({"jaw": float(jaw)}).copy(), ctx)
            assert ctx.primary_face is not None, f"face lost at jaw {jaw}"
            got.append(opening(np.asarray(ctx.primary_face.landmarks, np.float64)))
    finally:
        tracker.close()
    return np.array(got)


@pytest.mark.xfail(
    strict=True,
    reason="sweep r 0.907: the tracker's reading stalls from jaw 0.5 to 0.7 on this tuning "
    "portrait; a higher tongue (0.35) passed here but cost held-out einstein_midword r "
    "0.79/0.75 -> 0.76/0.64 (render.TONGUE_TOP)",
)
def test_the_tracked_opening_grows_with_the_jaw(grey_avatar) -> None:
    """Over a jaw sweep on the grey moustached tuning portrait the tracker's opening grows
    with it: in a wide, near-black opening its lower-lip points float in the dark and the
    reading stalls from jaw 0.5 to 0.7 (held-out einstein_midword's sweep was not monotonic).
    The tongue's lit top, a little higher in the mouth (render.TONGUE_TOP), is an edge that
    moves with the jaw and passes this, but did not carry over to the held-out portrait."""
    got = tracked_sweep(grey_avatar.renderer)
    print(" ".join(f"{v:.3f}" for v in got))
    drops = -np.diff(got)
    assert drops.max() <= SWEEP_DROP_MAX, (got.round(3), drops.max())
    r = float(np.corrcoef(SWEEP_JAWS, got)[0, 1])
    assert r >= SWEEP_R_MIN, (r, got.round(3))
