"""Is there an NVIDIA GPU driver, and which ONNX Runtime build suits this machine?

The CUDA build of ONNX Runtime (``onnxruntime-gpu``, ~340 MB with its provider libraries)
serves only where an NVIDIA driver is installed; elsewhere it lists CUDA and TensorRT, fails
to load them and falls back to the CPU. The session factory uses :func:`nvidia_driver` to skip
the GPU providers on machines without a driver (one info line instead of library errors), and
``installer/bootstrap.sh`` runs this file as a script to pick the build to install::

    python3 pipelines/inference/gpu.py      # prints "gpu <driver>" or "cpu <why>"

Standard library only, so the script runs before anything is installed.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

NO_DRIVER = "no NVIDIA GPU driver"
CPU_PACKAGE = "onnxruntime"
GPU_PACKAGE = "onnxruntime-gpu"
# Places the NVIDIA driver leaves behind. Linux: the kernel module's version file (also seen in
# containers run with the NVIDIA runtime); WSL 2: the driver's user-mode library shared by
# Windows. Windows: the CUDA driver library that every NVIDIA display driver installs.
LINUX_DRIVER_FILE = "/proc/driver/nvidia/version"
WSL_CUDA_LIBRARY = "/usr/lib/wsl/lib/libcuda.so.1"
WINDOWS_CUDA_LIBRARY = "System32/nvcuda.dll"


def _nvidia_smi_version(which: Callable[[str], str | None]) -> str | None:
    exe = which("nvidia-smi")
    if not exe:
        return None
    try:
        done = subprocess.run(
            [exe, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    version = done.stdout.strip().splitlines()[0].strip() if done.stdout.strip() else ""
    return f"driver {version}" if done.returncode == 0 and version else None


def find_nvidia_driver(
    platform: str = sys.platform,
    root: Path = Path("/"),
    system_root: str | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> str | None:
    """A short description of the installed NVIDIA driver (e.g. ``"driver 550.54.14"``), or
    None when there is none. ``root``/``system_root``/``which`` are for tests."""
    if platform.startswith("linux"):
        version_file = root / LINUX_DRIVER_FILE.lstrip("/")
        try:
            first = version_file.read_text(errors="replace").splitlines()[0]
        except (OSError, IndexError):
            first = None
        if first is not None:
            # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 ..."
            words = [w for w in first.split() if w[:1].isdigit() and "." in w]
            return f"driver {words[0]}" if words else "driver (version unknown)"
        if (root / WSL_CUDA_LIBRARY.lstrip("/")).exists():
            return "driver (WSL)"
        return _nvidia_smi_version(which)
    if platform == "win32":
        windows = system_root or os.environ.get("SYSTEMROOT", r"C:\Windows")
        if (Path(windows) / WINDOWS_CUDA_LIBRARY).exists():
            return _nvidia_smi_version(which) or "driver (nvcuda.dll)"
        return _nvidia_smi_version(which)
    return None  # macOS: no NVIDIA driver since 10.13, and no CUDA build of ONNX Runtime


@functools.lru_cache(maxsize=1)
def nvidia_driver() -> str | None:
    """:func:`find_nvidia_driver` for this machine, looked up once per process."""
    return find_nvidia_driver()


def runtime_package(driver: str | None) -> str:
    """The ONNX Runtime distribution to install: the CUDA build only with a driver."""
    return GPU_PACKAGE if driver else CPU_PACKAGE


def installed_runtime() -> str | None:
    """Which ONNX Runtime distribution is installed (``onnxruntime`` or ``onnxruntime-gpu``)."""
    from importlib import metadata

    for name in (GPU_PACKAGE, CPU_PACKAGE):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        return name
    return None


def cuda_libraries_hint(version: str | None = None) -> str:
    """What to install when the driver is there but the CUDA/cuDNN libraries are not."""
    pin = f"=={version}" if version else ""
    return (
        f'install the CUDA libraries: pip install "{GPU_PACKAGE}[cuda,cudnn]{pin}" '
        "in camfx's environment (or CUDA and cuDNN from NVIDIA, the versions named above)"
    )


GPU_ONLY_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def skip_reason(provider: str) -> str | None:
    """Why not even to try ``provider`` here: the CUDA and TensorRT providers need the driver
    (trying them without one only loads ~300 MB of libraries to print errors)."""
    return NO_DRIVER if provider in GPU_ONLY_PROVIDERS and not nvidia_driver() else None


def with_fix(provider: str, reason: str, ort_version: str | None) -> str:
    """A refusal reason plus what to install, where that is clear: the driver is present but
    a CUDA library is missing."""
    library = ".so" in reason or ".dll" in reason
    if provider == "CUDAExecutionProvider" and nvidia_driver() and library:
        return f"{reason}; {cuda_libraries_hint(ort_version)}"
    return reason


def cpu_note(available: list[str]) -> str:
    """Why the models run on the CPU when no provider was refused ("" when nothing to say)."""
    if not nvidia_driver():
        return NO_DRIVER if sys.platform != "darwin" else ""
    if "CUDAExecutionProvider" not in available:
        return (
            f"this ONNX Runtime build has no CUDA although an NVIDIA {nvidia_driver()} is "
            f"installed: pip uninstall {CPU_PACKAGE}, then pip install {GPU_PACKAGE}"
        )
    return ""


def missing_runtime_message() -> str:
    extra = "gpu" if nvidia_driver() else "cpu"
    return (
        "ONNX Runtime is not installed; run installer/bootstrap.sh again, "
        f'or pip install "camfx[{extra}]"'
    )


def main() -> int:
    driver = find_nvidia_driver()
    print(f"gpu {driver}" if driver else f"cpu {NO_DRIVER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
