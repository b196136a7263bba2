"""The portrait's crop where it reaches past the photo (pipelines/avatar/portrait.py).

A headshot framed tight (cut just under the chin, or at the cheek) is common. The avatar's
square crop reaches past such a photo; mirrored there, it grew a second, upside-down chin and
kaleidoscope sides (the real held-out ``riga_turned``, 47 % of its canvas past the photo). What
lies past the photo must carry the edge's colours without repeating its shapes, and the photo's
own pixels must be what they were.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from golden_data import face_photo

from pipelines.avatar.portrait import (
    AVATAR_SIZE,
    FILL_FADE,
    crop_transform,
    find_landmarks,
    make_portrait,
)

pytestmark = pytest.mark.clock_free

FAR_DETAIL_MAX = 1.0
"""Mean |Laplacian| (grey levels) allowed past the photo, beyond the mirror's fade: the soft
fill measures 0.53; the mirror it replaced measured 4.4, the photo's own pixels 3.8."""
FAR_COLOUR_MAX = 40.0
"""Grey levels the fill's mean colour may differ from the photo's band along its edge: it
carries the edge's colours (measured 12), not a flat grey."""


CUT_UNDER_CHIN = 20
CUT_BESIDE_CHEEK = 10


@pytest.fixture(scope="module")
def tight_headshot() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut cut CUT_UNDER_CHIN px under the chin and CUT_BESIDE_CHEEK px beside the
    cheek on the right."""
    photo = face_photo("astronaut")
    lm = find_landmarks(photo)
    chin_y = int(lm[152, 1]) + CUT_UNDER_CHIN
    right_x = int(lm[454, 0]) + CUT_BESIDE_CHEEK
    cut = np.ascontiguousarray(photo[:chin_y, :right_x])
    return cut, find_landmarks(cut)


def _coverage(photo: np.ndarray, m: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(
        np.ones(photo.shape[:2], np.float32),
        m,
        (AVATAR_SIZE, AVATAR_SIZE),
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )


def test_the_photo_itself_is_kept(tight_headshot) -> None:
    photo, lm = tight_headshot
    m = crop_transform(lm)
    mirrored = cv2.warpAffine(
        photo, m, (AVATAR_SIZE, AVATAR_SIZE), borderMode=cv2.BORDER_REFLECT_101
    )
    canvas = make_portrait(photo, lm).image
    on_photo = _coverage(photo, m) >= 0.5
    assert on_photo.mean() > 0.5
    np.testing.assert_array_equal(canvas[on_photo], mirrored[on_photo])


def test_past_the_photo_no_shapes_repeat(tight_headshot) -> None:
    photo, lm = tight_headshot
    m = crop_transform(lm)
    canvas = make_portrait(photo, lm).image
    past = (_coverage(photo, m) < 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(past, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    far = dist > 2 * FILL_FADE * AVATAR_SIZE
    assert far.mean() > 0.05, "the cut photo should leave a band past its edge"
    grey = cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    assert float(detail[far].mean()) < FAR_DETAIL_MAX
    # The fill carries the photo's colours near its edge (its band within 20 px).
    band = (dist == 0) & (cv2.distanceTransform(1 - past, cv2.DIST_L2, 3) < 20)
    colour_gap = np.abs(canvas[far].mean(0) - canvas[band].mean(0)).max()
    assert colour_gap < FAR_COLOUR_MAX


def test_a_photo_that_covers_the_crop_is_untouched() -> None:
    photo = face_photo("cameraman")  # its crop lies inside the photo
    lm = find_landmarks(photo)
    m = crop_transform(lm)
    assert (_coverage(photo, m) >= 0.5).all()
    mirrored = cv2.warpAffine(
        photo, m, (AVATAR_SIZE, AVATAR_SIZE), borderMode=cv2.BORDER_REFLECT_101
    )
    np.testing.assert_array_equal(make_portrait(photo, lm).image, mirrored)


@pytest.mark.parametrize(
    ("side", "named"),
    [
        (48, "no face found in the 48x48-pixel picture"),
        (96, r"the face is 2\d pixels from forehead to chin, too small"),
    ],
)
def test_a_portrait_too_small_to_animate_is_refused_with_its_size(
    side: int, named: str, tmp_path
) -> None:
    """Shrunk to 96 pixels the astronaut's face (20 pixels, forehead to chin) is still found,
    and scaled up it was a blur with no readable eyes under a sharp drawn mouth; shrunk to 48
    no face is found, and the message only said to use a frontal face. Both now name the file
    and the size, so the user knows to pick a larger photo."""
    from pipelines.avatar.portrait import load_portrait
    from pipelines.errors import CamfxError

    path = tmp_path / "small.png"
    cv2.imwrite(str(path), cv2.resize(face_photo("astronaut"), (side, side), cv2.INTER_AREA))
    with pytest.raises(CamfxError, match=named) as caught:
        load_portrait(path)
    assert str(caught.value).startswith(f"portrait {str(path)!r}: ")
    assert "larger photo" in str(caught.value)


PHONE_PHOTO = (3024, 4032)
"""A phone's portrait photo (width, height)."""
SEARCHED_LANDMARKS_MEAN_PX = 1.0
"""Mean distance, in the astronaut photo's own pixels, allowed between the landmarks found in
the phone photo and the photo's own landmarks scaled and moved there (measured 0.1-0.7 at
faces 5-30 % of the width on 1920x1080, 4032x3024 and 3024x4032 canvases)."""


def _placed(photo: np.ndarray, scale: float, size: tuple[int, int], at: tuple[int, int]):
    w, h = size
    canvas = np.full((h, w, 3), 110, np.uint8)
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    x0, y0 = at
    part = big[: h - y0, : w - x0]
    canvas[y0 : y0 + part.shape[0], x0 : x0 + part.shape[1]] = part
    return canvas


@pytest.mark.parametrize("scale", [1.6, 2.4])
def test_a_phone_photo_whose_face_is_small_in_it_is_found(scale: float) -> None:
    """A person photographed with a phone, the face an eighth of the width: the tracker finds
    no face in the whole 12-megapixel picture (letterboxed to the detector's 128 pixels the face
    is 19 wide); the portrait's search finds it, with the landmarks the photo itself gives."""
    from pipelines.avatar.portrait import _tracked_landmarks

    photo = face_photo("astronaut")
    own = find_landmarks(photo)
    at = (1400, 900)
    phone = _placed(photo, scale, PHONE_PHOTO, at)
    assert _tracked_landmarks(phone, 3) is None
    found = find_landmarks(phone, search=True)
    expected = own[:, :2] * scale + at
    assert np.abs(found[:, :2] - expected).mean() / scale < SEARCHED_LANDMARKS_MEAN_PX
    portrait = make_portrait(phone, found, AVATAR_SIZE, "phone")
    assert portrait.image.shape == (AVATAR_SIZE, AVATAR_SIZE, 3)


def test_a_large_photo_without_a_face_is_refused_after_the_search() -> None:
    from pipelines.avatar.portrait import AvatarError

    room = cv2.resize(face_photo("no_face"), (4032, 3024), interpolation=cv2.INTER_CUBIC)
    with pytest.raises(AvatarError, match="no face found in the portrait"):
        find_landmarks(room, search=True)
