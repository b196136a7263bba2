"""The model base class: manifest lookup, sha256 check, session, pre/post-processing hooks.

A model subclass names its manifest entry and implements ``preprocess`` (inputs → feeds and
whatever the postprocessing needs to map results back) and ``postprocess``. Everything else —
finding the file, refusing a changed one, choosing providers, IO binding — lives here once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import threading
import weakref
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, TypeVar, overload

import numpy as np

from pipelines.errors import ModelError
from pipelines.inference.capture import CAPTURE_GUARD, CAPTURE_RUNS
from pipelines.inference.session import ProviderReport, SessionFactory, default_factory
from pipelines.registry import Registry


def restore_hint(path: Path | str | None = None) -> str:
    """How a user gets camfx's own files back (a model changed or gone): from the git checkout
    it runs from, or by installing the bundle again. (It said "Reinstall camfx or rebuild with
    `python -m onnx_models.convert`", which downloads MediaPipe and rebuilds only some models,
    and "pip install --force-reinstall camfx", a package camfx does not publish: qa64.)"""
    root = Path(__file__).resolve().parents[2]
    ours = path is None or root in Path(path).resolve().parents
    if (root / ".git").exists() and ours:
        return f"restore it with: git -C {root} checkout -- onnx_models/"
    if getattr(sys, "frozen", False):
        return "install the camfx bundle again (its install.sh)"
    return "install camfx again from the copy you installed it from"


def models_dir() -> Path:
    import onnx_models

    return Path(onnx_models.__file__).resolve().parent


log = logging.getLogger(__name__)

MAX_MANIFEST_BYTES = 1 << 20
"""The shipped manifest is ~20 KB; a larger file is not one."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


@cache
def load_manifest(directory: str | None = None) -> dict[str, dict[str, Any]]:
    """Manifest entries by model name, after checking the file's shape: every failure is a
    :class:`ModelError` naming ``manifest.json`` and what is wrong in it."""
    path = Path(directory or models_dir()) / "manifest.json"
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ModelError(f"model manifest {path} is too large to be one; {restore_hint(path)}")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest {path} is missing; {restore_hint(path)}") from None
    # RecursionError: JSON nested thousands deep.
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ModelError(
            f"model manifest {path} is unreadable ({reason}); {restore_hint(path)}"
        ) from None
    return _manifest_entries(data, path)


def _manifest_entries(data: Any, path: Path) -> dict[str, dict[str, Any]]:
    def bad(what: str) -> ModelError:
        return ModelError(f"model manifest {path} is damaged: {what}; {restore_hint(path)}")

    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise bad('it must be a JSON object with a "models" list')
    entries: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(models):
        if not isinstance(entry, dict):
            raise bad(f"model #{i + 1} is not an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad(f'model #{i + 1} has no "name"')
        if name in entries:
            raise bad(f"model {name!r} is listed twice")
        file = entry.get("file", f"{name}.onnx")
        # A plain name in the models folder: the manifest never points anywhere else.
        if (
            not isinstance(file, str)
            or not file
            or len(file) > 255  # no file system has longer names
            or Path(file).name != file
            or file in ("..", ".")
        ):
            raise bad(f'model {name!r} has a "file" that is not a file name in {path.parent}')
        sha = entry.get("sha256")
        if sha is None:
            raise bad(f"model {name!r} has no sha256")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise bad(f"model {name!r} has a sha256 that is not 64 hex digits")
        size = entry.get("size_bytes")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise bad(f"model {name!r} has a size_bytes that is not a whole number")
        entries[name] = entry
    if not entries:
        raise bad("it lists no model")
    return entries


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expected_sha256(entry: dict[str, Any]) -> str:
    sha = entry.get("sha256")
    if not isinstance(sha, str):
        raise ModelError(f"manifest entry {entry.get('name')!r} has no sha256; {restore_hint()}")
    return sha


def verified_model_path(name: str, directory: str | None = None) -> Path:
    """The model's file, after checking it against the manifest's sha256."""
    manifest = load_manifest(directory)
    if name not in manifest:
        raise ModelError(f"model {name!r} is not in the manifest; known: {', '.join(manifest)}")
    entry = manifest[name]
    path = Path(directory or models_dir()) / entry.get("file", f"{name}.onnx")
    try:
        if not path.is_file():
            raise ModelError(f"model file {path} is missing; {restore_hint(path)}")
        digest = sha256_file(path)
    except OSError as exc:
        raise ModelError(
            f"model file {path} could not be read ({exc.strerror or exc}); check its "
            f"permissions, or {restore_hint(path)}"
        ) from None
    want = expected_sha256(entry)
    if digest != want:
        raise ModelError(
            f"model file {path} was changed (sha256 {digest[:12]}…, expected {want[:12]}…); "
            f"refusing to load it; {restore_hint(path)}"
        )
    return path


class OnnxModel:
    """Base for every network. Subclasses set ``model_name`` and override the two hooks."""

    model_name: ClassVar[str] = ""

    def __init__(
        self, factory: SessionFactory | None = None, *, directory: str | None = None
    ) -> None:
        self.path = verified_model_path(self.model_name, directory)
        self.factory = factory or default_factory()
        entry = load_manifest(directory)[self.model_name]
        self.session, self.report = self.factory.create(
            str(self.path), self.model_name, fixed_shapes=_fixed_shapes(entry)
        )
        self.inputs = self.session.get_inputs()
        self.input_names = [i.name for i in self.inputs]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.on_device = self.report.provider != "CPUExecutionProvider"
        # Where IO binding puts outputs: device memory for the CUDA-based providers, host
        # memory otherwise (DirectML/CoreML sessions copy to the host themselves).
        self.output_device = (
            "cuda"
            if self.report.provider in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
            else "cpu"
        )
        # A session is thread-safe for run(), but IO bindings are not: one per thread.
        self._local = threading.local()
        # A CUDA graph replays into the buffers it was captured with: one set a model, used by
        # one thread at a time.
        self.fixed_buffers = self.report.cuda_graph
        self.fixed_binding: _FixedBinding | None = None
        self._fixed_lock = threading.Lock()
        self._capture_runs_left = CAPTURE_RUNS if self.report.cuda_graph else 0
        self._capture_hold: Callable[[], Any] = lambda: None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.inputs[0].shape)

    # Hooks --------------------------------------------------------------------
    def preprocess(self, *args: Any, **kwargs: Any) -> tuple[dict[str, np.ndarray], Any]:
        """Turn caller inputs into feeds; the second value is passed to ``postprocess``."""
        (tensor,) = args
        return {self.input_names[0]: tensor}, None

    def postprocess(self, outputs: dict[str, np.ndarray], meta: Any) -> Any:
        return outputs

    # Running ------------------------------------------------------------------
    def run_raw(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the bare network; outputs by name as numpy arrays."""
        if self.fixed_buffers:
            return self._run_fixed(feeds)
        if self.on_device:
            with CAPTURE_GUARD.device_work():
                return self._run_bound(feeds)
        values = self.session.run(self.output_names, feeds)
        return dict(zip(self.output_names, values, strict=True))

    def _run_bound(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # On a GPU, IO binding avoids ONNX Runtime's extra host copies; outputs come back once.
        binding = getattr(self._local, "binding", None)
        if binding is None:
            binding = self._local.binding = self.session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(value))
        for name in self.output_names:
            binding.bind_output(name, self.output_device)
        self.session.run_with_iobinding(binding)
        values = binding.copy_outputs_to_cpu()
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        return dict(zip(self.output_names, values, strict=True))

    def _run_fixed(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Inputs are copied into buffers bound once (at addresses a CUDA graph replays with);
        # outputs are read back as new host arrays, since the next run overwrites the buffers.
        with self._fixed_lock:
            if not self.report.cuda_graph:  # fixed buffers forced on another provider (tests)
                if self.fixed_binding is None:
                    self.fixed_binding = _FixedBinding(self, feeds)
                return self.fixed_binding.run(feeds)
            capturing = self._capture_runs_left > 0
            if capturing and self._capture_runs_left == CAPTURE_RUNS:
                CAPTURE_GUARD.expect_capture()  # before the first run: the capture is its next
                # Released once, by the last capture run or by the model's end, whichever
                # comes first (a stage closed after one frame must not hold the GPU's work
                # one call at a time for the rest of the process).
                self._capture_hold = weakref.finalize(self, CAPTURE_GUARD.captured)
            try:
                with CAPTURE_GUARD.device_work():
                    if self.fixed_binding is None:
                        self.fixed_binding = _FixedBinding(self, feeds)
                    outputs = self.fixed_binding.run(feeds)
            except ModelError:
                raise  # the caller's input, not the graph
            except Exception as exc:
                if capturing:
                    self._capture_runs_left = 0
                    self._capture_hold()
                self._without_graph(exc)
                return self.run_raw(feeds)
            if capturing:
                self._capture_runs_left -= 1
                if self._capture_runs_left == 0:
                    self._capture_hold()
            return outputs

    def _without_graph(self, exc: Exception) -> None:
        """A CUDA graph that failed to capture or replay: the model goes on as a plain CUDA
        session, and its report says why (the frame is not lost, and neither is the stage)."""
        why = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
        log.warning("%s: CUDA graph failed (%s); running it without one", self.model_name, why)
        # (The factory keeps the GPU session's making out of any capture.)
        session, report = self.factory.create(str(self.path), self.model_name)
        report.graph_refused = f"failed while running: {why}"
        self.session, self.report = session, report
        self.fixed_buffers = False
        self.fixed_binding = None
        self._local = threading.local()
        self.on_device = report.provider != "CPUExecutionProvider"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        feeds, meta = self.preprocess(*args, **kwargs)
        return self.postprocess(self.run_raw(feeds), meta)

    @property
    def provider_report(self) -> ProviderReport:
        return self.report


def _fixed_shapes(entry: dict[str, Any]) -> bool:
    """Every input and output of the manifest entry has a fixed shape (no named sizes)."""
    specs = [*entry.get("inputs", []), *entry.get("outputs", [])]
    return bool(specs) and all(
        isinstance(spec, dict)
        and isinstance(spec.get("shape"), list)
        and all(isinstance(d, int) and not isinstance(d, bool) for d in spec["shape"])
        for spec in specs
    )


_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
}


class _FixedBinding:
    """Inputs and outputs of one model in buffers allocated once, where its outputs are put
    (``output_device``), bound once."""

    def __init__(self, model: OnnxModel, feeds: dict[str, np.ndarray]) -> None:
        from pipelines.inference.session import _onnxruntime

        ort = _onnxruntime()
        device = model.output_device
        self.session = model.session
        self.output_names = model.output_names
        self.binding = model.session.io_binding()
        self.inputs: dict[str, Any] = {}
        self.input_dtypes: dict[str, np.dtype[Any]] = {}
        for name in model.input_names:
            if name not in feeds:
                raise ModelError(f"model {model.model_name}: no input {name!r} given")
            value = np.ascontiguousarray(feeds[name])
            self.inputs[name] = ort.OrtValue.ortvalue_from_numpy(value, device, 0)
            self.input_dtypes[name] = value.dtype
            self.binding.bind_ortvalue_input(name, self.inputs[name])
        self.outputs: dict[str, Any] = {}
        for out in model.session.get_outputs():
            dtype = _ORT_TYPES.get(out.type)
            fixed = all(isinstance(d, int) for d in out.shape)
            shape = [int(d) for d in out.shape] if fixed else []
            if dtype is None or not shape:
                raise ModelError(
                    f"model {model.model_name}: output {out.name} ({out.type} {out.shape}) "
                    "cannot be bound to a fixed buffer"
                )
            self.outputs[out.name] = ort.OrtValue.ortvalue_from_shape_and_type(
                shape, dtype, device, 0
            )
            self.binding.bind_ortvalue_output(out.name, self.outputs[out.name])
        self.model_name = model.model_name

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, buffer in self.inputs.items():
            value = np.ascontiguousarray(feeds[name], dtype=self.input_dtypes[name])
            if list(value.shape) != buffer.shape():
                raise ModelError(
                    f"model {self.model_name}: input {name} has shape {list(value.shape)}, "
                    f"its fixed buffer {buffer.shape()}"
                )
            buffer.update_inplace(value)
        self.session.run_with_iobinding(self.binding)
        return {name: np.array(self.outputs[name].numpy()) for name in self.output_names}


ModelT = TypeVar("ModelT", bound=type[OnnxModel])
MODELS: Registry[type[OnnxModel]] = Registry("model")


def register_model(cls: ModelT) -> ModelT:
    MODELS.add(cls.model_name, cls)
    return cls


_cache: dict[tuple[str, int], OnnxModel] = {}
_cache_lock = threading.Lock()
"""Guards :data:`_cache` and :data:`_making`; held for look-ups only, never while a model is
made (a session takes 0.1-1 s): the engine's opener thread makes the models of a preset's new
stages while the processing thread may look up one it has."""
_making: dict[tuple[str, int], threading.Lock] = {}
"""One lock per model being made, so that two threads asking for it make it once."""


M = TypeVar("M", bound=OnnxModel)


@overload
def load_model(model: type[M], factory: SessionFactory | None = None) -> M: ...
@overload
def load_model(model: str, factory: SessionFactory | None = None) -> OnnxModel: ...


def load_model(model: str | type[OnnxModel], factory: SessionFactory | None = None) -> OnnxModel:
    """A shared instance of a registered model (one session per factory).

    Given the model's class, the answer has that type (``load_model(FaceMesh)`` is a
    ``FaceMesh``); given a manifest name, it is the class registered under that name."""
    name = model if isinstance(model, str) else model.model_name
    factory = factory or default_factory()
    key = (name, id(factory))
    with _cache_lock:
        loaded = _cache.get(key)
    if loaded is None:
        loaded = _make_once(key, lambda: MODELS.get(name)(factory))
    if not isinstance(model, str) and not isinstance(loaded, model):
        raise ModelError(
            f"model {name!r} is registered as {type(loaded).__name__}, not {model.__name__}"
        )
    return loaded


def _make_once(key: tuple[str, int], make: Callable[[], OnnxModel]) -> OnnxModel:
    """The cached model of ``key``, made by ``make`` unless another thread made it first."""
    with _cache_lock:
        making = _making.setdefault(key, threading.Lock())
    with making:
        with _cache_lock:
            made = _cache.get(key)
        if made is None:
            made = make()
            with _cache_lock:
                _cache[key] = made
                _making.pop(key, None)
        return made
