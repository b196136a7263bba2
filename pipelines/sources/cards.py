"""Message cards: a still frame with one line of text, sent in place of a picture.

A source sends one where the meeting would otherwise see the last frame frozen (a camera
unplugged: :class:`pipelines.sources.camera.CameraSource` with
:attr:`~pipelines.sources.base.SourceConfig.lost_card`); the window sends its own ("Paused",
"No signal") with the same drawing. OpenCV only: the command line and the window share it.
"""

from __future__ import annotations

import cv2
import numpy as np

OUTLINE_OFFSETS = ((-2, 0), (2, 0), (0, -2), (0, 2), (-1, -1), (1, 1), (-1, 1), (1, -1))
"""Where the text's dark outline is drawn around it, at the text's own thickness: OpenCV 5.1's
letters advance further with a thicker stroke (this module's "Camera disconnected" line: 306 px
wide at thickness 1, 331 px at 5), so one thicker dark copy ran 25 px past the white text's end
and showed as a second, shifted line."""

CARD_GREY = 32
"""The background of :func:`message_card`."""

DISCONNECTED_CARD_TEXT = "Camera disconnected - reconnecting..."
"""What the virtual camera, a recording and the preview show while the camera is unplugged
(OpenCV's font has no "…")."""


def put_centered(image: np.ndarray, text: str, y: int, scale: float, thickness: int) -> None:
    """White text with a dark outline, centred across ``image`` on the line ``y``."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    x = max(0, (image.shape[1] - tw) // 2)
    base = y + th // 2
    for dx, dy in OUTLINE_OFFSETS:
        at = (x + dx, base + dy)
        cv2.putText(image, text, at, font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    cv2.putText(image, text, (x, base), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def message_card(text: str, size: tuple[int, int]) -> np.ndarray:
    """A plain dark frame with one line of text ("No signal", "Starting camera...")."""
    w, h = size
    card = np.full((h, w, 3), CARD_GREY, np.uint8)
    put_centered(card, text, h // 2, min(w, h) / 600, max(1, h // 300))
    return card
