"""The window's light/dark theme: Qt's own colour scheme where the platform can switch, else
Fusion with a light or dark palette."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QWidget

DARK_INDICATOR_OUTLINE = "#9a9a9a"
"""The outline of check boxes and radio buttons on the dark palette. Fusion draws it a shade
darker than the window, which on a dark window left an unchecked box nearly invisible (the
Virtual camera check box, QA 2026-12-06)."""


def themed_palette(dark: bool) -> QPalette:
    """Fusion's palettes: its standard light one, or the usual dark variant."""
    from PySide6.QtWidgets import QStyleFactory

    fusion = QStyleFactory.create("Fusion")
    if not dark:
        return fusion.standardPalette()
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colors = {
        role.Window: "#2b2b2b",
        role.WindowText: "#ececec",
        role.Base: "#1f1f1f",
        role.AlternateBase: "#333333",
        role.ToolTipBase: "#2b2b2b",
        role.ToolTipText: "#ececec",
        role.PlaceholderText: "#8a8a8a",
        role.Text: "#ececec",
        role.Button: "#353535",
        role.ButtonText: "#ececec",
        role.BrightText: "#ff6b6b",
        role.Link: "#6ea8ff",
        role.Highlight: "#3d7bd9",
        role.HighlightedText: "#ffffff",
        role.Light: "#4a4a4a",
        role.Midlight: "#404040",
        role.Mid: "#2f2f2f",
        role.Dark: "#1a1a1a",
        role.Shadow: "#000000",
    }
    for r, c in colors.items():
        p.setColor(r, QColor(c))
    for r in (role.Text, role.ButtonText, role.WindowText):
        p.setColor(group.Disabled, r, QColor("#7a7a7a"))
    return p


class DarkIndicatorStyle(QProxyStyle):
    """Fusion, with check box and radio button outlines that show on a dark window."""

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawPrimitive(element, option, painter, widget)
        pe = QStyle.PrimitiveElement
        if element not in (pe.PE_IndicatorCheckBox, pe.PE_IndicatorRadioButton):
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, element != pe.PE_IndicatorCheckBox)
        painter.setPen(QColor(DARK_INDICATOR_OUTLINE))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rect = option.rect.adjusted(0, 0, -1, -1)  # type: ignore[attr-defined]
        if element == pe.PE_IndicatorCheckBox:
            painter.drawRect(rect)
        else:
            painter.drawEllipse(rect)
        painter.restore()


class Themer:
    """Applies "system", "light" or "dark" to the application, and can go back to the
    system's look it found first."""

    def __init__(self) -> None:
        self._system_look: tuple[QPalette, str] | None = None
        self._themed = False
        self._style: QStyle | None = None
        """The style this object set (the application uses it; kept alive here)."""

    def apply(self, theme: str) -> None:
        """ "system" follows the desktop (Qt's platform theme does that by itself); "light"
        and "dark" ask Qt for that scheme and, where the platform cannot switch (no desktop
        theme, older Qt), use Qt's Fusion style with a light or dark palette."""
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        if self._system_look is None:
            self._system_look = (QPalette(app.palette()), app.style().name())
        hints = QGuiApplication.styleHints()
        scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme)
        try:
            if scheme is None:
                hints.unsetColorScheme()
            else:
                hints.setColorScheme(scheme)
        except AttributeError:  # Qt < 6.8 has no per-app scheme
            pass
        palette, style = self._system_look
        if scheme is not None and hints.colorScheme() != scheme:
            dark = scheme == Qt.ColorScheme.Dark
            if dark:
                self._style = DarkIndicatorStyle("Fusion")
                app.setStyle(self._style)
            else:
                app.setStyle("Fusion")
                self._style = None
            app.setPalette(themed_palette(dark))
        elif scheme is None and self._themed:
            app.setStyle(style)
            app.setPalette(palette)
        self._themed = scheme is not None
