"""The "light_color" stage: low-light lift with protected highlights, white balance, warmth,
temporal smoothing, and an exact pass-through when off."""

from __future__ import annotations

import itertools
from typing import Any

import cv2
import numpy as np
import pytest
from golden_data import face_photo

from pipelines.beauty import light
from pipelines.beauty.light import (
    MIN_GAMMA,
    Correction,
    LightColorSettings,
    LightColorStage,
    apply_correction,
    build_lut,
)
from pipelines.frame import FrameContext
from pipelines.segmentation import fused
from pipelines.tracking.types import Face

OFF: dict[str, Any] = {"exposure": 0.0, "white_balance": 0.0, "warmth": 0.0}
FPS = 30.0

LIFT_MIN = 0.08
"""A frame at a third of normal brightness gets at least this much brighter (0..1 mean luma)
at exposure 1."""
SHOULDER_MAX_FLAT = 4
"""Input levels that a >1 gain maps to 255 (white and a few next to it)."""
CAST = np.array([1.2, 1.0, 0.82], np.float32)
"""A blue-ish light (B, G, R)."""
WB_RESIDUAL = 0.35
"""White balance removes at least 65 % of that cast's effect on the mean colour."""
WALL_MAX_TINT = 12.0
"""The grey background's channels end up within this many levels of each other."""
SETTLED_S = 3.0
"""After this long (6 time constants) the smoothed correction is within 1 % of the target."""


def luma(image: np.ndarray) -> float:
    return float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean()) / 255.0


def darkened(factor: float = 0.35) -> np.ndarray:
    return np.clip(face_photo("astronaut").astype(np.float32) * factor, 0, 255).astype(np.uint8)


def run_frames(
    stage: LightColorStage, images: list[np.ndarray], start: int = 0, face: Any = None
) -> list[tuple[np.ndarray, FrameContext]]:
    out = []
    for k, img in enumerate(images):
        i = start + k
        ctx = FrameContext(i / FPS, i, faces=[face] if face else [], primary_face=face)
        out.append((stage.process(img, ctx), ctx))
    return out


def make(**kw: Any) -> LightColorStage:
    stage = LightColorStage(LightColorSettings(**kw))
    stage.open()
    return stage


def test_all_zero_and_disabled_are_bit_exact_pass_through() -> None:
    image = darkened()
    assert make(**OFF).process(image, FrameContext(0.0, 0)) is image
    assert make(enabled=False).process(image, FrameContext(0.0, 0)) is image
    # A well-exposed frame needs no lift: exposure alone changes nothing.
    bright = face_photo("astronaut")
    stage = make(**{**OFF, "exposure": 1.0, "target": 0.25})
    assert stage.process(bright, FrameContext(0.0, 0)) is bright


def test_low_light_is_lifted_with_highlights_protected() -> None:
    image = darkened()
    image[:20, :20] = 255  # a window: must stay white, not clip a wider area
    out, ctx = run_frames(make(**{**OFF, "exposure": 1.0, "adapt_s": 0.0}), [image])[0]
    assert luma(out) > luma(image) + LIFT_MIN
    assert MIN_GAMMA <= ctx.extras["light_color"]["gamma"] < 1.0
    assert (out[:20, :20] == 255).all()
    # Order kept within each channel (monotone curves), and no new clipping.
    for c in range(3):
        order = np.argsort(image[..., c].ravel(), kind="stable")
        assert (np.diff(out[..., c].ravel()[order].astype(int)) >= 0).all()
    assert (out == 255).sum() == (image == 255).sum()


def test_gains_above_one_roll_off_instead_of_clipping() -> None:
    """A plain ×1.3 gain would flatten the top 59 input levels to 255; the shoulder keeps them
    distinct except the last few."""
    lut = build_lut(Correction(1.0, (1.3, 1.0, 0.8)))[0]
    assert (np.diff(lut.astype(int), axis=0) >= 0).all()
    assert lut[255, 0] == 255  # white stays white
    assert (lut[:, 0] == 255).sum() <= SHOULDER_MAX_FLAT
    assert (lut[:, 0] >= lut[:, 1]).all()  # and it is a gain (≥ the gain-1 channel)
    assert np.array_equal(lut[:, 1], np.arange(256))  # gain 1: untouched


@pytest.mark.parametrize(
    "gains", [(1.3, 1.0, 0.8), (0.9, 1.1, 1.05), (1.0, 1.0, 1.0), (1.2, 1.2, 1.2)]
)
@pytest.mark.parametrize("gamma", [1.0, 0.7])
def test_fast_paths_equal_the_per_channel_table(
    gains: tuple[float, float, float], gamma: float
) -> None:
    image = face_photo("astronaut")
    correction = Correction(gamma, gains)
    assert np.array_equal(
        apply_correction(image, correction), cv2.LUT(image, build_lut(correction))
    )


def test_brightness_is_smoothed_over_time() -> None:
    bright = face_photo("astronaut")
    dark = darkened()
    stage = make(**{**OFF, "exposure": 1.0, "adapt_s": 0.5})
    steady = make(**{**OFF, "exposure": 1.0, "adapt_s": 0.0})
    target = run_frames(steady, [dark])[0][1].extras["light_color"]["gamma"]
    run_frames(stage, [bright] * 10)
    start = stage._state.gamma if stage._state else 1.0
    frames = run_frames(stage, [dark] * int(SETTLED_S * FPS), start=10)
    gammas = [ctx.extras["light_color"]["gamma"] for _, ctx in frames]
    # One frame later it has moved only a little (no pumping) …
    first_step = abs(gammas[0] - start)
    assert 0 < first_step < 0.15 * abs(target - start)
    # … then it moves steadily towards the target and gets there.
    assert all(abs(b - target) <= abs(a - target) + 1e-9 for a, b in itertools.pairwise(gammas))
    assert gammas[-1] == pytest.approx(target, abs=0.01)


def test_white_balance_neutralises_a_colour_cast() -> None:
    """The same scene under a blue-ish and under neutral light comes out (nearly) the same."""
    image = face_photo("astronaut")
    cast = np.clip(image.astype(np.float32) * CAST, 0, 255).astype(np.uint8)
    settings = {**OFF, "white_balance": 1.0, "adapt_s": 0.0}
    fixed_cast = run_frames(make(**settings), [cast])[0][0]
    fixed_plain = run_frames(make(**settings), [image])[0][0]

    def mean_bgr(img: np.ndarray) -> np.ndarray:
        return img.reshape(-1, 3).astype(np.float64).mean(axis=0)

    before = np.abs(mean_bgr(cast) - mean_bgr(image)).max()
    after = np.abs(mean_bgr(fixed_cast) - mean_bgr(fixed_plain)).max()
    assert after < WB_RESIDUAL * before
    # The grey wall behind her ends up grey.
    wall = fixed_cast[20:60, 300:360].reshape(-1, 3).astype(np.float64).mean(axis=0)
    assert wall.max() - wall.min() < WALL_MAX_TINT


def test_warmth_shifts_red_against_blue() -> None:
    image = face_photo("astronaut")

    def red_over_blue(img: np.ndarray) -> float:
        m = img.reshape(-1, 3).astype(np.float64).mean(axis=0)
        return float(m[2] / m[0])

    warm = run_frames(make(**{**OFF, "warmth": 1.0}), [image])[0][0]
    cool = run_frames(make(**{**OFF, "warmth": -1.0}), [image])[0][0]
    assert red_over_blue(warm) > red_over_blue(image) * 1.05
    assert red_over_blue(cool) < red_over_blue(image) / 1.05


def test_metering_follows_the_face() -> None:
    """A dark face in front of a bright background is lifted more when the tracker reports it."""
    image = face_photo("astronaut").copy()
    face_box = (179.0, 71.0, 92.0, 107.0)
    x, y, w, h = (int(v) for v in face_box)
    image[y : y + h, x : x + w] = (image[y : y + h, x : x + w] * 0.3).astype(np.uint8)
    lm = np.zeros((478, 3), np.float32)
    face = Face(0, 1.0, face_box, lm)
    settings = {**OFF, "exposure": 1.0, "adapt_s": 0.0}
    without = run_frames(make(**settings), [image])[0][1].extras["light_color"]["gamma"]
    with_face = run_frames(make(**settings), [image], face=face)[0][1].extras["light_color"]
    assert with_face["gamma"] < without - 0.05


def _grey_world_per_pixel(thumb: np.ndarray) -> np.ndarray:
    """The grey-world gains as the formula reads, on N×3 pixels (light's NumPy path before it
    worked on contiguous planes)."""
    px = thumb.reshape(-1, 3).astype(np.float32) * np.float32(1.0 / 255.0)
    luma = px @ light.LUMA.astype(np.float32)
    mid = (luma > light.WB_MIN_LUMA) & (luma < light.WB_MAX_LUMA)
    gains = np.ones(3)
    keep = mid
    for _ in range(light.WB_ROUNDS):
        sel = keep.astype(np.float32)
        count = float(sel.sum())
        if count < light.WB_MIN_PIXELS:
            break
        means = (sel @ px).astype(np.float64) / count
        limit = light.WB_GAIN_LIMIT
        gains = np.clip(means.mean() / np.maximum(means, 1e-6), 1.0 / limit, limit)
        fixed = px * gains.astype(np.float32)
        hi, lo = fixed.max(axis=1), fixed.min(axis=1)
        keep = mid & ((hi - lo) < light.WB_MAX_SATURATION * np.maximum(hi, 1e-6))
    out: np.ndarray = gains / float(gains @ light.LUMA)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_grey_world_gains_without_numba_are_the_per_pixel_formula(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Numba the gains work on the thumbnail's channel planes: the same float32
    operations per pixel as the formula on N×3 pixels, so the same gains bit for bit (and the
    same table), on casts the balance corrects and on thumbnails too grey to need it."""
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    rng = np.random.default_rng(seed)
    base = cv2.resize(face_photo("astronaut"), (160, 90), interpolation=cv2.INTER_AREA)
    for cast in (CAST, rng.uniform(0.6, 1.3, 3)):
        thumb = np.clip(base * cast, 0, 255).astype(np.uint8)
        want = _grey_world_per_pixel(thumb)
        got = light.grey_world_gains(thumb)
        assert np.array_equal(got, want)
        assert np.abs(got - 1.0).max() > 0.02  # the cast was corrected
    grey = np.full((90, 160, 3), 128, np.uint8)
    assert np.array_equal(light.grey_world_gains(grey), _grey_world_per_pixel(grey))
