"""What travels through the engine: pixels, a capture timestamp and a per-frame context.

Stages never keep per-frame results on themselves; they write them into the frame's
:class:`FrameContext` so that later stages (and outputs, and the GUI) read them from one place
and a frame's results can never be mixed up with another frame's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FrameContext:
    """Per-frame results. Typed slots for what several stages share, ``extras`` for the rest."""

    timestamp: float
    """Monotonic capture time in seconds (``time.monotonic()``), set by the source."""
    index: int
    """Sequence number from the source; gaps mean frames were dropped before processing."""
    faces: list[Any] = field(default_factory=list)
    primary_face: Any | None = None
    mask: np.ndarray | None = None
    """Person mask, float32 in [0, 1], frame size."""
    audio: Any | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    stage_ms: dict[str, float] = field(default_factory=dict)
    """Wall time each stage took on this frame, filled in by the engine."""
    errors: list[str] = field(default_factory=list)
    """Stages that failed on this frame (they were bypassed)."""


@dataclass
class Frame:
    """A BGR uint8 image (H×W×3, C-contiguous) and its context."""

    image: np.ndarray
    ctx: FrameContext

    @property
    def timestamp(self) -> float:
        return self.ctx.timestamp

    @property
    def index(self) -> int:
        return self.ctx.index

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    @classmethod
    def new(cls, image: np.ndarray, timestamp: float, index: int) -> Frame:
        return cls(image=image, ctx=FrameContext(timestamp=timestamp, index=index))
