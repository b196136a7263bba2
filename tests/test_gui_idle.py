"""The window's outputs tell the engine whether anyone watches, so it can idle in the tray."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.gui.plumbing import PreviewSink, SwitchableOutput
from pipelines.outputs.base import Output


class Audience(Output):
    def __init__(self, watched: bool | None) -> None:
        super().__init__("audience")
        self.watched = watched

    def has_consumers(self) -> bool | None:
        return self.watched


def test_switchable_output_off_has_no_consumers_and_on_asks_its_target() -> None:
    out = SwitchableOutput("virtual camera")
    out.open(64, 48, 30)
    assert out.has_consumers() is False
    target = Audience(watched=False)
    out.attach(target)
    assert out.has_consumers() is False
    target.watched = True
    assert out.has_consumers() is True
    out.attach(Audience(watched=None))  # a recording cannot tell: it counts as watched
    assert out.has_consumers() is None
    out.detach()
    assert out.has_consumers() is False


def test_preview_is_watched_only_while_its_widget_is_shown(qtbot) -> None:
    from app.gui.preview import PreviewWidget

    sink = PreviewSink()
    widget = PreviewWidget(sink)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    assert sink.has_consumers() is True
    widget.hide()
    assert sink.has_consumers() is False
    widget.show()
    assert sink.has_consumers() is True
