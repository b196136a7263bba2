"""The NVIDIA driver check and what the session factory does with it: no GPU provider is tried
without a driver (one info line "CPU (no NVIDIA GPU driver)" instead of library errors), and
a CPU-only ONNX Runtime beside a driver says which package to install. The driver look-up runs
against fake roots; the sessions are real ONNX Runtime sessions on the committed models."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest

from pipelines.errors import ModelError
from pipelines.inference import gpu
from pipelines.inference import session as session_mod
from pipelines.inference.model import verified_model_path
from pipelines.inference.session import SessionFactory

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TRT = "TensorrtExecutionProvider"
SMALL_MODEL = "face_detection_short_range"
NVRM = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n"
    "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
)


def no_which(_: str) -> str | None:
    return None


def test_linux_driver_from_the_kernel_module_version_file(tmp_path: Path) -> None:
    (tmp_path / "proc/driver/nvidia").mkdir(parents=True)
    (tmp_path / "proc/driver/nvidia/version").write_text(NVRM)
    found = gpu.find_nvidia_driver("linux", root=tmp_path, which=no_which)
    assert found == "driver 550.54.14"


def test_linux_without_driver_is_none(tmp_path: Path) -> None:
    assert gpu.find_nvidia_driver("linux", root=tmp_path, which=no_which) is None
    assert gpu.runtime_package(None) == "onnxruntime"
    assert gpu.runtime_package("driver 550.54.14") == "onnxruntime-gpu"


def test_wsl_driver_library_counts(tmp_path: Path) -> None:
    (tmp_path / "usr/lib/wsl/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/wsl/lib/libcuda.so.1").write_bytes(b"")
    assert gpu.find_nvidia_driver("linux", root=tmp_path, which=no_which) == "driver (WSL)"


def fake_nvidia_smi(tmp_path: Path, output: str, code: int = 0) -> str:
    exe = tmp_path / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\nprintf '%s' '{output}'\nexit {code}\n")
    exe.chmod(0o755)
    return str(exe)


def test_nvidia_smi_when_no_proc_file(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(tmp_path, "535.183.01\n")
    found = gpu.find_nvidia_driver("linux", root=tmp_path / "root", which=lambda _: smi)
    assert found == "driver 535.183.01"
    # nvidia-smi that fails (installed, but the kernel module is not loaded) is no driver.
    broken = fake_nvidia_smi(tmp_path, "NVIDIA-SMI has failed", code=9)
    assert gpu.find_nvidia_driver("linux", root=tmp_path / "root", which=lambda _: broken) is None


def test_windows_driver_from_nvcuda_dll(tmp_path: Path) -> None:
    assert gpu.find_nvidia_driver("win32", system_root=str(tmp_path), which=no_which) is None
    (tmp_path / "System32").mkdir()
    (tmp_path / "System32/nvcuda.dll").write_bytes(b"MZ")
    found = gpu.find_nvidia_driver("win32", system_root=str(tmp_path), which=no_which)
    assert found == "driver (nvcuda.dll)"


def test_macos_never_has_one(tmp_path: Path) -> None:
    assert gpu.find_nvidia_driver("darwin", root=tmp_path, which=lambda _: "/bin/true") is None


def test_script_runs_on_a_bare_python(repo_root: Path) -> None:
    """installer/bootstrap.sh runs the file before anything is installed: the standard library
    must be enough (-I -S: no site-packages, no PYTHONPATH)."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(repo_root / "pipelines/inference/gpu.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    expected = gpu.find_nvidia_driver()
    assert done.stdout == (f"gpu {expected}\n" if expected else "cpu no NVIDIA GPU driver\n")


# ---- the session factory without a driver, on this machine's real ONNX Runtime ----------------


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every provider chain that ONNX Runtime is asked to build a session with."""
    calls: list[list[str]] = []
    real = ort.InferenceSession

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(list(kwargs["providers"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", counting)
    return calls


def test_no_driver_means_no_gpu_attempt_and_one_info_line(
    monkeypatch: pytest.MonkeyPatch,
    sessions: list[list[str]],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture,
) -> None:
    monkeypatch.setattr(gpu, "nvidia_driver", lambda: None)
    monkeypatch.setattr(session_mod, "_warned_refusals", set())  # as in a new process
    caplog.set_level(logging.INFO, logger="pipelines.inference.session")
    capfd.readouterr()
    session, report = SessionFactory().create(str(verified_model_path(SMALL_MODEL)), "m")
    out, err = capfd.readouterr()
    assert sessions == [[CPU]]  # whatever this build lists, CUDA/TensorRT are not loaded
    assert session.get_providers() == [CPU]
    assert report.refused == {} and not report.fell_back
    assert report.summary() == "m: CPU (no NVIDIA GPU driver)"
    records = [r for r in caplog.records if r.name == "pipelines.inference.session"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, "m: CPU (no NVIDIA GPU driver)")
    ]
    assert "lib" not in out + err and "onnxruntime" not in out + err
    # The next models say it only at debug level: one info line a process.
    caplog.clear()
    SessionFactory().create(str(verified_model_path(SMALL_MODEL)), "m2")
    records = [r for r in caplog.records if r.name == "pipelines.inference.session"]
    assert records == []


def test_gpu_asked_for_by_name_without_driver_is_refused_plainly(
    monkeypatch: pytest.MonkeyPatch, sessions: list[list[str]]
) -> None:
    monkeypatch.setattr(gpu, "nvidia_driver", lambda: None)
    monkeypatch.setattr(ort, "get_available_providers", lambda: [TRT, CUDA, CPU])
    _, report = SessionFactory("cuda").create(str(verified_model_path(SMALL_MODEL)), "m")
    assert sessions == [[CPU]]
    assert report.refused == {CUDA: "no NVIDIA GPU driver"}
    assert report.summary() == "m: CPU (CUDA refused: no NVIDIA GPU driver)"


def test_driver_beside_cpu_only_build_names_the_package(
    monkeypatch: pytest.MonkeyPatch, sessions: list[list[str]]
) -> None:
    monkeypatch.setattr(gpu, "nvidia_driver", lambda: "driver 550.54.14")
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["AzureExecutionProvider", CPU])
    _, report = SessionFactory().create(str(verified_model_path(SMALL_MODEL)), "m")
    assert sessions == [[CPU]]
    assert report.summary() == (
        "m: CPU (this ONNX Runtime build has no CUDA although an NVIDIA driver 550.54.14 is "
        "installed: pip uninstall onnxruntime, then pip install onnxruntime-gpu)"
    )


def test_onnxruntime_missing_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu, "nvidia_driver", lambda: None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    with pytest.raises(ModelError, match=r'ONNX Runtime is not installed; .*"camfx\[cpu\]"'):
        SessionFactory().create(str(verified_model_path(SMALL_MODEL)), "m")


def test_installed_runtime_is_one_of_the_two() -> None:
    assert gpu.installed_runtime() in ("onnxruntime", "onnxruntime-gpu")


# ---- NVIDIA's pip-installed CUDA libraries are loaded before the first GPU session ------------


@pytest.fixture
def preloads(monkeypatch: pytest.MonkeyPatch, sessions: list[list[str]]) -> list[str]:
    """Calls of ``onnxruntime.preload_dlls`` and session builds, in order."""
    events: list[str] = []
    real = ort.InferenceSession

    def session(*args: Any, **kwargs: Any) -> Any:
        events.append("session " + ",".join(kwargs["providers"]))
        return real(*args, **kwargs)

    def preload(*args: Any, **kwargs: Any) -> None:
        events.append("preload")
        print("WARNING: libcudnn.so.9 not found")  # as preload_dlls says a missing library

    monkeypatch.setattr(ort, "InferenceSession", session)
    monkeypatch.setattr(ort, "preload_dlls", preload, raising=False)
    monkeypatch.setattr(session_mod, "_gpu_libraries_preloaded", False)  # as in a new process
    return events


# This machine's ONNX Runtime has no CUDA provider: the session it really makes warns that the
# scripted CUDA is not there, which is the scripting, not a fault under test.
@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider':UserWarning")
def test_cuda_libraries_are_preloaded_once_before_the_first_cuda_session(
    monkeypatch: pytest.MonkeyPatch, preloads: list[str], capfd: pytest.CaptureFixture
) -> None:
    """With a driver and a CUDA build, NVIDIA's pip packages (``onnxruntime-gpu[cuda,cudnn]``,
    what the refusal's hint says to install) are opened first: the provider library has no
    run path to them. Its printed warnings stay out of the terminal."""
    monkeypatch.setattr(gpu, "nvidia_driver", lambda: "driver 580.159.03")
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    capfd.readouterr()
    SessionFactory("cuda").create(str(verified_model_path(SMALL_MODEL)), "m")
    SessionFactory("cuda").create(str(verified_model_path(SMALL_MODEL)), "m2")
    out, _ = capfd.readouterr()
    assert preloads[:2] == ["preload", f"session {CUDA},{CPU}"]
    assert preloads.count("preload") == 1
    assert "libcudnn" not in out


def test_no_preload_without_a_driver(monkeypatch: pytest.MonkeyPatch, preloads: list[str]) -> None:
    monkeypatch.setattr(gpu, "nvidia_driver", lambda: None)
    monkeypatch.setattr(ort, "get_available_providers", lambda: [TRT, CUDA, CPU])
    SessionFactory().create(str(verified_model_path(SMALL_MODEL)), "m")
    SessionFactory("cuda").create(str(verified_model_path(SMALL_MODEL)), "m2")
    assert "preload" not in preloads
