"""CUDA graphs for fixed-shape models (pipelines/inference/session.py, CAMFX_CUDA_GRAPH).

No GPU here: the factory's choices are checked against a scripted ONNX Runtime, and the fixed
buffers a graph replays with are checked on the real CPU provider (the same binding calls with
buffers in host memory), output for output against a plain run.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from pipelines.errors import ModelError
from pipelines.inference import gpu
from pipelines.inference.capture import CAPTURE_GUARD, CAPTURE_RUNS, CaptureGuard
from pipelines.inference.model import OnnxModel, _fixed_shapes, load_manifest
from pipelines.inference.session import CUDA_GRAPH_ENV, ProviderReport, SessionFactory

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
FIXED = ("face_detection_short_range", "face_landmark_with_attention_blocked")
"""Fixed-shape models run by Studio's tracker (the detector, the mesh)."""
FREE = ("mouth_net", "background_blur_composite")
"""Models with named sizes: never asked for as a graph."""
GRAPH_LOG = (
    "2026-01-01 00:00:00.0 [E:onnxruntime:, inference_session.cc:2105 Initialize] This session "
    "cannot use the graph capture feature as requested by the user as all compute graph nodes "
    "have not been partitioned to the CUDAExecutionProvider\n"
)


def _random_feeds(model: OnnxModel, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        i.name: rng.uniform(-1, 1, [int(d) for d in i.shape]).astype(np.float32)
        for i in model.inputs
    }


@pytest.mark.parametrize("name", FIXED)
def test_fixed_buffers_give_the_plain_run_s_outputs(name: str) -> None:
    class Model(OnnxModel):
        model_name = name

    model = Model(SessionFactory("cpu", intra_op_threads=1))
    assert not model.fixed_buffers  # only a CUDA graph session asks for them
    feeds = [_random_feeds(model, seed) for seed in range(3)]
    plain = [model.run_raw(f) for f in feeds]
    model.fixed_buffers = True
    fixed = [model.run_raw(f) for f in feeds]
    for p, f in zip(plain, fixed, strict=True):
        assert list(f) == model.output_names
        for out in model.output_names:
            np.testing.assert_array_equal(f[out], p[out])
    # Each run's outputs are the caller's own: the next run does not write into them.
    first = model.output_names[0]
    np.testing.assert_array_equal(fixed[0][first], plain[0][first])
    assert not np.shares_memory(fixed[0][first], fixed[2][first])
    # Another dtype is converted into the buffer; another shape is refused by name.
    as_f64 = {k: v.astype(np.float64) for k, v in feeds[1].items()}
    np.testing.assert_array_equal(model.run_raw(as_f64)[first], plain[1][first])
    half = {k: v[:, : v.shape[1] // 2] for k, v in feeds[1].items()}
    with pytest.raises(ModelError, match=rf"model {name}: input .* has shape"):
        model.run_raw(half)


def test_which_models_have_fixed_shapes() -> None:
    manifest = load_manifest()
    for name in FIXED:
        assert _fixed_shapes(manifest[name]), name
    for name in FREE:
        assert not _fixed_shapes(manifest[name]), name
    assert not _fixed_shapes({"name": "x"})  # no shapes listed: nothing to allocate


def test_cuda_graph_is_on_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CUDA_GRAPH_ENV, raising=False)
    assert SessionFactory("cpu").cuda_graph is True
    for off in ("0", "off", " No "):
        monkeypatch.setenv(CUDA_GRAPH_ENV, off)
        assert SessionFactory("cpu").cuda_graph is False
    assert SessionFactory("cpu", cuda_graph=True).cuda_graph is True
    monkeypatch.setenv(CUDA_GRAPH_ENV, "1")
    assert SessionFactory("cpu").cuda_graph is True
    assert SessionFactory("cpu", cuda_graph=False).cuda_graph is False


class _Scripted:
    """A session that says where it runs, and which provider options it was given."""

    def __init__(self, providers: list[Any]) -> None:
        self.asked = providers
        self._providers = [p[0] if isinstance(p, tuple) else p for p in providers]

    def get_providers(self) -> list[str]:
        return self._providers


@pytest.fixture
def scripted_cuda(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An ONNX Runtime with CUDA that loads every model, and makes a CUDA graph unless told to
    refuse it (as for a model with a node ONNX Runtime keeps on the CPU)."""
    state: dict[str, Any] = {"calls": [], "refuse_graph": False}

    def fake_session(path: str, sess_options: Any = None, providers: Any = None, **kw: Any) -> Any:
        assert kw.get("enable_fallback") == 0
        state["calls"].append(list(providers))
        first = providers[0]
        if isinstance(first, tuple) and state["refuse_graph"]:
            os.write(2, GRAPH_LOG.encode())
            raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : graph capture")
        return _Scripted(list(providers))

    monkeypatch.setattr(gpu, "nvidia_driver", lambda: "driver (test)")
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    return state


def test_a_fixed_shape_model_is_made_a_cuda_graph(scripted_cuda: dict[str, Any]) -> None:
    factory = SessionFactory("cuda", cuda_graph=True)
    _, report = factory.create("mesh.onnx", "mesh", fixed_shapes=True)
    assert scripted_cuda["calls"] == [[(CUDA, {"enable_cuda_graph": "1"}), CPU]]
    assert report.provider == CUDA and report.cuda_graph and not report.graph_refused
    assert report.summary() == "mesh: CUDA as a CUDA graph"
    # A model with named sizes is not asked for as a graph; neither is any when it is off.
    scripted_cuda["calls"].clear()
    _, free = factory.create("mouth.onnx", "mouth", fixed_shapes=False)
    _, off = SessionFactory("cuda", cuda_graph=False).create("m.onnx", "m", fixed_shapes=True)
    assert scripted_cuda["calls"] == [[CUDA, CPU], [CUDA, CPU]]
    assert free == ProviderReport("mouth", CUDA, {}) and not off.cuda_graph


def test_a_refused_graph_runs_on_plain_cuda_and_says_why(
    scripted_cuda: dict[str, Any], capfd: pytest.CaptureFixture
) -> None:
    scripted_cuda["refuse_graph"] = True
    capfd.readouterr()
    factory = SessionFactory("cuda", cuda_graph=True)
    _, report = factory.create("vad.onnx", "vad", fixed_shapes=True)
    assert capfd.readouterr().err == ""  # ONNX Runtime's log is captured, not printed
    assert scripted_cuda["calls"] == [[(CUDA, {"enable_cuda_graph": "1"}), CPU], [CUDA, CPU]]
    assert report.provider == CUDA and not report.cuda_graph and not report.refused
    assert "cannot use the graph capture feature" in report.graph_refused
    assert report.summary().startswith("vad: CUDA (CUDA graph refused: This session cannot")
    # The refusal concerns that model only: CUDA stays, and the next model is asked again.
    scripted_cuda["refuse_graph"] = False
    _, next_report = factory.create("mesh.onnx", "mesh", fixed_shapes=True)
    assert next_report.cuda_graph


def test_a_graph_session_s_model_runs_through_fixed_buffers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model made from a session reported as a CUDA graph binds fixed buffers (here a real
    CPU session standing in for it, so the run is real). The stand-in reports a graph only
    where the manifest's fixed shapes were passed on."""
    model = _graph_model(monkeypatch)
    assert model.fixed_buffers
    feeds = _random_feeds(model, 5)
    got = model.run_raw(feeds)
    want = model.session.run(model.output_names, feeds)
    for out, value in zip(model.output_names, want, strict=True):
        np.testing.assert_array_equal(got[out], value)
    assert model.fixed_binding is not None  # bound once, kept for the next frame


# ---- one capture at a time (pipelines/inference/capture.py) ------------------------------------


def test_device_work_runs_side_by_side_until_a_capture_is_expected() -> None:
    guard = CaptureGuard()
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def long_call() -> None:
        with guard.device_work():
            inside.set()
            release.wait(5)
            order.append("long call ends")

    first = threading.Thread(target=long_call)
    first.start()
    assert inside.wait(5)
    with guard.device_work():  # nothing pending: runs beside the long call
        order.append("side by side")
    guard.expect_capture()

    def capture() -> None:
        with guard.device_work():
            order.append("capture")

    capturing = threading.Thread(target=capture)
    capturing.start()
    capturing.join(0.3)
    assert capturing.is_alive()  # waits for the call that began before it
    release.set()
    first.join(5)
    capturing.join(5)
    assert order == ["side by side", "long call ends", "capture"]
    guard.captured()
    assert guard.pending == 0


def test_while_a_capture_is_pending_device_work_runs_alone() -> None:
    guard = CaptureGuard()
    guard.expect_capture()
    running = 0
    most = 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal running, most
        with guard.device_work():
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.01)
            with lock:
                running -= 1

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert most == 1


def _graph_model(monkeypatch: pytest.MonkeyPatch) -> OnnxModel:
    """The detector on a real CPU session, reported as a CUDA graph session."""
    gc.collect()  # models of earlier tests release any capture they held
    real = SessionFactory("cpu", intra_op_threads=1)
    create = real.create

    def as_graph(path: str, name: str | None = None, *, fixed_shapes: bool = False) -> Any:
        session, report = create(path, name, fixed_shapes=fixed_shapes)
        report.cuda_graph = fixed_shapes
        return session, report

    monkeypatch.setattr(real, "create", as_graph)

    class Detector(OnnxModel):
        model_name = FIXED[0]

    return Detector(real)


def test_a_graph_s_first_runs_are_held_alone_then_released(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _graph_model(monkeypatch)
    feeds = _random_feeds(model, 3)
    assert CAPTURE_GUARD.pending == 0  # made, not run: nothing held yet
    seen = []
    for _ in range(CAPTURE_RUNS + 1):
        model.run_raw(feeds)
        seen.append(CAPTURE_GUARD.pending)
    assert seen == [1] * (CAPTURE_RUNS - 1) + [0, 0]


def test_a_graph_that_fails_runs_on_without_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    model = _graph_model(monkeypatch)
    feeds = _random_feeds(model, 4)
    want = model.session.run(model.output_names, feeds)

    class Invalidated:
        """The session as ONNX Runtime leaves it when a capture was invalidated."""

        def __init__(self, session: Any) -> None:
            self._session = session

        def __getattr__(self, name: str) -> Any:
            return getattr(self._session, name)

        def run_with_iobinding(self, binding: Any) -> None:
            raise RuntimeError("CUDA error cudaErrorStreamCaptureInvalidated: operation failed")

    model.session = Invalidated(model.session)
    got = model.run_raw(feeds)  # the frame is not lost
    for out, value in zip(model.output_names, want, strict=True):
        np.testing.assert_array_equal(got[out], value)
    assert not model.fixed_buffers and not model.report.cuda_graph
    assert "cudaErrorStreamCaptureInvalidated" in model.report.graph_refused
    assert "CUDA graph failed" in caplog.text
    assert CAPTURE_GUARD.pending == 0  # its capture is no longer waited for
    np.testing.assert_array_equal(model.run_raw(feeds)[model.output_names[0]], want[0])


def test_a_model_dropped_before_its_capture_releases_the_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _graph_model(monkeypatch)
    model.run_raw(_random_feeds(model, 1))
    assert CAPTURE_GUARD.pending == 1
    del model
    gc.collect()
    assert CAPTURE_GUARD.pending == 0
