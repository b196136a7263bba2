"""The model base class: manifest lookup, sha256 check, session, pre/post-processing hooks.

A model subclass names its manifest entry and implements ``preprocess`` (inputs → feeds and
whatever the postprocessing needs to map results back) and ``postprocess``. Everything else —
finding the file, refusing a changed one, choosing providers, IO binding — lives here once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, TypeVar, overload

import numpy as np

from pipelines.errors import ModelError
from pipelines.inference.session import ProviderReport, SessionFactory, default_factory
from pipelines.registry import Registry


def models_dir() -> Path:
    import onnx_models

    return Path(onnx_models.__file__).resolve().parent


@cache
def load_manifest(directory: str | None = None) -> dict[str, dict[str, Any]]:
    """Manifest entries by model name."""
    path = Path(directory or models_dir()) / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"model manifest {path} is missing; reinstall camfx") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"model manifest {path} is unreadable ({exc}); reinstall camfx") from exc
    models = data.get("models", data)
    if isinstance(models, list):
        return {m["name"]: m for m in models}
    return dict(models)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expected_sha256(entry: dict[str, Any]) -> str:
    for key in ("sha256", "onnx_sha256", "output_sha256"):
        if isinstance(entry.get(key), str):
            return str(entry[key])
    onnx = entry.get("onnx")
    if isinstance(onnx, dict) and isinstance(onnx.get("sha256"), str):
        return str(onnx["sha256"])
    raise ModelError(f"manifest entry {entry.get('name')!r} has no sha256; reinstall camfx")


def verified_model_path(name: str, directory: str | None = None) -> Path:
    """The model's file, after checking it against the manifest's sha256."""
    manifest = load_manifest(directory)
    if name not in manifest:
        raise ModelError(f"model {name!r} is not in the manifest; known: {', '.join(manifest)}")
    entry = manifest[name]
    path = Path(directory or models_dir()) / entry.get("file", f"{name}.onnx")
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; reinstall camfx")
    digest = sha256_file(path)
    want = expected_sha256(entry)
    if digest != want:
        raise ModelError(
            f"model file {path} was changed (sha256 {digest[:12]}…, expected {want[:12]}…); "
            "refusing to load it. Reinstall camfx or rebuild with `python -m onnx_models.convert`"
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
        self.session, self.report = self.factory.create(str(self.path), self.model_name)
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
        if self.on_device:
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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        feeds, meta = self.preprocess(*args, **kwargs)
        return self.postprocess(self.run_raw(feeds), meta)

    @property
    def provider_report(self) -> ProviderReport:
        return self.report


ModelT = TypeVar("ModelT", bound=type[OnnxModel])
MODELS: Registry[type[OnnxModel]] = Registry("model")


def register_model(cls: ModelT) -> ModelT:
    MODELS.add(cls.model_name, cls)
    return cls


_cache: dict[tuple[str, int], OnnxModel] = {}
_cache_lock = threading.Lock()


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
        if key not in _cache:
            _cache[key] = MODELS.get(name)(factory)
        loaded = _cache[key]
    if not isinstance(model, str) and not isinstance(loaded, model):
        raise ModelError(
            f"model {name!r} is registered as {type(loaded).__name__}, not {model.__name__}"
        )
    return loaded
