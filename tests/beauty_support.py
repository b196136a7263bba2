"""Shared by the beauty tests: the settings that switch every retouching effect off."""

from __future__ import annotations

import dataclasses
from typing import Any

from pipelines.beauty.stage import BeautySettings

OFF: dict[str, Any] = {
    f.name: 0.0 for f in dataclasses.fields(BeautySettings) if "bounds" in f.metadata
}
"""Every bounded strength of BeautySettings at 0 (derived, so a new effect is included)."""
