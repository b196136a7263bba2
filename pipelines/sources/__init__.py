"""Capture sources, chosen by a spec string through a registry.

Spec forms: ``demo``, ``camera``, ``camera:N``, ``camera:NAME``, ``image:PATH``,
``video:PATH`` or a bare path (its suffix picks the image or video source).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import SourceError
from pipelines.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.registry import Registry
    from pipelines.sources.base import SOURCES, Source, SourceConfig, Timing
    from pipelines.sources.files import FileKind

# FFmpeg (inside OpenCV) prints its own lines for a damaged file ("moov atom not found")
# before the source's one-line SourceError; the user gets that line alone. Read when OpenCV's
# FFmpeg backend first opens a file, so setting it here, before any capture, is enough; a
# value the user set is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# This package imports none of its submodules at load: the names below are looked up on first
# use (PEP 562). An ``__init__`` that imports its own submodules closes an import cycle
# (importing pipelines.sources.camera first imports this package), and threads importing the
# package and a submodule at once can then get a half-loaded module, as pipelines.inference's
# users did (tests/test_import_cycles.py).
SUBMODULE_OF: dict[str, str] = {
    "SOURCES": "pipelines.sources.base",
    "Source": "pipelines.sources.base",
    "SourceConfig": "pipelines.sources.base",
    "Timing": "pipelines.sources.base",
}
"""Each name this package offers, and the submodule that defines it."""

REGISTERING_MODULES = (
    "pipelines.sources.camera",
    "pipelines.sources.demo",
    "pipelines.sources.files",
)
"""The modules whose import registers their sources in ``SOURCES``."""

__all__ = ["SOURCES", "Source", "SourceConfig", "Timing", "open_source", "parse_source_spec"]


__getattr__ = lazy_names(__name__, SUBMODULE_OF, {"SOURCES": lambda: sources()})


def sources() -> Registry[type[Source]]:
    """The source registry, with every source registered (their modules imported)."""
    for module in REGISTERING_MODULES:
        importlib.import_module(module)
    from pipelines.sources.base import SOURCES

    return SOURCES


def kind_sources() -> dict[FileKind, str]:
    """The source that reads each kind of file (:func:`files.file_kind`); a kind not here
    (HEIC) is refused."""
    from pipelines.sources.files import FileKind

    return {FileKind.PICTURE: "image", FileKind.VIDEO: "video"}


def parse_source_spec(spec: str) -> tuple[str, str]:
    """Split a spec into (registered source name, argument). A bare path goes to the source
    for what the file holds (its content, where that tells; else its name): a JPEG named .mp4
    is shown as a photo, with the photo's crop."""
    from pipelines.sources import files

    registry = sources()
    found = registry.split_spec(spec)
    if found is not None and found[1] != spec:
        return found  # a source's name, or NAME:ARG (image:PATH, video:PATH as given)
    suffix = Path(spec).suffix.lower()
    known = ", ".join(registry.names())
    if Path(spec).is_dir():
        raise SourceError(f"source {spec!r} is a folder; give an image or video file")
    kind = files.file_kind(spec) if Path(spec).is_file() else files.SUFFIX_KINDS.get(suffix)
    if kind is files.FileKind.HEIC:
        raise SourceError(f"source {spec!r}: {files.HEIC_PROBLEM}")
    if kind is not None:
        return kind_sources()[kind], spec
    if suffix or Path(spec).exists():
        raise SourceError(
            f"source {spec!r}: unsupported file type {suffix or '(none)'!r}; use an image "
            f"({', '.join(files.IMAGE_SUFFIXES)}) or a video ({', '.join(files.VIDEO_SUFFIXES)})"
        )
    raise SourceError(f"unknown source {spec!r}; use one of {known}, camera:N or a file path")


def open_source(spec: str, config: SourceConfig | None = None, **kwargs: Any) -> Source:
    """Create and open the source for ``spec``; errors name the source and what to do."""
    name, arg = parse_source_spec(spec)
    from pipelines.sources.base import SourceConfig

    source = sources().get(name)(arg, config or SourceConfig(), **kwargs)
    source.open()
    return source
