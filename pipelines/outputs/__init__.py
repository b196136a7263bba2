"""Outputs chosen by a spec string through a registry.

Spec forms: ``virtualcam``, ``virtualcam:DEVICE``, ``null``, ``preview`` (a callback, for the
GUI), ``file:PATH`` or a bare path ending in a video suffix.

This package imports none of its submodules at load: the names below are looked up on first use
(PEP 562), and the registry's modules are imported when it is first used. An ``__init__`` that
imports its own submodules closes an import cycle (importing pipelines.outputs.recorder first
imports this package), and threads importing the package and a submodule at once can then get a
half-loaded module, as pipelines.inference's users did (tests/test_import_cycles.py).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import OutputError
from pipelines.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.outputs.base import OUTPUTS, Output
    from pipelines.registry import Registry

SUBMODULE_OF: dict[str, str] = {
    "OUTPUTS": "pipelines.outputs.base",
    "Output": "pipelines.outputs.base",
}
"""Each name this package offers, and the submodule that defines it."""

REGISTERING_MODULES = (
    "pipelines.outputs.basic",
    "pipelines.outputs.recorder",
    "pipelines.outputs.virtualcam",
)
"""The modules whose import registers their outputs in ``OUTPUTS``."""

__all__ = ["OUTPUTS", "Output", "make_output", "parse_output_spec"]


__getattr__ = lazy_names(__name__, SUBMODULE_OF, {"OUTPUTS": lambda: outputs()})


def outputs() -> Registry[type[Output]]:
    """The output registry, with every output registered (their modules imported)."""
    for module in REGISTERING_MODULES:
        importlib.import_module(module)
    from pipelines.outputs.base import OUTPUTS

    return OUTPUTS


def parse_output_spec(spec: str) -> tuple[str, str]:
    registry = outputs()
    found = registry.split_spec(spec)
    if found is not None:
        return found
    suffix = Path(spec).suffix.lower()
    if suffix:
        raise OutputError(
            f"output {spec!r}: unsupported file type {suffix!r}; use a .mp4 file (or .mov, "
            ".m4v, .mkv, .avi)"
        )
    raise OutputError(
        f"unknown output {spec!r}; use one of {', '.join(registry.names())} or a .mp4 path"
    )


def make_output(spec: str, **kwargs: Any) -> Output:
    """Create (not yet open) the output for ``spec``."""
    name, arg = parse_output_spec(spec)
    return outputs().get(name)(arg, **kwargs)
