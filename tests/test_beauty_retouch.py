"""The "beauty" stage's colour effects on real photos, driven by MediaPipe's golden face-mesh
landmarks (tests/golden/), so they are checked independently of the tracker."""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2
import numpy as np
import pytest
from beauty_support import OFF
from golden_data import face_photo, load_golden

from pipelines.beauty import masks, retouch, warp
from pipelines.beauty.geometry import face_size
from pipelines.beauty.stage import BeautySettings, BeautyStage
from pipelines.frame import FrameContext
from pipelines.tracking import regions
from pipelines.tracking.types import Face

COLOUR_MAX = {**OFF, **{k: 1.0 for k in ("smoothing", "under_eye", "eye_brightening")}}
COLOUR_MAX.update(teeth_whitening=1.0, lip_tint=1.0)

# Tolerances (8-bit levels unless stated).
OUTSIDE_TOLERANCE = 1
"""Pixels outside the face regions plus feather may change by at most this."""
OUTSIDE_MARGIN_PX = 3
"""Rounding slack (pixels) on top of the feather's 3σ reach."""
HF_SIGMA = 1.5
"""High-frequency energy = mean squared difference from a Gaussian blur of this sigma."""
SKIN_HF_MAX_RATIO = {0.4: 0.92, 1.0: 0.5}
"""Skin high-frequency energy after/before, at a smoothing strength (measured 0.79–0.85 at
0.4 and 0.26–0.39 at 1.0 on these photos)."""
PORE_BAND_SIGMA = 0.8
PORES_KEPT_MIN = 0.75
PORES_VS_PLASTIC_MIN = 0.1
"""Fine-band (σ 0.8 px) energy kept at smoothing 0.4: measured 0.83 with the pore pass,
0.65 without it."""
FEATURE_HF_MIN_RATIO = 0.97
"""Eyes and lips keep their high-frequency energy (measured ≥ 0.999)."""
TEETH_MIN_LIGHTNESS_GAIN = 3.0
TEETH_MIN_YELLOW_DROP = 2.0
"""Mean change on the teeth (8-bit Lab L and b) at strength 1 (measured +7.3 and −4.5)."""
LIP_TINT_MAX_DISTANCE = 0.6
"""At tint strength 1 the lips' mean chroma is at most this fraction of its distance to the
tint colour away from it (measured 0.46: thin feathered lips, colour gamut)."""
BEARD_MAX_WEIGHT = 0.2
CHEEK_MIN_WEIGHT = 0.8


@cache
def _mesh() -> dict[str, np.ndarray]:
    return load_golden("solution_face_mesh")


def golden_faces(photo: str) -> tuple[np.ndarray, list[Face]]:
    """The photo (BGR) and a Face per golden landmark set (pixels)."""
    image = face_photo(photo)
    h, w = image.shape[:2]
    faces = []
    for i, norm in enumerate(_mesh()[f"{photo}/landmarks"]):
        lm = (norm * np.array([w, h, w], np.float32)).astype(np.float32)
        x0, y0 = lm[:, :2].min(axis=0)
        x1, y1 = lm[:, :2].max(axis=0)
        faces.append(Face(i, 1.0, (x0, y0, x1 - x0, y1 - y0), lm))
    return image, faces


def run(
    settings: dict[str, Any], image: np.ndarray, faces: list[Face], primary: int = 0
) -> tuple[np.ndarray, FrameContext]:
    stage = BeautyStage(BeautySettings(**settings))
    stage.open()
    stage.warm_up()  # the compiled smoothing (if Numba is there) from the first frame on
    ctx = FrameContext(0.0, 0, faces=list(faces), primary_face=faces[primary] if faces else None)
    out = stage.process(image, ctx)
    stage.close()
    return out, ctx


def region(face: Face, names: str | tuple[str, ...], shape: tuple[int, ...], **kw: Any):
    return regions.region_mask(face.landmarks, names, (shape[1], shape[0]), **kw) > 0


def hf_energy(image: np.ndarray, where: np.ndarray) -> float:
    f = image.astype(np.float32)
    d = f - cv2.GaussianBlur(f, (0, 0), HF_SIGMA)
    return float((d[where] ** 2).mean())


def feather_reach(face: Face) -> float:
    return 3.0 * masks.SKIN_FEATHER * face_size(face.landmarks[:, :2]) + OUTSIDE_MARGIN_PX


def face_regions(face: Face, shape: tuple[int, ...]) -> np.ndarray:
    """Everything the colour effects may touch: the face oval, eyes, lips and the bands under
    the eyes (in a profile view the far eye and the lips stick out of the oval), plus the
    feather's reach."""
    reach = feather_reach(face)
    inside = region(face, ("face_oval", "eyes", "lips_outer"), shape, dilate=reach)
    bands = np.zeros(shape[:2], np.uint8)
    polys = retouch.under_eye_polygons(face.landmarks[:, :2])
    cv2.fillPoly(bands, [np.round(p).astype(np.int32) for p in polys], 255)
    k = 2 * round(reach) + 1
    grown = cv2.dilate(bands, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return inside | (grown > 0)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)


# --------------------------------------------------------------------------- pass-through
def test_all_strengths_zero_is_bit_exact_pass_through() -> None:
    image, faces = golden_faces("astronaut")
    before = image.copy()
    out, _ = run(OFF, image, faces)
    assert out is image
    assert np.array_equal(image, before)
    out, _ = run({**COLOUR_MAX, "enabled": False}, image, faces)
    assert out is image


def test_no_face_or_invisible_face_is_pass_through() -> None:
    image, faces = golden_faces("astronaut")
    out, _ = run(COLOUR_MAX, image, [])
    assert out is image
    faces[0].visibility = 0.0
    out, _ = run(COLOUR_MAX, image, faces)
    assert out is image


# --------------------------------------------------------------------------- locality
@pytest.mark.parametrize("photo", ["astronaut", "cameraman", "two_faces", "astronaut_rot30"])
def test_pixels_outside_face_regions_are_unchanged(photo: str) -> None:
    image, faces = golden_faces(photo)
    out, ctx = run({**COLOUR_MAX, "all_faces": True}, image, faces)
    assert ctx.extras["beauty"]["faces"] == len(faces)
    inside = np.zeros(image.shape[:2], bool)
    for face in faces:
        inside |= face_regions(face, image.shape)
    diff = changed(out, image)
    assert diff[~inside].max() <= OUTSIDE_TOLERANCE
    assert diff[inside].max() > 10  # and the effects did something


def test_only_the_primary_face_unless_all_faces() -> None:
    image, faces = golden_faces("two_faces")
    first = face_regions(faces[0], image.shape)
    second = face_regions(faces[1], image.shape)
    out, _ = run(COLOUR_MAX, image, faces, primary=1)
    diff = changed(out, image)
    assert diff[first].max() <= OUTSIDE_TOLERANCE and diff[second].max() > 10
    out, _ = run({**COLOUR_MAX, "all_faces": True}, image, faces, primary=1)
    diff = changed(out, image)
    assert diff[first].max() > 10 and diff[second].max() > 10


def test_effects_fade_with_visibility() -> None:
    """A fading face (visibility v) is retouched exactly as with every strength times v."""
    image, faces = golden_faces("astronaut")
    full, _ = run(COLOUR_MAX, image, faces)
    faces[0].visibility = 0.5
    half, _ = run(COLOUR_MAX, image, faces)
    faces[0].visibility = 1.0
    scaled = {k: 0.5 * v if isinstance(v, float) else v for k, v in COLOUR_MAX.items()}
    assert np.array_equal(half, run(scaled, image, faces)[0])
    d_full = np.abs(full.astype(np.float32) - image).mean()
    d_half = np.abs(half.astype(np.float32) - image).mean()
    assert 0.25 * d_full < d_half < 0.75 * d_full


# --------------------------------------------------------------------------- smoothing
@pytest.mark.parametrize("strength", sorted(SKIN_HF_MAX_RATIO))
@pytest.mark.parametrize("photo", ["astronaut", "cameraman", "two_faces"])
def test_smoothing_lowers_skin_detail_and_keeps_eyes_and_lips(photo: str, strength: float) -> None:
    image, faces = golden_faces(photo)
    out, _ = run({**OFF, "smoothing": strength, "all_faces": True}, image, faces)
    for face in faces:
        size = face_size(face.landmarks[:, :2])
        # Skin well inside the oval and away from the features: where smoothing is at full.
        skin = region(face, "face_oval", image.shape, dilate=-0.1 * size)
        skin &= ~region(face, ("eyes", "brows", "lips_outer"), image.shape, dilate=0.06 * size)
        assert hf_energy(out, skin) < SKIN_HF_MAX_RATIO[strength] * hf_energy(image, skin)
        for name in ("eyes", "lips"):
            where = region(face, name, image.shape)
            assert hf_energy(out, where) > FEATURE_HF_MIN_RATIO * hf_energy(image, where)


def test_smoothing_keeps_pores_at_low_strength(monkeypatch: pytest.MonkeyPatch) -> None:
    """The finest texture band survives moderate smoothing (no plastic skin): clearly more of
    it than the same filter without the pore pass, and less only at full strength."""
    image, faces = golden_faces("astronaut")
    face = faces[0]
    size = face_size(face.landmarks[:, :2])
    skin = region(face, "face_oval", image.shape, dilate=-0.1 * size)
    skin &= ~region(face, ("eyes", "brows", "lips_outer"), image.shape, dilate=0.06 * size)

    def fine(img: np.ndarray) -> float:
        f = img.astype(np.float32)
        d = f - cv2.GaussianBlur(f, (0, 0), PORE_BAND_SIGMA)
        return float((d[skin] ** 2).mean())

    base = fine(image)
    kept = {s: fine(run({**OFF, "smoothing": s}, image, faces)[0]) / base for s in (0.4, 1.0)}
    monkeypatch.setattr(retouch, "pore_keep", lambda strength: 0.0)
    plastic = fine(run({**OFF, "smoothing": 0.4}, image, faces)[0]) / base
    assert kept[0.4] > PORES_KEPT_MIN
    assert kept[0.4] > plastic + PORES_VS_PLASTIC_MIN
    assert kept[1.0] < kept[0.4]


def _paint_beard_and_glasses(image: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray]:
    """A dark, textured beard on the chin and dark glasses frames round the eyes."""
    rng = np.random.default_rng(7)
    out = image.copy()
    lm = face.landmarks[:, :2]
    size = face_size(lm)
    chin = region(face, "face_oval", image.shape, dilate=-0.04 * size)
    chin &= np.arange(image.shape[0])[:, None] > lm[17, 1] + 0.06 * size  # below the lower lip
    noise = rng.normal(0.0, 18.0, image.shape[:2])
    beard = np.stack([40 + noise, 52 + noise, 66 + noise], axis=2)
    out[chin] = np.clip(beard[chin], 0, 255).astype(np.uint8)
    frames = np.zeros(image.shape[:2], np.uint8)
    for eye in ("left_eye", "right_eye"):
        poly = regions.region_polygon(lm, eye)
        centre = poly.mean(axis=0)
        half = (poly.max(axis=0) - poly.min(axis=0)) * np.array([0.75, 1.3])
        box = (
            (round(centre[0] - half[0]), round(centre[1] - half[1])),
            (round(centre[0] + half[0]), round(centre[1] + half[1])),
        )
        cv2.rectangle(frames, box[0], box[1], 255, max(2, round(0.03 * size)))
    out[frames > 0] = (25, 25, 30)
    return out, chin


def test_skin_mask_leaves_beard_and_glasses_alone() -> None:
    image, faces = golden_faces("astronaut")
    face = faces[0]
    painted, beard = _paint_beard_and_glasses(image, face)
    size = face_size(face.landmarks[:, :2])
    weight = masks.skin_mask(painted, face.landmarks[:, :2], size)
    glasses = np.all(painted == (25, 25, 30), axis=2) & ~np.all(image == (25, 25, 30), axis=2)
    cheeks = region(face, "face_oval", image.shape, dilate=-0.12 * size) & ~beard
    cheeks &= ~region(face, ("eyes", "brows", "lips_outer"), image.shape, dilate=0.12 * size)
    cheeks &= ~cv2.dilate(glasses.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert weight[beard].mean() < BEARD_MAX_WEIGHT
    assert weight[glasses].mean() < BEARD_MAX_WEIGHT
    assert np.median(weight[cheeks]) > CHEEK_MIN_WEIGHT
    out, _ = run({**OFF, "smoothing": 1.0}, painted, faces)
    core = cv2.erode(beard.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert hf_energy(out, core) > 0.9 * hf_energy(painted, core)


# --------------------------------------------------------------------------- teeth
def test_teeth_whitening_brightens_and_deyellows_the_mouth_interior_only() -> None:
    image, faces = golden_faces("astronaut")
    face = faces[0]
    assert retouch.mouth_open_weight(face.landmarks[:, :2]) == 1.0  # she smiles with teeth
    out, _ = run({**OFF, "teeth_whitening": 1.0}, image, faces)
    interior = region(face, "mouth_interior", image.shape)
    lab0 = cv2.cvtColor(image, cv2.COLOR_BGR2Lab).astype(np.float32)
    lab1 = cv2.cvtColor(out, cv2.COLOR_BGR2Lab).astype(np.float32)
    teeth = interior & (lab0[..., 0] > 150)
    assert teeth.sum() > 50
    assert (lab1[..., 0] - lab0[..., 0])[teeth].mean() > TEETH_MIN_LIGHTNESS_GAIN
    assert (lab1[..., 2] - lab0[..., 2])[teeth].mean() < -TEETH_MIN_YELLOW_DROP
    assert changed(out, image)[~interior].max() <= OUTSIDE_TOLERANCE  # lips untouched


def test_teeth_whitening_needs_an_open_mouth() -> None:
    image, faces = golden_faces("astronaut")
    lm = faces[0].landmarks.copy()
    inner = list(regions.LIPS_INNER)
    lm[inner, 1] = lm[inner, 1].mean()  # lips pressed together: no interior, no gap
    closed = Face(0, 1.0, faces[0].bbox, lm)
    assert retouch.mouth_open_weight(lm[:, :2]) == 0.0
    out, _ = run({**OFF, "teeth_whitening": 1.0}, image, [closed])
    assert np.array_equal(out, image)


# --------------------------------------------------------------------------- eyes, lips
def _mean_lightness(image: np.ndarray, where: np.ndarray) -> float:
    return float(cv2.cvtColor(image, cv2.COLOR_BGR2Lab)[..., 0][where].mean())


def test_eye_brightening_and_under_eye_lightening() -> None:
    image, faces = golden_faces("astronaut")
    face = faces[0]
    lm = face.landmarks[:, :2]
    eyes = region(face, "eyes", image.shape)
    under = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(under, [np.round(p).astype(np.int32) for p in retouch.under_eye_polygons(lm)], 1)
    under_b = under.astype(bool)
    out, _ = run({**OFF, "eye_brightening": 1.0}, image, faces)
    assert _mean_lightness(out, eyes) > _mean_lightness(image, eyes) + 2.0
    out, _ = run({**OFF, "under_eye": 1.0}, image, faces)
    assert _mean_lightness(out, under_b) > _mean_lightness(image, under_b) + 2.0
    # The darkest part of the band is lifted most (dark circles), the brightest least.
    grey0 = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lift = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float32) - grey0
    dark = under_b & (grey0 < np.percentile(grey0[under_b], 25))
    bright = under_b & (grey0 > np.percentile(grey0[under_b], 75))
    assert lift[dark].mean() > lift[bright].mean()


def test_lip_tint_moves_lip_colour_towards_the_chosen_colour() -> None:
    image, faces = golden_faces("astronaut")
    face = faces[0]
    lips = region(face, "lips", image.shape, dilate=-1)
    target = np.array([[[0x40, 0x20, 0xA0]]], np.uint8)  # "#a02040" as BGR
    target_ab = cv2.cvtColor(target, cv2.COLOR_BGR2Lab)[0, 0, 1:].astype(np.float32)

    def distance(img: np.ndarray) -> float:
        ab = cv2.cvtColor(img, cv2.COLOR_BGR2Lab)[..., 1:][lips].astype(np.float32)
        return float(np.linalg.norm(ab.mean(axis=0) - target_ab))

    half, _ = run({**OFF, "lip_tint": 0.5, "lip_color": "#a02040"}, image, faces)
    full, _ = run({**OFF, "lip_tint": 1.0, "lip_color": "#a02040"}, image, faces)
    assert distance(full) < distance(half) < distance(image)
    assert distance(full) < LIP_TINT_MAX_DISTANCE * distance(image)
    outside = ~region(face, "lips_outer", image.shape, dilate=feather_reach(face))
    assert changed(full, image)[outside].max() <= OUTSIDE_TOLERANCE
    interior = region(face, "lips_inner", image.shape)
    assert changed(full, image)[interior].max() <= OUTSIDE_TOLERANCE  # teeth keep their colour


# --------------------------------------------------------------------------- robustness
@pytest.mark.parametrize("shift", [(-200, 0), (0, -120), (330, 380), (-600, 0)])
def test_faces_at_or_beyond_the_frame_edge(shift: tuple[int, int]) -> None:
    """Half-visible and fully outside faces: no error, nothing changed beyond the face."""
    image, faces = golden_faces("astronaut")
    lm = faces[0].landmarks.copy()
    lm[:, 0] += shift[0]
    lm[:, 1] += shift[1]
    face = Face(0, 1.0, faces[0].bbox, lm)
    everything = {**COLOUR_MAX, "eye_enlarge": 1.0, "face_slim": 1.0}
    out, _ = run(everything, image, [face])
    assert out.shape == image.shape and out.dtype == np.uint8
    # Colour effects stay inside the (shifted) face regions; the warp moves only its rectangle.
    h, w = image.shape[:2]
    field = warp.inverse_field(lm[:, :2], face_size(lm[:, :2]), (w, h), 1.0, 1.0)
    touched = face_regions(face, image.shape)
    if field is not None:
        touched[field.rect.slices] = True
    assert changed(out, image)[~touched].max(initial=0) <= OUTSIDE_TOLERANCE


def test_tiny_faces_are_skipped() -> None:
    image, faces = golden_faces("astronaut")
    lm = faces[0].landmarks.copy()
    centre = lm[:, :2].mean(axis=0)
    lm[:, :2] = centre + (lm[:, :2] - centre) * 0.15  # a ~13 px face
    out, ctx = run(COLOUR_MAX, image, [Face(0, 1.0, faces[0].bbox, lm)])
    assert np.array_equal(out, image)
    assert ctx.extras["beauty"]["faces"] == 0
