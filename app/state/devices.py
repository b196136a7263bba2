"""Device reports as typed values, and what the window's Devices rows say about them.

The probes (:mod:`pipelines.devices`) answer with JSON-shaped dicts, which ``camfx devices
--json`` prints as they are. The window reads them once, here, into dataclasses; the texts of
its rows are made here too, so they are tested without Qt.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pipelines.sources.camera import CameraInfo


class RowState(StrEnum):
    """How a Devices row is drawn (the names are the widget's states)."""

    OK = "ok"
    OFF = "off"
    BUSY = "busy"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class RowView:
    """One Devices row: its state, what it says, how to fix it, a command to copy."""

    state: RowState
    text: str
    fix: str = ""
    command: str = ""
    can_retry: bool = False


@dataclass(frozen=True)
class AudioInput:
    index: int
    name: str
    default: bool = False


@dataclass(frozen=True)
class AudioReport:
    works: bool
    inputs: tuple[AudioInput, ...] = ()
    error: str = ""
    hint: str = ""

    @classmethod
    def from_probe(cls, data: dict[str, Any]) -> AudioReport:
        inputs = tuple(
            AudioInput(int(d.get("index", i)), str(d.get("name", "")), bool(d.get("default")))
            for i, d in enumerate(data.get("inputs") or [])
        )
        return cls(
            bool(data.get("works")),
            inputs,
            str(data.get("error") or ""),
            str(data.get("hint") or ""),
        )


@dataclass(frozen=True)
class ProviderStatus:
    """Whether one ONNX Runtime provider really ran a model here, and why not."""

    name: str
    works: bool
    got: str = ""
    reason: str = ""


@dataclass(frozen=True)
class InferenceReport:
    providers: tuple[ProviderStatus, ...] = ()
    listed: tuple[str, ...] = ()
    error: str = ""

    @classmethod
    def from_probe(cls, data: dict[str, Any]) -> InferenceReport:
        sessions = data.get("sessions") or {}
        return cls(
            tuple(
                ProviderStatus(
                    str(name),
                    bool(s.get("works")),
                    str(s.get("got") or ""),
                    str(s.get("reason") or ""),
                )
                for name, s in sessions.items()
            ),
            tuple(str(p) for p in data.get("listed") or []),
            str(data.get("error") or ""),
        )


@dataclass(frozen=True)
class CompiledReport:
    works: bool
    error: str = ""
    hint: str = ""

    @classmethod
    def from_probe(cls, data: dict[str, Any]) -> CompiledReport:
        return cls(
            bool(data.get("works")), str(data.get("error") or ""), str(data.get("hint") or "")
        )


@dataclass(frozen=True)
class VirtualCameraReport:
    backends: tuple[str, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class DeviceReport:
    """Everything the window's device probe found."""

    cameras: tuple[CameraInfo, ...] = ()
    audio: AudioReport = field(default_factory=lambda: AudioReport(False))
    inference: InferenceReport = field(default_factory=InferenceReport)
    compiled: CompiledReport | None = None
    virtual_camera: VirtualCameraReport = field(default_factory=VirtualCameraReport)

    @classmethod
    def from_probes(cls, info: dict[str, Any]) -> DeviceReport:
        vc = info.get("virtual_camera") or {}
        compiled = info.get("compiled")
        return cls(
            cameras=tuple(info.get("cameras") or ()),
            audio=AudioReport.from_probe(info.get("audio") or {}),
            inference=InferenceReport.from_probe(info.get("inference") or {}),
            compiled=CompiledReport.from_probe(compiled) if compiled is not None else None,
            virtual_camera=VirtualCameraReport(
                tuple(str(b) for b in vc.get("backends") or ()), str(vc.get("hint") or "")
            ),
        )


def microphone_row(audio: AudioReport, silent: str | None = None) -> RowView:
    """The Microphone row from the device list, or, while the talking head's running
    microphone ``silent`` gives no sound, that (the list may still name it: a sound server
    that stopped, a device the list has not caught up with)."""
    if silent:
        return RowView(
            RowState.WARNING,
            f"{silent[:1].upper()}{silent[1:]} gives no sound (unplugged, or its sound server "
            "stopped): the talking head hears silence until it is back.",
            "Plug it back in, or start its sound server again.",
            can_retry=True,
        )
    if audio.works and audio.inputs:
        default = next((d.name for d in audio.inputs if d.default), audio.inputs[0].name)
        return RowView(RowState.OK, f"{len(audio.inputs)} input(s); default: {default}.")
    return RowView(
        RowState.WARNING,
        f"{audio.error or 'no microphone'}. Only the talking head needs one.",
        audio.hint,
        can_retry=True,
    )


GPU_FIX = (
    "for GPU speed, install the NVIDIA driver and the CUDA and cuDNN libraries named above "
    "(see `camfx devices`); the CPU works meanwhile."
)


def inference_row(inference: InferenceReport, compiled: CompiledReport | None) -> RowView:
    if inference.error and not inference.providers:
        return RowView(RowState.WARNING, inference.error)
    working = [p.name for p in inference.providers if p.works]
    refused = {p.name: p.reason for p in inference.providers if not p.works}
    text = f"Models run on {', '.join(working) or 'CPU'}."
    fix = ""
    if refused:
        text += " Not usable here: " + "; ".join(
            f"{n} ({r or 'fell back'})" for n, r in refused.items()
        )
        if "CUDA" in refused:
            fix = GPU_FIX
    if compiled is not None and not compiled.works:
        # Not an error (the OpenCV path gives the same picture), but not silent.
        text += (
            " Background effects run on the slower path: "
            f"{compiled.error or 'compiled kernels unavailable'}."
        )
        fix = " ".join(f for f in (fix, compiled.hint) if f)
    return RowView(RowState.OK, text, fix)


def modprobe_command() -> str:
    from pipelines.outputs.virtualcam import V4L2_MODPROBE

    return V4L2_MODPROBE if sys.platform.startswith("linux") else ""


VCAM_OFF_TEXT = "Off. Turn on “Virtual camera” under Output to send the result to meeting apps."


def virtual_camera_row(state: str, detail: str, hint: str) -> RowView:
    """The virtual camera's row for its state ("off", "starting", "on", "unavailable")."""
    if state == "on":
        return RowView(
            RowState.OK, f"Sending to {detail}. Pick “camfx” as the camera in your meeting app."
        )
    if state == "starting":
        return RowView(RowState.BUSY, "Starting…")
    if state == "unavailable":
        return RowView(RowState.ERROR, detail, hint, modprobe_command(), can_retry=True)
    return RowView(RowState.OFF, VCAM_OFF_TEXT)


def virtual_camera_label(state: str, detail: str, idle: bool) -> str:
    """The short line beside the Output group's check box."""
    if state == "on":
        if idle:
            return f"On — {detail} (idle: no app uses it; the camera rests until one does)"
        return f"On — {detail}"
    if state == "starting":
        return "Starting…"
    if state == "unavailable":
        return "Not available — see Devices below (retrying every 5 s)"
    return "Off"


def camera_lost_message(source_label: str) -> str:
    """The bar while the camera in use is unplugged (or stopped sending) and is reconnected."""
    return (
        f"{source_label} is disconnected; reconnecting… Plug it back in, or pick another "
        "source under Source. Meanwhile the virtual camera shows “Camera disconnected”."
    )


def camera_row(
    *,
    source_label: str,
    using_camera: bool,
    lost: bool,
    cameras: list[CameraInfo] | tuple[CameraInfo, ...],
    fix: str,
    error: str = "",
) -> RowView:
    """The camera's row: the error of the last try, the camera in use (or reconnecting), the
    cameras found, or none."""
    if error:
        return RowView(RowState.ERROR, error, fix, can_retry=True)
    if using_camera:
        if lost:
            return RowView(
                RowState.WARNING,
                "The camera stopped sending pictures; reconnecting…",
                fix,
                can_retry=True,
            )
        return RowView(RowState.OK, f"{source_label} is in use.")
    if not cameras:
        return RowView(
            RowState.WARNING,
            "No camera found. The demo, a video or an image can be used meanwhile.",
            fix,
            can_retry=True,
        )
    names = ", ".join(c.name for c in cameras)
    return RowView(RowState.OFF, f"Found: {names}. Pick one under Source to use it.")
