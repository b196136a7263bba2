"""The stand-in's fill beyond the portrait (issue 13 item 7; QA pass 3, item 3): the person
stays where the photo framed them, what lies past the avatar's square is the photo's own
background shown once (not its mirror), and a body reaching the square's side goes on past it
instead of ending in a straight soft cut."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from avatar_builds import built

from pipelines.avatar.compose import (
    CHIN_LOWEST_FACE,
    SIDE_HEAD_Y,
    compose_standin,
    make_standin,
    person_mask,
    shoulder_cuts,
)
from pipelines.avatar.portrait import (
    FACE_CENTER_Y,
    FACE_HEIGHT_FRACTION,
    load_portrait,
    portrait_from,
)
from pipelines.avatar.stage import Avatar

pytestmark = pytest.mark.clock_free

FACES = Path(__file__).resolve().parent / "data" / "faces"
LANDSCAPE = (1280, 720)
CENTRE_MARGIN = 0.1
"""Fraction of the frame's width the face's centre may sit from the frame's centre, for a photo
that framed the face in its middle (obama_midword: 0 on this branch; on main the bystander at
the photo's left edge counted as a cut of the head and put the face at 0.20 of the width,
0.30 off centre)."""
MIRROR_DIFF_MIN = 6.0
"""Grey levels: the backdrop's mean difference between the columns just past the square's
side and the square's own columns reflected about that side (120 of each). A mirrored backdrop
reads ~0 there (0.0 on main for obama_midword: its bystander and the hole the person left came
back as a second, faceless head); the photo's background enlarged reads 32 and 14 there."""
SIDE_STEP_MAX = 12.0
"""Grey levels: the mean colour step across the avatar square's side, 24 px each way, on the
rows where the person reaches that side. A body fading out at the side into the backdrop is a
straight soft cut (astronaut 35, canonman_hooded 24 on main); continued past it, 9 and 10."""


def face_x(standin) -> float:
    """The face's centre across the frame: the avatar's square is centred on the face."""
    return standin.x + standin.side / 2.0


def test_a_bystander_at_the_photos_side_does_not_push_the_person_aside() -> None:
    """obama_midword: a blurred bystander at the photo's left edge, which the segmentation
    half cuts out as person, touches the person's blob at the shoulder. It is no cut of the
    head: the square stays centred and its backdrop past the square is no mirror."""
    avatar = built("obama_midword")
    portrait = avatar.portrait
    mask = person_mask(portrait.image)
    w = LANDSCAPE[0]
    standin = make_standin(portrait.image, mask, LANDSCAPE, portrait.coverage)
    off = abs(face_x(standin) - w / 2.0) / w
    assert off <= CENTRE_MARGIN, f"the face is {off:.2f} of the width off centre (x={standin.x})"
    x, side = standin.x, standin.side
    k = 120
    for edge in (x, x + side):
        if not (k <= edge <= w - k):
            continue
        before = standin.backdrop[:, edge - k : edge].astype(np.float32)
        after = standin.backdrop[:, edge : edge + k].astype(np.float32)
        # Reflected about the side: the same either way round.
        diff = np.abs(after - before[:, ::-1]).mean()
        assert diff >= MIRROR_DIFF_MIN, f"the backdrop mirrors the square at x={edge}: {diff:.1f}"


def side_steps(name: str) -> list[float]:
    portrait = load_portrait(FACES / f"{name}.jpg")
    mask = person_mask(portrait.image)
    w, h = LANDSCAPE
    standin = make_standin(portrait.image, mask, LANDSCAPE, portrait.coverage)
    out = compose_standin(np.zeros((h, w, 3), np.uint8), portrait.image, standin)
    out = out.astype(np.float32)
    scale = standin.side / mask.shape[0]
    steps = []
    for column, edge, outward in ((0, standin.x, -1), (-1, standin.x + standin.side, 1)):
        if not 24 < edge < w - 24:
            continue
        rows = np.flatnonzero(mask[:, column] > 0.5)
        frame_rows = (standin.y + (rows + 0.5) * scale).astype(int)
        frame_rows = frame_rows[(frame_rows >= 0) & (frame_rows < h)]
        if frame_rows.size < 20:
            continue
        step = np.abs(out[frame_rows, edge + 24 * outward] - out[frame_rows, edge - 24 * outward])
        steps.append(float(step.mean()))
    return steps


@pytest.mark.parametrize("name", ["astronaut", "canonman_hooded"])
def test_a_body_at_the_squares_side_goes_on_past_it(name: str) -> None:
    """Tuning portraits whose shoulders reach the avatar square's side on a landscape frame:
    no colour step across that side (hopper_glasses' body ended there in a soft vertical cut,
    sky beyond)."""
    steps = side_steps(name)
    assert steps, "the person reaches no side of the square inside the frame"
    assert max(steps) <= SIDE_STEP_MAX, f"a cut at the square's side: {steps}"


HALO_DETAIL_MAX = 0.5
"""The share of the photo's fine detail (mean |Laplacian|) the stand-in keeps in a ring 4-12
px outside the person's matte (its 0.5 line) on the avatar's own 512 px: the photo's sharp
background clinging to the hair over its blurred copy. astronaut: 0.63 on main (the mask
widened by 6 px), 0.38 here; portrait_full (QA's, not in the repository) 0.46 and 0.26."""


def test_no_sharp_background_clings_to_the_hair() -> None:
    portrait = load_portrait(FACES / "astronaut.jpg")
    mask = person_mask(portrait.image)
    size = portrait.image.shape[1], portrait.image.shape[0]
    standin = make_standin(portrait.image, mask, size, portrait.coverage)
    out = compose_standin(np.zeros_like(portrait.image), portrait.image, standin)
    core = (mask > 0.5).astype(np.uint8)
    ring = cv2.dilate(core, np.ones((25, 25), np.uint8)) > 0
    ring &= ~(cv2.dilate(core, np.ones((7, 7), np.uint8)) > 0)
    if portrait.coverage is not None:  # the fill past the photo has no detail to keep
        ring &= cv2.erode((portrait.coverage >= 0.5).astype(np.uint8), np.ones((9, 9))) > 0
    assert ring.sum() > 5000

    def detail(image: np.ndarray) -> float:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F))[ring].mean())

    kept = detail(out) / detail(portrait.image)
    assert kept <= HALO_DETAIL_MAX, f"the photo's sharp background shows round the hair: {kept:.2f}"


FRAMES = ((1280, 720), (720, 1280), (720, 720))
CLOSE_UP = ("photographer_turned.jpg", (0, 30, 324, 293))
"""riga_turned's framing (held out) on a tuning photo: a landscape close-up (324x263) whose
bottom edge cuts the chest (row 370 of the avatar's 512, riga's 367), whose top cuts the hair
(41; 44) and whose right side the hair (487; 488). On main a 720x1280 frame showed it as a
720 px square in the middle, a hard cut across the chest, backdrop below."""
SHOULDER_CUT = ("canonman_glasses.jpg", (0, 0, 395, 368))
"""hopper_glasses' framing (held out) on a tuning photo: the photo's right side cuts a
shoulder, not the head (column 472 of the avatar's 512, hopper's 477). On main every frame
ended the body there in a soft vertical edge (PHOTO_FADE), backdrop beyond: at x=944 of 1280,
670 and 664 of 720."""
BOTTOM_PERSON_MIN = 0.8
"""The person's mean opacity on the frame's bottom row under the face (0.15 of the width
either side of its centre): the photo's bottom cut on the frame's edge. Main: 0.00 on the
close-up at 720x1280 (backdrop under a floating bust); here 1.00 on every frame."""
SIDE_PERSON_MIN = 0.5
"""The person's mean opacity on the frame's last column, over the rows where the shoulder
reaches the photo's cut side: the body runs out of the frame. Main: 0.00 on all three frames;
here 0.98-0.99."""


def cropped_standin(crop: tuple[str, tuple[int, int, int, int]], frame_size: tuple[int, int]):
    """The portrait of a crop of a tuning photo and its stand-in, with the person's opacity
    as the frame shows it (the avatar white over a black backdrop)."""
    name, (x0, y0, x1, y1) = crop
    photo = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)[y0:y1, x0:x1]
    portrait = portrait_from(np.ascontiguousarray(photo), name)
    mask = person_mask(portrait.image)
    standin = make_standin(portrait.image, mask, frame_size, portrait.coverage)
    w, h = frame_size
    bare = replace(
        standin,
        backdrop=np.zeros((h, w, 3), np.uint8),
        behind=np.zeros_like(standin.behind),
    )
    white = np.full_like(portrait.image, 255)
    shown = compose_standin(np.zeros((h, w, 3), np.uint8), white, bare)
    return portrait, standin, shown[..., 0].astype(np.float32) / 255.0


@pytest.mark.parametrize("frame_size", FRAMES)
def test_a_close_up_cut_at_the_chest_sits_on_the_frames_bottom(frame_size) -> None:
    _, standin, opacity = cropped_standin(CLOSE_UP, frame_size)
    w, h = frame_size
    centre = round(face_x(standin))
    reach = round(0.15 * w)
    under = opacity[-1, max(0, centre - reach) : min(w, centre + reach)]
    assert under.mean() >= BOTTOM_PERSON_MIN, (
        f"{w}x{h}: backdrop under the bust ({under.mean():.2f}); square at "
        f"({standin.x}, {standin.y}), side {standin.side}"
    )
    face_y = standin.y + FACE_CENTER_Y * standin.side
    assert 0.25 * h <= face_y <= CHIN_LOWEST_FACE * h, f"{w}x{h}: the face at {face_y / h:.2f}"


@pytest.mark.parametrize("frame_size", FRAMES)
def test_a_shoulder_cut_by_the_photos_side_runs_out_of_the_frame(frame_size) -> None:
    portrait, standin, opacity = cropped_standin(SHOULDER_CUT, frame_size)
    w, h = frame_size
    assert portrait.coverage is not None
    mask = person_mask(portrait.image)
    _, right = shoulder_cuts(portrait.coverage, mask)
    assert right is not None, "the proxy's right side cuts no shoulder"
    rows = np.flatnonzero(mask[:, right - 1] > 0.5)
    frame_rows = (standin.y + (rows + 0.5) * standin.side / mask.shape[0]).astype(int)
    frame_rows = frame_rows[(frame_rows >= 0) & (frame_rows < h)]
    assert frame_rows.size > 20
    edge = opacity[frame_rows, -1].mean()
    cut_x = standin.x + right * standin.side / mask.shape[0]
    assert edge >= SIDE_PERSON_MIN, (
        f"{w}x{h}: the shoulder ends inside the frame ({edge:.2f} at its edge; the photo's "
        f"side at x={cut_x:.0f})"
    )
    face = face_x(standin) / w
    assert 0.25 <= face <= 0.75, f"{w}x{h}: the face at {face:.2f} of the width"


ASSET = Path(__file__).resolve().parents[1] / "pipelines" / "assets" / "astronaut.png"
TIGHT_CROP = (0.3, 0.08, 0.65, 0.45)
"""QA qa4's tight head crop of the project's astronaut (fractions of its width and height:
x0, y0, x1, y1): the face fills the photo, its left side cutting the hair 0.28 of the
avatar's square beside the face's centre, almost no body."""
EDGE_CROP = (0.0, 0.0, 0.5, 1.0)
"""QA qa4's portrait cut through the face: the astronaut's left half, its right side 0.1 of
the square beside the face's centre (through the cheek and the hair)."""
WHOLE_CROP = (0.0, 0.0, 1.0, 1.0)
"""The whole astronaut: the portrait's own outline, uncut, for comparison."""


def asset_standin(crop: tuple[float, float, float, float], frame_size: tuple[int, int]):
    """The stand-in of a crop of the project's astronaut, and the person's opacity as the
    frame shows it (as :func:`cropped_standin`)."""
    photo = cv2.imread(str(ASSET), cv2.IMREAD_COLOR)
    ph, pw = photo.shape[:2]
    x0, y0, x1, y1 = crop
    cut = photo[int(y0 * ph) : int(y1 * ph), int(x0 * pw) : int(x1 * pw)]
    portrait = portrait_from(np.ascontiguousarray(cut), ASSET.name)
    mask = person_mask(portrait.image)
    standin = make_standin(portrait.image, mask, frame_size, portrait.coverage)
    w, h = frame_size
    bare = replace(
        standin, backdrop=np.zeros((h, w, 3), np.uint8), behind=np.zeros_like(standin.behind)
    )
    white = np.full_like(portrait.image, 255)
    shown = compose_standin(np.zeros((h, w, 3), np.uint8), white, bare)
    return portrait, standin, shown[..., 0].astype(np.float32) / 255.0


def face_box(standin) -> tuple[float, float, float, float]:
    """The face's box in the frame (x0, y0, x1, y1): FACE_HEIGHT_FRACTION of the square, square,
    about the face's centre."""
    half = FACE_HEIGHT_FRACTION * standin.side / 2.0
    cx, cy = face_x(standin), standin.y + FACE_CENTER_Y * standin.side
    return cx - half, cy - half, cx + half, cy + half


@pytest.mark.parametrize("frame_size", [LANDSCAPE, (720, 1280)])
def test_a_tight_head_crop_is_framed_with_its_face_in_the_middle(frame_size) -> None:
    """QA qa4 p_tight: the photo framed the face nearly in its middle (FRAMED_AT_SIDE). On
    main the hair cut by the photo's left side was put on the frame's left edge, the face at
    0.22 of a 1280x720 frame's width (0.43 of 720x1280's). On 720x720 it still is, the face at
    0.40, at the zoom its top and bottom cuts need (UNFRAMED_FACE)."""
    w, h = frame_size
    _, standin, _ = asset_standin(TIGHT_CROP, frame_size)
    off = abs(face_x(standin) - w / 2.0) / w
    assert off <= CENTRE_MARGIN, f"the face is {off:.2f} of the width off centre (x={standin.x})"
    x0, y0, x1, y1 = face_box(standin)
    assert x0 >= 0 and x1 <= w and y0 >= 0 and y1 <= h, f"the face's box {x0, y0, x1, y1}"


def steepest_step(crop: tuple[float, float, float, float], frame_size) -> float:
    """The person's steepest opacity step from column to column of the face's box (the
    column means over its rows: a straight vertical cut is a step there, an outline's curve
    is spread), per face height."""
    w, h = frame_size
    _, standin, opacity = asset_standin(crop, frame_size)
    x0, y0, x1, y1 = face_box(standin)
    face = opacity[max(0, round(y0)) : min(h, round(y1)), max(0, round(x0)) : min(w, round(x1))]
    return float(np.abs(np.diff(face.mean(axis=0))).max() * (y1 - y0))


@pytest.mark.parametrize("frame_size", FRAMES)
def test_a_side_cut_through_the_face_is_no_harder_than_its_outline(frame_size) -> None:
    """QA qa4 p_edge: the photo's side cuts the cheek and the hair 0.1 of the square beside
    the face's centre, too near to go to the frame's side. It fades out no more steeply than
    the uncut portrait's own outline (4.9-5.0 per face height); on main (PHOTO_FADE, 58 px at
    720p) 7.9-8.0, a hard vertical line through the face; here 4.7 (HEAD_CUT_FADE)."""
    own = steepest_step(WHOLE_CROP, frame_size)
    cut = steepest_step(EDGE_CROP, frame_size)
    assert cut <= own, (
        f"{frame_size}: the cut steps {cut:.1f} per face height, the outline {own:.1f}"
    )


def test_a_photo_cut_through_the_face_is_said_at_build(caplog) -> None:
    """A photo that cuts the face (QA qa4's astronaut's left half) can only be faded out where
    the face is missing: the build says so in the user's words, once; an uncut photo, and
    every test portrait (0 % of their outlines past the photo), says nothing of it."""
    import logging

    from pipelines.avatar.portrait import FACE_CUT_WARN, face_cut_share

    photo = cv2.imread(str(ASSET), cv2.IMREAD_COLOR)
    ph, pw = photo.shape[:2]
    cut = {}
    for name, (x0, y0, x1, y1) in {"edge": EDGE_CROP, "whole": WHOLE_CROP}.items():
        part = photo[int(y0 * ph) : int(y1 * ph), int(x0 * pw) : int(x1 * pw)]
        cut[name] = portrait_from(np.ascontiguousarray(part), ASSET.name)
    assert face_cut_share(cut["edge"]) >= FACE_CUT_WARN
    assert face_cut_share(cut["whole"]) == 0.0
    with caplog.at_level(logging.WARNING, logger="pipelines.avatar"):
        Avatar.build(cut["edge"], retrack=False)
    said = [r.getMessage() for r in caplog.records if "cuts this portrait's face" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("talking head: "), said


TWO_FACES_BYSTANDER = (270, 320, 120)
"""A tuning proxy of a bystander at the photo's edge (the held-out obama_midword's kind):
two_faces.jpg's astronaut half up to column 270, then the first 120 columns of its grey
cameraman half, so his head and jacket stand cut by the photo's right edge beside her. The
segmentation network calls pieces of him person: on main they stayed in the cut-out, sharp
grey pieces at the frame's right (their mean opacity 0.54 on 1280x720)."""
BYSTANDER_ALPHA_MAX = 0.05
"""The cut-out's mean opacity on the bystander's pieces (0.54 on main; 0.01 here)."""


def bystander_photo() -> np.ndarray:
    two = cv2.imread(str(FACES / "two_faces.jpg"), cv2.IMREAD_COLOR)
    own, start, width = TWO_FACES_BYSTANDER
    return np.ascontiguousarray(np.hstack([two[:, :own], two[:, start : start + width]]))


def test_a_bystanders_piece_at_the_photos_edge_goes_to_the_backdrop() -> None:
    portrait = portrait_from(bystander_photo(), "two_faces.jpg")
    mask = person_mask(portrait.image)
    size = mask.shape[0]
    photo = np.ones(mask.shape, bool) if portrait.coverage is None else portrait.coverage >= 0.5
    image = portrait.image.astype(int)
    grey = (np.abs(image[..., 0] - image[..., 1]) < 6) & (np.abs(image[..., 1] - image[..., 2]) < 6)
    # The bystander's pieces the network calls person: grey, beside her head (her helmet's
    # grey ring is lower down).
    piece = grey & (mask > 0.5) & photo
    piece[int(SIDE_HEAD_Y * size) :] = False
    piece[:, : int(0.75 * size)] = False
    assert piece.sum() > 1000, "the network calls no piece of the bystander person"
    standin = make_standin(portrait.image, mask, LANDSCAPE, portrait.coverage)
    kept = float(standin.alpha[piece].mean())
    assert kept <= BYSTANDER_ALPHA_MAX, f"the bystander's pieces stay in the cut-out: {kept:.2f}"
    face = standin.alpha[int(FACE_CENTER_Y * size), size // 2]
    assert face >= 0.99, f"her face is cut away too: {face:.2f}"


def neck_mask(neck: int) -> np.ndarray:
    """A synthetic 512 px person mask: a head and shoulders in the middle, and a blob at the
    square's right edge joined to the shoulder by a bridge ``neck`` pixels tall."""
    mask = np.zeros((512, 512), np.float32)
    cv2.ellipse(mask, (256, 240), (90, 110), 0, 0, 360, 1.0, -1)
    cv2.rectangle(mask, (110, 330), (402, 511), 1.0, -1)
    cv2.circle(mask, (490, 400), 50, 1.0, -1)
    cv2.rectangle(mask, (400, 400 - neck // 2), (470, 400 + neck // 2), 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 1.5)


@pytest.mark.parametrize(("neck", "kept"), [(12, False), (80, True)])
def test_a_piece_joined_by_a_thin_neck_at_the_edge_is_no_part_of_the_person(neck, kept) -> None:
    """A blob at the square's edge joined to the person by a neck under 2 NECK (30 px) is a
    bystander's (its opacity ~0; 1.0 on main); joined by 80 px it is the person's own."""
    mask = neck_mask(neck)
    image = np.full((512, 512, 3), 128, np.uint8)
    standin = make_standin(image, mask, (512, 512))
    blob = float(standin.alpha[400, 500])
    if kept:
        assert blob >= 0.9, f"the person's own part is cut away: {blob:.2f}"
    else:
        assert blob <= 0.05, f"the piece beyond a thin neck stays: {blob:.2f}"
    assert standin.alpha[240, 256] >= 0.99 and standin.alpha[450, 256] >= 0.99


@pytest.mark.parametrize("frame_size", FRAMES)
def test_a_photo_cut_through_the_face_puts_the_cut_on_the_frames_side(frame_size) -> None:
    """QA qa4 p_edge (the photo's right side 0.1 of the square beside the face's centre):
    the cut lies on the frame's right edge, the face running out of the picture as at a
    webcam's edge, its centre in the frame. On main it stayed in the frame, a soft band
    through the cheek (the cut at x=713 of 1280, 444 of 720x1280, 433 of 720x720)."""
    from pipelines.avatar.compose import side_cuts

    w, h = frame_size
    portrait, standin, _ = asset_standin(EDGE_CROP, frame_size)
    assert portrait.coverage is not None
    mask = person_mask(portrait.image)
    _, right = side_cuts(portrait.coverage, mask)
    assert right is not None
    at = standin.x + right * standin.side / mask.shape[0]
    assert at >= w - 1.0, f"{w}x{h}: the cut through the face is at x={at:.0f} of {w}"
    assert 0 < face_x(standin) < w
