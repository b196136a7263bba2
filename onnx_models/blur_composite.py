"""Generates ``background_blur_composite.onnx``: the background blur's room estimate and its
composite as one ONNX graph, so that on a GPU the frame goes to the device once and the
composited frame comes back once (issue 15).

Run ``python -m onnx_models.blur_composite`` to rewrite the file and its manifest entry; the
output is deterministic (tests/test_blur_device.py checks the committed file against it).

The graph is :func:`pipelines.segmentation.composite.background_estimate`,
:func:`~pipelines.segmentation.composite.blurred_background_small` and
:func:`pipelines.segmentation.fused.composite_over_small`, op for op:

* the room: background weight ``w = max(0, 1 − 5·m)²`` of the mask at the blur's reduced
  size, the stack ``(B·w, G·w, R·w, w)`` blurred by ``kernel`` (a depthwise convolution, the
  borders mirrored as OpenCV's ``BORDER_REFLECT``), then the push-pull hole filling of
  ``_fill_from_coarser`` over :data:`FILL_LEVELS` coarser levels, desaturation and rounding
  to uint8;
* the composite: the room and ``mask`` resized bilinearly (half-pixel centres, as
  ``cv2.resize``) to the frame's size, ``frame·m + room·(1 − m)``, rounded.

Inputs: ``frame`` uint8 H×W×3 (BGR), ``mask`` float32 at any size (the refined mask's detail
level), ``room_frame`` uint8 h×w×3 and ``room_mask`` float32 h×w (frame and mask at the blur's
reduced size), ``kernel`` float32 7×7 (the blur's kernel, centred, zero-padded: the work size
keeps its radius ≤ MAX_WORK_RADIUS = 3 px), ``desaturate`` float32 scalar. Output: ``composite``
uint8 H×W×3.

Where it departs from the CPU path, and why it hardly shows: the hole filling always makes
:data:`FILL_LEVELS` coarser levels (INTER_AREA as matrices of shared lengths, one per axis)
rather than stopping at the first level whose weights are all trusted: such a level ignores
the coarser one, so the extra levels change nothing. Float sums in another order, and
ONNX Runtime's bilinear coordinates (scale out/in) against OpenCV's (in/out), move a few
pixels by one level.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.segmentation.composite import (
    BACKGROUND_WEIGHT_GAIN,
    FILL_STEP,
    MAX_WORK_RADIUS,
    TRUSTED_WEIGHT,
)

MODEL_NAME = "background_blur_composite"
FILE_NAME = f"{MODEL_NAME}.onnx"
OPSET = 17  # as the converted networks: loadable by the same runtimes
IR_VERSION = 8
KERNEL_HALF = math.ceil(MAX_WORK_RADIUS)
KERNEL_SIZE = 2 * KERNEL_HALF + 1
FILL_LEVELS = 6
"""Coarser levels of the hole filling: from a 1920×1080 work size (4K with the weakest blur)
each a quarter of the last, down to 1×1."""
MODELS_DIR = Path(__file__).resolve().parent


class _Graph:
    """Nodes and constants with fresh names, in the order they were made (deterministic)."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str, dtype: Any = np.float32) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _resize_to(g: _Graph, x: str, like: str) -> str:
    """``x`` (N×C×h×w) resized bilinearly, half-pixel centres, to ``like``'s last two sizes."""
    hw = g.op("Slice", [g.op("Shape", [like]), g.const([2], "two", np.int64),
                        g.const([4], "four", np.int64)], "hw")  # fmt: skip
    nc = g.op("Slice", [g.op("Shape", [x]), g.const([0], "zero", np.int64),
                        g.const([2], "two", np.int64)], "nc")  # fmt: skip
    sizes = g.op("Concat", [nc, hw], "sizes", axis=0)
    return g.op("Resize", [x, "", "", sizes], "resized", mode="linear",
                coordinate_transformation_mode="half_pixel")  # fmt: skip


def _area_matrix(g: _Graph, n_in: str, n_out: str) -> str:
    """OpenCV's INTER_AREA along one axis as an ``n_out``×``n_in`` matrix (int64 scalars in):
    each output pixel the mean of the input interval ``[o·s, (o + 1)·s)``, ``s = n_in/n_out``,
    the pixels it cuts weighted by the length they share with it."""
    f32 = 1  # TensorProto.FLOAT
    fin = g.op("Cast", [n_in], "n_in", to=f32)
    scale = g.op("Div", [fin, g.op("Cast", [n_out], "n_out", to=f32)], "area_scale")
    zero, step = g.const(0, "zero", np.int64), g.const(1, "step", np.int64)
    i = g.op("Cast", [g.op("Range", [zero, n_in, step])], "in_index", to=f32)
    o = g.op("Cast", [g.op("Range", [zero, n_out, step])], "out_index", to=f32)
    row, col = g.const([1], "axis", np.int64), g.const([0], "axis", np.int64)
    i_lo, i_hi = g.op("Unsqueeze", [i, col]), g.op("Unsqueeze", [g.op("Add", [i, g.const(1.0,
                                                                "one")]), col])  # fmt: skip
    o_lo = g.op("Unsqueeze", [g.op("Mul", [o, scale]), row])
    o_hi = g.op("Unsqueeze", [g.op("Mul", [g.op("Add", [o, g.const(1.0, "one")]), scale]), row])
    shared = g.op("Relu", [g.op("Sub", [g.op("Min", [i_hi, o_hi]), g.op("Max", [i_lo, o_lo])])])
    return g.op("Div", [shared, scale], "area_weights")


def _area_resize(g: _Graph, x: str, out_hw: str) -> str:
    """``x`` (N×C×h×w) resized by INTER_AREA to ``out_hw`` (int64 [h', w'])."""
    shape = g.op("Shape", [x])
    h_in = g.op("Squeeze", [g.op("Slice", [shape, g.const([2], "two", np.int64),
                                           g.const([3], "three", np.int64)])])  # fmt: skip
    w_in = g.op("Squeeze", [g.op("Slice", [shape, g.const([3], "three", np.int64),
                                           g.const([4], "four", np.int64)])])  # fmt: skip
    h_out = g.op("Squeeze", [g.op("Slice", [out_hw, g.const([0], "zero", np.int64),
                                            g.const([1], "one", np.int64)])])  # fmt: skip
    w_out = g.op("Squeeze", [g.op("Slice", [out_hw, g.const([1], "one", np.int64),
                                            g.const([2], "two", np.int64)])])  # fmt: skip
    along_w = g.op("MatMul", [x, g.op("Transpose", [_area_matrix(g, w_in, w_out)], perm=[1, 0])])
    return g.op("MatMul", [_area_matrix(g, h_in, h_out), along_w], "area")


def _quarter_hw(g: _Graph, x: str) -> str:
    """``max(1, h // 4)``, ``max(1, w // 4)`` of ``x`` (N×C×h×w), as int64 [2]."""
    hw = g.op("Slice", [g.op("Shape", [x]), g.const([2], "two", np.int64),
                        g.const([4], "four", np.int64)])  # fmt: skip
    quarter = g.op("Div", [hw, g.const([FILL_STEP, FILL_STEP], "step", np.int64)])
    return g.op("Max", [quarter, g.const([1, 1], "one", np.int64)], "coarser_hw")


def _mirror_pad(g: _Graph, x: str, axis: int, pad: int) -> str:
    """``x`` with ``pad`` rows (or columns) mirrored on each side along ``axis``, edge pixel
    repeated (OpenCV's BORDER_REFLECT, ``cba|abcd``; ONNX's Pad "reflect" is REFLECT_101)."""
    i64 = np.int64
    axes = g.const([axis], "axis", i64)
    step = g.const([-1], "back", i64)
    before = g.op("Slice", [x, g.const([pad - 1], "start", i64),
                            g.const([-(2**62)], "end", i64), axes, step], "before")  # fmt: skip
    after = g.op("Slice", [x, g.const([-1], "start", i64), g.const([-pad - 1], "end", i64),
                           axes, step], "after")  # fmt: skip
    return g.op("Concat", [before, x, after], "padded", axis=axis)


def build() -> Any:
    """The graph as an ``onnx.ModelProto``."""
    import onnx
    from onnx import TensorProto, helper

    g = _Graph()
    f32 = TensorProto.FLOAT
    one = g.const(1.0, "one")

    # --- the room: mean of the background pixels around each pixel, at the reduced size.
    room_frame = g.op("Cast", ["room_frame"], "room_frame_f", to=f32)  # h×w×3
    m = g.op("Unsqueeze", ["room_mask", g.const([2], "axis", np.int64)], "room_mask_hw1")
    weight = g.op("Relu", [g.op("Sub", [one, g.op("Mul", [m, g.const(BACKGROUND_WEIGHT_GAIN,
                                                                     "gain")])])])  # fmt: skip
    weight = g.op("Mul", [weight, weight], "background_weight")  # h×w×1
    # The stack (B·w, G·w, R·w, w): the colours with a channel of ones, times w.
    stack = g.op("Concat", [g.op("Mul", [room_frame, weight]), weight], "stack", axis=2)
    stack = g.op("Unsqueeze", [g.op("Transpose", [stack], perm=[2, 0, 1]),
                               g.const([0], "axis", np.int64)], "stack_nchw")  # fmt: skip
    padded = _mirror_pad(g, _mirror_pad(g, stack, 2, KERNEL_HALF), 3, KERNEL_HALF)
    kernels = g.op("Expand", [g.op("Reshape", ["kernel", g.const([1, 1, KERNEL_SIZE,
                   KERNEL_SIZE], "kshape", np.int64)]), g.const([4, 1, KERNEL_SIZE, KERNEL_SIZE],
                   "kshape4", np.int64)], "kernels")  # fmt: skip
    blurred = g.op("Conv", [padded, kernels], "blurred", group=4)  # 1×4×h×w

    # Push-pull hole filling (composite._fill_from_coarser), coarsest level first.
    levels = [blurred]
    for _ in range(FILL_LEVELS):
        levels.append(_area_resize(g, levels[-1], _quarter_hw(g, levels[-1])))
    fallback = g.op("Unsqueeze", [g.op("Transpose", [room_frame], perm=[2, 0, 1]),
                                  g.const([0], "axis", np.int64)], "fallback")  # fmt: skip
    coarsest_hw = g.op("Slice", [g.op("Shape", [levels[-1]]), g.const([2], "two", np.int64),
                                 g.const([4], "four", np.int64)])  # fmt: skip
    # The uint8 frame shrunk by INTER_AREA is rounded to uint8 before it is used.
    colour = g.op("Round", [_area_resize(g, fallback, coarsest_hw)], "fallback_small")
    trusted = g.const(TRUSTED_WEIGHT, "trusted")
    split3 = g.const([3, 1], "split", np.int64)
    for level in reversed(levels):
        coarse = _resize_to(g, colour, level)
        weighted = g.name("weighted")
        level_weight = g.name("level_weight")
        g.nodes.append(helper.make_node("Split", [level, split3], [weighted, level_weight],
                                    name=g.name("split"), axis=1))  # fmt: skip
        fill = g.op("Relu", [g.op("Sub", [trusted, level_weight])], "fill")
        colour = g.op("Div", [g.op("Add", [weighted, g.op("Mul", [coarse, fill])]),
                              g.op("Add", [level_weight, fill])], "colour")  # fmt: skip

    # Desaturation: grey as cv2.COLOR_BGR2GRAY on float (0.114 B + 0.587 G + 0.299 R).
    grey_weights = g.const(np.array([0.114, 0.587, 0.299], np.float32).reshape(1, 3, 1, 1), "bgr")
    grey = g.op("ReduceSum", [g.op("Mul", [colour, grey_weights]),
                              g.const([1], "axis", np.int64)], "grey", keepdims=1)  # fmt: skip
    colour = g.op("Add", [colour, g.op("Mul", ["desaturate", g.op("Sub", [grey, colour])])])
    # convertScaleAbs: round half to even and saturate to 0..255, as the uint8 room.
    room = g.op("Clip", [g.op("Round", [colour]), g.const(0.0, "lo"), g.const(255.0, "hi")],
                "room_small")  # fmt: skip

    # --- the composite at the frame's size.
    frame = g.op("Unsqueeze", [g.op("Transpose", [g.op("Cast", ["frame"], to=f32)],
                 perm=[2, 0, 1]), g.const([0], "axis", np.int64)], "frame_nchw")  # fmt: skip
    room_up = _resize_to(g, room, frame)
    mask = g.op("Unsqueeze", ["mask", g.const([0, 1], "axes", np.int64)], "mask_nchw")
    mask_up = _resize_to(g, mask, frame)
    # frame·m + room·(1 − m) = room + m·(frame − room)
    mixed = g.op("Add", [room_up, g.op("Mul", [mask_up, g.op("Sub", [frame, room_up])])])
    mixed = g.op("Clip", [g.op("Round", [mixed]), g.const(0.0, "lo"), g.const(255.0, "hi")])
    hwc = g.op("Transpose", [g.op("Squeeze", [mixed, g.const([0], "axis", np.int64)])],
               perm=[1, 2, 0])  # fmt: skip
    g.nodes.append(
        helper.make_node("Cast", [hwc], ["composite"], name="composite", to=TensorProto.UINT8)
    )

    u8 = TensorProto.UINT8
    graph = helper.make_graph(
        g.nodes,
        MODEL_NAME,
        [
            helper.make_tensor_value_info("frame", u8, ["height", "width", 3]),
            helper.make_tensor_value_info("mask", f32, ["mask_height", "mask_width"]),
            helper.make_tensor_value_info("room_frame", u8, ["room_height", "room_width", 3]),
            helper.make_tensor_value_info("room_mask", f32, ["room_height", "room_width"]),
            helper.make_tensor_value_info("kernel", f32, [KERNEL_SIZE, KERNEL_SIZE]),
            helper.make_tensor_value_info("desaturate", f32, []),
        ],
        [helper.make_tensor_value_info("composite", u8, ["height", "width", 3])],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="camfx-blur-composite",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def model_bytes() -> bytes:
    """The serialized graph, byte for byte what the committed file holds."""
    data: bytes = build().SerializeToString()
    return data


def manifest_entry(data: bytes) -> dict[str, Any]:
    return {
        "name": MODEL_NAME,
        "file": FILE_NAME,
        "source": {
            "generated_by": "onnx_models/blur_composite.py",
            "command": ".venv/bin/python -m onnx_models.blur_composite",
            "note": (
                "no weights: the background blur's room estimate and composite "
                "(pipelines/segmentation/composite.py) as ONNX ops, for a GPU session"
            ),
        },
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "licence": "Apache-2.0",
        # "example": a size to time the graph at (tools/gpu_report.py), 1080p in Studio.
        "inputs": [
            {
                "name": "frame",
                "shape": ["height", "width", 3],
                "dtype": "uint8",
                "example": [1080, 1920, 3],
            },
            {
                "name": "mask",
                "shape": ["mask_height", "mask_width"],
                "dtype": "float32",
                "example": [540, 960],
            },
            {
                "name": "room_frame",
                "shape": ["room_height", "room_width", 3],
                "dtype": "uint8",
                "example": [67, 120, 3],
            },
            {
                "name": "room_mask",
                "shape": ["room_height", "room_width"],
                "dtype": "float32",
                "example": [67, 120],
            },
            {"name": "kernel", "shape": [KERNEL_SIZE, KERNEL_SIZE], "dtype": "float32"},
            {"name": "desaturate", "shape": [], "dtype": "float32"},
        ],
        "outputs": [{"name": "composite", "shape": ["height", "width", 3], "dtype": "uint8"}],
    }


def manifest_text(text: str, data: bytes) -> str:
    """``manifest.json``'s text with this graph's entry put last (replacing an older one);
    the other entries keep their layout byte for byte."""
    mine = text.find(f'    {{\n      "name": "{MODEL_NAME}"')
    if mine >= 0:
        text = text[: text.rfind(",", 0, mine)] + "\n  ]\n}"
    body = json.dumps(manifest_entry(data), indent=2, ensure_ascii=False)
    body = re.sub(
        r"\[\s*([^\[\]{}]*?)\s*\]",
        lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]",
        body,
    )
    body = "\n".join("    " + line for line in body.splitlines())
    end = text.rstrip().rfind("]")
    text = text[:end].rstrip() + ",\n" + body + "\n  ]\n}"
    json.loads(text)  # still valid
    return text


def main(argv: list[str] | None = None) -> int:
    data = model_bytes()
    (MODELS_DIR / FILE_NAME).write_bytes(data)
    manifest = MODELS_DIR / "manifest.json"
    manifest.write_text(manifest_text(manifest.read_text(encoding="utf-8"), data), "utf-8")
    print(f"wrote {FILE_NAME} ({len(data)} bytes) and its manifest entry", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
