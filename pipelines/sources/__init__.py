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


KIND_SOURCES: dict[files.FileKind, str] = {
    files.FileKind.PICTURE: "image",
    files.FileKind.VIDEO: "video",
}
"""The source that reads each kind of file (:func:`files.file_kind`); a kind not here (HEIC)
is refused."""


def parse_source_spec(spec: str) -> tuple[str, str]:
    """Split a spec into (registered source name, argument). A bare path goes to the source
    for what the file holds (its content, where that tells; else its name): a JPEG named .mp4
    is shown as a photo, with the photo's crop."""
    found = SOURCES.split_spec(spec)
    if found is not None and found[1] != spec:
        return found  # a source's name, or NAME:ARG (image:PATH, video:PATH as given)
    suffix = Path(spec).suffix.lower()
    known = ", ".join(SOURCES.names())
    if Path(spec).is_dir():
        raise SourceError(f"source {spec!r} is a folder; give an image or video file")
    kind = files.file_kind(spec) if Path(spec).is_file() else files.SUFFIX_KINDS.get(suffix)
    if kind is files.FileKind.HEIC:
        raise SourceError(f"source {spec!r}: {files.HEIC_PROBLEM}")
    if kind is not None:
        return KIND_SOURCES[kind], spec
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
