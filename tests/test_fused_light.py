"""light_color's curves folded into the background blur's composite (issue 15).

When the light runs right after the blur, the blur works out its composite's thumbnail first,
the light decides its curves from it, and the composite's one pass goes through them: the
light's own pass over the frame is saved. The picture must stay the one of the two passes.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from engine_support import run_stages, studio_stages
from segmentation_support import composite_scene, demo_frames, noisy

from pipelines.beauty.light import LightColorStage
from pipelines.beauty.stage import BeautyStage
from pipelines.engine import Engine, Pipeline
from pipelines.frame import WRITABLE_IMAGE, Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.presets import Preset, StageSpec, build_stages, get_preset
from pipelines.segmentation import fused
from pipelines.segmentation.background import BackgroundBlur
from pipelines.segmentation.tiles import classify
from pipelines.sources.base import Source, SourceConfig
from pipelines.stage import Stage

pytestmark = pytest.mark.skipif(
    not fused.available(), reason=f"numba unavailable: {fused.unavailable_reason()}"
)

# Studio with the light folded into the composite against the light's own pass, every frame
# of a moving demo sequence. Exact where the curves meet the pixels (the person, the outline);
# the room's rows go through them before their upsampling along y (fused.ROOM_LIT), which
# measured 67 dB on 720p Studio. The bound for the whole Studio picture is 40 dB.
FOLDED_PSNR_MIN_DB = 50.0
# A light-like curve (gamma lift, gains) on a blurred room: the same bound, alone.
ROOM_LIT_PSNR_MIN_DB = 50.0
FRAME_W, FRAME_H = 640, 360
FRAMES = 8


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(255.0**2 / mse)


def _light_table(gamma: float, gains: tuple[float, float, float]) -> np.ndarray:
    x = np.arange(256) / 255.0
    table = np.empty((1, 256, 3), np.uint8)
    for c, g in enumerate(gains):
        table[0, :, c] = np.clip(np.rint(255.0 * np.minimum(x * g, 1.0) ** gamma), 0, 255)
    return table


@pytest.mark.parametrize(("size", "factor"), [((640, 360), 1), ((1280, 720), 2), ((643, 361), 1)])
@pytest.mark.parametrize("step", [4, 7, 8])
def test_thumbnail_is_the_composites_own_pixels(size, factor, step) -> None:
    w, h = size
    fg, mask_small, bg_small = composite_scene(w, h, factor)
    for tiles in (classify(mask_small, (w, h), (16, 8)), None):
        pending = fused.SmallComposite(fg, mask_small, bg_small, tiles)
        full = fused.composite_over_small(fg, mask_small, bg_small, tiles)
        assert np.array_equal(pending.render(), full)
        assert np.array_equal(pending.thumbnail(step), full[::step, ::step])


@pytest.mark.parametrize(("size", "factor"), [((640, 360), 1), ((1280, 720), 2)])
def test_render_through_a_table(size, factor, monkeypatch) -> None:
    w, h = size
    fg, mask_small, bg_small = composite_scene(w, h, factor)
    # A blurred room (as the blur makes it), not noise.
    bg_small = cv2.GaussianBlur(bg_small, (0, 0), 3.0)
    tiles = classify(mask_small, (w, h), (16, 8))
    pending = fused.SmallComposite(fg, mask_small, bg_small, tiles)
    full = pending.render()
    rng = np.random.default_rng(0)
    # Any table at all, taken at each pixel: exact.
    table = rng.integers(0, 256, (1, 256, 3), dtype=np.uint8)
    monkeypatch.setattr(fused, "ROOM_LIT", False)
    assert np.array_equal(pending.render(table), cv2.LUT(full, table))
    # The room's rows through a light's curve before their upsampling along y: the person's
    # and outline's pixels exact, the room within the named bound.
    monkeypatch.setattr(fused, "ROOM_LIT", True)
    light = _light_table(0.75, (0.95, 1.0, 1.08))
    lit = pending.render(light)
    ref = cv2.LUT(full, light)
    person = cv2.resize(mask_small, (w, h), interpolation=cv2.INTER_LINEAR) > 0
    assert np.array_equal(lit[person], ref[person])
    assert _psnr(lit, ref) >= ROOM_LIT_PSNR_MIN_DB
    with pytest.raises(ValueError, match="table must be uint8"):
        pending.render(light[:, :128])


def _demo_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    frames = demo_frames(FRAMES, step=3, size=(FRAME_W, FRAME_H))
    # A dim room: the light lifts it (gamma < 1) besides balancing it.
    return [noisy(frame // 2, rng) for frame in frames]


@pytest.fixture(scope="module")
def studio_two_passes() -> list[tuple[np.ndarray, FrameContext]]:
    """Studio as it was: the stages not told what follows them, the light's own pass."""
    return run_stages(studio_stages(chained=False), _demo_frames(), warm_up=True)


def test_studio_folds_the_light_into_the_composite(studio_two_passes, monkeypatch) -> None:
    stages = studio_stages(chained=True)  # each told which stages follow it, as the engine does
    light = next(s for s in stages if isinstance(s, LightColorStage))

    def no_pass(*args: object) -> np.ndarray:
        raise AssertionError("the light made its own pass over the frame")

    monkeypatch.setattr("pipelines.beauty.light.apply_correction", no_pass)
    folded = run_stages(stages, _demo_frames(), warm_up=True)
    for (a, ctx_a), (b, ctx_b) in zip(studio_two_passes, folded, strict=True):
        assert _psnr(a, b) >= FOLDED_PSNR_MIN_DB
        # The light's measure saw the same thumbnail: the same state, the same curves.
        assert ctx_b.extras["light_color"] == ctx_a.extras["light_color"]
        assert ctx_b.extras["light_color"]["gamma"] < 1.0  # a lift, not just white balance
        assert ctx_b.get(fused.TABLE_FOLDED) is not None
    assert light._state is not None


def _blur_light(between: dict[str, object] | None, light_on: bool = True) -> Preset:
    specs = [StageSpec("face_tracker"), StageSpec("segmentation"), StageSpec("background_blur")]
    if between is not None:
        specs.append(StageSpec("beauty", between))
    specs.append(StageSpec("light_color", {"exposure": 0.6, "enabled": light_on}))
    return Preset("blur-light", tuple(specs))


def test_only_the_next_stage_is_folded() -> None:
    frames = _demo_frames()[:2]
    # A stage between them: the light makes its own pass (after it), nothing is folded.
    stages = build_stages(_blur_light({"smoothing": 0.4}))
    Pipeline(stages)
    blur = next(s for s in stages if isinstance(s, BackgroundBlur))
    assert blur._table_stage() is None
    for _, ctx in run_stages(stages, frames, warm_up=True):
        assert ctx.get(fused.TABLE_FOLDED) is None
        assert "light_color" in ctx.extras
    # The stage between them switched off: the engine skips it, so the light is next.
    stages = build_stages(_blur_light({"enabled": False}))
    Pipeline(stages)
    for _, ctx in run_stages(stages, frames, warm_up=True):
        assert ctx.get(fused.TABLE_FOLDED) is not None
    # The light switched off: nothing folded, the blur's picture as it is.
    stages = build_stages(_blur_light(None, light_on=False))
    Pipeline(stages)
    alone = run_stages(build_stages(_blur_light(None, light_on=False)), frames, warm_up=True)
    for (a, ctx), (b, _) in zip(run_stages(stages, frames, warm_up=True), alone, strict=True):
        assert ctx.get(fused.TABLE_FOLDED) is None
        assert "light_color" not in ctx.extras
        assert np.array_equal(a, b)


class _Frames(Source):
    """The given frames, unpaced, with capture times 1/30 s apart (the light's smoothing
    follows capture time: two runs must see the same times)."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        h, w = frames[0].shape[:2]
        super().__init__("", SourceConfig(width=w, height=h, fps=30, paced=False))
        self.frames = frames

    def read(self) -> Frame | None:
        if self._index >= len(self.frames):
            raise EOFError("done")
        frame = Frame.new(self.frames[self._index].copy(), 1.0 + self._index / 30.0, self._index)
        self._index += 1
        return frame


class _Keep(Output):
    def __init__(self) -> None:
        super().__init__("keep")
        self.frames: list[Frame] = []

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)


def _engine_run(stages: list[Stage], frames: list[np.ndarray]) -> list[Frame]:
    out = _Keep()
    # Lossless and pipelined, as `camfx bench` and the window run Studio (the blur, the light
    # and beauty on the render thread).
    engine = Engine(_Frames(frames), stages, [out], lossless=True, pipelined=True)
    engine.start()
    try:
        assert engine.wait(120), "engine did not stop by itself"
    finally:
        engine.stop()
    assert not engine.stats.errors, engine.stats.errors
    return out.frames


def test_through_the_engine_the_folded_picture_is_handed_on_for_beauty_to_write(
    monkeypatch,
) -> None:
    """The blur's lit composite is nobody else's: the light passes it on as it got it
    (FRESH_IMAGE), and beauty retouches the face in it instead of copying the frame. Same
    picture as the two passes through the same engine, within the named bound."""
    frames = _demo_frames()
    with monkeypatch.context() as unfolded:
        unfolded.setattr(BackgroundBlur, "_table_stage", lambda self: None)
        two_passes = _engine_run(build_stages(get_preset("studio")), frames)
    assert all(f.ctx.get(fused.TABLE_FOLDED) is None for f in two_passes)

    def no_pass(*args: object) -> np.ndarray:
        raise AssertionError("the light made its own pass over the frame")

    granted: list[bool] = []
    original = BeautyStage.process

    def probe(self: BeautyStage, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        granted.append(ctx.get(WRITABLE_IMAGE) is image)
        return original(self, image, ctx)

    monkeypatch.setattr("pipelines.beauty.light.apply_correction", no_pass)
    monkeypatch.setattr(BeautyStage, "process", probe)
    folded = _engine_run(build_stages(get_preset("studio")), frames)
    assert granted == [True] * FRAMES
    assert len(folded) == len(two_passes) == FRAMES
    for a, b in zip(two_passes, folded, strict=True):
        assert b.ctx.get(fused.TABLE_FOLDED) is b.image
        assert b.ctx.extras["beauty"]["faces"] == 1  # the face was retouched, in place
        assert b.ctx.extras["light_color"] == a.ctx.extras["light_color"]
        assert _psnr(a.image, b.image) >= FOLDED_PSNR_MIN_DB
