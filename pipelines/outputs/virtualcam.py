"""Virtual camera output through pyvirtualcam (v4l2loopback, OBS Virtual Camera, Unity Capture).

When no backend works, the error says what to install on this OS instead of pyvirtualcam's
raw per-backend messages alone (those are kept underneath, for the details).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from pipelines.errors import OutputError
from pipelines.frame import Frame
from pipelines.outputs.base import OUTPUTS, Output

V4L2_MODPROBE = "sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=camfx exclusive_caps=1"

SETUP_HINTS: dict[str, str] = {
    "linux": (
        "run camfx setup virtual-camera (it installs and loads v4l2loopback with one sudo), "
        "or by hand: install v4l2loopback (Debian/Ubuntu: sudo apt install v4l2loopback-dkms; "
        f"Fedora: sudo dnf install v4l2loopback), then load it: {V4L2_MODPROBE}"
    ),
    "win32": (
        "run camfx setup virtual-camera: it checks for the two drivers camfx can drive. Unity "
        "Capture needs no OBS: download it from github.com/schellingb/UnityCapture and run its "
        "Install/Install.bat as administrator (meeting apps then list 'Unity Video Capture'). "
        "Or install OBS Studio 26 or newer (it brings the OBS Virtual Camera driver), start OBS "
        "once and click 'Start Virtual Camera', then stop it; camfx then drives that camera"
    ),
    "darwin": (
        "install OBS Studio 30 or newer, start it once, click 'Start Virtual Camera' and allow "
        "the system extension in System Settings > Privacy & Security"
    ),
}


def setup_hint(platform: str | None = None) -> str:
    platform = platform or sys.platform
    key = "linux" if platform.startswith("linux") else platform
    return SETUP_HINTS.get(key, "no virtual camera backend is known for this OS")


def available_backends() -> list[str]:
    """The pyvirtualcam backends built for this OS (not whether a device exists)."""
    try:
        import pyvirtualcam.camera as pvc
    except Exception:
        return []
    return list(pvc.BACKENDS)


@OUTPUTS.register("virtualcam")
class VirtualCameraOutput(Output):
    watched_live = True

    def __init__(self, arg: str = "", backend: str | None = None, **kw: Any) -> None:
        super().__init__(arg, **kw)
        self.device = arg or None
        self.backend = backend
        self.camera: Any = None

    def open(self, width: int, height: int, fps: float) -> None:
        try:
            import pyvirtualcam
        except ImportError as exc:  # pragma: no cover - a hard dependency
            raise OutputError(
                f"pyvirtualcam is not installed ({exc}); pip install pyvirtualcam"
            ) from exc
        if self.backend is not None and self.backend not in available_backends():
            known = ", ".join(available_backends()) or "none on this OS"
            raise OutputError(
                f"virtual camera backend {self.backend!r} does not exist here; use one of: {known}"
            )
        try:
            self.camera = pyvirtualcam.Camera(
                width=width,
                height=height,
                fps=fps,
                fmt=pyvirtualcam.PixelFormat.BGR,
                device=self.device,
                backend=self.backend,
            )
        except Exception as exc:
            reasons = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            where = f" {self.device!r}" if self.device else ""
            raise OutputError(
                f"virtual camera{where} is not available: {setup_hint()} "
                f"(backends tried: {reasons or exc!r})"
            ) from exc
        self.is_open = True

    @property
    def description(self) -> str:
        if self.camera is not None:
            return f"virtual camera {self.camera.device} ({self.camera.backend})"
        return "virtual camera"

    def write(self, frame: Frame) -> None:
        if self.camera is None:
            raise OutputError("virtual camera written before open()")
        image = frame.image
        if image.shape[1] != self.camera.width or image.shape[0] != self.camera.height:
            import cv2

            image = cv2.resize(image, (self.camera.width, self.camera.height))
        self.camera.send(np.ascontiguousarray(image))
        self.frames_written += 1

    def has_consumers(self) -> bool | None:
        """True while another process (a meeting app) holds the virtual camera open."""
        from pipelines.outputs import watchers

        device = getattr(self.camera, "device", None)
        if self.camera is None or not device or not watchers.supported():
            return None
        if not str(device).startswith("/dev/"):
            return None  # OBS / Unity Capture name a filter, not a file: can't tell
        return bool(watchers.readers_of(device))

    def close(self) -> None:
        if self.camera is not None:
            try:
                self.camera.close()
            finally:
                self.camera = None
        self.is_open = False
