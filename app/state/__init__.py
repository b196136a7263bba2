"""The app's state and decisions, without Qt: :class:`AppState` and its typed events.

Layers (an import-linter contract): ``app.gui`` → ``app.state`` → ``pipelines``.
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
