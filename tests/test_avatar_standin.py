"""Stand-in on a tightly framed portrait (issue 13, item 7): the avatar's square crop reaches
past the photo, the portrait holds a soft fill there, and the stand-in must not paste that fill
on the backdrop as part of the person (it showed as a grey slab with straight edges under the
shirt and beside the cut shoulder)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from golden_data import face_photo, load_golden

from pipelines.avatar.compose import StandIn, compose_standin, make_standin, person_mask
from pipelines.avatar.motion import Animator
from pipelines.avatar.portrait import Portrait, load_portrait, make_portrait
from pipelines.avatar.stage import Avatar, TalkingHead, TalkingHeadSettings
from pipelines.frame import FrameContext
from pipelines.tracking import regions

pytestmark = pytest.mark.clock_free

FACES = Path(__file__).resolve().parent / "data" / "faces"
TIGHT_BOX = (130, 0, 512, 225)
"""tools/avatar_portraits.py's crop of astronaut.jpg for astronaut_tight.jpg (x0, y0, x1, y1)."""
FRAMES = ((1280, 720), (720, 1280))
"""A landscape 720p frame and a portrait-oriented one (the bust placed at the bottom edge of
both; on the tall one zoomed in past its sides, the face low in it)."""
PAST_GRADIENT_MAX = 3.0
"""Grey levels per pixel (gray blurred at sigma 1): the steepest step allowed in the frame
where the crop is past the photo, i.e. only the out-of-focus backdrop (0.9 on the landscape
frame, 1.4 on the tall one; the old stand-in's slab: 31 on both)."""
PAST_DIFF_MAX = 6
"""Grey levels: the output against the backdrop alone where the crop is past the photo (a
2-pixel margin for the resampling; 2 measured on both frames, the old slab up to 226)."""
INSIDE_FADE = 43.0
"""Avatar pixels inside the photo's edge past which the person is whole (alpha > 0.95): the
fade's 0.08 of 512 (compose.PHOTO_FADE) and 2 pixels; also past the square's own top, which
fades over 0.04 of 512 when it lies inside the frame."""


@pytest.fixture(scope="module")
def tight() -> Avatar:
    """``astronaut_tight.jpg`` with the golden astronaut landmarks moved by the crop (the
    tracker is not needed to cut the photo), built as the stage builds it (with the retrack of
    the closed mouth: the astronaut smiles with her teeth showing)."""
    lm = load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0
    lm = lm - np.array([TIGHT_BOX[0], TIGHT_BOX[1], 0.0], np.float32)
    photo = cv2.imread(str(FACES / "astronaut_tight.jpg"), cv2.IMREAD_COLOR)
    assert photo is not None and photo.shape == (225, 382, 3)
    portrait = make_portrait(photo, lm)
    assert portrait.coverage is not None
    return Avatar.build(portrait)


@pytest.fixture(scope="module")
def tight_mask(tight: Avatar) -> np.ndarray:
    return person_mask(tight.portrait.image)


def gradient(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g = cv2.GaussianBlur(gray, (0, 0), 1.0)
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[:, 1:] = np.abs(np.diff(g, axis=1))
    gy[1:] = np.abs(np.diff(g, axis=0))
    return np.maximum(gx, gy)


def past_in_frame(coverage: np.ndarray, x: int, y: int, side: int, size: tuple[int, int]):
    """The frame's pixels whose point of the avatar's square is past the photo, grown by 2."""
    w, h = size
    ys, xs = np.nonzero(coverage < 0.5)
    scale = side / coverage.shape[0]
    fy = (y + (ys + 0.5) * scale).astype(int)
    fx = (x + (xs + 0.5) * scale).astype(int)
    ok = (fy >= 0) & (fy < h) & (fx >= 0) & (fx < w)
    region = np.zeros((h, w), np.uint8)
    region[fy[ok], fx[ok]] = 1
    return cv2.dilate(region, np.ones((5, 5), np.uint8)) > 0


def test_the_photos_coverage_survives_the_avatars_build(tight: Avatar) -> None:
    """Avatar.build closes the smiling mouth and retracks the face, making new Portraits:
    where the photo ends must come through (a lost coverage brings the slab back)."""
    cov = tight.portrait.coverage
    assert cov is not None and cov.shape == tight.portrait.image.shape[:2]
    # The crop reaches past the photo at the bottom and at the left (astronaut_tight's cuts).
    assert (cov[-1] < 0.5).all() and (cov[:, 0] < 0.5).all()
    assert (cov[200:400, 200:400] > 0.99).all()
    assert tight.rest is not None and tight.rest.was_open  # the path that rebuilds it


@pytest.mark.parametrize("frame", FRAMES)
def test_standin_shows_nothing_past_the_photo(tight: Avatar, tight_mask, frame) -> None:
    """Past the photo the frame is the backdrop alone, with no edge in it: the old stand-in
    showed the portrait's fill there as person, a grey slab with straight sides. The same
    measure on the old cut-out (no coverage given) shows that slab."""
    portrait = tight.portrait
    assert portrait.coverage is not None
    # The segmentation model does cut the fill out as person: that is the defect's cause.
    assert (tight_mask[portrait.coverage < 0.5] > 0.5).mean() > 0.2
    for coverage, slab in ((portrait.coverage, False), (None, True)):
        standin = make_standin(portrait.image, tight_mask, frame, coverage)
        out = compose_standin(np.zeros((frame[1], frame[0], 3), np.uint8), portrait.image, standin)
        assert out.shape == (frame[1], frame[0], 3)
        region = past_in_frame(portrait.coverage, standin.x, standin.y, standin.side, frame)
        if slab or frame[0] > frame[1]:
            assert region.mean() > 0.01
        else:
            # On the tall frame the photo's cut is placed at the frame's bottom: what lies past
            # the photo is below the frame (only the old cut-out, placed at the square's own
            # bottom, still shows it).
            assert not region.any()
        if region.any():
            diff = np.abs(out.astype(int) - standin.backdrop.astype(int)).max(axis=2)[region]
            steep = gradient(out)[region].max()
            if slab:
                assert diff.max() > 10 * PAST_DIFF_MAX and steep > 3 * PAST_GRADIENT_MAX
            else:
                assert diff.max() <= PAST_DIFF_MAX, f"the fill shows past the photo: {diff.max()}"
                assert steep <= PAST_GRADIENT_MAX, f"an edge past the photo: {steep:.1f}"
        if not slab:
            shown = standin.rows or standin.alpha.shape[0]
            assert standin.alpha[:shown][portrait.coverage[:shown] < 0.5].max() == 0.0
            # The person is still there, whole, a little way inside the photo's edge (a
            # bust's bottom cut is the frame's edge: the person does not fade there).
            inside = (portrait.coverage >= 0.5).astype(np.uint8)
            if standin.rows:
                inside[standin.rows :] = inside[standin.rows - 1]
            deep = cv2.distanceTransform(inside, cv2.DIST_L2, 5) > INSIDE_FADE
            core = cv2.erode((tight_mask > 0.9).astype(np.uint8), np.ones((15, 15), np.uint8))
            person = deep[:shown] & (core[:shown] > 0)
            person[: int(INSIDE_FADE)] = False  # a bust's square top fades (compose.EDGE_FADE)
            assert person.sum() > 20000, person.sum()
            assert standin.alpha[:shown][person].min() > 0.95


def test_a_bust_cut_by_the_photo_sits_at_the_frames_bottom(tight: Avatar, tight_mask) -> None:
    """On a landscape frame the shoulders' cut is placed at the frame's bottom edge, as a
    webcam frames a bust, with the face in the upper part of the frame and the head whole."""
    portrait = tight.portrait
    assert portrait.coverage is not None
    w, h = FRAMES[0]
    standin = make_standin(portrait.image, tight_mask, (w, h), portrait.coverage)
    scale = standin.side / portrait.image.shape[0]
    # The lowest row of the photo under the chin, in the frame: at or past the bottom edge.
    chin = portrait.landmarks[regions.CHIN]
    col = int(np.rint(chin[0]))
    last = int(np.flatnonzero(portrait.coverage[:, col] >= 0.5).max())
    assert standin.y + (last + 1) * scale >= h - 1
    centre = (portrait.landmarks[regions.FOREHEAD_TOP, 1] + chin[1]) / 2.0
    assert 0.4 * h <= standin.y + centre * scale <= 0.65 * h
    assert standin.y > 0 and 1.0 <= scale / (h / portrait.image.shape[0]) <= 1.25
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    # The bottom rows under the chin show the photo (the dark shirt), not the backdrop.
    x_chin = int(standin.x + chin[0] * scale)
    bottom = out[h - 3 :, x_chin - 20 : x_chin + 20].astype(int)
    assert np.abs(bottom - standin.backdrop[h - 3 :, x_chin - 20 : x_chin + 20]).mean() > 40


def test_the_stage_stands_in_with_the_coverage(tight: Avatar, tight_mask) -> None:
    """The stage passes the portrait's coverage on: its frame is the clean cut-out's."""
    settings = TalkingHeadSettings(mode="stand-in", idle=False, blinks=False)
    stage = TalkingHead(settings, avatar=tight)
    stage.open()
    ctx = FrameContext(timestamp=0.0, index=0)
    out = stage.process(np.full((360, 640, 3), 60, np.uint8), ctx)
    weights = Animator(TalkingHead._motion_settings(settings)).update(0.0)
    avatar = tight.renderer.render(weights, np.empty((512, 512, 3), np.uint8))
    assert tight.person is not None
    clean = make_standin(tight.portrait.image, tight.person, (640, 360), tight.portrait.coverage)
    expected = compose_standin(np.zeros_like(out), avatar, clean)
    assert np.abs(out.astype(int) - expected).max() <= 1


def covering_astronaut() -> Portrait:
    lm = load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0
    return make_portrait(face_photo("astronaut"), lm)


def test_portraits_whose_person_the_photo_does_not_cut_are_unchanged() -> None:
    """A portrait the photo covers has no coverage; the shipped portrait's crop reaches past
    the photo only in a sliver of wall at its top: its stand-in is the one made without a
    coverage, field for field (the old stand-in, byte for byte)."""
    assert covering_astronaut().coverage is None
    shipped = load_portrait(None)
    assert shipped.coverage is not None and (shipped.coverage < 0.5).any()
    mask = person_mask(shipped.image)
    for frame in ((1280, 720), (720, 1280), (640, 480)):
        new = make_standin(shipped.image, mask, frame, shipped.coverage)
        old = make_standin(shipped.image, mask, frame, None)
        assert (new.x, new.y, new.side, new.rows) == (old.x, old.y, old.side, old.rows)
        for a, b in ((new.backdrop, old.backdrop), (new.alpha, old.alpha)):
            assert np.array_equal(a, b)
        assert np.array_equal(new.behind, old.behind)


TOP_CUT_BOX = (90, 45, 450, 512)
"""A crop of astronaut.jpg (x0, y0, x1, y1) through the hair, 25 px under its top: a headshot
framed so tight that its top edge cuts the head."""
HAIR_SHOWN_MIN = 25.0
"""Grey levels: the frame's top rows over the head against the backdrop alone. Placed at the
frame's top, the cut hair shows there (measured 68 on 1280x720, 71-75 on 640x360 and
1920x1080); faded out at the photo's edge, the head floated flat-topped under a band of
backdrop (measured 0.08)."""


@pytest.fixture(scope="module")
def top_cut_headshot() -> tuple[Portrait, np.ndarray]:
    lm = load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0
    lm = lm - np.array([TOP_CUT_BOX[0], TOP_CUT_BOX[1], 0.0], np.float32)
    x0, y0, x1, y1 = TOP_CUT_BOX
    photo = np.ascontiguousarray(face_photo("astronaut")[y0:y1, x0:x1])
    portrait = make_portrait(photo, lm)
    return portrait, person_mask(portrait.image)


def test_a_head_cut_by_the_photos_top_is_cut_by_the_frames_top(top_cut_headshot) -> None:
    """A headshot whose top edge cuts the hair is placed with that edge at or above the frame's
    top (zoomed in as a webcam's close framing), the bust's cut at its bottom, the face whole
    in the frame; it floated flat-topped under a band of backdrop."""
    from pipelines.avatar.compose import top_cut

    portrait, mask = top_cut_headshot
    assert portrait.coverage is not None
    top = top_cut(portrait.coverage, mask)
    assert top is not None and top > 0
    w, h = FRAMES[0]
    standin = make_standin(portrait.image, mask, (w, h), portrait.coverage)
    scale = standin.side / portrait.image.shape[0]
    assert standin.y + top * scale <= 1.0
    lm = portrait.landmarks
    forehead, chin = lm[regions.FOREHEAD_TOP], lm[regions.CHIN]
    assert standin.y + forehead[1] * scale >= 0 and standin.y + chin[1] * scale <= h
    assert 0.3 * h <= standin.y + (forehead[1] + chin[1]) / 2 * scale <= 0.65 * h
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    x_face = int(standin.x + forehead[0] * scale)
    over = (slice(0, 3), slice(x_face - 30, x_face + 30))
    shown = np.abs(out[over].astype(int) - standin.backdrop[over].astype(int)).mean()
    assert shown > HAIR_SHOWN_MIN, f"the head's cut top is not at the frame's top: {shown:.1f}"
    # Still nothing of the fill past the photo's sides in the frame.
    region = past_in_frame(portrait.coverage, standin.x, standin.y, standin.side, (w, h))
    if region.any():
        diff = np.abs(out.astype(int) - standin.backdrop.astype(int)).max(axis=2)[region]
        assert diff.max() <= PAST_DIFF_MAX


SIDE_CUT_BOXES = {"left": (165, 0, 512, 512), "right": (0, 0, 285, 512)}
"""Crops of astronaut.jpg (x0, y0, x1, y1) whose left or right edge runs through the hair,
0.15 face widths beside the face's outermost landmark (as tools/avatar_sweep.py cuts a photo,
but at the side)."""
CHIN_CUT_BOX = (0, 0, 512, 181)
"""A crop of astronaut.jpg whose bottom edge runs just under the chin (the chin's landmark and
0.03 face heights: tools/avatar_sweep.py's ``cut_chin``)."""
ALL_FRAMES = (*FRAMES, (720, 720))
EDGE_SHOWN_MIN = 25.0
"""Grey levels: the frame's outermost columns (or bottom rows) at the photo's cut against the
backdrop alone. Placed at the frame's edge, the cut hair (the chin's skin) shows there; faded
out at the photo's edge inside the frame it is the backdrop."""


def cropped_astronaut(box: tuple[int, int, int, int]) -> tuple[Portrait, np.ndarray]:
    lm = load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0
    lm = lm - np.array([box[0], box[1], 0.0], np.float32)
    photo = np.ascontiguousarray(face_photo("astronaut")[box[1] : box[3], box[0] : box[2]])
    portrait = make_portrait(photo, lm)
    return portrait, person_mask(portrait.image)


@pytest.fixture(scope="module")
def side_cut_headshots() -> dict[str, tuple[Portrait, np.ndarray]]:
    return {side: cropped_astronaut(box) for side, box in SIDE_CUT_BOXES.items()}


def face_in_frame(portrait: Portrait, standin: StandIn, frame: tuple[int, int]) -> None:
    """The face whole in the frame, its centre not at the frame's very side."""
    w, h = frame
    scale = standin.side / portrait.image.shape[0]
    lm = portrait.landmarks
    forehead, chin = lm[regions.FOREHEAD_TOP], lm[regions.CHIN]
    assert standin.y + forehead[1] * scale >= 0 and standin.y + chin[1] * scale <= h
    centre = standin.x + (forehead[0] + chin[0]) / 2.0 * scale
    assert 0.15 * w <= centre <= 0.85 * w


@pytest.mark.parametrize("frame", ALL_FRAMES)
@pytest.mark.parametrize("side", sorted(SIDE_CUT_BOXES))
def test_a_head_cut_at_the_photos_side_is_cut_at_the_frames_side(
    side_cut_headshots, side, frame
) -> None:
    """A photo whose side edge runs through the hair is placed with that edge at or past the
    frame's side (moved over, zoomed in a little), as a webcam frames a person at its edge:
    the hair reaches the frame's edge there. Faded out at the photo's edge, the hair ended in
    a straight vertical soft line in the middle of the frame."""
    portrait, mask = side_cut_headshots[side]
    assert portrait.coverage is not None
    lm = portrait.landmarks
    # The photo's edge on the face's middle row, in the avatar's square.
    row = np.flatnonzero(portrait.coverage[int(lm[:, 1].mean())] >= 0.5)
    cut = row.min() if side == "left" else row.max() + 1
    assert 0 < cut < portrait.image.shape[1]
    w, h = frame
    standin = make_standin(portrait.image, mask, frame, portrait.coverage)
    scale = standin.side / portrait.image.shape[0]
    at = standin.x + cut * scale
    assert (at <= 1.0) if side == "left" else (at >= w - 1.0), f"the cut is at x={at:.0f}"
    face_in_frame(portrait, standin, frame)
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    assert out.shape == (h, w, 3)
    # The frame's outer columns beside the face's upper half (the hair) show the photo.
    top = int(max(0, standin.y + lm[regions.FOREHEAD_TOP, 1] * scale))
    mid = int(standin.y + lm[:, 1].mean() * scale)
    edge = slice(0, 3) if side == "left" else slice(w - 3, w)
    shown = np.abs(out[top:mid, edge].astype(int) - standin.backdrop[top:mid, edge]).mean()
    assert shown > EDGE_SHOWN_MIN, f"the hair does not reach the frame's edge: {shown:.1f}"


@pytest.mark.parametrize("frame", ALL_FRAMES)
def test_a_head_cut_under_the_chin_sits_on_the_frames_bottom(frame) -> None:
    """A photo cut just under the chin is placed with that cut at the frame's bottom edge
    (zoomed in as a close webcam framing; on a tall frame the head sits low), the face whole
    in the frame. It floated mid-frame, faded out along a straight line under the chin."""
    from pipelines.avatar.compose import bottom_cut

    portrait, mask = cropped_astronaut(CHIN_CUT_BOX)
    assert portrait.coverage is not None
    cut = bottom_cut(portrait.coverage, mask)
    chin = portrait.landmarks[regions.CHIN]
    assert cut is not None and cut - chin[1] < 0.05 * portrait.image.shape[0]
    w, h = frame
    standin = make_standin(portrait.image, mask, frame, portrait.coverage)
    scale = standin.side / portrait.image.shape[0]
    assert standin.y + cut * scale >= h - 1, f"the cut is at y={standin.y + cut * scale:.0f}"
    face_in_frame(portrait, standin, frame)
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    assert out.shape == (h, w, 3)
    # The bottom rows under the chin show the photo (the chin), not the backdrop.
    x_chin = int(standin.x + chin[0] * scale)
    under = (slice(h - 3, h), slice(x_chin - 20, x_chin + 20))
    shown = np.abs(out[under].astype(int) - standin.backdrop[under]).mean()
    assert shown > EDGE_SHOWN_MIN, f"the chin's cut is not at the frame's bottom: {shown:.1f}"


PLACED_DIFF_MAX = 0.8
"""Grey levels (mean over the frame): a stand-in whose square reaches past the frame's sides,
composed from only the avatar's rows and columns that show, against the whole square blended,
resized to its side and cropped by the frame. The rounding of the shown rows and columns moves
it by under a pixel: 0.34-0.56 measured on the three frames (the left-cut headshot); one
column too many or too few at the left: 0.92-1.69."""


@pytest.mark.parametrize("frame", ALL_FRAMES)
def test_a_square_past_the_frames_sides_is_composed_in_its_place(side_cut_headshots, frame) -> None:
    """compose_standin blends and resizes only what shows of a square placed past the frame's
    side: it lands where the whole square, drawn and cropped, would."""
    portrait, mask = side_cut_headshots["left"]
    w, h = frame
    standin = make_standin(portrait.image, mask, frame, portrait.coverage)
    assert standin.x < 0 and standin.cols > 0
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    whole = cv2.blendLinear(portrait.image, standin.behind, standin.alpha, 1.0 - standin.alpha)
    s, x, y = standin.side, standin.x, standin.y
    big = cv2.resize(whole, (s, s), interpolation=cv2.INTER_LINEAR)
    ref = standin.backdrop.copy()
    fy0, fx0, fy1, fx1 = max(0, y), max(0, x), min(h, y + s), min(w, x + s)
    ref[fy0:fy1, fx0:fx1] = big[fy0 - y : fy1 - y, fx0 - x : fx1 - x]
    diff = np.abs(out.astype(np.float32) - ref.astype(np.float32)).mean()
    assert diff <= PLACED_DIFF_MAX, f"the square is not where it belongs: {diff:.2f}"


TALL = (720, 1280)


@pytest.mark.parametrize("photo", ["covering", "tight"])
def test_a_bust_on_a_tall_frame_sits_on_its_bottom(photo, tight: Avatar, tight_mask) -> None:
    """On a frame taller than wide, a bust, whether the avatar's square or the photo ends under
    its shoulders, is placed with that end at the frame's bottom, zoomed in past the frame's
    sides (the face whole, lower in the frame); centred in the frame it floated, faded out
    along a straight line across the shirt."""
    from pipelines.avatar.compose import CHIN_LOWEST_FACE, bottom_cut

    if photo == "covering":
        portrait = covering_astronaut()
        mask = person_mask(portrait.image)
        end = portrait.image.shape[0]  # the square's own bottom
    else:
        portrait, mask = tight.portrait, tight_mask
        assert portrait.coverage is not None
        end = bottom_cut(portrait.coverage, mask)
        assert end is not None
    w, h = TALL
    standin = make_standin(portrait.image, mask, TALL, portrait.coverage)
    scale = standin.side / portrait.image.shape[0]
    assert standin.y + end * scale >= h - 1, f"the bust ends at y={standin.y + end * scale:.0f}"
    face_in_frame(portrait, standin, TALL)
    lm = portrait.landmarks
    centre = standin.y + (lm[regions.FOREHEAD_TOP, 1] + lm[regions.CHIN, 1]) / 2.0 * scale
    assert centre <= CHIN_LOWEST_FACE * h + 1
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    # The frame's bottom rows under the chin show the shirt, not the backdrop.
    x_chin = int(standin.x + lm[regions.CHIN, 0] * scale)
    under = (slice(h - 3, h), slice(x_chin - 20, x_chin + 20))
    shown = np.abs(out[under].astype(int) - standin.backdrop[under]).mean()
    assert shown > EDGE_SHOWN_MIN, f"the bust does not reach the frame's bottom: {shown:.1f}"


@pytest.mark.parametrize("frame", [(1280, 720), (640, 480)])
def test_a_head_past_the_squares_side_runs_out_of_the_frames_side(frame) -> None:
    """The cameraman's profile: the photo goes on past the avatar's square, whose left edge
    cuts his hair beside the face. That edge is placed at the frame's left edge, the hair
    running out of the picture; centred, the hair ended in a straight vertical soft line in
    the middle of the frame."""
    lm = load_golden("solution_face_mesh")["cameraman/landmarks"][0]
    photo = face_photo("cameraman")
    portrait = make_portrait(photo, lm * np.array([photo.shape[1], photo.shape[0], photo.shape[1]]))
    assert portrait.coverage is None
    mask = person_mask(portrait.image)
    assert (mask[: portrait.image.shape[0] // 2, 0] > 0.5).sum() > 50  # the hair at the edge
    w, h = frame
    standin = make_standin(portrait.image, mask, frame, portrait.coverage)
    assert standin.x <= 0, f"the square's left edge is at x={standin.x}"
    face_in_frame(portrait, standin, frame)
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    scale = standin.side / portrait.image.shape[0]
    top = int(max(0, standin.y + portrait.landmarks[regions.FOREHEAD_TOP, 1] * scale))
    mid = int(standin.y + portrait.landmarks[:, 1].mean() * scale)
    edge = (slice(top, mid), slice(0, 3))
    shown = np.abs(out[edge].astype(int) - standin.backdrop[edge]).mean()
    assert shown > EDGE_SHOWN_MIN, f"the hair does not reach the frame's edge: {shown:.1f}"


def test_a_background_blob_at_the_squares_side_moves_nothing() -> None:
    """The segmentation model's bits of background at the square's side (a model shuttle
    beside astronaut_pale_lashes' hair, apart from her) are not her head: the square stays
    centred on a landscape frame."""
    portrait = load_portrait(FACES / "astronaut_pale_lashes.jpg")
    mask = person_mask(portrait.image)
    head = mask[: portrait.image.shape[0] // 2]
    assert (head[:, -1] > 0.5).any()  # the blob touches the square's right edge
    for frame in ((1280, 720), (640, 480)):
        standin = make_standin(portrait.image, mask, frame, portrait.coverage)
        assert standin.x == (frame[0] - standin.side) // 2 and standin.cols == 0
