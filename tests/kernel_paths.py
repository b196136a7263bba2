"""Running a test on both paths of a stage: the compiled kernels or the reference one.

The fixtures of the files that check a stage on both paths (beauty's smoothing and colour
model, the key light's gain) name the reference path after what it runs on (OpenCV, NumPy),
and all switch between them the same way, here.
"""

from __future__ import annotations

import pytest

from pipelines.segmentation import fused

COMPILED = "compiled"
"""The fixtures' name for the compiled (Numba) path."""


def on_path(path: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``path`` for this test: :data:`COMPILED` (skipped without Numba, saying why), or the
    reference path, which switches the compiled kernels off (``fused.DISABLE_ENV``)."""
    if path != COMPILED:
        monkeypatch.setenv(fused.DISABLE_ENV, "1")
    elif not fused.available():
        pytest.skip(f"numba unavailable: {fused.unavailable_reason()}")
    return path
