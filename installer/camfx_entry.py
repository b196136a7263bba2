"""The bundled app's entry point (PyInstaller): the ``camfx`` command, plus ``camfx shortcuts
install|remove`` for the install script (menu entry, icon, ``~/.local/bin/camfx``, start at
login), which has no Python of its own to run installer/shortcuts.py with."""

from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:2] == ["shortcuts"]:
        import shortcuts  # installer/shortcuts.py, bundled beside this file

        return shortcuts.main([*sys.argv[2:], "--executable", sys.executable])
    from app.cli import main as camfx_main

    return camfx_main()


if __name__ == "__main__":
    sys.exit(main())
