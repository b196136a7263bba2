#!/usr/bin/env python3
"""Draw the app icon (app/gui/icons.py) into the files the bundles need, under build/icons/:

camfx.png           256 px, for Linux menus
camfx.ico           Windows (the executables and the installer)
camfx.iconset/      macOS sizes; the workflow turns it into camfx.icns with `iconutil`

python installer/make_icons.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "build" / "icons"
MAC_SIZES = (16, 32, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(["camfx-icons"])
    from app.gui.icons import draw_icon

    iconset = OUT / "camfx.iconset"
    iconset.mkdir(parents=True, exist_ok=True)
    written = []
    for path, size, fmt in [(OUT / "camfx.png", 256, "PNG"), (OUT / "camfx.ico", 256, "ICO")]:
        if not draw_icon(size, "live").save(str(path), fmt):
            print(f"make_icons: could not write {path} (no {fmt} image plugin?)", file=sys.stderr)
            return 1
        written.append(path)
    for size in MAC_SIZES:
        for scale in (1, 2):
            path = iconset / (f"icon_{size}x{size}" + ("@2x" if scale == 2 else "") + ".png")
            if not draw_icon(size * scale, "live").save(str(path), "PNG"):
                print(f"make_icons: could not write {path}", file=sys.stderr)
                return 1
    written.append(iconset)
    del app
    for path in written:
        print(f"make_icons: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
