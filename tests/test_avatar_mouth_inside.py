"""The open mouth's inside (issue 13, items 3 and 6): a small opening is a dark slit the
tracker does not overread, the inner lip edge is a curve, a wide cavity is a red-brown lit like
the face with a dark crease inside the lips and its darkest in a small area, the tongue lies
in the lower third, lit, above the lower teeth.

Tuned on ``astronaut`` and the derived tuning portraits ``astronaut_grey_moustache`` and
``astronaut_rot30`` (tests/data/faces/README.md), never on the held-out ones."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
from avatar_builds import built
from host_cpu import AVX512

from pipelines.avatar.render import INNER, TEETH_SHOW, AvatarRenderer
from pipelines.avatar.stage import Avatar

pytestmark = pytest.mark.clock_free

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
TONGUE_TOP_MAX = 1 / 3
"""The tongue's top above the lower lip's inner edge, as a share of the opening, at most: in the
lower third (at 0.38 the tracker took its lit top for the lower lip in a near-black cavity)."""
TONGUE_LIGHT = (0.45, 0.85)
"""The tongue's median grey over the lips' median grey: lit like them but inside the mouth
(0.67 on the astronaut; at most 0.55 before, a dark dome that hardly showed)."""


@pytest.fixture(scope="module")
def grey_avatar() -> Avatar:
    avatar = built("astronaut_grey_moustache")
    assert avatar.rest is not None and avatar.rest.was_open
    assert avatar.renderer.teeth is not None, "its own teeth are kept"
    return avatar


@pytest.fixture(scope="module")
def colour() -> AvatarRenderer:
    return built("astronaut").renderer


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
    """The lips' inner edge is a smooth curve through the inner-lip landmarks (no kink at
    each), meeting itself in a point at the two corners; the opening inside it is that curve
    rounded (test_avatar_mouth_round's round corners)."""
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
    # The landmark polygon alone kinks (what the curve replaces): 20.7° at most on the
    # wide-open mouth's rounded lips (rig.JAW_WIDE; 27° before), the curve 6.6°.
    assert turns_deg(at)[[RING.index(i) - 1 for i in RING if i not in (78, 308)]].max() > 15


def test_the_tongue_lies_in_the_lower_third_lit(colour, monkeypatch) -> None:
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
    light = np.median(g[tongue]) / lips
    assert TONGUE_LIGHT[0] <= light <= TONGUE_LIGHT[1], f"tongue at {light:.2f} of the lips"


def _lips_mask(renderer: AvatarRenderer) -> np.ndarray:
    from pipelines.tracking import regions

    lm = renderer.rig.points
    m = np.zeros(renderer.portrait.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(lm[list(regions.LIPS_OUTER)]).astype(np.int32)], 1)
    cv2.fillPoly(m, [np.round(lm[list(regions.LIPS_INNER)]).astype(np.int32)], 0)
    return m.astype(bool)


SWEEP_JAWS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
SWEEP_DROP_MAX = 0.004
"""Largest fall of the tracked opening (face heights) from one jaw step of the sweep to the
next (0.003 measured; the tracker reads one frame after another, each from the last)."""
SWEEP_R_MIN = 0.93
"""Pearson r of the tracked opening against the jaw weight over the sweep: 0.907 with the
tongue's top at 0.22 of the opening in the near-black cavity (render.TONGUE_TOP; 0.095 at jaw
0.7 after 0.097 at 0.5, then 0.117 and 0.119 at 0.9 and 1.0), 0.920 at 0.30, 0.935 at 0.35,
0.938 at 0.40; 0.950 with the lit cavity, its crease and the tongue at 0.30 (cavity16), whose
0.102 at jaw 0.5 then 0.096 at 0.6 still breaks SWEEP_DROP_MAX)."""


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
    not AVX512,
    strict=False,
    reason="measured passing only on an AVX-512 host (2026-12-05, tests/host_cpu.py), since "
    "render.LOWER_LIP_SHADE; on the AVX2 hosts it failed before it (the reading fell 0.006 from "
    "jaw 0.5 to 0.6) and has not been measured since",
)
def test_the_tracked_opening_grows_with_the_jaw(grey_avatar) -> None:
    """Over a jaw sweep on the grey moustached tuning portrait the tracker's opening grows
    with it: in a wide, near-black opening its lower-lip points float in the dark and the
    reading stalls from jaw 0.5 to 0.7 (held-out einstein_midword's sweep was not monotonic).
    The tongue's lit top, a little higher in the mouth (render.TONGUE_TOP), is an edge that
    moves with the jaw and passed this, but did not carry over to the held-out portrait. An
    expected failure until the lower lip's inner face shaded what lies behind it
    (render.LOWER_LIP_SHADE): before it the reading fell 0.006 from jaw 0.5 to 0.6 (sweep r
    0.950); now 0.006 0.028 0.057 0.078 0.096 0.107 0.121 0.119 0.130 0.129 0.152."""
    got = tracked_sweep(grey_avatar.renderer)
    print(" ".join(f"{v:.3f}" for v in got))
    drops = -np.diff(got)
    assert drops.max() <= SWEEP_DROP_MAX, (got.round(3), drops.max())
    r = float(np.corrcoef(SWEEP_JAWS, got)[0, 1])
    assert r >= SWEEP_R_MIN, (r, got.round(3))


WIDE = {"jaw": 1.0}
TUNING = ("astronaut", "astronaut_rot30", "astronaut_grey_moustache")
CAVITY_LIGHT = (0.18, 0.45)
"""A wide-open cavity's mean grey (teeth left out, tongue in) over the skin's median grey.
Derived by reasoning, not from a photo (the real open-mouthed portraits are held out, and
astronaut_midword's gap was filled dark by hand): the mouth's lining reflects as the lips do
(their grey is 0.9-1.1 of the skin's on the tuning portraits), and through a wide opening its
front walls and the tongue get a third to a half of the face's light, the back almost none,
so a photographed open mouth averages about 0.2-0.45 of the skin. The near-black cavity before
(deepest shade 0.15 of its colour): 0.14-0.15; now 0.23-0.25."""
DARK_LEVEL = 0.12
"""Grey (over the skin's) below which a pixel of the cavity counts as near black."""
DARK_SHARE_MAX = 0.35
"""Share of a wide-open cavity (teeth left out) near black, at most: the back of the mouth and
the crease inside the lips are darkest, not the whole of it (0.13-0.19 now, 0.57-0.59
before)."""
CREASE_OVER_WALLS_MAX = 0.8
"""Mean grey of the crease just inside the lips' rim (0.13-0.2 of the opening in) over the
walls further in (their upper quartile; tongue and teeth left out), at most: the tracker needs
that dark line at the lips (render.CAVITY_CREASE); lit walls without it cost every tuning
portrait's tracked opening r. 0.57-0.58 now; about 1 before (no walls lighter than it). This
took over from a test that the cavity was dark but for a thin lit rim (a mid-grey ring's inner
edge was taken for the lower lip): the issue asks for lit walls, the dark line at the lips'
edge is kept as this crease, inside the thin lit rim."""
TONGUE_SHOWN_MIN = 0.07
"""Share of a wide-open mouth (as rendered, teeth in) where the tongue lightens the picture by
a tenth of the skin's grey or more, at least: above the lower teeth, not hidden behind them
(0.085-0.144 now, 0.023-0.044 before)."""


@functools.cache
def tuning_renderer(name: str, drawn: bool) -> AvatarRenderer:
    renderer = built(name).renderer
    return AvatarRenderer(renderer.portrait, renderer.rig) if drawn else renderer


def face_oval(renderer: AvatarRenderer) -> np.ndarray:
    from pipelines.tracking import regions

    m = np.zeros(renderer.portrait.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(renderer.rig.points[list(regions.FACE_OVAL)]).astype(np.int32)], 1)
    return m.astype(bool)


def skin_grey(renderer: AvatarRenderer) -> float:
    return float(np.median(grey(renderer.portrait)[face_oval(renderer)]))


def grey(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64) if img.ndim == 3 else img


def inside(renderer: AvatarRenderer, weights: dict) -> tuple[np.ndarray, np.ndarray]:
    """The mouth's inside (eroded by a pixel) and each of its pixels' distance from the lips."""
    at = renderer.mouth_outline(weights)
    mask = np.zeros(renderer.portrait.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(at).astype(np.int32)], 1)
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    return depth > 1.0, depth


@pytest.mark.parametrize("drawn", [False, True], ids=["own", "drawn"])
@pytest.mark.parametrize("name", TUNING)
def test_a_wide_open_cavity_is_lit_like_the_face(name, drawn, monkeypatch) -> None:
    """Not a near-black hole: a red-brown lit like the face, darkest in a small area, with a
    dark crease just inside the lips (teeth left out, the tongue in)."""
    renderer = tuning_renderer(name, drawn)
    monkeypatch.setattr(renderer, "_own_teeth", lambda canvas, *args: canvas)
    monkeypatch.setattr(renderer, "_drawn_teeth", lambda canvas, *args: canvas)
    out = renderer.render(WIDE).copy()
    mask, depth = inside(renderer, WIDE)
    g = grey(out)
    skin = skin_grey(renderer)
    light = float(g[mask].mean()) / skin
    dark = float((g[mask] < DARK_LEVEL * skin).mean())
    assert CAVITY_LIGHT[0] <= light <= CAVITY_LIGHT[1], f"cavity at {light:.3f} of the skin"
    assert dark <= DARK_SHARE_MAX, f"{dark:.2f} of the cavity near black"
    bgr = out[mask].reshape(-1, 3).astype(np.float64).mean(axis=0)
    skin_bgr = np.median(renderer.portrait[face_oval(renderer)].astype(np.float64), axis=0)
    if float(np.ptp(skin_bgr)) > 10:  # (a colour portrait)
        assert bgr[2] >= 1.3 * bgr[0] and bgr[2] >= bgr[1], f"not red-brown: BGR {bgr.round()}"
    # The crease: from the lip's rim in, darker than the walls further in (tongue left out).
    with monkeypatch.context() as m:
        m.setattr(renderer, "_tongue", np.zeros_like(renderer._tongue))
        g = grey(renderer.render(WIDE))
    at = renderer.mouth_outline(WIDE)
    opening = float(np.linalg.norm(at[RING.index(14)] - at[RING.index(13)]))
    crease = mask & (depth > 0.13 * opening) & (depth < 0.2 * opening)
    walls = mask & (depth > 0.3 * opening)
    assert crease.sum() > 30 and walls.sum() > 30
    ratio = float(g[crease].mean() / np.percentile(g[walls], 75))
    assert ratio <= CREASE_OVER_WALLS_MAX, f"crease at {ratio:.2f} of the walls"
    rim = mask & (depth < 0.08 * opening)
    assert g[rim].mean() > g[crease].mean(), "no lit rim at the lips' edge"


@pytest.mark.parametrize("drawn", [False, True], ids=["own", "drawn"])
@pytest.mark.parametrize("name", TUNING)
def test_the_tongue_shows_above_the_lower_teeth(name, drawn, monkeypatch) -> None:
    renderer = tuning_renderer(name, drawn)
    out = renderer.render(WIDE).copy()
    with monkeypatch.context() as m:
        m.setattr(renderer, "_tongue", np.zeros_like(renderer._tongue))
        bare = renderer.render(WIDE)
    lit = grey(out) - grey(bare) > 0.1 * skin_grey(renderer)
    mask, _ = inside(renderer, WIDE)
    shown = float((lit & mask).sum()) / float(mask.sum())
    assert shown >= TONGUE_SHOWN_MIN, f"the tongue shows in {shown:.3f} of the mouth"


SOFT_PORTRAITS = (
    "astronaut",
    "astronaut_grey_small",
    "astronaut_grey_moustache",
    "photographer_grey_parted",
    "canonman_glasses",
    "brothers_sepia",
)
"""Tuning portraits, photos upscaled 1.2-4 times to the canvas."""
MOUTH_SOFT_MIN = 0.7
"""The open mouth's softness (its box on the rendered frame, mid-word) over the photo's face's
(:func:`~pipelines.avatar.render.photo_softness`), at least: the drawn inside as soft as the
photo around it, near enough. Measured 0.75-0.97 (astronaut 0.97, brothers_sepia 0.75);
0.52-0.75 with the inside drawn sharp on every photo (astronaut 0.75, the others 0.52-0.63)."""


@pytest.mark.parametrize("name", SOFT_PORTRAITS)
def test_the_drawn_mouth_is_as_soft_as_the_photo(name) -> None:
    """A photo upscaled to the canvas, or taken soft, is blurred; the drawn teeth, cavity and
    the opening's outline were sharp on it, a crisp cut-out under soft lips (a 4× upscaled
    grey photo: teeth rows and a black outline sharper than anything else on the face)."""
    from pipelines.avatar.render import photo_softness

    renderer = built(name).renderer
    lm = renderer.rig.geometry.landmarks
    face = photo_softness(renderer.portrait, lm)
    frame = renderer.render({"jaw": 0.55, "spread": 0.3}).copy()
    assert renderer.last_mouth_box is not None
    x0, y0, x1, y1 = renderer.last_mouth_box
    mouth = photo_softness(frame[y0:y1, x0:x1], None)
    assert mouth >= MOUTH_SOFT_MIN * face, f"mouth {mouth:.2f} against the face's {face:.2f}"


LOWER_EDGE_OVER_BEHIND_MAX = 0.8
"""The opening's pixels within a pixel of the lower lip (the lowest fifth of the opening) over
those just behind them (2 px to 0.15 of the opening further in: the lower teeth, the tongue),
mean grey, at most: the lower lip's inner face is a dark line between the lip and what lies
behind it (render.LOWER_LIP_SHADE). On the grey moustached tuning portrait 0.58-0.72 now;
0.91-0.98 before, when the light lower teeth met the lip with no line and the tracker took
their top edge for the lower lip."""


def lip_edge_over_inside(renderer, weights: dict[str, float], lower: bool) -> float:
    """Mean grey of the opening's pixels within a pixel of one lip (the lowest fifth of the
    opening for the lower lip, the highest fifth for the upper) over those just inside them
    (2 px to 0.15 of the opening further in), on ``renderer``'s frame at ``weights``."""
    g = grey(renderer.render(weights).copy())
    at = renderer.mouth_outline(weights)
    top, bottom = at[RING.index(13)], at[RING.index(14)]
    down = renderer.down.astype(np.float64)
    opening = float((bottom - top) @ down)
    h, w = g.shape
    ys, xs = np.mgrid[0:h, 0:w]
    way_down = ((xs - top[0]) * down[0] + (ys - top[1]) * down[1]) / opening
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(at).astype(np.int32)], 1)
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    band = (mask > 0) & ((way_down > 0.8) if lower else (way_down < 0.2))
    edge = band & (depth <= 1.0)
    inside = band & (depth >= 2.0) & (depth <= 0.15 * opening + 2.0)
    assert edge.sum() > 20 and inside.sum() > 20
    return float(g[edge].mean() / g[inside].mean())


@pytest.mark.parametrize(
    ("drawn", "jaw"),
    [(True, 0.5), (True, 0.8), (False, 0.8)],
    ids=["drawn-0.5", "drawn-0.8", "own-0.8"],
)
def test_the_lower_lip_edge_is_a_dark_line(drawn, jaw) -> None:
    renderer = tuning_renderer("astronaut_grey_moustache", drawn)
    ratio = lip_edge_over_inside(renderer, {"jaw": jaw}, lower=True)
    assert ratio <= LOWER_EDGE_OVER_BEHIND_MAX, f"lower lip edge at {ratio:.2f} of behind it"


WIDE_JAWS = (0.6, 0.7, 0.8, 0.9, 1.0)
WIDE_READ_MIN = 0.88
"""The tracker's inner-lip gap (13 to 14, pixels) over the drawn one, mean over the wide jaws'
last three (0.8-1.0, read in order from 0.6), at least, on the grey moustached tuning portrait
with its own teeth: its light upper teeth met the light moustache with no line and the tracker
put the upper lip part way down them (0.816 before render.UPPER_LIP_SHADE, 0.88/0.76/0.81;
0.933 with it, 1.04/0.87/0.90; on the AVX-512 host)."""
UPPER_EDGE_OVER_UNDER_MAX = 0.8
"""The opening's pixels within a pixel of the upper lip (the highest fifth of the opening)
over those just under them (2 px to 0.15 of the opening further in: the upper teeth), mean
grey, at most: the upper lip's inner face is a dark line above the teeth where the lip is as
light as they are (render.UPPER_LIP_SHADE). On the grey moustached tuning portrait with its
own teeth 0.64-0.70 at jaw 0.6-1.0 now; 0.97-1.07 before."""


def tracked_over_drawn(renderer: AvatarRenderer, jaws) -> list[float]:
    """The tracker's inner-lip gap (13-14) over the drawn one, for each jaw weight in turn (one
    tracker, fed the renders in order, as a clip feeds it)."""
    from pipelines.avatar.tracked import measuring_tracker
    from pipelines.frame import FrameContext

    tracker = measuring_tracker()
    tracker.open()
    read = []
    try:
        for i, jaw in enumerate(jaws):
            ctx = FrameContext(timestamp=i / 30.0, index=i)
            tracker.process(renderer.render({"jaw": jaw}).copy(), ctx)
            assert ctx.primary_face is not None, f"face lost at jaw {jaw}"
            lm = np.asarray(ctx.primary_face.landmarks, np.float64)
            at = renderer.mouth_outline({"jaw": jaw})
            drawn = float(np.linalg.norm(at[RING.index(14)] - at[RING.index(13)]))
            read.append(float(np.linalg.norm(lm[14, :2] - lm[13, :2])) / drawn)
    finally:
        tracker.close()
    return read


def test_a_wide_opening_reads_as_wide_under_a_grey_moustache(grey_avatar) -> None:
    """At wide openings the tracker's upper lip stays on the drawn one: it was caught on the
    light upper teeth under the light moustache (jaw 1.0: 37 px tracked for a drawn 45)."""
    read = tracked_over_drawn(grey_avatar.renderer, WIDE_JAWS)
    got = float(np.mean(read[-3:]))
    assert got >= WIDE_READ_MIN, f"tracked {np.round(read, 2)} of the drawn gap"


@pytest.mark.parametrize("jaw", [0.6, 1.0])
def test_the_upper_lip_edge_is_a_dark_line_under_a_light_lip(grey_avatar, jaw) -> None:
    ratio = lip_edge_over_inside(grey_avatar.renderer, {"jaw": jaw}, lower=False)
    assert ratio <= UPPER_EDGE_OVER_UNDER_MAX, f"upper lip edge at {ratio:.2f} of under it"


def test_only_a_lip_as_light_as_the_teeth_gets_the_upper_shade(grey_avatar, colour) -> None:
    """The colour astronaut's red lips draw their own edge above the teeth (no shade: its
    renders as before); the grey moustache over the grey moustached portrait's own teeth does
    not (the full shade)."""
    assert colour._upper_lip_need == 0.0
    assert grey_avatar.renderer._upper_lip_need == 1.0
