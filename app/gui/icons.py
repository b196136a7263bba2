"""The app and tray icons, drawn in code at every size (crisp on HiDPI, no image files).

The tray icon says the state at a glance: grey when the virtual camera is off, blue with a
green dot while it sends, amber with a pause sign while paused, red with a "!" on a problem.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPixmap

STATES = ("idle", "live", "paused", "error")
SIZES = (16, 20, 22, 24, 32, 40, 48, 64, 128, 256)

_BACKGROUND = {
    "idle": QColor("#6b7280"),
    "live": QColor("#2563eb"),
    "paused": QColor("#b45309"),
    "error": QColor("#b91c1c"),
}


def draw_icon(size: int, state: str = "live") -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    # Rounded square background.
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(_BACKGROUND.get(state, _BACKGROUND["idle"]))
    p.drawRoundedRect(QRectF(0.5, 0.5, s - 1, s - 1), s * 0.22, s * 0.22)
    # A white camera: body, lens, and the small viewfinder triangle.
    white = QColor("white")
    p.setBrush(white)
    body = QRectF(s * 0.14, s * 0.32, s * 0.50, s * 0.38)
    p.drawRoundedRect(body, s * 0.07, s * 0.07)
    tri = QPainterPath()
    tri.moveTo(QPointF(s * 0.66, s * 0.51))
    tri.lineTo(QPointF(s * 0.86, s * 0.36))
    tri.lineTo(QPointF(s * 0.86, s * 0.66))
    tri.closeSubpath()
    p.drawPath(tri)
    p.setBrush(_BACKGROUND.get(state, _BACKGROUND["idle"]))
    p.drawEllipse(QPointF(s * 0.39, s * 0.51), s * 0.10, s * 0.10)
    # The state badge, bottom right.
    badge = QRectF(s * 0.56, s * 0.56, s * 0.42, s * 0.42)
    if state == "live":
        p.setBrush(QColor("white"))
        p.drawEllipse(badge)
        p.setBrush(QColor("#16a34a"))
        p.drawEllipse(badge.adjusted(s * 0.06, s * 0.06, -s * 0.06, -s * 0.06))
    elif state == "paused":
        p.setBrush(QColor("white"))
        p.drawEllipse(badge)
        p.setBrush(QColor("#b45309"))
        w = badge.width()
        for x in (0.30, 0.56):
            p.drawRect(QRectF(badge.left() + w * x, badge.top() + w * 0.27, w * 0.14, w * 0.46))
    elif state == "error":
        p.setBrush(QColor("white"))
        p.drawEllipse(badge)
        p.setBrush(QColor("#b91c1c"))
        w = badge.width()
        p.drawRect(QRectF(badge.center().x() - w * 0.07, badge.top() + w * 0.2, w * 0.14, w * 0.38))
        p.drawEllipse(QPointF(badge.center().x(), badge.top() + w * 0.74), w * 0.08, w * 0.08)
    p.end()
    return pix


_cache: dict[str, QIcon] = {}


def app_icon(state: str = "live") -> QIcon:
    icon = _cache.get(state)
    if icon is None:
        icon = QIcon()
        for size in SIZES:
            icon.addPixmap(draw_icon(size, state))
        _cache[state] = icon
    return icon


def status_dot(color: str, size: int = 12, ratio: float = 1.0) -> QPixmap:
    """A small filled circle for device rows (the text beside it says the same in words)."""
    px = max(1, round(size * ratio))
    pix = QPixmap(px, px)
    pix.setDevicePixelRatio(ratio)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(color))
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    p.end()
    return pix
