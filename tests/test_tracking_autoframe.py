"""auto_frame follows the primary face, holds still in its dead zone and maps the faces."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.frame import FrameContext
from pipelines.tracking.autoframe import AutoFrame, AutoFrameSettings
from pipelines.tracking.types import Face

FPS = 30.0
W, H = 1280, 720
FACE_H = 150.0
SETTLE_TOLERANCE_PX = 2.0


def face_at(cx: float, cy: float, h: float = FACE_H) -> Face:
    lm = np.zeros((478, 3), np.float32)
    lm[:, 0] = np.linspace(cx - h * 0.4, cx + h * 0.4, 478)
    lm[:, 1] = np.linspace(cy - h / 2, cy + h / 2, 478)
    return Face(id=7, score=1.0, bbox=(cx - h * 0.4, cy - h / 2, h * 0.8, h), landmarks=lm)


def run(stage: AutoFrame, face: Face | None, i: int, image: np.ndarray) -> FrameContext:
    ctx = FrameContext(timestamp=i / FPS, index=i)
    ctx.faces = [face] if face else []
    ctx.primary_face = face
    ctx.mask = np.ones(image.shape[:2], np.float32)
    out = stage.process(image, ctx)
    assert out.shape == image.shape and out.dtype == image.dtype
    ctx.extras["image"] = out
    return ctx


@pytest.fixture()
def frame() -> np.ndarray:
    # A horizontal ramp: a pixel's value tells its source column.
    ramp = np.tile(np.linspace(0, 255, W, dtype=np.float32), (H, 1))
    return np.repeat(ramp[:, :, None], 3, axis=2).astype(np.uint8)


def test_crop_settles_on_the_face_at_the_set_size(frame: np.ndarray) -> None:
    s = AutoFrameSettings(face_size=0.3, smoothing=0.5)
    stage = AutoFrame(s)
    face = face_at(560, 330)
    for i in range(60):
        ctx = run(stage, face, i, frame)
    crop = ctx.extras["auto_frame"]["crop"]
    assert crop[3] == pytest.approx(FACE_H / s.face_size, abs=SETTLE_TOLERANCE_PX)
    assert crop[0] + crop[2] / 2 == pytest.approx(560, abs=SETTLE_TOLERANCE_PX)
    # The face was mapped into the zoomed picture: same relative size, same place as the crop.
    mapped = ctx.primary_face
    assert mapped is not None and mapped.bbox[3] == pytest.approx(s.face_size * H, rel=0.02)
    assert mapped.landmarks[:, 0].mean() == pytest.approx(W / 2, abs=3.0)
    assert ctx.mask is not None and ctx.mask.shape == (H, W)


def test_dead_zone_holds_and_big_moves_follow(frame: np.ndarray) -> None:
    stage = AutoFrame(AutoFrameSettings(dead_zone=0.1, smoothing=0.3))
    for i in range(40):
        ctx = run(stage, face_at(640, 300), i, frame)
    settled = ctx.extras["auto_frame"]["crop"]
    for i in range(40, 60):  # a small sway inside the dead zone
        ctx = run(stage, face_at(640 + 20 * np.sin(i), 300), i, frame)
    assert np.allclose(ctx.extras["auto_frame"]["crop"], settled, atol=0.5)
    for i in range(60, 100):  # a real move
        ctx = run(stage, face_at(780, 300), i, frame)
    moved = ctx.extras["auto_frame"]["crop"]
    assert moved[0] + moved[2] / 2 == pytest.approx(780, abs=SETTLE_TOLERANCE_PX)


def test_without_a_face_it_returns_to_the_full_frame(frame: np.ndarray) -> None:
    stage = AutoFrame(AutoFrameSettings(return_seconds=0.5, smoothing=0.3))
    for i in range(30):
        run(stage, face_at(500, 300), i, frame)
    ctx = run(stage, None, 30, frame)
    assert ctx.extras["auto_frame"]["zoom"] > 1.3  # holds the framing for a moment
    for i in range(31, 90):
        ctx = run(stage, None, i, frame)
    assert ctx.extras["auto_frame"]["zoom"] == pytest.approx(1.0, abs=0.01)
    assert np.array_equal(ctx.extras["image"], frame)


def test_crop_never_leaves_the_frame(frame: np.ndarray) -> None:
    stage = AutoFrame(AutoFrameSettings(smoothing=0.0, max_zoom=4.0))
    ctx = run(stage, face_at(5, 5, h=40), 0, frame)
    x, y, w, h = ctx.extras["auto_frame"]["crop"]
    assert x >= 0 and y >= 0 and x + w <= W + 1e-6 and y + h <= H + 1e-6
    assert h == pytest.approx(H / 4.0)
