"""The app's state and decisions, without Qt: :class:`AppState` and its typed events.

Layers (an import-linter contract): ``app.gui`` → ``app.state`` → ``pipelines``. The split
follows napari's: ``napari/components`` holds the models (``ViewerModel``) that its Qt views in
``napari/_qt`` render and that scripts and tests drive without a display.

The names below are looked up in their submodules on first use (PEP 562), not imported here:
an ``__init__`` that imports its own submodules closes an import cycle (importing
app.state.model first imports this package), and threads importing both at once can get a
half-loaded module (tests/test_import_cycles.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lazy import lazy_names

if TYPE_CHECKING:
    from app.state.devices import DeviceReport, RowState, RowView
    from app.state.model import AppState, Change, StateEvent, TrayLook, VirtualCamera

SUBMODULE_OF: dict[str, str] = {
    "DeviceReport": "app.state.devices",
    "RowState": "app.state.devices",
    "RowView": "app.state.devices",
    "AppState": "app.state.model",
    "Change": "app.state.model",
    "StateEvent": "app.state.model",
    "TrayLook": "app.state.model",
    "VirtualCamera": "app.state.model",
}
"""Each name this package offers, and the submodule that defines it."""

__all__ = [
    "AppState",
    "Change",
    "DeviceReport",
    "RowState",
    "RowView",
    "StateEvent",
    "TrayLook",
    "VirtualCamera",
]


__getattr__ = lazy_names(__name__, SUBMODULE_OF)
