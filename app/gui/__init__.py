"""The desktop app (PySide6): live preview, controls, tray presets, virtual camera.

``camfx`` with no command calls :func:`main`. Qt is imported only when the window starts, so
importing this package stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the window until the user quits; returns the exit code."""
    from app.gui.application import run

    return run(argv)
