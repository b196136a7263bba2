"""ONNX Runtime sessions and model wrappers. The only place that imports onnxruntime.

The names below are looked up in their submodules on first use (PEP 562), not imported here.
An ``__init__`` that imports its own submodules closes an import cycle (importing
``pipelines.inference.session`` first imports this package, which imported model, which imports
session), and threads that import the package and a submodule at the same time then each hold
one module lock and wait for the other's. Python's deadlock guard hands one of them a
half-loaded module: "cannot import name 'ProviderReport' from partially initialized module
'pipelines.inference.session'", which a user saw fail a preset once in ~45 window starts, and
which 4 threads importing the package, session, model and gpu reproduced in 40 of 40 fresh
processes. tests/test_import_cycles.py checks both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.inference.model import MODELS, OnnxModel, load_model, register_model
    from pipelines.inference.session import ProviderReport, SessionFactory, default_factory

SUBMODULE_OF: dict[str, str] = {
    "MODELS": "pipelines.inference.model",
    "OnnxModel": "pipelines.inference.model",
    "load_model": "pipelines.inference.model",
    "register_model": "pipelines.inference.model",
    "ProviderReport": "pipelines.inference.session",
    "SessionFactory": "pipelines.inference.session",
    "default_factory": "pipelines.inference.session",
}
"""Each name this package offers, and the submodule that defines it."""

__all__ = [
    "MODELS",
    "OnnxModel",
    "ProviderReport",
    "SessionFactory",
    "default_factory",
    "load_model",
    "register_model",
]


__getattr__ = lazy_names(__name__, SUBMODULE_OF)
