"""Capture sources, chosen by a spec string through a registry.

Spec forms: ``demo``, ``camera``, ``camera:N``, ``camera:NAME``, ``image:PATH``,
``video:PATH`` or a bare path (its suffix picks the image or video source).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.errors import SourceError
from pipelines.sources.base import SOURCES, Source, SourceConfig, Timing

# FFmpeg (inside OpenCV) prints its own lines for a damaged file ("moov atom not found")
# before the source's one-line SourceError; the user gets that line alone. Read when OpenCV's
# FFmpeg backend first opens a file, so setting it here, before any capture, is enough; a
# value the user set is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# Importing the modules registers their sources.
from pipelines.sources import camera, demo, files  # noqa: F401  isort: skip

__all__ = ["SOURCES", "Source", "SourceConfig", "Timing", "open_source", "parse_source_spec"]


def parse_source_spec(spec: str) -> tuple[str, str]:
    """Split a spec into (registered source name, argument)."""
    found = SOURCES.split_spec(spec)
    if found is not None:
        return found
    suffix = Path(spec).suffix.lower()
    known = ", ".join(SOURCES.names())
    if Path(spec).is_dir():
        raise SourceError(f"source {spec!r} is a folder; give an image or video file")
    if suffix in (".heic", ".heif"):
        raise SourceError(
            f"source {spec!r}: HEIC photos (an iPhone's) cannot be read; export it as JPEG "
            "(on the iPhone: Settings > Camera > Formats > Most Compatible)"
        )
    if suffix or Path(spec).exists():
        raise SourceError(
            f"source {spec!r}: unsupported file type {suffix or '(none)'!r}; use an image "
            f"({', '.join(files.IMAGE_SUFFIXES)}) or a video ({', '.join(files.VIDEO_SUFFIXES)})"
        )
    raise SourceError(f"unknown source {spec!r}; use one of {known}, camera:N or a file path")


def open_source(spec: str, config: SourceConfig | None = None, **kwargs: Any) -> Source:
    """Create and open the source for ``spec``; errors name the source and what to do."""
    name, arg = parse_source_spec(spec)
    source = SOURCES.get(name)(arg, config or SourceConfig(), **kwargs)
    source.open()
    return source
