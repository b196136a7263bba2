"""Tests of the committed ONNX models and of the TFLite → ONNX converter's op translations.

Fast and offline. The committed-file checks need only onnxruntime (a runtime dependency); the
op-translation tests need the converter extras (onnx, tflite) and skip without them; the
reproducibility test also needs the mediapipe wheel already in the cache (it never downloads).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from onnx_models import MODELS_DIR

MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())
EXPECTED_MODELS = {
    "face_detection_short_range",
    "face_landmark",
    "face_landmark_with_attention",
    "iris_landmark",
    "selfie_segmentation",
    "selfie_segmentation_landscape",
    "face_landmark_with_attention_blocked",
}
BLOCKED = {"face_landmark_with_attention_blocked": "face_landmark_with_attention"}
"""Blocked-layout conversions → the plain conversion of the same network."""
# The manifest may also record models from other sources; these tests cover the converted ones.
ENTRIES = [e for e in MANIFEST["models"] if e["name"] in EXPECTED_MODELS]


# ---- committed files --------------------------------------------------------------------------


def test_manifest_lists_the_converted_models() -> None:
    assert {e["name"] for e in ENTRIES} == EXPECTED_MODELS
    by_name = {e["name"]: e for e in ENTRIES}
    for e in ENTRIES:
        assert e["file"] == f"{e['name']}.onnx"
        assert e["licence"] == "Apache-2.0"
        assert e["source"]["wheel"] == "mediapipe==0.10.21"
        network = BLOCKED.get(e["name"], e["name"])
        assert e["source"]["path"].endswith(f"/{network}.tflite")
        if e["name"] in BLOCKED:
            plain = by_name[network]
            assert e["converter_options"] == {"blocked_layout": True}
            assert e["parity"]["reference"] == network
            assert (e["inputs"], e["outputs"]) == (plain["inputs"], plain["outputs"])
            assert e["source"] == plain["source"]
        assert e["preprocess"]["layout"] == "NHWC"
        assert e["preprocess"]["dtype"] == "float32"
    ranges = {e["name"]: tuple(e["preprocess"]["value_range"]) for e in ENTRIES}
    assert ranges["face_detection_short_range"] == (-1.0, 1.0)
    assert all(r == (0.0, 1.0) for n, r in ranges.items() if n != "face_detection_short_range")


def test_licence_files_present() -> None:
    notice = (MODELS_DIR / "NOTICE").read_text()
    assert "Copyright The MediaPipe Authors" in notice
    assert "converted" in notice
    licence = (MODELS_DIR / "LICENSE-Apache-2.0.txt").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["name"])
def test_committed_file_matches_manifest(entry: dict) -> None:
    data = (MODELS_DIR / entry["file"]).read_bytes()
    assert len(data) == entry["size_bytes"]
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["name"])
def test_model_loads_and_runs_with_manifest_signature(entry: dict) -> None:
    sess = ort.InferenceSession(str(MODELS_DIR / entry["file"]), providers=["CPUExecutionProvider"])
    got_in = [{"name": i.name, "shape": i.shape, "dtype": "float32"} for i in sess.get_inputs()]
    got_out = [{"name": o.name, "shape": o.shape, "dtype": "float32"} for o in sess.get_outputs()]
    assert got_in == entry["inputs"]
    assert got_out == entry["outputs"]
    assert all(i.type == "tensor(float)" for i in [*sess.get_inputs(), *sess.get_outputs()])
    (inp,) = entry["inputs"]
    lo, hi = entry["preprocess"]["value_range"]
    x = np.random.default_rng(0).uniform(lo, hi, inp["shape"]).astype(np.float32)
    for value, spec in zip(sess.run(None, {inp["name"]: x}), entry["outputs"], strict=True):
        assert list(value.shape) == spec["shape"]
        assert np.all(np.isfinite(value))


# ---- converter helpers ------------------------------------------------------------------------

onnx = pytest.importorskip("onnx")
convert = pytest.importorskip("onnx_models.convert")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["name"])
def test_committed_graph_is_plain_opset17(entry: dict) -> None:
    model = onnx.load(str(MODELS_DIR / entry["file"]))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert {n.domain for n in model.graph.node} <= {""}
    assert not any(n.op_type.startswith("TFL") for n in model.graph.node)
    assert "Copyright The MediaPipe Authors" in model.graph.doc_string


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "expected"),
    [
        (128, 5, 1, 1, (2, 2)),
        (128, 3, 2, 1, (0, 1)),  # TF puts the odd pixel at the end
        (64, 2, 2, 1, (0, 0)),
        (7, 3, 2, 1, (1, 1)),
        (6, 3, 2, 1, (0, 1)),
        (10, 3, 1, 2, (2, 2)),
        (1, 3, 1, 1, (1, 1)),
    ],
)
def test_same_padding(size: int, kernel: int, stride: int, dilation: int, expected: tuple) -> None:
    assert convert.same_padding(size, kernel, stride, dilation) == expected
    before, after = expected
    effective = (kernel - 1) * dilation + 1
    assert (size + before + after - effective) // stride + 1 == math.ceil(size / stride)


def test_pad_and_constant_relayout() -> None:
    paddings = np.array([[0, 0], [1, 2], [3, 4], [0, 5]], np.int32)
    assert convert.nhwc_paddings_to_onnx(paddings) == [0, 0, 1, 3, 0, 5, 2, 4]
    assert convert.const_to_nchw(np.arange(4.0)).shape == (1, 4, 1, 1)
    assert convert.const_to_nchw(np.zeros((1, 1, 4))).shape == (1, 4, 1, 1)
    nhwc = np.arange(24.0).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(convert.const_to_nchw(nhwc), nhwc.transpose(0, 3, 1, 2))


def test_fp16_constants_are_stored_as_fp16_plus_cast() -> None:
    b = convert.GraphBuilder()
    name = b.const(np.array([1.5, -2.25], np.float16), "w")
    assert b.initializers[0].data_type == onnx.TensorProto.FLOAT16
    assert b.nodes[-1].op_type == "Cast" and b.nodes[-1].output == [name]


def _run(b: convert.GraphBuilder, feeds: dict[str, np.ndarray], outs: dict[str, tuple]) -> list:
    """Build a model from the builder's nodes (full onnx check included) and run it in ORT."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        b.nodes,
        "t",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in feeds.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, shp) for o, shp in outs.items()],
        b.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(list(outs), feeds)


def test_prelu_lowering_is_bit_exact() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 4, 5, 6)).astype(np.float32)
    x[0, 0, 0, :3] = [0.0, -0.0, 1e-38]
    alpha = rng.uniform(-0.5, 0.5, (1, 4, 1, 1)).astype(np.float32)
    b = convert.GraphBuilder(["x"])
    out = convert.emit_prelu(b, "x", b.const(alpha, "alpha"), "y")
    (y,) = _run(b, {"x": x}, {out: x.shape})
    np.testing.assert_array_equal(y, np.where(x > 0, x, alpha * x))


PRELU_CHANNELS = 16
"""Enough channels for onnxruntime's blocked (NCHWc) kernels to take the depthwise convs."""
BLOCKED_PRELU_ROUNDING = np.finfo(np.float32).eps
"""The blocked PReLU, x + (1 − alpha)·relu(−x), rounds twice where x < 0 (the product, then the
sum): within this much of each of the two results, relative (eps = twice a rounding's bound)."""


def test_blocked_prelu_is_exact_for_positives_and_two_roundings_off_otherwise() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, PRELU_CHANNELS, 5, 6)).astype(np.float32)
    x[0, 0, 0, :3] = [0.0, -0.0, 1e-38]
    # Slopes as the mesh has them (fp16, -4.2 to 6.2), with 0, 1 and tiny ones among them.
    alpha = rng.uniform(-4.0, 6.0, (PRELU_CHANNELS,)).astype(np.float16)
    alpha[:4] = [0.0, 1.0, 1e-3, -1e-3]
    b = convert.GraphBuilder(["x"])
    out = convert.emit_prelu_blocked(b, "x", alpha, "y")
    assert {n.op_type for n in b.nodes} <= {"Relu", "Conv", "Add", "Cast"}  # no Sub, no Mul
    (y,) = _run(b, {"x": x}, {out: x.shape})
    slope = alpha.astype(np.float64).reshape(1, -1, 1, 1)
    x64 = x.astype(np.float64)
    exact = np.where(x > 0, x64, slope * x64)
    np.testing.assert_array_equal(y[x >= 0], x[x >= 0])
    product = np.abs((1.0 - slope) * np.minimum(x64, 0.0))
    bound = BLOCKED_PRELU_ROUNDING * (product + np.abs(exact))
    assert np.all(np.abs(y - exact) <= bound)


def _ref_transpose_conv_bias(x, w_ohwi, bias, strides, same):
    """Loop translation of mediapipe/util/tflite/operations/transpose_conv_bias.cc (NHWC)."""
    _, h, wd, _ = x.shape
    _, kh, kw, _ = w_ohwi.shape
    sh, sw = strides
    pad_h = max(0, kh - (h - 1) % sh - 1) if same else 0
    pad_w = max(0, kw - (wd - 1) % sw - 1) if same else 0
    oh, ow = sh * (h - 1) + kh - pad_h, sw * (wd - 1) + kw - pad_w
    out = np.tile(bias.astype(np.float64), (1, oh, ow, 1))
    for iy in range(h):
        for ix in range(wd):
            for fy in range(kh):
                for fx in range(kw):
                    oy, ox = iy * sh - pad_h // 2 + fy, ix * sw - pad_w // 2 + fx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        out[0, oy, ox] += w_ohwi[:, fy, fx, :] @ x[0, iy, ix]
    return out


@pytest.mark.parametrize(
    ("hw", "kernel", "strides", "same"),
    [((3, 4), 2, (2, 2), False), ((3, 4), 3, (2, 2), True), ((5, 3), 3, (2, 1), True)],
)
def test_transpose_conv_bias(hw, kernel, strides, same) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, *hw, 3)).astype(np.float32)
    w = rng.normal(size=(2, kernel, kernel, 3)).astype(np.float16)  # fp16 weights, as in the wheel
    bias = rng.normal(size=2).astype(np.float32)
    b = convert.GraphBuilder(["x"])
    out, out_hw = convert.emit_transpose_conv_bias(b, "x", w, bias, hw, strides, same, "y")
    (y,) = _run(b, {"x": x.transpose(0, 3, 1, 2)}, {out: (1, 2, *out_hw)})
    ref = _ref_transpose_conv_bias(x, w.astype(np.float32), bias, strides, same)
    assert ref.shape[1:3] == out_hw
    np.testing.assert_allclose(y.transpose(0, 2, 3, 1), ref, atol=1e-5)


def _ref_landmarks_to_matrix(lm: np.ndarray, a: dict) -> np.ndarray:
    """Float64 translation of Landmarks2TransformMatrix v2 (landmarks_to_transform_matrix.cc)."""
    left, right = lm[a["left_rotation_idx"], :2], lm[a["right_rotation_idx"], :2]
    rot = a["target_rotation_radians"] - math.atan2(right[1] - left[1], right[0] - left[0])

    def r2(t):
        return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])

    pts = lm[a["subset_idxs"], :2] @ r2(rot).T
    hi, lo = pts.max(0), pts.min(0)
    w, h = hi - lo
    cx, cy = r2(-rot) @ ((hi + lo) / 2)

    def m4(lin, t):
        m = np.eye(4)
        m[:2, :2], m[:2, 3] = lin, t
        return m

    ow, oh = a["output_width"], a["output_height"]
    return (
        m4(np.eye(2), (cx, cy))
        @ m4(r2(-rot), (0, 0))
        @ m4(np.diag([a["scale_x"] * w / ow, a["scale_y"] * h / oh]), (0, 0))
        @ m4(np.eye(2), (-ow / 2, -oh / 2))
    )


@pytest.mark.parametrize("target", [0.0, 0.4])
@pytest.mark.parametrize("degenerate", [False, True])
def test_landmarks_to_transform_matrix(target: float, degenerate: bool) -> None:
    rng = np.random.default_rng(3)
    lm = rng.uniform(20, 170, (1, 12, 3)).astype(np.float32)
    attrs = {
        "left_rotation_idx": 2,
        "right_rotation_idx": 7,
        "subset_idxs": [2, 7, 0, 4, 5, 9, 11],  # odd count: the parser repeats the last one
        "output_width": 16,
        "output_height": 16,
        "scale_x": 1.5,
        "scale_y": 1.5,
        "target_rotation_radians": target,
    }
    if degenerate:  # left == right point: atan2(0, 0) = 0 in C++
        lm[0, 7, :2] = lm[0, 2, :2]
    b = convert.GraphBuilder(["lm"])
    out = convert.emit_landmarks_to_transform_matrix(b, "lm", attrs, "m")
    (m,) = _run(b, {"lm": lm}, {out: (1, 4, 4)})
    ref = _ref_landmarks_to_matrix(lm[0].astype(np.float64), attrs)
    assert m.shape == (1, 4, 4)
    np.testing.assert_allclose(m[0], ref, rtol=1e-5, atol=1e-4)


def _ref_transform_tensor_bilinear(feat: np.ndarray, matrix: np.ndarray, out_hw) -> np.ndarray:
    """Loop translation of TransformTensorBilinear v2 (transform_tensor_bilinear.cc), NHWC."""
    _, h, w, c = feat.shape
    ax, ay = matrix[0].astype(np.float64).copy(), matrix[1].astype(np.float64).copy()
    ax[3] += ax[0] * 0.5 + ax[1] * 0.5 - 0.5
    ay[3] += ay[0] * 0.5 + ay[1] * 0.5 - 0.5
    out = np.zeros((1, *out_hw, c))

    def read(y, x):
        return feat[0, y, x] if 0 <= y < h and 0 <= x < w else np.zeros(c)

    for oy in range(out_hw[0]):
        for ox in range(out_hw[1]):
            tx, ty = ax @ (ox, oy, 0, 1), ay @ (ox, oy, 0, 1)
            if tx < 0 or tx > w - 1 or ty < 0 or ty > h - 1:
                continue
            x0, y0 = math.floor(tx), math.floor(ty)
            fx, fy = tx - x0, ty - y0
            upper = (1 - fx) * read(y0, x0) + fx * read(y0, x0 + 1)
            lower = (1 - fx) * read(y0 + 1, x0) + fx * read(y0 + 1, x0 + 1)
            out[0, oy, ox] = fy * lower + (1 - fy) * upper
    return out


def test_transform_tensor_bilinear_masks_outside_points() -> None:
    rng = np.random.default_rng(4)
    feat = rng.normal(size=(1, 12, 10, 3)).astype(np.float32)
    s, t = 1.7, 0.3
    matrix = np.array(
        [
            [s * math.cos(t), -s * math.sin(t), 0.0, -2.0],
            [s * math.sin(t), s * math.cos(t), 0.0, -1.5],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ],
        np.float32,
    )[None]
    b = convert.GraphBuilder(["f", "m"])
    out = convert.emit_transform_tensor_bilinear(b, "f", "m", (12, 10), (8, 9), "y")
    (y,) = _run(b, {"f": feat.transpose(0, 3, 1, 2), "m": matrix}, {out: (1, 3, 8, 9)})
    ref = _ref_transform_tensor_bilinear(feat, matrix[0], (8, 9))
    zero = np.all(ref == 0, axis=-1)
    assert zero.any() and not zero.all()  # the crop really straddles the feature map's edge
    np.testing.assert_allclose(y.transpose(0, 2, 3, 1), ref, atol=1e-5)


@pytest.mark.parametrize("dims", [2, 3])
def test_transform_landmarks(dims: int) -> None:
    rng = np.random.default_rng(5)
    lm = rng.normal(size=(1, 6, dims)).astype(np.float32)
    matrix = rng.normal(size=(1, 4, 4)).astype(np.float32)
    b = convert.GraphBuilder(["lm", "m"])
    out = convert.emit_transform_landmarks(b, "lm", "m", 6, dims, "y")
    (y,) = _run(b, {"lm": lm, "m": matrix}, {out: lm.shape})
    homo = np.concatenate([lm[0, :, :2], np.zeros((6, 1)), np.ones((6, 1))], axis=1)
    ref = lm[0].astype(np.float64).copy()
    ref[:, :2] = homo @ matrix[0, :2].T.astype(np.float64)
    np.testing.assert_allclose(y[0], ref, atol=1e-5)


def test_unsupported_ops_raise() -> None:
    with pytest.raises(convert.ConversionError):
        convert.emit_transform_landmarks(convert.GraphBuilder(), "a", "b", 3, 4)
    b = convert.GraphBuilder()
    b.claim("x")
    with pytest.raises(convert.ConversionError):
        b.claim("x")


# ---- reproducibility (needs the wheel already cached; never downloads) ------------------------


def _cached_wheel() -> Path | None:
    env = os.environ.get("CAMFX_MEDIAPIPE_WHEEL")
    path = Path(env) if env else convert.default_cache_dir() / convert.WHEEL_FILENAME
    return path if path.is_file() else None


@pytest.mark.skipif(_cached_wheel() is None, reason="mediapipe wheel not in the local cache")
def test_reconversion_is_byte_identical_to_committed_files() -> None:
    pytest.importorskip("tflite")
    wheel = _cached_wheel()
    assert wheel is not None
    assert convert.sha256_file(wheel) == convert.WHEEL_SHA256
    by_name = {e["name"]: e for e in ENTRIES}
    for spec in convert.MODELS:
        tfl = convert.read_tflite(wheel, spec.wheel_path)
        entry = by_name[spec.name]
        assert hashlib.sha256(tfl).hexdigest() == entry["source"]["tflite_sha256"]
        data = convert.convert_spec(spec, tfl).onnx_bytes
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], spec.name


BLOCKED_REORDERS_MAX_SHARE = 0.25
"""The blocked mesh's layout reorders in onnxruntime's optimised graph, at most this share of
the plain mesh's (measured 35 against 179 on an AVX-512 CPU, NCHWc blocks of 16)."""


def _reorders(path: Path, tmp: Path) -> int:
    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp / f"{path.stem}.opt.onnx")
    so.log_severity_level = 3  # the "hardware specific" warning about saving an NCHWc graph
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    graph = onnx.load(so.optimized_model_filepath).graph
    return sum(n.op_type in ("ReorderInput", "ReorderOutput") for n in graph.node)


@pytest.mark.parametrize(("blocked", "plain"), list(BLOCKED.items()))
def test_blocked_graph_stays_in_the_blocked_layout(blocked: str, plain: str, tmp_path) -> None:
    """What the blocked conversion is for: onnxruntime keeps its NCHWc layout through it instead
    of reordering around every PReLU and widened residual (no Pad left, no Sub or Mul per
    PReLU)."""
    ops = {n.op_type for n in onnx.load(str(MODELS_DIR / f"{blocked}.onnx")).graph.node}
    assert "Pad" not in ops
    plain_reorders = _reorders(MODELS_DIR / f"{plain}.onnx", tmp_path)
    if plain_reorders == 0:
        pytest.skip("this onnxruntime build runs no NCHWc layout on this CPU")
    got = _reorders(MODELS_DIR / f"{blocked}.onnx", tmp_path)
    assert got <= BLOCKED_REORDERS_MAX_SHARE * plain_reorders, (got, plain_reorders)
