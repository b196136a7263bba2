"""Write MediaPipe 0.10.21 reference ("golden") outputs for the parity tests.

Runs ONLY inside the throwaway venv that ``make_golden.sh`` builds (mediapipe==0.10.21,
numpy<2, opencv-contrib-python, ai-edge-litert); never imported by the app or by pytest.

    python tests/golden/make_golden.py            # golden files from the committed photos
    python tests/golden/make_golden.py --photos   # first (re)derive the photos from skimage

Outputs (all under tests/golden/, described in tests/golden/README.md):
  raw_<model>.npz        bare TFLite network on fixed input tensors
  solution_<name>.npz    legacy ``mediapipe.solutions`` end to end on each photo
  index.json             versions, settings, shapes, cases, checksums, tolerances
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
FACES = ROOT / "tests" / "data" / "faces"
ASSETS = ROOT / "pipelines" / "assets"

PHOTOS = (
    "astronaut",
    "cameraman",
    "astronaut_small",
    "astronaut_rot30",
    "two_faces",
    "no_face",
)
JPEG_QUALITY = 90

# Photos whose face (first face_detection result) is cropped for the landmark models.
FACE_CROP_PHOTOS = ("astronaut", "cameraman", "astronaut_small", "astronaut_rot30")
FACE_CROP_SCALE = 1.5  # square side = 1.5 * max(box w, box h), centred on the box
EYE_CROP_PHOTOS = ("astronaut", "cameraman", "astronaut_rot30")
EYE_CROP_SCALE = 2.3  # square side = 2.3 * eye-corner distance (as MediaPipe's iris graph)
# Mesh landmark indices of the eye corners; the second eye is mirrored (MediaPipe's iris
# model is trained on one eye and flips the other).
EYES = {"eye_33_133": (33, 133, False), "eye_362_263_flipped": (362, 263, True)}
SEGMENTATION_PHOTOS = PHOTOS  # end-to-end masks
RAW_SEGMENTATION_PHOTOS = ("astronaut", "cameraman", "two_faces")  # raw-network inputs

# Input ranges: float input = (input_u8.astype(float32) - sub) / div, in float32.
RANGE_0_1 = (0.0, 255.0)
RANGE_M1_1 = (127.5, 127.5)


def _mp_dir() -> Path:
    import mediapipe

    return Path(mediapipe.__file__).resolve().parent


MODELS: dict[str, dict[str, Any]] = {
    "face_detection_short_range": {
        "tflite": "modules/face_detection/face_detection_short_range.tflite",
        "range": RANGE_M1_1,
        "seed": 1001,
    },
    "face_landmark": {
        "tflite": "modules/face_landmark/face_landmark.tflite",
        "range": RANGE_0_1,
        "seed": 1002,
    },
    "face_landmark_with_attention": {
        "tflite": "modules/face_landmark/face_landmark_with_attention.tflite",
        "range": RANGE_0_1,
        "seed": 1003,
    },
    "iris_landmark": {
        "tflite": "modules/iris_landmark/iris_landmark.tflite",
        "range": RANGE_0_1,
        "seed": 1004,
    },
    "selfie_segmentation": {
        "tflite": "modules/selfie_segmentation/selfie_segmentation.tflite",
        "range": RANGE_0_1,
        "seed": 1005,
    },
    "selfie_segmentation_landscape": {
        "tflite": "modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        "range": RANGE_0_1,
        "seed": 1006,
    },
}


def to_float(u8: np.ndarray, rng: tuple[float, float]) -> np.ndarray:
    """The exact float32 tensor fed to the models (mirrored by tests/golden_data.py)."""
    return (u8.astype(np.float32) - np.float32(rng[0])) / np.float32(rng[1])


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------


def write_photos() -> None:
    """Derive the test photos from scikit-image's bundled, freely licensed images."""
    import skimage
    import skimage.data as skd

    skdata = Path(skimage.__file__).resolve().parent / "data"
    FACES.mkdir(parents=True, exist_ok=True)
    ASSETS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(skdata / "astronaut.png", ASSETS / "astronaut.png")

    astro = cv2.cvtColor(skd.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512, frontal face
    camera = skd.camera()  # 512x512 grey, three-quarter profile
    cameraman = np.ascontiguousarray(camera[30:430, 60:460])  # head, camera and shoulders

    # Small face: astronaut at 0.9x, bottom-centred on a 640x480 mid-grey canvas
    # (face ~85 px wide, 13% of the frame width; at 0.7x the short-range detector misses it).
    small = np.full((480, 640, 3), 128, np.uint8)
    scaled = cv2.resize(astro, None, fx=0.9, fy=0.9, interpolation=cv2.INTER_AREA)
    h, w = scaled.shape[:2]
    x0 = (640 - w) // 2
    small[480 - min(h, 480) :, x0 : x0 + w] = scaled[: min(h, 480)]

    # Rotated: 30 degrees counter-clockwise about the face centre, black outside.
    m = cv2.getRotationMatrix2D((224.0, 130.0), 30.0, 1.0)
    rot = cv2.warpAffine(
        astro, m, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )

    # Two people side by side in a 640x480 frame: 320x480 head-and-shoulders views, the
    # astronaut enlarged 1.5x about (225, 220), the cameraman 1.7x about (222, 220)
    # (smaller faces, or the cameraman's profile at 2:1, make MediaPipe's face mesh drop
    # him under slight blur; this framing keeps both under JPEG/blur/resampling changes).
    def zoom(img: np.ndarray, cx: float, cy: float, s: float) -> np.ndarray:
        m = np.array([[s, 0.0, 160 - cx * s], [0.0, s, 240 - cy * s]], np.float64)
        return cv2.warpAffine(img, m, (320, 480), flags=cv2.INTER_LINEAR)

    left = zoom(astro, 225, 220, 1.5)
    right = cv2.cvtColor(zoom(camera, 222, 220, 1.7), cv2.COLOR_GRAY2BGR)
    two = np.concatenate([left, right], axis=1)

    no_face = cv2.cvtColor(skd.coffee(), cv2.COLOR_RGB2BGR)  # 400x600 coffee cup

    images = {
        "astronaut": astro,
        "cameraman": cameraman,
        "astronaut_small": small,
        "astronaut_rot30": rot,
        "two_faces": two,
        "no_face": no_face,
    }
    for name, img in images.items():
        ok = cv2.imwrite(str(FACES / f"{name}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f"could not write {name}.jpg")
        print(f"photo {name}.jpg {img.shape} {(FACES / f'{name}.jpg').stat().st_size} bytes")


def read_photo(name: str) -> np.ndarray:
    """BGR uint8, exactly as tests/golden_data.py:face_photo reads it."""
    img = cv2.imread(str(FACES / f"{name}.jpg"), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(FACES / f"{name}.jpg")
    return img


# --------------------------------------------------------------------------------------
# Legacy mediapipe.solutions, end to end
# --------------------------------------------------------------------------------------

FACE_DETECTION_SETTINGS = {"model_selection": 0, "min_detection_confidence": 0.5}
FACE_MESH_SETTINGS = {
    "static_image_mode": True,
    "max_num_faces": 2,
    "refine_landmarks": True,
    "min_detection_confidence": 0.5,
    "min_tracking_confidence": 0.5,
}


def run_solutions(photos: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    import mediapipe as mp

    sol = mp.solutions
    det: dict[str, np.ndarray] = {}
    mesh: dict[str, np.ndarray] = {}
    seg: dict[str, np.ndarray] = {}
    for name, bgr in photos.items():
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        # A fresh solution object per photo: no state (tracking, mask smoothing) carries over.
        with sol.face_detection.FaceDetection(**FACE_DETECTION_SETTINGS) as fd:
            res = fd.process(rgb)
        boxes, kps, scores = [], [], []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append([b.xmin, b.ymin, b.width, b.height])
            kps.append([[k.x, k.y] for k in d.location_data.relative_keypoints])
            scores.append(d.score[0])
        det[f"{name}/boxes"] = np.asarray(boxes, np.float32).reshape(-1, 4)
        det[f"{name}/keypoints"] = np.asarray(kps, np.float32).reshape(-1, 6, 2)
        det[f"{name}/scores"] = np.asarray(scores, np.float32).reshape(-1)

        with sol.face_mesh.FaceMesh(**FACE_MESH_SETTINGS) as fm:
            res = fm.process(rgb)
        faces = [[[p.x, p.y, p.z] for p in lm.landmark] for lm in (res.multi_face_landmarks or [])]
        mesh[f"{name}/landmarks"] = np.asarray(faces, np.float32).reshape(-1, 478, 3)

        if name in SEGMENTATION_PHOTOS:
            for sel in (0, 1):
                with sol.selfie_segmentation.SelfieSegmentation(model_selection=sel) as ss:
                    res = ss.process(rgb)
                mask = np.asarray(res.segmentation_mask, np.float32)
                assert mask.shape == (h, w), (mask.shape, (h, w))
                seg[f"{name}/model{sel}"] = mask.astype(np.float16)
        print(f"solutions {name}: {len(det[f'{name}/scores'])} detections, {len(faces)} meshes")
    return {
        "solution_face_detection": det,
        "solution_face_mesh": mesh,
        "solution_selfie_segmentation": seg,
    }


# --------------------------------------------------------------------------------------
# Raw TFLite networks
# --------------------------------------------------------------------------------------


def square_crop(rgb: np.ndarray, cx: float, cy: float, side: float, out: int) -> np.ndarray:
    """Axis-aligned square of ``side`` px centred on (cx, cy), bilinear, zeros outside."""
    s = out / side
    m = np.array([[s, 0.0, (side / 2 - cx) * s], [0.0, s, (side / 2 - cy) * s]], np.float64)
    return cv2.warpAffine(
        rgb,
        m,
        (out, out),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


def letterbox(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre the image on a black square, then area-resize to size x size."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    canvas = np.zeros((side, side, 3), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = rgb
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def build_inputs(
    photos: dict[str, np.ndarray], sols: dict[str, dict[str, np.ndarray]]
) -> dict[str, tuple[list[str], np.ndarray, dict[str, str]]]:
    """Per model: case names, uint8 NHWC inputs, and how each case was made."""
    rgbs = {k: cv2.cvtColor(v, cv2.COLOR_BGR2RGB) for k, v in photos.items()}
    det = sols["solution_face_detection"]
    mesh = sols["solution_face_mesh"]
    result: dict[str, tuple[list[str], np.ndarray, dict[str, str]]] = {}

    def with_synthetic(
        model: str, hwc: tuple[int, int, int], cases: list[tuple[str, np.ndarray, str]]
    ) -> None:
        rng = np.random.default_rng(MODELS[model]["seed"])
        noise = rng.integers(0, 256, size=hwc, dtype=np.uint8)
        allc = [
            ("random", noise, f"uniform uint8, np.random.default_rng({MODELS[model]['seed']})"),
            ("black", np.zeros(hwc, np.uint8), "all zeros (uint8 0)"),
            *cases,
        ]
        for _, arr, _ in allc:
            assert arr.shape == hwc and arr.dtype == np.uint8, (model, arr.shape, arr.dtype)
        result[model] = (
            [c[0] for c in allc],
            np.stack([c[1] for c in allc]),
            {c[0]: c[2] for c in allc},
        )

    fd_cases = [
        (p, letterbox(rgbs[p], 128), f"{p}.jpg RGB, centred on black square, INTER_AREA to 128")
        for p in PHOTOS
    ]
    with_synthetic("face_detection_short_range", (128, 128, 3), fd_cases)

    face_cases = []
    for p in FACE_CROP_PHOTOS:
        h, w = rgbs[p].shape[:2]
        box = det[f"{p}/boxes"][0]
        cx, cy = (box[0] + box[2] / 2) * w, (box[1] + box[3] / 2) * h
        side = FACE_CROP_SCALE * max(box[2] * w, box[3] * h)
        face_cases.append(
            (
                p,
                square_crop(rgbs[p], float(cx), float(cy), float(side), 192),
                f"{p}.jpg RGB, square {FACE_CROP_SCALE}x the first face_detection box, "
                "axis-aligned, bilinear to 192",
            )
        )
    with_synthetic("face_landmark", (192, 192, 3), face_cases)
    with_synthetic("face_landmark_with_attention", (192, 192, 3), face_cases)

    eye_cases = []
    for p in EYE_CROP_PHOTOS:
        h, w = rgbs[p].shape[:2]
        lms = mesh[f"{p}/landmarks"][0]
        for eye, (i, j, flip) in EYES.items():
            a = lms[i, :2] * (w, h)
            b = lms[j, :2] * (w, h)
            c = (a + b) / 2
            side = EYE_CROP_SCALE * float(np.hypot(*(b - a)))
            crop = square_crop(rgbs[p], float(c[0]), float(c[1]), side, 64)
            if flip:
                crop = np.ascontiguousarray(crop[:, ::-1])
            eye_cases.append(
                (
                    f"{p}/{eye}",
                    crop,
                    f"{p}.jpg RGB, square {EYE_CROP_SCALE}x the distance of mesh landmarks "
                    f"{i},{j}, axis-aligned, bilinear to 64" + (", mirrored" if flip else ""),
                )
            )
    with_synthetic("iris_landmark", (64, 64, 3), eye_cases)

    for model, (hh, ww) in (
        ("selfie_segmentation", (256, 256)),
        ("selfie_segmentation_landscape", (144, 256)),
    ):
        seg_cases = [
            (
                p,
                cv2.resize(rgbs[p], (ww, hh), interpolation=cv2.INTER_AREA),
                f"{p}.jpg RGB, stretched with INTER_AREA to {ww}x{hh}",
            )
            for p in RAW_SEGMENTATION_PHOTOS
        ]
        with_synthetic(model, (hh, ww, 3), seg_cases)
    return result


class LiteRt:
    """ai-edge-litert's interpreter, one thread: XNNPACK (its default) or, with
    ``xnnpack=False``, TFLite's reference builtin kernels."""

    def __init__(self, path: Path, xnnpack: bool = True) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kind = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self.it = Interpreter(
            model_path=str(path), num_threads=1, experimental_op_resolver_type=kind
        )
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]
        self.outs = self.it.get_output_details()

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        self.it.set_tensor(self.inp["index"], x[None])
        self.it.invoke()
        return [self.it.get_tensor(d["index"]).copy()[0] for d in self.outs]


def output_details(path: Path) -> tuple[list[str], list[list[int]]]:
    """Output names and shapes from the flatbuffer (no allocation: works with custom ops)."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    outs = it.get_output_details()
    return [d["name"] for d in outs], [d["shape"].tolist() for d in outs]


MP_GRAPH = """
input_stream: "matrix"
{out_streams}
node {{
  calculator: "TfLiteCustomOpResolverCalculator"
  output_side_packet: "OP_RESOLVER:op_resolver"
}}
node {{
  calculator: "TensorConverterCalculator"
  input_stream: "MATRIX:matrix"
  output_stream: "TENSORS:tensors"
  options {{ [mediapipe.TensorConverterCalculatorOptions.ext] {{ row_major_matrix: true }} }}
}}
node {{
  calculator: "InferenceCalculator"
  input_side_packet: "OP_RESOLVER:op_resolver"
  input_stream: "TENSORS:tensors"
  output_stream: "TENSORS:out"
  options {{
    [mediapipe.InferenceCalculatorOptions.ext] {{
      model_path: "{model}"
      delegate {{ {delegate} {{}} }}
    }}
  }}
}}
node {{
  calculator: "SplitTensorVectorCalculator"
  input_stream: "out"
  {split_outs}
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{ {ranges} }} }}
}}
{to_floats}
"""


class MediaPipeGraph:
    """The model run by MediaPipe's own InferenceCalculator (XNNPACK delegate) with
    MediaPipe's custom-op resolver (TfLiteCustomOpResolverCalculator), the resolver its
    face-mesh graph uses. The input tensor travels as a row-major Matrix packet of shape
    (H, W*C), which TensorConverterCalculator copies unchanged into a float tensor."""

    def __init__(self, path: Path, n_out: int, delegate: str = "xnnpack") -> None:
        from google.protobuf import text_format
        from mediapipe.calculators.core import split_vector_calculator_pb2  # noqa: F401
        from mediapipe.calculators.tensor import (  # noqa: F401
            inference_calculator_pb2,
            tensor_converter_calculator_pb2,
        )
        from mediapipe.framework import calculator_pb2

        txt = MP_GRAPH.format(
            model=str(path),
            delegate=delegate,
            out_streams="\n".join(f'output_stream: "f{i}"' for i in range(n_out)),
            split_outs="\n  ".join(f'output_stream: "t{i}"' for i in range(n_out)),
            ranges=" ".join(f"ranges {{ begin: {i} end: {i + 1} }}" for i in range(n_out)),
            to_floats="\n".join(
                f'node {{ calculator: "TensorsToFloatsCalculator" '
                f'input_stream: "TENSORS:t{i}" output_stream: "FLOATS:f{i}" }}'
                for i in range(n_out)
            ),
        )
        self.config = text_format.Parse(txt, calculator_pb2.CalculatorGraphConfig())
        self.n_out = n_out

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        from mediapipe.python import packet_creator, packet_getter
        from mediapipe.python._framework_bindings import calculator_graph

        graph = calculator_graph.CalculatorGraph(graph_config=self.config)
        got: dict[int, np.ndarray] = {}
        for i in range(self.n_out):
            graph.observe_output_stream(
                f"f{i}",
                lambda _s, p, i=i: got.__setitem__(
                    i, np.asarray(packet_getter.get_float_list(p), np.float32)
                ),
            )
        graph.start_run()
        mat = np.ascontiguousarray(x.reshape(x.shape[0], -1), np.float32)
        graph.add_packet_to_input_stream("matrix", packet_creator.create_matrix(mat).at(0))
        graph.close()
        return [got[i] for i in range(self.n_out)]


def run_raw(
    inputs: dict[str, tuple[list[str], np.ndarray, dict[str, str]]],
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    mp_dir = _mp_dir()
    files: dict[str, dict[str, np.ndarray]] = {}
    meta: dict[str, Any] = {}
    for model, spec in MODELS.items():
        path = mp_dir / spec["tflite"]
        cases, u8, how = inputs[model]
        x = to_float(u8, spec["range"])
        names, shapes = output_details(path)

        def max_diff(
            a: list[list[np.ndarray]], b: list[list[np.ndarray]], names: list[str] = names
        ) -> dict[str, float]:
            return {
                n: float(
                    max(
                        np.abs(ra[k].ravel() - rb[k].ravel()).max()
                        for ra, rb in zip(a, b, strict=True)
                    )
                )
                for k, n in enumerate(names)
            }

        graph_out = [MediaPipeGraph(path, len(names))(xi) for xi in x]
        graph_ref = MediaPipeGraph(path, len(names), delegate="tflite")
        graph_ref_out = [graph_ref(xi) for xi in x]
        try:
            lite: LiteRt | None = LiteRt(path)
        except RuntimeError as exc:  # unresolved custom ops
            lite, lite_error = None, str(exc).splitlines()[0]
        cross: dict[str, dict[str, float]] = {}
        if lite is not None:
            ref_out = [lite(xi) for xi in x]
            runtime = "ai-edge-litert Interpreter (XNNPACK, num_threads=1)"
            cross["mediapipe_inference_calculator_xnnpack"] = max_diff(ref_out, graph_out)
            try:  # without XNNPACK, Convolution2DTransposeBias is unresolved
                lite_ref = LiteRt(path, xnnpack=False)
                cross["litert_reference_kernels"] = max_diff(ref_out, [lite_ref(xi) for xi in x])
            except RuntimeError:
                pass
        else:
            ref_out = [[g[k].reshape(shapes[k][1:]) for k in range(len(names))] for g in graph_out]
            runtime = (
                "MediaPipe InferenceCalculator (XNNPACK delegate) with "
                "TfLiteCustomOpResolverCalculator's op resolver; ai-edge-litert cannot "
                f"run it: {lite_error}"
            )
        cross["mediapipe_inference_calculator_no_delegate"] = max_diff(ref_out, graph_ref_out)
        arrays: dict[str, np.ndarray] = {
            "cases": np.asarray(cases),
            "input_u8": u8,
            "input_sub": np.asarray(spec["range"][0], np.float32),
            "input_div": np.asarray(spec["range"][1], np.float32),
        }
        for k, n in enumerate(names):
            arrays[f"output/{n}"] = np.stack([o[k] for o in ref_out]).astype(np.float32)
        files[f"raw_{model}"] = arrays
        meta[model] = {
            "file": f"raw_{model}.npz",
            "tflite": f"mediapipe/{spec['tflite']}",
            "tflite_sha256": sha256_bytes(path.read_bytes()),
            "input_shape": list(u8.shape[1:]),
            "input_range": [
                float(to_float(np.array([0], np.uint8), spec["range"])[0]),
                float(to_float(np.array([255], np.uint8), spec["range"])[0]),
            ],
            "input_formula": (
                f"(input_u8.astype(float32) - float32({spec['range'][0]})) "
                f"/ float32({spec['range'][1]})"
            ),
            "cases": {c: how[c] for c in cases},
            "outputs": {n: s[1:] for n, s in zip(names, shapes, strict=True)},
            "reference_runtime": runtime,
            "cross_check_max_abs_diff": cross,
            "output_max_abs": {n: float(np.abs(arrays[f"output/{n}"]).max()) for n in names},
        }
        print(f"raw {model}: {len(cases)} cases via {runtime.split(' (')[0]}")
        for what, diffs in cross.items():
            print(f"    vs {what}: " + ", ".join(f"{n} {v:.2g}" for n, v in diffs.items()))
    return files, meta


# --------------------------------------------------------------------------------------


TOLERANCES = {
    "raw": {
        "rtol": 1e-4,
        "atol": 1e-3,
        "note": "np.testing.assert_allclose(onnx, golden, rtol=1e-4, atol=1e-3) on every "
        "output, fed model_input(). MediaPipe's own non-XNNPACK kernels pass this with a "
        "margin of 2.6x or more (face_detection on black/letterboxed input reaches 0.043 "
        "absolute on logits of magnitude 3e4); see raw.<model>.cross_check_max_abs_diff.",
    },
    "solution_face_detection": {
        "same_count": True,
        "box_keypoint_atol": 0.015,
        "score_atol": 0.03,
        "note": "match detections by IoU; coordinates normalised to image width/height. "
        "Above what MediaPipe moves under a 3x3 blur; a BGR/RGB swap moves scores by 0.1+ "
        "(README, sensitivity table)",
    },
    "solution_face_mesh": {
        "same_count": True,
        "xy_mean_abs": 0.003,
        "xy_max_abs": 0.02,
        "z_mean_abs": 0.003,
        "note": "per face, faces matched by landmark centroid; x,y normalised, z on the "
        "scale of x. A reimplemented pipeline (ROI, crop, resampling) cannot be bit-exact: "
        "these sit above what MediaPipe itself moves under a 3x3 blur or a 0.8x "
        "down-and-up resample of the photo (README, sensitivity table)",
    },
    "solution_selfie_segmentation": {
        "mean_abs": 0.025,
        "frac_abs_gt_0.1": 0.08,
        "no_face_mean_abs": 0.1,
        "storage": "float16: adds at most 2^-12 (2.4e-4) to values in [0, 1]",
        "note": "bound the mean and the share of pixels off by more than 0.1, not the max "
        "(outlines move); no_face has no person and an ill-conditioned mask, so only its "
        "mean is bounded, loosely",
    },
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", action="store_true", help="(re)write the photos first")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.photos:
        write_photos()

    import mediapipe as mp

    photos = {p: read_photo(p) for p in PHOTOS}
    sols = run_solutions(photos)
    inputs = build_inputs(photos, sols)
    raw_files, raw_meta = run_raw(inputs)

    GOLDEN.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, arrays in {**raw_files, **sols}.items():
        path = GOLDEN / f"{name}.npz"
        members: dict[str, Any] = dict(arrays)
        np.savez_compressed(path, **members)
        sizes[name] = path.stat().st_size

    def versions(*pkgs: str) -> dict[str, str]:
        out = {}
        for p in pkgs:
            try:
                out[p] = metadata.version(p)
            except metadata.PackageNotFoundError:
                out[p] = "absent"
        return out

    index: dict[str, Any] = {
        "generator": "tests/golden/make_golden.py (run by tests/golden/make_golden.sh)",
        "python": sys.version.split()[0],
        "mediapipe": mp.__version__,
        "packages": versions(
            "mediapipe", "numpy", "opencv-contrib-python", "ai-edge-litert", "protobuf"
        ),
        "photos": {
            p: {
                "file": f"tests/data/faces/{p}.jpg",
                "shape": list(img.shape),
                "decoded_bgr_sha256": sha256_bytes(img.tobytes()),
            }
            for p, img in photos.items()
        },
        "raw": raw_meta,
        "solutions": {
            "image": "cv2.imread(IMREAD_COLOR) then BGR->RGB; a fresh solution object per "
            "photo, one process() call each",
            "face_detection": {
                "file": "solution_face_detection.npz",
                "settings": FACE_DETECTION_SETTINGS,
                "keys": {
                    "<photo>/boxes": "(N,4) float32 xmin,ymin,width,height, normalised",
                    "<photo>/keypoints": "(N,6,2) float32 x,y normalised: right eye, left "
                    "eye, nose tip, mouth, right ear tragion, left ear tragion",
                    "<photo>/scores": "(N,) float32",
                },
                "counts": {
                    p: int(sols["solution_face_detection"][f"{p}/scores"].shape[0]) for p in PHOTOS
                },
            },
            "face_mesh": {
                "file": "solution_face_mesh.npz",
                "settings": FACE_MESH_SETTINGS,
                "keys": {"<photo>/landmarks": "(N,478,3) float32 x,y,z normalised"},
                "counts": {
                    p: int(sols["solution_face_mesh"][f"{p}/landmarks"].shape[0]) for p in PHOTOS
                },
            },
            "selfie_segmentation": {
                "file": "solution_selfie_segmentation.npz",
                "settings": {"model_selection": [0, 1]},
                "keys": {
                    "<photo>/model0": "(H,W) float16 mask at image resolution, "
                    "model_selection=0 (general, 256x256)",
                    "<photo>/model1": "(H,W) float16, model_selection=1 (landscape, 144x256)",
                },
                "photos": list(SEGMENTATION_PHOTOS),
            },
        },
        "tolerances": TOLERANCES,
        "file_bytes": sizes,
    }
    (GOLDEN / "index.json").write_text(json.dumps(index, indent=2, sort_keys=False) + "\n")
    total = sum(sizes.values())
    print(f"golden: {len(sizes)} npz, {total / 1e6:.2f} MB; {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
