"""light_color's metering and grey-world gains compiled (fused.light_stats,
fused.grey_world_gains): the same figures as NumPy's to float rounding, the same curves."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.beauty import light
from pipelines.segmentation import fused
from pipelines.sources.base import SourceConfig
from pipelines.sources.demo import DemoSource

pytestmark = pytest.mark.skipif(
    not fused.available(), reason=f"numba unavailable: {fused.unavailable_reason()}"
)

# NumPy sums float32 (pairwise, BLAS), the kernels float64: measured 2.4e-6 (gains) and 7e-8
# (brightness) at most on the thumbnails below.
GAIN_TOL = 1e-5
LEVEL_TOL = 1e-6
MAX_LEVELS_MOVED = 3
"""Entries (of 768) of the light's table that may move by one level: measured 1 on 3 of 54
thumbnails, 0 on the rest."""


def _thumbs() -> list[np.ndarray]:
    src = DemoSource("", SourceConfig(width=1280, height=720, fps=30))
    src.open()
    rng = np.random.default_rng(1)
    out = []
    for i in range(0, 120, 7):
        src._index = i
        thumb = light.thumbnail(src.grab(), 8)
        out.append(thumb)
        # A colour cast the balance has work to do on, and a dark frame.
        out.append((thumb * rng.uniform(0.5, 1.2, 3)).clip(0, 255).astype(np.uint8))
        out.append(thumb // 4)
    return out


def _numpy(fn, *args):  # the module's NumPy path, as before the kernels are ready
    kept, fused._kernel = fused._kernel, None
    try:
        return fn(*args)
    finally:
        fused._kernel = kept


def test_compiled_metering_and_balance_match_numpy() -> None:
    assert fused.ready()
    boxes = [None, (500.0, 200.0, 250.0, 300.0), (-20.0, -10.0, 100.0, 100.0), (2000, 0, 5, 5)]
    moved: list[int] = []
    for thumb in _thumbs():
        small = thumb[::2, ::2]
        want = _numpy(light.grey_world_gains, small)
        got = light.grey_world_gains(small)
        assert np.abs(got - want).max() <= GAIN_TOL
        for box in boxes:
            ref = _numpy(light.metered_brightness, thumb, box, 1 / 8)
            assert abs(light.metered_brightness(thumb, box, 1 / 8) - ref) <= LEVEL_TOL
        # What the picture sees: the stage's curves for this thumbnail. A level whose curve
        # value lies within float rounding of a half rounds the other way now and then.
        stage = light.LightColorStage()
        s = stage.settings
        from pipelines.frame import FrameContext

        ctx = FrameContext(0.0, 0)
        a = light.build_lut(_numpy(stage.measure_thumb, thumb, 8, ctx, s))
        b = light.build_lut(stage.measure_thumb(thumb, 8, ctx, s))
        diff = np.abs(a.astype(np.int16) - b)
        assert diff.max() <= 1 and np.count_nonzero(diff) <= MAX_LEVELS_MOVED
        moved.append(int(np.count_nonzero(diff)))
    assert sum(m > 0 for m in moved) <= len(moved) // 6, moved


def test_too_few_grey_pixels_leave_the_balance_alone() -> None:
    red = np.zeros((20, 20, 3), np.uint8)
    red[..., 2] = 200
    assert np.array_equal(light.grey_world_gains(red), _numpy(light.grey_world_gains, red))
    np.testing.assert_allclose(light.grey_world_gains(red) @ light.LUMA, 1.0)


def test_compiled_curves_are_numpys_byte_for_byte() -> None:
    rng = np.random.default_rng(3)
    cases = [
        light.Correction(1.0, (1.0, 1.0, 1.0)),
        light.Correction(0.7, (1.0, 1.0, 1.0)),
        light.Correction(1.0, (1.33, 0.8, 1.0)),
    ]
    for _ in range(2000):
        gamma = float(rng.uniform(0.5, 1.0)) if rng.random() < 0.9 else 1.0
        gains = rng.uniform(0.7, 1.45, 3)
        cases.append(light.Correction(gamma, (float(gains[0]), float(gains[1]), float(gains[2]))))
    for c in cases:
        assert np.array_equal(light.build_lut(c), _numpy(light.build_lut, c)), c
