#!/usr/bin/env python3
"""Make the README screenshots: the main window and the tray menu, on a virtual X display.

    .venv/bin/python tools/screenshots.py            # → docs/camfx-window.png, docs/camfx-tray.png
    .venv/bin/python tools/screenshots.py --preset background-blur --out /tmp/shots

It starts Xvfb with a tray host (see ``app/gui/headless.py`` for the packages), runs the real
window on the built-in demo with a built-in preset (Studio when it exists) and a throw-away
config folder (your own settings are never read or written), waits until the effects run,
then grabs the screen. The PNGs are saved with maximum compression.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PREFERRED = ("studio", "background-blur", "natural", "privacy-blur", "track", "off")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder (docs/)")
    parser.add_argument("--preset", default=None, help="built-in preset (default: studio)")
    parser.add_argument("--size", default="1060x660", help="window size (1060x660)")
    parser.add_argument(
        "--settle", type=float, default=4.0, help="seconds to let the effects warm up (4)"
    )
    parser.add_argument(
        "--use-display",
        action="store_true",
        help="use the current $DISPLAY instead of starting Xvfb",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from app.gui.headless import DisplayUnavailable, virtual_display

    config = tempfile.mkdtemp(prefix="camfx-shots-")
    os.environ["CAMFX_CONFIG_DIR"] = config
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    if args.use_display:
        return shoot(args, config)
    try:
        with virtual_display((1280, 800)) as display:
            os.environ["DISPLAY"] = display
            return shoot(args, config)
    except DisplayUnavailable as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 2


def shoot(args: argparse.Namespace, config: str) -> int:
    import json

    import cv2
    import numpy as np
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from app.gui.controller import EngineController
    from app.gui.headless import fake_click
    from app.gui.window import MainWindow
    from pipelines.presets import PRESETS
    from pipelines.userdata import PresetStore, SettingsStore

    preset = args.preset or next(p for p in PREFERRED if p in PRESETS)
    width, height = (int(v) for v in args.size.lower().split("x"))
    Path(config, "settings.json").write_text(
        json.dumps(
            {
                "preset": f"builtin:{preset}",
                "source": "demo",
                "close_to_tray": True,
                "tray_hint_shown": True,
            }
        )
    )
    app = QApplication.instance() or QApplication(["camfx"])
    app.setApplicationName("camfx")
    window = MainWindow(EngineController(), SettingsStore(), PresetStore(), use_hotkeys=False)
    window.start()
    window.resize(width, height)
    window.show()

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait_for(cond: object, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if callable(cond) and cond():
                return True
            time.sleep(0.01)
        return False

    def save(image: QImage, path: Path) -> None:
        image = image.convertToFormat(QImage.Format.Format_RGB888)
        w, h, stride = image.width(), image.height(), image.bytesPerLine()
        arr = np.frombuffer(image.constBits(), np.uint8, stride * h).reshape(h, stride)
        bgr = np.ascontiguousarray(arr[:, : w * 3].reshape(h, w, 3)[:, :, ::-1])
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"screenshots: wrote {path} ({path.stat().st_size // 1024} KB)")

    try:
        if not wait_for(
            lambda: window.preset_key == f"builtin:{preset}" and window.preview.frames_shown > 10,
            60,
        ):
            print("screenshots: the preview did not start", file=sys.stderr)
            return 1
        # Show one effect's sliders (the last stage is the one people tweak most).
        if window.effects.panels:
            last = list(window.effects.panels.values())[-1]
            last.expand_button.setChecked(True)
        spin(args.settle)
        screen = window.screen()
        geo = window.frameGeometry()
        window_shot = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
        save(window_shot.toImage(), args.out / "camfx-window.png")

        tray = window.tray
        icon_item = tray.icon if tray is not None else None
        if tray is None or icon_item is None:
            print("screenshots: no system tray; skipping the tray menu", file=sys.stderr)
            return 0
        wait_for(lambda: icon_item.geometry().width() > 0, 5)
        # A right-click opens the menu (checked on the real tray); for the picture it is
        # shown below the panel, as desktop panels do, so the icon stays visible.
        for _ in range(10):
            center = icon_item.geometry().center()
            fake_click(os.environ["DISPLAY"], center.x(), center.y(), button=3)
            if wait_for(tray.menu.isVisible, 1.0):
                break
        tray.menu.hide()
        geo = icon_item.geometry()
        tray.menu.popup(QPoint(geo.right(), geo.bottom() + 4))
        wait_for(tray.menu.isVisible, 2.0)
        spin(0.4)
        menu = tray.menu.geometry()
        icon = icon_item.geometry()
        area = menu.united(icon).adjusted(-40, -8, 8, 40)
        area = area.intersected(QRect(QPoint(0, 0), screen.size()))
        tray_shot = screen.grabWindow(0, area.x(), area.y(), area.width(), area.height())
        save(tray_shot.toImage(), args.out / "camfx-tray.png")
        tray.menu.hide()
        return 0
    finally:
        window.quit()


if __name__ == "__main__":
    sys.exit(main())
