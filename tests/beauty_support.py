"""Shared by the beauty tests: the settings that switch every retouching effect off."""

from __future__ import annotations

from typing import Any

from pipelines import schema
from pipelines.beauty.stage import BeautySettings

OFF: dict[str, Any] = {
    f.name: 0.0
    for f in schema.fields_of(BeautySettings)
    if f.kind is schema.FieldKind.FLOAT and f.bounded
}
"""Every bounded strength of BeautySettings at 0 (derived, so a new effect is included)."""
