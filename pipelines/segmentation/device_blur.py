"""Where the background blur's pixel work runs: its backends (issue 15).

``cpu`` (the default): the stage's own composite, compiled with Numba (else OpenCV), with the
light's curves folded into the same pass (:mod:`pipelines.segmentation.fused`).

``onnx``: the room's blur and the composite as one ONNX graph
(``onnx_models/background_blur_composite.onnx``, made by :mod:`onnx_models.blur_composite`),
run by :class:`BlurCompositeModel` through the session factory with IO binding: on a GPU the
frame and the mask go to the device once and the composited frame comes back once, and the
full-size work (two bilinear upsamplings and the blend, 1920×1080×3 at 1080p) is the device's.
Chosen automatically when the segmentation network's session runs on CUDA or TensorRT, where
the pixel work, not the networks, held Studio at 1080p to 94 fps (23-28 ms of CPU a frame;
the blur 7.8 ms of it, the networks ~1.2 ms each; H200, 2026-12-04). On the CPU provider the
graph is much slower than the compiled path (float NCHW copies of the whole frame): it runs
there only when asked for (``CAMFX_BLUR_BACKEND=onnx``, the tests).

The light's curves are not folded into the device composite: with the ``onnx`` backend the
``light_color`` stage makes its own pass. Light wrap keeps the CPU path (the graph has no
wrap term), as do frames too small for the graph's border handling.

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


@register_model
class BlurCompositeModel(OnnxModel):
    """The composite graph: :meth:`__call__` takes a :class:`BlurJob`, returns the
    composited frame (uint8 H×W×3, a new array)."""

    model_name: ClassVar[str] = "background_blur_composite"

    def preprocess(self, *args: Any, **kwargs: Any) -> tuple[dict[str, np.ndarray], Any]:
        (job,) = args
        if not isinstance(job, BlurJob):
            raise TypeError(f"{self.model_name} takes a BlurJob, not {type(job).__name__}")
        _check_image("frame", job.frame)
        _check_image("room_frame", job.room_frame)
        for name, value, shape in (
            ("mask", job.mask, None),
            ("room_mask", job.room_mask, job.room_frame.shape[:2]),
            ("kernel", job.kernel, (KERNEL_SIZE, KERNEL_SIZE)),
        ):
            if value.dtype != np.float32 or value.ndim != 2:
                raise ValueError(
                    f"{name} must be float32 with two dimensions, not {value.dtype} {value.shape}"
                )
            if shape is not None and value.shape != tuple(shape):
                raise ValueError(f"{name} must be {tuple(shape)}, not {value.shape}")
        if min(job.room_frame.shape[:2]) < MIN_ROOM_SIDE:
            raise ValueError(
                f"room_frame {job.room_frame.shape[:2]} is smaller than the graph's "
                f"{MIN_ROOM_SIDE}×{MIN_ROOM_SIDE}"
            )
        feeds = {
            "frame": job.frame,
            "mask": job.mask,
            "room_frame": job.room_frame,
            "room_mask": job.room_mask,
            "kernel": job.kernel,
            "desaturate": np.array(job.desaturate, np.float32),
        }
        return feeds, None

    def postprocess(self, outputs: dict[str, np.ndarray], meta: Any) -> np.ndarray:
        out: np.ndarray = outputs["composite"]
        return out


def _check_image(name: str, value: np.ndarray) -> None:
    if value.dtype != np.uint8 or value.ndim != 3 or value.shape[2] != 3:
        raise ValueError(
            f"{name} must be a uint8 H×W×3 (BGR) image, not {value.dtype} {value.shape}"
        )


# Backends ------------------------------------------------------------------------------------
Composite = Callable[[BlurJob], np.ndarray]


@dataclasses.dataclass(frozen=True)
class BlurBackend:
    """A place for the blur's pixel work."""

    name: str
    suits: Callable[[str], bool]
    """Whether ``auto`` picks it for a segmentation session on this provider."""
    open: Callable[[str], Composite | None]
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


def _open_onnx(provider: str) -> Composite:
    model = load_model(BlurCompositeModel, composite_factory(provider))
    log.info("background blur on %s (ONNX graph)", short_name(model.report.provider))
    return model


BLUR_BACKENDS.add(
    "onnx",
    BlurBackend(
        "onnx",
        suits=lambda provider: provider in GPU_ONLY_PROVIDERS,
        open=_open_onnx,
        description="the blur and composite as an ONNX graph, on the segmentation's GPU",
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


def choose_backend(provider: str, requested: str | None = None) -> str:
    """The backend's name: ``requested`` (default ``$CAMFX_BLUR_BACKEND``, else ``auto``), and
    for ``auto`` the first registered one that suits ``provider``."""
    if requested is None:
        requested = os.environ.get(BACKEND_ENV, "auto").strip() or "auto"
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
    "blur_job",
    "blur_kernel",
    "choose_backend",
    "segmentation_provider",
]
