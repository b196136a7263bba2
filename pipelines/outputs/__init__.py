"""Outputs chosen by a spec string through a registry.

Spec forms: ``virtualcam``, ``virtualcam:DEVICE``, ``null``, ``preview`` (a callback, for the
GUI), ``file:PATH`` or a bare path ending in a video suffix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.errors import OutputError
from pipelines.outputs.base import OUTPUTS, Output

from pipelines.outputs import basic, recorder, virtualcam  # noqa: F401  isort: skip

__all__ = ["OUTPUTS", "Output", "make_output", "parse_output_spec"]


def parse_output_spec(spec: str) -> tuple[str, str]:
    found = OUTPUTS.split_spec(spec)
    if found is not None:
        return found
    suffix = Path(spec).suffix.lower()
    if suffix:
        raise OutputError(f"output {spec!r}: unsupported file type {suffix!r}; use a .mp4 file")
    raise OutputError(
        f"unknown output {spec!r}; use one of {', '.join(OUTPUTS.names())} or a .mp4 path"
    )


def make_output(spec: str, **kwargs: Any) -> Output:
    """Create (not yet open) the output for ``spec``."""
    name, arg = parse_output_spec(spec)
    return OUTPUTS.get(name)(arg, **kwargs)
