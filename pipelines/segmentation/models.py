"""The two MediaPipe selfie-segmentation networks and how frames are fed to them.

MediaPipe's ``selfie_segmentation_cpu`` graph stretches the whole frame (no letterbox:
``keep_aspect_ratio: false``) to the model's input with ``ImageToTensorCalculator``, whose CPU
path is ``cv::warpPerspective(INTER_LINEAR, BORDER_ZERO)`` on the 8-bit image mapping the frame's
*corners* onto the tensor's corners, then scales to [0, 1]. The network ends in a sigmoid, so its
output is already the person probability; ``TensorsToSegmentationCalculator`` only resizes it to
the frame with ``cv::resize`` (bilinear). :func:`model_input` with ``resample="mediapipe"``
reproduces that exactly; ``"area"`` averages pixels instead of sampling them (less sensor noise
reaches the model, so the mask flickers less; used by the live stage).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

import cv2
import numpy as np

from pipelines.errors import SettingsError
from pipelines.inference import OnnxModel, register_model

Resample = Literal["mediapipe", "area"]
RESAMPLE_MODES: tuple[str, ...] = get_args(Resample)
ModelChoice = Literal["auto", "general", "landscape"]
MODEL_CHOICES: tuple[str, ...] = get_args(ModelChoice)

# Wider than this → the 16:9 landscape model. 1.5 sits between 4:3 (1.33, closer to the square
# general model's shape) and 16:10 / 16:9 (1.6 / 1.78, the landscape model's 256×144).
LANDSCAPE_MIN_ASPECT = 1.5

_INV_255 = np.float32(1.0 / 255.0)


def _corner_aligned_matrix(src_w: int, src_h: int, dst_w: int, dst_h: int) -> np.ndarray:
    """Affine map sending the frame's corners to the tensor's corners (MediaPipe's mapping)."""
    return np.array([[dst_w / src_w, 0.0, 0.0], [0.0, dst_h / src_h, 0.0]], np.float64)


def resize_for_model(
    image: np.ndarray, size: tuple[int, int], resample: str = "mediapipe"
) -> np.ndarray:
    """``image`` (H×W×C uint8) stretched to ``size`` = (width, height), still uint8."""
    w, h = size
    src_h, src_w = image.shape[:2]
    if resample == "mediapipe":
        if src_w % w == 0 and src_h % h == 0:
            # A whole number of frame pixels per model pixel (1280×720, 2560×1440, 3840×2160
            # for the 256×144 model): the warp's samples fall exactly on frame pixels
            # (x·k, y·k), so its bilinear weights are 1 and 0 and it returns those pixels;
            # the nearest-neighbour resize picks the same ones, the same bytes (tested), at a
            # third of the CPU (0.045 against 0.14 ms at 720p, one thread, warm caches; the
            # warp measured 0.44 ms on the demo's fresh frames).
            return cv2.resize(image, (w, h), interpolation=cv2.INTER_NEAREST)
        return cv2.warpAffine(
            image,
            _corner_aligned_matrix(src_w, src_h, w, h),
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
    if resample == "area":
        interp = cv2.INTER_AREA if (src_w >= w and src_h >= h) else cv2.INTER_LINEAR
        return cv2.resize(image, (w, h), interpolation=interp)
    raise SettingsError(f"unknown resample mode {resample!r}; use one of {RESAMPLE_MODES}")


def to_tensor(rgb_u8: np.ndarray) -> np.ndarray:
    """H×W×3 RGB uint8 → 1×H×W×3 float32 in [0, 1] (the models' input)."""
    out = np.multiply(rgb_u8, _INV_255, dtype=np.float32)
    return out[None]


class SelfieSegmentationModel(OnnxModel):
    """Person probability at model resolution, float32 H×W in [0, 1]."""

    model_name: ClassVar[str] = ""
    size: ClassVar[tuple[int, int]] = (256, 256)
    """(width, height) of the input tensor."""

    def preprocess(self, *args: Any, **kwargs: Any) -> tuple[dict[str, np.ndarray], Any]:
        """``(image_bgr, resample="mediapipe")``: any frame size; it is stretched to the
        model's input. A frame already at the model's size goes in untouched."""
        (image,) = args
        resample = kwargs.get("resample", "mediapipe")
        if image.shape[1] != self.size[0] or image.shape[0] != self.size[1]:
            image = resize_for_model(image, self.size, resample)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return {self.input_names[0]: to_tensor(rgb)}, None

    def postprocess(self, outputs: dict[str, np.ndarray], meta: Any) -> np.ndarray:
        out = outputs[self.output_names[0]]
        return np.ascontiguousarray(out.reshape(out.shape[1], out.shape[2]), np.float32)

    def run_rgb(self, rgb_u8: np.ndarray) -> np.ndarray:
        """The network on an RGB uint8 image already at the model's size."""
        return self.postprocess(self.run_raw({self.input_names[0]: to_tensor(rgb_u8)}), None)


@register_model
class SelfieSegmentationGeneral(SelfieSegmentationModel):
    model_name = "selfie_segmentation"
    size = (256, 256)


@register_model
class SelfieSegmentationLandscape(SelfieSegmentationModel):
    model_name = "selfie_segmentation_landscape"
    size = (256, 144)


MODEL_NAMES = {
    "general": SelfieSegmentationGeneral.model_name,
    "landscape": SelfieSegmentationLandscape.model_name,
}


def choose_model(width: int, height: int, choice: str = "auto") -> str:
    """Registered model name for a frame size: landscape for wide frames, general otherwise."""
    if choice == "auto":
        choice = "landscape" if width >= LANDSCAPE_MIN_ASPECT * height else "general"
    try:
        return MODEL_NAMES[choice]
    except KeyError:
        raise SettingsError(
            f"unknown segmentation model {choice!r}; use one of {', '.join(MODEL_CHOICES)}"
        ) from None
