"""Reproducible TFLite → ONNX conversion of the MediaPipe 0.10.21 models camfx uses.

Run ``python -m onnx_models.convert [--out DIR] [--wheel WHL] [--check] [--bench]``. It fetches
``mediapipe==0.10.21``'s manylinux wheel with ``pip download`` into ``~/.cache/camfx/wheels``
(or takes ``--wheel`` / ``$CAMFX_MEDIAPIPE_WHEEL``), checks its sha256, unzips the six .tflite
files, converts them (the attention mesh twice, see ``blocked_layout``) and rewrites the .onnx
files and ``manifest.json`` next to this module.

Why a converter of our own: tf2onnx needs a 1.7 GB TensorFlow install and, worse, exits 0 while
leaving MediaPipe's custom ops (``Convolution2DTransposeBias``, ``Landmarks2TransformMatrix``,
``TransformTensorBilinear``, ``TransformLandmarks``) as ``TFL_*`` nodes that onnxruntime rejects.
The six networks use only ~20 op kinds, so a small, explicit translator over the ``tflite``
flatbuffer parser and ``onnx.helper`` is easier to audit and is deterministic (byte-identical
output on rerun). Anything it does not understand raises :class:`ConversionError`: no silent
leftovers, and every result is loaded in onnxruntime and passed through onnx.checker's full check
before it is written.

Conventions of the output graphs:

* opset 17, IR version 8, static shapes, float32 activations;
* graph inputs/outputs keep the TFLite tensor names and NHWC shapes; inside, 4-D activations are
  NCHW (what ONNX convolutions want) and transposes appear only at the ends and at reshapes;
* fp16 weights (TFLite ``DEQUANTIZE`` of fp16 buffers) are stored as fp16 initializers followed
  by ``Cast`` to float32: the values are bit-identical to folding, files are half the size, and
  onnxruntime constant-folds the casts when it loads the session;
* PReLU is lowered to ``relu(x) + alpha·(x − relu(x))`` (bit-exact, much faster on ORT CPU);
* a spec with ``blocked_layout`` (the live tracker's mesh, ``<name>_blocked.onnx``) is converted
  a second way that ORT's CPU provider runs in its blocked NCHWc layout from end to end
  (:func:`convert_tflite`); the plain file stays the reference it is checked against;
* only the bare networks: anchor decoding, ROI crops and score sigmoids stay in camfx's code.

Converter-side dependencies only (``pip install -e .[convert]``): tflite, flatbuffers, onnx,
numpy, onnxruntime. ``--check`` also needs ``ai-edge-litert`` (the TFLite reference; it cannot
resolve the attention model's custom ops) and, to check that model too, ``--mediapipe-python``
pointing at the python of a separate venv with ``mediapipe==0.10.21`` installed (it pins
numpy<2, so it cannot share the project's venv).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CONVERTER_VERSION = "1.0.0"
OPSET = 17
IR_VERSION = 8  # the IR that goes with opset 17: keeps the files loadable by older runtimes

MEDIAPIPE_REQ = "mediapipe==0.10.21"
WHEEL_FILENAME = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
PIP_DOWNLOAD_ARGS = (
    "download",
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--platform",
    "manylinux_2_28_x86_64",
    MEDIAPIPE_REQ,
)
LICENCE = "Apache-2.0"
MODELS_DIR = Path(__file__).resolve().parent
_FLOAT = 1  # onnx.TensorProto.FLOAT, without importing onnx at module import time


@dataclass(frozen=True)
class ModelSpec:
    """One network to convert, and what its input expects (for the manifest and ``--check``)."""

    wheel_path: str
    value_range: tuple[float, float]
    preprocess_note: str
    blocked_layout: bool = False
    """Convert with ``blocked=True`` (:func:`convert_tflite`) into ``<stem>_blocked.onnx``,
    beside the plain conversion, which stays the reference."""

    @property
    def name(self) -> str:
        stem = Path(self.wheel_path).stem
        return f"{stem}_blocked" if self.blocked_layout else stem

    @property
    def reference_name(self) -> str:
        """The plain conversion of the same network (its own name unless blocked)."""
        return Path(self.wheel_path).stem


# Value ranges come from MediaPipe's graph configs: face detection's ImageToTensorCalculator uses
# output_tensor_float_range {-1, 1} (face_detection.pbtxt); the face mesh graphs use {0, 1}
# (face_landmark_cpu.pbtxt); iris_landmark_cpu.pbtxt uses TfLiteConverterCalculator with
# zero_center: false, i.e. [0, 1]; selfie_segmentation_cpu.binarypb in the wheel encodes
# ImageToTensorCalculator {256x256 | 256x144, keep_aspect_ratio: false, range {0, 1}}.
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        (-1.0, 1.0),
        "RGB, letterboxed (keep aspect ratio, zero border) to 128x128; outputs are raw "
        "BlazeFace regressors/logits for 896 SSD anchors (decode + sigmoid in camfx).",
    ),
    ModelSpec(
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        (0.0, 1.0),
        "RGB crop of the rotated face ROI resized to 192x192; outputs 468x3 landmarks in "
        "input pixels and a face-presence logit (apply sigmoid).",
    ),
    ModelSpec(
        "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
        (0.0, 1.0),
        "RGB crop of the rotated face ROI resized to 192x192; outputs the 468x3 mesh plus "
        "refined lips/eyes/irises (x,y in input pixels) and a face-presence logit.",
    ),
    ModelSpec(
        "mediapipe/modules/iris_landmark/iris_landmark.tflite",
        (0.0, 1.0),
        "RGB eye crop resized (keep aspect ratio) to 64x64; right eye flipped horizontally "
        "first; outputs 71 eye-contour and 5 iris landmarks (x,y,z) in input pixels.",
    ),
    ModelSpec(
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        (0.0, 1.0),
        "RGB frame stretched (no aspect ratio kept) to 256x256; output is the person "
        "probability (sigmoid already applied) at 256x256.",
    ),
    ModelSpec(
        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        (0.0, 1.0),
        "RGB frame stretched (no aspect ratio kept) to 256 wide x 144 high; output is the "
        "person probability (sigmoid already applied) at 144x256.",
    ),
    # The live tracker's mesh: 2.8 → 2.0 ms per run on ORT CPU, one thread (see
    # emit_prelu_blocked); the portrait analysis of the talking head keeps the plain one.
    ModelSpec(
        "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
        (0.0, 1.0),
        "As face_landmark_with_attention (same inputs and outputs), converted in the blocked "
        "layout: PReLU as depthwise 1x1 convolutions, channel-padded residuals as split "
        "convolutions + Concat, so ONNX Runtime's CPU provider keeps its NCHWc layout end to "
        "end. Same values up to float rounding (parity within BLOCKED_PARITY_ATOL).",
        blocked_layout=True,
    ),
)
BLOCKED_PARITY_ATOL = 1e-3
"""Largest raw-output difference allowed between a blocked conversion and its plain one on
``check_inputs`` (outputs are pixels of the 192-px input: 1e-3 px; measured 6.1e-5)."""


class ConversionError(RuntimeError):
    """Raised for anything the converter does not translate exactly; never ignored."""


# --------------------------------------------------------------------------------------------
# Fetching the wheel
# --------------------------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "camfx" / "wheels"


def fetch_wheel(explicit: Path | None, cache_dir: Path) -> Path:
    """Return a verified path to the mediapipe wheel, downloading it with pip if needed.

    The wheel is only unzipped, never installed: mediapipe pins numpy<2 and protobuf<5, which
    would fight the project's environment.
    """
    if explicit is None and os.environ.get("CAMFX_MEDIAPIPE_WHEEL"):
        explicit = Path(os.environ["CAMFX_MEDIAPIPE_WHEEL"])
    wheel = explicit if explicit is not None else cache_dir / WHEEL_FILENAME
    if not wheel.is_file():
        if explicit is not None:
            raise ConversionError(f"wheel not found: {wheel}")
        cache_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", *PIP_DOWNLOAD_ARGS, "--dest", str(cache_dir)]
        print("fetching:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        if not wheel.is_file():
            raise ConversionError(f"pip download did not produce {wheel}")
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        raise ConversionError(f"{wheel}: sha256 {digest} != expected {WHEEL_SHA256}")
    return wheel


def read_tflite(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(member)


# --------------------------------------------------------------------------------------------
# Pure helpers (unit-tested in tests/test_convert.py)
# --------------------------------------------------------------------------------------------


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite/TensorFlow SAME padding for one spatial axis as (before, after).

    TF puts the odd pixel at the end; ONNX's ``auto_pad=SAME_UPPER`` would agree, but explicit
    pads keep the graph independent of how a runtime interprets auto_pad.
    """
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def transpose_conv_padding(size: int, kernel: int, stride: int, same: bool) -> tuple[int, int]:
    """Padding (before, after) of MediaPipe's Convolution2DTransposeBias for one axis.

    Mirrors mediapipe/util/tflite/operations/transpose_conv_bias.cc: SAME removes
    ``max(0, k - (in-1) % s - 1)`` output pixels, ``floor(half)`` of them at the start.
    """
    if not same:
        return 0, 0
    total = max(0, kernel - (size - 1) % stride - 1)
    return total // 2, total - total // 2


def nhwc_paddings_to_onnx(paddings: np.ndarray) -> list[int]:
    """TFLite PAD paddings [[b0,b1],[h0,h1],[w0,w1],[c0,c1]] → ONNX NCHW pads list."""
    p = np.asarray(paddings, dtype=np.int64).reshape(4, 2)
    order = (0, 3, 1, 2)
    return [int(p[i, 0]) for i in order] + [int(p[i, 1]) for i in order]


def _clamp_index(index: int, dim: int) -> int:
    """Python-style negative index resolved and clamped to [0, dim], as StridedSlice does."""
    return min(max(index + dim if index < 0 else index, 0), dim)


def const_to_nchw(arr: np.ndarray) -> np.ndarray:
    """Re-lay a constant that broadcasts against an NHWC tensor so it broadcasts against NCHW."""
    if arr.ndim > 4:
        raise ConversionError(f"constant of rank {arr.ndim} against a 4-D tensor")
    full = arr.reshape((1,) * (4 - arr.ndim) + arr.shape)
    return np.ascontiguousarray(full.transpose(0, 3, 1, 2))


# --------------------------------------------------------------------------------------------
# ONNX graph builder
# --------------------------------------------------------------------------------------------


class GraphBuilder:
    """Accumulates nodes/initializers with deterministic, collision-free names."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used: set[str] = set(reserved)
        self._claimed: set[str] = set()
        self._counter = 0

    def fresh(self, hint: str) -> str:
        while True:
            self._counter += 1
            name = f"{hint}__{self._counter}"
            if name not in self._used:
                self._used.add(name)
                return name

    def claim(self, name: str) -> str:
        """Use an exact name (graph tensors keep TFLite names); a second claim is a bug."""
        if name in self._claimed:
            raise ConversionError(f"tensor name produced twice: {name}")
        self._claimed.add(name)
        self._used.add(name)
        return name

    def const(self, value: np.ndarray, hint: str) -> str:
        """Add an initializer; fp16 arrays become fp16 initializer + Cast to float32."""
        from onnx import TensorProto, numpy_helper

        arr = np.ascontiguousarray(value)
        if arr.dtype == np.float16:
            raw = self.fresh(f"{hint}_fp16")
            self.initializers.append(numpy_helper.from_array(arr, raw))
            return self.op("Cast", [raw], hint=hint, to=TensorProto.FLOAT)
        if arr.dtype not in (np.float32, np.int64, np.int32, np.bool_):
            raise ConversionError(f"unexpected constant dtype {arr.dtype} for {hint}")
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def f32(self, values: Any, hint: str) -> str:
        return self.const(np.asarray(values, dtype=np.float32), hint)

    def i64(self, values: Any, hint: str) -> str:
        return self.const(np.asarray(values, dtype=np.int64), hint)

    def op(
        self,
        op_type: str,
        inputs: Sequence[str],
        *,
        hint: str | None = None,
        out: str | None = None,
        **attrs: Any,
    ) -> str:
        from onnx import helper

        output = self.claim(out) if out is not None else self.fresh(hint or op_type.lower())
        node = helper.make_node(
            op_type, list(inputs), [output], name=f"{op_type}_{len(self.nodes)}", **attrs
        )
        self.nodes.append(node)
        return output


# --------------------------------------------------------------------------------------------
# MediaPipe custom ops (semantics: mediapipe/util/tflite/operations/*.cc, version 2)
# --------------------------------------------------------------------------------------------


def emit_landmarks_to_transform_matrix(
    b: GraphBuilder, landmarks: str, attrs: dict[str, Any], out: str | None = None
) -> str:
    """Landmarks2TransformMatrix v2: [1,N,3] landmarks → [1,4,4] crop→feature-map matrix.

    Reference (landmarks_to_transform_matrix.cc, v2): rotation r = target − atan2(dy, dx) of the
    left→right landmark vector; the subset landmarks are rotated by R(r), their bounding box gives
    size (w,h) and centre, the centre is rotated back, and the result is
    ``Shift(centre)·R(−r)·Scale(scale·size/out)·Shift(−out/2)``. ONNX has no atan2, so cos/sin
    come from the normalised eye-to-eye vector (atan2(0,0)=0 → identity rotation).
    """
    left, right = int(attrs["left_rotation_idx"]), int(attrs["right_rotation_idx"])
    subset = [int(v) for v in attrs["subset_idxs"]]
    if len(subset) % 2:  # the parser pairs indices and repeats a trailing odd one
        subset.append(subset[-1])
    out_w, out_h = int(attrs["output_width"]), int(attrs["output_height"])
    scale_x, scale_y = float(attrs["scale_x"]), float(attrs["scale_y"])
    target = float(attrs.get("target_rotation_radians", 0.0))

    xy = b.op("Slice", [landmarks, b.i64([0], "s0"), b.i64([2], "s2"), b.i64([2], "ax2")])
    p_left = b.op("Gather", [xy, b.i64([left], "left_idx")], axis=1)
    p_right = b.op("Gather", [xy, b.i64([right], "right_idx")], axis=1)
    delta = b.op("Sub", [p_right, p_left])  # [1,1,2] = (dx, dy)
    norm = b.op("Sqrt", [b.op("ReduceSumSquare", [delta], axes=[2], keepdims=1)])
    unit = b.op("Div", [delta, norm])  # (cos θ, sin θ)
    unit = b.op("Where", [b.op("Greater", [norm, b.f32(0.0, "zero")]), unit, b.f32([1, 0], "e0")])
    # (cos r, sin r) with r = target − θ, as a row-vector product with a constant matrix.
    ct, st = math.cos(target), math.sin(target)
    cs = b.op("MatMul", [unit, b.f32([[ct, st], [st, -ct]], "rot_target")])
    # Rt = R(r)^T = [[cos r, sin r], [−sin r, cos r]] = R(−r).
    row1 = b.op("MatMul", [cs, b.f32([[0, 1], [-1, 0]], "perp")])
    rot_t = b.op("Concat", [cs, row1], axis=1)  # [1,2,2]
    rot = b.op("Transpose", [rot_t], perm=[0, 2, 1])  # R(r)

    pts = b.op("Gather", [xy, b.i64(subset, "subset_idx")], axis=1)  # [1,K,2]
    rotated = b.op("MatMul", [pts, rot_t])  # row vectors: p·R(r)^T = (R(r)·p)^T
    hi = b.op("ReduceMax", [rotated], axes=[1], keepdims=1)
    lo = b.op("ReduceMin", [rotated], axes=[1], keepdims=1)
    size = b.op("Sub", [hi, lo])  # (w, h)
    mid = b.op("Div", [b.op("Add", [lo, hi]), b.f32(2.0, "two")])
    centre = b.op("MatMul", [mid, rot])  # (R(−r)·mid)^T, [1,1,2]
    scale = b.op(
        "Div",
        [b.op("Mul", [size, b.f32([scale_x, scale_y], "scale")]), b.f32([out_w, out_h], "out_wh")],
    )
    lin = b.op("Mul", [rot_t, scale])  # R(−r)·diag(sx, sy), [1,2,2]
    shift = b.f32([[-out_w / 2.0], [-out_h / 2.0]], "shift2")
    trans = b.op(
        "Add", [b.op("MatMul", [lin, shift]), b.op("Transpose", [centre], perm=[0, 2, 1])]
    )  # [1,2,1]
    top = b.op("Concat", [lin, b.f32(np.zeros((1, 2, 1)), "zcol"), trans], axis=2)  # [1,2,4]
    bottom = b.f32([[[0, 0, 1, 0], [0, 0, 0, 1]]], "bottom_rows")
    return b.op("Concat", [top, bottom], axis=1, out=out)


def emit_transform_tensor_bilinear(
    b: GraphBuilder,
    feature_nchw: str,
    matrix: str,
    in_hw: tuple[int, int],
    out_hw: tuple[int, int],
    out: str | None = None,
) -> str:
    """TransformTensorBilinear v2 on an NCHW map: sample an out_hw grid through the matrix.

    Reference (transform_tensor_bilinear.cc, v2): for output pixel (x, y) the source point is
    the first two matrix rows applied to (x+0.5, y+0.5, 0, 1) minus 0.5 (its "align corners"
    correction); points outside [0, W−1]×[0, H−1] give 0, others are bilinear. GridSample with
    align_corners=1 does the bilinear part; an explicit mask reproduces the hard zero outside
    (GridSample's zero padding would blend partially there).
    """
    in_h, in_w = in_hw
    out_h, out_w = out_hw
    if in_h < 2 or in_w < 2:
        raise ConversionError("TransformTensorBilinear needs a feature map of at least 2x2")
    ys, xs = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing="ij")
    grid_pts = np.stack(
        [xs.ravel() + 0.5, ys.ravel() + 0.5, np.zeros(out_h * out_w), np.ones(out_h * out_w)]
    ).astype(np.float32)  # [4, HW]
    rows = b.op("Slice", [matrix, b.i64([0], "s0"), b.i64([2], "s2"), b.i64([1], "ax1")])
    coords = b.op(
        "Sub", [b.op("MatMul", [rows, b.f32(grid_pts, "grid_pts")]), b.f32(0.5, "half")]
    )  # [1,2,HW] source (x; y)
    limit = b.f32([[in_w - 1], [in_h - 1]], "limit")  # [2,1]: x ≤ W−1, y ≤ H−1
    inside = b.op(
        "And",
        [
            b.op("GreaterOrEqual", [coords, b.f32(0.0, "zero")]),
            b.op("LessOrEqual", [coords, limit]),
        ],
    )
    mask = b.op("ReduceMin", [b.op("Cast", [inside], to=_FLOAT)], axes=[1], keepdims=1)
    mask = b.op("Reshape", [mask, b.i64([1, 1, out_h, out_w], "mask_shape")])
    norm = b.f32([[2.0 / (in_w - 1)], [2.0 / (in_h - 1)]], "to_unit")  # [2,1]
    grid = b.op("Sub", [b.op("Mul", [coords, norm]), b.f32(1.0, "one")])
    grid = b.op("Transpose", [grid], perm=[0, 2, 1])
    grid = b.op("Reshape", [grid, b.i64([1, out_h, out_w, 2], "grid_shape")])
    sampled = b.op(
        "GridSample", [feature_nchw, grid], align_corners=1, mode="bilinear", padding_mode="zeros"
    )
    return b.op("Mul", [sampled, mask], out=out)


def emit_transform_landmarks(
    b: GraphBuilder, landmarks: str, matrix: str, count: int, dims: int, out: str | None = None
) -> str:
    """TransformLandmarks v2: apply the matrix's first two rows to [1,N,dims] landmarks.

    Reference (transform_landmarks.cc, v2): (x, y) → rows·(x, y, 0, 1); z (dims=3) passes through.
    """
    if dims not in (2, 3):
        raise ConversionError(f"TransformLandmarks with {dims} dimensions")
    rows = b.op("Slice", [matrix, b.i64([0], "s0"), b.i64([2], "s2"), b.i64([1], "ax1")])
    rows_t = b.op("Transpose", [rows], perm=[0, 2, 1])  # [1,4,2]
    xy = landmarks
    if dims == 3:
        xy = b.op("Slice", [landmarks, b.i64([0], "s0"), b.i64([2], "s2"), b.i64([2], "ax2")])
    pad = b.f32(np.tile(np.array([0.0, 1.0], np.float32), (1, count, 1)), "zero_one")
    homo = b.op("Concat", [xy, pad], axis=2)  # [1,N,4] = (x, y, 0, 1)
    if dims == 2:
        return b.op("MatMul", [homo, rows_t], out=out)
    moved = b.op("MatMul", [homo, rows_t])
    z = b.op("Slice", [landmarks, b.i64([2], "s2"), b.i64([3], "s3"), b.i64([2], "ax2")])
    return b.op("Concat", [moved, z], axis=2, out=out)


def emit_prelu(b: GraphBuilder, x: str, alpha: str, out: str | None = None) -> str:
    """PReLU as ``relu(x) + alpha·(x − relu(x))``.

    Bit-exact (x − relu(x) is exactly min(x, 0)), and ~40 % faster on onnxruntime CPU than
    the PRelu op: PRelu has no NCHWc kernel, so ORT wraps each one in layout reorders
    (measured at 2 threads: face_landmark 3.2 → 1.8 ms, iris_landmark 3.6 → 2.1 ms).
    """
    pos = b.op("Relu", [x], hint="prelu_pos")
    neg = b.op("Sub", [x, pos], hint="prelu_neg")
    return b.op("Add", [pos, b.op("Mul", [neg, alpha], hint="prelu_scaled")], out=out)


def emit_prelu_blocked(b: GraphBuilder, x: str, alpha: np.ndarray, out: str | None = None) -> str:
    """PReLU as ``x + dw(relu(dw(x, −1)), 1 − alpha)``, dw a depthwise 1×1 Conv.

    relu(dw(x, −1)) is exactly relu(−x) = −min(x, 0), and x + (1 − alpha)·relu(−x) is x for
    x > 0 and alpha·x for x < 0. Unlike :func:`emit_prelu`, no Sub and no Mul by a [C,1,1]
    constant, which have no NCHWc form in onnxruntime (it reordered the tensor to NCHW and back
    around every PReLU), and no standalone Relu: the first Relu fuses into its Conv and the Add
    into the second one (Conv with a Sum input). Exact for x ≥ 0; for x < 0 two roundings
    (the product, then the sum) instead of one (1 − alpha itself is exact in float32 for fp16
    slopes). ``alpha`` holds one slope per channel (any shape of C elements).
    """
    channels = int(alpha.size)
    attrs: dict[str, Any] = {"kernel_shape": [1, 1], "group": channels}
    negate = b.const(np.full((channels, 1, 1, 1), -1.0, alpha.dtype), "prelu_negate")
    flipped = b.op("Relu", [b.op("Conv", [x, negate], hint="prelu_flip", **attrs)])
    complement = (1.0 - alpha.astype(np.float32)).reshape(channels, 1, 1, 1)
    scaled = b.op(
        "Conv",
        [flipped, b.const(complement, "prelu_one_minus_alpha")],
        hint="prelu_scaled",
        **attrs,
    )
    return b.op("Add", [x, scaled], out=out)


def emit_transpose_conv_bias(
    b: GraphBuilder,
    x_nchw: str,
    weights_ohwi: np.ndarray,
    bias: np.ndarray,
    in_hw: tuple[int, int],
    strides_hw: tuple[int, int],
    same: bool,
    out: str | None = None,
) -> tuple[str, tuple[int, int]]:
    """Convolution2DTransposeBias (transpose_conv_bias.cc) as ConvTranspose; returns out + HW.

    Weights are TFLite OHWI ([O,kh,kw,I]); ConvTranspose wants [I,O,kh,kw].
    """
    _, kh, kw, _ = weights_ohwi.shape
    top, bottom = transpose_conv_padding(in_hw[0], kh, strides_hw[0], same)
    left, right = transpose_conv_padding(in_hw[1], kw, strides_hw[1], same)
    out_hw = (
        strides_hw[0] * (in_hw[0] - 1) + kh - top - bottom,
        strides_hw[1] * (in_hw[1] - 1) + kw - left - right,
    )
    name = b.op(
        "ConvTranspose",
        [
            x_nchw,
            b.const(weights_ohwi.transpose(3, 0, 1, 2), "deconv_w"),
            b.const(bias, "deconv_b"),
        ],
        out=out,
        kernel_shape=[kh, kw],
        strides=list(strides_hw),
        pads=[top, left, bottom, right],
    )
    return name, out_hw


# --------------------------------------------------------------------------------------------
# TFLite graph translation
# --------------------------------------------------------------------------------------------


@dataclass
class _Dyn:
    """Where a runtime tensor lives in the ONNX graph: NHWC-as-TFLite ("raw") and/or NCHW."""

    raw: str | None = None
    nchw: str | None = None


@dataclass
class ConvertedModel:
    onnx_bytes: bytes
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    op_counts: dict[str, int] = field(default_factory=dict)


_NP_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 4: np.int64}


class TFLiteConverter:
    """Translate one single-subgraph float TFLite model into an ONNX graph."""

    def __init__(self, data: bytes, graph_name: str, *, blocked: bool = False) -> None:
        import tflite

        self._tfl = tflite
        self.graph_name = graph_name
        self.model = tflite.Model.GetRootAs(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ConversionError("only single-subgraph models are supported")
        self.g = self.model.Subgraphs(0)
        self.names = [self.g.Tensors(i).Name().decode() for i in range(self.g.TensorsLength())]
        if len(set(self.names)) != len(self.names):
            raise ConversionError("duplicate tensor names in the TFLite graph")
        self.b = GraphBuilder(reserved=self.names)
        self.consts: dict[int, np.ndarray] = {}
        self.dyn: dict[int, _Dyn] = {}
        self._builtin_names = {
            v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")
        }
        self.op_counts: dict[str, int] = {}
        self.blocked = blocked
        """Emit the blocked-layout forms (see :func:`convert_tflite`)."""
        self._residual_pads: dict[int, int] = {}
        """Blocked only: a channel-padding PAD's output → the CONV_2D output it is added to."""
        self._split_convs: dict[int, int] = {}
        """Blocked only: a CONV_2D output → the channels the residual ADD adds into."""
        self._split_parts: dict[int, tuple[str, str]] = {}
        """Blocked only: a split CONV_2D output → its (first channels, the rest) NCHW tensors."""
        self._pad_sources: dict[int, int] = {}
        """Blocked only: a residual PAD's output → its unpadded input."""

    # ---- tensor access ---------------------------------------------------------------------

    def shape(self, idx: int) -> tuple[int, ...]:
        t = self.g.Tensors(idx)
        return tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def _load_const(self, idx: int) -> np.ndarray | None:
        t = self.g.Tensors(idx)
        buf = self.model.Buffers(t.Buffer())
        if buf.Offset() > 1:
            raise ConversionError("buffers stored outside the flatbuffer are not supported")
        if buf.DataLength() == 0:
            return None
        ttype = t.Type()
        if ttype not in _NP_TYPES:
            raise ConversionError(f"tensor {self.names[idx]} has unsupported type {ttype}")
        q = t.Quantization()
        if q is not None and q.ScaleLength() > 0:
            raise ConversionError(f"quantized tensor {self.names[idx]} is not supported")
        arr = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=_NP_TYPES[ttype])
        return arr.reshape(self.shape(idx)).copy()

    def const(self, idx: int) -> np.ndarray:
        if idx not in self.consts:
            raise ConversionError(f"{self.names[idx]} is expected to be a constant")
        return self.consts[idx]

    def is_const(self, idx: int) -> bool:
        return idx in self.consts

    def raw(self, idx: int) -> str:
        d = self.dyn.get(idx)
        if d is None:
            raise ConversionError(f"{self.names[idx]} used before it is produced")
        if d.raw is None:
            assert d.nchw is not None
            d.raw = self.b.op("Transpose", [d.nchw], out=self.names[idx], perm=[0, 2, 3, 1])
        return d.raw

    def nchw(self, idx: int) -> str:
        d = self.dyn.get(idx)
        if d is None:
            raise ConversionError(f"{self.names[idx]} used before it is produced")
        if len(self.shape(idx)) != 4:
            raise ConversionError(f"{self.names[idx]} is not 4-D but an NCHW op consumes it")
        if d.nchw is None:
            assert d.raw is not None
            d.nchw = self.b.op(
                "Transpose", [d.raw], out=self._out_name(idx, "nchw"), perm=[0, 3, 1, 2]
            )
        return d.nchw

    def _out_name(self, idx: int, layout: str) -> str:
        return self.names[idx] if layout == "raw" else f"{self.names[idx]}__nchw"

    def _set(self, idx: int, name: str, layout: str) -> None:
        self.dyn[idx] = _Dyn(raw=name) if layout == "raw" else _Dyn(nchw=name)

    def const_input(self, idx: int, layout: str) -> str:
        arr = self.const(idx)
        if arr.dtype == np.int32:
            arr = arr.astype(np.int64)
        if layout == "nchw":
            arr = const_to_nchw(arr)
        return self.b.const(arr, self.names[idx])

    def operand(self, idx: int, layout: str) -> str:
        if self.is_const(idx):
            return self.const_input(idx, layout)
        return self.nchw(idx) if layout == "nchw" else self.raw(idx)

    # ---- emit helpers ----------------------------------------------------------------------

    def emit(
        self,
        op_type: str,
        inputs: Sequence[str],
        out_idx: int,
        layout: str,
        act: int = 0,
        **attrs: Any,
    ) -> None:
        """Emit ``op_type`` for TFLite tensor out_idx, followed by its fused activation."""
        out = self._out_name(out_idx, layout)
        if act == 0:
            self.b.op(op_type, inputs, out=out, **attrs)
        else:
            tmp = self.b.op(op_type, inputs, hint=self.names[out_idx], **attrs)
            self.activation(tmp, act, out)
        self._set(out_idx, out, layout)

    def activation(self, x: str, act: int, out: str) -> str:
        aft = self._tfl.ActivationFunctionType
        if act == aft.RELU:
            return self.b.op("Relu", [x], out=out)
        if act == aft.RELU6:
            return self.b.op("Clip", [x, self.b.f32(0.0, "c0"), self.b.f32(6.0, "c6")], out=out)
        if act == aft.RELU_N1_TO_1:
            return self.b.op("Clip", [x, self.b.f32(-1.0, "cm1"), self.b.f32(1.0, "c1")], out=out)
        if act == aft.TANH:
            return self.b.op("Tanh", [x], out=out)
        raise ConversionError(f"unsupported fused activation {act}")

    def options(self, op: Any, cls: Any) -> Any:
        table = op.BuiltinOptions()
        if table is None:
            raise ConversionError(f"missing builtin options for {cls.__name__}")
        opts = cls()
        opts.Init(table.Bytes, table.Pos)
        return opts

    # ---- main loop -------------------------------------------------------------------------

    def convert(self, doc: str = "") -> ConvertedModel:
        from onnx import TensorProto, helper

        g = self.g
        for i in range(g.TensorsLength()):
            arr = self._load_const(i)
            if arr is not None:
                self.consts[i] = arr
        inputs_info, outputs_info = [], []
        graph_inputs, graph_outputs = [], []
        for k in range(g.InputsLength()):
            idx = int(g.Inputs(k))
            if g.Tensors(idx).Type() != self._tfl.TensorType.FLOAT32:
                raise ConversionError("graph inputs must be float32")
            name, shp = self.names[idx], list(self.shape(idx))
            self.b.claim(name)
            self.dyn[idx] = _Dyn(raw=name)
            graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shp))
            inputs_info.append({"name": name, "shape": shp, "dtype": "float32"})

        ops = [self._op_info(i) for i in range(g.OperatorsLength())]
        if self.blocked:
            self._find_channel_pad_residuals(ops)
        for op, kind, ins, outs, version in ops:
            handler: Callable[[Any, list[int], list[int], int], None] | None = getattr(
                self, f"_op_{kind}", None
            )
            if handler is None:
                raise ConversionError(f"unsupported TFLite op {kind}")
            handler(op, ins, outs, version)
            self.op_counts[kind] = self.op_counts.get(kind, 0) + 1

        for k in range(g.OutputsLength()):
            idx = int(g.Outputs(k))
            name = self.raw(idx)
            if name != self.names[idx]:
                raise ConversionError(f"output {self.names[idx]} lost its name")
            shp = list(self.shape(idx))
            graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shp))
            outputs_info.append({"name": name, "shape": shp, "dtype": "float32"})

        graph = helper.make_graph(
            self.b.nodes,
            self.graph_name,
            graph_inputs,
            graph_outputs,
            self.b.initializers,
            doc_string=doc,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="camfx.onnx_models.convert",
            producer_version=CONVERTER_VERSION,
        )
        model.ir_version = IR_VERSION
        data = model.SerializeToString(deterministic=True)
        return ConvertedModel(data, inputs_info, outputs_info, dict(sorted(self.op_counts.items())))

    def _op_info(self, i: int) -> tuple[Any, str, list[int], list[int], int]:
        """The i-th operator: (op, kind, input tensors, output tensors, op version)."""
        op = self.g.Operators(i)
        code = self.model.OperatorCodes(op.OpcodeIndex())
        custom = code.CustomCode()
        if custom:
            kind = custom.decode()
        else:
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            kind = self._builtin_names.get(builtin, str(builtin))
        ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(v) for v in op.OutputsAsNumpy()]
        return op, kind, ins, outs, code.Version()

    def _find_channel_pad_residuals(
        self, ops: Sequence[tuple[Any, str, list[int], list[int], int]]
    ) -> None:
        """Find the residual blocks that widen their shortcut: ADD(CONV_2D(…), PAD(s)) where PAD
        only appends zero channels to s and each of the two feeds only that ADD.

        The blocked form adds s into the conv's first channels and concatenates the rest
        (:meth:`_op_ADD`): Pad has no NCHWc kernel, so onnxruntime would reorder the tensor to
        NCHW and back around each such block; the split conv, Add and channel Concat stay
        blocked. Adding zeros is exact, so both forms give the same sums.
        """
        producer: dict[int, str] = {}
        consumers: dict[int, int] = {}
        for _, kind, ins, outs, _ in ops:
            for t in outs:
                producer[t] = kind
            for t in ins:
                consumers[t] = consumers.get(t, 0) + 1
        graph_outputs = {int(self.g.Outputs(k)) for k in range(self.g.OutputsLength())}
        pads: dict[int, int] = {}  # PAD output → channels of its input
        for _, kind, ins, outs, _ in ops:
            if kind != "PAD" or len(self.shape(ins[0])) != 4 or not self.is_const(ins[1]):
                continue
            p = np.asarray(self.const(ins[1])).reshape(4, 2)
            if not p[:3].any() and p[3, 0] == 0 and p[3, 1] > 0:
                pads[outs[0]] = self.shape(ins[0])[3]
        for _, kind, ins, outs, _ in ops:
            if kind != "ADD" or len(ins) != 2:
                continue
            for pad, conv in (ins, ins[::-1]):
                if (
                    pad in pads
                    and producer.get(conv) == "CONV_2D"
                    and consumers.get(pad) == 1
                    and consumers.get(conv) == 1
                    and not {pad, conv} & graph_outputs
                    and self.shape(conv) == self.shape(pad) == self.shape(outs[0])
                ):
                    self._residual_pads[pad] = conv
                    self._split_convs[conv] = pads[pad]
                    break

    # ---- builtin ops -----------------------------------------------------------------------

    def _op_DEQUANTIZE(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        src = self.const(ins[0])
        if src.dtype != np.float16:
            raise ConversionError("only fp16 DEQUANTIZE of constants is supported")
        self.consts[outs[0]] = src  # stays fp16: stored as fp16 + Cast (bit-identical values)

    def _conv_common(self, op: Any, ins: list[int], outs: list[int], depthwise: bool) -> None:
        t = self._tfl
        opts = self.options(op, t.DepthwiseConv2DOptions if depthwise else t.Conv2DOptions)
        _, h, w, c_in = self.shape(ins[0])
        weights = self.const(ins[1])
        kh, kw = weights.shape[1], weights.shape[2]
        sh, sw = opts.StrideH(), opts.StrideW()
        dh, dw = opts.DilationHFactor(), opts.DilationWFactor()
        if opts.Padding() == t.Padding.SAME:
            top, bottom = same_padding(h, kh, sh, dh)
            left, right = same_padding(w, kw, sw, dw)
        else:
            top = bottom = left = right = 0
        if depthwise:
            c_out = weights.shape[3]
            if c_out % c_in:
                raise ConversionError("depthwise output channels not a multiple of input")
            kernel, group = weights.transpose(3, 0, 1, 2), c_in  # [C·M, 1, kh, kw]
        else:
            kernel, group = weights.transpose(0, 3, 1, 2), 1  # [O, I, kh, kw]
        bias = self.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        attrs: dict[str, Any] = {
            "kernel_shape": [kh, kw],
            "strides": [sh, sw],
            "dilations": [dh, dw],
            "pads": [top, left, bottom, right],
            "group": group,
        }
        act = opts.FusedActivationFunction()
        split = self._split_convs.get(outs[0])
        if split is not None:
            # The residual ADD adds its shortcut into the first `split` channels only.
            parts = []
            for part, channels in (("head", slice(None, split)), ("tail", slice(split, None))):
                hint = f"{self.names[outs[0]]}__{part}"
                inputs = [self.nchw(ins[0]), self.b.const(kernel[channels], f"{hint}_w")]
                if bias is not None:
                    inputs.append(self.b.const(bias[channels], f"{hint}_b"))
                y = self.b.op("Conv", inputs, hint=hint, **attrs)
                parts.append(self.activation(y, act, self.b.fresh(hint)) if act else y)
            self._split_parts[outs[0]] = (parts[0], parts[1])
            return
        inputs = [self.nchw(ins[0]), self.b.const(kernel, self.names[ins[1]])]
        if bias is not None:
            inputs.append(self.b.const(bias, self.names[ins[2]]))
        self.emit("Conv", inputs, outs[0], "nchw", act, **attrs)

    def _op_CONV_2D(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._conv_common(op, ins, outs, depthwise=False)

    def _op_DEPTHWISE_CONV_2D(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._conv_common(op, ins, outs, depthwise=True)

    def _pool(self, op: Any, ins: list[int], outs: list[int], onnx_op: str) -> None:
        t = self._tfl
        opts = self.options(op, t.Pool2DOptions)
        _, h, w, _ = self.shape(ins[0])
        _, oh, ow, _ = self.shape(outs[0])
        kh, kw = opts.FilterHeight(), opts.FilterWidth()
        sh, sw = opts.StrideH(), opts.StrideW()
        if opts.Padding() == t.Padding.SAME:
            top, bottom = same_padding(h, kh, sh)
            left, right = same_padding(w, kw, sw)
        else:
            top = bottom = left = right = 0
        act = opts.FusedActivationFunction()
        x = self.nchw(ins[0])
        if (
            onnx_op == "AveragePool"
            and (oh, ow) == (1, 1)
            and (kh, kw) == (h, w)
            and not any((top, bottom, left, right))
        ):
            # Full-window mean: GlobalAveragePool is exact-er than a strided AveragePool and
            # than ReduceMean (1.5e-4 vs 2.5e-5 measured on the selfie models).
            self.emit("GlobalAveragePool", [x], outs[0], "nchw", act)
            return
        attrs: dict[str, Any] = {
            "kernel_shape": [kh, kw],
            "strides": [sh, sw],
            "pads": [top, left, bottom, right],
        }
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = 0  # TFLite averages over valid pixels only
        self.emit(onnx_op, [x], outs[0], "nchw", act, **attrs)

    def _op_MAX_POOL_2D(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._pool(op, ins, outs, "MaxPool")

    def _op_AVERAGE_POOL_2D(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._pool(op, ins, outs, "AveragePool")

    def _op_MEAN(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        opts = self.options(op, self._tfl.ReducerOptions)
        axes = sorted(int(a) % 4 for a in np.atleast_1d(self.const(ins[1])))
        if len(self.shape(ins[0])) != 4 or axes != [1, 2] or not opts.KeepDims():
            raise ConversionError("MEAN is supported only over H,W with keep_dims")
        self.emit("GlobalAveragePool", [self.nchw(ins[0])], outs[0], "nchw")

    def _binary(
        self, op: Any, ins: list[int], outs: list[int], onnx_op: str, opts_cls: Any
    ) -> None:
        act = self.options(op, opts_cls).FusedActivationFunction() if opts_cls else 0
        if all(self.is_const(i) for i in ins):
            raise ConversionError(f"{onnx_op} of two constants")
        layout = "nchw" if len(self.shape(outs[0])) == 4 else "raw"
        if layout == "nchw":
            for i in ins:
                if not self.is_const(i) and len(self.shape(i)) != 4:
                    raise ConversionError(f"{onnx_op} mixing 4-D and lower-rank tensors")
        self.emit(onnx_op, [self.operand(i, layout) for i in ins], outs[0], layout, act)

    def _op_ADD(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        pad = next((i for i in ins if i in self._residual_pads), None)
        conv = self._residual_pads.get(pad, -1) if pad is not None else -1
        if pad is None or conv not in self._split_parts:
            self._binary(op, ins, outs, "Add", self._tfl.AddOptions)
            return
        act = self.options(op, self._tfl.AddOptions).FusedActivationFunction()
        head, tail = self._split_parts[conv]
        shortcut = self.nchw(self._pad_sources[pad])
        # Operand order as TFLite's; float addition is commutative, so the sums are exact.
        summed = self.b.op("Add", [head, shortcut] if ins[0] == conv else [shortcut, head])
        self.emit("Concat", [summed, tail], outs[0], "nchw", act, axis=1)

    def _op_MUL(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._binary(op, ins, outs, "Mul", self._tfl.MulOptions)

    def _unary(self, ins: list[int], outs: list[int], onnx_op: str, **attrs: Any) -> None:
        d = self.dyn.get(ins[0])
        layout = "nchw" if d is not None and d.nchw is not None else "raw"
        src = self.nchw(ins[0]) if layout == "nchw" else self.raw(ins[0])
        self.emit(onnx_op, [src], outs[0], layout, **attrs)

    def _op_RELU(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._unary(ins, outs, "Relu")

    def _op_RELU6(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        d = self.dyn.get(ins[0])
        layout = "nchw" if d is not None and d.nchw is not None else "raw"
        src = self.nchw(ins[0]) if layout == "nchw" else self.raw(ins[0])
        out = self._out_name(outs[0], layout)
        self.activation(src, self._tfl.ActivationFunctionType.RELU6, out)
        self._set(outs[0], out, layout)

    def _op_LOGISTIC(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._unary(ins, outs, "Sigmoid")

    def _op_TANH(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._unary(ins, outs, "Tanh")

    def _op_HARD_SWISH(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        self._unary(ins, outs, "HardSwish")

    def _op_PRELU(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        layout = "nchw" if len(self.shape(ins[0])) == 4 else "raw"
        x = self.nchw(ins[0]) if layout == "nchw" else self.raw(ins[0])
        out = self._out_name(outs[0], layout)
        alpha = self.const(ins[1])
        if self.blocked and layout == "nchw" and alpha.size == self.shape(ins[0])[3]:
            emit_prelu_blocked(self.b, x, alpha, out)
        else:
            emit_prelu(self.b, x, self.const_input(ins[1], layout), out)
        self._set(outs[0], out, layout)

    def _op_PAD(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        if outs[0] in self._residual_pads:
            self._pad_sources[outs[0]] = ins[0]  # its ADD adds the unpadded tensor (_op_ADD)
            return
        paddings = self.const(ins[1])
        if len(self.shape(ins[0])) != 4:
            raise ConversionError("PAD is supported on 4-D tensors only")
        pads = self.b.i64(nhwc_paddings_to_onnx(paddings), f"{self.names[ins[1]]}_nchw")
        self.emit("Pad", [self.nchw(ins[0]), pads], outs[0], "nchw", mode="constant")

    def _op_RESHAPE(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        shape = self.b.i64(list(self.shape(outs[0])), f"{self.names[outs[0]]}_shape")
        self.emit("Reshape", [self.raw(ins[0]), shape], outs[0], "raw")

    def _op_CONCATENATION(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        opts = self.options(op, self._tfl.ConcatenationOptions)
        rank = len(self.shape(outs[0]))
        axis = opts.Axis() % rank
        layout = "raw"
        if rank == 4:
            layout, axis = "nchw", (0, 2, 3, 1)[axis]
        self.emit(
            "Concat",
            [self.operand(i, layout) for i in ins],
            outs[0],
            layout,
            opts.FusedActivationFunction(),
            axis=axis,
        )

    def _op_RESIZE_BILINEAR(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        opts = self.options(op, self._tfl.ResizeBilinearOptions)
        if opts.AlignCorners():
            mode = "align_corners"
        elif opts.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        n, oh, ow, c = self.shape(outs[0])
        sizes = self.b.i64([n, c, oh, ow], f"{self.names[outs[0]]}_sizes")
        self.emit(
            "Resize",
            [self.nchw(ins[0]), "", "", sizes],
            outs[0],
            "nchw",
            mode="linear",
            coordinate_transformation_mode=mode,
        )

    def _op_STRIDED_SLICE(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        opts = self.options(op, self._tfl.StridedSliceOptions)
        if opts.EllipsisMask() or opts.NewAxisMask() or opts.ShrinkAxisMask() or opts.Offset():
            raise ConversionError("STRIDED_SLICE with ellipsis/new-axis/shrink/offset")
        shape = self.shape(ins[0])
        begin = [int(v) for v in self.const(ins[1])]
        end = [int(v) for v in self.const(ins[2])]
        strides = [int(v) for v in self.const(ins[3])]
        if any(s <= 0 for s in strides):
            raise ConversionError("STRIDED_SLICE with non-positive strides")
        for ax in range(len(shape)):
            if opts.BeginMask() & (1 << ax):
                begin[ax] = 0
            if opts.EndMask() & (1 << ax):
                end[ax] = shape[ax]
        begin = [_clamp_index(v, d) for v, d in zip(begin, shape, strict=True)]
        end = [_clamp_index(v, d) for v, d in zip(end, shape, strict=True)]
        src = self.raw(ins[0])
        if begin == [0] * len(shape) and end == list(shape) and strides == [1] * len(shape):
            self.emit("Identity", [src], outs[0], "raw")
            return
        name = self.names[outs[0]]
        self.emit(
            "Slice",
            [
                src,
                self.b.i64(begin, f"{name}_starts"),
                self.b.i64(end, f"{name}_ends"),
                self.b.i64(list(range(len(shape))), f"{name}_axes"),
                self.b.i64(strides, f"{name}_steps"),
            ],
            outs[0],
            "raw",
        )

    # ---- MediaPipe custom ops --------------------------------------------------------------

    def _custom_options(self, op: Any) -> bytes:
        return op.CustomOptionsAsNumpy().tobytes() if op.CustomOptionsLength() else b""

    def _flex_options(self, op: Any) -> dict[str, Any]:
        from flatbuffers import flexbuffers

        raw = self._custom_options(op)
        return dict(flexbuffers.Loads(raw)) if raw else {}

    def _op_Convolution2DTransposeBias(
        self, op: Any, ins: list[int], outs: list[int], ver: int
    ) -> None:
        raw = self._custom_options(op)
        if len(raw) < 12:
            raise ConversionError("Convolution2DTransposeBias options shorter than 12 bytes")
        padding, stride_w, stride_h = struct.unpack("<3i", raw[:12])  # TfLiteTransposeConvParams
        if padding not in (1, 2):  # kTfLitePaddingSame, kTfLitePaddingValid
            raise ConversionError(f"Convolution2DTransposeBias padding {padding}")
        _, h, w, _ = self.shape(ins[0])
        out = self._out_name(outs[0], "nchw")
        _, out_hw = emit_transpose_conv_bias(
            self.b,
            self.nchw(ins[0]),
            self.const(ins[1]),
            self.const(ins[2]),
            (h, w),
            (stride_h, stride_w),
            padding == 1,
            out,
        )
        if out_hw != self.shape(outs[0])[1:3]:
            raise ConversionError("Convolution2DTransposeBias output shape mismatch")
        self._set(outs[0], out, "nchw")

    def _op_Landmarks2TransformMatrix(
        self, op: Any, ins: list[int], outs: list[int], ver: int
    ) -> None:
        if ver != 2:
            raise ConversionError(f"Landmarks2TransformMatrix v{ver}")
        shape = self.shape(ins[0])
        if len(shape) != 3 or shape[0] != 1 or shape[2] != 3:
            raise ConversionError(f"Landmarks2TransformMatrix input shape {shape}")
        out = self._out_name(outs[0], "raw")
        emit_landmarks_to_transform_matrix(self.b, self.raw(ins[0]), self._flex_options(op), out)
        self._set(outs[0], out, "raw")

    def _op_TransformTensorBilinear(
        self, op: Any, ins: list[int], outs: list[int], ver: int
    ) -> None:
        if ver != 2:
            raise ConversionError(f"TransformTensorBilinear v{ver}")
        _, h, w, _ = self.shape(ins[0])
        _, oh, ow, _ = self.shape(outs[0])
        opts = self._flex_options(op)
        if (opts.get("output_height", oh), opts.get("output_width", ow)) != (oh, ow):
            raise ConversionError("TransformTensorBilinear options disagree with output shape")
        out = self._out_name(outs[0], "nchw")
        emit_transform_tensor_bilinear(
            self.b, self.nchw(ins[0]), self.raw(ins[1]), (h, w), (oh, ow), out
        )
        self._set(outs[0], out, "nchw")

    def _op_TransformLandmarks(self, op: Any, ins: list[int], outs: list[int], ver: int) -> None:
        if ver != 2:
            raise ConversionError(f"TransformLandmarks v{ver}")
        shape = self.shape(ins[0])
        if len(shape) != 3 or shape[0] != 1:
            raise ConversionError(f"TransformLandmarks input shape {shape}")
        out = self._out_name(outs[0], "raw")
        # v2 takes dimensions from the output's last axis and ignores options (scale = 1).
        emit_transform_landmarks(
            self.b, self.raw(ins[0]), self.raw(ins[1]), shape[1], self.shape(outs[0])[2], out
        )
        self._set(outs[0], out, "raw")


def convert_tflite(
    data: bytes, graph_name: str, doc: str = "", *, blocked: bool = False
) -> ConvertedModel:
    """Convert TFLite flatbuffer bytes to ONNX bytes (no validation; see :func:`validate`).

    ``blocked`` emits the forms that onnxruntime's CPU provider keeps in its blocked NCHWc
    layout from end to end: PReLU with a depthwise 1×1 Conv (:func:`emit_prelu_blocked`) and
    channel-widening residual blocks as a split Conv, Add and Concat instead of Pad and Add
    (:meth:`TFLiteConverter._find_channel_pad_residuals`). Same values up to float rounding.
    """
    return TFLiteConverter(data, graph_name, blocked=blocked).convert(doc)


def convert_spec(spec: ModelSpec, tflite_bytes: bytes) -> ConvertedModel:
    """Convert one of :data:`MODELS` as its spec says (no validation)."""
    return convert_tflite(
        tflite_bytes, spec.name, model_doc(spec, tflite_bytes), blocked=spec.blocked_layout
    )


def model_doc(spec: ModelSpec, tflite_bytes: bytes) -> str:
    """Provenance string embedded in each .onnx (the Apache-2.0 notice of modification)."""
    return (
        f"{spec.name}: converted from {spec.wheel_path} (sha256 {sha256_bytes(tflite_bytes)}) "
        f"in {MEDIAPIPE_REQ} by onnx_models.convert {CONVERTER_VERSION}"
        f"{' (blocked layout)' if spec.blocked_layout else ''}. "
        "Copyright The MediaPipe Authors. Licensed under the Apache License 2.0; "
        "modified: format conversion to ONNX (see NOTICE)."
    )


# --------------------------------------------------------------------------------------------
# Validation, reference comparison, benchmarking
# --------------------------------------------------------------------------------------------


def validate(onnx_bytes: bytes, converted: ConvertedModel) -> None:
    """Full onnx.checker check + onnxruntime load + one run; raise on any problem."""
    import onnx
    import onnxruntime as ort

    model = onnx.load_from_string(onnx_bytes)
    onnx.checker.check_model(model, full_check=True)
    foreign = {n.op_type for n in model.graph.node if n.domain not in ("", "ai.onnx")}
    if foreign:
        raise ConversionError(f"non-standard ops left in graph: {sorted(foreign)}")
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    got_in = [(i.name, list(i.shape)) for i in sess.get_inputs()]
    want_in = [(i["name"], i["shape"]) for i in converted.inputs]
    got_out = [(o.name, list(o.shape)) for o in sess.get_outputs()]
    want_out = [(o["name"], o["shape"]) for o in converted.outputs]
    if got_in != want_in or got_out != want_out:
        raise ConversionError(f"onnxruntime sees {got_in} -> {got_out}")
    feeds = {n: np.zeros(s, np.float32) for n, s in want_in}
    for (name, shape), value in zip(want_out, sess.run(None, feeds), strict=True):
        if list(value.shape) != shape or not np.all(np.isfinite(value)):
            raise ConversionError(f"output {name}: bad shape {value.shape} or non-finite values")


@dataclass(frozen=True)
class DiffRow:
    """One reference comparison: input case × output tensor."""

    case: str
    output: str
    max_abs_diff: float
    ref_max_abs: float
    constant_input: bool


def check_inputs(spec: ModelSpec, shape: Sequence[int]) -> list[tuple[str, np.ndarray]]:
    """Fixed, seeded inputs over the model's value range, plus the range's two extremes."""
    lo, hi = spec.value_range
    cases = []
    for seed in (0, 1, 2):
        rng = np.random.default_rng(seed)
        cases.append((f"uniform(seed={seed})", rng.uniform(lo, hi, shape).astype(np.float32)))
    # A smooth image-like input: gradients + low-frequency blobs, deterministic.
    yy, xx = np.meshgrid(np.linspace(0, 1, shape[1]), np.linspace(0, 1, shape[2]), indexing="ij")
    smooth = np.stack([xx, yy, 0.5 + 0.5 * np.sin(6 * xx) * np.cos(4 * yy)], axis=-1)[None]
    cases.append(("smooth", (lo + (hi - lo) * smooth[..., : shape[3]]).astype(np.float32)))
    cases.append(("constant-min", np.full(shape, lo, np.float32)))
    cases.append(("constant-max", np.full(shape, hi, np.float32)))
    return cases


def _diff_rows(case: str, ref: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> list[DiffRow]:
    rows = []
    for name, value in ref.items():
        mine = got[name].astype(np.float64).ravel()
        theirs = np.asarray(value, np.float64).ravel()
        rows.append(
            DiffRow(
                case,
                name,
                float(np.max(np.abs(mine - theirs))),
                float(np.max(np.abs(theirs))),
                case.startswith("constant"),
            )
        )
    return rows


def compare_with_tflite(
    spec: ModelSpec, tflite_bytes: bytes, onnx_bytes: bytes
) -> list[DiffRow] | str:
    """Diffs vs the TFLite interpreter (ai-edge-litert, default XNNPACK), or why it can't run."""
    import onnxruntime as ort

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return "ai-edge-litert not installed (pip install ai-edge-litert)"
    try:
        interp = Interpreter(model_content=tflite_bytes, num_threads=1)
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        return f"TFLite interpreter cannot load it ({str(exc).splitlines()[0][:100]})"
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    (inp,) = interp.get_input_details()
    names = [o.name for o in sess.get_outputs()]
    rows: list[DiffRow] = []
    for label, x in check_inputs(spec, inp["shape"]):
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        ref = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
        got = dict(zip(names, sess.run(None, {inp["name"]: x}), strict=True))
        rows += _diff_rows(label, ref, got)
    return rows


# Runs inside a Python that has mediapipe==0.10.21 installed (its own venv: it pins numpy<2).
# MediaPipe's InferenceCalculator with TfLiteCustomOpResolverCalculator is the only stock runtime
# that resolves the attention model's custom ops. It is fed 8-bit images (ImageToTensorCalculator
# does the scaling) and hands back the exact input tensor it produced, so ONNX sees the same input.
_MEDIAPIPE_SCRIPT = r"""
import sys
import numpy as np
from google.protobuf import text_format
from mediapipe.framework import calculator_pb2
from mediapipe.python import packet_creator, packet_getter
from mediapipe.python._framework_bindings import calculator_graph, image_frame

model, exchange, height, width, lo, hi, n_out = sys.argv[1:8]
height, width, n_out = int(height), int(width), int(n_out)
nodes = [
    'input_stream: "image"',
    'output_stream: "inp"',
    *[f'output_stream: "f{i}"' for i in range(n_out)],
    'node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image" '
    'output_stream: "TENSORS:tensors" options { [mediapipe.ImageToTensorCalculatorOptions.ext] '
    f'{{ output_tensor_width: {width} output_tensor_height: {height} '
    f'output_tensor_float_range {{ min: {lo} max: {hi} }} }} }} }}',
    'node { calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:tensors" '
    'output_stream: "FLOATS:inp" }',
    'node { calculator: "TfLiteCustomOpResolverCalculator" '
    'output_side_packet: "OP_RESOLVER:op_resolver" }',
    'node { calculator: "InferenceCalculator" input_stream: "TENSORS:tensors" '
    'output_stream: "TENSORS:out" input_side_packet: "OP_RESOLVER:op_resolver" '
    f'options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: "{model}" '
    "delegate { xnnpack {} } } } }",
    'node { calculator: "SplitTensorVectorCalculator" input_stream: "out" '
    + " ".join(f'output_stream: "t{i}"' for i in range(n_out))
    + " options { [mediapipe.SplitVectorCalculatorOptions.ext] { "
    + " ".join(f"ranges {{ begin: {i} end: {i + 1} }}" for i in range(n_out))
    + " } } }",
    *[f'node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:t{i}" '
      f'output_stream: "FLOATS:f{i}" }}' for i in range(n_out)],
]
config = text_format.Parse("\n".join(nodes), calculator_pb2.CalculatorGraphConfig())
graph = calculator_graph.CalculatorGraph(graph_config=config)
got = {}
for name in ["inp"] + [f"f{i}" for i in range(n_out)]:
    graph.observe_output_stream(
        name, lambda s, p: got.setdefault(s, []).append(
            np.array(packet_getter.get_float_list(p), np.float32)))
images = np.load(exchange)["images"]
graph.start_run()
for t, img in enumerate(images):
    frame = image_frame.ImageFrame(image_format=image_frame.ImageFormat.SRGB, data=img)
    graph.add_packet_to_input_stream("image", packet_creator.create_image_frame(frame).at(t))
graph.close()
np.savez(exchange, **{k: np.stack(v) for k, v in got.items()})
"""


def mediapipe_images(height: int, width: int) -> list[tuple[str, np.ndarray]]:
    """8-bit RGB test images for the MediaPipe reference: noise, smooth, constant, a face sketch."""
    cases = []
    for seed in (0, 1, 2, 3):
        rng = np.random.default_rng(seed)
        cases.append((f"noise(seed={seed})", rng.integers(0, 256, (height, width, 3), np.uint8)))
    yy, xx = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    smooth = np.stack([xx, yy, 0.5 + 0.5 * np.sin(9 * xx) * np.cos(7 * yy)], axis=-1)
    cases.append(("smooth", (smooth * 255).astype(np.uint8)))
    sketch = np.full((height, width, 3), 40, np.uint8)
    sketch[((xx - 0.5) / 0.32) ** 2 + ((yy - 0.52) / 0.42) ** 2 < 1] = (200, 160, 130)
    for cx in (0.36, 0.64):
        sketch[((xx - cx) / 0.07) ** 2 + ((yy - 0.42) / 0.035) ** 2 < 1] = (30, 30, 30)
    sketch[((xx - 0.5) / 0.12) ** 2 + ((yy - 0.72) / 0.03) ** 2 < 1] = (150, 40, 40)
    cases.append(("face-sketch", sketch))
    cases.append(("constant-black", np.zeros((height, width, 3), np.uint8)))
    cases.append(("constant-white", np.full((height, width, 3), 255, np.uint8)))
    return cases


def compare_with_mediapipe(
    spec: ModelSpec, tflite_bytes: bytes, onnx_bytes: bytes, python: Path
) -> list[DiffRow] | str:
    """Diffs vs MediaPipe's own inference (custom-op resolver, XNNPACK), run by ``python``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    _, height, width, _ = inp.shape
    outputs = [o.name for o in sess.get_outputs()]
    cases = mediapipe_images(height, width)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / f"{spec.name}.tflite"
        model.write_bytes(tflite_bytes)
        exchange = Path(tmp) / "exchange.npz"
        np.savez(exchange, images=np.stack([img for _, img in cases]))
        lo, hi = spec.value_range
        cmd = [
            str(python),
            "-c",
            _MEDIAPIPE_SCRIPT,
            str(model),
            str(exchange),
            str(height),
            str(width),
            str(lo),
            str(hi),
            str(len(outputs)),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            return f"MediaPipe run failed: {proc.stderr.strip().splitlines()[-1:]}"
        result = dict(np.load(exchange))
    rows: list[DiffRow] = []
    for k, (label, _) in enumerate(cases):
        x = result["inp"][k].reshape(1, height, width, 3)
        got = dict(zip(outputs, sess.run(None, {inp.name: x}), strict=True))
        # InferenceCalculator keeps the model's output order, which the ONNX graph keeps too.
        ref = {name: result[f"f{i}"][k] for i, name in enumerate(outputs)}
        rows += _diff_rows(label, ref, got)
    return rows


def blocked_parity(spec: ModelSpec, onnx_bytes: bytes, reference: Path) -> float:
    """Largest raw-output difference between a blocked conversion and its plain one (already
    written to ``reference``) over :func:`check_inputs`."""
    import onnxruntime as ort

    blocked = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    plain = ort.InferenceSession(str(reference), providers=["CPUExecutionProvider"])
    (inp,) = plain.get_inputs()
    worst = 0.0
    for _, x in check_inputs(spec, inp.shape):
        feeds = {inp.name: x}
        for a, b in zip(blocked.run(None, feeds), plain.run(None, feeds), strict=True):
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))))
    return worst


def summarise(rows: list[DiffRow]) -> tuple[list[str], list[str]]:
    """Human-readable per-output lines, and failures (diff > 1e-3·max(1, |ref|) on any case).

    Constant inputs are reported apart: an all −1 image drives BlazeFace's outputs to ~3e4,
    where float32 rounding alone is ~1e-2 absolute.
    """
    lines, failures = [], []
    for name in dict.fromkeys(r.output for r in rows):
        mine = [r for r in rows if r.output == name]
        varied = [r for r in mine if not r.constant_input]
        const = [r for r in mine if r.constant_input]
        line = (
            f"{name}: max abs diff {max(r.max_abs_diff for r in varied):.1e} over "
            f"{len(varied)} varied inputs (|ref| ≤ {max(r.ref_max_abs for r in varied):.3g})"
        )
        if const:
            worst = max(const, key=lambda r: r.max_abs_diff)
            line += (
                f"; {worst.max_abs_diff:.1e} on constant inputs (|ref| ≤ "
                f"{max(r.ref_max_abs for r in const):.3g})"
            )
        lines.append(line)
        for r in mine:
            if r.max_abs_diff > 1e-3 * max(1.0, r.ref_max_abs):
                failures.append(f"{name} on {r.case}: max abs diff {r.max_abs_diff:.2e}")
    return lines, failures


def bench(onnx_bytes: bytes, runs: int = 100, threads: int = 2) -> float:
    """Median onnxruntime CPU latency in ms over ``runs`` (after a warm-up)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_bytes, so, providers=["CPUExecutionProvider"])
    feeds = {
        i.name: np.random.default_rng(0).uniform(0, 1, i.shape).astype(np.float32)
        for i in sess.get_inputs()
    }
    for _ in range(10):
        sess.run(None, feeds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.median(times))


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file + rename so an interrupted run never leaves a truncated model."""
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=f".{path.name}.") as fh:
        fh.write(data)
        tmp = Path(fh.name)
    tmp.chmod(0o644)  # NamedTemporaryFile creates 0600; these are ordinary repository files
    tmp.replace(path)


def _manifest_text(manifest: dict[str, Any]) -> str:
    """JSON with 2-space indent but short number lists (shapes, ranges) kept on one line."""
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    return (
        re.sub(
            r"\[\s*(-?[\d.]+(?:,\s*-?[\d.]+)*)\s*\]",
            lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
            text,
        )
        + "\n"
    )


def manifest_entry(
    spec: ModelSpec, tflite_bytes: bytes, onnx_bytes: bytes, converted: ConvertedModel
) -> dict[str, Any]:
    lo, hi = spec.value_range
    source: dict[str, Any] = {
        "wheel": MEDIAPIPE_REQ,
        "wheel_file": WHEEL_FILENAME,
        "wheel_sha256": WHEEL_SHA256,
        "path": spec.wheel_path,
        "tflite_sha256": sha256_bytes(tflite_bytes),
    }
    made: dict[str, Any] = {}
    if spec.blocked_layout:
        made = {
            "converter_options": {"blocked_layout": True},
            "parity": {"reference": spec.reference_name, "max_abs_diff": BLOCKED_PARITY_ATOL},
        }
    return {
        "name": spec.name,
        "file": f"{spec.name}.onnx",
        "source": source,
        **made,
        "sha256": sha256_bytes(onnx_bytes),
        "size_bytes": len(onnx_bytes),
        "licence": LICENCE,
        "inputs": converted.inputs,
        "outputs": converted.outputs,
        "preprocess": {
            "layout": "NHWC",
            "dtype": "float32",
            "channels": "RGB",
            "value_range": [lo, hi],
            "note": spec.preprocess_note,
        },
        "tflite_ops": converted.op_counts,
    }


def foreign_entries(manifest_path: Path) -> list[dict[str, Any]]:
    """Entries of an existing manifest for models this converter does not make (kept as is).

    onnx_models/ may also hold models from other sources; rewriting the manifest must not drop
    their records.
    """
    if not manifest_path.is_file():
        return []
    ours = {spec.name for spec in MODELS}
    models = json.loads(manifest_path.read_text()).get("models", [])
    return [e for e in models if e.get("name") not in ours]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="output directory")
    parser.add_argument(
        "--wheel",
        type=Path,
        default=None,
        help="mediapipe wheel (default: $CAMFX_MEDIAPIPE_WHEEL or pip download)",
    )
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare with the TFLite interpreter and verify determinism",
    )
    parser.add_argument(
        "--mediapipe-python",
        type=Path,
        default=os.environ.get("CAMFX_MEDIAPIPE_PYTHON") or None,
        help="python of a venv with mediapipe==0.10.21: --check then also verifies the models "
        "ai-edge-litert cannot run (custom ops) against MediaPipe's own inference",
    )
    parser.add_argument(
        "--bench",
        action="store_true",
        help="print onnxruntime CPU median latency (100 runs, 2 threads)",
    )
    args = parser.parse_args(argv)

    wheel = fetch_wheel(args.wheel, args.cache_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    failures = []
    for spec in MODELS:
        tfl = read_tflite(wheel, spec.wheel_path)
        converted = convert_spec(spec, tfl)
        data = converted.onnx_bytes
        validate(data, converted)
        if spec.blocked_layout:
            worst = blocked_parity(spec, data, args.out / f"{spec.reference_name}.onnx")
            print(f"  vs {spec.reference_name}.onnx: max abs diff {worst:.1e}", flush=True)
            if not worst <= BLOCKED_PARITY_ATOL:
                failures.append(f"{spec.name}: {worst:.2e} from {spec.reference_name}")
        _atomic_write(args.out / f"{spec.name}.onnx", data)
        entries.append(manifest_entry(spec, tfl, data, converted))
        line = f"{spec.name}: {len(data) / 1e6:.2f} MB, ops {converted.op_counts}"
        print(line, flush=True)
        if args.check:
            if convert_spec(spec, tfl).onnx_bytes != data:
                failures.append(f"{spec.name}: rerun is not byte-identical")
            result = compare_with_tflite(spec, tfl, data)
            label = "TFLite (ai-edge-litert)"
            if isinstance(result, str) and args.mediapipe_python is not None:
                print(f"  vs {label}: skipped: {result}")
                result = compare_with_mediapipe(spec, tfl, data, args.mediapipe_python)
                label = "MediaPipe 0.10.21 InferenceCalculator"
            if isinstance(result, str):
                print(f"  vs {label}: skipped: {result}")
                if args.mediapipe_python is not None:
                    failures.append(f"{spec.name}: no reference ran ({result})")
            else:
                lines, bad = summarise(result)
                for line in lines:
                    print(f"  vs {label}: {line}")
                failures += [f"{spec.name}/{b}" for b in bad]
        if args.bench:
            print(f"  onnxruntime CPU (2 threads) median {bench(data):.2f} ms")
    manifest = {
        "converter": {
            "module": "onnx_models.convert",
            "version": CONVERTER_VERSION,
            "opset": OPSET,
            "ir_version": IR_VERSION,
            "weights": "fp16 initializers + Cast to float32 (bit-identical to folding)",
        },
        "models": entries + foreign_entries(args.out / "manifest.json"),
    }
    _atomic_write(args.out / "manifest.json", _manifest_text(manifest).encode())
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
