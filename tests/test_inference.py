"""The inference layer: provider choice and its report, thread options, the sha256 check, the
model base class (hooks, registry, shared instances, IO binding).

The provider tests run twice over: once against the ONNX Runtime installed here (on a machine
whose onnxruntime-gpu lists CUDA/TensorRT without the CUDA libraries, the "silent fallback"
case: refused, with the missing library named, and none of ONNX Runtime's own noise on
stdout/stderr), and once against a scripted fake ONNX Runtime, so that the fallback logic is
covered on every machine, whatever its ONNX Runtime build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from pipelines.errors import ModelError
from pipelines.inference import gpu
from pipelines.inference import model as model_mod
from pipelines.inference import session as session_mod
from pipelines.inference.model import (
    OnnxModel,
    load_manifest,
    load_model,
    models_dir,
    register_model,
    verified_model_path,
)
from pipelines.inference.session import (
    ProviderReport,
    SessionFactory,
    default_factory,
    parse_providers,
    set_default_factory,
)
from pipelines.registry import Registry

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TRT = "TensorrtExecutionProvider"
GPU_PROVIDERS = (TRT, CUDA)
# The smallest committed model (230 KB, input 1x128x128x3, two outputs).
SMALL_MODEL = "face_detection_short_range"
# What ONNX Runtime prints or logs when a provider fails, none of which may reach the user.
ORT_NOISE = re.compile(r"EP Error|Falling back|\[[EWIV]:onnxruntime|onnxruntime_src|\*{10}")
# A refusal reason must say more than "it fell back".
LIBRARY_REASON = re.compile(r"lib[\w.\-]+\.so[\w.]*: cannot open shared object file")
# Refusals are remembered: a second session on the same factory may be much cheaper (it does
# not retry the GPU providers); the count of session constructions is what is asserted.
SECOND_CREATE_CALLS = 1


@pytest.fixture(autouse=True)
def nvidia_driver_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about GPU providers that are tried and refused, which happens where an
    NVIDIA driver is installed; without one the GPU is not tried at all
    (tests/test_inference_gpu.py)."""
    monkeypatch.setattr(gpu, "nvidia_driver", lambda: "driver (test)")


def small_model_path() -> str:
    return str(verified_model_path(SMALL_MODEL))


def run_once(session: Any) -> list[np.ndarray]:
    inp = session.get_inputs()[0]
    x = np.random.default_rng(0).uniform(-1, 1, inp.shape).astype(np.float32)
    out: list[np.ndarray] = session.run(None, {inp.name: x})
    return out


# ---- provider parsing --------------------------------------------------------------------------


def test_parse_explicit_providers() -> None:
    assert parse_providers("cpu") == [CPU]
    assert parse_providers("CUDA, cpu") == [CUDA, CPU]
    assert parse_providers("cuda") == [CUDA, CPU]  # CPU is always the last resort
    assert parse_providers("trt,cuda,cuda") == [TRT, CUDA, CPU]
    assert parse_providers(["DmlExecutionProvider"]) == ["DmlExecutionProvider", CPU]
    assert parse_providers("coreml") == ["CoreMLExecutionProvider", CPU]


def test_parse_auto_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMFX_PROVIDERS", raising=False)
    assert parse_providers(None) is None
    assert parse_providers("auto") is None
    assert parse_providers("") is None
    monkeypatch.setenv("CAMFX_PROVIDERS", "cpu")
    assert parse_providers(None) == [CPU]
    assert SessionFactory().requested == [CPU]
    monkeypatch.setenv("CAMFX_PROVIDERS", "auto")
    assert SessionFactory().requested is None


@pytest.mark.parametrize("spec", ["opencl", "cuda,tpu", "auto,cpu"])
def test_unknown_provider_is_a_model_error(spec: str) -> None:
    with pytest.raises(ModelError, match=r"unknown inference provider .*use auto or one of"):
        SessionFactory(spec)


def test_default_factory_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_mod, "_default", None)
    monkeypatch.setenv("CAMFX_PROVIDERS", "cpu")
    factory = default_factory()
    assert factory.requested == [CPU]
    assert default_factory() is factory
    other = SessionFactory("cpu")
    set_default_factory(other)
    assert default_factory() is other
    monkeypatch.setattr(session_mod, "_default", None)
    monkeypatch.setenv("CAMFX_PROVIDERS", "nonsense")
    with pytest.raises(ModelError, match="nonsense"):
        default_factory()


# ---- sessions on this machine -------------------------------------------------------------------


def test_cpu_session_works() -> None:
    factory = SessionFactory("cpu")
    session, report = factory.create(small_model_path(), SMALL_MODEL)
    assert session.get_providers() == [CPU]
    assert report == ProviderReport(SMALL_MODEL, CPU, {})
    assert not report.fell_back
    assert report.summary() == f"{SMALL_MODEL}: CPU"
    assert factory.reports[SMALL_MODEL] is report
    regressors, scores = run_once(session)
    assert regressors.shape == (1, 896, 16) and scores.shape == (1, 896, 1)
    assert np.isfinite(regressors).all()


def test_auto_session_on_this_machine_reports_refused_gpu(capfd: pytest.CaptureFixture) -> None:
    """onnxruntime-gpu without the CUDA libraries lists CUDA/TensorRT, then silently runs on
    the CPU: the report must say so and why, and ONNX Runtime's own noise stays hidden."""
    listed = [p for p in GPU_PROVIDERS if p in ort.get_available_providers()]
    if not listed:
        pytest.skip("this ONNX Runtime build lists no CUDA/TensorRT provider")
    capfd.readouterr()
    session, report = SessionFactory().create(small_model_path(), SMALL_MODEL)
    out, err = capfd.readouterr()
    assert not ORT_NOISE.search(out), out
    assert not ORT_NOISE.search(err), err
    if report.provider in listed:  # a machine with a working GPU: nothing to refuse above it
        assert session.get_providers()[0] == report.provider
        return
    assert report.provider == CPU
    assert session.get_providers() == [CPU]
    assert set(listed) <= set(report.refused)
    for provider in listed:
        reason = report.refused[provider]
        assert LIBRARY_REASON.search(reason), f"{provider}: {reason!r}"
    assert report.fell_back
    summary = report.summary()
    assert "CUDA refused: lib" in summary and summary.startswith(f"{SMALL_MODEL}: CPU (")
    assert run_once(session)[0].shape == (1, 896, 16)


def test_refusals_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    if not any(p in ort.get_available_providers() for p in GPU_PROVIDERS):
        pytest.skip("this ONNX Runtime build lists no CUDA/TensorRT provider")
    calls: list[list[str]] = []
    real = ort.InferenceSession

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(list(kwargs["providers"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", counting)
    factory = SessionFactory()
    _, first = factory.create(small_model_path(), "first")
    if first.provider != CPU:
        pytest.skip(f"a GPU provider works here ({first.provider})")
    assert len(calls) >= 2  # every listed GPU provider was tried
    calls.clear()
    _, second = factory.create(small_model_path(), "second")
    assert calls == [[CPU]]
    assert len(calls) == SECOND_CREATE_CALLS
    assert second.refused == first.refused
    assert second.provider == CPU


def test_explicit_provider_missing_from_build_is_reported() -> None:
    missing = next(
        p
        for p in ("CoreMLExecutionProvider", "DmlExecutionProvider", CUDA)
        if p not in ort.get_available_providers()
    )
    session, report = SessionFactory([missing]).create(small_model_path(), SMALL_MODEL)
    assert report.provider == CPU
    assert "not in this ONNX Runtime build" in report.refused[missing]
    assert session.get_providers() == [CPU]


def test_unloadable_file_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"model broken \(.*broken\.onnx\) could not be loaded: "):
        SessionFactory("cpu").create(str(bad), "broken")


# ---- thread options ----------------------------------------------------------------------------


def test_thread_options_applied_to_sessions() -> None:
    factory = SessionFactory("cpu", intra_op_threads=2)
    so = factory.session_options()
    assert so.intra_op_num_threads == 2
    assert so.inter_op_num_threads == 1
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert so.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    session, _ = factory.create(small_model_path(), SMALL_MODEL)
    got = session.get_session_options()
    assert got.intra_op_num_threads == 2
    assert got.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    spinning = SessionFactory("cpu", intra_op_threads=3, allow_spinning=True).session_options()
    assert spinning.intra_op_num_threads == 3
    assert spinning.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert spinning.get_session_config_entry("session.inter_op.allow_spinning") == "1"


def test_default_thread_count_suits_a_small_machine() -> None:
    cpus = os.cpu_count() or 2
    threads = SessionFactory("cpu").intra_op_threads
    assert 1 <= threads <= min(4, cpus)
    if cpus <= 4:
        assert threads == cpus


# ---- the fallback logic against a scripted ONNX Runtime -----------------------------------------

CUDA_LOG = (
    "\x1b[1;31m2026-01-01 00:00:00.0 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 "
    "operator()] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 "
    "onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : "
    "Failed to load library /x/libonnxruntime_providers_cuda.so with error: libcudart.so.12: "
    "cannot open shared object file: No such file or directory\x1b[m\n"
    "\x1b[0;93m2026-01-01 00:00:00.0 [W:onnxruntime:Default, onnxruntime_pybind_state.cc:1295 "
    "CreateExecutionProviderFactoryInstance] Failed to create CUDAExecutionProvider. Require "
    "cuDNN 9.* and CUDA 12.*. Please install all dependencies\x1b[m\n"
)
TRT_ERROR = (
    "/onnxruntime_src/onnxruntime/python/onnxruntime_pybind_state.cc:729 void "
    "RegisterTensorRTPluginsAsCustomOps() Please install TensorRT libraries\n"
)


class FakeSession:
    def __init__(self, providers: list[str]) -> None:
        self._providers = providers

    def get_providers(self) -> list[str]:
        return self._providers


@pytest.fixture
def fake_ort(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """ONNX Runtime listing TensorRT and CUDA: TensorRT raises (as with enable_fallback off),
    CUDA logs to fd 2 and silently runs on CPU. Returns the provider chains tried."""
    calls: list[list[str]] = []

    def fake_session(path: str, sess_options: Any = None, providers: Any = None, **kw: Any) -> Any:
        assert kw.get("enable_fallback") == 0  # no "EP Error" banner, no throw-away session
        calls.append(list(providers))
        if providers[0] == TRT:
            os.write(2, b"[E:onnxruntime:Default, trt.cc:1 f] TensorRT library not found\n")
            raise RuntimeError(TRT_ERROR)
        if providers[0] == CUDA:
            os.write(2, CUDA_LOG.encode())
            return FakeSession([CPU])
        return FakeSession([CPU])

    monkeypatch.setattr(ort, "get_available_providers", lambda: [TRT, CUDA, CPU])
    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    return calls


def test_scripted_silent_fallback_is_reported(
    fake_ort: list[list[str]], capfd: pytest.CaptureFixture
) -> None:
    capfd.readouterr()
    factory = SessionFactory()
    session, report = factory.create("model.onnx", "m")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert fake_ort == [[TRT, CPU], [CUDA, CPU]]  # the CUDA session fell back: kept, not rebuilt
    assert report.provider == CPU and session.get_providers() == [CPU]
    # The driver is there (the fixture) but a CUDA library is not: the reason says which
    # package brings it, for the ONNX Runtime version installed.
    assert report.refused[CUDA] == (
        "libcudart.so.12: cannot open shared object file: No such file or directory "
        '(needs cuDNN 9.* and CUDA 12.*); install the CUDA libraries: pip install "onnxruntime-gpu'
        f"[cuda,cudnn]=={ort.__version__}\" in camfx's environment (or CUDA and cuDNN from "
        "NVIDIA, the versions named above)"
    )
    assert report.refused[TRT] == "TensorRT library not found"
    fake_ort.clear()
    _, again = factory.create("model.onnx", "m2")
    assert fake_ort == [[CPU]]
    assert again.refused == report.refused


def test_scripted_broken_file_does_not_count_against_the_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []

    def fake_session(path: str, sess_options: Any = None, providers: Any = None, **kw: Any) -> Any:
        calls.append(list(providers))
        if path == "broken.onnx":
            raise RuntimeError(
                "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Protobuf parsing failed."
            )
        return FakeSession(list(providers))

    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    factory = SessionFactory()
    with pytest.raises(ModelError, match="INVALID_PROTOBUF"):
        factory.create("broken.onnx", "broken")
    assert calls == [[CUDA, CPU], [CPU]]
    calls.clear()
    _, report = factory.create("good.onnx", "good")
    assert calls == [[CUDA, CPU]]
    assert report == ProviderReport("good", CUDA, {})


def test_scripted_reason_from_exception_without_log(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_session(path: str, sess_options: Any = None, providers: Any = None, **kw: Any) -> Any:
        if providers[0] == CUDA:
            raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected\nmore")
        return FakeSession([CPU])

    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    _, report = SessionFactory("cuda").create("model.onnx", "m")
    assert report.refused == {CUDA: "CUDA failure 100: no CUDA-capable device is detected"}


def test_scripted_working_gpu_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: [TRT, CUDA, CPU])
    monkeypatch.setattr(
        ort,
        "InferenceSession",
        lambda path, sess_options=None, providers=None, **kw: FakeSession(list(providers)),
    )
    _, report = SessionFactory().create("model.onnx", "m")
    assert report == ProviderReport("m", TRT, {})
    _, report = SessionFactory("cuda,cpu").create("model.onnx", "m")
    assert report == ProviderReport("m", CUDA, {})


# ---- stderr capture -----------------------------------------------------------------------------


def test_capture_keeps_other_output_and_restores_stderr(capfd: pytest.CaptureFixture) -> None:
    capfd.readouterr()
    with session_mod.captured_native_stderr() as lines:
        os.write(2, b"\x1b[1;31m[E:onnxruntime:Default, a.cc:1 f] hidden\x1b[m\n")
        os.write(2, b"a log line from another thread\n")
    assert lines == ["[E:onnxruntime:Default, a.cc:1 f] hidden", "a log line from another thread"]
    os.write(2, b"after\n")
    _, err = capfd.readouterr()
    assert "hidden" not in err
    assert "a log line from another thread" in err and "after" in err


def test_concurrent_factories_leave_stderr_intact(capfd: pytest.CaptureFixture) -> None:
    errors: list[BaseException] = []

    def build() -> None:
        try:
            for _ in range(3):
                SessionFactory("cpu").create(small_model_path(), SMALL_MODEL)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    capfd.readouterr()
    os.write(2, b"still stderr\n")
    assert "still stderr" in capfd.readouterr().err


# ---- sha256 and manifest ------------------------------------------------------------------------


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A models directory holding one model and a manifest with just its entry."""
    entry = load_manifest()[SMALL_MODEL]
    shutil.copy(models_dir() / entry["file"], tmp_path / entry["file"])
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [entry]}))
    return tmp_path


def test_verified_path_accepts_the_committed_file(model_copy: Path) -> None:
    path = verified_model_path(SMALL_MODEL, str(model_copy))
    assert path == model_copy / f"{SMALL_MODEL}.onnx"
    assert verified_model_path(SMALL_MODEL) == models_dir() / f"{SMALL_MODEL}.onnx"


def test_changed_model_file_is_refused(model_copy: Path) -> None:
    path = model_copy / f"{SMALL_MODEL}.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError) as info:
        verified_model_path(SMALL_MODEL, str(model_copy))
    message = str(info.value)
    assert str(path) in message and "changed" in message and "refusing to load" in message

    class Small(OnnxModel):
        model_name = SMALL_MODEL

    with pytest.raises(ModelError, match="changed"):
        Small(SessionFactory("cpu"), directory=str(model_copy))


def test_missing_model_file(model_copy: Path) -> None:
    (model_copy / f"{SMALL_MODEL}.onnx").unlink()
    with pytest.raises(ModelError, match=r"model file .*face_detection_short_range\.onnx.*missing"):
        verified_model_path(SMALL_MODEL, str(model_copy))


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"manifest .*manifest\.json is missing"):
        verified_model_path(SMALL_MODEL, str(tmp_path))


def test_unreadable_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        load_manifest(str(tmp_path))


def test_unknown_model(model_copy: Path) -> None:
    with pytest.raises(ModelError, match=r"'no_such_model' is not in the manifest; known: face"):
        verified_model_path("no_such_model", str(model_copy))


def test_manifest_entry_without_sha256(model_copy: Path) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    del manifest["models"][0]["sha256"]
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="no sha256"):
        verified_model_path(SMALL_MODEL, str(model_copy))


# ---- the model base class -----------------------------------------------------------------------


class ScaledDetector(OnnxModel):
    """A tiny subclass: takes an RGB uint8 image, returns the best anchor's probability."""

    model_name = SMALL_MODEL

    def preprocess(self, image: np.ndarray, gain: float = 1.0) -> tuple[dict, Any]:
        x = (image.astype(np.float32) - 127.5) / 127.5
        return {self.input_names[0]: x[None]}, gain

    def postprocess(self, outputs: dict[str, np.ndarray], gain: Any) -> float:
        logits = outputs["classificators"].ravel()
        return float(gain / (1.0 + np.exp(-logits.max())))


def test_model_hooks(model_copy: Path) -> None:
    model = ScaledDetector(SessionFactory("cpu"), directory=str(model_copy))
    assert model.input_shape == (1, 128, 128, 3)
    assert model.output_names == ["regressors", "classificators"]
    assert model.provider_report.provider == CPU and not model.on_device
    image = np.random.default_rng(3).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    got = model(image, gain=2.0)
    x = ((image.astype(np.float32) - 127.5) / 127.5)[None]
    (_, logits) = model.session.run(None, {"input": x})
    assert got == pytest.approx(2.0 / (1.0 + np.exp(-logits.max())), rel=1e-6)


def test_default_hooks_pass_tensors_through() -> None:
    class Plain(OnnxModel):
        model_name = SMALL_MODEL

    model = Plain(SessionFactory("cpu"))
    x = np.zeros(model.input_shape, np.float32)
    out = model(x)
    assert set(out) == {"regressors", "classificators"}
    assert out["regressors"].shape == (1, 896, 16)


def test_register_and_load_model_share_one_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "MODELS", Registry("model"))
    monkeypatch.setattr(model_mod, "_cache", {})

    @register_model
    class Registered(OnnxModel):
        model_name = SMALL_MODEL

    assert model_mod.MODELS.get(SMALL_MODEL) is Registered
    factory = SessionFactory("cpu")
    first = load_model(SMALL_MODEL, factory)
    assert isinstance(first, Registered)
    assert load_model(SMALL_MODEL, factory) is first
    other = load_model(SMALL_MODEL, SessionFactory("cpu"))
    assert other is not first  # one session per factory
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        load_model("nope", factory)
    # Asked by class, the answer has that class (mypy sees it too); a class that is not the
    # registered one is refused instead of handing back something else.
    by_class: Registered = load_model(Registered, factory)
    assert by_class is first

    class Unregistered(OnnxModel):
        model_name = SMALL_MODEL

    with pytest.raises(ModelError, match="registered as Registered, not Unregistered"):
        load_model(Unregistered, factory)

    class Impostor(OnnxModel):
        model_name = SMALL_MODEL

    with pytest.raises(ValueError, match="already registered"):
        register_model(Impostor)


def test_io_binding_path_matches_plain_run() -> None:
    """The GPU path (IO binding) forced on the CPU provider: same outputs, binding reused."""

    class Plain(OnnxModel):
        model_name = SMALL_MODEL

    model = Plain(SessionFactory("cpu"))
    assert model.output_device == "cpu"
    rng = np.random.default_rng(7)
    feeds = [{"input": rng.uniform(-1, 1, model.input_shape).astype(np.float32)} for _ in range(3)]
    plain = [model.run_raw(f) for f in feeds]
    model.on_device = True
    bound = [model.run_raw(f) for f in feeds]
    binding = model._local.binding
    assert binding is not None
    for p, b in zip(plain, bound, strict=True):
        assert list(b) == model.output_names
        for name in model.output_names:
            np.testing.assert_array_equal(b[name], p[name])
    # A non-contiguous input is accepted, and another thread gets its own binding.
    strided = {"input": np.asfortranarray(feeds[0]["input"])}
    np.testing.assert_array_equal(model.run_raw(strided)["regressors"], plain[0]["regressors"])
    seen: list[Any] = []

    def other_thread() -> None:
        seen.append(model.run_raw(feeds[1]))
        seen.append(model._local.binding)

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    np.testing.assert_array_equal(seen[0]["classificators"], plain[1]["classificators"])
    assert seen[1] is not binding


def test_session_creation_is_fast_enough_for_tests() -> None:
    """Guards the test budget: a CPU session for the small model is built quickly."""
    start = time.perf_counter()
    SessionFactory("cpu").create(small_model_path(), SMALL_MODEL)
    assert time.perf_counter() - start < 5.0
