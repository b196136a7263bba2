"""ONNX Runtime sessions and model wrappers. The only place that imports onnxruntime."""

from pipelines.inference.model import MODELS, OnnxModel, load_model, register_model
from pipelines.inference.session import ProviderReport, SessionFactory, default_factory

__all__ = [
    "MODELS",
    "OnnxModel",
    "ProviderReport",
    "SessionFactory",
    "default_factory",
    "load_model",
    "register_model",
]
