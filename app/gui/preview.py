"""The live preview: paints the newest processed frame as it arrives, never waiting for one.

Frames arrive on the engine's preview thread, already scaled to this widget's size in device
pixels (:class:`PreviewSink`), and wait in a one-slot buffer. A frame landing in the empty
buffer posts one wake-up to the GUI thread (a queued signal), which takes whatever is newest and
repaints; when the GUI thread is slow the preview simply shows fewer new frames, and the window
stays responsive. In compare mode the left half shows the input and the right half
the output, split at the same place in both.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHideEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui.plumbing import PreviewImage, PreviewSink
from app.gui.qtcompat import emit


def to_qimage(image: np.ndarray) -> QImage:
    """Wrap a BGR uint8 array without copying (the caller keeps the array alive)."""
    h, w = image.shape[:2]
    return QImage(image.data, w, h, int(image.strides[0]), QImage.Format.Format_BGR888)


class PreviewWidget(QWidget):
    pointPicked = Signal(float, float)
    """A double click on the picture: where, as fractions of the frame's width and height
    (only-me locks on to the person there)."""
    _frameArrived = Signal()
    """Emitted on the engine's preview thread (:attr:`PreviewSink.on_frame`); queued to ours."""

    def __init__(self, sink: PreviewSink, parent: QWidget | None = None):
        super().__init__(parent)
        self.sink = sink
        self.compare = False
        self.placeholder = "Starting…"
        self._current: PreviewImage | None = None
        self._qimage: QImage | None = None
        self._qinput: QImage | None = None
        self.frames_shown = 0
        self.last_shown = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Live preview")
        # Woken per frame rather than by a timer: a 15 ms poll kept each frame 7.5 ms in the
        # slot on average (measured: median 7.4 ms, p95 15.8 ms) and woke the GUI thread, and
        # so took the GIL from the engine's threads, 66 times a second for 30 frames.
        self._frameArrived.connect(self.poll, Qt.ConnectionType.QueuedConnection)
        sink.on_frame = self._wake
        self._update_display_size()
        self.poll()  # anything the sink holds already

    def sizeHint(self) -> QSize:
        return QSize(800, 450)

    def set_compare(self, on: bool) -> None:
        self.compare = on
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    def _wake(self) -> None:
        """:attr:`PreviewSink.on_frame`, on the engine's preview thread: post a poll to ours."""
        try:
            emit(self._frameArrived)  # through the work-around: 30 emits a second
        except RuntimeError:  # the widget was deleted without stop(): nobody to wake
            self.sink.on_frame = None

    def stop(self) -> None:
        """No more wake-ups from the engine (before this widget goes away)."""
        self.sink.on_frame = None

    # ----------------------------------------------------------------- frames
    def poll(self) -> None:
        item = self.sink.take()
        if item is None:
            return
        self._current = item
        self._qimage = to_qimage(item.output)
        self._qinput = to_qimage(item.input) if item.input is not None else None
        self.frames_shown += 1
        self.last_shown = time.monotonic()
        self.update()

    @property
    def shows_input(self) -> bool:
        """Whether the frame shown carries its unprocessed input (the compare view's left half;
        frames captured before compare was turned on have none)."""
        return self._qinput is not None

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.sink.visible = True

    def hideEvent(self, event: QHideEvent) -> None:
        # With the window in the tray and the virtual camera unused, nobody sees the output:
        # the engine then idles and releases the camera (Engine.idle_after).
        super().hideEvent(event)
        self.sink.visible = False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_display_size()

    def _update_display_size(self) -> None:
        ratio = self.devicePixelRatioF()
        self.sink.display_size = (
            max(1, round(self.width() * ratio)),
            max(1, round(self.height() * ratio)),
        )

    def image_rect(self) -> QRect:
        """Where the frame is drawn, in logical pixels (centred, aspect kept)."""
        cur = self._current
        if cur is None:
            return QRect()
        sw, sh = cur.source_size
        scale = min(self.width() / sw, self.height() / sh)
        w, h = round(sw * scale), round(sh * scale)
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        rect = self.image_rect()
        pos = event.position()
        if rect.width() > 0 and rect.height() > 0 and rect.contains(pos.toPoint()):
            self.pointPicked.emit(
                (pos.x() - rect.x()) / rect.width(), (pos.y() - rect.y()) / rect.height()
            )
        super().mouseDoubleClickEvent(event)

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 20))
        image = self._qimage
        if image is None:
            p.setPen(QColor(220, 220, 220))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = QRectF(self.image_rect())
        source = QRectF(0, 0, image.width(), image.height())
        inp = self._qinput if self.compare else None
        if inp is None:
            p.drawImage(target, image, source)
        else:
            half = target.width() / 2
            left = QRectF(target.left(), target.top(), half, target.height())
            right = QRectF(
                target.left() + half, target.top(), target.width() - half, target.height()
            )
            sx = image.width() * 0.5
            p.drawImage(left, inp, QRectF(0, 0, sx, inp.height()))
            p.drawImage(right, image, QRectF(sx, 0, image.width() - sx, image.height()))
            p.setPen(QColor(255, 255, 255, 200))
            p.drawLine(
                round(left.right()),
                round(target.top()),
                round(left.right()),
                round(target.bottom()),
            )
            self._label(p, left, "Before", Qt.AlignmentFlag.AlignLeft)
            self._label(p, right, "After", Qt.AlignmentFlag.AlignRight)
        if self.compare and inp is None:
            self._label(p, target, "Compare: waiting for the input…", Qt.AlignmentFlag.AlignLeft)
        p.end()

    @staticmethod
    def _label(p: QPainter, rect: QRectF, text: str, align: Qt.AlignmentFlag) -> None:
        font = QFont(p.font())
        font.setBold(True)
        p.setFont(font)
        metrics = p.fontMetrics()
        w = metrics.horizontalAdvance(text) + 16
        h = metrics.height() + 8
        x = rect.left() + 8 if align == Qt.AlignmentFlag.AlignLeft else rect.right() - w - 8
        box = QRectF(x, rect.top() + 8, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor("white"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
