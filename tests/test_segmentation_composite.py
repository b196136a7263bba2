"""Compositing: exact at the mask's ends, no halo around the person, wrap and privacy looks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipelines.errors import SettingsError
from pipelines.frame import FrameContext
from pipelines.segmentation import composite as C
from pipelines.segmentation import fused
from pipelines.segmentation.background import (
    BackgroundBlur,
    BackgroundBlurSettings,
    BackgroundReplace,
    BackgroundReplaceSettings,
    Eased,
    parse_color,
)

W, H = 320, 240
DARK, BRIGHT = 50, 220
EDGE_SIGMA = 2.0  # px: the soft outline of the synthetic person's mask
# Rounding in blendLinear and in the uint8 background: a composite may be off by this much.
ROUNDING_LEVELS = 2
# What the guard cases (the two usual mistakes) get wrong at the outline, at least: the test
# must be able to see a halo for its "no halo" verdict to mean anything.
VISIBLE_HALO_LEVELS = 6
HALO_REDUCTION_MIN = 3.0  # halo removal cuts the worst fringe error by at least this factor
WRAP_MIN_SHIFT = 3  # levels of background colour that light wrap adds just inside the outline


@pytest.fixture(params=["opencv", "compiled"], autouse=True)
def composite_path(request, monkeypatch) -> str:
    """Every test here runs on both paths: OpenCV's and the compiled one-pass composites."""
    if request.param == "opencv":
        monkeypatch.setenv(fused.DISABLE_ENV, "1")
    elif not fused.available():
        pytest.skip(f"numba unavailable: {fused.unavailable_reason()}")
    return request.param


def _subject() -> tuple[np.ndarray, np.ndarray]:
    """A bright disc on a dark background and its soft mask."""
    image = np.full((H, W, 3), DARK, np.uint8)
    hard = np.zeros((H, W), np.float32)
    cv2.circle(hard, (W // 2, H // 2), 70, 1.0, -1)
    mask = cv2.GaussianBlur(hard, (0, 0), EDGE_SIGMA)
    image[hard > 0] = BRIGHT
    return image, mask


def _ctx(mask: np.ndarray | None, t: float = 0.0) -> FrameContext:
    ctx = FrameContext(timestamp=t, index=0)
    ctx.mask = mask
    return ctx


def test_blend_is_exact_at_the_ends() -> None:
    rng = np.random.default_rng(2)
    fg = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    ones, zeros = np.ones((H, W), np.float32), np.zeros((H, W), np.float32)
    assert np.array_equal(C.blend(fg, bg, ones), fg)
    assert np.array_equal(C.blend(fg, bg, zeros), bg)


@pytest.fixture(params=["blur", "replace"])
def stage(request):
    """Made per test and closed after it (a module-level instance kept its helper thread alive
    for the whole session)."""
    made = (
        BackgroundBlur(BackgroundBlurSettings(strength=0.6, light_wrap=0.5, desaturate=0.5))
        if request.param == "blur"
        else BackgroundReplace(BackgroundReplaceSettings(mode="color", light_wrap=0.5))
    )
    made.open()
    yield made
    made.close()


def test_stages_are_exact_at_the_ends(stage) -> None:
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    out = stage.process(image, _ctx(np.ones((H, W), np.float32)))
    assert np.array_equal(out, image)
    out = stage.process(image, _ctx(np.zeros((H, W), np.float32), 1.0))
    if isinstance(stage, BackgroundReplace):
        assert np.all(out == parse_color(stage.settings.color))
    else:
        s = stage.settings
        radius = s.strength * 0.08 * min(H, W)
        bg = C.masked_background_blur(image, np.zeros((H, W), np.float32), radius, lens=s.lens,
                                      desaturate=s.desaturate)  # fmt: skip
        assert np.array_equal(out, bg)


def test_blur_never_darkens_or_lights_up_the_outline() -> None:
    image, mask = _subject()
    out = BackgroundBlur(BackgroundBlurSettings(strength=1.0)).process(image, _ctx(mask))
    # The room is uniformly DARK, so its blur is too: the ideal composite is exact.
    ideal = mask[..., None] * image + (1 - mask[..., None]) * DARK
    err = out.astype(np.float32) - ideal
    band = (mask > 0.02) & (mask < 0.98)
    assert err[band].min() >= -ROUNDING_LEVELS, "dark halo"
    assert err[band].max() <= ROUNDING_LEVELS, "glow of the person into the room"
    assert np.abs(err).max() <= ROUNDING_LEVELS

    # The two usual mistakes, for contrast: both are visibly wrong at the outline.
    radius = 0.08 * min(H, W)
    k = C.disk_kernel(radius)
    room = image.astype(np.float32) * (1 - mask[..., None])
    zero_filled = cv2.filter2D(room, -1, k)  # person cut out, not renormalised: too dark
    plain = cv2.filter2D(image.astype(np.float32), -1, k)  # person blurred in: glows
    for wrong in (zero_filled, plain):
        bad = mask[..., None] * image + (1 - mask[..., None]) * wrong
        assert np.abs(bad - ideal)[band].max() > VISIBLE_HALO_LEVELS


def test_privacy_look_is_grey_and_blurred() -> None:
    rng = np.random.default_rng(8)
    image = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (W, H),
                       interpolation=cv2.INTER_NEAREST)  # fmt: skip
    zeros = np.zeros((H, W), np.float32)
    out = BackgroundBlur(BackgroundBlurSettings(strength=1.0, desaturate=1.0)).process(
        image, _ctx(zeros)
    )
    spread = out.max(axis=2).astype(int) - out.min(axis=2)
    assert spread.max() <= 1  # grey
    # Blurred: the blocky picture's hard steps are gone.
    assert np.abs(np.diff(out[..., 0].astype(int), axis=1)).max() < 20


def test_light_wrap_tints_the_outline_only() -> None:
    image, mask = _subject()
    plain = BackgroundReplace(BackgroundReplaceSettings(color="#00ff00", light_wrap=0.0,
                                                        remove_halo=False))  # fmt: skip
    wrapped = BackgroundReplace(BackgroundReplaceSettings(color="#00ff00", light_wrap=1.0,
                                                          remove_halo=False))  # fmt: skip
    a = plain.process(image, _ctx(mask)).astype(int)
    b = wrapped.process(image, _ctx(mask)).astype(int)
    inner_edge = (mask > 0.6) & (mask < 0.95)
    green_gain = (b[..., 1] - a[..., 1])[inner_edge].mean()
    assert green_gain >= WRAP_MIN_SHIFT
    centre = (H // 2, W // 2)
    assert np.array_equal(a[centre], b[centre])


def test_halo_removal_takes_the_old_room_out_of_the_outline() -> None:
    # A blue person in front of a white wall, composited onto black.
    person, wall, new = np.array([200, 120, 40.0]), np.array([240, 240, 240.0]), (0, 0, 0)
    _, mask = _subject()
    m = mask[..., None]
    image = np.round(m * person + (1 - m) * wall).astype(np.uint8)
    ideal = m * person + (1 - m) * np.array(new, float)
    band = (mask > 0.1) & (mask < 0.9)
    errors = {}
    for remove in (False, True):
        stage = BackgroundReplace(BackgroundReplaceSettings(color="#000000", light_wrap=0.0,
                                                            remove_halo=remove))  # fmt: skip
        out = stage.process(image, _ctx(mask)).astype(float)
        errors[remove] = np.abs(out - ideal)[band].max()
    assert errors[False] > VISIBLE_HALO_LEVELS
    assert errors[True] * HALO_REDUCTION_MIN <= errors[False]


def test_no_mask_passes_the_frame_through() -> None:
    image, _ = _subject()
    assert BackgroundBlur().process(image, _ctx(None)) is image
    assert BackgroundReplace().process(image, _ctx(None)) is image


def test_settings_glide_instead_of_jumping() -> None:
    e = Eased(tau=0.2)
    assert e(0.0, 0.0) == 0.0
    mid = e(1.0, 1 / 30)
    assert 0.05 < mid < 0.5
    later = e(1.0, 1.0)
    assert later == pytest.approx(1.0, abs=1e-2)
    assert e(0.3, 10.0) == 0.3  # after a long pause: no glide from a stale value


def test_colour_parsing() -> None:
    assert parse_color("#ff8000") == (0, 128, 255)
    assert parse_color("0f0") == (0, 255, 0)
    with pytest.raises(SettingsError):
        BackgroundReplaceSettings(color="green")
    with pytest.raises(SettingsError):
        BackgroundReplaceSettings(mode="hologram")


def test_disk_kernel_is_a_normalised_round_spot() -> None:
    k = C.disk_kernel(4.0)
    assert k.shape == (9, 9) and k.sum() == pytest.approx(1.0)
    assert k[4, 4] > 0 and k[0, 0] == 0.0 and k[4, 0] > 0
    assert C.work_factor(5.0) == 2 and C.work_factor(40.0) >= 8


# The fill's arithmetic per level, (colour·w + coarser·max(T − w, 0)) / max(w, T): the OpenCV
# path and the compiled kernel against NumPy in float32 (measured: the OpenCV path's values
# exactly, and the kernel's, on this scene).
FILL_RTOL = 1e-5


def test_the_room_fill_is_its_formula() -> None:
    """Where the blur reaches no room (the weight below TRUSTED_WEIGHT) each level takes the
    colour from the next coarser level; the finest level against the formula, with the coarser
    colour the function worked out."""
    rng = np.random.default_rng(23)
    h, w = 90, 160
    weighted = rng.uniform(0, 1, (h, w, 4)).astype(np.float32)
    weight = rng.choice([0.0, 0.01, 0.2, 1.0], (h, w)).astype(np.float32)
    weight[20:70, 40:120] = 0.0  # a hole the size of a person: coarser levels needed
    weighted[..., 3] = weight
    weighted[..., :3] *= weight[..., None] * 255
    fallback = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    calls = []
    resize = cv2.resize

    def remembered(src, size, *args, **kwargs):
        out = resize(src, size, *args, **kwargs)
        calls.append((src, size, out.copy()))  # the fill works on it in place
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(C.cv2, "resize", remembered)
        colour = C._fill_from_coarser(weighted.copy(), fallback)
    # The last resize brings the coarser colour to the finest level's size.
    coarser = [out for src, size, out in calls if size == (w, h) and src.dtype == np.float32]
    assert len(calls) >= 3 and len(coarser) == 1
    t = np.float32(C.TRUSTED_WEIGHT)
    fill = np.maximum(t - weight, 0)
    ref = (coarser[0] * fill[..., None] + weighted[..., :3]) / (weight + fill)[..., None]
    np.testing.assert_allclose(colour, ref, rtol=FILL_RTOL)
    assert colour.shape == (h, w, 3) and colour.dtype == np.float32
