"""Where the background blur's pixel work runs: its backends (issue 15).

``cpu`` (the default): the stage's own composite, compiled with Numba (else OpenCV), with the
light's curves folded into the same pass (:mod:`pipelines.segmentation.fused`).

``onnx``: the composite as an ONNX graph (``onnx_models/background_blur_composite.onnx``,
made by :mod:`onnx_models.blur_composite`) over the room blurred on the host at its reduced
size (its inputs are there already, and the compiled blur takes 0.19 ms at 1080p), run by
:class:`DeviceBlur` through the session factory with IO binding: on a GPU the frame and the
mask go to the device once and the composited frame, through the light's curves, comes back
once (the light's thumbnail is worked out on the host from the small room); the full-size
work (two bilinear upsamplings, the blend and the curves, 1920×1080×3 at 1080p) is the
device's. ``onnx-room`` (asked for by name only) makes the room with a graph too
(``background_blur_room.onnx``: 513 small nodes, most of them the hole filling's sizes).
``onnx`` is chosen automatically when the segmentation network's session runs on CUDA or
TensorRT, where the pixel work, not the networks, held Studio at 1080p to 94 fps (23-28 ms of
CPU a frame; the blur 7.8 ms of it, the networks ~1.2 ms each; H200, 2026-12-04).

On the CPU provider the composite graph is much slower than the compiled path (float NCHW
copies of the whole frame, a gather per value): Studio 720p's blur 47 against 2.8 ms a frame,
paced, 300 frames, 2026-12-04, load 1.5-1.6. It runs there only when asked for
(``CAMFX_BLUR_BACKEND=onnx``, the tests).

Chosen automatically, a device backend that fails to open or to run hands over to the CPU
composite for good (logged once; :attr:`BackgroundBlur.backend_name` says ``cpu (onnx:CUDA
failed: …)``); asked for by name, its failure is the stage's error.

Light wrap keeps the CPU path (the graphs have no wrap term), as do frames too small for the
room graph's border handling.

The backend is chosen once per stage opening by :func:`choose_backend`: ``$CAMFX_BLUR_BACKEND``
(``auto``, the default, or a registered name), and for ``auto`` the first registered backend
that suits the segmentation's provider. The stage reports its choice in ``backend_name``
(``camfx bench`` lists it under ``backends``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

import cv2
import numpy as np

from pipelines.errors import SettingsError
from pipelines.inference import OnnxModel, SessionFactory, load_model, register_model
from pipelines.inference.gpu import GPU_ONLY_PROVIDERS
from pipelines.inference.session import all_reports, short_name
from pipelines.registry import Registry
from pipelines.segmentation.composite import MAX_WORK_RADIUS, disk_kernel, work_factor
from pipelines.segmentation.models import MODEL_NAMES
from pipelines.segmentation.refine import FramePyramid

log = logging.getLogger(__name__)

BACKEND_ENV = "CAMFX_BLUR_BACKEND"
KERNEL_HALF = int(np.ceil(MAX_WORK_RADIUS))
KERNEL_SIZE = 2 * KERNEL_HALF + 1
"""The graph's kernel input: the work size keeps the blur's radius ≤ MAX_WORK_RADIUS px."""
MIN_ROOM_SIDE = KERNEL_HALF + 1
"""The graph mirrors KERNEL_HALF pixels at each border: the reduced frame needs more."""


def blur_kernel(radius: float, lens: bool) -> np.ndarray:
    """The room's blur (:func:`pipelines.segmentation.composite._blur`) as one
    KERNEL_SIZE² float32 kernel: the lens disk or the Gaussian of ``radius`` work pixels,
    centred and zero-padded; below half a pixel, the identity (no blur)."""
    out = np.zeros((KERNEL_SIZE, KERNEL_SIZE), np.float32)
    if radius < 0.5:
        out[KERNEL_HALF, KERNEL_HALF] = 1.0
        return out
    if radius > MAX_WORK_RADIUS:
        raise ValueError(f"blur radius {radius:.2f} px is above the graph's {MAX_WORK_RADIUS}")
    if lens:
        kernel = disk_kernel(radius)
    else:
        k = 2 * int(np.ceil(radius)) + 1
        g = cv2.getGaussianKernel(k, radius / 1.414, cv2.CV_32F)[:, 0]
        kernel = np.outer(g, g)
    half = kernel.shape[0] // 2
    out[
        KERNEL_HALF - half : KERNEL_HALF + half + 1, KERNEL_HALF - half : KERNEL_HALF + half + 1
    ] = kernel
    return out


@dataclasses.dataclass(frozen=True)
class BlurJob:
    """One frame's inputs to the composite graph (see :mod:`onnx_models.blur_composite`)."""

    frame: np.ndarray
    """uint8 H×W×3, BGR."""
    mask: np.ndarray
    """float32 at any size (bilinearly resized to the frame's): the person's weight."""
    room_frame: np.ndarray
    """uint8 h×w×3: the frame at the blur's reduced size."""
    room_mask: np.ndarray
    """float32 h×w: the mask at that size."""
    kernel: np.ndarray
    """float32 KERNEL_SIZE²: :func:`blur_kernel`."""
    desaturate: float


def blur_job(
    image: np.ndarray,
    mask: np.ndarray,
    frames: FramePyramid,
    masks: FramePyramid,
    radius_px: float,
    *,
    lens: bool,
    desaturate: float,
) -> BlurJob | None:
    """The graph's inputs for a blur of ``radius_px`` frame pixels, from the frame's and the
    mask's pyramids (the levels the CPU path reads), or None where the reduced frame is too
    small for the graph (the CPU path then runs)."""
    factor = work_factor(radius_px)
    room_frame = frames.level(factor)
    sh, sw = room_frame.shape[:2]
    if min(sh, sw) < MIN_ROOM_SIDE:
        return None
    room_mask = masks.level(factor)
    if room_mask.shape != (sh, sw):
        room_mask = cv2.resize(room_mask, (sw, sh), interpolation=cv2.INTER_AREA)
    return BlurJob(image, mask, room_frame, room_mask, blur_kernel(radius_px / factor, lens),
                   desaturate)  # fmt: skip


IDENTITY_TABLE = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
"""The composite graph's ``table`` when no light follows: every value kept."""


@register_model
class BlurRoomModel(OnnxModel):
    """The room graph: :meth:`__call__` takes a :class:`BlurJob` and returns the blurred room
    without the person at the reduced size (uint8 h×w×3), as
    :func:`~pipelines.segmentation.composite.blurred_background_small` does."""

    model_name: ClassVar[str] = "background_blur_room"

    def preprocess(self, *args: Any, **kwargs: Any) -> tuple[dict[str, np.ndarray], Any]:
        (job,) = args
        if not isinstance(job, BlurJob):
            raise TypeError(f"{self.model_name} takes a BlurJob, not {type(job).__name__}")
        _check_image("room_frame", job.room_frame)
        _check_floats("room_mask", job.room_mask, job.room_frame.shape[:2])
        _check_floats("kernel", job.kernel, (KERNEL_SIZE, KERNEL_SIZE))
        if min(job.room_frame.shape[:2]) < MIN_ROOM_SIDE:
            raise ValueError(
                f"room_frame {job.room_frame.shape[:2]} is smaller than the graph's "
                f"{MIN_ROOM_SIDE}×{MIN_ROOM_SIDE}"
            )
        feeds = {
            "room_frame": job.room_frame,
            "room_mask": job.room_mask,
            "kernel": job.kernel,
            "desaturate": np.array(job.desaturate, np.float32),
        }
        return feeds, None

    def postprocess(self, outputs: dict[str, np.ndarray], meta: Any) -> np.ndarray:
        out: np.ndarray = outputs["room"]
        return out


@register_model
class BlurCompositeModel(OnnxModel):
    """The composite graph: ``model(frame, mask, room, table=None)`` → the person over the
    room upsampled, through the light's ``table`` (uint8 256×3 or 1×256×3, as ``cv2.LUT``'s;
    None: unchanged): uint8 H×W×3, a new array."""

    model_name: ClassVar[str] = "background_blur_composite"

    def preprocess(self, *args: Any, **kwargs: Any) -> tuple[dict[str, np.ndarray], Any]:
        frame, mask, room = args[:3]
        table = args[3] if len(args) > 3 else kwargs.get("table")
        _check_image("frame", frame)
        _check_floats("mask", mask, None)
        _check_image("room", room)
        if table is None:
            table = IDENTITY_TABLE
        if table.dtype != np.uint8 or table.size != 768 or table.shape[-2:] != (256, 3):
            raise ValueError(f"table must be uint8 256×3, not {table.dtype} {table.shape}")
        feeds = {"frame": frame, "mask": mask, "room": room, "table": table.reshape(256, 3)}
        return feeds, None

    def postprocess(self, outputs: dict[str, np.ndarray], meta: Any) -> np.ndarray:
        out: np.ndarray = outputs["composite"]
        return out


def _check_image(name: str, value: np.ndarray) -> None:
    if value.dtype != np.uint8 or value.ndim != 3 or value.shape[2] != 3:
        raise ValueError(
            f"{name} must be a uint8 H×W×3 (BGR) image, not {value.dtype} {value.shape}"
        )


def _check_floats(name: str, value: np.ndarray, shape: tuple[int, ...] | None) -> None:
    if value.dtype != np.float32 or value.ndim != 2:
        raise ValueError(
            f"{name} must be float32 with two dimensions, not {value.dtype} {value.shape}"
        )
    if shape is not None and value.shape != tuple(shape):
        raise ValueError(f"{name} must be {tuple(shape)}, not {value.shape}")


def _sample_points(image: np.ndarray, size: tuple[int, int], step: int) -> np.ndarray:
    """``image`` (float32) resized bilinearly to ``size`` = (w, h) as ``cv2.resize`` would
    (half-pixel centres, clamped at the borders), at every ``step``-th pixel of every
    ``step``-th row only: one remap over those points (its coordinates on a 1/32-pixel grid)."""
    w, h = size
    ih, iw = image.shape[:2]
    xs = (np.arange(0, w, step, dtype=np.float32) + 0.5) * np.float32(iw / w) - 0.5
    ys = (np.arange(0, h, step, dtype=np.float32) + 0.5) * np.float32(ih / h) - 0.5
    map_x = np.broadcast_to(xs[None, :], (len(ys), len(xs)))
    map_y = np.broadcast_to(ys[:, None], (len(ys), len(xs)))
    out: np.ndarray = cv2.remap(image, np.ascontiguousarray(map_x), np.ascontiguousarray(map_y),
                                cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out


def thumbnail(frame: np.ndarray, mask: np.ndarray, room: np.ndarray, step: int) -> np.ndarray:
    """The composite's every ``step``-th pixel of every ``step``-th row (as
    ``composite[::step, ::step]`` before the light's curves, within a few grey levels of it on
    the outline: the remap's coordinate grid), worked out on the host at those pixels only,
    for the light to meter: 0.32 ms at 1080p (step 12, the light's), where sampling each point
    by fancy indexing took 1.45 ms (2026-12-04, load 1.1-1.5)."""
    h, w = frame.shape[:2]
    m = _sample_points(mask, (w, h), step)[..., None]
    bg = _sample_points(room.astype(np.float32), (w, h), step)
    fg = frame[::step, ::step].astype(np.float32)
    return np.clip(np.rint(bg + m * (fg - bg)), 0, 255).astype(np.uint8)


class DeviceBlur:
    """The ``onnx`` backends: the composite graph (with IO binding when its session is on a
    GPU: the frame and the mask go to the device once, the composite through the light's
    curves comes back once) over a room made on the host (``onnx``: the compiled blur at the
    reduced size, 0.19 ms at 1080p) or by the room graph (``onnx-room``: its 513 small nodes,
    mostly the hole filling's sizes, cost 0.9 ms on the CPU provider, and a kernel launch each
    on a GPU)."""

    def __init__(self, factory: SessionFactory, *, room_on_device: bool) -> None:
        self.room_on_device = room_on_device
        self.room_model = load_model(BlurRoomModel, factory) if room_on_device else None
        self.composite_model = load_model(BlurCompositeModel, factory)

    def models(self) -> tuple[OnnxModel, ...]:
        """The graphs it runs (the room graph only for ``onnx-room``)."""
        room = self.room_model
        return (self.composite_model,) if room is None else (room, self.composite_model)

    @property
    def provider(self) -> str:
        return str(self.composite_model.report.provider)

    def render(
        self,
        job: BlurJob,
        table_for: Callable[[np.ndarray, int], np.ndarray | None] | None = None,
        step: int = 1,
        *,
        room: np.ndarray | None = None,
    ) -> np.ndarray:
        """The composited frame over ``room`` (the blurred room at the reduced size, uint8;
        required unless the room graph makes it); ``table_for(thumbnail, step)``: the curves
        of the stage that runs next (the light), decided from the composite's thumbnail, put
        through in the same pass."""
        if room is None:
            if self.room_model is None:
                raise ValueError("this backend composites over a room made on the host: pass room")
            room = self.room_model(job)
        table = None
        if table_for is not None:
            table = table_for(thumbnail(job.frame, job.mask, room, step), step)
        out: np.ndarray = self.composite_model(job.frame, job.mask, room, table)
        return out


# Backends ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BlurBackend:
    """A place for the blur's pixel work."""

    name: str
    suits: Callable[[str], bool]
    """Whether ``auto`` picks it for a segmentation session on this provider."""
    open: Callable[[str], DeviceBlur | None]
    """Given the segmentation's provider: the composite to run per frame, or None for the
    stage's own (CPU) composite."""
    description: str = ""


BLUR_BACKENDS: Registry[BlurBackend] = Registry("background blur backend")
"""Searched in registration order by ``auto``: the first that suits the provider."""


@cache
def composite_factory(provider: str) -> SessionFactory:
    """The session factory for the composite graph next to a segmentation on ``provider``.

    CUDA where the segmentation has CUDA or TensorRT: TensorRT builds an engine for each new
    input shape, and the frame's size is the graph's to follow. Elsewhere the process-wide
    providers, with one intra-op thread as the segmentation's sessions."""
    from pipelines.segmentation.stage import segmentation_factory

    if provider in GPU_ONLY_PROVIDERS:
        return SessionFactory("cuda", intra_op_threads=1)
    return segmentation_factory()


def _opener(room_on_device: bool) -> Callable[[str], DeviceBlur]:
    def open_device(provider: str) -> DeviceBlur:
        device = DeviceBlur(composite_factory(provider), room_on_device=room_on_device)
        log.info("background blur composite on %s (ONNX graph)", short_name(device.provider))
        return device

    return open_device


BLUR_BACKENDS.add(
    "onnx",
    BlurBackend(
        "onnx",
        suits=lambda provider: provider in GPU_ONLY_PROVIDERS,
        open=_opener(room_on_device=False),
        description="the composite and the light's curves as an ONNX graph on the "
        "segmentation's GPU; the room blurred on the host at its reduced size",
    ),
)
BLUR_BACKENDS.add(
    "onnx-room",
    BlurBackend(
        "onnx-room",
        suits=lambda provider: False,  # asked for by name only: see DeviceBlur
        open=_opener(room_on_device=True),
        description="as onnx, with the room's blur as an ONNX graph too",
    ),
)
BLUR_BACKENDS.add(
    "cpu",
    BlurBackend(
        "cpu",
        suits=lambda provider: True,
        open=lambda provider: None,
        description="the stage's compiled (Numba) or OpenCV composite, light folded in",
    ),
)


def segmentation_provider() -> str | None:
    """The provider of this process's segmentation session, None before one was made."""
    reports = all_reports()
    for name in MODEL_NAMES.values():
        if name in reports:
            return reports[name].provider
    return None


def requested_backend() -> str:
    """``$CAMFX_BLUR_BACKEND``, ``auto`` when unset."""
    return os.environ.get(BACKEND_ENV, "auto").strip() or "auto"


def choose_backend(provider: str, requested: str | None = None) -> str:
    """The backend's name: ``requested`` (default :func:`requested_backend`), and for
    ``auto`` the first registered one that suits ``provider``."""
    if requested is None:
        requested = requested_backend()
    if requested != "auto":
        if requested not in BLUR_BACKENDS:
            known = ", ".join(["auto", *BLUR_BACKENDS.names()])
            raise SettingsError(f"unknown background blur backend {requested!r}; use {known}")
        return requested
    return next(name for name, backend in BLUR_BACKENDS.items() if backend.suits(provider))


__all__ = [
    "BACKEND_ENV",
    "BLUR_BACKENDS",
    "BlurBackend",
    "BlurCompositeModel",
    "BlurJob",
    "BlurRoomModel",
    "DeviceBlur",
    "blur_job",
    "blur_kernel",
    "choose_backend",
    "requested_backend",
    "segmentation_provider",
    "thumbnail",
]
