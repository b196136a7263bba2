#!/usr/bin/env python3
"""Add (or remove) camfx to the desktop's application menu, and optionally start it at login.

    .venv/bin/python installer/shortcuts.py install              # menu entry
    .venv/bin/python installer/shortcuts.py install --autostart  # … and start in the tray at login
    .venv/bin/python installer/shortcuts.py remove
    camfx shortcuts install [--autostart]                       # the bundle's install.sh

Linux: a freedesktop ``camfx.desktop`` in ``$XDG_DATA_HOME/applications`` (and
``$XDG_CONFIG_HOME/autostart``) with the icon in ``$XDG_DATA_HOME/icons/hicolor``, and
``~/.local/bin/camfx`` linked to the ``camfx`` command (most desktops have ``~/.local/bin`` on
the PATH; when it is not, the command says so).
Windows: Start-menu (and Startup) shortcuts to ``pythonw.exe -m app.gui``, made through
PowerShell. macOS: no app bundle yet; the command says how to start camfx instead.
The entries run the Python of the environment this script runs in (the project's ``.venv``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP_ID = "camfx"
COMMENT = "Webcam effects for video calls, sent to a virtual camera"


def _xdg(name: str, default: str) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else Path.home() / default


def linux_paths() -> dict[str, Path]:
    data = _xdg("XDG_DATA_HOME", ".local/share")
    config = _xdg("XDG_CONFIG_HOME", ".config")
    return {
        "menu": data / "applications" / f"{APP_ID}.desktop",
        "autostart": config / "autostart" / f"{APP_ID}.desktop",
        "icon": data / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png",
        "bin": Path.home() / ".local" / "bin" / APP_ID,
    }


def _quote(arg: str) -> str:
    """Quote one argument of a desktop entry's Exec key (freedesktop rules)."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`%"):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped.replace("%", "%%")}"'


def desktop_entry(exec_args: list[str], icon: Path, autostart: bool = False) -> str:
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        "Name=camfx",
        "GenericName=Webcam effects",
        f"Comment={COMMENT}",
        "Exec=" + " ".join(_quote(a) for a in exec_args),
        f"Icon={icon}",
        "Terminal=false",
        "Categories=AudioVideo;Video;",
        "Keywords=webcam;camera;virtual camera;background blur;video call;",
        "StartupNotify=true",
        f"StartupWMClass={APP_ID}",
    ]
    if autostart:
        lines += ["X-GNOME-Autostart-enabled=true", "NoDisplay=true"]
    return "\n".join(lines) + "\n"


def render_icon(path: Path, size: int = 256) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(["camfx-installer"])
    from app.gui.icons import draw_icon

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    if not draw_icon(size, "live").save(str(tmp)):
        raise OSError(f"could not write {path}")
    os.replace(tmp, path)
    del app


def install_linux(python: str, autostart: bool, executable: str | None = None) -> list[Path]:
    """``executable``: the bundled ``camfx`` (else this Python's venv's ``camfx``)."""
    from pipelines.userdata import atomic_write_text

    paths = linux_paths()
    render_icon(paths["icon"])
    camfx = Path(executable) if executable else Path(python).with_name("camfx")
    command = [str(camfx)] if camfx.exists() else [python, "-m", "app.gui"]
    at_login = [str(camfx), "gui"] if camfx.exists() else [python, "-m", "app.gui"]
    atomic_write_text(paths["menu"], desktop_entry(command, paths["icon"]))
    written = [paths["icon"], paths["menu"]]
    if autostart:
        atomic_write_text(
            paths["autostart"],
            desktop_entry([*at_login, "--minimized"], paths["icon"], True),
        )
        written.append(paths["autostart"])
    if camfx.exists() and link_command(paths["bin"], camfx):
        written.append(paths["bin"])
    _refresh_menu(paths["menu"].parent)
    return written


def link_command(link: Path, target: Path) -> bool:
    """Put ``camfx`` on the PATH as a symlink; a file of the user's own there is left alone."""
    if link.is_symlink() or not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{link.name}.tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target.resolve())
        os.replace(tmp, link)
        folders = os.environ.get("PATH", "").split(os.pathsep)
        if str(link.parent) not in folders:
            print(
                f"camfx: {link.parent} is not on your PATH yet; log out and in again (most "
                f'desktops add it), or add it in ~/.profile: PATH="$HOME/.local/bin:$PATH"'
            )
        return True
    print(f"camfx: {link} exists and is not a link; left as it is")
    return False


def _refresh_menu(folder: Path) -> None:
    # Optional: menus pick the file up by themselves, this only makes it quicker.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["update-desktop-database", str(folder)], check=False, capture_output=True, timeout=20
        )


def remove_linux() -> list[Path]:
    removed = []
    for name, path in linux_paths().items():
        if name == "bin" and not path.is_symlink():
            continue  # only the link this script made, never a file of the user's
        if path.exists() or path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


def _windows_shortcut(link: Path, target: str, args: str, icon: Path) -> None:
    script = (
        "$s = (New-Object -ComObject WScript.Shell).CreateShortcut($env:CAMFX_LINK);"
        "$s.TargetPath = $env:CAMFX_TARGET; $s.Arguments = $env:CAMFX_ARGS;"
        "$s.WorkingDirectory = $env:CAMFX_ROOT; $s.IconLocation = $env:CAMFX_ICON;"
        "$s.Description = $env:CAMFX_COMMENT; $s.Save()"
    )
    env = {
        **os.environ,
        "CAMFX_LINK": str(link),
        "CAMFX_TARGET": target,
        "CAMFX_ARGS": args,
        "CAMFX_ROOT": str(ROOT),
        "CAMFX_ICON": str(icon),
        "CAMFX_COMMENT": COMMENT,
    }
    subprocess.run(
        ["powershell", "-NoProfile", "-NonInteractive", "-Command", script],
        check=True,
        env=env,
        timeout=60,
    )


def windows_paths() -> dict[str, Path]:
    appdata = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    programs = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs"
    return {
        "menu": programs / "camfx.lnk",
        "autostart": programs / "Startup" / "camfx.lnk",
        "icon": appdata / "camfx" / "camfx.ico",
    }


def install_windows(python: str, autostart: bool) -> list[Path]:
    paths = windows_paths()
    render_icon(paths["icon"])
    pythonw = str(Path(python).with_name("pythonw.exe"))
    _windows_shortcut(paths["menu"], pythonw, "-m app.gui", paths["icon"])
    written = [paths["icon"], paths["menu"]]
    if autostart:
        _windows_shortcut(paths["autostart"], pythonw, "-m app.gui --minimized", paths["icon"])
        written.append(paths["autostart"])
    return written


def remove_windows() -> list[Path]:
    removed = []
    for path in windows_paths().values():
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("install", "remove"))
    parser.add_argument(
        "--autostart", action="store_true", help="also start camfx in the tray at login"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the Python that runs camfx (default: this one)"
    )
    parser.add_argument(
        "--executable", default=None, help="the camfx program to start (the bundle's)"
    )
    args = parser.parse_args(argv)
    try:
        if sys.platform.startswith("linux"):
            done = (
                install_linux(args.python, args.autostart, args.executable)
                if args.action == "install"
                else remove_linux()
            )
        elif sys.platform == "win32":
            done = (
                install_windows(args.python, args.autostart)
                if args.action == "install"
                else remove_windows()
            )
        else:
            print(
                "camfx: no menu entry on this system yet; start the app with "
                f"{args.python} -m app.gui (or .venv/bin/camfx)"
            )
            return 0
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"camfx: {exc}", file=sys.stderr)
        return 1
    verb = "wrote" if args.action == "install" else "removed"
    for path in done:
        print(f"camfx: {verb} {path}")
    if not done:
        print("camfx: nothing to remove")
    return 0


if __name__ == "__main__":
    sys.exit(main())
