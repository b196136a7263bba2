"""Portrait segmentation and background effects.

Stages (registered when their module is imported; presets import them on demand):

- ``segmentation`` (:mod:`pipelines.segmentation.stage`): the person mask into ``ctx.mask``.
- ``background_blur`` (:mod:`pipelines.segmentation.background`): lens blur of the
  background; with ``desaturate`` it is the "privacy" look.
- ``background_replace`` (:mod:`pipelines.segmentation.background`): solid colour, image
  (fit/fill) or looping video behind the person.

Both background stages composite in one compiled pass (:mod:`pipelines.segmentation.fused`,
Numba) once it is ready, and with OpenCV until then or without Numba: the same picture.

This module stays import-light: ``camfx --help`` must not load OpenCV's or ONNX Runtime's
weight, so everything is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def person_mask(image_bgr: np.ndarray, *, model: str = "auto", refine: bool = True) -> np.ndarray:
    """Refined person mask of one image: float32 H×W in [0, 1] at the image's size.

    ``model``: "auto", "general" or "landscape" (see :class:`SegmentationSettings`). No
    temporal smoothing and no face help: a single picture has neither a past nor a tracker.
    """
    from pipelines.frame import FrameContext
    from pipelines.segmentation.stage import Segmentation, SegmentationSettings

    settings = SegmentationSettings.from_dict(
        {"model": model, "refine": refine, "smoothing": 0.0, "keep_face": False}
    )
    stage = Segmentation(settings)
    stage.open()
    try:
        ctx = FrameContext(timestamp=0.0, index=0)
        stage.process(image_bgr, ctx)
    finally:
        stage.close()
    assert ctx.mask is not None
    return ctx.mask


__all__ = ["person_mask"]
