"""Would int8 or fp16 copies of the face mesh and the selfie-segmentation networks pay? (issue 15)

    PYTHONPATH=. nice -n 10 .venv/bin/python tools/quantize_models.py [--frames 120] [--rounds 40]
        [--models mesh,landscape,general] [--out /tmp/camfx-quant] [--json FILE]

For each network it builds, with ``onnxruntime.quantization`` (the ONNX Runtime the app runs):

* ``dyn``: dynamic int8 (per-channel weights, activations quantized at run time);
* ``qdq``: static int8 QDQ, uint8 activations, per-channel int8 weights (the U8S8 path that
  ONNX Runtime's MLAS runs with AVX2 / AVX-512 VNNI), every quantizable op;
* ``qdq-conv``: the same, convolutions only (element-wise ops stay float);
* ``qdq-mid``: convolutions only, without the first and the last Conv in graph order;
* ``qdq-wide``: only the dense convolutions with ≥64×64 weights (the memory-bound ones);
* ``fp16``: every float op in half precision (``onnxruntime.transformers.float16``, float32 I/O);

from the committed models with their fp16 weights folded to float32 (the quantizer reads
initializers only). Static variants are calibrated on the even frames of the demo source
(1280×720); parity is measured on the odd frames and on pictures never used for calibration.

Latency: one intra-op thread without spinning (the app's tracker and segmentation sessions),
CPU time of the calling thread per call (``time.thread_time``: a busy machine preempts the
thread but does not add to it), the variants alternated block by block (5 calls; forward and
backward order), medians.

Parity against the float model, on the same inputs:

* mesh: the 478 landmarks (x, y) mapped back to the 1280×720 frame through the tracked ROI
  (max, p99, median px over all points and frames), and in 192-px crop pixels on the golden face
  crops of the test photos; the face-presence probability;
* segmentation: mask IoU at 0.5 against the float model's mask (min over pictures), and the
  largest probability difference.

Nothing is written into ``onnx_models/``: the run decides whether a shipped int8 copy would be
worth it. Measured 2026-12-02, two runs 22:46-22:51 and 22:57-23:00 (2-core AMD EPYC with avx2
and avx512_vnni; ONNX Runtime 1.32; load 6-14 from other jobs, hence CPU time; 120 demo frames,
40 blocks of 5 calls): CPU time per call as a ratio of the committed float model's (mesh
4.72-4.83 ms, landscape 1.79-1.92, general 3.08-3.55), and parity against it (the same in both
runs; landmarks at 1280×720, masks at IoU 0.5):

========  ==========  ==========  ==========  ===================  ==========================
variant   mesh        landscape   general     mesh px max / p99    IoU min landscape / general
========  ==========  ==========  ==========  ===================  ==========================
dyn       4.40-4.48   7.59-7.73   9.03-9.17   9.2 / 6.8            0.935 / 0.661
qdq       1.50-1.61   1.22-1.32   1.20-1.27   34.6 / 29.5          0.882 / 0.225
qdq-conv  1.36-1.44   1.57-1.71   1.52-1.64   3.6 / 2.3            0.915 / 0.758
qdq-mid   1.54-1.57   1.41-1.49   1.33-1.43   4.1 / 2.3            0.950 / 0.461
qdq-wide  1.00-1.04   1.03-1.06   1.04-1.11   3.8 / 1.9            0.978 / 0.954
fp16      1.00-1.03   0.99-1.02   0.95-1.05   0.53 / 0.23          0.9994 / 0.9992
========  ==========  ==========  ==========  ===================  ==========================

No int8 variant is faster, and none keeps the landmarks within 0.5 px or the masks at IoU
≥0.98. Why (ONNX Runtime's profiler, one thread): the float convolutions run in MLAS's blocked
NCHWc AVX-512 kernels, which are already fast at these channel counts (16-128); QLinearConv was
slower in total (mesh 2.65 against 2.24 ms of kernel time), the 3-channel first convolution at
full resolution most of all (landscape: 268 against 106 µs), and every op left in float
(GridSample, the lowered PReLU's Sub, Resize, the transposes) adds a Quantize/Dequantize pair
(mesh: 451 of them, 2.75 ms of profiled kernel time). fp16: this ONNX Runtime build has no x86
fp16 kernels for these ops, so the optimised fp16 graph is the float one (NCHWc Conv) with 88
Casts: the same time, rounding errors only (mesh 0.53 px: over the bound), and the committed
files already store fp16 weights (2.5 MB against 2.5 MB).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test pictures (golden crops, segmentation scenes)

FRAME_SIZE = (1280, 720)
MIN_MESH_FRAMES = 10


@dataclass(frozen=True)
class Net:
    key: str
    model: str
    shape: tuple[int, ...]


NETS = {
    "mesh": Net("mesh", "face_landmark_with_attention", (1, 192, 192, 3)),
    "landscape": Net("landscape", "selfie_segmentation_landscape", (1, 144, 256, 3)),
    "general": Net("general", "selfie_segmentation", (1, 256, 256, 3)),
}


@dataclass
class Inputs:
    calib: list[np.ndarray]
    evaluate: list[np.ndarray]
    rois: list[Any] = field(default_factory=list)
    """Mesh only: the tracked ROI of each ``evaluate`` frame (landmarks back to the frame)."""
    crops: list[np.ndarray] = field(default_factory=list)
    """Mesh only: the golden face crops of the test photos."""


# ---- model files ---------------------------------------------------------------------------


def folded_float32(src: Path, dst: Path) -> Path:
    """The model with its fp16 initializers + Cast folded to float32 initializers (same values:
    the committed files store fp16 weights behind a Cast, which the quantizer cannot see)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    keep, folded = [], []
    for node in graph.node:
        source = inits.get(node.input[0]) if node.op_type == "Cast" else None
        if source is not None and source.data_type == onnx.TensorProto.FLOAT16:
            value = numpy_helper.to_array(source).astype(np.float32)
            folded.append(numpy_helper.from_array(value, node.output[0]))
        else:
            keep.append(node)
    used = {name for node in keep for name in node.input}
    old = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(keep)
    del graph.initializer[:]
    graph.initializer.extend(old + folded)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(dst))
    return dst


def conv_nodes(path: Path) -> list[tuple[str, list[int]]]:
    """(name, weight shape) of every Conv, in graph order."""
    import onnx

    graph = onnx.load(str(path)).graph
    dims = {i.name: list(i.dims) for i in graph.initializer}
    return [(n.name, dims.get(n.input[1], [])) for n in graph.node if n.op_type == "Conv"]


class Reader:
    """The calibration tensors, for ``quantize_static``."""

    def __init__(self, name: str, tensors: list[np.ndarray]) -> None:
        self._it: Iterator[np.ndarray] = iter(tensors)
        self.name = name

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._it, None)
        return None if x is None else {self.name: x}


def build_variants(net: Net, float32: Path, calib: list[np.ndarray], out: Path) -> dict[str, Path]:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    CalibrationDataReader.register(Reader)
    import onnx

    input_name = onnx.load(str(float32)).graph.input[0].name
    convs = conv_nodes(float32)
    names = [c[0] for c in convs]
    subsets: dict[str, dict[str, Any]] = {
        "qdq": {},
        "qdq-conv": {"op_types_to_quantize": ["Conv"]},
        "qdq-mid": {"op_types_to_quantize": ["Conv"], "nodes_to_quantize": names[1:-1]},
        "qdq-wide": {
            "op_types_to_quantize": ["Conv"],
            "nodes_to_quantize": [n for n, w in convs if len(w) == 4 and w[0] * w[1] >= 64 * 64],
        },
    }
    variants = {"float": float32}
    dyn = out / f"{net.model}.dyn.onnx"
    quantize_dynamic(str(float32), str(dyn), per_channel=True, weight_type=QuantType.QInt8)
    variants["dyn"] = dyn
    for label, extra in subsets.items():
        if "nodes_to_quantize" in extra and not extra["nodes_to_quantize"]:
            continue
        path = out / f"{net.model}.{label}.onnx"
        quantize_static(
            str(float32),
            str(path),
            Reader(input_name, calib),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            **extra,
        )
        variants[label] = path
    from onnxruntime.transformers.float16 import convert_float_to_float16

    half = convert_float_to_float16(onnx.load(str(float32)), keep_io_types=True)
    fp16 = out / f"{net.model}.fp16.onnx"
    onnx.save(half, str(fp16))
    variants["fp16"] = fp16
    return variants


# ---- inputs --------------------------------------------------------------------------------


def demo_frames(n: int) -> list[np.ndarray]:
    from pipelines.sources.base import SourceConfig
    from pipelines.sources.demo import DemoSource

    source = DemoSource("", SourceConfig(*FRAME_SIZE, paced=False))
    source.open()
    frames = []
    for _ in range(n):
        frame = source.read()
        assert frame is not None
        frames.append(frame.image)
    return frames


def mesh_inputs(frames: list[np.ndarray]) -> Inputs:
    """The tracker's own crops (full-rate mesh) of the demo frames, with their ROIs."""
    from golden_data import load_golden, model_input

    from pipelines.frame import FrameContext
    from pipelines.tracking.mesh import mesh_input
    from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

    tracker = FaceTracker(FaceTrackerSettings(mesh_interval=1))
    tracker.open()
    seen: list[tuple[np.ndarray, Any]] = []
    inner = tracker.mesh
    assert inner is not None

    class Recording:
        def __call__(self, image: np.ndarray, roi: Any) -> Any:
            seen.append((mesh_input(image, roi), roi))
            return inner(image, roi)

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    tracker.mesh = Recording()  # type: ignore[assignment]
    calib: list[np.ndarray] = []
    evaluate: list[np.ndarray] = []
    rois: list[Any] = []
    for i, frame in enumerate(frames):
        seen.clear()
        tracker.process(frame, FrameContext(timestamp=i / 30.0, index=i))
        for tensor, roi in seen[:1]:
            if i % 2 == 0:
                calib.append(tensor)
            else:
                evaluate.append(tensor)
                rois.append(roi)
    tracker.close()
    if len(evaluate) < MIN_MESH_FRAMES:
        raise SystemExit(f"the tracker found a face on only {len(evaluate)} evaluation frames")
    golden = load_golden("raw_face_landmark_with_attention")
    cases = [str(c) for c in golden["cases"]]
    crops = [
        x.reshape(NETS["mesh"].shape)
        for c, x in zip(cases, model_input(golden), strict=True)
        if c not in ("random", "black")
    ]
    return Inputs(calib, evaluate, rois, crops)


def segmentation_inputs(net: Net, frames: list[np.ndarray]) -> Inputs:
    """Demo frames (even: calibration, odd: evaluation) plus the segmentation test pictures."""
    import cv2
    from segmentation_support import noisy, person_and_room, still_portrait

    from pipelines.segmentation.models import resize_for_model, to_tensor

    size = (net.shape[2], net.shape[1])

    def tensor(bgr: np.ndarray) -> np.ndarray:
        small = resize_for_model(bgr, size, "mediapipe")
        return to_tensor(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))

    rng = np.random.default_rng(5)
    extra = [noisy(still_portrait(*FRAME_SIZE), rng) for _ in range(4)]
    person, alpha, room, rng = person_and_room(*FRAME_SIZE)
    for shift in (0, 160, 320, 480):
        frame = room.astype(np.float32)
        h, w = person.shape[:2]
        x0 = shift
        region = frame[:h, x0 : x0 + w]
        a = alpha[:, : region.shape[1], None]
        region[:] = person[:, : region.shape[1]] * a + region * (1 - a)
        extra.append(noisy(frame.astype(np.uint8), rng))
    calib = [tensor(f) for f in frames[0::2]]
    evaluate = [tensor(f) for f in frames[1::2]] + [tensor(f) for f in extra]
    return Inputs(calib, evaluate)


# ---- running -------------------------------------------------------------------------------


def session(path: Path) -> Any:
    from pipelines.inference.session import SessionFactory

    sess, _ = SessionFactory("cpu", intra_op_threads=1).create(str(path), path.stem)
    return sess


def outputs(sess: Any, tensors: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    names = [o.name for o in sess.get_outputs()]
    feed = sess.get_inputs()[0].name
    return [dict(zip(names, sess.run(names, {feed: x}), strict=True)) for x in tensors]


def latencies(sessions: dict[str, Any], x: np.ndarray, rounds: int, block: int = 5) -> dict:
    """Median CPU ms per call of each session, alternated block by block."""
    feed = {label: {s.get_inputs()[0].name: x} for label, s in sessions.items()}
    for label, s in sessions.items():  # warm-up: first runs allocate
        for _ in range(3):
            s.run(None, feed[label])
    times: dict[str, list[float]] = {label: [] for label in sessions}
    order = list(sessions.items())
    for r in range(rounds):
        # Forward, then backward: no variant always runs right after the same other one.
        for label, s in order if r % 2 == 0 else order[::-1]:
            t0 = time.thread_time()
            for _ in range(block):
                s.run(None, feed[label])
            times[label].append((time.thread_time() - t0) * 1000.0 / block)
    return {label: float(np.median(v)) for label, v in times.items()}


def mesh_parity(ref: list[dict], got: list[dict], rois: list[Any]) -> dict[str, float]:
    from pipelines.tracking.mesh import INPUT_SIZE, assemble

    dists, flags = [], []
    for r, g, roi in zip(ref, got, rois, strict=True):
        lr, pr = assemble(r)
        lg, pg = assemble(g)
        if roi is None:
            a, b = lr[:, :2], lg[:, :2]
        else:
            a = roi.tensor_to_image(lr, INPUT_SIZE, INPUT_SIZE)[:, :2]
            b = roi.tensor_to_image(lg, INPUT_SIZE, INPUT_SIZE)[:, :2]
        dists.append(np.linalg.norm(a.astype(np.float64) - b, axis=1))
        flags.append(abs(pr - pg))
    d = np.concatenate(dists)
    return {
        "px_max": float(d.max()),
        "px_p99": float(np.percentile(d, 99)),
        "px_median": float(np.median(d)),
        "flag_diff": float(max(flags)),
    }


def mask_parity(ref: list[dict], got: list[dict]) -> dict[str, float]:
    ious, diffs = [], []
    for r, g in zip(ref, got, strict=True):
        a = next(iter(r.values())) > 0.5
        b = next(iter(g.values())) > 0.5
        union = np.logical_or(a, b).sum()
        ious.append(1.0 if union == 0 else float(np.logical_and(a, b).sum() / union))
        diffs.append(float(np.abs(next(iter(r.values())) - next(iter(g.values()))).max()))
    return {"iou_min": min(ious), "iou_mean": float(np.mean(ious)), "prob_diff": max(diffs)}


def measure(net: Net, inputs: Inputs, out: Path, rounds: int) -> dict[str, dict[str, float]]:
    from pipelines.inference.model import verified_model_path

    committed = verified_model_path(net.model)
    float32 = folded_float32(committed, out / f"{net.model}.float32.onnx")
    variants = build_variants(net, float32, inputs.calib, out)
    sessions = {"committed": session(committed)} | {k: session(p) for k, p in variants.items()}
    ms = latencies(sessions, inputs.evaluate[0], rounds)
    ref = outputs(sessions["committed"], inputs.evaluate)
    ref_crops = outputs(sessions["committed"], inputs.crops) if inputs.crops else []
    table: dict[str, dict[str, float]] = {}
    for label, s in sessions.items():
        row = {"ms": ms[label], "ratio": ms[label] / ms["committed"]}
        path = committed if label == "committed" else variants[label]
        row["kB"] = path.stat().st_size / 1000.0
        got = outputs(s, inputs.evaluate)
        if net.key == "mesh":
            row |= mesh_parity(ref, got, inputs.rois)
            crops = mesh_parity(ref_crops, outputs(s, inputs.crops), [None] * len(ref_crops))
            row["crop_px_max"] = crops["px_max"]
        else:
            row |= mask_parity(ref, got)
        table[label] = row
    return table


def print_table(net: Net, table: dict[str, dict[str, float]], n_eval: int) -> None:
    print(f"\n{net.model} ({n_eval} evaluation inputs)")
    if net.key == "mesh":
        head = (
            "| variant | CPU ms | ratio | kB | px max | px p99 | px median | crop px max | flag Δ |"
        )
        print(head)
        print("|---" * 9 + "|")
        for k, r in table.items():
            print(
                f"| {k} | {r['ms']:.2f} | {r['ratio']:.2f} | {r['kB']:.0f} | {r['px_max']:.3f} | "
                f"{r['px_p99']:.3f} | {r['px_median']:.3f} | {r['crop_px_max']:.3f} | "
                f"{r['flag_diff']:.1e} |"
            )
    else:
        print("| variant | CPU ms | ratio | kB | IoU min | IoU mean | prob Δ max |")
        print("|---" * 7 + "|")
        for k, r in table.items():
            print(
                f"| {k} | {r['ms']:.2f} | {r['ratio']:.2f} | {r['kB']:.0f} | {r['iou_min']:.4f} | "
                f"{r['iou_mean']:.4f} | {r['prob_diff']:.3f} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=120, help="demo frames (half calibrate)")
    parser.add_argument("--rounds", type=int, default=40, help="timing blocks per variant")
    parser.add_argument("--models", default="mesh,landscape", help="of: " + ",".join(NETS))
    parser.add_argument("--out", type=Path, default=Path("/tmp/camfx-quant"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = [k for k in keys if k not in NETS]
    if unknown or not keys or args.frames < 2 * MIN_MESH_FRAMES or args.rounds < 1:
        print(
            f"quantize_models: give --models from {', '.join(NETS)}, --frames >= "
            f"{2 * MIN_MESH_FRAMES} and --rounds >= 1",
            file=sys.stderr,
        )
        return 2
    logging.disable(logging.WARNING)  # the quantizer's "consider pre-processing" banners
    args.out.mkdir(parents=True, exist_ok=True)
    frames = demo_frames(args.frames)
    report: dict[str, Any] = {}
    for key in keys:
        net = NETS[key]
        inputs = mesh_inputs(frames) if key == "mesh" else segmentation_inputs(net, frames)
        table = measure(net, inputs, args.out, args.rounds)
        print_table(net, table, len(inputs.evaluate))
        report[net.model] = table
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
