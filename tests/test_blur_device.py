"""The background blur's device backend (issue 15): its two graphs
(onnx_models/background_blur_room.onnx, background_blur_composite.onnx) against the CPU path,
their IO binding, their inputs, the light's curves folded in, how the backend is chosen, and
Studio through it end to end.

The graph runs here on ONNX Runtime's CPU provider (this machine has no GPU): the same graph
and the same binding calls as on CUDA, where the device keeps the intermediate tensors.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from segmentation_support import demo_frame_720p, demo_frames, segmented_once

from onnx_models import blur_composite
from pipelines.errors import SettingsError
from pipelines.frame import FrameContext
from pipelines.inference import SessionFactory
from pipelines.inference.model import load_manifest, models_dir, sha256_file
from pipelines.segmentation import fused
from pipelines.segmentation.background import BackgroundBlur, BackgroundBlurSettings
from pipelines.segmentation.device_blur import (
    BACKEND_ENV,
    BlurJob,
    DeviceBlur,
    blur_job,
    blur_kernel,
    choose_backend,
)
from pipelines.segmentation.refine import PYRAMID_KEY, FramePyramid

PARITY_MIN_PSNR_DB = 40.0
"""The device composite against the CPU path's picture. Measured 56.7-58.6 dB on the demo
frame at 1280×720, 1279×719 and 1920×1080 (strength 0.35 lens, 1.0 desaturated, 0.1
Gaussian), largest difference 2 grey levels; Studio with the light folded in (dim demo frames,
640×360 and 1920×1080, 6 frames each) 57.3-57.6 dB, largest difference 3 levels, the light's
gamma the same to 4 places: float sums in another order and ONNX Runtime's bilinear
coordinates move single pixels by a level; the CPU path's room rows go through the light's
curves before their upsampling along y (fused.ROOM_LIT), the graph's after (2026-12-04)."""
PARITY_MAX_LEVELS = 3
FACES = Path(__file__).resolve().parent / "data" / "faces"


@pytest.fixture(scope="module")
def device() -> DeviceBlur:
    return DeviceBlur(SessionFactory("cpu", intra_op_threads=2), room_on_device=True)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("name", list(blur_composite.BUILDERS))
def test_the_committed_graphs_are_what_the_generator_makes(name: str) -> None:
    data = blur_composite.model_bytes(name)
    path = models_dir() / f"{name}.onnx"
    assert path.read_bytes() == data, "run: python -m onnx_models.blur_composite"
    entry = load_manifest()[name]
    assert entry == blur_composite.manifest_entry(name, data)
    assert entry["sha256"] == sha256_file(path)


def blurred(
    image: np.ndarray, ctx: FrameContext, settings: BackgroundBlurSettings, backend: str
) -> tuple[np.ndarray, str]:
    """One frame through a fresh blur stage on ``backend``, with its own pyramids."""
    ctx.extras.pop(PYRAMID_KEY, None)
    stage = BackgroundBlur(settings)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(BACKEND_ENV, backend)
        stage.open()
        try:
            return stage.process(image, ctx), stage.backend_name
        finally:
            stage.close()


@pytest.mark.parametrize("backend", ["onnx", "onnx-room"])
@pytest.mark.parametrize(
    ("size", "settings"),
    [
        ((1280, 720), BackgroundBlurSettings()),
        ((1279, 719), BackgroundBlurSettings(strength=1.0, desaturate=1.0)),
        ((1279, 719), BackgroundBlurSettings(strength=0.1, lens=False)),
    ],
)
def test_the_device_composite_matches_the_cpu_one_on_the_demo(
    size: tuple[int, int], settings: BackgroundBlurSettings, backend: str
) -> None:
    fused.available()  # the CPU path compiled, as in the app
    image = cv2.resize(demo_frame_720p(), size, interpolation=cv2.INTER_AREA)
    ctx = segmented_once(image)
    cpu, cpu_name = blurred(image, ctx, settings, "cpu")
    device, device_name = blurred(image, ctx, settings, backend)
    assert (cpu_name, device_name) == ("cpu", f"{backend}:CPU")
    assert device.shape == image.shape and device.dtype == np.uint8
    assert psnr(device, cpu) >= PARITY_MIN_PSNR_DB
    assert int(np.abs(device.astype(np.int16) - cpu).max()) <= PARITY_MAX_LEVELS
    assert psnr(device, image) < 40.0  # the background really is blurred


def test_the_device_composite_matches_on_a_real_photo_with_a_plain_mask() -> None:
    """A photograph (two people side by side), and a mask given as a full-size array (no
    refined mask: the stage's other input)."""
    image = cv2.imread(str(FACES / "two_faces.jpg"))
    assert image is not None
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 4, h // 2), (w // 6, h // 3), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 6.0)
    outs = {}
    for backend in ("cpu", "onnx", "onnx-room"):
        ctx = FrameContext(0.0, 0)
        ctx.mask = mask
        outs[backend], _ = blurred(image, ctx, BackgroundBlurSettings(strength=0.5), backend)
    assert psnr(outs["onnx"], outs["cpu"]) >= PARITY_MIN_PSNR_DB
    assert psnr(outs["onnx-room"], outs["cpu"]) >= PARITY_MIN_PSNR_DB


def segmented_job(image: np.ndarray) -> BlurJob:
    """The blur's job for ``image`` under its refined segmentation mask (radius 20, lens)."""
    refined = segmented_once(image).mask_source
    assert refined is not None
    job = blur_job(image, refined.sampled(), FramePyramid(image), refined, 20.0,
                   lens=True, desaturate=0.0)  # fmt: skip
    assert job is not None
    return job


def test_the_binding_path_gives_the_same_bytes(device: DeviceBlur) -> None:
    """IO binding forced on the CPU provider (as on CUDA: inputs bound once, the output
    copied back once): the same picture as a plain run."""
    image = demo_frame_720p()
    job = segmented_job(image)
    plain = device.render(job)
    models = (device.room_model, device.composite_model)
    for model in models:
        model.on_device = True
    try:
        bound = device.render(job)
        bound_again = device.render(job)
    finally:
        for model in models:
            model.on_device = False
    np.testing.assert_array_equal(bound, plain)
    np.testing.assert_array_equal(bound_again, plain)


@pytest.mark.parametrize("size", [(1279, 719), (3840, 2160), (97, 61)])
def test_odd_and_large_sizes_keep_their_shape(device: DeviceBlur, size: tuple[int, int]) -> None:
    w, h = size
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros(((h + 1) // 2, (w + 1) // 2), np.float32)
    mask[: mask.shape[0] // 2] = 1.0
    radius = 0.35 * 0.08 * min(h, w)
    job = blur_job(image, mask, FramePyramid(image), FramePyramid(mask), radius,
                   lens=True, desaturate=0.0)  # fmt: skip
    assert job is not None
    out = device.render(job)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8
    # The person's rows (mask 1, upsampled) are the frame's own, exactly.
    person_rows = (mask.shape[0] // 2) * 2 - 2
    np.testing.assert_array_equal(out[: person_rows // 2], image[: person_rows // 2])


def test_the_thumbnail_and_the_table_are_the_composites(device: DeviceBlur) -> None:
    """The host's thumbnail is the device composite's every step-th pixel (within a level);
    a table is applied to every pixel as cv2.LUT would."""
    image = cv2.resize(demo_frame_720p(), (1279, 719))
    job = segmented_job(image)
    seen: list[np.ndarray] = []
    table = np.random.default_rng(0).integers(0, 256, (1, 256, 3), dtype=np.uint8)

    def table_for(thumb: np.ndarray, step: int) -> np.ndarray:
        seen.append(thumb)
        return table

    plain = device.render(job)
    lit = device.render(job, table_for, 8)
    (thumb,) = seen
    assert thumb.shape == plain[::8, ::8].shape
    assert int(np.abs(thumb.astype(np.int16) - plain[::8, ::8]).max()) <= 1
    np.testing.assert_array_equal(lit, cv2.LUT(plain, table))


def test_a_host_room_backend_asks_for_the_room() -> None:
    image = np.zeros((64, 96, 3), np.uint8)
    mask = np.zeros((32, 48), np.float32)
    job = blur_job(image, mask, FramePyramid(image), FramePyramid(mask), 2.0,
                   lens=True, desaturate=0.0)  # fmt: skip
    assert job is not None
    host_room = DeviceBlur(SessionFactory("cpu", intra_op_threads=1), room_on_device=False)
    assert host_room.room_model is None
    with pytest.raises(ValueError, match="room made on the host: pass room"):
        host_room.render(job)
    room = np.full((16, 24, 3), 90, np.uint8)
    np.testing.assert_array_equal(host_room.render(job, room=room), np.full_like(image, 90))


def test_a_frame_too_small_for_the_graph_keeps_the_cpu_path() -> None:
    image = np.full((6, 6, 3), 100, np.uint8)  # 3×3 at the work size: below MIN_ROOM_SIDE
    mask = np.zeros((6, 6), np.float32)
    job = blur_job(image, mask, FramePyramid(image), FramePyramid(mask), 0.6,
                   lens=True, desaturate=0.0)  # fmt: skip
    assert job is None


def test_bad_inputs_are_refused_with_what_is_wrong(device: DeviceBlur) -> None:
    image = np.zeros((64, 96, 3), np.uint8)
    mask = np.zeros((32, 48), np.float32)
    job = blur_job(image, mask, FramePyramid(image), FramePyramid(mask), 2.0,
                   lens=True, desaturate=0.0)  # fmt: skip
    assert job is not None
    room = device.room_model(job)
    composite = device.composite_model
    with pytest.raises(ValueError, match=r"frame must be a uint8 H×W×3 \(BGR\) image, not float32"):
        composite(image.astype(np.float32), mask, room)
    with pytest.raises(ValueError, match=r"frame must be a uint8 H×W×3.*\(64, 96, 4\)"):
        composite(np.zeros((64, 96, 4), np.uint8), mask, room)
    with pytest.raises(ValueError, match="mask must be float32 with two dimensions, not uint8"):
        composite(image, mask.astype(np.uint8), room)
    with pytest.raises(ValueError, match=r"table must be uint8 256×3, not uint8 \(1, 128, 3\)"):
        composite(image, mask, room, np.zeros((1, 128, 3), np.uint8))
    with pytest.raises(ValueError, match=r"room_mask must be \(32, 48\)"):
        device.room_model(dataclasses.replace(job, room_mask=np.zeros((5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"room_frame must be a uint8 H×W×3"):
        device.room_model(dataclasses.replace(job, room_frame=job.room_frame[..., :2]))
    with pytest.raises(TypeError, match="takes a BlurJob, not ndarray"):
        device.room_model(image)


def test_the_kernel_is_the_cpu_blur_centred_in_seven_by_seven() -> None:
    lens = blur_kernel(2.9, True)
    assert lens.shape == (7, 7) and abs(float(lens.sum()) - 1.0) < 1e-5
    assert lens[0, 3] > 0 and lens[0, 0] == 0  # a disk of radius 2.9 reaches the edge's middle
    gauss = blur_kernel(1.0, False)
    assert gauss[0].sum() == 0 and abs(float(gauss.sum()) - 1.0) < 1e-5
    ident = blur_kernel(0.2, True)
    assert ident[3, 3] == 1.0 and ident.sum() == 1.0
    with pytest.raises(ValueError, match="above the graph's"):
        blur_kernel(3.5, True)


def test_the_backend_follows_the_segmentations_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert choose_backend("CUDAExecutionProvider") == "onnx"
    assert choose_backend("TensorrtExecutionProvider") == "onnx"
    assert choose_backend("CPUExecutionProvider") == "cpu"
    assert choose_backend("DmlExecutionProvider") == "cpu"
    monkeypatch.setenv(BACKEND_ENV, "onnx")
    assert choose_backend("CPUExecutionProvider") == "onnx"
    monkeypatch.setenv(BACKEND_ENV, "onnx-room")  # never chosen by auto
    assert choose_backend("CPUExecutionProvider") == "onnx-room"
    monkeypatch.setenv(BACKEND_ENV, "cpu")
    assert choose_backend("CUDAExecutionProvider") == "cpu"
    with pytest.raises(SettingsError, match="unknown background blur backend 'gpu'; use auto, "):
        choose_backend("CUDAExecutionProvider", "gpu")


def test_studio_runs_end_to_end_on_the_device_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.build import RunConfig, build_engine

    monkeypatch.setenv(BACKEND_ENV, "onnx")
    run = build_engine(RunConfig(source="demo", outputs=("null",), preset="studio",
                                 size=(640, 360), frames=6, paced=False))  # fmt: skip
    try:
        assert run.wait(60)
    finally:
        run.close()
    snap = run.engine.snapshot()
    assert snap.frames_output == 6
    assert dict(run.engine.stats.errors) == {}
    (blur,) = [s for s in run.engine.pipeline.stages if isinstance(s, BackgroundBlur)]
    assert blur.backend_name == "onnx:CPU"
    assert run.engine.stats.stage["background_blur"].added >= 6


def _studio(backend: str, frames: list[np.ndarray]) -> list[tuple[np.ndarray, FrameContext]]:
    """Studio's stages on ``frames`` as the engine runs them (each told what follows it),
    the blur on ``backend``."""
    from pipelines.engine import Pipeline
    from pipelines.presets import build_stages, get_preset

    stages = build_stages(get_preset("studio"))
    Pipeline(stages)
    out = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(BACKEND_ENV, backend)
        for stage in stages:
            stage.open()
        try:
            for i, frame in enumerate(frames):
                ctx = FrameContext(timestamp=i / 30.0, index=i)
                image = frame.copy()
                for stage in stages:
                    image = stage.process(image, ctx)
                out.append((image.copy(), ctx))
            (blur,) = [s for s in stages if isinstance(s, BackgroundBlur)]
            assert blur.backend_name == ("cpu" if backend == "cpu" else f"{backend}:CPU")
        finally:
            for stage in stages:
                stage.close()
    return out


@pytest.mark.parametrize("backend", ["onnx", "onnx-room"])
def test_studio_folds_the_light_into_the_device_composite(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """Studio on dim demo frames (the light lifts them): the light's curves go through the
    device composite (its own pass never runs) and the picture is the CPU path's."""
    fused.available()
    frames = [frame // 2 for frame in demo_frames(4, step=3)]
    cpu = _studio("cpu", frames)

    def no_pass(*args: object) -> np.ndarray:
        raise AssertionError("the light made its own pass over the frame")

    monkeypatch.setattr("pipelines.beauty.light.apply_correction", no_pass)
    device = _studio(backend, frames)
    for (a, ctx_a), (b, ctx_b) in zip(cpu, device, strict=True):
        assert ctx_b.get(fused.TABLE_FOLDED) is not None
        assert psnr(b, a) >= PARITY_MIN_PSNR_DB
        gamma_a, gamma_b = (
            ctx_a.extras["light_color"]["gamma"],
            ctx_b.extras["light_color"]["gamma"],
        )
        assert gamma_b < 1.0 and abs(gamma_b - gamma_a) < 0.01


def test_a_device_that_fails_hands_over_to_the_cpu_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chosen automatically (a GPU), a device backend that fails gives the frame, and every
    frame after it, to the CPU composite, and says so in backend_name; asked for by name
    ($CAMFX_BLUR_BACKEND), its failure is the stage's error."""
    image = cv2.resize(demo_frame_720p(), (640, 360))
    ctx = segmented_once(image)
    cpu, _ = blurred(image, ctx, BackgroundBlurSettings(), "cpu")

    def broken(*args: object, **kwargs: object) -> np.ndarray:
        raise RuntimeError("CUDA failure 700: an illegal memory access")

    monkeypatch.setattr(DeviceBlur, "render", broken)
    monkeypatch.setattr("pipelines.segmentation.background.choose_backend", lambda p: "onnx")
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    stage = BackgroundBlur(BackgroundBlurSettings())
    stage.open()
    try:
        assert stage.backend_name == "onnx:CPU"
        ctx.extras.pop(PYRAMID_KEY, None)
        out = stage.process(image, ctx)
        assert (
            stage.backend_name
            == "cpu (onnx:CPU failed: CUDA failure 700: an illegal memory access)"
        )
        np.testing.assert_array_equal(out, cpu)
    finally:
        stage.close()
    monkeypatch.setenv(BACKEND_ENV, "onnx")
    stage = BackgroundBlur(BackgroundBlurSettings())
    stage.open()
    try:
        with pytest.raises(RuntimeError, match="CUDA failure 700"):
            stage.process(image, ctx)
    finally:
        stage.close()
