"""The app's state and decisions, without Qt: :class:`AppState` and its typed events.

Layers (an import-linter contract): ``app.gui`` → ``app.state`` → ``pipelines``. The split
follows napari's: ``napari/components`` holds the models (``ViewerModel``) that its Qt views in
``napari/_qt`` render and that scripts and tests drive without a display.
"""

from app.state.devices import DeviceReport, RowState, RowView
from app.state.model import AppState, Change, StateEvent, TrayLook, VirtualCamera

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
