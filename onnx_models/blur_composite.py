"""Generates the background blur's two ONNX graphs, so that on a GPU the frame goes to the
device once and the composited frame comes back once (issue 15):

* ``background_blur_room.onnx``: the room behind the person at the blur's reduced size,
  :func:`pipelines.segmentation.composite.background_estimate` and
  :func:`~pipelines.segmentation.composite.blurred_background_small` op for op: background
  weight ``w = max(0, 1 − 5·m)²``, the stack ``(B·w, G·w, R·w, w)`` blurred by ``kernel`` (a
  depthwise convolution, the borders mirrored as OpenCV's ``BORDER_REFLECT``), the push-pull
  hole filling of ``_fill_from_coarser``, desaturation, rounding to uint8. Inputs
  ``room_frame`` uint8 h×w×3 and ``room_mask`` float32 h×w (frame and mask at the reduced
  size), ``kernel`` float32 7×7 (centred, zero-padded: the work size keeps the radius ≤
  MAX_WORK_RADIUS = 3 px), ``desaturate`` float32 scalar; output ``room`` uint8 h×w×3.
* ``background_blur_composite.onnx``: :func:`pipelines.segmentation.fused.composite_over_small`
  and the light's curves: the room and ``mask`` (float32, any size: the refined mask's detail
  level) resized bilinearly (half-pixel centres, as ``cv2.resize``) to the frame's size,
  ``frame·m + room·(1 − m)`` rounded, then ``table`` (uint8 256×3, one curve per channel, as
  ``cv2.LUT``). Inputs ``frame`` uint8 H×W×3, ``mask``, ``room``, ``table``; output
  ``composite`` uint8 H×W×3.

Two graphs, not one: the light decides its curves from a thumbnail of the composite, which
needs the room; the room (24 KB at 1080p) comes back to the host for that, the frame does not.

Run ``python -m onnx_models.blur_composite`` to rewrite the files and their manifest entries;
the output is deterministic (tests/test_blur_device.py checks the committed files against it).

Where it departs from the CPU path, and why it hardly shows: the hole filling always makes
:data:`FILL_LEVELS` coarser levels (INTER_AREA as matrices of shared lengths, one per axis)
rather than stopping at the first level whose weights are all trusted: such a level ignores
the coarser one, so the extra levels change nothing. Float sums in another order, and
ONNX Runtime's bilinear coordinates (scale out/in) against OpenCV's (in/out), move a few
pixels by one level.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from onnx_models.manifest_text import put_last
from pipelines.segmentation.composite import (
    BACKGROUND_WEIGHT_GAIN,
    FILL_STEP,
    MAX_WORK_RADIUS,
    TRUSTED_WEIGHT,
)

ROOM_MODEL = "background_blur_room"
COMPOSITE_MODEL = "background_blur_composite"
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


def _model(g: _Graph, name: str, inputs: list[Any], outputs: list[Any]) -> Any:
    import onnx
    from onnx import helper

    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="camfx-blur-composite",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def build_room() -> Any:
    """The room graph (``background_blur_room``) as an ``onnx.ModelProto``."""
    from onnx import TensorProto, helper

    g = _Graph()
    f32, u8 = TensorProto.FLOAT, TensorProto.UINT8
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
    hwc = g.op("Transpose", [g.op("Squeeze", [room, g.const([0], "axis", np.int64)])],
               perm=[1, 2, 0])  # fmt: skip
    g.nodes.append(helper.make_node("Cast", [hwc], ["room"], name="room", to=TensorProto.UINT8))

    return _model(
        g,
        ROOM_MODEL,
        [
            helper.make_tensor_value_info("room_frame", u8, ["room_height", "room_width", 3]),
            helper.make_tensor_value_info("room_mask", f32, ["room_height", "room_width"]),
            helper.make_tensor_value_info("kernel", f32, [KERNEL_SIZE, KERNEL_SIZE]),
            helper.make_tensor_value_info("desaturate", f32, []),
        ],
        [helper.make_tensor_value_info("room", u8, ["room_height", "room_width", 3])],
    )


def build_composite() -> Any:
    """The composite graph (``background_blur_composite``) as an ``onnx.ModelProto``."""
    from onnx import TensorProto, helper

    g = _Graph()
    f32, u8 = TensorProto.FLOAT, TensorProto.UINT8
    frame = g.op("Unsqueeze", [g.op("Transpose", [g.op("Cast", ["frame"], to=f32)],
                 perm=[2, 0, 1]), g.const([0], "axis", np.int64)], "frame_nchw")  # fmt: skip
    room = g.op("Unsqueeze", [g.op("Transpose", [g.op("Cast", ["room"], to=f32)],
                perm=[2, 0, 1]), g.const([0], "axis", np.int64)], "room_nchw")  # fmt: skip
    room_up = _resize_to(g, room, frame)
    mask = g.op("Unsqueeze", ["mask", g.const([0, 1], "axes", np.int64)], "mask_nchw")
    mask_up = _resize_to(g, mask, frame)
    # frame·m + room·(1 − m) = room + m·(frame − room)
    mixed = g.op("Add", [room_up, g.op("Mul", [mask_up, g.op("Sub", [frame, room_up])])])
    mixed = g.op("Clip", [g.op("Round", [mixed]), g.const(0.0, "lo"), g.const(255.0, "hi")])
    hwc = g.op("Transpose", [g.op("Squeeze", [mixed, g.const([0], "axis", np.int64)])],
               perm=[1, 2, 0])  # fmt: skip
    # The light's curves (cv2.LUT with a 1×256×3 table): entry value·3 + channel of the
    # table's flat copy.
    index = g.op("Add", [g.op("Mul", [g.op("Cast", [hwc], to=TensorProto.INT64),
                                      g.const(3, "three", np.int64)]),
                         g.const([0, 1, 2], "channel", np.int64)], "table_index")  # fmt: skip
    flat = g.op("Reshape", ["table", g.const([-1], "flat", np.int64)], "table_flat")
    g.nodes.append(helper.make_node("Gather", [flat, index], ["composite"], name="composite"))
    return _model(
        g,
        COMPOSITE_MODEL,
        [
            helper.make_tensor_value_info("frame", u8, ["height", "width", 3]),
            helper.make_tensor_value_info("mask", f32, ["mask_height", "mask_width"]),
            helper.make_tensor_value_info("room", u8, ["room_height", "room_width", 3]),
            helper.make_tensor_value_info("table", u8, [256, 3]),
        ],
        [helper.make_tensor_value_info("composite", u8, ["height", "width", 3])],
    )


BUILDERS = {ROOM_MODEL: build_room, COMPOSITE_MODEL: build_composite}


def model_bytes(name: str) -> bytes:
    """The serialized graph ``name``, byte for byte what the committed file holds."""
    data: bytes = BUILDERS[name]().SerializeToString()
    return data


def _io(
    name: str, shape: list[Any], dtype: str, example: list[int] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "shape": shape, "dtype": dtype}
    if example is not None:
        spec["example"] = example  # the size tools/gpu_report.py times it at: 1080p in Studio
    return spec


ROOM_IO = {
    "inputs": [
        _io("room_frame", ["room_height", "room_width", 3], "uint8", [67, 120, 3]),
        _io("room_mask", ["room_height", "room_width"], "float32", [67, 120]),
        _io("kernel", [KERNEL_SIZE, KERNEL_SIZE], "float32"),
        _io("desaturate", [], "float32"),
    ],
    "outputs": [_io("room", ["room_height", "room_width", 3], "uint8")],
}
COMPOSITE_IO = {
    "inputs": [
        _io("frame", ["height", "width", 3], "uint8", [1080, 1920, 3]),
        _io("mask", ["mask_height", "mask_width"], "float32", [540, 960]),
        _io("room", ["room_height", "room_width", 3], "uint8", [67, 120, 3]),
        _io("table", [256, 3], "uint8"),
    ],
    "outputs": [_io("composite", ["height", "width", 3], "uint8")],
}
NOTES = {
    ROOM_MODEL: "the background blur's room estimate at its reduced size (composite.py's "
    "background_estimate and blurred_background_small) as ONNX ops",
    COMPOSITE_MODEL: "the background blur's composite at the frame's size (fused.py's "
    "composite_over_small) and the light's curves, as ONNX ops",
}


def manifest_entry(name: str, data: bytes) -> dict[str, Any]:
    return {
        "name": name,
        "file": f"{name}.onnx",
        "source": {
            "generated_by": "onnx_models/blur_composite.py",
            "command": ".venv/bin/python -m onnx_models.blur_composite",
            "note": f"no weights: {NOTES[name]}, for a GPU session",
        },
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "licence": "Apache-2.0",
        **(ROOM_IO if name == ROOM_MODEL else COMPOSITE_IO),
    }


def manifest_text(text: str, entries: dict[str, bytes]) -> str:
    """``manifest.json``'s text with these graphs' entries put last (replacing older ones);
    the other entries keep their layout byte for byte."""
    return put_last(text, {name: manifest_entry(name, data) for name, data in entries.items()})


def main(argv: list[str] | None = None) -> int:
    entries = {name: model_bytes(name) for name in BUILDERS}
    for name, data in entries.items():
        (MODELS_DIR / f"{name}.onnx").write_bytes(data)
        print(f"wrote {name}.onnx ({len(data)} bytes)", file=sys.stderr)
    manifest = MODELS_DIR / "manifest.json"
    manifest.write_text(manifest_text(manifest.read_text(encoding="utf-8"), entries), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
